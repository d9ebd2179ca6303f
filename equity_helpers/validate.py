"""Validate canonical tables: every problem at once, in plain words, with row counts.

:func:`validate` checks the raw tables read by :mod:`equity_helpers.sources` and returns a
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

from .errors import DataValidationError, Problem, problems_frame
from .schema import (
    AGE_GROUPS,
    EQUITY_COLUMNS,
    SCHEMES,
    SUBSTANTIATED_DISPOSITIONS,
    TABLES,
    fiscal_year,
)

__all__ = ["ValidatedData", "DataSummary", "validate", "MESSAGES", "load", "accounting_summary"]

MESSAGES: dict[str, str] = {
    "missing_column": "The {table} table has no '{column}' column, which the workbook needs. "
                      "Add it, or map the agency's column name to '{column}' in mapping.yml.",
    "duplicate_id": "{n:,} rows share a {column} with another row; each {column} must appear once.",
    "unknown_code": "{column} has {n:,} rows with code(s) the workbook does not know: {codes}. "
                    "Allowed: {allowed}. Map them in the codes section of mapping.yml.",
    "missing_value": "{n:,} rows have no {column}.",
    "unreadable_date": "{n:,} rows have a {column} that is not a date; they were left out.",
    "future_date": "{n:,} rows have a {column} after the extract date {end}; they were left out.",
    "after_today": "{n:,} rows have a {column} after today ({end}), which cannot be right; they were left out. "
                   "If the data really end later, give the extract date.",
    "empty_table": "The {table} table has no rows (only its header line was found); the workbook needs its "
                   "records.",
    "unknown_child": "{n:,} rows name a child_id that is not in the children table; they were left out.",
    "child_excluded": "{n:,} rows belong to children who were left out of the children table; "
                      "they were left out too.",
    "exit_before_entry": "{n:,} episodes have an exit date before their entry date; they were left out.",
    "exit_without_reason": "{n:,} episodes have an exit date but no exit reason; they were left out.",
    "reason_without_exit": "{n:,} episodes have an exit reason but no exit date; they were left out.",
    "bad_placement_count": "{n:,} episodes have a placement count that is missing or below 1; "
                           "they were left out.",
    "outside_period": "{n:,} reports are dated outside {periods}; they were left out of this analysis.",
    "before_birth": "{n:,} reports are dated before the child's birth date; they were left out.",
    "finding_without_screen_in": "{n:,} reports were screened out but have a finding ({codes}); "
                                 "they were left out.",
    "bad_number": "{column} has {n:,} rows that are not whole numbers.",
    "negative_population": "{n:,} population cells are negative.",
    "negative_count": "{n:,} counts are negative.",
    "count_above_base": "{n:,} counts are larger than the count at their base stage "
                        "(for example {example}).",
    "missing_population_cells": "{n:,} population cells (county, year, group, age group, sex) are "
                                "missing, e.g. {example}; rates for them cannot be computed.",
    "no_population_for": "No child population is given for {what}; population-based rates for it "
                         "cannot be computed.",
}
"""Every message an analyst can read, as templates (tests assert the exact wording)."""

_TRUE = {"1", "y", "yes", "true", "t"}
_FALSE = {"0", "n", "no", "false", "f"}


class _Described:
    """What a validated extract and its record-free summary both answer from ``first_year``,
    ``last_year``, ``problems`` and ``accounting``."""

    first_year: int
    last_year: int
    problems: list[Problem]
    accounting: pd.DataFrame

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


def accounting_summary(accounting: pd.DataFrame) -> pd.DataFrame:
    """One row per table of an accounting (``table``, ``outcome``, ``reason``, ``rows``): rows read, used,
    excluded (every table the workbook reads, the survey's answers too)."""
    if accounting.empty:
        return pd.DataFrame(columns=["table", "read", "used", "excluded"])
    wide = accounting.pivot_table(index="table", columns="outcome", values="rows", aggfunc="sum", fill_value=0)
    for c in ("read", "used", "excluded"):
        if c not in wide:
            wide[c] = 0
    return wide[["read", "used", "excluded"]].reset_index().rename_axis(columns=None)


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
    dv_services : a domestic violence partner's validated services (:mod:`equity_helpers.linkage`), or None.
    meetings : family team meetings (:mod:`equity_helpers.engagement`), or None.
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
                           accounting=self.accounting.copy())


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


