"""The warehouse SQL derived from the form definitions (``schemas/<form>.py``), so that no SQL file names
a form's fields: each form's fact table (lineage columns, then its fields typed by kind, with the
Chinese name and unit as column comments), the union of current slices the final reports are chosen
from, each form's final rows (what the figures read, :func:`ecostat.store.figuredefs.figure_rows_view`) and the
long view of the final reports' values (what a figure of kind ``sql`` may read).

Identifiers come only from the form registry, whose codes :func:`check_identifiers` restricts to
lower-case words; comments are the schema modules' own text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecostat.contract.formspec import NUMERIC, Field, Form

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Column:
    """A warehouse column that no form declares."""

    name: str
    type: str
    comment: str


# Every fact row's lineage, before the form's fields; declared here once for every fact table.
LINEAGE: tuple[Column, ...] = (
    Column("submission_id", "BIGINT NOT NULL", "报送编号 submission_log.submission_id"),
    Column("sha256", "VARCHAR NOT NULL", "所报文件字节的 SHA-256 (raw/archive/objects/)"),
    Column("file", "VARCHAR NOT NULL", "收件路径 path under raw/inbox/"),
    Column("sheet", "VARCHAR", "工作表 sheet (NULL for csv/json/parquet)"),
    Column("source_row", "INTEGER NOT NULL", "所报文件中的行号 row number as the submitter sees it"),
    Column("received_at", "TIMESTAMPTZ NOT NULL", "接收时间 received at"),
    Column("is_current", "BOOLEAN NOT NULL", "是否现行 false once a later table replaced the slice"),
    Column("superseded_by", "BIGINT", "被哪次报送替代 the submission that replaced it"),
    Column("unit_code", "VARCHAR NOT NULL", "区县代码 reporting unit"),
    Column("period", "VARCHAR NOT NULL", "报告期 2024 (annual) or 2024-06 (monthly, year to date)"),
    Column("year", "INTEGER NOT NULL", "年度 year"),
    Column("month", "INTEGER", "月份 month (NULL for the annual report)"),
)
# After the form's fields.
AT_LEAST = Column("at_least", "VARCHAR[]", "填写为“以上/多/≥”的字段 fields recorded as at least")


def check_identifiers(form: Form) -> None:
    """Form and field codes are plain lower-case words that no lineage column uses."""
    reserved = {c.name for c in (*LINEAGE, AT_LEAST)}
    for code in (form.code, *(f.code for f in form.fields), *(w for f in form.fields for w in f.was)):
        if not IDENTIFIER.match(code):
            raise ValueError(f"form {form.code}: {code!r} is not a lower-case identifier")
    clash = reserved & {f.code for f in form.fields}
    if clash:
        raise ValueError(f"form {form.code}: field codes {sorted(clash)} are lineage columns")


def field_comment(f: Field) -> str:
    """A field column's comment: its Chinese name and unit."""
    return f"{f.zh} ({f.unit})" if f.unit else f.zh


def columns(form: Form) -> list[Column]:
    """The fact table's columns in order: lineage, the form's fields, at_least."""
    return [*LINEAGE, *(Column(f.code, f.sql_type, field_comment(f)) for f in form.fields), AT_LEAST]


def sql_literal(text: str) -> str:
    """A SQL string literal of ``text`` (for DDL, where no value can be bound)."""
    return "'" + text.replace("'", "''") + "'"


def fact_table(form: Form) -> str:
    """``CREATE TABLE IF NOT EXISTS fact_<form>``: every accepted row with its lineage."""
    check_identifiers(form)
    body = ",\n".join(f'    "{c.name}" {c.type}' for c in columns(form))
    return f'CREATE TABLE IF NOT EXISTS "{form.table}" (\n{body}\n);'


def fact_comments(form: Form) -> str:
    """The table's and its columns' comments (``duckdb_columns().comment``)."""
    stmts = [f'COMMENT ON TABLE "{form.table}" IS '
             f"{sql_literal(f'{form.zh} ({form.code}): 每一条接收的行及其来源 every accepted row with its lineage')};"]
    stmts += [f'COMMENT ON COLUMN "{form.table}"."{c.name}" IS {sql_literal(c.comment)};' for c in columns(form)]
    return "\n".join(stmts)


def form_slices(forms: list[Form]) -> str:
    """``core_form_slices``: every current (form, unit, period) slice."""
    arms = [f"SELECT DISTINCT '{f.code}' AS form, unit_code, year, period, month "
            f'FROM "{f.table}" WHERE is_current' for f in forms]
    return ("-- Every current (form, unit, period) slice of every form.\n"
            "CREATE OR REPLACE VIEW core_form_slices AS\n" + "\nUNION ALL ".join(arms) + ";")


def _values_arm(form: Form, fields: list[Field], numeric: bool) -> str:
    value, code = ("value", "NULL::VARCHAR AS code") if numeric else ("NULL::DOUBLE AS value", "code")
    cast = "::DOUBLE" if numeric else "::VARCHAR"
    chosen = ", ".join(f'"{f.code}"{cast} AS "{f.code}"' for f in fields)
    names = ", ".join(f'"{f.code}"' for f in fields)
    into = "value" if numeric else "code"
    return (f"SELECT '{form.code}' AS form, unit_code, year, period, \"key\", field, {value}, {code}, "
            "coalesce(list_contains(at_least, field), false) AS at_least, submission_id, source_row\n"
            f"FROM (UNPIVOT (SELECT unit_code, year, period, \"key\", at_least, submission_id, source_row, {chosen}\n"
            f'              FROM "final_{form.code}") ON {names} INTO NAME field VALUE {into})')


def final_rows(form: Form) -> str:
    """The CTE ``"final_<form>"``: the current rows of every unit's final report of a year (contract §5) of a
    form, wide as its fact table, with ``key`` (the row's key codes joined with ``|``)."""
    key = "concat_ws('|', " + ", ".join(f'f."{k}"' for k in form.key) + ")" if form.key else "NULL::VARCHAR"
    return (f'"final_{form.code}" AS (\n    SELECT f.*, {key} AS "key" FROM "{form.table}" f\n'
            f"    JOIN core_final_reports r ON r.form = '{form.code}' AND r.unit_code = f.unit_code\n"
            "     AND r.year = f.year AND r.period = f.period\n    WHERE f.is_current)")


def final_values(forms: list[Form]) -> str:
    """``core_final_values``: every given value of every unit's final report of a year (contract §5),
    one row per (row, field): what a figure of kind ``sql`` reads. ``key`` joins the row's key codes with ``|``."""
    ctes, arms = [], []
    for form in forms:
        ctes.append(final_rows(form))
        numeric = [f for f in form.fields if f.kind in NUMERIC]
        coded = [f for f in form.fields if f.kind not in NUMERIC]
        arms += [_values_arm(form, group, is_number) for group, is_number in ((numeric, True), (coded, False)) if group]
    return ("-- Every given value of every unit's final report of a year, one row per (row, field): numbers in\n"
            "-- value, registry codes and text in code; at_least where written with 以上/多/≥.\n"
            "CREATE OR REPLACE VIEW core_final_values AS\nWITH\n" + ",\n".join(ctes) + "\n"
            + "\nUNION ALL\n".join(arms) + ";")
