"""Which child population cells are missing, so no rate or total silently drops a place's or group's children.

A population-based rate divides children counted by the child population of the same place, year and group.
When a cell of the census grid (place, year, group, age group, sex) is missing for a place the records name,
the place's rate for that group and year has no denominator, and every total above it (the place's ``all``
group, the Statewide rows) would keep the children in the numerator but lose them from the denominator.
:func:`missing_cells` lists those cells; :func:`equity_helpers.counting.stages.population_table` leaves the
rates that rest on them blank (their population missing) and the data-quality notes say which.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from equity_helpers.schema import AGE_GROUPS, SCHEMES

__all__ = ["POPULATION_SEXES", "missing_cells"]

POPULATION_SEXES = ("female", "male")
"""The sexes a census population grid has (children of unknown sex have no census count)."""


def missing_cells(population: pd.DataFrame, places: Iterable[str], years: Iterable[int]) -> pd.DataFrame:
    """The cells of the population grid that are missing.

    Parameters
    ----------
    population : the validated population table (``jurisdiction``, ``year``, ``race_ethnicity``,
        ``age_group``, ``sex``, ``population``).
    places : the places that need a population (those the records name, and those the table has).
    years : the analysis years.

    Returns
    -------
    pandas.DataFrame
        One row per missing cell: ``jurisdiction``, ``year``, ``race_ethnicity``, ``age_group``, ``sex``.
    """
    names = ["jurisdiction", "year", "race_ethnicity", "age_group", "sex"]
    groups = SCHEMES["hispanic_first"].population_groups
    grid = pd.MultiIndex.from_product(
        [sorted(set(places) | set(population["jurisdiction"])), sorted(set(years)), list(groups),
         list(AGE_GROUPS), list(POPULATION_SEXES)], names=names)
    present = pd.MultiIndex.from_frame(population[names].astype({"year": "int64"}))
    return grid.difference(present).to_frame(index=False)
