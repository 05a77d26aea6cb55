"""Feedback to the reporting unit for one received file: a workbook with a copy of each submitted
table whose wrong cells are filled (red: error, yellow: warning) and carry a Chinese comment, led by a
"反馈 Feedback" sheet (status of each table, counts by severity, every finding linked to its cell and,
for an accepted table, a receipt); and a short Markdown summary fit for a chat message."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ecostat.check.types import FULL_COPY_ROWS, HEAD_ROWS
from ecostat.common.display import markdown_text
from ecostat.common.durable import fsync_dir, open_folder, write_bytes
from ecostat.common.safecell import is_formula_like, safe_text, write
from ecostat.contract.catalogue import Finding, SeverityCounts
from ecostat.contract.labels import UNASSIGNED
from ecostat.read.sheetxml import column_index
from ecostat.read.types import RawTable, Rows
from ecostat.store.outcomes import TableOutcome

if TYPE_CHECKING:  # a run whose files need no workbook does not import xlsxwriter
    import xlsxwriter
    from xlsxwriter.format import Format
    from xlsxwriter.worksheet import Worksheet

FEEDBACK_SHEET = "反馈 Feedback"
ERROR_FILL = "FFFFC7CE"
WARNING_FILL = "FFFFEB9C"
STATUS_LABELS = {
    "accepted": "接收 accepted",
    "rejected": "退回 rejected",
    "duplicate": "重复 duplicate",
    "passed": "通过（试运行，未入库） passed (dry run)",
}
MARKDOWN_FINDINGS = 5  # findings listed per table in the chat summary
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass
class TableReport(SeverityCounts):
    """What the feedback says about one table (or about a file that could not be read)."""

    sheet: str | None
    form: str | None
    status: str  # accepted, rejected, duplicate or passed (a dry run without errors)
    findings: list[Finding]
    raw: RawTable | None = None
    submission_id: int | None = None
    rows_loaded: int = 0
    slices: list[str] = field(default_factory=list)
    replaced: list[tuple[int, str]] = field(default_factory=list)  # (submission id, file)

    def receipt(self) -> str:
        """For an accepted table: what was loaded and which earlier submissions it replaced."""
        if self.status != "accepted":
            return ""
        text = f"已入库 {self.rows_loaded} 行；报告期 {'、'.join(self.slices) or '—'}；"
        if self.replaced:
            text += "替代先前提交 " + "、".join(f"#{sid}（{file}）" for sid, file in self.replaced)
        else:
            text += "未替代任何先前数据 (nothing replaced)"
        return text


def reports_from_check(result: list | Finding) -> list[TableReport]:  # type: ignore[type-arg]
    """Reports for a dry run (``ecostat validate``): the result of :func:`ecostat.check.files.check_file`."""
    if isinstance(result, Finding):
        return [TableReport(None, None, "rejected", [result])]
    return [TableReport(t.sheet, t.form.code if t.form else None, "passed" if t.accepted else "rejected",
                        t.findings, t.raw) for t in result]


def reports_from_outcomes(con: duckdb.DuckDBPyConnection, outcomes: list[TableOutcome],
                          unwritten: Mapping[int, str] | None = None) -> list[TableReport]:
    """Reports for the tables an ingest run processed (:class:`ecostat.store.outcomes.TableOutcome`), with the
    files of the submissions replaced, from ``unwritten`` (submissions of the same transaction not written yet)
    or ``submission_log`` (one query for the whole file)."""
    unwritten = unwritten or {}
    replaced = {sid for o in outcomes if o.status == "accepted" for sid in o.replaced}
    wanted = sorted(replaced - unwritten.keys())
    files = {sid: unwritten[sid] for sid in replaced if sid in unwritten}
    if wanted:
        files.update(con.execute("SELECT submission_id, file FROM submission_log WHERE list_contains(?, submission_id)",
                                 [wanted]).fetchall())
    reports = []
    for o in outcomes:
        report = TableReport(o.sheet, o.form, o.status, o.findings, o.raw, o.submission_id, o.rows_loaded)
        if o.status == "accepted":
            report.slices = list(o.slices)
            report.replaced = [(int(sid), str(files[sid])) for sid in sorted(o.replaced) if sid in files]
        reports.append(report)
    return reports


def _sheet_title(wanted: str, taken: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub("_", safe_text(wanted))[:31] or "数据"
    if base.startswith("'") or base.endswith("'") or base.lower() == "history":  # Excel refuses these
        base = f"_{base.strip(chr(39))}_"[:31]
    title, n = base, 1
    while title.lower() in taken:
        n += 1
        title = f"{base[:28]}_{n}"
    taken.add(title.lower())
    return title


def _location(sheet: str, ref: str) -> str:
    quoted = sheet.replace("'", "''")  # Excel doubles a quote inside a quoted sheet name
    return f"internal:'{quoted}'!{ref}"


class _Formats:
    """The workbook's cell formats, made once each."""

    def __init__(self, book: xlsxwriter.Workbook):
        self.book = book
        self.cache: dict[tuple[tuple[str, object], ...], Format] = {}

    def __call__(self, **props: object) -> Format | None:
        if not props:
            return None
        key = tuple(sorted(props.items()))
        if key not in self.cache:
            self.cache[key] = self.book.add_format(props)
        return self.cache[key]


