"""viz.render through the real `dot` binary: SVG parsed as XML, other formats, missing dot."""

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from viz import GraphvizNotFound, render

from test_viz_dot import HOSTILE, encoder_decoder, hostile_graph
from test_viz_graph import user_rnn

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


def svg_nodes(path) -> list:
    """(classes, visible text, tooltip) of every node group in an SVG written by dot."""
    root = ET.parse(path).getroot()
    out = []
    for group in root.iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if "node" not in classes:
            continue
        text = " ".join("".join(t.itertext()) for t in group.iter(f"{SVG}text"))
        tips = [a.get(f"{XLINK}title") for a in group.iter(f"{SVG}a")]
        out.append((classes, text, tips[0] if tips else None))
    return out


@needs_dot
@pytest.mark.parametrize("view", ["unrolled", "folded"])
def test_svg_is_xml_with_the_expected_nodes(tmp_path, view):
    path = render(user_rnn(3), tmp_path / "rnn.svg", view=view, grads=True)
    assert path == tmp_path / "rnn.svg"
    nodes = svg_nodes(path)
    by_class: dict = {}
    for classes, text, _ in nodes:
        for c in classes[1:]:
            by_class[c] = by_class.get(c, 0) + 1
    assert by_class["param"] == 2 + 1  # W, U and the legend's entry
    texts = [text for _, text, _ in nodes]
    assert any(t.startswith("W (3, 3) |∇| ") for t in texts)
    if view == "unrolled":
        assert sum(t.startswith("h[") and "tanh" in t for t in texts) == 3
    else:
        assert by_class["delay"] == 3 and any(t.startswith("h[t]") for t in texts)
    tips = [tip for _, _, tip in nodes if tip]
    assert any("shape: (1, 3) float64" in tip and "grad norm:" in tip for tip in tips)


@needs_dot
def test_delay_legend_text_is_drawn_inside_the_legend_box(tmp_path):
    root = ET.parse(render(user_rnn(3), tmp_path / "f.svg", view="folded")).getroot()
    box = next(g for g in root.iter(f"{SVG}g") if g.findtext(f"{SVG}title") == "cluster_legend")
    shape = next(e for e in box if e.tag in (f"{SVG}path", f"{SVG}polygon"))
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?",
                                            shape.get("d") or shape.get("points"))]
    xs, ys = numbers[0::2], numbers[1::2]
    texts = [t for t in root.iter(f"{SVG}text") if "delay d:" in "".join(t.itertext())]
    assert len(texts) == 1
    x, y = float(texts[0].get("x")), float(texts[0].get("y"))
    assert min(xs) < x < max(xs) and min(ys) < y < max(ys)


@needs_dot
def test_hostile_names_give_well_formed_svg(tmp_path):
    for view in ("unrolled", "folded"):
        path = render(hostile_graph(), tmp_path / f"{view}.svg", view=view, values=True)
        text = " ".join(t for _, t, _ in svg_nodes(path))
        raw = path.read_text(encoding="utf-8")
        assert "<script>" not in raw and "<b>" not in raw
        for name in HOSTILE:
            if "\n" not in name and "{" not in name:
                assert name in text, name  # shown verbatim, not as markup


