"""Validate canonical tables: every problem at once, in plain words, with row counts.

:func:`validate` checks the raw tables read by :mod:`equity_helpers.data.sources` and returns a
:class:`ValidatedData` with typed, clean tables, a data-quality table and an accounting of every
row: read, used, or excluded with a reason. Nothing is dropped silently.

Two kinds of finding (pandera-style lazy validation, translated into words):

* **errors** stop the run, all listed together in one :class:`~equity_helpers.errors.DataValidationError`:
  missing columns, duplicate ids, unknown codes (the mapping needs a line for them), unreadable or
  negative populations, aggregate counts larger than their base.
* **warnings** exclude the affected rows and say how many: unreadable or impossible dates, exit
  before entry, reports outside the analysis years, records for children not in the children
  table, screened-out reports with a finding, missing population cells.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from equity_helpers.data.checks import (
    MESSAGES,
    Checker,
    accounting_summary,
    as_read,
    check_codes,
    date_findings,
    records_supplied,
    table_present,
)
from equity_helpers.data.dates import data_end, read_dates, table_order
from equity_helpers.data.engagement import validate_meetings
from equity_helpers.data.ids import link_problem, nothing_left
from equity_helpers.data.linkage import validate_dv_services
from equity_helpers.data.places import canonical_places
from equity_helpers.errors import DataValidationError, Problem, problems_frame
from equity_helpers.schema import (
    AGE_GROUPS,
    SCHEMES,
    SUBSTANTIATED_DISPOSITIONS,
    TABLES,
    fiscal_year,
)

__all__ = ["ValidatedData", "DataSummary", "validate", "validate_tables", "validate_with_side_tables",
           "split_side_tables", "SIDE_TABLES", "years_of_counts", "validate_population", "validate_counts",
           "check_count_bases", "check_population_cells", "PLACE_TABLES", "check_count_spellings", "check_counts_within_population"]


class _Described:
    """What a validated extract and its record-free summary both answer from ``first_year``,
    ``last_year``, ``problems`` and ``accounting``."""

    first_year: int
    last_year: int
    problems: list[Problem]
    accounting: pd.DataFrame
    not_in_files: dict[str, str]

    @property
    def quality(self) -> pd.DataFrame:
        """The data-quality table (one row per finding)."""
        return problems_frame(self.problems)

    @property
    def periods(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    def accounting_summary(self) -> pd.DataFrame:
        """One row per table: rows read, used, excluded."""
        return accounting_summary(self.accounting)


@dataclass
class ValidatedData(_Described):
    """Clean, typed canonical tables plus everything validation found.

    Attributes
    ----------
    children, reports, episodes, population, counts : clean tables (``None`` when not supplied).
        Dates are ``datetime64``; flags are 0/1 integers; ``period`` columns hold the fiscal year.
    first_year, last_year : the analysis periods (fiscal years, or calendar years if ``calendar``).
    data_end : the extract (censor) date.
    problems : every finding, errors and warnings.
    accounting : rows read, used and excluded by reason for every table (columns ``table``,
        ``outcome`` ("read", "used", "excluded"), ``reason``, ``rows``).
    dv_services : a domestic violence partner's validated services (:mod:`equity_helpers.data.linkage`), or None.
    meetings : family team meetings (:mod:`equity_helpers.data.engagement`), or None.
    not_in_files : decision points the data's files cannot carry, each with the sentence that says why (a
        folder imported from federal files, :func:`equity_helpers.data.federal.not_in_files`): they are not
        counted, and pages say "not in these files" instead of showing a zero.
    """

    children: pd.DataFrame | None
    reports: pd.DataFrame | None
    episodes: pd.DataFrame | None
    population: pd.DataFrame | None
    counts: pd.DataFrame | None
    first_year: int
    last_year: int
    calendar: bool
    data_end: pd.Timestamp
    problems: list[Problem] = field(default_factory=list)
    accounting: pd.DataFrame = field(default_factory=pd.DataFrame)
    dv_services: pd.DataFrame | None = None
    meetings: pd.DataFrame | None = None
    not_in_files: dict[str, str] = field(default_factory=dict)

    @property
    def jurisdictions(self) -> list[str]:
        """Jurisdictions found in the records (or the counts table), sorted."""
        found: set[str] = set()
        for t in (self.reports, self.episodes, self.counts):
            if t is not None:
                found |= set(t["jurisdiction"].dropna().unique())
        if not found and self.population is not None:
            found = set(self.population["jurisdiction"].unique())
        return sorted(found)

    @property
    def child_level(self) -> bool:
        return self.children is not None

    def columns_of(self, name: str) -> list[str]:
        """The columns of the table ``name`` (none when it was not supplied)."""
        table = getattr(self, name, None)
        return [] if table is None else list(table.columns)

    def known_children(self, ids: pd.Series) -> np.ndarray:
        """Which of ``ids`` (text) are validated children, as a boolean array."""
        return ids.astype(str).isin(pd.Index(self.children["child_id"]).astype(str)).to_numpy()

    def summary(self) -> "DataSummary":
        """What the notebooks need besides the release table, without a single child-level row."""
        return DataSummary(jurisdictions=self.jurisdictions, first_year=self.first_year, last_year=self.last_year,
                           calendar=self.calendar, data_end=self.data_end, problems=list(self.problems),
                           accounting=self.accounting.copy(), not_in_files=dict(self.not_in_files))


@dataclass
class DataSummary(_Described):
    """A validated extract's description without its records: places, years, extract date, data-quality
    findings and row accounting. A batch hands this (with the protected release tables) to its
    notebook runs instead of child-level data (:meth:`ValidatedData.summary`)."""

    jurisdictions: list[str]
    first_year: int
    last_year: int
    calendar: bool
    data_end: pd.Timestamp
    problems: list[Problem] = field(default_factory=list)
    accounting: pd.DataFrame = field(default_factory=pd.DataFrame)
    child_level: bool = False
    not_in_files: dict[str, str] = field(default_factory=dict)


def validate(raw: dict[str, pd.DataFrame], *, first_year: int | None = None, last_year: int | None = None,
             calendar: bool = False, extract_date: str | pd.Timestamp | None = None) -> ValidatedData:
    """Check and type the raw tables in pandas; raise once with every error, or return clean data.

    :func:`equity_helpers.counting.load.validate` (``equity_helpers.validate``) is the entry point, with the
    parameters, returns and errors documented there; this is its pandas engine (``engine="pandas"``). The
    optional side tables (:data:`SIDE_TABLES`) are checked with the others (:func:`validate_with_side_tables`).
    """
    raw, side = split_side_tables(raw)
    return validate_with_side_tables(lambda: validate_tables(raw, first_year=first_year, last_year=last_year,
                                                              calendar=calendar, extract_date=extract_date),
                                     side, extract_date=extract_date)


def split_side_tables(raw: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """``(core tables, side tables)``: the supplied :data:`SIDE_TABLES` taken out of ``raw`` (not changed)."""
    raw = dict(raw)
    return raw, {name: raw.pop(name) for name in SIDE_TABLES if raw.get(name) is not None}


SIDE_TABLES = ("dv_services", "meetings")
"""Optional tables checked beside the core ones and attached to the validated data under their names: a
domestic violence partner's services (:func:`equity_helpers.data.linkage.validate_dv_services`) and family team
meetings (:func:`equity_helpers.data.engagement.validate_meetings`)."""


def _side_table(name: str, raw: pd.DataFrame, data, extract_date):
    """``(clean table, problems, accounting)`` of one side table."""
    if name == "dv_services":
        r = validate_dv_services(raw, extract_date=extract_date)
        return r.services, r.problems, r.accounting
    known = data.known_children if data is not None and data.child_level else None
    r = validate_meetings(raw, known=known, extract_date=extract_date)
    return r.meetings, r.problems, r.accounting


def validate_with_side_tables(core, side: dict[str, pd.DataFrame], *, extract_date=None):
    """Validate the core tables (``core()`` returns the validated data) and the side tables together: every
    problem of all of them in one :class:`DataValidationError`, or the validated data with each side table
    attached under its name, its findings added to ``problems`` and its rows to ``accounting``. Side
    tables' dates are checked against the data's extract date; meetings' children against the children."""
    if not side:
        return core()
    try:
        data = core()
    except DataValidationError as exc:
        more: list[Problem] = []
        for name, raw in side.items():
            try:
                _side_table(name, raw, None, extract_date)
            except DataValidationError as sexc:
                more += [q for q in sexc.problems if q.severity == "error"]
        raise DataValidationError(list(exc.problems) + more) from None
    found, errors, tables = [], [], {}
    for name, raw in side.items():
        try:
            tables[name], probs, acc = _side_table(name, raw, data, data.data_end)
            found += probs
            data.accounting = pd.concat([data.accounting, acc], ignore_index=True)
        except DataValidationError as exc:
            errors += list(exc.problems)
    if errors:
        raise DataValidationError(list(data.problems) + found + errors)
    for name, t in tables.items():
        setattr(data, name, t)
    data.problems = list(data.problems) + found
    return data


