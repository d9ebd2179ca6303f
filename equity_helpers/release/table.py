"""The release table: every number the workbook can publish, protected together.

Nothing is published except through this table (``docs/architecture.md``, "From files to a published page" and
"Small numbers and privacy"). It holds every aggregate count cell that any notebook, chart, tooltip,
sentence, index page or export can show:

* every jurisdiction and the state (counted from records, not summed);
* every single fiscal year (for the state: :data:`SINGLE_YEAR_PLACES`), consecutive blocks of
  :data:`WINDOW_YEARS` years and the whole range for every place (pooled windows count
  **child-years**: a child counted in two years counts twice, so a window is exactly the sum of its
  years and its rate is per 1,000 child-years);
* every subgroup a page offers: all children everywhere; each age group and each sex for the state
  over pooled windows (:data:`BREAKDOWNS`; a county's age or sex group over one year is too small
  to say anything once protected, and publishing it would force more suppression elsewhere); equity
  breakdowns at the decision points their pages read (:data:`BREAKDOWN_STAGES`);
* every race/ethnicity group and all children;
* every stage of the decision-point registry (the bases of decision-based rates are stages too).

Disclosure is decided on that whole table at once by :func:`equity_helpers.privacy.disclosure.protect`,
with every linear relation a reader could use (:func:`relations`): groups add up to all children,
years add up to their windows, counties add up to the state and subgroups to all children where
they do on the data (otherwise the weaker inequalities that always hold), and the decision chain's
orderings (children screened in are among the children reported, and so on). Every hidden cell is
proven protected by linear programming while it is decided (the proof is kept in the release's
audit table): a release whose proof is incomplete is never published.

Only published values leave this module: a :class:`Release` keeps a hidden cell's value as missing,
so views, notebooks and batch kernels that read it cannot show, or compute from, a hidden count.
Measures (rates, ratios, intervals) are computed from the published cells on demand; every measure
that would need a hidden count is hidden (:func:`equity_helpers.metrics.rates.measures`).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from equity_helpers import settings
from equity_helpers.counting.stages import population_table, stage_counts, stage_counts_each
from equity_helpers.data.engagement import MEETING_DIMS
from equity_helpers.errors import ParameterError
from equity_helpers.metrics.rates import measures as _measures
from equity_helpers.privacy import disclosure
from equity_helpers.privacy.suppression import DEFAULT_POLICY
from equity_helpers.release.survival import (
    DAYS_COLUMNS,
    federal_release,
    federal_years,
    survival_relation_terms,
    survival_release,
    visible_stats,
)
from equity_helpers.schema import ALL, EQUITY_COLUMNS, STAGES, STATE, get_scheme
from equity_helpers.settings import code_fingerprint

__all__ = ["Window", "windows_for", "WINDOW_YEARS", "SUBGROUP_ALL", "subgroup_label", "subgroup_levels",
           "release_cells", "relations", "Release", "build_release", "release_cache_dir", "RELEASE_CODE", "CELL_KEYS",
           "CHAIN_ORDER", "BREAKDOWN_STAGES", "STAGES_READ", "FOLDED_LEVELS", "level_label", "RELEASE_COLUMNS", "cell_costs", "BUILD_STEPS", "EQUITY_BREAKDOWNS", "STRICT_BREAKDOWNS", "default_breakdowns"]

WINDOW_YEARS = 3
"""Length of the pooled blocks of years offered beside single years and the whole range."""

SINGLE_YEAR_PLACES = (STATE,)
"""Places whose single years are published. A county's single year is mostly counts of 1 to 10;
publishing it hides most of them and, through the years adding up to the pooled windows, much of
the county's pooled numbers too (measured on the sample state: without county single years, the
state's FY2025 hides 33% of its non-zero counts instead of 70%, and every county's pooled numbers
hide less, e.g. Riverbend 35% instead of 58%). Counties
are shown over 3-year blocks and the whole range. The state's single years still bound the counties'
(the counties add up to the state; that relation needs no unpublished cell to be protected: for any
county totals and yearly state totals that agree, some yearly county counts fit both)."""
SUBGROUP_ALL = "all"
BREAKDOWNS = ("age_group", "sex")
"""Subgroups offered as filters (one at a time: all children, one age group, or one sex)."""
FOLDED_LEVELS: dict[str, dict[str, str]] = {"sex": {"unknown": "male"}}
"""Levels published inside another level of their breakdown (``docs/privacy.md``, "What is published"):
children whose sex was not recorded (0.5% of the sample's) are counted with male children. Published on
their own, or left out (all children minus female minus male gives them back), those handfuls are small
counts beside two large ones and a larger total: each can only be protected by hiding a count of girls or
boys above 50 (128 such counts on the sample: hidden counts above 50 fell from 212 to 70). The price is
told where sex is chosen: male rates carry that half percent in their count, not in their population."""
BREAKDOWN_STAGES = ("reported", "screened_in", "substantiated", "entered_care", "substantiated_followed",
                    "entered_after_substantiation", "first_placement_kin", "first_placement_congregate",
                    "permanency_12m", "reunified_12m", "in_care_24m_plus")
"""Decision points published by equity breakdown, a partner's services and family meetings: those the
beyond-race, domestic-violence and family-engagement pages show, and the bases of their rates
(``tests/pages/test_breakdowns.py`` checks that the pages ask for no other). Exits by breakdown (left care,
aged out, went home) are on no page; published, they were 756 more cells on the sample, each small one more
count to protect through sums tying it to the state's whole-range numbers (``docs/privacy.md``)."""
STAGES_READ: dict[str, tuple[str, ...]] = {
    "meeting_at_report": ("screened_in", "substantiated", "substantiated_followed", "entered_after_substantiation"),
    "meeting_at_removal": ("entered_care", "first_placement_kin", "first_placement_congregate", "permanency_12m",
                           "reunified_12m", "in_care_24m_plus"),
    "dv_services": ("reported", "screened_in", "substantiated", "substantiated_followed",
                    "entered_after_substantiation"),
}
"""Breakdowns read at fewer decision points than :data:`BREAKDOWN_STAGES`: a meeting at the report from screening
on, a meeting after removal from entry to care on (before it nearly every child is "did not enter care"), a
partner's services where the domestic-violence page compares them."""
EQUITY_BREAKDOWNS = EQUITY_COLUMNS
"""Equity breakdowns published when the data have the column (:data:`equity_helpers.schema.EQUITY_CODES`):
each level of each, for the state over the whole range of years and any chosen span (a batch's years), every
race group within it."""
STRICT_BREAKDOWNS = ("lgbtq",)
"""Breakdowns whose counts are hidden up to :attr:`~equity_helpers.privacy.disclosure.Protection.strict_max_count`
(20, not 10): sexual orientation and gender identity, which the field treats as more sensitive (a
disclosed identity can put a young person at risk at home or in placement)."""


def default_breakdowns(data) -> tuple[str, ...]:
    """Age group and sex, every equity breakdown whose column the data have, the timing of a domestic
    violence partner's services (``dv_services``) when the data have the partner's table and family hashes,
    and the family-meeting breakdowns (:data:`equity_helpers.data.engagement.MEETING_DIMS`) when they have meetings."""
    have: set[str] = set()
    if data.child_level:  # a DuckDB extract answers without reading its tables
        have = set(data.columns_of("children")) | set(data.columns_of("reports"))
    partner = ("dv_services",) if (getattr(data, "dv_services", None) is not None
                                   and {"dv_involved", "family_hash"} <= have) else ()
    meetings = MEETING_DIMS if getattr(data, "meetings", None) is not None else ()
    return (*BREAKDOWNS, *[b for b in EQUITY_BREAKDOWNS if b in have], *partner, *meetings)

CHAIN_ORDER: tuple[tuple[tuple[str, ...], str], ...] = (
    (("screened_in",), "reported"),
    (("substantiated",), "screened_in"),
    (("substantiated_followed",), "substantiated"),
    (("entered_after_substantiation",), "substantiated_followed"),
    (("first_placement_kin", "first_placement_congregate"), "entered_care"),
    (("permanency_12m", "in_care_24m_plus"), "entered_care"),
    (("reunified_12m",), "permanency_12m"),
    (("aged_out", "exited_to_family"), "exited"),
    (("reentry_12m",), "exited_to_family"),
)
"""Orderings of the decision chain a reader may use: the children of the stages on the left are
distinct children among those of the stage on the right (added only where they hold on the data)."""

RELEASE_COLUMNS = ["family", "jurisdiction", "period", "first_year", "last_year", "race_ethnicity", "subgroup",
                   "stage", "base", "count", "suppressed"]
"""Columns of the published release table (``release.csv``); ``count`` is empty where suppressed."""

CELL_KEYS = ["family", "jurisdiction", "period", "race_ethnicity", "subgroup", "stage"]
"""What names a cell of the release (with ``cell``, its id): the columns of the audit beside ``low`` and ``high``."""
BUILD_STEPS = ("counting children at each decision point", "time in care and federal-style measures",
               "the sums a reader could use", "protecting small numbers", "publishing the protected numbers")
"""What :func:`build_release` tells its ``progress`` callback, in order."""
FAMILIES = ("stages", "time_in_care", "federal")
"""Cell families: decision-point stage counts, time-in-care cohorts and curve points
(:mod:`equity_helpers.release.survival`), and federal-style measures of one year."""


# --------------------------------------------------------------------------- windows and subgroups
@dataclass(frozen=True, order=True)
class Window:
    """A span of fiscal years, ``first``-``last`` inclusive."""

    first: int
    last: int

    @property
    def label(self) -> str:
        return f"FY{self.first}" if self.first == self.last else f"FY{self.first}-FY{self.last}"

    @property
    def years(self) -> range:
        return range(self.first, self.last + 1)

    @property
    def single(self) -> bool:
        return self.first == self.last


def windows_for(first_year: int, last_year: int, *, length: int = WINDOW_YEARS,
                extra: Iterable[tuple[int, int]] = ()) -> list[Window]:
    """Every window published for the years: single years, consecutive ``length``-year blocks counted
    back from the last year (2023-2025, 2020-2022), the whole range, and any ``extra`` (first, last)
    spans (e.g. a batch's chosen years).

    Blocks do not overlap: overlapping (rolling) windows differ by single years, so publishing them
    would let a reader recover many single years that have to stay hidden, and the protection would
    have to hide far more.
    """
    out = {Window(y, y) for y in range(first_year, last_year + 1)}
    out |= {Window(y - length + 1, y) for y in range(last_year, first_year + length - 2, -length)}
    out.add(Window(first_year, last_year))
    for f, l in extra:
        if not (first_year <= f <= l <= last_year):
            raise ParameterError(f"Years {f}-{l} are outside the data ({first_year}-{last_year}).")
        out.add(Window(int(f), int(l)))
    return sorted(out, key=lambda w: (w.last - w.first, w.first))


def subgroup_label(breakdown: str | None, level: str | None) -> str:
    """The subgroup code stored in the table: ``"all"`` or ``"<breakdown>:<level>"``."""
    return SUBGROUP_ALL if not breakdown or level in (None, ALL) else f"{breakdown}:{level}"


def subgroup_levels(cells: pd.DataFrame) -> list[str]:
    """Subgroup codes present in a table, all children first."""
    subs = sorted(set(cells["subgroup"]) - {SUBGROUP_ALL})
    return [SUBGROUP_ALL, *subs]


# --------------------------------------------------------------------------- cells
def release_cells(data, *, scheme: str = "hispanic_first", windows: Sequence[Window],
                  breakdowns: Sequence[str] = BREAKDOWNS,
                  single_year_places: Sequence[str] = SINGLE_YEAR_PLACES,
                  equity_windows: Iterable[Window] | None = None) -> pd.DataFrame:
    """Every publishable count cell, with its true value (never published as such).

    Returns
    -------
    DataFrame with ``cell`` (int id), ``jurisdiction``, ``period`` (window label), ``first_year``,
    ``last_year``, ``race_ethnicity``, ``subgroup``, ``stage``, ``base`` (decision base stage or
    ""), ``value`` (unique children per year, summed over the window's years: child-years).
    A window holds a stage only if every one of its years does (follow-up stages need time).
    Single years are published for ``single_year_places`` only (see :data:`SINGLE_YEAR_PLACES`).
    Breakdowns other than age group and sex (the equity breakdowns, a partner's services, meetings) are
    published over ``equity_windows`` only (default: every pooled window): the pages that show them read
    the chosen span, and every other window would be more cells to protect and more relations to audit;
    and at the decision points their pages read only (:data:`BREAKDOWN_STAGES`, :data:`STAGES_READ`). Levels
    of :data:`FOLDED_LEVELS` are counted with the level that holds them.
    """
    equity = None if equity_windows is None else set(equity_windows)
    parts = [stage_counts(data, scheme=scheme).assign(subgroup=SUBGROUP_ALL)]
    each = stage_counts_each(data, scheme=scheme, bys=[(b,) for b in breakdowns], include_counties=False)
    for b, c in zip(breakdowns, each):
        c = _fold_levels(c, b)
        parts.append(c.assign(subgroup=b + ":" + c.pop(b).astype(str)))
    singles = pd.concat(parts, ignore_index=True)
    singles["period"] = singles["period"].astype(int)
    # explicit zeros: every place, group and subgroup for every (year, stage) the data support
    who = singles[["jurisdiction", "race_ethnicity", "subgroup"]].drop_duplicates()
    when = singles[["period", "stage", "base"]].drop_duplicates()
    grid = who.merge(when, how="cross")
    singles = grid.merge(singles, on=["jurisdiction", "race_ethnicity", "subgroup", "period", "stage", "base"],
                         how="left")
    singles["count"] = singles["count"].fillna(0).astype("int64")
    breakdown = singles["subgroup"].str.split(":", n=1).str[0]
    read = [b in (SUBGROUP_ALL, *BREAKDOWNS) or s in STAGES_READ.get(b, BREAKDOWN_STAGES)
            for b, s in zip(breakdown, singles["stage"])]
    singles = singles[np.asarray(read, bool)]
    frames = []
    keys = ["jurisdiction", "race_ethnicity", "subgroup", "stage"]
    for w in windows:
        s = singles[singles["period"].between(w.first, w.last)]
        if w.single:  # subgroups are published for pooled windows only
            s = s[(s["subgroup"] == SUBGROUP_ALL) & s["jurisdiction"].isin(list(single_year_places))]
            g = s[keys + ["base", "count"]].copy()
        else:
            if equity is not None and w not in equity:
                s = s[(s["subgroup"] == SUBGROUP_ALL) | s["subgroup"].str.startswith(
                    tuple(f"{b}:" for b in BREAKDOWNS))]
            agg = s.groupby(keys, observed=True, sort=False).agg(
                base=("base", "first"), count=("count", "sum"), years=("period", "nunique")).reset_index()
            g = agg[agg["years"] == len(w.years)].drop(columns="years")
        frames.append(g.assign(period=w.label, first_year=w.first, last_year=w.last))
    cells = pd.concat(frames, ignore_index=True).rename(columns={"count": "value"})
    cells["value"] = cells["value"].astype("int64")
    cells["family"] = "stages"
    cells.insert(0, "cell", np.arange(len(cells), dtype="int64"))
    return cells[["cell", *CELL_COLUMNS]]


def level_label(breakdown: str, level: str) -> str:
    """A subgroup level as pages name it: a level that holds :data:`FOLDED_LEVELS` says so
    (``"male (incl. sex not recorded)"``)."""
    held = [k for k, v in FOLDED_LEVELS.get(breakdown, {}).items() if v == level]
    if not held:
        return level
    return f"{level} (incl. {', '.join(f'{breakdown} not recorded' if h == 'unknown' else h for h in held)})"


def _fold_levels(counts: pd.DataFrame, breakdown: str) -> pd.DataFrame:
    """Count each level of :data:`FOLDED_LEVELS` with the level it is published in (a child has one sex, so
    the unique children of the two add up)."""
    fold = FOLDED_LEVELS.get(breakdown)
    if not fold or not counts[breakdown].isin(list(fold)).any():
        return counts
    counts = counts.assign(**{breakdown: counts[breakdown].astype(str).replace(fold)})
    keys = [c for c in counts.columns if c != "count"]
    return counts.groupby(keys, sort=False, dropna=False)["count"].sum().reset_index()[counts.columns]


CELL_COLUMNS = ["family", "jurisdiction", "period", "first_year", "last_year", "race_ethnicity", "subgroup",
                "stage", "base", "value"]


# --------------------------------------------------------------------------- relations
def _sum_relations(cells: pd.DataFrame, *, part_mask: np.ndarray, total_mask: np.ndarray,
                   link: Sequence[str]) -> pd.DataFrame:
    """Terms of "total = sum of parts" for every combination of ``link`` columns.

    Where the equation holds on the data it is published as an equality. Where it does not (a
    child counted in two parts, such as two counties or two age groups in one year), the weaker
    relations that always hold are used: each part <= total <= sum of parts.
    Returns terms ``relation`` (local id), ``cell``, ``coef``, ``kind``.
    """
    tot = cells.loc[total_mask, [*link, "cell", "value"]].rename(columns={"cell": "t_cell", "value": "t_value"})
    parts = cells.loc[part_mask, [*link, "cell", "value"]]
    if tot.empty or parts.empty:
        return pd.DataFrame(columns=["relation", "cell", "coef", "kind"])
    parts = parts.merge(tot, on=list(link), how="inner")
    parts["rid"] = parts.groupby("t_cell", sort=False).ngroup()
    psum = parts.groupby("rid")["value"].transform("sum")
    exact = (psum == parts["t_value"]).to_numpy()
    out = []
    eq = parts[exact]
    if len(eq):
        heads = eq.drop_duplicates("rid")
        out.append(pd.DataFrame({"relation": eq["rid"].to_numpy(), "cell": eq["cell"].to_numpy(), "coef": 1.0,
                                 "kind": "eq"}))
        out.append(pd.DataFrame({"relation": heads["rid"].to_numpy(), "cell": heads["t_cell"].to_numpy(),
                                 "coef": -1.0, "kind": "eq"}))
    le = parts[~exact]
    if len(le):
        base = int(parts["rid"].max()) + 1
        # each part <= total
        ids = base + np.arange(len(le))
        out.append(pd.DataFrame({"relation": ids, "cell": le["cell"].to_numpy(), "coef": 1.0, "kind": "le"}))
        out.append(pd.DataFrame({"relation": ids, "cell": le["t_cell"].to_numpy(), "coef": -1.0, "kind": "le"}))
        # total <= sum of parts
        heads = le.drop_duplicates("rid")
        sid = base + len(le) + le["rid"].to_numpy()
        out.append(pd.DataFrame({"relation": sid, "cell": le["cell"].to_numpy(), "coef": -1.0, "kind": "le"}))
        out.append(pd.DataFrame({"relation": base + len(le) + heads["rid"].to_numpy(),
                                 "cell": heads["t_cell"].to_numpy(), "coef": 1.0, "kind": "le"}))
    return pd.concat(out, ignore_index=True)


def _chain_relations(cells: pd.DataFrame) -> pd.DataFrame:
    """Terms of the decision chain's orderings (sum of the left stages <= the right stage)."""
    link = ["family", "jurisdiction", "period", "race_ethnicity", "subgroup"]
    cells = cells[cells["family"] == "stages"]
    out = []
    nxt = 0
    for left, right in CHAIN_ORDER:
        big = cells.loc[cells["stage"] == right, [*link, "cell", "value"]].rename(
            columns={"cell": "b_cell", "value": "b_value"})
        small = cells.loc[cells["stage"].isin(left), [*link, "cell", "value"]].merge(big, on=link)
        if small.empty:
            continue
        small["rid"] = nxt + small.groupby("b_cell", sort=False).ngroup()
        holds = small.groupby("rid")["value"].transform("sum") <= small["b_value"]
        small = small[holds.to_numpy()]
        heads = small.drop_duplicates("rid")
        out.append(pd.DataFrame({"relation": small["rid"], "cell": small["cell"], "coef": 1.0, "kind": "le"}))
        out.append(pd.DataFrame({"relation": heads["rid"], "cell": heads["b_cell"], "coef": -1.0, "kind": "le"}))
        nxt = int(small["rid"].max()) + 1 if len(small) else nxt
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["relation", "cell", "coef", "kind"])


