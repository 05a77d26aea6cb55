"""The shipped samples, through the real `ecostat` command, reproduce contract §6's 2024 figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Contract §6, 2024 as stated in the seed: (figure, dimension, value, decimals, change, decimals)
SEED_2024 = [
    ("air.pm25_mean", None, 32, 0, -3, 0),
    ("air.good_day_rate", None, 92.1, 1, -0.2, 1),
    ("water.surface_good_rate", None, 84.85, 2, 0.0, 2),
    ("water.national_good_rate", None, 90.9, 1, None, None),
    ("water.class2_share", None, 72.73, 2, 6.06, 2),
    ("water.tp_mean", "poyang_nanchang", 0.068, 3, -4.23, 2),
    ("outfall.required", None, 1072, 0, None, None),
    ("outfall.completed", None, 1045, 0, None, None),
    ("inspection.problems_due", "historic", 283, 0, None, None),
    ("inspection.problems_done", "historic", 256, 0, None, None),
    ("petition.assigned", "historic", 3329, 0, None, None),
    ("petition.assigned", "central_r3b2", 791, 0, None, None),
    ("petition.difficult", "central_r3b2", 2, 0, None, None),
    ("petition.key_cases", "central_r3b2", 240, 0, None, None),
    ("petition.general", "central_r3b2", 549, 0, None, None),
    ("petition.concluded", "historic", 3320, 0, None, None),
    ("petition.concluded", "central_r3b2", 714, 0, None, None),
    ("petition.closed", "historic", 3296, 0, None, None),
    ("petition.closed", "central_r3b2", 475, 0, None, None),
    ("enforcement.penalty_cases", None, 95, 0, None, None),
    ("enforcement.fines", None, 1300.47, 2, -5.92, 2),
    ("enforcement.exempt_cases", None, 19, 0, None, None),
    ("enforcement.exempt_amount", None, 2418.9, 1, 473.86, 2),
    ("enforcement.scattered_found", None, 518, 0, None, None),
    ("enforcement.scattered_fixed", None, 492, 0, None, None),
    ("rural.villages_new", None, 156, 0, None, None),
    ("rural.villages_cumulative", None, 664, 0, None, None),
]
# Contract §6.1 (the v2 forms), 2024 as stated in the seed; each has a 2023 value, so a previous value and change
SEED_2024_V2 = [
    ("drinking.county_compliance_rate", None, 100, 1),
    ("drinking.rural_sources", None, 39, 0),
    ("drinking.rural_sources_marked", None, 39, 0),
    ("projects.count", "water", 7, 0),
    ("projects.count", "air", 4, 0),
    ("projects.count", "soil", 1, 0),
    ("projects.central_funds", "water", 11500, 0),  # 1.15亿
    ("projects.central_funds", "air", 2440, 0),
    ("projects.central_funds", "soil", 650, 0),
    ("eia.pledge_approvals", None, 40, 0),
    ("eia.investment", None, 84.28, 2),
    ("damage.leads", None, 151, 0),
    ("damage.compensation", None, 113.72, 2),
    ("soil.parcels_reviewed", None, 68, 0),
    ("soil.parcels_exceeding", None, 0, 0),
    ("soil.key_units_monitored", None, 49, 0),
    ("waste.zero_waste_cells", None, 60, 0),
    ("soil.heavy_metal_reduction", None, 5.3, 1),
    ("radiation.reports_submitted", None, 119, 0),
    ("radiation.sources_collected", None, 8, 0),
    ("radiation.collecting_units", None, 5, 0),
]
V2_FORMS = ("drinking_water", "pollution_projects", "eia_approvals", "eco_damage", "soil_waste", "radiation")
AT_LEAST_2024 = [("rural.sewage_rate", 60), ("soil.farmland_safe_rate", 93)]  # "60%以上", "93%以上"


def ecostat(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ecostat.cli", *args], capture_output=True, text=True,
                          env=env, timeout=600, check=False)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str], str]:
    """The README's quick start: `ecostat demo` (the Prefect flow on the shipped samples) in a fresh folder."""
    tmp = tmp_path_factory.mktemp("samples")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "ECOSTAT_"))}
    env["PREFECT_HOME"] = str(tmp / "prefect")
    run = ecostat("demo", "--dir", str(tmp / "demo"), env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    demo = tmp / "demo"
    return demo / "raw", demo / "warehouse" / "ecostat.duckdb", env, run.stdout


def test_the_quick_start_prints_the_figures_and_leaves_the_checkout_alone(ingested):
    raw, db, _, stdout = ingested
    assert "PM2.5平均浓度 air.pm25_mean" in stdout and "1300.47" in stdout
    assert [p for p in (raw / "inbox").rglob("*") if p.is_file()] == []  # every sample was received
    assert not (db.parent.parent.parent / "raw").exists()  # nothing beside the demo workspace


def test_samples_reproduce_the_seed_figures(ingested):
    _, db, env, _ = ingested
    out = ecostat("figures", "--year", "2024", "--format", "json", "--warehouse", str(db), env=env)
    assert out.returncode == 0, out.stderr
    got = {(r["figure"], r["dimension"]): r for r in json.loads(out.stdout)}
    for figure, dim, value, vdec, change, cdec in SEED_2024:
        row = got[(figure, dim)]
        assert round(row["value"], vdec) == value, (figure, dim, row["value"])
        if change is not None:
            assert round(row["change"], cdec) == change, (figure, dim, row["change"])
    for figure, floor in AT_LEAST_2024:
        assert floor <= got[(figure, None)]["value"] < floor + 1
    assert got[("air.pm25_mean", None)]["name_zh"] == "PM2.5平均浓度"
    for figure, dim, value, vdec in SEED_2024_V2:
        row = got[(figure, dim)]
        assert round(row["value"], vdec) == value, (figure, dim, row["value"])
        assert row["previous_value"] is not None and row["change"] is not None, (figure, dim)
    assert got[("soil.heavy_metal_reduction", None)]["change_unit"] == "pp"
    assert got[("eia.investment", None)]["unit"] == "亿元" and got[("eia.investment", None)]["change_unit"] == "%"


def test_every_v2_form_loads_from_every_kind_of_file(ingested):
    """The v2 forms arrive in xlsx (banners, two-row headers, footers), csv (GBK, UTF-8 with BOM), json, parquet
    and .xls, each file's every table accepted."""
    _, db, env, _ = ingested
    out = ecostat("query", "SELECT form, list(DISTINCT lower(regexp_extract(file, '\\.(\\w+)$', 1)) ORDER BY 1), "
                  "count(*) FILTER (WHERE status = 'rejected') FROM submission_log WHERE form IN "
                  f"({', '.join(repr(f) for f in V2_FORMS)}) GROUP BY form ORDER BY form", "--format", "json",
                  "--warehouse", str(db), env=env)
    assert out.returncode == 0, out.stderr
    rows = {r["form"]: list(r.values())[1:] for r in json.loads(out.stdout)}
    assert set(rows) == set(V2_FORMS)
    assert all(rejected == 0 for _, rejected in rows.values())
    kinds = set().union(*(set(k) for k, _ in rows.values()))
    assert kinds == {"xlsx", "xls", "csv", "json", "parquet"}, rows


def test_first_run_rejects_the_bad_samples_with_reasons(ingested):
    _, _, _, stdout = ingested
    rejected = [line for line in stdout.splitlines() if "退回 rejected:" in line]
    assert len(rejected) == 5
    assert any("stray.csv" in line and "收件目录" in line for line in rejected)
    assert "141 tables accepted" in stdout


def test_validate_names_each_bad_cell_in_chinese(ingested):
    _, db, env, _ = ingested
    bad = next((ROOT / "raw" / "samples" / "360124").glob("错误_*.csv"))
    out = ecostat("validate", str(bad), "--unit", "360124", "--warehouse", str(db), env=env)
    assert out.returncode == 1
    assert "ROW_NOT_ABOVE" in out.stdout and "E2" in out.stdout
    assert "已完成整治数(个)(93)大于需整治排口数(个)(91)" in out.stdout
    good = next((ROOT / "raw" / "samples" / "360124").glob("进贤县2024*.xlsx"))
    ok = ecostat("validate", str(good), "--unit", "360124", "--warehouse", str(db), env=env)
    assert ok.returncode == 0, ok.stdout


def test_audit_of_the_samples_passes_and_builds_data_docs(ingested):
    _, db, env, _ = ingested
    out = ecostat("audit", "--year", "2024", "--warehouse", str(db), env=env)
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    assert "错误 0 项" in out.stdout
    docs = db.parent / "docs"
    assert (docs / "index.html").is_file()
    assert (docs / "validations" / "completeness").is_dir()
    page = (docs / "audit.html").read_text(encoding="utf-8")  # readable without internet access
    assert "错误 0 项" in page and "http" not in page
    assert 'href="validations/completeness/' in page


def test_the_run_rebuilds_the_status_site_linking_the_audit(ingested):
    _, db, _, _ = ingested
    index = (db.parent / "site" / "index.html").read_text(encoding="utf-8")
    assert 'href="../docs/audit.html"' in index and (db.parent / "docs" / "audit.html").is_file()
    assert "审计 audit" in index and "2024年：" in index  # the run's audit outcome in its row


def test_the_samples_carry_a_jump_explained_in_a_remark_and_one_left_for_the_portal(ingested):
    """Contract v3 §8: 东湖区 explains its 2024 jump in the row's 备注 cell; 西湖区's waits for the portal, and
    keeps its report from being approved until then."""
    _, db, env, _ = ingested
    out = ecostat("query", "SELECT unit_code, rule_id, field, value, source, explained, explanation FROM explanations "
                  "WHERE is_current ORDER BY unit_code", "--format", "json", "--warehouse", str(db), env=env)
    assert out.returncode == 0, out.stderr
    got = [tuple(r.values()) for r in json.loads(out.stdout)]
    assert got == [("360102", "PERIOD_JUMP", "villages_total", "10", "cell", True,
                    "2024年行政区划调整，新划入6个行政村，行政村总数由4个增至10个"),
                   ("360103", "PERIOD_JUMP", "villages_total", "12", None, False, None)]
    queue = ecostat("review", "list", "--year", "2024", "--format", "json", "--warehouse", str(db), env=env)
    states = {(r["form"], r["unit_code"]): r for r in json.loads(queue.stdout)}
    assert states[("rural_soil", "360103")]["unexplained"] == 1 and states[("rural_soil", "360102")]["unexplained"] == 0
