"""PyTorch side of bench/compare-pytorch.sh: training and inference images/s of a zoo model.

Same measurement as `cnnlab bench`: random N(0,1) images [B,1,28,28] and labels, cross-entropy,
plain SGD(lr=0.01, momentum=0.9) steps after a warm-up; inference at batch 1000 under no_grad.
Prints one JSON object: train_images_per_sec, infer_images_per_sec, peak_working_set_mb.
Usage: /usr/bin/python3 bench/pytorch_bench.py --model cnn-small --batch 128 --threads 1 --seconds 10
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "reference"))
import models  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="cnn-small")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--warmup-seconds", type=float, default=2.0)  # as cnnlab bench: then at least this long untimed
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = models.create(args.model)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    while time.perf_counter() - start < args.warmup_seconds:
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        step()
        steps += 1
    train = steps * args.batch / (time.perf_counter() - start)

    net.eval()
    xi = torch.randn(1000, 1, 28, 28)
    with torch.no_grad():
        net(xi)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds / 2:
            net(xi)
            n += 1
    infer = n * 1000 / (time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"framework": "pytorch " + torch.__version__, "model": args.model, "batch": args.batch,
                      "threads": args.threads, "train_images_per_sec": train, "infer_images_per_sec": infer,
                      "peak_working_set_mb": peak}))


if __name__ == "__main__":
    main()
