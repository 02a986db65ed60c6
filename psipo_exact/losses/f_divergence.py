"""f-divergence regularisation: TRL's score transforms and the exact f-regularised policy.

Wang et al. 2023 ("Beyond Reverse KL: Generalizing Direct Preference Optimization with Diverse
Divergence Constraints", arXiv:2309.16240) replace the KL term of the RLHF objective (Eq. 3 of
Azar et al., arXiv:2310.12036) by ``D_f(π‖πref) = Σ_y πref(y) f(π(y)/πref(y))``:

    J_f(π) = E_π[r] − τ D_f(π‖πref),

whose maximiser is ``π(y) = πref(y) (f′)⁻¹((r(y) − λ)/τ)`` with the normaliser ``λ`` chosen
so that ``Σ π = 1`` (and ``π(y) = 0`` where ``(r(y) − λ)/τ`` lies below the range of ``f′``).
The f-DPO loss replaces each log-ratio ``s = log π(y)/πref(y)`` by the score ``φ(s)``, TRL's
``chosen_scores``/``rejected_scores`` (``trl/trainer/dpo_trainer.py``, ``f_divergence_type``),
which is ``f′(e^s)`` up to an additive constant:

=====================  ==============================  ===================  ==================
``f_divergence_type``  ``f(t)``                        score ``φ(s)``       range of ``φ``
=====================  ==============================  ===================  ==================
``reverse_kl``         ``t log t``                     ``s``                ``ℝ``
``forward_kl``         ``t − 1 − log t``               ``−e^{−s}``          ``(−∞, 0)``
``js_divergence``      ``t log t − (1+t) log((1+t)/2)``  ``log σ(s)``         ``(−∞, 0)``
``alpha_divergence``   ``(t^α − αt − (1−α))/(α(α−1))``  ``e^{(α−1)s}/(α−1)``  ``(−∞, 0)`` if α<1,
                                                                            ``(0, ∞)`` if α>1
=====================  ==============================  ===================  ==================

with ``α = f_alpha_divergence_coef`` (TRL's default 0.5). As in TRL, ``|α − 1| < 1e-6`` is the
reverse-KL limit. TRL clamps ``(α − 1)s`` at 80 to keep float32 finite; in float64 no clamp is
needed, so the transforms agree with TRL wherever ``(α − 1)s ≤ 80``. (TRL's help text calls
the coefficient that of a ``u^{−α}`` regulariser, the convention of TRL up to v0.28; the code
since v0.29 computes the form above, which is the old one at ``1 − α``; the two agree at the
default 0.5.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import expit

from .. import _base, _checks
from ..closed_form import rlhf_policy

#: TRL's ``f_divergence_type`` values.
F_DIVERGENCES = ("reverse_kl", "forward_kl", "js_divergence", "alpha_divergence")
#: TRL's default ``f_alpha_divergence_coef``.
DEFAULT_ALPHA = 0.5
#: TRL treats ``|α − 1|`` below this as the reverse-KL limit of the α-divergence.
ALPHA_REVERSE_KL = 1e-6


@dataclass(frozen=True)
class ScoreTransform:
    """TRL's score ``φ(s)`` of a log-ratio ``s``, its derivatives, its inverse and ``f``.

    ``identity`` is True for the reverse KL (``φ(s) = s``). ``range_sign`` is the side of 0 on
    which ``φ`` takes its values: ``−1`` for ``(−∞, 0)``, ``+1`` for ``(0, ∞)``, ``0`` for ``ℝ``.
    ``log_ratio(v)`` is ``φ⁻¹(v)`` (``−∞`` where ``v`` lies at or beyond the lower end of the
    range, the KKT boundary ``π = 0``). ``generator(t)`` is ``f(t)`` of the table above.

    Examples
    --------
    JS's score is ``log σ(s)`` (TRL); at ``s = 0`` it is ``−log 2`` with slope ½:

    >>> from psipo_exact.losses import score_transform
    >>> js = score_transform("js_divergence")
    >>> js.identity, round(float(js.score(0.0)), 6), float(js.d1(0.0))
    (False, -0.693147, 0.5)

    References
    ----------
    Wang et al. 2023, arXiv:2309.16240, Table 1; TRL ``DPOTrainer`` (``f_divergence_type``).
    """

    name: str
    identity: bool
    range_sign: int
    score: Callable[[np.ndarray], np.ndarray]
    d1: Callable[[np.ndarray], np.ndarray]
    d2: Callable[[np.ndarray], np.ndarray]
    log_ratio: Callable[[np.ndarray], np.ndarray]
    generator: Callable[[np.ndarray], np.ndarray]


def _xlogx(t):
    return np.where(t > 0, t * _base.log(np.where(t > 0, t, 1.0)), 0.0)


def _one(s):
    return np.ones_like(s)


def _zero(s):
    return np.zeros_like(s)


_REVERSE_KL = ScoreTransform(
    "reverse_kl", True, 0, lambda s: s, _one, _zero, lambda v: v, _xlogx)

_FORWARD_KL = ScoreTransform(
    "forward_kl", False, -1,
    lambda s: -np.exp(-s), lambda s: np.exp(-s), lambda s: -np.exp(-s),
    lambda v: -_base.log(-v),
    lambda t: t - 1.0 - _base.log(t))

_JS = ScoreTransform(
    "js_divergence", False, -1,
    lambda s: -_base.softplus(-s), lambda s: expit(-s), lambda s: -expit(s) * expit(-s),
    lambda v: v - _base.log(-np.expm1(v)),  # logit(e^v)
    lambda t: _xlogx(t) - (1.0 + t) * np.log((1.0 + t) / 2.0))


def _alpha_transform(alpha: float) -> ScoreTransform:
    """The α-divergence score ``e^{(α−1)s}/(α−1)`` of TRL (α ≠ 1)."""
    k = alpha - 1.0

    def log_ratio(v):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(k * v > 0, _base.log(np.where(k * v > 0, k * v, 1.0)) / k, -np.inf)

    def generator(t):
        with np.errstate(divide="ignore", over="ignore"):
            return (t**alpha - alpha * t - (1.0 - alpha)) / (alpha * k)

    return ScoreTransform(
        "alpha_divergence", False, -1 if k < 0 else 1,
        lambda s: np.exp(k * s) / k, lambda s: np.exp(k * s), lambda s: k * np.exp(k * s),
        log_ratio, generator)


def score_transform(f_divergence_type: str = "reverse_kl",
                    f_alpha_divergence_coef: float = DEFAULT_ALPHA) -> ScoreTransform:
    """The :class:`ScoreTransform` of a TRL ``f_divergence_type``.

    Parameters
    ----------
    f_divergence_type : {"reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"}
    f_alpha_divergence_coef : float, default 0.5
        α of the α-divergence (any finite real; ``|α − 1| < 1e-6`` is the reverse KL).
        At ``α = 0`` the generator ``f`` is undefined (``α(α − 1) = 0``) although the score
        is the forward KL's; that value is rejected.

    Returns
    -------
    ScoreTransform

    Raises
    ------
    ValueError
        On an unknown ``f_divergence_type`` or ``f_alpha_divergence_coef`` that is not a
        finite real other than 0.

    Examples
    --------
    >>> from psipo_exact.losses import score_transform
    >>> float(score_transform("forward_kl").score(0.0))
    -1.0

    References
    ----------
    Wang et al. 2023, arXiv:2309.16240, Table 1; TRL ``DPOTrainer`` (``f_divergence_type``).
    """
    name = _checks.choice(f_divergence_type, "f_divergence_type", F_DIVERGENCES)
    # checked whatever the type (TRL ignores it unless alpha_divergence): never NaN accepted
    alpha = _checks.real_in_range(f_alpha_divergence_coef, "f_alpha_divergence_coef",
                                  -np.inf, np.inf, closed_low=False)
    if name == "alpha_divergence":
        if alpha == 0.0:
            raise ValueError("f_alpha_divergence_coef = 0.0: the alpha-divergence generator "
                             "(t^a - a t - (1 - a)) / (a (a - 1)) is undefined at a = 0 (use "
                             "f_divergence_type='forward_kl', its limit)")
        if abs(alpha - 1.0) < ALPHA_REVERSE_KL:
            return _REVERSE_KL
        return _alpha_transform(alpha)
    return {"reverse_kl": _REVERSE_KL, "forward_kl": _FORWARD_KL, "js_divergence": _JS}[name]


def f_regularised_policy(rewards, pi_ref, tau, f_divergence: str = "reverse_kl", *,
                         f_alpha_divergence_coef: float = DEFAULT_ALPHA) -> np.ndarray:
    """The exact maximiser of ``E_π[r] − τ D_f(π‖πref)``: ``πref (f′)⁻¹((r − λ)/τ)``.

    Stationarity of the Lagrangian gives ``τ f′(π(y)/πref(y)) = r(y) − λ`` wherever
    ``π(y) > 0``, i.e. ``log π(y)/πref(y) = φ⁻¹((r(y) − λ)/τ)`` with TRL's score ``φ`` (``f′``
    up to a constant absorbed by λ); where ``(r(y) − λ)/τ`` is at or below the lower end of
    the range of ``φ`` (α-divergence with α > 1) the maximiser has ``π(y) = 0`` (KKT). The
    normaliser λ is the root of the decreasing function ``λ ↦ Σ π(y) − 1``, found by bisection
    on ``log |λ − max r|`` until the bracket stops shrinking (full double precision), then
    ``π`` is divided by its sum (a correction of a few ulps). ``reverse_kl`` is
    :func:`~psipo_exact.rlhf_policy` (Eq. 3), whose normaliser is explicit.

    Parameters
    ----------
    rewards : array_like, shape (..., n)
        ``r(y)``, finite or ``−∞`` (probability 0).
    pi_ref : array_like, shape (..., n)
        Actions with ``πref = 0`` get probability 0.
    tau : float or array_like
        τ > 0, broadcast against the leading axes.
    f_divergence : {"reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"}
    f_alpha_divergence_coef : float, default 0.5
        α of the α-divergence (TRL's parameter and default).

    Returns
    -------
    ndarray, shape (..., n)

    Raises
    ------
    ValueError
        On invalid probabilities, τ, divergence name or coefficient, ``+∞`` rewards, or if no
        action has ``πref > 0`` and ``r > −∞``.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> pi = px.f_regularised_policy([1.0, 0.0], [0.5, 0.5], 1.0, "forward_kl")
    >>> # f′(t) = 1 − 1/t and f′(2π₀) − f′(2π₁) = (r₀ − r₁)/τ = 1, so 1/π₁ − 1/π₀ = 2
    >>> bool(np.isclose(1 / pi[1] - 1 / pi[0], 2.0))
    True

    References
    ----------
    Wang et al. 2023, arXiv:2309.16240, Theorem 1; Azar et al., arXiv:2310.12036, Eq. 3.
    """
    transform = score_transform(_checks.choice(f_divergence, "f_divergence", F_DIVERGENCES),
                                f_alpha_divergence_coef)
    if transform.identity:
        return rlhf_policy(rewards, pi_ref, tau)
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    r = _checks.as_float_array(rewards, "rewards", min_ndim=1, allow_inf=True)
    _checks.no_positive_inf(r, "rewards")
    _checks.n_actions_match(pi_ref.shape[-1], "pi_ref", rewards=r)
    lead = _checks.broadcastable(("pi_ref", pi_ref.shape[:-1]), ("rewards", r.shape[:-1]))
    t, lead = _base.tau_for(tau, lead)
    shape = lead + pi_ref.shape[-1:]
    pi_ref, r = np.broadcast_to(pi_ref, shape), np.broadcast_to(r, shape)
    live = (pi_ref > 0) & ~np.isneginf(r)
    if not live.any(-1).all():
        row = tuple(int(i) for i in np.argwhere(~live.any(-1))[0])
        raise ValueError(f"no action has pi_ref > 0 and rewards > -inf at index {row}")
    return _normaliser_policy(transform, r, pi_ref, live, t)


def _normaliser_policy(transform: ScoreTransform, r, pi_ref, live, t) -> np.ndarray:
    """``πref exp(φ⁻¹((r − λ)/τ))`` with λ solving ``Σ π = 1`` (finite rewards on ``live``).

    With ``x = ±(λ − max r)/τ`` (sign making ``x > 0``), ``v(y) = (r(y) − λ)/τ`` is
    ``−x − d(y)`` for scores in ``(−∞, 0)`` and ``x − d(y)`` for scores in ``(0, ∞)``, with
    ``d(y) = (max r − r(y))/τ ≥ 0``; the mass is monotone in ``x``, bisected in ``log x``
    over the doubles (``x`` from the smallest subnormal to the largest double). Each mass is
    ``exp(log πref + φ⁻¹(v))``, so a tiny ``πref`` times a huge ratio never overflows. For
    scores in ``(−∞, 0)`` the mass tends to ``∞`` as ``x → 0``; when its root lies below the
    smallest subnormal, ``v(y) = −d(y)`` to double precision wherever ``d(y) > 0`` and the
    actions with ``d(y) = 0`` share the remaining mass in proportion to ``πref`` (the exact
    limit). A root beyond the largest double cannot be represented: ``ValueError``.
    """
    rmax = np.max(np.where(live, r, -np.inf), axis=-1, keepdims=True)
    tau = np.broadcast_to(t, live.shape[:-1])[..., None]
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.where(live, (rmax - r) / tau, np.inf)
    sign = transform.range_sign
    log_pi_ref = _base.log(pi_ref)

    def policy(log_x):
        x = np.exp(log_x)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            v = -x - d if sign < 0 else x - d
            return np.where(live, np.exp(log_pi_ref + transform.log_ratio(v)), 0.0)

    def excess(log_x):
        return policy(log_x).sum(-1, keepdims=True) - 1.0

    # The mass decreases in x for sign −1 and increases for sign +1: orient it increasing.
    rising = (lambda log_x: -excess(log_x)) if sign < 0 else excess
    tiny, huge = np.log(np.finfo(float).smallest_subnormal), np.log(np.finfo(float).max)
    lo = np.full(rmax.shape, -1.0)
    hi = np.full(rmax.shape, 1.0)
    for _ in range(64):  # widen until the root is bracketed or x leaves the doubles
        low_ok = (rising(lo) <= 0) | (lo == tiny)
        high_ok = (rising(hi) >= 0) | (hi == huge)
        if (low_ok & high_ok).all():
            break
        lo = np.where(low_ok, lo, np.maximum(2 * lo - 1, tiny))
        hi = np.where(high_ok, hi, np.minimum(2 * hi + 1, huge))
    unbracketed = ((lo == tiny) & (rising(lo) > 0) & (sign > 0)) | ((hi == huge) & (rising(hi) < 0))
    if unbracketed.any():
        raise ValueError("the normaliser of the f-regularised policy is not representable "
                         "in float64: (lambda - max rewards) / tau is beyond the doubles")
    log_x = _base.bisect(rising, lo, hi)
    pi = policy(log_x)
    below = (lo == tiny) & (rising(lo) > 0)  # sign −1: root below the smallest subnormal
    if below.any():
        top = live & (d == 0)
        rest = np.where(top, 0.0, pi).sum(-1, keepdims=True)
        share = np.where(top, pi_ref, 0.0)
        limit = np.where(top, (1.0 - rest) * share / share.sum(-1, keepdims=True), pi)
        pi = np.where(below, limit, pi)
    return pi / pi.sum(-1, keepdims=True)


def f_regularised_objective(pi, rewards, pi_ref, tau, f_divergence: str = "reverse_kl", *,
                            f_alpha_divergence_coef: float = DEFAULT_ALPHA) -> np.ndarray:
    """``J_f(π) = E_π[r] − τ Σ_y πref(y) f(π(y)/πref(y))``, the f-regularised Eq. 3.

    Parameters
    ----------
    pi, pi_ref : array_like, shape (..., n)
        ``π`` must vanish where πref does (else ``−∞``).
    rewards : array_like, shape (..., n)
        Finite rewards.
    tau : float or array_like
    f_divergence, f_alpha_divergence_coef
        As for :func:`f_regularised_policy`.

    Returns
    -------
    ndarray, shape (...)

    Raises
    ------
    ValueError
        On invalid arguments (naming them), or where the value is not representable
        (``∞ − ∞``: rewards or τ near the float maximum).

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact.losses import f_regularised_objective
    >>> float(f_regularised_objective([0.5, 0.5], [1.0, 0.0], [0.5, 0.5], 2.0, "js_divergence"))
    0.5

    References
    ----------
    Wang et al. 2023, arXiv:2309.16240, Eq. 4; Azar et al., arXiv:2310.12036, Eq. 3.
    """
    transform = score_transform(_checks.choice(f_divergence, "f_divergence", F_DIVERGENCES),
                                f_alpha_divergence_coef)
    pi = _checks.probability_vector(pi, "pi")
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    r = _checks.as_float_array(rewards, "rewards", min_ndim=1)
    _checks.n_actions_match(pi.shape[-1], "pi", rewards=r, pi_ref=pi_ref)
    lead = _checks.broadcastable(("pi", pi.shape[:-1]), ("pi_ref", pi_ref.shape[:-1]),
                                 ("rewards", r.shape[:-1]))
    t, _ = _base.tau_for(tau, lead)
    ratio = np.where(pi_ref > 0, pi / np.where(pi_ref > 0, pi_ref, 1.0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        divergence = np.sum(np.where(pi_ref > 0, pi_ref * transform.generator(ratio), 0.0), -1)
    divergence = np.where(((pi > 0) & (pi_ref == 0)).any(-1), np.inf, divergence)
    with np.errstate(over="ignore", invalid="ignore"):  # rewards or 1/τ near the float max
        value = np.sum(pi * r, -1) - t * divergence
    if np.isnan(value).any():
        raise ValueError("the f-regularised objective is not representable (inf - inf): the "
                         "rewards or tau are too close to the float maximum")
    return value
