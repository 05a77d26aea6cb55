"""What an ingest run made of each table it processed (or of a file that could not be read): what the
run's summary, the file's feedback and its alerts are written from."""

from __future__ import annotations

from dataclasses import dataclass, field

from ecostat.contract.catalogue import Finding
from ecostat.read.types import RawTable


@dataclass(frozen=True, kw_only=True)
class TableOutcome:
    """What happened to one table (or to a file that could not be read)."""

    file: str
    sheet: str | None
    form: str | None
    status: str  # accepted, rejected or duplicate
    submission_id: int
    errors: int = 0
    warnings: int = 0
    rows_loaded: int = 0
    replaced: list[int] = field(default_factory=list)  # submissions whose slices an accepted table replaced
    findings: list[Finding] = field(default_factory=list)
    raw: RawTable | None = field(default=None, repr=False, compare=False)  # for the feedback workbook
    submitter: str | None = None  # the unit whose inbox folder the file came from
    slices: list[str] = field(default_factory=list)  # unit:period slices an accepted table wrote
