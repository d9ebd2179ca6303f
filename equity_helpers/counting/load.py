"""Reading and validating in one call, in pandas or in DuckDB: the package's entry points ``load`` and
``validate``.

The rules, messages and accounting are the same whichever engine checks the records
(:mod:`equity_helpers.data.validate` in pandas, :mod:`equity_helpers.counting.engine` in DuckDB); the
engine only decides where the child-level rows live while they are counted. The map of the package is
``docs/architecture.md``.
"""
from __future__ import annotations

import pandas as pd

from equity_helpers.counting.engine import ENGINES, default_engine, validate_frames
from equity_helpers.counting.extracts import load_cached
from equity_helpers.data import validate as pandas_engine
from equity_helpers.data.federal import accounting_problems, not_in_files
from equity_helpers.data.sources import read_sources
from equity_helpers.errors import Problem
from equity_helpers.data.validate import ValidatedData, split_side_tables, validate_with_side_tables

__all__ = ["load", "validate"]


def validate(raw: dict[str, pd.DataFrame], *, first_year: int | None = None, last_year: int | None = None,
             calendar: bool = False, extract_date: str | pd.Timestamp | None = None,
             engine: str = "pandas") -> ValidatedData:
    """Check and type the raw tables; raise once with every error, or return clean data.

    The optional side tables (:data:`equity_helpers.data.validate.SIDE_TABLES`: a domestic violence
    partner's ``dv_services``, the family ``meetings``), when supplied, are checked with the others.

    Parameters
    ----------
    raw : tables with canonical column names (from :func:`equity_helpers.data.sources.read_sources`).
    first_year, last_year : analysis periods; default: the years the reports (or counts) cover.
    calendar : use calendar years instead of federal fiscal years (Oct-Sep).
    extract_date : the day the data were pulled (censor date for open episodes). Default: the
        latest report, entry or exit date in the data.
    engine : "pandas" (:func:`equity_helpers.data.validate.validate`), or "duckdb" to check (and later
        count) the child-level tables in DuckDB (:func:`equity_helpers.counting.engine.validate_frames`:
        the same rules, messages and accounting).

    Returns
    -------
    ValidatedData

    Raises
    ------
    DataValidationError
        With every error found (warnings are attached too, for the full picture).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'pandas' or 'duckdb', not {engine!r}")
    if engine == "pandas":
        return pandas_engine.validate(raw, first_year=first_year, last_year=last_year, calendar=calendar,
                                      extract_date=extract_date)
    core, side = split_side_tables(raw)
    return validate_with_side_tables(lambda: validate_frames(core, first_year=first_year, last_year=last_year,
                                                             calendar=calendar, extract_date=extract_date),
                                     side, extract_date=extract_date)


def load(data_dir=None, *, mapping=None, first_year: int | None = None, last_year: int | None = None,
         calendar: bool = False, extract_date=None, engine: str | None = None) -> ValidatedData:
    """Read (:func:`~equity_helpers.data.sources.read_sources`) and :func:`validate` in one call.

    ``engine`` is ``"duckdb"`` (the default, or ``$EQUITY_WORKBOOK_ENGINE``): the child-level files are
    read, validated and later counted in an embedded DuckDB database (:mod:`equity_helpers.counting.engine`,
    the same rules, messages and accounting, at state scale in seconds), and kept as a stored extract
    when ``$EQUITY_WORKBOOK_EXTRACTS`` names a folder (:func:`equity_helpers.counting.extracts.load_cached`);
    ``"pandas"`` reads and checks everything in pandas. A folder written by ``equity-workbook import`` adds its
    accounting's findings to the data-quality notes (:func:`equity_helpers.data.federal.accounting_problems`):
    what the federal files cannot carry first.
    """
    if (engine or default_engine()) == "duckdb":  # stored once when $EQUITY_WORKBOOK_EXTRACTS names a folder
        data = load_cached(data_dir, mapping=mapping, first_year=first_year, last_year=last_year,
                           calendar=calendar, extract_date=extract_date)
    else:
        raw, m = read_sources(data_dir, mapping=mapping)
        data = validate(raw, first_year=first_year, last_year=last_year, calendar=calendar,
                        extract_date=extract_date if extract_date is not None else m.extract_date)
        if m.note:
            data.problems.insert(0, Problem("warning", "sources", "mapping_found", 0, "", m.note))
    # a folder imported from federal files: what they cannot carry, and what the import left out
    data.problems.extend(accounting_problems(data_dir))
    data.not_in_files = not_in_files(data_dir)
    return data
