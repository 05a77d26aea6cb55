"""Issue 20, a fresh machine set up by the README alone: the CJK font comes from the pinned package (the
system's still preferred), the report always writes its .docx, the status site needs no font, the figures
table adds up on screen, and a test that needs a Debian program skips with its reason (fails on CI)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from ecostat.cli import main
from ecostat.publish.annual import fonts
from ecostat.publish.annual.build import report_context
from ecostat.publish.annual.pdf import report_html
from ecostat.publish.annual.phrasing import figure_texts, shown
from ecostat.store.warehouse import connect
from tests.programs import program_or_skip

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=env, check=False)


# --- the font ---------------------------------------------------------------------------------------------

def test_the_packaged_font_is_the_noto_sans_cjk_collection_and_used_without_a_system_font(monkeypatch):
    packaged = fonts.packaged_font()
    assert packaged is not None and packaged.name == "NotoSansCJK-Regular.ttc"
    assert packaged.read_bytes()[:4] == b"ttcf" and packaged.stat().st_size > 10_000_000
    monkeypatch.setattr(fonts, "SYSTEM_FILES", (Path("/nonexistent/NotoSansCJK-Regular.ttc"),))
    assert fonts.cjk_font_file() == packaged
    monkeypatch.setattr(fonts, "SYSTEM_FILES", (packaged,))  # a "system" font present is preferred
    assert fonts.cjk_font_file() == packaged
    monkeypatch.setattr(fonts, "SYSTEM_FILES", ())
    monkeypatch.setattr(fonts, "PACKAGE", "no_such_font_package")
    with pytest.raises(fonts.FontMissing, match="noto-cjk-sans-otc"):
        fonts.cjk_font_file()


def test_the_pdf_names_the_packaged_font_file_and_fetches_nothing_else(samples, monkeypatch):
    _, warehouse = samples
    with connect(warehouse, read_only=True) as con:
        ctx = report_context(con, 2024, draw=False)
    packaged = fonts.packaged_font()
    assert packaged is not None
    html = report_html(ctx, packaged)
    assert f'url("{packaged.resolve().as_uri()}")' in html and 'local("Noto Serif CJK SC")' in html
    from ecostat.publish.annual.pdf import _fetcher

    fetch = _fetcher(packaged.resolve().as_uri())
    response = fetch(packaged.resolve().as_uri())
    assert response.read(4) == b"ttcf"
    response.close()
    for other in ("file:///etc/passwd", "http://127.0.0.1:1/x.ttf"):
        with pytest.raises(ValueError, match="not fetched"):
            fetch(other)


def test_without_any_cjk_font_the_report_still_writes_the_docx_and_says_so(samples, tmp_path: Path):
    _, warehouse = samples
    out = tmp_path / "report"
    done = _python(f"""
        import sys
        sys.modules["noto_cjk_sans_otc"] = None  # the package is not installed
        from ecostat.publish.annual import fonts
        fonts.SYSTEM_FILES = ()  # nor is Debian's fonts-noto-cjk
        from ecostat.cli import main
        sys.exit(main(["report", "--year", "2024", "--warehouse", {str(warehouse)!r}, "--out", {str(out)!r}]))
        """)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "PDF not written" in done.stderr and "charts not drawn" in done.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["南昌市2024年生态环境统计数据报告.docx"]


# --- the site ---------------------------------------------------------------------------------------------

def test_the_status_site_is_built_without_matplotlib_or_any_font(samples, tmp_path: Path):
    raw, warehouse = samples
    site = tmp_path / "site"
    done = _python(f"""
        import sys
        sys.modules["matplotlib"] = None  # drawing with it (and so any font) would fail here
        sys.modules["noto_cjk_sans_otc"] = None
        from pathlib import Path
        from ecostat.publish.site import build_site
        from ecostat.store.warehouse import connect
        with connect(Path({str(warehouse)!r}), read_only=True) as con:
            print(build_site(con, Path({str(site)!r}), Path({str(raw)!r})))
        """)
    assert done.returncode == 0, done.stderr[-3000:]
    html = (site / "index.html").read_text(encoding="utf-8")
    assert html.count('<div class="charts">') == 3 and "<img" not in html and "<script" not in html
    assert "<text" in html and ">2024年</text>" in html and ">东湖区</text>" in html  # words left as text
    assert "data:" not in html and "url(" not in html  # self-contained, nothing fetched


# --- figures that add up ----------------------------------------------------------------------------------

def test_shown_values_and_change_agree():
    rate = figure_texts()["soil.farmland_safe_rate"]  # 0 decimals, floor; change 1 decimal, pp
    assert shown(93.6, 90.8, 2.8, "pp", rate) == ("93.6", "90.8", "2.8")  # not 93 | 90 | 2.8
    sewage = figure_texts()["rural.sewage_rate"]
    v, p, c = shown(60.49, 54.21, 60.49 - 54.21, "pp", sewage)
    assert Decimal(v) - Decimal(p) == Decimal(c) == Decimal("6.3")
    pm25 = figure_texts()["air.pm25_mean"]  # a relative change: (32 − 33) / 33 = −3.0 %
    assert shown(32.0, 33.0, (32 - 33) / 33 * 100, "%", pm25) == ("32", "33", "-3")
    assert shown(30.4, None, None, "%", pm25) == ("30", "", "")


def test_the_figures_table_adds_up_on_screen(samples, capsys):
    _, warehouse = samples
    assert main(["figures", "--year", "2024", "--warehouse", str(warehouse)]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    checked = 0
    for line in lines:
        cells = line.split()
        if len(cells) >= 6 and cells[-1] in ("pp", cells[-4]):  # a difference, in pp or in the value's unit
            value, previous, change = (Decimal(c) for c in (cells[-5], cells[-3], cells[-2]))
            assert value - previous == change, line
            checked += 1
    assert checked > 20
    soil = next(line for line in lines if "soil.farmland_safe_rate" in line).split()
    assert soil[-5:] == ["93.6", "%", "90.8", "2.8", "pp"]
    with connect(warehouse, read_only=True) as con:  # the report's (and the site's) summary table too
        summary = report_context(con, 2024, draw=False).summary
    row = next(r for r in summary.rows if r[0] == "受污染耕地安全利用率")
    assert row[2:] == ["93.6", "%", "90.8", "2.8个百分点"]


# --- programs pip cannot install --------------------------------------------------------------------------

def test_a_missing_program_skips_with_its_reason_and_fails_on_ci(tmp_path: Path):
    with pytest.raises(pytest.skip.Exception, match=r"needs no-such-program-20, not installed \(apt-get install x\)"):
        program_or_skip("no-such-program-20", package="x")
    (tmp_path / "test_needs.py").write_text(textwrap.dedent("""
        from tests.programs import program_or_skip

        def test_needs_a_program():
            program_or_skip("no-such-program-20", package="x")
        """), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    args = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "tests.conftest",
            "--rootdir", str(tmp_path), str(tmp_path / "test_needs.py")]
    here = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
    assert here.returncode == 0 and "1 skipped" in here.stdout, here.stdout[-2000:]
    assert "needs no-such-program-20, not installed (apt-get install x)" in here.stdout
    ci = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, env={**env, "CI": "true"}, timeout=300,
                        check=False)
    assert ci.returncode == 1 and "1 failed" in ci.stdout and "skipped on CI" in ci.stdout, ci.stdout[-2000:]
