"""The status site: static pages beside the warehouse (``site/index.html`` and one page per submission
with findings), rebuilt after every ingest run and by ``ecostat site``.

The pages need nothing but themselves: CSS inline, charts as inline SVG whose text the browser sets
(:mod:`ecostat.publish.svgcharts`: no font is needed to build them), no script, relative links
only, so they open from a file share. They show the latest year's figures with their charts; the
submission matrix (unit × form × period: accepted, received with warnings, rejected, missing, overdue
against ``report_obligations.csv`` and the deadlines in the settings), each rejected cell linking to
its findings and feedback workbook; the latest runs; and the audit's pages. Every text is escaped:
file names and cell values come from submitters.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb

from ecostat.contract.forms import FORMS
from ecostat.contract.labels import form_label, unit_label
from ecostat.contract.normalize import Period
from ecostat.contract.obligations import overdue, units_required
from ecostat.contract.operator_settings import Settings, load_settings
from ecostat.contract.registry import CITY, registry
from ecostat.intake import archive
from ecostat.notify.audit import SUMMARY_PAGE, audit_year
from ecostat.notify.audit_journal import journaled_audits
from ecostat.notify.delivery import journal_outcomes
from ecostat.publish.annual.build import report_context
from ecostat.publish.annual.context import NoFigures, ReportContext
from ecostat.publish.feedback import feedback_paths
from ecostat.publish.render import render
from ecostat.publish.sitestate import site_dir
from ecostat.publish.svgcharts import bars, lines
from ecostat.store.warehouse import connect, processed_receipts

log = logging.getLogger(__name__)
PAGES = "submissions"
RUNS_SHOWN = 10
FINDINGS_SHOWN = 2000
STATUS = {"accepted": "已受理", "received": "已接收·有警告", "rejected": "已退回", "missing": "未报", "overdue": "逾期",
          "": ""}


@dataclass
class Cell:
    """One (unit, form, period) of the matrix."""

    status: str  # accepted | received | rejected | missing | overdue | "" (not expected)
    href: str | None = None  # the submission's page
    note: str = ""

    @property
    def label(self) -> str:
        """The status in Chinese."""
        return STATUS[self.status]


@dataclass
class Matrix:
    """One form's statuses: a row per unit, a column per period."""

    title: str
    periods: list[str]
    rows: list[tuple[str, list[Cell]]]


@dataclass
class SubmissionPage:
    """A table (or an unreadable file) with findings: what was wrong, cell by cell."""

    submission_id: int
    file: str
    sheet: str | None
    form: str
    unit: str
    status: str
    received: str
    sha256: str
    errors: int
    warnings: int
    findings: list[dict[str, Any]] = field(default_factory=list)
    feedback_href: str | None = None
    feedback_path: str = ""

    @property
    def href(self) -> str:
        """Its address relative to the index."""
        return f"{PAGES}/{self.submission_id}.html"


def _when(value: Any) -> str:
    return f"{value.astimezone():%Y-%m-%d %H:%M}" if isinstance(value, dt.datetime) else ""


def matrices(con: duckdb.DuckDBPyConnection, settings: Settings, today: dt.date) -> list[Matrix]:
    """Per form: every unit that must report it or did, over the periods reported or due."""
    slices: dict[tuple[str, str, str], list[tuple[Any, ...]]] = defaultdict(list)
    sent: dict[tuple[str, str, str], dict[int, tuple[Any, ...]]] = defaultdict(dict)  # by submitter
    for row in con.execute("""SELECT form, unit_code, period, submission_id, status, submitter, warnings
                              FROM core_slice_versions ORDER BY submission_id""").fetchall():
        slices[row[:3]].append(row[3:])
        sent[(row[0], row[5], row[2])][row[3]] = row[3:]
    years = sorted({Period.from_label(p).year for _, _, p in slices})
    due = {(d.form, d.period): d for d in settings.deadlines}
    late = {(d.form, unit, d.period): d for d, unit in overdue(con, settings.deadlines, today)}
    out = []
    for form in FORMS:
        obliged = set(units_required(form))
        expected = {str(y) for y in years if obliged} | {p for f, p in due if f == form}
        periods = sorted({p for f, _, p in slices if f == form} | expected, key=lambda p: Period.from_label(p).order)
        rows = []
        for unit in registry("units").entries:
            cells = [_cell(slices.get((form, unit.code, p)) or list(sent[(form, unit.code, p)].values()),
                           late.get((form, unit.code, p)), unit.code in obliged and p in expected, unit.code)
                     for p in periods]
            if unit.code in obliged or any(c.status for c in cells):
                rows.append((f"{unit.name}（{unit.code}）", cells))
        if rows:
            out.append(Matrix(form_label(form), periods, rows))
    return out


