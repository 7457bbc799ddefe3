#!/usr/bin/env python3
"""Makes the embedded Fashion-MNIST subset that ships with CnnLab.

Reads the four IDX .gz files of Debian's package `dataset-fashion-mnist`
(/usr/share/datasets/fashion-mnist) and writes a stratified, deterministic sample:
600 training images per class (6,000) and 100 test images per class (1,000), as IDX .gz
files into data/fashion-mnist-subset/ at the repository root.

Selection (no random generator, so the result never depends on a library version): within
each class, images are ranked by a fixed integer hash of their index in the original file,
h(i) = (i * 2654435761 + 12345) mod 2^32 (Knuth's multiplicative hash), and the smallest
`per_class` are kept. The kept images stay in their original file order, so classes remain
interleaved as in the full set. gzip is written with mtime 0, so re-running gives identical bytes.

Usage: /usr/bin/python3 tools/reference/make_subset.py [SOURCE_DIR] [OUT_DIR]
Needs only python3 and numpy (no torch).
"""
import gzip
import hashlib
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "data", "fashion-mnist-subset")
SPLITS = [("train", 600), ("t10k", 100)]
NUM_CLASSES = 10


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndims, raw[4:4 + 4 * ndims])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndims)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} data bytes, header says {dims}")
    return data.reshape(dims)


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    # GzipFile with an empty filename and mtime 0 writes the same bytes on every run.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(header)
        f.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def select(labels, per_class):
    index = np.arange(labels.size, dtype=np.uint64)
    h = (index * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(1 << 32)
    keep = []
    for c in range(NUM_CLASSES):
        members = np.nonzero(labels == c)[0]
        if members.size < per_class:
            raise ValueError(f"class {c} has only {members.size} images, need {per_class}")
        order = np.argsort(h[members], kind="stable")
        keep.append(members[order[:per_class]])
    return np.sort(np.concatenate(keep))


def main():
    os.makedirs(OUT, exist_ok=True)
    for split, per_class in SPLITS:
        images = read_idx(os.path.join(SOURCE, f"{split}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(SOURCE, f"{split}-labels-idx1-ubyte.gz"))
        chosen = select(labels, per_class)
        for kind, array in (("images-idx3", images[chosen]), ("labels-idx1", labels[chosen])):
            path = os.path.join(OUT, f"{split}-{kind}-ubyte.gz")
            write_idx(path, array)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            print(f"{path}: shape {array.shape}, sha256 {digest}")
        counts = np.bincount(labels[chosen], minlength=NUM_CLASSES)
        print(f"{split}: {chosen.size} images, per class {counts.tolist()}")


if __name__ == "__main__":
    main()
