"""The *Collaboration over time* page: what one wave, group and domain of the survey show.

Everything is read from a protected :class:`~equity_helpers.survey.release.SurveyRelease` (a hidden group
is never drawn, counted or described), so the notebook, its filter panel (:class:`SurveyPanel`) and the
batch report show the same sentences (:func:`survey_sentences`), charts and table.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from equity_helpers.errors import ParameterError
from equity_helpers.pages.workbook import setup_notebook
from equity_helpers.schema import sentence_start
from equity_helpers.survey.release import MIN_RESPONDENTS, SurveyRelease, build_survey_release
from equity_helpers.survey.responses import ALL_PARTNERS, LEVELS, find_survey, load_responses

__all__ = ["SurveyView", "survey_view", "survey_table", "open_survey", "start_survey", "show_survey", "describe_survey",
           "HIDDEN_NOTE", "SurveyPanel", "survey_sentences", "SURVEY_TEMPLATES", "ALPHA_CUT"]

HIDDEN_NOTE = "hidden"
"""How a hidden group is written in charts and tables (never as a number)."""


def open_survey(data_dir: str | Path | None = None, *, mapping: str | Path | None = None,
                responses: str | Path | None = None, instrument: str | Path | None = None) -> SurveyRelease | None:
    """Find, validate, score and protect the survey of a data folder or mapping (None when there is none).

    ``responses`` and ``instrument`` name the files directly; otherwise
    :func:`~equity_helpers.survey.responses.find_survey` looks for them.
    """
    if responses is None or instrument is None:
        found = find_survey(data_dir, mapping=mapping)
        if found is None:
            return None
        responses, instrument = responses or found[0], instrument or found[1]
    return build_survey_release(load_responses(responses, instrument))


@dataclass
class SurveyView:
    """One wave, group and domain (None: every domain) of the survey, with a baseline wave for change.

    ``lead`` names the wave once, above the sentences ("In 2026:"); the sentences name only the baseline wave
    they compare with."""

    release: SurveyRelease
    wave: str
    group: str
    domain: str | None
    baseline: str
    sentences: list[str]
    lead: str = ""

    def _label(self, domain_id: str) -> str:
        return self.release.instrument.domain_label(domain_id)

    def table(self) -> pd.DataFrame:
        return survey_table(self.release, wave=self.wave, group=self.group, baseline=self.baseline)

    def charts(self) -> list:
        from equity_helpers.pages import charts  # Altair takes about a second to import; only drawing pays it

        rel, inst = self.release, self.release.instrument
        out = []
        d = rel.domains[(rel.domains["group"] == self.group) & ~rel.domains["hidden"]].copy()
        if not d.empty:
            d["domain label"] = d["domain"].map(self._label)
            d["respondents"] = d["n"]
            out.append(charts.survey_waves_chart(self._in_order(d), low=inst.low, high=inst.high,
                                                 title=f"Domain scores by wave, {self._who()}"))
        doms = [self.domain] if self.domain else [x.id for x in inst.domains]
        s = rel.domains[rel.domains["level"].isin(["all", "sector"]) & rel.domains["domain"].isin(doms)].copy()
        if not s.empty:
            s["domain label"] = s["domain"].map(self._label)
            s["note"] = s["hidden"].map({True: HIDDEN_NOTE, False: ""})
            what = self._label(self.domain) if self.domain else "every domain"
            out.append(charts.survey_sectors_chart(self._in_order(s), low=inst.low, high=inst.high,
                                                   title=f"By sector and wave: {what}"))
        it = rel.items[(rel.items["wave"] == self.wave) & (rel.items["group"] == self.group) & ~rel.items["hidden"]
                       & (rel.items["domain"].isin(doms))].copy()
        if not it.empty:
            text = inst.items.set_index("item")
            it["statement"] = it["item"].map(text["text"])
            it = it.assign(order=it["item"].map(text["order"])).sort_values("order")
            what = self._label(self.domain) if self.domain else "every statement"
            out.append(charts.survey_items_chart(it, title=f"Agreement with each statement, {self._who()}, "
                                                           f"{self.wave}: {what}"))
        return out

    def _in_order(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows in the instrument's domain order, all partners before sectors, waves in the survey's order
        (the charts draw domains, groups and waves in the order of their rows)."""
        keys = {"domain": {x.id: i for i, x in enumerate(self.release.instrument.domains)},
                "level": {lev: i for i, lev in enumerate(LEVELS)},
                "wave": {w: i for i, w in enumerate(self.release.waves)}}
        return df.sort_values(["domain", "level", "wave"], key=lambda c: c.map(keys[c.name]), kind="stable")

    def _who(self) -> str:
        return "all partners" if self.group == ALL_PARTNERS else self.group

    def show(self) -> None:
        """Display the sentences, charts and table (batch mode, and inside the widget panel)."""
        from IPython.display import HTML, Markdown, display  # IPython is imported only when something is shown

        display(Markdown(f"{self.lead}\n\n" + "\n".join(f"- {s}" for s in self.sentences)))
        for ch in self.charts():
            display(ch)
        display(HTML(self.table().to_html(index=False, classes="eh-table")))
        display(Markdown(self.release.describe_protection()))


