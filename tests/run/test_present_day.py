"""The facilitator's dashboard holds a day of use (issue 28, item 1), in Debian's chromium through Playwright
with every non-local request aborted, served by `equity-workbook present` as a facilitator starts it:

* the first view after the command says it is ready draws both charts with no reload (the command drew the
  dashboard once on the server first);
* ten views opened and closed (tabs closed without their ``beforeunload``: the server notices the page has
  gone by its websocket), in batches as large as the cap, leave at most one kernel within seconds;
* with ``--max-kernels`` pages open, one more gets the plain full-room page (HTTP 503) in the page's language,
  and closing a page frees its place.

Screenshots go to ``$EQUITY_WORKBOOK_ARTIFACTS`` (default: the test's temporary folder). Ten starts in a row
and the kernels left after twelve views are measured by ``benchmarks/bench_present.py --day``."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from ..conftest import SAMPLE, allow_only, launch_chromium
from .test_present_browser import CHARTS, free_port

FIRST_VIEW_S = 60  # a first view that has not drawn by then is a stall (the page is not reloaded)
WIDGETS = "document.querySelectorAll('.eh-dashboard .eh-filters select').length > 0"  # the widgets' view drawn


def _start(port: int, log: Path, *, language: str = "en", max_kernels: int = 3) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "equity_helpers.run.cli", "present", "--data", str(SAMPLE),
                             "--port", str(port), "--language", language, "--max-kernels", str(max_kernels),
                             "--server-log", str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "is ready at" in line:
            return proc
    pytest.fail("the dashboard did not start:\n" + "".join(lines[-20:]))


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    proc.stdout.close()


def kernels(proc: subprocess.Popen) -> int:
    """The server's kernel processes running now."""
    alive = 0
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                alive += 1
        except psutil.NoSuchProcess:
            pass
    return alive


def _wait_for_kernels(proc, most: int, within: float) -> tuple[int, float]:
    """Wait until at most ``most`` kernels run (or ``within`` seconds passed): the count and the wait."""
    t0 = time.perf_counter()
    while (n := kernels(proc)) > most and time.perf_counter() - t0 < within:
        time.sleep(0.5)
    return n, time.perf_counter() - t0


def _offline_page(context, url: str, port: int, blocked: list):
    return allow_only(context.new_page(), (url, "data:", "blob:", f"ws://127.0.0.1:{port}"), blocked)


