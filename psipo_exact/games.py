"""Preference games and their exact dynamics: Nash-MD, online IPO, self-play, extragradient.

The preference game of Munos et al., "Nash Learning from Human Feedback" (arXiv:2312.00886):
a policy π plays π′ and wins with probability ``P(π ≻ π′) = πᵀ·prefs·π′``, a symmetric
constant-sum game (``P(π≻π′) + P(π′≻π) = 1``, so ``P(π≻π) = ½``). Its
KL-regularised version

    P_τ(π ≻ π′) = P(π ≻ π′) − τ KL(π‖πref) + τ KL(π′‖πref)

has, for τ > 0, a unique Nash equilibrium π*_τ: the fixed point of Eq. 7 of Azar et al.
(arXiv:2310.12036) with µ = π*, ``π*(y) ∝ πref(y) exp(p(y≻π*)/τ)``, which is also the fixed
point of online IPO (Calandriello et al., arXiv:2403.08635).
:func:`psipo_exact.solve_nash` computes it; this module holds the game, its certificate and
the iterative schemes people run on it, exactly (population form, no sampling) and, for
online IPO, also with sampled pairs and Adam.

Exploitability (duality gap)
----------------------------
``gap(π) = max_π′ P_τ(π′≻π) − min_π′ P_τ(π≻π′) = 2 max_π′ P_τ(π′≻π) − 1``. The best response
to π is the Gibbs policy ``BR(π) = πref·exp(p(·≻π)/τ)/Z`` (Eq. 7 with µ = π), and with
``πᵀ prefs π = ½`` the gap is exactly ``2τ KL(π ‖ BR(π))``: non-negative, zero only at π*_τ,
and computed here from log-policies without cancellation. At τ = 0 it is
``2 max_y p(y≻π) − 1`` over the actions of Supp(πref) (all actions without πref).

Dynamics
--------
Each scheme returns a :class:`GameTrajectory` (policies and exploitability per recorded
step), runs in log space (τ from 1e-6 to 1e6 neither overflows nor underflows to NaN) and
is vectorised: ``tau``, ``eta`` and the leading axes of ``prefs``/``pi_ref``/``init``
broadcast together (``tau[:, None]``, ``eta[None, :]`` gives a τ × η grid).

* :func:`nash_md` — Munos et al.'s Nash-MD: ``π_{t+1} ∝ π^µ_t exp(η p(y≻π^µ_t))``
  with the geometric mixture ``π^µ_t ∝ π_t^{1−β} πref^β``, β = ητ.
* :func:`online_ipo` — gradient descent on the population IPO loss (Azar et al. Eq. 13)
  with µ = the current policy (held fixed inside the gradient); IPO-MD (Calandriello et
  al.) with µ = the geometric mixture.
* :func:`self_play` — multiplicative weights on the unregularised game (SPPO-style,
  Wu et al. arXiv:2405.00675): ``π_{t+1} ∝ π_t exp(η p(y≻π_t))``, with its average iterate.
* :func:`extragradient` — the predictive update of Cen et al. (arXiv:2105.15186,
  Algorithm 1) for the regularised game: linear convergence to π*_τ.
* :func:`online_ipo_adam` — online IPO with pairs drawn from the current policy, labels from
  ``prefs`` and optax's Adam (:class:`psipo_exact.simulate.adam.Adam`), over τ × seeds.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from . import _base, _checks
from .closed_form import gibbs_log_policy, kl_divergence
from .simulate.adam import Adam

#: Steps of random numbers drawn at once per seed by :func:`online_ipo_adam`.
CHUNK_STEPS = 256
#: Largest gradient whose square is finite in float64 (Adam's second moment).
_SQRT_MAX = float(np.sqrt(np.finfo(float).max))


# ----------------------------------------------------------------------------- helpers


def _against(A: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """``A @ π`` on the last axis, broadcast over leading axes (one GEMM for a single A)."""
    if A.ndim == 2:
        return pi @ A.T
    return np.matmul(A, pi[..., None])[..., 0]


def _log_normalise(x: np.ndarray) -> np.ndarray:
    """``x − log Σ exp(x)`` on the last axis; ``−∞`` entries stay ``−∞``."""
    top = np.max(x, axis=-1, keepdims=True)
    with np.errstate(over="ignore"):  # x − top below −1.8e308: −∞, mass exactly 0
        shifted = x - top
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _geometric_mixture(log_p: np.ndarray, log_q: np.ndarray, beta) -> np.ndarray:
    """``log`` of ``p^{1−β} q^β`` normalised (Nash-MD's π^µ_t); β ∈ [0, 1] broadcasts."""
    beta = np.asarray(beta)[..., None]
    with np.errstate(invalid="ignore"):
        mixed = (1.0 - beta) * log_p + beta * log_q
    mixed = np.where(beta == 0, log_p, np.where(beta == 1, log_q, mixed))
    return _log_normalise(mixed)


def _phi_series(t: np.ndarray) -> np.ndarray:
    """``e^t − 1 − t = Σ_{k≥2} t^k/k!`` for |t| < ½ (Horner, full relative accuracy)."""
    series = np.zeros_like(t)
    for k in range(18, 1, -1):
        series = t * (series + 1.0 / _FACTORIALS[k])
    return t * series


_FACTORIALS = [float(np.prod(np.arange(1, k + 1))) for k in range(20)]


def kl_from_logs(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """``KL(p‖q)`` on the last axis from log-probabilities, without cancellation.

    ``Σ p φ(log q − log p)`` with ``φ(t) = e^t − 1 − t ≥ 0`` (equal to the KL for normalised
    p, q); entries ``p = 0`` give ``q``, entries ``q = 0 < p`` give ``+∞``. Accurate where
    p ≈ q (the certificate of an equilibrium) and where ``q`` underflows but ``log q`` does
    not (small τ).

    Parameters
    ----------
    log_p, log_q : ndarray, shape (..., n)
        Log-probabilities (``−∞`` for zero mass).

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact.games import kl_from_logs
    >>> float(kl_from_logs(np.log([0.5, 0.5]), np.log([0.25, 0.75])))  # doctest: +ELLIPSIS
    0.1438410362258...

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 3.1.2 (the KL of the ΨPO objective).
    """
    log_p, log_q = _checks.log_probabilities(log_p, "log_p"), _checks.log_probabilities(
        log_q, "log_q")
    _checks.n_actions_match(log_p.shape[-1], "log_p", log_q=log_q)
    p_zero, q_zero = np.isneginf(log_p), np.isneginf(log_q)
    finite = ~(p_zero | q_zero)
    with np.errstate(invalid="ignore"):
        t = np.where(finite, log_q - log_p, 0.0)
    p = np.exp(np.where(p_zero, -np.inf, log_p))
    q = np.exp(np.where(q_zero, -np.inf, log_q))
    small = np.abs(t) < 0.5
    # |t| ≥ ½: p(e^t − 1 − t) = q − p − p t (e^t would overflow where p underflows)
    terms = np.where(small, p * _phi_series(np.where(small, t, 0.0)), q - p - p * t)
    terms = np.where(p_zero, q, np.where(q_zero, np.inf, terms))
    return np.sum(terms, axis=-1)


def _skew(prefs: np.ndarray) -> np.ndarray:
    """``A = prefs − ½``: skew-symmetric, and ``A π = p(·≻π) − ½`` for normalised π."""
    return prefs - 0.5


def _validated_game(prefs, pi_ref, *others: tuple[str, object], ref_optional: bool = False):
    """Validate ``prefs``, ``pi_ref`` (None only if ``ref_optional``) and named probability
    vectors; leading shape."""
    prefs = _checks.preference_matrix(prefs)
    if pi_ref is None and not ref_optional:
        _checks.probability_vector(pi_ref, "pi_ref")  # the regularised game needs πref
    n = prefs.shape[-1]
    shapes = [("prefs", prefs.shape[:-2])]
    if pi_ref is not None:
        pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
        _checks.n_actions_match(n, pi_ref=pi_ref)
        shapes.append(("pi_ref", pi_ref.shape[:-1]))
    arrays = []
    for name, value in others:
        arr = _checks.probability_vector(value, name)
        _checks.n_actions_match(n, **{name: arr})
        shapes.append((name, arr.shape[:-1]))
        arrays.append(arr / arr.sum(-1, keepdims=True))
    return prefs, pi_ref, arrays, _checks.broadcastable(*shapes)


def _gap_from_logs(log_pi: np.ndarray, A: np.ndarray, pi_ref, t: np.ndarray) -> np.ndarray:
    """Exploitability ``2τ KL(π‖BR(π))`` (``2 max_y (Aπ)_y`` where τ = 0), shape ``t.shape``.

    ``pi_ref`` None means the whole game (τ = 0 only); mass off Supp(πref) gives ``+∞``.
    """
    pi = np.exp(log_pi)
    score = _against(A, pi)  # p(·≻π) − ½
    ref_lead = () if pi_ref is None else np.shape(pi_ref)[:-1]
    shape = np.broadcast_shapes(t.shape, score.shape[:-1], ref_lead)
    regular = t > 0
    gap = np.zeros(shape)
    if regular.any():
        safe = np.where(regular, t, 1.0)
        log_br = gibbs_log_policy(pi_ref, score, safe)
        with np.errstate(over="ignore"):  # 2τ·KL above the float maximum: +∞
            gap = np.where(regular, 2.0 * (safe * kl_from_logs(log_pi, log_br)), gap)
    if not regular.all():
        if pi_ref is None:
            best = np.max(score, axis=-1)
            outside = np.zeros(score.shape[:-1], dtype=bool)
        else:
            support = pi_ref > 0
            best = np.max(np.where(support, score, -np.inf), axis=-1)
            outside = ((pi > 0) & ~support).any(-1)
        unregular = np.where(outside, np.inf, np.maximum(2.0 * best, 0.0))
        gap = np.where(regular, gap, unregular)
    return np.broadcast_to(gap, shape)


# ----------------------------------------------------------------------------- the game


def preference_game(pi, pi2, prefs) -> np.ndarray:
    """The preference game ``P(π ≻ π′) = Σ_{y,y′} π(y) p(y≻y′) π′(y′) = πᵀ·prefs·π′``.

    Parameters
    ----------
    pi, pi2 : array_like, shape (..., n)
        The two policies π and π′.
    prefs : array_like, shape (..., n, n)
        ``prefs[..., i, j] = p(y_i ≻ y_j)``.

    Returns
    -------
    ndarray, shape (...)
        In [0, 1]; ``P(π≻π′) + P(π′≻π) = 1`` and ``P(π≻π) = ½``.

    Raises
    ------
    ValueError
        On invalid probabilities or preferences, or shapes that do not fit.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> rps = np.array([[0.5, 1, 0], [0, 0.5, 1], [1, 0, 0.5]])  # rock beats scissors...
    >>> float(px.preference_game([1, 0, 0], [0, 1, 0], rps))
    1.0
    >>> float(px.preference_game(np.ones(3) / 3, [0, 0, 1], rps))
    0.5

    References
    ----------
    Munos et al., arXiv:2312.00886 (the preference model); Azar et al., arXiv:2310.12036,
    Sec. 2 (Eq. 8).
    """
    prefs, _, (pi, pi2), _ = _validated_game(prefs, None, ("pi", pi), ("pi2", pi2),
                                         ref_optional=True)
    return np.einsum("...i,...ij,...j->...", pi, prefs, pi2)


def regularised_game(pi, pi2, prefs, pi_ref, tau) -> np.ndarray:
    """The KL-regularised game ``P_τ(π≻π′) = P(π≻π′) − τ KL(π‖πref) + τ KL(π′‖πref)``.

    Parameters
    ----------
    pi, pi2 : array_like, shape (..., n)
    prefs : array_like, shape (..., n, n)
    pi_ref : array_like, shape (..., n)
    tau : float or array_like
        τ > 0, broadcast against the leading axes (the package's τ rule).

    Returns
    -------
    ndarray
        ``−∞`` (``+∞``) when only π (only π′) puts mass outside Supp(πref).

    Raises
    ------
    ValueError
        If both π and π′ put mass outside Supp(πref) (∞ − ∞), or on invalid input.

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact import games
    >>> p = np.array([[0.5, 0.7], [0.3, 0.5]])
    >>> float(games.regularised_game([1, 0], [0.5, 0.5], p, [0.5, 0.5], 0.1))  # doctest: +ELLIPSIS
    0.5306852...

    References
    ----------
    Munos et al., arXiv:2312.00886 (the regularised preference model).
    """
    prefs, pi_ref, (pi, pi2), lead = _validated_game(prefs, pi_ref, ("pi", pi), ("pi2", pi2))
    t, lead = _base.tau_for(tau, lead)
    kl1, kl2 = kl_divergence(pi, pi_ref), kl_divergence(pi2, pi_ref)
    clash = np.isinf(kl1) & np.isinf(kl2)
    if clash.any():
        raise ValueError("the regularised game is undefined (inf - inf): pi and pi2 both put "
                         "mass outside Supp(pi_ref)")
    value = np.einsum("...i,...ij,...j->...", pi, prefs, pi2)
    with np.errstate(invalid="ignore", over="ignore"):
        out = value - t * kl1 + t * kl2
        # τ·KL overflowing on both sides (∞ − ∞), or 0·∞ at τ = 0: the same value as
        # value + τ (KL₂ − KL₁), its exact ±∞ limit, with τ·KL = 0 at τ = 0
        limit = value + np.where(t == 0, 0.0, t * (kl2 - kl1))
    return np.broadcast_to(np.where(np.isnan(out), limit, out), lead)


def best_response(pi, prefs, pi_ref, tau) -> np.ndarray:
    """The best response to π in the regularised game: ``πref exp(p(·≻π)/τ) / Z`` (Eq. 7).

    ``argmax_π′ P_τ(π′ ≻ π)`` is Eq. 7 of Azar et al. with µ = π (App. A.1); the regularised
    Nash equilibrium is its fixed point.

    Parameters
    ----------
    pi : array_like, shape (..., n)
    prefs : array_like, shape (..., n, n)
    pi_ref : array_like, shape (..., n)
    tau : float or array_like
        τ > 0.

    Returns
    -------
    ndarray, shape (..., n)

    Raises
    ------
    ValueError
        On invalid input.

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact import games
    >>> rps = np.array([[0.5, 1, 0], [0, 0.5, 1], [1, 0, 0.5]])
    >>> games.best_response([1, 0, 0], rps, np.ones(3) / 3, 1e-3).round(6)  # paper covers rock
    array([0., 0., 1.])

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 7 and App. A.1; Munos et al., arXiv:2312.00886.
    """
    prefs, pi_ref, (pi,), lead = _validated_game(prefs, pi_ref, ("pi", pi))
    _base.tau_for(tau, lead)
    return np.exp(gibbs_log_policy(pi_ref, _against(_skew(prefs), pi), tau))


def exploitability(pi, prefs, pi_ref, tau) -> np.ndarray:
    """Duality gap of π in the (regularised) preference game: 0 exactly at the equilibrium.

    ``gap(π) = max_π′ P_τ(π′≻π) − min_π′ P_τ(π≻π′) = 2 max_π′ P_τ(π′≻π) − 1``, computed as
    ``2τ KL(π ‖ BR(π))`` with ``BR(π) = gibbs_log_policy(πref, p(·≻π), τ)`` (module
    docstring): no cancellation, the error is that of the log-ratios ``log π − log BR(π)``
    (about ε·|log π|), so a gap of 1e-20 at distance 1e-10 from the equilibrium keeps about
    six digits where ``2 max P_τ − 1`` would return rounding noise. At τ = 0 it is
    ``2 max_{y ∈ Supp(πref)} p(y≻π) − 1`` (the game restricted to Supp(πref), the τ → 0
    limit of the regularised games); pass ``pi_ref=None`` for the whole game. No unilateral
    deviation π′ gains more than half the gap: ``P_τ(π′≻π) − ½ ≤ gap/2``.

    Parameters
    ----------
    pi : array_like, shape (..., n)
    prefs : array_like, shape (..., n, n)
    pi_ref : array_like, shape (..., n), or None
        None only when every τ is 0.
    tau : float or array_like
        τ ≥ 0, broadcast against the leading axes.

    Returns
    -------
    ndarray
        ``≥ 0``; ``+∞`` where π puts mass outside Supp(πref), or where the gap exceeds the
        largest float (τ near the float maximum).

    Raises
    ------
    ValueError
        On invalid input, a negative τ, or ``pi_ref=None`` with τ > 0.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> rps = np.array([[0.5, 1, 0], [0, 0.5, 1], [1, 0, 0.5]])
    >>> float(px.exploitability([1, 0, 0], rps, None, 0.0))  # paper beats rock for sure
    1.0
    >>> float(px.exploitability(np.ones(3) / 3, rps, np.ones(3) / 3, 0.1))
    0.0

    References
    ----------
    Munos et al., arXiv:2312.00886 (regularised game); Azar et al., arXiv:2310.12036, Eq. 7,
    App. A.1.
    """
    prefs, pi_ref, (pi,), lead = _validated_game(prefs, pi_ref, ("pi", pi), ref_optional=True)
    t, lead = _base.tau_for(tau, lead, allow_zero=True)
    if pi_ref is None and (t > 0).any():
        raise ValueError("pi_ref is None, but tau > 0 needs pi_ref (only tau = 0 may omit it)")
    return _gap_from_logs(_base.log(pi), _skew(prefs), pi_ref, t).copy()


# ----------------------------------------------------------------------------- dynamics


@dataclass(frozen=True, eq=False)
class GameTrajectory:
    """The exact (or sampled) trajectory of a learning scheme in a preference game.

    Attributes
    ----------
    policies : ndarray, shape (..., len(steps), n)
        The policy after each recorded step (step 0 is ``init``). Read-only.
    logits : ndarray, shape (..., len(steps), n)
        ``log policies``: finite where the policy underflows (small τ), ``−∞`` only where
        the mass is exactly 0. Read-only.
    exploitability : ndarray, shape (..., len(steps))
        :func:`exploitability` of each recorded policy (in the regularised game of its τ;
        the unregularised game for :func:`self_play`). Read-only.
    steps : ndarray, shape (len(steps),)
        The recorded step indices: 0, record_every, 2·record_every, … and the last step.
    average : ndarray or None, shape (..., len(steps), n)
        :func:`self_play` only: the average iterate ``(1/(t+1)) Σ_{k≤t} π_k``.
    average_exploitability : ndarray or None, shape (..., len(steps))
        :func:`self_play` only: its exploitability.

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact import games
    >>> rps = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]])
    >>> run = games.nash_md(rps, np.ones(3) / 3, 0.5, 0.5, 100)
    >>> run.policies.shape, run.exploitability.shape
    ((101, 3), (101,))

    References
    ----------
    Munos et al., arXiv:2312.00886 (the dynamics and the exploitability they are judged by).
    """

    policies: np.ndarray
    logits: np.ndarray
    exploitability: np.ndarray
    steps: np.ndarray
    average: np.ndarray | None = None
    average_exploitability: np.ndarray | None = None

    def __post_init__(self):
        for name in ("policies", "logits", "exploitability", "steps", "average",
                     "average_exploitability"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _base.frozen(value))


def _recorded_steps(steps: int, record_every: int) -> np.ndarray:
    return np.unique(np.append(np.arange(0, steps + 1, record_every), steps))


@dataclass
class _Setup:
    """Validated inputs of an exact dynamics: ``A``, log πref, τ, η (leading shape), log π₀."""

    A: np.ndarray
    pi_ref: np.ndarray | None
    log_ref: np.ndarray | None
    tau: np.ndarray
    eta: np.ndarray
    log_init: np.ndarray


def _setup(prefs, pi_ref, tau, eta, init, *, regularised: bool = True) -> _Setup:
    """Validate a dynamics' inputs and broadcast them to one leading shape (τ rule for both
    ``tau`` and ``eta``)."""
    others = () if init is None else (("init", init),)
    prefs, pi_ref, arrays, lead = _validated_game(prefs, pi_ref, *others,
                                                  ref_optional=not regularised)
    n = prefs.shape[-1]
    if regularised:
        t, lead = _base.tau_for(tau, lead)
    else:
        t = np.zeros(())
    e, lead = _base.tau_for(eta, lead, "eta")
    if init is None:
        start = pi_ref if pi_ref is not None else np.full(n, 1.0 / n)
    else:
        start = arrays[0]
        if pi_ref is not None:
            covered = np.sum(np.where(pi_ref > 0, start, 0.0), axis=-1)
            if (covered == 0).any():
                raise ValueError("init puts no mass on Supp(pi_ref): the dynamics would "
                                 "have no policy to play")
    log_ref = None if pi_ref is None else np.broadcast_to(_base.log(pi_ref), lead + (n,))
    log_init = np.broadcast_to(_base.log(start), lead + (n,))
    if log_ref is not None:  # the regularised game lives on Supp(πref)
        log_init = _log_normalise(np.where(np.isneginf(log_ref), -np.inf, log_init))
    return _Setup(_skew(prefs), pi_ref, log_ref, np.broadcast_to(t, lead),
                  np.broadcast_to(e, lead), log_init)


def _run(setup: _Setup, step, steps: int, record_every: int, *, average: bool = False,
         gap_tau=None) -> GameTrajectory:
    """Iterate ``log π ← step(log π)``; record policies (and the average iterate) and their
    exploitability in the game of ``gap_tau`` (default: the setup's τ)."""
    steps = _checks.positive_int(steps, "steps")
    record_every = _checks.positive_int(record_every, "record_every")
    recorded = _recorded_steps(steps, record_every)
    keep = set(recorded.tolist())
    log_pi = setup.log_init
    total = np.exp(log_pi)
    logs, means = [log_pi], [total]
    for t in range(1, steps + 1):
        log_pi = step(log_pi)
        if average:
            total = total + np.exp(log_pi)
        if t in keep:
            logs.append(log_pi)
            means.append(total / (t + 1))
    tau = (setup.tau if gap_tau is None else gap_tau)[..., None]
    pi_ref = None if setup.pi_ref is None else setup.pi_ref[..., None, :]
    A = setup.A[..., None, :, :]
    logits = np.stack(logs, axis=-2)
    out = dict(policies=np.exp(logits), logits=logits, steps=recorded,
               exploitability=_gap_from_logs(logits, A, pi_ref, tau))
    if average:
        mean = np.stack(means, axis=-2)
        out.update(average=mean,
                   average_exploitability=_gap_from_logs(_base.log(mean), A, pi_ref, tau))
    return GameTrajectory(**out)


def _mixture_weight(setup: _Setup, beta, *, closed_high: bool = True) -> np.ndarray:
    """Validated mixture weight β (default ``η·τ``), in [0, 1] ([0, 1) if not ``closed_high``)."""
    if beta is None:
        b = setup.eta * setup.tau
        bad = b > 1
        if bad.any():
            i = tuple(int(k) for k in np.argwhere(bad)[0]) if b.ndim else ()
            where = list(i) if i else ""
            raise ValueError(f"eta * tau = {float(b[i])} at index {where}, must be <= 1 (the "
                             "mixture weight beta = eta*tau of pi_t^(1-beta) pi_ref^beta)")
        return b
    b = _checks.as_float_array(beta, "beta")
    bad = (b < 0) | (b > 1 if closed_high else b >= 1)
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0]) if b.ndim else ()
        interval = "[0, 1]" if closed_high else "[0, 1)"
        raise ValueError(f"beta{list(i) if i else ''} = {float(b[i])}, must be in {interval}")
    try:
        return np.broadcast_to(b, np.broadcast_shapes(b.shape, setup.tau.shape))
    except ValueError:
        raise ValueError(f"beta has shape {b.shape}, which does not broadcast against the "
                         f"leading shape {setup.tau.shape}") from None


