"""Graph linear algebra of the comparison graph: weighted Laplacians and their solves.

The empirical IPO loss (Eq. 17) is least squares on the comparison graph, whose normal matrix
is the graph Laplacian; the Newton steps of the Bradley–Terry/DPO fits (Eq. 2, 4, 5) solve
with weighted Laplacians too. Everything here works on *global nodes* (node ``k · n + y`` is
action ``y`` of problem or context ``k``) and knows nothing about preferences.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_solve_banded, cholesky_banded
from scipy.sparse.csgraph import connected_components, reverse_cuthill_mckee
from scipy.sparse.linalg import splu

from .. import _checks

#: Relative tolerance of the sparse SPD solves (on the max-norm of the residual).
RTOL = 1e-14
#: Work budget of the banded Cholesky preconditioner, in multiples of nnz(A).
_BAND_WORK = 8
#: Minimum work budget of the banded preconditioner (small problems are solved directly).
_BAND_MIN = 10**6
_MAX_CG = 3000
#: CG gives up after this many iterations without halving.
_STALL = 200
#: Iterations of CG with the band or Jacobi preconditioner before the approximate Cholesky
#: preconditioner takes over (random graphs need ~25, Newton steps of Bradley–Terry ~15).
_PROBE = 150
#: Relative tolerance of each CG solve inside the refinement of :func:`_approximate_solve`,
#: and the number of refinement steps at most.
_INNER_RTOL = 1e-7
_REFINEMENTS = 8
#: Low-degree elimination runs when at least this share of the vertices has degree 1 or 2
#: (trees have at least as many leaves as branchings, paths are all degree 2).
_ELIMINATE_SHARE = 0.01
#: ... on graphs of at least this many vertices (below, the direct solvers are cheap anyway
#: and the results keep the bits they had before elimination existed).
_ELIMINATE_MIN_SIZE = 2000
#: Memory budget (bytes) of the sparse-LU fallback; beyond it a MemoryError, not a swap storm.
MEMORY_BUDGET = 2**30


def index_dtype(size: int):
    return np.int32 if size < 2**31 - 1 else np.int64


def graph_components(heads, tails, size: int, strong: bool = False) -> tuple[int, np.ndarray]:
    """``(count, label per node)`` of the connected components of the graph ``heads → tails``
    (undirected), or of its strongly connected components (``strong``)."""
    idx = index_dtype(size)
    graph = sp.csr_matrix((np.ones(heads.size), (heads.astype(idx), tails.astype(idx))),
                          shape=(size, size))
    if strong:
        return connected_components(graph, directed=True, connection="strong")
    return connected_components(graph, directed=False)


def laplacian(heads, tails, weights, size: int) -> sp.csr_matrix:
    """Weighted graph Laplacian ``Σ_e w_e (e_h − e_t)(e_h − e_t)ᵀ`` (diagonal stored)."""
    idx = index_dtype(size)
    degree = np.bincount(heads, weights, size) + np.bincount(tails, weights, size)
    rows = np.concatenate([heads, tails, np.arange(size)]).astype(idx)
    cols = np.concatenate([tails, heads, np.arange(size)]).astype(idx)
    vals = np.concatenate([-weights, -weights, degree])
    return sp.coo_matrix((vals, (rows, cols)), shape=(size, size)).tocsr()


class LaplacianPattern:
    """The fixed sparsity pattern of a graph Laplacian, refilled cheaply for new weights."""

    def __init__(self, heads, tails, size: int):
        low, high = np.minimum(heads, tails), np.maximum(heads, tails)
        pairs, self.pair = np.unique(low * size + high, return_inverse=True)
        self.low, self.high, self.size = pairs // size, pairs % size, size
        idx = index_dtype(size)
        rows = np.concatenate([self.low, self.high, np.arange(size)]).astype(idx)
        cols = np.concatenate([self.high, self.low, np.arange(size)]).astype(idx)
        tags = np.arange(1, rows.size + 1, dtype=np.float64)  # no duplicates: data = tags
        template = sp.coo_matrix((tags, (rows, cols)), shape=(size, size)).tocsr()
        self.order = template.data.astype(np.int64) - 1
        self.indices, self.indptr = template.indices, template.indptr

    def laplacian(self, weights: np.ndarray) -> sp.csr_matrix:
        """Laplacian with edge weights ``weights`` (one per original edge)."""
        w = np.bincount(self.pair, weights, self.low.size)
        degree = np.bincount(self.low, w, self.size) + np.bincount(self.high, w, self.size)
        data = np.concatenate([-w, -w, degree])[self.order]
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.size, self.size))


def band_preconditioner(lap: sp.csr_matrix, labels: np.ndarray, fixed_weights: bool = False):
    """Preconditioner for the Laplacian ``lap``, and whether it is an exact solver.

    A banded Cholesky factor of the grounded Laplacian (one node per component fixed, see
    :func:`_grounding`), after reverse Cuthill–McKee ordering unless the bandwidth is small
    already. Entries beyond the affordable bandwidth are dropped (the truncated matrix stays
    diagonally dominant, hence positive definite); when the whole bandwidth fits (chains,
    ladders, small problems) this is an exact direct solve. When no ordering can make the
    band affordable (a node with ``d`` neighbours forces a bandwidth ≥ ``d/2``), the
    diagonal (Jacobi) is used instead.
    """
    size = lap.shape[0]
    affordable = max(1, int(np.sqrt(max(_BAND_WORK * lap.nnz, _BAND_MIN) / size)))
    # A row with d neighbours forces a bandwidth ≥ d/2 in every ordering (so the natural
    # bandwidth exceeds the affordable one too): tested first, it spares the O(nnz) offsets.
    if (np.diff(lap.indptr).max(initial=1) - 1) / 2 > affordable:
        return _jacobi(lap), False
    coo = lap.tocoo()
    offset = coo.row.astype(np.int64) - coo.col
    perm = None
    if np.abs(offset).max(initial=0) > affordable:
        perm = reverse_cuthill_mckee(lap, symmetric_mode=True)
        inv = np.empty(size, dtype=np.int64)
        inv[perm] = np.arange(size)
        offset = inv[coo.row] - inv[coo.col]
    column = coo.col if perm is None else inv[coo.col]
    bandwidth = int(offset.max(initial=0))
    band = min(bandwidth, affordable)
    keep = (offset >= 0) & (offset <= band)
    lower = np.zeros((band + 1, size))
    lower[offset[keep], column[keep]] = coo.data[keep]  # entries are unique in CSR
    positions = np.arange(size) if perm is None else inv
    lower[0, positions] += _grounding(labels, lap.diagonal())
    try:
        factor = (cholesky_banded(lower, lower=True, check_finite=False), True)
    except np.linalg.LinAlgError:
        if not fixed_weights:
            raise  # Newton solvers: the curvature underflowed, their signal to stop
        return _jacobi(lap), False  # weights over ~300 decades: the band rounds to singular
    if perm is None:
        return (lambda residual: cho_solve_banded(factor, residual, check_finite=False)), (
            band == bandwidth
        )

    def apply(residual: np.ndarray) -> np.ndarray:
        return cho_solve_banded(factor, residual[perm], check_finite=False)[inv]

    return apply, band == bandwidth


def _jacobi(lap: sp.csr_matrix):
    """The diagonal (Jacobi) preconditioner of ``lap`` (1 on isolated nodes)."""
    diagonal = lap.diagonal()
    diagonal = np.where(diagonal > 0, diagonal, 1.0)[:, None]
    return lambda residual: residual / diagonal


def laplacian_product(lap: sp.csr_matrix, x: np.ndarray, fast: bool = False,
                      absolute: bool = False) -> np.ndarray:
    """``lap @ x`` as ``Σ_j w_ij (x_i − x_j)``: edge differences instead of ``deg_i x_i − …``.

    The same product, but its rounding error scales with the differences of ``x`` along
    edges, not with ``deg · |x|``; it is what makes residuals of ~1e-11 reachable when the
    solution spans 1e4 (ladder graphs). ``x`` has shape (..., size); each CSR row's terms are
    summed in order over its segment. With ``fast``, the plain sparse product of the centred
    ``x`` is used instead where its rounding bound ``4 ε max deg · max|x − mean x|`` is below
    1e-12 (well-conditioned graphs: a third of the memory traffic). With ``absolute``, the
    sums ``Σ_j |w_ij (x_i − x_j)|`` instead, which bound the product's rounding error.
    """
    if lap.nnz == 0:
        return np.zeros_like(x)
    if fast:
        centred = x - x.mean(axis=-1, keepdims=True)
        with np.errstate(over="ignore"):  # +∞: the exact path
            bound = 4 * np.finfo(float).eps * lap.diagonal().max() * np.abs(centred).max()
        if bound <= 1e-12:
            return np.asarray(lap @ centred.reshape(-1, x.shape[-1]).T).T.reshape(x.shape)
    rows = np.repeat(np.arange(lap.shape[0]), np.diff(lap.indptr))
    terms = -lap.data * (x[..., rows] - x[..., lap.indices])
    if absolute:
        terms = np.abs(terms)
    sums = np.add.reduceat(terms, np.minimum(lap.indptr[:-1], lap.nnz - 1), axis=-1)
    return np.where(np.diff(lap.indptr) > 0, sums, 0.0)  # empty rows: reduceat gives a term


def _refine(lap, rhs: np.ndarray, solve) -> tuple[np.ndarray, np.ndarray]:
    """Direct solve of the columns of ``rhs`` with iterative refinement, each column until
    its residual stops shrinking. Returns the solutions and all-True convergence flags."""
    x = solve(rhs)
    best = x.copy()
    scale = np.abs(rhs).max(axis=0)
    best_norm, previous = np.full(rhs.shape[1], np.inf), np.full(rhs.shape[1], np.inf)
    active = np.ones(rhs.shape[1], dtype=bool)
    for _ in range(10):
        residual = rhs - laplacian_product(lap, x.T).T
        norm = np.abs(residual).max(axis=0)
        better = active & (norm < best_norm)
        best[:, better], best_norm[better] = x[:, better], norm[better]
        active &= (norm > RTOL * scale) & (norm < 0.5 * previous)
        if not active.any():
            break
        previous = norm
        x = x + np.where(active, solve(residual), 0.0)
    return best, np.ones(rhs.shape[1], dtype=bool)


def _columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Column-wise dot products."""
    return np.einsum("ij,ij->j", a, b)


