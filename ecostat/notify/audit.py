"""The Great Expectations audit of the warehouse for one year, with Data Docs.

Frames are pulled from DuckDB through Arrow and validated as GX pandas batches (GX's SQL datasource
does not work with DuckDB). What is expected comes from data files: which units must report which form
(``report_obligations.csv``), plausible district values and year-over-year jumps (``plausibility.csv``),
and which city figures may not exceed which (``figure_pairs.csv``). Error-level expectations are GX
``critical``; plausibility ones are ``warning``. Results go to ``meta_audit_results`` (an ingest run's
audit journals them beside the warehouse first, :mod:`ecostat.notify.audit_journal`); Data Docs to
``<warehouse dir>/docs/``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ecostat.common import environment
from ecostat.contract.forms import FORMS
from ecostat.contract.normalize import text_key
from ecostat.contract.obligations import obligations
from ecostat.contract.operator_settings import Settings
from ecostat.contract.registry import CITY, header_units, registry
from ecostat.notify.alerts import Alert, record

SITE = "ecostat"
SUMMARY_PAGE = "audit.html"


@dataclass
class Check:
    """One expectation's outcome."""

    suite: str
    expectation: str
    column: str | None
    severity: str  # error | warning
    success: bool
    details: dict[str, Any]


@dataclass
class AuditResult:
    """The outcome of an audit."""

    audit_id: str
    year: int
    checks: list[Check]
    docs: Path | None = None

    @property
    def failed_errors(self) -> list[Check]:
        """Error-level expectations that failed."""
        return [c for c in self.checks if c.severity == "error" and not c.success]

    @property
    def failed_warnings(self) -> list[Check]:
        """Warning-level expectations that failed."""
        return [c for c in self.checks if c.severity == "warning" and not c.success]

    def text(self) -> str:
        """A summary, Chinese first, listing each failed expectation."""
        ok = sum(c.success for c in self.checks)
        errors, warnings = len(self.failed_errors), len(self.failed_warnings)
        lines = [f"{self.year} 年数据审计：期望 {len(self.checks)} 项，通过 {ok} 项，"
                 f"错误 {errors} 项，警告 {warnings} 项。",
                 f"audit {self.audit_id} of {self.year}: {len(self.checks)} expectations, {ok} passed, "
                 f"{errors} errors, {warnings} warnings."]
        for c in self.failed_errors + self.failed_warnings:
            shown = c.details.get("unexpected") or c.details.get("observed_value")
            lines.append(f"  {'错误 ERROR' if c.severity == 'error' else '警告 warning'} {c.suite}: {c.expectation}"
                         f"({c.column or ''}) — {json.dumps(shown, ensure_ascii=False, default=str)[:300]}")
        if self.docs:
            lines.append(f"Data Docs: {self.docs / 'index.html'} (offline summary: {self.docs / SUMMARY_PAGE})")
        return "\n".join(lines)


# ---------------------------------------------------------------- frames

def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pd.DataFrame:
    table = con.sql(sql, params=params).to_arrow_table()
    assert table is not None
    return table.to_pandas()


def completeness_frame(con: duckdb.DuckDBPyConnection, year: int) -> tuple[pd.DataFrame, list[str]]:
    """Every (unit, form) that must be reported, and the ones present: a current row of the year whose
    unit is that unit or whose file was submitted by it (the city reports sections for the districts)."""
    present: set[str] = set()
    for form in FORMS.values():
        rows = con.execute(f"""SELECT DISTINCT unit_code, split_part(file, '/', 1) FROM "{form.table}"
                               WHERE is_current AND year = ?""", [year]).fetchall()
        present.update(f"{u} {form.code}" for pair in rows for u in pair)
    required = [f"{u} {form}" for form, units in obligations().items() for u in units]
    names = {e.code: e.name for e in registry("units").entries}
    frame = pd.DataFrame({"report": required,
                          "unit_name": [names[r.split()[0]] for r in required],
                          "form_zh": [FORMS[r.split()[1]].zh for r in required]})
    return frame, sorted(r for r in present if r in set(required))


