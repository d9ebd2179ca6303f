"""Collaboration survey: instrument, validated responses, scores, change between waves, a protected release.

Agencies and their domestic violence, community and tribal partners evaluate their collaboration over
time with a survey. This module reads the instrument (a YAML file, see
``data/sample/survey_instrument.yml``) and the tidy responses, checks them like every other table
(every problem at once, in words, with row counts; nothing dropped silently), scores them and
publishes the results through a disclosure-protected table.

Pipeline::

    inst = load_instrument("survey_instrument.yml")
    data = load_responses("survey_responses.csv", inst)     # SurveyData: clean answers + accounting
    rel = build_survey_release(data)                         # every publishable number, protected
    rel.domains, rel.items, rel.alpha, rel.changes           # tidy tables (hidden cells are NaN)

Scoring (documented in ``docs/survey.md``)
------------------------------------------
* Reverse-scored items are turned around before scoring: ``score = min + max - response``.
* A respondent's **domain score** is the mean of the domain's items they answered, given when they
  answered at least half of the domain's items (rounded up, :data:`MIN_ANSWERED_SHARE`; the
  "half rule" of scale scoring, e.g. the SF-36 and PROMIS manuals).
* A group's domain score is the mean of its respondents' domain scores with a **t interval**
  ``mean +/- t(0.975, n-1) * sd / sqrt(n)``.
* **Change between waves** is the difference of the two waves' means with Welch's interval (waves
  are treated as independent samples, :func:`scipy.stats.ttest_ind` with ``equal_var=False``; people who
  answer in both waves make the true interval somewhat narrower, so this one is conservative).
* **Agreement per item** is the share of those answering an item who chose a response at or above
  the instrument's ``agree_at`` (as the statement is worded, before reversing), with Wilson's interval.
* **Internal consistency** per domain is Cronbach's alpha on respondents who answered every item of the
  domain (listwise), with Feldt's F-based interval, computed by :func:`pingouin.cronbach_alpha`.
  ``alpha = k / (k - 1) * (1 - sum(item variances) / variance(total))``.

Privacy for respondents
-----------------------
No group of fewer than :data:`MIN_RESPONDENTS` respondents is shown. The counts behind every published
number (respondents per wave and group; respondents with a score per domain; respondents answering
each item) form one table of cells, related by the totals a reader can add up (organisations within
a sector, sectors within all partners, in every wave) and by "answered an item <= responded". The same
disclosure engine as the release table (:func:`equity_helpers.disclosure.protect`) hides the small
counts and then more cells until, from everything published, no hidden count can be narrowed to fewer
than ``width + 1`` values; a group's scores, agreement shares and alpha are shown only where their
count is shown, and a change between waves only where both waves are.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .disclosure import Protection
from .errors import DataValidationError, ParameterError, Problem, problems_frame

__all__ = ["Instrument", "Domain", "Item", "SurveyData", "SurveyRelease", "load_instrument", "load_responses",
           "validate_responses", "find_survey", "answers_read", "describe_survey_protection", "domain_scores", "group_domain_scores", "item_agreement",
           "cronbach_alpha", "wave_changes", "build_survey_release", "MIN_RESPONDENTS", "MIN_ANSWERED_SHARE",
           "SURVEY_PROTECTION", "MIN_ALPHA_RESPONDENTS", "ALL_PARTNERS", "RESPONSE_COLUMNS", "MESSAGES"]

MIN_RESPONDENTS = 5
"""No group of fewer respondents is shown (DESIGN.md section 7)."""
MIN_ALPHA_RESPONDENTS = 10
"""Cronbach's alpha is shown for groups with at least this many respondents who answered every item of
the domain (on fewer, its interval spans most of the scale)."""
MIN_ANSWERED_SHARE = 0.5
"""A domain score needs answers to at least this share of the domain's items (rounded up)."""
SURVEY_PROTECTION = Protection(min_count=1, max_count=MIN_RESPONDENTS - 1, width=3)
"""Counts of 1-4 respondents are hidden, and a hidden count keeps at least four possible values."""
ALL_PARTNERS = "All partners"
"""The group of every respondent of a wave."""
RESPONSE_COLUMNS = ("wave", "respondent_id", "organisation", "sector", "item", "response")
"""Required columns of the responses file (``role`` and demographic columns are optional)."""
OPTIONAL_COLUMNS = ("role",)
LEVELS = ("all", "sector", "organisation")
_ALL, _SECTOR_TOTAL = "__all__", "__sector__"

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

