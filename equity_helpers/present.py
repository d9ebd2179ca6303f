"""The facilitator's live dashboard: no code, large type, filters a room can ask for, in English or Spanish.

:class:`Dashboard` is an ipywidgets panel over a workbook's protected release: filters for place, years,
group, reference group and basis; the whole chain at a glance (:func:`equity_helpers.story.chain_chart`) with
its text alternative, the largest gaps and what changed since the baseline; then one decision point at a
time with its chart, two or three sentences and the questions for discussion. Every word comes from the
message catalogue (:mod:`equity_helpers.i18n`); every number from the release table (:mod:`equity_helpers.story`).

:func:`serve` starts Voila (which renders a notebook's widgets without its code) on ``dashboard.ipynb``
with the ``equity`` Voila template: every script and style is served from this machine, none from a CDN.
The server's kernel only ever opens a published release folder (aggregate counts, already protected):
``equity-workbook present`` builds it from the records first, in its own process.
"""
from __future__ import annotations

import html
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from .i18n import catalogue
from .schema import SCHEMES
from .stages import STATE
from .story import (STORY_STAGES, StageStory, StoryFilters, Summary, focus_group, published_windows, stage_story,
                    summary)

__all__ = ["Dashboard", "serve", "show_summary", "open_workbook", "release_folder", "publish_release",
           "dashboard_from_environment", "chart_bundle", "TEMPLATE_ROOT", "DASHBOARD_NOTEBOOK", "RELEASE_ENV",
           "LANGUAGE_ENV", "MEASURES_ENV"]

TEMPLATE_ROOT = Path(__file__).parent / "templates"
"""Put on ``JUPYTER_PATH`` so that Voila finds the ``equity`` template (``voila/templates/equity``)."""
DASHBOARD_NOTEBOOK = TEMPLATE_ROOT / "present" / "dashboard.ipynb"
RELEASE_ENV = "EQUITY_WORKBOOK_PRESENT_RELEASE"
"""The published release folder the dashboard kernel opens."""
LANGUAGE_ENV = "EQUITY_WORKBOOK_LANGUAGE"
MEASURES_ENV = "EQUITY_WORKBOOK_PRESENT_MEASURES"
"""A pickle of the opening measures the ``present`` command computed (see :func:`publish_release`)."""


def _show_chart(spec: dict) -> None:
    """Display a Vega-Lite specification (:func:`equity_helpers.story.chain_chart`) through the active (offline
    HTML) renderer.

    Drawn as SVG, which carries the chart's description as its ``aria-label`` for screen readers, and without
    the chart menu (one of its items opens an online editor)."""
    from IPython.display import display

    display(chart_bundle(spec), raw=True)


def chart_bundle(spec: dict) -> dict:
    """The offline HTML output of a Vega-Lite specification (:func:`equity_helpers.charts.chart_html`, which
    uses the Vega runtime :func:`equity_helpers.charts.offline_loader_html` put on the page), drawn as SVG
    without the chart menu."""
    from .charts import chart_html

    return {"text/html": chart_html(spec, {"renderer": "svg", "actions": False})}


def _html(text: str, cls: str = "", tag: str = "p") -> str:
    return f"<{tag} class='{cls}'>{html.escape(text)}</{tag}>"


def _list(items: list[str], cls: str) -> str:
    return f"<ul class='{cls}'>" + "".join(f"<li>{html.escape(s)}</li>" for s in items) + "</ul>"


