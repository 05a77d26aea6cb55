"""The year's data report for the writers of the bureau's annual work summary: a ``.docx`` for the office
(GB/T 9704 layout, edited in WPS or Word) and a PDF of the same content for circulation.

One context (:class:`ReportContext`, built by :func:`report_context`) feeds both: the Chinese sentences
of :mod:`ecostat.publish.annual.phrasing`, district tables of the figures, the charts of
:mod:`ecostat.publish.annual.charts`, and an appendix tracing each figure to the submissions it came from.
The figures are those ``annual_figures`` serves (certified for a certified year) or, with ``live``, the values
the current reports give; the report says which.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

from ecostat.common.progress import FileProgress
from ecostat.contract.forms import FORMS
from ecostat.contract.registry import CITY, registry
from ecostat.publish.annual import charts
from ecostat.publish.annual.basis import basis, chinese_date
from ecostat.publish.annual.context import (
    SOURCE_HEADER,
    Chart,
    ChartData,
    NoFigures,
    ReportContext,
    Section,
    Source,
    Table,
    chinese_number,
)
from ecostat.publish.annual.phrasing import (
    CHANGE_UNITS,
    dimension_key,
    dimension_name,
    finite,
    format_number,
    in_registry_order,
    missing_texts,
    rounded,
    sentences,
    text_for,
)
from ecostat.store.figures import annual_figures

MONTHS = 12


def _shown(value: object, figure: str, name_zh: str, unit: str) -> str:
    number = finite(value)
    if number is None:
        return ""
    t = text_for(figure, name_zh, unit)
    return format_number(number, t.decimals, t.rounding)


def _unit_text(figure: str, name_zh: str, unit: str) -> str:
    return text_for(figure, name_zh, unit).unit_text or unit


def district_frames(every: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each district's (non-city unit's) figures of the year, of ``every`` unit's, in the registry's order of
    units."""
    by_scope = {scope: frame.reset_index(drop=True) for scope, frame in every.groupby("scope", sort=False)}
    return {u.code: by_scope[u.code] for u in registry("units").entries if u.code != CITY and u.code in by_scope}


def summary_table(city: pd.DataFrame, year: int) -> Table:
    """The city's figures with last year's value and the change, at each figure's precision."""
    shown = rounded(city)
    rows = []
    for r, s in zip(city.itertuples(index=False), shown.itertuples(index=False), strict=True):
        unit = _unit_text(r.figure, r.name_zh, r.unit)
        change = f"{s.change}{CHANGE_UNITS.get(r.change_unit, unit)}" if s.change else ""
        rows.append([r.name_zh, dimension_name(r.dimension), f"{s.value}", unit, f"{s.previous_value}", change])
    return Table("全市指标汇总", ["指标", "维度", f"{year}年", "单位", f"{year - 1}年", "同比变化"], rows)


def district_tables(city: pd.DataFrame, districts: dict[str, pd.DataFrame]) -> list[Table]:
    """One table per section and dimension: the districts' values of its figures, then the city's."""
    names = {u.code: u.name for u in registry("units").entries}
    values = {(u, r.figure, dimension_key(r.dimension)): r.value for u, f in districts.items()
              for r in f.itertuples(index=False)}
    groups: dict[tuple[str, str | None], list[tuple[str, str | None, str, str]]] = {}
    for r in city.itertuples(index=False):
        dim = dimension_key(r.dimension)
        if any((u, r.figure, dim) in values for u in districts):
            section = text_for(r.figure, r.name_zh, r.unit).section
            groups.setdefault((section, dim), []).append((r.figure, dim, r.name_zh, r.unit))
    city_values = {(r.figure, dimension_key(r.dimension)): r.value for r in city.itertuples(index=False)}
    tables = []
    for (section, dim), columns in groups.items():
        header = ["单位", *(f"{name}（{_unit_text(fig, name, unit)}）" for fig, _, name, unit in columns)]
        rows = [[names.get(u, u), *(_shown(values.get((u, fig, d)), fig, name, unit) for fig, d, name, unit in columns)]
                for u in districts if any((u, fig, d) in values for fig, d, _, _ in columns)]
        rows.append(["全市", *(_shown(city_values.get((fig, d)), fig, name, unit) for fig, d, name, unit in columns)])
        suffix = f"（{dimension_name(dim)}）" if dim else ""
        tables.append(Table(f"{section}分单位情况{suffix}", header, rows))
    return tables


