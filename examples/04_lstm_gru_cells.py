"""Gated cells against the long-term dependency: RNNCell vs LSTMCell vs GRUCell (DL book, 10.10).

The adding problem (Hochreiter & Schmidhuber 1997): each of T steps carries a random value in
[0, 1] and a marker bit; exactly two steps are marked, one in each half, and the target is the
sum of the two marked values, read from the last state h(T). The first marked value may lie
T - 1 steps before the answer is needed, so its gradient has to survive that many steps of
backward. Predicting the mean, 1.0, scores MSE 1/6; a net below that has learned to remember.

The plain tanh cell's only path back in time is h(t) = tanh(W h(t-1) + ...), which shrinks the
gradient each step (example 03). The LSTM's cell state c(t) = f * c(t-1) + i * g and the GRU's
h(t) = (1 - z) * n + z * h(t-1) add a path whose factor is a gate that can stay near 1.

Run: python examples/04_lstm_gru_cells.py   (about 15 s)
"""

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, nn, optim

SEED = 0
STEPS = 30  # T
HIDDEN = 16
BATCH = 32
EVAL_BATCH = 256
LEARNING_RATE = 0.01
CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
BASELINE_MSE = 1 / 6  # variance of the sum of two U(0, 1) values


def adding_batch(rng: np.random.Generator, batch: int) -> tuple:
    """Shapes: x (T, B, 2) holding (value, marker), y (B, 1) the sum of the marked values."""
    values = rng.uniform(0, 1, (STEPS, batch))
    markers = np.zeros((STEPS, batch))
    columns = np.arange(batch)
    markers[rng.integers(0, STEPS // 2, batch), columns] = 1  # one in the first half
    markers[rng.integers(STEPS // 2, STEPS, batch), columns] = 1  # one in the second half
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values * markers).sum(axis=0)[:, None].astype(np.float32)
    return Tensor(x), Tensor(y)


class Adder(nn.Module):
    """A recurrent cell read out once, at the last step: y_hat = Linear(h(T))."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind
        self.cell = CELLS[kind](2, HIDDEN)
        self.readout = nn.Linear(HIDDEN, 1)

    def forward(self, x: Tensor) -> Tensor:
        state = None  # zeros; for the LSTM the pair (h, c)
        for t in range(1, x.shape[0] + 1):
            with tg.scope(self.kind, step=t):
                state = self.cell(x[t - 1], state)
        h = state[0] if self.kind == "lstm" else state
        return self.readout(h)


def evaluate(model: Adder, data: tuple) -> float:
    with tg.no_grad():
        return F.mse_loss(model(data[0]), data[1]).item()


def main(iters: int = 1000) -> dict:
    """Train each cell for `iters` Adam steps on fresh batches; compare MSE on held-out data."""
    eval_data = adding_batch(np.random.default_rng(SEED + 1), EVAL_BATCH)
    results = {}
    for kind in CELLS:
        tg.manual_seed(SEED)
        rng = np.random.default_rng(SEED)  # every cell sees the same batches
        model = Adder(kind)
        opt = optim.Adam(model.parameters(), lr=LEARNING_RATE)
        before = evaluate(model, eval_data)
        for _ in range(iters):
            x, y = adding_batch(rng, BATCH)
            loss = F.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        after = evaluate(model, eval_data)
        n_params = sum(p.size for p in model.parameters())
        results[kind] = {"before": before, "after": after, "model": model}
        verdict = "remembers" if after < BASELINE_MSE / 2 else "no better than guessing 1.0"
        print(f"{kind:5} {n_params:4d} parameters   held-out MSE {before:.4f} -> {after:.4f}"
              f"   {verdict}")

    print(f"predicting 1.0 every time scores {BASELINE_MSE:.4f}")
    x, y = eval_data
    marked = x.data[:, 0, 0][x.data[:, 0, 1] == 1]
    print(f"one held-out sequence: marked values {np.round(marked, 3)}, target {y.data[0, 0]:.3f}")
    with tg.no_grad():
        for kind, result in results.items():
            guess = result["model"](Tensor(x.data[:, :1]))
            print(f"  {kind:5} predicts {guess.item():.3f}")
    return {kind: {"before": r["before"], "after": r["after"]} for kind, r in results.items()}


if __name__ == "__main__":
    main()
