"""The story a room can follow: the whole chain at a glance, the largest gaps, what changed, and one
decision point at a time with its questions, in the language of a :class:`~equity_helpers.pages.i18n.Catalogue`.

Everything is read from the workbook's protected release table
(:meth:`equity_helpers.release.workbook.Workbook.measures_for`):
a hidden count stays hidden and no number here is computed from child-level rows. The dashboard
(:mod:`equity_helpers.run.present`) and the slides draw these frames and sentences; nothing is decided in them.

A difference is called *clear* when its 95% interval excludes 1 and, where the release adjusts for the
many groups compared at a decision point (Holm's method, the analyst pages' default), the adjusted p-value
is under 0.05; otherwise the sentences say it could be chance.

A change since the baseline compares the relative rate index of the first and the last published period
inside the chosen years (single years where the release publishes them for the place, else the shortest
pooled blocks, as on the analyst pages) on the log scale:
``z = (ln RRI_last - ln RRI_first) / sqrt(se_first^2 + se_last^2)``, with the delta-method standard errors
of the measures table (Fleiss, Levin & Paik 2003, section 7.3, treating the two periods as independent
samples); the change is *clear* when ``|z| > 1.96``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from equity_helpers.pages.charts import chain_chart, stage_chart
from equity_helpers.pages.i18n import Catalogue
from equity_helpers.pages.views import matrix_html, rri_matrix, trend_of
from equity_helpers.schema import STATE, sentence_start

__all__ = ["STORY_STAGES", "PROMPT_FAMILY", "StoryFilters", "Summary", "summary", "StageStory", "stage_story",
           "chain", "focus_group", "largest_gaps", "changes", "stage_rows", "stage_sentences", "stage_prompts",
           "chain_alt", "stage_alt", "published_windows", "place_label", "chain_matrix",
           "hidden_count", "stage_name", "rounded"]

STORY_STAGES = ["reported", "screened_in", "substantiated", "entered_care", "first_placement_kin",
                "first_placement_congregate", "reunified_12m", "permanency_12m", "in_care_24m_plus", "aged_out",
                "reentry_12m"]
"""The decision points of the facilitator's story, from the hotline to re-entry, in chain order."""

PROMPT_FAMILY = {"reported": "front_door", "screened_in": "front_door", "substantiated": "investigation",
                 "entered_care": "removal", "first_placement_kin": "placement",
                 "first_placement_congregate": "placement", "reunified_12m": "permanency",
                 "permanency_12m": "permanency", "in_care_24m_plus": "permanency", "aged_out": "permanency",
                 "reentry_12m": "reentry"}
"""Which family of discussion prompts (``prompts`` in the catalogue) belongs to each decision point."""

_NOT_GROUPS = ("all", "unknown")


@dataclass(frozen=True)
class StoryFilters:
    """What the room asked for: place, years (a published window), the group the sentences follow
    (``None``: the group with the most children behind a gap statewide), the reference group and the basis
    (``"population"``: per 1,000 children where a decision point has a population base, else per 100 at
    the previous step; ``"decision"``: per 100 at the previous step everywhere)."""

    place: str = STATE
    first_year: int = 0
    last_year: int = 0
    group: str | None = None
    reference: str = "white"
    basis: str = "population"
    race_scheme: str = "hispanic_first"


def _measures(wb, f: StoryFilters) -> pd.DataFrame:
    m = wb.measures_for(scheme=f.race_scheme, reference=f.reference)
    if m.attrs:  # pandas deep-copies a frame's attrs on every operation: a tenth of a redraw
        m = m.copy(deep=False)
        m.attrs = {}
    return m


def _status(rows: pd.DataFrame) -> pd.Series:
    s = pd.Series("shown", index=rows.index)
    s[rows["unstable"].astype(bool)] = "unstable"
    s[rows["insufficient"].astype(bool) | rows["rri"].isna()] = "too_few"
    s[rows["suppressed"].astype(bool)] = "hidden"
    return s


def _clear(rows: pd.DataFrame) -> pd.Series:
    excludes = (rows["rri_low"] > 1) | (rows["rri_high"] < 1)
    adjusted = rows["p_adjusted"].isna() | (rows["p_adjusted"] < 0.05)
    return (excludes & adjusted).fillna(False).astype(bool)


