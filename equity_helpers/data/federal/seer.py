"""SEER's U.S. county population files, by single year of age, race, Hispanic origin and sex, as the
workbook's population table.

The record layout, as SEER documents it ("Population Data Dictionary", https://seer.cancer.gov/popdata/popdic.html;
fixed-length ASCII records, one population per line, numbers zero-filled on the left):

====================  =======  ======  =====================================================================
field                 columns  length  values
====================  =======  ======  =====================================================================
year                  1-4      4       1969, 1970, ...
state postal code     5-6      2       e.g. SD
state FIPS code       7-8      2
county FIPS code      9-11     3
registry              12-13    2       SEER registry (not used)
race                  14       1       1990+ files: 1 White, 2 Black, 3 American Indian/Alaska Native,
                                       4 Asian or Pacific Islander
origin                15       1       0 non-Hispanic, 1 Hispanic, 9 not applicable
sex                   16       1       1 male, 2 female
age                   17-18    2       single-age files: 00 = 0 years ... 84, 85 = 85+; (19 age group files:
                                       00 = 0, 01 = 1-4, 02 = 5-9, ...: refused, as 15-19 cannot give 15-17)
population            19-26    8       (the older 28-byte CD layout: 10 characters with one decimal)
====================  =======  ======  =====================================================================

The estimates are for July 1 of ``year``, which falls in the federal fiscal year of the same number: year Y
is the population of FY Y. Ages 0-17 are summed to the workbook's age groups; Hispanic origin first, then
race: ``hispanic``, ``white``, ``black``, ``aian`` and ``asian_pacific``. SEER's race is *bridged* single
race: its files have no separate Asian and Native Hawaiian/Pacific Islander counts and no "two or more races"
group, so the ``hispanic_first`` scheme's population-based rates for ``asian``, ``nhpi`` and ``multiracial``
children (and the ``alone_or_in_combination`` scheme) need a Census population file instead; the workbook
says so rather than guess.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from equity_helpers.data.federal.accounting import MESSAGES
from equity_helpers.errors import Problem

__all__ = ["LAYOUT", "SEER_RACES", "is_seer", "read_seer", "seer_population"]

LAYOUT = {"year": (1, 4), "st": (5, 2), "state_fips": (7, 2), "county_fips": (9, 3), "registry": (12, 2),
          "race": (14, 1), "origin": (15, 1), "sex": (16, 1), "age": (17, 2), "population": (19, 10)}
"""Each field's first column (1-based) and length; the population runs to the end of the record."""
SEER_RACES = {"1": "white", "2": "black", "3": "aian", "4": "asian_pacific"}
"""SEER's bridged race codes (1990+ files) as workbook groups (non-Hispanic)."""
_RECORD = re.compile(r"^\d{4}[A-Z]{2}\d{12}")


def is_seer(path: Path) -> bool:
    """Whether ``path`` is a SEER fixed-width population file (its first line looks like a SEER record)."""
    try:
        with open(path, encoding="latin-1") as fh:
            return bool(_RECORD.match(fh.readline()))
    except OSError:
        return False


def read_seer(path: Path) -> pd.DataFrame:
    """A SEER population file as a table of its fields (see :data:`LAYOUT`), read by DuckDB."""
    import duckdb  # the embedded engine: a county file of every state is tens of millions of lines

    con = duckdb.connect()
    lit = str(path).replace("'", "''")
    cols = ", ".join(f"substr(line, {a}, {n}) AS {name}" for name, (a, n) in LAYOUT.items() if name != "population")
    df = con.execute(f"""SELECT {cols}, TRY_CAST(trim(substr(line, 19)) AS DOUBLE) AS population
                         FROM read_csv('{lit}', columns = {{'line': 'VARCHAR'}}, header = false, delim = '\\t',
                                       quote = '', escape = '')""").df()
    con.close()
    return df


def seer_population(path: Path, *, places: pd.DataFrame, states: list[str], problems: list[Problem]
                    ) -> tuple[pd.DataFrame | None, int, int]:
    """The workbook's population table from a SEER file: rows of the imported states and ages 0-17, places
    named as in ``places`` (``code``, ``jurisdiction``; other counties by code). Returns the table, and how many
    SEER records were used and not used (other states, ages 18 and over)."""
    raw = read_seer(path)
    bad = raw["population"].isna() | ~raw["age"].str.fullmatch(r"\d\d")
    if bad.any():
        problems.append(Problem("error", "population", "population_file", int(bad.sum()), "", MESSAGES[
            "population_file"].format(file=path.name, problem=f"has {int(bad.sum()):,} lines that are not SEER "
                                      "population records")))
        return None, 0, 0
    age = raw["age"].astype(int)
    if age.max() <= 18:
        problems.append(Problem("error", "population", "population_file", 0, "", MESSAGES["population_file"].format(
            file=path.name, problem="is a SEER file of 19 age groups; the workbook's age groups (0-4, 5-9, 10-14, "
            "15-17) need the file by single year of age")))
        return None, 0, 0
    keep = (age <= 17) & (raw["st"].isin(states) if states else True)
    df = raw[keep].copy()
    race = df["race"].map(SEER_RACES)
    df["race_ethnicity"] = race.where(df["origin"] != "1", "hispanic")
    df = df[df["race_ethnicity"].notna()]
    a = df["age"].astype(int)
    df["age_group"] = pd.cut(a, [-1, 4, 9, 14, 17], labels=["0-4", "5-9", "10-14", "15-17"]).astype(str)
    df["sex"] = df["sex"].map({"1": "male", "2": "female"})
    code = df["state_fips"] + df["county_fips"]
    names = dict(zip(places["code"], places["jurisdiction"]))
    df["jurisdiction"] = code.map(lambda c: names.get(c, c))
    df["year"] = df["year"].astype(int)
    out = (df.groupby(["jurisdiction", "year", "race_ethnicity", "age_group", "sex"], observed=True)["population"]
           .sum().round().astype("int64").reset_index())
    return out, len(df), int(len(raw) - len(df))
