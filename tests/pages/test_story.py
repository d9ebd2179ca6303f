"""The facilitator's story: the whole chain, the largest gaps, what changed and one decision point at a time,
read from the release table, in English and Spanish; checked against hand calculations."""
import json
import math
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest

from equity_helpers.pages import charts, story
from equity_helpers.pages.i18n import Catalogue
from equity_helpers.schema import STATE
from equity_helpers.pages.story import StoryFilters

EN, ES = Catalogue("en"), Catalogue("es")
FULL = StoryFilters(place=STATE, first_year=2020, last_year=2025)


@pytest.fixture(scope="module")
def wb(sample_workbook):
    return sample_workbook


# --------------------------------------------------------------------------- a hand-made release
class _Release:
    def __init__(self, periods):
        self.periods = periods

    def window(self, first_year, last_year):
        label = f"FY{first_year}" if first_year == last_year else f"FY{first_year}-FY{last_year}"
        assert label in self.periods
        return label


class _Workbook:
    """Just what the story reads: ``measures_for`` and ``release(scheme).window``."""

    def __init__(self, m):
        self.m = m

    def measures_for(self, **_kw):
        return self.m

    def release(self, _scheme="hispanic_first"):
        return _Release(set(self.m["period"]))


def _row(period, first, last, stage, group, rri, se=0.1, lo=None, hi=None, **kw):
    lo = rri * math.exp(-1.96 * se) if lo is None else lo
    hi = rri * math.exp(1.96 * se) if hi is None else hi
    base = dict(jurisdiction=STATE, period=period, first_year=first, last_year=last, race_ethnicity=group,
                stage=stage, basis="population", per=1000, count=100.0, base_count=10000.0, rate=10.0 * rri,
                rate_low=9.0 * rri, rate_high=11.0 * rri, ref_rate=10.0, rri=rri, rri_low=lo, rri_high=hi,
                se_log_rri=se, excess=50.0, p_adjusted=np.nan, suppressed=False, unstable=False,
                insufficient=False)
    return {**base, **kw}


def _hand_made():
    rows = []
    for period, f, last in (("FY2020", 2020, 2020), ("FY2022", 2022, 2022), ("FY2020-FY2022", 2020, 2022)):
        rows.append(_row(period, f, last, "entered_care", "white", 1.0, se=0.0, lo=1.0, hi=1.0, excess=0.0))
        rows.append(_row(period, f, last, "reported", "white", 1.0, se=0.0, lo=1.0, hi=1.0, excess=0.0))
    # entered care: 2.0 -> 3.0, se 0.1 each: z = ln 1.5 / sqrt(0.02) = 2.87 (clear)
    rows.append(_row("FY2020", 2020, 2020, "entered_care", "black", 2.0))
    rows.append(_row("FY2022", 2022, 2022, "entered_care", "black", 3.0))
    # reported: 2.0 -> 2.2, se 0.1 each: z = ln 1.1 / sqrt(0.02) = 0.67 (could be chance)
    rows.append(_row("FY2020", 2020, 2020, "reported", "black", 2.0))
    rows.append(_row("FY2022", 2022, 2022, "reported", "black", 2.2))
    # the pooled window: a large gap (4.0), a lower one (0.5), one hidden, one whose interval includes 1
    rows.append(_row("FY2020-FY2022", 2020, 2022, "entered_care", "black", 4.0, excess=1012.0))
    rows.append(_row("FY2020-FY2022", 2020, 2022, "entered_care", "asian", 0.5, excess=-57.4))
    rows.append(_row("FY2020-FY2022", 2020, 2022, "reported", "black", 1.1, se=0.2, excess=5.0))
    rows.append(_row("FY2020-FY2022", 2020, 2022, "reported", "asian", np.nan, count=np.nan, rate=np.nan,
                     rate_low=np.nan, rate_high=np.nan, rri_low=np.nan, rri_high=np.nan, excess=np.nan,
                     suppressed=True))
    # a Holm-adjusted p over 0.05 makes an interval that excludes 1 "could be chance" too
    rows.append(_row("FY2020-FY2022", 2020, 2022, "entered_care", "hispanic", 1.3, lo=1.05, hi=1.6, p_adjusted=0.2))
    return _Workbook(pd.DataFrame(rows))


HAND = StoryFilters(place=STATE, first_year=2020, last_year=2022)


