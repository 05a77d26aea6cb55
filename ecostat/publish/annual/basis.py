"""The report's 数据说明: whether its figures are certified or live, which reports they rest on that the
bureau has not approved (contract v3 §9), and the year's on-time reporting rate of each form (§10)."""

from __future__ import annotations

import datetime as dt

import duckdb

from ecostat.contract.forms import FORMS
from ecostat.contract.labels import unit_label
from ecostat.store.certify import certified_pending

NAMED = 10  # slices named one by one; beyond this, counted


def chinese_date(when: dt.date) -> str:
    """2026年1月5日."""
    return f"{when.year}年{when.month}月{when.day}日"


def basis(con: duckdb.DuckDBPyConnection, year: int, live: bool, now: dt.datetime) -> tuple[bool, str]:
    """Whether the report states certified figures, and the sentence that says so."""
    row = con.execute("""SELECT version, certified_at, certified_by FROM meta_certified_figures
                         WHERE year = ? AND is_current LIMIT 1""", [year]).fetchone()
    as_of = f"{chinese_date(now)}{now:%H:%M}"
    if row is None:
        return False, (f"{year}年度指标尚未认证。本报告数据为实时数据，根据截至{as_of}的有效报表计算，"
                       "可能随后续报送而变化。" + _unapproved(con, year) + on_time_sentences(con, year))
    # the live figures against the certified ones: a view that computes them, asked only of a certified year
    pending_row = con.execute("SELECT count(*) FROM mart_pending_amendments WHERE year = ?", [year]).fetchone()
    pending = int(pending_row[0]) if pending_row else 0
    version, certified_at, by = row
    when = chinese_date(certified_at.astimezone())
    if live:
        return False, (f"本报告数据为实时数据，根据截至{as_of}的有效报表计算；"
                       f"{year}年度指标已于{when}认证（第{version}版），实时数据与认证数据有{pending}项不同。"
                       + _unapproved(con, year) + on_time_sentences(con, year))
    text = f"本报告数据为{year}年度已认证指标（第{version}版，{when}由{by}认证）。"
    if pending:
        text += f"认证后收到的报表将改变其中{pending}项指标，尚待修订认证。"
    return True, text + _certified_pending(con, year) + on_time_sentences(con, year)


def _slices(rows: list[tuple[str, str, str]]) -> str:
    named = [f"{unit_label(u)}{FORMS[f].zh if f in FORMS else f}（{p}）" for f, u, p in rows[:NAMED]]
    more = f"等{len(rows)}份" if len(rows) > NAMED else ""
    return "、".join(named) + more


def _certified_pending(con: duckdb.DuckDBPyConnection, year: int) -> str:
    """The sentence naming the slices certified without approval (``certify --with-pending``)."""
    frame = certified_pending(con, year)
    if frame.empty:
        return ""
    rows = list(zip(frame["form"], frame["unit_code"], frame["period"], strict=True))
    return f"认证时以下{len(rows)}份报表尚未审核通过，经确认一并认证：{_slices(rows)}。"


def _unapproved(con: duckdb.DuckDBPyConnection, year: int) -> str:
    """The sentence counting the current reports of the year that are not approved yet."""
    rows = con.execute("""SELECT form, unit_code, period FROM review_states
                          WHERE state <> 'approved' AND left(period, 4) = ?
                          ORDER BY unit_code, form, period""", [str(year)]).fetchall()
    if not rows:
        return ""
    return f"目前尚有{len(rows)}份报表未经审核通过，相关指标可能随审核结果而调整。"


def on_time_sentences(con: duckdb.DuckDBPyConnection, year: int) -> str:
    """One sentence per form the units owed in ``year``: its on-time rate over the year's due reports."""
    rows = con.execute("""SELECT form, sum(expected), sum(on_time) FROM reporting_rates
                          WHERE is_city AND left(period, 4) = ? GROUP BY form ORDER BY form""",
                       [str(year)]).fetchall()
    sentences = []
    for form, expected, on_time in rows:
        if not expected:
            continue
        name = FORMS[form].zh if form in FORMS else form
        rate = 100.0 * on_time / expected
        sentences.append(f"{name}报表应报{int(expected)}份，按时报送{int(on_time)}份，按时报送率为{rate:.1f}%。")
    return "".join(sentences)
