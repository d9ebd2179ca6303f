"""Stopping and failing safely (issue 16): signals, leftover child-level data, the output lock."""
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from equity_helpers.run.cli import main
from equity_helpers.safety import (CACHE_PREFIX, output_lock, private_cache, sweep_leftover_caches,
                                   write_private)

from .conftest import SAMPLE


def test_the_private_cache_is_for_the_user_only_and_gone_afterwards():
    with private_cache() as d:
        f = d / "workbook.pkl"
        write_private(f, b"child-level records")
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert not d.exists()
    with pytest.raises(RuntimeError):
        with private_cache() as d:
            raise RuntimeError("a failing run")
    assert not d.exists(), "removed on the error path too"


def test_a_cache_left_by_a_killed_run_is_removed_and_reported(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f"{CACHE_PREFIX}{dead.pid}-abc"
    left.mkdir()
    (left / "workbook.pkl").write_bytes(b"x")
    mine = tmp_path / f"{CACHE_PREFIX}{os.getpid()}-def"
    mine.mkdir()
    notes = sweep_leftover_caches(tmp_path)
    assert not left.exists() and mine.exists()
    assert len(notes) == 1 and f"process {dead.pid}" in notes[0]


def test_a_second_batch_into_the_same_folder_is_refused_naming_the_first(tmp_path, capsys):
    with output_lock(tmp_path):
        code = main(["batch", "--data", str(SAMPLE), "--out", str(tmp_path), "--jurisdictions", "Granite",
                     "--notebooks", "00_start_here", "--workers", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Another batch is writing to" in err and f"process {os.getpid()}" in err
    assert not (tmp_path / "manifest.json").exists()


NOTEBOOKS = "00_start_here,02_screening,04_entry_to_care,06_whole_chain"  # 8 runs with the state's


def _command(out: Path) -> list[str]:
    return [sys.executable, "-m", "equity_helpers.run.cli", "batch", "--data", str(SAMPLE), "--out", str(out),
            "--jurisdictions", "Granite", "--notebooks", NOTEBOOKS, "--workers", "2"]


def _batch(out: Path, tmp: Path) -> subprocess.Popen:
    return subprocess.Popen(_command(out), env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_batch_cleanly_and_a_rerun_resumes(tmp_path, how):
    out, tmp = tmp_path / "reports", tmp_path / "tmp"
    tmp.mkdir()
    proc = _batch(out, tmp)
    deadline = time.time() + 300
    while time.time() < deadline and not list(out.glob("*/*.html")):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    assert list(out.glob("*/*.html")), "a first report was written"
    kids = _descendants(proc.pid)
    assert kids, "workers and kernels are running"
    if how == "SIGINT":  # Ctrl-C in a terminal reaches the whole process group
        os.killpg(proc.pid, signal.SIGINT)
    else:  # kill PID
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        pytest.fail(f"the batch did not stop within 90 s of {how}: {err[-1500:]}")
    assert proc.returncode == (130 if how == "SIGINT" else 143), err
    assert f"Batch stopped by {how}" in err
    _, alive = psutil.wait_procs(kids, timeout=10)
    assert not alive, f"orphans left: {[p.cmdline()[:3] for p in alive]}"
    assert not list(tmp.glob(CACHE_PREFIX + "*")), "no child-level cache left"
    assert not list(out.rglob("*.running.ipynb")), "no partial outputs"
    manifest = json.loads((out / "manifest.json").read_text())
    status = [r["status"] for r in manifest["runs"]]
    assert manifest["interrupted"]["signal"] == how
    assert status.count("ok") >= 1 and status.count("ok") < 8
    assert set(status) <= {"ok", "failed", "interrupted", "not started"}
    assert len(status) == 8, "every run is accounted for"
    for r in manifest["runs"]:
        if r["status"] == "ok":
            assert (out / r["html"]).exists()
    if how == "SIGTERM":
        return
    # a re-run resumes: completed reports are skipped, the rest run
    done = status.count("ok")
    res = subprocess.run(_command(out), capture_output=True, text=True, env={**os.environ, "TMPDIR": str(tmp)},
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    again = json.loads((out / "manifest.json").read_text())
    assert again["skipped"] == done and all(r["status"] == "ok" for r in again["runs"])
    assert "interrupted" not in again


def test_two_batches_into_one_folder_the_second_is_refused(tmp_path):
    out, tmp = tmp_path / "reports", tmp_path / "tmp"
    tmp.mkdir()
    # a first batch long enough (every notebook, one worker) to be still running when it is stopped
    first = subprocess.Popen([*_command(out)[:-4], "--notebooks", "all", "--workers", "1"],
                             env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    lock = out / ".equity-workbook.lock"
    deadline = time.time() + 120
    while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.2)
    second = subprocess.run(_command(out), capture_output=True, text=True, env={**os.environ, "TMPDIR": str(tmp)},
                            timeout=120)
    assert first.poll() is None, "the first batch is still running"
    first.send_signal(signal.SIGTERM)
    try:
        first.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate()
        pytest.fail("the first batch did not stop within 90 s of SIGTERM")
    assert second.returncode == 2
    assert "Another batch is writing to reports/" in second.stderr and f"process {first.pid}" in second.stderr
    assert first.returncode == 143
    assert not list(tmp.glob(CACHE_PREFIX + "*")), "stopped early, the cache is gone too"
