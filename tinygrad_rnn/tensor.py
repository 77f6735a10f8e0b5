"""Tensor: a numpy array with a recorded node, and the functions that join several tensors."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import autograd, init, ops
from .autograd import STATE, ShapeError, next_id

_SCALARS = (bool, int, float, np.generic)
_SHAPE_WORDS = ("shape", "broadcast", "dimension", "mismatch", "size", "axis", "axes")
_new_op = object.__new__  # an op without settings needs no __init__ call (per-op cost)


class _HookHandle:
    """Returned by `register_hook`; `.remove()` takes the hook off again."""

    def __init__(self, hooks: list, fn: Callable):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


class Tensor:
    """An n-dimensional array that records how it was made, for reverse-mode autodiff.

    Shapes: any; sequences are time-major (T, B, D).
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "parents", "id", "scope", "step",
                 "_loop", "_ctx", "_hooks", "_retain", "_version", "__weakref__")
    __array_ufunc__ = None  # numpy hands `ndarray op Tensor` to the Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is not None:
            try:
                dtype = np.dtype(dtype)
            except TypeError:
                raise TypeError(f"Tensor: dtype {dtype!r} is not a numpy dtype (float32, "
                                f"float64, int64, bool, ...)") from None
        try:
            if dtype is not None:
                array = np.asarray(data, dtype=dtype)
            elif type(data) is np.ndarray:
                array = data
            else:
                array = np.asarray(data)
                if array.dtype == np.float64 and not isinstance(data, np.generic):
                    array = array.astype(np.float32)  # Python floats and float lists -> float32
        except ValueError as error:
            raise ValueError(f"Tensor: data is not a rectangular array of numbers (ragged "
                             f"nested lists?): {error}") from None
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Tensor: data must be numeric, got dtype {array.dtype}")
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(f"Tensor: only floating-point tensors can require grad; "
                            f"this one has dtype {array.dtype} (targets and indices stay integer)")
        self.data = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self.parents = ()
        self.id = next_id()
        self.scope, self.step, self._loop, _, _ = STATE.packed
        self._ctx = None
        self._hooks = None
        self._retain = False
        self._version = 0

    # ------------------------------------------------------------------ introspection (the record)

    @property
    def op(self) -> str | None:
        """Lowercase name of the primitive that made this tensor; None for a leaf."""
        return None if self._ctx is None else self._ctx.name

    @property
    def loop(self):
        """Loop(axis, scope path) of the `scope(..., step=)` that set `.step`; None without a
        step. Steps of different loops (an encoder's and a decoder's) are not one recurrence."""
        return self._loop

    @property
    def axis(self) -> str | None:
        """What `.step` counts: "time" for a recurrence, or "hop", "node", ...; None without."""
        return None if self._loop is None else self._loop.axis

    @property
    def op_args(self) -> dict:
        """The op's settings, e.g. {"axis": 1}; empty when it has none."""
        return {} if self._ctx is None else dict(self._ctx.args)

    @property
    def version(self) -> int:
        """How many times the library updated this tensor's data (optimizer steps,
        load_state_dict, Module.to). Each update puts a new array in `.data`, never writing an
        array an op saved: backward refuses a tensor whose array changed after an op saved it."""
        return self._version

    @property
    def is_leaf(self) -> bool:
        return not self.parents

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, threshold=20, separator=", ")
        extra = f", op={self.op}" if self._ctx is not None else ""
        extra += ", requires_grad=True" if self.requires_grad else ""
        extra += f", name={self.name!r}" if self.name else ""
        return f"Tensor({body}, dtype={self.data.dtype}{extra})"

    def __len__(self) -> int:
        if not self.data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.data.shape} is "
                             f"ambiguous; use .all() on .numpy() or compare one element")
        return bool(self.data)

    __hash__ = object.__hash__

    # ----------------------------------------------------------------------------- autograd

    def backward(self, grad=None, retain_graph: bool = False,
                 on_grad: Callable | None = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's .grad (grad= for a non-scalar)."""
        autograd.backward(self, grad, retain_graph, on_grad)

    def retain_grad(self) -> None:
        """Keep this non-leaf's .grad after backward (leaves always keep theirs)."""
        self._retain = True

    def register_hook(self, fn: Callable) -> _HookHandle:
        """Call fn(grad) once with this tensor's total gradient; a returned array replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no "
                               "gradient will ever reach the hook")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _HookHandle(self._hooks, fn)

    def detach(self) -> Tensor:
        """A new leaf sharing this data, cut from the graph (requires_grad False)."""
        return Tensor(self.data, name=self.name)

    def zero_grad(self) -> None:
        self.grad = None

    def named(self, name: str) -> Tensor:
        """Set .name and return self: `h = cell(x, h).named(f"h[{t}]")`."""
        self.name = name
        return self

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item, "
                             f"this one has shape {self.data.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data array itself (no copy)."""
        return self.data

    # ----------------------------------------------------------------------------- operators

    def __add__(self, other):
        return ops.Add.apply(self, other)

    def __radd__(self, other):
        return ops.Add.apply(other, self)

    def __sub__(self, other):
        return ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return ops.Sub.apply(other, self)

    def __mul__(self, other):
        return ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ops.Div.apply(other, self)

    def __pow__(self, other):
        return ops.Pow.apply(self, other)

    def __rpow__(self, other):
        return ops.Pow.apply(other, self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __matmul__(self, other):
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return ops.MatMul.apply(other, self)

    def __eq__(self, other):
        if other is None:
            return NotImplemented  # `t == None` is False, as for any object
        return ops.Eq.apply(self, other)

    def __ne__(self, other):
        if other is None:
            return NotImplemented
        return ops.Ne.apply(self, other)

    def __lt__(self, other):
        return ops.Lt.apply(self, other)

    def __le__(self, other):
        return ops.Le.apply(self, other)

    def __gt__(self, other):
        return ops.Gt.apply(self, other)

    def __ge__(self, other):
        return ops.Ge.apply(self, other)

    def __getitem__(self, index):
        if type(index) is not int:  # x[t] in a recurrence needs no normalising
            index = _normalize_index(index, self.data.shape)
        return ops.GetItem.apply(self, index=index)

    # ---------------------------------------------------------------------- elementwise methods

    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def softplus(self):
        return ops.Softplus.apply(self)

    # ------------------------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims: bool = False):
        return ops.Sum.apply(self, **_reduce_args(axis, keepdims))

    def mean(self, axis=None, keepdims: bool = False):
        return ops.Mean.apply(self, **_reduce_args(axis, keepdims))

    def max(self, axis=None, keepdims: bool = False):
        return ops.Max.apply(self, **_reduce_args(axis, keepdims))

    def softmax(self, axis: int = -1):
        return ops.Softmax.apply(self, axis=_check_axis(axis, self.ndim, "softmax", self.shape))

    def log_softmax(self, axis: int = -1):
        axis = _check_axis(axis, self.ndim, "log_softmax", self.shape)
        return ops.LogSoftmax.apply(self, axis=axis)

    # ------------------------------------------------------------------------------------ shape

    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) \
            else shape
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
            raise TypeError(f"reshape: the new shape must be ints, got {shape!r}")
        return ops.Reshape.apply(self, shape=tuple(int(n) for n in shape))

    def transpose(self, *dims):
        """PyTorch's: `transpose(dim0, dim1)` swaps two axes; `transpose()` reverses them all.
        Any other order is `permute(*dims)`."""
        if not dims:
            return ops.Transpose.apply(self, axes=None)
        if len(dims) != 2 or not all(_is_int(d) for d in dims):
            raise TypeError(f"transpose: takes two axes to swap (dim0, dim1), as PyTorch's, "
                            f"got {dims!r}; for any other order of the axes use "
                            f"permute(*dims)")
        return self.swapaxes(dims[0], dims[1], op="transpose")

    def permute(self, *dims):
        """The axes in the order `dims` (a permutation of range(ndim)), as PyTorch's."""
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        ndim = self.data.ndim
        if not all(_is_int(d) for d in dims):
            raise TypeError(f"permute: dims must be ints, got {dims!r}")
        if any(not -ndim <= d < ndim for d in dims) \
                or sorted(int(d) % max(ndim, 1) for d in dims) != list(range(ndim)):
            raise ShapeError(f"permute: dims {dims} are not a permutation of the "
                             f"{ndim} axes of shape {self.data.shape}")
        return ops.Transpose.apply(self, axes=tuple(int(d) % ndim for d in dims) if ndim else ())

    def swapaxes(self, a: int, b: int, op: str = "swapaxes"):
        ndim = self.data.ndim
        if not (_is_int(a) and _is_int(b)):
            raise TypeError(f"{op}: axes must be ints, got ({a!r}, {b!r})")
        if not (-ndim <= a < ndim and -ndim <= b < ndim):
            raise ShapeError(f"{op}: axes ({a}, {b}) out of range for shape {self.data.shape}")
        perm = list(range(ndim))
        perm[a], perm[b] = perm[b], perm[a]
        return ops.Transpose.apply(self, axes=tuple(perm))

    @property
    def T(self):
        return ops.Transpose.apply(self, axes=None)

    # --------------------------------------------- PyTorch's method vocabulary (issue 13)

    def add(self, other):
        return ops.Add.apply(self, other)

    def sub(self, other):
        return ops.Sub.apply(self, other)

    def mul(self, other):
        return ops.Mul.apply(self, other)

    def div(self, other):
        return ops.Div.apply(self, other)

    def pow(self, other):
        return ops.Pow.apply(self, other)

    def matmul(self, other):
        return ops.MatMul.apply(self, other)

    def min(self, axis=None, keepdims: bool = False):
        return ops.Min.apply(self, **_reduce_args(axis, keepdims))

    def prod(self, axis=None, keepdims: bool = False):
        return ops.Prod.apply(self, **_reduce_args(axis, keepdims))

    def var(self, axis=None, keepdims: bool = False, correction=1):
        """Variance with PyTorch's `correction` (1: the unbiased estimate, 0: the population's)."""
        correction = _check_correction(correction, "var")
        return ops.Var.apply(self, **_reduce_args(axis, keepdims), correction=correction)

    def std(self, axis=None, keepdims: bool = False, correction=1):
        """Standard deviation, sqrt(var); its gradient is 0 where all elements are equal."""
        correction = _check_correction(correction, "std")
        return ops.Std.apply(self, **_reduce_args(axis, keepdims), correction=correction)

    def norm(self, p=2, axis=None, keepdims: bool = False):
        """The vector p-norm over axis (all elements when None): p = 1, 2, inf or any p >= 1."""
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) \
                or not p >= 1:
            raise ValueError(f"norm: p must be a number >= 1 (1, 2, inf, ...), got {p!r}")
        return ops.Norm.apply(self, p=_python_number(p), **_reduce_args(axis, keepdims))

    def clamp(self, min=None, max=None):
        """Limit every element to [min, max]; the gradient passes where min <= x <= max."""
        bounds = {name: _check_bound(value, name) for name, value in (("min", min), ("max", max))
                  if value is not None}
        if not bounds:
            raise ValueError("clamp: give min, max or both (both are None)")
        if len(bounds) == 2 and bounds["min"] > bounds["max"]:
            raise ValueError(f"clamp: min={min!r} is greater than max={max!r} (PyTorch would "
                             f"silently return max everywhere)")
        return ops.Clamp.apply(self, **bounds)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """Merge axes start_dim..end_dim (inclusive) into one, as PyTorch (a reshape)."""
        shape = self.data.shape
        ndim = max(len(shape), 1)  # a 0-d tensor flattens to shape (1,), as PyTorch
        start = _check_axis(start_dim, ndim, "flatten", shape) % ndim
        end = _check_axis(end_dim, ndim, "flatten", shape) % ndim
        if start > end:
            raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                             f"(shape {shape})")
        merged = int(np.prod(shape[start:end + 1], dtype=np.int64))
        return ops.Reshape.apply(self, shape=shape[:start] + (merged,) + shape[end + 1:])

    def squeeze(self, axis=None):
        """Remove size-1 axes: all of them (axis None), or the given ones, which must be size 1."""
        shape = self.data.shape
        if axis is None:
            return ops.Reshape.apply(self, shape=tuple(n for n in shape if n != 1))
        axes = ops.normalize_axis(_reduce_args(axis, False)["axis"], shape, "squeeze")
        wide = [a for a in axes if shape[a] != 1]
        if wide:
            raise ShapeError(f"squeeze: axis {wide[0]} of shape {shape} has size "
                             f"{shape[wide[0]]}, not 1 (PyTorch would leave it silently)")
        return ops.Reshape.apply(self, shape=tuple(n for a, n in enumerate(shape)
                                                   if a not in axes))

    def unsqueeze(self, axis: int):
        """Insert a size-1 axis at position `axis` (-ndim-1 <= axis <= ndim)."""
        shape = self.data.shape
        axis = _check_axis(axis, len(shape) + 1, "unsqueeze", shape) % (len(shape) + 1)
        return ops.Reshape.apply(self, shape=shape[:axis] + (1,) + shape[axis:])

    def roll(self, shift, axis=None):
        """Shift elements circularly along axis (the flattened tensor when axis is None)."""
        return ops.Roll.apply(self, **_roll_args(shift, axis, self.data.shape))

    def sign(self):
        """-1, 0 or 1 per element; its gradient is 0 (no gradient flows through it)."""
        return ops.Sign.apply(self)