def _unit_name(code: str | None) -> str:
    entry = registry("units").resolve(code) if code else None
    return entry.name if entry else str(code)


def _cell(versions: list[tuple[Any, ...]] | None, late: Any, expected: bool, unit: str) -> Cell:
    if versions:
        submission_id, status, submitter, warnings = versions[-1]
        by = f"由{_unit_name(submitter)}报送" if submitter != unit else ""
        if status == "rejected":
            earlier = "；此前报表仍有效" if any(v[1] != "rejected" for v in versions) else ""
            return Cell("rejected", f"{PAGES}/{submission_id}.html", by + earlier)
        if warnings:
            return Cell("received", f"{PAGES}/{submission_id}.html", by)
        return Cell("accepted", None, by)
    if late is not None:
        return Cell("overdue", None, f"截止 {late.due.isoformat()}")
    return Cell("missing") if expected else Cell("")


def submission_pages(con: duckdb.DuckDBPyConnection, raw: Path, site: Path) -> list[SubmissionPage]:
    """A page for every table or file with findings, with the way to its feedback workbook."""
    findings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    cursor = con.execute("""SELECT i.submission_id, i.sheet,
                                   i.column_letter || coalesce(CAST(i.row_number AS VARCHAR), '') AS cell,
                                   i.header, i.value, i.rule_id, i.severity, i.message_zh, i.message_en
                            FROM validation_issues i JOIN submission_log l USING (submission_id)
                            WHERE l.errors + l.warnings > 0
                            ORDER BY i.submission_id, i.severity, i.row_number, i.column_letter""")
    names = [d[0] for d in cursor.description]
    for row in cursor.fetchall():
        if len(findings[row[0]]) < FINDINGS_SHOWN:
            findings[row[0]].append(dict(zip(names[1:], row[1:], strict=True)))
    pages = []
    for sid, file, sheet, form, submitter, status, errors, warnings, received, sha in con.execute(
            """SELECT submission_id, file, sheet, form, submitter, status, errors, warnings, received_at, sha256
               FROM submission_log WHERE errors + warnings > 0 ORDER BY submission_id""").fetchall():
        workbook = feedback_paths(raw / "outbox", file, submitter)[0]
        href = quote(os.path.relpath(workbook, site / PAGES)) if workbook.is_file() else None
        shown = (Path(raw.name) / workbook.relative_to(raw)).as_posix()  # raw/outbox/<unit>/…
        pages.append(SubmissionPage(sid, file, sheet, form_label(form), unit_label(submitter),
                                    STATUS.get(status, status), _when(received), sha, errors, warnings,
                                    findings.get(sid, []), href, shown))
    return pages


