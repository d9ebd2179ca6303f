"""Collaboration survey: scores and alpha against hand calculations, validation in words, privacy for
respondents, the planted changes of the sample recovered, the command line."""
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from equity_helpers.privacy import disclosure

from equity_helpers import survey
from equity_helpers.run.cli import main
from equity_helpers.errors import DataValidationError, ParameterError
from equity_helpers.data.sample import SURVEY_INSTRUMENT, SURVEY_PLANTED, survey_responses, survey_truth

from ..conftest import SAMPLE

INSTRUMENT = """
name: Test survey
scale: {min: 1, max: 5, agree_at: 4, disagree_at: 2, labels: {1: Strongly disagree, 5: Strongly agree},
        dont_know: ["Don't know"]}
sectors: {cw: Child welfare, dv: Domestic violence}
roles: {staff: Staff}
domains:
  - id: a
    label: Domain A
    items:
      - {id: a1, text: First}
      - {id: a2, text: Second}
      - {id: a3, text: Third, reverse: true}
  - id: b
    label: Domain B
    items:
      - {id: b1, text: Fourth}
      - {id: b2, text: Fifth}
"""


@pytest.fixture(scope="module")
def instrument(tmp_path_factory):
    p = tmp_path_factory.mktemp("inst") / "instrument.yml"
    p.write_text(INSTRUMENT)
    return survey.load_instrument(p)


def answers(rows, **extra):
    """Responses frame from (wave, respondent, org, sector, item, response) tuples."""
    df = pd.DataFrame(rows, columns=["wave", "respondent_id", "organisation", "sector", "item", "response"])
    for k, v in extra.items():
        df[k] = v
    return df.astype(object).where(df.notna(), None)


@pytest.fixture(scope="module")
def sample_survey():
    inst = survey.load_instrument(SAMPLE / "survey_instrument.yml")
    return survey.load_responses(SAMPLE / "survey_responses.csv", inst)


@pytest.fixture(scope="module")
def sample_survey_release(sample_survey):
    return survey.build_survey_release(sample_survey)


# --------------------------------------------------------------------------- scores: hand calculations
def test_domain_scores_reverse_items_and_the_half_rule(instrument):
    raw = answers([
        ("1", "R1", "Org", "cw", "a1", "4"), ("1", "R1", "Org", "cw", "a2", "5"), ("1", "R1", "Org", "cw", "a3", "2"),
        ("1", "R2", "Org", "cw", "a1", "3"), ("1", "R2", "Org", "cw", "a2", None), ("1", "R2", "Org", "cw", "a3", "1"),
        ("1", "R3", "Org", "cw", "a1", "Strongly disagree"), ("1", "R3", "Org", "cw", "a2", "Don't know"),
    ])
    data = survey.validate_responses(raw, instrument)
    s = survey.domain_scores(data).set_index("respondent_id")
    # R1: 4, 5 and the reversed 2 -> 4: mean 13/3; R2: 3 and reversed 1 -> 5 (2 of 3 answered): 4
    assert s.loc["R1", "score"] == pytest.approx(13 / 3)
    assert s.loc["R2", "score"] == pytest.approx(4.0) and s.loc["R2", "answered"] == 2
    # R3 answered one of three items (the label "Strongly disagree" reads as 1): under half, no score
    assert s.loc["R3", "answered"] == 1 and math.isnan(s.loc["R3", "score"])
    assert instrument.domain("a").min_answered == 2 and instrument.domain("b").min_answered == 1


def test_group_mean_has_the_t_interval(instrument):
    # domain B has two items; five respondents with item means 2, 3, 3, 4, 5 -> mean 3.4, sd sqrt(1.3)
    rows = []
    for i, (x, y) in enumerate([(2, 2), (3, 3), (2, 4), (4, 4), (5, 5)]):
        rows += [("1", f"R{i}", "Org", "cw", "b1", str(x)), ("1", f"R{i}", "Org", "cw", "b2", str(y))]
    data = survey.validate_responses(answers(rows), instrument)
    g = survey.group_domain_scores(survey.domain_scores(data), instrument)
    r = g[(g["level"] == "all") & (g["domain"] == "b")].iloc[0]
    half = 2.7764451051977934 * math.sqrt(1.3) / math.sqrt(5)  # t(0.975, 4) x sd / sqrt(n)
    assert (r["n"], r["mean"], r["sd"]) == (5, pytest.approx(3.4), pytest.approx(math.sqrt(1.3)))
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(3.4 - half), pytest.approx(3.4 + half))


