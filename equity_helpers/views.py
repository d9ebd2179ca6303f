"""Shareable views: the tables notebooks and reports show, already suppressed.

Suppression is always decided on the full table (every jurisdiction and group) before a view
is filtered to one place, so the cells hidden in one county's report and in the statewide
report are consistent and no hidden count can be recovered by putting reports side by side.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .measures import measures as _measures
from .schema import STAGES, group_label
from .stages import STATE, population_table, stage_counts
from .suppression import DEFAULT_POLICY, SuppressionPolicy, shareable_counts
from .validate import ValidatedData

__all__ = ["stage_overview", "stage_overview_table", "Workbook", "Filters", "DecisionPointView",
           "decision_point_view", "measures_table", "rri_matrix", "TimeInCareView", "time_in_care_view",
           "stays_table"]


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


# --------------------------------------------------------------------------- decision-point views
ALL_LEVELS = "all"
DECISION_CHAIN = ["reported", "screened_in", "substantiated", "entered_care"]
"""The front end of the chain, from the hotline to entry into care."""


@dataclass
class Workbook:
    """Validated data plus caches, so that every view and widget redraw reuses the same tables.

    ``measures_for`` computes the full measures table (every jurisdiction, period, group, stage
    and basis) once per scheme, reference, age group and sex, so suppression is decided on the
    whole table and a redraw for another county is instant.
    """

    data: ValidatedData
    policy: SuppressionPolicy | None = DEFAULT_POLICY
    _counts: dict = field(default_factory=dict, repr=False)
    _pop: dict = field(default_factory=dict, repr=False)
    _measures: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, data_dir=None, *, mapping=None, suppression_threshold: int = 10) -> "Workbook":
        from .validate import load

        return cls(load(data_dir, mapping=mapping), policy=SuppressionPolicy(max_count=suppression_threshold))

    def counts(self, scheme: str, age_group: str = ALL_LEVELS, sex: str = ALL_LEVELS) -> pd.DataFrame:
        """Stage counts for the scheme, restricted to one age group and/or sex ("all" for every one)."""
        return self._cached(self._counts, stage_counts, scheme, age_group, sex, "count")

    def population(self, scheme: str, age_group: str = ALL_LEVELS, sex: str = ALL_LEVELS) -> pd.DataFrame:
        """Child population for the scheme, restricted the same way."""
        return self._cached(self._pop, population_table, scheme, age_group, sex, "population")

    def _cached(self, cache: dict, build, scheme: str, age_group: str, sex: str, value: str) -> pd.DataFrame:
        # whole-population tables without a breakdown; filtered ones from the age x sex breakdown
        whole = age_group == ALL_LEVELS and sex == ALL_LEVELS
        if (scheme, whole) not in cache:
            cache[(scheme, whole)] = build(self.data, scheme=scheme, by=() if whole else ("age_group", "sex"))
        return _restrict(cache[(scheme, whole)], age_group, sex, value)

    def measures_for(self, *, scheme: str = "hispanic_first", reference: str = "white", age_group: str = ALL_LEVELS,
                     sex: str = ALL_LEVELS) -> pd.DataFrame:
        """The full measures table for these filters (cached)."""
        key = (scheme, reference, age_group, sex)
        if key not in self._measures:
            self._measures[key] = _measures(self.counts(scheme, age_group, sex), self.population(scheme, age_group, sex),
                                            reference=reference, policy=self.policy)
        return self._measures[key]


def _restrict(table: pd.DataFrame, age_group: str, sex: str, value: str) -> pd.DataFrame:
    if "age_group" not in table:
        return table
    t = table
    if age_group != ALL_LEVELS:
        t = t[t["age_group"] == age_group]
    if sex != ALL_LEVELS:
        t = t[t["sex"] == sex]
    keys = [c for c in t.columns if c not in (value, "age_group", "sex")]
    return t.groupby(keys, observed=True, dropna=False)[value].sum().reset_index()


@dataclass
class Filters:
    """What a view shows: place, years, breakdown, reference, scheme and basis."""

    jurisdiction: str = STATE
    first_year: int = 0
    last_year: int = 0
    age_group: str = ALL_LEVELS
    sex: str = ALL_LEVELS
    reference: str = "white"
    race_scheme: str = "hispanic_first"
    basis: str = "population"


@dataclass
class DecisionPointView:
    """Everything one decision-point page shows, computed by the package (no logic in notebooks).

    Attributes
    ----------
    current : measures rows for the place, the last year, the stages and the basis.
    trend : the same rows for every year in the range.
    counties : the last year's rows for every county (for the county comparison), for the
        group named in ``focus_group`` (the group with the most children behind a gap statewide).
    sentences : plain-language sentences for ``current``.
    """

    filters: Filters
    stages: list[str]
    current: pd.DataFrame
    trend: pd.DataFrame
    counties: pd.DataFrame
    focus_group: str | None
    sentences: list[str]

    def table(self) -> pd.DataFrame:
        return measures_table(self.current)

    def charts(self) -> list:
        from . import charts
        from .schema import group_children, group_label

        f = self.filters
        ref = group_label(f.reference)
        years = f"FY{f.last_year}"
        where = f.jurisdiction + ("" if f.age_group == ALL_LEVELS else f", ages {f.age_group}") + (
            "" if f.sex == ALL_LEVELS else f", {f.sex}")
        basis = "per 1,000 children in the population" if f.basis == "population" else "at this decision"
        out = []
        if not self.current.empty:
            out.append(charts.rate_chart(self.current, title=f"Rates {basis}, {where}, {years}"))
            out.append(charts.rri_chart(self.current, reference_label=ref,
                                        title=f"How many times the rate of {group_children(f.reference)}, {where}, "
                                              f"{years}"))
        if self.trend["period"].nunique() > 1:
            for stage in self.stages:
                t = self.trend[self.trend["stage"] == stage]
                if not t.empty:
                    label = STAGES[stage].label if stage in STAGES else stage
                    out.append(charts.trend_chart(t, reference_label=ref,
                                                  title=f"Change over time: {label}, {where}"))
        if self.focus_group and not self.counties.empty:
            out.append(charts.county_chart(self.counties, reference_label=ref,
                                           title=f"{group_children(self.focus_group).capitalize()} compared with "
                                                 f"{group_children(f.reference)}, by county, {years}"))
        return out

    def show(self) -> None:
        """Display the sentences, charts and table (batch mode, and inside the widget panel)."""
        from IPython.display import Markdown, display

        display(Markdown("\n".join(f"- {s}" for s in self.sentences) or "_No results for these filters._"))
        for ch in self.charts():
            display(ch)
        display(self.table())


def decision_point_view(wb: Workbook, *, stages: list[str], filters: Filters) -> DecisionPointView:
    """Build the view of ``stages`` for ``filters`` from the workbook's cached measures."""
    from .narrative import sentences

    m = wb.measures_for(scheme=filters.race_scheme, reference=filters.reference, age_group=filters.age_group,
                        sex=filters.sex)
    sel = m[m["stage"].isin(stages) & (m["basis"] == filters.basis)]
    order = {s: i for i, s in enumerate(stages)}
    place = sel[sel["jurisdiction"] == filters.jurisdiction]
    trend = place[place["period"].between(filters.first_year, filters.last_year)]
    current = trend[trend["period"] == filters.last_year].sort_values(
        "stage", key=lambda s: s.map(order), kind="stable")
    last = sel[(sel["period"] == filters.last_year) & (sel["jurisdiction"] != STATE)]
    focus = _focus_group(sel[(sel["jurisdiction"] == STATE) & (sel["period"] == filters.last_year)], filters)
    counties = last[(last["race_ethnicity"] == focus) & (last["stage"] == stages[0])] if focus else last.iloc[0:0]
    return DecisionPointView(filters=filters, stages=stages, current=current.reset_index(drop=True),
                             trend=trend.reset_index(drop=True), counties=counties.reset_index(drop=True),
                             focus_group=focus, sentences=sentences(current))


