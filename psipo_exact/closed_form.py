"""Closed-form ΨPO quantities of Azar et al. (arXiv:2310.12036): Eq. 3, 6, 7, 9 and App. A.1.

Everything works on the last axis (actions) and broadcasts over any leading axes, which is
how contexts, τ grids and batches of problems are expressed; ``tau`` broadcasts against the
leading axes (not the action axis). Policies are computed in log space, so that τ from 1e-9
to 1e9 and Ψ = logit with preferences in {0, 1} (g = ±∞, Sec. 4.2) give exact limits
instead of overflow or NaN.
"""

from __future__ import annotations

import numpy as np

from . import _base, _checks
from .psi import PsiLike, resolve_psi


def preference_against(prefs, mu) -> np.ndarray:
    """Expected preference ``p*(y ≻ µ) = E_{y′∼µ}[p*(y ≻ y′)]`` (Sec. 2).

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
        ``prefs[..., i, j] = p*(y_i ≻ y_j)``.
    mu : array_like, shape (..., n)
        Behaviour policy µ.

    Returns
    -------
    ndarray, shape (..., n)

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (notation) and Sec. 5.3.1.

    Examples
    --------
    Sec. 5.3.1: ``p*(y₁ ≻ y₂) = 1`` and uniform µ give ``p*(y₁ ≻ µ) = 3/4`` and
    ``p*(y₂ ≻ µ) = 1/4``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> prefs = np.array([[0.5, 1.0], [0.0, 0.5]])
    >>> print(px.preference_against(prefs, [0.5, 0.5]))
    [0.75 0.25]

    Against any µ, the µ-average of ``p*(y ≻ µ)`` is 1/2 (used in Proposition 3's proof):

    >>> mu = np.array([0.2, 0.3, 0.5])
    >>> prefs = px.bradley_terry_prefs([1.0, 0.0, -2.0])
    >>> print(f"{mu @ px.preference_against(prefs, mu):.12f}")
    0.500000000000
    """
    prefs, mu = _base.validated_prefs_mu(prefs, mu)
    return np.einsum("...ij,...j->...i", prefs, mu)


def expected_psi(prefs, mu, psi: PsiLike = "identity") -> np.ndarray:
    """``g(y) = E_{y′∼µ}[Ψ(p*(y ≻ y′))]`` of Eq. 9.

    Terms with ``µ(y′) = 0`` contribute nothing, even when Ψ is ±∞ there (0·(±∞) = 0).
    With Ψ = logit and ``p ∈ {0, 1}``, ``g(y)`` is +∞ (−∞) when y beats (loses to) some
    ``y′ ∈ Supp(µ)`` with certainty.

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
    mu : array_like, shape (..., n)
    psi : str or callable, default "identity"
        Non-decreasing Ψ; see :func:`psipo_exact.psi.resolve_psi`.

    Returns
    -------
    g : ndarray, shape (..., n)
        Values in ℝ ∪ {±∞}.

    Raises
    ------
    ValueError
        If one ``g(y)`` would combine +∞ and −∞ (y beats one action of Supp(µ) and loses to
        another with certainty): the sum is undefined, and the message names the actions.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 9 (g), Proposition 1 and Sec. 4.2 (Ψ = logit).

    Examples
    --------
    With Ψ = identity, g is ``p*(y ≻ µ)``; with Ψ = logit and the deterministic preference
    of Sec. 4.2, g is infinite:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> prefs, mu = np.array([[0.5, 1.0], [0.0, 0.5]]), np.array([0.5, 0.5])
    >>> print(px.expected_psi(prefs, mu))
    [0.75 0.25]
    >>> print(px.expected_psi(prefs, mu, "logit"))
    [ inf -inf]

    Proposition 1: under Bradley–Terry, Ψ = logit gives ``g(y) = r(y) − E_µ[r]``:

    >>> r = np.array([np.log(3.0), 0.0])
    >>> g = px.expected_psi(px.bradley_terry_prefs(r), mu, "logit")
    >>> print(np.round(g, 4), np.round(r - mu @ r, 4))
    [ 0.5493 -0.5493] [ 0.5493 -0.5493]
    """
    prefs, mu = _base.validated_prefs_mu(prefs, mu)
    fn = resolve_psi(psi)
    with np.errstate(all="ignore"):
        values = np.asarray(fn(prefs), dtype=np.float64)
    if values.shape != prefs.shape or np.isnan(values).any():
        raise ValueError("psi returned NaN or a wrong shape on prefs; psi must map [0, 1] to ℝ∪±∞")
    shape = np.broadcast_shapes(values.shape, mu[..., None, :].shape)
    values = np.broadcast_to(values, shape)
    weight = np.broadcast_to(mu[..., None, :], shape)
    counted = weight > 0
    plus = np.isposinf(values) & counted
    minus = np.isneginf(values) & counted
    clash = plus.any(-1) & minus.any(-1)
    if clash.any():
        *lead, y = (int(i) for i in np.argwhere(clash)[0])
        idx = tuple(lead) + (y,)
        win = int(np.argmax(plus[idx]))
        lose = int(np.argmax(minus[idx]))
        raise ValueError(
            f"g(y{y}) is undefined at index {tuple(lead)}: psi(prefs[{y}, {win}]) = +inf and "
            f"psi(prefs[{y}, {lose}]) = -inf meet in one expectation over mu"
        )
    finite = np.where(counted & np.isfinite(values), values, 0.0)
    g = np.sum(finite * weight, axis=-1)
    return np.where(plus.any(-1), np.inf, np.where(minus.any(-1), -np.inf, g))


