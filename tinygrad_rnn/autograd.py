"""The record and the reverse walk: grad mode, scopes, node ids, backward without recursion."""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
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


class _State(threading.local):
    """Recording state, one per thread (as PyTorch's grad mode): the class attributes are every
    thread's defaults, so a thread inside `no_grad()` or `scope()` never changes what another
    thread records, and every read on the hot path stays a plain attribute read."""

    grad_enabled = True
    grad_blocks: tuple = ()  # (token, mode) of the open no_grad/enable_grad blocks, innermost last
    scope: tuple = ()
    step = None
    loop = None
    anomaly = False
    # the five above packed in one tuple that every op reads once (a thread-local attribute read
    # costs ~3x a plain one); every writer calls sync() after changing a field
    packed: tuple = ((), None, None, True, False)

    def sync(self) -> None:
        self.packed = (self.scope, self.step, self.loop, self.grad_enabled, self.anomaly)


STATE = _State()
next_id = itertools.count().__next__  # ids increase in creation order, so parents < children


def _push(value: bool) -> object:
    """Enter a grad-mode block: the mode is the innermost block still open, so blocks exited
    out of order (two overlapping `no_grad` entered by hand) never leave recording off."""
    token = object()
    STATE.grad_blocks = STATE.grad_blocks + ((token, value),)
    STATE.grad_enabled = value
    STATE.sync()
    return token


def _pop(token: object) -> None:
    STATE.grad_blocks = tuple(block for block in STATE.grad_blocks if block[0] is not token)
    STATE.grad_enabled = STATE.grad_blocks[-1][1] if STATE.grad_blocks else True
    STATE.sync()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Nothing computed inside is recorded: results are leaves that do not require grad.
    Per thread: another thread keeps recording."""
    token = _push(False)
    try:
        yield
    finally:
        _pop(token)


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Turn recording back on inside a `no_grad` block."""
    token = _push(True)
    try:
        yield
    finally:
        _pop(token)


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
    STATE.sync()
    try:
        yield
    finally:
        STATE.scope, STATE.step, STATE.loop = previous
        STATE.sync()


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise as soon as a NaN or inf appears in a forward result or a gradient."""
    previous = STATE.anomaly
    STATE.anomaly = True
    STATE.sync()
    try:
        yield
    finally:
        STATE.anomaly = previous
        STATE.sync()


def where_is(node) -> str:
    """'op "tanh" (id 12, scope rnn, step 3)': how error messages point at a node."""
    scope_text = "/".join(node.scope) if node.scope else "-"
    axis = node.axis
    step = node.step if axis in (None, "time") else f"{axis} {node.step}"
    return f'op "{node.op or "leaf"}" (id {node.id}, scope {scope_text}, step {step})'


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_line() -> str:
    """'file.py:12 in fn: <source>' of the innermost frame outside the engine (anomaly mode)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return ""
    import linecache  # only in anomaly mode

    source = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return (f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
            + (f": {source}" if source else ""))


def check_finite(node, array: np.ndarray, what: str, origin: str | None = None) -> None:
    """Under detect_anomaly: raise if `array` holds a NaN or inf, naming the user's line that
    created the node (recorded only in anomaly mode)."""
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = "nan" if np.isnan(array).any() else "inf"
        if origin is None:
            origin = getattr(node._ctx, "origin", None) if node._ctx is not None else None
        made = f"; created at {origin}" if origin else ""
        raise FloatingPointError(f"detect_anomaly: {what} of {where_is(node)} contains "
                                 f"{bad}{made}")


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


def _hook_result(replaced, hook, node) -> np.ndarray:
    """A hook's returned gradient as an array of the node's dtype, or a clear error."""
    value = getattr(replaced, "data", replaced) if not isinstance(replaced, np.ndarray) \
        else replaced
    if isinstance(value, (str, bytes)) or not isinstance(value, (np.ndarray, int, float,
                                                                 np.generic, list, tuple)):
        raise TypeError(f"backward: the hook {getattr(hook, '__name__', hook)!r} on "
                        f"{where_is(node)} returned {type(replaced).__name__} {replaced!r:.40}; "
                        f"a hook returns None or a gradient array")
    try:
        return np.asarray(value, dtype=node.data.dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"backward: the hook {getattr(hook, '__name__', hook)!r} on "
                        f"{where_is(node)} returned a value that is not a numeric array: "
                        f"{error}") from None


