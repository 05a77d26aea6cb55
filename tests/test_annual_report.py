"""``ecostat report`` on the samples: the .docx (opened with python-docx, every run with its East Asian
font), the PDF (fonts embedded, rendered by pdftoppm, no glyph missing), the charts (no glyph missing),
certified against live figures, and the year-to-date curve."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from PIL import Image

from ecostat.cli import main
from ecostat.publish.annual import charts
from ecostat.publish.annual.build import report_context, year_to_date
from ecostat.publish.annual.pdf import write_pdf
from ecostat.store.certify import certify
from ecostat.store.warehouse import connect
from tests.programs import poppler_or_skip
from tests.test_phrasing import SEED_SENTENCES


@pytest.fixture(scope="module")
def report(samples, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """The samples' 2024 report written by the command, with the warnings WeasyPrint logged meanwhile."""
    _, warehouse = samples
    out = tmp_path_factory.mktemp("report")
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("weasyprint").addHandler(handler)
    try:
        assert main(["report", "--year", "2024", "--warehouse", str(warehouse), "--out", str(out)]) == 0
    finally:
        logging.getLogger("weasyprint").removeHandler(handler)
    return out, warehouse, records


def test_the_command_writes_the_docx_the_pdf_and_the_charts(report):
    out, _, _ = report
    assert sorted(p.name for p in (out / "charts").iterdir()) == ["2024_districts.png", "2024_monthly.png",
                                                                 "2024_yoy.png"]
    assert (out / "南昌市2024年生态环境统计数据报告.docx").is_file()
    assert (out / "南昌市2024年生态环境统计数据报告.pdf").read_bytes().startswith(b"%PDF")


def test_the_docx_states_the_seed_figures_and_every_run_names_its_east_asian_font(report):
    out, warehouse, _ = report
    doc = docx.Document(str(out / "南昌市2024年生态环境统计数据报告.docx"))
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    runs = [r for p in doc.paragraphs for r in p.runs if r.text.strip()]
    runs += [r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs
             if r.text.strip()]
    missing = [r.text for r in runs if r._element.rPr is None or r._element.rPr.rFonts is None
               or not r._element.rPr.rFonts.get(qn("w:eastAsia"))]
    assert not missing, missing[:5]

    def font(run) -> tuple[str, float]:  # type: ignore[no-untyped-def]
        return run._element.rPr.rFonts.get(qn("w:eastAsia")), run.font.size.pt

    paragraphs = [p for p in doc.paragraphs if p.text.strip()]
    assert paragraphs[0].text == "南昌市2024年生态环境统计数据报告"
    assert font(paragraphs[0].runs[0]) == ("方正小标宋简体", 22)  # 小标宋 二号
    heading = next(p for p in paragraphs if p.text == "二、主要指标")
    assert font(heading.runs[0]) == ("黑体", 16)
    body = "".join(p.text for p in paragraphs)
    for sentence in SEED_SENTENCES:
        assert sentence in body, sentence
    air = next(p for p in paragraphs if p.text.startswith("PM2.5平均浓度"))
    assert font(air.runs[0]) == ("仿宋_GB2312", 16)  # 仿宋 三号
    assert "尚未认证" in body and "实时数据" in body
    assert len(doc.inline_shapes) == 3
    with connect(warehouse, read_only=True) as con:  # the appendix traces figures to the files' bytes
        sha, file = con.execute("""SELECT sha256, file FROM fact_enforcement
                                   WHERE is_current AND unit_code = '360112' AND year = 2024""").fetchone()
    cells = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    assert sha[:12] in cells and any(c.startswith(file) for c in cells)


