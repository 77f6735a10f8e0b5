"""Back-propagation through time: vanishing and exploding gradients, clipping, truncated BPTT.

Part 1 measures ||dL/dh(t)|| at every step of a tanh RNN whose loss sits at the last step only
(DL book, 10.7): each step back multiplies the gradient by diag(1 - h(t)^2) W, so it shrinks
geometrically when W is small and can grow geometrically when W is large.
Part 2 trains on a long text stream in chunks of K steps: the state is carried forward but
detach()-ed between chunks, so backward stops at the chunk boundary (truncated BPTT), and
clip_grad_norm_ caps each update (DL book, 10.11.1).

From here on the cell is nn.RNNCell: the same formula as example 02 with PyTorch's names,
weight_ih = U, weight_hh = W, bias_ih + bias_hh = b.

Run: python examples/03_bptt_and_clipping.py
"""

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, nn, optim

SEED = 0
# part 1
PROBE_STEPS, PROBE_BATCH, PROBE_HIDDEN, PROBE_INPUT = 30, 8, 32, 4
SMALL_GAIN, LARGE_GAIN = 0.5, 3.0  # scale of W relative to a unit-variance random matrix
# part 2
TEXT = "the gradient vanishes or explodes "
VOCAB = sorted(set(TEXT))
HIDDEN = 32
CHUNK = 10  # K: backward reaches at most K steps into the past
MAX_NORM = 1.0
LEARNING_RATE = 2.0  # large on purpose: plain SGD, where clipping matters


def gradient_norms_through_time(gain: float) -> list:
    """||dL/dh(t)|| for t = 1..T when L = sum(h(T)^2) and W has the given gain."""
    tg.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    cell = nn.RNNCell(PROBE_INPUT, PROBE_HIDDEN)
    W = rng.standard_normal((PROBE_HIDDEN, PROBE_HIDDEN)) * gain / np.sqrt(PROBE_HIDDEN)
    cell.weight_hh.data = W.astype(np.float32)
    x = Tensor(rng.standard_normal((PROBE_STEPS, PROBE_BATCH, PROBE_INPUT)).astype(np.float32))
    h, states = None, []
    for t in range(1, PROBE_STEPS + 1):
        with tg.scope("rnn", step=t):
            h = cell(x[t - 1], h).named(f"h[{t}]")
        h.retain_grad()  # keep dL/dh(t) on this non-leaf after backward
        states.append(h)
    loss = (states[-1] ** 2).sum()
    loss.backward()
    return [float(np.linalg.norm(h.grad)) for h in states]


def text_stream(start: int, length: int) -> np.ndarray:
    """Symbol ids at positions start..start+length-1 of the endless text, one row per rotation.

    Shapes: -> (length, B) with B = len(TEXT).
    """
    ids = np.array([VOCAB.index(ch) for ch in TEXT])
    positions = start + np.arange(length)[:, None] + np.arange(len(TEXT))[None, :]
    return ids[positions % len(TEXT)]


class CharRNN(nn.Module):
    """nn.RNNCell plus a Linear readout: o(t) = V h(t) + c."""

    def __init__(self, n_symbols: int, hidden: int):
        super().__init__()
        self.cell = nn.RNNCell(n_symbols, hidden)
        self.readout = nn.Linear(hidden, n_symbols)
        self.n_symbols = n_symbols

    def forward(self, ids: np.ndarray, h: Tensor | None, first_step: int) -> tuple:
        """Run one chunk; returns the loss per step and the last state."""
        x = np.eye(self.n_symbols, dtype=np.float32)[ids]  # (K + 1, B, V) one-hot
        step_losses = []
        for k in range(len(ids) - 1):
            t = first_step + k
            with tg.scope("rnn", step=t):
                h = self.cell(Tensor(x[k]), h).named(f"h[{t}]")
                step_losses.append(F.cross_entropy(self.readout(h), Tensor(ids[k + 1])))
        return step_losses, h


