"""The annual figures as data: ``schemas/figures.csv`` gives each figure its names and units and how it is
computed from the final reports, by kind (one generic aggregate per kind, ``warehouse/mart_figure_values.sql``,
over each figure's rows of its form's final reports, ``mart_figure_rows``: :func:`figure_rows_view`):

- ``sum``: Σ field; ``ratio``: Σ field ÷ Σ denominator × 100 (never an average of percentages);
  ``reduction``: (1 − Σ field ÷ Σ denominator) × 100 (a cut against a base, e.g. emissions);
- ``value``: the unit's own value (scope ``unit``); ``mean``: the mean of field over the rows;
- ``count``: the number of rows meeting ``filter``; ``share``: rows meeting ``filter`` among the rows
  meeting ``base``, × 100;
- ``sql``: ``warehouse/figures/<figure>.sql``, a query returning (year, scope, dimension, value).

``scale`` multiplies the value (``0.0001``: a sum in 万元 stated in 亿元); ``by`` names the field whose code is
the figure's dimension; ``filter`` and ``base`` are conditions
``field=code|code&field=code`` (a registry field's codes, ``true``/``false`` for a yes/no field, or numbers).
``scope``: ``all`` — the city (the unit of kind ``city`` in ``units.csv``) over every unit's rows, and each
other unit alone; ``unit`` — each unit alone (the city's figure is the city unit's own); ``city`` — the city
only.

:func:`problems` checks every definition against the forms, and the other data files that name fields
or figures (``plausibility.csv``, ``figure_pairs.csv``, ``report_obligations.csv``) likewise.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ecostat.contract.formspec import NUMERIC, PERCENT, Form
from ecostat.contract.registry import registry
from ecostat.store import formsql

ROOT = Path(__file__).resolve().parents[2]
FIGURES_FILE = ROOT / "schemas" / "figures.csv"
FIGURE_SQL_DIR = ROOT / "warehouse" / "figures"
KINDS = ("sum", "ratio", "reduction", "value", "mean", "count", "share", "sql")
TWO_FIELDS = ("ratio", "reduction")  # kinds of Σ field over Σ denominator
SCOPES = ("all", "unit", "city")
FIGURE_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass(frozen=True)
class Condition:
    """A row meets it when its ``field`` holds one of ``values`` (registry codes, text or numbers)."""

    field: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.field}={'|'.join(self.values)}"


@dataclass(frozen=True)
class Figure:
    """One annual figure's definition (a row of ``figures.csv``)."""

    figure: str
    name_zh: str
    unit: str
    change_unit: str
    kind: str
    form: str = ""
    field: str = ""
    denominator: str = ""
    by: str = ""
    filter: tuple[Condition, ...] = ()
    base: tuple[Condition, ...] = ()
    scope: str = "all"
    scale: float = 1.0

    @property
    def sql_file(self) -> Path:
        """Where a figure of kind ``sql`` is defined."""
        return FIGURE_SQL_DIR / f"{self.figure}.sql"


def parse_conditions(text: str) -> tuple[Condition, ...]:
    """``level=national&water_class=1|2|3`` → two conditions (empty text: none)."""
    out = []
    for part in filter(None, (p.strip() for p in text.split("&"))):
        field, eq, values = part.partition("=")
        if not eq or not field.strip() or not values.strip():
            raise ValueError(f"condition {part!r} is not field=value|value")
        out.append(Condition(field.strip(), tuple(v.strip() for v in values.split("|"))))
    return tuple(out)


