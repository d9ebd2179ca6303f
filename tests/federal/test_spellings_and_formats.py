"""Both spellings of the NCANDS Child File, every date form, and SAS, SPSS and Stata files read the same."""
import pandas as pd
import pytest

from tests.federal.conftest import afcars, ncands, write

from equity_helpers.data.federal import import_federal


def _records(changes):
    return [dict(RPTID=f"R{i}", CHID=f"C{i}", **c) for i, c in enumerate(changes)]


REPORTS = _records([{}, {"RPTDISP": "05", "CHSEX": "2", "CHRACBL": "2", "CHRACWH": "1"},
                    {"RPTDISP": "3", "CHETHN": "1", "RPTCNTY": "005", "FCVIOL": "1"}])


def test_state_and_ndacan_spellings_give_the_same_tables(run):
    state, s = run([ncands(*REPORTS)], [afcars({})])
    ndacan, n = run([ncands(*REPORTS, spelling="ndacan")], [afcars({})])
    assert set(state.spellings.values()) == {"state submission"}
    assert set(ndacan.spellings.values()) == {"NDACAN"}
    for t in ("children", "reports", "episodes"):
        pd.testing.assert_frame_equal(s[t], n[t])
    r = s["reports"].set_index("report_id")
    assert r["jurisdiction"].tolist() == ["Aurora", "Aurora", "Beadle"]
    assert r["disposition"].tolist() == ["substantiated", "unsubstantiated", "alternative_response"]
    assert r["dv_involved"].tolist() == ["no", "no", "yes"]
    assert set(r["screened_in"]) == {"1"}


@pytest.mark.parametrize("form", [("2024-01-15", "2024-02-01"), ("01/15/2024", "02/01/2024"),
                                  ("1/15/2024", "2/1/2024"), ("01152024", "02012024"),
                                  ("2024-01-15 00:00:00", "2024-02-01T00:00:00")])
def test_dates_iso_month_first_or_compact(run, form):
    _, t = run([ncands({"RPTDT": form[0], "RPTDISDT": form[1]})], [afcars({})])
    assert t["reports"]["report_date"].tolist() == ["2024-01-15"]


def test_children_ages_become_birth_dates_in_the_span_every_report_allows(run):
    # 5 on 2024-01-15 and 6 on 2024-08-01: born between 2018-01-16 and 2018-08-01
    _, t = run([ncands({"RPTID": "R1", "CHAGE": "5"}, {"RPTID": "R2", "CHAGE": "6", "RPTDT": "2024-08-01",
                                                       "RPTDISDT": "2024-08-15"})], [afcars({})])
    born = pd.Timestamp(t["children"].set_index("child_id").loc["SD-N-C1", "birth_date"])
    assert pd.Timestamp("2018-01-16") <= born <= pd.Timestamp("2018-08-01")


FORMATS = ["xpt", "sav", "dta"]


def _write_binary(df: pd.DataFrame, path, kind: str):
    import pyreadstat

    if kind == "xpt":
        pyreadstat.write_xport(df, str(path), file_format_version=5)
    elif kind == "sav":
        pyreadstat.write_sav(df, str(path))
    else:
        df.to_stata(path, write_index=False, version=118)
    return path


@pytest.mark.parametrize("kind", FORMATS)
def test_sas_spss_and_stata_files_read_as_csv(tmp_path, counties, kind):
    n = ncands(*REPORTS)
    a = afcars({})
    # statistical packages store codes as numbers and dates as dates
    for c in ("SUBYR", "RPTDISP", "CHAGE", "CHSEX", "CHETHN", "FCVIOL", "CHRACAI", "CHRACAS", "CHRACBL", "CHRACNH",
              "CHRACWH", "CHRACUD"):
        n[c] = pd.to_numeric(n[c]).astype(float)
    for c in ("RPTDT", "RPTDISDT"):
        n[c] = pd.to_datetime(n[c])
    n = n.drop(columns=["AFCARSID"])
    csv_out = tmp_path / "csv"
    import_federal(ncands=[write(ncands(*REPORTS), tmp_path / "n.csv")], afcars=[write(a, tmp_path / "a.csv")],
                   counties=counties, out=csv_out)
    out = tmp_path / kind
    result = import_federal(ncands=[_write_binary(n, tmp_path / f"n.{kind}", kind)],
                            afcars=[write(a, tmp_path / "a.csv")], counties=counties, out=out)
    assert result.summary.set_index("table").loc["ncands", "used"] == 3
    got = pd.read_parquet(out / "reports.parquet")
    want = pd.read_parquet(csv_out / "reports.parquet")
    pd.testing.assert_frame_equal(got, want)
