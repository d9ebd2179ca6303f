"""The disclosure engine on hand-made tables whose feasible intervals are worked out by hand (issue 9).

Every test reads the tables as an attacker would: everything visible plus every relation, hidden
cells at least 1 (zeros are never hidden, so a hidden cell is not zero).
"""
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from equity_helpers.privacy import disclosure as D


def _table(values: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"cell": np.arange(len(values)), "name": list(values), "value": list(values.values())})


def _rel(cells: pd.DataFrame, rows: list[tuple[str, list[tuple[str, float]]]]) -> D.Relations:
    """Relations from ("eq"|"le", [(name, coef), ...]) rows."""
    ids = cells.set_index("name")["cell"]
    terms = [(r, int(ids[n]), c) for r, (_, ts) in enumerate(rows) for n, c in ts]
    return D.Relations(pd.DataFrame(terms, columns=["relation", "cell", "coef"]),
                       pd.Series([k for k, _ in rows], index=np.arange(len(rows)), dtype=str))


def _total(total: str, parts: list[str]) -> tuple[str, list[tuple[str, float]]]:
    return ("eq", [(p, 1.0) for p in parts] + [(total, -1.0)])


def _hidden(cells: pd.DataFrame, names: list[str]) -> np.ndarray:
    return cells["name"].isin(names).to_numpy()


def test_one_hidden_cell_in_a_total_is_pinned():
    cells = _table({"a": 4, "b": 30, "c": 50, "T": 84})
    rel = _rel(cells, [_total("T", ["a", "b", "c"])])
    a = D.audit(cells, rel, hidden=_hidden(cells, ["a"])).set_index("cell")
    assert a.loc[0, "low"] == pytest.approx(4) and a.loc[0, "high"] == pytest.approx(4)
    assert a.loc[0, "pinned"] and not a.loc[0, "ok"]


def test_two_hidden_cells_share_the_remainder_exactly():
    """a + b = 84 - 50 = 34 with a, b >= 1: each lies in [1, 33]."""
    cells = _table({"a": 4, "b": 30, "c": 50, "T": 84})
    rel = _rel(cells, [_total("T", ["a", "b", "c"])])
    a = D.audit(cells, rel, hidden=_hidden(cells, ["a", "b"]))
    assert a["low"].tolist() == pytest.approx([1, 1]) and a["high"].tolist() == pytest.approx([33, 33])
    assert a["ok"].all()


def test_seven_hidden_cells_over_seven_is_the_lakeshore_leak():
    """All children 759, shown groups 752: 7 spread over 7 hidden cells each at least 1 (issue 9)."""
    vals = {f"g{i}": 1 for i in range(7)} | {"shown": 752, "all": 759}
    cells = _table(vals)
    rel = _rel(cells, [_total("all", [*[f"g{i}" for i in range(7)], "shown"])])
    a = D.audit(cells, rel, hidden=_hidden(cells, [f"g{i}" for i in range(7)]))
    assert a["pinned"].all() and a["low"].tolist() == pytest.approx([1] * 7)
    protected, proof = D.protect(cells, rel)
    assert protected.loc[protected["name"] == "shown", "hidden"].item(), "the big cell has to go too"
    assert proof["ok"].all()


def test_years_against_the_pooled_window():
    """Pooled 98 = 17 + x + 15 + 20 + 23 + 15: the hidden year is 8 (issue 9's first finding)."""
    years = {"y20": 17, "y21": 8, "y22": 15, "y23": 20, "y24": 23, "y25": 15}
    cells = _table(years | {"pooled": 98})
    rel = _rel(cells, [_total("pooled", list(years))])
    a = D.audit(cells, rel, hidden=_hidden(cells, ["y21"]))
    assert a["low"].item() == pytest.approx(8) and a["high"].item() == pytest.approx(8)
    protected, proof = D.protect(cells, rel)
    hidden = set(protected.loc[protected["hidden"], "name"])
    assert "y21" in hidden and len(hidden) >= 2
    assert proof["ok"].all() and (proof.loc[proof["value"] == 8, "width"] >= 5).all()