def yoy_panels(city: pd.DataFrame, year: int) -> list[charts.Panel]:
    """One panel per figure marked ``yoy`` that has a previous value: last year's bar beside this year's."""
    panels: dict[str, charts.Panel] = {}
    for r in city.itertuples(index=False):
        t = text_for(r.figure, r.name_zh, r.unit)
        if "yoy" not in t.charts or finite(r.previous_value) is None:
            continue
        panel = panels.setdefault(r.figure, charts.Panel(
            f"{r.name_zh}（{_unit_text(r.figure, r.name_zh, r.unit)}）", [],
            {f"{year - 1}年": [], f"{year}年": []}, {f"{year - 1}年": [], f"{year}年": []}))
        panel.categories.append(dimension_name(r.dimension))
        for label, value in ((f"{year - 1}年", r.previous_value), (f"{year}年", r.value)):
            panel.series[label].append(finite(value))
            panel.labels[label].append(_shown(value, r.figure, r.name_zh, r.unit))
    return list(panels.values())


def district_panels(city: pd.DataFrame, districts: dict[str, pd.DataFrame], year: int) -> list[charts.Panel]:
    """One panel per figure (and dimension) marked ``districts``: the districts' values side by side."""
    names = {u.code: u.name for u in registry("units").entries}
    panels = []
    for r in city.itertuples(index=False):
        if "districts" not in text_for(r.figure, r.name_zh, r.unit).charts:
            continue
        dim = dimension_key(r.dimension)
        found = [(names.get(u, u), row.value) for u, f in districts.items()
                 for row in f.itertuples(index=False) if row.figure == r.figure and dimension_key(row.dimension) == dim
                 and finite(row.value) is not None]
        if found:
            label = f"{year}年"
            title = f"{dimension_name(dim)}{r.name_zh}（{_unit_text(r.figure, r.name_zh, r.unit)}）"
            panels.append(charts.Panel(title, [n for n, _ in found], {label: [float(v) for _, v in found]},
                                       {label: [_shown(v, r.figure, r.name_zh, r.unit) for _, v in found]}))
    return panels


def year_to_date(rows: list[tuple[str, int | None, float]]) -> tuple[list[float | None], list[int], list[bool]]:
    """The city's year-to-date curve from (unit, month or None for the annual report, value) rows: at each
    month the sum over units of each unit's latest report up to that month (the annual report counts as
    December's); with, per month, how many units that sum covers and whether any unit reported then."""
    by_unit: dict[str, dict[int, float]] = {}
    for unit, month, value in sorted(rows, key=lambda r: r[1] is None):  # the annual report wins December
        by_unit.setdefault(unit, {})[month or MONTHS] = value
    curve: list[float | None] = []
    covered, reported = [], []
    for m in range(1, MONTHS + 1):
        latest = [reports[max(k for k in reports if k <= m)] for reports in by_unit.values()
                  if any(k <= m for k in reports)]
        curve.append(sum(latest) if latest else None)
        covered.append(len(latest))
        reported.append(any(m in reports for reports in by_unit.values()))
    return curve, covered, reported