def test_the_pdf_embeds_the_cjk_fonts_and_renders_every_glyph(report, tmp_path: Path):
    out, _, records = report
    pdf = out / "南昌市2024年生态环境统计数据报告.pdf"
    fonts = subprocess.run([poppler_or_skip("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(" yes yes yes " in r for r in rows), fonts  # embedded, subset, with a Unicode map
    assert all("Noto" in r.split()[0] and "CJK" in r.split()[0] for r in rows), fonts
    assert not [r for r in records if "notdef" in r], records  # WeasyPrint names any character no font has
    text = subprocess.run([poppler_or_skip("pdftotext"), str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", "", re.sub(r"\n\s*—\d+—\s*\n", "\n", text))  # a sentence may run across a page footer
    for sentence in SEED_SENTENCES:
        assert sentence in flat, sentence
    subprocess.run([poppler_or_skip("pdftoppm"), "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) > 5
    for page in pages:  # each page has ink on it
        assert Image.open(page).convert("L").getextrema()[0] < 100, page.name


def test_a_character_no_font_has_is_named_by_a_warning(samples, tmp_path: Path, caplog):
    """The check above can fail: a character outside every installed font is reported."""
    _, warehouse = samples
    with connect(warehouse, read_only=True) as con:
        ctx = report_context(con, 2024)
    ctx.sections[0].sentences.append("\U00013000")  # an Egyptian hieroglyph
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        write_pdf(ctx, tmp_path / "x.pdf")
    assert any("notdef" in r.getMessage() for r in caplog.records)


def test_charts_draw_chinese_without_a_missing_glyph(monkeypatch):
    panel = charts.Panel("达Ⅱ类水质断面占比（µg/m³）", ["鄱阳湖南昌湖区", "赣江"],
                         {"2023年": [1.0, 2.0], "2024年": [1.5, None]}, {"2023年": ["1", "2"], "2024年": ["1.5", ""]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)"
        assert charts.bars([panel]).startswith(b"\x89PNG")
        assert charts.bars([panel], horizontal=True).startswith(b"\x89PNG")
        assert charts.lines([panel], columns=1).startswith(b"\x89PNG")
    monkeypatch.setattr(charts, "cjk_family", lambda: "DejaVu Sans")  # the check can fail
    with warnings.catch_warnings(), pytest.raises(UserWarning, match="missing from font"):
        warnings.simplefilter("error")
        charts.bars([panel])


def test_a_certified_report_states_the_certified_figures_and_live_the_current_ones(samples, tmp_path: Path):
    _, warehouse = samples
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    with connect(copy) as con:
        certify(con, 2024, "局办公室", with_pending=True)  # contract v3 §9: none approved
        con.execute("""UPDATE fact_enforcement SET fines = fines + 100
                       WHERE is_current AND unit_code = '360112' AND year = 2024""")  # a later change
        certified = report_context(con, 2024)
        live = report_context(con, 2024, live=True)
    assert certified.certified and not live.certified
    assert "已认证指标（第1版" in certified.basis and "局办公室" in certified.basis
    assert "尚待修订认证" in certified.basis
    assert "实时数据" in live.basis and "已于" in live.basis
    said = {c.basis: "".join(s for sec in c.sections for s in sec.sentences) for c in (certified, live)}
    assert "罚款金额1300.47万元" in said[certified.basis]
    assert "罚款金额1400.47万元" in said[live.basis]


def test_the_year_to_date_curve_carries_each_units_latest_report_forward():
    rows = [("a", 3, 10.0), ("a", 6, 20.0), ("a", None, 40.0), ("a", 12, 35.0), ("b", 6, 5.0)]
    curve, covered, reported = year_to_date(rows)
    assert curve[:2] == [None, None]
    assert curve[2:6] == [10.0, 10.0, 10.0, 25.0]
    assert curve[11] == 45.0  # a's annual report (not its December monthly one) and b's June
    assert covered[5] == 2 and covered[2] == 1
    assert [m + 1 for m, r in enumerate(reported) if r] == [3, 6, 12]


def test_a_year_without_figures_is_refused(samples, capsys, tmp_path: Path):
    _, warehouse = samples
    assert main(["report", "--year", "2019", "--warehouse", str(warehouse), "--out", str(tmp_path)]) == 1
    assert "2019" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
