"""What counts as an explanation (上报说明, contract v3 §8): words saying why, at least 5 Chinese characters or
10 letters, and not a placeholder. Checked alike for a table's ``说明``/``备注`` cell and for an explanation
given in the portal or the CLI."""

from __future__ import annotations

import re
import unicodedata

# What offices write when they mean nothing: refused, whatever the punctuation around it.
PLACEHOLDERS = frozenset({"无", "正常", "属实", "数据无误", "同上", "见附件", "/", "数据正常", "情况属实", "无误",
                          "已核实", "核实无误", "见说明", "详见附件", "n/a", "na", "none", "ok", "-", "—"})
MIN_CHINESE = 5
MIN_LETTERS = 10
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[A-Za-z]")
_STRIP = " \t\r\n\u3000。.，,；;：:！!？?、…“”\"'（）()"


def explanation_problem(text: str | None) -> tuple[str, str] | None:
    """Why ``text`` is no explanation, as (Chinese, English), or None when it is one."""
    shown = unicodedata.normalize("NFKC", text or "").strip()
    if not shown:
        return "说明为空", "the explanation is empty"
    if shown.strip(_STRIP).lower() in PLACEHOLDERS or shown.lower() in PLACEHOLDERS:
        return (f"“{shown}”是占位词，不是说明：请写明数值变化的原因",
                f"'{shown}' is a placeholder, not an explanation: say why the value is what it is")
    if len(_HAN.findall(shown)) < MIN_CHINESE and len(_LETTER.findall(shown)) < MIN_LETTERS:
        return (f"说明过短（至少 {MIN_CHINESE} 个汉字或 {MIN_LETTERS} 个字母）：请写明原因",
                f"the explanation is too short (at least {MIN_CHINESE} Chinese characters or {MIN_LETTERS} "
                "letters): say why")
    return None
