"""Measures against worked examples with known answers (shared/methods/validation_cases.json)."""
import numpy as np
import pandas as pd
import pytest

import equity_helpers as eh
from equity_helpers.privacy.suppression import rse, unstable_mask


def test_katz_log_ci_scipy_doc(cases):
    c = cases["katz_log_ci_relative_risk_scipy_doc"]
    i, e = c["inputs"], c["expected_outputs"]
    rr, lo, hi, se = eh.katz_log_ci(i["group_events"], i["group_total"], i["reference_events"],
                                    i["reference_total"])
    assert rr == pytest.approx(e["relative_risk"], abs=1e-12)
    assert lo == pytest.approx(e["ci_low"], rel=1e-6)
    assert hi == pytest.approx(e["ci_high"], rel=1e-6)
    assert se == pytest.approx(e["se_log_rr"], abs=1e-6)
    # the table-level function uses the same interval when no cell is small
    r = eh.rate_ratio(10, 75, 12, 225, basis="decision").iloc[0]
    assert r.ci_method == "Katz log" and r.rri_low == pytest.approx(e["ci_low"], rel=1e-6)


def test_poisson_exact_ci_count_15(cases):
    c = cases["poisson_exact_ci_count_15"]
    e = c["expected_outputs"]
    lo, hi = eh.poisson_exact_ci(15)
    assert [float(lo), float(hi)] == pytest.approx(e["count_ci"], abs=1e-5)
    counts = pd.DataFrame({"jurisdiction": ["X"], "period": [1], "race_ethnicity": ["g"], "stage": ["reported"],
                           "count": [15]})
    pop = pd.DataFrame({"jurisdiction": ["X"], "period": [1], "race_ethnicity": ["g"], "population": [10000]})
    m = eh.measures(counts, pop, reference="g", bases=("population",), policy=None).iloc[0]
    assert m.rate == pytest.approx(e["rate"]) and [m.rate_low, m.rate_high] == pytest.approx(e["rate_ci"], abs=1e-5)


def test_ncjfcj_di_and_bands(cases):
    c = cases["ncjfcj_di_illustration"]
    di, _, _ = eh.disproportionality_index(40, 100, 20, 100)
    assert di == pytest.approx(c["expected_outputs"]["disproportionality_index"]["African American"], abs=1e-9)
    assert list(eh.di_band([2.0, 1.04, 0.99, 0.94, 1.1, 1.05])) == [
        "over-represented", "no disproportionality", "no disproportionality", "under-represented",
        "over-represented", "over-represented"]


@pytest.mark.parametrize("case", ["ccwip_2016_entries_black_white_disparity_index",
                                  "needell_putnam_hornstein_ca_disproportionality"])
def test_di_ratio_equals_disparity_index(cases, case):
    c = cases[case]
    i, e = c["inputs"], c["expected_outputs"]
    sys_share = i.get("share_of_entries_pct") or i["share_of_system_pct"]
    pop_share = i.get("share_of_child_population_pct") or i["share_of_population_pct"]
    di = {g: float(eh.disproportionality_index(sys_share[g], 100, pop_share[g], 100)[0]) for g in sys_share}
    unr = e.get("unrounded", e["disproportionality_index"])
    for g in ("Black", "White"):
        assert di[g] == pytest.approx(unr[g], abs=5e-3 if case.startswith("ccwip") else 1e-4)
    disparity = di["Black"] / di["White"]
    want = e.get("disparity_index_Black_vs_White")
    assert disparity == pytest.approx(want, abs=0.05 if case.startswith("ccwip") else 1e-4)


def test_casey_shares_di(cases):
    c = cases["casey_2021_national_shares_di"]
    i, e = c["inputs"], c["expected_outputs"]["disproportionality_index"]
    for g, share in i["share_in_foster_care_pct"].items():
        di = float(eh.disproportionality_index(share, 100, i["share_of_child_population_pct"][g], 100)[0])
        assert di == pytest.approx(e[g], abs=1e-4)
    assert eh.di_band([e["Black"]])[0] == "over-represented"
    assert eh.di_band([e["Hispanic"]])[0] == "under-represented"


def test_childstats_population_rri_from_rates(cases):
    c = cases["childstats_fam7a_rri_from_published_rates"]
    for year in ("2022", "2008"):
        rates = c["inputs"]["rates_per_1000"][year]
        groups = [g for g in rates if g != "Total"]
        counts = pd.DataFrame({"jurisdiction": "US", "period": int(year), "race_ethnicity": groups,
                               "stage": "substantiated", "count": [rates[g] * 1000 for g in groups]})
        pop = pd.DataFrame({"jurisdiction": "US", "period": int(year), "race_ethnicity": groups,
                            "population": 1_000_000})
        m = eh.measures(counts, pop, reference="White NH", bases=("population",), policy=None).set_index(
            "race_ethnicity")
        for g, want in c["expected_outputs"][f"rri_vs_White_{year}"].items():
            assert m.loc[g, "rri"] == pytest.approx(want, abs=1e-4)


