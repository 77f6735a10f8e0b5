"""The explorer's commands: tinygrad-rnn list, inspect and render."""

import shutil
import xml.etree.ElementTree as ET

import pytest

from tinygrad_rnn import cli

models = pytest.importorskip("tinygrad_rnn.models")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


def test_list_names_every_architecture(capsys):
    assert cli.main(["list", "--no-color"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(models.ARCHS)
    for line, arch in zip(lines, models.ARCHS.values()):
        assert line.startswith(arch.name) and arch.summary in line


def test_inspect_prints_depth_and_path_lengths(capsys):
    assert cli.main(["inspect", "rnn", "--steps", "4", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "depth" in out and "h[1]" in out and "h[4]" in out and "parameters" in out
    assert "5 tensors" in out  # U, W, b, V, c


@needs_dot
def test_render_default_path_in_cwd(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["render", "gru", "--steps", "3"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str((tmp_path / "gru.svg").resolve())
    ET.parse(tmp_path / "gru.svg")


@needs_dot
def test_render_long_sequence_is_elided_and_folded(tmp_path, capsys):
    out = tmp_path / "lstm.dot"
    assert cli.main(["render", "lstm", "--steps", "40", "--grads", "-o", str(out)]) == 0
    source = out.read_text(encoding="utf-8")
    assert "… 32 steps …" in source  # the default keeps 4 first and 4 last steps
    folded = tmp_path / "lstm.svg"
    assert cli.main(["render", "lstm", "--steps", "40", "--view", "folded",
                     "-o", str(folded)]) == 0
    assert "delay 1" in folded.read_text(encoding="utf-8")


def test_bad_usage_exits_2(capsys, tmp_path):
    assert cli.main(["render", "nope"]) == 2
    assert "available: rnn" in capsys.readouterr().err
    assert cli.main(["inspect", "rnn", "--steps", "0"]) == 2
    assert cli.main(["render", "rnn", "-o", str(tmp_path / "x.bmp")]) == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["render", "rnn", "--view", "circuit"])
    assert info.value.code == 2


@pytest.mark.parametrize("command", ["inspect", "render", "trace"])
def test_too_few_steps_for_the_default_task_is_a_usage_error(command, capsys):
    assert cli.main([command, "lstm", "--steps", "1"]) == 2  # the adding task needs T >= 2
    err = capsys.readouterr().err
    assert f"tinygrad-rnn {command}: error: task 'adding' needs steps >= 2" in err


def test_missing_dot_is_one_line_exit_1(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert cli.main(["render", "rnn", "-o", str(tmp_path / "rnn.svg")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "apt-get install graphviz" in err
    assert (tmp_path / "rnn.dot").exists()