def test_an_ordering_alone_bounds_a_hidden_cell():
    """substantiated <= screened in: a hidden 4 under a shown 7 lies in [1, 7] (6 wide: protected);
    under a shown 5 it lies in [1, 5] (4 wide: not protected)."""
    for upper, ok in ((7, True), (5, False)):
        cells = _table({"sub": 4, "scr": upper})
        rel = _rel(cells, [("le", [("sub", 1.0), ("scr", -1.0)])])
        a = D.audit(cells, rel, hidden=_hidden(cells, ["sub"]))
        assert a["high"].item() == pytest.approx(upper) and a["ok"].item() is ok


def test_a_two_by_two_table_with_margins_has_the_textbook_interval():
    """The four interior cells of a 2x2 table with all margins shown: with a11 = 3, a12 = 20,
    a21 = 25, a22 = 40 hidden, a11 ranges over [max(1, 23-64+1)... ] = [1, 22] (a12 >= 1, a21 >= 1,
    a22 = 40 + (3 - a11) + ... ): worked out as a11 + a12 = 23, a21 + a22 = 65, a11 + a21 = 28,
    a12 + a22 = 60, so a11 in [1, 22] and a22 = 37 + a11 in [38, 59]."""
    cells = _table({"a11": 3, "a12": 20, "a21": 25, "a22": 40, "r1": 23, "r2": 65, "c1": 28, "c2": 60, "T": 88})
    rel = _rel(cells, [_total("r1", ["a11", "a12"]), _total("r2", ["a21", "a22"]), _total("c1", ["a11", "a21"]),
                       _total("c2", ["a12", "a22"]), _total("T", ["r1", "r2"])])
    a = D.audit(cells, rel, hidden=_hidden(cells, ["a11", "a12", "a21", "a22"])).set_index("value")
    assert (a.loc[3, "low"], a.loc[3, "high"]) == pytest.approx((1, 22))
    assert (a.loc[40, "low"], a.loc[40, "high"]) == pytest.approx((38, 59))


def test_protect_never_hides_a_zero_and_hides_every_primary_cell():
    cells = _table({"a": 3, "b": 0, "c": 45, "d": 12, "T": 60})
    rel = _rel(cells, [_total("T", ["a", "b", "c", "d"])])
    p, proof = D.protect(cells, rel)
    assert p.set_index("name").loc["a", "reason"] == "primary"
    assert not p.set_index("name").loc["b", "hidden"]
    assert p["hidden"].sum() >= 2 and proof["ok"].all()


@st.composite
def _cube(draw):
    """A random two-way table (rows x columns) with row, column and grand totals."""
    r, c = draw(st.integers(2, 4)), draw(st.integers(2, 5))
    vals = draw(st.lists(st.integers(0, 60), min_size=r * c, max_size=r * c))
    return np.array(vals).reshape(r, c)


def _cube_table(a: np.ndarray) -> tuple[pd.DataFrame, D.Relations]:
    names, vals, rows = [], [], []
    r, c = a.shape
    for i in range(r):
        for j in range(c):
            names.append(f"x{i}{j}")
            vals.append(int(a[i, j]))
    for i in range(r):
        names.append(f"R{i}")
        vals.append(int(a[i].sum()))
    for j in range(c):
        names.append(f"C{j}")
        vals.append(int(a[:, j].sum()))
    names.append("T")
    vals.append(int(a.sum()))
    cells = _table(dict(zip(names, vals)))
    rows += [_total(f"R{i}", [f"x{i}{j}" for j in range(c)]) for i in range(r)]
    rows += [_total(f"C{j}", [f"x{i}{j}" for i in range(r)]) for j in range(c)]
    rows += [_total("T", [f"R{i}" for i in range(r)]), _total("T", [f"C{j}" for j in range(c)])]
    return cells, _rel(cells, rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_cube(), st.sampled_from(["optimal", "greedy"]))
