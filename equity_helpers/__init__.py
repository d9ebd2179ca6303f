"""Child Welfare Racial Equity Workbook: the helper package.

See, decision point by decision point, where children and families of color are over-represented
or fare worse, how large and how certain each gap is, and whether it is shrinking.

The pipeline (``docs/architecture.md`` maps the package)::

    data = load("data/sample")                       # read + validate, every exclusion counted
    counts = stage_counts(data)                      # unique children per stage, group, period
    pop = population_table(data)                     # census child population, same groups
    table = measures(counts, pop, reference="white") # rates, DI, RRI, CIs, tests, excess, flags
    release = build_release(data)                    # every publishable cell, protected and audited

Every number a notebook, report or dashboard shows is read from the release table: disclosure is
decided on all of it at once and audited by linear programming (:mod:`equity_helpers.release`).

The subpackages, each importing only those before it: ``privacy`` (suppression policy, disclosure
engine), ``data`` (sources, checks, validation, sample), ``counting`` (decision-point counts, DuckDB),
``metrics`` (rates, intervals, survival), ``release`` (the protected release table, the workbook),
``pages`` (views, charts, sentences, widgets, dashboard), ``survey`` (the collaboration survey) and ``run``
(command line, batch, reports, dashboard server, slides); at the root, ``errors``, ``schema`` (tables,
decision points, race schemes, ``STATE`` and ``ALL``), ``safety`` (atomic writes, signals, locks) and
``settings`` (the version and every ``EQUITY_WORKBOOK_*`` variable).
"""
import sys as _sys

if "jsonschema" not in _sys.modules:
    # Altair imports jsonschema, whose optional "iri" format checker (rfc3987_syntax) compiles a grammar
    # at import: about 1 s of every kernel start, half of a batch run's import time (measured with
    # python -X importtime). The workbook never validates IRIs; without the module, jsonschema skips
    # that one format check, exactly as when the package is not installed.
    _sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

from equity_helpers.counting.load import load, validate
from equity_helpers.counting.stages import population_table, stage_counts
from equity_helpers.data.sources import load_mapping, read_sources
from equity_helpers.data.validate import ValidatedData
from equity_helpers.errors import DataQualityWarning, DataValidationError, ParameterError
from equity_helpers.metrics.intervals import katz_log_ci, poisson_exact_ci, two_proportion_z_test, wilson_ci
from equity_helpers.metrics.rates import (
    change_over_time,
    di_band,
    disproportionality_index,
    excess_children,
    measures,
    rate_ratio,
)
from equity_helpers.pages.workbook import check_parameters, describe_parameters, setup_notebook, show_view, start
from equity_helpers.privacy.suppression import DEFAULT_POLICY, SuppressionPolicy, shareable_counts, suppress_counts
from equity_helpers.release.table import Release, build_release
from equity_helpers.schema import (
    ALL,
    DECISION_POINTS,
    SCHEMES,
    STAGES,
    STATE,
    assign_groups,
    get_scheme,
    group_label,
)
from equity_helpers.settings import VERSION as __version__
from equity_helpers.survey.page import describe_survey, show_survey, start_survey

MODULES = {
    # the pages and runs notebooks name as ``eh.views``, ``eh.charts`` ... (imported on first use: Altair and
    # ipywidgets take about a second to import, which a command that only computes measures need not pay)
    "views": "pages.views", "charts": "pages.charts", "breakdowns": "pages.breakdowns", "story": "pages.story",
    "narrative": "pages.narrative", "maps": "pages.maps", "widgets": "pages.widgets", "workbook": "pages.workbook",
    "i18n": "pages.i18n", "dashboard": "pages.dashboard", "present": "pages.dashboard", "slides": "run.slides",
    "survival": "metrics.survival",
    # the flat modules of earlier versions, where they live now
    "stages": "counting.stages", "engine": "counting.engine", "extracts": "counting.extracts",
    "sources": "data.sources", "linkage": "data.linkage", "engagement": "data.engagement", "sample": "data.sample",
    "suppression": "privacy.suppression", "disclosure": "privacy.disclosure", "release_survival": "release.survival",
    "survey_view": "survey.page", "report": "run.report", "batch": "run.batch", "kernels": "run.kernels",
    "cli": "run.cli",
}
"""Short module names (``eh.views``) and where each module lives; ``eh.present`` is the dashboard a notebook
shows (``show_summary``), the server that serves it is :mod:`equity_helpers.run.present`."""


def __getattr__(name: str):
    if name in MODULES:
        import importlib  # only when a short name is first used

        module = importlib.import_module(f"{__name__}.{MODULES[name]}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
