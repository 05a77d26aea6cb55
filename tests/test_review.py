"""The review desk (contract v3 §8–§10), end to end on real warehouses: warnings that need an explanation
(a jump, an outlier), explanations in a 备注 cell or recorded as decisions, approve and return through the
CLI, the submitter who may not approve, certification from approved reports only, rebuild replaying the
decision journal, and reporting rates on the samples."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from ecostat.cli import main
from ecostat.intake.decisions import Decision, DecisionRefused, read_decisions, record_decision
from ecostat.publish.annual.basis import basis
from ecostat.publish.site import build_site
from ecostat.run import ingest as steps
from ecostat.store.review import decision_problem
from ecostat.store.warehouse import connect
from tests.conftest import SAMPLES, write_csv

HEAD = ["区县代码", "报告期", "行政处罚案件数", "罚款金额", "免罚案件数", "免罚金额", "排查散乱污企业数",
        "完成整治散乱污企业数", "备注"]
UNIT = "360111"


def enforcement(unit: str, period: str, cases: int, remark: str = "") -> list[object]:
    """One enforcement row whose penalty cases are ``cases`` (everything else ordinary)."""
    return [unit, period, cases, 12.5, 1, 2.0, 5, 4, remark]


def run(raw: Path, warehouse: Path, name: str, rows: list[list[object]], unit: str = UNIT) -> None:
    """Drop one csv into the unit's inbox and run ingest once."""
    write_csv(raw / "inbox" / unit / name, [HEAD, *rows])
    steps.run_plain(raw, warehouse)


