"""NCANDS children link to AFCARS children by AFCARSID = RECNUMBR; where the files disagree, AFCARS decides and
the accounting counts how often."""
from tests.federal.conftest import afcars, ncands

from equity_helpers.data.federal import AFCARS_DECIDES
from equity_helpers.data.federal.accounting import MESSAGES


def _linking(result):
    acc = result.accounting
    return acc[acc["kind"] == "linking"].set_index("reason")["rows"].to_dict()


def test_a_linked_child_is_one_child_with_the_afcars_id(run):
    result, t = run([ncands({"AFCARSID": "A1"}, {"RPTID": "R2", "CHID": "C2"})], [afcars({}, {"RECNUMBR": "A9"})])
    kids = set(t["children"]["child_id"])
    assert kids == {"SD-A-A1", "SD-N-C2", "SD-A-A9"}
    assert t["reports"].set_index("report_id")["child_id"].to_dict() == {"SD-R1-C1": "SD-A-A1", "SD-R2-C2": "SD-N-C2"}
    assert set(t["episodes"]["child_id"]) == {"SD-A-A1", "SD-A-A9"}
    assert _linking(result) | {"rule": 0} == {"rule": 0, "linked": 1, "ncands_only": 1, "afcars_only": 1,
                                              "birth_estimated": 1}


def test_ids_with_leading_zeros_link(run):
    _, t = run([ncands({"AFCARSID": "000123"})], [afcars({"RECNUMBR": "123"})])
    assert set(t["children"]["child_id"]) == {"SD-A-123"}


def test_afcars_decides_race_sex_and_birth_date_and_each_difference_is_counted(run):
    # NCANDS: a white girl of 5; AFCARS: a Black boy born 2010 (not 5 at the report)
    result, t = run([ncands({"AFCARSID": "A1", "CHSEX": "2", "CHRACBL": "2", "CHRACWH": "1"})],
                    [afcars({"DOB": "2010-01-01"})])
    kid = t["children"].set_index("child_id").loc["SD-A-A1"]
    assert (kid["sex"], kid["race_black"], kid["race_white"], kid["birth_date"]) == ("male", "1", "0", "2010-01-01")
    got = _linking(result)
    assert (got["differs_race"], got["differs_sex"], got["differs_birth"]) == (1, 1, 1)
    assert AFCARS_DECIDES in result.accounting["message"].tolist()


def test_an_afcars_id_not_in_the_afcars_files_leaves_an_ncands_child(run):
    result, t = run([ncands({"AFCARSID": "A7"})], [afcars({})])
    assert "SD-N-C1" in set(t["children"]["child_id"])
    assert _linking(result)["afcarsid_not_found"] == 1
    msg = result.accounting.set_index("reason").loc["afcarsid_not_found", "message"]
    assert msg == MESSAGES["afcarsid_not_found"].format(n=1)


def test_the_latest_report_decides_between_two_afcars_ids(run):
    result, t = run([ncands({"AFCARSID": "A9"}, {"RPTID": "R2", "AFCARSID": "A1", "RPTDT": "2024-03-01",
                                                 "RPTDISDT": "2024-03-05"})],
                    [afcars({}, {"RECNUMBR": "A9"})])
    assert set(t["reports"]["child_id"]) == {"SD-A-A1"}
    assert _linking(result)["several_afcarsids"] == 1


def test_two_ncands_children_naming_one_afcars_child_are_that_child(run):
    result, t = run([ncands({"AFCARSID": "A1"}, {"RPTID": "R2", "CHID": "C2", "AFCARSID": "A1"})], [afcars({})])
    assert set(t["reports"]["child_id"]) == {"SD-A-A1"}
    assert len(t["children"]) == 1
    assert _linking(result)["afcarsid_shared"] == 1


def test_no_race_flag_is_unknown_race(run):
    _, t = run([ncands({"CHRACBL": "9"})], [afcars({"BLKAFRAM": "0"})])
    kids = t["children"].set_index("child_id")
    assert kids.loc["SD-N-C1", "race_unknown"] == "1" and kids.loc["SD-A-A1", "race_unknown"] == "1"
