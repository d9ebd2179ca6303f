"""The NCANDS Child File: one record per screened-in report and child, read in DuckDB.

Both spellings (the state submission's ``RPTCNTY`` as a 3-digit county within ``STATERR``; NDACAN's ``RptFIPS``
as 5 digits) become one table ``ncands_rec`` with typed fields and, for each record left out, its reason
(``_why``) and detail (``_what``). In order, a record is left out when it has no state, report id, child id or
county (``missing_value``); a code :mod:`~equity_helpers.data.federal.codes` does not know (``unknown_code``);
no readable report date (``unreadable_date``); a disposition date outside its submission year
(``outside_submission_year``); when it repeats the report and child of another record (``duplicate_record``: the
latest submission is kept); when its report was made before the first submission year
(``before_first_year``). Children with no age at any report and no AFCARS birth date are left out when the
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
    mapped = {f: case_sql(f"fed_code({f})", code_map("ncands", m)) for f, m in NCANDS_CODED.items()}
    code_checks = " ".join(f"WHEN {mapped[f]} IS NULL THEN '{f} ' || fed_q(coalesce({f}, ''))" for f in NCANDS_CODED)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ncands_typed AS
        SELECT _file, _row, upper(STATERR) AS st, RPTID AS rptid, CHID AS chid,
               {states} AS st_fips,
               CASE WHEN RPTFIPS IS NOT NULL THEN lpad(fed_code(RPTFIPS), 5, '0')
                    WHEN RPTCNTY IS NOT NULL THEN {states} || lpad(fed_code(RPTCNTY), 3, '0') END AS county,
               RPTFIPS IS NULL AND RPTCNTY IS NULL AS no_county,
               fed_date(RPTDT) AS rptdt, RPTDT AS rptdt_text,
               fed_date(RPTDISDT) AS disdt, RPTDISDT AS disdt_text,
               TRY_CAST(fed_code(SUBYR) AS INTEGER) AS subyr, SUBYR AS subyr_text,
               {mapped['RPTDISP']} AS disposition, {mapped['CHSEX']} AS sex, {mapped['CHETHN']} AS hispanic,
               {mapped['FCVIOL']} AS dv_involved,
               {', '.join(f"CAST({mapped[f]} AS INTEGER) AS {f.lower()}" for f in NCANDS_RACE)},
               CASE WHEN fed_code(CHAGE) IN ({unknown_age}, '') THEN NULL
                    ELSE TRY_CAST(fed_code(CHAGE) AS INTEGER) END AS age,
               fed_code(CHAGE) AS age_code, CHAGE AS age_text,
               NULLIF(fed_code(AFCARSID), '') AS afcarsid,
               CASE {code_checks}
                    WHEN STATERR IS NOT NULL AND {states} IS NULL THEN 'STATERR ' || fed_q(STATERR)
                    WHEN SUBYR IS NOT NULL AND TRY_CAST(fed_code(SUBYR) AS INTEGER) IS NULL
                        THEN 'SUBYR ' || fed_q(SUBYR)
                    WHEN CHAGE IS NOT NULL AND fed_code(CHAGE) NOT IN ({unknown_age}) AND
                         coalesce(TRY_CAST(fed_code(CHAGE) AS INTEGER) NOT BETWEEN 0 AND 30, true)
                        THEN 'CHAGE ' || fed_q(CHAGE)
               END AS _bad_code
        FROM {raw}""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ncands_checked AS
        SELECT *, CASE
            WHEN st IS NULL OR rptid IS NULL OR chid IS NULL OR no_county THEN 'missing_value'
            WHEN _bad_code IS NOT NULL THEN 'unknown_code'
            WHEN rptdt IS NULL OR (disdt IS NULL AND NOT fed_blank(disdt_text)) THEN 'unreadable_date'
            WHEN subyr IS NOT NULL AND disdt IS NOT NULL AND fed_fy(disdt) <> subyr THEN 'outside_submission_year'
          END AS _why0,
          CASE WHEN st IS NULL THEN 'STATERR' WHEN rptid IS NULL THEN 'RPTID' WHEN chid IS NULL THEN 'CHID'
               WHEN no_county THEN 'RPTCNTY / RptFIPS' END AS _missing
        FROM ncands_typed""")
    first = con.execute("SELECT coalesce(min(subyr), min(fed_fy(disdt))) FROM ncands_checked WHERE _why0 IS NULL"
                        ).fetchone()[0]
    first_sql = "NULL" if first is None else str(int(first))
    con.execute(f"""
        CREATE OR REPLACE TABLE ncands_rec AS
        WITH ranked AS (
            SELECT *, CASE WHEN _why0 IS NULL THEN row_number() OVER (
                PARTITION BY st, rptid, chid, _why0 IS NULL
                ORDER BY subyr DESC NULLS LAST, _file DESC, _row DESC) END AS _dup
            FROM ncands_checked)
        SELECT * EXCLUDE (_why0, _dup, _missing, _bad_code, no_county),
            coalesce(_why0, CASE WHEN _dup > 1 THEN 'duplicate_record'
                                 WHEN fed_fy(rptdt) < {first_sql} THEN 'before_first_year' END) AS _why,
            CASE _why0 WHEN 'missing_value' THEN _missing WHEN 'unknown_code' THEN _bad_code
                       WHEN 'unreadable_date' THEN CASE WHEN rptdt IS NULL THEN 'RPTDT ' || fed_q(coalesce(rptdt_text, ''))
                                                        ELSE 'RPTDISDT ' || fed_q(disdt_text) END
            END AS _what
        FROM ranked""")
    con.execute("DROP TABLE ncands_typed")
    con.execute("DROP TABLE ncands_checked")
    return None if first is None else int(first)