def _add_to_grad(node, g: np.ndarray) -> np.ndarray:
    """An existing .grad (maybe set by the user) plus g; a wrong shape is an error, never a
    broadcast."""
    previous = node.grad
    shape = getattr(previous, "shape", None)
    if shape != g.shape:
        raise ShapeError(f"backward: {where_is(node)}{' ' + repr(node.name) if node.name else ''} "
                         f"already has a .grad of shape {shape} ({type(previous).__name__}), "
                         f"its gradient has shape {g.shape}; set .grad to None or an array of "
                         f"the tensor's shape")
    return previous + g


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
        value = getattr(grad, "data", grad)
        if isinstance(value, (str, bytes)):
            raise TypeError(f"backward: grad must be an array or a number, got "
                            f"{type(value).__name__} {value!r:.40}")
        try:
            grad = np.array(value, dtype=root.data.dtype)
        except (TypeError, ValueError) as error:
            raise TypeError(f"backward: grad must be a numeric array of shape "
                            f"{root.data.shape}, got {type(value).__name__} ({error})") from None
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
            if node.id not in owned:  # a hook may write into its array: give it one of its own
                g = np.array(g)
                owned[node.id] = True
            for hook in node._hooks:
                replaced = hook(g)
                if replaced is not None:
                    g = _hook_result(replaced, hook, node)
                    owned.pop(node.id, None)  # the hook's array is not ours to keep or mutate
                    if anomaly:
                        check_finite(node, g, "gradient a hook returned")
                    if g.shape != node.data.shape:
                        raise ShapeError(f"backward: a hook on {where_is(node)} returned a "
                                         f"gradient of shape {g.shape} for a tensor of shape "
                                         f"{node.data.shape}")
        if on_grad is not None:
            on_grad(node, np.array(g))  # a copy: writing into it changes no gradient
        ctx = node._ctx
        if ctx is None or node._retain:
            if node.id not in owned:
                g = np.array(g)  # the array may be shared with other nodes' gradients
            if node.grad is None:
                node.grad = g
            else:
                node.grad = _add_to_grad(node, g)
        if ctx is None:
            continue
        if ctx.released:
            raise RuntimeError(_FREED_HINT.format(where=where_is(node)))
        contributions = ctx.backward(g)
        name = ctx.name
        if anomaly:
            _check_contributions(node, contributions)
        for parent, contribution, array in zip(node.parents, contributions, ctx.seen):
            if contribution is None or not parent.requires_grad:
                continue
            data = parent.data
            if data is not array:
                check_saved(node)  # raises if the op saved the array that was replaced (an
                # optimizer step, load_state_dict, .data assignment since the forward)
            if parent.id not in grads and type(contribution) is np.ndarray \
                    and contribution.shape == data.shape and contribution.dtype == data.dtype:
                grads[parent.id] = contribution  # the first to arrive: nothing to add it to
            else:
                _accumulate(grads, owned, parent, contribution, name)
        if not retain_graph:
            ctx.release()


def _saved_by(ctx, array: np.ndarray) -> bool:
    """Whether the op kept `array` (or a view of it) for its backward."""
    for name, value in vars(ctx).items():
        if name == "seen":  # the arrays the op was given, kept for this check only
            continue
        items = value if type(value) is tuple else (value,)
        for item in items:
            if type(item) is np.ndarray and (item is array or item.base is array
                                             or (array.base is not None and item is array.base)):
                return True
    return False


def check_saved(node) -> None:
    """Raise if an array the op of `node` saved for backward was written in place (or its
    tensor's .data replaced) after the forward: its gradient would mix old and new values."""
    ctx = node._ctx
    arrays = ctx.seen
    for k, parent in enumerate(node.parents):
        if parent.data is arrays[k]:
            continue
        # a view (transpose, reshape, a slice) passes the input's memory on to the ops that
        # use it: counted as kept, since those ops may have saved it
        if not _saved_by(ctx, arrays[k]) and not np.may_share_memory(node.data, arrays[k]):
            continue  # the op kept nothing of this input (add, ...): no harm done
        name = f" {parent.name!r}" if parent.name else ""
        how = (f"updated (version now {parent._version})" if parent._version
               else "replaced (.data assigned)")
        raise RuntimeError(f"backward: input {k} of {where_is(node)}, tensor{name} (id "
                           f"{parent.id}, shape {parent.data.shape}), was {how} after the op "
                           f"saved it for backward (an optimizer step, load_state_dict or "
                           f".data assignment between forward and backward). Recompute the "
                           f"forward after the update, or update after backward")


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
    if any(p.data is not a for p, a in zip(node.parents, ctx.seen)):
        check_saved(node)
    out = []
    for parent, contribution in zip(node.parents, ctx.backward(np.asarray(grad))):
        if type(contribution) is SliceGrad:
            contribution = contribution.dense(parent.data.dtype)
        out.append(contribution)
    return tuple(out)
