"""The one place where text that may have come from a submission is made fit for XML 1.0: the ``.docx``,
the feedback workbook, the site's pages and every other generated file built on XML. XML 1.0 cannot hold
the C0 control characters other than tab, line feed and carriage return, lone surrogates (an undecodable
byte kept by ``surrogateescape``) or U+FFFE and U+FFFF; a writer given one either fails (python-docx:
``All strings must be XML compatible``) or writes a file that Excel and Word call corrupt."""

from __future__ import annotations

import re

NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = "\ufffd"


def xml_text(text: str) -> str:
    """``text`` with each character XML 1.0 forbids shown as U+FFFD (�), everything else unchanged."""
    return NOT_XML.sub(REPLACEMENT, text)
