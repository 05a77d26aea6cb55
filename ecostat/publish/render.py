"""The Jinja templates of the HTML pages (the annual report's PDF, the status site) in ``ecostat/publish/jinja/``.

Autoescaping is on: every value a page shows may come from a submitted file, and submitted text is
hostile."""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ecostat.common.xmltext import xml_text

TEMPLATE_DIR = Path(__file__).resolve().parent / "jinja"


@cache
def environment() -> jinja2.Environment:
    """The template environment (autoescaped, undefined names are errors, every value shown made fit for
    XML by :func:`~ecostat.common.xmltext.xml_text`)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             finalize=_fit_for_xml)
    env.filters["data_uri"] = png_data_uri
    return env


def _fit_for_xml(value: Any) -> Any:
    if isinstance(value, Markup):
        return Markup(xml_text(value))
    return xml_text(value) if isinstance(value, str) else value


def render(template: str, **context: Any) -> str:
    """A page rendered from ``ecostat/publish/jinja/<template>``."""
    return environment().get_template(template).render(**context)


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a ``data:`` URI, so a page carries its images inside."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