def test_protect_always_passes_an_independent_exact_audit(a, method):
    """Whatever the table and method: every primary cell is hidden, no zero is hidden, and the exact
    audit (two linear programs per hidden cell) agrees that every sensitive cell keeps width 5 and no
    hidden cell is pinned."""
    cells, rel = _cube_table(a)
    p, proof = D.protect(cells, rel, method=method)
    v = cells["value"].to_numpy()
    assert p.loc[(v >= 1) & (v <= 10), "hidden"].all()
    assert not p.loc[v == 0, "hidden"].any()
    exact = D.audit(cells, rel, hidden=p["hidden"])
    assert exact["ok"].all()
    sens = exact[(exact["value"] >= 1) & (exact["value"] <= 10)]
    assert (sens["width"] >= 5 - 1e-7).all()
    # the proof record protect() keeps is consistent with the exact intervals (inside them)
    rec = proof.set_index("cell")
    ex = exact.set_index("cell")
    assert (rec["low"] >= ex["low"] - 1e-6).all() and (rec["high"] <= ex["high"] + 1e-6).all()


def test_a_three_by_three_table_with_one_small_cell_hides_four_cells_not_more():
    """The textbook answer: one small interior cell is protected by the cheapest rectangle through it
    (four interior cells, every margin published) when hiding a bigger count costs more (the
    workbook's rule: 1 + ln(1 + count)). The greedy walk is allowed more; optimal is not."""
    a = np.array([[3, 40, 50], [45, 60, 55], [70, 65, 80]])
    cells, rel = _cube_table(a)
    p, _ = D.protect(cells, rel, cost=1 + np.log1p(cells["value"].to_numpy()))
    hidden = set(p.loc[p["hidden"], "name"])
    assert len(hidden) == 4 and "x00" in hidden
    assert not hidden & {"R0", "R1", "R2", "C0", "C1", "C2", "T"}, "no total is hidden"
    assert D.audit(cells, rel, hidden=p["hidden"])["ok"].all()
    greedy, _ = D.protect(cells, rel, method="greedy")
    assert greedy["hidden"].sum() >= 4


def test_cost_steers_the_rectangle_away_from_what_readers_need():
    """Two rectangles protect x00 equally well; making the middle row dear moves the pattern to the
    bottom row."""
    a = np.array([[3, 40, 50], [45, 60, 55], [70, 65, 80]])
    cells, rel = _cube_table(a)
    cost = (1 + np.log1p(cells["value"].to_numpy())) * np.where(cells["name"].str.startswith("x1"), 100.0, 1.0)
    p, _ = D.protect(cells, rel, cost=cost)
    hidden = set(p.loc[p["hidden"], "name"])
    assert len(hidden) == 4 and not any(n.startswith("x1") for n in hidden)
    assert D.audit(cells, rel, hidden=p["hidden"])["ok"].all()


def test_two_small_cells_of_one_total_protect_each_other():
    """a = 3 and b = 4 beside c = 50 (total 57): a reader knows a + b = 7 with each at least 1, so
    each lies in [1, 6], six values. Only the small cells are hidden; c and the total stay published."""
    cells = _table({"a": 3, "b": 4, "c": 50, "T": 57})
    rel = _rel(cells, [_total("T", ["a", "b", "c"])])
    p, _ = D.protect(cells, rel)
    assert set(p.loc[p["hidden"], "name"]) == {"a", "b"}
    exact = D.audit(cells, rel, hidden=p["hidden"])
    assert exact["ok"].all() and exact["low"].tolist() == pytest.approx([1, 1])
    assert exact["high"].tolist() == pytest.approx([6, 6])


def test_a_secondary_cell_the_published_numbers_determine_is_published_not_hidden():
    """Hiding a big cell to protect a small one can leave it alone in another total (here the
    second row), where a reader would work it out: it is then shown, which tells nothing new."""
    cells = _table({"a": 3, "b": 40, "R1": 43, "c": 50, "d": 60, "R2": 110, "C1": 53, "C2": 100, "T": 153})
    rel = _rel(cells, [_total("R1", ["a", "b"]), _total("R2", ["c", "d"]), _total("C1", ["a", "c"]),
                       _total("C2", ["b", "d"]), _total("T", ["R1", "R2"])])
    p, _ = D.protect(cells, rel)
    hidden = set(p.loc[p["hidden"], "name"])
    assert "a" in hidden and len(hidden) >= 4, "a 2x2 table needs all four interior cells hidden"
    exact = D.audit(cells, rel, hidden=p["hidden"])
    assert exact["ok"].all() and not exact["pinned"].any()


def test_protection_rule_reads_in_plain_words():
    text = D.Protection().describe()
    assert "1 to 10" in text and "6 values" in text
