"""The op table: every primitive's forward and its vector-Jacobian product, side by side.

Read it as the chapter's calculus. `forward` takes numpy arrays and may save what `backward`
needs on `self`; `backward(grad)` returns one gradient per input (None where an input has no
gradient, or does not need one: `self.needs[i]` is False). Backward is plain numpy and records
nothing. Settings (axis, shape, ...) arrive as keyword arguments and stay in `self.args`,
where the explorer reads them as `Tensor.op_args`.
"""

from __future__ import annotations

import functools

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


# ------------------------------------------------------------------------ fused, for speed


class Linear(Op):
    """out = x @ Wᵀ (+ b): the affine map of a layer or a cell, one node instead of three.

    gx = g @ W, gW = gᵀ x (summed over x's leading axes), gb = g summed to b's shape; the same
    numbers as transpose, matmul and add recorded separately. Shapes: x (..., in), W (out, in),
    b (out,) -> (..., out).
    """

    def forward(self, x, w, b=None):
        if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
            raise ShapeError(f"linear: x {x.shape} @ weightᵀ needs weight of shape "
                             f"(out, {x.shape[-1] if x.ndim else '?'}), got weight {w.shape}")
        if b is not None and b.shape != (w.shape[0],):
            raise ShapeError(f"linear: bias has shape {b.shape}; expected ({w.shape[0]},) for "
                             f"weight {w.shape}")
        self.x, self.w = x, w
        if x.ndim > 2 and w.size:  # leading axes folded into rows: one gemm, as MatMul does
            out = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(x.shape[:-1] + w.shape[:1])
        else:
            out = x @ w.T
        if b is None:
            return out
        self.b_shape = b.shape
        if type(out) is np.ndarray and out.dtype == np.result_type(out, b):
            out += b  # a fresh array from the matmul: adding in place saves a temporary
            return out
        return out + b

    def backward(self, grad):
        x, w = self.x, self.w
        gx = grad @ w if self.needs[0] else None
        gw = None
        if self.needs[1]:
            if x.ndim == 2:
                gw = (x.T @ grad).T
            elif x.ndim == 1:
                gw = (x[:, None] @ grad[None, :]).T
            elif w.size:
                gw = (x.reshape(-1, x.shape[-1]).T @ grad.reshape(-1, grad.shape[-1])).T
            else:
                gw = np.zeros_like(w)
        gb = unbroadcast(grad, self.b_shape) if len(self.needs) > 2 and self.needs[2] else None
        return gx, gw, gb


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


# ---------------------------------------------- PyTorch vocabulary: reductions, clamp, roll, einsum


def _reduced_count(shape: tuple, axes) -> int:
    """How many input elements each output element of a reduction over `axes` combines."""
    if axes is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


def _squeeze_reduced(out: np.ndarray, axes, keepdims: bool) -> np.ndarray:
    """A reduction computed with keepdims=True, shaped as the caller asked."""
    if keepdims:
        return out
    return out.reshape(()) if axes is None else np.squeeze(out, axes)


def _refuse_empty(x: np.ndarray, axes, op: str, axis) -> None:
    """min and the inf-norm have no identity: an empty reduced axis has no answer (as PyTorch)."""
    if _reduced_count(x.shape, axes) == 0:
        raise ShapeError(f"{op}: cannot reduce over an empty axis (input shape {x.shape}, "
                         f"axis {axis!r}): there is no element to pick")


class Min(Op):
    """out = min of x over axis; tied minima share the gradient evenly (as max, and PyTorch)."""

    def forward(self, x):
        self.axes = normalize_axis(self.args.get("axis"), x.shape, "min")
        _refuse_empty(x, self.axes, "min", self.args.get("axis"))
        self.x = x
        self.out = np.asarray(x.min(axis=self.axes, keepdims=True))
        return _squeeze_reduced(self.out, self.axes, self.args.get("keepdims", False))

    def backward(self, grad):
        g = _expand_reduced(grad, self.axes, self.args.get("keepdims", False), self.x.shape)
        mask = self.x == self.out
        return (g * mask / mask.sum(axis=self.axes, keepdims=True, dtype=grad.dtype),)


