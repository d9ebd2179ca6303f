"""Child Welfare Racial Equity Workbook: the helper package.

See, decision point by decision point, where children and families of color are over-represented
or fare worse, how large and how certain each gap is, and whether it is shrinking.

The pipeline (DESIGN.md section 1)::

    data = load("data/sample")                       # read + validate, every exclusion counted
    counts = stage_counts(data)                      # unique children per stage, group, period
    pop = population_table(data)                     # census child population, same groups
    table = measures(counts, pop, reference="white") # rates, DI, RRI, CIs, tests, excess, flags
    release = build_release(data)                    # every publishable cell, protected and audited

Every number a notebook, report or dashboard shows is read from the release table: disclosure is
decided on all of it at once and audited by linear programming (:mod:`equity_helpers.release`).
"""
import sys as _sys

if "jsonschema" not in _sys.modules:
    # Altair imports jsonschema, whose optional "iri" format checker (rfc3987_syntax) compiles a grammar
    # at import: about 1 s of every kernel start, half of a batch run's import time (measured with
    # python -X importtime). The workbook never validates IRIs; without the module, jsonschema skips
    # that one format check, exactly as when the package is not installed.
    _sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

from .errors import DataQualityWarning, DataValidationError, ParameterError
from .measures import (
    change_over_time,
    di_band,
    disproportionality_index,
    excess_children,
    katz_log_ci,
    measures,
    poisson_exact_ci,
    rate_ratio,
    two_proportion_z_test,
    wilson_ci,
)
from .schema import DECISION_POINTS, SCHEMES, STAGES, assign_groups, get_scheme, group_label
from .sources import load_mapping, read_sources
from .stages import ALL, STATE, population_table, stage_counts
from .release import Release, build_release
from .suppression import DEFAULT_POLICY, SuppressionPolicy, shareable_counts, suppress_counts
from .validate import ValidatedData, load, validate
from .workbook import check_parameters, describe_parameters, setup_notebook, show_view, start
from .survey_view import describe_survey, show_survey, start_survey  # noqa: E402

_LAZY = ("charts", "narrative", "survival", "views", "present", "slides", "story", "i18n", "breakdowns")
"""Modules imported on first use (``equity_helpers.charts`` ...): Altair alone takes 0.7 s to import, which
a command that only computes measures, or a notebook run that draws nothing yet, need not pay."""


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__version__ = "0.1.0"

_data = ["load", "validate", "read_sources", "load_mapping", "ValidatedData"]
_model = ["STAGES", "DECISION_POINTS", "SCHEMES", "get_scheme", "assign_groups", "group_label", "STATE", "ALL"]
_counts = ["stage_counts", "population_table"]
_measures = ["measures", "change_over_time", "rate_ratio", "katz_log_ci", "poisson_exact_ci", "wilson_ci",
             "two_proportion_z_test", "disproportionality_index", "di_band", "excess_children"]
_privacy = ["SuppressionPolicy", "DEFAULT_POLICY", "suppress_counts", "shareable_counts", "Release", "build_release"]
_notebook = ["setup_notebook", "check_parameters", "describe_parameters", "start", "show_view",
             "start_survey", "describe_survey", "show_survey"]
_errors = ["DataValidationError", "ParameterError", "DataQualityWarning"]
__all__ = _data + _model + _counts + _measures + _privacy + _notebook + _errors + ["__version__"]