def test_change_since_baseline_is_a_z_test_on_the_log_ratio():
    baseline, latest, sentences = story.changes(_hand_made(), HAND, EN, group="black")
    assert (baseline, latest) == ("FY2020", "FY2022")  # named once, in the section's heading
    assert sentences == [
        'At "entering foster care", the gap for Black children grew. It went from 2.0 to 3.0 times the rate of '
        "White children. This change is larger than chance would explain.",
        'At "reported to the hotline", the gap for Black children grew. It went from 2.0 to 2.2 times the rate of '
        "White children. This change could be chance.",
    ]
    assert math.log(1.5) / math.sqrt(0.02) > 1.96 > math.log(1.1) / math.sqrt(0.02)


def test_largest_gaps_are_ordered_on_the_log_scale_and_only_clear_ones_are_named():
    wb = _hand_made()
    rows = story.chain(wb, HAND)
    assert rows.loc[rows["race_ethnicity"] == "hispanic", "clear"].item() is False  # adjusted p 0.2
    gaps = story.largest_gaps(rows, EN, reference="white")
    # |ln 4| > |ln 0.5|; reported 1.1 (interval includes 1) and the hidden one are not named
    assert gaps == [
        'At "entering foster care", Black children had 4.0 times the rate of White children. The 95% interval is 3.3 '
        "to 4.9. At the rate of White children, about 1,000 fewer children would have been counted at this step.",
        'At "entering foster care", Asian children had 0.50 times the rate of White children. That is a lower rate; '
        "the 95% interval is 0.41 to 0.61. At the rate of White children, about 57 more children would have been "
        "counted at this step.",
    ]
    none = rows.assign(clear=False)
    assert story.largest_gaps(none, EN, reference="white") == [EN.t("gaps_none")]


def test_a_hidden_cell_shows_no_number_anywhere():
    rows = story.chain(_hand_made(), HAND)
    hidden = rows[rows["status"] == "hidden"]
    assert len(hidden) == 1
    assert hidden[["count", "rate", "rri", "rri_low", "rri_high", "excess"]].isna().all().all()
    data = charts.story_chart_data(hidden, EN)
    assert data[["children", "rate", "rri", "rri_low", "rri_high"]].isna().all().all()
    assert data["status"].item() == "hidden (small numbers)"
    sentences = story.stage_sentences(story.stage_rows(rows, "reported"), EN, group="asian", reference="white")
    assert sentences == ["Asian children: hidden to protect privacy (a hidden number is not zero)."]
    assert "1 of the values are hidden" in story.chain_alt(rows, EN, reference="white")


def test_excess_children_are_rounded_as_a_room_hears_them():
    assert story.rounded(57.4) == 57 and story.rounded(1012) == 1000 and story.rounded(15349) == 15000


# --------------------------------------------------------------------------- the sample state
def test_chain_reads_the_release_and_names_follow_up_years(wb):
    rows = story.chain(wb, FULL)
    assert list(dict.fromkeys(rows["stage"])) == [s for s in story.STORY_STAGES if s in set(rows["stage"])]
    assert set(rows["stage"]) == set(story.STORY_STAGES)
    m = wb.measures_for()
    black = rows[(rows["stage"] == "entered_care") & (rows["race_ethnicity"] == "black")].iloc[0]
    want = m[(m["jurisdiction"] == STATE) & (m["period"] == "FY2020-FY2025") & (m["stage"] == "entered_care")
             & (m["basis"] == "population") & (m["race_ethnicity"] == "black")].iloc[0]
    assert black["rri"] == want["rri"] and black["count"] == want["count"] and not black["partial"]
    # reunification within 12 months cannot be followed for FY2025's entrants: the longest published period
    reun = rows[rows["stage"] == "reunified_12m"].iloc[0]
    assert reun["partial"] and (reun["first_year"], reun["last_year"]) == (2020, 2022) and reun["basis"] == "decision"
    assert story.stage_name(reun, EN) == "reunified within 12 months (FY2020-FY2022)"


