"""The state-scale data layer: read, validate and count in an embedded DuckDB database.

The child-level tables (children, reports, episodes) are read straight from their files into DuckDB
(CSV of any separator, Parquet; Excel and the mapping's SQL source through pandas), validated by SQL
that applies the same rules, in the same order and with the same plain-language messages and row
accounting as :func:`equity_helpers.validate.validate`, and counted by SQL
(:meth:`Extract.count_events`, the same rules as :func:`equity_helpers.stages.stage_counts`). pandas
only sees aggregates: the stage counts, the population and aggregate counts tables, the data-quality
table. The records reach pandas only if a caller asks for ``extract.children`` (the time-in-care
curves do), and then once.

Memory and spilling
-------------------
DuckDB works out of core: past its memory limit it spills to a temporary folder. Both are options of
:func:`connect` and of the environment:

``EQUITY_WORKBOOK_MEMORY``   DuckDB's memory limit, e.g. ``4GB`` (default: DuckDB's, 80% of RAM)
``EQUITY_WORKBOOK_TEMP``     the spill folder (default: DuckDB's, beside the database or in the
                             system temp folder)
``EQUITY_WORKBOOK_THREADS``  worker threads (default: every core)
``EQUITY_WORKBOOK_ENGINE``   ``duckdb`` (the default) or ``pandas`` for :func:`equity_helpers.validate.load`

The validated extract can be stored once (:func:`store` / :func:`open_store`, a DuckDB file in a
folder the user names, never in the reports) so later notebooks open it in a fraction of a second.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataValidationError, ParameterError, Problem
from .schema import (
    AGE_GROUPS,
    FAMILY_EXITS,
    PERMANENT_EXITS,
    RACE_FLAGS,
    SUBSTANTIATED_DISPOSITIONS,
    TABLES,
    RaceScheme,
)
from .validate import (
    _FALSE,
    _MAY_BE_EMPTY,
    _TRUE,
    MESSAGES,
    ValidatedData,
    _Checker,
    _check_population_cells,
    _parse_dates,
    _validate_counts,
    _validate_population,
)

__all__ = ["connect", "Extract", "validate_sql", "validate_frames", "load_extract", "ENGINES", "default_engine"]

ENGINES = ("duckdb", "pandas")
CHILD_TABLES = ("children", "reports", "episodes")
_STATE = "Statewide"  # stages.STATE (stages imports this module's users; kept literal to avoid a cycle)


def default_engine() -> str:
    """``$EQUITY_WORKBOOK_ENGINE`` (``duckdb`` or ``pandas``), ``duckdb`` when unset."""
    e = os.environ.get("EQUITY_WORKBOOK_ENGINE", "duckdb").strip().lower() or "duckdb"
    if e not in ENGINES:
        raise ParameterError(f"EQUITY_WORKBOOK_ENGINE must be one of {', '.join(ENGINES)}, not {e!r}.")
    return e


def connect(database: str | Path = ":memory:", *, memory_limit: str | None = None,
            temp_directory: str | Path | None = None, threads: int | None = None):
    """A DuckDB connection set up for the workbook (memory limit, spill folder, threads).

    Unset arguments come from ``EQUITY_WORKBOOK_MEMORY``, ``EQUITY_WORKBOOK_TEMP`` and
    ``EQUITY_WORKBOOK_THREADS``; unset there too, DuckDB's defaults apply.
    """
    import duckdb

    con = duckdb.connect(str(database))
    memory_limit = memory_limit or os.environ.get("EQUITY_WORKBOOK_MEMORY")
    temp_directory = temp_directory or os.environ.get("EQUITY_WORKBOOK_TEMP")
    threads = threads or (int(os.environ["EQUITY_WORKBOOK_THREADS"]) if os.environ.get("EQUITY_WORKBOOK_THREADS")
                          else None)
    if memory_limit:
        con.execute(f"SET memory_limit = '{_lit(str(memory_limit))}'")
    if temp_directory:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{_lit(str(temp_directory))}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = true")
    return con


# --------------------------------------------------------------------------- SQL text helpers
def _lit(v: str) -> str:
    return str(v).replace("'", "''")


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _in(values) -> str:
    return "(" + ", ".join(f"'{_lit(v)}'" for v in values) + ")"


# --------------------------------------------------------------------------- reading
def _read_into(con, name: str, mapping) -> str | None:
    """Read one source table into ``src_<name>`` (text columns, canonical names, mapped codes, ``_row``).

    CSV and Parquet files are read by DuckDB itself; Excel files and SQL queries through
    :func:`equity_helpers.sources.read_table`. Returns the note to show when a CSV file was read with
    another separator than commas (as :func:`~equity_helpers.sources.read_file` does).
    """
    from .sources import SEPARATORS, _sniff_separator, read_table

    spec = mapping.tables[name]
    path = None if "query" in spec else Path(mapping.base_dir) / spec["path"]
    low = "" if path is None else path.name.lower()
    encoding = str(spec.get("encoding", "utf-8-sig")).lower().replace("_", "-")
    note = None
    if path is not None and low.endswith((".csv", ".csv.gz", ".txt")) and encoding in ("utf-8", "utf-8-sig", "utf8"):
        sep = spec.get("sep") or _sniff_separator(path, "utf-8-sig")
        if not _has_header(path):
            raise ValueError("No columns to parse from file")  # pandas' words for the same file
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_{name} AS SELECT * FROM read_csv('{_lit(path)}', "
                    f"delim='{_lit(sep)}', header=true, all_varchar=true, quote='\"', escape='\"')")
        if "sep" not in spec and sep != ",":
            note = (f"{path.name} is separated by {SEPARATORS[sep]}, not commas; it was read "
                    f"that way (set sep in mapping.yml to say so explicitly).")
    elif path is not None and low.endswith(".parquet"):
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_{name} AS SELECT * FROM read_parquet('{_lit(path)}')")
    else:
        df = read_table(name, mapping)
        _register_frame(con, name, df.drop(columns="_row"))
        return df.attrs.get("read_note")
    cols = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE raw_{name})").fetchall()
    rename = {src: canon for canon, src in (spec.get("columns") or {}).items()}
    codes = {c: {str(k): str(v) for k, v in m.items()} for c, m in (spec.get("codes") or {}).items()}
    exprs = ["CAST(rowid + 1 AS BIGINT) AS _row"]
    for col, typ in cols:
        canon = rename.get(col, str(col).lstrip("\ufeff").strip())
        e = _as_text(_q(col), typ)
        if canon in codes and codes[canon]:
            cases = " ".join(f"WHEN '{_lit(k)}' THEN '{_lit(v)}'" for k, v in codes[canon].items())
            e = f"(CASE {e} {cases} ELSE {e} END)"
        exprs.append(f"{e} AS {_q(canon)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE src_{name} AS SELECT {', '.join(exprs)} FROM raw_{name}")
    con.execute(f"DROP TABLE raw_{name}")
    return note


def _has_header(path: Path) -> bool:
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as fh:
        return bool(fh.readline().strip())


def _as_text(col: str, typ: str) -> str:
    """A column as text the way pandas prints it (dates without a midnight time, whole numbers plain)."""
    t = typ.upper()
    if t == "VARCHAR":
        return col
    if t.startswith("TIMESTAMP"):
        return (f"(CASE WHEN CAST({col} AS TIME) = TIME '00:00:00' THEN strftime({col}, '%Y-%m-%d') "
                f"ELSE CAST({col} AS VARCHAR) END)")
    if t == "BOOLEAN":
        return f"(CASE WHEN {col} THEN 'True' WHEN NOT {col} THEN 'False' END)"
    return f"CAST({col} AS VARCHAR)"


def _register_frame(con, name: str, df: pd.DataFrame) -> None:
    """A pandas table (Excel, a SQL source, or a caller's raw frame) as ``src_<name>`` with text columns."""
    frame = df.copy()
    for c in frame.columns:
        if frame[c].dtype != object:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
        frame[c] = frame[c].map(lambda v: None if v is None or (isinstance(v, float) and v != v)
                                else (v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) and v == v.normalize()
                                      else str(v)))
    frame.columns = [str(c) for c in frame.columns]
    frame.insert(0, "_row", np.arange(1, len(frame) + 1, dtype="int64"))
    for c in frame.columns[1:]:
        frame[c] = frame[c].astype(object)
    con.register(f"frame_{name}", frame)
    casts = ", ".join(f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" for c in frame.columns[1:])
    con.execute(f"CREATE OR REPLACE TEMP TABLE src_{name} AS SELECT _row{', ' if casts else ''}{casts} "
                f"FROM frame_{name}")
    con.unregister(f"frame_{name}")


# --------------------------------------------------------------------------- checking
class _SqlChecker:
    """The SQL twin of :class:`equity_helpers.validate._Checker` for one table ``w_<name>``.

    ``error`` records a problem for the rows matching a condition; ``exclude`` marks the rows that
    match and are not excluded yet with a reason (the first reason wins, as in pandas), so the
    exclusions are an ordered list of (reason, condition) and a row's reason is the first that holds.
    """

    def __init__(self, con, table: str, problems: list[Problem]):
        self.con = con
        self.table = table
        self.rel = f"w_{table}"
        self.problems = problems
        self.rules: list[tuple[str, str]] = []
        self.n = con.execute(f"SELECT count(*) FROM {self.rel}").fetchone()[0]
        self.columns = [r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE {self.rel})").fetchall()]

    def __contains__(self, col: str) -> bool:
        return col in self.columns

    @property
    def kept(self) -> str:
        """SQL: the row is not excluded (yet)."""
        return " AND ".join(f"NOT coalesce({c}, false)" for _, c in self.rules) or "true"

    def reason(self) -> str:
        """SQL: the row's exclusion reason, NULL when it is used."""
        if not self.rules:
            return "CAST(NULL AS VARCHAR)"
        return "CASE " + " ".join(f"WHEN coalesce({c}, false) THEN '{r}'" for r, c in self.rules) + " END"

    def _found(self, cond: str) -> tuple[int, str]:
        n = self.con.execute(f"SELECT count(*) FROM {self.rel} WHERE coalesce({cond}, false)").fetchone()[0]
        if not n:
            return 0, ""
        rows = self.con.execute(f"SELECT _row FROM {self.rel} WHERE coalesce({cond}, false) "
                                "ORDER BY _row LIMIT 5").fetchall()
        return int(n), ", ".join(str(r[0]) for r in rows)

    def error(self, check: str, cond: str, **kw) -> None:
        n, ex = self._found(cond)
        if n:
            self.problems.append(Problem("error", self.table, check, n, ex,
                                         MESSAGES[check].format(n=n, table=self.table, **kw)))

    def exclude(self, check: str, cond: str, **kw) -> None:
        cond = f"(coalesce({cond}, false) AND {self.kept})"
        n, ex = self._found(cond)
        if n:
            self.rules.append((check, cond))
            self.problems.append(Problem("warning", self.table, check, n, ex,
                                         MESSAGES[check].format(n=n, table=self.table, **kw)))

    def accounting(self) -> list[tuple[str, str, str, int]]:
        rows = [(self.table, "read", "", int(self.n))]
        used = self.n
        if self.rules:
            # the order pandas' value_counts gives: most rows first, ties in order of first appearance
            found = self.con.execute(
                f"SELECT r, count(*) FROM (SELECT {self.reason()} AS r, _row FROM {self.rel}) WHERE r IS NOT NULL "
                "GROUP BY r ORDER BY count(*) DESC, min(_row)").fetchall()
            for r, n in found:
                rows.append((self.table, "excluded", r, int(n)))
                used -= n
        rows.append((self.table, "used", "", int(used)))
        return rows

    def codes(self, col: str, cond: str) -> str:
        """The most frequent values of ``col`` where ``cond`` holds (up to eight), as pandas lists them."""
        vals = self.con.execute(
            f"SELECT {_q(col)} FROM {self.rel} WHERE coalesce({cond}, false) GROUP BY 1 "
            "ORDER BY count(*) DESC, min(_row) LIMIT 8").fetchall()
        return ", ".join(repr(v[0]) for v in vals)


def _date_sql(con, rel: str, col: str) -> str:
    """SQL parsing ``col`` of ``rel`` as pandas does (:func:`equity_helpers.validate._parse_dates`).

    ISO dates (``YYYY-MM-DD``) are parsed by DuckDB; every other distinct text is parsed once by
    pandas (ISO 8601, then any format it recognises) and joined back through a lookup table.
    """
    c = _q(col)
    iso = (f"(CASE WHEN length({c}) = 10 AND year(try_strptime({c}, '%Y-%m-%d')) BETWEEN 1678 AND 2261 "
           f"THEN try_strptime({c}, '%Y-%m-%d') END)")
    other = [r[0] for r in con.execute(
        f"SELECT DISTINCT {c} FROM {rel} WHERE {c} IS NOT NULL AND {iso} IS NULL").fetchall()]
    if not other:
        return iso
    parsed = _parse_dates(pd.Series(other, dtype=object))
    lut = pd.DataFrame({"v": other, "d": parsed.astype("datetime64[us]")})
    name = f"lut_{rel}_{col}"
    con.register(f"{name}_frame", lut)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT v, CAST(d AS TIMESTAMP) AS d FROM {name}_frame")
    con.unregister(f"{name}_frame")
    return f"coalesce({iso}, (SELECT d FROM {name} WHERE v = {c}))"


def _prepare(con, name: str) -> None:
    """``w_<name>``: the source with blanks as missing (as :func:`validate.validate` reads them)."""
    cols = [r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE src_{name})").fetchall()]
    exprs = ["_row"] + [f"nullif(nullif({_q(c)}, ''), ' ') AS {_q(c)}" for c in cols if c != "_row"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE w_{name} AS SELECT {', '.join(exprs)} FROM src_{name}")
    con.execute(f"DROP TABLE src_{name}")


def _add_columns(con, rel: str, exprs: dict[str, str]) -> None:
    """Rewrite ``rel`` with ``exprs`` (name: SQL) replacing or adding columns, in one pass."""
    if not exprs:
        return
    cols = [r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE {rel})").fetchall()]
    sel = [f"{exprs[c]} AS {_q(c)}" if c in exprs else _q(c) for c in cols]
    sel += [f"{e} AS {_q(c)}" for c, e in exprs.items() if c not in cols]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {rel}_next AS SELECT {', '.join(sel)} FROM {rel}")
    con.execute(f"DROP TABLE {rel}")
    con.execute(f"ALTER TABLE {rel}_next RENAME TO {rel}")


_LOW = "lower(trim({c}, ' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12)))"


def _check_codes(ck: _SqlChecker, typed: dict[str, str]) -> None:
    """Keys, codes and flags, as :func:`equity_helpers.validate._check_codes` (flags become 0/1)."""
    spec = TABLES[ck.table]
    if spec.key:
        k = _q(spec.key)
        ck.error("duplicate_id", f"{k} IN (SELECT {k} FROM {ck.rel} WHERE {k} IS NOT NULL GROUP BY 1 "
                                 "HAVING count(*) > 1)", column=spec.key)
        ck.error("missing_value", f"{k} IS NULL", column=spec.key)
    for col, allowed in spec.codes.items():
        c = _q(col)
        bad = f"({c} IS NOT NULL AND {c} NOT IN {_in(allowed)})"
        n, _ = ck._found(bad)
        if n:
            ck.error("unknown_code", bad, column=col, codes=ck.codes(col, bad), allowed=", ".join(allowed))
        if col not in _MAY_BE_EMPTY:
            ck.error("missing_value", f"{c} IS NULL", column=col)
    for col in spec.flags:
        if col in ck:
            low = _LOW.format(c=_q(col))
            bad = f"({_q(col)} IS NOT NULL AND {low} NOT IN {_in(sorted(_TRUE | _FALSE))})"
            n, _ = ck._found(bad)
            if n:
                ck.error("unknown_code", bad, column=col, codes=ck.codes(col, bad),
                         allowed="1/0, yes/no, true/false")
            typed[col] = f"CAST(CASE WHEN {low} IN {_in(sorted(_TRUE))} THEN 1 ELSE 0 END AS BIGINT)"


def _fy(col: str, calendar: bool) -> str:
    return f"year({col})" if calendar else f"(year({col}) + CASE WHEN month({col}) >= 10 THEN 1 ELSE 0 END)"


def validate_sql(con, tables: Sequence[str], *, pandas_tables: dict[str, pd.DataFrame] | None = None,
                 notes: dict[str, str | None] | None = None, first_year: int | None = None,
                 last_year: int | None = None, calendar: bool = False,
                 extract_date: str | pd.Timestamp | None = None) -> "Extract":
    """Validate the tables read into ``con`` (``src_<name>``) by the rules of
    :func:`equity_helpers.validate.validate`, in SQL for the child-level tables.

    Returns an :class:`Extract` whose clean tables stay in DuckDB, or raises one
    :class:`DataValidationError` with every problem (the same problems, in the same order, as the
    pandas validation of the same tables).
    """
    problems: list[Problem] = []
    notes = notes or {}
    pandas_tables = pandas_tables or {}
    sql: dict[str, _SqlChecker] = {}
    pdc: dict[str, _Checker] = {}
    usable: dict[str, bool] = {}
    present = set(tables) | set(pandas_tables)
    for name in TABLES:
        if name not in present:
            continue
        if name in tables:
            _prepare(con, name)
            ck: Any = _SqlChecker(con, name, problems)
            sql[name] = ck
            n, cols = ck.n, ck.columns
        else:
            df = pandas_tables[name].copy()
            if "_row" not in df:
                df.insert(0, "_row", range(1, len(df) + 1))
            df = df.astype(object).where(df.notna(), None)
            for col in df.columns:
                if col != "_row":
                    df[col] = df[col].mask(df[col].isin(["", " "]), None)
            ck = _Checker(name, df, problems)
            pdc[name] = ck
            n, cols = len(df), list(df.columns)
        ok = True
        for col in TABLES[name].required:
            if col not in cols:
                problems.append(Problem("error", name, "missing_column", n, "",
                                        MESSAGES["missing_column"].format(table=name, column=col)))
                ok = False
        usable[name] = ok
        if notes.get(name):
            problems.append(Problem("warning", name, "read_as", 0, "", notes[name]))
        if n == 0:
            problems.append(Problem("error", name, "empty_table", 0, "", MESSAGES["empty_table"].format(table=name)))
            usable[name] = False
    if not any(k in present for k in ("children", "counts")):
        problems.append(Problem("error", "sources", "no_records", 0, "",
                                "Neither child-level tables (children, reports, episodes) nor an "
                                "aggregate counts table was supplied."))

    def ok(name: str) -> bool:
        return name in sql and usable[name]

    typed: dict[str, dict[str, str]] = {name: {} for name in sql}
    for name, ck in sql.items():
        if not usable[name]:
            continue
        _check_codes(ck, typed[name])
        for col in TABLES[name].dates:
            typed[name][col] = _date_sql(con, ck.rel, col)
        # the typed columns, so later rules compare dates and flags, not text
        _add_columns(con, ck.rel, {f"{c}__t": e for c, e in typed[name].items()})
        for col in TABLES[name].dates:
            if col != "exit_date":
                ck.exclude("unreadable_date", f'"{col}__t" IS NULL', column=col)
            else:
                ck.exclude("unreadable_date", f'"{col}__t" IS NULL AND {_q(col)} IS NOT NULL', column=col)

    def t(name: str, col: str) -> str:
        return f'"{col}__t"' if col in typed.get(name, {}) else _q(col)

    limit = pd.Timestamp(extract_date) if extract_date is not None else pd.Timestamp.today().normalize()
    lim = f"TIMESTAMP '{limit}'"
    for name, cols in (("reports", ["report_date"]), ("episodes", ["entry_date", "exit_date"])):
        if ok(name):
            for c in cols:
                sql[name].exclude("future_date" if extract_date is not None else "after_today",
                                  f"{t(name, c)} > {lim}", column=c, end=limit.date())
    dates = []
    for name, cols in (("reports", ["report_date"]), ("episodes", ["entry_date", "exit_date"])):
        if ok(name):
            for c in cols:
                d = con.execute(f"SELECT max({t(name, c)}) FROM {sql[name].rel} WHERE {sql[name].kept}").fetchone()[0]
                if d is not None:
                    dates.append(pd.Timestamp(d))
    data_end = pd.Timestamp(extract_date) if extract_date is not None else (max(dates) if dates else None)
    end_sql = None if data_end is None else f"TIMESTAMP '{data_end}'"

    if "population" in pdc and usable["population"]:
        _validate_population(pdc["population"])
    if "counts" in pdc and usable["counts"]:
        _validate_counts(pdc["counts"])

    if ok("children") and end_sql is not None:
        sql["children"].exclude("future_date", f'"birth_date__t" > {end_sql}', column="birth_date",
                                end=data_end.date())
    if ok("children"):
        ck = sql["children"]
        con.execute(f"""CREATE OR REPLACE TEMP TABLE kid_status AS
            SELECT child_id, bool_or(NOT ({ck.kept})) AS excluded, arg_min("birth_date__t", _row) AS birth
            FROM {ck.rel} WHERE child_id IS NOT NULL GROUP BY child_id""")

    if ok("reports"):
        ck = sql["reports"]
        extra = {"disposition": "coalesce(disposition, 'none')"}
        if ok("children"):
            extra["_child"] = ("(SELECT CASE WHEN k.excluded THEN 'excluded' ELSE 'known' END "
                               f"FROM kid_status k WHERE k.child_id = {ck.rel}.child_id)")
            extra["_birth"] = f"(SELECT k.birth FROM kid_status k WHERE k.child_id = {ck.rel}.child_id)"
        extra["period"] = f"CAST({_fy(t('reports', 'report_date'), calendar)} AS BIGINT)"
        _add_columns(con, ck.rel, extra)
        if ok("children"):
            ck.exclude("child_excluded", "_child = 'excluded'")
            ck.exclude("unknown_child", "_child IS NULL")
        finding = f"disposition IN {_in(sorted(SUBSTANTIATED_DISPOSITIONS))}"
        screened_out = f"{t('reports', 'screened_in')} = 0"
        ck.exclude("finding_without_screen_in", f"{finding} AND {screened_out}",
                   codes=", ".join(sorted(SUBSTANTIATED_DISPOSITIONS)))
        if ok("children"):
            ck.exclude("before_birth", f"_birth IS NOT NULL AND {t('reports', 'report_date')} < _birth")
        lo, hi = con.execute(f"SELECT min(period), max(period) FROM {ck.rel} WHERE "
                             f"{t('reports', 'report_date')} IS NOT NULL AND {ck.kept}").fetchone()
        if first_year is None and lo is not None:
            first_year = int(lo)
        if last_year is None and hi is not None:
            last_year = int(hi)
        if first_year is not None and last_year is not None:
            label = (f"{'' if calendar else 'FY'}{first_year}-{'' if calendar else 'FY'}{last_year}")
            ck.exclude("outside_period", f"period < {int(first_year)} OR period > {int(last_year)}", periods=label)

    if ok("episodes"):
        ck = sql["episodes"]
        if ok("children"):
            _add_columns(con, ck.rel, {"_child": (
                "(SELECT CASE WHEN k.excluded THEN 'excluded' ELSE 'known' END "
                f"FROM kid_status k WHERE k.child_id = {ck.rel}.child_id)")})
            ck.exclude("child_excluded", "_child = 'excluded'")
            ck.exclude("unknown_child", "_child IS NULL")
        entry, exit_ = t("episodes", "entry_date"), t("episodes", "exit_date")
        if end_sql is not None:
            ck.exclude("future_date", f"{entry} > {end_sql}", column="entry_date", end=data_end.date())
            ck.exclude("future_date", f"{exit_} > {end_sql}", column="exit_date", end=data_end.date())
        ck.exclude("exit_before_entry", f"{exit_} IS NOT NULL AND {exit_} < {entry}")
        ck.exclude("exit_without_reason", f"{exit_} IS NOT NULL AND exit_reason IS NULL")
        ck.exclude("reason_without_exit", f"{exit_} IS NULL AND exit_reason IS NOT NULL")
        pc = "try_cast(trim(placement_count) AS DOUBLE)"
        more = {"placement_count": f"CAST(trunc(coalesce({pc}, 0)) AS BIGINT)"}
        if "prior_episodes" in ck:
            more["prior_episodes"] = ("CAST(trunc(coalesce(try_cast(trim(prior_episodes) AS DOUBLE), 0)) "
                                      "AS BIGINT)")
        _add_columns(con, ck.rel, {"placement_count__n": pc, **{f"{c}__t": e for c, e in more.items()}})
        typed["episodes"].update(more)
        ck.exclude("bad_placement_count", '"placement_count__n" IS NULL OR "placement_count__n" < 1')

    if "counts" in pdc and usable["counts"]:
        valid = pdc["counts"].df["period"]
        if first_year is None and len(valid):
            first_year = int(valid.min())
        if last_year is None and len(valid):
            last_year = int(valid.max())

    if "population" in pdc and usable["population"] and first_year is not None:
        places: set[str] = set()
        for name in ("reports", "episodes"):
            if name in sql and "jurisdiction" in sql[name]:
                places |= {r[0] for r in con.execute(
                    f"SELECT DISTINCT jurisdiction FROM {sql[name].rel} WHERE jurisdiction IS NOT NULL AND "
                    f"{sql[name].kept}").fetchall()}
        if "counts" in pdc and "jurisdiction" in pdc["counts"].df:
            c = pdc["counts"]
            places |= set(c.df.loc[c.excluded == "", "jurisdiction"].dropna())
        _check_population_cells(pdc["population"], places, first_year, last_year)

    acc: list[tuple[str, str, str, int]] = []
    for name in TABLES:
        if name in sql:
            acc.extend(sql[name].accounting())
        elif name in pdc:
            acc.extend(pdc[name].accounting())
    accounting = pd.DataFrame(acc, columns=["table", "outcome", "reason", "rows"])
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(problems)
    # the clean tables: used rows, typed columns under their own names, the source's column order
    for name, ck in sql.items():
        cols = ck.columns + (["period"] if name == "reports" and ok(name) else [])
        sel = [f'"{c}__t" AS {_q(c)}' if c in typed[name] else _q(c) for c in cols]
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {', '.join(sel)} FROM {ck.rel} "
                    f"WHERE {ck.kept} ORDER BY _row")
        con.execute(f"DROP TABLE {ck.rel}")
    con.execute("DROP TABLE IF EXISTS kid_status")
    frames = {name: ck.kept().reset_index(drop=True) for name, ck in pdc.items()}
    if data_end is None:
        data_end = pd.Timestamp(f"{last_year}-09-30") if last_year else pd.Timestamp.today().normalize()
    return Extract(con=con, tables=tuple(sql), population=frames.get("population"), counts=frames.get("counts"),
                   first_year=int(first_year) if first_year is not None else 0,
                   last_year=int(last_year) if last_year is not None else 0,
                   calendar=calendar, data_end=pd.Timestamp(data_end), problems=problems, accounting=accounting)


# --------------------------------------------------------------------------- the validated extract
def _age_group_sql(days: str) -> str:
    """SQL of :func:`equity_helpers.schema.age_group_of` applied to ``floor(days / 365.25)``."""
    a = f"floor(({days}) / 365.25)"
    bands = " ".join(f"WHEN {a} >= {lo} AND {a} < {hi} THEN '{g}'"
                     for g, (lo, hi) in zip(AGE_GROUPS, ((0, 5), (5, 10), (10, 15), (15, 18))))
    return f"(CASE {bands} ELSE '18+' END)"


def _days(a: str, b: str) -> str:
    """Whole days from ``a`` to ``b`` (floored, as pandas' ``Timedelta.days``)."""
    return f"floor(date_diff('microsecond', {a}, {b}) / 86400000000.0)"


def _group_sql(sch: RaceScheme) -> str:
    """SQL giving ``(child_id, race_ethnicity)`` rows of a scheme, as
    :func:`equity_helpers.schema.assign_groups` does."""
    n = " + ".join(RACE_FLAGS[:5])
    if sch.exclusive:
        single = ("CASE WHEN race_aian = 1 THEN 'aian' WHEN race_asian = 1 THEN 'asian' WHEN race_black = 1 "
                  "THEN 'black' WHEN race_nhpi = 1 THEN 'nhpi' ELSE 'white' END")
        unknown = "WHEN hispanic = 'unknown' THEN 'unknown' " if sch.hispanic_unknown == "unknown" else ""
        return (f"SELECT child_id, CASE WHEN hispanic = 'yes' THEN 'hispanic' {unknown}"
                f"WHEN {n} >= 2 THEN 'multiracial' WHEN {n} = 1 THEN {single} ELSE 'unknown' END "
                "AS race_ethnicity FROM children")
    return (f"SELECT child_id, 'white' AS race_ethnicity FROM children WHERE {n} = 1 AND race_white = 1 "
            "AND hispanic = 'no' UNION ALL "
            "SELECT child_id, 'black_aic' FROM children WHERE race_black = 1 UNION ALL "
            "SELECT child_id, 'aian_aic' FROM children WHERE race_aian = 1 UNION ALL "
            f"SELECT child_id, 'unknown' FROM children WHERE {n} = 0")


class Extract(ValidatedData):
    """A validated extract whose child-level tables live in DuckDB (see the module docstring).

    It answers everything a :class:`~equity_helpers.validate.ValidatedData` answers: ``children``,
    ``reports`` and ``episodes`` are read into pandas on first use only, and
    :func:`equity_helpers.stages.stage_counts` counts in SQL through :meth:`count_events`. Pickling
    turns it into a plain :class:`~equity_helpers.validate.ValidatedData`.
    """

    def __init__(self, *, con, tables: Sequence[str], population: pd.DataFrame | None,
                 counts: pd.DataFrame | None, first_year: int, last_year: int, calendar: bool,
                 data_end: pd.Timestamp, problems: list[Problem], accounting: pd.DataFrame):
        self.con = con
        self.tables = tuple(tables)
        self.population = population
        self.counts = counts
        self.first_year = first_year
        self.last_year = last_year
        self.calendar = calendar
        self.data_end = data_end
        self.problems = problems
        self.accounting = accounting
        self._frames: dict[str, pd.DataFrame] = {}
        self._events: dict[str, str] = {}

    def __repr__(self) -> str:
        return (f"Extract(tables={list(self.tables)}, years={self.first_year}-{self.last_year}, "
                f"data_end={self.data_end.date()})")

    def __eq__(self, other) -> bool:
        return self is other

    __hash__ = object.__hash__

    def has_table(self, name: str) -> bool:
        """Whether the extract has the child-level table ``name``, without reading it."""
        return name in self.tables

    def _frame(self, name: str) -> pd.DataFrame | None:
        if name not in self.tables:
            return None
        if name not in self._frames:
            df = self.con.execute(f"SELECT * FROM {name} ORDER BY _row").df()
            for c in df.columns:
                if str(df[c].dtype).startswith("datetime64"):
                    df[c] = df[c].astype("datetime64[ns]")
            if "period" in df:
                df["period"] = df["period"].astype("Int64")
            self._frames[name] = df
        return self._frames[name]

    @property
    def children(self) -> pd.DataFrame | None:  # type: ignore[override]
        return self._frame("children")

    @property
    def reports(self) -> pd.DataFrame | None:  # type: ignore[override]
        return self._frame("reports")

    @property
    def episodes(self) -> pd.DataFrame | None:  # type: ignore[override]
        return self._frame("episodes")

    @property
    def child_level(self) -> bool:
        return "children" in self.tables

    @property
    def jurisdictions(self) -> list[str]:
        found: set[str] = set()
        for name in ("reports", "episodes"):
            if name in self.tables:
                found |= {r[0] for r in self.con.execute(
                    f"SELECT DISTINCT jurisdiction FROM {name} WHERE jurisdiction IS NOT NULL").fetchall()}
        if self.counts is not None:
            found |= set(self.counts["jurisdiction"].dropna().unique())
        if not found and self.population is not None:
            found = set(self.population["jurisdiction"].unique())
        return sorted(found)

    def to_validated(self) -> ValidatedData:
        """The same data as a plain :class:`~equity_helpers.validate.ValidatedData` (records in pandas)."""
        return ValidatedData(children=self.children, reports=self.reports, episodes=self.episodes,
                             population=self.population, counts=self.counts, first_year=self.first_year,
                             last_year=self.last_year, calendar=self.calendar, data_end=self.data_end,
                             problems=list(self.problems), accounting=self.accounting.copy())

    def __reduce__(self):
        return (_rebuild, (self.to_validated(),))

    def content_hash(self) -> bytes:
        """A digest of the clean tables' contents (for the release cache key), computed in SQL."""
        h = hashlib.sha256()
        for name in CHILD_TABLES:
            h.update(name.encode())
            if name in self.tables:
                cols = [r[0] for r in self.con.execute(f"SELECT column_name FROM (DESCRIBE {name})").fetchall()]
                h.update(",".join(cols).encode())
                h.update(repr(self.con.execute(f"SELECT count(*), sum(hash({name}))::HUGEINT, "
                                               f"bit_xor(hash({name})) FROM {name}").fetchone()).encode())
        for name in ("population", "counts"):
            t = getattr(self, name)
            h.update(name.encode())
            if t is not None:
                h.update(",".join(map(str, t.columns)).encode())
                h.update(pd.util.hash_pandas_object(t, index=False).to_numpy().tobytes())
        return h.digest()

    # ----------------------------------------------------------------------- counting
    def _level_events(self, state: bool) -> str:
        """A temp table of first events ``(child_id, jurisdiction, period, stage, age_group)`` for the
        counties (``state`` False) or the state counted from the records (True); built once."""
        key = "state" if state else "county"
        if key in self._events:
            return self._events[key]
        j = f"'{_STATE}'" if state else "jurisdiction"
        same_place = "" if state else "AND e2.jurisdiction = f.jurisdiction"
        fy, ly = int(self.first_year), int(self.last_year)
        end = f"TIMESTAMP '{self.data_end}'"
        parts: list[str] = []
        ctes: list[str] = []
        if "reports" in self.tables:
            subst = _in(sorted(SUBSTANTIATED_DISPOSITIONS))
            ctes.append(f"r AS (SELECT child_id, {j} AS jurisdiction, period, report_date AS date, screened_in, "
                        "disposition FROM reports)")
            ctes.append("sb AS (SELECT child_id, jurisdiction, period, min(date) AS date FROM r "
                        f"WHERE screened_in = 1 AND disposition IN {subst} GROUP BY ALL)")
            parts.append("SELECT child_id, jurisdiction, period, 'reported' AS stage, min(date) AS date FROM r GROUP BY ALL")
            parts.append("SELECT child_id, jurisdiction, period, 'screened_in', min(date) FROM r "
                         "WHERE screened_in = 1 GROUP BY ALL")
            parts.append("SELECT child_id, jurisdiction, period, 'substantiated', date FROM sb")
            if "episodes" in self.tables:
                ctes.append(f"fol AS (SELECT * FROM sb WHERE date <= {end} - INTERVAL {90} DAY)")
                parts.append("SELECT child_id, jurisdiction, period, 'substantiated_followed', date FROM fol")
                parts.append("SELECT child_id, jurisdiction, period, 'entered_after_substantiation', date FROM fol f "
                             f"WHERE EXISTS (SELECT 1 FROM (SELECT child_id, {j} AS jurisdiction, entry_date "
                             f"FROM episodes) e2 WHERE e2.child_id = f.child_id {same_place} AND "
                             f"{_days('f.date', 'e2.entry_date')} BETWEEN 0 AND 90)")
        if "episodes" in self.tables:
            ent = _fy("entry_date", self.calendar)
            out = _fy("exit_date", self.calendar)
            ctes.append(f"e AS (SELECT child_id, {j} AS jurisdiction, {ent} AS period, entry_date AS date, exit_date, "
                        f"exit_reason, first_placement, _row FROM episodes WHERE {ent} BETWEEN {fy} AND {ly})")
            ctes.append("fe AS (SELECT e.*, c.birth_date + INTERVAL 18 YEAR AS eighteen, "
                        f"{_days('e.date', 'e.exit_date')} AS stay FROM e LEFT JOIN children c USING (child_id) "
                        "QUALIFY row_number() OVER (PARTITION BY e.child_id, e.jurisdiction, e.period "
                        "ORDER BY e.date, e._row) = 1)")
            ctes.append(f"x AS (SELECT child_id, {j} AS jurisdiction, {out} AS period, exit_date AS date, exit_reason "
                        f"FROM episodes WHERE exit_date IS NOT NULL AND {out} BETWEEN {fy} AND {ly})")
            ctes.append(f"fam AS (SELECT child_id, jurisdiction, period, min(date) AS date FROM x "
                        f"WHERE exit_reason IN {_in(sorted(FAMILY_EXITS))} GROUP BY ALL)")
            minor = "coalesce(exit_date < eighteen, false)"
            parts += [
                "SELECT child_id, jurisdiction, period, 'entered_care', date FROM fe",
                "SELECT child_id, jurisdiction, period, 'first_placement_kin', date FROM fe WHERE first_placement = 'kin'",
                "SELECT child_id, jurisdiction, period, 'first_placement_congregate', date FROM fe "
                "WHERE first_placement = 'congregate'",
                "SELECT child_id, jurisdiction, period, 'permanency_12m', date FROM fe "
                f"WHERE exit_reason IN {_in(sorted(PERMANENT_EXITS))} AND stay < 365 AND {minor}",
                "SELECT child_id, jurisdiction, period, 'reunified_12m', date FROM fe "
                f"WHERE exit_reason = 'reunification' AND stay < 365 AND {minor}",
                "SELECT child_id, jurisdiction, period, 'in_care_24m_plus', date FROM fe "
                "WHERE exit_date IS NULL OR stay >= 730",
                "SELECT child_id, jurisdiction, period, 'exited', min(date) FROM x GROUP BY ALL",
                "SELECT child_id, jurisdiction, period, 'aged_out', min(date) FROM x "
                "WHERE exit_reason = 'emancipation' GROUP BY ALL",
                "SELECT child_id, jurisdiction, period, 'exited_to_family', date FROM fam",
                "SELECT child_id, jurisdiction, period, 'reentry_12m', date FROM fam f WHERE EXISTS ("
                "SELECT 1 FROM episodes e2 WHERE e2.child_id = f.child_id AND e2.entry_date > f.date "
                "AND e2.entry_date <= f.date + INTERVAL 365 DAY)",
            ]
        name = f"events_{key}"
        body = " UNION ALL ".join(parts)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS WITH {', '.join(ctes)}, ev AS ({body}) "
            f"SELECT ev.child_id, ev.jurisdiction, CAST(ev.period AS BIGINT) AS period, ev.stage, "
            f"{_age_group_sql(_days('c.birth_date', 'ev.date'))} AS age_group "
            "FROM ev LEFT JOIN children c USING (child_id)")
        self._events[key] = name
        return name

    def count_events(self, *, scheme: RaceScheme, by: Sequence[str], include_state: bool,
                     include_counties: bool) -> tuple[pd.DataFrame, int]:
        """Unique children per place, period, group, ``by`` levels and stage, counted in SQL:
        ``(counts, events left out at age 18 or older)`` (the counting half of
        :func:`equity_helpers.stages.stage_counts`, the same rules)."""
        kids = [r[0] for r in self.con.execute("SELECT column_name FROM (DESCRIBE children)").fetchall()]
        attrs = ["child_id", "birth_date", "sex"] + [b for b in by if b not in ("age_group", "sex")]
        missing = [a for a in attrs if a not in kids]
        if missing:
            raise ParameterError(f"The children table has no {missing} column to break counts down by.")
        levels = []
        if include_counties:
            levels.append(self._level_events(False))
        if include_state:
            levels.append(self._level_events(True))
        if not levels:
            raise ParameterError("Choose the counties, the state or both.")
        ev = " UNION ALL ".join(f"SELECT * FROM {t}" for t in levels)
        excluded = sum(self.con.execute(f"SELECT count(*) FROM {t} WHERE age_group = '18+'").fetchone()[0]
                       for t in levels)
        kid_cols = [b for b in by if b != "age_group"]
        join = ("JOIN children k USING (child_id)" if kid_cols else "")
        dims = ", ".join(f"{'ev.age_group' if b == 'age_group' else 'k.' + _q(b)} AS {_q(b)}" for b in by)
        dims_sel = (", " + dims) if dims else ""
        not_null = "".join(f" AND {_q(b)} IS NOT NULL" for b in by)
        names = ", ".join(_q(b) for b in by)
        names_sel = (", " + names) if names else ""
        q = (f"WITH ev AS ({ev}), g AS ({_group_sql(scheme)}), "
             f"tagged AS (SELECT ev.jurisdiction, ev.period, g.race_ethnicity{dims_sel}, ev.stage FROM ev "
             f"JOIN g USING (child_id) {join} WHERE ev.age_group <> '18+' UNION ALL "
             f"SELECT ev.jurisdiction, ev.period, 'all'{dims_sel}, ev.stage FROM ev {join} "
             f"WHERE ev.age_group <> '18+') "
             f"SELECT jurisdiction, period, race_ethnicity{names_sel}, stage, count(*) AS count FROM tagged "
             f"WHERE true{not_null} GROUP BY ALL")
        counts = self.con.execute(q).df()
        counts["period"] = counts["period"].astype("Int64")
        counts["count"] = counts["count"].astype("int64")
        return counts, int(excluded)


