"""Draw the recorded graph of a small RNN: unrolled, elided and folded, as SVG files.

The book draws a recurrent net two ways (DL book, 10.1, figure 10.2): the circuit, a loop with
a one-step delay, and the unrolled graph, one copy of the cell per time step. Both come from
the same record: the steps were tagged with scope("rnn", step=t), so viz.render can draw the
graph as it ran (view="unrolled"), with its middle steps elided (max_steps=k), or fold the
repeated steps into one copy with delay loops (view="folded"), a drawing whose size does not
grow with T. grads=True colours every node by the norm of its gradient.

Run: python examples/07_visualize_graph.py   (writes ./out/07_*.svg; needs graphviz's `dot`)
"""

import pathlib

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
import viz
from tinygrad_rnn import Tensor, nn, optim

SEED = 0
TEXT = "hello world "
VOCAB = sorted(set(TEXT))
HIDDEN = 8
SHORT, LONG = 4, 24  # T for the full drawing, and for the elided and folded ones
LEARNING_RATE = 0.05
OUT_DIR = pathlib.Path("out")


def make_batch(steps: int) -> tuple:
    """Every rotation of the phrase, one-hot. Shapes: x (T, B, V), y (T, B) the next symbols."""
    ids = np.array([VOCAB.index(ch) for ch in TEXT])
    positions = np.arange(steps + 1)[:, None] + np.arange(len(TEXT))[None, :]
    stream = ids[positions % len(TEXT)]
    x = np.eye(len(VOCAB), dtype=np.float32)[stream[:-1]]
    return Tensor(x), Tensor(stream[1:])


class CharRNN(nn.Module):
    """Example 03's model: nn.RNNCell plus a Linear readout, the loss summed over the steps."""

    def __init__(self):
        super().__init__()
        self.cell = nn.RNNCell(len(VOCAB), HIDDEN)
        self.readout = nn.Linear(HIDDEN, len(VOCAB))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        h = None
        loss = None
        for t in range(1, x.shape[0] + 1):
            with tg.scope("rnn", step=t):
                h = self.cell(x[t - 1], h).named(f"h[{t}]")
                L_t = F.cross_entropy(self.readout(h), y[t - 1]).named(f"L[{t}]")
                # summed inside the step, so the running sum folds like the rest of the step
                loss = L_t if loss is None else loss + L_t
        return (loss / x.shape[0]).named("L")


def render(loss: Tensor, name: str, **draw_kwargs) -> pathlib.Path | None:
    """Write out/<name>.svg; without graphviz, say where the .dot file went instead."""
    try:
        return viz.render(loss, OUT_DIR / f"{name}.svg", **draw_kwargs)
    except viz.GraphvizNotFound as error:
        print(f"  {error}")
        return None


def main(iters: int = 100) -> dict:
    """Train for `iters` Adam steps, then draw the graph of one more forward pass four ways."""
    tg.manual_seed(SEED)
    model = CharRNN()
    opt = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    x, y = make_batch(LONG)
    for i in range(iters):
        loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i % max(iters // 4, 1) == 0 or i == iters - 1:
            print(f"iter {i:4d}  loss {loss.item():.4f}")

    OUT_DIR.mkdir(exist_ok=True)
    short_loss = model(*make_batch(SHORT))
    long_loss = model(x, y)
    size = {}  # T -> (recorded nodes, edges in the unrolled drawing, edges in the folded one)
    for T, root in ((SHORT, short_loss), (LONG, long_loss)):
        size[T] = (viz.to_networkx(root).number_of_nodes(),
                   viz.draw(root, view="unrolled").source.count("->"),
                   viz.draw(root, view="folded").source.count("->"))
        print(f"T = {T:2d}: {size[T][0]:3d} recorded nodes, {size[T][1]:3d} edges drawn "
              f"unrolled, {size[T][2]:3d} folded")
    paths = {
        "unrolled": render(short_loss, "07_unrolled", view="unrolled"),
        "elided": render(long_loss, "07_elided", view="unrolled", max_steps=3),
        "folded": render(long_loss, "07_folded", view="folded"),
        "folded_grads": render(long_loss, "07_folded_grads", view="folded", grads=True),
    }
    for kind, path in paths.items():
        if path is not None:
            print(f"{kind:13} {path.resolve()}  ({path.stat().st_size // 1024} KiB)")
    print(f"The unrolled drawing has one cluster per step (T = {SHORT}); the elided one keeps "
          f"the first and last of {LONG}; the folded one draws the step once, with a delay-1 "
          f"loop from h[t-1] to h[t], however long T is.")
    return {"paths": paths, "folded_edges": {T: size[T][2] for T in size},
            "unrolled_edges": {T: size[T][1] for T in size}}


if __name__ == "__main__":
    main()
