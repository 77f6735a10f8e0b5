"""The record as a networkx graph: the one place in viz that reads engine tensors."""

from __future__ import annotations

import weakref

import networkx as nx
import numpy as np

# gradients that draw's own backward recorded, per root: drawing the same root again shows them
# again instead of mistaking the leaves' gradients for a backward the user ran
# (keyed by id with a weak reference: a WeakKeyDictionary would compare Tensors with ==, an op)
_RECORDED: dict = {}


def _remember(root, grads: dict) -> None:
    key = root.id
    _RECORDED[key] = (weakref.ref(root, lambda _: _RECORDED.pop(key, None)), grads)


def _recalled(root) -> dict | None:
    entry = _RECORDED.get(root.id)
    return entry[1] if entry is not None and entry[0]() is root else None
SMALL = 16  # tensors with at most this many elements keep their values for values=True drawings


def _parameter_class():
    """tinygrad_rnn.nn.Parameter, or None while the nn package is not importable."""
    try:
        from tinygrad_rnn.nn import Parameter
    except ImportError:
        return None
    return Parameter


def _buffer_class():
    """tinygrad_rnn.nn.Buffer, or None while the nn package is not importable."""
    try:
        from tinygrad_rnn.nn import Buffer
    except ImportError:
        return None
    return Buffer


def _kind(tensor, is_root: bool, is_param: bool, buffer=None) -> str:
    """param / input / constant / tensor (a named intermediate) / op / loss (the root).

    A module's buffer (a fixed reservoir) is a constant, however large and named."""
    if is_root and tensor.parents:
        return "loss" if tensor.data.size == 1 else "output"
    if not tensor.parents:
        if buffer is not None and isinstance(tensor, buffer):
            return "constant"
        if is_param or (tensor.requires_grad and tensor.step is None):
            return "param"  # a trainable leaf shared by every step, even without nn.Parameter
        if tensor.name is None and tensor.data.size == 1 and not tensor.requires_grad:
            return "constant"  # a Python number mixed into an op
        return "input"
    return "tensor" if tensor.name else "op"


def stats_of(array: np.ndarray) -> dict:
    """min, max, mean, std of a numeric array as Python floats (empty arrays give {})."""
    if array.size == 0:
        return {}
    data = array.astype(np.float64, copy=False)
    return {"min": float(data.min()), "max": float(data.max()),
            "mean": float(data.mean()), "std": float(data.std())}


def norm(array) -> float:
    """Frobenius norm in float64 (a float32 sum of squares loses tiny vanished values); None: 0."""
    if array is None:
        return 0.0
    return float(np.sqrt(np.sum(np.square(np.asarray(array, dtype=np.float64)))))


_FREED = ("draw(grads=True): the graph behind this root was freed by an earlier backward() "
          "(without retain_graph=True), so the gradients of its intermediates cannot be "
          "computed; draw with grads=True before calling backward(), or call "
          "backward(retain_graph=True)")


def record_gradients(root) -> dict:
    """{tensor id: gradient of root} for every node, from a fresh backward(retain_graph=True).

    `on_grad` sees each gradient once, complete, so intermediates need no retain_grad. Every
    .grad the sweep touches (leaves and retained nodes) is put back as it was: the gradients on a
    drawing are always those of the drawn root, never a training step's leftovers, and the
    user's own .grad fields and a later backward() are unaffected. Raises RuntimeError with a
    clear message when an earlier backward already freed the graph.
    """
    grads: dict = {}

    def on_grad(node, grad):
        grads[node.id] = np.array(grad, copy=True)

    touched = [t for t in walk(root) if t.requires_grad]
    saved = [t.grad for t in touched]
    try:
        root.backward(retain_graph=True, on_grad=on_grad)
    except RuntimeError as error:
        if "a second time" in str(error):
            raise RuntimeError(_FREED) from None
        raise
    finally:
        for tensor, grad in zip(touched, saved):
            tensor.grad = grad
    return grads


