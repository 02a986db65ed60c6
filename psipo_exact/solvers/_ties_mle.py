"""Joint maximum likelihood of a tie model's rewards and tie parameter, by damped Newton.

The numerics behind :mod:`psipo_exact.solvers.ties` (whose docstring states the models, the
existence conditions and the limits): the comparisons as coalesced win and tie edges on
global nodes, their strongly connected components, and Newton steps in which the ``φ`` row
of the Hessian is eliminated by its Schur complement (two weighted-Laplacian solves a step).
"""

from __future__ import annotations

import numpy as np

from ..model import Dataset
from ._laplacian import LaplacianPattern, component_mean, laplacian_solve, pull_back
from ._line_search import backtrack
from ._problem import nodes
from .bradley_terry import BTFit, beats_structure

#: |φ| beyond which the tie parameter is reported as diverging.
PHI_LIMIT = 40.0
#: Relative curvature in φ below which the likelihood is taken to flatten out (divergence).
FLAT = 1e-6


def tie_edges(data: Dataset):
    """Coalesced wins ``(heads, tails, weights)`` and ties ``(low, high, weights)`` of ``data``
    over global nodes (data of weight 0 dropped)."""
    heads, tails, size = nodes(data)
    tie = np.zeros(len(data), bool) if data.ties is None else data.ties
    w = data.datum_weights
    out = []
    for keep, a, b in ((~tie & (w > 0), heads, tails),
                       (tie & (w > 0), np.minimum(heads, tails), np.maximum(heads, tails))):
        key, inverse = np.unique(a[keep] * size + b[keep], return_inverse=True)
        out.append((key // size, key % size, np.bincount(inverse.ravel(), w[keep], key.size)))
    return out[0], out[1], size


def evaluate(model, r, phi, wins, ties, size):
    """Negative log-likelihood, gradients (r, φ), edge curvatures, ``b = ∂²/∂r∂φ`` and
    ``a = ∂²/∂φ²``."""
    parts = []
    for (h, t, w), fn in ((wins, model.win), (ties, model.tie)):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f = fn(r[h] - r[t], phi)
        parts.append((h, t, w, f))
    value = sum(float(w @ f[0]) for _, _, w, f in parts)
    grad = sum(pull_back(w * f[1], h, t, size) for h, t, w, f in parts)
    g_phi = sum(float(w @ f[2]) for _, _, w, f in parts)
    curvature = np.concatenate([w * f[3] for _, _, w, f in parts])
    cross = sum(pull_back(w * f[4], h, t, size) for h, t, w, f in parts)
    a = sum(float(w @ f[5]) for _, _, w, f in parts)
    return value, grad, g_phi, curvature, cross, a


def _newton(model, wins, ties, size, labels, phi, fixed):
    """Damped Newton on (r, φ) (or r alone when ``fixed``); returns r, φ, residual, ok."""
    heads = np.concatenate([wins[0], ties[0]])
    tails = np.concatenate([wins[1], ties[1]])
    pattern = LaplacianPattern(heads, tails, size)
    total = np.bincount(heads, np.r_[wins[2], ties[2]], size) + np.bincount(
        tails, np.r_[wins[2], ties[2]], size)
    scale = max(float(total.max(initial=0.0)), 1e-300)
    r = np.log((np.bincount(wins[0], wins[2], size) + 0.5) /
               (np.bincount(wins[1], wins[2], size) + 0.5))
    r = r - component_mean(r, labels, int(labels.max(initial=-1)) + 1)
    state = (r, phi) + evaluate(model, r, phi, wins, ties, size)
    for _ in range(200):
        r, phi, value, grad, g_phi, curvature, cross, a = state
        norm = max(np.abs(grad).max(initial=0.0), 0.0 if fixed else abs(g_phi))
        if norm <= 1e-13 * scale or (not fixed and abs(phi) > PHI_LIMIT):
            break
        # Safeguarded Newton: curvature that underflowed to 0 (|d| ≫ 1 at an early iterate)
        # would split a component's Laplacian (singular Cholesky); a floor of 1e-14·scale
        # only changes the direction, the stopping test uses the exact gradient.
        lap = pattern.laplacian(np.maximum(curvature, 1e-14 * scale))
        if fixed:
            step_r = laplacian_solve(lap, labels, -grad[:, None], fixed_weights=True)[:, 0]
            step_phi = 0.0
        else:
            x = laplacian_solve(lap, labels, np.stack([-grad, cross], 1), fixed_weights=True)
            step_phi = (-g_phi - cross @ x[:, 0]) / (a - cross @ x[:, 1])
            step_r = x[:, 0] - x[:, 1] * step_phi
        def trial(alpha):
            moved, moved_phi = r + alpha * step_r, phi + alpha * step_phi
            if not (fixed or moved_phi > model.lower):
                return None  # Rao–Kupper: θ > 1 when there are ties
            out = (moved, moved_phi) + evaluate(model, moved, moved_phi, wins, ties, size)
            return out[2], out

        accepted = backtrack(trial, value, grad @ step_r + g_phi * step_phi)
        if accepted is None:
            break
        state = accepted
    r, phi, _, grad, g_phi, curvature, cross, a = state
    residual = max(np.abs(grad).max(initial=0.0), 0.0 if fixed else abs(g_phi)) / scale
    if fixed:
        return r, phi, residual, True
    # The curvature left in φ once r is optimised (Schur complement): ~0 on a direction
    # along which the likelihood only flattens out (ties becoming certain).
    x = laplacian_solve(pattern.laplacian(curvature), labels, cross[:, None],
                        fixed_weights=True)[:, 0]
    schur = a - cross @ x
    return r, phi, residual, abs(phi) <= PHI_LIMIT and schur > FLAT * a


def tie_fit(model, wins, ties, size, phi=None):
    """Joint maximum likelihood of a tie model over global nodes (:mod:`.ties`).

    Returns a ``BTFit`` (rewards mean zero per top component, ``−∞`` on sinking nodes), ``φ``,
    whether ``φ`` converged, the edges inside the components and their component labels.
    """
    # The beats digraph: wins one way, ties both ways (a tie is evidence for each side).
    beats = beats_structure(np.concatenate([wins[0], ties[0], ties[1]]),
                            np.concatenate([wins[1], ties[1], ties[0]]), size)
    strong, n_strong, sinking, exists = beats.strong, beats.n_strong, beats.sinking, beats.exists
    inside = [strong[e[0]] == strong[e[1]] for e in (wins, ties)]
    wins_in = tuple(x[inside[0]] for x in wins)
    ties_in = tuple(x[inside[1]] for x in ties)
    fixed = phi is not None
    if not fixed:
        n_ties, n_wins = ties_in[2].sum(), wins_in[2].sum()
        if n_ties == 0:
            phi, fixed = model.lower, True  # boundary: Bradley–Terry
        elif n_wins == 0:
            raise ValueError(
                "no decisive comparison inside any strongly connected component: the "
                "maximum-likelihood tie parameter is +inf (every comparison a tie)")
        else:
            phi = float(model.start(min(n_ties / (n_ties + n_wins), 0.9)))
    r, phi, residual, converged = _newton(model, wins_in, ties_in, size, strong, phi, fixed)
    r = r - component_mean(r, strong, n_strong)
    fit = BTFit(np.where(sinking, -np.inf, r), np.where(sinking, -1, strong), sinking,
                exists, residual)
    return fit, phi, converged, wins_in, ties_in, strong, r
