"""What a received file really is, from its bytes, whatever its name says: a zip is an xlsx only with
``xl/workbook.xml``; an OpenDocument spreadsheet (``mimetype`` and ``content.xml``), an Excel binary workbook
(``xl/workbook.bin``), a Word document, an Excel 2.x–4.0 worksheet (a BIFF2–4 ``BOF`` record), an XML
Spreadsheet 2003, a web page or a PDF each get ``FILE_TYPE`` naming what the file is and how to save it.

OpenDocument spreadsheets are refused, not read: the contract (v3 §3.1) asks for .xlsx or .xls, and what its
checks need from a workbook (hidden sheets and rows, merged cells, formulas without a saved value) is read
only from those; WPS and LibreOffice both save an .xlsx in two clicks."""

from __future__ import annotations

import io
import zipfile

from ecostat.read.types import ReadError

CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: an .xls, or an encrypted .xlsx
BIFF_OLD_BOFS = (b"\x09\x00", b"\x09\x02", b"\x09\x04")  # BIFF2, BIFF3, BIFF4 beginning-of-file records
SAVE_XLSX_ZH, SAVE_XLSX_EN = "请用 Excel 或 WPS 打开后另存为 .xlsx", "open it in Excel or WPS and save it as .xlsx"
# kind → what it is (zh, en), how to save it (zh, en)
KINDS = {
    "ods": ("OpenDocument 电子表格（.ods）", "an OpenDocument spreadsheet (.ods)", SAVE_XLSX_ZH, SAVE_XLSX_EN),
    "xlsb": ("Excel 二进制工作簿（.xlsb）", "an Excel binary workbook (.xlsb)", SAVE_XLSX_ZH, SAVE_XLSX_EN),
    "docx": ("Word 文档", "a Word document", "请把表格复制到 Excel 另存为 .xlsx",
             "copy the table into Excel and save it as .xlsx"),
    "biff": ("Excel 2.x–4.0 工作表", "an Excel 2.x–4.0 worksheet", SAVE_XLSX_ZH, SAVE_XLSX_EN),
    "xml2003": ("XML 电子表格 2003", "an XML Spreadsheet 2003", SAVE_XLSX_ZH, SAVE_XLSX_EN),
    "html": ("网页（HTML）", "a web page (HTML)", SAVE_XLSX_ZH, SAVE_XLSX_EN),
    "pdf": ("PDF 文档", "a PDF document", "请提交原始的 Excel 报表（.xlsx）", "send the original workbook (.xlsx)"),
    "xlsx": ("Excel 工作簿（.xlsx）", "an Excel workbook (.xlsx)", "请以 .xlsx 为扩展名提交", "name it .xlsx"),
    "xls": ("Excel 97–2003 工作簿（.xls）", "an Excel 97–2003 workbook (.xls)", "请以 .xls 为扩展名提交",
            "name it .xls"),
    "parquet": ("Parquet 文件", "a Parquet file", "请以 .parquet 为扩展名提交", "name it .parquet"),
}
WORKBOOKS = {".xlsx", ".xls"}
TEXT = {".csv", ".json"}


def sniff(data: bytes) -> str | None:
    """The kind of file ``data`` is (a key of :data:`KINDS`), or None: text, or nothing recognised."""
    if data.startswith(CFB_SIGNATURE):
        return "xls"
    if data.startswith(b"PK"):
        return _zip_kind(data)
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"%PDF"):
        return "pdf"
    if len(data) >= 4 and data[:2] in BIFF_OLD_BOFS and data[2:4] in (b"\x04\x00", b"\x06\x00", b"\x08\x00"):
        return "biff"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in data[:65536]:
        return "xml2003"
    if head.startswith((b"<html", b"<!doctype html", b"<table")):
        return "html"
    return None


def _zip_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            if "content.xml" in names and "mimetype" in names:
                return "ods"
            if "word/document.xml" in names:
                return "docx"
            return None  # any other zip: unreadable as what its name says
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def check_kind(suffix: str, data: bytes) -> None:
    """Raise ``FILE_TYPE`` naming what the file really is when its bytes are not of a kind its name lets it be
    read as (an .xlsx or .xls must be a workbook of either kind; a .csv or .json must not be another format)."""
    kind = sniff(data)
    if kind is None or (suffix in WORKBOOKS and kind in ("xlsx", "xls")) or (suffix == ".parquet"
                                                                                and kind == "parquet"):
        return
    if suffix in TEXT or suffix in WORKBOOKS or suffix == ".parquet":
        zh, en, save_zh, save_en = KINDS[kind]
        raise ReadError("FILE_TYPE", f"{suffix} = {kind.upper()}", actual_zh=zh, actual_en=en, save_zh=save_zh,
                        save_en=save_en)
