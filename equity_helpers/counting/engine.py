"""The state-scale data layer: read, validate and count in an embedded DuckDB database.

The child-level tables (children, reports, episodes) are read straight from their files into DuckDB
(CSV of any separator, Parquet; Excel and the mapping's SQL source through pandas), validated by SQL
that applies the same rules, in the same order and with the same plain-language messages and row
accounting as :func:`equity_helpers.counting.load.validate`, and counted by SQL
(:meth:`Extract.count_events`, the same rules as :func:`equity_helpers.counting.stages.stage_counts`). pandas
only sees aggregates: the stage counts, the population and aggregate counts tables, the data-quality
table. The records reach pandas only if a caller asks for them (``extract.reports``), and then once;
the time-in-care curves read the episodes and only the children who have one.

Counting keeps the rules of :mod:`equity_helpers.counting.stages`: a child once per place, period and stage;
the state counted from the records (each child's first dates over every place), not summed from the
counties. Measured faster than grouping sets on 2 cores: first dates per child, place and period in
one scan of the reports, then per child and period from those; children keyed by the 64-bit hash of
their id when every child's hash is distinct (else by the id).

Memory and spilling
-------------------
DuckDB works out of core: past its memory limit it spills to a temporary folder. Both are options of
:func:`connect` and of the environment:

``EQUITY_WORKBOOK_MEMORY``   DuckDB's memory limit, e.g. ``4GB`` (default: DuckDB's, 80% of RAM)
``EQUITY_WORKBOOK_TEMP``     the spill folder (default: ``equity-workbook-spill-<uid>`` in the system
                             temp folder, private to the user; DuckDB removes its files when done)
``EQUITY_WORKBOOK_THREADS``  worker threads (default: every core)
``EQUITY_WORKBOOK_ENGINE``   ``duckdb`` (the default) or ``pandas`` for :func:`equity_helpers.counting.load.load`

The validated extract can be stored once (:mod:`equity_helpers.counting.extracts`, a DuckDB file in a folder the
user names, never in the reports) so later notebooks open it in a fraction of a second.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equity_helpers import settings
from equity_helpers.counting.stages import EXTRA_DIMS, LINK_DAYS, REPORT_DIMS, _check_child_columns, _count_events
from equity_helpers.data.checks import (
    FALSE,
    MAY_BE_EMPTY,
    MESSAGES,
    TRUE,
    Checker,
    as_read,
    date_findings,
    records_supplied,
    table_present,
)
from equity_helpers.data.dates import NULL_DATES, data_end, read_dates, table_order
from equity_helpers.data.encoding import is_utf8
from equity_helpers.data.ids import link_problem, nothing_left
from equity_helpers.data.places import canonical_places
from equity_helpers.data.sources import (
    SEPARATORS,
    mapped_columns_missing,
    parquet_parts,
    read_table,
    resolve_mapping,
    sniff_separator,
)
from equity_helpers.data.validate import (
    PLACE_TABLES,
    SIDE_TABLES,
    ValidatedData,
    check_population_cells,
    validate_counts,
    validate_population,
    validate_with_side_tables,
    years_of_counts,
)
from equity_helpers.errors import DataValidationError, ParameterError, Problem
from equity_helpers.safety import raise_if_interrupted
from equity_helpers.schema import (
    AGE_GROUPS,
    EQUITY_COLUMNS,
    FAMILY_EXITS,
    PERMANENT_EXITS,
    RACE_FLAGS,
    SUBSTANTIATED_DISPOSITIONS,
    TABLES,
    RaceScheme,
    assign_groups,
)
from equity_helpers.schema import STATE as _STATE

__all__ = ["connect", "Extract", "validate_sql", "validate_frames", "load_extract", "ENGINES", "default_engine"]

ENGINES = ("duckdb", "pandas")
CHILD_TABLES = ("children", "reports", "episodes")


def default_engine() -> str:
    """``$EQUITY_WORKBOOK_ENGINE`` (``duckdb`` or ``pandas``), ``duckdb`` when unset."""
    e = (settings.ENGINE.get() or "duckdb").lower()
    if e not in ENGINES:
        raise ParameterError(f"{settings.ENGINE.name} must be one of {', '.join(ENGINES)}, not {e!r}.")
    return e


def connect(database: str | Path = ":memory:", *, memory_limit: str | None = None,
            temp_directory: str | Path | None = None, threads: int | None = None):
    """A DuckDB connection set up for the workbook (memory limit, spill folder, threads).

    Unset arguments come from ``EQUITY_WORKBOOK_MEMORY``, ``EQUITY_WORKBOOK_TEMP`` and
    ``EQUITY_WORKBOOK_THREADS``; unset there too, DuckDB's defaults apply.
    """
    import duckdb  # here, not at the top: DuckDB loads on the first connection, not with the package

    con = _Connection(duckdb.connect(str(database)))
    memory_limit = memory_limit or settings.MEMORY.get()
    temp_directory = temp_directory or settings.TEMP.get() or _private_spill()
    threads = threads or int(settings.THREADS.get() or 0) or None
    if memory_limit:
        con.execute(f"SET memory_limit = '{_lit(str(memory_limit))}'")
    Path(temp_directory).mkdir(parents=True, exist_ok=True, mode=0o700)
    con.execute(f"SET temp_directory = '{_lit(str(temp_directory))}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")  # the workbook shows its own progress, on standard error
    return con


class _Connection:
    """A DuckDB connection whose calls, when a stop signal (Ctrl-C, SIGTERM) interrupts them, stop the run
    as the signal does: DuckDB interrupts its query and raises its own ``RuntimeError`` in place of the
    handler's :class:`~equity_helpers.safety.BatchInterrupted`, which code that reports unreadable files
    would otherwise take for a data problem."""

    def __init__(self, con):
        self._con = con

    def __getattr__(self, name: str):
        attr = getattr(self._con, name)
        if not callable(attr):
            return attr

        def guarded(*args, **kwargs):
            try:
                out = attr(*args, **kwargs)
            except Exception:
                raise_if_interrupted()
                raise
            return self if out is self._con else out

        return guarded


def _private_spill() -> str:
    """The default spill folder: private to the user (0700) in the system's temp folder, never DuckDB's
    own default (``.tmp`` in whatever folder the workbook was started from, perhaps a reports folder)."""
    return str(Path(tempfile.gettempdir()) / f"equity-workbook-spill-{os.getuid()}")


# --------------------------------------------------------------------------- SQL text helpers
def _lit(v: str) -> str:
    return str(v).replace("'", "''")


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _in(values) -> str:
    return "(" + ", ".join(f"'{_lit(v)}'" for v in values) + ")"


# --------------------------------------------------------------------------- reading
def _read_into(con, name: str, mapping, drop: Sequence[str] = (), dropped: list[str] | None = None) -> str | None:
    """Read one source table into the work table ``w_<name>`` (see :func:`_build_work`).

    CSV and Parquet files are read by DuckDB itself; Excel files and SQL queries through
    :func:`equity_helpers.data.sources.read_table`. Returns the note to show when a CSV file was read with
    another separator than commas (as :func:`~equity_helpers.data.sources.read_file` does).
    """
    spec = mapping.tables[name]
    path = None if "query" in spec else Path(mapping.base_dir) / spec["path"]
    parts = [] if path is None else parquet_parts(path)
    if parts:  # record numbers run on across the parts, in name order
        files = "[" + ", ".join(f"'{_lit(p)}'" for p in parts) + "]"
        sizes = con.execute(f"SELECT file_name, num_rows FROM parquet_file_metadata({files})").fetchall()
        rows = dict(sizes)
        offsets, total = [], 0
        for p in parts:
            offsets.append(f"WHEN '{_lit(p)}' THEN {total}")
            total += int(rows[str(p)])
        src = f"read_parquet({files}, file_row_number = true, filename = true)"
        _build_work(con, name, src, f"(CASE filename {' '.join(offsets)} END) + file_row_number + 1", spec,
                    skip=("file_row_number", "filename"), drop=drop, dropped=dropped)
        return None
    low = "" if path is None else path.name.lower()
    encoding = str(spec.get("encoding", "utf-8-sig")).lower().replace("_", "-")
    note = None
    text = path is not None and low.endswith((".csv", ".csv.gz", ".txt"))
    if text and encoding in ("utf-8", "utf-8-sig", "utf8") and is_utf8(path):
        sep = spec.get("sep") or sniff_separator(path, "utf-8-sig")
        if not _has_header(path):
            raise ValueError("No columns to parse from file")  # pandas' words for the same file
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_{name} AS SELECT * FROM read_csv('{_lit(path)}', "
                    f"delim='{_lit(sep)}', header=true, all_varchar=true, quote='\"', escape='\"')")
        if "sep" not in spec and sep != ",":
            note = (f"{path.name} is separated by {SEPARATORS[sep]}, not commas; it was read "
                    f"that way (set sep in mapping.yml to say so explicitly).")
        _build_work(con, name, f"raw_{name}", "rowid + 1", spec, drop=drop, dropped=dropped)
        con.execute(f"DROP TABLE raw_{name}")
    elif path is not None and low.endswith(".parquet"):
        src = f"read_parquet('{_lit(path)}', file_row_number = true)"
        _build_work(con, name, src, "file_row_number + 1", spec, skip=("file_row_number",), drop=drop,
                    dropped=dropped)
    else:
        df = read_table(name, mapping)
        gone = [c for c in drop if c in df.columns]
        if dropped is not None:
            dropped += gone
        _register_frame(con, name, df.drop(columns=gone))
        return df.attrs.get("read_note")
    return note


def _has_header(path: Path) -> bool:
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
    """A pandas table (Excel, a SQL source, or a caller's raw frame) as the work table ``w_<name>``;
    its ``_row`` column, when it has one, keeps the record numbers."""
    frame = df.copy()
    rows = frame.pop("_row").to_numpy() if "_row" in frame else np.arange(1, len(frame) + 1)
    for c in frame.columns:
        frame[c] = frame[c].map(lambda v: None if v is None or (isinstance(v, float) and v != v)
                                else (v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) and v == v.normalize()
                                      else str(v))).astype(object)
    frame.columns = [str(c) for c in frame.columns]
    frame.insert(0, "_row__given", pd.array(rows, dtype="int64"))
    con.register(f"frame_{name}", frame)
    _build_work(con, name, f"frame_{name}", "_row__given", {}, skip=("_row__given",))
    con.unregister(f"frame_{name}")


def _typed(name: str, cols: Sequence[str]) -> dict[str, str]:
    """SQL of the typed twins (``<column>__t``) of a table's flag, date and number columns."""
    spec = TABLES[name]
    out: dict[str, str] = {}
    for col in spec.flags:
        if col in cols:  # "1" and "0" decided without lower-casing (nearly every value)
            out[f"{col}__t"] = (f"CAST(CASE {_q(col)} WHEN '1' THEN 1 WHEN '0' THEN 0 ELSE CASE WHEN "
                                f"{_LOW.format(c=_q(col))} IN {_in(sorted(TRUE))} THEN 1 ELSE 0 END END AS BIGINT)")
    for col in spec.dates:
        if col in cols:  # YYYY-MM-DD within pandas' nanosecond range; anything else goes to _fix_dates
            c = _q(col)
            out[f"{col}__t"] = (f"(CASE WHEN {c} LIKE '____-__-__' AND left({c}, 4) BETWEEN '1678' AND '2261' "
                                f"THEN try_strptime({c}, '%Y-%m-%d') END)")
    if name == "episodes":
        if "placement_count" in cols:
            out["placement_count__n"] = "try_cast(trim(placement_count) AS DOUBLE)"
        if "prior_episodes" in cols:
            out["prior_episodes__t"] = ("CAST(trunc(coalesce(try_cast(trim(prior_episodes) AS DOUBLE), 0)) "
                                        "AS BIGINT)")
    return out


def _build_work(con, name: str, source: str, row: str, spec: dict, skip: Sequence[str] = (),
                drop: Sequence[str] = (), dropped: list[str] | None = None) -> None:
    """``w_<name>``: the source in one pass, with canonical names, mapped codes, blanks as missing (as
    :func:`equity_helpers.counting.load.validate` reads them), the record number ``_row`` and typed twins.
    ``skip``: source columns left out; ``drop``: columns left out by their canonical names (those found are
    added to ``dropped``)."""
    cols = [(c, t) for c, t in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})"
                                           ).fetchall() if c not in skip]
    missing = mapped_columns_missing(name, spec, [c for c, _ in cols])
    if missing:
        raise ValueError(missing)
    rename = {str(src): canon for canon, src in (spec.get("columns") or {}).items()}
    codes = {c: {str(k): str(v) for k, v in m.items()} for c, m in (spec.get("codes") or {}).items()}
    exprs = [f"CAST({row} AS BIGINT) AS _row"]
    names = []
    for col, typ in cols:
        canon = rename.get(col, str(col).lstrip("\ufeff").strip())
        if canon in drop:
            if dropped is not None:
                dropped.append(canon)
            continue
        e = _as_text(_q(col), typ)
        if codes.get(canon):
            cases = " ".join(f"WHEN '{_lit(k)}' THEN '{_lit(v)}'" for k, v in codes[canon].items())
            e = f"(CASE {e} {cases} ELSE {e} END)"
        exprs.append(f"(CASE WHEN {e} IN ('', ' ', 'NULL', 'null') THEN NULL ELSE {e} END) AS {_q(canon)}")
        names.append(canon)
    typed = _typed(name, names)
    extra = "".join(f", {e} AS {_q(c)}" for c, e in typed.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE w_{name} AS SELECT *{extra} FROM (SELECT {', '.join(exprs)} "
                f"FROM {source})")


# --------------------------------------------------------------------------- checking
_LOW = "lower(trim({c}, ' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12)))"


class _SqlChecker:
    """The SQL twin of :class:`equity_helpers.data.validate.Checker` for the work table ``w_<name>``.

    Errors are counted together in one scan (:meth:`errors`); exclusions are applied in phases
    (:meth:`exclude`), each a list of rules of which the first that holds gives a row's reason, as
    pandas' sequence of masks does. Excluded rows are kept in ``x_<name>`` (record number, reason),
    so "not excluded yet" is an anti-join with a small table.
    """

    def __init__(self, con, table: str, problems: list[Problem]):
        self.con = con
        self.table = table
        self.rel = f"w_{table}"
        self.out = f"x_{table}"
        self.problems = problems
        self.n = con.execute(f"SELECT count(*) FROM {self.rel}").fetchone()[0]
        self.columns = [r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE {self.rel})").fetchall()
                        if not r[0].endswith(("__t", "__n"))]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.out} (_row BIGINT, rule INTEGER)")
        self.rule_names: list[str] = []

    def __contains__(self, col: str) -> bool:
        return col in self.columns

    @property
    def kept(self) -> str:
        """SQL: the row of ``w`` is not excluded (yet)."""
        return f"w._row NOT IN (SELECT _row FROM {self.out})"

    def errors(self, checks: list[tuple[str, str, dict]]) -> None:
        """Count every error condition ``(check, SQL, message fields)`` in one scan, in order."""
        if not checks:
            return
        sel = ", ".join(f"count(*) FILTER (WHERE coalesce({c}, false)), min(_row, 5) FILTER "
                        f"(WHERE coalesce({c}, false))" for _, c, _ in checks)
        found = self.con.execute(f"SELECT {sel} FROM {self.rel} w").fetchone()
        for i, (check, cond, kw) in enumerate(checks):
            n, ex = found[2 * i], found[2 * i + 1] or []
            if n:
                kw = {k: (v(cond) if callable(v) else v) for k, v in kw.items()}
                self.problems.append(Problem("error", self.table, check, int(n), ", ".join(map(str, ex)),
                                             MESSAGES[check].format(n=n, table=self.table, **kw)))

    def exclude(self, rules: list[tuple[str, str, dict]], join: str = "") -> None:
        """One phase of exclusions: each row not excluded yet gets the first rule that holds."""
        if not rules:
            return
        first = len(self.rule_names)
        self.rule_names += [check for check, _, _ in rules]
        case = " ".join(f"WHEN coalesce({c}, false) THEN {first + i}" for i, (_, c, _) in enumerate(rules))
        self.con.execute(f"INSERT INTO {self.out} SELECT _row, rule FROM (SELECT w._row, CASE {case} END AS rule "
                         f"FROM {self.rel} w {join} WHERE {self.kept}) WHERE rule IS NOT NULL")
        found = {r: (n, ex) for r, n, ex in self.con.execute(
            f"SELECT rule, count(*), min(_row, 5) FROM {self.out} WHERE rule >= {first} GROUP BY rule").fetchall()}
        for i, (check, _, kw) in enumerate(rules):
            if first + i in found:
                n, ex = found[first + i]
                self.problems.append(Problem("warning", self.table, check, int(n), ", ".join(map(str, ex)),
                                             MESSAGES[check].format(n=n, table=self.table, **kw)))

    def accounting(self) -> list[tuple[str, str, str, int]]:
        rows = [(self.table, "read", "", int(self.n))]
        by_reason: dict[str, list[int]] = {}
        for rule, n, first in self.con.execute(f"SELECT rule, count(*), min(_row) FROM {self.out} GROUP BY rule"
                                               ).fetchall():
            got = by_reason.setdefault(self.rule_names[rule], [0, first])
            got[0] += n
            got[1] = min(got[1], first)
        # the order pandas' value_counts gives: most rows first, ties in order of first appearance
        for reason, (n, _) in sorted(by_reason.items(), key=lambda kv: (-kv[1][0], kv[1][1])):
            rows.append((self.table, "excluded", reason, int(n)))
        rows.append((self.table, "used", "", int(self.n - sum(n for n, _ in by_reason.values()))))
        return rows

    def codes(self, col: str, cond: str) -> str:
        """The most frequent values of ``col`` where ``cond`` holds (up to eight), as pandas lists them."""
        vals = self.con.execute(
            f"SELECT {_q(col)} FROM {self.rel} WHERE coalesce({cond}, false) GROUP BY 1 "
            "ORDER BY count(*) DESC, min(_row) LIMIT 8").fetchall()
        return ", ".join(repr(v[0]) for v in vals)


