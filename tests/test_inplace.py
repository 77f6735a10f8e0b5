"""Issue 13: updates between forward and backward are caught (each op keeps its inputs' arrays;
the library's updates put new arrays in .data and bump .version), hooks / on_grad get arrays of
their own, transpose as PyTorch's."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, optim


def leaf(values, name=None):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True, name=name)


# ------------------------------------------------------------------------- the version counter


def test_optimizer_step_between_forward_and_backward_is_an_error_naming_tensor_and_op():
    w = leaf([1.0, 2.0], name="w")
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    optim.SGD([w], lr=0.1).step()
    assert w.version == 1
    with pytest.raises(RuntimeError, match=r"input 0 of op \"mul\".*'w'.*updated "
                                           r"\(version now 1\)"):
        loss.backward()


def test_adam_step_bumps_the_version_and_an_op_that_kept_only_its_output_is_unaffected():
    w = leaf([1.0, 2.0])
    product = (w * w).sum()
    exponential = w.exp().sum()  # exp keeps its output, not w
    w.grad = np.ones(2)
    optim.Adam([w]).step()
    assert w.version == 1
    with pytest.raises(RuntimeError, match=r"updated \(version now 1\)"):
        product.backward()
    w.grad = None
    exponential.backward()
    np.testing.assert_allclose(w.grad, np.exp([1.0, 2.0]))


def test_data_assignment_after_forward_is_an_error():
    x = leaf([1.0, 2.0], name="x")
    y = (x * x).sum()
    x.data = np.array([10.0, 10.0])
    with pytest.raises(RuntimeError, match=r"'x'.*replaced \(\.data assigned\)"):
        y.backward()


def test_load_state_dict_between_forward_and_backward_is_an_error():
    lin = nn.Linear(2, 2)
    x = Tensor(np.ones((1, 2), dtype=np.float32))
    loss = lin(x).sum()
    state = {k: v * 2 for k, v in lin.state_dict().items()}
    lin.load_state_dict(state)
    with pytest.raises(RuntimeError, match="updated|replaced"):
        loss.backward()


def test_a_write_to_an_input_the_op_did_not_save_is_no_error():
    x = leaf([1.0, 2.0])
    y = (x + 1.0).sum()  # add keeps only shapes
    x.data = np.array([5.0, 5.0])
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_an_optimizer_step_leaves_the_array_an_op_saved_untouched():
    w = leaf([1.0, 2.0])
    saved = w.data
    (w * w).sum().backward()
    optim.SGD([w], lr=0.1).step()
    np.testing.assert_array_equal(saved, [1.0, 2.0])  # the graph's view of w is unchanged
    np.testing.assert_allclose(w.data, [0.8, 1.6])


def test_updating_after_backward_and_recomputing_is_fine():
    w = leaf([1.0, 2.0])
    opt = optim.SGD([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.data, np.array([1.0, 2.0]) * 0.8 ** 3)


def test_vjp_checks_versions_too():
    w = leaf([1.0, 2.0])
    y = w * w
    w.data = np.array([3.0, 3.0])
    with pytest.raises(RuntimeError, match="replaced"):
        tg.autograd.vjp(y, np.ones(2))


# ----------------------------------------------------------------------- hooks own their arrays


def test_a_hook_writing_into_its_gradient_corrupts_no_other_gradient():
    x = leaf([1.0, 2.0])
    y = leaf([3.0, 4.0])
    s = x + y  # add hands the same array to both inputs
    x.register_hook(lambda g: g.__imul__(100))  # g *= 100, in place, returning g
    s.sum().backward()
    np.testing.assert_array_equal(x.grad, [100.0, 100.0])
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_an_in_place_hook_returning_none_still_takes_effect_only_on_its_tensor():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    k = h + x

    def scale(g):
        g *= 100

    h.register_hook(scale)
    k.sum().backward()
    np.testing.assert_array_equal(x.grad, [101.0, 101.0])


def test_a_hook_on_a_broadcast_gradient_can_write():
    x = leaf(2.0)
    y = x * np.ones(3)  # sum's gradient is a read-only broadcast view
    y.register_hook(lambda g: g.__imul__(2))
    y.sum().backward()
    assert float(x.grad) == 6.0


def test_on_grad_gets_copies():
    x = leaf([1.0, 2.0])
    y = leaf([3.0, 4.0])

    def vandal(node, g):
        g *= 0

    (x + y).sum().backward(on_grad=vandal)
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_a_hook_returning_a_string_is_a_clear_error():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: "ab")
    with pytest.raises(TypeError, match="hook.*returned str"):
        (x * 2.0).sum().backward()


# ------------------------------------------------------------------- transpose as PyTorch's


def test_transpose_swaps_two_axes_as_pytorch():
    a = np.arange(6.0).reshape(2, 3)
    t = Tensor(a)
    np.testing.assert_array_equal(t.transpose(0, 1).data, a.T)
    b = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(Tensor(b).transpose(0, 2).data, np.swapaxes(b, 0, 2))
    np.testing.assert_array_equal(Tensor(b).transpose().data, b.transpose())
    np.testing.assert_array_equal(Tensor(b).permute(2, 0, 1).data, b.transpose(2, 0, 1))
    np.testing.assert_array_equal(Tensor(b).permute((1, 2, 0)).data, b.transpose(1, 2, 0))


@pytest.mark.parametrize("args", [((1, 0),), (2, 0, 1), ("a", "b"), (0,)])
def test_the_numpy_forms_of_transpose_point_to_permute(args):
    t = Tensor(np.ones((2, 3, 4)))
    with pytest.raises(TypeError, match=r"transpose: .*permute\(\*dims\)"):
        t.transpose(*args)


def test_an_rmsprop_step_between_forward_and_backward_is_an_error_too():
    w = leaf([1.0, 2.0], name="w")
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    optim.RMSprop([w], lr=0.1).step()
    assert w.version == 1
    with pytest.raises(RuntimeError, match=r"'w'.*updated"):
        loss.backward()
