"""The annual report as a PDF for circulation: the report's HTML (``ecostat/publish/jinja/annual_report.html``,
from the same context as the ``.docx``) rendered by WeasyPrint with the free Noto Serif/Sans CJK fonts
of Debian's ``fonts-noto-cjk`` embedded. Images are ``data:`` URIs; nothing else is fetched. A character
no installed font has is drawn as an empty box, and WeasyPrint logs a warning naming it."""

from __future__ import annotations

from pathlib import Path

from ecostat.publish.annual.context import ReportContext
from ecostat.publish.render import render


def report_html(ctx: ReportContext) -> str:
    """The report as one self-contained HTML page (print layout)."""
    return render("annual_report.html", ctx=ctx)


def write_pdf(ctx: ReportContext, path: Path) -> Path:
    """Write the report as ``path`` (a PDF)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=report_html(ctx), url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf(str(path))
    return path
