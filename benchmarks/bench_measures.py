"""Benchmark: child-level files of a large state to the full measures table, against a DuckDB floor.

    python benchmarks/bench_measures.py                       # 5 million reports
    python benchmarks/bench_measures.py --reports 25000000 --memory-limit 6GB   # out of core

1. The state: ``equity-workbook sample --children N --format parquet`` (about 1.25 reports per child),
   generated once into ``--work`` and reused. Above ``--base`` reports (5.5 million) the generated state
   is replicated with distinct ids (children, reports, episodes; the population multiplied) by DuckDB,
   so a 25-million-report state takes a minute to build, not the generator's memory.
2. The pipeline, in a fresh process: :func:`equity_helpers.extracts.measures_from_records` (read and
   validate, stage counts, population, every measure with suppression), each step's time and the
   process's peak resident memory.
3. The floor, in a fresh process: the unique-children counts of the report stages (reported, screened
   in, substantiated per county, fiscal year, race group and stage, and the state through grouping
   sets) as one DuckDB query over the same Parquet files; its time and peak memory.
4. Interactive redraw on the sample state (``--redraw-only``: just this): a decision-point view
   (measures, trend, county comparison, sentences, charts rendered to the page's HTML, table) after the
   first computation, for another county, years, reference group, age group and sex.

Nothing here is asserted; the figures are printed (and reported in the issue's closing note).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS_PER_CHILD = 1.25  # the generator's reports per reported child (measured: 5.49 M reports, 4.40 M children)


def _run_child(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh Python; it prints one JSON line (the last line of its output)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


def _generate(folder: Path, reports: int, seed: int) -> None:
    if (folder / "reports.parquet").exists():
        return
    children = int(reports / REPORTS_PER_CHILD)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "equity_helpers.cli", "sample", "--children", str(children),
                    "--format", "parquet", "--seed", str(seed), "--out", str(folder)], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    print(f"generated {folder} in {time.perf_counter() - t:.0f} s")


def _replicate(base: Path, folder: Path, copies: int) -> None:
    """``copies`` copies of a state with distinct ids (``k-`` prefixes); population multiplied."""
    if (folder / "reports.parquet").exists():
        return
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    t = time.perf_counter()
    prefix = {"children": ["child_id"], "reports": ["report_id", "child_id"], "episodes": ["episode_id", "child_id"]}
    for name, ids in prefix.items():
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{base / name}.parquet')").fetchall()]
        sel = ", ".join(f"k || '-' || {c} AS {c}" if c in ids else c for c in cols)
        con.execute(f"COPY (SELECT {sel} FROM read_parquet('{base / name}.parquet'), range({copies}) t(k)) "
                    f"TO '{folder / name}.parquet' (FORMAT parquet)")
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{base}/population.parquet')").fetchall()]
    sel = ", ".join(f"CAST(CAST(population AS BIGINT) * {copies} AS VARCHAR) AS population" if c == "population"
                    else c for c in cols)
    con.execute(f"COPY (SELECT {sel} FROM read_parquet('{base}/population.parquet')) "
                f"TO '{folder}/population.parquet' (FORMAT parquet)")
    print(f"replicated {base.name} x{copies} into {folder} in {time.perf_counter() - t:.0f} s")


PIPELINE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from equity_helpers.extracts import measures_from_records
steps = {}
table, data = measures_from_records(sys.argv[1] if len(sys.argv) > 1 else DATA, progress=False,
                                    on_step=lambda n, s: steps.__setitem__(n, s))
total = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import tempfile
from pathlib import Path
from equity_helpers.extracts import open_extract, store_extract
with tempfile.TemporaryDirectory() as tmp:
    t = time.perf_counter(); store_extract(data, Path(tmp) / "x.duckdb"); stored = time.perf_counter() - t
    t = time.perf_counter(); again = open_extract(Path(tmp) / "x.duckdb"); opened = time.perf_counter() - t
    size = (Path(tmp) / "x.duckdb").stat().st_size / 2**20
    again.con.close()
acc = data.accounting
print(json.dumps({"steps": steps, "total": total, "rows": len(table), "stored": stored, "opened": opened,
                  "store_mib": size,
                  "suppressed": int(table["suppressed"].sum()),
                  "reports": int(acc[(acc.table == "reports") & (acc.outcome == "read")]["rows"].sum()),
                  "children": int(acc[(acc.table == "children") & (acc.outcome == "read")]["rows"].sum()),
                  "episodes": int(acc[(acc.table == "episodes") & (acc.outcome == "read")]["rows"].sum()),
                  "peak_mib": peak}))
"""

