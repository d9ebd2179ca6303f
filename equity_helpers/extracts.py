"""A validated extract stored once, and child-level files to the full measures table in one call.

Stored extracts
---------------
Validating a state's files takes seconds (:mod:`equity_helpers.engine`); notebooks, widget panels and
batch runs that open the same data again need not repeat it. :func:`load_cached` keeps the validated
extract as one DuckDB file in a folder the user names (``cache_dir`` or ``$EQUITY_WORKBOOK_EXTRACTS``),
keyed by the source files (names, sizes, modification times), the mapping, the settings and the
workbook's validation code, and opens it read-only in a fraction of a second the next time.

The stored file holds child-level records (validated, nothing more), so nothing is stored unless a
folder is named; keep it where the agency keeps the extract itself, never in a reports folder. The
folder is created private to the user (mode 0700).

From records to measures
------------------------
:func:`measures_from_records` is what ``equity-workbook measures --data DIR`` runs: read and
validate, count unique children at every decision point (every county and the state, every year,
group and stage), the population, and every measure with its interval and suppression.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from .engine import Extract, connect, load_extract
from .errors import ParameterError, Problem

__all__ = ["EXTRACTS_ENV", "extract_key", "load_cached", "store_extract", "open_extract", "measures_from_records"]

EXTRACTS_ENV = "EQUITY_WORKBOOK_EXTRACTS"
"""Environment variable naming the folder of stored validated extracts (unset: nothing is stored)."""

_CODE = ("engine.py", "validate.py", "sources.py", "schema.py", "extracts.py")


def extract_key(data_dir=None, *, mapping=None, **settings) -> str:
    """The key of a stored extract: the source files (name, size, modification time), the mapping,
    the validation settings and the workbook's validation code. Any change gives a new key."""
    from .sources import parquet_parts, resolve_mapping

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
    here = Path(__file__).resolve().parent
    for mod in _CODE:
        h.update((here / mod).read_bytes())
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
    from .validate import SIDE_TABLES

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
    env = os.environ.get(EXTRACTS_ENV, "").strip()
    return Path(env) if env and env.lower() != "off" else None


