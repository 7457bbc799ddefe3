"""PyTorch reference fixtures for CnnLab's layers: forward outputs and input/weight gradients.

Run with Debian's PyTorch 1.13:  /usr/bin/python3 tools/reference/make_fixtures.py
Each case stores inputs, weights, an upstream gradient dy (the tests compute d(sum(y*dy))), the
output y and the gradients, under tests/CnnLab.Tests/Fixtures/<layer>/<case>.safetensors.
"""
import torch

from common import save

SCRIPT = "tools/reference/make_fixtures.py"


def linear_cases():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 20, generator=g, dtype=torch.float64).float().requires_grad_()
    lin = torch.nn.Linear(20, 7)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(7, 20, generator=g))
        lin.bias.copy_(torch.randn(7, generator=g))
    y = lin(x)
    dy = torch.randn(y.shape, generator=g)
    (y * dy).sum().backward()
    save("linear", "linear_basic", {"x": x, "weight": lin.weight, "bias": lin.bias, "y": y, "dy": dy,
                                     "dx": x.grad, "dweight": lin.weight.grad, "dbias": lin.bias.grad},
         {"in": 20, "out": 7}, SCRIPT)


if __name__ == "__main__":
    torch.manual_seed(0)
    linear_cases()
    print("fixtures written")
