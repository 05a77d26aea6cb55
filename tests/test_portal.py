"""The portal against a real ``ecostat portal`` process: a submission equals a dropped file; the authorisation
walk (every route × each role × two units); CSRF; login throttling; XSS inertness; the upload cap; accounts."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecostat.contract.obligations import units_required
from ecostat.intake import archive
from ecostat.run.ingest import run_plain
from ecostat.store.figures import annual_figures
from ecostat.store.warehouse import connect
from tests.conftest import write_book
from tests.forms_data import header, row
from tests.portal_helpers import (
    PASSWORD,
    UNIT_A,
    UNIT_B,
    Workspace,
    client,
    copy_workspace,
    make_workspace,
    outfall_book,
    portal_process,
    settle_env,
    upload,
    wait_final,
)

ROLES = ("anon", "unit_a", "unit_b", "reviewer", "admin")
VOLATILE = ("receipt_id", "modified_at", "received_at", "inode", "changed_ns")


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One portal process for this module's tests."""
    ws = make_workspace(tmp_path_factory.mktemp("portal"))
    with portal_process(ws) as live:
        yield live


def _issues(warehouse: Path, file: str) -> list[tuple[object, ...]]:
    with connect(warehouse, read_only=True) as con:
        return con.execute("""SELECT file, sheet, row_number, column_letter, header, value, rule_id, severity,
                                     message_zh, message_en FROM validation_issues WHERE file = ?
                              ORDER BY row_number, column_letter, rule_id""", [file]).fetchall()


def _figures(warehouse: Path) -> list[dict[str, object]]:
    with connect(warehouse, read_only=True) as con:
        return annual_figures(con, 2024, None).fillna(-1).to_dict("records")


def _settled(c: httpx.Client) -> None:
    for s in c.get("/api/v1/submissions").json()["submissions"]:
        wait_final(c, s["id"])


def test_a_portal_submission_equals_the_same_file_dropped_into_the_inbox(portal: Workspace, tmp_path: Path) -> None:
    reviewer, _ = client(portal, "reviewer")
    _settled(reviewer)
    dropped = copy_workspace(portal, tmp_path / "dropped")  # the same state, for the same file dropped
    book = outfall_book(tmp_path / "东湖区2024.xlsx", UNIT_A, "2024", required=9, completed=9)
    c, csrf = client(portal, "unit_a")
    r = upload(c, csrf, "/api/v1/submissions", book)
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["account"] == "unit_a" and receipt["unit"] == UNIT_A and receipt["name"] == book.name
    assert re.fullmatch(rf"{UNIT_A}/portal-\d{{8}}T\d{{6}}-[0-9a-f]{{12}}\.xlsx", receipt["file"])
    final = wait_final(c, receipt["id"])
    assert final["state"] == "accepted"
    (dropped.raw / "inbox" / receipt["file"]).write_bytes(book.read_bytes())
    env = dict(os.environ)
    os.environ.update(settle_env(dropped.home))
    try:
        run_plain(dropped.raw, dropped.warehouse)
    finally:
        os.environ.clear()
        os.environ.update(env)
    line_portal = (portal.raw / "archive" / "manifest.jsonl").read_text().splitlines()
    line_drop = (dropped.raw / "archive" / "manifest.jsonl").read_text().splitlines()[-1]
    mine = json.loads(next(x for x in line_portal if receipt["id"] in x))
    theirs = json.loads(line_drop)
    assert "account" not in theirs and mine.pop("account") == "unit_a"
    assert {k: v for k, v in mine.items() if k not in VOLATILE} == {k: v for k, v in theirs.items()
                                                                     if k not in VOLATILE}
    assert list(mine) == list(theirs)  # the same fields in the same order: the same journal line but the account
    assert (archive.object_path(portal.raw / "archive", mine["sha256"]).read_bytes() == book.read_bytes()
            == archive.object_path(dropped.raw / "archive", theirs["sha256"]).read_bytes())
    found = _issues(portal.warehouse, receipt["file"])
    assert found == _issues(dropped.warehouse, receipt["file"]) and [f[6] for f in found] == ["PERIOD_FALL_WARNING"]
    assert _figures(portal.warehouse) == _figures(dropped.warehouse)