def _window_relations(cells: pd.DataFrame) -> pd.DataFrame:
    """Terms of the relations between pooled windows of a cell whose single years are not published.

    A window counts child-years, so it is the sum of its years; where the years are published that is
    the relation (see :func:`relations`). Where they are not (a county, a subgroup), a reader still
    knows that windows add up: the whole range FY2020-FY2025 is FY2020-FY2022 plus FY2023-FY2025. For
    every window, the largest windows inside it that do not overlap (longest first) either tile it
    (``window = sum of them``) or do not (``sum of them <= window``: the years left over are at least
    zero); every other window inside it is at most it.
    """
    stage_cells = cells[cells["family"] == "stages"]
    key = ["jurisdiction", "race_ethnicity", "subgroup", "stage"]
    single = stage_cells["first_year"] == stage_cells["last_year"]
    has_single = stage_cells[single][key].drop_duplicates().assign(_s=True)
    pooled = stage_cells[~single].merge(has_single, on=key, how="left")
    pooled = pooled[pooled["_s"].isna()]
    if pooled.empty:
        return pd.DataFrame(columns=["relation", "cell", "coef", "kind"])
    spans = pooled.drop_duplicates("period").set_index("period")[["first_year", "last_year"]]
    wide = pooled.pivot_table(index=key, columns="period", values="cell", aggfunc="first")
    out, nxt = [], 0

    def add(total: str, parts: list[str], kind: str) -> None:
        nonlocal nxt
        sub = wide[[total, *parts]].dropna()
        if sub.empty:
            return
        rid = nxt + np.arange(len(sub))
        nxt += len(sub)
        out.append(pd.DataFrame({"relation": rid, "cell": sub[total].to_numpy(), "coef": -1.0, "kind": kind}))
        for p in parts:
            out.append(pd.DataFrame({"relation": rid, "cell": sub[p].to_numpy(), "coef": 1.0, "kind": kind}))

    for v, (f, last) in spans.iterrows():
        inside = spans[(spans["first_year"] >= f) & (spans["last_year"] <= last) & (spans.index != v)]
        inside = inside.assign(n=inside["last_year"] - inside["first_year"]).sort_values(
            ["n", "first_year"], ascending=[False, True])
        chosen, taken = [], set()
        for w, r in inside.iterrows():
            years = set(range(int(r["first_year"]), int(r["last_year"]) + 1))
            if not years & taken:
                chosen.append(w)
                taken |= years
        if not chosen:
            continue
        add(v, chosen, "eq" if len(taken) == last - f + 1 else "le")
        for w in inside.index.difference(chosen):
            add(v, [w], "le")
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["relation", "cell", "coef", "kind"])


