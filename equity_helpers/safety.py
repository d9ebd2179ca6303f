"""Stopping and failing safely: signals, child processes, the private cache and the output lock.

* :func:`stop_on_signals` turns Ctrl-C (SIGINT) and SIGTERM into :class:`BatchInterrupted` in the
  main process, so a batch can stop its workers and kernels, record what happened and exit with
  130 / 143 (the shell's convention, 128 + the signal number).
* :func:`stop_processes` ends every process the batch started (worker processes and the Jupyter
  kernels under them), politely first, then by force: no orphan keeps writing reports.
* :func:`private_cache` is a folder only the user can read (0700), named with the process id and
  removed on every exit path; :func:`sweep_leftover_caches` removes the ones a killed run left
  behind (their process is gone) and says so.
* :func:`output_lock` holds an exclusive lock on the output folder for the whole batch: a second
  batch into the same folder stops at once with a message naming the run that holds it.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import psutil

__all__ = ["BatchInterrupted", "OutputLocked", "stop_on_signals", "stop_processes", "private_cache",
           "sweep_leftover_caches", "output_lock", "CACHE_PREFIX", "LOCK_NAME",
           "atomic_write_text", "write_private", "raise_if_interrupted", "ignore_interrupts", "child_pids"]

CACHE_PREFIX = "equity-workbook-cache-"
LOCK_NAME = ".equity-workbook.lock"


class BatchInterrupted(BaseException):
    """A batch stopped by a signal; ``exit_code`` is 128 + the signal number (130 for Ctrl-C).

    A ``BaseException``, like ``KeyboardInterrupt``: code that catches ``Exception`` to keep one
    failing run from stopping the others must not swallow it."""

    def __init__(self, signum: int):
        self.signum = int(signum)
        self.signal_name = signal.Signals(self.signum).name
        self.exit_code = 128 + self.signum
        super().__init__(f"stopped by {self.signal_name}")


class OutputLocked(RuntimeError):
    """Another batch is writing to the output folder."""


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise :class:`BatchInterrupted` on SIGINT or SIGTERM while the block runs (main thread only;
    elsewhere, and on platforms without SIGTERM, the block runs unchanged)."""

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        _PENDING.append(signum)
        raise BatchInterrupted(signum)

    _PENDING.clear()

    previous = {}
    for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if s is not None:
            previous[s] = signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _PENDING.clear()


_PENDING: list[int] = []
"""Signals received inside :func:`stop_on_signals` (see :func:`raise_if_interrupted`)."""


def raise_if_interrupted() -> None:
    """Raise :class:`BatchInterrupted` if a stop signal arrived. For libraries that catch the exception a
    signal handler raises and raise their own instead (DuckDB interrupts its query and raises a
    ``RuntimeError``): the caller turns that back into the stop it was."""
    if _PENDING:
        raise BatchInterrupted(_PENDING[-1])


def ignore_interrupts() -> None:
    """Worker-process initializer: Ctrl-C reaches every process of the terminal's group; the main
    process decides what stops, so workers ignore it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def child_pids() -> set[int]:
    """Process ids of every descendant of this process."""

    try:
        return {p.pid for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        return set()


def stop_processes(*, keep: set[int] = frozenset(), timeout: float = 3.0) -> int:
    """End every descendant of this process not in ``keep``. Returns how many were stopped.

    Descendants are first frozen (SIGSTOP), again and again until no new one appears, so that a
    worker caught starting a kernel cannot leave that kernel behind as an orphan; then each gets
    SIGTERM (and SIGCONT, so it can act on it), and SIGKILL after ``timeout`` seconds.
    """

    frozen: dict[int, psutil.Process] = {}
    for _ in range(50):
        try:
            found = [p for p in psutil.Process().children(recursive=True) if p.pid not in keep]
        except psutil.Error:
            break
        new = [p for p in found if p.pid not in frozen]
        if not new:
            break
        for p in new:
            try:
                p.suspend()
            except psutil.Error:
                pass
            frozen[p.pid] = p
    procs = list(frozen.values())
    for p in procs:
        try:
            p.terminate()
            p.resume()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=timeout)
    return len(procs)


def _pid_alive(pid: int) -> bool:

    return psutil.pid_exists(pid)


def sweep_leftover_caches(tmp: str | Path | None = None) -> list[str]:
    """Remove private caches left by runs that were killed (their process is gone); returns a
    sentence for each, to be shown and recorded."""
    tmp = Path(tmp or tempfile.gettempdir())
    notes = []
    for d in sorted(tmp.glob(CACHE_PREFIX + "*")):
        try:
            pid = int(d.name[len(CACHE_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid() or _pid_alive(pid):
            continue
        shutil.rmtree(d, ignore_errors=True)
        if not d.exists():
            notes.append(f"Removed a private cache of child-level records left by an interrupted run "
                         f"(process {pid}).")
        else:
            notes.append(f"Could not remove a private cache left by an interrupted run (process {pid}); "
                         f"delete the folder {d.name} in the temporary folder by hand.")
    return notes


@contextmanager
def private_cache() -> Iterator[Path]:
    """A temporary folder only this user can open (0700), removed when the block ends for any reason."""
    d = Path(tempfile.mkdtemp(prefix=f"{CACHE_PREFIX}{os.getpid()}-"))
    os.chmod(d, 0o700)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file readable by this user only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` (a file ``.equity-workbook.lock`` in it) while the block runs.

    Raises
    ------
    OutputLocked
        If another batch holds it, naming that run (process, machine, start time).
    """
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform: run unlocked
        yield
        return
    path = Path(out) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip() or "another run"
            raise OutputLocked(f"Another batch is writing to {Path(out).name}/ ({holder}). Wait for it to "
                               f"finish, or choose another output folder with --out.") from None
        started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()}, started {started}".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
