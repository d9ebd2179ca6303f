"""Disclosure control for a whole table of counts: primary and secondary suppression, and the audit.

The engine knows nothing about child welfare: it sees cells (an id and a count), which of them are
hidden, and the linear relations between them that a reader could use (totals, pooled windows,
orderings). :mod:`equity_helpers.release` builds those for the workbook.

Attacker model (what we protect against)
----------------------------------------
The reader knows every published (visible) count and every relation. Zeros are never hidden, so the
reader also knows that every hidden count is at least 1 (when ``suppress_zero`` is set, at least
0). For a hidden cell, the *feasible interval* is the smallest and largest value it can take
under all of that together: what a reader gets by linear programming over everything published
(the ``attack`` of sdcTable and tau-ARGUS). Integer values are relaxed to real numbers, the standard
choice; an integer attack can only find a narrower interval when the relaxed one is already narrow.

The protection rule (:class:`Protection`): every *sensitive* hidden cell (a count from
``min_count`` to ``max_count``) must keep a feasible interval at least ``width`` wide, and no other
hidden cell may be pinned (interval narrower than 1).

How the audit proves it, at the size of a state's release
--------------------------------------------------------
Exact intervals need two linear programs per hidden cell over its whole connected block of hidden
cells; in a release of 100,000 cells the blocks hold thousands of cells and that is hours of work.
The audit therefore proves the rule from the inside, which can only be stricter:

1. Relations whose hidden cells are all in one block form one linear program; blocks are
   independent (:func:`components`). Blocks of up to :data:`EXACT_MAX` cells are solved exactly.
2. In a larger block, linear programs with varied objectives (random, then aimed at the cells not
   yet proven) give feasible points: each is a set of values every hidden cell could take at once,
   consistent with everything published. A cell is proven protected when two feasible points are
   at least the required width apart in it.
3. A cell not proven that way gets its own two linear programs on a *slice* of its block: the
   hidden cells within a few relations of it are free, the rest are held at their true values.
   A slice's feasible interval is contained in the block's, so a slice that is wide enough proves
   the cell (and one that is not counts as a failure, which only adds suppression).

So every cell reported ``ok`` is protected against the full attack; ``low`` and ``high`` are values
the cell can take (exact for small blocks; for large ones the true interval contains them).

Secondary suppression (:func:`protect`) hides more cells until the audit passes: for each failing
cell, a visible non-zero cell of a relation that holds it (preferably one larger than the protection
width, the smallest such). Hiding a cell only relaxes the linear programs, so a cell proven
protected stays protected and only failing cells are checked again. A final full audit confirms
the result.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from equity_helpers.privacy import patterns

# SciPy is imported where it is used: a notebook kernel reads a protected release (and unpickles its
# Protection) without solving anything, and should not pay for scipy.optimize at startup.

__all__ = ["Protection", "Relations", "additive", "ordered", "protect", "audit", "components", "DisclosureError",
           "primary_cells",
           "AUDIT_FAILED", "EXACT_MAX"]

EXACT_MAX = 60
"""Blocks of at most this many hidden cells get exact intervals (two linear programs per cell)."""
EXACT_FALLBACK = 200
"""At most this many cells of a block get the exact programs when nothing cheaper proved them."""
SLICE_MAX = 120
"""Largest slice (hidden cells free around one cell) for the per-cell proof in a large block."""
TOL = 1e-7
_VERBOSE = False

AUDIT_FAILED = ("The disclosure audit failed for {n} hidden cell(s): a reader could work them out, or narrow "
                "them below the protection level, from the published numbers. Nothing was published.")
PRIMARY_DECIDED = "primary"
SECONDARY_DECIDED = "secondary"


class DisclosureError(RuntimeError):
    """A release whose audit fails (raised by callers; nothing may be published)."""


@dataclass(frozen=True)
class Protection:
    """The small-numbers rule.

    Attributes
    ----------
    min_count, max_count : counts in ``[min_count, max_count]`` are sensitive and hidden (1-10).
    strict_max_count : the upper end for cells the caller marks as more sensitive (:func:`primary_cells`'s
        ``strict``; the workbook marks sexual orientation and gender identity, which the field treats as
        more sensitive: 1-20).
    suppress_zero : also treat zero as sensitive.
    width : every sensitive hidden count keeps a feasible interval at least this wide (5: a reader
        can never narrow it to fewer than six possible values); other hidden cells are never pinned.
    """

    min_count: int = 1
    max_count: int = 10
    suppress_zero: bool = False
    width: int = 5
    strict_max_count: int = 20

    def describe(self) -> str:
        """The rule in plain words (report footers, README)."""
        zero = " and zero" if self.suppress_zero else ""
        return (f"Counts from {self.min_count} to {self.max_count}{zero} are hidden (from {self.min_count} to "
                f"{self.strict_max_count} for sexual orientation and gender identity), and more cells are hidden "
                f"until, combining every published number and total, a reader cannot narrow any hidden count "
                f"to a range of fewer than {self.width + 1} values, nor work out any other hidden number.")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Relations:
    """Linear relations between cells: ``sum(coef * x) == 0`` ("eq") or ``<= 0`` ("le").

    Attributes
    ----------
    terms : ``relation`` (int), ``cell`` (int), ``coef`` (float).
    kind : index relation -> "eq" or "le".
    """

    terms: pd.DataFrame
    kind: pd.Series

    @staticmethod
    def concat(*parts: "Relations") -> "Relations":
        terms, kinds, offset = [], [], 0
        for p in parts:
            if p.terms.empty:
                continue
            codes, uniq = pd.factorize(p.terms["relation"], sort=True)
            terms.append(p.terms.assign(relation=codes + offset))
            kinds.append(pd.Series(p.kind.reindex(uniq).to_numpy(), index=np.arange(len(uniq)) + offset))
            offset += len(uniq)
        if not terms:
            return Relations(pd.DataFrame(columns=["relation", "cell", "coef"]), pd.Series(dtype=str))
        return Relations(pd.concat(terms, ignore_index=True), pd.concat(kinds))


def _group_relations(cells: pd.DataFrame, dim: str, keys: Sequence[str], build) -> Relations:
    others = [k for k in keys if k != dim]
    rows, kinds, rid = [], [], 0
    for _, g in cells.groupby(others, sort=False) if others else [(None, cells)]:
        terms = build(g)
        if terms is None:
            continue
        for cell, coef in terms:
            rows.append((rid, int(cell), float(coef)))
        kinds.append(terms.kind)
        rid += 1
    t = pd.DataFrame(rows, columns=["relation", "cell", "coef"])
    return Relations(t, pd.Series(kinds, index=np.arange(rid), dtype=str))


class _Terms(list):
    kind = "eq"


def additive(cells: pd.DataFrame, *, dim: str, total: str, keys: Sequence[str]) -> Relations:
    """``x[dim == total] == sum of x[dim != total]`` for every combination of the other ``keys``."""
    def build(g):
        tot = g[g[dim] == total]
        parts = g[g[dim] != total]
        if tot.empty or parts.empty:
            return None
        t = _Terms([(c, 1.0) for c in parts["cell"]] + [(tot["cell"].iloc[0], -1.0)])
        t.kind = "eq"
        return t
    return _group_relations(cells, dim, keys, build)


def ordered(cells: pd.DataFrame, *, dim: str, smaller: str, larger: str, keys: Sequence[str]) -> Relations:
    """``x[dim == smaller] <= x[dim == larger]`` for every combination of the other ``keys``."""
    def build(g):
        a, b = g[g[dim] == smaller], g[g[dim] == larger]
        if a.empty or b.empty:
            return None
        t = _Terms([(a["cell"].iloc[0], 1.0), (b["cell"].iloc[0], -1.0)])
        t.kind = "le"
        return t
    return _group_relations(cells, dim, keys, build)


# --------------------------------------------------------------------------- the linear system
class _System:
    """The relations as a sparse matrix over cell positions, with each row's kind."""

    def __init__(self, cells: pd.DataFrame, relations: Relations, value: str):
        self.ids = cells["cell"].to_numpy()
        from scipy.sparse import csr_matrix  # SciPy: imported on first use (cost)

        self.pos = pd.Series(np.arange(len(cells)), index=self.ids)
        self.values = cells[value].to_numpy(dtype=float)
        t = relations.terms
        if len(t):
            rel_codes, rel_uniq = pd.factorize(t["relation"], sort=True)
            cols = self.pos.reindex(t["cell"].to_numpy()).to_numpy()
            if np.isnan(cols.astype(float)).any():
                raise ValueError("A relation names a cell that is not in the table.")
            self.A = csr_matrix((t["coef"].to_numpy(float), (rel_codes, cols.astype(int))),
                                shape=(len(rel_uniq), len(cells)))
            self.eq = (relations.kind.reindex(rel_uniq).to_numpy() == "eq")
        else:
            self.A = csr_matrix((0, len(cells)))
            self.eq = np.zeros(0, bool)
        self.AT = self.A.T.tocsr()

    def cells_of(self, relation: int) -> np.ndarray:
        """Positions of the cells in one relation (``A[relation].indices`` without building a 1-row matrix:
        slicing a row of a sparse matrix costs about as much as the rest of the search around it)."""
        return self.A.indices[self.A.indptr[relation]:self.A.indptr[relation + 1]]

    def relations_of(self, cell: int) -> np.ndarray:
        """The relations holding one cell (``AT[cell].indices``, as :meth:`cells_of`)."""
        return self.AT.indices[self.AT.indptr[cell]:self.AT.indptr[cell + 1]]


