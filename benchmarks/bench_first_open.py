"""Benchmark: the first open of a notebook with nothing run before (issue 28, "the first open is slow").

    python benchmarks/bench_first_open.py [--notebook notebooks/04_entry_to_care.ipynb] [--repeat 1]

Executes the notebook as a reader opening it would (interactive mode, the sample data) in a fresh kernel with
an empty release cache, and prints the seconds; then once more with the cache the first run filled (every
later open). The notebook's own output is not kept.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(notebook: Path, cache: str) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    os.environ["EQUITY_WORKBOOK_CACHE"] = cache  # the kernel inherits it
    t = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notebook", default=str(ROOT / "notebooks" / "04_entry_to_care.ipynb"))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    nb = Path(args.notebook).resolve()
    cold, warm = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-first-open-") as cache:
            cold.append(run_once(nb, cache))
            warm.append(run_once(nb, cache))
    print(f"{nb.name}: first open (empty release cache) {min(cold):.1f} s; "
          f"later opens {min(warm):.1f} s (best of {args.repeat})")


if __name__ == "__main__":
    main()
