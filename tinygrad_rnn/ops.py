"""The op table: every primitive's forward and its vector-Jacobian product, side by side.

Read it as the chapter's calculus. `forward` takes numpy arrays and may save what `backward`
needs on `self`; `backward(grad)` returns one gradient per input (None where an input has no
gradient, or does not need one: `self.needs[i]` is False). Backward is plain numpy and records
nothing. Settings (axis, shape, ...) arrive as keyword arguments and stay in `self.args`,
where the explorer reads them as `Tensor.op_args`.
"""

from __future__ import annotations

import numpy as np

from .autograd import SliceGrad, ShapeError

OPS: dict = {}  # op name -> Op class, filled as the classes below are declared


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` over the axes numpy broadcasting added or stretched, back to `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def normalize_axis(axis, shape: tuple, op: str):
    """None, an int or a tuple of ints -> None or a sorted tuple of non-negative axes."""
    if axis is None:
        return None
    ndim = len(shape)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -max(ndim, 1) <= a < max(ndim, 1):
            raise ShapeError(f"{op}: axis {a!r} is out of range for a tensor of shape "
                             f"{shape}")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {axis!r} (shape {shape})")
    # a 0-d tensor's axis 0 (or -1) is the tensor itself, as PyTorch: nothing to reduce
    return tuple(sorted(out)) if ndim else ()


def _expand_reduced(grad: np.ndarray, axes, keepdims: bool, shape: tuple) -> np.ndarray:
    """Undo a reduction's shape change: put the reduced axes back as size-1 axes."""
    if axes is None:
        return grad.reshape((1,) * len(shape))
    if not keepdims:
        grad = np.expand_dims(grad, axes)
    return grad


class Op:
    """One primitive. Subclassing registers it in OPS under its lowercase name."""

    name: str = ""
    args: dict = {}
    needs: tuple = ()
    released = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:  # apply_op skips __init__ for an op called without settings
            raise TypeError(f"op {cls.__name__}: settings arrive as keyword arguments (kept in "
                            f"self.args); an op defines no __init__")
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__.lower()
        OPS[cls.name] = cls

    def __init__(self, **args):
        if args:
            self.args = args
            self.__dict__.update(args)

    def release(self) -> None:
        """Free the arrays saved for backward; the settings stay for the explorer."""
        saved = self.__dict__
        args = saved.get("args")
        saved.clear()
        if args is not None:
            saved["args"] = args
        saved["released"] = True

    @classmethod
    def apply(cls, *inputs, **args):
        """Run the op on Tensors (or constants) and record the result's node."""
        return _tensor.apply_op(cls, inputs, args)

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError


# ----------------------------------------------------------------------------- elementwise, binary


class Add(Op):
    """out = x + y."""

    def forward(self, x, y):
        self.shapes = (x.shape, y.shape)
        return x + y

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])


class Sub(Op):
    """out = x - y."""

    def forward(self, x, y):
        self.shapes = (x.shape, y.shape)
        return x - y

    def backward(self, grad):
        gy = unbroadcast(-grad, self.shapes[1]) if self.needs[1] else None
        return unbroadcast(grad, self.shapes[0]), gy


class Mul(Op):
    """out = x * y; d/dx = y, d/dy = x."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, grad):
        x, y = self.x, self.y
        gx = unbroadcast(grad * y, x.shape) if self.needs[0] else None
        gy = unbroadcast(grad * x, y.shape) if self.needs[1] else None
        return gx, gy


class Div(Op):
    """out = x / y; d/dx = 1/y, d/dy = -x/y^2 = -out/y."""

    def forward(self, x, y):
        self.y = y
        self.out = x / y
        self.x_shape = x.shape
        return self.out

    def backward(self, grad):
        g_over_y = grad / self.y
        gx = unbroadcast(g_over_y, self.x_shape) if self.needs[0] else None
        gy = unbroadcast(-g_over_y * self.out, self.y.shape) if self.needs[1] else None
        return gx, gy


class Pow(Op):
    """out = x ** y; d/dx = y x^(y-1), d/dy = out log x."""

    def forward(self, x, y):
        self.x, self.y = x, y
        self.out = x ** y
        return self.out

    def backward(self, grad):
        x, y = self.x, self.y
        gx = gy = None
        if self.needs[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                local = y * x ** (y - 1)
            # x ** 0 is constant: a zero gradient even at x = 0 (where 0 * inf would give nan)
            gx = unbroadcast(grad * np.where(y == 0, 0, local), x.shape)
        if self.needs[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_x = np.where(x > 0, np.log(np.where(x > 0, x, 1)), np.nan)
            # 0 ** y is flat in y for y >= 0: a zero gradient there, as PyTorch gives, not nan
            log_x = np.where((x == 0) & (y >= 0), 0.0, log_x)
            gy = unbroadcast(grad * self.out * log_x, y.shape)
        return gx, gy


class Maximum(Op):
    """out = max(x, y) elementwise; a tie sends half the gradient to each side (as PyTorch)."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return np.maximum(x, y)

    def backward(self, grad):
        x, y = self.x, self.y
        share_x = (x > y) + 0.5 * (x == y)
        gx = unbroadcast(grad * share_x, x.shape) if self.needs[0] else None
        gy = unbroadcast(grad * (1.0 - share_x), y.shape) if self.needs[1] else None
        return gx, gy


