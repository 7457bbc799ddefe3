"""CnnLab's model zoo as PyTorch nn.Sequential models with identical state_dict keys.

CnnLab's `ModelZoo.Create(name)` builds the same layers in the same order, so a state_dict saved
by either side loads into the other without renaming (e.g. "0.weight", "3.bias", and BatchNorm's
"running_mean", "running_var", "num_batches_tracked").
"""
import torch
from torch import nn


def _act_pool(layers, channels, pool="max", relu_order="before-pool"):
    p = {"max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2),
         "conv": nn.Conv2d(channels, channels, 3, stride=2, padding=1)}[pool]
    layers += [nn.ReLU(), p] if relu_order == "before-pool" else [p, nn.ReLU()]


def lenet5(pool="max", relu_order="before-pool", num_classes=10):
    layers = [nn.Conv2d(1, 6, 5, padding=2)]
    _act_pool(layers, 6, pool, relu_order)
    layers += [nn.Conv2d(6, 16, 5)]
    _act_pool(layers, 16, pool, relu_order)
    layers += [nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes)]
    return nn.Sequential(*layers)


def cnn_small(pool="max", relu_order="before-pool", batch_norm=False, num_classes=10):
    layers = [nn.Conv2d(1, 32, 3, padding=1)] + ([nn.BatchNorm2d(32)] if batch_norm else [])
    _act_pool(layers, 32, pool, relu_order)
    layers += [nn.Conv2d(32, 64, 3, padding=1)] + ([nn.BatchNorm2d(64)] if batch_norm else [])
    _act_pool(layers, 64, pool, relu_order)
    layers += [nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, num_classes)]
    return nn.Sequential(*layers)


def mlp(depth=2, width=256, act="relu", num_classes=10):
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky-relu": nn.LeakyReLU}
    layers = [nn.Flatten()]
    for i in range(depth):
        layers += [nn.Linear(784 if i == 0 else width, width), acts[act]()]
    layers += [nn.Linear(width, num_classes)]
    return nn.Sequential(*layers)


def plain_cnn(depth, channels=16, num_classes=10):
    pool1, pool2 = (depth + 2) // 3, (2 * depth + 2) // 3
    layers = []
    for i in range(1, depth + 1):
        layers += [nn.Conv2d(1 if i == 1 else channels, channels, 3, padding=1), nn.ReLU()]
        if i == pool1 or i == pool2:
            layers += [nn.MaxPool2d(2)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """y = body(x) + shortcut(x); children named "body" and "shortcut" as in CnnLab's Residual."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        if shortcut is not None:
            self.shortcut = shortcut
        else:
            self.shortcut = None

    def forward(self, x):
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


def _basic_block(in_c, out_c, stride):
    body = nn.Sequential(nn.Conv2d(in_c, out_c, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(out_c), nn.ReLU(),
                         nn.Conv2d(out_c, out_c, 3, padding=1, bias=False), nn.BatchNorm2d(out_c))
    shortcut = None
    if stride != 1 or in_c != out_c:
        shortcut = nn.Sequential(nn.Conv2d(in_c, out_c, 1, stride=stride, bias=False), nn.BatchNorm2d(out_c))
    return nn.Sequential(Residual(body, shortcut), nn.ReLU())


def resnet_mini(num_classes=10):
    layers = [nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    in_c = 16
    for out_c, stride in [(16, 1), (16, 1), (32, 2), (32, 1), (64, 2), (64, 1)]:
        layers.append(_basic_block(in_c, out_c, stride))
        in_c = out_c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes)]
    return nn.Sequential(*layers)


def create(name, pool="max", relu_order="before-pool"):
    if name == "lenet5":
        return lenet5(pool, relu_order)
    if name == "cnn-small":
        return cnn_small(pool, relu_order)
    if name == "cnn-bn":
        return cnn_small(pool, relu_order, batch_norm=True)
    if name == "mlp":
        return mlp()
    if name == "resnet-mini":
        return resnet_mini()
    if name.startswith("mlp-"):
        _, d, w, act = name.split("-", 3)
        return mlp(int(d), int(w), act)
    if name.startswith("plain-cnn-"):
        return plain_cnn(int(name.rsplit("-", 1)[1]))
    raise ValueError("unknown model " + name)


if __name__ == "__main__":
    for n in ["lenet5", "cnn-small", "cnn-bn", "mlp", "mlp-3-64-tanh", "plain-cnn-5", "resnet-mini"]:
        m = create(n)
        print(n, sum(p.numel() for p in m.parameters()), list(m.state_dict().keys())[:6])
