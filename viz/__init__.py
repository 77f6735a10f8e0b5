"""viz: the graph explorer — the record as networkx, graphviz drawings (unrolled, folded), SVG."""

from .dot import GraphvizNotFound, draw, render
from .graph import to_networkx
from .console import BPTTReport, TrainDisplay, bptt_report, trace_backward
from .heatmap import heat_table, heatmap_svg

__all__ = ["to_networkx", "draw", "render", "GraphvizNotFound",
           "trace_backward", "bptt_report", "BPTTReport", "TrainDisplay", "heatmap_svg",
           "heat_table"]
