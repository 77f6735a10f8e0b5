"""Watch back-propagation through time happen: node by node, then step by step.

viz.trace_backward runs backward and prints every node in the order backward visits it: the
loss first, then step T's nodes, then step T-1's, ... each with the local rule it applies and
what it passes to each parent. viz.bptt_report runs backward and reports, per time step,
||dL/dh(t)|| split in two parts (DL book, 10.2.2):

    dL/dh(t) = (dL(t)/dh(t))  +  (dh(t+1)/dh(t))^T dL/dh(t+1)
                from L(t)           through time, from step t+1

and, for each shared weight, what each step adds to its gradient (the sum over t is BPTT).

Run: python examples/06_trace_bptt.py
"""

import numpy as np

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
import viz
from tinygrad_rnn import Tensor, nn, optim

SEED = 0
TEXT = "the gradient vanishes or explodes "
VOCAB = sorted(set(TEXT))
HIDDEN = 16
STEPS = 12  # T for the step-by-step report
LEARNING_RATE = 0.02
SMALL_GAIN, LONG_STEPS = 0.5, 30  # example 03's vanishing setting


def make_batch(steps: int) -> tuple:
    """Every rotation of the text, one-hot. Shapes: x (T, B, V), y (T, B) the next symbols."""
    ids = np.array([VOCAB.index(ch) for ch in TEXT])
    positions = np.arange(steps + 1)[:, None] + np.arange(len(TEXT))[None, :]
    stream = ids[positions % len(TEXT)]
    return Tensor(np.eye(len(VOCAB), dtype=np.float32)[stream[:-1]]), Tensor(stream[1:])


class CharRNN(nn.Module):
    """Example 03's model: nn.RNNCell plus a Linear readout, a loss L(t) at every step."""

    def __init__(self, hidden: int = HIDDEN):
        super().__init__()
        self.cell = nn.RNNCell(len(VOCAB), hidden)
        self.readout = nn.Linear(hidden, len(VOCAB))

    def forward(self, x: Tensor, y: Tensor) -> tuple:
        """Returns the mean loss and the states h(1..T)."""
        h, states, step_losses = None, [], []
        for t in range(1, x.shape[0] + 1):
            with tg.scope("rnn", step=t):
                h = self.cell(x[t - 1], h).named(f"h[{t}]")
                step_losses.append(F.cross_entropy(self.readout(h), y[t - 1]).named(f"L[{t}]"))
            states.append(h)
        # summed outside the steps: the only path from step t+1 back to step t is h(t)
        return (tg.stack(step_losses).sum() / x.shape[0]).named("L"), states


def main(iters: int = 200) -> dict:
    """Trace a 2-step graph, report BPTT before and after `iters` Adam steps, then a long one."""
    tg.manual_seed(SEED)
    model = CharRNN(hidden=2)
    x, y = make_batch(2)
    loss, _ = model(x[:, :1], y[:, :1])  # T = 2, B = 1, H = 2: small enough to read every row
    print("1. backward, node by node (T = 2)")
    rows = viz.trace_backward(loss, show_all=True)
    print("   Notice: step 2's nodes come before step 1's. h[1] is reached twice, from step "
          "2's cell (through time) and from step 1's readout (from L(1)); backward visits it "
          "once, when both have arrived. weight_hh is visited last, its gradient summed over "
          "both steps.\n")

    tg.manual_seed(SEED)
    model = CharRNN()
    x, y = make_batch(STEPS)
    print(f"2. dL/dh(t) per step, T = {STEPS}, before training")
    loss, states = model(x, y)
    first = viz.bptt_report(loss, states, params={"weight_hh": model.cell.weight_hh},
                            recurrent_weight=model.cell.weight_hh)
    print("   Notice: step 1 adds nothing to weight_hh's gradient: it multiplies h(0) = 0.")
    opt = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    losses = []
    for _ in range(iters):
        loss, states = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(f"\n   ... {iters} Adam steps: loss {losses[0]:.3f} -> {losses[-1]:.3f}\n")
    print(f"3. the same report after training, for the last step's loss L({STEPS}) alone")
    loss, states = model(x, y)
    after = viz.bptt_report(loss, states, params={"weight_hh": model.cell.weight_hh},
                            recurrent_weight=model.cell.weight_hh, last_step_only=True)
    print(f"   Notice: training moved W's spectral radius {first.spectral_radius:.2f} -> "
          f"{after.spectral_radius:.2f} and the mean factor per step back "
          f"{first.decay_factor:.2f} -> {after.decay_factor:.2f}: the closer to 1, the further "
          f"back L({STEPS}) reaches.\n")

    print(f"4. a small recurrent weight (gain {SMALL_GAIN}) over T = {LONG_STEPS} steps")
    tg.manual_seed(SEED)
    weak = CharRNN()
    W = np.random.default_rng(SEED).standard_normal((HIDDEN, HIDDEN))
    weak.cell.weight_hh.data = (W * SMALL_GAIN / np.sqrt(HIDDEN)).astype(np.float32)
    loss, states = weak(*make_batch(LONG_STEPS))
    vanishing = viz.bptt_report(loss, states, params=[], last_step_only=True,
                                recurrent_weight=weak.cell.weight_hh)
    gone = vanishing.vanished
    if gone:
        print(f"   Notice: L({LONG_STEPS}) barely reaches steps {gone[0]}..{gone[-1]}: "
              f"there dL/dh(t) is below a millionth of ||dL/dh(T)||.")
    return {"trace_rows": len(rows), "first_loss": losses[0], "final_loss": losses[-1],
            "radius_before": first.spectral_radius, "radius_after": after.spectral_radius,
            "vanished_steps": vanishing.vanished,
            "reach": vanishing.steps[0].total / vanishing.steps[-1].total}


if __name__ == "__main__":
    main()
