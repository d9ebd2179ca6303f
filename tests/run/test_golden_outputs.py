"""The sample's published outputs, byte for byte: the measures table, the release table (cells, population,
audit) and a batch's index page. Recorded before the package moved into subpackages (issue 25) so that any
change of behaviour in a refactor shows up here; a deliberate change of output records them again with
``EQUITY_WORKBOOK_UPDATE_GOLDEN=1 pytest tests/run/test_golden_outputs.py`` and says why in its commit."""
from __future__ import annotations

import difflib
import gzip
import os
import re
from pathlib import Path

import pytest

from equity_helpers.run.cli import main

from ..conftest import SAMPLE

OUTPUTS = Path(__file__).resolve().parents[1] / "golden" / "outputs"
UPDATE = os.environ.get("EQUITY_WORKBOOK_UPDATE_GOLDEN") == "1"

# what legitimately differs from run to run: clock times and durations, and the ids the SVG renderer numbers
# its gradients with (a counter of the rendering process, so they depend on what it drew before)
_VOLATILE = [
    (re.compile(rb"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?( ?UTC|Z|[+-]\d\d:?\d\d)?"), b"<time>"),
    (re.compile(rb"\b\d+(\.\d+)? s\b"), b"<seconds> s"),
    (re.compile(rb"gradient_\d+"), b"gradient_<n>"),
]
_LONG_FLOAT = re.compile(rb"-?\d+\.\d{7,}")
"""A linear program's bound (the audit's ``low`` and ``high``): HiGHS may end a run a few units in the last
place apart (3.6666666666666643 or 3.666666666666664), so these are compared to six decimals."""


def _normalised(data: bytes, *, lp_bounds: bool = False) -> bytes:
    for pattern, repl in _VOLATILE:
        data = pattern.sub(repl, data)
    if lp_bounds:
        data = _LONG_FLOAT.sub(lambda m: b"%.6f" % float(m.group(0)), data)
    return data


def _check(name: str, produced: Path) -> None:
    golden = OUTPUTS / f"{name}.gz"
    now = _normalised(produced.read_bytes(), lp_bounds=name == "release_audit.csv")
    if UPDATE:
        OUTPUTS.mkdir(parents=True, exist_ok=True)
        with open(golden, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(now)
        return
    before = _normalised(gzip.decompress(golden.read_bytes()), lp_bounds=name == "release_audit.csv")
    if now != before:
        diff = difflib.unified_diff(before.decode(errors="replace").splitlines(),
                                    now.decode(errors="replace").splitlines(), "golden", "now", lineterm="", n=1)
        shown = "\n".join(list(diff)[:40])
        pytest.fail(f"{name} differs from its golden copy:\n{shown}")


@pytest.fixture(scope="module")
def golden_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden-batch")
    code = main(["batch", "--data", str(SAMPLE), "--out", str(out), "--jurisdictions", "Granite,Bluff",
                 "--notebooks", "00_start_here", "--workers", "2"])
    assert code == 0
    return out


def test_measures_table_is_unchanged(tmp_path):
    out = tmp_path / "measures.csv"
    assert main(["measures", "--data", str(SAMPLE), "--out", str(out), "--quiet"]) == 0
    _check("measures.csv", out)


@pytest.mark.parametrize("name", ["release.csv", "release_population.csv", "release_audit.csv"])
def test_release_table_is_unchanged(golden_batch, name):
    _check(name, golden_batch / name)


def test_batch_index_is_unchanged(golden_batch):
    _check("index.html", golden_batch / "index.html")
