"""What reading hands on to the later stages: a :class:`RawTable` of :class:`Rows`, or a :class:`ReadError`.

:class:`Rows` is the one type of a table's rows, however the reader held them: a list of rows (a workbook's
sheet; a csv split by Python's csv module) or a column at a time (a plain csv split by Arrow, json, parquet),
so that a big table is never made into a Python list per row. Both answer the same questions (a row by
position, a column, a function of a column's cells, the row numbers, a selection) and the checks and the
feedback ask only those.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecostat.contract.catalogue import Finding

Row = tuple[int, list[object]]  # (row number, cells)
TEXT_BLOCK = 65_536  # distinct cells made Python objects at a time by :meth:`ColumnRows.mapped_text`
TEXT_TYPES = frozenset({str, type(None)})


def distinct_map(values: Sequence[object], fn: Callable[[object], Any]) -> list[Any]:
    """``fn`` of each value, called once per distinct value. Distinct means unequal *or of another type*
    (``True``, ``1``, ``1.0`` and ``"1"`` are four cells), so the key of a value is (its type, itself);
    an unhashable value (a list from json) is its own."""
    if set(map(type, values)) <= TEXT_TYPES:  # text and blanks (a csv): the values themselves are the keys
        done = {v: fn(v) for v in dict.fromkeys(values)}
        return list(map(done.__getitem__, values))
    memo: dict[tuple[type, object], Any] = {}
    out = []
    for v in values:
        try:
            key = (v.__class__, v)
            found = memo.get(key)
            if found is None:
                found = memo[key] = fn(v)
        except TypeError:
            found = fn(v)
        out.append(found)
    return out


def object_array(values: Sequence[object], dtype: Any = object) -> np.ndarray:
    """A numpy array of ``values`` element by element (a tuple or list stays one element)."""
    out = np.empty(len(values), dtype=dtype)
    for k, v in enumerate(values):
        out[k] = v
    return out


class Rows(Sequence[Row]):
    """The rows of a table, each as (row number, cells), in ascending row numbers. Made by :meth:`of_list`
    or :meth:`of_columns`; a slice or :meth:`take` is a selection of the same rows."""

    @staticmethod
    def of_list(rows: list[Row]) -> Rows:
        """Rows held as they are given: a list of (row number, cells); rows may differ in length."""
        return _ListedRows(rows)

    @staticmethod
    def of_columns(columns: list[list[object]]) -> Rows:
        """Rows from whole columns of cells (row number ``p + 1`` at position ``p``; equal cells need not be
        shared: each distinct cell of a column is kept once)."""
        distinct, codes = [], []
        for column in columns:
            found: dict[object, int] = {}
            cells: list[object] = []
            at = np.empty(len(column), dtype=np.int32)
            for p, v in enumerate(column):
                try:
                    key: object = (v.__class__, v)  # with its type: True and 1 are equal keys, not cells
                    hash(key)
                except TypeError:  # an unhashable cell (a list from json) is its own
                    key = id(v)
                k = found.setdefault(key, len(cells))
                if k == len(cells):
                    cells.append(v)
                at[p] = k
            distinct.append(object_array(cells))
            codes.append(at)
        return ColumnRows(distinct, codes)

    @overload
    def __getitem__(self, k: int) -> Row: ...

    @overload
    def __getitem__(self, k: slice) -> Rows: ...

    def __getitem__(self, k: int | slice) -> Row | Rows:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def take(self, ks: list[int] | np.ndarray) -> Rows:
        """The rows at positions ``ks`` (ascending) of these rows."""
        raise NotImplementedError

    @property
    def width(self) -> int:
        """The most cells a row has."""
        raise NotImplementedError

    def numbers(self) -> list[int]:
        """The row numbers of these rows."""
        raise NotImplementedError

    def cells(self, row: int) -> list[object]:
        """The cells of row number ``row`` (empty when these rows have no such row)."""
        raise NotImplementedError

    def column(self, j: int) -> list[object]:
        """The cells of column ``j`` in these rows (None where a row has fewer cells)."""
        raise NotImplementedError

    def mapped(self, j: int, fn: Callable[[object], Any]) -> list[Any]:
        """``fn`` of each cell of column ``j``, called once per distinct cell (see :func:`distinct_map`)."""
        raise NotImplementedError

    def mapped_array(self, j: int, fn: Callable[[object], Any], dtype: type) -> np.ndarray:
        """:meth:`mapped` as a numpy array of ``dtype``."""
        return object_array(self.mapped(j, fn), dtype)

    def mapped_text(self, j: int, fn: Callable[[object], str | None],
                    given: Callable[[object], bool] | None = None) -> pa.Array:
        """:meth:`mapped` of a function giving text or None, as an Arrow string array; ``given``: a test of a
        cell that ``fn`` gives None for every cell failing (its answers may be known already: :meth:`tested`)."""
        return pa.array(self.mapped(j, fn), pa.string())

    def tested(self, j: int, test: Callable[[object], bool], containing: tuple[str, ...] = ()) -> np.ndarray:
        """Per row, whether its cell of column ``j`` passes ``test``, a function of the cell alone
        (``containing``: see :meth:`any_cell`)."""
        return self.mapped_array(j, test, bool)

    def any_cell(self, test: Callable[[object], bool], containing: tuple[str, ...] = ()) -> np.ndarray:
        """Per row, whether any of its cells passes ``test`` (a numpy array of bools). ``containing``: when
        given, ``test`` passes text only, and only text holding one of these strings (a column of texts is
        then tested only where it holds one of them: found by Arrow, not one cell at a time)."""
        raise NotImplementedError

    def candidates(self, test: Callable[[object], bool], containing: tuple[str, ...] = ()) -> list[int]:
        """The positions of the rows that may have a cell passing ``test`` (``containing``: see
        :meth:`any_cell`), to be looked at one by one: every row of rows kept as a list (looking at a row costs
        no more than looking at its cells); of rows kept by column, exactly those, found a column at a time."""
        raise NotImplementedError


class _ListedRows(Rows):
    """Rows kept as a list of (row number, cells)."""

    def __init__(self, rows: list[Row]):
        self.rows = rows
        self._numbers: list[int] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, k: int) -> Row: ...

    @overload
    def __getitem__(self, k: slice) -> Rows: ...

    def __getitem__(self, k: int | slice) -> Row | Rows:
        return _ListedRows(self.rows[k]) if isinstance(k, slice) else self.rows[k]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _ListedRows):
            return self.rows == other.rows
        return self.rows == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return repr(self.rows)

    def take(self, ks: list[int] | np.ndarray) -> Rows:
        return self if len(ks) == len(self.rows) else _ListedRows([self.rows[k] for k in ks])

    @property
    def width(self) -> int:
        return max((len(cells) for _, cells in self.rows), default=0)

    def numbers(self) -> list[int]:
        if self._numbers is None:
            self._numbers = [n for n, _ in self.rows]
        return self._numbers

    def cells(self, row: int) -> list[object]:
        numbers = self.numbers()
        k = bisect.bisect_left(numbers, row)
        return self.rows[k][1] if k < len(numbers) and numbers[k] == row else []

    def column(self, j: int) -> list[object]:
        return [cells[j] if j < len(cells) else None for _, cells in self.rows]

    def mapped(self, j: int, fn: Callable[[object], Any]) -> list[Any]:
        return distinct_map(self.column(j), fn)

    def any_cell(self, test: Callable[[object], bool], containing: tuple[str, ...] = ()) -> np.ndarray:
        return np.fromiter((any(map(test, cells)) for _, cells in self.rows), dtype=bool, count=len(self.rows))

    def candidates(self, test: Callable[[object], bool], containing: tuple[str, ...] = ()) -> list[int]:
        return list(range(len(self.rows)))


class ColumnRows(Rows):
    """Rows read a column at a time (a csv, json or parquet file) without a Python list per row: column ``j``
    holds each distinct cell once (``distinct[j]``: a numpy array of objects, or an Arrow string array, whose
    texts cost no Python object until a cell is asked for) and, per row, which one it is (``codes[j]``); row
    number ``p + 1`` is position ``p`` of the whole table, and ``at`` the positions these rows are. A row's
    cells are made when it is asked for; :meth:`column` and :meth:`mapped` read a column without making rows."""

    def __init__(self, distinct: list[np.ndarray | pa.Array], codes: list[np.ndarray],
                 at: range | np.ndarray | None = None, tested: dict[Any, np.ndarray] | None = None):
        self.distinct, self.codes = distinct, codes
        self.at = range(len(codes[0]) if codes else 0) if at is None else at
        # a test's answer for each distinct cell of a column, kept for the next ask (rows of a table share it)
        self._tested: dict[Any, np.ndarray] = {} if tested is None else tested

    def __len__(self) -> int:
        return len(self.at)

    @overload
    def __getitem__(self, k: int) -> Row: ...

    @overload
    def __getitem__(self, k: slice) -> Rows: ...

    def __getitem__(self, k: int | slice) -> Row | Rows:
        if isinstance(k, slice):
            return ColumnRows(self.distinct, self.codes, self.at[k], self._tested)
        p = int(self.at[k])
        return p + 1, self._cells(p)

    def __iter__(self) -> Iterator[Row]:
        for k in range(0, len(self.at), 4096):  # a block of rows at a time, made a column at a time
            block = self[k:k + 4096]
            columns = [block.column(j) for j in range(len(self.codes))]
            cells = map(list, zip(*columns, strict=True)) if columns else ([] for _ in range(len(block)))
            yield from zip(block.numbers(), cells, strict=True)

    def __repr__(self) -> str:
        return f"Rows({len(self)} rows × {len(self.codes)} columns)"

    def take(self, ks: list[int] | np.ndarray) -> Rows:
        if len(ks) == len(self.at):
            return self
        return ColumnRows(self.distinct, self.codes, np.asarray(self.at)[np.asarray(ks, dtype=np.int64)],
                          self._tested)

    @property
    def width(self) -> int:
        return len(self.codes)

    def numbers(self) -> list[int]:
        at = self.at
        return list(range(at.start + 1, at.stop + 1, at.step)) if isinstance(at, range) else (at + 1).tolist()

    def cells(self, row: int) -> list[object]:
        p = row - 1
        if isinstance(self.at, range):
            return self._cells(p) if p in self.at else []
        k = int(np.searchsorted(self.at, p))
        return self._cells(p) if k < len(self.at) and self.at[k] == p else []

    def _cells(self, p: int) -> list[object]:
        return [d[int(c[p])].as_py() if isinstance(d, pa.Array) else d[c[p]]
                for d, c in zip(self.distinct, self.codes, strict=True)]

    def _codes(self, j: int) -> np.ndarray:
        at = self.at
        if isinstance(at, range):
            return self.codes[j][at.start:at.stop:at.step]
        return self.codes[j][at]

    def column(self, j: int) -> list[object]:
        if j >= len(self.codes):
            return [None] * len(self.at)
        distinct = self.distinct[j]
        if isinstance(distinct, pa.Array):
            return distinct.take(pa.array(self._codes(j))).to_pylist()  # type: ignore[no-any-return]
        return distinct[self._codes(j)].tolist()  # type: ignore[no-any-return]

    def mapped(self, j: int, fn: Callable[[object], Any]) -> list[Any]:
        return self.mapped_array(j, fn, object).tolist()  # type: ignore[no-any-return]

    def mapped_array(self, j: int, fn: Callable[[object], Any], dtype: type) -> np.ndarray:
        if j >= len(self.codes):
            return np.full(len(self.at), fn(None), dtype=dtype)
        distinct = self.distinct[j]
        out: np.ndarray = np.empty(len(distinct), dtype=dtype)
        for k, v in enumerate(distinct.to_pylist() if isinstance(distinct, pa.Array) else distinct):
            out[k] = fn(v)
        return out[self._codes(j)]

    def mapped_text(self, j: int, fn: Callable[[object], str | None],
                    given: Callable[[object], bool] | None = None) -> pa.Array:
        if j >= len(self.codes):
            return pa.array([fn(None)] * len(self.at), pa.string())
        distinct = self.distinct[j]
        passes = self._answers(j, given) if given is not None else None
        parts = []  # a block of distinct cells at a time: no Python object for each of a big column's texts
        for at in range(0, len(distinct), TEXT_BLOCK):
            block = distinct[at:at + TEXT_BLOCK]
            cells = block.to_pylist() if isinstance(block, pa.Array) else block
            parts.append(pa.array([fn(v) for v in cells] if passes is None else
                                  [fn(v) if ok else None for v, ok in zip(cells, passes[at:at + TEXT_BLOCK].tolist(),
                                                                          strict=True)], pa.string()))
        texts = pa.concat_arrays(parts) if parts else pa.array([], pa.string())
        return texts.take(pa.array(self._codes(j)))

    def any_cell(self, test: Callable[[object], bool], containing: tuple[str, ...] = ()) -> np.ndarray:
        found = np.zeros(len(self.at), dtype=bool)
        for j in range(len(self.codes)):
            found |= self.tested(j, test, containing)
        return found

    def candidates(self, test: Callable[[object], bool], containing: tuple[str, ...] = ()) -> list[int]:
        return np.flatnonzero(self.any_cell(test, containing)).tolist()  # type: ignore[no-any-return]

    def tested(self, j: int, test: Callable[[object], bool], containing: tuple[str, ...] = ()) -> np.ndarray:
        """Per row, whether its cell of column ``j`` passes ``test`` (a function of the cell alone: its answer
        for each distinct cell is kept for the next ask); ``containing``: see :meth:`any_cell`."""
        if j >= len(self.codes):
            return np.full(len(self.at), test(None), dtype=bool)
        return self._answers(j, test, containing)[self._codes(j)]  # type: ignore[no-any-return]

    def _answers(self, j: int, test: Callable[[object], bool], containing: tuple[str, ...] = ()) -> np.ndarray:
        """``test`` of each distinct cell of column ``j``, kept for the next ask."""
        distinct = self.distinct[j]
        key = (j, test, containing)
        if key not in self._tested:
            if containing and isinstance(distinct, pa.Array) and pa.types.is_string(distinct.type):
                holds = pc.match_substring(distinct, containing[0])
                for text in containing[1:]:
                    holds = pc.or_(holds, pc.match_substring(distinct, text))
                answers = np.zeros(len(distinct), dtype=bool)
                for k in np.flatnonzero(holds.fill_null(False).to_numpy(zero_copy_only=False)).tolist():
                    answers[k] = test(distinct[k].as_py())
            else:
                answers = np.empty(len(distinct), dtype=bool)
                for k, v in enumerate(distinct.to_pylist() if isinstance(distinct, pa.Array) else distinct):
                    answers[k] = test(v)
            self._tested[key] = answers
        return self._tested[key]


@dataclass
class RawTable:
    """One table: its sheet (None for csv/json/parquet) and its :class:`Rows` (a list of (row number, cells)
    given here is held as :meth:`Rows.of_list`).

    ``notes`` are what the reader found in the sheet (located findings); ``merged`` the merged
    ranges as (first row, first column, last row, last column), 1-based, for validation to judge
    against the header rows; ``percent`` the numeric cells shown in a percentage number format,
    as (row, 0-based column): ``0.921`` shown as ``92.1%``.
    """

    sheet: str | None
    rows: Rows
    notes: list[Finding] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    percent: set[tuple[int, int]] = field(default_factory=set)
    dropped: int = 0  # rows whose cells were let go once nothing needed them (:meth:`keeping`)

    def __post_init__(self) -> None:
        if not isinstance(self.rows, Rows):
            self.rows = Rows.of_list(self.rows)

    @property
    def row_count(self) -> int:
        """The rows the table was read with, those whose cells were dropped included."""
        return len(self.rows) + self.dropped

    def keeping(self, numbers: Container[int]) -> RawTable:
        """The same table holding the cells of the rows numbered ``numbers`` only, as a plain list (the
        others' are dropped, and still counted by :attr:`row_count`)."""
        rows = self.rows
        kept = Rows.of_list(list(rows.take([k for k, n in enumerate(rows.numbers()) if n in numbers])))
        return replace(self, rows=kept, dropped=self.dropped + len(rows) - len(kept))

    def cells(self, row: int) -> list[object]:
        """The cells of row number ``row`` (empty when the table has no such row)."""
        return self.rows.cells(row)


class ReadError(Exception):
    """A file that cannot be read at all; ``rule_id`` says why (FILE_TYPE, FILE_UNREADABLE, ...);
    ``params`` fill the rule's message beyond ``detail``."""

    def __init__(self, rule_id: str, detail: str, **params: object):
        super().__init__(detail)
        self.rule_id = rule_id
        self.detail = detail
        self.params = params