def test_cronbach_alpha_equals_the_hand_calculation(instrument):
    # items 1..5 / 2,3,3,5,4 / 2,3,4,4,5 (a3 is reverse-scored: given as 6 - value)
    # item variances 2.5, 1.3, 1.3; totals 5, 8, 10, 13, 14 with variance 13.5;
    # alpha = 3/2 x (1 - 5.1 / 13.5) = 14/15; Feldt's 95% interval (df 4 and 8) = 0.663 to 0.993
    grid = [(1, 2, 2), (2, 3, 3), (3, 3, 4), (4, 5, 4), (5, 4, 5)]
    rows = [("1", f"R{i}", "Org", "cw", item, str(6 - v if item == "a3" else v))
            for i, vals in enumerate(grid) for item, v in zip(("a1", "a2", "a3"), vals)]
    data = survey.validate_responses(answers(rows), instrument)
    a = survey.cronbach_alpha(data)
    r = a[(a["level"] == "all") & (a["domain"] == "a")].iloc[0]
    assert r["alpha"] == pytest.approx(14 / 15) and r["n"] == 5
    assert (round(r["alpha_low"], 3), round(r["alpha_high"], 3)) == (0.663, 0.993)


def test_change_between_waves_is_welchs_difference(instrument):
    # wave 1: 1, 2, 3; wave 2: 2, 4, 6, 8 -> change 3, se sqrt(1/3 + 20/3/4) = sqrt 2, df 216/53
    rows = [("1", f"A{i}", "Org", "cw", "b1", str(v)) for i, v in enumerate([1, 2, 3])]
    rows += [("2", f"B{i}", "Org", "cw", "b1", str(v)) for i, v in enumerate([2, 4, 6, 8])]
    # b1 alone gives a domain score (one of its two items); a 1-9 scale holds the answers
    wide = survey.Instrument(**{**instrument.__dict__, "high": 9, "agree_at": 7})
    data = survey.validate_responses(answers(rows), wide)
    c = survey.wave_changes(survey.domain_scores(data), wide, data.waves)
    r = c[(c["level"] == "all") & (c["domain"] == "b")].iloc[0]
    from scipy.stats import t

    half = t.ppf(0.975, 216 / 53) * math.sqrt(2)
    assert (r["from_wave"], r["to_wave"], r["change"]) == ("1", "2", pytest.approx(3.0))
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(3 - half), pytest.approx(3 + half))
    assert r["p_value"] == pytest.approx(0.09991286, abs=1e-7)


def test_item_agreement_counts_by_hand(instrument):
    vals = ["5", "4", "3", "2", "1", "4", "Don't know"]
    rows = [("1", f"R{i}", "Org", "cw", "a3", v) for i, v in enumerate(vals)]
    data = survey.validate_responses(answers(rows), instrument)
    it = survey.item_agreement(data)
    r = it[(it["level"] == "all") & (it["item"] == "a3")].iloc[0]
    # as worded (a reverse item is not turned around for agreement): 3 agree, 1 neutral, 2 disagree of 6
    assert (r["n"], r["agree"], r["neutral"], r["disagree"]) == (6, 3, 1, 2)
    assert r["share_agree"] == pytest.approx(0.5)
    assert r["agree_low"] == pytest.approx(0.1876, abs=1e-4) and r["agree_high"] == pytest.approx(0.8124, abs=1e-4)


# --------------------------------------------------------------------------- validation
def test_every_problem_is_reported_at_once_and_nothing_is_dropped_silently(instrument):
    raw = answers([
        ("1", "R1", "Org", "cw", "a1", "4"),
        ("1", "R1", "Org", "cw", "a1", "4"),      # identical copy: one kept
        ("1", "R1", "Org", "cw", "a2", "3"),
        ("1", "R1", "Org", "cw", "a2", "5"),      # conflicting: both left out
        ("1", "R1", "Org", "cw", "zz9", "4"),     # unknown item
        ("1", "R2", "Org", "cw", "a1", "7"),      # out of scale
        ("1", "R2", "Org", "cw", "a2", "maybe"),  # not a response
        ("1", None, "Org", "cw", "a3", "2"),      # no respondent
        ("1", "R2", "Org", "cw", "b1", None),     # not answered (kept, counts for nobody)
    ])
    data = survey.validate_responses(raw, instrument)
    acc = data.accounting.set_index(["outcome", "reason"])["rows"]
    assert acc[("read", "")] == 9 and acc[("used", "")] == 2
    assert {r: acc[("excluded", r)] for r in ("duplicate_answer", "conflicting_answers", "unknown_item",
                                              "out_of_scale", "not_a_response", "missing_value")} == {
        "duplicate_answer": 1, "conflicting_answers": 2, "unknown_item": 1, "out_of_scale": 1, "not_a_response": 1,
        "missing_value": 1}
    assert acc[("read", "")] == acc[("used", "")] + acc.xs("excluded").sum()
    msgs = data.quality.set_index("check")["message"]
    assert msgs["unknown_item"].startswith("1 rows answer item(s) the instrument does not have: zz9.")
    assert "not a whole number from 1 to 5 (the scale): 7;" in msgs["out_of_scale"]
    assert msgs["not_answered"].startswith("1 rows hold no answer")
    assert len(data.answers) == 2 and data.answers["response"].isna().sum() == 1


