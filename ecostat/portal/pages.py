"""The portal's pages, server-rendered from ``templates/`` (Jinja2, autoescaped), Chinese first. Every form
posts with its session's CSRF token; the login form with a token of its own (double-submit cookie)."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ecostat.contract.forms import FORMS
from ecostat.contract.normalize import Period
from ecostat.portal import actions, reports, review, security
from ecostat.portal.accounts import ROLE_LABELS
from ecostat.portal.figures import figures as published_figures
from ecostat.portal.security import Session
from ecostat.portal.web import address, current, portal, posted, read_upload, require, require_csrf, set_session_cookie

router = APIRouter()
LOGIN_COOKIE = "ecostat_login"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True,
                         undefined=jinja2.StrictUndefined)
ENV.globals.update(STATES=reports.STATE_LABELS, ROLES=ROLE_LABELS, FORMS=FORMS,
                   REVIEW={"pending": "待审核 pending", "approved": "已通过 approved", "returned": "已退回 returned"})


def render(name: str, sess: Session | None, code: int = 200, **context: Any) -> HTMLResponse:
    """A page from its template (every page gets the session, for the header and the CSRF token)."""
    html = ENV.get_template(name).render(sess=sess, **context)
    return HTMLResponse(html, code, headers={"cache-control": "no-store"})


def error_page(request: Request, status: int, message: str) -> Response:
    """A refusal as a page."""
    return render("error.html", None, status, status=status, message=message)


def download(data: bytes, name: str, media: str = XLSX) -> Response:
    """A download with a safe ASCII file name and its UTF-8 name (RFC 6266)."""
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)[-100:] or "file"
    return Response(data, media_type=media, headers={
        "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name[-150:])}",
        "cache-control": "no-store"})


@router.get("/")
def home(request: Request) -> Response:
    """The start page of the account's role."""
    with portal(request).db() as con:
        sess = current(request, con)
    if sess is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse("/audit" if sess.account.role == "admin" else "/reports", 303)


@router.get("/login")
def login_form(request: Request, failed: int = 0) -> Response:
    """The login page (no account is made here: the bureau makes them)."""
    token = secrets.token_urlsafe(24)
    response = render("login.html", None, 401 if failed else 200, token=token,
                      message=security.LOGIN_FAILED if failed else "")
    response.set_cookie(LOGIN_COOKIE, token, max_age=600, httponly=True, samesite="strict",
                        secure=portal(request).secure_cookies, path="/login")
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """Log in with the form; a new session id every time."""
    form = await request.form(max_files=0, max_fields=5)
    if not security_token_ok(request.cookies.get(LOGIN_COOKIE), form.get("token")):
        raise HTTPException(403, "登录页面已过期，请重新打开 / the login page expired: open it again")
    p = portal(request)
    with p.db() as con:
        made = security.log_in(con, str(form.get("login", "")), str(form.get("password", "")), address(request))
    if made is None:
        return RedirectResponse("/login?failed=1", 303)
    response = RedirectResponse("/", 303)
    set_session_cookie(response, p, made[0])
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def security_token_ok(cookie: str | None, field: object) -> bool:
    """Whether the login form's token matches its cookie."""
    return bool(cookie) and isinstance(field, str) and secrets.compare_digest(cookie or "", field)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session."""
    async with posted(request, max_fields=5) as post:
        security.log_out(post.con, request.cookies.get(security.COOKIE))
        security.audit(post.con, post.sess.account.login, address(request), "logout", None, "ok")
    response = RedirectResponse("/login", 303)
    response.delete_cookie(security.COOKIE, path="/")
    return response


@router.get("/reports")
def my_reports(request: Request) -> Response:
    """My reports: every submission with its state, and the obligations due."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit", "reviewer")
        found = actions.listed(p, con, sess)
    unit = sess.account.unit if sess.account.role == "unit" else None
    return render("reports.html", sess, submissions=found, obligations=reports.obligations(p.raw, unit),
                  today=dt.date.today(), returned=review.returned(p, sess), rates=review.rates(p, sess))