def gibbs_log_policy(pi_ref, g, tau) -> np.ndarray:
    """``log π`` for the Gibbs policy ``π(y) ∝ πref(y) exp(g(y) / τ)`` (Eq. 7/9).

    Computed in log space around the largest exponent, with differences ``(g(y) − g(y_k))/τ``
    taken before dividing by τ, so τ from 1e-9 to 1e9 and |g| up to 1e6 keep full relative
    accuracy; any τ > 0 and finite g, down to subnormal τ and up to the float maximum, give
    the correctly rounded limit without overflow or NaN. Actions with ``πref = 0`` or
    ``g = −∞`` get ``log π = −∞``; if some action of Supp(πref) has ``g = +∞``, all mass goes
    to those actions in proportion to πref (Sec. 4.2).

    Parameters
    ----------
    pi_ref : array_like, shape (..., n)
        Reference policy πref.
    g : array_like, shape (..., n)
        Scores in ℝ ∪ {±∞}, e.g. :func:`expected_psi` or rewards.
    tau : float or array_like
        τ > 0, broadcast against the leading axes.

    Returns
    -------
    ndarray, shape (..., n)

    Raises
    ------
    ValueError
        If every action of some row has ``πref = 0`` or ``g = −∞`` (no policy exists).

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 7 and Eq. 9; Appendix A.1 (δ* ∝ η exp(f/τ)).

    Examples
    --------
    Sec. 5.3.1 at τ = 1: ``log π*(y₁) = log σ(1/2)`` and ``log π*(y₂) = log σ(−1/2)``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> print(np.round(px.gibbs_log_policy([0.5, 0.5], [0.75, 0.25], 1.0), 4))
    [-0.4741 -0.9741]
    >>> print(np.round(np.log(1 / (1 + np.exp([-0.5, 0.5]))), 4))
    [-0.4741 -0.9741]

    Extreme τ stays finite where ``exp(g / τ)`` would overflow:

    >>> print(np.round(px.gibbs_log_policy([0.5, 0.5], [0.75, 0.25], 1e-9), 4))
    [ 0.e+00 -5.e+08]
    """
    return _gibbs_log_policy(pi_ref, g, tau, "g")


