"""Neutral plain-language sentences generated from the measures.

A page says its window once, in a lead line above its sentences (:func:`window_lead`: "Over FY2020-FY2025
(six years pooled: a child counts once in each year):"), and the sentences then speak of children: the
place's groups, the reference group, the counts and the uncertainty, never a verdict (no "fair",
"unfair", "biased"). Every sentence is shorter than :data:`MAX_WORDS` words. The sentences are
direction-aware: at a decision where a higher value is favourable (kin placement, reunification,
permanency) a lower rate is described as "less likely to ...", and the excess is told as children who would
have reached the favourable outcome at the reference group's rate. Suppressed figures are named as such,
never described as zero; results whose interval includes 1 say the difference could be chance; unstable
ones say so.
"""
from __future__ import annotations

import math

import pandas as pd

from equity_helpers.schema import group_children, sentence_start, stage_info

__all__ = ["sentence", "sentences", "unknown_sentence", "stage_verbs", "window_lead", "period_lead",
           "split_sentences", "word_count", "MAX_WORDS", "TEMPLATES"]

MAX_WORDS = 30
"""Every sentence has fewer words than this (words are what whitespace separates)."""

TEMPLATES: dict[str, str] = {
    "lead_one": "In {year}{then}:",
    "lead_many": "Over {window} ({n} years pooled: a child counts once in each year){then}:",
    "suppressed": "The number of {groups} who {verb} is too small to report. It is hidden to protect "
                  "children's privacy; a hidden number is not zero.",
    "suppressed_many": "The numbers of {groups} who {verb} are too small to report. They are hidden to protect "
                       "children's privacy; a hidden number is not zero.",
    "suppressed_list": "For {n} groups, the number of children who {verb} is too small to report. The groups are "
                       "{groups}. These numbers are hidden to protect children's privacy; a hidden number is not "
                       "zero.",
    "comparison_hidden": "{n} {group} {verb}. The comparison with {ref} is not shown, because it could reveal "
                         "a small number hidden to protect children's privacy.",
    "insufficient": "Too few {group} {verb_base} to compare reliably with {ref}.",
    "zero": "No {group} {verb}. That is 0 out of {base} {base_label}.",
    "higher": "{group} {verb} at {rri} times the rate of {ref}. "
              "That is {rate_g} compared with {rate_r} {unit} (95% CI of the ratio {lo}-{hi}).",
    "lower": "{group} {verb} at {rri} times the rate of {ref}. "
             "That is {inv} times less often: {rate_g} compared with {rate_r} {unit} (95% CI of the ratio {lo}-{hi}).",
    "fav_lower": "{group} were less likely than {ref} to {verb_inf}. "
                 "That is {rate_g} compared with {rate_r} {unit} (ratio {rri}, 95% CI {lo}-{hi}).",
    "fav_higher": "{group} were more likely than {ref} to {verb_inf}. "
                  "That is {rate_g} compared with {rate_r} {unit} (ratio {rri}, 95% CI {lo}-{hi}).",
    "same": "{group} {verb} at about the same rate as {ref}. "
            "That is {rate_g} compared with {rate_r} {unit} (ratio {rri}, 95% CI {lo}-{hi}).",
    "excess_fewer": " At the rate of {ref}, about {n} fewer {group} would have {verb_pp}.",
    "excess_more": " At the rate of {ref}, about {n} more {group} would have {verb_pp}.",
    "chance": " The interval includes 1, so this difference could be due to chance.",
    "chance_adjusted": " Allowing for the {m} groups compared at this decision point (Holm's adjustment), this "
                       "difference could be due to chance.",
    "unknown": "The race of {n} of the {total} children who {verb} ({share}) was not recorded. They are left out "
               "of the totals behind the disproportionality index and \"all other children\".",
    "unstable": " This figure rests on 20 or fewer children and can change a lot from year to year.",
}
"""Sentence templates (tests assert the wording). None names a window: the lead line does
(``lead_one``, ``lead_many``)."""

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve")

