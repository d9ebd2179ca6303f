"""The facilitator's offline slide deck: the dashboard's story for one place, as reveal.js slides in one file.

:func:`deck_notebook` writes the story (:mod:`equity_helpers.story`) as a notebook of outputs only, one slide
per cell: the title and how to read it, the whole chain with its text alternative, the largest gaps, what
changed since the baseline, one slide per decision point (chart, sentences, questions) and the closing
questions. :func:`write_slides` turns it into HTML through nbconvert's ``SlidesExporter`` with the ``slides``
template, which inlines reveal.js (vendored under ``templates/slides/static``, MIT licence) and the Vega
runtime: the deck opens from a USB stick with no network.
"""
from __future__ import annotations

import html
from pathlib import Path

from .i18n import catalogue
from .stages import STATE
from .story import (STORY_STAGES, StoryFilters, chain, chain_alt, chain_chart, changes, focus_group, hidden_count,
                    largest_gaps, place_label, stage_alt, stage_chart, stage_name, stage_prompts, stage_rows,
                    stage_sentences)

__all__ = ["deck_notebook", "write_slides", "SLIDES_TEMPLATE"]

SLIDES_TEMPLATE = Path(__file__).parent / "templates" / "slides"


def _list(items: list[str], cls: str) -> str:
    return f"<ul class='{cls}'>" + "".join(f"<li>{html.escape(s)}</li>" for s in items) + "</ul>"


def _chart_html(spec: dict) -> str:
    """A chart's HTML for the deck: Altair's offline HTML output of the specification, drawn as SVG."""
    import altair as alt

    alt.renderers.enable("html")
    return alt.renderers.get()(spec, embed_options={"renderer": "svg", "actions": False})["text/html"]


def _slide(html_text: str, *, kind: str = "slide"):
    import nbformat

    cell = nbformat.v4.new_code_cell("")
    cell.metadata["slideshow"] = {"slide_type": kind}
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html_text})]
    return cell


def deck_notebook(wb, *, place: str = STATE, first_year: int | None = None, last_year: int | None = None,
                  group: str | None = None, reference: str = "white", basis: str = "population",
                  language: str = "en"):
    """The deck as a notebook of outputs (no code), one slide per cell, for nbconvert's slides exporter."""
    import nbformat

    from .charts import offline_loader_html

    cat = catalogue(language)
    fy, ly = wb.years
    f = StoryFilters(place=place, first_year=first_year or fy, last_year=last_year or ly, group=group,
                     reference=reference, basis=basis, race_scheme=wb.schemes[0])
    group = focus_group(wb, f)
    f = StoryFilters(**{**f.__dict__, "group": group})
    rows = chain(wb, f)
    where, window, ref = place_label(f.place, cat), cat.years(f.first_year, f.last_year), cat.group(f.reference)
    baseline, change_text = changes(wb, f, cat, group=group)
    alt_text = chain_alt(rows, cat, reference=f.reference)
    pooled = "" if f.first_year == f.last_year else " " + cat.t("years_pooled_note")
    cells = [_slide(offline_loader_html()
                    + f"<h1>{html.escape(cat.t('title', place=where, years=window))}</h1>"
                    + f"<p>{html.escape(cat.t('subtitle', ref=ref) + pooled)}</p>"
                    + f"<h3>{html.escape(cat.t('how_to_read_heading'))}</h3>"
                    + f"<p class='eh-small'>{html.escape(cat.t('how_to_read', ref=ref))}</p>")]
    if len(rows):
        spec = chain_chart(rows, cat, reference=f.reference, description=alt_text, height_step=7,
                           title=cat.t("chain_chart_title", ref=ref, place=where, years=window))
        cells.append(_slide(_chart_html(spec) + f"<p class='eh-alt'>{html.escape(cat.t('text_alternative'))}: "
                                                f"{html.escape(alt_text)}</p>"))
    cells.append(_slide(f"<h2>{html.escape(cat.t('gaps_heading'))}</h2>"
                        + _list(largest_gaps(rows, cat, reference=f.reference), "eh-gaps")
                        + (f"<h2>{html.escape(cat.t('changes_heading', baseline=baseline))}</h2>" if baseline else "")
                        + _list(change_text, "eh-changes")))
    for stage in STORY_STAGES:
        r = stage_rows(rows, stage)
        if r.empty:
            continue
        name = stage_name(r.iloc[0], cat)
        s_alt = stage_alt(r, cat)
        spec = stage_chart(r, cat, description=s_alt, title=cat.t(
            "stage_chart_title", stage=name[:1].upper() + name[1:], place=where,
            years=cat.years(int(r["first_year"].iloc[0]), int(r["last_year"].iloc[0]))))
        cells.append(_slide(_chart_html(spec)
                            + _list(stage_sentences(r, cat, group=group, reference=f.reference), "eh-sentences")
                            + f"<h3>{html.escape(cat.t('prompts_heading'))}</h3>"
                            + _list(stage_prompts(stage, cat), "eh-prompts")
                            + f"<p class='eh-alt'>{html.escape(cat.t('text_alternative'))}: {html.escape(s_alt)}</p>"))
    hidden = hidden_count(rows)
    cells.append(_slide(f"<h2>{html.escape(cat.t('prompts_heading'))}</h2>" + _list(cat.prompts("general"), "eh-prompts")
                        + (f"<p class='eh-small'>{html.escape(cat.t('hidden_count', n=hidden))}</p>" if hidden else "")))
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["title"] = cat.t("page_title")
    return nb


def write_slides(wb, out: str | Path, **kwargs) -> Path:
    """Write the deck (:func:`deck_notebook`) to ``out``: one HTML file, reveal.js and Vega inlined."""
    from nbconvert import SlidesExporter

    from .report import atomic_write_text

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