def components(cells: pd.DataFrame, relations: Relations, *, hidden: pd.Series | np.ndarray,
               value: str = "value") -> np.ndarray:
    """Block label of every hidden cell (cells linked by a relation they are both hidden in share one);
    -1 for visible cells."""
    sys = _System(cells, relations, value)
    return _components(sys, np.asarray(hidden, bool))


def _components(sys: _System, hid: np.ndarray) -> np.ndarray:
    from scipy.sparse.csgraph import connected_components  # SciPy: imported on first use (cost)

    n = len(hid)
    H = sys.A[:, hid]
    Hb = H.copy()
    Hb.data = np.ones_like(Hb.data)
    G = (Hb.T @ Hb).tocsr()
    _, lab = connected_components(G, directed=False)
    out = -np.ones(n, int)
    out[np.flatnonzero(hid)] = lab
    return out


class _Block:
    """The linear program of one block of hidden cells: A_eq x = b_eq, A_ub x <= b_ub, x >= lb."""

    def __init__(self, sys: _System, hid: np.ndarray, members: np.ndarray, lb: float):
        self.members = members
        rows = np.unique(sys.AT[members].indices)
        A = sys.A[rows]
        self.local = -np.ones(len(hid), int)
        self.local[members] = np.arange(len(members))
        vis = ~hid
        const = A[:, vis] @ sys.values[vis]
        Am = A[:, members]
        self.eq_rows = sys.eq[rows]
        self.A_eq, self.b_eq = Am[self.eq_rows], -const[self.eq_rows]
        self.A_ub, self.b_ub = Am[~self.eq_rows], -const[~self.eq_rows]
        self.lb = lb
        # a generous cap keeps every program bounded; it can only narrow intervals (a stricter proof)
        self.ub = 2.0 * float(sys.values.max(initial=0.0)) + 1000.0
        self.truth = sys.values[members]
        self.graph = None

    def solve(self, c: np.ndarray, fixed: np.ndarray | None = None) -> np.ndarray | None:
        """A vertex minimising ``c @ x`` (``fixed``: members held at their true values)."""
        from scipy.optimize import linprog  # SciPy: imported on first use (cost)

        bounds = np.column_stack([np.full(len(c), self.lb), np.full(len(c), self.ub)])
        if fixed is not None:
            bounds[fixed, 0] = self.truth[fixed]
            bounds[fixed, 1] = self.truth[fixed]
        res = linprog(c, A_ub=self.A_ub if self.A_ub.shape[0] else None, b_ub=self.b_ub if self.A_ub.shape[0] else None,
                      A_eq=self.A_eq if self.A_eq.shape[0] else None, b_eq=self.b_eq if self.A_eq.shape[0] else None,
                      bounds=bounds, method="highs")
        if res.status == 3:  # unbounded: the direction is free
            return None
        if res.status != 0:
            raise RuntimeError(f"Disclosure audit: linear program failed ({res.message}).")
        return res.x

    def extreme(self, i: int, fixed: np.ndarray | None = None) -> tuple[float, float]:
        c = np.zeros(len(self.members))
        c[i] = 1.0
        lo = self.solve(c, fixed)
        hi = self.solve(-c, fixed)
        return (self.lb if lo is None else float(lo[i]), np.inf if hi is None else float(hi[i]))

    def neighbours(self) -> "csr_matrix":  # noqa: F821 - scipy.sparse, imported where used
        from scipy.sparse import csr_matrix  # SciPy: imported on first use (cost)

        if self.graph is None:
            M = (self.A_eq if self.A_eq.shape[0] else csr_matrix((0, len(self.members))))
            M = M if not self.A_ub.shape[0] else (self.A_ub if not M.shape[0] else
                                                   _vstack(M, self.A_ub))
            B = M.copy()
            B.data = np.ones_like(B.data)
            self.graph = (B.T @ B).tocsr()
        return self.graph