def current_rows_frame(con: duckdb.DuckDBPyConnection, year: int) -> pd.DataFrame:
    """One row per current fact row of the year: its form, slice and key."""
    parts = []
    for form in FORMS.values():
        key = " || '|' || ".join([f'coalesce(CAST("{k}" AS VARCHAR), \'\')' for k in form.key]) or "''"
        parts.append(_frame(con, f"""SELECT '{form.code}' AS form, unit_code, period, submission_id,
                                     '{form.code}|' || unit_code || '|' || period || '|' || {key} AS row_key,
                                     '{form.code}|' || unit_code || '|' || period AS slice_key
                                     FROM "{form.table}" WHERE is_current AND year = ?""", [year]))
    return pd.concat(parts, ignore_index=True)


def final_rows(con: duckdb.DuckDBPyConnection, form: str, year: int, fields: list[str]) -> pd.DataFrame:
    """The rows of each district's final report of ``form`` for ``year``."""
    table = FORMS[form].table
    cols = ", ".join(f'f."{c}"' for c in fields)
    return _frame(con, f"""SELECT f.unit_code, f.period, {cols} FROM "{table}" f
                           JOIN core_final_reports r ON r.form = ? AND r.unit_code = f.unit_code
                            AND r.year = f.year AND r.period = f.period
                           WHERE f.is_current AND f.year = ? AND f.unit_code <> ?
                           ORDER BY f.unit_code""", [form, year, CITY])


def jumps_frame(con: duckdb.DuckDBPyConnection, form: str, year: int, fields: list[str]) -> pd.DataFrame:
    """Per district: each field summed over its final report, this year against last, as a % change."""
    now = final_rows(con, form, year, fields).groupby("unit_code")[fields].sum()
    before = final_rows(con, form, year - 1, fields).groupby("unit_code")[fields].sum()
    both = now.join(before, rsuffix="_previous", how="inner")
    out = pd.DataFrame(index=both.index)
    for f in fields:
        prev = both[f"{f}_previous"].astype(float)
        out[f"{f}_jump_pct"] = (both[f].astype(float) - prev) / prev.where(prev != 0) * 100
    return out.reset_index()


def city_figures_frame(con: duckdb.DuckDBPyConnection, year: int) -> pd.DataFrame:
    """The city figures of the year, with the fraction of each count (a figure in a counting word of
    ``header_units.csv``), the value of each rate (0–100) and of each reduction (at most 100; below 0 when
    the quantity grew)."""
    frame = _frame(con, "SELECT a.figure, coalesce(a.dimension, '') AS dimension, a.value, a.unit, c.kind "
                        "FROM annual_figures a JOIN meta_figure_catalogue c USING (figure) "
                        "WHERE a.year = ? AND a.scope = ? ORDER BY a.figure, dimension", [year, CITY])
    counting = set(header_units()["count"])
    frame["count_fraction"] = (frame["value"] % 1).where(frame["unit"].map(text_key).isin(counting))
    percent = (frame["unit"] == "%")
    frame["rate"] = frame["value"].where(percent & (frame["kind"] != "reduction"))
    frame["reduction"] = frame["value"].where(percent & (frame["kind"] == "reduction"))
    return frame


def figure_pairs_frame(city: pd.DataFrame) -> pd.DataFrame:
    """For each pair of ``figure_pairs.csv`` and dimension: the larger and the smaller figure."""
    rows = []
    for e in registry("figure_pairs").entries:
        big = city[city["figure"] == e.get("larger")].set_index("dimension")["value"]
        small = city[city["figure"] == e.get("smaller")].set_index("dimension")["value"]
        for dim in big.index.intersection(small.index):
            rows.append({"check": e.code, "check_zh": e.name, "dimension": dim,
                         "larger": float(big[dim]), "smaller": float(small[dim])})
    return pd.DataFrame(rows, columns=["check", "check_zh", "dimension", "larger", "smaller"])


