"""The fast csv path (Arrow's parser, for plain files) reads exactly what Python's csv module reads, or
declines and leaves the file to it."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecostat.read.text import _csv_rows, _plain_csv_rows
from ecostat.read.types import ColumnRows

CELLS = st.text(alphabet=list("ab1 ,;\t\"'—无٣赣江１\r\n"), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=1, max_size=6),
       st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
def test_plain_path_reads_as_the_csv_module_does(rows: list[list[str]], end: str, raw_join: bool) -> None:
    if raw_join:  # written without quoting: stray separators, quotes and empty lines as a person types them
        text = end.join(",".join(r) for r in rows) + end
    else:
        buf = io.StringIO()
        csv.writer(buf, lineterminator=end).writerows(rows)
        text = buf.getvalue()
    first = next(csv.reader(io.StringIO(text[:text.find("\n") + 1 or len(text)], newline="")), [])
    fast = _plain_csv_rows(text.encode("utf-8"), 0, len(first))
    if fast is not None:
        assert fast == _csv_rows(text)


def test_plain_files_take_the_fast_path() -> None:
    text = "区县代码,报告期,断面编码\n360100,2024,W1\n360100,2024,W2\n"
    assert _plain_csv_rows(text.encode("utf-8"), 0, 3) == _csv_rows(text) == [
        (1, ["区县代码", "报告期", "断面编码"]), (2, ["360100", "2024", "W1"]), (3, ["360100", "2024", "W2"])]
    bom = b"\xef\xbb\xbf" + text.encode("utf-8")
    assert _plain_csv_rows(bom, 3, 3) == _csv_rows(text)
    for odd in (b'a,"b,c"\n', b"a,b\n\nc,d\n", b"a,b\nc\n", "甲,乙\n".encode("gbk")):
        assert _plain_csv_rows(odd, 0, 2) is None


# Cells of every kind a row of the outfall form may hold: valid and broken values, blanks and markers,
# totals, footer labels and notes (rows of them end the table or are skipped), another unit's code.
OUTFALL_CELLS = st.sampled_from(["360102", "360103", "东湖区", "2024", "2024年", "2099", "赣江", "抚河", "长江", "10",
                                 "8", "7.5", "-1", "60个以上", "3箱", "30%", "十个", "", " ", "-", "无", "合计",
                                 "填报人：王敏", "审核人: 刘强 联系电话：0791", "注：数据截至年底", "注 以下为补报"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(OUTFALL_CELLS, min_size=5, max_size=5), min_size=0, max_size=12))
def test_a_table_read_a_column_at_a_time_is_checked_as_its_rows(body: list[list[str]]) -> None:
    """What the columnar path (a csv's columns, Rows) makes of a table — layout, findings, footer, the checked
    frame — is what the path over a list of rows makes of it."""
    from ecostat.read.types import Rows

    _checked_as_rows(body, lambda table: Rows.of_columns([list(c) for c in zip(*table, strict=True)]))


def _checked_as_rows(body: list[list[str]], columns) -> None:  # type: ignore[no-untyped-def]
    """The outfall table of ``body`` checked as ``columns(table)`` makes it, and as a list of rows: the same
    findings, footer and frame."""
    import datetime as dt

    from ecostat.check.table import check_table
    from ecostat.read.types import RawTable
    from tests.forms_data import header

    table = [header("outfall_remediation"), *body]
    listed = check_table(RawTable(None, [(i, list(r)) for i, r in enumerate(table, 1)]), "360102",
                         today=dt.date(2025, 6, 1))
    columnar = check_table(RawTable(None, columns(table)), "360102", today=dt.date(2025, 6, 1))
    assert [vars(f) for f in columnar.findings] == [vars(f) for f in listed.findings]
    assert columnar.footer == listed.footer
    assert (columnar.frame is None) == (listed.frame is None)
    if listed.frame is not None:
        pd.testing.assert_frame_equal(columnar.frame, listed.frame)


def test_an_office_csv_takes_the_fast_path_with_the_findings_of_the_slow_one() -> None:
    """A csv as Excel on a Chinese Windows saves it — GBK, CRLF line ends, units in the header cells — is read
    by Arrow after transcoding, and checked to exactly the findings and frame of the csv module's reading."""
    import datetime as dt

    from ecostat.check.table import check_table
    from ecostat.read.text import decode_csv, read_csv
    from ecostat.read.types import ColumnRows, RawTable
    from tests.forms_data import header, row

    units = {"罚款金额": "罚款金额（万元）", "免罚金额": "免罚金额（元）"}
    head = [units.get(str(h), h) for h in header("enforcement")]
    body = [row("enforcement", period=f"2024年{m}月", fines=m * 1.5, exempt_amount=20_000) for m in range(1, 13)]
    body[3][3] = "12万"         # a unit of its own in the cell
    body[5][3] = "十二"         # not a number
    body[7][0] = "360103"       # another unit's row
    body[9][2] = "2.5"          # not a whole count
    text = "\r\n".join(",".join(map(str, r)) for r in [head, *body]) + "\r\n"
    data = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    (fast,) = read_csv(data)
    assert isinstance(fast.rows, ColumnRows)  # Arrow's reading, not the csv module's
    slow = RawTable(None, _csv_rows(decode_csv(data)))
    assert fast.rows == slow.rows
    by_fast = check_table(fast, "360102", today=dt.date(2025, 6, 1))
    by_slow = check_table(slow, "360102", today=dt.date(2025, 6, 1))
    assert [vars(f) for f in by_fast.findings] == [vars(f) for f in by_slow.findings]
    assert {f.rule_id for f in by_fast.findings} >= {"CELL_NUMBER", "CELL_INTEGER", "AUTH_ROW_UNIT"}
    assert by_fast.frame is not None and by_slow.frame is not None
    pd.testing.assert_frame_equal(by_fast.frame, by_slow.frame)
    assert by_fast.frame["exempt_amount"].iloc[0] == 2.0  # 20,000 元 in 万元


def test_a_csv_in_no_known_encoding_still_says_so() -> None:
    """Bytes neither UTF-8 nor GB18030 leave the fast path and get the reader's precise error."""
    from ecostat.read.text import read_csv
    from ecostat.read.types import ReadError

    with pytest.raises(ReadError) as e:
        read_csv(b"a,b\r\n\x81\x20,c\r\n")
    assert e.value.rule_id == "FILE_ENCODING"


def arrow_columns(table: list[list[str]]) -> ColumnRows:
    """Rows kept as the csv reader keeps a big file's: each column's distinct texts an Arrow string array."""
    import numpy as np
    import pyarrow as pa

    encoded = [pa.array(list(c), pa.string()).dictionary_encode() for c in zip(*table, strict=True)]
    return ColumnRows([e.dictionary for e in encoded], [np.asarray(e.indices) for e in encoded])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(OUTFALL_CELLS, min_size=5, max_size=5), min_size=0, max_size=12))
