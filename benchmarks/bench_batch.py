"""Benchmark: a batch against the bare papermill floor, through the same path, and the size of its output.

    python benchmarks/bench_batch.py [--data DIR] [--workers 2] [--floor-runs 20] [--notebooks a,b]
    equity-workbook sample --out /tmp/state87 --counties 87     # a state the size of a large one
    python benchmarks/bench_batch.py --data /tmp/state87

Runs every notebook (or the chosen ones) for every jurisdiction (``run_batch`` with ``force``: each
worker runs its notebooks in one warm kernel), then runs an empty parameterised notebook through the
same machinery (papermill's Python API in worker processes, the same task runner and HTML export),
once with a new kernel per notebook (papermill's floor: what papermill alone costs a run) and once
through the warm kernels. Prints the mean seconds one run takes inside a worker and the wall time per
run, the ratios, the one-off cost before the runs (loading,
validation, the protected release table), and the sizes the batch wrote: total, per report, per
executed notebook, the shared assets.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from equity_helpers.run.batch import Task, execute_tasks, run_batch

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _size(paths) -> int:
    return sum(p.stat().st_size for p in paths)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(SAMPLE))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--floor-runs", type=int, default=20)
    ap.add_argument("--notebooks", default="all")
    ap.add_argument("--fresh-kernels", action="store_true", help="run the batch with a new kernel per notebook")
    args = ap.parse_args()
    notebooks = "all" if args.notebooks == "all" else args.notebooks.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "batch"
        t = time.perf_counter()
        m = run_batch(data_dir=args.data, out=out, workers=args.workers, force=True, progress=False,
                      notebooks=notebooks, fresh_kernels=args.fresh_kernels)
        batch_s = time.perf_counter() - t
        runs = [r for r in m["runs"] if r["status"] == "ok"]
        run_s = statistics.mean(r["seconds"] for r in runs)
        files = [p for p in out.rglob("*") if p.is_file()]
        reports = [p for p in files if p.suffix == ".html" and p.name != "index.html"]
        executed = [p for p in files if p.suffix == ".ipynb"]
        assets = [p for p in files if p.parent.name == "assets"]
        total = _size(files)

        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("jurisdiction = 'x'\nmode = 'batch'")
        cell.metadata["tags"] = ["parameters"]
        nb.cells = [cell, nbformat.v4.new_code_cell("pass")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        empty = tmp / "empty.ipynb"
        nbformat.write(nb, str(empty))
        tasks = [Task(notebook=str(empty), jurisdiction=f"j{i}", out_dir=str(tmp / "floor" / f"j{i}"),
                      parameters={"jurisdiction": f"j{i}", "mode": "batch"}, assets="../assets")
                 for i in range(args.floor_runs)]
        floors = {}
        for warm in (False, True):  # papermill's own way (a new kernel per notebook), then the batch's path
            t = time.perf_counter()
            results = list(execute_tasks(tasks, workers=args.workers, scheduler=None, warm=warm))
            assert all(r["status"] == "ok" for r in results), results
            floors[warm] = (time.perf_counter() - t, statistics.mean(r["seconds"] for r in results))
        floor_s, floor_run = floors[False]
        places = len({r["jurisdiction"] for r in m["runs"]})
        print(f"batch: {len(m['runs'])} notebook runs for {places} places ({m['failed']} failed) in {batch_s:.1f} s")
        print(f"  one run inside a worker: {run_s:.2f} s (mean); wall per run with {args.workers} workers: "
              f"{batch_s / len(m['runs']):.2f} s including the one-off work (loading, validation, the protected "
              f"release, the index: about {batch_s - sum(r['seconds'] for r in runs) / args.workers:.0f} s)")
        print(f"papermill floor: {len(tasks)} empty-notebook runs, each in a new kernel as papermill starts them, "
              f"in {floor_s:.1f} s; one run inside a worker: {floor_run:.2f} s")
        print(f"ratio per run (batch / papermill floor, inside a worker): {run_s / floor_run:.2f}x")
        print(f"the same empty runs through the batch's warm kernels: {floors[True][0]:.1f} s; one run inside a "
              f"worker: {floors[True][1]:.2f} s (ratio of the batch to it: {run_s / floors[True][1]:.2f}x)")
        print(f"output: {total / 1e6:.1f} MB in {len(files)} files; report HTML mean {_size(reports) / len(reports) / 1e3:.0f} KB "
              f"(max {max(p.stat().st_size for p in reports) / 1e3:.0f} KB); executed notebook mean "
              f"{_size(executed) / len(executed) / 1e3:.0f} KB; shared assets {_size(assets) / 1e6:.2f} MB")

if __name__ == "__main__":
    main()
