"""The *Collaboration over time* page: what one wave, group and domain of the survey show.

Everything is read from a protected :class:`~equity_helpers.survey.SurveyRelease` (a hidden group
is never drawn, counted or described), so the notebook, its widget panel and the batch report show
the same sentences, charts and table.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ParameterError
from .survey import ALL_PARTNERS, LEVELS, SurveyRelease

__all__ = ["SurveyView", "survey_view", "survey_table", "open_survey", "start_survey", "show_survey", "describe_survey",
           "HIDDEN_NOTE"]

HIDDEN_NOTE = "hidden"
"""How a hidden group is written in charts and tables (never as a number)."""


def open_survey(data_dir: str | Path | None = None, *, mapping: str | Path | None = None,
                responses: str | Path | None = None, instrument: str | Path | None = None) -> SurveyRelease | None:
    """Find, validate, score and protect the survey of a data folder or mapping (None when there is none).

    ``responses`` and ``instrument`` name the files directly; otherwise :func:`~equity_helpers.survey.find_survey`
    looks for them.
    """
    from .survey import build_survey_release, find_survey, load_responses

    if responses is None or instrument is None:
        found = find_survey(data_dir, mapping=mapping)
        if found is None:
            return None
        responses, instrument = responses or found[0], instrument or found[1]
    return build_survey_release(load_responses(responses, instrument))


@dataclass
class SurveyView:
    """One wave, group and domain (None: every domain) of the survey, with a baseline wave for change."""

    release: SurveyRelease
    wave: str
    group: str
    domain: str | None
    baseline: str
    sentences: list[str]

    def _label(self, domain_id: str) -> str:
        return self.release.instrument.domain_label(domain_id)

    def table(self) -> pd.DataFrame:
        return survey_table(self.release, wave=self.wave, group=self.group, baseline=self.baseline)

    def charts(self) -> list:
        from . import charts

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
        from IPython.display import HTML, Markdown, display

        display(Markdown("\n".join(f"- {s}" for s in self.sentences)))
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
    from .narrative import survey_sentences

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
                      sentences=survey_sentences(release, wave=wave, group=group, baseline=baseline))


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
    from .workbook import setup_notebook

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
    from IPython.display import display

    if mode == "interactive":
        from .widgets import SurveyPanel

        panel = SurveyPanel(rel, wave=wave, baseline=baseline, group=group, domain=domain)
        display(panel.panel)
        return panel
    view = survey_view(rel, wave=wave, group=group or ALL_PARTNERS, domain=domain, baseline=baseline)
    view.show()
    return view
