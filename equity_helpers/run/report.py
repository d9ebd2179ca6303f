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
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from equity_helpers import settings
from equity_helpers.privacy.suppression import SuppressionPolicy
from equity_helpers.safety import atomic_write_text
from equity_helpers.survey.release import describe_survey_protection

__all__ = ["run_notebook", "export_html", "data_fingerprint", "provenance_html",
           "NOTEBOOK_DIR", "render_report", "public_parameters", "path_labels", "scrub_paths"]

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
_TEMPLATES = Path(__file__).resolve().parent / "templates"




def data_fingerprint(data_dir: str | Path | None, mapping: str | Path | None = None) -> str:
    """SHA-256 over the data files (and mapping) a run read, in name order; first 16 hex digits."""
    h = hashlib.sha256()
    paths: list[Path] = []
    if mapping:
        paths.append(Path(mapping))
    if data_dir:
        d = Path(data_dir)
        paths += sorted(p for p in d.iterdir() if p.is_file() and p.suffix in (".csv", ".gz", ".parquet", ".xlsx",
                                                                             ".yml", ".yaml", ".geojson",
                                                                             ".topojson"))
    for p in paths:
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def public_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """A run's parameters as a reader may see them: the data folder and mapping by name, no private cache."""
    out = {}
    for k, v in parameters.items():
        if k == "cache":
            continue
        if k in ("data_dir", "mapping") and v:
            v = Path(str(v)).name
        out[k] = v
    return out


def path_labels(parameters: dict[str, Any], *, out_dir: str | Path | None = None) -> dict[str, str]:
    """Machine paths a run's outputs could carry, each with the label that replaces it (longest first).

    The data folder and mapping become their names, the private cache "private cache (deleted after
    the run)", the reports folder ".", the notebooks folder "notebooks", the Python installation
    "python" and the home folder "~".
    """

    labels: dict[str, str] = {}
    if parameters.get("cache"):
        labels[str(Path(str(parameters["cache"])).parent)] = "private cache (deleted after the run)"
    for k in ("data_dir", "mapping"):
        if parameters.get(k):
            labels[str(Path(str(parameters[k])).resolve())] = Path(str(parameters[k])).name
            labels[str(parameters[k])] = Path(str(parameters[k])).name
    if out_dir is not None:
        labels[str(Path(out_dir).resolve())] = "."
    labels[str(NOTEBOOK_DIR)] = "notebooks"
    labels[str(NOTEBOOK_DIR.parent)] = "workbook"
    labels[sys.prefix] = "python"
    labels[sys.base_prefix] = "python"
    labels[str(Path.home())] = "~"
    keep = {k: v for k, v in labels.items() if len(k) > 1 and Path(k).is_absolute()}
    return dict(sorted(keep.items(), key=lambda kv: -len(kv[0])))


def scrub_paths(path: str | Path, labels: dict[str, str], *, compact: bool = False) -> None:
    """Replace every machine path of ``labels`` in the file at ``path`` (an executed notebook), in
    place and atomically; the notebook's papermill input and output paths become file names. With
    ``compact`` the notebook is written compactly (:func:`compact_outputs`, no indentation); a failed
    notebook is not, because the batch quotes its error display's plain text."""

    text = Path(path).read_text(encoding="utf-8")
    try:
        nb = json.loads(text)
        pm_meta = nb.get("metadata", {}).get("papermill", {})
        for key in ("input_path", "output_path"):
            if pm_meta.get(key):
                pm_meta[key] = Path(pm_meta[key]).name
        if compact:
            compact_outputs(nb)
            text = json.dumps(nb, separators=(",", ":"), ensure_ascii=False) + "\n"
        else:
            text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    except json.JSONDecodeError:
        pass
    for raw, label in labels.items():
        for form in (raw, json.dumps(raw)[1:-1]):
            text = text.replace(form, label)
    atomic_write_text(path, text)


RICHER = ("text/html", "text/markdown", "image/svg+xml", "image/png", "application/vnd.vegalite")
"""Output forms richer than plain text (Vega-Lite's mime types by prefix: one per version)."""


def compact_outputs(nb: dict) -> dict:
    """Drop the ``text/plain`` copy of every rich output (a display or a result) that also has a richer
    form (:data:`RICHER`): JupyterLab and the HTML report show the richer one, and the plain copy of a table
    or chart made up a fifth of an executed notebook. Error and stream outputs are kept as they are."""
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            data = out.get("data")
            if out.get("output_type") in ("display_data", "execute_result") and data and "text/plain" in data \
                    and any(k.startswith(RICHER) for k in data):
                del data["text/plain"]
    return nb