def copied_rows(report: TableReport) -> tuple[Rows, bool]:
    """The rows of a table the feedback copies, and whether that is all of them: every row of a table
    up to :data:`FULL_COPY_ROWS` rows; of a bigger one, its first :data:`HEAD_ROWS` rows (banner and
    header) and each row that has a finding."""
    assert report.raw is not None
    rows = report.raw.rows
    if report.raw.row_count <= FULL_COPY_ROWS:
        return rows, True
    marked = {f.row for f in report.findings if f.row is not None}
    return rows.take([k for k, n in enumerate(rows.numbers()) if n <= HEAD_ROWS or n in marked]), False


def _copy_table(ws: Worksheet, fmt: _Formats, report: TableReport) -> bool:
    """Copy a table into ``ws`` with its marked cells; returns whether every row was copied."""
    assert report.raw is not None
    marks: dict[tuple[int, int], list[Finding]] = defaultdict(list)
    for f in report.findings:
        if f.row is not None and f.column:
            marks[(f.row, column_index(f.column))].append(f)
    rows, whole = copied_rows(report)
    percent = report.raw.percent
    for row, cells in rows:
        for j, value in enumerate(cells):
            found = marks.pop((row, j), None)
            props: dict[str, object] = {"num_format": "0.00%"} if (row, j) in percent and value is not None else {}
            if found:
                colour = ERROR_FILL if any(f.severity == "error" for f in found) else WARNING_FILL
                props.update(pattern=1, bg_color=f"#{colour[2:]}")
            write(ws, row - 1, j, value, fmt, **props)
            if found:
                _comment(ws, row - 1, j, found)
    for (row, j), found in marks.items():  # marked cells beyond the copied values (an empty cell, say)
        colour = ERROR_FILL if any(f.severity == "error" for f in found) else WARNING_FILL
        ws.write_blank(row - 1, j, None, fmt(pattern=1, bg_color=f"#{colour[2:]}"))
        _comment(ws, row - 1, j, found)
    return whole


def _comment(ws: Worksheet, row: int, col: int, found: list[Finding]) -> None:
    text = "\n".join(f"{f.rule_id}：{f.message_zh}" for f in found)
    ws.write_comment(row, col, safe_text(text), {"author": "ecostat", "width": 320, "height": 60 + 40 * len(found)})


