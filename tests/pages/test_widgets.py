"""Widget callbacks: set widget values and check what the panel displays."""
import pytest


from equity_helpers.pages.views import Filters
from equity_helpers.pages.widgets import DecisionPointPanel



@pytest.fixture(scope="module")
def wb(sample_workbook):
    return sample_workbook


def _text(panel):
    """The sentences the panel's output area shows for the current widget values (outside a kernel
    the Output widget does not capture, so read the view it rendered)."""
    return " ".join([panel.view.lead, *panel.view.sentences])


def test_changing_filters_redraws_the_view(wb):
    panel = DecisionPointPanel(wb, stages=["entered_care"], filters=Filters(first_year=2020, last_year=2025))
    assert panel.view.filters.jurisdiction == "Statewide"
    assert "Black children entered foster care" in _text(panel)
    assert "Over FY2020-FY2025 (six years pooled" in _text(panel)
    panel.jurisdiction.value = "Granite"
    assert panel.view.filters.jurisdiction == "Granite"
    panel.jurisdiction.value = "Riverbend"
    panel.years.value = (2023, 2025)
    assert panel.view.filters.last_year == 2025 and "FY2023-FY2025" in _text(panel)
    panel.years.value = (2023, 2023)
    assert "Single years are published for the whole state only" in _text(panel)
    panel.jurisdiction.value = "Statewide"
    assert "In FY2023:" in _text(panel)
    panel.basis.value = "decision"
    assert "per 100 children with a substantiated or indicated report" in _text(panel)


def test_years_offer_only_published_windows(wb):
    panel = DecisionPointPanel(wb, stages=["entered_care"], filters=Filters(first_year=2020, last_year=2025))
    labels = [label for label, _ in panel.years.options]
    assert labels[0] == "FY2020-FY2025" and "FY2023-FY2025" in labels and "FY2021" in labels
    assert "FY2021-FY2022" not in labels


def test_reference_age_sex_and_scheme(wb):
    panel = DecisionPointPanel(wb, stages=["reported"], filters=Filters(first_year=2020, last_year=2025))
    panel.reference.value = "all_other"
    assert "all other children" in _text(panel)
    panel.age_group.value = "0-4"
    assert "ages 0-4" in str(panel.view.charts()[0].to_dict()["title"])
    panel.sex.value = "female"  # one breakdown at a time: choosing a sex resets the age group
    assert panel.view.filters.age_group == "all" and panel.view.filters.sex == "female"
    panel.scheme.value = "alone_or_in_combination"
    assert [v for _, v in panel.reference.options][:3] == ["white", "black_aic", "aian_aic"]
    assert "Black (alone or in combination) children" in _text(panel)


def test_redraw_for_another_place_reuses_the_cached_measures(wb):
    panel = DecisionPointPanel(wb, stages=["entered_care"], filters=Filters(first_year=2020, last_year=2025))
    release = wb.release("hispanic_first")
    cached = len(release._measures)
    panel.jurisdiction.value = "Lakeshore"
    panel.jurisdiction.value = "Riverbend"
    panel.basis.value = "decision"
    panel.years.value = (2020, 2022)
    assert len(release._measures) == cached  # only new filters (reference, subgroup) compute again
    assert panel.view.filters.jurisdiction == "Riverbend"
