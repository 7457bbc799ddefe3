"""PyTorch <-> CnnLab weight interoperability fixtures (tests/CnnLab.Tests/Fixtures/interop/).

Two modes, run with Debian's PyTorch 1.13:

  /usr/bin/python3 tools/reference/make_interop_fixtures.py pytorch
      Trains the `cnn-small` twin (models.py) for 20 SGD steps on seeded random data and writes
      pytorch_cnn_small.safetensors: its state_dict under PyTorch's own names, plus "input" (a fixed
      batch [4,1,28,28]) and "logits" (PyTorch's eval-mode output on it). CnnLab loads the state_dict
      by name into ModelZoo "cnn-small" and must reproduce the logits.

  /usr/bin/python3 tools/reference/make_interop_fixtures.py cnnlab
      Reads cnnlab_cnn_bn.safetensors, written by CnnLab (see InteropTests: weights, BatchNorm
      running statistics and the I64 num_batches_tracked, all from a seeded Generator), loads it
      with load_state_dict(strict=True) into the `cnn-bn` twin, and writes
      pytorch_logits_of_cnnlab_cnn_bn.safetensors: "input" and PyTorch's eval-mode "logits".
      CnnLab recomputes the logits from the same file and must agree.
"""
import json
import os
import struct
import sys

import torch

import models
from common import FIXTURES, save

SCRIPT = "tools/reference/make_interop_fixtures.py"
DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I64": (torch.int64, 8)}


def load_safetensors(path):
    """A few-line safetensors reader (the `safetensors` package is not needed)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        dtype, _ = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[b:end]), dtype=dtype).reshape(e["shape"]).clone()
    return out


def fixed_input(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(4, 1, 28, 28, generator=g)


def pytorch_to_cnnlab():
    torch.manual_seed(2024)
    model = models.create("cnn-small")
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    g = torch.Generator().manual_seed(7)
    for _ in range(20):
        x = torch.randn(16, 1, 28, 28, generator=g)
        y = torch.randint(0, 10, (16,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    x = fixed_input(11)
    with torch.no_grad():
        logits = model(x)
    tensors = dict(model.state_dict())
    tensors["input"] = x
    tensors["logits"] = logits
    path = save("interop", "pytorch_cnn_small", tensors, {"model": "cnn-small", "steps": 20, "optimizer": "sgd 0.05 m0.9"}, SCRIPT)
    print("written", path)


def cnnlab_to_pytorch():
    weights = load_safetensors(os.path.join(FIXTURES, "interop", "cnnlab_cnn_bn.safetensors"))
    model = models.create("cnn-bn")
    model.load_state_dict(weights, strict=True)
    model.eval()
    x = fixed_input(12)
    with torch.no_grad():
        logits = model(x)
    nbt = {k: int(v) for k, v in weights.items() if k.endswith("num_batches_tracked")}
    path = save("interop", "pytorch_logits_of_cnnlab_cnn_bn", {"input": x, "logits": logits},
                {"model": "cnn-bn", "weights": "cnnlab_cnn_bn.safetensors", "num_batches_tracked": nbt}, SCRIPT)
    print("written", path)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "pytorch"
    {"pytorch": pytorch_to_cnnlab, "cnnlab": cnnlab_to_pytorch}[mode]()
