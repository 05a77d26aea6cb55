"""Issue 12's attack at once, at a smaller size (`python -m benchmarks.hostile` runs it at the issue's sizes
and measures it): every hostile file and name beside valid files in one inbox, one run; each attack ends
as it must and the valid files load."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.hostile import UPLOADS, Sizes, outcome, plant
from ecostat.run import ingest as steps

ROOT = Path(__file__).resolve().parent.parent


def test_every_attack_of_issue_12_in_one_run(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    for unit in ("360102", "360121"):
        shutil.copytree(ROOT / "raw" / "samples" / unit, raw / "inbox" / unit)
    monkeypatch.setenv("ECOSTAT_SETTINGS", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    expected = plant(raw / "inbox", tmp_path / "outside", Sizes(bomb_rows=10_000_000, styled_rows=2_000,
                                                                 wide_columns=50_000, parquet_columns=10_000))
    summary = steps.run_plain(raw, db)
    assert outcome(db, expected) == []
    samples = [t for t in summary.tables if t.file.split("/")[-1] in {
        p.name for u in ("360102", "360121") for p in (ROOT / "raw" / "samples" / u).iterdir()}]
    assert samples and all(t.status == "accepted" for t in samples)
    assert sorted(p.name for p in (raw / "inbox" / "360102").iterdir()) == sorted(UPLOADS)
    assert (tmp_path / "outside" / "secret.csv").read_text().count("777") == 1
