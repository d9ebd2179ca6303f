"""The AFCARS Foster Care File: one record per child in care per report period, and episodes rebuilt from it.

:func:`prepare_afcars` types and checks the records in DuckDB (``afcars_rec``; reasons for leaving a record out
in ``_why``, as for NCANDS). :func:`rebuild_episodes` then builds foster care episodes across years:

* every distinct latest removal date (``LATREMDT``) of a child (``RECNUMBR``) is one episode; its county is the
  one of its first record, its discharge (``DODFCDT``, ``DISREASN``) and placement count (``NUMPLEP``) those of its
  latest record;
* an episode still open in one year whose child has a later removal ended between the two records: it ends on
  the later record's date of discharge from the last episode (``DLSTFCDT``), reason unknown; without one, the
  day before the later removal (counted: ``exit_bounded``);
* a removal hidden by a later one within the same year (the file keeps only the latest) is recovered when the
  later record says it was the child's second (``TOTALREM`` 2): it ran from the first removal (``REM1DT``) to
  ``DLSTFCDT``, exit reason unknown, in the later record's county. Hidden removals with no entry date in the
  files (a third removal, or one between two known episodes) are counted, not placed (``not_recovered``);
* ``prior_episodes`` is ``TOTALREM - 1``: AFCARS counts the child's removals before this one, the unplaced ones
  included.

What the file cannot say (the first placement setting; exit reasons of recovered removals) is written to the
accounting (:mod:`~equity_helpers.data.federal.accounting`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from equity_helpers.data.federal.codes import AFCARS_RACE, RACE_FLAGS_OF, code_map, codes, state_fips
from equity_helpers.data.federal.files import case_sql

__all__ = ["prepare_afcars", "rebuild_episodes", "AFCARS_CODED", "UNKNOWN_EXIT"]

AFCARS_CODED = {"SEX": "SEX", "HISORGIN": "HISORGIN", "DISREASN": "DISREASN", **{f: "race" for f in AFCARS_RACE}}
"""Each coded AFCARS field and the map of ``codes.yml`` it is read with."""
UNKNOWN_EXIT = "unknown"
"""The exit reason of an episode whose discharge the files do not describe."""


def prepare_afcars(con, raw: str = "afcars_raw", default_state: str | None = None) -> None:
    """Type and check the AFCARS records of ``raw`` into ``afcars_rec``. A file without a state field takes
    the state of its counties' codes, else ``default_state`` (the NCANDS files' one state)."""
    fips = state_fips()
    postal_of = {v: k for k, v in fips.items()}
    masked = ", ".join(f"'{m}'" for m in codes()["afcars"]["masked_county"])
    mapped = {f: case_sql(f"fed_code({f})", code_map("afcars", m)) for f, m in AFCARS_CODED.items()}
    code_checks = " ".join(f"WHEN {mapped[f]} IS NULL THEN '{f} ' || fed_q(coalesce({f}, ''))" for f in AFCARS_CODED)
    from_fips = case_sql("lpad(fed_code(ST), 2, '0')", postal_of)
    from_county = case_sql("substr(lpad(fed_code(FIPSCODE), 5, '0'), 1, 2)", postal_of)
    default = "NULL" if default_state is None else f"'{default_state}'"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE afcars_typed AS
        SELECT _file, _row, fed_code(RECNUMBR) AS recnumbr0, RECNUMBR AS recnumbr,
               CASE WHEN ST IS NULL THEN coalesce({from_county}, {default})
                    WHEN regexp_full_match(trim(ST), '[A-Za-z]{{2}}') THEN upper(trim(ST))
                    ELSE {from_fips} END AS st,
               TRY_CAST(fed_code(FY) AS INTEGER) AS fy, TRY_CAST(fed_code(REPDATMO) AS INTEGER) AS repdatmo,
               fed_date(DOB) AS dob, {mapped['SEX']} AS sex, {mapped['HISORGIN']} AS hispanic,
               {', '.join(f"CAST({mapped[f]} AS INTEGER) AS {flag}" for f, flag in zip(AFCARS_RACE, RACE_FLAGS_OF))},
               TRY_CAST(fed_code(TOTALREM) AS INTEGER) AS totalrem, TRY_CAST(fed_code(NUMPLEP) AS INTEGER) AS numplep,
               fed_date(REM1DT) AS rem1dt, fed_date(DLSTFCDT) AS dlstfcdt, fed_date(LATREMDT) AS latremdt,
               fed_date(DODFCDT) AS dodfcdt, {mapped['DISREASN']} AS exit_reason,
               CASE WHEN fed_code(FIPSCODE) IN ({masked}) THEN 'masked' ELSE lpad(fed_code(FIPSCODE), 5, '0') END
                   AS county,
               CASE {code_checks}
                    WHEN FY IS NOT NULL AND TRY_CAST(fed_code(FY) AS INTEGER) IS NULL THEN 'FY ' || fed_q(FY)
                    WHEN TOTALREM IS NOT NULL AND TRY_CAST(fed_code(TOTALREM) AS INTEGER) IS NULL
                        THEN 'TOTALREM ' || fed_q(TOTALREM)
                    WHEN NUMPLEP IS NOT NULL AND TRY_CAST(fed_code(NUMPLEP) AS INTEGER) IS NULL
                        THEN 'NUMPLEP ' || fed_q(NUMPLEP)
                    WHEN REPDATMO IS NOT NULL AND fed_code(REPDATMO) NOT IN ('3', '9') THEN 'REPDATMO ' || fed_q(REPDATMO)
               END AS _bad_code,
               CASE WHEN DOB IS NOT NULL AND fed_date(DOB) IS NULL AND NOT fed_blank(DOB) THEN 'DOB ' || fed_q(DOB)
                    WHEN LATREMDT IS NOT NULL AND fed_date(LATREMDT) IS NULL THEN 'LATREMDT ' || fed_q(LATREMDT)
                    WHEN DODFCDT IS NOT NULL AND fed_date(DODFCDT) IS NULL AND NOT fed_blank(DODFCDT)
                        THEN 'DODFCDT ' || fed_q(DODFCDT)
                    WHEN REM1DT IS NOT NULL AND fed_date(REM1DT) IS NULL AND NOT fed_blank(REM1DT)
                        THEN 'REM1DT ' || fed_q(REM1DT)
                    WHEN DLSTFCDT IS NOT NULL AND fed_date(DLSTFCDT) IS NULL AND NOT fed_blank(DLSTFCDT)
                        THEN 'DLSTFCDT ' || fed_q(DLSTFCDT)
               END AS _bad_date,
               CASE WHEN RECNUMBR IS NULL THEN 'RECNUMBR' WHEN FY IS NULL THEN 'FY' WHEN fed_blank(DOB) THEN 'DOB'
                    WHEN fed_blank(LATREMDT) THEN 'LATREMDT' WHEN FIPSCODE IS NULL THEN 'FIPSCODE' END AS _missing,
               ST AS st_text
        FROM {raw}""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE afcars_checked AS
        SELECT *,
            CASE WHEN repdatmo = 3 THEN make_date(fy - 1, 10, 1) WHEN repdatmo = 9 THEN make_date(fy, 4, 1)
                 ELSE make_date(fy - 1, 10, 1) END AS period_start,
            CASE WHEN repdatmo = 3 THEN make_date(fy, 3, 31) ELSE make_date(fy, 9, 30) END AS period_end,
            fy * 100 + coalesce(repdatmo, 9) AS period
        FROM afcars_typed""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE afcars_checked2 AS
        SELECT *, CASE
            WHEN _missing IS NOT NULL THEN 'missing_value'
            WHEN _bad_code IS NOT NULL OR st IS NULL THEN 'unknown_code'
            WHEN _bad_date IS NOT NULL THEN 'unreadable_date'
            WHEN (dodfcdt IS NOT NULL) <> (exit_reason <> 'open') THEN 'exit_without_reason'
            WHEN latremdt > period_end OR dodfcdt > period_end OR dodfcdt < period_start THEN 'date_outside_period'
            WHEN dodfcdt < latremdt THEN 'exit_before_entry'
          END AS _why0
        FROM afcars_checked""")
    con.execute("""
        CREATE OR REPLACE TABLE afcars_rec AS
        WITH ranked AS (
            SELECT *, CASE WHEN _why0 IS NULL THEN row_number() OVER (
                PARTITION BY st, recnumbr0, period, _why0 IS NULL ORDER BY _file, _row) END AS _dup
            FROM afcars_checked2)
        SELECT * EXCLUDE (_dup, _why0, _bad_code, _bad_date, _missing, recnumbr0, st_text),
            recnumbr0 AS recnumbr_code,
            coalesce(_why0, CASE WHEN _dup > 1 THEN 'duplicate_recnumbr' END) AS _why,
            CASE _why0 WHEN 'missing_value' THEN _missing
                       WHEN 'unknown_code' THEN coalesce(_bad_code, 'ST ' || fed_q(coalesce(st_text, '')))
                       WHEN 'unreadable_date' THEN _bad_date END AS _what
        FROM ranked""")
    for t in ("afcars_typed", "afcars_checked", "afcars_checked2"):
        con.execute(f"DROP TABLE {t}")