class Dashboard:
    """The facilitator's panel over a workbook (a published release or records).

    Parameters
    ----------
    wb : :class:`equity_helpers.views.Workbook` (``Workbook.from_release`` in the server).
    language : ``"en"`` or ``"es"``.
    filters : where to start; defaults to the state over every published year, the focus group, White
        children as the reference and the population basis.

    Attributes
    ----------
    panel : the widget to display.
    summary, stage_out : the two output areas (the whole chain; one decision point).
    story : the last drawn summary as plain data: ``rows`` (:func:`equity_helpers.story.chain`), ``gaps``,
        ``changes``, ``baseline``, ``group``, ``stage_sentences``, ``chain_alt``, ``stage_alt``.
    """

    def __init__(self, wb, *, language: str = "en", filters: StoryFilters | None = None):
        import ipywidgets as W

        self.wb = wb
        self.cat = catalogue(language)
        scheme = (filters.race_scheme if filters else None) or wb.schemes[0]
        fy, ly = wb.years
        f = filters or StoryFilters(place=STATE, first_year=fy, last_year=ly, race_scheme=scheme)
        self.scheme = f.race_scheme
        cat = self.cat
        style = {"description_width": "initial"}
        wide = W.Layout(width="auto", min_width="16em")
        groups = [g for g in SCHEMES[self.scheme].groups if g != "unknown"]
        self.place = W.Dropdown(options=[(cat.t("state"), STATE)] + [(j, j) for j in wb.jurisdictions], value=f.place,
                                description=cat.t("filter_place"), style=style, layout=wide)
        self.years = W.Dropdown(options=self._window_options(f.place), value=(f.first_year, f.last_year),
                                description=cat.t("filter_years"), style=style, layout=wide)
        start_group = f.group or focus_group(wb, f) or groups[1]
        self.group = W.Dropdown(options=[(cat.group_label(g), g) for g in groups], value=start_group,
                                description=cat.t("filter_group"), style=style, layout=wide)
        self.reference = W.Dropdown(options=[(cat.group_label(g), g) for g in [*groups, "all_other"]],
                                    value=f.reference, description=cat.t("filter_reference"), style=style, layout=wide)
        self.basis = W.ToggleButtons(options=[(cat.t("basis_population"), "population"),
                                              (cat.t("basis_decision"), "decision")], value=f.basis,
                                     description=cat.t("filter_basis"), style={**style, "button_width": "auto"})
        self.stage = W.ToggleButtons(options=[(cat.stage(s), s) for s in STORY_STAGES], value="entered_care",
                                     description="", style={"button_width": "auto"})
        self.header = W.HTML()
        self.summary = W.Output()
        self.stage_out = W.Output()
        self.how = W.HTML()
        self.general = W.HTML(f"<h2>{html.escape(cat.t('prompts_heading'))}</h2>"
                              + _list(cat.prompts("general"), "eh-prompts"))
        filters_box = W.Box([self.place, self.years, self.group, self.reference, self.basis],
                            layout=W.Layout(display="flex", flex_flow="row wrap", gap="0.4em 1.5em"))
        filters_box.add_class("eh-filters")
        self.panel = W.VBox([self.header, filters_box, self.how, self.summary,
                             W.HTML(f"<h2>{html.escape(cat.t('stage_heading'))}</h2>"), self.stage, self.stage_out,
                             self.general])
        self.panel.add_class("eh-dashboard")
        self._holding = False
        self.place.observe(self._place_changed, names="value")
        for w in (self.years, self.group, self.reference, self.basis):
            w.observe(lambda _change: self.redraw(), names="value")
        self.stage.observe(lambda _change: self.redraw_stage(), names="value")
        self.redraw()

    # ---- filters
    def filters(self) -> StoryFilters:
        fy, ly = self.years.value
        return StoryFilters(place=self.place.value, first_year=fy, last_year=ly, group=self.group.value,
                            reference=self.reference.value, basis=self.basis.value, race_scheme=self.scheme)

    def _window_options(self, place: str) -> list[tuple[str, tuple[int, int]]]:
        return [(self.cat.years(a, b), (a, b)) for a, b in published_windows(self.wb, place, scheme=self.scheme)]

    def _place_changed(self, change) -> None:
        options = self._window_options(change["new"])
        keep = self.years.value if self.years.value in [v for _, v in options] else options[0][1]
        self._holding = True  # one redraw for the place change, not one per years update
        try:
            self.years.options = options
            self.years.value = keep
        finally:
            self._holding = False
        self.redraw()

    # ---- drawing
    def redraw(self) -> None:
        """Recompute the summary and the chosen decision point for the current filters."""
        if self._holding:
            return
        cat = self.cat
        self.summary_story = s = summary(self.wb, self.filters(), cat)
        self.header.value = f"<h1>{html.escape(s.title)}</h1>" + _html(s.subtitle, "eh-subtitle")
        ref = cat.group(s.filters.reference)
        self.how.value = (f"<details class='eh-how'><summary>{html.escape(cat.t('how_to_read_heading'))}</summary>"
                          + _html(cat.t("how_to_read", ref=ref), "eh-how-text") + "</details>")
        self.summary.clear_output(wait=True)
        with self.summary:
            show_summary_story(s, cat)
        self.redraw_stage()

    def redraw_stage(self) -> None:
        """Redraw the chosen decision point only (its chart, sentences and questions)."""
        self.stage_story = st = stage_story(self.summary_story, self.stage.value, self.cat)
        self.stage_out.clear_output(wait=True)
        with self.stage_out:
            show_stage_story(st, self.cat)

    @property
    def story(self) -> dict[str, Any]:
        """The drawn page as plain data: ``rows``, ``gaps``, ``changes``, ``baseline``, ``group``, ``chain_alt``,
        ``stage_sentences``, ``stage_alt``."""
        s, st = self.summary_story, self.stage_story
        return {"rows": s.rows, "gaps": s.gaps, "changes": s.changes, "baseline": s.baseline,
                "group": s.filters.group, "chain_alt": s.chain_alt, "stage_sentences": st.sentences,
                "stage_alt": st.alt}

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.panel)


