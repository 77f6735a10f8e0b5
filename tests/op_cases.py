"""The op cases: one or more rows per op in OPS, each with its PyTorch twin and a safe domain.

A row names the op, builds it from public Tensor methods and functions, lists input shapes
(broadcasting pairs included), gives each input a value domain kept away from kinks (relu/abs
at 0, ties in max, log/sqrt/pow bases near 0, division by numbers near 0), and says how
PyTorch computes the same thing. tests/test_ops.py runs every row; a new op needs a row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor
from tinygrad_rnn import functional as F


@dataclass(frozen=True)
class Domain:
    """Where an input's values live: [low, high], at least `gap` from `kink`, maybe all distinct."""

    low: float = -2.0
    high: float = 2.0
    gap: float = 0.0
    kink: float = 0.0
    distinct: float = 0.0  # > 0: any two elements differ by at least this much (max without ties)
    grid: float = 0.0  # > 0: values rounded to multiples of this (comparisons meet ties)

    def fix(self, x: np.ndarray) -> np.ndarray:
        """Move values drawn in [low, high] off the kink and apart; keeps the dtype."""
        x = np.array(x, dtype=np.float64)
        if self.grid:
            x = np.round(x / self.grid) * self.grid
        if self.gap:
            offset = x - self.kink
            x = np.where(offset >= 0, self.kink + self.gap + offset, self.kink - self.gap + offset)
        if self.distinct and x.size:
            # adding a multiple of each element's rank keeps the order and opens every tie
            rank = np.argsort(np.argsort(x, axis=None, kind="stable"), kind="stable")
            x = x + self.distinct * rank.reshape(x.shape)
        return x

    def sample(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        return self.fix(rng.uniform(self.low, self.high, size=shape))


ANY = Domain()
POSITIVE = Domain(low=0.5, high=3.0)  # log, sqrt, pow bases: away from 0
NONZERO = Domain(gap=0.5)  # divisors
OFF_ZERO = Domain(gap=0.1)  # relu, abs: away from the kink at 0
NO_TIES = Domain(distinct=0.05)  # max: a unique maximum, so the gradient is smooth
EXPONENT = Domain(low=-2.0, high=2.0)
COARSE = Domain(grid=0.5)  # comparisons: equal elements are common


@dataclass(frozen=True)
class OpCase:
    """One row: `fn(*Tensors) -> Tensor` and `torch_fn(torch, *torch_tensors)` compute one op."""

    op: str
    label: str
    fn: Callable
    torch_fn: Callable
    shapes: tuple  # tuple of shape tuples, one shape per input; all run through gradcheck
    domains: tuple = (ANY,)
    broadcast: bool = False  # the PyTorch test draws mutually broadcastable shapes itself
    differentiable: bool = True
    max_dims: int = 3

    @property
    def arity(self) -> int:
        return len(self.shapes[0])

    def domain(self, i: int) -> Domain:
        return self.domains[i] if i < len(self.domains) else self.domains[-1]

    def sample(self, rng: np.random.Generator, shapes: tuple) -> list:
        return [self.domain(i).sample(rng, s) for i, s in enumerate(shapes)]


BROADCAST_PAIRS = (
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((3, 1), (1, 4)),
    ((), (2, 2)),
    ((2, 1, 3), (4, 1)),
)
UNARY_SHAPES = (((2, 3),), ((4,),), ((),), ((2, 1, 3),))


def _mask(shape: tuple) -> np.ndarray:
    """A fixed boolean pattern of the given shape (where's condition)."""
    return np.asarray((np.arange(int(np.prod(shape, dtype=int))).reshape(shape) % 3) != 1)


def _where(a: Tensor, b: Tensor) -> Tensor:
    return tg.where(_mask(np.broadcast_shapes(a.shape, b.shape)), a, b)


def _torch_where(torch, a, b):
    shape = torch.broadcast_shapes(a.shape, b.shape)
    return torch.where(torch.from_numpy(_mask(tuple(shape))), a, b)


def _targets(logits_shape: tuple) -> np.ndarray:
    """Fixed class indices for logits (..., C): every class appears."""
    count = int(np.prod(logits_shape[:-1], dtype=int))
    return ((np.arange(count) * 2 + 1) % logits_shape[-1]).reshape(logits_shape[:-1])


def _cross_entropy(reduction: str) -> Callable:
    def fn(logits: Tensor) -> Tensor:
        return F.cross_entropy(logits, _targets(logits.shape), reduction=reduction)

    return fn


def _torch_cross_entropy(reduction: str) -> Callable:
    def fn(torch, logits):
        target = torch.from_numpy(_targets(tuple(logits.shape)))
        if logits.ndim >= 2:  # PyTorch wants the class axis at dim 1; ours is last
            logits = torch.movedim(logits, -1, 1)
        return torch.nn.functional.cross_entropy(logits, target, reduction=reduction)

    return fn


def _amax(torch, x, dim=None, keepdim=False):
    dims = tuple(range(x.ndim)) if dim is None else dim
    return torch.amax(x, dim=dims, keepdim=keepdim) if x.ndim else x.clone()


def _amin(torch, x, dim=None, keepdim=False):
    dims = tuple(range(x.ndim)) if dim is None else dim
    return torch.amin(x, dim=dims, keepdim=keepdim) if x.ndim else x.clone()


def _torch_prod(torch, x, dims=None, keepdim=False):
    """PyTorch's prod takes one dim at a time: reduce the listed dims from the last one."""
    if dims is None:
        return x.prod()
    for d in sorted((d % x.ndim for d in dims), reverse=True):
        x = x.prod(dim=d, keepdim=True)
    return x if keepdim else x.squeeze(tuple(dims))


def _vector_norm(p, dim=None, keepdim=False) -> Callable:
    def fn(torch, x):
        return torch.linalg.vector_norm(x, ord=p, dim=dim, keepdim=keepdim)

    return fn


def _einsum(spec: str) -> Callable:
    return lambda *xs: tg.einsum(spec, *xs)


def _torch_einsum(spec: str) -> Callable:
    return lambda torch, *xs: torch.einsum(spec, *xs)


INTEGERS = Domain(low=-2.4, high=2.4, grid=1.0)  # prod: zeros (and repeated zeros) are common
ABS_NO_TIES = Domain(gap=0.1, distinct=0.05)  # the inf-norm: one largest |x|, away from 0


INDEX_REPEATED = np.array([0, 2, 0, 1, 0])


def _binary(op, fn, torch_fn, domains=(ANY,), differentiable=True, label=None) -> OpCase:
    """A broadcasting binary op: fixed pairs for gradcheck, hypothesis draws more."""
    return OpCase(op, label or op, fn, torch_fn, BROADCAST_PAIRS, domains, broadcast=True,
                  differentiable=differentiable)


def _compare(op, fn, torch_fn) -> OpCase:
    """A comparison: broadcasting, boolean result, no gradient; values on a grid so ties occur."""
    return OpCase(op, op, fn, torch_fn, BROADCAST_PAIRS, (COARSE,), broadcast=True,
                  differentiable=False)


def _unary(op, fn, torch_fn, domain=ANY, shapes=UNARY_SHAPES, label=None) -> OpCase:
    """A one-input op on a few shapes, the 0-d one included."""
    return OpCase(op, label or op, fn, torch_fn, shapes, (domain,))


CASES: tuple = (
    # ------------------------------------------------------------------- elementwise, binary
    _binary("add", lambda a, b: a + b, lambda t, a, b: a + b),
    _binary("sub", lambda a, b: a - b, lambda t, a, b: a - b),
    _binary("mul", lambda a, b: a * b, lambda t, a, b: a * b),
    _binary("div", lambda a, b: a / b, lambda t, a, b: a / b, (ANY, NONZERO)),
    _binary("pow", lambda a, b: a ** b, lambda t, a, b: a ** b, (POSITIVE, EXPONENT)),
    _unary("pow", lambda a: a ** 3, lambda t, a: a ** 3, label="pow scalar exponent"),
    _unary("pow", lambda a: a ** -1.5, lambda t, a: a ** -1.5, POSITIVE,
           label="pow negative exponent"),
    _unary("pow", lambda a: 2.5 ** a, lambda t, a: 2.5 ** a, label="pow scalar base"),
    _binary("maximum", tg.maximum, lambda t, a, b: t.maximum(a, b)),
    _binary("where", _where, _torch_where),
    _binary("add", lambda a, b: 1.5 - a * b + 2 * a / 4, lambda t, a, b: 1.5 - a * b + 2 * a / 4,
            label="scalars on both sides"),
    OpCase("matmul", "matmul", lambda a, b: a @ b, lambda t, a, b: a @ b,
           (((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
            ((2, 2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 2)),
            ((2, 2, 3), (3,)))),
    # -------------------------------------------------------------------- elementwise, unary
    _unary("neg", lambda a: -a, lambda t, a: -a),
    _unary("exp", lambda a: a.exp(), lambda t, a: a.exp()),
    _unary("log", lambda a: a.log(), lambda t, a: a.log(), POSITIVE),
    _unary("tanh", lambda a: a.tanh(), lambda t, a: a.tanh()),
    _unary("sigmoid", lambda a: a.sigmoid(), lambda t, a: a.sigmoid()),
    _unary("sigmoid", lambda a: (a * 30).sigmoid(), lambda t, a: (a * 30).sigmoid(),
           label="sigmoid saturated"),
    _unary("relu", lambda a: a.relu(), lambda t, a: a.relu(), OFF_ZERO),
    _unary("sqrt", lambda a: a.sqrt(), lambda t, a: a.sqrt(), POSITIVE),
    _unary("abs", lambda a: a.abs(), lambda t, a: a.abs(), OFF_ZERO),
    _unary("softplus", lambda a: a.softplus(), lambda t, a: t.nn.functional.softplus(a)),
    # ------------------------------------------------------------------------------ reductions
    _unary("sum", lambda a: a.sum(), lambda t, a: a.sum(), label="sum all"),
    OpCase("sum", "sum axis", lambda a: a.sum(axis=1), lambda t, a: a.sum(dim=1),
           (((2, 3),), ((2, 3, 2),))),
    OpCase("sum", "sum axes keepdims", lambda a: a.sum(axis=(0, -1), keepdims=True),
           lambda t, a: a.sum(dim=(0, -1), keepdim=True), (((2, 3),), ((2, 3, 2),))),
    _unary("mean", lambda a: a.mean(), lambda t, a: a.mean(), label="mean all"),
    OpCase("mean", "mean axes", lambda a: a.mean(axis=(0, 2)),
           lambda t, a: a.mean(dim=(0, 2)), (((2, 3, 2),), ((3, 1, 4),))),
    OpCase("mean", "mean axis keepdims", lambda a: a.mean(axis=-1, keepdims=True),
           lambda t, a: a.mean(dim=-1, keepdim=True), (((2, 3),), ((4,),))),
    _unary("max", lambda a: a.max(), lambda t, a: _amax(t, a), NO_TIES, label="max all"),
    OpCase("max", "max axis", lambda a: a.max(axis=1), lambda t, a: _amax(t, a, 1),
           (((2, 3),), ((2, 3, 2),)), (NO_TIES,)),
    OpCase("max", "max axes keepdims", lambda a: a.max(axis=(0, 2), keepdims=True),
           lambda t, a: _amax(t, a, (0, 2), True), (((2, 3, 2),), ((3, 1, 2),)), (NO_TIES,)),
    # --------------------------------------------------------------------------- shape, index
    OpCase("reshape", "reshape", lambda a: a.reshape(3, 2), lambda t, a: a.reshape(3, 2),
           (((2, 3),), ((6,),), ((1, 6),))),
    OpCase("reshape", "reshape tuple with -1", lambda a: a.reshape((-1, 2)),
           lambda t, a: a.reshape(-1, 2), (((2, 3, 2),), ((4,),))),
    OpCase("transpose", "permute", lambda a: a.permute(2, 0, 1),
           lambda t, a: a.permute(2, 0, 1), (((2, 3, 4),), ((1, 2, 3),))),
    OpCase("transpose", "transpose two axes", lambda a: a.transpose(0, -1),
           lambda t, a: a.transpose(0, -1), (((2, 3, 4),), ((3, 2),))),
    OpCase("transpose", "transpose reversed", lambda a: a.transpose(),
           lambda t, a: a.permute(*reversed(range(a.ndim))), (((2, 3, 4),), ((3,),))),
    OpCase("transpose", ".T", lambda a: a.T, lambda t, a: a.permute(*reversed(range(a.ndim))),
           (((2, 3),), ((2, 1, 3),))),
    OpCase("transpose", "swapaxes", lambda a: a.swapaxes(0, -1),
           lambda t, a: t.swapaxes(a, 0, -1), (((2, 3, 4),), ((3, 2),))),
    OpCase("getitem", "getitem slices", lambda a: a[1:, ::2],
           lambda t, a: a[1:, ::2], (((3, 4),), ((2, 3, 2),))),
    OpCase("getitem", "getitem int and ellipsis", lambda a: a[..., 1],
           lambda t, a: a[..., 1], (((3, 4),), ((2, 3, 2),))),
    OpCase("getitem", "getitem repeated indices", lambda a: a[INDEX_REPEATED],
           lambda t, a: a[t.from_numpy(INDEX_REPEATED)], (((3, 2),), ((4,),))),
    OpCase("getitem", "getitem two index arrays", lambda a: a[[0, 1, 1], [2, 0, 2]],
           lambda t, a: a[[0, 1, 1], [2, 0, 2]], (((2, 3),), ((3, 3, 2),))),
    OpCase("getitem", "getitem boolean mask", lambda a: a[_mask(a.shape)],
           lambda t, a: a[t.from_numpy(_mask(tuple(a.shape)))], (((2, 3),), ((5,),))),
    OpCase("cat", "cat", lambda a, b: tg.cat([a, b], axis=0),
           lambda t, a, b: t.cat([a, b], dim=0), (((2, 3), (1, 3)), ((2,), (3,)))),
    OpCase("cat", "cat three, negative axis", lambda a, b, c: tg.cat([a, b, c], axis=-1),
           lambda t, a, b, c: t.cat([a, b, c], dim=-1), (((2, 1), (2, 3), (2, 2)),)),
    OpCase("stack", "stack", lambda a, b: tg.stack([a, b], axis=0),
           lambda t, a, b: t.stack([a, b], dim=0), (((2, 3), (2, 3)), ((), ()))),
    OpCase("stack", "stack last axis", lambda a, b, c: tg.stack([a, b, c], axis=-1),
           lambda t, a, b, c: t.stack([a, b, c], dim=-1), (((2, 3),) * 3, ((4,),) * 3)),
    # ------------------------------------------------------------------ fused, for stability
    OpCase("softmax", "softmax", lambda a: a.softmax(), lambda t, a: t.softmax(a, dim=-1),
           (((2, 3),), ((4,),), ((2, 2, 3),))),
    OpCase("softmax", "softmax axis 0", lambda a: a.softmax(axis=0),
           lambda t, a: t.softmax(a, dim=0), (((3, 2),), ((2, 2, 3),))),
    OpCase("softmax", "softmax large logits", lambda a: (a * 400).softmax(),
           lambda t, a: t.softmax(a * 400, dim=-1), (((2, 3),),)),
    OpCase("log_softmax", "log_softmax", lambda a: a.log_softmax(),
           lambda t, a: t.log_softmax(a, dim=-1), (((2, 3),), ((4,),), ((2, 2, 3),))),
    OpCase("log_softmax", "log_softmax axis 1 large logits", lambda a: (a * 400).log_softmax(1),
           lambda t, a: t.log_softmax(a * 400, dim=1), (((2, 3),), ((2, 2, 3),))),
    OpCase("cross_entropy", "cross_entropy mean", _cross_entropy("mean"),
           _torch_cross_entropy("mean"), (((4, 3),), ((2, 3, 5),), ((3,),))),
    OpCase("cross_entropy", "cross_entropy sum", _cross_entropy("sum"),
           _torch_cross_entropy("sum"), (((4, 3),), ((2, 3, 5),))),
    OpCase("cross_entropy", "cross_entropy none", _cross_entropy("none"),
           _torch_cross_entropy("none"), (((4, 3),), ((2, 3, 5),))),
    # ------------------------------------------------------------------------ fused, for speed
    OpCase("linear", "linear", lambda x, w, b: F.linear(x, w, b),
           lambda t, x, w, b: t.nn.functional.linear(x, w, b),
           (((2, 3), (4, 3), (4,)), ((3,), (2, 3), (2,)), ((2, 2, 3), (4, 3), (4,)))),
    OpCase("linear", "linear without bias", lambda x, w: F.linear(x, w),
           lambda t, x, w: t.nn.functional.linear(x, w), (((2, 3), (4, 3)), ((2, 1, 3), (2, 3)))),
    # ------------------------------------------------------------- comparisons (no gradient)
    _compare("eq", lambda a, b: a == b, lambda t, a, b: a == b),
    _compare("ne", lambda a, b: a != b, lambda t, a, b: a != b),
    _compare("lt", lambda a, b: a < b, lambda t, a, b: a < b),
    _compare("le", lambda a, b: a <= b, lambda t, a, b: a <= b),
    _compare("gt", lambda a, b: a > b, lambda t, a, b: a > b),
    _compare("ge", lambda a, b: a >= b, lambda t, a, b: a >= b),
    # -------------------------------------------- PyTorch's vocabulary (issue 13 and issue 11)
    _binary("add", lambda a, b: a.add(b), lambda t, a, b: a.add(b), label="add method"),
    _binary("sub", lambda a, b: a.sub(b), lambda t, a, b: a.sub(b), label="sub method"),
    _binary("mul", lambda a, b: a.mul(b), lambda t, a, b: a.mul(b), label="mul method"),
    _binary("div", lambda a, b: a.div(b), lambda t, a, b: a.div(b), (ANY, NONZERO),
            label="div method"),
    _binary("pow", lambda a, b: a.pow(b), lambda t, a, b: a.pow(b), (POSITIVE, EXPONENT),
            label="pow method"),
    OpCase("matmul", "matmul method", lambda a, b: a.matmul(b), lambda t, a, b: a.matmul(b),
           (((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 2, 3), (3,)))),
    OpCase("matmul", "bmm", tg.bmm, lambda t, a, b: t.bmm(a, b),
           (((2, 3, 4), (2, 4, 2)), ((1, 2, 3), (1, 3, 1)))),
    _unary("min", lambda a: a.min(), lambda t, a: _amin(t, a), NO_TIES, label="min all"),
    OpCase("min", "min axis", lambda a: a.min(axis=1), lambda t, a: _amin(t, a, 1),
           (((2, 3),), ((2, 3, 2),)), (NO_TIES,)),
    OpCase("min", "min axes keepdims", lambda a: a.min(axis=(0, 2), keepdims=True),
           lambda t, a: _amin(t, a, (0, 2), True), (((2, 3, 2),), ((3, 1, 2),)), (NO_TIES,)),
    _unary("prod", lambda a: a.prod(), lambda t, a: _torch_prod(t, a), label="prod all"),
    OpCase("prod", "prod axis", lambda a: a.prod(axis=-1), lambda t, a: _torch_prod(t, a, (-1,)),
           (((2, 3),), ((4,),), ((2, 3, 2),))),
    OpCase("prod", "prod axes keepdims", lambda a: a.prod(axis=(0, 2), keepdims=True),
           lambda t, a: _torch_prod(t, a, (0, 2), True), (((2, 3, 2),), ((3, 1, 4),))),
    OpCase("prod", "prod with zeros", lambda a: a.prod(axis=1),
           lambda t, a: _torch_prod(t, a, (1,)),
           (((4, 3),), ((3, 4, 2),)), (INTEGERS,)),
    OpCase("var", "var all", lambda a: a.var(), lambda t, a: a.var(),
           (((2, 3),), ((4,),), ((2, 1, 3),))),
    OpCase("var", "var axis", lambda a: a.var(axis=0), lambda t, a: a.var(dim=0),
           (((3, 2),), ((2, 3, 2),))),
    OpCase("var", "var axes keepdims correction 0",
           lambda a: a.var(axis=(0, -1), keepdims=True, correction=0),
           lambda t, a: a.var(dim=(0, -1), keepdim=True, correction=0),
           (((2, 3),), ((2, 3, 2),), ((1, 1),))),
    OpCase("std", "std all", lambda a: a.std(), lambda t, a: a.std(),
           (((2, 3),), ((4,),), ((2, 1, 3),))),
    OpCase("std", "std axis keepdims", lambda a: a.std(axis=-1, keepdims=True),
           lambda t, a: a.std(dim=-1, keepdim=True), (((3, 2),), ((2, 3, 4),))),
    OpCase("std", "std correction 2", lambda a: a.std(axis=1, correction=2),
           lambda t, a: a.std(dim=1, correction=2), (((2, 3),), ((2, 4, 2),))),
    OpCase("norm", "norm 2 all", lambda a: a.norm(), _vector_norm(2),
           UNARY_SHAPES, (OFF_ZERO,)),
    OpCase("norm", "norm 2 axis", lambda a: a.norm(2, axis=-1), _vector_norm(2, -1),
           (((2, 3),), ((2, 3, 2),))),
    OpCase("norm", "norm 1 axes keepdims", lambda a: a.norm(1, axis=(0, 1), keepdims=True),
           _vector_norm(1, (0, 1), True), (((2, 3),), ((2, 3, 2),)), (OFF_ZERO,)),
    OpCase("norm", "norm inf axis", lambda a: a.norm(float("inf"), axis=0),
           _vector_norm(float("inf"), 0), (((3, 2),), ((4,),), ((2, 3, 2),)), (ABS_NO_TIES,)),
    OpCase("norm", "norm 3 axis", lambda a: a.norm(3, axis=1), _vector_norm(3, 1),
           (((2, 3),), ((2, 3, 2),))),
    _unary("clamp", lambda a: a.clamp(-0.5, 0.8), lambda t, a: a.clamp(-0.5, 0.8),
           label="clamp both"),
    _unary("clamp", lambda a: a.clamp(min=0.3), lambda t, a: a.clamp(min=0.3),
           label="clamp min only"),
    _unary("clamp", lambda a: a.clamp(max=-0.2), lambda t, a: a.clamp(max=-0.2),
           label="clamp max only"),
    _unary("sign", lambda a: a.sign(), lambda t, a: a.sign(), OFF_ZERO),
    OpCase("roll", "roll axis", lambda a: a.roll(1, axis=0), lambda t, a: t.roll(a, 1, 0),
           (((3, 2),), ((4,),), ((2, 3, 2),))),
    OpCase("roll", "roll flattened", lambda a: a.roll(-2), lambda t, a: t.roll(a, -2),
           (((2, 3),), ((4,),), ((),))),
    OpCase("roll", "roll two axes", lambda a: a.roll((1, -4), axis=(0, -1)),
           lambda t, a: t.roll(a, (1, -4), (0, -1)), (((2, 3),), ((3, 2, 2),))),
    OpCase("reshape", "flatten", lambda a: a.flatten(), lambda t, a: a.flatten(),
           (((2, 3),), ((2, 1, 3),), ((),))),
    OpCase("reshape", "flatten middle axes", lambda a: a.flatten(1, 2),
           lambda t, a: a.flatten(1, 2), (((2, 3, 2, 2),), ((1, 2, 3),))),
    OpCase("reshape", "squeeze all", lambda a: a.squeeze(), lambda t, a: a.squeeze(),
           (((2, 1, 3),), ((1, 1),), ((3,),))),
    OpCase("reshape", "squeeze axis", lambda a: a.squeeze(-2), lambda t, a: a.squeeze(-2),
           (((2, 1, 3),), ((1, 4),))),
    OpCase("reshape", "unsqueeze", lambda a: a.unsqueeze(1), lambda t, a: a.unsqueeze(1),
           (((2, 3),), ((4,),))),
    OpCase("reshape", "unsqueeze last", lambda a: a.unsqueeze(-1), lambda t, a: a.unsqueeze(-1),
           (((2, 3),), ((),))),
    OpCase("einsum", "einsum matmul", _einsum("ij,jk->ik"), _torch_einsum("ij,jk->ik"),
           (((2, 3), (3, 4)), ((1, 2), (2, 1)))),
    OpCase("einsum", "einsum memory read", _einsum("bnd,bd->bn"), _torch_einsum("bnd,bd->bn"),
           (((2, 3, 4), (2, 4)),)),
    OpCase("einsum", "einsum weighted sum", _einsum("bn,bnd->bd"), _torch_einsum("bn,bnd->bd"),
           (((2, 3), (2, 3, 4)),)),
    OpCase("einsum", "einsum outer", _einsum("i,j->ij"), _torch_einsum("i,j->ij"),
           (((3,), (2,)),)),
    OpCase("einsum", "einsum index summed in one operand", _einsum("ij,k->ik"),
           _torch_einsum("ij,k->ik"), (((2, 3), (4,)),)),
    OpCase("einsum", "einsum trace", _einsum("ii->"), _torch_einsum("ii->"), (((3, 3),),)),
    OpCase("einsum", "einsum diagonal", _einsum("ii->i"), _torch_einsum("ii->i"), (((3, 3),),)),
    OpCase("einsum", "einsum repeated index with another operand", _einsum("iij,jk->ik"),
           _torch_einsum("iij,jk->ik"), (((3, 3, 2), (2, 4)),)),
    OpCase("einsum", "einsum ellipsis", _einsum("...ij,...jk->...ik"),
           _torch_einsum("...ij,...jk->...ik"),
           (((2, 2, 3), (2, 3, 2)), ((2, 3), (3, 2)), ((2, 2, 3), (3, 4)))),
    OpCase("einsum", "einsum implicit output", _einsum("ij,jk"), _torch_einsum("ij,jk"),
           (((2, 3), (3, 4)),)),
    OpCase("einsum", "einsum implicit transpose", _einsum("ba"), _torch_einsum("ba"),
           (((2, 3),),)),
    OpCase("einsum", "einsum permute", _einsum("ijk->kij"), _torch_einsum("ijk->kij"),
           (((2, 3, 4),),)),
    OpCase("einsum", "einsum three operands", _einsum("ij,jk,kl->il"),
           _torch_einsum("ij,jk,kl->il"), (((2, 3), (3, 2), (2, 4)),)),
    # OFF_ZERO keeps norms above eps: below it PyTorch's gradient is not its formula's
    # (tests/test_vocabulary.py checks that regime against central differences)
    OpCase("sum", "cosine_similarity", lambda a, b: F.cosine_similarity(a, b),
           lambda t, a, b: t.nn.functional.cosine_similarity(a, b, dim=-1),
           (((2, 3), (2, 3)), ((4,), (4,)), ((2, 1, 3), (4, 3))), (OFF_ZERO,)),
    OpCase("sum", "cosine_similarity axis 0", lambda a, b: F.cosine_similarity(a, b, axis=0),
           lambda t, a, b: t.nn.functional.cosine_similarity(a, b, dim=0),
           (((3, 2), (3, 2)), ((3, 1), (3, 4))), (OFF_ZERO,)),
)
