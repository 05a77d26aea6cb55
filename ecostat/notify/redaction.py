"""Alert URLs carry tokens: the only forms of them that may be logged or stored are made here
(:func:`redact_url`, :func:`recipient_id`), and while a message is being sent, apprise's, urllib3's and
requests' log records have every secret part of the URLs removed (:func:`redacted_logs`)."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, unquote, urlsplit

SENDING_LOGGERS = ("apprise", "urllib3.connectionpool", "requests")


def _hostlike(host: str) -> bool:
    """True for a real host name or address; False for a token standing where the host would be."""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        labels = host.split(".")
        return len(labels) >= 2 and all(labels) and labels[-1].isalpha()


def redact_url(url: str) -> str:
    """A URL as it may be shown: scheme and host (with port) only, the host hidden too when it is a token
    (``dingtalk://<token>``, ``slack://<tokens>``)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "***"
    scheme = parts.scheme or "?"
    if not _hostlike(host):
        return f"{scheme}://***"
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def secret_parts(url: str) -> list[str]:
    """The pieces of a URL that may be secret: user, password, a token-like host, path segments and
    query values (longest first, so that a longer secret is replaced before its prefix)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return [url]
    found = [parts.username or "", parts.password or "", *parts.path.split("/"),
             *(v for _, v in parse_qsl(parts.query))]
    if not _hostlike(host):
        found += [host, parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0]]
    found = [p for s in found for p in (s, unquote(s)) if len(p) >= 4]
    return sorted(set(found), key=len, reverse=True)


def redact_text(text: str, urls: list[str]) -> str:
    """``text`` with every URL of ``urls`` and every secret part of them replaced by ``***``."""
    for url in sorted(urls, key=len, reverse=True):
        text = text.replace(url, redact_url(url))
    for url in urls:
        for part in secret_parts(url):
            text = text.replace(part, "***")
    return text


class _Redacting(logging.Filter):
    def __init__(self, urls: list[str]):
        super().__init__()
        self.urls = urls

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage(), self.urls)
        record.args = ()
        return True


@contextmanager
def redacted_logs(urls: list[str]) -> Iterator[None]:
    """While inside, log records of apprise, urllib3 and requests have these URLs' secrets removed."""
    flt = _Redacting(urls)
    loggers = [logging.getLogger(name) for name in SENDING_LOGGERS]
    for lg in loggers:
        lg.addFilter(flt)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(flt)


def recipient_id(url: str) -> str:
    """A stable id of a recipient URL that does not reveal it (sha256 prefix)."""
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:16]
