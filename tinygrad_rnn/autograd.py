"""The record and the reverse walk: grad mode, scopes, node ids, backward without recursion."""

from __future__ import annotations

import contextlib
import itertools
from typing import Callable, Iterator, NamedTuple

import numpy as np


class ShapeError(ValueError):
    """A shape problem; the message names the op and every shape involved."""


class Loop(NamedTuple):
    """What a step tag counts: its axis ("time", "hop", "node", ...) and the scope path of the
    `scope(..., step=)` call that set it. Two nodes are the same loop's steps only when both
    agree, so an encoder's and a decoder's time steps never read as one recurrence."""

    axis: str
    scope: tuple


class _State:
    """Process-wide recording state, read by every op as it runs."""

    grad_enabled = True
    scope: tuple = ()
    step = None
    loop = None
    anomaly = False


STATE = _State()
next_id = itertools.count().__next__  # ids increase in creation order, so parents < children


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Nothing computed inside is recorded: results are leaves that do not require grad."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        yield
    finally:
        STATE.grad_enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Turn recording back on inside a `no_grad` block."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = True
    try:
        yield
    finally:
        STATE.grad_enabled = previous


def is_grad_enabled() -> bool:
    """True outside `no_grad`."""
    return STATE.grad_enabled


@contextlib.contextmanager
def scope(name: str, step: int | None = None, axis: str | None = None) -> Iterator[None]:
    """Tag every tensor made inside with `name` appended to `.scope` (and `.step` when given).

    A step counts along an axis: "time" unless `axis` says otherwise ("hop" for memory hops,
    "node" for tree nodes). The scope that sets a step owns it: `.loop` of every tensor made
    inside is Loop(axis, that scope's path). Scopes nest; an inner scope without a step
    inherits the enclosing step and loop.
    """
    if not isinstance(name, str):
        raise TypeError(f"scope: name must be a str, got {type(name).__name__}")
    if step is not None and (not isinstance(step, (int, np.integer)) or isinstance(step, bool)):
        raise TypeError(f"scope: step must be an int or None, got {step!r}")
    if axis is not None:
        if step is None:
            raise TypeError(f"scope: axis={axis!r} needs a step (scope({name!r}, step=..., "
                            f"axis={axis!r}))")
        if not isinstance(axis, str) or not axis.isidentifier():
            raise TypeError(f"scope: axis must be a name such as 'time' or 'hop', got {axis!r}")
    previous = (STATE.scope, STATE.step, STATE.loop)
    STATE.scope = STATE.scope + (name,)
    if step is not None:
        STATE.step = int(step)
        STATE.loop = Loop(axis or "time", STATE.scope)
    try:
        yield
    finally:
        STATE.scope, STATE.step, STATE.loop = previous


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise as soon as a NaN or inf appears in a forward result or a gradient."""
    previous = STATE.anomaly
    STATE.anomaly = True
    try:
        yield
    finally:
        STATE.anomaly = previous


def where_is(node) -> str:
    """'op "tanh" (id 12, scope rnn, step 3)': how error messages point at a node."""
    scope_text = "/".join(node.scope) if node.scope else "-"
    axis = node.axis
    step = node.step if axis in (None, "time") else f"{axis} {node.step}"
    return f'op "{node.op or "leaf"}" (id {node.id}, scope {scope_text}, step {step})'


def check_finite(node, array: np.ndarray, what: str) -> None:
    """Under detect_anomaly: raise if `array` holds a NaN or inf."""
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = "nan" if np.isnan(array).any() else "inf"
        raise FloatingPointError(f"detect_anomaly: {what} of {where_is(node)} contains {bad}")


class SliceGrad:
    """The gradient of `x[index]` with respect to x, kept sparse until it is accumulated.

    Taking one step of a (T, B, H) tensor T times would otherwise cost T dense (T, B, H) arrays.
    """

    __slots__ = ("index", "grad", "shape", "advanced")

    def __init__(self, index, grad: np.ndarray, shape: tuple, advanced: bool):
        self.index = index
        self.grad = grad
        self.shape = shape
        self.advanced = advanced

    def add_into(self, buffer: np.ndarray) -> None:
        """buffer[index] += grad, with repeated indices accumulating."""
        if self.advanced:
            np.add.at(buffer, self.index, self.grad)
            return
        view = buffer[self.index]
        if type(view) is np.ndarray:  # basic indexing gives a view: add in place, no write-back
            view += self.grad
        else:  # an integer for every axis picks one element, a numpy scalar: write it back
            buffer[self.index] += self.grad

    def dense(self, dtype) -> np.ndarray:
        buffer = np.zeros(self.shape, dtype=dtype)
        self.add_into(buffer)
        return buffer


def _accumulate(grads: dict, owned: dict, parent, contribution, op_name: str) -> None:
    """Add one contribution to a parent's gradient, in place only into buffers made here."""
    data = parent.data
    key = parent.id
    previous = grads.get(key)
    if type(contribution) is SliceGrad:
        if previous is None:
            buffer = np.zeros(data.shape, dtype=data.dtype)
        elif key in owned:
            buffer = previous
        else:
            buffer = np.array(previous, dtype=data.dtype)
        contribution.add_into(buffer)
        grads[key] = buffer
        owned[key] = True
        return
    if contribution.shape != data.shape:
        raise ShapeError(f"backward of {op_name}: gradient for input id {parent.id} has shape "
                         f"{contribution.shape}, but the input has shape {data.shape}")
    if contribution.dtype != data.dtype:
        contribution = contribution.astype(data.dtype)
    if previous is None:
        grads[key] = contribution
    elif key in owned:
        previous += contribution  # an ndarray made here: nobody else holds it
    else:
        total = previous + contribution
        if type(total) is np.ndarray:  # a 0-d sum comes back as an immutable numpy scalar
            owned[key] = True
        grads[key] = total


