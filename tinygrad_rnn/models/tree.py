"""Recursive nets over trees (DL book 10.6): one composition function applied at every node.

A leaf n reads its input x(n) (a token's one-hot vector, or the sequence's x(t)); an internal
node combines its two children:

    tanh:  h(n) = tanh(W_l h(left) + W_r h(right) + U x(n) + b)       (U x(n) only for a label)
    lstm:  the binary Tree-LSTM of Tai, Socher & Manning 2015 (their N-ary Tree-LSTM, eq. 9-14,
           N = 2): gates i, f_l, f_r, o and proposal u from the same sum,
           c(n) = i * u + f_l * c(left) + f_r * c(right),  h(n) = o * tanh(c(n))

and the root is read out, o = c + V h(root). Over a sequence the net builds a balanced binary
tree (depth ceil(log2 T) instead of a chain's T); a TreeBatch brings its own trees, a different
one per example.

Two schedules give the same numbers (tested to 1e-12 in float64); the default, "auto", takes
"node" when every example of the batch has the same tree (a balanced tree over sequences of
one length) and "level" when the trees differ:
  "level": the nodes of equal height of every tree in the batch are computed together (one
      matmul per level), each level inside scope("tree-rnn", step=k, axis="level");
  "node":  one node at a time, each inside scope("tree-rnn", step=n+1, axis="node") with the
      children read in scopes "left child" / "right child"; examples whose trees have the
      same shape share each node's computation. This is what the explorer draws.
"""

from __future__ import annotations

import numpy as np

from ..autograd import ShapeError, scope
from ..tasks.base import SequenceBatch
from ..tasks.trees import NO_LABEL, Tree, TreeBatch, balanced_tree, check_tree_batch
from ..tensor import Tensor, cat
from .base import CatalogModel, Run, uniform_param

CELLS = ("tanh", "lstm")
SCHEDULES = ("auto", "level", "node")
SLOTS = ("left child", "right child")


