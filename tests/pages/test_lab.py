"""The interactive survey page in a live JupyterLab, in Debian's chromium, with every non-local request aborted:
run all, the filter panel draws its charts, and changing filters redraws the sentences and charts, with no
error shown.

Screenshots are saved to ``$EQUITY_WORKBOOK_ARTIFACTS`` (default: the test's temporary folder)."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from equity_helpers.run.report import NOTEBOOK_DIR

from ..conftest import SAMPLE, allow_only, launch_chromium

NOTEBOOK = "09_collaboration_over_time.ipynb"
DECISION = "04_entry_to_care.ipynb"
TOKEN = "equity-workbook-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, sample_release):
    """A JupyterLab server over copies of the notebooks (so autosave never touches the committed ones). The
    sample's release is protected first (``sample_release``), so the kernels read it from the session's
    release cache instead of protecting it again inside the page."""
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    for name in (NOTEBOOK, DECISION):
        shutil.copy(NOTEBOOK_DIR / name, root / "notebooks" / name)
    (root / "data").mkdir()
    (root / "data" / "sample").symlink_to(SAMPLE, target_is_directory=True)
    # every cell laid out (JupyterLab otherwise skips cells scrolled out of view, and a panel above the cell that
    # "Run All" scrolls to would never count as visible) and no question about news over the page
    settings = root / ".settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".settings"), "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:  # pragma: no cover - a server that never started
        proc.kill()
        pytest.fail("JupyterLab did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()


@contextmanager
def _notebook_page(lab, name, blocked):
    """A chromium page with ``name`` open in JupyterLab and every cell run (non-local requests aborted)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        allow_only(page, (lab, "data:", "blob:", "ws://127.0.0.1"), blocked)
        # a workspace of its own: with another notebook's tab open from an earlier test, the status bar's "Idle"
        # could be that notebook's kernel, and "Run All" would be clicked before this one's kernel is ready
        workspace = name.split("_")[0] + "-" + str(time.time_ns())
        page.goto(f"{lab}/lab/workspaces/{workspace}/tree/notebooks/{name}?reset&token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60000)
        # run only once the kernel and the widget manager are ready (the status bar says Idle)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            yield page
        finally:
            browser.close()


def _charts_drawn(page, n: int, timeout: int = 120000) -> None:
    page.wait_for_function("document.querySelectorAll('.jp-OutputArea .vega-embed svg, "
                           f".jp-OutputArea .vega-embed canvas').length >= {n}", timeout=timeout)


def _no_error(page) -> None:
    assert page.locator(".jp-OutputArea-output.jp-mod-error, .jp-RenderedText[data-mime-type="
                        "'application/vnd.jupyter.stderr'], .eh-error").count() == 0


def _dropdown(page, label):
    return page.locator(".widget-dropdown").filter(has_text=label).locator("select")


def _choose(page, label: str, option: str, sentence: str) -> None:
    """Pick ``option`` in the panel's ``label`` dropdown; wait for a sentence (a JS test on ``li``) and the charts."""
    _dropdown(page, label).select_option(label=option)
    page.wait_for_function(f"[...document.querySelectorAll('.jp-OutputArea li')].some(li => {sentence})",
                           timeout=30000)
    _charts_drawn(page, 3, 30000)


def test_survey_panel_redraws_in_jupyterlab(lab, tmp_path):
    shots = Path(os.environ.get("EQUITY_WORKBOOK_ARTIFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    blocked = []
    with _notebook_page(lab, NOTEBOOK, blocked) as page:
        # the panel: four dropdowns, then the sentences and three charts drawn by vega-embed
        page.wait_for_selector(".widget-dropdown select", timeout=120000)
        _charts_drawn(page, 3)
        _no_error(page)
        first = page.locator(".jp-OutputArea li").filter(has_text="people answered the survey").first.inner_text()
        assert first.startswith("110 people answered the survey for all partners together")  # under "In 2026:"
        page.screenshot(path=str(shots / "lab_survey_all_partners.png"), full_page=False)
        _choose(page, "Who answered", "Child welfare agency",
                "li.innerText.includes('people answered the survey for Child welfare agency')")
        _choose(page, "Wave", "2025", "li.innerText.startsWith('46 people answered')")
        assert _dropdown(page, "Domain").locator(
            "option:checked").inner_text().replace("\xa0", " ") == "every domain"
        page.locator(".jp-OutputArea .vega-embed").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "lab_survey_child_welfare_2025.png"), full_page=False)
        _no_error(page)
    assert blocked == [], blocked[:5]


def _sentences(page) -> str:
    """Every sentence on the page (textContent: JupyterLab does not lay out cells scrolled out of view)."""
    return " ".join(page.locator(".jp-OutputArea li").all_text_contents())


def _text_changed(page, before: str) -> None:
    """Wait until the page's sentences (:func:`_sentences`) differ from ``before``."""
    page.wait_for_function("b => [...document.querySelectorAll('.jp-OutputArea li')].map(li => li.textContent)"
                           ".join(' ') !== b", arg=before, timeout=30000)
    page.wait_for_timeout(500)  # the rest of the redraw (one output area is replaced at a time)


def test_decision_point_panel_redraws_in_jupyterlab(lab, tmp_path):
    """Entry to care in interactive mode: run all, then change the place and the base; the sentences, the charts
    and the table follow, labels are shown in full, and no error is shown."""
    shots = Path(os.environ.get("EQUITY_WORKBOOK_ARTIFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    blocked = []
    with _notebook_page(lab, DECISION, blocked) as page:
        page.wait_for_selector(".widget-dropdown select", state="attached", timeout=240000)
        page.locator(".widget-dropdown").first.scroll_into_view_if_needed()
        _charts_drawn(page, 2, timeout=180000)
        page.wait_for_function("[...document.querySelectorAll('.jp-OutputArea li')].some(li => "
                               "li.innerText.includes('Black children entered foster care'))", timeout=60000)
        _no_error(page)
        # labels in full, not cut off ("Compare ...", "per 100 at the pr...")
        for label in ("Compare with", "Race coding", "Unknown race", "Many groups"):
            box = page.locator(".widget-dropdown").filter(has_text=label).locator("label").first
            assert box.evaluate("e => e.scrollWidth <= e.clientWidth"), label
        assert page.get_by_role("button", name="per 100 at the previous decision").evaluate(
            "e => e.scrollWidth <= e.clientWidth")
        table = page.locator(".jp-OutputArea table.dataframe").first.text_content()
        assert "Black" in table and "decision point" not in table
        before = _sentences(page)
        news = page.get_by_role("button", name="No", exact=True)
        if news.count():
            news.first.click()  # JupyterLab's question about news, over the page in a screenshot
        panel = page.locator(".widget-dropdown").first
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "lab_entry_statewide.png"), full_page=False)

        # the second panel on the page (the decision base) already says "too small to report" and "per 100
        # children with a substantiated ...", so each change is awaited as a change of the page's text
        _dropdown(page, "Place").select_option(label="Granite")
        _text_changed(page, before)
        page.wait_for_function("t => document.querySelector('.jp-OutputArea table.dataframe') !== null && "
                               "document.querySelector('.jp-OutputArea table.dataframe').textContent !== t",
                               arg=table, timeout=30000)
        _charts_drawn(page, 1, 30000)
        granite = _sentences(page)
        assert "too small to report" in granite or "is not shown" in granite
        _no_error(page)
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "lab_entry_granite.png"), full_page=False)

        _dropdown(page, "Place").select_option(label="Statewide")
        _text_changed(page, granite)
        statewide = _sentences(page)
        per100 = statewide.count("per 100 children with a substantiated")
        page.get_by_role("button", name="per 100 at the previous decision").click()
        _text_changed(page, statewide)
        assert _sentences(page).count("per 100 children with a substantiated") > per100
        _charts_drawn(page, 2, 30000)
        _no_error(page)
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "lab_entry_decision_base.png"), full_page=False)
    assert blocked == [], blocked[:5]
