"""The annual figures in the bureau's words: one Chinese sentence per figure or figure pair.

Precision and sentence patterns are data, one row per figure in ``schemas/figure_text.csv``:

- ``decimals`` / ``change_decimals``: the most decimals written (trailing zeros are dropped, as the
  bureau writes 2418.9万元 and 同比改善3%); ``rounding`` ``floor`` for a value stated as a floor
  (率达到60%以上), else half up;
- ``template``: the sentence, with ``{value}`` (number and unit), ``{change}`` (the change clause,
  empty without a previous value), ``{dimension}`` (its registry name, e.g. 鄱阳湖南昌湖区) and
  ``{value:FIGURE}`` / ``{change:FIGURE}`` for another figure of the same scope and dimension; a
  part in ``[...]`` is left out when a value in it is missing. An empty template means the figure is
  stated in another figure's sentence (a completion pair: 需整治…个，已完成整治…个);
- ``up`` / ``down`` / ``flat``: the change clause's words (concentrations 上升/改善, rates in
  个百分点 上升/下降, counts and money 增加·增长/减少, an unchanged value 持平);
- ``large``: ``10000:亿元`` writes a value of at least 10000 divided by 10000 in 亿元 (11500万元 is 1.15亿元,
  2440万元 stays so); ``zero``: the sentence written instead when the value is 0 at its precision
  (超标地块0宗 reads 评审地块均未出现超标);
- ``section``, ``source`` (the form, or ``form.field``, a figure is computed from) and ``charts``
  (``yoy``, ``districts``, ``monthly``) place it in the report.

A figure without a row gets a generic sentence from the catalogue's name (:func:`text_for`).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from ecostat.contract.registry import REGISTRY_DIR, registry

TEXT_FILE = Path(__file__).resolve().parents[3] / "schemas" / "figure_text.csv"
OTHER_SECTION = "其他指标"
GENERIC_DECIMALS = 2
CHANGE_UNITS = {"%": "%", "pp": "个百分点"}
MISSING = "—"
_PLACEHOLDER = re.compile(r"\{(value|change|dimension)(?::([A-Za-z0-9_.]+))?\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


@dataclass(frozen=True)
class FigureText:
    """How one figure is written (a row of ``schemas/figure_text.csv``)."""

    figure: str
    section: str
    decimals: int
    change_decimals: int
    rounding: str
    unit_text: str
    template: str
    up: str
    down: str
    flat: str
    source: str
    charts: frozenset[str]
    large: tuple[float, str] | None = None  # (factor, unit): values ≥ factor written ÷ factor in that unit
    zero: str = ""  # the template when the value is 0 at its precision

    @property
    def form(self) -> str:
        """The form the figure is computed from."""
        return self.source.split(".")[0]

    @property
    def field(self) -> str | None:
        """The summed field, for a figure that is a sum of one field."""
        return self.source.split(".")[1] if "." in self.source else None

    def referenced(self) -> set[str]:
        """The other figures its template states."""
        return {m.group(2) for m in _PLACEHOLDER.finditer(self.template + self.zero) if m.group(2)}

    def is_zero(self, value: Any) -> bool:
        """Whether ``value`` is written as 0 at this figure's precision."""
        number = finite(value)
        return number is not None and format_number(number, self.decimals, self.rounding) == "0"


@cache
def figure_texts() -> dict[str, FigureText]:
    """Every row of ``schemas/figure_text.csv``, keyed by figure code."""
    with open(TEXT_FILE, encoding="utf-8", newline="") as fh:
        return {r["figure"]: FigureText(
            r["figure"], r["section"], int(r["decimals"]), int(r["change_decimals"]), r["rounding"] or "half_up",
            r["unit_text"], r["template"], r["up"], r["down"], r["flat"], r["source"],
            frozenset(r["charts"].split()), _large(r.get("large") or ""), r.get("zero") or "")
            for r in csv.DictReader(fh)}


def _large(text: str) -> tuple[float, str] | None:
    """``10000:亿元`` → (10000.0, "亿元"); empty → None."""
    if not text:
        return None
    factor, _, unit = text.partition(":")
    return float(factor), unit


