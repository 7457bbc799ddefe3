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


def activation_cases():
    g = torch.Generator().manual_seed(1)
    x = (torch.randn(4, 9, generator=g) * 2).requires_grad_()
    dy = torch.randn(4, 9, generator=g)
    fns = {
        "relu": torch.nn.ReLU(), "leaky_relu": torch.nn.LeakyReLU(0.01), "leaky_relu_02": torch.nn.LeakyReLU(0.2),
        "sigmoid": torch.nn.Sigmoid(), "tanh": torch.nn.Tanh(), "gelu": torch.nn.GELU(), "elu": torch.nn.ELU(),
        "elu_05": torch.nn.ELU(0.5), "softmax": torch.nn.Softmax(dim=1), "log_softmax": torch.nn.LogSoftmax(dim=1),
        "softmax_dim0": torch.nn.Softmax(dim=0),
    }
    for name, fn in fns.items():
        x.grad = None
        y = fn(x)
        (y * dy).sum().backward()
        save("activations", name, {"x": x, "dy": dy, "y": y, "dx": x.grad}, {"op": name}, SCRIPT)


def batchnorm_cases():
    g = torch.Generator().manual_seed(2)
    for name, shape, train, momentum in [("bn2d_train", (4, 3, 5, 6), True, 0.1), ("bn2d_eval", (4, 3, 5, 6), False, 0.1),
                                         ("bn2d_train_cma", (2, 2, 3, 3), True, None), ("bn1d_train", (8, 5), True, 0.1),
                                         ("bn1d_eval_3d", (3, 4, 7), False, 0.1)]:
        c = shape[1]
        bn = torch.nn.BatchNorm2d(c, momentum=momentum) if len(shape) == 4 else torch.nn.BatchNorm1d(c, momentum=momentum)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(c, generator=g) + 0.5)
            bn.bias.copy_(torch.randn(c, generator=g))
            bn.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            bn.running_var.copy_(torch.rand(c, generator=g) + 0.5)
        rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
        bn.train(train)
        x = (torch.randn(*shape, generator=g) * 3 + 1).requires_grad_()
        y = bn(x)
        dy = torch.randn(*shape, generator=g)
        (y * dy).sum().backward()
        save("batchnorm", name, {"x": x, "weight": bn.weight, "bias": bn.bias, "running_mean_before": rm0,
                                 "running_var_before": rv0, "y": y, "dy": dy, "dx": x.grad, "dweight": bn.weight.grad,
                                 "dbias": bn.bias.grad, "running_mean_after": bn.running_mean,
                                 "running_var_after": bn.running_var},
             {"train": train, "momentum": momentum, "rank": len(shape)}, SCRIPT)


def loss_cases():
    g = torch.Generator().manual_seed(3)
    logits = (torch.randn(6, 10, generator=g) * 3).requires_grad_()
    target = torch.tensor([0, 3, 9, 3, 5, 1])
    for name, smoothing in [("cross_entropy", 0.0), ("cross_entropy_smooth", 0.1)]:
        logits.grad = None
        loss = torch.nn.functional.cross_entropy(logits, target, label_smoothing=smoothing)
        loss.backward()
        save("losses", name, {"logits": logits, "target": target.float(), "loss": loss.reshape(1), "dlogits": logits.grad},
             {"label_smoothing": smoothing}, SCRIPT)
    logp = torch.log_softmax(torch.randn(6, 10, generator=g), 1).requires_grad_()
    loss = torch.nn.functional.nll_loss(logp, target)
    loss.backward()
    save("losses", "nll", {"logp": logp, "target": target.float(), "loss": loss.reshape(1), "dlogp": logp.grad}, {}, SCRIPT)
    a = torch.randn(3, 4, generator=g).requires_grad_()
    b = torch.randn(3, 4, generator=g).requires_grad_()
    loss = torch.nn.functional.mse_loss(a, b)
    loss.backward()
    save("losses", "mse", {"input": a, "target": b, "loss": loss.reshape(1), "dinput": a.grad, "dtarget": b.grad}, {}, SCRIPT)


def elementwise_cases():
    """Broadcasting binary ops, reductions, matmul and unary ops with their input gradients."""
    g = torch.Generator().manual_seed(5)

    def case(name, fn, *shapes, positive=()):
        xs = []
        for i, shp in enumerate(shapes):
            t = torch.randn(*shp, generator=g)
            if i in positive:
                t = t.abs() + 0.5
            xs.append(t.requires_grad_())
        y = fn(*xs)
        dy = torch.randn(y.shape, generator=g)
        (y * dy).sum().backward()
        tensors = {"y": y, "dy": dy}
        for i, x in enumerate(xs):
            tensors[f"x{i}"] = x
            tensors[f"dx{i}"] = x.grad
        save("elementwise", name, tensors, {"op": name, "inputs": len(xs)}, SCRIPT)

    case("add_bias", torch.add, (2, 3, 4), (4,))
    case("sub_col", torch.sub, (2, 3, 4), (3, 1))
    case("mul_outer", torch.mul, (5, 1), (1, 6))
    case("div_scalar_like", torch.div, (2, 3), (1,), positive=(1,))
    case("div_same", torch.div, (3, 4), (3, 4), positive=(1,))
    case("sum_all", lambda x: x.sum().reshape(1), (3, 5))
    case("mean_all", lambda x: x.mean().reshape(1), (3, 5))
    case("sum_axis1", lambda x: x.sum(1), (2, 3, 4))
    case("mean_last_keep", lambda x: x.mean(-1, keepdim=True), (2, 3, 4))
    case("matmul", torch.matmul, (7, 5), (5, 9))
    case("transpose", lambda x: x.t(), (4, 6))
    case("exp", torch.exp, (3, 4))
    case("log", torch.log, (3, 4), positive=(0,))
    case("pow3", lambda x: x.pow(3), (3, 4))
    case("mul_scalar", lambda x: x * -2.5, (3, 4))


def whole_cnn_cases():
    """LeNet-5 and a small Conv-BN-ReLU-Pool net: logits, loss and every parameter gradient."""
    import models
    g = torch.Generator().manual_seed(4)
    for name, net in [("lenet5", models.lenet5()),
                      ("conv_bn_net", torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                                          torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(4, 6, 3, stride=2),
                                                          torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                                          torch.nn.Linear(6, 10)))]:
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / max(1, p[0].numel()) ** 0.5))
        x = torch.randn(4, 1, 28, 28, generator=g)
        target = torch.tensor([1, 7, 3, 0])
        logits = net(x)
        loss = torch.nn.functional.cross_entropy(logits, target)
        loss.backward()
        tensors = {"x": x, "target": target.float(), "logits": logits, "loss": loss.reshape(1)}
        for k, v in net.state_dict().items():
            tensors["param." + k] = v.float()
        for k, p in net.named_parameters():
            tensors["grad." + k] = p.grad
        save("models", name, tensors, {"model": name}, SCRIPT)


if __name__ == "__main__":
    torch.manual_seed(0)
    linear_cases()
    activation_cases()
    batchnorm_cases()
    loss_cases()
    elementwise_cases()
    whole_cnn_cases()
    print("fixtures written")
