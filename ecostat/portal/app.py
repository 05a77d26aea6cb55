"""The portal's ASGI application (FastAPI on Starlette, Jinja2 pages, served by uvicorn): the pages, the
``/api/v1`` JSON API and the portal's own stylesheet, behind :class:`ecostat.portal.web.Guard`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ecostat.portal import api, db, desk, pages, pool
from ecostat.portal.runner import Runner
from ecostat.portal.web import Guard, Portal

STATIC = Path(__file__).with_name("static")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool.start()
    yield
    pool.stop()


def create_app(raw: Path, warehouse: Path, *, secure_cookies: bool = False, runs: bool = True) -> FastAPI:
    """The portal over ``raw`` and ``warehouse``; with ``runs``, a submission starts an ingest run."""
    db.connect(warehouse).close()  # the portal's database and tables exist before the first request
    app = FastAPI(title="ecostat portal", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan)
    app.state.portal = Portal(raw, warehouse, secure_cookies, Runner(raw, warehouse) if runs else None)
    app.include_router(pages.router)
    app.include_router(desk.router)
    app.include_router(api.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, exc.status_code, headers={"cache-control": "no-store"})
        if exc.status_code == 401:
            return RedirectResponse("/login", 303)
        return pages.error_page(request, exc.status_code, str(exc.detail))

    app.add_middleware(Guard)
    return app