def load_cached(data_dir=None, *, mapping=None, cache_dir=None, first_year: int | None = None,
                last_year: int | None = None, calendar: bool = False, extract_date=None,
                without: Sequence[str] = (), unused_columns: dict[str, Sequence[str]] | None = None) -> Extract:
    """Validate the data once and keep the extract in the named folder; later calls with the same files,
    mapping and settings open the stored extract instead (well under a second for a state).

    Without a folder (``cache_dir`` or ``$EQUITY_WORKBOOK_EXTRACTS``) this is
    :func:`equity_helpers.engine.load_extract`. Data with errors are never stored: the error is raised
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


def measures_from_records(data_dir=None, *, mapping=None, reference: str = "white", scheme: str = "hispanic_first",
                          suppress: bool = True, policy=None, cache_dir=None, progress: bool = True,
                          on_step: Callable[[str, float], None] | None = None, by: str | None = None,
                          reference_level: str | None = None) -> tuple[pd.DataFrame, Extract]:
    """Child-level files to the full measures table: every county and the state, every year, group,
    decision point and basis, with intervals, significance and suppression (``policy``, default
    :data:`equity_helpers.suppression.DEFAULT_POLICY`; ``suppress=False`` for internal analysis only).

    ``by``: one breakdown (:data:`equity_helpers.stages.EXTRA_DIMS`, e.g. ``"disability"``), a column of the
    output; race groups are compared with ``reference`` within each of its levels (race x the breakdown).
    With ``reference_level`` the levels are compared instead: each level against that one (``reference``
    names it), within every race group and all children (``race_ethnicity``). Counts about sexual
    orientation and gender identity (``lgbtq``) are suppressed up to 20, not 10
    (:attr:`equity_helpers.disclosure.Protection.strict_max_count`).

    Steps: read and validate (:func:`load_cached`), stage counts (:func:`equity_helpers.stages.stage_counts`,
    counted in DuckDB), population (:func:`equity_helpers.stages.population_table`), measures
    (:func:`equity_helpers.measures.measures`). ``progress`` shows a bar on standard error;
    ``on_step(name, seconds)`` is told how long each step took.

    Returns
    -------
    (measures table, the validated extract)
    """
    from tqdm.auto import tqdm

    from .measures import measures
    from .schema import SCHEMES
    from .stages import population_table, stage_counts
    from .suppression import DEFAULT_POLICY

    if scheme not in SCHEMES:
        raise ParameterError(f"Unknown race scheme {scheme!r}; choose one of {', '.join(SCHEMES)}.")
    steps = ["reading and validating the records", "counting children at each decision point",
             "population", "measures, intervals and suppression"]
    bar = tqdm(total=len(steps), unit="step", disable=not progress, leave=False)
    state: dict = {}

    def run(i: int, fn):
        bar.set_description(steps[i])
        t = time.perf_counter()
        out = fn()
        if on_step is not None:
            on_step(steps[i], time.perf_counter() - t)
        bar.update(1)
        return out

    from dataclasses import replace

    from .disclosure import Protection
    from .release import STRICT_BREAKDOWNS
    from .stages import EXTRA_DIMS

    if by is not None and by not in EXTRA_DIMS:
        raise ParameterError(f"Cannot break measures down by {by!r}; choose from {', '.join(EXTRA_DIMS)}.")
    if reference_level is not None and by is None:
        raise ParameterError("A reference level needs a breakdown (--by).")
    pol = (policy or DEFAULT_POLICY) if suppress else None
    if pol is not None and by in STRICT_BREAKDOWNS:
        pol = replace(pol, max_count=max(pol.max_count, Protection().strict_max_count))
    dims = (by,) if by else ()
    # what the measures use: the breakdown's optional table or column, nothing else optional. The rest is not
    # read at all (a state's partner services, say, would otherwise be checked for a table never used)
    from .schema import TABLES
    from .sources import resolve_mapping
    from .stages import REPORT_DIMS
    from .validate import SIDE_TABLES

    from .engagement import MEETING_DIMS

    uses = {"dv_services": "dv_services", **{d: "meetings" for d in MEETING_DIMS}}
    present = resolve_mapping(data_dir, mapping).tables
    without = tuple(t for t in SIDE_TABLES if uses.get(by or "") != t)
    unused = {"children": [c for c in TABLES["children"].optional if c != by],
              # the DV note is read by every report-derived breakdown; the hash only links the partner's services
              "reports": (["dv_involved"] if by not in REPORT_DIMS else []) + (["family_hash"] if by != "dv_services"
                                                                                else [])}
    try:
        data = run(0, lambda: load_cached(data_dir, mapping=mapping, cache_dir=cache_dir, without=without,
                                          unused_columns=unused))
        skipped = [t for t in without if t in present] + [f"{t}.{c}" for t, cols in data.unread_columns.items()
                                                           for c in cols]
        if skipped:
            state["not_read"] = (f"Not read: {', '.join(skipped)} (optional; "
                                 f"{'these measures do' if by else 'measures by race do'} not use "
                                 f"{'it' if len(skipped) == 1 else 'them'}).")
        counts = run(1, lambda: stage_counts(data, scheme=scheme, by=dims))
        try:
            pop = run(2, lambda: population_table(data, scheme=scheme, by=dims))
        except ParameterError as exc:
            state["no_population"] = str(exc)
            pop = None
        if reference_level is not None:
            table = run(3, lambda: _level_measures(counts, pop, by=by, reference_level=reference_level, policy=pol))
        else:
            table = run(3, lambda: measures(counts, pop, reference=reference, policy=pol,
                                            bases=("population", "decision") if pop is not None else ("decision",)))
    finally:
        bar.close()
    table.attrs.update(state)
    return table, data


def _level_measures(counts: pd.DataFrame, pop: pd.DataFrame | None, *, by: str, reference_level: str,
                    policy) -> pd.DataFrame:
    """Measures with the levels of ``by`` in the place of groups (each against ``reference_level``), within
    every race group: the same formulas as race comparisons, the race group as a breakdown column."""
    from .measures import measures

    levels = set(counts[by].astype(str))
    if reference_level not in levels:
        raise ParameterError(f"{by!r} has no level {reference_level!r}; its levels are {', '.join(sorted(levels))}.")

    def swap(t: pd.DataFrame) -> pd.DataFrame:
        return t.rename(columns={"race_ethnicity": "_race"}).rename(columns={by: "race_ethnicity"})

    out = measures(swap(counts), None if pop is None else swap(pop), reference=reference_level, policy=policy,
                   bases=("population", "decision") if pop is not None else ("decision",), total_group="_none_")
    out = out.rename(columns={"race_ethnicity": by}).rename(columns={"_race": "race_ethnicity"})
    cols = list(out.columns)
    cols.remove("race_ethnicity")
    cols.insert(cols.index(by), "race_ethnicity")
    return out[cols]
