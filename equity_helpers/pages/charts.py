"""Chart builders: one theme, colour-blind safe, suppression shown with text, not colour alone.

Every builder takes a tidy table produced by the package and returns a chart (an Altair chart, or for
the four charts of a decision-point page, which an analyst's filters redraw, a plain Vega-Lite
:class:`Spec`); none computes a number of its own.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import uuid
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from equity_helpers import settings
from equity_helpers.pages.i18n import Catalogue
from equity_helpers.safety import atomic_write_text
from equity_helpers.schema import STAGES, group_label

__all__ = ["PALETTE", "group_scale", "offline_loader_html", "chart_html", "RENDERER", "Spec", "vega_bundle",
           "stage_counts_chart", "rri_chart", "rate_chart", "CHART_FIELDS", "trend_chart", "county_chart",
           "survival_chart", "exits_chart", "survey_waves_chart", "survey_sectors_chart", "survey_items_chart",
           "SURVEY_AGREEMENT", "chain_chart", "stage_chart", "story_chart_data", "story_colour", "shares_chart"]

def vega_bundle() -> str:
    """The Vega, Vega-Lite and Vega-Embed JavaScript (from vl-convert, no network), setting
    ``window.vegaEmbed``. Built once per vl-convert and Vega-Lite version and kept in the temp folder."""

    import vl_convert as vlc  # vl-convert: imported only when a chart is rendered

    path = Path(tempfile.gettempdir()) / f"equity-workbook-vega-{vlc.__version__}-{alt.VEGALITE_VERSION}.js"
    if path.exists():
        return path.read_text(encoding="utf-8")
    js = vlc.javascript_bundle("window.vegaEmbed = vegaEmbed;")
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(js, encoding="utf-8")
    os.replace(tmp, path)
    return js



def vega_asset_name() -> str:
    """File name of the shared Vega runtime for this Altair / Vega-Lite version."""
    return f"vega-{alt.VEGA_VERSION}-vl{alt.VEGALITE_VERSION}-embed{alt.VEGAEMBED_VERSION}.js"


def write_vega_asset(folder) -> "os.PathLike":
    """Write the Vega runtime once into ``folder`` (atomically; kept if already there); returns its path."""


    path = Path(folder) / vega_asset_name()
    if not path.exists():
        atomic_write_text(path, vega_bundle())
    return path


def offline_loader_html(src: str | None = None) -> str:
    """One ``<script>`` block that makes every Altair chart after it render with no network.

    Altair's HTML output loads Vega from a CDN unless ``VEGA_DEBUG`` says the versions it needs
    are already there; this block provides the runtime and says so (``docs/architecture.md``, "Notebooks and
    reports"). With ``src`` (or the :data:`equity_helpers.settings.VEGA_SRC` variable a batch sets), the runtime
    is loaded from that relative path, a file written once per reports folder (:func:`write_vega_asset`), so each report
    stays small and still opens from disk with no network; otherwise it is inlined (a single file).
    """
    src = src if src is not None else settings.VEGA_SRC.get()
    versions = (f"{{vega_version: {alt.VEGA_VERSION!r}, vegalite_version: {alt.VEGALITE_VERSION!r}, "
                f"vegaembed_version: {alt.VEGAEMBED_VERSION!r}}}")
    runtime = (f"<script type=\"text/javascript\" src=\"{src}\"></script>" if src
               else f"<script type=\"text/javascript\">{vega_bundle()}</script>")
    return (runtime + f"<script type=\"text/javascript\">var VEGA_DEBUG = {versions};</script>"
            f"<style>{_EMBED_CSS}</style>")


# what Altair's HTML output repeats before every chart, on the page once instead
_EMBED_CSS = ".vega-embed{width:100%;display:flex}.vega-embed details,.vega-embed details summary{position:relative}"

RENDERER = "equity"
"""Altair renderer name of :func:`chart_html` (enabled by :func:`equity_helpers.pages.workbook.setup_notebook`)."""


def chart_html(spec: dict, embed_options: dict | None = None) -> str:
    """The HTML of one chart: an empty ``div`` and one call to ``vegaEmbed`` with the specification as
    compact JSON (with ``embed_options``; Vega-Lite mode).

    Altair's own HTML output wraps every chart in about 3 KB of loader code (CDN addresses, RequireJS, a
    style block) that pages with :func:`offline_loader_html` never use: a dozen charts on a page made a
    sixth of a report. This needs the runtime that block puts on the page; without it the chart says so
    instead of reaching for the network."""

    uid = f"eh-chart-{uuid.uuid4().hex[:16]}"
    opts = {"mode": "vega-lite", **(embed_options or {})}
    # "</" cannot end the script early
    code = json.dumps(spec, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    return (f'<div id="{uid}"></div><script type="text/javascript">(function(){{'
            f'var el=document.getElementById("{uid}");'
            'if(typeof vegaEmbed!=="function"){el.textContent="This chart needs the chart runtime of its page.";'
            'return;}'
            f'vegaEmbed(el,{code},{json.dumps(opts, separators=(",", ":"))}).catch(function(e){{'
            'el.textContent="This chart could not be drawn: "+e.message;});})();</script>')


def _render(spec: dict, **metadata) -> dict:
    return {"text/html": chart_html(spec, metadata.get("embed_options"))}


alt.renderers.register(RENDERER, _render)


# Okabe-Ito colour-blind safe palette
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999"]


GROUP_COLOURS: dict[str, str] = {
    "aian": PALETTE[0], "aian_aic": PALETTE[0], "asian": PALETTE[1], "black": PALETTE[2], "black_aic": PALETTE[2],
    "hispanic": PALETTE[3], "multiracial": PALETTE[4], "nhpi": PALETTE[5], "white": PALETTE[6],
    "all": PALETTE[7], "overall": PALETTE[7], "all_other": PALETTE[8], "unknown": PALETTE[8]}
"""One colour per group in every chart of every page (a group the table does not know takes the next
unused palette colour in its chart)."""


def group_colours(groups: list[str]) -> tuple[list[str], list[str]]:
    """The colour scale's domain (group labels) and range (:data:`GROUP_COLOURS`) for these group codes."""
    spare = iter([c for c in PALETTE if c not in {GROUP_COLOURS.get(g) for g in groups}])
    return [group_label(g) for g in groups], [GROUP_COLOURS.get(g) or next(spare, PALETTE[8]) for g in groups]