INSTRUMENT_MESSAGES: dict[str, str] = {
    "unreadable": "The instrument file {path} could not be read: {error}",
    "missing_key": "The instrument has no '{key}' entry, which it needs.",
    "bad_scale": "The instrument's scale must have whole numbers min < max and agree_at between them "
                 "(found min={low}, max={high}, agree_at={agree}).",
    "no_items": "Domain '{domain}' has no items.",
    "duplicate_item": "Item id(s) {codes} appear more than once; each item id must be unique.",
    "duplicate_domain": "Domain id(s) {codes} appear more than once; each domain id must be unique.",
    "item_without_id": "{n} item(s) of domain '{domain}' have no id or no text.",
}


# --------------------------------------------------------------------------- the instrument
@dataclass(frozen=True)
class Item:
    """One survey statement."""

    id: str
    domain: str
    text: str
    reverse: bool = False


@dataclass(frozen=True)
class Domain:
    """A group of items scored together."""

    id: str
    label: str
    items: tuple[Item, ...]

    @property
    def min_answered(self) -> int:
        """Items a respondent must answer for a domain score: half the items, rounded up."""
        return max(1, math.ceil(len(self.items) * MIN_ANSWERED_SHARE))


@dataclass(frozen=True)
class Instrument:
    """A survey instrument as defined in its YAML file.

    Attributes
    ----------
    name, note : title and a note shown with the results (the sample says it is illustrative).
    low, high : the response scale's lowest and highest values (e.g. 1 and 5).
    labels : value -> label of the scale ("Strongly disagree" ...).
    agree_at : responses at or above this value count as agreeing; ``disagree_at`` and below as
        disagreeing; values between are neutral.
    dont_know : response labels that mean "not answered" (e.g. "Don't know").
    sectors, roles : code -> plain label of who answers.
    domains : the domains in their order.
    waves : optional order of the waves (e.g. "Spring 2024", "Fall 2024"); without it waves are
        ordered as numbers when they all are, else alphabetically.
    """

    name: str
    note: str
    low: int
    high: int
    labels: dict[int, str]
    agree_at: int
    disagree_at: int
    dont_know: tuple[str, ...]
    sectors: dict[str, str]
    roles: dict[str, str]
    domains: tuple[Domain, ...]
    source: str = ""
    waves: tuple[str, ...] = ()

    @property
    def items(self) -> pd.DataFrame:
        """One row per item: ``item``, ``domain``, ``text``, ``reverse``, ``order``."""
        rows = [(it.id, d.id, it.text, it.reverse) for d in self.domains for it in d.items]
        df = pd.DataFrame(rows, columns=["item", "domain", "text", "reverse"])
        df["order"] = np.arange(len(df))
        return df

    def domain(self, domain_id: str) -> Domain:
        for d in self.domains:
            if d.id == domain_id:
                return d
        raise ParameterError(f"Unknown domain {domain_id!r}; the instrument's domains are "
                             f"{', '.join(d.id for d in self.domains)}.")

    def domain_label(self, domain_id: str) -> str:
        return self.domain(domain_id).label

    def sector_label(self, code: str) -> str:
        return self.sectors.get(code, code)

    def scale_text(self) -> str:
        """"1 (Strongly disagree) to 5 (Strongly agree)"."""
        return (f"{self.low} ({self.labels.get(self.low, self.low)}) to "
                f"{self.high} ({self.labels.get(self.high, self.high)})")


def _instrument_problem(check: str, **kw) -> Problem:
    return Problem("error", "survey_instrument", check, kw.pop("n", 0), "", INSTRUMENT_MESSAGES[check].format(**kw))


