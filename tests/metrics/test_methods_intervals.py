"""The small-cell rate-ratio interval (Koopman's score interval) at the boundaries and on worked examples."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import equity_helpers as eh
from equity_helpers.metrics.intervals import koopman_score_ci, koopman_statistic


def test_perondi_2004_worked_example():
    # Fagerland, Lydersen & Laake (2017), ch. 4; R contingencytables test suite:
    # 7/34 vs 1/34 -> Koopman 1.2209 to 42.5757 (Katz log 0.9096 to 53.8695)
    lo, hi = koopman_score_ci(7, 34, 1, 34)
    assert (lo, hi) == pytest.approx((1.2209, 42.5757), abs=5e-5)
    _, klo, khi, _ = eh.katz_log_ci(7, 34, 1, 34)
    assert (float(klo), float(khi)) == pytest.approx((0.9096, 53.8695), abs=5e-5)


@pytest.mark.parametrize("a, n1, c, n2, low, high", [
    (1, 1, 50, 100, 0.4099, 2.4763),      # a proportion of 1 in the group: both limits stay finite
    (5, 5, 50, 82, 0.9129, 1.9939),       # Bluff FY2022 AI/AN screened in (methods review)
    (20, 20, 30, 30, 0.8389, 1.1280),     # both proportions 1: an interval around 1, not [1, 1]
    (30, 30, 29, 30, 0.9153, 1.2001),
])
def test_proportions_of_one_give_real_intervals(a, n1, c, n2, low, high):
    lo, hi = koopman_score_ci(a, n1, c, n2)
    assert (lo, hi) == pytest.approx((low, high), abs=5e-5)
    est = (a / n1) / (c / n2)
    assert lo < est < hi


def test_zero_counts():
    lo, hi = koopman_score_ci(0, 16, 15, 72)  # Ritland et al. (2007): estimate 0
    assert lo == 0 and 0 < hi < 1
    assert koopman_statistic(hi, 0, 16, 15, 72) == pytest.approx(stats.chi2.ppf(0.95, 1), rel=1e-8)
    lo, hi = koopman_score_ci(3, 10, 0, 20)  # estimate infinite
    assert hi == np.inf and lo > 1
    assert np.isnan(koopman_score_ci(0, 5, 0, 5)).all()


def test_rate_ratio_uses_koopman_for_small_cells_and_names_it():
    r = eh.rate_ratio([5, 1], [5, 1], [50, 50], [82, 100], basis="decision").iloc
    assert r[0].ci_method == "Koopman score" and r[0].test == "Fisher exact test"
    assert (r[0].rri_low, r[0].rri_high) == pytest.approx((0.9129, 1.9939), abs=5e-5)
    assert r[1].rri_low == pytest.approx(0.4099, abs=5e-5)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.data())
def test_limits_are_where_the_score_test_turns(n1, n2, data):
    a = data.draw(st.integers(0, n1))
    c = data.draw(st.integers(0, n2))
    if a == 0 and c == 0:
        return
    lo, hi = koopman_score_ci(a, n1, c, n2)
    crit = stats.chi2.ppf(0.95, 1)
    est = (a / n1) / (c / n2) if c else np.inf
    assert lo <= est <= hi
    for limit in (lo, hi):
        if 0 < limit < np.inf:
            assert koopman_statistic(limit, a, n1, c, n2) == pytest.approx(crit, rel=1e-6)
    # inside the interval the test does not reject
    if 0 < lo < hi < np.inf:
        mid = np.sqrt(lo * hi)
        assert koopman_statistic(mid, a, n1, c, n2) <= crit + 1e-9


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 80), st.integers(2, 80), st.data())
def test_interior_cases_agree_with_statsmodels(n1, n2, data):
    from statsmodels.stats.proportion import confint_proportions_2indep

    a = data.draw(st.integers(1, n1 - 1))
    c = data.draw(st.integers(1, n2 - 1))
    lo, hi = koopman_score_ci(a, n1, c, n2)
    slo, shi = confint_proportions_2indep(a, n1, c, n2, method="score", compare="ratio", correction=False)
    assert (lo, hi) == pytest.approx((float(slo), float(shi)), rel=1e-6)


# --------------------------------------------------------------------------- unknown race
def _table(unknown_count=20, suppressed_unknown=False):
    counts = pd.DataFrame({"jurisdiction": "X", "period": 2024, "stage": "reported",
                           "race_ethnicity": ["white", "black", "unknown", "all"],
                           "count": [50, 30, unknown_count, 80 + unknown_count]})
    counts["suppressed"] = [False, False, suppressed_unknown, False]
    pop = pd.DataFrame({"jurisdiction": "X", "period": 2024, "race_ethnicity": ["white", "black", "all"],
                        "population": [500, 200, 700]})
    return counts, pop


def test_unknown_race_left_out_of_di_and_all_other_by_default():
    counts, pop = _table()
    m = eh.measures(counts, pop, reference="all_other", bases=("population",)).set_index("race_ethnicity")
    assert m.attrs["unknown"] == "exclude"
    assert m.loc["black", "di"] == pytest.approx((30 / 80) / (200 / 700))      # 1.3125 on known race
    assert m.loc["black", "ref_count"] == 50 and m.loc["black", "ref_base"] == 500
    assert m.loc["black", "rri"] == pytest.approx((30 / 200) / (50 / 500))
    assert m.loc["unknown", "share"] == pytest.approx(20 / 100)                 # of all children
    assert np.isnan(m.loc["unknown", "di"]) and np.isnan(m.loc["unknown", "rri"])
    old = eh.measures(counts, pop, reference="all_other", bases=("population",), unknown="include")
    old = old.set_index("race_ethnicity")
    assert old.loc["black", "di"] == pytest.approx((30 / 100) / (200 / 700))    # 1.05: every DI low
    assert old.loc["black", "ref_count"] == 70


def test_a_hidden_unknown_count_hides_the_known_race_total():
    counts, pop = _table(unknown_count=4, suppressed_unknown=True)
    m = eh.measures(counts, pop, reference="white", bases=("population",)).set_index("race_ethnicity")
    assert m["di"].isna().all() and m["share"].isna().all()
    assert m.loc["black", "rri"] == pytest.approx((30 / 200) / (50 / 500))  # a named reference needs no total


# --------------------------------------------------------------------------- multiple comparisons
def test_holm_and_bh_match_statsmodels_within_each_decision_point():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    groups = ["white", "black", "hispanic", "aian", "asian", "multiracial"]
    rows = []
    for stage in ("reported", "screened_in"):
        for g in groups:
            rows.append({"jurisdiction": "X", "period": 2024, "race_ethnicity": g, "stage": stage,
                         "count": int(rng.integers(40, 400))})
    counts = pd.DataFrame(rows)
    pop = pd.DataFrame({"jurisdiction": "X", "period": 2024, "race_ethnicity": groups,
                        "population": [5000, 3000, 4000, 600, 900, 1200]})
    for method, sm in (("holm", "holm"), ("bh", "fdr_bh")):
        m = eh.measures(counts, pop, reference="white", bases=("population",), policy=None, adjust=method)
        for _, fam in m.groupby("stage"):
            f = fam.dropna(subset=["p_value"])
            assert len(f) == len(groups) - 1 and (f["comparisons"] == len(f)).all()
            expected = multipletests(f["p_value"], method=sm)[1]
            assert f["p_adjusted"].to_numpy() == pytest.approx(expected, rel=1e-12)
    none = eh.measures(counts, pop, reference="white", bases=("population",), policy=None, adjust="none")
    assert none["p_adjusted"].equals(none["p_value"])


def test_sentences_follow_the_adjusted_result_when_chosen():
    from equity_helpers.pages.narrative import TEMPLATES, sentence

    row = {"race_ethnicity": "black", "reference": "white", "stage": "reported", "period": 2024, "count": 40,
           "base_count": 1000, "base": "child population", "per": 1000, "rate": 40.0, "ref_rate": 30.0,
           "rri": 1.33, "rri_low": 1.01, "rri_high": 1.76, "excess": 10.0, "suppressed": False,
           "unstable": False, "p_value": 0.04, "p_adjusted": 0.16, "comparisons": 4}
    plain = sentence(row)
    adjusted = sentence(row, adjusted=True)
    assert "Holm" not in plain and "could be due to chance" not in plain
    assert adjusted.endswith(TEMPLATES["chance_adjusted"].format(m=4))
    assert sentence({**row, "p_adjusted": 0.03}, adjusted=True) == plain


def test_holm_hand_case():
    # p = 0.01, 0.04, 0.03 -> sorted 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> running max 0.06
    t = pd.DataFrame({"stage": "reported", "p_value": [0.01, 0.04, 0.03, np.nan]})
    from equity_helpers.metrics.intervals import adjust_p_values

    adj, m = adjust_p_values(t, method="holm", family=["stage"])
    assert adj.iloc[:3].tolist() == pytest.approx([0.03, 0.06, 0.06]) and np.isnan(adj.iloc[3])
    assert m.tolist() == [3, 3, 3, 0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.one_of(st.none(), st.sampled_from([0.0, 0.01, 0.02, 0.5, 1.0]),
                                                       st.floats(0, 1))), min_size=0, max_size=40))
def test_holm_over_interleaved_families_equals_statsmodels_family_by_family(rows):
    """All families are adjusted at once (sorted by family, then p); each family's result is the one
    statsmodels gives that family alone, ties and missing p-values included."""
    from statsmodels.stats.multitest import multipletests

    from equity_helpers.metrics.intervals import adjust_p_values

    t = pd.DataFrame(rows, columns=["family", "p_value"]).astype({"p_value": float})
    adj, m = adjust_p_values(t, method="holm", family=["family"])
    for _, f in t.groupby("family"):
        have = f["p_value"].notna()
        assert (m[f.index[~have]] == 0).all() and (m[f.index[have]] == have.sum()).all()
        assert adj[f.index[~have]].isna().all()
        if have.any():
            expected = multipletests(f.loc[have, "p_value"], method="holm")[1]
            assert adj[f.index[have]].to_numpy() == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_exact_tests_agree_with_scipy():
    """The vectorised exact tests (one array of table probabilities per cell) give SciPy's p-values."""
    import numpy as np
    from scipy import stats

    from equity_helpers.metrics.intervals import binomial_test_p, fisher_exact_p

    rng = np.random.default_rng(5)
    tables = [(a, n, c, n) for n in range(1, 30) for a in range(0, min(n, 6) + 1) for c in range(0, n + 1, 2)]
    for _ in range(400):  # small cells against large bases, as the measures use them
        n1, n2 = int(rng.integers(1, 3000)), int(rng.integers(1, 3000))
        tables.append((int(rng.integers(0, min(n1, 12) + 1)), n1, int(rng.integers(0, n2 + 1)), n2))
    for a, n1, c, n2 in tables:
        assert fisher_exact_p(a, n1, c, n2) == pytest.approx(
            stats.fisher_exact([[a, n1 - a], [c, n2 - c]])[1], rel=1e-9, abs=1e-250)
    cases = [(k, n, 0.5) for n in range(1, 25) for k in range(n + 1)]
    for _ in range(400):
        n, p = int(rng.integers(1, 2000)), float(rng.uniform(0.001, 0.999))
        cases.append((int(min(n, max(0, round(n * p + rng.normal(0, 4))))), n, p))
    for k, n, p in cases:
        assert binomial_test_p(k, n, p) == pytest.approx(stats.binomtest(k, n, p).pvalue, rel=1e-9, abs=1e-250)
    assert fisher_exact_p(3, 10, 3, 10) == 1.0 and binomial_test_p(5, 10, 0.5) == 1.0