@needs_dot
def test_other_formats(tmp_path):
    loss = user_rnn(2)
    assert render(loss, tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert render(loss, tmp_path / "g.pdf").read_bytes()[:5] == b"%PDF-"
    dot_file = render(loss, tmp_path / "g.dot", view="folded")
    assert dot_file.read_text(encoding="utf-8").startswith("digraph")
    with pytest.raises(ValueError, match="unknown format"):
        render(loss, tmp_path / "g.jpeg2")


def test_missing_dot_writes_the_source_and_says_how_to_install(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(GraphvizNotFound) as info:
        render(user_rnn(2), tmp_path / "out.svg")
    written = tmp_path / "out.dot"
    assert written.read_text(encoding="utf-8").startswith("digraph")
    assert str(written) in str(info.value) and "apt-get install graphviz" in str(info.value)
    assert isinstance(info.value, RuntimeError) and not (tmp_path / "out.svg").exists()


# ------------------------------------------------------------ geometry of the rendered SVG


def _transform(root):
    """(scale, tx, ty) of the graph group: page = scale * (point + translate)."""
    graph = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "graph0")
    text = graph.get("transform")
    scale = re.search(r"scale\(([-\d.]+)", text)
    tx, ty = (float(v) for v in re.search(r"translate\(([-\d.]+) ([-\d.]+)", text).groups())
    return (float(scale.group(1)) if scale else 1.0), tx, ty


def node_boxes(path) -> dict:
    """{visible first line: (xmin, ymin, xmax, ymax) on the page} of every node with a shape."""
    root = ET.parse(path).getroot()
    s, tx, ty = _transform(root)
    out = {}
    for group in root.iter(f"{SVG}g"):
        if "node" not in group.get("class", "").split():
            continue
        points = []
        for shape in group.iter():
            if shape.tag in (f"{SVG}polygon", f"{SVG}polyline", f"{SVG}path"):
                text = shape.get("points") or shape.get("d")  # a rounded box is a path
                pairs = re.findall(r"(-?[\d.]+),(-?[\d.]+)", text)
                points += [(float(x), float(y)) for x, y in pairs]
            elif shape.tag == f"{SVG}ellipse":
                cx, cy = float(shape.get("cx")), float(shape.get("cy"))
                rx, ry = float(shape.get("rx")), float(shape.get("ry"))
                points += [(cx - rx, cy - ry), (cx + rx, cy + ry)]
        if not points:
            continue
        texts = [t.text for t in group.iter(f"{SVG}text")]
        xs = [s * (x + tx) for x, _ in points]
        ys = [s * (y + ty) for _, y in points]
        label = (texts[0] if texts else group.findtext(f"{SVG}title")) or ""
        out.setdefault(label, []).append((min(xs), min(ys), max(xs), max(ys)))
    return out


def _view_box(path) -> tuple:
    return tuple(float(v) for v in ET.parse(path).getroot().get("viewBox").split())


@needs_dot
@pytest.mark.parametrize("arch,view", [("rnn", "folded"), ("rnn", "unrolled"),
                                       ("lstm", "folded"), ("skip-rnn", "folded")])
def test_every_node_lies_inside_the_view_box(tmp_path, arch, view):
    from tinygrad_rnn.models.catalog import build_graph

    path = render(build_graph(arch, steps=4).loss, tmp_path / "g.svg", view=view)
    x0, y0, width, height = _view_box(path)
    boxes = [b for found in node_boxes(path).values() for b in found]
    assert len(boxes) > 10
    for xmin, ymin, xmax, ymax in boxes:  # graphviz 2.43's `size` rounding cut the right edge
        assert x0 - 0.5 <= xmin and xmax <= x0 + width + 0.5
        assert y0 - 0.5 <= ymin and ymax <= y0 + height + 0.5


def cluster_spans(path) -> dict:
    """{cluster label: (xmin, xmax) on the page}."""
    root = ET.parse(path).getroot()
    s, tx, _ = _transform(root)
    out = {}
    for group in root.iter(f"{SVG}g"):
        if "cluster" not in group.get("class", "").split():
            continue
        shape = next(e for e in group if e.tag in (f"{SVG}path", f"{SVG}polygon"))
        xs = [s * (float(x) + tx) for x, _ in
              re.findall(r"(-?[\d.]+),(-?[\d.]+)", shape.get("points") or shape.get("d"))]
        label = " ".join(t.text for t in group.iter(f"{SVG}text"))
        out.setdefault(label, []).append((min(xs), max(xs)))
    return out


def assert_steps_side_by_side(path, labels) -> None:
    """Each step's cluster lies wholly left of the next one's (not stacked, not reversed)."""
    spans = cluster_spans(path)
    for a, b in zip(labels, labels[1:]):  # per loop: "t = 1" of the net and of its loss
        assert len(spans[a]) == len(spans[b])
        for (_, right), (left, _) in zip(spans[a], spans[b]):
            assert right < left, (a, b)


def _centres(path, pattern) -> list:
    """Labels matching pattern, sorted by the x of their node's centre on the page."""
    found = []
    for label, boxes in node_boxes(path).items():
        if re.fullmatch(pattern, label):
            for xmin, _, xmax, _ in boxes:
                found.append(((xmin + xmax) / 2, label))
    return [label for _, label in sorted(found)]


@needs_dot
@pytest.mark.parametrize("max_steps", [None, 4])
def test_unrolled_time_reads_left_to_right(tmp_path, max_steps):
    from tinygrad_rnn.models.catalog import build_graph

    T = 8 if max_steps is None else 30
    path = render(build_graph("rnn", steps=T).loss, tmp_path / "g.svg", view="unrolled",
                  max_steps=max_steps)
    steps = list(range(1, T + 1)) if max_steps is None else [1, 2, T - 1, T]
    assert _centres(path, r"h\[\d+\]") == ["h[0]"] + [f"h[{t}]" for t in steps]
    assert _centres(path, r"L\[\d+\]") == [f"L[{t}]" for t in steps]
    assert_steps_side_by_side(path, [f"t = {t}" for t in steps])
    if max_steps:  # the elision sits between the steps it stands for
        order = _centres(path, r"h\[\d+\]|… \d+ steps …")
        assert order.index("h[2]") < order.index("… 26 steps …") < order.index(f"h[{T - 1}]")


@needs_dot
def test_unrolled_several_loops_encoder_then_decoder(tmp_path):
    path = render(encoder_decoder(4), tmp_path / "g.svg", view="unrolled")
    order = _centres(path, r"[hd]\[\d+\]")
    assert order == ["h[0]", "h[1]", "h[2]", "h[3]", "h[4]", "d[1]", "d[2]", "d[3]"]
    spans = cluster_spans(path)
    assert max(x for _, x in spans["enc"]) < min(x for x, _ in spans["dec"])


@needs_dot
def test_unrolled_non_time_axis_labels_its_clusters(tmp_path):
    path = render(encoder_decoder(3, axis="hop"), tmp_path / "g.svg", view="unrolled")
    text = " ".join("".join(t.itertext()) for t in ET.parse(path).getroot().iter(f"{SVG}text"))
    assert "hop 2" in text and "t = 2" in text  # the encoder's axis, the decoder's time
    assert _centres(path, r"h\[\d+\]") == ["h[0]", "h[1]", "h[2]", "h[3]"]
    assert_steps_side_by_side(path, ["hop 1", "hop 2", "hop 3"])


@needs_dot
def test_odd_names_and_paths_render(tmp_path, monkeypatch):
    """A path starting with '-', a lone surrogate, graphviz's own escapes (\\N, \\G) and a
    10k-character name: each rendered, shown as written (capped), never an error inside dot."""
    import numpy as np

    from tinygrad_rnn import Tensor, scope

    w = Tensor(np.ones(2), requires_grad=True, name="w\\N\\G")
    with scope("bad\ud800scope", step=1):
        h = (w * 2).named("h\ud800x")
    with scope("x" * 10_000, step=1):
        g = (h * 3).named("y" * 10_000)
    loss = g.sum().named("L")
    monkeypatch.chdir(tmp_path)
    for view in ("unrolled", "folded"):
        path = render(loss, f"./-{view}.svg", view=view, grads=True)
        assert path.exists()
        nodes = svg_nodes(path)
        tips = " ".join(tip for _, _, tip in nodes if tip)
        text = " ".join(t for _, t, _ in nodes)
        assert "w\\N\\G" in text and "parameter w\\N\\G" in tips  # not replaced by node ids
        assert "h?x" in text
        assert "y" * 50 in text and "y" * 61 not in text and "…" in text
