"""Pages: what people see, read from the release and never deciding disclosure themselves.

Each module is public and imported on its own (``from equity_helpers.pages import views``), so a command
that computes measures never pays for Altair or ipywidgets:

* :mod:`~equity_helpers.pages.views` - the tables and views of a decision-point page for chosen filters;
* :mod:`~equity_helpers.pages.charts` - every chart (Altair, and plain Vega-Lite specifications);
* :mod:`~equity_helpers.pages.maps` - the county map;
* :mod:`~equity_helpers.pages.narrative` - plain-language sentences about the measures;
* :mod:`~equity_helpers.pages.story` - the facilitator's story in the language of a message catalogue;
* :mod:`~equity_helpers.pages.breakdowns` - the pages beyond race (disability, LGBTQ+, immigrant families,
  tribes, domestic violence, family engagement);
* :mod:`~equity_helpers.pages.widgets` - the analyst's filter panels;
* :mod:`~equity_helpers.pages.workbook` - what every notebook calls (parameters, start, show a view);
* :mod:`~equity_helpers.pages.dashboard` - the facilitator's dashboard and its HTML pieces;
* :mod:`~equity_helpers.pages.i18n` - the message catalogues (English, Spanish).

The map of the package is ``docs/architecture.md``.
"""
__all__ = ["views", "charts", "maps", "narrative", "story", "breakdowns", "widgets", "workbook", "dashboard", "i18n"]
