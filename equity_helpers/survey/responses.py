"""The survey's tidy answers: read, checked against the instrument and accounted for.

:func:`load_responses` reads a responses file (one row per answer, :data:`RESPONSE_COLUMNS`) and
:func:`validate_responses` checks it against the :class:`~equity_helpers.survey.instrument.Instrument`
like every other table: every problem at once, in words, with row counts (:data:`MESSAGES`), and
nothing dropped silently. The result, a :class:`SurveyData`, holds the clean answers (reverse-scored
items already turned around) with the accounting of rows read, used and left out; :func:`find_survey`
finds a data folder's or mapping's survey files.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from equity_helpers.data.checks import Checker, accounting_summary
from equity_helpers.data.sources import load_mapping, read_file
from equity_helpers.errors import DataValidationError, Problem, problems_frame
from equity_helpers.survey.instrument import Instrument, load_instrument

__all__ = ["SurveyData", "load_responses", "validate_responses", "find_survey", "answers_read", "ALL_PARTNERS",
           "RESPONSE_COLUMNS", "MESSAGES"]

ALL_PARTNERS = "All partners"
"""The group of every respondent of a wave."""
RESPONSE_COLUMNS = ("wave", "respondent_id", "organisation", "sector", "item", "response")
"""Required columns of the responses file (``role`` and demographic columns are optional)."""
OPTIONAL_COLUMNS = ("role",)
LEVELS = ("all", "sector", "organisation")

MESSAGES: dict[str, str] = {
    "missing_column": "The {table} table has no '{column}' column, which the survey needs.",
    "empty_table": "The {table} table has no rows (only its header line was found).",
    "missing_value": "{n:,} rows have no {column}; they were left out.",
    "unknown_item": "{n:,} rows answer item(s) the instrument does not have: {codes}. They were left out; "
                    "add the items to the instrument if they belong to the survey.",
    "unknown_sector": "sector has {n:,} rows with code(s) the instrument does not list: {codes}. "
                      "Allowed: {allowed}. Add them to the instrument's sectors.",
    "unknown_wave": "wave has {n:,} rows with wave(s) the instrument's list of waves does not have: {codes}. "
                    "Listed: {allowed}. Add them to the instrument's waves (in order).",
    "unknown_role": "role has {n:,} rows with code(s) the instrument does not list: {codes}. "
                    "Allowed: {allowed}. Add them to the instrument's roles.",
    "not_answered": "{n:,} rows hold no answer (blank, or a \"don't know\" response); they count as not "
                    "answered.",
    "not_a_response": "{n:,} rows have a response that is neither a number nor a label of the scale: {codes}; "
                      "they were left out.",
    "out_of_scale": "{n:,} rows have a response that is not a whole number from {low} to {high} (the scale): "
                    "{codes}; they were left out.",
    "duplicate_answer": "{n:,} rows repeat an answer already given by the same respondent to the same item in "
                        "the same wave; the copies were left out.",
    "conflicting_answers": "{n:,} rows are answers by one respondent to one item in one wave that disagree "
                           "with each other; all of them were left out.",
    "inconsistent_respondent": "{n:,} rows give a respondent a different organisation or sector from the "
                               "respondent's other answers in the same wave ({codes}); each respondent must "
                               "belong to one organisation and sector per wave.",
    "organisation_in_two_sectors": "{n:,} rows place organisation(s) {codes} in more than one sector; an "
                                   "organisation belongs to one sector.",
}
"""Every message an analyst can read about the responses (tests assert the wording)."""


@dataclass
class SurveyData:
    """Validated survey answers.

    Attributes
    ----------
    answers : one row per answer used: ``wave``, ``respondent_id``, ``organisation``, ``sector``,
        ``role``, ``item``, ``domain``, ``response`` (as given, numeric; NaN when not answered) and
        ``score`` (reversed where the item is reverse-scored).
    instrument : the :class:`~equity_helpers.survey.instrument.Instrument`.
    waves : the waves in order (oldest first).
    quality : every problem found (the columns of :class:`~equity_helpers.errors.Problem`).
    accounting : ``table``, ``outcome`` (read / excluded / used), ``reason``, ``rows`` (as the core tables').
    """

    answers: pd.DataFrame
    instrument: Instrument
    waves: list[str]
    quality: pd.DataFrame = field(default_factory=lambda: problems_frame([]))
    accounting: pd.DataFrame = field(default_factory=pd.DataFrame)

    def accounting_summary(self) -> pd.DataFrame:
        """Answers read, used and excluded (:func:`equity_helpers.data.checks.accounting_summary`)."""
        return accounting_summary(self.accounting)


def answers_read(accounting: pd.DataFrame) -> str:
    """"7,920 answers read, 7,920 used, 0 left out" (the page's data check and the command's summary)."""
    acc = accounting.groupby("outcome")["rows"].sum()
    return (f"{int(acc.get('read', 0)):,} answers read, {int(acc.get('used', 0)):,} used, "
            f"{int(acc.get('excluded', 0)):,} left out")


def _wave_order(waves: pd.Series, order: Sequence[str] = ()) -> list[str]:
    """The waves present, in the instrument's ``waves`` order when it gives one, else numerically (when
    every wave is a number) or alphabetically."""
    uniq = list(dict.fromkeys(waves.dropna().astype(str)))
    if order:
        return [w for w in order if w in uniq]
    num = pd.to_numeric(pd.Series(uniq), errors="coerce")
    if num.notna().all():
        return [w for _, w in sorted(zip(num, uniq))]
    return sorted(uniq)


def validate_responses(raw: pd.DataFrame, instrument: Instrument) -> SurveyData:
    """Check the responses against the instrument: every problem at once, nothing dropped silently.

    Errors (stop): a required column missing, an empty table, sectors or roles the instrument does
    not list, a respondent in two organisations or sectors in one wave, an organisation in two sectors.
    Warnings (rows left out, counted by reason): rows without a wave, respondent, organisation or item,
    unknown items, responses that are not on the scale, duplicate and conflicting answers. Blank and
    "don't know" answers are kept as "not answered" (they count for nobody's score).
    """
    problems: list[Problem] = []
    ck = _responses_checker(raw, problems)
    _check_codes(ck, instrument)
    _read_responses(ck, instrument)
    _leave_out_duplicates(ck)
    _check_membership(ck)
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(problems)
    answers = _scored_answers(ck, instrument)
    acc = pd.DataFrame(ck.accounting(), columns=["table", "outcome", "reason", "rows"])
    return SurveyData(answers=answers, instrument=instrument, waves=_wave_order(answers["wave"], instrument.waves),
                      quality=problems_frame(problems), accounting=acc)


def _responses_checker(raw: pd.DataFrame, problems: list[Problem]) -> Checker:
    """The checker of a copy of the responses (the same as the core tables': messages, example rows,
    accounting) with row numbers, trimmed text (blank is missing) and a ``role`` column. Raises when a
    required column is missing or the table has no rows."""
    df = raw.copy()
    if "_row" not in df:
        df.insert(0, "_row", range(1, len(df) + 1))
    ck = Checker("survey_responses", df, problems, messages=MESSAGES)
    missing = [c for c in RESPONSE_COLUMNS if c not in df.columns]
    for col in missing:
        problems.append(Problem("error", ck.table, "missing_column", len(df), "",
                                MESSAGES["missing_column"].format(table=ck.table, column=col)))
    if not missing and df.empty:
        problems.append(Problem("error", ck.table, "empty_table", 0, "", MESSAGES["empty_table"].format(table=ck.table)))
    if missing or df.empty:
        raise DataValidationError(problems)
    for col in [*RESPONSE_COLUMNS, *OPTIONAL_COLUMNS]:
        if col in df:
            df[col] = df[col].astype("string").str.strip().replace("", pd.NA)
    if "role" not in df:
        df["role"] = pd.NA
    return ck


def _check_codes(ck: Checker, instrument: Instrument) -> None:
    """Leave out rows without a wave, respondent, organisation or item, and rows of items the instrument does
    not have; sectors, roles (when the instrument lists any) and waves (when it lists them) it does not list
    are errors."""
    df = ck.df
    for col in ("wave", "respondent_id", "organisation", "sector", "item"):
        ck.exclude("missing_value", df[col].isna(), column=col)
    # codes the instrument must list: errors, as for unknown codes in the core tables
    for col, allowed, check in (("sector", instrument.sectors, "unknown_sector"), ("role", instrument.roles, "unknown_role")):
        if col == "role" and not allowed:
            continue
        bad = df[col].notna() & ~df[col].isin(list(allowed))
        if bad.any():
            ck.error(check, bad, codes=", ".join(sorted(df.loc[bad, col].unique())[:8]),
                     allowed=", ".join(allowed))
    if instrument.waves:
        bad = df["wave"].notna() & ~df["wave"].isin(list(instrument.waves))
        if bad.any():
            ck.error("unknown_wave", bad, codes=", ".join(sorted(df.loc[bad, "wave"].unique())[:8]),
                     allowed=", ".join(instrument.waves))
    items = instrument.items.set_index("item")
    unknown = df["item"].notna() & ~df["item"].isin(items.index)
    ck.exclude("unknown_item", unknown, codes=", ".join(sorted(df.loc[unknown, "item"].unique())[:8]))


def _read_responses(ck: Checker, instrument: Instrument) -> None:
    """Turn each response into its number on the scale (a number, or a label of the scale). Blank and
    "don't know" answers are kept as not answered (NaN, one warning); responses that are not on the scale
    are left out."""
    df = ck.df
    # responses: numbers or scale labels; blank or "don't know" = not answered
    text = df["response"]
    by_label = {v.strip().lower(): k for k, v in instrument.labels.items()}
    dont_know = {d.strip().lower() for d in instrument.dont_know}
    low_text = text.str.lower()
    value = pd.to_numeric(text, errors="coerce").astype(float)
    value = value.where(value.notna(), low_text.map(by_label).astype(float))
    blank = text.isna() | low_text.isin(dont_know).fillna(False)
    if blank.any():
        ck.problems.append(Problem("warning", ck.table, "not_answered", int(blank.sum()), ck.examples(blank),
                                   MESSAGES["not_answered"].format(n=int(blank.sum()))))
    not_resp = value.isna() & ~blank
    ck.exclude("not_a_response", not_resp, codes=", ".join(sorted(text[not_resp].dropna().unique())[:6]))
    outside = value.notna() & ((value < instrument.low) | (value > instrument.high) | (value % 1 != 0))
    ck.exclude("out_of_scale", outside, low=instrument.low, high=instrument.high,
               codes=", ".join(sorted(text[outside].dropna().unique())[:6]))
    df["response"] = value.where(~blank)


def _leave_out_duplicates(ck: Checker) -> None:
    """Among the rows still in, answers given twice by a respondent to an item in a wave: identical copies
    keep one, conflicting answers keep none."""
    df = ck.df
    live = ck.excluded == ""
    key = ["wave", "respondent_id", "item"]
    sub = df[live]
    dup_any = sub.duplicated(key, keep=False)
    if dup_any.any():
        n_values = sub[dup_any].groupby(key, dropna=False)["response"].transform(
            lambda s: s.fillna(-1).nunique())
        conflicting = pd.Series(False, index=df.index)
        conflicting[n_values.index] = (n_values > 1).to_numpy()
        copies = pd.Series(False, index=df.index)
        copies[sub.index] = sub.duplicated(key, keep="first").to_numpy()
        ck.exclude("conflicting_answers", conflicting)
        ck.exclude("duplicate_answer", copies & ~conflicting)


def _check_membership(ck: Checker) -> None:
    """Errors, among the rows still in: a respondent in more than one organisation or sector in a wave, an
    organisation in more than one sector."""
    df = ck.df
    live = ck.excluded == ""
    sub = df[live]
    # one organisation and sector per respondent and wave; one sector per organisation
    per_resp = sub.groupby(["wave", "respondent_id"])[["organisation", "sector"]].transform("nunique")
    incons = (per_resp > 1).any(axis=1).reindex(df.index, fill_value=False)
    if incons.any():
        ck.error("inconsistent_respondent", incons,
                 codes=", ".join(sorted(df.loc[incons, "respondent_id"].unique())[:5]))
    per_org = sub.groupby("organisation")["sector"].transform("nunique")
    two = (per_org > 1).reindex(df.index, fill_value=False)
    if two.any():
        ck.error("organisation_in_two_sectors", two, codes=", ".join(sorted(df.loc[two, "organisation"].unique())[:5]))


def _scored_answers(ck: Checker, instrument: Instrument) -> pd.DataFrame:
    """The answers kept, with each item's domain and ``score`` (the response, turned around on the scale
    where the item is reverse-scored)."""
    items = instrument.items.set_index("item")
    kept = ck.kept()
    kept["domain"] = kept["item"].map(items["domain"])
    rev = kept["item"].map(items["reverse"]).astype(bool)
    kept["score"] = np.where(rev, instrument.low + instrument.high - kept["response"], kept["response"])
    cols = ["wave", "respondent_id", "organisation", "sector", "role", "item", "domain", "response", "score"]
    return kept[cols].astype({"wave": str, "respondent_id": str, "organisation": str, "sector": str,
                              "item": str, "domain": str}).reset_index(drop=True)


def load_responses(path: str | Path, instrument: Instrument | str | Path, *, spec: dict | None = None) -> SurveyData:
    """Read a responses file (CSV, Parquet or Excel, as the core tables) and validate it."""
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    p = Path(path)
    try:
        raw = read_file(p, spec or {})
    except Exception as exc:  # noqa: BLE001 - reported in words, like every unreadable source
        raise DataValidationError([Problem("error", "survey_responses", "unreadable_source", 0, "",
                                           f"The survey responses file {p.name} could not be read: {exc}")]) from None
    return validate_responses(raw, inst)


def find_survey(data_dir: str | Path | None = None, *, mapping: str | Path | None = None) -> tuple[Path, Path] | None:
    """The survey's responses and instrument files: named in ``mapping.yml`` under ``survey:``, or
    ``survey_responses.csv`` and ``survey_instrument.yml`` in the data folder; None when there is no survey."""
    if mapping is not None:
        m = load_mapping(mapping)
        if m.survey.get("responses") and m.survey.get("instrument"):
            return m.base_dir / m.survey["responses"], m.base_dir / m.survey["instrument"]
        base = m.base_dir
    elif data_dir is not None:
        base = Path(data_dir)
    else:
        return None
    inst = base / "survey_instrument.yml"
    for suf in (".csv", ".csv.gz", ".parquet", ".xlsx"):
        resp = base / f"survey_responses{suf}"
        if resp.exists() and inst.exists():
            return resp, inst
    return None

