"""Canonical tables -> tidy stage counts: unique children per jurisdiction, period, group and stage.

Counting rules (``docs/architecture.md``, "Canonical tables"; ``docs/methods.md`` section 0):

* A child is counted **once** per stage, period and jurisdiction. Statewide figures
  (jurisdiction ``"Statewide"``) are counted from the records, not summed from counties, so a child
  seen in two counties is one child in the state.
* ``reported`` / ``screened_in`` / ``substantiated``: children with at least one report (screened
  in; with a substantiated or indicated finding) dated in the period.
* ``entered_care``: children with an episode starting in the period. The child's **first entry**
  in the period defines ``first_placement_kin``, ``first_placement_congregate`` and the entry
  cohort stages ``permanency_12m`` (exit to reunification, relative, guardianship or adoption
  within 365 days and before the 18th birthday, CFSR Round 4), ``reunified_12m`` and
  ``in_care_24m_plus`` (not exited within 730 days).
* ``exited``: children with an exit in the period; ``aged_out``: an exit by emancipation;
  ``exited_to_family``: an exit to reunification, relative or guardianship; ``reentry_12m``: the
  first such exit is followed by a new entry within 365 days.
* Stages that need follow-up (12 or 24 months) are only counted for periods whose end plus the
  follow-up is on or before the extract date, so incomplete cohorts never look better than they are.
* Ages are taken at the event (the report, the entry or the exit); events at age 18 or over are
  outside the child population and are left out, and counted in ``attrs["excluded"]``.
* Decision-based bases are same-period counts (OJJDP matrix convention); an entry in a period
  need not come from a substantiation in the same period (on the sample state about one entrant in
  ten had none). ``entered_after_substantiation`` is the cohort-linked rate beside it: children
  whose first substantiated report in the period was followed, in the same place, by an entry to
  care on that day or within :data:`LINK_DAYS` (90) days. Its base, ``substantiated_followed``, is
  the period's substantiated children whose first finding came at least 90 days before the extract
  date (all of them, except in the last months of the data), so it is a true conditional rate and
  the latest year is not understated.

Extra dimensions (``by``) are any of ``age_group``, ``sex``, the optional equity flags of the
children table (``disability``, ``lgbtq``, ``immigrant_family``, ``tribal_affiliation``; not recorded
counts as ``unknown``) and the reports' caregiver domestic-violence note ``dv_involved``. A report's
note belongs to a child, place and year (:data:`REPORT_DIMS`): ``yes`` when any report about the child
there that year noted it, else ``no`` when any said no, else ``unknown``, and ``no_report`` for a child
counted there that year (an entry, an exit) without a report that year. ``dv_services`` is when the
family of a child whose report noted domestic violence received a partner's services
(:func:`dv_service_levels`; ``no_dv_note`` for the other children); ``meeting_at_report`` and
``meeting_at_removal`` are family team meetings around the report and the removal
(:mod:`equity_helpers.data.engagement`). So the levels of every breakdown add up to all children.
Every scheme also gets a ``race_ethnicity == "all"`` row: all children, whatever their group.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from equity_helpers.data.engagement import meeting_levels
from equity_helpers.data.linkage import service_timing
from equity_helpers.data.population import missing_cells
from equity_helpers.data.validate import ValidatedData
from equity_helpers.errors import ParameterError
from equity_helpers.schema import (
    ALL,
    FAMILY_EXITS,
    PERMANENT_EXITS,
    STAGES,
    STATE,
    SUBSTANTIATED_DISPOSITIONS,
    age_group_of,
    assign_groups,
    fiscal_year,
    get_scheme,
    period_bounds,
)

__all__ = ["stage_counts", "stage_counts_each", "population_table", "supported_stages", "EXTRA_DIMS", "LINK_DAYS",
           "REPORT_DIMS", "NO_REPORT", "NO_DV_NOTE", "report_levels", "dv_service_levels"]

EXTRA_DIMS = ("age_group", "sex", "disability", "lgbtq", "immigrant_family", "tribal_affiliation", "dv_involved",
              "dv_services", "meeting_at_report", "meeting_at_removal")
REPORT_DIMS = ("dv_involved", "dv_services", "meeting_at_report", "meeting_at_removal")
"""Breakdowns read from the reports, per child, place and year (see the module notes)."""
NO_REPORT = "no_report"
NO_DV_NOTE = "no_dv_note"
_OUTSIDE = {"dv_services": NO_DV_NOTE, "meeting_at_report": "not_screened_in", "meeting_at_removal": "no_entry"}
"""The level of children a record-derived breakdown says nothing about (they still add up to all children)."""
_LEVEL_ORDER = ("yes", "no", "unknown")


def dv_service_levels(reports: pd.DataFrame, services: pd.DataFrame, *, include_state: bool = True,
                      include_counties: bool = True) -> pd.DataFrame:
    """When families with caregiver domestic violence received the partner's services, per child, place and
    period: the timing (:func:`equity_helpers.data.linkage.service_timing`: ``before``, ``after_only``, ``none``,
    ``unlinked``) of the child's first report there that period that noted domestic violence; children
    with no such report: ``no_dv_note``. Columns ``child_id``, ``jurisdiction``, ``period``, ``dv_services``."""

    need = [c for c in ("dv_involved", "family_hash") if c not in reports]
    if need:
        raise ParameterError(f"The reports table has no {need} column(s); the partner's services cannot be linked.")
    noted = reports[reports["dv_involved"] == "yes"]
    timing = service_timing(noted[["report_id", "report_date", "family_hash"]], services)["dv_services"]
    r = noted[["child_id", "jurisdiction", "period", "report_date"]].assign(dv_services=timing.astype(str).to_numpy())
    r = r.sort_values("report_date", kind="stable")
    frames = []
    if include_counties:
        frames.append(r.drop_duplicates(["child_id", "jurisdiction", "period"]))
    if include_state:
        frames.append(r.drop_duplicates(["child_id", "period"]).assign(jurisdiction=STATE))
    return pd.concat(frames, ignore_index=True)[["child_id", "jurisdiction", "period", "dv_services"]]


def report_levels(reports: pd.DataFrame, column: str, *, include_state: bool = True,
                  include_counties: bool = True) -> pd.DataFrame:
    """A report column's level per child, place and period: ``child_id``, ``jurisdiction``, ``period``,
    ``column``: ``yes`` when any of the child's reports there that period says yes, else ``no`` when
    any says no, else ``unknown``. Statewide rows (``"Statewide"``) come from all the child's reports
    in the state that period."""
    if column not in reports:
        raise ParameterError(f"The reports table has no {column!r} column to break counts down by.")
    rank = reports[column].map({v: i for i, v in enumerate(_LEVEL_ORDER)}).fillna(len(_LEVEL_ORDER) - 1)
    r = reports[["child_id", "jurisdiction", "period"]].assign(_rank=rank.astype("int64").to_numpy())
    frames = []
    if include_counties:
        frames.append(r.groupby(["child_id", "jurisdiction", "period"], observed=True)["_rank"].min().reset_index())
    if include_state:
        frames.append(r.groupby(["child_id", "period"], observed=True)["_rank"].min().reset_index()
                      .assign(jurisdiction=STATE))
    out = pd.concat(frames, ignore_index=True)
    out[column] = np.asarray(_LEVEL_ORDER, dtype=object)[out.pop("_rank").to_numpy()]
    return out[["child_id", "jurisdiction", "period", column]]


def _check_by(by: Sequence[str]) -> list[str]:
    by = list(by)
    bad = [b for b in by if b not in EXTRA_DIMS]
    if bad:
        raise ParameterError(f"Cannot break counts down by {bad}; choose from {', '.join(EXTRA_DIMS)}.")
    return by


def supported_stages(data: ValidatedData, period: int) -> list[str]:
    """Stages whose follow-up window for ``period`` ends on or before the extract date."""
    end = pd.Timestamp(period_bounds(period, calendar=data.calendar)[1])
    return [s.name for s in STAGES.values()
            if end + pd.DateOffset(months=s.follow_up_months) <= data.data_end + pd.Timedelta(days=1)
            or s.follow_up_months == 0]


def _first(df: pd.DataFrame, date_col: str) -> pd.DataFrame:
    return df.sort_values(date_col, kind="stable").drop_duplicates(["child_id", "jurisdiction", "period"])


LINK_DAYS = 90
"""Days after a child's first substantiated report in a period within which an entry to care (in the
same place) counts for the cohort-linked rate ``entered_after_substantiation``."""


def _entered_after(first_sb: pd.DataFrame, epi: pd.DataFrame) -> pd.DataFrame:
    """Children of ``first_sb`` (first substantiation per child, place and period) who entered care in
    the same place on the report date or within :data:`LINK_DAYS` days after it."""
    m = first_sb.merge(epi[["child_id", "jurisdiction", "entry_date"]], on=["child_id", "jurisdiction"])
    gap = (m["entry_date"] - m["date"]).dt.days
    return m[(gap >= 0) & (gap <= LINK_DAYS)].drop_duplicates(["child_id", "jurisdiction", "period"])


def _level_events(rep: pd.DataFrame | None, epi: pd.DataFrame | None, data: ValidatedData,
                  births: pd.Series) -> pd.DataFrame:
    """Events (child_id, jurisdiction, period, stage, date) for one geographic level."""
    parts = []
    cols = ["child_id", "jurisdiction", "period", "date"]
    if rep is not None:
        r = rep.rename(columns={"report_date": "date"})
        parts.append(_first(r, "date")[cols].assign(stage="reported"))
        si = r[r["screened_in"] == 1]
        parts.append(_first(si, "date")[cols].assign(stage="screened_in"))
        sb = si[si["disposition"].isin(list(SUBSTANTIATED_DISPOSITIONS))]
        first_sb = _first(sb, "date")
        parts.append(first_sb[cols].assign(stage="substantiated"))
        if epi is not None:
            # the cohort-linked rate follows children whose first finding leaves LINK_DAYS before the extract date
            followed = first_sb[first_sb["date"] <= data.data_end - pd.Timedelta(days=LINK_DAYS)]
            parts.append(followed[cols].assign(stage="substantiated_followed"))
            parts.append(_entered_after(followed[cols], epi)[cols].assign(stage="entered_after_substantiation"))
    if epi is not None:
        e = epi.assign(period=fiscal_year(epi["entry_date"], calendar=data.calendar))
        e = e[e["period"].between(data.first_year, data.last_year)]
        first = _first(e.assign(date=e["entry_date"]), "date")
        parts.append(first[cols].assign(stage="entered_care"))
        parts.append(first.loc[first["first_placement"] == "kin", cols].assign(stage="first_placement_kin"))
        parts.append(first.loc[first["first_placement"] == "congregate", cols]
                     .assign(stage="first_placement_congregate"))
        stay = (first["exit_date"] - first["entry_date"]).dt.days
        # CFSR Round 4: a discharge at 18 or older is not permanency
        eighteen = first["child_id"].map(births) + pd.DateOffset(years=18)
        minor = first["exit_date"] < eighteen
        perm = first["exit_reason"].isin(list(PERMANENT_EXITS)) & (stay < 365) & minor
        parts.append(first.loc[perm, cols].assign(stage="permanency_12m"))
        reun = (first["exit_reason"] == "reunification") & (stay < 365) & minor
        parts.append(first.loc[reun, cols].assign(stage="reunified_12m"))
        long_ = first["exit_date"].isna() | (stay >= 730)
        parts.append(first.loc[long_, cols].assign(stage="in_care_24m_plus"))

        x = epi[epi["exit_date"].notna()]
        x = x.assign(period=fiscal_year(x["exit_date"], calendar=data.calendar), date=x["exit_date"])
        x = x[x["period"].between(data.first_year, data.last_year)]
        parts.append(_first(x, "date")[cols].assign(stage="exited"))
        parts.append(_first(x[x["exit_reason"] == "emancipation"], "date")[cols].assign(stage="aged_out"))
        fam = _first(x[x["exit_reason"].isin(list(FAMILY_EXITS))], "date")
        parts.append(fam[cols].assign(stage="exited_to_family"))
        later = fam[["child_id", "jurisdiction", "period", "date"]].merge(
            epi[["child_id", "entry_date"]], on="child_id")
        back = later[(later["entry_date"] > later["date"])
                     & (later["entry_date"] <= later["date"] + pd.Timedelta(days=365))]
        back = back.drop_duplicates(["child_id", "jurisdiction", "period"])
        parts.append(back[cols].assign(stage="reentry_12m"))
    return pd.concat(parts, ignore_index=True)


def stage_counts(data: ValidatedData, *, scheme: str = "hispanic_first", by: Sequence[str] = (),
                 include_state: bool = True, include_counties: bool = True) -> pd.DataFrame:
    """Count unique children at every supported stage.

    Parameters
    ----------
    data : validated data. With child-level tables the counts are made from records; with only an
        aggregate ``counts`` table it is returned as it is (filtered to the analysis periods).
    scheme : race/ethnicity scheme (see :data:`equity_helpers.schema.SCHEMES`).
    by : extra dimensions, e.g. ``("age_group", "sex")``.
    include_state : add ``"Statewide"`` rows counted from the records.
    include_counties : keep the per-county rows.

    Returns
    -------
    DataFrame with columns ``jurisdiction``, ``period``, ``race_ethnicity``, the ``by`` columns,
    ``stage``, ``count`` (unique children), ``base`` (the stage's decision base, empty for none).
    Groups with a population but no events have explicit zero counts. ``attrs["excluded"]`` holds
    the number of events left out because the child was 18 or older at the event.

    See Also
    --------
    stage_counts_each : the same tables for several breakdowns, with the events found once.
    """
    return stage_counts_each(data, scheme=scheme, bys=[by], include_state=include_state,
                             include_counties=include_counties)[0]


def stage_counts_each(data: ValidatedData, *, scheme: str = "hispanic_first", bys: Sequence[Sequence[str]],
                      include_state: bool = True, include_counties: bool = True) -> list[pd.DataFrame]:
    """:func:`stage_counts` for several breakdowns at once: one table per ``by`` of ``bys``.

    The children's events are found, and their attributes and report levels attached, once for all
    the breakdowns; only the final tally and completion are made per breakdown. Each table is the one
    ``stage_counts(data, scheme=scheme, by=by, ...)`` gives.

    Parameters
    ----------
    data : validated data (see :func:`stage_counts`).
    scheme : race/ethnicity scheme (see :data:`equity_helpers.schema.SCHEMES`).
    bys : the breakdowns, each a sequence of extra dimensions (``()`` for none), e.g.
        ``[("age_group",), ("sex",), ("dv_involved",)]``.
    include_state : add ``"Statewide"`` rows counted from the records.
    include_counties : keep the per-county rows.

    Returns
    -------
    list of DataFrame
        The :func:`stage_counts` table of each breakdown, in the order of ``bys``.
    """
    bys = [_check_by(by) for by in bys]
    sch = get_scheme(scheme)
    if not data.child_level:
        return [_given_counts(data, include_state=include_state) for _ in bys]
    if hasattr(data, "count_events"):  # a DuckDB extract counts in SQL (equity_helpers.counting.engine)
        counted = data.count_events(scheme=sch, bys=bys, include_state=include_state,
                                    include_counties=include_counties)
        has_reports, has_episodes = data.has_table("reports"), data.has_table("episodes")
    else:
        counted = _count_events(data, sch, bys, include_state=include_state, include_counties=include_counties)
        has_reports, has_episodes = data.reports is not None, data.episodes is not None
    return [_complete(data, counts, sch, by, include_state=include_state, include_counties=include_counties,
                      has_reports=has_reports, has_episodes=has_episodes, excluded=excluded)
            for by, (counts, excluded) in zip(bys, counted)]


def _given_counts(data: ValidatedData, *, include_state: bool) -> pd.DataFrame:
    """The aggregate ``counts`` table of data without child-level tables, filtered to the analysis periods
    (with each stage's decision ``base`` when the table lacks it)."""
    if data.counts is None:
        raise ParameterError("No child-level tables and no counts table were supplied.")
    c = data.counts[data.counts["period"].between(data.first_year, data.last_year)].copy()
    if "base" not in c:
        c["base"] = c["stage"].map(lambda s: STAGES[s].decision_base if s in STAGES else None)
    c = c.drop(columns=["_row"], errors="ignore")
    if not include_state:
        c = c[c["jurisdiction"] != STATE]
    return c.reset_index(drop=True)


def _count_events(data: ValidatedData, sch, bys: list[list[str]], *, include_state: bool,
                  include_counties: bool) -> list[tuple[pd.DataFrame, int]]:
    """Unique children per place, period, group, ``by`` levels and stage, counted in pandas for each
    ``by`` of ``bys``: ``(counts, events left out at age 18 or older)`` per breakdown.

    The events, the children's attributes and the report levels of every dimension the breakdowns
    name are computed once; each breakdown is then a group-by of the same tagged events."""
    dims = list(dict.fromkeys(b for by in bys for b in by))
    ev = _events(data, include_state=include_state, include_counties=include_counties)
    ev = _with_child_dims(ev, data.children, dims)
    ev = _with_report_dims(ev, data, [b for b in dims if b in REPORT_DIMS], include_state=include_state,
                           include_counties=include_counties)
    age = (ev["date"] - ev["birth_date"]).dt.days / 365.25
    ev["age_group"] = age_group_of(np.floor(age.to_numpy()))
    adult = ev["age_group"] == "18+"
    excluded = int(adult.sum())
    kept = ["child_id", "jurisdiction", "period", "stage", "age_group", *(b for b in dims if b != "age_group")]
    tagged = _tag_groups(ev.loc[~adult, kept], data.children, sch)
    return [(_tally(tagged, by), excluded) for by in bys]


def _events(data: ValidatedData, *, include_state: bool, include_counties: bool) -> pd.DataFrame:
    """First events (:func:`_level_events`) of the counties and of the state, counted from the records."""
    rep = data.reports
    epi = data.episodes
    levels = []
    births = data.children.set_index("child_id")["birth_date"]  # one lookup for both levels
    if include_counties:
        levels.append(_level_events(rep, epi, data, births))
    if include_state:
        levels.append(_level_events(None if rep is None else rep.assign(jurisdiction=STATE),
                                    None if epi is None else epi.assign(jurisdiction=STATE), data, births))
    return pd.concat(levels, ignore_index=True)


def _with_child_dims(ev: pd.DataFrame, kids: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """``ev`` with the child's ``birth_date``, ``sex`` and the children-table columns of ``dims``
    (not recorded: ``unknown``)."""
    attrs = _check_child_columns(dims, kids.columns)
    ev = ev.merge(kids[attrs], on="child_id", how="left")
    for b in dims:
        if b in kids and b not in ("age_group", "sex"):
            ev[b] = ev[b].fillna("unknown")
    return ev


def _check_child_columns(dims: Sequence[str], columns: Sequence[str]) -> list[str]:
    """The children-table columns counting by ``dims`` reads (``child_id``, ``birth_date``, ``sex`` and the
    dimensions recorded per child).

    Raises
    ------
    ParameterError
        If the children table (with ``columns``) lacks one of them.
    """
    attrs = ["child_id", "birth_date", "sex"] + [b for b in dims if b not in ("age_group", "sex", *REPORT_DIMS)]
    missing = [a for a in attrs if a not in columns]
    if missing:
        raise ParameterError(f"The children table has no {missing} column to break counts down by.")
    return attrs


def _with_report_dims(ev: pd.DataFrame, data: ValidatedData, dims: list[str], *, include_state: bool,
                      include_counties: bool) -> pd.DataFrame:
    """``ev`` with the level of each report breakdown of ``dims`` (:data:`REPORT_DIMS`) per child, place and
    period (:func:`_report_dim_levels`); children the breakdown says nothing about get its outside level."""
    if not dims:
        return ev
    levels = _key_levels(ev)
    at = _row_keys(ev, levels)
    for b in dims:
        lv = _report_dim_levels(data, b, include_state=include_state, include_counties=include_counties)
        ev[b] = pd.Series(_matched(at, lv, b, levels), index=ev.index).fillna(_OUTSIDE.get(b, NO_REPORT))
    return ev


_KeyLevels = tuple[pd.Index, pd.Index, int, int]
"""The children, the places, the first period and the number of periods that :func:`_row_keys` numbers."""


def _key_levels(ev: pd.DataFrame) -> _KeyLevels:
    """The levels of the ``child_id``, ``jurisdiction`` and ``period`` keys of ``ev`` (see :func:`_row_keys`)."""
    period = ev["period"].to_numpy(dtype="int64")
    first = int(period.min()) if len(period) else 0
    n = int(period.max()) - first + 1 if len(period) else 0
    return pd.Index(pd.unique(ev["child_id"])), pd.Index(pd.unique(ev["jurisdiction"])), first, n


def _row_keys(frame: pd.DataFrame, levels: _KeyLevels) -> np.ndarray:
    """One integer per row naming its ``child_id``, ``jurisdiction`` and ``period`` among ``levels``
    (``-1`` for a row outside them): an integer key is matched many times faster than three columns."""
    children, places, first, n = levels
    child = children.get_indexer(frame["child_id"]).astype("int64")
    place = places.get_indexer(frame["jurisdiction"]).astype("int64")
    period = frame["period"].to_numpy(dtype="int64") - first
    inside = (child >= 0) & (place >= 0) & (period >= 0) & (period < n)
    return np.where(inside, (child * len(places) + place) * n + period, -1)


def _matched(keys: np.ndarray, table: pd.DataFrame, column: str, levels: _KeyLevels) -> np.ndarray:
    """``table[column]`` of the row with each of ``keys`` (:func:`_row_keys`), NaN where there is none; a
    left join on child, place and period (raises if ``table`` has two rows for one of them)."""
    own = _row_keys(table, levels)
    inside = own >= 0
    pos = pd.Index(own[inside]).get_indexer(keys)
    values = table[column].to_numpy(dtype=object)[inside]
    out = np.full(len(keys), np.nan, dtype=object)
    hit = pos >= 0
    out[hit] = values[pos[hit]]
    return out


def _report_dim_levels(data: ValidatedData, b: str, *, include_state: bool, include_counties: bool) -> pd.DataFrame:
    """A report breakdown's level per child, place and period: ``child_id``, ``jurisdiction``, ``period``, ``b``
    (:func:`equity_helpers.data.engagement.meeting_levels`, :func:`dv_service_levels` or :func:`report_levels`)."""
    rep = data.reports
    if rep is None:
        raise ParameterError(f"There is no reports table to break counts down by {b!r}.")
    if b in ("meeting_at_report", "meeting_at_removal"):
        if getattr(data, "meetings", None) is None:
            raise ParameterError("No family meetings table (meetings) was supplied.")
        return meeting_levels(b, reports=rep, episodes=data.episodes, meetings=data.meetings,
                              calendar=data.calendar, first_year=data.first_year, last_year=data.last_year,
                              include_state=include_state, include_counties=include_counties, state=STATE)
    if b == "dv_services":
        if getattr(data, "dv_services", None) is None:
            raise ParameterError("No domestic violence partner's services (dv_services) were supplied.")
        return dv_service_levels(rep, data.dv_services, include_state=include_state,
                                 include_counties=include_counties)
    return report_levels(rep, b, include_state=include_state, include_counties=include_counties)


def _tag_groups(ev: pd.DataFrame, kids: pd.DataFrame, sch) -> pd.DataFrame:
    """``ev`` with ``race_ethnicity``: a row per event and group of the child in the scheme, and a row per
    event in the ``all`` group."""
    groups = assign_groups(kids, scheme=sch)
    return pd.concat([ev.merge(groups, on="child_id", how="inner"), ev.assign(race_ethnicity=ALL)],
                     ignore_index=True)


def _tally(tagged: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Events of :func:`_tag_groups` counted per place, period, group, ``by`` levels and stage. With a report
    breakdown in ``by`` the period is ``int64`` (the reports' levels are joined on an integer period)."""
    keys = ["jurisdiction", "period", "race_ethnicity", *by]
    counts = tagged.groupby(keys + ["stage"], observed=True).size().rename("count").reset_index()
    if any(b in REPORT_DIMS for b in by):
        counts["period"] = counts["period"].astype("int64")
    return counts


def _complete(data, counts: pd.DataFrame, sch, by: list[str], *, include_state: bool, include_counties: bool,
              has_reports: bool, has_episodes: bool, excluded: int) -> pd.DataFrame:
    """The tidy stage-count table from counted events: explicit zeros for groups with a population,
    every stage in registry order, only the stages each period's follow-up supports."""
    keys = ["jurisdiction", "period", "race_ethnicity", *by]
    wide = counts.pivot_table(index=keys, columns="stage", values="count", fill_value=0, aggfunc="sum")
    # zero rows for groups that have a population but no events
    try:
        pop = population_table(data, scheme=sch, by=by, include_state=include_state,
                               include_counties=include_counties)
        pop_idx = pd.MultiIndex.from_frame(pop[keys])
        wide = wide.reindex(wide.index.union(pop_idx), fill_value=0)
    except ParameterError:
        pass
    wide = wide.reindex(columns=[s for s in STAGES], fill_value=0)
    out = wide.stack(future_stack=True).rename("count").reset_index()
    out = out.rename(columns={out.columns[len(keys)]: "stage"})
    ok = {p: set(supported_stages(data, p)) for p in out["period"].unique()}
    keep = [s in ok[p] for p, s in zip(out["period"], out["stage"])]
    out = out[keep]
    if not has_reports:
        out = out[~out["stage"].isin(["reported", "screened_in", "substantiated"])]
    if not has_episodes:
        out = out[out["stage"].isin(["reported", "screened_in", "substantiated"])]
    missing = getattr(data, "not_in_files", {})  # decision points the files cannot carry: absent, not zero
    if missing:
        out = out[~out["stage"].isin(list(missing))]
    out["count"] = out["count"].astype("int64")
    out["base"] = out["stage"].map(lambda s: STAGES[s].decision_base or "")
    order = {s: i for i, s in enumerate(STAGES)}
    out = out.sort_values(keys + ["stage"], key=lambda c: c.map(order) if c.name == "stage" else c)
    out = out.reset_index(drop=True)
    out.attrs["excluded"] = {"events at age 18 or older": excluded}
    return out


def population_table(data: ValidatedData, *, scheme: str = "hispanic_first", by: Sequence[str] = (),
                     include_state: bool = True, include_counties: bool = True) -> pd.DataFrame:
    """Child population per jurisdiction, period, group (and ``by`` dimensions).

    The population ``year`` is matched to the analysis ``period`` of the same number (July 1
    estimates for the fiscal year ending in September). Statewide rows are the sum of the
    counties; the ``"all"`` group is the sum of the mutually exclusive ``hispanic_first`` groups.

    Raises
    ------
    ParameterError
        If the scheme needs population groups the table lacks, or ``by`` names a column the
        population table does not have (a guess would be worse than no rate).
    """
    by = _check_by(by)
    sch = get_scheme(scheme)
    pop = data.population
    if pop is None:
        raise ParameterError("No population table was supplied, so population-based rates cannot be computed.")
    missing_dims = [b for b in by if b not in pop.columns]
    if missing_dims:
        raise ParameterError(f"The population table has no {missing_dims} column; population-based "
                             "rates cannot be broken down by it.")
    have = set(pop["race_ethnicity"])
    lacking = [g for g in sch.population_groups if g not in have]
    if lacking:
        raise ParameterError(
            f"The race scheme {sch.name!r} needs population counts for {lacking}, which the population "
            "table does not have. Add those census categories or choose another scheme.")
    keys = ["jurisdiction", "period", "race_ethnicity", *by]
    p = pop.rename(columns={"year": "period"})
    p = p[p["period"].between(data.first_year, data.last_year)]
    base_groups = get_scheme("hispanic_first").population_groups
    parts = [p[p["race_ethnicity"].isin(list(sch.population_groups))],
             p[p["race_ethnicity"].isin(list(base_groups))].assign(race_ethnicity=ALL)]
    p = pd.concat(parts, ignore_index=True)
    out = p.groupby(keys, observed=True)["population"].sum().reset_index()
    state = out.assign(jurisdiction=STATE).groupby(keys, observed=True)["population"].sum().reset_index()
    out, state = _blank_gaps(out, state, data, sch.population_groups, base_groups, keys)
    frames = []
    if include_counties:
        frames.append(out)
    if include_state:
        frames.append(state)
    return pd.concat(frames, ignore_index=True)


def _blank_gaps(out: pd.DataFrame, state: pd.DataFrame, data: ValidatedData, groups, base_groups,
                keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The populations that rest on a missing cell (:func:`equity_helpers.data.population.missing_cells`)
    made missing: a place's group, its ``all`` group, and the Statewide rows of the same year and group,
    so their rates are blank rather than computed over a denominator that lost children the numerator
    keeps."""
    gaps = missing_cells(data.population, data.jurisdictions, range(data.first_year, data.last_year + 1))
    if gaps.empty:
        return out, state
    gaps = gaps.rename(columns={"year": "period"})
    hit = pd.concat([gaps[gaps["race_ethnicity"].isin(list(groups))],
                     gaps[gaps["race_ethnicity"].isin(list(base_groups))].assign(race_ethnicity=ALL)])
    hit = hit[keys].drop_duplicates()
    blanks = []
    for frame, bad in ((out, hit), (state, hit.assign(jurisdiction=STATE).drop_duplicates())):
        frame = frame.merge(bad.assign(_gap=True), on=keys, how="outer")
        frame["population"] = frame["population"].astype(float).where(frame["_gap"].isna())
        blanks.append(frame.drop(columns="_gap"))
    return blanks[0], blanks[1]