class Prod(Op):
    """out = product of x over axis; gx_i = g times the product of the other elements.

    The product of the others is (product of those before i) * (product of those after i), two
    running products and no division, so the gradient is exact when x holds zeros.
    """

    def forward(self, x):
        self.axes = normalize_axis(self.args.get("axis"), x.shape, "prod")
        self.x = x
        return np.asarray(x.prod(axis=self.axes, keepdims=self.args.get("keepdims", False)))

    def backward(self, grad):
        x = self.x
        if x.size == 0:
            return (np.zeros_like(x),)
        axes = tuple(range(x.ndim)) if self.axes is None else self.axes
        kept = tuple(a for a in range(x.ndim) if a not in axes)
        perm = kept + axes  # reduced axes last, flattened into one of length n
        moved = np.transpose(x, perm)
        lead = moved.shape[:len(kept)]
        rows = moved.reshape(lead + (-1,))
        ones = np.ones(lead + (1,), dtype=rows.dtype)
        before = np.cumprod(np.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, rows[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        g = _expand_reduced(grad, self.axes, self.args.get("keepdims", False), x.shape)
        g = np.transpose(g, perm).reshape(lead + (1,))
        local = (g * before * after).reshape(moved.shape)
        return (np.transpose(local, np.argsort(perm)),)


def _deviations(x: np.ndarray, axes, correction, op: str) -> tuple:
    """x minus its mean over axes (kept as size-1 axes), and the degrees of freedom."""
    n = _reduced_count(x.shape, axes)
    dof = n - correction
    if not dof > 0:
        raise ShapeError(f"{op}: correction={correction} needs more than {correction} elements "
                         f"per reduction, got {n} (input shape {x.shape}, axis "
                         f"{'all' if axes is None else axes}); PyTorch would return nan")
    return x - x.mean(axis=axes, keepdims=True), dof


class Var(Op):
    """out = Σ (x - mean)^2 / (n - correction) over axis; gx = 2 g (x - mean) / (n - correction)."""

    def forward(self, x):
        self.axes = normalize_axis(self.args.get("axis"), x.shape, "var")
        self.dev, self.dof = _deviations(x, self.axes, self.args["correction"], "var")
        out = (self.dev * self.dev).sum(axis=self.axes, keepdims=True) / self.dof
        return _squeeze_reduced(np.asarray(out), self.axes, self.args.get("keepdims", False))

    def backward(self, grad):
        g = _expand_reduced(grad, self.axes, self.args.get("keepdims", False), self.dev.shape)
        return (g * self.dev * (2 / self.dof),)


class Std(Op):
    """out = sqrt(var(x)) over axis; gx = g (x - mean) / ((n - correction) out), 0 where out = 0.

    A fused op, not sqrt(var): where every element is equal, sqrt's derivative is infinite and
    var's zero, and PyTorch gives the gradient 0 there, not nan.
    """

    def forward(self, x):
        self.axes = normalize_axis(self.args.get("axis"), x.shape, "std")
        self.dev, self.dof = _deviations(x, self.axes, self.args["correction"], "std")
        self.out = np.sqrt((self.dev * self.dev).sum(axis=self.axes, keepdims=True) / self.dof)
        return _squeeze_reduced(np.asarray(self.out), self.axes, self.args.get("keepdims", False))

    def backward(self, grad):
        g = _expand_reduced(grad, self.axes, self.args.get("keepdims", False), self.dev.shape)
        safe = np.where(self.out == 0, 1, self.out)  # out = 0 only where x - mean = 0: grad 0
        return (g * self.dev / (self.dof * safe),)


class Norm(Op):
    """out = (sum |x|^p)^(1/p) over axis (p = 1, 2, inf = max |x|, or any p >= 1).

    gx = g sign(x) (|x| / out)^(p-1): g x / out for p = 2, g sign(x) for p = 1; for p = inf,
    g sign(x) split evenly among the tied largest |x|. Where out = 0 the gradient is 0, as
    PyTorch gives (the norm has no derivative at 0).
    """

    def forward(self, x):
        p = self.args["p"]
        self.axes = axes = normalize_axis(self.args.get("axis"), x.shape, "norm")
        self.x = x
        if p == 2:
            out = np.sqrt((x * x).sum(axis=axes, keepdims=True))
        elif p == 1:
            out = np.abs(x).sum(axis=axes, keepdims=True)
        elif p == np.inf:
            _refuse_empty(x, axes, "norm(p=inf)", self.args.get("axis"))
            out = np.abs(x).max(axis=axes, keepdims=True)
        else:
            out = (np.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
        self.out = np.asarray(out)
        return _squeeze_reduced(self.out, axes, self.args.get("keepdims", False))

    def backward(self, grad):
        p, x, out = self.args["p"], self.x, self.out
        g = _expand_reduced(grad, self.axes, self.args.get("keepdims", False), x.shape)
        if p == 1:
            return (g * np.sign(x),)
        if p == np.inf:
            mask = np.abs(x) == out
            share = mask / mask.sum(axis=self.axes, keepdims=True, dtype=grad.dtype)
            return (g * np.sign(x) * share,)
        safe = np.where(out == 0, 1, out)  # out = 0 only where x = 0: the gradient there is 0
        if p == 2:
            return (g * x / safe,)
        return (g * np.sign(x) * (np.abs(x) / safe) ** (p - 1),)


class Clamp(Op):
    """out = x limited to [min, max] (either bound may be absent); gx = g where min <= x <= max.

    The bounds are inclusive for the gradient too: at x = min or x = max it passes, as PyTorch.
    """

    def forward(self, x):
        self.x = x
        out = np.clip(x, self.args.get("min"), self.args.get("max"))
        if x.dtype.kind == "f":
            return out.astype(x.dtype, copy=False)  # a float64 bound never widens a float32 x
        return out

    def backward(self, grad):
        x, low, high = self.x, self.args.get("min"), self.args.get("max")
        if low is None:
            return (grad * (x <= high),)
        if high is None:
            return (grad * (x >= low),)
        return (grad * ((x >= low) & (x <= high)),)


class Roll(Op):
    """out = x shifted circularly by `shift` along `axis` (the flattened x when axis is None);
    gx = g shifted back by -shift."""

    def forward(self, x):
        return np.roll(x, self.args["shift"], self.args.get("axis"))

    def backward(self, grad):
        shift = self.args["shift"]
        back = tuple(-s for s in shift) if type(shift) is tuple else -shift
        return (np.roll(grad, back, self.args.get("axis")),)


class Sign(Op):
    """out = sign(x), -1, 0 or 1; gx = 0: the steps are flat (0 at the jump too, as PyTorch)."""

    def forward(self, x):
        return np.sign(x)

    def backward(self, grad):
        return (np.zeros_like(grad),)


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_terms(spec: str, count: int) -> tuple:
    """Split a spec into its input terms and its output term (None without '->'); syntax only."""
    if not isinstance(spec, str):
        raise TypeError(f"einsum: spec must be a string like 'ij,jk->ik', got "
                        f"{type(spec).__name__}")
    text = "".join(spec.split())
    bad = "".join(sorted(set(text.replace("->", "")) - set(_EINSUM_LETTERS + ",.")))
    if bad or text.count("->") > 1:
        found = f"found {bad!r}" if bad else "found more than one '->'"
        raise ValueError(f"einsum: spec {spec!r} may hold letters, ',', '...' and one '->' "
                         f"only; {found}")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != count:
        raise ValueError(f"einsum: spec {spec!r} names {len(terms)} operand(s), got {count} "
                         f"tensor(s)")
    for term in terms + ([rhs] if arrow else []):
        if term.replace("...", "", 1).count(".") or term.count("...") > 1:
            raise ValueError(f"einsum: term {term!r} of spec {spec!r}: '.' only as one '...'")
    return terms, (rhs if arrow else None)


@functools.lru_cache(maxsize=512)
def einsum_plan(spec: str, shapes: tuple) -> tuple:
    """Read an einsum spec against the operands' shapes: (input terms, output term, sizes).

    Every term comes back as plain letters: '...' becomes letters the spec does not use,
    aligned to the right as numpy aligns broadcast axes. Without '->' the output is the
    ellipsis then the letters used exactly once, in alphabetical order (numpy's and PyTorch's
    rule). A letter must have the same size in every operand (no size-1 broadcasting).
    """
    terms, output = _einsum_terms(spec, len(shapes))
    spare = [c for c in _EINSUM_LETTERS if c not in spec]
    named = [len(term.replace("...", "")) for term in terms]
    extra = []
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        extra.append(len(shape) - named[k])
        if extra[k] < 0 or (extra[k] and "..." not in term):
            raise ShapeError(f"einsum: operand {k} has shape {shape} ({len(shape)} dims) but its "
                             f"term {term!r} names {named[k]}" + ("" if "..." in term else
                                                                 " (use '...' for the rest)"))
    ellipsis = "".join(spare[:max(extra, default=0)])
    inputs = tuple(term.replace("...", ellipsis[len(ellipsis) - e:]) for term, e in
                   zip(terms, extra))
    sizes: dict = {}
    for k, (term, shape) in enumerate(zip(inputs, shapes)):
        for letter, n in zip(term, shape):
            first = sizes.setdefault(letter, (n, k))
            if first[0] != n:
                which = "a '...' axis" if letter in ellipsis else f"index {letter!r}"
                raise ShapeError(f"einsum: {which} has size {first[0]} in operand {first[1]} "
                                 f"(shape {shapes[first[1]]}) but {n} in operand {k} (shape "
                                 f"{shape}), spec {spec!r}")
    if output is None:
        counts = "".join(inputs)
        once = sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ellipsis)
        output = ellipsis + "".join(once)
    else:
        if ellipsis and "..." not in output:
            raise ValueError(f"einsum: spec {spec!r} uses '...' in its inputs, so its output "
                             f"needs '...' too")
        output = output.replace("...", ellipsis)
        for letter in output:
            if output.count(letter) > 1 or letter not in sizes:
                raise ValueError(f"einsum: output index {letter!r} of spec {spec!r} must appear "
                                 f"once in the output and in some input")
    work = int(np.prod([n for n, _ in sizes.values()], dtype=np.float64))
    # numpy's path search costs ~15 us: worth it for three operands or a large contraction
    optimize = len(shapes) > 2 or work > 1 << 16
    return inputs, output, {c: n for c, (n, _) in sizes.items()}, optimize


class Einsum(Op):
    """out = np.einsum(spec, *xs): sums of products over the indices the output omits.

    gx_k = einsum of g with the other operands, onto x_k's indices: an index only x_k has is
    broadcast back, and a repeated index (a diagonal, 'ii') gets its gradient on the diagonal.
    """

    def forward(self, *xs):
        self.xs = xs
        self.plan = einsum_plan(self.args["spec"], tuple(x.shape for x in xs))
        inputs, output, _, optimize = self.plan
        return np.asarray(np.einsum(",".join(inputs) + "->" + output, *xs, optimize=optimize))

    def backward(self, grad):
        inputs, output, sizes, optimize = self.plan
        grads = []
        for k, term in enumerate(inputs):
            if not self.needs[k]:
                grads.append(None)
                continue
            others = inputs[:k] + inputs[k + 1:]
            unique = "".join(dict.fromkeys(term))
            reached = set(output).union(*others)
            target = "".join(c for c in unique if c in reached)
            g = np.einsum(",".join((output,) + others) + "->" + target, grad,
                          *(self.xs[:k] + self.xs[k + 1:]), optimize=optimize)
            if len(target) < len(unique):  # summed within x_k alone: each element got all of g
                g = np.reshape(g, [sizes[c] if c in target else 1 for c in unique])
                g = np.broadcast_to(g, [sizes[c] for c in unique])
            if len(unique) < len(term):  # 'ii' read a diagonal: write back onto that diagonal
                full = np.zeros(self.xs[k].shape, dtype=g.dtype)
                np.einsum(term + "->" + unique, full)[...] = g  # einsum's diagonal is a view
                g = full
            grads.append(np.asarray(g))
        return tuple(grads)


# Late import, at the bottom: Tensor builds on this table, and Op.apply records through
# tensor.apply_op. A module attribute costs nothing per call, unlike an import inside apply.
from . import tensor as _tensor  # noqa: E402
