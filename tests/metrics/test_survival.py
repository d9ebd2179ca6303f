"""Time in care: Kaplan-Meier, competing exits, CFSR-style rules, and the sample's planted stays."""
import numpy as np
import pandas as pd
import pytest

import equity_helpers as eh
from equity_helpers.metrics import survival as sv


def _cohort(times, events, group="g", types=None):
    return pd.DataFrame({"child_id": [f"c{i}" for i in range(len(times))], "period": 1, "race_ethnicity": group,
                         "days": times, "exited": [bool(e) for e in events],
                         "exit_type": types if types is not None else ["exit" if e else "" for e in events]})


def test_kaplan_meier_freireich(cases):
    c = cases["freireich_1963_kaplan_meier"]
    for arm in ("6MP", "placebo"):
        i, e = c["inputs"][arm], c["expected_outputs"][arm]
        cohort = _cohort(i["time"], i["event"], group=arm)
        km = sv.kaplan_meier(cohort, include_all=False).set_index("days")
        for t, s in e["survival_at_event_times"].items():
            assert km.loc[float(t), "in_care"] == pytest.approx(s, abs=5e-5)
        assert (km["in_care_low"] <= km["in_care"] + 1e-12).all()
        med = sv.median_stay(cohort, reference=arm, policy=None).iloc[0]
        assert med.median_days == e["median"] and med.exits == e["n_events"]


def test_log_rank_between_arms(cases):
    c = cases["freireich_1963_kaplan_meier"]["inputs"]
    cohort = pd.concat([_cohort(c["6MP"]["time"], c["6MP"]["event"], "6MP"),
                        _cohort(c["placebo"]["time"], c["placebo"]["event"], "placebo")], ignore_index=True)
    cohort["child_id"] = [f"x{i}" for i in range(len(cohort))]
    med = sv.median_stay(cohort, reference="placebo", policy=None).set_index("race_ethnicity")
    assert med.loc["6MP", "test"] == "log-rank"
    assert med.loc["6MP", "p_value"] == pytest.approx(4.17e-05, rel=0.02)  # the textbook chi-square 16.8


def test_competing_exits_aalen_johansen(cases):
    c = cases["competing_exits_aalen_johansen_hand"]
    recs = c["inputs"]["records"]
    cohort = _cohort([r["time"] for r in recs], [r["event"] != "censored" for r in recs],
                     types=[r["event"] if r["event"] != "censored" else "" for r in recs])
    cif = sv.cumulative_incidence(cohort, include_all=False).pivot(index="days", columns="exit_type", values="cif")
    for step in c["expected_outputs"]["steps"]:
        row = cif.loc[step["t"]]
        assert row["reunification"] == pytest.approx(step["CIF_reunif"], abs=1e-6)
        assert row["adoption"] == pytest.approx(step["CIF_adopt"], abs=1e-6)
        assert row["still in care"] == pytest.approx(step["S_any"], abs=1e-6)
    assert np.allclose(cif.sum(axis=1), 1.0)
    naive = c["expected_outputs"]["naive_one_minus_KM_reunif_treating_adoption_as_censored_at_14"]
    assert cif.loc[14, "reunification"] < naive


def _cfsr_children(case):
    return pd.DataFrame(case["inputs"]["children"])


def test_p1_permanency_in_12_months_with_and_without_thv(cases):
    c = cases["cfsr3_p1_permanency_12m_entries_thv_hand"]
    e = c["expected_outputs"]
    kids = _cfsr_children(c)
    res = sv.permanency_in_12_months(kids, period_start=c["inputs"]["period_start"],
                                     period_end=c["inputs"]["period_end"]).set_index("id")
    assert res.loc["C2", "excluded"].startswith("in care fewer than 8 days")
    assert res.loc["C3", "excluded"].startswith("entered at age 18")
    assert res.loc["C4", "stay_days"] == e["length_of_stay_days"]["C4_raw"]
    assert res.loc["C4", "thv_days"] == e["length_of_stay_days"]["C4_thv_days"]
    assert res.loc["C4", "adjusted_stay_days"] == e["length_of_stay_days"]["C4_adjusted"]
    assert int(res["in_denominator"].sum()) == e["denominator"]
    assert sorted(res.index[res["in_numerator"]]) == e["numerator_ids"]
    assert 100 * res["in_numerator"].sum() / res["in_denominator"].sum() == pytest.approx(e["percent"], abs=0.01)
    raw = sv.permanency_in_12_months(kids, period_start=c["inputs"]["period_start"],
                                     period_end=c["inputs"]["period_end"], thv_adjustment=False)
    assert 100 * raw["in_numerator"].sum() / raw["in_denominator"].sum() == pytest.approx(
        e["percent_without_thv_adjustment"], abs=0.01)


