"""Date columns read one way, decided from all their values, or refused: never a guess per value.

Agencies export dates as ISO text (``2024-01-05``, with or without a time), as ``mm/dd/yyyy`` or
``dd/mm/yyyy`` (slashes, dots or dashes), as Excel serial day numbers (``45296``) or as compact
``yyyymmdd`` numbers. :func:`read_dates` looks at every value of a column before reading any:

* ISO text, Excel serials and ``yyyymmdd`` numbers read one way only, whatever else the column holds;
* day-month-year text is read **day first** when some value's first field is above 12, **month first**
  when some value's second field is above 12; when both kinds appear, or none does (every value could be
  read either way), the column is refused (:attr:`DateReading.order` is ``"conflict"`` or
  ``"undecided"``) and the caller names the rows. A column with no evidence of its own may take the order
  of its table's other date columns (``order=``).

Known limit: a column that mixes the two orders but whose every value with a field above 12 is of one
kind (say, day first) is read that way, so its ambiguous month-first values are read day first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "EXCEL_EPOCH",
    "NULL_DATES",
    "ORDERS",
    "DateReading",
    "data_end",
    "date_evidence",
    "decide_order",
    "read_dates",
    "table_order",
]

ORDERS = ("day-first", "month-first")

NULL_DATES = frozenset({"null", "na", "n/a", "none", "nan", "nat", "-", "9999-12-31", "12/31/9999",
                        "31/12/9999", "00/00/0000", "0000-00-00"})
"""Spellings of "no date" (compared trimmed and lower-cased): an open episode's exit date written so is open."""

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
"""Day 0 of Excel's serial day numbers (1900 date system, with its leap-year quirk already in the offset)."""

_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_DMY = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})"  # day or month, separator, month or day, year
                  r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?)?$")  # an optional time
_SERIAL = re.compile(r"^\d{4,5}(?:\.\d+)?$")
_COMPACT = re.compile(r"^(?:19|20)\d{6}$")
_WORDS = re.compile(r"[A-Za-z]{3,}")


@dataclass
class DateReading:
    """A column read as dates.

    Attributes
    ----------
    parsed : the dates (``NaT`` where a value is missing or could not be read).
    unreadable : values present but not a date (neither missing nor a null spelling).
    order : ``"day-first"``, ``"month-first"``, ``None`` (no day-month-year values), ``"conflict"`` (both
        kinds of evidence) or ``"undecided"`` (day-month-year values none of which has a field above 12).
    day_first, month_first : the values that are evidence of each order.
    kinds : what the column held, e.g. ``["ISO dates", "Excel serial numbers"]``.
    """

    parsed: pd.Series
    unreadable: pd.Series
    order: str | None
    day_first: pd.Series
    month_first: pd.Series
    kinds: list[str]

    @property
    def refused(self) -> bool:
        """Whether the day-month-year values cannot be read one way for certain."""
        return self.order in ("conflict", "undecided")


def _text(s: pd.Series) -> pd.Series:
    return s.map(lambda v: v.strip() if isinstance(v, str) else (None if v is None or pd.isna(v) else str(v)))


def _plain_iso(s: pd.Series) -> pd.Series | None:
    """``s`` read as dates when every value present is ``YYYY-MM-DD`` (nearly every column: read at C speed),
    else None."""
    try:
        out = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
    except (TypeError, ValueError):
        return None
    return out if not (out.isna() & s.notna()).any() else None


def date_evidence(s: pd.Series) -> tuple[int, int, int]:
    """``(day-first, month-first, day-month-year)``: how many values of ``s`` show each order, and how many
    are day-month-year text at all."""
    if _plain_iso(s) is not None:
        return 0, 0, 0
    parts = _text(s).dropna().str.extract(_DMY)
    dmy = parts[0].notna()
    a, b = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[2], errors="coerce")
    return int((dmy & (a > 12)).sum()), int((dmy & (b > 12)).sum()), int(dmy.sum())


def decide_order(day_first: int, month_first: int, dmy: int) -> str | None:
    """The order the evidence decides (see :class:`DateReading`)."""
    if not dmy:
        return None
    if day_first and month_first:
        return "conflict"
    if day_first:
        return "day-first"
    if month_first:
        return "month-first"
    return "undecided"


