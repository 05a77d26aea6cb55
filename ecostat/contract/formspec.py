"""The building blocks of a form: its fields, row rules and cross-period rules, and the pandera
schema built from them. Each module in ``schemas/`` declares one form with these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ecostat.contract.catalogue import rules
from ecostat.contract.normalize import Period, text_key
from ecostat.contract.registry import quantity_unit, registry, tp_implied_class

# Kinds of field: how a cell is parsed, and the warehouse column type each is stored as.
NUMBER, INTEGER, PERCENT, REGISTRY, TEXT, YESNO = "number", "integer", "percent", "registry", "text", "yesno"
# free text in the checked frame: Arrow strings, missing as NaN (pandas' ``str``; pandera's "string[pyarrow]"),
# so that a big table's texts cost no Python object each
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
SQL_TYPES = {INTEGER: "BIGINT", NUMBER: "DOUBLE", PERCENT: "DOUBLE", REGISTRY: "VARCHAR", TEXT: "VARCHAR",
             YESNO: "BOOLEAN"}
NUMERIC = (INTEGER, NUMBER, PERCENT)
YES_NO_REGISTRY = "yes_no"  # the spellings of yes and no (是/否, 已完成/未完成, √/×, Y/N, 1/0), codes true/false

# The unit kinds of units.csv, for people.
KIND_ZH = {"city": "市本级（市监测中心）", "district": "区", "county": "县", "administration": "管理局"}

# Columns every form has, and the frame columns validation adds for each row.
UNIT_CODE = "district_code"
UNIT_NAME = "district"
PERIOD = "period"
ROW_COLUMNS = ("unit_code", "period", "year", "month", "period_days")


@dataclass(frozen=True)
class Field:
    """One column of a form."""

    code: str
    zh: str
    kind: str
    required: bool = True
    quantity: str | None = None  # which header units convert it (schemas/registries/header_units.csv)
    registry: str | None = None
    min: float | None = None
    min_exclusive: bool = False
    max: float | None = None
    max_exclusive: bool = False
    summed: bool = False  # a totals row must equal the sum of this column (it adds up across units)
    aliases: tuple[str, ...] = ()
    since: str | None = None  # a field added later: required from this period on (2025, 2025-06), not before
    was: tuple[str, ...] = ()  # former codes; the rename itself is a step in warehouse/migrations/

    @property
    def keys(self) -> set[str]:
        """Header spellings that name this field, reduced by :func:`text_key` (former codes too)."""
        return {text_key(w) for w in (self.code, self.zh, *self.aliases, *self.was)}

    @property
    def unit(self) -> str | None:
        """The contract's unit of the field (values are stored in it), None for counts and text."""
        return quantity_unit(self.quantity) if self.quantity and self.quantity != "count" else None

    @property
    def header(self) -> str:
        """The Chinese header, with its unit when it has one."""
        return f"{self.zh}({self.unit})" if self.unit else self.zh

    @property
    def sql_type(self) -> str:
        """The warehouse column type."""
        return SQL_TYPES[self.kind]

    @property
    def range_text(self) -> str:
        """The allowed range for people: ``> 0，≤ 500`` (empty without bounds)."""
        low = None if self.min is None else f"{'>' if self.min_exclusive else '≥'} {self.min:g}"
        high = None if self.max is None else f"{'<' if self.max_exclusive else '≤'} {self.max:g}"
        return "，".join(t for t in (low, high) if t)

    @property
    def required_text(self) -> str:
        """必填, 选填, or 自 2025 起必填 for a field added later."""
        if not self.required:
            return "选填"
        return f"自 {self.since} 起必填" if self.since else "必填"


def count(code: str, zh: str, *, required: bool = True, summed: bool = True,
          quantity: str = "count", **kw: object) -> Field:
    """A whole-number count (≥ 0 unless told otherwise)."""
    kw.setdefault("min", 0)
    return Field(code, zh, INTEGER, required=required, quantity=quantity, summed=summed, **kw)  # type: ignore[arg-type]