@pytest.mark.parametrize("a, n1, c, n2", [
    (12, 12, 12, 12),   # both proportions 1 (issue 28: the Katz interval was (1, 1), no p-value)
    (12, 12, 6, 12),    # the group's proportion is 1
    (6, 12, 12, 12),    # the reference's proportion is 1
    (50, 50, 30, 60),   # a proportion of 1 with large counts (Katz would understate the variance)
    (0, 12, 5, 12),     # the group's proportion is 0
    (0, 40, 25, 40),    # 0 against large counts
    (5, 12, 0, 12),     # the reference's proportion is 0
    (0, 12, 0, 12),     # both 0: no ratio
    (0, 12, 12, 12),    # 0 against 1
    (12, 12, 0, 12),    # 1 against 0
])
def test_every_boundary_gets_the_score_interval_and_an_exact_p_value(a, n1, c, n2):
    """A proportion of 0 or 1 on either side: Koopman's score interval (checked against statsmodels'
    score interval for the ratio without its variance correction, which is the same method) and
    Fisher's exact p-value (checked against SciPy), whatever the counts."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    r = eh.rate_ratio([a], [n1], [c], [n2], basis="decision").iloc[0]
    assert r.ci_method == "Koopman score" and r.test == "Fisher exact test"
    assert r.p_value == pytest.approx(stats.fisher_exact([[a, n1 - a], [c, n2 - c]])[1], rel=1e-9)
    if a == 0 and c == 0:
        assert np.isnan(r.rri) and np.isnan(r.rri_low) and np.isnan(r.rri_high) and r.p_value == 1
        return
    lo, hi = koopman_score_ci(a, n1, c, n2)
    assert (r.rri_low, r.rri_high) == pytest.approx((lo, hi), rel=1e-9)
    if c == 0:
        assert np.isnan(r.rri) and r.rri_high == np.inf and r.rri_low > 0
        return
    assert r.rri_low <= r.rri <= r.rri_high and r.rri_low < r.rri_high, "a real interval, never a point"
    if a == 0:
        assert r.rri == 0 and r.rri_low == 0 and 0 < r.rri_high < np.inf
    else:
        assert 0 < r.rri_low < r.rri_high < np.inf
    # statsmodels agrees wherever the reference's proportion is below 1; at a reference proportion of 1 its
    # lower limit stops at the estimate, so there the check is symmetry: swapping the groups inverts the
    # interval (12/12 against 12/12 gives 0.7575 to 1.3201; 6/12 against 12/12, 1/3.9404 to 1/1.3401)
    if c < n2:
        sm = confint_proportions_2indep(a, n1, c, n2, method="score", compare="ratio", correction=False)
        assert (r.rri_low, r.rri_high) == pytest.approx(sm, rel=1e-6, abs=1e-9)
    else:
        lo_s, hi_s = koopman_score_ci(c, n2, a, n1)
        assert r.rri_high == pytest.approx(1 / lo_s, rel=1e-9)
        assert r.rri_low == pytest.approx(1 / hi_s if hi_s < np.inf else 0, rel=1e-9, abs=1e-12)
        if a == n1:
            assert r.p_value == 1
