"""Benchmark the facilitator's dashboard (``equity-workbook present``) on the sample, in Debian's chromium.

Prints, for each language: the command's time until it says the server is ready, the time from the command
to the first page's charts drawn (the issue's "starts in under 10 s"; the release comes from the release
cache, as on every start after the first), and the redraw after a filter change measured inside the browser,
from the select's change event until the new sentences and both charts are on the page (median and worst of
a round of places, then of decision points; target 300 ms).

Run: ``.venv/bin/python benchmarks/bench_present.py [--data data/sample] [--rounds 2]``
"""
from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import time

CHARTS = "document.querySelectorAll('.eh-dashboard .vega-embed svg').length"
REDRAW = """async ([selector, value]) => {
  const text = sel => (document.querySelector(sel) || {innerText: ''}).innerText;
  const alts = () => [...document.querySelectorAll('.eh-alt')].map(a => a.innerText).join();
  const gaps0 = text('.eh-gaps'), sentences0 = text('.eh-sentences'), alt0 = alts();
  const select = document.querySelectorAll(selector)[0];
  const t0 = performance.now();
  select.value = value;
  select.dispatchEvent(new Event('change', {bubbles: true}));
  const changed = () => text('.eh-gaps') !== '' && (text('.eh-gaps') !== gaps0 || text('.eh-sentences') !== sentences0
      || alts() !== alt0);
  while (!(changed() && %s >= 2)) { await new Promise(r => requestAnimationFrame(r)); }
  return performance.now() - t0;
}""" % CHARTS


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(data: str, language: str, rounds: int) -> dict:
    from playwright.sync_api import sync_playwright

    port = _port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "equity_helpers.run.cli", "present", "--data", data, "--port", str(port),
                             "--language", language], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if "is ready at" in line:
            break
    ready = time.perf_counter() - started
    url = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
                (url, "data:", "blob:", f"ws://127.0.0.1:{port}")) else r.abort())
            page.goto(url + "/", timeout=180000)
            page.wait_for_function(f"{CHARTS} >= 2", timeout=180000)
            drawn = time.perf_counter() - started
            places = page.evaluate("[...document.querySelector('.eh-filters select').options].map(o => o.value)")
            place_ms, stage_ms = [], []
            for _ in range(rounds):
                for place in places[1:] + places[:1]:
                    place_ms.append(page.evaluate(REDRAW, [".eh-filters select", place]))
            stages = page.locator(".eh-dashboard .widget-toggle-buttons").last.locator("button")
            for _ in range(rounds):
                for i in list(range(1, stages.count())) + [0]:
                    t0 = time.perf_counter()
                    alt0 = page.locator(".eh-alt").last.inner_text()
                    stages.nth(i).click()
                    page.wait_for_function(f"document.querySelectorAll('.eh-alt')[1] && document.querySelectorAll("
                                           f"'.eh-alt')[1].innerText !== {alt0!r} && {CHARTS} >= 2", timeout=30000)
                    stage_ms.append((time.perf_counter() - t0) * 1000)
            browser.close()
    finally:
        proc.send_signal(2)
        proc.wait(timeout=30)
        proc.stdout.close()
    return {"ready_s": ready, "drawn_s": drawn, "place_ms": place_ms, "stage_ms": stage_ms}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="data/sample")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    # a first start protects the release (cached); the figures are for the starts after it
    subprocess.run([sys.executable, "-c", "from equity_helpers.run.present import open_workbook; "
                    f"open_workbook({args.data!r}).release()"], check=True)
    for language in ("en", "es"):
        r = run(args.data, language, args.rounds)
        print(f"[{language}] ready {r['ready_s']:.1f} s; first charts drawn {r['drawn_s']:.1f} s after the command "
              f"(target 10 s)")
        for name in ("place", "stage"):
            v = r[f"{name}_ms"]
            timed = "timed from Python" if name == "stage" else "timed in the browser"
            print(f"[{language}] redraw after a change of {name}: median {statistics.median(v):.0f} ms, worst "
                  f"{max(v):.0f} ms over {len(v)} changes (target 300 ms; {timed})")


if __name__ == "__main__":
    main()
