"""Counting: unique children at every decision point, from validated records.

:mod:`~equity_helpers.counting.stages` defines what each decision point counts (reports, screening,
findings, entries, placements, exits, re-entries) by place, period, group and breakdown, and the child
population under it; :mod:`~equity_helpers.counting.engine` runs the same validation and counts in an
embedded DuckDB database at state scale (out of core); :mod:`~equity_helpers.counting.extracts` keeps a
validated extract between runs; :mod:`~equity_helpers.counting.load` is the package's ``load`` and
``validate``, in either engine (``load`` is reached as ``equity_helpers.load``: the name ``counting.load``
is the module). The map of the package is ``docs/architecture.md``.
"""
from equity_helpers.counting.engine import Extract, default_engine
from equity_helpers.counting.extracts import load_cached
from equity_helpers.counting.load import validate
from equity_helpers.counting.stages import EXTRA_DIMS, population_table, stage_counts

_entry = ["validate"]
_counts = ["stage_counts", "population_table", "EXTRA_DIMS"]
_engine = ["Extract", "default_engine", "load_cached"]
__all__ = _entry + _counts + _engine