def _select_basis(rows: pd.DataFrame, basis: str) -> pd.DataFrame:
    """Per stage the chosen basis where published, else the decision basis (later decision points have no
    population base: "first placed with kin" is per 100 children entering care)."""
    has = rows.groupby("stage")["basis"].agg(lambda b: basis in set(b))
    want = rows["stage"].map(lambda s: basis if has.get(s, False) else "decision")
    return rows[rows["basis"] == want]


def chain(wb, f: StoryFilters) -> pd.DataFrame:
    """Relative rate at every decision point of :data:`STORY_STAGES` for every group, pooled over the window.

    A decision point that follows children for a time after entry (reunified or permanent within 12 months,
    still in care after 24 months, back in care within 12 months) is not published for the latest years,
    whose entrants have not been followed long enough: it is shown for the longest published period inside
    the window (the latest of equals), and ``partial`` says so.

    Returns
    -------
    DataFrame with ``stage``, ``race_ethnicity``, ``basis``, ``first_year``, ``last_year``, ``partial``,
    ``per``, ``count``, ``base_count``, ``rate``, ``rate_low``, ``rate_high``, ``ref_rate``, ``rri``, ``rri_low``,
    ``rri_high``, ``se_log_rri``, ``excess``, ``p_adjusted``, ``status`` (``shown``, ``unstable``, ``too_few``,
    ``hidden``) and ``clear``, in chain order, one row per published stage and group (not "all" or
    "unknown"). Empty when the release does not publish the place over these years.
    """
    m = _measures(wb, f)
    wb.release(f.race_scheme).window(f.first_year, f.last_year)  # a ParameterError for an unpublished window
    rows = m[(m["jurisdiction"] == f.place) & m["stage"].isin(STORY_STAGES) & (m["first_year"] >= f.first_year)
             & (m["last_year"] <= f.last_year) & ~m["race_ethnicity"].isin(_NOT_GROUPS)]
    rows = _select_basis(rows, f.basis)
    spans = rows.drop_duplicates(["stage", "period"]).assign(
        years=lambda d: d["last_year"] - d["first_year"]).sort_values(["years", "last_year"], kind="stable")
    best = spans.groupby("stage")["period"].last()
    rows = rows[rows["period"] == rows["stage"].map(best)].copy()
    whole = ~rows["period"].isin(rows.loc[(rows["first_year"] == f.first_year) & (rows["last_year"] == f.last_year),
                                          "period"])
    rows["partial"] = whole.to_numpy()
    order = {s: i for i, s in enumerate(STORY_STAGES)}
    rows = rows.sort_values("stage", key=lambda s: s.map(order), kind="stable")
    rows["status"] = _status(rows)
    rows["clear"] = _clear(rows)
    keep = ["stage", "race_ethnicity", "basis", "first_year", "last_year", "partial", "per", "count", "base_count",
            "rate", "rate_low", "rate_high", "ref_rate", "rri", "rri_low", "rri_high", "se_log_rri", "excess",
            "p_adjusted", "status", "clear"]
    return rows[keep].reset_index(drop=True)


def stage_name(r, cat: Catalogue) -> str:
    """A chain row's decision point as the page names it, with its years when they are not the window's."""
    name = cat.stage(r["stage"])
    return f"{name} ({cat.years(int(r['first_year']), int(r['last_year']))})" if r["partial"] else name


def focus_group(wb, f: StoryFilters) -> str | None:
    """The group the sentences follow: ``f.group``, else the group with the most children behind a clear
    gap across the state's chain over the window (``None`` when no gap is published)."""
    if f.group:
        return f.group
    state = chain(wb, StoryFilters(place=STATE, first_year=f.first_year, last_year=f.last_year,
                                   reference=f.reference, basis=f.basis, race_scheme=f.race_scheme))
    rows = state[(state["race_ethnicity"] != f.reference) & state["excess"].notna()]
    if rows.empty:
        return None
    weight = rows.assign(w=rows["excess"].abs() * rows["clear"]).groupby("race_ethnicity")["w"].sum()
    return str(weight.idxmax())


def _excess_text(r, cat: Catalogue, ref: str) -> str:
    """The excess children as a sentence of its own (with its leading space), or ""."""
    if pd.isna(r["excess"]) or round(abs(r["excess"])) < 1:
        return ""
    key = "excess_positive" if r["excess"] > 0 else "excess_negative"
    return " " + sentence_start(cat.t(key, ref=ref, n=cat.number(rounded(abs(r["excess"])))))


