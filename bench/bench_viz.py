"""Graph explorer benchmark: to_networkx, the folded / elided / unrolled drawings, and render.

Run: python bench/bench_viz.py [T ...]   (prints a markdown table for bench/RESULTS.md)

Per T (an LSTM from the catalog, H = 8, B = 2), each timed once: the forward pass that records
the graph; viz.to_networkx (with value statistics); viz.draw(...).source (the Python side of a
drawing: graph export, folding or eliding, DOT emission) folded, elided to 8 steps and fully
unrolled; and viz.render end to end to .svg (the `dot` run included) folded and elided. A
fully unrolled LSTM of more than a few dozen steps is beyond what `dot` lays out in minutes,
so its render is not timed.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time

from tinygrad_rnn.models import build_graph
from viz import draw, render, to_networkx


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(lengths: list) -> None:
    print("| T | nodes | forward | to_networkx | draw folded | draw elided | draw unrolled "
          "| render folded | render elided |\n|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        out = pathlib.Path(folder) / "g.svg"
        for T in lengths:
            start = time.perf_counter()
            loss = build_graph("lstm", steps=T).loss
            forward = time.perf_counter() - start
            start = time.perf_counter()
            nodes = to_networkx(loss).number_of_nodes()
            export = time.perf_counter() - start
            figures = [timed(lambda: draw(loss, view="folded").source),
                       timed(lambda: draw(loss, max_steps=8).source),
                       timed(lambda: draw(loss).source),
                       timed(lambda: render(loss, out, view="folded")),
                       timed(lambda: render(loss, out, max_steps=8))]
            print(f"| {T} | {nodes} | {forward:.2f} s | {export:.2f} s | "
                  + " | ".join(f"{f:.2f} s" for f in figures) + " |", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 5000])