def test_errors_stop_the_run_and_are_listed_together(instrument):
    raw = answers([("1", "R1", "Org", "xx", "a1", "4"), ("1", "R1", "Other", "cw", "a2", "4"),
                   ("1", "R2", "Org", "police", "a1", "3")], role=["staff", "boss", "staff"])
    with pytest.raises(DataValidationError) as exc:
        survey.validate_responses(raw, instrument)
    checks = {p.check for p in exc.value.problems if p.severity == "error"}
    assert checks == {"unknown_sector", "unknown_role", "inconsistent_respondent", "organisation_in_two_sectors"}
    assert "sector has 2 rows with code(s) the instrument does not list: police, xx." in str(exc.value)
    with pytest.raises(DataValidationError) as exc:
        survey.validate_responses(pd.DataFrame({"wave": ["1"], "item": ["a1"]}), instrument)
    assert [p.check for p in exc.value.problems] == ["missing_column"] * 4


def test_a_broken_instrument_is_reported_in_words(tmp_path):
    p = tmp_path / "bad.yml"
    p.write_text("name: X\nscale: {min: 5, max: 1}\nsectors: {a: A}\ndomains:\n  - id: d\n    items: []\n"
                 "  - id: d\n    items: [{id: i1, text: T}, {id: i1, text: U}]\n")
    with pytest.raises(DataValidationError) as exc:
        survey.load_instrument(p)
    checks = [q.check for q in exc.value.problems]
    assert checks == ["bad_scale", "no_items", "duplicate_item", "duplicate_domain"]


# --------------------------------------------------------------------------- privacy for respondents
def _attack(rel):
    """The disclosure engine's audit of the survey's cells against everything published with them."""
    cells = rel.cells
    return disclosure.audit(cells, survey.survey_relations(cells), hidden=cells["hidden"],
                            protection=rel.protection, primary=cells["reason"] == "primary")


def test_no_group_under_five_is_shown_and_no_hidden_count_can_be_worked_out(sample_survey_release):
    rel = sample_survey_release
    pub = rel.published()
    shown = pub[~pub["hidden"]]
    assert (shown["n"].dropna() >= survey.MIN_RESPONDENTS).all()
    assert pub.loc[pub["hidden"], ["n", "estimate", "ci_low", "ci_high"]].isna().all().all()
    # every small organisation is hidden, and at least one more group beside it in its sector
    g = rel.groups
    assert g["hidden"].sum() > 0 and not g.loc[g["level"] == "all", "hidden"].any()
    audit = _attack(rel)
    assert audit["ok"].all() and not audit["pinned"].any()
    sensitive = audit[audit["required"] > 1]
    assert (sensitive["width"] >= rel.protection.width - 1e-7).all()
    # a change is shown only where both waves' scores are
    c = rel.changes
    d = rel.domains.set_index(["wave", "group", "domain"])["hidden"]
    both = ~d.reindex(pd.MultiIndex.from_frame(c[["from_wave", "group", "domain"]])).to_numpy() & \
        ~d.reindex(pd.MultiIndex.from_frame(c[["to_wave", "group", "domain"]])).to_numpy()
    assert (c["hidden"].to_numpy() == ~both).all()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 9), min_size=3, max_size=6), seed=st.integers(0, 10_000))
