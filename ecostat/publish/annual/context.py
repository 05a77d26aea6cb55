"""What the annual report says, as types shared by its builder (:mod:`ecostat.publish.annual.build`), its
writers (``.docx`` and PDF) and the status site."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ecostat.publish.annual import charts


class NoFigures(Exception):
    """The warehouse has no figures for the year asked."""


@dataclass
class Section:
    """A heading (numbered ``（一）``) and its sentences."""

    heading: str
    sentences: list[str]


@dataclass
class Table:
    """A table of the report (the first column names the row)."""

    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Chart:
    """A chart: its file name (stem), caption and PNG bytes."""

    name: str
    caption: str
    png: bytes = field(repr=False)

    @property
    def aspect(self) -> float:
        """Height over width (from the PNG header)."""
        width, height = struct.unpack(">II", self.png[16:24])
        return height / width


@dataclass
class Source:
    """The submissions a form's figures come from (a part of the appendix)."""

    title: str  # the form and its figures
    table: Table | None  # unit, period, file, received, sha256 prefix of each submission


SOURCE_HEADER = ["单位", "报告期", "文件", "接收时间", "SHA-256（前12位）"]
SOURCES_NOTE = "下列报表为各指标计算所依据的各单位本年度最终报表（年报，无年报时为最近一期月报）。"


@dataclass
class ChartData:
    """A chart before it is drawn: its name, caption (numbered 图1 …), kind (``bars``, ``hbars`` or
    ``lines``) and panels. The report draws it with matplotlib, the status site as SVG."""

    name: str
    caption: str
    kind: str
    panels: list[charts.Panel]
    columns: int

    def png(self) -> bytes:
        """The chart drawn by matplotlib (needs the CJK font)."""
        if self.kind == "lines":
            return charts.lines(self.panels, columns=self.columns)
        return charts.bars(self.panels, columns=self.columns, horizontal=self.kind == "hbars")


@dataclass
class ReportContext:
    """Everything the report says, shared by the ``.docx`` and the PDF."""

    city: str
    year: int
    title: str
    generated_at: str
    live: bool
    certified: bool
    basis: str
    sections: list[Section]
    summary: Table  # the city's figures, rounded as the sentences round them
    tables: list[Table]  # district breakdowns
    charts: list[Chart]
    sources: list[Source]
    unphrased: list[str]
    chart_data: list[ChartData] = field(default_factory=list)  # the charts' panels, drawn or not

    @property
    def file_stem(self) -> str:
        """The report files' name without suffix."""
        return f"{self.city}{self.year}年生态环境统计数据报告"

    @property
    def unphrased_note(self) -> str:
        """The sentence naming the figures without phrasing data (empty when there are none)."""
        return f"以下指标尚无措辞数据，按通用格式表述：{'、'.join(self.unphrased)}。" if self.unphrased else ""

    @property
    def sources_note(self) -> str:
        """What the appendix lists."""
        return SOURCES_NOTE

    @property
    def headings(self) -> dict[str, str]:
        """The numbered first-level headings of the parts that have content (一、数据说明 …)."""
        parts = {"basis": "数据说明", "figures": "主要指标", "tables": "统计表", "charts": "图表"}
        present = [k for k in parts if k in ("basis", "figures", "tables") or getattr(self, k)]
        return {k: f"{chinese_number(i)}、{parts[k]}" for i, k in enumerate(present, 1)}


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (for n below 100)."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else digits[tens]) + "十" if tens else "") + (digits[ones] if ones or not tens else "")