def nash_md(prefs, pi_ref, tau, eta, steps, init=None, *, beta=None,
            record_every: int = 1) -> GameTrajectory:
    """Nash-MD, exactly: ``π_{t+1} ∝ π^µ_t exp(η p(y≻π^µ_t))``, ``π^µ_t ∝ π_t^{1−β} πref^β``.

    Munos et al. (Nash-MD) define the regularised policy ``π^µ_t`` as the
    geometric mixture of π_t and µ = πref with weight β = ητ, and
    ``π_{t+1} = argmax_π [η P(π ≻ π^µ_t) − KL(π‖π^µ_t)]``, whose solution is the update
    above, i.e. ``π_{t+1} ∝ π_t^{1−ητ} πref^{ητ} exp(η p(y≻π^µ_t))``. Their Theorem 1 bounds
    ``KL(π*_τ‖π_{t+1}) ≤ (1 − ητ) KL(π*_τ‖π_t) + 2η²`` (last iterate); with a constant η the
    iterates settle at a point O(η) away from π*_τ (the fixed point uses π^µ, not π), see
    ``tests/test_games.py`` for the rates measured against this claim.

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
    pi_ref : array_like, shape (..., n)
        Reference policy µ = πref; the iterates live on its support.
    tau : float or array_like
        τ > 0, broadcast against the leading axes (τ rule).
    eta : float or array_like
        Step size η > 0 (broadcast likewise), with ``η τ <= 1`` unless ``beta`` is given.
    steps : int
        Number of updates (>= 1).
    init : array_like, shape (..., n), optional
        π₀ (default πref). Actions where π₀ = 0 keep probability 0 (multiplicative update).
    beta : float or array_like, optional
        Mixture weight in [0, 1] (default ητ, the paper's choice).
    record_every : int, default 1
        Record every this many steps (and the last).

    Returns
    -------
    GameTrajectory
        Exploitability in the regularised game of each τ.

    Raises
    ------
    ValueError
        On invalid input, ``η τ > 1``, or an ``init`` without mass on Supp(πref).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact import games
    >>> rps = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]])
    >>> ref = np.array([0.6, 0.3, 0.1])
    >>> run = games.nash_md(rps, ref, tau=0.5, eta=0.1, steps=400)
    >>> bool(run.exploitability[-1] < 1e-3 * run.exploitability[0])
    True

    References
    ----------
    Munos et al., "Nash Learning from Human Feedback", arXiv:2312.00886 (Nash-MD,
    Theorem 1).
    """
    setup = _setup(prefs, pi_ref, tau, eta, init)
    b = _mixture_weight(setup, beta)
    eta_b = setup.eta[..., None]

    def step(log_pi):
        log_mix = _geometric_mixture(log_pi, setup.log_ref, b)
        return _log_normalise(log_mix + eta_b * _against(setup.A, np.exp(log_mix)))

    return _run(setup, step, steps, record_every)