def test_entry_to_care_sentences_match_a_hand_calculation(wb):
    rows = story.chain(wb, FULL)
    # 1,544 of 359,610 Black children entered care, 1,424 of 1,064,130 White children:
    # rates 4.294 and 1.338 per 1,000, ratio 3.21, excess 1,544 - 359,610 x 1,424 / 1,064,130 = 1,063
    assert 1544 / 359610 * 1000 == pytest.approx(4.294, abs=1e-3)
    assert (1544 / 359610) / (1424 / 1064130) == pytest.approx(3.209, abs=1e-3)
    cells = wb.release().cells
    sel = cells[(cells["jurisdiction"] == "Statewide") & (cells["period"] == "FY2020-FY2025") & (cells["family"] == "stages")
                & (cells["subgroup"] == "all") & (cells["stage"] == "entered_care")].set_index("race_ethnicity")["count"]
    assert (sel["black"], sel["white"]) == (1544, 1424)  # the counts the hand calculation uses
    en = story.stage_sentences(story.stage_rows(rows, "entered_care"), EN, group="black", reference="white")
    assert en[0].startswith('At "entering foster care", Black children had 3.2 times the rate of White children')
    assert en[0].endswith("about 1,100 fewer children would have been counted at this step.")
    assert en[1] == "Black children: 4.3 per 1,000 children (95% interval 4.1 to 4.5); White children: 1.3."
    es = story.stage_sentences(story.stage_rows(rows, "entered_care"), ES, group="black", reference="white")
    assert es[0].startswith('En "ingreso a cuidado de crianza", los niños afroamericanos tuvieron 3.2 veces la tasa '
                            "de los niños blancos")
    assert es[1].startswith("Los niños afroamericanos: 4.3 por cada 1,000 niños")


def test_the_focus_group_has_the_most_children_behind_clear_gaps(wb):
    assert story.focus_group(wb, FULL) == "black"
    assert story.focus_group(wb, StoryFilters(place="Bluff", first_year=2020, last_year=2025, group="aian")) == "aian"


def test_counties_offer_no_single_years(wb):
    assert (2025, 2025) not in story.published_windows(wb, "Bluff")
    assert story.published_windows(wb, "Bluff")[0] == (2020, 2025)
    assert (2025, 2025) in story.published_windows(wb, STATE)


@pytest.mark.parametrize("cat", [EN, ES], ids=["en", "es"])
def test_charts_are_valid_vega_lite_and_carry_only_labels_and_published_numbers(wb, cat):
    rows = story.chain(wb, StoryFilters(place="Bluff", first_year=2020, last_year=2025))
    chain = charts.chain_chart(rows, cat, reference="white", title="t", description="d")
    one = charts.stage_chart(story.stage_rows(rows, "entered_care"), cat, title="t", description="d")
    for spec in (chain, one):
        alt.LayerChart.from_dict(json.loads(json.dumps(spec)))  # valid Vega-Lite (raises otherwise), valid JSON
        assert spec["description"] == "d"
        for values in spec["datasets"].values():
            cols = set().union(*[set(v) for v in values])
            assert cols <= {"group", "stage", "children", "rate", "rate_low", "rate_high", "rri", "rri_low",
                            "rri_high", "status", "filled", "note", "x"}
            assert not any(code in str(values) for code in ("'black'", "'aian'", "entered_care", "Bluff"))
    labels = {v["group"] for vals in chain["datasets"].values() for v in vals if "group" in v}
    assert labels <= {cat.group_label(g) for g in ("black", "hispanic", "aian", "asian", "nhpi", "multiracial")}


@pytest.mark.parametrize("place", [STATE, "Bluff"])
def test_spanish_sentences_have_no_english_left(wb, place):
    f = StoryFilters(place=place, first_year=2020, last_year=2025)
    rows = story.chain(wb, f)
    text = " ".join(story.largest_gaps(rows, ES, reference="white") + story.changes(wb, f, ES, group="black")[2]
                    + [story.chain_alt(rows, ES, reference="white")]
                    + sum((story.stage_sentences(story.stage_rows(rows, s), ES, group="black", reference="white")
                           + [story.stage_alt(story.stage_rows(rows, s), ES)] for s in story.STORY_STAGES), []))
    for english in ("children", "the", "times", "rate", "hidden", "interval", "FY2020"):
        assert not re.search(rf"\b{english}\b", text), english


def test_following_the_reference_group_itself_says_so(wb):
    f = StoryFilters(place=STATE, first_year=2020, last_year=2025, group="white", reference="white")
    rows = story.chain(wb, f)
    assert story.stage_sentences(story.stage_rows(rows, "entered_care"), ES, group="white",
                                 reference="white") == [ES.t("same_group")]
    assert story.changes(wb, f, EN, group="white") == ("", "", [EN.t("same_group")])


def test_a_group_has_the_same_colour_on_the_dashboard_as_on_the_analyst_pages():
    from equity_helpers.pages.charts import GROUP_COLOURS
    from equity_helpers.pages.i18n import catalogue
    from equity_helpers.pages.charts import story_colour

    for language in ("en", "es"):
        cat = catalogue(language)
        scale = story_colour(cat)["scale"]
        by_label = dict(zip(scale["domain"], scale["range"]))
        for code in ("white", "black", "hispanic", "aian", "asian", "nhpi", "multiracial"):
            assert by_label[cat.group_label(code)] == GROUP_COLOURS[code], (language, code)
