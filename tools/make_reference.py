#!/usr/bin/env python3
"""The reference that ``tests/test_reference.py`` holds ecostat to: what the code of a fixed commit
(main before the throughput work of issue 13) makes of the shipped samples and of a generated load
full of bad cells — findings, statuses, figures, lineage and feedback workbooks.

    .venv/bin/python tools/make_reference.py [--commit SHA] [--load]

``--load`` (re)writes the generated load into ``tests/fixtures/reference_load/`` (committed: its
bytes, hence their sha256, stay fixed). Then the commit is checked out in a temporary
``git worktree``, ``tests/reference.py`` runs with that code on a copy of the samples and the load,
and its JSON goes to ``tests/fixtures/reference.json.gz`` (gzip: the feedback workbooks' cells make it large).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
COMMIT = "2910136856776474f93864065ce9366697040352"  # main before issue 13's readers and checks (with the v2 forms)
LOAD = ROOT / "tests" / "fixtures" / "reference_load"
OUT = ROOT / "tests" / "fixtures" / "reference.json.gz"
MTIME = 1_735_000_000  # fixed modification times: they set the processing order

OUTFALL = ["区县代码", "报告期", "所属水体", "需整治排口数（个）", "已完成整治数（个）", "备注"]
PETITIONS = ["区县代码", "报告期", "批次", "交办件数", "疑难复杂件数", "重点件数", "一般件数", "已办结件数",
             "已销号件数"]
ENFORCEMENT = ["区县代码", "报告期", "行政处罚案件数", "罚款金额(元)", "免罚案件数", "免罚金额(万元)",
               "排查散乱污企业数", "完成整治散乱污企业数"]
WATER = ["区县代码", "报告期", "断面编码", "断面名称", "所在水体", "水体类型", "断面级别", "水质类别", "总磷(mg/L)"]
AIR = ["区县代码", "报告期", "PM2.5平均浓度", "PM10平均浓度", "优良天数", "有效监测天数", "优良天数比例(%)"]
BODIES = ["赣江", "抚河", "潦河", "锦江", "鄱阳湖南昌湖区", "军山湖", "青岚湖", "瑶湖"]
CLASSES = ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ"]


def _save(wb: openpyxl.Workbook, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())


def outfall_workbook(path: Path) -> None:
    """A banner, a two-row header, bad cells of most kinds, percent cells, a hidden row, a footer."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "排口整治"
    ws.append(["东湖区2024年入河排污口整治情况表"])
    ws.merge_cells("A1:F1")
    ws.append(["区县代码", "报告期", "所属水体", "整治情况", None, "备注"])
    ws.append([None, None, None, "需整治\n排口数（个）", "已完成整治数（个）", None])
    for col in "ABCF":
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("D2:E2")
    rows = [
        ["360102", "2024年", "赣江", 12, 10, "正常"],
        ["360102", "2024", "抚河", "1,072", "１０４５", None],
        ["360102", "2024", "长江", 5, 5, None],              # registry
        ["360102", "2024", "潦河", "十个", 3, None],           # number
        ["360102", "2024", "锦江", 7.5, 3, None],              # integer
        ["360102", "2024", "瑶湖", 5, 9, None],                # completed > required
        ["360102", "2024", "军山湖", -1, 0, None],             # min
        ["360103", "2024", "青岚湖", 4, 4, None],              # another unit
        ["东湖区", "2024", "鄱阳湖南昌湖区", "60个以上", "45个", None],  # qualifier, counting word
        ["360102", "2024", "赣江", 3, "3箱", None],           # unit suffix; duplicate key
        ["360102", "2099", "赣江", 3, 3, None],               # future period
        ["360102", "二〇二四", "抚河", 3, 3, None],           # period
        ["360102", "2024", "抚河", "30%", 3, None],           # percent in a count column
        ["合计", None, None, 999, 80, None],                   # totals row that does not add up
    ]
    for r in rows:
        ws.append(r)
    ws.row_dimensions[6].hidden = True
    ws.append([])
    ws.append(["填报人：王敏  审核人：刘强  联系电话：0791-8888"])
    _save(wb, path)