class _Checker:
    """Collects problems and per-row exclusions for one table."""

    def __init__(self, table: str, df: pd.DataFrame, problems: list[Problem],
                 messages: dict[str, str] | None = None):
        self.table = table
        self.df = df
        self.problems = problems
        self.messages = MESSAGES if messages is None else messages
        self.excluded = pd.Series("", index=df.index, dtype=object)

    def examples(self, mask: pd.Series | np.ndarray) -> str:
        rows = self.df.loc[np.asarray(mask), "_row"].head(5).tolist() if "_row" in self.df else []
        return ", ".join(str(r) for r in rows)

    def error(self, check: str, mask, **kw) -> None:
        n = int(np.asarray(mask).sum())
        if n:
            self.problems.append(Problem("error", self.table, check, n, self.examples(mask),
                                         self.messages[check].format(n=n, table=self.table, **kw)))

    def exclude(self, check: str, mask, **kw) -> None:
        mask = pd.Series(np.asarray(mask), index=self.df.index) & (self.excluded == "")
        n = int(mask.sum())
        if n:
            self.excluded[mask] = check
            self.problems.append(Problem("warning", self.table, check, n, self.examples(mask),
                                         self.messages[check].format(n=n, table=self.table, **kw)))

    def kept(self) -> pd.DataFrame:
        return self.df[self.excluded == ""].copy()

    def accounting(self) -> list[tuple[str, str, str, int]]:
        rows = [(self.table, "read", "", len(self.df))]
        for reason, n in self.excluded[self.excluded != ""].value_counts().items():
            rows.append((self.table, "excluded", str(reason), int(n)))
        rows.append((self.table, "used", "", int((self.excluded == "").sum())))
        return rows


def _parse_dates(s: pd.Series) -> pd.Series:
    out = pd.to_datetime(s, errors="coerce", format="ISO8601")
    retry = out.isna() & s.notna()
    if retry.any():
        out = out.copy()
        out[retry] = pd.to_datetime(s[retry], errors="coerce", format="mixed")
    return out


