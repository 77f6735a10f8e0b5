"""API.md, read as an outside test suite would: the public names, argument orders and semantics."""

import inspect
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_rnn as tr
from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn import functional as F
from tinygrad_rnn.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rnn_program(T: int = 3, extra: int = 0):
    """A small user-written RNN unroll (steps 1..T, states h[t]); `extra` unrelated ops first."""
    for _ in range(extra):
        Tensor(np.ones(3)) * 2
    tr.manual_seed(0)
    cell, head = nn.RNNCell(2, 3), nn.Linear(3, 1)
    x = Tensor(np.random.default_rng(0).standard_normal((T, 2, 2)).astype(np.float32), name="x")
    h, states, loss = None, [], 0
    for t in range(1, T + 1):
        with tr.scope("rnn", step=t):
            h = cell(x[t - 1], h).named(f"h[{t}]")
            states.append(h)
            loss = loss + (head(h) ** 2).mean()
    return loss, states, cell


# ------------------------------------------------------------------------------------- Tensor


def test_constructor_dtype_rules():
    assert Tensor(1.5).dtype == np.float32
    assert Tensor([[1.0], [2.0]]).dtype == np.float32
    assert Tensor(np.zeros(2)).dtype == np.float64
    assert Tensor(np.zeros(2, np.float32)).dtype == np.float32
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor([1, 2]).dtype.kind == "i"
    with pytest.raises(TypeError):
        Tensor([1, 2], requires_grad=True)
    t = Tensor([1.0], True, None, "x")  # argument order: data, requires_grad, dtype, name
    assert t.requires_grad and t.name == "x"


def test_op_names_and_args_and_constant_parents():
    a = Tensor(np.ones((2, 2)))
    assert (a @ a).op == "matmul" and a.tanh().op == "tanh" and a.log_softmax().op == "log_softmax"
    assert a.sum(axis=1).op_args == {"axis": 1} and a.sum().op_args == {}
    assert a.op is None and a.op_args == {} and a.parents == ()
    b = 2 * a  # recorded although nothing requires grad; the 2 is a constant leaf parent
    assert b.op == "mul" and b.parents[1] is a and b.parents[0].is_leaf
    assert not b.parents[0].requires_grad and not b.requires_grad
    w = Tensor(np.ones(2), requires_grad=True)
    assert (a + w).requires_grad and (w + a).requires_grad


def test_introspection_survives_backward_and_second_backward_hints_detach():
    a = Tensor(np.ones((2, 2)), requires_grad=True)
    s = a.sum(axis=1)
    loss = s.sum()
    loss.backward()
    assert s.op == "sum" and s.op_args == {"axis": 1} and s.parents == (a,)
    with pytest.raises(RuntimeError, match="detach"):
        loss.backward()


def test_backward_semantics_on_grad_hooks_retain_grad():
    a = Tensor(np.array([1.0]), requires_grad=True)
    c = Tensor(np.array([2.0]))
    b = a * 2
    b.retain_grad()
    calls, seen = [], []
    b.register_hook(lambda g: calls.append(g.copy()))
    d = (b * 3 + b * c).sum()
    d.backward(on_grad=lambda t, g: seen.append(t.id))
    assert len(calls) == 1 and calls[0][0] == 5  # one call, with the total gradient
    assert len(seen) == len(set(seen)) and seen[0] == d.id and seen[-1] == a.id
    assert c.id not in seen and c.grad is None
    assert b.grad[0] == 5 and a.grad[0] == 10
    with pytest.raises(RuntimeError):
        (a * np.ones(2)).backward()  # non-scalar without grad=


def test_scalars_and_arrays_on_either_side_keep_dtype():
    x = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    for out in (2 * x, 1 - x, 1 / x, 2 ** x, x * np.float64(2), np.float64(1) - x, x ** 2):
        assert out.dtype == np.float32
    r = np.array([[1.0], [2.0]]) @ x.reshape(1, 2)
    assert isinstance(r, Tensor) and r.shape == (2, 2)
    assert np.allclose((np.array([3.0, 3.0]) - x).data, [2, 1])