_INFINITIVE = {
    "reported": ("were reported to the hotline", "be reported to the hotline", "been reported"),
    "screened_in": ("were screened in", "be screened in", "been screened in"),
    "substantiated": ("were substantiated as victims", "be substantiated as victims", "been substantiated"),
    "entered_care": ("entered foster care", "enter foster care", "entered care"),
    "substantiated_followed": ("were substantiated at least 90 days before the extract date",
                               "be substantiated at least 90 days before the extract date",
                               "been substantiated at least 90 days before the extract date"),
    "entered_after_substantiation": ("entered care within 90 days of a substantiated report",
                                     "enter care within 90 days of a substantiated report",
                                     "entered care within 90 days"),
    "first_placement_kin": ("were first placed with kin", "be first placed with kin", "been placed with kin"),
    "first_placement_congregate": ("were first placed in congregate care", "be first placed in congregate care",
                                   "been placed in congregate care"),
    "permanency_12m": ("reached permanency within 12 months", "reach permanency within 12 months",
                       "reached permanency within 12 months"),
    "reunified_12m": ("were reunified within 12 months", "be reunified within 12 months",
                      "been reunified within 12 months"),
    "in_care_24m_plus": ("were still in care 24 months after entering", "still be in care after 24 months",
                         "stayed in care over 24 months"),
    "aged_out": ("aged out of care", "age out of care", "aged out of care"),
    "reentry_12m": ("re-entered care within 12 months", "re-enter care within 12 months",
                    "re-entered care within 12 months"),
    "P1_permanency_12m_entries": ("reached permanency within 12 months of entering care",
                                  "reach permanency within 12 months of entering care",
                                  "reached permanency within 12 months"),
    "P2_permanency_12_23m": ("reached permanency within the year", "reach permanency within the year",
                             "reached permanency"),
    "P3_permanency_24m_plus": ("reached permanency within the year", "reach permanency within the year",
                               "reached permanency"),
    "P4_reentry_12m": ("re-entered care within 12 months of going home", "re-enter care within 12 months of going home",
                       "re-entered care"),
    "P5_moves_per_1000_days": ("moved between placements", "move between placements", "moved"),
}


def _fmt(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if math.isinf(x):
        return "unbounded"
    return f"{x:.{digits}g}" if x >= 10 else f"{x:.{digits - 1}f}" if x >= 1 else f"{x:.2f}"


def _count(n: float) -> str:
    n = abs(n)
    if n >= 1000:
        return f"{round(n, -2):,.0f}"
    if n >= 100:
        return f"{round(n, -1):,.0f}"
    return f"{round(n):,.0f}"


def stage_verbs(stage: str) -> tuple[str, str, str]:
    """The verb of a decision point in a sentence: ``(past, infinitive, past participle)``, e.g. "were reported"."""
    if stage in _INFINITIVE:
        return _INFINITIVE[stage]
    info = stage_info(stage)
    label = info.label if info else stage.replace("_", " ")
    return f"reached '{label}'", f"reach '{label}'", f"reached '{label}'"


def window_lead(first_year: int, last_year: int, *, then: str = "") -> str:
    """The lead line of a section: its window, said once ("In FY2025:" or "Over FY2020-FY2025 (six years
    pooled: a child counts once in each year):"), with ``then`` before the colon (", compared with ...")."""
    if first_year == last_year:
        return TEMPLATES["lead_one"].format(year=f"FY{first_year}", then=then)
    n = last_year - first_year + 1
    return TEMPLATES["lead_many"].format(window=f"FY{first_year}-FY{last_year}", then=then,
                                         n=_NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n))


def period_lead(period) -> str:
    """:func:`window_lead` of a measures table's ``period`` (a fiscal year such as 2025, or a published window
    label such as "FY2020-FY2025")."""
    label = _period_label(period)
    years = [int(y) for y in label.replace("FY", "").split("-")]
    return window_lead(years[0], years[-1])