def extragradient(prefs, pi_ref, tau, eta, steps, init=None, *,
                  record_every: int = 1) -> GameTrajectory:
    """Extragradient (predictive update) for the regularised game, exactly.

    Cen et al.'s Algorithm 1 (PU) with the KL to πref in place of the entropy, for the
    symmetric game (both players share one policy):
    ``π̄_{t+1} ∝ π_t^{1−ητ} πref^{ητ} exp(η p(·≻π_t))`` and
    ``π_{t+1} ∝ π_t^{1−ητ} πref^{ητ} exp(η p(·≻π̄_{t+1}))``. Its only fixed point is π*_τ,
    reached at a linear rate (about ``1 − ητ`` per step for small enough η): the plain
    first-order alternative to :func:`psipo_exact.solve_nash`.

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
    pi_ref : array_like, shape (..., n)
    tau : float or array_like
        τ > 0 (τ rule).
    eta : float or array_like
        η > 0 with ``η τ <= 1``.
    steps : int
    init : array_like, shape (..., n), optional
        π₀ (default πref).
    record_every : int, default 1

    Returns
    -------
    GameTrajectory

    Raises
    ------
    ValueError
        On invalid input or ``η τ > 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact import games
    >>> rps = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]])
    >>> run = games.extragradient(rps, np.array([0.6, 0.3, 0.1]), 0.5, 1.0, 200)
    >>> bool(run.exploitability[-1] < 1e-25)
    True

    References
    ----------
    Cen, Wei, Chi, "Fast Policy Extragradient Methods for Competitive Games with Entropy
    Regularization", arXiv:2105.15186, Algorithm 1; Munos et al., arXiv:2312.00886.
    """
    setup = _setup(prefs, pi_ref, tau, eta, init)
    b = _mixture_weight(setup, None)
    eta_b = setup.eta[..., None]

    def step(log_pi):
        anchor = _geometric_mixture(log_pi, setup.log_ref, b)
        lead = _log_normalise(anchor + eta_b * _against(setup.A, np.exp(log_pi)))
        return _log_normalise(anchor + eta_b * _against(setup.A, np.exp(lead)))

    return _run(setup, step, steps, record_every)