def load_instrument(path: str | Path) -> Instrument:
    """Read and check an instrument YAML file (every problem reported together).

    Raises
    ------
    DataValidationError
        With every problem found (missing entries, a scale that does not make sense, duplicate ids).
    """
    import yaml

    p = Path(path)
    try:
        spec = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataValidationError([_instrument_problem("unreadable", path=p.name, error=exc)]) from None
    problems: list[Problem] = []
    for key in ("name", "scale", "sectors", "domains"):
        if not spec.get(key):
            problems.append(_instrument_problem("missing_key", key=key))
    scale = spec.get("scale") or {}
    try:
        low, high = int(scale.get("min", 1)), int(scale.get("max", 5))
        agree = int(scale.get("agree_at", high - 1))
        disagree = int(scale.get("disagree_at", low + 1))
        ok = low < high and low < agree <= high and low <= disagree < agree
    except (TypeError, ValueError):
        low = high = agree = disagree = 0
        ok = False
    if not ok:
        problems.append(_instrument_problem("bad_scale", low=scale.get("min"), high=scale.get("max"),
                                            agree=scale.get("agree_at")))
    domains, seen_items, seen_domains = [], [], []
    for d in spec.get("domains") or []:
        did = str(d.get("id", "")).strip()
        seen_domains.append(did)
        raw_items = d.get("items") or []
        if not raw_items:
            problems.append(_instrument_problem("no_items", domain=did))
        bad = [i for i in raw_items if not str(i.get("id", "")).strip() or not str(i.get("text", "")).strip()]
        if bad:
            problems.append(_instrument_problem("item_without_id", n=len(bad), domain=did))
        items = tuple(Item(id=str(i["id"]).strip(), domain=did, text=str(i["text"]).strip(),
                           reverse=bool(i.get("reverse", False))) for i in raw_items if i not in bad)
        seen_items += [i.id for i in items]
        domains.append(Domain(id=did, label=str(d.get("label", did)), items=items))
    for check, ids in (("duplicate_item", seen_items), ("duplicate_domain", seen_domains)):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            problems.append(_instrument_problem(check, codes=", ".join(dup)))
    if problems:
        raise DataValidationError(problems)
    labels = {int(k): str(v) for k, v in (scale.get("labels") or {}).items()}
    return Instrument(name=str(spec["name"]), note=str(spec.get("note", "")).strip(), low=low, high=high,
                      labels=labels, agree_at=agree, disagree_at=disagree,
                      dont_know=tuple(str(x) for x in scale.get("dont_know", ["Don't know"])),
                      sectors={str(k): str(v) for k, v in spec["sectors"].items()},
                      roles={str(k): str(v) for k, v in (spec.get("roles") or {}).items()},
                      domains=tuple(domains), source=p.name, waves=tuple(str(w) for w in spec.get("waves") or ()))


