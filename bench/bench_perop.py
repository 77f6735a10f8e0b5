"""Per-op cost of the engine's hot path: build and backprop chains of tiny ops (4x4 float32,
41 ops each: matmul, tanh, mul, add, ...), where the engine's bookkeeping dominates numpy's work.

On a shared machine wall time swings by +-20 %; count instructions instead, which do not:

    valgrind --tool=callgrind python bench/bench_perop.py --reps 2
    valgrind --tool=callgrind python bench/bench_perop.py --reps 4   # 2 x 200 chains more
    # instructions per op = (Ir(reps 4) - Ir(reps 2)) / (2 * 200 * 41)

--tree DIR runs the tinygrad_rnn package found in DIR (e.g. an export of main, `git archive
main | tar -x -C /tmp/base`), so that the before and after figures come from one venv. Without
valgrind, --time prints the best CPU time per op of the repetitions.
"""

from __future__ import annotations

import argparse
import sys
import time

CHAINS, OPS = 200, 41


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--tree", default=None, help="import tinygrad_rnn from this directory")
    parser.add_argument("--time", action="store_true", help="print the best CPU time per op")
    args = parser.parse_args()
    if args.tree:  # ahead of the editable install's finder
        sys.meta_path[:] = [f for f in sys.meta_path
                            if not str(getattr(f, "__module__", "")).startswith("__editable__")]
        sys.path.insert(0, args.tree)
    import numpy as np

    import tinygrad_rnn as tg

    x = tg.Tensor(np.ones((4, 4), dtype=np.float32), requires_grad=True)
    w = tg.Tensor(np.ones((4, 4), dtype=np.float32) * 0.1, requires_grad=True)

    def chain():
        h = x
        for _ in range(10):
            h = (h @ w).tanh() * 0.5 + x
        return h.sum()

    best = float("inf")
    for _ in range(args.reps):
        start = time.process_time()
        outs = [chain() for _ in range(CHAINS)]
        for out in outs:
            out.backward()
        best = min(best, (time.process_time() - start) / (CHAINS * OPS))
    if args.time and args.reps:
        print(f"{tg.__file__}: best {best * 1e6:.3f} us per op (forward + backward, CPU time)")


if __name__ == "__main__":
    main()
