"""Issue 17: submitted text with characters XML 1.0 forbids (a sheet named ``Sheet\\x0b1``, a cell, a footer)
reaches every XML writer made fit by :func:`ecostat.common.xmltext.xml_text`: ``ecostat report`` writes a
``.docx`` that python-docx opens, the feedback workbook loads in openpyxl, the site's pages hold none of them."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import docx
import openpyxl
from markupsafe import Markup

from ecostat.common.xmltext import NOT_XML, xml_text
from ecostat.publish.annual import build
from ecostat.publish.annual.build import report_context
from ecostat.publish.annual.docx import write_docx
from ecostat.publish.feedback import FEEDBACK_SHEET
from ecostat.publish.render import environment
from ecostat.run import ingest as steps
from ecostat.store.warehouse import connect
from tests.conftest import SAMPLES

OUTFALL = ["区县代码", "报告期", "所属水体", "需整治排口数", "已完成整治数"]


def test_xml_text_replaces_exactly_what_xml_forbids() -> None:
    assert xml_text("a\x00b\x0bc\x1fd\ud800e\udcfff\ufffeg\uffffh") == "a�b�c�d�e�f�g�h"
    assert xml_text("tab\tlf\ncr\r 中文 \x7f\x85\u2028 😀") == "tab\tlf\ncr\r 中文 \x7f\x85\u2028 😀"


def controlled_book(path: Path) -> Path:
    """An accepted 2024 outfall table on a sheet named ``Sheet\\x0b1`` with a footer ``填表人：李\\x0b四``,
    and a second sheet whose water body ``赣江\\x07`` is an error: written by openpyxl with stand-ins,
    then the control characters put into the XML as a hostile writer would."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "SheetVT1"
    for row in (OUTFALL, ["360102", "2024", "赣江", 80, 70], ["填表人：李VT四"]):
        ws.append(row)
    bad = wb.create_sheet("表FF2")
    for row in (OUTFALL, ["360102", "2023", "赣江BEL", 12, 9]):
        bad.append(row)
    data = io.BytesIO()
    wb.save(data)
    with zipfile.ZipFile(data) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name).replace(b"VT", b"\x0b").replace(b"FF", b"\x0c")
                         .replace(b"BEL", b"\x07"))
    return path


def test_control_characters_reach_no_xml_writer(tmp_path: Path, monkeypatch) -> None:
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse" / "ecostat.duckdb"
    shutil.copytree(SAMPLES, raw / "inbox")
    controlled_book(raw / "inbox" / "360102" / "控制字符.xlsx")
    steps.run_plain(raw, warehouse)

    fb = openpyxl.load_workbook(raw / "outbox" / "360102" / "控制字符.xlsx.feedback.xlsx")
    assert fb.sheetnames == [FEEDBACK_SHEET, "Sheet�1", "表�2"]
    copied = [[c for c in row if c is not None] for row in fb["Sheet�1"].iter_rows(values_only=True)]
    assert copied[-1] == ["填表人：李�四"]
    assert fb["表�2"]["C2"].value == "赣江�" and "赣江" in fb["表�2"]["C2"].comment.text
    summary = [str(c) for row in fb[FEEDBACK_SHEET].iter_rows(values_only=True) for c in row if c is not None]
    assert any(s.startswith("Sheet�1") for s in summary) and not any(NOT_XML.search(s) for s in summary)

    # ecostat report's .docx, without its charts: they (and the PDF) need the CJK fonts, not installed here
    monkeypatch.setattr(build, "report_charts", lambda *args: [])
    path = tmp_path / "report.docx"
    with connect(warehouse, read_only=True) as con:
        write_docx(report_context(con, 2024), path)
    text = "\n".join([p.text for p in docx.Document(str(path)).paragraphs]
                     + [c.text for t in docx.Document(str(path)).tables for r in t.rows for c in r.cells])
    assert "控制字符.xlsx [Sheet�1]" in text and not NOT_XML.search(text)


def test_every_value_a_page_shows_is_fit_for_xml() -> None:
    """The site's and the PDF's pages: Jinja's ``finalize``, escaped text and markup alike."""
    page = environment().from_string("{{ a }}|{{ b }}|{{ c }}").render(a="Sheet\x0b1 <b>", b=Markup("<i>\x0c</i>"), c=3)
    assert page == "Sheet�1 &lt;b&gt;|<i>�</i>|3"