def validate_tables(raw: dict[str, pd.DataFrame], *, first_year: int | None, last_year: int | None,
                     calendar: bool, extract_date) -> ValidatedData:
    """The core tables' checks (:func:`validate`, pandas engine)."""
    problems: list[Problem] = []
    checkers, ready = _checkers(raw, problems)
    _match_places(checkers, problems)
    _check_codes_and_dates(ready)
    data_end = _leave_out_future_events(ready, extract_date)
    if "population" in ready:
        validate_population(ready["population"])
    if "counts" in ready:
        validate_counts(ready["counts"])
    after_end = "future_date" if extract_date is not None else "after_data_end"
    child_ids = _check_children(ready["children"], data_end, after_end) if "children" in ready else None
    if "reports" in ready:
        first_year, last_year = _check_reports(ready["reports"], ready.get("children"), child_ids,
                                               first_year=first_year, last_year=last_year, calendar=calendar)
    if "episodes" in ready:
        _check_episodes(ready["episodes"], child_ids, data_end, after_end)
    if "counts" in ready:
        first_year, last_year = years_of_counts(ready["counts"], first_year, last_year)
    if "population" in ready and first_year is not None:
        check_population_cells(ready["population"], _places_used(checkers), first_year, last_year)
    _check_links(ready, problems)
    return _validated(checkers, problems, first_year=first_year, last_year=last_year, calendar=calendar,
                      data_end=data_end)