def group_scale(groups: list[str]) -> alt.Scale:
    """A fixed colour per group (:data:`GROUP_COLOURS`), the same across charts: the rates chart, which also
    shows all children, no longer shifts every colour after "all children" by one."""
    domain, colours = group_colours(groups)
    return alt.Scale(domain=domain, range=colours)


def stage_counts_chart(counts: pd.DataFrame, *, title: str) -> alt.Chart:
    """Children at each decision point by group (bars), with suppressed cells written as text.

    Parameters
    ----------
    counts : a :func:`~equity_helpers.privacy.suppression.shareable_counts` table for one jurisdiction and
        period: ``race_ethnicity``, ``stage``, ``count`` (missing where suppressed), ``suppressed``.
    title : says what the chart shows.
    """
    df = counts[counts["race_ethnicity"] != "all"].copy()
    df["group"] = df["race_ethnicity"].map(group_label)
    df["decision point"] = df["stage"].map(lambda s: STAGES[s].label if s in STAGES else s)
    df["children"] = df["count"].astype("Float64").astype(float)
    df["note"] = df["suppressed"].map({True: "suppressed", False: ""})
    order = [STAGES[s].label for s in STAGES if s in set(df["stage"])]
    groups = list(dict.fromkeys(df["race_ethnicity"]))
    base = alt.Chart().encode(
        y=alt.Y("group:N", title=None, sort=[group_label(g) for g in groups]),
        tooltip=[alt.Tooltip("decision point:N"), alt.Tooltip("group:N"),
                 alt.Tooltip("children:Q", format=","), alt.Tooltip("note:N")],
    )
    bars = base.mark_bar().encode(
        x=alt.X("children:Q", title="children"),
        color=alt.Color("group:N", scale=group_scale(groups), legend=None),
    )
    labels = base.mark_text(align="left", dx=3, fontSize=10).encode(
        x=alt.X("children:Q"), text=alt.Text("children:Q", format=","))
    supp = base.transform_filter(alt.datum.note == "suppressed").mark_text(
        align="left", fontStyle="italic", color="#555").encode(x=alt.value(2), text="note:N")
    return (alt.layer(bars, labels, supp, data=df)
            .properties(width=260, height=alt.Step(12))
            .facet(facet=alt.Facet("decision point:N", sort=order, title=None), columns=3)
            .resolve_scale(x="independent")
            .properties(title=alt.TitleParams(title, anchor="start")))


# --------------------------------------------------------------------------- measures charts
# Layers share one dataset given to ``alt.layer(..., data=)``, never to each layer's ``alt.Chart``: when every
# layer holds the same DataFrame, Altair 6 lifts it to the top and first hashes each layer through the
# DataFrame's text repr, about a tenth of a second per chart (a third of a batch run's chart time).
def _theme() -> dict:
    return {"config": {"font": "Helvetica, Arial, sans-serif", "title": {"fontSize": 15, "anchor": "start"},
                       "axis": {"labelFontSize": 12, "titleFontSize": 12},
                       "legend": {"labelFontSize": 12, "titleFontSize": 12}, "view": {"stroke": None}}}


alt.theme.register("equity_workbook", enable=True)(_theme)


CHART_FIELDS = ["jurisdiction", "period", "race_ethnicity", "stage", "group", "decision point", "count",
                "base_count", "per", "rate", "rate_low", "rate_high", "rri", "rri_low", "rri_high", "status"]
"""The only fields of a measures row that a chart carries (what it draws or shows on hover): never
method names, flags or anything else that could bound a hidden count."""


_STATUS = [("no_base", "no children in the base"), ("suppressed", "suppressed"),
           ("insufficient", "too few children for a ratio"), ("unstable", "unstable (20 or fewer children)")]
"""A row's status on a chart, first match wins (a suppressed row is never shown as 'no base')."""


def _prepare(m: pd.DataFrame) -> pd.DataFrame:
    """The rows a chart draws: :data:`CHART_FIELDS` only (labels instead of codes where drawn), counts as
    floats, the status in words, ratios and rates to four decimals. Built column by column from the few
    columns it needs, not by editing a copy of the whole measures table (a redraw prepares seven of these)."""

    m = m.copy(deep=False)
    m.attrs = {}  # pandas deep-copies a frame's attrs on every column it hands out
    flags = {c: m[c].to_numpy(dtype=bool) for c, _ in _STATUS if c in m.columns}
    if "no_base" in flags:
        flags["no_base"] = flags["no_base"] & ~flags["suppressed"]
    out: dict[str, object] = {}
    for c in CHART_FIELDS:
        if c == "group":
            out[c] = [group_label(g) for g in m["race_ethnicity"]]
        elif c == "decision point":
            out[c] = [STAGES[s].label if s in STAGES else s for s in m["stage"]]
        elif c == "status":
            out[c] = np.select([flags[f] for f, _ in _STATUS if f in flags],
                               [word for f, word in _STATUS if f in flags], "shown") if flags else "shown"
        elif c not in m.columns:
            continue
        elif c in ("count", "base_count"):
            out[c] = m[c].astype("Float64").astype(float).to_numpy()
        elif c in ("rate", "rate_low", "rate_high", "rri", "rri_low", "rri_high"):
            # four decimals are finer than any chart draws or any tooltip shows (rates to 1, ratios to 2),
            # and keep each embedded dataset small (a whole-chain page holds a dozen)
            out[c] = m[c].to_numpy(dtype=float).round(4)
        else:
            out[c] = m[c].to_numpy()
    return pd.DataFrame(out, index=m.index)


