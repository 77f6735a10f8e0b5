"""PyTorch's method vocabulary (issue 13) and the memory ops (issue 11): the points the op table's
rows in tests/op_cases.py keep away from (zeros, ties, bounds, zero norms), and the bad input.

Every op here also has rows in tests/op_cases.py, which gradcheck it, check its full Jacobian
and compare it with PyTorch on drawn shapes and values.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
from gradtools import check_jacobian
from tinygrad_rnn import ShapeError, Tensor
from tinygrad_rnn import functional as F


def _grad(fn, values) -> np.ndarray:
    x = Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    fn(x).sum().backward()
    return x.grad


def _torch_grad(torch, fn, values) -> np.ndarray:
    x = torch.tensor(np.array(values, dtype=np.float64), requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


# ---------------------------------------------------------------------------- method forms


def test_method_forms_are_the_operators():
    a = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    pairs = [(a.add(2), a + 2, "add"), (a.sub(a), a - a, "sub"), (a.mul(3), a * 3, "mul"),
             (a.div(2), a / 2, "div"), (a.pow(2), a ** 2, "pow"), (a.matmul(a), a @ a, "matmul")]
    for method, operator, op in pairs:
        assert method.op == operator.op == op
        assert np.array_equal(method.data, operator.data)
    assert a.add(np.float64(1)).dtype == np.float64 and Tensor([1.0]).mul(2.0).dtype == np.float32


# ------------------------------------------------------------------------------- min, prod


def test_min_splits_tied_minima_evenly_like_pytorch(torch):
    assert np.array_equal(_grad(lambda x: x.min(), [1.0, 1.0, 2.0]), [0.5, 0.5, 0.0])
    coarse = np.round(np.random.default_rng(0).uniform(-2, 2, (3, 4, 2)) * 2) / 2  # many ties
    for axis in (None, 1, (0, 2)):
        dims = (0, 1, 2) if axis is None else axis
        ours = _grad(lambda x: x.min(axis=axis), coarse)
        theirs = _torch_grad(torch, lambda x: torch.amin(x, dim=dims), coarse)
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_min_over_empty_axis_is_refused_but_empty_result_is_fine():
    x = Tensor(np.zeros((0, 3)))
    assert x.min(axis=1).shape == (0,)
    with pytest.raises(ShapeError, match=r"min: cannot reduce over an empty axis .*\(0, 3\)"):
        x.min(axis=0)


@pytest.mark.parametrize("values", [[0.0, 2.0, 3.0], [0.0, 0.0, 3.0], [[1.0, 0.0], [0.0, 0.0]],
                                    [[2.0, -1.0, 0.0], [0.5, 4.0, 3.0]]])
def test_prod_gradient_is_exact_with_zeros(torch, values):
    for axis in (None, -1):
        ours = _grad(lambda x: x.prod(axis=axis), values)
        theirs = _torch_grad(torch, lambda x: x.prod() if axis is None else x.prod(dim=axis),
                             values)
        np.testing.assert_array_equal(ours, theirs)
        check_jacobian(lambda x: x.prod(axis=axis), np.array(values), label=f"prod {values}")
    assert np.array_equal(_grad(lambda x: x.prod(), [0.0, 2.0, 3.0]), [6.0, 0.0, 0.0])


def test_prod_of_empty_is_one():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    out = x.prod(axis=0)
    assert np.array_equal(out.data, [1.0, 1.0, 1.0])
    out.sum().backward()
    assert x.grad.shape == (0, 3)


# --------------------------------------------------------------------------------- var, std


def test_std_of_equal_elements_has_gradient_zero_like_pytorch(torch):
    for op in ("std", "var"):
        ours = _grad(lambda x: getattr(x, op)(), [1.5, 1.5, 1.5])
        theirs = _torch_grad(torch, lambda x: getattr(x, op)(), [1.5, 1.5, 1.5])
        assert np.array_equal(ours, theirs) and np.array_equal(ours, np.zeros(3))
    ours = _grad(lambda x: x.std(axis=1), [[2.0, 2.0], [1.0, 3.0]])  # one row flat, one not
    np.testing.assert_allclose(ours, [[0.0, 0.0], [-0.5 ** 0.5, 0.5 ** 0.5]], rtol=1e-12)


def test_var_needs_more_elements_than_the_correction():
    x = Tensor(np.ones((1, 3)))
    assert x.var(axis=0, correction=0).shape == (3,)
    with pytest.raises(ShapeError, match=r"var: correction=1 needs more than 1 elements per "
                                         r"reduction, got 1 \(input shape \(1, 3\), axis \(0,\)\)"):
        x.var(axis=0)
    with pytest.raises(ShapeError, match="std: correction=4"):
        x.std(correction=4)
    with pytest.raises(TypeError, match="std: correction must be a finite number"):
        x.std(correction="1")
    with pytest.raises(TypeError, match="var: correction"):
        x.var(correction=float("nan"))


# ------------------------------------------------------------------------------------ norm


@pytest.mark.parametrize("p", [1, 2, 3, float("inf")])
def test_norm_gradient_at_zero_is_zero_like_pytorch(torch, p):
    values = [[0.0, 0.0, 0.0], [0.0, -2.0, 1.0]]  # a zero row and a row with a zero
    ours = _grad(lambda x: x.norm(p, axis=1), values)
    theirs = _torch_grad(torch, lambda x: torch.linalg.vector_norm(x, ord=p, dim=1), values)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    assert np.array_equal(ours[0], [0.0, 0.0, 0.0])


def test_inf_norm_splits_ties_with_their_signs_like_pytorch(torch):
    values = [1.0, -1.0, 0.5]
    ours = _grad(lambda x: x.norm(float("inf")), values)
    theirs = _torch_grad(torch, lambda x: torch.linalg.vector_norm(x, ord=float("inf")), values)
    assert np.array_equal(ours, theirs) and np.array_equal(ours, [0.5, -0.5, 0.0])


def test_numpy_scalar_settings_keep_float32():
    x = Tensor(np.array([[0.5, -2.0], [1.0, 3.0]], dtype=np.float32), requires_grad=True)
    outs = [x.norm(np.float64(3)), x.norm(np.int64(2), axis=0), x.var(correction=np.float64(1)),
            x.std(axis=1, correction=np.int64(0)), x.clamp(np.float64(0), np.float64(1.5))]
    for out in outs:
        assert out.dtype == np.float32, out.op
        out.sum().backward()
    assert x.grad.dtype == np.float32


def test_norm_errors_and_empty_input():
    x = Tensor(np.ones((2, 3)))
    for p in (0.5, 0, -1, "fro", True, float("nan")):
        with pytest.raises(ValueError, match="norm: p must be a number >= 1"):
            x.norm(p)
    with pytest.raises(ShapeError, match="norm: axis 2 is out of range"):
        x.norm(axis=2)
    empty = Tensor(np.zeros((0, 2)))
    assert np.array_equal(empty.norm(2, axis=0).data, [0.0, 0.0])
    with pytest.raises(ShapeError, match=r"norm\(p=inf\): cannot reduce over an empty axis"):
        empty.norm(float("inf"), axis=0)


# ----------------------------------------------------------------------------------- clamp


def test_clamp_gradient_passes_at_the_bounds_like_pytorch(torch):
    values = [-1.0, 1.0, 0.0, 2.0, -3.0]
    for low, high in ((-1.0, 1.0), (-1.0, None), (None, 1.0)):
        ours = _grad(lambda x: x.clamp(low, high), values)
        theirs = _torch_grad(torch, lambda x: x.clamp(low, high), values)
        assert np.array_equal(ours, theirs)
    assert np.array_equal(_grad(lambda x: x.clamp(-1.0, 1.0), values), [1, 1, 1, 0, 0])


def test_clamp_keeps_dtype_and_rejects_bad_bounds():
    x = Tensor(np.array([0.5, 2.0], dtype=np.float32))
    assert x.clamp(np.float64(1.0)).dtype == np.float32
    with pytest.raises(ValueError, match="clamp: give min, max or both"):
        x.clamp()
    with pytest.raises(ValueError, match="clamp: min=2 is greater than max=1"):
        x.clamp(2, 1)
    with pytest.raises(TypeError, match="clamp: max must be a number or None, got a Tensor"):
        x.clamp(max=Tensor(1.0))
    with pytest.raises(ValueError, match="clamp: min is nan"):
        x.clamp(float("nan"))


# --------------------------------------------------------------- flatten, squeeze, unsqueeze


def test_shape_methods_record_a_reshape_and_check_their_axes():
    x = Tensor(np.zeros((2, 1, 3)))
    assert x.flatten().op == "reshape" and x.flatten().op_args == {"shape": (6,)}
    assert x.flatten(0, 1).shape == (2, 3) and Tensor(2.0).flatten().shape == (1,)
    assert x.squeeze().shape == (2, 3) and x.squeeze((1,)).shape == (2, 3)
    assert x.unsqueeze(0).shape == (1, 2, 1, 3) and x.unsqueeze(-1).shape == (2, 1, 3, 1)
    assert x.unsqueeze(3).shape == (2, 1, 3, 1)
    with pytest.raises(ShapeError, match="flatten: start_dim 2 comes after end_dim 1"):
        x.flatten(2, 1)
    with pytest.raises(ShapeError, match="flatten: axis 3 is out of range"):
        x.flatten(3)
    with pytest.raises(ShapeError, match=r"squeeze: axis 2 of shape \(2, 1, 3\) has size 3"):
        x.squeeze(2)
    with pytest.raises(ShapeError, match="unsqueeze: axis 4 is out of range"):
        x.unsqueeze(4)


# ------------------------------------------------------------------------------ roll, sign


def test_roll_builds_a_circular_convolution_with_exact_gradients():
    """NTM location addressing: w~_i = sum_k s_k w_(i-k) over shifts k in {-1, 0, 1}."""
    rng = np.random.default_rng(0)
    w, s = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(3))

    def shift(w_t, s_t):
        return sum(s_t[k + 1] * w_t.roll(k, axis=0) for k in (-1, 0, 1))

    out = shift(Tensor(w), Tensor(s)).data
    expected = [sum(s[k + 1] * w[(i - k) % 5] for k in (-1, 0, 1)) for i in range(5)]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    assert abs(out.sum() - 1) < 1e-12  # a weighting stays a weighting
    check_jacobian(shift, w, s, label="circular shift")


def test_roll_errors():
    x = Tensor(np.zeros((2, 3)))
    assert x.roll(1).op_args == {"shift": 1} and x.roll(1, -1).op_args == {"shift": 1, "axis": 1}
    with pytest.raises(ValueError, match="roll: 2 shifts need as many axes, got axis=None"):
        x.roll((1, 2))
    with pytest.raises(ValueError, match="must have the same length"):
        x.roll((1, 2), axis=0)
    with pytest.raises(ShapeError, match=r"roll: axis 2 is out of range .*\(2, 3\)"):
        x.roll(1, axis=2)
    with pytest.raises(ShapeError, match=r"roll: axis 0 is out of range .*\(\)"):
        Tensor(1.0).roll(1, axis=0)
    with pytest.raises(TypeError, match="roll: shift must be an int"):
        x.roll(1.5)


def test_sign_passes_no_gradient_like_pytorch(torch):
    values = [-2.0, 0.0, 3.0]
    assert np.array_equal(_grad(lambda x: x.sign(), values), [0.0, 0.0, 0.0])
    ours = _grad(lambda x: x.sign() * x, values)  # |x| through sign: only the x path counts
    assert np.array_equal(ours, _torch_grad(torch, lambda x: x.sign() * x, values))


# ---------------------------------------------------------------------------- einsum, bmm


def test_einsum_records_its_spec_and_takes_a_list():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4)))
    out = tg.einsum("ij,jk->ik", [a, b])
    assert out.op == "einsum" and out.op_args == {"spec": "ij,jk->ik"} and out.parents == (a, b)
    assert tg.einsum(" i j , j k -> i k ", a, b).shape == (2, 4)


@pytest.mark.parametrize("spec,shapes,error,message", [
    ("ij,jk->ik", [(2, 3), (4, 5)], ShapeError,
     r"einsum: index 'j' has size 3 in operand 0 \(shape \(2, 3\)\) but 4 in operand 1 "
     r"\(shape \(4, 5\)\)"),
    ("ij,jk->ik", [(2, 3), (3,)], ShapeError,
     r"einsum: operand 1 has shape \(3,\) \(1 dims\) but its term 'jk' names 2"),
    ("ij->i", [(2, 3, 4)], ShapeError, r"names 2 \(use '...' for the rest\)"),
    ("...i,...i->...", [(2, 3), (4, 3)], ShapeError, "a '...' axis has size 2"),
    ("ij,jk->ik", [(2, 3)], ValueError, r"names 2 operand\(s\), got 1 tensor\(s\)"),
    ("ij;jk->ik", [(2, 3), (3, 4)], ValueError, r"found ';'"),
    ("ij->j->i", [(2, 3)], ValueError, "more than one '->'"),
    ("ij->ii", [(2, 3)], ValueError, "output index 'i' .* must appear once"),
    ("ij->k", [(2, 3)], ValueError, "output index 'k'"),
    ("...ij->ij", [(2, 3, 4)], ValueError, "output needs '...' too"),
    ("i.j->i", [(2, 3)], ValueError, r"'\.' only as one '\.\.\.'"),
])
def test_einsum_errors_name_the_spec_and_shapes(spec, shapes, error, message):
    tensors = [Tensor(np.zeros(s)) for s in shapes]
    with pytest.raises(error, match=message):
        tg.einsum(spec, *tensors)


def test_einsum_bad_arguments():
    with pytest.raises(TypeError, match="einsum: spec must be a string"):
        tg.einsum(Tensor(np.zeros(2)), Tensor(np.zeros(2)))
    with pytest.raises(ValueError, match="at least one tensor"):
        tg.einsum("i->i")


def test_einsum_gradient_through_a_diagonal_and_a_lone_index():
    rng = np.random.default_rng(3)
    check_jacobian(lambda x, y: tg.einsum("iij,k->ik", x, y), rng.normal(size=(3, 3, 2)),
                   rng.normal(size=(2,)), label="einsum iij,k->ik")
    x = Tensor(rng.normal(size=(3, 3)), requires_grad=True)
    tg.einsum("ii->", x).backward()
    assert np.array_equal(x.grad, np.eye(3))


def test_einsum_float32_stays_float32():
    a = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    out = tg.einsum("ij,ij->i", a, a)
    out.sum().backward()
    assert out.dtype == np.float32 and a.grad.dtype == np.float32


def test_bmm_is_3d_only():
    a, b = Tensor(np.ones((2, 3, 4))), Tensor(np.ones((2, 4, 5)))
    assert tg.bmm(a, b).shape == (2, 3, 5) and tg.bmm(a, b).op == "matmul"
    with pytest.raises(ShapeError, match=r"bmm: both operands must be 3-D .* got \(3, 4\)"):
        tg.bmm(Tensor(np.ones((3, 4))), b)
    with pytest.raises(ShapeError, match=r"bmm: \(2, 3, 4\) and \(3, 4, 5\) need the same batch"):
        tg.bmm(a, Tensor(np.ones((3, 4, 5))))
    with pytest.raises(ShapeError, match=r"a.shape\[2\] == b.shape\[1\]"):
        tg.bmm(a, Tensor(np.ones((2, 3, 5))))


# ------------------------------------------------------------------------------- factories


def test_factories_shapes_dtypes_and_grad(torch):
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == np.float32
    assert np.array_equal(tg.ones([2]).data, [1.0, 1.0]) and tg.ones(()).shape == ()
    assert tg.zeros(2, dtype=np.int64).dtype == np.int64
    w = tg.randn(3, 2, dtype=np.float64, requires_grad=True)
    assert w.dtype == np.float64 and w.requires_grad and w.is_leaf
    for args in [(5,), (2, 7), (1, 2, 0.25), (0.0, 1.0, 0.1), (5, 0, -2), (-1.5, 1)]:
        ours, theirs = tg.arange(*args), torch.arange(*args)
        expected_dtype = np.int64 if theirs.dtype == torch.int64 else np.float32
        assert ours.dtype == expected_dtype, args
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)
    assert tg.arange(3, dtype=np.float64, requires_grad=True).requires_grad


def test_randn_draws_from_the_seeded_engine_generator():
    tg.manual_seed(7)
    first = tg.randn(4, 3).data
    tg.manual_seed(7)
    assert np.array_equal(tg.randn(4, 3).data, first)
    assert not np.array_equal(tg.randn(4, 3).data, first)
    expected = np.random.default_rng(7).standard_normal((4, 3)).astype(np.float32)
    assert np.array_equal(first, expected)


def test_factory_errors():
    with pytest.raises(ValueError, match="zeros: negative dimension"):
        tg.zeros(2, -1)
    with pytest.raises(TypeError, match="ones: the shape must be ints"):
        tg.ones(2.5)
    with pytest.raises(TypeError, match="randn: dtype must be floating point"):
        tg.randn(2, dtype=np.int32)
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        tg.arange(3, requires_grad=True)
    with pytest.raises(ValueError, match="arange: step must not be 0"):
        tg.arange(0, 3, 0)
    with pytest.raises(TypeError, match="arange: end must be a finite number"):
        tg.arange(0, float("inf"))


# ----------------------------------------------------------------------- cosine similarity


def test_cosine_similarity_of_a_zero_vector_matches_pytorch(torch):
    a, b = np.zeros((2, 3)), np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    ours_a, ours_b = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = F.cosine_similarity(ours_a, ours_b)
    ref = torch.nn.functional.cosine_similarity(ta, tb, dim=-1)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    np.testing.assert_allclose(ours_a.grad, ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_b.grad, tb.grad.numpy(), rtol=1e-12)


def test_cosine_similarity_below_eps_has_the_exact_gradient_of_its_formula():
    a, b = np.full((1, 3), 1e-10), np.array([[1.0, 2.0, 3.0]])
    check_jacobian(lambda x, y: F.cosine_similarity(x, y, eps=1e-8), a, b, eps=1e-14,
                   rtol=1e-4, atol=1e-2, label="cosine_similarity below eps")


@pytest.mark.parametrize("a_shape,b_shape,axis", [((2, 1), (2, 3), -1), ((3,), (2, 3), 1),
                                                  ((2, 3), (3,), -1), ((1, 3), (4, 3), 0),
                                                  ((3, 1), (2, 3, 4), 0), ((3, 1), (2, 3, 4), 1)])
def test_cosine_similarity_broadcasts_like_pytorch(torch, a_shape, b_shape, axis):
    """An operand stretched along axis counts every copy in its norm, as in PyTorch."""
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.5, 2, a_shape), rng.uniform(-2, -0.5, b_shape) * rng.choice([-1, 1])
    ours = [Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)]
    theirs = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    out = F.cosine_similarity(*ours, axis=axis)
    ref = torch.nn.functional.cosine_similarity(*theirs, dim=axis)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    ref.backward(torch.from_numpy(upstream))
    for x, t in zip(ours, theirs):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_cosine_similarity_errors():
    a = Tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"cosine_similarity: shapes \(2, 3\) and \(4,\) do not "
                                         r"broadcast"):
        F.cosine_similarity(a, Tensor(np.ones(4)))
    with pytest.raises(ShapeError, match=r"cosine_similarity: axis 2 is out of range .*\(2, 3\)"):
        F.cosine_similarity(a, a, axis=2)
    with pytest.raises(ValueError, match="cosine_similarity: eps must be a number >= 0"):
        F.cosine_similarity(a, a, eps=-1.0)


# ------------------------------------------------------------------------- the public surface


def test_signatures_follow_the_api():
    import inspect

    from tinygrad_rnn import optim

    def params(fn) -> list:
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()
                if p.name != "self"]

    empty = inspect.Parameter.empty
    assert params(Tensor.min) == params(Tensor.prod) == [("axis", None), ("keepdims", False)]
    assert params(Tensor.var) == params(Tensor.std) == [("axis", None), ("keepdims", False),
                                                        ("correction", 1)]
    assert params(Tensor.norm) == [("p", 2), ("axis", None), ("keepdims", False)]
    assert params(Tensor.clamp) == [("min", None), ("max", None)]
    assert params(Tensor.flatten) == [("start_dim", 0), ("end_dim", -1)]
    assert params(Tensor.roll) == [("shift", empty), ("axis", None)]
    assert params(Tensor.unsqueeze) == [("axis", empty)]
    for factory in (tg.zeros, tg.ones, tg.randn):
        assert params(factory) == [("size", empty), ("dtype", None), ("requires_grad", False)]
    assert params(tg.arange) == [("start", empty), ("end", None), ("step", 1), ("dtype", None),
                                 ("requires_grad", False)]
    assert params(F.cosine_similarity) == [("a", empty), ("b", empty), ("axis", -1),
                                           ("eps", 1e-8)]
    assert params(optim.RMSprop) == [("params", empty), ("lr", 1e-2), ("alpha", 0.99),
                                     ("eps", 1e-8), ("weight_decay", 0.0), ("momentum", 0.0),
                                     ("centered", False)]
    assert {"einsum", "bmm", "zeros", "ones", "randn", "arange"} <= set(tg.__all__)
