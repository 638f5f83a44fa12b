#!/usr/bin/python3
"""PyTorch rival for bench/throughput: the seed's d2l "LSTM from scratch" code.

Timed mode (default) prints ONE JSON line on stdout (the last line), e.g.
  {"impl":"scratch","workload":"w2","hidden":256,"tokensPerSecond":...,"peakRssMB":...,
   "blas":"openblas","torch":"1.13.0a0","threads":1,...}
Progress/diagnostics go to stderr.

  W1 = the seed's corpus: "I love cat" x 1000 lines, word tokens, maxTokens 10000,
       sequential iterator, B=32, T=35 (2 minibatches per epoch; epochs repeat as needed).
  W2 = character-level Time Machine (d2l preprocessing), the whole text, sequential iterator,
       B=32, T=35, a fixed number of minibatches.

tokens/s = B*T*batches / seconds spent in the timed training steps
(forward + backward + clip + SGD step). Median over --repeats, each with fresh parameters.

--train-epochs N runs d2l's train_ch8 for N epochs instead (seed run: --workload w1
--train-epochs 100), printing perplexity every 10 epochs and the prediction at the end.

Differences from the d2l notebook, on purpose: clipping uses the real global L2 norm of the
gradients (sqrt of the sum of squared grads; the seed notebook summed parameter values, which
never clips); the update is plain `param -= lr * grad` on the mean loss (lr 1).
"""
import argparse
import collections
import json
import math
import os
import random
import re
import resource
import statistics
import sys
import time

# One BLAS thread unless the caller says otherwise; must be set before torch loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(REPO_ROOT, "data", "timemachine.txt")


# ----------------------------------------------------------------------------- text (d2l)
class Vocab:
    """d2l's Vocab: <unk> first, then tokens by descending frequency (stable on ties)."""

    def __init__(self, tokens, min_freq=0, reserved_tokens=None):
        reserved_tokens = reserved_tokens or []
        if tokens and isinstance(tokens[0], list):
            tokens = [t for line in tokens for t in line]
        counter = collections.Counter(tokens)
        self.token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ["<unk>"] + reserved_tokens
        self.token_to_idx = {tok: i for i, tok in enumerate(self.idx_to_token)}
        for token, freq in self.token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, token):
        return self.token_to_idx.get(token, 0)


def load_w1(max_tokens=10000):
    lines = ["I love cat"] * 1000
    tokens = [line.split() for line in lines]
    vocab = Vocab(tokens)
    corpus = [vocab[t] for line in tokens for t in line]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab, "word"


def load_w2(path, max_tokens=-1):
    with open(path, "r") as f:
        lines = f.readlines()
    lines = [re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in lines]
    tokens = [list(line) for line in lines]
    vocab = Vocab(tokens)
    corpus = [vocab[t] for line in tokens for t in line]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab, "char"


def seq_data_iter_sequential(corpus, batch_size, num_steps):
    """d2l's sequential partitioning (random offset from Python's `random`)."""
    offset = random.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = torch.tensor(corpus[offset: offset + num_tokens])
    Ys = torch.tensor(corpus[offset + 1: offset + 1 + num_tokens])
    Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield Xs[:, i: i + num_steps], Ys[:, i: i + num_steps]


# ----------------------------------------------------------------------------- model (d2l)
def get_lstm_params(vocab_size, num_hiddens, device):
    num_inputs = num_outputs = vocab_size

    def normal(shape):
        return torch.randn(size=shape, device=device) * 0.01

    def three():
        return (normal((num_inputs, num_hiddens)),
                normal((num_hiddens, num_hiddens)),
                torch.zeros(num_hiddens, device=device))

    W_xi, W_hi, b_i = three()  # input gate
    W_xf, W_hf, b_f = three()  # forget gate
    W_xo, W_ho, b_o = three()  # output gate
    W_xc, W_hc, b_c = three()  # candidate memory cell
    W_hq = normal((num_hiddens, num_outputs))
    b_q = torch.zeros(num_outputs, device=device)
    params = [W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q]
    for param in params:
        param.requires_grad_(True)
    return params


def init_lstm_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),
            torch.zeros((batch_size, num_hiddens), device=device))


def lstm(inputs, state, params):
    [W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q] = params
    (H, C) = state
    outputs = []
    for X in inputs:
        I = torch.sigmoid((X @ W_xi) + (H @ W_hi) + b_i)
        F_ = torch.sigmoid((X @ W_xf) + (H @ W_hf) + b_f)
        O = torch.sigmoid((X @ W_xo) + (H @ W_ho) + b_o)
        C_tilda = torch.tanh((X @ W_xc) + (H @ W_hc) + b_c)
        C = F_ * C + I * C_tilda
        H = O * torch.tanh(C)
        Y = (H @ W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H, C)


