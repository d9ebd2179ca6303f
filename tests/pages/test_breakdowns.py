"""Equity beyond race: optional columns validated, counted by breakdown (both engines), published
through the release under the stricter rule for sexual orientation and gender identity, and the sample's
planted effects recovered."""
import re

import numpy as np
import pandas as pd
import pytest

import equity_helpers as eh
from equity_helpers.data import sample
from equity_helpers.pages.breakdowns import (breakdown_view, intersection_measures, level_counts, level_measures,
                                       level_sentence)
from equity_helpers.errors import DataValidationError, ParameterError
from equity_helpers.release.table import STRICT_BREAKDOWNS
from equity_helpers.counting.stages import report_levels

from ..conftest import SAMPLE, tiny_raw

FLAGS = ["disability", "lgbtq", "immigrant_family", "tribal_affiliation", "dv_involved"]
LINKED = ["dv_services", "meeting_at_report", "meeting_at_removal"]  # from the side tables


def _pooled(counts: pd.DataFrame, by: str, *, race: str, level: str, stage: str) -> tuple[int, int]:
    """Statewide count of ``stage`` and of its decision base, pooled over every year (child-years)."""
    c = counts[(counts["jurisdiction"] == "Statewide") & (counts["race_ethnicity"] == race) & (counts[by] == level)]
    base = eh.STAGES[stage].decision_base
    return int(c.loc[c["stage"] == stage, "count"].sum()), int(c.loc[c["stage"] == base, "count"].sum())


@pytest.fixture(scope="module")
def pandas_data():
    return eh.load(SAMPLE, engine="pandas")


@pytest.fixture(scope="module")
def by_flag(sample_data):
    return {b: eh.stage_counts(sample_data, by=(b,)) for b in FLAGS + LINKED}


# --------------------------------------------------------------------------- validation
def test_equity_codes_are_checked_and_empty_means_unknown():
    raw = tiny_raw()
    kids = raw["children"].copy()
    kids["lgbtq"] = ["yes", "", "maybe", "no", "not_asked", "unknown"]
    reps = raw["reports"].copy()
    reps["dv_involved"] = ["yes", "sometimes"] + [""] * (len(reps) - 2)
    with pytest.raises(DataValidationError) as err:
        eh.validate({**raw, "children": kids, "reports": reps})
    text = str(err.value)
    assert "'maybe'" in text and "'sometimes'" in text and "lgbtq" in text and "dv_involved" in text
    kids["lgbtq"] = kids["lgbtq"].replace("maybe", "yes")
    reps["dv_involved"] = reps["dv_involved"].replace("sometimes", "no")
    for engine in ("pandas", "duckdb"):
        if engine == "pandas":
            d = eh.validate({**raw, "children": kids, "reports": reps})
        else:
            from equity_helpers.counting.engine import validate_frames
            d = validate_frames({**raw, "children": kids, "reports": reps})
        assert d.children.loc[d.children["child_id"] == kids["child_id"].iloc[1], "lgbtq"].item() == "unknown", engine
        assert (d.reports["dv_involved"] == "unknown").sum() == len(reps) - 2, engine


def test_a_report_note_belongs_to_the_child_place_and_year():
    reps = pd.DataFrame({"child_id": ["a", "a", "a", "b", "b"], "jurisdiction": ["X", "X", "Y", "X", "X"],
                         "period": [2024, 2024, 2024, 2024, 2025],
                         "dv_involved": ["no", "yes", "unknown", "unknown", "no"]})
    lv = report_levels(reps, "dv_involved").set_index(["child_id", "jurisdiction", "period"])["dv_involved"]
    assert lv[("a", "X", 2024)] == "yes" and lv[("a", "Y", 2024)] == "unknown"
    assert lv[("a", "Statewide", 2024)] == "yes"
    assert lv[("b", "X", 2024)] == "unknown" and lv[("b", "X", 2025)] == "no"


# --------------------------------------------------------------------------- counting
@pytest.mark.parametrize("by", FLAGS + LINKED)
def test_levels_add_up_to_all_children_and_engines_agree(sample_counts, by_flag, pandas_data, by):
    counts = by_flag[by]
    keys = ["jurisdiction", "period", "race_ethnicity", "stage"]
    summed = counts.groupby(keys)["count"].sum()
    allc = sample_counts.set_index(keys)["count"]
    assert summed.reindex(allc.index).fillna(0).astype(int).equals(allc)
    other = eh.stage_counts(pandas_data, by=(by,))
    k = keys + [by]
    a = counts.sort_values(k).reset_index(drop=True)[k + ["count"]]
    b = other.sort_values(k).reset_index(drop=True)[k + ["count"]]
    assert a.astype(str).equals(b.astype(str))


