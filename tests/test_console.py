"""Terminal traces: the figures of bptt_report and trace_backward, and how they print."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from tinygrad_rnn import Tensor, scope
from viz.console import (TrainDisplay, bptt_report, clip_params, log_bar, print_clipping,
                         print_results, trace_backward, train_json)

ROOT = Path(__file__).resolve().parents[1]
ESC = "\x1b["


def _orthogonal(n, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return q


def tiny_rnn(w_scale=1.0, T=6, B=2, H=4, D=3, seed=0, activation="tanh", last_only=False,
             sum_inside=False, x_scale=1.0):
    """h_t = act(x_t U^T + h_{t-1} W^T + b), o_t = h_t V^T, L = sum_t sum(o_t^2), float64.

    W = w_scale * an orthogonal matrix, so each step back scales dL/dh by exactly w_scale
    when the activation is the identity. sum_inside: the running sum L = L(1) + ... + L(t) is
    taken inside each step's scope (its add nodes carry step tags), as many models write it.
    """
    rng = np.random.default_rng(seed)
    W = Tensor(w_scale * _orthogonal(H, seed), requires_grad=True, name="W")
    U = Tensor(rng.normal(size=(H, D)), requires_grad=True, name="U")
    V = Tensor(rng.normal(size=(2, H)), requires_grad=True, name="V")
    b = Tensor(rng.normal(size=H) * 0.1, requires_grad=True, name="b")
    x = Tensor(x_scale * rng.normal(size=(T, B, D)))
    h = Tensor(np.zeros((B, H)))
    states, outputs, losses, running = [], [], [], None
    for t in range(1, T + 1):
        with scope("rnn", step=t):
            a = x[t - 1] @ U.T + h @ W.T + b
            h = (a.tanh() if activation == "tanh" else a).named(f"h[{t}]")
            o = h @ V.T
            losses.append((o * o).sum())
            if sum_inside and not last_only:
                running = losses[-1] if running is None else running + losses[-1]
        states.append(h)
        outputs.append(o)
    loss = losses[-1]
    if running is not None:
        loss = running
    elif not last_only:
        for step_loss in losses[:-1]:
            loss = loss + step_loss
    return {"loss": loss, "states": states, "outputs": outputs, "losses": losses, "W": W,
            "U": U, "V": V, "b": b}


def colour_codes(text: str) -> list[str]:
    """The SGR parameters in text that set a foreground or background colour."""
    found = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", text):
        for code in params.split(";"):
            if code and (30 <= int(code) <= 49 or 90 <= int(code) <= 107):
                found.append(code)
    return found


def recording(width=120, **kwargs):
    return Console(record=True, width=width, file=io.StringIO(), **kwargs)


def test_step_norms_equal_retain_grad_and_parts_add_up():
    net = tiny_rnn(w_scale=0.9)
    for h in net["states"]:
        h.retain_grad()
    console = recording()
    report = bptt_report(net["loss"], net["states"], console=console, recurrent_weight=net["W"])
    net["loss"].backward()  # the report left the graph and every .grad alone: fill them now
    text = console.export_text()
    V = net["V"].data
    for row, h, o in zip(report.steps, net["states"], net["outputs"]):
        total = h.grad
        local = 2 * o.data @ V  # d sum(o^2)/dh through o = h V^T only: the loss at step t itself
        through = total - local
        assert row.total == pytest.approx(np.linalg.norm(total), rel=1e-12)
        assert row.local == pytest.approx(np.linalg.norm(local), rel=1e-10)
        assert row.through == pytest.approx(np.linalg.norm(through), rel=1e-9, abs=1e-12)
        assert row.residual < 1e-12  # the two parts add up to the total as vectors
        assert f"{row.total:.3e}" in text
    assert report.steps[-1].through == 0  # nothing comes back from after the last step
    assert report.last_step_norm == report.steps[-1].total
    eig = np.max(np.abs(np.linalg.eigvals(net["W"].data)))
    assert report.spectral_radius == pytest.approx(eig)
    assert f"spectral radius of the recurrent weight {eig:.3g}" in text
    assert report.vanished == [] and report.exploded == []


def test_param_contributions_sum_to_gradient_and_match_each_step():
    net = tiny_rnn(w_scale=1.0, T=5)
    console = recording()
    params = [("W", net["W"]), ("U", net["U"]), ("V", net["V"]), ("b", net["b"])]
    report = bptt_report(net["loss"], net["states"], params=params, console=console)
    by_name = {p.name: p for p in report.params}
    for name in "WUVb":
        p = by_name[name]
        assert p.sum_ok and p.sum_diff < 1e-10
        assert net[name].grad is None  # the report leaves the user's gradients alone
    net["loss"].backward()  # and the graph: a backward (or a trace) can follow
    for name in "WUVb":
        assert by_name[name].grad_norm == pytest.approx(np.linalg.norm(net[name].grad))
    # V's contribution at step t is dL/do_t^T h_t = (2 o_t)^T h_t, computed here independently
    for t, (h, o) in enumerate(zip(net["states"], net["outputs"]), start=1):
        expected = np.linalg.norm((2 * o.data).T @ h.data)
        assert by_name["V"].per_step[t] == pytest.approx(expected, rel=1e-10)
    assert by_name["W"].per_step[1] == 0  # h_0 = 0: step 1 adds nothing to W
    text = console.export_text()
    assert "sum to its gradient" in text and "MISMATCH" not in text
    assert f"{by_name['V'].per_step[3]:.3e}" in text


def test_contribution_check_fails_when_the_gradient_is_off():
    net = tiny_rnn(T=3)
    net["W"].grad = np.ones_like(net["W"].data)  # an earlier, stale gradient is subtracted out
    report = bptt_report(net["loss"], net["states"], params=[net["W"]], console=recording())
    assert report.params[0].sum_ok
    # now corrupt the accumulated gradient: the check must notice
    net2 = tiny_rnn(T=3)
    seen = []
    handle = net2["W"].register_hook(lambda g: seen.append(1) or g * 2)
    report2 = bptt_report(net2["loss"], net2["states"], params=[net2["W"]], console=recording())
    handle.remove()
    assert seen and not report2.params[0].sum_ok


def test_vanishing_flagged_healthy_not_exploding_flagged():
    vanish = tiny_rnn(w_scale=0.05, T=8)
    report = bptt_report(vanish["loss"], vanish["states"], console=recording(),
                         last_step_only=True, recurrent_weight=vanish["W"])
    assert report.vanished and report.vanished[0] == 1 and not report.exploded
    assert report.decay_factor < 0.05

    healthy = tiny_rnn(w_scale=1.0, T=5)
    report = bptt_report(healthy["loss"], healthy["states"], console=recording(),
                         recurrent_weight=healthy["W"])
    assert report.vanished == [] and report.exploded == []

    explode = tiny_rnn(w_scale=10.0, T=9, activation="identity")
    console = recording()
    report = bptt_report(explode["loss"], explode["states"], console=console,
                         last_step_only=True, recurrent_weight=explode["W"])
    assert report.exploded == [1, 2]  # 10^8 and 10^7 times ||dL/dh_T|| exceed 1e6
    assert report.decay_factor == pytest.approx(10.0, rel=1e-9)  # orthogonal W times 10
    assert report.spectral_radius == pytest.approx(10.0, rel=1e-9)
    text = console.export_text()
    assert "exploded at t=1,2" in text and "growth factor per step 10" in text


@pytest.mark.parametrize("sum_inside", [False, True])
def test_through_time_part_found_when_the_recurrence_passes_through_the_output(sum_inside):
    rng = np.random.default_rng(1)
    V = Tensor(rng.normal(size=(2, 3)), requires_grad=True, name="V")
    W = Tensor(rng.normal(size=(3, 2)), requires_grad=True, name="W")
    o = Tensor(np.zeros((1, 2)))
    states, outputs, loss = [], [], None
    for t in range(1, 5):
        with scope("rnn", step=t):
            h = (o @ W.T + 0.5).tanh()  # fig. 10.4: the output o(t-1), not h(t-1), feeds h(t)
            o = h @ V.T
            step_loss = (o * o).sum()
            if sum_inside:
                loss = step_loss if loss is None else loss + step_loss
        h.retain_grad()
        states.append(h)
        outputs.append(o)
        if not sum_inside:
            loss = step_loss if loss is None else loss + step_loss
    report = bptt_report(loss, states, console=recording())
    loss.backward()  # retained states' gradients, from the graph the report kept
    for row, h, out in zip(report.steps, states, outputs):
        local = 2 * out.data @ V.data
        assert row.local == pytest.approx(np.linalg.norm(local), rel=1e-10)
        assert row.through == pytest.approx(np.linalg.norm(h.grad - local), rel=1e-9, abs=1e-14)
    assert report.steps[0].through > 0


def test_cut_recurrence_has_no_through_time_part():
    W = Tensor(np.eye(3) * 0.5, requires_grad=True, name="W")
    h = Tensor(np.ones((1, 3)))
    states, loss = [], None
    for t in range(1, 4):
        with scope("rnn", step=t):
            h = (h.detach() @ W.T + 1.0).tanh()  # the state is cut from its past
            step_loss = (h * h).sum()
        states.append(h)
        loss = step_loss if loss is None else loss + step_loss
    console = recording()
    report = bptt_report(loss, states, console=console)
    assert all(row.through == 0 for row in report.steps) and report.vanished == [1, 2]
    assert "no gradient reaches these states through time" in " ".join(
        console.export_text().split())


def test_last_step_only_equals_gradient_of_the_last_loss():
    full = tiny_rnn(T=5, seed=3)
    report = bptt_report(full["loss"], full["states"], console=recording(), last_step_only=True)
    only_last = tiny_rnn(T=5, seed=3, last_only=True)
    for h in only_last["states"]:
        h.retain_grad()
    only_last["loss"].backward()
    for row, h in zip(report.steps, only_last["states"]):
        assert row.total == pytest.approx(np.linalg.norm(h.grad), rel=1e-10)
    assert all(row.local == 0 for row in report.steps[:-1])
    # the report changed no gradient; the graph is still there for the user's backward
    assert full["W"].grad is None
    full["loss"].backward()
    reference = tiny_rnn(T=5, seed=3)
    reference["loss"].backward()
    assert np.allclose(full["W"].grad, reference["W"].grad)


def _close(a, b):
    """a and b (nested JSON-ready data) equal, floats to 1e-12 relative."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-300)
    return a == b