class RNNModelScratch:
    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        X = F.one_hot(X.T, self.vocab_size).type(torch.float32)
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)

    def parameters(self):
        return self.params


class RNNModel(nn.Module):
    """d2l's concise model around nn.LSTM (the --impl nnlstm variant)."""

    def __init__(self, rnn_layer, vocab_size):
        super().__init__()
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.linear = nn.Linear(self.num_hiddens, self.vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size).to(torch.float32)
        Y, state = self.rnn(X, state)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, batch_size, device):
        z = torch.zeros((self.rnn.num_layers, batch_size, self.num_hiddens), device=device)
        return (z, z.clone())


def make_net(impl, vocab_size, num_hiddens, device):
    if impl == "scratch":
        return RNNModelScratch(vocab_size, num_hiddens, device, get_lstm_params,
                               init_lstm_state, lstm)
    return RNNModel(nn.LSTM(vocab_size, num_hiddens), vocab_size)


def net_params(net):
    if isinstance(net, nn.Module):
        return [p for p in net.parameters() if p.requires_grad]
    return net.params


def grad_clipping(net, theta):
    """Real global-norm clipping (the norm of the GRADIENTS)."""
    params = net_params(net)
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm
    return norm


def sgd(params, lr):
    """param -= lr * grad on the mean loss (d2l's sgd with batch_size=1), then zero grads."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad
            param.grad.zero_()


def train_step(net, X, Y, state, loss, lr, device):
    """One d2l train_epoch_ch8 minibatch step (state already prepared)."""
    y = Y.T.reshape(-1)
    y_hat, state = net(X, state)
    l = loss(y_hat, y.long()).mean()
    l.backward()
    grad_clipping(net, 1)
    sgd(net_params(net), lr)
    return l, state, y.numel()


def prepare_state(net, state, batch_size, device, use_random_iter=False):
    if state is None or use_random_iter:
        return net.begin_state(batch_size=batch_size, device=device)
    for s in state:
        s.detach_()
    return state


def train_epoch_ch8(net, train_iter, loss, lr, device, use_random_iter=False):
    state, t0 = None, time.perf_counter()
    total, count = 0.0, 0
    for X, Y in train_iter:
        state = prepare_state(net, state, X.shape[0], device, use_random_iter)
        l, state, n = train_step(net, X, Y, state, loss, lr, device)
        total += float(l) * n
        count += n
    return math.exp(total / count), count / (time.perf_counter() - t0)


def predict_ch8(prefix, num_preds, net, vocab, device, sep):
    state = net.begin_state(batch_size=1, device=device)
    outputs = [vocab[prefix[0]]]

    def get_input():
        return torch.tensor([outputs[-1]], device=device).reshape((1, 1))

    with torch.no_grad():
        for y in prefix[1:]:
            _, state = net(get_input(), state)
            outputs.append(vocab[y])
        for _ in range(num_preds):
            y, state = net(get_input(), state)
            outputs.append(int(y.argmax(dim=1).reshape(1)))
    return sep.join([vocab.idx_to_token[i] for i in outputs])


# ----------------------------------------------------------------------------- environment
def detect_blas():
    """Which BLAS torch actually mapped (torch 1.13 from Debian is built with BLAS_INFO=generic
    and loads libblas.so.3 through the alternatives system)."""
    a = torch.ones(64, 64)
    (a @ a).sum().item()
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and ("blas" in parts[-1].lower() or "mkl" in parts[-1].lower()):
                libs.add(parts[-1])
    real = {os.path.realpath(p) for p in libs} | libs
    if any("openblas" in p for p in real):
        name = "openblas"
    elif any("mkl" in p for p in real):
        name = "mkl"
    elif any("blis" in p for p in real):
        name = "blis"
    elif any("libblas" in p for p in real):
        name = "reference"
    else:
        name = "unknown"
    return name, sorted(libs)


def load_workload(name, data_path, max_tokens=-1):
    if name == "w1":
        return load_w1()
    return load_w2(data_path, max_tokens)


# ----------------------------------------------------------------------------- modes
def bench(args, device):
    corpus, vocab, _ = load_workload(args.workload, args.data)
    B, T = args.batch_size, args.num_steps
    loss = nn.CrossEntropyLoss()
    rates, seconds_list = [], []
    for r in range(args.repeats):
        torch.manual_seed(args.seed + r)
        random.seed(args.seed + r)
        net = make_net(args.impl, len(vocab), args.hidden, device)
        done, timed_seconds, state = 0, 0.0, None
        total_needed = args.warmup + args.batches
        while done < total_needed:
            state = None  # each epoch starts from a zero state (train_epoch_ch8)
            for X, Y in seq_data_iter_sequential(corpus, B, T):
                if done >= total_needed:
                    break
                t0 = time.perf_counter()
                state = prepare_state(net, state, X.shape[0], device)
                l, state, _ = train_step(net, X, Y, state, loss, args.lr, device)
                dt = time.perf_counter() - t0
                if done >= args.warmup:
                    timed_seconds += dt
                done += 1
        rate = B * T * args.batches / timed_seconds
        rates.append(rate)
        seconds_list.append(timed_seconds)
        print(f"repeat {r + 1}/{args.repeats}: {rate:.0f} tokens/s "
              f"({args.batches} batches in {timed_seconds:.3f} s, last loss {float(l):.4f})",
              file=sys.stderr)
    return {
        "tokensPerSecond": statistics.median(rates),
        "tokensPerSecondAll": rates,
        "timedSeconds": statistics.median(seconds_list),
        "vocabSize": len(vocab),
        "corpusTokens": len(corpus),
    }


def train_run(args, device):
    corpus, vocab, kind = load_workload(args.workload, args.data, args.max_tokens)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    net = make_net(args.impl, len(vocab), args.hidden, device)
    loss = nn.CrossEntropyLoss()
    if kind == "word":
        prefix, num_preds, sep = ["I", "love"], 1, " "
    else:
        prefix, num_preds, sep = list("time traveller"), 50, ""
    history = []
    t_start = time.perf_counter()
    ppl, speed = float("nan"), float("nan")
    for epoch in range(args.train_epochs):
        ppl, speed = train_epoch_ch8(net, seq_data_iter_sequential(corpus, args.batch_size,
                                                                   args.num_steps),
                                     loss, args.lr, device)
        history.append(ppl)
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1} perplexity {ppl:.4f} {speed:.0f} tokens/s "
                  f"{time.perf_counter() - t_start:.1f} s  "
                  f"{predict_ch8(prefix, num_preds, net, vocab, device, sep)!r}",
                  file=sys.stderr)
    prediction = predict_ch8(prefix, num_preds, net, vocab, device, sep)
    print(f"final perplexity {ppl:.4f}, {speed:.0f} tokens/s; prediction: {prediction}",
          file=sys.stderr)
    return {
        "mode": "train",
        "epochs": args.train_epochs,
        "finalPerplexity": ppl,
        "perplexityHistory": history,
        "prefix": prefix if kind == "word" else "".join(prefix),
        "numPreds": num_preds,
        "prediction": prediction,
        "tokensPerSecondLastEpoch": speed,
        "elapsedSeconds": time.perf_counter() - t_start,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workload", choices=["w1", "w2"], default="w2")
    p.add_argument("--impl", choices=["scratch", "nnlstm"], default="scratch")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--batches", type=int, default=50, help="timed minibatches per repeat")
    p.add_argument("--warmup", type=int, default=5, help="untimed minibatches per repeat")
    p.add_argument("--repeats", type=int, default=3, help="median over this many repeats")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--num-steps", type=int, default=35)
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=DEFAULT_DATA, help="text file for w2")
    p.add_argument("--max-tokens", type=int, default=-1,
                   help="train mode, w2: cut the corpus (d2l's chapter run uses 10000)")
    p.add_argument("--train-epochs", type=int, default=0,
                   help="instead of timing, train this many epochs (d2l train_ch8)")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    blas, blas_libs = detect_blas()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, BLAS {blas}: "
          f"{', '.join(blas_libs)}", file=sys.stderr)

    result = {"impl": args.impl, "workload": args.workload, "hidden": args.hidden,
              "batchSize": args.batch_size, "numSteps": args.num_steps}
    if args.train_epochs > 0:
        result.update(train_run(args, device))
    else:
        result.update({"batches": args.batches, "warmup": args.warmup,
                       "repeats": args.repeats})
        result.update(bench(args, device))
    result.update({
        "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "blas": blas,
        "blasLibs": blas_libs,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblasNumThreads": os.environ.get("OPENBLAS_NUM_THREADS"),
    })
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
