"""Every section of sentences on the sample, in English and Spanish: the window is said once (a lead line or
heading), no sentence has 30 words or more, and the sentences still carry their numbers (issue 28, item 3).

A *section* is what a page shows under one heading: a decision-point view's list, the time-in-care list,
the federal measures under their heading, a breakdown's list, the partner and family-engagement lists, and
the dashboard's largest gaps, changes and each decision point. Another window may be named only where a
sentence speaks of it: a decision point followed for fewer years ("reunified within 12 months
(FY2020-FY2022)").
"""
from __future__ import annotations

import re

import pandas as pd
import pytest

from equity_helpers.pages import breakdowns, narrative, story
from equity_helpers.pages.dashboard import summary_html
from equity_helpers.pages.i18n import Catalogue
from equity_helpers.pages.narrative import MAX_WORDS, split_sentences, stage_verbs, word_count
from equity_helpers.pages.story import StoryFilters
from equity_helpers.pages.views import Filters, decision_point_view, time_in_care_view
from equity_helpers.schema import STATE, group_children, sentence_start

WINDOW = re.compile(r"\b(?:FY|AF)\d{4}(?:-(?:FY|AF)\d{4})?\b")
"""A window as a page names it, in either language (FY2025, FY2020-FY2025, AF2020-AF2025)."""

OWN_WINDOW = re.compile(r"\((?:FY|AF)\d{4}(?:-(?:FY|AF)\d{4})?\)\"")
"""A window a decision point's name carries when it is followed for fewer years: "... (FY2020-FY2022)"."""

PAGES = [["reported"], ["screened_in"], ["substantiated"], ["entered_care", "entered_after_substantiation"],
         ["first_placement_kin", "first_placement_congregate"], ["reported", "screened_in", "substantiated",
                                                                 "entered_care"]]
"""The stages of the analyst pages' decision-point views (notebooks 01-06)."""

PLACES = [STATE, "Bluff", "Granite"]
LANGUAGES = [Catalogue("en"), Catalogue("es")]
GROUPS = ["black", "hispanic", "aian", "asian", "nhpi", "multiracial"]


@pytest.fixture(scope="module")
def wb(sample_workbook):
    return sample_workbook


def _windows(place: str, wb) -> list[tuple[int, int]]:
    return story.published_windows(wb, place)


def _label(first: int, last: int) -> str:
    return f"FY{first}" if first == last else f"FY{first}-FY{last}"


def assert_short(texts: list[str]) -> None:
    """No sentence of ``texts`` has :data:`MAX_WORDS` words or more."""
    for text in texts:
        for s in split_sentences(text):
            assert word_count(s) < MAX_WORDS, f"{word_count(s)} words: {s}"


def assert_window_once(lead: str, sentences: list[str], window: str) -> None:
    """``window`` is named once in the section (its lead or heading), and no other window is named except in a
    decision point's own name."""
    named = WINDOW.findall(" ".join([lead, *(OWN_WINDOW.sub('"', s) for s in sentences)]))
    assert named == [window], (named, lead, sentences)


# --------------------------------------------------------------------------- the analyst pages (English)
def _decision_sections(wb):
    for place in PLACES:
        for first, last in _windows(place, wb):
            for basis in ("population", "decision"):
                for stages in PAGES:
                    v = decision_point_view(wb, stages=stages, filters=Filters(jurisdiction=place, first_year=first,
                                                                               last_year=last, basis=basis))
                    yield v, _label(first, last)


def test_decision_point_sections_say_their_window_once_in_short_sentences(wb):
    seen = 0
    for v, window in _decision_sections(wb):
        assert_short([v.lead, *v.sentences])
        if len(v.current):
            assert_window_once(v.lead, v.sentences, window)
            seen += 1
        else:  # a sentence saying why nothing is shown
            assert v.lead == "" and not WINDOW.findall(" ".join(v.sentences))
    assert seen > 50


def _item(sentences: list[str], row) -> str:
    """The sentences about one group at one decision point."""
    group = sentence_start(group_children(row["race_ethnicity"]))
    past, infinitive, _ = stage_verbs(row["stage"])
    found = [s for s in sentences if s.startswith(group + " ") and (past in s or infinitive in s)]
    assert len(found) == 1, (group, row["stage"], found)
    return found[0]


