"""Benchmark: the full sample batch against the bare papermill floor, through the same path.

    python benchmarks/bench_batch.py [--workers 2] [--floor-runs 20]

Runs every notebook for every sample jurisdiction (``run_batch`` with ``force``), then runs an
empty parameterised notebook the same number of times per worker through the same machinery
(papermill's Python API in worker processes, offline HTML export). Prints seconds per notebook
run for both and their ratio.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat

from equity_helpers.batch import Task, _execute, run_batch

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--floor-runs", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        m = run_batch(data_dir=str(SAMPLE), out=tmp / "batch", workers=args.workers, force=True, progress=False)
        batch_s = time.perf_counter() - t
        runs = len(m["runs"])
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("jurisdiction = 'x'\nmode = 'batch'")
        cell.metadata["tags"] = ["parameters"]
        nb.cells = [cell, nbformat.v4.new_code_cell("pass")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        empty = tmp / "empty.ipynb"
        nbformat.write(nb, str(empty))
        tasks = [Task(notebook=str(empty), jurisdiction=f"j{i}", out_dir=str(tmp / "floor" / f"j{i}"),
                      parameters={"jurisdiction": f"j{i}", "mode": "batch"}) for i in range(args.floor_runs)]
        t = time.perf_counter()
        results = list(_execute(tasks, workers=args.workers, scheduler=None))
        floor_s = time.perf_counter() - t
        assert all(r["status"] == "ok" for r in results), results
    per_batch = batch_s / runs
    per_floor = floor_s / len(tasks)
    print(f"full sample batch: {runs} notebook runs ({m['failed']} failed) in {batch_s:.1f} s "
          f"= {per_batch:.2f} s per run with {args.workers} workers")
    print(f"papermill floor:   {len(tasks)} empty-notebook runs in {floor_s:.1f} s = {per_floor:.2f} s per run")
    print(f"ratio batch / floor per run: {per_batch / per_floor:.2f}x")


if __name__ == "__main__":
    main()