class TreeRNN(CatalogModel):
    """A recursive net over binary trees, with a tanh or a Tree-LSTM composition (see module).

    Shapes: x (T, B, D) (a balanced tree over each sequence) or a TreeBatch of B trees whose
    tokens are 0..D-1 -> o (B, C) at the roots. Parameters: W_l, W_r (G H, H), U (G H, D),
    b (G H,) with G = 1 (tanh) or 5 (lstm: i, f_l, f_r, o, u); V (C, H), c (C,).
    """

    scope_name = "tree-rnn"
    consumes = (TreeBatch, SequenceBatch)
    emits = ("last",)
    needs_context = False
    options = {"cell": ("tanh", "composition: tanh, or lstm (binary Tree-LSTM, Tai et al. 2015)"),
               "schedule": ("auto", "level: a batch's nodes of equal height together; node: "
                                    "one tree node at a time (what the explorer draws); auto: "
                                    "node when every example has the same tree, else level")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16,
                 cell: str = "tanh", schedule: str = "auto"):
        super().__init__(input_size, output_size, hidden_size)
        if cell not in CELLS:
            raise ValueError(f"tree-rnn: cell must be tanh or lstm, got {cell!r}")
        if schedule not in SCHEDULES:
            raise ValueError(f"tree-rnn: schedule must be auto, level or node, got {schedule!r}")
        self.input_size, self.output_size, self.hidden_size = input_size, output_size, hidden_size
        self.cell, self.schedule = cell, schedule
        H, G = hidden_size, 1 if cell == "tanh" else 5
        self.W_l = uniform_param((G * H, H), H)
        self.W_r = uniform_param((G * H, H), H)
        self.U = uniform_param((G * H, input_size), H)
        self.b = uniform_param((G * H,), H)
        self.V = uniform_param((output_size, H), H)
        self.c = uniform_param((output_size,), H)

    @property
    def recurrent_weight(self) -> Tensor:
        return self.W_l

    # ------------------------------------------------------------------- the two entries

    def forward(self, x: Tensor, state=None, t0: int = 0, emit: str | None = None) -> Run:
        """A balanced binary tree over each sequence x(1..T), the same tree for every example.

        Shapes: x (T, B, D) -> Run.outputs [o (B, C)]. Leaf t-1 of the tree reads x(t).
        """
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ShapeError(f"tree-rnn(input_size={self.input_size}) got x with shape "
                             f"{getattr(x, 'shape', type(x).__name__)}; expected "
                             f"(T, B, {self.input_size})")
        if state is not None or t0 != 0 or emit not in (None, "last"):
            raise ValueError("tree-rnn reads the whole sequence at once: no state, t0 or emit "
                             "other than 'last'")
        T, B, _ = x.shape
        tree = balanced_tree(T)
        rows = x.reshape(T * B, self.input_size)  # leaf n of example b is row n B + b
        inputs = _Inputs(rows, [[n * B + b if n < T else None for n in range(tree.size)]
                                for b in range(B)])
        return self._run([tree] * B, inputs)

    def run_batch(self, batch, teacher: bool = True) -> Run:
        """The trees of a TreeBatch (checked: every bad tree is one error naming its node), or
        a balanced tree over a SequenceBatch's sequences."""
        if isinstance(batch, SequenceBatch):
            return self.forward(Tensor(batch.x.astype(self.W_l.dtype)))
        check_tree_batch(batch, self.input_size, "tree-rnn")
        if batch.vocab_size != self.input_size:
            raise ValueError(f"tree-rnn: the batch's vocabulary has {batch.vocab_size} tokens, "
                             f"the model reads {self.input_size}")
        return self._run(list(batch.trees), _token_inputs(batch.trees, self.input_size,
                                                          self.W_l.dtype))

    def _run(self, trees: list, inputs: _Inputs) -> Run:
        schedule = self.schedule
        if schedule == "auto":
            schedule = "node" if len({t.shape_key() for t in trees}) == 1 else "level"
        run = self._levels if schedule == "level" else self._nodes
        roots, states, extra = run(trees, inputs)
        with scope("readout"):
            o = (roots @ self.V.T + self.c).named("o")
        return Run([o], states, None, extra=extra)

    # ----------------------------------------------------------------- level by level

    def _levels(self, trees: list, inputs: _Inputs) -> tuple:
        """Every node of height k of every tree in one computation, k = 0 (leaves), 1, ..."""
        heights = [t.heights() for t in trees]
        where: dict = {}  # (example, node) -> row of `table`
        table_h, table_c, states = None, None, []
        for k in range(max(h[t.root] for h, t in zip(heights, trees)) + 1):
            nodes = [(b, n) for b, t in enumerate(trees) for n in range(t.size)
                     if heights[b][n] == k]
            with scope(self.scope_name, step=k, axis="level"):
                x = inputs.rows(nodes)
                if k == 0:
                    h, c = self._leaf(x)
                else:
                    kids = [[where[(b, trees[b].children[n][s])] for b, n in nodes]
                            for s in (0, 1)]
                    children = [self._gather(table_h, table_c, kids[s], SLOTS[s])
                                for s in (0, 1)]
                    h, c = self._compose(children[0], children[1], x)
                h = h.named(f"H[{k}]")
            offset = 0 if table_h is None else table_h.shape[0]
            for i, key in enumerate(nodes):
                where[key] = offset + i
            table_h = h if table_h is None else cat([table_h, h])
            if c is not None:
                table_c = c if table_c is None else cat([table_c, c])
            states.append(h)
        root_rows = [where[(b, t.root)] for b, t in enumerate(trees)]
        roots = table_h[np.array(root_rows)].named("h[root]")
        return roots, states, {"trees": trees}

    def _gather(self, table_h, table_c, rows: list, slot: str) -> tuple:
        with scope(slot):
            index = np.array(rows)
            return table_h[index], None if table_c is None else table_c[index]

    # ------------------------------------------------------------------ node by node

    def _nodes(self, trees: list, inputs: _Inputs) -> tuple:
        """One node at a time; examples with same-shaped trees share each node's computation
        (a balanced tree over a batch of sequences is one shape: every node computes B rows)."""
        groups: dict = {}
        for b, tree in enumerate(trees):
            groups.setdefault(tree.shape_key(), []).append(b)
        roots, order, states = [], [], []
        for g, members in enumerate(groups.values()):
            tree = trees[members[0]]
            if len(groups) > 1:  # each shape is a loop of its own: "tree 1", "tree 2", ...
                with scope(f"tree {g + 1}"):
                    root, made = self._one_tree(tree, members, inputs)
            else:
                root, made = self._one_tree(tree, members, inputs)
            roots.append(root)
            order.extend(members)
            states.extend(made)
        with scope("readout"):
            root = roots[0] if len(roots) == 1 else cat(roots)
            if order != list(range(len(trees))):
                root = root[np.argsort(np.array(order))]  # back to the examples' order
            if len(roots) > 1:
                root = root.named("h[root]")
        return root, states, {"trees": trees}

    def _one_tree(self, tree: Tree, members: list, inputs: _Inputs) -> tuple:
        state: dict = {}
        made = []
        for n in _postorder(tree):
            with scope(self.scope_name, step=n + 1, axis="node"):
                kids = tree.children[n]
                x = inputs.rows([(b, n) for b in members])
                if not kids:
                    h, c = self._leaf(x)
                else:
                    h, c = self._compose(state[kids[0]], state[kids[1]], x)
                h = h.named(f"h[{n + 1}]")
            state[n] = (h, c)
            made.append(h)
        return state[tree.root][0], made

    # ------------------------------------------------------------ the shared functions

    def _leaf(self, x: Tensor) -> tuple:
        """A leaf's state from its input alone. Shapes: x (m, D) -> h (m, H), c or None."""
        with scope("leaf"):
            a = x @ self.U.T + self.b
            if self.cell == "tanh":
                return a.tanh(), None
            i, _, _, o, u = self._gates(a)
            c = i * u
            return o * c.tanh(), c

    def _compose(self, left: tuple, right: tuple, x: Tensor | None) -> tuple:
        """An internal node from its children's states (h, c) and its label's x (or None)."""
        (h_l, c_l), (h_r, c_r) = left, right
        with scope(SLOTS[0]):
            a_l = h_l @ self.W_l.T
        with scope(SLOTS[1]):
            a_r = h_r @ self.W_r.T
        a = a_l + a_r
        if x is not None:
            a = a + x @ self.U.T
        a = a + self.b
        if self.cell == "tanh":
            return a.tanh(), None
        i, f_l, f_r, o, u = self._gates(a)
        with scope(SLOTS[0]):
            kept_l = f_l * c_l
        with scope(SLOTS[1]):
            kept_r = f_r * c_r
        c = i * u + kept_l + kept_r
        return o * c.tanh(), c

    def _gates(self, a: Tensor) -> tuple:
        """i, f_l, f_r, o (sigmoids) and u (tanh) from the (m, 5H) pre-activation."""
        H = self.hidden_size
        i, f_l, f_r, o = (a[:, k * H:(k + 1) * H].sigmoid() for k in range(4))
        return i, f_l, f_r, o, a[:, 4 * H:].tanh()