def _view(context, url, port, blocked, log: Path, *, timeout_s: float = 90, drawn: str = f"{CHARTS} >= 2"):
    """A new tab showing the dashboard: ``drawn`` true (by default both charts drawn; no reload, else the test
    fails with the page's text and the server log's end)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = _offline_page(context, url, port, blocked)
    try:
        page.goto(url + "/", wait_until="commit", timeout=timeout_s * 1000)
        page.wait_for_function(drawn, timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        text = page.evaluate("document.body ? document.body.innerText.slice(0, 800) : ''")
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        pytest.fail(f"the dashboard had not drawn within {timeout_s:.0f} s; page:\n{text}\nserver log:\n{tail}")
    return page


def _shots(tmp_path) -> Path:
    shots = Path(os.environ.get("EQUITY_WORKBOOK_ARTIFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def _views(context, url, port, blocked, log: Path, n: int) -> list:
    """``n`` tabs opened at once, each then showing the dashboard (its widgets drawn: its kernel connected)."""
    pages = [_offline_page(context, url, port, blocked) for _ in range(n)]
    for page in pages:
        page.goto(url + "/", wait_until="commit", timeout=90000)
    for page in pages:
        try:
            page.wait_for_function(WIDGETS, timeout=90000)
        except Exception:  # noqa: BLE001 - reported with the page's text and the server's log
            text = page.evaluate("document.body ? document.body.innerText.slice(0, 800) : ''")
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            pytest.fail(f"a view did not draw; page:\n{text}\nserver log:\n{tail}")
    return pages


def test_ten_views_opened_and_closed_leave_at_most_one_kernel_and_a_full_room_says_so(tmp_path):
    from playwright.sync_api import sync_playwright

    shots = _shots(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    proc = _start(port, log, max_kernels=4)
    blocked, most = [], 0
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            context = browser.new_context(viewport={"width": 1300, "height": 1000})
            # ten views in tabs opened four, three and three at a time (the cap is four) and closed: each batch
            # needs the places the one before freed; with the room full, one more view gets the full-room page
            for batch, n in enumerate((4, 3, 3)):
                pages = _views(context, url, port, blocked, log, n)
                most = max(most, kernels(proc))
                if batch == 0:
                    full = _offline_page(context, url, port, blocked)
                    assert full.goto(url + "/", timeout=30000).status == 503
                    assert kernels(proc) == 4 and full.locator("h1").inner_text() == "The room is full"
                    assert "try again in a minute or two" in full.locator("p").inner_text()
                    assert full.evaluate("document.documentElement.lang") == "en"
                    full.screenshot(path=str(shots / "present_day_room_full_en.png"))
                    full.close()
                for page in pages:
                    page.close()
            left, waited = _wait_for_kernels(proc, 1, 30)
            assert left <= 1, f"{left} kernels still running {waited:.0f} s after ten views were closed"
            browser.close()
    finally:
        _stop(proc)
    assert most <= 4
    assert blocked == [], blocked[:5]


def test_the_first_view_after_start_draws_and_a_full_room_speaks_spanish(tmp_path):
    from playwright.sync_api import sync_playwright

    shots = _shots(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    proc = _start(port, log, language="es", max_kernels=1)
    blocked = []
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            context = browser.new_context(viewport={"width": 1300, "height": 1000})
            first = _view(context, url, port, blocked, log, timeout_s=FIRST_VIEW_S)  # the first view: no reload
            first.screenshot(path=str(shots / "present_day_first_view_es.png"))
            full = _offline_page(context, url, port, blocked)
            assert full.goto(url + "/", timeout=30000).status == 503
            assert full.locator("h1").inner_text() == "La sala está llena"
            assert "Vuelva a intentarlo" in full.locator("p").inner_text()
            assert full.evaluate("document.documentElement.lang") == "es"
            full.screenshot(path=str(shots / "present_day_room_full_es.png"))
            browser.close()
        assert _wait_for_kernels(proc, 0, 30)[0] == 0  # the browser quit: its page's kernel is freed
    finally:
        _stop(proc)
    assert blocked == [], blocked[:5]


def test_the_kernel_manager_frees_a_page_that_has_gone_and_keeps_to_its_cap():
    """Without a browser: a kernel whose last websocket closed goes after the delay unless its page
    reconnected; at the cap a view is refused (the full-room text in the page's language), and a kernel
    whose page has gone is shut down at once to make room."""
    import asyncio

    from equity_helpers.run.present_kernels import PresentKernelManager, RoomFull

    async def gone(km, kernel_id, within=20.0):
        for _ in range(int(within / 0.1)):
            if kernel_id not in km:
                return True
            await asyncio.sleep(0.1)
        return False

    async def scenario():
        km = PresentKernelManager(max_kernels=1, shutdown_delay=0.3, language="es")
        try:
            first = await km.start_kernel(kernel_name="python3")
            with pytest.raises(RoomFull) as full:
                await km.start_kernel(kernel_name="python3")
            assert full.value.status_code == 503 and full.value.title == "La sala está llena"
            assert "(1)" in full.value.text and full.value.language == "es"
            km.notify_connect(first)
            km.notify_disconnect(first)
            km.notify_connect(first)  # the page reconnected within the delay: its kernel stays
            await asyncio.sleep(1.0)
            assert first in km
            km.notify_disconnect(first)  # the page has gone
            assert await gone(km, first)
            second = await km.start_kernel(kernel_name="python3")
            km.shutdown_delay = 600.0
            km.notify_connect(second)
            km.notify_disconnect(second)  # gone, waiting for its (long) delay: a new view makes room at once
            third = await km.start_kernel(kernel_name="python3")
            assert second not in km and third in km
        finally:
            km._wakeups.stop()
            await km.shutdown_all()

    asyncio.run(scenario())
