"""Reward fits with a margin loss on the comparison graph: ``min_r Σ_e w_e f(r_h − r_t)``.

In reward coordinates ``r = τ(θ − log πref)`` a margin loss ``ℓ(h; τ)`` of every datum becomes
``f(r_w − r_l)`` with ``f(z) = ℓ(z; τ = 1)`` up to a positive factor (``1/τ²`` for ``ipo``):
τ leaves the problem, and the optimal policy is the Gibbs (reverse KL) or f-regularised policy
of the fitted rewards (Proposition 4's analogue for every margin loss). The fit:

* strictly convex losses with no minimiser along a ray (``sigmoid``, ``exponential``,
  ``robust`` with non-negative de-noised counts): a finite minimiser exists iff the
  beats-digraph is strongly connected within every component (Zermelo/Ford,
  :func:`~.bradley_terry.beats_structure`); otherwise the exact limit (sinking actions at
  ``−∞``, each top component at its own minimiser);
* coercive strictly convex losses (``cdpo`` with ε > 0, ``squared``, ``ipo``): a unique
  minimiser per connected component (mean-zero rewards reported);
* ``robust`` with ε > 0 is Bradley–Terry on de-noised counts ``ĉ_ab = ((1−ε)c_ab −
  ε c_ba)/(1 − 2ε)``, which may be negative; it is unbounded below iff some set ``S`` of
  actions loses fewer than a fraction ε of its comparisons with the rest, decided by the
  linear program ``min R(d)`` of its recession function over ``d ∈ [0, 1]^n``. ``R`` is the
  Lovász extension of the submodular de-noised losses ``f(S) = Σ_{u∈S, v∉S} ĉ_vu`` of a set to
  the rest; when bounded, a minimiser exists iff moreover ``f(S) > 0`` for every ``S`` that
  is not a union of connected components. A set losing exactly a fraction ε (``f(S) = 0``)
  makes the loss decrease strictly, to a finite infimum, along ``r + t 1_S``: no minimiser,
  status ``NOT_CONVERGED`` naming ``S`` (the limit policy is not computed). Two linear
  programs find such an ``S`` (:func:`_robust_tight_set`);
* ``truncated_quadratic`` (semismooth Newton) and ``hinge`` (a linear program, HiGHS) attain
  their minimum on a polyhedron of difference constraints; the reported point is its
  minimum-norm element (:mod:`._face`);
* the non-convex ``savage``, ``discopop``, ``exo_pair``: a stationary point by damped Newton
  (negative curvature floored) from three starts (least squares on the per-pair targets, the
  logistic fit, zero), the best kept; certified globally optimal when every pair of actions
  sits at its own per-pair minimiser.

Newton steps solve with the weighted graph Laplacian (:mod:`._laplacian`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp

from .. import _base
from ..losses import PairwiseLoss, pairwise
from ..losses.pairwise import LossParams
from ..losses.targets import objective, target_margin
from ._face import face_groups, min_norm_on_face
from ._laplacian import (
    RTOL,
    LaplacianPattern,
    component_mean,
    graph_components,
    laplacian,
    laplacian_solve,
    pull_back,
)
from ._least_distance import piecewise_newton
from .bradley_terry import beats_structure
from .result import NOT_CONVERGED, STATIONARY, UNBOUNDED

#: Stationarity (or KKT) residual the Newton iterations aim below, relative to the largest
#: weighted degree.
TARGET = 1e-14
#: Kind of each convex margin loss (module docstring); non-convex margin losses are "local".
KINDS = {"sigmoid": "zermelo", "exponential": "zermelo", "cdpo": "coercive",
         "squared": "coercive", "ipo": "coercive", "robust": "robust",
         "truncated_quadratic": "truncated", "hinge": "hinge", "savage": "local",
         "discopop": "local", "exo_pair": "local"}


@dataclass(frozen=True)
class MarginFit:
    """A reward fit over global nodes.

    ``rewards``: ``−∞`` on sinking nodes; ``groups``: label of each node's group (nodes of one
    group have determined relative rewards; ``−1`` for sinking nodes); ``exists``: a finite
    minimiser exists; ``status``: None (decided by ``exists``/``unique``) or a status code of
    :mod:`.result`; ``kind``: how it was solved; ``detail``: words for the message;
    ``sinking``: nodes whose rewards diverge to ``−∞``.
    """

    rewards: np.ndarray
    groups: np.ndarray
    exists: bool
    residual: float
    status: int | None
    kind: str
    detail: str
    sinking: np.ndarray


@dataclass(frozen=True)
class EdgeLoss:
    """``f``, ``f′``, ``f″`` of ``z = r_h − r_t`` (the margin shape at τ = 1)."""

    value: object
    d1: object
    d2: object


def edge_loss(loss: PairwiseLoss, p: LossParams) -> EdgeLoss:
    shape = loss.margin_shape()
    return EdgeLoss(*(partial(_at_unit_tau, fn, p) for fn in (shape.value, shape.d1, shape.d2)))


def _at_unit_tau(fn, p, z):
    return fn(z, 1.0, p)


def degree_scale(heads, tails, weights, size) -> float:
    """The largest weighted degree (residuals are relative to it)."""
    w = np.abs(weights)
    return float(np.max(np.bincount(heads, w, size) + np.bincount(tails, w, size), initial=0.0))


def _state(f: EdgeLoss, rewards, heads, tails, weights):
    z = rewards[heads] - rewards[tails]
    value = float(np.sum(weights * f.value(z)))
    grad = pull_back(weights * f.d1(z), heads, tails, rewards.size)
    return rewards, value, grad, weights * f.d2(z)


def newton(f: EdgeLoss, heads, tails, weights, size: int, labels=None, start=None,
           floor: float = 0.0, max_iter: int = 200) -> tuple[np.ndarray, float]:
    """Damped (semismooth) Newton on ``Σ_e w_e f(r_h − r_t)`` with the Laplacian Hessian.

    ``labels``: the components of the edges (fixed); None recomputes them each step from the
    edges of positive curvature (piecewise-quadratic losses, where ``f′ = 0`` wherever
    ``f″ = 0``). ``floor`` > 0 replaces curvatures below ``floor · |w|`` by that (non-convex
    losses: a descent direction). Returns the rewards and the final max-norm gradient
    relative to the largest weighted degree.
    """
    scale = degree_scale(heads, tails, weights, size)
    if heads.size == 0 or scale == 0:
        return np.zeros(size), 0.0
    rewards = np.zeros(size) if start is None else np.array(start, dtype=float)
    state = _state(f, rewards, heads, tails, weights)
    pattern, stalled = LaplacianPattern(heads, tails, size), 0
    for _ in range(max_iter):
        rewards, value, grad, curvature = state
        norm = np.abs(grad).max()
        if norm <= TARGET * scale or stalled > 3:
            break
        if floor > 0:
            curvature = np.maximum(curvature, floor * np.abs(weights))
        comps = (graph_components(heads[curvature > 0], tails[curvature > 0], size)[1]
                 if labels is None else labels)
        rtol = min(1e-2, float(norm / scale) ** 2 + RTOL)
        try:
            step = laplacian_solve(pattern.laplacian(curvature), comps, -grad[:, None],
                                   rtol)[:, 0]
        except np.linalg.LinAlgError:  # curvature underflowed: the iterates ran away
            break
        trial = _line_search(f, state, step, heads, tails, weights)
        # progress: the gradient halves, or the value still falls beyond rounding (semismooth
        # Newton on a piecewise quadratic may need many steps whose gradients do not shrink)
        progress = (np.abs(trial[2]).max() < 0.5 * norm
                    or trial[1] < value - 1e-12 * max(abs(value), 1e-300))
        if trial[1] > value and not progress:
            break  # no further progress in floating point
        stalled = 0 if progress else stalled + 1
        state = trial
    return state[0], float(np.abs(state[2]).max() / scale)


def _line_search(f, state, step, heads, tails, weights):
    """Backtracking (Armijo) from the full Newton step, with slack for rounding."""
    rewards, value, grad, _ = state
    slope, alpha = grad @ step, 1.0
    slack = 1e-13 * abs(value)
    while True:
        trial = _state(f, rewards + alpha * step, heads, tails, weights)
        if trial[1] <= value + 1e-4 * alpha * slope + slack or alpha < 1e-10:
            return trial
        alpha *= 0.5


def fit_margin(loss: PairwiseLoss, p: LossParams, heads, tails, weights, size: int) -> MarginFit:
    """Fit rewards with a margin loss (module docstring) on the beats-edges ``heads → tails``."""
    kind = KINDS[loss.name]
    if heads.size == 0:  # nothing compared: every policy is optimal, every action free
        return MarginFit(np.zeros(size), np.arange(size), True, 0.0, None, "coercive", "",
                         np.zeros(size, bool))
    if kind == "coercive" and loss.name == "cdpo" and p.label_smoothing == 0.0:
        kind = "zermelo"  # cdpo(0) is sigmoid
    if kind == "robust":
        return _robust_fit(p.label_smoothing, heads, tails, weights, size)
    f = edge_loss(loss, p)
    if kind == "zermelo":
        return _zermelo_fit(f, heads, tails, weights, size)
    if kind == "coercive":
        return _coercive_fit(f, heads, tails, weights, size)
    if kind == "truncated":
        return _truncated_fit(f, heads, tails, weights, size)
    if kind == "hinge":
        return _hinge_fit(heads, tails, weights, size)
    return _local_fit(loss, p, f, heads, tails, weights, size)


def _zermelo_fit(f, heads, tails, weights, size, kind="zermelo") -> MarginFit:
    beats = beats_structure(heads, tails, size)
    inside = beats.inside
    rewards, residual = newton(f, heads[inside], tails[inside], weights[inside], size,
                               labels=beats.labels)
    rewards = rewards - component_mean(rewards, beats.strong, beats.n_strong)
    rewards = np.where(beats.sinking, -np.inf, rewards)
    groups = np.where(beats.sinking, -1, beats.strong)
    return MarginFit(rewards, groups, beats.exists, residual, None, kind, "", beats.sinking)


def _coercive_fit(f, heads, tails, weights, size) -> MarginFit:
    n_comp, labels = graph_components(heads, tails, size)
    rewards, residual = newton(f, heads, tails, weights, size, labels=labels)
    rewards = rewards - component_mean(rewards, labels, n_comp)
    return MarginFit(rewards, labels, True, residual, None, "coercive", "",
                     np.zeros(size, bool))


def pair_counts(heads, tails, weights, size):
    """Per unordered pair ``{a < b}``: ``(a, b, c_ab, c_ba)``, the weights of ``a ≻ b`` and
    ``b ≻ a``."""
    low, high = np.minimum(heads, tails), np.maximum(heads, tails)
    key, pair = np.unique(low * size + high, return_inverse=True)
    forward = np.bincount(pair, np.where(heads == low, weights, 0.0), key.size)
    backward = np.bincount(pair, np.where(heads == low, 0.0, weights), key.size)
    return key // size, key % size, forward, backward


def denoised_counts(eps: float, heads, tails, weights, size):
    """Per unordered pair ``{a < b}``: ``(a, b, ĉ_ab, ĉ_ba)``, the de-noised counts of Chowdhury
    et al.: ``ĉ_ab = ((1 − ε) c_ab − ε c_ba)/(1 − 2ε)`` (``ĉ_ab + ĉ_ba = c_ab + c_ba``).

    Counts within ``1e-12 · (c_ab + c_ba)`` of zero are set to 0 (a preference of exactly ε).
    """
    a, b, forward, backward = pair_counts(heads, tails, weights, size)
    total = forward + backward
    up = ((1 - eps) * forward - eps * backward) / (1 - 2 * eps)
    down = ((1 - eps) * backward - eps * forward) / (1 - 2 * eps)
    up = np.where(np.abs(up) <= 1e-12 * total, 0.0, up)
    down = np.where(np.abs(down) <= 1e-12 * total, 0.0, down)
    return a, b, up, down


def _robust_fit(eps, heads, tails, weights, size) -> MarginFit:
    """``robust(ε)`` = Bradley–Terry (``sigmoid``) on the de-noised counts (module docstring)."""
    a, b, up, down = denoised_counts(eps, heads, tails, weights, size)
    dh, dt, dw = np.r_[a, b], np.r_[b, a], np.r_[up, down]
    logistic = _logistic_edges()
    if (dw >= 0).all():
        keep = dw > 0
        return _zermelo_fit(logistic, dh[keep], dt[keep], dw[keep], size, kind="robust_zermelo")
    # A stationary point of a convex function certifies boundedness (the slope along d is at
    # most R(d) everywhere), so the boundedness LP is needed only when Newton does not reach
    # one; a small gradient does NOT certify a minimiser (along a direction with R(d) = 0 the
    # slope decays like e^{-t}), so the existence LPs always run.
    n_comp, labels = graph_components(dh, dt, size)
    with np.errstate(over="ignore", invalid="ignore"):  # unbounded data: Newton may overflow
        rewards, residual = newton(logistic, dh, dt, dw, size, labels=labels)
    converged = bool(residual <= 1e-10)  # False for NaN: Newton ran away (unbounded data)
    if not converged:
        unbounded = _robust_unbounded_set(a, b, up + down, down, size)
        if unbounded is not None:
            return MarginFit(np.zeros(size), np.arange(size), False, 0.0, UNBOUNDED, "robust",
                             _unbounded_detail(unbounded), np.zeros(size, bool))
    if not np.isfinite(rewards).all():  # never NaN on valid input: report πref instead
        rewards, residual = np.zeros(size), float("inf")
    rewards = rewards - component_mean(rewards, labels, n_comp)
    tight = _robust_tight_set(a, b, up + down, down, size, labels, n_comp)
    status, detail = None, ""
    if tight is not None:
        status, detail = NOT_CONVERGED, _tight_detail(tight)
    elif not converged:
        status, detail = NOT_CONVERGED, (
            "the robust loss is bounded below, every set of actions loses more than a fraction "
            "label_smoothing of its comparisons (a minimiser exists), but Newton did not "
            "converge")
    return MarginFit(rewards, labels, status is None, residual, status, "robust", detail,
                     np.zeros(size, bool))


def _logistic_edges() -> EdgeLoss:
    """The registry's ``sigmoid`` shape at τ = 1."""
    loss = pairwise("sigmoid")
    return edge_loss(loss, loss.parameters())


