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
  the problem is not convex: a stationary point is computed by the caller.
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

    def g12(s):
        """``(G′(s), G″(s))`` per action from the registry's derivatives (separable loss:
        ``∂ℓ/∂s_w`` is the winner part's derivative, ``∂ℓ/∂s_l`` the loser part's)."""
        d = loss.evaluate(s, s, tau, prm, 1)
        h = loss.evaluate(s, s, tau, prm, 2)
        return wins * d[0] + losses * d[1], wins * h[0] + losses * h[2]

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
        with np.errstate(divide="ignore", invalid="ignore"):
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
    ``s = m − W₀(μ πref e^m / (2n))`` (principal branch of the Lambert W function)."""
    n = wins + losses
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(n > 0, (wins - losses) / (2 * tau * np.where(n > 0, n, 1.0)), 0.0)
        log_arg = np.log(np.where(pi_ref > 0, pi_ref, 1.0)) + m - np.log(2 * np.where(
            n > 0, n, 1.0))

    def root(log_mu):
        return m - _lambertw_exp(log_mu + log_arg)

    return root


def _lambertw_exp(x: np.ndarray) -> np.ndarray:
    """``W₀(e^x)`` without overflow: ``lambertw`` below ``x = 500``, Newton on
    ``w + log w = x`` above."""
    small = x < 500
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.where(small, lambertw(np.exp(np.where(small, x, 0.0))).real, 0.0)
    big = np.where(small, 500.0, x)
    w = big - np.log(big)
    for _ in range(6):
        w = w - (w + np.log(w) - big) / (1 + 1 / w)
    return np.where(small, out, w)


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