def relations(cells: pd.DataFrame, *, exclusive_groups: bool = True) -> disclosure.Relations:
    """Every linear relation between the cells that a reader of the release could use.

    * groups: all children = sum of the groups (unknown race included) when the scheme's groups are
      mutually exclusive; otherwise each group <= all children;
    * windows: a pooled window = sum of its single years (child-years, exact by construction); where
      the single years are not published, the windows inside a window add up to it
      (:func:`_window_relations`);
    * jurisdictions: the state = sum of the counties where that holds on the data, else
      county <= state <= sum of counties;
    * subgroups: all children = sum of the age groups (and of the sexes) where that holds, else the
      same inequalities (a child can turn 5 between two reports of one year);
    * the decision chain (:data:`CHAIN_ORDER`).
    """
    frames = []
    jp = ["family", "jurisdiction", "period", "subgroup", "stage"]
    is_all = (cells["race_ethnicity"] == ALL).to_numpy()
    if exclusive_groups:
        frames.append(_sum_relations(cells, part_mask=~is_all, total_mask=is_all, link=jp))
    else:
        frames.append(_sum_relations(cells.assign(value=0), part_mask=~is_all, total_mask=is_all, link=jp)
                      .pipe(lambda t: t[t["kind"] == "le"]))
    # windows = sum of their years
    stage_cells = cells[cells["family"] == "stages"]  # only stage counts are per year (child-years)
    single = (stage_cells["first_year"] == stage_cells["last_year"]).to_numpy()
    singles = stage_cells[single]
    key = ["jurisdiction", "race_ethnicity", "subgroup", "stage"]
    wins = stage_cells.loc[~single, [*key, "cell", "first_year", "last_year"]]
    if len(wins):
        m = wins.merge(singles[[*key, "cell", "first_year"]].rename(columns={"cell": "y_cell", "first_year": "y"}),
                       on=key)
        m = m[(m["y"] >= m["first_year"]) & (m["y"] <= m["last_year"])]
        rid = m.groupby("cell", sort=False).ngroup().to_numpy()
        heads = m.drop_duplicates("cell")
        hid = rid[~m.duplicated("cell").to_numpy()]
        frames.append(pd.concat([
            pd.DataFrame({"relation": rid, "cell": m["y_cell"].to_numpy(), "coef": 1.0, "kind": "eq"}),
            pd.DataFrame({"relation": hid, "cell": heads["cell"].to_numpy(), "coef": -1.0, "kind": "eq"})]))
    frames.append(_window_relations(cells))
    # counties and the state
    is_state = (cells["jurisdiction"] == STATE).to_numpy()
    frames.append(_sum_relations(cells, part_mask=~is_state, total_mask=is_state,
                                 link=["family", "period", "race_ethnicity", "subgroup", "stage"]))
    # subgroups: each breakdown's levels and all children
    sub_all = (cells["subgroup"] == SUBGROUP_ALL).to_numpy()
    for b in sorted({s.split(":", 1)[0] for s in cells["subgroup"] if s != SUBGROUP_ALL}):
        part = cells["subgroup"].str.startswith(b + ":").to_numpy()
        frames.append(_sum_relations(cells, part_mask=part, total_mask=sub_all,
                                     link=["family", "jurisdiction", "period", "race_ethnicity", "stage"]))
    frames.append(_chain_relations(cells))
    frames.extend(survival_relation_terms(cells))
    return _combine(frames, cells.set_index("cell")["value"])