def survey_view(release: SurveyRelease, *, wave: str | None = None, group: str = ALL_PARTNERS,
                domain: str | None = None, baseline: str | None = None) -> SurveyView:
    """The page for one wave (default: the latest), group, domain (None: all) and baseline (default: the first wave).

    Raises
    ------
    ParameterError
        For a wave, group or domain the survey does not have (the message lists the valid ones).
    """
    waves = release.waves
    wave = wave or waves[-1]
    baseline = baseline or waves[0]
    for name, value in (("wave", wave), ("baseline wave", baseline)):
        if value not in waves:
            raise ParameterError(f"The survey has no {name} {value!r}; its waves are {', '.join(waves)}.")
    options = release.group_options()
    if group not in set(release.groups["group"]):
        raise ParameterError(f"No respondents belong to {group!r}; choose one of: {', '.join(options)}.")
    if domain is not None:
        release.instrument.domain(domain)  # raises ParameterError for an unknown domain
    return SurveyView(release=release, wave=wave, group=group, domain=domain, baseline=baseline,
                      sentences=survey_sentences(release, wave=wave, group=group, baseline=baseline),
                      lead=SURVEY_TEMPLATES["lead"].format(wave=wave))


def _interval(v, lo, hi, fmt: str) -> str:
    if pd.isna(v):
        return HIDDEN_NOTE
    if pd.isna(lo):
        return format(v, fmt)
    return f"{format(v, fmt)} ({format(lo, fmt)} to {format(hi, fmt)})"


def survey_table(release: SurveyRelease, *, wave: str, group: str, baseline: str) -> pd.DataFrame:
    """One row per domain for a wave and group: score with its interval, respondents, change since the
    baseline wave with its interval, and Cronbach's alpha; "hidden" where the number is protected."""
    inst = release.instrument
    key = ["domain"]
    d = release.domains[(release.domains["wave"] == wave) & (release.domains["group"] == group)].set_index(key)
    c = release.changes[(release.changes["from_wave"] == baseline) & (release.changes["to_wave"] == wave)
                        & (release.changes["group"] == group)].set_index(key)
    a = release.alpha[(release.alpha["wave"] == wave) & (release.alpha["group"] == group)].set_index(key)
    rows = []
    for dom in inst.domains:
        r = d.loc[dom.id] if dom.id in d.index else None
        row = {"domain": dom.label,
               f"mean score ({inst.low}-{inst.high}, 95% CI)":
                   HIDDEN_NOTE if r is None else _interval(r["mean"], r["ci_low"], r["ci_high"], ".2f"),
               "respondents": HIDDEN_NOTE if r is None or pd.isna(r["n"]) else f"{int(r['n']):,}"}
        if baseline != wave:
            ch = c.loc[dom.id] if dom.id in c.index else None
            row[f"change since {baseline} (95% CI)"] = (
                HIDDEN_NOTE if ch is None else _interval(ch["change"], ch["ci_low"], ch["ci_high"], "+.2f"))
        if dom.id in a.index:
            al = a.loc[dom.id]
            row["Cronbach's alpha (95% CI)"] = _interval(al["alpha"], al["alpha_low"], al["alpha_high"], ".2f")
        rows.append(row)
    return pd.DataFrame(rows)


def start_survey(*, data_dir=None, mapping=None, responses=None, instrument=None, mode: str = "interactive"
                 ) -> SurveyRelease:
    """What the survey notebook does after its parameters cell: set up the notebook, then find,
    validate, score and protect the survey.

    Raises
    ------
    ParameterError
        When no survey is found (the message says where the workbook looked and what to add).
    """
    setup_notebook(mode)
    rel = open_survey(data_dir, mapping=mapping, responses=responses, instrument=instrument)
    if rel is None:
        where = mapping if mapping is not None else data_dir
        raise ParameterError(
            f"No collaboration survey was found in {Path(str(where)).name or where}: add survey_responses.csv and "
            f"survey_instrument.yml to the data folder, or name them in mapping.yml under survey: (responses:, "
            f"instrument:).")
    return rel


