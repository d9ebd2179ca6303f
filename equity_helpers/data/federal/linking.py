"""Children from both files, linked: an NCANDS child whose ``AFCARSID`` is an AFCARS child's ``RECNUMBR`` (in the
same state) is that child.

The rule where the files disagree, one for every attribute: **AFCARS decides** (the foster care case record,
reported every period for the child whose record number both files share); within NCANDS the latest report
decides, within AFCARS the latest record. How often the files disagreed is counted in the accounting.

Child ids are ``<state>-A-<RECNUMBR>`` for children in AFCARS (linked or not) and ``<state>-N-<CHID>`` for
children only in NCANDS. NCANDS has ages, not birth dates: an NCANDS-only child's birth date is the middle of
the span every age at their reports allows (each report: birth between the report date less age + 1 years,
plus a day, and the report date less age years); when the ages do not fit one birth date, the latest report's
span. A child with no age at any report and no AFCARS birth date cannot be placed in an age group and is
left out (``no_age``).
"""
from __future__ import annotations

import pandas as pd

from equity_helpers.data.federal.codes import NCANDS_RACE, RACE_FLAGS_OF

__all__ = ["link_children", "AFCARS_DECIDES"]

AFCARS_DECIDES = ("Where the files disagree, AFCARS decides (the foster care case record, reported every period "
                  "for the child whose record number both files share); within NCANDS the latest report decides, "
                  "within AFCARS the latest record.")
"""The one rule for conflicts between the files, in words (written into the accounting)."""

_ATTRS = ("sex", "hispanic", *RACE_FLAGS_OF)


