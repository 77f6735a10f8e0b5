"""Tree tasks: a Tree per example (binary, checked), the TreeBatch, and the two tree sources —
a balanced binary tree over any sequence, and seeded arithmetic-expression parse trees."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..autograd import scope
from .base import SequenceBatch, SequenceTask, Task

NO_LABEL = -1  # the token of an internal node that carries none (a balanced tree's nodes)
DIGITS = 10
OPERATORS = ("+", "-", "*")
EXPRESSION_VOCAB = tuple(str(d) for d in range(DIGITS)) + OPERATORS  # token k is its text


@dataclass(frozen=True)
class Tree:
    """A binary tree as index lists: node n has children[n] == () (a leaf) or (left, right).

    tokens[n]: a leaf's token (0 .. V-1), an internal node's label token or NO_LABEL; root: the
    node whose state is read out. Nodes are numbered 0 .. N-1 in any order; `check_tree`
    says what is wrong with one that is not a tree.
    """

    children: tuple
    tokens: tuple
    root: int

    @property
    def size(self) -> int:
        return len(self.children)

    def is_leaf(self, n: int) -> bool:
        return len(self.children[n]) == 0

    def leaves(self) -> list:
        """The leaves in token order (left to right)."""
        return [n for n in self.preorder() if self.is_leaf(n)]

    def preorder(self) -> list:
        """Nodes from the root, left subtree before right (iterative). A node met twice (a
        cycle, a shared child) raises instead of looping: check_tree says what is wrong."""
        out, stack, seen = [], [self.root], set()
        while stack:
            n = stack.pop()
            if n in seen:
                raise ValueError(f"not a tree: node {n} is reached twice from the root "
                                 f"{self.root}; check_tree(tree, vocab_size) names the fault")
            seen.add(n)
            out.append(n)
            stack.extend(reversed(self.children[n]))
        return out

    def heights(self) -> list:
        """heights[n]: the longest path from n down to a leaf (0 at a leaf)."""
        height = [0] * self.size
        for n in reversed(self.preorder()):  # children before their parent
            if self.children[n]:
                height[n] = 1 + max(height[c] for c in self.children[n])
        return height

    def depths(self) -> list:
        """depths[n]: the path length from the root down to n (0 at the root)."""
        depth = [0] * self.size
        for n in self.preorder():
            for c in self.children[n]:
                depth[c] = depth[n] + 1
        return depth

    def shape_key(self) -> tuple:
        """Equal for trees that differ at most in their leaf tokens (one computation graph)."""
        labelled = tuple(t != NO_LABEL and bool(c) for c, t in zip(self.children, self.tokens))
        return self.children, self.root, labelled


def balanced_tree(n_leaves: int, tokens=None) -> Tree:
    """A balanced binary tree over leaves 0 .. n-1 (in token order); internal nodes n, n+1, ...
    bottom-up, level by level: adjacent pairs join, an odd last node moves up a level as it is.
    Depth ceil(log2 n). tokens: the leaves' tokens (default: 0 for every leaf)."""
    if n_leaves < 1:
        raise ValueError(f"balanced_tree: needs at least one leaf, got {n_leaves}")
    children = [()] * n_leaves
    level = list(range(n_leaves))
    while len(level) > 1:
        joined = []
        for i in range(0, len(level) - 1, 2):
            joined.append(len(children))
            children.append((level[i], level[i + 1]))
        if len(level) % 2:
            joined.append(level[-1])
        level = joined
    leaf_tokens = [0] * n_leaves if tokens is None else [int(t) for t in tokens]
    return Tree(tuple(children), tuple(leaf_tokens + [NO_LABEL] * (len(children) - n_leaves)),
                level[0])


@dataclass
class TreeBatch:
    """One batch of trees, a different tree per example allowed, one class label per tree.

    trees: B Trees; y (B,) int class labels; vocab_size: the leaf/label tokens are 0 .. V-1.
    """

    trees: list
    y: np.ndarray
    vocab_size: int

    @property
    def size(self) -> int:
        return len(self.trees)

    @property
    def steps(self) -> int:
        """The most leaves of any tree in the batch (a tree task's `--steps`)."""
        return max(len(t.leaves()) for t in self.trees)