def run_notebook(notebook: str | Path, out: str | Path, *, parameters: dict[str, Any],
                 cwd: str | Path | None = None, timeout: int = 600, labels: dict[str, str] | None = None,
                 kernel=None) -> Path:
    """Execute ``notebook`` with papermill's Python API and write it (atomically) to ``out``.

    ``labels`` (see :func:`path_labels`) are scrubbed from the executed notebook, also from a
    failed one kept beside the report. ``kernel``: a :class:`equity_helpers.run.kernels.WarmKernel` to run
    in (prepared before and kept after the run) instead of a new kernel."""
    import papermill as pm  # Jupyter (papermill): imported only when a notebook runs

    cwd = str(cwd or Path(notebook).parent)
    engine = {}
    if kernel is not None:
        # Jupyter (papermill, nbconvert, kernels): imported only by the command that runs them
        from equity_helpers.run.kernels import ENGINE

        kernel.prepare(cwd=cwd)
        engine = {"engine_name": ENGINE, "km": kernel.km, "kc": kernel.kc}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.running.ipynb")
    failed = out.with_name(f"{out.stem}.failed.ipynb")
    ok = False
    try:
        pm.execute_notebook(str(notebook), str(tmp), parameters=parameters, kernel_name="python3", cwd=cwd,
                            progress_bar=False, execution_timeout=timeout, **engine)
        ok = True
        scrub_paths(tmp, labels or {}, compact=True)
        os.replace(tmp, out)
        failed.unlink(missing_ok=True)
    except Exception:
        if tmp.exists():  # keep the executed notebook with its error for the analyst, never as the report
            if labels:
                scrub_paths(tmp, labels)
            os.replace(tmp, failed)
        raise
    finally:
        if kernel is not None:
            kernel.finished(ok)
    return out


def provenance_html(info: dict[str, Any]) -> str:
    """The provenance footer as an HTML definition list."""
    items = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in info.items())
    return ("<h2>About this report</h2><p>Produced by the Child Welfare Racial Equity Workbook. "
            "Synthetic or agency data as named below; no child-level records are included.</p>"
            f"<dl class='eh-provenance-list'>{items}</dl>")


def css_asset_name() -> str:
    """File name of the shared page style (JupyterLab's light theme as nbconvert ships it)."""
    import nbconvert  # nbconvert: imported only when a report is exported

    return f"jupyterlab-light-nbconvert{nbconvert.__version__}.css"


def write_css_asset(folder: str | Path) -> Path:
    """Write the page style once into ``folder`` (the CSS the ``lab`` template would inline)."""
    from nbconvert import HTMLExporter  # nbconvert: imported only when a report is exported

    path = Path(folder) / css_asset_name()
    if path.exists():
        return path
    static = None
    for d in HTMLExporter(template_name="lab").template_paths:
        if (Path(d) / "static" / "index.css").exists():
            static = Path(d) / "static"
            break
    if static is None:  # pragma: no cover - nbconvert always ships it
        raise FileNotFoundError("nbconvert's lab template styles were not found.")
    css = "\n".join((static / f).read_text(encoding="utf-8") for f in ("index.css", "theme-light.css"))
    return atomic_write_text(path, css)


def export_html(executed: str | Path, out: str | Path, *, provenance: dict[str, Any] | None = None,
                assets: str | None = None) -> Path:
    """Export an executed notebook to an HTML report with no code shown.

    ``assets``: the relative folder holding the shared page style (:func:`write_css_asset`); the
    report links it instead of inlining 250 KB of CSS. None inlines it (a self-contained file)."""
    import nbformat  # nbformat: imported only when a notebook is read or written
    from nbconvert import HTMLExporter  # nbconvert: imported only when a report is exported

    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(_TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    resources = {"provenance_html": provenance_html(provenance or {})}
    if assets:
        resources["shared_css"] = f"{assets}/{css_asset_name()}"
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return atomic_write_text(out, body)


def notebook_scope(notebook: str | Path) -> str:
    """"place" (a page per jurisdiction), "state" (one page, run with the state: numbers published for the
    state only) or "collaboration" (one page about the whole collaboration, run once, with the state: the
    survey page), from the notebook's ``equity_workbook.scope`` metadata."""
    meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
    return meta.get("equity_workbook", {}).get("scope", "place")


def render_report(notebook: str | Path, out_dir: str | Path, *, parameters: dict[str, Any],
                  name: str | None = None, assets: str | None = None, kernel=None,
                  footer: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one notebook and export its report; returns a manifest entry (status, paths, timing).

    ``footer``: more lines for the provenance footer (the batch adds what the protection hides).

    ``assets``: relative folder of the shared Vega runtime and page style (see :func:`export_html`);
    the notebook's kernel is told through :data:`equity_helpers.settings.VEGA_SRC` by the caller."""
    notebook = Path(notebook)
    out_dir = Path(out_dir)
    stem = name or notebook.stem
    started = time.perf_counter()
    labels = path_labels(parameters, out_dir=out_dir.parent)
    executed = run_notebook(notebook, out_dir / f"{stem}.ipynb", parameters=parameters, labels=labels,
                            kernel=kernel)
    info = {
        "notebook": notebook.name,
        "parameters": ", ".join(f"{k}={v}" for k, v in public_parameters(parameters).items()),
        "data hash": data_fingerprint(parameters.get("data_dir"), parameters.get("mapping")),
        "package version": settings.VERSION,
        "race scheme": parameters.get("race_scheme", "hispanic_first"),
        "run at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if notebook_scope(notebook) == "collaboration":  # the survey page: respondents' rule, no race coding

        del info["race scheme"]
        info["small numbers"] = describe_survey_protection()
    else:
        info["small numbers"] = SuppressionPolicy(max_count=int(parameters.get("suppression_threshold", 10))).describe()
        info.update(footer or {})
    html_path = export_html(executed, out_dir / f"{stem}.html", provenance=info, assets=assets)
    return {"notebook": notebook.name, "html": str(html_path), "executed": str(executed), "status": "ok",
            "seconds": round(time.perf_counter() - started, 2), **{k: v for k, v in info.items()
                                                                   if k in ("data hash", "package version")}}
