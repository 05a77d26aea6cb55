"""A file's check made ready for a trip to the writer from another process (a sandboxed child,
:mod:`ecostat.run.sandbox`, or a Dask worker, :mod:`ecostat.run.parallel`): each table's normalised rows as an
Arrow table, its form named by its code."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from ecostat.check.files import Checked
from ecostat.check.types import CheckedTable
from ecostat.contract.catalogue import Finding
from ecostat.contract.forms import FORMS
from ecostat.intake.archive import Receipt

PICKLED_ROWS = 5_000  # a frame of at most this many rows makes the trip as it is


@dataclass
class Staged:
    """What a worker hands back for one file: its check, with each table's normalised rows as an Arrow
    table and its form named by its code for the trip (a form carries its pandera schema, and the writer
    compares forms by identity)."""

    receipt_id: str
    result: list[CheckedTable] | Finding
    failure: str | None
    forms: list[str | None]
    frames: list[tuple[pa.Table, pd.DataFrame] | pd.DataFrame | None]  # each table's rows: :func:`_staged_frame`

    @classmethod
    def of(cls, rec: Receipt, check: Checked) -> Staged:
        """A check made here, made ready for the trip."""
        result, failure = check
        if isinstance(result, Finding):
            return cls(rec.receipt_id, result, failure, [], [])
        return cls(rec.receipt_id, [dataclasses.replace(t, form=None, frame=None) for t in result], failure,
                   [t.form.code if t.form else None for t in result],
                   [None if t.frame is None else _staged_frame(t.frame) for t in result])

    def checked(self) -> Checked:
        """The check as the writer uses it, with this process's forms."""
        if isinstance(self.result, Finding):
            return self.result, self.failure
        return [dataclasses.replace(t, form=FORMS[code] if code else None,
                                    frame=frame if frame is None or isinstance(frame, pd.DataFrame)
                                    else _unstaged_frame(*frame))
                for t, code, frame in zip(self.result, self.forms, self.frames, strict=True)], self.failure


def _staged_frame(frame: pd.DataFrame) -> tuple[pa.Table, pd.DataFrame] | pd.DataFrame:
    """A checked table's rows for the trip: a small table's frame as it is (pickled, its types kept; Arrow's
    conversion both ways costs more than the trip); a big one's normalised columns (what is loaded) as an Arrow
    table, the checks' own columns (``_bad``: each row's unreadable fields, as Python sets; ``_at_least``) as
    they are."""
    if len(frame) <= PICKLED_ROWS:
        return frame
    own = [c for c in frame.columns if str(c).startswith("_")]
    return pa.Table.from_pandas(frame.drop(columns=own)), frame[own]


def _unstaged_frame(rows: pa.Table, own: pd.DataFrame) -> pd.DataFrame:
    """The checked table's frame back from :func:`_staged_frame`, with the column types the check gave it
    (text as Python strings and None, not pandas' string type)."""
    frame = rows.to_pandas()
    for column in rows.schema.pandas_metadata["columns"]:
        if column["numpy_type"] == "object" and column["name"] in frame.columns:
            name = column["name"]
            frame[name] = pd.Series(rows.column(name).to_pylist(), index=frame.index, dtype=object)
    return pd.concat([frame, own], axis=1)
