#!/usr/bin/python3
"""Generate PyTorch golden trajectories for the optimisers and learning-rate schedules.

Run from the repository root:

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 test/golden/make_optim_golden.py

Writes test/golden/optim-golden.json. Everything is torch.float64.

Three small parameters (shapes 3x4, 5, 2x3) start from a seeded N(0, 1) draw. The gradients
are fixed in advance: STEPS draws from a seeded torch generator, a different draw every step,
each step with its own scale (0.05 .. 3) so that Adam's and RMSprop's normalisation matter.
They do not depend on the parameters, so every case sees the same gradient sequence and the
only feedback from the parameters is through weight decay. Each case runs torch.optim on
copies of the initial parameters for STEPS steps and records the parameters after every step
and the optimiser's buffers after the last one.
"""
import json
import math
import os
import platform
import sys

import torch

DTYPE = torch.float64
SEED = 20240909
STEPS = 20
SHAPES = [[3, 4], [5], [2, 3]]

# name -> (torch class, options in torch's spelling, options in ours)
CASES = {
    "sgd": (torch.optim.SGD, {"lr": 0.1}, {"lr": 0.1}),
    "sgd_weightDecay": (torch.optim.SGD, {"lr": 0.1, "weight_decay": 0.05}, {"lr": 0.1, "weightDecay": 0.05}),
    "sgd_momentum": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}, {"lr": 0.05, "momentum": 0.9}),
    "sgd_momentum_weightDecay": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.01},
                                 {"lr": 0.05, "momentum": 0.8, "weightDecay": 0.01}),
    "sgd_nesterov": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True},
                     {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "sgd_nesterov_weightDecay": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.7, "nesterov": True, "weight_decay": 0.02},
                                 {"lr": 0.05, "momentum": 0.7, "nesterov": True, "weightDecay": 0.02}),
    "adam": (torch.optim.Adam, {"lr": 0.01}, {"lr": 0.01}),
    "adam_weightDecay": (torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "weightDecay": 0.1}),
    "adam_betas_eps": (torch.optim.Adam, {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-3},
                       {"lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-3}),
    "adamw": (torch.optim.AdamW, {"lr": 0.01}, {"lr": 0.01}),  # torch's default decay, 1e-2
    "adamw_weightDecay_betas": (torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.3, "betas": (0.85, 0.995)},
                                {"lr": 0.01, "weightDecay": 0.3, "betas": [0.85, 0.995]}),
    "adamw_noDecay": (torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.0}, {"lr": 0.01, "weightDecay": 0}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 0.01}, {"lr": 0.01}),
    "rmsprop_charRnn": (torch.optim.RMSprop, {"lr": 2e-3, "alpha": 0.95}, {"lr": 2e-3, "alpha": 0.95}),
    "rmsprop_weightDecay": (torch.optim.RMSprop, {"lr": 0.01, "weight_decay": 0.05}, {"lr": 0.01, "weightDecay": 0.05}),
    "rmsprop_momentum": (torch.optim.RMSprop, {"lr": 0.005, "momentum": 0.9}, {"lr": 0.005, "momentum": 0.9}),
    "rmsprop_centered": (torch.optim.RMSprop, {"lr": 0.01, "centered": True, "eps": 1e-6},
                         {"lr": 0.01, "centered": True, "eps": 1e-6}),
    "rmsprop_centered_momentum_weightDecay": (
        torch.optim.RMSprop, {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
        {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5, "weightDecay": 0.01}),
}

# torch's state keys -> ours
BUFFER_NAMES = {"momentum_buffer": "momentumBuffer", "exp_avg": "expAvg", "exp_avg_sq": "expAvgSq",
                "square_avg": "squareAvg", "grad_avg": "gradAvg"}


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def run(cls, options, params0, grads, lr_for_step=None):
    params = [p.clone().requires_grad_(True) for p in params0]
    opt = cls(params, **options)
    trajectory, lrs = [], []
    for k in range(STEPS):
        if lr_for_step is not None:
            for group in opt.param_groups:
                group["lr"] = lr_for_step(k)
        lrs.append(opt.param_groups[0]["lr"])
        for p, g in zip(params, grads[k]):
            p.grad = g.clone()
        opt.step()
        trajectory.append([flat(p) for p in params])
    buffers = {}
    for p in params:
        for key, value in opt.state[p].items():
            if key in BUFFER_NAMES and value is not None:
                buffers.setdefault(BUFFER_NAMES[key], []).append(flat(value))
    steps = {int(float(opt.state[p]["step"])) for p in params if "step" in opt.state[p]}
    return {"trajectory": trajectory, "lrs": lrs, "buffers": buffers,
            "stateStep": steps.pop() if steps else None}


