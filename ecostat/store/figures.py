"""The annual figures: reading them, and noting after each run which ones changed."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from ecostat.common.faults import fault_point
from ecostat.contract.registry import CITY
from ecostat.store.db import transaction

FIGURE_COLUMNS = ["year", "scope", "figure", "dimension", "value", "unit", "previous_value", "change",
                  "change_unit", "name_zh"]


def annual_figures(con: duckdb.DuckDBPyConnection, year: int, scope: str | None = CITY, *,
                   live: bool = False) -> pd.DataFrame:
    """The figures of one year and scope (every scope for None), in catalogue order, then by dimension and
    scope (a total order: the same rows always come in the same order), as ``annual_figures`` serves them
    (certified for a certified year), or with ``live`` the values the current reports give."""
    source = "figures_with_change(true)" if live else "annual_figures"
    return con.execute(
        f"""SELECT {", ".join("a." + c for c in FIGURE_COLUMNS)}
            FROM {source} a JOIN meta_figure_catalogue c USING (figure)
            WHERE a.year = ? AND (a.scope = ? OR ? IS NULL) ORDER BY c.position, a.dimension, a.scope""",
        [year, scope, scope]).df()


def refresh_figures(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Compare annual_figures with the last snapshot, log every changed figure; returns how many changed."""
    fault_point("before_refresh")
    now = dt.datetime.now(dt.UTC)
    with transaction(con):
        con.execute("""CREATE OR REPLACE TEMP TABLE figure_now AS
                       SELECT year, scope, figure, dimension, value FROM annual_figures""")
        con.execute("""INSERT INTO meta_figure_log
                       SELECT ?, ?, coalesce(n.year, o.year), coalesce(n.scope, o.scope),
                              coalesce(n.figure, o.figure), coalesce(n.dimension, o.dimension), o.value, n.value
                       FROM figure_now n FULL JOIN meta_figure_snapshot o
                         ON n.year = o.year AND n.scope = o.scope AND n.figure = o.figure
                        AND n.dimension IS NOT DISTINCT FROM o.dimension
                       WHERE (n.value IS NULL) <> (o.value IS NULL)
                          OR abs(n.value - o.value) > 1e-9 * greatest(1, abs(o.value))""", [run_id, now])
        changed = con.execute("SELECT count(*) FROM meta_figure_log WHERE run_id = ?", [run_id]).fetchone()
        con.execute("DELETE FROM meta_figure_snapshot")
        con.execute("INSERT INTO meta_figure_snapshot SELECT * FROM figure_now")
        con.execute("DROP TABLE figure_now")
    return int(changed[0]) if changed else 0