def _checkers(raw: dict[str, pd.DataFrame], problems: list[Problem]
              ) -> tuple[dict[str, Checker], dict[str, Checker]]:
    """``(checkers, ready)``: a checker for every core table supplied (in :data:`TABLES` order), and those
    of the tables that can be checked (every required column, at least one row). Records the problems of
    missing columns, empty tables, how a table was read, and of no records at all."""
    checkers: dict[str, Checker] = {}
    usable: dict[str, bool] = {}
    for name in TABLES:
        if name in raw and raw[name] is not None:
            df = as_read(raw[name])
            ck = Checker(name, df, problems)
            checkers[name] = ck
            usable[name] = table_present(name, len(df), df.columns, raw[name].attrs.get("read_note"), problems)
    records_supplied(checkers, problems)
    return checkers, {name: ck for name, ck in checkers.items() if usable[name]}


PLACE_TABLES = ("reports", "episodes")
"""The tables whose ``jurisdiction`` is matched to the population's places (:mod:`equity_helpers.data.places`);
an aggregate ``counts`` table's spellings must agree exactly (:func:`validate_counts`)."""


def _match_places(checkers: dict[str, Checker], problems: list[Problem]) -> None:
    """Every table's place names spelled as the population spells them (trimmed, case-insensitive); names
    that nearly match a population place are errors (:func:`equity_helpers.data.places.canonical_places`)."""
    pop = checkers.get("population")
    pop_names = pop.df["jurisdiction"] if pop is not None and "jurisdiction" in pop.df else None
    used = {n: checkers[n].df["jurisdiction"].value_counts(sort=False) for n in PLACE_TABLES
            if n in checkers and "jurisdiction" in checkers[n].df}
    renames, found = canonical_places(pop_names, used)
    problems += found
    if renames:
        for ck in checkers.values():
            if "jurisdiction" in ck.df:
                ck.df["jurisdiction"] = ck.df["jurisdiction"].map(lambda v: renames.get(v, v))


