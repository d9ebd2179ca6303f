"""Batch runs: fan-out, isolation of a failing run, skip/force, index, manifest, Dask, offline HTML."""
import json
import re
import shutil
from pathlib import Path

import pytest

from equity_helpers.run.batch import run_batch
from equity_helpers.run.cli import main

from ..conftest import SAMPLE, allow_only, launch_chromium

NOTEBOOKS = ["00_start_here", "04_entry_to_care", "09_collaboration_over_time", "10_beyond_race",
             "11_domestic_violence", "12_family_engagement"]
ONCE = ("09_", "10_", "11_", "12_")  # pages run once, with the state (the survey; numbers published for the state only)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    code = main(["batch", "--data", str(SAMPLE), "--out", str(out), "--jurisdictions", "Granite,Pine Ridge,Atlantis",
                 "--notebooks", ",".join(NOTEBOOKS), "--workers", "2"])
    return out, code


def test_failing_jurisdiction_is_isolated_and_exit_code_is_non_zero(batch):
    out, code = batch
    assert code == 1
    manifest = json.loads((out / "manifest.json").read_text())
    status = {r["key"]: r["status"] for r in manifest["runs"]}
    assert status["Atlantis/00_start_here"] == "failed"
    assert "Unknown jurisdiction 'Atlantis'" in next(r["error"] for r in manifest["runs"]
                                                     if r["key"] == "Atlantis/00_start_here")
    for j in ("Statewide", "Granite", "Pine Ridge"):  # the statewide run is always produced
        for nb in NOTEBOOKS:
            if j == "Statewide" or not nb.startswith(ONCE):
                assert status[f"{j}/{nb}"] == "ok"
    assert manifest["failed"] == 2
    for r in manifest["runs"]:
        assert {"parameters", "data_hash", "package_version", "status", "seconds", "error"} <= set(r)
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".*.running.ipynb"))


def test_index_links_every_report_and_names_failures(batch):
    out, _ = batch
    index = (out / "index.html").read_text()
    links = set(re.findall(r"href='([^']+)'", index))
    reports = {str(p.relative_to(out)) for p in out.rglob("*.html") if p.name != "index.html"}
    assert reports and links == reports
    assert "failed: ParameterError: Unknown jurisdiction" in index
    # the county map (static SVG from the sample's synthetic shapes): every county named, hidden ones marked
    assert "<h2>County map</h2>" in index and "as a multiple of the rate of White children" in index
    assert all(f">{c}<" in index for c in ("Riverbend", "Prairie", "Elk Hollow"))
    assert "Comparing jurisdictions" in index and "<svg" in index
    assert not re.search(r"<script", index)


def test_the_survey_page_runs_once_and_its_numbers_are_published_protected(batch):
    import json

    import pandas as pd

    out, _ = batch
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    survey_runs = [r for r in runs if r["notebook"].startswith("09_")]
    assert [(r["jurisdiction"], r["status"]) for r in survey_runs] == [("Statewide", "ok")]
    table = pd.read_csv(out / "survey_release.csv")
    shown = table[~table["hidden"]]
    assert (shown["n"].dropna() >= 5).all() and table["hidden"].any()


def test_rerun_skips_completed_runs_unless_forced(batch, tmp_path):
    out, _ = batch
    copy = tmp_path / "again"
    shutil.copytree(out, copy)
    # the manifest's paths are relative to the reports folder: a copied folder works as it is
    again = run_batch(data_dir=str(SAMPLE), out=copy, jurisdictions=["Granite"], notebooks=["00_start_here"],
                      progress=False)
    assert again["skipped"] == 2  # Statewide and Granite
    forced = run_batch(data_dir=str(SAMPLE), out=copy, jurisdictions=["Granite"], notebooks=["00_start_here"],
                       force=True, progress=False, workers=1)
    assert forced["skipped"] == 0 and forced["failed"] == 0


