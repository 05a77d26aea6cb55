"""The portal's journeys in a real headless chromium (over CDP, as the status-site tests) against a real
``ecostat portal`` process, each checked by what the page shows, with screenshots: a unit logs in; uploads a
workbook with a bad cell, sees it marked, downloads the feedback, uploads the fixed file and submits; sees it
accepted after the run; writes an explanation for the jump warning and sees it stored; a reviewer returns one
report with a reason and approves another, and the unit sees the reason."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from ecostat.store.warehouse import connect
from tests.browser import Browser, Visit, browser
from tests.forms_data import column_of
from tests.portal_helpers import PASSWORD, UNIT_A, Workspace, make_workspace, outfall_book, portal_process
from tests.programs import chromium_or_skip

COMPLETED = column_of("outfall_remediation", "completed")
EXPLANATION = "本年度一处排污口并入污水管网，应整治数相应减少一个"
REASON = "应整治数与上年台账不一致，请核实后重新报送"


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One portal process for the journeys."""
    chromium_or_skip()
    ws = make_workspace(tmp_path_factory.mktemp("portal-browser"))
    with portal_process(ws) as live:
        yield live


def _clean(visit: Visit, ws: Workspace) -> None:
    """The page loaded nothing from outside the portal, and nothing went wrong (a CSP refusal is an error)."""
    assert visit.errors == []
    assert all(u.startswith(ws.url + "/") for u in visit.requests), visit.requests


