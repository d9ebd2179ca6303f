"""Notebooks run headlessly under papermill, pass nbval-lax, and export offline HTML."""
import re
import subprocess
import sys

import nbformat
import pytest

from equity_helpers.run.report import notebook_scope
from equity_helpers.run.report import NOTEBOOK_DIR, render_report, run_notebook

from .conftest import SAMPLE

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
PLACE_NOTEBOOKS = [p.name for p in NOTEBOOKS if notebook_scope(p) == "place"]
SURVEY_NOTEBOOK = "09_collaboration_over_time.ipynb"


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS:
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name


def test_notebooks_are_the_thin_source_people_edit():
    """The notebooks themselves are the source (no generator overwrites an analyst's edit): each has a
    parameters cell for papermill, imports only the package and IPython's display, and holds no logic
    (no functions, classes or loops): every number comes from equity_helpers."""
    import ast

    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert any("parameters" in c.metadata.get("tags", []) for c in code), path.name
        for cell in code:
            tree = ast.parse(cell.source)
            for node in ast.walk(tree):
                assert not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.Lambda)), (
                    path.name, cell.source)
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                    assert all(n.split(".")[0] in ("equity_helpers", "IPython") for n in names), (path.name, names)


def test_the_survey_page_is_about_the_whole_collaboration():
    assert notebook_scope(NOTEBOOK_DIR / SURVEY_NOTEBOOK) == "collaboration" and SURVEY_NOTEBOOK not in PLACE_NOTEBOOKS


@pytest.mark.parametrize("jurisdiction", ["Statewide", "Granite"])
@pytest.mark.parametrize("notebook", [p.name for p in NOTEBOOKS])
def test_notebook_runs_in_batch_and_passes_nbval(tmp_path, notebook, jurisdiction):
    if notebook not in PLACE_NOTEBOOKS and jurisdiction != "Statewide":
        pytest.skip("a collaboration-wide page runs once, with the state")
    out = tmp_path / notebook
    run_notebook(NOTEBOOK_DIR / notebook, out,
                 parameters={"data_dir": str(SAMPLE), "jurisdiction": jurisdiction, "mode": "batch"})
    nb = nbformat.read(str(out), as_version=4)
    kinds = {k for c in nb.cells if c.cell_type == "code" for o in c.outputs for k in o.get("data", {})}
    html = "".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert html.count("window.vegaEmbed=") == 1, "the offline Vega bundle is inlined exactly once"
    # charts are rendered, or the page says why a small place's numbers are all hidden
    assert "vegaEmbed(el," in html or "image/svg+xml" in kinds or (
        jurisdiction != "Statewide" and "Too few children entered care in" in "".join(
            str(o.get("data", {})) for c in nb.cells if c.cell_type == "code" for o in c.outputs)), "charts are rendered"
    assert "application/vnd.jupyter.widget-view+json" not in kinds, "no widget left as the only output"
    # every output is a page element (text, a table, a chart): no plain-text repr of an object a cell returned
    plain = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if o.output_type in ("display_data", "execute_result") and set(o.get("data", {})) <= {"text/plain"}]
    assert plain == [], [str(o["data"])[:200] for o in plain]
    if notebook == SURVEY_NOTEBOOK:
        text = "".join(str(o.get("data", {})) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert "people answered the survey for all partners together" in text and "hidden" in text
    if jurisdiction == "Granite":
        text = "".join(str(o.get("data", {})) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert "suppressed" in text or "too small to report" in text or "hidden to protect" in text
    if jurisdiction == "Statewide":  # nbval re-executes the page; once per notebook is enough (the county
        # run above already executed every cell without an error)
        res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                              str(out)], capture_output=True, text=True, cwd=tmp_path)
        assert res.returncode == 0, res.stdout[-2000:]