def _vstack(a, b):
    from scipy.sparse import vstack  # SciPy: imported on first use (cost)

    return vstack([a, b]).tocsr()


def _slice(block: _Block, i: int, size: int = SLICE_MAX) -> np.ndarray:
    """Members to hold fixed: all but the (about) ``size`` nearest to ``i`` through shared relations."""
    g = block.neighbours()
    seen = {i}
    frontier = [i]
    while frontier and len(seen) < size:
        nxt = []
        for v in frontier:
            for w in g.indices[g.indptr[v]:g.indptr[v + 1]]:
                if w not in seen:
                    seen.add(int(w))
                    nxt.append(int(w))
        frontier = nxt
    fixed = np.ones(len(block.members), bool)
    fixed[list(seen)] = False
    return fixed


def _required(sys: _System, members: np.ndarray, sensitive: np.ndarray, width: int) -> np.ndarray:
    return np.where(sensitive[members], float(width), 1.0)


def _prove_block(block: _Block, need: np.ndarray, check: np.ndarray, rng: np.random.Generator,
                 slices: bool = True, rounds: int = 12, exact_max: int = 0) -> tuple[np.ndarray, np.ndarray,
                                                                                     np.ndarray]:
    """Low, high and ok for the members flagged in ``check`` (others untouched: nan)."""
    m = len(block.members)
    low = np.full(m, np.nan)
    high = np.full(m, np.nan)
    ok = np.zeros(m, bool)
    todo = np.flatnonzero(check)
    if not len(todo):
        return low, high, ok
    if m <= EXACT_MAX:
        for i in todo:
            lo, hi = block.extreme(i)
            low[i], high[i] = lo, hi
            ok[i] = hi - lo >= need[i] - TOL
        return low, high, ok
    seen_lo = block.truth.copy()
    seen_hi = block.truth.copy()
    pending = todo.copy()
    for k in range(rounds):
        if not len(pending):
            break
        c = np.zeros(m)
        if k < 2:
            c = rng.standard_normal(m)
        else:
            # aim at the cells not yet proven: push each the way it still needs to go
            c[pending] = np.where(rng.random(len(pending)) < 0.5, 1.0, -1.0)
        for sign in (1.0, -1.0):
            x = block.solve(sign * c)
            if x is None:
                continue
            np.minimum(seen_lo, x, out=seen_lo)
            np.maximum(seen_hi, x, out=seen_hi)
        pending = pending[(seen_hi[pending] - seen_lo[pending]) < need[pending] - TOL]
    proven = np.setdiff1d(todo, pending)
    low[proven], high[proven], ok[proven] = seen_lo[proven], seen_hi[proven], True
    low[pending], high[pending] = seen_lo[pending], seen_hi[pending]
    for i in (pending if slices else []):
        lo, hi = block.extreme(i, fixed=_slice(block, i))
        lo, hi = min(lo, seen_lo[i]), max(hi, seen_hi[i])
        low[i], high[i] = lo, hi
        ok[i] = hi - lo >= need[i] - TOL
    # what neither feasible points nor slices proved: the exact programs on the whole block
    for i in [i for i in pending if not ok[i]][:exact_max]:  # (unproven counts as failing)
        lo, hi = block.extreme(i)
        low[i], high[i] = lo, hi
        ok[i] = hi - lo >= need[i] - TOL
    return low, high, ok


