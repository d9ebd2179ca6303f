"""What the release publishes of a subgroup breakdown (issue 29, "Look at what the release publishes"): children
whose sex was not recorded are counted with male children, and equity breakdowns only at the decision points
pages read (all children, age groups and sexes at every one). Checked against counts made without either."""
import pandas as pd
import pytest

from equity_helpers.counting.stages import stage_counts
from equity_helpers.release.table import BREAKDOWN_STAGES, BREAKDOWNS, Window, level_label, release_cells, windows_for

KEYS = ["jurisdiction", "race_ethnicity", "stage"]


@pytest.fixture(scope="module")
def cells(sample_data):
    fy, ly = sample_data.first_year, sample_data.last_year
    c = release_cells(sample_data, windows=windows_for(fy, ly), breakdowns=("sex", "age_group", "disability"),
                      equity_windows={Window(fy, ly)})
    return c[c["period"] == Window(fy, ly).label]


def test_children_whose_sex_is_not_recorded_are_counted_with_male_children(cells, sample_data):
    raw = stage_counts(sample_data, by=("sex",), include_counties=False)
    raw = raw.groupby([*KEYS, "sex"], observed=True)["count"].sum().reset_index()  # child-years, whole range
    assert raw.loc[raw["sex"] == "unknown", "count"].sum() > 0  # the sample has some
    assert not cells["subgroup"].eq("sex:unknown").any()
    want = raw.assign(sex=raw["sex"].replace({"unknown": "male"})).groupby([*KEYS, "sex"])["count"].sum()
    got = cells[cells["subgroup"].str.startswith("sex:")]
    got = got.set_index([*KEYS, got["subgroup"].str.split(":").str[1].rename("sex")])["value"]
    pd.testing.assert_series_equal(got.sort_index(), want.reindex(got.index).sort_index(), check_names=False)
    assert level_label("sex", "male") == "male (incl. sex not recorded)" and level_label("sex", "female") == "female"


def test_equity_breakdowns_are_published_at_the_decision_points_pages_read(cells):
    stages = lambda sub: set(cells.loc[sub, "stage"])  # noqa: E731
    every = stages(cells["subgroup"] == "all")
    assert every - set(BREAKDOWN_STAGES), "the whole range has exits: the check below would prove nothing"
    for b in BREAKDOWNS:  # filters of every decision-point page
        assert stages(cells["subgroup"].str.startswith(b + ":")) == every
    assert stages(cells["subgroup"].str.startswith("disability:")) == every & set(BREAKDOWN_STAGES)