def measure(code: str, zh: str, quantity: str, *, required: bool = True, **kw: object) -> Field:
    """A measured quantity in the contract's unit."""
    return Field(code, zh, NUMBER, required=required, quantity=quantity, **kw)  # type: ignore[arg-type]


def percent(code: str, zh: str, *, required: bool = False) -> Field:
    """A percentage 0–100 (a ``%`` sign in the cell is allowed)."""
    return Field(code, zh, PERCENT, required=required, quantity="percent", min=0, max=100)


def choice(code: str, zh: str, registry_name: str, *, required: bool = True, aliases: tuple[str, ...] = ()) -> Field:
    """A value from a registry in ``schemas/registries``."""
    return Field(code, zh, REGISTRY, required=required, registry=registry_name, aliases=aliases)


def text(code: str, zh: str, *, required: bool = False) -> Field:
    """Free text."""
    return Field(code, zh, TEXT, required=required)


def yes_no(code: str, zh: str, *, required: bool = True) -> Field:
    """Yes or no, in any spelling of ``schemas/registries/yes_no.csv``; stored as a boolean."""
    return Field(code, zh, YESNO, required=required, registry=YES_NO_REGISTRY)


@dataclass(frozen=True)
class RowRule:
    """A rule over several columns of one row, checked by pandera as a dataframe check.

    ``ok(frame)`` is True where the row passes (rows with a missing operand pass);
    ``params(row)`` gives the message parameters for a failing row; ``column`` is the cell
    the finding points at.
    """

    rule_id: str
    column: str
    ok: Callable[[pd.DataFrame], pd.Series]
    params: Callable[[pd.Series], dict[str, object]]
    text: str = ""  # the rule for people, fields as {code} (the templates' instructions show it)


def _given(df: pd.DataFrame, *cols: str) -> pd.Series:
    mask = pd.Series(True, index=df.index)
    for c in cols:
        mask &= df[c].notna()
    return mask


def not_above(a: str, b: str) -> RowRule:
    """``a ≤ b`` (e.g. completed ≤ required)."""
    return RowRule("ROW_NOT_ABOVE", a, lambda df: ~_given(df, a, b) | (df[a] <= df[b] + 1e-9),
                   lambda r: {"other": b, "other_value": r[b]}, f"{{{a}}} ≤ {{{b}}}")


def not_below(a: str, b: str) -> RowRule:
    """``a ≥ b`` (e.g. pm10 ≥ pm25)."""
    return RowRule("ROW_NOT_BELOW", a, lambda df: ~_given(df, a, b) | (df[a] >= df[b] - 1e-9),
                   lambda r: {"other": b, "other_value": r[b]}, f"{{{a}}} ≥ {{{b}}}")


def rate(col: str, numerator: str, denominator: str, tolerance: float = 0.05) -> RowRule:
    """``col = numerator / denominator × 100`` within ``tolerance`` percentage points."""

    def ok(df: pd.DataFrame) -> pd.Series:
        given = _given(df, col, numerator, denominator) & (df[denominator] != 0)
        expected = df[numerator] / df[denominator].where(given) * 100
        return ~given | ((df[col] - expected).abs() <= tolerance + 1e-9)

    return RowRule("ROW_RATE", col, ok, lambda r: {
        "numerator": numerator, "denominator": denominator,
        "expected": round(r[numerator] / r[denominator] * 100, 2)},
        f"{{{col}}} = {{{numerator}}} ÷ {{{denominator}}} × 100（允许误差 {tolerance}）")


def parts_sum(total: str, parts: tuple[str, ...]) -> RowRule:
    """``sum(parts) = total`` where every part is given."""

    def ok(df: pd.DataFrame) -> pd.Series:
        given = _given(df, total, *parts)
        return ~given | ((df[list(parts)].sum(axis=1) - df[total]).abs() < 1e-9)

    return RowRule("ROW_PARTS_SUM", total, ok, lambda r: {
        "parts": list(parts), "expected": float(sum(r[p] for p in parts))},
        " + ".join(f"{{{p}}}" for p in parts) + f" = {{{total}}}（各分项都填写时）")