def monthly_rows(con: duckdb.DuckDBPyConnection, form: str, field_code: str,
                 year: int) -> list[tuple[str, int | None, float]]:
    """Each unit's current reports of a form in the year: (unit, month or None, the field's sum)."""
    spec = FORMS[form]
    column = spec.field(field_code).code  # an identifier from the form registry, never from the data
    return [(u, m, float(v)) for u, m, v in con.execute(
        f'SELECT unit_code, month, sum("{column}") FROM "{spec.table}" WHERE is_current AND year = ? '
        f'AND "{column}" IS NOT NULL GROUP BY unit_code, month', [year]).fetchall()]


def monthly_panels(con: duckdb.DuckDBPyConnection, city: pd.DataFrame, year: int) -> list[charts.Panel]:
    """One panel per summed figure marked ``monthly`` whose form has a monthly report in the year."""
    panels = []
    for figure, name, unit in dict.fromkeys((r.figure, r.name_zh, r.unit) for r in city.itertuples(index=False)):
        t = text_for(figure, name, unit)
        if "monthly" not in t.charts or t.field is None or t.form not in FORMS:
            continue
        rows = monthly_rows(con, t.form, t.field, year)
        if not any(month is not None for _, month, _ in rows):
            continue
        curve, covered, reported = year_to_date(rows)
        units = len({u for u, _, _ in rows})
        panels.append(charts.Panel(
            f"{name}（{_unit_text(figure, name, unit)}）", [f"{m}月" for m in range(1, MONTHS + 1)],
            {"全市累计": curve},
            {"全市累计": [_shown(v, figure, name, unit) if new else ""
                      for v, new in zip(curve, reported, strict=True)]},
            [f"{c}/{units}" if c else "" for c in covered]))
    return panels


def chart_data(con: duckdb.DuckDBPyConnection, city: pd.DataFrame, districts: dict[str, pd.DataFrame],
               year: int) -> list[ChartData]:
    """The year-over-year, districts-compared and monthly year-to-date charts (those with data)."""
    out = []
    yoy = yoy_panels(city, year)
    if yoy:
        out.append(ChartData("yoy", f"{year}年主要指标与上年对比", "bars", yoy, 4))
    compared = district_panels(city, districts, year)
    if compared:
        out.append(ChartData("districts", f"{year}年各单位指标对比", "hbars", compared, 2))
    monthly = monthly_panels(con, city, year)
    if monthly:
        out.append(ChartData("monthly", f"{year}年各月累计进度（各单位截至当月最近一期报表之和；"
                                        "横轴下方为已计入单位数/本年报送单位数）", "lines", monthly, 2))
    return [ChartData(c.name, f"图{i} {c.caption}", c.kind, c.panels, c.columns) for i, c in enumerate(out, 1)]


def report_charts(data: list[ChartData]) -> list[Chart]:
    """The charts drawn as PNG."""
    return [Chart(c.name, c.caption, c.png()) for c in data]


def sources(con: duckdb.DuckDBPyConnection, city: pd.DataFrame, year: int) -> list[Source]:
    """Per form: the city figures computed from it and the submissions of its final reports of the year."""
    names = {u.code: u.name for u in registry("units").entries}
    by_form: dict[str, list[str]] = {}
    for r in city.itertuples(index=False):
        form = text_for(r.figure, r.name_zh, r.unit).form
        if r.name_zh not in by_form.setdefault(form, []):
            by_form[form].append(r.name_zh)
    out = []
    for i, (form, figures) in enumerate(by_form.items(), 1):
        if form not in FORMS:
            out.append(Source(f"{i}. 来源未登记：{'、'.join(figures)}", None))
            continue
        rows = con.execute(f"""SELECT DISTINCT f.unit_code, f.period, f.file, f.sheet, f.received_at, f.sha256
                               FROM "{FORMS[form].table}" f
                               JOIN core_final_reports r ON r.form = ? AND r.unit_code = f.unit_code
                                AND r.year = f.year AND r.period = f.period
                               WHERE f.is_current AND f.year = ? ORDER BY f.received_at, f.file, f.sheet""",
                           [form, year]).fetchall()
        zh = FORMS[form].zh
        out.append(Source(f"{i}. {zh}：{'、'.join(figures)}", Table(f"附表{i} {zh}来源报表", SOURCE_HEADER, [
            [names.get(u, u), period, file + (f" [{sheet}]" if sheet else ""),
             f"{received.astimezone():%Y-%m-%d %H:%M}", sha[:12]]
            for u, period, file, sheet, received, sha in rows])))
    return out


