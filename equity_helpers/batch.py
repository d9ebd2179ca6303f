"""Batch runs: every chosen notebook for every jurisdiction, an index page and a manifest.

:func:`run_batch` validates the data once, builds the protected release table once, and saves it
with a description of the data (places, years, row accounting; no child-level rows,
:meth:`equity_helpers.views.Workbook.for_runs`) to a private cache (deleted at the end),
then executes each notebook with papermill's Python API in worker processes (or on a Dask
cluster), exports each offline HTML report, and writes ``index.html`` and ``manifest.json``.

* One run failing (bad parameters, a cell error) does not stop the others: its error is in the
  manifest and on the index, and :func:`run_batch` reports the failure count (the command exits 1).
* A run whose report exists and whose manifest entry matches the data hash, package version and
  parameters is skipped unless ``force``.
* Every file is written atomically.
* Ctrl-C or SIGTERM stops the batch promptly (:mod:`equity_helpers.safety`): workers and kernels
  are stopped, partial outputs removed, the manifest records completed, interrupted and not-started
  runs, and the command exits 130 / 143; running it again resumes. The private cache is 0700/0600
  and removed on every exit path; one left by a killed run is removed by the next. A lock on the
  output folder stops a second batch from writing there at the same time.
"""
from __future__ import annotations

import html
import json
import os
import pickle
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import DataValidationError
from .report import (NOTEBOOK_DIR, atomic_write_text, data_fingerprint, notebook_scope, path_labels,
                     public_parameters, render_report)
from .safety import (BatchInterrupted, child_pids, ignore_interrupts, output_lock, private_cache, stop_on_signals,
                     stop_processes, sweep_leftover_caches, write_private)
from .stages import STATE
from .suppression import SuppressionPolicy

__all__ = ["Task", "plan", "run_batch", "run_task", "write_index", "notebook_names", "notebook_scope"]


@dataclass(frozen=True)
class Task:
    """One notebook for one jurisdiction."""

    notebook: str
    jurisdiction: str
    out_dir: str
    parameters: dict
    assets: str | None = None  # the shared assets folder, relative to the report (None: inline everything)

    @property
    def key(self) -> str:
        return f"{self.jurisdiction}/{Path(self.notebook).stem}"


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def notebook_names() -> list[str]:
    """Every workbook notebook, in order."""
    return sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))


ASSETS = "assets"
"""Folder of the reports folder holding the shared Vega runtime."""


def plan(*, jurisdictions: list[str], notebooks: list[str], out: Path, parameters: dict,
         shared_assets: bool = True, survey: bool = True) -> list[Task]:
    """The runs of a batch: every notebook for every jurisdiction (Statewide first); a state-wide notebook
    (:func:`notebook_scope` "state": what is published for the state only, such as the equity breakdowns)
    once, with the state; a collaboration-wide notebook once, with the state, and only when the data
    have a collaboration survey (``survey``).

    ``shared_assets``: reports load the Vega runtime and the page style from :data:`ASSETS` by
    relative path; False inlines them in every report (self-contained files)."""
    tasks = []
    src = f"../{ASSETS}" if shared_assets else None
    scopes = {nb: notebook_scope(NOTEBOOK_DIR / nb) for nb in notebooks}
    for j in jurisdictions:
        for nb in notebooks:
            if scopes[nb] == "collaboration" and (j != STATE or not survey):
                continue
            if scopes[nb] == "state" and j != STATE:
                continue
            params = {**parameters, "jurisdiction": j, "mode": "batch"}
            tasks.append(Task(notebook=str(NOTEBOOK_DIR / nb), jurisdiction=j, out_dir=str(out / _slug(j)),
                              parameters=params, assets=src))
    return tasks


SURVEY_RELEASE = "survey_release.csv"
"""The collaboration survey's published numbers in the reports folder (when the data have a survey)."""

KERNEL_NOISE = ("Kernel is running over TCP without encryption",)
"""Kernel log lines that say nothing about a run (ipykernel's notice on its loopback sockets)."""