def _graph_order(root) -> list:
    """The nodes that require grad and reach root, children before parents (by id, descending)."""
    seen = {root.id: root}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if parent.requires_grad and parent.id not in seen:
                seen[parent.id] = parent
                stack.append(parent)
    return [seen[key] for key in sorted(seen, reverse=True)]


_FREED_HINT = ("backward: trying to backward through a part of the graph a second time: the "
               "arrays {where} saved for backward were freed by an earlier backward(). Usual "
               "cause: a recurrent state carried into the next chunk without .detach() "
               "(truncated BPTT needs h = h.detach() between chunks); otherwise pass "
               "retain_graph=True to the first backward().")


def _check_contributions(node, contributions) -> None:
    """Under detect_anomaly: name the op whose backward produced a NaN or inf."""
    for k, contribution in enumerate(contributions):
        if type(contribution) is SliceGrad:
            contribution = contribution.grad
        if contribution is not None:
            check_finite(node, np.asarray(contribution), f"the backward (gradient for input {k})")


def backward(root, grad=None, retain_graph: bool = False,
             on_grad: Callable | None = None) -> None:
    """Reverse-mode sweep from `root`: accumulate gradients into leaves and retained nodes."""
    if not root.requires_grad:
        raise RuntimeError(f"backward: {where_is(root)} does not require grad; nothing it "
                           f"depends on has requires_grad=True")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: grad can be implied only for a scalar output, but "
                               f"the output has shape {root.data.shape}; pass grad= of that shape")
        grad = np.ones_like(root.data)
    else:
        grad = np.array(getattr(grad, "data", grad), dtype=root.data.dtype)
        if grad.shape != root.data.shape:
            raise ShapeError(f"backward: grad has shape {grad.shape}, but the output has shape "
                             f"{root.data.shape}")
    grads = {root.id: grad}
    owned: dict = {}
    anomaly = STATE.anomaly
    if anomaly:
        check_finite(root, grad, "gradient passed to backward()")
    for node in _graph_order(root):
        g = grads.pop(node.id, None)
        if g is None:
            continue
        if node._hooks:
            for hook in node._hooks:
                replaced = hook(g)
                if replaced is not None:
                    g = np.asarray(replaced, dtype=node.data.dtype)
                    owned.pop(node.id, None)  # the hook's array is not ours to keep or mutate
                    if anomaly:
                        check_finite(node, g, "gradient a hook returned")
                    if g.shape != node.data.shape:
                        raise ShapeError(f"backward: a hook on {where_is(node)} returned a "
                                         f"gradient of shape {g.shape} for a tensor of shape "
                                         f"{node.data.shape}")
        if on_grad is not None:
            on_grad(node, g)
        ctx = node._ctx
        if ctx is None or node._retain:
            if node.id not in owned:
                g = np.array(g)  # the array may be shared with other nodes' gradients
            node.grad = g if node.grad is None else node.grad + g
        if ctx is None:
            continue
        if ctx.released:
            raise RuntimeError(_FREED_HINT.format(where=where_is(node)))
        contributions = ctx.backward(g)
        name = ctx.name
        if anomaly:
            _check_contributions(node, contributions)
        for parent, contribution in zip(node.parents, contributions):
            if contribution is None or not parent.requires_grad:
                continue
            data = parent.data
            if parent.id not in grads and type(contribution) is np.ndarray \
                    and contribution.shape == data.shape and contribution.dtype == data.dtype:
                grads[parent.id] = contribution  # the first to arrive: nothing to add it to
            else:
                _accumulate(grads, owned, parent, contribution, name)
        if not retain_graph:
            ctx.release()


def vjp(node, grad: np.ndarray) -> tuple:
    """What `node`'s op passes to each parent for an incoming gradient (None where nothing).

    Needs the node's saved arrays, so call it before backward frees them (or after a backward
    with retain_graph=True). Records nothing and changes no gradient.
    """
    ctx = node._ctx
    if ctx is None:
        return ()
    if ctx.released:
        raise RuntimeError(_FREED_HINT.format(where=where_is(node)))
    out = []
    for parent, contribution in zip(node.parents, ctx.backward(np.asarray(grad))):
        if type(contribution) is SliceGrad:
            contribution = contribution.dense(parent.data.dtype)
        out.append(contribution)
    return tuple(out)
