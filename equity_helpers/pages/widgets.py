"""ipywidgets filter panels bound to the pure view functions.

A widget only collects filter values: every redraw calls
:func:`equity_helpers.pages.views.decision_point_view` with the current :class:`~equity_helpers.pages.views.Filters`
and shows the same sentences, charts and table a batch report shows.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W
from IPython.display import display

from equity_helpers.pages.views import DecisionPointView, Filters, decision_point_view
from equity_helpers.release import level_label
from equity_helpers.release.workbook import ALL_LEVELS, Workbook
from equity_helpers.schema import AGE_GROUPS, SCHEMES, STAGES, STATE, group_label

__all__ = ["DecisionPointPanel", "SCHEME_LABELS"]

SCHEME_LABELS = {
    "hispanic_first": "Hispanic of any race, then race",
    "hispanic_first_conservative": "Hispanic first (unknown origin kept unknown)",
    "alone_or_in_combination": "each race alone or in combination",
}
"""Plain names of the race codings for the panel (the code names stay out of sight)."""


def _reference_options(scheme: str) -> list[tuple[str, str]]:
    groups = [g for g in SCHEMES[scheme].groups if g != "unknown"]
    return [(group_label(g), g) for g in groups] + [("all other children", "all_other"), ("all children", "overall")]


class DecisionPointPanel:
    """Filters (jurisdiction, years, age group, sex, reference group, race scheme, basis) that
    redraw a view.

    ``render(filters)`` draws the view for the current filters and returns it; the default
    draws :func:`~equity_helpers.pages.views.decision_point_view` for ``stages``.

    Attributes
    ----------
    panel : the widget to display (filters above, output below).
    view : the view object ``render`` returned for the current filters.
    """

    def __init__(self, wb: Workbook, *, stages: list[str], filters: Filters,
                 render: Callable[[Filters], Any] | None = None):
        self.wb = wb
        self.stages = stages
        self._render = render or self._decision_point
        # labels in full ("Compare with", not "Compare ..."), each control as wide as its longest option
        style = {"description_width": "initial"}
        fit = W.Layout(width="auto")
        self.jurisdiction = W.Dropdown(options=[STATE, *wb.jurisdictions], value=filters.jurisdiction,
                                       description="Place")
        self.years = W.Dropdown(options=self._window_options(filters.race_scheme),
                                value=(filters.first_year, filters.last_year), description="Years")
        self.age_group = W.Dropdown(options=[("all ages", ALL_LEVELS)] + [(a, a) for a in AGE_GROUPS],
                                    value=filters.age_group, description="Age")
        self.sex = W.Dropdown(options=[("all", ALL_LEVELS), *((level_label("sex", s), s) for s in ("female", "male"))],
                              value=filters.sex, description="Sex")
        self.scheme = W.Dropdown(options=[(SCHEME_LABELS.get(s, s.replace("_", " ")), s) for s in wb.schemes], value=filters.race_scheme,
                                 description="Race coding")
        self.reference = W.Dropdown(options=_reference_options(filters.race_scheme), value=filters.reference,
                                    description="Compare with")
        bases = [("per 1,000 children", "population"), ("per 100 at the previous decision", "decision")]
        if not any(STAGES[s].population_base for s in stages if s in STAGES):
            bases = bases[1:]
        self.basis = W.ToggleButtons(options=bases, value=filters.basis if filters.basis in dict(
            (v, k) for k, v in bases) else bases[0][1], description="Base",
            style={**style, "button_width": "auto"})
        self.unknown = W.Dropdown(options=[("left out of totals (AFCARS)", "exclude"), ("kept in totals", "include")],
                                  value=filters.unknown_race, description="Unknown race")
        self.adjust = W.Dropdown(options=[("Holm", "holm"), ("Benjamini-Hochberg", "bh"), ("none", "none")],
                                 value=filters.multiple_comparisons, description="Many groups")
        for w in (self.jurisdiction, self.years, self.age_group, self.sex, self.scheme, self.reference, self.unknown,
                  self.adjust):
            w.style, w.layout = style, fit
        self.output = W.Output()
        self.scheme.observe(self._scheme_changed, names="value")
        for w in (self.jurisdiction, self.years, self.reference, self.basis, self.unknown, self.adjust):
            w.observe(lambda _change: self.redraw(), names="value")
        # one breakdown at a time (the release table publishes age groups or sexes, not both)
        self.age_group.observe(lambda ch: self._one_breakdown(ch, self.sex), names="value")
        self.sex.observe(lambda ch: self._one_breakdown(ch, self.age_group), names="value")
        self.panel = W.VBox([W.HBox([self.jurisdiction, self.years]), W.HBox([self.age_group, self.sex]),
                             W.HBox([self.scheme, self.reference]), self.basis, W.HBox([self.unknown, self.adjust]),
                             self.output])
        self.view: Any = None
        self._holding = False
        self.redraw()

    def filters(self) -> Filters:
        """The current widget values as :class:`~equity_helpers.pages.views.Filters`."""
        return Filters(jurisdiction=self.jurisdiction.value, first_year=self.years.value[0],
                       last_year=self.years.value[1], age_group=self.age_group.value, sex=self.sex.value,
                       reference=self.reference.value, race_scheme=self.scheme.value, basis=self.basis.value,
                       unknown_race=self.unknown.value, multiple_comparisons=self.adjust.value)

    def _window_options(self, scheme: str) -> list[tuple[str, tuple[int, int]]]:
        """Published windows of the scheme's release: the whole range first, then rolling windows, years."""
        cells = self.wb.release(scheme).cells.drop_duplicates("period")
        spans = sorted(zip(cells["first_year"], cells["last_year"]), key=lambda w: (w[0] - w[1], -w[1]))
        return [(f"FY{f}" if f == l else f"FY{f}-FY{l}", (int(f), int(l))) for f, l in spans]

    def _one_breakdown(self, change, other) -> None:
        if change["new"] != ALL_LEVELS and other.value != ALL_LEVELS:
            self._holding = True
            try:
                other.value = ALL_LEVELS
            finally:
                self._holding = False
        self.redraw()

    def _scheme_changed(self, change) -> None:
        options = _reference_options(change["new"])
        keep = self.reference.value if self.reference.value in [v for _, v in options] else options[0][1]
        self._holding = True  # one redraw for the scheme change, not one per reference update
        try:
            self.reference.options = options
            self.reference.value = keep
            windows = self._window_options(change["new"])
            year_keep = self.years.value if self.years.value in [v for _, v in windows] else windows[0][1]
            self.years.options = windows
            self.years.value = year_keep
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
