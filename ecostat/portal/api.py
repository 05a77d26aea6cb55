"""The JSON API for scripts and the province's systems, ``/api/v1``: the portal's actions for a session
cookie; every POST but the login needs the session's CSRF token in ``X-CSRF-Token``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ecostat.intake.archive import Receipt
from ecostat.portal import actions, review, security
from ecostat.portal.accounts import Account
from ecostat.portal.web import address, current, portal, read_upload, require, require_csrf, set_session_cookie

router = APIRouter(prefix="/api/v1")
NO_STORE = {"cache-control": "no-store"}


class Login(BaseModel):
    """The login's body."""

    model_config = ConfigDict(extra="forbid")
    login: str = Field(max_length=200)
    password: str = Field(max_length=1000)


class ExplanationIn(BaseModel):
    """An explanation's body: the submission, the warning (its ``finding_key``) and the text."""

    model_config = ConfigDict(extra="forbid")
    submission: str = Field(max_length=100)
    finding: str = Field(max_length=500)
    text: str = Field(max_length=4000)


class ReviewIn(BaseModel):
    """A decision's body: the slice (``form:unit:period``, or ``form``, ``unit`` and ``period``), the decision
    (``approve`` or ``return``), a return's reason, and optionally the version decided on (a receipt id)."""

    model_config = ConfigDict(extra="forbid")
    slice: str | None = Field(default=None, max_length=200)
    form: str | None = Field(default=None, max_length=60)
    unit: str | None = Field(default=None, max_length=64)
    period: str | None = Field(default=None, max_length=7)
    decision: str = Field(max_length=20)
    reason: str = Field(default="", max_length=4000)
    version: str | None = Field(default=None, max_length=100)


def _account(a: Account) -> dict[str, str]:
    return {"login": a.login, "unit": a.unit, "role": a.role, "name": a.name}


def _receipt(r: Receipt) -> dict[str, Any]:
    return {"id": r.receipt_id, "file": r.file, "unit": r.submitter, "account": r.account, "sha256": r.sha256,
            "size": r.size, "received_at": r.received_at.isoformat(), "state": "received"}


@router.post("/session")
def login(request: Request, body: Login) -> JSONResponse:
    """Log in: sets the session cookie; returns the account, its unit and role, and the CSRF token."""
    p = portal(request)
    with p.db() as con:
        made = security.log_in(con, body.login, body.password, address(request))
    if made is None:
        raise HTTPException(401, security.LOGIN_FAILED)
    session_id, sess = made
    response = JSONResponse({"account": _account(sess.account), "csrf_token": sess.csrf}, headers=NO_STORE)
    set_session_cookie(response, p, session_id)
    return response


@router.post("/check")
async def check(request: Request) -> JSONResponse:
    """A dry run of the uploaded ``file``: its tables and findings; and a token to submit it with the page."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit")
        require_csrf(sess, request.headers.get("x-csrf-token"))
    name, data, _ = await read_upload(request)
    result, upload = await actions.check(p, sess, address(request), name, data)
    return JSONResponse({**result.as_json(), "upload": upload.token}, headers=NO_STORE)


@router.post("/submissions", status_code=201)
async def submit(request: Request) -> JSONResponse:
    """Submit the uploaded ``file`` into the unit's inbox; returns its receipt (an ingest run follows)."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit")
        require_csrf(sess, request.headers.get("x-csrf-token"))
    name, data, _ = await read_upload(request)
    from starlette.concurrency import run_in_threadpool

    def work() -> Receipt:
        with p.db() as con:
            return actions.submit(p, con, sess, address(request), name, data)

    receipt = await run_in_threadpool(work)
    return JSONResponse({**_receipt(receipt), "name": name}, 201, headers=NO_STORE)


@router.get("/submissions")
def submissions(request: Request) -> JSONResponse:
    """The account's own submissions (a reviewer's: all), newest first, with their states."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit", "reviewer")
        found = actions.listed(p, con, sess)
    return JSONResponse({"submissions": [s.as_json() for s in found]}, headers=NO_STORE)


@router.get("/submissions/{receipt_id}")
def submission(request: Request, receipt_id: str) -> JSONResponse:
    """One submission with its findings and their explanations."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit", "reviewer")
        sub = actions.shown(p, con, sess, receipt_id)
    return JSONResponse(sub.as_json(), headers=NO_STORE)


@router.post("/explanations", status_code=201)
def explain(request: Request, body: ExplanationIn) -> JSONResponse:
    """Explain a finding that needs it (contract §8)."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit")
        require_csrf(sess, request.headers.get("x-csrf-token"))
        entry = actions.explain(p, con, sess, address(request), body.submission, body.finding, body.text)
    return JSONResponse({"id": entry.decision_id, "submission": entry.receipt_id, "finding": entry.finding_key,
                         "slice": entry.slice, "text": entry.text, "account": entry.login,
                         "at": entry.at.isoformat() if entry.at else None, "state": "recorded"}, 201,
                        headers=NO_STORE)


@router.get("/reviews")
def reviews(request: Request, state: str | None = "pending", year: int | None = None) -> JSONResponse:
    """The review queue (reviewer): the current slices of ``state`` (pending by default; ``all``: every state),
    of ``year`` if given."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "reviewer")
    rows = review.queue(p, sess, None if state == "all" else state, year)
    return JSONResponse({"reviews": rows}, headers=NO_STORE)


@router.get("/reviews/{slice_}")
def review_slice(request: Request, slice_: str) -> JSONResponse:
    """One slice (reviewer): its state, figures beside last year's, warnings, versions and decisions."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "reviewer")
    return JSONResponse(review.shown(p, sess, slice_).as_json(), headers=NO_STORE)


@router.post("/reviews", status_code=201)
def decide(request: Request, body: ReviewIn) -> JSONResponse:
    """Approve or return a slice (contract §9): 201 and the recorded decision, applied by the run it starts;
    422 with why when the rules refuse it."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "reviewer")
        require_csrf(sess, request.headers.get("x-csrf-token"))
        target = body.slice or f"{body.form}:{body.unit}:{body.period}"
        entry = review.decide(p, con, sess, address(request), target, body.decision, body.reason, body.version)
    decided = "approve" if entry.kind == "approval" else "return"
    return JSONResponse({"id": entry.decision_id, "slice": entry.slice, "decision": decided,
                         "version": entry.receipt_id, "reason": entry.text or None, "account": entry.login,
                         "at": entry.at.isoformat() if entry.at else None, "state": "recorded"}, 201,
                        headers=NO_STORE)