def root_gradients(root) -> dict:
    """record_gradients(root), remembered per root: a root drawn again after the user's own
    backward() freed its graph still shows the gradients computed from it while it existed."""
    try:
        grads = record_gradients(root)
    except RuntimeError:
        grads = _recalled(root)
        if grads is None:
            raise
        return grads
    _remember(root, grads)
    return grads


def _loop_of(tensor) -> tuple | None:
    """(axis, scope path that set the step) as a plain tuple, or None for an unstepped node."""
    loop = tensor.loop
    return None if loop is None else (loop.axis, tuple(loop.scope))


def walk(root) -> list:
    """Every tensor reachable from root over .parents, in id (creation) order; iterative."""
    seen = {root.id: root}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if parent.id not in seen:
                seen[parent.id] = parent
                stack.append(parent)
    return [seen[key] for key in sorted(seen)]


def to_networkx(root, *, grads: bool = False, stats: bool = True) -> nx.DiGraph:
    """One node per recorded tensor reachable from root (keyed by its id), edges parent -> child.

    Node attributes: op ("leaf" for leaves), op_args, name, shape, dtype, scope, step, axis
    (what the step counts: "time", "hop", "node", ...), loop ((axis, scope path that set the
    step): steps of one loop are one recurrence; None without a step), requires_grad,
    is_param, kind (param/input/constant/tensor/op/loss/output), size, value (the
    array, for tensors of at most SMALL elements, else None), array (the tensor's own data, not
    a copy) and, when stats is True, stats (min/max/mean/std; the drawings compute them on
    demand, only for the nodes they draw, from array). grad_norm (float or None) and grad
    (small arrays): with grads=True, the gradient of root with respect to every node, from a
    fresh root.backward(retain_graph=True) that leaves every .grad as it was (record_gradients);
    without, whatever .grad the tensors hold. Edge attribute `slots`: the argument
    positions at which the parent enters the child (x * x gives (0, 1)).
    """
    tensors = walk(root)
    recorded = root_gradients(root) if grads and root.requires_grad else None
    parameter, buffer = _parameter_class(), _buffer_class()
    graph = nx.DiGraph(root=root.id, backward_ran=recorded is not None)
    dtype_names: dict = {}  # str(dtype) is slow; a record has one or two dtypes
    nodes, edges, slots = [], [], {}
    for tensor in tensors:
        is_param = parameter is not None and isinstance(tensor, parameter)
        if parameter is None and not tensor.parents and tensor.requires_grad:
            is_param = True  # before nn exists, a trainable leaf is the best guess
        # with grads=True only the drawn root's gradients; otherwise whatever .grad holds
        grad = recorded.get(tensor.id) if recorded is not None else tensor.grad
        data = tensor.data
        dtype = data.dtype
        if dtype not in dtype_names:
            dtype_names[dtype] = str(dtype)
        small = data.size <= SMALL
        attrs = {
            "op": tensor.op or "leaf",
            "op_args": tensor.op_args,
            "name": tensor.name,
            "shape": data.shape,
            "dtype": dtype_names[dtype],
            "size": int(data.size),
            "scope": tuple(tensor.scope),
            "step": tensor.step,
            "axis": tensor.axis,
            "loop": _loop_of(tensor),
            "requires_grad": bool(tensor.requires_grad),
            "is_param": bool(is_param),
            "kind": _kind(tensor, tensor is root, is_param, buffer),
            "grad_norm": None if grad is None else norm(grad),
            "grad": np.array(grad) if grad is not None and small else None,
            "value": np.array(data) if small else None,
            "array": data,  # the tensor's own array (not a copy): statistics on demand
        }
        if stats:
            attrs["stats"] = stats_of(data)
        nodes.append((tensor.id, attrs))
        for slot, parent in enumerate(tensor.parents):
            pair = (parent.id, tensor.id)
            if pair in slots:
                slots[pair] += (slot,)
            else:
                slots[pair] = (slot,)
                edges.append(pair)
    graph.add_nodes_from(nodes)
    graph.add_edges_from((a, b, {"slots": slots[(a, b)]}) for a, b in edges)
    return graph
