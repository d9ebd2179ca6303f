"""The message catalogue of what a facilitator shows, in English and Spanish.

Every word the dashboard (:mod:`equity_helpers.run.present`) and the slides put in front of a room comes
from ``equity_helpers/pages/messages/<language>.yml``: headings, filter labels, the how-to-read text, sentences,
chart titles and axes, text alternatives, group and decision-point names, and the discussion prompts.
A translation is a new file with the same keys and the same ``{placeholders}``
(``tests/test_i18n.py`` checks both for every language).
"""
from __future__ import annotations

import string
from functools import lru_cache
from importlib import resources

import yaml

from equity_helpers.errors import ParameterError

__all__ = ["LANGUAGES", "Catalogue", "catalogue", "read_catalogue", "placeholders"]

LANGUAGES = tuple(sorted((p.name[:-4] for p in resources.files("equity_helpers.pages").joinpath("messages").iterdir()
                          if p.name.endswith(".yml")), key=lambda lang: (lang != "en", lang)))
"""Languages with a catalogue (``messages/<language>.yml``), English first and the default."""


@lru_cache(maxsize=None)
def read_catalogue(language: str) -> dict:
    """The message catalogue of a language as it is written in ``messages/<language>.yml``."""
    text = resources.files("equity_helpers.pages").joinpath("messages", f"{language}.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a message fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Catalogue:
    """Messages of one language, with the number format that language's catalogue names.

    Parameters
    ----------
    language : ``"en"`` or ``"es"`` (:data:`LANGUAGES`).
    """

    def __init__(self, language: str = "en"):
        if language not in LANGUAGES:
            raise ParameterError(f"Unknown language {language!r}; choose one of {', '.join(LANGUAGES)}.")
        self.language = language
        self.messages = read_catalogue(language)

    def t(self, key: str, **values) -> str:
        """The message ``key`` with its placeholders filled in."""
        try:
            text = self.messages[key]
        except KeyError:
            raise KeyError(f"No message {key!r} in the {self.language} catalogue") from None
        return text.format(**values) if values else text

    def group(self, code: str) -> str:
        """The group as a noun phrase for a sentence ("Black children", "los niños afroamericanos")."""
        return self.messages["groups"].get(code, str(code))

    def group_label(self, code: str) -> str:
        """The group's short label for a chart axis or a dropdown ("Black", "Afroamericanos")."""
        return self.messages["group_labels"].get(code, str(code))

    def stage(self, code: str) -> str:
        """The decision point's short name ("entering foster care")."""
        return self.messages["stages"].get(code, str(code))

    def prompts(self, family: str) -> list[str]:
        """Discussion prompts of a family of decision points (see :data:`equity_helpers.pages.story.PROMPT_FAMILY`)."""
        return list(self.messages["prompts"][family])

    def number(self, x: float, digits: int = 0) -> str:
        """``x`` with ``digits`` decimals and the language's separators (1,234.5 or 1.234,5)."""
        text = f"{x:,.{digits}f}"
        sep = self.messages["number"]
        return text.replace(",", "\0").replace(".", sep["decimal"]).replace("\0", sep["thousands"])

    def ratio(self, x: float) -> str:
        """A relative rate as a room reads it: two significant figures (3.2, 0.19, 12)."""
        digits = 0 if abs(x) >= 10 else 1 if abs(x) >= 1 else 2
        return self.number(x, digits)

    def rate(self, x: float) -> str:
        """A rate as a room reads it: one decimal from 1 up (4.2, 85.3), two below 1 (0.24)."""
        return self.number(x, 1 if abs(x) >= 1 else 2)

    def years(self, first: int, last: int) -> str:
        """A window's name: "FY2025" or "FY2023-FY2025" ("AF2025" in Spanish)."""
        return self.t("years_one", year=first) if first == last else self.t("years_many", first=first, last=last)


@lru_cache(maxsize=None)
def catalogue(language: str = "en") -> Catalogue:
    """The (cached) catalogue of ``language``."""
    return Catalogue(language)