def _online_ipo_gradient(log_pi, log_mu, log_ref, A, tau) -> np.ndarray:
    """``∇_s`` of Eq. 13 at µ held fixed: ``4 µ (d − E_µ d)``, ``d = s − log πref − p(·≻µ)/τ``.

    ``s`` is ``log π`` (the gradient ignores constants added to s).
    """
    mu = np.exp(log_mu)
    live = mu > 0
    with np.errstate(invalid="ignore"):
        ratio = np.where(live, log_pi - log_ref, 0.0)  # finite on Supp(µ)
    score = _against(A, mu)
    with np.errstate(over="ignore"):  # tiny τ: the centred p(·≻µ)/τ overflows to ±∞, no NaN
        centred = (ratio - np.sum(mu * ratio, axis=-1, keepdims=True)
                   - (score - np.sum(mu * score, axis=-1, keepdims=True)) / tau[..., None])
        return 4.0 * mu * np.where(live, centred, 0.0)


def online_ipo(prefs, pi_ref, tau, eta, steps, init=None, *, beta=0.0,
               record_every: int = 1) -> GameTrajectory:
    """Online IPO (and IPO-MD), exactly: gradient descent on Eq. 13 with µ = the policy.

    Each step takes the population IPO loss of Azar et al. (Eq. 13, ``2 Var_µ(d)``) with the
    pairs drawn from µ = π_t (online IPO) or from the geometric mixture
    ``µ ∝ π_t^{1−β} πref^β`` (IPO-MD, β > 0), µ held fixed inside the gradient (the samples
    are not differentiated), and moves the logits s = log π by
    ``s ← s − η · 4µ(d − E_µ d)``, ``d = s − log πref − p(·≻µ)/τ``. This is the expected
    gradient of the sampled loss ``(h_π(y_w, y_l) − 1/(2τ))²`` (Eq. 17) on pairs from µ. At
    β = 0 the fixed points are exactly the regularised Nash equilibrium (Eq. 7 with
    µ = π*); at β > 0 they are biased towards πref. Plain gradient descent on this
    non-gradient field is stable only for small η: the linearised step has eigenvalues of
    modulus ~1/τ² relative to its damping, so η must shrink like τ² (cycling or divergence
    otherwise — see ``tests/test_games.py``).

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
    pi_ref : array_like, shape (..., n)
    tau, eta : float or array_like
        τ > 0 and the learning rate η > 0, broadcast against the leading axes.
    steps : int
    init : array_like, shape (..., n), optional
        π₀ (default πref).
    beta : float or array_like, default 0.0
        IPO-MD's mixture weight in [0, 1); 0 is online IPO.
    record_every : int, default 1

    Returns
    -------
    GameTrajectory

    Raises
    ------
    ValueError
        On invalid input, or when a step ``η·∇`` overflows (η/τ near the float maximum;
        the message says "not representable").

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact import games
    >>> rps = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]])
    >>> ref = np.array([0.6, 0.3, 0.1])
    >>> run = games.online_ipo(rps, ref, tau=1.0, eta=0.2, steps=500)
    >>> nash = px.solve_nash(rps, ref, 1.0).policy
    >>> bool(np.abs(run.policies[-1] - nash).max() < 1e-8)
    True

    References
    ----------
    Calandriello et al., "Human Alignment of Large Language Models through Online Preference
    Optimisation", arXiv:2403.08635 (online IPO, IPO-MD); Azar et al., arXiv:2310.12036,
    Eq. 13, 17.
    """
    setup = _setup(prefs, pi_ref, tau, eta, init)
    b = _mixture_weight(setup, beta, closed_high=False)
    eta_b = setup.eta[..., None]

    def step(log_pi):
        log_mu = _geometric_mixture(log_pi, setup.log_ref, b)
        grad = _online_ipo_gradient(log_pi, log_mu, setup.log_ref, setup.A, setup.tau)
        with np.errstate(over="ignore"):
            moved = log_pi - eta_b * grad
        _checks.representable(moved, "the online IPO step log pi - eta * grad", "eta / tau "
                              "is too large (the step limit shrinks like tau^2)", finite=True)
        return _log_normalise(moved)

    return _run(setup, step, steps, record_every)