def test_decision_point_sentences_carry_ratio_interval_rates_and_excess(wb):
    checked = 0
    for v, _ in _decision_sections(wb):
        rows = v.current[~v.current["race_ethnicity"].isin(["all", "unknown", v.filters.reference])
                         & v.current["rri"].notna() & ~v.current["suppressed"].astype(bool)
                         & v.current["count"].gt(0)]
        for _, r in rows.iterrows():
            text = _item(v.sentences, r)
            fmt = narrative._fmt  # the numbers as the sentences have always written them
            for number in (fmt(r["rri"]), fmt(r["rri_low"]), fmt(r["rri_high"]), fmt(r["rate"], 3),
                           fmt(r["ref_rate"], 3)):
                assert number in text, (number, text)
            if "would have" in text:
                assert narrative._count(r["excess"]) in text, text
            checked += 1
    assert checked > 100


def test_hidden_groups_are_named_in_short_sentences_however_many():
    names = [group_children(g) for g in ("aian", "asian", "multiracial", "nhpi", "hispanic")]
    for k in range(1, len(names) + 1):
        text = narrative._suppressed_text(names[:k], stage_verbs("entered_after_substantiation")[0])
        assert_short([text])
        assert all(n in text for n in names[:k]) and "not zero" in text and "too small to report" in text


def test_time_in_care_sections_say_their_window_once(wb):
    for place in PLACES:
        for first, last in _windows(place, wb):
            t = time_in_care_view(wb, filters=Filters(jurisdiction=place, first_year=first, last_year=last,
                                                      basis="decision"))
            assert_short([t.lead, *t.sentences, t.federal_heading, *t.federal_sentences])
            if t.sentences:
                assert_window_once(t.lead, t.sentences, _label(first, last))
            if t.federal_sentences:
                assert_window_once(t.federal_heading, t.federal_sentences, f"FY{t.federal_year}")
            for _, r in t.stays.iterrows():  # each median stated is the table's, in months
                if any(group_children(r["race_ethnicity"]) + " who" in s for s in t.sentences):
                    assert f"{r['median_days'] / 30.44:.1f} months" in " ".join(t.sentences)


def test_breakdown_sections_say_their_window_and_comparison_once(wb):
    rel = wb.release()
    checked = 0
    for b in breakdowns.breakdowns_in(rel):
        if b == "dv_services":  # the partner's page (below)
            continue
        v = breakdowns.breakdown_view(wb, breakdown=b, first_year=2020, last_year=2025)
        if not v.sentences:
            continue
        assert_short([v.lead, *v.sentences])
        assert_window_once(v.lead, v.sentences, "FY2020-FY2025")
        ref = breakdowns.BREAKDOWN_LABELS[b][v.reference_level]
        assert v.lead.count(ref) == 1 and not any(ref in s for s in v.sentences)
        assert not v.lead.endswith(" it:"), v.lead  # the comparison group named in full, before its sentences
        for _, r in v.levels[v.levels["rri"].notna() & ~v.levels["suppressed"].astype(bool)].iterrows():
            if r["level"] == v.reference_level or r["level"] in breakdowns.NOT_SHOWN_AS_RATIO:
                continue
            text = next(s for s in v.sentences if s.startswith(sentence_start(r["label"]))
                        and stage_verbs(r["stage"])[0] in s)
            for number in (f"{r['rri']:.2f}", f"{r['rri_low']:.2f}", f"{r['rri_high']:.2f}", f"{r['rate']:.1f}",
                           f"{r['ref_rate']:.1f}"):
                assert number in text, (number, text)
            checked += 1
    assert checked > 5


def _shown_markdown(monkeypatch, show) -> list[str]:
    """The Markdown a ``show_*`` function displays, one string per display call."""
    import IPython.display

    shown: list[str] = []

    def display(*objs, **_):
        shown.extend(o.data for o in objs if isinstance(o, IPython.display.Markdown))

    monkeypatch.setattr(IPython.display, "display", display)
    show()
    return shown


