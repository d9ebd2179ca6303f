"""Intervals and tests on counts: the statistical layer under :mod:`equity_helpers.metrics.rates`.

All vectorised over numpy arrays, each docstring naming its method and source (formulas in
``docs/methods.md``):

* rates - exact Poisson (Garwood) :func:`poisson_exact_ci` for population bases, Wilson
  :func:`wilson_ci` for decision (stage) bases;
* ratios - Katz log :func:`katz_log_ci`, and Koopman's score interval :func:`koopman_score_ci` when a
  cell is small (:data:`SMALL_CELL`);
* tests against 1 - :func:`two_proportion_z_test`, :func:`fisher_exact_p`, :func:`binomial_test_p`;
  Holm or Benjamini-Hochberg adjustment across the groups at one decision point, :func:`adjust_p_values`;
* :func:`acs_moe_proportion` - the margin of error of an ACS proportion.

The distribution functions are SciPy's own formulas called from ``scipy.special`` (:func:`norm_ppf`,
:func:`norm_sf`, :func:`chi2_ppf`, :func:`beta_ppf`), without importing ``scipy.stats``, whose import
alone (about a second) was half of a state's measures step. The map of the package is
``docs/architecture.md``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["SMALL_CELL", "poisson_exact_ci", "wilson_ci", "katz_log_ci", "koopman_score_ci", "koopman_statistic",
           "fisher_exact_p", "binomial_test_p", "two_proportion_z_test", "acs_moe_proportion", "adjust_p_values",
           "norm_ppf", "norm_sf", "chi2_ppf", "beta_ppf", "z_value"]


class _LazyStats:
    """``scipy.stats``, imported on first use: a notebook kernel that only reads measures the batch
    already computed does not pay for it at startup (about half a second)."""

    def __getattr__(self, name: str):
        from scipy import stats as _stats  # SciPy: imported on first use (cost)

        return getattr(_stats, name)


stats = _LazyStats()


def _special():
    """``scipy.special``: the distribution functions below are SciPy's own formulas for ``norm``, ``chi2``
    and ``beta`` (``scipy.stats._continuous_distns``), called without importing ``scipy.stats``, whose
    import alone (about a second) was half of a state's measures step."""
    import scipy.special as sc  # SciPy: imported on first use (cost)

    return sc


def norm_ppf(q):
    return _special().ndtri(q)


def norm_sf(x):
    return _special().ndtr(-np.asarray(x, dtype=float))


def chi2_ppf(q, df):
    return 2 * _special().gammaincinv(np.asarray(df, dtype=float) / 2, q)


def beta_ppf(q, a, b):
    return float(_special().betaincinv(a, b, q))


SMALL_CELL = 10
"""Below this (smaller of the two numerators) the score / exact intervals and tests are used."""


def z_value(alpha: float) -> float:
    return float(norm_ppf(1 - alpha / 2))


