"""Issue 13: tg.save / tg.load (npz, no pickle), optimizer state, train --save / --load."""

import json
import zipfile

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn.cli import main
from tinygrad_rnn.training import TrainConfig, train


def test_save_and_load_round_trip_nested_values(tmp_path):
    obj = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "t": Tensor(np.ones(2)),
           "n": 3, "f": float("nan"), "s": "x", "none": None, "l": [1, (2.5, np.int64(4))],
           "big": 2 ** 100}
    tg.save(obj, tmp_path / "a.npz")
    back = tg.load(tmp_path / "a.npz")
    np.testing.assert_array_equal(back["w"], obj["w"])
    assert back["w"].dtype == np.float32
    np.testing.assert_array_equal(back["t"], np.ones(2))
    assert back["n"] == 3 and np.isnan(back["f"]) and back["s"] == "x" and back["none"] is None
    assert back["l"] == [1, (2.5, 4)] and back["big"] == 2 ** 100


def test_model_and_optimizer_resume_to_the_same_numbers(tmp_path):
    def run(steps, model, opt):
        rng = np.random.default_rng(1)
        for _ in range(steps):
            x = Tensor(rng.standard_normal((4, 3)).astype(np.float32))
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()

    tg.manual_seed(0)
    a = nn.Linear(3, 2)
    opt_a = optim.Adam(a.parameters(), lr=0.01)
    run(3, a, opt_a)
    tg.save({"model": a.state_dict(), "optimizer": opt_a.state_dict()}, tmp_path / "ck.npz")
    tg.manual_seed(5)
    b = nn.Linear(3, 2)
    opt_b = optim.Adam(b.parameters(), lr=0.5)
    state = tg.load(tmp_path / "ck.npz")
    b.load_state_dict(state["model"])
    opt_b.load_state_dict(state["optimizer"])
    run(2, a, opt_a)
    run(2, b, opt_b)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_optimizer_state_of_another_kind_or_size_is_refused():
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="SGD's"):
        optim.Adam([w]).load_state_dict(optim.SGD([w], lr=0.1).state_dict())
    v = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="one entry per parameter"):
        optim.Adam([w, v]).load_state_dict(optim.Adam([w]).state_dict())
    with pytest.raises(TypeError, match="state_dict"):
        optim.Adam([w]).load_state_dict(None)


def test_truncated_foreign_and_newer_files_are_clear_errors(tmp_path):
    tg.save({"w": np.ones(100)}, tmp_path / "good.npz")
    raw = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(tg.CheckpointError, match="truncated or corrupt"):
        tg.load(tmp_path / "cut.npz")
    np.savez(tmp_path / "foreign.npz", x=np.ones(2))
    with pytest.raises(tg.CheckpointError, match="not a tinygrad_rnn checkpoint"):
        tg.load(tmp_path / "foreign.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(tg.CheckpointError, match="not a readable checkpoint"):
        tg.load(tmp_path / "text.npz")
    meta = json.dumps({"format": "tinygrad_rnn checkpoint", "version": 99, "structure": None})
    np.savez(tmp_path / "newer.npz", __tinygrad_rnn__=np.frombuffer(meta.encode(), np.uint8))
    with pytest.raises(tg.CheckpointError, match="version 99"):
        tg.load(tmp_path / "newer.npz")


class _Boom:
    def __reduce__(self):
        return (open, ("/tmp/tinygrad_rnn_pwned_by_checkpoint", "w"))


def test_a_crafted_file_with_a_pickle_cannot_run_code(tmp_path):
    import os
    import pickle

    marker = "/tmp/tinygrad_rnn_pwned_by_checkpoint"
    if os.path.exists(marker):
        os.remove(marker)
    meta = json.dumps({"format": "tinygrad_rnn checkpoint", "version": 1,
                       "structure": {"$array": 0}})
    np.savez(tmp_path / "evil.npz", __tinygrad_rnn__=np.frombuffer(meta.encode(), np.uint8),
             a0=np.array([_Boom()], dtype=object))  # numpy pickles object arrays
    with zipfile.ZipFile(tmp_path / "evil.npz") as archive:
        assert b"tinygrad_rnn_pwned" in archive.read("a0.npy")  # the payload is in there
    assert pickle.loads  # (the payload would run under pickle.loads / allow_pickle=True)
    with pytest.raises(tg.CheckpointError):
        tg.load(tmp_path / "evil.npz")
    assert not os.path.exists(marker)


def test_load_state_dict_accepts_engine_tensors_and_named_parameters():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.load_state_dict(dict(a.named_parameters()))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    b.load_state_dict({k: Tensor(v * 2) for k, v in a.state_dict().items()})
    np.testing.assert_array_equal(b.weight.data, a.weight.data * 2)
    with pytest.raises(TypeError, match="load_state_dict.*dict.*NoneType"):
        b.load_state_dict(None)
    with pytest.raises((ValueError, TypeError), match="load_state_dict.*'weight'"):
        b.load_state_dict({"weight": [[1.0, 2.0], [3.0]], "bias": [0.0, 0.0]})


CONFIG = dict(arch="rnn", task="parity", steps=6, batch=8, hidden=8, eval_every=5,
              eval_batch=16, seed=3)


def test_train_resumed_from_a_checkpoint_reaches_the_uninterrupted_numbers(tmp_path):
    whole = train(TrainConfig(iters=12, **CONFIG))
    train(TrainConfig(iters=7, **CONFIG), save=str(tmp_path / "half.npz"))
    resumed = train(TrainConfig(iters=12, **CONFIG), load=str(tmp_path / "half.npz"))
    assert resumed.test == whole.test
    assert resumed.history == whole.history


def test_cli_train_save_and_load(tmp_path, capsys):
    path = str(tmp_path / "ck.npz")
    common = ["train", "rnn", "--task", "parity", "--steps", "6", "--batch", "8",
              "--hidden", "8", "--json", "--eval-every", "5"]
    assert main(common + ["--iters", "10"]) == 0
    whole = json.loads(capsys.readouterr().out)
    assert main(common + ["--iters", "4", "--save", path]) == 0
    capsys.readouterr()
    assert main(common + ["--iters", "10", "--load", path]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["test"] == whole["test"] and resumed["history"] == whole["history"]
    assert main(common + ["--iters", "10", "--hidden", "9", "--load", path]) == 1
    assert "hidden=8" in capsys.readouterr().err
    assert main(common + ["--iters", "3", "--load", path]) == 1
    assert main(common + ["--iters", "3", "--save", ""]) == 2


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: optim.RMSprop(ps, lr=0.01)])
def test_every_optimizer_resumes_to_the_uninterrupted_numbers(tmp_path, make):
    """An optimizer whose state_dict forgot a buffer would resume silently wrong."""
    def run(steps, model, opt, rng):
        for _ in range(steps):
            x = Tensor(rng.standard_normal((4, 3)).astype(np.float32))
            opt.zero_grad()
            (model(x) ** 2).mean().backward()
            opt.step()

    tg.manual_seed(0)
    a = nn.Linear(3, 2)
    opt_a = make(a.parameters())
    run(3, a, opt_a, np.random.default_rng(1))
    tg.save({"model": a.state_dict(), "optimizer": opt_a.state_dict()}, tmp_path / "ck.npz")
    state = tg.load(tmp_path / "ck.npz")
    tg.manual_seed(5)
    b = nn.Linear(3, 2)
    opt_b = make(b.parameters())
    b.load_state_dict(state["model"])
    opt_b.load_state_dict(state["optimizer"])
    run(3, a, opt_a, np.random.default_rng(2))
    run(3, b, opt_b, np.random.default_rng(2))
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)
