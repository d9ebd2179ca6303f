"""The whole-chain matrix is shown whole (issue 28): every decision point and every group, never cut."""
import html
import re

import pytest

from equity_helpers.pages.i18n import catalogue
from equity_helpers.pages.story import StoryFilters, chain_matrix
from equity_helpers.pages.views import Filters, matrix_html, rri_matrix_view
from equity_helpers.schema import SCHEMES, STAGES, STATE, sentence_start


def test_the_whole_chain_matrix_shows_every_stage_and_every_group(sample_workbook):
    f = Filters(first_year=2020, last_year=2025)
    m = rri_matrix_view(sample_workbook, filters=f)
    assert m.shape[1] > 20, "wider than pandas shows by default: the case that was cut to '...'"
    page = matrix_html(m, caption="Statewide, FY2020-FY2025")
    assert "…" not in page and "..." not in page
    body_cells = re.findall(r"<td [^>]*>", page)
    assert len(body_cells) == m.size, "every cell of the matrix is in the table"
    for stage in m.index:
        assert stage in page
    for group, measure in m.columns:
        assert group in page and measure in page
    assert "suppressed to protect privacy" in page and "Statewide, FY2020-FY2025" in page


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_matrix_speaks_the_page_language_and_is_whole(sample_workbook, language):
    """The dashboard and the slides show the same matrix in English or Spanish: every decision point and every
    group, both rates and the share index in full, one rate per group on a slide."""
    cat = catalogue(language)
    f = StoryFilters(place=STATE, first_year=2020, last_year=2025, reference="white", basis="population")
    full = chain_matrix(sample_workbook, f, cat)
    compact = chain_matrix(sample_workbook, f, cat, compact=True)
    # the decision points the window holds (a follow-up stage needs its years of follow-up)
    labels = rri_matrix_view(sample_workbook, filters=Filters(first_year=2020, last_year=2025)).index
    stages = [s for s in STAGES if STAGES[s].label in set(labels)]
    assert len(stages) == len(labels) >= 6
    groups = [g for g in SCHEMES[f.race_scheme].groups if g not in ("unknown",)]
    for page in (full, compact):
        assert "…" not in page and "..." not in page
        for s in stages:
            assert html.escape(sentence_start(cat.stage(s))) in page, s
        for g in groups:
            assert html.escape(cat.group_label(g)) in page, g
        assert html.escape(cat.group(f.reference)) in page
    # full: per group both rates and the share index; compact: one column per group
    assert len(re.findall(r"<td [^>]*>", full)) == 3 * len(stages) * len(groups)
    assert len(re.findall(r"<td [^>]*>", compact)) == len(stages) * len(groups)
    assert html.escape(cat.t("matrix_rri_population")) in full and html.escape(cat.t("matrix_di")) in full
    assert html.escape(cat.t("matrix_legend_population")) in compact
    # later decision points have no population base: their decision-based ratio, marked and explained
    assert sentence_start(cat.stage("first_placement_kin")) + " †" in html.unescape(compact)
    assert html.escape(cat.t("matrix_note_decision")) in compact
    assert not re.search(r"<tr>\s*<th[^>]*>[^<]*</th>(\s*<td[^>]*>\s*</td>)+\s*</tr>", compact), "no empty row"
    if language == "es":
        assert "por cada 100 en el paso anterior" in full and "Afroamericanos" in full


def test_the_dashboard_shows_the_matrix_for_its_filters(sample_workbook):
    from equity_helpers.pages.dashboard import Dashboard

    d = Dashboard(sample_workbook, language="es")
    assert "Cada punto de decisión y cada grupo" in d.matrix.value
    d.place.value = "Granite"
    assert "Granite" in d.matrix.value and "Statewide" not in d.matrix.value