@pytest.mark.parametrize("last_step_only", [False, True])
def test_loss_summed_inside_or_outside_the_step_scope_gives_the_same_report(last_step_only):
    # inside, the running sum's add nodes carry the step tags t = 2..T: they must not make the
    # loss at step t look as if it came back through time
    reports = []
    for inside in (False, True):
        net = tiny_rnn(w_scale=0.5, T=8, sum_inside=inside)
        reports.append(bptt_report(net["loss"], net["states"], console=recording(),
                                   last_step_only=last_step_only,
                                   recurrent_weight=net["W"]).to_dict())
    assert _close(reports[0], reports[1])
    assert reports[0]["steps"][0]["through"] > 0


@pytest.mark.parametrize("sum_inside", [False, True])
def test_direct_part_is_the_gradient_of_the_own_step_loss(sum_inside):
    T = 6
    measured = tiny_rnn(w_scale=0.8, T=T, sum_inside=sum_inside)
    own = []  # dL(t)/dh_t from a backward of L(t) alone, as arrays
    for t in range(1, T + 1):
        h = measured["states"][t - 1]
        h.retain_grad()
        h.zero_grad()
        measured["losses"][t - 1].backward(retain_graph=True)
        own.append(np.array(h.grad))
    for h in measured["states"]:
        h.zero_grad()
    measured["loss"].backward()
    net = tiny_rnn(w_scale=0.8, T=T, sum_inside=sum_inside)
    report = bptt_report(net["loss"], net["states"], console=recording())
    for row, h, direct in zip(report.steps, measured["states"], own):
        assert row.total == pytest.approx(np.linalg.norm(h.grad), rel=1e-12)
        assert row.local == pytest.approx(np.linalg.norm(direct), rel=1e-10)
        assert row.through == pytest.approx(np.linalg.norm(h.grad - direct), rel=1e-9,
                                            abs=1e-14)
        assert row.residual < 1e-12
    assert report.steps[-1].through == 0


