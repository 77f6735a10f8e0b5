"""The book's RNN from raw Parameters, trained to continue "hello world " (DL book, 10.2).

    a(t) = b + W h(t-1) + U x(t)      h(t) = tanh(a(t))
    o(t) = c + V h(t)                 L(t) = -log softmax(o(t))[y(t)]

x(t) is the one-hot current character and y(t) the next one. After an "l" the next character
is "l", "o" or "d"; only the hidden state h(t-1) can tell which, so the net must learn to
remember where in the phrase it is. Every step runs inside scope("rnn", step=t), its states
named h[t], so the recorded graph reads like the book's unrolled figure.

Run: python examples/02_textbook_rnn.py
"""

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import Tensor, nn, optim

SEED = 0
TEXT = "hello world "
VOCAB = sorted(set(TEXT))  # [' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']
HIDDEN = 16
STEPS = 24  # T: twice the phrase
LEARNING_RATE = 0.05


def make_batch() -> tuple:
    """Every rotation of the phrase as one sequence. Shapes: x (T, B, V) one-hot, y (T, B)."""
    ids = np.array([VOCAB.index(ch) for ch in TEXT])
    starts = range(len(TEXT))  # B = 12 sequences, one per starting position
    stream = np.stack([np.roll(ids, -s) for s in starts], axis=1)  # (len(TEXT), B)
    stream = np.tile(stream, (STEPS // len(TEXT) + 2, 1))
    inputs, targets = stream[:STEPS], stream[1:STEPS + 1]
    x = np.eye(len(VOCAB), dtype=np.float32)[inputs]
    return Tensor(x), Tensor(targets)


class TextbookRNN(nn.Module):
    """Figure 10.3's net: U input-to-hidden, W hidden-to-hidden, V hidden-to-output."""

    def __init__(self, n_symbols: int, hidden: int):
        super().__init__()
        rng = np.random.default_rng(SEED)
        scale = 1 / np.sqrt(hidden)
        self.U = nn.Parameter(rng.uniform(-scale, scale, (hidden, n_symbols)).astype(np.float32))
        self.W = nn.Parameter(rng.uniform(-scale, scale, (hidden, hidden)).astype(np.float32))
        self.V = nn.Parameter(rng.uniform(-scale, scale, (n_symbols, hidden)).astype(np.float32))
        self.b = nn.Parameter(np.zeros(hidden, dtype=np.float32))
        self.c = nn.Parameter(np.zeros(n_symbols, dtype=np.float32))
        self.hidden = hidden

    def forward(self, x: Tensor, h: Tensor | None = None) -> tuple:
        """Unroll over x (T, B, V); returns the logits o(1..T) and the states h(1..T)."""
        T, B, _ = x.shape
        if h is None:
            h = Tensor(np.zeros((B, self.hidden), dtype=np.float32), name="h[0]")
        logits, states = [], []
        for t in range(1, T + 1):  # 1-based, like the book
            with tg.scope("rnn", step=t):
                # rows are batch items, so W h becomes h @ W.T
                a = (self.b + h @ self.W.T + x[t - 1] @ self.U.T).named(f"a[{t}]")
                h = a.tanh().named(f"h[{t}]")
                o = (self.c + h @ self.V.T).named(f"o[{t}]")
            logits.append(o)
            states.append(h)
        return logits, states


def sequence_loss(logits: list, y: Tensor) -> tuple:
    """L = the mean over steps of L(t), each the softmax cross-entropy of o(t) against y(t).

    Returns L and the list of L(t).
    """
    step_losses = []
    for t, o in enumerate(logits, start=1):
        step_losses.append(F.cross_entropy(o, y[t - 1]).named(f"L[{t}]"))
    total = step_losses[0]
    for L_t in step_losses[1:]:
        total = total + L_t
    return total / len(step_losses), step_losses


def sample(model: TextbookRNN, first: str, length: int) -> str:
    """Feed `first`, then keep feeding the most likely next character back in."""
    out = first
    h = None
    with tg.no_grad():
        for _ in range(length):
            x = np.eye(len(VOCAB), dtype=np.float32)[[VOCAB.index(out[-1])]][None]  # (1, 1, V)
            logits, states = model(Tensor(x), h)
            h = states[-1]
            out += VOCAB[int(logits[-1].data.argmax())]
    return out


def main(iters: int = 150) -> dict:
    """Train for `iters` Adam steps; return the first and final loss and a sample."""
    tg.manual_seed(SEED)
    x, y = make_batch()
    model = TextbookRNN(len(VOCAB), HIDDEN)
    opt = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    print(f"parameters: {[(name, p.shape) for name, p in model.named_parameters()]}")
    print(f"before training: {sample(model, 'h', 23)!r}")

    losses = []
    for i in range(iters):
        logits, states = model(x)
        loss, step_losses = sequence_loss(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if i % max(iters // 5, 1) == 0 or i == iters - 1:
            print(f"iter {i:4d}  loss {loss.item():.4f}")

    h3 = states[2]
    print(f"the record: {h3.name} is op {h3.op!r} in scope {h3.scope} at step {h3.step}, "
          f"made from {[p.name for p in h3.parents]}")
    # h(0) = 0 carries no context, so at t = 1 an "l" could be followed by "l", "o" or "d"
    print(f"L(1) = {step_losses[0].item():.3f} (no context yet), "
          f"L({STEPS}) = {step_losses[-1].item():.4f}")
    text = sample(model, "h", 23)
    print(f"after training:  {text!r}")
    print(f"chance level would be log({len(VOCAB)}) = {np.log(len(VOCAB)):.3f}")
    return {"first_loss": losses[0], "final_loss": losses[-1], "sample": text}


if __name__ == "__main__":
    main()
