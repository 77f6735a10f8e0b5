"""Issue 13: one clear line per bad input (engine, optimizers, CLI)."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import ShapeError, Tensor, optim
from tinygrad_rnn.cli import main


def test_ragged_data_and_unknown_dtypes_name_the_problem():
    with pytest.raises(ValueError, match="Tensor: data is not a rectangular array"):
        Tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="Tensor: dtype 'float33' is not a numpy dtype"):
        Tensor([1.0], dtype="float33")


def test_backward_of_a_string_gradient_is_a_type_error():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="backward: grad must be an array or a number, got str"):
        (x * 2.0).backward("ab")


def test_gradcheck_eps_zero_is_refused():
    x = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="gradcheck: eps must be a finite number > 0, got 0"):
        tg.gradcheck(lambda a: a * 2.0, x, eps=0)


def test_a_user_set_grad_of_the_wrong_shape_is_a_shape_error_not_a_broadcast():
    x = Tensor(np.ones(3), requires_grad=True, name="x")
    x.grad = np.ones(1)  # would broadcast silently to (3,)
    with pytest.raises(ShapeError, match=r"'x' already has a \.grad of shape \(1,\)"):
        (x * 2.0).sum().backward()


def test_numpy_errors_that_are_not_about_shapes_keep_their_class():
    with pytest.raises(ValueError, match="pow: Integers to negative integer powers") as info:
        Tensor(np.array([2, 3])) ** -1
    assert not isinstance(info.value, ShapeError)
    with pytest.raises(ValueError, match="getitem: slice step cannot be zero") as info:
        Tensor(np.arange(3.0))[::0]
    assert not isinstance(info.value, ShapeError)
    with pytest.raises(ShapeError, match="add"):  # a real shape error stays one
        Tensor(np.ones(2)) + Tensor(np.ones(3))


def test_max_with_an_empty_result_is_empty_as_in_numpy():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    y = x.max(axis=1)
    assert y.shape == (0,)
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    with pytest.raises(ShapeError, match="empty axis"):
        x.max(axis=0)


@pytest.mark.parametrize("make, match", [
    (lambda w: optim.SGD([w], lr="0.1"), "SGD: lr must be a number, got str '0.1'"),
    (lambda w: optim.SGD([w], lr=float("inf")), "SGD: invalid lr inf"),
    (lambda w: optim.SGD([w], lr=0.1, momentum=float("nan")), "SGD: invalid momentum nan"),
    (lambda w: optim.SGD([w], lr=0.1, weight_decay=-1), "SGD: invalid weight_decay -1"),
    (lambda w: optim.Adam([w], eps=-1), "Adam: invalid eps -1"),
    (lambda w: optim.Adam([w], betas=(0.9,)), r"Adam: betas must be a pair"),
    (lambda w: optim.Adam([w], betas=(0.9, 1.0)), r"Adam: invalid beta2 \(betas\[1\]\) 1.0"),
    (lambda w: optim.Adam([w, w]), "Adam: parameter 1 .* is listed twice"),
    (lambda w: tg.clip_grad_norm_([w], "1"), "clip_grad_norm_: max_norm must be a number"),
])
def test_optimizer_arguments_are_checked_as_pytorch_does(make, match):
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises((TypeError, ValueError), match=match):
        make(w)


TRAIN = ["train", "rnn", "--iters", "2", "-q", "--steps", "5"]


@pytest.mark.parametrize("extra, code, needle", [
    (["--optimizer", "sgd", "--momentum", "nan"], 2, "--momentum must be a finite number"),
    (["--momentum", "-1"], 2, "--momentum must be"),
    (["--lr", "-1"], 2, "--lr must be"),
    (["--seed", "-1"], 2, "--seed must be an int >= 0, got -1"),
    (["--task", "nextchar", "-O", "text=/dev/zero"], 2, "'/dev/zero' is not a regular file"),
    (["--task", "nextchar", "-O", "text=/no/such/file"], 2, "neither a shipped text"),
])
def test_cli_train_bad_values_are_one_line_naming_the_flag(extra, code, needle, capsys):
    assert main(TRAIN + extra) == code
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err


def test_cli_train_huge_lr_gives_one_error_line_and_no_numpy_warning(capfd):
    assert main(TRAIN + ["--lr", "1e300"]) == 1
    err = capfd.readouterr().err
    assert "diverged" in err and "RuntimeWarning" not in err and ".py" not in err


def test_cli_train_huge_steps_names_the_flags(capsys):
    assert main(TRAIN[:-2] + ["--steps", "1000000000000"]) == 1
    assert "--steps 1000000000000 with --batch 32 needs more memory" in capsys.readouterr().err


def test_cli_render_empty_output_is_a_usage_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["render", "rnn", "-o", ""]) == 2
    assert "-o needs a file name" in capsys.readouterr().err
    assert not (tmp_path / "rnn.svg").exists()


def test_an_empty_no_color_does_not_disable_colour(monkeypatch):
    import argparse

    from tinygrad_rnn.cli import _console

    monkeypatch.setenv("NO_COLOR", "")
    assert not _console(argparse.Namespace(no_color=False)).no_color
    monkeypatch.setenv("NO_COLOR", "1")
    assert _console(argparse.Namespace(no_color=False)).no_color


def test_an_own_text_file_is_read_under_the_size_cap(tmp_path):
    from tinygrad_rnn.tasks.text import MAX_TEXT_BYTES, load_text

    small = tmp_path / "small.txt"
    small.write_text("Hello  World " * 50)
    assert load_text(str(small)).startswith("hello world")
    big = tmp_path / "big.txt"
    big.write_bytes(b"ab" * (MAX_TEXT_BYTES // 2 + 1))
    with pytest.raises(ValueError, match="more than"):
        load_text(str(big))