def online_ipo_step_limit(pi, prefs, tau) -> np.ndarray:
    """The largest learning rate at which exact online IPO is linearly stable at π.

    At a fixed point π of :func:`online_ipo` (β = 0, i.e. the regularised Nash equilibrium)
    the step ``s ← s − η·4π(d − E_π d)`` has the Jacobian ``I − η M`` with
    ``M = 4(C − C A C/τ)``, ``C = diag π − ππᵀ``, ``A = prefs − ½`` (the terms in
    ``d − E_π d = 0`` drop out). ``C`` is positive semi-definite and ``C A C`` skew, so every
    eigenvalue µ ≠ 0 of ``M`` (the zero ones belong to the constant shift of the logits and
    to actions outside Supp(π)) has ``Re µ ≥ 0``, and ``|1 − ηµ| < 1`` for all of them iff
    ``η < min 2 Re µ / |µ|²``. The imaginary parts grow like 1/τ and the real ones do not,
    so the limit shrinks like τ² as τ → 0.

    Parameters
    ----------
    pi : array_like, shape (..., n)
        The equilibrium, e.g. ``solve_nash(prefs, pi_ref, tau).policy``.
    prefs : array_like, shape (..., n, n)
    tau : float or array_like
        τ > 0 (τ rule).

    Returns
    -------
    ndarray
        The critical η (``inf`` when ``M`` has no non-zero eigenvalue, e.g. a one-point
        support).

    Raises
    ------
    ValueError
        On invalid input.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact import games
    >>> rps = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]])
    >>> ref = np.array([0.5, 0.3, 0.2])
    >>> star = px.solve_nash(rps, ref, 0.1).policy
    >>> limit = float(games.online_ipo_step_limit(star, rps, 0.1))
    >>> start = 0.99 * star + 0.01 / 3
    >>> runs = games.online_ipo(rps, ref, 0.1, [0.9 * limit, 1.1 * limit], 3000, init=start)
    >>> bool(runs.exploitability[0, -1] < 1e-20 < 1e-3 < runs.exploitability[1, -1])
    True

    References
    ----------
    Calandriello et al., arXiv:2403.08635 (online IPO); Azar et al., arXiv:2310.12036,
    Eq. 13.
    """
    prefs, _, (pi,), lead = _validated_game(prefs, None, ("pi", pi), ref_optional=True)
    t, lead = _base.tau_for(tau, lead)
    n = prefs.shape[-1]
    pi = np.broadcast_to(pi, lead + (n,))
    cov = pi[..., :, None] * np.eye(n) - pi[..., :, None] * pi[..., None, :]
    A = np.broadcast_to(_skew(prefs), lead + (n, n))
    # The eigenvalues µ_s of s·M, s = min(τ, 1) (no overflow in C A C / τ for tiny τ), and
    # the limit s · 2 cos(arg µ_s) / |µ_s| (no overflow in |µ|²; +∞ past the float maximum).
    t = np.broadcast_to(t, lead)
    s = np.minimum(t, 1.0)
    per_tau = np.where(t <= 1.0, 1.0, 1.0 / np.maximum(t, 1.0))  # s / τ
    mu = np.linalg.eigvals(4.0 * (cov * s[..., None, None]
                                  - cov @ A @ cov * per_tau[..., None, None]))
    size = np.abs(mu)
    live = size > 1e-12 * np.max(size, axis=-1, keepdims=True)
    size = np.where(live, size, 1.0)
    cos = np.maximum(mu.real, 0.0) / size
    with np.errstate(over="ignore", invalid="ignore"):  # 0·∞ only where cos = 0 (masked)
        limit = np.where(live, np.where(cos > 0, 2.0 * cos * (s[..., None] / size), 0.0),
                         np.inf)
    return np.min(limit, axis=-1)


