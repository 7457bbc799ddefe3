"""PyTorch reference fixtures for CnnLab.Init: fans, gains, and every initializer's bound/std.

Run with Debian's PyTorch 1.13:  /usr/bin/python3 tools/reference/make_init_fixtures.py
The bounds and stds are not re-derived here: the script calls PyTorch's own initializers
(torch.nn.init.* and the reset_parameters of nn.Linear / nn.Conv*) and records the exact arguments
they pass to Tensor.uniform_ / Tensor.normal_, so the numbers are PyTorch's to the last bit
(stored as JSON doubles in the config). Eye and Dirac are deterministic, so their outputs are stored
as tensors. Output: tests/CnnLab.Tests/Fixtures/init/init_formulas.safetensors.
"""
import math

import torch
import torch.nn.init as init

from common import save

SCRIPT = "tools/reference/make_init_fixtures.py"

SHAPES = [
    ("linear_7x20", [7, 20], 1),
    ("linear_256x256", [256, 256], 1),
    ("linear_10x784", [10, 784], 1),
    ("conv3x3", [32, 3, 3, 3], 1),
    ("conv1x1", [64, 32, 1, 1], 1),
    ("conv5x5", [16, 8, 5, 5], 1),
    ("conv3x3_groups4", [32, 4, 3, 3], 4),   # Conv2d(16, 32, 3, groups=4)
    ("conv3x3_depthwise", [32, 1, 3, 3], 32),  # Conv2d(32, 32, 3, groups=32)
    ("conv1d_k3", [8, 4, 3], 1),
    ("conv3d_k3", [4, 2, 3, 3, 3], 1),
]

GAINS = [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("relu", 0.3), ("leaky_relu", None),
    ("leaky_relu", 0.2), ("leaky_relu", 0.0), ("leaky_relu", math.sqrt(5)), ("selu", None),
]

# (name, function, kwargs): the scale initializers and their calls.
INITS = [
    ("xavier_uniform", init.xavier_uniform_, {}),
    ("xavier_uniform", init.xavier_uniform_, {"gain": 5.0 / 3}),
    ("xavier_normal", init.xavier_normal_, {}),
    ("xavier_normal", init.xavier_normal_, {"gain": math.sqrt(2.0)}),
    ("kaiming_uniform", init.kaiming_uniform_, {}),
    ("kaiming_uniform", init.kaiming_uniform_, {"a": math.sqrt(5)}),
    ("kaiming_uniform", init.kaiming_uniform_, {"a": 0.2, "mode": "fan_out"}),
    ("kaiming_uniform", init.kaiming_uniform_, {"mode": "fan_in", "nonlinearity": "relu"}),
    ("kaiming_normal", init.kaiming_normal_, {}),
    ("kaiming_normal", init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal", init.kaiming_normal_, {"a": 0.1, "nonlinearity": "leaky_relu"}),
    ("kaiming_normal", init.kaiming_normal_, {"nonlinearity": "linear"}),  # = LeCun normal
    ("kaiming_normal", init.kaiming_normal_, {"nonlinearity": "tanh"}),
]


class Recorder:
    """Patches Tensor.uniform_/normal_ to record (kind, arg1, arg2) of each call."""

    def __init__(self):
        self.calls = []

    def __enter__(self):
        self._uniform, self._normal = torch.Tensor.uniform_, torch.Tensor.normal_
        rec = self

        def uniform_(t, a=0.0, b=1.0, generator=None):
            rec.calls.append(["uniform", float(a), float(b)])
            return rec._uniform(t, a, b, generator=generator)

        def normal_(t, mean=0.0, std=1.0, generator=None):
            rec.calls.append(["normal", float(mean), float(std)])
            return rec._normal(t, mean, std, generator=generator)

        torch.Tensor.uniform_, torch.Tensor.normal_ = uniform_, normal_
        return self

    def __exit__(self, *exc):
        torch.Tensor.uniform_, torch.Tensor.normal_ = self._uniform, self._normal


def main():
    torch.manual_seed(0)
    shapes = []
    for name, shape, groups in SHAPES:
        fan_in, fan_out = init._calculate_fan_in_and_fan_out(torch.empty(shape))
        inits = []
        for init_name, fn, kwargs in INITS:
            with Recorder() as r:
                fn(torch.empty(shape), **kwargs)
            assert len(r.calls) == 1, r.calls
            inits.append({"init": init_name, "kwargs": kwargs, "call": r.calls[0]})
        # the layer's own default init (reset_parameters)
        with Recorder() as r:
            if len(shape) == 2:
                torch.nn.Linear(shape[1], shape[0])
            else:
                conv = {3: torch.nn.Conv1d, 4: torch.nn.Conv2d, 5: torch.nn.Conv3d}[len(shape)]
                conv(shape[1] * groups, shape[0], shape[2:], groups=groups)
        assert len(r.calls) == 2, r.calls
        shapes.append({"name": name, "shape": shape, "groups": groups, "fan_in": fan_in, "fan_out": fan_out,
                       "inits": inits, "default_weight": r.calls[0], "default_bias": r.calls[1]})

    gains = [{"nonlinearity": nl, "param": p, "gain": init.calculate_gain(nl, p)} for nl, p in GAINS]

    trunc = []
    for mean, std, a, b in [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.5, 2.5), (0.0, 0.02, -0.04, 0.04), (1.0, 1.0, 2.0, 4.0)]:
        with Recorder() as r:
            init.trunc_normal_(torch.empty(4), mean, std, a, b)
        # PyTorch draws U(2l-1, 2u-1) with l, u the normal CDF at the standardized limits
        trunc.append({"mean": mean, "std": std, "a": a, "b": b, "call": r.calls[0]})

    tensors = {}
    deterministic = []
    for shape in [[3, 5], [4, 4], [5, 3]]:
        key = "eye_" + "x".join(map(str, shape))
        tensors[key] = init.eye_(torch.empty(shape))
        deterministic.append({"key": key, "init": "eye", "shape": shape})
    for shape, groups in [([6, 4, 3, 3], 1), ([8, 2, 3, 3], 2), ([4, 4, 3], 1), ([4, 2, 3, 3, 3], 1),
                          ([6, 4, 4, 4], 1), ([2, 4, 3, 3], 1), ([6, 2, 5, 5], 3)]:
        key = "dirac_" + "x".join(map(str, shape)) + f"_g{groups}"
        tensors[key] = init.dirac_(torch.empty(shape), groups)
        deterministic.append({"key": key, "init": "dirac", "shape": shape, "groups": groups})

    save("init", "init_formulas", tensors,
         {"shapes": shapes, "gains": gains, "trunc_normal": trunc, "deterministic": deterministic}, SCRIPT)
    print("init fixtures written")


if __name__ == "__main__":
    main()