def alt_html(text: str, cat) -> str:
    """A chart's text alternative, shown under it."""
    return _html(f"{cat.t('text_alternative')}: {text}", "eh-alt")


def summary_html(s: Summary, cat, *, with_alt: bool = True) -> str:
    """The whole chain's words: the chart's text alternative, the largest gaps, the changes, the hidden count."""
    return ((alt_html(s.chain_alt, cat) if with_alt else "")
            + f"<h2>{html.escape(cat.t('gaps_heading'))}</h2>" + _list(s.gaps, "eh-gaps")
            + (f"<h2>{html.escape(cat.t('changes_heading', baseline=s.baseline))}</h2>" if s.baseline else "")
            + _list(s.changes, "eh-changes")
            + (_html(cat.t("hidden_count", n=s.hidden), "eh-hidden") if s.hidden else ""))


def stage_html(st: StageStory, cat) -> str:
    """One decision point's words: the chart's text alternative, the sentences and the questions."""
    return (alt_html(st.alt, cat) + _list(st.sentences, "eh-sentences")
            + f"<h3>{html.escape(cat.t('prompts_heading'))}</h3>" + _list(st.prompts, "eh-prompts"))


def show_summary_story(s: Summary, cat) -> None:
    from IPython.display import HTML, display

    display(HTML(f"<h2>{html.escape(cat.t('summary_heading'))}</h2>"))
    if s.chart is not None:
        _show_chart(s.chart)
    display(HTML(summary_html(s, cat)))


def show_stage_story(st: StageStory, cat) -> None:
    from IPython.display import HTML, display

    if st.chart is not None:
        _show_chart(st.chart)
    display(HTML(stage_html(st, cat)))


def show_summary(wb, *, filters, language: str = "en") -> Summary:
    """The summary a room can follow, for a notebook or a batch report (``08_summary``): the whole chain in one
    chart with its text alternative, the largest gaps and what changed since the baseline, for the place,
    years, reference and basis of ``filters`` (:class:`equity_helpers.views.Filters`), following the group
    with the most children behind a gap."""
    cat = catalogue(language)
    f = StoryFilters(place=filters.jurisdiction, first_year=filters.first_year, last_year=filters.last_year,
                     reference=filters.reference, basis=filters.basis, race_scheme=filters.race_scheme)
    f = StoryFilters(**{**f.__dict__, "group": focus_group(wb, f)})
    s = summary(wb, f, cat)
    show_summary_story(s, cat)
    return s


def dashboard_from_environment() -> Dashboard:
    """What ``dashboard.ipynb`` runs in the server's kernel: the release folder and language the
    ``present`` command put in the environment (:data:`RELEASE_ENV`, :data:`LANGUAGE_ENV`)."""
    from .views import Workbook
    from .workbook import setup_notebook

    from IPython.display import HTML, display

    setup_notebook("interactive")
    language = os.environ.get(LANGUAGE_ENV, "en")
    cat = catalogue(language)
    # the page's language for screen readers and the browser's tab title, from the catalogue
    display(HTML(f"<script>document.documentElement.lang = {language!r}; "
                 f"document.title = {cat.t('page_title')!r};</script>"))
    folder = os.environ.get(RELEASE_ENV)
    if not folder:
        from .errors import ParameterError

        raise ParameterError(f"Start the dashboard with `equity-workbook present --data DIR` ({RELEASE_ENV} is "
                             "not set).")
    wb = Workbook.from_release(folder)
    measures = Path(os.environ.get(MEASURES_ENV, "")) if os.environ.get(MEASURES_ENV) else None
    if measures is not None and measures.is_file():
        # what Release.measures would compute for the opening filters, computed by the command
        from .release import SUBGROUP_ALL

        wb.release()._measures[("white", SUBGROUP_ALL, "exclude", "holm")] = pd.read_pickle(measures)
    return Dashboard(wb, language=language)


