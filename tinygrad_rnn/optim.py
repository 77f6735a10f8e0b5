"""Optimizers (SGD, Adam, RMSprop) and gradient clipping, with PyTorch's rules, on plain arrays."""

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


def _hyper(who: str, name: str, value, low: float = 0.0, below: float | None = None,
           infinite: bool = False) -> float:
    """A hyperparameter as a float: a real number, finite (or +inf when `infinite`), >= low
    (and < below when given)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{who}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    bad_inf = math.isinf(value) and not (infinite and value > 0)
    if math.isnan(value) or bad_inf or value < low or (below is not None and value >= below):
        bound = f"in [{low:g}, {below:g})" if below is not None else f"a finite number >= {low:g}"
        raise ValueError(f"{who}: invalid {name} {value!r}; it must be {bound}")
    return value


class Optimizer:
    """Holds the parameters; `zero_grad()` sets their gradients to None.

    `state_dict()` / `load_state_dict()` carry the hyperparameters (`_hypers`) and the
    per-parameter buffers (`_buffers`) as plain values and arrays, for `tinygrad_rnn.save`.
    """

    _hypers: tuple = ("lr",)
    _buffers: tuple = ()

    def __init__(self, params, lr: float):
        who = type(self).__name__
        self.params = _param_list(params, who)
        if not self.params:
            raise ValueError(f"{who}: got an empty parameter list")
        seen = set()
        for k, p in enumerate(self.params):
            if p.id in seen:
                raise ValueError(f"{who}: parameter {k} (shape {p.shape}"
                                 f"{', ' + repr(p.name) if p.name else ''}) is listed twice; "
                                 f"it would be updated twice per step")
            seen.add(p.id)
        self.lr = _hyper(who, "lr", lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """{"type", "hypers", "buffers"}: copies, so later steps do not change it."""
        buffers = {}
        for name in self._buffers:
            values = getattr(self, name)
            buffers[name] = [None if v is None else np.array(v) if isinstance(v, np.ndarray)
                             else v for v in values]
        return {"type": type(self).__name__,
                "hypers": {name: getattr(self, name) for name in self._hypers},
                "buffers": buffers}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() returned (for the same parameters, in the same order)."""
        who = type(self).__name__
        if not isinstance(state, dict) or not {"type", "hypers", "buffers"} <= set(state):
            raise TypeError(f"{who}.load_state_dict: expected the dict an optimizer's "
                            f"state_dict() returns, got {type(state).__name__}")
        if state["type"] != who:
            raise ValueError(f"{who}.load_state_dict: the state is a {state['type']}'s")
        buffers = state["buffers"]
        for name in self._buffers:
            values = buffers.get(name) if isinstance(buffers, dict) else None
            if not isinstance(values, (list, tuple)) or len(values) != len(self.params):
                raise ValueError(f"{who}.load_state_dict: buffer {name!r} must hold one entry "
                                 f"per parameter ({len(self.params)}), got "
                                 f"{None if values is None else len(values)}")
            for k, (value, p) in enumerate(zip(values, self.params)):
                if isinstance(value, np.ndarray) and value.shape != p.shape:
                    raise ValueError(f"{who}.load_state_dict: buffer {name!r} of parameter {k} "
                                     f"has shape {value.shape}, the parameter {p.shape}")
        for name, value in state["hypers"].items():
            if name in self._hypers:
                setattr(self, name, tuple(value) if isinstance(value, list) else value)
        for name in self._buffers:
            setattr(self, name, [np.array(v) if isinstance(v, np.ndarray) else v
                                 for v in buffers[name]])


class SGD(Optimizer):
    """p -= lr * v, v = momentum * v + (g + weight_decay * p) (PyTorch's SGD, no dampening)."""

    _hypers = ("lr", "momentum", "weight_decay")
    _buffers = ("velocity",)

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = _hyper("SGD", "momentum", momentum)
        self.weight_decay = _hyper("SGD", "weight_decay", weight_decay)
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
            p.data = p.data - (self.lr * g).astype(p.data.dtype, copy=False)  # a new array:
            p._version += 1  # what an op saved stays as it saw it (backward checks identity)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with PyTorch's bias correction and L2 weight decay."""

    _hypers = ("lr", "betas", "eps", "weight_decay")
    _buffers = ("m", "v", "steps")

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_hyper("Adam", "beta1 (betas[0])", betas[0], 0.0, 1.0),
                      _hyper("Adam", "beta2 (betas[1])", betas[1], 0.0, 1.0))
        self.eps = _hyper("Adam", "eps", eps)
        self.weight_decay = _hyper("Adam", "weight_decay", weight_decay)
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
            p.data = p.data - (step_size * self.m[k] / denom).astype(p.data.dtype, copy=False)
            p._version += 1


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e) with PyTorch's update rule: divide the gradient by a running
    RMS of recent gradients, sqrt(v) + eps, v = alpha v + (1 - alpha) g^2.

    centered=True subtracts the squared running mean of g from v (Graves 2013); momentum > 0
    keeps a buffer b = momentum b + g / (sqrt(v) + eps) and steps by lr b.
    """

    _hypers = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")
    _buffers = ("square_avg", "grad_avg", "buffer")

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, lr)
        for name, value in (("alpha", alpha), ("eps", eps), ("weight_decay", weight_decay),
                            ("momentum", momentum)):
            if not value >= 0:  # also refuses nan
                raise ValueError(f"RMSprop: {name} must be >= 0, got {value!r}")
        self.alpha, self.eps, self.weight_decay = alpha, eps, weight_decay
        self.momentum, self.centered = momentum, bool(centered)
        self.square_avg = [np.zeros_like(p.data) for p in self.params]
        n = len(self.params)
        self.grad_avg = [np.zeros_like(p.data) for p in self.params] if centered else [None] * n
        self.buffer = [np.zeros_like(p.data) for p in self.params] if momentum else [None] * n

    def step(self) -> None:
        alpha = self.alpha
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            self.square_avg[k] = alpha * self.square_avg[k] + (1 - alpha) * (g * g)
            if self.centered:
                self.grad_avg[k] = alpha * self.grad_avg[k] + (1 - alpha) * g
                avg = np.sqrt(self.square_avg[k] - self.grad_avg[k] ** 2) + self.eps
            else:
                avg = np.sqrt(self.square_avg[k]) + self.eps
            if self.momentum:
                self.buffer[k] = self.momentum * self.buffer[k] + g / avg
                update = self.lr * self.buffer[k]
            else:
                update = self.lr * g / avg
            p.data = p.data - update.astype(p.data.dtype, copy=False)  # a new array, as SGD
            p._version += 1


def clip_grad_norm_(params, max_norm: float) -> float:
    """Scale all gradients by max_norm / (norm + 1e-6) when their joint L2 norm exceeds max_norm.

    Returns the total norm before clipping (as PyTorch).
    """
    params = [p for p in _param_list(params, "clip_grad_norm_") if p.grad is not None]
    max_norm = _hyper("clip_grad_norm_", "max_norm", max_norm, infinite=True)
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
    clip_value = _hyper("clip_grad_value_", "clip_value", clip_value, infinite=True)
    if not clip_value > 0:
        raise ValueError(f"clip_grad_value_: clip_value must be > 0, got {clip_value!r}")
    for p in _param_list(params, "clip_grad_value_"):
        if p.grad is not None:
            p.grad = np.clip(p.grad, -clip_value, clip_value)
