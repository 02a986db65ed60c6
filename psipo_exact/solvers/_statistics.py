"""Fit statistics of maximum-likelihood reward models: information, standard errors, deviance.

Rewards of a Bradley–Terry-type model are identified only up to one constant per connected
component of the comparison graph, so a covariance needs a constraint. Two are offered:

* ``"mean zero"`` (the default, the rewards' own normalisation): the rewards of every
  component sum to zero; the covariance is the pseudo-inverse of the information;
* a *reference* action whose reward is fixed at 0 (as R's ``BTm``/``BTabilities``): its
  component's rewards are contrasts with it; the covariance is the inverse of the
  information with the reference's row and column removed (0 for the reference).

Both are the top-left block of the inverse of the bordered matrix ``[[H, Aᵀ], [A, 0]]``
(``H`` the observed information, ``A`` the constraint rows), computed here batched over
components of equal size. Nodes are global (``k · n + y``); a node that is not estimated
(its reward diverges to ``−∞``) has ``labels == -1`` and standard error ``∞``.

References: observed Fisher information of a maximum-likelihood estimate (e.g. Agresti,
*Categorical Data Analysis*, 2002, Sec. 10.6 for Bradley–Terry); Turner & Firth (2012),
*J. Stat. Softw.* 48(9) for ``BTm``'s reference-category convention.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import _base


def bordered_covariance(info: np.ndarray, constraints: np.ndarray) -> np.ndarray:
    """Top-left block of ``[[H, Aᵀ], [A, 0]]⁻¹``, batched: ``info`` (..., m, m), ``constraints``
    (..., k, m). The covariance of an estimate constrained by ``A θ = 0`` whose information
    ``H`` is singular exactly along directions that ``A`` pins.

    Solved in the Jacobi scaling ``D^{-1/2} H D^{-1/2}`` (``D = diag H``; the block is
    invariant under scaling the rows of ``A``), so that information spanning hundreds of
    orders of magnitude (a population fit with µ(y) ~ 1e-150) keeps its precision. Where
    the information does not pin every other direction in float64 (a curvature that
    underflowed to 0: its variance exceeds the float range), the block's variances are
    ``∞`` and its covariances 0.
    """
    m, k = info.shape[-1], constraints.shape[-2]
    diagonal = np.diagonal(info, 0, -2, -1)
    scale = 1.0 / np.sqrt(np.where(diagonal > 0, diagonal, 1.0))
    info = info * scale[..., :, None] * scale[..., None, :]
    constraints = constraints * scale[..., None, :]
    constraints = constraints / np.max(np.abs(constraints), -1, keepdims=True)
    zeros = np.zeros(info.shape[:-2] + (k, k))
    full = np.concatenate([np.concatenate([info, np.swapaxes(constraints, -1, -2)], -1),
                           np.concatenate([constraints, zeros], -1)], -2)
    with np.errstate(over="ignore"):  # a variance beyond the float range is ∞
        return _inverse(full)[..., :m, :m] * scale[..., :, None] * scale[..., None, :]


def _inverse(full: np.ndarray) -> np.ndarray:
    """``inv`` of each matrix; a singular one gets ``∞`` on its diagonal and 0 elsewhere."""
    try:
        out = np.linalg.inv(full)
    except np.linalg.LinAlgError:
        if full.ndim == 2:
            return np.diag(np.full(full.shape[-1], np.inf))
        out = np.stack([_inverse(block) for block in full])
    bad = ~np.isfinite(np.diagonal(out, 0, -2, -1)).all(-1)
    if bad.any():
        out[bad] = np.diag(np.full(full.shape[-1], np.inf))
    return out


def component_covariances(info: sp.spmatrix, labels: np.ndarray, reference: np.ndarray | None):
    """Covariance blocks of every component: yields ``(nodes (B, m), cov (B, m, m))``.

    ``labels`` gives each node's component (``-1``: not estimated); ``reference`` marks at
    most one node per component (components without one get the mean-zero constraint).
    Components of equal size are inverted together.
    """
    info = sp.csr_matrix(info)
    node = np.flatnonzero(labels >= 0)
    _, comp = np.unique(labels[node], return_inverse=True)
    order = np.argsort(comp, kind="stable")
    node, comp = node[order], comp[order]
    starts = np.flatnonzero(np.r_[True, np.diff(comp) != 0])
    sizes = np.diff(np.r_[starts, node.size])
    for m in np.unique(sizes):
        first = starts[sizes == m]
        nodes = node[first[:, None] + np.arange(m)]  # (B, m)
        flat = nodes.ravel()
        block = info[flat][:, flat].toarray().reshape(len(first), m, len(first), m)
        block = block[np.arange(len(first)), :, np.arange(len(first)), :]  # (B, m, m)
        constraint = np.full((len(first), 1, m), 1.0 / m)
        if reference is not None:
            pinned = reference[nodes]
            has = pinned.any(1)
            constraint[has, 0, :] = pinned[has]
        cov = bordered_covariance(block, constraint)
        if reference is not None:  # exactly 0, not a rounding error, at the reference
            cov[pinned[:, :, None] | pinned[:, None, :]] = 0.0
        yield nodes, cov


def standard_errors(info, labels: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """``sqrt(diag(covariance))`` per node; ``∞`` where ``labels == -1``."""
    out = np.full(labels.size, np.inf)
    for nodes, cov in component_covariances(info, labels, reference):
        out[nodes] = np.sqrt(np.clip(np.diagonal(cov, 0, -2, -1), 0.0, None))
    return out


def dense_covariance(info, labels: np.ndarray, reference: np.ndarray | None,
                     shape: tuple[int, ...]) -> np.ndarray:
    """The covariance as an array ``lead + (n, n)`` (blocks per problem); ``∞`` on the
    diagonal of nodes that are not estimated, 0 between different components."""
    *lead, n = shape
    problems = int(np.prod(lead, dtype=np.int64))
    out = np.zeros((problems, n, n))
    dead = np.flatnonzero(labels < 0)
    out[dead // n, dead % n, dead % n] = np.inf
    for nodes, cov in component_covariances(info, labels, reference):
        k, y = nodes // n, nodes % n
        out[k[:, :, None], y[:, :, None], y[:, None, :]] = cov
    return out.reshape(tuple(lead) + (n, n))


def joint_covariance(info, labels: np.ndarray, reference: np.ndarray | None, extra: int):
    """Dense covariance over the estimated nodes (``labels >= 0``) and ``extra`` trailing
    parameters of ``info`` (one bordered system; the constraint of each component as in
    :func:`component_covariances`). Returns the estimated nodes and the covariance."""
    size = labels.size
    live = np.flatnonzero(labels >= 0)
    _, comp = np.unique(labels[live], return_inverse=True)
    m, k = live.size, int(comp.max(initial=-1)) + 1
    constraint = np.zeros((k, m + extra))
    sizes = np.bincount(comp, minlength=k)
    constraint[comp, np.arange(m)] = 1.0 / sizes[comp]
    pinned = np.zeros(0, dtype=np.int64)
    if reference is not None:
        pinned = np.flatnonzero(reference[live])
        constraint[comp[pinned]] = 0.0
        constraint[comp[pinned], pinned] = 1.0
    keep = np.r_[live, size + np.arange(extra)]
    block = sp.csr_matrix(info)[keep][:, keep].toarray()
    cov = bordered_covariance(block, constraint)
    if reference is not None:  # exactly 0, not a rounding error, at the reference
        cov[pinned, :] = 0.0
        cov[:, pinned] = 0.0
    return live, cov


def information(heads, tails, curvature, size: int) -> sp.csr_matrix:
    """Observed information ``Σ_e c_e (e_h − e_t)(e_h − e_t)ᵀ`` (a weighted Laplacian)."""
    rows = np.concatenate([heads, tails, heads, tails])
    cols = np.concatenate([heads, tails, tails, heads])
    vals = np.concatenate([curvature, curvature, -curvature, -curvature])
    return sp.csr_matrix((vals, (rows, cols)), shape=(size, size))


def shift_to_reference(rewards: np.ndarray, labels: np.ndarray,
                       reference: np.ndarray) -> np.ndarray:
    """Rewards shifted per component so that the reference node of each has reward 0."""
    shift = np.zeros(int(labels.max(initial=-1)) + 2)
    pinned = np.flatnonzero(reference & (labels >= 0))
    shift[labels[pinned]] = rewards[pinned]
    return np.where(labels >= 0, rewards - shift[labels], rewards)


def saturated_loglik(heads, tails, weights, size: int) -> float:
    """Log-likelihood of the saturated binomial model: one probability per compared pair,
    ``Σ_{pairs} w_ij log(w_ij / n_ij)`` with ``n_ij = w_ij + w_ji`` (0 log 0 = 0)."""
    low, high = np.minimum(heads, tails), np.maximum(heads, tails)
    _, pair = np.unique(low.astype(np.int64) * size + high, return_inverse=True)
    total = np.bincount(pair.ravel(), weights)[pair.ravel()]
    share = np.divide(weights, total, out=np.ones_like(weights), where=total > 0)
    return float(np.sum(weights * _base.log(np.where(weights > 0, share, 1.0))))


def bt_statistics(fit, heads, tails, log_weights, size: int, reference: np.ndarray | None,
                  refit) -> dict:
    """``stderr``, ``loglik``, ``deviance``, ``information`` and the (shifted) ``rewards`` of a
    Bradley–Terry fit ``fit`` (a ``BTFit``) of the edges ``heads → tails`` with weights
    ``exp(log_weights)`` (terms below the smallest float underflow to 0 here).

    The log-likelihood is ``Σ_e w_e log σ(r_h − r_t)``; without a finite maximiser its
    supremum, ``Σ`` over the strongly connected components of the maximum log-likelihood of
    their internal comparisons (comparisons between components go the way of the
    condensation's order, with probability → 1): the sinking components are fitted by
    ``refit(heads, tails, log_weights, size)``.
    """
    weights = np.exp(log_weights)
    labels = np.where(fit.sinking, -1, fit.top_label)
    inside = (labels[heads] == labels[tails]) & (labels[heads] >= 0)
    gap = fit.rewards[heads[inside]] - fit.rewards[tails[inside]]
    w = weights[inside]
    curvature = np.exp(log_weights[inside] - _base.softplus(gap) - _base.softplus(-gap))
    info = information(heads[inside], tails[inside], curvature, size)
    loglik = float(np.sum(w * -_base.softplus(-gap)))
    if not fit.exists:
        loglik += _sinking_loglik(fit, heads, tails, log_weights, size, refit)
    rewards = fit.rewards if reference is None else shift_to_reference(
        fit.rewards, labels, reference)
    return dict(rewards=rewards, stderr=standard_errors(info, labels, reference),
                loglik=loglik, information=info,
                deviance=2 * (saturated_loglik(heads, tails, weights, size) - loglik))


def _sinking_loglik(fit, heads, tails, log_weights, size, refit) -> float:
    """Maximum log-likelihood of the comparisons inside the sinking strongly connected
    components (each is strongly connected, so its maximiser is finite)."""
    from scipy.sparse.csgraph import connected_components

    beats = sp.csr_matrix((np.ones(heads.size), (heads, tails)), shape=(size, size))
    _, strong = connected_components(beats, directed=True, connection="strong")
    inside = (strong[heads] == strong[tails]) & fit.sinking[heads]
    if not inside.any():
        return 0.0
    h, t, log_w = heads[inside], tails[inside], log_weights[inside]
    sub = refit(h, t, log_w, size)
    gap = sub.rewards[h] - sub.rewards[t]
    return float(np.sum(np.exp(log_w) * -_base.softplus(-gap)))


def population_loglik(fit, edges, mu, lead, n):
    """``−Eq. 2`` at the fit, per problem: ``Σ_{y≠y′} µµp log σ(r − r′)`` over the edges
    inside the top components, plus the ``y = y′`` terms ``−½ µ(y)² log 2``."""
    heads, tails, log_weights, _ = edges
    inside = (fit.top_label[heads] == fit.top_label[tails]) & ~fit.sinking[heads]
    gap = fit.rewards[heads[inside]] - fit.rewards[tails[inside]]
    problems = int(np.prod(lead, dtype=np.int64))
    per = np.bincount(heads[inside] // n,
                      -np.exp(log_weights[inside]) * _base.softplus(-gap), problems)
    diagonal = -0.5 * np.log(2) * np.sum(np.broadcast_to(mu, lead + (n,)) ** 2, -1)
    out = per.reshape(lead) + diagonal
    return float(out) if not lead else out
