"""Charts of the annual figures (matplotlib, drawn with a CJK font so that no glyph is missing).

The font is Noto Sans CJK SC (:mod:`ecostat.publish.annual.fonts`: the system's or the pinned package's);
nothing is downloaded. Each function
draws small multiples (one panel per figure) and returns PNG bytes. matplotlib is imported when a chart
is drawn (a third of a second): a run whose status site has no chart does without it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from ecostat.publish.annual.fonts import CJK_FAMILY, FontMissing, cjk_font_file

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CJK_FAMILY", "FontMissing", "Panel", "bars", "cjk_family", "lines"]
COLOURS = ("#9db4c0", "#1f5f8b", "#c0504d", "#e6a23c", "#5b8c5a", "#7f6a93")
DPI = 150


@cache
def cjk_family() -> str:
    """The CJK font family, registered with matplotlib (its font cache may predate the font)."""
    from matplotlib import font_manager

    if not any(f.name == CJK_FAMILY for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(cjk_font_file()))
    if not any(f.name == CJK_FAMILY for f in font_manager.fontManager.ttflist):
        raise FontMissing(f"{cjk_font_file()} has no face {CJK_FAMILY}")
    return CJK_FAMILY


@dataclass
class Panel:
    """One small chart: categories along an axis, one or more named series over them."""

    title: str
    categories: list[str]
    series: dict[str, list[float | None]]
    labels: dict[str, list[str]] = field(default_factory=dict)  # text written at each point, per series
    notes: list[str] = field(default_factory=list)  # text under each category (e.g. how many units reported)


def _style() -> Any:  # matplotlib types its keys as literals
    return {"font.family": cjk_family(), "axes.unicode_minus": False, "font.size": 8}


def _figure(count: int, columns: int, width: float, height: float, *, left: float = 0.45,
            bottom: float = 0.45) -> tuple[Figure, list]:  # type: ignore[type-arg]
    """A grid of panels ``height`` inches high; margins in inches (a fixed layout: far cheaper than
    matplotlib's constrained one, which would dominate every rebuild of the status site)."""
    from matplotlib.figure import Figure  # drawn without pyplot: no GUI backend, no global figure state

    rows = max(1, math.ceil(count / columns))
    total = height * rows + 0.35  # room for the legend on top
    fig = Figure(figsize=(width, total), dpi=DPI)
    fig.subplots_adjust(left=left / width, right=1 - 0.15 / width, top=1 - 0.55 / total, bottom=bottom / total,
                        wspace=0.35, hspace=0.55 * 2.3 / height)
    axes = fig.subplots(rows, columns, squeeze=False).ravel().tolist()
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count]


def _wrap(title: str, columns: int) -> str:
    """A panel title on two lines when it is wider than its panel (before the unit in brackets if it can)."""
    room = int(52 / columns)  # full-width characters of 8 pt across a panel of a 7.2 in figure
    if len(title) <= room:
        return title
    cut = title.rfind("（")
    cut = cut if 0 < cut <= room and len(title) - cut <= room else room
    return title[:cut] + "\n" + title[cut:]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _values(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def bars(panels: list[Panel], *, columns: int = 3, horizontal: bool = False) -> bytes:
    """Grouped bars per panel (vertical; horizontal for many categories such as districts)."""
    import matplotlib

    with matplotlib.rc_context(_style()):
        return _bars(panels, columns, horizontal)


def _bars(panels: list[Panel], columns: int, horizontal: bool) -> bytes:
    fig, axes = _figure(len(panels), columns, 7.2, 2.3 if not horizontal else 3.0, left=0.8 if horizontal else 0.45)
    names = list(dict.fromkeys(n for p in panels for n in p.series))
    colour = {n: COLOURS[(i + (len(names) == 1)) % len(COLOURS)] for i, n in enumerate(names)}
    for ax, panel in zip(axes, panels, strict=True):
        draw = ax.barh if horizontal else ax.bar
        if len(panel.categories) == 1 and len(panel.series) > 1:  # one figure: a bar per series, side by side
            series = list(panel.series)
            drawn = draw(range(len(series)), _values([v[0] for v in panel.series.values()]), 0.55,
                         color=[colour[n] for n in series])
            ax.bar_label(drawn, labels=[panel.labels.get(n, [""])[0] for n in series], fontsize=6, padding=1)
            ticks = series
            ax.set_title(_wrap(panel.categories[0] + panel.title, columns), fontsize=8)
        else:
            width = 0.8 / len(panel.series)
            for i, (name, values) in enumerate(panel.series.items()):
                pos = [j + (i - (len(panel.series) - 1) / 2) * width for j in range(len(panel.categories))]
                drawn = draw(pos, _values(values), width, color=colour[name])
                if panel.labels.get(name):
                    ax.bar_label(drawn, labels=panel.labels[name], fontsize=5 if len(pos) > 4 else 6, padding=1)
            ticks = panel.categories
            ax.set_title(_wrap(panel.title, columns), fontsize=8)
        if horizontal:
            ax.set_yticks(range(len(ticks)), ticks)
            ax.invert_yaxis()
            ax.margins(x=0.18)
        else:
            crowded = len(ticks) > 3
            ax.set_xticks(range(len(ticks)), ticks, rotation=40 if crowded else 0, ha="right" if crowded else "center",
                          fontsize=6 if crowded else 7)
            ax.margins(y=0.18)
        ax.spines[["top", "right"]].set_visible(False)
    if len(names) > 1:
        from matplotlib.patches import Patch

        fig.legend(handles=[Patch(color=colour[n], label=n) for n in names], loc="outside upper center",
                   ncols=len(names), frameon=False)
    return _png(fig)


def lines(panels: list[Panel], *, columns: int = 2) -> bytes:
    """Lines per panel over its categories (e.g. months), with the notes written under the axis."""
    import matplotlib

    with matplotlib.rc_context(_style()):
        return _lines(panels, columns)


def _lines(panels: list[Panel], columns: int) -> bytes:
    fig, axes = _figure(len(panels), columns, 7.2, 2.6)
    for ax, panel in zip(axes, panels, strict=True):
        x = list(range(len(panel.categories)))
        for i, (name, values) in enumerate(panel.series.items()):
            ax.plot(x, _values(values), marker="o", markersize=3, label=name, color=COLOURS[(i + 1) % len(COLOURS)])
            for xi, text, v in zip(x, panel.labels.get(name, []), values, strict=False):
                if v is not None and text:
                    ax.annotate(text, (xi, v), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=6)
        categories = [f"{c}\n{n}" for c, n in zip(panel.categories, panel.notes, strict=True)] if panel.notes \
            else panel.categories
        ax.set_xticks(x, categories, fontsize=6)
        ax.set_title(_wrap(panel.title, columns), fontsize=8)
        ax.margins(y=0.2)
        if all(v is None or v >= 0 for values in panel.series.values() for v in values):
            ax.set_ylim(bottom=0)
        ax.spines[["top", "right"]].set_visible(False)
        if len(panel.series) > 1:
            ax.legend(fontsize=6, frameon=False)
    return _png(fig)
