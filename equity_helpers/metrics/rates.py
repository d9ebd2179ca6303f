"""Rates, disproportionality index, relative rate index, excess and trends.

Two layers (zEpid-style):

* functions on counts - :func:`rate_ratio`, :func:`disproportionality_index`, :func:`di_band`,
  :func:`excess_children`, all vectorised over numpy arrays, on the intervals and tests of
  :mod:`equity_helpers.metrics.intervals`;
* functions on tidy tables - :func:`measures` (every measure for every row of a counts table)
  and :func:`change_over_time` (each measure against a baseline period).

Formulas and sources are in ``docs/methods.md``; the ones used here:

* rate ``r = a / n x k``, k = 1,000 for population bases and 100 for decision (stage) bases
  (OJJDP/Burns convention). Interval: exact Poisson (Garwood) for population bases,
  ``chi2(alpha/2; 2a)/2`` to ``chi2(1-alpha/2; 2a+2)/2`` divided by n; Wilson for stage bases.
* disproportionality index ``DI = (a_g / A) / (P_g / N)`` (Hill; NCJFCJ), with the Wilson
  interval of ``a_g / A`` divided by the fixed base share; bands on the value rounded to one
  decimal: under 1.0 under-represented, 1.0 none, 1.1 and over over-represented.
* relative rate index ``RRI = (a/n1) / (c/n2)`` against a reference group. Katz log interval
  ``exp(ln RR +/- z sqrt(1/a - 1/n1 + 1/c - 1/n2))`` for stage bases and the Poisson log
  interval ``sqrt(1/a + 1/c)`` for population bases; when the smaller of ``a`` and ``c`` is
  under 10 (zero cells included), or (stage bases) a proportion is 0 or 1 (where the Katz variance
  vanishes: 12 of 12 against 12 of 12 gave (1, 1) and no p-value), Koopman's score interval (stage
  bases, :func:`koopman_score_ci`) or the exact conditional binomial interval (population bases). Tests against 1: two-proportion z-test (pooled) or
  Fisher's exact test for stage bases; z-test on ln RR or the exact conditional binomial test for
  population bases. The method and test used are named in every row.
* excess children ``a - n x r_ref`` ("at the reference group's rate, N fewer children ...");
  interval ``a - a / RRI_low`` to ``a - a / RRI_high``.

Every function is keyword-only above the count layer and names its reference explicitly.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from equity_helpers.errors import ParameterError
from equity_helpers.metrics.intervals import (
    SMALL_CELL,
    adjust_p_values,
    beta_ppf,
    binomial_test_p,
    fisher_exact_p,
    katz_log_ci,
    koopman_score_ci,
    norm_sf,
    poisson_exact_ci,
    two_proportion_z_test,
    wilson_ci,
    z_value,
)
from equity_helpers.privacy.suppression import DEFAULT_POLICY, SuppressionPolicy, suppress_counts, unstable_mask
from equity_helpers.schema import STAGES

__all__ = [
    "rate_ratio",
    "disproportionality_index",
    "di_band",
    "excess_children",
    "measures",
    "change_over_time",
    "REFERENCE_OPTIONS",
    "UNKNOWN_OPTIONS",
    "ADJUST_OPTIONS",
    "OUTPUT_COLUMNS",
]

UNKNOWN_OPTIONS = ("exclude", "include")
"""Unknown race in the totals of the DI and of "all other children": left out (AFCARS) or kept."""

ADJUST_OPTIONS = ("holm", "bh", "none")
"""Multiple-comparison adjustments of the p-values across the groups at one decision point."""


REFERENCE_OPTIONS = ("all_other", "overall")
"""Special references besides a named group: the complement of each group, or all children."""

OUTPUT_COLUMNS = [
    "jurisdiction", "period", "race_ethnicity", "stage", "basis", "count", "base_count", "base",
    "per", "rate", "rate_low", "rate_high", "rate_method", "share", "base_share", "di", "di_low",
    "di_high", "di_band", "reference", "ref_count", "ref_base", "ref_rate", "rri", "rri_low",
    "rri_high", "se_log_rri", "ci_method", "p_value", "test", "p_adjusted", "comparisons", "excess", "excess_low",
    "excess_high",
    "suppressed", "unstable", "insufficient", "zero_cell", "no_base",
]
"""Columns of :func:`measures` (extra breakdown columns follow ``race_ethnicity``)."""


def rate_ratio(a, n1, c, n2, *, basis: str = "decision", alpha: float = 0.05,
               small: int = SMALL_CELL) -> pd.DataFrame:
    """Relative rate index of a group (``a`` of ``n1``) against a reference (``c`` of ``n2``).

    Parameters
    ----------
    a, n1 : group count and base.
    c, n2 : reference count and base.
    basis : "decision" (binomial: stage base) or "population" (Poisson: child population).
    alpha : 1 - confidence level.
    small : cells with ``min(a, c) < small`` use the score / exact methods, and so (decision basis) does
        every boundary: a proportion of 0 or 1 on either side (``a = 0``, ``a = n1``, ``c = 0``, ``c = n2``),
        where the Katz variance and the pooled z-test's variance can vanish. There the interval is
        Koopman's score interval and the p-value Fisher's exact test, defined at every boundary (1 when
        both proportions are equal, e.g. 12 of 12 against 12 of 12); both counts 0 gives no ratio and
        no interval, and a p-value of 1.

    Returns
    -------
    DataFrame with ``rri``, ``rri_low``, ``rri_high``, ``se_log_rri``, ``ci_method``,
    ``p_value``, ``test``, ``zero_cell`` (True when ``a`` or ``c`` is 0). Rows with a zero or
    missing base, or (decision basis) a count larger than its base, are NaN.
    """
    a, n1, c, n2 = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (a, n1, c, n2))
    poisson = basis == "population"
    rr, low, high, se = katz_log_ci(a, n1, c, n2, alpha=alpha, poisson=poisson)
    z = z_value(alpha)
    valid = ((n1 > 0) & (n2 > 0) & np.isfinite(n1) & np.isfinite(n2) & np.isfinite(a) & np.isfinite(c)
             & (a >= 0) & (c >= 0))
    if not poisson:  # a binomial proportion needs its numerator inside its base
        valid &= (a <= n1) & (c <= n2)
    is_small = valid & (np.minimum(a, c) < small)
    if not poisson:  # a proportion of 0 or 1: the log (Katz) variance and the pooled z-test break down
        is_small |= valid & ((a == 0) | (c == 0) | (a == n1) | (c == n2))
    if poisson:
        with np.errstate(divide="ignore", invalid="ignore"):
            zstat = np.log(rr) / se
        p = 2 * norm_sf(np.abs(zstat))
        method = np.full(a.shape, "Poisson log (Wald)", dtype=object)
        test = np.full(a.shape, "z-test on log rate ratio", dtype=object)
    else:
        _, p = two_proportion_z_test(a, n1, c, n2)
        method = np.full(a.shape, "Katz log", dtype=object)
        test = np.full(a.shape, "two-proportion z-test", dtype=object)
    for i in np.flatnonzero(is_small):
        ai, ni, ci_, mi = int(a[i]), n1[i], int(c[i]), n2[i]
        if poisson:
            # exact conditional: a | a + c ~ Binomial(a + c, n1 RR / (n1 RR + n2))
            t = ai + ci_
            if t == 0:
                low[i], high[i], p[i] = np.nan, np.nan, np.nan
            else:
                plo = beta_ppf(alpha / 2, ai, t - ai + 1) if ai > 0 else 0.0
                phi = beta_ppf(1 - alpha / 2, ai + 1, t - ai) if ai < t else 1.0
                low[i] = plo / (1 - plo) * mi / ni
                high[i] = phi / (1 - phi) * mi / ni if phi < 1 else np.inf
                p[i] = binomial_test_p(ai, t, ni / (ni + mi))
            method[i] = "exact conditional (Clopper-Pearson)"
            test[i] = "exact conditional binomial test"
        else:
            low[i], high[i] = koopman_score_ci(ai, ni, ci_, mi, alpha=alpha)
            p[i] = fisher_exact_p(ai, int(ni), ci_, int(mi))
            method[i] = "Koopman score"
            test[i] = "Fisher exact test"
        if np.isfinite(low[i]) and np.isfinite(high[i]) and low[i] > 0:
            se[i] = (np.log(high[i]) - np.log(low[i])) / (2 * z)
    zero = valid & ((a == 0) | (c == 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(valid & (c > 0), rr, np.nan)
    for arr in (low, high, p, se):
        arr[~valid] = np.nan
    low = np.where(valid & (c == 0) & (a == 0), np.nan, low)
    return pd.DataFrame({"rri": rr, "rri_low": low, "rri_high": high, "se_log_rri": se,
                         "ci_method": np.where(valid, method, ""), "p_value": p,
                         "test": np.where(valid, test, ""), "zero_cell": zero})


def disproportionality_index(a, A, p_g, N, *, alpha: float = 0.05
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disproportionality index ``DI = (a/A) / (p_g/N)`` with an interval.

    The base share ``p_g/N`` is treated as fixed (census counts); the interval is the Wilson
    interval of ``a/A`` divided by it (``docs/methods.md`` section 1.4). Returns ``di, low, high``.
    """
    a, A, p_g, N = (np.asarray(v, dtype=float) for v in (a, A, p_g, N))
    with np.errstate(divide="ignore", invalid="ignore"):
        base_share = p_g / N
        di = (a / A) / base_share
        lo, hi = wilson_ci(a, A, alpha=alpha)
        ok = (A > 0) & (base_share > 0)
        return (np.where(ok, di, np.nan), np.where(ok, lo / base_share, np.nan),
                np.where(ok, hi / base_share, np.nan))


