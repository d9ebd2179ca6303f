"""Family engagement: family team meetings and what follows them.

An agency's ``meetings`` table (one row per meeting: ``child_id``, ``meeting_date``, optional
``meeting_type``) is checked like the core tables (:func:`validate_meetings`) and gives two breakdowns
per child, place and year (:mod:`equity_helpers.counting.stages`):

* ``meeting_at_report`` - among children screened in that year: ``yes`` when the family had a meeting
  from the day of the child's first screened-in report to :data:`WINDOW_DAYS` (30) days after it, and
  no later than the child's first entry to care after that report (a meeting before the removal
  decision, as team decision-making is meant to be); ``no`` otherwise; ``not_screened_in`` for children
  counted that year who were not screened in. Compared at entry to care (the cohort-linked
  ``entered_after_substantiation``).
* ``meeting_at_removal`` - among children entering care that year: ``yes`` when a meeting took place 1 to
  :data:`WINDOW_DAYS` days after the child's first entry (a family team meeting after placement), ``no``
  otherwise; ``no_entry`` for the other children. Compared at first placement with kin, permanency and
  reunification within 12 months and stays of 24 months or more.

The field expects family engagement to mean fewer entries, more kin placements, more exits home and
shorter stays. These breakdowns show **associations**: families who are offered and attend meetings
differ from those who are not in ways the records do not hold, so a difference is not an effect of the
meeting.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from equity_helpers.data.checks import Checker, as_read, by_value, parse_dates
from equity_helpers.errors import DataValidationError, Problem
from equity_helpers.schema import fiscal_year

__all__ = ["MEETING_TYPES", "WINDOW_DAYS", "MeetingsTable", "validate_meetings", "meeting_levels", "MEETING_DIMS"]

TABLE = "meetings"
MEETING_TYPES = ("family_team_meeting", "team_decision_making", "case_conference", "other")
"""Meeting types (empty: ``other``)."""
WINDOW_DAYS = 30
"""Days after the report, or after the removal, within which a meeting counts."""
MEETING_DIMS = ("meeting_at_report", "meeting_at_removal")

MESSAGES = {
    "missing_column": "The meetings table has no '{column}' column, which family engagement needs.",
    "empty_table": "The meetings table has no rows.",
    "missing_value": "{n:,} meeting(s) have no {column}; they were left out.",
    "unreadable_date": "{n:,} meeting(s) have a meeting_date that is not a date; they were left out.",
    "future_date": "{n:,} meeting(s) are dated after the extract date ({end}); they were left out.",
    "unknown_child": "{n:,} meeting(s) name a child who is not in the children table; they were left out.",
    "duplicate_row": "{n:,} meeting(s) repeat an earlier row exactly; the copies were left out.",
    "unknown_type": "{n:,} meeting(s) have a meeting_type the workbook does not know ({codes}); they are "
                    "counted as 'other'. Known types: {allowed}.",
}


@dataclass
class MeetingsTable:
    """The validated ``meetings`` table: ``meetings`` (``child_id``, ``meeting_date`` datetime, ``meeting_type``),
    ``problems`` (warnings: rows left out or recoded) and ``accounting`` (rows read, used, excluded)."""

    meetings: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    accounting: pd.DataFrame = field(default_factory=pd.DataFrame)


def validate_meetings(raw: pd.DataFrame, *, child_ids: pd.Series | None = None,
                      extract_date: str | pd.Timestamp | None = None,
                      known: Callable[[pd.Series], np.ndarray] | None = None) -> MeetingsTable:
    """Check the ``meetings`` table: every problem at once, every row accounted for.

    Errors (one :class:`~equity_helpers.errors.DataValidationError` with all of them): a required column
    missing (``child_id``, ``meeting_date``), no rows. Rows left out, each counted with example record
    numbers (a row under its first reason): ``child_id`` or ``meeting_date`` missing; a date that is not
    a date; a date after ``extract_date``; a child not in ``child_ids`` (the validated children); an exact
    copy of an earlier row. An unknown ``meeting_type`` is kept and counted as ``other`` (a warning).

    ``known``, in place of ``child_ids``: a function telling which of the given ids (text) are validated
    children, as a boolean array (a DuckDB extract answers in SQL, without reading its children).
    """
    problems: list[Problem] = []
    missing = [c for c in ("child_id", "meeting_date") if c not in raw.columns]
    for c in missing:
        problems.append(Problem("error", TABLE, "missing_column", len(raw), "",
                                MESSAGES["missing_column"].format(column=c)))
    if not missing and len(raw) == 0:
        problems.append(Problem("error", TABLE, "empty_table", 0, "", MESSAGES["empty_table"]))
    if problems:
        raise DataValidationError(problems)
    ck = Checker(TABLE, as_read(raw), problems, messages=MESSAGES)
    df, exclude = ck.df, ck.exclude
    exclude("missing_value", df["child_id"].isna(), column="child_id")
    exclude("missing_value", df["meeting_date"].isna(), column="meeting_date")
    date = parse_dates(df["meeting_date"])
    exclude("unreadable_date", df["meeting_date"].notna() & date.isna())
    end = pd.Timestamp(extract_date) if extract_date is not None else pd.Timestamp.today().normalize()
    exclude("future_date", date > end, end=end.date())
    if known is None and child_ids is not None:
        known_ids = pd.Index(child_ids).astype(str)
        known = lambda ids: ids.isin(known_ids).to_numpy()  # noqa: E731
    if known is not None:
        given = df["child_id"].notna().to_numpy()
        found = np.zeros(len(df), dtype=bool)
        found[given] = known(df.loc[given, "child_id"].astype(str))
        exclude("unknown_child", given & ~found)
    cols = [c for c in raw.columns if c != "_row"]
    exclude("duplicate_row", df[cols].duplicated())
    kinds = (df["meeting_type"] if "meeting_type" in df else pd.Series(None, index=df.index, dtype=object))
    kinds = by_value(kinds, lambda v: v.strip().lower().replace(" ", "_").replace("-", "_")
                      if isinstance(v, str) else None)
    bad = kinds.notna() & ~kinds.isin(MEETING_TYPES) & (ck.excluded == "")
    n = int(bad.sum())
    if n:  # kept, counted as "other": a warning, not an exclusion
        codes = ", ".join(repr(c) for c in kinds[bad].value_counts().index[:8])
        problems.append(Problem("warning", TABLE, "unknown_type", n, ck.examples(bad), MESSAGES["unknown_type"].format(
            n=n, codes=codes, allowed=", ".join(MEETING_TYPES))))
    kinds = kinds.where(kinds.isin(MEETING_TYPES), "other")
    kept = ck.excluded == ""
    if not kept.any():
        raise DataValidationError(problems + [Problem("error", TABLE, "no_rows_left", len(df), "",
                                                      "No meeting is left once the rows above are left out.")])
    out = pd.DataFrame({"child_id": df.loc[kept, "child_id"].astype(str).to_numpy(),
                        "meeting_date": date[kept].astype("datetime64[ns]").to_numpy(),
                        "meeting_type": kinds[kept].to_numpy()})
    return MeetingsTable(meetings=out, problems=problems,
                         accounting=pd.DataFrame(ck.accounting(), columns=["table", "outcome", "reason", "rows"]))


def _firsts(frame: pd.DataFrame, date: str, *, include_state: bool, include_counties: bool,
            state: str) -> pd.DataFrame:
    f = frame.sort_values(date, kind="stable")
    parts = []
    if include_counties:
        parts.append(f.drop_duplicates(["child_id", "jurisdiction", "period"]))
    if include_state:
        parts.append(f.drop_duplicates(["child_id", "period"]).assign(jurisdiction=state))
    return pd.concat(parts, ignore_index=True)


def _met(anchor: pd.DataFrame, meetings: pd.DataFrame, *, lo: int, hi: int, until: str | None = None) -> np.ndarray:
    """Whether each anchor row's child had a meeting from ``lo`` to ``hi`` days after ``anchor['date']``
    (and, with ``until``, on or before that column's date where it is set)."""
    a = anchor[["child_id", "date"] + ([until] if until else [])].reset_index(drop=True)
    a["_i"] = np.arange(len(a))
    m = a.merge(meetings[["child_id", "meeting_date"]], on="child_id")
    gap = (m["meeting_date"] - m["date"]).dt.days
    ok = (gap >= lo) & (gap <= hi)
    if until:
        ok &= m[until].isna() | (m["meeting_date"] <= m[until])
    hit = np.zeros(len(a), dtype=bool)
    hit[m.loc[ok.to_numpy(), "_i"].to_numpy()] = True
    return hit


def meeting_levels(dim: str, *, reports: pd.DataFrame | None, episodes: pd.DataFrame | None,
                   meetings: pd.DataFrame, calendar: bool, first_year: int, last_year: int,
                   include_state: bool = True, include_counties: bool = True, state: str = "Statewide"
                   ) -> pd.DataFrame:
    """A meeting breakdown's level per child, place and period (see the module notes): ``child_id``,
    ``jurisdiction``, ``period`` and ``dim`` ("yes" or "no"; children without a row get
    ``not_screened_in`` / ``no_entry`` from the caller)."""

    cols = ["child_id", "jurisdiction", "period", dim]
    if dim == "meeting_at_report":
        if reports is None:
            return pd.DataFrame(columns=cols)
        si = reports[reports["screened_in"] == 1][["child_id", "jurisdiction", "period", "report_date"]]
        first = _firsts(si.rename(columns={"report_date": "date"}), "date", include_state=include_state,
                        include_counties=include_counties, state=state)
        if episodes is not None and len(first):
            # the child's first entry on or after the report, in the same place (anywhere for the state)
            e = episodes[["child_id", "jurisdiction", "entry_date"]]
            m = first[["child_id", "jurisdiction", "date"]].reset_index().merge(
                e.rename(columns={"jurisdiction": "e_j"}), on="child_id")
            m = m[(m["entry_date"] >= m["date"]) & ((m["jurisdiction"] == state) | (m["e_j"] == m["jurisdiction"]))]
            first["entry"] = m.groupby("index")["entry_date"].min().reindex(first.index)
        else:
            first["entry"] = pd.NaT
        first[dim] = np.where(_met(first, meetings, lo=0, hi=WINDOW_DAYS, until="entry"), "yes", "no")
        return first[cols]
    if dim == "meeting_at_removal":
        if episodes is None:
            return pd.DataFrame(columns=cols)
        e = episodes.assign(period=fiscal_year(episodes["entry_date"], calendar=calendar))
        e = e[e["period"].between(first_year, last_year)][["child_id", "jurisdiction", "period", "entry_date"]]
        first = _firsts(e.rename(columns={"entry_date": "date"}), "date", include_state=include_state,
                        include_counties=include_counties, state=state)
        first[dim] = np.where(_met(first, meetings, lo=1, hi=WINDOW_DAYS), "yes", "no")
        return first[cols]
    raise ValueError(f"unknown meeting breakdown {dim!r}")