def self_play(prefs, eta, steps, init=None, *, record_every: int = 1) -> GameTrajectory:
    """Self-play multiplicative weights on the unregularised game, with its average iterate.

    ``π_{t+1} ∝ π_t exp(η p(y≻π_t))`` (the exact population update behind SPPO) and the
    average ``π̄_t = (1/(t+1)) Σ_{k≤t} π_k``. The average's exploitability falls like
    O(log n/(ηt) + η) (the regret bound of Hedge); the last iterate does not converge in
    games with an interior equilibrium (e.g. rock–paper–scissors): ``KL(π*‖π_t)`` grows and
    the iterates cycle outwards (Bailey and Piliouras, 2018).

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
    eta : float or array_like
        η > 0, broadcast against the leading axes.
    steps : int
    init : array_like, shape (..., n), optional
        π₀ (default uniform).
    record_every : int, default 1

    Returns
    -------
    GameTrajectory
        ``exploitability`` and ``average_exploitability`` in the unregularised game (τ = 0,
        every action).

    Raises
    ------
    ValueError
        On invalid input.

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact import games
    >>> rps = np.array([[0.5, 1, 0], [0, 0.5, 1], [1, 0, 0.5]])
    >>> run = games.self_play(rps, 0.1, 2000, init=[0.5, 0.3, 0.2])
    >>> bool(run.average_exploitability[-1] < 0.05 < run.exploitability[-1])
    True

    References
    ----------
    Wu et al., "Self-Play Preference Optimization for Language Model Alignment",
    arXiv:2405.00675; Freund and Schapire (1999), "Adaptive game playing using multiplicative
    weights"; Munos et al., arXiv:2312.00886.
    """
    setup = _setup(prefs, None, None, eta, init, regularised=False)
    eta_b = setup.eta[..., None]

    def step(log_pi):
        return _log_normalise(log_pi + eta_b * _against(setup.A, np.exp(log_pi)))

    return _run(setup, step, steps, record_every, average=True,
                gap_tau=np.zeros(setup.eta.shape))