def _walk_setup(portal: Workspace, tmp_path: Path) -> dict[str, str]:
    """Unit A's and unit B's submissions (each with a jump warning), and a checked upload of each."""
    ids: dict[str, str] = {}
    for key, login, unit in (("A", "unit_a", UNIT_A), ("B", "unit_b", UNIT_B)):
        c, csrf = client(portal, login)
        book = outfall_book(tmp_path / f"{key}.xlsx", unit, "2024", required=40, completed=8)  # a jump
        ids[f"R{key}"] = upload(c, csrf, "/api/v1/submissions", book).json()["id"]
        ids[f"T{key}"] = upload(c, csrf, "/api/v1/check", book).json()["upload"]
        final = wait_final(c, ids[f"R{key}"])
        ids[f"F{key}"] = next(w["finding_key"] for w in final["warnings"]  # type: ignore[attr-defined]
                              if w["is_current"] and w["rule_id"] == "PERIOD_JUMP")
    return ids


def _expected(owner: str, units: str, reviewer: int, admin: int, anon: int, other: int = 404) -> dict[str, int]:
    """Status per role: the owning unit gets ``units``' code, the other unit ``other`` (for unit-only routes,
    both units get ``units``)."""
    out = {"anon": anon, "reviewer": reviewer, "admin": admin}
    for u in ("unit_a", "unit_b"):
        out[u] = int(units) if owner in ("both", u) else other
    return out