def run_task(task: Task) -> dict[str, Any]:
    """Execute one task and export its report; never raises (errors go into the entry).

    What the kernels write to stderr is kept out of the batch's progress display: it goes to a
    temporary file, and anything besides :data:`KERNEL_NOISE` lands in the entry's ``kernel_messages``.
    The kernel learns where the shared Vega runtime is from :data:`~equity_helpers.charts.VEGA_SRC_ENV`.
    """
    from .charts import VEGA_SRC_ENV, vega_asset_name

    before = os.environ.get(VEGA_SRC_ENV)
    if task.assets:  # the kernel inherits it: reports load the shared runtime
        os.environ[VEGA_SRC_ENV] = f"{task.assets}/{vega_asset_name()}"
    else:
        os.environ.pop(VEGA_SRC_ENV, None)
    try:
        entry = _run_task_quietly(task)
    finally:  # a batch run in this process leaves the environment as it found it
        if before is None:
            os.environ.pop(VEGA_SRC_ENV, None)
        else:
            os.environ[VEGA_SRC_ENV] = before
    return entry


_WARM_RUNS = False
"""Whether this process runs its tasks in one warm kernel (:mod:`equity_helpers.kernels`): set in the batch's
own worker processes (and in the batch's process when it runs tasks itself), not on a Dask cluster."""


def _use_warm_kernel(warm: bool) -> None:
    """Worker-process initializer: Ctrl-C is the main process's to handle, and tasks run in a warm kernel."""
    global _WARM_RUNS
    ignore_interrupts()
    _WARM_RUNS = warm


def _run_task_quietly(task: Task) -> dict[str, Any]:
    """:func:`_run_task` with the kernels' stderr in a temporary file; returns the entry with its
    ``kernel_messages``."""
    import tempfile

    if _WARM_RUNS:
        from .kernels import warm_kernel

        kernel = warm_kernel()
        entry = _run_task(task, kernel=kernel)
        return _with_kernel_messages(entry, kernel.last_messages, task)
    with tempfile.TemporaryFile(mode="w+b") as log:
        saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(log.fileno(), 2)  # kernels started from here inherit it
        try:
            entry = _run_task(task)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        lines = log.read().decode("utf-8", "replace").splitlines()
    return _with_kernel_messages(entry, lines, task)


def _with_kernel_messages(entry: dict[str, Any], lines: list[str], task: Task) -> dict[str, Any]:
    """The entry with the kernel's stderr lines that say something (``kernel_messages``: no
    :data:`KERNEL_NOISE`, no machine paths, at most 20)."""
    keep = [ln.strip() for ln in lines if ln.strip() and not any(n in ln for n in KERNEL_NOISE)]
    labels = path_labels(task.parameters, out_dir=Path(task.out_dir).parent)
    for raw, label in labels.items():  # a warning's file path is a machine path too
        keep = [ln.replace(raw, label) for ln in keep]
    entry["kernel_messages"] = list(dict.fromkeys(keep))[:20]
    return entry


def _run_task(task: Task, kernel=None) -> dict[str, Any]:
    started = time.perf_counter()
    entry = _entry(task)
    try:
        info = render_report(task.notebook, task.out_dir, parameters=task.parameters, assets=task.assets,
                             kernel=kernel)
        entry.update(status="ok", html=_relative(info["html"], task), executed=_relative(info["executed"], task),
                     error="")
    except Exception as exc:  # one failing run must not stop the batch
        failed = Path(task.out_dir) / f"{Path(task.notebook).stem}.failed.ipynb"
        entry.update(status="failed", html="", executed=_relative(failed, task) if failed.exists() else "",
                     error=_message_in(failed) or _short_error(exc))
    entry["seconds"] = round(time.perf_counter() - started, 2)
    return entry


def _relative(path: str | Path, task: Task) -> str:
    """A report's path relative to the reports folder (the manifest and index name no machine paths)."""
    return Path(os.path.relpath(Path(path).resolve(), Path(task.out_dir).resolve().parent)).as_posix()