def forgotten_detach_message(model: CharRNN) -> str:
    """Carry the state into the next chunk without detach(): the engine says what went wrong."""
    ids = text_stream(0, 2 * CHUNK + 1)
    losses, h = model(ids[:CHUNK + 1], None, 1)
    sum(losses).backward()  # frees the first chunk's saved arrays
    losses, h = model(ids[CHUNK:], h, CHUNK + 1)  # h still leads back into chunk 1
    try:
        sum(losses).backward()
    except RuntimeError as error:
        return str(error)
    finally:
        model.zero_grad()
    return "no error?"


def train(iters: int, max_norm: float | None) -> tuple:
    """Truncated BPTT with SGD from a large-gain W; returns the losses and the norms per update."""
    tg.manual_seed(SEED)
    model = CharRNN(len(VOCAB), HIDDEN)
    rng = np.random.default_rng(SEED)
    W = rng.standard_normal((HIDDEN, HIDDEN)) * LARGE_GAIN / np.sqrt(HIDDEN)
    model.cell.weight_hh.data = W.astype(np.float32)  # start where gradients explode
    opt = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    h = None
    losses, norms = [], []
    for i in range(iters):
        ids = text_stream(i * CHUNK, CHUNK + 1)  # the chunk and the symbol after it
        h = None if h is None else h.detach()  # keep the value, cut the graph
        step_losses, h = model(ids, h, i * CHUNK + 1)
        loss = sum(step_losses) / CHUNK
        opt.zero_grad()
        loss.backward()
        if max_norm is None:
            norms.append(tg.clip_grad_norm_(model.parameters(), float("inf")))  # measure only
        else:
            norms.append(tg.clip_grad_norm_(model.parameters(), max_norm))
        opt.step()
        losses.append(loss.item())
    return losses, norms


def main(iters: int = 300) -> dict:
    """Part 1 at two gains, then `iters` truncated-BPTT updates with and without clipping."""
    print(f"Part 1: ||dL/dh(t)|| with the loss at t = {PROBE_STEPS} only")
    ratios = {}
    for gain in (SMALL_GAIN, LARGE_GAIN):
        norms = gradient_norms_through_time(gain)
        shown = "  ".join(f"t={t}: {norms[t - 1]:.1e}" for t in (1, 10, 20, PROBE_STEPS))
        ratios[gain] = norms[0] / norms[-1]
        print(f"  gain {gain}:  {shown}   dL/dh(1) / dL/dh(T) = {ratios[gain]:.1e}")
    print("  small W: the gradient vanishes on its way back; large W: it explodes.")

    print(f"\nPart 2: truncated BPTT on {TEXT!r}, K = {CHUNK} steps per chunk, "
          f"SGD lr {LEARNING_RATE}, W at gain {LARGE_GAIN}")
    tg.manual_seed(SEED)
    print(f"  forgetting detach() gives:\n    "
          f"{forgotten_detach_message(CharRNN(len(VOCAB), HIDDEN))}")
    results = {}
    for max_norm in (None, MAX_NORM):
        losses, norms = train(iters, max_norm)
        last = losses[-min(20, len(losses)):]
        label = "no clipping" if max_norm is None else f"clip_grad_norm_({max_norm})"
        print(f"  {label:22} loss {losses[0]:.3f} -> {np.mean(last):.3f} (mean of the last "
              f"{len(last)})   largest norm before clipping {max(norms):.1f}")
        results[max_norm] = (losses, norms)
    print("  without clipping one exploding step throws the weights far off; with it each step "
          "is at most lr * max_norm long.")
    clipped_losses, clipped_norms = results[MAX_NORM]
    return {"ratio_small": ratios[SMALL_GAIN], "ratio_large": ratios[LARGE_GAIN],
            "first_loss": clipped_losses[0], "final_loss": clipped_losses[-1],
            "unclipped_final_loss": results[None][0][-1],
            "clipped_updates": sum(n > MAX_NORM for n in clipped_norms)}


if __name__ == "__main__":
    main()