def _check_codes_and_dates(ready: dict[str, Checker]) -> None:
    """Codes of the children, reports and episodes, and their dates parsed; unreadable dates (and an exit
    date that is there but unreadable) are left out."""
    for name, ck in ready.items():
        if name in ("children", "reports", "episodes"):
            check_codes(ck)
            dates = TABLES[name].dates
            order = table_order([ck.df[c] for c in dates])
            for col in dates:
                reading = read_dates(ck.df[col], order=order, nulls=col == "exit_date")
                refused = date_findings(col, ck.df[col], reading)
                for check, mask, kw in refused:
                    ck.error(check, mask, **kw)
                if refused:
                    ck.df[col] = reading.parsed
                    continue
                if col != "exit_date":
                    ck.exclude("unreadable_date", reading.parsed.isna(), column=col)
                else:
                    ck.exclude("unreadable_date", reading.unreadable, column=col)
                ck.df[col] = reading.parsed


def _leave_out_future_events(ready: dict[str, Checker], extract_date) -> pd.Timestamp | None:
    """Leave out reports and episodes dated after the extract date or, without one, after today; return the
    data's end (:func:`equity_helpers.data.dates.data_end`): the extract date, else the latest report kept
    (else the latest entry or exit kept, without reports), never a stray later record."""
    events = (("reports", ["report_date"]), ("episodes", ["entry_date", "exit_date"]))
    # events after the extract date (or, without one, after today) are impossible: counted and left out
    limit = pd.Timestamp(extract_date) if extract_date is not None else pd.Timestamp.today().normalize()
    for name, cols in events:
        if name in ready:
            for c in cols:
                ck = ready[name]
                ck.exclude("future_date" if extract_date is not None else "after_today", ck.df[c] > limit,
                           column=c, end=limit.date())
    latest: dict[str, list[pd.Timestamp]] = {}
    for name, cols in events:
        if name in ready:
            for c in cols:
                d = ready[name].df.loc[ready[name].excluded == "", c]
                if d.notna().any():
                    latest.setdefault(name, []).append(d.max())
    return data_end(extract_date, latest)


def _check_children(ck: Checker, data_end: pd.Timestamp | None, after_end: str = "future_date"
                    ) -> tuple[set, set]:
    """Leave out children born after the data's end (reason ``after_end``); return the ids of every child and of those left out."""
    if data_end is not None:
        ck.exclude(after_end, ck.df["birth_date"] > data_end, column="birth_date", end=data_end.date())
    # A missing id names no child (pandas' isin would match a missing id to a missing id).
    known_children = set(ck.df["child_id"].dropna())
    excluded_children = set(ck.df.loc[ck.excluded != "", "child_id"].dropna())
    return known_children, excluded_children


def _leave_out_unknown_children(ck: Checker, child_ids: tuple[set, set] | None) -> None:
    """Leave out the records of children left out of the children table, then of children not in it (with
    child-level data: ``child_ids`` is every child's id and the ids left out, from :func:`_check_children`)."""
    if child_ids is not None:
        known_children, excluded_children = child_ids
        ck.exclude("child_excluded", ck.df["child_id"].isin(excluded_children))
        ck.exclude("unknown_child", ~ck.df["child_id"].isin(known_children))