def _date_values(con, rel: str, col: str) -> pd.DataFrame:
    """The distinct values of a date column that are not ``YYYY-MM-DD`` (``v``), with their record counts
    (``n``); an exit date's spellings of "no date" (:data:`~equity_helpers.data.dates.NULL_DATES`) are made
    missing first (the episode is open)."""
    c = _q(col)
    if col == "exit_date":
        con.execute(f"UPDATE {rel} SET {c} = NULL WHERE {_LOW.format(c=c)} IN {_in(sorted(NULL_DATES))}")
    return con.execute(f'SELECT {c} AS v, count(*) AS n FROM {rel} WHERE {c} IS NOT NULL AND "{col}__t" IS NULL '
                       "GROUP BY 1 ORDER BY min(_row)").df()


def _fix_dates(con, ck: _SqlChecker, col: str, other: pd.DataFrame, order: str | None) -> bool:
    """Dates that are not ``YYYY-MM-DD`` (``other``, from :func:`_date_values`): the column read one way
    (:func:`equity_helpers.data.dates.read_dates`, decided from all its values) and written back, or
    refused with an error naming the rows. Returns whether the column was read (not refused)."""
    if other.empty:
        return True
    rel, c = ck.rel, _q(col)
    values, counts = other["v"].astype(object), other["n"].astype("int64")
    reading = read_dates(values, order=order)
    iso = con.execute(f'SELECT count(*) FROM {rel} WHERE "{col}__t" IS NOT NULL').fetchall()[0][0]
    refused = date_findings(col, values, reading, rows=counts, also_read=int(iso))
    for check, mask, kw in refused:
        con.register("date_bad", pd.DataFrame({"v": values[mask]}))
        n, ex = con.execute(f"SELECT count(*), min(_row, 5) FROM {rel} WHERE {c} IN (SELECT v FROM date_bad)"
                            ).fetchall()[0]
        con.unregister("date_bad")
        ck.problems.append(Problem("error", ck.table, check, int(n), ", ".join(map(str, ex or [])),
                                   MESSAGES[check].format(n=n, table=ck.table, **kw)))
    lut = pd.DataFrame({"v": values, "d": reading.parsed.astype("datetime64[us]")})
    con.register("date_lut", lut)
    con.execute(f'UPDATE {rel} SET "{col}__t" = CAST(l.d AS TIMESTAMP) FROM date_lut l '
                f"WHERE {rel}.{c} = l.v AND l.d IS NOT NULL")
    con.unregister("date_lut")
    return not refused