def test_p4_reentry(cases):
    c = cases["cfsr3_p4_reentry_hand"]
    e = c["expected_outputs"]
    res = sv.reentry_in_12_months(_cfsr_children(c), period_start=c["inputs"]["period_start"],
                                  period_end=c["inputs"]["period_end"]).set_index("id")
    assert sorted(res.index[res["in_denominator"]]) == e["denominator_ids"]
    assert sorted(res.index[res["in_numerator"]]) == e["numerator_ids"]


def test_p5_moves_per_1000_days(cases):
    c = cases["cfsr3_p5_placement_stability_hand"]
    e = c["expected_outputs"]
    res = sv.placement_moves_per_1000_days(_cfsr_children(c), period_start=c["inputs"]["period_start"],
                                           period_end=c["inputs"]["period_end"]).set_index("id")
    inc = res[res["in_denominator"]]
    assert inc["days_in_period"].to_dict() == e["days_in_period"]
    assert inc["days_in_period"].sum() == e["total_days"] and inc["moves"].sum() == e["total_moves"]
    assert 1000 * inc["moves"].sum() / inc["days_in_period"].sum() == pytest.approx(e["moves_per_1000_days"],
                                                                                    abs=1e-4)


def test_p2_p3_children_already_in_care():
    f = pd.DataFrame({
        "id": ["a", "b", "c", "d", "e"],
        "entry": ["2021-06-01", "2020-01-15", "2021-09-15", "2021-03-01", "2022-09-01"],
        "exit": ["2023-03-01", None, "2023-08-01", "2023-06-01", None],
        "exit_reason": ["reunification", None, "adoption", "emancipation", None],
        "birth_date": ["2015-01-01", "2010-01-01", "2012-01-01", "2005-05-01", "2016-01-01"],
        "age_at_entry": [6, 10, 9, 15.8, 6],
    })
    p2 = sv.permanency_for_children_in_care(f, period_start="2022-10-01", period_end="2023-09-30", min_months=12,
                                            max_months=23).set_index("id")
    # a: 16 months on day 1, reunified; c: 12 months, adopted; d: 19 months but exits at 18 (not permanency)
    assert sorted(p2.index) == ["a", "c", "d"]
    assert sorted(p2.index[p2["in_numerator"]]) == ["a", "c"]
    p3 = sv.permanency_for_children_in_care(f, period_start="2022-10-01", period_end="2023-09-30", min_months=24)
    assert list(p3["id"]) == ["b"] and not p3["in_numerator"].any()


def test_entry_cohort_exclusions_and_censoring(tiny):
    data = eh.validate(tiny, extract_date="2024-12-31")
    cohort = sv.entry_cohort(data)
    assert set(cohort["child_id"]) == {"A", "D", "F", "E"}
    d = cohort.set_index("child_id")
    assert not d.loc["D", "exited"] and d.loc["D", "days"] == (pd.Timestamp("2024-12-31") - pd.Timestamp("2023-06-01")).days
    assert d.loc["E", "exit_type"] == "relative or guardianship"
    tiny["episodes"].loc[2, "exit_date"] = "2023-04-13"  # F's first stay becomes 3 days
    short = sv.entry_cohort(eh.validate(tiny, extract_date="2024-12-31"))
    assert short.attrs["excluded"]["stays under 8 days"] == 1


def test_sample_black_and_aian_children_stay_longer(sample_data):
    cohort = sv.entry_cohort(sample_data)
    med = sv.median_stay(cohort, reference="white").set_index("race_ethnicity")
    for g in ("black", "aian"):
        assert med.loc[g, "median_days"] > med.loc["white", "median_days"]
        assert med.loc[g, "p_value"] < 0.001
    cif = sv.cumulative_incidence(cohort, groups=["white", "black"], include_all=False)
    at = cif[cif.days <= 365].groupby(["race_ethnicity", "exit_type"])["cif"].last()
    assert at[("black", "reunification")] < at[("white", "reunification")]