def test_interactive_mode_shows_the_filter_panel(tmp_path):
    out = tmp_path / "04.ipynb"
    run_notebook(NOTEBOOK_DIR / "04_entry_to_care.ipynb", out, parameters={"data_dir": str(SAMPLE)})
    nb = nbformat.read(str(out), as_version=4)
    kinds = {k for c in nb.cells if c.cell_type == "code" for o in c.outputs for k in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds


def test_survey_page_shows_its_filter_panel_interactively(tmp_path):
    out = tmp_path / "09.ipynb"
    run_notebook(NOTEBOOK_DIR / SURVEY_NOTEBOOK, out, parameters={"data_dir": str(SAMPLE)})
    nb = nbformat.read(str(out), as_version=4)
    kinds = {k for c in nb.cells if c.cell_type == "code" for o in c.outputs for k in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds


def test_survey_page_without_a_survey_says_what_to_add(tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError):
        run_notebook(NOTEBOOK_DIR / SURVEY_NOTEBOOK, tmp_path / "none.ipynb",
                     parameters={"data_dir": str(tmp_path), "mode": "batch"})
    nb = nbformat.read(str(tmp_path / "none.failed.ipynb"), as_version=4)
    shown = "".join(str(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "No collaboration survey was found" in shown and "Traceback (most recent call last)" not in shown


def test_bad_parameter_fails_with_plain_message(tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError) as exc:
        run_notebook(NOTEBOOK_DIR / "00_start_here.ipynb", tmp_path / "bad.ipynb",
                     parameters={"data_dir": str(SAMPLE), "jurisdiction": "Atlantis", "mode": "batch"})
    assert exc.value.exec_count == 3  # the parameter-check cell
    assert (tmp_path / "bad.failed.ipynb").exists() and not (tmp_path / "bad.ipynb").exists()
    nb = nbformat.read(str(tmp_path / "bad.failed.ipynb"), as_version=4)
    shown = "".join(str(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Unknown jurisdiction 'Atlantis'" in shown and "Statewide, Bluff" in shown
    assert "Traceback (most recent call last)" not in shown


def test_report_is_offline_and_hides_code(tmp_path):
    entry = render_report(NOTEBOOK_DIR / "00_start_here.ipynb", tmp_path,
                          parameters={"data_dir": str(SAMPLE), "jurisdiction": "Pine Ridge", "mode": "batch"})
    html = (tmp_path / "00_start_here.html").read_text()
    assert entry["status"] == "ok"
    assert not re.search(r"<script[^>]+src=", html), "no external scripts"
    assert not re.search(r"<link[^>]+href=[\"']https?:", html), "no external stylesheets"
    assert html.count("window.vegaEmbed=") == 1 and "vegaEmbed(el," in html  # bundle inlined once
    assert "eh.load" not in html and "import equity_helpers" not in html, "code is hidden"
    assert "About this report" in html and "Counts from 1 to 10" in html
    assert re.search(r"C\d{8}", html) is None, "no child ids in a shared report"


def test_executed_notebooks_keep_one_form_of_each_rich_output():
    from equity_helpers.run.report import compact_outputs

    error = {"output_type": "error", "ename": "ValueError", "evalue": "x", "traceback": []}
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": {"text/plain": "<Chart>", "text/html": "<div></div>"}},
        {"output_type": "execute_result", "data": {"text/plain": "table", "text/markdown": "| a |"}},
        {"output_type": "display_data", "data": {"text/plain": "only words"}},
        {"output_type": "display_data", "data": {"text/plain": "s", "application/vnd.vegalite.v6+json": {}}},
        {"output_type": "stream", "name": "stdout", "text": "printed"}, error]}]}
    outs = compact_outputs(nb)["cells"][0]["outputs"]
    assert [sorted(o.get("data", {})) for o in outs] == [["text/html"], ["text/markdown"], ["text/plain"],
                                                         ["application/vnd.vegalite.v6+json"], [], []]
    assert outs[4]["text"] == "printed" and outs[5] == error
