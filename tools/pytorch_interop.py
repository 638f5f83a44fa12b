#!/usr/bin/python3
"""Move lstm-lm models to and from PyTorch (docs/pytorch.md).

The PyTorch side of `exportPyTorch` / `importPyTorch`: the module whose state dict those files
hold, a safetensors reader and writer by hand (struct + json + torch.frombuffer: the
`safetensors` package is not needed), and two commands.

    # run a model exported by lstm-lm on token ids (B rows of T) and write its logits
    python3 tools/pytorch_interop.py run model.safetensors --ids ids.json --out logits.json
    python3 tools/pytorch_interop.py run model.safetensors --text "the time"   # needs a vocab

    # build (and optionally train) a model in PyTorch and write a file for importPyTorch
    python3 tools/pytorch_interop.py make out.safetensors --vocab-size 28 --hidden 32 \
        --layers 2 --embedding 16 --seed 1 --train-steps 20 [--ids ids.json --logits-out l.json]

Logits are written as JSON {"shape": [T*B, V], "logits": [...]}: time-major as lstm-lm's
`model.forward` (row t*B + b is step t of row b), each value the exact float32 (or float64).

The module (names are the state dict's):
    embedding = nn.Embedding(V, E)            only with an embedding; else one-hot input
    lstm      = nn.LSTM(E or V, H, num_layers=L, dropout=p)
    dropout   = nn.Dropout(p)                 on the top layer's output, as lstm-lm
    decoder   = nn.Linear(H, V)
Gate blocks of weight_ih/weight_hh/bias are torch's (i, f, g, o); lstm-lm's c is torch's g.
"""
import argparse
import json
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn

DTYPES = {"F32": torch.float32, "F64": torch.float64}
NAMES = {torch.float32: "F32", torch.float64: "F64"}


class LSTMLanguageModel(nn.Module):
    """Embedding? -> LSTM -> Dropout -> Linear, as lstm-lm's LSTMLanguageModel."""

    def __init__(self, vocab_size, num_hiddens, num_layers=1, embedding_size=None, dropout=0.0):
        super().__init__()
        self.vocab_size = vocab_size
        if embedding_size:
            self.embedding = nn.Embedding(vocab_size, embedding_size)
        else:
            self.embedding = None
        self.lstm = nn.LSTM(embedding_size or vocab_size, num_hiddens, num_layers=num_layers,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(num_hiddens, vocab_size)

    def forward(self, X, state=None):
        """X: (B, T) token ids. Returns logits ((T*B) x V, row t*B + b) and the final (h, c)."""
        inputs = X.T  # (T, B): time-major, as d2l and lstm-lm
        if self.embedding is not None:
            x = self.embedding(inputs)
        else:
            x = F.one_hot(inputs, self.vocab_size).to(self.decoder.weight.dtype)
        out, state = self.lstm(x, state)  # (T, B, H)
        logits = self.decoder(self.dropout(out))
        return logits.reshape(-1, self.vocab_size), state


def read_safetensors(path):
    """(tensors: {name: tensor}, metadata: {str: str}) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.zeros(0, dtype=dtype)
        tensors[name] = t.reshape(entry["shape"])
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    """Writes {name: tensor} (float32/float64, contiguous little-endian) with string metadata."""
    header = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().cpu().numpy().astype("<f4" if t.dtype == torch.float32 else "<f8").tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def load_model(path):
    """The module of a file written by exportPyTorch (or by `make`), its metadata and vocabulary."""
    tensors, metadata = read_safetensors(path)
    V, H = tensors["decoder.weight"].shape
    L = 0
    while f"lstm.weight_ih_l{L}" in tensors:
        L += 1
    E = tensors["embedding.weight"].shape[1] if "embedding.weight" in tensors else None
    config = json.loads(metadata.get("config", "{}"))
    model = LSTMLanguageModel(V, H, L, E, config.get("dropout", 0.0)).to(tensors["decoder.weight"].dtype)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    vocab = json.loads(metadata["vocab"])["idxToToken"] if "vocab" in metadata else None
    return model, metadata, vocab


def write_logits(path, logits):
    with open(path, "w") as f:
        json.dump({"shape": list(logits.shape), "logits": [float(x) for x in logits.reshape(-1).tolist()]}, f)


def cmd_run(args):
    model, _, vocab = load_model(args.file)
    if args.text is not None:
        if vocab is None:
            sys.exit("run --text: the file has no vocabulary (export it with { vocab })")
        index = {t: i for i, t in enumerate(vocab)}
        X = torch.tensor([[index.get(ch, 0) for ch in args.text]])
    else:
        with open(args.ids) as f:
            X = torch.tensor(json.load(f), dtype=torch.long)
    with torch.no_grad():
        logits, _ = model(X)
    if args.out:
        write_logits(args.out, logits)
    if args.text is not None:
        nxt = int(logits[-1].argmax())
        print(f"most likely next token after {args.text!r}: {vocab[nxt]!r}")


def cmd_make(args):
    torch.manual_seed(args.seed)
    dtype = torch.float64 if args.double else torch.float32
    V, H, L, E = args.vocab_size, args.hidden, args.layers, args.embedding
    model = LSTMLanguageModel(V, H, L, E, args.dropout).to(dtype)
    if args.train_steps > 0:
        # A few Adam steps on random ids, so that the weights are not torch's initial ones.
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        model.train()
        for _ in range(args.train_steps):
            X = torch.randint(0, V, (4, 8))
            Y = torch.randint(0, V, (4, 8))
            logits, _ = model(X)
            loss = F.cross_entropy(logits, Y.T.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    config = {"vocabSize": V, "numHiddens": H, "numLayers": L, "embeddingSize": E, "dropout": args.dropout,
              "init": "pytorch", "dtype": "float64" if args.double else "float32"}
    write_safetensors(args.file, model.state_dict(), {"format": "pt", "config": json.dumps(config)})
    if args.ids:
        with open(args.ids) as f:
            X = torch.tensor(json.load(f), dtype=torch.long)
        with torch.no_grad():
            logits, _ = model(X)
        write_logits(args.logits_out, logits)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an exported model on token ids")
    run.add_argument("file")
    group = run.add_mutually_exclusive_group(required=True)
    group.add_argument("--ids", help="JSON file of B rows of T token ids")
    group.add_argument("--text", help="characters to encode with the file's vocabulary")
    run.add_argument("--out", help="write the logits here (JSON)")
    run.set_defaults(func=cmd_run)
    make = sub.add_parser("make", help="build (and train) a model in PyTorch and write it")
    make.add_argument("file")
    make.add_argument("--vocab-size", type=int, required=True)
    make.add_argument("--hidden", type=int, required=True)
    make.add_argument("--layers", type=int, default=1)
    make.add_argument("--embedding", type=int, default=None)
    make.add_argument("--dropout", type=float, default=0.0)
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--train-steps", type=int, default=0)
    make.add_argument("--double", action="store_true", help="float64 weights (F64)")
    make.add_argument("--ids", help="JSON file of token ids to run the model on after building it")
    make.add_argument("--logits-out", help="where to write those logits (JSON)")
    make.set_defaults(func=cmd_make)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.func(args)


if __name__ == "__main__":
    main()