def _markdown_sections(texts: list[str]) -> list[list[str]]:
    """The paragraphs and bullets of each displayed Markdown text that holds a list (italics marks dropped)."""
    out = []
    for text in texts:
        lines = [ln.strip("_") for ln in text.split("\n") if ln.strip()]
        if any(ln.startswith("- ") for ln in lines):
            out.append([ln[2:] if ln.startswith("- ") else ln for ln in lines])
    return out


def test_partner_and_engagement_pages_say_their_window_once_per_section(wb, monkeypatch):
    for show in (breakdowns.show_partner, breakdowns.show_engagement):
        shown = _shown_markdown(monkeypatch, lambda: show(wb, first_year=2020, last_year=2025))
        sections = _markdown_sections(shown)
        assert len(sections) >= 2
        # the window once per part of the page, each part opened by its heading (engagement) or the page's start
        parts = "\n".join(shown).split("### ")
        for part in parts:
            if "\n- " in part:
                assert len(WINDOW.findall(part)) == 1, part
        for lines in sections:
            assert_short(lines)


# --------------------------------------------------------------------------- the dashboard and slides (EN, ES)
def _summaries(wb, cat):
    for place in PLACES:
        for first, last in _windows(place, wb):
            for group in GROUPS if (place, first, last) == (STATE, 2020, 2025) else [None]:
                f = StoryFilters(place=place, first_year=first, last_year=last)
                f = StoryFilters(**{**f.__dict__, "group": group or story.focus_group(wb, f)})
                yield story.summary(wb, f, cat)


def _sections_of(html_text: str) -> list[tuple[str, list[str]]]:
    """(heading, items) of each ``<h2>`` section of the dashboard's summary."""
    out = []
    for part in html_text.split("<h2>")[1:]:
        heading, body = part.split("</h2>", 1)
        items = [re.sub("<[^>]+>", "", i) for i in re.findall(r"<li>(.*?)</li>", body, re.S)]
        out.append((re.sub("&quot;", '"', heading), [re.sub("&quot;", '"', i) for i in items]))
    return out


@pytest.mark.parametrize("cat", LANGUAGES, ids=["en", "es"])
def test_story_sections_say_their_windows_once_in_short_sentences(wb, cat):
    stages_seen = 0
    for s in _summaries(wb, cat):
        f = s.filters
        sections = _sections_of(summary_html(s, cat, with_alt=False))
        gaps_heading, gaps = sections[0]
        assert_window_once(gaps_heading, gaps, cat.years(f.first_year, f.last_year))
        if s.baseline:
            heading, changes = sections[1]
            assert WINDOW.findall(" ".join([heading, *changes])) == [s.baseline, s.latest]
        assert_short([s.chain_alt, *gaps, *s.changes])
        for stage in dict.fromkeys(s.rows["stage"]):
            st = story.stage_story(s, stage, cat)
            assert_short([st.alt, *st.sentences])
            # the stage's window is the chart title's; the sentences name only a shorter follow-up's, in its name
            assert not WINDOW.findall(" ".join(OWN_WINDOW.sub('"', t) for t in st.sentences)), st.sentences
            assert len(WINDOW.findall(st.chart["title"]["text"] if isinstance(st.chart["title"], dict)
                                      else st.chart["title"])) == 1
            stages_seen += 1
    assert stages_seen > 50


@pytest.mark.parametrize("cat", LANGUAGES, ids=["en", "es"])
def test_story_sentences_carry_ratio_interval_rates_and_excess(wb, cat):
    checked = 0
    for s in _summaries(wb, cat):
        f = s.filters
        for stage in dict.fromkeys(s.rows["stage"]):
            rows = story.stage_rows(s.rows, stage)
            r = rows[rows["race_ethnicity"] == f.group]
            if r.empty or r.iloc[0]["status"] in ("hidden", "too_few"):
                continue
            r = r.iloc[0]
            text = " ".join(story.stage_story(s, stage, cat).sentences)
            numbers = [cat.ratio(r["rri"]), cat.ratio(r["rri_low"]), cat.ratio(r["rri_high"]), cat.rate(r["rate"]),
                       cat.rate(r["rate_low"]), cat.rate(r["rate_high"]), cat.rate(r["ref_rate"])]
            if not pd.isna(r["excess"]) and round(abs(r["excess"])) >= 1:
                numbers.append(cat.number(story.rounded(abs(r["excess"]))))
            for number in numbers:
                assert number in text, (number, text)
            checked += 1
    assert checked > 20


