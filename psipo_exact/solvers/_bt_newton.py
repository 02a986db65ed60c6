"""Bradley–Terry maximum likelihood (Eq. 2 of Azar et al., arXiv:2310.12036) at every scale.

Minimises ``Σ_e w_e softplus(−x_e)``, ``x_e = r[h_e] − r[t_e] + s_e`` (edge ``e``: ``h_e``
beats ``t_e`` with weight ``w_e``; the shifts ``s_e`` are 0 except in the coarse problems
below), on a beats-digraph whose every group (weakly connected component) is strongly
connected, so that a finite minimiser exists. Weights enter only as logarithms
``λ_e = log w_e``: a weight such as µ(y)µ(y′)p*(y≻y′) below the smallest float is kept.

Why not plain Newton. The stationarity equations are node balances ``Σ_{e∋i} ±φ_e = 0`` of the
edge flows ``φ_e = w_e σ(−x_e)``. When two sets of actions are joined only by flows below the
rounding error of the flows inside them (preferences within 1e-16 of 0 or 1 between the sets,
µ spanning many orders of magnitude), their offset is fixed by those flows alone, which
rounding erases from every node balance: plain Newton stops at a wrong offset while every node
looks balanced. Here an edge is *weak* when its flow is below :data:`WEAK` times the largest
flow at both of its ends; *clusters* are the components of the other edges. Newton steps
inside the clusters keep each cluster's mean reward, with every cluster's curvatures, flows
and losses normalised by its own scale; the offsets between clusters are then the solution of
a Bradley–Terry problem of their own (recursively), whose edges are the edges between clusters
with shifts equal to the current gaps, so that every equation is evaluated at its own scale.
Convergence is tested node by node, each relative to its own flows, at every level, and each
group stops on its own: a problem's answer does not depend on the others solved with it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._laplacian import RTOL, LaplacianPattern, component_mean, graph_components, laplacian_solve

#: An edge is weak when its flow is below this fraction of the largest flow at both its ends.
WEAK = 1e-4
#: Curvatures below ``exp(TINY)`` times their cluster's largest are left out of its Laplacian
#: (the cluster may split; its parts' offsets then come from the coarse level): Laplacian
#: weights spanning more than ~1e12 make the Cholesky pivots lose their sign to rounding.
TINY = np.log(1e-12)
#: Largest Newton step of one cluster (max-norm, in reward units).
MAX_STEP = 50.0
#: A node is balanced when its gradient is below ``BALANCE_ULPS · eps · (1 + |r| nearby)``
#: times its total flow (the rounding error of the gaps, to which the flows are sensitive).
BALANCE_ULPS = 32
_ITERATIONS, _ROUNDS, _DEPTH = 200, 12, 60
_EPS = np.finfo(np.float64).eps


class Edges(NamedTuple):
    """Directed edges ``heads → tails`` with log-weights and shifts (see the module doc)."""

    heads: np.ndarray
    tails: np.ndarray
    log_weights: np.ndarray
    shifts: np.ndarray

    def gaps(self, rewards: np.ndarray) -> np.ndarray:
        return rewards[self.heads] - rewards[self.tails] + self.shifts


class Terms(NamedTuple):
    """Per-edge logs of flow ``w σ(−x)``, curvature ``w σ(x)σ(−x)``, loss ``w softplus(−x)``."""

    gap: np.ndarray
    flow: np.ndarray
    curvature: np.ndarray
    loss: np.ndarray


def segment_max(values: np.ndarray, labels: np.ndarray, size: int) -> np.ndarray:
    """Largest value per label (``−∞`` for labels without values)."""
    out = np.full(size, -np.inf)
    np.maximum.at(out, labels, values)
    return out


def components(heads, tails, size: int) -> tuple[np.ndarray, int]:
    """Connected components (labels, count) of the undirected graph of the edges."""
    n, labels = graph_components(heads, tails, size)
    return labels, n


def log_terms(rewards: np.ndarray, edges: Edges) -> Terms:
    x = edges.gaps(rewards)
    tail = np.log1p(np.exp(-np.abs(x)))  # softplus(±x) = max(±x, 0) + tail
    flow = edges.log_weights - (np.maximum(x, 0.0) + tail)
    curvature = flow - (np.maximum(-x, 0.0) + tail)
    with np.errstate(divide="ignore"):  # log softplus(−x) ≈ −x once softplus underflows
        loss = np.where(x > 36, -x, np.log(np.maximum(-x, 0.0) + tail))
    return Terms(x, flow, curvature, edges.log_weights + loss)


def node_balance(terms: Terms, edges: Edges, size: int):
    """Per node: the loss gradient relative to the node's total flow.

    Returns ``(relative, scale)``; ``scale`` is the log of the node's largest flow (``−∞``
    for nodes without edges, whose relative gradient is 0).
    """
    h, t = edges.heads, edges.tails
    scale = np.maximum(segment_max(terms.flow, h, size), segment_max(terms.flow, t, size))
    at_head, at_tail = np.exp(terms.flow - scale[h]), np.exp(terms.flow - scale[t])
    total = np.bincount(h, at_head, size) + np.bincount(t, at_tail, size)
    grad = np.bincount(t, at_tail, size) - np.bincount(h, at_head, size)
    return np.divide(grad, total, out=np.zeros(size), where=total > 0), scale


def tolerance(rewards, edges: Edges, groups, n_groups) -> np.ndarray:
    """Per group, the attainable relative node gradient: ``BALANCE_ULPS · eps · (1 + R)``,
    ``R`` bounding the gaps' magnitudes (the flows are as sensitive as the gaps' rounding)."""
    reach = 2 * segment_max(np.abs(rewards), groups, n_groups)
    shifts = segment_max(np.abs(edges.shifts), groups[edges.heads], n_groups)
    return BALANCE_ULPS * _EPS * (1 + np.maximum(reach, 0.0) + np.maximum(shifts, 0.0))


def clusters(terms: Terms, edges: Edges, scale: np.ndarray, size: int):
    """Cluster labels, their count and the mask of the edges of the clusters' Laplacians.

    Clusters are the components of the edges that are not weak (module docstring), less those
    whose curvature is below ``exp(TINY)`` times their cluster's largest (see :data:`TINY`;
    their cluster then splits).
    """
    h, t = edges.heads, edges.tails
    inner = (terms.flow >= scale[h] + np.log(WEAK)) | (terms.flow >= scale[t] + np.log(WEAK))
    labels, n = components(h[inner], t[inner], size)
    top = segment_max(terms.curvature[inner], labels[h[inner]], n)
    representable = terms.curvature[inner] >= top[labels[h[inner]]] + TINY
    if not representable.all():
        inner[inner] = representable
        labels, n = components(h[inner], t[inner], size)
    return labels, n, inner


def _cluster_step(terms: Terms, edges: Edges, labels, n, inner, pattern, moving, rtol):
    """Newton step inside every cluster (its mean kept), capped at :data:`MAX_STEP`.

    Curvatures and flows of a cluster are normalised by its largest curvature, lifted when
    its flows exceed that by more than e^600 (far from the optimum, where the step is capped
    anyway); ``pattern`` is the :class:`LaplacianPattern` of the ``inner`` edges and
    ``moving`` masks the nodes that take a step.
    """
    h, t = edges.heads, edges.tails
    curvature_scale = segment_max(terms.curvature[inner], labels[h[inner]], n)
    curvature_scale = np.where(np.isfinite(curvature_scale), curvature_scale, 0.0)
    flow_scale = np.maximum(segment_max(terms.flow, labels[h], n),
                            segment_max(terms.flow, labels[t], n))
    lift = np.maximum(flow_scale - curvature_scale - 600, 0.0)
    norm = curvature_scale + lift
    size = labels.size
    rhs = (np.bincount(h, np.exp(terms.flow - norm[labels[h]]), size)
           - np.bincount(t, np.exp(terms.flow - norm[labels[t]]), size))
    rhs = np.where(moving, rhs, 0.0)
    weights = np.exp(terms.curvature[inner] - curvature_scale[labels[h[inner]]])
    # A cluster's gradient sums to (negligible) flows to other clusters; what rounding adds
    # goes to its nodes in proportion to their curvature, not equally (laplacian_solve's own
    # projection would hand the heavy nodes' rounding to light nodes, whose small flows are
    # then lost, e.g. an action with µ = 1e-10 beside actions with µ = 1/2).
    degree = np.bincount(h[inner], weights, size) + np.bincount(t[inner], weights, size)
    excess = np.bincount(labels, rhs, n) / np.maximum(np.bincount(labels, degree, n), 1e-300)
    rhs = rhs - degree * excess[labels]
    lap = pattern.laplacian(weights)
    step = laplacian_solve(lap, labels, rhs[:, None], rtol)[:, 0]
    step = step - component_mean(step, labels, n)
    largest = segment_max(np.abs(step), labels, n)
    with np.errstate(divide="ignore"):
        capped = np.log(largest) + lift > np.log(MAX_STEP)
        factor = np.where(capped, MAX_STEP / np.where(capped, largest, 1.0),
                          np.exp(np.minimum(lift, 700.0)))
    return step * factor[labels]


def _cluster_loss(terms: Terms, edges: Edges, labels, n, norm) -> np.ndarray:
    """Loss of the edges touching each cluster, in units of ``exp(norm)`` of that cluster."""
    lh, lt = labels[edges.heads], labels[edges.tails]
    with np.errstate(over="ignore"):
        at_head = np.exp(terms.loss - norm[lh])
        at_tail = np.where(lt != lh, np.exp(terms.loss - norm[lt]), 0.0)
    return np.bincount(lh, at_head, n) + np.bincount(lt, at_tail, n)


def _cluster_line_search(rewards, step, edges, terms, labels, n, relative):
    """Step length per cluster: backtracking (Armijo, with rounding slack) from the capped
    Newton step, then doubling while the loss falls if the full step did better than the
    quadratic model predicts (far from the optimum, where the flows are exponential in the
    gaps and Newton alone crawls about one unit a step).

    A cluster also accepts a step that halves its largest relative node gradient (progress
    the rounded loss may not show). Returns the new rewards and, per cluster, whether it
    made progress (loss down beyond rounding, or gradient halved).
    """
    size = rewards.size
    norm = np.maximum(segment_max(terms.loss, labels[edges.heads], n),
                      segment_max(terms.loss, labels[edges.tails], n))
    norm = np.where(np.isfinite(norm), norm, 0.0)
    value = _cluster_loss(terms, edges, labels, n, norm)
    gradient = (np.bincount(edges.tails, np.exp(terms.flow - norm[labels[edges.tails]]), size)
                - np.bincount(edges.heads, np.exp(terms.flow - norm[labels[edges.heads]]), size))
    slope = np.bincount(labels, gradient * step, n)
    slack = 1e-13 * value

    def loss_at(alpha):
        return _cluster_loss(log_terms(rewards + alpha[labels] * step, edges), edges, labels,
                             n, norm)

    def halved(alpha):
        at = rewards + alpha[labels] * step
        relative_at = node_balance(log_terms(at, edges), edges, size)[0]
        return segment_max(np.abs(relative_at), labels, n) < 0.5 * segment_max(
            np.abs(relative), labels, n)

    alpha = np.where(segment_max(np.abs(step), labels, n) > 0, 1.0, 0.0)
    value_at = loss_at(alpha)
    while True:  # backtrack
        decrease = value_at <= value + 1e-4 * alpha * slope + slack
        ok = decrease | (halved(alpha) if not decrease[alpha > 0].all() else decrease)
        if ok[alpha > 0].all() or alpha.max() < 1e-10:
            break
        alpha = np.where(ok, alpha, 0.5 * alpha)
        value_at = loss_at(alpha)
    alpha = np.where(ok, alpha, 0.0)
    progress = (alpha > 0) & (value_at < value - slack)
    if not progress[alpha > 0].all():
        progress |= (alpha > 0) & halved(alpha)
    grow = (alpha == 1.0) & (value - value_at > -0.75 * slope)
    while grow.any() and alpha.max() < 2.0**40:  # extrapolate
        longer = np.where(grow, 2 * alpha, alpha)
        longer_value = loss_at(longer)
        grow &= longer_value < value_at - 1e-13 * np.abs(value_at)
        alpha, value_at = np.where(grow, longer, alpha), np.where(grow, longer_value, value_at)
    return rewards + alpha[labels] * step, progress


def _newton(rewards, edges: Edges, groups, n_groups):
    """Damped Newton inside clusters until every group is balanced or stalls.

    Returns the rewards and the largest relative node gradient (the residual).
    """
    size = rewards.size
    done = np.zeros(n_groups, bool)
    stalled = np.zeros(n_groups, int)
    inner, pattern = None, None
    for _ in range(_ITERATIONS):
        terms = log_terms(rewards, edges)
        relative, scale = node_balance(terms, edges, size)
        worst = segment_max(np.abs(relative), groups, n_groups)
        done |= worst <= tolerance(rewards, edges, groups, n_groups)
        done |= stalled > 3
        if done.all():
            break
        labels, n, strong = clusters(terms, edges, scale, size)
        if inner is None or not np.array_equal(strong, inner):
            inner = strong
            pattern = LaplacianPattern(edges.heads[inner], edges.tails[inner], size)
        moving = ~done[groups]
        rtol = min(1e-2, float(np.max(np.abs(relative[moving]))) ** 2 + RTOL)
        step = _cluster_step(terms, edges, labels, n, inner, pattern, moving, rtol)
        rewards, progress = _cluster_line_search(rewards, step, edges, terms, labels, n, relative)
        progress = np.bincount(groups, progress[labels] & moving, n_groups) > 0
        stalled = np.where(progress, 0, stalled + 1)
    relative = node_balance(log_terms(rewards, edges), edges, size)[0]
    return rewards, float(np.max(np.abs(relative), initial=0.0))


def _log_sum(values: np.ndarray, labels: np.ndarray, size: int) -> np.ndarray:
    """``log Σ exp(values)`` per label (``−∞`` for labels without values)."""
    top = segment_max(values, labels, size)
    shifted = np.exp(values - top[labels])
    with np.errstate(divide="ignore"):
        return top + np.log(np.bincount(labels, shifted, size))


def bt_start(edges: Edges, groups: np.ndarray) -> np.ndarray:
    """Starting rewards: per group, the win ratios ``log(wins / losses)`` (weighted) or 0,
    whichever has the lower loss."""
    size, n_groups = groups.size, int(groups.max(initial=-1)) + 1
    wins = _log_sum(edges.log_weights, edges.heads, size)
    losses = _log_sum(edges.log_weights, edges.tails, size)
    both = np.isfinite(wins) & np.isfinite(losses)
    ratio = np.where(both, np.where(both, wins, 0.0) - np.where(both, losses, 0.0), 0.0)
    losses_at = [log_terms(r, edges).loss for r in (ratio, np.zeros(size))]
    group = groups[edges.heads]
    norm = np.maximum(*(segment_max(loss, group, n_groups) for loss in losses_at))
    norm = np.where(np.isfinite(norm), norm, 0.0)
    value = [np.bincount(group, np.exp(loss - norm[group]), n_groups) for loss in losses_at]
    return np.where((value[0] <= value[1])[groups], ratio, 0.0)


def bt_newton(edges: Edges, groups: np.ndarray, start: np.ndarray, depth: int = 0):
    """Minimiser of the Bradley–Terry loss of ``edges`` (module docstring) from ``start``.

    ``groups`` labels the weakly connected components, each strongly connected. Returns the
    rewards (each group's mean is arbitrary) and the residual: the largest node gradient
    relative to the node's total flow, at every level.
    """
    rewards, n_groups = start.astype(np.float64), int(groups.max(initial=-1)) + 1
    residual = 0.0
    for _ in range(_ROUNDS):
        rewards, residual = _newton(rewards, edges, groups, n_groups)
        terms = log_terms(rewards, edges)
        scale = node_balance(terms, edges, rewards.size)[1]
        labels, n, _ = clusters(terms, edges, scale, rewards.size)
        cross = labels[edges.heads] != labels[edges.tails]
        if not cross.any() or depth >= _DEPTH:
            return rewards, residual
        coarse = Edges(labels[edges.heads[cross]], labels[edges.tails[cross]],
                       edges.log_weights[cross], terms.gap[cross])
        coarse_groups = np.zeros(n, np.int64)
        coarse_groups[labels] = groups
        offsets, coarse_residual = bt_newton(coarse, coarse_groups, np.zeros(n), depth + 1)
        residual = max(residual, coarse_residual)
        if not offsets.any():
            return rewards, residual
        rewards = rewards + offsets[labels]
    return rewards, residual