def test_protection_holds_for_any_organisation_sizes(instrument, sizes, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for k, size in enumerate(sizes):
        sector = "cw" if k % 2 else "dv"
        for r in range(size):
            for item in ("a1", "a2", "a3", "b1", "b2"):
                rows.append(("1", f"O{k}R{r}", f"Org{k}", sector, item, str(int(rng.integers(1, 6)))))
    rel = survey.build_survey_release(survey.validate_responses(answers(rows), instrument))
    pub = rel.published()
    assert (pub.loc[~pub["hidden"], "n"].dropna() >= survey.MIN_RESPONDENTS).all()
    audit = _attack(rel)
    assert audit["ok"].all()


# --------------------------------------------------------------------------- the sample's planted changes
def test_the_sample_files_are_what_the_generator_writes():
    committed = pd.read_csv(SAMPLE / "survey_responses.csv", dtype=str, keep_default_na=False)
    assert committed.equals(survey_responses().astype(str))
    assert (SAMPLE / "survey_instrument.yml").read_text() == SURVEY_INSTRUMENT.read_text()
    assert pd.read_csv(SAMPLE / "survey_truth.csv", dtype={"wave": str}).equals(survey_truth())


def test_planted_changes_are_recovered_within_their_intervals(sample_survey_release):
    rel = sample_survey_release
    truth = survey_truth().set_index(["wave", "sector", "domain"])["mean"]
    ch = rel.changes[rel.changes["level"] == "sector"].copy()
    codes = {v: k for k, v in rel.instrument.sectors.items()}
    ch["code"] = ch["group"].map(codes)
    ch["planted"] = [truth[(b, s, d)] - truth[(a, s, d)] for a, b, s, d in
                     ch[["from_wave", "to_wave", "code", "domain"]].itertuples(index=False)]
    shown = ch[~ch["hidden"]]
    covered = (shown["ci_low"] <= shown["planted"]) & (shown["planted"] <= shown["ci_high"])
    assert covered.mean() >= 0.9, covered.mean()
    a = rel.changes[rel.changes["level"] == "all"].set_index(["from_wave", "to_wave", "domain"])
    # every planted all-sector change is found, with the right sign, and its interval holds the truth
    for w0, w1, dom, planted in [("2024", "2026", "data", 0.8), ("2025", "2026", "transparency", -0.5),
                                 ("2024", "2026", "transparency", -0.5)]:
        r = a.loc[(w0, w1, dom)]
        assert r["ci_low"] <= planted <= r["ci_high"] and np.sign(r["ci_low"]) == np.sign(r["ci_high"]) == np.sign(planted)
    assert a.loc[("2024", "2025", "transparency"), "ci_low"] < 0 < a.loc[("2024", "2025", "transparency"), "ci_high"]
    # the sector differences: the child welfare agency rates shared power highest in 2024, community
    # organisations rate resources lowest, domestic violence programs rate centering survivors highest
    d = rel.domains[(rel.domains["level"] == "sector") & ~rel.domains["hidden"]].set_index(["wave", "domain", "group"]).sort_index()
    assert d.loc[("2024", "shared_power"), "mean"].idxmax() == "Child welfare agency"
    assert d.loc[("2026", "resources"), "mean"].idxmin() == "Community organisations"
    assert d.loc[("2025", "lived_experience"), "mean"].idxmax() == "Domestic violence programs"
    assert {e["domain"] for e in SURVEY_PLANTED} <= set(rel.domains["domain"])


def test_the_planted_loose_item_lowers_its_domains_alpha(sample_survey_release):
    a = sample_survey_release.alpha
    a = a[a["level"] == "all"]
    lowest = a.loc[a.groupby("wave")["alpha"].idxmin(), "domain"]
    assert set(lowest) == {"accountability"}
    assert (a.loc[a["domain"] != "accountability", "alpha"] > 0.65).all()


# --------------------------------------------------------------------------- the page and the command
def test_sentences_say_what_changed_and_hide_small_groups(sample_survey_release):
    from equity_helpers.survey.page import survey_table, survey_view

    v = survey_view(sample_survey_release)
    text = " ".join(v.sentences)
    assert v.lead == "In 2026:" and "2026" not in text  # the wave said once, above the sentences
    assert text.startswith("110 people answered the survey for all partners together, from 5 sectors.")
    assert "Sharing data and making meaning together rose from 2.4 in 2024 to 3.2 (change" in text
    assert "Transparency and truth-telling fell" in text
    assert "Read accountability to families and community with care" in text
    small = sample_survey_release.groups
    hidden = small.loc[small["hidden"] & (small["wave"] == "2026"), "group"].iloc[0]
    assert survey_view(sample_survey_release, group=hidden).sentences[0].endswith(
        "to protect the privacy of the people who answered.")
    t = survey_table(sample_survey_release, wave="2026", group=hidden, baseline="2024")
    assert set(t["respondents"]) == {"hidden"}
    with pytest.raises(ParameterError, match="its waves are 2024, 2025, 2026"):
        survey_view(sample_survey_release, wave="1999")
    assert len(v.charts()) == 3


def test_the_survey_is_found_beside_the_data_or_through_the_mapping(tmp_path):
    assert survey.find_survey(SAMPLE) == (SAMPLE / "survey_responses.csv", SAMPLE / "survey_instrument.yml")
    assert survey.find_survey(tmp_path) is None
    (tmp_path / "answers.xlsx").write_text("")
    (tmp_path / "mapping.yml").write_text("tables: {}\nsurvey:\n  responses: answers.xlsx\n  instrument: inst.yml\n")
    assert survey.find_survey(mapping=tmp_path / "mapping.yml") == (tmp_path / "answers.xlsx", tmp_path / "inst.yml")


def test_survey_command_writes_every_published_number(tmp_path, capsys):
    out = tmp_path / "survey.csv"
    code = main(["survey", "--responses", str(SAMPLE / "survey_responses.csv"),
                 "--instrument", str(SAMPLE / "survey_instrument.yml"), "--out", str(out)])
    assert code == 0
    said = capsys.readouterr().out
    assert "7,920 answers read, 7,920 used, 0 left out; waves 2024, 2025, 2026." in said
    table = pd.read_csv(out)
    assert set(table["measure"]) == {"respondents", "domain_score", "item_agreement", "cronbach_alpha", "change"}
    assert "respondent_id" not in table.columns and not table["group"].astype(str).str.match(r"R\d{4}").any()
    bad = tmp_path / "bad.csv"
    bad.write_text("wave,respondent_id,organisation,sector,item,response\n2024,R1,Org,police,sv1,4\n")
    assert main(["survey", "--responses", str(bad), "--instrument", str(SAMPLE / "survey_instrument.yml"),
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "sector has 1 rows with code(s) the instrument does not list: police" in capsys.readouterr().err


def test_waves_follow_the_instruments_order_and_one_wave_has_no_change(instrument):
    ordered = survey.Instrument(**{**instrument.__dict__, "waves": ("Spring 2024", "Fall 2024")})
    rows = [(w, f"{w[0]}{i}", "Org", "cw", "b1", str(1 + i % 5)) for w in ("Fall 2024", "Spring 2024") for i in range(6)]
    data = survey.validate_responses(answers(rows), ordered)
    assert data.waves == ["Spring 2024", "Fall 2024"]
    from equity_helpers.survey.page import survey_view

    for chart in survey_view(survey.build_survey_release(data)).charts()[:2]:  # waves drawn in that order
        rows_drawn = next(iter(chart.to_dict()["datasets"].values()))
        assert list(dict.fromkeys(r["wave"] for r in rows_drawn)) == ["Spring 2024", "Fall 2024"]
    with pytest.raises(DataValidationError, match="wave has 1 rows with wave"):
        survey.validate_responses(answers(rows + [("Winter", "W1", "Org", "cw", "b1", "3")]), ordered)
    one = survey.validate_responses(answers([r for r in rows if r[0] == "Fall 2024"]), instrument)
    rel = survey.build_survey_release(one)
    assert rel.waves == ["Fall 2024"] and rel.changes.empty
    from equity_helpers.survey.page import survey_view

    v = survey_view(rel)
    assert v.lead == "In Fall 2024:"
    assert v.sentences[0] == "6 people answered the survey for all partners together, from 1 sector."
    assert "change since" not in " ".join(v.table().columns) and len(v.charts()) == 3


def test_a_survey_too_small_to_show_says_so(instrument):
    rows = [("1", f"R{i}", "Org", "cw", "a1", "4") for i in range(3)]
    rel = survey.build_survey_release(survey.validate_responses(answers(rows), instrument))
    assert rel.groups["hidden"].all() and rel.published()["estimate"].isna().all()
    from equity_helpers.survey.page import survey_view

    assert survey_view(rel).sentences == [
        "All partners together had too few respondents to show (or showing them would reveal a group that "
        "small), to protect the privacy of the people who answered."]
    assert survey_view(rel).charts() == []


def test_the_panel_redraws_for_each_filter(sample_survey_release):
    from equity_helpers.survey.page import SurveyPanel

    panel = SurveyPanel(sample_survey_release)
    first = panel.view.sentences
    panel.wave.value = "2025"
    assert panel.view.wave == "2025" and panel.view.sentences != first
    panel.group.value = "Child welfare agency"
    assert panel.view.lead == "In 2025:"
    assert panel.view.sentences[0].startswith("46 people answered the survey for Child welfare agency")
    panel.domain.value = "data"
    assert panel.view.domain == "data" and len(panel.view.charts()) == 3
