"""Certification: freezing a year's annual figures, and amending them on purpose only."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from ecostat.store.db import transaction
from ecostat.store.review import unapproved_inputs


class CertificationError(Exception):
    """A certification act that is not allowed (message in Chinese and English)."""


class NotApproved(CertificationError):
    """Slices feeding the year's figures are not approved (contract v3 §9): ``slices`` lists them."""

    def __init__(self, year: int, slices: pd.DataFrame):
        listed = [f"  {r.form}:{r.unit_code}:{r.period} {r.state}" for r in slices.itertuples()]
        super().__init__(f"{year} 年有 {len(listed)} 份报表尚未审核通过，未认证（确需认证请加 --with-pending）/ "
                         f"{len(listed)} reports feeding {year}'s figures are not approved; nothing was certified "
                         "(certify anyway with --with-pending):\n" + "\n".join(listed))
        self.slices = slices


def certify(con: duckdb.DuckDBPyConnection, year: int, by: str, *, amend: bool = False,
            reason: str | None = None, with_pending: bool = False) -> tuple[int, int]:
    """Freeze (or, with ``amend``, re-freeze) the live figures of ``year``; returns (version, changed).

    Certifying a certified year needs ``amend`` and a reason; every act goes to the audit table. Every slice
    feeding the figures must be approved (else :class:`NotApproved`), unless ``with_pending``: then those
    slices are recorded with the certification (``meta_certified_pending``).
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
    unapproved = unapproved_inputs(con, year)
    if not unapproved.empty and not with_pending:
        raise NotApproved(year, unapproved)
    version = (current or 0) + 1
    now = dt.datetime.now(dt.UTC)
    with transaction(con):
        for r in unapproved.itertuples():
            con.execute("INSERT INTO meta_certified_pending VALUES (?, ?, ?, ?, ?, ?)",
                        [year, version, r.form, r.unit_code, r.period, r.state])
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


def certified_pending(con: duckdb.DuckDBPyConnection, year: int) -> pd.DataFrame:
    """The slices not approved that the year's current certification was made with (``--with-pending``)."""
    return con.execute("""SELECT p.form, p.unit_code, p.period, p.state FROM meta_certified_pending p
                          JOIN (SELECT DISTINCT year, version FROM meta_certified_figures WHERE is_current) c
                            USING (year, version)
                          WHERE p.year = ? ORDER BY p.unit_code, p.form, p.period""", [year]).df()
