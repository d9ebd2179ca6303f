"""Neutral plain-language sentences generated from the measures.

Every sentence names the year, the place's groups, the reference group, the counts and the
uncertainty, and never passes a verdict (no "fair", "unfair", "biased"). It is direction-aware: at a
decision where a higher value is favourable (kin placement, reunification, permanency) a lower
rate is described as "less likely to ...", and the excess is told as children who would have
reached the favourable outcome at the reference group's rate. Suppressed figures are named as
such, never described as zero; results whose interval includes 1 say the difference could be
chance; unstable ones say so.
"""
from __future__ import annotations

import math

import pandas as pd

from .schema import group_children, sentence_start, stage_info

__all__ = ["sentence", "sentences", "unknown_sentence", "TEMPLATES", "survey_sentences", "SURVEY_TEMPLATES", "ALPHA_CUT"]

TEMPLATES: dict[str, str] = {
    "suppressed": "In {year}, the number of {groups} who {verb} is too small to report, to protect "
                  "children's privacy (a hidden number is not zero).",
    "suppressed_many": "In {year}, the numbers of {groups} who {verb} are too small to report, to protect "
                       "children's privacy (a hidden number is not zero).",
    "comparison_hidden": "In {year}, {n} {group} {verb}; the comparison with {ref} is not shown, because "
                         "it could reveal a small number hidden to protect children's privacy.",
    "insufficient": "In {year}, too few {group} {verb_base} for a reliable comparison with "
                    "{ref}.",
    "zero": "In {year}, no {group} {verb}, out of {base} {base_label}.",
    "higher": "In {year}, {group} {verb} at {rri} times the rate of {ref} "
              "({rate_g} compared with {rate_r} {unit}; 95% CI {lo}-{hi}).",
    "lower": "In {year}, {group} {verb} at {rri} times the rate of {ref}, that is, "
             "{inv} times less often ({rate_g} compared with {rate_r} {unit}; 95% CI {lo}-{hi}).",
    "fav_lower": "In {year}, {group} were less likely than {ref} to {verb_inf}: "
                 "{rate_g} compared with {rate_r} {unit} (ratio {rri}, 95% CI {lo}-{hi}).",
    "fav_higher": "In {year}, {group} were more likely than {ref} to {verb_inf}: "
                  "{rate_g} compared with {rate_r} {unit} (ratio {rri}, 95% CI {lo}-{hi}).",
    "same": "In {year}, {group} {verb} at about the same rate as {ref} "
            "({rate_g} compared with {rate_r} {unit}; ratio {rri}, 95% CI {lo}-{hi}).",
    "excess_fewer": " At the rate of {ref}, about {n} fewer {group} would have {verb_pp}.",
    "excess_more": " At the rate of {ref}, about {n} more {group} would have {verb_pp}.",
    "chance": " The interval includes 1, so this difference could be due to chance.",
    "chance_adjusted": " Allowing for the {m} groups compared at this decision point (Holm's adjustment), this "
                       "difference could be due to chance.",
    "unknown": "In {year}, the race of {n} of the {total} children who {verb} ({share}) was not recorded; they "
               "are left out of the totals behind the disproportionality index and \"all other children\".",
    "unstable": " This figure rests on 20 or fewer children and can change a lot from year to year.",
}
"""Sentence templates (tests assert the wording)."""

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
                         "still been in care after 24 months"),
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


def _verbs(stage: str) -> tuple[str, str, str]:
    if stage in _INFINITIVE:
        return _INFINITIVE[stage]
    info = stage_info(stage)
    label = info.label if info else stage.replace("_", " ")
    return f"reached '{label}'", f"reach '{label}'", f"reached '{label}'"


def sentence(row: pd.Series | dict, *, year_label: str | None = None, adjusted: bool = False,
             alpha: float = 0.05) -> str:
    """One sentence for one row of :func:`equity_helpers.measures.measures`.

    With ``adjusted``, a difference whose interval excludes 1 is still called possibly due to chance
    when its multiple-comparison adjusted p-value (``p_adjusted``) is ``alpha`` or more.
    Returns "" for the reference group itself and for the all-children and unknown rows.
    """
    r = dict(row)
    g, ref_code = r["race_ethnicity"], r["reference"]
    if g in ("all", "unknown") or g == ref_code:
        return ""
    stage = r["stage"]
    info = stage_info(stage)
    favourable = info is not None and info.higher_is == "favourable"
    verb, verb_inf, verb_pp = _verbs(stage)
    year = year_label or _period_label(r["period"])
    group = group_children(g)
    ref = group_children(ref_code)
    unit = _unit(r)
    if r.get("suppressed"):
        if _count_hidden(r):
            return _suppressed_text(year, [group], verb)
        n = int(r["count"])
        if not pd.isna(r.get("base_count")) and r.get("base_count") == 0:
            return ""  # no children in the base: nothing to say
        return TEMPLATES["comparison_hidden"].format(year=year, n=f"{n:,}" if n else "no", group=group, verb=verb,
                                                     ref=ref)
    if pd.isna(r.get("rri")):
        if r.get("insufficient") or pd.isna(r.get("base_count")):
            return TEMPLATES["insufficient"].format(year=year, group=group, ref=ref,
                                                    verb_base=verb)
        return ""
    rri, lo, hi = float(r["rri"]), float(r["rri_low"]), float(r["rri_high"])
    if r["count"] == 0:
        return TEMPLATES["zero"].format(year=year, group=group, verb=verb, base=f"{int(r['base_count']):,}",
                                        base_label=_base_phrase(r["base"]))
    vals = dict(year=year, group=group, ref=ref, verb=verb, verb_inf=verb_inf, rri=_fmt(rri), lo=_fmt(lo),
                hi=_fmt(hi), rate_g=_fmt(float(r["rate"]), 3), rate_r=_fmt(float(r["ref_rate"]), 3), unit=unit,
                inv=_fmt(1 / rri) if rri > 0 else "n/a")
    if round(rri, 2) == 1.0:
        text = TEMPLATES["same"].format(**vals)
    elif favourable:
        text = TEMPLATES["fav_higher" if rri > 1 else "fav_lower"].format(**vals)
    else:
        text = TEMPLATES["higher" if rri > 1 else "lower"].format(**vals)
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


