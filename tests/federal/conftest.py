"""Small hand-made federal files: one dict per record, every field a default a test can change."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from equity_helpers.data.federal import import_federal

NCANDS = dict(SUBYR="2024", STATERR="SD", RPTID="R1", CHID="C1", RPTCNTY="003", RPTDT="2024-01-15",
              RPTDISDT="2024-02-01", RPTDISP="01", CHAGE="5", CHSEX="1", CHRACAI="2", CHRACAS="2", CHRACBL="1",
              CHRACNH="2", CHRACWH="2", CHRACUD="2", CHETHN="2", FCVIOL="2", AFCARSID="")
"""An NCANDS Child File record (state submission spelling): a substantiated report about a Black boy of 5."""
AFCARS = dict(RECNUMBR="A1", FY="2024", ST="SD", DOB="2018-06-01", SEX="1", AMIAKN="0", ASIAN="0", BLKAFRAM="1",
              HAWAIIPI="0", WHITE="0", UNTODETM="0", HISORGIN="2", TOTALREM="1", REM1DT="2024-03-01", DLSTFCDT="",
              LATREMDT="2024-03-01", NUMPLEP="1", CURPLSET="2", DODFCDT="", DISREASN="0", FIPSCODE="46003")
"""An AFCARS Foster Care File record: a boy removed on 2024-03-01, still in care at the end of FY2024."""
NDACAN_NAMES = {"SUBYR": "SubYr", "STATERR": "StaTerr", "RPTID": "RptID", "CHID": "ChID", "RPTDT": "RptDt",
                "RPTDISDT": "RptDisDt", "RPTDISP": "RptDisp", "CHAGE": "ChAge", "CHSEX": "ChSex",
                "CHRACAI": "ChRacAI", "CHRACAS": "ChRacAs", "CHRACBL": "ChRacBl", "CHRACNH": "ChRacNH",
                "CHRACWH": "ChRacWh", "CHRACUD": "ChRacUD", "CHETHN": "CEthn", "FCVIOL": "FCViol"}


def ncands(*changes: dict, spelling: str = "state") -> pd.DataFrame:
    """NCANDS records: the default record changed by each dict in turn (``spelling="ndacan"``: NDACAN's names,
    ``RptFIPS`` with 5 digits)."""
    df = pd.DataFrame([{**NCANDS, **c} for c in changes], dtype=str)
    if spelling == "ndacan":
        df["RPTCNTY"] = "46" + df["RPTCNTY"]
        df = df.rename(columns={"RPTCNTY": "RptFIPS", **NDACAN_NAMES})
    return df


def afcars(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([{**AFCARS, **c} for c in changes], dtype=str)


def write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


@pytest.fixture
def counties(tmp_path) -> Path:
    return write(pd.DataFrame({"fips": ["46003", "46005"], "jurisdiction": ["Aurora", "Beadle"]}),
                 tmp_path / "counties.csv")


@pytest.fixture
def run(tmp_path, counties):
    """``run(ncands_frames, afcars_frames, **options)``: import CSV files written from the frames; returns the
    result and the imported tables as pandas frames."""
    def go(n_frames, a_frames, *, with_counties: bool = True, **kw):
        n = [write(f, tmp_path / f"ncands_{i}.csv") for i, f in enumerate(n_frames)]
        a = [write(f, tmp_path / f"afcars_{i}.csv") for i, f in enumerate(a_frames)]
        out = tmp_path / "out"
        result = import_federal(ncands=n, afcars=a, counties=counties if with_counties else None, out=out, **kw)
        tables = {t: pd.read_parquet(out / f"{t}.parquet") for t in ("children", "reports", "episodes")}
        return result, tables

    return go