def _message_in(failed: Path) -> str:
    """The plain-language error a failed notebook displayed (DataValidationError, ParameterError)."""
    if not failed.exists():
        return ""
    import nbformat

    nb = nbformat.read(str(failed), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.metadata.get("papermill", {}).get("exception"):
            continue
        for o in cell.get("outputs", []):
            text = o.get("data", {}).get("text/plain", "")
            if "Error:" in text:
                return text.strip()[:500]
            if o.get("output_type") == "error":
                return f"{o.get('ename')}: {o.get('evalue')}"[:500]
    return ""


def _short_error(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [ln for ln in text.splitlines() if ln.strip() and not set(ln.strip()) <= {"-"}]
    for ln in lines:  # papermill puts the cell's error name and message on its own line
        if any(k in ln for k in ("Error:", "Exception:")):
            return ln.strip()[:500]
    return (lines[-1] if lines else text)[:500]


def _load_manifest(out: Path) -> dict:
    p = out / "manifest.json"
    if p.exists():
        try:
            return json.loads(p.read_text())
        except json.JSONDecodeError:
            return {}
    return {}


def run_batch(*, data_dir: str | None, mapping: str | None = None, jurisdictions: str | list[str] = "all",
              notebooks: str | list[str] = "all", years: tuple[int, int] | None = None, out: str | Path,
              workers: int = 2, scheduler: str | None = None, force: bool = False,
              suppression_threshold: int = 10, progress: bool = True, self_contained: bool = False,
              map_group: str | None = None, map_stage: str = "entered_care",
              fresh_kernels: bool = False) -> dict[str, Any]:
    """Run a batch and write ``index.html`` and ``manifest.json`` into ``out``.

    Each worker process runs its notebooks one after another in one warm kernel, cleared between runs
    (:mod:`equity_helpers.kernels`); ``fresh_kernels`` starts a new kernel for every notebook instead, as
    papermill does on its own (slower; the reports are the same).

    The Vega runtime is written once into ``out/assets`` and every report loads it by relative path
    (offline, from disk); ``self_contained`` inlines it in every report instead (one file to email).
    With a boundary file (:func:`equity_helpers.maps.find_boundaries`) the index shows a county map
    of ``map_group`` (default: the group with the most children behind a gap statewide) at
    ``map_stage``.

    Returns the manifest (``runs`` holds one entry per task with ``status`` "ok", "failed" or
    "skipped", ``seconds`` and ``error``).

    Raises
    ------
    equity_helpers.safety.BatchInterrupted
        On Ctrl-C or SIGTERM, after stopping every worker and kernel and writing the manifest (its
        ``manifest`` attribute), whose runs are "ok", "failed", "interrupted" or "not started".
    equity_helpers.safety.OutputLocked
        If another batch is writing to ``out``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # a signal before the runs start (loading, protecting) also stops cleanly: the private cache and
    # the lock are released on the way out
    with output_lock(out), stop_on_signals():
        return _run_batch(data_dir=data_dir, mapping=mapping, jurisdictions=jurisdictions, notebooks=notebooks,
                          years=years, out=out, workers=workers, scheduler=scheduler, force=force,
                          suppression_threshold=suppression_threshold, progress=progress,
                          self_contained=self_contained, map_group=map_group, map_stage=map_stage,
                          fresh_kernels=fresh_kernels)


def _run_batch(*, data_dir, mapping, jurisdictions, notebooks, years, out: Path, workers: int, scheduler,
               force: bool, suppression_threshold: int, progress: bool, self_contained: bool = False,
               map_group: str | None = None, map_stage: str = "entered_care",
               fresh_kernels: bool = False) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from .views import Workbook

    notes = sweep_leftover_caches()
    for n in notes:
        print(n, file=sys.stderr)
    t0 = time.perf_counter()
    wb = Workbook.load(data_dir, mapping=mapping, suppression_threshold=suppression_threshold)
    data = wb.data
    if years:
        wb.extra_windows = (tuple(int(y) for y in years),)
    places = [STATE, *data.jurisdictions] if jurisdictions == "all" else list(jurisdictions)
    if STATE not in places:
        places.insert(0, STATE)
    chosen = notebook_names() if notebooks == "all" else [n if n.endswith(".ipynb") else f"{n}.ipynb"
                                                         for n in notebooks]
    unknown_nb = [n for n in chosen if not (NOTEBOOK_DIR / n).exists()]
    if unknown_nb:
        from .errors import ParameterError

        raise ParameterError(f"Unknown notebook(s) {unknown_nb}; the workbook has {', '.join(notebook_names())}.")
    first, last = years or (data.first_year, data.last_year)
    data_hash = data_fingerprint(data_dir, mapping)
    from . import __version__

    interrupted: BatchInterrupted | None = None
    with private_cache() as cache_dir:
        cache = cache_dir / "workbook.pkl"
        # the release table: every cell any report can show, protected and audited together once;
        # every run reads its numbers from it (a failed audit raises before anything is published)
        release = wb.release()
        release.write(out)
        wb.measures_for()  # the default view, computed once for every run
        # the runs get the protected release tables and the data's description, never child-level rows
        write_private(cache, pickle.dumps(wb.for_runs(), protocol=pickle.HIGHEST_PROTOCOL))
        params = {"data_dir": str(Path(data_dir).resolve()) if data_dir else None,
                  "mapping": str(Path(mapping).resolve()) if mapping else None,
                  "first_year": int(first), "last_year": int(last), "suppression_threshold": suppression_threshold,
                  "cache": str(cache)}
        if not self_contained:
            from .charts import write_vega_asset
            from .report import write_css_asset

            write_vega_asset(out / ASSETS)
            write_css_asset(out / ASSETS)
        from .survey_view import open_survey

        # the collaboration survey's published numbers, protected like the release (its page reads the same)
        survey = None
        if any(notebook_scope(NOTEBOOK_DIR / nb) == "collaboration" for nb in chosen):
            try:
                survey = open_survey(data_dir, mapping=mapping)
            except DataValidationError as exc:  # the survey page fails with these problems; the rest goes on
                print(f"The collaboration survey cannot be used: {exc}", file=sys.stderr)
                survey = exc
            else:
                if survey is not None:
                    survey.write(out / SURVEY_RELEASE)
        tasks = plan(jurisdictions=places, notebooks=chosen, out=out, parameters=params,
                     shared_assets=not self_contained, survey=survey is not None)
        previous = {r["key"]: r for r in _load_manifest(out).get("runs", [])}
        todo, results = [], []
        for t in tasks:
            prev = previous.get(t.key)
            same = (prev and prev.get("status") == "ok" and prev.get("data_hash") == data_hash
                    and prev.get("package_version") == __version__
                    and prev.get("parameters") == public_parameters(t.parameters)
                    and prev.get("html") and (out / prev["html"]).exists()
                    and prev.get("self_contained", False) == self_contained)
            if same and not force:
                results.append({**prev, "status_now": "skipped"})
            else:
                todo.append(t)
        bar = tqdm(total=len(todo), desc="notebooks", unit="run", disable=not progress)
        before = child_pids()
        runs = _execute(todo, workers=workers, scheduler=scheduler, warm=not fresh_kernels)
        try:
            with stop_on_signals():
                for entry in runs:
                    entry.update(data_hash=data_hash, package_version=__version__, self_contained=self_contained)
                    results.append(entry)
                    bar.update(1)
                    bar.set_postfix_str(f"{entry['key']}: {entry['status']}")
        except BatchInterrupted as exc:
            interrupted = exc
            stop_processes(keep=before)  # workers and kernels first, so nothing waits for them
            runs.close()
            done = {r["key"] for r in results}
            results.extend(_unfinished(t) for t in todo if t.key not in done)
        finally:
            bar.close()

    order = {t.key: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order.get(r["key"], 1 << 30))
    manifest = {
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "package_version": __version__,
        "data_hash": data_hash,
        "years": [int(first), int(last)],
        "suppression": SuppressionPolicy(max_count=suppression_threshold).as_dict(),
        "release": {"file": "release.csv", "cells": int(len(release.cells)),
                    "hidden": int(release.cells["suppressed"].sum()),
                    "audit": "passed",  # build_release raises before anything is written otherwise
                    "protection": release.protection.describe()},
        "runs": [{k: v for k, v in r.items() if k != "status_now"} for r in results],
        "skipped": sum(1 for r in results if r.get("status_now") == "skipped"),
        "failed": sum(1 for r in results if r["status"] == "failed"),
        "seconds": round(time.perf_counter() - t0, 1),
        "notes": notes,
    }
    if interrupted is not None:
        manifest["interrupted"] = {"signal": interrupted.signal_name, **{
            s: sum(1 for r in results if r["status"] == s) for s in ("interrupted", "not started")}}
    write_index(out, manifest=manifest, wb=wb, years=(int(first), int(last)), data_dir=data_dir, mapping=mapping,
                map_group=map_group, map_stage=map_stage)
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
    if interrupted is not None:
        interrupted.manifest = manifest
        raise interrupted
    return manifest


def _unfinished(task: Task) -> dict[str, Any]:
    """The manifest entry of a run the batch did not finish, its partial outputs removed: "interrupted"
    if it had started (papermill's working copy exists), else "not started"."""
    name = Path(task.notebook).stem
    started = False
    for partial in (Path(task.out_dir) / f".{name}.ipynb.running.ipynb", Path(task.out_dir) / f"{name}.failed.ipynb"):
        if partial.exists():
            started = True
            partial.unlink()
    return _entry(task, status="interrupted" if started else "not started", error="", seconds=0.0, html="",
                  executed="")


def _entry(task: Task, **fields: Any) -> dict[str, Any]:
    """A run's manifest entry: its key, place, notebook and parameters (never the private cache), and ``fields``."""
    return {"key": task.key, "jurisdiction": task.jurisdiction, "notebook": Path(task.notebook).name,
            "parameters": public_parameters(task.parameters), **fields}


def _execute(tasks: list[Task], *, workers: int, scheduler: str | None, warm: bool = True):
    """Run the tasks, yielding each entry as it completes: on a Dask cluster, in this process (one worker), or
    in a pool of worker processes. ``warm``: each of the batch's own processes runs its tasks one after another
    in one kernel (:mod:`equity_helpers.kernels`) instead of a new kernel per notebook."""
    global _WARM_RUNS
    if not tasks:
        return
    if scheduler:
        from distributed import Client, as_completed as dask_completed

        with Client(scheduler) as client:
            futures = client.map(run_task, tasks, pure=False)
            try:
                for fut in dask_completed(futures):
                    yield fut.result()
            except BaseException:  # stopped: nothing more starts on the cluster
                client.cancel(futures, force=True)
                raise
        return
    if workers <= 1:
        from .kernels import shutdown_warm_kernel

        _WARM_RUNS = warm
        try:
            for t in tasks:
                yield run_task(t)
        finally:
            _WARM_RUNS = False
            shutdown_warm_kernel()
        return
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_use_warm_kernel, initargs=(warm,))
    try:
        futures = {pool.submit(run_task, t): t for t in tasks}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception:  # a crashed worker process
                yield _entry(futures[fut], status="failed", error=traceback.format_exc(limit=1)[-500:], seconds=0.0,
                             html="", executed="")
    except BaseException:  # stopped (the caller has already ended the worker processes): do not wait
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


# --------------------------------------------------------------------------- index page
_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .5rem}
th{background:#f3f3f3;text-align:left}td.num{text-align:right}.failed{color:#a00;font-weight:bold}
.s{color:#666;font-style:italic}footer{margin-top:2rem;font-size:.85rem;color:#444}
"""


def write_index(out: Path, *, manifest: dict, wb, years: tuple[int, int], data_dir=None, mapping=None,
                map_group: str | None = None, map_stage: str = "entered_care") -> Path:
    """``index.html``: links to every report with its status, and a comparison of jurisdictions.

    The comparison shows the population-based relative rate index of every group at every
    decision point over the batch's years (pooled), from the release table ("S" where suppressed,
    "-" where too few children, "*" where the 95% interval excludes 1), as a table and as a
    grid chart (inline SVG, no script).
    """
    from .schema import STAGES, group_children, group_label, sentence_start

    release = wb.release()
    runs = manifest["runs"]
    places = list(dict.fromkeys(r["jurisdiction"] for r in runs))
    nbs = list(dict.fromkeys(r["notebook"] for r in runs))
    by = {(r["jurisdiction"], r["notebook"]): r for r in runs}
    head = "".join(f"<th>{html.escape(Path(n).stem.replace('_', ' '))}</th>" for n in nbs)
    rows = []
    for j in places:
        cells = []
        for n in nbs:
            r = by.get((j, n))
            if r is None:
                cells.append("<td></td>")
            elif r["status"] == "ok":
                rel = r["html"]  # relative to the reports folder
                cells.append(f"<td><a href='{html.escape(rel)}'>report</a></td>")
            else:
                cells.append(f"<td class='failed' title='{html.escape(r['error'])}'>failed: "
                             f"{html.escape(r['error'][:120])}</td>")
        hidden = release.hidden_share(jurisdiction=j, periods=[release.window(*years)])
        cells.append(f"<td class='num'>{hidden:.0%}</td>")
        rows.append(f"<tr><th>{html.escape(j)}</th>{''.join(cells)}</tr>")
    head += "<th>non-zero counts hidden (whole period)</th>"
    links = f"<table><thead><tr><th>jurisdiction</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    from .views import window_phrase

    period = release.window(*years)
    year = window_phrase(*years)
    m = wb.measures_for()
    m = m[(m["period"] == period) & (m["basis"] == "population") & m["jurisdiction"].isin(places)
          & ~m["race_ethnicity"].isin(["all", "unknown", "white"])]
    stages = [s for s in STAGES if s in set(m["stage"])]
    blocks = []
    for g in dict.fromkeys(m["race_ethnicity"]):
        sub = m[m["race_ethnicity"] == g]
        head = "".join(f"<th>{html.escape(STAGES[s].label)}</th>" for s in stages)
        body = []
        for j in places:
            cells = []
            for s in stages:
                r = sub[(sub["jurisdiction"] == j) & (sub["stage"] == s)]
                if r.empty:
                    cells.append("<td></td>")
                    continue
                r = r.iloc[0]
                if r["suppressed"]:
                    cells.append("<td class='s'>S</td>")
                elif r["rri"] != r["rri"]:
                    cells.append("<td class='s'>-</td>")
                else:
                    star = "*" if (r["rri_low"] > 1 or r["rri_high"] < 1) else ""
                    cells.append(f"<td class='num'>{r['rri']:.2f}{star}</td>")
            body.append(f"<tr><th>{html.escape(j)}</th>{''.join(cells)}</tr>")
        blocks.append(f"<h3>{html.escape(sentence_start(group_children(g)))} compared with White children</h3>"
                      f"<table><thead><tr><th>jurisdiction</th>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
                      "</table>")
    from .views import focus_group

    focus = focus_group(m[m["jurisdiction"] == STATE])  # the group with the most children behind a gap
    grid = _grid_svg(m, places, stages, year, focus)
    county_map = _county_map(wb, data_dir=data_dir, mapping=mapping, period=period, year=year,
                             group=map_group or focus, stage=map_stage)
    failed = manifest["failed"]
    status = (f"<p class='failed'>{failed} run(s) failed; see the table below.</p>" if failed
              else "<p>All runs succeeded.</p>")
    policy = SuppressionPolicy(**manifest["suppression"]).describe()
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Racial equity workbook: reports</title>
<style>{_CSS}</style></head><body>
<h1>Child Welfare Racial Equity Workbook: reports by jurisdiction</h1>
{status}
<h2>Reports</h2>{links}
<h2>Comparing jurisdictions, {html.escape(year)}</h2>
<p>Relative rate index against the child population: each group's rate divided by the rate for White
children (1 = the same rate). <em>*</em> the 95% interval excludes 1; <em>S</em> suppressed to protect
privacy (not zero); <em>-</em> too few children for a ratio.</p>
{grid}
{county_map}
{''.join(blocks)}
<footer><h2>About these reports</h2><dl>
<dt>data hash</dt><dd>{manifest['data_hash']}</dd><dt>package version</dt><dd>{manifest['package_version']}</dd>
<dt>years</dt><dd>FY{manifest['years'][0]}-FY{manifest['years'][1]}</dd><dt>created</dt><dd>{manifest['created']}</dd>
<dt>small numbers</dt><dd>{html.escape(policy)}</dd>
<dt>disclosure control</dt><dd>{html.escape(manifest['release']['protection'])} Every number in these
reports is read from one release table (<a href="release.csv">release.csv</a>, aggregate counts only),
protected on all its margins at once and audited by linear programming.</dd></dl>
<p>Groups: {html.escape(', '.join(group_label(g) for g in dict.fromkeys(m['race_ethnicity'])))}.</p></footer>
</body></html>"""
    return atomic_write_text(out / "index.html", page)


def _county_map(wb, *, data_dir, mapping, period: str, year: str, group: str | None, stage: str) -> str:
    """The index page's county map (a static SVG) with its heading and notes; "" without boundaries."""
    from .maps import check_boundaries, county_map_svg, find_boundaries, load_boundaries
    from .schema import STAGES, group_children, sentence_start

    found = find_boundaries(data_dir, mapping)
    if found is None:
        return ""
    boundaries = load_boundaries(found[0], name_field=found[1])
    m = wb.measures_for()
    m = m[(m["period"] == period) & (m["basis"] == "population") & (m["jurisdiction"] != STATE)]
    if group is None:
        return ""
    rows = m[(m["race_ethnicity"] == group) & (m["stage"] == stage)]
    if rows.empty:
        return ""
    label = STAGES[stage].label if stage in STAGES else stage
    title = f"{sentence_start(group_children(group))} compared with White children: {label}, {year}"
    notes = check_boundaries(boundaries, sorted(set(m["jurisdiction"])))
    svg = county_map_svg(rows, boundaries, title=title)
    alt_text = (f"Map of the counties. Each county shows the rate of {group_children(group)} ({label}) as a "
                "multiple of the rate of White children there (1 = the same rate); S marks a county whose numbers "
                "are suppressed to protect privacy, - one with too few children for a ratio.")
    return (f"<h2>County map</h2><figure role='img' aria-label='{html.escape(alt_text)}'>{svg}"
            f"<figcaption>{html.escape(alt_text)} Orange: higher than White children; blue: lower; * the 95% "
            "interval excludes 1.</figcaption></figure>"
            + "".join(f"<p class='s'>{html.escape(n)}</p>" for n in notes))


def _grid_svg(m, places: list[str], stages: list[str], year: str, focus: str | None) -> str:
    """A jurisdictions x decision points grid of the relative rate index for the focus group, as SVG."""
    import altair as alt
    import vl_convert as vlc

    from .schema import STAGES, group_children, sentence_start

    if focus is None:
        return ""
    d = m[m["race_ethnicity"] == focus].copy()
    d["decision point"] = d["stage"].map(lambda s: STAGES[s].label)
    d["label"] = [("S" if s else "-" if v != v else f"{v:.1f}") for s, v in zip(d["suppressed"], d["rri"])]
    d["rri_capped"] = d["rri"].clip(upper=10)
    d = d[["jurisdiction", "decision point", "label", "rri_capped"]]
    base = alt.Chart(d).encode(x=alt.X("decision point:N", sort=[STAGES[s].label for s in stages], title=None,
                                       axis=alt.Axis(labelAngle=-30, labelLimit=220)),
                               y=alt.Y("jurisdiction:N", sort=places, title=None))
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color("rri_capped:Q", scale=alt.Scale(scheme="blueorange", domainMid=1, type="log"),
                        title="relative rate"))
    text = base.mark_text(fontSize=11).encode(text="label:N")
    chart = (rect + text).properties(width=80 * len(stages), height=alt.Step(22), title=(
        f"{sentence_start(group_children(focus))} compared with White children, {year} (S suppressed, - too few)"))
    return f"<figure>{vlc.vegalite_to_svg(chart.to_dict())}</figure>"
