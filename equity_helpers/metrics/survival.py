"""Time in care and exits: entry cohorts, Kaplan-Meier, competing exits and CFSR-style measures.

Why entry cohorts (``docs/methods.md`` section 5.1): an exit cohort misses everyone still in care and a
point-in-time count over-represents long stays. Every curve here follows children from the day
they entered care, and children still in care are censored at the extract date.

* :func:`entry_cohort` - first entries per period, with stays, exit types and exclusions
  (stays under 8 days, entry at 18 or older), counted in ``attrs["excluded"]``.
* :func:`kaplan_meier` - the share still in care by day since entry, per group, with the
  log(-log) ("exponential Greenwood") interval of lifelines' ``KaplanMeierFitter``.
* :func:`median_stay` - median days in care with its interval, and a log-rank test of each group
  against the reference (lifelines ``logrank_test``).
* :func:`cumulative_incidence` - Aalen-Johansen cumulative incidence of each exit type
  (reunification, relative or guardianship, adoption, aged out, other), so that "fewer
  reunifications" and "more adoptions" are told apart: ``CIF_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j``
  with ``S`` the all-exit Kaplan-Meier curve (SAS PROC LIFETEST; ``docs/methods.md`` section 5.3);
  :func:`cif_curves` computes it for one cohort's arrays.
* CFSR round 3 style rules on a per-child frame: :func:`permanency_in_12_months`,
  :func:`reentry_in_12_months`, :func:`placement_moves_per_1000_days`,
  :func:`permanency_for_children_in_care` (P2 12-23 months and P3 24+ months).
* :func:`federal_measures` - those measures by group with counts, rates, intervals, RRI against
  the reference group and the small-number policy (through :func:`equity_helpers.metrics.rates.measures`);
  :func:`federal_counts` their counts, and :func:`federal_counts_by_place` those of several places at once.

The cohort frame holds child ids for the calculations; nothing shareable returned here does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from equity_helpers.data.validate import ValidatedData
from equity_helpers.errors import ParameterError
from equity_helpers.metrics.rates import measures
from equity_helpers.privacy.suppression import DEFAULT_POLICY, SuppressionPolicy
from equity_helpers.schema import (
    ALL,
    FAMILY_EXITS,
    PERMANENT_EXITS,
    STATE,
    assign_groups,
    fiscal_year,
    get_scheme,
    period_bounds,
)

__all__ = [
    "EXIT_TYPES",
    "logrank_p",
    "km_curve",
    "cif_curves",
    "first_below",
    "federal_counts",
    "federal_counts_by_place",
    "FEDERAL_BASES",
    "entry_cohort",
    "kaplan_meier",
    "median_stay",
    "cumulative_incidence",
    "permanency_in_12_months",
    "reentry_in_12_months",
    "placement_moves_per_1000_days",
    "permanency_for_children_in_care",
    "cfsr_frame",
    "federal_measures",
]

EXIT_TYPES: dict[str, str] = {
    "reunification": "reunification",
    "relative": "relative or guardianship",
    "guardianship": "relative or guardianship",
    "adoption": "adoption",
    "emancipation": "aged out",
    "transfer": "other exit",
    "death": "other exit",
    "other": "other exit",
}
"""Exit reasons grouped into the competing exits shown to an audience."""


def _children_in_care(data) -> pd.DataFrame:
    """The children table as time in care needs it: every child, or, from a DuckDB extract, only the
    children who have an episode (the same rows for every use here; a state's reported children are
    not read into memory)."""
    fetch = getattr(data, "children_with_episodes", None)
    return fetch() if fetch is not None else data.children


def _first_entries(epi: pd.DataFrame, data: ValidatedData, jurisdiction: str) -> pd.DataFrame:
    e = epi.assign(jurisdiction=STATE) if jurisdiction == STATE else epi[epi["jurisdiction"] == jurisdiction]
    e = e.assign(period=fiscal_year(e["entry_date"], calendar=data.calendar))  # the place's episodes only
    e = e[e["period"].between(data.first_year, data.last_year)]
    return e.sort_values("entry_date", kind="stable").drop_duplicates(["child_id", "period"])


def entry_cohort(data: ValidatedData, *, jurisdiction: str = STATE, scheme: str = "hispanic_first",
                 min_stay_days: int = 8, max_entry_age: int = 18, once: bool = True) -> pd.DataFrame:
    """Children entering care: each child once, at their first entry in the analysis years.

    A curve pooled over several entry years follows each child from their *first* entry in those
    years; a later re-entry is not a second child (counted in ``attrs["excluded"]`` as "later entries
    of children already in the cohort"). ``once=False`` keeps the first entry of every period
    instead (one row per child and period: single-year cohorts, as CFSR P1 uses).

    Parameters
    ----------
    data : validated child-level data with ``episodes`` and ``children``.
    jurisdiction : a county, or ``"Statewide"`` (a child entering in two counties counts once).
    scheme : race/ethnicity scheme; an overlapping scheme gives a child one row per group.
    min_stay_days : exclude stays shorter than this (CFSR/CCWIP: 8 days).
    max_entry_age : exclude children entering at this age or older (18).
    once : one row per child (first entry in the years), or per child and period (``False``).

    Returns
    -------
    DataFrame with ``child_id``, ``jurisdiction``, ``period``, ``race_ethnicity``, ``entry_date``,
    ``exit_date``, ``exit_reason``, ``exit_type`` (see :data:`EXIT_TYPES`; empty while in care),
    ``days`` (to exit, or to the extract date), ``exited`` (bool), ``age_at_entry`` (years) and
    ``placement_count``. ``attrs["excluded"]`` counts the children left out by reason.
    """
    if data.episodes is None or not data.child_level:
        raise ParameterError("Time in care needs the episodes and children tables.")
    first = _first_entries(data.episodes, data, jurisdiction)
    later = 0
    if once:
        n = len(first)
        first = first.drop_duplicates("child_id")  # sorted by entry date: the first entry in the years
        later = n - len(first)
    kids = _children_in_care(data).set_index("child_id")
    birth = first["child_id"].map(kids["birth_date"])
    age = (first["entry_date"] - birth).dt.days / 365.25
    end = first["exit_date"].fillna(data.data_end)
    days = (end - first["entry_date"]).dt.days
    short = first["exit_date"].notna() & (days < min_stay_days)
    old = age >= max_entry_age
    excluded = {f"stays under {min_stay_days} days": int((short & ~old).sum()),
                f"entered at age {max_entry_age} or older": int(old.sum())}
    if once:
        excluded["later entries of children already in the cohort"] = later
    keep = ~(short | old)
    out = pd.DataFrame({
        "child_id": first["child_id"], "jurisdiction": first["jurisdiction"], "period": first["period"],
        "entry_date": first["entry_date"], "exit_date": first["exit_date"], "exit_reason": first["exit_reason"],
        "exit_type": first["exit_reason"].map(EXIT_TYPES).fillna(""), "days": days.astype("int64"),
        "exited": first["exit_date"].notna(), "age_at_entry": age, "placement_count": first["placement_count"],
    })[keep.to_numpy()]
    groups = assign_groups(_children_in_care(data), scheme=get_scheme(scheme))
    out = out.merge(groups, on="child_id", how="inner")
    cols = ["child_id", "jurisdiction", "period", "race_ethnicity"] + [c for c in out.columns if c not in (
        "child_id", "jurisdiction", "period", "race_ethnicity")]
    out = out[cols].reset_index(drop=True)
    out.attrs["excluded"] = excluded
    return out


def _groups(cohort: pd.DataFrame, groups) -> list[str]:
    present = list(dict.fromkeys(cohort["race_ethnicity"]))
    return present if groups is None else [g for g in groups if g in present]


def kaplan_meier(cohort: pd.DataFrame, *, groups: list[str] | None = None, alpha: float = 0.05,
                 include_all: bool = True) -> pd.DataFrame:
    """Share of children still in care by days since entry, per group (Kaplan-Meier).

    ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)``; children censored at ``t_j`` count as at risk.
    Interval: lifelines' exponential Greenwood (log(-log)) interval.

    Returns
    -------
    DataFrame with ``race_ethnicity`` (plus ``"all"``), ``days``, ``in_care`` (S), ``in_care_low``,
    ``in_care_high``, ``at_risk`` and ``children`` (the group's cohort size).
    """
    from lifelines import KaplanMeierFitter  # lifelines: about half a second to import, paid only for time in care

    frames = []
    sets = [(g, cohort[cohort["race_ethnicity"] == g]) for g in _groups(cohort, groups)]
    if include_all:
        sets.append((ALL, cohort.drop_duplicates(["child_id", "period"])))
    for g, sub in sets:
        if sub.empty:
            continue
        kmf = KaplanMeierFitter(alpha=alpha).fit(sub["days"], sub["exited"])
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_
        et = kmf.event_table
        frames.append(pd.DataFrame({
            "race_ethnicity": g, "days": sf.index.to_numpy(), "in_care": sf.to_numpy(),
            "in_care_low": ci.iloc[:, 0].to_numpy(), "in_care_high": ci.iloc[:, 1].to_numpy(),
            "at_risk": et["at_risk"].reindex(sf.index).to_numpy(), "children": len(sub)}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["race_ethnicity", "days", "in_care", "in_care_low", "in_care_high", "at_risk", "children"])


def _at_risk(days: np.ndarray, exited: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct exit days ``t_j`` of a cohort and the children at risk just before each.

    ``n_j = #{i : days_i >= t_j}`` (children censored at ``t_j`` count as at risk), as floats; ``t_j`` keep
    the dtype of ``days``.
    """
    times = np.unique(days[exited])
    n = (len(days) - np.searchsorted(np.sort(days), times, side="left")).astype(float)
    return times, n


def km_curve(days, exited, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan-Meier curve of one cohort at day 0 and every exit day, with its exponential Greenwood interval.

    ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)``; ``c(t) = sum_{t_j <= t} d_j / (n_j (n_j - d_j))`` (a term with
    ``n_j = d_j`` counts 0); interval ``exp(-exp(log(-log S) -/+ z sqrt(c) / log S))``, 1 where ``S = 1``
    (Kalbfleisch and Prentice 2002, section 1.3; lifelines' ``KaplanMeierFitter`` computes the same, to
    rounding, at a fiftieth of the time). The curve is a step function that changes only at exit days, so
    these points carry all of it.

    Returns
    -------
    times, S, low, high : arrays over day 0 and each distinct exit day.
    """
    from scipy.stats import norm  # SciPy: imported where a curve is computed

    t = np.asarray(days, float)
    e = np.asarray(exited, bool)
    times, n = _at_risk(t, e)
    d = np.bincount(np.searchsorted(times, t[e]), minlength=len(times)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.exp(np.cumsum(np.log(n - d) - np.log(n)))  # as lifelines sums it (ties at S = 0.5 agree)
        var = np.cumsum(np.where(n > d, d / (n * (n - d)), 0.0))
        v = np.log(surv)
        z = norm.ppf(1 - alpha / 2)
        low = np.exp(-np.exp(np.log(-v) - z * np.sqrt(var) / v))
        high = np.exp(-np.exp(np.log(-v) + z * np.sqrt(var) / v))
    low, high = np.nan_to_num(low, nan=1.0), np.nan_to_num(high, nan=1.0)
    if not len(times) or times[0] > 0:
        times, surv = np.concatenate([[0.0], times]), np.concatenate([[1.0], surv])
        low, high = np.concatenate([[1.0], low]), np.concatenate([[1.0], high])
    return times, surv, low, high


def first_below(times: np.ndarray, curve: np.ndarray, q: float = 0.5) -> float:
    """The first day a non-increasing curve is at or below ``q`` (inf when it never is): a median stay."""
    hit = np.flatnonzero(curve <= q)
    return float(times[hit[0]]) if len(hit) else float("inf")


def logrank_p(days_a, exited_a, days_b, exited_b) -> float:
    """Two-sided p-value of the log-rank test that two groups leave care at the same pace.

    ``U = sum_t (d_at - n_at d_t / n_t)``, ``V = sum_t n_at n_bt d_t (n_t - d_t) / (n_t^2 (n_t - 1))`` over
    the distinct exit times ``t`` (``n`` at risk, ``d`` exits; children still in care are censored at their
    last day); ``U^2 / V`` is chi-square with one degree of freedom (Mantel 1966; Klein and Moeschberger,
    *Survival Analysis*, section 7.3). Computed by ``scipy.stats.logrank``: the same statistic as lifelines'
    ``logrank_test`` (to 1e-13 relative) at a fifteenth of the time, which a release with a test per group,
    place and reference pays many times.
    """
    from scipy import stats  # SciPy: imported where a test is run

    a = stats.CensoredData.right_censored(np.asarray(days_a, float), ~np.asarray(exited_a, bool))
    b = stats.CensoredData.right_censored(np.asarray(days_b, float), ~np.asarray(exited_b, bool))
    return float(stats.logrank(a, b).pvalue)


def median_stay(cohort: pd.DataFrame, *, reference: str = "white", alpha: float = 0.05,
                policy: SuppressionPolicy | None = DEFAULT_POLICY) -> pd.DataFrame:
    """Median days in care per group, with its interval and a log-rank test against the reference.

    The median is the smallest time with ``S(t) <= 0.5`` (inf if not reached); its interval is where the
    Kaplan-Meier interval's bounds cross 0.5 (:func:`km_curve`, :func:`first_below`: lifelines'
    ``median_survival_times``, exactly).

    Returns
    -------
    DataFrame with ``race_ethnicity``, ``children``, ``exits``, ``median_days``, ``median_low``,
    ``median_high`` (inf: not reached), ``reference``, ``p_value``, ``test`` ("log-rank"),
    ``suppressed`` (cohort of 1-10 children: nothing shown) and ``unstable`` (20 or fewer exits).
    """
    pol = policy or SuppressionPolicy(max_count=0, complementary=False)
    ref = cohort[cohort["race_ethnicity"] == reference]
    rows = []
    for g in _groups(cohort, None):
        sub = cohort[cohort["race_ethnicity"] == g]
        t, s, lo, hi = km_curve(sub["days"].to_numpy(), sub["exited"].to_numpy(), alpha=alpha)
        p = np.nan
        if g != reference and len(ref) and len(sub):
            p = logrank_p(sub["days"], sub["exited"], ref["days"], ref["exited"])
        rows.append({"race_ethnicity": g, "children": len(sub), "exits": int(sub["exited"].sum()),
                     "median_days": first_below(t, s), "median_low": first_below(t, lo),
                     "median_high": first_below(t, hi),
                     "reference": reference, "p_value": p, "test": "log-rank" if g != reference else ""})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["suppressed"] = (out["children"] >= pol.min_count) & (out["children"] <= pol.max_count)
    out["unstable"] = out["exits"] <= pol.unstable_max
    if policy is not None:
        hidden = ["children", "exits", "median_days", "median_low", "median_high", "p_value"]
        out[hidden] = out[hidden].astype(float)
        out.loc[out["suppressed"], hidden] = np.nan
    return out


def cif_curves(days: np.ndarray, exited: np.ndarray, kinds: np.ndarray,
               types: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aalen-Johansen cumulative incidence of each of ``types`` in one cohort, at every exit day.

    ``CIF_k(t_j) = sum_{t_i <= t_j} S(t_i-) d_ki / n_i`` and ``S(t_j) = prod_{t_i <= t_j} (1 - d_i / n_i)``
    with ``n_i`` the children at risk just before ``t_i`` (:func:`_at_risk`), ``d_ki`` the exits of type k at
    ``t_i`` and ``d_i = sum_k d_ki`` (exits of a kind outside ``types`` leave the risk set without being
    counted as exits).

    Returns
    -------
    times : the distinct exit days (dtype of ``days``).
    still : ``S`` after each exit day.
    cif : array of shape ``(len(times), len(types))``.
    """
    times, n = _at_risk(days, exited)
    slot = np.searchsorted(times, days[exited])
    kind = kinds[exited]
    ev = np.zeros((len(times), len(types)), dtype=np.int64)
    for k, name in enumerate(types):
        ev[:, k] = np.bincount(slot[kind == name], minlength=len(times))
    still = np.cumprod(1 - ev.sum(axis=1).astype(float) / n)
    before = np.concatenate([[1.0], still[:-1]])
    return times, still, np.cumsum(before[:, None] * ev / n[:, None], axis=0)


