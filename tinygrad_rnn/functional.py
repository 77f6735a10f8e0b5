"""Composite functions and losses from the op table (cross-entropy fused for stability)."""

from __future__ import annotations

import numpy as np

from . import ops
from .autograd import ShapeError
from .tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _as_tensor(x, like: Tensor) -> Tensor:
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x)
    return Tensor(array.astype(like.dtype) if array.dtype.kind == "f" else array)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum exp(x) along axis, computed stably. Shapes: any -> same."""
    return x.softmax(axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along axis, computed stably. Shapes: any -> same."""
    return x.log_softmax(axis)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight^T (+ bias), recorded as one "linear" node with parents x, weight (and bias).

    The same numbers as `x @ weight.T + bias` (three nodes); what nn.Linear and the cells use.
    Shapes: x (..., in), weight (out, in), bias (out,) -> (..., out).
    """
    for what, value in (("x", x), ("weight", weight)) + ((("bias", bias),) if bias is not None
                                                           else ()):
        if not isinstance(value, Tensor):
            raise TypeError(f"linear: {what} must be a Tensor, got {type(value).__name__}")
    if bias is None:
        return ops.Linear.apply(x, weight)
    return ops.Linear.apply(x, weight, bias)


def cross_entropy(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy with the class axis last: -log softmax(logits)[target].

    Shapes: logits (..., C), integer target (...) -> () or (...) with reduction="none".
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {_REDUCTIONS}, "
                         f"got {reduction!r}")
    if logits.dtype.kind != "f":
        raise TypeError(f"cross_entropy: logits must be floating point, got dtype {logits.dtype}")
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    if target.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must hold integer class indices, "
                        f"got dtype {target.dtype}")
    if logits.ndim < 1 or target.shape != logits.shape[:-1]:
        raise ShapeError(f"cross_entropy: logits {logits.shape} need target of shape "
                         f"{logits.shape[:-1]} (logits (..., C), target (...)), got {target.shape}")
    n_classes = logits.shape[-1]
    if target.size and (target.data.min() < 0 or target.data.max() >= n_classes):
        bad = target.data[(target.data < 0) | (target.data >= n_classes)].flat[0]
        raise ValueError(f"cross_entropy: target value {bad} is outside [0, {n_classes}) "
                         f"for logits with C={n_classes}")
    return ops.CrossEntropy.apply(logits, target, reduction=reduction)


def mse_loss(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (pred - target)^2. Shapes: pred and target equal."""
    target = _as_tensor(target, pred)
    if pred.shape != target.shape:
        raise ShapeError(f"mse_loss: pred {pred.shape} and target {target.shape} must have the "
                         f"same shape")
    diff = pred - target
    return _reduce(diff * diff, reduction, "mse_loss")


def binary_cross_entropy_with_logits(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """-[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] = softplus(x) - x y, stably.

    Shapes: logits and target equal.
    """
    target = _as_tensor(target, logits)
    if logits.shape != target.shape:
        raise ShapeError(f"binary_cross_entropy_with_logits: logits {logits.shape} and target "
                         f"{target.shape} must have the same shape")
    return _reduce(logits.softplus() - logits * target, reduction,
                   "binary_cross_entropy_with_logits")


def cosine_similarity(a, b, axis: int = -1, eps: float = 1e-8) -> Tensor:
    """sum(a b) / (max(|a|, eps) max(|b|, eps)) along axis, PyTorch's formula (each vector
    divided by its own clamped norm first, so the result stays in [-1, 1]).

    Shapes: a and b broadcast together; the result drops `axis`. Where a norm is below eps the
    gradient is that of the clamped formula (exact; PyTorch's differs there).
    """
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"cosine_similarity: shapes {a.shape} and {b.shape} do not "
                         f"broadcast together") from None
    if not isinstance(axis, (int, np.integer)) or not -len(shape) <= axis < len(shape):
        raise ShapeError(f"cosine_similarity: axis {axis!r} is out of range for the broadcast "
                         f"shape {shape} of {a.shape} and {b.shape}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)) \
            or not eps >= 0:
        raise ValueError(f"cosine_similarity: eps must be a number >= 0, got {eps!r}")
    axis = int(axis) % len(shape) - len(shape)  # negative: the same axis in a, b and the result
    # PyTorch takes the norms after broadcasting: an operand stretched along axis counts every
    # copy. Stretching along the other axes changes no norm, so it is left to the product.
    if a.ndim < -axis or a.shape[axis] != shape[axis]:
        a = a + np.zeros(shape, a.dtype)
    if b.ndim < -axis or b.shape[axis] != shape[axis]:
        b = b + np.zeros(shape, b.dtype)
    a_norm = a.norm(2, axis=axis, keepdims=True).clamp(min=eps)
    b_norm = b.norm(2, axis=axis, keepdims=True).clamp(min=eps)
    return ((a / a_norm) * (b / b_norm)).sum(axis=axis)
