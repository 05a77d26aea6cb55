"""The sizes a file may not pass, checked before a table is read wherever its size can be known first."""

from __future__ import annotations

from ecostat.common import environment
from ecostat.read.types import ReadError


def mb(size: int) -> str:
    """A size in bytes as megabytes, for a message."""
    return f"{size / 1024 / 1024:.1f} MB"


def check_size(sheet: str | None, rows: int, columns: int) -> None:
    """Raise ``TABLE_TOO_LARGE`` for a table of more rows, or more cells, than the settings allow;
    called before a table is read wherever its size is known first."""
    if rows > environment.max_rows() or rows * columns > environment.max_cells():
        raise ReadError("TABLE_TOO_LARGE", f"{rows} × {columns}", sheet=sheet or "—", rows=rows, columns=columns,
                        max_rows=environment.max_rows(), max_cells=environment.max_cells())


def check_unpacked(rule_id: str, unpacked: int) -> None:
    """Raise ``rule_id`` (a zip bomb, a parquet file decompressing too far) when a file would unpack to more
    bytes than the settings allow."""
    if unpacked > environment.max_unzipped_bytes():
        raise ReadError(rule_id, f"{unpacked} bytes", size=mb(unpacked), limit=mb(environment.max_unzipped_bytes()))