def rounded(n: float) -> float:
    """Excess children rounded as a room hears them (two significant figures: 1,000 not 1,012)."""
    if n < 100:
        return round(n)
    digits = int(math.floor(math.log10(n))) - 1
    return round(n, -digits)


def _gap_sentence(r, cat: Catalogue, reference: str) -> str:
    ref = cat.group(reference)
    key = "gap_higher" if r["rri"] >= 1 else "gap_lower"
    return sentence_start(cat.t(key, stage=stage_name(r, cat), group=cat.group(r["race_ethnicity"]), ref=ref,
                                ratio=cat.ratio(r["rri"]), low=cat.ratio(r["rri_low"]), high=cat.ratio(r["rri_high"]),
                                excess=_excess_text(r, cat, ref)))


def largest_gaps(rows: pd.DataFrame, cat: Catalogue, *, reference: str, n: int = 3) -> list[str]:
    """Sentences for the ``n`` clear gaps furthest from 1 (on the log scale) in a :func:`chain` frame."""
    c = rows[rows["clear"] & (rows["race_ethnicity"] != reference) & rows["rri"].gt(0)]
    if c.empty:
        return [cat.t("gaps_none")]
    c = c.assign(size=np.abs(np.log(c["rri"].astype(float)))).sort_values("size", ascending=False, kind="stable")
    return [_gap_sentence(r, cat, reference) for _, r in c.head(n).iterrows()]


def published_windows(wb, place: str, *, scheme: str = "hispanic_first") -> list[tuple[int, int]]:
    """Windows the release publishes for ``place``: the whole range first, then blocks, then single years."""
    rel = wb.release(scheme)
    c = rel.cells[(rel.cells["jurisdiction"] == place) & (rel.cells["family"] == "stages")]
    spans = set(zip(c["first_year"].astype(int), c["last_year"].astype(int)))
    return sorted(spans, key=lambda w: (w[0] - w[1], -w[1]))


def changes(wb, f: StoryFilters, cat: Catalogue, *, group: str, n: int = 3) -> tuple[str, str, list[str]]:
    """What changed between the first and last published period inside the window, for ``group``.

    Returns the baseline period's name, the latest period's name (both ``""`` when no change can be shown)
    and up to ``n`` sentences, the largest changes in the log relative rate first, each saying whether the
    change is clear (``|z| > 1.96``, see the module notes) or could be chance. The sentences do not name the
    two periods: the section's heading does, once (``changes_heading``).
    """

    if group == f.reference:
        return "", "", [cat.t("same_group")]
    m = _measures(wb, f)
    place = m[(m["jurisdiction"] == f.place) & m["stage"].isin(STORY_STAGES) & (m["first_year"] >= f.first_year)
              & (m["last_year"] <= f.last_year) & ~m["race_ethnicity"].isin(_NOT_GROUPS)]
    place = _select_basis(place, f.basis)
    trend, _unit = trend_of(place)
    spans = trend.drop_duplicates("period").sort_values("last_year")
    if len(spans) < 2 or (spans["last_year"] - spans["first_year"]).max() == f.last_year - f.first_year:
        return "", "", [cat.t("changes_one_period", place=place_label(f.place, cat))]
    first, last = spans.iloc[0], spans.iloc[-1]
    baseline = cat.years(int(first["first_year"]), int(first["last_year"]))
    latest = cat.years(int(last["first_year"]), int(last["last_year"]))
    g = trend[trend["race_ethnicity"] == group]
    a = g[g["period"] == first["period"]].set_index("stage")
    b = g[g["period"] == last["period"]].set_index("stage")
    out = []
    for stage in [s for s in STORY_STAGES if s in a.index and s in b.index]:
        r1, r2 = a.loc[stage], b.loc[stage]
        vals = [r1["rri"], r2["rri"], r1["se_log_rri"], r2["se_log_rri"]]
        if any(pd.isna(v) for v in vals) or r1["suppressed"] or r2["suppressed"] or min(r1["rri"], r2["rri"]) <= 0:
            continue
        d = math.log(r2["rri"]) - math.log(r1["rri"])
        z = d / math.hypot(r1["se_log_rri"], r2["se_log_rri"]) if (r1["se_log_rri"] or r2["se_log_rri"]) else 0.0
        out.append((abs(d), stage, r1["rri"], r2["rri"], abs(z) > 1.96))
    if not out:
        return baseline, latest, [cat.t("changes_none", group=cat.group(group))]
    out.sort(key=lambda x: -x[0])
    sentences = []
    for _, stage, before, after, clear in out[:n]:
        # "grew" and "narrowed" are about the distance from parity (1), whichever side it is on
        key = ("change_same" if cat.ratio(before) == cat.ratio(after) else
               "change_up" if abs(math.log(after)) > abs(math.log(before)) else "change_down")
        sentences.append(sentence_start(cat.t(
            key, stage=cat.stage(stage), group=cat.group(group), ref=cat.group(f.reference),
            before=cat.ratio(before), after=cat.ratio(after),
            chance=cat.t("change_clear" if clear else "change_chance"))))
    return baseline, latest, sentences