def bounds() -> dict[str, list[tuple[str, float, float, float | None]]]:
    """Per form: (field, min, max, max jump %) from ``plausibility.csv``."""
    out: dict[str, list[tuple[str, float, float, float | None]]] = {}
    for e in registry("plausibility").entries:
        form, fld = e.code.split(".")
        jump = e.get("max_jump_pct")
        out.setdefault(form, []).append((fld, float(e.get("min")), float(e.get("max")),
                                         float(jump) if jump else None))
    return out


# ---------------------------------------------------------------- GX

def plan(con: duckdb.DuckDBPyConnection, year: int) -> list[tuple[str, pd.DataFrame, list[Any], list[str]]]:
    """Every batch to validate: (name, frame, expectations, columns naming an unexpected row)."""
    environment.apply()
    import great_expectations.expectations as gxe
    from great_expectations.expectations.metadata_types import FailureSeverity

    critical, warning = FailureSeverity.CRITICAL, FailureSeverity.WARNING
    completeness, present = completeness_frame(con, year)
    current = current_rows_frame(con, year)
    slices = current.drop_duplicates(["slice_key", "submission_id"])[["form", "unit_code", "period", "slice_key"]]
    city = city_figures_frame(con, year)
    batches: list[tuple[str, pd.DataFrame, list[Any], list[str]]] = [
        ("completeness", completeness,
         [gxe.ExpectColumnValuesToBeInSet(column="report", value_set=present, severity=critical,
                                          meta={"notes": "每个应报单位都有本年度每张报表的最终报告"})], ["report"]),
        ("current_rows", current, [gxe.ExpectColumnValuesToBeUnique(column="row_key", severity=critical)],
         ["row_key"]),
        ("current_slices", slices.reset_index(drop=True),
         [gxe.ExpectColumnValuesToBeUnique(column="slice_key", severity=critical)], ["slice_key"]),
        ("city_figures", city,
         [gxe.ExpectColumnValuesToBeBetween(column="count_fraction", min_value=0, max_value=0, severity=critical),
          gxe.ExpectColumnValuesToBeBetween(column="rate", min_value=0, max_value=100, severity=critical),
          gxe.ExpectColumnValuesToBeBetween(column="reduction", max_value=100, severity=critical)],
         ["figure", "dimension"]),
        ("city_figure_pairs", figure_pairs_frame(city),
         [gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="larger", column_B="smaller", or_equal=True,
                                                      severity=critical)], ["check", "dimension"]),
    ]
    for form, limits in bounds().items():
        fields = [f for f, *_ in limits]
        batches.append((f"district_{form}", final_rows(con, form, year, fields),
                        [gxe.ExpectColumnValuesToBeBetween(column=f, min_value=lo, max_value=hi, severity=warning)
                         for f, lo, hi, _ in limits], ["unit_code"]))
        jumps = [(f, j) for f, _, _, j in limits if j is not None]
        if jumps:
            batches.append((f"jumps_{form}", jumps_frame(con, form, year, [f for f, _ in jumps]),
                            [gxe.ExpectColumnValuesToBeBetween(column=f"{f}_jump_pct", min_value=-j, max_value=j,
                                                               severity=warning) for f, j in jumps], ["unit_code"]))
    return batches


def clear_docs(docs: Path) -> None:
    """Remove the Data Docs an earlier audit built (only what GX writes), so the site shows this audit."""
    for sub in ("expectations", "validations", "static"):
        if (docs / sub).is_dir():
            shutil.rmtree(docs / sub)
    for page in ("index.html", SUMMARY_PAGE):
        (docs / page).unlink(missing_ok=True)


