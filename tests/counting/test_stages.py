"""Stage counts against hand counts on the tiny fixture (see conftest.tiny_raw)."""
import pandas as pd
import pytest

import equity_helpers as eh


def _get(c, j, p, g, s):
    row = c[(c.jurisdiction == j) & (c.period == p) & (c.race_ethnicity == g) & (c.stage == s)]
    return None if row.empty else int(row["count"].iloc[0])


@pytest.fixture
def counts(tiny):
    data = eh.validate(tiny, extract_date="2024-12-31")
    return eh.stage_counts(data)


def test_unique_children_per_county_and_state(counts):
    # F is reported in both counties: once in each county, once in the state
    assert _get(counts, "North", 2023, "all", "reported") == 3
    assert _get(counts, "South", 2023, "all", "reported") == 3
    assert _get(counts, "Statewide", 2023, "all", "reported") == 5
    assert _get(counts, "Statewide", 2023, "black", "reported") == 2
    assert _get(counts, "Statewide", 2023, "multiracial", "reported") == 1


def test_decision_chain(counts):
    assert _get(counts, "South", 2023, "all", "screened_in") == 2  # C was screened out
    assert _get(counts, "Statewide", 2023, "all", "screened_in") == 4
    assert _get(counts, "North", 2023, "all", "substantiated") == 2  # B unsubstantiated
    assert _get(counts, "Statewide", 2023, "all", "substantiated") == 3
    assert _get(counts, "Statewide", 2024, "hispanic", "substantiated") == 1


def test_entries_and_first_placement_use_first_entry(counts):
    assert _get(counts, "Statewide", 2023, "all", "entered_care") == 3
    assert _get(counts, "South", 2023, "all", "entered_care") == 2
    # F's first entry in the state (North) was non-kin, so the state counts one kin entrant (A)
    assert _get(counts, "Statewide", 2023, "all", "first_placement_kin") == 1
    assert _get(counts, "South", 2023, "all", "first_placement_kin") == 1
    assert _get(counts, "Statewide", 2023, "aian", "first_placement_congregate") == 1


def test_cohort_stages_and_reentry(counts):
    assert _get(counts, "Statewide", 2023, "all", "permanency_12m") == 2
    assert _get(counts, "North", 2023, "black", "reunified_12m") == 2
    assert _get(counts, "Statewide", 2023, "all", "exited_to_family") == 2
    assert _get(counts, "North", 2023, "all", "reentry_12m") == 1  # F re-entered (in South)
    assert _get(counts, "North", 2024, "all", "exited") == 1


def test_follow_up_windows_not_met_are_not_counted(counts):
    # 24 months after FY2023 is past the extract date; 12 months after FY2024 too
    assert _get(counts, "Statewide", 2023, "all", "in_care_24m_plus") is None
    assert _get(counts, "Statewide", 2024, "all", "reentry_12m") is None
    assert _get(counts, "Statewide", 2024, "all", "permanency_12m") is None


def test_zero_rows_for_groups_with_population(counts):
    assert _get(counts, "North", 2023, "asian", "reported") == 0


def test_breakdown_by_age_and_sex(tiny):
    data = eh.validate(tiny, extract_date="2024-12-31")
    c = eh.stage_counts(data, by=["age_group", "sex"])
    row = c[(c.jurisdiction == "South") & (c.period == 2023) & (c.race_ethnicity == "aian")
            & (c.stage == "reported") & (c.age_group == "15-17") & (c.sex == "female")]
    assert int(row["count"].iloc[0]) == 1
    total = c[(c.jurisdiction == "Statewide") & (c.period == 2023) & (c.race_ethnicity == "all")
              & (c.stage == "reported")]["count"].sum()
    assert total == 5


def test_alone_or_in_combination_counts_a_child_in_each_group(tiny):
    data = eh.validate(tiny, extract_date="2024-12-31")
    tiny_pop = data.population
    extra = tiny_pop[tiny_pop.race_ethnicity == "black"].assign(race_ethnicity="black_aic")
    extra2 = tiny_pop[tiny_pop.race_ethnicity == "aian"].assign(race_ethnicity="aian_aic")
    data.population = pd.concat([tiny_pop, extra, extra2], ignore_index=True)
    c = eh.stage_counts(data, scheme="alone_or_in_combination")
    # A, F (Black) and C (Black and White): 3 Black alone-or-in-combination children statewide
    assert _get(c, "Statewide", 2023, "black_aic", "reported") == 3
    assert _get(c, "Statewide", 2023, "white", "reported") == 1  # B only; C is multiracial


def test_scheme_without_population_categories_is_an_error(tiny):
    data = eh.validate(tiny)
    with pytest.raises(eh.ParameterError, match="needs population counts for"):
        eh.population_table(data, scheme="alone_or_in_combination")


def test_events_at_18_or_older_are_left_out_and_counted(tiny):
    tiny["children"].loc[3, "birth_date"] = "2005-01-01"  # D is 18 at her report and entry
    data = eh.validate(tiny, extract_date="2024-12-31")
    c = eh.stage_counts(data)
    assert _get(c, "South", 2023, "aian", "reported") == 0
    assert c.attrs["excluded"]["events at age 18 or older"] >= 3


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_several_breakdowns_at_once_are_each_as_counted_alone(sample_data, engine):
    from equity_helpers.counting.stages import stage_counts_each

    data = sample_data if engine == "duckdb" else sample_data.to_validated()
    bys = [(), ("age_group", "sex"), ("disability",), ("dv_involved",), ("sex", "meeting_at_report")]
    each = stage_counts_each(data, bys=bys, include_counties=False)
    assert len(each) == len(bys)
    for by, got in zip(bys, each):
        alone = eh.stage_counts(data, by=by, include_counties=False)
        pd.testing.assert_frame_equal(got, alone)
        assert got.attrs == alone.attrs
