"""When a table's child ids do not link to the children table: a plain error with examples and the likely cause.

A report or episode whose child is not in the children table is left out and counted (``unknown_child``).
When most of a table's rows fail to link, the ids were exported differently (``"00000123"`` in one file and
``"123"`` in another, upper and lower case, spaces): leaving them out would leave nothing, or a biased rest,
to count. :func:`link_problem` turns that into one error naming both files' ids and the likely cause.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from equity_helpers.errors import Problem

__all__ = ["MOST", "likely_cause", "link_problem", "nothing_left"]

MOST = 0.5
"""Above this share of a table's rows naming an unknown child, the ids are taken not to link at all."""

_CAUSES = (
    (lambda v: v.strip(), "spaces around the ids in one file"),
    (lambda v: v.strip().lstrip("0") or "0", ("leading zeros: one file writes them (e.g. '00000123'), the other "
                                              "does not ('123'); export the ids as text in both files")),
    (lambda v: v.strip().casefold(), "upper and lower case: the ids differ only in case"),
    (lambda v: v.strip().casefold().lstrip("0") or "0", "leading zeros and upper/lower case"),
)


def likely_cause(unmatched: Sequence[str], children: Iterable[str]) -> str | None:
    """Why ``unmatched`` ids are not among ``children``: the first normal form (spaces, leading zeros, case)
    under which most of them match, or None."""
    kids = list(children)
    for norm, cause in _CAUSES:
        known = {norm(str(k)) for k in kids}
        hits = sum(norm(str(u)) in known for u in unmatched)
        if unmatched and hits * 2 > len(unmatched):
            return cause
    return None


def link_problem(table: str, unknown: int, total: int, unmatched: Sequence[str], children: Iterable[str],
                 children_examples: Sequence[str]) -> Problem | None:
    """The error when more than :data:`MOST` of ``table``'s ``total`` rows (``unknown`` of them) name a child
    not in the children table; ``unmatched``: a sample of those ids, ``children``: every child's id (for the
    cause), ``children_examples``: a few of them to show. None when most rows link."""
    if not total or unknown <= MOST * total:
        return None
    cause = likely_cause(unmatched, children)
    because = (f" The likely cause is {cause}." if cause else
               " Check that both files come from the same extract and use the same child id.")
    return Problem("error", table, "ids_do_not_link", unknown, "",
                   f"{unknown:,} of {total:,} {table} rows name a child_id that is not in the children table, "
                   f"so the files do not link: {table} has e.g. {', '.join(repr(u) for u in unmatched[:3])}; "
                   f"children has e.g. {', '.join(repr(c) for c in children_examples[:3])}.{because}")


def nothing_left(table: str, read: int, reasons: dict[str, int]) -> Problem:
    """The error when every row of a table was left out (nothing would be left to count)."""
    why = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return Problem("error", table, "nothing_left", read, "",
                   f"All {read:,} rows of the {table} table were left out ({why}); nothing is left to count. "
                   "The notes above say why.")