FLOOR = r"""
import json, resource, time
import duckdb
t0 = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
import os
if os.environ.get("EQUITY_WORKBOOK_MEMORY"):
    con.execute(f"SET memory_limit = '{os.environ['EQUITY_WORKBOOK_MEMORY']}'")
    con.execute(f"SET temp_directory = '{os.environ['EQUITY_WORKBOOK_TEMP']}'")
groups = '''CASE WHEN hispanic = 'yes' THEN 'hispanic'
    WHEN race_aian + race_asian + race_black + race_nhpi + race_white >= 2 THEN 'multiracial'
    WHEN race_aian = 1 THEN 'aian' WHEN race_asian = 1 THEN 'asian' WHEN race_black = 1 THEN 'black'
    WHEN race_nhpi = 1 THEN 'nhpi' WHEN race_white = 1 THEN 'white' ELSE 'unknown' END'''
flags = ", ".join(f"CAST({c} AS INTEGER) AS {c}" for c in ("race_aian", "race_asian", "race_black", "race_nhpi", "race_white"))
n = con.execute(f'''
WITH k AS (SELECT child_id, {groups} AS grp FROM (SELECT child_id, hispanic, {flags} FROM read_parquet('DATA/children.parquet'))),
r AS (SELECT child_id, jurisdiction, CAST(report_date AS DATE) AS d, CAST(screened_in AS INTEGER) AS si, disposition
      FROM read_parquet('DATA/reports.parquet')),
ev AS (SELECT child_id, jurisdiction, year(d) + (month(d) >= 10)::INTEGER AS fy, 'reported' AS stage FROM r
       UNION ALL SELECT child_id, jurisdiction, year(d) + (month(d) >= 10)::INTEGER, 'screened_in' FROM r WHERE si = 1
       UNION ALL SELECT child_id, jurisdiction, year(d) + (month(d) >= 10)::INTEGER, 'substantiated' FROM r
       WHERE si = 1 AND disposition IN ('substantiated', 'indicated'))
SELECT count(*) FROM (SELECT jurisdiction, fy, grp, stage, count(DISTINCT child_id) AS children FROM ev JOIN k USING (child_id)
                      GROUP BY GROUPING SETS ((jurisdiction, fy, grp, stage), (fy, grp, stage)))''').fetchone()[0]
print(json.dumps({"total": time.perf_counter() - t0, "cells": n,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

REDRAW = r"""
import json, statistics, time
import altair as alt
import equity_helpers as eh
from equity_helpers.charts import RENDERER
from equity_helpers.views import Filters, Workbook, decision_point_view
alt.renderers.enable(RENDERER)  # what a notebook's setup_notebook enables
t0 = time.perf_counter()
wb = Workbook.load("data/sample")
stages = ["reported", "screened_in", "substantiated", "entered_care"]
fy, ly = wb.years
base = Filters(first_year=fy, last_year=ly)

def draw(f):
    t = time.perf_counter()
    v = decision_point_view(wb, stages=stages, filters=f)  # every number and sentence of the page
    t1 = time.perf_counter()
    for c in v.charts():  # every chart built and turned into the HTML the page shows
        c._repr_mimebundle_()
    v.table()
    return (t1 - t) * 1000, (time.perf_counter() - t1) * 1000

draw(base)
first = time.perf_counter() - t0
county = wb.jurisdictions[0]
changes = {"another county": Filters(jurisdiction=county, first_year=fy, last_year=ly),
           "other years": Filters(first_year=ly - 2, last_year=ly),
           "another reference": Filters(first_year=fy, last_year=ly, reference="all_other"),
           "an age group": Filters(first_year=fy, last_year=ly, age_group="0-4"),
           "one sex": Filters(first_year=fy, last_year=ly, sex="female")}