def _slim(df: pd.DataFrame, keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """The chart's data without the code columns it does not draw (group and decision-point labels are
    drawn instead): a whole-chain page embeds a dozen datasets, and each byte is in every report."""
    return df.drop(columns=[c for c in ("jurisdiction", "period", "race_ethnicity", "stage") if c not in keep],
                   errors="ignore")


# The four charts of a decision-point page are plain Vega-Lite specifications (:class:`Spec`), not Altair
# objects: an analyst's filter change redraws them, and building them through Altair (encodings parsed,
# copied and checked against the schema) took 0.3-0.7 s of every redraw; a dict takes a millisecond. Their
# output is what the Altair builders produced, and tests check every one against the Vega-Lite schema.
_TOOLTIP = [{"field": "group", "type": "nominal"}, {"field": "decision point", "type": "nominal"},
            {"field": "count", "format": ",", "title": "children", "type": "quantitative"},
            {"field": "base_count", "format": ",", "title": "base", "type": "quantitative"},
            {"field": "rate", "format": ".1f", "type": "quantitative"},
            {"field": "rri", "format": ".2f", "title": "relative rate", "type": "quantitative"},
            {"field": "rri_low", "format": ".2f", "type": "quantitative"},
            {"field": "rri_high", "format": ".2f", "type": "quantitative"},
            {"field": "status", "type": "nominal"}]
_PARITY = {"mark": {"type": "rule", "color": "#333", "strokeDash": [4, 3]},
           "encoding": {"x": {"field": "one", "type": "quantitative"}}}
_NOTE_MARK = {"type": "text", "align": "left", "dx": 4, "fontStyle": "italic", "color": "#444"}


class Spec:
    """A chart as a plain Vega-Lite specification: shown in Jupyter through the active Altair renderer
    (:func:`chart_html` on our pages), ``to_dict`` like an Altair chart (``validate=True`` checks it against
    the Vega-Lite schema and raises :class:`jsonschema.ValidationError`)."""

    def __init__(self, spec: dict):
        self.spec = spec

    @property
    def kind(self) -> str:
        """"facet" or "layer"."""
        return "facet" if "facet" in self.spec else "layer"

    def to_dict(self, validate: bool = False, **_) -> dict:
        if validate:
            # Altair: about a second to import, paid only when drawing
            from altair.utils.schemapi import validate_jsonschema

            # Altair: about a second to import, paid only when drawing
            from altair.vegalite.v6.schema.core import load_schema

            validate_jsonschema(self.spec, load_schema(), rootschema=load_schema())
        return copy.deepcopy(self.spec)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return alt.renderers.get()(self.spec)


def _values(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON values (missing as null), column by column in Python (a tenth of pandas' cost)."""
    cols = list(df.columns)

    def value(v):
        return None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v

    return [dict(zip(cols, map(value, row))) for row in zip(*(df[c].tolist() for c in cols))]


def _dataset(values: list[dict]) -> str:
    """Altair's name for inline data: a hash of the rows."""

    return "data-" + hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _spec(body: dict, *datasets: list[dict]) -> Spec:
    """A top-level specification: schema, theme, the inline datasets and ``body``."""
    return Spec({"$schema": alt.SCHEMA_URL, "config": _theme()["config"],
                 "datasets": {_dataset(v): v for v in datasets}, **body})


def _colour(groups: list[str], **extra) -> dict:
    domain, colours = group_colours(groups)
    return {"field": "group", **extra, "scale": {"domain": domain, "range": colours}, "type": "nominal"}


def _children(label: str) -> str:
    """"White children", but "all other children" and "children whose family had no meeting" (the reference's
    label may already name who it is about)."""
    return label if any(w in label.split() for w in ("children", "youth", "families")) else f"{label} children"


def _facet_order(df: pd.DataFrame) -> list[str]:
    return [STAGES[s].label if s in STAGES else s for s in dict.fromkeys(df["stage"])]


def rri_chart(m: pd.DataFrame, *, title: str, reference_label: str) -> Spec:
    """Relative rate index per group with its interval, against a line at 1 (parity).

    ``m``: :func:`~equity_helpers.metrics.rates.measures` rows for one jurisdiction, period and basis
    (one or more stages, shown as rows of small multiples). Unstable values are hollow points;
    suppressed or too-small values are written as text at the parity line instead of a point.
    """
    df = _prepare(m[~m["race_ethnicity"].isin(["all", "unknown"])])
    df["filled"] = df["status"] == "shown"
    df["note"] = df["status"].where(df["rri"].isna() & df["status"].isin(
        ["suppressed", "too few children for a ratio", "no children in the base"]), "")
    df["one"] = 1.0
    groups = list(dict.fromkeys(df["race_ethnicity"]))
    y = {"field": "group", "sort": [group_label(g) for g in groups], "title": None, "type": "nominal"}
    colour = _colour(groups, legend=None)
    values = _values(_slim(df))
    layers = [_PARITY, {
        "mark": {"type": "rule", "strokeWidth": 2},
        "encoding": {"color": colour, "tooltip": _TOOLTIP,
                     "x": {"field": "rri_low", "scale": {"type": "log"},
                           "title": f"relative rate index (1 = same rate as {_children(reference_label)})",
                           "type": "quantitative"}, "x2": {"field": "rri_high"}, "y": y},
        "transform": [{"filter": "isValid(datum.rri_low)"}]}, {
        "mark": {"type": "point", "size": 90},
        "encoding": {"color": colour, "fill": {"condition": {"test": "datum.filled", **colour}, "value": "white"},
                     "shape": {"field": "status", "title": "status", "type": "nominal"}, "tooltip": _TOOLTIP,
                     "x": {"field": "rri", "scale": {"type": "log"}, "type": "quantitative"}, "y": y},
        "transform": [{"filter": "isValid(datum.rri) && datum.rri > 0"}]}, {
        "mark": _NOTE_MARK,
        "encoding": {"text": {"field": "note", "type": "nominal"}, "tooltip": _TOOLTIP,
                     "x": {"field": "one", "type": "quantitative"}, "y": y},
        "transform": [{"filter": "datum.note != ''"}]}]
    inner = {"height": {"step": 22}, "width": 420, "layer": layers}
    data = {"data": {"name": _dataset(values)}, "title": title}
    if df["stage"].nunique() > 1:
        return _spec({**data, "facet": {"row": {"field": "decision point", "header": {
            "labelAlign": "left", "labelAngle": 0}, "sort": _facet_order(df), "title": None, "type": "nominal"}},
            "spec": inner}, values)
    return _spec({**data, **inner}, values)


def rate_chart(m: pd.DataFrame, *, title: str) -> Spec:
    """Rates per group with intervals (per 1,000 children or per 100 at the base), one panel per stage."""
    df = _prepare(m[m["race_ethnicity"] != "unknown"])
    groups = list(dict.fromkeys(df["race_ethnicity"]))
    df["note"] = df["status"].where(df["rate"].isna() & (df["status"] == "suppressed"), "")
    unit = "per 1,000 children" if (df["per"] == 1000).all() else "per 100 at the previous decision"
    y = {"field": "group", "sort": [group_label(g) for g in groups], "title": None, "type": "nominal"}
    values = _values(_slim(df))
    layers = [{
        "mark": {"type": "rule", "strokeWidth": 2},
        "encoding": {"color": _colour(groups, legend=None), "tooltip": _TOOLTIP,
                     "x": {"field": "rate_low", "title": f"rate {unit}", "type": "quantitative"},
                     "x2": {"field": "rate_high"}, "y": y}}, {
        "mark": {"type": "point", "filled": True, "size": 80},
        "encoding": {"color": {"field": "group", "legend": None, "type": "nominal"},
                     "shape": {"field": "status", "title": "status", "type": "nominal"}, "tooltip": _TOOLTIP,
                     "x": {"field": "rate", "type": "quantitative"}, "y": y}}, {
        "mark": {"type": "text", "align": "left", "fontStyle": "italic", "color": "#444"},
        "encoding": {"text": {"field": "note", "type": "nominal"}, "tooltip": _TOOLTIP, "x": {"value": 2}, "y": y},
        "transform": [{"filter": "datum.note != ''"}]}]
    inner = {"height": {"step": 20}, "width": 300, "layer": layers}
    data = {"data": {"name": _dataset(values)}, "title": title}
    if df["stage"].nunique() > 1:
        return _spec({**data, "columns": 2, "facet": {"field": "decision point", "sort": _facet_order(df),
                                                     "title": None, "type": "nominal"},
                      "resolve": {"scale": {"x": "independent"}}, "spec": inner}, values)
    return _spec({**data, **inner}, values)


def trend_chart(m: pd.DataFrame, *, title: str, reference_label: str) -> Spec:
    """Relative rate index by year for each group, with intervals, against the parity line."""
    df = _prepare(m[~m["race_ethnicity"].isin(["all", "unknown"])])
    groups = list(dict.fromkeys(df["race_ethnicity"]))
    df["year"] = df["period"].astype(str).str.replace("(pooled: each child counted once per year)", "", regex=False)
    values, parity = _values(_slim(df)), [{"one": 1.0}]
    data = {"name": _dataset(values)}
    x = {"field": "year", "sort": list(dict.fromkeys(df["year"])), "title": "fiscal years", "type": "ordinal"}
    tooltip = _TOOLTIP + [{"field": "year", "type": "ordinal"}]
    layers = [{
        "data": data, "mark": {"type": "rule", "opacity": 0.5},
        "encoding": {"color": _colour(groups), "tooltip": tooltip, "x": x,
                     "y": {"field": "rri_low", "type": "quantitative"}, "y2": {"field": "rri_high"}},
        "transform": [{"filter": "isValid(datum.rri_low) && datum.rri_low > 0"}]}, {
        "data": data, "mark": {"type": "line", "point": True},
        "encoding": {"color": _colour(groups, title="group"),
                     "strokeDash": {"field": "group", "legend": None, "type": "nominal"}, "tooltip": tooltip,
                     "x": x, "y": {"field": "rri", "scale": {"type": "log"},
                                   "title": f"relative rate vs {_children(reference_label)}",
                                   "type": "quantitative"}},
        "transform": [{"filter": "isValid(datum.rri) && datum.rri > 0"}]}, {
        "data": {"name": _dataset(parity)}, "mark": {"type": "rule", "color": "#333", "strokeDash": [4, 3]},
        "encoding": {"y": {"field": "one", "type": "quantitative"}}}]
    return _spec({"height": 260, "width": 480, "title": title, "layer": layers}, values, parity)


def county_chart(m: pd.DataFrame, *, title: str, reference_label: str) -> Spec:
    """One group's relative rate index in every jurisdiction, with intervals; suppressed ones written as text."""
    df = _prepare(m)
    df["note"] = df["status"].where(df["rri"].isna(), "")
    df["one"] = 1.0
    order = df.sort_values("rri", ascending=False)["jurisdiction"].tolist()
    values = _values(_slim(df, keep=("jurisdiction",)))
    y = {"field": "jurisdiction", "sort": order, "title": None, "type": "nominal"}
    tooltip = [{"field": "jurisdiction", "type": "nominal"}] + _TOOLTIP
    layers = [_PARITY, {
        "mark": {"type": "rule", "strokeWidth": 2, "color": PALETTE[0]},
        "encoding": {"tooltip": tooltip, "x": {"field": "rri_low", "scale": {"type": "log"},
                                               "title": f"relative rate vs {_children(reference_label)}",
                                               "type": "quantitative"},
                     "x2": {"field": "rri_high"}, "y": y},
        "transform": [{"filter": "isValid(datum.rri_low) && datum.rri_low > 0"}]}, {
        "mark": {"type": "point", "size": 80, "filled": True, "color": PALETTE[0]},
        "encoding": {"shape": {"field": "status", "title": "status", "type": "nominal"}, "tooltip": tooltip,
                     "x": {"field": "rri", "type": "quantitative"}, "y": y},
        "transform": [{"filter": "isValid(datum.rri) && datum.rri > 0"}]}, {
        "mark": _NOTE_MARK,
        "encoding": {"text": {"field": "note", "type": "nominal"}, "tooltip": tooltip,
                     "x": {"field": "one", "type": "quantitative"}, "y": y},
        "transform": [{"filter": "datum.note != ''"}]}]
    return _spec({"data": {"name": _dataset(values)}, "height": {"step": 20}, "width": 420, "title": title,
                  "layer": layers}, values)


def survival_chart(km: pd.DataFrame, *, title: str) -> alt.Chart:
    """Share of children still in care at the published months since entry, per group, with intervals.

    ``km``: ``race_ethnicity``, ``months``, ``in_care``, ``in_care_low``, ``in_care_high`` (from the
    release: only points whose counts are published).
    """
    df = km[km["race_ethnicity"] != "unknown"][["race_ethnicity", "months", "in_care", "in_care_low",
                                                 "in_care_high"]].copy()
    df["group"] = df["race_ethnicity"].map(group_label)
    groups = list(dict.fromkeys(df["race_ethnicity"]))
    scale = group_scale(groups)
    base = alt.Chart().encode(x=alt.X("months:Q", title="months since entering care"))
    band = base.mark_rule(opacity=0.5).encode(
        y=alt.Y("in_care_low:Q", title="share still in care", axis=alt.Axis(format="%")), y2="in_care_high:Q",
        color=alt.Color("group:N", scale=scale, title="group"))
    line = base.mark_line(point=True, interpolate="step-after").encode(
        y="in_care:Q", color=alt.Color("group:N", scale=scale, title="group"),
        strokeDash=alt.StrokeDash("group:N", legend=None),
        tooltip=[alt.Tooltip("group:N"), alt.Tooltip("months:Q", format=".0f"),
                 alt.Tooltip("in_care:Q", format=".0%", title="share still in care"),
                 alt.Tooltip("in_care_low:Q", format=".0%", title="95% CI from"),
                 alt.Tooltip("in_care_high:Q", format=".0%", title="95% CI to")])
    return alt.layer(band, line, data=df).properties(width=480, height=280, title=title)


def exits_chart(exits: pd.DataFrame, *, title: str) -> alt.Chart:
    """Share of each group's entry cohort that had left care, by exit type, at 12 and 24 months
    (Aalen-Johansen cumulative incidence; only shares whose counts are published)."""
    df = exits[exits["race_ethnicity"] != "unknown"][["race_ethnicity", "months", "exit_type", "share"]].copy()
    df["group"] = df["race_ethnicity"].map(group_label)
    df["by"] = df["months"].map(lambda m: f"by {int(m)} months")
    order = ["reunification", "relative or guardianship", "adoption", "aged out", "other exit"]
    types = [t for t in order if t in set(df["exit_type"])]
    colours = {"reunification": PALETTE[2], "relative or guardianship": PALETTE[4], "adoption": PALETTE[3],
               "aged out": PALETTE[5], "other exit": PALETTE[8]}
    df["order"] = df["exit_type"].map({t: i for i, t in enumerate(order)})
    df = df.drop(columns=["race_ethnicity", "months"])
    return alt.Chart(df).mark_bar().encode(
        y=alt.Y("group:N", title=None),
        x=alt.X("share:Q", stack="zero", title="share of children who entered care", axis=alt.Axis(format="%")),
        color=alt.Color("exit_type:N", sort=types, scale=alt.Scale(domain=types, range=[colours[t] for t in types]),
                        title="how children left care"),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("group:N"), alt.Tooltip("by:N"), alt.Tooltip("exit_type:N"),
                 alt.Tooltip("share:Q", format=".0%")],
    ).properties(width=320, height=alt.Step(18)).facet(column=alt.Column("by:N", title=None)).properties(title=title)


# --------------------------------------------------------------------------- the collaboration survey
def _scale_axis(low: int, high: int) -> alt.Scale:
    return alt.Scale(domain=[low, high], nice=False)


def survey_waves_chart(d: pd.DataFrame, *, title: str, low: int, high: int) -> alt.Chart:
    """Mean score of every domain for one group, one point per wave with its 95% interval.

    ``d``: ``domain label``, ``wave``, ``mean``, ``ci_low``, ``ci_high``, ``respondents`` (published
    rows only). Waves are told apart by colour and shape.
    """
    df = d[["domain label", "wave", "mean", "ci_low", "ci_high", "respondents"]].copy()
    for c in ("mean", "ci_low", "ci_high"):
        df[c] = df[c].astype(float).round(3)
    waves = list(dict.fromkeys(df["wave"]))
    order = list(dict.fromkeys(df["domain label"]))
    colour = alt.Color("wave:N", scale=alt.Scale(domain=waves, range=PALETTE[: len(waves)]), title="wave")
    base = alt.Chart().encode(
        y=alt.Y("domain label:N", sort=order, title=None, axis=alt.Axis(labelLimit=320)),
        yOffset=alt.YOffset("wave:N", sort=waves),
        tooltip=[alt.Tooltip("domain label:N", title="domain"), alt.Tooltip("wave:N"),
                 alt.Tooltip("mean:Q", format=".2f", title="mean score"),
                 alt.Tooltip("ci_low:Q", format=".2f", title="95% CI from"),
                 alt.Tooltip("ci_high:Q", format=".2f", title="95% CI to"),
                 alt.Tooltip("respondents:Q", title="respondents")])
    err = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("ci_low:Q", scale=_scale_axis(low, high), title=f"mean score ({low} = strongly disagree, "
                                                                 f"{high} = strongly agree)"),
        x2="ci_high:Q", color=colour)
    pts = base.mark_point(filled=True, size=70).encode(
        x="mean:Q", color=colour, shape=alt.Shape("wave:N", scale=alt.Scale(domain=waves), title="wave"))
    return alt.layer(err, pts, data=df).properties(width=420, height=alt.Step(14), title=title)


def survey_sectors_chart(d: pd.DataFrame, *, title: str, low: int, high: int) -> alt.Chart:
    """Mean score by wave for all partners and each sector, with 95% intervals, one panel per domain;
    a sector hidden in a wave is written as "hidden" (never drawn as a value).

    ``d``: ``domain label``, ``group``, ``wave``, ``mean``, ``ci_low``, ``ci_high`` (NaN where hidden), ``note``.
    """
    df = d[["domain label", "group", "wave", "mean", "ci_low", "ci_high", "note"]].copy()
    for c in ("mean", "ci_low", "ci_high"):
        df[c] = df[c].astype(float).round(3)
    groups = list(dict.fromkeys(df["group"]))
    waves = list(dict.fromkeys(df["wave"]))
    domains = list(dict.fromkeys(df["domain label"]))
    colour = alt.Color("group:N", scale=alt.Scale(domain=groups, range=PALETTE[: len(groups)]), title=None,
                       legend=alt.Legend(orient="bottom", columns=3, labelLimit=260))
    base = alt.Chart().encode(x=alt.X("wave:O", sort=waves, title="wave", axis=alt.Axis(labelAngle=0)),
                              xOffset=alt.XOffset("group:N", sort=groups))
    shown = base.transform_filter("isValid(datum.mean)")
    err = shown.mark_rule(strokeWidth=2).encode(
        y=alt.Y("ci_low:Q", scale=_scale_axis(low, high), title="mean score"), y2="ci_high:Q", color=colour)
    pts = shown.mark_point(filled=True, size=50).encode(
        y="mean:Q", color=colour, shape=alt.Shape("group:N", sort=groups, legend=None),
        tooltip=[alt.Tooltip("group:N"), alt.Tooltip("wave:N"), alt.Tooltip("mean:Q", format=".2f", title="mean score"),
                 alt.Tooltip("ci_low:Q", format=".2f", title="95% CI from"),
                 alt.Tooltip("ci_high:Q", format=".2f", title="95% CI to")])
    hidden = base.transform_filter("datum.note != ''").mark_text(
        angle=270, fontStyle="italic", color="#444", align="right", fontSize=9).encode(
        y=alt.value(4), text="note:N", tooltip=[alt.Tooltip("group:N"), alt.Tooltip("wave:N"), alt.Tooltip("note:N")])
    width = 420 if len(domains) == 1 else 220
    return (alt.layer(err, pts, hidden, data=df).properties(width=width, height=200)
            .facet(facet=alt.Facet("domain label:N", sort=domains, title=None,
                                   header=alt.Header(labelFontSize=11, labelLimit=330)), columns=1 if len(domains) == 1 else 3)
            .properties(title=alt.TitleParams(title, anchor="start")))


SURVEY_AGREEMENT = {"disagree": "#A6611A", "neutral": "#BDBDBD", "agree": "#018571"}
"""Diverging colours for disagreement and agreement (colour-blind safe brown / teal, grey between)."""


def survey_items_chart(items: pd.DataFrame, *, title: str) -> alt.Chart:
    """Diverging bars of item agreement: disagreeing to the left of 0, agreeing to the right, neutral
    split across 0; each bar is labelled with the share agreeing (so colour is not the only cue).

    ``items``: ``statement``, ``share_disagree``, ``share_neutral``, ``share_agree`` (published rows).
    """
    rows = []
    for _, r in items.iterrows():
        d, n, a = float(r["share_disagree"]), float(r["share_neutral"]), float(r["share_agree"])
        rows += [(r["statement"], "disagree", -d - n / 2, -n / 2, d),
                 (r["statement"], "neutral", -n / 2, n / 2, n),
                 (r["statement"], "agree", n / 2, n / 2 + a, a)]
    df = pd.DataFrame(rows, columns=["statement", "answer", "start", "end", "share"]).round(4)
    order = list(dict.fromkeys(items["statement"]))
    kinds = list(SURVEY_AGREEMENT)
    y = alt.Y("statement:N", sort=order, title=None, axis=alt.Axis(labelLimit=600))
    bars = alt.Chart(df).mark_bar().encode(
        y=y, x=alt.X("start:Q", title="share of those who answered (disagree left, agree right)",
                     axis=alt.Axis(format="%", labelExpr="format(abs(datum.value), '.0%')"),
                     scale=alt.Scale(domain=[-1, 1])), x2="end:Q",
        color=alt.Color("answer:N", sort=kinds, title=None,
                        scale=alt.Scale(domain=kinds, range=[SURVEY_AGREEMENT[k] for k in kinds])),
        tooltip=[alt.Tooltip("statement:N"), alt.Tooltip("answer:N"), alt.Tooltip("share:Q", format=".0%")])
    labels = alt.Chart(df).transform_filter(alt.datum.answer == "agree").mark_text(
        align="left", dx=3, fontSize=11).encode(y=y, x="end:Q", text=alt.Text("share:Q", format=".0%"))
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#333").encode(x="x:Q")
    return alt.layer(bars, labels, zero).properties(width=360, height=alt.Step(22), title=title)


# --------------------------------------------------------------------------- the facilitator's story (plain specs)


def _story_stage_names(rows: pd.DataFrame, cat: Catalogue) -> list[str]:
    """:func:`stage_name` of every row."""
    return [f"{cat.stage(s)} ({cat.years(int(a), int(b))})" if p else cat.stage(s)
            for s, a, b, p in zip(rows["stage"], rows["first_year"], rows["last_year"], rows["partial"])]


def story_chart_data(rows: pd.DataFrame, cat: Catalogue) -> pd.DataFrame:
    """Only what a chart draws or shows on hover, labelled in the catalogue's language (no codes, flags or
    anything else that could bound a hidden count)."""
    status = {"shown": cat.t("status_shown"), "unstable": cat.t("status_unstable"),
              "too_few": cat.t("status_too_few"), "hidden": cat.t("status_hidden")}
    out = pd.DataFrame({
        "group": rows["race_ethnicity"].map(cat.group_label),
        "stage": _story_stage_names(rows, cat),
        "children": rows["count"].astype("Float64").astype(float),
        "rate": rows["rate"].astype(float).round(2),
        "rate_low": rows["rate_low"].astype(float).round(2),
        "rate_high": rows["rate_high"].astype(float).round(2),
        "rri": rows["rri"].astype(float).round(3),
        "rri_low": rows["rri_low"].astype(float).round(3),
        "rri_high": rows["rri_high"].astype(float).round(3),
        "status": rows["status"].map(status),
        "filled": rows["status"] == "shown",
    })
    return out


_STORY_THEME = {"font": "Helvetica, Arial, sans-serif", "view": {"stroke": None},
          "title": {"fontSize": 20, "anchor": "start"},
          "axis": {"labelFontSize": 15, "titleFontSize": 16}, "legend": {"labelFontSize": 15}}


_STORY_LOG = {"type": "log", "domain": [0.1, 10], "clamp": True}


_STORY_VALID = {"filter": "isValid(datum.rri) && datum.rri > 0"}


def story_colour(cat: Catalogue, *, legend=None) -> dict:
    """One colour per group, the same in every chart and on every page, the analyst pages' too
    (:data:`GROUP_COLOURS`)."""
    codes = [g for g in cat.messages["group_labels"] if g not in ("all", "overall", "all_other")]
    _, colours = group_colours(codes)
    return {"field": "group", "type": "nominal", "scale": {"domain": [cat.group_label(g) for g in codes],
                                                          "range": colours}, "legend": legend}


def _story_tooltip(cat: Catalogue, *fields) -> list[dict]:
    names = {"group": ("nominal", "tooltip_group", None), "stage": ("nominal", "tooltip_stage", None),
             "rri": ("quantitative", "tooltip_ratio", ".2f"), "rri_low": ("quantitative", "tooltip_low", ".2f"),
             "rri_high": ("quantitative", "tooltip_high", ".2f"), "rate": ("quantitative", "tooltip_rate", ".1f"),
             "rate_low": ("quantitative", "tooltip_low", ".1f"), "rate_high": ("quantitative", "tooltip_high", ".1f"),
             "children": ("quantitative", "tooltip_children", ","), "status": ("nominal", "tooltip_status", None)}
    out = []
    for name in fields:
        kind, key, fmt = names[name]
        out.append({"field": name, "type": kind, "title": cat.t(key), **({"format": fmt} if fmt else {})})
    return out


def _story_spec(*, title: str, description: str, width: int, height_step: int, datasets: dict, layers: list) -> dict:
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "config": _STORY_THEME,
            "title": {"text": title, "fontSize": 20, "anchor": "start"}, "description": description,
            "width": width, "height": {"step": height_step}, "datasets": datasets, "layer": layers}


