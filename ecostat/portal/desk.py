"""The reviewer's desk pages (contract v3 §9): the queue by unit, form and period, one slice, and its
approve / return form. Only a reviewer may open them; everyone else gets 403."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from ecostat.portal import review
from ecostat.portal.pages import render
from ecostat.portal.web import address, current, portal, posted, require

router = APIRouter()


@router.get("/review")
def review_queue(request: Request, state: str = "pending", year: int | None = None) -> Response:
    """The review queue: every current slice of a state (pending by default; ``all`` for every state), of a
    year if given."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "reviewer")
    rows = review.queue(p, sess, None if state == "all" else state, year)
    return render("review.html", sess, rows=rows, state=state, year=year, rates=review.rates(p, sess))


@router.get("/review/{slice_}")
def review_slice(request: Request, slice_: str) -> Response:
    """One slice: its figures beside last year's, warnings and explanations, history; approve or return it."""
    p = portal(request)
    with p.db() as con:
        sess = require(current(request, con), "reviewer")
    return render("review_slice.html", sess, view=review.shown(p, sess, slice_), error="")


@router.post("/review/{slice_}")
async def review_decide(request: Request, slice_: str) -> Response:
    """Approve or return a slice from its page (a refusal is shown on the page, with why)."""
    async with posted(request, "reviewer") as post:
        try:
            review.decide(post.portal, post.con, post.sess, address(request), slice_, post.field("decision"),
                          post.field("reason"), post.field("version") or None)
        except HTTPException as exc:
            if exc.status_code != 422:
                raise
            return render("review_slice.html", post.sess, 422, view=review.shown(post.portal, post.sess, slice_),
                          error=str(exc.detail))
    return RedirectResponse(f"/review/{quote(slice_, safe=':')}#decided", 303)
