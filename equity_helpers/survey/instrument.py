"""The collaboration survey's instrument: its statements, domains and response scale.

Agencies and their domestic violence, community and tribal partners evaluate their collaboration over
time with a survey defined by an instrument, a YAML file (see ``data/sample/survey_instrument.yml``):
the response scale and its labels, the sectors and roles of those who answer, the domains and their
items (some reverse-scored) and, optionally, the order of the waves. :func:`load_instrument` reads and
checks it, reporting every problem together, in words (:data:`INSTRUMENT_MESSAGES`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from equity_helpers.errors import DataValidationError, ParameterError, Problem

__all__ = ["Instrument", "Domain", "Item", "load_instrument", "MIN_ANSWERED_SHARE", "INSTRUMENT_MESSAGES"]

MIN_ANSWERED_SHARE = 0.5
"""A domain score needs answers to at least this share of the domain's items (rounded up)."""

INSTRUMENT_MESSAGES: dict[str, str] = {
    "unreadable": "The instrument file {path} could not be read: {error}",
    "missing_key": "The instrument has no '{key}' entry, which it needs.",
    "bad_scale": "The instrument's scale must have whole numbers min < max and agree_at between them "
                 "(found min={low}, max={high}, agree_at={agree}).",
    "no_items": "Domain '{domain}' has no items.",
    "duplicate_item": "Item id(s) {codes} appear more than once; each item id must be unique.",
    "duplicate_domain": "Domain id(s) {codes} appear more than once; each domain id must be unique.",
    "item_without_id": "{n} item(s) of domain '{domain}' have no id or no text.",
}


@dataclass(frozen=True)
class Item:
    """One survey statement."""

    id: str
    domain: str
    text: str
    reverse: bool = False


@dataclass(frozen=True)
class Domain:
    """A group of items scored together."""

    id: str
    label: str
    items: tuple[Item, ...]

    @property
    def min_answered(self) -> int:
        """Items a respondent must answer for a domain score: half the items, rounded up."""
        return max(1, math.ceil(len(self.items) * MIN_ANSWERED_SHARE))


@dataclass(frozen=True)
class Instrument:
    """A survey instrument as defined in its YAML file.

    Attributes
    ----------
    name, note : title and a note shown with the results (the sample says it is illustrative).
    low, high : the response scale's lowest and highest values (e.g. 1 and 5).
    labels : value -> label of the scale ("Strongly disagree" ...).
    agree_at : responses at or above this value count as agreeing; ``disagree_at`` and below as
        disagreeing; values between are neutral.
    dont_know : response labels that mean "not answered" (e.g. "Don't know").
    sectors, roles : code -> plain label of who answers.
    domains : the domains in their order.
    waves : optional order of the waves (e.g. "Spring 2024", "Fall 2024"); without it waves are
        ordered as numbers when they all are, else alphabetically.
    """

    name: str
    note: str
    low: int
    high: int
    labels: dict[int, str]
    agree_at: int
    disagree_at: int
    dont_know: tuple[str, ...]
    sectors: dict[str, str]
    roles: dict[str, str]
    domains: tuple[Domain, ...]
    source: str = ""
    waves: tuple[str, ...] = ()

    @property
    def items(self) -> pd.DataFrame:
        """One row per item: ``item``, ``domain``, ``text``, ``reverse``, ``order``."""
        rows = [(it.id, d.id, it.text, it.reverse) for d in self.domains for it in d.items]
        df = pd.DataFrame(rows, columns=["item", "domain", "text", "reverse"])
        df["order"] = np.arange(len(df))
        return df

    def domain(self, domain_id: str) -> Domain:
        for d in self.domains:
            if d.id == domain_id:
                return d
        raise ParameterError(f"Unknown domain {domain_id!r}; the instrument's domains are "
                             f"{', '.join(d.id for d in self.domains)}.")

    def domain_label(self, domain_id: str) -> str:
        return self.domain(domain_id).label

    def sector_label(self, code: str) -> str:
        return self.sectors.get(code, code)

    def scale_text(self) -> str:
        """"1 (Strongly disagree) to 5 (Strongly agree)"."""
        return (f"{self.low} ({self.labels.get(self.low, self.low)}) to "
                f"{self.high} ({self.labels.get(self.high, self.high)})")


def _instrument_problem(check: str, **kw) -> Problem:
    return Problem("error", "survey_instrument", check, kw.pop("n", 0), "", INSTRUMENT_MESSAGES[check].format(**kw))


def load_instrument(path: str | Path) -> Instrument:
    """Read and check an instrument YAML file (every problem reported together).

    Raises
    ------
    DataValidationError
        With every problem found (missing entries, a scale that does not make sense, duplicate ids).
    """

    p = Path(path)
    try:
        spec = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataValidationError([_instrument_problem("unreadable", path=p.name, error=exc)]) from None
    problems: list[Problem] = []
    for key in ("name", "scale", "sectors", "domains"):
        if not spec.get(key):
            problems.append(_instrument_problem("missing_key", key=key))
    scale = spec.get("scale") or {}
    try:
        low, high = int(scale.get("min", 1)), int(scale.get("max", 5))
        agree = int(scale.get("agree_at", high - 1))
        disagree = int(scale.get("disagree_at", low + 1))
        ok = low < high and low < agree <= high and low <= disagree < agree
    except (TypeError, ValueError):
        low = high = agree = disagree = 0
        ok = False
    if not ok:
        problems.append(_instrument_problem("bad_scale", low=scale.get("min"), high=scale.get("max"),
                                            agree=scale.get("agree_at")))
    domains, seen_items, seen_domains = [], [], []
    for d in spec.get("domains") or []:
        did = str(d.get("id", "")).strip()
        seen_domains.append(did)
        raw_items = d.get("items") or []
        if not raw_items:
            problems.append(_instrument_problem("no_items", domain=did))
        bad = [i for i in raw_items if not str(i.get("id", "")).strip() or not str(i.get("text", "")).strip()]
        if bad:
            problems.append(_instrument_problem("item_without_id", n=len(bad), domain=did))
        items = tuple(Item(id=str(i["id"]).strip(), domain=did, text=str(i["text"]).strip(),
                           reverse=bool(i.get("reverse", False))) for i in raw_items if i not in bad)
        seen_items += [i.id for i in items]
        domains.append(Domain(id=did, label=str(d.get("label", did)), items=items))
    for check, ids in (("duplicate_item", seen_items), ("duplicate_domain", seen_domains)):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            problems.append(_instrument_problem(check, codes=", ".join(dup)))
    if problems:
        raise DataValidationError(problems)
    labels = {int(k): str(v) for k, v in (scale.get("labels") or {}).items()}
    return Instrument(name=str(spec["name"]), note=str(spec.get("note", "")).strip(), low=low, high=high,
                      labels=labels, agree_at=agree, disagree_at=disagree,
                      dont_know=tuple(str(x) for x in scale.get("dont_know", ["Don't know"])),
                      sectors={str(k): str(v) for k, v in spec["sectors"].items()},
                      roles={str(k): str(v) for k, v in (spec.get("roles") or {}).items()},
                      domains=tuple(domains), source=p.name, waves=tuple(str(w) for w in spec.get("waves") or ()))


