"""Reference trajectories for CnnLab.Optim from PyTorch 1.13.

Optimizers (Fixtures/optim/<case>.safetensors): three parameters of different shapes, a fixed sequence
of 25 gradients, and every parameter after every step: p{j} is [26, *shape] (row 0 the initial value),
g{j} is [25, *shape], mask{j} is [25] (0 = the parameter had no gradient at that step, so PyTorch skipped it).
Schedules (Fixtures/schedules/<case>.safetensors, F64): lr [100, groups] = each group's lr before each of
100 scheduler steps (momentum [100, groups] for OneCycleLR, metrics [100] for ReduceLROnPlateau).

Run: /usr/bin/python3 tools/reference/make_optim_fixtures.py
"""
import math

import torch

from common import save

SCRIPT = "tools/reference/make_optim_fixtures.py"
SHAPES = [(4, 5), (7,), (2, 3, 6)]
STEPS = 25

OPTIMIZERS = {
    "sgd_plain": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd_dampening": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    "sgd_nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1)),
    "sgd_maximize": ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01, maximize=True)),
    "adam_default": ("Adam", dict(lr=1e-2)),
    "adam_weight_decay": ("Adam", dict(lr=1e-2, weight_decay=0.1)),
    "adam_amsgrad": ("Adam", dict(lr=1e-2, amsgrad=True, betas=(0.8, 0.99))),
    "adam_maximize": ("Adam", dict(lr=1e-2, maximize=True, weight_decay=0.05, eps=1e-6)),
    "adamw_default": ("AdamW", dict(lr=1e-2)),
    "adamw_amsgrad": ("AdamW", dict(lr=1e-2, amsgrad=True)),
    "adamw_large_decay": ("AdamW", dict(lr=1e-2, weight_decay=0.5, maximize=True)),
    "rmsprop_plain": ("RMSprop", dict(lr=1e-2)),
    "rmsprop_momentum": ("RMSprop", dict(lr=1e-2, momentum=0.9)),
    "rmsprop_centered": ("RMSprop", dict(lr=1e-2, centered=True, alpha=0.9)),
    "rmsprop_all": ("RMSprop", dict(lr=1e-2, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
}


def optimizer_case(name, cls, kwargs, seed):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(s, generator=g).requires_grad_() for s in SHAPES]
    grads = [torch.randn((STEPS,) + s, generator=g) for s in SHAPES]
    # vary the gradient scale over time, so the moment estimates change
    scale = torch.tensor([0.5 + 1.5 * math.sin(0.4 * t) ** 2 for t in range(STEPS)])
    grads = [gr * scale.view((STEPS,) + (1,) * len(s)) for gr, s in zip(grads, SHAPES)]
    masks = [torch.ones(STEPS) for _ in SHAPES]
    masks[2][5:8] = 0  # parameter 2 has no gradient at steps 5-7: PyTorch skips it (its step count does not advance)
    kw = dict(kwargs)
    if cls != "RMSprop":
        kw["foreach"] = False
    opt = getattr(torch.optim, cls)(params, **kw)
    traj = [[p.detach().clone()] for p in params]
    for t in range(STEPS):
        for j, p in enumerate(params):
            p.grad = grads[j][t].clone() if masks[j][t] > 0 else None
        opt.step()
        for j, p in enumerate(params):
            traj[j].append(p.detach().clone())
    tensors = {}
    for j in range(len(SHAPES)):
        tensors[f"p{j}"] = torch.stack(traj[j])
        tensors[f"g{j}"] = grads[j]
        tensors[f"mask{j}"] = masks[j]
    config = {"optimizer": cls, "kwargs": {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}}
    save("optim", name, tensors, config, SCRIPT)


def lrs_of(opt):
    return [g["lr"] for g in opt.param_groups]


def momentum_of(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def make_opt(kind="sgd"):
    p1, p2 = torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)
    groups = [{"params": [p1]}, {"params": [p2], "lr": 0.05}]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=0.1)
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9)


def schedule_case(name, build, config, kind="sgd", metrics=None):
    opt = make_opt(kind)
    sched = build(opt)
    lrs, moms = [], []
    for t in range(100):
        lrs.append(lrs_of(opt))
        moms.append(momentum_of(opt))
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(float(metrics[t]))
    tensors = {"lr": torch.tensor(lrs, dtype=torch.float64)}
    if config["scheduler"] == "OneCycleLR":
        tensors["momentum"] = torch.tensor(moms, dtype=torch.float64)
    if metrics is not None:
        tensors["metrics"] = metrics
    config = dict(config, optimizer=kind, group_lrs=[0.1, 0.05])
    save("schedules", name, tensors, config, SCRIPT, dtype="F64")