def _same_codes(con, ck: _SqlChecker) -> None:
    """Codes written with other case or surrounding spaces as the canonical code, as
    :func:`equity_helpers.data.checks.same_codes` does."""
    for col, allowed in TABLES[ck.table].codes.items():
        if col not in ck:
            continue
        c = _q(col)
        cases = " ".join(f"WHEN '{_lit(str(a).casefold())}' THEN '{_lit(a)}'" for a in allowed)
        con.execute(f"UPDATE {ck.rel} SET {c} = CASE {_LOW.format(c=c)} {cases} END WHERE {c} IS NOT NULL AND "
                    f"{c} NOT IN {_in(allowed)} AND {_LOW.format(c=c)} IN {_in(str(a).casefold() for a in allowed)}")


def _code_errors(ck: _SqlChecker) -> list[tuple[str, str, dict]]:
    """Keys, codes and flags, as :func:`equity_helpers.data.validate.check_codes`."""
    spec = TABLES[ck.table]
    checks: list[tuple[str, str, dict]] = []
    if spec.key:
        k = _q(spec.key)
        if _has_duplicates(ck.con, ck.rel, k, f"dup_{ck.table}"):
            checks.append(("duplicate_id", f"{k} IN (SELECT k FROM dup_{ck.table})", {"column": spec.key}))
        checks.append(("missing_value", f"{k} IS NULL", {"column": spec.key}))
    for col, allowed in spec.codes.items():
        if col not in ck:  # an optional column the agency does not record
            continue
        c = _q(col)
        checks.append(("unknown_code", f"({c} IS NOT NULL AND {c} NOT IN {_in(allowed)})",
                       {"column": col, "codes": lambda cond, col=col: ck.codes(col, cond),
                        "allowed": ", ".join(allowed)}))
        if col not in MAY_BE_EMPTY:
            checks.append(("missing_value", f"{c} IS NULL", {"column": col}))
    for col in spec.flags:
        if col in ck:
            low = _LOW.format(c=_q(col))
            # CASE evaluates the lower-casing only for the rare value that is not "0" or "1"
            checks.append(("unknown_code", f"(CASE WHEN {_q(col)} IS NULL OR {_q(col)} IN ('0', '1') THEN false "
                                           f"ELSE {low} NOT IN {_in(sorted(TRUE | FALSE))} END)",
                           {"column": col, "codes": lambda cond, col=col: ck.codes(col, cond),
                            "allowed": "1/0, yes/no, true/false"}))
    return checks


