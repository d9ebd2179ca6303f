"""Execute notebooks with papermill and export offline, self-contained HTML reports.

* :func:`run_notebook` executes a notebook through papermill's Python API with injected
  parameters.
* :func:`export_html` turns an executed notebook into one HTML file with no code shown, no
  script loaded from a CDN (the ``offline`` nbconvert template drops require.js, MathJax, mermaid
  and widget scripts; charts are rendered as inline SVG in batch mode) and a provenance footer
  (parameters, data hash, package version, scheme, suppression policy, run time).
* Files are written atomically (temporary file, then rename), so an interrupted run never
  leaves a half-written report.
"""
from __future__ import annotations

import hashlib
import html
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .suppression import SuppressionPolicy

__all__ = ["run_notebook", "export_html", "data_fingerprint", "provenance_html", "atomic_write_text",
           "NOTEBOOK_DIR", "render_report"]

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
_TEMPLATES = Path(__file__).resolve().parent / "templates"


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


def data_fingerprint(data_dir: str | Path | None, mapping: str | Path | None = None) -> str:
    """SHA-256 over the data files (and mapping) a run read, in name order; first 16 hex digits."""
    h = hashlib.sha256()
    paths: list[Path] = []
    if mapping:
        paths.append(Path(mapping))
    if data_dir:
        d = Path(data_dir)
        paths += sorted(p for p in d.iterdir() if p.is_file() and p.suffix in (".csv", ".gz", ".parquet", ".xlsx",
                                                                             ".yml", ".yaml"))
    for p in paths:
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def run_notebook(notebook: str | Path, out: str | Path, *, parameters: dict[str, Any],
                 cwd: str | Path | None = None, timeout: int = 600) -> Path:
    """Execute ``notebook`` with papermill's Python API and write it (atomically) to ``out``."""
    import papermill as pm

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.running.ipynb")
    failed = out.with_name(f"{out.stem}.failed.ipynb")
    try:
        pm.execute_notebook(str(notebook), str(tmp), parameters=parameters, kernel_name="python3",
                            cwd=str(cwd or Path(notebook).parent), progress_bar=False,
                            execution_timeout=timeout)
        os.replace(tmp, out)
        failed.unlink(missing_ok=True)
    except Exception:
        if tmp.exists():  # keep the executed notebook with its error for the analyst, never as the report
            os.replace(tmp, failed)
        raise
    return out


def provenance_html(info: dict[str, Any]) -> str:
    """The provenance footer as an HTML definition list."""
    items = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in info.items())
    return ("<h2>About this report</h2><p>Produced by the Child Welfare Racial Equity Workbook. "
            "Synthetic or agency data as named below; no child-level records are included.</p>"
            f"<dl class='eh-provenance-list'>{items}</dl>")


def export_html(executed: str | Path, out: str | Path, *, provenance: dict[str, Any] | None = None) -> Path:
    """Export an executed notebook to a self-contained HTML report with no code shown."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(_TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    resources = {"provenance_html": provenance_html(provenance or {})}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return atomic_write_text(out, body)


def render_report(notebook: str | Path, out_dir: str | Path, *, parameters: dict[str, Any],
                  name: str | None = None) -> dict[str, Any]:
    """Run one notebook and export its report; returns a manifest entry (status, paths, timing)."""
    from . import __version__

    notebook = Path(notebook)
    out_dir = Path(out_dir)
    stem = name or notebook.stem
    started = time.perf_counter()
    executed = run_notebook(notebook, out_dir / f"{stem}.ipynb", parameters=parameters)
    info = {
        "notebook": notebook.name,
        "parameters": ", ".join(f"{k}={v}" for k, v in parameters.items()),
        "data hash": data_fingerprint(parameters.get("data_dir"), parameters.get("mapping")),
        "package version": __version__,
        "race scheme": parameters.get("race_scheme", "hispanic_first"),
        "run at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    info["small numbers"] = SuppressionPolicy(max_count=int(parameters.get("suppression_threshold", 10))).describe()
    html_path = export_html(executed, out_dir / f"{stem}.html", provenance=info)
    return {"notebook": notebook.name, "html": str(html_path), "executed": str(executed), "status": "ok",
            "seconds": round(time.perf_counter() - started, 2), **{k: v for k, v in info.items()
                                                                   if k in ("data hash", "package version")}}
