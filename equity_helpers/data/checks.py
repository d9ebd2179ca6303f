"""The validation toolkit: checks every table's validation shares, in plain words with row counts.

A :class:`Checker` collects the problems and per-row exclusions of one table (pandera-style lazy
validation: every finding at once, never a silent drop); the helpers read raw cells the same way
everywhere (record numbers, blanks, dates, yes/no flags, codes). :mod:`equity_helpers.data.validate`
checks the core tables with them, :mod:`equity_helpers.data.linkage` and
:mod:`equity_helpers.data.engagement` the side tables, :mod:`equity_helpers.survey` the survey's answers
and :mod:`equity_helpers.counting.engine` the same rules in DuckDB. The map of the package is
``docs/architecture.md``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from equity_helpers.data.dates import DateReading
from equity_helpers.errors import Problem
from equity_helpers.schema import EQUITY_COLUMNS, RACE_FLAGS, TABLES

__all__ = ["MESSAGES", "TRUE", "FALSE", "MAY_BE_EMPTY", "Checker", "accounting_summary", "parse_dates", "date_findings", "flag",
           "table_present", "records_supplied", "as_read", "by_value", "trimmed", "check_codes", "note", "same_codes"]


MESSAGES: dict[str, str] = {
    "missing_column": "The {table} table has no '{column}' column, which the workbook needs. "
                      "Add it, or map the agency's column name to '{column}' in mapping.yml.",
    "duplicate_id": "{n:,} rows share a {column} with another row; each {column} must appear once.",
    "unknown_code": "{column} has {n:,} rows with code(s) the workbook does not know: {codes}. "
                    "Allowed: {allowed}. Map them in the codes section of mapping.yml.",
    "missing_value": "{n:,} rows have no {column}.",
    "unreadable_date": "{n:,} rows have a {column} that is not a date; they were left out.",
    "unreadable_dates": "{column}: {n:,} of {total:,} values are not dates the workbook can read (e.g. {example}). "
                        "It reads YYYY-MM-DD (with or without a time), mm/dd/yyyy or dd/mm/yyyy, Excel serial "
                        "numbers and yyyymmdd; the column was refused rather than leave most rows out.",
    "date_order_conflict": "{column} mixes day-first and month-first dates: {n_day:,} rows can only be "
                           "day/month/year (e.g. {ex_day}) and {n_month:,} only month/day/year (e.g. {ex_month}). "
                           "The workbook will not guess which the others are; write the dates as YYYY-MM-DD.",
    "date_order_undecided": "{column} has {n:,} dates written like {example}, and no value shows whether the day "
                            "or the month comes first (none has a number above 12). The workbook will not guess; "
                            "write the dates as YYYY-MM-DD.",
    "future_date": "{n:,} rows have a {column} after the extract date {end}; they were left out.",
    "after_data_end": "{n:,} rows have a {column} after the data's end, {end} (the last report date); they were "
                      "left out. If the data really run later, give extract_date in mapping.yml.",
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
    "codes_differ_in_case": "{column} has {n:,} rows whose codes differ only in upper/lower case or spaces: "
                            "{codes}; each would become a group of its own. Use one spelling.",
    "duplicate_count_rows": "{n:,} rows repeat the same cell ({columns}); each cell must appear once, or its "
                            "count would be counted twice.",
    "count_above_population": "{n:,} counts are larger than the child population of their cell (for example "
                              "{example}); a rate above 1,000 per 1,000 cannot be right. Check that the "
                              "counts and the population are for the same places, years and groups.",
    "no_race_flag": "{n:,} children have no race flag set (every race column is 0 or empty); they are counted "
                    "in the unknown race group. Set race_unknown to 1 for them to say so explicitly.",
    "count_above_base": "{n:,} counts are larger than the count at their base stage "
                        "(for example {example}).",
    "missing_population_cells": "{n:,} population cells (county, year, group, age group, sex) are "
                                "missing, e.g. {example}; rates for them cannot be computed, and the totals "
                                "that include them (the place's all-groups rate, the Statewide rate of the same "
                                "year and group) are left blank rather than computed without those children's "
                                "population.",
    "no_population_for": "No child population is given for {what}; population-based rates for it "
                         "cannot be computed, and the Statewide rates that would include it are left blank.",
}
"""Every message an analyst can read, as templates (tests assert the exact wording)."""


TRUE = {"1", "y", "yes", "true", "t"}


FALSE = {"0", "n", "no", "false", "f"}


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


class Checker:
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


def date_findings(column: str, values: pd.Series, reading: DateReading, rows: pd.Series | None = None,
                  also_read: int = 0) -> list[tuple[str, pd.Series, dict]]:
    """The errors of a date column read by :func:`~equity_helpers.data.dates.read_dates`, as ``(check, mask
    over values, message fields)``: day-first and month-first values mixed or undecided, or most values
    unreadable. ``rows``: how many records each value stands for (default one each); ``also_read``: records
    read elsewhere (DuckDB reads ``YYYY-MM-DD`` itself)."""
    w = pd.Series(1, index=values.index) if rows is None else rows
    out: list[tuple[str, pd.Series, dict]] = []

    def ex(mask: pd.Series) -> str:
        return ", ".join(repr(v) for v in values[mask].drop_duplicates().head(3))

    if reading.order == "conflict":
        out.append(("date_order_conflict", reading.day_first | reading.month_first,
                    {"column": column, "n_day": int(w[reading.day_first].sum()), "ex_day": ex(reading.day_first),
                     "n_month": int(w[reading.month_first].sum()), "ex_month": ex(reading.month_first)}))
    elif reading.order == "undecided":
        dmy = reading.parsed.isna() & ~reading.unreadable & values.notna()
        out.append(("date_order_undecided", dmy, {"column": column, "example": ex(dmy)}))
    present = values.notna() & ~(reading.parsed.isna() & ~reading.unreadable)
    total = int(w[reading.parsed.notna() | reading.unreadable].sum()) + also_read
    bad = int(w[reading.unreadable].sum())
    if bad and 2 * bad > total:
        out.append(("unreadable_dates", reading.unreadable & present,
                    {"column": column, "total": total, "example": ex(reading.unreadable)}))
    return out


def parse_dates(s: pd.Series) -> pd.Series:
    out = pd.to_datetime(s, errors="coerce", format="ISO8601")
    retry = out.isna() & s.notna()
    if retry.any():
        out = out.copy()
        out[retry] = pd.to_datetime(s[retry], errors="coerce", format="mixed")
    return out


def flag(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    low = s.astype("string").str.strip().str.lower()
    val = pd.Series(np.where(low.isin(list(TRUE)).fillna(False), 1, 0), index=s.index)
    bad = (low.notna() & ~low.isin(list(TRUE | FALSE))).fillna(False).astype(bool)
    return val, bad


def table_present(name: str, rows: int, columns, note: str | None, problems: list[Problem]) -> bool:
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


def records_supplied(present, problems: list[Problem]) -> None:
    """The error when neither child-level records nor aggregate counts were supplied."""
    if not any(k in present for k in ("children", "counts")):
        problems.append(Problem("error", "sources", "no_records", 0, "",
                                "Neither child-level tables (children, reports, episodes) nor an "
                                "aggregate counts table was supplied."))


def as_read(df: pd.DataFrame) -> pd.DataFrame:
    """A raw table as validation reads it: record numbers in ``_row``, missing values, blanks and a database's
    ``NULL`` written out as text as None."""
    df = df.copy()
    if "_row" not in df:
        df.insert(0, "_row", range(1, len(df) + 1))
    df = df.astype(object).where(df.notna(), None)
    for col in df.columns:
        if col != "_row":
            v = df[col].to_numpy(dtype=object)
            # elementwise on objects: several times faster than isin; NULL is a database's empty cell
            blank = (v == "") | (v == " ") | (v == "NULL") | (v == "null")
            if blank.any():
                df[col] = df[col].mask(blank, None)
    return df


def by_value(s: pd.Series, fn) -> pd.Series:
    """``fn`` applied to each distinct value of ``s`` once (missing values stay None): a column of a few
    codes over millions of rows is recoded at the cost of its codes."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    done = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(done[codes], index=s.index, dtype=object)