def test_a_breakdown_the_data_lack_is_a_clear_error():
    d = eh.validate(tiny_raw())
    with pytest.raises(ParameterError, match="no \\['disability'\\] column"):
        eh.stage_counts(d, by=("disability",))


# --------------------------------------------------------------------------- planted effects
def _recovered(counts, by, row) -> tuple[float, float, float]:
    a, n1 = _pooled(counts, by, race=row.race_ethnicity, level=row.level, stage=row.stage)
    if row.reference_group:  # race against race within one level
        c, n2 = _pooled(counts, by, race=row.reference_group, level=row.reference_level, stage=row.stage)
    else:
        c, n2 = _pooled(counts, by, race=row.race_ethnicity, level=row.reference_level, stage=row.stage)
    r = eh.rate_ratio(np.array([a]), np.array([n1]), np.array([c]), np.array([n2])).iloc[0]
    return float(r["rri"]), float(r["rri_low"]), float(r["rri_high"])


@pytest.mark.parametrize("i", range(len(sample.equity_truth_table())))
def test_planted_equity_effects_are_recovered(by_flag, i):
    row = next(sample.equity_truth_table().iloc[[i]].itertuples())
    rri, lo, hi = _recovered(by_flag[row.breakdown], row.breakdown, row)
    # the planted ratio lies in the 99.9% band around the estimate (a 95% interval misses 1 in 20 by design)
    width = (np.log(hi) - np.log(lo)) / 2 * (3.29 / 1.96)
    assert abs(np.log(rri) - np.log(row.rri)) < width, (row, rri, lo, hi)


def test_the_sample_has_realistic_equity_columns(sample_data):
    kids = sample_data.children
    share = kids["lgbtq"].value_counts(normalize=True)
    assert 0.6 < share["not_asked"] < 0.85 and 0.01 < share["yes"] < 0.06
    assert set(kids["disability"]) == {"yes", "no", "unknown"}
    aian = kids["race_aian"].astype(bool) & ~kids["race_white"].astype(bool)
    assert (kids.loc[aian, "tribal_affiliation"] == "yes").mean() > 0.5 > (kids["tribal_affiliation"] == "yes").mean()
    assert 0.15 < (sample_data.reports["dv_involved"] == "yes").mean() < 0.25


# --------------------------------------------------------------------------- the release
def test_every_equity_breakdown_is_published_for_the_state_over_pooled_windows(sample_release):
    c = sample_release.cells
    for b in FLAGS + LINKED:
        sub = c[c["subgroup"].str.startswith(b + ":")]
        assert len(sub), b
        assert set(sub["jurisdiction"]) == {"Statewide"}
        assert (sub["first_year"] < sub["last_year"]).all()


def test_sexual_orientation_and_gender_identity_counts_up_to_20_are_never_published(sample_release):
    c = sample_release.cells
    strict = c["subgroup"].str.startswith(tuple(f"{b}:" for b in STRICT_BREAKDOWNS))
    shown = c.loc[strict & ~c["suppressed"], "count"].astype(int)
    assert len(shown) and not ((shown >= 1) & (shown <= 20)).any()
    # the ordinary rule elsewhere: counts of 11 to 20 are published in other breakdowns
    other = c.loc[c["subgroup"].str.startswith("disability:") & ~c["suppressed"], "count"].astype(int)
    assert ((other >= 11) & (other <= 20)).any()
    assert "sexual orientation and gender identity" in sample_release.protection.describe()
    # and the audit proves every hidden SOGI count keeps its protection width
    hidden = sample_release.audit.merge(c[strict][["family", "jurisdiction", "period", "race_ethnicity", "subgroup",
                                                   "stage"]])
    assert len(hidden) and ((hidden["high"] - hidden["low"]) >= 1 - 1e-7).all()


def test_level_measures_match_a_hand_calculation(sample_release):
    m = level_measures(sample_release, "dv_involved", first_year=2020, last_year=2025)
    r = m[(m["stage"] == "screened_in") & (m["level"] == "yes")].iloc[0]
    cells = sample_release.cells
    sel = cells[(cells["period"] == "FY2020-FY2025") & (cells["jurisdiction"] == "Statewide")
                & (cells["race_ethnicity"] == "all") & (cells["family"] == "stages")]

    def n(sub, stage):
        return int(sel.loc[(sel["subgroup"] == sub) & (sel["stage"] == stage), "count"].item())

    a, n1 = n("dv_involved:yes", "screened_in"), n("dv_involved:yes", "reported")
    c, n2 = n("dv_involved:no", "screened_in"), n("dv_involved:no", "reported")
    assert r["count"] == a and r["base_count"] == n1 and r["reference"] == "no"
    assert r["rate"] == pytest.approx(100 * a / n1)
    assert r["rri"] == pytest.approx((a / n1) / (c / n2))
    se = np.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)  # Katz log interval
    assert r["rri_low"] == pytest.approx(np.exp(np.log(r["rri"]) - 1.959964 * se), rel=1e-4)
    assert "1.2" in level_sentence(r) and "noted caregiver domestic violence" in level_sentence(r)


