"""Scores and statistics of the collaboration survey per wave and group, before any protection.

Every function reads a :class:`~equity_helpers.survey.responses.SurveyData` (or its domain scores) and
returns a tidy table with one row per wave, group (all partners, each sector, each organisation) and
domain or item; :mod:`equity_helpers.survey.release` decides which of these numbers are published.

Notes
-----
Scoring (documented in ``docs/survey.md``):

* Reverse-scored items are turned around before scoring: ``score = min + max - response``.
* A respondent's **domain score** is the mean of the domain's items they answered, given when they
  answered at least half of the domain's items (rounded up,
  :data:`~equity_helpers.survey.instrument.MIN_ANSWERED_SHARE`; the "half rule" of scale scoring,
  e.g. the SF-36 and PROMIS manuals).
* A group's domain score is the mean of its respondents' domain scores with a **t interval**
  ``mean +/- t(0.975, n-1) * sd / sqrt(n)``.
* **Change between waves** is the difference of the two waves' means with Welch's interval (waves
  are treated as independent samples, :func:`scipy.stats.ttest_ind` with ``equal_var=False``; people who
  answer in both waves make the true interval somewhat narrower, so this one is conservative).
* **Agreement per item** is the share of those answering an item who chose a response at or above
  the instrument's ``agree_at`` (as the statement is worded, before reversing), with Wilson's interval.
* **Internal consistency** per domain is Cronbach's alpha on respondents who answered every item of the
  domain (listwise), with Feldt's F-based interval, computed by :func:`pingouin.cronbach_alpha`.
  ``alpha = k / (k - 1) * (1 - sum(item variances) / variance(total))``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from equity_helpers.metrics.rates import wilson_ci
from equity_helpers.survey.instrument import Instrument
from equity_helpers.survey.responses import ALL_PARTNERS, SurveyData

__all__ = ["domain_scores", "group_domain_scores", "item_agreement", "cronbach_alpha", "wave_changes",
           "MIN_ALPHA_RESPONDENTS"]

MIN_ALPHA_RESPONDENTS = 10
"""Cronbach's alpha is shown for groups with at least this many respondents who answered every item of
the domain (on fewer, its interval spans most of the scale)."""
_ALL, _SECTOR_TOTAL = "__all__", "__sector__"  # group keys of all partners and of a sector's total


def domain_scores(data: SurveyData) -> pd.DataFrame:
    """One row per respondent, wave and domain.

    Columns: ``wave``, ``respondent_id``, ``organisation``, ``sector``, ``domain``, ``items`` (the
    domain's items), ``answered``, ``score`` (mean of the answered items' scores; NaN when fewer than
    :attr:`~equity_helpers.survey.instrument.Domain.min_answered` were answered).
    """
    a = data.answers
    inst = data.instrument
    per = (a.groupby(["wave", "respondent_id", "organisation", "sector", "domain"], observed=True)
           .agg(answered=("score", "count"), score=("score", "mean")).reset_index())
    n_items = {d.id: len(d.items) for d in inst.domains}
    need = {d.id: d.min_answered for d in inst.domains}
    per["items"] = per["domain"].map(n_items)
    per.loc[per["answered"] < per["domain"].map(need), "score"] = np.nan
    return per[["wave", "respondent_id", "organisation", "sector", "domain", "items", "answered", "score"]]


def _with_groups(df: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """Each row once per group it belongs to: all partners, its sector, its organisation."""
    all_ = df.assign(level="all", group=ALL_PARTNERS, g_sector=_ALL, g_org=_SECTOR_TOTAL)
    sec = df.assign(level="sector", group=df["sector"].map(inst.sector_label), g_sector=df["sector"], g_org=_SECTOR_TOTAL)
    org = df.assign(level="organisation", group=df["organisation"], g_sector=df["sector"], g_org=df["organisation"])
    return pd.concat([all_, sec, org], ignore_index=True)


GROUP_KEYS = ["level", "group", "g_sector", "g_org"]


def _t_interval(mean: pd.Series, sd: pd.Series, n: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats  # SciPy: imported on first use (cost)

    n = n.to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = stats.t.ppf(0.975, n - 1) * sd.to_numpy(float) / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return mean.to_numpy(float) - half, mean.to_numpy(float) + half


def group_domain_scores(scores: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """Mean domain score per wave, group and domain with a t interval.

    Columns: ``wave``, ``level``, ``group``, ``g_sector``, ``g_org``, ``domain``, ``n`` (respondents
    with a score), ``mean``, ``sd``, ``ci_low``, ``ci_high``.
    """
    g = _with_groups(scores.dropna(subset=["score"]), inst)
    out = (g.groupby(["wave", *GROUP_KEYS, "domain"], sort=False)["score"]
           .agg(n="count", mean="mean", sd="std").reset_index())
    out["ci_low"], out["ci_high"] = _t_interval(out["mean"], out["sd"], out["n"])
    return out


def item_agreement(data: SurveyData) -> pd.DataFrame:
    """Share disagreeing, neutral and agreeing per wave, group and item (as each statement is worded).

    Columns: ``wave``, group keys, ``item``, ``domain``, ``n`` (answered), ``disagree``, ``neutral``,
    ``agree`` (counts), ``share_disagree``, ``share_neutral``, ``share_agree``, ``agree_low``,
    ``agree_high`` (Wilson 95% interval of the agreeing share).
    """

    inst = data.instrument
    a = data.answers.dropna(subset=["response"])
    a = a.assign(agree=(a["response"] >= inst.agree_at).astype(int),
                 disagree=(a["response"] <= inst.disagree_at).astype(int))
    g = _with_groups(a, inst)
    out = (g.groupby(["wave", *GROUP_KEYS, "item", "domain"], sort=False)
           .agg(n=("response", "count"), agree=("agree", "sum"), disagree=("disagree", "sum")).reset_index())
    out["neutral"] = out["n"] - out["agree"] - out["disagree"]
    for c in ("disagree", "neutral", "agree"):
        out[f"share_{c}"] = out[c] / out["n"]
    out["agree_low"], out["agree_high"] = wilson_ci(out["agree"], out["n"])
    return out


def cronbach_alpha(data: SurveyData, *, levels: Sequence[str] = ("all", "sector")) -> pd.DataFrame:
    """Cronbach's alpha per wave, group and domain (respondents who answered every item of the domain).

    ``alpha = k / (k - 1) * (1 - sum(var_i) / var(sum of items))`` (Cronbach 1951) with Feldt's
    interval ``1 - (1 - alpha) * F`` (Feldt, Woodruff & Salih 1987), from :func:`pingouin.cronbach_alpha`
    with ``nan_policy="listwise"``. Columns: ``wave``, group keys, ``domain``, ``n`` (complete
    respondents), ``alpha``, ``alpha_low``, ``alpha_high``. Alpha needs at least two items and three
    complete respondents; NaN otherwise.
    """
    import pingouin as pg  # pingouin: imported on first use (cost)

    inst = data.instrument
    a = data.answers.dropna(subset=["score"])
    g = _with_groups(a, inst)
    g = g[g["level"].isin(levels)]
    rows = []
    for (wave, *gk, domain), sub in g.groupby(["wave", *GROUP_KEYS, "domain"], sort=False):
        wide = sub.pivot_table(index="respondent_id", columns="item", values="score", aggfunc="first")
        k = len(inst.domain(domain).items)
        wide = wide.dropna(how="any") if wide.shape[1] == k else wide.iloc[0:0]
        n = len(wide)
        if k >= 2 and n >= 3 and (wide.var(ddof=1) > 0).any():
            alpha, (lo, hi) = pg.cronbach_alpha(data=wide, nan_policy="listwise")
            lo, hi = _feldt(alpha, n, k)
        else:
            alpha = lo = hi = np.nan
        rows.append((wave, *gk, domain, n, float(alpha), lo, hi))
    return pd.DataFrame(rows, columns=["wave", *GROUP_KEYS, "domain", "n", "alpha", "alpha_low", "alpha_high"])


def _feldt(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt's interval, unrounded (pingouin rounds its interval to three decimals)."""
    from scipy.stats import f  # SciPy: imported on first use (cost)

    a = 1 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return float(1 - (1 - alpha) * f.isf(a / 2, df1, df2)), float(1 - (1 - alpha) * f.isf(1 - a / 2, df1, df2))


