#!/usr/bin/python3
"""PyTorch rival for bench/generate.ts: sampling from an nn.LSTM one token at a time.

The usual PyTorch sampling loop (char-rnn style, as d2l's RNNModel): one-hot input,
nn.LSTM(V, H, num_layers=L) stepped with a (1, 1, V) input and its carried state, nn.Linear
to V logits, softmax at temperature 0.8, torch.multinomial, under torch.no_grad(). The prompt
is warmed up in one call, as ours. One thread (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)).

Prints ONE JSON line on stdout: {"impl":"pytorch","hidden":H,"layers":L,"vocab":V,
"tokens":N,"tokensPerSecond":[one per repeat],"torch":"..."}.

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/pytorch_generate.py --hidden 256 --layers 1 --vocab 65 --tokens 2000
"""
import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--vocab", type=int, default=65)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompt-length", type=int, default=6)
    parser.add_argument("--temperature", type=float, default=0.8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    V, H, L = args.vocab, args.hidden, args.layers
    lstm = torch.nn.LSTM(V, H, num_layers=L)
    linear = torch.nn.Linear(H, V)
    lstm.eval()
    linear.eval()
    prompt = torch.randint(0, V, (args.prompt_length,))

    def sample(n: int) -> list:
        out = []
        with torch.no_grad():
            state = None
            if len(prompt) > 1:  # warm-up: the prompt but its last token, in one call
                _, state = lstm(F.one_hot(prompt[:-1], V).float().unsqueeze(1), state)
            token = prompt[-1:]
            for _ in range(n):
                x = F.one_hot(token, V).float().view(1, 1, V)
                y, state = lstm(x, state)
                logits = linear(y.view(1, H))
                probs = F.softmax(logits / args.temperature, dim=-1)
                token = torch.multinomial(probs, 1).view(1)
                out.append(int(token))
        return out

    sample(min(200, args.tokens))  # warm-up
    rates = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        sample(args.tokens)
        rates.append(args.tokens / (time.perf_counter() - t0))
    print(json.dumps({
        "impl": "pytorch", "hidden": H, "layers": L, "vocab": V, "tokens": args.tokens,
        "tokensPerSecond": rates, "torch": torch.__version__, "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