def test_missing_and_unasked_data_are_their_own_share(sample_release):
    s = level_counts(sample_release, "lgbtq", first_year=2020, last_year=2025)
    rep = s[s["stage"] == "reported"].set_index("level")
    assert set(rep.index) == {"yes", "no", "unknown", "not_asked"}
    assert rep["share"].sum() == pytest.approx(1.0)
    assert rep.loc["not_asked", "share"] > 0.5


def test_a_level_that_is_not_a_group_cannot_be_the_reference(sample_release):
    with pytest.raises(ParameterError, match="not one to compare with"):
        level_measures(sample_release, "lgbtq", first_year=2020, last_year=2025, reference_level="not_asked")
    with pytest.raises(ParameterError, match="no 'religion' breakdown"):
        level_measures(sample_release, "religion", first_year=2020, last_year=2025)


def test_intersection_reads_race_within_a_level_from_the_release(sample_release):
    m = intersection_measures(sample_release, "dv_involved", "yes", first_year=2020, last_year=2025)
    r = m[(m["stage"] == "screened_in") & (m["race_ethnicity"] == "black")].iloc[0]
    assert r["reference"] == "white" and r["basis"] == "decision"
    # screening in: Black children 1.10 times White children (race effect), within reports with DV too
    assert r["rri_low"] < 1.10 < r["rri_high"]


def test_views_show_only_published_numbers(sample_workbook):
    v = breakdown_view(sample_workbook, breakdown="lgbtq", first_year=2020, last_year=2025)
    shown = v.shares["count"].dropna().astype(int)
    assert not ((shown >= 1) & (shown <= 20)).any()
    assert v.sentences and all("LGBTQ+ youth" in s for s in v.sentences)
    specs = [ch.to_dict(validate=True) for ch in v.charts()]
    assert specs
    for spec in specs:  # charts carry no hidden count and no method names or flags
        for rows in spec["datasets"].values():
            for row in rows:
                assert not (row.get("count") is not None and 1 <= row["count"] <= 20)
                assert "suppressed" not in row and "ci_method" not in row


# --------------------------------------------------------------------------- the command line
def test_measures_by_a_breakdown_from_the_command_line(tmp_path, capsys):
    from equity_helpers.run.cli import main

    out = tmp_path / "by.csv"
    assert main(["measures", "--data", str(SAMPLE), "--by", "lgbtq", "--out", str(out), "--quiet"]) == 0
    m = pd.read_csv(out)
    assert "lgbtq" in m.columns and list(m.columns).index("lgbtq") == list(m.columns).index("race_ethnicity") + 1
    shown = m["count"].dropna()
    assert not ((shown >= 1) & (shown <= 20)).any()  # the stricter rule for SOGI
    levels = tmp_path / "levels.csv"
    assert main(["measures", "--data", str(SAMPLE), "--by", "dv_involved", "--reference-level", "no",
                 "--out", str(levels), "--quiet"]) == 0
    m = pd.read_csv(levels)
    r = m[(m["jurisdiction"] == "Statewide") & (m["race_ethnicity"] == "all") & (m["dv_involved"] == "yes")
          & (m["stage"] == "screened_in") & (m["period"] == 2024)].iloc[0]
    assert r["reference"] == "no" and r["rri_low"] < 1.25 < r["rri_high"]
    assert main(["measures", "--data", str(SAMPLE), "--by", "dv_involved", "--reference-level", "maybe",
                 "--out", str(levels), "--quiet"]) == 2
    assert "no level 'maybe'" in capsys.readouterr().err


# --------------------------------------------------------------------------- side tables: partner and meetings
def test_the_sample_links_a_partner_and_meetings_and_accounts_for_every_row(sample_data):
    acc = sample_data.accounting_summary().set_index("table")
    for name in ("dv_services", "meetings"):
        assert acc.loc[name, "read"] == acc.loc[name, "used"] + acc.loc[name, "excluded"] > 0
    assert sample_data.dv_services["family_hash"].str.fullmatch("[0-9a-f]{64}").all()
    assert set(sample_data.meetings["meeting_type"]) <= {"team_decision_making", "family_team_meeting"}


@pytest.mark.parametrize("race", ["white", "black", "hispanic"])
def test_planted_partner_timing_is_recovered(by_flag, race):
    from equity_helpers.data.linkage import PARTNER_PLANTED

    c = by_flag["dv_services"]
    c = c[(c["jurisdiction"] == "Statewide") & (c["race_ethnicity"] == race) & (c["stage"] == "reported")]
    n = c.groupby("dv_services")["count"].sum()
    linked = int(n[["before", "after_only", "none"]].sum())
    p = PARTNER_PLANTED["before"][race]
    se = np.sqrt(p * (1 - p) / linked)
    assert abs(n["before"] / linked - p) < 2.58 * se


