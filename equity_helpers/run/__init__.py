"""Running the workbook: commands, batches, reports, the dashboard server and slides.

Each module is public and imported on its own, so the command line starts without loading Jupyter:

* :mod:`~equity_helpers.run.cli` - the ``equity-workbook`` command;
* :mod:`~equity_helpers.run.pipeline` - child-level files to the measures table in one call;
* :mod:`~equity_helpers.run.batch` - every notebook for every place, in worker processes or on Dask;
* :mod:`~equity_helpers.run.kernels` - warm notebook kernels reused between a worker's runs;
* :mod:`~equity_helpers.run.report` - one offline HTML report from an executed notebook;
* :mod:`~equity_helpers.run.index_page` - the batch's index page comparing places;
* :mod:`~equity_helpers.run.present` - the facilitator's dashboard served with Voila;
* :mod:`~equity_helpers.run.slides` - an offline reveal.js deck of one place's story.

The map of the package is ``docs/architecture.md``.
"""
__all__ = ["cli", "pipeline", "batch", "kernels", "report", "index_page", "present", "slides"]
