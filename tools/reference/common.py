"""Shared helpers for CnnLab's PyTorch fixture generators.

Fixtures are safetensors files (written here with a few lines of code, so the `safetensors`
package is not needed) under tests/CnnLab.Tests/Fixtures/. Each file's __metadata__ records
the generator script, the PyTorch version and the case's configuration as JSON, so that a failing
test can say which script to re-run. Run with Debian's PyTorch: /usr/bin/python3 tools/reference/<script>.py
"""
import json
import os
import struct

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "CnnLab.Tests", "Fixtures")
FORMAT_VERSION = "1"


def save(subdir, name, tensors, config=None, script=None, dtype="F32"):
    """Writes tensors (name -> torch.Tensor, any float dtype) to FIXTURES/subdir/name.safetensors, stored as
    `dtype`: "F32" (default) or "F64" (for values that must keep double precision, e.g. learning rates)."""
    if dtype not in ("F32", "F64"):
        raise ValueError("dtype must be F32 or F64")
    torch_dtype, np_dtype = (torch.float32, "<f4") if dtype == "F32" else (torch.float64, "<f8")
    out_dir = os.path.join(FIXTURES, subdir)
    os.makedirs(out_dir, exist_ok=True)
    header = {
        "__metadata__": {
            "format_version": FORMAT_VERSION,
            "generator": script or "tools/reference/make_fixtures.py",
            "torch_version": torch.__version__,
            "config": json.dumps(config or {}, sort_keys=True),
        }
    }
    blobs = []
    offset = 0
    for key, t in tensors.items():
        data = t.detach().to(torch_dtype).contiguous().cpu().numpy().astype(np_dtype).tobytes()
        header[key] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    path = os.path.join(out_dir, name + ".safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    return path
