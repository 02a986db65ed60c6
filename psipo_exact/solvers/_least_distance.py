"""Least-distance programs with difference constraints.

``argmin_c Σ_k n_k (c_k − a_k)²`` subject to ``c_i − c_j ≥ d`` for a list of constraints
``(i, j, d)``, ``n > 0``: a strictly convex quadratic program with a unique solution whenever
the constraints are feasible (they are here: :mod:`._face` builds them through a feasible
point). Two exact methods:

* small programs (:data:`DENSE_MAX` variables in constraints): Lawson & Hanson's
  least-distance algorithm (1974, Ch. 23): one non-negative least-squares problem
  (``scipy.optimize.nnls``, a finite active-set method) on a dense matrix;
* larger ones: the augmented Lagrangian method (Hestenes 1969; Powell 1969; Rockafellar 1976)
  with multiplier update ``λ ← max(0, λ − σ(Bc − d))``, each inner minimisation by
  semismooth Newton (:func:`piecewise_newton`, shared with the ``truncated_quadratic``
  fit), whose generalised Hessian ``N + σ B_Sᵀ B_S`` is a weighted graph
  Laplacian plus a positive diagonal — solved as a Laplacian with one extra *ground* vertex
  joined to every vertex ``k`` with weight ``n_k`` (:mod:`._laplacian`). The result is then
  *polished*: the constraints with positive multipliers are made equalities and the
  equality-constrained program is solved by one Laplacian least-squares solve (potentials)
  and a weighted mean per component; the polished point is kept when it is feasible.
  Its accuracy is reported: the largest constraint violation and the stationarity residual
  ``‖N(c − a) − Bᵀλ‖∞``, relative to the scale of ``a``, ``d`` and ``n``.
"""

from __future__ import annotations

import numpy as np

from ._laplacian import (
    LaplacianPattern,
    bounded_spd_solver,
    graph_components,
    index_dtype,
    laplacian,
    laplacian_solve,
    pull_back,
)

#: Programs with at most this many constrained variables go to the dense NNLS method.
DENSE_MAX = 400
#: Relative KKT tolerance of the augmented Lagrangian method.
TOLERANCE = 1e-13
_OUTER = 60
_INNER = 50


def least_distance(a, sizes, i, j, d) -> np.ndarray:
    """``argmin Σ_k n_k (c_k − a_k)²`` s.t. ``c_i − c_j ≥ d`` (module docstring).

    Variables not in any constraint keep ``c_k = a_k``; the program is solved on the others.
    """
    involved, local = np.unique(np.r_[i, j], return_inverse=True)
    li, lj = local[: i.size], local[i.size:]
    solve = dense_least_distance if involved.size <= DENSE_MAX else sparse_least_distance
    c = np.array(a, dtype=float, copy=True)
    c[involved] = solve(c[involved], sizes[involved], li, lj, d)
    return c


def dense_least_distance(a, sizes, i, j, d) -> np.ndarray:
    """Lawson–Hanson: the LDP as one NNLS problem on ``[Gᵀ; hᵀ]``."""
    k = a.size
    if i.size == 0:  # (scipy's nnls must not see an empty matrix: it crashes)
        return np.array(a, dtype=float, copy=True)
    root = np.sqrt(sizes)
    # x = √n (c − a): constraints x_i/√n_i − x_j/√n_j ≥ d − (a_i − a_j) =: g x ≥ h.
    g = np.zeros((i.size, k))
    g[np.arange(i.size), i] = 1.0 / root[i]
    g[np.arange(i.size), j] -= 1.0 / root[j]
    h = d - (a[i] - a[j])
    e = np.vstack([g.T, h[None, :]])
    f = np.zeros(k + 1)
    f[-1] = 1.0
    from scipy.optimize import nnls  # lazy: import psipo_exact stays light
    u, _ = nnls(e, f, maxiter=50 * (i.size + k + 1))
    residual = e @ u - f
    return a - residual[:k] / residual[-1] / root


