"""Time in care in the release table: entry cohorts, curve points, exits and federal-style measures.

Everything the time-in-care page can publish is a cell of the release table (family
``"time_in_care"`` or ``"federal"``) or a statistic tied to cells (:data:`STAT_COLUMNS`), so that
cohort sizes, curve points, exit shares and the CFSR-style measures are protected like any count
(issue 9; ``docs/architecture.md``, "Small numbers and privacy"):

* ``cohort``: children entering care in a pooled window (first entry in the window; stays under
  8 days and entries at 18 or older left out, :func:`equity_helpers.metrics.survival.entry_cohort`);
* ``left_by_MMm``: children of the cohort who had left care by month MM of :data:`MONTHS` (the
  others are the cohort minus them, so they are not a cell of their own: publishing both would
  double every suppression). A published curve point is treated as revealing the count exactly
  (conservative: censoring makes the Kaplan-Meier value reveal less);
* ``exit_<type>_by_MMm``: exits of each type by the horizons of :data:`HORIZONS`;
* federal-style measures of one fiscal year: numerators and denominators of P1-P4 and kin
  placement, and P5's moves (its days in care are a base, like a population).

Relations a reader could use: groups add to all children; counties to the state where they do
(else the inequalities); ``left_by <= cohort``; curves never fall back
(``left_by`` grows with the month); exit types add to ``left_by`` at each horizon and grow with it;
the cohort is no larger than the window's entries to care; numerators are within denominators.
Statistics (Kaplan-Meier values and intervals, medians, log-rank p-values, exit shares) are
published only where every cell they rest on is published (:func:`visible_stats`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from equity_helpers.metrics import survival
from equity_helpers.metrics.rates import measures
from equity_helpers.schema import ALL, STAGES, period_bounds

__all__ = ["published_federal_measures", "MONTHS", "HORIZONS", "DAYS_PER_MONTH", "STAT_COLUMNS", "survival_release",
           "federal_release", "federal_years", "survival_relation_terms", "visible_stats", "exit_slug", "DAYS_COLUMNS"]

MONTHS = (3, 6, 12, 18, 24, 36)
"""Months since entry at which the share still in care is published."""
HORIZONS = (12, 24)
"""Months since entry at which exits by type are published."""
DAYS_PER_MONTH = 30.44
EXIT_ORDER = ("reunification", "relative or guardianship", "adoption", "aged out", "other exit")
FEDERAL_SAME_AS = (("first_placement_kin", "first_placement_kin"), ("P1_entries", "entered_care"))
"""Federal cells and the stage cells that count the same children where the values agree (linked by
an equality wherever they are equal on the data, so that one cannot reveal the other)."""
FEDERAL_PAIRS = (("P1_permanency_12m_entries", "P1_entries"), ("first_placement_kin", "P1_entries"),
                 ("P4_reentry_12m", "P4_exits_home_12m"), ("P2_permanency_12_23m", "P2_in_care_12_23m"),
                 ("P3_permanency_24m_plus", "P3_in_care_24m_plus"))
STAT_COLUMNS = ["family", "jurisdiction", "period", "race_ethnicity", "stat", "month", "exit_type", "reference",
                "value", "low", "high", "needs"]
"""Statistics tied to cells: ``needs`` lists the stages (of the same place, window and group, plus
``|ref`` for the reference group's) whose cells must all be published for the statistic to be."""


def exit_slug(exit_type: str) -> str:
    return exit_type.replace(" ", "_")


def _left(m: int) -> str:
    return f"left_by_{m:02d}m"


def _exit(t: str, h: int) -> str:
    return f"exit_{exit_slug(t)}_by_{h:02d}m"


Cohort = tuple[np.ndarray, np.ndarray, np.ndarray]
"""One group's cohort as arrays: ``days`` (in care, to exit or the extract date), ``exited`` (bool) and
``exit_type`` (:data:`equity_helpers.metrics.survival.EXIT_TYPES`; "" while in care)."""


def _km_points(days: np.ndarray, exited: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float,
                                                              float]:
    """Share still in care (and its interval) at :data:`MONTHS`, and the median stay with its interval
    (:func:`equity_helpers.metrics.survival.km_curve`)."""
    t, s, lo, hi = survival.km_curve(days, exited)
    idx = np.searchsorted(t, np.asarray(MONTHS, float) * DAYS_PER_MONTH, side="right") - 1
    return (s[idx], lo[idx], hi[idx], survival.first_below(t, s), survival.first_below(t, lo),
            survival.first_below(t, hi))


def _cohort_cells(days: np.ndarray, exited: np.ndarray, kind: np.ndarray) -> dict[str, int]:
    """The cohort size, ``left_by_MMm = #{exited, days <= MM * DAYS_PER_MONTH}`` at :data:`MONTHS` and the exits
    of each type by :data:`HORIZONS`."""
    out = {"cohort": len(days)}
    for m in MONTHS:
        out[_left(m)] = int((exited & (days <= m * DAYS_PER_MONTH)).sum())
    for h in HORIZONS:
        by = exited & (days <= h * DAYS_PER_MONTH)
        for t in EXIT_ORDER:
            out[_exit(t, h)] = int((by & (kind == t)).sum())
    return out


def _exit_shares(days: np.ndarray, exited: np.ndarray, kind: np.ndarray) -> dict[tuple[int, str], float]:
    """Cumulative incidence of each exit type of :data:`EXIT_ORDER` by each of :data:`HORIZONS`:
    ``CIF_k(h * DAYS_PER_MONTH)`` (:func:`equity_helpers.metrics.survival.cif_curves`; 0 before the first exit
    and for a type nobody in the cohort left by)."""
    types = sorted(t for t in np.unique(kind[exited]) if t)
    times, _, cif = survival.cif_curves(days, exited, kind, types)
    out = {}
    for h in HORIZONS:
        row = np.searchsorted(times, h * DAYS_PER_MONTH, side="right") - 1
        for t in EXIT_ORDER:
            out[h, t] = float(cif[row, types.index(t)]) if row >= 0 and t in types else 0.0
    return out


def _group_cohorts(c: pd.DataFrame, groups: Sequence[str]) -> dict[str, Cohort]:
    """Each group's :data:`Cohort` from a window's cohort frame, and all children's (each child's first row)."""
    days, exited, kind = c["days"].to_numpy(), c["exited"].to_numpy(bool), c["exit_type"].to_numpy()
    race = c["race_ethnicity"].to_numpy()
    masks = {g: race == g for g in groups}
    masks[ALL] = ~c["child_id"].duplicated().to_numpy()
    return {g: (days[m], exited[m], kind[m]) for g, m in masks.items()}


def _curve_stats(key: dict, g: str, cohort: Cohort) -> list[dict]:
    """Statistics of one group's curve: the share still in care at :data:`MONTHS` (with its interval), the
    median stay and the exit shares by :data:`HORIZONS`."""
    days, exited, kind = cohort
    s, lo, hi, med, mlo, mhi = _km_points(days, exited)
    out = [{**key, "race_ethnicity": g, "stat": "in_care", "month": m, "exit_type": "", "reference": "",
            "value": a, "low": b, "high": c_, "needs": f"cohort,{_left(m)}"} for m, a, b, c_ in zip(MONTHS, s, lo, hi)]
    # a median needs a cohort large enough for half of it to be over the threshold (visible_stats)
    out.append({**key, "race_ethnicity": g, "stat": "median_days", "month": np.nan, "exit_type": "",
                "reference": "", "value": med, "low": mlo, "high": mhi, "needs": "cohort"})
    shares = _exit_shares(days, exited, kind)
    out += [{**key, "race_ethnicity": g, "stat": "exit_share", "month": h, "exit_type": t, "reference": "",
             "value": shares[h, t], "low": np.nan, "high": np.nan, "needs": f"cohort,{_exit(t, h)},{_left(h)}"}
            for h in HORIZONS for t in EXIT_ORDER]
    return out


def survival_release(data, *, scheme: str, windows: Sequence, places: Sequence[str], groups: Sequence[str],
                     pairwise_windows: Sequence = (), references: Sequence[str] = ("white",)
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Time-in-care cells and their statistics for every place, multi-year window and group.

    Returns ``(cells, stats)``: cells with ``family``, ``jurisdiction``, ``period``, ``first_year``,
    ``last_year``, ``race_ethnicity``, ``subgroup`` ("all"), ``stage``, ``base`` (""), ``value``;
    stats with :data:`STAT_COLUMNS`. Log-rank p-values of every group against each of ``references``
    are computed for the ``pairwise_windows`` (the windows pages open on).
    """
    cells, stats = [], []
    multi = [w for w in windows if not w.single]
    for place in places:
        full = survival.entry_cohort(data, jurisdiction=place, scheme=scheme, once=False)
        full = full.sort_values("entry_date", kind="stable")
        for w in multi:
            c = full[full["period"].between(w.first, w.last)]
            c = c.drop_duplicates(["child_id", "race_ethnicity"])  # first entry in the window
            sets = _group_cohorts(c, groups)
            key = dict(family="time_in_care", jurisdiction=place, period=w.label)
            for g, (days, exited, kind) in sets.items():
                for stage, v in _cohort_cells(days, exited, kind).items():
                    cells.append({**key, "first_year": w.first, "last_year": w.last, "race_ethnicity": g,
                                  "subgroup": "all", "stage": stage, "base": "", "value": v})
                if exited.any():
                    stats += _curve_stats(key, g, (days, exited, kind))
            if w in pairwise_windows:
                stats += _logrank_stats(key, sets, groups, references)
    return pd.DataFrame(cells), pd.DataFrame(stats, columns=STAT_COLUMNS)


def _logrank_stats(key: dict, sets: dict[str, Cohort], groups: Sequence[str],
                   references: Sequence[str]) -> list[dict]:
    """Log-rank p-values of each group against each reference (:func:`equity_helpers.metrics.survival.logrank_p`),
    where both cohorts have children."""
    out = []
    for g in groups:
        for r in references:
            (days_a, exited_a, _), (days_b, exited_b, _) = sets[g], sets.get(r, ((), (), ()))
            if g == r or not len(days_a) or not len(days_b):
                continue
            p = survival.logrank_p(days_a, exited_a, days_b, exited_b)
            out.append({**key, "race_ethnicity": g, "stat": "logrank_p", "month": np.nan, "exit_type": "",
                        "reference": r, "value": p, "low": np.nan, "high": np.nan, "needs": "cohort|cohort"})
    return out


def federal_years(data, windows: Sequence) -> list[int]:
    """For each multi-year window, the last fiscal year in it with 24 months of follow-up after it
    (every federal-style measure complete: P4 follows entrants 12 months home and 12 more)."""
    end = pd.Timestamp(data.data_end) + pd.Timedelta(days=1)
    years = set()
    for w in windows:
        if w.single:
            continue
        for y in range(w.last, w.first - 1, -1):
            if pd.Timestamp(period_bounds(y, calendar=data.calendar)[1]) + pd.DateOffset(years=2) <= end:
                years.add(y)
                break
    return sorted(years)


DAYS_COLUMNS = ["jurisdiction", "period", "race_ethnicity", "population"]
"""Columns of P5's days in care (:func:`federal_release`; ``release_days.csv``)."""


def federal_release(data, *, scheme: str, years: Sequence[int], places: Sequence[str]) -> tuple[pd.DataFrame,
                                                                                                  pd.DataFrame]:
    """Federal-style measure cells (numerators and denominators; P5 moves) and P5's days in care.

    Returns ``(cells, days)``; ``days`` has ``jurisdiction``, ``period``, ``race_ethnicity``,
    ``population`` (days in care in the year, the P5 base) for :func:`equity_helpers.metrics.rates.measures`.
    """

    order = {s: i for i, s in enumerate(STAGES)}
    cells, days = [], []
    # the counts only (the rates are computed from the published cells on demand)
    by_year = {y: survival.federal_counts_by_place(data, period=int(y), places=list(places), scheme=scheme)
               for y in years}
    for place in places:
        for y in years:
            counts, moves = by_year[y][place]
            label = f"FY{y}"
            key = dict(family="federal", jurisdiction=place, period=label, first_year=int(y), last_year=int(y),
                       subgroup="all")
            base_count = counts.set_index(["race_ethnicity", "stage"])["count"]
            num = counts[~counts["stage"].isin(survival.FEDERAL_BASES)]
            # the order the measures table had (registry stages first, then by group): cell ids follow it
            num = num.sort_values(["stage", "race_ethnicity"], kind="stable",
                                  key=lambda c: c.map(lambda v: order.get(v, 99)) if c.name == "stage" else c)
            seen = set()
            for r in num.itertuples(index=False):
                cells.append({**key, "race_ethnicity": r.race_ethnicity, "stage": r.stage, "base": r.base,
                              "value": int(r.count)})
                if (r.race_ethnicity, r.base) not in seen:
                    seen.add((r.race_ethnicity, r.base))
                    cells.append({**key, "race_ethnicity": r.race_ethnicity, "stage": r.base, "base": "",
                                  "value": int(base_count[(r.race_ethnicity, r.base)])})
            for r in moves.sort_values("race_ethnicity", kind="stable").itertuples(index=False):
                cells.append({**key, "race_ethnicity": r.race_ethnicity, "stage": r.stage, "base": "",
                              "value": int(r.count)})
                days.append({"jurisdiction": place, "period": label, "race_ethnicity": r.race_ethnicity,
                             "population": int(r.population)})
    # with columns even when empty (a state with no year of full follow-up): the release folder reads back
    return pd.DataFrame(cells), pd.DataFrame(days, columns=DAYS_COLUMNS)


def survival_relation_terms(cells: pd.DataFrame) -> list[pd.DataFrame]:
    """Relations within a place, window and group: see the module docstring. Terms with
    ``relation`` (local), ``cell``, ``coef``, ``kind``; added only where they hold on the data."""
    link = ["family", "jurisdiction", "period", "race_ethnicity", "subgroup"]
    tic = cells[cells["family"] == "time_in_care"]
    fed = cells[cells["family"] == "federal"]
    out = []
    for m in MONTHS:
        out.append(_pattern(tic, link, [(_left(m), 1.0), ("cohort", -1.0)], "le"))
    for a, b in zip(MONTHS, MONTHS[1:]):
        out.append(_pattern(tic, link, [(_left(a), 1.0), (_left(b), -1.0)], "le"))
    for h in HORIZONS:
        out.append(_pattern(tic, link, [(_exit(t, h), 1.0) for t in EXIT_ORDER] + [(_left(h), -1.0)], "eq"))
    for t in EXIT_ORDER:
        for a, b in zip(HORIZONS, HORIZONS[1:]):
            out.append(_pattern(tic, link, [(_exit(t, a), 1.0), (_exit(t, b), -1.0)], "le"))
    for num, den in FEDERAL_PAIRS:
        out.append(_pattern(fed, link, [(num, 1.0), (den, -1.0)], "le"))
    # a federal count that equals the stage count of the same place, year and group (kin placements
    # are the same children; P1's entries nearly always are) is the same number to a reader
    stg = cells[cells["family"] == "stages"]
    for fstage, sstage in FEDERAL_SAME_AS:
        out.append(_pair(fed[fed["stage"] == fstage], stg[stg["stage"] == sstage], "eq"))
    # the cohort is among the window's entries to care (stage cells, counted per year)
    out.append(_pair(tic[tic["stage"] == "cohort"], stg[stg["stage"] == "entered_care"], "le"))
    return out


def _pair(a: pd.DataFrame, b: pd.DataFrame, kind: str) -> pd.DataFrame:
    """``x_a (==|<=) x_b`` for cells of ``a`` and ``b`` of the same place, window, group and subgroup;
    kept where it holds on the data."""
    j = a.merge(b, on=["jurisdiction", "period", "race_ethnicity", "subgroup"], suffixes=("", "_b"))
    j = j[(j["value"] == j["value_b"]) if kind == "eq" else (j["value"] <= j["value_b"])]
    rid = np.arange(len(j))
    return pd.concat([pd.DataFrame({"relation": rid, "cell": j["cell"].to_numpy(), "coef": 1.0, "kind": kind}),
                      pd.DataFrame({"relation": rid, "cell": j["cell_b"].to_numpy(), "coef": -1.0, "kind": kind})])


def _pattern(cells: pd.DataFrame, link: list[str], terms: list[tuple[str, float]], kind: str) -> pd.DataFrame:
    """One relation ``sum coef * x[stage] (==|<=) 0`` per ``link`` group holding every stage; kept where it holds."""
    stages = [s for s, _ in terms]
    sub = cells[cells["stage"].isin(stages)]
    if sub.empty:
        return pd.DataFrame(columns=["relation", "cell", "coef", "kind"])
    wide_cell = sub.pivot_table(index=link, columns="stage", values="cell", aggfunc="first")
    wide_val = sub.pivot_table(index=link, columns="stage", values="value", aggfunc="first")
    if not set(stages) <= set(wide_cell.columns):
        return pd.DataFrame(columns=["relation", "cell", "coef", "kind"])
    wide_cell, wide_val = wide_cell[stages].dropna(), wide_val[stages].loc[wide_cell[stages].dropna().index]
    lhs = sum(wide_val[s].to_numpy(float) * c for s, c in terms)
    ok = (lhs == 0) if kind == "eq" else (lhs <= 0)
    wide_cell = wide_cell[ok]
    rid = np.arange(len(wide_cell))
    return pd.concat([pd.DataFrame({"relation": rid, "cell": wide_cell[s].to_numpy(np.int64), "coef": c,
                                    "kind": kind}) for s, c in terms], ignore_index=True)


def visible_stats(stats: pd.DataFrame, cells: pd.DataFrame, *, max_count: int = 10) -> pd.DataFrame:
    """The statistics whose cells are all published (the others dropped, never shown).

    A median (and a log-rank test, which compares whole curves) says roughly how many children had
    left by an unpublished time, about half the cohort: it is published only for cohorts of at least
    ``2 * (max_count + 1)`` children, so that both halves are above the threshold.
    """
    if stats.empty:
        return stats
    pub = cells[~cells["suppressed"] & (cells["family"] == "time_in_care")]
    shown = set(map(tuple, pub[["jurisdiction", "period", "race_ethnicity", "stage"]].to_numpy()))
    cohort = pub[pub["stage"] == "cohort"].set_index(["jurisdiction", "period", "race_ethnicity"])["count"]
    big = set(cohort[cohort >= 2 * (max_count + 1)].index)

    def ok(r) -> bool:
        own, _, ref = r["needs"].partition("|")
        if any((r["jurisdiction"], r["period"], r["race_ethnicity"], s) not in shown for s in own.split(",")):
            return False
        if r["stat"] in ("median_days", "logrank_p"):
            whose = [r["race_ethnicity"]] + ([r["reference"]] if ref else [])
            if any((r["jurisdiction"], r["period"], g) not in big for g in whose):
                return False
        return not ref or all((r["jurisdiction"], r["period"], r["reference"], s) in shown for s in ref.split(","))

    keep = stats.apply(ok, axis=1) if len(stats) else pd.Series([], dtype=bool)
    return stats[keep.to_numpy(bool)].reset_index(drop=True)


def published_federal_measures(rel, fed: pd.DataFrame, *, reference: str, policy) -> pd.DataFrame:
    """Measures of the federal-style cells of one place and year of a release ``rel`` (published cells only:
    :func:`equity_helpers.metrics.rates.measures` on the release's counts, never on records)."""
    cols = ["jurisdiction", "period", "race_ethnicity", "stage", "count", "base", "suppressed"]
    p5 = fed["stage"] == "P5_moves_per_1000_days"
    decision = measures(fed.loc[~p5, cols], None, reference=reference, bases=("decision",), policy=policy)
    decision = decision[decision["stage"].isin([s for s in decision["stage"].unique()
                                                if s in ("P1_permanency_12m_entries", "P2_permanency_12_23m",
                                                         "P3_permanency_24m_plus", "P4_reentry_12m",
                                                         "first_placement_kin")])]
    out = [decision]
    if p5.any():
        # days in care bound the number of children (at most 365 days each): shown only with the cohort
        entries = fed[fed["stage"] == "P1_entries"].set_index("race_ethnicity")["suppressed"]
        fed = fed.copy()
        fed.loc[p5, "suppressed"] = fed.loc[p5, "suppressed"] | fed.loc[p5, "race_ethnicity"].map(entries).fillna(True)
        days = rel.days[(rel.days["jurisdiction"] == fed["jurisdiction"].iloc[0])
                        & (rel.days["period"] == fed["period"].iloc[0])]
        rate = measures(fed.loc[p5, cols].drop(columns="base"), days, reference=reference, bases=("population",),
                        policy=policy)
        out.append(rate.assign(base="days in care", per=1000))
    return pd.concat(out, ignore_index=True)
