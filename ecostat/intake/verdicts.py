"""The verdict journal (``raw/archive/verdicts.jsonl``): for each processed receipt, what became of each of
its tables and which contract version judged it, appended after the file's transaction has committed.

Contract §7: a file that an earlier contract version rejected stays rejected until it is sent again. The
warehouse keeps that by never processing a receipt twice; ``ecostat rebuild`` keeps it by reading this
journal, so that a rebuild from the archive equals the upgraded warehouse.

A receipt the journal lacks (a crash between the commit and the journal line, or an archive older than
the journal) is journaled from the warehouse at the start of the next run (and by ``ecostat upgrade``):
its tables' outcomes from ``submission_log``, its contract version the one the warehouse was at when the
receipt was processed (version 1 before the warehouse recorded any: contract v1 kept no record of it).
An archive that was never carried forward by a run or an upgrade has no verdicts for its receipts: a
rebuild judges those under the current contract (and says how many).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ecostat.common.durable import append_lines, read_journal
from ecostat.contract.version import CONTRACT_VERSION
from ecostat.intake.archive import receipts

log = logging.getLogger(__name__)
JOURNAL = "verdicts.jsonl"
FIRST_CONTRACT = "1"  # receipts processed before the warehouse recorded its versions


@dataclass(frozen=True)
class Verdict:
    """What became of one receipt's tables, (sheet, form, status) each, under contract ``contract``."""

    receipt_id: str
    contract: str
    tables: tuple[tuple[str | None, str | None, str], ...]

    @property
    def earlier(self) -> bool:
        """Whether an earlier contract version than this code's judged it."""
        return self.contract != CONTRACT_VERSION

    @property
    def file_rejected(self) -> bool:
        """Whether the file as a whole was rejected (unreadable, outside a unit folder, of a refused type)."""
        return bool(self.tables) and all(s is None and f is None and st == "rejected" for s, f, st in self.tables)

    def rejected_sheet(self, sheet: str | None) -> bool:
        """Whether the table of ``sheet`` (None for csv, json, parquet) was rejected."""
        return any(s == sheet and st == "rejected" for s, _, st in self.tables)

    @property
    def any_rejected(self) -> bool:
        """Whether anything of the receipt was rejected."""
        return any(st == "rejected" for *_, st in self.tables)


def write(archive: Path, *found: Verdict) -> None:
    """Append verdicts to the journal and make them durable, in one write (a later line for the same receipt
    wins)."""
    archive.mkdir(parents=True, exist_ok=True, mode=0o750)
    at = dt.datetime.now(dt.UTC).isoformat()
    append_lines(archive / JOURNAL, [json.dumps(
        {"receipt_id": v.receipt_id, "contract": v.contract, "tables": [list(t) for t in v.tables], "at": at},
        ensure_ascii=False) for v in found])


def read(archive: Path) -> dict[str, Verdict]:
    """Every receipt's latest verdict (a line cut short by a crash is skipped, a damaged one set aside)."""
    def parse(line: str) -> Verdict:
        d = json.loads(line)
        return Verdict(d["receipt_id"], str(d["contract"]), tuple((s, f, st) for s, f, st in d["tables"]))

    return {v.receipt_id: v for v in read_journal(archive / JOURNAL, parse)}


def backfill(con: duckdb.DuckDBPyConnection, archive: Path) -> int:
    """Journal the verdict of every receipt of this archive that the warehouse processed and the journal
    lacks; returns how many."""
    archived = {r.receipt_id for r in receipts(archive)}
    if not archived:
        return 0
    known = read(archive)
    rows = con.execute("""
        SELECT r.receipt_id, coalesce(i.started_at, r.received_at) AS processed_at,
               list((l.sheet, l.form, CASE l.status WHEN 'superseded' THEN 'accepted' ELSE l.status END)
                    ORDER BY l.submission_id) FILTER (WHERE l.submission_id IS NOT NULL) AS tables
        FROM meta_received_files r
        LEFT JOIN meta_ingest_runs i USING (run_id)
        LEFT JOIN submission_log l ON l.run_id = r.run_id AND l.file = r.file AND l.sha256 = r.sha256
        GROUP BY ALL ORDER BY processed_at, r.receipt_id""").fetchall()
    versions = con.execute("SELECT applied_at, contract_version FROM meta_schema_version ORDER BY applied_at"
                           ).fetchall()
    written = 0
    for receipt_id, processed_at, tables in rows:
        if receipt_id in known or receipt_id not in archived:  # journaled already, or another archive's
            continue
        contract = next((c for at, c in reversed(versions) if at <= processed_at), FIRST_CONTRACT)
        write(archive, Verdict(receipt_id, contract, tuple(tuple(t) for t in tables or [])))
        written += 1
    if written:
        log.warning("verdicts of %d processed receipts journaled from the warehouse", written)
    return written
