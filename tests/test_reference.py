"""The readers, checks, load and feedback give exactly the stored reference (``tests/fixtures/reference.json.gz``)
on the shipped samples and on a generated load full of bad cells: first made by ``tools/make_reference.py``
with the code before the reader and check rework, then carried forward only where the contract changed
(v3: the register's CODE_UNREGISTERED warnings, the plausible-range warnings needing an explanation and
``annual_figures.inputs_approved``; see tests/fixtures/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from make_reference import OUT, inbox_of  # noqa: E402

from tests.reference import dump, read_dump  # noqa: E402


@pytest.fixture(scope="module")
def dumped(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:  # type: ignore[type-arg]
    tmp = tmp_path_factory.mktemp("reference")
    got = json.loads(json.dumps(dump(inbox_of(tmp), tmp / "w.duckdb"), ensure_ascii=False, sort_keys=True))
    return got, read_dump(OUT)


@pytest.mark.parametrize("part", ["submissions", "findings", "footers", "figures"])
def test_same_outcomes(dumped, part: str) -> None:
    got, want = dumped
    assert got[part] == want[part]


def test_same_lineage(dumped) -> None:
    got, want = dumped
    assert got["lineage"].keys() == want["lineage"].keys()
    for table, rows in want["lineage"].items():
        assert got["lineage"][table] == rows, table


def test_same_feedback(dumped) -> None:
    got, want = dumped
    assert sorted(got["feedback"]) == sorted(want["feedback"])
    for name, book in want["feedback"].items():
        assert got["feedback"][name]["sheets"] == book["sheets"], name
        for sheet, cells in book["cells"].items():
            assert got["feedback"][name]["cells"][sheet] == cells, (name, sheet)
    assert got["feedback_md"] == want["feedback_md"]
