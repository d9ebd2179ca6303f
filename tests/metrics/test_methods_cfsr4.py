"""CFSR Round 4 rules, follow-up windows and entry cohorts that count a child once (hand cases)."""
import pandas as pd
import pytest

import equity_helpers as eh
from equity_helpers.metrics import survival as sv


def _frame(rows):
    f = pd.DataFrame(rows, columns=["id", "entry", "exit", "exit_reason", "birth_date", "reentry_date"])
    for c in ("entry", "exit", "birth_date", "reentry_date"):
        f[c] = pd.to_datetime(f[c])
    f["age_at_entry"] = (f["entry"] - f["birth_date"]).dt.days / 365.25
    return f


def test_p1_permanency_must_come_before_the_18th_birthday():
    f = _frame([
        # reunified after 4 months, at 17: permanency
        ("young", "2022-11-01", "2023-03-01", "reunification", "2005-06-01", None),
        # entered at 17, reunified 8 months later, three days after turning 18: not permanency
        ("turned18", "2022-11-01", "2023-07-04", "reunification", "2005-07-01", None),
        # entered at 18: outside the denominator
        ("adult", "2022-11-01", "2023-01-01", "reunification", "2004-10-01", None),
        # 5 days in care: outside the denominator
        ("short", "2022-11-01", "2022-11-06", "reunification", "2015-01-01", None),
    ])
    r = sv.permanency_in_12_months(f, period_start="2022-10-01", period_end="2023-09-30").set_index("id")
    assert sorted(r.index[r["in_denominator"]]) == ["turned18", "young"]
    assert list(r.index[r["in_numerator"]]) == ["young"]
    assert r.loc["adult", "excluded"] == "entered at age 18 or older"
    assert r.loc["short", "excluded"] == "in care fewer than 8 days"


def test_p4_leaves_out_exits_at_18_or_older():
    f = _frame([
        ("home17", "2022-11-01", "2023-03-01", "reunification", "2006-01-01", "2023-08-01"),   # re-entered
        ("home18", "2022-11-01", "2023-09-01", "reunification", "2005-06-01", "2023-10-01"),   # left at 18
        ("adopted", "2022-11-01", "2023-05-01", "adoption", "2015-01-01", None),             # not home
        ("late", "2022-11-01", "2024-01-01", "reunification", "2015-01-01", None),           # after 12 months
    ])
    r = sv.reentry_in_12_months(f, period_start="2022-10-01", period_end="2023-09-30").set_index("id")
    assert list(r.index[r["in_denominator"]]) == ["home17"]
    assert list(r.index[r["in_numerator"]]) == ["home17"]


@pytest.fixture(scope="module")
def sample(sample_data):
    return sample_data


def test_p4_waits_24_months_and_p1_12(sample):
    # the sample's data end on 2025-09-30: FY2024 entrants have had 12 months, not 24
    fy24 = sv.federal_measures(sample, period=2024, policy=None)
    assert "P1_permanency_12m_entries" in set(fy24["stage"]) and "P4_reentry_12m" not in set(fy24["stage"])
    fy23 = sv.federal_measures(sample, period=2023, policy=None)
    assert "P4_reentry_12m" in set(fy23["stage"])
    assert "P1_permanency_12m_entries" not in set(sv.federal_measures(sample, period=2025, policy=None)["stage"])
    # the release's federal year is complete for every measure
    from equity_helpers.release.table import windows_for
    from equity_helpers.release.survival import federal_years
    assert federal_years(sample, windows_for(2020, 2025)) == [2022, 2023]


def test_stage_follow_up_waits_for_the_whole_window(sample):
    counts = eh.stage_counts(sample)
    by_year = counts.groupby("period")["stage"].unique().map(set)
    assert "reentry_12m" in by_year[2024] and "reentry_12m" not in by_year[2025]
    assert "in_care_24m_plus" in by_year[2023] and "in_care_24m_plus" not in by_year[2024]


def test_entry_cohort_counts_each_child_once(sample):
    once = sv.entry_cohort(sample)
    per_year = sv.entry_cohort(sample, once=False)
    assert once["child_id"].is_unique
    later = once.attrs["excluded"]["later entries of children already in the cohort"]
    assert later > 0
    # every child of the per-year cohorts is in the pooled one, at their first entry
    first = per_year.sort_values("entry_date").drop_duplicates("child_id")
    assert set(once["child_id"]) <= set(per_year["child_id"])
    both = once.merge(first[["child_id", "entry_date"]], on="child_id", suffixes=("", "_first"))
    assert (both["entry_date"] == both["entry_date_first"]).mean() > 0.99


def test_stage_permanency_before_18(tiny):
    # D (born 2006-01-01) entered in June 2023 at 17; reunified in March 2024, after turning 18
    tiny["episodes"].loc[1, ["exit_date", "exit_reason"]] = ["2024-03-01", "reunification"]
    data = eh.validate(tiny, extract_date="2025-12-31")
    c = eh.stage_counts(data)
    south = c[(c["jurisdiction"] == "South") & (c["period"] == 2023) & (c["race_ethnicity"] == "all")]
    south = south.set_index("stage")["count"]
    assert south["entered_care"] == 2 and south["permanency_12m"] == 0


def test_cohort_linked_entry_after_substantiation(tiny):
    # A: substantiated 2022-11-01, entered 2022-12-01 (North); D: 2023-05-01 -> 2023-06-01 (South);
    # F: 2023-04-01 -> 2023-04-10 (North) and 2023-06-01 -> 2023-07-01 (South); E: FY2024, North
    data = eh.validate(tiny, extract_date="2025-12-31")
    c = eh.stage_counts(data)
    got = c[(c["race_ethnicity"] == "all") & (c["stage"] == "entered_after_substantiation")]
    got = got.set_index(["jurisdiction", "period"])["count"].to_dict()
    assert got == {("North", 2023): 2, ("South", 2023): 2, ("Statewide", 2023): 3, ("North", 2024): 1,
                   ("South", 2024): 0, ("Statewide", 2024): 1}
    assert eh.STAGES["entered_after_substantiation"].decision_base == "substantiated_followed"
    both = c[c["stage"].isin(["substantiated", "substantiated_followed"]) & (c["race_ethnicity"] == "all")]
    wide = both.pivot_table(index=["jurisdiction", "period"], columns="stage", values="count")
    assert (wide["substantiated"] == wide["substantiated_followed"]).all()  # every finding followed 90 days
    # a finding less than 90 days before the extract date leaves the child out of the followed cohort
    late = eh.stage_counts(eh.validate(tiny, extract_date="2024-01-15"))
    north = late[(late["jurisdiction"] == "North") & (late["period"] == 2024) & (late["race_ethnicity"] == "all")]
    north = north.set_index("stage")["count"]
    assert north["substantiated"] == 1 and north["substantiated_followed"] == 0
    assert north["entered_after_substantiation"] == 0
    # an entry 91 days after the substantiation is not linked to it
    tiny["episodes"].loc[4, "entry_date"] = "2024-03-01"  # E: 91 days after 2023-12-01
    c = eh.stage_counts(eh.validate(tiny, extract_date="2025-12-31"))
    e = c[(c["jurisdiction"] == "North") & (c["period"] == 2024) & (c["race_ethnicity"] == "all")]
    assert e.set_index("stage").loc["entered_after_substantiation", "count"] == 0


def test_titles_keep_proper_name_capitals():
    from equity_helpers.schema import group_children, sentence_start

    assert sentence_start(group_children("aian")) == "American Indian/Alaska Native children"
    assert sentence_start(group_children("multiracial")) == "Children of two or more races"
