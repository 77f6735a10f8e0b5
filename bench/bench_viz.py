"""Graph explorer benchmark: a T=1000 LSTM's record memory and its folded / elided render times.

Run: python bench/bench_viz.py [T]   (prints a markdown table for bench/RESULTS.md)
"""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time
import tracemalloc

from tinygrad_rnn.models import build_graph
from viz import render, to_networkx


def main(T: int = 1000) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    sample = build_graph("lstm", steps=T)
    build_s = time.perf_counter() - start
    record_bytes, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    start = time.perf_counter()
    graph = to_networkx(sample.loss)
    export_s = time.perf_counter() - start
    rows = [("record (forward, T=%d): %d nodes" % (T, graph.number_of_nodes()),
             f"{build_s:.2f} s", f"{record_bytes / 2**20:.1f} MiB (peak {peak_bytes / 2**20:.1f})"),
            ("to_networkx (with value stats)", f"{export_s:.2f} s", "")]
    with tempfile.TemporaryDirectory() as folder:
        for label, kwargs in [("render folded .svg", {"view": "folded"}),
                              ("render unrolled, max_steps=8, .svg", {"max_steps": 8})]:
            start = time.perf_counter()
            render(sample.loss, pathlib.Path(folder) / "g.svg", **kwargs)
            rows.append((label, f"{time.perf_counter() - start:.2f} s", ""))
    print("| what | time | memory |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
