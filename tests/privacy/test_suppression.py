"""The small-numbers policy."""
import numpy as np
import pandas as pd

import equity_helpers as eh
from equity_helpers.privacy.suppression import SuppressionPolicy, suppress_counts


def test_ccwip_primary_and_complementary(cases):
    c = cases["ccwip_masking_rule_with_complementary_hand"]
    row = c["inputs"]["row"]
    df = pd.DataFrame({"race_ethnicity": [k if k != "Total" else "all" for k in row], "count": list(row.values())})
    out = suppress_counts(df, keys=["race_ethnicity"], margins=["race_ethnicity"]).set_index("race_ethnicity")
    e = c["expected_outputs"]
    assert list(out.index[out.suppression == "primary"]) == e["primary_suppressed"]
    assert list(out.index[out.suppression == "complementary"]) == e["complementary_suppressed"]
    shown = out[~out.suppressed]["count"].to_dict()
    assert shown == {("all" if k == "Total" else k): v for k, v in e["displayed"].items()}


def test_zero_is_shown_unless_policy_says_otherwise():
    df = pd.DataFrame({"g": ["a", "b", "c", "all"], "count": [0, 50, 40, 90]})
    assert not suppress_counts(df, keys=["g"], margins=["g"])["suppressed"].any()
    z = suppress_counts(df, keys=["g"], margins=["g"], policy=SuppressionPolicy(suppress_zero=True))
    assert z.set_index("g").loc["a", "suppression"] == "primary"
    assert z["suppressed"].sum() == 2


def test_illinois_masking_rule_as_a_policy(cases):
    c = cases["illinois_rdi_masking_rule"]
    policy = SuppressionPolicy(max_count=20, min_group_share=0.001, complementary=False, min_base=0,
                               min_numerator=0)
    masked = []
    for t in c["inputs"]["tests"]:
        pop_g = int(round(t["base_share"] * 1_000_000))
        counts = pd.DataFrame({"jurisdiction": "IL", "period": 2024, "race_ethnicity": ["g", "ref", "all"],
                               "stage": "entered_care", "count": [t["count"], 500, 500 + t["count"]]})
        pop = pd.DataFrame({"jurisdiction": "IL", "period": 2024, "race_ethnicity": ["g", "ref", "all"],
                            "population": [pop_g, 1_000_000 - pop_g, 1_000_000]})
        m = eh.measures(counts, pop, reference="ref", bases=("population",), policy=policy).set_index("race_ethnicity")
        masked.append(bool(np.isnan(m.loc["g", "di"])))
    assert masked == c["expected_outputs"]["masked"]


def test_policy_is_described_in_words():
    text = SuppressionPolicy().describe()
    assert "Counts from 1 to 10" in text and "cannot be worked out" in text


def test_measures_flags_on_sample(sample_counts, sample_population):
    m = eh.measures(sample_counts, sample_population)
    small = m[(m.jurisdiction == "Prairie") & m.suppressed]
    assert len(small) > 0 and small["rri"].isna().all()
    big = m[(m.jurisdiction == "Statewide") & (m.race_ethnicity == "black") & (m.stage == "reported")]
    assert not big["suppressed"].any() and big["rri"].notna().all()
    assert m.loc[m["count"].notna() & (m["count"] <= 20) & (m["base_count"] > 0), "unstable"].all()


def test_shareable_counts_never_show_small_cells(sample_counts):
    safe = eh.shareable_counts(sample_counts)
    shown = safe[~safe.suppressed]["count"]
    assert not ((shown >= 1) & (shown <= 10)).any()
    assert (safe.loc[safe.suppressed, "shown"] == "suppressed").all()
