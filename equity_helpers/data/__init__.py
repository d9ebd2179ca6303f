"""Data in: the agency's files read through ``mapping.yml``, checked, and accounted for row by row.

* :mod:`~equity_helpers.data.sources` reads CSV, Excel, Parquet or a database query into the canonical
  tables (:data:`equity_helpers.schema.TABLES`);
* :mod:`~equity_helpers.data.encoding`, :mod:`~equity_helpers.data.dates`, :mod:`~equity_helpers.data.places`,
  :mod:`~equity_helpers.data.ids` and :mod:`~equity_helpers.data.population` read what agencies send for
  certain or refuse it (encodings, date formats and the data's end, place names, ids that do not link,
  population gaps; ``docs/input.md``);
* :mod:`~equity_helpers.data.checks` is the validation toolkit every table's checks share (a checker that
  collects every problem at once, with row counts, and never drops a row silently);
* :mod:`~equity_helpers.data.validate` checks the core tables in pandas (the same rules run in DuckDB in
  :mod:`equity_helpers.counting.engine`); :mod:`~equity_helpers.data.linkage` the domestic violence partner's
  services and :mod:`~equity_helpers.data.engagement` the family team meetings, the optional side tables;
* :mod:`~equity_helpers.data.boundaries` the counties' shapes; :mod:`~equity_helpers.data.sample` writes the
  synthetic sample state with its planted effects.

Reading and validating in one call is :func:`equity_helpers.counting.load.load`. The map of the package is
``docs/architecture.md``.
"""
from equity_helpers.data.checks import Checker, accounting_summary
from equity_helpers.data.sources import Mapping, load_mapping, read_sources, resolve_mapping
from equity_helpers.data.validate import SIDE_TABLES, DataSummary, ValidatedData

_sources = ["Mapping", "load_mapping", "resolve_mapping", "read_sources"]
_validation = ["Checker", "accounting_summary", "ValidatedData", "DataSummary", "SIDE_TABLES"]
__all__ = _sources + _validation