def _has_duplicates(con, rel: str, key: str, into: str) -> bool:
    """Whether ``key`` repeats in ``rel``; if so the repeated values are written to table ``into``.

    Values are grouped by their 64-bit hash first (integers group fast); only values whose hash
    repeats are compared as text, so a hash collision never reports a false duplicate. The table
    ``<into>_h`` keeps the repeated hashes (empty: every value's hash is distinct).
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into}_h AS SELECT hash({key}) AS h FROM {rel} "
                f"WHERE {key} IS NOT NULL GROUP BY 1 HAVING count(*) > 1")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT {key} AS k FROM {rel} WHERE {key} IS NOT NULL "
                f"AND hash({key}) IN (SELECT h FROM {into}_h) GROUP BY 1 HAVING count(*) > 1")
    return bool(con.execute(f"SELECT count(*) FROM {into}").fetchone()[0])


def _fy(col: str, calendar: bool) -> str:
    return f"year({col})" if calendar else f"(year({col}) + CASE WHEN month({col}) >= 10 THEN 1 ELSE 0 END)"


_KID = "LEFT JOIN kid_status k ON k.child_id = w.child_id"


def validate_sql(con, tables: Sequence[str], *, pandas_tables: dict[str, pd.DataFrame] | None = None,
                 notes: dict[str, str | None] | None = None, first_year: int | None = None,
                 last_year: int | None = None, calendar: bool = False,
                 extract_date: str | pd.Timestamp | None = None) -> "Extract":
    """Validate the tables read into ``con`` (work tables ``w_<name>``) by the rules of
    :func:`equity_helpers.counting.load.validate`, in SQL for the child-level tables.

    Returns an :class:`Extract` whose clean tables stay in DuckDB, or raises one
    :class:`DataValidationError` with every problem (the same problems, in the same order, as the
    pandas validation of the same tables).
    """
    problems: list[Problem] = []
    notes = notes or {}
    pandas_tables = pandas_tables or {}
    sql, pdc, usable = _open_checkers(con, tables, pandas_tables, notes, problems)
    _match_places(con, sql, pdc, problems)
    good = {name for name in sql if usable[name]}  # the usable child-level tables
    _check_codes_and_dates(con, sql, good)
    data_end = _exclude_future_dates(con, sql, good, extract_date)
    if "population" in pdc and usable["population"]:
        validate_population(pdc["population"])
    if "counts" in pdc and usable["counts"]:
        validate_counts(pdc["counts"])
    after_end = "future_date" if extract_date is not None else "after_data_end"
    if "children" in good:
        _check_children(con, sql["children"], data_end, after_end)
    fy_sql = _fy('w."report_date__t"', calendar)
    if "reports" in good:
        first_year, last_year = _check_reports(con, sql["reports"], "children" in good, fy_sql, first_year,
                                               last_year, calendar)
    if "episodes" in good:
        _check_episodes(sql["episodes"], "children" in good, data_end, after_end)
    if "counts" in pdc and usable["counts"]:
        first_year, last_year = years_of_counts(pdc["counts"], first_year, last_year)
    if "population" in pdc and usable["population"] and first_year is not None:
        _check_population_places(con, sql, pdc, first_year, last_year)
    _check_links(con, sql, good, problems)
    accounting = _accounting(sql, pdc)
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(problems)
    _clean_views(con, sql, fy_sql)
    frames = {name: ck.kept().reset_index(drop=True) for name, ck in pdc.items()}
    if data_end is None:
        data_end = pd.Timestamp(f"{last_year}-09-30") if last_year else pd.Timestamp.today().normalize()
    hashed = "children" in good and not con.execute("SELECT count(*) FROM dup_children_h").fetchone()[0]
    return Extract(con=con, tables=tuple(sql), population=frames.get("population"), counts=frames.get("counts"),
                   hashed_ids=bool(hashed),
                   first_year=int(first_year) if first_year is not None else 0,
                   last_year=int(last_year) if last_year is not None else 0,
                   calendar=calendar, data_end=pd.Timestamp(data_end), problems=problems, accounting=accounting)


def _open_checkers(con, tables: Sequence[str], pandas_tables: dict[str, pd.DataFrame],
                   notes: dict[str, str | None], problems: list[Problem]
                   ) -> tuple[dict[str, _SqlChecker], dict[str, Checker], dict[str, bool]]:
    """A checker for every table supplied, in :data:`TABLES` order (SQL for the work tables, pandas for the
    others), and whether each table is usable (present, with rows and columns); the problems of a missing
    table or of no records at all are recorded."""
    sql: dict[str, _SqlChecker] = {}
    pdc: dict[str, Checker] = {}
    usable: dict[str, bool] = {}
    present = set(tables) | set(pandas_tables)
    for name in TABLES:
        if name not in present:
            continue
        if name in tables:
            ck: Any = _SqlChecker(con, name, problems)
            sql[name] = ck
            n, cols = ck.n, ck.columns
        else:
            ck = Checker(name, as_read(pandas_tables[name]), problems)
            pdc[name] = ck
            n, cols = len(ck.df), list(ck.df.columns)
        usable[name] = table_present(name, n, cols, notes.get(name), problems)
    records_supplied(present, problems)
    return sql, pdc, usable


def _match_places(con, sql: dict[str, _SqlChecker], pdc: dict[str, Checker], problems: list[Problem]) -> None:
    """Place names spelled as the population spells them, as :func:`equity_helpers.data.validate` does
    (:func:`equity_helpers.data.places.canonical_places`), in the work tables and the pandas tables."""
    pop = pdc.get("population")
    pop_names = pop.df["jurisdiction"] if pop is not None and "jurisdiction" in pop.df else None
    used: dict[str, pd.Series] = {}
    for name in PLACE_TABLES:
        if name in sql and "jurisdiction" in sql[name]:
            got = con.execute(f"SELECT jurisdiction, count(*) FROM {sql[name].rel} WHERE jurisdiction IS NOT NULL "
                              "GROUP BY 1").fetchall()
            used[name] = pd.Series({k: n for k, n in got}, dtype="int64")
        elif name in pdc and "jurisdiction" in pdc[name].df:
            used[name] = pdc[name].df["jurisdiction"].value_counts(sort=False)
    renames, found = canonical_places(pop_names, used)
    problems += found
    if not renames:
        return
    con.register("place_lut", pd.DataFrame({"v": list(renames), "to": list(renames.values())}))
    for ck in sql.values():
        if "jurisdiction" in ck:
            con.execute(f"UPDATE {ck.rel} SET jurisdiction = l.to FROM place_lut l WHERE {ck.rel}.jurisdiction = l.v")
    con.unregister("place_lut")
    for ck in pdc.values():
        if "jurisdiction" in ck.df:
            ck.df["jurisdiction"] = ck.df["jurisdiction"].map(lambda v: renames.get(v, v))


def _check_codes_and_dates(con, sql: dict[str, _SqlChecker], good: set[str]) -> None:
    """Each usable child-level table's keys, codes and flags (errors), then its dates read (those not
    ``YYYY-MM-DD`` through pandas) and the rows with an unreadable date excluded."""
    for name, ck in sql.items():
        if name not in good:
            continue
        _same_codes(con, ck)
        ck.errors(_code_errors(ck))
        if name == "children" and all(c in ck for c in RACE_FLAGS):
            none = " AND ".join(f'w."{c}__t" = 0' for c in RACE_FLAGS)
            n, ex = con.execute(f"SELECT count(*), min(_row, 5) FROM {ck.rel} w WHERE {none}").fetchall()[0]
            if n:
                ck.problems.append(Problem("warning", name, "no_race_flag", int(n), ", ".join(map(str, ex)),
                                           MESSAGES["no_race_flag"].format(n=n)))
        dates = TABLES[name].dates
        other = {col: _date_values(con, ck.rel, col) for col in dates}
        order = table_order([v["v"] for v in other.values()])
        read = [col for col in dates if _fix_dates(con, ck, col, other[col], order)]
        ck.exclude([("unreadable_date", f'"{col}__t" IS NULL' + (f" AND {_q(col)} IS NOT NULL"
                                                                 if col == "exit_date" else ""), {"column": col})
                    for col in read])


def _exclude_future_dates(con, sql: dict[str, _SqlChecker], good: set[str],
                          extract_date: str | pd.Timestamp | None) -> pd.Timestamp | None:
    """Reports and episodes dated after the extract date (or today) excluded; returns the data's end: the
    extract date when given, else the latest date kept (None without any)."""
    limit = pd.Timestamp(extract_date) if extract_date is not None else pd.Timestamp.today().normalize()
    lim = f"TIMESTAMP '{limit}'"
    for name, cols in (("reports", ["report_date"]), ("episodes", ["entry_date", "exit_date"])):
        if name in good:
            sql[name].exclude([("future_date" if extract_date is not None else "after_today",
                                f'"{c}__t" > {lim}', {"column": c, "end": limit.date()}) for c in cols])
    latest: dict[str, list[pd.Timestamp]] = {}
    for name, cols in (("reports", ["report_date"]), ("episodes", ["entry_date", "exit_date"])):
        if name in good:
            latest_sql = ", ".join(f'max(w."{c}__t")' for c in cols)
            found = con.execute(f"SELECT {latest_sql} FROM {sql[name].rel} w WHERE {sql[name].kept}").fetchone()
            if any(d is not None for d in found):
                latest[name] = [pd.Timestamp(d) for d in found if d is not None]
    return data_end(extract_date, latest)


def _check_children(con, ck: _SqlChecker, data_end: pd.Timestamp | None, after_end: str = "future_date") -> None:
    """Children born after the data's end excluded; then ``kid_status`` (each child's id, whether it is
    excluded, its birth date), which the reports' and episodes' rules join (:data:`_KID`)."""
    if data_end is not None:
        end_sql = f"TIMESTAMP '{data_end}'"
        ck.exclude([(after_end, f'"birth_date__t" > {end_sql}', {"column": "birth_date", "end": data_end.date()})])
    if con.execute("SELECT count(*) FROM dup_children").fetchone()[0]:
        # repeated ids (an error, reported above): a child is excluded if any of its rows is, and
        # its birth date is the first row's, as pandas looks them up
        con.execute(f"""CREATE OR REPLACE TEMP TABLE kid_status AS
            SELECT w.child_id, bool_or(x._row IS NOT NULL) AS excluded,
                   arg_min(w."birth_date__t", w._row) AS birth
            FROM {ck.rel} w LEFT JOIN {ck.out} x ON x._row = w._row WHERE w.child_id IS NOT NULL
            GROUP BY w.child_id""")
    else:
        con.execute(f"""CREATE OR REPLACE TEMP VIEW kid_status AS
            SELECT w.child_id, x._row IS NOT NULL AS excluded, w."birth_date__t" AS birth
            FROM {ck.rel} w LEFT JOIN {ck.out} x ON x._row = w._row WHERE w.child_id IS NOT NULL""")


def _check_reports(con, ck: _SqlChecker, with_children: bool, fy_sql: str, first_year: int | None,
                   last_year: int | None, calendar: bool) -> tuple[int | None, int | None]:
    """The reports' exclusions (excluded or unknown child, finding without screen-in, before birth), then
    those outside the years; returns the years (unset ones from the reports kept)."""
    rules: list[tuple[str, str, dict]] = []
    if with_children:
        rules += [("child_excluded", "k.excluded", {}), ("unknown_child", "k.child_id IS NULL", {})]
    rules.append(("finding_without_screen_in",
                  f"coalesce(w.disposition, 'none') IN {_in(sorted(SUBSTANTIATED_DISPOSITIONS))} "
                  'AND w."screened_in__t" = 0', {"codes": ", ".join(sorted(SUBSTANTIATED_DISPOSITIONS))}))
    if with_children:
        rules.append(("before_birth", 'k.birth IS NOT NULL AND w."report_date__t" < k.birth', {}))
    ck.exclude(rules, join=_KID if with_children else "")
    lo, hi = con.execute(f'SELECT min({fy_sql}), max({fy_sql}) FROM {ck.rel} w WHERE '
                         f'w."report_date__t" IS NOT NULL AND {ck.kept}').fetchone()
    if first_year is None and lo is not None:
        first_year = int(lo)
    if last_year is None and hi is not None:
        last_year = int(hi)
    if first_year is not None and last_year is not None:
        label = (f"{'' if calendar else 'FY'}{first_year}-{'' if calendar else 'FY'}{last_year}")
        ck.exclude([("outside_period", f"{fy_sql} < {int(first_year)} OR {fy_sql} > {int(last_year)}",
                     {"periods": label})])
    return first_year, last_year


def _check_episodes(ck: _SqlChecker, with_children: bool, data_end: pd.Timestamp | None,
                    after_end: str = "future_date") -> None:
    """The episodes' exclusions: excluded or unknown child, dates after the data's end, exits out of order
    or without a reason (or a reason without an exit), a placement count below one."""
    rules: list[tuple[str, str, dict]] = []
    if with_children:
        rules += [("child_excluded", "k.excluded", {}), ("unknown_child", "k.child_id IS NULL", {})]
    entry, exit_ = 'w."entry_date__t"', 'w."exit_date__t"'
    if data_end is not None:
        end_sql = f"TIMESTAMP '{data_end}'"
        rules += [(after_end, f"{entry} > {end_sql}", {"column": "entry_date", "end": data_end.date()}),
                  (after_end, f"{exit_} > {end_sql}", {"column": "exit_date", "end": data_end.date()})]
    rules += [("exit_before_entry", f"{exit_} IS NOT NULL AND {exit_} < {entry}", {}),
              ("exit_without_reason", f"{exit_} IS NOT NULL AND w.exit_reason IS NULL", {}),
              ("reason_without_exit", f"{exit_} IS NULL AND w.exit_reason IS NOT NULL", {}),
              ("bad_placement_count", 'w."placement_count__n" IS NULL OR w."placement_count__n" < 1', {})]
    ck.exclude(rules, join=_KID if with_children else "")


def _check_population_places(con, sql: dict[str, _SqlChecker], pdc: dict[str, Checker], first_year: int,
                             last_year: int | None) -> None:
    """The population table checked for every place of the records kept (reports, episodes, counts) and
    every year."""
    places: set[str] = set()
    for name in ("reports", "episodes"):
        if name in sql and "jurisdiction" in sql[name]:
            places |= {r[0] for r in con.execute(
                f"SELECT DISTINCT jurisdiction FROM {sql[name].rel} w WHERE jurisdiction IS NOT NULL AND "
                f"{sql[name].kept}").fetchall()}
    if "counts" in pdc and "jurisdiction" in pdc["counts"].df:
        c = pdc["counts"]
        places |= set(c.df.loc[c.excluded == "", "jurisdiction"].dropna())
    check_population_cells(pdc["population"], places, first_year, last_year)


def _check_links(con, sql: dict[str, _SqlChecker], good: set[str], problems: list[Problem]) -> None:
    """Most reports or episodes naming unknown children, or every row of a table left out: errors, as
    :func:`equity_helpers.data.validate` finds them (:mod:`equity_helpers.data.ids`)."""
    ids = None
    if "children" in good:
        ids = pd.Series([r[0] for r in con.execute(
            "SELECT child_id FROM w_children WHERE child_id IS NOT NULL ORDER BY _row").fetchall()], dtype=object)
    for name in ("children", "reports", "episodes"):
        if name not in good or not sql[name].n:
            continue
        ck = sql[name]
        reasons: dict[str, int] = {}
        for rule, n in con.execute(f"SELECT rule, count(*) FROM {ck.out} GROUP BY 1").fetchall():
            reasons[ck.rule_names[rule]] = reasons.get(ck.rule_names[rule], 0) + int(n)
        if name != "children" and ids is not None:
            rules = [i for i, r in enumerate(ck.rule_names) if r == "unknown_child"]
            unmatched = [r[0] for r in con.execute(
                f"SELECT w.child_id FROM {ck.rel} w JOIN {ck.out} x ON x._row = w._row WHERE x.rule IN "
                f"({', '.join(map(str, rules or [-1]))}) AND w.child_id IS NOT NULL GROUP BY 1 ORDER BY min(w._row) "
                "LIMIT 50").fetchall()]
            p = link_problem(name, reasons.get("unknown_child", 0), int(ck.n), [str(u) for u in unmatched],
                             ids.astype(str), ids.head(3).astype(str).tolist())
            if p is not None:
                problems.append(p)
                continue
        if sum(reasons.values()) == ck.n:
            problems.append(nothing_left(name, int(ck.n), reasons))


def _accounting(sql: dict[str, _SqlChecker], pdc: dict[str, Checker]) -> pd.DataFrame:
    """The row accounting of every table (read, excluded by reason, used), in :data:`TABLES` order."""
    acc: list[tuple[str, str, str, int]] = []
    for name in TABLES:
        if name in sql:
            acc.extend(sql[name].accounting())
        elif name in pdc:
            acc.extend(pdc[name].accounting())
    return pd.DataFrame(acc, columns=["table", "outcome", "reason", "rows"])


def _clean_views(con, sql: dict[str, _SqlChecker], fy_sql: str) -> None:
    """The clean tables as views named after the tables: used rows, typed columns under their own names, the
    source's column order (and the reports' ``period``)."""
    for name, ck in sql.items():
        have = {r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE {ck.rel})").fetchall()}
        sel = []
        for c in ck.columns:
            if name == "reports" and c == "disposition":
                sel.append("coalesce(w.disposition, 'none') AS disposition")
            elif c in EQUITY_COLUMNS:  # not recorded: unknown
                sel.append(f"coalesce(w.{_q(c)}, 'unknown') AS {_q(c)}")
            elif name == "episodes" and c == "placement_count":
                sel.append('CAST(trunc(coalesce(w."placement_count__n", 0)) AS BIGINT) AS placement_count')
            elif f"{c}__t" in have:
                sel.append(f'w."{c}__t" AS {_q(c)}')
            else:
                sel.append(f"w.{_q(c)}")
        if name == "reports":
            sel.append(f"CAST({fy_sql} AS BIGINT) AS period")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(sel)} FROM {ck.rel} w "
                    f"WHERE {ck.kept}")


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


class Extract(ValidatedData):
    """A validated extract whose child-level tables live in DuckDB (see the module docstring).

    It answers everything a :class:`~equity_helpers.data.validate.ValidatedData` answers: ``children``,
    ``reports`` and ``episodes`` are read into pandas on first use only, and
    :func:`equity_helpers.counting.stages.stage_counts` counts in SQL through :meth:`count_events`. Pickling
    turns it into a plain :class:`~equity_helpers.data.validate.ValidatedData`.
    """

    def __init__(self, *, con, tables: Sequence[str], population: pd.DataFrame | None,
                 counts: pd.DataFrame | None, first_year: int, last_year: int, calendar: bool,
                 data_end: pd.Timestamp, problems: list[Problem], accounting: pd.DataFrame,
                 hashed_ids: bool = False):
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
        self.not_in_files: dict[str, str] = {}
        self.unread_columns: dict[str, list[str]] = {}  # optional columns the caller chose not to read
        self._side: dict[str, pd.DataFrame | None] = {"dv_services": None, "meetings": None}
        self._side_stored: set[str] = set()  # side tables of a stored extract, read from it on first use
        self._frames: dict[str, pd.DataFrame] = {}
        self._memo: dict[str, list[str]] = {}
        self._cubes: dict[tuple[str, ...], pd.DataFrame] = {}
        self._key = "hash(child_id)" if hashed_ids else "child_id"
        self._followed = f"TIMESTAMP '{data_end}' - INTERVAL {LINK_DAYS} DAY"

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
            self._frames[name] = self._typed(self.con.execute(f"SELECT * FROM {name} ORDER BY _row").df())
        return self._frames[name]

    def columns_of(self, name: str) -> list[str]:
        """The columns of a child-level table (none when the extract lacks it), without reading it."""
        if name not in self.tables:
            return []
        return [r[0] for r in self.con.execute(f"SELECT column_name FROM (DESCRIBE {name})").fetchall()]

    def known_children(self, ids: pd.Series) -> np.ndarray:
        """Which of ``ids`` (text) are validated children: a boolean array, answered by a join in DuckDB."""
        q = pd.DataFrame({"i": np.arange(len(ids), dtype="int64"), "child_id": ids.astype(str).to_numpy()})
        self.con.execute("SELECT 1").fetchall()  # completes a result left open (registering needs none)
        self.con.register("ids_asked", q)
        try:
            hit = self.con.execute("SELECT i FROM ids_asked SEMI JOIN children USING (child_id)").fetchnumpy()["i"]
        finally:
            self.con.unregister("ids_asked")
        out = np.zeros(len(ids), dtype=bool)
        out[np.asarray(hit, dtype="int64")] = True
        return out

    def children_with_episodes(self) -> pd.DataFrame:
        """The children who have an episode (in the children table's order): what time in care reads."""
        if "children@episodes" not in self._frames:
            df = self.con.execute("SELECT * FROM children c WHERE child_id IN (SELECT child_id FROM episodes) "
                                  "ORDER BY _row").df()
            self._frames["children@episodes"] = self._typed(df)
        return self._frames["children@episodes"]

    @staticmethod
    def _typed(df: pd.DataFrame) -> pd.DataFrame:
        for c in df.columns:
            if str(df[c].dtype).startswith("datetime64"):
                df[c] = df[c].astype("datetime64[ns]")
        if "period" in df:
            df["period"] = df["period"].astype("Int64")
        return df

    def _side_table(self, name: str) -> pd.DataFrame | None:
        if name in self._side_stored:  # a stored extract's side table: read when first asked for
            self._side_stored.discard(name)
            self._side[name] = self._typed(self.con.execute(f"SELECT * FROM stored.{name}").df())
        return self._side[name]

    def _set_side_table(self, name: str, value: pd.DataFrame | None) -> None:
        self._side_stored.discard(name)
        self._side[name] = value

    dv_services = property(lambda self: self._side_table("dv_services"),  # type: ignore[assignment]
                           lambda self, v: self._set_side_table("dv_services", v),
                           doc="The partner's validated services (read from a stored extract on first use).")
    meetings = property(lambda self: self._side_table("meetings"),  # type: ignore[assignment]
                        lambda self, v: self._set_side_table("meetings", v),
                        doc="The validated family meetings (read from a stored extract on first use).")

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
        if "jurisdictions" not in self._memo:
            self._memo["jurisdictions"] = self._places()
        return list(self._memo["jurisdictions"])

    def _places(self) -> list[str]:
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
        """The same data as a plain :class:`~equity_helpers.data.validate.ValidatedData` (records in pandas)."""
        return ValidatedData(children=self.children, reports=self.reports, episodes=self.episodes,
                             population=self.population, counts=self.counts, first_year=self.first_year,
                             last_year=self.last_year, calendar=self.calendar, data_end=self.data_end,
                             problems=list(self.problems), accounting=self.accounting.copy(),
                             dv_services=self.dv_services, meetings=self.meetings,
                             not_in_files=dict(self.not_in_files))

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
        for name in ("population", "counts", "dv_services", "meetings"):
            t = getattr(self, name)
            h.update(name.encode())
            if t is not None:
                h.update(",".join(map(str, t.columns)).encode())
                h.update(pd.util.hash_pandas_object(t, index=False).to_numpy().tobytes())
        return h.digest()

    # ----------------------------------------------------------------------- counting
    def _kid_columns(self) -> list[str]:
        return [r[0] for r in self.con.execute("SELECT column_name FROM (DESCRIBE children)").fetchall()]

    def _event_sql(self) -> tuple[list[str], list[str]]:
        """CTEs and UNION ALL parts giving every first event ``(jurisdiction, period, birth_date, kt, stage,
        date)`` of both levels, per county and for the state counted from the records (the rules of
        :func:`equity_helpers.counting.stages._level_events`); ``kt`` is the child's kind (see :meth:`cube`).
        Reads the temp tables ``kids`` and ``rep_first`` that :meth:`cube` builds; the reports' own stages are
        counted there, in one scan."""
        fy, ly = int(self.first_year), int(self.last_year)
        key = self._key
        followed = self._followed
        cols = "jurisdiction, period, birth_date, kt"
        ctes: list[str] = []
        parts: list[str] = []
        if "reports" in self.tables and "episodes" in self.tables:
            # children whose first finding (followed for LINK_DAYS) was followed by an entry, in the same place
            # for a county, anywhere for the state
            parts.append(
                f"SELECT {cols}, 'entered_after_substantiation', substantiated FROM rep_first f SEMI JOIN ep e2 "
                "ON e2.ck = f.ck AND (f.state OR e2.jurisdiction = f.jurisdiction) AND "
                f"{_days('f.substantiated', 'e2.entry_date')} BETWEEN 0 AND {LINK_DAYS} WHERE f.substantiated <= {followed}")
        if "episodes" in self.tables:
            ent, out = _fy("entry_date", self.calendar), _fy("exit_date", self.calendar)
            ctes.append(f"ep AS MATERIALIZED (SELECT e.*, k.birth_date, k.kt FROM (SELECT {key} AS ck, jurisdiction, "
                        f"entry_date, exit_date, exit_reason, first_placement, _row, {ent} AS p_in, {out} AS p_out "
                        "FROM episodes) e LEFT JOIN kids k USING (ck))")
            for lvl, j in (("c", "jurisdiction"), ("s", f"'{_STATE}'")):
                ctes += [
                    f"fe_{lvl} AS (SELECT e.ck, {j} AS jurisdiction, e.p_in AS period, e.entry_date AS date, "
                    "e.exit_date, e.exit_reason, e.first_placement, e.birth_date, e.kt, "
                    f"e.birth_date + INTERVAL 18 YEAR AS eighteen, {_days('e.entry_date', 'e.exit_date')} AS stay "
                    f"FROM ep e WHERE e.p_in BETWEEN {fy} AND {ly} "
                    f"QUALIFY row_number() OVER (PARTITION BY e.ck, {j}, e.p_in ORDER BY e.entry_date, e._row) = 1)",
                    f"x_{lvl} AS (SELECT e.ck, {j} AS jurisdiction, e.p_out AS period, e.exit_date AS date, "
                    "e.exit_reason, e.birth_date, e.kt FROM ep e "
                    f"WHERE e.exit_date IS NOT NULL AND e.p_out BETWEEN {fy} AND {ly})",
                    f"fam_{lvl} AS (SELECT ck, {cols}, min(date) AS date FROM x_{lvl} "
                    f"WHERE exit_reason IN {_in(sorted(FAMILY_EXITS))} GROUP BY ALL)"]
                minor = "coalesce(exit_date < eighteen, false)"
                parts += [
                    f"SELECT {cols}, 'entered_care', date FROM fe_{lvl}",
                    f"SELECT {cols}, 'first_placement_kin', date FROM fe_{lvl} WHERE first_placement = 'kin'",
                    f"SELECT {cols}, 'first_placement_congregate', date FROM fe_{lvl} "
                    "WHERE first_placement = 'congregate'",
                    f"SELECT {cols}, 'permanency_12m', date FROM fe_{lvl} "
                    f"WHERE exit_reason IN {_in(sorted(PERMANENT_EXITS))} AND stay < 365 AND {minor}",
                    f"SELECT {cols}, 'reunified_12m', date FROM fe_{lvl} "
                    f"WHERE exit_reason = 'reunification' AND stay < 365 AND {minor}",
                    f"SELECT {cols}, 'in_care_24m_plus', date FROM fe_{lvl} WHERE exit_date IS NULL OR stay >= 730",
                    f"SELECT {cols}, 'exited', min(date) FROM x_{lvl} GROUP BY ck, {cols}",
                    f"SELECT {cols}, 'aged_out', min(date) FROM x_{lvl} WHERE exit_reason = 'emancipation' "
                    f"GROUP BY ck, {cols}",
                    f"SELECT {cols}, 'exited_to_family', date FROM fam_{lvl}",
                    f"SELECT {cols}, 'reentry_12m', date FROM fam_{lvl} f WHERE EXISTS (SELECT 1 FROM ep e2 "
                    "WHERE e2.ck = f.ck AND e2.entry_date > f.date AND e2.entry_date <= f.date + INTERVAL 365 DAY)"]
        return ctes, parts

    def cube(self, extras: Sequence[str] = ()) -> pd.DataFrame:
        """Counted first events of both levels, by everything a breakdown can use: ``jurisdiction``,
        ``period``, ``stage``, ``age_group`` (at the event; "18+" for events left out), ``sex``, the race
        flags, ``hispanic``, and ``n`` (children: one first event per child, place, period and stage).
        Built in SQL; every :meth:`count_events` (any race scheme, any breakdown) is then a small pandas
        aggregate of it.

        ``extras``: child columns to carry as well (the optional equity columns a breakdown asks for).
        Without them the cube is built once for every race scheme, age and sex; asked for any, it is built
        once more with every equity column the children table has, which then serves every breakdown.
        (Each column multiplies the kinds of children, so carrying them all by default made the state-size
        count of race alone 70% slower.)

        Children are keyed by the 64-bit hash of their id when validation found every child's hash
        distinct (integers join and group several times faster than text), else by the id itself.
        """
        kid = self._kid_columns()
        if extras:
            extras = tuple(c for c in EXTRA_DIMS if c not in ("age_group", "sex") and c in kid)
        extras = tuple(extras)
        if extras in self._cubes:
            return self._cubes[extras]
        kind = ", ".join(_q(a) for a in ("sex", *RACE_FLAGS, "hispanic", *extras))
        key = self._key
        # a child's kind: every attribute a breakdown or a race scheme uses, as one 64-bit hash, so the
        # records carry a number instead of a dozen columns (the kinds are expanded once at the end)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE kids AS SELECT {key} AS ck, birth_date, hash({kind}) AS kt "
                         "FROM children")
        if "reports" in self.tables:
            self._report_firsts()
        ctes, parts = self._event_sql()
        age = lambda d: _age_group_sql(_days("birth_date", d))  # noqa: E731
        counted = []
        if parts:
            counted.append(f"SELECT jurisdiction, period, stage, {age('date')} AS age_group, kt, count(*) AS n "
                           f"FROM ({' UNION ALL '.join(parts)}) ev(jurisdiction, period, birth_date, kt, stage, date) "
                           "GROUP BY ALL")
        if "reports" in self.tables:
            # the reports' stages from the cells of first dates, unfolded
            cells = "jurisdiction, period"
            counted += [f"SELECT {cells}, 'reported', g_rep, kt, n FROM rep_cells",
                        f"SELECT {cells}, 'screened_in', g_sci, kt, n FROM rep_cells WHERE g_sci IS NOT NULL",
                        f"SELECT {cells}, 'substantiated', g_sb, kt, n FROM rep_cells WHERE g_sb IS NOT NULL"]
            if "episodes" in self.tables:
                counted.append(f"SELECT {cells}, 'substantiated_followed', g_sb, kt, n FROM rep_cells WHERE followed")
        with_ = ("WITH " + ", ".join(ctes) + " ") if ctes else ""
        counted = self.con.execute(
            f"{with_}SELECT jurisdiction, CAST(period AS BIGINT) AS period, stage, age_group, kt, "
            f"CAST(sum(n) AS BIGINT) AS n FROM ({' UNION ALL '.join(counted)}) "
            "t(jurisdiction, period, stage, age_group, kt, n) GROUP BY ALL").df()
        self.con.execute("DROP TABLE IF EXISTS rep_cells")
        kinds = self.con.execute(f"SELECT DISTINCT hash({kind}) AS kt, {kind} FROM children").df()
        self.con.execute("DROP TABLE IF EXISTS rep_first")
        self.con.execute("DROP TABLE IF EXISTS kids")
        cube = counted.merge(kinds, on="kt", how="left").drop(columns="kt")
        cube["n"] = cube["n"].astype("int64")
        self._cubes[extras] = cube
        return cube

    def _report_firsts(self) -> None:
        """The temp tables the report stages are counted from (reads ``kids``):

        * ``rep_cells`` - children by place (each county and the state), period, kind, age group at the first
          report, first screened-in report and first finding, and whether that finding can be followed
          (:data:`equity_helpers.counting.stages.LINK_DAYS` before the data end);
        * ``rep_first`` - the children whose first finding can be followed, per place and period, with the
          finding's date (for ``entered_after_substantiation``).

        First dates are grouped per child and period once. A child reported in one place that year has the
        same first dates in that county and in the state, so its row is counted for both; only children
        reported in several places that year (few) are grouped again per place. The state's children are
        still counted from the records, each once.
        """
        key = self._key
        subst = _in(sorted(SUBSTANTIATED_DISPOSITIONS))
        firsts = ("min(report_date) AS reported, min(report_date) FILTER (WHERE screened_in = 1) AS screened_in, "
                  f"min(report_date) FILTER (WHERE screened_in = 1 AND disposition IN {subst}) AS substantiated")
        age = lambda d: _age_group_sql(_days("birth_date", d))  # noqa: E731
        ages = (f"{age('reported')} AS g_rep, CASE WHEN screened_in IS NOT NULL THEN {age('screened_in')} END AS g_sci, "
                f"CASE WHEN substantiated IS NOT NULL THEN {age('substantiated')} END AS g_sb, "
                f"coalesce(substantiated <= {self._followed}, false) AS followed")
        con = self.con
        con.execute(f"""CREATE OR REPLACE TEMP TABLE rep_kid AS
            SELECT r.*, k.birth_date, k.kt FROM (
                SELECT {key} AS ck, period, min(jurisdiction) AS jurisdiction,
                       count(jurisdiction) = count(*) AND min(jurisdiction) = max(jurisdiction) AS single, {firsts}
                FROM reports GROUP BY ALL) r LEFT JOIN kids k USING (ck)""")
        multi = con.execute("SELECT count(*) FROM rep_kid WHERE NOT single").fetchall()[0][0]
        place = "SELECT ck, jurisdiction, period, reported, screened_in, substantiated, birth_date, kt FROM "
        if multi:  # per place, for the children reported in several places that year
            con.execute(f"""CREATE OR REPLACE TEMP TABLE rep_multi AS
                SELECT r.*, k.birth_date, k.kt FROM (
                    SELECT ck, jurisdiction, period, {firsts} FROM (SELECT {key} AS ck, * FROM reports)
                    SEMI JOIN (SELECT ck, period FROM rep_kid WHERE NOT single) m USING (ck, period) GROUP BY ALL) r
                LEFT JOIN kids k USING (ck)""")
        places = f"{place}rep_kid WHERE single" + (f" UNION ALL {place}rep_multi" if multi else "")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE rep_cells AS
            WITH kid_cells AS (SELECT period, kt, {ages}, count(*) AS n FROM rep_kid GROUP BY ALL)
            SELECT '{_STATE}' AS jurisdiction, * FROM kid_cells
            UNION ALL SELECT jurisdiction, period, kt, {ages}, count(*) AS n FROM ({places}) GROUP BY ALL""")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE rep_first AS
            SELECT ck, jurisdiction, period, substantiated, false AS state, birth_date, kt FROM ({places})
            WHERE substantiated <= {self._followed}
            UNION ALL SELECT ck, '{_STATE}', period, substantiated, true, birth_date, kt FROM rep_kid
            WHERE substantiated <= {self._followed}""")
        con.execute("DROP TABLE rep_kid")
        con.execute("DROP TABLE IF EXISTS rep_multi")

    def count_events(self, *, scheme: RaceScheme, bys: Sequence[Sequence[str]], include_state: bool,
                     include_counties: bool) -> list[tuple[pd.DataFrame, int]]:
        """Unique children per place, period, group, ``by`` levels and stage for each ``by`` of ``bys``:
        ``(counts, events left out at age 18 or older)`` per breakdown (the counting half of
        :func:`equity_helpers.counting.stages.stage_counts_each`, the same rules).

        Breakdowns of a child's kind are aggregates of :meth:`cube`; those with a report breakdown
        (:data:`~equity_helpers.counting.stages.REPORT_DIMS`) are counted together from the records in pandas.
        """
        # a report's note is per child, place and year, not a child's kind: counted from the records in
        # pandas (the same rules as every other breakdown), all such breakdowns at once
        from_reports = [i for i, by in enumerate(bys) if any(b in REPORT_DIMS for b in by)]
        tagged: dict[bool, tuple[pd.DataFrame, int]] = {}  # per cube: with the equity columns or without
        counted = {}
        kid = self._kid_columns()
        for i, by in enumerate(bys):
            if i in from_reports:
                continue
            _check_child_columns(by, kid)
            extras = tuple(b for b in by if b not in ("age_group", "sex"))
            if bool(extras) not in tagged:
                tagged[bool(extras)] = self._tagged_cube(scheme=scheme, extras=extras, include_state=include_state,
                                                         include_counties=include_counties)
            events, excluded = tagged[bool(extras)]
            counted[i] = _cube_tally(events, by), excluded
        if from_reports:
            together = _count_events(self.to_validated(), scheme, [list(bys[i]) for i in from_reports],
                                     include_state=include_state, include_counties=include_counties)
            counted.update(zip(from_reports, together))
        return [counted[i] for i in range(len(bys))]

    def _tagged_cube(self, *, scheme: RaceScheme, extras: tuple[str, ...], include_state: bool,
                     include_counties: bool) -> tuple[pd.DataFrame, int]:
        """The :meth:`cube` of ``extras`` with its events at 18 or older left out, a row per event and group
        in the scheme and one in the ``all`` group: ``(tagged cube, events left out at age 18 or older)``.
        Every breakdown of a child's kind that reads the same cube is a group-by of it (:func:`_cube_tally`)."""
        cube = self.cube(extras)
        state = cube["jurisdiction"] == _STATE
        ev = cube[(state & include_state) | (~state & include_counties)]
        adult = ev["age_group"] == "18+"
        excluded = int(ev.loc[adult, "n"].sum())
        ev = ev[~adult].reset_index(drop=True)
        g = assign_groups(ev[[*RACE_FLAGS, "hispanic"]].assign(child_id=np.arange(len(ev))), scheme=scheme)
        tagged = pd.concat([ev.iloc[g["child_id"].to_numpy()].assign(race_ethnicity=g["race_ethnicity"].to_numpy()),
                            ev.assign(race_ethnicity="all")], ignore_index=True)
        return tagged, excluded


