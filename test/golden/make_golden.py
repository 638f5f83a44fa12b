#!/usr/bin/python3
"""Generate PyTorch golden values for the LSTM language model (d2l "LSTM from scratch").

Run from the repository root:

    /usr/bin/python3 test/golden/make_golden.py

Writes test/golden/lstm-golden.json (the one-layer model, d2l's own maths) and
test/golden/lstm-deep-golden.json (stacked layers: torch.nn.LSTM(num_layers=L) + nn.Linear,
optionally after nn.Embedding, mapped onto our per-gate tensors — see deep_cases()).
Everything is computed in torch.float64 with autograd.

Model (per step t, one-hot X_t (B x V), state H, C):
    I = sig(X W_xi + H W_hi + b_i); F = sig(X W_xf + H W_hf + b_f)
    O = sig(X W_xo + H W_ho + b_o); C~ = tanh(X W_xc + H W_hc + b_c)
    C = F*C + I*C~; H = O*tanh(C); Y_t = H W_hq + b_q
Inputs are X.T (time-major) as in d2l; logits are cat over t of Y_t, shape (T*B) x V,
row index t*B + b; targets Y.T.reshape(-1); loss = mean cross-entropy.
"""
import json
import os
import platform
import sys

import torch
import torch.nn.functional as F

DTYPE = torch.float64
V, H, B, T = 7, 5, 3, 4
SEED = 20240607
PARAM_SCALE = 0.5  # weights AND biases ~ N(0,1) * 0.5, so the gates are not near-linear
STATE_SCALE = 0.5  # nonzero initial state h0, c0 ~ N(0,1) * 0.5
TRAIN_STEPS = 5
LR = 1.0
CLIP_NORM = 1.0
# With a mean loss on this small case the gradient norms stay below 1, so the clip-1 trajectory
# never clips. A second trajectory with a lower threshold exercises the scaling branch
# (clipped on the first steps, not on the later ones).
CLIP_NORM_LOW = 0.3

PARAM_NAMES = ["W_xi", "W_hi", "b_i", "W_xf", "W_hf", "b_f",
               "W_xo", "W_ho", "b_o", "W_xc", "W_hc", "b_c", "W_hq", "b_q"]
PARAM_SHAPES = {
    "W_xi": [V, H], "W_hi": [H, H], "b_i": [H],
    "W_xf": [V, H], "W_hf": [H, H], "b_f": [H],
    "W_xo": [V, H], "W_ho": [H, H], "b_o": [H],
    "W_xc": [V, H], "W_hc": [H, H], "b_c": [H],
    "W_hq": [H, V], "b_q": [V],
}


def flat(t):
    """Row-major flattened list of Python floats (full precision)."""
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def lstm_forward(params, X, h0, c0):
    """d2l's lstm() over one-hot inputs X.T; returns logits (T*B x V) and the final (H, C)."""
    (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q) = params
    inputs = F.one_hot(X.T, V).type(DTYPE)  # (T, B, V)
    Hs, Cs = h0, c0
    outputs = []
    for Xt in inputs:
        I = torch.sigmoid(Xt @ W_xi + Hs @ W_hi + b_i)
        Fg = torch.sigmoid(Xt @ W_xf + Hs @ W_hf + b_f)
        O = torch.sigmoid(Xt @ W_xo + Hs @ W_ho + b_o)
        C_tilda = torch.tanh(Xt @ W_xc + Hs @ W_hc + b_c)
        Cs = Fg * Cs + I * C_tilda
        Hs = O * torch.tanh(Cs)
        outputs.append(Hs @ W_hq + b_q)
    return torch.cat(outputs, dim=0), Hs, Cs


def loss_fn(logits, Y):
    return F.cross_entropy(logits, Y.T.reshape(-1).long(), reduction="mean")


def make_params(gen):
    ps = []
    for name in PARAM_NAMES:
        p = torch.randn(PARAM_SHAPES[name], generator=gen, dtype=DTYPE) * PARAM_SCALE
        ps.append(p)
    return ps


def run_case(init_params, X, Y, h0_init, c0_init):
    params = [p.clone().requires_grad_(True) for p in init_params]
    h0 = h0_init.clone().requires_grad_(True)
    c0 = c0_init.clone().requires_grad_(True)
    logits, hT, cT = lstm_forward(params, X, h0, c0)
    loss = loss_fn(logits, Y)
    loss.backward()
    return {
        "loss": float(loss.item()),
        "logits": {"shape": [T * B, V], "data": flat(logits)},
        "h": {"shape": [B, H], "data": flat(hT)},
        "c": {"shape": [B, H], "data": flat(cT)},
        "grads": {n: flat(p.grad) for n, p in zip(PARAM_NAMES, params)},
        "gradH0": {"shape": [B, H], "data": flat(h0.grad)},
        "gradC0": {"shape": [B, H], "data": flat(c0.grad)},
    }