class Where(Op):
    """out = a where cond else b; the gradient goes to the side that was picked."""

    def forward(self, cond, a, b):
        self.cond = cond.astype(bool)
        self.shapes = (a.shape, b.shape)
        return np.where(self.cond, a, b)

    def backward(self, grad):
        zero = np.zeros((), dtype=grad.dtype)
        ga = unbroadcast(np.where(self.cond, grad, zero), self.shapes[0]) if self.needs[1] else None
        gb = unbroadcast(np.where(self.cond, zero, grad), self.shapes[1]) if self.needs[2] else None
        return None, ga, gb


class MatMul(Op):
    """out = x @ y (1-D, 2-D and batched, as numpy); grads g @ y^T to x, x^T @ g to y."""

    def forward(self, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise ShapeError(f"matmul: both operands need at least 1 dim, "
                             f"got {x.shape} @ {y.shape}")
        inner_y = y.shape[0] if y.ndim == 1 else y.shape[-2]
        if x.shape[-1] != inner_y:
            raise ShapeError(f"matmul: inner dimensions differ, {x.shape} @ {y.shape} "
                             f"needs x.shape[-1] == y.shape[-2]")
        self.x, self.y = x, y
        if x.ndim > 2 and y.ndim == 2 and y.size:
            # (..., K) @ (K, N): one matmul over the leading axes folded into rows is ~2x
            # faster than numpy's loop over them (an output head over all steps at once);
            # an empty y (K or N is 0) makes reshape(-1, ...) ambiguous: numpy's path below
            return (x.reshape(-1, x.shape[-1]) @ y).reshape(x.shape[:-1] + y.shape[1:])
        return x @ y

    def backward(self, grad):
        x, y = self.x, self.y
        if x.ndim == 2 and y.ndim == 2:
            gx = grad @ y.T if self.needs[0] else None
            gy = x.T @ grad if self.needs[1] else None
            return gx, gy
        if x.ndim > 2 and y.ndim == 2 and y.size:
            # the same folding: y's gradient sums x^T g over every leading index at once
            gx = grad @ y.T if self.needs[0] else None
            gy = x.reshape(-1, x.shape[-1]).T @ grad.reshape(-1, grad.shape[-1]) \
                if self.needs[1] else None
            return gx, gy
        # promote 1-D operands as numpy does, then undo the promotion on the way back
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g2 = grad
        if y.ndim == 1:  # first, so that 1-D @ 1-D's 0-d gradient becomes (1, 1)
            g2 = np.expand_dims(g2, -1)
        if x.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        gx = gy = None
        if self.needs[0]:
            gx = g2 @ np.swapaxes(y2, -1, -2)
            if x.ndim == 1:
                gx = gx[..., 0, :]
            gx = unbroadcast(gx, x.shape)
        if self.needs[1]:
            gy = np.swapaxes(x2, -1, -2) @ g2
            if y.ndim == 1:
                gy = gy[..., 0]
            gy = unbroadcast(gy, y.shape)
        return gx, gy


# ------------------------------------------------------------------------------ elementwise, unary


class Neg(Op):
    """out = -x."""

    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)


