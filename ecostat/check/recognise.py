"""Recognising a table: its header row, and the form whose fields the header names (contract §2)."""

from __future__ import annotations

import difflib
from collections import defaultdict
from functools import lru_cache

from ecostat.check.layout import header_keys, known_count
from ecostat.contract.forms import COMMON_HEADERS, FORMS
from ecostat.contract.formspec import Form
from ecostat.contract.normalize import is_missing
from ecostat.read.types import RawTable

INSTRUCTIONS_SHEET = "填报说明"  # the templates' instructions: not a table unless it holds a header row


def field_for(key: str, form: Form) -> str | None:
    """The field of ``form`` (or the common unit or period column) a header key names, or None."""
    for common, keys in COMMON_HEADERS.items():
        if key in keys:
            return common
    for f in form.fields:
        if key in f.keys:
            return f.code
    return None


def is_instructions(raw: RawTable) -> bool:
    """Whether a sheet is a template's instructions sheet (named so, and without a header row)."""
    return raw.sheet == INSTRUCTIONS_SHEET and all(known_count(cells) < 2 for _, cells in raw.rows)


NEAREST_KEYS = 64  # headers compared by likeness when no form is named: enough for any real table


def _fields_by_key() -> dict[str, list[tuple[str, str]]]:
    """Every header key of every form's fields: the (form, field) pairs it names (made again when the
    registry of forms changes)."""
    return _index_of(tuple(FORMS.values()))


@lru_cache(maxsize=4)
def _index_of(forms: tuple[Form, ...]) -> dict[str, list[tuple[str, str]]]:
    index: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for form in forms:
        for f in form.fields:
            for key in f.keys:
                index[key].append((form.code, f.code))
    return dict(index)


def recognise(header: list[object]) -> tuple[Form, int]:
    """The form whose fields the header names best, and how many of its fields it names.

    Linear in the number of headers: each header key is looked up once. Only when the header names
    no field of any form is the nearest form chosen by likeness (difflib), among the forms missing
    the fewest required fields and over the first :data:`NEAREST_KEYS` distinct header keys."""
    keys = list(dict.fromkeys(k for c in header if not is_missing(c) for k in header_keys(c)))
    index = _fields_by_key()
    named: dict[str, set[str]] = {code: set() for code in FORMS}
    for key in keys:
        for form_code, field_code in index.get(key, ()):
            named[form_code].add(field_code)

    def score(form: Form) -> tuple[int, int]:
        missing = sum(1 for f in form.fields if f.required and f.code not in named[form.code])
        return len(named[form.code]), -missing

    best = max(score(f) for f in FORMS.values())
    tied = [f for f in FORMS.values() if score(f) == best]
    if best[0] > 0 or not keys or len(tied) == 1:
        return tied[0], best[0]
    probe = keys[:NEAREST_KEYS]

    def closeness(form: Form) -> float:
        return sum(max(difflib.SequenceMatcher(None, k, fk).ratio() for k in probe for fk in f.keys)
                   for f in form.fields)

    return max(tied, key=closeness), 0


def header_row_index(raw: RawTable) -> tuple[int | None, int]:
    """The index into ``raw.rows`` of the header row (the first naming two known headers), or None;
    and the row to lay the table out from: the header row, else the row naming the most."""
    best, best_count = 0, -1
    for i, (_, cells) in enumerate(raw.rows):
        count = known_count(cells)
        if count >= 2:
            return i, i
        if count > best_count:
            best, best_count = i, count
    return None, best

