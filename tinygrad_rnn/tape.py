"""Tape replay for fixed shapes: record a step's ops once, then re-run them without the record.

    tape = Tape(loss_fn, x, y)        # runs loss_fn(x, y) once and keeps its ops, in order
    for x, y in batches:
        opt.zero_grad()
        loss = tape.replay(x, y)      # the same ops on these inputs and the parameters' current
        opt.step()                    # values: forward, then backward into every .grad

Replay runs each recorded op's own forward and backward (ops.py) in the recorded order and
accumulates gradients as `backward()` does, so the loss and every gradient equal a fresh
`loss_fn(x, y).backward()` to the last bit; it skips what recording costs (Tensor objects,
scopes, the walk's sort). What it cannot see: Python control flow inside loss_fn. Replay
therefore checks every input's shape and dtype and every op's output shape against the
recording and raises TapeError when one differs; a loss_fn whose branches depend on values
(argmax feedback, early exits) must not be taped. Leaves that loss_fn makes itself (zeros,
targets baked in as constants) are frozen at their recorded values: pass anything that changes
from call to call as an input. Leaves that require grad (parameters) are read afresh at every
replay. Hooks and retain_grad are not replayed (recording one raises TapeError).
`tape.verify(*inputs)` runs loss_fn afresh beside a replay and raises TapeError unless both
agree to the bit: call it on a few batches to check that a loss_fn is safe to tape.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .autograd import _accumulate
from .tensor import Tensor

__all__ = ["Tape", "TapeError"]


class TapeError(RuntimeError):
    """The inputs or the recorded program no longer match what the tape recorded."""


class _Slot:
    """What `_accumulate` reads of a parent: its id (the slot) and its array."""

    __slots__ = ("id", "data")

    def __init__(self, key: int, data: np.ndarray):
        self.id, self.data = key, data


class Tape:
    """One recorded call of `fn(*inputs) -> scalar loss Tensor`, replayable on new inputs."""

    def __init__(self, fn: Callable, *inputs: Tensor):
        for k, x in enumerate(inputs):
            if not isinstance(x, Tensor):
                raise TypeError(f"Tape: input {k} must be a Tensor, got {type(x).__name__}")
        loss = fn(*inputs)
        if not isinstance(loss, Tensor) or loss.data.size != 1 or not loss.requires_grad:
            raise TapeError("Tape: fn must return a scalar loss Tensor that requires grad")
        nodes = _reachable(loss)
        slot = {node.id: k for k, node in enumerate(nodes)}
        input_slot = {id(x): k for k, x in enumerate(inputs)}
        self._inputs = [(x.shape, x.dtype) for x in inputs]
        self._leaves = []  # (slot, "input", k) / (slot, "param", tensor) / (slot, "const", array)
        self._ops = []  # (slot, op class, args, parent slots, needs, output shape)
        self._requires = [node.requires_grad for node in nodes]
        self._params = {}
        for k, node in enumerate(nodes):
            if node._hooks or node._retain:
                raise TapeError(f"Tape: node {node.name or node.op} has a hook or retain_grad; "
                                f"a tape does not replay them")
            ctx = node._ctx
            if ctx is None:
                if id(node) in input_slot:
                    self._leaves.append((k, "input", input_slot[id(node)]))
                elif node.requires_grad:
                    self._leaves.append((k, "param", node))
                    self._params[k] = node
                else:
                    self._leaves.append((k, "const", node.data))
                continue
            args = ctx.args if ctx.__dict__.get("args") else None
            self._ops.append((k, type(ctx), args, tuple(slot[p.id] for p in node.parents),
                              ctx.needs, node.data.shape))
        self._root = slot[loss.id]
        # the backward walk visits ops and parameters only, children before parents
        self._walk = sorted([op[0] for op in self._ops if self._requires[op[0]]]
                            + list(self._params), reverse=True)
        self._fn = fn
        self.ops = len(self._ops)  # how many ops one replay runs

    def verify(self, *inputs: Tensor) -> None:
        """Run loss_fn afresh and the replay on these inputs and raise TapeError unless the loss
        and every parameter's gradient agree to the bit (a frozen constant, a branch on values).
        The parameters' .grad are left as they were."""
        params = list(self._params.values())
        kept = [p.grad for p in params]
        try:
            for p in params:
                p.grad = None
            fresh = self._fn(*inputs)
            fresh.backward()
            want = [p.grad for p in params]
            for p in params:
                p.grad = None
            got = self.replay(*inputs)
            if got != float(fresh.data.reshape(())):
                raise TapeError(f"Tape.verify: the replayed loss {got!r} differs from a fresh "
                                f"run's {float(fresh.data.reshape(()))!r}: loss_fn depends on "
                                f"something the tape froze (a constant made from values, a "
                                f"branch); do not tape it")
            for p, w in zip(params, want):
                if not np.array_equal(p.grad, w):
                    raise TapeError(f"Tape.verify: the replayed gradient of "
                                    f"{p.name or 'a parameter'} {p.shape} differs from a fresh "
                                    f"run's; loss_fn depends on something the tape froze")
        finally:
            for p, g in zip(params, kept):
                p.grad = g

    def replay(self, *inputs: Tensor) -> float:
        """Forward and backward on these inputs; gradients accumulate into the parameters'
        `.grad` as `backward()` would. Returns the loss as a float."""
        if len(inputs) != len(self._inputs):
            raise TapeError(f"Tape.replay: recorded with {len(self._inputs)} inputs, got "
                            f"{len(inputs)}")
        values: list = [None] * len(self._requires)
        for key, kind, ref in self._leaves:
            if kind == "input":
                x = inputs[ref]
                shape, dtype = self._inputs[ref]
                data = x.data if isinstance(x, Tensor) else np.asarray(x)
                if data.shape != shape or data.dtype != dtype:
                    raise TapeError(f"Tape.replay: input {ref} has shape {data.shape} "
                                    f"{data.dtype}; the tape was recorded with {shape} {dtype}")
                values[key] = data
            elif kind == "param":
                values[key] = ref.data
            else:
                values[key] = ref
        contexts: list = [None] * len(values)
        new = object.__new__
        for key, cls, args, parents, needs, shape in self._ops:
            ctx = cls(**args) if args else new(cls)
            ctx.needs = needs
            if len(parents) == 2:
                out = ctx.forward(values[parents[0]], values[parents[1]])
            elif len(parents) == 1:
                out = ctx.forward(values[parents[0]])
            else:
                out = ctx.forward(*[values[p] for p in parents])
            if type(out) is not np.ndarray:
                out = np.asarray(out)
            if out.shape != shape:
                raise TapeError(f"Tape.replay: op {cls.name} made shape {out.shape}, recorded "
                                f"{shape}: the program's shapes changed; record a new tape")
            values[key] = out
            contexts[key] = (ctx, parents)
        self._backward(values, contexts)
        return float(values[self._root].reshape(()))

    def _backward(self, values: list, contexts: list) -> None:
        """autograd.backward's walk over the recorded order (same accumulation, same bits)."""
        root = values[self._root]
        grads = {self._root: np.ones_like(root)}
        owned: dict = {}
        requires = self._requires
        params = self._params
        for key in self._walk:
            g = grads.pop(key, None)
            if g is None:
                continue
            entry = contexts[key]
            if entry is None:
                param = params[key]
                if key not in owned:
                    g = np.array(g)
                param.grad = g if param.grad is None else param.grad + g
                continue
            ctx, parents = entry
            contributions = ctx.backward(g)
            for parent, contribution in zip(parents, contributions):
                if contribution is None or not requires[parent]:
                    continue
                data = values[parent]
                if parent not in grads and type(contribution) is np.ndarray \
                        and contribution.shape == data.shape and contribution.dtype == data.dtype:
                    grads[parent] = contribution
                else:
                    _accumulate(grads, owned, _Slot(parent, data), contribution, ctx.name)


def _reachable(root: Tensor) -> list:
    """Every node root depends on (leaves and constants too), in creation order."""
    seen = {root.id: root}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if parent.id not in seen:
                seen[parent.id] = parent
                stack.append(parent)
    return [seen[key] for key in sorted(seen)]
