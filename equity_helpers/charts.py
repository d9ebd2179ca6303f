"""Altair chart builders: one theme, colour-blind safe, suppression shown with text, not colour alone.

Every builder takes a tidy table produced by the package and returns an ``alt.Chart``; none
computes a number of its own.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from .schema import STAGES, group_label

__all__ = ["PALETTE", "group_scale", "stage_counts_chart"]

# Okabe-Ito colour-blind safe palette
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999"]


def group_scale(groups: list[str]) -> alt.Scale:
    """A fixed colour per group label, the same across charts."""
    labels = [group_label(g) for g in groups]
    return alt.Scale(domain=labels, range=PALETTE[: len(labels)])


def stage_counts_chart(counts: pd.DataFrame, *, title: str) -> alt.Chart:
    """Children at each decision point by group (bars), with suppressed cells written as text.

    Parameters
    ----------
    counts : a :func:`~equity_helpers.suppression.shareable_counts` table for one jurisdiction and
        period: ``race_ethnicity``, ``stage``, ``count`` (missing where suppressed), ``suppressed``.
    title : says what the chart shows.
    """
    df = counts[counts["race_ethnicity"] != "all"].copy()
    df["group"] = df["race_ethnicity"].map(group_label)
    df["decision point"] = df["stage"].map(lambda s: STAGES[s].label if s in STAGES else s)
    df["children"] = df["count"].astype("Float64").astype(float)
    df["note"] = df["suppressed"].map({True: "suppressed", False: ""})
    order = [STAGES[s].label for s in STAGES if s in set(df["stage"])]
    groups = list(dict.fromkeys(df["race_ethnicity"]))
    base = alt.Chart(df).encode(
        y=alt.Y("group:N", title=None, sort=[group_label(g) for g in groups]),
        tooltip=[alt.Tooltip("decision point:N"), alt.Tooltip("group:N"),
                 alt.Tooltip("children:Q", format=","), alt.Tooltip("note:N")],
    )
    bars = base.mark_bar().encode(
        x=alt.X("children:Q", title="children"),
        color=alt.Color("group:N", scale=group_scale(groups), legend=None),
    )
    labels = base.mark_text(align="left", dx=3, fontSize=10).encode(
        x=alt.X("children:Q"), text=alt.Text("children:Q", format=","))
    supp = base.transform_filter(alt.datum.note == "suppressed").mark_text(
        align="left", fontStyle="italic", color="#555").encode(x=alt.value(2), text="note:N")
    return (alt.layer(bars, labels, supp, data=df)
            .properties(width=260, height=alt.Step(12))
            .facet(facet=alt.Facet("decision point:N", sort=order, title=None), columns=3)
            .resolve_scale(x="independent")
            .properties(title=alt.TitleParams(title, anchor="start")))