def _gibbs_log_policy(pi_ref, g, tau, g_name: str) -> np.ndarray:
    """:func:`gibbs_log_policy`, with errors about ``g`` naming it ``g_name``."""
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    g = _checks.as_float_array(g, g_name, min_ndim=1, allow_inf=True)
    _checks.n_actions_match(pi_ref.shape[-1], "pi_ref", **{g_name: g})
    lead = _checks.broadcastable(("pi_ref", pi_ref.shape[:-1]), (g_name, g.shape[:-1]))
    t, lead = _base.tau_for(tau, lead)
    shape = lead + pi_ref.shape[-1:]
    pi_ref, g = np.broadcast_to(pi_ref, shape), np.broadcast_to(g, shape)
    t = np.broadcast_to(t, lead)[..., None]
    log_ref = _base.log(pi_ref)
    support = (pi_ref > 0) & ~np.isneginf(g)
    empty = ~support.any(-1)
    if empty.any():
        row = tuple(int(i) for i in np.argwhere(empty)[0])
        raise ValueError(
            f"pi_ref * exp(g / tau) vanishes for every action at index {row}: "
            "no action has pi_ref > 0 and g > -inf"
        )
    top = support & np.isposinf(g)
    has_top = top.any(-1, keepdims=True)
    support = np.where(has_top, top, support)
    g_safe = np.where(support & ~top, g, 0.0)
    k = _gibbs_anchor(g_safe, log_ref, support, t)
    pick = lambda a: np.take_along_axis(a, k, axis=-1)  # noqa: E731
    with np.errstate(over="ignore", invalid="ignore"):
        dg = g_safe - pick(g_safe)
        # |g| near the float maximum: g(y) − g(y_k) overflows, g/τ − g(y_k)/τ does not (τ ≥ 1).
        scaled = np.where(np.isfinite(dg), dg / t, g_safe / t - pick(g_safe) / t)
        exponent = np.where(has_top, 0.0, scaled) + (log_ref - pick(log_ref))
    exponent = np.where(support, exponent, -np.inf)  # off the support: −∞, never NaN
    # Exactly 0 at y_k in all but extreme-τ ties, where it recentres a near-largest anchor.
    exponent = exponent - np.max(exponent, axis=-1, keepdims=True)
    return exponent - np.log(np.sum(np.exp(exponent), axis=-1, keepdims=True))


def _gibbs_anchor(g: np.ndarray, log_ref: np.ndarray, support: np.ndarray, t: np.ndarray):
    """Index (keepdims) of a largest exponent ``log πref(y) + g(y)/τ`` within ``support``.

    For τ < 1 the exponents are ranked as ``τ log πref + g`` instead, because ``g/τ`` can
    overflow (τ down to the smallest subnormal); the ranking is the same up to rounding.
    """
    with np.errstate(over="ignore"):
        key = np.where(t < 1, g + t * log_ref, g / t + log_ref)
    lowest = -np.finfo(np.float64).max  # keep overflowed keys inside the support
    key = np.where(support, np.maximum(key, lowest), -np.inf)
    return np.argmax(key, axis=-1)[..., None]


def gibbs_policy(pi_ref, g, tau) -> np.ndarray:
    """Gibbs policy ``π(y) ∝ πref(y) exp(g(y) / τ)`` of Eq. 7/9 (App. A.1's δ*).

    Parameters
    ----------
    pi_ref : array_like, shape (..., n)
    g : array_like, shape (..., n)
        Scores in ℝ ∪ {±∞}.
    tau : float or array_like
        τ > 0, broadcast against the leading axes.

    Returns
    -------
    ndarray, shape (..., n)
        Probability vectors; see :func:`gibbs_log_policy` for the limits.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 7 and Eq. 9; Appendix A.1 (δ*).

    Examples
    --------
    Sec. 5.3.1 at τ = 1: ``π* = (σ(1/2), σ(−1/2))``. A τ grid gives one policy per τ; an
    action with ``g = +∞`` takes all the mass (Sec. 4.2):

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> print(np.round(px.gibbs_policy([0.5, 0.5], [0.75, 0.25], 1.0), 4))
    [0.6225 0.3775]
    >>> px.gibbs_policy([0.5, 0.5], [0.75, 0.25], [0.1, 1.0, 10.0]).shape
    (3, 2)
    >>> print(px.gibbs_policy([0.5, 0.5], [np.inf, -np.inf], 100.0))
    [1. 0.]
    """
    return np.exp(gibbs_log_policy(pi_ref, g, tau))