def run_training(init_params, X, Y, clip_norm):
    """5 steps: zero grads -> loss (zero state) -> backward -> clip to global L2 norm -> SGD."""
    params = [p.clone().requires_grad_(True) for p in init_params]
    losses, norms, clipped = [], [], []
    zeros = torch.zeros((B, H), dtype=DTYPE)
    for _ in range(TRAIN_STEPS):
        for p in params:
            p.grad = None
        logits, _, _ = lstm_forward(params, X, zeros, zeros)
        loss = loss_fn(logits, Y)
        loss.backward()
        with torch.no_grad():
            # The real global-norm formula (NOT d2l's sqrt(sum(p**2)) over parameter values).
            norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
            if norm > clip_norm:
                for p in params:
                    p.grad *= clip_norm / norm
            for p in params:
                p -= LR * p.grad
        losses.append(float(loss.item()))
        norms.append(float(norm.item()))
        clipped.append(bool(norm.item() > clip_norm))
    return {
        "steps": TRAIN_STEPS,
        "lr": LR,
        "clipNorm": clip_norm,
        "initialState": "zeros each step",
        "losses": losses,
        "gradNormsPreClip": norms,
        "clipped": clipped,
        "finalParams": {n: flat(p) for n, p in zip(PARAM_NAMES, params)},
    }


