"""Population losses of Azar et al. (arXiv:2310.12036): expectations over ``y, y′ ∼ µ``.

Eq. 2 (the Bradley–Terry reward loss), Eq. 5 (DPO), Eq. 13 (the IPO root-finding loss) and
Eq. 16 (the sampled IPO loss, as the exact expectation over the Bernoulli ``I``), each
optionally averaged over contexts ``x ∼ ρ`` (the last leading axis).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import _base, _checks
from .pairwise import defined, pairwise


def _pair_weights(mu: np.ndarray) -> np.ndarray:
    """``µ(y) µ(y′)``, shape (..., n, n)."""
    return mu[..., :, None] * mu[..., None, :]


def _policy_log_ratio(pi, pi_ref, mu: np.ndarray) -> np.ndarray:
    """``log π(y) − log πref(y)`` on Supp(µ) (−∞ where π = 0), 0 off Supp(µ)."""
    pi = _checks.probability_vector(pi, "pi")
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    _checks.n_actions_match(mu.shape[-1], "mu", pi=pi, pi_ref=pi_ref)
    lead = _checks.broadcastable(
        ("pi", pi.shape[:-1]), ("pi_ref", pi_ref.shape[:-1]), ("mu", mu.shape[:-1])
    )
    shape = lead + mu.shape[-1:]
    pi, pi_ref, mu = (np.broadcast_to(a, shape) for a in (pi, pi_ref, mu))
    _checks.support_covered(mu, pi_ref)
    return np.where(mu > 0, _base.log(pi) - _base.log(np.where(mu > 0, pi_ref, 1.0)), 0.0)


def _bt_loss(reward_gap: np.ndarray, prefs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``−Σ w p log σ(gap)`` over the last two axes; terms with ``w·p = 0`` are dropped."""
    charged = (weights * prefs) > 0
    with np.errstate(invalid="ignore"):
        terms = np.where(charged, weights * prefs * _base.softplus(-reward_gap), 0.0)
    if np.isnan(terms).any():
        raise ValueError("pi vanishes on two actions of Supp(mu): h_pi is undefined there")
    return terms.sum(axis=(-2, -1))


def bt_reward_population(rewards, prefs, mu, rho=None) -> np.ndarray:
    """Population Bradley–Terry reward loss, Eq. 2 with ``(y_w, y_l)`` drawn from ``(µ, p*)``.

    ``L(r) = −E_{y,y′∼µ}[p*(y ≻ y′) log σ(r(y) − r(y′))]`` (the loss of Prop. 4).

    Parameters
    ----------
    rewards : array_like, shape (..., n)
        Finite rewards.
    prefs : array_like, shape (..., n, n)
    mu : array_like, shape (..., n)
    rho : array_like, shape (n_contexts,), optional
        Context weights over the last leading axis.

    Returns
    -------
    ndarray

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 2 (population form as in Proposition 4, App. B).

    Examples
    --------
    Under Bradley–Terry preferences the true rewards give the cross-entropy its minimum,
    the entropy ``Σ µ(y)µ(y′) (−p log p)`` with ``p = p*(y ≻ y′)``; ``r = 0`` gives
    ``log 2 · E_µµ[p] = (log 2)/2``:

    >>> import numpy as np
    >>> from psipo_exact import bradley_terry_prefs, losses
    >>> r, mu = np.array([np.log(3.0), 0.0]), np.array([0.5, 0.5])
    >>> prefs = bradley_terry_prefs(r)
    >>> print(f"{losses.bt_reward_population(r, prefs, mu):.6f}")
    0.313871
    >>> print(f"{np.sum(np.outer(mu, mu) * -prefs * np.log(prefs)):.6f}")
    0.313871
    >>> print(f"{losses.bt_reward_population([0.0, 0.0], prefs, mu):.6f}")
    0.346574
    """
    prefs, mu = _base.validated_prefs_mu(prefs, mu)
    r = _checks.as_float_array(rewards, "rewards", min_ndim=1)
    _checks.n_actions_match(mu.shape[-1], "mu", rewards=r)
    with np.errstate(over="ignore"):  # |r| near the float maximum: the gap is ±inf
        gap = r[..., :, None] - r[..., None, :]
    return _base.reduce_contexts(_bt_loss(gap, prefs, _pair_weights(mu)), rho)