def cumulative_incidence(cohort: pd.DataFrame, *, groups: list[str] | None = None,
                         exit_col: str = "exit_type", include_all: bool = True) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of each exit type, per group.

    ``CIF_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j`` where ``S`` is the all-exit Kaplan-Meier
    curve, ``n_j`` the children at risk just before ``t_j`` and ``d_kj`` the exits of type k at
    ``t_j`` (:func:`cif_curves`). At every t the CIFs and ``in_care`` (S) add up to 1. Ties between exit
    types share the same ``S(t_j-)``. (Computed from the event table directly: lifelines'
    ``AalenJohansenFitter`` breaks tied times with random jitter, and daily data are full of ties.)

    Returns
    -------
    DataFrame with ``race_ethnicity``, ``days``, ``exit_type``, ``cif`` (one row per group, exit
    time and exit type, including types with no exit yet, at 0) plus rows with
    ``exit_type == "still in care"`` holding S.
    """
    frames = []
    sets = [(g, cohort[cohort["race_ethnicity"] == g]) for g in _groups(cohort, groups)]
    if include_all:
        sets.append((ALL, cohort.drop_duplicates(["child_id", "period"])))
    types = sorted(t for t in cohort.loc[cohort["exited"], exit_col].unique() if t)
    for g, sub in sets:
        exited = sub["exited"].to_numpy(bool)
        if not exited.any():
            continue
        times, still, cif = cif_curves(sub["days"].to_numpy(), exited, sub[exit_col].to_numpy(), types)
        part = pd.DataFrame({"days": times, **{t: cif[:, k] for k, t in enumerate(types)}, "still in care": still})
        long = part.melt(id_vars="days", var_name="exit_type", value_name="cif")
        frames.append(long.assign(race_ethnicity=g))
    if not frames:
        return pd.DataFrame(columns=["race_ethnicity", "days", "exit_type", "cif"])
    return pd.concat(frames, ignore_index=True)[["race_ethnicity", "days", "exit_type", "cif"]]


# --------------------------------------------------------------------------- CFSR-style rules
def _d(x) -> pd.Series:
    return pd.to_datetime(pd.Series(x))


def _exclusions(f: pd.DataFrame, min_stay_days: int, max_entry_age: int) -> pd.Series:
    stay = (f["exit"] - f["entry"]).dt.days
    reason = pd.Series("", index=f.index, dtype=object)
    reason[f["exit"].notna() & (stay < min_stay_days)] = f"in care fewer than {min_stay_days} days"
    reason[f["age_at_entry"] >= max_entry_age] = f"entered at age {max_entry_age} or older"
    return reason


def _entries_in(f: pd.DataFrame, start, end) -> pd.DataFrame:
    return f[(f["entry"] >= pd.Timestamp(start)) & (f["entry"] <= pd.Timestamp(end))]


def permanency_in_12_months(frame: pd.DataFrame, *, period_start, period_end, thv_adjustment: bool = True,
                            min_stay_days: int = 8, max_entry_age: int = 18) -> pd.DataFrame:
    """CFSR P1: children entering in the period who exit to permanency within 12 months of entry.

    Denominator: entries in the period (first entry), less stays under 8 days and entries at 18
    or older. Numerator: exits to reunification, relative, guardianship or adoption before the
    first anniversary of entry and before the 18th birthday (CFSR Round 4). Trial home visit
    adjustment (P1 only, ``thv_adjustment``): for a reunification whose last placement was a trial home visit (``thv_start``) that began within
    11 months of removal, THV days beyond 30 are subtracted from the stay.

    Parameters
    ----------
    frame : one row per child: ``id``, ``entry``, ``exit``, ``exit_reason``, ``age_at_entry`` and
        optionally ``thv_start`` (see :func:`cfsr_frame`).

    Returns
    -------
    The frame's rows with ``excluded`` (reason or ""), ``stay_days``, ``thv_days``,
    ``adjusted_stay_days``, ``in_denominator`` and ``in_numerator``.
    """
    f = _prep(frame)
    f = _entries_in(f, period_start, period_end).copy()
    f["excluded"] = _exclusions(f, min_stay_days, max_entry_age)
    f["stay_days"] = (f["exit"] - f["entry"]).dt.days
    thv = f["thv_start"] if "thv_start" in f else pd.Series(pd.NaT, index=f.index)
    qualifies = (thv.notna() & (f["exit_reason"] == "reunification")
                 & (thv <= f["entry"] + pd.DateOffset(months=11)))
    f["thv_days"] = np.where(qualifies, (f["exit"] - thv).dt.days, 0)
    excess = np.where(thv_adjustment & (f["thv_days"] > 30), f["thv_days"] - 30, 0)
    f["adjusted_stay_days"] = f["stay_days"] - excess
    adjusted_exit = f["exit"] - pd.to_timedelta(excess, unit="D")
    anniversary = f["entry"] + pd.DateOffset(years=1)
    f["in_denominator"] = f["excluded"] == ""
    f["in_numerator"] = (f["in_denominator"] & f["exit_reason"].isin(list(PERMANENT_EXITS))
                         & (adjusted_exit < anniversary) & _before_18(f))
    return f


def _before_18(f: pd.DataFrame) -> pd.Series:
    """True where the exit came before the child's 18th birthday (CFSR Round 4: a discharge at 18 or
    older is not permanency, and not a discharge home for re-entry). Without ``birth_date``, the age
    at entry plus the stay stands in for it."""
    if "birth_date" in f and f["birth_date"].notna().any():
        return f["exit"] < f["birth_date"] + pd.DateOffset(years=18)
    return (f["age_at_entry"] + (f["exit"] - f["entry"]).dt.days / 365.25) < 18


def reentry_in_12_months(frame: pd.DataFrame, *, period_start, period_end, min_stay_days: int = 8,
                         max_entry_age: int = 18) -> pd.DataFrame:
    """CFSR P4: entrants who went home within 12 months and re-entered within 12 months of leaving.

    Denominator: entries in the period (exclusions as P1) discharged within 12 months of entry to
    reunification, living with relative or guardianship (not adoption) before their 18th birthday
    (CFSR Round 4: exits at 18 or older are left out); no THV adjustment. Numerator: a re-entry
    (``reentry_date``) within 12 months of that discharge. Lower is better. The cohort needs 24
    months after the period's end (12 to go home, 12 more to watch for a re-entry) before it is
    complete; :func:`federal_measures` waits for them.
    """
    f = _prep(frame)
    f = _entries_in(f, period_start, period_end).copy()
    f["excluded"] = _exclusions(f, min_stay_days, max_entry_age)
    home = (f["exit_reason"].isin(list(FAMILY_EXITS)) & (f["exit"] < f["entry"] + pd.DateOffset(years=1))
            & _before_18(f))
    f["in_denominator"] = (f["excluded"] == "") & home
    re = f["reentry_date"] if "reentry_date" in f else pd.Series(pd.NaT, index=f.index)
    f["in_numerator"] = (f["in_denominator"] & re.notna() & (re > f["exit"])
                         & (re < f["exit"] + pd.DateOffset(years=1)))
    return f


def placement_moves_per_1000_days(frame: pd.DataFrame, *, period_start, period_end, min_stay_days: int = 8,
                                  max_entry_age: int = 18) -> pd.DataFrame:
    """CFSR P5 placement stability: moves per 1,000 days in care for children entering in the period.

    Days in care within the period count the entry day and the period's last day but not the
    exit day (so a stay from the 1st to the 3rd is 2 days). Moves are ``moves_in_period``
    (the initial placement is not a move). Returns the frame with ``excluded``, ``days_in_period``
    and ``moves``; the rate is ``1000 x sum(moves) / sum(days_in_period)`` over included rows.
    """
    f = _prep(frame)
    f = _entries_in(f, period_start, period_end).copy()
    f["excluded"] = _exclusions(f, min_stay_days, max_entry_age)
    last = pd.Timestamp(period_end)
    end = f["exit"].where(f["exit"].notna() & (f["exit"] <= last), last + pd.Timedelta(days=1))
    f["days_in_period"] = (end - f["entry"]).dt.days.clip(lower=0)
    f["moves"] = f["moves_in_period"].fillna(0).astype(int)
    f["in_denominator"] = f["excluded"] == ""
    return f


def permanency_for_children_in_care(frame: pd.DataFrame, *, period_start, period_end, min_months: int,
                                    max_months: int | None = None, max_age: int = 18) -> pd.DataFrame:
    """CFSR P2 (12-23 months, ``min_months=12, max_months=23``) and P3 (24+ months, ``min_months=24``).

    Denominator: children in care on the period's first day whose episode had lasted
    ``min_months`` to ``max_months`` full months then, and who were under ``max_age`` that day.
    Numerator: discharged to permanency by the period's last day and before their 18th birthday.
    Needs ``birth_date`` in the frame.
    """
    f = _prep(frame)
    day1 = pd.Timestamp(period_start)
    last = pd.Timestamp(period_end)
    in_care = (f["entry"] < day1) & (f["exit"].isna() | (f["exit"] >= day1))
    months = (day1.year - f["entry"].dt.year) * 12 + (day1.month - f["entry"].dt.month) - (
        day1.day < f["entry"].dt.day).astype(int)
    ok = in_care & (months >= min_months)
    if max_months is not None:
        ok &= months <= max_months
    age_day1 = (day1 - f["birth_date"]).dt.days / 365.25
    f = f.assign(months_in_care=months, in_denominator=ok & (age_day1 < max_age))
    eighteen = f["birth_date"] + pd.DateOffset(years=18)
    f["in_numerator"] = (f["in_denominator"] & f["exit_reason"].isin(list(PERMANENT_EXITS))
                         & (f["exit"] <= last) & (f["exit"] < eighteen))
    return f[f["in_denominator"] | f["in_numerator"]]


def _prep(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.copy()
    for col in ("entry", "exit", "thv_start", "reentry_date", "birth_date"):
        if col in f:
            f[col] = pd.to_datetime(f[col])
    if "exit" not in f:
        raise ParameterError("The frame needs entry, exit, exit_reason and age_at_entry columns.")
    return f


def cfsr_frame(data: ValidatedData, *, jurisdiction: str = STATE) -> pd.DataFrame:
    """One row per episode in the CFSR-rule layout, built from the canonical tables.

    Columns: ``id`` (episode), ``child_id``, ``jurisdiction``, ``entry``, ``exit``, ``exit_reason``,
    ``age_at_entry``, ``birth_date``, ``reentry_date`` (the child's next entry after this exit),
    ``moves_in_period`` and ``thv_start`` (empty: the canonical episode has no trial home visit
    dates, so P1 here is unadjusted unless an agency supplies them).

    Canonical episodes carry only ``placement_count``; moves are ``placement_count - 1``
    spread evenly over the observed stay and attributed to the period in proportion to the days
    in it (an approximation stated in every report that uses P5).
    """
    e = data.episodes.copy()
    if jurisdiction != STATE:
        e = e[e["jurisdiction"] == jurisdiction]
    births = _children_in_care(data).set_index("child_id")["birth_date"]
    all_e = data.episodes.sort_values("entry_date")
    nxt = all_e.groupby("child_id")["entry_date"].shift(-1)
    next_entry = pd.Series(nxt.to_numpy(), index=all_e["episode_id"].to_numpy())
    f = pd.DataFrame({
        "id": e["episode_id"].to_numpy(), "child_id": e["child_id"].to_numpy(),
        "jurisdiction": e["jurisdiction"].to_numpy(), "entry": e["entry_date"].to_numpy(),
        "exit": e["exit_date"].to_numpy(), "exit_reason": e["exit_reason"].to_numpy(),
        "birth_date": e["child_id"].map(births).to_numpy(),
        "reentry_date": e["episode_id"].map(next_entry).to_numpy(),
        "thv_start": pd.NaT,
    })
    f["age_at_entry"] = (f["entry"] - f["birth_date"]).dt.days / 365.25
    observed_end = f["exit"].fillna(data.data_end)
    total_days = (observed_end - f["entry"]).dt.days.clip(lower=1)
    f["_moves_total"] = (e["placement_count"].to_numpy() - 1).clip(min=0)
    f["_total_days"] = total_days.to_numpy()
    return f


def _moves_for_period(f: pd.DataFrame) -> pd.DataFrame:
    share = (f["days_in_period"] / f["_total_days"]).clip(upper=1)
    return f.assign(moves=f["_moves_total"] * share)


def federal_measures(data: ValidatedData, *, period: int, jurisdiction: str = STATE, scheme: str = "hispanic_first",
                     reference: str = "white", policy: SuppressionPolicy | None = DEFAULT_POLICY) -> pd.DataFrame:
    """CFSR-style measures by group for one period, with counts, rates, intervals and RRIs.

    Rows come from :func:`equity_helpers.metrics.rates.measures`: P1, P2, P3, P4 and first placement
    with kin are decision-based (per 100 children in the denominator; P4 lower is better); P5 is
    a person-time rate (moves per 1,000 days in care, Poisson intervals and rate ratio). Periods
    without the follow-up a measure needs (12 months after the period for P1, 24 for P4) are
    omitted. Definitions follow the CFSR Round 4 statewide data indicators (first entry in the
    period; stays under 8 days and entries at 18 or older left out; permanency before the 18th
    birthday; re-entry after exits home before 18). These are *observed* rates: the Children's
    Bureau's risk-standardised performance (adjusted mainly for age at entry) is not computed.

    Returns
    -------
    The :func:`~equity_helpers.metrics.rates.measures` table with ``stage`` naming the measure
    (``P1_permanency_12m_entries``, ``P2_permanency_12_23m``, ``P3_permanency_24m_plus``,
    ``P4_reentry_12m``, ``first_placement_kin``, ``P5_moves_per_1000_days``).
    """
    counts, mv = federal_counts(data, period=period, jurisdiction=jurisdiction, scheme=scheme)
    decision = measures(counts, None, reference=reference, bases=("decision",), policy=policy)
    decision = decision[~decision["stage"].isin(FEDERAL_BASES)]
    rate = measures(mv.drop(columns="population"), mv.drop(columns=["count", "stage"]), reference=reference,
                    bases=("population",), policy=policy)
    rate = rate.assign(base="days in care", per=1000)
    return pd.concat([decision, rate], ignore_index=True)


FEDERAL_BASES = ("P1_entries", "P4_exits_home_12m", "P2_in_care_12_23m", "P3_in_care_24m_plus")
"""The denominators of the federal-style measures (children entering, exiting home, in care 12-23 or 24+ months)."""


def federal_counts(data: ValidatedData, *, period: int, jurisdiction: str = STATE,
                   scheme: str = "hispanic_first") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The counts behind :func:`federal_measures`, without the rates (what a release publishes).

    Returns
    -------
    counts : ``race_ethnicity``, ``stage``, ``count``, ``base`` (a measure's stage names its denominator's
        stage; a denominator's base is "population"), ``jurisdiction``, ``period``; every group of the scheme
        and all children.
    moves : P5's ``race_ethnicity``, ``count`` (placement moves), ``population`` (days in care in the period),
        ``jurisdiction``, ``period``, ``stage``.
    """
    return federal_counts_by_place(data, period=period, places=[jurisdiction], scheme=scheme)[jurisdiction]


def federal_counts_by_place(data: ValidatedData, *, period: int, places: list[str],
                            scheme: str = "hispanic_first") -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """:func:`federal_counts` of several places (counties, or ``"Statewide"``) in one period, by place.

    Every CFSR rule decides episode by episode, so each is applied once to the episodes of all the places
    (:func:`_federal_rules`); a place then counts its own rows by group: its children's first entries in the
    period (P1, P4, P5 and kin placement; a child entering care in two counties counts in each, and once
    statewide) or all its episodes (P2 and P3).
    """
    start, end = (pd.Timestamp(x) for x in period_bounds(period, calendar=data.calendar))
    f = cfsr_frame(data)
    if STATE not in places:
        f = f[f["jurisdiction"].isin(places)].reset_index(drop=True)
    in_period = (fiscal_year(f["entry"], calendar=data.calendar) == period).fillna(False).to_numpy(bool)
    rules, p5 = _federal_rules(data, f, in_period, start=start, end=end)
    every_group = list(get_scheme(scheme).groups)
    code, member = _membership(assign_groups(_children_in_care(data), scheme=get_scheme(scheme)),
                               f["child_id"].to_numpy(), every_group)
    child = f["child_id"].to_numpy()
    out = {}
    for place in places:
        here = f if place == STATE else f[f["jurisdiction"] == place]
        rows = here["entry"].sort_values().index.to_numpy()  # the place's episodes, ordered as sort_values("entry")
        entering = rows[in_period[rows]]
        firsts = entering[~pd.Series(child[entering]).duplicated().to_numpy()]  # first entry in the period
        counts = []
        for stage, (base, on_firsts, kept, num, den) in rules.items():
            took = firsts if on_firsts else rows
            for g, sel in _by_group(took[kept[took]], code, member, every_group):
                counts.append((g, stage, int(num[sel].sum()), base))
                counts.append((g, base, int(den[sel].sum()), "population"))
        counts = pd.DataFrame(counts, columns=["race_ethnicity", "stage", "count", "base"]).drop_duplicates(
            ["race_ethnicity", "stage"]).assign(jurisdiction=place, period=period)
        kept, moves, days = p5
        agg = _by_group(firsts[kept[firsts]], code, member, every_group)
        mv = pd.DataFrame({"race_ethnicity": [g for g, _ in agg],
                           "count": [int(round(moves[sel].sum())) for _, sel in agg],
                           "population": [int(days[sel].sum()) for _, sel in agg]})
        out[place] = counts, mv.assign(jurisdiction=place, period=period, stage="P5_moves_per_1000_days")
    return out


FederalRule = tuple[str, bool, np.ndarray, np.ndarray, np.ndarray]
"""A federal-style measure's rule applied to every episode: ``(base, on_firsts, kept, numerator, denominator)``;
``base`` is the denominator's stage, ``on_firsts`` whether it counts first entries in the period (else every
episode), and the arrays run over the episodes (``kept``: rows the rule keeps)."""


def _federal_rules(data: ValidatedData, f: pd.DataFrame, in_period: np.ndarray, *, start: pd.Timestamp,
                   end: pd.Timestamp) -> tuple[dict[str, FederalRule], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The CFSR rules of :func:`federal_measures` applied to every episode of a :func:`cfsr_frame` ``f`` (with a
    positional index), by measure stage in the order of the counts; and P5's ``(kept, moves, days_in_period)``
    (:func:`placement_moves_per_1000_days`, ``kept``: in its denominator).

    P1 waits for every entrant to be followed 12 months, P4 for 24 (12 to go home, 12 more to return).
    """
    n = len(f)
    window = dict(period_start=start, period_end=end)
    entering = f[in_period]
    observed = data.data_end + pd.Timedelta(days=1)
    p1 = permanency_in_12_months(entering, **window)
    rules: dict[str, FederalRule] = {}
    if end + pd.DateOffset(years=1) <= observed:
        rules["P1_permanency_12m_entries"] = ("P1_entries", True, *_aligned(p1, n))
    if end + pd.DateOffset(years=2) <= observed:
        rules["P4_reentry_12m"] = ("P4_exits_home_12m", True, *_aligned(reentry_in_12_months(entering, **window), n))
    # at most one episode of a child spans the period's first day, so no de-duplication is needed
    p2 = permanency_for_children_in_care(f, min_months=12, max_months=23, **window)
    rules["P2_permanency_12_23m"] = ("P2_in_care_12_23m", False, *_aligned(p2, n))
    p3 = permanency_for_children_in_care(f, min_months=24, **window)
    rules["P3_permanency_24m_plus"] = ("P3_in_care_24m_plus", False, *_aligned(p3, n))
    first_placement = data.episodes.set_index("episode_id")["first_placement"]  # episode ids are unique
    kin = p1.assign(in_numerator=p1["in_denominator"] & (p1["id"].map(first_placement) == "kin"))
    rules["first_placement_kin"] = ("P1_entries", True, *_aligned(kin, n))
    p5 = _moves_for_period(placement_moves_per_1000_days(entering.assign(moves_in_period=0), **window))
    kept, den, moves, days = _aligned(p5, n, "in_denominator", "moves", "days_in_period")
    return rules, (kept & den, moves, days)


def _aligned(res: pd.DataFrame, n: int, *cols: str) -> tuple[np.ndarray, ...]:
    """A rule's result (indexed by position in the episodes) as arrays over all ``n`` episodes: whether the
    rule kept each row, then ``cols`` (zero where it did not; ``in_numerator`` and ``in_denominator`` unless
    named)."""
    kept = np.zeros(n, bool)
    kept[res.index] = True
    out = []
    for c in cols or ("in_numerator", "in_denominator"):
        a = np.zeros(n, res[c].dtype)
        a[res.index] = res[c].to_numpy()
        out.append(a)
    return (kept, *out)


def _membership(groups: pd.DataFrame, child_ids: np.ndarray, every_group: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Children's groups as arrays: ``code``, each of ``child_ids`` as a row of ``member`` (-1 for a child in
    no group), and ``member[code, k]``, whether that child is in ``every_group[k]`` (the last row, all False,
    is the row of -1)."""
    kids = pd.Index(groups["child_id"].unique())
    member = np.zeros((len(kids) + 1, len(every_group)), bool)
    col = pd.Index(every_group).get_indexer(groups["race_ethnicity"])
    member[kids.get_indexer(groups["child_id"])[col >= 0], col[col >= 0]] = True
    return kids.get_indexer(child_ids), member


def _by_group(rows: np.ndarray, code: np.ndarray, member: np.ndarray,
              every_group: list[str]) -> list[tuple[str, np.ndarray]]:
    """The rows (positions, in order) counted for each group and for all children, as a merge of the rows with
    the group table counts them: a group counts the rows of its children; all children count each child's
    first row, and only children in some group."""
    c = code[rows]
    out = [(g, rows[member[c, k]]) for k, g in enumerate(every_group)]
    known = np.flatnonzero(c >= 0)
    first = np.sort(np.unique(c[known], return_index=True)[1])
    return out + [(ALL, rows[known[first]])]
