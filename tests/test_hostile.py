"""Hostile and odd files, each made here: `ecostat validate` gives one precise finding naming the
file, no traceback, and nothing else is affected."""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import msoffcrypto
import openpyxl
import pytest
from msoffcrypto.format.ooxml import OOXMLFile

from ecostat.cli import main
from ecostat.read.tables import read_tables
from ecostat.read.xls import CFB_SIGNATURE
from ecostat.run import ingest as steps
from ecostat.store.warehouse import connect
from tests.conftest import write_csv, write_xlsx
from tests.forms_data import header, row

FIXTURES = Path(__file__).parent / "fixtures"

OUTFALL = header("outfall_remediation")
GOOD = [OUTFALL, row("outfall_remediation"), row("outfall_remediation", water_body="抚河", required=3, completed=3)]


def _xlsx(path: Path, rows: list[list[object]] = GOOD) -> Path:
    return write_xlsx(path, {"排口": rows})


def corrupt(d: Path) -> Path:
    p = d / "corrupt.xlsx"
    p.write_bytes(random.Random(7).randbytes(3000))
    return p


def truncated(d: Path) -> Path:
    data = _xlsx(d / "whole.xlsx").read_bytes()
    p = d / "truncated.xlsx"
    p.write_bytes(data[: len(data) // 2])
    return p


def encrypted(d: Path) -> Path:
    """A real password-protected xlsx: msoffcrypto-tool encrypts a workbook (an OLE2 container with
    EncryptionInfo and EncryptedPackage streams, as Excel writes it)."""
    plain = _xlsx(d / "plain.xlsx")
    p = d / "加密.xlsx"
    with plain.open("rb") as src, p.open("wb") as out:
        OOXMLFile(src).encrypt("密码123", out)
    plain.unlink()
    with p.open("rb") as fh:
        assert OOXMLFile(fh).is_encrypted()
    return p


def encrypted_xls(d: Path) -> Path:
    """A password-protected Excel 97–2003 workbook saved by Excel (tests/fixtures/README.md)."""
    p = d / "加密.xls"
    shutil.copyfile(FIXTURES / "rc4cryptoapi_password.xls", p)
    return p


def corrupt_xls(d: Path) -> Path:
    p = d / "损坏.xls"
    p.write_bytes(CFB_SIGNATURE + random.Random(4).randbytes(4000))
    return p


def formula_without_value(d: Path) -> Path:
    p = _xlsx(d / "formula.xlsx")
    wb = openpyxl.load_workbook(p)
    wb["排口"]["E3"] = "=D3-0"  # openpyxl saves formulas without a cached result
    wb.save(p)
    return p


def merged_data(d: Path) -> Path:
    p = _xlsx(d / "merged.xlsx", [OUTFALL, row("outfall_remediation"),
                                  row("outfall_remediation", water_body=None, required=3, completed=3)])
    wb = openpyxl.load_workbook(p)
    wb["排口"].merge_cells("C2:C3")
    wb.save(p)
    return p


def empty_csv(d: Path) -> Path:
    p = d / "empty.csv"
    p.write_bytes(b"")
    return p


def empty_xlsx(d: Path) -> Path:
    p = d / "empty.xlsx"
    p.write_bytes(b"")
    return p


def header_only(d: Path) -> Path:
    return _xlsx(d / "header_only.xlsx", [OUTFALL])


def unicode_text(d: Path, name: str = "unicode.txt") -> Path:
    """Excel's "Unicode Text": UTF-16LE with BOM, tab-separated."""
    p = d / name
    p.write_bytes("\r\n".join("\t".join(str(c) for c in r) for r in GOOD).encode("utf-16"))
    assert p.read_bytes().startswith(b"\xff\xfe")
    return p


def too_large(d: Path) -> Path:
    p = d / "large.csv"
    line = ",".join(str(c) for c in GOOD[1]) + "\n"
    p.write_text(",".join(OUTFALL) + "\n" + line * (21 * 1024 * 1024 // len(line)), encoding="utf-8")
    assert p.stat().st_size > 20 * 1024 * 1024
    return p


def zip_bomb(d: Path) -> Path:
    """A valid workbook plus a member that unpacks to 201 MB of zeros (a few hundred KB packed)."""
    p = _xlsx(d / "bomb.xlsx")
    with zipfile.ZipFile(p, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, zf.open("xl/media/big.bin", "w") as fh:
        chunk = bytes(1 << 20)
        for _ in range(201):
            fh.write(chunk)
    assert p.stat().st_size < 2 * 1024 * 1024
    return p


# (fixture, rule id, cell of the finding or None, words the Chinese message must hold)
HOSTILE = [
    (corrupt, "FILE_UNREADABLE", None, "无法读取"),
    (truncated, "FILE_UNREADABLE", None, "无法读取"),
    (encrypted, "FILE_ENCRYPTED", None, "密码"),
    (encrypted_xls, "FILE_ENCRYPTED", None, "密码"),
    (corrupt_xls, "FILE_UNREADABLE", None, "无法读取"),
    (formula_without_value, "CELL_FORMULA_NO_VALUE", "E3", "=D3-0"),
    (merged_data, "TABLE_MERGED_CELLS", "C2", "C2:C3"),
    (empty_csv, "FILE_UNREADABLE", None, "空文件"),
    (empty_xlsx, "FILE_UNREADABLE", None, "空文件"),
    (header_only, "TABLE_EMPTY", "第1行", "没有数据行"),
    (unicode_text, "FILE_ENCODING", None, "Unicode 文本"),
    (lambda d: unicode_text(d, "unicode.csv"), "FILE_ENCODING", None, "Unicode 文本"),
    (too_large, "FILE_TOO_LARGE", None, "20.0 MB"),
    (zip_bomb, "FILE_ZIP_BOMB", None, "201.0 MB"),
]


def validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], str]:
    code = main(["validate", str(path), "--unit", "360102", "--warehouse", str(path.parent / "none.duckdb")])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = out.splitlines()
    return code, [ln for ln in lines if ln.startswith(("ERROR", "WARNING"))], out


@pytest.mark.parametrize(("make", "rule_id", "cell", "words"), HOSTILE,
                         ids=[getattr(h[0], "__name__", "unicode_csv").replace("<lambda>", "unicode_csv")
                              for h in HOSTILE])
def test_hostile_file_gives_one_precise_finding(tmp_path: Path, capsys, make, rule_id, cell, words) -> None:
    path = make(tmp_path)
    code, findings, out = validate(path, capsys)
    assert code == 1
    assert len(findings) == 1, out
    (line,) = findings
    assert line.split()[:2] == ["ERROR", rule_id]
    assert path.name in line
    if cell:
        assert cell in line.split(path.name, 1)[1].split()[:3], line
    assert words in out


def test_formula_with_cached_value_is_read_silently(tmp_path: Path, capsys) -> None:
    path = formula_without_value(tmp_path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    sheet = next(n for n in members if n.startswith("xl/worksheets/sheet"))
    # openpyxl writes the empty result as <v /> (or <v></v> when lxml is installed)
    empty = next(v for v in (b"<f>D3-0</f><v />", b"<f>D3-0</f><v></v>") if v in members[sheet])
    members[sheet] = members[sheet].replace(empty, b"<f>D3-0</f><v>3</v>")
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    code, findings, _ = validate(path, capsys)
    assert (code, findings) == (0, [])


def test_hidden_sheet_and_rows_are_checked_with_a_warning(tmp_path: Path, capsys) -> None:
    sheet = _xlsx(tmp_path / "hidden_sheet.xlsx")
    wb = openpyxl.load_workbook(sheet)
    wb.create_sheet("可见")  # a workbook needs one visible sheet
    wb["排口"].sheet_state = "hidden"
    wb.save(sheet)
    code, findings, out = validate(sheet, capsys)
    assert code == 0 and len(findings) == 1 and findings[0].split()[:2] == ["WARNING", "SHEET_HIDDEN"]
    assert "hidden_sheet.xlsx [排口]" in findings[0] and "工作表“排口”是隐藏的" in out
    assert "outfall_remediation — 通过 accepted" in out

    rows = _xlsx(tmp_path / "hidden_rows.xlsx")
    wb = openpyxl.load_workbook(rows)
    wb["排口"].row_dimensions[3].hidden = True
    wb["排口"].row_dimensions[7].hidden = True  # empty: not worth a word
    wb.save(rows)
    code, findings, out = validate(rows, capsys)
    assert code == 0 and len(findings) == 1 and findings[0].split()[:2] == ["WARNING", "ROWS_HIDDEN"]
    assert "hidden_rows.xlsx [排口] 第3行" in findings[0] and "第 3 行是隐藏行" in out


def test_valid_file_exits_0(tmp_path: Path, capsys) -> None:
    code, findings, _ = validate(_xlsx(tmp_path / "good.xlsx"), capsys)
    assert (code, findings) == (0, [])


def test_size_limit_is_a_setting(tmp_path: Path, capsys, monkeypatch) -> None:
    path = write_csv(tmp_path / "small.csv", GOOD)
    monkeypatch.setenv("ECOSTAT_MAX_FILE_MB", str(path.stat().st_size / 2 / 1024 / 1024))
    code, findings, _ = validate(path, capsys)
    assert code == 1 and [f.split()[1] for f in findings] == ["FILE_TOO_LARGE"]


def test_subprocess_has_no_traceback(tmp_path: Path) -> None:
    path = encrypted(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "ecostat.cli", "validate", str(path), "--unit", "360102",
                           "--warehouse", str(tmp_path / "none.duckdb")],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent, env=os.environ,
                          timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "FILE_ENCRYPTED" in proc.stdout and "加密.xlsx" in proc.stdout


def test_hostile_files_do_not_affect_the_good_one(tmp_path: Path) -> None:
    inbox = tmp_path / "raw" / "inbox" / "360102"
    inbox.mkdir(parents=True)
    makers = [corrupt, encrypted, encrypted_xls, corrupt_xls, formula_without_value, merged_data, empty_csv,
              header_only, unicode_text, zip_bomb]
    for make in makers:
        make(inbox)
    write_csv(inbox / "good.csv", GOOD)
    outcomes = steps.run_plain(tmp_path / "raw", tmp_path / "w.duckdb").tables
    by_file = {o.file.split("/")[1]: o for o in outcomes}
    assert by_file.pop("good.csv").status == "accepted"
    assert {f: (o.status, len(o.findings)) for f, o in by_file.items()} == {
        f: ("rejected", 1) for f in by_file}
    assert len(by_file) == len(makers)
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fact_outfall_remediation").fetchone() == (2,)


def test_encrypted_workbooks_are_real_and_told_apart_from_plain_xls(tmp_path: Path) -> None:
    """The fixtures really are encrypted: with their passwords msoffcrypto-tool decrypts them, and the
    decrypted bytes read as workbooks (the .xls one as saved by Excel)."""
    for path, password in ((encrypted(tmp_path), "密码123"), (encrypted_xls(tmp_path), "Password1234_")):
        with path.open("rb") as fh:
            office = msoffcrypto.OfficeFile(fh)
            assert office.is_encrypted()
            office.load_key(password=password)
            plain = io.BytesIO()
            office.decrypt(plain)
        tables = read_tables(path, plain.getvalue())
        assert tables and all(not t.notes for t in tables)
    assert [t.rows for t in read_tables(tmp_path / "x.xls", plain.getvalue())] == [[(1, ["lorem ipsum", 3])]]
