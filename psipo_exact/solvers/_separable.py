"""Losses of separate log-ratios that split over actions: ``min Σ_y G_y(s_y)``, ``Σ_y π(y) = 1``.

``nca_pair``, ``bco_pair``, ``sppo_hard`` and ``apo_zero`` are sums ``A(s_w) + B(s_l)``, so
a dataset (or a population) enters only through each action's total winning and losing
weights ``W⁺_y``, ``W⁻_y``: ``G_y(s) = W⁺_y A(s) + W⁻_y B(s)`` with ``s_y = log π(y)/πref(y)``
and one constraint ``Σ_y πref(y) e^{s_y} = 1`` per problem. With a Lagrange multiplier
``−μ`` the stationarity conditions are ``G_y′(s_y) + μ πref(y) e^{s_y} = 0``.

* ``nca_pair``, ``bco_pair``, ``sppo_hard`` (``reverse_kl``): ``G_y`` is convex in ``s``, so
  the relaxation ``Σ πref e^s ≤ 1`` is a convex problem. If the per-action minimisers
  ``s*_y`` carry mass ``≥ 1`` the constraint is active, ``μ ≥ 0``, each
  ``G_y′(s) + μ πref e^s`` is increasing (one root per action; for ``sppo_hard`` in closed
  form with the Lambert W function), the mass decreases in μ, and the root in μ is the
  unique global minimiser. If the mass is below 1 and some action is never compared
  (``G_y = 0``), those actions share the rest of the mass (undetermined split). Otherwise
  the mass must increase (``μ = −κ < 0``), a reverse-convex problem: in ``u = π/πref`` each
  ``G_y(log u)`` is convex up to an inflection ``ŝ_y`` (``G″ = G′``) and concave beyond,
  ``log κ = L_y(s) = log G′_y(s) − s − log πref(y)`` has one root on each branch, and at a
  local minimiser at most one action is on its concave branch. The solver enumerates the
  n + 1 patterns (all convex, or action k concave), solves each pattern's mass equation in
  ``log κ`` (monotone for the all-convex pattern; a 48-point sign scan refined by bisection
  for the others) and keeps the best candidate: exact when the scan brackets every root.
* ``apo_zero``: ``G_y = W⁺_y + (W⁻_y − W⁺_y) σ(τ s)``. Net losers (and, if some action wins
  on balance, the balanced and never-compared actions) get probability 0 in the limit; the
  net winners maximise ``Σ |d_y| σ(τ s_y)``, concave in ``π`` for τ ≤ 1 (the same root
  structure, exact); for τ > 1 the caller computes a stationary point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import lambertw

from .. import _base
from ..losses import PairwiseLoss

#: Losses handled here, and those whose ``G_y`` is convex in ``s`` (under ``reverse_kl``).
SEPARABLE = ("nca_pair", "bco_pair", "sppo_hard", "apo_zero")
CONVEX_IN_S = ("nca_pair", "bco_pair", "sppo_hard")
#: Largest number of actions for which the mass-increase case is enumerated (its cost grows as
#: n² per problem); beyond it the caller computes a stationary point.
MAX_ENUMERATED = 32
#: Points of the sign scan of each branch pattern's mass equation in ``log κ``.
SCAN = 48
#: ``s`` at or below this is reported as probability 0 (``e^{−700} ≈ 1e-304``; the derivatives
#: of the losses stay representable there).
S_LOW = -700.0


@dataclass(frozen=True)
class SeparableFit:
    """Per problem (rows): ``log_ratio`` ``s`` (``−∞`` where π = 0), ``exact`` (solved
    exactly; else the caller computes a stationary point), ``limit`` (π vanishes on a live
    action: no finite minimiser), ``groups`` (free-group label per action, ``−1`` none)."""

    log_ratio: np.ndarray
    exact: np.ndarray
    limit: np.ndarray
    groups: np.ndarray


def fit_separable(loss: PairwiseLoss, params: dict, wins, losses, pi_ref, tau) -> SeparableFit:
    """Solve every problem (rows of ``wins``, ``losses``, ``pi_ref``; ``tau`` shape (P, 1))."""
    prm = loss.parameters(**params)
    live = pi_ref > 0
    with np.errstate(divide="ignore"):
        s_hi = np.where(live, -np.log(np.where(live, pi_ref, 1.0)), 0.0)  # π(y) = 1
    compared = (wins + losses) > 0

    g12 = _Derivatives(loss, prm, wins, losses, tau)

    closed = _sppo_root(wins, losses, pi_ref, tau) if loss.name == "sppo_hard" else None
    if loss.name == "apo_zero":
        return _apo_zero(g12, wins, losses, pi_ref, live, s_hi, tau)
    s_star = _unconstrained(g12, s_hi, live & compared)
    limit_action = live & compared & np.isneginf(s_star)
    mass = np.sum(np.where(live & compared, pi_ref * np.exp(np.minimum(s_star, s_hi)), 0.0), -1)
    absorber = live & ~compared
    active = mass >= 1.0 - 1e-12  # mass 1 up to rounding: μ = 0, s = s*
    top = np.minimum(s_star, s_hi)
    s = _active_solution(g12, pi_ref, live & compared & ~limit_action, top, closed)
    # Inactive with absorbers: s = s*, the never-compared actions share the rest ∝ πref.
    rest = np.clip(1.0 - mass, 0.0, 1.0)
    share = np.where(absorber, pi_ref, 0.0)
    total_share = share.sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        absorbed = np.where(absorber, np.log(rest[:, None] * share / np.where(
            total_share > 0, total_share, 1.0)) - np.log(np.where(live, pi_ref, 1.0)), -np.inf)
    inactive_s = np.where(absorber, absorbed, np.where(live & compared, s_star, -np.inf))
    s = np.where(active[:, None], s, inactive_s)
    exact = active | absorber.any(-1)
    increase = ~exact & (loss.name in CONVEX_IN_S) & (s.shape[-1] <= MAX_ENUMERATED)
    if increase.any():  # mass must increase: enumerate the branch patterns
        rows = np.flatnonzero(increase)
        s[rows] = _mass_increase(g12.rows(rows), pi_ref[rows], live[rows] & compared[rows],
                                 s_star[rows], s_hi[rows])
        exact = exact | increase
    zero = live & (np.isneginf(s) | (s <= S_LOW))
    # Free groups: the compared actions (masses determined) and, when two or more
    # never-compared actions share a positive rest, each of those on its own.
    n = s.shape[-1]
    sharing = absorber & ~active[:, None] & (rest[:, None] > 0)
    several = sharing.sum(-1, keepdims=True) > 1
    groups = np.where(live & ~zero, n, -1)
    groups = np.where(sharing & several, np.arange(n), groups)
    return SeparableFit(np.where(zero, -np.inf, s), exact, zero.any(-1), groups)


def _unconstrained(g12, s_hi, mask) -> np.ndarray:
    """Per action ``s*`` with ``G′(s*) = 0`` (``G′`` increasing): ``+∞`` beyond ``s_hi``
    (mass ≥ 1 alone), ``−∞`` below ``S_LOW``."""
    lo = np.full(s_hi.shape, S_LOW)
    at_lo, at_hi = g12(lo)[0], g12(s_hi)[0]
    root = _base.newton_root(g12, lo, s_hi)
    return np.where(~mask, -np.inf, np.where(at_hi <= 0, np.inf,
                                             np.where(at_lo >= 0, -np.inf, root)))


def _roots(g12, pi_ref, log_mu, top, closed=None):
    """``s(μ)``: the root of ``G′(s) + μ πref e^s = 0`` on ``[S_LOW, top]``, and ``ds/dlog μ``.

    Below ``top`` (≤ s*) ``G′ < 0``, so the equation is ``ψ(s) = s + log μ + log πref −
    log(−G′(s)) = 0`` with ``ψ′ = 1 + G″/(−G′) > 0``: nearly linear, solved by safeguarded
    Newton (``closed(log μ)`` gives the root directly when available); ``ds/dlog μ = −1/ψ′``
    (0 where the root is clipped to an end).
    """
    with np.errstate(divide="ignore"):
        offset = log_mu + np.log(pi_ref)

    def psi(s):
        g1, g2 = g12(s)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            neg = np.where(g1 < 0, -g1, 0.0)
            value = s + offset - np.log(neg)
            slope = 1.0 + g2 / neg
        return np.where(g1 < 0, value, np.inf), np.where(g1 < 0, slope, 1.0)

    if closed is None:
        s = _base.newton_root(psi, np.full(top.shape, S_LOW), top)
    else:
        s = np.clip(closed(log_mu), S_LOW, top)
    _, slope = psi(s)
    interior = (s > S_LOW) & (s < top)
    with np.errstate(divide="ignore", invalid="ignore"):
        ds = np.where(interior, -1.0 / slope, 0.0)
    return s, np.where(np.isfinite(ds), ds, 0.0)


def _active_solution(g12, pi_ref, mask, top, closed=None) -> np.ndarray:
    """``s(μ)`` at the μ with ``Σ πref e^{s(μ)} = 1`` (mass decreasing in μ; safeguarded
    Newton in ``log μ``); ``−∞`` off ``mask``."""
    top = np.where(mask, top, S_LOW)

    def excess(log_mu):
        s, ds = _roots(g12, pi_ref, log_mu[:, None], top, closed)
        weight = np.where(mask, pi_ref * np.exp(s), 0.0)
        return 1.0 - weight.sum(-1), -np.sum(weight * ds, -1)

    rows = pi_ref.shape[0]
    log_mu = _base.newton_root(excess, np.full(rows, -745.0), np.full(rows, 709.0))
    s, _ = _roots(g12, pi_ref, log_mu[:, None], top, closed)
    return np.where(mask, s, -np.inf)


def _sppo_root(wins, losses, pi_ref, tau):
    """``s(μ)`` for ``sppo_hard`` in closed form: ``G = n (s − m)² + const`` with
    ``n = W⁺ + W⁻``, ``m = (W⁺ − W⁻)/(2τ n)``, so ``2n(s − m) = −μ πref e^s`` gives
    ``s = m − W₀(e^x)``, ``x = a + m``, ``a = log(μ πref/(2n))`` (principal branch of the
    Lambert W function), evaluated as ``log W₀(e^x) − a`` (``W + log W = x``): no
    cancellation for large ``m``, and ``m`` beyond the doubles (τ n tiny) enters only
    through ``log W₀(e^x) = log m`` to double precision."""
    n = wins + losses
    safe_n = np.where(n > 0, n, 1.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = np.where(n > 0, (wins - losses) / (2 * tau * safe_n), 0.0)
        log_m = _base.log(wins - losses) - np.log(2 * tau) - np.log(safe_n)  # where m = +∞
    log_c = np.log(np.where(pi_ref > 0, pi_ref, 1.0)) - np.log(2 * safe_n)

    def root(log_mu):
        a = log_mu + log_c
        with np.errstate(over="ignore"):
            x = a + m
        return np.where(np.isposinf(x), log_m, _log_lambertw_exp(x)) - a

    return root


def _log_lambertw_exp(x: np.ndarray) -> np.ndarray:
    """``log W₀(e^x)`` for finite or ``−∞`` ``x`` without overflow: ``x − W`` (exact for
    small W) up to ``x = 1``, ``log W`` above, with ``W = lambertw(e^x)`` below ``x = 500``
    and Newton on ``w + log w = x`` above (``+∞`` is returned as ``+∞``)."""
    finite = np.where(np.isfinite(x), x, 0.0)
    small = finite < 500
    with np.errstate(over="ignore"):
        w = np.where(small, lambertw(np.exp(np.where(small, finite, 0.0))).real, 0.0)
    big = np.where(small, 500.0, finite)
    w_big = big - np.log(big)
    for _ in range(6):
        w_big = w_big - (w_big + np.log(w_big) - big) / (1 + 1 / w_big)
    w = np.where(small, w, w_big)
    out = np.where(finite <= 1.0, finite - w, np.log(np.where(finite <= 1.0, 1.0, w)))
    return np.where(np.isfinite(x), out, x)


def _apo_zero(g12, wins, losses, pi_ref, live, s_hi, tau) -> SeparableFit:
    """``apo_zero`` (module docstring): exact for τ ≤ 1."""
    winner = live & (losses < wins)
    any_winner = winner.any(-1)
    s = _active_solution(g12, pi_ref, winner, s_hi)
    s = np.where(any_winner[:, None], s, np.where(live, 0.0, -np.inf))  # all balanced: πref
    exact = (tau[:, 0] <= 1.0) | ~any_winner
    zero = live & (np.isneginf(s) | (s <= S_LOW))
    n = s.shape[-1]
    groups = np.where(any_winner[:, None], np.where(live & ~zero, n, -1),
                      np.where(live, np.arange(n), -1))
    return SeparableFit(np.where(zero, -np.inf, s), exact, zero.any(-1), groups)


class _Derivatives:
    """``G′_y(s)``, ``G″_y(s)`` and ``G_y(s)`` (up to a constant per problem) of every action,
    from the registry's per-datum loss (separable: ``∂ℓ/∂s_w`` is the winner part's
    derivative, ``∂ℓ/∂s_l`` the loser part's). ``s`` has shape (P, ..., n)."""

    def __init__(self, loss, prm, wins, losses, tau):
        self.loss, self.prm, self.wins, self.losses, self.tau = loss, prm, wins, losses, tau

    def rows(self, index) -> _Derivatives:
        return _Derivatives(self.loss, self.prm, self.wins[index], self.losses[index],
                            self.tau[index])

    def _fit(self, s):
        middle = (1,) * (s.ndim - 2)
        p, n = self.wins.shape
        return (self.wins.reshape((p,) + middle + (n,)), self.losses.reshape((p,) + middle + (n,)),
                self.tau.reshape((p,) + middle + (1,)))

    def __call__(self, s):
        wins, losses, tau = self._fit(s)
        d = self.loss.evaluate(s, s, tau, self.prm, 1)
        h = self.loss.evaluate(s, s, tau, self.prm, 2)
        return (_weighted(wins, d[0]) + _weighted(losses, d[1]),
                _weighted(wins, h[0]) + _weighted(losses, h[2]))

    def value(self, s):
        """``W⁺ ℓ(s, 0) + W⁻ ℓ(0, s)`` = ``G(s)`` + a constant per problem."""
        wins, losses, tau = self._fit(s)
        zero = np.zeros_like(s)
        return (_weighted(wins, self.loss.evaluate(s, zero, tau, self.prm, 0)[0])
                + _weighted(losses, self.loss.evaluate(zero, s, tau, self.prm, 0)[0]))