def softmax_policy(logits) -> np.ndarray:
    """The softmax parametrisation ``π_θ = softmax(θ)`` (Sec. 5.4; Theorem 2's ``π_s``).

    On the last axis; ``−∞`` logits get probability 0, and if some logits are ``+∞`` they share
    all the mass equally. It is :func:`gibbs_policy` with a uniform πref and τ = 1.

    Parameters
    ----------
    logits : array_like, shape (..., n)

    Returns
    -------
    ndarray, shape (..., n)

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.1 (proof of Theorem 2, ``π_s``) and Sec. 5.4.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> print(px.softmax_policy([0.0, np.log(3.0)]))
    [0.25 0.75]
    >>> print(px.softmax_policy([[0.0, -np.inf], [np.inf, np.inf]]))
    [[1.  0. ]
     [0.5 0.5]]
    """
    logits = _checks.as_float_array(logits, "logits", min_ndim=1, allow_inf=True)
    n = logits.shape[-1]
    return gibbs_policy(np.full(n, 1.0 / n), logits, 1.0)


def psipo_policy(prefs, mu, pi_ref, tau, psi: PsiLike = "identity") -> np.ndarray:
    """The maximiser of the ΨPO objective (Eq. 6): ``π* ∝ πref exp(g / τ)``, Eq. 7.

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
    mu, pi_ref : array_like, shape (..., n)
    tau : float or array_like
    psi : str or callable, default "identity" (IPO); "logit" gives RLHF/DPO (Prop. 1).

    Returns
    -------
    ndarray, shape (..., n)

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 6 and Eq. 7; Sec. 5.3.1 and Sec. 4.2.

    Examples
    --------
    Sec. 5.3.1 (``p*(y₁ ≻ y₂) = 1``, uniform µ and πref): IPO gives
    ``π*(y₁) = σ(1/(2τ))``, while Ψ = logit (RLHF/DPO) gives ``(1, 0)`` for every τ:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> prefs, uniform = np.array([[0.5, 1.0], [0.0, 0.5]]), np.array([0.5, 0.5])
    >>> taus = np.array([0.1, 1.0, 10.0])
    >>> print(np.round(px.psipo_policy(prefs, uniform, uniform, taus)[:, 0], 4))
    [0.9933 0.6225 0.5125]
    >>> print(np.round(1 / (1 + np.exp(-1 / (2 * taus))), 4))
    [0.9933 0.6225 0.5125]
    >>> print(px.psipo_policy(prefs, uniform, uniform, taus, psi="logit"))
    [[1. 0.]
     [1. 0.]
     [1. 0.]]
    """
    _checks.tau(tau)  # before g: invalid input never reaches the maths
    return gibbs_policy(pi_ref, expected_psi(prefs, mu, psi), tau)


def rlhf_policy(rewards, pi_ref, tau) -> np.ndarray:
    """The maximiser of the RLHF objective (Eq. 3): ``π*_r ∝ πref exp(r / τ)``.

    Parameters
    ----------
    rewards : array_like, shape (..., n)
        Rewards ``r(y)``; −∞ allowed (zero mass), +∞ takes all mass.
    pi_ref : array_like, shape (..., n)
    tau : float or array_like

    Returns
    -------
    ndarray, shape (..., n)

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 3; Appendix B (``π*_r ∝ πref exp(r/τ)``).

    Examples
    --------
    With ``r = (log 3, 0)`` and uniform πref: ``π* ∝ (3, 1)`` at τ = 1, ``∝ (9, 1)`` at
    τ = 1/2:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> print(np.round(px.rlhf_policy([np.log(3.0), 0.0], [0.5, 0.5], [1.0, 0.5]), 4))
    [[0.75 0.25]
     [0.9  0.1 ]]
    """
    return np.exp(_gibbs_log_policy(pi_ref, rewards, tau, "rewards"))