def word_count(text: str) -> int:
    """Words in ``text``: what whitespace separates ("95% CI 1.2-1.5" is three words)."""
    return len(text.split())


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, split after a full stop followed by a space ("0.5" and "1.2-1.5" stay whole)."""
    return [part.strip() for part in text.replace(". ", ".\n").split("\n") if part.strip()]


def sentence(row: pd.Series | dict, *, adjusted: bool = False, alpha: float = 0.05) -> str:
    """The sentences for one row of :func:`equity_helpers.metrics.rates.measures` (the row's window is left
    to the section's lead line, :func:`period_lead`).

    With ``adjusted``, a difference whose interval excludes 1 is still called possibly due to chance
    when its multiple-comparison adjusted p-value (``p_adjusted``) is ``alpha`` or more.
    Returns "" for the reference group itself and for the all-children and unknown rows.
    """
    r = dict(row)
    g, ref_code = r["race_ethnicity"], r["reference"]
    if g in ("all", "unknown") or g == ref_code:
        return ""
    if r.get("suppressed"):
        return _hidden_comparison(r)
    if pd.isna(r.get("rri")):
        if r.get("insufficient") or pd.isna(r.get("base_count")):
            return sentence_start(TEMPLATES["insufficient"].format(
                group=group_children(g), ref=group_children(ref_code), verb_base=stage_verbs(r["stage"])[0]))
        return ""
    if r["count"] == 0:
        return sentence_start(TEMPLATES["zero"].format(group=group_children(g), verb=stage_verbs(r["stage"])[0],
                                                       base=f"{int(r['base_count']):,}",
                                                       base_label=_base_phrase(r["base"])))
    return _comparison(r, adjusted=adjusted, alpha=alpha)


def _hidden_comparison(r: dict) -> str:
    """A suppressed row: its own count hidden, or only its comparison ("" when its base is empty)."""
    verb = stage_verbs(r["stage"])[0]
    group = group_children(r["race_ethnicity"])
    if _count_hidden(r):
        return _suppressed_text([group], verb)
    if not pd.isna(r.get("base_count")) and r.get("base_count") == 0:
        return ""  # no children in the base: nothing to say
    n = int(r["count"])
    return sentence_start(TEMPLATES["comparison_hidden"].format(n=f"{n:,}" if n else "no", group=group, verb=verb,
                                                                ref=group_children(r["reference"])))


def _comparison(r: dict, *, adjusted: bool, alpha: float) -> str:
    """A published comparison: the ratio and its interval, the two rates, the excess and the caveats."""
    info = stage_info(r["stage"])
    favourable = info is not None and info.higher_is == "favourable"
    verb, verb_inf, verb_pp = stage_verbs(r["stage"])
    group, ref = group_children(r["race_ethnicity"]), group_children(r["reference"])
    rri, lo, hi = float(r["rri"]), float(r["rri_low"]), float(r["rri_high"])
    vals = dict(group=group, ref=ref, verb=verb, verb_inf=verb_inf, rri=_fmt(rri), lo=_fmt(lo), hi=_fmt(hi),
                rate_g=_fmt(float(r["rate"]), 3), rate_r=_fmt(float(r["ref_rate"]), 3), unit=_unit(r),
                inv=_fmt(1 / rri) if rri > 0 else "n/a")
    if round(rri, 2) == 1.0:
        key = "same"
    elif favourable:
        key = "fav_higher" if rri > 1 else "fav_lower"
    else:
        key = "higher" if rri > 1 else "lower"
    text = sentence_start(TEMPLATES[key].format(**vals))
    chance = lo <= 1 <= hi
    ex = r.get("excess")
    if ex is not None and not pd.isna(ex) and abs(ex) >= 0.5 and not chance:
        key = "excess_fewer" if ex > 0 else "excess_more"
        text += TEMPLATES[key].format(ref=ref, n=_count(ex), group=group, verb_pp=verb_pp)
    if chance:
        text += TEMPLATES["chance"]
    elif adjusted and not pd.isna(r.get("p_adjusted")) and float(r["p_adjusted"]) >= alpha:
        text += TEMPLATES["chance_adjusted"].format(m=int(r["comparisons"]))
    if r.get("unstable"):
        text += TEMPLATES["unstable"]
    return text


def unknown_sentence(row: pd.Series | dict) -> str:
    """How many children at a decision point had no recorded race, and their share of all children
    ("" when the count is hidden or zero)."""
    r = dict(row)
    share = r.get("share")
    if _count_hidden(r) or not r["count"] or pd.isna(share) or share <= 0:
        return ""
    n = int(r["count"])
    return TEMPLATES["unknown"].format(n=f"{n:,}", total=f"{round(n / share):,}", verb=stage_verbs(r["stage"])[0],
                                       share=f"{share:.1%}")


def _period_label(period) -> str:
    """A fiscal year (2025) or a published window label ("FY2020-FY2025") as a page names it."""
    return str(period) if str(period).startswith("FY") else f"FY{period}"


def _count_hidden(r: dict) -> bool:
    """True when the row's own count is hidden (not when only a comparison is)."""
    return "count" not in r or pd.isna(r["count"])


def _suppressed_text(names: list[str], verb: str) -> str:
    """The groups whose count at one decision is hidden, named together; past a sentence's length, listed
    after a count of them."""
    if len(names) == 1:
        return TEMPLATES["suppressed"].format(groups=names[0], verb=verb)
    groups = ", ".join(names[:-1]) + " and " + names[-1]
    text = TEMPLATES["suppressed_many"].format(groups=groups, verb=verb)
    if max(word_count(s) for s in split_sentences(text)) < MAX_WORDS:
        return text
    n = _NUMBER_WORDS[len(names)] if len(names) < len(_NUMBER_WORDS) else str(len(names))
    return TEMPLATES["suppressed_list"].format(n=n, groups=groups, verb=verb)


def _unit(r: dict) -> str:
    if r["base"] == "days in care":
        return "moves per 1,000 days in care"
    if r["per"] == 1000:
        return "per 1,000 children"
    return f"per 100 {_base_phrase(r['base'])}"


def _base_phrase(base: str) -> str:
    if base == "child population":
        return "children in the population"
    st = stage_info(base)
    return st.label if st else str(base).replace("_", " ")


def sentences(table: pd.DataFrame, *, adjusted: bool = False) -> list[str]:
    """Sentences for every row of a measures table, in the table's order, none naming the window (a page
    puts :func:`period_lead` of the table's period above them).

    Suppressed groups at the same decision, year and place are named together in one sentence;
    ``adjusted`` words chance after the multiple-comparison adjustment (see :func:`sentence`). A
    decision point whose unknown-race count is published gets a sentence with its share (when the
    table leaves unknown race out of the totals, the default).
    """
    out: list[str | tuple] = []
    hidden: dict[tuple, list[str]] = {}
    for _, row in table.iterrows():
        if (row.get("suppressed") and _count_hidden(dict(row))
                and row["race_ethnicity"] not in ("all", "unknown", row["reference"])):
            key = (row["stage"], row["period"], row["jurisdiction"])
            if key not in hidden:
                hidden[key] = []
                out.append(key)  # placeholder, keeps the order
            hidden[key].append(group_children(row["race_ethnicity"]))
            continue
        text = sentence(row, adjusted=adjusted)
        if text:
            out.append(text)
        if row["race_ethnicity"] == "unknown" and table.attrs.get("unknown", "exclude") == "exclude":
            text = unknown_sentence(row)
            if text:
                out.append(text)
    return [_suppressed_text(hidden[item], stage_verbs(item[0])[0]) if isinstance(item, tuple) else item
            for item in out]
