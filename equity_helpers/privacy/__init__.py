"""Privacy: the small-numbers policy and the disclosure engine.

It knows cells and the relations between them, nothing about children or decision points:
:mod:`~equity_helpers.privacy.suppression` holds the policy (counts 1-10 hidden, unstable rates flagged) and
the table-level suppression of a counts table; :mod:`~equity_helpers.privacy.disclosure` protects a whole
table of cells against every published relation at once (:func:`protect`) and proves it by linear
programming (:func:`audit`). The release table (:mod:`equity_helpers.release`) is its one user for anything
published. The map of the package is ``docs/architecture.md``.
"""
from equity_helpers.privacy.disclosure import (
    DisclosureError,
    Protection,
    Relations,
    additive,
    audit,
    ordered,
    primary_cells,
    protect,
)
from equity_helpers.privacy.suppression import (
    DEFAULT_POLICY,
    SuppressionPolicy,
    shareable_counts,
    suppress_counts,
    unstable_mask,
)

_policy = ["SuppressionPolicy", "DEFAULT_POLICY", "suppress_counts", "shareable_counts", "unstable_mask"]
_disclosure = ["Protection", "Relations", "additive", "ordered", "protect", "audit", "primary_cells", "DisclosureError"]
__all__ = _policy + _disclosure