# --------------------------------------------------------------------------- the server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _published(data_dir) -> bool:
    return data_dir is not None and (Path(data_dir) / "release.csv").exists()


def open_workbook(data_dir=None, *, mapping=None):
    """The workbook of a data folder or mapping (validated records), or of a batch's reports folder (its
    published ``release.csv``: aggregates only)."""
    from .views import Workbook

    if _published(data_dir) and mapping is None:
        return Workbook.from_release(data_dir)
    return Workbook.load(data_dir, mapping=mapping)


def _kept_release(data_dir, mapping) -> Path | None:
    """Where the release of these source files is kept between ``present`` runs: in the release cache
    (private, aggregates only), keyed by the files' names, sizes and modification times, the mapping and the
    code that validates and protects them (:func:`equity_helpers.extracts.extract_key`), so that a second start
    on unchanged files neither validates nor protects again. ``None`` when the cache is off."""
    from .extracts import extract_key
    from .release import release_cache_dir

    cache = release_cache_dir()
    if cache is None:
        return None
    key = extract_key(data_dir, mapping=mapping, present=_release_code())
    return cache / f"present-{key}"


def _release_code() -> str:
    """A hash of the code that builds and protects a release (a change to it builds the release again)."""
    import hashlib

    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for mod in ("release.py", "release_survival.py", "disclosure.py", "stages.py", "survival.py", "suppression.py",
                "measures.py", "views.py"):
        h.update((here / mod).read_bytes())
    return h.hexdigest()[:16]


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
    from .views import Workbook

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
    import hashlib

    from .release import release_cache_dir

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


def voila_command(*, port: int, notebook: Path = DASHBOARD_NOTEBOOK) -> list[str]:
    """The Voila command line: local address only, no code, our template, no browser opened, no tracebacks."""
    return [sys.executable, "-m", "voila", str(notebook), f"--port={port}", "--no-browser", "--Voila.ip=127.0.0.1",
            "--template=equity", "--strip_sources=True", "--show_tracebacks=False", "--theme=light",
            "--VoilaConfiguration.file_allowlist=[]"]


def voila_environment(release: Path, language: str, *, measures: Path | None = None,
                      ipython_dir: Path | None = None) -> dict[str, str]:
    """The server's environment: our template on ``JUPYTER_PATH``, the release folder, the language and the
    precomputed opening measures; with ``ipython_dir`` (in the command's private folder) the kernels keep their
    IPython profile and history there, not in the user's (no lock shared with the user's other kernels)."""
    env = dict(os.environ)
    if ipython_dir is not None:
        env["IPYTHONDIR"] = str(ipython_dir)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH", "")) if p)
    env[RELEASE_ENV] = str(release)
    env[LANGUAGE_ENV] = language
    if measures is not None:
        env[MEASURES_ENV] = str(measures)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def wait_until_up(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until the server accepts connections on ``port`` (or raise if it died or never did). Its page is
    not asked for: in Voila every page view starts a kernel."""
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
          server_log: str | Path | None = None, announce=print) -> int:
    """Publish the release, start the dashboard server and keep it running until Ctrl-C (or SIGTERM); returns
    0 once the server, its kernels and the private release folder (0700) are gone. The server's log goes to
    ``server_log`` (appended; it holds no numbers, only the server's and kernels' messages), else to a file in
    the private folder."""
    from .safety import BatchInterrupted, stop_on_signals

    from .errors import ParameterError

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
                proc = subprocess.Popen(voila_command(port=port), env=voila_environment(
                    release, language, measures=tmp / "measures.pkl", ipython_dir=tmp / "ipython"),
                                        stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
            publish_release(data_dir, mapping=mapping, out=release, measures=tmp / "measures.pkl")
            try:
                wait_until_up(port, proc)
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