def dpo_population(pi, prefs, mu, pi_ref, tau, rho=None) -> np.ndarray:
    """Population DPO loss, Eq. 5: ``−E_{y,y′∼µ}[p*(y ≻ y′) log σ(τ h_π(y, y′))]``.

    Equal to :func:`bt_reward_population` at ``r = τ log(π / πref)`` (Prop. 4's key step),
    which is how it is computed. Policies vanishing on part of Supp(µ) give the limiting
    value (``+∞`` if such an action ever wins).

    Parameters
    ----------
    pi : array_like, shape (..., n)
    prefs : array_like, shape (..., n, n)
    mu, pi_ref : array_like, shape (..., n)
    tau : float or array_like
    rho : array_like, shape (n_contexts,), optional

    Returns
    -------
    ndarray

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 5; Proposition 4 (Appendix B).

    Examples
    --------
    Proposition 4's key step: at ``π*_r = rlhf_policy(r, πref, τ)`` the DPO loss equals the
    Bradley–Terry loss at ``r``, for any τ:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact import losses
    >>> r, uniform = np.array([np.log(3.0), 0.0]), np.array([0.5, 0.5])
    >>> prefs = px.bradley_terry_prefs(r)
    >>> pi = px.rlhf_policy(r, uniform, 2.0)
    >>> print(f"{losses.dpo_population(pi, prefs, uniform, uniform, 2.0):.6f}")
    0.313871
    >>> print(f"{losses.bt_reward_population(r, prefs, uniform):.6f}")
    0.313871
    """
    prefs, mu = _base.validated_prefs_mu(prefs, mu)
    ratio = _policy_log_ratio(pi, pi_ref, mu)
    t, _ = _base.tau_for(tau, ratio.shape[:-1])
    with np.errstate(invalid="ignore", over="ignore"):
        gap = t[..., None, None] * (ratio[..., :, None] - ratio[..., None, :])
    # h_π(y, y) = 0 by definition, also where π(y) = 0 (there −∞ − (−∞) would give NaN).
    gap = np.where(np.eye(mu.shape[-1], dtype=bool), 0.0, gap)
    return _base.reduce_contexts(_bt_loss(gap, prefs, _pair_weights(mu)), rho)


def _ipo_population_terms(pi, prefs, mu, pi_ref, tau, target_terms: Callable) -> np.ndarray:
    """``Σ µ(y)µ(y′) target_terms(h, prefs, mu, τ)`` with ``+∞`` where π vanishes on Supp(µ).

    Squares of order 1/τ² overflow to +∞ for τ below ~1e-154, the correctly rounded value;
    pairs off Supp(µ) × Supp(µ) contribute 0 even then.
    """
    prefs, mu = _base.validated_prefs_mu(prefs, mu)
    ratio = _policy_log_ratio(pi, pi_ref, mu)
    t, _ = _base.tau_for(tau, ratio.shape[:-1])
    infinite = np.isneginf(ratio).any(-1)
    finite = np.where(np.isneginf(ratio), 0.0, ratio)
    h = finite[..., :, None] - finite[..., None, :]
    weights = _pair_weights(mu)
    with np.errstate(over="ignore"):
        terms = target_terms(h, prefs, mu, t[..., None, None])
    terms = weights * np.where(weights > 0, terms, 0.0)
    return np.where(infinite, np.inf, terms.sum(axis=(-2, -1)))