def amount_needs_cases(amount: str, cases: str) -> RowRule:
    """An amount > 0 needs at least one case."""
    return RowRule("ROW_AMOUNT_NEEDS_CASES", amount,
                   lambda df: ~_given(df, amount, cases) | (df[amount] <= 0) | (df[cases] >= 1),
                   lambda r: {"other": cases, "other_value": r[cases]},
                   f"{{{amount}}} > 0 时 {{{cases}}} ≥ 1")


def positive_together(a: str, b: str) -> RowRule:
    """``a > 0`` exactly when ``b > 0`` (e.g. units that had sources collected, and sources collected)."""
    return RowRule("ROW_POSITIVE_TOGETHER", a,
                   lambda df: ~_given(df, a, b) | ((df[a] > 0) == (df[b] > 0)),
                   lambda r: {"other": b, "other_value": r[b]}, f"{{{a}}} > 0 当且仅当 {{{b}}} > 0")


def days_in_period(col: str) -> RowRule:
    """A day count may not exceed the days from 1 January to the end of the row's period."""
    return RowRule("ROW_DAYS_IN_PERIOD", col,
                   lambda df: ~_given(df, col, "period_days") | (df[col] <= df["period_days"]),
                   lambda r: {"limit": int(r["period_days"]), "period": r["period"]},
                   f"{{{col}}} ≤ 1 月 1 日至报告期末的天数")


def class_vs_tp(class_col: str, tp_col: str, type_col: str) -> RowRule:
    """GB 3838-2002 single factor: the stated class is not better than total phosphorus implies."""

    def implied(df: pd.DataFrame) -> pd.Series:
        given = _given(df, class_col, tp_col, type_col)
        return pd.Series([tp_implied_class(t, p) if g else None
                          for g, t, p in zip(given, df[type_col], df[tp_col], strict=True)],
                         index=df.index, dtype="float64")

    def ok(df: pd.DataFrame) -> pd.Series:
        exp = implied(df)
        return exp.isna() | (df[class_col].astype("float64") >= exp)

    def params(r: pd.Series) -> dict[str, object]:
        classes = registry("water_classes")
        return {"other": tp_col, "other_value": r[tp_col],
                "expected": classes.by_code(str(tp_implied_class(r[type_col], r[tp_col]))).name,
                "water_type": registry("water_types").by_code(r[type_col]).name,
                "shown_value": classes.by_code(str(int(r[class_col]))).name}

    return RowRule("ROW_CLASS_VS_TP", class_col, ok, params,
                   f"{{{class_col}}} 不得优于 {{{tp_col}}} 按 GB 3838-2002（按{{{type_col}}}）对应的类别")


@dataclass(frozen=True)
class PeriodRule:
    """A rule against what the warehouse already holds for the same unit (see ecostat.check.crossperiod)."""

    rule_id: str
    column: str
    other: str | None = None


def no_fall(col: str, *, warning: bool = False) -> PeriodRule:
    """A cumulative count may not fall from one period to the next."""
    return PeriodRule("PERIOD_FALL_WARNING" if warning else "PERIOD_FALL", col)


def cumulative_chain(cumulative: str, new: str) -> PeriodRule:
    """Annual ``cumulative`` of Y = annual ``cumulative`` of Y−1 + ``new`` of Y."""
    return PeriodRule("PERIOD_CUMULATIVE_CHAIN", cumulative, new)