def _validated_seeds(seeds) -> list[int]:
    """Distinct non-negative integer seeds (one int allowed)."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = [seeds]
    try:
        values = [_checks.positive_int(s, f"seeds[{i}]", minimum=0) for i, s in enumerate(seeds)]
    except TypeError as exc:
        if "seeds[" in str(exc):
            raise
        raise TypeError(f"seeds must be an int or a sequence of ints, got {seeds!r}") from None
    if not values or len(set(values)) != len(values):
        raise ValueError(f"seeds = {values}, must be a non-empty list of distinct integers")
    return values


def _sampled_gradient(theta, log_ref, prefs, tau, draws, batch_size):
    """Gradient of the mean of ``(h_θ(y_w, y_l) − 1/(2τ))²`` over pairs from softmax(θ).

    ``draws[..., b, :]`` holds three uniforms per pair: both actions by inverse CDF (on
    (0, 1], so actions of mass 0 are never drawn), then the label ``I = [u < p(y≻y′)]``.
    """
    runs, n = theta.shape
    pi = np.exp(_log_normalise(theta))
    cdf = np.cumsum(pi, axis=-1)
    cdf /= cdf[:, -1:]
    u = 1.0 - draws  # (runs, batch, 3) in (0, 1]
    first = np.sum(cdf[:, None, :] < u[..., 0, None], axis=-1)
    second = np.sum(cdf[:, None, :] < u[..., 1, None], axis=-1)
    first_wins = u[..., 2] <= prefs[first, second]
    winner, loser = np.where(first_wins, first, second), np.where(first_wins, second, first)
    rows = np.arange(runs)[:, None]
    h = (theta[rows, winner] - theta[rows, loser]) - (log_ref[winner] - log_ref[loser])
    weight = 2.0 * (h - 0.5 / tau[:, None]) / batch_size
    offset = rows * n
    grad = np.bincount((offset + winner).ravel(), weight.ravel(), runs * n)
    grad -= np.bincount((offset + loser).ravel(), weight.ravel(), runs * n)
    return grad.reshape(runs, n)


def _adam_representable(grad: np.ndarray, tau_runs: np.ndarray, t: int) -> None:
    """A ValueError naming ``taus`` where Adam's second moment ``g²`` would overflow.

    The online IPO gradient scales like 1/τ; past ``√(float max)`` its square is ``∞`` and
    Adam would silently take no step where exact arithmetic takes ``≈ ±lr``.
    """
    big = np.abs(grad).max(axis=-1) > _SQRT_MAX
    if big.any():
        raise ValueError(f"taus = {float(tau_runs[big][0])!r} is too small for Adam in "
                         f"float64: the online IPO gradient (∝ 1/τ) exceeds 1.3e154 at step "
                         f"{t}: its square is not representable in Adam's second moment")


def online_ipo_adam(prefs, pi_ref, taus, seeds, *, steps: int = 2000, batch_size=16,
                    lr: float = 0.01, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                    init=None, record_every: int = 10) -> GameTrajectory:
    """Online IPO as it is trained: pairs drawn from the current policy, labels from
    ``prefs``, optax's Adam on the logits; every (τ, seed) run at once.

    Each step draws ``batch_size`` pairs ``y, y′ ∼ π_θ`` (independently, the policy held
    fixed), a label ``I ∼ Bernoulli(p(y≻y′))`` per pair, and takes one Adam step on the mean
    of ``(h_θ(y_w, y_l) − 1/(2τ))²`` (Eq. 17 with the winner first). Its expectation is the
    gradient of Eq. 13 with µ = π_θ (:func:`online_ipo`), so the runs fluctuate around the
    regularised Nash equilibrium (:func:`psipo_exact.solve_nash`), the exact answer the
    sampled runs are compared with. ``batch_size=None`` uses that expected gradient instead
    of samples: Adam on the exact online-IPO field, the deterministic reference path.

    Run ``(τ_i, s)`` draws its uniforms from ``numpy.random.default_rng(s)``, in chunks of
    shape ``(CHUNK_STEPS, len(taus), batch_size, 3)`` (so a seed's stream depends on
    ``len(taus)`` and ``batch_size``, not on the other seeds).

    Parameters
    ----------
    prefs : array_like, shape (n, n)
    pi_ref : array_like, shape (n,)
    taus : float or sequence of float
        τ > 0 of the runs (first axis of the output).
    seeds : int or sequence of int
        Distinct seeds ≥ 0 (second axis).
    steps : int, default 2000
    batch_size : int or None, default 16
    lr, b1, b2, eps : float
        optax.adam's hyper-parameters (eps_root = 0).
    init : array_like, shape (n,), optional
        π₀ (default πref); θ₀ = log π₀.
    record_every : int, default 10

    Returns
    -------
    GameTrajectory
        Leading axes (tau, seed); exploitability in the regularised game of each run's τ.

    Raises
    ------
    ValueError
        On invalid input, duplicate seeds or a preference matrix with leading axes; when a
        τ is so small that the gradient's square overflows (Adam would silently stop).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact import games
    >>> rps = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]])
    >>> ref = np.ones(3) / 3
    >>> runs = games.online_ipo_adam(rps, ref, [1.0], [0, 1], steps=3000, lr=0.02)
    >>> runs.policies.shape
    (1, 2, 301, 3)
    >>> nash = px.solve_nash(rps, ref, 1.0).policy
    >>> bool(np.abs(runs.policies[..., -1, :] - nash).max() < 0.05)
    True

    References
    ----------
    Calandriello et al., arXiv:2403.08635 (online IPO); Azar et al., arXiv:2310.12036,
    Eq. 13, 17 and Sec. 5.4 (Adam on mini-batches); Kingma and Ba, arXiv:1412.6980.
    """
    prefs, pi_ref, arrays, _ = _validated_game(
        prefs, pi_ref, *(() if init is None else (("init", init),)))
    if prefs.ndim != 2 or pi_ref.ndim != 1 or any(a.ndim != 1 for a in arrays):
        raise ValueError("online_ipo_adam takes one game: prefs of shape (n, n), pi_ref and "
                         "init of shape (n,)")
    tau = _checks.tau(np.atleast_1d(taus), "taus")
    if tau.ndim != 1:
        raise ValueError(f"taus must be a scalar or one-dimensional, got shape {tau.shape}")
    seed_list = _validated_seeds(seeds)
    steps = _checks.positive_int(steps, "steps")
    record_every = _checks.positive_int(record_every, "record_every")
    if batch_size is not None:
        batch_size = _checks.positive_int(batch_size, "batch_size")
    lr = _checks.real_in_range(lr, "lr", 0.0, np.inf, closed_low=False)
    b1 = _checks.real_in_range(b1, "b1", 0.0, 1.0)
    b2 = _checks.real_in_range(b2, "b2", 0.0, 1.0)
    eps = _checks.real_in_range(eps, "eps", 0.0, np.inf)
    n, shape = prefs.shape[-1], (tau.size, len(seed_list))
    log_ref = _base.log(pi_ref)
    start = _base.log(arrays[0] if arrays else pi_ref)
    theta = np.array(np.broadcast_to(np.where(np.isneginf(log_ref), -np.inf, start),
                                     shape + (n,))).reshape(-1, n)
    tau_runs = np.repeat(tau, len(seed_list))
    rngs = [np.random.default_rng(s) for s in seed_list]
    adam = Adam(lr, b1, b2, eps, steps)
    g2, mv, hat, den = adam.buffers(theta.shape)
    update = adam.stepper(theta, g2, mv, hat, den)
    recorded = _recorded_steps(steps, record_every)
    keep = set(recorded.tolist())
    logs = [_log_normalise(theta)]
    A = _skew(prefs)
    draws = None
    for t in range(steps):
        if batch_size is None:
            log_pi = _log_normalise(theta)
            g2[0] = _online_ipo_gradient(log_pi, log_pi, log_ref, A, tau_runs)
        else:
            if t % CHUNK_STEPS == 0:
                chunk = min(CHUNK_STEPS, steps - t)
                draws = np.stack([rng.random((chunk, tau.size, batch_size, 3)) for rng in rngs],
                                 axis=2).reshape(chunk, -1, batch_size, 3)
            g2[0] = _sampled_gradient(theta, log_ref, prefs, tau_runs, draws[t % CHUNK_STEPS],
                                      batch_size)
        _adam_representable(g2[0], tau_runs, t)
        update(t)
        if t + 1 in keep:
            logs.append(_log_normalise(theta))
    logits = np.stack(logs, axis=-2).reshape(shape + (recorded.size, n))
    gap = _gap_from_logs(logits, A, pi_ref, tau[:, None, None])
    return GameTrajectory(policies=np.exp(logits), logits=logits, exploitability=gap,
                          steps=recorded)