def test_every_route_answers_each_role_and_unit_as_it_may(portal: Workspace, tmp_path: Path) -> None:
    ids = _walk_setup(portal, tmp_path)
    book = outfall_book(tmp_path / "walk.xlsx", UNIT_A, "2022")
    get_routes = {
        "/": {r: 303 for r in ROLES},
        "/reports": _expected("both", "200", 200, 403, 303),
        "/reports/{RA}": _expected("unit_a", "200", 200, 403, 303),
        "/reports/{RB}": _expected("unit_b", "200", 200, 403, 303),
        "/reports/{RA}/feedback.xlsx": _expected("unit_a", "200", 200, 403, 303),
        "/reports/{RB}/feedback.xlsx": _expected("unit_b", "200", 200, 403, 303),
        "/reports/0123456789abcdef0123456789abcdef": _expected("none", "404", 404, 403, 303),
        "/check": _expected("both", "200", 403, 403, 303),
        "/check/{TA}/feedback.xlsx": _expected("unit_a", "200", 403, 403, 303),
        "/check/{TB}/feedback.xlsx": _expected("unit_b", "200", 403, 403, 303),
        "/templates": _expected("both", "200", 403, 403, 303),
        "/templates/download?year=2024": _expected("both", "200", 403, 403, 303),
        "/figures": _expected("both", "200", 200, 200, 303),
        "/audit": _expected("none", "403", 403, 200, 303, other=403),
        "/api/v1/submissions": _expected("both", "200", 200, 403, 401),
        "/api/v1/submissions/{RA}": _expected("unit_a", "200", 200, 403, 401),
        "/api/v1/submissions/{RB}": _expected("unit_b", "200", 200, 403, 401),
        "/static/portal.css": {r: 200 for r in ROLES},
        "/review": _expected("none", "403", 200, 403, 303, other=403),
        "/review?state=all": _expected("none", "403", 200, 403, 303, other=403),
        f"/review/outfall_remediation:{UNIT_A}:2024": _expected("none", "403", 200, 403, 303, other=403),
        f"/review/outfall_remediation:{UNIT_B}:2024": _expected("none", "403", 200, 403, 303, other=403),
        "/review/outfall_remediation:360199:2024": _expected("none", "403", 404, 403, 303, other=403),
        "/api/v1/reviews?state=pending": _expected("none", "403", 200, 403, 401, other=403),
        f"/api/v1/reviews/outfall_remediation:{UNIT_A}:2024": _expected("none", "403", 200, 403, 401, other=403),
    }
    post_routes = {
        ("/api/v1/check", "file"): _expected("both", "200", 403, 403, 401),
        ("/api/v1/submissions", "file"): _expected("both", "201", 403, 403, 401),
        ("/api/v1/explanations", "B"): _expected("unit_b", "201", 403, 403, 401),
        ("/reports/{RA}/explanations", "A"): _expected("unit_a", "303", 403, 403, 303),
        ("/submit", "TA"): _expected("unit_a", "303", 403, 403, 303),
        ("/api/v1/reviews", "return A"): _expected("none", "403", 201, 403, 401, other=403),
        (f"/review/outfall_remediation:{UNIT_B}:2023", "return B"): _expected("none", "403", 303, 403, 303, other=403),
    }
    got: dict[tuple[str, str], int] = {}
    want: dict[tuple[str, str], int] = {}
    for role in ROLES:
        c, csrf = client(portal, None if role == "anon" else role)
        for route, expected in get_routes.items():
            path = route.format(**ids)
            got[(route, role)], want[(route, role)] = c.get(path).status_code, expected[role]
        for (route, body), expected in post_routes.items():
            path, h = route.format(**ids), {"X-CSRF-Token": csrf}
            if body == "file":
                r = c.post(path, headers=h, files={"file": (book.name, book.read_bytes())})
            elif body == "B":
                r = c.post(path, headers=h, json={"submission": ids["RB"], "finding": ids["FB"],
                                                  "text": f"{role} 说明：河道整治口径调整，应整治数减少"})
            elif body == "return A":
                r = c.post(path, headers=h, json={"slice": f"outfall_remediation:{UNIT_A}:2023", "decision": "return",
                                                  "reason": f"{role}：请核实整治完成数"})
            elif body == "return B":
                r = c.post(path, data={"csrf": csrf, "decision": "return", "reason": f"{role}：请核实应整治数"})
            elif body == "A":
                r = c.post(path, data={"csrf": csrf, "finding": ids["FA"], "text": "口径调整，应整治数减少一个"})
            else:
                r = c.post(path, data={"csrf": csrf, "upload": ids["TA"]})
            got[(route, role)], want[(route, role)] = r.status_code, expected[role]
    assert got == want
    lists = {role: {s["id"] for s in client(portal, role)[0].get("/api/v1/submissions").json()["submissions"]}
             for role in ("unit_a", "unit_b", "reviewer")}
    assert ids["RA"] in lists["unit_a"] and ids["RB"] not in lists["unit_a"]
    assert ids["RB"] in lists["unit_b"] and ids["RA"] not in lists["unit_b"]
    assert {ids["RA"], ids["RB"]} <= lists["reviewer"] and lists["unit_a"] | lists["unit_b"] <= lists["reviewer"]
    decisions = [json.loads(line) for line in (portal.raw / "archive" / "decisions.jsonl").read_text().splitlines()]
    assert [(d["kind"], f"{d['form']}:{d['unit_code']}:{d['period']}", d["text"],
             d["login"]) for d in decisions if d["kind"] == "return"] == [
        ("return", f"outfall_remediation:{UNIT_A}:2023", "reviewer：请核实整治完成数", "reviewer"),
        ("return", f"outfall_remediation:{UNIT_B}:2023", "reviewer：请核实应整治数", "reviewer")]
    assert [(d["receipt_id"], d["finding_key"], d["login"]) for d in decisions
            if d["receipt_id"] in (ids["RA"], ids["RB"])] == [(ids["RA"], ids["FA"], "unit_a"),
                                                              (ids["RB"], ids["FB"], "unit_b")]


def _until(c: httpx.Client, path: str, ok: Callable[[Any], bool], timeout: float = 90) -> Any:
    """The JSON of ``path`` once ``ok`` holds for it (a run applies what the portal recorded)."""
    deadline = time.monotonic() + timeout
    while not ok(body := c.get(path).json()):
        assert time.monotonic() < deadline, body
        time.sleep(0.5)
    return body


def _slice(c: httpx.Client, state: str, name: str) -> dict[str, Any] | None:
    return next((r for r in c.get(f"/api/v1/reviews?state={state}").json()["reviews"] if r["slice"] == name), None)


def _role(ws: Workspace, login: str, role: str) -> None:
    con = sqlite3.connect(f"{ws.warehouse}.accounts.sqlite")
    with con:
        con.execute("UPDATE accounts SET role = ? WHERE login = ?", [role, login])
    con.close()


