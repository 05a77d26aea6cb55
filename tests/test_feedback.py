"""Feedback workbooks and summaries, opened with openpyxl: exactly the offending cells are marked."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from ecostat.check import codes
from ecostat.cli import main
from ecostat.common.safecell import csv_value, put
from ecostat.contract.registry import CodeRegister
from ecostat.publish.feedback import ERROR_FILL, FEEDBACK_SHEET, WARNING_FILL
from ecostat.run import ingest as steps
from tests.conftest import write_csv, write_xlsx
from tests.forms_data import header, row

OUTFALL = header("outfall_remediation")


def marked(ws) -> dict[str, tuple[str, str]]:
    """Every cell of a sheet with a fill or a comment: {ref: (fill colour, comment text)}."""
    out = {}
    for cells in ws.iter_rows():
        for c in cells:
            if c.fill.fill_type is not None or c.comment is not None:
                out[c.coordinate] = (c.fill.start_color.rgb if c.fill.fill_type else "",
                                     c.comment.text if c.comment else "")
    return out


def no_formulas(wb: openpyxl.Workbook) -> None:
    for ws in wb.worksheets:
        for cells in ws.iter_rows():
            for c in cells:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)


def test_three_errors_mark_exactly_their_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "排口.csv", [
        OUTFALL,
        row("outfall_remediation", required=10, completed=12),     # E2: completed > required
        row("outfall_remediation", water_body="抚河", required="十个", completed=3),  # D3: not a number
        row("outfall_remediation", water_body="长江", required=5, completed=5),       # C4: not in the registry
        row("outfall_remediation", water_body="潦河", required=5, completed=5),       # fine
    ])
    out = tmp_path / "out" / "feedback.xlsx"
    assert main(["validate", str(path), "--unit", "360102", "--feedback", str(out),
                 "--warehouse", str(tmp_path / "none.duckdb")]) == 1
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [FEEDBACK_SHEET, "排口"]
    data = wb["排口"]
    assert marked(data) == {
        "E2": (ERROR_FILL, "ROW_NOT_ABOVE：已完成整治数(12)大于需整治排口数(10)"),
        "D3": (ERROR_FILL, "CELL_NUMBER：“需整治排口数”的值“十个”不是数字"),
        "C4": (ERROR_FILL, "CELL_REGISTRY：“所属水体”的值“长江”不在登记表中，可填："
               "赣江、抚河、潦河、锦江、鄱阳湖南昌湖区、军山湖、青岚湖、瑶湖"),
    }
    # the copy holds what the submitter wrote, at the same rows and columns
    assert [c.value for c in data[3]] == ["360102", "2024", "抚河", "十个", "3"]
    assert data.max_row == 5

    fb = wb[FEEDBACK_SHEET]
    assert [fb.cell(5, j).value for j in range(1, 6)] == ["排口", "outfall_remediation", "退回 rejected", 3, 0]
    rows = [[c.value for c in r] for r in fb.iter_rows(min_row=9, max_row=11)]
    assert [(r[2], r[4], r[6]) for r in rows] == [("CELL_NUMBER", "D3", "十个"), ("CELL_REGISTRY", "C4", "长江"),
                                                 ("ROW_NOT_ABOVE", "E2", "12")]
    links = {fb.cell(r, 5).value: fb.cell(r, 5).hyperlink.location for r in range(9, 12)}
    assert links == {"D3": "'排口'!D3", "C4": "'排口'!C4", "E2": "'排口'!E2"}
    assert "feedback:" in capsys.readouterr().out


def test_warning_cell_is_yellow_and_table_passes(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", {"排口": [OUTFALL, row("outfall_remediation", required="10多")]})
    out = tmp_path / "fb.xlsx"
    assert main(["validate", str(path), "--unit", "360102", "--feedback", str(out),
                 "--warehouse", str(tmp_path / "none.duckdb")]) == 0
    wb = openpyxl.load_workbook(out)
    assert marked(wb["排口"]) == {"D2": (WARNING_FILL, "CELL_QUALIFIER：“需整治排口数”的值“10多”带有“以上/多/≥”，"
                                         "按“至少 10”记录")}
    assert wb[FEEDBACK_SHEET].cell(5, 3).value.startswith("通过")


def test_unreadable_file_gets_a_feedback_sheet_only(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{", encoding="utf-8")
    out = tmp_path / "fb.xlsx"
    assert main(["validate", str(path), "--unit", "360102", "--feedback", str(out),
                 "--warehouse", str(tmp_path / "none.duckdb")]) == 1
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [FEEDBACK_SHEET]
    assert wb[FEEDBACK_SHEET].cell(9, 3).value == "FILE_UNREADABLE"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "=HYPERLINK(\"http://x\",\"y\")"])
def test_formula_like_cells_are_written_as_text(tmp_path: Path, text: str) -> None:
    path = write_csv(tmp_path / "inj.csv", [OUTFALL, row("outfall_remediation", water_body=text)])
    out = tmp_path / "fb.xlsx"
    assert main(["validate", str(path), "--unit", "360102", "--feedback", str(out),
                 "--warehouse", str(tmp_path / "none.duckdb")]) == 1
    wb = openpyxl.load_workbook(out)
    no_formulas(wb)
    cell = wb["inj"]["C2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    values = [c.value for r in wb[FEEDBACK_SHEET].iter_rows() for c in r]
    assert text in values  # the value column of the finding, also as text
    # and Excel's own view of the cell after reload with cached values
    assert openpyxl.load_workbook(out, data_only=True)["inj"]["C2"].value == text


def test_safe_cell_helpers(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for j, v in enumerate(["=1+1", "-5", "ok", -5, 3.5, None], 1):
        put(ws, 1, j, v)
    wb.save(tmp_path / "s.xlsx")
    back = openpyxl.load_workbook(tmp_path / "s.xlsx").active
    assert [(c.value, c.data_type) for c in back[1]] == [("=1+1", "s"), ("-5", "s"), ("ok", "s"), (-5, "n"),
                                                         (3.5, "n")]
    buf = io.StringIO()
    csv.writer(buf).writerow([csv_value(v) for v in ["=1+1", "@x", "+1", "-1", "a-b", -1, 2.5]])
    assert buf.getvalue().strip() == "'=1+1,'@x,'+1,'-1,a-b,-1,2.5"


def test_ingest_writes_feedback_with_receipt(tmp_path: Path) -> None:
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    inbox, outbox = raw / "inbox", raw / "outbox"
    write_csv(inbox / "360102" / "first.csv", [OUTFALL, row("outfall_remediation", required=10, completed=8)])
    first = steps.run_plain(raw, db).tables
    write_csv(inbox / "360102" / "sub" / "second.csv",
              [OUTFALL, row("outfall_remediation", required=10, completed=9)])
    write_csv(inbox / "stray.csv", [OUTFALL, row("outfall_remediation", completed=7)])
    steps.run_plain(raw, db)
    fb = openpyxl.load_workbook(outbox / "360102" / "first.csv.feedback.xlsx")[FEEDBACK_SHEET]
    assert fb.cell(5, 7).value == "已入库 1 行；报告期 360102:2024；未替代任何先前数据 (nothing replaced)"
    second = openpyxl.load_workbook(outbox / "360102" / "sub" / "second.csv.feedback.xlsx")[FEEDBACK_SHEET]
    sid = first[0].submission_id
    assert second.cell(5, 7).value == f"已入库 1 行；报告期 360102:2024；替代先前提交 #{sid}（360102/first.csv）"
    md = (outbox / "360102" / "sub" / "second.csv.feedback.md").read_text(encoding="utf-8")
    assert md.startswith("**second.csv**：1 张表（接收 1）")
    assert f"#{sid}（360102/first.csv）" in md
    stray = outbox / "_unassigned" / "stray.csv.feedback.md"
    assert "AUTH_FOLDER" not in stray.read_text(encoding="utf-8")  # the chat summary is in Chinese
    assert "文件 文件不在任何填报单位的收件目录中" in stray.read_text(encoding="utf-8")


def test_feedback_marks_the_v2_cells_yes_no_ownership_and_the_city_only_form(tmp_path: Path) -> None:
    """Contract v2's forms in the feedback workbooks: a yes/no cell, a source code owned by another unit, and a
    district's water sections (rejected whole, the finding on the feedback sheet)."""
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    dw = header("drinking_water")
    write_csv(raw / "inbox" / "360121" / "a.csv", [dw, row("drinking_water", unit="360121")])
    write_xlsx(raw / "inbox" / "360123" / "b.xlsx", {"水源地": [
        dw, row("drinking_water", unit="360123", source_code="AY-C01", boundary_marked="部分"),
        row("drinking_water", unit="360123", source_code="NCX-C01")]})  # registered to 360121
    write_xlsx(raw / "inbox" / "360102" / "c.xlsx", {"断面": [header("water_sections"), row("water_sections")]})
    steps.run_plain(raw, db)
    wb = openpyxl.load_workbook(raw / "outbox" / "360123" / "b.xlsx.feedback.xlsx")
    cells = marked(wb["水源地"])
    assert set(cells) == {"H2", "C3"}
    assert cells["H2"][1].startswith("CELL_YES_NO") and cells["C3"][1].startswith("AUTH_CODE")
    sections = openpyxl.load_workbook(raw / "outbox" / "360102" / "c.xlsx.feedback.xlsx")
    text = " ".join(str(c.value) for r in sections[FEEDBACK_SHEET].iter_rows() for c in r if c.value)
    assert "AUTH_FORM" in text and "仅由南昌市（360100）报送" in text


