"""Privacy-preserving linkage with a domestic violence (DV) partner: a keyed family hash, the partner's
service table, and when families received DV services relative to their child welfare reports.

Child welfare agencies and DV programs want to look at families involved in both systems without
exchanging names. Both sides compute the same keyed hash of caregiver identifiers
(:func:`family_hash`) and share only the hash:

* the agency adds an optional ``family_hash`` column to its reports table (:func:`hash_families`);
* the DV partner sends a ``dv_services`` table, one row per service episode of a family
  (:data:`DV_SERVICES_COLUMNS`), checked by :func:`validate_dv_services` the way the core tables are
  checked (every problem at once, row counts, example rows, an accounting of every row);
* :func:`service_timing` says, for every report, whether the family had DV services before the
  report, only after it, not at all in the partner's records, or could not be linked.

The recipe both organisations must agree on, and never change without telling each other:

1. the secret key (agreed between the two organisations, kept by each outside the data);
2. the normalisation of names (:func:`normalise_name`) and of the birth date (``YYYY-MM-DD``);
3. the fields and their order: ``LAST|FIRST|YYYY-MM-DD`` (caregiver's last name, first name, birth date);
4. HMAC-SHA256 (RFC 2104 with SHA-256, FIPS 180-4), written as 64 lowercase hexadecimal characters.

:func:`partner_sample` makes a synthetic partner table for the sample state with planted, documented
timing differences (:data:`PARTNER_PLANTED`, :func:`partner_truth`).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from equity_helpers.data.checks import Checker, accounting_summary, as_read, by_value, parse_dates, trimmed
from equity_helpers.errors import DataValidationError, ParameterError, Problem, problems_frame
from equity_helpers.schema import TableSpec

__all__ = [
    "normalise_name",
    "family_hash",
    "hash_families",
    "DV_SERVICES_COLUMNS",
    "DV_SERVICES_REQUIRED",
    "DV_SERVICES_OPTIONAL",
    "SERVICE_TYPES",
    "TIMING",
    "MESSAGES",
    "PartnerServices",
    "validate_dv_services",
    "service_timing",
    "PARTNER_PLANTED",
    "SAMPLE_KEY",
    "partner_sample",
    "partner_truth",
]

TABLE = "dv_services"

SERVICE_TYPES: tuple[str, ...] = ("shelter", "advocacy", "counseling", "legal_advocacy", "hotline", "other")
"""Service types the workbook knows; anything else is counted as ``"other"`` (with a warning)."""

DV_SERVICES_COLUMNS = TableSpec(
    name=TABLE,
    required=("family_hash", "service_start", "service_type"),
    optional=("service_end", "program"),
    dates=("service_start", "service_end"),
    codes={"service_type": SERVICE_TYPES},
)
"""The partner's ``dv_services`` table, one row per service episode of a family (not one of the core
:data:`~equity_helpers.schema.TABLES`): ``service_end`` empty = still going on at the extract date."""
DV_SERVICES_REQUIRED: tuple[str, ...] = DV_SERVICES_COLUMNS.required
"""Columns the partner's table must have."""
DV_SERVICES_OPTIONAL: tuple[str, ...] = DV_SERVICES_COLUMNS.optional
"""Columns it may have."""

TIMING: tuple[str, ...] = ("before", "after_only", "none", "unlinked")
"""The categories of :func:`service_timing`, in display order."""

_HASH = re.compile(r"^[0-9a-f]{64}$")
_NOT_LETTER = re.compile(r"[^A-Z]")

MESSAGES: dict[str, str] = {
    "missing_column": "The {table} table has no '{column}' column, which the linkage needs. Ask the partner "
                      "to send it under this name (the columns are agreed with the hashing recipe).",
    "empty_table": "The {table} table has no rows (only its header line was found).",
    "bad_hash": "{n:,} rows were left out: their family_hash is not a 64-character hash (64 characters 0-9 "
                "and a-f, as the agreed recipe makes them; a missing or shortened hash, or plain names, cannot "
                "link).",
    "missing_value": "{n:,} rows have no {column}; they were left out.",
    "unreadable_date": "{n:,} rows have a {column} that is not a date; they were left out.",
    "end_before_start": "{n:,} rows have a service_end before their service_start; they were left out.",
    "future_date": "{n:,} rows have a {column} after the extract date {end}; they were left out.",
    "after_today": "{n:,} rows have a {column} after today ({end}), which cannot be right; they were left out. "
                   "If the data really end later, give the extract date.",
    "unknown_service_type": "service_type has {n:,} rows with type(s) the workbook does not know: {codes}. "
                            "They were kept and counted as 'other'. Known types: {allowed}.",
    "duplicate_row": "{n:,} rows are exact copies of an earlier row; the copies were left out (each service "
                     "episode counts once).",
    "no_rows_left": "No row of the {table} table could be used: every row was left out (see the warnings).",
}
"""Every message an analyst can read about the partner's table (tests assert the wording)."""


