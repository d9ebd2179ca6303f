"""Place names matched the same way in every file: trimmed, case-insensitive, spelled as the population has it.

Agencies' files spell a county ``"Bluff"``, ``"Bluff  "`` or ``"BLUFF"``; left as they are, each spelling is a
place of its own and the real Bluff loses its reports. :func:`canonical_places` reads every spelling the tables
use, matches them by :func:`place_key` (spaces trimmed and collapsed, case folded) and gives each the population
table's spelling (without a population table, the spelling most rows use). A name that matches no population
place but nearly matches one (``"Bluff County"`` beside ``"Bluff"``) is an error that lists both spellings:
the workbook does not decide whether they are the same place.
"""
from __future__ import annotations

import difflib
import re

import pandas as pd

from equity_helpers.errors import Problem

__all__ = ["PLACE_WORDS", "canonical_places", "place_key"]

PLACE_WORDS = ("county", "co", "co.", "parish", "borough", "city", "city of", "region")
"""Words around a place's name that make a near-miss (``"Bluff County"`` beside ``"Bluff"``)."""

_AROUND = re.compile(r"^(?:city of\s+)?(.*?)(?:\s+(?:county|co\.?|parish|borough|city|region))?$")


def place_key(name: object) -> str:
    """A place name as it is matched: spaces trimmed and collapsed, case folded."""
    return " ".join(str(name).split()).casefold()


def _core(key: str) -> str:
    return _AROUND.match(key).group(1)


def canonical_places(population: pd.Series | None, used: dict[str, pd.Series]) -> tuple[dict[str, str], list[Problem]]:
    """The spelling every place name should take, and the problems of names that cannot be matched for certain.

    Parameters
    ----------
    population : the population table's ``jurisdiction`` values (None without a population table).
    used : each other table's distinct ``jurisdiction`` values, indexed by value, with their row counts
        (``{"reports": counts, ...}``).

    Returns
    -------
    (renames, problems)
        ``renames`` maps each spelling that changes to its canonical spelling (the population file's, else
        the most used); ``problems`` holds errors: a population table spelling one place two ways, or a name
        close to a population place but not the same (each names both spellings and the rows).
    """
    renames: dict[str, str] = {}
    problems: list[Problem] = []
    canon: dict[str, str] = {}
    if population is not None:
        spellings = pd.Series(population.dropna().unique(), dtype=object)
        for key, names in spellings.groupby(spellings.map(place_key)):
            trimmed = sorted({" ".join(str(n).split()) for n in names})
            if len(trimmed) > 1:
                problems.append(Problem("error", "population", "place_spelled_two_ways", len(names), "",
                                        f"The population table spells one place {len(trimmed)} ways: "
                                        f"{', '.join(repr(t) for t in trimmed)}. Use one spelling."))
            canon[key] = trimmed[0]
            renames.update({n: trimmed[0] for n in names if n != trimmed[0]})
    totals: dict[str, pd.Series] = {}
    for counts in used.values():
        for name, n in counts.items():
            if name is None or pd.isna(name):
                continue
            totals.setdefault(place_key(name), pd.Series(dtype="int64"))
            s = totals[place_key(name)]
            s.loc[name] = s.get(name, 0) + int(n)
    near: dict[str, list[str]] = {}
    for key, spellings in totals.items():
        if key in canon or population is None:
            target = canon.get(key) or " ".join(str(spellings.idxmax()).split())
        else:
            close = _near_miss(key, list(canon))
            if close:
                near.setdefault(close, []).extend(spellings.index)
            continue
        renames.update({s: target for s in spellings.index if s != target})
    for key, names in near.items():
        rows = sum(int(used[t].get(n, 0)) for t in used for n in names)
        problems.append(Problem("error", "sources", "place_near_miss", rows, "",
                                f"{rows:,} rows name the place {', '.join(repr(n) for n in sorted(set(names)))}, which "
                                f"the population table does not have; it has {canon[key]!r}. If they are the same "
                                f"place, use one spelling (or map it under codes: jurisdiction: in mapping.yml); "
                                f"the workbook will not decide it for you."))
    return renames, problems


def _near_miss(key: str, known: list[str]) -> str | None:
    """The population place a name nearly matches (one word around it, or a small misspelling), else None."""
    by_core = {_core(k): k for k in known}
    if _core(key) in by_core:
        return by_core[_core(key)]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.85)
    return close[0] if close else None
