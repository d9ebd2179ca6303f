"""A validated extract stored once.

Validating a state's files takes seconds (:mod:`equity_helpers.counting.engine`); notebooks, widget panels and
batch runs that open the same data again need not repeat it. :func:`load_cached` keeps the validated
extract as one DuckDB file in a folder the user names (``cache_dir`` or ``$EQUITY_WORKBOOK_EXTRACTS``),
keyed by the source files (names, sizes, modification times), the mapping, the settings and the
workbook's validation code, and opens it read-only in a fraction of a second the next time.

The stored file holds child-level records (validated, nothing more), so nothing is stored unless a
folder is named; keep it where the agency keeps the extract itself, never in a reports folder. The
folder is created private to the user (mode 0700).

The whole path from files to the measures table is :mod:`equity_helpers.run.pipeline`.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from equity_helpers import settings
from equity_helpers.counting.engine import Extract, connect, load_extract
from equity_helpers.data.sources import parquet_parts, resolve_mapping
from equity_helpers.data.validate import SIDE_TABLES
from equity_helpers.errors import Problem
from equity_helpers.settings import code_fingerprint

__all__ = ["extract_key", "load_cached", "store_extract", "open_extract"]


_CODE = ("equity_helpers.counting.engine", "equity_helpers.counting.load", "equity_helpers.data.checks",
         "equity_helpers.data.validate", "equity_helpers.data.sources", "equity_helpers.schema",
         "equity_helpers.counting.extracts")
"""The modules whose code decides what a stored extract holds (a change to any of them stores it anew)."""


def extract_key(data_dir=None, *, mapping=None, **settings) -> str:
    """The key of a stored extract: the source files (name, size, modification time), the mapping,
    the validation settings and the workbook's validation code. Any change gives a new key."""

    m = resolve_mapping(data_dir, mapping)
    h = hashlib.sha256()
    h.update(json.dumps({"tables": m.tables, "database": m.database, "extract_date": m.extract_date},
                        sort_keys=True, default=str).encode())
    for name in sorted(m.tables):
        spec = m.tables[name]
        if "path" in spec:
            p = Path(m.base_dir) / spec["path"]
            for f in parquet_parts(p) or [p]:
                st = f.stat()
                h.update(f"{name}|{f.name}|{st.st_size}|{st.st_mtime_ns}".encode())
        else:  # a database query: its answer can change at any time, so the key changes every day
            h.update(f"{name}|query|{pd.Timestamp.today().date()}".encode())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    h.update(code_fingerprint(*_CODE).encode())
    return h.hexdigest()[:32]