def _check_reports(ck: Checker, children: Checker | None, child_ids: tuple[set, set] | None, *,
                   first_year: int | None, last_year: int | None, calendar: bool) -> tuple[int | None, int | None]:
    """Reports: a missing disposition reads "none"; reports of unknown or left-out children, screened-out
    reports with a finding and reports before the child's birth are left out; ``period`` is the report's
    (fiscal) year. The analysis years default to the years of the reports kept, and reports outside them are
    left out. Returns the analysis years."""
    df = ck.df
    df["disposition"] = df["disposition"].where(df["disposition"].notna(), "none")
    _leave_out_unknown_children(ck, child_ids)
    finding = df["disposition"].isin(list(SUBSTANTIATED_DISPOSITIONS))
    screened_out = df["screened_in"] == 0
    if (finding & screened_out).any():
        ck.exclude("finding_without_screen_in", finding & screened_out,
                   codes=", ".join(sorted(SUBSTANTIATED_DISPOSITIONS)))
    if children is not None:
        births = children.df.set_index("child_id")["birth_date"]
        births = births[~births.index.duplicated()]
        b = df["child_id"].map(births)
        ck.exclude("before_birth", b.notna() & (df["report_date"] < b))
    period = fiscal_year(df["report_date"], calendar=calendar)
    df["period"] = period
    valid = df["report_date"].notna() & (ck.excluded == "")
    if first_year is None and valid.any():
        first_year = int(period[valid].min())
    if last_year is None and valid.any():
        last_year = int(period[valid].max())
    if first_year is not None and last_year is not None:
        label = (f"{'' if calendar else 'FY'}{first_year}-{'' if calendar else 'FY'}{last_year}")
        ck.exclude("outside_period", (period < first_year) | (period > last_year), periods=label)
    return first_year, last_year


def _check_episodes(ck: Checker, child_ids: tuple[set, set] | None, data_end: pd.Timestamp | None,
                    after_end: str = "future_date") -> None:
    """Episodes: those of unknown or left-out children, entries or exits after the data's end, exits before
    entry, an exit without a reason or a reason without an exit, and placement counts under 1 are left out;
    ``placement_count`` and ``prior_episodes`` become whole numbers."""
    df = ck.df
    _leave_out_unknown_children(ck, child_ids)
    if data_end is not None:
        ck.exclude(after_end, df["entry_date"] > data_end, column="entry_date", end=data_end.date())
        ck.exclude(after_end, df["exit_date"] > data_end, column="exit_date", end=data_end.date())
    ck.exclude("exit_before_entry", df["exit_date"].notna() & (df["exit_date"] < df["entry_date"]))
    ck.exclude("exit_without_reason", df["exit_date"].notna() & df["exit_reason"].isna())
    ck.exclude("reason_without_exit", df["exit_date"].isna() & df["exit_reason"].notna())
    pc = pd.to_numeric(df["placement_count"], errors="coerce")
    ck.exclude("bad_placement_count", pc.isna() | (pc < 1))
    df["placement_count"] = pc.fillna(0).astype("int64")
    if "prior_episodes" in df:
        df["prior_episodes"] = pd.to_numeric(df["prior_episodes"], errors="coerce").fillna(0).astype("int64")


def _check_links(ready: dict[str, Checker], problems: list[Problem]) -> None:
    """An error when most reports or episodes name children not in the children table
    (:func:`equity_helpers.data.ids.link_problem`), or when every row of a child-level table was left out."""
    kids = ready.get("children")
    ids = kids.df["child_id"].dropna().astype(str) if kids is not None else None
    for name in ("children", "reports", "episodes"):
        ck = ready.get(name)
        if ck is None or not len(ck.df):
            continue
        if name != "children" and ids is not None:
            bad = (ck.excluded == "unknown_child").to_numpy()
            unmatched = ck.df.loc[bad, "child_id"].drop_duplicates().head(50).astype(str).tolist()
            p = link_problem(name, int(bad.sum()), len(ck.df), unmatched, ids, ids.head(3).tolist())
            if p is not None:
                problems.append(p)
                continue
        if (ck.excluded != "").all():
            problems.append(nothing_left(name, len(ck.df), ck.excluded.value_counts().to_dict()))