def _hidden_rows(sys: _System, hid: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per relation, what the hidden cells see: the (row, column) of each hidden term, the published
    part ``const`` (coefficients times visible values), the number ``k`` of hidden cells, whether
    they all carry the same sign (``same``), and how many carry a negative one (``neg``)."""
    coo = sys.A.tocoo()
    h = hid[coo.col]
    r, c, v = coo.row[h], coo.col[h], coo.data[h]
    n_rows = sys.A.shape[0]
    const = sys.A[:, ~hid] @ sys.values[~hid]
    pos = np.bincount(r, weights=(v > 0).astype(float), minlength=n_rows)
    neg = np.bincount(r, weights=(v < 0).astype(float), minlength=n_rows)
    k = pos + neg
    same = ((pos == 0) | (neg == 0)) & (k > 0)
    return r, c, const, k, same, neg


def _outer_upper(sys: _System, hid: np.ndarray, lb: float) -> tuple[np.ndarray, np.ndarray]:
    """A quick upper bound of every hidden cell, from single relations: in a relation whose hidden
    cells all carry the same coefficient sign, each is at most the published remainder minus the
    smallest values of the others. Returns the bound (inf if none) and the relation giving it (-1).

    This bounds the feasible interval from outside, so a cell whose bound is already too close to
    the lower bound certainly fails; it proves nothing about cells that pass it.
    """
    r, c, const, k, same, neg = _hidden_rows(sys, hid)
    # sum over hidden of |coef| x = |b|, all coefficients +-1 here
    b = np.abs(-const)
    bound_row = np.where(same & sys.eq, b - (k - 1) * lb, np.inf)
    # an inequality sum x <= b (all +) bounds each the same way
    le_plus = ~sys.eq & (neg == 0) & (k > 0)
    bound_row = np.where(le_plus, np.minimum(bound_row, -const - (k - 1) * lb), bound_row)
    upper = np.full(len(hid), np.inf)
    which = -np.ones(len(hid), int)
    vals = bound_row[r]
    order = np.argsort(vals)[::-1]  # write larger first so the smallest wins
    upper[c[order]] = vals[order]
    which[c[order]] = r[order]
    return upper, which


def primary_cells(cells: pd.DataFrame, protection: Protection, *, value: str = "value",
                  strict: np.ndarray | pd.Series | None = None) -> np.ndarray:
    """The sensitive cells: counts from ``min_count`` to ``max_count`` (and zero with ``suppress_zero``),
    and, among the ``strict`` cells, counts up to ``strict_max_count``."""
    m = _primary(cells, protection, value, None)
    if strict is not None:
        v = cells[value].to_numpy(dtype=float)
        m |= np.asarray(strict, bool) & (v >= protection.min_count) & (v <= protection.strict_max_count)
    return m


def _primary(cells: pd.DataFrame, protection: Protection, value: str, primary) -> np.ndarray:
    if primary is not None:
        return np.asarray(primary, bool)
    v = cells[value].to_numpy(dtype=float)
    m = (v >= protection.min_count) & (v <= protection.max_count)
    if protection.suppress_zero:
        m |= v == 0
    return m


def _audit_arrays(sys: _System, hid: np.ndarray, sensitive: np.ndarray, protection: Protection,
                  check: np.ndarray | None = None, seed: int = 0, slices: bool = True, rounds: int = 12,
                  exact_max: int = 0, need: np.ndarray | None = None) -> pd.DataFrame:
    lb = 0.0 if protection.suppress_zero else 1.0
    lab = _components(sys, hid)
    check = hid if check is None else (check & hid)
    rng = np.random.default_rng(seed)
    out_low = np.full(len(hid), np.nan)
    out_high = np.full(len(hid), np.nan)
    out_ok = np.ones(len(hid), bool)
    for b in np.unique(lab[check]):
        members = np.flatnonzero(lab == b)
        block = _Block(sys, hid, members, lb)
        req = _required(sys, members, sensitive, protection.width) if need is None else need[members]
        low, high, ok = _prove_block(block, req, check[members], rng, slices=slices, rounds=rounds,
                                     exact_max=exact_max)
        sel = check[members]
        out_low[members[sel]], out_high[members[sel]], out_ok[members[sel]] = low[sel], high[sel], ok[sel]
    idx = np.flatnonzero(check)
    return pd.DataFrame({"pos": idx, "low": out_low[idx], "high": out_high[idx], "ok": out_ok[idx]})


def audit(cells: pd.DataFrame, relations: Relations, *, hidden: pd.Series | np.ndarray,
          protection: Protection = Protection(), primary: pd.Series | np.ndarray | None = None,
          value: str = "value") -> pd.DataFrame:
    """What a reader can work out about every hidden cell, and whether the rule holds.

    Returns
    -------
    DataFrame, one row per hidden cell: ``cell``, ``value``, ``low`` and ``high`` (values the cell
    can take given everything published; exact for blocks of up to :data:`EXACT_MAX` hidden cells,
    inside the exact interval otherwise), ``width`` (high - low), ``required`` (the protection width
    for a sensitive cell, 1 otherwise), ``ok`` and ``pinned`` (width under 1: the value is known).
    """
    sys = _System(cells, relations, value)
    hid = np.asarray(hidden, bool)
    sens = _primary(cells, protection, value, primary) & hid
    res = _audit_arrays(sys, hid, sens, protection, rounds=16, exact_max=EXACT_FALLBACK)
    pos = res["pos"].to_numpy()
    width = (res["high"] - res["low"]).to_numpy()
    return pd.DataFrame({"cell": sys.ids[pos], "value": sys.values[pos], "low": res["low"].to_numpy(),
                         "high": res["high"].to_numpy(), "width": width,
                         "required": np.where(sens[pos], float(protection.width), 1.0), "ok": res["ok"].to_numpy(),
                         "pinned": width < 1 - TOL})


def _rank(sys: _System, hid: np.ndarray, cols: np.ndarray, protection: Protection) -> np.ndarray:
    """Visible cells among ``cols``, best to hide first: non-zero, at least the width + 1 and the
    smallest such, then the largest smaller ones."""
    cols = np.asarray(cols, dtype=int)
    cand = cols[~hid[cols]]
    if not len(cand):
        return cand
    v = sys.values[cand]
    if not protection.suppress_zero:
        cand, v = cand[v > 0], v[v > 0]
    key = np.where(v >= protection.width + 1, v, 1e12 - v)
    return cand[np.argsort(key, kind="stable")]


def _row_slack(sys: _System, hid: np.ndarray, lb: float) -> np.ndarray:
    """How much room each relation leaves its hidden cells: the published remainder minus what the
    hidden cells take at their smallest (relations whose hidden cells carry both signs: inf)."""
    _, _, const, k, same, _ = _hidden_rows(sys, hid)
    return np.where(same, np.abs(const) - k * lb, np.inf)


def _candidates(sys: _System, hid: np.ndarray, pos: int, protection: Protection, slack: np.ndarray | None = None,
                depth: int = 8) -> np.ndarray:
    """Visible cells to hide next to ``pos``, best first.

    From the relations holding it, tightest first (least room left for its hidden cells, see
    :func:`_row_slack`): in the first that has any, non-zero cells of at least the width + 1, the
    smallest such, then the largest smaller ones. When no relation holding it has a visible cell,
    the same among the relations of the hidden cells it is linked with, and so on."""
    frontier, seen = [pos], {pos}
    for _ in range(depth):
        rows = np.unique(np.concatenate([sys.relations_of(p) for p in frontier])) if frontier else np.array([], int)
        if slack is not None:
            rows = rows[np.lexsort((~sys.eq[rows], slack[rows]))]
        else:
            rows = rows[np.argsort(~sys.eq[rows], kind="stable")]
        cols = [sys.cells_of(r) for r in rows]
        for cs in cols:
            cand = _rank(sys, hid, cs, protection)
            if len(cand):
                return cand
        nxt = [int(c) for cs in cols for c in cs if hid[c] and int(c) not in seen]
        seen.update(nxt)
        frontier = nxt
    return np.array([], int)


def protect(cells: pd.DataFrame, relations: Relations, *, protection: Protection = Protection(),
            primary: pd.Series | np.ndarray | None = None, value: str = "value",
            cost: pd.Series | np.ndarray | None = None, method: str = "optimal", max_rounds: int = 400,
            slice_below: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Primary and secondary suppression until every hidden cell is proven protected.

    Parameters
    ----------
    cost : what hiding each cell costs (default 1 each: hide as few cells as possible).
    method : ``"optimal"`` (default): each sensitive cell gets the cheapest protection patterns by linear
        programming (:mod:`equity_helpers.privacy.patterns`). ``"greedy"``: the earlier walk that hides,
        for each failing cell, the smallest suitable visible cell of a relation holding it (kept for
        comparison: on the sample it hides 6,067 cells where the optimal method hides 4,782).

    Returns
    -------
    cells : a copy of ``cells`` with ``hidden`` (bool) and ``reason`` ("primary", "secondary", "").
    proof : one row per hidden cell in :func:`audit`'s columns (``low`` and ``high`` are values the
        cell can take given everything published, found when it was proven).

    Never hides a zero when ``protection.suppress_zero`` is False.

    Both methods end the same way: secondary cells need no width of their own (they are not small),
    but none may be pinned: a secondary cell whose value the published numbers already determine is
    published instead (that adds nothing a reader did not know, so no other interval changes); one
    narrowed below 1 without being determined gets a neighbour hidden and the check runs again.

    Raises
    ------
    DisclosureError
        If no visible cell is left to hide around a failing one (the table cannot be protected).
    """
    if method not in ("optimal", "greedy"):
        raise ValueError(f"method must be 'optimal' or 'greedy', not {method!r}")
    sys = _System(cells, relations, value)
    prim = _primary(cells, protection, value, primary)
    lb = 0.0 if protection.suppress_zero else 1.0
    hid = prim.copy()
    sens = prim.copy()
    need = np.where(sens, float(protection.width), 1.0)
    # the proof of each hidden cell: values it can take (feasible points) once it was shown protected;
    # hiding more cells only relaxes the programs, so a proof stays valid to the end
    rec_low = np.full(len(hid), np.nan)
    rec_high = np.full(len(hid), np.nan)
    if method == "optimal":
        hid = _protect_optimal(sys, hid, sens, protection, lb, rec_low, rec_high,
                               cost=np.ones(len(hid)) if cost is None else np.asarray(cost, float))
    check = sens.copy() if method == "greedy" else np.zeros(len(hid), bool)
    for _ in range(8):
        if method == "greedy" or check.any():
            _protect_sensitive(sys, hid, sens, check, protection, lb, rec_low, rec_high, max_rounds, slice_below)
        t0 = time.perf_counter()
        published, failing = _settle_secondaries(sys, hid, sens, protection, rec_low, rec_high)
        hid[published] = False
        if _VERBOSE:
            print(f"secondary cells: {len(published)} determined (published), {len(failing)} narrowed, "
                  f"{time.perf_counter() - t0:.1f}s", flush=True)
        if not len(failing):
            break
        new = [int(c[0]) for c in (_candidates(sys, hid, int(f), protection) for f in failing) if len(c)]
        if not new:
            raise DisclosureError(AUDIT_FAILED.format(n=len(failing)))
        hid[new] = True
        # hiding more only relaxes the programs: the sensitive cells' proofs hold, the new secondary
        # cells are checked by the next settling pass
        check = np.zeros(len(hid), bool)
    else:
        raise DisclosureError(AUDIT_FAILED.format(n=len(failing)))
    if method == "optimal":
        _spread(sys, hid, lb, rec_low, rec_high)
    out = cells.copy()
    out["hidden"] = hid
    pos = np.flatnonzero(hid)
    width = rec_high[pos] - rec_low[pos]
    req = need[pos]
    proof = pd.DataFrame({
        "cell": sys.ids[pos], "value": sys.values[pos], "low": rec_low[pos], "high": rec_high[pos], "width": width,
        "required": req, "ok": width >= req - TOL, "pinned": ~(width >= 1 - TOL)})
    out["reason"] = np.where(prim, PRIMARY_DECIDED, np.where(hid, SECONDARY_DECIDED, ""))
    return out, proof


def _protect_optimal(sys: _System, hid: np.ndarray, sens: np.ndarray, protection: Protection, lb: float,
                     rec_low: np.ndarray, rec_high: np.ndarray, *, cost: np.ndarray) -> np.ndarray:
    """Each sensitive cell's cheapest patterns (:mod:`equity_helpers.privacy.patterns`); records every
    hidden cell the patterns prove."""
    movable = (sys.values >= lb) & ((sys.values > 0) | protection.suppress_zero)
    width = float(protection.width)
    t0 = time.perf_counter()
    try:
        hid, pats = patterns.find_patterns(sys.A, sys.eq, sys.values, hid, sens, cost, need=width, lb=lb,
                                           movable=movable)
    except ValueError as e:
        raise DisclosureError(AUDIT_FAILED.format(n=1)) from e
    if _VERBOSE:
        print(f"patterns: {pats.solved} programs, {int(hid.sum())} hidden in {time.perf_counter() - t0:.1f}s",
              flush=True)
    _verify(sys, hid, pats, lb)
    proven = hid & (pats.high - pats.low >= np.where(sens, width, 1.0) - TOL)
    rec_low[proven], rec_high[proven] = pats.low[proven], pats.high[proven]
    if (sens & ~proven).any():  # never expected: every sensitive cell has a pattern
        raise DisclosureError(AUDIT_FAILED.format(n=int((sens & ~proven).sum())))
    return hid


def _verify(sys: _System, hid: np.ndarray, pats: "patterns.Patterns", lb: float) -> None:
    """Check every pattern is a table a reader cannot rule out: it changes hidden cells only, keeps them
    at or above ``lb`` and satisfies every relation (the proof, checked without a solver)."""
    slack = -(sys.A @ sys.values)
    for cells_k, d in zip(pats.cells, pats.deltas):
        change = sys.A[:, cells_k] @ d
        bad = (not hid[cells_k].all() or (sys.values[cells_k] + d < lb - 1e-6).any()
               or (np.abs(change[sys.eq]) > 1e-6).any() or (change[~sys.eq] > slack[~sys.eq] + 1e-6).any())
        if bad:
            raise DisclosureError(AUDIT_FAILED.format(n=1))


def _spread(sys: _System, hid: np.ndarray, lb: float, rec_low: np.ndarray, rec_high: np.ndarray,
            rounds: int = 6, seed: int = 0) -> None:
    """Widen the recorded values of every hidden cell with vertices of random directions (the audit's
    feasible points): the published audit then shows values a reader can reach on both sides of the
    truth, not only the side a protection pattern moved."""
    lab = _components(sys, hid)
    rng = np.random.default_rng(seed)
    for b in np.unique(lab[hid]):
        members = np.flatnonzero(lab == b)
        block = _Block(sys, hid, members, lb)
        lo, hi = block.truth.copy(), block.truth.copy()
        for _ in range(rounds):
            c = rng.standard_normal(len(members))
            for sign in (1.0, -1.0):
                x = block.solve(sign * c)
                if x is not None:
                    np.minimum(lo, x, out=lo)
                    np.maximum(hi, x, out=hi)
        rec_low[members] = np.fmin(rec_low[members], lo)
        rec_high[members] = np.fmax(rec_high[members], hi)


def _protect_sensitive(sys: _System, hid: np.ndarray, sens: np.ndarray, check: np.ndarray,
                       protection: Protection, lb: float, rec_low: np.ndarray, rec_high: np.ndarray,
                       max_rounds: int, slice_below: int) -> None:
    """Step 1 of :func:`protect` (updates ``hid`` and the proof record in place)."""

    need = np.where(sens, float(protection.width), 0.0)
    check = check & sens
    stuck = 0
    for rnd in range(max_rounds):
        t0 = time.perf_counter()
        upper, which = _outer_upper(sys, hid, lb)
        quick_fail = check & (upper - lb < need - TOL)
        if quick_fail.any():
            new = set()
            for f in np.flatnonzero(quick_fail):
                cand = _rank(sys, hid, sys.cells_of(which[f]), protection)
                if len(cand):
                    new.add(int(cand[0]))
            if _VERBOSE:
                print(f"round {rnd}: quick bound, failing {int(quick_fail.sum())}, hidden {int(hid.sum())}",
                      flush=True)
            if new:
                hid[list(new)] = True
                continue
        res = _audit_arrays(sys, hid, sens, protection, check=check, rounds=4 if rnd else 8,
                            slices=int(check.sum()) <= slice_below, need=need)
        _record(res, rec_low, rec_high)
        failing = res.loc[~res["ok"], "pos"].to_numpy()
        if _VERBOSE:
            print(f"round {rnd}: checked {int(check.sum())}, failing {len(failing)}, hidden {int(hid.sum())}, "
                  f"{time.perf_counter() - t0:.1f}s", flush=True)
        if not len(failing):
            return
        new_l: list[int] = []
        slack = _row_slack(sys, hid, lb)
        for f in failing:
            cand = _candidates(sys, hid, int(f), protection, slack)
            if len(cand) and not set(cand.tolist()) & set(new_l):
                new_l.append(int(cand[0]))
        if not new_l:
            # nothing left to hide around them: settle it with the exact programs
            exact = _audit_arrays(sys, hid, sens, protection, check=np.isin(np.arange(len(hid)), failing),
                                  rounds=16, exact_max=len(failing), need=need)
            _record(exact, rec_low, rec_high)
            if exact["ok"].all():
                return
            stuck += 1
            if stuck > 1:
                raise DisclosureError(AUDIT_FAILED.format(n=int((~exact["ok"]).sum())))
            continue
        hid[new_l] = True
        check = np.zeros(len(hid), bool)
        check[failing] = True
    raise DisclosureError(AUDIT_FAILED.format(n=len(failing)))


def _record(res: pd.DataFrame, rec_low: np.ndarray, rec_high: np.ndarray) -> None:
    done = res[res["ok"]]
    rec_low[done["pos"].to_numpy()] = done["low"].to_numpy()
    rec_high[done["pos"].to_numpy()] = done["high"].to_numpy()


def _settle_secondaries(sys: _System, hid: np.ndarray, sens: np.ndarray, protection: Protection,
                        rec_low: np.ndarray, rec_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 2 of :func:`protect`: secondary cells that the published numbers determine (to publish)
    and those narrowed below 1 without being determined (failing). Records the proof of the others.

    A cell alone among the hidden cells of an equality is determined by it; publishing it may leave
    another cell alone in another equality, and so on (peeling). What is left is settled by linear
    programming.
    """
    hid = hid.copy()
    determined: list[int] = []
    eq_rows = np.flatnonzero(sys.eq)
    A_eq = sys.A[eq_rows]
    while True:
        n_hidden = A_eq[:, hid].getnnz(axis=1)
        single = np.flatnonzero(n_hidden == 1)
        if not len(single):
            break
        cells = np.unique(np.concatenate([A_eq[r].indices[hid[A_eq[r].indices]] for r in single]))
        if sens[cells].any():  # never expected: the proof of a sensitive cell says otherwise
            raise DisclosureError(AUDIT_FAILED.format(n=int(sens[cells].sum())))
        determined.extend(cells.tolist())
        hid[cells] = False
    # secondaries already shown to take values at least 1 apart stay proven (hiding more only relaxes)
    sec = hid & ~sens & ~(rec_high - rec_low >= 1 - TOL)
    need = np.where(sens, 0.0, 1.0)
    res = _audit_arrays(sys, hid, sens, protection, check=sec, rounds=12, slices=False, need=need,
                        exact_max=10 ** 9)
    _record(res, rec_low, rec_high)
    bad = res[~res["ok"]]
    flat = (bad["high"] - bad["low"]).to_numpy() < TOL
    return (np.array(determined + bad["pos"].to_numpy()[flat].tolist(), int),
            bad["pos"].to_numpy()[~flat])