def test_dask_scheduler_runs_the_same_tasks(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        m = run_batch(data_dir=str(SAMPLE), out=tmp_path, jurisdictions=["Bluff"], notebooks=["00_start_here"],
                      scheduler=cluster.scheduler_address, progress=False)
    assert [r["status"] for r in m["runs"]] == ["ok", "ok"]
    assert (tmp_path / "Bluff" / "00_start_here.html").exists()


def test_reports_render_offline_in_headless_chromium(batch):
    from playwright.sync_api import sync_playwright

    out, _ = batch
    pages = [out / "index.html", out / "Granite" / "04_entry_to_care.html", out / "Statewide" / "00_start_here.html",
             out / "Statewide" / "09_collaboration_over_time.html", out / "Statewide" / "10_beyond_race.html",
             out / "Statewide" / "11_domestic_violence.html", out / "Statewide" / "12_family_engagement.html"]
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        blocked = []

        allow_only(page, ("file:", "data:"), blocked)
        for path in pages:
            page.goto(Path(path).as_uri())
            page.wait_for_load_state("load")
            expected = page.evaluate("document.querySelectorAll('.vega-embed').length")
            if path.name != "index.html":
                assert expected > 0, path
                # every chart drew: vega-embed put an svg or a canvas into each chart's element
                page.wait_for_function(
                    f"document.querySelectorAll('.vega-embed svg, .vega-embed canvas').length >= {expected}",
                    timeout=20000)
                assert page.locator(".vega-embed .error, div.error").count() == 0
            else:
                assert page.locator("figure svg").count() >= 1  # the comparison grid (inline SVG)
            assert page.locator(".jp-CodeCell .jp-InputArea").count() == 0, "no code cell visible"
            assert page.locator(".highlight").count() == 0
            assert "import equity_helpers" not in page.content()
        browser.close()
    assert blocked == []  # nothing even tried to reach the network


def test_no_output_names_a_machine_path(batch):
    import sys
    import tempfile

    from equity_helpers.run.report import NOTEBOOK_DIR
    from equity_helpers.safety import CACHE_PREFIX

    out, _ = batch
    forbidden = {str(SAMPLE.resolve()), str(NOTEBOOK_DIR.parent), sys.prefix, str(out.resolve()),
                 str(Path(tempfile.gettempdir()) / CACHE_PREFIX), str(Path.home())}
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".ipynb", ".json", ".csv")]
    assert any(p.suffix == ".ipynb" for p in files) and any(p.name == "manifest.json" for p in files)
    for p in files:
        text = p.read_text(encoding="utf-8")
        found = [f for f in forbidden if f in text]
        assert not found, f"{p.relative_to(out)} names {found}"
    manifest = json.loads((out / "manifest.json").read_text())
    ok = [r for r in manifest["runs"] if r["status"] == "ok"]
    assert all((out / r["html"]).exists() and not Path(r["html"]).is_absolute() for r in ok)
    assert all(r["parameters"]["data_dir"] == SAMPLE.name and "cache" not in r["parameters"] for r in ok)
    # the kernels' notices stay out of the progress display and out of the manifest
    assert all(not any("without encryption" in m for m in r.get("kernel_messages", [])) for r in manifest["runs"])


def test_reports_share_one_vega_runtime_and_stay_small(batch):
    out, _ = batch
    assets = list((out / "assets").glob("vega-*.js"))
    assert len(list((out / "assets").glob("jupyterlab-light-*.css"))) == 1
    assert len(assets) == 1 and "window.vegaEmbed" in assets[0].read_text()
    reports = [p for p in out.rglob("*.html") if p.name != "index.html"]
    for p in reports:
        text = p.read_text()
        assert f'src="../assets/{assets[0].name}"' in text and "window.vegaEmbed=" not in text, p
        assert 'href="../assets/jupyterlab-light' in text and "Copyright (c) Jupyter" not in text
        assert p.stat().st_size < 200_000, (p, p.stat().st_size)
        executed = p.with_suffix(".ipynb").read_text()
        assert "window.vegaEmbed=" not in executed and p.with_suffix(".ipynb").stat().st_size < 200_000


def test_runs_get_the_release_and_no_child_level_rows(tmp_path):
    import pickle

    import equity_helpers as eh
    from equity_helpers.release.workbook import Workbook

    wb = Workbook.load(SAMPLE)
    wb.release()
    runs = wb.for_runs()
    blob = pickle.dumps(runs)
    child = str(wb.data.children["child_id"].iloc[0])
    assert child.encode() not in blob and not runs.has_records
    assert runs.jurisdictions == wb.jurisdictions and runs.schemes == ["hispanic_first"]
    cache = tmp_path / "wb.pkl"
    cache.write_bytes(blob)
    got, params, filters = eh.start(data_dir=None, jurisdiction="Bluff", first_year=2023, last_year=2025,
                                    cache=str(cache), mode="batch")
    assert got.data.accounting_summary().equals(wb.data.accounting_summary())
    assert eh.views.decision_point_view(got, stages=["reported"], filters=filters).sentences
    with pytest.raises(eh.ParameterError, match="holds the published release for hispanic_first only"):
        got.release("alone_or_in_combination")
