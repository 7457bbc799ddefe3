"""Writes tests/CnnLab.Tests/Fixtures/models/zoo_state_dicts.json: for each zoo model (and the
--pool/--relu-order variants), PyTorch's state_dict keys with shapes and the parameter count.
Run: /usr/bin/python3 tools/reference/make_zoo_fixture.py
"""
import json
import os

import torch

import models
from common import FIXTURES

NAMES = ["lenet5", "cnn-small", "cnn-bn", "mlp", "mlp-3-64-tanh", "mlp-5-32-leaky-relu", "plain-cnn-5",
         "plain-cnn-10", "resnet-mini"]

if __name__ == "__main__":
    out = {"generator": "tools/reference/make_zoo_fixture.py", "torch_version": torch.__version__, "models": {}}
    variants = [(n, "max", "before-pool") for n in NAMES] + [
        ("cnn-small", "avg", "after-pool"), ("cnn-small", "conv", "before-pool"), ("lenet5", "avg", "before-pool")]
    for name, pool, order in variants:
        m = models.create(name, pool, order)
        key = name if (pool, order) == ("max", "before-pool") else f"{name}|{pool}|{order}"
        out["models"][key] = {
            "state_dict": [[k, list(v.shape)] for k, v in m.state_dict().items()],
            "parameters": sum(p.numel() for p in m.parameters()),
        }
    os.makedirs(os.path.join(FIXTURES, "models"), exist_ok=True)
    with open(os.path.join(FIXTURES, "models", "zoo_state_dicts.json"), "w") as f:
        json.dump(out, f, indent=1)
    print("written")
