"""PyTorch reference fixtures for CnnLab's Conv2d, MaxPool2d, AvgPool2d and AdaptiveAvgPool2d.

Run with Debian's PyTorch 1.13:  /usr/bin/python3 tools/reference/make_conv_fixtures.py
Each case stores the input x (and weight, bias for convs), an upstream gradient dy (the tests
compute d(sum(y*dy))), the output y and the gradients, under
tests/CnnLab.Tests/Fixtures/conv/<case>.safetensors and .../pool/<case>.safetensors.
Shapes are small so the files stay a few KB.
"""
import torch
import torch.nn.functional as F

from common import save

SCRIPT = "tools/reference/make_conv_fixtures.py"

# name, N, C, H, W, OC, (kh, kw), stride, padding, dilation, groups, bias
CONV_CASES = [
    ("one_to_many", 2, 1, 6, 6, 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),
    ("same_pad1", 2, 3, 5, 5, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    ("nonsquare_kernel_input", 1, 2, 5, 7, 3, (2, 3), (1, 1), (0, 1), (1, 1), 1, True),
    ("stride2", 2, 3, 7, 7, 2, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
    ("stride_nonsquare", 1, 2, 8, 9, 3, (3, 2), (2, 3), (1, 0), (1, 1), 1, True),
    ("dilation2", 1, 2, 8, 8, 3, (3, 3), (1, 1), (2, 2), (2, 2), 1, True),
    ("dilation_nonsquare", 1, 2, 9, 7, 2, (3, 2), (2, 1), (1, 1), (2, 3), 1, True),
    ("groups2", 2, 4, 6, 5, 6, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),
    ("depthwise", 2, 3, 6, 6, 3, (3, 3), (1, 1), (1, 1), (1, 1), 3, True),
    ("depthwise_multiplier2", 1, 3, 5, 6, 6, (3, 3), (2, 2), (1, 1), (1, 1), 3, False),
    ("no_bias", 2, 3, 5, 5, 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, False),
    ("pointwise_1x1", 2, 5, 4, 3, 3, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
    ("pointwise_1x1_stride2", 1, 4, 5, 5, 2, (1, 1), (2, 2), (0, 0), (1, 1), 1, True),
    ("lenet_5x5_pad2", 2, 1, 8, 8, 3, (5, 5), (1, 1), (2, 2), (1, 1), 1, True),
    ("cnn_small_conv2", 1, 8, 6, 6, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    ("kernel_equals_input", 2, 2, 3, 4, 3, (3, 4), (1, 1), (0, 0), (1, 1), 1, True),
]

# name, kind, N, C, H, W, kernel, stride, padding, ceil_mode, count_include_pad (avg) / dilation (max)
POOL_CASES = [
    ("max_k2s2", "max", 2, 3, 6, 6, (2, 2), (2, 2), (0, 0), False, (1, 1)),
    ("max_k2s2_odd", "max", 1, 2, 7, 5, (2, 2), (2, 2), (0, 0), False, (1, 1)),
    ("max_k2s2_ceil", "max", 1, 2, 7, 5, (2, 2), (2, 2), (0, 0), True, (1, 1)),
    ("max_k3s2_overlap", "max", 2, 2, 7, 7, (3, 3), (2, 2), (0, 0), False, (1, 1)),
    ("max_k3s2_pad1", "max", 1, 2, 6, 7, (3, 3), (2, 2), (1, 1), False, (1, 1)),
    ("max_k3s2_pad1_ceil", "max", 1, 2, 6, 6, (3, 3), (2, 2), (1, 1), True, (1, 1)),
    ("max_nonsquare", "max", 1, 2, 6, 9, (2, 3), (1, 2), (1, 1), False, (1, 1)),
    ("max_dilation2", "max", 1, 2, 7, 7, (2, 2), (1, 1), (1, 0), False, (2, 2)),
    ("avg_k2s2", "avg", 2, 3, 6, 6, (2, 2), (2, 2), (0, 0), False, True),
    ("avg_k2s2_ceil", "avg", 1, 2, 7, 5, (2, 2), (2, 2), (0, 0), True, True),
    ("avg_k3s2_pad1", "avg", 1, 2, 7, 6, (3, 3), (2, 2), (1, 1), False, True),
    ("avg_k3s2_pad1_exclude_pad", "avg", 1, 2, 7, 6, (3, 3), (2, 2), (1, 1), False, False),
    ("avg_k3s2_pad1_ceil", "avg", 1, 2, 6, 6, (3, 3), (2, 2), (1, 1), True, True),
    ("avg_k3s2_pad1_ceil_exclude_pad", "avg", 1, 2, 6, 6, (3, 3), (2, 2), (1, 1), True, False),
    ("avg_nonsquare", "avg", 1, 2, 5, 8, (2, 3), (1, 2), (1, 1), False, True),
]

ADAPTIVE_CASES = [
    ("adaptive_avg_1", 2, 3, 5, 7, (1, 1)),
    ("adaptive_avg_2x3", 1, 2, 7, 8, (2, 3)),
]


def randn(g, *shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64).float()


def distinct(g, *shape):
    """A random permutation of 0..n-1 scaled by 0.1, centered: distinct values so max-pool ties never occur."""
    n = 1
    for s in shape:
        n *= s
    return ((torch.randperm(n, generator=g).double() - n / 2) * 0.1).float().view(*shape)


def conv_cases():
    g = torch.Generator().manual_seed(1)
    for name, n, c, h, w, oc, k, s, p, d, groups, has_bias in CONV_CASES:
        x = randn(g, n, c, h, w).requires_grad_()
        weight = randn(g, oc, c // groups, *k).requires_grad_()
        bias = randn(g, oc).requires_grad_() if has_bias else None
        y = F.conv2d(x, weight, bias, s, p, d, groups)
        dy = randn(g, *y.shape)
        (y * dy).sum().backward()
        tensors = {"x": x, "weight": weight, "y": y, "dy": dy, "dx": x.grad, "dweight": weight.grad}
        if has_bias:
            tensors["bias"] = bias
            tensors["dbias"] = bias.grad
        save("conv", name, tensors, {"kernel_size": list(k), "stride": list(s), "padding": list(p),
                                     "dilation": list(d), "groups": groups, "bias": has_bias}, SCRIPT)


def pool_cases():
    g = torch.Generator().manual_seed(2)
    for name, kind, n, c, h, w, k, s, p, ceil, extra in POOL_CASES:
        x = (distinct(g, n, c, h, w) if kind == "max" else randn(g, n, c, h, w)).requires_grad_()
        if kind == "max":
            y = F.max_pool2d(x, k, s, p, extra, ceil_mode=ceil)
            config = {"kind": kind, "kernel_size": list(k), "stride": list(s), "padding": list(p),
                      "dilation": list(extra), "ceil_mode": ceil}
        else:
            y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=extra)
            config = {"kind": kind, "kernel_size": list(k), "stride": list(s), "padding": list(p),
                      "ceil_mode": ceil, "count_include_pad": extra}
        dy = randn(g, *y.shape)
        (y * dy).sum().backward()
        save("pool", name, {"x": x, "y": y, "dy": dy, "dx": x.grad}, config, SCRIPT)
    for name, n, c, h, w, out in ADAPTIVE_CASES:
        x = randn(g, n, c, h, w).requires_grad_()
        y = F.adaptive_avg_pool2d(x, out)
        dy = randn(g, *y.shape)
        (y * dy).sum().backward()
        save("pool", name, {"x": x, "y": y, "dy": dy, "dx": x.grad}, {"kind": "adaptive_avg", "output_size": list(out)}, SCRIPT)


if __name__ == "__main__":
    conv_cases()
    pool_cases()
    print("conv and pool fixtures written")
