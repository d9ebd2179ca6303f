"""Shareable views: the tables notebooks and reports show, already suppressed.

Suppression is always decided on the full table (every jurisdiction and group) before a view
is filtered to one place, so the cells hidden in one county's report and in the statewide
report are consistent and no hidden count can be recovered by putting reports side by side.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from equity_helpers.errors import ParameterError
from equity_helpers.pages.narrative import sentences, window_lead
from equity_helpers.release import level_label
from equity_helpers.release.survival import published_federal_measures
from equity_helpers.release.workbook import ALL_LEVELS, Workbook
from equity_helpers.schema import STAGES, STATE, group_children, group_label, sentence_start

__all__ = ["stage_overview", "stage_overview_table", "Filters", "DecisionPointView", "decision_point_view",
           "show_whole_chain", "measures_table", "rri_matrix", "rri_matrix_view", "matrix_html", "show_rri_matrix",
           "window_phrase", "section_markdown", "TimeInCareView", "time_in_care_view", "stays_table", "NOT_IN_FILES",
           "not_in_files_notes"]


def stage_overview(release, *, jurisdiction: str, first_year: int, last_year: int) -> pd.DataFrame:
    """Children at each decision point by group for one jurisdiction over a published window.

    Read from the release table (:class:`equity_helpers.release.Release`). Over several years the
    counts are child-years: a child reported in two years counts twice. Returns
    ``race_ethnicity``, ``stage``, ``count`` (missing where suppressed), ``suppressed``, ``shown``.
    """
    period = release.window(first_year, last_year)
    c = release.counts(periods=[period])
    c = c[(c["jurisdiction"] == jurisdiction) & c["stage"].isin(
        [s for s, st in STAGES.items() if st.decision_point])]
    out = c[["race_ethnicity", "stage", "count", "suppressed"]].copy()
    out["shown"] = np.where(out["suppressed"], "suppressed", out["count"].astype(str))
    order = {s: i for i, s in enumerate(STAGES)}
    return out.sort_values(["stage", "race_ethnicity"], key=lambda s: s.map(order) if s.name == "stage" else s
                           ).reset_index(drop=True)


def stage_overview_table(view: pd.DataFrame, *, not_in_files: dict[str, str] | None = None) -> pd.DataFrame:
    """The overview as a wide table: one row per decision point, one column per group (text). Decision points
    in ``not_in_files`` (the data's ``not_in_files``) are rows that say "not in these files", never zeros."""
    w = view.assign(group=view["race_ethnicity"].map(group_label),
                    decision=view["stage"].map(lambda s: STAGES[s].label))
    t = w.pivot(index="decision", columns="group", values="shown")
    missing = [s for s in (not_in_files or {}) if s in STAGES and STAGES[s].decision_point]
    for s in missing:
        t.loc[STAGES[s].label] = "not in these files"
    t = t.reindex([STAGES[s].label for s in STAGES if s in set(view["stage"]) or s in missing])
    t.index.name = "decision point"
    t.columns.name = None
    return t


DECISION_CHAIN = ["reported", "screened_in", "substantiated", "entered_care"]
"""The front end of the chain, from the hotline to entry into care."""


@dataclass
class Filters:
    """What a view shows: place, years, breakdown, reference, scheme and basis; unknown race in the totals
    (``"exclude"`` or ``"include"``) and the multiple-comparison adjustment the sentences follow
    (``"holm"``, ``"bh"`` or ``"none"``)."""

    jurisdiction: str = STATE
    first_year: int = 0
    last_year: int = 0
    age_group: str = ALL_LEVELS
    sex: str = ALL_LEVELS
    reference: str = "white"
    race_scheme: str = "hispanic_first"
    basis: str = "population"
    unknown_race: str = "exclude"
    multiple_comparisons: str = "holm"


@dataclass
class DecisionPointView:
    """Everything one decision-point page shows, read from the release table (no logic in notebooks).

    Attributes
    ----------
    current : measures rows for the place, the whole chosen window (pooled: child-years), the
        stages and the basis.
    trend : the same rows for each single year of the window, or, where single years would hide
        more (or are not published: counties), for each pooled block inside it (``trend_unit``).
    counties : the window's rows for every county (for the county comparison), for the group named
        in ``focus_group`` (the group with the most children behind a gap statewide).
    sentences : plain-language sentences for ``current``; none names the window.
    lead : the line above the sentences that names their window once
        (:func:`~equity_helpers.pages.narrative.window_lead`; empty when the sentences say why nothing is shown).
    """

    filters: Filters
    stages: list[str]
    current: pd.DataFrame
    trend: pd.DataFrame
    counties: pd.DataFrame
    focus_group: str | None
    sentences: list[str]
    trend_unit: str = "year"
    lead: str = ""

    @property
    def window_label(self) -> str:
        return window_phrase(self.filters.first_year, self.filters.last_year)

    def table(self) -> pd.DataFrame:
        """The readable measures table, indexed by decision point and group (one decision point: by group)."""
        if not len(self.current):
            return pd.DataFrame()
        t = measures_table(self.current)
        keys = ["group"] if t["decision point"].nunique() == 1 else ["decision point", "group"]
        return t.drop(columns=[] if len(keys) == 2 else ["decision point"]).set_index(keys)

    def charts(self) -> list:
        from equity_helpers.pages import charts  # Altair: about a second to import, paid only when drawing

        f = self.filters
        ref = group_label(f.reference)
        years = self.window_label
        where = f.jurisdiction + ("" if f.age_group == ALL_LEVELS else f", ages {f.age_group}") + (
            "" if f.sex == ALL_LEVELS else f", {level_label('sex', f.sex)}")
        basis = "per 1,000 children in the population" if f.basis == "population" else "at this decision"
        out = []
        if not self.current.empty:
            out.append(charts.rate_chart(self.current, title=f"Rates {basis}, {where}, {years}"))
            out.append(charts.rri_chart(self.current, reference_label=ref,
                                        title=f"How many times the rate of {group_children(f.reference)}, {where}, "
                                              f"{years}"))
        if self.trend["period"].nunique() > 1:
            unit = "single years" if self.trend_unit == "year" else f"{self._span()}-year blocks"
            for stage in self.stages:
                t = self.trend[self.trend["stage"] == stage]
                # a chart with nothing drawn says nothing: the sentences say what is hidden
                if not t.empty and t.loc[t["race_ethnicity"] != f.reference, "rri"].notna().any():
                    label = STAGES[stage].label if stage in STAGES else stage
                    out.append(charts.trend_chart(t, reference_label=ref,
                                                  title=f"Change over time ({unit}): {label}, {where}"))
        if self.focus_group and not self.counties.empty:
            out.append(charts.county_chart(self.counties, reference_label=ref,
                                           title=f"{sentence_start(group_children(self.focus_group))} compared with "
                                                 f"{group_children(f.reference)}, by county, {years}"))
        return out

    def _span(self) -> int:
        t = self.trend
        return int((t["last_year"] - t["first_year"]).max() + 1) if len(t) else 1

    def show(self) -> None:
        """Display the sentences, charts and table (batch mode, and inside the widget panel)."""
        from IPython.display import Markdown, display  # IPython: imported only when something is shown

        display(Markdown(section_markdown(self.lead, self.sentences)))
        for ch in self.charts():
            display(ch)
        display(self.table())


SUBGROUP_SCOPE = ("Age and sex breakdowns are published for the whole state over several years only: for one "
                  "county or one year they would be too small to show once small numbers are protected.")


YEAR_SCOPE = ("Single years are published for the whole state only: one county's numbers for one year are "
              "mostly too small to show once small numbers are protected. Choose a 3-year block or the whole "
              "range of years for {place}.")


TIC_HIDDEN = ("Too few children entered care in {place} to show how long they stayed without risking their "
              "privacy, so these numbers are hidden. The statewide page shows the pattern for the whole state.")


FEDERAL_HEADING = "Federal-style measures, for children who entered care in FY{year}"


MEDIAN_STAY = "Half of the {group} who entered care had left within {months} months, compared with {ref_months} " \
              "months for {ref}."
MEDIAN_CHANCE = "The difference could be due to chance (log-rank test)."


DECISION_BASE_NOTE = ("Which rate is which? \"Children entering foster care per 100 substantiated\" divides the "
                      "year's entries by the same year's substantiated children. A child can enter care without a "
                      "substantiation that year, so this is not the chance that a substantiated child enters care. "
                      "\"Substantiated children entering care within 90 days\" follows the children substantiated "
                      "in these years, whose finding came at least 90 days before the data were pulled. It counts "
                      "those who entered care in the same place within 90 days: that is the chance.")


FEDERAL_NOTE = ("These measures follow the CFSR Round 4 statewide data indicators. They cover the last entry year "
                "followed for 24 months: 12 months to go home, and 12 more to see whether children came back. They "
                "are observed rates. The Children's Bureau also publishes risk-standardised performance, adjusted "
                "mainly for age at entry, which is not computed here.")


def window_phrase(first_year: int, last_year: int) -> str:
    """How a window is named on a page: "FY2025", or "FY2020-FY2025 (pooled: child-years)"."""
    if first_year == last_year:
        return f"FY{first_year}"
    return f"FY{first_year}-FY{last_year} (pooled: each child counted once per year)"


NOT_IN_FILES = "Not in these files: {reason}"
"""The sentence a page shows for a decision point the data's files cannot carry (never a zero)."""


def section_markdown(lead: str, sentences: list[str]) -> str:
    """A section of sentences as Markdown: the lead line naming its window, then one bullet per sentence."""
    if not sentences:
        return "_No results for these filters._"
    items = "\n".join(f"- {s}" for s in sentences)
    return f"{lead}\n\n{items}" if lead else items


def not_in_files_notes(wb: Workbook, stages: list[str], basis: str = "population") -> list[str]:
    """Sentences for the decision points of ``stages`` (and, on the decision basis, their bases) that the data's
    files cannot carry (:attr:`equity_helpers.data.validate.ValidatedData.not_in_files`), each reason once."""
    missing = getattr(wb.data, "not_in_files", None) or {}
    hit = [s for s in stages if s in missing]
    if basis == "decision":
        hit += [STAGES[s].decision_base for s in stages if s in STAGES and STAGES[s].decision_base in missing]
    return [NOT_IN_FILES.format(reason=r) for r in dict.fromkeys(missing[s] for s in hit)]


def decision_point_view(wb: Workbook, *, stages: list[str], filters: Filters) -> DecisionPointView:
    """Build the view of ``stages`` for ``filters`` from the workbook's release table. Decision points the data's
    files cannot carry are left out with a sentence saying so (:func:`not_in_files_notes`)."""

    missing = getattr(wb.data, "not_in_files", None) or {}
    notes = not_in_files_notes(wb, stages, filters.basis)
    if missing and all(s in missing for s in stages):
        empty = pd.DataFrame(columns=["period", "stage", "race_ethnicity", "first_year", "last_year", "suppressed"])
        return DecisionPointView(filters=filters, stages=stages, current=empty, trend=empty, counties=empty,
                                 focus_group=None, sentences=notes)
    stages = [s for s in stages if s not in missing]
    scope = None
    if (filters.age_group != ALL_LEVELS or filters.sex != ALL_LEVELS) and (
            filters.jurisdiction != STATE or filters.first_year == filters.last_year):
        scope = SUBGROUP_SCOPE
    elif filters.first_year == filters.last_year and not wb.release(filters.race_scheme).has(
            filters.jurisdiction, filters.first_year, filters.last_year):
        scope = YEAR_SCOPE.format(place=filters.jurisdiction)
    if scope:
        empty = pd.DataFrame(columns=["period", "stage", "race_ethnicity", "first_year", "last_year", "suppressed"])
        return DecisionPointView(filters=filters, stages=stages, current=empty, trend=empty, counties=empty,
                                 focus_group=None, sentences=[scope])
    m = wb.measures_for(scheme=filters.race_scheme, reference=filters.reference, age_group=filters.age_group,
                        sex=filters.sex, unknown=filters.unknown_race, adjust=filters.multiple_comparisons)
    period = wb.release(filters.race_scheme).window(filters.first_year, filters.last_year)
    sel = m[m["stage"].isin(stages) & (m["basis"] == filters.basis)]
    order = {s: i for i, s in enumerate(stages)}
    place = sel[sel["jurisdiction"] == filters.jurisdiction]
    inside = place[(place["first_year"] >= filters.first_year) & (place["last_year"] <= filters.last_year)]
    current = place[place["period"] == period].sort_values("stage", key=lambda s: s.map(order), kind="stable")
    trend, unit = trend_of(inside, groups_shown=~current["race_ethnicity"].isin(["all"]))
    win = sel[(sel["period"] == period) & (sel["jurisdiction"] != STATE)]
    focus = focus_group(sel[(sel["jurisdiction"] == STATE) & (sel["period"] == period)], filters.reference)
    counties = win[(win["race_ethnicity"] == focus) & (win["stage"] == stages[0])] if focus else win.iloc[0:0]
    text = sentences(current, adjusted=filters.multiple_comparisons != "none")
    if filters.basis == "decision" and "entered_care" in stages and len(current):
        text.append(DECISION_BASE_NOTE)
    text += notes
    return DecisionPointView(filters=filters, stages=stages, current=current.reset_index(drop=True),
                             trend=trend.reset_index(drop=True), counties=counties.reset_index(drop=True),
                             focus_group=focus, sentences=text, trend_unit=unit,
                             lead=window_lead(filters.first_year, filters.last_year) if text else "")


def show_whole_chain(wb: Workbook, *, filters: Filters) -> None:
    """Show the front of the chain (:data:`DECISION_CHAIN`) on both bases, population first, then each
    decision against the previous one. Returns nothing (a notebook cell ending with it shows no repr)."""

    views = [decision_point_view(wb, stages=DECISION_CHAIN, filters=replace(filters, basis=basis))
             for basis in ("population", "decision")]
    for v in views:
        v.show()


def trend_of(rows: pd.DataFrame, groups_shown=None) -> tuple[pd.DataFrame, str]:
    """Single years where they are published and hide no more, else the shortest pooled blocks."""
    single = rows[rows["first_year"] == rows["last_year"]]
    spans = rows["last_year"] - rows["first_year"]
    rolling = rows[(spans > 0) & (spans == spans[spans > 0].min())] if (spans > 0).any() else rows.iloc[0:0]
    if rolling["period"].nunique() < 2 or single["suppressed"].mean() <= rolling["suppressed"].mean():
        return single, "year"
    return rolling, "window"


def focus_group(state_rows: pd.DataFrame, reference: str = "white") -> str | None:
    """The group with the most children behind a gap (largest absolute excess) among measures rows of
    one place, window and basis; None when no excess is published."""
    rows = state_rows[~state_rows["race_ethnicity"].isin(["all", "unknown", reference])]
    rows = rows.dropna(subset=["excess"])
    if rows.empty:
        return None
    return str(rows.loc[rows["excess"].abs().idxmax(), "race_ethnicity"])


def measures_table(m: pd.DataFrame) -> pd.DataFrame:
    """A readable table of measures rows: counts, rate with interval, DI, RRI with interval, excess, notes."""

    def ci(v, lo, hi, digits=2):
        if pd.isna(v):
            return ""
        return f"{v:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})" if pd.notna(lo) and pd.notna(hi) else f"{v:.{digits}f}"

    rows = []
    for _, r in m.iterrows():
        note = "suppressed" if r["suppressed"] else "too few for a ratio" if r["insufficient"] else (
            "unstable" if r["unstable"] else "")
        rows.append({
            "decision point": STAGES[r["stage"]].label if r["stage"] in STAGES else r["stage"],
            "group": group_label(r["race_ethnicity"]),
            "children": "suppressed" if pd.isna(r["count"]) else f"{int(r['count']):,}",
            "base": "" if pd.isna(r["base_count"]) else f"{int(r['base_count']):,}",
            f"rate per {int(r['per']):,}": ci(r["rate"], r["rate_low"], r["rate_high"], 1),
            "disproportionality index": "" if pd.isna(r["di"]) else f"{r['di']:.2f} ({r['di_band']})",
            "relative rate (95% CI)": ci(r["rri"], r["rri_low"], r["rri_high"]),
            "p (adjusted)": "" if pd.isna(r.get("p_adjusted")) else f"{r['p_adjusted']:.3g}",
            "excess children": "" if pd.isna(r["excess"]) else f"{r['excess']:+,.0f}",
            "note": note,
        })
    return pd.DataFrame(rows)


def rri_matrix(m: pd.DataFrame, *, jurisdiction: str, period: int, stages: list[str] | None = None,
               cat=None, bases: tuple[str, ...] = ("population", "decision"), di: bool = True) -> pd.DataFrame:
    """The relative rate index matrix: one row per decision point, population- and decision-based
    RRI side by side for each group, with the disproportionality index (population base).

    ``cat`` (an :class:`equity_helpers.pages.i18n.Catalogue`) names rows and columns in its language (the
    dashboard and the slides); without it, the notebooks' English names. With one of ``bases`` and no
    ``di``, one column per group (narrow enough for a slide); a decision point without that base (a later one
    has no population base) gives its decision-based ratio, its name marked "†"."""

    sel = m[(m["jurisdiction"] == jurisdiction) & (m["period"] == period)
            & ~m["race_ethnicity"].isin(["all", "unknown"])]
    stages = stages or [s for s in STAGES if s in set(sel["stage"]) and STAGES[s].decision_point]
    if cat is None:
        row_name = "decision point"
        basis_name = {"population": "RRI vs population", "decision": "RRI vs previous decision"}
        stage_name, group_name, di_name = (lambda s: STAGES[s].label if s in STAGES else s), group_label, "DI"
    else:
        row_name = cat.t("matrix_row")
        basis_name = {b: cat.t(f"matrix_rri_{b}") for b in ("population", "decision")}
        stage_name, group_name, di_name = (lambda s: sentence_start(cat.stage(s))), cat.group_label, cat.t("matrix_di")
    number = (lambda x: f"{x:.2f}") if cat is None else (lambda x: cat.number(x, 2))
    wide = len(bases) > 1 or di
    rows = []
    for s in stages:
        row_bases = bases
        if not wide and not (sel["stage"].eq(s) & sel["basis"].eq(bases[0])).any():
            row_bases = ("decision",)  # a later decision point has no population base: per 100 at the step before
        row = {row_name: stage_name(s) + (" †" if row_bases != bases else "")}
        for g in dict.fromkeys(sel["race_ethnicity"]):
            for basis in row_bases:
                r = sel[(sel["stage"] == s) & (sel["race_ethnicity"] == g) & (sel["basis"] == basis)]
                v = r["rri"].iloc[0] if len(r) else float("nan")
                flag = "" if not len(r) else "S" if r["suppressed"].iloc[0] else "-" if pd.isna(v) else (
                    "*" if (r["rri_low"].iloc[0] > 1 or r["rri_high"].iloc[0] < 1) else "")
                row[(group_name(g), basis_name[basis]) if wide else group_name(g)] = (
                    "S" if flag == "S" else "" if not len(r) else "-" if pd.isna(v) else f"{number(v)}{flag}")
            if di:
                r = sel[(sel["stage"] == s) & (sel["race_ethnicity"] == g) & (sel["basis"] == "population")]
                row[(group_name(g), di_name)] = ("" if not len(r) or pd.isna(r["di"].iloc[0])
                                                 else number(r["di"].iloc[0]))
        rows.append(row)
    out = pd.DataFrame(rows).set_index(row_name)
    if wide:
        out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def rri_matrix_view(wb: Workbook, *, filters: Filters) -> pd.DataFrame:
    """:func:`rri_matrix` of the filters' place and window (pooled over the chosen years)."""
    m = wb.measures_for(scheme=filters.race_scheme, reference=filters.reference, age_group=filters.age_group,
                        sex=filters.sex, unknown=filters.unknown_race, adjust=filters.multiple_comparisons)
    period = wb.release(filters.race_scheme).window(filters.first_year, filters.last_year)
    return rri_matrix(m, jurisdiction=filters.jurisdiction, period=period)


MATRIX_LEGEND = ("RRI: the group's rate divided by the reference group's (1 = the same rate), against the child "
                 "population or against the decision before; DI: the group's share at the decision point divided "
                 "by its share of the child population. * the 95% interval excludes 1; S suppressed to protect "
                 "privacy; - too few children for a ratio.")


def matrix_html(matrix: pd.DataFrame, *, caption: str, legend: str = MATRIX_LEGEND) -> str:
    """The whole matrix as one HTML table (every row and column, never cut to "..." as a notebook cuts a
    wide DataFrame), with two-level headers, a caption and the legend below."""
    import html as _html

    styled = (matrix.style.set_caption(_html.escape(caption))
              .set_table_attributes('class="eh-matrix"')
              .set_table_styles([
                  {"selector": "", "props": "border-collapse: collapse; font-size: 0.85em;"},
                  {"selector": "caption", "props": "caption-side: top; font-weight: bold; text-align: left;"},
                  {"selector": "th, td", "props": "padding: 2px 6px; border: 1px solid #ddd; text-align: right;"},
                  {"selector": "th.row_heading", "props": "text-align: left; white-space: nowrap;"},
                  {"selector": "th.col_heading.level0", "props": "text-align: center; background: #f3f3f3;"}]))
    return (f'<div style="overflow-x: auto">{styled.to_html()}</div>'
            f"<p style=\"font-size: 0.85em\">{_html.escape(legend)}</p>")


def show_rri_matrix(wb: Workbook, *, filters: Filters) -> None:
    """Show :func:`rri_matrix_view` whole (:func:`matrix_html`): every decision point and every group.
    Returns nothing (a notebook cell ending with it shows no repr)."""
    from IPython.display import HTML, display  # IPython: present wherever a notebook runs

    m = rri_matrix_view(wb, filters=filters)
    caption = (f"{filters.jurisdiction}, {window_phrase(filters.first_year, filters.last_year)}: relative rates "
               f"against {group_label(filters.reference)} children at every decision point")
    display(HTML(matrix_html(m, caption=caption)))


@dataclass
class TimeInCareView:
    """Time in care and exits for an entry cohort (first entries in the chosen window), read from the
    release table (:mod:`equity_helpers.release.survival`).

    Attributes
    ----------
    stays : per group: ``race_ethnicity``, ``children`` (missing where suppressed), ``suppressed``,
        ``median_days`` with ``median_low``/``median_high``, ``p_value`` (log-rank against the
        reference, where published).
    curves : share still in care at the published months (``race_ethnicity``, ``months``,
        ``in_care``, ``in_care_low``, ``in_care_high``), only points whose counts are published.
    exits : share of each group's cohort that had left by each exit type at 12 and 24 months.
    federal : CFSR-style measures by group for the last year of the window with 12 months of
        follow-up (:func:`equity_helpers.metrics.rates.measures` on the release's federal cells).
    sentences : plain-language sentences for the medians of the window (or why they are hidden), none naming
        the window: ``lead`` does, once.
    federal_sentences : sentences for ``federal`` and what its measures are; the heading above them names
        ``federal_year`` once.
    """

    filters: Filters
    stays: pd.DataFrame
    curves: pd.DataFrame
    exits: pd.DataFrame
    federal: pd.DataFrame
    federal_year: int | None
    sentences: list[str]
    lead: str = ""
    federal_sentences: list[str] = field(default_factory=list)

    @property
    def federal_heading(self) -> str:
        """The heading above :attr:`federal_sentences`: it names their year, once ("" without federal measures)."""
        return "" if self.federal.empty else FEDERAL_HEADING.format(year=self.federal_year)

    def charts(self) -> list:
        from equity_helpers.pages import charts  # Altair: about a second to import, paid only when drawing

        f = self.filters
        span = f"entries {window_phrase(f.first_year, f.last_year)}, {f.jurisdiction}"
        out = []
        if not self.curves.empty:
            out.append(charts.survival_chart(self.curves, title=f"Share of children still in care, {span}"))
        if not self.exits.empty:
            out.append(charts.exits_chart(self.exits, title=f"How children left care by 12 and 24 months, {span}"))
        return out

    def show(self) -> None:
        from IPython.display import Markdown, display  # IPython: imported only when something is shown

        display(Markdown(section_markdown(self.lead, self.sentences)))
        for ch in self.charts():
            display(ch)
        display(stays_table(self.stays))
        if not self.federal.empty:
            display(Markdown(f"**{self.federal_heading}**\n\n" + section_markdown("", self.federal_sentences)
                             + "\n\nP5 counts moves per 1,000 days in care; moves are estimated from each "
                               "episode's placement count."))
            display(measures_table(self.federal))


def stays_table(stays: pd.DataFrame) -> pd.DataFrame:
    """Median stay per group as a readable table (months, with interval; suppressed groups named)."""

    def months(d):
        return "" if pd.isna(d) else "not reached" if d == float("inf") else f"{d / 30.44:.1f}"

    rows = []
    for _, r in stays.iterrows():
        med = pd.notna(r["median_days"])
        rows.append({"group": group_label(r["race_ethnicity"]),
                     "children entering": "suppressed" if r["suppressed"] else f"{int(r['children']):,}",
                     "median months in care": months(r["median_days"]) if med else "",
                     "95% CI": f"{months(r['median_low'])}-{months(r['median_high'])}" if med else "",
                     "log-rank p vs reference": "" if pd.isna(r["p_value"]) else f"{r['p_value']:.3g}",
                     "note": "suppressed" if r["suppressed"] else "" if med else "too few children for a median"})
    return pd.DataFrame(rows)


def time_in_care_view(wb: Workbook, *, filters: Filters) -> TimeInCareView:
    """Build the time-in-care view from the release: cohort sizes, curve points, exits, federal measures."""

    rel = wb.release(filters.race_scheme)
    period = rel.window(filters.first_year, filters.last_year)
    if filters.age_group != ALL_LEVELS or filters.sex != ALL_LEVELS:
        raise ParameterError("Time in care is published for all children of each group (no age or sex filter).")
    c = rel.cells[(rel.cells["family"] == "time_in_care") & (rel.cells["jurisdiction"] == filters.jurisdiction)
                  & (rel.cells["period"] == period)]
    st = rel.stats[(rel.stats["jurisdiction"] == filters.jurisdiction) & (rel.stats["period"] == period)]
    cohort = c[c["stage"] == "cohort"]
    med = st[st["stat"] == "median_days"].set_index("race_ethnicity")
    p = st[(st["stat"] == "logrank_p") & (st["reference"] == filters.reference)].set_index("race_ethnicity")["value"]
    stays = pd.DataFrame({
        "race_ethnicity": cohort["race_ethnicity"].to_numpy(), "children": cohort["count"].to_numpy(),
        "suppressed": cohort["suppressed"].to_numpy()})
    stays = stays[stays["race_ethnicity"] != "all"]
    for col, src in (("median_days", "value"), ("median_low", "low"), ("median_high", "high")):
        stays[col] = stays["race_ethnicity"].map(med[src]) if len(med) else np.nan
    stays["p_value"] = stays["race_ethnicity"].map(p) if len(p) else np.nan
    pts = st[(st["stat"] == "in_care") & (st["race_ethnicity"] != "unknown")]
    curves = pts.rename(columns={"month": "months", "value": "in_care", "low": "in_care_low", "high": "in_care_high"})[
        ["race_ethnicity", "months", "in_care", "in_care_low", "in_care_high"]]
    if len(curves):
        start = pd.DataFrame({"race_ethnicity": curves["race_ethnicity"].unique(), "months": 0.0, "in_care": 1.0,
                              "in_care_low": 1.0, "in_care_high": 1.0})
        curves = pd.concat([start, curves], ignore_index=True).sort_values(["race_ethnicity", "months"])
    exits = st[st["stat"] == "exit_share"].rename(columns={"month": "months", "value": "share"})[
        ["race_ethnicity", "months", "exit_type", "share"]]
    fed = rel.cells[(rel.cells["family"] == "federal") & (rel.cells["jurisdiction"] == filters.jurisdiction)
                    & rel.cells["first_year"].between(filters.first_year, filters.last_year)]
    year = int(fed["first_year"].max()) if len(fed) else None
    federal = pd.DataFrame()
    federal_text: list[str] = []
    if year is not None:
        federal = published_federal_measures(rel, fed[fed["first_year"] == year], reference=filters.reference,
                                    policy=wb.policy)
        federal_text = sentences(federal[federal["stage"].isin(["P1_permanency_12m_entries", "P4_reentry_12m"])])
        federal_text.append(FEDERAL_NOTE)
    text = _median_sentences(stays, filters.reference)
    if curves.empty:
        text.insert(0, TIC_HIDDEN.format(place=filters.jurisdiction))
    return TimeInCareView(filters=filters, stays=stays.reset_index(drop=True), curves=curves.reset_index(drop=True),
                          exits=exits.reset_index(drop=True), federal=federal, federal_year=year, sentences=text,
                          lead=window_lead(filters.first_year, filters.last_year) if text else "",
                          federal_sentences=federal_text)


def _median_sentences(stays: pd.DataFrame, reference: str) -> list[str]:
    """Each group's median stay against the reference group's, where both and the log-rank test are published."""
    ref = stays[stays["race_ethnicity"] == reference]
    if ref.empty or pd.isna(ref["median_days"].iloc[0]):
        return []
    text = []
    for _, r in stays.iterrows():
        if r["race_ethnicity"] in (reference, "unknown"):
            continue
        if pd.notna(r["median_days"]) and pd.notna(r["p_value"]):
            chance = "" if r["p_value"] < 0.05 else " " + MEDIAN_CHANCE
            text.append(MEDIAN_STAY.format(group=group_children(r["race_ethnicity"]),
                                           months=f"{r['median_days'] / 30.44:.1f}",
                                           ref_months=f"{ref['median_days'].iloc[0] / 30.44:.1f}",
                                           ref=group_children(reference)) + chance)
    return text


