"""Equity beyond race: the decision chain by disability, LGBTQ+ identity, immigrant family, tribal
affiliation and caregiver domestic violence, and race within each.

Every number comes from the release table (:mod:`equity_helpers.release`): the equity breakdowns are
published for the whole state over pooled windows, each level with every race group, protected
together with everything else (sexual orientation and gender identity under the stricter rule,
:data:`equity_helpers.release.table.STRICT_BREAKDOWNS`). This module only reads published cells:

* :func:`level_counts`: children at each decision point by level, with each level's share of all
  children there, so missing and unasked data are reported as their own share (many agencies do not
  record these fields; sexual orientation and gender identity are asked of older youth only);
* :func:`level_measures`: the decision-based rate of each level and its ratio to a reference level
  (``"no"`` by default), with intervals and tests: :func:`equity_helpers.metrics.rates.measures` with the
  levels in the place of race groups (the same formulas, named the same way);
* :func:`intersection_measures`: race groups against a reference race group within one level (for
  example Black against White youth among LGBTQ+ youth).

Ratios here describe associations in the agency's records, not effects: children with a flag differ
from those without in many ways the records do not hold.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from equity_helpers.data.engagement import MEETING_DIMS
from equity_helpers.errors import ParameterError
from equity_helpers.metrics.rates import measures
from equity_helpers.pages.narrative import stage_verbs, window_lead
from equity_helpers.pages.views import section_markdown, window_phrase
from equity_helpers.privacy.suppression import DEFAULT_POLICY
from equity_helpers.release.table import EQUITY_BREAKDOWNS, SUBGROUP_ALL, subgroup_label
from equity_helpers.schema import ALL, STAGES, STATE, group_children, group_label, sentence_start

__all__ = ["BREAKDOWN_LABELS", "CHAIN", "breakdowns_in", "level_counts", "level_measures", "intersection_measures",
           "level_sentence", "BreakdownView", "breakdown_view", "show_breakdown", "NOT_SHOWN_AS_RATIO",
           "partner_shares", "shares_by_race", "shares_table", "show_partner", "PARTNER_LEVELS",
           "show_engagement"]

BREAKDOWN_LABELS: dict[str, dict[str, str]] = {
    "disability": {"": "disability", "yes": "children with a disability",
                   "no": "children with no disability recorded", "unknown": "disability not recorded"},
    "lgbtq": {"": "LGBTQ+ identity", "yes": "LGBTQ+ youth", "no": "youth who did not identify as LGBTQ+",
              "unknown": "youth whose answer was not recorded or who declined",
              "not_asked": "children too young to be asked"},
    "immigrant_family": {"": "immigrant family", "yes": "children in immigrant families",
                         "no": "children not in immigrant families", "unknown": "immigrant family not recorded"},
    "tribal_affiliation": {"": "tribal affiliation (ICWA)", "yes": "children with a tribal affiliation",
                           "no": "children with no tribal affiliation recorded",
                           "unknown": "tribal affiliation not recorded"},
    "dv_involved": {"": "caregiver domestic violence", "yes": "children whose report noted caregiver domestic violence",
                    "no": "children whose reports did not note domestic violence",
                    "unknown": "domestic violence not recorded", "no_report": "children with no report that year"},
    "dv_services": {"": "domestic violence services from the partner",
                    "before": "families who had domestic violence services before the report",
                    "after_only": "families who had services only after the report",
                    "none": "families with no services from the partner",
                    "unlinked": "families the records could not link",
                    "no_dv_note": "children whose reports did not note domestic violence"},
    "meeting_at_report": {"": "a team meeting at the report",
                          "yes": "children whose family had a team meeting within 30 days of the report",
                          "no": "children whose family had no team meeting at the report",
                          "not_screened_in": "children not screened in"},
    "meeting_at_removal": {"": "a family team meeting after removal",
                           "yes": "children whose family had a team meeting within 30 days of removal",
                           "no": "children whose family had no team meeting after removal",
                           "no_entry": "children who did not enter care"},
}
"""Plain-language names of each breakdown (key ``""``) and its levels."""

SHORT_LABELS: dict[str, dict[str, str]] = {
    "disability": {"yes": "with a disability", "no": "none recorded"},
    "lgbtq": {"yes": "LGBTQ+", "no": "not LGBTQ+"},
    "immigrant_family": {"yes": "immigrant family", "no": "not immigrant family"},
    "tribal_affiliation": {"yes": "tribal affiliation", "no": "none recorded"},
    "dv_involved": {"yes": "DV noted", "no": "DV not noted"},
    "dv_services": {"before": "services before", "after_only": "services after only", "none": "no services"},
    "meeting_at_report": {"yes": "meeting", "no": "no meeting"},
    "meeting_at_removal": {"yes": "meeting", "no": "no meeting"},
}
"""Chart labels of the levels compared (charts have room for a few words; sentences use the full labels)."""

NOT_SHOWN_AS_RATIO = ("unknown", "not_asked", "no_report", "unlinked", "no_dv_note", "not_screened_in", "no_entry")
"""Levels reported as their own share, not compared as a group (missing or unasked is not a group)."""

CHAIN = ["reported", "screened_in", "substantiated", "entered_care", "entered_after_substantiation",
         "first_placement_kin", "first_placement_congregate", "permanency_12m", "in_care_24m_plus"]
"""The decision points the beyond-race page follows. Entry to care is shown both ways: entries in the year
(``entered_care``, against the year's substantiated children) and the cohort-linked
``entered_after_substantiation`` (entries within 90 days of the finding: the children the decision was
about); protection may hide one and publish the other."""


def _label(breakdown: str, level: str) -> str:
    return BREAKDOWN_LABELS.get(breakdown, {}).get(level, f"{breakdown}: {level}")


def breakdowns_in(release) -> list[str]:
    """The equity breakdowns the release publishes, in :data:`~equity_helpers.release.table.EQUITY_BREAKDOWNS` order."""
    have = {s.split(":", 1)[0] for s in set(release.cells["subgroup"]) if s != SUBGROUP_ALL}
    return [b for b in (*EQUITY_BREAKDOWNS, "dv_services", *MEETING_DIMS) if b in have]


def _check(release, breakdown: str) -> list[str]:
    offered = breakdowns_in(release)
    if breakdown not in offered:
        raise ParameterError(f"The release has no {breakdown!r} breakdown; it has "
                             f"{', '.join(offered) or 'none (the data have no optional equity columns)'}.")
    subs = [s for s in dict.fromkeys(release.cells["subgroup"]) if s.startswith(breakdown + ":")]
    order = list(BREAKDOWN_LABELS.get(breakdown, {}))
    return sorted((s.split(":", 1)[1] for s in subs), key=lambda v: order.index(v) if v in order else len(order))


def _cells(release, breakdown: str, *, race: str, period: str) -> pd.DataFrame:
    c = release.cells
    c = c[(c["family"] == "stages") & (c["period"] == period) & (c["jurisdiction"] == STATE)
          & (c["race_ethnicity"] == race)]
    subs = c[c["subgroup"].str.startswith(breakdown + ":")]
    out = subs.assign(level=subs["subgroup"].str.split(":", n=1).str[1])
    total = c[c["subgroup"] == SUBGROUP_ALL].assign(level=ALL)
    return pd.concat([out, total], ignore_index=True)


def level_counts(release, breakdown: str, *, first_year: int, last_year: int, race: str = ALL,
                 stages: list[str] | tuple[str, ...] = tuple(CHAIN)) -> pd.DataFrame:
    """Children at each decision point of ``stages`` (default :data:`CHAIN`) by level, statewide, over a
    published window.

    Returns
    -------
    DataFrame with ``stage``, ``level``, ``label``, ``count`` (missing where hidden), ``total`` (all
    children at the stage, same race) and ``share`` = count / total (missing where either is hidden).
    """
    _check(release, breakdown)
    period = release.window(first_year, last_year)
    c = _cells(release, breakdown, race=race, period=period)
    c = c[c["stage"].isin(list(stages))]
    total = c[c["level"] == ALL].set_index("stage")["count"]
    lv = c[c["level"] != ALL].copy()
    lv["total"] = lv["stage"].map(total).astype("Int64")
    lv["share"] = (lv["count"].astype("Float64") / lv["total"].astype("Float64")).where(lv["total"] > 0)
    lv["label"] = [_label(breakdown, v) for v in lv["level"]]
    order = {s: i for i, s in enumerate(stages)}
    lv = lv.sort_values("stage", key=lambda s: s.map(order), kind="stable")
    return lv[["stage", "level", "label", "count", "total", "share"]].reset_index(drop=True)


def level_measures(release, breakdown: str, *, first_year: int, last_year: int, reference_level: str = "no",
                   race: str = ALL, policy=None, adjust: str = "holm") -> pd.DataFrame:
    """Decision-based rates of each level and relative rates against ``reference_level``, statewide.

    The levels take the place of race groups in :func:`equity_helpers.metrics.rates.measures` (rate per 100
    children at the decision base with a Wilson interval; relative rate with a Katz log interval, or
    score/exact intervals for small cells; a test against 1; Holm-adjusted p-values across the levels
    of one decision point), computed from published cells only. ``race``: all children (``"all"``) or
    the children of one race group. Unknown, unasked and no-report levels carry their rates but are not
    a comparison group (:data:`NOT_SHOWN_AS_RATIO`).

    Returns
    -------
    The measures table with ``race_ethnicity`` holding the level code, plus ``breakdown``, ``level``,
    ``label``, ``reference_label`` and ``race`` columns.
    """

    levels = _check(release, breakdown)
    if reference_level not in levels or reference_level in NOT_SHOWN_AS_RATIO:
        raise ParameterError(f"Reference level {reference_level!r} is not one to compare with; choose one of "
                             f"{', '.join(v for v in levels if v not in NOT_SHOWN_AS_RATIO)}.")
    period = release.window(first_year, last_year)
    c = _cells(release, breakdown, race=race, period=period)
    counts = c.assign(race_ethnicity=c["level"])[["jurisdiction", "period", "race_ethnicity", "stage", "count",
                                                  "base", "suppressed"]]
    m = measures(counts, None, reference=reference_level, bases=("decision",), policy=policy or DEFAULT_POLICY,
                 adjust=adjust)
    m = m[m["race_ethnicity"] != ALL].copy()
    m["breakdown"] = breakdown
    m["level"] = m["race_ethnicity"]
    m["label"] = [_label(breakdown, v) for v in m["level"]]
    m["reference_label"] = _label(breakdown, reference_level)
    m["race"] = race
    m["first_year"], m["last_year"] = first_year, last_year
    return m.reset_index(drop=True)


def intersection_measures(release, breakdown: str, level: str, *, first_year: int, last_year: int,
                          reference: str = "white", policy=None, adjust: str = "holm") -> pd.DataFrame:
    """Race groups against ``reference`` among the children of one level (for example Black against
    White youth among LGBTQ+ youth), statewide, decision-based: the release's own measures for that
    subgroup (:meth:`equity_helpers.release.Release.measures`)."""
    if level not in _check(release, breakdown):
        raise ParameterError(f"{breakdown!r} has no level {level!r}.")
    period = release.window(first_year, last_year)
    m = release.measures(reference=reference, subgroup=subgroup_label(breakdown, level), policy=policy, adjust=adjust)
    return m[(m["jurisdiction"] == STATE) & (m["period"] == period) & (m["basis"] == "decision")].reset_index(drop=True)


LEVEL_TEMPLATES: dict[str, str] = {
    "hidden": "Too few {who} {verb} to publish or compare.",
    "ratio": "{who} {verb} at {rri} times the comparison group's rate. That is {rate} compared with {ref_rate} "
             "per 100, with a 95% CI of {lo}-{hi} for the ratio.",
    "chance": " The difference could be due to chance.",
    "adjusted": " Allowing for the {m} comparisons at this decision point (Holm's adjustment), it could still be "
                "due to chance.",
    "unstable": " It rests on 20 or fewer children and may change from year to year.",
}
"""What :func:`level_sentence` says. The window and the comparison group are named once, in the lead line
above the sentences (:func:`level_lead`): the level names are long ("children whose family had a team meeting
within 30 days of the report") and a sentence has fewer than 30 words."""


def level_lead(first_year: int, last_year: int, reference_label: str) -> str:
    """The line above the level sentences: the window and the comparison group, said once."""
    return window_lead(first_year, last_year, then=f", compared with {reference_label}")


def level_sentence(row: pd.Series | dict) -> str:
    """Plain-language sentences for a row of :func:`level_measures` (empty for the reference level, levels not
    compared, and rows with nothing to say). The comparison group is "the comparison group": :func:`level_lead`
    names it."""
    r = dict(row)
    if r["level"] == r["reference"] or r["level"] in NOT_SHOWN_AS_RATIO:
        return ""
    verb = stage_verbs(r["stage"])[0]
    race = "" if r.get("race", ALL) == ALL else f" ({group_children(r['race'])})"
    who = r["label"] + race
    if r.get("suppressed") or pd.isna(r.get("rri")):
        return sentence_start(LEVEL_TEMPLATES["hidden"].format(who=who, verb=verb))
    rri, lo, hi = float(r["rri"]), float(r["rri_low"]), float(r["rri_high"])
    text = sentence_start(LEVEL_TEMPLATES["ratio"].format(
        who=who, verb=verb, rri=f"{rri:.2f}", rate=f"{float(r['rate']):.1f}", ref_rate=f"{float(r['ref_rate']):.1f}",
        lo=f"{lo:.2f}", hi=f"{hi:.2f}"))
    if lo <= 1 <= hi:
        text += LEVEL_TEMPLATES["chance"]
    elif not pd.isna(r.get("p_adjusted")) and float(r["p_adjusted"]) >= 0.05:
        text += LEVEL_TEMPLATES["adjusted"].format(m=int(r["comparisons"]))
    if r.get("unstable"):
        text += LEVEL_TEMPLATES["unstable"]
    return text


@dataclass
class BreakdownView:
    """What the beyond-race page shows for one breakdown (statewide, one published window).

    Attributes
    ----------
    levels : :func:`level_measures` rows for :data:`CHAIN` (all children).
    shares : :func:`level_counts` rows (missing and unasked data as their own share).
    intersection : :func:`intersection_measures` at ``focus_stages``, for each level compared by race
        (``level`` column).
    sentences : plain-language sentences for ``levels``.
    """

    breakdown: str
    level: str
    reference_level: str
    reference: str
    first_year: int
    last_year: int
    focus_stages: list[str]
    levels: pd.DataFrame
    shares: pd.DataFrame
    intersection: pd.DataFrame
    sentences: list[str]
    note: str = ""
    lead: str = ""

    @property
    def title(self) -> str:
        return sentence_start(BREAKDOWN_LABELS.get(self.breakdown, {}).get("", self.breakdown))

    def shares_table(self) -> pd.DataFrame:
        """Children at each decision point by level (counts and shares; hidden numbers say so)."""
        t = self.shares.copy()
        t["decision point"] = [STAGES[s].label for s in t["stage"]]
        t["children"] = [("hidden" if pd.isna(v) else f"{int(v):,}") for v in t["count"]]
        t["share"] = [("" if pd.isna(v) else f"{float(v):.0%}") for v in t["share"]]
        return t.pivot_table(index="decision point", columns="label", values=["children", "share"], aggfunc="first",
                             sort=False)

    def charts(self) -> list:
        from equity_helpers.pages import charts  # Altair: about a second to import, paid only when drawing

        out = []
        shown = self.levels[~self.levels["level"].isin(NOT_SHOWN_AS_RATIO)]
        if len(shown):
            short = SHORT_LABELS.get(self.breakdown, {})
            m = shown.assign(race_ethnicity=[short.get(v, lab) for v, lab in zip(shown["level"], shown["label"])])
            out.append(charts.rri_chart(m, reference_label=_label(self.breakdown, self.reference_level),
                                        title=f"{self.title}: how many times the rate of "
                                              f"{_label(self.breakdown, self.reference_level)}, statewide"))
        for lvl in dict.fromkeys(self.intersection.get("level", pd.Series(dtype=str))):
            m = self.intersection[self.intersection["level"] == lvl]
            what = STAGES[self.focus_stages[0]].label.lower() if len(self.focus_stages) == 1 else "each decision"
            out.append(charts.rri_chart(m, reference_label=group_label(self.reference),
                                        title=f"Among {_label(self.breakdown, lvl)}: {what}, by race, against "
                                              f"{group_children(self.reference)}"))
        return out

    def show(self) -> None:
        from IPython.display import Markdown, display  # IPython: imported only when something is shown

        text = section_markdown(self.lead, [s for s in self.sentences if s]) if any(self.sentences) else ""
        display(Markdown("\n\n".join(t for t in (f"_{self.note}_" if self.note else "", text) if t)
                         or "_No results for these choices._"))
        for ch in self.charts():
            display(ch)
        display(Markdown(f"**Children at each decision point, by {BREAKDOWN_LABELS[self.breakdown]['']}** "
                         "(shares of all children there; not recorded and not asked are shown as their own share)"))
        display(self.shares_table())


def breakdown_view(wb, *, breakdown: str, first_year: int, last_year: int, level: str = "yes",
                   reference_level: str = "no", reference: str = "white", race_scheme: str = "hispanic_first",
                   focus_stages: tuple[str, ...] = ("screened_in", "substantiated", "first_placement_kin",
                                                    "first_placement_congregate"),
                   by_race_levels: tuple[str, ...] | None = None, stages: tuple[str, ...] | None = None,
                   share_stages: tuple[str, ...] | None = None) -> BreakdownView:
    """Build the beyond-race view of ``breakdown`` from the workbook's release table (statewide).

    ``focus_stages``: the decision points at which race groups are compared within a level;
    ``by_race_levels``: the levels compared that way (default: ``level`` only; the domestic-violence page
    compares race within reports with and without it); ``stages``: the decision points whose rates are
    compared (default :data:`CHAIN`); ``share_stages``: those whose level shares are shown (default: the same)."""

    rel = wb.release(race_scheme)
    stages = tuple(stages or CHAIN)
    share_stages = tuple(share_stages or stages)
    bad = [s for s in (*focus_stages, *stages, *share_stages) if s not in STAGES]
    if bad:
        raise ParameterError(f"Unknown decision points {bad}.")
    lv = level_measures(rel, breakdown, first_year=first_year, last_year=last_year,
                        reference_level=reference_level, policy=wb.policy)
    order = {s: i for i, s in enumerate(stages)}
    lv = lv[lv["stage"].isin(stages)].sort_values("stage", key=lambda s: s.map(order), kind="stable")
    shares = level_counts(rel, breakdown, first_year=first_year, last_year=last_year, stages=share_stages)
    parts = []
    for lvl in by_race_levels or (level,):
        m = intersection_measures(rel, breakdown, lvl, first_year=first_year, last_year=last_year,
                                  reference=reference, policy=wb.policy)
        parts.append(m[m["stage"].isin(list(focus_stages))].assign(level=lvl))
    inter = pd.concat(parts, ignore_index=True)
    text = [t for t in (level_sentence(r) for r in lv.to_dict("records")) if t]
    note = ("Published for the whole state over several years only: within one county or one year these groups are "
            "too small to show without revealing children. The ratios describe differences in the agency's "
            "records, not their causes.")
    return BreakdownView(breakdown=breakdown, level=level, reference_level=reference_level, reference=reference,
                         first_year=first_year, last_year=last_year, focus_stages=list(focus_stages),
                         levels=lv.reset_index(drop=True), shares=shares, intersection=inter.reset_index(drop=True),
                         sentences=text, note=note,
                         lead=level_lead(first_year, last_year, _label(breakdown, reference_level)) if text else "")


def show_breakdown(wb, *, breakdown: str, first_year: int, last_year: int, mode: str, reference: str = "white",
                   race_scheme: str = "hispanic_first", **kwargs):
    """Show the view of a breakdown: in interactive mode with a menu of the published breakdowns that
    redraws it, in batch mode as it is. Returns the view (batch) or the menu (interactive)."""
    from IPython.display import display  # IPython: imported only when something is shown

    def build(b: str) -> BreakdownView:
        return breakdown_view(wb, breakdown=b, first_year=first_year, last_year=last_year, reference=reference,
                              race_scheme=race_scheme, **kwargs)

    if mode != "interactive":
        view = build(breakdown)
        view.show()
        return None
    import ipywidgets as w  # ipywidgets: imported only when a panel is made

    offered = breakdowns_in(wb.release(race_scheme))
    menu = w.Dropdown(options=[(BREAKDOWN_LABELS.get(b, {}).get("", b), b) for b in offered],
                      value=breakdown if breakdown in offered else (offered[0] if offered else None),
                      description="Breakdown")
    out = w.Output()

    def redraw(*_):
        out.clear_output(wait=True)
        with out:
            build(menu.value).show()

    menu.observe(redraw, names="value")
    redraw()
    display(w.VBox([menu, out]))
    return menu


PARTNER_LEVELS = ("before", "after_only", "none", "unlinked")
PARTNER_SHARES = ("{before} of children whose report noted caregiver domestic violence were in families who had the "
                  "partner's services before the report. Another {after} had them only after it, within 180 days.")
PARTNER_LINKED = ("Families are linked by a keyed hash of caregiver identifiers that both organisations compute the "
                  "same way; no names were exchanged. \"No services\" means none from this partner's programs, not "
                  "none anywhere.")
PARTNER_STAGES = ("screened_in", "substantiated", "entered_after_substantiation")


def shares_by_race(release, breakdown: str, *, stage: str, levels: tuple[str, ...], first_year: int,
                   last_year: int, total_subgroup: str = SUBGROUP_ALL) -> pd.DataFrame:
    """Among the children of each race group at ``stage`` (those of ``total_subgroup``), the share in each of
    ``levels`` of ``breakdown``, statewide, from published cells.

    Returns
    -------
    DataFrame with ``race_ethnicity``, ``timing`` (the level), ``label``, ``count``, ``total`` and ``share``
    (missing where a count is hidden).
    """
    _check(release, breakdown)
    period = release.window(first_year, last_year)
    c = release.cells
    c = c[(c["family"] == "stages") & (c["period"] == period) & (c["jurisdiction"] == STATE) & (c["stage"] == stage)]
    total = c[c["subgroup"] == total_subgroup].set_index("race_ethnicity")["count"]
    rows = c[c["subgroup"].isin([f"{breakdown}:{v}" for v in levels])]
    out = pd.DataFrame({"race_ethnicity": rows["race_ethnicity"].to_numpy(),
                        "timing": rows["subgroup"].str.split(":", n=1).str[1].to_numpy(),
                        "count": rows["count"].to_numpy()})
    out["total"] = out["race_ethnicity"].map(total).astype("Int64")
    out["share"] = (out["count"].astype("Float64") / out["total"].astype("Float64")).where(out["total"] > 0)
    out["label"] = [_label(breakdown, v) for v in out["timing"]]
    order = {v: i for i, v in enumerate(levels)}
    return out.sort_values(["race_ethnicity", "timing"], key=lambda col: col.map(order) if col.name == "timing"
                           else col).reset_index(drop=True)


def partner_shares(release, *, first_year: int, last_year: int) -> pd.DataFrame:
    """Among children whose report noted caregiver domestic violence, the share whose families had the
    partner's services before the report, only after it, not at all, or could not be linked, by race
    group, statewide (reported stage; the denominator is the published count of children with a noted
    report, ``dv_involved:yes``).

    Returns
    -------
    DataFrame with ``race_ethnicity``, ``timing`` (:data:`PARTNER_LEVELS`), ``label``, ``count``, ``total``
    and ``share`` (missing where a count is hidden).
    """
    return shares_by_race(release, "dv_services", stage="reported", levels=PARTNER_LEVELS, first_year=first_year,
                          last_year=last_year, total_subgroup="dv_involved:yes")


def shares_table(shares: pd.DataFrame, levels: tuple[str, ...], breakdown: str) -> pd.DataFrame:
    """:func:`shares_by_race` as a readable table: one row per group, one column per level (share and
    children; hidden numbers say so)."""
    t = shares.copy()
    t["group"] = [group_label(g) for g in t["race_ethnicity"]]
    t["cell"] = [("hidden" if pd.isna(n) else (f"{float(sh):.0%} ({int(n):,})" if not pd.isna(sh) else f"{int(n):,}"))
                 for n, sh in zip(t["count"], t["share"])]
    wide = t.pivot_table(index="group", columns="label", values="cell", aggfunc="first", sort=False)
    return wide[[c for c in (_label(breakdown, v) for v in levels) if c in wide.columns]]


def show_partner(wb, *, first_year: int, last_year: int, race_scheme: str = "hispanic_first") -> None:
    """The domestic-violence page's partner section: when families received the partner's services, by race,
    and how screening, substantiation and removal differ with it (or a sentence saying no partner data were
    supplied)."""
    from IPython.display import Markdown, display  # IPython: imported only when something is shown

    from equity_helpers.pages import charts  # Altair: about a second to import, paid only when drawing


    rel = wb.release(race_scheme)
    if "dv_services" not in breakdowns_in(rel):
        display(Markdown("_No domestic violence partner's data were supplied (a `dv_services` table and a "
                         "`family_hash` column on the reports), so this section is empty._"))
        return
    year = window_phrase(first_year, last_year)
    shares = partner_shares(rel, first_year=first_year, last_year=last_year)
    allrow = shares[(shares["race_ethnicity"] == ALL)].set_index("timing")
    lines = []
    if not allrow.empty and not pd.isna(allrow["share"].get("before", pd.NA)):
        lines.append(PARTNER_SHARES.format(before=f"{float(allrow.loc['before', 'share']):.0%}",
                                           after=f"{float(allrow.loc['after_only', 'share']):.0%}"))
    lines.append(PARTNER_LINKED)
    display(Markdown(section_markdown(window_lead(first_year, last_year), lines)))
    display(charts.shares_chart(shares, title=f"When families received domestic violence services, by group, {year}",
                         x_title="share of children whose report noted domestic violence"))
    display(shares_table(shares, PARTNER_LEVELS, "dv_services"))
    m = level_measures(rel, "dv_services", first_year=first_year, last_year=last_year, reference_level="none",
                       policy=wb.policy)
    m = m[m["stage"].isin(PARTNER_STAGES) & m["level"].isin(["before", "after_only"])]
    text = [t for t in (level_sentence(r) for r in m.to_dict("records")) if t]
    if text:  # the window is the section's, said above: only the comparison group is named again
        display(Markdown(section_markdown(f"Compared with {_label('dv_services', 'none')}:", text)))


MEETING_SHARE = ("{share} of {who} were in families who had one. The chart shows the share in each group: "
                 "engagement itself can differ by race.")

ENGAGEMENT = {
    "meeting_at_report": dict(anchor="screened_in", stages=("substantiated", "entered_after_substantiation"),
                              share_stages=("screened_in", "substantiated", "entered_after_substantiation"),
                              who="screened-in children"),
    "meeting_at_removal": dict(anchor="entered_care", stages=("first_placement_kin", "first_placement_congregate",
                                                              "permanency_12m", "reunified_12m", "in_care_24m_plus"),
                               share_stages=("entered_care", "first_placement_kin", "permanency_12m",
                                             "reunified_12m", "in_care_24m_plus"),
                               who="children entering care"),
}
"""The family-engagement page: for each meeting breakdown, the stage its level is defined at (``anchor``),
the decision points compared, and those whose shares are shown."""


def show_engagement(wb, *, first_year: int, last_year: int, reference: str = "white",
                    race_scheme: str = "hispanic_first") -> None:
    """The family-engagement page: who had a team meeting, by group, and how entries, kin placement, exits
    and stays differ with and without one (associations), statewide; or a sentence saying no meetings
    table was supplied."""
    from IPython.display import Markdown, display  # IPython: imported only when something is shown

    from equity_helpers.pages import charts  # Altair: about a second to import, paid only when drawing


    rel = wb.release(race_scheme)
    offered = [b for b in ENGAGEMENT if b in breakdowns_in(rel)]
    if not offered:
        display(Markdown("_No family meetings table (`meetings`: child, date, type) was supplied, so this page "
                         "is empty._"))
        return
    year = window_phrase(first_year, last_year)
    for b in offered:
        spec = ENGAGEMENT[b]
        display(Markdown(f"### {sentence_start(BREAKDOWN_LABELS[b][''])}"))
        shares = shares_by_race(rel, b, stage=spec["anchor"], levels=("yes",), first_year=first_year,
                                last_year=last_year)
        allrow = shares[shares["race_ethnicity"] == ALL]
        said = len(allrow) and not pd.isna(allrow["share"].iloc[0])
        if said:
            display(Markdown(section_markdown(window_lead(first_year, last_year), [MEETING_SHARE.format(
                share=f"{float(allrow['share'].iloc[0]):.0%}", who=spec["who"])])))
        display(charts.shares_chart(shares, title=f"{sentence_start(spec['who'])} whose family had "
                                                  f"{BREAKDOWN_LABELS[b]['']}, by group, {year}",
                                    x_title=f"share of {spec['who']}"))
        display(shares_table(shares, ("yes",), b))
        view = breakdown_view(wb, breakdown=b, first_year=first_year, last_year=last_year, reference=reference,
                              race_scheme=race_scheme, stages=spec["stages"], share_stages=spec["share_stages"],
                              focus_stages=spec["stages"][:2], by_race_levels=("yes", "no"))
        view.note += (" Families who are offered and attend meetings differ from those who are not in ways the "
                      "records do not hold: these are associations, not effects of the meetings.")
        if said and view.lead:  # the window is the section's, said above: only the comparison group again
            view.lead = f"Compared with {_label(b, view.reference_level)}:"
        view.show()

