"""Check a gradient you wrote: gradcheck against central differences, in float64.

Before trusting a new building block, compare what backward computes with
(f(x + eps) - f(x - eps)) / (2 eps) for every element of every input. Here the block is the
book's leaky unit (DL book, 10.9.2), a composite of existing ops, so its backward comes from
the op table and passes. Then we plant the classic mistake, forgetting tanh's derivative
1 - h^2, with a hook that rewrites the gradient of the pre-activation, and read what
GradcheckError reports.

Run: python examples/05_gradcheck_your_op.py
"""

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import GradcheckError, Tensor

SEED = 0
B, D, H = 2, 3, 4
ALPHA = 0.7


def leaky_step(h_prev: Tensor, x_t: Tensor, W: Tensor, U: Tensor, b: Tensor) -> Tensor:
    """h(t) = alpha h(t-1) + (1 - alpha) tanh(W h(t-1) + U x(t) + b).

    Shapes: h_prev (B, H), x_t (B, D), W (H, H), U (H, D), b (H,) -> (B, H).
    """
    proposal = (h_prev @ W.T + x_t @ U.T + b).tanh()
    # alpha near 1 keeps the past: the self-connection is linear, so gradients pass unshrunk
    return ALPHA * h_prev + (1 - ALPHA) * proposal


def leaky_step_forgetting_tanh_grad(h_prev, x_t, W, U, b) -> Tensor:
    """The same forward, but backward passes tanh's incoming gradient through unchanged.

    A hand-written backward for tanh that forgot the factor 1 - h^2 does exactly this.
    """
    a = h_prev @ W.T + x_t @ U.T + b
    proposal = a.tanh()
    if tg.is_grad_enabled():  # gradcheck's finite differences run under no_grad: no hooks
        seen = {}
        proposal.register_hook(lambda grad: seen.update(proposal=grad))  # dL/dtanh, runs first
        a.register_hook(lambda grad: seen["proposal"])  # replaces dL/da = g * (1 - h^2)
    return ALPHA * h_prev + (1 - ALPHA) * proposal


def random_inputs(rng: np.random.Generator, dtype=np.float64) -> list:
    """h_prev, x_t, W, U, b as tensors that require grad."""
    shapes = [(B, H), (B, D), (H, H), (H, D), (H,)]
    return [Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
            for shape in shapes]


def main(iters: int = 5) -> dict:
    """gradcheck the leaky step on `iters` random draws, then show the two ways it can fail."""
    rng = np.random.default_rng(SEED)
    passed = 0
    for _ in range(iters):
        # a non-scalar output is reduced by a fixed random projection, so every element counts
        passed += tg.gradcheck(leaky_step, *random_inputs(rng))
    print(f"leaky_step: gradcheck passed on {passed} of {iters} random inputs "
          f"({B * H + B * D + H * H + H * D + H} numbers each)")

    try:
        tg.gradcheck(leaky_step, *random_inputs(rng, np.float32))
    except TypeError as error:
        print(f"in float32:  TypeError: {error}")

    message = ""
    try:
        tg.gradcheck(leaky_step_forgetting_tanh_grad, *random_inputs(rng))
    except GradcheckError as error:
        message = str(error)
        print(f"with the planted bug:  GradcheckError: {message}")
    print("It names the input (0 is h_prev, the first one checked), the element and both "
          "numbers: start looking at the ops between that input and the output.")
    return {"passed": passed, "error": message}


if __name__ == "__main__":
    main()