def di_band(di) -> np.ndarray:
    """NCJFCJ interpretation band of a DI, applied to the value rounded to one decimal.

    0.0-0.9 "under-represented", 1.0 "no disproportionality", 1.1 and above "over-represented"
    (so 1.04 reads as none, 0.96 as none, 0.94 as under).
    """
    d = np.round(np.asarray(di, dtype=float) + 1e-12, 1)
    return np.where(np.isnan(d), "", np.where(d < 1.0, "under-represented",
                                              np.where(d >= 1.1, "over-represented", "no disproportionality")))


def excess_children(a, n, ref_rate_fraction, rri_low, rri_high) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Children above (below, if negative) parity with the reference group.

    ``excess = a - n x r_ref`` (r_ref as a fraction); interval ``a - a/RRI_low`` to
    ``a - a/RRI_high`` (the expected count implied by each end of the RRI interval).
    """
    a, n, r = (np.asarray(v, dtype=float) for v in (a, n, ref_rate_fraction))
    lo_r, hi_r = np.asarray(rri_low, dtype=float), np.asarray(rri_high, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ex = a - n * r
        lo = np.where((a > 0) & (lo_r > 0), a - a / lo_r, np.nan)
        hi = np.where((a > 0) & np.isfinite(hi_r), a - a / hi_r, np.nan)
    return ex, lo, hi


# --------------------------------------------------------------------------- table layer
_CORE = ("jurisdiction", "period", "race_ethnicity", "stage", "count", "base")
_SPECIAL_REFERENCES = frozenset(REFERENCE_OPTIONS)
"""References that are not a group in the data (:data:`REFERENCE_OPTIONS`)."""


def _dims(counts: pd.DataFrame) -> list[str]:
    return [c for c in counts.columns if c not in _CORE and c not in ("suppressed", "suppression", "_row")]


def _base_of(stage: str, given: object) -> str | None:
    if isinstance(given, str) and given.strip() and given.strip() != "population":
        return given.strip()
    if isinstance(given, str) and given.strip() == "population":
        return None
    st = STAGES.get(stage)
    return st.decision_base if st else None


def _population_basis_allowed(stage: str) -> bool:
    st = STAGES.get(stage)
    return st.population_base if st else True


def measures(counts: pd.DataFrame, population: pd.DataFrame | None = None, *, reference: str = "white",
             bases: Sequence[str] = ("population", "decision"), alpha: float = 0.05,
             policy: SuppressionPolicy | None = DEFAULT_POLICY, total_group: str = "all",
             unknown: str = "exclude", adjust: str = "holm", unknown_group: str = "unknown") -> pd.DataFrame:
    """Every measure for every jurisdiction, period, group, breakdown, stage and basis.

    Parameters
    ----------
    counts : tidy counts with ``jurisdiction``, ``period``, ``race_ethnicity``, ``stage``, ``count``
        and optionally ``base`` (the decision base stage of each row; "population" or empty for
        none; defaults to the registry) and breakdown columns (``age_group``, ``sex`` ...).
    population : ``jurisdiction``, ``period``, ``race_ethnicity`` (plus the same breakdown
        columns) and ``population``; without it only decision-based rows are produced.
    reference : a group code (default ``"white"``, White non-Hispanic), ``"all_other"`` (each
        group against all other children) or ``"overall"`` (against all children).
    bases : which bases to compute: "population" (per 1,000 children) and/or "decision"
        (per 100 children at the decision base stage).
    alpha : 1 - confidence level of every interval.
    policy : small-numbers policy; ``None`` turns suppression off (internal analysis only).
    total_group : the group code of the all-children row, when the counts carry one. Totals for
        the DI come from it; otherwise from the sum of the groups.
    unknown : what the totals of the DI, the ``"all_other"`` and ``"overall"`` references count
        (:data:`UNKNOWN_OPTIONS`). ``"exclude"`` (default; the AFCARS/KIDS COUNT convention): children
        of known race only, because census populations have no unknown category, so keeping them
        would put them in the numerator's total but not the population's (every DI about 3% low on
        the sample). The unknown row then carries its ``share`` of *all* children. A DI or "all
        other" comparison that would need a hidden unknown count is hidden. ``"include"``: all
        children, unknowns included (the other convention).
    adjust : multiple-comparison adjustment of the p-values (:data:`ADJUST_OPTIONS`): ``"holm"``
        (default; Holm 1979, family-wise error), ``"bh"`` (Benjamini-Hochberg false discovery
        rate) or ``"none"``. The family is every group compared at one decision point, place,
        period, breakdown and basis (what one chart of a page shows); only published p-values
        are in it. Result in ``p_adjusted`` and ``comparisons`` (the family size).
    unknown_group : the group code of unknown race.

    Returns
    -------
    DataFrame with :data:`OUTPUT_COLUMNS` (breakdown columns after ``race_ethnicity``):
    ``count`` and ``base_count`` (nullable integers, missing where suppressed), ``base`` ("child
    population" or the base stage), ``per`` (1000 or 100), ``rate`` and its interval
    (``rate_method``), ``share`` of the stage total and ``base_share``, ``di`` with interval and
    ``di_band``, the ``reference`` and its count, base and rate, ``rri`` with interval,
    ``se_log_rri``, ``ci_method``, ``p_value`` and ``test``, ``p_adjusted`` and ``comparisons``,
    ``excess`` with interval, and the
    flags ``suppressed``, ``unstable`` (20 or fewer children), ``insufficient`` (too small for a
    DI or RRI under the policy), ``zero_cell`` and ``no_base``.
    """
    _check_options(counts, unknown=unknown, adjust=adjust, bases=bases)
    dims = _dims(counts)
    keys = ["jurisdiction", "period", "race_ethnicity", *dims]
    c = _prepared_counts(counts, keys=keys, dims=dims, reference=reference, total_group=total_group, policy=policy)
    m = _basis_rows(c, population, keys=keys, bases=bases)
    grp = ["jurisdiction", "period", *dims, "stage", "basis"]
    m, is_unknown, all_share = _with_totals(m, grp, total_group=total_group, unknown=unknown,
                                            unknown_group=unknown_group)
    m = _with_reference(m, grp, reference=reference)
    _add_rates_and_di(m, alpha=alpha, unknown=unknown, is_unknown=is_unknown, all_share=all_share)
    m = _with_ratios_and_excess(m, reference=reference, alpha=alpha, unknown=unknown, is_unknown=is_unknown)
    _add_flags(m, population, keys=keys, dims=dims, policy=policy, total_group=total_group)
    _hide_suppressed(m, policy=policy, total_group=total_group)
    m["di_band"] = di_band(m["di"])
    m["p_adjusted"], m["comparisons"] = adjust_p_values(m, method=adjust, family=grp)
    out = _sorted_output(m, dims)
    out.attrs["policy"] = policy.as_dict() if policy is not None else None
    out.attrs["reference"] = reference
    out.attrs["unknown"] = unknown
    out.attrs["adjust"] = adjust
    return out


def _check_options(counts: pd.DataFrame, *, unknown: str, adjust: str, bases: Sequence[str]) -> None:
    """Refuse a counts table without its key columns, and an ``unknown``, ``adjust`` or basis not offered."""
    need = ["jurisdiction", "period", "race_ethnicity", "stage", "count"]
    miss = [c for c in need if c not in counts.columns]
    if miss:
        raise ParameterError(f"The counts table has no {miss} column(s); it needs {', '.join(need)}.")
    if unknown not in UNKNOWN_OPTIONS:
        raise ParameterError(f"unknown must be one of {UNKNOWN_OPTIONS}, not {unknown!r}.")
    if adjust not in ADJUST_OPTIONS:
        raise ParameterError(f"adjust must be one of {ADJUST_OPTIONS}, not {adjust!r}.")
    bad_bases = set(bases) - {"population", "decision"}
    if bad_bases:
        raise ParameterError(f"Unknown basis {sorted(bad_bases)}; use 'population' and/or 'decision'.")


def _prepared_counts(counts: pd.DataFrame, *, keys: list[str], dims: list[str], reference: str, total_group: str,
                     policy: SuppressionPolicy | None) -> pd.DataFrame:
    """A copy of the counts with a ``base`` column, float counts and each cell's ``suppressed`` flag.

    Refuses a named reference group that is not in the data. ``policy=None`` suppresses nothing.
    """
    cell = keys + ["stage"]
    c = counts.copy()
    if "base" not in c:
        c["base"] = ""
    c["count"] = pd.to_numeric(c["count"]).astype(float)
    groups_present = set(c["race_ethnicity"])
    if reference not in _SPECIAL_REFERENCES and reference not in groups_present:
        raise ParameterError(
            f"Reference group {reference!r} is not in the data. Choose one of "
            f"{', '.join(sorted(g for g in groups_present if g != total_group))}, 'all_other' or 'overall'.")

    # small-number suppression of the count cells, across every published margin; a table that
    # already carries ``suppressed`` (a release table) has had disclosure decided on every margin
    if "suppressed" in c.columns and policy is not None:
        c["suppressed"] = c["suppressed"].astype("boolean").fillna(True).astype(bool)
        c.loc[c["suppressed"], "count"] = 0.0  # never used: everything derived from it is hidden
    elif policy is not None:
        margins = ["race_ethnicity", "jurisdiction", *dims]
        c = suppress_counts(c, keys=cell, margins=margins, policy=policy)
    else:
        c["suppressed"] = False
    return c.drop(columns=[x for x in ("suppression",) if x in c])


def _basis_rows(c: pd.DataFrame, population: pd.DataFrame | None, *, keys: list[str],
                bases: Sequence[str]) -> pd.DataFrame:
    """Each count once per basis asked for and possible (population rows first, then decision rows), with
    ``base_count`` (float), ``base_suppressed``, ``base``, ``basis`` and ``per``."""
    frames = []
    if "population" in bases and population is not None:
        frames.append(_population_basis(c, population, keys))
    if "decision" in bases:
        frames.append(_decision_basis(c, keys))
    if not frames:
        raise ParameterError("Nothing to compute: no population table for a population basis and no "
                             "decision bases requested.")
    m = pd.concat(frames, ignore_index=True)
    m = m.drop(columns=[x for x in ("_base_stage",) if x in m])
    m["base_count"] = m["base_count"].astype(float)
    m["base_suppressed"] = m["base_suppressed"].astype("boolean").fillna(False).astype(bool)
    return m


def _population_basis(c: pd.DataFrame, population: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows per 1,000 children: counts of the stages that allow a population basis, each with the
    child population of its cell as ``base_count`` (never suppressed)."""
    pk = [k for k in keys if k in population.columns]
    if pk != keys:
        raise ParameterError(f"The population table lacks {sorted(set(keys) - set(pk))} to match the counts.")
    pop = population.groupby(keys, observed=True)["population"].sum(min_count=1).reset_index()
    allowed = [_population_basis_allowed(s) for s in c["stage"]]
    pb = c[allowed].merge(pop, on=keys, how="left")
    pb = pb.rename(columns={"population": "base_count"})
    pb["base_suppressed"] = False
    pb["base"] = "child population"
    pb["basis"] = "population"
    pb["per"] = 1000
    return pb


def _decision_basis(c: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows per 100 children at the decision base: counts of the stages with a base stage, each with
    that stage's count in the same cell as ``base_count`` (and its ``base_suppressed``)."""
    cell = keys + ["stage"]
    c = c.assign(_base_stage=[_base_of(s, b) for s, b in zip(c["stage"], c["base"])])
    db = c[c["_base_stage"].notna()].copy()
    lookup = c[cell + ["count", "suppressed"]].rename(
        columns={"stage": "_base_stage", "count": "base_count", "suppressed": "base_suppressed"})
    db = db.merge(lookup, on=keys + ["_base_stage"], how="left")
    db["base"] = db["_base_stage"]
    db["basis"] = "decision"
    db["per"] = 100
    return db


def _with_totals(m: pd.DataFrame, grp: list[str], *, total_group: str, unknown: str, unknown_group: str
                 ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``m`` with the totals of shares, the DI and the special references: ``A`` (count), ``N`` (base) and
    their ``A_supp``, ``N_supp``, from the ``total_group`` row or else the sum of the groups; with
    ``unknown="exclude"``, of known race only. Also which rows are of unknown race and each row's share of
    all children (unknowns included, for the unknown row's ``share``)."""
    # totals for shares / DI / overall reference
    is_total = m["race_ethnicity"] == total_group
    if is_total.any():
        tot = m[is_total][grp + ["count", "base_count", "suppressed", "base_suppressed"]].rename(
            columns={"count": "A", "base_count": "N", "suppressed": "A_supp", "base_suppressed": "N_supp"})
    else:
        # a sum over groups is publishable: complementary suppression leaves no margin with a
        # single hidden cell, so the total minus the shown cells never isolates one of them
        parts = m[m["race_ethnicity"] != unknown_group] if unknown == "exclude" else m
        tot = parts.groupby(grp, observed=True).agg(A=("count", "sum"), N=("base_count", "sum")).reset_index()
        tot["A_supp"] = False
        tot["N_supp"] = False
    m = m.merge(tot, on=grp, how="left")
    is_unknown = (m["race_ethnicity"] == unknown_group).to_numpy()
    all_share = np.where(m["A"] > 0, m["count"] / m["A"], np.nan)  # of all children (the unknown row's share)
    if unknown == "exclude" and is_total.any() and is_unknown.any():
        # known race only: all children minus the unknown row (a hidden unknown count hides the total)
        unk = m[is_unknown][grp + ["count", "base_count", "suppressed", "base_suppressed"]].rename(columns={
            "count": "u", "base_count": "u_base", "suppressed": "u_supp", "base_suppressed": "u_base_supp"})
        m = m.merge(unk, on=grp, how="left")
        decision_rows = (m["basis"] == "decision").to_numpy()
        m["A"] = m["A"] - m["u"].fillna(0)
        m["N"] = m["N"] - np.where(decision_rows, m["u_base"].fillna(0), 0.0)  # census has no unknowns
        m["A_supp"] = m["A_supp"] | m["u_supp"].astype("boolean").fillna(False).astype(bool)
        m["N_supp"] = m["N_supp"] | (decision_rows & m["u_base_supp"].astype("boolean").fillna(False).astype(bool))
        m = m.drop(columns=["u", "u_base", "u_supp", "u_base_supp"])
    return m, is_unknown, all_share


def _with_reference(m: pd.DataFrame, grp: list[str], *, reference: str) -> pd.DataFrame:
    """``m`` with the reference's ``ref_count``, ``ref_base`` and ``ref_supp`` on every row: all children,
    all other children, or the named group's row of the same stage, basis and cell."""
    if reference == "overall":
        m["ref_count"], m["ref_base"] = m["A"], m["N"]
        m["ref_supp"] = m["A_supp"] | m["N_supp"]
    elif reference == "all_other":
        m["ref_count"], m["ref_base"] = m["A"] - m["count"], m["N"] - m["base_count"]
        m["ref_supp"] = m["A_supp"] | m["N_supp"] | m["suppressed"] | m["base_suppressed"]
    else:
        ref = m[m["race_ethnicity"] == reference][grp + ["count", "base_count", "suppressed", "base_suppressed"]]
        ref = ref.rename(columns={"count": "ref_count", "base_count": "ref_base"})
        ref["ref_supp"] = ref.pop("suppressed") | ref.pop("base_suppressed")
        m = m.merge(ref, on=grp, how="left")
        m["ref_supp"] = m["ref_supp"].astype("boolean").fillna(False).astype(bool)
    # a reference built from a hidden count is never used (every ratio against it is hidden); zero it
    # so that no test sees the placeholder (all children minus a group could be negative)
    hide_ref = m["ref_supp"].to_numpy(bool)
    m.loc[hide_ref, ["ref_count", "ref_base"]] = 0.0
    return m


def _add_rates_and_di(m: pd.DataFrame, *, alpha: float, unknown: str, is_unknown: np.ndarray,
                      all_share: np.ndarray) -> None:
    """Add each row's rate with its interval and method, ``share``, ``base_share`` and DI with its interval
    (in place). Under ``unknown="exclude"`` the unknown row's share is of all children and it has no DI."""
    a = m["count"].to_numpy(float)
    n = m["base_count"].to_numpy(float)
    per = m["per"].to_numpy(float)
    pop_basis = (m["basis"] == "population").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        m["rate"] = np.where(n > 0, a / n * per, np.nan)
        plo, phi = poisson_exact_ci(a, alpha=alpha)
        wlo, whi = wilson_ci(a, n, alpha=alpha)
        m["rate_low"] = np.where(n > 0, np.where(pop_basis, plo / n, wlo) * per, np.nan)
        m["rate_high"] = np.where(n > 0, np.where(pop_basis, phi / n, whi) * per, np.nan)
    m["rate_method"] = np.where(pop_basis, "exact Poisson (Garwood)", "Wilson score")
    with np.errstate(divide="ignore", invalid="ignore"):
        m["share"] = np.where(m["A"] > 0, a / m["A"], np.nan)
        m["base_share"] = np.where(m["N"] > 0, n / m["N"], np.nan)
    di, dlo, dhi = disproportionality_index(a, m["A"], n, m["N"], alpha=alpha)
    m["di"], m["di_low"], m["di_high"] = di, dlo, dhi
    if unknown == "exclude":
        # unknown race is outside the known-race totals: its share is of all children, and it has no DI
        m.loc[is_unknown, "share"] = all_share[is_unknown]
        m.loc[is_unknown, ["base_share", "di", "di_low", "di_high"]] = np.nan


def _with_ratios_and_excess(m: pd.DataFrame, *, reference: str, alpha: float, unknown: str,
                            is_unknown: np.ndarray) -> pd.DataFrame:
    """``m`` with the RRI against the reference (interval, method, test: :func:`rate_ratio`, each basis with
    its own methods), ``ref_rate``, the excess children and ``reference``. The reference group's own rows
    read RRI 1 with no excess; under ``unknown="exclude"`` unknown race has no ratio to a special reference."""
    a = m["count"].to_numpy(float)
    n = m["base_count"].to_numpy(float)
    per = m["per"].to_numpy(float)
    rr = pd.DataFrame(index=m.index)
    for basis in ("population", "decision"):
        sel = (m["basis"] == basis).to_numpy()
        if sel.any():
            res = rate_ratio(a[sel], n[sel], m.loc[sel, "ref_count"], m.loc[sel, "ref_base"],
                             basis=basis, alpha=alpha)
            res.index = m.index[sel]
            rr = pd.concat([rr, res]) if len(rr.columns) else res
    m = m.join(rr.reindex(m.index))
    with np.errstate(divide="ignore", invalid="ignore"):
        m["ref_rate"] = np.where(m["ref_base"] > 0, m["ref_count"] / m["ref_base"] * per, np.nan)
    ex, exlo, exhi = excess_children(a, n, m["ref_rate"] / per, m["rri_low"], m["rri_high"])
    m["excess"], m["excess_low"], m["excess_high"] = ex, exlo, exhi
    m["reference"] = reference
    if reference not in _SPECIAL_REFERENCES:
        # the reference against itself: RRI 1 and no excess by definition, nothing to test
        own = (m["race_ethnicity"] == reference).to_numpy() & (m["base_count"] > 0).to_numpy()
        m.loc[own, ["excess", "excess_low", "excess_high"]] = 0.0
        m.loc[own, ["rri_low", "rri_high", "se_log_rri", "p_value"]] = np.nan
        m.loc[own, ["ci_method", "test"]] = "reference group"

    if unknown == "exclude" and reference in _SPECIAL_REFERENCES:
        # children of unknown race are outside the known-race totals the reference is built from
        m.loc[is_unknown, ["rri", "rri_low", "rri_high", "se_log_rri", "p_value", "excess", "excess_low",
                           "excess_high"]] = np.nan
        m.loc[is_unknown, ["ci_method", "test"]] = ""
    return m


def _add_flags(m: pd.DataFrame, population: pd.DataFrame | None, *, keys: list[str], dims: list[str],
               policy: SuppressionPolicy | None, total_group: str) -> None:
    """Add the ``no_base``, ``zero_cell``, ``unstable`` and ``insufficient`` flags under the policy (in place)."""
    pol = policy or SuppressionPolicy(min_count=1, max_count=0, complementary=False)
    a = m["count"].to_numpy(float)
    m["no_base"] = ~(m["base_count"] > 0)
    m["zero_cell"] = m["zero_cell"].astype("boolean").fillna(False).astype(bool)
    m["unstable"] = unstable_mask(a, pol) & ~m["no_base"]
    pop_share = _population_share(m, population, keys, dims, total_group)
    m["insufficient"] = ((m["base_count"] < pol.min_base) | (m["count"] < pol.min_numerator)
                         | (pop_share < pol.min_group_share)) & ~m["no_base"]


def _hide_suppressed(m: pd.DataFrame, *, policy: SuppressionPolicy | None, total_group: str) -> None:
    """Blank what the policy hides and set ``suppressed`` (in place): rates of a hidden count or base, DIs of
    a hidden total, ratios of a hidden reference or too small a group, the hidden counts themselves, and the
    flags and method names next to them. The all-children rows never carry a ratio or excess."""
    derived_supp = m["suppressed"] | m["base_suppressed"]
    di_supp = derived_supp | m["A_supp"] | m["N_supp"]
    ratio_supp = derived_supp | m["ref_supp"]
    total_rows = m["race_ethnicity"] == total_group
    rate_cols = ["rate", "rate_low", "rate_high"]
    di_cols = ["share", "base_share", "di", "di_low", "di_high"]
    ratio_cols = ["rri", "rri_low", "rri_high", "se_log_rri", "p_value", "excess", "excess_low", "excess_high"]
    if policy is not None:
        m.loc[derived_supp, rate_cols] = np.nan
        m.loc[di_supp, di_cols] = np.nan
        m.loc[m["insufficient"], ["di", "di_low", "di_high"]] = np.nan
        m.loc[ratio_supp | m["insufficient"], ratio_cols] = np.nan
        m.loc[m["suppressed"], "count"] = np.nan
        m.loc[m["base_suppressed"], "base_count"] = np.nan
        m.loc[m["ref_supp"], ["ref_count", "ref_base", "ref_rate"]] = np.nan
    m.loc[total_rows, ["rri", "rri_low", "rri_high", "se_log_rri", "p_value", "excess", "excess_low",
                       "excess_high"]] = np.nan
    m.loc[total_rows, ["ci_method", "test"]] = ""
    # "suppressed": the row's count, base or ratio is hidden (a DI hidden only because a total is, such as
    # a hidden unknown-race count, leaves the ratio against a named group standing: the DI is simply missing)
    m["suppressed"] = ratio_supp & ~total_rows | derived_supp
    if policy is not None:
        # flags and method names next to a hidden count would bound it: none are published, and a
        # ratio that is not shown names no method (the choice of method depends on the counts)
        m.loc[derived_supp, ["unstable", "insufficient", "zero_cell", "no_base"]] = False
        m.loc[ratio_supp, "zero_cell"] = False
        m.loc[derived_supp, "rate_method"] = ""
        m.loc[ratio_supp | m["rri"].isna(), ["ci_method", "test"]] = ""


def _sorted_output(m: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """The :data:`OUTPUT_COLUMNS` (breakdowns after ``race_ethnicity``), counts as nullable integers, sorted
    by place, period, breakdown, stage (in the registry's order), basis and group."""
    for col in ("count", "base_count", "ref_count", "ref_base"):
        m[col] = m[col].round().astype("Int64")
    order = {s: i for i, s in enumerate(STAGES)}
    cols = OUTPUT_COLUMNS[:3] + dims + OUTPUT_COLUMNS[3:]
    out = m[cols].sort_values(["jurisdiction", "period", *dims, "stage", "basis", "race_ethnicity"],
                              key=lambda s: s.map(lambda v: order.get(v, 99)) if s.name == "stage" else s,
                              kind="stable")
    return out.reset_index(drop=True)


def _population_share(m: pd.DataFrame, population: pd.DataFrame | None, keys: list[str], dims: list[str],
                      total_group: str) -> pd.Series:
    """Each group's share of the child population of its jurisdiction and period (NaN if unknown)."""
    if population is None:
        return pd.Series(np.nan, index=m.index)
    jp = ["jurisdiction", "period"]
    p = population.groupby(jp + ["race_ethnicity"], observed=True)["population"].sum().reset_index()
    if total_group in set(p["race_ethnicity"]):
        tot = p[p["race_ethnicity"] == total_group][jp + ["population"]].rename(columns={"population": "tot"})
    else:
        tot = p.groupby(jp, observed=True)["population"].sum().rename("tot").reset_index()
    p = p.merge(tot, on=jp)
    p["pshare"] = p["population"] / p["tot"]
    s = m[jp + ["race_ethnicity"]].merge(p[jp + ["race_ethnicity", "pshare"]], how="left",
                                         on=jp + ["race_ethnicity"])["pshare"]
    s.index = m.index
    return s


def change_over_time(table: pd.DataFrame, *, baseline: int, alpha: float = 0.05) -> pd.DataFrame:
    """Each row's rate and RRI against the same row in a baseline period.

    Parameters
    ----------
    table : output of :func:`measures`.
    baseline : the baseline period (e.g. the first year).

    Returns
    -------
    DataFrame with the key columns, ``period``, ``baseline``, ``rate``, ``baseline_rate``,
    ``rate_ratio`` (rate / baseline rate) with ``rate_ratio_low/high`` (log interval,
    ``SE = sqrt(1/a_t + 1/a_0)``), ``rri``, ``baseline_rri``, ``rri_change`` (RRI / baseline RRI)
    with ``rri_change_low/high`` (``SE = sqrt(se_t^2 + se_0^2)``, independent periods) and
    ``p_value`` (z-test that the RRI did not change). Suppressed inputs give NaN.
    """
    if baseline not in set(table["period"]):
        raise ParameterError(f"Baseline period {baseline} is not in the table; periods are "
                             f"{sorted(set(table['period']))}.")
    z = z_value(alpha)
    dims = [c for c in table.columns if c not in OUTPUT_COLUMNS]  # breakdowns such as age_group
    keys = ["jurisdiction", "race_ethnicity", *dims, "stage", "basis"]
    cur = table[keys + ["period", "count", "rate", "rri", "se_log_rri", "reference"]].copy()
    base = cur[cur["period"] == baseline].drop(columns=["period", "reference"]).rename(columns={
        "count": "baseline_count", "rate": "baseline_rate", "rri": "baseline_rri", "se_log_rri": "baseline_se"})
    m = cur.merge(base, on=keys, how="left")
    a = m["count"].astype(float).to_numpy()
    a0 = m["baseline_count"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = m["rate"] / m["baseline_rate"]
        se = np.sqrt(1 / a + 1 / a0)
        m["rate_ratio"] = rr
        m["rate_ratio_low"] = np.exp(np.log(rr) - z * se)
        m["rate_ratio_high"] = np.exp(np.log(rr) + z * se)
        ch = m["rri"] / m["baseline_rri"]
        se2 = np.sqrt(m["se_log_rri"] ** 2 + m["baseline_se"] ** 2)
        m["rri_change"] = ch
        m["rri_change_low"] = np.exp(np.log(ch) - z * se2)
        m["rri_change_high"] = np.exp(np.log(ch) + z * se2)
        m["p_value"] = 2 * norm_sf(np.abs(np.log(ch) / se2))
    m["baseline"] = baseline
    cols = keys + ["period", "baseline", "reference", "rate", "baseline_rate", "rate_ratio", "rate_ratio_low",
                   "rate_ratio_high", "rri", "baseline_rri", "rri_change", "rri_change_low", "rri_change_high",
                   "p_value"]
    return m[cols].reset_index(drop=True)

