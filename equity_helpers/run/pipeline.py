"""Child-level files to the full measures table in one call: what ``equity-workbook measures --data DIR``
runs.

Read and validate (a stored extract when one is kept, :func:`equity_helpers.counting.extracts.load_cached`),
count unique children at every decision point (every county and the state, every year, group and stage),
the population, and every measure with its interval and suppression. The map of the package is
``docs/architecture.md``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from equity_helpers.counting.engine import Extract
from equity_helpers.counting.extracts import load_cached
from equity_helpers.counting.stages import EXTRA_DIMS, REPORT_DIMS, population_table, stage_counts
from equity_helpers.data.engagement import MEETING_DIMS
from equity_helpers.data.sources import resolve_mapping
from equity_helpers.data.validate import SIDE_TABLES
from equity_helpers.errors import ParameterError
from equity_helpers.metrics.rates import measures
from equity_helpers.privacy.disclosure import Protection
from equity_helpers.privacy.suppression import DEFAULT_POLICY
from equity_helpers.release.table import STRICT_BREAKDOWNS
from equity_helpers.schema import SCHEMES, TABLES

__all__ = ["measures_from_records"]


def measures_from_records(data_dir=None, *, mapping=None, reference: str = "white", scheme: str = "hispanic_first",
                          suppress: bool = True, policy=None, cache_dir=None, progress: bool = True,
                          on_step: Callable[[str, float], None] | None = None, by: str | None = None,
                          reference_level: str | None = None) -> tuple[pd.DataFrame, Extract]:
    """Child-level files to the full measures table: every county and the state, every year, group,
    decision point and basis, with intervals, significance and suppression (``policy``, default
    :data:`equity_helpers.privacy.suppression.DEFAULT_POLICY`; ``suppress=False`` for internal analysis only).

    ``by``: one breakdown (:data:`equity_helpers.counting.stages.EXTRA_DIMS`, e.g. ``"disability"``), a column of the
    output; race groups are compared with ``reference`` within each of its levels (race x the breakdown).
    With ``reference_level`` the levels are compared instead: each level against that one (``reference``
    names it), within every race group and all children (``race_ethnicity``). Counts about sexual
    orientation and gender identity (``lgbtq``) are suppressed up to 20, not 10
    (:attr:`equity_helpers.privacy.disclosure.Protection.strict_max_count`).

    Steps: read and validate (:func:`equity_helpers.counting.extracts.load_cached`), stage counts
    (:func:`equity_helpers.counting.stages.stage_counts`,
    counted in DuckDB), population (:func:`equity_helpers.counting.stages.population_table`), measures
    (:func:`equity_helpers.metrics.rates.measures`). ``progress`` shows a bar on standard error;
    ``on_step(name, seconds)`` is told how long each step took.

    Returns
    -------
    (measures table, the validated extract)
    """
    from tqdm.auto import tqdm  # imported here: tqdm.auto reaches for ipywidgets, a cost only this call pays

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
