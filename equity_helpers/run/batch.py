"""Batch runs: every chosen notebook for every jurisdiction, an index page and a manifest.

:func:`run_batch` validates the data once, builds the protected release table once, and saves it
with a description of the data (places, years, row accounting; no child-level rows,
:meth:`equity_helpers.release.workbook.Workbook.for_runs`) to a private cache (deleted at the end),
then executes each notebook with papermill's Python API in worker processes (or on a Dask
cluster), exports each offline HTML report, and writes ``index.html`` (:mod:`equity_helpers.run.index_page`) and
``manifest.json``.

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

import json
import os
import pickle
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from equity_helpers import settings
from equity_helpers.errors import DataValidationError, ParameterError
from equity_helpers.privacy.suppression import SuppressionPolicy
from equity_helpers.release.workbook import Workbook
from equity_helpers.run.index_page import write_index
from equity_helpers.run.report import (
    NOTEBOOK_DIR,
    data_fingerprint,
    notebook_scope,
    path_labels,
    public_parameters,
    render_report,
    write_css_asset,
)
from equity_helpers.safety import (
    BatchInterrupted,
    atomic_write_text,
    child_pids,
    ignore_interrupts,
    output_lock,
    private_cache,
    stop_on_signals,
    stop_processes,
    sweep_leftover_caches,
    write_private,
)
from equity_helpers.schema import STATE
from equity_helpers.survey.page import open_survey

__all__ = ["Task", "plan", "run_batch", "run_task", "execute_tasks", "notebook_names"]


@dataclass(frozen=True)
class Task:
    """One notebook for one jurisdiction."""

    notebook: str
    jurisdiction: str
    out_dir: str
    parameters: dict
    assets: str | None = None  # the shared assets folder, relative to the report (None: inline everything)
    footer: tuple[tuple[str, str], ...] = ()  # more lines of the report's provenance footer (name, text)

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
    The kernel learns where the shared Vega runtime is from :data:`equity_helpers.settings.VEGA_SRC`.
    """
    from equity_helpers.pages.charts import vega_asset_name  # here for cost: the charts module loads Altair

    variable = settings.VEGA_SRC.name
    before = os.environ.get(variable)
    if task.assets:  # the kernel inherits it: reports load the shared runtime
        os.environ[variable] = f"{task.assets}/{vega_asset_name()}"
    else:
        os.environ.pop(variable, None)
    try:
        entry = _run_task_quietly(task)
    finally:  # a batch run in this process leaves the environment as it found it
        if before is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = before
    return entry


_WARM_RUNS = False
"""Whether this process runs its tasks in one warm kernel (:mod:`equity_helpers.run.kernels`): set in the batch's
own worker processes (and in the batch's process when it runs tasks itself), not on a Dask cluster."""


def _use_warm_kernel(warm: bool) -> None:
    """Worker-process initializer: Ctrl-C is the main process's to handle, and tasks run in a warm kernel."""
    global _WARM_RUNS
    ignore_interrupts()
    _WARM_RUNS = warm


def _run_task_quietly(task: Task) -> dict[str, Any]:
    """:func:`_run_task` with the kernels' stderr in a temporary file; returns the entry with its
    ``kernel_messages``."""
    if _WARM_RUNS:
        from equity_helpers.run.kernels import warm_kernel  # here for cost: the kernels module loads papermill

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
                             kernel=kernel, footer=dict(task.footer))
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
    import nbformat  # here for cost: Jupyter's notebook format loads only to read a failed run

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
    (:mod:`equity_helpers.run.kernels`); ``fresh_kernels`` starts a new kernel for every notebook instead, as
    papermill does on its own (slower; the reports are the same).

    The Vega runtime is written once into ``out/assets`` and every report loads it by relative path
    (offline, from disk); ``self_contained`` inlines it in every report instead (one file to email).
    With a boundary file (:func:`equity_helpers.data.boundaries.find_boundaries`) the index shows a county map
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
    """:func:`run_batch` inside its output lock and signal handling: load, protect, run, index, manifest."""
    notes = sweep_leftover_caches()
    for n in notes:
        print(n, file=sys.stderr)
    t0 = time.perf_counter()
    wb = Workbook.load(data_dir, mapping=mapping, suppression_threshold=suppression_threshold)
    data = wb.data
    if years:
        wb.extra_windows = (tuple(int(y) for y in years),)
    places, chosen = _places_and_notebooks(data, jurisdictions, notebooks)
    first, last = years or (data.first_year, data.last_year)
    data_hash = data_fingerprint(data_dir, mapping)
    with private_cache() as cache_dir:
        release, params = _release_and_cache(wb, out, cache_dir / "workbook.pkl", data_dir=data_dir,
                                             mapping=mapping, years=(first, last),
                                             suppression_threshold=suppression_threshold)
        if not self_contained:
            _write_assets(out / ASSETS)
        survey = _survey_release(chosen, data_dir=data_dir, mapping=mapping, out=out)
        tasks = plan(jurisdictions=places, notebooks=chosen, out=out, parameters=params,
                     shared_assets=not self_contained, survey=survey is not None)
        tasks = [replace(t, footer=(("hidden numbers", release.describe_price()),)) for t in tasks]
        todo, results = _skip_unchanged(tasks, out, data_hash=data_hash, self_contained=self_contained, force=force)
        interrupted = _execute_all(todo, results, workers=workers, scheduler=scheduler, warm=not fresh_kernels,
                                   progress=progress, data_hash=data_hash, self_contained=self_contained)

    manifest = _manifest(tasks, results, release=release, data_hash=data_hash, years=(first, last),
                         suppression_threshold=suppression_threshold, t0=t0, notes=notes, interrupted=interrupted)
    write_index(out, manifest=manifest, wb=wb, years=(int(first), int(last)), data_dir=data_dir, mapping=mapping,
                map_group=map_group, map_stage=map_stage)
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
    if interrupted is not None:
        interrupted.manifest = manifest
        raise interrupted
    return manifest