def test_federal_measures_by_group_on_sample(sample_data):
    m = sv.federal_measures(sample_data, period=2022)
    stages = set(m["stage"])
    assert {"P1_permanency_12m_entries", "P4_reentry_12m", "P2_permanency_12_23m", "P3_permanency_24m_plus",
            "first_placement_kin", "P5_moves_per_1000_days"} <= stages
    p1 = m[(m.stage == "P1_permanency_12m_entries")].set_index("race_ethnicity")
    assert p1.loc["black", "rri"] < 1 and p1.loc["white", "rri"] == 1
    assert p1.loc["black", "per"] == 100 and p1.loc["black", "base"] == "P1_entries"
    p5 = m[m.stage == "P5_moves_per_1000_days"].set_index("race_ethnicity")
    assert p5.loc["all", "per"] == 1000 and p5.loc["all", "base"] == "days in care"
    assert 0 < p5.loc["all", "rate"] < 10
    # the last period has no 12 months of follow-up: no P1 or P4
    late = sv.federal_measures(sample_data, period=2025)
    assert "P1_permanency_12m_entries" not in set(late["stage"])
    small = sv.federal_measures(sample_data, period=2022, jurisdiction="Prairie")
    assert small["suppressed"].any() and small.loc[small["suppressed"], "rri"].isna().all()
    assert p1.loc[["white", "black", "all"], "count"].notna().all()
    small_groups = p1[p1["count"].isna()]
    assert small_groups["suppressed"].all()


def test_federal_measures_have_every_group_in_every_county_and_year(sample_data):
    # small counties have years in which no White child entered care: the reference row is then zero
    groups = set(eh.get_scheme("hispanic_first").groups)
    for j in sample_data.jurisdictions:
        for year in (2021, 2024):
            m = sv.federal_measures(sample_data, period=year, jurisdiction=j)
            p1 = m[m.stage == "P1_permanency_12m_entries"]
            assert groups <= set(p1["race_ethnicity"]), (j, year)


def test_log_rank_matches_the_textbook_and_lifelines(cases):
    """Freireich's 6-MP trial: chi-square 16.79 on one degree of freedom (Klein and Moeschberger, example 7.2);
    and on random cohorts with ties and censoring, the same p-value as lifelines' logrank_test."""
    from lifelines.statistics import logrank_test
    from scipy import stats

    c = cases["freireich_1963_kaplan_meier"]["inputs"]
    a, b = c["6MP"], c["placebo"]
    p = sv.logrank_p(a["time"], np.asarray(a["event"], bool), b["time"], np.asarray(b["event"], bool))
    assert stats.chi2.isf(p, 1) == pytest.approx(16.79, abs=0.01)
    rng = np.random.default_rng(7)
    for _ in range(20):
        n, m = rng.integers(2, 300, 2)
        da, db = rng.integers(1, 60, n), rng.integers(1, 60, m)  # ties on purpose
        ea, eb = rng.random(n) < 0.7, rng.random(m) < 0.7
        if not (ea.any() or eb.any()):
            continue
        want = logrank_test(da, db, ea, eb).p_value
        assert sv.logrank_p(da, ea, db, eb) == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_the_release_curve_is_lifelines_kaplan_meier():
    """km_curve (the release's curves, numpy) gives lifelines' Kaplan-Meier estimate, exponential Greenwood
    interval and medians exactly, on cohorts with ties, zero-day stays, no exits and everyone exiting."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    rng = np.random.default_rng(3)
    at = np.array([1, 3, 6, 12, 18, 24, 36]) * 30.44
    for k in range(120):
        n = int(rng.integers(1, 150))
        days = rng.integers(0 if k % 5 == 0 else 1, 800, n).astype(float)
        exited = rng.random(n) < [0.0, 0.5, 0.9, 1.0][k % 4]
        kmf = KaplanMeierFitter().fit(days, exited)
        sf, ci = kmf.survival_function_.iloc[:, 0], kmf.confidence_interval_
        i = np.searchsorted(sf.index.to_numpy(), at, side="right") - 1
        t, s, lo, hi = sv.km_curve(days, exited)
        j = np.searchsorted(t, at, side="right") - 1
        np.testing.assert_allclose(s[j], sf.to_numpy()[i], rtol=1e-12)
        np.testing.assert_allclose(lo[j], ci.iloc[:, 0].to_numpy()[i], rtol=1e-12)
        np.testing.assert_allclose(hi[j], ci.iloc[:, 1].to_numpy()[i], rtol=1e-12)
        med = median_survival_times(ci)
        assert sv.first_below(t, s) == float(kmf.median_survival_time_)
        assert (sv.first_below(t, lo), sv.first_below(t, hi)) == (float(med.iloc[0, 0]), float(med.iloc[0, 1]))
