"""The annual report as a ``.docx`` for the office (WPS or Word), laid out after GB/T 9704:
A4 with its margins, the title in 小标宋 二号, the body in 仿宋_GB2312 三号 at a fixed 28 pt line,
first-level headings in 黑体, second-level in 楷体_GB2312, page numbers "— 1 —" in 宋体 四号.

Every run names its East Asian font (``w:eastAsia``): without it Word and WPS set the Chinese text in
whatever default font they have. The ``.docx`` names the office's fonts; the PDF embeds free ones."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as Docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from ecostat.common.xmltext import xml_text
from ecostat.publish.annual.context import ReportContext, Table

LATIN = "Times New Roman"
TITLE = ("方正小标宋简体", 22)   # 二号
BODY = ("仿宋_GB2312", 16)       # 三号
HEADING1 = ("黑体", 16)
HEADING2 = ("楷体_GB2312", 16)
CAPTION = ("黑体", 14)          # 四号
TABLE = ("仿宋_GB2312", 10.5)   # 五号
TABLE_HEAD = ("黑体", 10.5)
SMALL_TABLE = ("仿宋_GB2312", 9)
PAGE_NUMBER = ("宋体", 14)
LINE = Pt(28)
TEXT_WIDTH = Mm(156)
CHART_HEIGHT = Mm(185)  # a heading, a chart and its caption fit on one page (the type area is 225 mm high)
FIRST_COLUMN = Mm(26)


def _font(run: Run, font: tuple[str, float], *, bold: bool = False) -> Run:
    east_asia, size = font
    run.font.name = LATIN
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), east_asia)
    return run


def _paragraph(doc: Docx, text: str, font: tuple[str, float], *, align: Any = None, indent: bool = False,
               outline: int | None = None) -> Paragraph:
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE
    fmt.space_before = fmt.space_after = Pt(0)
    if indent:
        fmt.first_line_indent = Pt(font[1] * 2)
    if align is not None:
        p.alignment = align
    if outline is not None:  # shows in the navigation pane without Word's styled headings
        level = OxmlElement("w:outlineLvl")
        level.set(qn("w:val"), str(outline))
        p._p.get_or_add_pPr().append(level)
    _font(p.add_run(xml_text(text)), font)
    return p


def _page_setup(doc: Docx) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN
    normal.font.size = Pt(BODY[1])
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY[0])
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(footer.add_run("— "), PAGE_NUMBER)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, None), ("end", None)):
        run = _font(footer.add_run("1" if kind is None and text is None else ""), PAGE_NUMBER)
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._element.append(char)
        elif text:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._element.append(instr)
    _font(footer.add_run(" —"), PAGE_NUMBER)


def _table(doc: Docx, table: Table, font: tuple[str, float] = TABLE) -> None:
    _paragraph(doc, table.caption, CAPTION, align=WD_ALIGN_PARAGRAPH.CENTER)
    grid = doc.add_table(rows=len(table.rows) + 1, cols=len(table.header))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.columns[0].width = FIRST_COLUMN
    header_row = grid.rows[0]
    repeat = OxmlElement("w:tblHeader")  # the header row repeats on each page
    header_row._tr.get_or_add_trPr().append(repeat)
    for r, values in enumerate([table.header, *table.rows]):
        for c, value in enumerate(values):
            cell = grid.cell(r, c).paragraphs[0]
            cell.alignment = WD_ALIGN_PARAGRAPH.LEFT if c == 0 or font is SMALL_TABLE else WD_ALIGN_PARAGRAPH.CENTER
            _font(cell.add_run(xml_text(value)), TABLE_HEAD if r == 0 else font, bold=False)
    doc.add_paragraph()


def write_docx(ctx: ReportContext, path: Path) -> Path:
    """Write the report as ``path`` (a ``.docx``)."""
    doc = Document()
    _page_setup(doc)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(doc, ctx.title, TITLE, align=center, outline=0)
    _paragraph(doc, f"（{ctx.generated_at}）", HEADING2, align=center)
    _paragraph(doc, "", BODY)
    headings = ctx.headings
    _paragraph(doc, headings["basis"], HEADING1, indent=True, outline=0)
    _paragraph(doc, ctx.basis, BODY, indent=True)
    if ctx.unphrased_note:
        _paragraph(doc, ctx.unphrased_note, BODY, indent=True)
    _paragraph(doc, headings["figures"], HEADING1, indent=True, outline=0)
    for section in ctx.sections:
        _paragraph(doc, section.heading, HEADING2, indent=True, outline=1)
        _paragraph(doc, "".join(section.sentences), BODY, indent=True)
    _paragraph(doc, headings["tables"], HEADING1, indent=True, outline=0)
    for table in [ctx.summary, *ctx.tables]:
        _table(doc, table)
    if ctx.charts:
        _paragraph(doc, headings["charts"], HEADING1, indent=True, outline=0)
        for chart in ctx.charts:
            doc.add_picture(io.BytesIO(chart.png), width=min(TEXT_WIDTH, int(CHART_HEIGHT / chart.aspect)))
            doc.paragraphs[-1].alignment = center
            _paragraph(doc, chart.caption, CAPTION, align=center)
    if ctx.sources:
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        _paragraph(doc, "附件", HEADING1, outline=0)
        _paragraph(doc, "指标数据来源", TITLE, align=center)
        _paragraph(doc, ctx.sources_note, BODY, indent=True)
        for source in ctx.sources:
            _paragraph(doc, source.title, BODY, indent=True)
            if source.table is not None:
                _table(doc, source.table, SMALL_TABLE)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