def ipo_population(pi, prefs, mu, pi_ref, tau, rho=None) -> np.ndarray:
    """Population IPO loss, Eq. 13: ``E_{y,y′∼µ}[(h_π(y,y′) − (p*(y≻µ) − p*(y′≻µ))/τ)²]``.

    Zero exactly at the IPO policy of Eq. 7 on Supp(µ) (Theorem 2); ``+∞`` if π vanishes
    somewhere on Supp(µ). Parameters and return value as for :func:`dpo_population`.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 13 (Eq. 14 in logits); Theorem 2.

    Examples
    --------
    Sec. 5.3.1 at τ = 1: zero at the IPO policy ``(σ(1/2), σ(−1/2))``; at πref (``h = 0``)
    it is ``Σ µ(y)µ(y′) ((p(y≻µ) − p(y′≻µ))/τ)² = 2 · (1/4) · (1/2)² = 1/8``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact import losses
    >>> prefs, uniform = np.array([[0.5, 1.0], [0.0, 0.5]]), np.array([0.5, 0.5])
    >>> best = px.psipo_policy(prefs, uniform, uniform, 1.0)
    >>> print(f"{losses.ipo_population(best, prefs, uniform, uniform, 1.0):.6f}")
    0.000000
    >>> print(f"{losses.ipo_population(uniform, prefs, uniform, uniform, 1.0):.6f}")
    0.125000
    """

    def terms(h, prefs, mu, tau):
        against = np.einsum("...ij,...j->...i", prefs, mu)
        return (h - (against[..., :, None] - against[..., None, :]) / tau) ** 2

    return _base.reduce_contexts(_ipo_population_terms(pi, prefs, mu, pi_ref, tau, terms), rho)


def ipo_sampled_population(pi, prefs, mu, pi_ref, tau, rho=None) -> np.ndarray:
    """Sampled IPO loss, Eq. 16: ``E_{y,y′∼µ, I}[(h_π(y,y′) − I(y,y′)/τ)²]``.

    The expectation over ``I ∼ Bernoulli(p*(y ≻ y′))`` is taken exactly:
    ``p (h − 1/τ)² + (1 − p) h²``. Proposition 3: equals Eq. 13 up to a constant in π.
    Parameters and return value as for :func:`dpo_population`.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 16; Proposition 3 (Sec. 5.2).

    Examples
    --------
    Proposition 3 on Sec. 5.3.1 at τ = 1: Eq. 16 − Eq. 13 is the same at every π, namely
    ``(1 − 2 E_µ[p(y≻µ)²])/τ² = 1 − 2 · (0.75² + 0.25²)/2 = 0.375``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact import losses
    >>> prefs, uniform = np.array([[0.5, 1.0], [0.0, 0.5]]), np.array([0.5, 0.5])
    >>> for pi in ([0.5, 0.5], [0.9, 0.1], [0.2, 0.8]):
    ...     eq16 = losses.ipo_sampled_population(pi, prefs, uniform, uniform, 1.0)
    ...     eq13 = losses.ipo_population(pi, prefs, uniform, uniform, 1.0)
    ...     print(f"{eq16 - eq13:.6f}")
    0.375000
    0.375000
    0.375000
    """

    def terms(h, prefs, mu, tau):
        # p = 0 drops its term even where (h − 1/τ)² overflows (0·∞ = 0 at tiny τ).
        return prefs * np.where(prefs > 0, (h - 1.0 / tau) ** 2, 0.0) + (1.0 - prefs) * h**2

    return _base.reduce_contexts(_ipo_population_terms(pi, prefs, mu, pi_ref, tau, terms), rho)


