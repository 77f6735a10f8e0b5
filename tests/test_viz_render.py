"""viz.render through the real `dot` binary: SVG parsed as XML, other formats, missing dot."""

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from viz import GraphvizNotFound, render

from test_viz_dot import HOSTILE, hostile_graph
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