def main():
    gen = torch.Generator().manual_seed(SEED)
    params0 = [torch.randn(s, generator=gen, dtype=DTYPE) for s in SHAPES]
    scales = [0.05 + 2.95 * float(torch.rand((), generator=gen, dtype=DTYPE)) for _ in range(STEPS)]
    grads = [[torch.randn(s, generator=gen, dtype=DTYPE) * scales[k] for s in SHAPES] for k in range(STEPS)]

    cases = {}
    for name, (cls, torch_options, ours) in CASES.items():
        result = run(cls, torch_options, params0, grads)
        cases[name] = {"optimizer": cls.__name__, "torchOptions": torch_options, "options": ours, **result}

    # Schedules, as torch's schedulers compute them.
    schedules = {}

    # StepLR(step_size=5, gamma=0.5) stepped per optimiser step, driving Adam: the lr is changed
    # between steps, which checks that the optimiser reads its lr afresh on every step.
    params = [p.clone().requires_grad_(True) for p in params0]
    opt = torch.optim.Adam(params, lr=0.02)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    lrs = []
    for k in range(STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        for p, g in zip(params, grads[k]):
            p.grad = g.clone()
        opt.step()
        sched.step()
    schedules["stepLR_adam"] = {
        "schedule": {"name": "stepDecay", "lr": 0.02, "every": 5, "factor": 0.5, "unit": "step"},
        "optimizer": "Adam", "options": {"lr": 0.02}, "lrs": lrs,
        "finalParams": [flat(p) for p in params]}

    # CosineAnnealingLR(T_max=20, eta_min=1e-3): our cosine schedule with no warm-up.
    opt = torch.optim.SGD([torch.zeros(1, dtype=DTYPE, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20, eta_min=1e-3)
    lrs = []
    for k in range(25):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    schedules["cosine"] = {
        "schedule": {"name": "cosineWithWarmup", "lr": 0.1, "warmupSteps": 0, "totalSteps": 20, "minLr": 1e-3},
        "lrs": lrs[:21]}  # torch's recursive form turns back up after T_max; ours stays at minLr

    # ReduceLROnPlateau on a fixed validation-loss sequence.
    opt = torch.optim.SGD([torch.zeros(1, dtype=DTYPE, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=1e-2,
                                                       cooldown=1, min_lr=0.01)
    val_losses = [3.0, 2.5, 2.49, 2.48, 2.47, 2.2, 2.19, 2.21, 2.2, 2.3, 2.1, 2.2, 2.2, 2.2, 2.2, 2.2, 2.2,
                  2.2, 2.2, 2.2, 2.2, 2.2, 2.2, 2.2]
    lrs = []
    for v in val_losses:
        sched.step(v)
        lrs.append(opt.param_groups[0]["lr"])
    schedules["reduceOnPlateau"] = {
        "schedule": {"name": "reduceOnPlateau", "lr": 0.1, "factor": 0.5, "patience": 2, "threshold": 1e-2,
                     "cooldown": 1, "minLr": 0.01},
        "valLosses": val_losses, "lrsAfter": lrs,
        "final": {"best": sched.best, "numBadEpochs": sched.num_bad_epochs,
                  "cooldownCounter": sched.cooldown_counter}}

    out = {
        "header": {
            "script": "test/golden/make_optim_golden.py",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "dtype": "float64",
        },
        "config": {"seed": SEED, "steps": STEPS, "shapes": SHAPES, "gradScales": scales},
        "initialParams": [flat(p) for p in params0],
        "grads": [[flat(g) for g in step] for step in grads],
        "cases": cases,
        "schedules": schedules,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim-golden.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}: {len(cases)} optimiser cases, {len(schedules)} schedule cases", file=sys.stderr)


if __name__ == "__main__":
    main()
