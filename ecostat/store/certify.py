"""Certification: freezing a year's annual figures, and amending them on purpose only."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from ecostat.store.db import transaction


class CertificationError(Exception):
    """A certification act that is not allowed (message in Chinese and English)."""


def certify(con: duckdb.DuckDBPyConnection, year: int, by: str, *, amend: bool = False,
            reason: str | None = None) -> tuple[int, int]:
    """Freeze (or, with ``amend``, re-freeze) the live figures of ``year``; returns (version, changed).

    Certifying a certified year needs ``amend`` and a reason; every act goes to the audit table.
    """
    if not by.strip():
        raise CertificationError("请用 --by 注明认证人 / name who certifies with --by")
    row = con.execute("SELECT max(version) FROM meta_certified_figures WHERE year = ?", [year]).fetchone()
    current = row[0] if row else None
    if current is not None and not amend:
        raise CertificationError(f"{year} 年指标已认证（第 {current} 版）；修订请用 --amend 并说明 --reason / "
                                 f"{year} is already certified (version {current}): use --amend with --reason")
    if amend and current is None:
        raise CertificationError(f"{year} 年尚未认证，无可修订 / {year} is not certified: nothing to amend")
    if amend and not (reason or "").strip():
        raise CertificationError("修订须说明理由 --reason / an amendment needs --reason")
    live = con.execute("SELECT count(*) FROM mart_figure_values WHERE year = ?", [year]).fetchone()
    if not live or live[0] == 0:
        raise CertificationError(f"{year} 年没有指标可认证 / no figures for {year}")
    version = (current or 0) + 1
    now = dt.datetime.now(dt.UTC)
    with transaction(con):
        changed_row = con.execute("SELECT count(*) FROM mart_pending_amendments WHERE year = ?", [year]).fetchone()
        changed = int(changed_row[0]) if changed_row and current is not None else 0
        con.execute("UPDATE meta_certified_figures SET is_current = false WHERE year = ? AND is_current", [year])
        con.execute("""INSERT INTO meta_certified_figures
                       SELECT year, ?, scope, figure, dimension, value, true, ?, ? FROM mart_figure_values
                       WHERE year = ?""", [version, now, by, year])
        count_row = con.execute("SELECT count(*) FROM meta_certified_figures WHERE year = ? AND version = ?",
                                [year, version]).fetchone()
        con.execute("INSERT INTO meta_certification_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    ["amend" if amend else "certify", year, version, by, reason, now,
                     count_row[0] if count_row else 0, changed])
    return version, changed


def pending_amendments(con: duckdb.DuckDBPyConnection, year: int | None = None) -> pd.DataFrame:
    """Certified figures that accepted submissions since certification would change."""
    return con.execute("""SELECT a.*, c.name_zh FROM mart_pending_amendments a
                          JOIN meta_figure_catalogue c USING (figure)
                          WHERE ? IS NULL OR a.year = ? ORDER BY a.year, a.figure, a.scope, a.dimension""",
                       [year, year]).df()


def submissions_since_certification(con: duckdb.DuckDBPyConnection, year: int) -> pd.DataFrame:
    """Accepted tables received after the year's current certification that touch that year."""
    return con.execute("""SELECT DISTINCT v.submission_id, v.form, v.unit_code, v.period, v.file, v.received_at
                          FROM core_slice_versions v
                          WHERE v.status IN ('accepted', 'superseded') AND v.period LIKE ? || '%'
                            AND v.received_at > (SELECT max(certified_at) FROM meta_certified_figures
                                                 WHERE year = ? AND is_current)
                          ORDER BY v.submission_id""", [str(year), year]).df()