def test_a_table_of_arrow_texts_is_checked_as_its_rows(body: list[list[str]]) -> None:
    """Columns of Arrow texts, whose footer labels and notes are looked for by Arrow before a cell is tested
    (``Rows.candidates`` with ``containing``), and whose cells' tests are kept for the next ask, give the
    layout, findings, footer and frame of the path over a list of rows."""
    _checked_as_rows(body, lambda table: arrow_columns([[str(c) for c in r] for r in table]))


ENDS = st.sampled_from(["填报人：王敏", "审核人: 刘强", " 备注 见附件", "说明", "联系 电话：0791", "注 以下为补报",
                        "制表人 ：张", "填 报 人:李", "赣江：抚河", "备", "审", "9:30", "360102", "", " ", "无"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(ENDS, min_size=3, max_size=3), min_size=1, max_size=10))
def test_arrow_finds_the_rows_that_may_end_a_table_body(body: list[list[str]]) -> None:
    """The rows that may hold a footer label or a note, looked for by Arrow in a column of texts, are those
    the test itself finds cell by cell."""
    from ecostat.check.layout import MAY_END_BODY, _may_end_body

    rows = arrow_columns(body)
    expected = [k for k, cells in enumerate(body) if any(_may_end_body(c) for c in cells)]
    assert rows.candidates(_may_end_body, MAY_END_BODY) == expected == rows.candidates(_may_end_body)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
       | st.text("赣江抚河鑢閑é…€\x80a1,", max_size=40))
def test_the_characters_of_a_transcoded_csv_are_counted_as_one_by_one(text: str) -> None:
    """Whether a GB18030 reading is likely Chinese counts its non-ASCII characters and those outside GB2312 by
    the codecs, as many as looking at each character gives."""
    from ecostat.read.text import _wide_and_rare

    def in_gb2312(ch: str) -> bool:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            return False
        return True

    wide = [ch for ch in text if ord(ch) > 127]
    assert _wide_and_rare(text) == (len(wide), sum(not in_gb2312(ch) for ch in wide))
