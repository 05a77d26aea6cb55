"""``ecostat review``: the operator's review desk (contract v3 §9).

- ``review list [--state pending] [--year Y]``: every current slice with its state, warnings and decision;
- ``review approve SLICE --as LOGIN``, ``review return SLICE --reason TEXT --as LOGIN`` and
  ``review explain SLICE --finding KEY --text TEXT --as LOGIN``: checked against the warehouse, recorded in
  the archive's decision journal (:func:`ecostat.intake.decisions.record_decision`, as the portal does), then
  applied at once under the write lock (or by the next run, if an ingest holds it).

A SLICE is ``form:unit:period``: ``petitions:360111:2024``; the form and unit by code or name.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecostat.cli.shared import (
    Subparsers,
    Usage,
    existing,
    form_code,
    format_option,
    print_frame,
    raw_option,
    unit_code,
    warehouse_option,
)

EXAMPLE = ("ecostat review list --state pending\n  ecostat review approve petitions:360111:2024 --as wangmin\n"
           "  ecostat review return enforcement:青山湖区:2024 --reason \"罚款金额与案件数不符，请核实\" --as wangmin")


def register(subparsers: Subparsers) -> None:
    """Add the ``review`` command and its subcommands."""
    help_text = "the review desk: list slices by state; approve, return or explain one"
    p = subparsers.add_parser("review", help=help_text, description=help_text, epilog=f"example:\n  {EXAMPLE}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True)
    ls = actions.add_parser("list", help="every current slice with its review state")
    warehouse_option(ls)
    ls.add_argument("--state", choices=("pending", "approved", "returned"))
    ls.add_argument("--year", type=int)
    format_option(ls)
    for name, what in (("approve", "approve a slice's current version"),
                       ("return", "return a slice's current version to its unit, with a reason"),
                       ("explain", "explain a warning of a slice's current version")):
        a = actions.add_parser(name, help=what)
        raw_option(a)
        warehouse_option(a)
        a.add_argument("slice", metavar="SLICE", help="form:unit:period, e.g. petitions:360111:2024")
        a.add_argument("--as", dest="login", required=True, metavar="LOGIN", help="the account deciding")
        a.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                       help="if an ingest holds the warehouse, wait this long to apply the decision at once")
        if name == "return":
            a.add_argument("--reason", required=True, help="why (at least 5 characters); the unit sees it")
        if name == "explain":
            a.add_argument("--finding", required=True, metavar="KEY", help="the warning's key (review list shows it)")
            a.add_argument("--text", required=True, help="the explanation: why, in words")
    p.set_defaults(run=cmd_review)


def parse_slice(text: str) -> tuple[str, str, str]:
    """``form:unit:period`` → (form code, unit code, period)."""
    parts = text.split(":")
    if len(parts) != 3:
        raise Usage(f"slice {text!r} is not form:unit:period (e.g. petitions:360111:2024) / "
                    "报表范围应写作 报表:单位:报告期")
    return form_code(parts[0]), unit_code(parts[1]), parts[2].strip()


def cmd_review(args: argparse.Namespace) -> int:
    """Run a ``review`` subcommand."""
    from ecostat.store.review import review_list
    from ecostat.store.warehouse import connect

    if args.action == "list":
        with connect(existing(args.warehouse), read_only=True) as con:
            frame = review_list(con, args.state, args.year)
            if args.action == "list" and args.format == "table" and frame.empty:
                print("没有符合条件的报表 / no slices")
                return 0
        print_frame(frame, args.format)
        return 0
    return _decide(args)


def _decide(args: argparse.Namespace) -> int:
    from ecostat.intake.decisions import Decision, DecisionRefused, accounts, record_decision
    from ecostat.store.review import current_version, decision_problem
    from ecostat.store.warehouse import connect

    form, unit, period = parse_slice(args.slice)
    raw, warehouse = args.raw.resolve(), existing(args.warehouse).resolve()
    kind = {"approve": "approval", "return": "return", "explain": "explanation"}[args.action]
    with connect(warehouse, read_only=True) as con:
        state = current_version(con, form, unit, period)
        if state is None:
            raise Usage(f"{form}:{unit}:{period} 没有现行数据 / has no current report")
        decision = Decision(kind, form, unit, period, str(state["receipt_id"]), args.login,
                            text=getattr(args, "reason", None) or getattr(args, "text", None) or "",
                            finding_key=getattr(args, "finding", None))
        why = decision_problem(con, decision, accounts(raw).get(decision.receipt_id))
    if why is not None:
        print(why, file=sys.stderr)
        return 2
    try:
        recorded = record_decision(raw, decision)
    except DecisionRefused as exc:
        print(exc, file=sys.stderr)
        return 2
    return _apply(raw, warehouse, recorded.decision_id, args.wait)


def _apply(raw: Path, warehouse: Path, decision_id: str, wait: float) -> int:
    from ecostat.contract.operator_settings import load_settings
    from ecostat.notify.review import review_step
    from ecostat.run.summary import new_run_id
    from ecostat.store.warehouse import connect
    from ecostat.store.writer import WarehouseBusy, writing

    try:
        with writing(warehouse, wait) as work, connect(work, create=True) as con:
            applied = review_step(con, raw, load_settings(raw), new_run_id())
    except WarehouseBusy:
        print("已记录；数据仓库正被写入，下一次导入时生效 / recorded: the warehouse is busy, the next run applies it")
        return 0
    mine = next((a for a in applied if a.decision.decision_id == decision_id), None)
    if mine is not None and mine.refusal is not None:
        print(f"已记录但未生效 / recorded but refused: {mine.refusal}", file=sys.stderr)
        return 2
    print(f"已生效 / applied: {decision_id}")
    return 0