def _combine(frames: list[pd.DataFrame], values: pd.Series) -> disclosure.Relations:
    """Number the relations of every frame and keep those that hold on the true values (a relation
    that does not hold is not one a reader could use, and would make the audit infeasible)."""
    terms, kinds, offset = [], [], 0
    for f in frames:
        if f is None or f.empty:
            continue
        f = f.copy()
        codes, uniq = pd.factorize(f["relation"])
        f["relation"] = codes + offset
        kinds.append(f.drop_duplicates("relation").set_index("relation")["kind"])
        terms.append(f[["relation", "cell", "coef"]])
        offset += len(uniq)
    t = pd.concat(terms, ignore_index=True).astype({"relation": "int64", "cell": "int64", "coef": "float64"})
    kind = pd.concat(kinds).astype(str)
    lhs = (t["cell"].map(values) * t["coef"]).groupby(t["relation"]).sum()
    k = kind.reindex(lhs.index)
    holds = lhs.index[((k == "eq") & (lhs == 0)) | ((k == "le") & (lhs <= 0))]
    t = t[t["relation"].isin(holds)]
    codes, uniq = pd.factorize(t["relation"], sort=True)
    kind = pd.Series(kind.reindex(uniq).to_numpy(), index=np.arange(len(uniq)), name="kind")
    return disclosure.Relations(terms=t.assign(relation=codes).reset_index(drop=True), kind=kind)


