"""gradcheck: backward's gradients against central differences, in float64."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytical gradient disagrees with the numerical one; names input, index, both values."""


def _scalar(fn: Callable, inputs: tuple, projection) -> float:
    out = fn(*inputs)
    data = out.data if isinstance(out, Tensor) else np.asarray(out)
    return float(data.sum()) if projection is None else float((data * projection).sum())


def gradcheck(fn: Callable, *inputs, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3) -> bool:
    """Check fn's gradients with respect to every input that requires grad.

    fn(*inputs) -> Tensor. A non-scalar output is reduced by a fixed random projection.
    Returns True or raises GradcheckError.
    """
    for name, value in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                or not np.isfinite(value) or value < 0 or (name == "eps" and value == 0):
            bound = "> 0" if name == "eps" else ">= 0"
            raise ValueError(f"gradcheck: {name} must be a finite number {bound}, got {value!r}")
    checked = [(i, x) for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i, x in checked:
        if x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {x.dtype}; gradcheck needs float64 "
                            f"inputs (float32 central differences are too coarse to trust)")
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    projection = None
    if out.size != 1:
        projection = np.random.default_rng(12345).standard_normal(out.shape)
    saved = [x.grad for _, x in checked]
    for _, x in checked:
        x.grad = None
    try:
        if out.requires_grad:
            out.backward(np.ones_like(out.data) if projection is None else projection)
        analytic = [x.grad if x.grad is not None else np.zeros_like(x.data) for _, x in checked]
    finally:
        for (_, x), grad in zip(checked, saved):
            x.grad = grad
    with no_grad():
        for (i, x), grad in zip(checked, analytic):
            if not x.data.flags.c_contiguous or not x.data.flags.writeable:
                x.data = np.array(x.data, order="C")
            flat = x.data.reshape(-1)  # a view: perturb in place, then restore
            for k in range(flat.size):
                original = flat[k]
                try:
                    flat[k] = original + eps
                    plus = _scalar(fn, inputs, projection)
                    flat[k] = original - eps
                    minus = _scalar(fn, inputs, projection)
                finally:  # the caller's input comes back unperturbed even if fn raises
                    flat[k] = original
                numeric = (plus - minus) / (2 * eps)
                value = float(grad.reshape(-1)[k])
                if not abs(value - numeric) <= atol + rtol * abs(numeric):
                    index = np.unravel_index(k, x.shape) if x.ndim else ()
                    raise GradcheckError(f"gradcheck: input {i} (shape {x.shape}), element "
                                         f"{tuple(int(n) for n in index)}: backward gives "
                                         f"{value:.10g}, central differences give {numeric:.10g}")
    return True
