"""The fast csv path (Arrow's parser, for plain files) reads exactly what Python's csv module reads, or
declines and leaves the file to it."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from ecostat.readers import _csv_rows, _plain_csv_rows

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