draw(changes["other years"])  # a window the view has not shown yet is published once, then reused
out = {}
for name, f in changes.items():
    times = [draw(f) for _ in range(5)]
    out[name] = [statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)]
print(json.dumps({"first": first, "redraw_ms": out}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", type=int, default=5_000_000, help="about this many hotline reports")
    ap.add_argument("--base", type=int, default=5_500_000, help="largest state generated directly; more is replicated")
    ap.add_argument("--work", default="/tmp/equity-bench", help="folder for the generated states (reused)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--memory-limit", default=None, help="DuckDB's memory limit, e.g. 6GB (spills to disk past it)")
    ap.add_argument("--no-redraw", action="store_true", help="skip the interactive redraw timing")
    ap.add_argument("--redraw-only", action="store_true", help="only the interactive redraw timing")
    args = ap.parse_args()
    if args.redraw_only:
        return _redraw()
    work = Path(args.work)
    base_reports = min(args.reports, args.base)
    base = work / f"state-{base_reports // 1000}k"
    _generate(base, base_reports, args.seed)
    folder = base
    copies = max(1, math.ceil(args.reports / base_reports)) if args.reports > args.base else 1
    if copies > 1:
        folder = work / f"state-{base_reports // 1000}k-x{copies}"
        _replicate(base, folder, copies)
    env = {"EQUITY_WORKBOOK_EXTRACTS": "off"}
    if args.memory_limit:
        env["EQUITY_WORKBOOK_MEMORY"] = args.memory_limit
        env["EQUITY_WORKBOOK_TEMP"] = str(work / "spill")
    print(f"\nstate: {folder}  (DuckDB memory limit: {args.memory_limit or 'default (80% of RAM)'}, 2 cores here: "
          f"{os.cpu_count()} seen)")
    run = _run_child(PIPELINE.replace("DATA", repr(str(folder))), env)
    print(f"{run['reports']:,} reports, {run['children']:,} children, {run['episodes']:,} episodes")
    for name, sec in run["steps"].items():
        print(f"  {name:>42}: {sec:6.2f} s")
    print(f"  {'files to measures (incl. imports)':>42}: {run['total']:6.2f} s   peak memory {run['peak_mib']:,.0f} MiB"
          f"   ({run['rows']:,} measure rows, {run['suppressed']:,} suppressed)")
    print(f"  {'stored extract: written / opened again':>42}: {run['stored']:6.2f} s / {run['opened']:.3f} s"
          f"   ({run['store_mib']:,.0f} MiB file)")
    floor = _run_child(FLOOR.replace("DATA", str(folder)), env)
    steps = run["steps"]
    ours = sum(v for k, v in steps.items() if k.startswith(("reading", "counting")))
    print(f"  {'DuckDB floor (report stages, one query)':>42}: {floor['total']:6.2f} s   peak memory "
          f"{floor['peak_mib']:,.0f} MiB   ({floor['cells']:,} cells)")
    print(f"  {'ratio: files to measures / floor':>42}: {run['total'] / floor['total']:6.2f}x"
          f"   (read, validate and count every stage / floor: {ours / floor['total']:.2f}x)")
    if not args.no_redraw:
        _redraw()


def _redraw() -> None:
    """Print the interactive redraw timings (a fresh process on the sample state)."""
    r = _run_child(REDRAW)
    print(f"\ninteractive redraw on the sample (first view {r['first']:.1f} s, includes load and release):")
    print(f"  {'filter change':>20}  {'numbers':>9}  {'charts':>9}  {'total':>9}   (median of 5; charts: "
          "built, rendered to the page's HTML, and the table)")
    for name, (data_ms, chart_ms) in r["redraw_ms"].items():
        print(f"  {name:>20}: {data_ms:6.1f} ms  {chart_ms:6.1f} ms  {data_ms + chart_ms:6.1f} ms")


if __name__ == "__main__":
    main()
