"""The survey's protected release: every publishable number, with disclosure decided on all of them at once.

No group of fewer than :data:`MIN_RESPONDENTS` respondents is shown. The counts behind every published
number (respondents per wave and group; respondents with a score per domain; respondents answering
each item) form one table of cells, related by the totals a reader can add up (organisations within
a sector, sectors within all partners, in every wave) and by "answered an item <= responded"
(:func:`survey_relations`). The same disclosure engine as the release table
(:func:`equity_helpers.privacy.disclosure.protect`) hides the small counts and then more cells until,
from everything published, no hidden count can be narrowed to fewer than ``width + 1`` values; a
group's scores, agreement shares and alpha are shown only where their count is shown, and a change
between waves only where both waves are.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from equity_helpers.data.checks import accounting_summary
from equity_helpers.privacy import disclosure
from equity_helpers.privacy.disclosure import Protection
from equity_helpers.survey.instrument import Instrument
from equity_helpers.survey.responses import ALL_PARTNERS, SurveyData, answers_read
from equity_helpers.survey.scores import (
    _ALL,
    _SECTOR_TOTAL,
    GROUP_KEYS,
    MIN_ALPHA_RESPONDENTS,
    _with_groups,
    cronbach_alpha,
    domain_scores,
    group_domain_scores,
    item_agreement,
    wave_changes,
)

__all__ = ["SurveyRelease", "build_survey_release", "describe_survey_protection", "survey_relations",
           "MIN_RESPONDENTS", "SURVEY_PROTECTION"]

MIN_RESPONDENTS = 5
"""No group of fewer respondents is shown (``docs/architecture.md``, "Small numbers and privacy")."""
SURVEY_PROTECTION = Protection(min_count=1, max_count=MIN_RESPONDENTS - 1, width=3)
"""Counts of 1-4 respondents are hidden, and a hidden count keeps at least four possible values."""


@dataclass
class SurveyRelease:
    """Every publishable survey number, with disclosure decided on all of them together.

    Attributes
    ----------
    instrument, waves : as in :class:`~equity_helpers.survey.responses.SurveyData`.
    groups : respondents per wave and group (``level``, ``group``, ``sector``, ``respondents``,
        ``hidden``); a hidden group's count is NaN.
    domains : :func:`~equity_helpers.survey.scores.group_domain_scores` with ``hidden`` (statistics NaN where
        hidden).
    items : :func:`~equity_helpers.survey.scores.item_agreement` with ``hidden``.
    alpha : :func:`~equity_helpers.survey.scores.cronbach_alpha` with ``hidden``, across all partners only (a
        sector's would reveal how many of a hidden sector's respondents answered every item).
    changes : :func:`~equity_helpers.survey.scores.wave_changes` with ``hidden`` (shown only where both waves'
        scores are).
    cells, audit : the disclosure table (counts, hidden, reason) and the audit of every hidden cell.
    protection : the rule applied.
    accounting, quality : from the validated responses (rows read, used, excluded by reason).
    """

    instrument: Instrument
    waves: list[str]
    groups: pd.DataFrame
    domains: pd.DataFrame
    items: pd.DataFrame
    alpha: pd.DataFrame
    changes: pd.DataFrame
    cells: pd.DataFrame
    audit: pd.DataFrame
    protection: Protection
    accounting: pd.DataFrame
    quality: pd.DataFrame

    @property
    def sectors(self) -> list[str]:
        """Sector groups in the data, as labels, in the instrument's order."""
        present = set(self.groups.loc[self.groups["level"] == "sector", "group"])
        return [lab for lab in self.instrument.sectors.values() if lab in present]

    def group_options(self) -> list[str]:
        """All partners, then sectors, then organisations with at least one published number."""
        orgs = self.groups[(self.groups["level"] == "organisation") & ~self.groups["hidden"]]
        return [ALL_PARTNERS, *self.sectors, *sorted(orgs["group"].unique())]

    def accounting_summary(self) -> pd.DataFrame:
        """Answers read, used and excluded (from the validated responses)."""

        return accounting_summary(self.accounting)

    def published(self) -> pd.DataFrame:
        """Every published survey number as one tidy table (what ``equity-workbook survey`` writes).

        Columns: ``measure`` (respondents, domain_score, item_agreement, cronbach_alpha, change),
        ``wave`` (for a change: the later wave), ``from_wave`` (changes only), ``level`` (all, sector,
        organisation), ``group``, ``sector``, ``domain``, ``item``, ``n`` (respondents behind the number;
        for a change, of the later wave), ``estimate`` (mean score, share agreeing, alpha or change),
        ``ci_low``, ``ci_high`` (95%), ``p_value`` (changes), ``share_disagree``, ``share_neutral``
        (items), ``hidden``. Hidden numbers are empty.
        """
        g, d, i, a, c = self.groups, self.domains, self.items, self.alpha, self.changes
        parts = [
            g.assign(measure="respondents", n=g["respondents"]),
            d.assign(measure="domain_score", estimate=d["mean"]),
            i.assign(measure="item_agreement", estimate=i["share_agree"], ci_low=i["agree_low"], ci_high=i["agree_high"]),
            a.assign(measure="cronbach_alpha", estimate=a["alpha"], ci_low=a["alpha_low"], ci_high=a["alpha_high"]),
            c.assign(measure="change", wave=c["to_wave"], n=c["n_to"], estimate=c["change"]),
        ]
        cols = ["measure", "wave", "from_wave", "level", "group", "sector", "domain", "item", "n", "estimate",
                "ci_low", "ci_high", "p_value", "share_disagree", "share_neutral", "hidden"]
        out = pd.concat([p.reindex(columns=cols) for p in parts], ignore_index=True)
        for col in ("estimate", "ci_low", "ci_high", "p_value", "share_disagree", "share_neutral"):
            out[col] = out[col].astype(float).round(4)
        out["n"] = out["n"].astype("Int64")
        return out

    def write(self, path: str | Path) -> Path:
        """Write :meth:`published` as CSV (or Parquet for a ``.parquet`` name); returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        table = self.published()
        if p.suffix == ".parquet":
            table.to_parquet(p, index=False)
        else:
            table.to_csv(p, index=False)
        return p

    def describe_protection(self) -> str:
        return describe_survey_protection(self.protection)

    def describe_answers(self) -> str:
        """Answers read, used and left out, and every problem found, as Markdown (the page's data check)."""
        lines = [f"{answers_read(self.accounting)}."]
        lines += [f"- {p['severity']}: {p['message']}" for _, p in self.quality.iterrows()]
        return "\n".join(lines)


def describe_survey_protection(protection: Protection = SURVEY_PROTECTION) -> str:
    """The respondents' privacy rule in plain words (page and report footer)."""
    p = protection
    return (f"No group of fewer than {p.max_count + 1} respondents is shown. Other groups are hidden too "
            f"where needed, so that combining every published number and total a reader cannot work out a "
            f"hidden group's size to fewer than {p.width + 1} possible values, nor its answers.")


def _cells(groups: pd.DataFrame, domains: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    keep = ["wave", *GROUP_KEYS]
    parts = [groups[keep + ["respondents"]].rename(columns={"respondents": "value"}).assign(measure="respondents"),
             domains[keep + ["domain", "n"]].rename(columns={"n": "value"}).assign(
                 measure=lambda d: "domain:" + d["domain"]).drop(columns="domain"),
             items[keep + ["item", "n"]].rename(columns={"n": "value"}).assign(
                 measure=lambda d: "item:" + d["item"]).drop(columns="item")]
    cells = pd.concat(parts, ignore_index=True)
    cells["cell"] = np.arange(len(cells))
    return cells


def survey_relations(cells: pd.DataFrame):
    """How the survey's cells relate: organisations add up to their sector and sectors to all partners
    (in every wave and measure), and answering an item or having a domain score never exceeds responding
    (the relations the disclosure audit checks hidden cells against)."""

    top = cells[cells["g_org"] == _SECTOR_TOTAL]
    sectors = disclosure.additive(top, dim="g_sector", total=_ALL, keys=["wave", "measure", "g_sector"])
    low = cells[cells["g_sector"] != _ALL]
    orgs = disclosure.additive(low, dim="g_org", total=_SECTOR_TOTAL, keys=["wave", "measure", "g_sector", "g_org"])
    # answering an item (or having a domain score) never exceeds responding
    resp = cells[cells["measure"] == "respondents"].set_index(["wave", *GROUP_KEYS])["cell"]
    other = cells[cells["measure"] != "respondents"]
    bigger = resp.reindex(pd.MultiIndex.from_frame(other[["wave", *GROUP_KEYS]])).to_numpy()
    rid = np.arange(len(other))
    terms = pd.DataFrame({"relation": np.concatenate([rid, rid]),
                          "cell": np.concatenate([other["cell"].to_numpy(), bigger]).astype(int),
                          "coef": np.concatenate([np.ones(len(other)), -np.ones(len(other))])})
    le = disclosure.Relations(terms, pd.Series("le", index=rid, dtype=str))
    return disclosure.Relations.concat(sectors, orgs, le)


def build_survey_release(data: SurveyData, *, protection: Protection = SURVEY_PROTECTION) -> SurveyRelease:
    """Score the survey and decide disclosure on everything it publishes at once.

    Raises
    ------
    DisclosureError
        If the audit finds a hidden count a reader could narrow below the rule (nothing is published).
    """

    inst = data.instrument
    resp = data.answers.drop_duplicates(["wave", "respondent_id"])
    groups = (_with_groups(resp, inst).groupby(["wave", *GROUP_KEYS], sort=False)["respondent_id"]
              .nunique().rename("respondents").reset_index())
    scores = domain_scores(data)
    domains = group_domain_scores(scores, inst)
    items = item_agreement(data)
    cells = _cells(groups, domains, items)
    rel = survey_relations(cells)
    # a small group's every count is primary (its answers are as small as the group)
    small_group = cells.merge(groups.assign(small=groups["respondents"] < MIN_RESPONDENTS)[
        ["wave", *GROUP_KEYS, "small"]], on=["wave", *GROUP_KEYS], how="left")["small"].to_numpy(bool)
    v = cells["value"].to_numpy()
    primary = ((v >= protection.min_count) & (v <= protection.max_count)) | (small_group & (v > 0))
    # what hiding costs: the whole collaboration's numbers most, a sector's more than an organisation's,
    # larger counts more (the release's rule, :func:`equity_helpers.release.table.cell_costs`, in small)
    level = cells["level"].to_numpy()
    cost = (1 + np.log1p(np.maximum(v, 0))) * np.where(level == "all", 1000.0, np.where(level == "sector", 10.0, 1.0))
    protected, proof = disclosure.protect(cells, rel, protection=protection, primary=primary, cost=cost)
    if len(proof) and not proof["ok"].all():
        raise disclosure.DisclosureError(disclosure.AUDIT_FAILED.format(n=int((~proof["ok"]).sum())))
    # a group whose respondents are hidden shows nothing; a statistic shows only with its count
    hidden_group = protected[protected["measure"] == "respondents"].set_index(["wave", *GROUP_KEYS])["hidden"]
    protected["hidden"] |= hidden_group.reindex(pd.MultiIndex.from_frame(protected[["wave", *GROUP_KEYS]])).to_numpy(bool)
    hid = protected.set_index(["wave", *GROUP_KEYS, "measure"])["hidden"]

    def hidden_for(df: pd.DataFrame, measure: pd.Series) -> np.ndarray:
        idx = pd.MultiIndex.from_frame(df[["wave", *GROUP_KEYS]].assign(measure=measure.to_numpy()))
        return hid.reindex(idx, fill_value=True).to_numpy(bool)

    groups["hidden"] = hidden_for(groups, pd.Series("respondents", index=groups.index))
    domains["hidden"] = hidden_for(domains, "domain:" + domains["domain"])
    items["hidden"] = hidden_for(items, "item:" + items["item"])
    # alpha is a property of the instrument, published across all partners only: a sector's alpha rests on
    # its complete respondents, a count that the all-partners figure minus the shown sectors would reveal for
    # a hidden sector (its interval's width gives that count away too)
    alpha = cronbach_alpha(data, levels=("all",))
    alpha["hidden"] = hidden_for(alpha, "domain:" + alpha["domain"]) | (alpha["n"] < MIN_ALPHA_RESPONDENTS)
    changes = wave_changes(scores, inst, data.waves)
    h_from = hidden_for(changes.rename(columns={"from_wave": "wave"}), "domain:" + changes["domain"])
    h_to = hidden_for(changes.rename(columns={"to_wave": "wave"}), "domain:" + changes["domain"])
    changes["hidden"] = h_from | h_to
    _blank(groups, ["respondents"])
    _blank(domains, ["n", "mean", "sd", "ci_low", "ci_high"])
    _blank(items, ["n", "disagree", "neutral", "agree", "share_disagree", "share_neutral", "share_agree",
                   "agree_low", "agree_high"])
    _blank(alpha, ["n", "alpha", "alpha_low", "alpha_high"])
    _blank(changes, ["n_from", "n_to", "mean_from", "mean_to", "change", "ci_low", "ci_high", "p_value"])
    for df in (groups, domains, items, alpha, changes):
        df["sector"] = df["g_sector"].map(lambda s: ALL_PARTNERS if s == _ALL else inst.sector_label(s))
    return SurveyRelease(instrument=inst, waves=list(data.waves), groups=groups, domains=domains, items=items,
                         alpha=alpha, changes=changes, cells=protected, audit=proof, protection=protection,
                         accounting=data.accounting, quality=data.quality)


def _blank(df: pd.DataFrame, cols: list[str]) -> None:
    for c in cols:
        df[c] = df[c].astype(float).where(~df["hidden"])