def _robust_tolerance(total) -> float:
    """Absolute threshold on the de-noised losses ``f(S)`` (and on ``R``): ``1e-9`` times the
    total weight (at least ``1e-9``); values within it count as 0 (below ``−tol``: unbounded;
    within ``±tol``: a set losing exactly a fraction ε, no minimiser). A set with
    ``0 < f(S) ≤ tol`` is thus reported without a minimiser although one exists, with reward
    gaps of order ``log(1/f(S))``: such data sit within rounding of the boundary."""
    return 1e-9 * max(float(total.sum()), 1.0)


def _recession_cost(a, b, total, down, size) -> np.ndarray:
    """The coefficients of ``R(d) = Σ_pairs ĉ_ba (d_a − d_b) + m t_ab`` in ``(d, t)``, with
    ``t_ab = max(0, d_b − d_a)`` (:func:`_robust_unbounded_set`)."""
    return np.concatenate([pull_back(down, a, b, size), total])


def _recession_lp(a, b, total, down, size, cost_row, lower=0.0, upper=1.0, objective=None):
    """``min objective·d`` (or ``min R(d)`` if ``objective`` is None) over
    ``lower ≤ d ≤ upper`` with ``R(d)`` linearised by one slack ``t_e ≥ max(0, d_b − d_a)``
    per pair; ``cost_row``: add the constraint ``R(d) ≤`` :func:`_robust_tolerance`.
    Returns scipy's result."""
    m = a.size
    recession = _recession_cost(a, b, total, down, size)
    rows = np.r_[np.arange(m), np.arange(m), np.arange(m)]
    cols = np.r_[b, a, size + np.arange(m)]
    vals = np.r_[np.ones(m), -np.ones(m), -np.ones(m)]  # d_b − d_a − t ≤ 0
    a_ub, b_ub = sp.csr_matrix((vals, (rows, cols)), shape=(m, size + m)), np.zeros(m)
    if cost_row:
        a_ub = sp.vstack([a_ub, sp.csr_matrix(recession)]).tocsr()
        b_ub = np.r_[b_ub, _robust_tolerance(total)]
    cost = recession if objective is None else np.r_[objective, np.zeros(m)]
    from scipy.optimize import linprog  # lazy: import psipo_exact stays light
    # HiGHS's default tolerances (1e-7) would round a recession slope of ~-1e-8 to 0
    bounds = np.c_[np.r_[np.broadcast_to(lower, size), np.zeros(m)],
                   np.r_[np.broadcast_to(upper, size), np.full(m, np.inf)]]
    return linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs",
                   options=_base.HIGHS_OPTIONS)