# --------------------------------------------------------------------------- the hash
def normalise_name(s: str) -> str:
    """A name as both organisations hash it: the letters A-Z only, upper case.

    Rules, in order: Unicode compatibility decomposition (NFKD, Unicode Standard Annex #15), which splits
    accented letters into a base letter and a combining mark (and ligatures such as "ﬁ" into "fi");
    combining marks are dropped; the text is upper-cased ("ß" becomes "SS"); then everything that is not
    a letter A-Z is dropped - spaces, hyphens, apostrophes, full stops, digits, and letters with no A-Z
    base ("Ø", "Ł", non-Latin scripts).

    Examples: ``"María-José O'Neil"`` -> ``"MARIAJOSEONEIL"``; ``" de la Cruz "`` -> ``"DELACRUZ"``;
    ``"Nguyễn"`` -> ``"NGUYEN"``. The result is idempotent (normalising twice changes nothing).
    """
    if not isinstance(s, str):
        raise ParameterError(f"A name must be text, not {type(s).__name__}.")
    decomposed = unicodedata.normalize("NFKD", s)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_LETTER.sub("", bare.upper())


def _key_bytes(key: str | bytes) -> bytes:
    """The shared secret as bytes (text keys are UTF-8 encoded); an empty key is refused."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise ParameterError("The linkage key must be text or bytes (the secret agreed with the partner).")
    if not key:
        raise ParameterError("The linkage key is empty; give the secret key agreed with the partner "
                             "(never stored with the data).")
    return bytes(key)


def _is_dateish(v: object) -> bool:
    return isinstance(v, (str, date, np.datetime64)) and not (isinstance(v, str) and not v.strip())


def _iso_dates(values: pd.Series) -> pd.Series:
    """Birth dates as ``YYYY-MM-DD`` text (None where missing or not a date).

    Accepts text (ISO 8601 first, then any form pandas recognises, month before day as in
    "07/08/1993" = 8 July), :class:`datetime.date`, :class:`datetime.datetime`, :class:`pandas.Timestamp`
    and ``numpy.datetime64``; a time of day is ignored. Other types (numbers) are not dates.
    """
    v = pd.Series(values, dtype=object)
    ok = v.map(_is_dateish).astype(bool)
    parsed = parse_dates(v.where(ok, None).map(lambda x: x.strip() if isinstance(x, str) else x))
    iso = parsed.dt.strftime("%Y-%m-%d").astype(object)
    return iso.where(parsed.notna(), None)


def _normalised_names(values: pd.Series) -> pd.Series:
    """:func:`normalise_name` of every value (None where missing, not text, or without a letter A-Z)."""
    v = pd.Series(values, dtype=object)
    uniq = {x for x in v if isinstance(x, str)}
    table = {x: normalise_name(x) or None for x in uniq}
    return v.map(lambda x: table.get(x) if isinstance(x, str) else None)


def _digest(key: bytes, last: str, first: str, iso: str) -> str:
    message = f"{last}|{first}|{iso}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def family_hash(last_name: str, first_name: str, birth_date: str | date | pd.Timestamp, *,
                key: str | bytes) -> str:
    """The keyed hash of one caregiver that both organisations compute and share instead of names.

    Recipe: HMAC-SHA256 (RFC 2104, FIPS 180-4) with the shared secret ``key`` over the UTF-8 text
    ``f"{normalise_name(last_name)}|{normalise_name(first_name)}|{YYYY-MM-DD}"``, written as 64
    lowercase hexadecimal characters. The birth date may be ISO text (or any text pandas reads, month
    before day), a date or a Timestamp; it is written as ``YYYY-MM-DD`` (time of day ignored).

    Why keyed: a plain hash (e.g. SHA-256 of the names and birth date) can be reversed by anyone who
    hashes every plausible name and birth date and looks the results up - there are only millions of
    combinations. With a secret key agreed between the two organisations, nobody without the key can
    compute or test a hash.

    Both sides must agree on: the key, the normalisation (:func:`normalise_name`, ISO dates) and the
    field order (last name, first name, birth date, separated by ``|``). The key must never be stored
    with the data, in the workbook's folders, in notebooks or in reports; each organisation keeps it
    apart (e.g. in a password manager) and passes it in when hashing.

    Raises
    ------
    ParameterError
        For an empty key, a missing name or one without any letter A-Z, or a missing or unreadable
        birth date.
    """
    k = _key_bytes(key)
    names = _normalised_names(pd.Series([last_name, first_name], dtype=object))
    for label, raw, norm in (("last name", last_name, names.iloc[0]), ("first name", first_name, names.iloc[1])):
        if norm is None:
            raise ParameterError(f"The caregiver's {label} ({raw!r}) is missing or has no letter A-Z; "
                                 "a family hash needs both names and the birth date.")
    iso = _iso_dates(pd.Series([birth_date], dtype=object)).iloc[0]
    if iso is None:
        raise ParameterError(f"The caregiver's birth date ({birth_date!r}) is missing or not a date; "
                             "a family hash needs both names and the birth date.")
    return _digest(k, names.iloc[0], names.iloc[1], iso)


def hash_families(df: pd.DataFrame, *, last: str = "caregiver_last_name", first: str = "caregiver_first_name",
                  birth: str = "caregiver_birth_date", key: str | bytes) -> pd.Series:
    """:func:`family_hash` of every row of ``df`` (the same recipe, names normalised once per distinct name).

    Rows with a missing name (or one without a letter A-Z) or a missing or unreadable birth date get
    ``<NA>`` instead of an error: those reports stay in the analysis as "unlinked".

    Returns
    -------
    pandas.Series
        Named ``family_hash``, string dtype, indexed like ``df``. ``result.attrs["unhashed"]`` is the
        number of rows that could not be hashed (equal to ``result.isna().sum()``); report it next to any
        linked result.

    Raises
    ------
    ParameterError
        For an empty key or a missing column.
    """
    k = _key_bytes(key)
    missing = [c for c in (last, first, birth) if c not in df.columns]
    if missing:
        raise ParameterError(f"The table has no column(s) {', '.join(map(repr, missing))}; name the caregiver's "
                             "last name, first name and birth date columns with last=, first=, birth=.")
    ln, fn, iso = _normalised_names(df[last]), _normalised_names(df[first]), _iso_dates(df[birth])
    out = [None if (a is None or b is None or d is None) else _digest(k, a, b, d)
           for a, b, d in zip(ln.to_numpy(), fn.to_numpy(), iso.to_numpy())]
    result = pd.Series(out, index=df.index, dtype="string", name="family_hash")
    result.attrs["unhashed"] = int(result.isna().sum())
    return result


# --------------------------------------------------------------------------- the partner's table
@dataclass
class PartnerServices:
    """The partner's validated ``dv_services`` table.

    Attributes
    ----------
    services : one row per service episode used: ``family_hash`` (64 lowercase hex), ``service_start``
        and ``service_end`` (``datetime64``; ``service_end`` is NaT while the service goes on),
        ``service_type`` (one of :data:`SERVICE_TYPES`) and ``program`` when the partner sent it.
    problems : every finding (warnings: rows left out or recoded).
    accounting : ``table`` ("dv_services"), ``outcome`` ("read", "used", "excluded"), ``reason``, ``rows``,
        as for the core tables; rows read = used + excluded.
    """

    services: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    accounting: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def quality(self) -> pd.DataFrame:
        """The data-quality table (one row per finding)."""
        return problems_frame(self.problems)

    def accounting_summary(self) -> pd.DataFrame:
        """Rows read, used, excluded (:func:`equity_helpers.data.checks.accounting_summary`)."""
        return accounting_summary(self.accounting)


def _service_type(s: pd.Series) -> pd.Series:
    """Service types in the workbook's spelling: trimmed, lower case, spaces and hyphens as "_"."""
    return by_value(s, lambda v: re.sub(r"[\s\-]+", "_", v.strip().lower()) if isinstance(v, str) else None)


