"""How offices lay a table out around its data (contract §2, §3.1): the header block of one or two
rows, the columns every paper form has, notes, and the footer rows that end the table.

Works on a :class:`RawTable` as the reader gave it (cells and merged ranges); which form the
headers name and what the cells mean is validation's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ecostat.contract.forms import known_header_keys
from ecostat.contract.normalize import header_key, is_given, is_missing, shown, text_key
from ecostat.read.types import RawTable, Rows

# Columns the bureau never defined but every paper form has: ignored without a finding.
IGNORED_HEADERS = frozenset(text_key(w) for w in ("序号", "备注", "说明"))
# A row whose first non-empty cell starts with one of these and a colon, after the data, ends the table.
FOOTER_LABELS = ("填报人", "填表人", "制表人", "制表", "审核人", "审核", "负责人", "单位负责人", "联系人",
                 "联系电话", "填报日期", "填表日期", "注", "说明", "备注")
# v1 skipped a one-cell text row starting with one of these anywhere below the header; v2 still does.
NOTE_PREFIXES = ("注", "说明", "备注", "填报", "填表", "制表", "审核", "联系")

# Longest first, so that 审核人 wins over 审核; spaces inside a label allowed (填 报 人：).
_LABEL = "|".join(r"\s*".join(map(re.escape, w)) for w in sorted(FOOTER_LABELS, key=len, reverse=True))
_LABELLED = re.compile(rf"(?:{_LABEL})\s*[:：]")
MAY_END_BODY = (":", "：", *NOTE_PREFIXES)  # what a footer label (its colon) or a note prefix needs to hold
_PAIR = re.compile(rf"(?:^|(?<=[\s，,；;。、|]))(?P<label>{_LABEL})\s*[:：]")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_SEPARATORS = " \t\u3000，,；;。、|"


class FooterPair(NamedTuple):
    """One label–value pair of a footer row: ``填报人：王敏`` in row 12."""

    row: int
    label: str
    value: str


@dataclass
class Layout:
    """Where a table's parts are, once its header row is known."""

    header_rows: list[int]                 # row numbers of the header block (one or two rows)
    header: list[tuple[int, object]]       # per column: (row number of the header cell, the cell)
    body: Rows                             # rows below the header and above the footer, notes left out
    footer: list[FooterPair] = field(default_factory=list)  # label–value pairs of notes and footer rows
    footer_row: int | None = None          # the first footer row
    not_data: set[int] = field(default_factory=set)  # rows below the header that are notes or footer

    @property
    def last_header_row(self) -> int:
        """The header block's last row: data starts below it."""
        return self.header_rows[-1]


def header_keys(cell: object) -> tuple[str, str]:
    """A header cell's whole key and its key without a bracketed unit."""
    if isinstance(cell, str):
        return _text_header_keys(cell)
    name, _ = header_key(cell)
    return (text_key(str(cell)) if cell is not None else ""), name


@lru_cache(maxsize=4096)
def _text_header_keys(cell: str) -> tuple[str, str]:
    # the same header text recurs on every sheet and every row scanned for the header: reduce it once
    return text_key(cell), header_key(cell)[0]


def is_known_header(cell: object) -> bool:
    """Whether a cell names a field of some form (or a unit or period column)."""
    known = known_header_keys()
    return not is_missing(cell) and any(k in known for k in header_keys(cell))


def known_count(cells: list[object]) -> int:
    """How many distinct known headers the cells of a row name (a row of ``Investment`` sixteen times names one:
    a header row needs two distinct fields)."""
    known = known_header_keys()
    named = set()
    for c in cells:
        if not is_missing(c):
            named.update(next(([k] for k in header_keys(c) if k in known), []))
    return len(named)


def is_ignored_header(cell: object) -> bool:
    """序号, 备注 and 说明: columns every paper form has and the contract never defined."""
    return any(k in IGNORED_HEADERS for k in header_keys(cell))


def header_text(cell: object) -> str:
    """A header cell as text, without line breaks (``需整治\\n排口数`` → ``需整治排口数``)."""
    return _LINE_BREAKS.sub("", shown(cell)).strip()


def lay_out(raw: RawTable, at: int) -> Layout:
    """The layout of a table whose first row naming two known headers is ``raw.rows[at]``."""
    first, last = _header_block(raw, at)
    block = list(raw.rows[first:last + 1])  # one or two rows, each made once
    width = max(len(cells) for _, cells in block)
    header: list[tuple[int, object]] = []
    for j in range(width):
        # the lowest cell written: a sub-header under its group cell, or a cell merged down
        written = [(n, cells[j]) for n, cells in block if j < len(cells) and not is_missing(cells[j])]
        header.append(written[-1] if written else (block[0][0], None))
    below = raw.rows[last + 1:]
    layout = Layout([n for n, _ in block], header, below)
    body: list[int] = []  # positions in ``below``
    _place_rows(layout, below, body)
    layout.body = below.take(body)
    return layout


