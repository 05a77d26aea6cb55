"""Where the report's CJK font is: Debian's ``fonts-noto-cjk`` when installed, else the same Noto Sans CJK
collection (SIL Open Font License 1.1) from the pinned Python package ``noto-cjk-sans-otc``, which the
README's install puts in the virtual environment. Nothing is downloaded at run time."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CJK_FAMILY = "Noto Sans CJK SC"
SYSTEM_FILES = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),)
PACKAGE = "noto_cjk_sans_otc"
PACKAGE_FILE = "NotoSansCJK-Regular.ttc"


class FontMissing(RuntimeError):
    """No CJK font file: neither the system's nor the package's."""


def packaged_font() -> Path | None:
    """The collection shipped in the ``noto-cjk-sans-otc`` package (None when it is not installed)."""
    try:
        path = Path(str(resources.files(PACKAGE).joinpath(PACKAGE_FILE)))
    except ImportError:
        return None
    return path if path.is_file() else None


def cjk_font_file() -> Path:
    """The Noto Sans CJK collection to draw and embed with: a system one if present, else the packaged one."""
    for path in SYSTEM_FILES:
        if path.is_file():
            return path
    packaged = packaged_font()
    if packaged is None:
        raise FontMissing(f"{CJK_FAMILY} 字体缺失：请按 README 安装依赖（pip install -r requirements.lock）/ "
                          f"the CJK font {CJK_FAMILY} is missing: install the pinned package noto-cjk-sans-otc "
                          "(pip install -r requirements.lock)")
    return packaged