def _robust_unbounded_set(a, b, total, down, size):
    """A set of nodes along whose reward the robust loss → −∞, or None if bounded below.

    Recession function of ``Σ_pairs ĉ_ab sp(−z) + ĉ_ba sp(z)``, ``z = r_a − r_b``, along ``d``:
    ``R(d) = Σ m max(0, d_b − d_a) + ĉ_ba (d_a − d_b)`` with ``m = ĉ_ab + ĉ_ba > 0`` (a cut
    plus a modular function: its minimum over ``[0, 1]^n`` is at a vertex ``1_S``).
    """
    res = _recession_lp(a, b, total, down, size, False)
    if res.status != 0 or res.fun >= -_robust_tolerance(total):
        return None
    return np.flatnonzero(res.x[:size] > 0.5)


def _denoised_losses(inside, a, b, total, down, size) -> float:
    """``f(S) = R(1_S) = Σ_{u∈S, v∉S} ĉ_vu``: the de-noised losses of ``S`` to the rest."""
    d = inside.astype(float)
    return float(_recession_cost(a, b, total, down, size) @ np.r_[d, np.maximum(d[b] - d[a], 0.0)])


def _robust_tight_set(a, b, total, down, size, labels, n_comp):
    """Given the robust loss bounded below, a set ``S`` that is not a union of connected
    components with ``f(S) = 0`` (within :func:`_robust_tolerance`), or None if there is none.

    ``R`` is the Lovász extension of the submodular ``f(S) = R(1_S)`` (each pair's ``m ≥ 0``),
    so ``R(d) = ∫ f({d > s}) ds`` and, with ``f ≥ 0``, ``R(d) = 0`` iff every level set of
    ``d`` is a zero set of ``f``. A minimiser exists iff ``R(d) > 0`` off the directions
    constant on components (coercivity); along a nonconstant ``d`` with ``R(d) = 0`` the loss
    is strictly convex with asymptotic slope 0, so its slope is < 0 everywhere and no point is
    a minimiser. The zero sets form a lattice and ``f`` adds over components, so with an
    anchor ``u₀`` per component a nontrivial zero set exists iff (LP1) the largest one with
    every ``d_{u₀} = 0`` (``max Σ d`` s.t. ``R(d) ≤ tol``, ``0 ≤ d ≤ 1``) is nonempty, or (LP2)
    the smallest one with every ``d_{u₀} = 1`` (``min Σ d``) is not everything. Both optima
    are the indicator vectors of those sets when the nonzero values of ``f`` exceed ``2n·tol``
    (the level sets of any feasible ``d`` are zero sets except on a range of ``s`` of length
    ``≤ tol / min f``); the level set found is re-checked by evaluating ``f`` directly.

    References: Lovász (1983), "Submodular functions and convexity" (the extension and its
    level-set formula); Fujishige, *Submodular Functions and Optimization*, 2nd ed. (2005),
    Sec. 2.2 (minimisers of a submodular function form a lattice); de-noised counts of
    Chowdhury et al. (2024), arXiv:2403.00409.
    """
    anchors = np.zeros(size, bool)
    anchors[np.unique(labels, return_index=True)[1]] = True
    tol = _robust_tolerance(total)
    for sign, pinned in ((-1.0, 0.0), (1.0, 1.0)):
        res = _recession_lp(a, b, total, down, size, True, np.where(anchors, pinned, 0.0),
                            np.where(anchors, pinned, 1.0), np.full(size, sign))
        if res.status != 0:
            continue
        inside = res.x[:size] > 0.5
        # the components where S is a proper nonempty subset (f adds over components)
        hit = np.bincount(labels, inside, n_comp)
        proper = (hit > 0) & (hit < np.bincount(labels, minlength=n_comp))
        inside &= proper[labels]
        if inside.any() and _denoised_losses(inside, a, b, total, down, size) <= tol:
            return np.flatnonzero(inside)
    return None


