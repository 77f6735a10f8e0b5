"""Heat maps of weights a model computes (attention over a source, addressing over memory): an
SVG file and a rich table, both from one matrix with labelled rows and columns."""

from __future__ import annotations

import pathlib
from xml.sax.saxutils import escape

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

# viridis, dark (0) to yellow (1): sequential and colour-blind safe (as the drawings' gradients)
_VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c",
            "#28ae80", "#5ec962", "#addc30", "#fde725"]
CELL, FONT = 28, 12  # SVG cell size and label font size, in px


def _check(matrix, row_labels, col_labels, who: str) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"{who}: matrix must be a non-empty 2-D array, got shape {m.shape}")
    if len(row_labels) != m.shape[0] or len(col_labels) != m.shape[1]:
        raise ValueError(f"{who}: {len(row_labels)} row labels and {len(col_labels)} column "
                         f"labels for a matrix of shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError(f"{who}: the matrix holds NaN or inf")
    return m


def _colour(frac: float) -> str:
    """Linear interpolation through the viridis stops; frac in [0, 1]."""
    x = min(1.0, max(0.0, frac)) * (len(_VIRIDIS) - 1)
    i = min(int(x), len(_VIRIDIS) - 2)
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    mix = [round(int(a[k:k + 2], 16) * (1 - (x - i)) + int(b[k:k + 2], 16) * (x - i))
           for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def _scale(m: np.ndarray, vmin: float | None, vmax: float | None) -> tuple:
    lo = float(m.min()) if vmin is None else vmin
    hi = float(m.max()) if vmax is None else vmax
    return lo, (hi if hi > lo else lo + 1.0)


def heatmap_svg(matrix, row_labels: list, col_labels: list, title: str,
                path=None, row_title: str = "", col_title: str = "",
                vmin: float | None = 0.0, vmax: float | None = 1.0) -> str:
    """The matrix as an SVG heat map: one cell per entry, its value in the cell's tooltip and
    (when the cells are few enough) printed in it, a colour bar from vmin to vmax (None: the
    data's own minimum / maximum). Writes it to `path` when given; returns the SVG text.

    Shapes: matrix (R, C); row_labels R strings (drawn left), col_labels C strings (drawn on
    top, rotated).
    """
    m = _check(matrix, row_labels, col_labels, "heatmap_svg")
    lo, hi = _scale(m, vmin, vmax)
    R, C = m.shape
    rows = [str(r) for r in row_labels]
    cols = [str(c) for c in col_labels]
    left = 16 + FONT * 0.62 * max(len(r) for r in rows) + (FONT + 6 if row_title else 0)
    top = 40 + FONT * 0.62 * max(len(c) for c in cols) + (FONT + 6 if col_title else 0)
    bar_x = left + C * CELL + 24
    width = max(bar_x + 16 + 60, 20 + (FONT + 2) * 0.62 * len(title))  # the title fits
    height = top + max(R * CELL, 120) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica,Arial,sans-serif" '
           f'font-size="{FONT}">',
           f'<title>{escape(title)}</title>',
           '<rect width="100%" height="100%" fill="#ffffff"/>',
           f'<text x="10" y="20" font-size="{FONT + 2}" font-weight="bold">'
           f'{escape(title)}</text>']
    if col_title:
        out.append(f'<text x="{left + C * CELL / 2:.0f}" y="{34 + FONT:.0f}" '
                   f'text-anchor="middle" font-style="italic">{escape(col_title)}</text>')
    if row_title:
        cy = top + R * CELL / 2
        out.append(f'<text x="{FONT + 2}" y="{cy:.0f}" text-anchor="middle" font-style="italic" '
                   f'transform="rotate(-90 {FONT + 2} {cy:.0f})">{escape(row_title)}</text>')
    for j, label in enumerate(cols):
        x = left + j * CELL + CELL / 2 + FONT / 3
        out.append(f'<text class="col" x="{x:.0f}" y="{top - 6:.0f}" '
                   f'transform="rotate(-90 {x:.0f} {top - 6:.0f})">{escape(label)}</text>')
    show_values = C <= 24
    for i, label in enumerate(rows):
        y = top + i * CELL
        out.append(f'<text class="row" x="{left - 6:.0f}" y="{y + CELL / 2 + FONT / 3:.0f}" '
                   f'text-anchor="end">{escape(label)}</text>')
        for j in range(C):
            frac = (m[i, j] - lo) / (hi - lo)
            x = left + j * CELL
            out.append(f'<rect class="cell" x="{x:.0f}" y="{y:.0f}" width="{CELL}" '
                       f'height="{CELL}" fill="{_colour(frac)}" stroke="#ffffff">'
                       f'<title>{escape(rows[i])} · {escape(cols[j])}: {m[i, j]:.3g}</title>'
                       f'</rect>')
            if show_values:
                ink = "#ffffff" if frac < 0.55 else "#000000"
                out.append(f'<text x="{x + CELL / 2:.0f}" y="{y + CELL / 2 + 4:.0f}" '
                           f'text-anchor="middle" font-size="9" fill="{ink}">'
                           f'{_short(m[i, j])}</text>')
    steps = 20
    bar_h = max(R * CELL, 120)
    for k in range(steps):
        frac = 1 - k / (steps - 1)
        out.append(f'<rect x="{bar_x:.0f}" y="{top + k * bar_h / steps:.1f}" width="16" '
                   f'height="{bar_h / steps + 0.5:.1f}" fill="{_colour(frac)}"/>')
    out.append(f'<text x="{bar_x + 20:.0f}" y="{top + FONT:.0f}">{hi:.3g}</text>')
    out.append(f'<text x="{bar_x + 20:.0f}" y="{top + bar_h:.0f}">{lo:.3g}</text>')
    out.append("</svg>")
    svg = "\n".join(out) + "\n"
    if path is not None:
        pathlib.Path(path).write_text(svg, encoding="utf-8")
    return svg


def _short(value: float) -> str:
    """'.42' for 0.42, '1' for 1.0: fits a cell."""
    if abs(value - round(value)) < 5e-3:
        return str(int(round(value)))
    text = f"{value:.2f}"
    return text[1:] if text.startswith("0.") else text


def heat_table(matrix, row_labels: list, col_labels: list, title: str,
               vmin: float | None = 0.0, vmax: float | None = 1.0) -> Table:
    """The matrix as a rich table: each cell its value on a viridis background (values stay
    readable without colour)."""
    m = _check(matrix, row_labels, col_labels, "heat_table")
    lo, hi = _scale(m, vmin, vmax)
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    table.add_column("", justify="right", no_wrap=True)
    for label in col_labels:
        table.add_column(Text(str(label)), justify="right", no_wrap=True)
    for i, label in enumerate(row_labels):
        cells = []
        for j in range(m.shape[1]):
            frac = (m[i, j] - lo) / (hi - lo)
            ink = "#ffffff" if frac < 0.55 else "#000000"
            cells.append(Text(f"{m[i, j]:.2f}", style=f"{ink} on {_colour(frac)}"))
        table.add_row(Text(str(label)), *cells)
    return table
