"""Property and example tests for the cell/header normalisers (contract section 3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecostat.contract.normalize import (
    MISSING_MARKERS,
    Number,
    Period,
    column_letter,
    header_key,
    is_missing,
    parse_number,
    parse_period,
    text_key,
)
from ecostat.contract.registry import registry

FAST = settings(max_examples=200, deadline=None)

_FULL_WIDTH = str.maketrans({**{str(d): chr(0xFF10 + d) for d in range(10)}, ",": "，", ".": "．"})


def full_width(text: str) -> str:
    """Digits, comma and full stop as their full-width forms (`１，０７２．５`)."""
    return text.translate(_FULL_WIDTH)


def test_full_width_helper_really_changes_text() -> None:
    assert full_width("1,072.5") == "１，０７２．５"


# --------------------------------------------------------------------------- parse_number

integers = st.integers(min_value=-10**12, max_value=10**12)
decimals = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=3,
                       allow_nan=False, allow_infinity=False)


def plain(d: Decimal) -> str:
    """A decimal written without exponent: ``1234.500``."""
    return format(d, "f")


def grouped(d: Decimal) -> str:
    """A decimal written with thousands separators: ``1,234.500``."""
    return format(d, ",f")


def variants(text: str) -> list[str]:
    return [text, f"  {text} ", f"\t{text}\u3000", full_width(text), f" {full_width(text)} "]


@FAST
@given(integers)
def test_parse_number_integer_variants(n: int) -> None:
    for text in [*variants(str(n)), *variants(f"{n:,}")]:
        got = parse_number(text)
        assert got == Number(float(n)), text


@FAST
@given(decimals)
def test_parse_number_decimal_variants(d: Decimal) -> None:
    for text in [*variants(plain(d)), *variants(grouped(d))]:
        got = parse_number(text)
        assert got.error is None, text
        assert got.value == float(d), text
        assert not got.percent and not got.at_least


@FAST
@given(st.decimals(min_value=0, max_value=Decimal("1000"), places=2))
def test_parse_number_percent(d: Decimal) -> None:
    for text in (f"{plain(d)}%", f" {plain(d)} % ", full_width(plain(d)) + "％"):
        got = parse_number(text)
        assert got == Number(float(d), percent=True), text


@FAST
@given(st.one_of(integers.map(str), decimals.filter(lambda d: d >= 0).map(grouped)),
       st.sampled_from(["以上", "多", "≥"]), st.booleans(), st.booleans())
def test_parse_number_qualifier_before_or_after(text: str, qualifier: str, before: bool, percent: bool) -> None:
    value = float(text.replace(",", ""))
    body = f"{text}%" if percent else text
    cell = f"{qualifier}{body}" if before else f"{body}{qualifier}"
    got = parse_number(cell)
    assert got == Number(value, percent=percent, at_least=True), cell


@pytest.mark.parametrize("cell, expected", [
    ("1,072", Number(1072.0)),
    ("１０７２", Number(1072.0)),
    ("１，０７２", Number(1072.0)),
    (" 32 ", Number(32.0)),
    ("92.1%", Number(92.1, percent=True)),
    ("60%以上", Number(60.0, percent=True, at_least=True)),
    ("1000多", Number(1000.0, at_least=True)),
    ("≥5", Number(5.0, at_least=True)),
    ("5≥", Number(5.0, at_least=True)),
    ("以上5", Number(5.0, at_least=True)),
])
def test_parse_number_examples(cell: str, expected: Number) -> None:
    assert parse_number(cell) == expected


@pytest.mark.parametrize("cell", ["", "   ", "—", "——", "-", "--", "/", "无", "NA", "na", "N/A", "n/a",
                                  " N / A ", "ＮＡ", None, float("nan")])
def test_parse_number_missing(cell: object) -> None:
    assert parse_number(cell) == Number(None)


@pytest.mark.parametrize("cell", ["abc", "1.2.3", "nan", "NaN", "inf", "-inf", "十", "一百", True, False,
                                  float("inf"), float("-inf"), "%", "以上", "≥", "12a", "1.2,3x"])
def test_parse_number_garbage(cell: object) -> None:
    got = parse_number(cell)
    assert got.error == "number"
    assert got.value is None


@pytest.mark.parametrize("cell", ["1,2,3", "1,5", "1,,0", "12,34"])
def test_parse_number_rejects_misplaced_commas(cell: str) -> None:
    assert parse_number(cell).error == "number"


@FAST
@given(st.one_of(integers, st.floats(allow_nan=False, allow_infinity=False)))
def test_parse_number_native_numbers(x: int | float) -> None:
    got = parse_number(x)
    assert got == Number(float(x))
    assert type(got.value) is float


# --------------------------------------------------------------------------- parse_period

years = st.integers(min_value=2000, max_value=2100)
months = st.integers(min_value=1, max_value=12)


@FAST
@given(years)
def test_parse_period_annual(y: int) -> None:
    for raw in (str(y), f"{y}年", f" {y} ", full_width(str(y)), full_width(str(y)) + "年", y, float(y)):
        assert parse_period(raw) == Period(y, None), raw


@FAST
@given(years, months)
def test_parse_period_monthly(y: int, m: int) -> None:
    texts = [f"{y}-{m:02d}", f"{y}/{m:02d}", f"{y}{m:02d}", f"{y}年{m}月", f"{y}年{m:02d}月", f"{y}-{m}"]
    for raw in [*texts, *(full_width(t) for t in texts), int(f"{y}{m:02d}"), float(f"{y}{m:02d}"),
                dt.datetime(y, m, 1), dt.date(y, m, 28)]:
        assert parse_period(raw) == Period(y, m), raw


@FAST
@given(years, st.one_of(st.none(), months))
def test_period_label_round_trip(y: int, m: int | None) -> None:
    p = Period(y, m)
    assert p.label == (str(y) if m is None else f"{y}-{m:02d}")
    assert Period.from_label(p.label) == p
    assert parse_period(p.label) == p


@pytest.mark.parametrize("period, days", [
    (Period(2024), 366), (Period(2023), 365), (Period(2024, 1), 31), (Period(2024, 2), 60),
    (Period(2023, 2), 59), (Period(2024, 12), 366), (Period(2100), 365),
])
def test_period_days(period: Period, days: int) -> None:
    assert period.days == days


@FAST
@given(years, months)
def test_period_days_matches_calendar(y: int, m: int) -> None:
    assert Period(y, m).days == (Period(y, m).end - dt.date(y, 1, 1)).days + 1
    assert Period(y).days == (366 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 365)


@pytest.mark.parametrize("raw", ["2024-13", "2024-00", "2024年13月", "2024年0月", "202413", "202400", "24",
                                 "2024Q1", "abcd", "1999", "2101", "", None, True, 2024.5, "2024-06-01x"])
def test_parse_period_invalid(raw: object) -> None:
    assert parse_period(raw) is None


def test_parse_period_datetime() -> None:
    assert parse_period(dt.datetime(2024, 6, 1)) == Period(2024, 6)
    assert parse_period(dt.datetime(2024, 6, 1, 13, 45)) == Period(2024, 6)


# --------------------------------------------------------------------------- header_key

@pytest.mark.parametrize("raw", ["需整治排口数（个）", "需整治排口数(个)", " 需整治排口数 ( 个 ) ",
                                 "需整治排口数 （个）", "需整治排口数[个]"])
def test_header_key_unit_in_brackets(raw: str) -> None:
    assert header_key(raw) == ("需整治排口数", "个")


@pytest.mark.parametrize("raw, expected", [
    ("required", ("required", None)),
    ("ｒｅｑｕｉｒｅｄ", ("required", None)),
    ("ＲＥＱＵＩＲＥＤ", ("required", None)),
    (" Required ", ("required", None)),
    ("ｒｅｑｕｉｒｅｄ（个）", ("required", "个")),
    ("罚款金额（万元）", ("罚款金额", "万元")),
    (None, ("", None)),
])
def test_header_key_examples(raw: object, expected: tuple[str, str | None]) -> None:
    assert header_key(raw) == expected


header_names = st.text(
    alphabet=st.one_of(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
                       st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ ")),
    min_size=1, max_size=12,
).filter(lambda s: s.strip())
units = st.sampled_from(["个", "万元", "元", "亿元", "%", "％", "天", "亩",
                         "mg/L", "μg/m3", "µg/m³", "微克/立方米", "hm2"])


@FAST
@given(header_names, units)
def test_header_key_bracket_forms_agree(name: str, unit: str) -> None:
    half = header_key(f"{name}({unit})")
    full = header_key(f"{name}（{unit}）")
    spaced = header_key(f" {name} （ {unit} ） ")
    assert half == full == spaced == (text_key(name), text_key(unit))
    assert header_key(name) == (text_key(name), None)


# --------------------------------------------------------------------------- registries

ROMAN_UPPER = ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ"]
ROMAN_ASCII = ["I", "II", "III", "IV", "V"]
ROMAN_LOWER = ["ⅰ", "ⅱ", "ⅲ", "ⅳ", "ⅴ"]


@pytest.mark.parametrize("i", range(5))
@pytest.mark.parametrize("suffix", ["", "类", " 类"])
@pytest.mark.parametrize("spelling", [ROMAN_UPPER, ROMAN_ASCII, ROMAN_LOWER, ["1", "2", "3", "4", "5"]])
def test_water_classes(i: int, suffix: str, spelling: list[str]) -> None:
    entry = registry("water_classes").resolve(spelling[i] + suffix)
    assert entry is not None and entry.code == str(i + 1)


@pytest.mark.parametrize("raw", [1, 2.0, 3, "４", "iv", "v类"])
def test_water_classes_numbers_and_case(raw: object) -> None:
    entry = registry("water_classes").resolve(raw)
    assert entry is not None
    assert entry.code == {1: "1", 2.0: "2", 3: "3", "４": "4", "iv": "4", "v类": "5"}[raw]


@pytest.mark.parametrize("raw", ["劣Ⅴ", "劣V", "劣Ⅴ类", "劣V类", "劣ⅴ", "劣5", "劣5类", " 劣 Ⅴ 类 "])
def test_water_class_worse_than_v(raw: str) -> None:
    entry = registry("water_classes").resolve(raw)
    assert entry is not None and entry.code == "6"


@pytest.mark.parametrize("raw", ["Ⅵ", "VI", "7", 7, "0", "好", "劣", "", None, "Ⅰ类水"])
def test_water_class_unknown(raw: object) -> None:
    assert registry("water_classes").resolve(raw) is None


@pytest.mark.parametrize("raw, code", [
    ("360102", "360102"), (360102, "360102"), (360102.0, "360102"), ("东湖区", "360102"), ("东湖", "360102"),
    ("湾里", "360105"), ("湾里区", "360105"), ("湾里管理局", "360105"), ("南昌县", "360121"),
    ("市本级", "360100"), ("南昌市", "360100"), (" 青 山 湖 区 ", "360111"), ("３６０１１３", "360113"),
])
def test_units_registry(raw: object, code: str) -> None:
    entry = registry("units").resolve(raw)
    assert entry is not None and entry.code == code


def test_units_registry_every_csv_word_resolves() -> None:
    import csv

    from ecostat.contract.registry import REGISTRY_DIR
    with open(REGISTRY_DIR / "units.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 11
    for row in rows:
        for word in (row["code"], row["name"], *filter(None, row["aliases"].split("|"))):
            entry = registry("units").resolve(word)
            assert entry is not None and entry.code == row["code"], word


@pytest.mark.parametrize("raw", ["999999", 360101, 360102.5, "南昌", "东湖区区", "", None, "360102.0"])
def test_units_registry_unknown(raw: object) -> None:
    assert registry("units").resolve(raw) is None


# --------------------------------------------------------------------------- column_letter

@pytest.mark.parametrize("index, letters", [
    (0, "A"), (1, "B"), (25, "Z"), (26, "AA"), (27, "AB"), (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA"),
    (16383, "XFD"),
])
def test_column_letter_examples(index: int, letters: str) -> None:
    assert column_letter(index) == letters


def _sort_key(s: str) -> tuple[int, str]:
    return len(s), s


@FAST
@given(st.integers(min_value=0, max_value=200_000), st.integers(min_value=1, max_value=200_000))
def test_column_letter_strictly_increasing(i: int, step: int) -> None:
    a, b = column_letter(i), column_letter(i + step)
    assert a.isascii() and a.isupper() and a.isalpha()
    assert _sort_key(a) < _sort_key(b)


def test_column_letter_is_bijective_over_first_three_letters() -> None:
    letters = [column_letter(i) for i in range(26 + 26**2 + 26**3)]
    assert len(set(letters)) == len(letters)
    assert letters == sorted(letters, key=_sort_key)
    assert letters[-1] == "ZZZ" and all(len(s) <= 3 for s in letters)


def test_column_letter_matches_openpyxl() -> None:
    from openpyxl.utils import get_column_letter
    for i in range(0, 18278, 7):
        assert column_letter(i) == get_column_letter(i + 1)



@given(st.text(max_size=8) | st.sampled_from(["无", "ＮＡ", "n / a", "——", "㎁", " 无 ", "\u3000-\u3000", "N\tA", "nA",
                                                 "NA1", "W0000001"]))
def test_missing_text_is_found_as_its_key_says(text: str) -> None:
    """is_missing's shortcuts (ASCII, longer letters-and-digits) agree with the reduced key everywhere."""
    assert is_missing(text) == (text_key(text) in MISSING_MARKERS)