def _tight_detail(nodes) -> str:
    return (f"the robust loss is bounded below but has no minimiser: {nodes.size} action(s) "
            f"(global indices {nodes[:8].tolist()}{' ...' if nodes.size > 8 else ''}) lose "
            "exactly a fraction label_smoothing of their comparisons with the rest (their "
            "de-noised losses sum to 0), so the infimum is approached only as their rewards "
            "grow without bound relative to the rest; the exact limit policy is not computed; "
            "reported: the last Newton iterate (pi_ref if it overflowed)")


def _unbounded_detail(nodes) -> str:
    return (f"{nodes.size} action(s) (global indices {nodes[:8].tolist()}"
            f"{' ...' if nodes.size > 8 else ''}) lose fewer than a fraction label_smoothing "
            "of their comparisons with the others: the robust loss -> -inf as their rewards "
            "grow (Chowdhury et al.'s de-noised counts are negative there); reported: pi_ref")


def _truncated_fit(f, heads, tails, weights, size) -> MarginFit:
    """Semismooth Newton, then the minimum-norm point of the optimal set.

    All minimisers share ``z_e`` on the edges with ``z_e < 1`` (where ``f`` is strictly
    convex); the other edges may take any ``z_e ≥ 1``.
    """
    rewards, residual = newton(f, heads, tails, weights, size, labels=None)
    if residual > TARGET:
        rewards, residual = _truncated_polish(rewards, heads, tails, weights, size)
    z = rewards[heads] - rewards[tails]
    fixed = z < 1.0 - 1e-9
    return _face_fit(rewards, heads, tails, fixed, z, ~fixed, residual, "truncated", size)


