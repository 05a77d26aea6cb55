"""A cheap scan of an xlsx's XML for what python-calamine does not report: each sheet's stated size
(``<dimension>``), hidden rows, formulas without a saved result, and the numeric cells shown in a
percentage number format (``styles.xml``: ``numFmts`` and ``cellXfs``, and each cell's ``s=``).

The scan reads bytes with regular expressions and looks only where the bytes say there is something
to find (``hidden=``, ``<f``, a percentage style's ``s="…"``), so a plain sheet costs a few substring
searches. A sheet it cannot vouch for (a cell or row without its ``r=`` reference, a shared formula
without a saved result) is marked ``unsure``: the reader then falls back to openpyxl for that workbook.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # quoted text, escaped characters, [colours]
BUILTIN_PERCENT_FORMATS = frozenset({9, 10})  # 0% and 0.00%: built in, never listed in styles.xml
MAIN = "xl/workbook.xml"

_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)/?>")
_ATTR = re.compile(rb'([\w:]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref\s*=\s*"([A-Za-z]*)(\d*)(?::([A-Za-z]+)(\d+))?"')
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(/?)>")
_ERROR_CELL = re.compile(rb"""<(?:\w+:)?c\b([^>]*?\bt\s*=\s*["']e["'][^>]*?)>""")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_VALUE = re.compile(rb"<(?:\w+:)?v\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?v>)", re.S)
_FORMULA = re.compile(rb"<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_NUMFMT = re.compile(rb"<(?:\w+:)?numFmt\b([^>]*)/?>")
_CELLXFS = re.compile(rb"<(?:\w+:)?cellXfs\b[^>]*>(.*?)</(?:\w+:)?cellXfs>", re.S)
_XF = re.compile(rb"<(?:\w+:)?xf\b([^>]*?)/?>")
_REF = re.compile(r"([A-Z]+)(\d+)")


def is_percent_format(number_format: str | None) -> bool:
    """Whether an Excel number format shows a number as a percentage (``0.0%``, not ``0"%"``)."""
    return bool(number_format) and "%" in _FORMAT_LITERALS.sub("", number_format or "")


@dataclass
class SheetScan:
    """What the scan found in one sheet's XML; rows 1-based, columns 0-based."""

    dimension: tuple[int, int] | None = None  # rows × columns the sheet says it spans from A1
    hidden_rows: set[int] = field(default_factory=set)
    formulas_without_value: dict[tuple[int, int], str] = field(default_factory=dict)  # cell → "=formula"
    percent: set[tuple[int, int]] = field(default_factory=set)  # cells in a percentage format
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # cells holding an error (#N/A)
    unsure: bool = False  # the scan cannot vouch for this sheet: read the workbook with openpyxl


def _attrs(tag: bytes) -> dict[str, str]:
    """A tag's attributes by local name (``r:id`` → ``id``), unescaped."""
    return {k.decode().rpartition(":")[2]: html.unescape((a if a is not None else b).decode("utf-8", "replace"))
            for k, a, b in _ATTR.findall(tag)}


def column_index(letters: str) -> int:
    """0-based index of a column's letters: A → 0, AA → 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _cell_ref(ref: str | None) -> tuple[int, int] | None:
    m = _REF.fullmatch(ref or "")
    return (int(m[2]), column_index(m[1])) if m else None


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Each worksheet's name and the zip member holding its XML, from workbook.xml and its rels."""
    names = set(zf.namelist())
    if MAIN not in names:
        return {}
    rels_name = "xl/_rels/workbook.xml.rels"
    targets = {}
    if rels_name in names:
        for m in _RELATIONSHIP.finditer(zf.read(rels_name)):
            a = _attrs(m[1])
            if "Id" in a and "Target" in a:
                target = a["Target"]
                targets[a["Id"]] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                    posixpath.join("xl", target))
    parts = {}
    for m in _SHEET.finditer(zf.read(MAIN)):
        a = _attrs(m[1])
        member = targets.get(a.get("id", ""))
        if "name" in a and member in names:
            parts[a["name"]] = member
    return parts


def percent_styles(zf: zipfile.ZipFile) -> set[int]:
    """The indices of the cell formats (``cellXfs``) whose number format shows a percentage."""
    if "xl/styles.xml" not in zf.namelist():
        return set()
    styles = zf.read("xl/styles.xml")
    custom = {}
    for m in _NUMFMT.finditer(styles):
        a = _attrs(m[1])
        if a.get("numFmtId", "").isdigit():
            custom[int(a["numFmtId"])] = a.get("formatCode", "")
    xfs = _CELLXFS.search(styles)
    found = set()
    for i, m in enumerate(_XF.finditer(xfs[1]) if xfs else ()):
        fmt = _attrs(m[1]).get("numFmtId", "0")
        fmt_id = int(fmt) if fmt.isdigit() else 0
        if fmt_id in BUILTIN_PERCENT_FORMATS or is_percent_format(custom.get(fmt_id)):
            found.add(i)
    return found


def scan_sheet(xml: bytes, percent: set[int]) -> SheetScan:
    """Scan one sheet's XML (see the module's docstring)."""
    scan = SheetScan()
    head = _DIMENSION.search(xml, 0, 4096 + xml.find(b"<sheetData"))
    if head and head[2]:
        last_col, last_row = (head[3], head[4]) if head[3] else (head[1], head[2])
        scan.dimension = int(last_row), column_index(last_col.decode()) + 1
    if b"hidden=" in xml:
        for m in _ROW_TAG.finditer(xml):
            a = _attrs(m[1])
            if a.get("hidden") in ("1", "true"):
                if not a.get("r", "").isdigit():
                    scan.unsure = True
                    return scan
                scan.hidden_rows.add(int(a["r"]))
    if b"<f" in xml or b":f" in xml:
        _formulas(xml, scan)
    if b'"e"' in xml or b"'e'" in xml:
        _errors(xml, scan)
    if percent:
        styles = b"|".join(str(i).encode() for i in sorted(percent))
        pattern = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bs\s*=\s*"(?:' + styles + rb')"[^>]*?>')
        for m in pattern.finditer(xml):
            a = _attrs(m[0])
            where = _cell_ref(a.get("r"))
            if where is None:
                scan.unsure = True
                return scan
            if a.get("t", "n") == "n":
                scan.percent.add(where)
    return scan


def _errors(xml: bytes, scan: SheetScan) -> None:
    """Cells of type ``e`` (``#N/A``, ``#DIV/0!``): calamine reads them as empty, openpyxl as their text."""
    for m in _ERROR_CELL.finditer(xml):
        a = _attrs(m[1])
        where = _cell_ref(a.get("r"))
        if where is None:
            scan.unsure = True
            return
        close = _CELL_END.search(xml, m.end())
        value = _VALUE.search(xml, m.end(), close.start()) if close else None
        if value is not None and value[1]:
            scan.errors[where] = html.unescape(value[1].decode("utf-8", "replace"))


def _formulas(xml: bytes, scan: SheetScan) -> None:
    """Formula cells without a saved value: each ``<f`` found, and the ``<c …>…</c>`` holding it."""
    for fm in _FORMULA.finditer(xml):
        start = xml.rfind(b"<c ", 0, fm.start())
        tag = _CELL_TAG.match(xml, start) if start >= 0 else None
        close = _CELL_END.search(xml, fm.end())
        if tag is None or tag[2] or _CELL_END.search(xml, tag.end(), fm.start()) or close is None:
            scan.unsure = True  # not inside a plain <c …>…</c> (a namespace prefix, say): let openpyxl read it
            return
        value = _VALUE.search(xml, fm.end(), close.start())
        if value is not None and value[1]:
            continue  # a saved result: read by value
        a = _attrs(tag[1])
        where = _cell_ref(a.get("r"))
        text = (fm[2] or b"").decode("utf-8", "replace")
        if where is None or (not text and "shared" in _attrs(fm[1]).get("t", "")):
            scan.unsure = True  # openpyxl translates a shared formula for each cell: let it
            return
        scan.formulas_without_value[where] = "=" + html.unescape(text) if text else "="


def scan_workbook(zf: zipfile.ZipFile) -> dict[str, SheetScan]:
    """Every worksheet's scan, by sheet name."""
    percent = percent_styles(zf)
    return {name: scan_sheet(zf.read(member), percent) for name, member in sheet_parts(zf).items()}