def _text(b: Browser, selector: str) -> str:
    return str(b.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent || ''"))


def _submit(b: Browser, form: str, shot: Path) -> Visit:
    return b.act(lambda: b.evaluate(f"document.querySelector({json.dumps(form)}).submit()"), shot)


def _choose_file(b: Browser, path: Path) -> None:
    node = b.call("Runtime.evaluate", expression="document.getElementById('file')")["result"]["objectId"]
    b.call("DOM.setFileInputFiles", files=[str(path)], objectId=node)


def _download(b: Browser, link: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    b.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(folder), eventsEnabled=True)
    b.evaluate(f"document.querySelector({json.dumps(link)}).click()")
    deadline = time.monotonic() + 30
    while not (done := [p for p in folder.iterdir() if p.suffix == ".xlsx"]):
        assert time.monotonic() < deadline, "the feedback workbook was not downloaded"
        time.sleep(0.2)
    time.sleep(0.5)  # the browser renames the finished download into place
    b.evaluate("1")  # read the download's events (an aborted navigation) before the next page
    return done[0]


def test_a_unit_checks_fixes_submits_and_explains(portal: Workspace, tmp_path: Path) -> None:
    bad = outfall_book(tmp_path / "bad" / "东湖区2024年报.xlsx", UNIT_A, "2024", required=40, completed="八")
    fixed = outfall_book(tmp_path / "fixed" / "东湖区2024年报.xlsx", UNIT_A, "2024", required=40, completed=9)
    with browser(tmp_path / "profile") as b:
        # a unit logs in
        page = b.visit(portal.url + "/login", tmp_path / "1-login.png")
        _clean(page, portal)
        b.evaluate("document.querySelector('[name=login]').value = 'unit_a'; "
                   f"document.querySelector('[name=password]').value = {json.dumps(PASSWORD)}")
        page = _submit(b, "form.login", tmp_path / "2-reports.png")
        _clean(page, portal)
        assert "东湖填报" in _text(b, "#account") and "我的报表" in _text(b, "h1")
        # it uploads a workbook with a bad cell and sees the cell marked
        _clean(b.visit(portal.url + "/check"), portal)
        _choose_file(b, bad)
        page = _submit(b, "#check-form", tmp_path / "3-checked-bad.png")
        _clean(page, portal)
        assert b.evaluate("document.querySelectorAll('td.mark-error').length") == 1
        assert b.evaluate("document.querySelector('td.mark-error').dataset.cell") == f"{COMPLETED}2"
        assert b.evaluate("document.querySelector('td.mark-error').textContent") == "八"
        assert "CELL_NUMBER" in _text(b, "ul.findings") and "1 个错误" in _text(b, "#summary")
        # it downloads the feedback: the same cell marked, with its comment
        workbook = openpyxl.load_workbook(_download(b, "#check-feedback", tmp_path / "downloads"))
        copy = workbook.worksheets[1]
        cell = copy[f"{COMPLETED}2"]
        assert cell.value == "八" and cell.comment is not None
        # it uploads the fixed file and submits it
        _clean(b.visit(portal.url + "/check"), portal)
        _choose_file(b, fixed)
        page = _submit(b, "#check-form", tmp_path / "4-checked-fixed.png")
        assert b.evaluate("document.querySelectorAll('td.mark-error').length") == 0
        assert "未发现错误" in _text(b, "#summary")
        assert "PERIOD_JUMP" in _text(b, "ul.findings")  # the jump, found before submitting
        page = _submit(b, "#submit-form", tmp_path / "5-submitted.png")
        _clean(page, portal)
        receipt = str(b.evaluate("location.pathname")).rsplit("/", 1)[-1]
        assert re.fullmatch(r"[0-9a-f]{32}", receipt) and "unit_a" in _text(b, "#receipt-account")
        # it sees the file accepted after the run (the page refreshes itself while the file waits)
        deadline = time.monotonic() + 60
        while "accepted" not in _text(b, "#state"):
            assert time.monotonic() < deadline, _text(b, "#state")
            time.sleep(1)
        page = b.visit(portal.url + f"/reports/{receipt}", tmp_path / "6-accepted.png")
        _clean(page, portal)
        assert "已接收入库" in _text(b, "#state") and b.evaluate("!!document.getElementById('feedback')")
        # it writes an explanation for the jump warning and sees it stored
        assert "PERIOD_JUMP" in _text(b, "#warnings") and "未说明" in _text(b, "#warnings")
        b.evaluate(f"document.querySelector('form.explain textarea').value = {json.dumps(EXPLANATION)}")
        page = _submit(b, "form.explain", tmp_path / "7-explanation-recorded.png")
        _clean(page, portal)
        assert EXPLANATION in _text(b, "#warnings")
        deadline = time.monotonic() + 60  # the run it started applies it
        while EXPLANATION not in _text(b, ".explanation.explained"):
            assert time.monotonic() < deadline, _text(b, "#warnings")
            time.sleep(1)
            b.visit(portal.url + f"/reports/{receipt}")
        page = b.visit(portal.url + f"/reports/{receipt}", tmp_path / "8-explained.png")
        assert "unit_a" in _text(b, ".explanation.explained") and "未说明" not in _text(b, "#warnings")
        listed = b.visit(portal.url + "/reports", tmp_path / "9-my-reports.png")
        _clean(listed, portal)
        assert "东湖区2024年报.xlsx" in _text(b, "#submissions") and "accepted" in _text(b, "#submissions")
    stored = [json.loads(line) for line in (portal.raw / "archive" / "decisions.jsonl").read_text().splitlines()]
    assert [(d["kind"], d["receipt_id"], d["text"], d["login"], d["unit_code"]) for d in stored] == [
        ("explanation", receipt, EXPLANATION, "unit_a", UNIT_A)]
    with connect(portal.warehouse, read_only=True) as con:
        assert con.execute("SELECT rule_id, explanation, source, given_by FROM explanations WHERE receipt_id = ?",
                           [receipt]).fetchall() == [("PERIOD_JUMP", EXPLANATION, "portal", "unit_a")]
    assert all((tmp_path / f).stat().st_size > 10_000 for f in ("3-checked-bad.png", "8-explained.png"))


def _log_in(b: Browser, ws: Workspace, login: str, shot: Path) -> Visit:
    _clean(b.visit(ws.url + "/login"), ws)
    b.evaluate(f"document.querySelector('[name=login]').value = {json.dumps(login)}; "
               f"document.querySelector('[name=password]').value = {json.dumps(PASSWORD)}")
    return _submit(b, "form.login", shot)


def _until_state(b: Browser, url: str, state: str) -> None:
    """Reload the slice's page until the run the decision started has applied it."""
    deadline = time.monotonic() + 90
    while state not in _text(b, "#review-state"):
        assert time.monotonic() < deadline, _text(b, "#review-state")
        time.sleep(1)
        b.visit(url)


def test_a_reviewer_returns_one_report_and_approves_another_and_the_unit_sees_why(portal: Workspace,
                                                                                  tmp_path: Path) -> None:
    returned, approved = f"outfall_remediation:{UNIT_A}:2023", "outfall_remediation:360103:2023"
    with browser(tmp_path / "profile") as b:
        # the reviewer logs in and opens the review desk: the pending queue
        _clean(_log_in(b, portal, "reviewer", tmp_path / "r1-logged-in.png"), portal)
        assert "市局审核" in _text(b, "#account")
        page = b.act(lambda: b.evaluate("document.querySelector('a[href=\"/review\"]').click()"),
                     tmp_path / "r2-queue.png")
        _clean(page, portal)
        queued = b.evaluate("[...document.querySelectorAll('#queue tr[data-slice]')].map(r => r.dataset.slice)")
        assert returned in queued and approved in queued
        # it returns one slice with a reason
        url = f"{portal.url}/review/{returned}"
        _clean(b.visit(url, tmp_path / "r3-slice.png"), portal)
        assert "待审核" in _text(b, "#review-state") and _text(b, "#versions")
        b.evaluate(f"document.querySelector('#return-form textarea').value = {json.dumps(REASON)}")
        _clean(_submit(b, "#return-form", tmp_path / "r4-returning.png"), portal)
        _until_state(b, url, "已退回")
        b.visit(url, tmp_path / "r5-returned.png")
        assert REASON in _text(b, "#return-reason") and "reviewer" in _text(b, "#decisions")
        # and approves another
        url = f"{portal.url}/review/{approved}"
        _clean(b.visit(url), portal)
        _clean(_submit(b, "#approve-form", tmp_path / "r6-approving.png"), portal)
        _until_state(b, url, "已通过")
        _clean(b.visit(portal.url + "/review?state=all", tmp_path / "r7-all.png"), portal)
        states = b.evaluate("Object.fromEntries([...document.querySelectorAll('#queue tr[data-slice]')]"
                            ".map(r => [r.dataset.slice, r.className]))")
        assert states[returned] == "review-returned" and states[approved] == "review-approved"
        # the unit logs in and sees the returned report with the reason on its reports page
        _clean(_submit(b, "form.who", tmp_path / "r8-logged-out.png"), portal)
        _clean(_log_in(b, portal, "unit_a", tmp_path / "r9-unit-reports.png"), portal)
        assert "我的报表" in _text(b, "h1") and "东湖填报" in _text(b, "#account")
        assert REASON in _text(b, "#returned td.reason") and "已退回" in _text(b, "#returned")
        assert "review" not in str(b.evaluate("[...document.querySelectorAll('nav a')].map(a => a.href).join()"))
    assert all((tmp_path / f).stat().st_size > 10_000 for f in ("r2-queue.png", "r5-returned.png",
                                                                 "r9-unit-reports.png"))
