#!/usr/bin/python3
"""Reference safetensors bytes, built by hand the way the reference writer builds them, and a
reference reader that checks a file written by our TypeScript writer.

The Python `safetensors` package is not installed here (and PyTorch 1.13, which is, has no
safetensors module), so this script follows the format and the reference Rust implementation
(huggingface/safetensors, safetensors/src/tensor.rs, `prepare`/`serialize` and
`read_metadata`/`validate`) with nothing but struct, json, numpy and torch:

Writing (`prepare`):
  - tensors sorted by dtype alignment, largest first (the Rust `Dtype` enum order, reversed),
    then by name; data_offsets assigned in that order, contiguous from 0;
  - the header is serde_json's compact output: `__metadata__` first when present, then each
    tensor as {"dtype","shape","data_offsets"}; no spaces; non-ASCII written raw (UTF-8), only
    `"`, `\\` and control characters escaped;
  - the header is padded with spaces (0x20) to a multiple of 8 bytes; its length N goes first as
    an unsigned 64-bit little-endian integer; then the data, row-major, little-endian.

Reading (`read_metadata` + `validate`):
  - N <= 100_000_000 and 8 + N <= file size; the header is UTF-8 JSON starting with "{",
    no duplicate keys; `__metadata__` string -> string;
  - entries sorted by data_offsets must start at 0 and be contiguous (each begin == the previous
    end), each span == prod(shape) * dtype size, and the last end == the data size (no holes).

Usage, from the repository root:

    /usr/bin/python3 test/golden/make_safetensors_golden.py
        writes test/golden/safetensors-golden.safetensors and safetensors-golden.json
    /usr/bin/python3 test/golden/make_safetensors_golden.py --check FILE EXPECTED.json
        reads FILE (written by our encoder) with the reference rules, loads every tensor through
        numpy.frombuffer / torch.frombuffer, and compares dtype, shape, bytes and values with
        EXPECTED.json; prints "OK ..." and exits 0, or prints the difference and exits 1.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

MAX_HEADER_SIZE = 100_000_000

# The Rust `Dtype` enum, in its declared (increasing alignment) order.
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]
DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
              "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
NUMPY_DTYPE = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "U16": "<u2",
               "F16": "<f2", "I32": "<i4", "U32": "<u4", "F32": "<f4", "F64": "<f8",
               "I64": "<i8", "U64": "<u8"}  # BF16: numpy has none; torch reads it

HERE = os.path.dirname(os.path.abspath(__file__))


def bf16_bits(values):
    """Raw BF16 bit patterns (uint16) of the given floats, via torch."""
    t = torch.tensor(values, dtype=torch.float32).to(torch.bfloat16)
    return t.view(torch.int16).numpy().view(np.uint16)


def golden_tensors():
    """The tensors of the golden file: every dtype, edge values, an empty tensor, scalars and
    non-ASCII names. Values are numpy arrays (BF16 as raw uint16 bits)."""
    f32 = np.array([[0.0, -0.0, 1.5], [3.4028234663852886e38, 1e-45, float("nan")]], dtype="<f4")
    return {
        "weight": ("F32", [2, 3], f32),
        "bias": ("F64", [3], np.array([0.1, -2.5, 1e-300], dtype="<f8")),
        "inf": ("F64", [2], np.array([float("inf"), float("-inf")], dtype="<f8")),
        "ids": ("I32", [2, 2], np.array([[-2147483648, 2147483647], [0, -1]], dtype="<i4")),
        "state": ("U32", [4], np.array([0, 1, 4294967295, 2654435769], dtype="<u4")),
        "step": ("I64", [], np.array(9007199254740993, dtype="<i8")),
        "big": ("U64", [2], np.array([18446744073709551615, 0], dtype="<u8")),
        "half": ("F16", [3], np.array([1.0, -2.0, 65504.0], dtype="<f2")),
        "brain": ("BF16", [2], bf16_bits([1.0, -3.140625])),
        "i16": ("I16", [3], np.array([-32768, 32767, 7], dtype="<i2")),
        "u16": ("U16", [2], np.array([65535, 1], dtype="<u2")),
        "i8": ("I8", [3], np.array([-128, 127, 0], dtype="|i1")),
        "bytes": ("U8", [4], np.array([0, 1, 254, 255], dtype="|u1")),
        "mask": ("BOOL", [3], np.array([True, False, True], dtype="|b1")),
        "empty": ("F32", [0, 4], np.zeros((0, 4), dtype="<f4")),
        "scalar": ("F32", [], np.array(-7.25, dtype="<f4")),
        "h\u00e9llo\u2192\u4e16\u754c\U0001f642": ("F32", [1], np.array([42.0], dtype="<f4")),
        "layer1.W_hi": ("F32", [1, 2], np.array([[0.25, -0.5]], dtype="<f4")),
    }


GOLDEN_METADATA = {
    "format": "pt",
    "note": "\u00fcn\u00efc\u00f6d\u00e9 \"quoted\" \\ back\nslash\ttab \u0001 \U0001f642",
    "config": json.dumps({"vocabSize": 28, "numHiddens": 16}),
}


def data_bytes(dtype, array):
    if dtype == "BF16":
        return np.ascontiguousarray(array, dtype="<u2").tobytes()
    return np.ascontiguousarray(array, dtype=NUMPY_DTYPE[dtype]).tobytes()


def serialize(tensors, metadata):
    """The reference writer: alignment-then-name order, compact JSON, space padding to 8."""
    order = sorted(tensors, key=lambda name: (-DTYPE_ORDER.index(tensors[name][0]), name))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for name in order:
        dtype, shape, array = tensors[name]
        blob = data_bytes(dtype, array)
        assert len(blob) == math.prod(shape) * DTYPE_SIZE[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs), order


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in the header")
    return dict(pairs)


def deserialize(buffer):
    """The reference reader's checks; returns (metadata, [(name, dtype, shape, bytes)] by offset)."""
    if len(buffer) < 8:
        raise ValueError("HeaderTooSmall")
    (n,) = struct.unpack("<Q", buffer[:8])
    if n > MAX_HEADER_SIZE:
        raise ValueError("HeaderTooLarge")
    if 8 + n > len(buffer):
        raise ValueError("InvalidHeaderLength")
    text = buffer[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise ValueError("InvalidHeaderStart")
    header = json.loads(text, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise ValueError("__metadata__ must be string -> string")
    entries = []
    for name, info in header.items():
        if set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"tensor {name!r}: keys {sorted(info)}")
        entries.append((name, info["dtype"], info["shape"], tuple(info["data_offsets"])))
    entries.sort(key=lambda e: e[3])
    start = 0
    data = buffer[8 + n:]
    out = []
    for name, dtype, shape, (s, e) in entries:
        if s != start or e < s:
            raise ValueError(f"InvalidOffset({name})")
        start = e
        if e - s != math.prod(shape) * DTYPE_SIZE[dtype]:
            raise ValueError(f"TensorInvalidInfo({name})")
        out.append((name, dtype, shape, data[s:e]))
    if start != len(data):
        raise ValueError("MetadataIncompleteBuffer")
    return metadata, out, n


def load(dtype, shape, blob):
    """The tensor as PyTorch sees it (numpy for the unsigned types torch 1.13 lacks)."""
    if dtype == "BF16":
        return torch.frombuffer(bytearray(blob), dtype=torch.bfloat16).reshape(shape)
    if dtype in ("F32", "F64"):
        torch_dtype = torch.float32 if dtype == "F32" else torch.float64
        return torch.frombuffer(bytearray(blob), dtype=torch_dtype).reshape(shape) if blob else \
            torch.zeros(shape, dtype=torch_dtype)
    return np.frombuffer(blob, dtype=NUMPY_DTYPE[dtype]).reshape(shape)


def json_value(x):
    """A float or int as our JSON carries it: non-finite floats as strings."""
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "Infinity" if x > 0 else "-Infinity"
    return x


def values_of(dtype, array):
    flat = array.float().reshape(-1).tolist() if dtype == "BF16" else np.asarray(array).reshape(-1).tolist()
    if dtype in ("I64", "U64"):
        return [str(int(v)) for v in flat]  # beyond 2^53: exact as strings
    if dtype == "BOOL":
        return [int(bool(v)) for v in flat]
    if dtype == "F16":
        return [json_value(float(v)) for v in flat]
    return [json_value(v) for v in flat]


def write_golden():
    tensors = golden_tensors()
    file_bytes, order = serialize(tensors, GOLDEN_METADATA)
    with open(os.path.join(HERE, "safetensors-golden.safetensors"), "wb") as f:
        f.write(file_bytes)
    metadata, entries, n = deserialize(file_bytes)  # the file passes the reference checks
    described = []
    for name, dtype, shape, blob in entries:
        array = tensors[name][2]
        described.append({
            "name": name, "dtype": dtype, "shape": shape, "hex": blob.hex(),
            "values": values_of(dtype, torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
                                if dtype == "BF16" else array),
        })
    doc = {
        "header": {
            "script": "test/golden/make_safetensors_golden.py",
            "torch": torch.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0],
            "note": "bytes built by hand following the reference writer (alignment-then-name order)",
        },
        "headerLength": n,
        "fileLength": len(file_bytes),
        "metadata": metadata,
        "tensors": described,  # in file (data offset) order, which is the reference writer's order
    }
    with open(os.path.join(HERE, "safetensors-golden.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    print(f"wrote safetensors-golden.safetensors ({len(file_bytes)} bytes, header {n}) and safetensors-golden.json")


def same_value(dtype, got, want):
    if want in ("NaN",):
        return isinstance(got, str) and got == "NaN"
    return got == want


def check(path, expected_path):
    with open(path, "rb") as f:
        buffer = f.read()
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    metadata, entries, n = deserialize(buffer)
    problems = []
    if (8 + n) % 8 != 0:
        problems.append(f"data start {8 + n} is not 8-byte aligned")
    if metadata != expected["metadata"]:
        problems.append(f"metadata {metadata!r} != {expected['metadata']!r}")
    want = {t["name"]: t for t in expected["tensors"]}
    got_names = [e[0] for e in entries]
    if sorted(got_names) != sorted(want):
        problems.append(f"names {got_names} != {list(want)}")
    for name, dtype, shape, blob in entries:
        w = want.get(name)
        if w is None:
            continue
        if dtype != w["dtype"] or shape != w["shape"]:
            problems.append(f"{name}: {dtype} {shape} != {w['dtype']} {w['shape']}")
            continue
        if blob.hex() != w["hex"]:
            problems.append(f"{name}: bytes {blob.hex()} != {w['hex']}")
        tensor = load(dtype, shape, blob)
        if list(tensor.shape) != shape:
            problems.append(f"{name}: loaded shape {list(tensor.shape)} != {shape}")
        values = values_of(dtype, tensor)
        if not all(same_value(dtype, g, v) for g, v in zip(values, w["values"])) or len(values) != len(w["values"]):
            problems.append(f"{name}: values {values} != {w['values']}")
    if problems:
        print("MISMATCH\n" + "\n".join(problems))
        return 1
    print(f"OK {len(entries)} tensors, header {n} bytes, torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 1:
        write_golden()
        sys.exit(0)
    print(__doc__)
    sys.exit(2)
