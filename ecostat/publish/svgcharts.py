"""The status site's charts as inline SVG: shapes computed here, every word and number left as ``<text>``
for the browser to set in whatever CJK font it has. No font is needed to build them, nothing is fetched,
there is no script; all text is escaped (category names come from registries, but a page never trusts).

One ``<svg>`` per panel of :class:`ecostat.publish.annual.charts.Panel`: horizontal bars (one group per
category, one bar per series, the value written after each bar) or, for ``lines``, a line per series
over the categories (months) with the panel's notes under them."""

from __future__ import annotations

import math
from html import escape

from ecostat.publish.annual.charts import COLOURS, Panel

BAR = 14  # px: one bar's height
GAP = 8  # px: between category groups
WIDTH = 360  # px: one panel
LABEL = 110  # px: the category names' column
TITLE = 22  # px: the title's line


def _t(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11, fill: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
            f"{escape(text)}</text>")


def _colours(panel: Panel) -> dict[str, str]:
    names = list(panel.series)
    return {n: COLOURS[(i + (len(names) == 1)) % len(COLOURS)] for i, n in enumerate(names)}


def _legend(panel: Panel, colour: dict[str, str], y: float) -> list[str]:
    out, x = [], 0.0
    for name in panel.series:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour[name]}"/>')
        out.append(_t(x + 14, y, name, size=10))
        x += 24 + 11 * len(name)
    return out


def _svg(height: float, parts: list[str], title: str) -> str:
    return (f'<svg class="chart" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" role="img"><title>{escape(title)}</title>'
            + "".join(parts) + "</svg>")


def _finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def bars(panel: Panel) -> str:
    """Horizontal grouped bars of one panel, values written at the bars' ends."""
    colour = _colours(panel)
    values = [v for s in panel.series.values() for v in _finite(s)]
    top = max([0.0, *values]) or 1.0
    low = min([0.0, *values])
    span = (top - low) or 1.0
    room = WIDTH - LABEL - 50  # space left for the values written after the bars
    zero = LABEL + room * (-low / span)
    parts = [_t(0, 14, panel.title, size=12)]
    y = TITLE + (16 if len(panel.series) > 1 else 0)
    if len(panel.series) > 1:
        parts += _legend(panel, colour, TITLE + 8)
    group = BAR * len(panel.series)
    for j, category in enumerate(panel.categories):
        parts.append(_t(LABEL - 6, y + group / 2 + 4, category, anchor="end"))
        for name, series in panel.series.items():
            v = series[j] if j < len(series) else None
            label = panel.labels.get(name, [""] * len(panel.categories))
            if v is not None and math.isfinite(v):
                x, w = (zero, room * v / span) if v >= 0 else (zero + room * v / span, room * -v / span)
                parts.append(f'<rect x="{x:.1f}" y="{y + 1:.1f}" width="{max(w, 0.5):.1f}" height="{BAR - 2}" '
                             f'fill="{colour[name]}"/>')
                text = label[j] if j < len(label) else ""
                parts.append(_t(x + w + 3, y + BAR - 3, text, size=10))
            y += BAR
        y += GAP
    return _svg(y + 4, parts, panel.title)


def lines(panel: Panel) -> str:
    """One line per series over the panel's categories, the labels above the points, notes under the axis."""
    height, left, right, bottom = 190.0, 30.0, WIDTH - 10.0, 150.0
    colour = {n: COLOURS[(i + 1) % len(COLOURS)] for i, n in enumerate(panel.series)}
    values = [v for s in panel.series.values() for v in _finite(s)]
    top = max([0.0, *values]) or 1.0
    scale = (bottom - TITLE - 18) / top
    step = (right - left) / max(1, len(panel.categories) - 1)
    parts = [_t(0, 14, panel.title, size=12),
             f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#999" stroke-width="1"/>']
    for j, category in enumerate(panel.categories):
        parts.append(_t(left + j * step, bottom + 14, category, anchor="middle", size=9))
        if j < len(panel.notes) and panel.notes[j]:
            parts.append(_t(left + j * step, bottom + 26, panel.notes[j], anchor="middle", size=9, fill="#666"))
    for name, series in panel.series.items():
        points = [(left + j * step, bottom - v * scale) for j, v in enumerate(series)
                  if v is not None and math.isfinite(v)]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour[name]}" stroke-width="1.5"/>')
        for j, v in enumerate(series):
            label = panel.labels.get(name, [])
            if v is not None and math.isfinite(v):
                x, y = left + j * step, bottom - v * scale
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour[name]}"/>')
                if j < len(label) and label[j]:
                    parts.append(_t(x, y - 5, label[j], anchor="middle", size=9))
    return _svg(height, parts, panel.title)