def _places_used(checkers: dict[str, Checker]) -> set[str]:
    """The jurisdictions the reports, episodes and counts kept name (those that need a population)."""
    places: set[str] = set()
    for name in ("reports", "episodes", "counts"):
        if name in checkers and "jurisdiction" in checkers[name].df:
            c = checkers[name]
            places |= set(c.df.loc[c.excluded == "", "jurisdiction"].dropna())
    return places


def _validated(checkers: dict[str, Checker], problems: list[Problem], *, first_year: int | None,
               last_year: int | None, calendar: bool, data_end: pd.Timestamp | None) -> ValidatedData:
    """Raise with every problem when any is an error; else the rows kept of every table with the accounting,
    as :class:`ValidatedData`. Without an extract date or a dated record, the data end on 30 September of
    the last analysis year (or today)."""
    acc: list[tuple[str, str, str, int]] = []
    for ck in checkers.values():
        acc.extend(ck.accounting())
    accounting = pd.DataFrame(acc, columns=["table", "outcome", "reason", "rows"])
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(problems)
    out: dict[str, pd.DataFrame | None] = {k: None for k in TABLES}
    for name, ck in checkers.items():
        out[name] = ck.kept().reset_index(drop=True)
    if data_end is None:
        data_end = pd.Timestamp(f"{last_year}-09-30") if last_year else pd.Timestamp.today().normalize()
    return ValidatedData(children=out["children"], reports=out["reports"], episodes=out["episodes"],
                         population=out["population"], counts=out["counts"],
                         first_year=int(first_year) if first_year is not None else 0,
                         last_year=int(last_year) if last_year is not None else 0,
                         calendar=calendar, data_end=pd.Timestamp(data_end), problems=problems,
                         accounting=accounting)


def years_of_counts(ck: Checker, first_year: int | None, last_year: int | None) -> tuple[int | None, int | None]:
    """The analysis years, defaulting to the periods the aggregate counts table covers."""
    periods = ck.df["period"]
    if first_year is None and len(periods):
        first_year = int(periods.min())
    if last_year is None and len(periods):
        last_year = int(periods.max())
    return first_year, last_year


def validate_population(ck: Checker) -> None:
    """Codes, whole numbers and no negative cells in the population table."""
    df = ck.df
    check_codes(ck)
    for col in ("year", "population"):
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() | (num != num.round())
        ck.error("bad_number", bad, column=col)
        df[col] = num.where(~bad, 0).astype("int64")
    ck.error("negative_population", df["population"] < 0)


def validate_counts(ck: Checker) -> None:
    """Whole, non-negative counts and periods, and no count above its base's count."""
    df = ck.df
    num = pd.to_numeric(df["count"], errors="coerce")
    bad = num.isna() | (num != num.round())
    ck.error("bad_number", bad, column="count")
    df["count"] = num.where(~bad, 0).astype("int64")
    pnum = pd.to_numeric(df["period"], errors="coerce")
    ck.error("bad_number", pnum.isna() | (pnum != pnum.round()), column="period")
    df["period"] = pnum.fillna(0).astype("int64")
    ck.error("negative_count", df["count"] < 0)
    check_count_spellings(ck)
    if "base" in df:
        check_count_bases(ck)


