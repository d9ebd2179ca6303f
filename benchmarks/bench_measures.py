"""Benchmark: every measure for every county, year, group and stage of a large generated state.

    python benchmarks/bench_measures.py --reports 5000000

Prints the size of the state, the time of each step (validate, stage counts, population, measures
with suppression) and the peak resident memory of the process. Generation time is printed but is
not part of the measured pipeline.
"""
from __future__ import annotations

import argparse
import resource
import time

import equity_helpers as eh
from equity_helpers import sample


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    t0 = time.perf_counter()
    scale = sample.scale_for_children(int(args.reports / (1 + sample.PLANTED["extra_reports_mean"])))
    state = sample.generate(seed=args.seed, scale=scale)
    t_gen = time.perf_counter() - t0
    print(f"generated: {len(state.reports):,} reports, {len(state.children):,} children, "
          f"{len(state.episodes):,} episodes in {t_gen:.1f} s")
    raw = {k: v.astype(str) for k, v in state.tables().items()}
    for k in ("episodes",):
        raw[k] = raw[k].replace({"": None})
    steps = {}
    t = time.perf_counter()
    data = eh.validate(raw)
    steps["validate"] = time.perf_counter() - t
    t = time.perf_counter()
    counts = eh.stage_counts(data)
    steps["stage counts"] = time.perf_counter() - t
    t = time.perf_counter()
    pop = eh.population_table(data)
    steps["population"] = time.perf_counter() - t
    t = time.perf_counter()
    table = eh.measures(counts, pop)
    steps["measures + suppression"] = time.perf_counter() - t
    for k, v in steps.items():
        print(f"{k:>24}: {v:7.1f} s")
    print(f"{'total pipeline':>24}: {sum(steps.values()):7.1f} s  ({len(table):,} measure rows, "
          f"{int(table['suppressed'].sum()):,} suppressed)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak memory':>24}: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