def _cube_tally(tagged: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Children of a tagged cube (:meth:`Extract._tagged_cube`) per place, period, group, ``by`` levels and
    stage."""
    keys = ["jurisdiction", "period", "race_ethnicity", *by]
    counts = tagged.groupby(keys + ["stage"], observed=True)["n"].sum().rename("count").reset_index()
    counts["period"] = counts["period"].astype("Int64")
    counts["count"] = counts["count"].astype("int64")
    return counts


def _rebuild(data: ValidatedData) -> ValidatedData:
    return data


# --------------------------------------------------------------------------- entry points
def load_extract(data_dir=None, *, mapping=None, first_year: int | None = None, last_year: int | None = None,
                 calendar: bool = False, extract_date=None, con=None, without: Sequence[str] = (),
                 unused_columns: Mapping[str, Sequence[str]] | None = None) -> Extract:
    """Read a data folder or mapping into DuckDB and validate it there (the DuckDB twin of
    :func:`equity_helpers.counting.load.load`).

    For a caller that uses only part of the data (the measures command: :func:`equity_helpers.counting.extracts.
    measures_from_records`), what it does not use is not read, so neither checked nor kept:

    without : optional side tables (:data:`equity_helpers.data.validate.SIDE_TABLES`), e.g. a partner's
        services; they are not in the accounting either.
    unused_columns : optional columns per table (``TABLES[name].optional``, e.g. ``{"children":
        ["lgbtq"], "reports": ["family_hash"]}``). The columns found and left out are in the extract's
        ``unread_columns``.
    """
    odd = sorted(set(without) - set(SIDE_TABLES))
    odd += [f"{t}.{c}" for t, cols in (unused_columns or {}).items() for c in cols
            if t not in CHILD_TABLES or c not in TABLES[t].optional]
    if odd:
        raise ParameterError(f"Only optional tables ({', '.join(SIDE_TABLES)}) and optional columns of the "
                             f"child-level tables can be left unread, not {odd}.")
    m = resolve_mapping(data_dir, mapping)
    con = con if con is not None else connect()
    notes: dict[str, str | None] = {}
    frames: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    unread: dict[str, list[str]] = {}
    for name in (n for n in m.tables if n not in without):
        try:
            if name in CHILD_TABLES:
                unread[name] = []
                notes[name] = _read_into(con, name, m, drop=tuple((unused_columns or {}).get(name, ())),
                                         dropped=unread[name])
            else:
                frames[name] = read_table(name, m)
                notes[name] = frames[name].attrs.get("read_note")
        except Exception as exc:  # every unreadable source is reported together
            problems.append(Problem("error", name, "unreadable_source", 0, "",
                                    f"The {name} table could not be read: {exc}"))
    if problems:
        raise DataValidationError(problems)
    side = {name: frames.pop(name) for name in SIDE_TABLES if name in frames}
    end = extract_date if extract_date is not None else m.extract_date
    ext = validate_with_side_tables(lambda: validate_sql(
        con, [n for n in m.tables if n in CHILD_TABLES], pandas_tables=frames, notes=notes, first_year=first_year,
        last_year=last_year, calendar=calendar, extract_date=end), side, extract_date=end)
    ext.unread_columns = {t: cols for t, cols in unread.items() if cols}
    if m.note:
        ext.problems.insert(0, Problem("warning", "sources", "mapping_found", 0, "", m.note))
    return ext


def validate_frames(raw: dict[str, pd.DataFrame], *, first_year: int | None = None, last_year: int | None = None,
                    calendar: bool = False, extract_date=None, con=None) -> Extract:
    """:func:`equity_helpers.counting.load.validate` of in-memory tables, checked and counted in DuckDB."""
    con = con if con is not None else connect()
    notes: dict[str, str | None] = {}
    frames: dict[str, pd.DataFrame] = {}
    child: list[str] = []
    for name, df in raw.items():
        if df is None or name not in TABLES:
            continue
        notes[name] = df.attrs.get("read_note")
        if name in CHILD_TABLES:
            _register_frame(con, name, df)
            child.append(name)
        else:
            frames[name] = df
    return validate_sql(con, child, pandas_tables=frames, notes=notes, first_year=first_year,
                        last_year=last_year, calendar=calendar, extract_date=extract_date)
