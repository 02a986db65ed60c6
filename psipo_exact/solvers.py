"""Exact minimisers of the losses of Azar et al. (arXiv:2310.12036), or their exact limits.

* IPO, population (Eq. 13/14): a quadratic in the logits equal to ``2 Var_µ(d)`` with
  ``d = s − log πref − p*(·≻µ)/τ``; solved in O(n) per context (Theorem 2, App. A.2).
* IPO, empirical (Eq. 17): least squares on the comparison graph, one equation
  ``s_w − s_l = 1/(2τ) + log πref(w) − log πref(l)`` per datum; its normal matrix is the
  graph Laplacian, independent of τ: one sparse solve (a banded Cholesky after reverse
  Cuthill–McKee ordering, or conjugate gradients it preconditions) serves every τ.
* Bradley–Terry maximum likelihood (Eq. 2) and DPO (Eq. 4/5) through Proposition 4:
  ``π = rlhf_policy(r̂, πref, τ)``. A finite minimiser exists iff the "beats" digraph is
  strongly connected within every connected component of the comparison graph (Zermelo;
  Ford, 1957); otherwise the exact limit of any minimising sequence is returned.

Every solver returns a :class:`Solution` (``fit_bradley_terry`` a
:class:`BradleyTerrySolution`). Contexts, and the leading axes of population problems, are
independent problems solved together as one block-diagonal problem: node ``k · n + y`` of
the global graph is action ``y`` of problem ``k``.

Format of ``Solution.free``: a tuple of groups, each group a tuple of indices into the
problem's array *without* τ axes: plain action integers for a single problem
(``logits_shape == (n,)``), index tuples ``(x, y)`` (``(*lead, y)`` for population
problems) otherwise. Within a group the relative probabilities are determined; the masses
of the groups relative to one another are left undetermined by the loss. Only problems
whose policy is not unique contribute groups, and then all their groups (so ``free == ()``
exactly when ``unique``). Actions with ``πref = 0`` get probability 0 and are never free,
except in :func:`solve_ipo_empirical` on a never-compared action where ``init`` is finite
(Eq. 17 does not involve πref there, and that logit keeps its ``init`` value).

File input for ``psipo-exact solve`` lives in :mod:`psipo_exact.files`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_solve_banded, cholesky_banded
from scipy.sparse.csgraph import connected_components, reverse_cuthill_mckee
from scipy.sparse.linalg import splu

from . import _checks
from .closed_form import (
    _log,
    _tau_for,
    _validated_prefs_mu,
    gibbs_log_policy,
    gibbs_policy,
    preference_against,
    softmax_policy,
)
from .losses import LINKS, reference_gap
from .model import Dataset

__all__ = [
    "BradleyTerrySolution",
    "Solution",
    "fit_bradley_terry",
    "solve_dpo_empirical",
    "solve_dpo_population",
    "solve_ipo_empirical",
    "solve_ipo_population",
]


@dataclass(frozen=True, eq=False)
class Solution:
    """The exact minimiser of a loss, or the exact limit of its minimising sequences.

    Attributes
    ----------
    policy : ndarray, shape (..., n)
        The minimising policy; the limit policy when no finite minimiser exists; one
        representative (documented by each solver) when the policy is not unique.
    logits : ndarray, shape (..., n)
        Logits of ``policy`` (``−∞`` where it vanishes); for the IPO solvers, the minimiser
        in logit space closest to the starting logits.
    exists : bool
        A finite minimiser exists (in every context / leading index).
    unique : bool
        The minimising (or limit) policy is unique (in every context / leading index).
    free : tuple of tuples
        Groups of actions whose relative mass the loss leaves undetermined; see the module
        docstring for the format. Empty when ``unique``.
    residual : float
        Optimality residual, defined by each solver (normal-equation residual, gradient).
    message : str
        What happens, in words.
    """

    policy: np.ndarray
    logits: np.ndarray
    exists: bool
    unique: bool
    free: tuple
    residual: float
    message: str


@dataclass(frozen=True, eq=False)
class BradleyTerrySolution(Solution):
    """:class:`Solution` of the Bradley–Terry maximum-likelihood problem (Eq. 2).

    Attributes
    ----------
    rewards : ndarray, shape (..., n)
        Maximum-likelihood rewards, mean zero over each top strongly connected component
        (the whole connected component when a finite MLE exists); ``−∞`` for actions outside
        the top components (their reward diverges to ``−∞`` relative to the top). ``policy``
        is ``softmax(rewards)`` per problem (the Bradley–Terry strengths ``e^r``, normalised)
        and ``logits`` equals ``rewards``.
    """

    rewards: np.ndarray = None


# ------------------------------------------------------------------ sparse linear algebra

#: Relative tolerance of the sparse SPD solves (on the max-norm of the residual).
_RTOL = 1e-14
#: Work budget of the banded Cholesky preconditioner, in multiples of nnz(A).
_BAND_WORK = 8
#: Minimum work budget of the banded preconditioner (small problems are solved directly).
_BAND_MIN = 10**6
_MAX_CG = 3000
#: CG gives up (and falls back to sparse LU) after this many iterations without halving.
_STALL = 200


def _index_dtype(size: int):
    return np.int32 if size < 2**31 - 1 else np.int64


def _laplacian(heads, tails, weights, size: int) -> sp.csr_matrix:
    """Weighted graph Laplacian ``Σ_e w_e (e_h − e_t)(e_h − e_t)ᵀ`` (diagonal stored)."""
    idx = _index_dtype(size)
    degree = np.bincount(heads, weights, size) + np.bincount(tails, weights, size)
    rows = np.concatenate([heads, tails, np.arange(size)]).astype(idx)
    cols = np.concatenate([tails, heads, np.arange(size)]).astype(idx)
    vals = np.concatenate([-weights, -weights, degree])
    return sp.coo_matrix((vals, (rows, cols)), shape=(size, size)).tocsr()


class _LaplacianPattern:
    """The fixed sparsity pattern of a graph Laplacian, refilled cheaply for new weights."""

    def __init__(self, heads, tails, size: int):
        low, high = np.minimum(heads, tails), np.maximum(heads, tails)
        pairs, self.pair = np.unique(low * size + high, return_inverse=True)
        self.low, self.high, self.size = pairs // size, pairs % size, size
        idx = _index_dtype(size)
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


def _band_preconditioner(lap: sp.csr_matrix, labels: np.ndarray):
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
    coo = lap.tocoo()
    offset = coo.row.astype(np.int64) - coo.col
    perm = None
    if np.abs(offset).max(initial=0) > affordable:
        if (np.diff(lap.indptr).max(initial=1) - 1) / 2 > affordable:
            diagonal = lap.diagonal()
            diagonal = np.where(diagonal > 0, diagonal, 1.0)
            return (lambda residual: residual / diagonal), False
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
    factor = (cholesky_banded(lower, lower=True, check_finite=False), True)
    if perm is None:
        return (lambda residual: cho_solve_banded(factor, residual, check_finite=False)), (
            band == bandwidth
        )

    def apply(residual: np.ndarray) -> np.ndarray:
        return cho_solve_banded(factor, residual[perm], check_finite=False)[inv]

    return apply, band == bandwidth


def _laplacian_product(lap: sp.csr_matrix, x: np.ndarray) -> np.ndarray:
    """``lap @ x`` as ``Σ_j w_ij (x_i − x_j)``: edge differences instead of ``deg_i x_i − …``.

    The same product, but its rounding error scales with the differences of ``x`` along
    edges, not with ``deg · |x|``; it is what makes residuals of ~1e-11 reachable when the
    solution spans 1e4 (ladder graphs). ``x`` has shape (..., size); each CSR row's terms are
    summed in order over its segment.
    """
    if lap.nnz == 0:
        return np.zeros_like(x)
    rows = np.repeat(np.arange(lap.shape[0]), np.diff(lap.indptr))
    terms = -lap.data * (x[..., rows] - x[..., lap.indices])
    sums = np.add.reduceat(terms, np.minimum(lap.indptr[:-1], lap.nnz - 1), axis=-1)
    return np.where(np.diff(lap.indptr) > 0, sums, 0.0)  # empty rows: reduceat gives a term


def _refine(lap, rhs: np.ndarray, solve) -> tuple[np.ndarray, bool]:
    """Direct solve with iterative refinement until the residual stops shrinking."""
    x = best = solve(rhs)
    scale, best_norm, previous = np.abs(rhs).max(), np.inf, np.inf
    for _ in range(10):
        residual = rhs - _laplacian_product(lap, x)
        norm = np.abs(residual).max()
        if norm < best_norm:
            best, best_norm = x, norm
        if norm <= _RTOL * scale or norm >= 0.5 * previous:
            break
        previous = norm
        x = x + solve(residual)
    return best, True


def _pcg(lap, rhs: np.ndarray, precondition, rtol: float) -> tuple[np.ndarray, bool]:
    """Preconditioned conjugate gradients on the (consistent, singular) Laplacian system.

    ``rhs`` sums to zero over every connected component, so CG converges in the range of
    ``lap`` for any SPD preconditioner. Stops at ``max|r| ≤ rtol · max|rhs|`` or at the
    rounding floor of the residual; reports failure when the residual stalls above both.
    """
    x = np.zeros_like(rhs)
    scale = np.abs(rhs).max()
    residual = rhs.copy()
    z = precondition(residual)
    direction = z.copy()
    rz = residual @ z
    best, stalled = np.inf, 0
    magnitude = abs(lap)
    for _ in range(_MAX_CG):
        q = lap @ direction
        alpha = rz / (direction @ q)
        x += alpha * direction
        residual -= alpha * q
        norm = np.abs(residual).max()
        if norm <= max(1e-8, rtol) * scale:  # near the end: true residual and its floor
            residual = rhs - lap @ x
            norm = np.abs(residual).max()
            floor = 8 * np.finfo(float).eps * (magnitude @ np.abs(x - x.mean())).max()
            if norm <= max(rtol * scale, floor):
                return x, True
        stalled = 0 if norm < 0.5 * best else stalled + 1
        best = min(best, norm)
        if stalled > _STALL:
            break
        z = precondition(residual)
        rz_new = residual @ z
        direction = z + (rz_new / rz) * direction
        rz = rz_new
    return x, False


def _laplacian_solve(lap: sp.csr_matrix, labels: np.ndarray, rhs: np.ndarray,
                     rtol: float = _RTOL) -> np.ndarray:
    """A solution of ``lap @ X = rhs`` (columns), ``rhs`` summing to zero per component.

    ``labels`` are the connected components of the graph. A banded Cholesky factor of the
    grounded Laplacian (one node per component fixed, see :func:`_grounding`), after reverse
    Cuthill–McKee ordering, is a direct solver on banded graphs (chains, ladders: badly
    conditioned Laplacians), refined iteratively; otherwise it (or the diagonal)
    preconditions conjugate gradients, which converge fast on expander-like graphs (well
    conditioned Laplacians). Sparse LU of the grounded Laplacian if CG stagnates.
    """
    # Project out the rounding error that makes rhs inconsistent (nonzero component sums).
    rhs = rhs - _component_mean(rhs.T, labels, int(labels.max(initial=-1)) + 1).T
    precondition, exact = _band_preconditioner(lap, labels)
    out = np.zeros_like(rhs)
    lu = None
    for k in range(rhs.shape[1]):
        if not np.any(rhs[:, k]):
            continue
        if exact:
            out[:, k], converged = _refine(lap, rhs[:, k], precondition)
        else:
            out[:, k], converged = _pcg(lap, rhs[:, k], precondition, rtol)
        if not converged:
            lu = splu(_grounded(lap, labels).tocsc()) if lu is None else lu
            out[:, k], _ = _refine(lap, rhs[:, k], lu.solve)
    return out


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


def _component_mean(values: np.ndarray, labels: np.ndarray, n_labels: int) -> np.ndarray:
    """Mean of ``values[..., node]`` over the nodes of each component, per node."""
    sizes = np.bincount(labels, minlength=n_labels)
    flat = values.reshape(-1, labels.size)
    sums = np.stack([np.bincount(labels, row, n_labels) for row in flat]) if flat.size else flat
    return (sums / np.maximum(sizes, 1))[:, labels].reshape(values.shape)


# ------------------------------------------------------------------------- free groups


def _free_groups(groups: np.ndarray, live: np.ndarray, n: int, single: bool) -> tuple:
    """Partition of the live nodes of every non-unique problem into ``groups``.

    ``groups`` labels every node with a global group id (``-1`` for nodes in no group, e.g.
    actions that get probability 0; a group never spans two problems); ``live`` marks the
    nodes that can carry mass. Problem ``k`` holds nodes ``k·n .. k·n + n − 1``.
    """
    node = np.flatnonzero(live & (groups >= 0))
    _, first, label = np.unique(groups[node], return_index=True, return_inverse=True)
    per_problem = np.bincount(node[first] // n, minlength=live.size // n)
    node, label = node[per_problem[node // n] > 1], label[per_problem[node // n] > 1]
    if node.size == 0:
        return ()
    order = np.argsort(label, kind="stable")
    node, label = node[order], label[order]
    chunks = np.split(node, np.flatnonzero(np.diff(label)) + 1)
    out = []
    for chunk in sorted(chunks, key=lambda c: int(c[0])):
        if single:
            out.append(tuple(int(y) for y in chunk % n))
        else:
            out.append(tuple((int(k), int(y)) for k, y in zip(chunk // n, chunk % n)))
    return tuple(out)


def _unflatten_free(free: tuple, lead: tuple[int, ...]) -> tuple:
    """Turn ``(problem, y)`` entries into ``(*lead_index, y)`` for multi-axis leads."""
    if len(lead) <= 1:
        return free
    return tuple(
        tuple(tuple(int(i) for i in np.unravel_index(k, lead)) + (y,) for k, y in group)
        for group in free
    )


def _names(data: Dataset | None, actions) -> str:
    label = (lambda y: data.action_names[y]) if data is not None and data.action_names else str
    return ", ".join(label(int(y)) for y in actions)


# -------------------------------------------------------------------------- IPO, population


def _population_inputs(prefs, mu, pi_ref):
    prefs, mu = _validated_prefs_mu(prefs, mu)
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    _checks.n_actions_match(prefs.shape[-1], pi_ref=pi_ref)
    lead = _checks.broadcastable(
        ("prefs", prefs.shape[:-2]), ("mu", mu.shape[:-1]), ("pi_ref", pi_ref.shape[:-1])
    )
    _checks.support_covered(*np.broadcast_arrays(mu, pi_ref))
    return prefs, mu, pi_ref, lead


def solve_ipo_population(prefs, mu, pi_ref, tau) -> Solution:
    """Exact minimiser of the population IPO loss (Eq. 13), as the quadratic Eq. 14 in logits.

    With ``d = s − log πref − p*(·≻µ)/τ``, Eq. 14 equals ``2 Var_µ(d)``: zero exactly when
    ``d`` is constant on Supp(µ), i.e. ``s = log πref + p*(·≻µ)/τ + c`` there (Eq. 11). Logits
    off Supp(µ) do not enter the loss (App. A.2). The returned logits are the minimiser
    closest to ``log πref`` (also the gradient-descent limit from ``log πref``): unchanged
    off Supp(µ), and ``c = −mean_{Supp(µ)} p*(·≻µ)/τ``. When Supp(µ) = Supp(πref) the policy
    is unique and equals Eq. 7's ``psipo_policy(prefs, mu, pi_ref, tau, "identity")``
    (Theorem 2). O(n) per problem.

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
    mu, pi_ref : array_like, shape (..., n)
        Supp(µ) ⊆ Supp(πref) is required.
    tau : float or array_like
        τ > 0, broadcast against the leading axes.

    Returns
    -------
    Solution
        ``exists`` is True; ``unique`` iff Supp(µ) = Supp(πref) in every problem; ``free``
        groups Supp(µ) and each action of Supp(πref) \\ Supp(µ) (indices into the broadcast
        shape of ``prefs``/``mu``/``pi_ref``); ``residual`` is the largest absolute gradient
        of Eq. 14 in the logits.

    Raises
    ------
    ValueError
        On invalid probabilities, mismatched shapes, or µ > 0 where πref = 0.
    """
    prefs, mu, pi_ref, lead = _population_inputs(prefs, mu, pi_ref)
    n = prefs.shape[-1]
    t, full = _tau_for(tau, lead)
    against = np.broadcast_to(preference_against(prefs, mu), lead + (n,))
    mu_b = np.broadcast_to(mu, lead + (n,))
    ref_b = np.broadcast_to(pi_ref, lead + (n,))
    support = mu_b > 0
    centre = np.sum(against * support, -1, keepdims=True) / support.sum(-1, keepdims=True)
    # g = p*(·≻µ) on Supp(µ), the centre off it, so that log π − log πref − (g − centre)/τ
    # vanishes off Supp(µ): logits there stay at log πref.
    g = np.where(support, against, centre)
    t_b = np.broadcast_to(t, full)[..., None]
    logits = _log(ref_b) + (g - centre) / t_b
    policy = gibbs_policy(ref_b, g, t_b[..., 0])
    free_mask = (ref_b > 0) & ~support
    # Global group ids: Supp(µ) is one group per problem, other actions are singletons.
    problem = np.arange(ref_b.size // n).reshape(lead + (1,)) * (n + 1)
    groups = problem + np.where(support, n, np.arange(n))
    free = _unflatten_free(_free_groups(groups.ravel(), (ref_b > 0).ravel(), n, not lead), lead)
    unique = not free_mask.any()
    residual = _ipo_population_gradient(logits, ref_b, against, mu_b, t_b)
    if unique:
        message = "unique minimiser: Supp(mu) = Supp(pi_ref) (Theorem 2)"
    else:
        message = (
            "minimiser not unique: pi_ref puts mass outside Supp(mu), where the loss does not "
            "constrain the logits (App. A.2); returned the minimiser closest to log pi_ref"
        )
    return Solution(policy, logits, True, unique, free, residual, message)


def _ipo_population_gradient(logits, pi_ref, against, mu, t) -> float:
    """``max |∂ Eq.14 / ∂s| = max 4 µ(y) |d(y) − E_µ d|`` on Supp(µ)."""
    support = mu > 0
    d = np.where(support, logits - _log(np.where(support, pi_ref, 1.0)) - against / t, 0.0)
    centred = d - np.sum(mu * d, -1, keepdims=True)
    return float(np.max(4 * mu * np.abs(centred), initial=0.0))


# --------------------------------------------------------------------------- IPO, empirical


def _context_pi_ref(pi_ref, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Validate πref for ``data``: shape (n,) (shared by all contexts) or ``logits_shape``.

    Returns πref broadcast to ``logits_shape`` and the per-datum gaps
    ``log πref(y_w) − log πref(y_l)`` (:func:`~psipo_exact.losses.reference_gap`, which
    raises if πref vanishes on a compared action).
    """
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    if pi_ref.shape not in {data.logits_shape, (data.n_actions,)}:
        allowed = f"{(data.n_actions,)} (n_actions of the dataset)"
        if data.contexts is not None:
            allowed += f" or {data.logits_shape} (n_contexts, n_actions)"
        raise ValueError(f"pi_ref has shape {pi_ref.shape}, must be {allowed}")
    pi_ref = np.broadcast_to(pi_ref, data.logits_shape)
    return pi_ref, reference_gap(data, pi_ref)


