"""Optimizers (SGD, Adam) and gradient clipping, with PyTorch's update rules, on plain arrays."""

from __future__ import annotations

import math

import numpy as np

from .tensor import Tensor


def _param_list(params, who: str) -> list:
    params = [params] if isinstance(params, Tensor) else list(params)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: expected Tensors/Parameters, got {type(p).__name__}")
    return params


class Optimizer:
    """Holds the parameters; `zero_grad()` sets their gradients to None."""

    def __init__(self, params, lr: float):
        self.params = _param_list(params, type(self).__name__)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not lr >= 0:
            raise ValueError(f"{type(self).__name__}: lr must be >= 0, got {lr!r}")
        self.lr = lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """p -= lr * v, v = momentum * v + (g + weight_decay * p) (PyTorch's SGD, no dampening)."""

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be >= 0, got {momentum}, "
                             f"{weight_decay}")
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = [None] * len(self.params)

    def step(self) -> None:
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                v = self.velocity[k]
                g = np.array(g) if v is None else self.momentum * v + g
                self.velocity[k] = g
            p.data -= (self.lr * g).astype(p.data.dtype, copy=False)
            p._version += 1


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with PyTorch's bias correction and L2 weight decay."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.steps = [0] * len(self.params)

    def step(self) -> None:
        beta1, beta2 = self.betas
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            self.steps[k] += 1
            t = self.steps[k]
            self.m[k] = beta1 * self.m[k] + (1 - beta1) * g
            self.v[k] = beta2 * self.v[k] + (1 - beta2) * (g * g)
            step_size = self.lr / (1 - beta1 ** t)
            denom = np.sqrt(self.v[k]) / math.sqrt(1 - beta2 ** t) + self.eps
            p.data -= (step_size * self.m[k] / denom).astype(p.data.dtype, copy=False)
            p._version += 1


def clip_grad_norm_(params, max_norm: float) -> float:
    """Scale all gradients by max_norm / (norm + 1e-6) when their joint L2 norm exceeds max_norm.

    Returns the total norm before clipping (as PyTorch).
    """
    params = [p for p in _param_list(params, "clip_grad_norm_") if p.grad is not None]
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be > 0, got {max_norm!r}")
    total = math.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64))) for p in params))
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in params:
            p.grad = (p.grad * coef).astype(p.grad.dtype, copy=False)
    return total


def clip_grad_value_(params, clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value]."""
    if not clip_value > 0:
        raise ValueError(f"clip_grad_value_: clip_value must be > 0, got {clip_value!r}")
    for p in _param_list(params, "clip_grad_value_"):
        if p.grad is not None:
            p.grad = np.clip(p.grad, -clip_value, clip_value)