def test_the_reviewer_decides_by_the_rules_and_the_unit_sees_the_return(portal: Workspace, tmp_path: Path) -> None:
    with open(portal.home / "ecostat.toml", "a", encoding="utf-8") as settings:  # what units owe, for the rates
        settings.write('[[alerts.deadlines]]\nform = "outfall_remediation"\nperiod = "2019"\ndue = 2099-12-31\n'
                       '[[alerts.deadlines]]\nform = "outfall_remediation"\nperiod = "2020"\ndue = 2021-03-31\n')
    b, b_csrf = client(portal, "unit_b")
    ok = upload(b, b_csrf, "/api/v1/submissions", outfall_book(tmp_path / "b19.xlsx", UNIT_B, "2019", completed=8))
    wait_final(b, ok.json()["id"])
    jump = upload(b, b_csrf, "/api/v1/submissions",
                  outfall_book(tmp_path / "b20.xlsx", UNIT_B, "2020", required=40, completed=8))
    assert wait_final(b, jump.json()["id"])["state"] == "accepted"
    c, csrf = client(portal, "reviewer")
    h = {"X-CSRF-Token": csrf}
    s19, s20 = f"outfall_remediation:{UNIT_B}:2019", f"outfall_remediation:{UNIT_B}:2020"
    pending = _slice(c, "pending", s20)
    assert pending and pending["unexplained"] == 1 and pending["receipt_id"] == jump.json()["id"]
    assert pending["decided_at"] is None and pending["reason"] is None and pending["recorded"] is None
    refused = {
        "unexplained": {"slice": s20, "decision": "approve"},
        "short reason": {"slice": s20, "decision": "return", "reason": "核实 "},
        "old version": {"slice": s20, "decision": "return", "reason": "请核实应整治数", "version": ok.json()["id"]},
        "no such decision": {"slice": s20, "decision": "delete", "reason": "请核实应整治数"},
    }
    answers = {k: c.post("/api/v1/reviews", headers=h, json=v) for k, v in refused.items()}
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(refused, 422)
    assert "cannot be approved" in answers["unexplained"].json()["error"]
    assert "at least 5 characters" in answers["short reason"].json()["error"]
    assert "newer version" in answers["old version"].json()["error"]
    assert c.post("/api/v1/reviews", headers=h, json={"slice": "outfall_remediation:360199:2020",
                                                      "decision": "approve"}).status_code == 404
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": b_csrf}):  # none, forged, another session's
        assert c.post("/api/v1/reviews", headers=headers, json={"slice": s19, "decision": "approve"}).status_code == 403
        assert c.post(f"/review/{s19}", data={"csrf": headers.get("X-CSRF-Token", ""),
                                             "decision": "approve"}).status_code == 403
    reason = "应整治数由 10 个增至 40 个，请核实口径"
    done = c.post("/api/v1/reviews", headers=h, json={"form": "outfall_remediation", "unit": "西湖区",
                                                      "period": "2020", "decision": "return", "reason": reason})
    assert done.status_code == 201, done.text
    assert done.json()["decision"] == "return" and done.json()["slice"] == s20 and done.json()["account"] == "reviewer"
    assert c.post("/api/v1/reviews", headers=h, json={"slice": s19, "decision": "approve"}).status_code == 201
    _until(c, "/api/v1/reviews?state=all", lambda body: {(r["slice"], r["state"], r["reason"]) for r in body["reviews"]}
           >= {(s20, "returned", reason), (s19, "approved", None)})
    assert _slice(c, "pending", s20) is None and _slice(c, "returned", s20)
    # the unit sees the return and its reason on its reports page; the other unit does not
    mine = b.get("/reports").text
    assert 'id="returned"' in mine and reason in mine
    assert reason not in client(portal, "unit_a")[0].get("/reports").text
    assert b.get(f"/api/v1/submissions/{jump.json()['id']}").json()["reviews"] == [
        {"form": "outfall_remediation", "unit": UNIT_B, "period": "2020", "state": "returned", "reason": reason}]
    # the slice as the reviewer sees it: figures beside last year's, the warning, the history
    view = c.get(f"/api/v1/reviews/{s20}").json()
    assert view["state"] == "returned" and [w["rule_id"] for w in view["warnings"]] == ["PERIOD_JUMP"]
    assert [(d["kind"], d["applied"]) for d in view["decisions"]] == [("return", True)]
    assert [v["receipt_id"] for v in view["versions"]] == [jump.json()["id"]]
    assert view["figures"] and all(f["previous_value"] is not None for f in view["figures"])
    page = c.get(f"/review/{s20}").text
    assert reason in page and 'id="slice-figures"' in page and "PERIOD_JUMP" in page
    refused_page = c.post(f"/review/{s20}", data={"csrf": csrf, "decision": "approve"})
    assert refused_page.status_code == 422 and 'id="decide-error"' in refused_page.text
    # reporting rates: the unit its own, the reviewer the city's
    assert 'id="rates"' in mine
    own = re.findall(r"<tr><td>[^<]*<code>outfall_remediation</code></td><td>(20\d\d)</td><td>[^<]*</td>"
                     r"((?:<td class=\"num\">[^<]*</td>)+)", b.get("/reports").text)
    cells = {period: re.findall(r">([^<]*)</td>", nums) for period, nums in own}
    # expected, received, accepted, approved, on time, late, missing, on-time rate
    assert cells == {"2019": ["1", "1", "1", "1", "1", "0", "0", "100%"],
                     "2020": ["1", "1", "1", "0", "0", "1", "0", "0%"]}
    owed = str(len(units_required("outfall_remediation")))  # the city's: every unit that owes the form
    city = {period: re.findall(r">([^<]*)</td>", nums) for period, nums in re.findall(
        r"<tr><td>[^<]*<code>outfall_remediation</code></td><td>(20\d\d)</td><td>[^<]*</td>"
        r"((?:<td class=\"num\">[^<]*</td>)+)", c.get("/review").text)}
    assert city == {"2019": [owed, "1", "1", "1", "1", "0", str(int(owed) - 1), f"{100 / int(owed):.0f}%"],
                    "2020": [owed, "1", "1", "0", "0", "1", str(int(owed) - 1), "0%"]}
    # nobody approves what they submitted: unit_a's account, moved to the bureau, may not approve its own report
    a, a_csrf = client(portal, "unit_a")
    mine_a = upload(a, a_csrf, "/api/v1/submissions", outfall_book(tmp_path / "a19.xlsx", UNIT_A, "2019"))
    wait_final(a, mine_a.json()["id"])
    _role(portal, "unit_a", "reviewer")
    try:
        own_approval = a.post("/api/v1/reviews", headers={"X-CSRF-Token": a_csrf},
                              json={"slice": f"outfall_remediation:{UNIT_A}:2019", "decision": "approve"})
    finally:
        _role(portal, "unit_a", "unit")
    assert own_approval.status_code == 422 and "nobody approves what they submitted" in own_approval.json()["error"]