def _rebuild(data: ValidatedData) -> ValidatedData:
    return data


# --------------------------------------------------------------------------- entry points
def load_extract(data_dir=None, *, mapping=None, first_year: int | None = None, last_year: int | None = None,
                 calendar: bool = False, extract_date=None, con=None) -> Extract:
    """Read a data folder or mapping into DuckDB and validate it there (the DuckDB twin of
    :func:`equity_helpers.validate.load`)."""
    from .sources import SUFFIXES, TABLE_NAMES, Mapping, load_mapping, read_table

    if isinstance(mapping, Mapping):
        m = mapping
    elif mapping is not None:
        m = load_mapping(mapping)
    elif data_dir is not None:
        m = Mapping.default(data_dir)
    else:
        raise ValueError("give a data folder or a mapping file")
    if not m.tables:
        where = data_dir if data_dir is not None else mapping
        raise DataValidationError([Problem(
            "error", "sources", "no_tables", 0, "",
            f"No data tables were found in {where}. Expected files named "
            f"{', '.join(TABLE_NAMES)} ({', '.join(SUFFIXES)}) or a mapping.yml.")])
    con = con if con is not None else connect()
    notes: dict[str, str | None] = {}
    frames: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for name in m.tables:
        try:
            if name in CHILD_TABLES:
                notes[name] = _read_into(con, name, m)
            else:
                frames[name] = read_table(name, m)
                notes[name] = frames[name].attrs.get("read_note")
        except Exception as exc:  # every unreadable source is reported together
            problems.append(Problem("error", name, "unreadable_source", 0, "",
                                    f"The {name} table could not be read: {exc}"))
    if problems:
        raise DataValidationError(problems)
    return validate_sql(con, [n for n in m.tables if n in CHILD_TABLES], pandas_tables=frames, notes=notes,
                        first_year=first_year, last_year=last_year, calendar=calendar,
                        extract_date=extract_date if extract_date is not None else m.extract_date)


