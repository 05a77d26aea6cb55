"""A cheap scan of an xlsx's XML for what python-calamine does not report: each sheet's stated size
(``<dimension>``), hidden rows, formulas without a saved result, and the numeric cells shown in a
percentage number format (``styles.xml``: ``numFmts`` and ``cellXfs``, and each cell's ``s=``).

The XML is read by expat, a streaming parser whose time is linear in its input, with no document type
and no entities: comments, processing instructions and CDATA are skipped as calamine skips them. A sheet
whose bytes hold nothing to find (no ``hidden=``, no ``f`` element, no error cell, no percentage style)
is parsed only up to its ``<sheetData>``. A sheet the scan cannot vouch for (a cell or row without its
``r=`` reference, a shared formula without a saved result, a document type, XML that does not parse) is
marked ``unsure``: the reader then falls back to openpyxl for that workbook.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.parsers import expat

_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # quoted text, escaped characters, [colours]
BUILTIN_PERCENT_FORMATS = frozenset({9, 10})  # 0% and 0.00%: built in, never listed in styles.xml
MAIN = "xl/workbook.xml"

_DIMENSION_REF = re.compile(r"([A-Za-z]{0,3})(\d{0,7})(?::([A-Za-z]{1,3})(\d{1,7}))?")
_REF = re.compile(r"([A-Z]{1,3})(\d{1,7})")
# C0 controls XML 1.0 forbids; calamine reads them in names and text, so the scan stands them in for
# private-use characters (U+E000 + the byte: never a byte of a UTF-8 sequence) and puts them back in text.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_STAND_IN = {b: chr(0xE000 + b).encode() for b in (*range(0, 9), 11, 12, *range(14, 32))}
_PUT_BACK = {0xE000 + b: b for b in _STAND_IN}

Attrs = dict[str, str]


class _Stop(Exception):
    """Raised by a handler to end a parse early (expat has no other way out of ``Parse``)."""


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


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _attrs(pairs: list[str]) -> Attrs:
    """An element's attributes (expat's ordered list) by local name (``r:id`` → ``id``)."""
    keys = pairs[::2]
    if ":" in "".join(keys):
        keys = [_local(k) for k in keys]
    return dict(zip(keys, pairs[1::2], strict=True))


def _parser() -> expat.XMLParserType:
    """An expat parser that reads no document type and no entity (either is an error), attributes as lists."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.ordered_attributes = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def doctype(*_: object) -> None:
        raise expat.ExpatError("a document type: no DTD or entity is read")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    return parser


def _text(text: str) -> str:
    """Text from the parse as the file wrote it (its control characters put back)."""
    return text.translate(_PUT_BACK)


def _run(make: Callable[[], expat.XMLParserType], xml: bytes) -> bool:
    """Stream ``xml`` through a parser from ``make``: False if it has a document type or does not parse
    (what was found so far stands), True if it was read to its end or a handler raised :class:`_Stop`.
    XML that does not parse and holds control characters is read again, by a new parser, with them stood
    in for (the search for them is paid only then)."""
    for attempt in (1, 2):
        if attempt == 2:
            if not _CONTROL_BYTES.search(xml):
                return False
            xml = _CONTROL_BYTES.sub(lambda m: _STAND_IN[m[0][0]], xml)
        try:
            make().Parse(xml, True)
        except _Stop:
            return True
        except expat.ExpatError:
            continue
        return True
    return False


def _parse(xml: bytes, start: Callable[[str, Attrs], None], end: Callable[[str], None] | None = None) -> bool:
    """Call ``start(local name, attributes by local name)`` and ``end(local name)`` for each element of
    ``xml`` (see :func:`_run`)."""
    def make() -> expat.XMLParserType:
        parser = _parser()
        parser.StartElementHandler = lambda name, pairs: start(_local(name), _attrs(pairs))
        if end is not None:
            parser.EndElementHandler = lambda name: end(_local(name))
        return parser

    return _run(make, xml)


