"""A run's record: its id, its row in ``meta_ingest_runs`` (registered, then its counts) and its summary."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import duckdb

from ecostat.common.display import printable
from ecostat.notify.delivery import Delivery
from ecostat.store.outcomes import TableOutcome


def new_run_id() -> str:
    """A run id: UTC time and a random suffix."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


@dataclass
class RunSummary:
    """The outcome of one ingest run."""

    run_id: str
    files: int  # receipts processed
    tables: list[TableOutcome]
    figures_changed: int | None  # None: not refreshed, because no file was processed
    deliveries: list[Delivery] = field(default_factory=list)  # alert deliveries tried after publishing
    lock_seconds: float | None = None  # how long the run held the warehouse's write lock
    transactions: int = 0  # warehouse transactions that committed the files (group commit: ecostat.run.groups)

    @property
    def lock_per_file(self) -> float | None:
        """How long the run held the write lock per file processed (None: no file, or not timed). Files are read
        and checked outside it (:mod:`ecostat.run.sandbox`): this is the time to apply a file's check."""
        return self.lock_seconds / self.files if self.lock_seconds is not None and self.files else None

    def count(self, status: str) -> int:
        """How many tables (or unreadable files) ended with ``status``."""
        return sum(t.status == status for t in self.tables)

    def text(self) -> str:
        """A short human summary, Chinese first; submitted text is shown escaped."""
        changed = "未重算（无新文件）" if self.figures_changed is None else f"{self.figures_changed} 项"
        lines = [f"本次处理文件 {self.files} 个：接收表 {self.count('accepted')} 张，退回 {self.count('rejected')} 张，"
                 f"重复 {self.count('duplicate')} 个；年度指标变化 {changed}。",
                 f"run {self.run_id}: {self.files} files, {self.count('accepted')} tables accepted, "
                 f"{self.count('rejected')} rejected, {self.count('duplicate')} duplicates, " + (
                     "nothing new: figures, audit and site skipped." if self.figures_changed is None
                     else f"{self.figures_changed} figures changed.")]
        for t in self.tables:
            if t.status == "rejected":
                where = printable(t.file) + (f" [{printable(t.sheet)}]" if t.sheet else "")
                first = next((f for f in t.findings if f.severity == "error"), None)
                reason = f"{first.where()}：{printable(first.message_zh)}" if first else ""
                lines.append(f"  退回 rejected: {where} — {t.errors} 个错误 errors; {reason}")
        if self.deliveries:
            ok = sum(d.delivered for d in self.deliveries)
            gone = sum(d.abandoned for d in self.deliveries)
            lines.append(f"告警 alerts：送达 {ok}，失败待重试 {len(self.deliveries) - ok - gone}，放弃 {gone} / "
                         f"{ok} delivered, {len(self.deliveries) - ok - gone} failed (retried by later runs), "
                         f"{gone} abandoned")
            lines += [f"  放弃 abandoned: {d.key} → {d.recipient}: {d.error}" for d in self.deliveries if d.abandoned]
        if self.transactions:
            lines.append(f"分 {self.transactions} 次事务提交 / committed in {self.transactions} transaction"
                         + ("s" if self.transactions > 1 else ""))
        if self.lock_seconds is not None:
            each = f"（每个文件 {self.lock_per_file:.2f} 秒）" if self.lock_per_file is not None else ""
            each_en = f" ({self.lock_per_file:.2f} s per file)" if self.lock_per_file is not None else ""
            lines.append(f"写锁占用 {self.lock_seconds:.1f} 秒{each} / "
                         f"write lock held {self.lock_seconds:.1f} s{each_en}")
        return "\n".join(lines)


def start_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Register a new run."""
    con.execute("INSERT INTO meta_ingest_runs (run_id, started_at) VALUES (?, ?)", [run_id, dt.datetime.now(dt.UTC)])


def finish_run(con: duckdb.DuckDBPyConnection, summary: RunSummary) -> None:
    """Record a run's counts."""
    con.execute("""UPDATE meta_ingest_runs SET finished_at = ?, files = ?, tables_accepted = ?,
                   tables_rejected = ?, duplicates = ?, figures_changed = ? WHERE run_id = ?""",
                [dt.datetime.now(dt.UTC), summary.files, summary.count("accepted"), summary.count("rejected"),
                 summary.count("duplicate"), summary.figures_changed or 0, summary.run_id])