def main():
    gen = torch.Generator().manual_seed(SEED)
    init_params = make_params(gen)
    X = torch.randint(0, V, (B, T), generator=gen)
    Y = torch.randint(0, V, (B, T), generator=gen)
    h0 = torch.randn((B, H), generator=gen, dtype=DTYPE) * STATE_SCALE
    c0 = torch.randn((B, H), generator=gen, dtype=DTYPE) * STATE_SCALE
    zeros = torch.zeros((B, H), dtype=DTYPE)

    out = {
        "header": {
            "generatedBy": "test/golden/make_golden.py",
            "regenerate": "/usr/bin/python3 test/golden/make_golden.py",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "dtype": "float64",
            "method": "torch autograd; logits row t*B+b (time-major as d2l); "
                      "loss = mean cross-entropy over T*B outputs; "
                      "clipping = real global L2 norm of gradients",
        },
        "config": {
            "vocabSize": V, "numHiddens": H, "batchSize": B, "numSteps": T,
            "seed": SEED, "paramScale": PARAM_SCALE, "stateScale": STATE_SCALE,
        },
        "paramOrder": PARAM_NAMES,
        "params": {n: {"shape": PARAM_SHAPES[n], "data": flat(p)}
                   for n, p in zip(PARAM_NAMES, init_params)},
        "X": X.tolist(),
        "Y": Y.tolist(),
        "h0": {"shape": [B, H], "data": flat(h0)},
        "c0": {"shape": [B, H], "data": flat(c0)},
        "cases": {
            "zeroState": run_case(init_params, X, Y, zeros, zeros),
            "randomState": run_case(init_params, X, Y, h0, c0),
        },
        "training": run_training(init_params, X, Y, CLIP_NORM),
        "trainingClipLow": run_training(init_params, X, Y, CLIP_NORM_LOW),
    }
    # Sanity: the training trajectory's first loss equals the zero-state case's loss.
    assert abs(out["training"]["losses"][0] - out["cases"]["zeroState"]["loss"]) < 1e-12

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lstm-golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    zs, rs, tr = out["cases"]["zeroState"], out["cases"]["randomState"], out["training"]
    print(f"wrote {path}", file=sys.stderr)
    print(f"loss zeroState={zs['loss']!r} randomState={rs['loss']!r}", file=sys.stderr)
    print(f"training losses={tr['losses']}", file=sys.stderr)
    print(f"pre-clip norms={tr['gradNormsPreClip']} clipped={tr['clipped']}", file=sys.stderr)
    tl = out["trainingClipLow"]
    print(f"clip {CLIP_NORM_LOW}: losses={tl['losses']}", file=sys.stderr)
    print(f"clip {CLIP_NORM_LOW}: norms={tl['gradNormsPreClip']} clipped={tl['clipped']}",
          file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Deep models: torch.nn.LSTM(num_layers=L) + nn.Linear (+ nn.Embedding), the real PyTorch
# modules, mapped onto the library's names. nn.LSTM keeps, per layer k, weight_ih_l{k} [4H, in]
# and weight_hh_l{k} [4H, H] with gate blocks in the order (i, f, g, o), and two biases
# bias_ih_l{k}, bias_hh_l{k} [4H]. Ours, per gate g in (i, f, o, c) with c = PyTorch's g:
#   W_x{g} = weight_ih[block].T [in, H],  W_h{g} = weight_hh[block].T [H, H],
#   b_{g} = bias_ih[block] + bias_hh[block];  W_hq = decoder.weight.T [H, V], b_q = decoder.bias;
#   W_embed = embedding.weight [V, E]. Layer k >= 1's names are prefixed "layer{k}.".
# PyTorch block index of each of our gates:
TORCH_BLOCK = {"i": 0, "f": 1, "o": 3, "c": 2}
GATES = ["i", "f", "o", "c"]


def our_names(L, embedding):
    names = ["W_embed"] if embedding else []
    for k in range(L):
        prefix = "" if k == 0 else f"layer{k}."
        for g in GATES:
            names += [f"{prefix}W_x{g}", f"{prefix}W_h{g}", f"{prefix}b_{g}"]
    return names + ["W_hq", "b_q"]


def to_ours(lstm, decoder, embedding, L, H, grad=False):
    """The modules' tensors (or their gradients) under our names, in our layout."""
    get = (lambda t: t.grad) if grad else (lambda t: t.detach())
    out = {}
    if embedding is not None:
        out["W_embed"] = get(embedding.weight)
    for k in range(L):
        prefix = "" if k == 0 else f"layer{k}."
        w_ih, w_hh = get(getattr(lstm, f"weight_ih_l{k}")), get(getattr(lstm, f"weight_hh_l{k}"))
        b_ih, b_hh = get(getattr(lstm, f"bias_ih_l{k}")), get(getattr(lstm, f"bias_hh_l{k}"))
        for g in GATES:
            r = slice(TORCH_BLOCK[g] * H, (TORCH_BLOCK[g] + 1) * H)
            out[f"{prefix}W_x{g}"] = w_ih[r].T
            out[f"{prefix}W_h{g}"] = w_hh[r].T
            # Both biases receive the same gradient; ours is their sum, so its gradient is either one.
            out[f"{prefix}b_{g}"] = b_ih[r] if grad else b_ih[r] + b_hh[r]
    out["W_hq"] = get(decoder.weight).T
    out["b_q"] = get(decoder.bias)
    return out


def deep_case(gen, L, E):
    """One forward/backward of nn.LSTM(num_layers=L) (+ nn.Embedding(V, E) when E) + nn.Linear."""
    embedding = torch.nn.Embedding(V, E).double() if E else None
    lstm = torch.nn.LSTM(E or V, H, num_layers=L).double()  # input (T, B, in): time-major
    decoder = torch.nn.Linear(H, V).double()
    modules = [m for m in (embedding, lstm, decoder) if m is not None]
    with torch.no_grad():
        for m in modules:
            for p in m.parameters():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=DTYPE) * PARAM_SCALE)
    X = torch.randint(0, V, (B, T), generator=gen)
    Y = torch.randint(0, V, (B, T), generator=gen)
    h0 = (torch.randn((L, B, H), generator=gen, dtype=DTYPE) * STATE_SCALE).requires_grad_(True)
    c0 = (torch.randn((L, B, H), generator=gen, dtype=DTYPE) * STATE_SCALE).requires_grad_(True)
    inputs = embedding(X.T) if E else F.one_hot(X.T, V).type(DTYPE)  # (T, B, in)
    out, (hT, cT) = lstm(inputs, (h0, c0))  # out (T, B, H)
    logits = decoder(out).reshape(T * B, V)  # row t*B + b
    loss = loss_fn(logits, Y)
    loss.backward()
    names = our_names(L, bool(E))
    params = to_ours(lstm, decoder, embedding, L, H)
    grads = to_ours(lstm, decoder, embedding, L, H, grad=True)
    assert list(params) == names
    return {
        "config": {"vocabSize": V, "numHiddens": H, "numLayers": L, "embeddingSize": E or None,
                   "batchSize": B, "numSteps": T},
        "paramOrder": names,
        "params": {n: {"shape": list(params[n].shape), "data": flat(params[n])} for n in names},
        "X": X.tolist(),
        "Y": Y.tolist(),
        "h0": {"shape": [L, B, H], "data": flat(h0)},
        "c0": {"shape": [L, B, H], "data": flat(c0)},
        "loss": float(loss.item()),
        "logits": {"shape": [T * B, V], "data": flat(logits)},
        "h": {"shape": [L, B, H], "data": flat(hT)},
        "c": {"shape": [L, B, H], "data": flat(cT)},
        "grads": {n: flat(grads[n]) for n in names},
        "gradH0": {"shape": [L, B, H], "data": flat(h0.grad)},
        "gradC0": {"shape": [L, B, H], "data": flat(c0.grad)},
    }


def deep_cases():
    gen = torch.Generator().manual_seed(SEED + 1)
    out = {
        "header": {
            "generatedBy": "test/golden/make_golden.py",
            "regenerate": "/usr/bin/python3 test/golden/make_golden.py",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "dtype": "float64",
            "method": "torch.nn.LSTM(num_layers=L) + nn.Linear (+ nn.Embedding), autograd; "
                      "weights mapped to per-gate tensors (gate blocks i, f, g, o -> i, f, c, o), "
                      "bias = bias_ih + bias_hh; logits time-major (row t*B+b); mean cross-entropy",
        },
        "cases": {
            "twoLayers": deep_case(gen, 2, None),
            "threeLayersEmbedding": deep_case(gen, 3, 6),
        },
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lstm-deep-golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for name, case in out["cases"].items():
        print(f"{name}: loss={case['loss']!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
    deep_cases()
