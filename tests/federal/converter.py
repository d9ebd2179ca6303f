"""An independent converter: a workbook data folder (the sample) written as the federal files an agency has.

It shares no code with :mod:`equity_helpers.data.federal` (its codes are written out here from the federal
codebooks), so an import that reads its files back and counts the same children checks the import, not itself.

* NCANDS Child File, one file per submission year: the screened-in reports only (NCANDS has no others), the
  disposition dated on the report date (so every report is filed in its own year), ``AFCARSID`` for children
  who were ever in care; ages, not birth dates.
* AFCARS Foster Care File, one file per fiscal year: every child in care during the year, with the latest
  removal that began by the year's end; ``TOTALREM`` from the episode's prior episodes, ``REM1DT`` and
  ``DLSTFCDT`` from the child's earlier episodes; discharges only when they fall in the year.
* ``counties.csv``: the sample's places as 5-digit codes of state ``ST``.

``spelling="state"`` writes the state submission layout (upper case, ``RPTCNTY`` as 3 digits); ``"ndacan"``
NDACAN's (mixed case, ``RptFIPS`` as 5 digits, ``CEthn``). ``dates`` is ``"iso"``, ``"mdy"`` (mm/dd/yyyy) or
``"compact"`` (mmddyyyy).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ST, ST_FIPS = "SD", "46"
DISP = {"substantiated": "01", "indicated": "02", "alternative_response": "03", "unsubstantiated": "05",
        "other": "88", "none": "99"}
SEX_N = {"male": "1", "female": "2", "unknown": "9"}
ETHN_N = {"yes": "1", "no": "2", "unknown": "3"}
YESNO_N = {"yes": "1", "no": "2", "unknown": "9"}
SEX_A = {"male": "1", "female": "2", "unknown": "9"}
HISP_A = {"yes": "1", "no": "2", "unknown": "3"}
DISREASN = {"reunification": "1", "relative": "2", "adoption": "3", "emancipation": "4", "guardianship": "5",
            "transfer": "6", "other": "7", "death": "8"}
PLACEMENT = {"kin": "2", "nonkin_foster": "3", "congregate": "5", "other": "8"}
RACES = ["race_aian", "race_asian", "race_black", "race_nhpi", "race_white", "race_unknown"]
N_RACE = ["CHRACAI", "CHRACAS", "CHRACBL", "CHRACNH", "CHRACWH", "CHRACUD"]
A_RACE = ["AMIAKN", "ASIAN", "BLKAFRAM", "HAWAIIPI", "WHITE", "UNTODETM"]
NDACAN_N = {"SUBYR": "SubYr", "STATERR": "StaTerr", "RPTID": "RptID", "CHID": "ChID", "RPTFIPS": "RptFIPS",
            "RPTDT": "RptDt", "RPTDISDT": "RptDisDt", "RPTDISP": "RptDisp", "CHAGE": "ChAge", "CHSEX": "ChSex",
            "CHRACAI": "ChRacAI", "CHRACAS": "ChRacAs", "CHRACBL": "ChRacBl", "CHRACNH": "ChRacNH",
            "CHRACWH": "ChRacWh", "CHRACUD": "ChRacUD", "CHETHN": "CEthn", "FCVIOL": "FCViol", "AFCARSID": "AFCARSID"}
NDACAN_A = {"RECNUMBR": "RecNumbr", "FY": "FY", "ST": "St", "DOB": "DOB", "SEX": "Sex", "AMIAKN": "AmIAKN",
            "ASIAN": "Asian", "BLKAFRAM": "BlkAfrAm", "HAWAIIPI": "HawaiiPI", "WHITE": "White",
            "UNTODETM": "UnToDetm", "HISORGIN": "HisOrgin", "TOTALREM": "TotalRem", "REM1DT": "Rem1Dt",
            "DLSTFCDT": "DLstFCDt", "LATREMDT": "LatRemDt", "NUMPLEP": "NumPlep", "CURPLSET": "CurPlSet",
            "DODFCDT": "DoDFCDt", "DISREASN": "DisReasn", "FIPSCODE": "FIPSCode"}


def _date(s: pd.Series, how: str) -> pd.Series:
    d = pd.to_datetime(s)
    fmt = {"iso": "%Y-%m-%d", "mdy": "%m/%d/%Y", "compact": "%m%d%Y"}[how]
    return d.dt.strftime(fmt).where(d.notna(), "")


def _fy(d: pd.Series) -> pd.Series:
    d = pd.to_datetime(d)
    return d.dt.year + (d.dt.month >= 10).astype(int)


def recnumbr(child_id: pd.Series) -> pd.Series:
    """AFCARS record numbers: another id space than NCANDS child ids (linked only through AFCARSID)."""
    return "AF" + child_id.str.replace(r"\D", "", regex=True)


def convert(sample: Path, out: Path, *, spelling: str = "state", dates: str = "iso") -> dict[str, list[Path]]:
    """Write ``sample`` (a workbook data folder) as NCANDS and AFCARS files and a counties file into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    kids = pd.read_csv(sample / "children.csv", dtype=str).set_index("child_id")
    reps = pd.read_csv(sample / "reports.csv", dtype=str, keep_default_na=False)
    eps = pd.read_csv(sample / "episodes.csv", dtype=str, keep_default_na=False)
    places = sorted(set(reps["jurisdiction"]) | set(eps["jurisdiction"]))
    county = {p: f"{2 * i + 1:03d}" for i, p in enumerate(places)}
    pd.DataFrame({"fips": [ST_FIPS + county[p] for p in places], "jurisdiction": places}).to_csv(
        out / "counties.csv", index=False)
    in_care = set(eps["child_id"])

    # NCANDS: screened-in reports, one file per submission year
    r = reps[reps["screened_in"] == "1"].copy()
    k = kids.loc[r["child_id"]]
    born = pd.to_datetime(k["birth_date"]).to_numpy()
    when = pd.to_datetime(r["report_date"]).to_numpy()
    # age in whole years as the workbook measures it (days / 365.25): on an 18th birthday a birthday count
    # says 18 where the workbook still counts a child of 17, and the round trip would differ by that child
    age = np.floor((when - born) / np.timedelta64(1, "D") / 365.25).astype(int)
    n = pd.DataFrame({
        "SUBYR": _fy(r["report_date"]).astype(str).to_numpy(), "STATERR": ST, "RPTID": r["report_id"].to_numpy(),
        "CHID": r["child_id"].to_numpy(), "RPTCNTY": r["jurisdiction"].map(county).to_numpy(),
        "RPTDT": _date(r["report_date"], dates).to_numpy(), "RPTDISDT": _date(r["report_date"], dates).to_numpy(),
        "RPTDISP": r["disposition"].replace("", "none").map(DISP).to_numpy(),
        "CHAGE": np.where(age < 0, "77", age.astype(str)), "CHSEX": k["sex"].map(SEX_N).to_numpy(),
        **{f: np.where(k[c].to_numpy() == "1", "1", "2") for f, c in zip(N_RACE, RACES)},
        "CHETHN": k["hispanic"].map(ETHN_N).to_numpy(),
        "FCVIOL": r["dv_involved"].replace("", "unknown").map(YESNO_N).to_numpy(),
        "AFCARSID": np.where(r["child_id"].isin(in_care), recnumbr(r["child_id"]), ""),
    })
    if spelling == "ndacan":
        n["RPTCNTY"] = ST_FIPS + n["RPTCNTY"]
        n = n.rename(columns={"RPTCNTY": "RPTFIPS"}).rename(columns=NDACAN_N)
    files: dict[str, list[Path]] = {"ncands": [], "afcars": []}
    year_col = "SubYr" if spelling == "ndacan" else "SUBYR"
    for year, part in n.groupby(year_col):
        p = out / f"ncands_{year}.csv"
        part.to_csv(p, index=False)
        files["ncands"].append(p)

    # AFCARS: every child in care during a fiscal year, its latest removal by the year's end
    e = eps.copy()
    e["entry"] = pd.to_datetime(e["entry_date"])
    e["exit"] = pd.to_datetime(e["exit_date"].replace("", None))
    e = e.sort_values(["child_id", "entry"])
    e["first_entry"] = e.groupby("child_id")["entry"].transform("min")
    e["prev_exit"] = e.groupby("child_id")["exit"].shift(1)
    e["nth"] = e.groupby("child_id").cumcount()
    years = range(int(_fy(e["entry"]).min()), int(_fy(pd.to_datetime(reps["report_date"])).max()) + 1)
    for fy in years:
        start, end = pd.Timestamp(fy - 1, 10, 1), pd.Timestamp(fy, 9, 30)
        during = e[(e["entry"] <= end) & (e["exit"].isna() | (e["exit"] >= start))]
        latest = during.sort_values("entry").groupby("child_id").tail(1)
        if latest.empty:
            continue
        k = kids.loc[latest["child_id"]]
        prior = pd.to_numeric(latest["prior_episodes"]).fillna(0).astype(int)
        total = np.maximum(prior, latest["nth"]) + 1
        exit_in_year = latest["exit"].notna() & (latest["exit"] <= end)
        rem1 = latest["first_entry"].where((latest["nth"] > 0) | (total == 1))
        a = pd.DataFrame({
            "RECNUMBR": recnumbr(latest["child_id"]).to_numpy(), "FY": str(fy), "ST": ST,
            "DOB": _date(k["birth_date"], dates).to_numpy(), "SEX": k["sex"].map(SEX_A).to_numpy(),
            **{f: k[c].to_numpy() for f, c in zip(A_RACE, RACES)},
            "HISORGIN": k["hispanic"].map(HISP_A).to_numpy(), "TOTALREM": total.astype(str).to_numpy(),
            "REM1DT": _date(rem1, dates).to_numpy(), "DLSTFCDT": _date(latest["prev_exit"], dates).to_numpy(),
            "LATREMDT": _date(latest["entry"], dates).to_numpy(),
            "NUMPLEP": latest["placement_count"].to_numpy(),
            "CURPLSET": latest["first_placement"].map(PLACEMENT).fillna("").to_numpy(),
            "DODFCDT": _date(latest["exit"].where(exit_in_year), dates).to_numpy(),
            "DISREASN": np.where(exit_in_year, latest["exit_reason"].map(DISREASN).fillna(""), "0"),
            "FIPSCODE": (ST_FIPS + latest["jurisdiction"].map(county)).to_numpy(),
        })
        if spelling == "ndacan":
            a = a.rename(columns=NDACAN_A)
        p = out / f"afcars_{fy}.csv"
        a.to_csv(p, index=False)
        files["afcars"].append(p)
    return files