def _truncated_polish(rewards, heads, tails, weights, size):
    """``Σ w (1 − z)₊²`` by :func:`._least_distance.piecewise_newton` (exact line search),
    where the Armijo search of :func:`newton` stalls (sparse graphs)."""
    scale = degree_scale(heads, tails, weights, size)
    rewards, grad = piecewise_newton(rewards, heads, tails, weights, np.ones(heads.size),
                                     TARGET * scale, max_iter=200)
    return rewards, float(np.abs(grad).max() / scale)


def _face_fit(rewards, heads, tails, equal, target, above, residual, kind, size,
              below=None) -> MarginFit:
    """The minimum-norm point of ``{z_e = target_e (equal), z_e ≥ 1 (above), z_e ≤ 1 (below)}``
    (which contains ``rewards``) and the groups of its pinned differences."""
    below = np.zeros(heads.size, bool) if below is None else below
    canonical, face = min_norm_on_face(rewards, heads, tails, equal, above, below, size)
    groups = face_groups(face)
    z = canonical[heads] - canonical[tails]
    # on the face? (margins relative to the rewards' spread, which sets their rounding)
    drift = max(np.max(np.abs(z[equal] - target[equal]), initial=0.0),
                np.max(1.0 - z[above], initial=0.0), np.max(z[below] - 1.0, initial=0.0))
    drift /= 1.0 + (float(np.ptp(canonical)) if canonical.size else 0.0)
    residual = max(residual, float(drift))
    status = None if residual <= 1e-10 else NOT_CONVERGED  # the KKT target
    return MarginFit(canonical, groups, True, residual, status, kind, "",
                     np.zeros(size, bool))