def test_side_tables_report_every_problem_with_the_core_tables():
    raw = tiny_raw()
    meetings = pd.DataFrame({"child_id": ["A", "ZZ", "B", "B", None, "C"],
                             "meeting_date": ["2023-03-01", "2023-03-01", "not a date", "2023-04-01", "2023-04-01",
                                              "2030-01-01"],
                             "meeting_type": ["family_team_meeting", "", "team decision-making", "huddle", "", ""]})
    d = eh.validate({**raw, "meetings": meetings})
    checks = {p.check: p.rows for p in d.problems if p.table == "meetings"}
    assert checks == {"unknown_child": 1, "unreadable_date": 1, "missing_value": 1, "future_date": 1,
                      "unknown_type": 1}
    acc = d.accounting_summary().set_index("table").loc["meetings"]
    assert (acc["read"], acc["used"], acc["excluded"]) == (6, 2, 4)
    assert set(d.meetings["meeting_type"]) == {"family_team_meeting", "other"}
    # a broken side table and a broken core table: one error listing both
    bad_kids = raw["children"].drop(columns=["sex"])
    with pytest.raises(DataValidationError) as err:
        eh.validate({**raw, "children": bad_kids, "meetings": meetings.drop(columns=["meeting_date"]),
                     "dv_services": pd.DataFrame({"family_hash": ["x"]})})
    tables = {p.table for p in err.value.problems if p.severity == "error"}
    assert {"children", "meetings", "dv_services"} <= tables


def test_a_meeting_counts_only_in_its_window():
    from equity_helpers.data.engagement import meeting_levels

    reports = pd.DataFrame({"child_id": ["a", "b", "c"], "jurisdiction": "X", "period": 2024, "screened_in": 1,
                            "report_date": pd.to_datetime(["2024-01-01"] * 3)})
    episodes = pd.DataFrame({"child_id": ["a", "b"], "jurisdiction": "X",
                             "entry_date": pd.to_datetime(["2024-01-10", "2024-01-05"])})
    meetings = pd.DataFrame({"child_id": ["a", "b", "b", "c"],
                             "meeting_date": pd.to_datetime(["2024-01-10", "2024-01-06", "2024-02-05", "2024-01-31"])})
    kw = dict(reports=reports, episodes=episodes, meetings=meetings, calendar=False, first_year=2024, last_year=2024,
              include_state=False)
    at_report = meeting_levels("meeting_at_report", **kw).set_index("child_id")["meeting_at_report"]
    # a: on the removal day (before it counts); b: after the removal; c: day 30, no removal
    assert at_report.to_dict() == {"a": "yes", "b": "no", "c": "yes"}
    at_removal = meeting_levels("meeting_at_removal", **kw).set_index("child_id")["meeting_at_removal"]
    # a: on the removal day is not after it; b: day 1 after removal
    assert at_removal.to_dict() == {"a": "no", "b": "yes"}


def test_the_release_publishes_every_decision_point_the_breakdown_pages_read():
    """Breakdowns are published at BREAKDOWN_STAGES (fewer for meetings and a partner's services: STAGES_READ; exits
    by breakdown are on no page): every decision point the beyond-race, domestic-violence and family-engagement
    pages read of a breakdown, and the base of its rate, is published for it."""
    import inspect

    from equity_helpers.pages import breakdowns as B
    from equity_helpers.release.table import BREAKDOWN_STAGES, STAGES_READ
    from equity_helpers.schema import STAGES

    def with_bases(stages) -> set[str]:
        return {*stages, *(STAGES[s].decision_base for s in stages if STAGES[s].decision_base)}

    focus = inspect.signature(B.breakdown_view).parameters["focus_stages"].default
    notebooks = " ".join(p.read_text() for p in (SAMPLE.parents[1] / "notebooks").glob("*.ipynb"))
    asked = {s for t in re.findall(r"(?:focus_stages|stages)=\(([^)]*)\)", notebooks) for s in re.findall(r"'(\w+)'", t)}
    assert asked, "the notebooks name no stages: the pattern above no longer finds them"
    read = {b: with_bases({*B.CHAIN, *focus, *asked}) for b in B.BREAKDOWN_LABELS}
    read["dv_services"] = with_bases({"reported", *B.PARTNER_STAGES})  # shares at reports, rates at the rest
    for b, spec in B.ENGAGEMENT.items():
        read[b] = {spec["anchor"], *spec["share_stages"], *with_bases(spec["stages"])}  # shares; rates
    for b, stages in read.items():
        published = set(STAGES_READ.get(b, BREAKDOWN_STAGES))
        assert stages <= published, (b, sorted(stages - published))
