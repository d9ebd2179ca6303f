"""What a notebook needs besides the measures: parameter checks and display setup.

Notebooks call :func:`setup_notebook` once (chart renderer, plain-language errors instead of
tracebacks) and :func:`check_parameters` right after their ``parameters`` cell.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass

from equity_helpers.data.validate import ValidatedData
from equity_helpers.errors import DataValidationError, ParameterError
from equity_helpers.pages.views import Filters, decision_point_view, time_in_care_view, window_phrase
from equity_helpers.release.workbook import Workbook
from equity_helpers.schema import SCHEMES, STATE, group_label

__all__ = ["setup_notebook", "check_parameters", "describe_parameters", "Parameters", "MODES", "start",
           "show_view"]

MODES = ("interactive", "batch")


@dataclass(frozen=True)
class Parameters:
    """Checked notebook parameters."""

    jurisdiction: str
    first_year: int
    last_year: int
    reference: str
    race_scheme: str
    suppression_threshold: int
    mode: str


def setup_notebook(mode: str = "interactive") -> None:
    """Prepare the kernel for charts that work offline and errors in plain words.

    * Charts use a compact HTML renderer (:func:`equity_helpers.pages.charts.chart_html`), and one output of
      this call inlines the Vega JavaScript (:func:`equity_helpers.pages.charts.offline_loader_html`), so
      every chart after it renders with
      no network, with hover tooltips, in JupyterLab and in the exported HTML report (which then
      holds the bundle exactly once).
    * A :class:`DataValidationError` or :class:`ParameterError` is shown as its plain-language
      message, not as a traceback.
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {MODES}, not {mode!r}.")
    import altair as alt  # Altair: about a second to import, paid only when drawing

    from equity_helpers.pages.charts import RENDERER  # Altair: about a second to import, paid only when drawing

    alt.renderers.enable(RENDERER)
    alt.data_transformers.disable_max_rows()
    try:
        from IPython import get_ipython  # IPython: imported only when something is shown
        from IPython.display import HTML, display  # IPython: imported only when something is shown
    except ImportError:  # pragma: no cover - outside IPython
        return
    ip = get_ipython()
    if ip is None:
        return
    # Altair: about a second to import, paid only when drawing
    from equity_helpers.pages.charts import offline_loader_html

    display(HTML(offline_loader_html()))
    if mode == "batch":
        _unchecked_charts(ip)

    def _show(shell, etype, value, tb, tb_offset=None):  # noqa: ARG001 - IPython signature
        page = value._repr_html_() if isinstance(value, DataValidationError) else (
            f"<div class='eh-error'><strong>Please check the parameters.</strong> {value}</div>")
        # the plain text travels with the HTML, so batch manifests can quote it
        display({"text/html": page, "text/plain": f"{type(value).__name__}: {value}"}, raw=True)
        return [f"{type(value).__name__}: {value}"]  # shown instead of a traceback

    ip.set_custom_exc((DataValidationError, ParameterError), _show)