@pytest.mark.parametrize("sum_inside", [False, True])
def test_last_step_only_vanishes_as_retain_grad_says(sum_inside):
    # gain 0.5 over 30 steps: ||dL(T)/dh_1|| is about 1e-11, not the size of the per-step losses
    T = 30
    net = tiny_rnn(w_scale=0.5, T=T, sum_inside=sum_inside, x_scale=0.3)
    report = bptt_report(net["loss"], net["states"], console=recording(), last_step_only=True)
    ref = tiny_rnn(w_scale=0.5, T=T, last_only=True, x_scale=0.3)
    for h in ref["states"]:
        h.retain_grad()
    ref["loss"].backward()
    for row, h in zip(report.steps, ref["states"]):
        assert row.total == pytest.approx(np.linalg.norm(h.grad), rel=1e-9, abs=1e-300)
    assert 1e-13 < report.steps[0].total < 1e-9
    assert report.vanished[0] == 1


def test_to_dict_is_json_and_matches_the_table():
    net = tiny_rnn(w_scale=0.5, T=4)
    console = recording()
    report = bptt_report(net["loss"], net["states"], console=console, recurrent_weight=net["W"])
    data = json.loads(json.dumps(report.to_dict()))
    assert data["schema"] == 1 and data["kind"] == "bptt"
    assert [s["t"] for s in data["steps"]] == [1, 2, 3, 4]
    text = console.export_text()
    for s in data["steps"]:
        assert f"{s['total']:.3e}" in text and f"{s['local']:.3e}" in text
    assert data["spectral_radius"] == pytest.approx(report.spectral_radius)
    names = [p["name"] for p in data["params"]]
    assert set(names) == {"W", "U", "V", "b"}
    assert all(p["sum_check"]["ok"] for p in data["params"])