def _nodes(data: Dataset) -> tuple[np.ndarray, np.ndarray, int]:
    """Global node indices ``x · n + y`` of winners and losers, and the number of nodes."""
    offset = data.context_index * data.n_actions
    return offset + data.winners, offset + data.losers, data.n_contexts * data.n_actions


def _tau_axes(tau, data: Dataset) -> np.ndarray:
    """τ as an array of shape ``tau.shape + (1,) * len(logits_shape)``."""
    t = _checks.tau(tau)
    return t.reshape(t.shape + (1,) * len(data.logits_shape))


def solve_ipo_empirical(data: Dataset, pi_ref, tau, init=None) -> Solution:
    """Exact minimiser of the empirical IPO loss, Eq. 17, as sparse least squares.

    Eq. 17 asks ``θ_w − θ_l = 1/(2τ) + log πref(w) − log πref(l)`` for every datum (with
    multiplicity); the normal matrix is the comparison-graph Laplacian, independent of τ, so
    ``θ(τ) = θ₁/(2τ) + θ₂`` from two sparse solves shared by every τ. Its null space is one
    constant per connected component (per context): the returned logits are the least-squares
    solution closest to ``init``, i.e. the gradient-descent limit from ``init`` (each
    component keeps ``init``'s mean logit). Contexts form one block-diagonal problem.

    Parameters
    ----------
    data : Dataset
    pi_ref : array_like, shape (n,) or data.logits_shape
        Reference policy, positive on every compared action.
    tau : float or array_like
        τ > 0; an array gives one solution per τ (output shape ``tau.shape + logits_shape``).
    init : array_like, optional
        Starting logits, broadcastable to the output; default ``log πref``. ``−∞`` is allowed
        only on actions never compared.

    Returns
    -------
    Solution
        ``exists`` is True; ``unique`` iff, in every context, the actions that can carry mass
        (compared, ``πref > 0`` or finite ``init``) form one connected component; ``free``
        lists the components of the other contexts;
        ``residual`` is ``max |L θ − b|``, the normal-equation residual of
        ``½ Σ_i (h_i − 1/(2τ))²`` (counts as weights), over every τ.

    Raises
    ------
    ValueError
        If ``pi_ref`` does not fit the data or vanishes on a compared action, or ``init`` is
        not finite on a compared action.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    pi_ref, gap = _context_pi_ref(pi_ref, data)
    t = _tau_axes(tau, data)
    heads, tails, size = _nodes(data)
    ones = np.ones(heads.size)
    lap = _laplacian(heads, tails, ones, size)
    n_comp, labels = connected_components(lap, directed=False)
    # Right-hand sides Bᵀ1 (the 1/(2τ) part) and Bᵀ(log-πref gaps).
    rhs = np.stack([_pull_back(ones, heads, tails, size), _pull_back(gap, heads, tails, size)], 1)
    degree = np.bincount(heads, minlength=size) + np.bincount(tails, minlength=size)
    solved = _laplacian_solve(lap, labels, rhs)
    shape = t.shape[: t.ndim - len(data.logits_shape)] + data.logits_shape
    theta = (solved[:, 0] / (2 * t.reshape(-1, 1)) + solved[:, 1]).reshape(shape)
    start = _start_logits(init, _log(pi_ref), shape, degree)
    logits = _shift_to_mean(theta, start, labels, n_comp)
    residual = _normal_residual(lap, logits.reshape(-1, size), rhs, t.reshape(-1), degree > 0)
    # Mass can sit on compared actions, on πref's support and wherever init is finite;
    # whether the policy is unique does not depend on init (an init of −∞ on an uncompared
    # action with πref > 0 is one member of the free family, not the only one).
    live = (degree > 0) | (pi_ref.ravel() > 0) | np.isfinite(start).reshape(-1, size).any(0)
    free = _free_groups(labels, live, data.n_actions, single=data.contexts is None)
    policy = softmax_policy(logits)
    unique = not free
    return Solution(policy, logits, True, unique, free, residual, _ipo_empirical_message(free))


def _normal_residual(lap, logits: np.ndarray, rhs: np.ndarray, tau: np.ndarray,
                     compared: np.ndarray) -> float:
    """``max |L θ(τ) − Bᵀ c(τ)|`` over every τ (rows of ``logits``), on compared nodes."""
    target = rhs[:, 0] / (2 * tau[:, None]) + rhs[:, 1]
    product = _laplacian_product(lap, np.where(compared, logits, 0.0))
    return float(np.max(np.abs(product - target), initial=0.0))


def _pull_back(values, heads, tails, size) -> np.ndarray:
    """``Bᵀ values``: ``Σ_i values_i (e_{w_i} − e_{l_i})`` over global nodes."""
    return np.bincount(heads, values, size) - np.bincount(tails, values, size)


def _start_logits(init, log_ref, shape, degree) -> np.ndarray:
    """Validated starting logits broadcast to ``shape`` (default ``log πref``)."""
    if init is None:
        return np.broadcast_to(log_ref, shape)
    start = _checks.as_float_array(init, "init", allow_inf=True)
    try:
        start = np.broadcast_to(start, shape)
    except ValueError:
        raise ValueError(f"init has shape {start.shape}, must broadcast to {shape}") from None
    flat = start.reshape(-1, degree.size)
    bad = (~np.isfinite(flat) & (degree > 0)) | np.isposinf(flat)
    if bad.any():
        node = int(np.argwhere(bad)[0][1])
        where = np.unravel_index(node, shape[len(shape) - log_ref.ndim:])
        value = flat[np.argwhere(bad)[0][0], node]
        raise ValueError(f"init{list(map(int, where))} = {value}: init must be finite on "
                         "every compared action")
    return start


def _shift_to_mean(theta, start, labels, n_comp) -> np.ndarray:
    """``θ + mean_c(start − θ)`` per component c; ``−∞`` kept on uncompared ``−∞`` starts."""
    flat_theta = theta.reshape(-1, labels.size)
    flat_start = np.broadcast_to(start, theta.shape).reshape(-1, labels.size)
    dead = np.isneginf(flat_start)
    finite_start = np.where(dead, 0.0, flat_start)
    shift = _component_mean(finite_start - flat_theta, labels, n_comp)
    return np.where(dead, -np.inf, flat_theta + shift).reshape(theta.shape)


def _ipo_empirical_message(free: tuple) -> str:
    if not free:
        return "unique minimiser: the comparison graph is connected (per context)"
    return (
        f"minimiser not unique: {len(free)} groups (connected components of the comparison "
        "graph, never-compared actions alone) have free relative mass; returned the "
        "gradient-descent limit from init (each component keeps init's mean logit)"
    )


# ----------------------------------------------------------------- Bradley–Terry and DPO


@dataclass(frozen=True)
class _BTFit:
    """Bradley–Terry MLE over global nodes: rewards, components and diagnostics."""

    rewards: np.ndarray  # (size,), −∞ off the top strongly connected components
    top_label: np.ndarray  # (size,), top SCC label, −1 off the top components
    sinking: np.ndarray  # (size,) bool, nodes whose reward → −∞
    exists: bool
    residual: float


def _bt_loss_grad(rewards, heads, tails, weights):
    """BT loss ``Σ_e w_e ℓ(r_h − r_t)`` (Eq. 2 with ℓ = −log σ, the DPO link at τ = 1), its
    gradient and the edge curvatures ``w_e ℓ''``; ``LINKS['dpo']`` supplies ℓ and ℓ′."""
    link = LINKS["dpo"]
    gap = rewards[heads] - rewards[tails]
    slope = link.grad(gap, 1.0)  # ℓ′ = −σ(−h), so ℓ'' = σ(h)σ(−h) = −ℓ′(1 + ℓ′)
    value = np.sum(weights * link.value(gap, 1.0))
    grad = _pull_back(weights * slope, heads, tails, rewards.size)
    return value, grad, -weights * slope * (1.0 + slope)


def _win_ratio_start(heads, tails, weights, size) -> np.ndarray:
    """Starting rewards ``log((wins + ½) / (losses + ½))`` per node."""
    wins, losses = np.bincount(heads, weights, size), np.bincount(tails, weights, size)
    return np.log((wins + 0.5) / (losses + 0.5))


def _newton_bt(heads, tails, weights, labels, size) -> tuple[np.ndarray, float]:
    """Damped (inexact) Newton on the BT likelihood of strongly connected components.

    ``labels`` are the components of the edges given. Starts from the win ratios, or from
    0 if that has the lower loss. Returns the rewards and the final max-norm gradient
    relative to the largest weighted degree.
    """
    scale = np.max(np.bincount(heads, weights, size) + np.bincount(tails, weights, size),
                   initial=0.0)
    if heads.size == 0:
        return np.zeros(size), 0.0
    start = _win_ratio_start(heads, tails, weights, size)
    state = (start,) + _bt_loss_grad(start, heads, tails, weights)
    if state[1] > weights.sum() * LINKS["dpo"].value(np.zeros(1), 1.0)[0]:  # loss at r = 0
        state = (np.zeros(size),) + _bt_loss_grad(np.zeros(size), heads, tails, weights)
    pattern, stalled = _LaplacianPattern(heads, tails, size), 0
    for _ in range(100):
        rewards, value, grad, curvature = state
        norm = np.abs(grad).max()
        if norm <= 1e-14 * scale or stalled > 3:
            break
        # Inexact Newton: solve to a relative accuracy ~ the gradient's (still quadratic).
        rtol = min(1e-2, float(norm / scale) ** 2 + _RTOL)
        step = _laplacian_solve(pattern.laplacian(curvature), labels, -grad[:, None], rtol)
        trial = _line_search(state, step[:, 0], heads, tails, weights)
        progress = np.abs(trial[2]).max() < 0.5 * norm
        if trial[1] > value and not progress:
            break  # no further progress in floating point
        stalled = 0 if progress else stalled + 1
        state = trial
    return state[0], float(np.abs(state[2]).max() / scale) if scale else 0.0


def _line_search(state, step, heads, tails, weights):
    """Backtracking (Armijo) from a full Newton step, with slack for rounding."""
    rewards, value, grad, _ = state
    slope, alpha = grad @ step, 1.0
    slack = 1e-13 * abs(value)  # rounding of the loss sum near the optimum
    while True:
        trial = rewards + alpha * step
        out = (trial,) + _bt_loss_grad(trial, heads, tails, weights)
        if out[1] <= value + 1e-4 * alpha * slope + slack or alpha < 1e-10:
            return out
        alpha *= 0.5


def _bt_fit(heads, tails, weights, size: int) -> _BTFit:
    """Bradley–Terry MLE (Eq. 2) on a weighted beats-digraph ``heads → tails``.

    A finite MLE exists iff every weakly connected component is strongly connected. Else,
    along any minimising sequence, the nodes outside the top strongly connected components
    (those no outside node beats) have rewards → −∞ relative to the top ones, and each top
    component converges to the MLE of its own internal comparisons.
    """
    idx = _index_dtype(size)
    beats = sp.csr_matrix((weights, (heads.astype(idx), tails.astype(idx))), shape=(size, size))
    n_weak, weak = connected_components(beats, directed=True, connection="weak")
    n_strong, strong = connected_components(beats, directed=True, connection="strong")
    across = strong[heads] != strong[tails]
    beaten = np.bincount(strong[tails[across]], minlength=n_strong) > 0
    sinking = beaten[strong]
    inside = ~across & ~sinking[heads]
    # Newton's components: the top components, and every sinking node on its own.
    labels = np.where(sinking, n_strong + np.arange(size), strong)
    rewards, residual = _newton_bt(heads[inside], tails[inside], weights[inside], labels, size)
    rewards = rewards - _component_mean(rewards, strong, n_strong)
    rewards = np.where(sinking, -np.inf, rewards)
    top = np.where(sinking, -1, strong)
    return _BTFit(rewards, top, sinking, n_weak == n_strong, residual)


def _data_edges(data: Dataset):
    """Coalesced beats-edges of ``data`` over global nodes, weights = counts."""
    heads, tails, size = _nodes(data)
    key, counts = np.unique(heads * size + tails, return_counts=True)
    return key // size, key % size, counts.astype(np.float64), size


def _population_edges(prefs, mu, lead):
    """Beats-edges ``y → y′`` with weight ``µ(y) µ(y′) p*(y ≻ y′) > 0``, one block per problem."""
    n = prefs.shape[-1]
    weight = np.broadcast_to(mu[..., :, None] * mu[..., None, :] * prefs, lead + (n, n))
    weight = weight.reshape(-1, n, n) * (1 - np.eye(n))
    problem, i, j = np.nonzero(weight > 0)
    return problem * n + i, problem * n + j, weight[problem, i, j], weight.shape[0] * n


#: How many contexts / problems a message names before summarising the rest.
_MESSAGE_PROBLEMS = 5


def _bt_message(fit: _BTFit, n: int, lead_desc, data: Dataset | None, what: str) -> str:
    """Words for the existence / limit structure of a Bradley–Terry-type problem."""
    if fit.exists:
        return f"finite minimiser: the beats-digraph is strongly connected in every component{what}"
    parts = []
    sinking = fit.sinking.reshape(-1, n)
    problems = np.flatnonzero(sinking.any(1))
    for k in problems[:_MESSAGE_PROBLEMS]:  # the message names a few problems, not all
        where = f" in {lead_desc(k)}" if lead_desc(k) else ""
        parts.append(f"{_names(data, np.flatnonzero(sinking[k]))}{where}")
    if problems.size > _MESSAGE_PROBLEMS:
        parts.append(f"... ({problems.size - _MESSAGE_PROBLEMS} more)")
    return (
        "no finite minimiser: actions " + "; ".join(parts) + " lose to a group they never beat "
        "(outside the top strongly connected components); their rewards diverge to -inf" + what
    )


def _flat_lead_desc(lead: tuple[int, ...], label: str):
    if not lead:
        return lambda k: ""
    return lambda k: f"{label} {tuple(int(i) for i in np.unravel_index(k, lead))}"


def _bt_solution(fit: _BTFit, lead: tuple, n: int, single: bool, live, message) -> dict:
    free = _unflatten_free(_free_groups(fit.top_label, live, n, single), lead)
    return dict(exists=bool(fit.exists), unique=not free, free=free, residual=fit.residual,
                message=message)


def fit_bradley_terry(data, mu=None) -> BradleyTerrySolution:
    """Maximum-likelihood Bradley–Terry rewards (Eq. 2), with existence and limits.

    ``fit_bradley_terry(data)`` fits a :class:`Dataset` (``−Σ_i log σ(r_w,i − r_l,i)``,
    duplicates counted; contexts independent); ``fit_bradley_terry(prefs, mu)`` fits the
    population loss ``−E_{y,y′∼µ}[p*(y≻y′) log σ(r(y) − r(y′))]`` (the loss of Prop. 4),
    broadcasting over leading axes. Solved by damped Newton with the sparse Hessian (a
    weighted graph Laplacian), to a relative gradient of about 1e-14.

    Parameters
    ----------
    data : Dataset or array_like, shape (..., n, n)
        The comparisons, or the preference matrix ``prefs`` when ``mu`` is given.
    mu : array_like, shape (..., n), optional
        Behaviour policy of the population fit.

    Returns
    -------
    BradleyTerrySolution
        ``rewards``: mean zero over each top strongly connected component, ``−∞`` outside
        them. ``exists``: every connected component of the comparison graph is strongly
        connected (Zermelo/Ford). ``free``: the top components (never-compared actions are
        their own) when a problem has more than one — their offsets are undetermined.
        ``residual``: max-norm gradient over the largest weighted degree.

    Raises
    ------
    TypeError
        If ``data`` is neither a Dataset nor (with ``mu``) a preference matrix.
    """
    if isinstance(data, Dataset):
        if mu is not None:
            raise TypeError("mu must not be given with a Dataset; use fit_bradley_terry(prefs, mu)")
        fit = _bt_fit(*_data_edges(data))
        lead, n = data.logits_shape[:-1], data.n_actions
        desc = _flat_lead_desc(lead, "context")
        names = data
    else:
        if mu is None:
            raise TypeError(
                f"data must be a psipo_exact.Dataset, or prefs with mu; got "
                f"{type(data).__name__} without mu"
            )
        prefs, mu = _validated_prefs_mu(data, mu)
        n = prefs.shape[-1]
        lead = _checks.broadcastable(("prefs", prefs.shape[:-2]), ("mu", mu.shape[:-1]))
        fit = _bt_fit(*_population_edges(prefs, mu, lead))
        desc, names = _flat_lead_desc(lead, "problem"), None
    rewards = fit.rewards.reshape(lead + (n,))
    fields = _bt_solution(fit, lead, n, not lead, np.ones(rewards.size, bool),
                          _bt_message(fit, n, desc, names, ""))
    return BradleyTerrySolution(policy=softmax_policy(rewards), logits=rewards, rewards=rewards,
                                **fields)


def _dpo_solution(fit: _BTFit, rewards, pi_ref, tau_b, lead, n, desc, names) -> Solution:
    """DPO optimum via Prop. 4: ``π = rlhf_policy(r̂, πref, τ)``.

    Computed as its logarithm, ``gibbs_log_policy(πref, r̂, τ)`` (``rlhf_policy`` is its
    exponential), so that ``logits`` stay finite where ``π`` underflows (small τ).
    """
    log_policy = gibbs_log_policy(pi_ref, rewards, tau_b)
    live = np.broadcast_to(pi_ref > 0, lead + (n,)).ravel()
    what = "" if fit.exists else "; DPO drives their probability to 0 for every tau"
    fields = _bt_solution(fit, lead, n, not lead, live, _bt_message(fit, n, desc, names, what))
    if fields["free"]:
        fields["message"] += (
            "; the relative mass of the free groups is undetermined (reported: the "
            "representative whose rewards have mean zero in every group)"
        )
    return Solution(policy=np.exp(log_policy), logits=log_policy, **fields)


def solve_dpo_empirical(data: Dataset, pi_ref, tau) -> Solution:
    """Exact minimiser of the empirical DPO loss (Eq. 4), or the limit of its minimisers.

    In ``r = τ(θ − log πref)`` Eq. 4 is the Bradley–Terry likelihood (Prop. 4), so the
    optimum is ``rlhf_policy(fit_bradley_terry(data).rewards, πref, τ)``. Without a finite
    minimiser (some action loses to a group it never beats), ``policy`` is the limit: mass
    only on the top strongly connected components, within each from its own MLE.

    Parameters
    ----------
    data : Dataset
    pi_ref : array_like, shape (n,) or data.logits_shape
        Positive on every compared action.
    tau : float or array_like
        τ > 0; an array gives output shape ``tau.shape + logits_shape``.

    Returns
    -------
    Solution
        ``logits = log policy``. When several top groups share a context (``unique`` False),
        the representative has each group's rewards at mean zero, so a never-compared action
        (or a group of tied actions) keeps its πref mass relative to the others. With a
        finite minimiser this is the gradient-descent limit from ``log πref`` (descent keeps
        each component's mean logit); without one, descent pushes the top logits of each
        component to +∞ and so generally ends at another member of the free family (e.g. a
        never-compared action's mass → 0).
        ``residual``: the Bradley–Terry relative gradient (see :func:`fit_bradley_terry`).

    Raises
    ------
    ValueError
        If ``pi_ref`` does not fit the data or vanishes on a compared action.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    pi_ref, _ = _context_pi_ref(pi_ref, data)
    t = _tau_axes(tau, data)[..., 0]
    fit = _bt_fit(*_data_edges(data))
    lead, n = data.logits_shape[:-1], data.n_actions
    rewards = fit.rewards.reshape(data.logits_shape)
    return _dpo_solution(fit, rewards, pi_ref, t, lead, n, _flat_lead_desc(lead, "context"),
                         data)


def solve_dpo_population(prefs, mu, pi_ref, tau) -> Solution:
    """Exact minimiser of the population DPO loss (Eq. 5), or the limit of its minimisers.

    Proposition 4: the optimum is ``rlhf_policy(r̂, πref, τ)`` with ``r̂`` the population
    Bradley–Terry fit ``fit_bradley_terry(prefs, mu)``, whether or not ``prefs`` is
    Bradley–Terry. A finite minimiser exists iff, within each connected component of
    ``{µ(y)µ(y′) > 0}``, the digraph ``µ(y)µ(y′)p*(y≻y′) > 0`` is strongly connected; actions
    outside Supp(µ) are not constrained (free, unless πref = 0 there).

    Parameters
    ----------
    prefs, mu, pi_ref, tau
        The population problem, as in :func:`solve_ipo_population` (Supp(µ) ⊆ Supp(πref);
        τ broadcast against the leading axes).

    Returns
    -------
    Solution
        As :func:`solve_dpo_empirical`; ``free`` indexes the broadcast shape of the inputs.

    Raises
    ------
    ValueError
        On invalid inputs or µ > 0 where πref = 0.
    """
    prefs, mu, pi_ref, lead = _population_inputs(prefs, mu, pi_ref)
    n = prefs.shape[-1]
    _tau_for(tau, lead)
    fit = _bt_fit(*_population_edges(prefs, mu, lead))
    rewards = fit.rewards.reshape(lead + (n,))
    ref_b = np.broadcast_to(pi_ref, lead + (n,))
    return _dpo_solution(fit, rewards, ref_b, tau, lead, n, _flat_lead_desc(lead, "problem"),
                         None)