def stage_rows(rows: pd.DataFrame, stage: str) -> pd.DataFrame:
    """The :func:`chain` rows of one decision point."""
    return rows[rows["stage"] == stage].reset_index(drop=True)


def _unit(cat: Catalogue, basis: str) -> str:
    return cat.t("basis_population" if basis == "population" else "basis_decision")


def stage_sentences(rows: pd.DataFrame, cat: Catalogue, *, group: str | None, reference: str) -> list[str]:
    """Two or three sentences for one decision point (:func:`stage_rows`): the gap for ``group``, its
    rates against the reference group's, and whether it could be chance."""
    ref = cat.group(reference)
    if group is not None and group == reference:
        return [cat.t("same_group")]
    r = rows[rows["race_ethnicity"] == group] if group else rows.iloc[0:0]
    if r.empty:
        return [cat.t("stage_none", ref=ref)]
    r = r.iloc[0]
    name = sentence_start(cat.group(group))
    if r["status"] == "hidden":
        return [cat.t("stage_hidden", group=name)]
    if r["status"] == "too_few":
        return [cat.t("stage_too_few", group=name)]
    out = [_gap_sentence(r, cat, reference)]
    ref_rate = "" if pd.isna(r["ref_rate"]) else cat.rate(r["ref_rate"])
    out.append(cat.t("stage_rates", group=name, rate=cat.rate(r["rate"]), unit=_unit(cat, r["basis"]),
                     low=cat.rate(r["rate_low"]), high=cat.rate(r["rate_high"]), ref=ref,
                     ref_rate=ref_rate))
    if not r["clear"]:
        out.append(cat.t("gap_chance"))
    return out


def stage_prompts(stage: str, cat: Catalogue) -> list[str]:
    """The discussion questions of a decision point."""
    return cat.prompts(PROMPT_FAMILY.get(stage, "general"))


def place_label(place: str, cat: Catalogue) -> str:
    return cat.t("state") if place == STATE else place


def hidden_count(rows: pd.DataFrame) -> int:
    """Numbers hidden on a page built from these :func:`chain` rows."""
    return int((rows["status"] == "hidden").sum())


# --------------------------------------------------------------------------- a page's worth
@dataclass
class Summary:
    """What the whole-chain part of a page shows (:func:`summary`): the :func:`chain` rows, the heading texts,
    the chart (a Vega-Lite specification, ``None`` when nothing is published), its text alternative, the
    largest gaps, the baseline and latest periods' names and the changes between them, and how many numbers
    are hidden."""

    filters: StoryFilters
    rows: pd.DataFrame
    title: str
    subtitle: str
    chart: dict | None
    chain_alt: str
    gaps: list[str]
    baseline: str
    changes: list[str]
    hidden: int
    latest: str = ""


def summary(wb, f: StoryFilters, cat: Catalogue, *, height_step: int = 9) -> Summary:
    """The whole chain for ``f`` (whose ``group`` the change sentences follow: set it, see :func:`focus_group`)."""
    rows = chain(wb, f)
    where, window, ref = place_label(f.place, cat), cat.years(f.first_year, f.last_year), cat.group(f.reference)
    baseline, latest, change_text = changes(wb, f, cat, group=f.group)
    alt_text = chain_alt(rows, cat, reference=f.reference)
    chart = chain_chart(rows, cat, reference=f.reference, description=alt_text, height_step=height_step,
                        title=cat.t("chain_chart_title", ref=ref, place=where, years=window)) if len(rows) else None
    pooled = "" if f.first_year == f.last_year else " " + cat.t("years_pooled_note")
    return Summary(filters=f, rows=rows, title=cat.t("title", place=where, years=window),
                   subtitle=cat.t("subtitle", ref=ref) + pooled, chart=chart, chain_alt=alt_text,
                   gaps=largest_gaps(rows, cat, reference=f.reference), baseline=baseline, changes=change_text,
                   hidden=hidden_count(rows), latest=latest)


