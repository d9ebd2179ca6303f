"""An outside attack on the published release: relations worked out from the published table alone.

The attacker reads ``release.csv`` (keys, published counts, which cells are hidden), writes down the
relations any reader knows from the cells' names (the race groups add up to all children, the
counties to the state, the windows of years to the wider windows they tile) and asks a linear program
for the smallest and largest value of every hidden count. Nothing here comes from the package's own
relations or audit, so a relation the release forgets (issue 29: the windows of a county, whose single
years are not published, tile the whole range) shows up as a pinned cell.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from equity_helpers.release import table as R

STAGE = "entered_care"


def _tilings(spans: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """For every window, the disjoint windows inside it that cover it exactly (longest first)."""
    out = []
    for w, (f, last) in spans.iterrows():
        inside = spans[(spans["first_year"] >= f) & (spans["last_year"] <= last) & (spans.index != w)]
        inside = inside.assign(n=inside["last_year"] - inside["first_year"]).sort_values(
            ["n", "first_year"], ascending=[False, True])
        taken, parts = set(), []
        for v, r in inside.iterrows():
            years = set(range(int(r["first_year"]), int(r["last_year"]) + 1))
            if not years & taken:
                parts.append(v)
                taken |= years
        if parts and len(taken) == last - f + 1:
            out.append((w, parts))
    return out


def _attack(published: pd.DataFrame) -> pd.DataFrame:
    """Feasible interval of every hidden cell of one stage, from the published cells only."""
    c = published.reset_index(drop=True)
    key = c.set_index(["jurisdiction", "period", "race_ethnicity", "subgroup"]).index
    pos = pd.Series(np.arange(len(c)), index=key)
    rows: list[list[tuple[int, float]]] = []

    def rel(total, parts) -> None:
        if total in pos.index and all(p in pos.index for p in parts):
            rows.append([(int(pos[total]), -1.0), *[(int(pos[p]), 1.0) for p in parts]])

    groups = sorted(set(c["race_ethnicity"]) - {"all"})
    counties = sorted(set(c["jurisdiction"]) - {"Statewide"})
    spans = c.drop_duplicates("period").set_index("period")[["first_year", "last_year"]]
    tilings = _tilings(spans)
    for j, p, s in c[["jurisdiction", "period", "subgroup"]].drop_duplicates().itertuples(index=False):
        rel((j, p, "all", s), [(j, p, g, s) for g in groups])
    for p, r, s in c[["period", "race_ethnicity", "subgroup"]].drop_duplicates().itertuples(index=False):
        rel(("Statewide", p, r, s), [(k, p, r, s) for k in counties])
    for j, r, s in c[["jurisdiction", "race_ethnicity", "subgroup"]].drop_duplicates().itertuples(index=False):
        for w, parts in tilings:
            rel((j, w, r, s), [(j, v, r, s) for v in parts])
    hid = c["suppressed"].to_numpy()
    known = c["count"].astype(float).fillna(0).to_numpy()
    var = np.flatnonzero(hid)
    col = np.full(len(c), -1)
    col[var] = np.arange(len(var))
    A, b = [], []
    for terms in rows:
        if not any(hid[i] for i, _ in terms):
            continue
        A.append({col[i]: a for i, a in terms if hid[i]})
        b.append(-sum(a * known[i] for i, a in terms if not hid[i]))
    ii = [r for r, d in enumerate(A) for _ in d]
    jj = [k for d in A for k in d]
    vv = [v for d in A for v in d.values()]
    M = coo_matrix((vv, (ii, jj)), shape=(len(A), len(var))).tocsr()
    bounds = [(1, 2 * known.max() + 1000)] * len(var)  # a hidden count is never zero
    low, high = [], []
    for k in range(len(var)):
        e = np.zeros(len(var))
        e[k] = 1
        lo = linprog(e, A_eq=M, b_eq=b, bounds=bounds, method="highs")
        hi = linprog(-e, A_eq=M, b_eq=b, bounds=bounds, method="highs")
        assert lo.status == 0 and hi.status == 0, "the published table and the true relations agree"
        low.append(lo.fun)
        high.append(-hi.fun)
    return c.iloc[var].assign(low=low, high=high)


@pytest.fixture(scope="module")
def attacked(sample_release, tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    sample_release.write(out)
    published = pd.read_csv(out / "release.csv", dtype={"subgroup": str})
    published = published[(published["family"] == "stages") & (published["stage"] == STAGE)]
    return _attack(published)


def test_the_attack_sees_the_tiling_of_county_windows(attacked):
    """The relation the release once forgot: counties publish no single years, but their three-year
    windows tile the whole range; the attack uses it (and still pins nothing, below)."""
    county_whole = attacked[(attacked["jurisdiction"] != "Statewide") & (attacked["period"] == "FY2020-FY2025")]
    assert len(county_whole) > 20, "counties hide whole-range cells the tiling relation reaches"


def test_an_outside_attack_pins_no_hidden_cell(attacked, sample_release, sample_data):
    width = attacked["high"] - attacked["low"]
    assert (width >= 1 - 1e-6).all(), attacked[width < 1 - 1e-6][["jurisdiction", "period", "race_ethnicity"]]
    # and every small count keeps six values (the truth is known to the test, never to the reader)
    truth = R.release_cells(sample_data, windows=R.windows_for(2020, 2025))
    m = attacked.merge(truth[R.CELL_KEYS + ["value"]], on=R.CELL_KEYS)
    small = m[(m["value"] >= 1) & (m["value"] <= 10)]
    assert len(small) > 50 and ((small["high"] - small["low"]) >= 5 - 1e-6).all()
    # the release's own audit is never wider than what this reader can rule out
    audit = sample_release.audit
    m = attacked.merge(audit, on=["family", "jurisdiction", "period", "race_ethnicity", "subgroup", "stage"],
                       suffixes=("", "_audit"))
    assert len(m) == len(attacked)
    assert (m["low_audit"] >= m["low"] - 1e-6).all() and (m["high_audit"] <= m["high"] + 1e-6).all()