def _kl_terms(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Elementwise ``p log(p/q) − p + q ≥ 0``, accurate to a few ulps even when p ≈ q."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        t = (p - q) / q
        small = np.abs(t) < 0.1
        ts = np.where(small, t, 0.0)
        # φ(t) = (1+t) log1p(t) − t = Σ_{k≥2} (−1)^k t^k / (k(k−1)), Horner in t.
        series = np.zeros_like(ts)
        for k in range(20, 1, -1):
            series = ts * (series + (-1.0) ** k / (k * (k - 1)))
        series = ts * series
        ratio = p / q
        log_ratio = np.where(
            (ratio > 0) & np.isfinite(ratio), np.log(ratio), _base.log(p) - _base.log(q)
        )
        direct = np.where(p > 0, p * log_ratio, 0.0) - p + q
        terms = np.where(small, q * series, direct)
    terms = np.where((q == 0) & (p > 0), np.inf, terms)
    return np.where((q == 0) & (p == 0), 0.0, terms)


def kl_divergence(p, q) -> np.ndarray:
    """``KL(p ‖ q) = Σ_y p(y) log(p(y) / q(y))`` on the last axis (Sec. 3.1.2).

    Conventions: ``0 · log 0 = 0``; ``+∞`` where ``q(y) = 0 < p(y)``. Computed as
    ``Σ_y [p log(p/q) − p + q]``, equal to the KL for normalised inputs, each term being
    non-negative and evaluated with a series when ``p ≈ q``; so tiny divergences (τ → ∞)
    keep full relative accuracy instead of cancelling.

    Parameters
    ----------
    p, q : array_like, shape (..., n)
        Probability vectors (validated to sum to 1 within 1e-9).

    Returns
    -------
    ndarray, shape (...)

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 3.1.2 (the KL term of Eq. 3 and Eq. 6).

    Examples
    --------
    ``KL((3/4, 1/4) ‖ (1/2, 1/2)) = (3/4) log(3/2) + (1/4) log(1/2)``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> print(f"{px.kl_divergence([0.75, 0.25], [0.5, 0.5]):.6f}")
    0.130812
    >>> print(f"{0.75 * np.log(1.5) + 0.25 * np.log(0.5):.6f}")
    0.130812
    >>> print(px.kl_divergence([[1.0, 0.0], [0.5, 0.5]], [1.0, 0.0]))
    [ 0. inf]
    """
    p = _checks.probability_vector(p, "p")
    q = _checks.probability_vector(q, "q")
    _checks.n_actions_match(p.shape[-1], "p", q=q)
    _checks.broadcastable(("p", p.shape[:-1]), ("q", q.shape[:-1]))
    return np.sum(_kl_terms(*np.broadcast_arrays(p, q)), axis=-1)


def regularised_objective(pi, f, pi_ref, tau, rho=None) -> np.ndarray:
    """``L_τ(π) = E_{y∼π}[f(y)] − τ KL(π ‖ πref)`` of App. A.1, averaged over ``x ∼ ρ``.

    The common form of Eq. 3 (``f = r``) and Eq. 6 (``f = g``). Terms with ``π(y) = 0``
    contribute nothing (so ``f = −∞`` there is harmless).

    Parameters
    ----------
    pi, pi_ref : array_like, shape (..., n)
    f : array_like, shape (..., n)
        Values in ℝ ∪ {±∞}.
    tau : float or array_like
    rho : array_like, shape (n_contexts,), optional
        Weights of the last leading axis (contexts); the result loses that axis.

    Returns
    -------
    ndarray
        Shape: the broadcast leading shape, without the context axis when ``rho`` is given.

    Raises
    ------
    ValueError
        If the value is undefined (∞ − ∞: π puts mass on ``f = +∞`` and on ``f = −∞``, or
        on ``f = +∞`` and outside Supp(πref)).

    References
    ----------
    Azar et al., arXiv:2310.12036, Appendix A.1 (``L_τ(δ)``); Eq. 3 and Eq. 6.

    Examples
    --------
    Appendix A.1: the maximum, reached at ``δ* ∝ η exp(f/τ)``, is ``τ log Σ η exp(f/τ)``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> f, eta, tau = np.array([0.75, 0.25]), np.array([0.5, 0.5]), 1.0
    >>> best = px.regularised_objective(px.gibbs_policy(eta, f, tau), f, eta, tau)
    >>> print(f"{best:.6f} {tau * np.log(eta @ np.exp(f / tau)):.6f}")
    0.530930 0.530930
    >>> print(f"{px.regularised_objective(eta, f, eta, tau):.6f}")  # δ = η: E_η[f], no KL
    0.500000

    With ``rho`` the last leading axis is a context axis, averaged over ρ:

    >>> pi = np.array([[1.0, 0.0], [0.5, 0.5]])
    >>> print(f"{px.regularised_objective(pi, [1.0, 0.0], eta, 1.0, rho=[0.5, 0.5]):.6f}")
    0.403426
    """
    return _regularised_objective(pi, f, pi_ref, tau, rho, "f")


def _regularised_objective(pi, f, pi_ref, tau, rho, f_name: str) -> np.ndarray:
    """:func:`regularised_objective`, with errors about ``f`` naming it ``f_name``."""
    pi = _checks.probability_vector(pi, "pi")
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    f = _checks.as_float_array(f, f_name, min_ndim=1, allow_inf=True)
    _checks.n_actions_match(pi.shape[-1], "pi", pi_ref=pi_ref, **{f_name: f})
    lead = _checks.broadcastable(
        ("pi", pi.shape[:-1]), ("pi_ref", pi_ref.shape[:-1]), (f_name, f.shape[:-1])
    )
    t, lead = _base.tau_for(tau, lead)
    charged = (pi > 0) & np.ones_like(f, dtype=bool)
    plus = (charged & np.isposinf(f)).any(-1)
    minus = (charged & np.isneginf(f)).any(-1)
    kl = kl_divergence(pi, pi_ref)
    if (plus & (minus | np.isinf(kl))).any():
        raise ValueError(
            "the objective is undefined (inf - inf): pi puts mass on an action with "
            f"{f_name} = +inf and on one with {f_name} = -inf or outside Supp(pi_ref)"
        )
    with np.errstate(invalid="ignore"):
        reward = np.sum(np.where(charged & np.isfinite(f), pi * f, 0.0), axis=-1)
    reward = np.where(plus, np.inf, np.where(minus, -np.inf, reward))
    # τ KL beyond the float maximum: −∞, correctly rounded; but a reward of +∞ (KL finite,
    # checked above) stays +∞ however large τ KL is: never ∞ − ∞.
    with np.errstate(over="ignore", invalid="ignore"):
        value = np.broadcast_to(np.where(plus, np.inf, reward - t * kl), lead)
    return _base.reduce_contexts(value, rho)


def psipo_objective(pi, prefs, mu, pi_ref, tau, psi: PsiLike = "identity", rho=None):
    """The ΨPO objective of Eq. 6: ``E_{x∼ρ, y∼π, y′∼µ}[Ψ(p*(y ≻ y′))] − τ D_KL(π ‖ πref)``.

    Parameters
    ----------
    pi : array_like, shape (..., n)
        The policy evaluated.
    prefs : array_like, shape (..., n, n)
    mu, pi_ref : array_like, shape (..., n)
    tau : float or array_like
    psi : str or callable, default "identity"
    rho : array_like, shape (n_contexts,), optional
        Context weights over the last leading axis.

    Returns
    -------
    ndarray

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 6 (and Eq. 8 for Ψ = identity).

    Examples
    --------
    Sec. 5.3.1 at τ = 1: the Eq. 7 policy attains the maximum ``τ log E_πref[exp(g/τ)]``
    (Appendix A.1), above the value at πref, ``E_πref[g] = 1/2``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> prefs, uniform = np.array([[0.5, 1.0], [0.0, 0.5]]), np.array([0.5, 0.5])
    >>> best = px.psipo_policy(prefs, uniform, uniform, 1.0)
    >>> print(f"{px.psipo_objective(best, prefs, uniform, uniform, 1.0):.6f}")
    0.530930
    >>> print(f"{np.log(0.5 * np.exp(0.75) + 0.5 * np.exp(0.25)):.6f}")
    0.530930
    >>> print(f"{px.psipo_objective(uniform, prefs, uniform, uniform, 1.0):.6f}")
    0.500000
    """
    _checks.probability_vector(pi, "pi")  # before g: invalid input never reaches the maths
    _checks.probability_vector(pi_ref, "pi_ref")
    _checks.tau(tau)
    return regularised_objective(pi, expected_psi(prefs, mu, psi), pi_ref, tau, rho)


def rlhf_objective(pi, rewards, pi_ref, tau, rho=None):
    """The KL-regularised RLHF objective of Eq. 3: ``E_π[r] − τ D_KL(π ‖ πref)``.

    Parameters
    ----------
    pi : array_like, shape (..., n)
    rewards : array_like, shape (..., n)
    pi_ref : array_like, shape (..., n)
    tau : float or array_like
    rho : array_like, shape (n_contexts,), optional

    Returns
    -------
    ndarray

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 3.

    Examples
    --------
    With ``r = (log 3, 0)``, uniform πref and τ = 1, the maximiser ``(3/4, 1/4)`` attains
    ``τ log E_πref[exp(r/τ)] = log 2`` (Appendix A.1):

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> r, uniform = np.array([np.log(3.0), 0.0]), np.array([0.5, 0.5])
    >>> print(f"{px.rlhf_objective([0.75, 0.25], r, uniform, 1.0):.6f} {np.log(2):.6f}")
    0.693147 0.693147
    """
    return _regularised_objective(pi, rewards, pi_ref, tau, rho, "rewards")


def total_preference(pi, prefs, mu, rho=None) -> np.ndarray:
    """Total preference ``p*_ρ(π ≻ µ) = E_{x∼ρ, y∼π}[p*(y ≻ µ | x)]`` (Sec. 2, Eq. 8).

    Parameters
    ----------
    pi : array_like, shape (..., n)
    prefs : array_like, shape (..., n, n)
    mu : array_like, shape (..., n)
    rho : array_like, shape (n_contexts,), optional

    Returns
    -------
    ndarray

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 and Eq. 8.

    Examples
    --------
    Sec. 5.3.1: always playing y₁ is preferred to µ with probability 3/4; playing µ itself,
    with probability 1/2 (for any preferences):

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> prefs, uniform = np.array([[0.5, 1.0], [0.0, 0.5]]), np.array([0.5, 0.5])
    >>> print(px.total_preference([1.0, 0.0], prefs, uniform))
    0.75
    >>> print(px.total_preference(uniform, prefs, uniform))
    0.5
    """
    pi = _checks.probability_vector(pi, "pi")
    against = preference_against(prefs, mu)
    _checks.n_actions_match(against.shape[-1], "prefs", pi=pi)
    _checks.broadcastable(("pi", pi.shape[:-1]), ("prefs/mu", against.shape[:-1]))
    return _base.reduce_contexts(np.sum(pi * against, axis=-1), rho)


def log_ratio_gap(pi, pi_ref) -> np.ndarray:
    """``h_π(y, y′) = log[π(y) πref(y′) / (π(y′) πref(y))]`` (Sec. 5.1, before Eq. 12).

    Parameters
    ----------
    pi, pi_ref : array_like, shape (..., n)
        Policies with full support (h is undefined where either vanishes).

    Returns
    -------
    h : ndarray, shape (..., n, n)
        Antisymmetric: ``h[..., i, j] = −h[..., j, i]``.

    Raises
    ------
    ValueError
        If ``pi`` or ``pi_ref`` has a zero entry.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.1 (``h_π``, Eq. 11 and Eq. 12).

    Examples
    --------
    Eq. 11 at the IPO optimum of Sec. 5.3.1: ``h*(y₁, y₂) = (g(y₁) − g(y₂))/τ = 1/(2τ)``,
    which is 1 at τ = 1/2:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> prefs, uniform = np.array([[0.5, 1.0], [0.0, 0.5]]), np.array([0.5, 0.5])
    >>> h = px.log_ratio_gap(px.psipo_policy(prefs, uniform, uniform, 0.5), uniform)
    >>> print(np.round(h, 4))
    [[ 0.  1.]
     [-1.  0.]]
    """
    pi = _checks.probability_vector(pi, "pi")
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    _checks.n_actions_match(pi.shape[-1], "pi", pi_ref=pi_ref)
    _checks.broadcastable(("pi", pi.shape[:-1]), ("pi_ref", pi_ref.shape[:-1]))
    for name, arr in (("pi", pi), ("pi_ref", pi_ref)):
        zero = arr == 0
        if zero.any():
            i = tuple(int(k) for k in np.argwhere(zero)[0])
            raise ValueError(f"{name}{list(i)} = 0: h_pi needs pi > 0 and pi_ref > 0")
    ratio = np.log(pi) - np.log(pi_ref)
    return ratio[..., :, None] - ratio[..., None, :]