@dataclass(frozen=True)
class Form:
    """A form of the contract: its fields, key, rules and pandera schema."""

    code: str
    zh: str
    fields: tuple[Field, ...]
    section: str = ""  # the contract's section (4.1), which orders the forms
    key: tuple[str, ...] = ()
    row_rules: tuple[RowRule, ...] = ()
    period_rules: tuple[PeriodRule, ...] = ()
    unique_per_period: tuple[str, ...] | None = None  # default: unit + key
    submitters: tuple[str, ...] | None = None  # the unit kinds (units.csv) that may submit it; None: any unit
    owned_code: str | None = None  # a code field owned by one unit per year, by the register named below
    code_register: str | None = None  # schemas/registries/<name>.csv: each owned code's owner unit per year
    schema: pa.DataFrameSchema = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schema", build_schema(self))

    @property
    def table(self) -> str:
        """The warehouse fact table."""
        return f"fact_{self.code}"

    def field(self, code: str) -> Field:
        """A field by code."""
        return next(f for f in self.fields if f.code == code)

    def rule_texts(self) -> list[tuple[str, str, str]]:
        """Every row and cross-period rule for people: (规则 or 跨期规则, rule id, the rule with Chinese names)."""
        names = {f.code: f.zh for f in self.fields}
        out = [("规则", r.rule_id, r.text.format_map(names)) for r in self.row_rules]
        for pr in self.period_rules:
            if pr.other:
                text = f"{names[pr.column]} = 上年{names[pr.column]} + 本年{names[pr.other]}"
            elif rules()[pr.rule_id].severity == "warning":
                text = f"{names[pr.column]}低于上期已报值时提示核实"
            else:
                text = f"{names[pr.column]}不得低于上期已报值"
            out.append(("跨期规则", pr.rule_id, text))
        if self.owned_code:
            code = names[self.owned_code]
            out.append(("编码登记", "AUTH_CODE",
                        f"{code}按年度登记归属单位，不能报送已登记给其他单位的{code}（市本级除外）"))
            out.append(("编码登记", "CODE_UNREGISTERED", f"未登记的{code}照常接收，但须说明"))
        if self.submitters is not None:
            kinds = "、".join(KIND_ZH.get(k, k) for k in self.submitters)
            out.append(("报送单位", "AUTH_FORM", f"本表仅由{kinds}报送"))
        return out

    @property
    def unique_columns(self) -> list[str]:
        """The columns that identify a row within one period."""
        if self.unique_per_period is not None:
            return ["period", *self.unique_per_period]
        return ["unit_code", "period", *self.key]


def _given_since(f: Field) -> Callable[[pd.DataFrame], pd.Series]:
    """A field added later is given in every row of a period from its ``since`` on."""
    since = Period.from_label(str(f.since)).order

    def ok(df: pd.DataFrame) -> pd.Series:
        order = df["year"].astype("float64") * 100 + df["month"].astype("float64").fillna(13)
        return df[f.code].notna() | ~(order >= since)

    return ok


def check_key(rule_id: str, column: str) -> str:
    """The ``error`` string given to a pandera check, read back by validation."""
    return f"{rule_id}|{column}"


def build_schema(form: Form) -> pa.DataFrameSchema:
    """The pandera schema of a form over its normalised frame (index = source row number)."""
    columns: dict[str, pa.Column] = {}
    for f in form.fields:
        checks = []
        if f.min is not None:
            rid = "VALUE_MIN_EXCLUSIVE" if f.min_exclusive else "VALUE_MIN"
            low = pa.Check.gt if f.min_exclusive else pa.Check.ge
            checks.append(low(f.min, error=check_key(rid, f.code)))
        if f.max is not None:
            rid = "VALUE_MAX_EXCLUSIVE" if f.max_exclusive else "VALUE_MAX"
            high = pa.Check.lt if f.max_exclusive else pa.Check.le
            checks.append(high(f.max, error=check_key(rid, f.code)))
        dtype = "float64" if f.kind in NUMERIC else TEXT_DTYPE if f.kind == TEXT else object
        columns[f.code] = pa.Column(dtype, checks=checks, nullable=not f.required or f.since is not None,
                                    required=False, title=f.zh)
    frame_checks = [pa.Check(r.ok, error=check_key(r.rule_id, f"#{i}"))
                    for i, r in enumerate(form.row_rules)]
    frame_checks += [pa.Check(_given_since(f), error=check_key("CELL_REQUIRED_SINCE", f.code))
                     for f in form.fields if f.required and f.since is not None]
    return pa.DataFrameSchema(columns, checks=frame_checks, unique=form.unique_columns,
                              report_duplicates="exclude_first", name=form.code, strict=False)
