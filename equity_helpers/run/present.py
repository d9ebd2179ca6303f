"""The facilitator's dashboard served on this computer: ``equity-workbook present``.

:func:`serve` starts Voila (which renders a notebook's widgets without its code) on ``dashboard.ipynb``
with the ``equity`` Voila template: every script and style is served from this machine, none from a CDN.
The page itself is :class:`equity_helpers.pages.dashboard.Dashboard`. The server's kernel only ever opens a
published release folder (aggregate counts, already protected): ``equity-workbook present`` builds it from
the records first, in its own process (:func:`publish_release`), and tells the kernel where it is through
:data:`equity_helpers.settings.PRESENT_RELEASE`. The map of the package is ``docs/architecture.md``.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from equity_helpers import settings
from equity_helpers.counting.extracts import extract_key
from equity_helpers.errors import ParameterError
from equity_helpers.pages.i18n import catalogue
from equity_helpers.release.table import RELEASE_CODE, release_cache_dir
from equity_helpers.release.workbook import Workbook
from equity_helpers.safety import BatchInterrupted, stop_on_signals

__all__ = ["serve", "open_workbook", "release_folder", "publish_release", "voila_command", "voila_environment",
           "kernel_options", "wait_until_up", "warm_up", "free_port", "TEMPLATE_ROOT", "DASHBOARD_NOTEBOOK",
           "MAX_KERNELS", "SHUTDOWN_DELAY", "CULL_IDLE_TIMEOUT", "CULL_INTERVAL"]

TEMPLATE_ROOT = Path(__file__).parent / "templates"
"""Put on ``JUPYTER_PATH`` so that Voila finds the ``equity`` template (``voila/templates/equity``)."""
DASHBOARD_NOTEBOOK = TEMPLATE_ROOT / "present" / "dashboard.ipynb"
"""The notebook Voila serves: it calls :func:`equity_helpers.pages.dashboard.dashboard_from_environment`."""

# the server's kernels (one per open page; :mod:`equity_helpers.run.present_kernels`)
MAX_KERNELS = 6
"""Default cap on the dashboard's kernels, i.e. pages open at once (each about 190 MB): a seventh page view
gets the plain full-room page until one is closed (``--max-kernels``)."""
SHUTDOWN_DELAY = 5.0
"""Seconds between a page's last websocket closing and its kernel's shutdown (a reconnection cancels it)."""
CULL_IDLE_TIMEOUT = 60
"""Seconds a kernel with no page connected may stay idle before jupyter_server's culler shuts it down (the
backstop for pages whose kernel never connected: a request abandoned while the page drew, the warm-up)."""
CULL_INTERVAL = 10
"""Seconds between two rounds of the culler."""
_KERNEL_MANAGER = "equity_helpers.run.present_kernels.PresentKernelManager"
_WARM_UP = "warm-up"  # the query of the command's own first page (in the server's log)


# --------------------------------------------------------------------------- the server
def free_port() -> int:
    """A TCP port free on this computer's loopback address now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _published(data_dir) -> bool:
    return data_dir is not None and (Path(data_dir) / "release.csv").exists()


def open_workbook(data_dir=None, *, mapping=None):
    """The workbook of a data folder or mapping (validated records), or of a batch's reports folder (its
    published ``release.csv``: aggregates only)."""

    if _published(data_dir) and mapping is None:
        return Workbook.from_release(data_dir)
    return Workbook.load(data_dir, mapping=mapping)


def _kept_release(data_dir, mapping) -> Path | None:
    """Where the release of these source files is kept between ``present`` runs: in the release cache
    (private, aggregates only), keyed by the files' names, sizes and modification times, the mapping and the
    code that validates and protects them (:func:`equity_helpers.counting.extracts.extract_key`), so that a second start
    on unchanged files neither validates nor protects again. ``None`` when the cache is off."""

    cache = release_cache_dir()
    if cache is None:
        return None
    key = extract_key(data_dir, mapping=mapping, present=_release_code())
    return cache / f"present-{key}"


def _release_code() -> str:
    """A hash of the code that builds and protects a release (a change to it builds the release again)."""
    return settings.code_fingerprint(*RELEASE_CODE, "equity_helpers.privacy.suppression",
                                     "equity_helpers.metrics.rates", "equity_helpers.metrics.intervals",
                                     "equity_helpers.pages.views", "equity_helpers.release.workbook")[:16]


def release_folder(data_dir=None, *, mapping=None, scratch: Path) -> Path:
    """The folder the dashboard server will read the release from: a batch's reports folder as it is, the
    release kept from an earlier start on the same files, or ``scratch/release`` (built by
    :func:`publish_release`)."""
    if _published(data_dir) and mapping is None:
        return Path(data_dir)
    kept = _kept_release(data_dir, mapping)
    if kept is not None and (kept / "release_meta.csv").is_file():
        return kept
    return Path(scratch) / "release"