def describe_survey(rel: SurveyRelease) -> str:
    """The instrument, its waves and who answered, in two sentences (the page's opening)."""
    inst = rel.instrument
    g = rel.groups[rel.groups["level"] == "all"].set_index("wave")["respondents"]
    per_wave = ", ".join(f"{w}: {int(g[w]):,}" for w in rel.waves if w in g.index and g[w] == g[w])
    note = f" {inst.note}" if inst.note else ""
    return (f"**{inst.name}**: {len(inst.domains)} domains, {len(inst.items)} statements answered on a scale from "
            f"{inst.scale_text()}.{note}\n\nWaves and respondents: {per_wave}.")


def show_survey(rel: SurveyRelease, *, mode: str, wave: str | None = None, group: str | None = None,
                domain: str | None = None, baseline: str | None = None):
    """The filter panel in interactive mode, the rendered view in batch mode (returns the panel or view)."""
    from IPython.display import display  # IPython is imported only when something is shown

    if mode == "interactive":
        panel = SurveyPanel(rel, wave=wave, baseline=baseline, group=group, domain=domain)
        display(panel.panel)
        return panel
    view = survey_view(rel, wave=wave, group=group or ALL_PARTNERS, domain=domain, baseline=baseline)
    view.show()
    return view


# --------------------------------------------------------------------------- the sentences
SURVEY_TEMPLATES: dict[str, str] = {
    "lead": "In {wave}:",
    "respondents": "{n} people answered the survey for {group}{sectors}.",
    "group_hidden": "{group} had too few respondents to show (or showing them would reveal a group that small), to "
                    "protect the privacy of the people who answered.",
    "range": "{group} rated {high} highest ({high_score} on the {scale} scale) and {low} lowest ({low_score}).",
    "change": "{domain} {verb} from {before} in {w0} to {after} (change {change}, 95% CI {lo} to {hi}).",
    "no_change": "The other domains changed since {w0} by amounts that chance alone could explain.",
    "no_change_all": "Since {w0}, no domain changed by more than chance alone could explain.",
    "sector_gap": "Sectors saw {domain} most differently: {high} {high_score} and {low} {low_score}.",
    "alpha_low": "Read {domains} with care. {its} items hold together less well than the others' (Cronbach's alpha "
                 "below {cut} across all partners). {they} may measure more than one thing.",
    "hidden_groups": "{n} of the {total} groups (sectors and organisations) are not shown. They are groups with "
                     "fewer than {min} respondents, and others hidden so that those cannot be worked out.",
}
"""Sentences about the collaboration survey (neutral: what changed and how certain, never a verdict)."""
ALPHA_CUT = 0.7
"""Cronbach's alpha below this is called "holding together less well" (Nunnally's conventional 0.70)."""


def _score(x: float) -> str:
    return f"{x:.1f}"


def _signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "\u2212")


