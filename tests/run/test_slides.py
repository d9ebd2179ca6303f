"""The offline slide deck: one HTML file with reveal.js and the Vega runtime inlined, the story of one place in
English or Spanish, opened in Debian's chromium from disk with every non-file request aborted: every slide and
every chart draws. Screenshots go to ``$EQUITY_WORKBOOK_ARTIFACTS`` (default: the test's temporary folder)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from equity_helpers.run.slides import deck_notebook, write_slides
from equity_helpers.schema import STATE
from equity_helpers.pages.story import STORY_STAGES

from ..conftest import SAMPLE, allow_only, launch_chromium


@pytest.fixture(scope="module")
def wb(sample_workbook):
    return sample_workbook


def test_the_deck_tells_the_story_in_slides(wb):
    nb = deck_notebook(wb, place="Granite", language="en")
    kinds = [c.metadata["slideshow"]["slide_type"] for c in nb.cells]
    # title, chain, gaps and changes, the whole chain's matrix, one per decision point, closing questions
    assert kinds == ["slide"] * (4 + len(STORY_STAGES) + 1)
    assert all(c.source == "" for c in nb.cells), "no code in the deck"
    first = nb.cells[0].outputs[0]["data"]["text/html"]
    assert "window.vegaEmbed" in first and "Where do the gaps open up? Granite, FY2020-FY2025" in first


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_deck_is_one_offline_file(wb, tmp_path, language):
    path = write_slides(wb, tmp_path / "deck.html", place="Granite", language=language)
    text = path.read_text(encoding="utf-8")
    assert f'<html lang="{language}">' in text
    # nothing is fetched: no script or style from anywhere but this file
    assert re.findall(r'<(?:script|link)[^>]+(?:src|href)="[^"]+"', text) == []
    assert "Reveal.initialize" in text and "reveal.js 5" in text
    assert ("Questions for discussion" if language == "en" else "Preguntas para conversar") in text
    assert "cdn.jsdelivr.net/npm/vega@" not in text.split("VEGA_DEBUG = {")[0][-200:]


def test_the_slides_command(tmp_path):
    out = tmp_path / "granite.html"
    run = subprocess.run([sys.executable, "-m", "equity_helpers.run.cli", "slides", "--data", str(SAMPLE), "--jurisdiction",
                          "Granite", "--years", "2023-2025", "--language", "es", "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert out.exists() and "AF2023-AF2025" in out.read_text(encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "equity_helpers.run.cli", "slides", "--data", str(SAMPLE), "--jurisdiction",
                          "Granite", "--years", "2021-2024", "--out", str(tmp_path / "x.html")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "not a published window" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_slide_and_chart_draws_offline_in_chromium(wb, tmp_path, language):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("EQUITY_WORKBOOK_ARTIFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    path = write_slides(wb, tmp_path / "deck.html", place=STATE, language=language)
    blocked, errors = [], []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        allow_only(page, ("file:", "data:", "blob:"), blocked)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_function("typeof Reveal !== 'undefined' && Reveal.isReady()", timeout=30000)
        total = page.evaluate("Reveal.getTotalSlides()")
        assert total == 4 + len(STORY_STAGES) + 1
        charts = 1 + len(STORY_STAGES)
        page.wait_for_function(f"document.querySelectorAll('.vega-embed svg').length >= {charts}", timeout=60000)
        assert page.locator(".vega-embed .error, .vega-embed .vega-bind-error").count() == 0
        for i in range(total):
            page.evaluate(f"Reveal.slide({i})")
            page.wait_for_timeout(150)
            current = page.locator("section.present").last
            assert current.inner_text().strip(), f"slide {i + 1} is empty"
            if i in (0, 1, 2, 3, 7):
                page.screenshot(path=str(shots / f"slides_{language}_{i + 1:02d}.png"))
        browser.close()
    assert blocked == [] and errors == [], (blocked[:5], errors[:5])

