"""Metrics: the field's measures, pinned by worked examples with known answers.

Functions on counts at the bottom (:mod:`~equity_helpers.metrics.intervals`: exact, Wilson, Katz and score
intervals, exact and z tests, multiple-comparison adjustment), the measures on top of them
(:mod:`~equity_helpers.metrics.rates`: rates per 1,000 or per 100 at the previous step, the
disproportionality index, the relative rate index against a named reference, excess children, change over
time) and time in care (:mod:`~equity_helpers.metrics.survival`: Kaplan-Meier, competing exits, CFSR-style
federal measures). Formulas and sources are in ``docs/methods.md``; the map of the package is
``docs/architecture.md``.
"""
from equity_helpers.metrics.intervals import (
    adjust_p_values,
    katz_log_ci,
    koopman_score_ci,
    poisson_exact_ci,
    two_proportion_z_test,
    wilson_ci,
)
from equity_helpers.metrics.rates import (
    change_over_time,
    di_band,
    disproportionality_index,
    excess_children,
    measures,
    rate_ratio,
)

_intervals = ["poisson_exact_ci", "wilson_ci", "katz_log_ci", "koopman_score_ci", "two_proportion_z_test",
              "adjust_p_values"]
_measures = ["measures", "rate_ratio", "disproportionality_index", "di_band", "excess_children", "change_over_time"]
__all__ = _intervals + _measures
