"""Figures as data: every definition of ``schemas/figures.csv`` (and every field or figure the other data
files name) checked against the forms, and each kind's generic query computed on a real warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from ecostat.contract import registry
from ecostat.contract.forms import FORMS
from ecostat.run import ingest as steps
from ecostat.store import figuredefs
from ecostat.store.figuredefs import Condition, Figure, figure_problems, figures, reference_problems
from ecostat.store.figures import annual_figures
from tests.conftest import write_csv
from tests.forms_data import header, row


def test_the_shipped_definitions_are_consistent():
    defs = figures()
    assert figure_problems(defs, FORMS) == []
    assert reference_problems(defs, FORMS) == []
    assert len({f.figure for f in defs}) == len(defs) == 44
    assert {f.kind for f in defs} == {"sum", "ratio", "reduction", "value", "mean", "count", "share"}


def fig(figure: str = "x.y", kind: str = "sum", form: str = "outfall_remediation", field: str = "required",
        **kw: object) -> Figure:
    return Figure(figure, "名称", kw.pop("unit", "个"), kw.pop("change_unit", "个"), kind, form, field,  # type: ignore[arg-type]
                  **kw)  # type: ignore[arg-type]


BROKEN = [
    ([fig(), fig()], "x.y: defined more than once"),
    ([fig(kind="total")], "x.y: kind 'total' is not one of sum, ratio, reduction, value, mean, count, share, sql"),
    ([fig(form="noise")], "x.y: form 'noise' does not exist"),
    ([fig(field="requried")], "x.y: field 'requried' is not a field of form outfall_remediation"),
    ([fig(field="water_body")], "x.y: field outfall_remediation.water_body is not numeric (registry)"),
    ([fig(form="rural_soil", field="sewage_rate", unit="%", change_unit="pp")],
     "x.y: field rural_soil.sewage_rate is a percentage: percentages are never summed"),
    ([fig(form="air_quality", field="good_days")],
     "x.y: field air_quality.good_days does not add up across units (summed=False)"),
    ([fig(kind="ratio", unit="%", change_unit="pp")],
     "x.y: denominator '' is not a field of form outfall_remediation"),
    ([fig(kind="count", denominator="required")], "x.y: kind count counts rows and takes no field"),
    ([fig(kind="count", field="", denominator="required")], "x.y: only a ratio or a reduction has a denominator"),
    ([fig(kind="reduction", unit="%", change_unit="pp")],
     "x.y: denominator '' is not a field of form outfall_remediation"),
    ([fig(scale=0.0)], "x.y: scale 0 is not a positive factor"),
    ([fig(form="drinking_water", kind="count", field="", filter=(Condition("boundary_marked", ("yes",)),))],
     "x.y: filter boundary_marked=yes: 'yes' is not a code of registry yes_no"),
    ([fig(by="required")], "x.y: by 'required' is not a registry or text field of form outfall_remediation"),
    ([fig(kind="value")], "x.y: a value is each unit's own (scope unit)"),
    ([fig(kind="share", field="")], "x.y: a share needs a filter (the rows it counts)"),
    ([fig(base=(Condition("water_body", ("ganjiang",)),))], "x.y: only a share has a base"),
    ([fig(filter=(Condition("water_body", ("changjiang",)),))],
     "x.y: filter water_body=changjiang: 'changjiang' is not a code of registry water_bodies"),
    ([fig(filter=(Condition("completed", ("many",)),))], "x.y: filter completed=many: 'many' is not a number"),
    ([fig(filter=(Condition("done", ("1",)),))], "x.y: filter field 'done' is not a field of form outfall_remediation"),
    ([fig(scope="district")], "x.y: scope 'district' is not one of all, unit, city"),
    ([fig(change_unit="件")], "x.y: change_unit '件' is %, pp or the figure's unit 个"),
    ([fig(figure="Outfall")], "Outfall: a figure code is lower-case words joined by dots"),
    ([fig(kind="sql", form="", field="")], "x.y: kind sql needs warehouse/figures/x.y.sql"),
    ([fig(kind="sql")], "x.y: a sql figure is defined by x.y.sql alone"),
]


@pytest.mark.parametrize(("defs", "problem"), BROKEN, ids=[p for _, p in BROKEN])
def test_each_broken_definition_is_named(defs, problem):
    assert problem in figure_problems(defs, FORMS)


def test_a_renamed_field_is_named_with_its_new_code(monkeypatch):
    import dataclasses

    spec = FORMS["outfall_remediation"]
    renamed = dataclasses.replace(spec.field("required"), code="to_remediate", was=("required",))
    monkeypatch.setitem(FORMS, spec.code, dataclasses.replace(
        spec, fields=tuple(renamed if f.code == "required" else f for f in spec.fields)))
    assert "outfall.required: field 'required' is not a field of form outfall_remediation (renamed to to_remediate)" \
        in figure_problems(figures(), FORMS)


@pytest.fixture
def registries(tmp_path: Path, monkeypatch, request) -> Path:
    """A copy of the registries to break, read instead of the shipped ones."""
    folder = tmp_path / "registries"
    shutil.copytree(registry.REGISTRY_DIR, folder)
    monkeypatch.setattr(registry, "REGISTRY_DIR", folder)
    registry.registry.cache_clear()
    request.addfinalizer(registry.registry.cache_clear)
    return folder


def test_fields_and_figures_named_by_the_other_data_files_exist(registries):
    with open(registries / "plausibility.csv", "a", encoding="utf-8") as fh:
        fh.write("enforcement.fine,罚款,0,1,\nwater_sections.level,级别,0,1,\n")
    with open(registries / "figure_pairs.csv", "a", encoding="utf-8") as fh:
        fh.write("x,示例,outfall.required,outfall.done\n")
    with open(registries / "report_obligations.csv", "a", encoding="utf-8") as fh:
        fh.write("noise,噪声,district\n")
    assert reference_problems(figures(), FORMS) == [
        "plausibility.csv enforcement.fine: not a numeric field of a form",
        "plausibility.csv water_sections.level: not a numeric field of a form",
        "figure_pairs.csv x: smaller 'outfall.done' is not a figure",
        "report_obligations.csv noise: not a form"]


@pytest.fixture
def extra_figures(tmp_path: Path, monkeypatch, request) -> None:
    """The shipped figures plus one of each kind they do not use, including a sql figure."""
    folder = tmp_path / "figures"
    folder.mkdir()
    (folder / "water.section_count.sql").write_text(
        "SELECT year, '360100' AS scope, NULL AS dimension, count(*) AS value\n"
        "FROM core_final_values WHERE form = 'water_sections' AND field = 'total_phosphorus' GROUP BY year\n",
        encoding="utf-8")
    table = tmp_path / "figures.csv"
    text = figuredefs.FIGURES_FILE.read_text(encoding="utf-8")
    table.write_text(text + "\n".join([
        "water.national_sections,国考断面数,个,个,count,water_sections,,,,level=national,,city",
        "water.sections_by_body,各水体断面数,个,个,count,water_sections,,,water_body,,,city",
        "water.tp_mean_national,国考断面总磷均值,mg/L,%,mean,water_sections,total_phosphorus,,,level=national,,city",
        "outfall.ganjiang_required,赣江需整治排口数,个,个,sum,outfall_remediation,required,,,water_body=ganjiang,,all",
        "outfall.large_required,需整治数不少于10的排口数,个,个,sum,outfall_remediation,required,,,required=10|20,,all",
        "water.section_count,断面数,个,个,sql,,,,,,,city"]) + "\n", encoding="utf-8")
    monkeypatch.setattr(figuredefs, "FIGURES_FILE", table)
    monkeypatch.setattr(figuredefs, "FIGURE_SQL_DIR", folder)
    figuredefs.figures.cache_clear()
    request.addfinalizer(figuredefs.figures.cache_clear)


def section(code: str, body: str, level: str, cls: str, tp: float) -> list[object]:
    return row("water_sections", unit="360100", section_code=code, water_body=body, level=level, water_class=cls,
               total_phosphorus=tp)


def test_each_kind_computes_its_figure(tmp_path: Path, extra_figures):
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360100" / "sections.csv", [
        header("water_sections"), section("S1", "赣江", "国考", "Ⅱ", 0.05), section("S2", "赣江", "省考", "Ⅲ", 0.15),
        section("S3", "抚河", "国考", "Ⅳ", 0.25), section("S4", "抚河", "市考", "Ⅰ", 0.01)])
    write_csv(raw / "inbox" / "360102" / "outfalls.csv", [
        header("outfall_remediation"), row("outfall_remediation", water_body="赣江", required=10, completed=8),
        row("outfall_remediation", water_body="抚河", required=5, completed=5)])
    write_csv(raw / "inbox" / "360103" / "outfalls.csv", [
        header("outfall_remediation"), row("outfall_remediation", unit="360103", water_body="赣江", required=20,
                                           completed=1)])
    assert steps.run_plain(raw, db).count("accepted") == 3
    with duckdb.connect(str(db), read_only=True) as con:
        got = {(s, f, d): v for s, f, d, v in con.execute(
            "SELECT scope, figure, dimension, value FROM annual_figures WHERE year = 2024").fetchall()}
    assert got[("360100", "water.national_sections", None)] == 2
    by_body = "water.sections_by_body"
    assert got[("360100", by_body, "ganjiang")] == got[("360100", by_body, "fuhe")] == 2
    assert got[("360100", "water.tp_mean_national", None)] == pytest.approx(0.15)
    assert got[("360100", "water.surface_good_rate", None)] == 75  # share: Ⅰ–Ⅲ of all
    assert got[("360100", "water.national_good_rate", None)] == 50  # share: Ⅰ–Ⅲ of 国考
    assert got[("360100", "water.tp_mean", "fuhe")] == pytest.approx(0.13)  # mean by water body
    assert got[("360100", "outfall.ganjiang_required", None)] == 30  # sum with a filter
    assert got[("360102", "outfall.ganjiang_required", None)] == 10
    assert got[("360100", "outfall.large_required", None)] == 30  # a numeric condition
    assert got[("360100", "outfall.completion_rate", None)] == pytest.approx(14 / 35 * 100)  # Σ/Σ, not a mean
    assert got[("360103", "outfall.completion_rate", None)] == 5
    assert got[("360100", "water.section_count", None)] == 4  # sql
    assert ("360102", "water.national_sections", None) not in got  # scope city: no district rows


def test_yes_no_counts_a_reduction_and_a_scaled_sum(tmp_path: Path):
    """count with a yes/no condition, reduction (1 − Σcur/Σbase) × 100 and sum × scale, over the v2 forms."""
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360121" / "sources.csv", [
        header("drinking_water"),
        row("drinking_water", unit="360121", source_code="R1", source_level="农村", boundary_marked="√"),
        row("drinking_water", unit="360121", source_code="R2", source_level="农村", boundary_marked="×"),
        row("drinking_water", unit="360121", source_code="C1", source_level="县级", samples=12,
            compliant_samples=11)])
    write_csv(raw / "inbox" / "360123" / "sources.csv", [
        header("drinking_water"),
        row("drinking_water", unit="360123", source_code="R3", source_level="农村", boundary_marked="Y"),
        row("drinking_water", unit="360123", source_code="C2", source_level="市级", samples=12,
            compliant_samples=12)])
    for unit, base, cur in (("360121", "2吨", "1.9吨"), ("360123", 3000, 2800)):
        write_csv(raw / "inbox" / unit / "soil.csv", [header("soil_waste"), row(
            "soil_waste", unit=unit, heavy_metal_base=base, heavy_metal_current=cur)])
    write_csv(raw / "inbox" / "360100" / "eia.csv", [header("eia_approvals"), row(
        "eia_approvals", unit="360100", investment="84.28亿元")])
    assert steps.run_plain(raw, db).count("accepted") == 5
    with duckdb.connect(str(db), read_only=True) as con:
        got = {(s, f): v for s, f, v in con.execute(
            "SELECT scope, figure, value FROM annual_figures WHERE year = 2024 AND dimension IS NULL").fetchall()}
        assert con.execute("SELECT boundary_marked FROM fact_drinking_water ORDER BY unit_code, source_code"
                           ).fetchall() == [(True,), (True,), (False,), (True,), (True,)]
    assert got[("360100", "drinking.rural_sources")] == 3
    assert got[("360100", "drinking.rural_sources_marked")] == 2
    assert got[("360121", "drinking.rural_sources_marked")] == 1
    assert got[("360100", "drinking.county_compliance_rate")] == pytest.approx(23 / 24 * 100)
    assert got[("360100", "soil.heavy_metal_reduction")] == pytest.approx((1 - 4700 / 5000) * 100)
    assert got[("360121", "soil.heavy_metal_reduction")] == pytest.approx(5)
    assert got[("360100", "eia.investment")] == pytest.approx(84.28)  # Σ 万元 × 0.0001 = 亿元


def test_every_scopes_figures_come_in_one_order(tmp_path: Path):
    """With every scope, the rows are in catalogue order, then by dimension and scope: a total order, so that
    two reads of the same figures compare equal (without the scope in it, the order of a figure's rows of the
    city and of each unit was the query engine's, and changed from one read to the next)."""
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    units = ("360102", "360103", "360104", "360111", "360112", "360113", "360121", "360123", "360124")
    for n, unit in enumerate(units):
        write_csv(raw / "inbox" / unit / "outfalls.csv", [header("outfall_remediation"), row(
            "outfall_remediation", unit=unit, required=10 + n, completed=n)])
    assert steps.run_plain(raw, db).count("accepted") == len(units)
    with duckdb.connect(str(db), read_only=True) as con:
        position = dict(con.execute("SELECT figure, position FROM meta_figure_catalogue").fetchall())
        reads = [[(r.figure, r.dimension, r.scope) for r in annual_figures(con, 2024, None).itertuples()]
                 for _ in range(20)]
    first = reads[0]
    assert len(first) == 3 * (len(units) + 1)  # the three outfall figures of the city and of each unit
    assert first == sorted(first, key=lambda r: (position[r[0]], r[1] or "", r[2]))
    assert all(read == first for read in reads)