def _flag(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    low = s.astype("string").str.strip().str.lower()
    val = pd.Series(np.where(low.isin(list(_TRUE)).fillna(False), 1, 0), index=s.index)
    bad = (low.notna() & ~low.isin(list(_TRUE | _FALSE))).fillna(False).astype(bool)
    return val, bad


def _table_present(name: str, rows: int, columns, note: str | None, problems: list[Problem]) -> bool:
    """Whether a supplied table can be checked: every required column (each missing one is an error),
    the note on how it was read, and at least one row. Returns ``usable``."""
    usable = True
    for col in TABLES[name].required:
        if col not in columns:
            problems.append(Problem("error", name, "missing_column", rows, "",
                                    MESSAGES["missing_column"].format(table=name, column=col)))
            usable = False
    if note:
        problems.append(Problem("warning", name, "read_as", 0, "", note))
    if rows == 0:
        problems.append(Problem("error", name, "empty_table", 0, "", MESSAGES["empty_table"].format(table=name)))
        usable = False
    return usable


def _records_supplied(present, problems: list[Problem]) -> None:
    """The error when neither child-level records nor aggregate counts were supplied."""
    if not any(k in present for k in ("children", "counts")):
        problems.append(Problem("error", "sources", "no_records", 0, "",
                                "Neither child-level tables (children, reports, episodes) nor an "
                                "aggregate counts table was supplied."))


def _as_read(df: pd.DataFrame) -> pd.DataFrame:
    """A raw table as validation reads it: record numbers in ``_row``, missing values and blanks as None."""
    df = df.copy()
    if "_row" not in df:
        df.insert(0, "_row", range(1, len(df) + 1))
    df = df.astype(object).where(df.notna(), None)
    for col in df.columns:
        if col != "_row":
            v = df[col].to_numpy(dtype=object)
            blank = (v == "") | (v == " ")  # elementwise on objects: several times faster than isin
            if blank.any():
                df[col] = df[col].mask(blank, None)
    return df


def _by_value(s: pd.Series, fn) -> pd.Series:
    """``fn`` applied to each distinct value of ``s`` once (missing values stay None): a column of a few
    codes over millions of rows is recoded at the cost of its codes."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    done = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(done[codes], index=s.index, dtype=object)


def _trimmed(s: pd.Series) -> pd.Series:
    """Text with surrounding spaces trimmed, text left empty as None; other values unchanged."""
    if pd.api.types.infer_dtype(s, skipna=True) == "string":  # Arrow's string kernels: C++, not a Python loop
        import pyarrow as pa
        import pyarrow.compute as pc

        t = pc.utf8_trim_whitespace(pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
        t = pc.if_else(pc.equal(t, ""), pa.scalar(None, pa.string()), t)
        return pd.Series(t.to_numpy(zero_copy_only=False), index=s.index, dtype=object)
    return s.map(lambda v: (v.strip() or None) if isinstance(v, str) else v)


_MAY_BE_EMPTY = frozenset({"disposition", "exit_reason", "first_placement", *EQUITY_COLUMNS})
"""Coded columns that may be empty: no finding yet (read as "none"), an open episode, not recorded
(an optional equity column: counted as "unknown")."""


def _check_codes(ck: _Checker) -> None:
    spec = TABLES[ck.table]
    df = ck.df
    if spec.key:
        dup = df[spec.key].duplicated(keep=False) & df[spec.key].notna()
        ck.error("duplicate_id", dup, column=spec.key)
        ck.error("missing_value", df[spec.key].isna(), column=spec.key)
    for col, allowed in spec.codes.items():
        if col not in df:  # an optional column the agency does not record
            continue
        v = df[col]
        bad = v.notna() & ~v.isin(list(allowed))
        if bad.any():
            codes = ", ".join(repr(c) for c in v[bad].value_counts().index[:8])
            ck.error("unknown_code", bad, column=col, codes=codes, allowed=", ".join(allowed))
        if col not in _MAY_BE_EMPTY:
            ck.error("missing_value", v.isna(), column=col)
        elif col in EQUITY_COLUMNS:  # not recorded
            df[col] = v.where(v.notna(), "unknown")
    for col in spec.flags:
        if col in df:
            val, bad = _flag(df[col])
            if bad.any():
                codes = ", ".join(repr(c) for c in df.loc[bad, col].value_counts().index[:8])
                ck.error("unknown_code", bad, column=col, codes=codes, allowed="1/0, yes/no, true/false")
            df[col] = val


def validate(raw: dict[str, pd.DataFrame], *, first_year: int | None = None, last_year: int | None = None,
             calendar: bool = False, extract_date: str | pd.Timestamp | None = None,
             engine: str = "pandas") -> ValidatedData:
    """Check and type the raw tables; raise once with every error, or return clean data.

    The optional side tables (:data:`SIDE_TABLES`: a domestic violence partner's ``dv_services``, the
    family ``meetings``), when supplied, are checked with the others (:func:`validate_with_side_tables`).

    Parameters
    ----------
    raw : tables with canonical column names (from :func:`equity_helpers.sources.read_sources`).
    first_year, last_year : analysis periods; default: the years the reports (or counts) cover.
    calendar : use calendar years instead of federal fiscal years (Oct-Sep).
    extract_date : the day the data were pulled (censor date for open episodes). Default: the
        latest report, entry or exit date in the data.
    engine : "pandas", or "duckdb" to check (and later count) the child-level tables in DuckDB
        (:func:`equity_helpers.engine.validate_frames`: the same rules, messages and accounting).

    Returns
    -------
    ValidatedData

    Raises
    ------
    DataValidationError
        With every error found (warnings are attached too, for the full picture).
    """
    if engine not in ("pandas", "duckdb"):
        raise ValueError(f"engine must be 'pandas' or 'duckdb', not {engine!r}")
    raw = dict(raw)
    side = {name: raw.pop(name) for name in SIDE_TABLES if raw.get(name) is not None}
    if engine == "duckdb":
        from .engine import validate_frames

        return validate_with_side_tables(lambda: validate_frames(raw, first_year=first_year, last_year=last_year,
                                                                 calendar=calendar, extract_date=extract_date),
                                         side, extract_date=extract_date)
    return validate_with_side_tables(lambda: _validate_tables(raw, first_year=first_year, last_year=last_year,
                                                              calendar=calendar, extract_date=extract_date),
                                     side, extract_date=extract_date)


SIDE_TABLES = ("dv_services", "meetings")
"""Optional tables checked beside the core ones and attached to the validated data under their names: a
domestic violence partner's services (:func:`equity_helpers.linkage.validate_dv_services`) and family team
meetings (:func:`equity_helpers.engagement.validate_meetings`)."""


def _side_table(name: str, raw: pd.DataFrame, data, extract_date):
    """``(clean table, problems, accounting)`` of one side table."""
    if name == "dv_services":
        from .linkage import validate_dv_services

        r = validate_dv_services(raw, extract_date=extract_date)
        return r.services, r.problems, r.accounting
    from .engagement import validate_meetings

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


def _validate_tables(raw: dict[str, pd.DataFrame], *, first_year: int | None, last_year: int | None,
                     calendar: bool, extract_date) -> ValidatedData:
    """The core tables' checks (:func:`validate`, pandas engine)."""
    problems: list[Problem] = []
    acc: list[tuple[str, str, str, int]] = []
    out: dict[str, pd.DataFrame | None] = {k: None for k in TABLES}
    checkers: dict[str, _Checker] = {}
    usable: dict[str, bool] = {}
    for name in TABLES:
        if name in raw and raw[name] is not None:
            df = _as_read(raw[name])
            ck = _Checker(name, df, problems)
            checkers[name] = ck
            usable[name] = _table_present(name, len(df), df.columns, raw[name].attrs.get("read_note"), problems)
    _records_supplied(checkers, problems)

    # --- per-table code and type checks
    for name, ck in checkers.items():
        if not usable[name]:
            continue
        if name in ("children", "reports", "episodes"):
            _check_codes(ck)
            for col in TABLES[name].dates:
                parsed = _parse_dates(ck.df[col])
                if col != "exit_date":
                    ck.exclude("unreadable_date", parsed.isna(), column=col)
                else:
                    ck.exclude("unreadable_date", parsed.isna() & ck.df[col].notna(), column=col)
                ck.df[col] = parsed

    # events after the extract date (or, without one, after today) are impossible: counted and left out
    limit = pd.Timestamp(extract_date) if extract_date is not None else pd.Timestamp.today().normalize()
    for name, cols in (("reports", ["report_date"]), ("episodes", ["entry_date", "exit_date"])):
        if name in checkers and usable[name]:
            for c in cols:
                ck = checkers[name]
                ck.exclude("future_date" if extract_date is not None else "after_today", ck.df[c] > limit,
                           column=c, end=limit.date())
    dates = []
    for name, cols in (("reports", ["report_date"]), ("episodes", ["entry_date", "exit_date"])):
        if name in checkers and usable[name]:
            for c in cols:
                d = checkers[name].df.loc[checkers[name].excluded == "", c]
                if d.notna().any():
                    dates.append(d.max())
    data_end = pd.Timestamp(extract_date) if extract_date is not None else (max(dates) if dates else None)

    # --- population and counts
    if "population" in checkers and usable["population"]:
        _validate_population(checkers["population"])
    if "counts" in checkers and usable["counts"]:
        _validate_counts(checkers["counts"])

    # --- row-level rules that exclude rows
    if "children" in checkers and usable["children"]:
        ck = checkers["children"]
        if data_end is not None:
            ck.exclude("future_date", ck.df["birth_date"] > data_end, column="birth_date", end=data_end.date())
    known_children = None
    excluded_children = None
    if "children" in checkers and usable["children"]:
        c = checkers["children"]
        # A missing id names no child (pandas' isin would match a missing id to a missing id).
        known_children = set(c.df["child_id"].dropna())
        excluded_children = set(c.df.loc[c.excluded != "", "child_id"].dropna())

    if "reports" in checkers and usable["reports"]:
        ck = checkers["reports"]
        df = ck.df
        df["disposition"] = df["disposition"].where(df["disposition"].notna(), "none")
        if known_children is not None:
            ck.exclude("child_excluded", df["child_id"].isin(excluded_children))
            ck.exclude("unknown_child", ~df["child_id"].isin(known_children))
        finding = df["disposition"].isin(list(SUBSTANTIATED_DISPOSITIONS))
        screened_out = df["screened_in"] == 0
        if (finding & screened_out).any():
            ck.exclude("finding_without_screen_in", finding & screened_out,
                       codes=", ".join(sorted(SUBSTANTIATED_DISPOSITIONS)))
        if "children" in checkers and usable["children"]:
            births = checkers["children"].df.set_index("child_id")["birth_date"]
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

    if "episodes" in checkers and usable["episodes"]:
        ck = checkers["episodes"]
        df = ck.df
        if known_children is not None:
            ck.exclude("child_excluded", df["child_id"].isin(excluded_children))
            ck.exclude("unknown_child", ~df["child_id"].isin(known_children))
        if data_end is not None:
            ck.exclude("future_date", df["entry_date"] > data_end, column="entry_date", end=data_end.date())
            ck.exclude("future_date", df["exit_date"] > data_end, column="exit_date", end=data_end.date())
        ck.exclude("exit_before_entry", df["exit_date"].notna() & (df["exit_date"] < df["entry_date"]))
        ck.exclude("exit_without_reason", df["exit_date"].notna() & df["exit_reason"].isna())
        ck.exclude("reason_without_exit", df["exit_date"].isna() & df["exit_reason"].notna())
        pc = pd.to_numeric(df["placement_count"], errors="coerce")
        ck.exclude("bad_placement_count", pc.isna() | (pc < 1))
        df["placement_count"] = pc.fillna(0).astype("int64")
        if "prior_episodes" in df:
            df["prior_episodes"] = pd.to_numeric(df["prior_episodes"], errors="coerce").fillna(0).astype("int64")

    if "counts" in checkers and usable["counts"]:
        first_year, last_year = _years_of_counts(checkers["counts"], first_year, last_year)

    if "population" in checkers and usable["population"] and first_year is not None:
        places: set[str] = set()
        for name in ("reports", "episodes", "counts"):
            if name in checkers and "jurisdiction" in checkers[name].df:
                c = checkers[name]
                places |= set(c.df.loc[c.excluded == "", "jurisdiction"].dropna())
        _check_population_cells(checkers["population"], places, first_year, last_year)

    for ck in checkers.values():
        acc.extend(ck.accounting())
    accounting = pd.DataFrame(acc, columns=["table", "outcome", "reason", "rows"])
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(problems)
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


def _years_of_counts(ck: _Checker, first_year: int | None, last_year: int | None) -> tuple[int | None, int | None]:
    """The analysis years, defaulting to the periods the aggregate counts table covers."""
    periods = ck.df["period"]
    if first_year is None and len(periods):
        first_year = int(periods.min())
    if last_year is None and len(periods):
        last_year = int(periods.max())
    return first_year, last_year


def _validate_population(ck: _Checker) -> None:
    """Codes, whole numbers and no negative cells in the population table."""
    df = ck.df
    _check_codes(ck)
    for col in ("year", "population"):
        num = pd.to_numeric(df[col], errors="coerce")
        bad = num.isna() | (num != num.round())
        ck.error("bad_number", bad, column=col)
        df[col] = num.where(~bad, 0).astype("int64")
    ck.error("negative_population", df["population"] < 0)


def _validate_counts(ck: _Checker) -> None:
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
    if "base" in df:
        _check_count_bases(ck)


def _check_count_bases(ck: _Checker) -> None:
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


def _check_population_cells(ck: _Checker, jurisdictions: set[str], first_year: int, last_year: int) -> None:
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


def load(data_dir=None, *, mapping=None, first_year: int | None = None, last_year: int | None = None,
         calendar: bool = False, extract_date=None, engine: str | None = None) -> ValidatedData:
    """Read (:func:`~equity_helpers.sources.read_sources`) and :func:`validate` in one call.

    ``engine`` is ``"duckdb"`` (the default, or ``$EQUITY_WORKBOOK_ENGINE``): the child-level files are
    read, validated and later counted in an embedded DuckDB database (:mod:`equity_helpers.engine`,
    the same rules, messages and accounting, at state scale in seconds), and kept as a stored extract
    when ``$EQUITY_WORKBOOK_EXTRACTS`` names a folder (:func:`equity_helpers.extracts.load_cached`);
    ``"pandas"`` reads and checks everything in pandas.
    """
    from .engine import default_engine

    if (engine or default_engine()) == "duckdb":
        from .extracts import load_cached  # stored once when $EQUITY_WORKBOOK_EXTRACTS names a folder

        return load_cached(data_dir, mapping=mapping, first_year=first_year, last_year=last_year,
                           calendar=calendar, extract_date=extract_date)
    from .sources import read_sources

    raw, m = read_sources(data_dir, mapping=mapping)
    return validate(raw, first_year=first_year, last_year=last_year, calendar=calendar,
                    extract_date=extract_date if extract_date is not None else m.extract_date)