# --------------------------------------------------------------------------- costs
def cell_costs(cells: pd.DataFrame) -> np.ndarray:
    """What hiding each cell costs a reader, for the optimal secondary suppression (``docs/methods.md``,
    "What hiding costs").

    ``cost = (1 + ln(1 + count)) x 20 (the whole range, every age and sex: the numbers each page leads
    with) x 1000 (all children, every age and sex) or x 10 (all children of one age group or sex)
    x 3 (the state) x 100 (a count above 50)``, each factor where it applies. A small race-group count of
    one county in a three-year window costs about 2; the state's all-children reports over the whole
    range about 10^8. The protection picks, for each small count, the cheapest cells that protect it, so
    totals, the whole range and large counts are hidden only where nothing cheaper protects.
    """
    v = cells["value"].to_numpy(dtype=float)
    cost = 1.0 + np.log1p(np.maximum(v, 0.0))
    whole = ((cells["first_year"] == cells["first_year"].min())
             & (cells["last_year"] == cells["last_year"].max())).to_numpy()
    every = (cells["subgroup"] == SUBGROUP_ALL).to_numpy()
    is_all = (cells["race_ethnicity"] == ALL).to_numpy()
    cost *= np.where(whole & every, 20.0, 1.0)
    cost *= np.where(is_all & every, 1000.0, np.where(is_all, 10.0, 1.0))
    cost *= np.where((cells["jurisdiction"] == STATE).to_numpy(), 3.0, 1.0)
    cost *= np.where(v > 50, 100.0, 1.0)
    return cost


