"""The federal files' fields and codes, as data: which spellings name each field, and how each code reads.

The code maps live in ``codes.yml`` beside this module (NCANDS dispositions, sex, race, Hispanic origin,
caregiver domestic violence; AFCARS sex, race, Hispanic origin, reasons for discharge; NDACAN's masked
county; state postal codes to state FIPS codes). The import writes the maps it used next to the data
(``federal_codes.yml``).

Field names are matched without regard to case, so the state submission spelling (``CHRACAI``, ``RPTDT``)
and NDACAN's (``ChRacAI``, ``RptDt``) are one field; the two names that differ between the layouts
(``CHETHN`` / ``CEthn``; the county, ``RPTCNTY`` as 3 digits / ``RptFIPS`` as 5) are listed as aliases.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["NCANDS_FIELDS", "NCANDS_REQUIRED", "NCANDS_RACE", "AFCARS_FIELDS", "AFCARS_REQUIRED", "AFCARS_RACE",
           "RACE_FLAGS_OF", "codes", "code_map", "state_fips", "masked_place", "CODES_FILE"]

CODES_FILE = Path(__file__).with_name("codes.yml")

NCANDS_RACE = ("CHRACAI", "CHRACAS", "CHRACBL", "CHRACNH", "CHRACWH", "CHRACUD")
AFCARS_RACE = ("AMIAKN", "ASIAN", "BLKAFRAM", "HAWAIIPI", "WHITE", "UNTODETM")
RACE_FLAGS_OF = ("race_aian", "race_asian", "race_black", "race_nhpi", "race_white", "race_unknown")
"""The workbook's race flags, in the order of :data:`NCANDS_RACE` and :data:`AFCARS_RACE`."""

NCANDS_FIELDS: dict[str, tuple[str, ...]] = {
    "SUBYR": ("SUBYR",),
    "STATERR": ("STATERR",),
    "RPTID": ("RPTID",),
    "CHID": ("CHID",),
    "RPTCNTY": ("RPTCNTY",),        # state submission: 3-digit county code within STATERR
    "RPTFIPS": ("RPTFIPS",),        # NDACAN: 5-digit state and county FIPS code
    "RPTDT": ("RPTDT",),
    "RPTDISDT": ("RPTDISDT",),
    "RPTDISP": ("RPTDISP",),
    "CHAGE": ("CHAGE",),
    "CHSEX": ("CHSEX",),
    **{f: (f,) for f in NCANDS_RACE},
    "CHETHN": ("CHETHN", "CETHN"),
    "FCVIOL": ("FCVIOL",),
    "AFCARSID": ("AFCARSID",),
}
"""Each NCANDS Child File field the import reads, and the spellings (upper case) that name it."""
NCANDS_REQUIRED = ("STATERR", "RPTID", "CHID", "RPTDT", "RPTDISP", "CHAGE", "CHSEX", *NCANDS_RACE, "CHETHN")
"""Fields without which an NCANDS file cannot be read (and one of ``RPTCNTY`` / ``RPTFIPS``)."""

AFCARS_FIELDS: dict[str, tuple[str, ...]] = {
    "RECNUMBR": ("RECNUMBR",),
    "FY": ("FY", "REPDATYR", "DATAYEAR"),
    "REPDATMO": ("REPDATMO",),      # state submissions: the six-month period's last month (3 or 9)
    "ST": ("ST", "STATE"),
    "DOB": ("DOB",),
    "SEX": ("SEX",),
    **{f: (f,) for f in AFCARS_RACE},
    "HISORGIN": ("HISORGIN",),
    "TOTALREM": ("TOTALREM",),
    "REM1DT": ("REM1DT",),
    "DLSTFCDT": ("DLSTFCDT",),
    "LATREMDT": ("LATREMDT",),
    "NUMPLEP": ("NUMPLEP",),
    "CURPLSET": ("CURPLSET",),
    "DODFCDT": ("DODFCDT",),
    "DISREASN": ("DISREASN",),
    "FIPSCODE": ("FIPSCODE",),
}
"""Each AFCARS Foster Care File field the import reads, and the spellings that name it."""
AFCARS_REQUIRED = ("RECNUMBR", "FY", "DOB", "SEX", *AFCARS_RACE, "HISORGIN", "TOTALREM", "LATREMDT", "DODFCDT",
                   "DISREASN", "FIPSCODE")


@cache
def codes() -> dict[str, Any]:
    """``codes.yml`` as read (cached)."""
    return yaml.safe_load(CODES_FILE.read_text())


def code_map(file: str, field: str) -> dict[str, Any]:
    """One field's map as ``{code as text: value}``: codes as whole numbers without leading zeros (``"1"``),
    a blank cell as ``""``."""
    out = {}
    for k, v in codes()[file][field].items():
        out["" if k == "blank" else str(int(k))] = v
    return out


def state_fips() -> dict[str, str]:
    """State postal code -> 2-digit state FIPS code."""
    return dict(codes()["states"])


def masked_place() -> str:
    """The name of the place NDACAN's masked county code becomes."""
    return str(codes()["masked_place"])
