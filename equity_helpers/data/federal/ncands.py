"""The NCANDS Child File: one record per screened-in report and child, read in DuckDB.

Both spellings (the state submission's ``RPTCNTY`` as a 3-digit county within ``STATERR``; NDACAN's ``RptFIPS``
as 5 digits) become one table ``ncands_rec`` with typed fields and, for each record left out, its reason
(``_why``) and detail (``_what``). In order, a record is left out when it has no state, report id, child id or
county (``missing_value``); a code :mod:`~equity_helpers.data.federal.codes` does not know (``unknown_code``);
no readable report date (``unreadable_date``); a disposition date outside its submission year
(``outside_submission_year``); when it repeats the report and child of another record (``duplicate_record``: the
latest submission is kept); when its report was made before the first submission year
(``before_first_year``). Two tables are written (the files' own, and ``ncands_rec``); the checks in between
are views. Children with no age at any report and no AFCARS birth date are left out when the
children are built (``no_age``, :mod:`~equity_helpers.data.federal.linking`).
"""
from __future__ import annotations

from equity_helpers.data.federal.codes import NCANDS_RACE, code_map, codes, state_fips
from equity_helpers.data.federal.files import case_sql

__all__ = ["prepare_ncands", "NCANDS_CODED"]

NCANDS_CODED = {"RPTDISP": "RPTDISP", "CHSEX": "CHSEX", "CHETHN": "CHETHN", "FCVIOL": "FCVIOL",
                **{f: "race" for f in NCANDS_RACE}}
"""Each coded NCANDS field and the map of ``codes.yml`` it is read with."""


def prepare_ncands(con, raw: str = "ncands_raw") -> int | None:
    """Type and check the NCANDS records of ``raw`` into ``ncands_rec``; returns the first fiscal year the
    files cover (the earliest submission year, else the earliest disposition year), or None."""
    states = case_sql("upper(STATERR)", {k: v for k, v in state_fips().items()})
    unknown_age = ", ".join(f"'{a}'" for a in codes()["ncands"]["CHAGE_unknown"])
    masked = ", ".join(f"'{m}'" for m in codes()["ncands"].get("masked_county") or []) or "NULL"
    mapped = {f: case_sql(f"k_{f}", code_map("ncands", m)) for f, m in NCANDS_CODED.items()}
    keys = ", ".join(f"fed_code({f}) AS k_{f}" for f in (*NCANDS_CODED, "CHAGE", "SUBYR", "RPTFIPS", "RPTCNTY"))
    code_checks = " ".join(f"WHEN {mapped[f]} IS NULL THEN '{f} ' || fed_q(coalesce({f}, ''))" for f in NCANDS_CODED)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW ncands_typed AS
        WITH k AS (SELECT *, {keys} FROM {raw})
        SELECT _file, _row, upper(STATERR) AS st, RPTID AS rptid, CHID AS chid,
               {states} AS st_fips,
               CASE WHEN k_RPTFIPS IN ({masked}) OR k_RPTCNTY IN ({masked}) THEN 'masked'
                    WHEN RPTFIPS IS NOT NULL THEN lpad(k_RPTFIPS, 5, '0')
                    WHEN RPTCNTY IS NOT NULL THEN {states} || lpad(k_RPTCNTY, 3, '0') END AS county,
               RPTFIPS IS NULL AND RPTCNTY IS NULL AS no_county,
               fed_date(RPTDT) AS rptdt, RPTDT AS rptdt_text,
               fed_date(RPTDISDT) AS disdt, RPTDISDT AS disdt_text,
               TRY_CAST(k_SUBYR AS INTEGER) AS subyr, SUBYR AS subyr_text,
               {mapped['RPTDISP']} AS disposition, {mapped['CHSEX']} AS sex, {mapped['CHETHN']} AS hispanic,
               {mapped['FCVIOL']} AS dv_involved,
               {', '.join(f"CAST({mapped[f]} AS INTEGER) AS {f.lower()}" for f in NCANDS_RACE)},
               CASE WHEN k_CHAGE IN ({unknown_age}, '') THEN NULL ELSE TRY_CAST(k_CHAGE AS INTEGER) END AS age,
               NULLIF(fed_code(AFCARSID), '') AS afcarsid,
               CASE {code_checks}
                    WHEN STATERR IS NOT NULL AND {states} IS NULL THEN 'STATERR ' || fed_q(STATERR)
                    WHEN SUBYR IS NOT NULL AND TRY_CAST(k_SUBYR AS INTEGER) IS NULL THEN 'SUBYR ' || fed_q(SUBYR)
                    WHEN CHAGE IS NOT NULL AND k_CHAGE NOT IN ({unknown_age}) AND
                         coalesce(TRY_CAST(k_CHAGE AS INTEGER) NOT BETWEEN 0 AND 30, true) THEN 'CHAGE ' || fed_q(CHAGE)
               END AS _bad_code
        FROM k""")
    con.execute("""
        CREATE OR REPLACE TABLE ncands_rec AS
        SELECT * EXCLUDE (_bad_code, no_county, rptdt_text, disdt_text, subyr_text, st_fips),
            CASE WHEN st IS NULL OR rptid IS NULL OR chid IS NULL OR no_county THEN 'missing_value'
                 WHEN _bad_code IS NOT NULL THEN 'unknown_code'
                 WHEN rptdt IS NULL OR (disdt IS NULL AND NOT fed_blank(disdt_text)) THEN 'unreadable_date'
                 WHEN subyr IS NOT NULL AND disdt IS NOT NULL AND fed_fy(disdt) <> subyr
                     THEN 'outside_submission_year'
            END AS _why,
            CASE WHEN st IS NULL THEN 'STATERR' WHEN rptid IS NULL THEN 'RPTID' WHEN chid IS NULL THEN 'CHID'
                 WHEN no_county THEN 'RPTCNTY / RptFIPS'
                 WHEN _bad_code IS NOT NULL THEN _bad_code
                 WHEN rptdt IS NULL THEN 'RPTDT ' || fed_q(coalesce(rptdt_text, ''))
                 WHEN disdt IS NULL AND NOT fed_blank(disdt_text) THEN 'RPTDISDT ' || fed_q(disdt_text)
            END AS _what
        FROM ncands_typed""")
    con.execute("DROP VIEW ncands_typed")
    first = con.execute("SELECT coalesce(min(subyr), min(fed_fy(disdt))) FROM ncands_rec WHERE _why IS NULL"
                        ).fetchone()[0]  # the files' first year, resubmissions included
    # a report and child given twice (a resubmission): the latest submission is kept. A hash aggregate finds
    # them; the ordering runs only over the few repeated
    con.execute("""
        UPDATE ncands_rec SET _why = 'duplicate_record' FROM (
            SELECT _file, _row FROM (
                SELECT _file, _row, row_number() OVER (PARTITION BY st, rptid, chid
                                                       ORDER BY subyr DESC NULLS LAST, _file DESC, _row DESC) AS n
                FROM ncands_rec WHERE _why IS NULL AND (st, rptid, chid) IN (
                    SELECT (st, rptid, chid) FROM ncands_rec WHERE _why IS NULL GROUP BY ALL HAVING count(*) > 1))
            WHERE n > 1) d
        WHERE ncands_rec._file = d._file AND ncands_rec._row = d._row""")
    if first is not None:
        con.execute(f"UPDATE ncands_rec SET _why = 'before_first_year' WHERE _why IS NULL AND fed_fy(rptdt) < {int(first)}")
    return None if first is None else int(first)