# --------------------------------------------------------------------------- count layer
def poisson_exact_ci(count, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson interval for a count.

    ``low = chi2.ppf(alpha/2, 2x) / 2`` (0 when x = 0), ``high = chi2.ppf(1 - alpha/2, 2x + 2) / 2``.
    Source: NBER note on random variation in counts; ``docs/methods.md`` section 2.5 (``poisson_exact_ci_count_15``:
    15 -> 8.3954-24.7402).
    """
    x = np.asarray(count, dtype=float)
    with np.errstate(invalid="ignore"):
        low = np.where(x > 0, chi2_ppf(alpha / 2, 2 * x) / 2, 0.0)
        high = chi2_ppf(1 - alpha / 2, 2 * x + 2) / 2
    return low, high


def wilson_ci(count, n, *, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion ``count / n`` (NaN where n = 0).

    ``(p + z^2/2n +/- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``.
    """
    x = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    z = z_value(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def katz_log_ci(a, n1, c, n2, *, alpha: float = 0.05, poisson: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rate ratio with the Katz log interval.

    ``RR = (a/n1)/(c/n2)``; ``SE(ln RR) = sqrt(1/a - 1/n1 + 1/c - 1/n2)`` (Katz et al. 1978,
    "Method C"; SciPy ``relative_risk``), or ``sqrt(1/a + 1/c)`` with ``poisson=True`` (population
    bases, where the 1/n terms are negligible). Undefined (NaN) where ``a`` or ``c`` is zero.

    Returns
    -------
    rr, low, high, se_log_rr
    """
    a, n1, c, n2 = (np.asarray(v, dtype=float) for v in (a, n1, c, n2))
    z = z_value(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = (a / n1) / (c / n2)
        var = 1 / a + 1 / c if poisson else 1 / a - 1 / n1 + 1 / c - 1 / n2
        se = np.where((a > 0) & (c > 0), np.sqrt(var), np.nan)
        low = np.exp(np.log(rr) - z * se)
        high = np.exp(np.log(rr) + z * se)
    return rr, low, high, se


def koopman_statistic(phi: float, a: float, n1: float, c: float, n2: float) -> float:
    """Score statistic for ``H0: p1 / p2 = phi`` (Miettinen-Nurminen without the N/(N-1) factor)."""
    big_n = n1 + n2
    qa = big_n * phi
    qb = -(n1 * phi + a + n2 + c * phi)
    qc = a + c
    # restricted MLE of p2: the smaller root, written 2C / (-B + sqrt(B^2 - 4AC)) to avoid cancellation
    p2 = 2 * qc / (-qb + np.sqrt(max(qb * qb - 4 * qa * qc, 0.0)))
    p1 = min(phi * p2, 1.0)
    num = (a / n1 - phi * c / n2) ** 2
    var = p1 * (1 - p1) / n1 + phi * phi * p2 * (1 - p2) / n2
    if num < 1e-20:  # at the estimate (where the variance can round to 0 when a proportion is 1)
        return 0.0
    if var <= 0:
        return np.inf
    return num / var


def koopman_statistics(phi: np.ndarray, a: float, n1: float, c: float, n2: float) -> np.ndarray:
    """:func:`koopman_statistic` at many ratios at once (the same arithmetic, element by element)."""
    big_n = n1 + n2
    qa = big_n * phi
    qb = -(n1 * phi + a + n2 + c * phi)
    qc = a + c
    with np.errstate(divide="ignore", invalid="ignore"):
        p2 = 2 * qc / (-qb + np.sqrt(np.maximum(qb * qb - 4 * qa * qc, 0.0)))
        p1 = np.minimum(phi * p2, 1.0)
        num = (a / n1 - phi * c / n2) ** 2
        var = p1 * (1 - p1) / n1 + phi * phi * p2 * (1 - p2) / n2
        out = num / var
    out = np.where(var <= 0, np.inf, out)
    return np.where(num < 1e-20, 0.0, out)


def koopman_score_ci(a: int, n1: float, c: int, n2: float, *, alpha: float = 0.05) -> tuple[float, float]:
    """Koopman's asymptotic score interval for the ratio of two binomial proportions ``(a/n1)/(c/n2)``.

    The interval is every ratio ``phi`` the score test does not reject:
    ``T(phi) = (p1hat - phi p2hat)^2 / (p1~(1 - p1~)/n1 + phi^2 p2~(1 - p2~)/n2) <= chi2(1; 1 - alpha)``,
    with ``p2~`` the maximum-likelihood estimate of ``p2`` under ``p1 = phi p2`` (root of
    ``N phi p^2 - (n1 phi + a + n2 + c phi) p + (a + c) = 0``) and ``p1~ = phi p2~``. The limits are
    found by root-finding on ``log phi`` (Brent), so they hold at the boundaries: ``a = 0`` gives a
    lower limit of 0, ``c = 0`` an upper limit of infinity, and proportions of 1 (``a = n1`` or
    ``c = n2``) keep both limits finite. Both counts zero: ``(nan, nan)`` (no information).

    Sources: Koopman (1984) Biometrics 40:513-517; Fagerland, Lydersen & Laake (2015, 2017),
    R ``contingencytables::Koopman_asymptotic_score_CI_2x2`` (the Miettinen-Nurminen statistic
    without its variance correction). Worked example (Perondi et al. 2004): 7/34 vs 1/34 gives
    1.2209 to 42.5757.
    """
    from scipy.optimize import brentq  # SciPy: imported on first use (cost)

    a, c, n1, n2 = float(a), float(c), float(n1), float(n2)
    if a == 0 and c == 0:
        return np.nan, np.nan
    crit = float(chi2_ppf(1 - alpha, 1))
    est = (a / n1) / (c / n2) if c > 0 else np.inf
    lo_x, hi_x = np.log(1e-10), np.log(1e10)

    def f(x: float) -> float:
        return koopman_statistic(float(np.exp(x)), a, n1, c, n2) - crit

    def limit(start: float, end: float) -> float:
        """The first crossing of the critical value from ``start`` towards ``end`` (log scale): a coarse
        walk brackets it (the statistic spans many orders of magnitude), Brent's method pins it."""
        grid = np.linspace(start, end, 401)
        vals = koopman_statistics(np.exp(grid), a, n1, c, n2) - crit
        over = np.flatnonzero(vals > 0)
        if not len(over):
            return float(np.exp(end))  # never rejected within the range: the limit is 0 or infinity
        k = int(over[0])
        if k == 0:
            return float(np.exp(start))
        return float(np.exp(brentq(f, grid[k - 1], grid[k], xtol=1e-13, rtol=1e-13)))

    # the statistic is 0 at the estimate and grows on each side of it; with a zero count the
    # estimate is 0 or infinity and the search runs over the whole range
    centre = np.log(est) if 0 < est < np.inf else (lo_x if est == 0 else hi_x)
    low = 0.0 if a == 0 else limit(centre, lo_x)
    high = np.inf if c == 0 else limit(centre, hi_x)
    low = 0.0 if low <= 1e-10 else low
    high = np.inf if high >= 1e10 else high
    return low, high


_TIE = 1 + 1e-7
"""Relative tolerance for "as or less probable than the observed table" in the exact tests (R's
``fisher.test`` and ``binom.test``; SciPy's ``binomtest`` uses the same)."""


def fisher_exact_p(a: int, n1: int, c: int, n2: int) -> float:
    """Two-sided Fisher exact test of ``a`` of ``n1`` against ``c`` of ``n2``.

    The p-value is the probability, under independence with both margins fixed, of every table no more
    probable than the observed one: ``sum_x P(x) [P(x) <= P(a) (1 + 1e-7)]``, with ``P`` the
    hypergeometric probability of ``x`` in the first cell (computed on the log scale with ``gammaln``,
    all tables at once). The definition of SciPy's ``fisher_exact`` and R's ``fisher.test``; agrees with
    SciPy to 1e-11 relative on thousands of tables (tests/test_methods_intervals.py), about 15 times
    faster (it is called once per small cell).
    """
    from scipy.special import gammaln  # SciPy: imported on first use (cost)

    m = a + c
    x = np.arange(max(0, m - n2), min(m, n1) + 1)
    logp = -(gammaln(x + 1) + gammaln(n1 - x + 1) + gammaln(m - x + 1) + gammaln(n2 - m + x + 1))
    prob = np.exp(logp - logp.max())
    observed = prob[a - x[0]]
    return float(min(1.0, prob[prob <= observed * _TIE].sum() / prob.sum()))


def binomial_test_p(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial test of ``k`` successes in ``n`` trials against probability ``p``:
    ``sum_x P(x) [P(x) <= P(k) (1 + 1e-7)]`` over ``x = 0..n`` (SciPy's ``binomtest`` and R's
    ``binom.test``; agrees with SciPy to 1e-11 relative, tested), all outcomes at once on the log scale."""
    from scipy.special import gammaln, xlog1py, xlogy  # SciPy: imported on first use (cost)

    x = np.arange(n + 1)
    logp = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1) + xlogy(x, p) + xlog1py(n - x, -p)
    prob = np.exp(logp - logp.max())
    observed = prob[k]
    return float(min(1.0, prob[prob <= observed * _TIE].sum() / prob.sum()))


def two_proportion_z_test(a, n1, c, n2) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z-test of ``a/n1`` against ``c/n2``: returns ``(z, two-sided p)``.

    ``z = (p1 - p2) / sqrt(pbar (1 - pbar) (1/n1 + 1/n2))``, ``pbar = (a + c)/(n1 + n2)``;
    ``z^2`` equals Pearson's chi-square without continuity correction.
    """
    a, n1, c, n2 = (np.asarray(v, dtype=float) for v in (a, n1, c, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = a / n1, c / n2
        pbar = (a + c) / (n1 + n2)
        z = (p1 - p2) / np.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    p = 2 * norm_sf(np.abs(z))
    return z, p


def acs_moe_proportion(x, moe_x, y, moe_y) -> tuple[np.ndarray, np.ndarray]:
    """ACS 90% margin of error of a derived proportion ``P = X / Y`` (X a subset of Y).

    ``MOE(P) = sqrt(MOE_X^2 - P^2 MOE_Y^2) / Y``; if the radicand is negative, the ratio formula
    ``sqrt(MOE_X^2 + P^2 MOE_Y^2) / Y`` (Census ACS handbook ch. 8; tidycensus ``moe_prop``).
    For population shares from the ACS, whose margins the DI interval should carry.
    """
    x, mx, y, my = (np.asarray(v, dtype=float) for v in (x, moe_x, y, moe_y))
    p = x / y
    rad = mx ** 2 - p ** 2 * my ** 2
    moe = np.where(rad >= 0, np.sqrt(np.abs(rad)), np.sqrt(mx ** 2 + p ** 2 * my ** 2)) / y
    return p, moe


def adjust_p_values(table: pd.DataFrame, *, method: str = "holm", family: Sequence[str] = (),
                    p_column: str = "p_value") -> tuple[pd.Series, pd.Series]:
    """Multiple-comparison adjusted p-values within each family of rows.

    ``holm`` (Holm 1979): with the family's m p-values sorted, ``p_(i)`` becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``; it controls the chance of any false "significant"
    among the family. ``bh`` (Benjamini & Hochberg 1995, SciPy ``false_discovery_control``) controls
    the expected share of false discoveries. ``none`` returns the p-values unchanged. Missing
    p-values (hidden, reference rows, all children) are not in a family and stay missing.

    Returns
    -------
    (adjusted p-values, family size ``m`` of each row's family; 0 where the row has no p-value)
    """
    p = pd.to_numeric(table[p_column], errors="coerce").astype(float)
    has = p.notna()
    keys = [table[k] for k in family] if family else [pd.Series(0, index=table.index)]
    gid = pd.Series(pd.MultiIndex.from_arrays(keys).factorize()[0] if len(table) else [], index=table.index)
    m = has.groupby(gid).transform("sum").where(has, 0).astype("int64")
    if method == "none":
        return p, m

    if method == "bh":
        def one(x: pd.Series) -> pd.Series:
            v = x.dropna()
            if v.empty:
                return x
            return pd.Series(stats.false_discovery_control(v.to_numpy()), index=v.index).reindex(x.index)

        return p.groupby(gid, group_keys=False).apply(one).reindex(table.index), m
    # Holm for every family at once: rows sorted by family, then p (stably); j the rank within the family
    idx = np.flatnonzero(has.to_numpy())
    g, v = gid.to_numpy()[idx], p.to_numpy()[idx]
    order = np.lexsort((v, g))
    gs, vs = g[order], v[order]
    starts = np.r_[0, np.flatnonzero(np.diff(gs)) + 1] if len(gs) else np.array([], dtype=int)
    sizes = np.diff(np.r_[starts, len(gs)])
    j = np.arange(len(gs)) - np.repeat(starts, sizes)
    scaled = np.minimum(1.0, (np.repeat(sizes, sizes) - j) * vs)
    out = np.full(len(p), np.nan)
    out[idx[order]] = pd.Series(scaled).groupby(gs).cummax().to_numpy()
    return pd.Series(out, index=table.index), m