def column_index(letters: str) -> int:
    """0-based index of a column's letters: A → 0, AA → 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _cell_ref(ref: str | None) -> tuple[int, int] | None:
    m = _REF.fullmatch(ref or "")
    return (int(m[2]), column_index(m[1])) if m else None


def _dimension(ref: str) -> tuple[int, int] | None:
    """Rows × columns from A1 of a ``<dimension ref=…>`` (``A1:E20`` → 20 × 5; ``A1`` → 1 × 1)."""
    m = _DIMENSION_REF.fullmatch(ref.strip())
    if not m or not m[2]:
        return None
    last_col, last_row = (m[3], m[4]) if m[3] else (m[1], m[2])
    return int(last_row), column_index(last_col) + 1


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Each worksheet's name and the zip member holding its XML, from workbook.xml and its rels."""
    names = set(zf.namelist())
    if MAIN not in names:
        return {}
    rels_name = "xl/_rels/workbook.xml.rels"
    targets = {}

    def relationship(name: str, a: Attrs) -> None:
        if name == "Relationship" and "Id" in a and "Target" in a:
            target = a["Target"]
            targets[a["Id"]] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))

    if rels_name in names:
        _parse(zf.read(rels_name), relationship)
    parts = {}

    def sheet(name: str, a: Attrs) -> None:
        member = targets.get(a.get("id", ""))
        if name == "sheet" and "name" in a and member in names:
            parts[_text(a["name"])] = member

    _parse(zf.read(MAIN), sheet)
    return parts


def percent_styles(zf: zipfile.ZipFile) -> set[int]:
    """The indices of the cell formats (``cellXfs``) whose number format shows a percentage."""
    if "xl/styles.xml" not in zf.namelist():
        return set()
    custom: dict[int, str] = {}
    xfs: list[str] = []
    depth = [0]  # > 0 inside <cellXfs>

    def start(name: str, a: Attrs) -> None:
        if name == "numFmt" and a.get("numFmtId", "").isdigit():
            custom[int(a["numFmtId"])] = a.get("formatCode", "")
        elif name == "cellXfs":
            depth[0] += 1
        elif name == "xf" and depth[0]:
            xfs.append(a.get("numFmtId", "0"))

    def end(name: str) -> None:
        if name == "cellXfs":
            depth[0] -= 1

    _parse(zf.read("xl/styles.xml"), start, end)
    found = set()
    for i, fmt in enumerate(xfs):
        fmt_id = int(fmt) if fmt.isdigit() else 0
        if fmt_id in BUILTIN_PERCENT_FORMATS or is_percent_format(custom.get(fmt_id)):
            found.add(i)
    return found


