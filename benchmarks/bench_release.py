"""Benchmark: building and protecting a state's release table, and what the protection hides.

    python benchmarks/bench_release.py [--data DIR] [--repeat 1]
    equity-workbook sample --out /tmp/s7 --seed 7 && python benchmarks/bench_release.py --data /tmp/s7

Builds the release with no cache (the cold first open of a notebook pays this) and prints the seconds,
then the information loss the issue "Say more" measures, from the true values (never published):
cells hidden, hidden beyond the 1-10 rule, hidden counts above 50, all-children counts above 10 hidden,
and per place, over the whole range and all children, the share of decision-point cells (count > 0)
hidden against the share that are 1-10 (the "points beyond" the rule needs).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from equity_helpers.counting.load import load
from equity_helpers.release import table as T
from equity_helpers.schema import STAGES, STATE

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def loss(cells: pd.DataFrame, hidden: np.ndarray, *, first_year: int, last_year: int) -> dict:
    """Information-loss figures of a protected table (``cells`` with true ``value``)."""
    c = cells.assign(hidden=hidden)
    prim = (c["value"] >= 1) & (c["value"] <= 10)
    whole = T.Window(first_year, last_year).label
    dp = c["stage"].map(lambda s: STAGES[s].decision_point if s in STAGES else False).astype(bool)
    sel = c[(c["family"] == "stages") & (c["period"] == whole) & (c["subgroup"] == T.SUBGROUP_ALL) & dp
            & (c["value"] > 0)]
    per = sel.groupby("jurisdiction").agg(hidden=("hidden", "mean"), small=("value", lambda v: ((v <= 10)).mean()))
    per["beyond"] = 100 * (per["hidden"] - per["small"])
    return {
        "cells": len(c), "hidden": int(c["hidden"].sum()), "primary": int((prim & c["hidden"]).sum()),
        "beyond_rule": int((c["hidden"] & ~prim).sum()),
        "hidden_above_50": int((c["hidden"] & (c["value"] > 50)).sum()),
        "all_children_above_10_hidden": int((c["hidden"] & (c["value"] > 10) & (c["race_ethnicity"] == "all")
                                             & (c["subgroup"] == T.SUBGROUP_ALL)).sum()),
        "state_points_beyond": float(per.loc[STATE, "beyond"]) if STATE in per.index else float("nan"),
        "worst_county": per.drop(index=STATE, errors="ignore")["beyond"].idxmax(),
        "worst_county_points_beyond": float(per.drop(index=STATE, errors="ignore")["beyond"].max()),
        "per_place": per,
    }


def forced(cells: pd.DataFrame) -> dict:
    """Lower bounds the publication design itself sets, whatever the protection does (from the true values).

    * hidden counts above 50: a subgroup breakdown of the state (sex, an equity breakdown) whose one small level
      (1-10) sits beside levels and a total that are all above 50. The small count can move only if another
      number of that sum moves, and every other one is above 50: each such sum hides a count above 50 (the
      sums are disjoint, so the counts are distinct).
    * all-children counts above 10: a sum "state = counties" (one window, one decision point, all children) with
      exactly one county of 1-10 and every other non-zero number above 10.
    """
    c = cells[cells["family"] == "stages"] if "family" in cells else cells
    big = 0
    state = c[c["jurisdiction"] == STATE]
    for b in sorted({s.split(":")[0] for s in state["subgroup"] if s != T.SUBGROUP_ALL}):
        sub = state[state["subgroup"].str.startswith(b + ":") | (state["subgroup"] == T.SUBGROUP_ALL)]
        for _, g in sub.groupby(["period", "race_ethnicity", "stage"]):
            levels, total = g[g["subgroup"] != T.SUBGROUP_ALL], g[g["subgroup"] == T.SUBGROUP_ALL]
            if levels.empty or total.empty:
                continue
            small = levels["value"].between(1, 10)
            rest = levels.loc[~small & (levels["value"] > 0), "value"]
            if small.sum() == 1 and len(rest) and (rest > 50).all() and (total["value"] > 50).all():
                big += 1
    every = c[(c["race_ethnicity"] == "all") & (c["subgroup"] == T.SUBGROUP_ALL)]
    allc = sum(int(g.loc[g["value"] > 0, "value"].le(10).sum() == 1) for _, g in every.groupby(["period", "stage"]))
    return {"above_50": big, "all_children_above_10": allc}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(SAMPLE))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    data = load(args.data)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        rel = T.build_release(data, cache=False)
        times.append(time.perf_counter() - t)
    print(f"build_release (no cache): {min(times):.1f} s (best of {args.repeat})")
    # the true values, to measure the loss (joined on the cell keys; never published)
    fy, ly = rel.first_year, rel.last_year
    truth = T.release_cells(data, windows=T.windows_for(fy, ly), breakdowns=T.default_breakdowns(data),
                            equity_windows={T.Window(fy, ly)})
    keys = ["jurisdiction", "period", "race_ethnicity", "subgroup", "stage"]
    m = truth.merge(rel.cells[rel.cells["family"] == "stages"][[*keys, "suppressed"]], on=keys)
    all_hidden = int(rel.cells["suppressed"].sum())
    f = loss(m, m["suppressed"].to_numpy(), first_year=fy, last_year=ly)
    print(f"release cells: {len(rel.cells)}, hidden: {all_hidden} ({all_hidden / len(rel.cells):.1%})")
    print(f"stage cells: {f['cells']}, hidden {f['hidden']}, of which 1-10: {f['primary']}, "
          f"beyond the 1-10 rule: {f['beyond_rule']}")
    print(f"hidden counts above 50: {f['hidden_above_50']}; all-children counts above 10 hidden: "
          f"{f['all_children_above_10_hidden']}")
    lower = forced(m)
    print(f"forced by what is published (lower bounds for any protection): hidden counts above 50 >= "
          f"{lower['above_50']}, all-children counts above 10 hidden >= {lower['all_children_above_10']}")
    print(f"whole range, all children: Statewide {f['state_points_beyond']:.1f} points beyond its 1-10 share; "
          f"worst county {f['worst_county']} {f['worst_county_points_beyond']:.1f}")
    print(f["per_place"].round(3).to_string())


if __name__ == "__main__":
    main()
