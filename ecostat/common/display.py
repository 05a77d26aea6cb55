"""How text that came from a submission is shown: file names decoded the way the district wrote
them, and control and escape characters made visible, so that no cell or file name can move a
terminal's cursor, forge a line of a summary or smuggle markup into a message."""

from __future__ import annotations

import hashlib
import re

# C0 and C1 controls, DEL, Unicode bidirectional overrides and isolates, line and paragraph separators
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile("[\udc80-\udcff]")  # undecodable bytes kept by os.fsdecode
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>#|~&@])")  # what can start markup inside a line
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
MAX_NAME_BYTES = 200  # a file's name part; its feedback files add ".feedback.xlsx" within NAME_MAX


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control, escape and bidi character shown as a visible escape (``\\x1b``, ``\\n``)."""
    s = "" if text is None else str(text)
    s = _CONTROLS.sub(lambda m: _escape(m.group()), s)
    return _SURROGATES.sub(lambda m: _escape(m.group()), s)


def markdown_text(text: object) -> str:
    """``text`` for a Markdown document: :func:`printable`, and every Markdown or HTML character escaped."""
    return _MARKDOWN.sub(r"\\\1", printable(text))


def decode_name(raw: bytes) -> tuple[str, bool]:
    """A file or folder name as its sender wrote it: UTF-8, else GB18030 (a GBK name from a zip made on
    Chinese Windows), else UTF-8 with the undecodable bytes escaped; control characters escaped and an
    over-long name shortened (its hash kept). The flag is True when the name shown is exactly what the
    sender wrote (decoded cleanly, nothing escaped or cut)."""
    exact = True
    for encoding in ("utf-8", "gb18030"):
        try:
            name = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        name, exact = raw.decode("utf-8", "backslashreplace"), False
    shown = shorten(printable(name), raw)
    return shown, exact and shown == name


def shorten(name: str, raw: bytes) -> str:
    """``name`` cut to :data:`MAX_NAME_BYTES` of UTF-8, keeping its extension and a hash of ``raw``."""
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = name, ""
    tail = f"~{hashlib.sha256(raw).hexdigest()[:8]}" + (f".{ext}" if ext else "")
    budget = MAX_NAME_BYTES - len(tail.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return cut + tail