# --------------------------------------------------------------------------- the release
@dataclass
class Release:
    """A protected release: published cells (hidden values missing), the public population and the audit.

    Attributes
    ----------
    cells : :data:`RELEASE_COLUMNS`; ``count`` is a nullable integer, missing where ``suppressed``.
    population : ``jurisdiction``, ``period``, ``race_ethnicity``, ``subgroup``, ``population``
        (census child counts summed over the window's years: child-years). Public data.
    audit : one row per hidden cell, the feasible interval a reader can compute (no values).
    stats : time-in-care statistics whose cells are all published
        (:data:`equity_helpers.release.survival.STAT_COLUMNS`).
    days : days in care per place, year and group (the base of the P5 moves rate).
    scheme, first_year, last_year, protection : how the release was made.
    by_rule : how many hidden cells the small-number rule itself hides (the rest protect them).
    """

    cells: pd.DataFrame
    population: pd.DataFrame
    audit: pd.DataFrame
    stats: pd.DataFrame
    days: pd.DataFrame
    scheme: str
    first_year: int
    last_year: int
    protection: disclosure.Protection
    by_rule: int = 0
    _measures: dict = field(default_factory=dict, repr=False)

    def price(self) -> dict[str, int]:
        """What the protection costs the reader: cells published, hidden, hidden by the small-number rule
        and hidden beyond it (to protect those), over the whole release. Only these release-wide totals
        are told, never per place (a place with nothing hidden beyond the rule would tell a reader that
        each of its hidden counts is at most 10)."""
        hidden = int(self.cells["suppressed"].sum())
        return {"cells": int(len(self.cells)), "hidden": hidden, "hidden_by_rule": int(self.by_rule),
                "hidden_beyond_rule": hidden - int(self.by_rule)}

    def describe_price(self) -> str:
        """The price in one plain sentence, for footers."""
        p = self.price()
        return (f"{p['hidden']:,} of the release's {p['cells']:,} numbers are hidden: {p['hidden_by_rule']:,} "
                f"by the small-number rule and {p['hidden_beyond_rule']:,} more so that those cannot be "
                "worked out.")

    # ---- selection
    @property
    def periods(self) -> list[str]:
        return list(dict.fromkeys(self.cells["period"]))

    def window(self, first_year: int, last_year: int) -> str:
        """The label of a published window, or a ParameterError naming the ones offered."""
        label = Window(first_year, last_year).label
        if label not in set(self.cells["period"]):
            offered = ", ".join(sorted(set(self.cells["period"])))
            raise ParameterError(f"Years {first_year}-{last_year} are not a published window. Published: {offered}.")
        return label

    def has(self, jurisdiction: str, first_year: int, last_year: int) -> bool:
        """Whether the release publishes this place over these years (single years: the state only)."""
        label = Window(first_year, last_year).label
        c = self.cells[self.cells["family"] == "stages"]  # federal cells of one year are not a published year
        return bool(((c["jurisdiction"] == jurisdiction) & (c["period"] == label)).any())

    def counts(self, *, subgroup: str = SUBGROUP_ALL, periods: Sequence[str] | None = None,
               family: str = "stages") -> pd.DataFrame:
        """Published cells in :func:`equity_helpers.stage_counts` form (``period`` is a window label),
        with ``suppressed``; hidden counts are missing."""
        c = self.cells[(self.cells["subgroup"] == subgroup) & (self.cells["family"] == family)]
        if periods is not None:
            c = c[c["period"].isin(list(periods))]
        return c[["jurisdiction", "period", "race_ethnicity", "stage", "count", "base", "suppressed"]].reset_index(
            drop=True)

    def measures(self, *, reference: str = "white", subgroup: str = SUBGROUP_ALL, policy=None,
                 unknown: str = "exclude", adjust: str = "holm") -> pd.DataFrame:
        """Every measure for every jurisdiction, published window, group and stage of a subgroup.

        Computed from published cells only (cached per reference, subgroup, unknown-race convention
        and adjustment; see :func:`equity_helpers.metrics.rates.measures`); a measure that needs a hidden
        count is hidden.
        """

        key = (reference, subgroup, unknown, adjust)
        if key not in self._measures:
            pop = self.population[self.population["subgroup"] == subgroup].drop(columns="subgroup")
            pol = policy or DEFAULT_POLICY
            m = _measures(self.counts(subgroup=subgroup), pop if len(pop) else None, reference=reference, policy=pol,
                          unknown=unknown, adjust=adjust)
            spans = self.cells.drop_duplicates("period").set_index("period")[["first_year", "last_year"]]
            m.insert(2, "first_year", m["period"].map(spans["first_year"]).astype(int))
            m.insert(3, "last_year", m["period"].map(spans["last_year"]).astype(int))
            self._measures[key] = m
        return self._measures[key]

    def hidden_share(self, *, jurisdiction: str, periods: Sequence[str] | None = None,
                     subgroup: str = SUBGROUP_ALL) -> float:
        """Share of a place's non-zero counts (decision points, groups) that are hidden.

        Zeros are always shown and say little, so they are left out: a hidden count is never zero, so
        the share is hidden / (hidden + shown non-zero)."""
        c = self.cells[(self.cells["jurisdiction"] == jurisdiction) & (self.cells["subgroup"] == subgroup)
                       & (self.cells["family"] == "stages")]
        c = c[c["stage"].map(lambda s: STAGES[s].decision_point if s in STAGES else True).astype(bool)]
        if periods is not None:
            c = c[c["period"].isin(list(periods))]
        c = c[c["suppressed"] | (c["count"].fillna(0) > 0)]
        return float(c["suppressed"].mean()) if len(c) else 0.0

    # ---- files
    def write(self, folder: str | Path) -> Path:
        """Write ``release.csv`` (cells), ``release_population.csv`` and ``release_audit.csv``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.cells.to_csv(folder / "release.csv", index=False)
        self.population.to_csv(folder / "release_population.csv", index=False)
        self.audit.to_csv(folder / "release_audit.csv", index=False)
        self.stats.to_csv(folder / "release_stats.csv", index=False)
        self.days.to_csv(folder / "release_days.csv", index=False)
        meta = pd.Series({"scheme": self.scheme, "first_year": self.first_year, "last_year": self.last_year,
                          "by_rule": self.by_rule, **{f"protection.{k}": v for k, v in self.protection.__dict__.items()}})
        meta.to_csv(folder / "release_meta.csv", header=False)
        return folder / "release.csv"

    @classmethod
    def read(cls, folder: str | Path) -> "Release":
        """Read a release written by :meth:`write` (a batch's reports folder)."""
        folder = Path(folder)
        meta = pd.read_csv(folder / "release_meta.csv", header=None, index_col=0).iloc[:, 0]
        cells = pd.read_csv(folder / "release.csv", dtype={"jurisdiction": str, "period": str, "base": str,
                                                           "race_ethnicity": str, "subgroup": str, "stage": str},
                            keep_default_na=False, na_values=[""])
        cells["count"] = cells["count"].astype("Int64")
        cells["base"] = cells["base"].fillna("")
        pop = pd.read_csv(folder / "release_population.csv", dtype={"period": str, "jurisdiction": str,
                                                                    "race_ethnicity": str, "subgroup": str},
                          keep_default_na=False)
        audit = pd.read_csv(folder / "release_audit.csv")
        stats = pd.read_csv(folder / "release_stats.csv", dtype={"period": str, "exit_type": str, "reference": str},
                            keep_default_na=False, na_values=[""])
        stats[["exit_type", "reference"]] = stats[["exit_type", "reference"]].fillna("")
        days = pd.read_csv(folder / "release_days.csv", dtype={"period": str})
        prot = disclosure.Protection(**{k.split(".", 1)[1]: int(v) if str(v).lstrip("-").isdigit() else
                                        (str(v) == "True") for k, v in meta.items() if k.startswith("protection.")})
        return cls(cells=cells, population=pop, audit=audit, stats=stats, days=days, scheme=str(meta["scheme"]),
                   first_year=int(meta["first_year"]), last_year=int(meta["last_year"]), protection=prot,
                   by_rule=int(meta.get("by_rule", 0)))


def _population(data, *, scheme: str, windows: Sequence[Window], breakdowns: Sequence[str]) -> pd.DataFrame:
    parts = [population_table(data, scheme=scheme).assign(subgroup=SUBGROUP_ALL)]
    for b in breakdowns:
        try:
            p = population_table(data, scheme=scheme, by=(b,))
        except ParameterError:
            continue
        parts.append(p.assign(subgroup=b + ":" + p.pop(b).astype(str)))
    pop = pd.concat(parts, ignore_index=True)
    pop["period"] = pop["period"].astype(int)
    frames = []
    for w in windows:
        p = pop[pop["period"].between(w.first, w.last)]
        g = p.groupby(["jurisdiction", "race_ethnicity", "subgroup"], observed=True).agg(
            population=("population", "sum"), years=("period", "nunique")).reset_index()
        g = g[g["years"] == len(w.years)].drop(columns="years")
        frames.append(g.assign(period=w.label))
    return pd.concat(frames, ignore_index=True)[["jurisdiction", "period", "race_ethnicity", "subgroup", "population"]]


"""Environment variable naming the folder of protected releases kept between runs (see
:func:`release_cache_dir`); ``off`` turns the cache off."""


def release_cache_dir() -> Path | None:
    """Where protected releases are kept between runs: ``$EQUITY_WORKBOOK_CACHE``, else
    ``~/.cache/equity-workbook/releases``; ``None`` when the variable is ``off``.

    Protecting a state's release takes minutes (a linear program per hidden cell); notebooks, widget
    panels and batch runs on the same data reuse it. The cache holds only what a release publishes
    (protected aggregate counts and the audit's intervals), never child-level rows, and is private
    to the user (folder mode 0700).
    """
    env = settings.CACHE.get()
    if env and env.lower() == "off":
        return None
    return Path(env) if env else Path.home() / ".cache" / "equity-workbook" / "releases"


RELEASE_CODE = ("equity_helpers.release.table", "equity_helpers.release.survival", "equity_helpers.privacy.disclosure",
                "equity_helpers.privacy.patterns", "equity_helpers.counting.stages", "equity_helpers.metrics.survival", "equity_helpers.counting.engine")
"""The modules whose code builds and protects a release (a change to any of them protects the release anew)."""


def _fingerprint(data, **settings) -> str:
    """A key for the release of these data and settings: a hash of the validated tables' contents,
    the settings and the code that protects them (a change to any of them builds a new release)."""
    h = hashlib.sha256()
    if hasattr(data, "content_hash"):  # a DuckDB extract hashes its tables in SQL, without reading them out
        h.update(data.content_hash())
    else:
        for name in ("children", "reports", "episodes", "population", "counts", "dv_services", "meetings"):
            t = getattr(data, name, None)
            h.update(name.encode())
            if t is not None:
                h.update(",".join(map(str, t.columns)).encode())
                h.update(pd.util.hash_pandas_object(t, index=False).to_numpy().tobytes())
    h.update(repr((data.first_year, data.last_year, str(data.data_end), sorted(settings.items()))).encode())
    h.update(code_fingerprint(*RELEASE_CODE).encode())
    return h.hexdigest()[:32]


def build_release(data, *, scheme: str = "hispanic_first", first_year: int | None = None,
                  last_year: int | None = None, extra_windows: Iterable[tuple[int, int]] = (),
                  breakdowns: Sequence[str] | None = None, references: Sequence[str] | None = None,
                  protection: disclosure.Protection | None = None,
                  single_year_places: Sequence[str] = SINGLE_YEAR_PLACES, cache: bool = True,
                  progress: Callable[[int, str], None] | None = None) -> Release:
    """Build, protect and audit the release table of a validated dataset, or read the same release
    from the cache (:func:`release_cache_dir`) when these data and settings were protected before.

    ``progress(i, step)`` is told when each of the :data:`BUILD_STEPS` of a build starts (not called when the
    release is read from the cache): a notebook opened for the first time shows a bar while it waits.

    Raises
    ------
    equity_helpers.privacy.disclosure.DisclosureError
        If the audit fails (see :func:`_build_release`).
    """
    protection = protection or disclosure.Protection()
    breakdowns = default_breakdowns(data) if breakdowns is None else tuple(breakdowns)
    folder = release_cache_dir() if cache else None
    fy = data.first_year if first_year is None else int(first_year)
    ly = data.last_year if last_year is None else int(last_year)
    standard = set(windows_for(fy, ly))
    # a chosen span that is already a standard window changes nothing (one release, one cache entry)
    extra_windows = sorted({(int(f), int(l)) for f, l in extra_windows} - {(w.first, w.last) for w in standard})
    settings = dict(scheme=scheme, first_year=fy, last_year=ly, extra_windows=extra_windows,
                    breakdowns=list(breakdowns),
                    references=list(references or []), protection=protection.as_dict(),
                    single_year_places=list(single_year_places))
    if folder is not None:
        here = folder / _fingerprint(data, **settings)
        if (here / "release_meta.csv").exists():
            try:
                return Release.read(here)
            except Exception:  # a damaged entry is rebuilt
                shutil.rmtree(here, ignore_errors=True)
    rel = _build_release(data, scheme=scheme, first_year=fy, last_year=ly,
                         extra_windows=extra_windows, breakdowns=breakdowns, references=references,
                         protection=protection, single_year_places=single_year_places, progress=progress)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=".building-"))
        try:
            rel.write(tmp)
            os.replace(tmp, here)
        except OSError:  # another run wrote it first
            shutil.rmtree(tmp, ignore_errors=True)
    return rel