# --------------------------------------------------------------------------------- the record


def apply_op(cls, inputs: tuple, args: dict) -> Tensor:
    """Run op `cls` on inputs (Tensors, or constants made into leaves) and record the result."""
    # Every op of every model passes through here, so this function sets the engine's per-op
    # cost: one and two Tensor inputs (nearly all ops) take a short path without loops.
    ctx = cls(**args) if args else _new_op(cls)
    n = len(inputs)
    if n == 1 and isinstance(inputs[0], Tensor):
        parents = inputs
        x = inputs[0]
        needs = (x.requires_grad,)
        arrays = (x.data,)
    elif n == 2 and isinstance(inputs[0], Tensor) and isinstance(inputs[1], Tensor):
        parents = inputs
        x, y = inputs
        needs = (x.requires_grad, y.requires_grad)
        arrays = (x.data, y.data)
    else:
        parents = _as_parents(inputs)
        needs = tuple([p.requires_grad for p in parents])
        arrays = [p.data for p in parents]
    try:
        out = ctx.forward(*arrays)
    except ShapeError:
        raise
    except IndexError as error:
        raise IndexError(f"{cls.name}: {error} (input shape {parents[0].data.shape}, "
                         f"index {args.get('index')!r})") from None
    except ValueError as error:
        shapes = " and ".join(str(p.data.shape) for p in parents)
        text = str(error)
        if not any(word in text for word in _SHAPE_WORDS):  # numpy's other ValueErrors
            raise ValueError(f"{cls.name}: {text} (input shapes {shapes})") from None
        raise ShapeError(f"{cls.name}: shapes {shapes} are incompatible: {error}") from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    node = Tensor.__new__(Tensor)
    node.data = out
    node.grad = None
    node.name = None
    node.id = next_id()
    node.scope, node.step, node._loop, grad_enabled, anomaly = STATE.packed
    node._hooks = None
    node._retain = False
    node._version = 0
    if grad_enabled:
        node.parents = parents
        node._ctx = ctx
        ctx.needs = needs
        ctx.seen = arrays  # the input arrays: backward checks that each input still holds its
        node.requires_grad = True in needs and out.dtype.kind == "f"
    else:
        node.parents = ()
        node._ctx = None
        node.requires_grad = False
    if anomaly:  # only here is the creating line looked up and kept
        origin = autograd.user_line()
        if node._ctx is not None:
            ctx.origin = origin
        autograd.check_finite(node, out, "forward result", origin)
    return node


