"""Canonical data model: tables, codes, decision-point registry and race/ethnicity schemes.

Everything the rest of the package agrees on lives here (``docs/architecture.md``: "Canonical tables",
"Race and ethnicity schemes" and "Decision-point registry"):

* :data:`TABLES` - the canonical child-level tables and the aggregate ``counts`` table, with
  their required and optional columns and the allowed codes of categorical columns.
* :data:`STAGES` - the decision-point registry. Each stage knows its label, its decision base
  (parent stage), whether it has a population base and whether a higher value is favourable.
* :data:`SCHEMES` - race/ethnicity schemes that turn AFCARS-style race flags plus Hispanic
  origin into groups, and the population categories each scheme needs.

Race flags follow AFCARS (one yes/no flag per OMB race plus "unable to determine") and
Hispanic origin is ``yes`` / ``no`` / ``unknown`` (``docs/methods.md`` section 3).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "STATE",
    "ALL",
    "RACE_FLAGS",
    "sentence_start",
    "GROUP_LABELS",
    "AGE_GROUPS",
    "SEXES",
    "DISPOSITIONS",
    "SUBSTANTIATED_DISPOSITIONS",
    "EXIT_REASONS",
    "PERMANENT_EXITS",
    "FAMILY_EXITS",
    "PLACEMENT_TYPES",
    "TableSpec",
    "EQUITY_CODES",
    "EQUITY_COLUMNS",
    "TABLES",
    "Stage",
    "STAGES",
    "DECISION_POINTS",
    "FEDERAL_STAGES",
    "stage_info",
    "get_stage",
    "RaceScheme",
    "SCHEMES",
    "get_scheme",
    "assign_groups",
    "age_group_of",
    "fiscal_year",
    "period_bounds",
    "group_label",
    "group_children",
]

STATE = "Statewide"
"""The name of the whole state among the places (jurisdictions) of every table."""
ALL = "all"
"""The level of a filter that takes every child (all ages, both sexes, every subgroup)."""

RACE_FLAGS: tuple[str, ...] = (
    "race_aian",
    "race_asian",
    "race_black",
    "race_nhpi",
    "race_white",
    "race_unknown",
)
"""AFCARS-style race flag columns of the ``children`` table (1 = yes, 0 = no)."""

GROUP_LABELS: dict[str, str] = {
    "hispanic": "Hispanic (any race)",
    "white": "White",
    "black": "Black",
    "aian": "American Indian/Alaska Native",
    "asian": "Asian",
    "nhpi": "Native Hawaiian/Pacific Islander",
    "multiracial": "Two or more races",
    "unknown": "Unknown race",
    "black_aic": "Black (alone or in combination)",
    "aian_aic": "American Indian/Alaska Native (alone or in combination)",
    "all_other": "all other children",
    "overall": "all children",
    "all": "all children",
}
"""Plain-language labels. In ``hispanic_first`` every race label means non-Hispanic."""

AGE_GROUPS: tuple[str, ...] = ("0-4", "5-9", "10-14", "15-17")
"""Census-style age groups of the child population (ages 0-17)."""

SEXES: tuple[str, ...] = ("female", "male", "unknown")
DISPOSITIONS: tuple[str, ...] = (
    "substantiated",
    "indicated",
    "unsubstantiated",
    "alternative_response",
    "other",
    "none",
)
SUBSTANTIATED_DISPOSITIONS: frozenset[str] = frozenset({"substantiated", "indicated"})
EXIT_REASONS: tuple[str, ...] = (
    "reunification",
    "relative",
    "guardianship",
    "adoption",
    "emancipation",
    "transfer",
    "death",
    "other",
    "unknown",
)
PERMANENT_EXITS: frozenset[str] = frozenset({"reunification", "relative", "guardianship", "adoption"})
"""CFSR permanency: reunification, living with relative, guardianship, adoption."""
FAMILY_EXITS: frozenset[str] = frozenset({"reunification", "relative", "guardianship"})
"""Exits that form the CFSR re-entry denominator (not adoption)."""
PLACEMENT_TYPES: tuple[str, ...] = ("kin", "nonkin_foster", "congregate", "other")


EQUITY_CODES: dict[str, tuple[str, ...]] = {
    "disability": ("yes", "no", "unknown"),
    "lgbtq": ("yes", "no", "unknown", "not_asked"),
    "immigrant_family": ("yes", "no", "unknown"),
    "tribal_affiliation": ("yes", "no", "unknown"),
    "dv_involved": ("yes", "no", "unknown"),
}
"""Codes of the optional equity columns (children: disability, LGBTQ+ identity, immigrant family,
tribal affiliation / ICWA; reports: caregiver domestic violence, the NCANDS caregiver risk factor).
Empty means not recorded and is counted as ``unknown``; ``not_asked``: sexual orientation and gender
identity are asked only of older youth (the sample: 12 and over). Map an agency's own codes to these
in ``mapping.yml``."""
EQUITY_COLUMNS: tuple[str, ...] = tuple(EQUITY_CODES)


@dataclass(frozen=True)
class TableSpec:
    """Columns of one canonical table.

    ``codes`` maps a categorical column to its allowed canonical codes; ``dates`` lists date
    columns; ``key`` is the column that must be unique (if any).
    """

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    key: str | None = None
    dates: tuple[str, ...] = ()
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    flags: tuple[str, ...] = ()


TABLES: dict[str, TableSpec] = {
    "children": TableSpec(
        name="children",
        required=("child_id", "birth_date", "sex", *RACE_FLAGS, "hispanic"),
        optional=("disability", "lgbtq", "immigrant_family", "tribal_affiliation"),
        key="child_id",
        dates=("birth_date",),
        codes={"sex": SEXES, "hispanic": ("yes", "no", "unknown"), **{
            c: EQUITY_CODES[c] for c in ("disability", "lgbtq", "immigrant_family", "tribal_affiliation")}},
        flags=RACE_FLAGS,
    ),
    "reports": TableSpec(
        name="reports",
        required=("report_id", "child_id", "jurisdiction", "report_date", "screened_in", "disposition"),
        optional=("dv_involved", "family_hash"),
        key="report_id",
        dates=("report_date",),
        codes={"disposition": DISPOSITIONS, "dv_involved": EQUITY_CODES["dv_involved"]},
        flags=("screened_in",),
    ),
    "episodes": TableSpec(
        name="episodes",
        required=(
            "episode_id",
            "child_id",
            "jurisdiction",
            "entry_date",
            "exit_date",
            "exit_reason",
            "first_placement",
            "placement_count",
        ),
        optional=("prior_episodes",),
        key="episode_id",
        dates=("entry_date", "exit_date"),
        codes={"exit_reason": EXIT_REASONS, "first_placement": PLACEMENT_TYPES},
    ),
    "population": TableSpec(
        name="population",
        required=("jurisdiction", "year", "race_ethnicity", "age_group", "sex", "population"),
        codes={"age_group": AGE_GROUPS, "sex": SEXES},
    ),
    "counts": TableSpec(
        name="counts",
        required=("jurisdiction", "period", "race_ethnicity", "stage", "count"),
        optional=("base",),
    ),
}
"""The canonical tables (``docs/architecture.md``, "Canonical tables")."""


@dataclass(frozen=True)
class Stage:
    """One decision point of the registry (``docs/architecture.md``, "Decision-point registry").

    Attributes
    ----------
    name : machine name used in every table.
    label : plain-language description of what the count is.
    decision_base : the stage whose children form the decision-based base, or None.
    population_base : whether a rate per 1,000 children in the population is meaningful.
    higher_is : "favourable" or "unfavourable" (the narrative depends on it).
    decision_point : False for helper stages that exist only as a base (all exits).
    follow_up_months : months of follow-up after the period that the stage needs.
    verb : phrase completing "children ... " in sentences.
    """

    name: str
    label: str
    decision_base: str | None
    population_base: bool
    higher_is: Literal["favourable", "unfavourable"]
    decision_point: bool = True
    follow_up_months: int = 0
    verb: str = ""


STAGES: dict[str, Stage] = {
    s.name: s
    for s in [
        Stage("reported", "children reported to the hotline", None, True, "unfavourable",
              verb="were reported to the hotline"),
        Stage("screened_in", "children in a screened-in report", "reported", True, "unfavourable",
              verb="were screened in"),
        Stage("substantiated", "children with a substantiated or indicated report", "screened_in", True,
              "unfavourable", verb="were substantiated as victims"),
        Stage("entered_care", "children entering foster care", "substantiated", True, "unfavourable",
              verb="entered foster care"),
        Stage("substantiated_followed", "children with a substantiated or indicated report followed for 90 days",
              "substantiated", False, "unfavourable", decision_point=False,
              verb="were substantiated at least 90 days before the extract date"),
        Stage("entered_after_substantiation", "substantiated children entering care within 90 days",
              "substantiated_followed", False, "unfavourable", decision_point=False,
              verb="entered care within 90 days of a substantiated report"),
        Stage("first_placement_kin", "entrants first placed with kin", "entered_care", False, "favourable",
              verb="were first placed with kin"),
        Stage("first_placement_congregate", "entrants first placed in congregate care", "entered_care", False,
              "unfavourable", verb="were first placed in congregate care"),
        Stage("permanency_12m", "entrants reaching permanency within 12 months", "entered_care", False,
              "favourable", follow_up_months=12, verb="reached permanency within 12 months"),
        Stage("reunified_12m", "entrants reunified within 12 months", "entered_care", False, "favourable",
              follow_up_months=12, verb="were reunified within 12 months"),
        Stage("in_care_24m_plus", "entrants still in care 24 months after entry", "entered_care", False,
              "unfavourable", follow_up_months=24, verb="were still in care 24 months after entering"),
        Stage("exited", "children leaving foster care", None, False, "favourable", decision_point=False,
              verb="left foster care"),
        Stage("aged_out", "children leaving care by aging out", "exited", False, "unfavourable",
              verb="aged out of care"),
        Stage("exited_to_family", "children leaving care to reunification, relatives or guardianship", None,
              False, "favourable", decision_point=False, verb="left care to family"),
        Stage("reentry_12m", "children re-entering care within 12 months of going home", "exited_to_family",
              False, "unfavourable", follow_up_months=12, verb="re-entered care within 12 months"),
    ]
}
"""The decision-point registry, in the order a family meets the system."""

DECISION_POINTS: tuple[str, ...] = tuple(n for n, s in STAGES.items() if s.decision_point)

FEDERAL_STAGES: dict[str, Stage] = {
    s.name: s
    for s in [
        Stage("P1_permanency_12m_entries", "entrants reaching permanency within 12 months (CFSR P1)", "P1_entries",
              False, "favourable", verb="reached permanency within 12 months of entering care"),
        Stage("P1_entries", "children entering care (CFSR cohort)", None, False, "favourable", decision_point=False),
        Stage("P2_permanency_12_23m", "children in care 12-23 months reaching permanency (CFSR P2)",
              "P2_in_care_12_23m", False, "favourable", verb="reached permanency within the year"),
        Stage("P2_in_care_12_23m", "children in care 12-23 months on the first day", None, False, "favourable",
              decision_point=False),
        Stage("P3_permanency_24m_plus", "children in care 24 months or more reaching permanency (CFSR P3)",
              "P3_in_care_24m_plus", False, "favourable", verb="reached permanency within the year"),
        Stage("P3_in_care_24m_plus", "children in care 24 months or more on the first day", None, False,
              "favourable", decision_point=False),
        Stage("P4_reentry_12m", "children re-entering care within 12 months of going home (CFSR P4)",
              "P4_exits_home_12m", False, "unfavourable", verb="re-entered care within 12 months of going home"),
        Stage("P4_exits_home_12m", "entrants who went home within 12 months", None, False, "favourable",
              decision_point=False),
        Stage("P5_moves_per_1000_days", "placement moves per 1,000 days in care (CFSR P5)", None, True,
              "unfavourable", verb="moved between placements"),
    ]
}
"""CFSR-style measures computed by :mod:`equity_helpers.metrics.survival`; described like stages."""


def stage_info(name: str) -> Stage | None:
    """The registry entry of a decision point or a federal-style measure, or None if unknown."""
    return STAGES.get(name) or FEDERAL_STAGES.get(name)


def get_stage(name: str) -> Stage:
    """Return the registry entry for ``name`` or raise a plain-language error."""
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(
            f"Unknown decision point {name!r}. Known decision points: {', '.join(STAGES)}."
        ) from None


@dataclass(frozen=True)
class RaceScheme:
    """A race/ethnicity coding.

    Attributes
    ----------
    name : scheme name.
    description : what it does, in words.
    groups : the groups it produces, in display order.
    exclusive : True if every child is in exactly one group (shares add to 100%).
    population_groups : groups that must be present in the population table.
    default_reference : the default reference group.
    hispanic_unknown : how a child with Hispanic origin "unknown" is placed:
        "race" (by race, the optimistic choice) or "unknown" (the conservative choice).
    """

    name: str
    description: str
    groups: tuple[str, ...]
    exclusive: bool
    population_groups: tuple[str, ...]
    default_reference: str = "white"
    hispanic_unknown: Literal["race", "unknown"] = "race"


_HF_GROUPS = ("white", "black", "hispanic", "aian", "asian", "nhpi", "multiracial", "unknown")

SCHEMES: dict[str, RaceScheme] = {
    "hispanic_first": RaceScheme(
        name="hispanic_first",
        description=(
            "Hispanic of any race first; then non-Hispanic single race; then two or more races; "
            "otherwise unknown (KIDS COUNT / NCJFCJ hierarchy)."
        ),
        groups=_HF_GROUPS,
        exclusive=True,
        population_groups=tuple(g for g in _HF_GROUPS if g != "unknown"),
    ),
    "hispanic_first_conservative": RaceScheme(
        name="hispanic_first_conservative",
        description=(
            "As hispanic_first, but a child whose Hispanic origin is unknown is counted as unknown "
            "race/ethnicity instead of by race."
        ),
        groups=_HF_GROUPS,
        exclusive=True,
        population_groups=tuple(g for g in _HF_GROUPS if g != "unknown"),
        hispanic_unknown="unknown",
    ),
    "alone_or_in_combination": RaceScheme(
        name="alone_or_in_combination",
        description=(
            "Black and American Indian/Alaska Native alone or in combination with another race, any "
            "ethnicity (a child counts in every group they belong to), compared with White non-Hispanic "
            "children alone. Shares add to more than 100%."
        ),
        groups=("white", "black_aic", "aian_aic", "unknown"),
        exclusive=False,
        population_groups=("white", "black_aic", "aian_aic"),
    ),
}
"""Ready-made schemes (``docs/architecture.md``, "Race and ethnicity schemes")."""


def get_scheme(scheme: str | RaceScheme) -> RaceScheme:
    """Return a scheme by name (or pass a :class:`RaceScheme` through)."""
    if isinstance(scheme, RaceScheme):
        return scheme
    try:
        return SCHEMES[scheme]
    except KeyError:
        raise KeyError(f"Unknown race scheme {scheme!r}. Known schemes: {', '.join(SCHEMES)}.") from None


def assign_groups(children: pd.DataFrame, *, scheme: str | RaceScheme = "hispanic_first") -> pd.DataFrame:
    """Assign each child to race/ethnicity group(s).

    Parameters
    ----------
    children : DataFrame with ``child_id``, the race flags and ``hispanic``.
    scheme : scheme name or object.

    Returns
    -------
    DataFrame with columns ``child_id`` and ``race_ethnicity``: one row per child for an
    exclusive scheme, one row per child and group for an overlapping one. Every child appears
    at least once (children in no group of an overlapping scheme are ``unknown`` only if their
    race is unknown; otherwise they are simply outside the scheme's groups).
    """
    sch = get_scheme(scheme)
    flags = children[list(RACE_FLAGS)].fillna(0).astype(int).to_numpy()
    known = flags[:, :5]
    n_races = known.sum(axis=1)
    hisp = children["hispanic"].astype(str).to_numpy()
    race_names = np.array(["aian", "asian", "black", "nhpi", "white"])
    single = race_names[np.argmax(known, axis=1)]
    if sch.exclusive:
        out = np.where(n_races >= 2, "multiracial", np.where(n_races == 1, single, "unknown"))
        out = np.where(hisp == "yes", "hispanic", out)
        if sch.hispanic_unknown == "unknown":
            out = np.where(hisp == "unknown", "unknown", out)
        return pd.DataFrame({"child_id": children["child_id"].to_numpy(), "race_ethnicity": out})
    # alone or in combination
    ids = children["child_id"].to_numpy()
    parts = []
    white_nh = (n_races == 1) & (known[:, 4] == 1) & (hisp == "no")
    parts.append(pd.DataFrame({"child_id": ids[white_nh], "race_ethnicity": "white"}))
    parts.append(pd.DataFrame({"child_id": ids[known[:, 2] == 1], "race_ethnicity": "black_aic"}))
    parts.append(pd.DataFrame({"child_id": ids[known[:, 0] == 1], "race_ethnicity": "aian_aic"}))
    parts.append(pd.DataFrame({"child_id": ids[n_races == 0], "race_ethnicity": "unknown"}))
    return pd.concat(parts, ignore_index=True)


def age_group_of(age_years: pd.Series | np.ndarray) -> np.ndarray:
    """Map ages in whole years to :data:`AGE_GROUPS`; 18 and over (or negative) -> ``"18+"``."""
    a = np.asarray(age_years, dtype=float)
    out = np.full(a.shape, "18+", dtype=object)
    out[(a >= 0) & (a < 5)] = "0-4"
    out[(a >= 5) & (a < 10)] = "5-9"
    out[(a >= 10) & (a < 15)] = "10-14"
    out[(a >= 15) & (a < 18)] = "15-17"
    return out


def fiscal_year(dates: pd.Series, *, calendar: bool = False) -> pd.Series:
    """Federal fiscal year (Oct-Sep, named by the year it ends) or calendar year of each date."""
    d = pd.to_datetime(dates)
    if calendar:
        return d.dt.year.astype("Int64")
    return (d.dt.year + (d.dt.month >= 10).astype(int)).astype("Int64")


def period_bounds(year: int, *, calendar: bool = False) -> tuple[date, date]:
    """First and last day of a federal fiscal year (or calendar year)."""
    if calendar:
        return date(year, 1, 1), date(year, 12, 31)
    return date(year - 1, 10, 1), date(year, 9, 30)


def group_label(group: str) -> str:
    """Plain-language label of a group code (falls back to the code itself)."""
    return GROUP_LABELS.get(group, str(group))


_CHILDREN_PHRASE = {
    "hispanic": "Hispanic children",
    "multiracial": "children of two or more races",
    "unknown": "children of unknown race",
    "all_other": "all other children",
    "overall": "all children",
    "all": "all children",
}


def group_children(group: str) -> str:
    """The group as a noun phrase for sentences: "Black children", "children of two or more races"."""
    return _CHILDREN_PHRASE.get(group, f"{group_label(group)} children")


def sentence_start(phrase: str) -> str:
    """``phrase`` with only its first letter raised, so proper names keep their capitals
    ("American Indian/Alaska Native children", not ``str.capitalize``'s "American indian/alaska native")."""
    return phrase[:1].upper() + phrase[1:]