def test_trace_backward_rows_follow_backward_and_passes_are_vjps():
    w = Tensor(np.array([0.5, -1.0]), requires_grad=True, name="w")
    x = Tensor(np.array([1.0, 2.0]))
    y = (x * w).tanh()
    loss = y.sum()
    console = recording()
    rows = trace_backward(loss, console=console)
    assert [r["op"] for r in rows] == ["sum", "tanh", "mul", "leaf"]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    tanh_row = rows[1]
    assert tanh_row["grad_norm"] == pytest.approx(np.sqrt(2))
    expected = np.linalg.norm(1 - np.tanh(x.data * w.data) ** 2)
    assert tanh_row["passes"][0]["norm"] == pytest.approx(expected)
    assert rows[-1]["name"] == "w" and rows[-1]["grad_norm"] == pytest.approx(
        np.linalg.norm(w.grad))
    text = console.export_text()
    assert "tanh: g * (1 - y^2)" in text and "4 nodes visited" in text


def test_long_trace_is_summarised_unless_all():
    net = tiny_rnn(T=6)
    console = recording(width=160)
    rows = trace_backward(net["loss"], console=console, head=3, tail=3)
    text = console.export_text()
    assert f"… {len(rows) - 6} more rows" in text
    assert f"{len(rows)} nodes visited" in text and "matmul 18" in text
    assert "leaf: accumulate into .grad" in text
    net = tiny_rnn(T=2)
    console = recording(width=160)
    rows = trace_backward(net["loss"], console=console, show_all=True, head=1, tail=1)
    assert "more rows" not in console.export_text()


def test_ascii_fallback_and_no_colour():
    raw = io.BytesIO()
    ascii_file = io.TextIOWrapper(raw, encoding="ascii")
    console = Console(file=ascii_file, width=110, force_terminal=False, record=True)
    assert console.options.ascii_only
    net = tiny_rnn(w_scale=0.05, T=8)
    bptt_report(net["loss"], net["states"], console=console, clip=1e-3)
    ascii_file.flush()
    out = raw.getvalue().decode("ascii")  # would raise if a block or symbol were written
    assert "#" in out and "||dL/dh_t||" in out and "clipped" in out and ESC not in out
    # a colour terminal with NO_COLOR-style no_color: styles may stay, colours go
    colour = Console(file=io.StringIO(), width=110, force_terminal=True, no_color=True)
    net = tiny_rnn(w_scale=0.05, T=8)
    bptt_report(net["loss"], net["states"], console=colour, last_step_only=True)
    text = colour.file.getvalue()
    assert "vanished" in text and ESC in text and not colour_codes(text)
    plain = Console(file=io.StringIO(), width=110, force_terminal=True)
    net = tiny_rnn(w_scale=0.05, T=8)
    bptt_report(net["loss"], net["states"], console=plain, print_report=False).print(plain)
    assert colour_codes(plain.file.getvalue())  # the check above can fail


def test_width_adapts():
    lines = {}
    for width in (80, 160):
        console = recording(width=width)
        net = tiny_rnn(T=4)
        bptt_report(net["loss"], net["states"], console=console)
        lines[width] = console.export_text().splitlines()
        assert max(len(line) for line in lines[width]) <= width
    longest_bar = {w: max(line.count("█") for line in lines[w]) for w in lines}
    assert longest_bar[160] > longest_bar[80]


def test_log_bar():
    assert log_bar(1e-6, 1e-6, 1.0, 10) == "█"
    assert log_bar(1.0, 1e-6, 1.0, 10) == "█" * 10
    assert log_bar(1e-3, 1e-6, 1.0, 11, ascii_only=True) == "#" * 6
    assert log_bar(0.0, 1e-6, 1.0, 10) == "."


