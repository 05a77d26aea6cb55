"""The status site: rebuilt by every run, every sample submission's status in its matrix, rejected cells
linking to their findings and feedback, overdue reports, hostile text escaped; opened in headless
chromium with no console error and no request beyond its own files."""

from __future__ import annotations

import datetime as dt
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

from ecostat.cli import main
from ecostat.contract.operator_settings import Deadline, Settings
from ecostat.publish.site import build_site, site_dir
from ecostat.run import ingest as steps
from ecostat.store.warehouse import connect
from tests.browser import browser
from tests.conftest import ingest_files, write_csv
from tests.forms_data import header, row


class Tables(HTMLParser):
    """Each table of a page after its ``h3`` heading: rows of (class, text, href) cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str, str | None]]]] = {}
        self._heading: list[str] | None = None
        self._title = ""
        self._cell: list[object] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "h3":
            self._heading = []
        elif tag == "table":
            self.tables[self._title] = []
        elif tag == "tr" and self.tables:
            self.tables[self._title].append([])
        elif tag in ("td", "th"):
            self._cell = [a.get("class") or "", "", None]
        elif tag == "a" and self._cell is not None:
            self._cell[2] = a.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3" and self._heading is not None:
            self._title, self._heading = "".join(self._heading), None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._title][-1].append(tuple(self._cell))  # type: ignore[arg-type]
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        elif self._cell is not None:
            self._cell[1] = str(self._cell[1]) + data


def matrix(page: Path, form: str) -> dict[tuple[str, str], tuple[str, str, str | None]]:
    """A form's matrix on the index: (unit code, period) → (class, text, href)."""
    parser = Tables()
    parser.feed(page.read_text(encoding="utf-8"))
    rows = next(t for title, t in parser.tables.items() if title.endswith(f"（{form}）"))
    periods = [c[1] for c in rows[0][1:]]
    return {(re.search(r"\d{6}", r[0][1]).group(), p): c  # type: ignore[union-attr]
            for r in rows[1:] for p, c in zip(periods, r[1:], strict=True)}


def test_every_ingest_run_rebuilds_the_site_with_every_sample_submission(samples):
    _, warehouse = samples
    index = site_dir(warehouse) / "index.html"
    html = index.read_text(encoding="utf-8")
    with connect(warehouse, read_only=True) as con:
        versions = con.execute("""SELECT form, unit_code, period, status, submission_id, warnings
                                  FROM core_slice_versions ORDER BY submission_id""").fetchall()
        unplaced = con.execute("""SELECT submission_id, file FROM submission_log
                                  WHERE slices IS NULL OR len(slices) = 0 ORDER BY file""").fetchall()
    latest = {(f, u, p): (s, sid, w) for f, u, p, s, sid, w in versions}
    assert len(latest) > 100
    for (form, unit, period), (status, sid, warnings) in latest.items():
        cls, _, href = matrix(index, form)[(unit, period)]
        # received with warnings: the samples' two jumps (contract v3 §8), in 东湖区's and 西湖区's rural_soil tables
        shown = "rejected" if status == "rejected" else "received" if warnings else "accepted"
        assert cls == shown, (form, unit, period)
        assert (href == f"submissions/{sid}.html") == (shown != "accepted")
    assert sorted((f, u, p) for (f, u, p), (s, _, w) in latest.items() if s != "rejected" and w) == [
        ("rural_soil", "360102", "2024"), ("rural_soil", "360103", "2023"), ("rural_soil", "360103", "2024")]
    assert [file for _, file in unplaced] == ["360113/bad_无法识别的表头.xlsx", "stray.csv"]
    for sid, _ in unplaced:
        assert f'href="submissions/{sid}.html"' in html
    assert matrix(index, "outfall_remediation")[("360105", "2024")][0] == "missing"  # only a November report
    assert matrix(index, "water_sections")[("360100", "2024")][0] == "accepted"  # the centre sends every section
    assert "2024年度指标" in html and "PM2.5平均浓度为32微克/立方米，同比改善3%。" in html
    assert "<img" not in html and html.count('<div class="charts">') == 3  # the charts: inline SVG
    assert html.count('<svg class="chart"') >= 3 and "<text" in html and "<script" not in html
    for page in [index, *(index.parent / "submissions").glob("*.html")]:
        assert not re.search(r"(src|href)\s*=\s*\"(https?:)?//", page.read_text(encoding="utf-8")), page
        assert "http://" not in page.read_text(encoding="utf-8") and "https://" not in page.read_text("utf-8")