def _hinge_fit(heads, tails, weights, size) -> MarginFit:
    """``min Σ w max(0, 1 − z)`` through its dual linear program (HiGHS).

    The dual is ``max Σ α`` over circulations ``Bᵀα = 0`` with ``0 ≤ α ≤ w`` — one row per
    action instead of one per edge, ~10× faster than the primal ``min wᵀt, t ≥ 1 − Br,
    t ≥ 0`` on BT-1000-sized graphs; the rewards are its equality duals (``r = −y``, up to a
    constant per component). Any dual optimum ``α`` describes the optimal set exactly
    (complementary slackness): ``z_e = 1`` where ``0 < α_e < w_e``, ``z_e ≤ 1`` where
    ``α_e = w_e``, ``z_e ≥ 1`` where ``α_e = 0``. ``residual``: the duality gap and the
    flow-conservation violation of ``α``, relative to the largest weighted degree, with
    the weights of each connected component divided by their largest.
    """
    key, pair = np.unique(heads * size + tails, return_inverse=True)
    w = np.bincount(pair, weights, key.size)
    h, t, m = key // size, key % size, key.size
    # Components are independent LPs: each scaled to largest weight 1 (same optimal set),
    # else HiGHS's absolute tolerances swamp a component whose weights are ~1e-16 of another's.
    n_comp, labels = graph_components(h, t, size)
    top = np.zeros(n_comp)
    np.maximum.at(top, labels[h], w)
    w = w / top[labels[h]]
    edges = np.arange(m)
    incidence = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)], (np.r_[h, t], np.r_[edges, edges])),
                              shape=(size, m))
    from scipy.optimize import linprog  # lazy: import psipo_exact stays light
    res = linprog(-np.ones(m), A_eq=incidence, b_eq=np.zeros(size), bounds=np.c_[np.zeros(m), w],
                  method="highs", options=_base.HIGHS_OPTIONS)
    rewards = -res.eqlin.marginals
    alpha = np.clip(res.x, 0.0, w)
    z = rewards[h] - rewards[t]
    scale = degree_scale(h, t, w, size)
    gap = abs(np.dot(w, np.maximum(0.0, 1.0 - z)) - alpha.sum())
    residual = max(gap, np.abs(pull_back(alpha, h, t, size)).max()) / scale
    # The side of each edge from the primal where z ≠ 1 (robust for tiny weights, whose dual
    # values HiGHS resolves only to an absolute tolerance), from the dual where z = 1.
    tol = 1e-9 * w.max()
    near = np.abs(z - 1.0) <= 1e-9 * (1.0 + np.abs(z))
    inner = near & (alpha > tol) & (alpha < w - tol)
    above = (z > 1.0) & ~near | near & ~inner & (alpha <= tol)
    below = ~inner & ~above
    return _face_fit(rewards, h, t, inner, np.ones(m), above, float(residual), "hinge", size,
                     below=below)