def text_for(figure: str, name_zh: str, unit: str) -> FigureText:
    """The figure's row, or a generic one for a figure the file does not know yet."""
    known = figure_texts().get(figure)
    if known is not None:
        return known
    return FigureText(figure, OTHER_SECTION, GENERIC_DECIMALS, GENERIC_DECIMALS, "half_up", unit,
                      f"{{dimension}}{name_zh}为{{value}}{{change}}", "上升", "下降", "持平", "", frozenset())


def missing_texts(figures: list[str]) -> list[str]:
    """The figures (e.g. of the catalogue) that have no row in the file."""
    return [f for f in figures if f not in figure_texts()]


def format_number(value: float, decimals: int, rounding: str = "half_up") -> str:
    """``value`` with at most ``decimals`` decimals, trailing zeros dropped (``2418.9``, ``3``)."""
    if value is None or not math.isfinite(value):
        return MISSING
    exact = Decimal(repr(float(value))).quantize(Decimal("1e-9"), ROUND_HALF_UP)  # float noise off first
    rounded = exact.quantize(Decimal(1).scaleb(-decimals), ROUND_FLOOR if rounding == "floor" else ROUND_HALF_UP)
    text = f"{rounded:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def finite(value: Any) -> float | None:
    """A cell of a figures frame as a finite float, or None (missing, NaN, not a number)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_value(value: Any, text: FigureText, unit: str) -> str:
    """The value as the report writes it, with its unit (``32微克/立方米``, ``92.1%``)."""
    number = finite(value)
    if number is None:
        return MISSING
    if text.large is not None and abs(number) >= text.large[0]:
        return format_number(number / text.large[0], text.decimals, text.rounding) + text.large[1]
    return format_number(number, text.decimals, text.rounding) + (text.unit_text or unit)


def change_clause(change: Any, change_unit: str, text: FigureText, unit: str) -> str:
    """``，同比改善3%`` / ``，同比下降0.2个百分点`` / ``，同比持平``; empty without a previous value."""
    number = finite(change)
    if number is None:
        return ""
    amount = format_number(abs(number), text.change_decimals)
    if amount == "0":
        return f"，同比{text.flat}"
    word = text.up if number > 0 else text.down
    suffix = CHANGE_UNITS.get(change_unit, text.unit_text if change_unit == unit else change_unit)
    return f"，同比{word}{amount}{suffix}"


@cache
def _dimensions() -> dict[str, tuple[str, int]]:
    """Every code of the registries of values: its name and its place in its registry."""
    out: dict[str, tuple[str, int]] = {}
    for path in sorted(REGISTRY_DIR.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            header = next(csv.reader(fh), [])
        if header[:3] == ["code", "name", "aliases"]:  # registries of values (not of rules)
            for i, e in enumerate(registry(path.stem).entries):
                out.setdefault(e.code, (e.name, i))
    return out


def dimension_key(dimension: object) -> str | None:
    """A frame's dimension cell as a code, or None (pandas gives NaN for a missing one)."""
    return None if dimension is None or (isinstance(dimension, float) and math.isnan(dimension)) else str(dimension)


def dimension_name(dimension: object) -> str:
    """A dimension code's Chinese name from the registries (``poyang_nanchang`` → 鄱阳湖南昌湖区)."""
    key = dimension_key(dimension)
    return "" if key is None else _dimensions().get(key, (key, 0))[0]