def chain_chart(rows: pd.DataFrame, cat: Catalogue, *, reference: str, title: str, description: str,
                height_step: int = 9) -> dict:
    """The whole chain as a Vega-Lite specification: one row per decision point, a dot per group (offset within
    the row) at its relative rate on a log axis, its 95% interval as a line, against a dashed line at 1. Hollow
    dots rest on 20 or fewer children; a decision point with nothing to show says "hidden".

    Written as a plain specification (validated against the Vega-Lite schema by tests/test_story.py) rather than
    built through Altair's objects: a redraw in front of a room builds it in microseconds, not a third of a
    second."""
    df = story_chart_data(rows[rows["race_ethnicity"] != reference], cat)
    groups = list(dict.fromkeys(df["group"]))
    order = list(dict.fromkeys(df["stage"]))
    colour = story_colour(cat, legend={"title": None, "orient": "bottom", "columns": 3, "symbolSize": 150,
                                  "labelLimit": 420, "values": groups})
    y = {"field": "stage", "type": "nominal", "sort": order, "scale": {"domain": order}, "title": None,
         "axis": {"labelFontSize": 16, "labelLimit": 480}}
    off = {"field": "group", "type": "nominal", "sort": groups}
    tip = _story_tooltip(cat, "group", "stage", "rri", "rri_low", "rri_high", "status")
    empty = df.groupby("stage", sort=False)["rri"].apply(lambda v: not (v > 0).any())
    notes = [{"stage": st, "x": 0.11, "note": cat.t("status_hidden")} for st in order if empty.get(st, False)]
    layers = [
        {"data": {"name": "chain"}, "transform": [{"filter": "isValid(datum.rri_low)"}],
         "mark": {"type": "rule", "strokeWidth": 2.5},
         "encoding": {"y": y, "yOffset": off, "color": colour, "tooltip": tip,
                      "x": {"field": "rri_low", "type": "quantitative", "scale": _STORY_LOG,
                            "title": cat.t("chain_axis", ref=cat.group(reference)),
                            "axis": {"values": [0.1, 0.2, 0.5, 1, 2, 5, 10]}},
                      "x2": {"field": "rri_high"}}},
        {"data": {"name": "chain"}, "transform": [_STORY_VALID], "mark": {"type": "point", "size": 120, "strokeWidth": 2},
         "encoding": {"y": y, "yOffset": off, "color": colour, "tooltip": tip,
                      "x": {"field": "rri", "type": "quantitative", "scale": _STORY_LOG},
                      "fill": {"condition": {"test": "datum.filled", **colour}, "value": "white"}}},
        {"data": {"values": [{"x": 1.0}]}, "mark": {"type": "rule", "color": "#222", "strokeDash": [5, 4],
                                                   "strokeWidth": 1.5},
         "encoding": {"x": {"field": "x", "type": "quantitative", "scale": _STORY_LOG}}},
        {"data": {"name": "notes"}, "mark": {"type": "text", "align": "left", "fontSize": 15, "fontStyle": "italic",
                                             "color": "#333"},
         "encoding": {"y": y, "x": {"field": "x", "type": "quantitative", "scale": _STORY_LOG},
                      "text": {"field": "note", "type": "nominal"}}},
    ]
    return _story_spec(title=title, description=description, width=560, height_step=height_step,
                 datasets={"chain": _values(df), "notes": notes}, layers=layers)