def store_extract(extract: Extract, path: str | Path) -> Path:
    """Write a validated extract to one DuckDB file (written beside it, then moved into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".storing-", suffix=".duckdb")
    os.close(fd)
    os.unlink(tmp)  # DuckDB creates the file itself
    con = extract.con
    con.execute(f"ATTACH '{tmp}' AS store")
    try:
        for name in extract.tables:
            con.execute(f"CREATE TABLE store.{name} AS SELECT * FROM {name} ORDER BY _row")
        for name in ("population", "counts", "dv_services", "meetings"):
            frame = getattr(extract, name)
            if frame is not None:
                f = frame.copy()
                if "_row" in f:
                    f["_row"] = f["_row"].astype("int64")
                con.register("frame_store", f)
                con.execute(f"CREATE TABLE store.{name} AS SELECT * FROM frame_store")
                con.unregister("frame_store")
        problems = pd.DataFrame([vars(p) for p in extract.problems],
                                columns=["severity", "table", "check", "rows", "examples", "message"])
        con.register("frame_store", problems)
        con.execute("CREATE TABLE store.problems AS SELECT * FROM frame_store")
        con.register("frame_store", extract.accounting)
        con.execute("CREATE TABLE store.accounting AS SELECT * FROM frame_store")
        con.unregister("frame_store")
        meta = {"tables": list(extract.tables), "first_year": extract.first_year, "last_year": extract.last_year,
                "calendar": extract.calendar, "data_end": str(extract.data_end),
                "hashed_ids": extract._key != "child_id", "unread_columns": extract.unread_columns,
                "frames": [n for n in ("population", "counts", "dv_services", "meetings")
                           if getattr(extract, n) is not None]}
        con.execute("CREATE TABLE store.meta AS SELECT ? AS meta", [json.dumps(meta)])
    finally:
        con.execute("DETACH store")
    os.replace(tmp, path)
    return path


def open_extract(path: str | Path) -> Extract:
    """Open a stored extract read-only (:func:`store_extract`); its records stay on disk."""
    con = connect()
    con.execute(f"ATTACH '{Path(path)}' AS stored (READ_ONLY)")
    meta = json.loads(con.execute("SELECT meta FROM stored.meta").fetchone()[0])
    for name in meta["tables"]:
        con.execute(f"CREATE TEMP VIEW {name} AS SELECT * FROM stored.{name}")

    frames = {}
    for name in (n for n in meta["frames"] if n not in SIDE_TABLES):  # side tables are read when first used
        f = con.execute(f"SELECT * FROM stored.{name}").df()
        if "_row" in f:
            f["_row"] = f["_row"].astype(object)
        frames[name] = f
    problems = [Problem(r.severity, r.table, r.check, int(r.rows), r.examples, r.message)
                for r in con.execute("SELECT * FROM stored.problems").df().itertuples()]
    accounting = con.execute("SELECT * FROM stored.accounting").df()
    accounting["rows"] = accounting["rows"].astype("int64")
    ext = Extract(con=con, tables=meta["tables"], population=frames.get("population"),
                   counts=frames.get("counts"), first_year=int(meta["first_year"]),
                   last_year=int(meta["last_year"]), calendar=bool(meta["calendar"]),
                   data_end=pd.Timestamp(meta["data_end"]), problems=problems, accounting=accounting,
                   hashed_ids=bool(meta["hashed_ids"]))
    ext._side_stored = set(SIDE_TABLES) & set(meta["frames"])
    ext.unread_columns = meta.get("unread_columns", {})
    return ext


def extracts_dir(cache_dir=None) -> Path | None:
    """The folder of stored extracts: ``cache_dir``, else ``$EQUITY_WORKBOOK_EXTRACTS``, else none."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = settings.EXTRACTS.get()
    return Path(env) if env and env.lower() != "off" else None


def load_cached(data_dir=None, *, mapping=None, cache_dir=None, first_year: int | None = None,
                last_year: int | None = None, calendar: bool = False, extract_date=None,
                without: Sequence[str] = (), unused_columns: dict[str, Sequence[str]] | None = None) -> Extract:
    """Validate the data once and keep the extract in the named folder; later calls with the same files,
    mapping and settings open the stored extract instead (well under a second for a state).

    Without a folder (``cache_dir`` or ``$EQUITY_WORKBOOK_EXTRACTS``) this is
    :func:`equity_helpers.counting.engine.load_extract`. Data with errors are never stored: the error is raised
    as always.
    """
    folder = extracts_dir(cache_dir)
    kw = dict(first_year=first_year, last_year=last_year, calendar=calendar, extract_date=extract_date,
              without=tuple(sorted(without)),
              unused_columns={t: sorted(c) for t, c in sorted((unused_columns or {}).items())})
    if folder is None:
        return load_extract(data_dir, mapping=mapping, **kw)
    key = extract_key(data_dir, mapping=mapping, **kw)
    path = folder / f"extract-{key}.duckdb"
    if path.exists():
        try:
            return open_extract(path)
        except Exception:  # a damaged file is rebuilt
            path.unlink(missing_ok=True)
    ex = load_extract(data_dir, mapping=mapping, **kw)
    store_extract(ex, path)
    return ex