def _local_fit(loss, p, f, heads, tails, weights, size) -> MarginFit:
    """Non-convex margin losses: stationary point by damped Newton (see module docstring)."""
    decreasing = loss.name in ("savage", "discopop")  # f ≥ 0 with infimum 0 only at +∞
    if decreasing:
        beats = beats_structure(heads, tails, size)
        inside, labels, sinking = beats.inside, beats.labels, beats.sinking
        exists, groups = beats.exists, np.where(beats.sinking, -1, beats.strong)
        means = (beats.strong, beats.n_strong)
    else:
        n_comp, labels = graph_components(heads, tails, size)
        inside, sinking = np.ones(heads.size, bool), np.zeros(size, bool)
        exists, groups, means = True, labels, (labels, n_comp)
    h, t, w = heads[inside], tails[inside], weights[inside]
    # Three starts: least squares on the per-pair targets, the logistic (DPO) fit, zero.
    starts = [start_rewards(loss, p, h, t, w, size, labels),
              newton(_logistic_edges(), h, t, w, size, labels=labels)[0], np.zeros(size)]
    fits = [_local_newton(f, h, t, w, size, labels, x0)[0] for x0 in starts]
    rewards, residual = _best_per_component(f, fits, h, t, w, size, labels)
    rewards = rewards - component_mean(rewards, *means)
    certified, twofold = certify_pairs(loss, p, rewards, h, t, w, size)
    rewards = np.where(sinking, -np.inf, rewards)
    status = None if certified else (STATIONARY if residual <= 1e-8 else NOT_CONVERGED)
    detail = ("every pair of actions sits at its own per-pair minimiser: globally optimal"
              if certified else "damped Newton (negative curvature floored) from three "
              "starts; the best end point is reported")
    if certified and twofold:  # ±z at p = 1/2: the minimiser is not unique
        groups = np.where(sinking, -1, np.arange(size))
        detail += ("; a pair compared as often each way has two per-pair minimisers +-z "
                   "(discopop), so the optimum is not unique (reported: one of them)")
    return MarginFit(rewards, groups, exists, residual, status, "local", detail, sinking)



