"""Federal files in: the NCANDS Child File, the AFCARS Foster Care File and SEER's county population, turned
into a workbook data folder.

Every state already sends its child welfare records to the Children's Bureau in two shapes: NCANDS (one record
per screened-in report and child) and AFCARS (one record per child in foster care per period). The same files
reach researchers through NDACAN, spelled a little differently. :func:`import_federal` reads either spelling,
as CSV, SAS, SPSS or Stata, and writes the workbook's own tables, so the first hour of an analyst's work is
reading their state, not rebuilding it::

    from equity_helpers.data.federal import import_federal
    result = import_federal(ncands=["ncands_fy2024.csv"], afcars=["afcars_2024.csv"],
                            counties="counties.csv", population="population.csv", out="data/mystate")
    result.summary          # records read, used and left out per file

What the import does, module by module: :mod:`~.files` reads the files into DuckDB; :mod:`~.ncands` and
:mod:`~.afcars` type and check their records (every record left out is counted by reason); :mod:`~.afcars`
rebuilds foster care episodes across years; :mod:`~.linking` links the children (``AFCARSID`` =
``RECNUMBR``; where the files disagree, AFCARS decides); :mod:`~.places` names counties; :mod:`~.seer` reads
SEER's population; :mod:`~.accounting` says what was left out and what the federal files cannot carry;
:mod:`~.codes` (``codes.yml``) holds every code map. The command is ``equity-workbook import``; the guide is
``docs/federal.md``.
"""
from equity_helpers.data.federal.accounting import (
    ACCOUNTING_FILE,
    NOT_IN_FILES,
    accounting_problems,
    not_in_files,
    read_accounting,
)
from equity_helpers.data.federal.afcars import rebuild_episodes
from equity_helpers.data.federal.codes import code_map, codes
from equity_helpers.data.federal.linking import AFCARS_DECIDES
from equity_helpers.data.federal.seer import read_seer, seer_population
from equity_helpers.data.federal.write import ImportResult, import_federal

_import = ["import_federal", "ImportResult"]
_accounting = ["ACCOUNTING_FILE", "NOT_IN_FILES", "accounting_problems", "not_in_files", "read_accounting"]
_parts = ["AFCARS_DECIDES", "code_map", "codes", "read_seer", "rebuild_episodes", "seer_population"]
__all__ = _import + _accounting + _parts