def query(warehouse: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def cli(raw: Path, warehouse: Path, *args: str) -> int:
    return main(["review", *args[:1], "--raw", str(raw), "--warehouse", str(warehouse), *args[1:]])


@pytest.fixture
def jumped(tmp_path: Path) -> tuple[Path, Path]:
    """Unit 360111 reports 10 penalty cases in 2023 and 80 in 2024 (a jump of 700 %, beyond 300 %), unexplained;
    unit 360112 reports an ordinary 2023 and 2024."""
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse" / "ecostat.duckdb"
    run(raw, warehouse, "执法.csv", [enforcement(UNIT, "2023", 10), enforcement(UNIT, "2024", 80)])
    run(raw, warehouse, "执法.csv", [enforcement("360112", "2023", 10), enforcement("360112", "2024", 12)],
        unit="360112")
    return raw, warehouse


def state(warehouse: Path, unit: str = UNIT, period: str = "2024") -> tuple[object, ...]:
    (row,) = query(warehouse, "SELECT state, unexplained, decided_by, reason FROM review_states "
                              "WHERE form = 'enforcement' AND unit_code = ? AND period = ?", [unit, period])
    return row


def test_a_jump_blocks_approval_until_explained_and_a_placeholder_is_refused(jumped, capsys):
    raw, warehouse = jumped
    (key,) = query(warehouse, "SELECT finding_key FROM meta_review_warnings WHERE rule_id = 'PERIOD_JUMP'")
    assert key == ("PERIOD_JUMP:penalty_cases:",)
    assert state(warehouse) == ("pending", 1, None, None)
    assert cli(raw, warehouse, "approve", f"enforcement:{UNIT}:2024", "--as", "wangmin") == 2
    assert "cannot be approved" in capsys.readouterr().err
    for placeholder in ("正常", "无", "数据无误"):
        assert cli(raw, warehouse, "explain", f"enforcement:{UNIT}:2024", "--finding", key[0],
                   "--text", placeholder, "--as", "qsh_li") == 2
        assert "placeholder" in capsys.readouterr().err
    assert read_decisions(raw) == []  # nothing refused is recorded
    assert cli(raw, warehouse, "explain", f"enforcement:{UNIT}:2024", "--finding", key[0],
               "--text", "开展打击违法排污专项行动，立案数大幅增加", "--as", "qsh_li") == 0
    assert state(warehouse)[:2] == ("pending", 0)
    assert cli(raw, warehouse, "approve", f"enforcement:{UNIT}:2024", "--as", "wangmin") == 0
    assert state(warehouse) == ("approved", 0, "wangmin", None)
    (row,) = query(warehouse, "SELECT explanation, source, given_by FROM explanations WHERE is_current")
    assert row == ("开展打击违法排污专项行动，立案数大幅增加", "portal", "qsh_li")


def test_an_explanation_in_the_remarks_cell_counts_and_a_placeholder_there_is_a_finding(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse" / "ecostat.duckdb"
    run(raw, warehouse, "执法.csv", [enforcement(UNIT, "2023", 10),
                                    enforcement(UNIT, "2024", 80, "开展专项执法行动，立案数大幅增加")])
    run(raw, warehouse, "执法.csv", [enforcement("360112", "2023", 10), enforcement("360112", "2024", 90, "正常")],
        unit="360112")
    assert state(warehouse)[:2] == ("pending", 0)
    assert query(warehouse, "SELECT source, explanation FROM explanations WHERE unit_code = ?", [UNIT]) == [
        ("cell", "开展专项执法行动，立案数大幅增加")]
    assert state(warehouse, "360112")[:2] == ("pending", 1)
    (msg,) = query(warehouse, "SELECT message_en FROM validation_issues WHERE rule_id = 'EXPLANATION_REFUSED'")
    assert "'正常' is a placeholder" in msg[0]


def test_a_returned_slice_reaches_the_unit_and_a_resubmission_is_pending_again(jumped, monkeypatch, capsys):
    raw, warehouse = jumped
    monkeypatch.setenv("ECOSTAT_ALERT_URLS", "json://127.0.0.1:9/ops")
    slice_ = "enforcement:360112:2024"
    assert cli(raw, warehouse, "return", slice_, "--reason", "短", "--as", "wangmin") == 2
    assert "at least 5" in capsys.readouterr().err
    assert cli(raw, warehouse, "return", slice_, "--reason", "罚款金额与案件数不符，请核实", "--as", "wangmin") == 0
    assert state(warehouse, "360112") == ("returned", 0, "wangmin", "罚款金额与案件数不符，请核实")
    (alert,) = query(warehouse, "SELECT unit_code, body FROM alerts WHERE kind = 'returned'")
    assert alert[0] == "360112" and "罚款金额与案件数不符，请核实" in alert[1]
    (note,) = (raw / "outbox" / "360112").glob("审核退回_enforcement_2024_*.md")
    assert "罚款金额与案件数不符，请核实" in note.read_text(encoding="utf-8")
    run(raw, warehouse, "执法更正.csv", [enforcement("360112", "2024", 13)], unit="360112")
    assert state(warehouse, "360112") == ("pending", 0, None, None)


def test_nobody_approves_what_they_submitted(jumped):
    _raw, warehouse = jumped
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (receipt,) = con.execute("SELECT receipt_id FROM review_states WHERE unit_code = '360112' "
                                 "AND form = 'enforcement' AND period = '2024'").fetchone()
        d = Decision("approval", "enforcement", "360112", "2024", receipt, "xj_zhao")
        assert "nobody approves what they submitted" in (decision_problem(con, d, "xj_zhao") or "")
        assert decision_problem(con, d, "someone_else") is None
        assert decision_problem(con, d, None) is None  # dropped in the inbox: no account to compare


def test_record_decision_refuses_what_cannot_stand(tmp_path):
    with pytest.raises(DecisionRefused, match="form:unit:period"):
        record_decision(tmp_path, Decision("approval", "nope", "360111", "2024", "r1", "wangmin"))
    with pytest.raises(DecisionRefused, match="too short"):
        record_decision(tmp_path, Decision("explanation", "enforcement", "360111", "2024", "r1", "li",
                                           text="有变化", finding_key="PERIOD_JUMP:fines:"))
    done = record_decision(tmp_path, Decision("return", "enforcement", "360111", "2024", "r1", "wangmin",
                                              text="请核实罚款金额"))
    assert read_decisions(tmp_path) == [done] and done.decision_id and done.at is not None


def test_certify_refuses_with_the_list_then_succeeds_and_rebuild_gives_the_same_states(jumped, capsys):
    raw, warehouse = jumped
    key = "PERIOD_JUMP:penalty_cases:"
    certify = ["certify", "--year", "2024", "--by", "王敏", "--warehouse", str(warehouse)]
    assert main(certify) == 2
    err = capsys.readouterr().err
    assert f"enforcement:{UNIT}:2024 pending" in err and "enforcement:360112:2024 pending" in err
    assert main(["figures", "--year", "2024", "--warehouse", str(warehouse)]) == 0
    assert "not yet approved" in capsys.readouterr().out
    assert cli(raw, warehouse, "explain", f"enforcement:{UNIT}:2024", "--finding", key,
               "--text", "开展打击违法排污专项行动，立案数大幅增加", "--as", "qsh_li") == 0
    for unit in (UNIT, "360112"):
        assert cli(raw, warehouse, "approve", f"enforcement:{unit}:2024", "--as", "wangmin") == 0
    assert query(warehouse, "SELECT DISTINCT inputs_approved FROM annual_figures WHERE year = 2024 "
                            "AND figure LIKE 'enforcement.%'") == [(True,)]
    assert main(certify) == 0
    rebuilt = raw.parent / "rebuilt.duckdb"
    assert main(["rebuild", "--raw", str(raw), "--to", str(rebuilt)]) == 0
    states = ("SELECT form, unit_code, period, receipt_id, state, decided_by, reason FROM review_states ORDER BY ALL")
    told = ("SELECT form, unit_code, period, receipt_id, finding_key, value, explanation, source, given_by, explained "
            "FROM explanations ORDER BY ALL")
    for sql in (states, told):
        assert query(rebuilt, sql) == query(warehouse, sql) != []


def test_certify_with_pending_records_and_names_them(jumped, capsys):
    _raw, warehouse = jumped
    assert main(["certify", "--year", "2024", "--by", "王敏", "--with-pending", "--warehouse", str(warehouse)]) == 0
    assert ("enforcement", "360112", "2024", "pending") in query(
        warehouse, "SELECT form, unit_code, period, state FROM meta_certified_pending WHERE year = 2024")
    with connect(warehouse, read_only=True) as con:
        certified, said = basis(con, 2024, False, dt.datetime.now())
    assert certified and "尚未审核通过，经确认一并认证" in said and "青山湖区（360111）环境执法（2024）" in said


def test_the_outlier_rule_on_a_five_year_history(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse" / "ecostat.duckdb"
    history = [10, 11, 9, 10]
    run(raw, warehouse, "执法.csv", [enforcement(UNIT, str(2019 + i), v) for i, v in enumerate(history)]
        + [enforcement(UNIT, "2023", 30)])
    run(raw, warehouse, "执法.csv", [enforcement("360112", str(2019 + i), v) for i, v in enumerate(history)]
        + [enforcement("360112", "2023", 11)], unit="360112")
    run(raw, warehouse, "执法.csv", [enforcement("360113", "2021", 10), enforcement("360113", "2022", 11),
                                    enforcement("360113", "2023", 30)], unit="360113")
    flagged = query(warehouse, "SELECT unit_code, period, value FROM meta_review_warnings "
                               "WHERE rule_id = 'PERIOD_OUTLIER' ORDER BY ALL")
    assert flagged == [(UNIT, "2023", "30")]


def test_reporting_rates_match_a_hand_count_on_the_samples(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse" / "ecostat.duckdb"
    shutil.copytree(SAMPLES, raw / "inbox")
    (missing,) = (raw / "inbox" / "360113").glob("*enforcement*")
    missing.unlink()
    import csv

    tomorrow, long_ago = dt.date.today() + dt.timedelta(days=1), dt.date(2025, 1, 31)
    (tmp_path / "ecostat.toml").write_text(
        f'[[alerts.deadlines]]\nform = "enforcement"\nperiod = "2024"\ndue = {tomorrow}\n'
        f'[[alerts.deadlines]]\nform = "petitions"\nperiod = "2024"\ndue = {long_ago}\n', encoding="utf-8")
    steps.run_plain(raw, warehouse)
    assert cli(raw, warehouse, "approve", "enforcement:360111:2024", "--as", "wangmin") == 0
    with open(SAMPLES.parents[1] / "schemas" / "registries" / "units.csv", encoding="utf-8") as fh:
        owing = [r["code"] for r in csv.DictReader(fh) if r["kind"] in ("district", "county", "administration")]
    with connect(warehouse, read_only=True) as con:
        city = dict(con.execute("SELECT form, (expected, received, accepted, approved, on_time, late, missing) "
                                "FROM reporting_rates WHERE is_city").fetchall())
        late_units = con.execute("SELECT count(*) FROM reporting_rates WHERE form = 'petitions' AND NOT is_city "
                                 "AND late = 1").fetchone()
        unit_row = con.execute("SELECT expected, accepted, approved, on_time, late FROM reporting_rates "
                               "WHERE form = 'enforcement' AND scope = '360111'").fetchone()
    n = len(owing)
    # missing: 360113, whose file the test took away, and 360123 (安义县), whose sample runs to 2024-11 only
    assert city["enforcement"] == (n, n - 2, n - 2, 1, n - 2, 0, 2)
    assert city["petitions"] == (n, n, n, 0, 0, n, 0)
    assert late_units == (n,)
    assert unit_row == (1, 1, 1, 1, 0)
    with connect(warehouse, read_only=True) as con:  # the report states each form's on-time rate; the site shows it
        _certified, said = basis(con, 2024, True, dt.datetime.now())
        page = build_site(con, tmp_path / "site", raw).read_text(encoding="utf-8")
    assert f"环境执法报表应报{n}份，按时报送{n - 2}份，按时报送率为{100 * (n - 2) / n:.1f}%。" in said
    assert f"信访件办理报表应报{n}份，按时报送0份，按时报送率为0.0%。" in said
    assert "报送率 reporting rates" in page and f"{100 * (n - 2) / n:.1f}%" in page
