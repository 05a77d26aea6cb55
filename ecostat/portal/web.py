"""What every route shares: the portal's settings and state, the signed-in session of a request, CSRF and
role checks, the security headers, and the cap on a request's body, enforced while it streams in."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ecostat.common import environment
from ecostat.portal import db, security
from ecostat.portal.runner import Runner
from ecostat.portal.security import Session

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
           (b"cross-origin-opener-policy", b"same-origin")]
BODY_OVERHEAD = 64 * 1024  # a multipart body's boundaries and headers beyond the file itself


@dataclass
class Portal:
    """The portal's settings and state, one per process."""

    raw: Path
    warehouse: Path
    secure_cookies: bool = False
    runner: Runner | None = field(default=None, repr=False)

    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        """A connection to the portal's database for one request."""
        con = db.connect(self.warehouse, create=False)
        try:
            yield con
        finally:
            con.close()


def portal(request: Request) -> Portal:
    """The portal serving a request."""
    p: Portal = request.app.state.portal
    return p


def address(request: Request) -> str:
    """Where a request came from (behind a proxy on 127.0.0.1, uvicorn puts its X-Forwarded-For here)."""
    return request.client.host if request.client else "?"


def current(request: Request, con: sqlite3.Connection) -> Session | None:
    """The request's live session, if any."""
    return security.session(con, request.cookies.get(security.COOKIE))


def require(sess: Session | None, *roles: str) -> Session:
    """The session if its account has one of ``roles`` (401 without a session, 403 for another role)."""
    if sess is None:
        raise HTTPException(401, "请先登录 / log in first")
    if roles and sess.account.role not in roles:
        raise HTTPException(403, "无权访问 / not allowed for this account")
    return sess


def require_csrf(sess: Session, token: str | None) -> None:
    """403 unless ``token`` is the session's CSRF token."""
    if not security.csrf_ok(sess, token):
        raise HTTPException(403, "CSRF 校验失败，请刷新页面重试 / CSRF token missing or wrong")


@dataclass
class Posted:
    """A page's form posted by a signed-in account: the portal, the request's database connection, the session
    and the form's fields."""

    portal: Portal
    con: sqlite3.Connection
    sess: Session
    form: Any

    def field(self, name: str) -> str:
        """A field's text ("" when absent)."""
        return str(self.form.get(name, ""))


@asynccontextmanager
async def posted(request: Request, *roles: str, max_fields: int = 10) -> AsyncIterator[Posted]:
    """While the block runs, a page's form post (at most ``max_fields`` fields, no file) by a session of one of
    ``roles`` (401, 403 otherwise) whose CSRF field is right (403 otherwise)."""
    form = await request.form(max_files=0, max_fields=max_fields)
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), *roles)
        require_csrf(sess, str(form.get("csrf", "")))
        yield Posted(p, con, sess, form)


def set_session_cookie(response: Any, portal_: Portal, session_id: str) -> None:
    """Set the session cookie: HttpOnly, SameSite=Strict, Secure behind TLS, for the idle time."""
    response.set_cookie(security.COOKIE, session_id, max_age=security.IDLE_SECONDS, httponly=True, samesite="strict",
                        secure=portal_.secure_cookies, path="/")


def upload_limit() -> int:
    """The largest upload: the intake's file limit."""
    return environment.max_file_bytes()


class TooLarge(Exception):
    """A request body went past the cap while it streamed in."""


class Guard:
    """ASGI middleware: the security headers on every response, and every request body capped at the intake's
    limit (plus multipart overhead) as it streams in, refused with 413 before anything past it is read."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = upload_limit() + BODY_OVERHEAD
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            await _too_large(send_with_headers)
            return
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise TooLarge
            return message

        try:
            await self.app(scope, capped, send_with_headers)
        except TooLarge:
            if not started:
                await _too_large(send_with_headers)


async def _too_large(send: Send) -> None:
    mb = upload_limit() / 1024 / 1024
    body = f"文件过大（上限 {mb:.0f} MB）/ file too large (limit {mb:.0f} MB)".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


async def read_upload(request: Request) -> tuple[str, bytes, dict[str, str]]:
    """The multipart request's ``file`` (its name as sent, its bytes) and its other fields; 413 past the
    cap (checked while the body streams in), 400 without a file."""
    from starlette.datastructures import UploadFile

    try:
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "请选择文件 / no file in the request (multipart field 'file')")
        data = await upload.read(upload_limit() + 1)
    except TooLarge:
        raise HTTPException(413, "文件过大 / file too large") from None
    if len(data) > upload_limit():
        raise HTTPException(413, "文件过大 / file too large")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return upload.filename or "upload", data, fields