def pairwise_population(name: str, pi, prefs, mu, pi_ref, tau, rho=None, *,
                        return_grad: bool = False, **params):
    """Population loss of a registered loss: ``E_{y,y′∼µ}[p*(y≻y′) ℓ(s_y, s_y′)]``.

    Pairs are drawn from ``µ × µ`` and labelled by p* (``y`` wins with probability
    ``p*(y≻y′)``); as in Eq. 5, the sum runs over ordered pairs with weight
    ``µ(y) µ(y′) p*(y≻y′)``, i.e. half the expected loss of a labelled pair (the other half
    is the same sum). Pairs ``y = y′`` count with ``p* = ½`` (constant for margin losses,
    not for the losses of separate log-ratios). ``"sigmoid"`` is :func:`dpo_population`;
    ``2 · "ipo" = Eq. 16 − 1/(4τ²)``.

    Parameters
    ----------
    name : str
        A registered loss (:data:`~psipo_exact.losses.PAIRWISE_LOSSES`) or alias.
    pi : array_like, shape (..., n)
        Positive on Supp(µ) (else the loss is evaluated in the limit where defined).
    prefs : array_like, shape (..., n, n)
    mu, pi_ref : array_like, shape (..., n)
        Supp(µ) ⊆ Supp(πref).
    tau : float or array_like
        τ > 0 (TRL's ``beta``), broadcast against the leading axes.
    rho : array_like, shape (n_contexts,), optional
        Context weights over the last leading axis.
    return_grad : bool, default False
        Also return the gradient in the logits θ of ``π = softmax(θ)`` (needs π > 0 on
        Supp(µ)); with ``rho``, the gradient of the ρ-weighted sum.
    **params
        The loss's parameters (TRL names).

    Returns
    -------
    loss : ndarray, shape (...) (without the context axis when ``rho`` is given)
    grad : ndarray, shape (..., n), only if ``return_grad``

    Raises
    ------
    ValueError
        On invalid inputs, or where π vanishes on two actions of Supp(µ) so that the loss is
        undefined, or with ``return_grad`` where π vanishes on Supp(µ).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> prefs = np.array([[0.5, 0.8], [0.2, 0.5]])
    >>> mu = pi = pi_ref = np.array([0.5, 0.5])
    >>> a = px.losses.pairwise_population("sigmoid", pi, prefs, mu, pi_ref, 1.0)
    >>> bool(np.isclose(a, px.losses.dpo_population(pi, prefs, mu, pi_ref, 1.0)))
    True

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 5 (its sampling of pairs); TRL ``DPOTrainer``.
    """
    loss = pairwise(name)
    loss.parameters(**params)  # validate before any mathematics
    return_grad = _checks.flag(return_grad, "return_grad")
    prefs, mu = _base.validated_prefs_mu(prefs, mu)
    ratio = _policy_log_ratio(pi, pi_ref, mu)
    t, _ = _base.tau_for(tau, ratio.shape[:-1])
    t = t[..., None, None]
    weights = _pair_weights(mu) * prefs
    n = mu.shape[-1]
    diagonal = np.eye(n, dtype=bool)
    s_w, s_l = ratio[..., :, None], ratio[..., None, :]
    margin = loss.is_margin(**params)
    with np.errstate(invalid="ignore", over="ignore"):
        if margin:  # h_π(y, y) = 0 by definition, also where π(y) = 0
            h = np.where(diagonal, 0.0, s_w - s_l)
            terms = loss.margin_value(h, t, **params)
        else:
            terms = loss.value(s_w, s_l, t, **params)
        terms = np.where(weights > 0, weights * terms, 0.0)
    if np.isnan(terms).any():
        raise ValueError("pi vanishes on two actions of Supp(mu), or the loss overflows: "
                         f"the {loss.name} loss is undefined there")
    with np.errstate(invalid="ignore"):  # +inf and -inf terms: NaN, raised by `defined`
        value = defined(_base.reduce_contexts(terms.sum(axis=(-2, -1)), rho), loss.name)
    if not return_grad:
        return value
    if np.isneginf(ratio).any():
        raise ValueError("return_grad needs pi > 0 on Supp(mu): the logits of a vanishing "
                         "action are -inf")
    with np.errstate(over="ignore", invalid="ignore"):  # masked below; NaN raises in `defined`
        if margin:
            d1 = loss.margin_grad(s_w - s_l, t, **params)
            d_w, d_l = d1, -d1
        else:
            d_w, d_l = loss.grad(s_w, s_l, t, **params)
        g = np.sum(np.where(weights > 0, weights * d_w, 0.0), -1) + np.sum(
            np.where(weights > 0, weights * d_l, 0.0), -2)
    pi_arr = np.broadcast_to(_checks.probability_vector(pi, "pi"), g.shape)
    with np.errstate(over="ignore", invalid="ignore"):  # ∞ − ∞ raises in `defined`
        grad = defined(g - pi_arr * g.sum(-1, keepdims=True), loss.name)
    if rho is not None:
        grad = grad * _checks.probability_vector(rho, "rho")[:, None]
    return value, grad
