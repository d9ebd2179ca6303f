"""The facilitator's offline slide deck: the dashboard's story for one place, as reveal.js slides in one file.

:func:`deck_notebook` writes the story (:mod:`equity_helpers.pages.story`) as a notebook of outputs only, one slide
per cell: the title and how to read it, the whole chain with its text alternative, the largest gaps, what
changed since the baseline, one slide per decision point (chart, sentences, questions) and the closing
questions. :func:`write_slides` turns it into HTML through nbconvert's ``SlidesExporter`` with the ``slides``
template, which inlines reveal.js (vendored under ``templates/slides/static``, MIT licence) and the Vega
runtime: the deck opens from a USB stick with no network.
"""
from __future__ import annotations

import html
from pathlib import Path

from equity_helpers.pages.i18n import catalogue
from equity_helpers.pages.story import STORY_STAGES, StoryFilters, chain_matrix, focus_group, stage_story, summary
from equity_helpers.safety import atomic_write_text
from equity_helpers.schema import STATE

__all__ = ["deck_notebook", "write_slides", "SLIDES_TEMPLATE"]

SLIDES_TEMPLATE = Path(__file__).parent / "templates" / "slides"


def _chart_html(spec: dict) -> str:
    # Altair and ipywidgets: imported only when a deck is written
    from equity_helpers.pages.dashboard import chart_bundle

    return chart_bundle(spec)["text/html"]


def _slide(html_text: str, *, kind: str = "slide"):
    import nbformat  # nbformat: imported only when a notebook is read or written

    cell = nbformat.v4.new_code_cell("")
    cell.metadata["slideshow"] = {"slide_type": kind}
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html_text})]
    return cell


def deck_notebook(wb, *, place: str = STATE, first_year: int | None = None, last_year: int | None = None,
                  group: str | None = None, reference: str = "white", basis: str = "population",
                  language: str = "en"):
    """The deck as a notebook of outputs (no code), one slide per cell, for nbconvert's slides exporter."""
    import nbformat  # nbformat: imported only when a notebook is read or written

    # Altair: about a second to import, paid only when drawing
    from equity_helpers.pages.charts import offline_loader_html

    # Altair and ipywidgets: imported only when a deck is written
    from equity_helpers.pages.dashboard import alt_html, html_list, stage_html, summary_html

    cat = catalogue(language)
    fy, ly = wb.years
    f = StoryFilters(place=place, first_year=first_year or fy, last_year=last_year or ly, group=group,
                     reference=reference, basis=basis, race_scheme=wb.schemes[0])
    f = StoryFilters(**{**f.__dict__, "group": focus_group(wb, f)})
    s = summary(wb, f, cat, height_step=7)
    ref = cat.group(f.reference)
    cells = [_slide(offline_loader_html() + f"<h1>{html.escape(s.title)}</h1><p>{html.escape(s.subtitle)}</p>"
                    + f"<h3>{html.escape(cat.t('how_to_read_heading'))}</h3>"
                    + f"<p class='eh-small'>{html.escape(cat.t('how_to_read', ref=ref))}</p>")]
    if s.chart is not None:  # the chart and its text alternative, then the gaps and changes on their own slide
        cells.append(_slide(_chart_html(s.chart) + alt_html(s.chain_alt, cat)))
    cells.append(_slide(summary_html(s, cat, with_alt=False)))
    # the whole chain's relative rates, one column per group (the deck's rate only: a slide is narrow)
    cells.append(_slide(f"<h2>{html.escape(cat.t('matrix_heading'))}</h2>"
                        + f"<div class='eh-small'>{chain_matrix(wb, f, cat, compact=True)}</div>"))
    for stage in STORY_STAGES:
        st = stage_story(s, stage, cat)
        if st.chart is not None:
            cells.append(_slide(_chart_html(st.chart) + stage_html(st, cat)))
    cells.append(_slide(f"<h2>{html.escape(cat.t('prompts_heading'))}</h2>"
                        + html_list(cat.prompts("general"), "eh-prompts")))
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["title"] = cat.t("page_title")
    return nb


def write_slides(wb, out: str | Path, **kwargs) -> Path:
    """Write the deck (:func:`deck_notebook`) to ``out``: one HTML file, reveal.js and Vega inlined."""
    from nbconvert import SlidesExporter  # nbconvert: imported only when a report is exported


    nb = deck_notebook(wb, **kwargs)
    static = SLIDES_TEMPLATE / "static"
    exporter = SlidesExporter(template_name="slides", extra_template_basedirs=[str(SLIDES_TEMPLATE.parent)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.language_code = kwargs.get("language", "en")  # the page's language, for screen readers
    resources = {"reveal_js": (static / "reveal.js").read_text(encoding="utf-8"),
                 "reveal_css": (static / "reveal.css").read_text(encoding="utf-8"),
                 "reveal_theme_css": (static / "theme-white.css").read_text(encoding="utf-8"),
                 "deck_title": nb.metadata["title"]}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return atomic_write_text(out, body)
