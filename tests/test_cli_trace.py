"""`tinygrad-rnn trace`: BPTT tables, --ops, --json, --last-step, plain output in pipes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_rnn import cli

ROOT = Path(__file__).resolve().parents[1]
ESC = "\x1b["


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    if "--json" not in argv:
        out = " ".join(out.split())  # phrases may wrap at the console's width
    return code, out, err


def run_piped(*argv, **env):
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm-256color", **env}
    return subprocess.run([sys.executable, "-m", "tinygrad_rnn", *argv], cwd=ROOT, env=environ,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)


def colour_codes(text: str) -> list[str]:
    found = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", text):
        found += [c for c in params.split(";") if c and (30 <= int(c) <= 49 or 90 <= int(c) <= 107)]
    return found


def test_json_parses_and_matches_the_table(capsys):
    code, out, _ = run_cli(capsys, "trace", "rnn", "--steps", "5", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["schema"] == 1 and data["kind"] == "bptt" and data["arch"] == "rnn"
    assert [s["t"] for s in data["steps"]] == [1, 2, 3, 4, 5]
    for s in data["steps"]:
        assert s["total"] > 0
    assert data["params"] and all(p["sum_check"]["ok"] for p in data["params"])
    assert data["spectral_radius"] is not None
    code, table, _ = run_cli(capsys, "trace", "rnn", "--steps", "5")
    assert code == 0
    for s in data["steps"]:
        assert f"{s['total']:.3e}" in table and f"{s['local']:.3e}" in table
    assert f"{data['spectral_radius']:.3g}" in table
    assert "sum to its gradient" in table


def test_last_step_restricts_the_loss(capsys):
    code, out, _ = run_cli(capsys, "trace", "rnn", "--steps", "6", "--last-step", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["last_step_only"] is True
    assert all(s["local"] == 0 for s in data["steps"][:-1])
    assert data["steps"][-1]["local"] == pytest.approx(data["steps"][-1]["total"])


def test_ops_trace_summarised_unless_all(capsys):
    code, out, _ = run_cli(capsys, "trace", "rnn", "--steps", "3", "--ops", "--json")
    data = json.loads(out)
    assert code == 0 and data["schema"] == 1 and data["kind"] == "ops"
    n = len(data["rows"])
    assert sum(data["op_counts"].values()) == n and data["op_counts"]["tanh"] == 3
    code, text, _ = run_cli(capsys, "trace", "rnn", "--steps", "3", "--ops")
    assert f"{n} nodes visited" in text and "more rows" in text
    code, text, _ = run_cli(capsys, "trace", "rnn", "--steps", "3", "--ops", "--all")
    assert code == 0 and "more rows" not in text and "tanh: g * (1 - y^2)" in text


def test_clip_shows_before_and_after(capsys):
    code, out, _ = run_cli(capsys, "trace", "rnn", "--steps", "4", "--clip", "1e-3", "--json")
    clip = json.loads(out)["clip"]
    assert code == 0 and clip["clipped"] and clip["after"] == pytest.approx(1e-3, rel=1e-2)
    code, text, _ = run_cli(capsys, "trace", "rnn", "--steps", "4", "--clip", "1e-3")
    assert f"{clip['before']:.4g}" in text and "clipped" in text


def test_unknown_arch_is_usage_error(capsys):
    code, out, err = run_cli(capsys, "trace", "no-such-arch")
    lines = err.strip().splitlines()
    assert code == 2 and lines[0].startswith("usage: tinygrad-rnn trace")  # argparse's convention
    assert lines[-1].startswith("tinygrad-rnn trace: error: unknown architecture") \
        and "rnn" in lines[-1]


def test_piped_output_plain_and_colour_switches():
    piped = run_piped("trace", "rnn", "--steps", "4")
    assert piped.returncode == 0, piped.stderr
    assert "BPTT" in piped.stdout and ESC not in piped.stdout
    forced = run_piped("trace", "rnn", "--steps", "4", FORCE_COLOR="1")
    assert colour_codes(forced.stdout)  # a forced terminal does colour: the checks below can fail
    flag = run_piped("trace", "rnn", "--steps", "4", "--no-color", FORCE_COLOR="1")
    env = run_piped("trace", "rnn", "--steps", "4", FORCE_COLOR="1", NO_COLOR="1")
    assert not colour_codes(flag.stdout) and not colour_codes(env.stdout)