def wave_changes(scores: pd.DataFrame, inst: Instrument, waves: Sequence[str]) -> pd.DataFrame:
    """Change in mean domain score between every pair of waves (later minus earlier), per group.

    Welch's difference of means with its 95% interval and two-sided p value
    (:func:`scipy.stats.ttest_ind`, ``equal_var=False``). Columns: ``from_wave``, ``to_wave``, group
    keys, ``domain``, ``n_from``, ``n_to``, ``mean_from``, ``mean_to``, ``change``, ``ci_low``,
    ``ci_high``, ``p_value``.
    """
    from scipy import stats  # SciPy: imported on first use (cost)

    g = _with_groups(scores.dropna(subset=["score"]), inst)
    by = {k: s["score"].to_numpy(float) for k, s in g.groupby(["wave", *GROUP_KEYS, "domain"], sort=False)}
    keys = {k[1:] for k in by}
    rows = []
    for i, w0 in enumerate(waves):
        for w1 in waves[i + 1:]:
            for k in keys:
                x0, x1 = by.get((w0, *k)), by.get((w1, *k))
                if x0 is None or x1 is None:
                    continue
                change = x1.mean() - x0.mean()
                if len(x0) >= 2 and len(x1) >= 2 and (x0.var() + x1.var()) > 0:
                    res = stats.ttest_ind(x1, x0, equal_var=False)
                    ci = res.confidence_interval(0.95)
                    lo, hi, p = float(ci.low), float(ci.high), float(res.pvalue)
                else:
                    lo = hi = p = np.nan
                rows.append((w0, w1, *k, len(x0), len(x1), x0.mean(), x1.mean(), change, lo, hi, p))
    cols = ["from_wave", "to_wave", *GROUP_KEYS, "domain", "n_from", "n_to", "mean_from", "mean_to", "change",
            "ci_low", "ci_high", "p_value"]
    return pd.DataFrame(rows, columns=cols)