class _Inputs:
    """Where each node's input x(n) is: a row of one input matrix, or none (an unlabelled
    internal node). rows_of[b][n] is the row of node n of example b, or None."""

    def __init__(self, matrix: Tensor, rows_of: list):
        self.matrix, self.rows_of = matrix, rows_of

    def rows(self, nodes: list) -> Tensor | None:
        """x for (example, node) pairs, (m, D); None when no node has an input; a node without
        one among nodes that have one (an unlabelled internal node) reads a zero row."""
        rows = [self.rows_of[b][n] for b, n in nodes]
        if all(r is None for r in rows):
            return None
        with scope("x"):  # its own scope: the explorer folds the reads of x(n) together
            return self._gather(rows)

    def _gather(self, rows: list) -> Tensor:
        if any(r is None for r in rows):
            zero = self.matrix.shape[0] - 1  # _token_inputs keeps its last row zero
            rows = [zero if r is None else r for r in rows]
        return self.matrix[np.array(rows)]


def _token_inputs(trees: list, vocab: int, dtype) -> _Inputs:
    """One-hot rows for every token of every tree, plus a last all-zero row for the unlabelled."""
    tokens, rows_of = [], []
    for tree in trees:
        rows = []
        for token in tree.tokens:
            if token == NO_LABEL:
                rows.append(None)
            else:
                rows.append(len(tokens))
                tokens.append(token)
        rows_of.append(rows)
    onehot = np.zeros((len(tokens) + 1, vocab), dtype=dtype)
    onehot[np.arange(len(tokens)), tokens] = 1.0
    return _Inputs(Tensor(onehot, name="x"), rows_of)


def _postorder(tree: Tree) -> list:
    """Left subtree, right subtree, node: every node after its children (iterative)."""
    out, stack = [], [(tree.root, False)]
    while stack:
        n, expanded = stack.pop()
        if expanded or not tree.children[n]:
            out.append(n)
            continue
        stack.append((n, True))
        left, right = tree.children[n]
        stack.append((right, False))
        stack.append((left, False))
    return out
