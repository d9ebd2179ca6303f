"""equity-workbook import: federal files to a data folder that validate and measures read unchanged."""
import pandas as pd

from tests.federal.conftest import afcars, ncands, write

from equity_helpers.run.cli import main


def _files(tmp_path):
    reports = [dict(RPTID=f"R{i}", CHID=f"C{i}", CHRACBL="1" if i % 2 else "2", CHRACWH="2" if i % 2 else "1",
                    RPTCNTY="003" if i % 3 else "005", RPTDISP="01" if i % 4 else "05",
                    AFCARSID=f"A{i}" if i % 5 == 0 else "") for i in range(60)]
    removals = [dict(RECNUMBR=f"A{i}", BLKAFRAM="1" if i % 2 else "0", WHITE="0" if i % 2 else "1",
                     FIPSCODE="46003" if i % 3 else "46005") for i in range(0, 60, 5)]
    pop = pd.DataFrame([{"jurisdiction": j, "year": 2024, "race_ethnicity": g, "age_group": a, "sex": s,
                         "population": 500}
                        for j in ("Aurora", "Beadle")
                        for g in ("white", "black", "hispanic", "aian", "asian", "nhpi", "multiracial")
                        for a in ("0-4", "5-9", "10-14", "15-17") for s in ("female", "male")])
    return (write(ncands(*reports), tmp_path / "ncands.csv"), write(afcars(*removals), tmp_path / "afcars.csv"),
            write(pop, tmp_path / "population.csv"))


def test_import_then_validate_and_measures_read_the_folder(tmp_path, counties, capsys):
    n, a, pop = _files(tmp_path)
    out = tmp_path / "data"
    assert main(["import", "--ncands", str(n), "--afcars", str(a), "--counties", str(counties),
                 "--population", str(pop), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "ncands.csv: NCANDS Child File, state submission layout" in said
    assert "ncands: 60 records read, 60 used, 0 left out" in said
    assert "Not in these files" in said and "first placement" in said
    assert main(["validate", "--data", str(out)]) == 0
    said = capsys.readouterr().out
    assert "Not in these files:" in said and "screened-in reports only" in said
    assert main(["measures", "--data", str(out), "--out", str(tmp_path / "m.csv"), "--quiet"]) == 0
    m = pd.read_csv(tmp_path / "m.csv")
    assert {"Aurora", "Beadle", "Statewide"} <= set(m["jurisdiction"])
    assert {"screened_in", "substantiated", "entered_care"} <= set(m["stage"])


def test_bad_files_give_the_plain_list_and_status_2(tmp_path, capsys):
    n, a, _ = _files(tmp_path)
    assert main(["import", "--ncands", str(a), "--afcars", str(n), "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and "give it with --afcars" in err and "give it with --ncands" in err
    assert "Traceback" not in err