# --------------------------------------------------------------------------- the collaboration survey
def test_survey_sections_say_their_wave_once_in_short_sentences():
    from equity_helpers import survey
    from equity_helpers.survey.page import survey_view

    from ..conftest import SAMPLE

    inst = survey.load_instrument(SAMPLE / "survey_instrument.yml")
    rel = survey.build_survey_release(survey.load_responses(SAMPLE / "survey_responses.csv", inst))
    seen = 0
    for wave in rel.waves:
        for group in rel.group_options():
            v = survey_view(rel, wave=wave, group=group)
            assert_short([v.lead, *v.sentences])
            said = re.findall(rf"(?<!\w){re.escape(wave)}(?!\w)", " ".join([v.lead, *v.sentences]))
            assert len(said) == 1 and wave in v.lead, (v.lead, v.sentences)
            seen += 1
    assert seen > 10


# --------------------------------------------------------------------------- the catalogues, at their longest
@pytest.mark.parametrize("cat", LANGUAGES, ids=["en", "es"])
def test_every_message_stays_short_with_the_longest_names(cat):
    """Beyond the sample: each message of the catalogue, filled with its longest group name (either side of the
    comparison), its longest decision point followed for fewer years and the longest unit, has no sentence of
    30 words or more."""
    from equity_helpers.pages.i18n import placeholders

    m = cat.messages
    longest = max((g for k, g in m["groups"].items() if k not in ("all", "overall", "unknown")),
                  key=lambda g: word_count(g))
    stage = max(m["stages"].values(), key=lambda s: word_count(s)) + f" ({cat.years(2020, 2022)})"
    unit = max((m["basis_population"], m["basis_decision"]), key=lambda u: word_count(u))
    fill = {"group": longest, "ref": m["groups"]["white"], "high_group": longest, "low_group": longest,
            "stage": stage, "first_stage": stage, "last_stage": stage, "unit": unit, "place": cat.t("state"),
            "years": cat.years(2020, 2025), "baseline": cat.years(2020, 2022), "latest": cat.years(2023, 2025)}
    checked = 0
    for key, text in m.items():
        if isinstance(text, str) and key not in ("language",):
            filled = text.format(**{p: fill.get(p, "1.23") for p in placeholders(text)})
            assert_short([filled])
            checked += 1
    assert_short([p for family in m["prompts"].values() for p in family])
    assert checked > 60


def test_every_analyst_template_stays_short_with_the_longest_names():
    """The analyst pages' templates (English), filled with the longest group names on both sides, the longest
    verbs of the decision points they speak of and the longest unit: no sentence of 30 words or more."""
    from equity_helpers.pages.i18n import placeholders
    from equity_helpers.schema import GROUP_LABELS

    names = [group_children(g) for g in GROUP_LABELS if g not in ("all", "overall", "unknown")]
    longest = max(names, key=word_count)
    spoken = [*story.STORY_STAGES, "entered_after_substantiation", "P1_permanency_12m_entries", "P4_reentry_12m"]
    verbs = [stage_verbs(s) for s in spoken]  # the decision points the pages' sentences speak of
    fill = {"group": longest, "ref": sorted(names, key=word_count)[-2], "groups": longest,
            "verb": max((v[0] for v in verbs), key=word_count), "verb_base": max((v[0] for v in verbs), key=word_count),
            "verb_inf": max((v[1] for v in verbs), key=word_count), "verb_pp": max((v[2] for v in verbs), key=word_count),
            "unit": "per 100 children with a substantiated or indicated report followed for 90 days",
            "base_label": "children with a substantiated or indicated report followed for 90 days"}
    for key, text in narrative.TEMPLATES.items():
        assert_short([text.format(**{p: fill.get(p, "1.23") for p in placeholders(text)})])
    for key, text in breakdowns.LEVEL_TEMPLATES.items():
        labels = [lab for levels in breakdowns.BREAKDOWN_LABELS.values() for lab in levels.values()]
        who = max(labels, key=word_count)
        assert_short([text.format(**{p: {"who": who, "verb": fill["verb"]}.get(p, "1.23")
                                     for p in placeholders(text)})])
