"""The registry of forms: every module in ``schemas/`` that declares a ``FORM``, in the order of the
contract's sections. Adding a form is adding its module (and its data rows); nothing here changes."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import schemas
from ecostat.contract.formspec import PERIOD, UNIT_CODE, UNIT_NAME, Form
from ecostat.contract.normalize import text_key


def _declared() -> list[Form]:
    found = [getattr(importlib.import_module(f"schemas.{m.name}"), "FORM", None)
             for m in pkgutil.iter_modules(schemas.__path__)]
    forms = [f for f in found if isinstance(f, Form)]
    return sorted(forms, key=lambda f: (tuple(int(p) for p in f.section.split(".") if p.isdigit()), f.code))


FORMS: dict[str, Form] = {f.code: f for f in _declared()}

# The columns shared by every form: how a row names its unit and period.
COMMON_HEADERS: dict[str, set[str]] = {
    UNIT_CODE: {text_key(w) for w in (UNIT_CODE, "区县代码", "单位代码", "行政区划代码", "代码")},
    UNIT_NAME: {text_key(w) for w in (UNIT_NAME, "区县", "单位", "区县名称", "单位名称", "unit")},
    PERIOD: {text_key(w) for w in (PERIOD, "报告期", "报告期间", "期间")},
}


@cache
def known_header_keys() -> frozenset[str]:
    """Every header key of every form, for finding the header row."""
    keys: set[str] = set().union(*COMMON_HEADERS.values())
    for form in FORMS.values():
        for f in form.fields:
            keys |= f.keys
    return frozenset(keys)