def _build_release(data, *, scheme: str, first_year: int, last_year: int,
                   extra_windows: Iterable[tuple[int, int]], breakdowns: Sequence[str],
                   references: Sequence[str] | None, protection: disclosure.Protection,
                   single_year_places: Sequence[str] = SINGLE_YEAR_PLACES,
                   progress: Callable[[int, str], None] | None = None) -> Release:
    """Build, protect and audit the release table of a validated dataset (no cache; ``progress`` as in
    :func:`build_release`).

    Raises
    ------
    equity_helpers.privacy.disclosure.DisclosureError
        If the audit finds a hidden cell a reader could pin or narrow below the protection level
        (never expected: :func:`~equity_helpers.privacy.disclosure.protect` adds suppression until it passes;
        the check is the package auditing itself).
    """
    fy, ly = first_year, last_year
    progress = progress or (lambda i, step: None)
    wins = windows_for(fy, ly, extra=extra_windows)
    progress(0, BUILD_STEPS[0])
    cells = release_cells(data, scheme=scheme, windows=wins, breakdowns=breakdowns,
                          single_year_places=single_year_places,
                          equity_windows={Window(fy, ly), *(Window(int(f), int(l)) for f, l in extra_windows)})
    stats = pd.DataFrame(columns=["family", "jurisdiction", "period", "race_ethnicity", "stage", "needs"])
    days = pd.DataFrame(columns=DAYS_COLUMNS)
    if data.child_level and data.episodes is not None:
        progress(1, BUILD_STEPS[1])
        places = [STATE, *data.jurisdictions]
        groups = list(get_scheme(scheme).groups)
        references = list(references or [get_scheme(scheme).default_reference])
        # time in care: the whole range and the chosen years (entry cohorts need several years)
        extra = sorted({Window(int(f), int(l)) for f, l in extra_windows} | {Window(fy, ly)})
        tic, stats = survival_release(data, scheme=scheme, windows=extra, places=places, groups=groups,
                                      pairwise_windows=extra, references=references)
        fed, days = federal_release(data, scheme=scheme, years=federal_years(data, extra), places=places)
        more = pd.concat([tic, fed], ignore_index=True)
        more.insert(0, "cell", np.arange(len(cells), len(cells) + len(more), dtype="int64"))
        cells = pd.concat([cells, more[["cell", *CELL_COLUMNS]]], ignore_index=True)
    progress(2, BUILD_STEPS[2])
    rel = relations(cells, exclusive_groups=get_scheme(scheme).exclusive)
    progress(3, BUILD_STEPS[3])
    strict = cells["subgroup"].str.startswith(tuple(f"{b}:" for b in STRICT_BREAKDOWNS)).to_numpy()
    protected, audit = disclosure.protect(cells, rel, protection=protection, cost=cell_costs(cells),
                                          primary=disclosure.primary_cells(cells, protection, strict=strict))
    if not audit["ok"].all():
        bad = int((~audit["ok"]).sum())
        raise disclosure.DisclosureError(disclosure.AUDIT_FAILED.format(n=bad))
    progress(4, BUILD_STEPS[4])
    published = protected.rename(columns={"hidden": "suppressed"})
    published["count"] = published["value"].astype("Int64").mask(published["suppressed"])
    published = published[RELEASE_COLUMNS].reset_index(drop=True)
    # what a reader can work out about each hidden cell (nothing more: no values, no reasons)
    safe_audit = audit.merge(protected[["cell", *CELL_KEYS]], on="cell")[[*CELL_KEYS, "low", "high"]]
    # two values each hidden cell can take; vertices of linear programs, rounded off their last-place noise
    safe_audit[["low", "high"]] = safe_audit[["low", "high"]].round(9)
    return Release(cells=published, population=_population(data, scheme=scheme, windows=wins, breakdowns=breakdowns),
                   audit=safe_audit, stats=visible_stats(stats, published, max_count=protection.max_count), days=days, scheme=scheme, first_year=fy,
                   last_year=ly, protection=protection, by_rule=int((protected["reason"] == "primary").sum()))