def check_tree(tree: Tree, vocab_size: int, who: str = "tree") -> None:
    """Raise ValueError naming the node at fault: an empty tree, a child that is no node, an
    internal node without exactly two children, a cycle, a node reachable twice, a node the
    root never reaches, a token outside the vocabulary."""
    if not isinstance(tree, Tree):
        raise TypeError(f"{who}: expected a Tree, got {type(tree).__name__}")
    N = len(tree.children)
    if N == 0:
        raise ValueError(f"{who} is empty: it has no nodes (a tree needs at least one leaf)")
    if len(tree.tokens) != N:
        raise ValueError(f"{who}: {N} nodes but {len(tree.tokens)} tokens; one token per node")
    if not (isinstance(tree.root, (int, np.integer)) and 0 <= tree.root < N):
        raise ValueError(f"{who}: root {tree.root!r} is not a node (nodes are 0..{N - 1})")
    for n, kids in enumerate(tree.children):
        if len(kids) not in (0, 2):
            raise ValueError(f"{who}: node {n} has {len(kids)} child"
                             f"{'' if len(kids) == 1 else 'ren'} {tuple(kids)}; a node is a leaf "
                             f"(no children) or has exactly two (left, right)")
        for c in kids:
            if not (isinstance(c, (int, np.integer)) and 0 <= c < N):
                raise ValueError(f"{who}: node {n} names child {c!r}, which is not a node "
                                 f"(nodes are 0..{N - 1})")
    _check_reachability(tree, who)
    for n, (kids, token) in enumerate(zip(tree.children, tree.tokens)):
        if not isinstance(token, (int, np.integer)) or isinstance(token, bool):
            raise ValueError(f"{who}: node {n} has token {token!r}; tokens are ints "
                             f"(0..{vocab_size - 1}, or {NO_LABEL} for an unlabelled node)")
        if not kids and not (0 <= token < vocab_size):
            raise ValueError(f"{who}: leaf node {n} has token {token}, outside the vocabulary "
                             f"0..{vocab_size - 1}")
        if kids and token != NO_LABEL and not (0 <= token < vocab_size):
            raise ValueError(f"{who}: internal node {n} has label {token}, outside the "
                             f"vocabulary 0..{vocab_size - 1} (or {NO_LABEL} for none)")


def _check_reachability(tree: Tree, who: str) -> None:
    """Walk down from the root (iteratively): a node met on its own path is a cycle, a node met
    twice otherwise has two parents, a node never met is cut off."""
    parent = {tree.root: None}
    stack = [(tree.root, 0)]  # (node, index of the next child to visit)
    on_path = {tree.root}
    while stack:
        n, k = stack.pop()
        kids = tree.children[n]
        if k == len(kids):
            on_path.discard(n)
            continue
        stack.append((n, k + 1))
        c = kids[k]
        if c in on_path:
            path = [c]
            for m, _ in reversed(stack):
                path.append(m)
                if m == c:
                    break
            raise ValueError(f"{who}: cycle at node {c}: "
                             f"{' -> '.join(str(m) for m in reversed(path))}; a tree has none")
        if c in parent:
            raise ValueError(f"{who}: node {c} is reachable twice (a child of node {parent[c]} "
                             f"and of node {n}); in a tree each node has one parent")
        parent[c] = n
        on_path.add(c)
        stack.append((c, 0))
    missing = [n for n in range(len(tree.children)) if n not in parent]
    if missing:
        raise ValueError(f"{who}: node {missing[0]} is not reachable from the root "
                         f"{tree.root}; every node must hang below the root")


def check_tree_batch(batch: TreeBatch, vocab_size: int, who: str) -> None:
    """check_tree for every tree ("tree-rnn: tree 3: node 5 ..."), and the labels' shape."""
    if not isinstance(batch, TreeBatch):
        raise TypeError(f"{who} reads a TreeBatch or a SequenceBatch, got "
                        f"{type(batch).__name__}")
    if not batch.trees:
        raise ValueError(f"{who}: the batch has no trees")
    for b, tree in enumerate(batch.trees):
        check_tree(tree, vocab_size, f"{who}: tree {b}")
    if np.shape(batch.y) != (len(batch.trees),):
        raise ValueError(f"{who}: y has shape {np.shape(batch.y)}; expected "
                         f"({len(batch.trees)},), one label per tree")


# ------------------------------------------------------------------------------------ tasks


class TreeTask(Task):
    """Base of the tasks that make TreeBatches: one class per tree, cross-entropy at the root."""

    batch_type = TreeBatch
    classify = True

    def loss(self, outputs: list, batch: TreeBatch, reduction: str = "mean") -> tuple:
        """(cross-entropy of the root outputs [o (B, C)], None); "sum" sums over the trees."""
        if len(outputs) != 1:
            raise ValueError(f"task {self.name!r}: expected one output (at the roots), got "
                             f"{len(outputs)}")
        with scope("loss"):
            total = F.cross_entropy(outputs[0], np.asarray(batch.y), reduction=reduction)
        return total.named("L"), None

    def metrics(self, outputs: list, batch: TreeBatch) -> dict:
        loss, _ = self.loss(outputs, batch)
        return {"loss": float(loss.item()),
                "accuracy": float((outputs[0].data.argmax(-1) == batch.y).mean())}

    def baseline(self, batch: TreeBatch) -> float:
        """The entropy of the labels: the best prediction that ignores the tree."""
        counts = np.bincount(batch.y, minlength=self.output_size)
        p = counts[counts > 0] / counts.sum()
        return float(-(p * np.log(p)).sum())


