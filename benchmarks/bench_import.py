"""Benchmark: a large state's NCANDS year and the matching AFCARS files through ``equity-workbook import``.

    python benchmarks/bench_import.py                      # 1 million NCANDS records (issue 27's target)
    python benchmarks/bench_import.py --records 3000000    # larger

1. The files, generated once into ``--work`` by DuckDB (CSV, state submission spelling): ``--records`` NCANDS
   records of FY2024 (about 1.33 per child, 66 counties), and AFCARS files of FY2023 and FY2024 for one child
   in 25 (their NCANDS records name them by AFCARSID); a counties file.
2. The import, in a fresh process: :func:`equity_helpers.data.federal.import_federal` (read, check, link,
   rebuild episodes, write Parquet and the accounting); its time and the process's peak resident memory.

Issue 27's target: under 60 s on 2 cores and under 2 GiB. Nothing is asserted; the figures are printed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generate(folder: Path, records: int) -> dict[str, list[str]]:
    """The NCANDS, AFCARS and counties files of a made-up state (no real person), in ``folder``."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / f".records-{records}"
    files = {"ncands": [str(folder / "ncands_2024.csv")],
             "afcars": [str(folder / "afcars_2023.csv"), str(folder / "afcars_2024.csv")],
             "counties": [str(folder / "counties.csv")]}
    if stamp.exists():
        return files
    children = int(records / 1.33)
    con = duckdb.connect()
    con.execute(f"""COPY (
        SELECT 2024 AS SUBYR, 'SD' AS STATERR, 'R' || i AS RPTID, 'C' || c AS CHID,
               lpad(CAST((c % 66) * 2 + 1 AS VARCHAR), 3, '0') AS RPTCNTY,
               strftime(DATE '2023-10-01' + CAST(h % 330 AS INTEGER), '%Y-%m-%d') AS RPTDT,
               strftime(DATE '2023-10-01' + CAST(h % 330 AS INTEGER) + 25, '%Y-%m-%d') AS RPTDISDT,
               ['01', '02', '03', '04', '05', '05', '05', '07'][CAST(h % 8 AS INTEGER) + 1] AS RPTDISP,
               CAST(c % 18 AS VARCHAR) AS CHAGE, CAST(c % 2 + 1 AS VARCHAR) AS CHSEX,
               CASE WHEN c % 50 = 0 THEN '1' ELSE '2' END AS CHRACAI,
               CASE WHEN c % 40 = 1 THEN '1' ELSE '2' END AS CHRACAS,
               CASE WHEN c % 5 = 2 THEN '1' ELSE '2' END AS CHRACBL,
               CASE WHEN c % 200 = 3 THEN '1' ELSE '2' END AS CHRACNH,
               CASE WHEN c % 5 IN (0, 1, 3, 4) THEN '1' ELSE '2' END AS CHRACWH,
               '2' AS CHRACUD, CASE WHEN c % 4 = 0 THEN '1' ELSE '2' END AS CHETHN,
               ['1', '2', '2', '9'][CAST(h % 4 AS INTEGER) + 1] AS FCVIOL,
               CASE WHEN c % 25 = 0 THEN 'A' || c ELSE '' END AS AFCARSID
        FROM (SELECT i, i % {children} AS c, hash(i) AS h FROM range({records}) t(i))
    ) TO '{files['ncands'][0]}' (HEADER, DELIMITER ',')""")
    for fy, path in ((2023, files["afcars"][0]), (2024, files["afcars"][1])):
        con.execute(f"""COPY (
            SELECT 'A' || c AS RECNUMBR, {fy} AS FY, 'SD' AS ST,
                   strftime(DATE '2023-10-01' - CAST(c % 18 AS INTEGER) * 365 - 200, '%Y-%m-%d') AS DOB,
                   CAST(c % 2 + 1 AS VARCHAR) AS SEX, CASE WHEN c % 50 = 0 THEN '1' ELSE '0' END AS AMIAKN,
                   '0' AS ASIAN, CASE WHEN c % 5 = 2 THEN '1' ELSE '0' END AS BLKAFRAM, '0' AS HAWAIIPI,
                   CASE WHEN c % 5 <> 2 THEN '1' ELSE '0' END AS WHITE, '0' AS UNTODETM,
                   CASE WHEN c % 4 = 0 THEN '1' ELSE '2' END AS HISORGIN, '1' AS TOTALREM,
                   strftime(DATE '2022-10-01' + CAST(hash(c) % 330 AS INTEGER), '%Y-%m-%d') AS REM1DT, '' AS DLSTFCDT,
                   strftime(DATE '2022-10-01' + CAST(hash(c) % 330 AS INTEGER), '%Y-%m-%d') AS LATREMDT,
                   CAST(hash(c) % 4 + 1 AS VARCHAR) AS NUMPLEP, '3' AS CURPLSET,
                   CASE WHEN {fy} = 2024 AND c % 3 = 0 THEN '2024-05-01' ELSE '' END AS DODFCDT,
                   CASE WHEN {fy} = 2024 AND c % 3 = 0 THEN '1' ELSE '0' END AS DISREASN,
                   '46' || lpad(CAST((c % 66) * 2 + 1 AS VARCHAR), 3, '0') AS FIPSCODE
            FROM range(0, {children}, 25) t(c)
        ) TO '{path}' (HEADER, DELIMITER ',')""")
    con.execute(f"""COPY (SELECT '46' || lpad(CAST(k * 2 + 1 AS VARCHAR), 3, '0') AS fips, 'County ' || (k + 1) AS
                    jurisdiction FROM range(66) t(k)) TO '{files['counties'][0]}' (HEADER, DELIMITER ',')""")
    stamp.touch()
    return files


def run_import(files: dict[str, list[str]], out: Path) -> dict:
    """The import in a fresh process: seconds, peak resident memory and the accounting summary."""
    code = f"""
import json, resource, time
from equity_helpers.data.federal import import_federal
t, c = time.perf_counter(), time.process_time()
r = import_federal(ncands={files['ncands']!r}, afcars={files['afcars']!r}, counties={files['counties'][0]!r},
                   out={str(out)!r})
s, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({{"seconds": round(s, 1), "cpu_seconds": round(cpu, 1), "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "summary": r.summary.to_dict("records")}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=os.environ)
    if done.returncode != 0:
        raise SystemExit(f"the import failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=1_000_000, help="NCANDS records (default: 1,000,000)")
    p.add_argument("--work", default=str(ROOT / "build" / "bench_import"), help="folder for the generated files")
    args = p.parse_args()
    work = Path(args.work)
    t = time.perf_counter()
    files = generate(work / f"files-{args.records}", args.records)
    print(f"files ready in {time.perf_counter() - t:.1f} s: "
          + ", ".join(f"{Path(f).name} {os.path.getsize(f) / 1e6:.0f} MB" for k in ("ncands", "afcars") for f in files[k]))
    got = run_import(files, work / "out")
    for row in got["summary"]:
        print(f"  {row['table']}: {row['read']:,} read, {row['used']:,} used, {row['excluded']:,} left out")
    load = os.getloadavg()[0]
    print(f"import: {got['seconds']} s ({got['cpu_seconds']} s of CPU time over every thread), peak memory "
          f"{got['peak_mib']:,} MiB (target: under 60 s and 2,048 MiB on 2 cores; {os.cpu_count()} cores here, "
          f"load average {load:.1f} at the end: other work on the machine stretches the wall time)")


if __name__ == "__main__":
    main()
