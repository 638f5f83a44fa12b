#!/usr/bin/python3
"""Training throughput of torch.nn.LSTM(num_layers=L) + nn.Linear on a character corpus.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/pytorch_deep.py --layers 2 --hidden 512 --threads 1

The rival of bench/deep.ts: the same text, batches (sequential, B rows, T steps, the state
carried and detached), one-hot input, dropout on every layer's output (nn.LSTM(dropout=p) +
nn.Dropout(p)), Adam, gradient clipping by global norm. Prints JSON on its last line.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-steps", type=int, default=100)
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    text = open(args.data, encoding="utf-8").read()
    chars = sorted(set(text))
    V, B, T, H, L = len(chars), args.batch_size, args.num_steps, args.hidden, args.layers
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    rows = (len(ids) - 1) // B
    X_all = ids[: B * rows].view(B, rows)
    Y_all = ids[1: B * rows + 1].view(B, rows)

    lstm = nn.LSTM(V, H, num_layers=L, dropout=args.dropout if L > 1 else 0.0)
    drop = nn.Dropout(args.dropout)
    decoder = nn.Linear(H, V)
    params = list(lstm.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    state = None
    timed, done, pos = 0.0, 0, 0
    while done < args.warmup + args.batches:
        if pos + T > rows:
            pos, state = 0, None
        X = X_all[:, pos: pos + T].T  # (T, B) time-major
        Y = Y_all[:, pos: pos + T].T
        pos += T
        t0 = time.perf_counter()
        x = nn.functional.one_hot(X, V).float()
        if state is not None:
            state = tuple(s.detach() for s in state)
        out, state = lstm(x, state)
        logits = decoder(drop(out)).reshape(T * B, V)
        loss = loss_fn(logits, Y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        dt = time.perf_counter() - t0
        if done >= args.warmup:
            timed += dt
        done += 1
    rate = B * T * args.batches / timed
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: {L}x{H} {rate:.0f} tokens/s, "
          f"last loss {loss.item():.3f}", file=sys.stderr)
    print(json.dumps({"tokensPerSecond": rate, "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
