"""viz: the graph explorer — the record as networkx, graphviz drawings (unrolled, folded), SVG."""

from .dot import GraphvizNotFound, draw, render
from .graph import to_networkx
from .console import BPTTReport, TrainDisplay, bptt_report, trace_backward

__all__ = ["to_networkx", "draw", "render", "GraphvizNotFound",
           "trace_backward", "bptt_report", "BPTTReport", "TrainDisplay"]