def survey_sentences(rel, *, wave: str, group: str, baseline: str | None = None) -> list[str]:
    """Plain-language sentences for one wave and group of a :class:`~equity_helpers.survey.release.SurveyRelease`.

    Says how many answered (or that the group is hidden), the highest and lowest rated domains, the
    domains whose change since ``baseline`` (default: the first wave) is larger than chance (95%
    interval excluding 0) and that the others' is not, the domain on which sectors differ most (for
    all partners), domains whose items do not hold together (alpha below :data:`ALPHA_CUT`), and how
    many groups are hidden. None names ``wave`` (the page's lead line does, :class:`SurveyView`); a change
    names the baseline wave it starts from.
    """
    inst = rel.instrument
    label = {d.id: d.label for d in inst.domains}
    scale = f"{inst.low}-{inst.high}"
    out = []
    g = rel.groups[(rel.groups["wave"] == wave) & (rel.groups["group"] == group)]
    name = "all partners together" if group == ALL_PARTNERS else group
    if g.empty or g["hidden"].iloc[0]:
        return [sentence_start(SURVEY_TEMPLATES["group_hidden"].format(group=name))]
    sectors = ""
    if group == ALL_PARTNERS:
        k = int(((rel.groups["wave"] == wave) & (rel.groups["level"] == "sector")).sum())
        sectors = f", from {k} sector{'' if k == 1 else 's'}"
    out.append(SURVEY_TEMPLATES["respondents"].format(n=f"{int(g['respondents'].iloc[0]):,}", group=name,
                                                      sectors=sectors))
    d = rel.domains[(rel.domains["wave"] == wave) & (rel.domains["group"] == group) & ~rel.domains["hidden"]]
    if len(d) >= 2:
        hi, lo = d.loc[d["mean"].idxmax()], d.loc[d["mean"].idxmin()]
        out.append(SURVEY_TEMPLATES["range"].format(group=name, high=label[hi["domain"]].lower(), scale=scale,
                                                    high_score=_score(hi["mean"]), low=label[lo["domain"]].lower(),
                                                    low_score=_score(lo["mean"])))
    w0 = baseline or rel.waves[0]
    if w0 != wave:
        c = rel.changes[(rel.changes["from_wave"] == w0) & (rel.changes["to_wave"] == wave)
                        & (rel.changes["group"] == group) & ~rel.changes["hidden"]]
        clear = c[(c["ci_low"] > 0) | (c["ci_high"] < 0)].sort_values("change", key=abs, ascending=False)
        for _, r in clear.iterrows():
            out.append(SURVEY_TEMPLATES["change"].format(
                domain=label[r["domain"]], verb="rose" if r["change"] > 0 else "fell", before=_score(r["mean_from"]),
                after=_score(r["mean_to"]), w0=w0, change=_signed(r["change"]), lo=_signed(r["ci_low"]),
                hi=_signed(r["ci_high"])))
        if len(c) > len(clear):
            out.append(SURVEY_TEMPLATES["no_change" if len(clear) else "no_change_all"].format(w0=w0))
    if group == ALL_PARTNERS:
        s = rel.domains[(rel.domains["wave"] == wave) & (rel.domains["level"] == "sector") & ~rel.domains["hidden"]]
        if s["group"].nunique() >= 2:
            spread = s.groupby("domain")["mean"].agg(lambda x: x.max() - x.min())
            dom = spread.idxmax()
            sd = s[s["domain"] == dom]
            hi, lo = sd.loc[sd["mean"].idxmax()], sd.loc[sd["mean"].idxmin()]
            out.append(SURVEY_TEMPLATES["sector_gap"].format(domain=label[dom].lower(), high=hi["group"],
                                                             high_score=_score(hi["mean"]), low=lo["group"],
                                                             low_score=_score(lo["mean"])))
    # whether a domain's items hold together is a property of the instrument: judged on all partners
    a = rel.alpha[(rel.alpha["wave"] == wave) & (rel.alpha["level"] == "all") & ~rel.alpha["hidden"]]
    weak = [label[x].lower() for x in a.loc[a["alpha"] < ALPHA_CUT, "domain"]]
    if weak:
        names = ", ".join(weak[:-1]) + (" and " if len(weak) > 1 else "") + weak[-1]
        out.append(SURVEY_TEMPLATES["alpha_low"].format(domains=names, cut=f"{ALPHA_CUT:.2f}",
                                                        its="Its" if len(weak) == 1 else "Their",
                                                        they="It" if len(weak) == 1 else "They"))
    gw = rel.groups[(rel.groups["wave"] == wave) & (rel.groups["level"] != "all")]
    if gw["hidden"].any():
        out.append(SURVEY_TEMPLATES["hidden_groups"].format(n=int(gw["hidden"].sum()), total=len(gw),
                                                            min=MIN_RESPONDENTS))
    return [sentence_start(s) for s in out]


# --------------------------------------------------------------------------- the filter panel
class SurveyPanel:
    """Filters of the *Collaboration over time* page (wave, compared with, group, domain) that redraw
    :func:`survey_view`.

    Attributes
    ----------
    panel : the widget to display (filters above, output below).
    view : the :class:`SurveyView` drawn for the current filters.
    """

    def __init__(self, release, *, wave: str | None = None, baseline: str | None = None, group: str | None = None,
                 domain: str | None = None):
        import ipywidgets as W  # imported only when a panel is made: the package import does not pay it

        self.release = release
        waves = release.waves
        style = {"description_width": "initial"}
        layout = W.Layout(width="auto")
        self.wave = W.Dropdown(options=waves, value=wave or waves[-1], description="Wave", style=style)
        self.baseline = W.Dropdown(options=waves, value=baseline or waves[0], description="Change since",
                                   style=style)
        self.group = W.Dropdown(options=release.group_options(), value=group or ALL_PARTNERS, description="Who answered",
                                style=style, layout=layout)
        # "" stands for every domain: a dropdown whose value is None shows no selection at all
        self.domain = W.Dropdown(options=[("every domain", "")] + [(d.label, d.id) for d in release.instrument.domains],
                                 value=domain or "", description="Domain", style=style, layout=layout)
        self.output = W.Output()
        for w in (self.wave, self.baseline, self.group, self.domain):
            w.observe(lambda _change: self.redraw(), names="value")
        self.panel = W.VBox([W.HBox([self.wave, self.baseline]), W.HBox([self.group, self.domain]), self.output])
        self.view: Any = None
        self.redraw()

    def redraw(self) -> None:
        """Recompute the view for the current filters and show it in the output area."""
        self.output.clear_output(wait=True)
        with self.output:
            self.view = survey_view(self.release, wave=self.wave.value, group=self.group.value,
                                    domain=self.domain.value or None, baseline=self.baseline.value)
            self.view.show()

    def _ipython_display_(self) -> None:
        from IPython.display import display  # IPython is imported only when something is shown

        display(self.panel)