def test_the_site_opens_in_headless_chromium_without_errors_or_outside_requests(samples, tmp_path: Path):
    raw, warehouse = samples
    site = site_dir(warehouse)
    with connect(warehouse, read_only=True) as con:  # 进贤县's September outfalls: completed above required
        (sid,) = con.execute("SELECT submission_id FROM submission_log WHERE file LIKE '360124/错误_%'").fetchone()
    rejected = site / "submissions" / f"{sid}.html"
    with browser(tmp_path / "profile") as b:
        index = b.visit(site / "index.html", tmp_path / "index.png")
        page = b.visit(rejected, tmp_path / "rejected.png")
    for visit in (index, page):
        assert visit.errors == []
        assert all(urlparse(u).scheme in ("file", "data") for u in visit.requests), visit.requests
    assert not [u for u in index.requests if u.startswith("data:")]  # nothing but the page: its charts are SVG
    assert f"submissions/{sid}.html" in index.html and "<script" not in index.html
    assert "E2" in page.html and "已完成整治数(个)(93)大于需整治排口数(个)(91)" in page.html
    feedback = re.search(r'<a href="([^"]+\.feedback\.xlsx)"', page.html)
    assert feedback, page.html[:3000]
    target = Path(unquote(urlparse(urljoin(rejected.resolve().as_uri(), feedback.group(1))).path))
    assert target == (raw / "outbox" / "360124" / "错误_2024-09排污口月报_已完成数大于需整治数.csv.feedback.xlsx")
    assert target.is_file()
    assert (tmp_path / "index.png").stat().st_size > 50_000 and (tmp_path / "rejected.png").stat().st_size > 5_000
    print(f"screenshots: {tmp_path / 'index.png'} {tmp_path / 'rejected.png'}")


def test_overdue_reports_show_against_the_deadlines(samples, tmp_path: Path):
    raw, warehouse = samples
    options = Settings(deadlines=[Deadline("outfall_remediation", "2024-06", dt.date(2024, 7, 20)),
                                  Deadline("petitions", "2025", dt.date(2026, 1, 20))])
    with connect(warehouse, read_only=True) as con:
        index = build_site(con, tmp_path / "site", raw, options, dt.date(2025, 1, 10))
    outfall = matrix(index, "outfall_remediation")
    assert outfall[("360102", "2024-06")][:2] == ("overdue", "逾期截止 2024-07-20")
    assert outfall[("360112", "2024-06")][0] == "accepted"
    assert outfall[("360111", "2024-10")][0] == "rejected"
    assert outfall[("360111", "2024-11")][0] == ""  # a monthly period nobody owes
    assert 'href="../docs/audit.html"' not in index.read_text(encoding="utf-8")  # no audit yet
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "audit.html").write_text("<p>audit</p>", encoding="utf-8")
    with connect(warehouse, read_only=True) as con:
        index = build_site(con, tmp_path / "site", raw, options, dt.date(2025, 1, 10))
    assert 'href="../docs/audit.html"' in index.read_text(encoding="utf-8")
    petitions = matrix(index, "petitions")
    assert petitions[("360102", "2025")][0] == "missing"  # due, not yet overdue
    assert ("360100", "2025") not in petitions  # the city does not report petitions


def test_submitted_text_is_escaped_on_every_page(tmp_path: Path):
    inbox = tmp_path / "raw" / "inbox" / "360102"
    hostile = '<img src=x onerror="alert(1)">.csv'
    write_csv(inbox / hostile, [header("outfall_remediation"),
                                row("outfall_remediation", required="<script>alert(2)</script>")])
    con, _, tables = ingest_files(tmp_path / "raw", tmp_path / "w.duckdb")
    assert [t.status for t in tables] == ["rejected"]
    index = build_site(con, tmp_path / "site", tmp_path / "raw")
    con.close()
    page = index.parent / "submissions" / f"{tables[0].submission_id}.html"
    for path in (index, page):
        html = path.read_text(encoding="utf-8")
        assert "<script" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.read_text(encoding="utf-8")
    with browser(tmp_path / "profile") as b:
        for path in (index, page):
            visit = b.visit(path)
            assert visit.errors == []
            assert all(urlparse(u).scheme in ("file", "data") for u in visit.requests)
            assert b.evaluate("document.querySelectorAll('script, img, [onerror]').length") == 0
        text = b.evaluate("document.body.innerText")  # the submission's page, shown as the text it is
        assert hostile in text and "<script>alert(2)</script>" in text
        assert b.evaluate("document.title") == f"#{tables[0].submission_id} 360102/{hostile}"


def test_the_site_command_rebuilds_it(samples, capsys):
    _, warehouse = samples
    index = site_dir(warehouse) / "index.html"
    before = index.stat().st_mtime_ns
    assert main(["site", "--warehouse", str(warehouse), "--raw", str(samples[0])]) == 0
    assert capsys.readouterr().out.strip() == str(index)
    assert index.stat().st_mtime_ns > before



def test_a_run_with_nothing_new_leaves_the_site_until_the_next_day(tmp_path: Path) -> None:
    """Like the audit and the figures, the site is rebuilt by runs that processed files (or delivered
    alerts); a run with nothing new leaves it, unless it was built before today (overdue reports move)."""
    raw, db = tmp_path / "raw", tmp_path / "w.duckdb"
    write_csv(raw / "inbox" / "360102" / "a.csv", [header("outfall_remediation"), row("outfall_remediation")])
    steps.run_plain(raw, db)
    index = site_dir(db) / "index.html"
    built = index.stat().st_mtime_ns
    assert "nothing new: figures, audit and site skipped" in steps.run_plain(raw, db).text()
    assert index.stat().st_mtime_ns == built
    yesterday = (dt.datetime.now() - dt.timedelta(days=1)).timestamp()
    os.utime(index, (yesterday, yesterday))
    steps.run_plain(raw, db)
    assert dt.date.fromtimestamp(index.stat().st_mtime) == dt.date.today()