class _SheetParser:
    """One sheet's scan as expat handlers: the cell being read, and the text of its ``f`` and ``v``. The
    handlers are called for every element of a sheet, so each element name is looked up once in a table
    of the few the scan needs, attributes are read only where they can matter, and text only inside
    ``f`` and ``v``."""

    def __init__(self, scan: SheetScan, percent: set[int]) -> None:
        self.scan = scan
        self.percent = {str(i) for i in percent}
        self.in_data = False
        self.cell: list[str] | None = None  # the attributes of the cell being read, as expat lists them
        self.prefixed = False  # the cell's element has a namespace prefix
        self.formula: tuple[str, bool] | None = None  # the cell's formula text, and whether it is shared
        self.value = ""
        self.reading: list[str] = []  # the text of the f or v being read
        self.shared = False
        self.parser = self._new_parser()
        self.starts: dict[str, Callable[[str, list[str]], None] | None] = {}  # element name as written → handler
        self.ends: dict[str, Callable[[], None] | None] = {}
        self.start_by_local = {"c": self.start_cell, "row": self.start_row, "f": self.start_text,
                               "v": self.start_text, "dimension": self.start_dimension, "sheetData": self.start_data}
        self.end_by_local = {"c": self.end_cell, "f": self.end_formula, "v": self.end_value}

    def _new_parser(self) -> expat.XMLParserType:
        """A parser for a (new) reading of the sheet, from its start: what an earlier one found is dropped."""
        scan = self.scan
        scan.dimension, self.in_data, self.cell = None, False, None
        for found in (scan.hidden_rows, scan.formulas_without_value, scan.percent, scan.errors):
            found.clear()
        self.parser = _parser()
        self.parser.StartElementHandler = self.start  # the end handler is set only inside a cell of interest
        return self.parser

    def run(self, xml: bytes) -> None:
        """Scan the sheet; XML that does not parse (or has a document type) makes it unsure."""
        if not _run(self._new_parser, xml):
            self.scan.unsure = True

    def unsure(self) -> None:
        self.scan.unsure = True
        raise _Stop

    def start(self, raw: str, pairs: list[str]) -> None:
        try:
            handler = self.starts[raw]
        except KeyError:
            handler = self.starts[raw] = self.start_by_local.get(_local(raw))
        if handler is not None:
            handler(raw, pairs)

    def end(self, raw: str) -> None:
        try:
            handler = self.ends[raw]
        except KeyError:
            handler = self.ends[raw] = self.end_by_local.get(_local(raw))
        if handler is not None:
            handler()

    def start_cell(self, raw: str, pairs: list[str]) -> None:
        self.cell, self.formula, self.value, self.prefixed = pairs, None, "", ":" in raw
        if "e" in pairs or (self.percent and not self.percent.isdisjoint(pairs)):  # may be t="e" or s="<percent>"
            a = _attrs(pairs)
            if a.get("s") in self.percent or a.get("t") == "e":
                where = _cell_ref(a.get("r"))
                if where is None:
                    self.unsure()
                elif a.get("s") in self.percent and a.get("t", "n") == "n":
                    self.scan.percent.add(where)

    def start_row(self, raw: str, pairs: list[str]) -> None:
        if "1" not in pairs and "true" not in pairs:
            return  # not hidden="1" or hidden="true"
        a = _attrs(pairs)
        if a.get("hidden") in ("1", "true"):
            if not a.get("r", "").isdigit():
                self.unsure()
            self.scan.hidden_rows.add(int(a["r"]))

    def start_text(self, raw: str, pairs: list[str]) -> None:
        if _local(raw) == "v" and (self.cell is None or (self.formula is None and "e" not in self.cell)):
            return  # only the value of a formula or of an error cell is read
        if self.cell is None or self.prefixed:
            self.unsure()  # not inside a plain <c …>…</c> (a namespace prefix, say): let openpyxl read it
        if _local(raw) == "f":
            self.shared = "shared" in _attrs(pairs).get("t", "")
        self.reading = []
        self.parser.CharacterDataHandler = self.reading.append
        self.parser.EndElementHandler = self.end

    def start_dimension(self, raw: str, pairs: list[str]) -> None:
        if not self.in_data and self.scan.dimension is None:
            self.scan.dimension = _dimension(_attrs(pairs).get("ref", ""))

    def start_data(self, raw: str, pairs: list[str]) -> None:
        self.in_data = True

    def _take_text(self) -> str | None:
        if self.parser.CharacterDataHandler is None:
            return None
        self.parser.CharacterDataHandler = None
        return "".join(self.reading)

    def end_formula(self) -> None:
        text = self._take_text()
        if text is not None:
            self.formula = text, self.shared

    def end_value(self) -> None:
        text = self._take_text()
        if text is not None:
            self.value = text

    def end_cell(self) -> None:
        if self.cell is None:
            return
        if self.formula is not None and not self.value:
            text, shared = self.formula
            where = _cell_ref(_attrs(self.cell).get("r"))
            if where is None or (not text and shared):
                self.unsure()  # openpyxl translates a shared formula for each cell: let it
            self.scan.formulas_without_value[where] = "=" + _text(text)  # type: ignore[index]
        if self.value and "e" in self.cell:
            a = _attrs(self.cell)
            if a.get("t") == "e":
                self.scan.errors[_cell_ref(a.get("r"))] = _text(self.value)  # type: ignore[index]
        self.cell = None
        self.parser.EndElementHandler = None


def _style_attribute(styles: set[int]) -> re.Pattern[bytes]:
    """`` s="9"`` for any of these styles; each match starts at a space and cannot run past the next
    character that is not one: linear."""
    numbers = b"|".join(str(i).encode() for i in sorted(styles))
    return re.compile(rb"""\ss\s*=\s*["'](?:""" + numbers + rb""")["']""")


def scan_sheet(xml: bytes, percent: set[int]) -> SheetScan:
    """Scan one sheet's XML (see the module's docstring)."""
    scan = SheetScan()
    if not (b"hidden=" in xml or (b"f" in xml and (b"<f" in xml or b":f" in xml)) or b'"e"' in xml or b"'e'" in xml
            or (percent and _style_attribute(percent).search(xml))):

        def head(name: str, a: Attrs) -> None:  # a plain sheet: only its stated size, before its data
            if name == "dimension":
                scan.dimension = _dimension(a.get("ref", ""))
            if name in ("dimension", "sheetData"):
                raise _Stop

        _parse(xml, head)
        return scan
    _SheetParser(scan, percent).run(xml)
    return scan


def scan_workbook(zf: zipfile.ZipFile) -> dict[str, SheetScan]:
    """Every worksheet's scan, by sheet name."""
    percent = percent_styles(zf)
    return {name: scan_sheet(zf.read(member), percent) for name, member in sheet_parts(zf).items()}