def _hashes(given: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``(hashes in lower case (None where not text), whether each is 64 hexadecimal characters)``."""
    import pyarrow as pa  # pyarrow's compute kernels: imported when a large text column is checked
    import pyarrow.compute as pc  # pyarrow's compute kernels: imported when a large text column is checked

    v = given.to_numpy(dtype=object)
    text = np.fromiter((isinstance(x, str) for x in v), dtype=bool, count=len(v))
    low = pc.utf8_lower(pa.array(np.where(text, v, None), type=pa.string(), from_pandas=True))
    good = pc.fill_null(pc.match_substring_regex(low, _HASH.pattern), False).to_numpy(zero_copy_only=False)
    return pd.Series(low.to_numpy(zero_copy_only=False), index=given.index, dtype=object), np.asarray(good, bool)


def _present(raw: pd.DataFrame) -> list[Problem]:
    """Errors for every missing required column, or for a table without rows."""
    problems = [Problem("error", TABLE, "missing_column", len(raw), "",
                        MESSAGES["missing_column"].format(table=TABLE, column=c))
                for c in DV_SERVICES_REQUIRED if c not in raw.columns]
    if not problems and len(raw) == 0:
        problems.append(Problem("error", TABLE, "empty_table", 0, "", MESSAGES["empty_table"].format(table=TABLE)))
    return problems


def validate_dv_services(raw: pd.DataFrame, *, extract_date: str | pd.Timestamp | None = None) -> PartnerServices:
    """Check the DV partner's ``dv_services`` table: every problem at once, nothing dropped silently.

    Errors (raise :class:`~equity_helpers.errors.DataValidationError` listing all of them): required
    columns missing (:data:`DV_SERVICES_REQUIRED`), no rows, or no row left after the checks below.

    Warnings, rows left out (each counted, with example record numbers, in ``problems`` and
    ``accounting``; a row is counted under its first reason in this order):

    * ``bad_hash`` - family_hash missing or not 64 hexadecimal characters (upper-case hex is accepted
      and lower-cased; surrounding spaces are trimmed);
    * ``missing_value`` / ``unreadable_date`` - service_start missing or not a date; a service_end that
      is given but is not a date (an empty service_end means the service goes on);
    * ``end_before_start`` - service_end before service_start;
    * ``future_date`` - service_start or service_end after ``extract_date``; without an extract date,
      ``after_today`` - after today (as :func:`equity_helpers.counting.load.validate` does);
    * ``duplicate_row`` - an exact copy (every column, as supplied after trimming) of an earlier row
      still in; the first copy is kept.

    Kept with a warning: a service_type the workbook does not know (:data:`SERVICE_TYPES`, compared in
    lower case with spaces and hyphens read as "_") or an empty one is counted as ``"other"`` - the
    family was still served, so leaving the row out would hide a service.

    Returns
    -------
    PartnerServices
    """
    problems = _present(raw)
    if problems:
        raise DataValidationError(problems)
    df = as_read(raw)
    for col in df.columns:
        if col != "_row":
            df[col] = trimmed(df[col])
    supplied = df.drop(columns="_row").copy()
    ck = Checker(TABLE, df, problems, messages=MESSAGES)
    hashes, good = _hashes(df["family_hash"])
    ck.exclude("bad_hash", ~good)
    df["family_hash"] = hashes
    start = parse_dates(df["service_start"])
    ck.exclude("missing_value", df["service_start"].isna(), column="service_start")
    ck.exclude("unreadable_date", start.isna(), column="service_start")
    end = parse_dates(df["service_end"]) if "service_end" in df else pd.Series(pd.NaT, index=df.index)
    if "service_end" in df:
        ck.exclude("unreadable_date", end.isna() & df["service_end"].notna(), column="service_end")
    ck.exclude("end_before_start", (end < start).fillna(False))
    limit = pd.Timestamp(extract_date) if extract_date is not None else pd.Timestamp.today().normalize()
    check = "future_date" if extract_date is not None else "after_today"
    for col, d in (("service_start", start), ("service_end", end)):
        ck.exclude(check, (d > limit).fillna(False), column=col, end=limit.date())
    live = (ck.excluded == "").to_numpy()
    copies = np.zeros(len(df), dtype=bool)
    copies[live] = supplied[live].duplicated(keep="first").to_numpy()
    ck.exclude("duplicate_row", copies)
    df["service_start"], df["service_end"] = start, end
    _recode_types(ck)
    if ck.excluded.eq("").sum() == 0:
        problems.append(Problem("error", TABLE, "no_rows_left", 0, "", MESSAGES["no_rows_left"].format(table=TABLE)))
        raise DataValidationError(problems)
    accounting = pd.DataFrame(ck.accounting(), columns=["table", "outcome", "reason", "rows"])
    return PartnerServices(services=_typed(ck.kept()), problems=problems, accounting=accounting)


def _recode_types(ck: Checker) -> None:
    """Unknown or empty service types of rows still in become "other", with one warning."""
    df = ck.df
    types = _service_type(df["service_type"])
    unknown = ~types.isin(list(SERVICE_TYPES)).to_numpy() & (ck.excluded == "").to_numpy()
    n = int(unknown.sum())
    if n:
        shown = df.loc[unknown, "service_type"].map(lambda v: "(empty)" if v is None else repr(v))
        codes = ", ".join(shown.value_counts().index[:8])
        ck.problems.append(Problem("warning", TABLE, "unknown_service_type", n, ck.examples(unknown),
                                   MESSAGES["unknown_service_type"].format(n=n, codes=codes,
                                                                           allowed=", ".join(SERVICE_TYPES))))
    df["service_type"] = types.where(~unknown, "other")


def _typed(kept: pd.DataFrame) -> pd.DataFrame:
    """The used rows with the table's columns and types (text as ``str``, dates as ``datetime64``)."""
    out = pd.DataFrame({
        "family_hash": kept["family_hash"].astype(str),
        "service_start": pd.to_datetime(kept["service_start"]),
        "service_end": pd.to_datetime(kept["service_end"]),
        "service_type": kept["service_type"].astype(str),
    })
    if "program" in kept:
        out["program"] = kept["program"].astype(str).where(kept["program"].notna())
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- timing
def _days(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(f"{name} must be a whole number of days, 0 or more (got {value!r}).")
    return int(value)


def _clean_hashes(s: pd.Series) -> pd.Series:
    """Hashes as lowercase text without surrounding spaces; blanks are missing."""
    t = s.astype("string").str.strip().str.lower()
    return t.mask(t == "")


def service_timing(reports: pd.DataFrame, services: pd.DataFrame, *, before_days: int = 365,
                   after_days: int = 180) -> pd.DataFrame:
    """When each report's family received DV services from the partner, relative to the report date.

    Categories (:data:`TIMING`), per report, with dates compared as whole days:

    * ``"before"`` - a service of the family started on the report date or within ``before_days`` days
      before it (the day exactly ``before_days`` earlier counts), or started earlier and was still going
      on on the report date (``service_end`` empty, or on or after the report date);
    * ``"after_only"`` - no service before, but one started 1 to ``after_days`` days after the report
      date (the day exactly ``after_days`` later counts);
    * ``"none"`` - the report has a family hash but no such service. This also covers every family the
      partner never served, and families served only by other DV programs: the partner's table covers the
      partner's own programs only, so "none" is not "no DV services anywhere";
    * ``"unlinked"`` - the report has no family hash (caregiver identifiers not recorded), or the reports
      table has no ``family_hash`` column at all.

    A service starting on the report day counts as "before" (the dates carry no time of day). Reports
    less than ``after_days`` days before the extract date have not had the full time to show "after_only".

    Parameters
    ----------
    reports : ``report_id``, ``report_date`` (datetime or date text) and ``family_hash`` (may be missing).
    services : the partner's services (:attr:`PartnerServices.services`): ``family_hash``,
        ``service_start`` and, optionally, ``service_end``.
    before_days, after_days : the windows, in days.

    Returns
    -------
    pandas.DataFrame
        One row per report, indexed like ``reports``: ``report_id`` and ``dv_services`` (categorical,
        categories :data:`TIMING`).
    """
    before_days, after_days = _days(before_days, "before_days"), _days(after_days, "after_days")
    need = [c for c in ("report_id", "report_date") if c not in reports.columns]
    need += [f"services.{c}" for c in ("family_hash", "service_start") if c not in services.columns]
    if need:
        raise ParameterError(f"service_timing needs the column(s) {', '.join(need)}.")
    hashes = (_clean_hashes(reports["family_hash"]) if "family_hash" in reports
              else pd.Series(pd.NA, index=reports.index, dtype="string"))
    rep = pd.DataFrame({"_i": np.arange(len(reports)), "family_hash": hashes.to_numpy(),
                        "report_date": parse_dates(reports["report_date"]).dt.normalize().to_numpy()})
    linked = rep[rep["family_hash"].notna()]
    if linked["report_date"].isna().any():
        raise ParameterError(f"{int(linked['report_date'].isna().sum()):,} linked reports have no report_date.")
    end = services["service_end"] if "service_end" in services else pd.Series(pd.NaT, index=services.index)
    svc = pd.DataFrame({"family_hash": _clean_hashes(services["family_hash"]).to_numpy(),
                        "start": parse_dates(services["service_start"]).dt.normalize().to_numpy(),
                        "end": parse_dates(end).dt.normalize().to_numpy()})
    svc = svc[svc["family_hash"].notna() & svc["start"].notna()]
    m = linked.merge(svc, on="family_hash", how="inner")
    offset = (m["start"] - m["report_date"]).dt.days
    going_on = (offset <= 0) & (m["end"].isna() | (m["end"] >= m["report_date"]))
    before = ((offset <= 0) & (offset >= -before_days)) | going_on
    after = (offset > 0) & (offset <= after_days)
    n = len(rep)
    had_before = np.zeros(n, dtype=bool)
    had_after = np.zeros(n, dtype=bool)
    had_before[m.loc[before.to_numpy(), "_i"].to_numpy()] = True
    had_after[m.loc[after.to_numpy(), "_i"].to_numpy()] = True
    status = np.where(rep["family_hash"].isna().to_numpy(), "unlinked",
                      np.where(had_before, "before", np.where(had_after, "after_only", "none")))
    return pd.DataFrame({"report_id": reports["report_id"].to_numpy(),
                         "dv_services": pd.Categorical(status, categories=list(TIMING))}, index=reports.index)


# --------------------------------------------------------------------------- synthetic partner
_GROUPS = ("white", "black", "hispanic", "aian", "asian", "nhpi", "multiracial", "unknown")

PARTNER_PLANTED: dict = {
    "before": dict(white=0.40, black=0.26, hispanic=0.22, aian=0.28, asian=0.30, nhpi=0.30, multiracial=0.32,
                   unknown=0.30),
    "after": {g: 0.30 for g in _GROUPS},
    "before_days": 365,
    "after_days": 180,
    "long_running": 0.10,
    "old_service": 0.10,
    "follow_on": 0.25,
    "no_identifiers": 0.02,
    "unseen_rows_per_planted_row": 1.0,
    "unseen_extra_rows_mean": 0.25,
    "caregiver_age_years": (18, 45),
    "double_last_name": 0.15,
    "service_mix": {"shelter": 0.20, "advocacy": 0.30, "counseling": 0.20, "legal_advocacy": 0.10,
                    "hotline": 0.15, "other": 0.05},
    "mean_days": {"shelter": 45, "advocacy": 120, "counseling": 150, "legal_advocacy": 90, "hotline": 0,
                  "other": 60},
}
"""Every planted effect of the synthetic DV partner (:func:`partner_sample`).

``before[g]``: probability that a family of race group ``g`` with a DV-involved report had a partner
service starting in the ``before_days`` (365) days before its first DV report (of those,
``long_running`` started earlier and was still going on). ``after[g]``: if not before, probability of a
service starting 1-``after_days`` (180) days after. ``old_service``: share of the other families with a
short service that started more than 400 days before and ended well before the report (neither before
nor after). ``follow_on``: share of planted services followed by a second one. ``no_identifiers``: share of
children whose caregiver identifiers the agency did not record (their reports are unlinked; the
partner's rows for them do not link). ``unseen_rows_per_planted_row``: rows of families the agency never
saw, per planted row. Service types follow ``service_mix``; lengths are exponential with ``mean_days``
(hotline contacts end the day they start).
"""

SAMPLE_KEY = "sample-state-demonstration-key-public-never-for-real-data"
"""The sample state's linkage key. It is public (it is in this file), so it protects nothing: real
linkage uses a secret agreed with the partner and never written into code, data or reports."""

_FIRST_NAMES = ("María", "José", "Aaliyah", "Jennifer", "Michael", "Ashley", "Jessica", "Christopher",
                "Amanda", "Daniel", "Brittany", "Luis", "Ana Lucía", "Mei", "Kiana", "Tyrone", "Keisha",
                "Dakota", "Hope", "Samantha", "Noelani", "Thanh", "Priya", "Renée", "Zoë", "Chloé",
                "Sean", "Marisol", "Jamal", "Leilani", "Crystal", "Destiny", "Miguel Ángel", "Sarah",
                "Nicole", "Joshua", "Ji-woo", "Fatima", "Raven", "Elena")
_LAST_NAMES = ("Smith", "Johnson", "García", "Martínez", "Núñez", "O'Brien", "Nguyễn", "Begay", "Yazzie",
               "Kealoha", "Washington", "Jackson", "Kim", "Patel", "Chen", "Müller", "St. John", "López",
               "Williams", "Brown", "Davis", "Rodríguez", "Hernández", "Tsosie", "Fa'alogo", "Park",
               "Thompson", "Harris", "Robinson", "Wilson", "Pérez", "Sánchez", "Lee", "Walker", "Young",
               "Díaz", "McAllister", "Okafor", "Castillo", "Reyes")
_PROGRAMS = {"shelter": "Safe Harbor Shelter", "advocacy": "Community Advocacy", "counseling": "Healing Together",
             "legal_advocacy": "Legal Advocacy Project", "hotline": "24-hour Helpline", "other": "Family Support"}


def _caregivers(rng: np.random.Generator, anchor: np.ndarray, taken: set[tuple[str, str, str]]) -> pd.DataFrame:
    """Invented caregivers (names independent of race), one per ``anchor`` date, born 18-45 years earlier;
    birth dates are redrawn until no two caregivers (nor any in ``taken``) share normalised identifiers."""
    n = len(anchor)
    pp = PARTNER_PLANTED
    first = np.asarray(_FIRST_NAMES, dtype=object)[rng.integers(0, len(_FIRST_NAMES), n)]
    last = np.asarray(_LAST_NAMES, dtype=object)[rng.integers(0, len(_LAST_NAMES), n)]
    second = np.asarray(_LAST_NAMES, dtype=object)[rng.integers(0, len(_LAST_NAMES), n)]
    double = (rng.random(n) < pp["double_last_name"]) & (second != last)
    last = np.where(double, last + "-" + second, last)
    lo, hi = (round(y * 365.25) for y in pp["caregiver_age_years"])
    anchor = anchor.astype("datetime64[D]")
    birth = anchor - rng.integers(lo, hi + 1, n).astype("timedelta64[D]")
    key = pd.DataFrame({"l": _normalised_names(pd.Series(last)), "f": _normalised_names(pd.Series(first))})
    for _ in range(100):
        key["b"] = birth.astype(str)
        clash = key.duplicated(keep="first").to_numpy()
        if taken:
            clash |= np.fromiter(((r.l, r.f, r.b) in taken for r in key.itertuples()), dtype=bool, count=n)
        if not clash.any():
            break
        birth[clash] = anchor[clash] - rng.integers(lo, hi + 1, int(clash.sum())).astype("timedelta64[D]")
    else:  # pragma: no cover - needs far more caregivers than the name lists and 27 years of dates allow
        raise ParameterError("Too many synthetic caregivers for distinct identifiers.")
    return pd.DataFrame({"last": last, "first": first, "birth": pd.to_datetime(birth),
                         "_key": list(zip(key["l"], key["f"], key["b"]))})


def _draw_services(rng: np.random.Generator, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Service types (``service_mix``) and end dates (exponential lengths, ``mean_days``) for ``start``."""
    mix = PARTNER_PLANTED["service_mix"]
    types = np.asarray(list(mix), dtype=object)[rng.choice(len(mix), size=len(start), p=list(mix.values()))]
    mean = np.array([PARTNER_PLANTED["mean_days"][t] for t in types], dtype=float)
    length = np.where(mean > 0, 1 + np.floor(rng.exponential(np.maximum(mean, 1.0))), 0).astype("int64")
    return types, start + length.astype("timedelta64[D]")


def _rows(hashes: np.ndarray, start: np.ndarray, rng: np.random.Generator,
          end: np.ndarray | None = None, types: np.ndarray | None = None) -> pd.DataFrame:
    drawn_types, drawn_end = _draw_services(rng, start)
    return pd.DataFrame({"family_hash": hashes, "start": start.astype("datetime64[D]"),
                         "end": (drawn_end if end is None else end).astype("datetime64[D]"),
                         "service_type": drawn_types if types is None else types})


def _planted_services(rng: np.random.Generator, fam: pd.DataFrame) -> pd.DataFrame:
    """Services of families with a DV-involved report (``fam``: ``family_hash``, ``race``, ``report``),
    relative to each family's first DV report (:data:`PARTNER_PLANTED`)."""
    pp = PARTNER_PLANTED
    m = len(fam)
    report = fam["report"].to_numpy().astype("datetime64[D]")
    race = fam["race"].to_numpy()
    u_before, u_after, u_long, u_old = rng.random(m), rng.random(m), rng.random(m), rng.random(m)
    before = u_before < np.array([pp["before"][g] for g in race])
    after = ~before & (u_after < np.array([pp["after"][g] for g in race]))
    long_run = before & (u_long < pp["long_running"])
    old = ~before & (u_old < pp["old_service"])

    def days(lo: int, hi: int) -> np.ndarray:
        return rng.integers(lo, hi + 1, m).astype("timedelta64[D]")

    b_start = np.where(long_run, report - days(pp["before_days"] + 1, 2 * pp["before_days"]),
                       report - days(1, pp["before_days"]))
    a_start = report + days(1, pp["after_days"])
    o_start = report - days(pp["before_days"] + 35, 1100)
    still_going = report + days(0, 200)
    h = fam["family_hash"].to_numpy()
    parts = []
    first = _rows(h, np.where(before, b_start, a_start), rng)
    first.loc[long_run, "end"] = still_going[long_run]
    first.loc[long_run, "service_type"] = np.where(rng.random(int(long_run.sum())) < 0.5, "counseling", "advocacy")
    first = first[before | after]
    parts.append(first)
    nxt = first[rng.random(len(first)) < pp["follow_on"]]
    parts.append(_rows(nxt["family_hash"].to_numpy(),
                       nxt["end"].to_numpy() + rng.integers(1, 62, len(nxt)).astype("timedelta64[D]"), rng))
    o_end = o_start + rng.integers(1, 31, m).astype("timedelta64[D]")
    parts.append(_rows(h[old], o_start[old], rng, end=o_end[old]))
    return pd.concat(parts, ignore_index=True)


def _unseen_services(rng: np.random.Generator, n_rows: int, span: tuple[np.datetime64, np.datetime64],
                     taken: set[tuple[str, str, str]], key: str) -> pd.DataFrame:
    """About ``n_rows`` services of invented families the agency never saw, starting within ``span``."""
    mean_rows = 1 + PARTNER_PLANTED["unseen_extra_rows_mean"]
    n_fam = max(1, round(n_rows / mean_rows))
    lo, hi = (np.datetime64(d, "D") for d in span)
    start = lo + rng.integers(0, int((hi - lo).astype(int)) + 1, n_fam).astype("timedelta64[D]")
    people = _caregivers(rng, start, taken)
    h = hash_families(people, last="last", first="first", birth="birth", key=key).to_numpy(dtype=object)
    extra = rng.poisson(PARTNER_PLANTED["unseen_extra_rows_mean"], n_fam)
    fam = np.repeat(np.arange(n_fam), 1 + extra)
    nth = np.concatenate([np.arange(k + 1) for k in extra])
    later = (nth * rng.integers(30, 366, len(fam))).astype("timedelta64[D]")
    return _rows(h[fam], start[fam] + later, rng)


def partner_sample(reports: pd.DataFrame, *, race: pd.Series, rng: np.random.Generator, key: str,
                   data_end: str | pd.Timestamp) -> tuple[pd.Series, pd.DataFrame]:
    """A synthetic DV partner for the sample state: the reports' family hashes and a ``dv_services`` table.

    How it is made (all draws from ``rng``; :data:`PARTNER_PLANTED` holds every number):

    1. One invented caregiver per child (first and last name from small built-in lists, drawn
       independently of race, some double-barrelled or accented so normalisation matters; born 18-45
       years before the child's first report; identifiers distinct between children), hashed with
       :func:`family_hash` and ``key``. A share ``no_identifiers`` of children get no hash at the agency.
    2. Each child with a report flagged ``dv_involved == "yes"`` is a family whose *first* DV report
       decides its planted services (the sample's ``dv_involved`` is a property of the child, so later DV
       reports of the same family are not drawn again; :func:`service_timing` classifies them by the
       same services). With probability ``before[race]`` a service started 1-365 days before that report
       (or earlier and still going on); otherwise, with probability ``after[race]``, one started 1-180
       days after it. Some families have a follow-on service or an old service long before.
    3. About ``unseen_rows_per_planted_row`` times as many rows of families the agency never saw
       (invented caregivers whose hashes match no child's), so most partner rows do not link.
    4. Nothing is dated after ``data_end``: later services are not in the table, and end dates after it
       are left empty (still going on at the extract).

    Parameters
    ----------
    reports : ``report_id``, ``child_id``, ``report_date`` (datetime or ISO text), ``dv_involved``.
    race : race group code per ``child_id`` (index): one of white, black, hispanic, aian, asian, nhpi,
        multiracial, unknown; children missing from it count as unknown.
    rng : the generator (e.g. ``np.random.default_rng([seed, 2027])``, a stream of its own).
    key : the linkage key (the sample uses :data:`SAMPLE_KEY`).
    data_end : the extract date.

    Returns
    -------
    (family_hash, dv_services)
        ``family_hash``: string Series indexed like ``reports`` (``<NA>`` where not recorded).
        ``dv_services``: canonical raw table (``family_hash``, ``service_start``, ``service_end`` as ISO
        text, empty while going on; ``service_type``; ``program``), sorted by start date.
    """
    need = [c for c in ("report_id", "child_id", "report_date", "dv_involved") if c not in reports.columns]
    if need:
        raise ParameterError(f"partner_sample needs the reports column(s) {', '.join(need)}.")
    groups = race.astype(object).where(race.notna(), "unknown")
    unknown = sorted(set(groups.unique()) - set(PARTNER_PLANTED["before"]))
    if unknown:
        raise ParameterError(f"Unknown race group code(s) {unknown}; known: {', '.join(PARTNER_PLANTED['before'])}.")
    end = pd.Timestamp(data_end).to_datetime64().astype("datetime64[D]")
    rep = pd.DataFrame({"child_id": reports["child_id"].to_numpy(),
                        "report_date": parse_dates(reports["report_date"]).to_numpy(),
                        "dv": (reports["dv_involved"].astype(object) == "yes").to_numpy()})
    first_report = rep.groupby("child_id", sort=True)["report_date"].min()
    people = _caregivers(rng, first_report.to_numpy(), set())
    child_hash = pd.Series(hash_families(people, last="last", first="first", birth="birth", key=key).to_numpy(),
                           index=first_report.index, dtype="string")
    recorded = child_hash.where(rng.random(len(child_hash)) >= PARTNER_PLANTED["no_identifiers"])
    dv_first = rep[rep["dv"]].groupby("child_id", sort=True)["report_date"].min()
    fam = pd.DataFrame({"family_hash": child_hash.reindex(dv_first.index).to_numpy(dtype=object),
                        "race": groups.reindex(dv_first.index).fillna("unknown").to_numpy(),
                        "report": dv_first.to_numpy()})
    planted = _planted_services(rng, fam)
    span = (rep["report_date"].min().to_datetime64().astype("datetime64[D]") - np.timedelta64(365, "D"), end)
    unseen = _unseen_services(rng, round(PARTNER_PLANTED["unseen_rows_per_planted_row"] * len(planted)),
                              span, set(people["_key"]), key)
    svc = pd.concat([planted, unseen], ignore_index=True)
    svc = svc[svc["start"] <= end].sort_values(["start", "family_hash"], kind="stable")
    going_on = svc["end"].to_numpy() > end
    dv_services = pd.DataFrame({
        "family_hash": svc["family_hash"].to_numpy(dtype=object),
        "service_start": svc["start"].dt.strftime("%Y-%m-%d").to_numpy(),
        "service_end": np.where(going_on, "", svc["end"].dt.strftime("%Y-%m-%d").to_numpy()),
        "service_type": svc["service_type"].to_numpy(),
        "program": svc["service_type"].map(_PROGRAMS).to_numpy(),
    })
    hashes = pd.Series(reports["child_id"].map(recorded).to_numpy(), index=reports.index, dtype="string",
                       name="family_hash")
    return hashes, dv_services


def partner_truth() -> pd.DataFrame:
    """What :func:`service_timing` should recover from :func:`partner_sample` (default windows).

    One row per race group: the expected share of families' first DV-involved reports (linked ones,
    with at least ``after_days`` of follow-up before the extract date) that are ``before``,
    ``after_only`` (= (1 - before) x after) and ``none``.
    """
    pp = PARTNER_PLANTED
    rows = [(g, pp["before"][g], (1 - pp["before"][g]) * pp["after"][g]) for g in pp["before"]]
    out = pd.DataFrame(rows, columns=["race", "before", "after_only"])
    out["none"] = 1 - out["before"] - out["after_only"]
    return out