def _focus_group(state_rows: pd.DataFrame, filters: Filters) -> str | None:
    rows = state_rows[~state_rows["race_ethnicity"].isin(["all", "unknown", filters.reference])]
    rows = rows.dropna(subset=["excess"])
    if rows.empty:
        return None
    return str(rows.loc[rows["excess"].abs().idxmax(), "race_ethnicity"])


def measures_table(m: pd.DataFrame) -> pd.DataFrame:
    """A readable table of measures rows: counts, rate with interval, DI, RRI with interval, excess, notes."""
    from .schema import group_label

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
            "excess children": "" if pd.isna(r["excess"]) else f"{r['excess']:+,.0f}",
            "note": note,
        })
    return pd.DataFrame(rows)


def rri_matrix(m: pd.DataFrame, *, jurisdiction: str, period: int, stages: list[str] | None = None) -> pd.DataFrame:
    """The relative rate index matrix: one row per decision point, population- and decision-based
    RRI side by side for each group, with the disproportionality index (population base)."""
    from .schema import group_label

    sel = m[(m["jurisdiction"] == jurisdiction) & (m["period"] == period)
            & ~m["race_ethnicity"].isin(["all", "unknown"])]
    stages = stages or [s for s in STAGES if s in set(sel["stage"]) and STAGES[s].decision_point]
    rows = []
    for s in stages:
        row = {"decision point": STAGES[s].label if s in STAGES else s}
        for g in dict.fromkeys(sel["race_ethnicity"]):
            for basis, name in (("population", "RRI vs population"), ("decision", "RRI vs previous decision")):
                r = sel[(sel["stage"] == s) & (sel["race_ethnicity"] == g) & (sel["basis"] == basis)]
                v = r["rri"].iloc[0] if len(r) else float("nan")
                flag = "" if not len(r) else "S" if r["suppressed"].iloc[0] else "-" if pd.isna(v) else (
                    "*" if (r["rri_low"].iloc[0] > 1 or r["rri_high"].iloc[0] < 1) else "")
                row[(group_label(g), name)] = "S" if flag == "S" else "" if not len(r) else (
                    "-" if pd.isna(v) else f"{v:.2f}{flag}")
            r = sel[(sel["stage"] == s) & (sel["race_ethnicity"] == g) & (sel["basis"] == "population")]
            row[(group_label(g), "DI")] = "" if not len(r) or pd.isna(r["di"].iloc[0]) else f"{r['di'].iloc[0]:.2f}"
        rows.append(row)
    out = pd.DataFrame(rows).set_index("decision point")
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


