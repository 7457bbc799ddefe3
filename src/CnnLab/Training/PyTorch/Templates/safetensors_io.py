"""Reads and writes safetensors files with torch alone.

The `safetensors` package does the same, but it is one more dependency to install on every node, and the
format is small enough to write out: an 8-byte little-endian header length, a JSON header (each tensor's
dtype, shape and byte range, plus a "__metadata__" object of strings), then the raw little-endian data.
CnnLab reads and writes these files; its checkpoint names and metadata are kept as they are.
"""
import ctypes
import json
import struct
import sys

import torch

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
_NAMES = {dtype: name for name, dtype in _DTYPES.items()}

if sys.byteorder != "little":
    raise RuntimeError("safetensors_io writes the tensors' memory as it is, which needs a little-endian machine")


def save_file(path, tensors, metadata=None):
    """Writes `tensors` (name -> tensor, any device) and `metadata` (str -> str) to `path`."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, tensor in tensors.items():
        t = tensor.detach().to("cpu").contiguous()
        size = t.numel() * t.element_size()
        # The tensor's memory, copied out as bytes (no numpy needed).
        blobs.append(ctypes.string_at(t.data_ptr(), size) if size else b"")
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def load_file(path):
    """Returns (tensors, metadata): name -> CPU tensor in file order, and the metadata dict (empty if none)."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    tensors, base = {}, 8 + length
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = _DTYPES[entry["dtype"]]
        count = (end - begin) // torch.tensor([], dtype=dtype).element_size()
        flat = torch.frombuffer(data, dtype=dtype, count=count, offset=base + begin) if count else torch.empty(0, dtype=dtype)
        tensors[name] = flat.clone().reshape(entry["shape"])
    return tensors, metadata