def validate_frames(raw: dict[str, pd.DataFrame], *, first_year: int | None = None, last_year: int | None = None,
                    calendar: bool = False, extract_date=None, con=None) -> Extract:
    """:func:`equity_helpers.validate.validate` of in-memory tables, checked and counted in DuckDB."""
    con = con if con is not None else connect()
    notes: dict[str, str | None] = {}
    frames: dict[str, pd.DataFrame] = {}
    child: list[str] = []
    for name, df in raw.items():
        if df is None or name not in TABLES:
            continue
        notes[name] = df.attrs.get("read_note")
        if name in CHILD_TABLES:
            rows = df["_row"].to_numpy() if "_row" in df else None
            _register_frame(con, name, df.drop(columns="_row", errors="ignore"))
            if rows is not None:
                con.register("given_rows", pd.DataFrame({"i": np.arange(1, len(rows) + 1), "r": rows}))
                cols = [r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE src_{name})").fetchall()]
                rest = ", ".join(_q(c) for c in cols if c != "_row")
                con.execute(f"CREATE OR REPLACE TEMP TABLE src_{name} AS SELECT CAST(g.r AS BIGINT) AS _row"
                            f"{', ' if rest else ''}{rest} FROM src_{name} s JOIN given_rows g ON g.i = s._row "
                            "ORDER BY s._row")
                con.unregister("given_rows")
            child.append(name)
        else:
            frames[name] = df
    return validate_sql(con, child, pandas_tables=frames, notes=notes, first_year=first_year,
                        last_year=last_year, calendar=calendar, extract_date=extract_date)