def publish_release(data_dir=None, *, mapping=None, out: str | Path, measures: str | Path | None = None) -> Path:
    """Make sure ``out`` (:func:`release_folder`) holds the protected release of the data: validate the records
    and build the release (or reuse it from the release cache), write it to ``out`` and keep a copy for the next
    start on the same files. A batch's reports folder, or a release kept from an earlier start, is used as it is.

    With ``measures`` (a file in the command's private folder, never in a reports folder), the measures the
    dashboard opens with (every place and window against White children) are computed here and saved there, so
    that the server's kernel draws the first page without computing them (or importing SciPy)."""

    out = Path(out)
    if (out / "release_meta.csv").is_file():
        wb = Workbook.from_release(out)
    else:
        wb = open_workbook(data_dir, mapping=mapping)
        wb.release().write(out)
        kept = _kept_release(data_dir, mapping)
        if kept is not None and not kept.exists():
            kept.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            part = Path(tempfile.mkdtemp(dir=kept.parent, prefix=".present-"))
            wb.release().write(part)
            try:
                os.replace(part, kept)
            except OSError:  # another start kept it first
                shutil.rmtree(part, ignore_errors=True)
    if measures is not None:
        _opening_measures(wb, out, measures)
    return out


def _opening_measures(wb, folder: Path, out: Path) -> None:
    """Write the opening measures to ``out``, computed once per release and kept in the release cache
    (:func:`equity_helpers.release.release_cache_dir`: private, aggregates only), keyed by the release's
    published cells."""


    key = hashlib.sha256((folder / "release.csv").read_bytes() + (folder / "release_population.csv").read_bytes())
    cache = release_cache_dir()
    kept = cache / f"opening-measures-{key.hexdigest()[:32]}.pkl" if cache is not None else None
    if kept is not None and kept.is_file():
        shutil.copyfile(kept, out)
        return
    tmp = Path(f"{out}.tmp")
    wb.measures_for().to_pickle(tmp)
    os.replace(tmp, out)
    if kept is not None:
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        part = kept.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(out, part)
        os.replace(part, kept)


def kernel_options(*, max_kernels: int = MAX_KERNELS, shutdown_delay: float = SHUTDOWN_DELAY,
                   cull_idle_timeout: int = CULL_IDLE_TIMEOUT, cull_interval: int = CULL_INTERVAL) -> list[str]:
    """Voila options for the server's kernels: :class:`~equity_helpers.run.present_kernels.PresentKernelManager`
    (a page that has gone frees its kernel; a cap) and jupyter_server's culling as a backstop.

    Parameters
    ----------
    max_kernels : int
        Most kernels (pages open) at once; 0: no cap.
    shutdown_delay : float
        Seconds between a page's last websocket closing and its kernel's shutdown.
    cull_idle_timeout, cull_interval : int
        Culling of kernels with no page connected: idle seconds before one is shut down, and seconds between
        two checks. A kernel with a page connected is never culled, nor a busy one.

    Returns
    -------
    list of str
        Options for ``python -m voila``.
    """
    km = _KERNEL_MANAGER.rsplit(".", 1)[1]
    return [f"--VoilaConfiguration.multi_kernel_manager_class={_KERNEL_MANAGER}",
            f"--{km}.max_kernels={int(max_kernels)}", f"--{km}.shutdown_delay={float(shutdown_delay)}",
            f"--{km}.cull_idle_timeout={int(cull_idle_timeout)}", f"--{km}.cull_interval={int(cull_interval)}",
            f"--{km}.cull_connected=False", f"--{km}.cull_busy=False"]


def voila_command(*, port: int, notebook: Path = DASHBOARD_NOTEBOOK, max_kernels: int = MAX_KERNELS) -> list[str]:
    """The Voila command line: local address only, no code, our template, no browser opened, no tracebacks,
    and the kernels of :func:`kernel_options`."""
    return [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--no-browser", "--Voila.ip=127.0.0.1",
            "--template=equity", "--strip_sources=True", "--show_tracebacks=False", "--theme=light",
            "--VoilaConfiguration.file_allowlist=[]", *kernel_options(max_kernels=max_kernels)]


def voila_environment(release: Path, language: str, *, measures: Path | None = None,
                      ipython_dir: Path | None = None) -> dict[str, str]:
    """The server's environment: our template on ``JUPYTER_PATH``, the release folder, the language and the
    precomputed opening measures; with ``ipython_dir`` (in the command's private folder) the kernels keep their
    IPython profile and history there, not in the user's (no lock shared with the user's other kernels)."""
    env = dict(os.environ)
    if ipython_dir is not None:
        env["IPYTHONDIR"] = str(ipython_dir)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH", "")) if p)
    env[settings.PRESENT_RELEASE.name] = str(release)
    env[settings.LANGUAGE.name] = language
    if measures is not None:
        env[settings.PRESENT_MEASURES.name] = str(measures)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def wait_until_up(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until the server accepts connections on ``port`` (or raise if it died or never did). Its page is
    not asked for here (in Voila every page view starts a kernel): :func:`warm_up` does that once."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"The dashboard server stopped (exit code {proc.returncode}).")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"The dashboard server did not answer within {timeout:.0f} s.")


_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"  # in the page once the dashboard cell has run
_KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # this computer: never through a proxy


def _fetch_page(port: int, timeout: float) -> tuple[str, bool]:
    """The dashboard page as the server streams it, and whether it was complete (its kernel ran the notebook)
    within ``timeout`` seconds (Voila keeps a slow page's connection alive with a heartbeat: a read timeout
    alone would not end a stalled page)."""
    deadline = time.monotonic() + timeout
    parts = []
    with _LOCAL.open(f"http://127.0.0.1:{port}/?{_WARM_UP}", timeout=min(timeout, 30)) as reply:
        while chunk := reply.read1(1 << 16):
            parts.append(chunk)
            if time.monotonic() > deadline:
                return b"".join(parts).decode("utf-8", "replace"), False
    return b"".join(parts).decode("utf-8", "replace"), True


def _shutdown_kernel(port: int, kernel_id: str) -> None:
    """Ask the server to shut one kernel down now (jupyter_server's kernel API; the XSRF check wants the same
    value in a cookie and a header)."""
    xsrf = secrets.token_hex(16)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/kernels/{kernel_id}", method="DELETE",
                                     headers={"X-XSRFToken": xsrf, "Cookie": f"_xsrf={xsrf}"})
    with _LOCAL.open(request, timeout=30):
        pass