def rebuild_episodes(rec: pd.DataFrame, *, coverage_start: pd.Timestamp | None = None
                     ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Episodes from the AFCARS records kept (columns of ``afcars_rec``; see the module docstring).

    Returns
    -------
    episodes : ``st``, ``recnumbr``, ``county``, ``entry_date``, ``exit_date``, ``exit_reason`` (empty while in
        care; :data:`UNKNOWN_EXIT` when the files do not say), ``placement_count``, ``prior_episodes``.
    counts : ``episodes``, ``recovered``, ``closed_by_later``, ``exit_bounded``, ``not_recovered``, ``reopened``.
    """
    cols = ["st", "recnumbr", "county", "entry_date", "exit_date", "exit_reason", "placement_count", "prior_episodes"]
    counts = dict.fromkeys(("episodes", "recovered", "closed_by_later", "exit_bounded", "not_recovered",
                            "reopened"), 0)
    if rec.empty:
        return pd.DataFrame(columns=cols), counts
    r = rec.sort_values(["st", "recnumbr_code", "latremdt", "period", "_file", "_row"]).copy()
    for c in ("latremdt", "dodfcdt", "dlstfcdt", "rem1dt"):
        r[c] = pd.to_datetime(r[c])
    key = ["st", "recnumbr_code", "latremdt"]
    r["_last"] = ~r.duplicated(key, keep="last")
    r["_exit_before_last"] = r["dodfcdt"].notna() & ~r["_last"]
    g = r.groupby(key, sort=False)
    last = g.tail(1).set_index(["st", "recnumbr_code", "latremdt"])
    first = g.head(1).set_index(["st", "recnumbr_code", "latremdt"])
    ep = pd.DataFrame({
        "recnumbr": first["recnumbr"], "county": first["county"],
        "exit_date": last["dodfcdt"], "exit_reason": last["exit_reason"].where(last["exit_reason"] != "open"),
        "totalrem": last["totalrem"], "dlstfcdt": last["dlstfcdt"], "rem1dt": last["rem1dt"],
        "placement_count": g["numplep"].max(),
    }).reset_index().rename(columns={"latremdt": "entry_date"})
    had_exit = g["_exit_before_last"].any().to_numpy()
    counts["reopened"] = int((had_exit & ep["exit_date"].isna().to_numpy()).sum())
    ep = ep.sort_values(["st", "recnumbr_code", "entry_date"]).reset_index(drop=True)
    counts["episodes"] = len(ep)
    child = ep.groupby(["st", "recnumbr_code"], sort=False)
    nxt_entry = child["entry_date"].shift(-1)
    nxt_dlst = child["dlstfcdt"].shift(-1)
    nxt_total = child["totalrem"].shift(-1)
    has_next = nxt_entry.notna()
    # an episode open in its last record, followed by another removal, ended in between
    open_ = ep["exit_date"].isna() & has_next
    by_dlst = open_ & nxt_dlst.notna() & (nxt_dlst >= ep["entry_date"]) & (nxt_dlst <= nxt_entry)
    bounded = open_ & ~by_dlst
    ep.loc[by_dlst, "exit_date"] = nxt_dlst[by_dlst]
    ep.loc[bounded, "exit_date"] = nxt_entry[bounded] - pd.Timedelta(days=1)
    ep.loc[open_, "exit_reason"] = UNKNOWN_EXIT
    counts["closed_by_later"] = int(by_dlst.sum())
    counts["exit_bounded"] = int(bounded.sum())
    # removals between two known episodes: counted by TOTALREM, no entry date to place them
    between = (nxt_total - ep["totalrem"] - 1).where(has_next & ep["totalrem"].notna(), 0).clip(lower=0)
    counts["not_recovered"] += int(between.fillna(0).sum())
    # a removal hidden before a child's first known episode: recovered when it was the child's first and
    # ended within the years the files cover
    is_first = ~ep.duplicated(["st", "recnumbr_code"], keep="first")
    earlier = (ep["totalrem"] - 1).where(is_first & ep["totalrem"].notna(), 0).clip(lower=0).fillna(0)
    start = coverage_start if coverage_start is not None else pd.Timestamp.min
    recover = (is_first & (ep["totalrem"] == 2) & ep["rem1dt"].notna() & ep["dlstfcdt"].notna()
               & (ep["rem1dt"] <= ep["dlstfcdt"]) & (ep["dlstfcdt"] <= ep["entry_date"])
               & (ep["rem1dt"] < ep["entry_date"]) & (ep["dlstfcdt"] >= start))
    counts["recovered"] = int(recover.sum())
    counts["not_recovered"] += int(earlier.sum()) - counts["recovered"]
    hidden = pd.DataFrame({
        "st": ep.loc[recover, "st"], "recnumbr_code": ep.loc[recover, "recnumbr_code"],
        "recnumbr": ep.loc[recover, "recnumbr"], "county": ep.loc[recover, "county"],
        "entry_date": ep.loc[recover, "rem1dt"], "exit_date": ep.loc[recover, "dlstfcdt"],
        "exit_reason": UNKNOWN_EXIT, "totalrem": 1, "placement_count": np.nan})
    ep = pd.concat([ep, hidden], ignore_index=True).sort_values(["st", "recnumbr_code", "entry_date"])
    order = ep.groupby(["st", "recnumbr_code"]).cumcount()
    ep["prior_episodes"] = (ep["totalrem"] - 1).where(ep["totalrem"].notna() & (ep["totalrem"] >= 1), order)
    ep["prior_episodes"] = ep["prior_episodes"].astype("int64")
    ep["placement_count"] = ep["placement_count"].where(ep["placement_count"] >= 1, 1).fillna(1).astype("int64")
    return ep.reset_index(drop=True)[cols + ["recnumbr_code"]], counts