def check_count_spellings(ck: Checker) -> None:
    """Aggregate counts: codes that differ only in case or spaces (``"Black"`` beside ``"black"``) and rows
    repeated for the same cell are errors (each would become a group or a count of its own)."""
    df = ck.df
    for col in ("jurisdiction", "race_ethnicity", "stage"):
        if col not in df:
            continue
        vals = pd.Series(df[col].dropna().unique(), dtype=object)
        keys = vals.map(lambda v: " ".join(str(v).split()).casefold())
        twins = vals[keys.duplicated(keep=False)]
        if len(twins):
            ck.error("codes_differ_in_case", df[col].isin(list(twins)), column=col,
                     codes=", ".join(repr(v) for v in sorted(twins, key=str)[:6]))
    keys = [c for c in df.columns if c not in ("_row", "count")]
    ck.error("duplicate_count_rows", df.duplicated(keys, keep=False), columns=", ".join(keys))


def check_counts_within_population(counts: pd.DataFrame, population: pd.DataFrame) -> None:
    """Raise a :class:`DataValidationError` when an aggregate count is larger than the child population of its
    cell (``population``: ``jurisdiction``, ``period``, ``race_ethnicity`` and ``population``, whole numbers)."""
    keys = ["jurisdiction", "period", "race_ethnicity"]
    pop = population.groupby(keys, observed=True)["population"].sum().reset_index()
    c = counts.assign(period=pd.to_numeric(counts["period"], errors="coerce"))
    m = c.merge(pop.assign(period=pop["period"].astype("int64")), on=keys, how="inner")
    over = m[m["count"] > m["population"]]
    if len(over):
        r = over.iloc[0]
        ck = Checker("counts", c, [])
        ck.error("count_above_population", c["_row"].isin(over["_row"]),
                 example=f"{r['jurisdiction']} {r['period']} {r['race_ethnicity']}: {r['stage']} {r['count']:,} "
                         f"children of a population of {r['population']:,}")
        raise DataValidationError(ck.problems)


def check_count_bases(ck: Checker) -> None:
    df = ck.df
    keys = ["jurisdiction", "period", "race_ethnicity"]
    has_base = df["base"].notna() & (df["base"].astype(str).str.strip() != "") & (df["base"] != "population")
    left = df[has_base][keys + ["stage", "base", "count", "_row"]]
    right = df[keys + ["stage", "count"]].rename(columns={"stage": "base", "count": "base_count"})
    m = left.merge(right, on=keys + ["base"], how="inner")
    over = m[m["count"] > m["base_count"]]
    if len(over):
        r = over.iloc[0]
        example = (f"{r['jurisdiction']} {r['period']} {r['race_ethnicity']}: {r['stage']} "
                   f"{r['count']} > {r['base']} {r['base_count']}")
        mask = df["_row"].isin(over["_row"])
        ck.error("count_above_base", mask, example=example)


def check_population_cells(ck: Checker, jurisdictions: set[str], first_year: int, last_year: int) -> None:
    """Warn about places and years without a population, and about missing cells of the grid
    (``jurisdictions``: the places the used records or counts name)."""
    pop = ck.df
    groups = SCHEMES["hispanic_first"].population_groups
    have_j = set(pop["jurisdiction"])
    for j in sorted(jurisdictions - have_j):
        ck.problems.append(Problem("warning", "population", "no_population_for", 0, "",
                                   MESSAGES["no_population_for"].format(what=f"jurisdiction {j!r}")))
    years = range(first_year, last_year + 1)
    have_y = set(pop["year"])
    for y in years:
        if y not in have_y:
            ck.problems.append(Problem("warning", "population", "no_population_for", 0, "",
                                       MESSAGES["no_population_for"].format(what=f"year {y}")))
    if not len(pop):
        return
    grid = pd.MultiIndex.from_product(
        [sorted(have_j), [y for y in years if y in have_y], list(groups), list(AGE_GROUPS), ["female", "male"]],
        names=["jurisdiction", "year", "race_ethnicity", "age_group", "sex"])
    present = pd.MultiIndex.from_frame(pop[list(grid.names)])
    missing = grid.difference(present)
    if len(missing):
        ex = " / ".join(str(x) for x in missing[0])
        ck.problems.append(Problem("warning", "population", "missing_population_cells", len(missing), "",
                                   MESSAGES["missing_population_cells"].format(n=len(missing), example=ex)))