def _place(layout: Layout, body: list[int], k: int, n: int, cells: list[object], seen_data: bool) -> bool:
    """Row ``n`` (position ``k`` below the header) to the footer, the notes or the body; returns whether data
    has been seen by then."""
    if layout.footer_row is not None or _is_labelled(cells):
        if seen_data and layout.footer_row is None:
            layout.footer_row = n
        layout.footer += footer_pairs(n, cells)
        layout.not_data.add(n)
        return seen_data
    if is_note(cells):
        layout.not_data.add(n)
        return seen_data
    body.append(k)
    return seen_data or any(not is_missing(c) for c in cells)


def _may_end_body(cell: object) -> bool:
    """Whether a cell is text that may start a footer or a note row (text holding one of :data:`MAY_END_BODY`
    at least)."""
    if not isinstance(cell, str):
        return False
    text = cell.strip()
    return _LABELLED.match(text) is not None or text.startswith(NOTE_PREFIXES)


def _place_rows(layout: Layout, below: Rows, body: list[int]) -> None:
    """:func:`_place` of every row that may be a footer or note row (:meth:`Rows.candidates`): the rows
    between two such rows are body rows (and, once the footer has begun, every row is looked at)."""
    given: np.ndarray | None = None  # per row, whether it holds something: asked only of rows not looked at
    seen_data, start = False, 0
    for c in [*below.candidates(_may_end_body, MAY_END_BODY), len(below)]:
        if layout.footer_row is not None:
            for k in range(start, len(below)):
                seen_data = _place(layout, body, k, *below[k], seen_data)
            return
        if start < c:
            body.extend(range(start, c))  # rows that are neither footer nor notes
            if not seen_data:
                given = below.any_cell(is_given) if given is None else given
                seen_data = bool(given[start:c].any())
        if c < len(below):
            seen_data = _place(layout, body, c, *below[c], seen_data)
        start = c + 1


def _header_block(raw: RawTable, at: int) -> tuple[int, int]:
    """The header block as indices into ``raw.rows``: the row at ``at``, joined by the row above or
    below when a merged cell spans both (区县代码 over two rows; a group cell such as 整治情况 above
    需整治排口数 and 已完成整治数) and the lower row names a known header."""
    row = raw.rows[at][0]

    def spans(upper: int) -> bool:
        return any(r1 <= upper < r2 for r1, _, r2, _ in raw.merged)

    def consecutive(i: int) -> bool:
        return 0 <= i < len(raw.rows) - 1 and raw.rows[i + 1][0] == raw.rows[i][0] + 1

    if consecutive(at - 1) and spans(row - 1):
        return at - 1, at
    if consecutive(at) and known_count(raw.rows[at + 1][1]) > 0:
        below = raw.rows[at + 1][1]
        group = any(r1 == r2 == row and c2 > c1 and any(not is_missing(c) for c in below[c1 - 1:c2])
                    for r1, c1, r2, c2 in raw.merged)
        if group or spans(row):
            return at, at + 1
    return at, at


def _first_text(cells: list[object]) -> str | None:
    given = next((c for c in cells if not is_missing(c)), None)
    return given if isinstance(given, str) else None


def _is_labelled(cells: list[object]) -> bool:
    """Whether a row's first non-empty cell starts with a footer label and a colon (``审核人：``)."""
    text = _first_text(cells)
    return text is not None and _LABELLED.match(text.strip()) is not None


def is_note(cells: list[object]) -> bool:
    """A row holding one text cell that starts like a note (``注 本表数据截至…``): skipped, as in v1."""
    given = None
    for c in cells:
        if not is_missing(c):
            if given is not None:
                return False  # a second cell: not a note
            given = c
    return isinstance(given, str) and given.strip().startswith(NOTE_PREFIXES)


def footer_pairs(row: int, cells: list[object]) -> list[FooterPair]:
    """The label–value pairs of a footer row, in one cell or across cells:
    ``填报人：王敏  审核人：刘强  联系电话：0791-…``. Text before the first label is left out."""
    text = "  ".join(shown(c).strip() for c in cells if not is_missing(c))
    found = list(_PAIR.finditer(text))
    pairs = []
    for k, m in enumerate(found):
        end = found[k + 1].start() if k + 1 < len(found) else len(text)
        label = re.sub(r"\s+", "", m["label"])
        pairs.append(FooterPair(row, label, text[m.end():end].strip(_SEPARATORS)))
    return pairs
