"""Autograd basics: tensors, ops, backward, gradients, a hook, no_grad and the recorded graph.

Every op on a Tensor is recorded (its op name, its parents, its scope); backward walks that
record in reverse and leaves d(loss)/d(leaf) in each leaf's `.grad`. The last part fits a line
with plain gradient descent, the smallest training loop there is.

Run: python examples/01_autograd_basics.py
"""

import numpy as np

from tinygrad_rnn import Tensor, no_grad, scope

SEED = 0
LEARNING_RATE = 0.1
TRUE_SLOPE, TRUE_INTERCEPT = 3.0, -2.0


def show_backward() -> None:
    """y = sum(tanh(w * x) + w^2): the gradient of a tiny expression, checked by hand."""
    x = Tensor([0.5, -1.0, 2.0], name="x")  # data: no gradient wanted
    w = Tensor([0.3, 0.2, -0.1], requires_grad=True, name="w")
    z = (w * x).named("z")
    y = (z.tanh() + w * w).sum().named("y")
    y.backward()
    # dy/dw = x * (1 - tanh(w x)^2) + 2 w
    by_hand = x.data * (1 - np.tanh(w.data * x.data) ** 2) + 2 * w.data
    print("1. backward")
    print(f"   y = {y.item():.4f}")
    print(f"   w.grad          = {np.round(w.grad, 4)}")
    print(f"   by hand         = {np.round(by_hand, 4)}")
    print(f"   x.grad          = {x.grad}  (x does not require grad)")
    print(f"   z.grad          = {z.grad}  (a non-leaf keeps .grad only after retain_grad())")


def show_accumulation_and_hook() -> None:
    """Gradients add up across backward calls; a hook sees (and may replace) a gradient."""
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    h = (w * 3).named("h")
    h.retain_grad()
    seen = []
    h.register_hook(lambda grad: seen.append(grad.copy()))  # returns None: grad unchanged
    (h * h).sum().backward()
    print("2. hooks and accumulation")
    print(f"   the hook on h saw dL/dh = {seen[0]}  (= 2 h)")
    print(f"   h.grad (retained)       = {h.grad}")
    print(f"   w.grad after one pass   = {w.grad}  (= 3 * dL/dh)")
    (w * 3 * w * 3).sum().backward()
    print(f"   w.grad after two passes = {w.grad}  (accumulated: call zero_grad() between steps)")
    w.zero_grad()


def show_record() -> None:
    """What every op leaves behind: .op, .op_args, .parents (argument order), .scope, .step."""
    w = Tensor(np.ones((2, 2)), requires_grad=True, name="W")
    h = Tensor(np.zeros(2), name="h[0]")
    with scope("rnn", step=1):
        a = (h @ w.T + 1.0).named("a[1]")  # the Python constant 1.0 becomes a leaf parent
        h1 = a.tanh().named("h[1]")
    loss = h1.sum(axis=0)
    print("3. the record")
    for node in (h1, a, loss):
        parents = ", ".join(f"{p.op or 'leaf'}:{p.name or p.id}" for p in node.parents)
        print(f"   {node.name or 'loss':5} op={node.op:8} parents=({parents}) "
              f"scope={node.scope} step={node.step} op_args={node.op_args}")
    with no_grad():
        untracked = h1 * 2
    print(f"   under no_grad: op={untracked.op} parents={untracked.parents} "
          f"requires_grad={untracked.requires_grad}")


def main(iters: int = 100) -> dict:
    """Run the three demonstrations, then fit y = 3x - 2 by gradient descent for `iters` steps."""
    show_backward()
    show_accumulation_and_hook()
    show_record()

    rng = np.random.default_rng(SEED)
    xs = rng.uniform(-1, 1, size=32).astype(np.float32)
    ys = TRUE_SLOPE * xs + TRUE_INTERCEPT + 0.05 * rng.standard_normal(32).astype(np.float32)
    x, y = Tensor(xs), Tensor(ys)

    slope = Tensor(0.0, requires_grad=True, name="slope")
    intercept = Tensor(0.0, requires_grad=True, name="intercept")

    losses = []
    for _ in range(iters):
        loss = ((slope * x + intercept - y) ** 2).mean()
        slope.zero_grad()
        intercept.zero_grad()
        loss.backward()
        # numpy math on .data is not recorded: the update does not join the next graph
        slope.data -= LEARNING_RATE * slope.grad
        intercept.data -= LEARNING_RATE * intercept.grad
        losses.append(loss.item())

    print("4. gradient descent on a line")
    print(f"   loss {losses[0]:.4f} -> {losses[-1]:.4f} after {iters} steps")
    print(f"   slope {slope.item():.3f} (true {TRUE_SLOPE}), "
          f"intercept {intercept.item():.3f} (true {TRUE_INTERCEPT})")
    return {"first_loss": losses[0], "final_loss": losses[-1],
            "slope": slope.item(), "intercept": intercept.item()}


if __name__ == "__main__":
    main()
