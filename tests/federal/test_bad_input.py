"""Bad federal files: one plain report of every problem, with record counts; nothing dropped silently
(records read = used + left out by reason)."""
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.federal.conftest import afcars, ncands, write

from equity_helpers.data.federal import import_federal
from equity_helpers.data.federal.accounting import MESSAGES
from equity_helpers.errors import DataValidationError


def _left_out(result, table):
    acc = result.accounting
    return acc[(acc["kind"] == "excluded") & (acc["table"] == table)].set_index("reason")["rows"].to_dict()


def test_files_of_the_wrong_kind_or_missing_fields_are_refused_together(tmp_path):
    a = write(afcars({}), tmp_path / "afcars.csv")
    n = write(ncands({}).drop(columns=["CHSEX", "RPTDT"]), tmp_path / "ncands.csv")
    with pytest.raises(DataValidationError) as e:
        import_federal(ncands=[a, n], afcars=[write(ncands({}), tmp_path / "n2.csv"), tmp_path / "none.csv"],
                       out=tmp_path / "out")
    text = str(e.value)
    assert "4 problem(s)" in text
    assert MESSAGES["wrong_kind"].format(file="afcars.csv", what="an NCANDS Child File",
                                         other="an AFCARS Foster Care File", option="--afcars") in text
    assert "ncands.csv is not an NCANDS Child File the import can read: it has no RPTDT" in text
    assert "CHSEX" in text
    assert MESSAGES["no_file"].format(file=tmp_path / "none.csv") in text
    assert not (tmp_path / "out" / "children.parquet").exists()


def test_an_unknown_file_type_is_refused(tmp_path):
    p = tmp_path / "ncands.json"
    p.write_text("{}")
    with pytest.raises(DataValidationError, match="is not a file the import reads"):
        import_federal(ncands=[p], afcars=[write(afcars({}), tmp_path / "a.csv")], out=tmp_path / "out")


def test_unknown_codes_are_left_out_and_named(run):
    result, t = run([ncands({}, {"RPTID": "R2", "RPTDISP": "42"}, {"RPTID": "R3", "CHSEX": "7"},
                            {"RPTID": "R4", "STATERR": "XX"})], [afcars({}, {"RECNUMBR": "A2", "DISREASN": "11"})])
    assert _left_out(result, "ncands") == {"unknown_code": 3}
    assert _left_out(result, "afcars") == {"unknown_code": 1}
    msg = result.accounting.query("table == 'ncands' and reason == 'unknown_code'")["message"].item()
    assert "RPTDISP '42' (1)" in msg and "CHSEX '7' (1)" in msg and "STATERR 'XX' (1)" in msg
    assert len(t["reports"]) == 1
    warn = [p for p in result.problems if p.check == "unknown_code" and p.table == "ncands"][0]
    assert warn.examples.startswith("ncands_0.csv row 2")


def test_a_report_resubmitted_in_a_later_year_is_kept_once(run):
    result, t = run([ncands({"SUBYR": "2023", "RPTDISDT": "2023-09-01", "RPTDT": "2023-08-01"}),
                     ncands({"RPTDISP": "05", "RPTDT": "2023-08-01"})], [afcars({})])
    assert _left_out(result, "ncands") == {"duplicate_record": 1}
    assert t["reports"]["disposition"].tolist() == ["unsubstantiated"]


def test_a_record_number_twice_in_a_year_is_kept_once(run):
    result, t = run([ncands({})], [afcars({}, {"LATREMDT": "2024-04-01"})])
    assert _left_out(result, "afcars") == {"duplicate_recnumbr": 1}
    assert t["episodes"]["entry_date"].tolist() == ["2024-03-01"]


def test_dates_outside_their_fiscal_year_are_left_out(run):
    result, _ = run([ncands({}, {"RPTID": "R2", "RPTDISDT": "2024-10-02"})],
                    [afcars({}, {"RECNUMBR": "A2", "LATREMDT": "2024-10-05"},
                            {"RECNUMBR": "A3", "DODFCDT": "2023-09-01", "DISREASN": "1"})])
    assert _left_out(result, "ncands") == {"outside_submission_year": 1}
    assert _left_out(result, "afcars") == {"date_outside_period": 2}


def test_unreadable_dates_missing_ids_and_no_age_are_left_out(run):
    result, _ = run([ncands({}, {"RPTID": "R2", "RPTDT": "2024-13-45"}, {"RPTID": "R3", "CHID": ""},
                            {"RPTID": "R4", "CHID": "C4", "CHAGE": "99"})], [afcars({})])
    assert _left_out(result, "ncands") == {"unreadable_date": 1, "missing_value": 1, "no_age": 1}
    msgs = result.accounting.set_index("reason")["message"]
    assert "RPTDT '2024-13-45' (1)" in msgs["unreadable_date"]
    assert msgs["missing_value"] == MESSAGES["missing_value"].format(n=1, what="NCANDS", fields="CHID (1)")


def test_reports_made_before_the_first_submission_year_are_left_out(run):
    result, t = run([ncands({}, {"RPTID": "R2", "RPTDT": "2023-09-20", "RPTDISDT": "2023-10-03"})], [afcars({})])
    assert _left_out(result, "ncands") == {"before_first_year": 1}
    assert "FY2024" in result.accounting.set_index("reason").loc["before_first_year", "message"]


def test_every_record_left_out_is_an_error_not_an_empty_folder(run):
    with pytest.raises(DataValidationError, match="NCANDS Child File files hold no records"):
        run([ncands({"RPTDISP": "42"})], [afcars({})])


FAULTS = {"unknown_code": {"RPTDISP": "42"}, "unreadable_date": {"RPTDT": "31/31/2024"},
          "missing_value": {"RPTID": ""}, "outside_submission_year": {"RPTDISDT": "2025-01-01"}}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([None, *FAULTS]), min_size=1, max_size=12))
def test_read_is_used_plus_left_out_by_reason(run, faults):
    records = [{"RPTID": f"R{i}", "CHID": f"C{i}", **(FAULTS[f] if f else {})} for i, f in enumerate(faults)]
    records.append({"RPTID": "OK", "CHID": "OK"})
    result, t = run([ncands(*records)], [afcars({})])
    s = result.summary.set_index("table").loc["ncands"]
    assert s["read"] == len(records) == s["used"] + s["excluded"]
    want = pd.Series([f for f in faults if f]).value_counts().to_dict()
    assert _left_out(result, "ncands") == want
    assert len(t["reports"]) == s["used"]
