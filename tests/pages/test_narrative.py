"""Narrative sentences against the measures: direction, suppression, uncertainty, no verdicts."""
import re

import pandas as pd

import equity_helpers as eh
from equity_helpers.pages import narrative


def _table(stage, g_count, g_base, r_count, r_base, basis="decision"):
    counts = pd.DataFrame({"jurisdiction": "X", "period": 2023, "race_ethnicity": ["black", "white"],
                           "stage": stage, "count": [g_count, r_count]})
    if basis == "decision":
        parent = eh.STAGES[stage].decision_base
        counts = pd.concat([counts, pd.DataFrame({"jurisdiction": "X", "period": 2023,
                                                  "race_ethnicity": ["black", "white"], "stage": parent,
                                                  "count": [g_base, r_base]})], ignore_index=True)
        pop = None
        bases = ("decision",)
    else:
        pop = pd.DataFrame({"jurisdiction": "X", "period": 2023, "race_ethnicity": ["black", "white"],
                            "population": [g_base, r_base]})
        bases = ("population",)
    m = eh.measures(counts, pop, reference="white", bases=bases)
    return m[(m.stage == stage) & (m.race_ethnicity == "black")].iloc[0]


def test_unfavourable_higher_rate_with_excess_matches_the_issue_example():
    row = _table("entered_care", 600, 250_000, 500, 500_000, basis="population")
    text = narrative.sentence(row)
    assert text.startswith("Black children entered foster care at 2.4 times the rate of White children")
    assert f"(95% CI of the ratio {row.rri_low:.1f}-{row.rri_high:.1f})" in text
    assert "FY2023" not in text  # the window is the section's lead line
    assert "At the rate of White children, about 350 fewer Black children would have entered care." in text
    assert "chance" not in text


def test_favourable_lower_rate_is_less_likely_and_more_would_have():
    row = _table("reunified_12m", 40, 200, 90, 250)
    text = narrative.sentence(row)
    assert "Black children were less likely than White children to be reunified within 12 months" in text
    assert "about 32 more Black children would have been reunified within 12 months" in text


def test_non_significant_result_says_chance_and_no_excess():
    row = _table("screened_in", 55, 100, 50, 100)
    text = narrative.sentence(row)
    assert "could be due to chance" in text and "fewer" not in text


def test_suppressed_and_insufficient_are_explicit():
    row = _table("entered_care", 7, 60, 40, 200)
    assert row.suppressed
    assert "too small to report" in narrative.sentence(row) and "not zero" in narrative.sentence(row)
    small = _table("aged_out", 0, 30, 12, 200)
    assert "Too few Black children aged out of care to compare reliably" in narrative.sentence(small)


def test_reference_and_total_rows_are_silent():
    row = _table("entered_care", 600, 250_000, 500, 500_000, basis="population")
    ref = row.copy()
    ref["race_ethnicity"] = "white"
    assert narrative.sentence(ref) == ""


def test_no_verdict_words_in_any_sample_sentence(sample_counts, sample_population):
    m = eh.measures(sample_counts, sample_population)
    texts = narrative.sentences(m[(m.period == 2023) & m.jurisdiction.isin(["Statewide", "Granite"])])
    assert len(texts) > 50
    for t in texts:
        assert not re.search(r"\b(unfair|fair|biased|racist|discriminat\w*|good|bad)\b", t, re.I), t
        assert "nan" not in t


def test_suppressed_groups_named_together(sample_counts, sample_population):
    m = eh.measures(sample_counts, sample_population)
    rows = m[(m.jurisdiction == "Granite") & (m.period == 2023) & (m.stage == "reported")]
    texts = narrative.sentences(rows)
    assert sum("too small to report" in t for t in texts) == 1