def stage_chart(rows: pd.DataFrame, cat: Catalogue, *, title: str, description: str) -> dict:
    """One decision point as a Vega-Lite specification: each group's rate (per 1,000 children or per 100 at the
    previous step) as a bar with its 95% interval; a hidden rate is written "hidden" at the axis instead."""
    df = story_chart_data(rows, cat)
    groups = list(dict.fromkeys(df["group"]))
    df["note"] = np.where(df["rate"].isna(), df["status"], "")
    unit = cat.t("axis_rate_population" if rows["basis"].iloc[0] == "population" else "axis_rate_decision")
    y = {"field": "group", "type": "nominal", "sort": groups, "title": None,
         "axis": {"labelFontSize": 16, "labelLimit": 360}}
    tip = _story_tooltip(cat, "group", "rate", "rate_low", "rate_high", "children", "status")
    layers = [
        {"transform": [{"filter": "isValid(datum.rate)"}], "mark": {"type": "bar", "height": 18},
         "encoding": {"y": y, "tooltip": tip, "color": story_colour(cat),
                      "x": {"field": "rate", "type": "quantitative", "title": unit},
                      "opacity": {"condition": {"test": "datum.filled", "value": 0.9}, "value": 0.45}}},
        {"transform": [{"filter": "isValid(datum.rate_low)"}], "mark": {"type": "rule", "strokeWidth": 2,
                                                                        "color": "#222"},
         "encoding": {"y": y, "tooltip": tip, "x": {"field": "rate_low", "type": "quantitative"},
                      "x2": {"field": "rate_high"}}},
        {"transform": [{"filter": "datum.note != ''"}], "mark": {"type": "text", "align": "left", "dx": 3,
                                                                 "fontSize": 15, "fontStyle": "italic",
                                                                 "color": "#333"},
         "encoding": {"y": y, "x": {"value": 0}, "text": {"field": "note", "type": "nominal"}}},
    ]
    spec = _story_spec(title=title, description=description, width=560, height_step=30,
                 datasets={"rates": _values(df)}, layers=layers)
    spec["data"] = {"name": "rates"}
    return spec


def shares_chart(shares: pd.DataFrame, *, title: str, x_title: str):
    """Share of each level by group (points; hidden shares are left out and the table says so)."""
    import altair as alt  # Altair: about a second to import, paid only when drawing

    d = shares.dropna(subset=["share"])
    d = d[d["race_ethnicity"] != "unknown"]
    d = pd.DataFrame({"group": [group_label(g) for g in d["race_ethnicity"]], "timing": d["label"].to_numpy(),
                      "share": d["share"].astype(float).round(4).to_numpy(),
                      "children": d["count"].astype(float).to_numpy()})
    return alt.Chart(d).mark_point(filled=True, size=90).encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title=x_title),
        y=alt.Y("group:N", title=None),
        color=alt.Color("timing:N", title=None, legend=alt.Legend(orient="bottom", columns=2)),
        shape=alt.Shape("timing:N", title=None),
        tooltip=["group:N", "timing:N", alt.Tooltip("share:Q", format=".0%"), alt.Tooltip("children:Q", format=",")],
    ).properties(width=420, title=title)