def unknown_sentence(row: pd.Series | dict, *, year_label: str | None = None) -> str:
    """How many children at a decision point had no recorded race, and their share of all children
    ("" when the count is hidden or zero)."""
    r = dict(row)
    share = r.get("share")
    if _count_hidden(r) or not r["count"] or pd.isna(share) or share <= 0:
        return ""
    n = int(r["count"])
    return TEMPLATES["unknown"].format(year=year_label or _period_label(r["period"]), n=f"{n:,}",
                                       total=f"{round(n / share):,}", verb=_verbs(r["stage"])[0],
                                       share=f"{share:.1%}")


def _period_label(period) -> str:
    """A fiscal year (2025) or a published window label ("FY2020-FY2025") as a page names it."""
    return str(period) if str(period).startswith("FY") else f"FY{period}"


def _count_hidden(r: dict) -> bool:
    """True when the row's own count is hidden (not when only a comparison is)."""
    return "count" not in r or pd.isna(r["count"])


def _suppressed_text(year: str, names: list[str], verb: str) -> str:
    if len(names) == 1:
        return TEMPLATES["suppressed"].format(year=year, groups=names[0], verb=verb)
    groups = ", ".join(names[:-1]) + " and " + names[-1]
    return TEMPLATES["suppressed_many"].format(year=year, groups=groups, verb=verb)


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


def sentences(table: pd.DataFrame, *, year_label: str | None = None, adjusted: bool = False) -> list[str]:
    """Sentences for every row of a measures table, in the table's order.

    Suppressed groups at the same decision, year and place are named together in one sentence;
    ``adjusted`` words chance after the multiple-comparison adjustment (see :func:`sentence`). A
    decision point whose unknown-race count is published gets a sentence with its share (when the
    table leaves unknown race out of the totals, the default).
    """
    out: list[str] = []
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
        text = sentence(row, year_label=year_label, adjusted=adjusted)
        if text:
            out.append(text)
        if row["race_ethnicity"] == "unknown" and table.attrs.get("unknown", "exclude") == "exclude":
            text = unknown_sentence(row, year_label=year_label)
            if text:
                out.append(text)
    result = []
    for item in out:
        if isinstance(item, tuple):
            result.append(_suppressed_text(year_label or _period_label(item[1]), hidden[item], _verbs(item[0])[0]))
        else:
            result.append(item)
    return result


# --------------------------------------------------------------------------- the collaboration survey
SURVEY_TEMPLATES: dict[str, str] = {
    "respondents": "In {wave}, {n} people answered the survey for {group}{sectors}.",
    "group_hidden": "In {wave}, {group} had too few respondents to show (or showing them would reveal a group "
                    "that small), to protect the privacy of the people who answered.",
    "range": "In {wave}, {group} rated {high} highest ({high_score} on the {scale} scale) and {low} lowest "
             "({low_score}).",
    "change": "{domain} {verb} from {before} in {w0} to {after} in {w1} (change {change}, 95% CI {lo} to {hi}).",
    "no_change": "The other domains changed between {w0} and {w1} by amounts that chance alone could explain.",
    "no_change_all": "Between {w0} and {w1}, no domain changed by more than chance alone could explain.",
    "sector_gap": "Sectors saw {domain} most differently in {wave}: {high} {high_score} and {low} {low_score}.",
    "alpha_low": "Read {domains} with care: {its} items hold together less well than the others' in {wave} "
                 "(Cronbach's alpha below {cut} across all partners), so {they} may measure more than one thing.",
    "hidden_groups": "{n} of the {total} groups (sectors and organisations) in {wave} are not shown: groups with "
                     "fewer than {min} respondents, and others hidden so that those cannot be worked out.",
}
"""Sentences about the collaboration survey (neutral: what changed and how certain, never a verdict)."""
ALPHA_CUT = 0.7
"""Cronbach's alpha below this is called "holding together less well" (Nunnally's conventional 0.70)."""


