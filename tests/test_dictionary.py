"""The data dictionary is generated from the definitions and committed current."""

from __future__ import annotations

from ecostat.contract.forms import FORMS
from ecostat.publish.dictionary import DICTIONARY_FILE, render
from ecostat.store.figuredefs import figures


def test_the_committed_data_dictionary_is_current():
    assert DICTIONARY_FILE.read_text(encoding="utf-8") == render(), "stale: run python tools/make_dictionary.py"


def test_it_has_a_section_per_form_and_per_figure_naming_every_field():
    text = render()
    for form in FORMS.values():
        assert f"### {form.section} {form.zh} `{form.code}`" in text
        for f in form.fields:
            assert f"| `{f.code}` | {f.header} | {f.kind} ({f.sql_type}) |" in text
    for fig in figures():
        assert f"### `{fig.figure}` {fig.name_zh}" in text
    assert "- 定义 definition: Σ 已完成整治数 `completed` ÷ Σ 需整治排口数 `required` × 100" in text
    assert "满足 水质类别 ∈ {Ⅰ、Ⅱ、Ⅲ} 的水质断面 `water_sections` 的行数 ÷ 满足 断面级别 ∈ {国考} 的" in text
