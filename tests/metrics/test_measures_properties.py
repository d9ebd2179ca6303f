"""Hypothesis properties of the measures and of suppression."""
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import equity_helpers as eh
from equity_helpers.privacy.suppression import SuppressionPolicy, suppress_counts

GROUPS = ["white", "black", "hispanic", "aian", "asian"]


@st.composite
def chain(draw):
    """Counts for a 2-stage chain (reported -> screened_in) with populations, per group."""
    rows, pops = [], []
    for g in GROUPS:
        pop = draw(st.integers(100, 200_000))
        rep = draw(st.integers(0, min(pop, 5000)))
        scr = draw(st.integers(0, rep))
        rows += [(g, "reported", rep), (g, "screened_in", scr)]
        pops.append((g, pop))
    counts = pd.DataFrame(rows, columns=["race_ethnicity", "stage", "count"]).assign(jurisdiction="X", period=1)
    pop = pd.DataFrame(pops, columns=["race_ethnicity", "population"]).assign(jurisdiction="X", period=1)
    return counts, pop


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chain(), st.sampled_from(GROUPS))
def test_reference_group_rri_is_one_and_intervals_contain_estimates(data, ref):
    counts, pop = data
    m = eh.measures(counts, pop, reference=ref, policy=None)
    own = m[(m.race_ethnicity == ref) & (m.base_count > 0) & (m["count"] > 0)]
    assert np.allclose(own["rri"], 1.0)
    ok = m.dropna(subset=["rri", "rri_low", "rri_high"])
    assert (ok.rri_low <= ok.rri * (1 + 1e-9)).all() and (ok.rri * (1 - 1e-9) <= ok.rri_high).all()
    r = m.dropna(subset=["rate", "rate_low", "rate_high"])
    assert (r.rate_low <= r.rate + 1e-9).all() and (r.rate <= r.rate_high + 1e-9).all()
    d = m.dropna(subset=["di", "di_low", "di_high"])
    assert (d.di_low <= d.di + 1e-9).all() and (d.di <= d.di_high + 1e-9).all()


@settings(max_examples=60, deadline=None)
@given(chain(), st.sampled_from(GROUPS))
def test_di_ratio_equals_rri_when_totals_agree(data, ref):
    counts, pop = data
    m = eh.measures(counts, pop, reference=ref, bases=("population",), policy=None)
    m = m[m.stage == "reported"].set_index("race_ethnicity")
    if m.loc[ref, "di"] > 0:
        ok = m.dropna(subset=["rri", "di"])
        assert np.allclose(ok["di"] / m.loc[ref, "di"], ok["rri"], rtol=1e-9)


@settings(max_examples=60, deadline=None)
@given(chain())
def test_excess_is_observed_minus_expected(data):
    counts, pop = data
    m = eh.measures(counts, pop, reference="white", bases=("decision",), policy=None).dropna(subset=["excess"])
    expected = m["base_count"].astype(float) * m["ref_count"].astype(float) / m["ref_base"].astype(float)
    assert np.allclose(m["excess"], m["count"].astype(float) - expected)


cells = st.lists(st.integers(0, 60), min_size=2, max_size=7)


@settings(max_examples=200, deadline=None)
@given(st.lists(cells, min_size=1, max_size=5).filter(lambda rows: len({len(r) for r in rows}) == 1),
       st.booleans())
def test_no_suppressed_value_recoverable_from_any_published_total(table, zero):
    """Rows x columns with row totals, column totals and a grand total: no margin holds exactly one
    hidden cell, so no hidden value equals a published total minus published cells."""
    arr = np.array(table)
    recs = []
    R, C = arr.shape
    full = np.zeros((R + 1, C + 1), int)
    full[:R, :C] = arr
    full[R, :C] = arr.sum(0)
    full[:R, C] = arr.sum(1)
    full[R, C] = arr.sum()
    for i in range(R + 1):
        for j in range(C + 1):
            recs.append((f"r{i}" if i < R else "all", f"c{j}" if j < C else "Statewide", int(full[i, j])))
    df = pd.DataFrame(recs, columns=["race_ethnicity", "jurisdiction", "count"])
    out = suppress_counts(df, keys=["race_ethnicity", "jurisdiction"], margins=["race_ethnicity", "jurisdiction"],
                          policy=SuppressionPolicy(suppress_zero=zero))
    assert (out.loc[(out["count"] >= 1) & (out["count"] <= 10), "suppressed"]).all()
    for col, other in (("race_ethnicity", "jurisdiction"), ("jurisdiction", "race_ethnicity")):
        n_hidden = out.groupby(other)["suppressed"].sum()
        assert not (n_hidden == 1).any()


@settings(max_examples=40, deadline=None)
@given(chain())
def test_every_measure_from_a_suppressed_count_is_hidden(data):
    counts, pop = data
    total = counts.groupby("stage", as_index=False)["count"].sum().assign(race_ethnicity="all", jurisdiction="X",
                                                                          period=1)
    counts = pd.concat([counts, total], ignore_index=True)
    pop = pd.concat([pop, pd.DataFrame({"race_ethnicity": ["all"], "population": [pop.population.sum()],
                                        "jurisdiction": ["X"], "period": [1]})], ignore_index=True)
    m = eh.measures(counts, pop, reference="white")
    hidden = m[m["count"].isna()]
    cols = ["rate", "rate_low", "rate_high", "share", "di", "rri", "rri_low", "rri_high", "excess", "p_value"]
    assert hidden[cols].isna().all().all()
    assert hidden["suppressed"].all()
    # a decision-based row whose base stage count is hidden hides its base too
    dec = m[(m.basis == "decision")].merge(
        m[(m.basis == "population") & (m.stage == "reported")][["race_ethnicity", "count"]],
        on="race_ethnicity", suffixes=("", "_parent"))
    assert dec.loc[dec["count_parent"].isna(), "base_count"].isna().all()