def _as_parents(inputs: tuple) -> tuple:
    """Inputs as Tensors: constants become leaves, a scalar taking a tensor input's float dtype."""
    ref = None
    for x in inputs:
        if isinstance(x, Tensor):
            ref = x
            break
    return tuple([x if isinstance(x, Tensor) else _constant(x, ref) for x in inputs])


def _constant(value, ref: Tensor | None) -> Tensor:
    """A Python/numpy value mixed into an op, as a leaf. A scalar takes the tensor's float dtype."""
    if isinstance(value, _SCALARS) and not isinstance(value, bool) and ref is not None \
            and ref.data.dtype.kind == "f":
        return Tensor(np.asarray(value, dtype=ref.data.dtype))
    return Tensor(value)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _reduce_args(axis, keepdims: bool) -> dict:
    args = {}
    if axis is not None:
        if isinstance(axis, (int, np.integer)):
            args["axis"] = int(axis)
        elif isinstance(axis, (tuple, list)) and all(isinstance(a, (int, np.integer))
                                                     for a in axis):
            args["axis"] = tuple(int(a) for a in axis)
        else:
            raise TypeError(f"axis must be an int, a tuple of ints or None, got {axis!r}")
    if keepdims:
        args["keepdims"] = True
    return args


def _check_axis(axis: int, ndim: int, op: str, shape: tuple) -> int:
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis!r} is out of range ({ndim} dims) for input "
                         f"shape {shape}")
    return int(axis)


