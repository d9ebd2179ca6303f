"""The facilitator's live dashboard: no code, large type, filters a room can ask for, in English or Spanish.

:class:`Dashboard` is an ipywidgets panel over a workbook's protected release: filters for place, years,
group, reference group and basis; the whole chain at a glance (:func:`equity_helpers.pages.charts.chain_chart`)
with its text alternative, the largest gaps and what changed since the baseline; then one decision point at
a time with its chart, two or three sentences and the questions for discussion. Every word comes from the
message catalogue (:mod:`equity_helpers.pages.i18n`); every number from the release table
(:mod:`equity_helpers.pages.story`). The HTML pieces here are shared with the slide deck
(:mod:`equity_helpers.run.slides`); the server that shows the panel is :mod:`equity_helpers.run.present`.
The map of the package is ``docs/architecture.md``.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from equity_helpers import settings
from equity_helpers.errors import ParameterError
from equity_helpers.pages.i18n import catalogue
from equity_helpers.pages.story import (
    STORY_STAGES,
    StageStory,
    StoryFilters,
    Summary,
    chain_matrix,
    focus_group,
    published_windows,
    stage_story,
    summary,
)
from equity_helpers.pages.workbook import setup_notebook
from equity_helpers.release.table import SUBGROUP_ALL
from equity_helpers.release.workbook import Workbook
from equity_helpers.schema import SCHEMES, STATE

__all__ = ["Dashboard", "show_summary", "dashboard_from_environment", "chart_bundle", "alt_html", "summary_html",
           "stage_html", "html_list", "show_summary_story", "show_stage_story"]


def _show_chart(spec: dict) -> None:
    """Display a Vega-Lite specification (:func:`equity_helpers.pages.charts.chain_chart`) through the active (offline
    HTML) renderer.

    Drawn as SVG, which carries the chart's description as its ``aria-label`` for screen readers, and without
    the chart menu (one of its items opens an online editor)."""
    from IPython.display import display  # IPython: imported only when something is shown

    display(chart_bundle(spec), raw=True)


def chart_bundle(spec: dict) -> dict:
    """The offline HTML output of a Vega-Lite specification (:func:`equity_helpers.pages.charts.chart_html`, which
    uses the Vega runtime :func:`equity_helpers.pages.charts.offline_loader_html` put on the page), drawn as SVG
    without the chart menu."""
    from equity_helpers.pages.charts import chart_html  # Altair: about a second to import, paid only when drawing

    return {"text/html": chart_html(spec, {"renderer": "svg", "actions": False})}


def _html(text: str, cls: str = "", tag: str = "p") -> str:
    return f"<{tag} class='{cls}'>{html.escape(text)}</{tag}>"


def html_list(items: list[str], cls: str) -> str:
    return f"<ul class='{cls}'>" + "".join(f"<li>{html.escape(s)}</li>" for s in items) + "</ul>"


class Dashboard:
    """The facilitator's panel over a workbook (a published release or records).

    Parameters
    ----------
    wb : :class:`equity_helpers.release.workbook.Workbook` (``Workbook.from_release`` in the server).
    language : ``"en"`` or ``"es"``.
    filters : where to start; defaults to the state over every published year, the focus group, White
        children as the reference and the population basis.

    Attributes
    ----------
    panel : the widget to display.
    summary, stage_out : the two output areas (the whole chain; one decision point).
    matrix : the whole chain's relative rates, every decision point and group (:func:`~equity_helpers.pages.story.chain_matrix`).
    story : the last drawn summary as plain data: ``rows`` (:func:`equity_helpers.pages.story.chain`), ``gaps``,
        ``changes``, ``baseline``, ``latest``, ``group``, ``stage_sentences``, ``chain_alt``, ``stage_alt``.
    """

    def __init__(self, wb, *, language: str = "en", filters: StoryFilters | None = None):
        import ipywidgets as W  # ipywidgets: imported only when a panel is made

        self.wb = wb
        self.cat = catalogue(language)
        scheme = (filters.race_scheme if filters else None) or wb.schemes[0]
        fy, ly = wb.years
        f = filters or StoryFilters(place=STATE, first_year=fy, last_year=ly, race_scheme=scheme)
        self.scheme = f.race_scheme
        cat = self.cat
        style = {"description_width": "initial"}
        wide = W.Layout(width="auto", min_width="16em")
        groups = [g for g in SCHEMES[self.scheme].groups if g != "unknown"]
        self.place = W.Dropdown(options=[(cat.t("state"), STATE)] + [(j, j) for j in wb.jurisdictions], value=f.place,
                                description=cat.t("filter_place"), style=style, layout=wide)
        self.years = W.Dropdown(options=self._window_options(f.place), value=(f.first_year, f.last_year),
                                description=cat.t("filter_years"), style=style, layout=wide)
        start_group = f.group or focus_group(wb, f) or groups[1]
        self.group = W.Dropdown(options=[(cat.group_label(g), g) for g in groups], value=start_group,
                                description=cat.t("filter_group"), style=style, layout=wide)
        self.reference = W.Dropdown(options=[(cat.group_label(g), g) for g in [*groups, "all_other"]],
                                    value=f.reference, description=cat.t("filter_reference"), style=style, layout=wide)
        self.basis = W.ToggleButtons(options=[(cat.t("basis_population"), "population"),
                                              (cat.t("basis_decision"), "decision")], value=f.basis,
                                     description=cat.t("filter_basis"), style={**style, "button_width": "auto"})
        self.stage = W.ToggleButtons(options=[(cat.stage(s), s) for s in STORY_STAGES], value="entered_care",
                                     description="", style={"button_width": "auto"})
        self.header = W.HTML()
        self.summary = W.Output()
        self.matrix = W.HTML()
        self.stage_out = W.Output()
        self.how = W.HTML()
        self.general = W.HTML(f"<h2>{html.escape(cat.t('prompts_heading'))}</h2>"
                              + html_list(cat.prompts("general"), "eh-prompts"))
        filters_box = W.Box([self.place, self.years, self.group, self.reference, self.basis],
                            layout=W.Layout(display="flex", flex_flow="row wrap", gap="0.4em 1.5em"))
        filters_box.add_class("eh-filters")
        self.panel = W.VBox([self.header, filters_box, self.how, self.summary, self.matrix,
                             W.HTML(f"<h2>{html.escape(cat.t('stage_heading'))}</h2>"), self.stage, self.stage_out,
                             self.general])
        self.panel.add_class("eh-dashboard")
        self._holding = False
        self.place.observe(self._place_changed, names="value")
        for w in (self.years, self.group, self.reference, self.basis):
            w.observe(lambda _change: self.redraw(), names="value")
        self.stage.observe(lambda _change: self.redraw_stage(), names="value")
        self.redraw()

    # ---- filters
    def filters(self) -> StoryFilters:
        fy, ly = self.years.value
        return StoryFilters(place=self.place.value, first_year=fy, last_year=ly, group=self.group.value,
                            reference=self.reference.value, basis=self.basis.value, race_scheme=self.scheme)

    def _window_options(self, place: str) -> list[tuple[str, tuple[int, int]]]:
        return [(self.cat.years(a, b), (a, b)) for a, b in published_windows(self.wb, place, scheme=self.scheme)]

    def _place_changed(self, change) -> None:
        options = self._window_options(change["new"])
        keep = self.years.value if self.years.value in [v for _, v in options] else options[0][1]
        self._holding = True  # one redraw for the place change, not one per years update
        try:
            self.years.options = options
            self.years.value = keep
        finally:
            self._holding = False
        self.redraw()

    # ---- drawing
    def redraw(self) -> None:
        """Recompute the summary and the chosen decision point for the current filters."""
        if self._holding:
            return
        cat = self.cat
        self.summary_story = s = summary(self.wb, self.filters(), cat)
        self.header.value = f"<h1>{html.escape(s.title)}</h1>" + _html(s.subtitle, "eh-subtitle")
        ref = cat.group(s.filters.reference)
        self.how.value = (f"<details class='eh-how'><summary>{html.escape(cat.t('how_to_read_heading'))}</summary>"
                          + _html(cat.t("how_to_read", ref=ref), "eh-how-text") + "</details>")
        self.summary.clear_output(wait=True)
        with self.summary:
            show_summary_story(s, cat)
        self.matrix.value = (f"<h2>{html.escape(cat.t('matrix_heading'))}</h2>"
                             + chain_matrix(self.wb, s.filters, cat))
        self.redraw_stage()

    def redraw_stage(self) -> None:
        """Redraw the chosen decision point only (its chart, sentences and questions)."""
        self.stage_story = st = stage_story(self.summary_story, self.stage.value, self.cat)
        self.stage_out.clear_output(wait=True)
        with self.stage_out:
            show_stage_story(st, self.cat)

    @property
    def story(self) -> dict[str, Any]:
        """The drawn page as plain data: ``rows``, ``gaps``, ``changes``, ``baseline``, ``latest``, ``group``,
        ``chain_alt``, ``stage_sentences``, ``stage_alt``."""
        s, st = self.summary_story, self.stage_story
        return {"rows": s.rows, "gaps": s.gaps, "changes": s.changes, "baseline": s.baseline, "latest": s.latest,
                "group": s.filters.group, "chain_alt": s.chain_alt, "stage_sentences": st.sentences,
                "stage_alt": st.alt}

    def _ipython_display_(self) -> None:
        from IPython.display import display  # IPython: imported only when something is shown

        display(self.panel)


def alt_html(text: str, cat) -> str:
    """A chart's text alternative, shown under it."""
    return _html(f"{cat.t('text_alternative')}: {text}", "eh-alt")