def build_workbook(file: str, reports: list[TableReport], *, when: dt.datetime | None = None) -> bytes:
    """The feedback workbook of one file (xlsx bytes): the "反馈 Feedback" sheet, then a marked copy of
    each table (of a table over :data:`FULL_COPY_ROWS` rows, its header rows and the rows with
    findings, as the Feedback sheet says)."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "nan_inf_to_errors": True, "remove_timezone": True})
    fmt = _Formats(book)
    summary = book.add_worksheet(FEEDBACK_SHEET)
    taken = {FEEDBACK_SHEET.lower()}
    titles: list[str] = []  # "" for a report without a table
    partial: list[tuple[str, TableReport]] = []
    for report in reports:
        if report.raw is None:
            titles.append("")
            continue
        title = _sheet_title(report.sheet or Path(file).stem, taken)
        if not _copy_table(book.add_worksheet(title), fmt, report):
            partial.append((title, report))
        titles.append(title)

    bold = {"bold": True}
    write(summary, 0, 0, f"报送反馈 Feedback：{file}", fmt, bold=True, font_size=14)
    when = when or dt.datetime.now().astimezone()
    write(summary, 1, 0, f"生成时间 generated {when:%Y-%m-%d %H:%M}；"
          f"错误 errors {sum(r.errors for r in reports)}，警告 warnings {sum(r.warnings for r in reports)}", fmt)
    heads = ["表 sheet", "报表 form", "状态 status", "错误 errors", "警告 warnings", "入库行数 rows loaded",
             "回执 receipt"]
    for j, h in enumerate(heads):
        write(summary, 3, j, h, fmt, **bold)
    r = 4
    for report, title in zip(reports, titles, strict=True):
        values = [title or report.sheet or "", report.form or "", STATUS_LABELS.get(report.status, report.status),
                  report.errors, report.warnings, report.rows_loaded, report.receipt()]
        for j, v in enumerate(values):
            if j == 0 and title:
                _link(summary, r, 0, v, title, "A1", fmt)
            else:
                write(summary, r, j, v, fmt)
        r += 1
    for title, report in partial:
        assert report.raw is not None
        total = report.raw.row_count
        write(summary, r, 0, f"表“{title}”共 {total} 行，副本只含前 {HEAD_ROWS} 行（表头）和有问题的行 / "
              f"'{title}' has {total} rows: its copy holds the first {HEAD_ROWS} (the header) and the rows with "
              "findings", fmt)
        r += 1
    r += 1
    write(summary, r, 0, "问题清单 Findings", fmt, **bold)
    r += 1
    heads = ["序号 no.", "严重性 severity", "规则 rule", "表 sheet", "单元格 cell", "列 column", "填写值 value",
             "说明", "message"]
    for j, h in enumerate(heads):
        write(summary, r, j, h, fmt, **bold)
    n = 0
    for report, title in zip(reports, titles, strict=True):
        for f in report.findings:
            n += 1
            r += 1
            cell_ref = f"{f.column or ''}{f.row or ''}"
            values = [n, "错误 error" if f.severity == "error" else "警告 warning", f.rule_id, f.sheet or "",
                      cell_ref if f.column else (f"第{f.row}行" if f.row else ""), f.header or "", f.value or "",
                      f.message_zh, f.message_en]
            for j, v in enumerate(values):
                if j == 4 and title and f.row:
                    _link(summary, r, j, v, title, f"{f.column or 'A'}{f.row}", fmt)
                else:
                    write(summary, r, j, v, fmt)
    if n == 0:
        write(summary, r + 1, 0, "没有发现问题 no findings", fmt)
    for j, width in enumerate((18, 22, 26, 12, 14, 20, 16, 60, 60)):
        summary.set_column(j, j, width)
    book.close()
    return buffer.getvalue()


def _link(ws: Worksheet, row: int, col: int, text: object, sheet: str, ref: str, fmt: _Formats) -> None:
    """A cell linking to ``ref`` on ``sheet`` of the same workbook."""
    props: dict[str, object] = {"font_color": "#0563C1", "underline": 1}
    if is_formula_like(text):
        props["quote_prefix"] = True
    if ws.write_url(row, col, _location(sheet, ref), fmt(**props), string=safe_text(str(text)) or None) < 0:
        write(ws, row, col, text, fmt)  # past Excel's 65,530 links a sheet: the text alone


def summary_markdown(file: str, reports: list[TableReport]) -> str:
    """A short Markdown summary of the feedback, fit for a chat message."""
    counts: dict[str, int] = defaultdict(int)
    for report in reports:
        counts[report.status] += 1
    parts = "，".join(f"{STATUS_LABELS.get(s, s).split()[0]} {n}" for s, n in counts.items())
    lines = [f"**{markdown_text(file)}**：{len(reports)} 张表（{parts}）"]
    for report in reports:
        name = f"\\[{markdown_text(report.sheet)}\\] " if report.sheet else ""
        status = STATUS_LABELS.get(report.status, report.status).split()[0]
        what = "与已收到的文件内容相同" if report.status == "duplicate" else report.form or "未识别报表"
        head = f"- {name}{what} — {status}"
        if report.errors or report.warnings:
            head += f"：{report.errors} 个错误，{report.warnings} 个警告"
        if report.status == "accepted":
            head += f"；{markdown_text(report.receipt())}"
        lines.append(head)
        for f in report.findings[:MARKDOWN_FINDINGS]:
            where = f"{f.column or ''}{f.row or ''}" if f.column else (f"第{f.row}行" if f.row else "文件")
            lines.append(f"  - {where} {markdown_text(f.message_zh)}")
        if len(report.findings) > MARKDOWN_FINDINGS:
            lines.append(f"  - ……另有 {len(report.findings) - MARKDOWN_FINDINGS} 条，见反馈表")
    return "\n".join(lines) + "\n"


def feedback_paths(outbox: Path, file: str, submitter: str | None) -> tuple[Path, Path]:
    """Where the feedback of ``file`` (its path under the inbox) goes: ``outbox/<unit>/...`` or
    ``outbox/_unassigned/...`` for a file outside any unit folder."""
    base = outbox / file if submitter else outbox / UNASSIGNED / file
    return base.with_name(base.name + ".feedback.xlsx"), base.with_name(base.name + ".feedback.md")


def write_feedback(outbox: Path, file: str, submitter: str | None, reports: list[TableReport]) -> tuple[Path, Path]:
    """Write the feedback workbook and Markdown summary of one file, each atomically (a temporary file in
    the unit's folder, then renamed) and never through a symbolic link: a linked folder under the outbox
    is refused (``OSError``). Returns their paths."""
    xlsx, md = feedback_paths(outbox, file, submitter)
    parts = list(xlsx.relative_to(outbox).parts[:-1])
    folder = open_folder(outbox, parts, create=True)
    try:
        write_bytes(folder, xlsx.name, build_workbook(Path(file).name, reports), sync_folder=False)
        write_bytes(folder, md.name, summary_markdown(Path(file).name, reports).encode("utf-8"), sync_folder=False)
        fsync_dir(folder)  # both renames at once
    finally:
        os.close(folder)
    return xlsx, md
