"""Plackett–Luce maximum likelihood by damped Newton on the choice stages of the rankings.

The numerics behind :mod:`psipo_exact.solvers.plackett_luce` (whose docstring states the
model, the existence condition of Hunter (2004) and the limits when it fails): each ranking
``σ`` is split into its choice stages (``σ_k`` chosen from ``{σ_k, …}``), the stages' negative
log-likelihood is evaluated in one pass, and each Newton step is a weighted-Laplacian solve.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._laplacian import LaplacianPattern, component_mean, index_dtype, laplacian_solve
from ._line_search import backtrack
from ._statistics import information
from .bradley_terry import BTFit


def stages(items, offsets, weights):
    """Every choice stage of every ranking: member entries sorted by stage.

    Returns ``stage`` (stage id per member entry), ``member`` (action per entry), ``chosen``
    (action chosen at each stage) and the stages' weights.
    """
    lengths = np.diff(offsets)
    ranking = np.repeat(np.arange(lengths.size), lengths)
    position = np.arange(items.size) - offsets[ranking]
    n_stages = lengths - 1
    first_stage = np.r_[0, np.cumsum(n_stages)[:-1]]
    # Entry at position p belongs to stages 0 .. min(p, m − 2) of its ranking.
    counts = np.minimum(position, lengths[ranking] - 2) + 1
    entry = np.repeat(np.arange(items.size), counts)
    k = np.arange(entry.size) - np.repeat(np.cumsum(counts) - counts, counts)
    stage = first_stage[ranking[entry]] + k
    order = np.argsort(stage, kind="stable")
    stage, member = stage[order], items[entry[order]]
    stage_ranking = np.repeat(np.arange(lengths.size), n_stages)
    stage_k = np.arange(stage_ranking.size) - first_stage[stage_ranking]
    chosen = items[offsets[stage_ranking] + stage_k]
    return stage, member, chosen, weights[stage_ranking]


def _stage_pairs(stage):
    """Index pairs (a, b), a < b, of entries in the same stage (entries sorted by stage)."""
    starts = np.flatnonzero(np.r_[True, np.diff(stage) != 0])
    end = np.repeat(np.r_[starts[1:], stage.size], np.diff(np.r_[starts, stage.size]))
    later = end - np.arange(stage.size) - 1
    a = np.repeat(np.arange(stage.size), later)
    b = a + 1 + np.arange(a.size) - np.repeat(np.cumsum(later) - later, later)
    return a, b


def evaluate(r, stage, member, chosen, weights, size):
    """Negative log-likelihood, gradient and member probabilities of every stage."""
    n_stages = chosen.size
    x = r[member]
    top = np.full(n_stages, -np.inf)
    np.maximum.at(top, stage, x)
    z = np.exp(x - top[stage])
    total = np.bincount(stage, z, n_stages)
    lse = top + np.log(total)
    p = z / total[stage]
    value = float(np.sum(weights * (lse - r[chosen])))
    grad = np.bincount(member, weights[stage] * p, size) - np.bincount(chosen, weights, size)
    return value, grad, p


def pl_fit(items, offsets, weights, size):
    """Plackett–Luce MLE over ``size`` actions (:mod:`.plackett_luce`): a ``BTFit``, the
    log-likelihood at the fit (its supremum without a finite maximiser) and the observed
    information of the fitted (top-restricted) rankings."""
    stage, member, chosen, w = stages(items, offsets, weights)
    keep = w[stage] > 0
    beats = sp.csr_matrix((np.ones(int(keep.sum())), (chosen[stage[keep]].astype(
        index_dtype(size)), member[keep].astype(index_dtype(size)))), shape=(size, size))
    n_weak, _ = connected_components(beats, directed=True, connection="weak")
    n_strong, strong = connected_components(beats, directed=True, connection="strong")
    coo = beats.tocoo()
    across = strong[coo.row] != strong[coo.col]
    sinking = (np.bincount(strong[coo.col[across]], minlength=n_strong) > 0)[strong]
    if sinking.any():  # restrict every ranking to the top actions
        top = ~sinking[items]
        lengths = np.add.reduceat(top.astype(np.int64), offsets[:-1]) if items.size else []
        ok = np.asarray(lengths) >= 2
        mask = top & np.repeat(ok, np.diff(offsets))
        items = items[mask]
        offsets = np.r_[0, np.cumsum(np.asarray(lengths)[ok])]
        weights = weights[ok]
        stage, member, chosen, w = stages(items, offsets, weights)
    labels = np.where(sinking, n_strong + np.arange(size), strong)
    a, b = _stage_pairs(stage)
    pattern = LaplacianPattern(member[a], member[b], size) if a.size else None
    r = np.zeros(size)
    state = (r,) + evaluate(r, stage, member, chosen, w, size)
    scale = max(float(np.bincount(chosen, w, size).max(initial=0.0)), 1e-300)
    for _ in range(100):
        r, value, grad, p = state
        if np.abs(grad).max(initial=0.0) <= 1e-13 * scale or pattern is None:
            break
        curvature = w[stage[a]] * p[a] * p[b]
        step = laplacian_solve(pattern.laplacian(curvature), labels, -grad[:, None])[:, 0]
        def trial(alpha):
            moved = r + alpha * step
            out = (moved,) + evaluate(moved, stage, member, chosen, w, size)
            return out[1], out

        accepted = backtrack(trial, value, grad @ step)
        if accepted is None:
            break
        state = accepted
    r, value, grad, p = state
    r = r - component_mean(r, strong, n_strong)
    fit = BTFit(np.where(sinking, -np.inf, r), np.where(sinking, -1, strong), sinking,
                n_weak == n_strong, float(np.abs(grad).max(initial=0.0) / scale))
    curvature = w[stage[a]] * p[a] * p[b]
    return fit, -value, information(member[a], member[b], curvature, size)
