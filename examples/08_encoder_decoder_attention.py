"""An encoder-decoder with attention, written out: two loops, one softmax over the source.

The encoder reads the source x(1..n) into states h(1..n) (its own loop, scope "enc"); the
decoder writes y(1..n+1) (a second loop, scope "dec"). At every decoder step it scores every
encoder state against its previous state (Bahdanau, Cho & Bengio 2015):

    e(t, s) = v . tanh(W_a z(t-1) + U_a h(s)),   alpha(t, .) = softmax_s e(t, .)
    c(t)    = sum_s alpha(t, s) h(s),            z(t) = GRU([E y(t-1); c(t)], z(t-1))

The task: write the source backwards. The decoder's t-th token is the source's (n+1-t)-th, so a
trained model's alpha(t, s) runs down the anti-diagonal. `models.unroll` runs a loop, tagging
each step for the explorer; the two loops fold into two circuits, never into one.

Run: python examples/08_encoder_decoder_attention.py
"""

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
import viz
from tinygrad_rnn import Tensor, nn, optim
from tinygrad_rnn.models import unroll
from tinygrad_rnn.models.base import Step

SEED = 0
SYMBOLS = "abcdefgh"
BOS, EOS = len(SYMBOLS), len(SYMBOLS) + 1  # two more tokens after the symbols
VOCAB = len(SYMBOLS) + 2
LENGTH = 6
HIDDEN, EMBED, ATTENTION = 32, 16, 16
BATCH = 32
LEARNING_RATE = 0.01


def make_batch(rng: np.random.Generator, batch: int) -> tuple:
    """Shapes: source (n, B) tokens; target_in (n+1, B) = BOS + reversed; target (n+1, B) =
    reversed + EOS."""
    source = rng.integers(0, len(SYMBOLS), size=(LENGTH, batch))
    reverse = source[::-1]
    target_in = np.concatenate([np.full((1, batch), BOS), reverse])
    target = np.concatenate([reverse, np.full((1, batch), EOS)])
    return source, target_in, target


class Reverser(nn.Module):
    def __init__(self):
        super().__init__()
        self.src_embed = nn.Embedding(VOCAB, EMBED)
        self.tgt_embed = nn.Embedding(VOCAB, EMBED)
        self.encoder = nn.GRUCell(EMBED, HIDDEN)
        self.decoder = nn.GRUCell(EMBED + HIDDEN, HIDDEN)
        self.W_a = nn.Linear(HIDDEN, ATTENTION, bias=False)
        self.U_a = nn.Linear(HIDDEN, ATTENTION, bias=False)
        self.v = nn.Linear(ATTENTION, 1, bias=False)
        self.out = nn.Linear(2 * HIDDEN, VOCAB)

    def forward(self, source, target_in) -> tuple:
        """Teacher forced. Returns the logits o(1..n+1) and the weights alpha(t) (n, B) each."""
        B = source.shape[1]
        h0 = Tensor(np.zeros((B, HIDDEN), np.float32), name="h[0]")

        def encode(s, h_prev):
            h = self.encoder(self.src_embed(source[s - 1]), h_prev).named(f"h[{s}]")
            return Step(h, h)

        encoded, h_last = unroll(encode, h0, range(1, LENGTH + 1), "enc")
        H = tg.stack([m.h for m in encoded]).named("H")  # (n, B, H): all encoder states
        keys = self.U_a(H)  # U_a h(s) for every s, once
        alphas = []

        def decode(t, z_prev):
            score = self.v((keys + self.W_a(z_prev)).tanh()).reshape(LENGTH, B).named(f"e[{t}]")
            alpha = score.softmax(axis=0).named(f"alpha[{t}]")  # over the source steps s
            c = (alpha.reshape(LENGTH, B, 1) * H).sum(axis=0).named(f"c[{t}]")
            y = self.tgt_embed(target_in[t - 1])
            z = self.decoder(tg.cat([y, c], axis=1), z_prev).named(f"z[{t}]")
            alphas.append(alpha)
            return Step(z, z, self.out(tg.cat([z, c], axis=1)).named(f"o[{t}]"))

        decoded, _ = unroll(decode, h_last, range(1, LENGTH + 2), "dec")
        return [m.o for m in decoded], alphas


def loss_of(outputs: list, target: np.ndarray) -> Tensor:
    return tg.stack([F.cross_entropy(o, target[t]) for t, o in enumerate(outputs)]).mean()


def main(iters: int = 400) -> dict:
    tg.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = Reverser()
    opt = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    first = None
    for it in range(1, iters + 1):
        source, target_in, target = make_batch(rng, BATCH)
        opt.zero_grad()
        loss = loss_of(model(source, target_in)[0], target)
        loss.backward()
        tg.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        first = loss.item() if first is None else first
        if it % 100 == 0 or it == iters:
            print(f"iteration {it:4d}  loss {loss.item():.3f}")
    source, target_in, target = make_batch(np.random.default_rng(SEED + 1), 1)
    with tg.no_grad():
        outputs, alphas = model(source, target_in)
    decoded = "".join(SYMBOLS[k] if k < len(SYMBOLS) else "." for k in
                      [int(o.data[0].argmax()) for o in outputs])
    text = "".join(SYMBOLS[k] for k in source[:, 0])
    print(f"source {text} -> decoded {decoded} (teacher forced; '.' is <eos>)")
    weights = np.stack([a.data[:, 0] for a in alphas])  # (t, s)
    rows = [f"t={t} {ch}" for t, ch in enumerate(decoded, start=1)]
    cols = [f"s={s} {ch}" for s, ch in enumerate(text, start=1)]
    viz.heatmap_svg(weights, rows, cols, "alpha(t, s)", "attention.svg")
    anti = float(np.mean([weights[t, LENGTH - 1 - t] for t in range(LENGTH)]))
    print(f"mean weight on the mirrored source step: {anti:.2f} (1/{LENGTH} = "
          f"{1 / LENGTH:.2f} would be uniform); heat map in attention.svg")
    # the recorded graph: two loops, folded each into its own circuit
    source, target_in, target = make_batch(rng, 2)
    small = loss_of(model(source, target_in)[0], target)
    viz.render(small, "encoder-decoder-folded.svg", view="folded")
    print("folded drawing in encoder-decoder-folded.svg")
    return {"first_loss": first, "final_loss": float(loss.item()), "anti_diagonal": anti,
            "decoded": decoded}


if __name__ == "__main__":
    main()
