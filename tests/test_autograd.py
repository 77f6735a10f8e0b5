"""Autograd semantics: dtypes, accumulation, retain_graph, hooks, on_grad, the record, errors."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import GradcheckError, ShapeError, Tensor, no_grad, scope
from tinygrad_rnn.autograd import vjp

RNG = np.random.default_rng(0)


def leaf(shape=(2, 3), dtype=np.float64, seed=0) -> Tensor:
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return Tensor(data, requires_grad=True)


# ------------------------------------------------------------------------------------ dtypes


def test_float_lists_become_float32_and_numpy_float64_stays():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(3.0).dtype == np.float32
    assert Tensor(np.zeros(3)).dtype == np.float64
    assert Tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32
    assert Tensor(np.float64(2.0)).dtype == np.float64
    assert Tensor([1, 2]).dtype.kind == "i"
    assert Tensor([1.0, 2.0], dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("scalar", [2, 2.0, np.float64(2.0), np.float32(2.0), np.int64(2)])
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.pow])
def test_scalars_never_change_a_float32_tensor_dtype(op, scalar):
    x = leaf(dtype=np.float32)
    for out in (op(x, scalar), op(scalar, x.abs() + 1)):
        assert out.dtype == np.float32, f"{op.__name__} with {type(scalar).__name__}"
        out.sum().backward()
    assert x.grad.dtype == np.float32


def test_where_with_a_scalar_branch_keeps_float32():
    x = leaf(dtype=np.float32)
    assert tg.where(x > 0, x, 0).dtype == np.float32
    assert tg.where(x > 0, 0, x).dtype == np.float32
    assert tg.where(x > 0, x, 0.5).dtype == np.float32


def test_grads_have_the_dtype_of_their_data():
    x32 = leaf(dtype=np.float32)
    y64 = leaf(dtype=np.float64, seed=1)
    out = x32 * y64  # float64 result: the float32 leaf still gets a float32 gradient
    assert out.dtype == np.float64
    out.sum().backward()
    assert x32.grad.dtype == np.float32 and y64.grad.dtype == np.float64
    assert x32.grad.shape == x32.shape


BINARY = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
          operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


@pytest.mark.parametrize("op", BINARY, ids=[op.__name__ for op in BINARY])
def test_ndarray_op_tensor_is_handled_by_the_tensor(op):
    array = np.abs(RNG.standard_normal((2, 3))) + 0.5
    x = Tensor(np.abs(RNG.standard_normal((2, 3))) + 0.5, requires_grad=True)
    out = op(array, x)
    assert isinstance(out, Tensor), f"ndarray {op.__name__} Tensor gave {type(out).__name__}"
    assert np.array_equal(out.data, op(array, x.data))
    # comparisons reflect to the mirrored operator (x > array), so the constant may come second
    constant = out.parents[1] if out.parents[0] is x else out.parents[0]
    assert any(p is x for p in out.parents) and constant.is_leaf and not constant.requires_grad
    assert np.array_equal(constant.data, array)
    if op not in (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge):
        assert out.parents[0] is constant and out.parents[1] is x


def test_ndarray_matmul_tensor():
    array = RNG.standard_normal((4, 2))
    x = leaf((2, 3))
    out = array @ x
    assert isinstance(out, Tensor) and out.op == "matmul"
    np.testing.assert_allclose(out.data, array @ x.data)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, array.T @ np.ones((4, 3)))


# ----------------------------------------------------------------------- accumulation, graph


def test_gradients_accumulate_into_leaves_across_backward_calls():
    x = leaf()
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(x.shape, 6.0))
    x.zero_grad()
    assert x.grad is None


def test_leaf_grads_are_writable_and_never_shared():
    a, b = leaf(), leaf(seed=1)
    upstream = np.ones(a.shape)
    h = a * 1.0
    h.retain_grad()
    (h + b + a.sum()).backward(upstream)  # add hands one array to both parents; sum a view
    grads = (a.grad, b.grad, h.grad)
    for k, grad in enumerate(grads):
        assert grad.flags.writeable, f"grad {k} is read-only: in-place clipping would fail"
        assert not np.shares_memory(grad, upstream)
        for other in grads[k + 1:]:
            assert not np.shares_memory(grad, other), "two tensors share one gradient array"
    a.grad *= 0  # what clip_grad_norm_ does in place
    assert b.grad.sum() == b.size and h.grad.sum() == h.size


def test_two_paths_accumulate():
    x = leaf()
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + 1, rtol=1e-12)


def test_retain_graph_allows_a_second_backward():
    x = leaf()
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-12)


def test_second_backward_through_a_freed_graph_hints_at_detach():
    x = leaf()
    h = (x * 2).tanh()
    (h * 3).sum().backward()
    with pytest.raises(RuntimeError, match="detach"):
        (h * 4).sum().backward()  # the classic slip: carrying h into the next chunk


def test_detach_cuts_the_graph():
    x = leaf()
    h = (x * 2).tanh()
    h.sum().backward()
    h = h.detach()
    assert h.is_leaf and not h.requires_grad and h.data is not None
    (h * x).sum().backward()  # only the new graph: no error
    assert x.grad is not None


def test_record_survives_backward():
    x = leaf().named("x")
    with scope("cell", step=2):
        y = (x * 2).sum(axis=1)
    y.sum().backward()
    assert y.op == "sum" and y.op_args == {"axis": 1}
    assert y.parents[0].op == "mul" and y.parents[0].parents[0] is x
    assert y.scope == ("cell",) and y.step == 2
    assert x.name == "x" and x.op is None and x.parents == () and x.op_args == {}


def test_ids_increase_in_creation_order():
    x = leaf()
    y = x * 2
    z = y + x
    assert x.id < y.id < z.id
    for node in (y, z):
        assert all(p.id < node.id for p in node.parents)


def test_constants_become_leaf_parents():
    x = leaf(dtype=np.float32)
    y = 2 * x - np.ones(3, dtype=np.float32)
    two = y.parents[0].parents[0]
    assert two.is_leaf and not two.requires_grad and two.op is None
    assert two.dtype == np.float32 and float(two.data) == 2.0
    ones = y.parents[1]
    assert ones.is_leaf and not ones.requires_grad and np.array_equal(ones.data, np.ones(3))


def test_recording_happens_when_no_input_requires_grad():
    a = Tensor(np.ones((2, 2)))
    b = (a @ a).tanh()
    assert b.op == "tanh" and b.parents[0].op == "matmul"
    assert b.parents[0].parents == (a, a)
    assert not b.requires_grad


def test_no_grad_records_nothing():
    x = leaf()
    with no_grad():
        y = (x * 2).exp().sum()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert y.op is None and y.parents == () and not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError):
        y.backward()


def test_vjp_returns_what_each_parent_receives():
    x, w = leaf((2, 3)), leaf((3, 4), seed=1)
    y = x @ w
    g = RNG.standard_normal((2, 4))
    gx, gw = vjp(y, g)
    np.testing.assert_allclose(gx, g @ w.data.T)
    np.testing.assert_allclose(gw, x.data.T @ g)
    assert x.grad is None and w.grad is None


# ------------------------------------------------------------------ hooks, on_grad, retain_grad


def test_hook_is_called_once_with_the_total_gradient():
    x = leaf()
    y = x * 1.0
    calls = []
    y.register_hook(lambda g: calls.append(g.copy()))
    (y * 2 + y * 3).sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], np.full(x.shape, 5.0))


def test_hook_can_replace_the_gradient():
    x = leaf()
    y = x * 1.0
    y.register_hook(lambda g: g * 0 + 7)
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(x.shape, 7.0))


def test_hook_on_a_leaf_sees_and_replaces_its_gradient():
    x = leaf()
    handle = x.register_hook(lambda g: -g)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(x.shape, -2.0))
    handle.remove()
    x.zero_grad()
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(x.shape, 2.0))


def test_a_hook_s_returned_array_is_copied_into_grad():
    x = leaf((3,))
    replacement = np.full(3, 7.0)
    x.register_hook(lambda g: replacement)
    (x[0:2].sum() + x[1:3].sum()).backward()  # two slices: the gradient buffer is the engine's
    assert not np.shares_memory(x.grad, replacement)
    x.grad *= 0
    np.testing.assert_array_equal(replacement, [7.0, 7.0, 7.0])


def test_on_grad_is_called_once_per_tensor_in_backward_order():
    x, w = leaf((2, 3)), leaf((3, 3), seed=1)
    const = Tensor(np.ones((2, 3)))
    h = (x @ w).tanh()
    loss = ((h * h + const) @ w).sum()
    seen = []
    loss.backward(on_grad=lambda node, g: seen.append((node, g.shape)))
    nodes = [node for node, _ in seen]
    assert len({n.id for n in nodes}) == len(nodes), "a tensor was reported twice"
    assert all(node.requires_grad for node in nodes)
    expected = _requires_grad_ancestors(loss)
    assert {n.id for n in nodes} == {n.id for n in expected}
    assert nodes[0] is loss
    position = {n.id: k for k, n in enumerate(nodes)}
    for node in nodes:  # every tensor is reported before any of its parents
        for parent in node.parents:
            if parent.requires_grad:
                assert position[node.id] < position[parent.id]
    assert all(shape == node.shape for node, shape in seen)


def _requires_grad_ancestors(root) -> list:
    found, stack = {root.id: root}, [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad and parent.id not in found:
                found[parent.id] = parent
                stack.append(parent)
    return list(found.values())


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = leaf()
    y = x * 2
    z = x * 3
    y.retain_grad()
    (y * z).sum().backward()
    np.testing.assert_allclose(y.grad, z.data)
    assert z.grad is None


# ------------------------------------------------------------------------- scope and anomaly


def test_scopes_nest_and_inner_scopes_inherit_the_step():
    x = leaf()
    with scope("rnn", step=3):
        a = x * 2
        with scope("cell"):
            b = a.tanh()
            with scope("gate", step=4):
                c = b + 1
            d = b - 1
    e = d * 1
    assert a.scope == ("rnn",) and a.step == 3
    assert b.scope == ("rnn", "cell") and b.step == 3
    assert c.scope == ("rnn", "cell", "gate") and c.step == 4
    assert d.scope == ("rnn", "cell") and d.step == 3
    assert e.scope == () and e.step is None
    assert x.scope == () and x.step is None


def test_a_step_tag_names_its_axis_and_the_scope_that_set_it():
    x = leaf()
    with scope("enc", step=2):
        a = x * 2
        with scope("cell"):
            b = a.tanh()
    with scope("mem", step=1, axis="hop"):
        c = b + 1
    assert a.axis == "time" and a.loop == ("time", ("enc",))
    assert b.loop == ("time", ("enc",)) and b.scope == ("enc", "cell")  # inherited with the step
    assert c.axis == "hop" and c.loop == ("hop", ("mem",)) and c.step == 1
    assert x.loop is None and x.axis is None and (c * 1).loop is None
    with pytest.raises(TypeError, match="axis='hop' needs a step"):
        with scope("mem", axis="hop"):
            pass
    with pytest.raises(TypeError, match="axis must be a name"):
        with scope("mem", step=1, axis="two words"):
            pass


def test_scope_is_restored_after_an_error():
    with pytest.raises(ZeroDivisionError):
        with scope("broken", step=1):
            raise ZeroDivisionError
    assert (Tensor(1.0) * 2).scope == ()


def test_detect_anomaly_names_op_scope_and_step_in_forward():
    x = Tensor(np.array([1.0, 0.0]), requires_grad=True)
    with tg.detect_anomaly(), scope("decoder", step=5), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError) as info:
            x.log()
    message = str(info.value)
    assert "log" in message and "decoder" in message and "5" in message


def test_detect_anomaly_names_the_op_whose_backward_made_nan():
    x = Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with scope("enc", step=2):
        y = x.sqrt()
    with tg.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError) as info:
            y.sum().backward()
    message = str(info.value)
    assert "sqrt" in message and "enc" in message and "2" in message


def test_without_detect_anomaly_nan_passes_silently():
    x = Tensor(np.array([-1.0]), requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = x.sqrt()
    assert np.isnan(y.data).all()


# --------------------------------------------------------------------------- the long chain


def test_a_chain_of_100000_ops_backprops_walks_and_deletes():
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward(retain_graph=True)
    assert x.grad == 1.0
    depth, node = 0, y
    while node.parents:  # walk the record iteratively, as viz does
        node = node.parents[0]
        depth += 1
    assert depth == 100_000 and node is x
    y.backward()
    assert x.grad == 2.0
    del y, node  # freeing a deep chain must not hit the recursion limit or crash
    z = x
    for _ in range(100_000):
        z = z + 0.0
    del z


# ------------------------------------------------------------------------------------ errors


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="int"):
        Tensor([1, 2, 3], requires_grad=True)


def test_backward_on_a_non_scalar_needs_a_grad():
    y = leaf() * 2
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        y.backward()
    y.backward(np.ones((2, 3)))


def test_backward_grad_of_the_wrong_shape_is_a_shape_error():
    y = leaf() * 2
    with pytest.raises(ShapeError, match=r"\(3, 2\)"):
        y.backward(np.ones((3, 2)))


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((3,), (4,)), ((2, 3, 4), (2, 5, 3))])
def test_matmul_shape_errors_name_the_op_and_both_shapes(shapes):
    a, b = Tensor(np.ones(shapes[0])), Tensor(np.ones(shapes[1]))
    with pytest.raises(ShapeError) as info:
        a @ b
    message = str(info.value)
    assert "matmul" in message and str(shapes[0]) in message and str(shapes[1]) in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.pow, tg.maximum, operator.lt])
def test_broadcast_errors_name_the_op_and_both_shapes(op):
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4,)))
    with pytest.raises(ShapeError) as info:
        op(a, b)
    message = str(info.value)
    assert "(2, 3)" in message and "(4,)" in message
    assert any(name in message for name in ("add", "sub", "mul", "div", "pow", "maximum", "lt"))


def test_other_shape_errors_are_shape_errors():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match="reshape"):
        x.reshape(4, 2)
    with pytest.raises(ShapeError, match="sum"):
        x.sum(axis=2)
    with pytest.raises(ShapeError, match="permute"):
        x.permute(0, 0)
    with pytest.raises(ShapeError, match="transpose"):
        x.transpose(0, 3)  # 3 must not wrap around to axis 1
    with pytest.raises(ShapeError, match="cat"):
        tg.cat([x, Tensor(np.ones((2, 4)))], axis=0)
    with pytest.raises(ShapeError, match="stack"):
        tg.stack([x, Tensor(np.ones((3, 2)))])
    with pytest.raises(ShapeError, match="softmax"):
        x.softmax(axis=2)


def test_index_errors_name_the_shape():
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        Tensor(np.ones((2, 3)))[5]


def test_getitem_with_repeated_indices_accumulates():
    x = leaf((4,))
    x[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0, 0.0])
    y = leaf((3, 2))
    (y[[1, 1]] * 2).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0, 0], [4, 4], [0, 0]])


def test_getitem_slices_accumulate_with_other_paths():
    x = leaf((4, 2))
    (x[1:3].sum() + x[2].sum() + x.sum()).backward()
    np.testing.assert_array_equal(x.grad, [[1, 1], [2, 2], [3, 3], [1, 1]])


def test_getitem_of_a_single_element_sends_its_gradient_back():
    x = leaf((3,))
    (x[1] * 2 + x[1]).backward()  # a scalar index gives a numpy scalar, not a view
    np.testing.assert_array_equal(x.grad, [0.0, 3.0, 0.0])
    y = leaf((2, 3))
    y[1, 2].backward()
    np.testing.assert_array_equal(y.grad, [[0, 0, 0], [0, 0, 1]])
    (g,) = vjp(y[0, 1], np.array(5.0))
    np.testing.assert_array_equal(g, [[0, 5, 0], [0, 0, 0]])


def test_max_ties_split_the_gradient_evenly(torch):
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x = Tensor(data, requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    t = torch.tensor(data, requires_grad=True)
    torch.amax(t, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)
    z = Tensor(data, requires_grad=True)
    z.max().backward()
    np.testing.assert_allclose(z.grad, [[0, 0.5, 0.5], [0, 0, 0]])


def test_maximum_ties_split_like_pytorch(torch):
    a_data, b_data = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    a, b = Tensor(a_data, requires_grad=True), Tensor(b_data, requires_grad=True)
    tg.maximum(a, b).sum().backward()
    ta, tb = torch.tensor(a_data, requires_grad=True), torch.tensor(b_data, requires_grad=True)
    torch.maximum(ta, tb).sum().backward()
    np.testing.assert_array_equal(a.grad, ta.grad.numpy())
    np.testing.assert_array_equal(b.grad, tb.grad.numpy())


def test_kinks_follow_pytorch(torch):
    data = np.array([-1.0, 0.0, 2.0])
    for name in ("relu", "abs"):
        x = Tensor(data, requires_grad=True)
        getattr(x, name)().sum().backward()
        t = torch.tensor(data, requires_grad=True)
        getattr(t, name)().sum().backward()
        np.testing.assert_array_equal(x.grad, t.grad.numpy(), err_msg=name)


def test_pow_with_a_zero_base_and_a_tensor_exponent_matches_pytorch(torch):
    base, exponent = np.array([0.0, 0.0, 2.0, 0.0]), np.array([2.0, 0.0, 0.5, 1.0])
    x, y = Tensor(base, requires_grad=True), Tensor(exponent, requires_grad=True)
    (x ** y).sum().backward()
    tx, ty = torch.tensor(base, requires_grad=True), torch.tensor(exponent, requires_grad=True)
    (tx ** ty).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad, ty.grad.numpy(), rtol=1e-12)


# -------------------------------------------------------------------------------- gradcheck


def test_gradcheck_passes_on_a_correct_function():
    x, w = leaf((2, 3)), leaf((3, 2), seed=1)
    assert tg.gradcheck(lambda a, b: (a @ b).tanh(), x, w)


def test_gradcheck_refuses_float32():
    x = leaf(dtype=np.float32)
    with pytest.raises(TypeError, match="float64"):
        tg.gradcheck(lambda a: a.tanh(), x)


def test_gradcheck_names_input_and_index_of_a_wrong_gradient():
    x, w = leaf((2, 3)), leaf((3,), seed=1)

    def wrong(a, b):
        y = a * b
        if y.requires_grad:  # only on the backward pass: double the gradient
            y.register_hook(lambda g: 2 * g)
        return y.sum()

    with pytest.raises(GradcheckError) as info:
        tg.gradcheck(wrong, x, w)
    assert isinstance(info.value, AssertionError)
    message = str(info.value)
    assert "input 0" in message and "(0, 0)" in message
    x.grad = None
    assert tg.gradcheck(lambda a, b: (a * b).sum(), x, w)


def test_gradcheck_restores_its_input_when_fn_raises():
    x = leaf((3,))
    before = x.data.copy()
    calls = []

    def fails_on_perturbation(a):
        calls.append(1)
        if len(calls) > 1:  # the first call is the unperturbed forward
            raise RuntimeError("boom")
        return a.sum()

    with pytest.raises(RuntimeError, match="boom"):
        tg.gradcheck(fails_on_perturbation, x)
    np.testing.assert_array_equal(x.data, before)


def test_reshape_and_cross_entropy_name_the_bad_input():
    import tinygrad_rnn.functional as F

    x = Tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match="reshape: the new shape must be ints"):
        x.reshape("a")
    with pytest.raises(TypeError, match="cross_entropy: logits must be floating point"):
        F.cross_entropy(Tensor(np.ones((2, 3), dtype=np.int64)), np.array([0, 1]))


# ------------------------------------------------------ found by differential fuzzing vs torch


@pytest.mark.parametrize("x_shape, y_shape", [((1, 0, 0), (0, 4)), ((2, 3, 0), (0, 4)),
                                              ((2, 3, 2), (2, 0))])
def test_batched_matmul_with_an_empty_matrix_gives_numpys_shapes_and_grads(x_shape, y_shape):
    x, y = leaf(x_shape), leaf(y_shape, seed=1)
    out = x @ y
    assert out.shape == np.matmul(x.data, y.data).shape
    out.backward(np.ones(out.shape))
    assert x.grad.shape == x_shape and y.grad.shape == y_shape
    assert not x.grad.any() and not y.grad.any()  # an empty sum contributes nothing


@pytest.mark.parametrize("method", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, axis", [((0, 1), 0), ((2, 0), -1)])
def test_softmax_of_an_empty_tensor_is_empty(method, shape, axis):
    x = leaf((3, 1))[np.zeros(3, dtype=bool)].reshape(shape)  # a mask that picked nothing
    out = getattr(x, method)(axis)
    assert out.shape == shape
    out.sum().backward()
    assert out.shape == shape


def test_an_empty_index_list_picks_nothing_as_in_numpy():
    x = leaf((2, 3))
    assert x[[]].shape == (0, 3) and x[:, []].shape == (2, 0)
    (x[[]].sum() + x[:, []].sum()).backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [0, -1, (0,), (-1,)])
def test_a_0d_tensor_reduces_over_axis_0_or_minus_1_to_itself(reduce, axis):
    # PyTorch accepts dim 0 and -1 for a 0-d tensor and returns it unchanged
    x = Tensor(np.float64(1.5), requires_grad=True)
    for keepdims in (False, True):
        out = getattr(x, reduce)(axis=axis, keepdims=keepdims)
        assert out.shape == () and out.item() == 1.5
        out.backward()
    assert x.grad.item() == 2.0
    with pytest.raises(ShapeError, match=r"axis 1 is out of range .*shape \(\)"):
        getattr(x, reduce)(axis=1)


def test_cross_entropy_mean_over_no_targets_is_nan_like_mean():
    import tinygrad_rnn.functional as F

    logits = Tensor(np.zeros((0, 3)), requires_grad=True)
    loss = F.cross_entropy(logits, np.zeros(0, dtype=np.int64))
    assert np.isnan(loss.item())
    assert F.cross_entropy(logits, np.zeros(0, dtype=np.int64), reduction="sum").item() == 0