@dataclass
class TimeInCareView:
    """Time in care and exits for an entry cohort (entries in the chosen years).

    Attributes
    ----------
    stays : median stay per group (:func:`~equity_helpers.survival.median_stay`), suppressed.
    curves : Kaplan-Meier curves, cut where 10 or fewer children remain at risk and without groups
        whose cohort is suppressed.
    exits : cumulative incidence of each exit type, cut the same way.
    federal : CFSR-style measures by group for the last year with 12 months of follow-up.
    sentences : plain-language sentences for ``federal`` and the medians.
    """

    filters: Filters
    stays: pd.DataFrame
    curves: pd.DataFrame
    exits: pd.DataFrame
    federal: pd.DataFrame
    federal_year: int | None
    sentences: list[str]

    def charts(self) -> list:
        from . import charts

        f = self.filters
        span = f"entries FY{f.first_year}-FY{f.last_year}, {f.jurisdiction}"
        out = []
        if not self.curves.empty:
            out.append(charts.survival_chart(self.curves, title=f"Share of children still in care, {span}"))
        if not self.exits.empty:
            out.append(charts.exits_chart(self.exits, title=f"How and when children left care, {span}"))
        return out

    def show(self) -> None:
        from IPython.display import Markdown, display

        display(Markdown("\n".join(f"- {s}" for s in self.sentences) or "_No results for these filters._"))
        for ch in self.charts():
            display(ch)
        display(stays_table(self.stays))
        if not self.federal.empty:
            display(Markdown(f"**Federal-style measures, entries in FY{self.federal_year}** (P5: moves per 1,000 "
                             "days in care; moves are estimated from each episode's placement count)."))
            display(measures_table(self.federal))


def stays_table(stays: pd.DataFrame) -> pd.DataFrame:
    """Median stay per group as a readable table (months, with interval; suppressed groups named)."""
    from .schema import group_label

    def months(d):
        return "not reached" if pd.isna(d) or d == float("inf") else f"{d / 30.44:.1f}"

    rows = []
    for _, r in stays.iterrows():
        rows.append({"group": group_label(r["race_ethnicity"]),
                     "children entering": "suppressed" if r["suppressed"] else f"{int(r['children']):,}",
                     "median months in care": "" if r["suppressed"] else months(r["median_days"]),
                     "95% CI": "" if r["suppressed"] else f"{months(r['median_low'])}-{months(r['median_high'])}",
                     "log-rank p vs reference": "" if pd.isna(r["p_value"]) else f"{r['p_value']:.3g}",
                     "note": "suppressed" if r["suppressed"] else "unstable" if r["unstable"] else ""})
    return pd.DataFrame(rows)


