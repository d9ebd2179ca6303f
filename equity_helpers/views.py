"""Shareable views: the tables notebooks and reports show, already suppressed.

Suppression is always decided on the full table (every jurisdiction and group) before a view
is filtered to one place, so the cells hidden in one county's report and in the statewide
report are consistent and no hidden count can be recovered by putting reports side by side.
"""
from __future__ import annotations

import pandas as pd

from .schema import STAGES, group_label
from .suppression import DEFAULT_POLICY, SuppressionPolicy, shareable_counts

__all__ = ["stage_overview", "stage_overview_table"]


def stage_overview(counts: pd.DataFrame, *, jurisdiction: str, first_year: int, last_year: int,
                   policy: SuppressionPolicy | None = DEFAULT_POLICY) -> pd.DataFrame:
    """Children at each decision point by group for one jurisdiction, summed over the years.

    Each year counts a child once per stage; over several years a child reported in two years
    counts twice (child-years). Returns ``race_ethnicity``, ``stage``, ``count`` (missing where
    suppressed), ``suppressed``, ``shown``.
    """
    c = counts[counts["period"].between(first_year, last_year) & counts["stage"].isin(
        [s for s, st in STAGES.items() if st.decision_point])]
    pooled = c.groupby(["jurisdiction", "race_ethnicity", "stage"], observed=True)["count"].sum().reset_index()
    safe = shareable_counts(pooled, policy=policy, keys=["jurisdiction", "race_ethnicity", "stage"])
    out = safe[safe["jurisdiction"] == jurisdiction].drop(columns="jurisdiction")
    order = {s: i for i, s in enumerate(STAGES)}
    return out.sort_values(["stage", "race_ethnicity"], key=lambda s: s.map(order) if s.name == "stage" else s
                           ).reset_index(drop=True)


def stage_overview_table(view: pd.DataFrame) -> pd.DataFrame:
    """The overview as a wide table: one row per decision point, one column per group (text)."""
    w = view.assign(group=view["race_ethnicity"].map(group_label),
                    decision=view["stage"].map(lambda s: STAGES[s].label))
    t = w.pivot(index="decision", columns="group", values="shown")
    t = t.reindex([STAGES[s].label for s in STAGES if s in set(view["stage"])])
    t.index.name = "decision point"
    t.columns.name = None
    return t