def test_clipping_before_and_after():
    net = tiny_rnn(T=4)
    net["loss"].backward()
    params = [net[k] for k in "WUVb"]
    before = np.sqrt(sum(np.sum(p.grad ** 2) for p in params))
    info = clip_params(params, 1.0)
    assert info["clipped"] and info["before"] == pytest.approx(before)
    assert info["after"] == pytest.approx(1.0, rel=1e-5)
    console = recording()
    print_clipping(console, info["before"], info["after"], 1.0)
    assert f"clipped: ‖g‖ {before:.4g} → 1 (max_norm 1)" in console.export_text()


def test_train_display_plain_when_not_a_terminal():
    console = recording()
    with TrainDisplay(20, console, title="rnn") as display:
        for i in range(20):
            display.update(i + 1, 1.0 / (i + 1), clip=(5.0, 1.0) if i == 3 else None)
    display.results({"accuracy": 0.75})
    text = console.export_text()
    assert "iter 20/20  loss 0.0500" in text and "accuracy" in text and "0.75" in text
    assert sum(line.startswith("iter ") for line in text.splitlines()) == 10
    assert display.summary()["clipped_iters"] == 1
    assert display.summary()["final_loss"] == pytest.approx(0.05)
    quiet = recording()
    with TrainDisplay(5, quiet, quiet=True) as display:
        for i in range(5):
            display.update(i + 1, 0.5)
    assert "iter" not in quiet.export_text()
    doc = json.loads(json.dumps(train_json(display.summary(), display.history)))
    assert doc["schema"] == 1 and doc["kind"] == "train" and len(doc["history"]) == 5


def test_train_display_plain_lines_count_the_clipped_iterations_since_the_last_line():
    console = recording()
    with TrainDisplay(20, console, title="rnn", plain_lines=2) as display:
        for i in range(20):  # clipped at iterations 2 and 3 only; a norm is passed every time
            display.update(i + 1, 1.0, clip=(1.26, 1.0) if i in (1, 2) else (0.5, 0.5))
    lines = [line for line in console.export_text().splitlines() if line.startswith("iter ")]
    assert len(lines) == 2
    assert "clipped 2 of 10 (last ‖g‖ 1.26 → 1)" in lines[0]
    assert "clipped" not in lines[1]  # nothing clipped since: no stale line


def test_bptt_report_then_trace_backward_and_clip_leave_no_trace():
    net = tiny_rnn(w_scale=1.0, T=4)
    report = bptt_report(net["loss"], net["states"], params=[net["W"], net["U"]],
                         console=recording(), clip=1e-3)
    assert report.clip["clipped"] and net["W"].grad is None and net["U"].grad is None
    rows = trace_backward(net["loss"], console=recording(), retain_graph=True)  # no error
    assert rows and net["W"].grad is not None
    want = np.linalg.norm(np.concatenate([net["W"].grad.ravel(), net["U"].grad.ravel()]))
    assert report.clip["before"] == pytest.approx(want, rel=1e-12)
    again = bptt_report(net["loss"], net["states"], params=[net["W"]], console=recording())
    assert again.params[0].grad_norm == pytest.approx(np.linalg.norm(net["W"].grad))


def test_train_display_live_bar_on_a_terminal():
    console = Console(file=io.StringIO(), width=100, force_terminal=True, record=True)
    with TrainDisplay(3, console, title="rnn") as display:
        for i in range(3):
            display.update(i + 1, 0.25, clip=(8.0, 1.0))
    print_results(console, display.summary())
    text = console.export_text()
    assert "3/3" in text and "loss 0.2500" in text and "it/s" in text
    assert "clipped ‖g‖ 8 → 1 (3x)" in text and "final loss" in text


PIPED = """
import numpy as np
from tinygrad_rnn import Tensor, scope
from viz.console import bptt_report, trace_backward
W = Tensor(np.eye(3) * 0.01, requires_grad=True, name="W")
h = Tensor(np.ones((1, 3)))
states = []
for t in range(1, 9):
    with scope("rnn", step=t):
        h = (h @ W.T + 1.0).tanh()
    states.append(h)
loss = (h * h).sum()
bptt_report(loss, states, recurrent_weight=W)
"""


def test_piped_output_has_no_escape_codes():
    out = subprocess.run([sys.executable, "-c", PIPED], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "TERM": "xterm-256color"})
    assert out.returncode == 0, out.stderr
    assert "vanished" in out.stdout and "BPTT" in out.stdout
    assert ESC not in out.stdout