@router.get("/reports/{receipt_id}")
def report(request: Request, receipt_id: str) -> Response:
    """One submission: its tables, findings, feedback and explanations."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit", "reviewer")
        sub = actions.shown(p, con, sess, receipt_id)
    return render("report.html", sess, sub=sub, error="")


@router.get("/reports/{receipt_id}/feedback.xlsx")
def report_feedback(request: Request, receipt_id: str) -> Response:
    """The feedback workbook the run wrote for a submission."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit", "reviewer")
    receipt, data = actions.feedback(p, sess, receipt_id)
    return download(data, receipt.file.rsplit("/", 1)[-1] + ".feedback.xlsx")


@router.post("/reports/{receipt_id}/explanations")
async def explain(request: Request, receipt_id: str) -> Response:
    """Record an explanation written on the submission's page."""
    async with posted(request, "unit") as post:
        try:
            actions.explain(post.portal, post.con, post.sess, address(request), receipt_id, post.field("finding"),
                            post.field("text"))
        except HTTPException as exc:
            if exc.status_code != 422:
                raise
            sub = actions.shown(post.portal, post.con, post.sess, receipt_id)
            return render("report.html", post.sess, 422, sub=sub, error=str(exc.detail))
    return RedirectResponse(f"/reports/{receipt_id}#explained", 303)


@router.get("/check")
def check_form(request: Request) -> Response:
    """The upload-and-check page."""
    with portal(request).db() as con:
        sess = require(current(request, con), "unit")
    return render("check.html", sess, result=None, upload=None)


@router.post("/check")
async def check(request: Request) -> Response:
    """Check an upload as a dry run and show every finding on its cells."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit")
    name, data, fields = await read_upload(request)
    require_csrf(sess, fields.get("csrf"))
    result, upload = await actions.check(p, sess, address(request), name, data)
    return render("check.html", sess, result=result, upload=upload)


@router.get("/check/{token}/feedback.xlsx")
def check_feedback(request: Request, token: str) -> Response:
    """The feedback workbook of a checked upload."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "unit")
        upload, data = actions.checked_feedback(p, con, sess, token)
    return download(data, upload.name + ".feedback.xlsx")


@router.post("/submit")
async def submit(request: Request) -> Response:
    """Submit a checked upload."""
    async with posted(request, "unit", max_fields=5) as post:
        receipt = actions.submit_checked(post.portal, post.con, post.sess, address(request), post.field("upload"))
    return RedirectResponse(f"/reports/{receipt.receipt_id}", 303)


@router.get("/templates")
def templates(request: Request) -> Response:
    """The fill-in templates of the account's unit."""
    from ecostat.publish.templates import forms_named

    with portal(request).db() as con:
        sess = require(current(request, con), "unit")
    return render("templates.html", sess, forms=forms_named("all", sess.account.unit), year=dt.date.today().year - 1)


@router.get("/templates/download")
def template_download(request: Request, year: int, month: int | None = None, form: str = "all") -> Response:
    """A template workbook for the account's unit and a period."""
    from ecostat.publish.templates import NotSubmitter, build_template, forms_named

    with portal(request).db() as con:
        sess = require(current(request, con), "unit")
    if not 2000 <= year <= 2100 or (month is not None and not 1 <= month <= 12):
        raise HTTPException(400, "报告期无效 / no such period")
    try:
        forms = forms_named(form, sess.account.unit)
    except (KeyError, NotSubmitter):
        raise HTTPException(404, actions.NOT_FOUND) from None
    out = io.BytesIO()
    build_template(forms, sess.account.unit, year, month).save(out)
    return download(out.getvalue(), f"{sess.account.unit}_{Period(year, month).label}_{form}_template.xlsx")


@router.get("/figures")
def figures(request: Request, year: int | None = None) -> Response:
    """The city's published annual figures."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con))
    shown = year or dt.date.today().year - 2
    rows = published_figures(p.warehouse, shown)
    return render("figures.html", sess, year=shown, rows=rows)


@router.get("/audit")
def audit_page(request: Request) -> Response:
    """The audit trail (admin)."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "admin")
        lines = security.audit_lines(con)[-500:]
    return render("audit.html", sess, lines=list(reversed(lines)))
