"""One small-numbers policy: primary and complementary suppression, stability and volume flags.

Default policy (``docs/methods.md`` section 6.3; ``docs/architecture.md``, "Small numbers and
privacy"), every threshold configurable and printed in every report by :meth:`SuppressionPolicy.describe`:

* **Primary suppression**: counts from 1 to 10 are hidden (CCWIP). Zero is shown unless
  ``suppress_zero``.
* **Complementary suppression**: in every published margin (the groups of a table and their
  "all children" total; the counties and the statewide row; the levels of any breakdown such as
  age group), a margin may never hold exactly one hidden cell, or it could be recovered by
  subtraction. The smallest visible cell of such a margin (non-zero first) is hidden too, and the
  check repeats until no margin changes (``ccwip_masking_rule_with_complementary_hand``).
* **Derived measures**: every rate, share, index, interval, p-value and excess count computed
  from a hidden count is hidden.
* **Unstable**: rates and ratios resting on 20 or fewer events are flagged (relative standard
  error 1/sqrt(n) of 22.4% or more; CDC WISQARS).
* **Insufficient**: no disproportionality or relative rate index for a group under 1% of the
  child population, a base under 50 or a numerator under 5 (OJJDP practice; [M] thresholds).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = ["SuppressionPolicy", "DEFAULT_POLICY", "rse", "primary_mask", "suppress_counts",
           "unstable_mask", "shareable_counts", "SUPPRESSED_LABEL"]

SUPPRESSED_LABEL = "suppressed (1-10 or to protect a small count)"


@dataclass(frozen=True)
class SuppressionPolicy:
    """Small-numbers thresholds.

    Attributes
    ----------
    min_count, max_count : counts in ``[min_count, max_count]`` are suppressed (default 1-10).
    suppress_zero : also suppress zero counts.
    complementary : apply complementary suppression in every margin.
    unstable_max : counts at or below this are flagged unstable (default 20).
    min_group_share : no DI/RRI for groups below this share of the child population (0.01).
    min_base : no DI/RRI when the base is below this (50).
    min_numerator : no DI/RRI when the numerator is below this (5).
    """

    min_count: int = 1
    max_count: int = 10
    suppress_zero: bool = False
    complementary: bool = True
    unstable_max: int = 20
    min_group_share: float = 0.01
    min_base: int = 50
    min_numerator: int = 5

    def describe(self) -> str:
        """The policy in one plain sentence, for report footers."""
        zero = " and zero counts" if self.suppress_zero else ""
        comp = (" Other cells are hidden where needed so that a hidden count cannot be worked out "
                "from totals." if self.complementary else "")
        return (f"Counts from {self.min_count} to {self.max_count}{zero} are hidden, and so is every "
                f"number calculated from them.{comp} Figures based on {self.unstable_max} or fewer "
                f"children are marked unstable. Ratios are not shown for groups under "
                f"{self.min_group_share:.0%} of the child population, for bases under {self.min_base} "
                f"children or for fewer than {self.min_numerator} children.")

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_POLICY = SuppressionPolicy()


def rse(count: np.ndarray | float) -> np.ndarray:
    """Relative standard error of a Poisson count (and of a rate with a fixed base): ``1/sqrt(n)``."""
    n = np.asarray(count, dtype=float)
    with np.errstate(divide="ignore"):
        return 1.0 / np.sqrt(n)


def unstable_mask(count: np.ndarray, policy: SuppressionPolicy = DEFAULT_POLICY) -> np.ndarray:
    """True where a count is at or below ``policy.unstable_max`` (RSE >= 22.4% at the default)."""
    return np.asarray(count) <= policy.unstable_max


def primary_mask(count: pd.Series | np.ndarray, policy: SuppressionPolicy = DEFAULT_POLICY) -> np.ndarray:
    """True where a count must be hidden by the primary rule."""
    c = np.asarray(count, dtype=float)
    m = (c >= policy.min_count) & (c <= policy.max_count)
    if policy.suppress_zero:
        m |= c == 0
    return m


def suppress_counts(table: pd.DataFrame, *, keys: Sequence[str], margins: Sequence[str],
                    policy: SuppressionPolicy = DEFAULT_POLICY, value: str = "count") -> pd.DataFrame:
    """Mark primary and complementary suppression in a table of counts.

    Parameters
    ----------
    table : one row per cell, with ``value`` and the key columns.
    keys : the columns that identify a cell (e.g. jurisdiction, period, race_ethnicity, stage).
    margins : key columns along which cells add up to a published total. For each, the cells that
        share every other key form one margin: all levels of the column, including a total level
        when the table has one (``race_ethnicity == "all"``, ``jurisdiction == "Statewide"``).
    policy : the thresholds.
    value : the count column.

    Returns
    -------
    Copy of ``table`` with boolean ``suppressed`` and a ``suppression`` column ("primary",
    "complementary" or "").

    Notes
    -----
    Guarantee (property-tested): within every margin, the number of suppressed cells is never
    exactly one, so no hidden count equals a published total minus published cells.
    """
    out = table.copy()
    vals = out[value].to_numpy(dtype=float)
    primary = primary_mask(vals, policy)
    supp = primary.copy()
    margin_ids = []
    for col in margins:
        if col not in out.columns or out[col].nunique() < 2:
            continue
        others = [k for k in keys if k != col]
        gid = out.groupby(others, sort=False, dropna=False).ngroup().to_numpy() if others else np.zeros(len(out), int)
        margin_ids.append(gid)
    if policy.complementary and margin_ids:
        # rank cells: non-zero before zero, then smallest first
        order_key = np.where(vals == 0, np.inf, vals)
        changed = True
        while changed:
            changed = False
            for gid in margin_ids:
                n_supp = np.bincount(gid, weights=supp.astype(float), minlength=gid.max() + 1)
                lonely = np.flatnonzero(n_supp == 1)
                if not len(lonely):
                    continue
                cand = np.isin(gid, lonely) & ~supp
                if not cand.any():
                    continue
                idx = np.flatnonzero(cand)
                frame = pd.DataFrame({"g": gid[idx], "k": order_key[idx], "v": vals[idx], "i": idx})
                pick = frame.sort_values(["g", "k", "v"], kind="stable").drop_duplicates("g")["i"].to_numpy()
                supp[pick] = True
                changed = True
    out["suppressed"] = supp
    out["suppression"] = np.where(primary, "primary", np.where(supp, "complementary", ""))
    return out



def shareable_counts(counts: pd.DataFrame, *, policy: SuppressionPolicy | None = DEFAULT_POLICY,
                     keys: Sequence[str] | None = None) -> pd.DataFrame:
    """A stage-count table safe to share: suppressed counts become missing, with a flag.

    ``keys`` default to every column but ``count`` and ``base``; margins are the group, the
    jurisdiction and any breakdown column among the keys. Adds ``suppressed`` and ``shown``
    (the count as text, or "suppressed").
    """
    keys = list(keys) if keys is not None else [c for c in counts.columns if c not in ("count", "base")]
    if policy is None:
        out = counts.copy()
        out["suppressed"] = False
    else:
        margins = [k for k in keys if k not in ("period", "stage")]
        out = suppress_counts(counts, keys=keys, margins=margins, policy=policy).drop(columns="suppression")
    out["count"] = out["count"].astype("Int64").mask(out["suppressed"])
    out["shown"] = np.where(out["suppressed"], "suppressed", out["count"].astype(str))
    return out
