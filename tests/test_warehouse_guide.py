"""The engineers' guide (docs/warehouse-guide.md): its ten queries run against the samples' warehouse
and return rows, and its table of layers names every object the warehouse has."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from ecostat.store.warehouse import connect, sql_files

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "warehouse-guide.md"


def queries() -> list[str]:
    """The ```sql blocks of the guide."""
    return re.findall(r"```sql\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_guide_has_ten_queries():
    assert len(queries()) == 10


@pytest.mark.parametrize("number", range(1, 11))
def test_each_query_runs_and_finds_rows(samples, number):
    _, warehouse = samples
    sql = queries()[number - 1]
    assert len(duckdb.extract_statements(sql)) == 1
    with connect(warehouse, read_only=True) as con:
        rows = con.execute(sql).fetchall()
    assert rows, f"query {number} found nothing in the samples' warehouse:\n{sql}"


def test_the_layers_table_names_every_warehouse_object():
    guide = GUIDE.read_text(encoding="utf-8")
    layers = guide[guide.index("## Layers"):guide.index("## Ten useful queries")]
    for path in sql_files():
        name = re.search(r"CREATE (?:OR REPLACE )?(?:TABLE|VIEW|MACRO|SEQUENCE)(?: IF NOT EXISTS)? (\w+)",
                         path.read_text(encoding="utf-8")).group(1)  # type: ignore[union-attr]
        if not name.startswith("fact_"):
            assert f"`{name}" in layers, f"{name} ({path.name}) is missing from the guide's layers"