def report_context(con: duckdb.DuckDBPyConnection, year: int, *, live: bool = False,
                   now: dt.datetime | None = None, draw: bool = True) -> ReportContext:
    """Everything the year's report says (``NoFigures`` when the year has none); without ``draw``, no
    chart is drawn (the status site draws its own, with no font)."""
    now = now or dt.datetime.now().astimezone()
    city_name = registry("units").by_code(CITY).name
    every = annual_figures(con, year, None, live=live)  # the figures' view computed once, for every unit
    city = every[every["scope"] == CITY].reset_index(drop=True)
    if city.empty:
        raise NoFigures(year)
    city = in_registry_order(city)
    certified, basis_text = basis(con, year, live, now)
    grouped: dict[str, list[str]] = {}
    for s in sentences(city):
        grouped.setdefault(s.section, []).append(s.text)
    districts = district_frames(every)
    data = chart_data(con, city, districts, year)
    numbered = [Table(f"表{i} {t.caption}", t.header, t.rows)
                for i, t in enumerate([summary_table(city, year), *district_tables(city, districts)], 1)]
    return ReportContext(
        city=city_name, year=year, title=f"{city_name}{year}年生态环境统计数据报告",
        generated_at=chinese_date(now), live=not certified, certified=certified, basis=basis_text,
        sections=[Section(f"（{chinese_number(i)}）{h}", s) for i, (h, s) in enumerate(grouped.items(), 1)],
        summary=numbered[0], tables=numbered[1:], charts=report_charts(data) if draw else [],
        sources=sources(con, city, year),
        unphrased=missing_texts(list(dict.fromkeys(city["figure"]))), chart_data=data)


def write_report(con: duckdb.DuckDBPyConnection, year: int, out: Path, *, live: bool = False,
                 progress: FileProgress | None = None, problems: list[str] | None = None) -> list[Path]:
    """Write the report's ``.docx``, PDF and chart PNGs into ``out``; returns their paths.

    The ``.docx`` is always written. Charts that cannot be drawn (no CJK font file) are left out of it, and
    a PDF that cannot be made (no CJK font, WeasyPrint's libraries missing) is not written: each such
    reason is appended to ``problems``. ``progress`` counts the three steps (context and charts, ``.docx``,
    PDF)."""
    problems = problems if problems is not None else []
    progress = progress or FileProgress("report")
    progress.start(3)
    try:
        try:
            ctx = report_context(con, year, live=live)
        except charts.FontMissing as exc:
            problems.append(f"charts not drawn / 未绘制图表: {exc}")
            ctx = report_context(con, year, live=live, draw=False)
        chart_dir = out / "charts"
        chart_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for chart in ctx.charts:
            path = chart_dir / f"{year}_{chart.name}.png"
            path.write_bytes(chart.png)
            written.append(path)
        progress.step([])
        from ecostat.publish.annual.docx import write_docx  # python-docx: for this command alone

        written.append(write_docx(ctx, out / f"{ctx.file_stem}.docx"))
        progress.step([])
        try:
            from ecostat.publish.annual.pdf import write_pdf

            written.append(write_pdf(ctx, out / f"{ctx.file_stem}.pdf"))
        except (charts.FontMissing, OSError, ImportError) as exc:  # OSError: WeasyPrint's Pango not loadable
            problems.append(f"PDF not written / 未生成 PDF: {type(exc).__name__}: {exc}")
        progress.step([])
    finally:
        progress.close()
    return written
