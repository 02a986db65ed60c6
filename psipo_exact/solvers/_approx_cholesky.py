"""Randomized approximate Cholesky factorisation of a graph Laplacian, as a preconditioner.

Gaussian elimination of a vertex ``v`` of a Laplacian (neighbours ``j`` with weights ``w_j``,
``W = Σ_j w_j``) leaves the Schur complement: ``v``'s edges replaced by the clique of weights
``w_i w_j / W``, again a Laplacian. The clique can have ``d²/2`` edges; *approximate*
elimination (Kyng and Sachdeva, 2016, "Approximate Gaussian elimination for Laplacians —
fast, sparse, and simple", FOCS; the sampling of Spielman's Laplacians.jl ``approxchol``)
replaces it by ``d − 1`` sampled edges whose expectation is the clique: with the neighbours
sorted by increasing weight ``w_1 ≤ … ≤ w_d`` and ``R_t = Σ_{q>t} w_q``, for each ``t < d``
one partner ``q > t`` is drawn with probability ``w_q / R_t`` and the edge ``(j_t, j_q)``
gets weight ``w_t R_t / W``; so ``E[weight(j_t, j_q)] = w_t w_q / W`` exactly, the sampled
edges form a tree over the neighbours (connectivity is kept) and the number of edges never
grows. Degrees 1 and 2 are eliminated exactly (``d − 1 ≤ 1`` edge: a leaf, or the series
edge ``w_1 w_2 / W``).

Here whole *rounds* are eliminated at once, vectorised: an independent set of vertices
that are local minima of (degree, random tie-break) — no two adjacent, so their
eliminations commute — until a small core is left, which is factored densely (grounded
per component). The factor is ``L D Lᵀ`` of a Laplacian ``L̃`` with ``E[L̃] = L`` and the
same connected components, so ``L̃⁺`` is a symmetric positive definite preconditioner for
conjugate gradients on ``L`` (on the range), whose iteration count barely depends on the
graph: no ordering (hubs), conditioning (ladders, grids, weights over many decades) or
fill-in (expanders) can stall it, and its cost is near-linear in the number of edges.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: The rounds stop when at most this many vertices are left ...
DENSE_CORE = 100
#: ... or when a round eliminates under ``_SLOW_ROUND`` of the vertices left and at most
#: this many are left (the approximate eliminations conserve the edge count, so the graph
#: left densifies and independent sets shrink): the core is then factored densely.
DENSE_MAX = 2000
_SLOW_ROUND = 0.02
#: ... or, on any size whose dense factor fits the memory budget, when a round eliminates
#: under this share (a dense graph, where independent sets are tiny and rounds would take
#: quadratic time).
_STUCK_ROUND = 0.002
#: Degree cap of the vertices eliminated in a round (raised if every vertex is above it).
_ROUND_DEGREE = 64
#: Luby passes per round growing the independent set.
_PASSES = 4


class ApproximateCholesky:
    """Approximate ``L D Lᵀ`` of a graph Laplacian; :meth:`solve` applies ``L̃⁺``.

    Parameters
    ----------
    lap : scipy.sparse.csr_matrix
        A weighted graph Laplacian (off-diagonal entries ``−w``; zeros count as absent).
    seed : int, default 0
        Seed of the sampling (the preconditioner, hence the iterates, are deterministic).
    memory_budget : int, default 2**30
        Bytes a dense core may take: a stuck round (a dense graph) ends the elimination
        early only when the dense factor of what is left fits (the Laplacian solver passes
        its own ``MEMORY_BUDGET``).

    References
    ----------
    Kyng and Sachdeva (2016), "Approximate Gaussian elimination for Laplacians — fast,
    sparse, and simple", FOCS; D. Spielman, Laplacians.jl (``approxchol``). Used for the
    normal equations of Eq. 17 and the Newton steps of Eq. 2, 4, 5 of Azar et al.,
    arXiv:2310.12036.

    Examples
    --------
    A cycle has only degree-2 vertices, whose elimination is exact: the factor solves
    ``L x = b`` itself (right-hand sides summing to 0):

    >>> import numpy as np
    >>> from psipo_exact.solvers._laplacian import laplacian
    >>> from psipo_exact.solvers._approx_cholesky import ApproximateCholesky
    >>> n = 1000
    >>> lap = laplacian(np.arange(n), (np.arange(n) + 1) % n, np.ones(n), n)
    >>> b = np.zeros((n, 1)); b[0], b[n // 2] = 1.0, -1.0
    >>> factor = ApproximateCholesky(lap)
    >>> factor.n_rounds > 0, bool(np.abs(lap @ factor.solve(b) - b).max() < 1e-12)
    (True, True)
    """

    def __init__(self, lap: sp.csr_matrix, seed: int = 0, memory_budget: int = 2**30):
        self.size = lap.shape[0]
        rng = np.random.default_rng(seed)
        graph = _adjacency(lap)
        self.rounds = []
        while True:
            degree = np.diff(graph.indptr)
            alive = np.flatnonzero(degree)
            if alive.size <= DENSE_CORE:
                break
            chosen = _independent_low_degree(graph, degree, alive, rng)
            slow = chosen.size < _SLOW_ROUND * alive.size
            stuck = chosen.size < _STUCK_ROUND * alive.size and (
                16 * alive.size**2 <= memory_budget)
            if (slow and alive.size <= DENSE_MAX) or stuck:
                break
            graph = self._eliminate(graph, degree, chosen, rng)
        self.core = np.flatnonzero(np.diff(graph.indptr))
        self.core_solve = _dense_core(graph, self.core)
        self.n_rounds = len(self.rounds)

    def _eliminate(self, graph, degree, chosen, rng):
        """Eliminate the independent set ``chosen``; record the round, return the graph."""
        d = degree[chosen]
        width = int(d.max())
        valid = np.arange(width) < d[:, None]
        pos = np.where(valid, graph.indptr[chosen][:, None] + np.arange(width), 0)
        w = np.where(valid, graph.data[pos], np.inf)
        order = np.argsort(w, axis=1, kind="stable")          # increasing weight, padding last
        w = np.take_along_axis(w, order, axis=1)
        nbr = np.take_along_axis(graph.indices[pos], order, axis=1)
        w = np.where(valid, w, 0.0)
        total = w.sum(axis=1)
        prefix = np.cumsum(w, axis=1)
        rest = total[:, None] - prefix                         # R_t = Σ_{q>t} w_q
        # partners: for t < d − 1, the first q with prefix_q ≥ prefix_t + u·R_t
        sample = np.arange(width) < (d - 1)[:, None]
        rows = np.arange(chosen.size)[:, None]
        keys = (2.0 * rows + prefix / total[:, None]).ravel()
        query = 2.0 * rows + (prefix + rng.random(w.shape) * rest) / total[:, None]
        q = np.searchsorted(keys, query[sample], side="left") - np.broadcast_to(
            rows * width, w.shape)[sample]
        t = np.broadcast_to(np.arange(width), w.shape)[sample]
        q = np.clip(q, t + 1, np.broadcast_to(d[:, None] - 1, w.shape)[sample])
        r = np.broadcast_to(rows, w.shape)[sample]
        new_u, new_v = nbr[sample], nbr[r, q]
        new_w = w[sample] * rest[sample] / total[r]
        # the round: each eliminated vertex's neighbours, their fractions w_j / W, and W
        touched, where = np.unique(nbr[valid], return_inverse=True)
        spread = sp.csr_matrix(((w / total[:, None])[valid],
                                (np.broadcast_to(rows, w.shape)[valid], where)),
                               shape=(chosen.size, touched.size))    # w_j / W, row per vertex
        self.rounds.append((chosen, touched, spread.T.tocsr(), spread, total[:, None]))
        return _next_graph(graph, chosen, new_u, new_v, new_w)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``L̃⁺ rhs`` for the columns of ``rhs`` (size, k): forward elimination round by round
        (``b_j += (w_j / W) b_v``), the dense core, back-substitution in reverse
        (``x_v = b_v / W + Σ_j (w_j / W) x_j``). Vertices isolated at their turn (the last
        of a component eliminated in the rounds) get 0."""
        b = rhs.copy()
        for chosen, touched, push, _, _ in self.rounds:
            b[touched] += push @ b[chosen]
        x = np.zeros_like(rhs)
        x[self.core] = self.core_solve(b[self.core])
        for chosen, touched, _, pull, total in reversed(self.rounds):
            x[chosen] = b[chosen] / total + pull @ x[touched]
        return x


def _adjacency(lap: sp.csr_matrix) -> sp.csr_matrix:
    """The weighted adjacency (``w > 0`` off the diagonal) of a Laplacian, CSR, sorted."""
    coo = lap.tocoo()
    keep = (coo.row != coo.col) & (coo.data < 0)
    n = lap.shape[0]
    adj = sp.csr_matrix((-coo.data[keep], (coo.row[keep], coo.col[keep])), shape=(n, n))
    adj.sum_duplicates()
    return adj


def _independent_low_degree(graph, degree, alive, rng) -> np.ndarray:
    """An independent set of low-degree vertices: local minima of (degree, random tie-break)
    among the candidates (degree ≤ cap), then, ``_PASSES`` times, local minima among the
    candidates not adjacent to a chosen vertex (Luby's passes towards a maximal set)."""
    cap = max(_ROUND_DEGREE, 2 * int(degree[alive].min()))
    key = degree + rng.random(degree.size)
    candidate = np.zeros(degree.size, dtype=bool)
    candidate[alive[degree[alive] <= cap]] = True
    chosen = np.zeros(degree.size, dtype=bool)
    rows = alive
    for _ in range(_PASSES):
        live_key = np.where(candidate, key, np.inf)
        lowest = np.minimum.reduceat(live_key[graph.indices], graph.indptr[rows])
        pick = rows[candidate[rows] & (live_key[rows] < lowest)]
        if pick.size == 0:
            break
        chosen[pick] = True
        candidate[pick] = False
        near = np.zeros(degree.size, dtype=bool)   # neighbours of the picks leave
        starts, stops = graph.indptr[pick], graph.indptr[pick + 1]
        near[graph.indices[_ranges(starts, stops)]] = True
        candidate &= ~near
    return np.flatnonzero(chosen)


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, stop)`` for each pair (vectorised)."""
    lengths = stops - starts
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return np.arange(lengths.sum()) + offsets


def _next_graph(graph, chosen, new_u, new_v, new_w) -> sp.csr_matrix:
    """``graph`` without the edges at ``chosen``, plus the sampled edges (duplicates summed,
    self-loops dropped: they contribute nothing to a Laplacian)."""
    n = graph.shape[0]
    gone = np.zeros(n, dtype=bool)
    gone[chosen] = True
    rows = np.repeat(np.arange(n), np.diff(graph.indptr))
    keep = ~gone[rows] & ~gone[graph.indices]
    loop = new_u == new_v
    new_u, new_v, new_w = new_u[~loop], new_v[~loop], new_w[~loop]
    out = sp.csr_matrix((np.concatenate([graph.data[keep], new_w, new_w]),
                         (np.concatenate([rows[keep], new_u, new_v]),
                          np.concatenate([graph.indices[keep], new_v, new_u]))),
                        shape=(n, n))
    out.sum_duplicates()
    return out


def _dense_core(graph, core: np.ndarray):
    """``solve(b)`` on the core by dense Cholesky of its Laplacian, grounded per component
    (one vertex fixed at 0 in each: exact for right-hand sides summing to 0 there)."""
    from scipy.linalg import cho_factor, cho_solve
    from scipy.sparse.csgraph import connected_components

    if core.size == 0:
        return lambda b: b[:0]
    sub = graph[core][:, core]
    _, labels = connected_components(sub, directed=False)
    lap = -sub.toarray()
    np.fill_diagonal(lap, sub.sum(axis=1).A.ravel())
    _, first = np.unique(labels, return_index=True)
    diagonal = np.diagonal(lap)
    lap[first, first] += np.where(diagonal[first] > 0, diagonal[first], 1.0)
    factor = cho_factor(lap, lower=True, check_finite=False)
    return lambda b: cho_solve(factor, b, check_finite=False)