# --------------------------------------------------------------------------- responses
@dataclass
class SurveyData:
    """Validated survey answers.

    Attributes
    ----------
    answers : one row per answer used: ``wave``, ``respondent_id``, ``organisation``, ``sector``,
        ``role``, ``item``, ``domain``, ``response`` (as given, numeric; NaN when not answered) and
        ``score`` (reversed where the item is reverse-scored).
    instrument : the :class:`Instrument`.
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
        """Answers read, used and excluded (:func:`equity_helpers.validate.accounting_summary`)."""
        from .validate import accounting_summary

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
    from .validate import _Checker  # the same checker (messages, example rows, accounting) as the core tables

    problems: list[Problem] = []
    df = raw.copy()
    if "_row" not in df:
        df.insert(0, "_row", range(1, len(df) + 1))
    ck = _Checker("survey_responses", df, problems, messages=MESSAGES)
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
    # responses: numbers or scale labels; blank or "don't know" = not answered
    text = df["response"]
    by_label = {v.strip().lower(): k for k, v in instrument.labels.items()}
    dont_know = {d.strip().lower() for d in instrument.dont_know}
    low_text = text.str.lower()
    value = pd.to_numeric(text, errors="coerce").astype(float)
    value = value.where(value.notna(), low_text.map(by_label).astype(float))
    blank = text.isna() | low_text.isin(dont_know).fillna(False)
    if blank.any():
        problems.append(Problem("warning", ck.table, "not_answered", int(blank.sum()), ck.examples(blank),
                                MESSAGES["not_answered"].format(n=int(blank.sum()))))
    not_resp = value.isna() & ~blank
    ck.exclude("not_a_response", not_resp, codes=", ".join(sorted(text[not_resp].dropna().unique())[:6]))
    outside = value.notna() & ((value < instrument.low) | (value > instrument.high) | (value % 1 != 0))
    ck.exclude("out_of_scale", outside, low=instrument.low, high=instrument.high,
               codes=", ".join(sorted(text[outside].dropna().unique())[:6]))
    df["response"] = value.where(~blank)
    # duplicates among rows still in: identical copies keep one, conflicting answers keep none
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
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(problems)
    kept = ck.kept()
    kept["domain"] = kept["item"].map(items["domain"])
    rev = kept["item"].map(items["reverse"]).astype(bool)
    kept["score"] = np.where(rev, instrument.low + instrument.high - kept["response"], kept["response"])
    cols = ["wave", "respondent_id", "organisation", "sector", "role", "item", "domain", "response", "score"]
    answers = kept[cols].astype({"wave": str, "respondent_id": str, "organisation": str, "sector": str,
                                 "item": str, "domain": str}).reset_index(drop=True)
    acc = pd.DataFrame(ck.accounting(), columns=["table", "outcome", "reason", "rows"])
    return SurveyData(answers=answers, instrument=instrument, waves=_wave_order(answers["wave"], instrument.waves),
                      quality=problems_frame(problems), accounting=acc)


def load_responses(path: str | Path, instrument: Instrument | str | Path, *, spec: dict | None = None) -> SurveyData:
    """Read a responses file (CSV, Parquet or Excel, as the core tables) and validate it."""
    from .sources import read_file

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
        from .sources import load_mapping

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


# --------------------------------------------------------------------------- scores and statistics
def domain_scores(data: SurveyData) -> pd.DataFrame:
    """One row per respondent, wave and domain.

    Columns: ``wave``, ``respondent_id``, ``organisation``, ``sector``, ``domain``, ``items`` (the
    domain's items), ``answered``, ``score`` (mean of the answered items' scores; NaN when fewer than
    :attr:`Domain.min_answered` were answered).
    """
    a = data.answers
    inst = data.instrument
    per = (a.groupby(["wave", "respondent_id", "organisation", "sector", "domain"], observed=True)
           .agg(answered=("score", "count"), score=("score", "mean")).reset_index())
    n_items = {d.id: len(d.items) for d in inst.domains}
    need = {d.id: d.min_answered for d in inst.domains}
    per["items"] = per["domain"].map(n_items)
    per.loc[per["answered"] < per["domain"].map(need), "score"] = np.nan
    return per[["wave", "respondent_id", "organisation", "sector", "domain", "items", "answered", "score"]]


def _with_groups(df: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """Each row once per group it belongs to: all partners, its sector, its organisation."""
    all_ = df.assign(level="all", group=ALL_PARTNERS, g_sector=_ALL, g_org=_SECTOR_TOTAL)
    sec = df.assign(level="sector", group=df["sector"].map(inst.sector_label), g_sector=df["sector"], g_org=_SECTOR_TOTAL)
    org = df.assign(level="organisation", group=df["organisation"], g_sector=df["sector"], g_org=df["organisation"])
    return pd.concat([all_, sec, org], ignore_index=True)


GROUP_KEYS = ["level", "group", "g_sector", "g_org"]


def _t_interval(mean: pd.Series, sd: pd.Series, n: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats

    n = n.to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = stats.t.ppf(0.975, n - 1) * sd.to_numpy(float) / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return mean.to_numpy(float) - half, mean.to_numpy(float) + half


def group_domain_scores(scores: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """Mean domain score per wave, group and domain with a t interval.

    Columns: ``wave``, ``level``, ``group``, ``g_sector``, ``g_org``, ``domain``, ``n`` (respondents
    with a score), ``mean``, ``sd``, ``ci_low``, ``ci_high``.
    """
    g = _with_groups(scores.dropna(subset=["score"]), inst)
    out = (g.groupby(["wave", *GROUP_KEYS, "domain"], sort=False)["score"]
           .agg(n="count", mean="mean", sd="std").reset_index())
    out["ci_low"], out["ci_high"] = _t_interval(out["mean"], out["sd"], out["n"])
    return out


def item_agreement(data: SurveyData) -> pd.DataFrame:
    """Share disagreeing, neutral and agreeing per wave, group and item (as each statement is worded).

    Columns: ``wave``, group keys, ``item``, ``domain``, ``n`` (answered), ``disagree``, ``neutral``,
    ``agree`` (counts), ``share_disagree``, ``share_neutral``, ``share_agree``, ``agree_low``,
    ``agree_high`` (Wilson 95% interval of the agreeing share).
    """
    from .measures import wilson_ci

    inst = data.instrument
    a = data.answers.dropna(subset=["response"])
    a = a.assign(agree=(a["response"] >= inst.agree_at).astype(int),
                 disagree=(a["response"] <= inst.disagree_at).astype(int))
    g = _with_groups(a, inst)
    out = (g.groupby(["wave", *GROUP_KEYS, "item", "domain"], sort=False)
           .agg(n=("response", "count"), agree=("agree", "sum"), disagree=("disagree", "sum")).reset_index())
    out["neutral"] = out["n"] - out["agree"] - out["disagree"]
    for c in ("disagree", "neutral", "agree"):
        out[f"share_{c}"] = out[c] / out["n"]
    out["agree_low"], out["agree_high"] = wilson_ci(out["agree"], out["n"])
    return out


def cronbach_alpha(data: SurveyData, *, levels: Sequence[str] = ("all", "sector")) -> pd.DataFrame:
    """Cronbach's alpha per wave, group and domain (respondents who answered every item of the domain).

    ``alpha = k / (k - 1) * (1 - sum(var_i) / var(sum of items))`` (Cronbach 1951) with Feldt's
    interval ``1 - (1 - alpha) * F`` (Feldt, Woodruff & Salih 1987), from :func:`pingouin.cronbach_alpha`
    with ``nan_policy="listwise"``. Columns: ``wave``, group keys, ``domain``, ``n`` (complete
    respondents), ``alpha``, ``alpha_low``, ``alpha_high``. Alpha needs at least two items and three
    complete respondents; NaN otherwise.
    """
    import pingouin as pg

    inst = data.instrument
    a = data.answers.dropna(subset=["score"])
    g = _with_groups(a, inst)
    g = g[g["level"].isin(levels)]
    rows = []
    for (wave, *gk, domain), sub in g.groupby(["wave", *GROUP_KEYS, "domain"], sort=False):
        wide = sub.pivot_table(index="respondent_id", columns="item", values="score", aggfunc="first")
        k = len(inst.domain(domain).items)
        wide = wide.dropna(how="any") if wide.shape[1] == k else wide.iloc[0:0]
        n = len(wide)
        if k >= 2 and n >= 3 and (wide.var(ddof=1) > 0).any():
            alpha, (lo, hi) = pg.cronbach_alpha(data=wide, nan_policy="listwise")
            lo, hi = _feldt(alpha, n, k)
        else:
            alpha = lo = hi = np.nan
        rows.append((wave, *gk, domain, n, float(alpha), lo, hi))
    return pd.DataFrame(rows, columns=["wave", *GROUP_KEYS, "domain", "n", "alpha", "alpha_low", "alpha_high"])


def _feldt(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Feldt's interval, unrounded (pingouin rounds its interval to three decimals)."""
    from scipy.stats import f

    a = 1 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return float(1 - (1 - alpha) * f.isf(a / 2, df1, df2)), float(1 - (1 - alpha) * f.isf(1 - a / 2, df1, df2))