def read_figures(path: Path | None = None) -> list[Figure]:
    """The figure definitions of a figures file (default ``schemas/figures.csv``), in its order."""
    with open(path or FIGURES_FILE, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        fields = {k: (v or "").strip() for k, v in r.items() if k is not None}
        out.append(Figure(
            fields["figure"], fields["name_zh"], fields["unit"], fields["change_unit"], fields.get("kind", ""),
            fields.get("form", ""), fields.get("field", ""), fields.get("denominator", ""), fields.get("by", ""),
            parse_conditions(fields.get("filter", "")), parse_conditions(fields.get("base", "")),
            fields.get("scope") or "all", float(fields.get("scale") or 1)))
    return out


@cache
def figures() -> tuple[Figure, ...]:
    """The figures of ``schemas/figures.csv``."""
    return tuple(read_figures())


def _field_problem(fig: Figure, form: Form, code: str, role: str, *, additive: bool) -> str | None:
    names = {f.code: f for f in form.fields}
    f = names.get(code)
    if f is None:
        renamed = next((g.code for g in form.fields if code in g.was), None)
        hint = f" (renamed to {renamed})" if renamed else ""
        return f"{fig.figure}: {role} {code!r} is not a field of form {form.code}{hint}"
    if f.kind not in NUMERIC:
        return f"{fig.figure}: {role} {form.code}.{code} is not numeric ({f.kind})"
    if additive and f.kind == PERCENT:
        return f"{fig.figure}: {role} {form.code}.{code} is a percentage: percentages are never summed"
    if additive and fig.scope != "unit" and not f.summed:
        return f"{fig.figure}: {role} {form.code}.{code} does not add up across units (summed=False)"
    return None


def _condition_problems(fig: Figure, form: Form, conditions: tuple[Condition, ...], role: str) -> list[str]:
    out = []
    names = {f.code: f for f in form.fields}
    for c in conditions:
        f = names.get(c.field)
        if f is None:
            out.append(f"{fig.figure}: {role} field {c.field!r} is not a field of form {form.code}")
            continue
        for v in c.values:
            if f.registry and v not in {e.code for e in registry(f.registry).entries}:
                out.append(f"{fig.figure}: {role} {c.field}={v}: {v!r} is not a code of registry {f.registry}")
            elif f.kind in NUMERIC:
                try:
                    float(v)
                except ValueError:
                    out.append(f"{fig.figure}: {role} {c.field}={v}: {v!r} is not a number")
    return out


def figure_problems(defs: list[Figure] | tuple[Figure, ...], forms: dict[str, Form]) -> list[str]:
    """Everything wrong with a set of figure definitions: each figure defined once, by a known kind,
    over fields that exist and suit the kind; each ``sql`` figure's file present, and no stray file."""
    out: list[str] = []
    seen: set[str] = set()
    for fig in defs:
        if fig.figure in seen:
            out.append(f"{fig.figure}: defined more than once")
        seen.add(fig.figure)
        if not FIGURE_CODE.match(fig.figure):
            out.append(f"{fig.figure}: a figure code is lower-case words joined by dots")
        if not (fig.name_zh and fig.unit):
            out.append(f"{fig.figure}: name_zh and unit are required")
        if fig.change_unit not in ("%", "pp", fig.unit):
            out.append(f"{fig.figure}: change_unit {fig.change_unit!r} is %, pp or the figure's unit {fig.unit}")
        if fig.scope not in SCOPES:
            out.append(f"{fig.figure}: scope {fig.scope!r} is not one of {', '.join(SCOPES)}")
        if fig.kind not in KINDS:
            out.append(f"{fig.figure}: kind {fig.kind!r} is not one of {', '.join(KINDS)}")
            continue
        if fig.kind == "sql":
            if fig.form or fig.field or fig.denominator or fig.by or fig.filter or fig.base:
                out.append(f"{fig.figure}: a sql figure is defined by {fig.sql_file.name} alone")
            if not fig.sql_file.is_file():
                out.append(f"{fig.figure}: kind sql needs warehouse/figures/{fig.figure}.sql")
            continue
        form = forms.get(fig.form)
        if form is None:
            out.append(f"{fig.figure}: form {fig.form!r} does not exist")
            continue
        takes_field = fig.kind in ("sum", *TWO_FIELDS, "value", "mean")
        if takes_field:
            problem = _field_problem(fig, form, fig.field, "field", additive=fig.kind in ("sum", *TWO_FIELDS))
            out += [problem] if problem else []
        elif fig.field:
            out.append(f"{fig.figure}: kind {fig.kind} counts rows and takes no field")
        if fig.kind in TWO_FIELDS:
            problem = _field_problem(fig, form, fig.denominator, "denominator", additive=True)
            out += [problem] if problem else []
        elif fig.denominator:
            out.append(f"{fig.figure}: only a ratio or a reduction has a denominator")
        if not fig.scale > 0:
            out.append(f"{fig.figure}: scale {fig.scale:g} is not a positive factor")
        if fig.kind == "value" and fig.scope != "unit":
            out.append(f"{fig.figure}: a value is each unit's own (scope unit)")
        if fig.kind == "share" and not fig.filter:
            out.append(f"{fig.figure}: a share needs a filter (the rows it counts)")
        if fig.base and fig.kind != "share":
            out.append(f"{fig.figure}: only a share has a base")
        if fig.by:
            f = next((g for g in form.fields if g.code == fig.by), None)
            if f is None or f.kind in NUMERIC:
                out.append(f"{fig.figure}: by {fig.by!r} is not a registry or text field of form {form.code}")
        out += _condition_problems(fig, form, fig.filter, "filter")
        out += _condition_problems(fig, form, fig.base, "base")
    sql_figures = {f.figure for f in defs if f.kind == "sql"}
    for path in sorted(FIGURE_SQL_DIR.glob("*.sql")) if FIGURE_SQL_DIR.is_dir() else []:
        if path.stem not in sql_figures:
            out.append(f"warehouse/figures/{path.name}: no figure of kind sql named {path.stem}")
    return out


def reference_problems(defs: list[Figure] | tuple[Figure, ...], forms: dict[str, Form]) -> list[str]:
    """Fields and figures named by the other data files that do not exist (or are not numeric)."""
    out: list[str] = []
    for e in registry("plausibility").entries:
        form_code, _, code = e.code.partition(".")
        form = forms.get(form_code)
        f = next((g for g in form.fields if g.code == code), None) if form else None
        if f is None or f.kind not in NUMERIC:
            out.append(f"plausibility.csv {e.code}: not a numeric field of a form")
    names = {f.figure for f in defs}
    for e in registry("figure_pairs").entries:
        for role in ("larger", "smaller"):
            if e.get(role) not in names:
                out.append(f"figure_pairs.csv {e.code}: {role} {e.get(role)!r} is not a figure")
    for e in registry("report_obligations").entries:
        if e.code not in forms:
            out.append(f"report_obligations.csv {e.code}: not a form")
    return out


def _conditions(form: Form, conditions: tuple[Condition, ...]) -> list[dict[str, object]]:
    """Conditions as the catalogue stores them: codes for registry and text fields, numbers otherwise."""
    kinds = {f.code: f.kind for f in form.fields}
    return [{"field": c.field,
             "codes": [] if kinds[c.field] in NUMERIC else list(c.values),
             "numbers": [float(v) for v in c.values] if kinds[c.field] in NUMERIC else []}
            for c in conditions]


def catalogue_rows(defs: list[Figure] | tuple[Figure, ...], forms: dict[str, Form]) -> list[list[object]]:
    """The rows of ``meta_figure_catalogue``, in the order of the figures file."""
    rows: list[list[object]] = []
    for f in defs:
        form = forms.get(f.form)
        rows.append([f.figure, f.name_zh, f.unit, f.change_unit, f.kind, f.form or None, f.field or None,
                     f.denominator or None, f.by or None,
                     _conditions(form, f.filter) if form else [], _conditions(form, f.base) if form else [],
                     f.scope, len(rows) + 1, f.scale])
    return rows


def sql_figures_view(defs: list[Figure] | tuple[Figure, ...]) -> str:
    """``mart_sql_figures``: the figures of kind ``sql``, each file's (year, scope, dimension, value)."""
    arms = [f"SELECT year::INTEGER AS year, scope::VARCHAR AS scope, '{f.figure}' AS figure, "
            f"dimension::VARCHAR AS dimension, value::DOUBLE AS value FROM (\n"
            f"{f.sql_file.read_text(encoding='utf-8').strip().rstrip(';')}\n)"
            for f in defs if f.kind == "sql"]
    if not arms:
        arms = ["SELECT NULL::INTEGER AS year, NULL::VARCHAR AS scope, NULL::VARCHAR AS figure, "
                "NULL::VARCHAR AS dimension, NULL::DOUBLE AS value WHERE false"]
    return ("-- The figures of kind sql (warehouse/figures/<figure>.sql), unrounded.\n"
            "CREATE OR REPLACE VIEW mart_sql_figures AS\n" + "\nUNION ALL\n".join(arms) + ";")


def _met(form: Form, conditions: tuple[Condition, ...], role: str) -> str:
    """Whether a final row ``f`` meets every condition (true for none), each condition's codes or numbers read
    from the figure's catalogue row ``c`` (never spliced): a value the field does not hold meets nothing."""
    kinds = {f.code: f.kind for f in form.fields}
    met = [f'coalesce(list_contains(c.{role}[{i}].numbers, f."{k.field}"::DOUBLE), false)' if kinds[k.field] in NUMERIC
           else f'coalesce(list_contains(c.{role}[{i}].codes, f."{k.field}"::VARCHAR), false)'
           for i, k in enumerate(conditions, 1)]
    return " AND ".join(met) or "true"


def figure_rows_view(defs: list[Figure] | tuple[Figure, ...], forms: dict[str, Form]) -> str:
    """``mart_figure_rows``: for every figure not of kind ``sql``, one row per row of its form's final reports:
    year, unit, dimension (the ``by`` field's code), numerator (``field``) and denominator as numbers, and
    whether the row meets the figure's ``filter`` and ``base``; what ``mart_figure_values`` aggregates by kind.
    Each figure reads its form's wide rows once (figure codes and field codes are checked identifiers)."""
    used = [f for f in defs if f.kind != "sql"]
    ctes = [formsql.final_rows(forms[code]) for code in dict.fromkeys(f.form for f in used)]
    arms = []
    for fig in used:
        form = forms[fig.form]
        dimension = f'f."{fig.by}"::VARCHAR' if fig.by else "NULL::VARCHAR"
        num = f'f."{fig.field}"::DOUBLE' if fig.field else "NULL::DOUBLE"
        den = f'f."{fig.denominator}"::DOUBLE' if fig.denominator else "NULL::DOUBLE"
        code = formsql.sql_literal(fig.figure)
        arms.append(f"SELECT {code} AS figure, f.year, f.unit_code, {dimension} AS dimension, {num} AS num, "
                    f"{den} AS den,\n       {_met(form, fig.filter, 'filter')} AS in_filter, "
                    f"{_met(form, fig.base, 'base')} AS in_base\n"
                    f'FROM "final_{form.code}" f, (SELECT filter, base FROM meta_figure_catalogue '
                    f"WHERE figure = {code}) c")
    if not arms:
        arms = ["SELECT NULL::VARCHAR AS figure, NULL::INTEGER AS year, NULL::VARCHAR AS unit_code, "
                "NULL::VARCHAR AS dimension, NULL::DOUBLE AS num, NULL::DOUBLE AS den, false AS in_filter, "
                "false AS in_base WHERE false"]
    with_ctes = "WITH\n" + ",\n".join(ctes) + "\n" if ctes else ""
    return ("-- Every figure (not of kind sql) with each row of its form's final reports: dimension, numerator,\n"
            "-- denominator, and whether the row meets the figure's filter and base (meta_figure_catalogue).\n"
            "CREATE OR REPLACE VIEW mart_figure_rows AS\n" + with_ctes + "\nUNION ALL\n".join(arms) + ";")