def _weighted(weight, term):
    """``weight · term`` with a zero weight contributing 0 even where ``term`` is infinite (a
    term of no comparison: at τ ~ 1e308 the derivatives overflow where nothing is compared)."""
    return weight * np.where(weight > 0, term, 0.0)


def _mass_increase(der: _Derivatives, pi_ref, mask, s_star, s_hi) -> np.ndarray:
    """The mass-increase case (module docstring): best of the n + 1 branch patterns."""
    p, n = pi_ref.shape
    lo = np.where(mask, np.maximum(s_star, S_LOW), S_LOW)
    hi = np.where(mask, s_hi, S_LOW)
    with np.errstate(divide="ignore"):
        log_ref = np.log(np.where(mask, pi_ref, 1.0))

    def level(s, ref=log_ref):  # L(s) = log G′ − s − log πref and L′ = G″/G′ − 1
        g1, g2 = der(s)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # L′ = ±∞: fine
            return np.log(np.maximum(g1, 0.0)) - s - ref, g2 / g1 - 1.0

    inflection = _base.bisect(lambda s: der(s)[0] - der(s)[1], lo, hi)
    has_inner = mask & (inflection > lo)
    has_outer = mask & (inflection < hi)
    top_inner = np.where(has_inner, level(inflection)[0], np.inf)
    # Candidate axis c = 0 (all convex) or 1 + k (action k concave); ℓ = log κ per candidate.
    concave = np.eye(n, dtype=bool)[None, :, :] & has_outer[:, None, :]
    concave = np.concatenate([np.zeros((p, 1, n), bool), concave], axis=1)
    inner = has_inner[:, None, :] & ~concave
    cap = np.min(np.where(inner, top_inner[:, None, :], np.inf), axis=-1)
    outer_top = np.where(concave, level(np.broadcast_to(inflection[:, None, :], concave.shape),
                                        log_ref[:, None, :])[0], np.inf).min(-1)
    outer_low = np.where(concave, level(np.broadcast_to(hi[:, None, :], concave.shape),
                                        log_ref[:, None, :])[0], -np.inf).max(-1)
    upper = np.minimum(cap, outer_top)
    lower = np.where(np.arange(n + 1) == 0, upper - 1500.0, outer_low)
    valid = np.isfinite(upper) & np.isfinite(lower) & (upper > lower)
    upper, lower = np.where(valid, upper, 0.0), np.where(valid, lower, 0.0)
    grid = lower[..., None] + (upper - lower)[..., None] * np.linspace(0.0, 1.0, SCAN)

    def branch_s(ell):
        """``s`` of every action at ``ℓ`` (shape (p, C, G)) under each pattern, and ``ds/dℓ``
        (``1/L′(s)`` on either branch, from ``L(s) = ℓ``)."""
        e = ell[..., None]
        shape = e.shape[:-1] + (n,)
        b = lambda a: np.broadcast_to(a[:, None, None, :], shape)  # noqa: E731
        ref = b(log_ref)

        def rising(s):  # L(s) − ℓ on the convex branch (increasing)
            value, slope = level(s, ref)
            return value - e, slope

        def falling(s):  # ℓ − L(s) on the concave branch (increasing)
            value, slope = level(s, ref)
            return e - value, -slope

        s_in = _base.newton_root(rising, b(lo), b(inflection))
        s_out = _base.newton_root(falling, b(inflection), b(hi))
        pattern_concave = np.broadcast_to(concave[:, :, None, :], shape)
        pattern_inner = np.broadcast_to(inner[:, :, None, :], shape)
        s = np.where(pattern_concave, s_out, np.where(pattern_inner, s_in, -np.inf))
        with np.errstate(divide="ignore", invalid="ignore"):
            ds = np.where(np.isfinite(s), 1.0 / level(np.where(np.isfinite(s), s, 0.0), ref)[1],
                          0.0)
        return s, np.where(np.isfinite(ds), ds, 0.0)

    def excess(ell):
        s, ds = branch_s(ell)
        mass = np.where(np.isfinite(s), np.exp(s + log_ref[:, None, None, :]), 0.0)
        return mass.sum(-1) - 1.0, np.sum(mass * ds, -1)

    values = excess(grid)[0]
    change = (np.sign(values[..., :-1]) != np.sign(values[..., 1:])) & np.isfinite(
        values[..., :-1]) & np.isfinite(values[..., 1:]) & valid[..., None]
    left, right = grid[..., :-1], grid[..., 1:]
    sign = np.where(values[..., 1:] > values[..., :-1], 1.0, -1.0)

    def oriented(ell):
        value, slope = excess(ell)
        return sign * value, sign * slope

    roots = _base.newton_root(oriented, np.where(change, left, 0.0),
                              np.where(change, right, 0.0))
    s = branch_s(roots)[0]  # (p, C, G − 1, n): a candidate per sign change
    objective = np.sum(np.where(mask[:, None, None, :],
                                der.value(np.where(np.isfinite(s), s, S_LOW)), 0.0), -1)
    objective = np.where(change, objective, np.inf).reshape(p, -1)
    best = np.argmin(objective, axis=-1)
    return s.reshape(p, -1, n)[np.arange(p), best]