def in_registry_order(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with each figure's dimensions in their registry's order (赣江, 抚河, …; 历次 before 第三轮)."""
    first = {f: i for i, f in reversed(list(enumerate(frame["figure"])))}
    order = [(first[f], _dimensions().get(k, ("", -1))[1] if (k := dimension_key(d)) else -1, k or "")
             for f, d in zip(frame["figure"], frame["dimension"], strict=True)]
    return frame.iloc[sorted(range(len(frame)), key=order.__getitem__)].reset_index(drop=True)


@dataclass(frozen=True)
class Sentence:
    """One sentence of the report, with the figures it states."""

    section: str
    text: str
    figures: tuple[str, ...]
    dimension: str | None


def _render(template: str, row: Any, rows: dict[tuple[str, str | None], Any]) -> tuple[str, bool]:
    """The template filled in from ``row`` and, for ``{…:FIGURE}``, the same dimension's other rows;
    the flag says whether a value was missing."""
    missing = False

    def fill(m: re.Match[str]) -> str:
        nonlocal missing
        kind, other = m.group(1), m.group(2)
        if kind == "dimension":
            return dimension_name(row.dimension)
        target = rows.get((other, dimension_key(row.dimension))) if other else row
        if kind == "change":
            if target is None:
                return ""
            t = text_for(target.figure, target.name_zh, target.unit)
            return change_clause(target.change, target.change_unit, t, target.unit)
        if target is None or finite(target.value) is None:
            missing = True
            return MISSING
        return format_value(target.value, text_for(target.figure, target.name_zh, target.unit), target.unit)

    return _PLACEHOLDER.sub(fill, template), missing


def sentence(row: Any, rows: dict[tuple[str, str | None], Any]) -> Sentence | None:
    """The sentence a figure's row opens (None when another figure's sentence states it)."""
    text = text_for(row.figure, row.name_zh, row.unit)
    if not text.template:
        return None
    template = text.zero if text.zero and text.is_zero(row.value) else text.template

    def optional(m: re.Match[str]) -> str:
        part, missing = _render(m.group(1), row, rows)
        return "" if missing else part

    body, _ = _render(_OPTIONAL.sub(optional, template), row, rows)
    return Sentence(text.section, body + "。", (row.figure, *sorted(text.referenced())), dimension_key(row.dimension))


def sentences(frame: pd.DataFrame) -> list[Sentence]:
    """The sentences of one scope's figures (a frame of ``annual_figures`` rows, in catalogue order)."""
    frame = in_registry_order(frame)
    rows = {(r.figure, dimension_key(r.dimension)): r for r in frame.itertuples(index=False)}
    return [s for r in frame.itertuples(index=False) if (s := sentence(r, rows)) is not None]


EXTRA_DECIMALS = 4  # the most decimals a value gets beyond its own so that its change adds up


def _number(text: str) -> Decimal:
    return Decimal(text)


def _adds_up(value: Decimal, previous: Decimal, change: str, change_unit: str, change_decimals: int) -> bool:
    """Whether the change written equals the change of the values written: exactly for a difference, at
    the change's precision for a relative change (``%``)."""
    if change_unit == "%":
        return bool(previous) and format_number(float((value - previous) / previous * 100), change_decimals) == change
    return value - previous == _number(change)


def shown(value: Any, previous: Any, change: Any, change_unit: str, text: FigureText) -> tuple[str, str, str]:
    """A row's value, previous value and change as a table writes them, at precisions that agree: the
    change shown is the difference of the values shown (or, for a relative change, the change of the values
    shown at its precision). The values get the decimals this needs (93 | 90 | 2.8 pp becomes
    93.6 | 90.8 | 2.8 pp), set half up if their floor does not add up; where no precision does, the change
    is the difference of the values written. The one place the tables' precision is decided (the DuckDB
    view keeps the unrounded values)."""
    v, p, c = finite(value), finite(previous), finite(change)
    if v is None or p is None or c is None:
        return (format_number(v, text.decimals, text.rounding) if v is not None else "",
                format_number(p, text.decimals, text.rounding) if p is not None else "",
                format_number(c, text.change_decimals) if c is not None else "")
    target = format_number(c, text.change_decimals)
    for d in range(text.decimals, max(text.decimals, text.change_decimals) + EXTRA_DECIMALS + 1):
        for rounding in dict.fromkeys((text.rounding, "half_up")):
            v_text, p_text = format_number(v, d, rounding), format_number(p, d, rounding)
            if _adds_up(_number(v_text), _number(p_text), target, change_unit, text.change_decimals):
                return v_text, p_text, target
    d = max(text.decimals, text.change_decimals)
    v_text, p_text = format_number(v, d, text.rounding), format_number(p, d, text.rounding)
    if change_unit == "%":
        return v_text, p_text, target
    return v_text, p_text, format_number(float(_number(v_text) - _number(p_text)), d)


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's value, previous value and change as text at precisions that agree (:func:`shown`)."""
    out = frame.copy()
    texts = [shown(r.value, r.previous_value, r.change, r.change_unit, text_for(r.figure, r.name_zh, r.unit))
             for r in frame.itertuples(index=False)]
    for i, column in enumerate(("value", "previous_value", "change")):
        out[column] = [t[i] for t in texts]
    return out