def _grounded_solve(sizes, heads, tails, weights, rhs) -> np.ndarray:
    """Solve ``H x = rhs``, ``H = N + Σ_e w_e (e_h − e_t)(e_h − e_t)ᵀ``: the Laplacian of the
    graph plus a ground vertex joined to every vertex ``k`` with weight ``n_k``, grounded
    there. Sparse LU when its fill fits the memory budget, else the Laplacian solver."""
    k = sizes.size
    heads, tails = np.r_[heads, np.arange(k)], np.r_[tails, np.full(k, k)]
    lap = laplacian(heads, tails, np.r_[weights, sizes], k + 1)
    try:
        return bounded_spd_solver(lap[:k, :k], "the least-distance Newton step")(rhs)
    except MemoryError:
        x = laplacian_solve(lap, np.zeros(k + 1, index_dtype(k + 1)),
                            np.r_[rhs, -rhs.sum()][:, None], fixed_weights=True)[:, 0]
        return x[:k] - x[k]


def exact_step(base: float, curve: float, weights, q, p) -> float:
    """The exact minimiser ``t ≥ 0`` of ``g(t) = base·t + ½·curve·t² + Σ_e w_e (q_e − t p_e)₊²``
    (convex, piecewise quadratic, ``w ≥ 0``): ``g′`` is piecewise linear and increasing with
    breakpoints ``q_e / p_e``; its value after every breakpoint by prefix sums, then one linear
    root. ``g′(t) = base + curve·t + Σ_active (2 w p² t − 2 w p q)``."""
    moving = (p != 0) & (weights > 0)
    w, q, p = weights[moving], q[moving], p[moving]
    breaks = q / p
    order = np.argsort(breaks, kind="stable")
    breaks, w, q, p = breaks[order], w[order], q[order], p[order]
    s0, s1 = -2.0 * w * p * q, 2.0 * w * p * p
    # just above breaks[k]: p > 0 terms active iff their break > t (after k), p < 0 iff < t
    up, down = p > 0, p < 0

    def after(x):  # Σ over the entries after each k
        return np.r_[np.cumsum(x[::-1])[::-1][1:], 0.0]

    # active on (0, ε): p > 0 with a positive break; p < 0 with a break ≤ 0 (q = ±0 included:
    # (−t p)₊ > 0 for every t > 0)
    at_zero = (up & (breaks > 0)) | (down & (breaks <= 0))
    g0, g1 = base + s0[at_zero].sum(), curve + s1[at_zero].sum()
    positive = breaks > 0
    if not positive.any() or g0 + g1 * breaks[positive][0] >= 0:
        return max(-g0 / g1, 0.0) if g1 > 0 else 0.0
    h0 = base + np.cumsum(np.where(down, s0, 0.0)) + after(np.where(up, s0, 0.0))
    h1 = curve + np.cumsum(np.where(down, s1, 0.0)) + after(np.where(up, s1, 0.0))
    ends = np.r_[breaks[1:], np.inf]
    with np.errstate(invalid="ignore"):  # 0·∞ on a flat last piece: NaN, never selected
        k = int(np.argmax(positive & (h0 + h1 * ends >= 0)))
    return max(-h0[k] / h1[k], float(breaks[k])) if h1[k] > 0 else float(breaks[k])


