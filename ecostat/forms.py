"""The registry of forms: every module in ``schemas/`` that declares a ``FORM``."""

from __future__ import annotations

from functools import cache

from ecostat.formspec import PERIOD, UNIT_CODE, UNIT_NAME, Form
from ecostat.normalize import text_key
from schemas import (
    air_quality,
    enforcement,
    inspection_problems,
    outfall_remediation,
    petitions,
    rural_soil,
    water_sections,
)

FORMS: dict[str, Form] = {m.FORM.code: m.FORM for m in (
    air_quality, water_sections, outfall_remediation, inspection_problems, petitions,
    enforcement, rural_soil)}

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
