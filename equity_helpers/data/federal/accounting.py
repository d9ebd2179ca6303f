"""What an import read, used and left out, what the linking decided, and what the federal files cannot carry.

The accounting is written next to the imported data as ``federal_accounting.csv`` (one row per finding:
``kind``, ``table``, ``reason``, ``rows``, ``stages``, ``message``) and read back by ``equity-workbook validate``
and the pages (:func:`read_accounting`, :func:`not_in_files`):

* ``kind`` ``read`` / ``used`` / ``excluded``: records of each federal file kind (``ncands``, ``afcars``,
  ``population``); for every table ``read = used + excluded`` (the excluded by ``reason``);
* ``linking``: how children were linked between the files and how often the files disagreed;
* ``episodes``: how foster care episodes were rebuilt across years (removals recovered, exits unknown);
* ``not_in_files``: what the federal files cannot carry; ``stages`` names the decision points whose numbers
  are not in them (not counted; pages show "not in these files", never a zero); a row naming none is a
  caveat on numbers that are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from equity_helpers.data.checks import accounting_summary
from equity_helpers.errors import Problem

__all__ = ["MESSAGES", "NOT_IN_FILES", "ACCOUNTING_FILE", "COLUMNS", "Accounting", "read_accounting", "not_in_files",
           "accounting_problems"]

ACCOUNTING_FILE = "federal_accounting.csv"
COLUMNS = ["kind", "table", "reason", "rows", "stages", "message"]

MESSAGES: dict[str, str] = {
    # files
    "no_file": "{file} does not exist.",
    "unknown_format": "{file} is not a file the import reads; it reads {formats} files.",
    "unreadable_file": "{file} could not be read as {what}: {error}",
    "wrong_kind": "{file} looks like {other}, not {what}; give it with {option}.",
    "missing_field": "{file} is not {what} the import can read: it has no {fields}.",
    "no_records": "The {what} files hold no records the import could use (every record was left out; see the "
                  "reasons above).",
    "counties_file": "The counties file {file} {problem}.",
    "population_file": "The population file {file} {problem}.",
    # records left out
    "missing_value": "{n:,} {what} records have no {fields}; they were left out.",
    "unknown_code": "{n:,} {what} records have codes the workbook does not know ({codes}); they were left out. "
                    "The codes it reads are listed in federal_codes.yml.",
    "unreadable_date": "{n:,} {what} records have a date the workbook cannot read ({codes}); they were left out. "
                       "It reads YYYY-MM-DD, mm/dd/yyyy and mmddyyyy.",
    "duplicate_record": "{n:,} NCANDS records repeat a report and child (RPTID, CHID) of another record; the one "
                        "of the latest submission year was kept.",
    "duplicate_recnumbr": "{n:,} AFCARS records repeat a child's record number (RECNUMBR) within one report "
                          "period; the first was kept.",
    "outside_submission_year": "{n:,} NCANDS records have a disposition date (RPTDISDT) outside their submission "
                               "year (SUBYR, October to September); they were left out.",
    "before_first_year": "{n:,} NCANDS reports were made before the first submission year's fiscal year (FY{year}) "
                         "and disposed in it; the reports of that earlier year are not all in the files, so they "
                         "were left out.",
    "no_age": "{n:,} NCANDS records belong to children with no age at any report (CHAGE blank, 77 or 99) and no "
              "AFCARS birth date; without a birth date they were left out.",
    "date_outside_period": "{n:,} AFCARS records have a removal or discharge date outside their report period "
                           "(FY, October to September); they were left out.",
    "exit_before_entry": "{n:,} AFCARS records have a discharge date (DODFCDT) before the latest removal date "
                         "(LATREMDT); they were left out.",
    "exit_without_reason": "{n:,} AFCARS records have a discharge date but no reason for discharge (DISREASN), or "
                           "a reason but no discharge date; they were left out.",
    "population_outside": "{n:,} population rows are for places or ages outside the imported data (other states, "
                          "ages 18 and over); they were not used.",
    # linking
    "linked": "{n:,} NCANDS children were linked to their AFCARS record (AFCARSID = RECNUMBR).",
    "afcars_only": "{n:,} children are in AFCARS only (no NCANDS report in these files names them).",
    "ncands_only": "{n:,} children are in NCANDS only.",
    "afcarsid_not_found": "{n:,} NCANDS children name an AFCARSID that is in no AFCARS file given; they are kept as "
                          "NCANDS children (perhaps removed in a year whose AFCARS file was not given).",
    "several_afcarsids": "{n:,} NCANDS children name more than one AFCARSID; the one of their latest report was used.",
    "afcarsid_shared": "{n:,} AFCARS children are named by more than one NCANDS child; those NCANDS children were "
                       "taken as the one AFCARS child.",
    "differs_race": "{n:,} linked children have other race or Hispanic origin in NCANDS than in AFCARS; AFCARS "
                    "decides (the rule for every difference between the files).",
    "differs_sex": "{n:,} linked children have another sex in NCANDS than in AFCARS; AFCARS decides.",
    "differs_birth": "{n:,} linked children's AFCARS birth date does not fit their age at an NCANDS report; "
                     "AFCARS decides.",
    "ncands_differs": "{n:,} NCANDS children have other race, Hispanic origin or sex at different reports; their "
                      "latest report decides.",
    "ages_differ": "{n:,} NCANDS children's ages at their reports do not fit one birth date; their latest "
                   "report's age decides.",
    "afcars_differs": "{n:,} AFCARS children have other birth date, race, Hispanic origin or sex in different "
                      "years; their latest record decides.",
    "birth_estimated": "{n:,} children's birth dates are estimated from their age at NCANDS reports (NCANDS has "
                       "ages, not birth dates): the middle of the span every reported age allows.",
    # episodes
    "episodes": "{n:,} foster care episodes were rebuilt across years from AFCARS records by RECNUMBR.",
    "recovered": "{n:,} removals hidden by a later removal in the same year were recovered from TOTALREM, REM1DT "
                 "and DLSTFCDT; their exit reason is unknown.",
    "closed_by_later": "{n:,} episodes ended between two AFCARS years and were followed by another removal; their "
                       "exit date is the later record's DLSTFCDT and their exit reason is unknown.",
    "exit_bounded": "{n:,} episodes were followed by another removal but no discharge date is given for them; "
                    "they are taken to end the day before the next removal, reason unknown.",
    "not_recovered": "{n:,} earlier removals counted by TOTALREM could not be placed in time (no entry date in the "
                     "files, or before the first year given); they count only as prior episodes.",
    "reopened": "{n:,} episodes had a discharge in one year's record but were still open in a later year's "
                "record; the later record decides.",
}
"""Every message an import can show (tests assert the exact wording)."""

NOT_IN_FILES: dict[str, tuple[tuple[str, ...], str]] = {
    "screening": (("reported",),
                  "NCANDS holds screened-in reports only: the screening decision has no base in these files, so "
                  "\"reported\" counts screened-in children and the screen-in rate is not in these files."),
    "first_placement": (("first_placement_kin", "first_placement_congregate"),
                        "AFCARS keeps each child's current placement setting, not the first: first placement "
                        "with kin or in congregate care is not in these files."),
    "hidden_exits": ((),
                     "AFCARS holds each child's latest removal of the year: the exit reasons of removals hidden "
                     "by a later one in the same year are not in these files ({n:,} episodes, exit reason "
                     "unknown; they count as exits that were not to permanency, reunification or guardianship)."),
    "disposition_year": ((),
                         "NCANDS files reports by disposition date: reports made late in the last year and "
                         "disposed after it are not in these files, so that year's counts may be low."),
}
"""What the federal files cannot carry, and why (``{n}``: how many): the decision points whose numbers are
not in the files (not counted; pages say so) and, with none named, the caveats on numbers that are."""


@dataclass
class Accounting:
    """The accounting of one import, built as it runs."""

    rows: list[dict] = field(default_factory=list)

    def add(self, kind: str, table: str, reason: str, n: int, message: str = "", stages: tuple[str, ...] = ()) -> None:
        self.rows.append({"kind": kind, "table": table, "reason": reason, "rows": int(n),
                          "stages": ";".join(stages), "message": message})

    def note(self, kind: str, table: str, reason: str, n: int, **kw) -> None:
        """A finding with its message from :data:`MESSAGES`; nothing when ``n`` is 0."""
        if n:
            self.add(kind, table, reason, n, MESSAGES[reason].format(n=int(n), **kw))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)

    def summary(self) -> pd.DataFrame:
        """Records read, used and left out per file kind (``table``, ``read``, ``used``, ``excluded``)."""
        f = self.frame()
        f = f[f["kind"].isin(["read", "used", "excluded"])]
        return accounting_summary(f.rename(columns={"kind": "outcome"}))


def read_accounting(data_dir) -> pd.DataFrame | None:
    """A data folder's import accounting (``federal_accounting.csv``), or None when the folder was not imported
    from federal files."""
    if data_dir is None:
        return None
    path = Path(data_dir) / ACCOUNTING_FILE
    if not path.is_file():
        return None
    f = pd.read_csv(path, dtype=str, keep_default_na=False)
    f["rows"] = pd.to_numeric(f["rows"], errors="coerce").fillna(0).astype("int64")
    return f


def not_in_files(data_dir) -> dict[str, str]:
    """Decision points a federally imported folder cannot carry, each with the sentence that says why
    (empty for a folder not imported from federal files)."""
    f = read_accounting(data_dir)
    if f is None:
        return {}
    out: dict[str, str] = {}
    for r in f[f["kind"] == "not_in_files"].itertuples():
        for s in filter(None, str(r.stages).split(";")):
            out.setdefault(s, r.message)
    return out


def accounting_problems(data_dir) -> list[Problem]:
    """The import's findings as data-quality notes (warnings) for ``validate`` and the pages: what the federal
    files cannot carry first, then what was left out and how the files were linked."""
    f = read_accounting(data_dir)
    if f is None:
        return []
    out = [Problem("warning", "federal files", "not_in_files", int(r.rows), "", "Not in these files: " + r.message)
           for r in f[f["kind"] == "not_in_files"].itertuples()]
    for r in f[f["kind"].isin(["excluded", "linking", "episodes"])].itertuples():
        if r.message:
            out.append(Problem("warning", f"federal {r.table}", r.reason, int(r.rows), "", r.message))
    return out