class Exp(Op):
    """out = e^x; d/dx = out."""

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Op):
    """out = log x; d/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, grad):
        return (grad / self.x,)


class Tanh(Op):
    """out = tanh(x); d/dx = 1 - out^2."""

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad):
        return (grad * (1 - self.out * self.out),)


class Sigmoid(Op):
    """out = 1 / (1 + e^-x); d/dx = out (1 - out)."""

    def forward(self, x):
        # for very negative x, e^-x overflows to inf and 1 / (1 + inf) = 0 is the right limit;
        # this is half the work of a branch on the sign (measured in bench/)
        with np.errstate(over="ignore"):
            self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, grad):
        out = self.out
        return (grad * out * (1 - out),)


class ReLU(Op):
    """out = max(x, 0); d/dx = 1 where x > 0, else 0 (0 at the kink, as PyTorch)."""

    name = "relu"

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad):
        return (grad * self.mask,)


class Sqrt(Op):
    """out = sqrt(x); d/dx = 1 / (2 out)."""

    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


class Abs(Op):
    """out = |x|; d/dx = sign(x) (0 at the kink, as PyTorch)."""

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, grad):
        return (grad * np.sign(self.x),)


class Softplus(Op):
    """out = log(1 + e^x), without overflow; d/dx = sigmoid(x)."""

    def forward(self, x):
        self.x = x
        return np.logaddexp(0, x).astype(x.dtype, copy=False)

    def backward(self, grad):
        e = np.exp(-np.abs(self.x))
        return (grad * (np.where(self.x >= 0, 1, e) / (1 + e)),)


# ------------------------------------------------------------------------------------ reductions


class Sum(Op):
    """out = sum of x over axis; every summed element gets the gradient unchanged."""

    def forward(self, x):
        self.axes = normalize_axis(self.args.get("axis"), x.shape, "sum")
        self.x_shape = x.shape
        return np.asarray(x.sum(axis=self.axes, keepdims=self.args.get("keepdims", False)))

    def backward(self, grad):
        g = _expand_reduced(grad, self.axes, self.args.get("keepdims", False), self.x_shape)
        return (np.broadcast_to(g, self.x_shape),)


class Mean(Op):
    """out = mean of x over axis; each element gets grad / (number averaged)."""

    def forward(self, x):
        self.axes = normalize_axis(self.args.get("axis"), x.shape, "mean")
        self.x_shape = x.shape
        out = np.asarray(x.mean(axis=self.axes, keepdims=self.args.get("keepdims", False)))
        self.count = x.size // max(out.size, 1) if x.size else 0
        return out

    def backward(self, grad):
        g = _expand_reduced(grad, self.axes, self.args.get("keepdims", False), self.x_shape)
        return (np.broadcast_to(g / self.count, self.x_shape),)


class Max(Op):
    """out = max of x over axis; tied maxima share the gradient evenly."""

    def forward(self, x):
        self.axes = normalize_axis(self.args.get("axis"), x.shape, "max")
        reduced = range(x.ndim) if self.axes is None else self.axes
        if x.size == 0 and any(x.shape[a] == 0 for a in reduced):
            # an empty result (another axis empty) is fine, as in numpy and PyTorch
            raise ShapeError(f"max: cannot reduce over an empty axis (input shape {x.shape}, "
                             f"axis {self.args.get('axis')!r})")
        self.x = x
        self.out = np.asarray(x.max(axis=self.axes, keepdims=True))
        keepdims = self.args.get("keepdims", False)
        if keepdims:
            return self.out
        return self.out.reshape(()) if self.axes is None else np.squeeze(self.out, self.axes)

    def backward(self, grad):
        g = _expand_reduced(grad, self.axes, self.args.get("keepdims", False), self.x.shape)
        mask = self.x == self.out
        return (g * mask / mask.sum(axis=self.axes, keepdims=True),)


# ---------------------------------------------------------------------------------- shape, index


class Reshape(Op):
    """out = x viewed with another shape; the gradient is reshaped back."""

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.args["shape"])

    def backward(self, grad):
        return (grad.reshape(self.x_shape),)


class Transpose(Op):
    """out = x with its axes permuted; the gradient is permuted back."""

    def forward(self, x):
        axes = self.args["axes"]
        self.inverse = None if axes is None else tuple(np.argsort(axes))
        return np.transpose(x, axes)

    def backward(self, grad):
        return (np.transpose(grad, self.inverse),)


class GetItem(Op):
    """out = x[index] (basic slicing or integer arrays); the gradient is scattered back."""

    name = "getitem"

    def forward(self, x):
        self.x_shape = x.shape
        index = self.args["index"]
        if type(index) is tuple:
            self.advanced = any([type(item) is np.ndarray for item in index])
        else:
            self.advanced = type(index) is np.ndarray
        return x[index]

    def backward(self, grad):
        return (SliceGrad(self.args["index"], grad, self.x_shape, self.advanced),)


class Cat(Op):
    """out = the inputs joined along an existing axis; each gets its slice of the gradient."""

    def forward(self, *xs):
        axis = self.args["axis"]
        self.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    def backward(self, grad):
        return tuple(np.split(grad, self.bounds, axis=self.args["axis"]))


class Stack(Op):
    """out = the inputs stacked along a new axis; each gets its slice of the gradient."""

    def forward(self, *xs):
        return np.stack(xs, axis=self.args["axis"])

    def backward(self, grad):
        axis = self.args["axis"] % grad.ndim
        lead = (slice(None),) * axis
        return tuple(grad[lead + (i,)] for i in range(grad.shape[axis]))


# ------------------------------------------------------------------------- fused, for stability


class Softmax(Op):
    """out = e^(x - max) / sum e^(x - max) along axis; d/dx = out * (g - sum(g * out))."""

    def forward(self, x):
        axis = self.args["axis"]
        if x.size == 0:  # e.g. the rows a mask picked when it picked none: nothing to normalise
            self.out = x.copy()
            return self.out
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        self.out = e / e.sum(axis=axis, keepdims=True)
        return self.out

    def backward(self, grad):
        out = self.out
        return (out * (grad - (grad * out).sum(axis=self.args["axis"], keepdims=True)),)


class LogSoftmax(Op):
    """out = x - logsumexp(x) along axis; d/dx = g - softmax(x) * sum(g)."""

    name = "log_softmax"

    def forward(self, x):
        axis = self.args["axis"]
        if x.size == 0:  # as in Softmax: an empty input has nothing to normalise
            self.out = x.copy()
            return self.out
        shifted = x - x.max(axis=axis, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return self.out

    def backward(self, grad):
        softmax = np.exp(self.out)
        return (grad - softmax * grad.sum(axis=self.args["axis"], keepdims=True),)


class CrossEntropy(Op):
    """out = -log softmax(logits)[target], class axis last; d/dlogits = softmax - onehot.

    Shapes: logits (..., C), integer target (...) -> () for "mean"/"sum", (...) for "none".
    """

    name = "cross_entropy"

    def forward(self, logits, target):
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        self.log_probs = shifted - log_z
        self.target = target
        picked = np.take_along_axis(self.log_probs, target[..., None], axis=-1)[..., 0]
        reduction = self.args["reduction"]
        if reduction == "none":
            return -picked
        total = -picked.sum()
        if reduction == "sum":
            return np.asarray(total, dtype=logits.dtype)
        # the mean of no targets is nan, as PyTorch and Tensor.mean() give
        return np.asarray(total / target.size if target.size else np.nan, dtype=logits.dtype)

    def backward(self, grad):
        probs = np.exp(self.log_probs)
        np.put_along_axis(probs, self.target[..., None],
                          np.take_along_axis(probs, self.target[..., None], axis=-1) - 1, axis=-1)
        reduction = self.args["reduction"]
        if reduction == "none":
            return probs * grad[..., None], None
        scale = grad / max(self.target.size, 1) if reduction == "mean" else grad
        return probs * scale, None


# ------------------------------------------------------------------------ comparisons (no grad)


class _Compare(Op):
    """A comparison: a boolean result with no gradient."""

    def backward(self, grad):
        return None, None


class Eq(_Compare):
    def forward(self, x, y):
        return x == y


class Ne(_Compare):
    def forward(self, x, y):
        return x != y


class Lt(_Compare):
    def forward(self, x, y):
        return x < y


class Le(_Compare):
    def forward(self, x, y):
        return x <= y


class Gt(_Compare):
    def forward(self, x, y):
        return x > y


class Ge(_Compare):
    def forward(self, x, y):
        return x >= y


del OPS["_compare"]

# Late import, at the bottom: Tensor builds on this table, and Op.apply records through
# tensor.apply_op. A module attribute costs nothing per call, unlike an import inside apply.
from . import tensor as _tensor  # noqa: E402