def _check_correction(correction, op: str):
    if isinstance(correction, bool) or not isinstance(
            correction, (int, float, np.integer, np.floating)) or not np.isfinite(correction):
        raise TypeError(f"{op}: correction must be a finite number (1 for the unbiased "
                        f"estimate, 0 for the population's), got {correction!r}")
    return _python_number(correction)


def _python_number(value):
    """A numpy scalar setting as a Python int or float: a np.float64 would widen float32 data."""
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def _check_bound(value, name: str):
    if isinstance(value, Tensor):
        raise TypeError(f"clamp: {name} must be a number or None, got a Tensor; for "
                        f"elementwise bounds use tg.maximum or tg.where")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"clamp: {name} must be a number or None, got {value!r}")
    if np.isnan(value):
        raise ValueError(f"clamp: {name} is nan")
    return _python_number(value)


def _roll_args(shift, axis, shape: tuple) -> dict:
    """roll's settings checked against the shape: int shift with int/None axis, or equal tuples."""
    def ints(value, what: str) -> tuple:
        values = value if isinstance(value, (tuple, list)) else (value,)
        if not values or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 for v in values):
            raise TypeError(f"roll: {what} must be an int or a tuple of ints, got {value!r}")
        return tuple(int(v) for v in values)

    shifts = ints(shift, "shift")
    if axis is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: {len(shifts)} shifts need as many axes, got axis=None")
        return {"shift": shifts[0]}
    axes = ints(axis, "axis")
    if len(axes) != len(shifts):
        raise ValueError(f"roll: shift {shift!r} and axis {axis!r} must have the same length")
    for a in axes:
        if not -len(shape) <= a < len(shape):
            raise ShapeError(f"roll: axis {a} is out of range for a tensor of shape {shape}")
    if isinstance(shift, (tuple, list)) or isinstance(axis, (tuple, list)):
        return {"shift": shifts, "axis": tuple(a % len(shape) for a in axes)}
    return {"shift": shifts[0], "axis": axes[0] % len(shape)}