def trimmed(s: pd.Series) -> pd.Series:
    """Text with surrounding spaces trimmed, text left empty as None; other values unchanged."""
    if pd.api.types.infer_dtype(s, skipna=True) == "string":  # Arrow's string kernels: C++, not a Python loop
        import pyarrow as pa  # pyarrow's compute kernels: imported when a large text column is checked
        import pyarrow.compute as pc  # pyarrow's compute kernels: imported when a large text column is checked

        t = pc.utf8_trim_whitespace(pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
        t = pc.if_else(pc.equal(t, ""), pa.scalar(None, pa.string()), t)
        return pd.Series(t.to_numpy(zero_copy_only=False), index=s.index, dtype=object)
    return s.map(lambda v: (v.strip() or None) if isinstance(v, str) else v)


MAY_BE_EMPTY = frozenset({"disposition", "exit_reason", "first_placement", *EQUITY_COLUMNS})
"""Coded columns that may be empty: no finding yet (read as "none"), an open episode, not recorded
(an optional equity column: counted as "unknown")."""


def same_codes(v: pd.Series, allowed) -> pd.Series:
    """Codes written with other upper/lower case or surrounding spaces (``"Male "``) as the canonical code
    (``"male"``); other values unchanged (unknown codes are reported, never guessed)."""
    canon = {str(a).casefold(): a for a in allowed}
    odd = v.notna() & ~v.isin(list(allowed))
    if not odd.any():
        return v
    return v.where(~odd, by_value(v.where(odd), lambda x: canon.get(str(x).strip().casefold(), x)))


def check_codes(ck: Checker) -> None:
    spec = TABLES[ck.table]
    df = ck.df
    if spec.key:
        dup = df[spec.key].duplicated(keep=False) & df[spec.key].notna()
        ck.error("duplicate_id", dup, column=spec.key)
        ck.error("missing_value", df[spec.key].isna(), column=spec.key)
    for col, allowed in spec.codes.items():
        if col not in df:  # an optional column the agency does not record
            continue
        v = df[col] = same_codes(df[col], allowed)
        bad = v.notna() & ~v.isin(list(allowed))
        if bad.any():
            codes = ", ".join(repr(c) for c in v[bad].value_counts().index[:8])
            ck.error("unknown_code", bad, column=col, codes=codes, allowed=", ".join(allowed))
        if col not in MAY_BE_EMPTY:
            ck.error("missing_value", v.isna(), column=col)
        elif col in EQUITY_COLUMNS:  # not recorded
            df[col] = v.where(v.notna(), "unknown")
    for col in spec.flags:
        if col in df:
            val, bad = flag(df[col])
            if bad.any():
                codes = ", ".join(repr(c) for c in df.loc[bad, col].value_counts().index[:8])
                ck.error("unknown_code", bad, column=col, codes=codes, allowed="1/0, yes/no, true/false")
            df[col] = val
    if ck.table == "children" and all(c in df for c in RACE_FLAGS):
        none = (df[list(RACE_FLAGS)] == 0).all(axis=1)
        note(ck, "no_race_flag", none)


def note(ck: Checker, check: str, mask, **kw) -> None:
    """A warning that neither stops the run nor leaves rows out (rows counted, example rows given)."""
    n = int(np.asarray(mask).sum())
    if n:
        ck.problems.append(Problem("warning", ck.table, check, n, ck.examples(mask),
                                   ck.messages[check].format(n=n, table=ck.table, **kw)))