def warm_up(port: int, proc: subprocess.Popen, *, attempts: int = 3, timeout: float = 90) -> float:
    """Draw the dashboard once on the server before anyone opens it, then free that page's kernel.

    The first page a server draws pays for everything done once (Python's compiled files, the kernels' IPython
    folder, the operating system's file cache, Voila's templates); a first view that stalled in a browser is
    fetched here instead, and a stalled attempt is abandoned (its kernel culled) and tried again.

    Parameters
    ----------
    port : int
        The server's port on this computer.
    proc : subprocess.Popen
        The server (a server that stopped is an error at once).
    attempts : int
        How many times to ask for the page.
    timeout : float
        Seconds one attempt may take.

    Returns
    -------
    float
        Seconds the page that succeeded took.

    Raises
    ------
    RuntimeError
        When the server stopped or no attempt drew the dashboard.
    """
    problem = ""
    for _ in range(attempts):
        if proc.poll() is not None:
            raise RuntimeError(f"The dashboard server stopped (exit code {proc.returncode}).")
        started = time.perf_counter()
        try:
            page, complete = _fetch_page(port, timeout)
        except (OSError, urllib.error.URLError) as exc:  # a refused page, a dropped connection
            problem = str(exc)
            continue
        found = _KERNEL_ID.search(page)
        if found:  # this page is not anyone's: its kernel goes now
            try:
                _shutdown_kernel(port, found.group(1))
            except (OSError, urllib.error.URLError):
                pass  # the culler frees it
        if complete and _WIDGET_VIEW in page:
            return time.perf_counter() - started
        problem = "the page came without the dashboard" if complete else f"no page within {timeout:.0f} s"
    raise RuntimeError(f"The dashboard did not draw on the server ({problem}).")


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and its kernels (its own process group)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def serve(data_dir=None, *, mapping=None, port: int | None = None, language: str = "en",
          server_log: str | Path | None = None, max_kernels: int = MAX_KERNELS, announce=print) -> int:
    """Publish the release, start the dashboard server, draw the dashboard once on it (:func:`warm_up`), say
    where it is, and keep it running until Ctrl-C (or SIGTERM); returns 0 once the server, its kernels and the
    private release folder (0700) are gone. The server's log goes to ``server_log`` (appended; it holds no
    numbers, only the server's and kernels' messages), else to a file in the private folder. At most
    ``max_kernels`` pages are open at once (0: no cap); a page that has gone frees its kernel
    (:func:`kernel_options`)."""

    catalogue(language)  # an unknown language is an error before anything starts
    port = port or 8866
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            raise ParameterError(f"Port {port} is already in use on this computer; choose another with --port.")
    except OSError:
        pass
    tmp = Path(tempfile.mkdtemp(prefix="equity-workbook-present-"))
    proc = None
    try:
        with stop_on_signals():
            # the server starts while the release is prepared: its kernel reads the release only when a
            # browser opens the page, which it cannot before the command says it is ready
            release = release_folder(data_dir, mapping=mapping, scratch=tmp)
            log = Path(server_log) if server_log else tmp / "server.log"
            with open(log, "ab") as sink:
                proc = subprocess.Popen(voila_command(port=port, max_kernels=max_kernels), env=voila_environment(
                    release, language, measures=tmp / "measures.pkl", ipython_dir=tmp / "ipython"),
                                        stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
            publish_release(data_dir, mapping=mapping, out=release, measures=tmp / "measures.pkl")
            try:
                wait_until_up(port, proc)
                warm_up(port, proc)
            except RuntimeError as exc:
                tail = log.read_text(errors="replace").strip().splitlines()[-15:]
                raise RuntimeError(f"{exc}\n" + "\n".join(tail)) from None
            announce(f"The dashboard is ready at http://127.0.0.1:{port}/ (open it in a browser on this computer; "
                     "Ctrl-C stops it).", flush=True)
            proc.wait()
    except BatchInterrupted:
        pass
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    announce("The dashboard has stopped.", flush=True)
    return 0