def test_a_big_table_is_copied_as_its_head_and_its_bad_rows(tmp_path: Path, monkeypatch) -> None:
    """Over 5,000 rows, the copy holds the first 20 rows and each row with a finding, and says so."""
    # the bureau's register holds the table's 6,000 section codes (else each row has a warning of its own)
    registered = CodeRegister("section_register", {f"W{i}": ((2000, None, "360100"),) for i in range(6000)})
    monkeypatch.setattr(codes, "code_register", lambda name: registered)
    rows = [header("water_sections"), *(row("water_sections", unit="360100", section_code=f"W{i}")
                                        for i in range(6000))]
    rows[4000][8] = "很多"  # I4001: not a number
    path = write_csv(tmp_path / "大表.csv", rows)
    out = tmp_path / "fb.xlsx"
    assert main(["validate", str(path), "--unit", "360100", "--feedback", str(out),
                 "--warehouse", str(tmp_path / "none.duckdb")]) == 1
    wb = openpyxl.load_workbook(out)
    data = wb["大表"]
    copied = sorted({c.row for r in data.iter_rows() for c in r if c.value is not None})
    assert copied == [*range(1, 21), 4001]
    assert marked(data) == {"I4001": (ERROR_FILL, "CELL_NUMBER：“总磷”的值“很多”不是数字")}
    assert data["C4001"].value == "W3999"
    fb = [c.value for r in wb[FEEDBACK_SHEET].iter_rows() for c in r if isinstance(c.value, str)]
    assert any(v.startswith("表“大表”共 6001 行，副本只含前 20 行（表头）和有问题的行") for v in fb)