def two_forms_workbook(path: Path) -> None:
    """Two sheets: enforcement in yuan with bad cells; petitions with row rules broken; a percent sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "执法"
    ws.append(ENFORCEMENT)
    ws.append(["360112", "2024", 3, 125000, 1, 2.0, 5, 4])
    ws.append(["360112", "2024年6月", 0, 50000, 0, 0, 5, 6])        # fines without cases, fixed > found
    ws.append(["360112", "2024-07", "3件", "13004700元", 1, "0.13亿元", 5, 4])
    ws.append(["360112", "2024-08", 2, "abc", 1, "1万", 5, 4])
    ws2 = wb.create_sheet("信访")
    ws2.append(PETITIONS)
    ws2.append(["360112", "2024", "第三轮第二批", 10, 1, 3, 6, 8, 5])
    ws2.append(["360112", "2024", "历次", 10, 1, 3, 5, 11, 12])          # parts, concluded > assigned
    ws2.append(["360112", "2024", "历次", 10, 1, 3, 6, 8, 5])            # duplicate key
    ws2.append(["360112", "2024", "第九批", 10, 1, 3, 6, 8, 5])          # registry
    ws3 = wb.create_sheet("空气")
    ws3.append([*AIR, "未知列"])
    ws3.append(["360112", "2024", 32, 55, 337, 366, 0.9208, None])
    ws3.append(["360112", "2024-06", 35, 30, 150, 182, 0.5, None])         # pm10 < pm25, rate plain fraction
    ws3.append(["360112", "2024-05", 35, 60, 200, 152, "120%", None])      # days, max
    for r in (2, 3):
        ws3.cell(r, 7).number_format = "0.00%"
    ws3.cell(4, 7).number_format = "0.0%"
    _save(wb, path)


def water_table(n: int, rnd: random.Random) -> list[list[object]]:
    """``n`` water section rows of the city, some cells bad."""
    rows: list[list[object]] = []
    for i in range(n):
        body = BODIES[i % len(BODIES)]
        wtype = "湖库" if i % len(BODIES) >= 4 else "河流"
        tp = round(rnd.uniform(0.005, 0.09), 3)
        cls = CLASSES[rnd.randint(2, 4)]
        rows.append(["360100", "2024", f"W{i:05d}", f"{body}{i}号断面", body, wtype, ["国考", "省考", "市考"][i % 3],
                     cls, tp])
    for k, i in enumerate(range(3, n, max(n // 25, 1))):
        j, bad = [(8, "0.0x"), (7, "Ⅶ类"), (5, "海洋"), (8, -0.5), (2, None), (1, "2024-13"), (6, "县考"),
                  (7, "I类")][k % 8]
        rows[i][j] = bad
    rows[10][7] = "Ⅰ"  # better than its phosphorus allows
    rows[10][8] = 0.3
    rows[11][2] = rows[12][2]  # duplicate section
    return rows


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))


def generate(folder: Path) -> None:
    """Write the reference load: files of several units, every format, most rules broken somewhere."""
    if folder.exists():
        shutil.rmtree(folder)
    rnd = random.Random(13)
    outfall_workbook(folder / "360102" / "东湖区2024年排口.xlsx")
    two_forms_workbook(folder / "360112" / "新建区2024年报表.xlsx")
    write_csv(folder / "360100" / "断面水质_大表.csv", [WATER, *water_table(400, rnd)])
    write_csv(folder / "360100" / "断面水质_GBK.csv", [WATER, *water_table(40, rnd)], "gb18030")
    good = [["360103", f"2024-{m:02d}", "抚河", 20 + m, 10 + m, ""] for m in range(1, 7)]
    write_csv(folder / "360103" / "排口_a逐月.csv", [OUTFALL, *good])
    falling = [["360103", "2024-07", "抚河", 30, 12, ""]]  # completed falls from June's 16
    write_csv(folder / "360103" / "排口_b7月.csv", [OUTFALL, *falling])
    records = [{"区县代码": "360104", "报告期": "2024", "所属水体": "赣江", "需整治排口数": 10, "已完成整治数": 12},
               {"区县代码": "360104", "报告期": "2024", "所属水体": "抚河", "需整治排口数": "8", "已完成整治数": None}]
    (folder / "360104").mkdir(parents=True)
    import json

    (folder / "360104" / "排口.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    table = pa.table({"区县代码": ["360113"] * 3, "报告期": ["2024"] * 3, "所属水体": ["赣江", "抚河", "xx"],
                      "需整治排口数": [5.0, 6.5, 7.0], "已完成整治数": [5, 6, 8]})
    (folder / "360113").mkdir(parents=True)
    pq.write_table(table, folder / "360113" / "排口.parquet")
    write_csv(folder / "360105" / "未知表头.csv", [["甲", "乙", "丙"], [1, 2, 3]])
    for k, path in enumerate(sorted(folder.rglob("*.*"))):
        os.utime(path, (MTIME + k * 60, MTIME + k * 60))


def inbox_of(target: Path) -> Path:
    """A raw folder whose inbox holds the samples and the reference load, with the modification times that
    set their processing order: the samples' from ``tools/make_samples.py``, the load's as :func:`generate`
    sets them (git keeps no modification times, so a checkout's own would order them by chance)."""
    from make_samples import build_files, stamp

    raw = target / "raw"
    shutil.copytree(ROOT / "raw" / "samples", raw / "inbox")
    for f in build_files():
        when = stamp(f.when).timestamp()
        os.utime(raw / "inbox" / f.path, (when, when))
    for k, path in enumerate(sorted(LOAD.rglob("*.*"))):
        dest = raw / "inbox" / path.relative_to(LOAD)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        os.utime(dest, (MTIME + k * 60, MTIME + k * 60))
    return raw


def main() -> int:
    """Make the reference JSON with the code of ``--commit``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commit", default=COMMIT)
    ap.add_argument("--load", action="store_true", help="regenerate tests/fixtures/reference_load first")
    args = ap.parse_args()
    if args.load or not LOAD.exists():
        generate(LOAD)
    with tempfile.TemporaryDirectory(prefix="ecostat-ref-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.commit], check=True)
        try:
            raw = inbox_of(Path(tmp))
            env = {**os.environ, "PYTHONPATH": str(tree)}
            subprocess.run([sys.executable, str(ROOT / "tests" / "reference.py"), str(raw),
                            str(Path(tmp) / "w.duckdb"), str(OUT)], cwd=tree, env=env, check=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
    print(f"wrote {OUT.relative_to(ROOT)} with the code of {args.commit[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