def _normalize_index(index, shape: tuple):
    """Tensors and lists inside an index become integer arrays; everything else stays numpy's."""
    items = index if type(index) is tuple else (index,)
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, list):
            # an empty list picks nothing, as in numpy (np.asarray([]) alone would be float64)
            item = np.asarray(item) if item else np.zeros(0, dtype=np.intp)
        if isinstance(item, np.ndarray) and item.dtype.kind not in "iub":
            raise IndexError(f"getitem: index arrays must be integer or bool, got dtype "
                             f"{item.dtype} (indexing a tensor of shape {shape})")
        out.append(item)
    return tuple(out) if type(index) is tuple else out[0]


# ------------------------------------------------------------------------ joining and choosing


def _as_tensors(tensors: Sequence, op: str) -> list:
    if isinstance(tensors, Tensor) or not len(tensors):
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    return [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]


def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (numpy's concatenate)."""
    tensors = _as_tensors(tensors, "cat")
    return ops.Cat.apply(*tensors, axis=_check_axis(axis, tensors[0].ndim, "cat", tensors[0].shape))


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Stack equally shaped tensors along a new axis."""
    tensors = _as_tensors(tensors, "stack")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ShapeError(f"stack: all tensors need the same shape, got "
                         f"{', '.join(str(t.shape) for t in tensors)}")
    axis = _check_axis(axis, tensors[0].ndim + 1, "stack", tensors[0].shape)
    return ops.Stack.apply(*tensors, axis=axis)


def where(cond, a, b) -> Tensor:
    """a where cond is true, else b (broadcasting all three)."""
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        a = _constant(a, b)
    if not isinstance(b, Tensor) and isinstance(a, Tensor):
        b = _constant(b, a)  # a scalar branch takes a's dtype, not the boolean cond's
    return ops.Where.apply(cond, a, b)


def maximum(a, b) -> Tensor:
    """Elementwise maximum; a tie splits the gradient evenly."""
    return ops.Maximum.apply(a, b)


# -------------------------------------------------- contraction and factories (issue 13)


def einsum(spec: str, *tensors) -> Tensor:
    """Einstein summation, as numpy's and PyTorch's: `tg.einsum("bnd,bd->bn", memory, key)`.

    Letters name axes; a letter left out of the output (after '->') is summed over; a repeated
    letter in one operand reads its diagonal; '...' stands for the remaining leading axes.
    Shapes: as the spec says; each letter must have one size in every operand.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])  # tg.einsum(spec, [a, b]) as PyTorch also accepts
    if not tensors:
        raise ValueError("einsum: expected at least one tensor after the spec")
    tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
    ops.einsum_plan(spec, tuple(t.data.shape for t in tensors))  # raises on a bad spec or shape
    return ops.Einsum.apply(*tensors, spec=spec)