def _places_and_notebooks(data, jurisdictions, notebooks) -> tuple[list[str], list[str]]:
    """The batch's places (the state first, always; "all": every jurisdiction of ``data``) and notebook file
    names; an unknown notebook is a :class:`~equity_helpers.errors.ParameterError`."""
    places = [STATE, *data.jurisdictions] if jurisdictions == "all" else list(jurisdictions)
    if STATE not in places:
        places.insert(0, STATE)
    chosen = notebook_names() if notebooks == "all" else [n if n.endswith(".ipynb") else f"{n}.ipynb"
                                                         for n in notebooks]
    unknown_nb = [n for n in chosen if not (NOTEBOOK_DIR / n).exists()]
    if unknown_nb:
        raise ParameterError(f"Unknown notebook(s) {unknown_nb}; the workbook has {', '.join(notebook_names())}.")
    return places, chosen


def _release_and_cache(wb, out: Path, cache: Path, *, data_dir, mapping, years: tuple[int, int],
                       suppression_threshold: int):
    """The release table built, audited and written to ``out``; the workbook the runs read (protected
    release tables and the data's description) pickled to ``cache``. Returns the release and the runs'
    parameters."""
    first, last = years
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
    return release, params


def _write_assets(folder: Path) -> None:
    """The shared Vega runtime and page style, which the reports load by relative path."""
    from equity_helpers.pages.charts import write_vega_asset  # here for cost: the charts module loads Altair

    write_vega_asset(folder)
    write_css_asset(folder)


def _survey_release(chosen: list[str], *, data_dir, mapping, out: Path):
    """The collaboration survey when a chosen notebook shows it (its published numbers written to
    :data:`SURVEY_RELEASE`); the :class:`DataValidationError` when the survey cannot be used (its page then
    fails with these problems; the rest goes on); None without a survey or such a notebook."""
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
    return survey


def _skip_unchanged(tasks: list[Task], out: Path, *, data_hash: str, self_contained: bool,
                    force: bool) -> tuple[list[Task], list[dict[str, Any]]]:
    """``(tasks to run, entries of the runs skipped)``: a run is skipped, unless ``force``, when the previous
    manifest has it "ok" with the same data hash, package version, parameters and assets, and its report
    exists."""
    previous = {r["key"]: r for r in _load_manifest(out).get("runs", [])}
    todo, results = [], []
    for t in tasks:
        prev = previous.get(t.key)
        same = (prev and prev.get("status") == "ok" and prev.get("data_hash") == data_hash
                and prev.get("package_version") == settings.VERSION
                and prev.get("parameters") == public_parameters(t.parameters)
                and prev.get("html") and (out / prev["html"]).exists()
                and prev.get("self_contained", False) == self_contained)
        if same and not force:
            results.append({**prev, "status_now": "skipped"})
        else:
            todo.append(t)
    return todo, results


def _execute_all(todo: list[Task], results: list[dict[str, Any]], *, workers: int, scheduler: str | None,
                 warm: bool, progress: bool, data_hash: str,
                 self_contained: bool) -> BatchInterrupted | None:
    """Run the tasks (:func:`execute_tasks`) with a progress bar, adding each entry to ``results`` as it completes.
    On Ctrl-C or SIGTERM: workers and kernels are stopped, the unfinished runs added (:func:`_unfinished`),
    and the interruption returned (None when every run finished)."""
    from tqdm.auto import tqdm  # here for cost: tqdm loads only when a batch runs

    interrupted: BatchInterrupted | None = None
    bar = tqdm(total=len(todo), desc="notebooks", unit="run", disable=not progress)
    before = child_pids()
    runs = execute_tasks(todo, workers=workers, scheduler=scheduler, warm=warm)
    try:
        with stop_on_signals():
            for entry in runs:
                entry.update(data_hash=data_hash, package_version=settings.VERSION, self_contained=self_contained)
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
    return interrupted


def _manifest(tasks: list[Task], results: list[dict[str, Any]], *, release, data_hash: str,
              years: tuple[int, int], suppression_threshold: int, t0: float, notes: list[str],
              interrupted: BatchInterrupted | None) -> dict[str, Any]:
    """The batch's manifest: its data, years, suppression and release, every run (in the plan's order) and the
    counts of runs skipped and failed (and, when stopped, the signal and the runs interrupted or not started)."""
    first, last = years
    order = {t.key: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order.get(r["key"], 1 << 30))
    manifest = {
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "package_version": settings.VERSION,
        "data_hash": data_hash,
        "years": [int(first), int(last)],
        "suppression": SuppressionPolicy(max_count=suppression_threshold).as_dict(),
        "release": {"file": "release.csv", **release.price(),  # cells, hidden, hidden by the rule and beyond
                    "price": release.describe_price(),
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


def execute_tasks(tasks: list[Task], *, workers: int, scheduler: str | None, warm: bool = True):
    """Run the tasks, yielding each entry as it completes: on a Dask cluster, in this process (one worker), or
    in a pool of worker processes. ``warm``: each of the batch's own processes runs its tasks one after another
    in one kernel (:mod:`equity_helpers.run.kernels`) instead of a new kernel per notebook."""
    global _WARM_RUNS
    if not tasks:
        return
    if scheduler:
        from distributed import Client  # here for cost: Dask, only on a cluster
        from distributed import as_completed as dask_completed

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
        from equity_helpers.run.kernels import shutdown_warm_kernel  # here for cost: loads papermill

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