def _best_per_component(f, fits, heads, tails, weights, size, labels):
    """The end point of least loss on each connected component (the components are
    independent problems: a batch of problems gives each its own best start, as one at a
    time would), and the max-norm gradient relative to the largest weighted degree."""
    n_labels = int(labels.max(initial=-1)) + 1
    values = np.stack([np.bincount(labels[heads], weights * f.value(r[heads] - r[tails]),
                                   n_labels) for r in fits])
    best = np.argmin(values, axis=0)[labels]
    rewards = np.choose(best, fits)
    _, _, grad, _ = _state(f, rewards, heads, tails, weights)
    scale = degree_scale(heads, tails, weights, size)
    return rewards, float(np.abs(grad).max(initial=0.0) / scale) if scale > 0 else 0.0


def start_rewards(loss, p, heads, tails, weights, size, labels) -> np.ndarray:
    """Least-squares rewards for the per-pair targets ``z*(p̂)`` (clipped to ±30) of the
    empirical preference ``p̂`` of each pair: a Laplacian solve."""
    a, b, forward, backward = pair_counts(heads, tails, weights, size)
    total = forward + backward
    z = np.clip(target_margin(loss, forward / total, p), -30.0, 30.0)
    rhs = pull_back(total * z, a, b, size)
    return laplacian_solve(laplacian(a, b, total, size), labels, rhs[:, None])[:, 0]


def certify_pairs(loss, p, rewards, heads, tails, weights, size) -> tuple[bool, bool]:
    """``(certified, twofold)``: every pair of actions sits at its own per-pair minimum (a
    global certificate: the loss is at least the sum of the per-pair minima); some pair has
    two per-pair minimisers (``discopop`` at ``p̂ = ½`` with a bump at 0)."""
    a, b, forward, backward = pair_counts(heads, tails, weights, size)
    total = forward + backward
    q = forward / total
    target = target_margin(loss, q, p)
    best = total * objective(loss, target, q, p)
    at = total * objective(loss, rewards[a] - rewards[b], q, p)
    tol = 1e-10 * (total + np.abs(best))
    twofold = (q == 0.5) & (total * objective(loss, np.zeros_like(q), q, p) > best + tol)
    return bool(np.all(at <= best + tol)), bool(twofold.any())


def _local_newton(f, heads, tails, weights, size, labels, start):
    """Damped Newton with floored curvature; where it stalls above the target, L-BFGS-B on
    the same reward objective (exact gradient) divided by the largest weighted degree (same
    minimisers, gradients of order 1), and Newton again from its end point."""
    rewards, residual = newton(f, heads, tails, weights, size, labels=labels, start=start,
                               floor=1e-3)
    if residual <= 1e-10 or heads.size == 0:
        return rewards, residual

    scale = degree_scale(heads, tails, weights, size)  # weights ~1e300: norms overflow

    def fun(r):
        _, value, grad, _ = _state(f, r, heads, tails, weights)
        return value / scale, grad / scale

    from scipy.optimize import minimize  # lazy: import psipo_exact stays light
    res = minimize(fun, rewards, jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "gtol": 1e-14, "ftol": 0.0})
    return newton(f, heads, tails, weights, size, labels=labels, start=res.x, floor=1e-3)
