"""The code register's check (contract v3 §4.2, §4.8 amended), looked up a chunk of rows at a time: a real csv of
a district's drinking-water sources, against a register file the test writes, gives exactly the findings of the
rule applied row by row (``CODE_UNREGISTERED`` for a code not registered in the row's year, ``AUTH_CODE`` for
one registered to another unit), and the register read by Arrow is the register read by the csv module."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from ecostat.check import codes
from ecostat.check.files import check_file
from ecostat.contract import registry
from ecostat.contract.registry import CodeRegister
from ecostat.intake.archive import Receipt
from tests.conftest import write_csv
from tests.forms_data import column_of, header, row

UNIT = "360121"
REGISTER = [  # code, owner, from_year, to_year (a code may be registered twice, to one unit after another)
    *((f"DW{i:03}", UNIT, "2020", "") for i in range(40)),
    *((f"DX{i:03}", "360111", "2023", "") for i in range(10)),      # another unit's
    ("DY001", UNIT, "2020", "2022"), ("DY001", "360111", "2023", ""),  # moved to 360111 in 2023
    ("DY002", "360111", "2020", "2023"), ("DY002", UNIT, "2024", ""),  # moved to this unit in 2024
    ("DZ001", UNIT, "2020", "2022"),                                  # no longer registered
    ("  DW900 ", UNIT, "2024", "2024"),                               # spaces around a registered code
]


def write_register(folder: Path, rows: list[tuple[str, ...]]) -> Path:
    """A register file in ``folder`` as the bureau keeps them."""
    return write_csv(folder / "source_register.csv", [["code", "name", "owner", "from_year", "to_year"],
                                                      *([c, f"水源{c}", o, f, t] for c, o, f, t in rows)])


def read_register(folder: Path, monkeypatch: pytest.MonkeyPatch) -> CodeRegister:
    """The register of ``folder``, read afresh (the cached one of the shipped registers untouched)."""
    with monkeypatch.context() as m:
        m.setattr(registry, "REGISTRY_DIR", folder)
        return registry.code_register.__wrapped__("source_register")  # type: ignore[no-any-return]


def row_by_row(spans: list[tuple[str, ...]], code: str, year: int) -> str | None:
    """The owner of ``code`` in ``year``, by the register's first registration of it that covers the year."""
    for c, owner, first, last in spans:
        if c.strip() == code.strip() and int(first) <= year and (not last or year <= int(last)):
            return owner
    return None


def test_a_csv_gets_the_findings_of_the_rule_applied_row_by_row(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    write_register(tmp_path / "registers", REGISTER)
    register = read_register(tmp_path / "registers", monkeypatch)
    monkeypatch.setattr(codes, "code_register", lambda name: register)
    monkeypatch.setattr(codes, "CHUNK_ROWS", 7)  # several chunks, a finding at each chunk's edge
    cells = ["DW001", "DX003", "DY001", "DY002", "DZ001", " DW002 ", "DW900", "NOPE1", "", "DW039", "DX009",
             "DW901", "dw001"]
    rows = [(code, period) for period in ("2022", "2024") for code in cells]
    path = write_csv(tmp_path / "inbox" / UNIT / "水源地.csv", [header("drinking_water"), *(
        row("drinking_water", unit=UNIT, period=period, source_code=code, source_level="农村")
        for code, period in rows)])
    data = path.read_bytes()
    now = dt.datetime(2025, 1, 20, tzinfo=dt.UTC)
    rec = Receipt("t", hashlib.sha256(data).hexdigest(), f"{UNIT}/{path.name}", UNIT, len(data), now, now)
    tables = check_file(rec, data)
    assert isinstance(tables, list) and len(tables) == 1
    found = [(f.rule_id, f.row, f.column, f.value, f.params.get("owner")) for f in tables[0].findings
             if f.rule_id in ("AUTH_CODE", "CODE_UNREGISTERED")]

    expected = []
    for n, (code, period) in enumerate(rows, 2):
        if not code.strip():
            continue
        owner = row_by_row(REGISTER, code, int(period))
        if owner is None:
            expected.append(("CODE_UNREGISTERED", n, column_of("drinking_water", "source_code"), code, None))
        elif owner != UNIT:
            expected.append(("AUTH_CODE", n, column_of("drinking_water", "source_code"), code, owner))
    assert found == expected
    # rows 2-14 are of 2022, rows 15-27 of 2024, in the order of ``cells``
    assert [f[1] for f in found if f[0] == "AUTH_CODE"] == [5, 16, 17, 25]  # DY002 until 2023, DY001 from 2023
    assert [f[1] for f in found if f[0] == "CODE_UNREGISTERED"] == [3, 8, 9, 12, 13, 14, 19, 22, 26, 27]
    assert ("CODE_UNREGISTERED", 19, "C", "DZ001", None) in found  # registered until 2022 (row 6 is of 2022)
    assert found[1] == ("AUTH_CODE", 5, "C", "DY002", "360111")


def test_the_register_read_by_arrow_is_the_register_read_by_the_csv_module(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    write_register(tmp_path / "arrow", REGISTER)
    # a year written with spaces: Arrow's reader refuses it, the csv module reads it as before
    write_register(tmp_path / "csv", [*REGISTER[:-1], ("  DW900 ", UNIT, " 2024", "2024 ")])
    by_arrow = read_register(tmp_path / "arrow", monkeypatch)
    by_csv = read_register(tmp_path / "csv", monkeypatch)
    expected: dict[str, tuple[tuple[int, int | None, str], ...]] = {}
    for code, owner, first, last in REGISTER:
        expected[code.strip()] = (*expected.get(code.strip(), ()), (int(first), int(last) if last else None, owner))
    assert by_arrow.owners == by_csv.owners == expected
    years = list(range(2019, 2026))
    for code in [*expected, "NOPE", "DW900 "]:
        assert by_arrow.owners_of([code.strip()] * len(years), years) == [
            row_by_row(REGISTER, code, y) for y in years] == [by_csv.owner(code, y) for y in years]
    given = CodeRegister("source_register", expected)  # a register given as a mapping answers the same
    assert given.owners_of(["DY001", "DY002", "DW000", "DX000"], [2024] * 4) == ["360111", UNIT, UNIT, "360111"]