def test_state_changes_need_the_csrf_token(portal: Workspace, tmp_path: Path) -> None:
    c, csrf = client(portal, "unit_a")
    other = client(portal, "unit_b")[1]
    book = outfall_book(tmp_path / "c.xlsx", UNIT_A, "2022")
    files = {"file": (book.name, book.read_bytes())}
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": other}):
        assert c.post("/api/v1/check", headers=headers, files=files).status_code == 403
        assert c.post("/api/v1/submissions", headers=headers, files=files).status_code == 403
        assert c.post("/api/v1/explanations", headers=headers,
                      json={"submission": "x", "finding": "y", "text": "口径调整，应整治数减少"}).status_code == 403
    token = c.post("/api/v1/check", headers={"X-CSRF-Token": csrf}, files=files).json()["upload"]
    assert c.post("/submit", data={"upload": token}).status_code == 403
    assert c.post("/submit", data={"upload": token, "csrf": other}).status_code == 403
    assert c.post("/check", data={"csrf": "forged"}, files=files).status_code == 403
    assert c.post("/logout", data={}).status_code == 403
    assert c.get("/reports").status_code == 200  # still logged in
    anon = httpx.Client(base_url=portal.url)
    assert anon.post("/login", data={"login": "unit_a", "password": PASSWORD, "token": "x"}).status_code == 403
    form = anon.get("/login")
    token = re.search(r'name="token" value="([^"]+)"', form.text)
    assert token and anon.post("/login", data={"login": "unit_a", "password": PASSWORD,
                                               "token": token.group(1)}).status_code == 303
    cookie = anon.cookies.get("ecostat_session")
    assert cookie and anon.get("/reports").status_code == 200
    assert anon.post("/logout", data={"csrf": csrf}).status_code == 403  # another session's token


