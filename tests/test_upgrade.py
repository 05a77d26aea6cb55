"""Carrying warehouses forward (contract §7) against the warehouse that commit 5537a61 built from the samples
(``tests/fixtures/v1``, made by ``tools/make_v1_fixture.py``): upgraded in place by ``ecostat upgrade`` and
by the next run, nothing lost, every figure kept, a rebuild from its archive equal to it; and what the
forms add (a field, a form) derived, what they cannot (a rename, a type change, a drop) stopped."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from ecostat.cli import main
from ecostat.contract.forms import FORMS, known_header_keys
from ecostat.contract.formspec import INTEGER, Form, count
from ecostat.intake import verdicts
from ecostat.run import ingest as steps
from ecostat.store import migrations
from ecostat.store.warehouse import connect, create_objects, declared_schema
from ecostat.store.writer import work_path
from tests.conftest import write_csv
from tests.forms_data import header, row

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "v1"
FIGURE_KEY = "year, scope, figure, dimension"
LATEST = migrations.latest_version()
NEXT = LATEST + 1  # a step a test adds


@pytest.fixture
def v1(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the v1 warehouse and of the archive it was built from."""
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    shutil.copytree(FIXTURE / "archive", raw / "archive")
    db.parent.mkdir()
    with gzip.open(FIXTURE / "ecostat.duckdb.gz") as src, open(db, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return raw, db


def snapshot(db: Path, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every base table's rows (only ``columns`` of each table when given), in a stable order."""
    with duckdb.connect(str(db), read_only=True) as con:
        names = columns or {t: [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [t]).fetchall()]
            for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        return {t: con.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{t}" ORDER BY ALL')
                .fetchall() for t, cols in names.items()}


def columns_of(db: Path) -> dict[str, list[str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        out: dict[str, list[str]] = {}
        for t, c in con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE table_name IN (SELECT "
                                "table_name FROM duckdb_tables()) ORDER BY table_name, column_index").fetchall():
            out.setdefault(t, []).append(c)
        return out


def figure_values(db: Path, view: str = "mart_figure_values") -> dict[tuple, float]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {tuple(r[:4]): r[4] for r in con.execute(f"SELECT {FIGURE_KEY}, value FROM {view}").fetchall()}


def same_figures(before: dict[tuple, float], after: dict[tuple, float]) -> None:
    """The same figures with the same values (up to the last bits of a floating-point sum's order)."""
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert after[key] == (None if value is None else pytest.approx(value, rel=1e-12, abs=1e-12)), key


def versions(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT version, name, how, contract_version FROM meta_schema_version "
                           "ORDER BY applied_at, version").fetchall()


def migrated(db: Path) -> list[tuple]:
    """The steps applied (not the changes derived from the forms)."""
    return [v for v in versions(db) if v[2] == "migrated"]


def test_upgrade_keeps_every_row_and_every_figure_and_twice_is_a_no_op(v1, capsys):
    _, db = v1
    assert main(["figures", "--year", "2024", "--warehouse", str(db)]) == 2  # readers wait for the upgrade
    assert f"schema version 1, this code needs {LATEST}: run `ecostat upgrade`" in capsys.readouterr().err
    old_columns = columns_of(db)
    before = snapshot(db)
    assert len(before["fact_water_sections"]) == 66 and len(before["meta_certified_figures"]) == 231
    live, served = figure_values(db), figure_values(db, "annual_figures")
    assert main(["upgrade", "--warehouse", str(db)]) == 0
    assert f"schema version 1 → {LATEST}" in capsys.readouterr().out
    after = snapshot(db, old_columns)
    v1_figures = {r[0] for r in before["meta_figure_catalogue"]}
    assert len(after["meta_figure_catalogue"]) == len(v1_figures) + 17  # the catalogue is data: §6.1's figures added
    after["meta_figure_catalogue"] = [r for r in after["meta_figure_catalogue"] if r[0] in v1_figures]
    assert after == before  # every row of every v1 table, every value
    same_figures(live, figure_values(db))
    same_figures(served, figure_values(db, "annual_figures"))  # 2023 as certified, 2024 live
    with duckdb.connect(str(db), read_only=True) as con:  # v3 §7: every current slice pending, nothing re-judged
        assert con.execute("SELECT DISTINCT state FROM review_states").fetchall() == [("pending",)]
        assert con.execute("SELECT count(*) FROM meta_review_warnings").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM review_states WHERE receipt_id IS NULL").fetchone() == (0,)
    new_forms = "; ".join(f"create fact_{f}" for f in sorted(
        ("drinking_water", "pollution_projects", "eia_approvals", "eco_damage", "soil_waste", "radiation")))
    assert versions(db) == [(1, "baseline", "found", "3"), *((s.version, s.name, "migrated", "3")
                                                             for s in migrations.steps()[1:]),
                            (LATEST, new_forms, "derived", "3")]  # contract v2's forms: derived, no step
    upgraded = snapshot(db)
    assert main(["upgrade", "--warehouse", str(db)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert snapshot(db) == upgraded
    assert main(["figures", "--year", "2024", "--warehouse", str(db)]) == 0
    assert "需整治入河排污口数 outfall.required" in capsys.readouterr().out


def test_a_fresh_schema_equals_the_baseline_plus_the_steps(v1, tmp_path):
    _, db = v1
    with connect(db, create=True) as old, connect(tmp_path / "fresh.duckdb", create=True) as fresh:
        assert migrations.stored_schema(old) == migrations.stored_schema(fresh)
        views = "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
        assert old.execute(views).fetchall() == fresh.execute(views).fetchall()
        comments = ("SELECT table_name, column_name, comment FROM duckdb_columns() "
                    "WHERE starts_with(table_name, 'fact_') ORDER BY ALL")
        assert old.execute(comments).fetchall() == fresh.execute(comments).fetchall()
        assert fresh.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'fact_enforcement' "
                             "AND column_name = 'fines'").fetchone() == ("罚款金额 (万元)",)
        assert migrations.schema_version(fresh) == LATEST


def test_the_next_run_upgrades_and_rejected_files_stay_rejected_until_sent_again(v1, capsys):
    raw, db = v1
    with duckdb.connect(str(db), read_only=True) as con:
        log = con.execute("SELECT * FROM submission_log ORDER BY submission_id").fetchall()
    rejected = [r for r in log if r[6] == "rejected"]
    assert len(rejected) == 7  # among them an .xls and a sheet with "9件", which v2 would accept
    (raw / "inbox").mkdir()
    assert main(["ingest", "--no-prefect", "--raw", str(raw), "--warehouse", str(db)]) == 0  # nothing new
    assert "0 files, 0 tables accepted, 0 rejected, 0 duplicates" in capsys.readouterr().out
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT * FROM submission_log ORDER BY submission_id").fetchall() == log
        assert con.execute("SELECT count(*) FROM meta_received_files").fetchone() == (51,)
    assert migrations.latest_version() == max(v for v, *_ in versions(db))
    stray = FIXTURE.parent.parent.parent / "raw" / "samples" / "stray.csv"  # rejected by v1: outside any unit folder
    before = figure_values(db)
    (raw / "inbox" / "360102").mkdir()
    shutil.copyfile(stray, raw / "inbox" / "360102" / "stray.csv")
    summary = steps.run_plain(raw, db)
    assert [(t.status, t.form) for t in summary.tables] == [("accepted", "enforcement")]  # judged when sent again
    assert summary.figures_changed == 0  # the first refresh after the upgrade: the generic figures equal v1's
    same_figures(before, figure_values(db))  # a May report: 360102's annual report still counts


OUTCOME = "SELECT file, sheet, form, status, rows_loaded FROM submission_log ORDER BY submission_id"
V1_REJECTED_XLS = "360124/进贤县2024年环境执法_更正.xls"  # FILE_TYPE in v1; readable in v2
V1_REJECTED_SHEET = ("360121/南昌县2024年6月报表.xlsx", "环境执法")  # "9件": CELL_NUMBER in v1; a count in v2


def test_rebuild_from_the_archive_equals_the_upgraded_warehouse(v1, tmp_path, capsys):
    raw, db = v1
    assert not (raw / "archive" / verdicts.JOURNAL).exists()  # the v1 archive predates the journal
    assert main(["upgrade", "--raw", str(raw), "--warehouse", str(db)]) == 0
    assert "journaled the verdicts of 51 processed receipts" in capsys.readouterr().out
    journal = verdicts.read(raw / "archive")
    assert len(journal) == 51 and {v.contract for v in journal.values()} == {"1"}  # processed before any version
    rebuilt = tmp_path / "rebuilt.duckdb"
    assert main(["rebuild", "--raw", str(raw), "--warehouse", str(db), "--to", str(rebuilt)]) == 0
    assert "no recorded verdict" not in capsys.readouterr().out
    assert figure_values(rebuilt) == figure_values(db)
    same_figures(figure_values(db, "annual_figures"), figure_values(rebuilt, "annual_figures"))
    with duckdb.connect(str(db), read_only=True) as a, duckdb.connect(str(rebuilt), read_only=True) as b:
        assert a.execute(OUTCOME).fetchall() == b.execute(OUTCOME).fetchall()
        kept = b.execute("""SELECT l.file, l.sheet, i.rule_id, i.message_zh, i.message_en FROM submission_log l
                            JOIN validation_issues i USING (submission_id)
                            WHERE i.rule_id = 'REJECTED_EARLIER' ORDER BY l.submission_id""").fetchall()
        assert len(kept) == 7  # every rejection of v1, first among its findings
        found = {(f, s): (zh, en) for f, s, _, zh, en in kept}
        assert "此文件已在提交合同第 1 版下被退回（现行为第 3 版）" in found[(V1_REJECTED_XLS, None)][0]
        assert "this table was rejected under submission contract v1 (now v3)" in found[V1_REJECTED_SHEET][1]
        # the sheet v1 accepted beside it is accepted again; the rejected one keeps its cell findings too
        assert b.execute("SELECT status FROM submission_log WHERE file = ? AND sheet = '督察整改'",
                         [V1_REJECTED_SHEET[0]]).fetchall() == [("accepted",)]


def test_an_archive_without_verdicts_is_judged_under_the_current_contract(v1, tmp_path, capsys):
    """Nothing tells a rebuild what v1 decided about a receipt that no warehouse journaled: it is judged under
    the current contract (v3), and the rebuild says so; here the .xls that v1 refused then loads."""
    raw, db = v1
    rebuilt = tmp_path / "rebuilt.duckdb"
    assert main(["rebuild", "--raw", str(raw), "--warehouse", str(db), "--to", str(rebuilt)]) == 0
    assert "51 receipts had no recorded verdict and were judged under contract v3" in capsys.readouterr().out
    with duckdb.connect(str(rebuilt), read_only=True) as b:
        assert b.execute("SELECT status FROM submission_log WHERE file = ?", [V1_REJECTED_XLS]).fetchall() == [
            ("accepted",)]
    assert figure_values(rebuilt)[(2024, "360124", "enforcement.fines", None)] == pytest.approx(300.5)


def test_each_run_journals_its_verdicts_and_a_lost_line_is_journaled_from_the_warehouse(tmp_path):
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    drop(raw, "360102/a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    drop(raw, "360102/b.csv", [header("outfall_remediation"), row("outfall_remediation", completed=11)])
    steps.run_plain(raw, db)
    journal = verdicts.read(raw / "archive")
    assert sorted((v.contract, v.tables) for v in journal.values()) == [
        ("3", ((None, "outfall_remediation", "accepted"),)), ("3", ((None, "outfall_remediation", "rejected"),))]
    (raw / "archive" / verdicts.JOURNAL).unlink()  # as if the run died after its commits, before the journal
    drop(raw, "360103/c.csv", [["区县代码", "报告期"], ["360103", "2024"]])
    steps.run_plain(raw, db)
    again = verdicts.read(raw / "archive")
    assert {k: again[k] for k in journal} == journal  # journaled from the warehouse, contract v3 as recorded
    assert len(again) == 3


def test_a_rejection_of_an_earlier_contract_stands_in_a_run_too(tmp_path):
    """A pending receipt (its run rolled back after the journal line, then ecostat was upgraded) whose earlier
    verdict was a rejection stays rejected."""
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    drop(raw, "360102/a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    from ecostat.intake.archive import receipts
    from ecostat.intake.inbox import receive_inbox

    assert receive_inbox(raw) == 1
    (rec,) = receipts(raw / "archive")
    verdicts.write(raw / "archive", verdicts.Verdict(rec.receipt_id, "1", ((None, None, "rejected"),)))
    summary = steps.run_plain(raw, db)
    (t,) = summary.tables
    assert (t.status, [f.rule_id for f in t.findings]) == ("rejected", ["REJECTED_EARLIER"])
    assert verdicts.read(raw / "archive")[rec.receipt_id].contract == "1"


def test_readers_and_writers_refuse_a_newer_schema_version(v1, capsys):
    raw, db = v1
    (raw / "inbox").mkdir()
    assert main(["upgrade", "--warehouse", str(db)]) == 0
    newer = migrations.latest_version() + 1
    # readers open the published file, writers a working copy of it (made from it: none stays at rest)
    for copy in (c for c in (db, work_path(db)) if c.exists()):
        with duckdb.connect(str(copy)) as con:
            con.execute("INSERT INTO meta_schema_version VALUES (?, 'from_the_future', 'migrated', '9', now(), NULL)",
                        [newer])
    capsys.readouterr()
    for args in (["figures", "--year", "2024"], ["query", "SELECT 1"], ["upgrade"],
                 ["ingest", "--no-prefect", "--raw", str(raw)]):
        assert main([*args, "--warehouse", str(db)]) == 2, args
        err = capsys.readouterr().err
        assert f"schema version {newer}, newer than this code knows ({newer - 1})" in err, args


def test_migration_steps_are_numbered_once_each_from_one(tmp_path):
    assert [s.version for s in migrations.steps()] == list(range(1, migrations.latest_version() + 1))
    for names in (["0001_a.sql", "0003_b.sql"], ["0001_a.sql", "0001_b.py"], ["0001_a.sql", "2_b.sql"]):
        folder = tmp_path / "-".join(names)
        folder.mkdir()
        for n in names:
            (folder / n).write_text("", encoding="utf-8")
        with pytest.raises(ValueError, match=r"numbered|named"):
            migrations.steps(folder)


def with_steps(monkeypatch, tmp_path: Path, **extra: str) -> None:
    """Use the real migration steps plus ``extra`` (file name → text)."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrations.MIGRATIONS_DIR, folder)
    for name, text in extra.items():
        (folder / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", folder)


def test_a_failing_step_is_rolled_back_and_a_python_step_runs_in_its_transaction(v1, tmp_path, monkeypatch):
    _, db = v1
    with_steps(monkeypatch, tmp_path, **{f"{NEXT:04d}_broken.sql": "ALTER TABLE alerts ADD COLUMN note VARCHAR;\n"
                                                             "SELECT no_such_function();"})
    with pytest.raises(duckdb.Error), connect(db, create=True):
        pass
    assert migrations.schema_version(duckdb.connect(str(db), read_only=True)) == LATEST  # the shipped steps only
    assert "note" not in columns_of(db)["alerts"]
    (migrations.MIGRATIONS_DIR / f"{NEXT:04d}_broken.sql").unlink()
    (migrations.MIGRATIONS_DIR / f"{NEXT:04d}_describe_runs.py").write_text(
        "def migrate(con):\n    con.execute(\"COMMENT ON TABLE meta_ingest_runs IS 'one row per run'\")\n",
        encoding="utf-8")
    with connect(db, create=True) as con:
        assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'meta_ingest_runs'").fetchone() == (
            "one row per run",)
    assert migrated(db)[-1] == (NEXT, "describe_runs", "migrated", "3")


@pytest.fixture
def form_change(monkeypatch, request):
    """Replace or add a form for one test (the registry is a dict every module shares)."""
    request.addfinalizer(known_header_keys.cache_clear)

    def change(form: Form) -> None:
        monkeypatch.setitem(FORMS, form.code, form)
        monkeypatch.setenv("ECOSTAT_CHECK_PROCESSES", "0")  # the form changed in this process only: checked here
        known_header_keys.cache_clear()
    return change


def with_field(form: str, code: str, replacement: object) -> Form:
    spec = FORMS[form]
    fields = tuple(replacement if f.code == code else f for f in spec.fields)
    return dataclasses.replace(spec, fields=fields)  # type: ignore[arg-type]


def drop(raw: Path, name: str, rows: list[list[object]]) -> None:
    write_csv(raw / "inbox" / name, rows)


def test_a_field_added_later_becomes_a_column_and_old_archives_still_replay(tmp_path, form_change):
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    enf = header("enforcement")
    drop(raw, "360102/a.csv", [enf, row("enforcement", period="2023")])
    assert [t.status for t in steps.run_plain(raw, db).tables] == ["accepted"]
    spec = FORMS["enforcement"]
    without = {p: [enf, row("enforcement", period=p, fines=20)] for p in ("2023", "2024")}  # as before the field
    form_change(dataclasses.replace(spec, fields=(*spec.fields, count("warnings", "警告件数", since="2024"))))
    with connect(db) as con:
        upgrade = create_objects(con)
        assert upgrade.derived == ["add fact_enforcement.warnings"]
        assert con.execute("SELECT warnings FROM fact_enforcement").fetchall() == [(None,)]
        assert con.execute("SELECT how, name FROM meta_schema_version WHERE how = 'derived'").fetchall() == [
            ("derived", "add fact_enforcement.warnings")]
    drop(raw, "360102/b.csv", without["2024"])  # required from 2024 on
    drop(raw, "360102/c.csv", [header("enforcement"), row("enforcement", period="2024", warnings=7)])
    drop(raw, "360102/d.csv", without["2023"])  # before 2024: not required
    summary = steps.run_plain(raw, db)
    assert [t.status for t in summary.tables] == ["rejected", "accepted", "accepted"], summary.text()
    (f,) = summary.tables[0].findings
    assert (f.rule_id, f.row, f.header) == ("CELL_REQUIRED_SINCE", 2, "警告件数")
    assert "自报告期 2024 起必填" in f.message_zh
    rebuilt = tmp_path / "rebuilt.duckdb"
    assert main(["rebuild", "--raw", str(raw), "--warehouse", str(db), "--to", str(rebuilt)]) == 0
    current = "SELECT period, fines, warnings FROM fact_enforcement WHERE is_current ORDER BY period"
    with duckdb.connect(str(db), read_only=True) as a, duckdb.connect(str(rebuilt), read_only=True) as b:
        assert a.execute(current).fetchall() == b.execute(current).fetchall() == [("2023", 20.0, None),
                                                                                  ("2024", 12.5, 7)]


def test_a_new_form_gets_its_table_and_its_values_without_sql(tmp_path, form_change):
    raw, db = tmp_path / "raw", tmp_path / "wh" / "ecostat.duckdb"
    drop(raw, "360102/a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    steps.run_plain(raw, db)
    form_change(Form("noise", "噪声", section="4.99", fields=(count("complaints", "噪声投诉件数"),)))
    drop(raw, "360103/n.csv", [["区县代码", "报告期", "噪声投诉件数"], ["360103", "2024", "41"]])
    summary = steps.run_plain(raw, db)
    assert [(t.status, t.form) for t in summary.tables] == [("accepted", "noise")]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT name FROM meta_schema_version WHERE how = 'derived'").fetchall() == [
            ("create fact_noise",)]
        assert con.execute("SELECT form, unit_code, field, value FROM core_final_values WHERE form = 'noise'"
                           ).fetchall() == [("noise", "360103", "complaints", 41.0)]


def test_a_rename_stops_until_its_step_is_written(v1, tmp_path, monkeypatch, form_change):
    _, db = v1
    form_change(with_field("water_sections", "section_name",
                           dataclasses.replace(FORMS["water_sections"].field("section_name"), code="section_title",
                                               was=("section_name",))))
    with pytest.raises(migrations.SchemaMismatch) as stopped, connect(db, create=True):
        pass
    message = str(stopped.value)
    assert "fact_water_sections.section_title was section_name" in message
    assert "ALTER TABLE fact_water_sections RENAME COLUMN section_name TO section_title" in message
    assert f"warehouse/migrations/{NEXT:04d}_<name>.sql" in message
    names = snapshot(db, {"fact_water_sections": ["section_code", "section_name"]})["fact_water_sections"]
    with_steps(monkeypatch, tmp_path, **{f"{NEXT:04d}_section_title.sql": "ALTER TABLE fact_water_sections "
                                                                   "RENAME COLUMN section_name TO section_title;"})
    with connect(db, create=True):
        pass
    assert snapshot(db, {"fact_water_sections": ["section_code", "section_title"]})["fact_water_sections"] == names
    assert migrated(db)[-1][:3] == (NEXT, "section_title", "migrated")


def test_a_type_change_an_undeclared_column_or_a_new_table_without_its_step_stops(v1, form_change):
    _, db = v1
    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE meta_ingest_runs ADD COLUMN note VARCHAR")
        con.execute("DROP TABLE meta_audit_results")
        con.execute("DROP TABLE meta_figure_snapshot")
        con.execute("CREATE TABLE meta_figure_snapshot (year INTEGER NOT NULL, scope VARCHAR NOT NULL, figure VARCHAR "
                    "NOT NULL, dimension VARCHAR, value DOUBLE CHECK (value >= 0))")
    form_change(with_field("water_sections", "total_phosphorus",
                           dataclasses.replace(FORMS["water_sections"].field("total_phosphorus"), kind=INTEGER)))
    with pytest.raises(migrations.SchemaMismatch) as stopped, connect(db, create=True):
        pass
    assert sorted(stopped.value.problems) == [
        "fact_water_sections.total_phosphorus is DOUBLE in the warehouse, declared BIGINT",
        "meta_ingest_runs.note is in the warehouse but declared nowhere (added by newer code, then upgrade "
        "ecostat; dropped or renamed, then write a step)",
        "table meta_audit_results is declared but not in the warehouse: a new table other than a form's is a step "
        "(its CREATE TABLE)",
        "table meta_figure_snapshot's constraints are ['CHECK((\"value\" >= 0))'] in the warehouse, declared []"]


def test_declared_schema_is_built_from_the_forms_alone():
    tables = declared_schema()
    for form in FORMS.values():
        cols = tables[form.table].columns
        assert [c for c in cols if c not in ("submission_id", "sha256", "file", "sheet", "source_row",
                                             "received_at", "is_current", "superseded_by", "unit_code", "period",
                                             "year", "month", "at_least")] == [f.code for f in form.fields]
        assert all(cols[f.code] == (f.sql_type, True) for f in form.fields)