def wave_changes(scores: pd.DataFrame, inst: Instrument, waves: Sequence[str]) -> pd.DataFrame:
    """Change in mean domain score between every pair of waves (later minus earlier), per group.

    Welch's difference of means with its 95% interval and two-sided p value
    (:func:`scipy.stats.ttest_ind`, ``equal_var=False``). Columns: ``from_wave``, ``to_wave``, group
    keys, ``domain``, ``n_from``, ``n_to``, ``mean_from``, ``mean_to``, ``change``, ``ci_low``,
    ``ci_high``, ``p_value``.
    """
    from scipy import stats

    g = _with_groups(scores.dropna(subset=["score"]), inst)
    by = {k: s["score"].to_numpy(float) for k, s in g.groupby(["wave", *GROUP_KEYS, "domain"], sort=False)}
    keys = {k[1:] for k in by}
    rows = []
    for i, w0 in enumerate(waves):
        for w1 in waves[i + 1:]:
            for k in keys:
                x0, x1 = by.get((w0, *k)), by.get((w1, *k))
                if x0 is None or x1 is None:
                    continue
                change = x1.mean() - x0.mean()
                if len(x0) >= 2 and len(x1) >= 2 and (x0.var() + x1.var()) > 0:
                    res = stats.ttest_ind(x1, x0, equal_var=False)
                    ci = res.confidence_interval(0.95)
                    lo, hi, p = float(ci.low), float(ci.high), float(res.pvalue)
                else:
                    lo = hi = p = np.nan
                rows.append((w0, w1, *k, len(x0), len(x1), x0.mean(), x1.mean(), change, lo, hi, p))
    cols = ["from_wave", "to_wave", *GROUP_KEYS, "domain", "n_from", "n_to", "mean_from", "mean_to", "change",
            "ci_low", "ci_high", "p_value"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- the protected release
@dataclass
class SurveyRelease:
    """Every publishable survey number, with disclosure decided on all of them together.

    Attributes
    ----------
    instrument, waves : as in :class:`SurveyData`.
    groups : respondents per wave and group (``level``, ``group``, ``sector``, ``respondents``,
        ``hidden``); a hidden group's count is NaN.
    domains : :func:`group_domain_scores` with ``hidden`` (statistics NaN where hidden).
    items : :func:`item_agreement` with ``hidden``.
    alpha : :func:`cronbach_alpha` with ``hidden``, across all partners only (a sector's would reveal how many
        of a hidden sector's respondents answered every item).
    changes : :func:`wave_changes` with ``hidden`` (shown only where both waves' scores are).
    cells, audit : the disclosure table (counts, hidden, reason) and the audit of every hidden cell.
    protection : the rule applied.
    accounting, quality : from the validated responses (rows read, used, excluded by reason).
    """

    instrument: Instrument
    waves: list[str]
    groups: pd.DataFrame
    domains: pd.DataFrame
    items: pd.DataFrame
    alpha: pd.DataFrame
    changes: pd.DataFrame
    cells: pd.DataFrame
    audit: pd.DataFrame
    protection: Protection
    accounting: pd.DataFrame
    quality: pd.DataFrame

    @property
    def sectors(self) -> list[str]:
        """Sector groups in the data, as labels, in the instrument's order."""
        present = set(self.groups.loc[self.groups["level"] == "sector", "group"])
        return [lab for lab in self.instrument.sectors.values() if lab in present]

    def group_options(self) -> list[str]:
        """All partners, then sectors, then organisations with at least one published number."""
        orgs = self.groups[(self.groups["level"] == "organisation") & ~self.groups["hidden"]]
        return [ALL_PARTNERS, *self.sectors, *sorted(orgs["group"].unique())]

    def accounting_summary(self) -> pd.DataFrame:
        """Answers read, used and excluded (from the validated responses)."""
        from .validate import accounting_summary

        return accounting_summary(self.accounting)

    def published(self) -> pd.DataFrame:
        """Every published survey number as one tidy table (what ``equity-workbook survey`` writes).

        Columns: ``measure`` (respondents, domain_score, item_agreement, cronbach_alpha, change),
        ``wave`` (for a change: the later wave), ``from_wave`` (changes only), ``level`` (all, sector,
        organisation), ``group``, ``sector``, ``domain``, ``item``, ``n`` (respondents behind the number;
        for a change, of the later wave), ``estimate`` (mean score, share agreeing, alpha or change),
        ``ci_low``, ``ci_high`` (95%), ``p_value`` (changes), ``share_disagree``, ``share_neutral``
        (items), ``hidden``. Hidden numbers are empty.
        """
        g, d, i, a, c = self.groups, self.domains, self.items, self.alpha, self.changes
        parts = [
            g.assign(measure="respondents", n=g["respondents"]),
            d.assign(measure="domain_score", estimate=d["mean"]),
            i.assign(measure="item_agreement", estimate=i["share_agree"], ci_low=i["agree_low"], ci_high=i["agree_high"]),
            a.assign(measure="cronbach_alpha", estimate=a["alpha"], ci_low=a["alpha_low"], ci_high=a["alpha_high"]),
            c.assign(measure="change", wave=c["to_wave"], n=c["n_to"], estimate=c["change"]),
        ]
        cols = ["measure", "wave", "from_wave", "level", "group", "sector", "domain", "item", "n", "estimate",
                "ci_low", "ci_high", "p_value", "share_disagree", "share_neutral", "hidden"]
        out = pd.concat([p.reindex(columns=cols) for p in parts], ignore_index=True)
        for col in ("estimate", "ci_low", "ci_high", "p_value", "share_disagree", "share_neutral"):
            out[col] = out[col].astype(float).round(4)
        out["n"] = out["n"].astype("Int64")
        return out

    def write(self, path: str | Path) -> Path:
        """Write :meth:`published` as CSV (or Parquet for a ``.parquet`` name); returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        table = self.published()
        if p.suffix == ".parquet":
            table.to_parquet(p, index=False)
        else:
            table.to_csv(p, index=False)
        return p

    def describe_protection(self) -> str:
        return describe_survey_protection(self.protection)

    def describe_answers(self) -> str:
        """Answers read, used and left out, and every problem found, as Markdown (the page's data check)."""
        lines = [f"{answers_read(self.accounting)}."]
        lines += [f"- {p['severity']}: {p['message']}" for _, p in self.quality.iterrows()]
        return "\n".join(lines)


def describe_survey_protection(protection: Protection = SURVEY_PROTECTION) -> str:
    """The respondents' privacy rule in plain words (page and report footer)."""
    p = protection
    return (f"No group of fewer than {p.max_count + 1} respondents is shown. Other groups are hidden too "
            f"where needed, so that combining every published number and total a reader cannot work out a "
            f"hidden group's size to fewer than {p.width + 1} possible values, nor its answers.")


def _cells(groups: pd.DataFrame, domains: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    keep = ["wave", *GROUP_KEYS]
    parts = [groups[keep + ["respondents"]].rename(columns={"respondents": "value"}).assign(measure="respondents"),
             domains[keep + ["domain", "n"]].rename(columns={"n": "value"}).assign(
                 measure=lambda d: "domain:" + d["domain"]).drop(columns="domain"),
             items[keep + ["item", "n"]].rename(columns={"n": "value"}).assign(
                 measure=lambda d: "item:" + d["item"]).drop(columns="item")]
    cells = pd.concat(parts, ignore_index=True)
    cells["cell"] = np.arange(len(cells))
    return cells


def _survey_relations(cells: pd.DataFrame):
    from . import disclosure

    top = cells[cells["g_org"] == _SECTOR_TOTAL]
    sectors = disclosure.additive(top, dim="g_sector", total=_ALL, keys=["wave", "measure", "g_sector"])
    low = cells[cells["g_sector"] != _ALL]
    orgs = disclosure.additive(low, dim="g_org", total=_SECTOR_TOTAL, keys=["wave", "measure", "g_sector", "g_org"])
    # answering an item (or having a domain score) never exceeds responding
    resp = cells[cells["measure"] == "respondents"].set_index(["wave", *GROUP_KEYS])["cell"]
    other = cells[cells["measure"] != "respondents"]
    bigger = resp.reindex(pd.MultiIndex.from_frame(other[["wave", *GROUP_KEYS]])).to_numpy()
    rid = np.arange(len(other))
    terms = pd.DataFrame({"relation": np.concatenate([rid, rid]),
                          "cell": np.concatenate([other["cell"].to_numpy(), bigger]).astype(int),
                          "coef": np.concatenate([np.ones(len(other)), -np.ones(len(other))])})
    le = disclosure.Relations(terms, pd.Series("le", index=rid, dtype=str))
    return disclosure.Relations.concat(sectors, orgs, le)


def build_survey_release(data: SurveyData, *, protection: Protection = SURVEY_PROTECTION) -> SurveyRelease:
    """Score the survey and decide disclosure on everything it publishes at once.

    Raises
    ------
    DisclosureError
        If the audit finds a hidden count a reader could narrow below the rule (nothing is published).
    """
    from . import disclosure

    inst = data.instrument
    resp = data.answers.drop_duplicates(["wave", "respondent_id"])
    groups = (_with_groups(resp, inst).groupby(["wave", *GROUP_KEYS], sort=False)["respondent_id"]
              .nunique().rename("respondents").reset_index())
    scores = domain_scores(data)
    domains = group_domain_scores(scores, inst)
    items = item_agreement(data)
    cells = _cells(groups, domains, items)
    rel = _survey_relations(cells)
    # a small group's every count is primary (its answers are as small as the group)
    small_group = cells.merge(groups.assign(small=groups["respondents"] < MIN_RESPONDENTS)[
        ["wave", *GROUP_KEYS, "small"]], on=["wave", *GROUP_KEYS], how="left")["small"].to_numpy(bool)
    v = cells["value"].to_numpy()
    primary = ((v >= protection.min_count) & (v <= protection.max_count)) | (small_group & (v > 0))
    protected, proof = disclosure.protect(cells, rel, protection=protection, primary=primary)
    if len(proof) and not proof["ok"].all():
        raise disclosure.DisclosureError(disclosure.AUDIT_FAILED.format(n=int((~proof["ok"]).sum())))
    # a group whose respondents are hidden shows nothing; a statistic shows only with its count
    hidden_group = protected[protected["measure"] == "respondents"].set_index(["wave", *GROUP_KEYS])["hidden"]
    protected["hidden"] |= hidden_group.reindex(pd.MultiIndex.from_frame(protected[["wave", *GROUP_KEYS]])).to_numpy(bool)
    hid = protected.set_index(["wave", *GROUP_KEYS, "measure"])["hidden"]

    def hidden_for(df: pd.DataFrame, measure: pd.Series) -> np.ndarray:
        idx = pd.MultiIndex.from_frame(df[["wave", *GROUP_KEYS]].assign(measure=measure.to_numpy()))
        return hid.reindex(idx, fill_value=True).to_numpy(bool)

    groups["hidden"] = hidden_for(groups, pd.Series("respondents", index=groups.index))
    domains["hidden"] = hidden_for(domains, "domain:" + domains["domain"])
    items["hidden"] = hidden_for(items, "item:" + items["item"])
    # alpha is a property of the instrument, published across all partners only: a sector's alpha rests on
    # its complete respondents, a count that the all-partners figure minus the shown sectors would reveal for
    # a hidden sector (its interval's width gives that count away too)
    alpha = cronbach_alpha(data, levels=("all",))
    alpha["hidden"] = hidden_for(alpha, "domain:" + alpha["domain"]) | (alpha["n"] < MIN_ALPHA_RESPONDENTS)
    changes = wave_changes(scores, inst, data.waves)
    h_from = hidden_for(changes.rename(columns={"from_wave": "wave"}), "domain:" + changes["domain"])
    h_to = hidden_for(changes.rename(columns={"to_wave": "wave"}), "domain:" + changes["domain"])
    changes["hidden"] = h_from | h_to
    _blank(groups, ["respondents"])
    _blank(domains, ["n", "mean", "sd", "ci_low", "ci_high"])
    _blank(items, ["n", "disagree", "neutral", "agree", "share_disagree", "share_neutral", "share_agree",
                   "agree_low", "agree_high"])
    _blank(alpha, ["n", "alpha", "alpha_low", "alpha_high"])
    _blank(changes, ["n_from", "n_to", "mean_from", "mean_to", "change", "ci_low", "ci_high", "p_value"])
    for df in (groups, domains, items, alpha, changes):
        df["sector"] = df["g_sector"].map(lambda s: ALL_PARTNERS if s == _ALL else inst.sector_label(s))
    return SurveyRelease(instrument=inst, waves=list(data.waves), groups=groups, domains=domains, items=items,
                         alpha=alpha, changes=changes, cells=protected, audit=proof, protection=protection,
                         accounting=data.accounting, quality=data.quality)


def _blank(df: pd.DataFrame, cols: list[str]) -> None:
    for c in cols:
        df[c] = df[c].astype(float).where(~df["hidden"])
