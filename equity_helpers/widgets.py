"""ipywidgets filter panels bound to the pure view functions.

A widget only collects filter values: every redraw calls
:func:`equity_helpers.views.decision_point_view` with the current :class:`~equity_helpers.views.Filters`
and shows the same sentences, charts and table a batch report shows.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W
from IPython.display import display

from .schema import AGE_GROUPS, SCHEMES, STAGES, group_label
from .stages import STATE
from .views import ALL_LEVELS, DecisionPointView, Filters, Workbook, decision_point_view

__all__ = ["DecisionPointPanel"]


def _reference_options(scheme: str) -> list[tuple[str, str]]:
    groups = [g for g in SCHEMES[scheme].groups if g != "unknown"]
    return [(group_label(g), g) for g in groups] + [("all other children", "all_other"), ("all children", "overall")]


class DecisionPointPanel:
    """Filters (jurisdiction, years, age group, sex, reference group, race scheme, basis) that
    redraw a view.

    ``render(filters)`` draws the view for the current filters and returns it; the default
    draws :func:`~equity_helpers.views.decision_point_view` for ``stages``.

    Attributes
    ----------
    panel : the widget to display (filters above, output below).
    view : the view object ``render`` returned for the current filters.
    """

    def __init__(self, wb: Workbook, *, stages: list[str], filters: Filters,
                 render: Callable[[Filters], Any] | None = None):
        self.wb = wb
        self.stages = stages
        data = wb.data
        self._render = render or self._decision_point
        self.jurisdiction = W.Dropdown(options=[STATE, *data.jurisdictions], value=filters.jurisdiction,
                                       description="Place")
        self.years = W.IntRangeSlider(min=data.first_year, max=data.last_year,
                                      value=(filters.first_year, filters.last_year), description="Years")
        self.age_group = W.Dropdown(options=[("all ages", ALL_LEVELS)] + [(a, a) for a in AGE_GROUPS],
                                    value=filters.age_group, description="Age")
        self.sex = W.Dropdown(options=[("all", ALL_LEVELS), ("female", "female"), ("male", "male")],
                              value=filters.sex, description="Sex")
        self.scheme = W.Dropdown(options=list(SCHEMES), value=filters.race_scheme, description="Race coding")
        self.reference = W.Dropdown(options=_reference_options(filters.race_scheme), value=filters.reference,
                                    description="Compare with")
        bases = [("per 1,000 children", "population"), ("per 100 at the previous decision", "decision")]
        if not any(STAGES[s].population_base for s in stages if s in STAGES):
            bases = bases[1:]
        self.basis = W.ToggleButtons(options=bases, value=filters.basis if filters.basis in dict(
            (v, k) for k, v in bases) else bases[0][1], description="Base")
        self.output = W.Output()
        self.scheme.observe(self._scheme_changed, names="value")
        for w in (self.jurisdiction, self.years, self.age_group, self.sex, self.reference, self.basis):
            w.observe(lambda _change: self.redraw(), names="value")
        self.panel = W.VBox([W.HBox([self.jurisdiction, self.years]), W.HBox([self.age_group, self.sex]),
                             W.HBox([self.scheme, self.reference]), self.basis, self.output])
        self.view: Any = None
        self._holding = False
        self.redraw()

    def filters(self) -> Filters:
        """The current widget values as :class:`~equity_helpers.views.Filters`."""
        return Filters(jurisdiction=self.jurisdiction.value, first_year=self.years.value[0],
                       last_year=self.years.value[1], age_group=self.age_group.value, sex=self.sex.value,
                       reference=self.reference.value, race_scheme=self.scheme.value, basis=self.basis.value)

    def _scheme_changed(self, change) -> None:
        options = _reference_options(change["new"])
        keep = self.reference.value if self.reference.value in [v for _, v in options] else options[0][1]
        self._holding = True  # one redraw for the scheme change, not one per reference update
        try:
            self.reference.options = options
            self.reference.value = keep
        finally:
            self._holding = False
        self.redraw()

    def _decision_point(self, filters: Filters) -> DecisionPointView:
        view = decision_point_view(self.wb, stages=self.stages, filters=filters)
        view.show()
        return view

    def redraw(self) -> None:
        """Recompute the view for the current filters and show it in the output area."""
        if self._holding:
            return
        self.output.clear_output(wait=True)
        with self.output:
            self.view = self._render(self.filters())

    def _ipython_display_(self) -> None:
        display(self.panel)