def _pcg(lap, rhs: np.ndarray, precondition, rtol: float,
         max_iter: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Preconditioned conjugate gradients on the (consistent, singular) Laplacian system.

    All columns of ``rhs`` at once (one sparse product serves them all), each with its own
    step sizes. ``rhs`` sums to zero over every connected component, so CG converges in the
    range of ``lap`` for any SPD preconditioner. A column stops at
    ``max|r| ≤ rtol · max|rhs|`` or at the rounding floor of its residual, and is reported
    unconverged when its residual stalls above both, or after ``max_iter`` iterations
    (default ``_MAX_CG``).
    """
    x = np.zeros_like(rhs)
    scale = np.abs(rhs).max(axis=0)
    residual = rhs.copy()
    z = precondition(residual)
    direction = z.copy()
    rz = _columns(residual, z)
    k = rhs.shape[1]
    converged, active = scale == 0, scale > 0
    best, stalled = np.full(k, np.inf), np.zeros(k, dtype=int)
    magnitude = abs(lap)
    for _ in range(_MAX_CG if max_iter is None else max_iter):
        if not active.any():
            break
        q = lap @ direction
        alpha = np.where(active, rz / np.where(active, _columns(direction, q), 1.0), 0.0)
        x += alpha * direction
        residual -= alpha * q
        norm = np.abs(residual).max(axis=0)
        near = np.flatnonzero(active & (norm <= max(1e-8, rtol) * scale))
        if near.size:  # near the end: true residual and its floor
            true = rhs[:, near] - lap @ x[:, near]
            residual[:, near] = true
            norm[near] = np.abs(true).max(axis=0)
            centred = np.abs(x[:, near] - x[:, near].mean(axis=0))
            floor = 8 * np.finfo(float).eps * (magnitude @ centred).max(axis=0)
            done = near[norm[near] <= np.maximum(rtol * scale[near], floor)]
            converged[done], active[done] = True, False
        stalled = np.where(norm < 0.5 * best, 0, stalled + 1)
        best = np.minimum(best, norm)
        active &= stalled <= _STALL
        z = precondition(residual)
        rz_new = _columns(residual, z)
        beta = np.where(active, rz_new / np.where(active, rz, 1.0), 0.0)
        direction = z + beta * direction
        rz = rz_new
    return x, converged


def laplacian_solve(lap: sp.csr_matrix, labels: np.ndarray, rhs: np.ndarray,
                    rtol: float = RTOL, fixed_weights: bool = False) -> np.ndarray:
    """A solution of ``lap @ X = rhs`` (columns), ``rhs`` summing to zero per component.

    ``labels`` are the connected components of the graph. Vertices of degree 1 and 2 are
    eliminated exactly first (:class:`LowDegreeElimination`: trees and paths collapse in
    linear time, leaving a core whose every vertex has degree ≥ 3), then the core is solved
    by :func:`core_solve` and the eliminated vertices are recovered by back-substitution.

    ``fixed_weights`` (IPO's normal equations; the tie models' Newton steps, whose
    curvature is floored): a banded factor that rounds to singular (weights over ~300
    decades) falls back to Jacobi-preconditioned CG and the approximate Cholesky path.
    Without it (the margin-loss Newton) that ``LinAlgError`` propagates: there it means the
    curvature underflowed and the iterates ran away, which the caller handles.
    """
    rhs = _consistent(lap, labels, rhs)
    elimination = LowDegreeElimination(lap)
    if elimination.core.size == lap.shape[0]:
        return core_solve(lap, labels, rhs, rtol, fixed_weights)
    core_rhs = elimination.forward(rhs)
    core_x = np.zeros_like(core_rhs)
    if elimination.core.size:
        _, core_labels = np.unique(labels[elimination.core], return_inverse=True)
        core_x = core_solve(elimination.core_laplacian, core_labels, core_rhs, rtol,
                            fixed_weights)
    return elimination.backward(core_x)


def _consistent(lap: sp.csr_matrix, labels: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``rhs`` minus its rounding error (nonzero component sums), spread over each component
    in proportion to the weighted degrees (uniformly on a component without edges): a vertex
    whose edges weigh 1e-300 keeps its right-hand side, where a uniform share of a rounding
    error of the heavy vertices would swamp it and send its Newton step to ~1e280."""
    n_labels = int(labels.max(initial=-1)) + 1
    if rhs.size == 0:
        return rhs
    degree = np.abs(lap.diagonal())
    total = np.bincount(labels, degree, n_labels)
    share = np.where(total[labels] > 0, degree / np.where(total > 0, total, 1.0)[labels],
                     1.0 / np.maximum(np.bincount(labels, minlength=n_labels), 1)[labels])
    sums = np.stack([np.bincount(labels, col, n_labels) for col in rhs.T], axis=-1)
    return rhs - share[:, None] * sums[labels]


def core_solve(lap: sp.csr_matrix, labels: np.ndarray, rhs: np.ndarray,
               rtol: float = RTOL, fixed_weights: bool = False) -> np.ndarray:
    """Solve ``lap @ X = rhs`` (consistent) on a graph without cheap eliminations.

    A banded Cholesky factor of the grounded Laplacian (one node per component fixed, see
    :func:`_grounding`), after reverse Cuthill–McKee ordering, is a direct solver on banded
    graphs (ladders: badly conditioned Laplacians), refined iteratively; otherwise it (or the
    diagonal) preconditions conjugate gradients, which converge fast on expander-like graphs
    (well conditioned Laplacians). Where they have not converged after ``_PROBE``
    iterations (hubs on badly conditioned graphs, weights over many decades), a randomized
    approximate Cholesky factor (:class:`~._approx_cholesky.ApproximateCholesky`, near-linear
    on any graph) preconditions CG inside iterative refinement (:func:`_approximate_solve`).
    Only if that fails too, sparse LU of the grounded Laplacian in an envelope ordering,
    whose fill is bounded before factoring: beyond :data:`MEMORY_BUDGET` a ``MemoryError``
    says so instead of exhausting the machine.
    """
    precondition, exact = band_preconditioner(lap, labels, fixed_weights)
    out = np.zeros_like(rhs)
    cols = np.flatnonzero(np.any(rhs, axis=0))
    if cols.size == 0:
        return out
    solve = _refine if exact else (lambda a, b, p: _pcg(a, b, p, rtol, _PROBE))
    out[:, cols], converged = solve(lap, rhs[:, cols], precondition)
    again = cols[~converged]
    if again.size:
        out[:, again], converged = _approximate_solve(lap, labels, rhs[:, again], rtol)
        again = again[~converged]
    if again.size:
        out[:, again], _ = _refine(lap, rhs[:, again], _bounded_lu(lap, labels))
    return out


def _approximate_solve(lap, labels, rhs: np.ndarray, rtol: float):
    """CG preconditioned by a randomized approximate Cholesky factor, inside iterative
    refinement.

    Each refinement step computes the residual as edge differences
    (:func:`laplacian_product`) and solves the residual equation by CG to ``_INNER_RTOL``,
    or to the residual's rounding floor ``8 ε max_i Σ_j |w_ij (x_i − x_j)|`` if higher: the
    preconditioner is close to ``L⁺`` and would amplify the rounding noise of a residual
    pushed below its floor. Returns the solutions and, per column, whether the residual
    reached ``max(rtol · max|rhs|, floor)``.
    """
    from ._approx_cholesky import ApproximateCholesky

    factor = ApproximateCholesky(lap, memory_budget=MEMORY_BUDGET)
    n_labels = int(labels.max(initial=-1)) + 1

    def precondition(residual):  # L̃⁺ r, projected on the range (no drift along constants)
        z = factor.solve(residual)
        return z - component_mean(z.T, labels, n_labels).T

    x = np.zeros_like(rhs)
    scale = np.abs(rhs).max(axis=0)
    previous = np.full(rhs.shape[1], np.inf)
    eps = np.finfo(float).eps
    for _ in range(_REFINEMENTS):
        norm = np.abs(rhs - laplacian_product(lap, x.T).T).max(axis=0)
        floor = 8 * eps * laplacian_product(lap, x.T, absolute=True).max(axis=1)
        target = np.maximum(rtol * scale, floor)
        active = (norm > target) & (norm < 0.5 * previous)
        if not active.any():
            break
        residual = rhs[:, active] - laplacian_product(lap, x[:, active].T).T
        residual -= component_mean(residual.T, labels, n_labels).T   # rounding: consistent
        inner = max(_INNER_RTOL, float(np.max(target[active] / norm[active])))
        x[:, active] += _pcg(lap, residual, precondition, inner)[0]
        previous = norm
    # accepted as _pcg accepts: below rtol or the rounding bound of the plain product L x
    centred = np.abs(x - component_mean(x.T, labels, n_labels).T)
    return x, norm <= np.maximum(target, 8 * eps * (abs(lap) @ centred).max(axis=0))


def _bounded_lu(lap: sp.csr_matrix, labels: np.ndarray):
    """``solve(b)`` by sparse LU of the grounded Laplacian, or MemoryError over budget."""
    return bounded_spd_solver(_grounded(lap, labels),
                              f"sparse LU of a graph Laplacian on {lap.shape[0]} nodes "
                              f"({lap.nnz} entries; conjugate gradients stalled)")


def bounded_spd_solver(matrix: sp.csr_matrix, what: str):
    """``solve(b)`` by sparse LU of a symmetric positive definite, diagonally dominant matrix
    (a grounded Laplacian), or ``MemoryError`` over :data:`MEMORY_BUDGET`.

    In reverse Cuthill–McKee order, symmetric Gaussian elimination (no pivoting) fills at
    most the envelope ``Σ_i (i − first column of row i)``; that bound is checked first.
    """
    perm = reverse_cuthill_mckee(matrix, symmetric_mode=True)
    ordered = matrix[perm][:, perm].tocsr()
    first = np.minimum.reduceat(ordered.indices, ordered.indptr[:-1]) if ordered.nnz else []
    envelope = int(np.sum(np.arange(ordered.shape[0]) - first))
    # L and U each hold the envelope (16 bytes an entry with its index) plus the diagonal
    _checks.memory_budget(2 * 16 * (envelope + ordered.shape[0]), MEMORY_BUDGET, what,
                          "raise psipo_exact.solvers._laplacian.MEMORY_BUDGET if the "
                          "machine has the memory")
    factor = splu(ordered.tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.0,
                  options=dict(SymmetricMode=True))
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    return lambda b: factor.solve(b[perm])[inverse]


class LowDegreeElimination:
    """Exact Gaussian elimination of the vertices of degree ≤ 2 of a graph Laplacian.

    Eliminating a vertex ``v`` is taking the Schur complement, again a Laplacian: a leaf
    (one neighbour ``u``) just disappears, with its right-hand side added to ``u``'s; a
    vertex with two neighbours ``a, b`` (weights ``w_a, w_b``) is replaced by the edge
    ``(a, b)`` of weight ``w_a w_b / (w_a + w_b)`` (series conductances), its right-hand side
    split ``w_a : w_b`` between them. Eliminations may lower the degrees of the neighbours,
    which are then eliminated in turn: trees and paths collapse entirely, in time linear in
    the number of eliminated vertices, and no fill-in arises. The remaining ``core`` has
    only vertices of degree ≥ 3 and is solved separately; :meth:`backward` then recovers
    ``x_v = x_u + r_v / w`` and ``x_v = (w_a x_a + w_b x_b + r_v) / (w_a + w_b)`` in reverse
    order. The last vertex of a tree component has no neighbour left: it is the component's
    ground, ``x_v = 0``. Edges of weight 0 count as absent.

    Parameters
    ----------
    lap : scipy.sparse.csr_matrix
        A weighted graph Laplacian (``laplacian`` or ``LaplacianPattern.laplacian``).
    """

    def __init__(self, lap: sp.csr_matrix):
        self.size = lap.shape[0]
        self.steps = []
        self.core = np.arange(self.size)
        # Every row stores its diagonal, so a row of length ≤ 3 has at most 2 neighbours:
        # an O(n) test of whether elimination can pay before the O(nnz) degree count.
        stored = np.diff(lap.indptr)
        if self.size < _ELIMINATE_MIN_SIZE or np.count_nonzero(
                stored <= 3) < _ELIMINATE_SHARE * self.size:
            return  # small graphs (any solver is fast) or too few to pay: all is the core
        rows = np.repeat(np.arange(self.size), stored)
        edge = (lap.indices != rows) & (lap.data < 0)
        degree = np.bincount(rows[edge], minlength=self.size)
        low = np.flatnonzero((degree > 0) & (degree <= 2))
        if low.size < _ELIMINATE_SHARE * self.size:
            return
        self.lap, self.edge = lap, edge
        alive = degree > 0  # isolated vertices: x = 0, outside the core
        touched = self._eliminate(low, alive)
        self.core = np.flatnonzero(alive)
        self.core_laplacian = self._core_laplacian(alive, touched, rows)

    def _row(self, v: int) -> dict:
        """Neighbour -> weight of ``v`` (all vertices, dead or alive), from the CSR row."""
        lo, hi = self.lap.indptr[v], self.lap.indptr[v + 1]
        return {u: -w for u, w in zip(self.lap.indices[lo:hi].tolist(),
                                      self.lap.data[lo:hi].tolist()) if w < 0 and u != v}

    def _eliminate(self, low: np.ndarray, alive: np.ndarray) -> dict:
        """Eliminate while a vertex of degree ≤ 2 remains; returns the touched rows.

        ``steps`` records ``(v, ((u, w_u), …))`` in elimination order; the right-hand side
        transfer and the back-substitution replay them (:meth:`forward`, :meth:`backward`).
        """
        rows, stack, live = {}, low.tolist(), alive.tolist()
        steps = self.steps
        while stack:
            v = stack.pop()
            if not live[v]:
                continue
            nbrs = rows.get(v)
            if nbrs is None:
                nbrs = rows[v] = {u: w for u, w in self._row(v).items() if live[u]}
            if len(nbrs) > 2:
                continue
            live[v] = False
            links = tuple(nbrs.items())
            steps.append((v, links))
            for u, _ in links:
                row = rows.get(u)
                if row is None:
                    row = rows[u] = {x: w for x, w in self._row(u).items() if live[x] or x == v}
                del row[v]
            if len(links) == 2:
                (a, w_a), (b, w_b) = links
                series = w_a * w_b / (w_a + w_b)
                rows[a][b] = rows[a].get(b, 0.0) + series
                rows[b][a] = rows[b].get(a, 0.0) + series
            stack.extend(u for u, _ in links if len(rows[u]) <= 2)
        alive[:] = live
        return {v: row for v, row in rows.items() if live[v]}

    def _core_laplacian(self, alive, touched: dict, rows: np.ndarray) -> sp.csr_matrix:
        """The Schur complement on the live vertices, renumbered ``0 .. core.size − 1``."""
        new_id = np.full(self.size, -1, dtype=np.int64)
        new_id[self.core] = np.arange(self.core.size)
        is_touched = np.zeros(self.size, dtype=bool)
        is_touched[list(touched)] = True
        keep = self.edge & alive[rows] & alive[self.lap.indices] & ~is_touched[rows]
        heads = [rows[keep]]
        tails = [self.lap.indices[keep]]
        weights = [-self.lap.data[keep]]
        for v, row in touched.items():
            heads.append(np.full(len(row), v))
            tails.append(np.fromiter(row.keys(), dtype=np.int64, count=len(row)))
            weights.append(np.fromiter(row.values(), dtype=float, count=len(row)))
        heads, tails = new_id[np.concatenate(heads)], new_id[np.concatenate(tails)]
        weights = np.concatenate(weights)
        m = self.core.size
        degree = np.bincount(heads, weights, m)
        idx = index_dtype(m)
        return sp.csr_matrix((np.concatenate([-weights, degree]),
                              (np.concatenate([heads, np.arange(m)]).astype(idx),
                               np.concatenate([tails, np.arange(m)]).astype(idx))),
                             shape=(m, m))

    def forward(self, rhs: np.ndarray) -> np.ndarray:
        """Transfer ``rhs`` (size, k) through the eliminations; the core's right-hand side.

        Also stores each eliminated vertex's right-hand side at its elimination.
        """
        cols = [rhs[:, k].tolist() for k in range(rhs.shape[1])]
        self.eliminated_rhs = held = []
        for v, links in self.steps:
            values = [col[v] for col in cols]
            held.append(values)
            if not links:  # the last vertex of a tree: its component's ground
                continue
            if len(links) == 1:
                u = links[0][0]
                for col, r in zip(cols, values):
                    col[u] += r
            else:
                (a, w_a), (b, w_b) = links
                share = w_a / (w_a + w_b)
                for col, r in zip(cols, values):
                    col[a] += r * share
                    col[b] += r * (1.0 - share)
        return np.array(cols).T[self.core] if cols else np.zeros((self.core.size, 0))

    def backward(self, core_x: np.ndarray) -> np.ndarray:
        """The full solution from the core's, by back-substitution in reverse order."""
        x = np.zeros((self.size, core_x.shape[1]))
        x[self.core] = core_x
        cols = [x[:, k].tolist() for k in range(x.shape[1])]
        for (v, links), values in zip(reversed(self.steps), reversed(self.eliminated_rhs)):
            if not links:
                continue
            if len(links) == 1:
                u, w = links[0]
                for col, r in zip(cols, values):
                    col[v] = col[u] + r / w
            else:
                (a, w_a), (b, w_b) = links
                for col, r in zip(cols, values):
                    col[v] = (w_a * col[a] + w_b * col[b] + r) / (w_a + w_b)
        return np.array(cols).T.reshape(x.shape)


def _grounding(labels: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """Diagonal that grounds the first node of every component (removes the null space).

    With ``rhs`` summing to zero over each component, the solution of ``(L + G) x = rhs``
    has ``x = 0`` at the grounded nodes and solves ``L x = rhs`` exactly.
    """
    _, first = np.unique(labels, return_index=True)
    ground = np.zeros(labels.size)
    ground[first] = np.where(degree[first] > 0, degree[first], 1.0)
    return ground


def _grounded(lap: sp.csr_matrix, labels: np.ndarray) -> sp.csr_matrix:
    """``lap`` with one node per component grounded (see :func:`_grounding`)."""
    out = lap.copy()
    out.setdiag(lap.diagonal() + _grounding(labels, lap.diagonal()))
    return out


def component_mean(values: np.ndarray, labels: np.ndarray, n_labels: int) -> np.ndarray:
    """Mean of ``values[..., node]`` over the nodes of each component, per node."""
    sizes = np.bincount(labels, minlength=n_labels)
    flat = values.reshape(-1, labels.size)
    sums = np.stack([np.bincount(labels, row, n_labels) for row in flat]) if flat.size else flat
    return (sums / np.maximum(sizes, 1))[:, labels].reshape(values.shape)


def pull_back(values, heads, tails, size) -> np.ndarray:
    """``Bᵀ values``: ``Σ_i values_i (e_{w_i} − e_{l_i})`` over global nodes."""
    return np.bincount(heads, values, size) - np.bincount(tails, values, size)