def bmm(a, b) -> Tensor:
    """Batched matrix product of two 3-D tensors, as torch.bmm. Shapes: (B, N, M), (B, M, P) ->
    (B, N, P)."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if a.ndim != 3 or b.ndim != 3:
        raise ShapeError(f"bmm: both operands must be 3-D (B, N, M) and (B, M, P), got {a.shape} "
                         f"and {b.shape} (use @ for other ranks)")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ShapeError(f"bmm: {a.shape} and {b.shape} need the same batch size B and "
                         f"a.shape[2] == b.shape[1]")
    return ops.MatMul.apply(a, b)


def _size(size: tuple, op: str) -> tuple:
    """zeros(2, 3) and zeros((2, 3)) alike: a tuple of non-negative ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in size):
        raise TypeError(f"{op}: the shape must be ints, got {size!r}")
    if any(n < 0 for n in size):
        raise ValueError(f"{op}: negative dimension in shape {size!r}")
    return tuple(int(n) for n in size)


def _dtype_or_float32(dtype, op: str) -> np.dtype:
    dtype = np.dtype(np.float32 if dtype is None else dtype)
    if op == "randn" and dtype.kind != "f":
        raise TypeError(f"randn: dtype must be floating point, got {dtype}")
    return dtype


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros, float32 unless dtype says otherwise: `tg.zeros(2, 3)`."""
    array = np.zeros(_size(size, "zeros"), dtype=_dtype_or_float32(dtype, "zeros"))
    return Tensor(array, requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones, float32 unless dtype says otherwise: `tg.ones(2, 3)`."""
    array = np.ones(_size(size, "ones"), dtype=_dtype_or_float32(dtype, "ones"))
    return Tensor(array, requires_grad=requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the engine's generator (seeded by tg.manual_seed)."""
    shape = _size(size, "randn")
    dtype = _dtype_or_float32(dtype, "randn")
    return Tensor(init.normal(shape, 1.0, dtype=dtype), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """start, start + step, ... below end (`arange(5)` is 0..4): int64 when start, end and step
    are all ints, else float32, as PyTorch."""
    if end is None:
        start, end = 0, start
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not np.isfinite(value):
            raise TypeError(f"arange: {name} must be a finite number, got {value!r}")
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if integral else np.float32
    values = np.arange(start, end, step, dtype=np.float64 if np.dtype(dtype).kind == "f"
                       else dtype)
    return Tensor(values.astype(dtype, copy=False), requires_grad=requires_grad)
