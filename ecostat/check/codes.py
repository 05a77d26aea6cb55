"""Code ownership by register (contract v3 §4.2 and §4.8, amended): section and drinking-water source codes
are registered with their owner unit per year, as data the bureau keeps (``schemas/registries/``). A row for
a code registered to another unit in the row's year is an error (``AUTH_CODE``) unless the city (360100)
sent it; a code not registered for that year loads with a warning that needs an explanation
(``CODE_UNREGISTERED``, §8). Ownership is the register's, not the warehouse's: whatever another unit sent
first, and whatever the period (an annual and a monthly report of one year are the same year), no unit can
make another unit's report fail by listing its codes."""

from __future__ import annotations

from pandas.api.types import is_bool_dtype, is_integer_dtype, is_object_dtype, is_string_dtype

from ecostat.check.types import CheckedTable
from ecostat.contract.registry import CITY, code_register

CHUNK_ROWS = 50_000


def check_code_register(table: CheckedTable, submitter: str | None) -> None:
    """Add ``AUTH_CODE`` and ``CODE_UNREGISTERED`` findings to a checked table of ``submitter``'s (a chunk of
    rows at a time, each chunk's codes looked up in the register together: :meth:`CodeRegister.owners_of`)."""
    form, frame = table.form, table.frame
    code = form.owned_code if form is not None else None
    if form is None or code is None or form.code_register is None or frame is None or code not in table.columns:
        return
    register = code_register(form.code_register)
    for start in range(0, len(frame), CHUNK_ROWS):  # a big table's cells as Python objects a chunk at a time
        part = frame.iloc[start:start + CHUNK_ROWS]
        values, years = part[code], part["year"]
        # no code or no period: their own findings say so
        given = (values.notna() if is_string_dtype(values.dtype) and not is_object_dtype(values.dtype)
                 else values.map(lambda v: isinstance(v, str))).to_numpy(dtype=bool)
        dated = (years.notna() if is_integer_dtype(years.dtype) and not is_bool_dtype(years.dtype)
                 else years.map(lambda y: isinstance(y, int))).to_numpy(dtype=bool)
        rows, units = part.index[given & dated], part["unit_code"][given & dated].tolist()
        codes = [v.strip() for v in values[given & dated].tolist()]
        dates = years[given & dated].tolist()
        owners = register.owners_of(codes, dates)
        for row, unit, year, text, owner in zip(rows.tolist(), units, dates, codes, owners, strict=True):
            if not text:
                continue
            if owner is None:
                table.add("CODE_UNREGISTERED", int(row), code, value=table.written(int(row), code), year=year)
            elif isinstance(unit, str) and owner != unit and submitter != CITY:
                table.add("AUTH_CODE", int(row), code, value=table.written(int(row), code), year=year, owner=owner,
                          unit=unit)
