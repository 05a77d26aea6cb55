"""Every hostile file at once: the shipped samples plus every hostile file and name of the hostile-unit
reviews in one inbox, through one ``ecostat ingest`` in a child process.
``python -m benchmarks.hostile [--prefect] [--out FILE]`` prints the run's wall time and peak RSS (through
:mod:`benchmarks.child`) and checks the outcome: every sample table as in a clean run of the samples, every
hostile file rejected (content attacks with one finding each), hostile names received under a safe name,
uploads in progress left alone.

The attack files are made by :func:`plant` (the first review's corpus) and :func:`plant_17` (the second's: the
comment attack on the sheet XML scan, control characters in a sheet name, a cell and a footer, squatting on
another unit's source codes in an annual and a monthly table, a hundred back-dated files of one unit, a 0xFF
line in every journal, far cells, an ODS named .xlsx, a repeated header, a Windows-1252 CSV);
``tests/test_hostile_run.py`` runs the first corpus at a smaller size through the plain path.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter
import xlwt

ROOT = Path(__file__).resolve().parent.parent
OUTFALL_HEADER: list[object] = ["区县代码", "报告期", "所属水体", "需整治排口数", "已完成整治数"]
BAD_OUTFALL: list[object] = ["360102", "2024", "赣江", 10, 99]  # completed above required: rejected, never loaded
SECTIONS_HEADER: list[object] = ["区县代码", "报告期", "断面编码", "断面名称", "所在水体", "水体类型", "断面级别",
                                 "水质类别", "总磷"]
UPLOADS = [".东湖.csv.Ab12Cd", "报表.xlsx.filepart", "a.csv.part", "~$报表.xlsx"]


@dataclass(frozen=True)
class Sizes:
    """How big the resource attacks are (the issue's sizes by default; smaller for the test)."""

    bomb_rows: int = 50_000_000  # a 330 KB Parquet of one value
    styled_rows: int = 160_000  # per sheet, four sheets: ~19 MB, under the 20 MB file limit
    wide_columns: int = 100_000  # a 200 KB header-less line of 1,1,1…
    parquet_columns: int = 10_000
    comment_bytes: int = 100_000  # <c <c <c… inside an XML comment: 67 s of scan at 100 KB before the linear scan
    flood_files: int = 100  # one unit's back-dated files


@dataclass(frozen=True)
class Expect:
    """What must become of one planted file (its path under the inbox as ecostat shows it)."""

    file: str
    rules: tuple[str, ...]  # the rule of each finding, for a rejected file with one finding per table
    accepted: bool = False


def parquet_bomb(path: Path, rows: int) -> Path:
    """One value repeated ``rows`` times: a few hundred KB on disk (dictionary and run-length encoded),
    gigabytes once read into rows. Written a row group at a time, so making it costs little memory."""
    group = pa.table({"区县代码": pa.array(["360102"] * min(rows, 5_000_000))})
    with pq.ParquetWriter(path, group.schema) as writer:
        for _ in range(max(1, rows // group.num_rows)):
            writer.write_table(group)
    return path


def styled_empty_rows(path: Path, rows: int, table: list[list[object]], sheets: int = 4, width: int = 12) -> Path:
    """An xlsx whose sheets hold ``table`` and then ``rows`` rows of styled empty cells (as a whole-sheet
    format applied cell by cell leaves them), written as XML directly."""
    cells = "".join(f'<c r="{chr(65 + j)}{{r}}" s="1"/>' for j in range(width))
    ns = "http://schemas.openxmlformats.org"
    rel = f"{ns}/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{ns}/package/2006/content-types"><Default '
        'Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
        'Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
        'styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="application/vnd.openxmlformats-'
                  'officedocument.spreadsheetml.worksheet+xml"/>' for k in range(1, sheets + 1)) + "</Types>",
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship '
        f'Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{rel}">'
        "<sheets>" + "".join(f'<sheet name="表{k}" sheetId="{k}" r:id="rId{k}"/>' for k in range(1, sheets + 1))
        + "</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships">'
        + "".join(f'<Relationship Id="rId{k}" Type="{rel}/worksheet" Target="worksheets/sheet{k}.xml"/>'
                  for k in range(1, sheets + 1))
        + f'<Relationship Id="rId{sheets + 1}" Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<?xml version="1.0"?><styleSheet xmlns="{ns}/spreadsheetml/2006/main"><fonts count="2">'
        '<font/><font><b/></font></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0"/><xf numFmtId="0" fontId="1" applyFont="1"/></cellXfs>'
        "</styleSheet>",
    }
    head = "".join(f'<row r="{r}">' + "".join(f'<c r="{chr(65 + j)}{r}" t="inlineStr"><is><t>{v}</t></is></c>'
                                              for j, v in enumerate(line)) + "</row>"
                   for r, line in enumerate(table, 1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
        for k in range(1, sheets + 1):
            with zf.open(f"xl/worksheets/sheet{k}.xml", "w") as fh:
                fh.write(f'<?xml version="1.0"?><worksheet xmlns="{ns}/spreadsheetml/2006/main"><dimension '
                         f'ref="A1:{chr(64 + width)}{rows + len(table)}"/><sheetData>{head}'.encode())
                for r in range(len(table) + 1, rows + len(table) + 1):
                    fh.write(f'<row r="{r}">{cells.format(r=r)}</row>'.encode())
                fh.write(b"</sheetData></worksheet>")
    return path


def far_cell_xlsx(path: Path) -> Path:
    """One cell at XFD1048576 and no <dimension>: calamine would ask for the whole grid (512 GiB)."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    sheet = book.add_worksheet()
    sheet.write(0, 0, "区县代码")
    sheet.write(1048575, 16383, 1)
    book.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name.startswith("xl/worksheets/"):
                data = re.sub(rb"<dimension[^>]*/>", b"", data)
            zout.writestr(name, data)
    return path


def far_cell_xls(path: Path, sheets: int = 3) -> Path:
    """One cell at IV65536 per sheet: xlrd would allocate every row of every sheet."""
    book = xlwt.Workbook()
    for k in range(sheets):
        sheet = book.add_sheet(f"s{k}")
        sheet.write(0, 0, "区县代码")
        sheet.write(65535, 255, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


def ods_named_xlsx(path: Path) -> Path:
    """An OpenDocument spreadsheet named .xlsx: refused naming what it is (FILE_TYPE)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
                                   'office:1.0"><office:body><office:spreadsheet/></office:body>'
                                   "</office:document-content>")
    return path


def _csv(path: Path, rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(",".join(str(c) for c in r) + "\n" for r in rows), encoding="utf-8")


def plant(inbox: Path, outside: Path, sizes: Sizes) -> list[Expect]:
    """Put every attack of the first review into ``inbox`` (``outside``: a folder beside it, holding what the links
    point at); returns what must become of each file."""
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.csv"
    _csv(secret, [OUTFALL_HEADER, ["360104", "2024", "赣江", 777, 1]])
    unit = inbox / "360104"
    unit.mkdir(parents=True, exist_ok=True)
    (unit / "secret-link.csv").symlink_to(secret)
    (unit / "folder-link").symlink_to(outside, target_is_directory=True)
    os.mkfifo(unit / "pipe.csv")
    os.link(secret, unit / "hard-link.csv")
    bad = inbox / "360102"
    bad.mkdir(parents=True, exist_ok=True)
    parquet_bomb(bad / "bomb.parquet", sizes.bomb_rows)
    styled_empty_rows(bad / "styled.xlsx", sizes.styled_rows, [OUTFALL_HEADER, BAD_OUTFALL])
    (bad / "wide.csv").write_text((",".join(["1"] * sizes.wide_columns) + "\n") * 2, encoding="utf-8")
    names = ["区县代码", "报告期", "所属水体", *(f"列{j}" for j in range(sizes.parquet_columns))]
    pq.write_table(pa.table({n: [v] * 5 for n, v in zip(
        names, ["360102", "2024", "赣江", *(["x"] * sizes.parquet_columns)], strict=True)}), bad / "columns.parquet")
    made_up: list[list[object]] = [["360102", "2024", f"GK{i:02d}", f"假断面{i}", "赣江", "河流", "国考", "Ⅰ", 0.01]
                                   for i in range(30)]
    _csv(bad / "断面_冒报.csv", [SECTIONS_HEADER, *made_up])
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for k in range(40):
        ws = wb.create_sheet(f"x'{k}" if k == 0 else f"表{k}")
        ws.append(OUTFALL_HEADER)
        ws.append(BAD_OUTFALL)
    wb.save(bad / "四十张表.xlsx")
    _csv(bad / "escapes.csv", [OUTFALL_HEADER, ["360102", "2022", "赣江", "\x1b]0;pwned\x07\x1b[2J", 1]])
    for raw_name in (b"bad\xff.csv", "伪造\n行\x1b[31m.csv".encode()):
        with open(os.path.join(os.fsencode(bad), raw_name), "w", encoding="utf-8") as fh:
            fh.write("不是报表\n")
    for name in UPLOADS:
        (bad / name).write_bytes(b"upload in progress")
    far_cell_xlsx(bad / "far.xlsx")  # bounded before allocation, format by content, header, encoding
    far_cell_xls(bad / "far.xls")
    ods_named_xlsx(bad / "ods.xlsx")
    _csv(bad / "investment.csv", [["Investment"] * 16, list(range(16))])
    (bad / "latin.csv").write_bytes("区县代码,报告期,note\n360102,2024,première\n".encode("cp1252", "replace"))
    return [
        Expect("360102/far.xlsx", ("TABLE_TOO_LARGE",)),
        Expect("360102/far.xls", ("TABLE_TOO_LARGE",)),
        Expect("360102/ods.xlsx", ("FILE_TYPE",)),
        Expect("360102/investment.csv", ("TABLE_FORM_UNKNOWN",)),
        Expect("360102/latin.csv", ("FILE_ENCODING",)),
        Expect("360104/secret-link.csv", ("FILE_SYMLINK",)),
        Expect("360104/folder-link", ("FILE_SYMLINK",)),
        Expect("360104/pipe.csv", ("FILE_NOT_REGULAR",)),
        Expect("360104/hard-link.csv", ("FILE_HARDLINK",)),
        Expect("360102/bomb.parquet", ("TABLE_TOO_LARGE",)),
        Expect("360102/styled.xlsx", ("ROW_NOT_ABOVE",) * 4),
        Expect("360102/wide.csv", ("TABLE_FORM_UNKNOWN",)),
        Expect("360102/columns.parquet", ("COLUMN_MISSING", "COLUMN_MISSING")),  # 需整治排口数, 已完成整治数
        Expect("360102/断面_冒报.csv", ("AUTH_FORM",)),
        Expect("360102/四十张表.xlsx", ("ROW_NOT_ABOVE",) * 40),
        Expect("360102/escapes.csv", ("CELL_NUMBER",)),
        Expect("360102/bad\\xff.csv", ("FILE_NAME_ESCAPED", "TABLE_FORM_UNKNOWN")),
        Expect("360102/伪造\\n行\\x1b[31m.csv", ("FILE_NAME_ESCAPED", "TABLE_FORM_UNKNOWN")),
    ]


def _xlsx(path: Path, rows: list[list[object]], title: str = "表", change=None) -> Path:  # type: ignore[no-untyped-def]
    """A one-sheet xlsx by openpyxl, its parts then passed through ``change(name, bytes)`` if given."""
    wb = openpyxl.Workbook()
    wb.active.title = title
    for r in rows:
        wb.active.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    if change is not None:
        with zipfile.ZipFile(path) as zf:
            parts = {n: zf.read(n) for n in zf.namelist()}
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for n, data in parts.items():
                zf.writestr(n, change(n, data))
    return path


JOURNALS = ("archive/manifest.jsonl", "archive/verdicts.jsonl", "w.duckdb.attempts.jsonl",
            "w.duckdb.deliveries.jsonl")
DRINKING_HEADER: list[object] = ["区县代码", "报告期", "水源地编码", "水源地名称", "水源地级别", "监测次数", "达标次数",
                                 "保护区定界立标"]


def plant_17(inbox: Path, sizes: Sizes) -> list[Expect]:
    """Put the second review's attacks into ``inbox`` (and a 0xFF line into each journal beside it); returns what
    must become of each file."""
    bad = inbox / "360102"
    third = sizes.comment_bytes // 3
    comment = b'<!--"e"' + b"<c " * third + b"--><!--" + b"<f>" * third + b"-->"
    _xlsx(bad / "comment.xlsx", [OUTFALL_HEADER, BAD_OUTFALL], change=lambda n, x: x.replace(
        b"<sheetData>", comment + b"<sheetData>") if n.startswith("xl/worksheets/") else x)
    _xlsx(bad / "control.xlsx", [OUTFALL_HEADER, [*BAD_OUTFALL[:2], "赣江BEL", *BAD_OUTFALL[3:]], ["填表人：李VT四"]],
          title="SheetVT1", change=lambda n, x: x.replace(b"VT", b"\x0b").replace(b"BEL", b"\x07"))
    squat = inbox / "360104"
    for name, period in (("squat_annual.csv", "2024"), ("squat_monthly.csv", "2024-12")):
        _csv(squat / name, [DRINKING_HEADER, *([["360104", period, c, "抢注", lv, 12, 12, "是"]
                                                for c, lv in (("NCX-R01", "农村"), ("NC-C01", "县级"))])])
    flood = inbox / "360111"
    for i in range(sizes.flood_files):
        _csv(flood / f"flood{i:03d}.csv", [OUTFALL_HEADER, ["360111", *BAD_OUTFALL[1:]]])
        os.utime(flood / f"flood{i:03d}.csv", (946684800 + i, 946684800 + i))  # 2000-01-01: "before anything"
    raw = inbox.parent
    for journal in JOURNALS:
        path = (raw if journal.startswith("archive/") else raw.parent) / journal
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'{"receipt_id": "\xff"}\n')
    return [
        Expect("360102/comment.xlsx", ("ROW_NOT_ABOVE",)),
        Expect("360102/control.xlsx", ("CELL_REGISTRY", "ROW_NOT_ABOVE")),
        Expect("360104/squat_annual.csv", ("AUTH_CODE", "AUTH_CODE")),
        Expect("360104/squat_monthly.csv", ("AUTH_CODE", "AUTH_CODE")),
        *(Expect(f"360111/flood{i:03d}.csv", ("ROW_NOT_ABOVE",)) for i in range(sizes.flood_files)),
    ]


def fairness(raw: Path) -> list[str]:
    """Contract v3 §2: no unit's first file received after more than one file of each unit ahead of it."""
    from ecostat.intake.archive import receipts

    order = [r.submitter or r.file for r in receipts(raw / "archive")]
    units = list(dict.fromkeys(order))
    return [f"{u}'s first file received {order.index(u) + 1}th, after the flood"
            for u in units if order.index(u) >= len(units)]


def damaged(work: Path) -> list[str]:
    """The journals' 0xFF lines: each must be set aside in its ``.damaged`` file."""
    raw = work / "raw"
    return [f"{j}: damaged line not set aside" for j in JOURNALS
            if not ((raw if j.startswith("archive/") else work) / (j + ".damaged")).is_file()]


def figures(warehouse: Path) -> dict[tuple[object, ...], float]:
    """Every annual figure of the warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {tuple(r[:-1]): r[-1] for r in con.execute(
            "SELECT year, scope, figure, dimension, value FROM annual_figures").fetchall()}


def outcome(warehouse: Path, expected: list[Expect]) -> list[str]:
    """What went wrong, as sentences (none: every planted file ended as it must)."""
    problems = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for e in expected:
            rows = con.execute("SELECT submission_id, status FROM submission_log WHERE file = ?", [e.file]).fetchall()
            if not rows:
                problems.append(f"{e.file}: not processed")
                continue
            if any(s != "rejected" for _, s in rows):
                problems.append(f"{e.file}: {sorted({s for _, s in rows})}, not rejected")
            found = Counter(r for (r,) in con.execute(
                "SELECT rule_id FROM validation_issues WHERE submission_id IN (SELECT submission_id FROM "
                "submission_log WHERE file = ?) AND severity = 'error' OR (rule_id = 'FILE_NAME_ESCAPED' AND file = ?)",
                [e.file, e.file]).fetchall())
            if found != Counter(e.rules):
                problems.append(f"{e.file}: findings {dict(found)}, expected {list(e.rules)}")
    return problems


def sample_statuses(warehouse: Path) -> dict[str, int]:
    """How many tables from the shipped samples' files ended with each form and status (``form status``)."""
    samples = {p.relative_to(ROOT / "raw" / "samples").as_posix() for p in (ROOT / "raw" / "samples").rglob("*")
               if p.is_file()}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT file, coalesce(form, ''), status FROM submission_log").fetchall()
    return dict(sorted(Counter(f"{form} {status}" for file, form, status in rows if file in samples).items()))


def run(work: Path, *, prefect: bool, sizes: Sizes) -> dict[str, object]:
    """The samples alone, then the samples with the attack, each through one `ecostat ingest` child."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECOSTAT_", "PREFECT_API"))}
    env.update(PREFECT_HOME=str(work / "prefect"), ECOSTAT_SETTINGS=str(work / "ecostat.toml"))
    (work / "ecostat.toml").write_text("", encoding="utf-8")
    results: dict[str, object] = {"prefect": prefect}
    for case in ("samples", "attack"):
        raw = work / case / "raw"
        shutil.copytree(ROOT / "raw" / "samples", raw / "inbox")
        expected = [*plant(raw / "inbox", work / case / "outside", sizes), *plant_17(raw / "inbox", sizes)
                    ] if case == "attack" else []
        db = work / case / "w.duckdb"
        out = work / case / "measure.json"
        argv = [sys.executable, "-m", "ecostat.cli", "ingest", "--raw", str(raw), "--warehouse", str(db)]
        argv += [] if prefect else ["--no-prefect"]
        with open(work / case / "ingest.log", "wb") as log:
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "child.py"), str(out), *argv], env=env,
                           cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=True)
        m = json.loads(out.read_text(encoding="utf-8"))
        results[case] = {"seconds": round(m["seconds"], 1), "peak_rss_mb": round(m["peak_rss_kb"] / 1024),
                         "exit_code": m["exit_code"], "statuses": sample_statuses(db)}
        if case == "attack":
            problems = outcome(db, expected)
            left = sorted(p.name for p in (raw / "inbox" / "360102").iterdir())
            if left != sorted(UPLOADS):
                problems.append(f"left in the inbox: {left}, expected the uploads in progress only")
            if results["attack"]["statuses"] != results["samples"]["statuses"]:  # type: ignore[index]
                problems.append("the samples' tables did not end as in a clean run")
            if figures(db) != figures(work / "samples" / "w.duckdb"):
                problems.append("the figures are not those of the samples alone (squatting?)")
            problems += fairness(raw) + damaged(work / case)
            results["problems"] = problems
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the attack and print its numbers; exit 1 if any file did not end as it must."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefect", action="store_true", help="through the Prefect flow (default: --no-prefect)")
    ap.add_argument("--out", type=Path, help="write the results as JSON")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ecostat-hostile-") as tmp:
        results = run(Path(tmp), prefect=args.prefect, sizes=Sizes())
    for case in ("samples", "attack"):
        r = results[case]
        print(f"{case:8} ingest{' (Prefect)' if args.prefect else ' --no-prefect'}: {r['seconds']} s, "  # type: ignore[index]
              f"peak RSS {r['peak_rss_mb']} MB, exit {r['exit_code']}")  # type: ignore[index]
    problems = results["problems"]
    print("every file ended as it must" if not problems else "\n".join(problems))  # type: ignore[arg-type]
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