def test_cookies_headers_and_a_new_session_at_each_login(portal: Workspace) -> None:
    c = httpx.Client(base_url=portal.url)
    first = c.post("/api/v1/session", json={"login": "unit_a", "password": PASSWORD})
    second = c.post("/api/v1/session", json={"login": "unit_a", "password": PASSWORD})
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=1800" in cookie
    assert "Secure" not in cookie  # a setting (--secure-cookies) behind TLS
    assert first.cookies["ecostat_session"] != second.cookies["ecostat_session"]
    page = c.get("/reports")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "http" not in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in page.text and not re.search(r'(src|href)="(https?:)?//', page.text)


def test_logins_are_throttled_per_account_and_per_address(portal: Workspace) -> None:
    add = subprocess.run([sys.executable, "-m", "ecostat.cli", "user", "add", "victim", "--unit", "西湖区", "--role",
                          "unit", "--name", "测试", "--warehouse", str(portal.warehouse)],
                         input=PASSWORD + "\n", capture_output=True, text=True, check=False)
    assert add.returncode == 0, add.stderr
    c = httpx.Client(base_url=portal.url)

    def login(who: str, password: str, address: str) -> httpx.Response:
        return c.post("/api/v1/session", json={"login": who, "password": password},
                      headers={"X-Forwarded-For": address})

    unknown = login("nobody-at-all", PASSWORD, "10.0.0.100")
    wrong = login("victim", "wrong password!!", "10.0.0.101")
    assert unknown.status_code == wrong.status_code == 401 and unknown.json() == wrong.json()
    for i in range(9):
        assert login("victim", f"wrong password {i}", f"10.0.0.{i}").status_code == 401
    refused = login("victim", PASSWORD, "10.0.1.1")  # right password, fresh address: the account is locked
    assert refused.status_code == 401 and refused.json() == wrong.json()
    for i in range(10):
        assert login(f"guess{i}", "whatever password", "10.9.9.9").status_code == 401
    assert login("unit_a", PASSWORD, "10.9.9.9").status_code == 401  # this address is locked
    assert login("unit_a", PASSWORD, "10.9.9.10").status_code == 200  # another is not
    log = subprocess.run([sys.executable, "-m", "ecostat.cli", "audit-log", "--warehouse", str(portal.warehouse)],
                         capture_output=True, text=True, check=True).stdout
    assert re.search(r"\tvictim\t10\.0\.0\.3\tlogin\t\tfailed", log)
    assert re.search(r"\tvictim\t10\.0\.1\.1\tlogin\t\tlocked", log)
    assert re.search(r"\tunit_a\t10\.9\.9\.10\tlogin\t\tok", log)


XSS = {"name": "<script>alert(1)</script>.xlsx", "sheet": "<img src=x onerror=alert(2)>",
       "cell": "<script>alert(3)</script>", "footer": "<b onmouseover=alert(4)>王敏</b>"}


def test_hostile_text_is_shown_inert(portal: Workspace, tmp_path: Path) -> None:
    rows = [header("outfall_remediation"), row("outfall_remediation", UNIT_A, "2021", completed=XSS["cell"]),
            [f"填报人：{XSS['footer']}"]]
    book = write_book(tmp_path / "x.xlsx", rows, sheet=XSS["sheet"])
    c, csrf = client(portal, "unit_a")
    page = c.post("/check", data={"csrf": csrf}, files={"file": (XSS["name"], book.read_bytes())})
    assert page.status_code == 200, page.text
    for text in XSS.values():
        assert text not in page.text
    for escaped in ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;",
                    "&lt;script&gt;alert(3)&lt;/script&gt;", "&lt;b onmouseover=alert(4)&gt;"):
        assert escaped in page.text
    assert 'class="mark-error"' in page.text and "<script" not in page.text
    token = re.search(r'name="upload" value="([^"]+)"', page.text)
    assert token
    done = c.post("/submit", data={"csrf": csrf, "upload": token.group(1)})
    receipt = done.headers["location"].rsplit("/", 1)[-1]
    wait_final(c, receipt)
    for path in ("/reports", f"/reports/{receipt}"):
        html = c.get(path).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;.xlsx" in html and "<script" not in html
        assert XSS["sheet"] not in html
    feedback = c.get(f"/reports/{receipt}/feedback.xlsx")
    assert feedback.status_code == 200 and "<" not in feedback.headers["content-disposition"].split(";")[1]