def summary_html(s: Summary, cat, *, with_alt: bool = True) -> str:
    """The whole chain's words: the chart's text alternative, the largest gaps, the changes, the hidden count."""
    years = cat.years(s.filters.first_year, s.filters.last_year)
    return ((alt_html(s.chain_alt, cat) if with_alt else "")
            + f"<h2>{html.escape(cat.t('gaps_heading', years=years))}</h2>" + html_list(s.gaps, "eh-gaps")
            + (f"<h2>{html.escape(cat.t('changes_heading', baseline=s.baseline, latest=s.latest))}</h2>"
               if s.baseline else "")
            + html_list(s.changes, "eh-changes")
            + (_html(cat.t("hidden_count", n=s.hidden), "eh-hidden") if s.hidden else ""))


def stage_html(st: StageStory, cat) -> str:
    """One decision point's words: the chart's text alternative, the sentences and the questions."""
    return (alt_html(st.alt, cat) + html_list(st.sentences, "eh-sentences")
            + f"<h3>{html.escape(cat.t('prompts_heading'))}</h3>" + html_list(st.prompts, "eh-prompts"))


def show_summary_story(s: Summary, cat) -> None:
    from IPython.display import HTML, display  # IPython: imported only when something is shown

    display(HTML(f"<h2>{html.escape(cat.t('summary_heading'))}</h2>"))
    if s.chart is not None:
        _show_chart(s.chart)
    display(HTML(summary_html(s, cat)))


