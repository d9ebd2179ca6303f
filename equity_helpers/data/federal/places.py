"""Places of the federal files: 5-digit state and county FIPS codes named through a counties file.

``--counties`` is a CSV with the columns ``fips`` (5 digits: state and county; a 3-digit NCANDS ``RPTCNTY`` is
joined to its state's FIPS code through ``STATERR``) and ``jurisdiction`` (the place's name in the workbook).
Without it, or for a code it does not list, a place is named by its code. NDACAN's masked county (AFCARS
``FIPSCODE`` 8: counties with fewer than 700 cases) is one place named for what it is
(:func:`~equity_helpers.data.federal.codes.masked_place`).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from equity_helpers.data.federal.accounting import MESSAGES
from equity_helpers.data.federal.codes import masked_place
from equity_helpers.errors import Problem

__all__ = ["read_counties", "name_places"]


def read_counties(path, problems: list[Problem]) -> pd.DataFrame:
    """The counties file as ``code`` (5 digits) and ``jurisdiction``; its problems go to ``problems``."""
    empty = pd.DataFrame(columns=["code", "jurisdiction"])
    if path is None:
        return empty
    p = Path(path)

    def bad(problem: str) -> pd.DataFrame:
        problems.append(Problem("error", "counties", "counties_file", 0, "",
                                MESSAGES["counties_file"].format(file=p.name, problem=problem)))
        return empty

    if not p.is_file():
        return bad("does not exist")
    try:
        f = pd.read_csv(p, dtype=str, keep_default_na=False)
    except Exception as exc:  # reported with the other problems
        return bad(f"could not be read ({' '.join(str(exc).split())[:150]})")
    f.columns = [str(c).strip().lstrip("\ufeff").lower() for c in f.columns]
    if not {"fips", "jurisdiction"} <= set(f.columns):
        return bad(f"needs the columns fips and jurisdiction (it has {', '.join(f.columns)})")
    code = f["fips"].str.strip()
    wrong = ~code.str.fullmatch(r"\d{4,5}")
    if wrong.any():
        return bad(f"has {int(wrong.sum()):,} fips codes that are not 5-digit state and county codes "
                   f"(e.g. {code[wrong].iloc[0]!r}, row {int(wrong.to_numpy().argmax()) + 2})")
    out = pd.DataFrame({"code": code.str.zfill(5), "jurisdiction": f["jurisdiction"].str.strip()})
    dup = out["code"].duplicated(keep=False)
    if dup.any():
        return bad(f"names {int(dup.sum()):,} rows with a fips code another row has (e.g. {out['code'][dup].iloc[0]})")
    if (out["jurisdiction"] == "").any():
        return bad("has rows with no jurisdiction name")
    return out


def name_places(con, counties: pd.DataFrame, codes_used: list[str]) -> tuple[pd.DataFrame, int]:
    """The DuckDB table ``places`` (``code``, ``jurisdiction``) for every county code the data use; returns it
    and how many codes the counties file did not name (when one was given)."""
    given = dict(zip(counties["code"], counties["jurisdiction"]))
    rows = []
    unnamed = 0
    for c in sorted(set(codes_used)):
        if c == "masked":
            rows.append((c, masked_place()))
        elif c in given:
            rows.append((c, given[c]))
        else:
            unnamed += bool(given)
            rows.append((c, c))
    places = pd.DataFrame(rows, columns=["code", "jurisdiction"])
    con.execute("CREATE OR REPLACE TABLE places (code VARCHAR, jurisdiction VARCHAR)")
    if len(places):
        con.register("places_frame", places)
        con.execute("INSERT INTO places SELECT * FROM places_frame")
        con.unregister("places_frame")
    return places, unnamed
