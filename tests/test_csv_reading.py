"""The fast csv path (Arrow's parser, for plain files) reads exactly what Python's csv module reads, or
declines and leaves the file to it."""

from __future__ import annotations

import csv
import io

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ecostat.read.text import _csv_rows, _plain_csv_rows

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
    import datetime as dt

    from ecostat.check.table import check_table
    from ecostat.read.types import RawTable, Rows
    from tests.forms_data import header

    table = [header("outfall_remediation"), *body]
    listed = check_table(RawTable(None, [(i, list(r)) for i, r in enumerate(table, 1)]), "360102",
                         today=dt.date(2025, 6, 1))
    columnar = check_table(RawTable(None, Rows.of_columns([list(c) for c in zip(*table, strict=True)])), "360102",
                           today=dt.date(2025, 6, 1))
    assert [vars(f) for f in columnar.findings] == [vars(f) for f in listed.findings]
    assert columnar.footer == listed.footer
    assert (columnar.frame is None) == (listed.frame is None)
    if listed.frame is not None:
        pd.testing.assert_frame_equal(columnar.frame, listed.frame)
