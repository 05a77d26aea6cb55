"""A file is judged by what it is (issue 17): zip members and signatures, not the name, say its format, and
what the contract does not accept is named; a header row needs two distinct known fields; a CSV decoding that
yields characters no office writes is a finding naming the encoding the file has; the sheet extents are read
before any library allocates a grid."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import xlwt

from ecostat.check.table import check_table
from ecostat.contract.catalogue import finding
from ecostat.read.extent import biff_extents, sheet_xml_extent
from ecostat.read.tables import read_tables
from ecostat.read.types import ReadError
from tests.conftest import write_book, write_csv
from tests.forms_data import header, raw, row


def refused(path: Path) -> tuple[str, str, str]:
    """The rule and both messages of a file that cannot be read."""
    with pytest.raises(ReadError) as info:
        read_tables(path)
    exc = info.value
    f = finding(exc.rule_id, value=exc.detail, detail=exc.detail, **exc.params)
    return exc.rule_id, f.message_zh, f.message_en


def zipped(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


@pytest.mark.parametrize(("members", "zh", "en"), [
    ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<office:document-content/>",
      "META-INF/manifest.xml": "<m/>"}, "OpenDocument 电子表格", "an OpenDocument spreadsheet (.ods): open it in "
                                                                   "Excel or WPS and save it as .xlsx"),
    ({"[Content_Types].xml": "<Types/>", "xl/workbook.bin": "\x83\x01", "xl/worksheets/sheet1.bin": ""},
     "Excel 二进制工作簿", "an Excel binary workbook (.xlsb): open it in Excel or WPS and save it as .xlsx"),
    ({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"}, "Word 文档", "a Word document"),
])
def test_a_workbook_of_another_kind_named_xlsx_is_refused_naming_it(tmp_path, members, zh, en):
    rule, message_zh, message_en = refused(zipped(tmp_path / "报表.xlsx", members))
    assert rule == "FILE_TYPE"
    assert zh in message_zh and en in message_en


def test_old_and_xml_spreadsheets_named_xls_are_named_not_called_broken_zips(tmp_path):
    biff4 = tmp_path / "old.xls"
    biff4.write_bytes(b"\x09\x04\x06\x00\x00\x00\x10\x00" + b"\x00" * 64)  # a BIFF4 worksheet's BOF record
    xml = tmp_path / "xml2003.xls"
    xml.write_bytes(b'<?xml version="1.0"?>\r\n<?mso-application progid="Excel.Sheet"?>\r\n'
                    b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet/></Workbook>')
    html = tmp_path / "export.xls"
    html.write_bytes(b"<html><body><table><tr><td>1</td></tr></table></body></html>")
    for path, what in [(biff4, "an Excel 2.x–4.0 worksheet"), (xml, "an XML Spreadsheet 2003"),
                       (html, "a web page (HTML)")]:
        rule, message_zh, message_en = refused(path)
        assert rule == "FILE_TYPE" and f"really {what}: open it in Excel or WPS and save it as .xlsx" in message_en
        assert "zip" not in message_en and "此文件实际是" in message_zh


def test_a_real_workbook_named_csv_is_named_and_real_workbooks_still_read(tmp_path):
    book = write_book(tmp_path / "a.xlsx", [header("outfall_remediation"), row("outfall_remediation")])
    renamed = tmp_path / "a.csv"
    renamed.write_bytes(book.read_bytes())
    rule, _, message_en = refused(renamed)
    assert rule == "FILE_TYPE" and "an Excel workbook (.xlsx): name it .xlsx" in message_en
    xls = tmp_path / "b.xlsx"  # an .xls named .xlsx is read as the workbook it is
    sheet = (book97 := xlwt.Workbook()).add_sheet("s")
    for i, cells in enumerate([header("outfall_remediation"), row("outfall_remediation")]):
        for j, value in enumerate(cells):
            sheet.write(i, j, value)
    book97.save(str(xls))
    assert len(read_tables(book)) == len(read_tables(xls)) == 1


def test_a_header_row_needs_two_distinct_known_fields():
    repeated = check_table(raw([["Investment"] * 16, list(range(16)), list(range(16))]), "360102")
    assert repeated.form is None and [f.rule_id for f in repeated.findings] == ["TABLE_FORM_UNKNOWN"]
    general = check_table(raw([["General", "General"], [1, 2]]), "360102")
    assert general.form is None
    assert check_table(raw([header("outfall_remediation"), row("outfall_remediation")]), "360102").accepted


def test_a_windows_1252_csv_is_a_finding_naming_its_encoding_and_gbk_still_reads(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("unit,name,note\n360102,première,café crème\n".encode("cp1252"))
    rule, message_zh, message_en = refused(latin)
    assert rule == "FILE_ENCODING" and "Windows-1252" in message_en and "Windows-1252" in message_zh
    assert "cp932" not in message_en and "鑢" not in message_zh
    gbk = write_csv(tmp_path / "gbk.csv", [header("outfall_remediation"), row("outfall_remediation")], "gbk")
    assert len(read_tables(gbk)) == 1


def test_extents_come_from_the_farthest_reference_whatever_the_dimension_says():
    lying = (b'<worksheet><dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1"/></row>'
             b'<row r="70000"><c r="ZZ70000"><v>1</v></c></row></sheetData></worksheet>')
    assert sheet_xml_extent(lying) == (70000, 702)
    assert sheet_xml_extent(b'<worksheet><sheetData><row r="1048576"><c r="XFD1048576"/></row></sheetData>'
                            b"</worksheet>") == (1048576, 16384)
    attack = b"<!--" + b'"e"<c <c <c ' * 20_000 + b"-->"  # the comment attack: one linear pass
    assert sheet_xml_extent(attack) == (0, 0)
    book = xlwt.Workbook()
    for k in range(2):
        sheet = book.add_sheet(f"s{k}")
        sheet.write(0, 0, "x")
        sheet.write(65535, 255, 1)
    data = io.BytesIO()
    book.save(data)
    import olefile

    with olefile.OleFileIO(io.BytesIO(data.getvalue())) as ole:
        stream = ole.openstream("Workbook").read()
    assert biff_extents(stream) == [(65536, 256), (65536, 256)]
