import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
GOLDEN = Path(__file__).resolve().parent / "golden" / "validation_cases.json"

# protected releases are kept for the test session only (notebook kernels inherit the variable), so
# the sample's release is protected once per run, not once per notebook; a developer may point the
# variable at a folder of their own to keep it between runs
_OWN_CACHE = "EQUITY_WORKBOOK_CACHE" not in os.environ
if _OWN_CACHE:
    os.environ["EQUITY_WORKBOOK_CACHE"] = tempfile.mkdtemp(prefix="equity-workbook-test-cache-")


def pytest_sessionfinish(session, exitstatus):
    if _OWN_CACHE:
        shutil.rmtree(os.environ["EQUITY_WORKBOOK_CACHE"], ignore_errors=True)


def launch_chromium(playwright):
    """Debian's chromium (never a downloaded browser), headless, with its background requests turned off."""
    return playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"])


def allow_only(page, allowed: tuple[str, ...], blocked: list):
    """Abort every request of ``page`` whose URL does not start with one of ``allowed`` (the page's own files
    or server, ``data:``, ``blob:``...), noting it in ``blocked``: what a page fetches from anywhere else shows
    it would not work offline. Returns the page."""

    def deny(route):
        if route.request.url.startswith(allowed):
            return route.continue_()
        blocked.append(route.request.url)
        return route.abort()

    page.route("**/*", deny)
    return page


@pytest.fixture(scope="session")
def cases() -> dict:
    """Worked examples with known answers (copied from shared/methods/validation_cases.json)."""
    return {c["id"]: c for c in json.loads(GOLDEN.read_text())}


@pytest.fixture(scope="session")
def sample_data():
    import equity_helpers as eh

    return eh.load(SAMPLE)


@pytest.fixture(scope="session")
def sample_workbook(sample_data):
    """The sample state's workbook; its release table (built on first use) is shared by every test."""
    from equity_helpers.release.workbook import Workbook

    return Workbook(sample_data)


@pytest.fixture(scope="session")
def sample_release(sample_workbook):
    return sample_workbook.release("hispanic_first")


@pytest.fixture(scope="session")
def sample_counts(sample_data):
    import equity_helpers as eh

    return eh.stage_counts(sample_data)


@pytest.fixture(scope="session")
def sample_population(sample_data):
    import equity_helpers as eh

    return eh.population_table(sample_data)


def tiny_raw() -> dict[str, pd.DataFrame]:
    """A hand-made state: 6 children, 2 counties, FY2023-FY2024 (see test_stages for the hand counts)."""
    children = pd.DataFrame({
        "child_id": ["A", "B", "C", "D", "E", "F"],
        "birth_date": ["2015-01-01", "2012-06-01", "2020-03-03", "2006-01-01", "2018-05-05", "2010-10-10"],
        "sex": ["female", "male", "male", "female", "female", "male"],
        "race_aian": ["0", "0", "0", "1", "0", "0"],
        "race_asian": ["0", "0", "0", "0", "0", "0"],
        "race_black": ["1", "0", "1", "0", "0", "1"],
        "race_nhpi": ["0", "0", "0", "0", "0", "0"],
        "race_white": ["0", "1", "1", "0", "1", "0"],
        "race_unknown": ["0", "0", "0", "0", "0", "0"],
        "hispanic": ["no", "no", "no", "no", "yes", "no"],
    })
    reports = pd.DataFrame({
        "report_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"],
        "child_id": ["A", "A", "B", "C", "D", "E", "F", "F"],
        "jurisdiction": ["North", "North", "North", "South", "South", "North", "North", "South"],
        "report_date": ["2022-11-01", "2023-02-01", "2023-01-15", "2023-03-01", "2023-05-01", "2023-12-01",
                        "2023-04-01", "2023-06-01"],
        "screened_in": ["1", "1", "1", "0", "1", "1", "1", "1"],
        "disposition": ["substantiated", "indicated", "unsubstantiated", "", "substantiated", "substantiated",
                        "substantiated", "substantiated"],
    })
    episodes = pd.DataFrame({
        "episode_id": ["e1", "e2", "e3", "e4", "e5"],
        "child_id": ["A", "D", "F", "F", "E"],
        "jurisdiction": ["North", "South", "North", "South", "North"],
        "entry_date": ["2022-12-01", "2023-06-01", "2023-04-10", "2023-07-01", "2023-12-15"],
        "exit_date": ["2023-05-01", "", "2023-05-10", "", "2024-02-01"],
        "exit_reason": ["reunification", "", "reunification", "", "relative"],
        "first_placement": ["kin", "congregate", "nonkin_foster", "kin", "kin"],
        "placement_count": ["1", "2", "1", "1", "1"],
    })
    rows = []
    for j in ("North", "South"):
        for y in (2023, 2024):
            for g, n in (("white", 400), ("black", 100), ("hispanic", 80), ("aian", 20), ("asian", 30),
                         ("nhpi", 5), ("multiracial", 15)):
                for a in ("0-4", "5-9", "10-14", "15-17"):
                    for s in ("female", "male"):
                        rows.append((j, str(y), g, a, s, str(n)))
    population = pd.DataFrame(rows, columns=["jurisdiction", "year", "race_ethnicity", "age_group", "sex",
                                             "population"])
    return {"children": children, "reports": reports, "episodes": episodes, "population": population}


@pytest.fixture
def tiny() -> dict[str, pd.DataFrame]:
    return tiny_raw()