def plateau_metrics():
    # falls, plateaus (with small wiggles below the threshold), falls again, plateaus
    m = []
    for t in range(100):
        if t < 15:
            v = 1.0 / (1 + t)
        elif t < 45:
            v = 1.0 / 15 + 1e-6 * math.sin(t)
        elif t < 60:
            v = 1.0 / 15 - 0.002 * (t - 44)
        else:
            v = 1.0 / 15 - 0.03 + 1e-3 * ((t * 7) % 5)
        m.append(v)
    return torch.tensor(m, dtype=torch.float64)


def schedules():
    S = torch.optim.lr_scheduler
    schedule_case("step", lambda o: S.StepLR(o, step_size=30, gamma=0.1),
                  {"scheduler": "StepLR", "step_size": 30, "gamma": 0.1})
    schedule_case("multistep", lambda o: S.MultiStepLR(o, milestones=[20, 50, 50, 80], gamma=0.5),
                  {"scheduler": "MultiStepLR", "milestones": [20, 50, 50, 80], "gamma": 0.5})
    schedule_case("exponential", lambda o: S.ExponentialLR(o, gamma=0.95),
                  {"scheduler": "ExponentialLR", "gamma": 0.95})
    schedule_case("cosine", lambda o: S.CosineAnnealingLR(o, T_max=100),
                  {"scheduler": "CosineAnnealingLR", "T_max": 100, "eta_min": 0.0})
    schedule_case("cosine_restart", lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.001),
                  {"scheduler": "CosineAnnealingLR", "T_max": 30, "eta_min": 0.001})
    schedule_case("linear_warmup", lambda o: S.LinearLR(o, start_factor=0.25, total_iters=10),
                  {"scheduler": "LinearLR", "start_factor": 0.25, "end_factor": 1.0, "total_iters": 10})
    schedule_case("linear_decay", lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=50),
                  {"scheduler": "LinearLR", "start_factor": 1.0, "end_factor": 0.1, "total_iters": 50})

    def warmup_cosine(o):
        warm = S.LinearLR(o, start_factor=0.1, total_iters=10)
        cos = S.CosineAnnealingLR(o, T_max=90)
        return S.SequentialLR(o, schedulers=[warm, cos], milestones=[10])
    schedule_case("sequential_warmup_cosine", warmup_cosine,
                  {"scheduler": "SequentialLR", "warmup_start_factor": 0.1, "warmup_iters": 10, "T_max": 90, "milestones": [10]})
    schedule_case("onecycle_cos", lambda o: S.OneCycleLR(o, max_lr=[0.5, 0.25], total_steps=100),
                  {"scheduler": "OneCycleLR", "max_lr": [0.5, 0.25], "total_steps": 100, "anneal_strategy": "cos",
                   "three_phase": False, "pct_start": 0.3, "cycle_momentum": True})
    schedule_case("onecycle_linear_three_phase",
                  lambda o: S.OneCycleLR(o, max_lr=0.4, total_steps=100, anneal_strategy="linear", three_phase=True,
                                         pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
                  {"scheduler": "OneCycleLR", "max_lr": [0.4], "total_steps": 100, "anneal_strategy": "linear",
                   "three_phase": True, "pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0, "cycle_momentum": True})
    schedule_case("onecycle_adam", lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=100, pct_start=0.35,
                                                          base_momentum=0.8, max_momentum=0.9),
                  {"scheduler": "OneCycleLR", "max_lr": [0.01], "total_steps": 100, "anneal_strategy": "cos",
                   "three_phase": False, "pct_start": 0.35, "base_momentum": 0.8, "max_momentum": 0.9, "cycle_momentum": True},
                  kind="adam")
    schedule_case("onecycle_no_momentum", lambda o: S.OneCycleLR(o, max_lr=0.3, total_steps=120, cycle_momentum=False),
                  {"scheduler": "OneCycleLR", "max_lr": [0.3], "total_steps": 120, "anneal_strategy": "cos",
                   "three_phase": False, "pct_start": 0.3, "cycle_momentum": False})
    m = plateau_metrics()
    schedule_case("plateau_min_rel", lambda o: S.ReduceLROnPlateau(o, patience=3, cooldown=2, factor=0.5),
                  {"scheduler": "ReduceLROnPlateau", "mode": "min", "factor": 0.5, "patience": 3, "threshold": 1e-4,
                   "threshold_mode": "rel", "cooldown": 2, "min_lr": [0.0], "eps": 1e-8}, metrics=m)
    schedule_case("plateau_max_abs", lambda o: S.ReduceLROnPlateau(o, mode="max", threshold_mode="abs", threshold=0.01,
                                                                   patience=2, factor=0.3, min_lr=[0.01, 0.002]),
                  {"scheduler": "ReduceLROnPlateau", "mode": "max", "factor": 0.3, "patience": 2, "threshold": 0.01,
                   "threshold_mode": "abs", "cooldown": 0, "min_lr": [0.01, 0.002], "eps": 1e-8}, metrics=-m)


if __name__ == "__main__":
    for i, (name, (cls, kwargs)) in enumerate(OPTIMIZERS.items()):
        optimizer_case(name, cls, kwargs, seed=1000 + i)
    schedules()