def _score(x: float) -> str:
    return f"{x:.1f}"


def _signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "\u2212")


def survey_sentences(rel, *, wave: str, group: str, baseline: str | None = None) -> list[str]:
    """Plain-language sentences for one wave and group of a :class:`~equity_helpers.survey.SurveyRelease`.

    Says how many answered (or that the group is hidden), the highest and lowest rated domains, the
    domains whose change since ``baseline`` (default: the first wave) is larger than chance (95%
    interval excluding 0) and that the others' is not, the domain on which sectors differ most (for
    all partners), domains whose items do not hold together (alpha below :data:`ALPHA_CUT`), and how
    many groups are hidden.
    """
    from .survey import ALL_PARTNERS, MIN_RESPONDENTS

    inst = rel.instrument
    label = {d.id: d.label for d in inst.domains}
    scale = f"{inst.low}-{inst.high}"
    out = []
    g = rel.groups[(rel.groups["wave"] == wave) & (rel.groups["group"] == group)]
    name = "all partners together" if group == ALL_PARTNERS else group
    if g.empty or g["hidden"].iloc[0]:
        return [SURVEY_TEMPLATES["group_hidden"].format(wave=wave, group=name)]
    sectors = ""
    if group == ALL_PARTNERS:
        k = int(((rel.groups["wave"] == wave) & (rel.groups["level"] == "sector")).sum())
        sectors = f", from {k} sector{'' if k == 1 else 's'}"
    out.append(SURVEY_TEMPLATES["respondents"].format(wave=wave, n=f"{int(g['respondents'].iloc[0]):,}", group=name,
                                                      sectors=sectors))
    d = rel.domains[(rel.domains["wave"] == wave) & (rel.domains["group"] == group) & ~rel.domains["hidden"]]
    if len(d) >= 2:
        hi, lo = d.loc[d["mean"].idxmax()], d.loc[d["mean"].idxmin()]
        out.append(SURVEY_TEMPLATES["range"].format(wave=wave, group=name, high=label[hi["domain"]].lower(), scale=scale,
                                                    high_score=_score(hi["mean"]), low=label[lo["domain"]].lower(),
                                                    low_score=_score(lo["mean"])))
    w0 = baseline or rel.waves[0]
    if w0 != wave:
        c = rel.changes[(rel.changes["from_wave"] == w0) & (rel.changes["to_wave"] == wave)
                        & (rel.changes["group"] == group) & ~rel.changes["hidden"]]
        clear = c[(c["ci_low"] > 0) | (c["ci_high"] < 0)].sort_values("change", key=abs, ascending=False)
        for _, r in clear.iterrows():
            out.append(SURVEY_TEMPLATES["change"].format(
                domain=label[r["domain"]], verb="rose" if r["change"] > 0 else "fell", before=_score(r["mean_from"]),
                after=_score(r["mean_to"]), w0=w0, w1=wave, change=_signed(r["change"]), lo=_signed(r["ci_low"]),
                hi=_signed(r["ci_high"])))
        if len(c) > len(clear):
            out.append(SURVEY_TEMPLATES["no_change" if len(clear) else "no_change_all"].format(w0=w0, w1=wave))
    if group == ALL_PARTNERS:
        s = rel.domains[(rel.domains["wave"] == wave) & (rel.domains["level"] == "sector") & ~rel.domains["hidden"]]
        if s["group"].nunique() >= 2:
            spread = s.groupby("domain")["mean"].agg(lambda x: x.max() - x.min())
            dom = spread.idxmax()
            sd = s[s["domain"] == dom]
            hi, lo = sd.loc[sd["mean"].idxmax()], sd.loc[sd["mean"].idxmin()]
            out.append(SURVEY_TEMPLATES["sector_gap"].format(domain=label[dom].lower(), wave=wave, high=hi["group"],
                                                             high_score=_score(hi["mean"]), low=lo["group"],
                                                             low_score=_score(lo["mean"])))
    # whether a domain's items hold together is a property of the instrument: judged on all partners
    a = rel.alpha[(rel.alpha["wave"] == wave) & (rel.alpha["level"] == "all") & ~rel.alpha["hidden"]]
    weak = [label[x].lower() for x in a.loc[a["alpha"] < ALPHA_CUT, "domain"]]
    if weak:
        names = ", ".join(weak[:-1]) + (" and " if len(weak) > 1 else "") + weak[-1]
        out.append(SURVEY_TEMPLATES["alpha_low"].format(domains=names, wave=wave, cut=f"{ALPHA_CUT:.2f}",
                                                        its="its" if len(weak) == 1 else "their",
                                                        they="it" if len(weak) == 1 else "they"))
    gw = rel.groups[(rel.groups["wave"] == wave) & (rel.groups["level"] != "all")]
    if gw["hidden"].any():
        out.append(SURVEY_TEMPLATES["hidden_groups"].format(n=int(gw["hidden"].sum()), total=len(gw), wave=wave,
                                                            min=MIN_RESPONDENTS))
    return [sentence_start(s) for s in out]