def check_parameters(data: ValidatedData, *, jurisdiction: str, first_year: int | None, last_year: int | None,
                     reference: str = "white", race_scheme: str = "hispanic_first",
                     suppression_threshold: int = 10, mode: str = "interactive") -> Parameters:
    """Validate notebook parameters against the data; every problem in one :class:`ParameterError`."""
    problems: list[str] = []
    places = [STATE, *data.jurisdictions]
    if jurisdiction not in places:
        problems.append(f"Unknown jurisdiction {jurisdiction!r}; the data have: {', '.join(places)}.")
    fy = data.first_year if first_year is None else first_year
    ly = data.last_year if last_year is None else last_year
    if not (data.first_year <= fy <= ly <= data.last_year):
        problems.append(f"Years {fy}-{ly} are outside the data, which cover {data.first_year}-{data.last_year} "
                        "(first year must not be after last year).")
    if race_scheme not in SCHEMES:
        problems.append(f"Unknown race scheme {race_scheme!r}; choose one of {', '.join(SCHEMES)}.")
    else:
        groups = SCHEMES[race_scheme].groups
        if reference not in (*groups, "all_other", "overall") or reference == "unknown":
            valid = [g for g in groups if g != "unknown"]
            problems.append(f"Unknown reference group {reference!r} for scheme {race_scheme}; choose one of "
                            f"{', '.join(valid)}, 'all_other' or 'overall'.")
    if not isinstance(suppression_threshold, int) or suppression_threshold < 0:
        problems.append("suppression_threshold must be a whole number of 0 or more (10 is the default).")
    if mode not in MODES:
        problems.append(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
    if problems:
        raise ParameterError(" ".join(problems))
    return Parameters(jurisdiction, int(fy), int(ly), reference, race_scheme, int(suppression_threshold), mode)


def _unchecked_charts(ip) -> None:
    """Batch runs show charts without Altair's JSON-schema check of every spec (a tenth of a second per
    chart, a fifth of a run's chart time). The check proves nothing new there: every chart builder is
    validated against the schema by the tests (``tests/test_charts.py``), and the same builders draw the
    interactive pages, which keep the check."""
    import altair as alt  # Altair: about a second to import, paid only when drawing

    def bundle(chart):
        spec = chart.to_dict(validate=False, context={"pre_transform": False})
        renderer = alt.renderers.get()
        return renderer(spec) if renderer else None

    ip.display_formatter.mimebundle_formatter.for_type(alt.TopLevelMixin, bundle)


def describe_parameters(p: Parameters) -> str:
    """One sentence naming the place, years, reference group and scheme of a view."""

    return (f"{p.jurisdiction}, {window_phrase(p.first_year, p.last_year)}. Comparisons are with "
            f"{group_label(p.reference)} children (race coding: {SCHEMES[p.race_scheme].description})")



def start(*, data_dir, mapping=None, jurisdiction: str, first_year: int | None, last_year: int | None,
          reference: str = "white", race_scheme: str = "hispanic_first", suppression_threshold: int = 10,
          mode: str = "interactive", basis: str = "population", cache: str | None = None):
    """Everything a decision-point notebook does after its parameters cell, in one call.

    Sets up the notebook, loads and validates the data (or, in a batch run, reads the workbook
    the batch validated once, from ``cache``: once per kernel, see :func:`_open_cache`), checks the
    parameters and returns ``(workbook, parameters, filters)``.
    """

    setup_notebook(mode)
    if cache:
        wb = _open_cache(cache)
    else:
        wb = Workbook.load(data_dir, mapping=mapping, suppression_threshold=suppression_threshold)
    p = check_parameters(wb.data, jurisdiction=jurisdiction, first_year=first_year, last_year=last_year,
                         reference=reference, race_scheme=race_scheme, suppression_threshold=suppression_threshold,
                         mode=mode)
    if race_scheme not in wb._releases:
        # the chosen years are published beside the standard windows (decided on the whole table)
        wb.extra_windows = tuple(dict.fromkeys((*wb.extra_windows, (p.first_year, p.last_year))))
    # the first open of a notebook protects the whole release: a bar says so while it works
    wb.progress = mode == "interactive"
    wb.release(p.race_scheme).window(p.first_year, p.last_year)  # a clear error if not published
    filters = Filters(jurisdiction=p.jurisdiction, first_year=p.first_year, last_year=p.last_year,
                      reference=p.reference, race_scheme=p.race_scheme, basis=basis)
    return wb, p, filters


_OPENED: tuple[tuple, object] | None = None


def _open_cache(cache: str):
    """The workbook a batch saved to ``cache``, unpickled once per kernel: a batch worker's warm kernel
    (:mod:`equity_helpers.run.kernels`) runs every notebook of its share of places with the same workbook, and
    what one page computes (its measures) the next one reuses. Keyed by the file's path, size and
    modification time; only the last one opened is kept."""

    global _OPENED
    st = os.stat(cache)
    key = (os.path.abspath(cache), st.st_size, st.st_mtime_ns)
    if _OPENED is None or _OPENED[0] != key:
        _OPENED = None  # the previous one can go before the next is read
        with open(cache, "rb") as fh:
            _OPENED = (key, pickle.load(fh))
    return _OPENED[1]


def show_view(wb, *, filters, mode: str, stages: list[str] | None = None, kind: str = "decision_point"):
    """Show a view: the filter panel in interactive mode, the rendered view in batch mode.

    ``kind`` is "decision_point" (for ``stages``) or "time_in_care". Returns the panel or the view.
    """
    from IPython.display import display  # IPython: imported only when something is shown

    from equity_helpers.pages.widgets import DecisionPointPanel  # ipywidgets: imported only when a panel is made

    def build(f):
        return time_in_care_view(wb, filters=f) if kind == "time_in_care" else decision_point_view(
            wb, stages=stages or [], filters=f)

    if mode == "interactive":
        def render(f):
            view = build(f)
            view.show()
            return view

        panel = DecisionPointPanel(wb, stages=stages or ["entered_care"], filters=filters, render=render)
        display(panel.panel)
        return panel
    view = build(filters)
    view.show()
    return view
