"""Synthetic "sample state" generator with planted, documented disparities.

The sample state has 12 counties over 6 federal fiscal years (FY2020-FY2025). Nothing in it is
real. It exists so that every notebook, report and test has data whose true answers are known:
the disparities in :data:`PLANTED` are applied per decision point and compound along the chain,
and :func:`truth_table` states what a correct analysis should recover.

How the data are made (all from one seeded :class:`numpy.random.Generator`):

1. Child population per county, year, group, age group and sex (census-style, ages 0-17).
2. For each population cell, the number of *newly reported children* in the year is Poisson with
   mean ``population x report_rate(county) x report_multiplier(group) x age_factor``.
3. Each reported child has one index report that goes through the chain with Bernoulli draws:
   screened in (p = base x multiplier), substantiated if screened in, enters care if
   substantiated. Extra screened-out reports (Poisson mean 0.25) are added in the same year.
4. Entrants get a first placement (kin / congregate / non-kin foster / other), a length of stay
   (exponential, mean scaled by group; adoptions take 1.8 times as long), an exit reason by group,
   aging out at the 18th birthday, censoring at the data end date, placement moves, and possibly
   one re-entry within a year of going home.
5. A few records are coded with unknown race (3%) or unknown Hispanic origin (2%), and 0.5% with
   unknown sex, the way real extracts are.

Decision multipliers are probabilities relative to White non-Hispanic children in the same
county, so each decision-based RRI equals its multiplier in expectation, and the population-based
RRI at a stage is the product of the multipliers up to it.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from equity_helpers.data.boundaries import synthetic_counties
from equity_helpers.data.linkage import SAMPLE_KEY, partner_sample
from equity_helpers.schema import AGE_GROUPS, RACE_FLAGS, assign_groups, period_bounds

__all__ = [
    "County",
    "COUNTIES",
    "counties_for",
    "FIRST_YEAR",
    "LAST_YEAR",
    "DATA_END",
    "PLANTED",
    "SampleState",
    "generate",
    "truth_table",
    "EQUITY_PLANTED",
    "equity_truth_table",
    "write_sample",
    "DEFAULT_SEED",
    "survey_responses",
    "survey_truth",
    "write_survey_sample",
    "SURVEY_PLANTED",
]

DEFAULT_SEED = 20261123
FIRST_YEAR = 2020
LAST_YEAR = 2025
DATA_END = pd.Timestamp("2025-09-30")
"""Extract date of the sample state: the last day of FY2025. Open episodes are censored here."""

GROUPS = ("white", "black", "hispanic", "aian", "asian", "nhpi", "multiracial")


@dataclass(frozen=True)
class County:
    """A sample county: name, child population in FY2020, group shares, report rate, what it shows."""

    name: str
    children: int
    shares: dict[str, float]
    report_rate: float
    kind: str


_RURAL = dict(white=0.85, black=0.03, hispanic=0.07, aian=0.02, asian=0.01, nhpi=0.0, multiracial=0.02)
COUNTIES: tuple[County, ...] = (
    County("Riverbend", 150_000, dict(white=0.38, black=0.30, hispanic=0.20, aian=0.01, asian=0.06,
                                      nhpi=0.01, multiracial=0.04), 0.028, "large urban county"),
    County("Lakeshore", 80_000, dict(white=0.62, black=0.12, hispanic=0.14, aian=0.01, asian=0.06,
                                     nhpi=0.005, multiracial=0.045), 0.024, "suburban county"),
    County("Cedar Valley", 50_000, dict(white=0.45, black=0.04, hispanic=0.42, aian=0.02, asian=0.03,
                                        nhpi=0.005, multiracial=0.035), 0.030,
           "Hispanic children over-represented locally, not statewide"),
    County("Pine Ridge", 14_000, dict(white=0.52, black=0.01, hispanic=0.05, aian=0.36, asian=0.005,
                                      nhpi=0.0, multiracial=0.055), 0.036,
           "large American Indian/Alaska Native population"),
    County("Millbrook", 20_000, dict(white=0.74, black=0.08, hispanic=0.10, aian=0.01, asian=0.03,
                                     nhpi=0.005, multiracial=0.035), 0.030, "small city"),
    County("Stonefield", 9_000, _RURAL, 0.034, "rural county"),
    County("Harlan", 6_500, _RURAL, 0.038, "rural county"),
    County("Willow Creek", 4_200, _RURAL, 0.035, "rural county"),
    County("Granite", 3_100, _RURAL, 0.040, "small rural county, cells under 10"),
    County("Bluff", 2_400, _RURAL, 0.036, "small rural county, cells under 10"),
    County("Elk Hollow", 1_800, _RURAL, 0.042, "small rural county, cells under 10"),
    County("Prairie", 1_200, _RURAL, 0.038, "smallest rural county, cells under 10"),
)

_PREFIXES = ("Oak", "Maple", "Ash", "Birch", "Aspen", "Hickory", "Juniper", "Laurel", "Sumac", "Alder",
             "Copper", "Iron", "Silver", "Flint", "Shale", "Clay", "Sandy", "Red", "Blue", "Green", "Fox", "Hawk",
             "Bear", "Wolf", "Otter", "Heron", "Crane", "Bison")
_SUFFIXES = ("Ridge", "Valley", "Falls", "Springs", "Plains", "Hills", "Forks", "Bend", "Bluffs", "Meadows")


def counties_for(n: int, *, seed: int = 20251) -> tuple[County, ...]:
    """``n`` counties: the 12 sample counties, then generated rural and small-city counties with
    invented names, log-normal child populations (median about 5,000) and the rural group mix
    (for batch benchmarks at the size of a large state: 87 counties is Minnesota's count)."""
    if n <= len(COUNTIES):
        return COUNTIES[:n]
    rng = np.random.default_rng(seed)
    names = [f"{p} {s}" for p in _PREFIXES for s in _SUFFIXES]
    taken = {c.name for c in COUNTIES}
    names = [x for x in rng.permutation(names) if x not in taken][: n - len(COUNTIES)]
    extra = []
    for name in names:
        children = int(np.clip(rng.lognormal(np.log(5_000), 0.9), 800, 60_000))
        kind = "small city" if children > 15_000 else "rural county"
        shares = _RURAL if kind == "rural county" else COUNTIES[4].shares
        extra.append(County(str(name), children, shares, float(np.round(rng.uniform(0.026, 0.042), 3)), kind))
    return COUNTIES + tuple(extra)


PLANTED: dict = {
    "report_multiplier": dict(white=1.0, black=2.0, hispanic=0.85, aian=2.4, asian=0.35, nhpi=1.3,
                              multiracial=1.6),
    "report_multiplier_by_county": {"Cedar Valley": {"hispanic": 1.7}},
    "age_factor": {"0-4": 1.25, "5-9": 1.0, "10-14": 0.9, "15-17": 0.75},
    "screened_in": {"base": 0.55, "multiplier": dict(white=1.0, black=1.10, hispanic=1.0, aian=1.12,
                                                      asian=0.95, nhpi=1.05, multiracial=1.05)},
    "substantiated": {"base": 0.30, "multiplier": dict(white=1.0, black=1.15, hispanic=1.05, aian=1.25,
                                                        asian=0.90, nhpi=1.10, multiracial=1.10)},
    "entered_care": {"base": 0.28, "multiplier": dict(white=1.0, black=1.30, hispanic=1.10, aian=1.60,
                                                       asian=0.80, nhpi=1.20, multiracial=1.20)},
    "first_placement_kin": {"base": 0.35, "multiplier": dict(white=1.0, black=0.95, hispanic=1.15,
                                                              aian=0.60, asian=1.0, nhpi=1.0,
                                                              multiracial=1.0)},
    "first_placement_congregate": {"base": 0.08, "multiplier": dict(white=1.0, black=1.50, hispanic=1.0,
                                                                     aian=1.30, asian=1.0, nhpi=1.0,
                                                                     multiracial=1.2)},
    "mean_stay_days": {"base": 420.0, "multiplier": dict(white=1.0, black=1.35, hispanic=1.10, aian=1.50,
                                                          asian=1.0, nhpi=1.1, multiracial=1.15)},
    "exit_mix": {
        "white": dict(reunification=0.58, relative=0.10, guardianship=0.10, adoption=0.18, transfer=0.02,
                      other=0.02),
        "black": dict(reunification=0.46, relative=0.10, guardianship=0.12, adoption=0.26, transfer=0.03,
                      other=0.03),
        "hispanic": dict(reunification=0.55, relative=0.12, guardianship=0.10, adoption=0.19,
                         transfer=0.02, other=0.02),
        "aian": dict(reunification=0.42, relative=0.14, guardianship=0.12, adoption=0.24, transfer=0.05,
                     other=0.03),
        "asian": dict(reunification=0.60, relative=0.10, guardianship=0.08, adoption=0.18, transfer=0.02,
                      other=0.02),
        "nhpi": dict(reunification=0.52, relative=0.12, guardianship=0.10, adoption=0.22, transfer=0.02,
                     other=0.02),
        "multiracial": dict(reunification=0.52, relative=0.10, guardianship=0.11, adoption=0.23,
                            transfer=0.02, other=0.02),
    },
    "adoption_stay_factor": 1.8,
    "moves_per_year": {"base": 0.9, "multiplier": dict(white=1.0, black=1.2, hispanic=1.0, aian=1.1,
                                                        asian=1.0, nhpi=1.0, multiracial=1.1)},
    "reentry_12m": {"base": 0.10, "multiplier": dict(white=1.0, black=1.30, hispanic=1.0, aian=1.40,
                                                      asian=1.0, nhpi=1.0, multiracial=1.1)},
    "extra_reports_mean": 0.25,
    "coded_unknown_race": 0.03,
    "coded_unknown_hispanic": 0.02,
    "coded_unknown_sex": 0.005,
    "multiracial_mix": {"black+white": 0.5, "aian+white": 0.3, "asian+white": 0.2},
    "hispanic_race_mix": {"white": 0.85, "black": 0.05, "aian": 0.05, "unknown": 0.05},
    "population_growth_per_year": 0.005,
}
"""Every planted effect. Multipliers are relative to White non-Hispanic children."""

EQUITY_PLANTED: dict = {
    "disability": {"yes": 0.12, "unknown": 0.10, "entered_care": 1.40, "first_placement_congregate": 1.8},
    "lgbtq": {"asked_from_age": 12, "yes": 0.11, "unknown": 0.25, "first_placement_congregate": 2.0,
              "black_and_lgbtq_congregate": 1.5},
    "immigrant_family": {"yes": dict(hispanic=0.30, asian=0.35, other=0.04), "unknown": 0.12,
                         "first_placement_kin": 0.70},
    "tribal_affiliation": {"yes": dict(aian=0.70, aian_in_combination=0.35, other=0.005),
                           "unknown": dict(aian=0.20, other=0.06)},
    "dv_involved": {"yes": 0.20, "unknown": 0.08, "screened_in": 1.25, "substantiated": 1.20,
                    "entered_care": 1.15},
    "meeting_at_report": {"p": dict(white=0.40, black=0.28, hispanic=0.32, aian=0.30, asian=0.35, nhpi=0.35,
                                    multiracial=0.35), "entered_care": 0.70, "days": 14},
    "meeting_at_removal": {"p": dict(white=0.60, black=0.45, hispanic=0.50, aian=0.45, asian=0.55, nhpi=0.55,
                                     multiracial=0.55), "first_placement_kin": 1.35, "mean_stay": 0.80, "days": 30},
}
"""Planted effects of the optional equity columns (children: ``disability``, ``lgbtq``,
``immigrant_family``, ``tribal_affiliation``; reports: ``dv_involved``, caregiver domestic violence).

Shares are of all children (``lgbtq``: of children 12 or older at their report; younger children are
``not_asked``); the rest are ``no``. Factors multiply a decision's probability for children with the
flag (``yes``) against those without (``no``), in every race group, so the decision-based ratio of
``yes`` to ``no`` equals the factor within each group, and for all children together where the flag is
drawn alike in every group (not immigrant families) (:func:`equity_truth_table`). One intersection:
Black youth who identify as LGBTQ are placed in
congregate care 1.5 times as often again (3.0 times Black youth who do not; 2.25 times White LGBTQ
youth). Tribal affiliation (ICWA) carries no effect beyond race. Every report about a child in a year
carries the same caregiver domestic-violence note as the child's first report that year (a family's
situation, NCANDS caregiver risk factor "domestic violence"). The flags are drawn from their own
random stream, so the race effects above are unchanged in expectation; only the intersection moves
the Black congregate-care ratio of all children (by about 3%).

Family team meetings (the ``meetings`` table, :mod:`equity_helpers.data.engagement`): a screened-in child's
family has a team decision-making meeting 0-14 days after the report (never after the removal) with
probability ``meeting_at_report["p"][group]`` (less often for Black, Hispanic and Native families: a
disparity in engagement itself); it multiplies the chance of entering care by 0.70. An entrant's family
has a family team meeting 1-30 days after the removal with probability ``meeting_at_removal["p"][group]``;
it multiplies the chance of a first placement with kin by 1.35 and the mean stay by 0.80. Factors are
scaled within each race group, so the race effects hold.
"""

_AGE_BOUNDS = {"0-4": (0, 5), "5-9": (5, 10), "10-14": (10, 15), "15-17": (15, 18)}
_AGE_SHARE = {"0-4": 5 / 18, "5-9": 5 / 18, "10-14": 5 / 18, "15-17": 3 / 18}


@dataclass
class SampleState:
    """The four canonical tables of a generated state."""

    children: pd.DataFrame
    reports: pd.DataFrame
    episodes: pd.DataFrame
    population: pd.DataFrame
    dv_services: pd.DataFrame | None = None
    meetings: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"children": self.children, "reports": self.reports, "episodes": self.episodes,
               "population": self.population}
        for name in ("dv_services", "meetings"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


def _population(counties: tuple[County, ...], scale: float) -> pd.DataFrame:
    rows = []
    hmix = PLANTED["hispanic_race_mix"]
    mmix = PLANTED["multiracial_mix"]
    growth = PLANTED["population_growth_per_year"]
    for c in counties:
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            total = c.children * scale * (1 + growth) ** (year - FIRST_YEAR)
            for age in AGE_GROUPS:
                for sex in ("female", "male"):
                    cell = {g: total * c.shares.get(g, 0.0) * _AGE_SHARE[age] * 0.5 for g in GROUPS}
                    for g in GROUPS:
                        rows.append((c.name, year, g, age, sex, int(round(cell[g]))))
                    # census "alone or in combination" counts, consistent with the record mixes
                    black_aic = cell["black"] + mmix["black+white"] * cell["multiracial"] + hmix["black"] * cell[
                        "hispanic"]
                    aian_aic = cell["aian"] + mmix["aian+white"] * cell["multiracial"] + hmix["aian"] * cell[
                        "hispanic"]
                    rows.append((c.name, year, "black_aic", age, sex, int(round(black_aic))))
                    rows.append((c.name, year, "aian_aic", age, sex, int(round(aian_aic))))
    return pd.DataFrame(rows, columns=["jurisdiction", "year", "race_ethnicity", "age_group", "sex",
                                       "population"])


def _mult(table: dict, groups: np.ndarray) -> np.ndarray:
    m = table["multiplier"]
    return table["base"] * np.array([m[g] for g in GROUPS])[groups]


def _fmt(dates: np.ndarray) -> np.ndarray:
    return pd.to_datetime(dates).strftime("%Y-%m-%d").to_numpy()


def generate(*, seed: int = DEFAULT_SEED, scale: float = 1.0,
             counties: tuple[County, ...] = COUNTIES) -> SampleState:
    """Generate the sample state.

    Parameters
    ----------
    seed : random seed; the same seed and scale always give the same tables.
    scale : multiplies every county's child population (1.0 = the committed sample state).
    counties : the counties to generate.

    Returns
    -------
    SampleState with ``children``, ``reports``, ``episodes`` and ``population`` in canonical form
    (dates as ISO strings, exit columns empty for open episodes).
    """
    # every draw below comes from ``rng`` in this order (or from a stream of its own): the same seed, the same state
    rng = np.random.default_rng(seed)
    pop = _population(counties, scale)
    base = pop[pop["race_ethnicity"].isin(GROUPS)].reset_index(drop=True)
    grp, county, age, sex, fy_start, report_date, birth_date = _reported_children(rng, base, counties)
    N = len(grp)
    flags, hisp = _race_and_origin(rng, grp)
    sex[rng.random(N) < PLANTED["coded_unknown_sex"]] = "unknown"
    child_id = np.char.add("C", np.char.zfill(np.arange(1, N + 1).astype(str), 8))
    eq = _equity_flags(np.random.default_rng([seed, 2026]), grp, flags[:, 0] == 1, age)
    children = _children_table(child_id, birth_date, sex, flags, hisp, eq)

    # --- index report through the chain; family team meetings from their own stream
    dv = eq["dv_involved"] == "yes"
    screened, subst = _screen_and_substantiate(rng, grp, dv)
    tdm, ftm, d_tdm, d_ftm, tdm_f = _meeting_draws(np.random.default_rng([seed, 2028]), screened, grp)
    enters, disp = _removal_and_disposition(rng, grp, screened, subst, dv, eq["disability"] == "yes", tdm_f)
    reports = _reports_table(rng, child_id, county, fy_start, report_date, birth_date, screened, disp,
                             eq["dv_involved"])

    # --- episodes: first entries, then re-entries within a year of going home
    e, entry, first, factors = _first_episodes(rng, enters, report_date, grp, birth_date, eq, ftm)
    second = _reentries(rng, first, grp, birth_date, factors)
    episodes = _episodes_table(first, second, child_id, county)
    meetings = _meetings_table(child_id, report_date, e, entry, first, tdm, ftm, d_tdm, d_ftm)

    # --- a domestic violence partner's services, linked by a keyed family hash (equity_helpers.data.linkage)
    race = assign_groups(children, scheme="hispanic_first").set_index("child_id")["race_ethnicity"]
    hashes, dv_services = partner_sample(reports, race=race, rng=np.random.default_rng([seed, 2027]),
                                         key=SAMPLE_KEY, data_end=DATA_END)
    reports["family_hash"] = hashes.fillna("").to_numpy(dtype=object)
    return SampleState(children=children, reports=reports, episodes=episodes, population=pop,
                       dv_services=dv_services, meetings=meetings)


def _reported_children(rng: np.random.Generator, base: pd.DataFrame, counties: tuple[County, ...]
                       ) -> tuple[np.ndarray, ...]:
    """The newly reported children of every population cell (Poisson), each with its group, county, age, sex,
    fiscal year's first day, index report date and birth date (in that order)."""
    g_idx = base["race_ethnicity"].map({g: i for i, g in enumerate(GROUPS)}).to_numpy()
    rate = base["jurisdiction"].map({c.name: c.report_rate for c in counties}).to_numpy()
    rm = np.array([PLANTED["report_multiplier"][g] for g in GROUPS])[g_idx]
    for county, over in PLANTED["report_multiplier_by_county"].items():
        for g, v in over.items():
            sel = (base["jurisdiction"].to_numpy() == county) & (base["race_ethnicity"].to_numpy() == g)
            rm = np.where(sel, v, rm)
    af = base["age_group"].map(PLANTED["age_factor"]).to_numpy()
    lam = base["population"].to_numpy() * rate * rm * af
    n = rng.poisson(lam)
    cell = np.repeat(np.arange(len(base)), n)
    N = len(cell)

    grp = g_idx[cell]
    county = base["jurisdiction"].to_numpy()[cell]
    year = base["year"].to_numpy()[cell]
    age_group = base["age_group"].to_numpy()[cell]
    sex = base["sex"].to_numpy()[cell].astype(object)
    lo = np.array([_AGE_BOUNDS[a][0] for a in AGE_GROUPS])
    hi = np.array([_AGE_BOUNDS[a][1] for a in AGE_GROUPS])
    ai = pd.Series(age_group).map({a: i for i, a in enumerate(AGE_GROUPS)}).to_numpy()
    age = lo[ai] + rng.random(N) * (hi[ai] - lo[ai])

    fy_start = pd.to_datetime([str(period_bounds(y)[0]) for y in range(FIRST_YEAR, LAST_YEAR + 1)])
    fy_start = fy_start.to_numpy()[year - FIRST_YEAR]
    report_date = fy_start + (rng.integers(0, 365, N)).astype("timedelta64[D]")
    birth_date = report_date - np.round(age * 365.25).astype("int64").astype("timedelta64[D]")
    return grp, county, age, sex, fy_start, report_date, birth_date


def _race_and_origin(rng: np.random.Generator, grp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Race flags (columns: aian asian black nhpi white unknown) and Hispanic origin, consistent with the
    population's composition, a few coded unknown."""
    N = len(grp)
    flags = np.zeros((N, 6), dtype=np.int8)  # aian asian black nhpi white unknown
    col = {"aian": 0, "asian": 1, "black": 2, "nhpi": 3, "white": 4, "unknown": 5}
    hisp = np.full(N, "no", dtype=object)
    for gi, g in enumerate(GROUPS):
        sel = np.flatnonzero(grp == gi)
        if g in col:
            flags[sel, col[g]] = 1
        elif g == "multiracial":
            mix = list(PLANTED["multiracial_mix"].items())
            pick = rng.choice(len(mix), size=len(sel), p=[p for _, p in mix])
            for k, (combo, _) in enumerate(mix):
                for r in combo.split("+"):
                    flags[sel[pick == k], col[r]] = 1
        elif g == "hispanic":
            hisp[sel] = "yes"
            mix = list(PLANTED["hispanic_race_mix"].items())
            pick = rng.choice(len(mix), size=len(sel), p=[p for _, p in mix])
            for k, (r, _) in enumerate(mix):
                flags[sel[pick == k], col[r]] = 1
    coded_unknown = rng.random(N) < PLANTED["coded_unknown_race"]
    flags[coded_unknown] = 0
    flags[coded_unknown, 5] = 1
    hisp[coded_unknown] = "unknown"
    unk_h = (~coded_unknown) & (hisp == "no") & (rng.random(N) < PLANTED["coded_unknown_hispanic"])
    hisp[unk_h] = "unknown"
    return flags, hisp


def _children_table(child_id: np.ndarray, birth_date: np.ndarray, sex: np.ndarray, flags: np.ndarray,
                    hisp: np.ndarray, eq: dict[str, np.ndarray]) -> pd.DataFrame:
    """The children table: id, birth date, sex, race flags, Hispanic origin and the equity columns."""
    children = pd.DataFrame({"child_id": child_id, "birth_date": _fmt(birth_date), "sex": sex})
    for j, f in enumerate(RACE_FLAGS):
        children[f] = flags[:, j]
    children["hispanic"] = hisp
    for name in ("disability", "lgbtq", "immigrant_family", "tribal_affiliation"):
        children[name] = eq[name]
    return children


def _screen_and_substantiate(rng: np.random.Generator, grp: np.ndarray, dv: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Whether each child's index report is screened in, and substantiated (only if screened in)."""
    N = len(grp)
    ep = EQUITY_PLANTED
    screened = rng.random(N) < _mult(PLANTED["screened_in"], grp) * _factor(dv, ep["dv_involved"]["screened_in"])
    subst = screened & (rng.random(N) < _mult(PLANTED["substantiated"], grp)
                        * _factor(dv, ep["dv_involved"]["substantiated"]))
    return screened, subst


def _meeting_draws(r3: np.random.Generator, screened: np.ndarray, grp: np.ndarray) -> tuple[np.ndarray, ...]:
    """The family team meetings' draws, from their own stream: a team decision-making meeting at the report
    (screened-in children) and a family team meeting after removal, the days after each, and the factor
    the first puts on entering care: ``(tdm, ftm, d_tdm, d_ftm, tdm_f)``."""
    N = len(grp)
    mr, mv = EQUITY_PLANTED["meeting_at_report"], EQUITY_PLANTED["meeting_at_removal"]
    u_tdm, u_ftm = r3.random(N), r3.random(N)
    d_tdm, d_ftm = r3.integers(0, mr["days"] + 1, N), r3.integers(1, mv["days"] + 1, N)
    tdm = screened & (u_tdm < np.array([mr["p"][g] for g in GROUPS])[grp])
    ftm = u_ftm < np.array([mv["p"][g] for g in GROUPS])[grp]
    tdm_f = np.ones(N)  # scaled among the screened-in children, whose decisions it changes
    tdm_f[screened] = _factor(tdm[screened], mr["entered_care"], grp[screened])
    return tdm, ftm, d_tdm, d_ftm, tdm_f


def _removal_and_disposition(rng: np.random.Generator, grp: np.ndarray, screened: np.ndarray, subst: np.ndarray,
                             dv: np.ndarray, disabled: np.ndarray, tdm_f: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Whether each substantiated child enters care, and the index report's disposition."""
    N = len(grp)
    ep = EQUITY_PLANTED
    enters = subst & (rng.random(N) < _mult(PLANTED["entered_care"], grp)
                      * _factor(dv, ep["dv_involved"]["entered_care"])
                      * _factor(disabled, ep["disability"]["entered_care"])
                      * tdm_f)
    disp = np.where(rng.random(N) < 0.7, "unsubstantiated", "alternative_response").astype(object)
    disp[subst] = np.where(rng.random(int(subst.sum())) < 0.8, "substantiated", "indicated")
    disp[~screened] = "none"
    return enters, disp


def _reports_table(rng: np.random.Generator, child_id: np.ndarray, county: np.ndarray, fy_start: np.ndarray,
                   report_date: np.ndarray, birth_date: np.ndarray, screened: np.ndarray, disp: np.ndarray,
                   dv_involved: np.ndarray) -> pd.DataFrame:
    """The reports table: each child's index report and extra screened-out reports in the same year (never
    before birth), in date order."""
    N = len(child_id)
    n_extra = rng.poisson(PLANTED["extra_reports_mean"], N)
    extra_of = np.repeat(np.arange(N), n_extra)
    extra_date = fy_start[extra_of] + rng.integers(0, 365, len(extra_of)).astype("timedelta64[D]")
    extra_date = np.maximum(extra_date, birth_date[extra_of])
    r_child = np.concatenate([np.arange(N), extra_of])
    r_date = np.concatenate([report_date, extra_date])
    r_screen = np.concatenate([screened.astype(np.int8), np.zeros(len(extra_of), np.int8)])
    r_disp = np.concatenate([disp, np.full(len(extra_of), "none", dtype=object)])
    order = np.lexsort((r_child, r_date))
    return pd.DataFrame({
        "report_id": np.char.add("R", np.char.zfill(np.arange(1, len(order) + 1).astype(str), 9)),
        "child_id": child_id[r_child[order]],
        "jurisdiction": county[r_child[order]],
        "report_date": _fmt(r_date[order]),
        "screened_in": r_screen[order],
        "disposition": r_disp[order],
        "dv_involved": dv_involved[r_child[order]],
    })


def _first_episodes(rng: np.random.Generator, enters: np.ndarray, report_date: np.ndarray, grp: np.ndarray,
                    birth_date: np.ndarray, eq: dict[str, np.ndarray], ftm: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The entrants' first episodes (entry up to 45 days after the report, by the data end), with the equity
    flags' and meetings' planted effects: ``(entrants, entry dates, episodes, factors for re-entries)``."""
    ep = EQUITY_PLANTED
    mv = ep["meeting_at_removal"]
    N = len(grp)
    disabled = eq["disability"] == "yes"
    e = np.flatnonzero(enters)
    entry = report_date[e] + rng.integers(0, 46, len(e)).astype("timedelta64[D]")
    keep = entry <= DATA_END.to_datetime64()
    e, entry = e[keep], entry[keep]
    lgbtq = eq["lgbtq"] == "yes"
    # immigrant families are more common in some groups: scaled within groups to keep the race effects
    kin_f = _factor(eq["immigrant_family"] == "yes", ep["immigrant_family"]["first_placement_kin"], grp)
    cong_f = (_factor(disabled, ep["disability"]["first_placement_congregate"])
              * _factor(lgbtq, ep["lgbtq"]["first_placement_congregate"])
              * _factor(lgbtq & (grp == GROUPS.index("black")), ep["lgbtq"]["black_and_lgbtq_congregate"]))
    first = _episodes(rng, e, entry, grp, birth_date, prior=0,
                      factors=(kin_f * _factor(ftm, mv["first_placement_kin"], grp), cong_f,
                               _factor(ftm, mv["mean_stay"], grp)))
    factors = (kin_f, cong_f, np.ones(N))  # re-entries: no meeting planted
    return e, entry, first, factors


def _reentries(rng: np.random.Generator, first: pd.DataFrame, grp: np.ndarray, birth_date: np.ndarray,
               factors: tuple[np.ndarray, np.ndarray, np.ndarray]) -> pd.DataFrame:
    """Second episodes: re-entries 14-365 days after going home (reunification, relative, guardianship),
    by the data end."""
    fam = first["exit_reason"].isin(["reunification", "relative", "guardianship"]).to_numpy()
    back = fam & (rng.random(len(first)) < _mult(PLANTED["reentry_12m"], grp[first["_child"].to_numpy()]))
    rc = first["_child"].to_numpy()[back]
    r_entry = first["_exit"].to_numpy()[back] + rng.integers(14, 366, int(back.sum())).astype("timedelta64[D]")
    ok = r_entry <= DATA_END.to_datetime64()
    return _episodes(rng, rc[ok], r_entry[ok], grp, birth_date, prior=1, factors=factors)


def _episodes_table(first: pd.DataFrame, second: pd.DataFrame, child_id: np.ndarray,
                    county: np.ndarray) -> pd.DataFrame:
    """The episodes table, in order of entry (exit columns empty for open episodes)."""
    eps = pd.concat([first, second], ignore_index=True).sort_values(["_entry", "_child"], kind="stable")
    return pd.DataFrame({
        "episode_id": np.char.add("E", np.char.zfill(np.arange(1, len(eps) + 1).astype(str), 8)),
        "child_id": child_id[eps["_child"].to_numpy()],
        "jurisdiction": county[eps["_child"].to_numpy()],
        "entry_date": _fmt(eps["_entry"].to_numpy()),
        "exit_date": np.where(eps["_open"].to_numpy(), "", _fmt(eps["_exit"].to_numpy())),
        "exit_reason": np.where(eps["_open"].to_numpy(), "", eps["exit_reason"].to_numpy()),
        "first_placement": eps["first_placement"].to_numpy(),
        "placement_count": eps["placement_count"].to_numpy(),
        "prior_episodes": eps["prior_episodes"].to_numpy(),
    })


def _meetings_table(child_id: np.ndarray, report_date: np.ndarray, e: np.ndarray, entry: np.ndarray,
                    first: pd.DataFrame, tdm: np.ndarray, ftm: np.ndarray, d_tdm: np.ndarray,
                    d_ftm: np.ndarray) -> pd.DataFrame:
    """The meetings table: team decision-making at the report (never after the removal) and family team
    meetings after the first removal, by the data end, in date order."""
    N = len(child_id)
    entry_of = np.full(N, np.datetime64("NaT"), dtype="datetime64[ns]")
    entry_of[e] = entry
    at_report = report_date + d_tdm.astype("timedelta64[D]")
    at_report = np.where(np.isnat(entry_of) | (at_report <= entry_of), at_report, entry_of)
    fe = first["_child"].to_numpy()
    with_ftm = fe[ftm[fe]]
    after = entry_of[with_ftm] + d_ftm[with_ftm].astype("timedelta64[D]")
    meetings = pd.DataFrame({
        "child_id": np.concatenate([child_id[tdm], child_id[with_ftm]]),
        "meeting_date": np.concatenate([at_report[tdm], after]),
        "meeting_type": ["team_decision_making"] * int(tdm.sum()) + ["family_team_meeting"] * len(with_ftm)})
    meetings = meetings[meetings["meeting_date"] <= DATA_END.to_datetime64()]
    meetings = meetings.sort_values(["meeting_date", "child_id"], kind="stable").reset_index(drop=True)
    meetings["meeting_date"] = _fmt(meetings["meeting_date"].to_numpy())
    return meetings


def _factor(flagged: np.ndarray, ratio: float, groups: np.ndarray | None = None) -> np.ndarray:
    """Probability factors giving flagged children ``ratio`` times the chance of the others, scaled so
    that their mean is 1 over all children (or within each of ``groups``): a decision's overall rate
    stays as in :data:`PLANTED`, and so does every race group's when the flag is drawn alike in every
    group or the factors are scaled within groups."""
    raw = np.where(flagged, ratio, 1.0)
    if not len(raw):
        return raw
    if groups is None:
        return raw / raw.mean()
    means = np.bincount(groups, weights=raw) / np.maximum(np.bincount(groups), 1)
    return raw / means[groups]


def _equity_flags(rng: np.random.Generator, grp: np.ndarray, aian_flag: np.ndarray,
                  age: np.ndarray) -> dict[str, np.ndarray]:
    """The optional equity columns of every child (:data:`EQUITY_PLANTED`), from their own stream."""
    ep = EQUITY_PLANTED
    n = len(grp)

    def three(p_yes, p_unknown) -> np.ndarray:
        u = rng.random(n)
        return np.where(u < p_yes, "yes", np.where(u < p_yes + p_unknown, "unknown", "no")).astype(object)

    out = {"disability": three(ep["disability"]["yes"], ep["disability"]["unknown"])}
    lg = three(ep["lgbtq"]["yes"], ep["lgbtq"]["unknown"])
    lg[age < ep["lgbtq"]["asked_from_age"]] = "not_asked"
    out["lgbtq"] = lg
    im = ep["immigrant_family"]["yes"]
    p_im = np.array([im.get(g, im["other"]) for g in GROUPS])[grp]
    out["immigrant_family"] = three(p_im, ep["immigrant_family"]["unknown"])
    tr_y, tr_u = ep["tribal_affiliation"]["yes"], ep["tribal_affiliation"]["unknown"]
    is_aian = grp == GROUPS.index("aian")
    p_tr = np.where(is_aian, tr_y["aian"], np.where(aian_flag, tr_y["aian_in_combination"], tr_y["other"]))
    out["tribal_affiliation"] = three(p_tr, np.where(is_aian, tr_u["aian"], tr_u["other"]))
    out["dv_involved"] = three(ep["dv_involved"]["yes"], ep["dv_involved"]["unknown"])
    return out


def _episodes(rng: np.random.Generator, child: np.ndarray, entry: np.ndarray, grp: np.ndarray,
              birth: np.ndarray, *, prior: int, factors: tuple[np.ndarray, np.ndarray] | None = None
              ) -> pd.DataFrame:
    g = grp[child]
    m = len(child)
    u = rng.random(m)
    kin_p = _mult(PLANTED["first_placement_kin"], g)
    cong_p = _mult(PLANTED["first_placement_congregate"], g)
    stay_f = np.ones(m)
    if factors is not None:  # the equity flags' and meetings' planted effects (EQUITY_PLANTED)
        kin_p = np.minimum(kin_p * factors[0][child], 1.0)
        cong_p = np.minimum(cong_p * factors[1][child], 1 - kin_p)
        stay_f = factors[2][child]
    place = np.where(u < kin_p, "kin", np.where(u < kin_p + cong_p, "congregate",
                                                  np.where(rng.random(m) < 0.95, "nonkin_foster", "other")))
    reasons = list(PLANTED["exit_mix"]["white"].keys())
    probs = np.array([[PLANTED["exit_mix"][gr][r] for r in reasons] for gr in GROUPS])
    cum = probs.cumsum(axis=1)[g]
    reason = np.array(reasons, dtype=object)[(rng.random(m)[:, None] > cum).sum(axis=1).clip(0, len(reasons) - 1)]
    mean = _mult(PLANTED["mean_stay_days"], g) * stay_f
    days = rng.exponential(mean)
    days = np.where(reason == "adoption", days * PLANTED["adoption_stay_factor"], days)
    days = np.maximum(np.round(days), 1).astype("int64")
    exit_ = entry + days.astype("timedelta64[D]")
    eighteen = birth[child] + np.round(18 * 365.25).astype("int64").astype("timedelta64[D]")
    aged = (eighteen < exit_) & (eighteen > entry)
    exit_ = np.where(aged, eighteen, exit_)
    reason = np.where(aged, "emancipation", reason)
    open_ = exit_ > DATA_END.to_datetime64()
    end = np.where(open_, DATA_END.to_datetime64(), exit_)
    years = np.maximum((end - entry).astype("timedelta64[D]").astype(float), 0) / 365.25
    moves = rng.poisson(years * _mult(PLANTED["moves_per_year"], g))
    return pd.DataFrame({"_child": child, "_entry": entry, "_exit": exit_, "_open": open_,
                         "exit_reason": reason, "first_placement": place, "placement_count": 1 + moves,
                         "prior_episodes": prior})


def truth_table() -> pd.DataFrame:
    """The planted effects a correct analysis should recover, relative to White children.

    Returns
    -------
    DataFrame with columns ``stage``, ``basis`` ("decision" or "population"), ``race_ethnicity``
    and ``rri`` (expected relative rate index under the ``hispanic_first`` scheme).

    Decision-based rows hold in every county and statewide (the probabilities do not vary by
    county). Population-based rows hold *within* a county: report rates differ between counties,
    so a statewide population-based RRI also mixes county composition; and the Hispanic report
    multiplier is 1.7 in Cedar Valley (over-represented locally) instead of 0.85.
    """
    rows = []
    pop_rri = {g: PLANTED["report_multiplier"][g] for g in GROUPS}
    for g in GROUPS:
        rows.append(("reported", "population", g, pop_rri[g]))
    for stage in ("screened_in", "substantiated", "entered_care"):
        for g in GROUPS:
            m = PLANTED[stage]["multiplier"][g]
            pop_rri[g] *= m
            rows.append((stage, "decision", g, m))
            rows.append((stage, "population", g, pop_rri[g]))
    for stage in ("first_placement_kin", "first_placement_congregate"):
        for g in GROUPS:
            rows.append((stage, "decision", g, PLANTED[stage]["multiplier"][g]))
    for g in GROUPS:
        rows.append(("reunified_12m", "decision", g, _p_reunified_12m(g) / _p_reunified_12m("white")))
    return pd.DataFrame(rows, columns=["stage", "basis", "race_ethnicity", "rri"])


def equity_truth_table() -> pd.DataFrame:
    """The planted effects of the optional equity columns a correct analysis should recover.

    Returns
    -------
    DataFrame with ``breakdown``, ``level``, ``reference_level``, ``race_ethnicity`` (the group the row
    holds within; ``"all"``: all children together), ``reference_group`` (for intersection rows: the
    race group compared with, within the same level; else empty), ``stage`` and ``rri`` (expected
    decision-based relative rate). Entry to care is stated for the cohort-linked stage
    ``entered_after_substantiation`` (entries within 90 days of the finding), which follows the
    children the decision was about; the same-year ``entered_care`` rate mixes in entries from other
    years' reports.
    """
    ep = EQUITY_PLANTED
    rows = [
        ("disability", "yes", "no", "all", "", "entered_after_substantiation", ep["disability"]["entered_care"]),
        ("disability", "yes", "no", "all", "", "first_placement_congregate",
         ep["disability"]["first_placement_congregate"]),
        # immigrant families are more common among Hispanic and Asian children, whose kin rates differ: the
        # ratio holds within each group, not for all children together
        ("immigrant_family", "yes", "no", "white", "", "first_placement_kin",
         ep["immigrant_family"]["first_placement_kin"]),
        ("immigrant_family", "yes", "no", "hispanic", "", "first_placement_kin",
         ep["immigrant_family"]["first_placement_kin"]),
        ("dv_involved", "yes", "no", "all", "", "screened_in", ep["dv_involved"]["screened_in"]),
        ("dv_involved", "yes", "no", "all", "", "substantiated", ep["dv_involved"]["substantiated"]),
        ("dv_involved", "yes", "no", "all", "", "entered_after_substantiation", ep["dv_involved"]["entered_care"]),
    ]
    lg = ep["lgbtq"]["first_placement_congregate"]
    both = ep["lgbtq"]["black_and_lgbtq_congregate"]
    black = PLANTED["first_placement_congregate"]["multiplier"]["black"]
    rows += [
        ("lgbtq", "yes", "no", "white", "", "first_placement_congregate", lg),
        ("lgbtq", "yes", "no", "black", "", "first_placement_congregate", lg * both),
        # the intersection: Black against White youth within each level
        ("lgbtq", "yes", "yes", "black", "white", "first_placement_congregate", black * both),
        ("lgbtq", "no", "no", "black", "white", "first_placement_congregate", black),
    ]
    mr, mv = ep["meeting_at_report"], ep["meeting_at_removal"]
    for g in ("white", "black"):  # meetings are more common in some groups: the ratios hold within groups
        rows += [("meeting_at_report", "yes", "no", g, "", "entered_after_substantiation", mr["entered_care"]),
                 ("meeting_at_removal", "yes", "no", g, "", "first_placement_kin", mv["first_placement_kin"])]
    return pd.DataFrame(rows, columns=["breakdown", "level", "reference_level", "race_ethnicity", "reference_group",
                                       "stage", "rri"])


def _p_reunified_12m(g: str) -> float:
    """P(exit by reunification within 365 days of entry), ignoring aging out and censoring."""
    mean = PLANTED["mean_stay_days"]["base"] * PLANTED["mean_stay_days"]["multiplier"][g]
    return PLANTED["exit_mix"][g]["reunification"] * (1 - np.exp(-365.0 / mean))


def write_sample(out: str | Path, *, seed: int = DEFAULT_SEED, scale: float = 1.0,
                 fmt: str = "csv", counties: int | None = None) -> dict[str, Path]:
    """Generate a state and write its tables to ``out`` (``fmt`` "csv" or "parquet").

    ``counties``: how many counties (default: the 12 of the sample; more adds generated ones, see
    :func:`counties_for`).

    Also writes ``truth_table.csv``, ``generator.json`` (seed, scale, planted effects),
    ``counties.geojson`` (synthetic rectangular county shapes for the index page's map) and the
    collaboration survey (:func:`write_survey_sample`).
    Returns the paths written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = COUNTIES if counties is None else counties_for(counties)
    state = generate(seed=seed, scale=scale, counties=chosen)
    paths: dict[str, Path] = {}
    for name, df in state.tables().items():
        p = out / f"{name}.{fmt}"
        if fmt == "parquet":
            df.to_parquet(p, index=False)
        else:
            df.to_csv(p, index=False)
        paths[name] = p
    truth_table().to_csv(out / "truth_table.csv", index=False)
    equity_truth_table().to_csv(out / "equity_truth_table.csv", index=False)
    shapes = synthetic_counties([c.name for c in chosen], columns=4 if chosen is COUNTIES else None)
    (out / "counties.geojson").write_text(json.dumps(shapes) + "\n")
    paths["counties"] = out / "counties.geojson"
    (out / "generator.json").write_text(json.dumps(
        {"seed": seed, "scale": scale, "first_year": FIRST_YEAR, "last_year": LAST_YEAR,
         "data_end": str(DATA_END.date()), "planted": PLANTED, "equity_planted": EQUITY_PLANTED,
         "counties": [c.__dict__ for c in chosen],
         "survey": {"planted": SURVEY_PLANTED, "base": SURVEY_BASE, "noise": SURVEY_NOISE}}, indent=1, default=str))
    paths.update(write_survey_sample(out, seed=seed))
    return paths


def scale_for_children(n_children: int, counties: tuple[County, ...] = COUNTIES) -> float:
    """Population scale that makes the generated state hold about ``n_children`` reported children."""
    pop = _population(counties, 1.0)
    base = pop[pop["race_ethnicity"].isin(GROUPS)]
    rate = base["jurisdiction"].map({c.name: c.report_rate for c in counties})
    rm = base["race_ethnicity"].map(PLANTED["report_multiplier"])
    af = base["age_group"].map(PLANTED["age_factor"])
    expected = float((base["population"] * rate * rm * af).sum())
    return n_children / expected


# --------------------------------------------------------------------------- the collaboration survey
SURVEY_INSTRUMENT = Path(__file__).with_name("survey_instrument.yml")
"""The illustrative instrument the sample's responses answer (copied into the sample folder)."""
SURVEY_WAVES = ("2024", "2025", "2026")
SURVEY_ORGANISATIONS: dict[str, dict[str, int]] = {
    "child_welfare": {"State Department of Children and Families": 30, "Riverbend County Children's Services": 10,
                      "Pine Ridge County Children's Services": 6},
    "domestic_violence": {"Safe Harbor Domestic Violence Coalition": 12, "Lakeshore Women's Shelter": 7,
                          "Cedar Valley Family Justice Center": 4},
    "community": {"Riverbend Community Action": 8, "Parent Partners Network": 9, "Latino Family Alliance": 6,
                  "Youth Voice Council": 3},
    "tribal": {"Pine Ridge Tribal ICWA Program": 4, "Tribal Family Services": 3},
    "courts_legal": {"Family Court Improvement Program": 5, "Parents' Legal Defense": 3},
}
"""Respondents per organisation and wave (small ones on purpose: their groups must be hidden)."""
SURVEY_BASE = {"shared_vision": 3.3, "shared_power": 2.5, "transparency": 3.2, "resources": 2.9,
               "accountability": 2.8, "lived_experience": 2.9, "data": 2.5, "leadership": 3.4}
"""Mean domain score (latent, 1-5 scale) in the first wave, before the planted effects below."""
SURVEY_PLANTED: list[dict] = [
    {"domain": "data", "sector": "all", "per_wave": 0.4,
     "what": "sharing data and making meaning together improves by 0.4 a wave in every sector (+0.8 by 2026)"},
    {"domain": "shared_power", "sector": "child_welfare", "offset": 1.0,
     "what": "the child welfare agency rates shared power 1.0 higher than its partners in 2024 and stays there"},
    {"domain": "shared_power", "sector": "partners", "per_wave": 0.3,
     "what": "every other sector's shared-power score rises 0.3 a wave, so the gap narrows from 1.0 to 0.4"},
    {"domain": "transparency", "sector": "all", "last_wave": -0.5,
     "what": "transparency and truth-telling drops by 0.5 in 2026 in every sector (2024 and 2025 equal)"},
    {"domain": "lived_experience", "sector": "domestic_violence", "offset": 0.6,
     "what": "domestic violence programs rate centering survivors 0.6 higher than other sectors"},
    {"domain": "lived_experience", "sector": "child_welfare", "per_wave": 0.25,
     "what": "the child welfare agency's score for centering survivors rises 0.25 a wave"},
    {"domain": "resources", "sector": "community", "offset": -0.5,
     "what": "community organisations rate the sharing of resources 0.5 lower than other sectors"},
]
"""The planted effects on domain means (every other domain and sector stays at its base)."""
SURVEY_NOISE = {"person": 0.45, "person_domain": 0.4, "item": 0.45, "blank": 0.04, "dont_know": 0.01,
                "returning": 0.7, "loose_item": "ac3", "loose_item_sd": 1.2}
"""Standard deviations of the respondent, respondent-by-domain and item terms; shares of blank and
"don't know" answers and of respondents who answer again the next wave. One item (``loose_item``,
"We rarely hear from the families our decisions affect.") is answered with much more noise
(``loose_item_sd``): its domain, accountability, holds together less well (a lower Cronbach's alpha),
as a real instrument's weak item would."""


def survey_truth() -> pd.DataFrame:
    """Planted mean (latent) domain score per wave, sector and domain: ``wave``, ``sector``, ``domain``, ``mean``."""
    rows = []
    for w_i, wave in enumerate(SURVEY_WAVES):
        for sector in SURVEY_ORGANISATIONS:
            for domain, base in SURVEY_BASE.items():
                mu = base
                for e in SURVEY_PLANTED:
                    applies = (e["domain"] == domain and (e["sector"] in ("all", sector) or
                                                          (e["sector"] == "partners" and sector != "child_welfare")))
                    if not applies:
                        continue
                    mu += e.get("offset", 0.0) + e.get("per_wave", 0.0) * w_i
                    mu += e.get("last_wave", 0.0) * (w_i == len(SURVEY_WAVES) - 1)
                rows.append((wave, sector, domain, round(mu, 4)))
    return pd.DataFrame(rows, columns=["wave", "sector", "domain", "mean"])


def survey_responses(*, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Three waves of sample collaboration-survey answers with the planted effects of :data:`SURVEY_PLANTED`.

    Each respondent's answer to an item is ``round(mean + person + person x domain + item noise)`` clipped
    to 1-5 (the statement's wording turned around for reverse-scored items); 70% of a wave's respondents
    answer again the next wave (same id), the others are new. Columns: ``wave``, ``respondent_id``,
    ``organisation``, ``sector``, ``role``, ``race_ethnicity`` (optional demographics, never published),
    ``item``, ``response`` (a number, or blank / "Don't know").
    """
    rng = np.random.default_rng(seed + 15)
    spec = yaml.safe_load(SURVEY_INSTRUMENT.read_text(encoding="utf-8"))
    items = [(d["id"], i["id"], bool(i.get("reverse", False))) for d in spec["domains"] for i in d["items"]]
    truth = survey_truth().set_index(["wave", "sector", "domain"])["mean"]
    people: dict[str, list[dict]] = {}
    next_id = 1
    rows = []
    for wave in SURVEY_WAVES:
        for sector, orgs in SURVEY_ORGANISATIONS.items():
            for org, size in orgs.items():
                before = people.get(org, [])
                keep = [p for p in before if rng.random() < SURVEY_NOISE["returning"]][:size]
                while len(keep) < size:
                    role = rng.choice(["leadership", "staff", "lived_experience"],
                                      p=[0.2, 0.55, 0.25] if sector == "community" else [0.25, 0.65, 0.10])
                    race = rng.choice(["Black", "Hispanic or Latino", "White", "American Indian or Alaska Native",
                                       "Asian", "Two or more", ""], p=[.2, .15, .4, .08, .05, .07, .05])
                    keep.append({"id": f"R{next_id:04d}", "role": str(role), "race": str(race),
                                 "person": rng.normal(0, SURVEY_NOISE["person"])})
                    next_id += 1
                people[org] = keep
                for p in keep:
                    pd_terms = {d: rng.normal(0, SURVEY_NOISE["person_domain"]) for d in SURVEY_BASE}
                    for domain, item, reverse in items:
                        sd = SURVEY_NOISE["loose_item_sd" if item == SURVEY_NOISE["loose_item"] else "item"]
                        latent = truth[(wave, sector, domain)] + p["person"] + pd_terms[domain] + rng.normal(0, sd)
                        value = int(np.clip(np.rint(latent), 1, 5))
                        if reverse:
                            value = 6 - value
                        u = rng.random()
                        answer = "" if u < SURVEY_NOISE["blank"] else (
                            "Don't know" if u < SURVEY_NOISE["blank"] + SURVEY_NOISE["dont_know"] else str(value))
                        rows.append((wave, p["id"], org, sector, p["role"], p["race"], item, answer))
    return pd.DataFrame(rows, columns=["wave", "respondent_id", "organisation", "sector", "role", "race_ethnicity",
                                       "item", "response"])


def write_survey_sample(out: str | Path, *, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write ``survey_responses.csv``, ``survey_instrument.yml`` and ``survey_truth.csv`` to ``out``."""
    out = Path(out)
    paths = {"survey_responses": out / "survey_responses.csv", "survey_instrument": out / "survey_instrument.yml",
             "survey_truth": out / "survey_truth.csv"}
    survey_responses(seed=seed).to_csv(paths["survey_responses"], index=False)
    shutil.copyfile(SURVEY_INSTRUMENT, paths["survey_instrument"])
    survey_truth().to_csv(paths["survey_truth"], index=False)
    return paths
