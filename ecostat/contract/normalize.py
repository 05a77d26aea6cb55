"""Cell and header normalisers: numbers, periods, headers and spreadsheet columns.

Each parser takes a raw cell (str, int, float, datetime or None) and returns what it means,
or says precisely why it cannot; none of them raises on bad input.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass

MISSING_MARKERS = frozenset({"", "—", "——", "-", "--", "/", "无", "na", "n/a"})
QUALIFIERS_BEFORE = ("≥", ">=", "以上", "多")
QUALIFIERS_AFTER = ("以上", "多", "≥")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")  # 1,072 or 1,250,000.5
_SPACES = re.compile(r"\s+")
_HEADER_UNIT = re.compile(r"^(?P<name>.*?)[(\[](?P<unit>[^()\[\]]*)[)\]]$")
# a number (with its qualifier) and a suffix that starts like no number does: 45个, 1000多个, 0.068mg/L
_NUMBER_THEN_SUFFIX = re.compile(r"(?P<number>.*?\d%?(?:以上|多)?)\s*(?P<suffix>(?![eE][+-]?\d)[^\d\s.,%].*)")


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width digits, letters, brackets and signs become half-width."""
    return unicodedata.normalize("NFKC", text)


def text_key(text: str) -> str:
    """A text reduced for matching: NFKC, no whitespace, lower case."""
    return _SPACES.sub("", nfkc(text)).lower()


def header_key(text: object) -> tuple[str, str | None]:
    """A header's matching key and the unit written in trailing brackets, if any.

    ``需整治排口数（个）`` → (``需整治排口数``, ``个``); ``required`` → (``required``, None).
    """
    if text is None:
        return "", None
    key = text_key(str(text))
    m = _HEADER_UNIT.match(key)
    if m and m.group("name"):
        return m.group("name"), m.group("unit")
    return key, None


def is_missing(raw: object) -> bool:
    """Whether a cell means "no value": empty, NaN, or one of the contract's markers."""
    if raw is None:
        return True
    if isinstance(raw, float) and raw != raw:
        return True
    if isinstance(raw, str):
        if raw.isascii():  # NFKC leaves ASCII as it is: text_key without its cost
            if raw.isalnum():  # letters and digits only (a code): of the markers, only na
                return len(raw) == 2 and raw.lower() == "na"
            return "".join(raw.split()).lower() in MISSING_MARKERS
        if raw.isalnum() and len(raw) > 2:
            # letters and digits only: NFKC cannot shorten them to a marker (无 or na) beyond two characters
            return False
        return text_key(raw) in MISSING_MARKERS
    return False


def is_given(cell: object) -> bool:
    """Whether a cell holds something (not :func:`is_missing`)."""
    return not is_missing(cell)


def shown(raw: object) -> str:
    """A cell's value as the submitter wrote it (numbers without a spurious ``.0``)."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime):
        return raw.strftime("%Y-%m-%d") if raw.time() == dt.time() else raw.isoformat(sep=" ")
    return str(raw)


@dataclass(frozen=True)
class Number:
    """A parsed numeric cell: value, whether it had a ``%`` and whether it said "at least"."""

    value: float | None
    percent: bool = False
    at_least: bool = False
    error: str | None = None  # "number" when the cell is not a number


def parse_number(raw: object) -> Number:
    """Parse a numeric cell: ``1,072``, ``１０７２``, ``92.1%``, ``60%以上``, ``1000多``, `` 32 ``."""
    if is_missing(raw):
        return Number(None)
    if isinstance(raw, bool):
        return Number(None, error="number")
    if isinstance(raw, int | float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return Number(None, error="number")
        return Number(float(raw))
    text = nfkc(str(raw)).strip()
    at_least = False
    for q in QUALIFIERS_BEFORE:
        if text.startswith(q):
            text, at_least = text[len(q):].strip(), True
            break
    for q in QUALIFIERS_AFTER:
        if text.endswith(q):
            text, at_least = text[: -len(q)].strip(), True
            break
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    text = text.lower()
    if "," in text and _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    if not _NUMBER.fullmatch(text) or not math.isfinite(value := float(text)):
        return Number(None, error="number")
    return Number(value, percent=percent, at_least=at_least)


def split_unit(raw: object) -> tuple[str, str] | None:
    """A text cell written as a number followed by a unit or counting word, split in two:
    ``45个`` → (``45``, ``个``), ``0.13亿元`` → (``0.13``, ``亿元``), ``1000多个`` → (``1000多``, ``个``),
    ``60个以上`` → (``60以上``, ``个``). None when the cell is not written so (``约32``, ``1.2.3``)."""
    if not isinstance(raw, str):
        return None
    text = nfkc(raw).strip()
    after = next((q for q in QUALIFIERS_AFTER if text.endswith(q)), "")
    m = _NUMBER_THEN_SUFFIX.fullmatch(text[: len(text) - len(after)].rstrip())
    if m is None:
        return None
    return m["number"] + after, m["suffix"].strip()


def is_whole(value: float) -> bool:
    """Whether a float is a whole number (to within float noise)."""
    return abs(value - round(value)) < 1e-9


@dataclass(frozen=True)
class Period:
    """A report period: a year (annual, final report) or a month (year-to-date cumulative)."""

    year: int
    month: int | None = None

    @property
    def label(self) -> str:
        """Canonical text: ``2024`` or ``2024-06``."""
        return f"{self.year}" if self.month is None else f"{self.year}-{self.month:02d}"

    @property
    def rank(self) -> int:
        """Order within a year: months 1–12, the annual report 13."""
        return 13 if self.month is None else self.month

    @property
    def order(self) -> int:
        """Order across years: 202406 for June 2024, 202413 for the 2024 annual report."""
        return self.year * 100 + self.rank

    @property
    def days(self) -> int:
        """Days from 1 January to the end of the period."""
        return (self.end - dt.date(self.year, 1, 1)).days + 1

    @property
    def end(self) -> dt.date:
        """The period's last day."""
        month = self.month or 12
        return dt.date(self.year, month, calendar.monthrange(self.year, month)[1])

    @classmethod
    def from_label(cls, label: str) -> Period:
        """Inverse of :attr:`label`."""
        year, _, month = label.partition("-")
        return cls(int(year), int(month) if month else None)


_PERIOD_PATTERNS = (
    re.compile(r"(?P<y>\d{4})年?(?:度|年报)?"),
    re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})"),
    re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?:份|报)?"),
)


def parse_period(raw: object) -> Period | None:
    """Parse ``2024``, ``2024年`` (annual) or ``2024-06``, ``2024/06``, ``202406``, ``2024年6月``."""
    if isinstance(raw, dt.datetime | dt.date):
        return Period(raw.year, raw.month)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if raw is None or isinstance(raw, bool | float):
        return None
    text = text_key(str(raw))
    for pattern in _PERIOD_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            year = int(m.group("y"))
            month = int(m["m"]) if "m" in m.groupdict() and m["m"] else None
            if not 2000 <= year <= 2100 or (month is not None and not 1 <= month <= 12):
                return None
            return Period(year, month)
    return None


def column_letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based column index: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
