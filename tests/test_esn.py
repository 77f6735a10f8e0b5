"""Echo state network, Module buffers and the Mackey-Glass task."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_rnn import Tensor, manual_seed, no_grad
from tinygrad_rnn.cli import main
from tinygrad_rnn.models import build_graph, get_arch
from tinygrad_rnn.models.esn import EchoStateNetwork
from tinygrad_rnn.nn import Buffer, Module, Parameter
from tinygrad_rnn.tasks import get_task
from tinygrad_rnn.tasks.mackey_glass import mackey_glass, nrmse
from tinygrad_rnn.training import TrainConfig, train
from viz import to_networkx
from viz.dot import draw


class _WithBuffer(Module):
    def __init__(self):
        super().__init__()
        self.w = Parameter(np.ones(2, dtype=np.float32))
        self.register_buffer("stat", np.arange(3, dtype=np.float32))


def test_buffer_is_in_state_dict_and_moved_by_to_but_not_a_parameter():
    m = _WithBuffer()
    assert isinstance(m.stat, Buffer) and not m.stat.requires_grad and m.stat.name == "stat"
    assert [name for name, _ in m.named_parameters()] == ["w"]
    assert list(m.state_dict()) == ["w", "stat"]
    m.to(np.float64)
    assert m.stat.dtype == np.float64 and m.w.dtype == np.float64
    other = _WithBuffer()
    other.load_state_dict(m.state_dict())
    assert other.stat.dtype == np.float64
    with pytest.raises(KeyError, match="stat"):
        other.load_state_dict({"w": np.ones(2)})
    with pytest.raises(KeyError, match="already has a parameter"):
        m.register_buffer("w", np.zeros(2))


def test_buffer_is_drawn_as_a_constant():
    sample = build_graph("esn", steps=4)
    kinds = {attrs["name"]: attrs["kind"] for _, attrs in to_networkx(sample.loss).nodes(data=True)
             if attrs["op"] == "leaf" and attrs["name"]}
    assert kinds["W"] == kinds["W_in"] == kinds["b_res"] == "constant"
    assert kinds["V"] == kinds["c"] == "param"


def test_esn_reservoir_is_fixed_and_gets_no_gradient():
    sample = build_graph("esn", steps=6)
    assert [n for n, _ in sample.model.named_parameters()] == ["V", "c"]
    assert [n for n, _ in sample.model.named_buffers()] == ["W", "W_in", "b_res"]
    assert not any(h.requires_grad for h in sample.states)
    sample.loss.backward()
    assert sample.model.V.grad is not None
    assert all(b.grad is None for b in sample.model.buffers())


def test_esn_reservoir_has_the_spectral_radius_and_sparsity_asked():
    task = get_task("mackey-glass")
    manual_seed(0)
    model = get_arch("esn").build(task, hidden=60, spectral_radius=0.8, sparsity=0.75)
    assert np.max(np.abs(np.linalg.eigvals(model.W.data))) == pytest.approx(0.8, rel=1e-5)
    assert np.mean(model.W.data == 0) == pytest.approx(0.75, abs=0.03)
    same = EchoStateNetwork(1, 1, 60, seed=5).W.data
    assert np.array_equal(same, EchoStateNetwork(1, 1, 60, seed=5).W.data)


def test_fast_reservoir_run_equals_the_recorded_forward():
    sample = build_graph("esn", steps=20, batch=3)
    x = sample.task.sample(3, 20, rng=np.random.default_rng(0)).x
    recorded = np.stack([h.data for h in sample.states])
    np.testing.assert_allclose(sample.model.reservoir_states(x), recorded, rtol=1e-6,
                               atol=1e-7)


def test_ridge_fit_solves_the_normal_equations():
    model = EchoStateNetwork(1, 2, 5, ridge=0.1, sparsity=0.0, seed=0).to(np.float64)
    rng = np.random.default_rng(0)
    S, Y = rng.normal(size=(40, 5)), rng.normal(size=(40, 2))
    model.fit_ridge(S, Y)
    residual = S @ model.V.data.T + model.c.data - Y
    # the gradient of ||residual||^2 / 2 + ridge / 2 ||V||^2 vanishes; c is not penalised
    np.testing.assert_allclose(residual.T @ S + 0.1 * model.V.data, 0, atol=1e-10)
    np.testing.assert_allclose(residual.sum(axis=0), 0, atol=1e-10)


def test_esn_learns_mackey_glass_and_gd_readout_gets_close_to_ridge():
    base = dict(task="mackey-glass", steps=300, batch=4, hidden=50, eval_batch=8, seed=0)
    ridge = train(TrainConfig("esn", **base))
    assert ridge.test["nrmse"] < 0.02, ridge.test
    assert ridge.test["loss"] < 1e-3 * ridge.baseline
    gd = train(TrainConfig("esn", iters=300, lr=0.02, arch_options={"readout": "gd"}, **base))
    assert gd.test["nrmse"] < 0.1 and gd.test["nrmse"] > ridge.test["nrmse"]


def test_mackey_glass_series_is_seeded_scaled_and_chaotic():
    s = mackey_glass(3000)
    assert s.shape == (3000,) and s.min() == -1.0 and s.max() == 1.0
    assert np.array_equal(s, mackey_glass(3000))
    # tau = 17 is past the onset of chaos: no period up to 200 repeats the series
    assert min(np.abs(s[p:] - s[:-p]).max() for p in range(1, 200)) > 0.1
    task = get_task("mackey-glass", horizon=3, washout=10)
    batch = task.sample(2, 40, rng=np.random.default_rng(0))
    assert batch.x.shape == (40, 2, 1) and batch.mask.sum() == 30
    np.testing.assert_array_equal(batch.x[3:, :, 0], batch.y[:-3, :, 0])
    assert nrmse(batch.y, batch.y) == 0.0


@pytest.mark.parametrize("options, message", [
    ({"spectral_radius": 0.0}, "spectral_radius must be > 0"),
    ({"spectral_radius": -1.0}, "spectral_radius must be > 0"),
    ({"leak": 0.0}, r"leak must be in \(0, 1\]"),
    ({"leak": 1.5}, r"leak must be in \(0, 1\]"),
    ({"sparsity": 1.0}, r"sparsity must be in \[0, 1\)"),
    ({"sparsity": -0.1}, r"sparsity must be in \[0, 1\)"),
    ({"readout": "lbfgs"}, "readout must be ridge or gd"),
])
def test_esn_bad_settings_are_one_clear_error(options, message):
    with pytest.raises(ValueError, match=message):
        get_arch("esn").build(get_task("mackey-glass"), hidden=10, **options)


def test_mackey_glass_bad_lengths_are_one_clear_error():
    task = get_task("mackey-glass", washout=100)
    with pytest.raises(ValueError, match="too short for the washout of 100"):
        task.sample(1, 80)
    with pytest.raises(ValueError, match="horizon=3000 plus steps=200 is longer than the series"):
        get_task("mackey-glass", horizon=3000).sample(1, 200)
    with pytest.raises(ValueError, match="horizon must be >= 1"):
        get_task("mackey-glass", horizon=0)


def test_cli_render_folded_draws_the_reservoir_loop_with_constants(tmp_path):
    path = tmp_path / "esn.svg"
    assert main(["render", "esn", "--view", "folded", "-o", str(path)]) == 0
    svg = ET.parse(path).getroot()
    text = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "W_in" in text and "fixed" in text and "delay 1" in text
    source = draw(build_graph("esn", steps=5).loss, view="folded").source
    for name in ("W", "W_in", "b_res"):  # constants, drawn once: not inputs or parameters
        assert source.count(f'label="{name}\\nfixed') == 1
        assert f'tooltip="constant {name}\\n' in source


def test_cli_trace_says_no_gradient_reaches_the_reservoir(capsys):
    assert main(["trace", "esn", "--steps", "4", "--no-color"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "No gradient flows into the reservoir" in out and "no gradient (fixed)" in out
    assert main(["trace", "esn", "--steps", "4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["states_require_grad"] is False
    assert {row["tensor"]: row["trained"] for row in doc["tensors"]} == {
        "V": True, "c": True, "W": False, "W_in": False, "b_res": False}


def test_cli_train_esn_and_bad_option(capsys):
    assert main(["train", "esn", "--steps", "200", "--batch", "2", "--hidden", "20", "-q",
                 "--no-color"]) == 0
    assert "NRMSE" in capsys.readouterr().out
    assert main(["train", "esn", "-O", "leak=2", "-q"]) == 2
    assert "leak must be in (0, 1]" in capsys.readouterr().err


def test_esn_forward_under_no_grad_records_nothing():
    model = EchoStateNetwork(1, 1, 8, seed=0)
    with no_grad():
        run = model(Tensor(np.zeros((3, 2, 1), dtype=np.float32)))
    assert all(not h.parents for h in run.states)


def test_a_nilpotent_reservoir_is_an_error_not_a_silent_zero():
    with pytest.raises(ValueError, match="nilpotent"):
        EchoStateNetwork(1, 1, 5, sparsity=0.9, seed=0)


def test_esn_on_a_classification_task_is_a_usage_error(capsys):
    assert main(["train", "esn", "--task", "parity", "-q"]) == 2
    assert "real-valued targets" in capsys.readouterr().err
