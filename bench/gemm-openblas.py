#!/usr/bin/python3
"""Times OpenBLAS sgemm through numpy at the sizes bench/CnnLab.Bench measures, for the ratio.

Usage (Debian: apt-get install -y libopenblas0-pthread python3-numpy):
    env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/gemm-openblas.py
Unset OPENBLAS_CORETYPE so OpenBLAS picks its AVX-512 (SkylakeX/Cooperlake) kernels; the thread
count comes from OPENBLAS_NUM_THREADS. Prints best-of-runs GFLOP/s (2·M·N·K / time) per case.
Cases: square n = 256..2048 (NN), and the CNN-shaped product M=64, N=25088, K=288 with the
NT and TN variants its backward uses (dW = dY·colsᵀ, dcols = Wᵀ·dY).
"""
import os
import sys
import time

import numpy as np


def case(name):
    rng = np.random.default_rng(1)
    if name == "cnn":
        a, b = rng.random((64, 288), np.float32), rng.random((288, 25088), np.float32)
        return (lambda: a @ b), 64 * 25088 * 288
    if name == "cnnNT":  # dY[64 x P] · cols[288 x P]^T
        a, b = rng.random((64, 25088), np.float32), rng.random((288, 25088), np.float32)
        return (lambda: a @ b.T), 64 * 288 * 25088
    if name == "cnnTN":  # W[64 x 288]^T · dY[64 x P]
        a, b = rng.random((64, 288), np.float32), rng.random((64, 25088), np.float32)
        return (lambda: a.T @ b), 288 * 25088 * 64
    n = int(name)
    a, b = rng.random((n, n), np.float32), rng.random((n, n), np.float32)
    return (lambda: a @ b), n * n * n


def main():
    names = sys.argv[1:] or ["256", "512", "1024", "2048", "cnn", "cnnNT", "cnnTN"]
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "?")
    core = os.environ.get("OPENBLAS_CORETYPE", "auto")
    for name in names:
        f, mnk = case(name)
        f()
        best, reps, start = float("inf"), 0, time.perf_counter()
        while time.perf_counter() - start < 1.5 or reps < 3:
            t0 = time.perf_counter()
            f()
            best = min(best, time.perf_counter() - t0)
            reps += 1
        print(f"{name:<8} t={threads} {2 * mnk / best / 1e9:7.1f} GFLOP/s  (OpenBLAS {core}, best of {reps})")


if __name__ == "__main__":
    main()