def _context(docs: Path | None) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX sets this logger to INFO on import; its lines are noise in a run summary
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if docs is not None:
        ctx.add_data_docs_site(SITE, {
            "class_name": "SiteBuilder", "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)}})
    return ctx


def run_audit(con: duckdb.DuckDBPyConnection, year: int, docs: Path | None = None) -> AuditResult:
    """Validate the warehouse's ``year``; build Data Docs into ``docs`` (replacing what was there) when given.

    The results are returned, not stored: see :func:`store_results`.
    """
    environment.apply()
    import great_expectations as gx

    audit_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
    batches = plan(con, year)
    if docs is not None:
        clear_docs(docs)
    ctx = _context(docs)
    source = ctx.data_sources.add_pandas("warehouse")
    checks: list[Check] = []
    for name, frame, expectations, id_columns in batches:
        suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
        definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("current")
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(data=definition, suite=suite, name=name))
        checkpoint = ctx.checkpoints.add(gx.Checkpoint(
            name=f"audit_{name}", validation_definitions=[vd], actions=[],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": id_columns}))
        outcome = checkpoint.run(batch_parameters={"dataframe": frame})
        for result in outcome.run_results.values():
            checks.extend(_check(name, r) for r in result.results)
    audit = AuditResult(audit_id, year, checks, docs)
    if docs is not None:  # once for every suite: a checkpoint's docs action rebuilds the whole site each time
        ctx.build_data_docs(site_names=[SITE])
        write_summary_page(audit, docs)
    return audit



def write_summary_page(result: AuditResult, docs: Path) -> Path:
    """A self-contained page of every expectation's outcome, linking each suite's GX validation page.

    GX's own ``index.html`` builds its list with scripts from public CDNs, so it stays empty on a
    machine without internet access; this page needs nothing but the files beside it.
    """
    pages = {p.parts[len(docs.parts) + 1]: p.relative_to(docs).as_posix()
             for p in sorted((docs / "validations").rglob("*.html"))} if (docs / "validations").is_dir() else {}
    rows = []
    for c in sorted(result.checks, key=lambda c: (c.success, c.severity != "error", c.suite)):
        status = "通过 passed" if c.success else ("错误 ERROR" if c.severity == "error" else "警告 warning")
        shown = c.details.get("unexpected") or c.details.get("observed_value")
        detail = json.dumps(shown, ensure_ascii=False, default=str)[:300] if shown else ""
        link = f'<a href="{html.escape(pages[c.suite])}">{html.escape(c.suite)}</a>' if c.suite in pages else \
            html.escape(c.suite)
        rows.append(f"<tr class=\"{'ok' if c.success else c.severity}\"><td>{status}</td><td>{link}</td>"
                    f"<td>{html.escape(c.expectation)}</td><td>{html.escape(c.column or '')}</td>"
                    f"<td>{html.escape(detail)}</td></tr>")
    page = f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>ecostat {result.year} 数据审计 audit</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;
padding:4px 8px;text-align:left}}tr.error td{{background:#fdd}}tr.warning td{{background:#ffd}}</style></head><body>
<h1>{result.year} 年数据审计 · audit {html.escape(result.audit_id)}</h1>
<p>{html.escape(result.text().splitlines()[0])}<br>{html.escape(result.text().splitlines()[1])}</p>
<table><tr><th>结果 result</th><th>套件 suite</th><th>期望 expectation</th><th>列 column</th><th>明细 details</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""
    path = docs / SUMMARY_PAGE
    path.write_text(page, encoding="utf-8")
    return path


def _check(suite: str, r: Any) -> Check:
    cfg = r.expectation_config
    kwargs = cfg.kwargs
    column = kwargs.get("column") or (f"{kwargs['column_A']},{kwargs['column_B']}" if "column_A" in kwargs else None)
    res = r.result or {}
    details: dict[str, Any] = {"kwargs": {k: v for k, v in kwargs.items() if k not in ("value_set", "batch_id")}}
    if res.get("unexpected_index_list"):
        details["unexpected"] = res["unexpected_index_list"][:200]
    elif res.get("unexpected_list"):
        details["unexpected"] = res["unexpected_list"][:200]
    if "observed_value" in res:
        details["observed_value"] = res["observed_value"]
    if r.exception_info and r.exception_info.get("raised_exception"):
        details["exception"] = str(r.exception_info.get("exception_message"))[:500]
    severity = "warning" if str(getattr(cfg.severity, "value", cfg.severity)) == "warning" else "error"
    return Check(suite, cfg.type, column, severity, bool(r.success), json.loads(json.dumps(details, default=str)))


def store_results(con: duckdb.DuckDBPyConnection, result: AuditResult, run_id: str | None = None,
                  at: dt.datetime | None = None) -> None:
    """Write every expectation's outcome to ``meta_audit_results``, audited ``at`` (default: now)."""
    now = at or dt.datetime.now(dt.UTC)
    con.executemany("INSERT INTO meta_audit_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[result.audit_id, run_id, result.year, now, c.suite, c.expectation, c.column, c.severity,
                      c.success, json.dumps(c.details, ensure_ascii=False)] for c in result.checks])


def docs_dir(warehouse: Path) -> Path:
    """Where an audit's Data Docs go: ``docs/`` beside the warehouse file."""
    return warehouse.resolve().parent / "docs"


def audit_year(con: duckdb.DuckDBPyConnection) -> int | None:
    """The year an ingest run audits: the latest with an annual report, else the latest with any report."""
    row = con.execute("""SELECT coalesce(max(year) FILTER (WHERE period = CAST(year AS VARCHAR)), max(year))
                         FROM core_final_reports""").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def failure_alert(result: AuditResult, run_id: str | None = None) -> Alert | None:
    """The operator's alert for failed error-level expectations; the key repeats while the failures do,
    so an unchanged failure is alerted once."""
    failed = result.failed_errors
    if not failed:
        return None
    listed = [f"{c.suite}: {c.expectation}({c.column or ''}) — "
              f"{json.dumps(c.details.get('unexpected') or c.details.get('observed_value'), ensure_ascii=False)[:300]}"
              for c in failed]
    digest = hashlib.sha256(json.dumps(listed, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]
    docs = f"{result.docs / 'index.html'}" if result.docs else "（未生成 not built）"
    body = "\n".join([f"{result.year} 年数据审计未通过：{len(failed)} 项错误级期望失败。",
                      *(f"{i}. {line}" for i, line in enumerate(listed, 1)),
                      f"数据文档 Data Docs：{docs}", "",
                      f"Audit {result.audit_id} of {result.year}: {len(failed)} error-level expectations failed."])
    return Alert(f"audit_failed:{result.year}:{digest}", "audit_failed",
                 f"【ecostat】数据审计未通过 audit failed：{result.year}", body, None, None, run_id)


def audit_and_alert(con: duckdb.DuckDBPyConnection, year: int, docs: Path | None, options: Settings,
                    run_id: str | None = None) -> AuditResult:
    """Audit ``year``, store the results and record the alert of an error-level failure (if the settings ask)."""
    result = run_audit(con, year, docs)
    store_results(con, result, run_id)
    alert = failure_alert(result, run_id)
    if alert and options.on_audit_failure:
        record(con, [alert], options)
    return result


def crash_alert(year: int, run_id: str, error: str) -> Alert:
    """The operator's alert that the audit itself broke (not that data failed it)."""
    return Alert(f"audit_crashed:{run_id}", "audit_failed", f"【ecostat】数据审计出错 audit crashed：{year}",
                 f"{year} 年数据审计运行出错，未得出结论：\n{error[:1500]}\n\n"
                 f"The audit of {year} crashed in run {run_id}; no verdict was reached:\n{error[:1500]}",
                 None, None, run_id, operator_only=True)