def unplaced(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Files and tables that wrote no slice (unreadable, unrecognised, outside a unit folder, duplicates)."""
    cursor = con.execute("""SELECT submission_id, file, sheet, submitter, status, errors, warnings, received_at
                            FROM submission_log WHERE slices IS NULL OR len(slices) = 0 ORDER BY submission_id""")
    names = [d[0] for d in cursor.description]
    return [{**dict(zip(names, r, strict=True)), "unit": unit_label(r[3]), "received": _when(r[7]),
             "label": STATUS.get(r[4], r[4]), "href": f"{PAGES}/{r[0]}.html" if r[5] + r[6] else None}
            for r in cursor.fetchall()]


def reporting_rates(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The city's reporting rates (contract v3 §10) of every form and period with a due date, latest first."""
    rows = con.execute("""SELECT form, period, due, expected, received, accepted, approved, on_time, late,
                                 missing, on_time_rate
                          FROM reporting_rates WHERE is_city ORDER BY due DESC, form""").fetchall()
    names = ("form", "period", "due", "expected", "received", "accepted", "approved", "on_time", "late", "missing",
             "on_time_rate")
    return [{**dict(zip(names, r, strict=True)), "form": form_label(r[0]), "on_time_rate": f"{r[10]:.1f}%"}
            for r in rows]


def pending_receipts(con: duckdb.DuckDBPyConnection, raw: Path) -> list[dict[str, str]]:
    """Files received into the archive that no run has processed yet."""
    done = processed_receipts(con)
    return [{"file": r.file, "unit": unit_label(r.submitter), "received": _when(r.received_at)}
            for r in archive.receipts(raw / "archive") if r.receipt_id not in done]


def latest_runs(con: duckdb.DuckDBPyConnection, outcomes: dict[tuple[str, str], str],
                audits: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The latest runs with their counts, audit and alerts (delivered, pending, failed): as ``alerts``
    records them, updated by the delivery ``outcomes`` journaled since (:func:`journal_outcomes`); a run's
    audit not in ``meta_audit_results`` yet is taken from ``audits`` (:func:`journaled_audits`)."""
    cursor = con.execute("SELECT * FROM mart_run_overview ORDER BY started_at DESC LIMIT ?", [RUNS_SHOWN])
    names = [d[0] for d in cursor.description]
    runs = [{**dict(zip(names, r, strict=True)), "started": _when(r[1]), "finished": _when(r[2]),
             "alerts": {"delivered": 0, "pending": 0, "failed": 0}} for r in cursor.fetchall()]
    for run in runs:
        if not run["expectations"] and run["run_id"] in (audits or {}):
            run.update((audits or {})[run["run_id"]])
    by_id = {r["run_id"]: r for r in runs}
    for run_id, key, rid, status in con.execute(
            """SELECT run_id, alert_key, recipient_id, coalesce(status, CASE WHEN delivered THEN 'delivered'
                                                                          ELSE 'pending' END)
               FROM alerts WHERE list_contains(?, run_id)""", [list(by_id)]).fetchall():
        status = outcomes.get((key, rid), status)
        by_id[run_id]["alerts"][status if status in ("delivered", "pending") else "failed"] += 1
    return runs


def _write(path: Path, text: str) -> None:
    """Replace a page atomically: someone may have the site open on the file share (not fsync'd, unlike
    :mod:`ecostat.common.durable`'s writes: a page is rebuilt by the next run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_site(con: duckdb.DuckDBPyConnection, site: Path, raw: Path, settings: Settings | None = None,
               today: dt.date | None = None, outcomes: dict[tuple[str, str], str] | None = None,
               audits: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write the site into ``site`` (pages no longer needed are removed); returns the index page. ``outcomes``
    and ``audits``: what is journaled beside the warehouse and not folded into it yet (see :func:`rebuild`)."""
    settings = settings or load_settings(raw)
    now = dt.datetime.now().astimezone()
    year = audit_year(con)
    figures: ReportContext | None = None
    if year is not None:
        try:
            figures = report_context(con, year, now=now, draw=False)
        except NoFigures:
            figures = None
    pages = submission_pages(con, raw, site)
    docs = site.parent / "docs"  # the audit's Data Docs: docs/ beside the warehouse, as site/ is
    index = site / "index.html"
    _write(index, render(
        "site_index.html", city=registry("units").by_code(CITY).name, generated=_when(now), figures=figures,
        svg={"bars": bars, "hbars": bars, "lines": lines},
        matrices=matrices(con, settings, today or dt.date.today()), unplaced=unplaced(con),
        pending=pending_receipts(con, raw), rates=reporting_rates(con), runs=latest_runs(con, outcomes or {}, audits),
        status=STATUS,
        audit_page=f"../docs/{SUMMARY_PAGE}" if (docs / SUMMARY_PAGE).is_file() else None,
        gx_page="../docs/index.html" if (docs / "index.html").is_file() else None))
    keep = {f"{p.submission_id}.html" for p in pages}
    for page in pages:
        _write(site / PAGES / f"{page.submission_id}.html", render("site_submission.html", page=page,
                                                                  generated=_when(now)))
    for stale in (site / PAGES).glob("*.html"):
        if stale.name not in keep:
            stale.unlink()
    return index


def rebuild(warehouse: Path, raw: Path) -> Path:
    """Rebuild the site beside a published warehouse, read as it is (no lock needed); returns the index."""
    with connect(warehouse, read_only=True) as con:
        return build_site(con, site_dir(warehouse), raw, outcomes=journal_outcomes(warehouse),
                          audits=journaled_audits(warehouse))


def build_site_after_run(warehouse: Path, raw: Path) -> Path | None:
    """The rebuild at the end of an ingest run, after its deliveries; a broken build is logged, never raised."""
    try:
        return rebuild(warehouse, raw)
    except Exception as exc:
        log.warning("status site not rebuilt: %s: %s", type(exc).__name__, exc)
        return None