def show_stage_story(st: StageStory, cat) -> None:
    from IPython.display import HTML, display  # IPython: imported only when something is shown

    if st.chart is not None:
        _show_chart(st.chart)
    display(HTML(stage_html(st, cat)))


def show_summary(wb, *, filters, language: str = "en") -> Summary:
    """The summary a room can follow, for a notebook or a batch report (``08_summary``): the whole chain in one
    chart with its text alternative, the largest gaps and what changed since the baseline, for the place,
    years, reference and basis of ``filters`` (:class:`equity_helpers.pages.views.Filters`), following the group
    with the most children behind a gap."""
    cat = catalogue(language)
    f = StoryFilters(place=filters.jurisdiction, first_year=filters.first_year, last_year=filters.last_year,
                     reference=filters.reference, basis=filters.basis, race_scheme=filters.race_scheme)
    f = StoryFilters(**{**f.__dict__, "group": focus_group(wb, f)})
    s = summary(wb, f, cat)
    show_summary_story(s, cat)
    return s


def dashboard_from_environment() -> Dashboard:
    """What ``dashboard.ipynb`` runs in the server's kernel: the release folder and language the
    ``present`` command put in the environment (:data:`equity_helpers.settings.PRESENT_RELEASE`,
    :data:`equity_helpers.settings.LANGUAGE`)."""

    from IPython.display import HTML, display  # IPython: imported only when something is shown

    setup_notebook("interactive")
    language = settings.LANGUAGE.get() or "en"
    cat = catalogue(language)
    # the page's language for screen readers and the browser's tab title, from the catalogue
    display(HTML(f"<script>document.documentElement.lang = {language!r}; "
                 f"document.title = {cat.t('page_title')!r};</script>"))
    folder = settings.PRESENT_RELEASE.get()
    if not folder:
        raise ParameterError("Start the dashboard with `equity-workbook present --data DIR` "
                             f"({settings.PRESENT_RELEASE.name} is not set).")
    wb = Workbook.from_release(folder)
    measures = settings.PRESENT_MEASURES.get()
    if measures is not None and Path(measures).is_file():
        # what Release.measures would compute for the opening filters, computed by the command

        wb.release()._measures[("white", SUBGROUP_ALL, "exclude", "holm")] = pd.read_pickle(measures)
    return Dashboard(wb, language=language)