def random_expression(n_leaves: int, rng: np.random.Generator) -> Tree:
    """A random parse tree with n_leaves digits: the leaves split k | n-k (k uniform) at each
    internal node, whose label is an operator. Node 0 is the root; preorder numbering."""
    children, tokens = [], []
    stack = [(n_leaves, None, 0)]  # (leaves below, parent, child slot)
    while stack:
        n, parent, slot = stack.pop()
        node = len(children)
        children.append(())
        if parent is not None:
            kids = list(children[parent]) or [None, None]
            kids[slot] = node
            children[parent] = tuple(kids)
        if n == 1:
            tokens.append(int(rng.integers(0, DIGITS)))
            continue
        tokens.append(DIGITS + int(rng.integers(0, len(OPERATORS))))
        k = int(rng.integers(1, n))
        stack.append((n - k, node, 1))
        stack.append((k, node, 0))  # popped first: the left subtree gets the next numbers
    return Tree(tuple(children), tuple(tokens), 0)


def expression_value(tree: Tree) -> int:
    """The exact (integer) value of an expression tree."""
    value = {}
    for n in reversed(tree.preorder()):
        kids, token = tree.children[n], tree.tokens[n]
        if not kids:
            value[n] = token
            continue
        a, b = value[kids[0]], value[kids[1]]
        op = OPERATORS[token - DIGITS]
        value[n] = a + b if op == "+" else a - b if op == "-" else a * b
    return value[tree.root]


def expression_text(tree: Tree, n: int | None = None) -> str:
    """'((3 + 4) * 2)': the tree written out, for messages and examples."""
    n = tree.root if n is None else n
    kids = tree.children[n]
    if not kids:
        return EXPRESSION_VOCAB[tree.tokens[n]]
    return (f"({expression_text(tree, kids[0])} {EXPRESSION_VOCAB[tree.tokens[n]]} "
            f"{expression_text(tree, kids[1])})")


class ExpressionTask(TreeTask):
    """Arithmetic expressions over digits with + - *, given as their parse trees (a different
    tree per example); predict the value mod 10 (10 classes) or its sign (-, 0, +).

    `steps` is the most digits of an expression; each draws its count from 2 .. steps
    (option fixed: exactly steps).
    """

    name = "expression"
    summary = "the value mod 10 (or the sign) of a random arithmetic parse tree"
    default_steps = 4
    min_steps = 2
    options = {"target": ("mod10", "what to predict: mod10 or sign"),
               "fixed": (False, "every expression has exactly --steps digits")}
    input_size = len(EXPRESSION_VOCAB)

    def __init__(self, **options):
        super().__init__(**options)
        if self.settings["target"] not in ("mod10", "sign"):
            raise ValueError(f"task 'expression': target must be mod10 or sign, got "
                             f"{self.settings['target']!r}")
        self.output_size = 10 if self.settings["target"] == "mod10" else 3

    def _generate(self, batch, steps, rng, split):
        low = steps if self.settings["fixed"] else 2
        trees = [random_expression(int(rng.integers(low, steps + 1)), rng) for _ in range(batch)]
        values = np.array([expression_value(t) for t in trees], dtype=object)
        if self.settings["target"] == "mod10":
            y = np.array([int(v) % 10 for v in values], np.int64)
        else:
            y = np.array([(v > 0) - (v < 0) + 1 for v in values], np.int64)
        return TreeBatch(trees, y, len(EXPRESSION_VOCAB))


class FirstLastTask(SequenceTask):
    """Name the pair (first symbol, last symbol) of a random sequence: class k * first + last
    of k * k. The answer depends on both ends of the sequence: a chain reads the first symbol
    T steps before the answer, a balanced tree over the sequence about log2 T levels before."""

    name = "first-last"
    summary = "the pair (first, last symbol) of a long sequence (one answer at the end)"
    per_step = False
    default_steps = 16
    min_steps = 2
    options = {"symbols": (2, "alphabet size k")}

    def __init__(self, **options):
        super().__init__(**options)
        if self.settings["symbols"] < 2:
            raise ValueError(f"task 'first-last': symbols must be >= 2, got "
                             f"{self.settings['symbols']}")
        self.input_size = self.settings["symbols"]
        self.output_size = self.input_size ** 2

    def _generate(self, batch, steps, rng, split):
        k = self.settings["symbols"]
        symbols = rng.integers(0, k, size=(steps, batch))
        x = np.eye(k, dtype=np.float32)[symbols]
        y = (k * symbols[0] + symbols[-1]).astype(np.int64)
        return SequenceBatch(x=x, y=y)