def _on_grid(curve: pd.DataFrame, keys: list[str], step: int = 7) -> pd.DataFrame:
    """A step curve read every ``step`` days (the value in force on each day), for light charts."""
    frames = []
    for k, g in curve.groupby(keys, sort=False):
        g = g.sort_values("days")
        grid = pd.DataFrame({"days": np.arange(0, g["days"].max() + 1, step, dtype=float)})
        got = pd.merge_asof(grid, g.drop(columns=keys).astype({"days": float}), on="days", direction="backward")
        got = got.dropna()
        for name, value in zip(keys, k if isinstance(k, tuple) else (k,)):
            got[name] = value
        frames.append(got)
    return pd.concat(frames, ignore_index=True)[curve.columns] if frames else curve


def time_in_care_view(wb: Workbook, *, filters: Filters) -> TimeInCareView:
    """Build the time-in-care view: entry cohort, curves, competing exits and federal measures."""
    from . import survival
    from .narrative import sentences as _sentences
    from .schema import age_group_of, group_children

    data = wb.data
    policy = wb.policy or SuppressionPolicy(max_count=0, complementary=False)
    cohort = survival.entry_cohort(data, jurisdiction=filters.jurisdiction, scheme=filters.race_scheme)
    cohort = cohort[cohort["period"].between(filters.first_year, filters.last_year)]
    if filters.age_group != ALL_LEVELS:
        cohort = cohort[age_group_of(cohort["age_at_entry"].to_numpy()) == filters.age_group]
    if filters.sex != ALL_LEVELS:
        sexes = data.children.set_index("child_id")["sex"]
        cohort = cohort[cohort["child_id"].map(sexes) == filters.sex]
    stays = survival.median_stay(cohort, reference=filters.reference, policy=wb.policy)
    shown = set(stays.loc[~stays["suppressed"], "race_ethnicity"]) if not stays.empty else set()
    shown.discard("unknown")
    km = survival.kaplan_meier(cohort, groups=sorted(shown))
    km = km[km["at_risk"] > policy.max_count]  # never draw a curve on 10 or fewer children
    last_day = km.groupby("race_ethnicity")["days"].max()
    cif = survival.cumulative_incidence(cohort, groups=sorted(shown))
    cif = cif[cif["days"] <= cif["race_ethnicity"].map(last_day).fillna(-1)]
    km = _on_grid(km, ["race_ethnicity"], step=14)
    cif = _on_grid(cif, ["race_ethnicity", "exit_type"], step=30)
    year = None
    for y in range(filters.last_year, filters.first_year - 1, -1):
        if pd.Timestamp(f"{y}-09-30") + pd.DateOffset(years=1) <= data.data_end + pd.Timedelta(days=1):
            year = y
            break
    federal = pd.DataFrame()
    text: list[str] = []
    if year is not None:
        federal = survival.federal_measures(data, period=year, jurisdiction=filters.jurisdiction,
                                            scheme=filters.race_scheme, reference=filters.reference,
                                            policy=wb.policy)
        text = _sentences(federal[federal["stage"].isin(["P1_permanency_12m_entries", "P4_reentry_12m"])])
    ref = stays[stays["race_ethnicity"] == filters.reference] if not stays.empty else stays
    for _, r in stays.iterrows():
        if r["race_ethnicity"] in (filters.reference, "unknown") or r["suppressed"] or ref.empty:
            continue
        if pd.notna(r["median_days"]) and pd.notna(ref["median_days"].iloc[0]):
            chance = "" if r["p_value"] < 0.05 else " The difference could be due to chance (log-rank test)."
            text.append(f"Half of the {group_children(r['race_ethnicity'])} who entered care in FY{filters.first_year}-"
                        f"FY{filters.last_year} had left within {r['median_days'] / 30.44:.1f} months, compared with "
                        f"{ref['median_days'].iloc[0] / 30.44:.1f} months for {group_children(filters.reference)}."
                        + chance)
    return TimeInCareView(filters=filters, stays=stays, curves=km, exits=cif, federal=federal, federal_year=year,
                          sentences=text)