@dataclass
class StageStory:
    """One decision point (:func:`stage_story`): its chart (``None`` when not published), text alternative,
    sentences and questions."""

    stage: str
    chart: dict | None
    alt: str
    sentences: list[str]
    prompts: list[str]


def stage_story(s: Summary, stage: str, cat: Catalogue) -> StageStory:
    """The decision point ``stage`` of a :func:`summary`."""
    f = s.filters
    rows = stage_rows(s.rows, stage)
    text_alt = stage_alt(rows, cat)
    chart = None
    if len(rows):  # the title names the decision point's own years once (not again after its name)
        chart = stage_chart(rows, cat, description=text_alt, title=cat.t(
            "stage_chart_title", stage=sentence_start(cat.stage(stage)), place=place_label(f.place, cat),
            years=cat.years(int(rows["first_year"].iloc[0]), int(rows["last_year"].iloc[0]))))
    return StageStory(stage=stage, chart=chart, alt=text_alt,
                      sentences=stage_sentences(rows, cat, group=f.group, reference=f.reference),
                      prompts=stage_prompts(stage, cat))


# --------------------------------------------------------------------------- text alternatives
def chain_alt(rows: pd.DataFrame, cat: Catalogue, *, reference: str) -> str:
    """What the whole-chain chart shows, in one or two sentences (for screen readers and readers)."""
    stages = list(dict.fromkeys(rows["stage"]))
    if not stages:
        return cat.t("no_results")
    c = rows[rows["clear"] & (rows["race_ethnicity"] != reference) & rows["rri"].gt(0)]
    if c.empty:
        summary = cat.t("chain_alt_none")
    else:
        top = c.loc[np.abs(np.log(c["rri"].astype(float))).idxmax()]
        summary = cat.t("chain_alt_largest", group=cat.group(top["race_ethnicity"]), stage=stage_name(top, cat),
                        ratio=cat.ratio(top["rri"]))
    missing = int(rows["status"].isin(["hidden", "too_few"]).sum())
    if missing:
        summary += " " + cat.t("chain_alt_hidden", n=missing)
    return cat.t("chain_alt", n=len(stages), first_stage=cat.stage(stages[0]), last_stage=cat.stage(stages[-1]),
                 ref=cat.group(reference), summary=summary)


def stage_alt(rows: pd.DataFrame, cat: Catalogue) -> str:
    """What a decision point's rate chart shows, in one or two sentences."""
    if rows.empty:
        return cat.t("no_results")
    shown = rows[rows["rate"].notna()]
    detail = ""
    if len(shown) >= 2 and shown["rate"].max() > shown["rate"].min():
        hi, lo = shown.loc[shown["rate"].idxmax()], shown.loc[shown["rate"].idxmin()]
        detail = cat.t("stage_alt_detail", high_group=cat.group(hi["race_ethnicity"]),
                       high_rate=cat.rate(hi["rate"]), low_group=cat.group(lo["race_ethnicity"]),
                       low_rate=cat.rate(lo["rate"]))
    return cat.t("stage_alt", stage=stage_name(rows.iloc[0], cat), unit=_unit(cat, rows["basis"].iloc[0]),
                 detail=detail).strip()



def chain_matrix(wb, f: StoryFilters, cat: Catalogue, *, compact: bool = False) -> str:
    """The whole chain's relative rates as one HTML table in the catalogue's language: every decision point
    (rows) and every group (columns), never cut (:func:`equity_helpers.pages.views.rri_matrix`).

    The full matrix gives both rates (against the child population and against the decision before) and
    the disproportionality index for each group; ``compact`` (a slide) gives the rate of ``f.basis`` only,
    one column per group."""
    period = wb.release(f.race_scheme).window(f.first_year, f.last_year)
    table = rri_matrix(_measures(wb, f), jurisdiction=f.place, period=period, cat=cat,
                       bases=(f.basis,) if compact else ("population", "decision"), di=not compact)
    caption = cat.t("matrix_caption", place=place_label(f.place, cat), years=cat.years(f.first_year, f.last_year),
                    ref=cat.group(f.reference))
    legend = cat.t(f"matrix_legend_{f.basis}") if compact else cat.t("matrix_legend")
    if compact and "†" in table.index.str.cat():
        legend += " " + cat.t("matrix_note_decision")
    return matrix_html(table, caption=caption, legend=legend)
