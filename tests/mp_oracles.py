"""High-precision reference solutions (mpmath), written from the paper's equations alone.

Nothing here imports psipo_exact: every oracle takes plain float inputs, converts them
exactly to mpmath numbers and solves the defining equations at a working precision chosen
from the problem's dynamic range, so that weights such as µ(y)µ(y′)p*(y≻y′) = 1e-600 or
rewards of ±700 (σ(1400) − 1 ≈ 1e-608) are resolved, which float64 cannot do directly.

* :func:`bt_rewards` — Bradley–Terry maximum likelihood (Eq. 2) on a weighted digraph, by
  damped Newton on the exact stationarity equations, certified by the final residual.
* :func:`population_bt_edges` — the edges µ(y)µ(y′)p*(y≻y′) of the population fit (Prop. 4).
* :func:`gibbs` — π ∝ πref exp(g/τ) (Eq. 7), hence DPO (Prop. 4) and population IPO (Eq. 7).
* :func:`ipo_empirical_logits` — the least-squares solution of Eq. 17 closest to a start.
"""

from __future__ import annotations

import mpmath as mp


def population_bt_edges(prefs, mu):
    """``[(y, y′, µ(y)µ(y′)p*(y≻y′))]`` for every positive weight, as exact mpf products."""
    n = len(mu)
    return [(i, j, mp.mpf(mu[i]) * mp.mpf(mu[j]) * mp.mpf(prefs[i][j]))
            for i in range(n) for j in range(n)
            if i != j and mu[i] > 0 and mu[j] > 0 and prefs[i][j] > 0]


def _sigma(x):
    return 1 / (1 + mp.exp(-x))


def _bt_gradient(r, edges, n):
    """``∂/∂r_i Σ_e w_e log(1 + e^{−(r_h − r_t)})``."""
    grad = [mp.mpf(0)] * n
    for h, t, w in edges:
        flow = w * _sigma(-(r[h] - r[t]))
        grad[h] -= flow
        grad[t] += flow
    return grad


def _bt_loss(r, edges):
    return mp.fsum(w * mp.log1p(mp.exp(-(r[h] - r[t]))) for h, t, w in edges)


def bt_rewards(edges, n, start=None, dps=None, iterations=400):
    """Mean-zero Bradley–Terry MLE of one strongly connected digraph, and its residual.

    ``edges`` are ``(winner, loser, weight)``; the MLE is unique (strictly convex on mean-zero
    rewards). Damped Newton on the loss with ``r_0`` fixed (steps of at most 64, doubled while
    the loss falls); the residual returned is the max-norm of the last Newton step, which
    bounds the distance to the MLE once Newton converges quadratically.
    """
    weights = [mp.mpf(w) for _, _, w in edges]
    spread = max(weights) / min(weights)
    if dps is None:  # digits of the weights' range + headroom for exp(±r) of that range
        dps = 60 + 2 * int(mp.log10(spread) + 1)
    with mp.workdps(dps):
        edges = [(h, t, mp.mpf(w)) for h, t, w in edges]
        r = [mp.mpf(0)] * n if start is None else [mp.mpf(x) for x in start]
        r = [x - r[0] for x in r]
        for _ in range(iterations):
            grad = _bt_gradient(r, edges, n)
            hess = mp.zeros(n - 1, n - 1)
            for h, t, w in edges:
                c = w * _sigma(r[h] - r[t]) * _sigma(-(r[h] - r[t]))
                for a, b, sign in ((h, h, 1), (t, t, 1), (h, t, -1), (t, h, -1)):
                    if a and b:
                        hess[a - 1, b - 1] += sign * c
            # mpmath's LU tests pivots against an absolute epsilon: solve the Jacobi-scaled
            # system D^-1/2 H D^-1/2 y = −D^-1/2 g, step = D^-1/2 y (the same Newton step).
            root = [mp.sqrt(hess[i, i]) for i in range(n - 1)]
            scaled = mp.matrix(n - 1, n - 1)
            for i in range(n - 1):
                for j in range(n - 1):
                    scaled[i, j] = hess[i, j] / (root[i] * root[j])
            y = mp.lu_solve(scaled, mp.matrix([-grad[i + 1] / root[i] for i in range(n - 1)]))
            step = [y[i] / root[i] for i in range(n - 1)]
            newton = max(abs(s) for s in step)
            if newton == 0:
                break
            value = _bt_loss(r, edges)
            alpha = full = min(mp.mpf(1), 64 / newton)  # trust region

            def at(a):
                return [r[0]] + [r[i] + a * step[i - 1] for i in range(1, n)]

            while _bt_loss(at(alpha), edges) >= value:  # backtrack
                alpha /= 2
                if alpha * newton < mp.mpf(10) ** (-dps // 2):
                    break
            else:
                while alpha == full and _bt_loss(at(2 * alpha), edges) < _bt_loss(
                        at(alpha), edges):
                    alpha, full = 2 * alpha, 2 * full  # far out: extrapolate
                r = at(alpha)
                if newton >= mp.mpf(10) ** (-dps // 2):
                    continue
            break  # converged, or no descent left at this precision
        mean = mp.fsum(r) / n
        return [x - mean for x in r], newton


def gibbs(pi_ref, g, tau):
    """``π(y) ∝ πref(y) exp(g(y)/τ)`` (Eq. 7) as mpf, from mpf or float inputs."""
    tau = mp.mpf(tau)
    top = max(mp.mpf(v) / tau for v, p in zip(g, pi_ref) if p > 0)
    weight = [mp.mpf(p) * mp.exp(mp.mpf(v) / tau - top) if p > 0 else mp.mpf(0)
              for v, p in zip(g, pi_ref)]
    total = mp.fsum(weight)
    return [w / total for w in weight]


def ipo_empirical_logits(winners, losers, n, pi_ref, tau, start, weights=None):
    """Least-squares solution of Eq. 17 (one connected comparison graph) closest to ``start``.

    Solves ``Σ_i c_i (θ_w − θ_l − 1/(2τ) − log πref(w) + log πref(l))(e_w − e_l) = 0`` with the
    mean of θ equal to the mean of ``start``.
    """
    weights = [1] * len(winners) if weights is None else weights
    tau = mp.mpf(tau)
    lap = mp.zeros(n, n)
    rhs = mp.matrix(n, 1)
    for win, lose, c in zip(winners, losers, weights):
        c = mp.mpf(c)
        target = 1 / (2 * tau) + mp.log(mp.mpf(pi_ref[win])) - mp.log(mp.mpf(pi_ref[lose]))
        for a, b, sign in ((win, win, 1), (lose, lose, 1), (win, lose, -1), (lose, win, -1)):
            lap[a, b] += sign * c
        rhs[win] += c * target
        rhs[lose] -= c * target
    for j in range(n):  # replace the last (redundant) equation by the mean condition
        lap[n - 1, j] = mp.mpf(1) / n
    rhs[n - 1] = mp.fsum(mp.mpf(s) for s in start) / n
    theta = mp.lu_solve(lap, rhs)
    return [theta[i] for i in range(n)]
