"""Settings in one place: the package version and every ``EQUITY_WORKBOOK_*`` environment variable.

Each variable is read when it is used (never cached at import), so a test, a batch worker or a kernel
that sets one sees its effect at once. A variable set to blanks counts as unset.

==================================  ===========================================================================
variable                            what it sets
==================================  ===========================================================================
``EQUITY_WORKBOOK_CACHE``           folder of protected releases kept between runs (default: a per-user
                                    folder under the system's cache directory)
``EQUITY_WORKBOOK_ENGINE``          ``duckdb`` (the default) or ``pandas``: how records are read and validated
``EQUITY_WORKBOOK_EXTRACTS``        folder of stored validated extracts (unset: nothing is stored)
``EQUITY_WORKBOOK_MEMORY``          DuckDB's memory limit, e.g. ``4GB`` (default: DuckDB's, 80% of RAM)
``EQUITY_WORKBOOK_TEMP``            DuckDB's spill folder (default: a private one in the system's temp folder)
``EQUITY_WORKBOOK_THREADS``         DuckDB's worker threads (default: every core)
``EQUITY_WORKBOOK_VEGA_SRC``        where a report loads the chart runtime from (set by the batch per run)
``EQUITY_WORKBOOK_LANGUAGE``        the dashboard kernel's language (set by ``equity-workbook present``)
``EQUITY_WORKBOOK_PRESENT_RELEASE`` the folder the dashboard kernel reads its release from (set by present)
``EQUITY_WORKBOOK_PRESENT_MEASURES`` the dashboard kernel's precomputed opening measures (set by present)
``EQUITY_WORKBOOK_DEBUG``           ``1``: the command line shows an unexpected error's traceback instead of
                                    its short plain message
==================================  ===========================================================================

The map of the package is ``docs/architecture.md``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass

__all__ = ["VERSION", "Setting", "SETTINGS", "CACHE", "ENGINE", "EXTRACTS", "MEMORY", "TEMP", "THREADS", "VEGA_SRC",
           "LANGUAGE", "PRESENT_RELEASE", "PRESENT_MEASURES", "code_fingerprint"]

VERSION = "0.1.0"
"""The package version, written into every report's provenance footer and the batch manifest."""


@dataclass(frozen=True)
class Setting:
    """One ``EQUITY_WORKBOOK_*`` environment variable: its ``name`` and what it sets."""

    name: str
    doc: str

    def get(self) -> str | None:
        """The variable's value with surrounding blanks trimmed; None when unset or blank."""
        return os.environ.get(self.name, "").strip() or None


CACHE = Setting("EQUITY_WORKBOOK_CACHE", "folder of protected releases kept between runs")
ENGINE = Setting("EQUITY_WORKBOOK_ENGINE", "duckdb (the default) or pandas: how records are read and validated")
EXTRACTS = Setting("EQUITY_WORKBOOK_EXTRACTS", "folder of stored validated extracts (unset: nothing is stored)")
MEMORY = Setting("EQUITY_WORKBOOK_MEMORY", "DuckDB's memory limit, e.g. 4GB")
TEMP = Setting("EQUITY_WORKBOOK_TEMP", "DuckDB's spill folder")
THREADS = Setting("EQUITY_WORKBOOK_THREADS", "DuckDB's worker threads")
VEGA_SRC = Setting("EQUITY_WORKBOOK_VEGA_SRC", "where a report loads the chart runtime from")
LANGUAGE = Setting("EQUITY_WORKBOOK_LANGUAGE", "the dashboard kernel's language")
PRESENT_RELEASE = Setting("EQUITY_WORKBOOK_PRESENT_RELEASE", "the folder the dashboard kernel reads its release from")
PRESENT_MEASURES = Setting("EQUITY_WORKBOOK_PRESENT_MEASURES", "the dashboard kernel's precomputed opening measures")
DEBUG = Setting("EQUITY_WORKBOOK_DEBUG", "1: the command line shows the technical details (traceback) of an "
                "unexpected error instead of the plain message")

SETTINGS = (CACHE, ENGINE, EXTRACTS, MEMORY, TEMP, THREADS, VEGA_SRC, LANGUAGE, PRESENT_RELEASE, PRESENT_MEASURES,
            DEBUG)
"""Every setting, for documentation and tests."""


def code_fingerprint(*modules: str) -> str:
    """A hash of the source of the named modules (``"equity_helpers.release.table"`` ...), found wherever
    they live: a cache key built on it changes whenever the code that made the cached result changes.

    Raises
    ------
    ModuleNotFoundError
        When a named module does not exist: a cache must never outlive code it can no longer see.
    """
    h = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"No module named {name!r} to fingerprint.")
        h.update(name.encode())
        with open(spec.origin, "rb") as f:
            h.update(f.read())
    return h.hexdigest()