def test_getitem_repeated_indices_and_max_ties():
    x = Tensor(np.arange(3.0), requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    assert np.array_equal(x.grad, [3, 0, 1])
    y = Tensor(np.array([[1.0, 3.0, 3.0]]), requires_grad=True)
    y.max(axis=(0, 1)).backward()
    assert np.allclose(y.grad, [[0, 0.5, 0.5]])


def test_comparisons_are_bool_without_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    for r in (x < 1.5, 1.5 < x, x == 1.0, np.array([1.0, 1.0]) <= x):
        assert r.dtype == bool and not r.requires_grad


def test_shape_error_names_op_and_every_shape():
    assert issubclass(tr.ShapeError, ValueError)
    with pytest.raises(tr.ShapeError, match=r"add.*\(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))
    # fixed in review: axis errors named the number of dims, not the shape
    with pytest.raises(tr.ShapeError, match=r"sum.*\(2, 3\)"):
        Tensor(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(tr.ShapeError, match=r"softmax.*\(2, 3\)"):
        Tensor(np.ones((2, 3))).softmax(axis=2)
    with pytest.raises(tr.ShapeError, match=r"stack.*\(2,\)"):
        tr.stack([Tensor(np.ones(2))], axis=3)


def test_long_chain_backprops_without_recursion():
    a = Tensor(np.array([1.0]), requires_grad=True)
    x = a
    for _ in range(100_000):
        x = x * 1.0
    x.sum().backward()
    assert a.grad[0] == 1.0


# --------------------------------------------------------------------- module-level functions


def test_scope_nesting_step_inheritance_and_module_attribute_scope():
    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(2, 2)

        def forward(self, x):
            return self.enc(x)

    with tr.scope("a", step=3):
        with tr.scope("b"):
            y = Tensor(1.0) + 1
            z = Outer()(Tensor(np.ones((1, 2), np.float32)))
    assert y.scope == ("a", "b") and y.step == 3
    assert z.scope == ("a", "b", "enc") and z.step == 3
    assert Tensor(1.0).scope == () and Tensor(1.0).step is None


def test_gradcheck_contract():
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    assert tr.gradcheck(lambda a: a.tanh(), x) is True  # non-scalar output
    with pytest.raises(TypeError):
        tr.gradcheck(lambda a: a.sum(), Tensor(np.ones(2, np.float32), requires_grad=True))
    assert issubclass(tr.GradcheckError, AssertionError)

    def wrong(a):
        y = a * 2
        if y.requires_grad:
            y.register_hook(lambda g: g * 3)
        return y.sum()

    with pytest.raises(tr.GradcheckError, match=r"input 0.*\(0, 0\)"):
        tr.gradcheck(wrong, x)


def test_detect_anomaly_names_op_scope_and_step():
    with tr.detect_anomaly(), tr.scope("rnn", step=4), np.errstate(all="ignore"):
        with pytest.raises(FloatingPointError, match=r"log.*rnn.*4"):
            Tensor(np.array([-1.0])).log()


# ------------------------------------------------------------------------- functional, nn, optim


def test_cross_entropy_class_axis_last_matches_torch(torch):
    rng = np.random.default_rng(1)
    logits, target = rng.standard_normal((3, 2, 5)), rng.integers(0, 5, (3, 2))
    for reduction in ("mean", "sum", "none"):
        x = Tensor(logits, requires_grad=True)
        loss = F.cross_entropy(x, target, reduction=reduction)
        xt = torch.tensor(logits, requires_grad=True)
        lt = torch.nn.functional.cross_entropy(xt.permute(0, 2, 1), torch.tensor(target),
                                               reduction=reduction)
        loss.backward(np.ones(loss.shape))
        lt.backward(torch.ones_like(lt))
        assert loss.shape == tuple(lt.shape)
        assert np.allclose(loss.data, lt.detach().numpy()) and np.allclose(x.grad, xt.grad)


def test_module_state_dict_contract():
    m = nn.Linear(3, 2)
    w = m.weight
    opt = optim.SGD(m.parameters(), lr=0.1)
    sd = m.state_dict()
    sd["bias"][...] = 99  # a copy
    assert not np.any(m.bias.data == 99)
    sd64 = {k: v.astype(np.float64) for k, v in sd.items()}
    m.load_state_dict(sd64)
    assert m.weight is w and w.dtype == np.float64 and w.data is not sd64["weight"]
    m(Tensor(np.ones((4, 5, 3)))).sum().backward()  # any leading dims
    opt.step()
    bad = dict(sd64, weight=np.zeros((3, 3)))
    with pytest.raises(Exception, match=r"weight.*\(3, 3\).*\(2, 3\)"):
        m.load_state_dict(bad)
    with pytest.raises(Exception, match="bias"):
        m.load_state_dict({"weight": sd64["weight"]})
    assert m.weight.name == "weight"


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_load_torch_state_dict_and_match(torch, kind):
    ours, theirs = getattr(nn, kind)(3, 4), getattr(torch.nn, kind)(3, 4)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((2, 3))
    out, ref = ours(Tensor(x), state=None), theirs(torch.tensor(x))
    if kind == "LSTMCell":
        assert isinstance(out, tuple) and len(out) == 2
        out, ref = out[0], ref[0]
    assert out.shape == (2, 4) and np.allclose(out.data, ref.detach().numpy())


def test_adam_matches_torch_and_clip_returns_norm_before(torch):
    w0 = np.random.default_rng(3).standard_normal((3, 2))
    p, pt = nn.Parameter(w0.copy()), torch.nn.Parameter(torch.tensor(w0))
    opt, opt_t = optim.Adam([p], 0.01, (0.8, 0.9), 1e-6, 0.1), \
        torch.optim.Adam([pt], 0.01, (0.8, 0.9), 1e-6, 0.1)
    for _ in range(3):
        opt.zero_grad()
        opt_t.zero_grad()
        (p.tanh() ** 2).sum().backward()
        (pt.tanh() ** 2).sum().backward()
        norm = tr.clip_grad_norm_([p], 0.1)
        norm_t = torch.nn.utils.clip_grad_norm_([pt], 0.1)
        assert isinstance(norm, float) and np.isclose(norm, norm_t.item())
        opt.step()
        opt_t.step()
    assert np.allclose(p.data, pt.detach().numpy())


# ------------------------------------------------------------------------------------------ viz


def test_to_networkx_node_attributes():
    import viz

    loss, states, cell = _rnn_program()
    graph = viz.to_networkx(loss)
    for _, attrs in graph.nodes(data=True):
        assert isinstance(attrs["op"], str) and isinstance(attrs["shape"], tuple)
        assert isinstance(attrs["scope"], tuple) and isinstance(attrs["requires_grad"], bool)
        assert isinstance(attrs["is_param"], bool) and "name" in attrs and "step" in attrs
    node = graph.nodes[cell.weight_hh.id]
    assert node["op"] == "leaf" and node["is_param"] and node["name"] == "weight_hh"
    h2 = graph.nodes[states[1].id]
    assert h2["name"] == "h[2]" and h2["step"] == 2 and h2["scope"] == ("rnn",)
    assert all(u < v for u, v in graph.edges)  # parent -> child


def test_draw_signature_and_byte_identical_dot():
    import viz

    params = inspect.signature(viz.draw).parameters
    assert list(params) == ["root", "view", "grads", "values", "rankdir", "max_steps"]
    assert [params[k].default for k in list(params)[1:]] == ["unrolled", False, False, "LR", None]
    for kwargs in ({}, {"view": "folded"}, {"grads": True}, {"max_steps": 1}):
        first = viz.draw(_rnn_program()[0], **kwargs).source
        assert viz.draw(_rnn_program(extra=5)[0], **kwargs).source == first


def test_bptt_report_and_trace_backward_types():
    import io

    from rich.console import Console

    import viz

    loss, states, _ = _rnn_program()
    report = viz.bptt_report(loss, states, console=Console(file=io.StringIO()))
    assert isinstance(report, viz.BPTTReport)
    json.dumps(report.to_dict())
    rows = viz.trace_backward(_rnn_program()[0], console=Console(file=io.StringIO()))
    assert isinstance(rows, list) and rows


# ------------------------------------------------------------------------------------------ CLI


def test_cli_no_color_before_or_after_command(capsys):
    # fixed in review: `tinygrad-rnn --no-color list` was an argparse error (exit 2)
    assert main(["--no-color", "list"]) == 0
    assert main(["list", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "rnn" in out and "\x1b" not in out


def test_cli_exit_codes_and_one_line_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["nosuchcommand"])
    assert exc.value.code == 2
    assert main(["inspect", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "nosuch" in err
    assert main(["render", "rnn", "--steps", "2", "-o", "/nonexistent-dir/x.svg"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tinygrad-rnn: error:")


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "tinygrad_rnn", "list"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "lstm" in result.stdout and "\x1b" not in result.stdout
