"""PyTorch side of bench/compare-pytorch.sh: training and inference images/s of a zoo model or a JSON spec.

Same measurement as `cnnlab bench`: random N(0,1) images [B,C,H,W] (zoo models [B,1,28,28], a spec its
"input") and labels, cross-entropy, plain SGD(lr=0.01, momentum=0.9) steps after a warm-up; inference at
--infer-batch (default 1000) under no_grad. A spec (bench/models/*.json, CnnLab's ModelSpec format) is built
as the nn.Sequential of the same layers with PyTorch's constructor arguments.
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


def from_spec(path):
    """The nn.Sequential of a CnnLab JSON model spec, with its input shape and number of classes."""
    with open(path) as f:
        spec = json.load(f)
    shape = [2] + list(spec.get("input", [1, 28, 28]))
    nn = torch.nn
    layers = []
    for layer in spec["layers"]:
        a = dict(layer)
        kind = a.pop("type")
        if kind == "conv2d":
            a.setdefault("in_channels", shape[1])
            m = nn.Conv2d(**a)
        elif kind == "linear":
            a.setdefault("in_features", shape[1])
            m = nn.Linear(**a)
        elif kind in ("maxpool2d", "avgpool2d"):
            m = (nn.MaxPool2d if kind == "maxpool2d" else nn.AvgPool2d)(**a)
        elif kind in ("batchnorm2d", "batchnorm1d"):
            a.setdefault("num_features", shape[1])
            m = (nn.BatchNorm2d if kind == "batchnorm2d" else nn.BatchNorm1d)(**a)
        else:
            m = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU,
                 "elu": nn.ELU, "adaptive_avgpool2d": nn.AdaptiveAvgPool2d, "flatten": nn.Flatten, "dropout": nn.Dropout,
                 "identity": nn.Identity}[kind](**a)
        layers.append(m)
        with torch.no_grad():
            shape = list(m.eval()(torch.zeros(shape)).shape)
        m.train()
    return nn.Sequential(*layers), list(spec.get("input", [1, 28, 28])), shape[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="cnn-small")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--infer-batch", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--warmup-seconds", type=float, default=2.0)  # as cnnlab bench: then at least this long untimed
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model.endswith(".json"):
        net, shape, classes = from_spec(args.model)
        name = os.path.splitext(os.path.basename(args.model))[0]
    else:
        net, shape, classes, name = models.create(args.model), [1, 28, 28], 10, args.model
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(args.batch, *shape)
    y = torch.randint(0, classes, (args.batch,))

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
    xi = torch.randn(args.infer_batch, *shape)
    with torch.no_grad():
        net(xi)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds / 2:
            net(xi)
            n += 1
    infer = n * args.infer_batch / (time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"framework": "pytorch " + torch.__version__, "model": name, "batch": args.batch,
                      "threads": args.threads, "train_images_per_sec": train, "infer_batch": args.infer_batch,
                      "infer_images_per_sec": infer, "infer_ms_per_batch": 1000.0 * args.infer_batch / infer,
                      "peak_working_set_mb": peak}))


if __name__ == "__main__":
    main()