def piecewise_newton(c, heads, tails, weights, target, gtol: float, sizes=None, a=None,
                     max_iter: int = _INNER) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``φ(c) = ½ Σ_k n_k (c_k − a_k)² + Σ_e w_e (t_e − (c_h − c_t))₊²`` (convex,
    piecewise quadratic) by semismooth Newton with the exact line search of
    :func:`exact_step`: finite once the active set ``t_e > c_h − c_t`` settles, where an
    Armijo search on the value stalls in floating point. Returns ``c`` and ``∇φ(c)``.

    The generalised Hessian ``N + 2 Σ_active w (e_h − e_t)(e_h − e_t)ᵀ`` is solved grounded
    (:func:`_grounded_solve`); without ``sizes`` (``n = 0``: the ``truncated_quadratic`` fit)
    it is a weighted Laplacian, solved per component of the active edges.
    """
    pattern = LaplacianPattern(heads, tails, c.size) if sizes is None else None
    done = False
    for _ in range(max_iter + 1):
        q = target - (c[heads] - c[tails])
        active = q > 0
        grad = (0.0 if sizes is None else sizes * (c - a)) - pull_back(
            2.0 * weights * np.maximum(q, 0.0), heads, tails, c.size)
        if done or np.abs(grad).max() <= gtol:
            break
        curvature = 2.0 * weights * active
        if sizes is None:
            labels = graph_components(heads[active], tails[active], c.size)[1]
            step = laplacian_solve(pattern.laplacian(curvature), labels, -grad[:, None])[:, 0]
            base = curve = 0.0
        else:
            step = -_grounded_solve(sizes, heads[active], tails[active], curvature[active], grad)
            base, curve = float(np.dot(sizes * step, c - a)), float(np.dot(sizes * step, step))
        t = exact_step(base, curve, weights, q, step[heads] - step[tails])
        c = c + t * step
        # a negligible step, or a full one that stays in its quadratic piece (its minimiser)
        done = (t * np.abs(step).max() <= 1e-16 * max(np.abs(c).max(), 1.0)
                or abs(t - 1.0) < 1e-9
                and np.array_equal(target - (c[heads] - c[tails]) > 0, active))
    return c, grad


def _polish(c, a, sizes, i, j, d, lam) -> np.ndarray:
    """The equality-constrained optimum on the constraints with ``λ > 0``: potentials by a
    Laplacian least-squares solve, then the ``n``-weighted mean of ``c − a`` zero per
    component of the active graph."""
    k, act = c.size, lam > 0
    hi, tj, da = i[act], j[act], d[act]
    n_comp, labels = graph_components(hi, tj, k)
    lap = laplacian(hi, tj, np.ones(hi.size), k)
    potential = laplacian_solve(lap, labels, pull_back(da, hi, tj, k)[:, None],
                                fixed_weights=True)[:, 0]
    shift = np.bincount(labels, sizes * (a - potential), n_comp) / np.bincount(labels, sizes,
                                                                                 n_comp)
    return potential + shift[labels]


def sparse_least_distance(a, sizes, i, j, d) -> np.ndarray:
    """Augmented Lagrangian with semismooth-Newton inner solves, then polishing."""
    scale = max(np.abs(a).max(initial=0.0), np.abs(d).max(initial=0.0), 1.0)
    lam, c = np.zeros(i.size), a.copy()
    sigma = 1.0 / max(sizes.max(), 1.0)
    for _ in range(_OUTER):
        # (1/2σ) Σ max(0, λ − σ(Bc − d))² = Σ (σ/2) (λ/σ + d − Bc)₊²
        gtol = 1e-15 * max(np.abs(sizes * (c - a)).max(), 1.0)
        c, _ = piecewise_newton(c, i, j, np.full(i.size, sigma / 2), lam / sigma + d, gtol,
                                sizes, a)
        slack = c[i] - c[j] - d
        lam = np.maximum(0.0, lam - sigma * slack)
        violation = np.maximum(0.0, -slack).max(initial=0.0)
        slackness = np.abs(lam * slack).max(initial=0.0)
        if violation <= TOLERANCE * scale and slackness <= TOLERANCE * scale * sizes.max():
            break
        sigma = min(sigma * 10.0, 1e12 / max(sizes.max(), 1.0))
    polished = _polish(c, a, sizes, i, j, d, lam)
    feasible = (polished[i] - polished[j] - d).min(initial=0.0) >= -TOLERANCE * scale
    objective = np.dot(sizes, (c - a) ** 2)
    if feasible and np.dot(sizes, (polished - a) ** 2) <= objective + 1e-12 * (1.0 + objective):
        return polished
    return c