def _afcars_children(rec: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per AFCARS child (its latest record), and how many children's records disagree."""
    cols = ["st", "recnumbr_code", "dob", *_ATTRS]
    if rec.empty:
        return pd.DataFrame(columns=cols), 0
    r = rec.sort_values(["st", "recnumbr_code", "period", "_file", "_row"])
    differs = int((r.groupby(["st", "recnumbr_code"])[["dob", *_ATTRS]].nunique(dropna=False) > 1).any(axis=1).sum())
    return r.groupby(["st", "recnumbr_code"], sort=False).tail(1)[cols].reset_index(drop=True), differs


def link_children(con, afcars_rec: pd.DataFrame, acc) -> None:
    """Build ``children`` and ``child_map`` (``st``, ``chid`` -> ``child_id``) in DuckDB from the NCANDS records
    kept (``ncands_rec``) and the AFCARS records kept; NCANDS records of children with no birth date are
    marked ``no_age``. Findings go to ``acc``."""
    a_child, a_differs = _afcars_children(afcars_rec)
    flag_cols = ", ".join(f"{f} INTEGER" for f in RACE_FLAGS_OF)
    con.execute("CREATE OR REPLACE TEMP TABLE a_child (st VARCHAR, recnumbr_code VARCHAR, dob DATE, sex VARCHAR, "
                f"hispanic VARCHAR, {flag_cols})")
    if len(a_child):
        con.register("a_child_frame", a_child.assign(dob=pd.to_datetime(a_child["dob"])))
        con.execute("INSERT INTO a_child BY NAME SELECT * FROM a_child_frame")
        con.unregister("a_child_frame")
    flags = ", ".join(f"arg_max({f.lower()}, k) AS {flag}" for f, flag in zip(NCANDS_RACE, RACE_FLAGS_OF))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE n_child AS
        WITH r AS (
            SELECT *, (CAST(date_diff('day', DATE '1900-01-01', rptdt) AS BIGINT) * 1000 + _file) * 10000000000
                      + _row AS k,
                   hash(sex, hispanic, chracai, chracas, chracbl, chracnh, chracwh, chracud) AS h,
                   CAST(rptdt - to_years(age + 1) + INTERVAL 1 DAY AS DATE) AS lo1,
                   CAST(rptdt - to_years(age) AS DATE) AS hi1
            FROM ncands_rec WHERE _why IS NULL)
        SELECT st, chid, arg_max(sex, k) AS sex, arg_max(hispanic, k) AS hispanic, {flags},
               arg_max(afcarsid, k) FILTER (WHERE afcarsid IS NOT NULL) AS afcarsid,
               min(afcarsid) <> max(afcarsid) AS several,
               max(lo1) AS lo, min(hi1) AS hi,
               arg_max(lo1, k) FILTER (WHERE age IS NOT NULL) AS last_lo,
               arg_max(hi1, k) FILTER (WHERE age IS NOT NULL) AS last_hi,
               min(h) <> max(h) AS differs
        FROM r GROUP BY st, chid""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE linked AS
        SELECT n.*, a.recnumbr_code, a.dob, a.sex AS a_sex, a.hispanic AS a_hispanic,
               a.race_aian AS a_aian, a.race_asian AS a_asian, a.race_black AS a_black, a.race_nhpi AS a_nhpi,
               a.race_white AS a_white, a.race_unknown AS a_unknown,
               CASE WHEN lo <= hi THEN lo + CAST((hi - lo) / 2 AS INTEGER)
                    ELSE last_lo + CAST((last_hi - last_lo) / 2 AS INTEGER) END AS est_birth
        FROM n_child n LEFT JOIN a_child a ON n.st = a.st AND n.afcarsid = a.recnumbr_code""")
    stats = con.execute("""
        SELECT count(*) FILTER (WHERE recnumbr_code IS NOT NULL),
               count(*) FILTER (WHERE recnumbr_code IS NULL),
               count(*) FILTER (WHERE afcarsid IS NOT NULL AND recnumbr_code IS NULL),
               count(*) FILTER (WHERE several),
               count(*) FILTER (WHERE recnumbr_code IS NOT NULL AND (hispanic <> a_hispanic OR race_aian <> a_aian
                   OR race_asian <> a_asian OR race_black <> a_black OR race_nhpi <> a_nhpi OR race_white <> a_white
                   OR race_unknown <> a_unknown)),
               count(*) FILTER (WHERE recnumbr_code IS NOT NULL AND sex <> a_sex),
               count(*) FILTER (WHERE recnumbr_code IS NOT NULL AND lo <= hi AND (dob < lo OR dob > hi)),
               count(*) FILTER (WHERE differs),
               count(*) FILTER (WHERE lo > hi),
               count(*) FILTER (WHERE recnumbr_code IS NULL AND lo IS NOT NULL)
        FROM linked""").fetchone()
    linked, n_only, not_found, several, d_race, d_sex, d_birth, n_differs, ages_differ, estimated = stats
    shared = con.execute("SELECT count(*) FROM (SELECT st, recnumbr_code FROM linked WHERE recnumbr_code IS NOT NULL "
                         "GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
    # NCANDS children with no birth date: left out, with their records
    con.execute("""UPDATE ncands_rec SET _why = 'no_age' FROM linked l
                   WHERE ncands_rec._why IS NULL AND ncands_rec.st = l.st AND ncands_rec.chid = l.chid
                     AND l.recnumbr_code IS NULL AND l.lo IS NULL""")
    no_age = con.execute("SELECT count(*) FROM linked WHERE recnumbr_code IS NULL AND lo IS NULL").fetchone()[0]
    con.execute("""
        CREATE OR REPLACE TABLE child_map AS
        SELECT st, chid, CASE WHEN recnumbr_code IS NOT NULL THEN st || '-A-' || recnumbr_code
                              ELSE st || '-N-' || chid END AS child_id
        FROM linked WHERE recnumbr_code IS NOT NULL OR lo IS NOT NULL""")
    unknown = "CASE WHEN {a} + {b} + {c} + {d} + {e} = 0 THEN 1 ELSE {u} END"
    con.execute(f"""
        CREATE OR REPLACE TABLE children AS
        SELECT st || '-N-' || chid AS child_id, est_birth AS birth_date, sex,
               race_aian, race_asian, race_black, race_nhpi, race_white,
               {unknown.format(a='race_aian', b='race_asian', c='race_black', d='race_nhpi', e='race_white',
                               u='race_unknown')} AS race_unknown, hispanic
        FROM linked WHERE recnumbr_code IS NULL AND lo IS NOT NULL
        UNION ALL
        SELECT st || '-A-' || recnumbr_code, dob, sex, race_aian, race_asian, race_black, race_nhpi, race_white,
               {unknown.format(a='race_aian', b='race_asian', c='race_black', d='race_nhpi', e='race_white',
                               u='race_unknown')}, hispanic
        FROM a_child""")
    a_only = con.execute("SELECT count(*) FROM a_child a WHERE NOT EXISTS (SELECT 1 FROM linked l "
                         "WHERE l.st = a.st AND l.recnumbr_code = a.recnumbr_code)").fetchone()[0]
    acc.add("linking", "children", "rule", 0, AFCARS_DECIDES)
    for reason, n in (("linked", linked), ("ncands_only", n_only - no_age), ("afcars_only", a_only),
                      ("afcarsid_not_found", not_found), ("several_afcarsids", several), ("afcarsid_shared", shared),
                      ("differs_race", d_race), ("differs_sex", d_sex), ("differs_birth", d_birth),
                      ("ncands_differs", n_differs), ("ages_differ", ages_differ), ("afcars_differs", a_differs),
                      ("birth_estimated", estimated)):
        acc.note("linking", "children", reason, n)