def data_end(extract_date, latest: dict[str, list[pd.Timestamp]]) -> pd.Timestamp | None:
    """The data's end: the extract date when given, else the latest report date kept, else (no reports) the
    latest entry or exit kept; ``None`` without any. ``latest``: each table's latest dates kept. A single
    episode dated after the last report does not move it (it is left out as ``after_data_end``)."""
    if extract_date is not None:
        return pd.Timestamp(extract_date)
    for name in ("reports", "episodes"):
        if latest.get(name):
            return max(latest[name])
    return None


def table_order(columns: list[pd.Series]) -> str | None:
    """The order the day-month-year values of a table's date columns decide together (``None`` when they
    decide nothing or contradict each other): what a column with no evidence of its own is read with."""
    day = month = dmy = 0
    for s in columns:
        d, m, n = date_evidence(s)
        day, month, dmy = day + d, month + m, dmy + n
    found = decide_order(day, month, dmy)
    return found if found in ORDERS else None


def read_dates(s: pd.Series, *, order: str | None = None, nulls: bool = False) -> DateReading:
    """Read a column of dates one way (see the module docstring).

    Parameters
    ----------
    s : the raw values (text, or numbers from a spreadsheet).
    order : ``"day-first"`` or ``"month-first"`` to use when the column's own values decide nothing (the
        order of the table's other date columns); the column's own evidence always wins.
    nulls : read the spellings of :data:`NULL_DATES` as missing (an open episode's exit date).

    Returns
    -------
    DateReading
    """
    plain = _plain_iso(s)
    if plain is not None:
        none = pd.Series(False, index=s.index)
        return DateReading(parsed=plain.astype("datetime64[ns]"), unreadable=none, order=None, day_first=none,
                           month_first=none, kinds=["ISO dates"])
    t = _text(s)
    if nulls:
        t = t.where(~t.str.lower().isin(NULL_DATES).astype(bool), None)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    kinds: list[str] = []
    iso = _match(t, _ISO)
    if iso.any():
        kinds.append("ISO dates")
        out[iso] = _iso(t[iso])
    serial = ~iso & _match(t, _SERIAL)
    if serial.any():
        kinds.append("Excel serial numbers")
        days = pd.to_numeric(t[serial], errors="coerce")
        out[serial] = EXCEL_EPOCH + pd.to_timedelta(np.floor(days), unit="D")
    compact = ~iso & ~serial & _match(t, _COMPACT)
    if compact.any():
        kinds.append("yyyymmdd numbers")
        out[compact] = pd.to_datetime(t[compact], format="%Y%m%d", errors="coerce")
    parts = t.str.extract(_DMY)
    dmy = parts[0].notna() & ~iso
    a, b = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[2], errors="coerce")
    day_first, month_first = dmy & (a > 12), dmy & (b > 12)
    found = decide_order(int(day_first.sum()), int(month_first.sum()), int(dmy.sum()))
    if found == "undecided" and order in ORDERS:
        found = order
    if dmy.any():
        kinds.append("day-month-year text")
        if found in ORDERS:
            day, month = (parts[0], parts[2]) if found == "day-first" else (parts[2], parts[0])
            text = parts[3] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
            out[dmy] = pd.to_datetime(text[dmy], format="%Y-%m-%d", errors="coerce")
    words = ~iso & ~serial & ~compact & ~dmy & t.notna() & t.str.contains(_WORDS, na=False).astype(bool)
    if words.any():  # month names ("5 Jan 2024", "January 5, 2024"): one reading only
        kinds.append("dates with month names")
        out[words] = pd.to_datetime(t[words], errors="coerce", format="mixed")
    unreadable = t.notna() & out.isna() & ~(dmy & (found not in ORDERS))
    return DateReading(parsed=out, unreadable=unreadable, order=found, day_first=day_first,
                       month_first=month_first, kinds=kinds)


def _match(t: pd.Series, pattern: re.Pattern) -> pd.Series:
    return t.str.match(pattern, na=False).astype(bool)


def _iso(t: pd.Series) -> pd.Series:
    """ISO 8601 text as naive dates and times (a time zone, when given, dropped: the wall-clock date)."""
    bare = t.str.replace(r"(?:Z|[+-]\d{2}:?\d{2})$", "", regex=True).str.replace("T", " ", regex=False)
    return pd.to_datetime(bare, errors="coerce", format="ISO8601")
