"""The annual report as a PDF for circulation: the report's HTML (``ecostat/publish/jinja/annual_report.html``,
from the same context as the ``.docx``) rendered by WeasyPrint with the free Noto CJK fonts embedded: the
system's Noto Serif/Sans CJK SC where installed (``local()``), else the Noto Sans CJK collection of the pinned
package ``noto-cjk-sans-otc`` (:mod:`ecostat.publish.annual.fonts`), named by an ``@font-face`` with its
``file:`` URL. Images are ``data:`` URIs; nothing else is fetched (the fetcher allows that one font file and
``data:`` only). The collection's first face is the Japanese one; the page's ``lang="zh-CN"`` has HarfBuzz
apply the font's ``locl`` feature, so every character takes its simplified Chinese form (直, 骨, 户). A
character no font has is drawn as an empty box, and WeasyPrint logs a warning naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecostat.publish.annual.context import ReportContext
from ecostat.publish.annual.fonts import cjk_font_file
from ecostat.publish.render import render


def report_html(ctx: ReportContext, font: Path | None = None) -> str:
    """The report as one self-contained HTML page (print layout); ``font`` is the CJK collection its
    ``@font-face`` rules fall back to when the system has no Noto CJK."""
    return render("annual_report.html", ctx=ctx, font_url=(font or cjk_font_file()).resolve().as_uri())


def _fetcher(font_url: str) -> Any:
    from weasyprint.urls import URLFetcher

    class OnlyTheFont(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.split("?")[0] != font_url and not url.startswith("data:"):
                raise ValueError(f"not fetched: {url[:80]}")
            return super().fetch(url, headers)

    return OnlyTheFont(allowed_protocols={"data", "file"})


def write_pdf(ctx: ReportContext, path: Path) -> Path:
    """Write the report as ``path`` (a PDF); :class:`~ecostat.publish.annual.fonts.FontMissing` when no CJK
    font file exists at all."""
    from weasyprint import HTML

    font = cjk_font_file().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=report_html(ctx, font), url_fetcher=_fetcher(font.as_uri())).write_pdf(str(path))
    return path