def test_an_upload_past_the_intake_limit_is_refused_before_it_is_read(portal: Workspace) -> None:
    c, csrf = client(portal, "unit_a")
    big = b"x" * (21 * 1024 * 1024)
    r = c.post("/api/v1/check", headers={"X-CSRF-Token": csrf}, files={"file": ("big.csv", big)})
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts the body as it streams in
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n"
        for _ in range(22):
            yield b"y" * (1024 * 1024)

    r = c.post("/api/v1/check", content=chunks(), headers={"X-CSRF-Token": csrf,
                                                           "content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413
    assert c.get("/reports").status_code == 200
    assert not list((portal.raw / "inbox").rglob("big*"))


def test_accounts_refuse_weak_passwords_and_disabling_ends_the_sessions(portal: Workspace) -> None:
    def user(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ecostat.cli", "user", *args, "--warehouse",
                               str(portal.warehouse)], input=password + "\n", capture_output=True, text=True,
                              check=False)

    assert user("add", "weak", "--unit", UNIT_A, "--role", "unit", "--name", "弱", password="short").returncode == 2
    common = user("add", "weak", "--unit", UNIT_A, "--role", "unit", "--name", "弱", password="password1234")
    assert common.returncode == 2 and "常见" in common.stderr
    assert user("add", "temp", "--unit", UNIT_A, "--role", "nobody", "--name", "x").returncode == 2
    assert user("add", "temp", "--unit", UNIT_A, "--role", "unit", "--name", "临时").returncode == 0
    c, _ = client(portal, "temp")
    assert c.get("/api/v1/submissions").status_code == 200
    assert user("password", "temp", password="another-good-passphrase").returncode == 0
    assert c.get("/api/v1/submissions").status_code == 401  # a new password ends the sessions
    assert user("disable", "temp").returncode == 0
    r = httpx.post(portal.url + "/api/v1/session", json={"login": "temp", "password": "another-good-passphrase"})
    assert r.status_code == 401
    listed = user("list").stdout
    assert re.search(r"^temp\t360102\tunit\t临时\tdisabled$", listed, re.M)


def test_the_documented_curl_examples_work(portal: Workspace, tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "portal.md").read_text(encoding="utf-8")
    script = re.search(r"<!-- tested: api -->\n```sh\n(.*?)```", doc, re.S)
    assert script, "docs/portal.md lost its tested API examples"
    outfall_book(tmp_path / "东湖区2024年报.xlsx", UNIT_A, "2024", required=45, completed=8)  # a jump to explain
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script.group(1)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=180, check=False,
                          env={**os.environ, "PORTAL": portal.url, "LOGIN": "unit_a", "PASSWORD": PASSWORD,
                               "REVIEWER": "reviewer", "REVIEWER_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "0" and lines[1] == "accepted"  # no errors in the dry run; the newest submission accepted
    explained = json.loads(lines[2])
    assert explained["account"] == "unit_a" and explained["text"] == "一处排污口并入污水管网，应整治数减少"
    returned, approved = json.loads(lines[3]), json.loads(lines[4])
    assert (returned["decision"], returned["account"], returned["reason"]) == ("return", "reviewer",
                                                                             "应整治数与上年差异较大，请核实")
    assert approved["decision"] == "approve" and approved["slice"] != returned["slice"]
    journal = (portal.raw / "archive" / "decisions.jsonl").read_text(encoding="utf-8")
    assert returned["id"] in journal and approved["id"] in journal