def test_a_big_table_lets_its_cells_go_and_its_feedback_still_names_the_bad_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once checked, a big table keeps only the cells its feedback quotes (head rows and rows with findings),
    and the feedback of an ingest run still marks and quotes every bad cell, and counts every row."""
    import datetime as dt
    import hashlib

    from ecostat.check import codes
    from ecostat.check.files import check_across_periods, check_file
    from ecostat.contract.registry import CodeRegister
    from ecostat.intake.archive import Receipt

    register = CodeRegister("section_register", {f"W{i}": ((2000, None, "360100"),) for i in range(7000)})
    monkeypatch.setattr(codes, "code_register", lambda name: register)  # the codes registered: no row warns
    monkeypatch.setenv("ECOSTAT_CHECK_PROCESSES", "0")  # checked in this process, where the register is patched
    rows = [header("water_sections"), *(row("water_sections", unit="360100", section_code=f"W{i}")
                                        for i in range(7000))]
    rows[3000][8] = "很多"     # I3001: not a number
    rows[6500][2] = ""         # C6501: a required section code missing
    rows[7000][8] = "-0.5"     # I7001: below the minimum
    path = write_csv(tmp_path / "raw" / "inbox" / "360100" / "大表.csv", rows)
    data = path.read_bytes()
    now = dt.datetime.now(dt.UTC)
    rec = Receipt("t", hashlib.sha256(data).hexdigest(), path.name, "360100", len(data), now, now)
    (table,) = check_file(rec, data)  # type: ignore[misc]
    assert table.raw is not None and len(table.raw.rows) == 7001
    check_across_periods(None, rec, table)
    assert table.raw.row_count == 7001 and table.raw.rows.numbers() == [*range(1, 21), 3001, 6501, 7001]
    assert table.raw.cells(3001)[8] == "很多" and table.raw.cells(3002) == []

    steps.run_plain(tmp_path / "raw", tmp_path / "w.duckdb")
    wb = openpyxl.load_workbook(tmp_path / "raw" / "outbox" / "360100" / "大表.csv.feedback.xlsx")
    copy = wb["大表"]
    assert sorted({c.row for r in copy.iter_rows() for c in r if c.value is not None}) == [*range(1, 21), 3001,
                                                                                           6501, 7001]
    assert set(marked(copy)) == {"I3001", "C6501", "I7001"}
    assert copy["I3001"].value == "很多" and copy["I7001"].value == "-0.5" and copy["C6502"].value is None
    fb = [[c.value for c in r] for r in wb[FEEDBACK_SHEET].iter_rows()]
    assert any(str(v).startswith("表“大表”共 7001 行") for r in fb for v in r)
    quoted = {(r[4], r[6]) for r in fb if r[4] in ("I3001", "C6501", "I7001")}  # (cell, value written)
    assert {("I3001", "很多"), ("I7001", "-0.5")} <= quoted and any(ref == "C6501" for ref, _ in quoted)
