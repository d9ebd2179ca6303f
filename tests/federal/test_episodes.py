"""Foster care episodes rebuilt across AFCARS years by RECNUMBR; removals hidden within a year recovered as far
as the file allows, their exit reason unknown."""
import pytest

from tests.federal.conftest import afcars, ncands

from equity_helpers.data.federal.codes import masked_place


def _episodes(t):
    e = t["episodes"].sort_values("entry_date")
    return list(zip(e["entry_date"], e["exit_date"].fillna(""), e["exit_reason"].fillna(""), e["prior_episodes"]))


def _count(result, reason):
    acc = result.accounting
    hit = acc[(acc["kind"] == "episodes") & (acc["reason"] == reason)]
    return int(hit["rows"].sum())


def test_an_episode_over_two_years_is_one_episode_with_the_later_discharge(run):
    result, t = run([ncands({})], [afcars({"FY": "2023", "LATREMDT": "2023-03-01", "REM1DT": "2023-03-01"}),
                                   afcars({"LATREMDT": "2023-03-01", "REM1DT": "2023-03-01", "DODFCDT": "2024-02-01",
                                           "DISREASN": "1", "NUMPLEP": "3", "FIPSCODE": "46005"})])
    assert _episodes(t) == [("2023-03-01", "2024-02-01", "reunification", "0")]
    e = t["episodes"].iloc[0]
    assert (e["jurisdiction"], e["placement_count"], e["first_placement"]) == ("Aurora", "3", None)
    assert _count(result, "episodes") == 1


def test_a_removal_hidden_by_a_later_one_in_the_year_is_recovered(run):
    result, t = run([ncands({})], [afcars({"LATREMDT": "2024-06-01", "TOTALREM": "2", "REM1DT": "2023-11-01",
                                           "DLSTFCDT": "2024-01-15"})])
    assert _episodes(t) == [("2023-11-01", "2024-01-15", "unknown", "0"), ("2024-06-01", "", "", "1")]
    assert _count(result, "recovered") == 1
    hidden = result.accounting.set_index("reason").loc["hidden_exits"]
    assert hidden["rows"] == 1 and "1 episodes, exit reason unknown" in hidden["message"]


def test_an_open_episode_followed_by_a_removal_ends_on_the_later_records_last_discharge(run):
    result, t = run([ncands({})], [afcars({"FY": "2023", "LATREMDT": "2023-03-01"}),
                                   afcars({"LATREMDT": "2024-05-01", "TOTALREM": "2", "DLSTFCDT": "2023-12-01"})])
    assert _episodes(t) == [("2023-03-01", "2023-12-01", "unknown", "0"), ("2024-05-01", "", "", "1")]
    assert _count(result, "closed_by_later") == 1


def test_without_a_last_discharge_date_it_ends_the_day_before_the_next_removal(run):
    result, t = run([ncands({})], [afcars({"FY": "2023", "LATREMDT": "2023-03-01"}),
                                   afcars({"LATREMDT": "2024-05-01", "TOTALREM": "2"})])
    assert _episodes(t)[0] == ("2023-03-01", "2024-04-30", "unknown", "0")
    assert _count(result, "exit_bounded") == 1


def test_earlier_removals_with_no_entry_date_count_only_as_prior_episodes(run):
    result, t = run([ncands({})], [afcars({"TOTALREM": "3", "REM1DT": "2015-01-01", "DLSTFCDT": "2020-01-01"})])
    assert _episodes(t) == [("2024-03-01", "", "", "2")]
    assert _count(result, "not_recovered") == 2


def test_ndacans_masked_county_is_one_place_named_for_what_it_is(run):
    _, t = run([ncands({})], [afcars({"FIPSCODE": "00008"}), afcars({"RECNUMBR": "A2", "FIPSCODE": "8"})])
    assert set(t["episodes"]["jurisdiction"]) == {masked_place()}


@pytest.mark.parametrize("code,reason", [("1", "reunification"), ("2", "relative"), ("3", "adoption"),
                                         ("4", "emancipation"), ("5", "guardianship"), ("6", "transfer"),
                                         ("7", "other"), ("8", "death"), ("08", "death")])
def test_reasons_for_discharge(run, code, reason):
    _, t = run([ncands({})], [afcars({"DODFCDT": "2024-09-01", "DISREASN": code})])
    assert t["episodes"]["exit_reason"].tolist() == [reason]


def test_six_month_state_submissions_are_periods_of_their_year(run):
    a = afcars({"REPDATMO": "03", "LATREMDT": "2023-11-01"}, {"REPDATMO": "09", "LATREMDT": "2023-11-01",
                                                                "DODFCDT": "2024-07-01", "DISREASN": "5"})
    a = a.rename(columns={"FY": "REPDATYR"})
    _, t = run([ncands({})], [a])
    assert _episodes(t) == [("2023-11-01", "2024-07-01", "guardianship", "0")]