def test_rse_and_unstable_flags(cases):
    e = cases["rate_stability_rse_thresholds"]["expected_outputs"]
    for n, want in e["rse"].items():
        assert rse(int(n)) == pytest.approx(want, abs=1e-6)
    for n, want in e["flag_unstable_count_le_20"].items():
        assert bool(unstable_mask(np.array([int(n)]))[0]) is want
    for n, want in e["flag_rse_ge_0.30"].items():
        assert bool(rse(int(n)) >= 0.30) is want


def test_afcars_distribution_uses_all_listed_categories(cases):
    c = cases["afcars29_in_care_race_distribution"]
    counts = c["inputs"]["counts"]
    groups = list(counts) + ["all"]
    values = list(counts.values()) + [sum(counts.values())]
    df = pd.DataFrame({"jurisdiction": "US", "period": 2021, "race_ethnicity": groups, "stage": "in_care",
                       "count": values})
    pop = df.drop(columns=["stage", "count"]).assign(population=1)
    m = eh.measures(df, pop, reference="White", bases=("population",), policy=None).set_index("race_ethnicity")
    for g, want in c["expected_outputs"]["percent_of_listed_categories_2dp"].items():
        assert round(m.loc[g, "share"] * 100, 2) == pytest.approx(want, abs=0.005)
    for g, want in c["expected_outputs"]["percent_of_total_rounded_whole"].items():
        assert round(m.loc[g, "share"] * 100) == want


def test_ojjdp_identities_all_others_and_excess():
    # 2020 male referral counts are not in the JSON; use the identities on a constructed table
    counts = pd.DataFrame({"jurisdiction": "X", "period": 1, "race_ethnicity": ["white", "black", "hisp", "all"],
                           "stage": "reported", "count": [400, 300, 200, 900]})
    pop = pd.DataFrame({"jurisdiction": "X", "period": 1, "race_ethnicity": ["white", "black", "hisp", "all"],
                        "population": [40000, 10000, 10000, 60000]})
    w = eh.measures(counts, pop, reference="white", bases=("population",), policy=None).set_index("race_ethnicity")
    o = eh.measures(counts, pop, reference="all_other", bases=("population",), policy=None).set_index(
        "race_ethnicity")
    ov = eh.measures(counts, pop, reference="overall", bases=("population",), policy=None).set_index(
        "race_ethnicity")
    assert w.loc["black", "rri"] == pytest.approx(3.0)
    # all other children: (400 + 200) / 50,000 = 12 per 1,000, so 30 / 12 = 2.5 (not 3.0 as against White)
    assert o.loc["black", "rri"] == pytest.approx(2.5)
    assert ov.loc["black", "rri"] == pytest.approx(w.loc["black", "di"])  # DI = RRI against overall
    assert w.loc["black", "di"] / w.loc["white", "di"] == pytest.approx(w.loc["black", "rri"])
    assert w.loc["black", "excess"] == pytest.approx(300 - 10000 * 0.01)
    assert w.loc["white", "excess"] == 0


def test_acs_moe_of_derived_proportion(cases):
    from equity_helpers.metrics.intervals import acs_moe_proportion

    c = cases["acs_handbook_moe_of_derived_proportion"]
    i, e = c["inputs"], c["expected_outputs"]
    p, moe = acs_moe_proportion(i["numerator_estimate"], i["numerator_moe90"], i["denominator_estimate"],
                                i["denominator_moe90"])
    assert p == pytest.approx(e["proportion"], abs=1e-6)
    assert moe == pytest.approx(e["moe90_proportion"], abs=1e-5)


def test_change_over_time_against_baseline(cases):
    # FAM7.A victimisation rates per 1,000 (as counts per 1,000,000): Black/White RRI 1.974 -> 1.833
    c = cases["childstats_fam7a_rri_from_published_rates"]["inputs"]["rates_per_1000"]
    rows, pops = [], []
    for year, key in ((2008, "2008"), (2022, "2022")):
        for g, name in (("white", "White NH"), ("black", "Black NH")):
            rows.append(("US", year, g, "substantiated", round(c[key][name] * 1000)))
            pops.append(("US", year, g, 1_000_000))
    counts = pd.DataFrame(rows, columns=["jurisdiction", "period", "race_ethnicity", "stage", "count"])
    pop = pd.DataFrame(pops, columns=["jurisdiction", "period", "race_ethnicity", "population"])
    m = eh.measures(counts, pop, reference="white", bases=("population",), policy=None)
    ch = eh.change_over_time(m, baseline=2008).set_index(["race_ethnicity", "period"])
    row = ch.loc[("black", 2022)]
    assert row.rri_change == pytest.approx((12.1 / 6.6) / (15.2 / 7.7), rel=1e-9)
    assert row.rri_change_low < row.rri_change < row.rri_change_high
    assert row.rate_ratio == pytest.approx(12.1 / 15.2, rel=1e-9)
    assert row.p_value < 0.05  # with counts this large the fall is well outside chance
    base = ch.loc[("black", 2008)]
    assert base.rri_change == pytest.approx(1.0)
    with pytest.raises(eh.ParameterError, match="Baseline period 1999"):
        eh.change_over_time(m, baseline=1999)
