"""Exact minimisers of the IPO losses of Azar et al. (arXiv:2310.12036).

* Population (Eq. 13/14): a quadratic in the logits equal to ``2 Var_µ(d)`` with
  ``d = s − log πref − p*(·≻µ)/τ``; solved in O(n) per problem (Theorem 2, App. A.2).
* Empirical (Eq. 17): least squares on the comparison graph, one equation
  ``s_w − s_l = 1/(2τ) + log πref(w) − log πref(l)`` per datum; its normal matrix is the
  graph Laplacian, independent of τ: one sparse solve (:mod:`._laplacian`) serves every τ.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import connected_components

from .. import _base, _checks
from ..closed_form import gibbs_log_policy, preference_against, softmax_policy
from ..model import Dataset
from ._groups import free_groups, unflatten_free
from ._laplacian import component_mean, laplacian, laplacian_product, laplacian_solve, pull_back
from ._problem import context_pi_ref, model_arguments, nodes, population_inputs, tau_axes
from .result import Solution, make_solution


def solve_ipo_population(prefs, mu=None, pi_ref=None, tau=None) -> Solution:
    """Exact minimiser of the population IPO loss (Eq. 13), as the quadratic Eq. 14 in logits.

    With ``d = s − log πref − p*(·≻µ)/τ``, Eq. 14 equals ``2 Var_µ(d)``: zero exactly when
    ``d`` is constant on Supp(µ), i.e. ``s = log πref + p*(·≻µ)/τ + c`` there (Eq. 11). Logits
    off Supp(µ) do not enter the loss (App. A.2). The returned logits are the minimiser
    closest to ``log πref`` (also the gradient-descent limit from ``log πref``): unchanged
    off Supp(µ), and ``c = −mean_{Supp(µ)} p*(·≻µ)/τ``. When Supp(µ) = Supp(πref) the policy
    is unique and equals Eq. 7's ``psipo_policy(prefs, mu, pi_ref, tau, "identity")``
    (Theorem 2). O(n) per problem.

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
    mu, pi_ref : array_like, shape (..., n)
        Supp(µ) ⊆ Supp(πref) is required.
    tau : float or array_like
        τ > 0, broadcast against the leading axes.

    Returns
    -------
    Solution
        ``exists`` is True; ``unique`` iff Supp(µ) = Supp(πref) in every problem; ``free``
        groups Supp(µ) and each action of Supp(πref) \\ Supp(µ) (indices into the broadcast
        shape of ``prefs``/``mu``/``pi_ref``); ``residual`` is τ times the largest absolute
        gradient of Eq. 14 in the logits (the gradient scales as 1/τ; so scaled it is
        comparable across τ and finite for every τ). Where τ is so small that the logits
        exceed the float range (τ below ~1e-308), ``policy`` is still the exact Eq. 7 policy
        and ``logits`` is ``log policy`` in those rows.

    Raises
    ------
    ValueError
        On invalid probabilities, mismatched shapes, or µ > 0 where πref = 0.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 13 and 14, Theorem 2 (uniqueness), Appendix A.2
    (non-uniqueness), Sec. 5.3.1 (the example below).

    Examples
    --------
    Sec. 5.3.1: ``π*(y₁) = σ(1/(2τ))``, one solution per τ of the grid:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> prefs, uniform = np.array([[0.5, 1.0], [0.0, 0.5]]), np.array([0.5, 0.5])
    >>> taus = np.array([0.1, 1.0, 10.0])
    >>> sol = px.solve_ipo_population(prefs, uniform, uniform, taus)
    >>> sol.status, sol.policy.shape
    (0, (3, 2))
    >>> print(np.round(sol.policy[:, 0], 4), np.round(1 / (1 + np.exp(-0.5 / taus)), 4))
    [0.9933 0.6225 0.5125] [0.9933 0.6225 0.5125]

    Appendix A.2: with ``µ = (½, ½, 0)`` only ``π(y₁)/π(y₂) = exp((p(y₁≻µ) − p(y₂≻µ))/τ)``
    is determined (``e^0.3`` here); y₃'s mass is free:

    >>> prefs = np.array([[0.5, 0.8, 0.3], [0.2, 0.5, 0.6], [0.7, 0.4, 0.5]])
    >>> sol = px.solve_ipo_population(prefs, [0.5, 0.5, 0.0], np.ones(3) / 3, 1.0)
    >>> sol.status, sol.free
    (1, ((0, 1), (2,)))
    >>> print(f"{sol.policy[0] / sol.policy[1]:.6f} {np.exp(0.65 - 0.35):.6f}")
    1.349859 1.349859
    """
    prefs, mu, pi_ref, tau = model_arguments(prefs, mu, pi_ref, tau)
    prefs, mu, pi_ref, lead = population_inputs(prefs, mu, pi_ref)
    n = prefs.shape[-1]
    t, full = _base.tau_for(tau, lead)
    against = np.broadcast_to(preference_against(prefs, mu), lead + (n,))
    mu_b = np.broadcast_to(mu, lead + (n,))
    ref_b = np.broadcast_to(pi_ref, lead + (n,))
    support = mu_b > 0
    centre = np.sum(against * support, -1, keepdims=True) / support.sum(-1, keepdims=True)
    # g = p*(·≻µ) on Supp(µ), the centre off it, so that log π − log πref − (g − centre)/τ
    # vanishes off Supp(µ): logits there stay at log πref.
    g = np.where(support, against, centre)
    t_b = np.broadcast_to(t, full)[..., None]
    log_policy = gibbs_log_policy(ref_b, g, t_b[..., 0])
    with np.errstate(over="ignore"):
        logits = _base.log(ref_b) + (g - centre) / t_b
    logits = _unless_overflowed(logits, ref_b > 0, lambda: log_policy)
    policy = np.exp(log_policy)
    # Global group ids: Supp(µ) is one group per problem, other actions are singletons.
    problem = np.arange(ref_b.size // n).reshape(lead + (1,)) * (n + 1)
    groups = problem + np.where(support, n, np.arange(n))
    free = unflatten_free(free_groups(groups.ravel(), (ref_b > 0).ravel(), n, not lead), lead)
    residual = _ipo_population_gradient(g - centre, against, mu_b)
    if free:
        detail = ("pi_ref puts mass outside Supp(mu), where the loss does not constrain the "
                  "logits (App. A.2); returned the minimiser closest to log pi_ref")
    else:
        detail = "Supp(mu) = Supp(pi_ref) (Theorem 2)"
    return make_solution(policy, logits, exists=True, free=free, residual=residual,
                         detail=detail)


def _ipo_population_gradient(scaled, against, mu) -> float:
    """``τ · max |∂ Eq.14 / ∂s| = max 4 µ(y) |τd(y) − E_µ τd|`` on Supp(µ), where
    ``τd = τ(s − log πref) − p*(·≻µ)`` and ``scaled = τ(s − log πref)`` (finite for every τ)."""
    support = mu > 0
    d = np.where(support, scaled - against, 0.0)
    centred = d - np.sum(mu * d, -1, keepdims=True)
    return float(np.max(4 * mu * np.abs(centred), initial=0.0))


def solve_ipo_empirical(data: Dataset, pi_ref, tau, init=None) -> Solution:
    """Exact minimiser of the empirical IPO loss, Eq. 17, as sparse least squares.

    Eq. 17 asks ``θ_w − θ_l = 1/(2τ) + log πref(w) − log πref(l)`` for every datum (with
    multiplicity, or its weight ``Dataset.weights``), and a tie (``Dataset.ties``, Eq. 16
    with ``I = ½`` both ways) asks ``θ_w − θ_l = log πref(w) − log πref(l)``; the normal
    matrix is the comparison-graph Laplacian, independent of τ, so
    ``θ(τ) = θ₁/(2τ) + θ₂`` from two sparse solves shared by every τ. Its null space is one
    constant per connected component (per context): the returned logits are the least-squares
    solution closest to ``init``, i.e. the gradient-descent limit from ``init`` (each
    component keeps ``init``'s mean logit). Contexts form one block-diagonal problem.

    Parameters
    ----------
    data : Dataset
    pi_ref : array_like, shape (n,) or data.logits_shape
        Reference policy, positive on every compared action.
    tau : float or array_like
        τ > 0; an array gives one solution per τ (output shape ``tau.shape + logits_shape``).
    init : array_like, optional
        Starting logits, broadcastable to the output; default ``log πref``. ``−∞`` is allowed
        only on actions never compared.

    Returns
    -------
    Solution
        ``exists`` is True; ``unique`` iff, in every context, the actions that can carry mass
        (compared, ``πref > 0`` or finite ``init``) form one connected component; ``free``
        lists the components of the other contexts;
        ``residual`` is the relative normal-equation residual ``max |L θ_k − b_k| / max |b_k|``
        of the two τ-independent solves (``θ(τ) = θ₁/(2τ) + θ₂``; counts as weights), finite
        for every τ. For τ so small that the logits exceed the float range
        (``|θ₁|/(2τ) > 1.8e308``, τ below ~1e-308), ``policy`` is still the exact (correctly
        rounded) minimiser, computed in Gibbs form, and ``logits`` is ``log policy`` in
        those rows (``−∞`` where the policy underflows to 0).

    Raises
    ------
    ValueError
        If ``pi_ref`` does not fit the data or vanishes on a compared action, or ``init`` is
        not finite on a compared action.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 17 and Algorithm 1 (Sec. 5.2); the datasets of
    Sec. 5.4.

    Examples
    --------
    D1 with uniform πref: least squares gives ``θ_a − θ_b = θ_b − θ_c = 2/(3 · 2τ)``, so at
    τ = 1 the logits are ``(1/3, 0, −1/3)`` up to a constant and
    ``π = softmax(1/3, 0, −1/3)``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> d1, uniform = px.paper_dataset("D1"), np.ones(3) / 3
    >>> sol = px.solve_ipo_empirical(d1, uniform, 1.0)
    >>> print(sol.status, np.round(sol.logits - sol.logits.mean(), 4))
    0 [ 0.3333  0.     -0.3333]
    >>> print(np.round(sol.policy, 4), np.round(px.softmax_policy([1 / 3, 0, -1 / 3]), 4))
    [0.4484 0.3213 0.2302] [0.4484 0.3213 0.2302]

    D3 as printed ({a≻b, b≻a}): c is never compared, so its mass is free; the returned
    member keeps c's logit at ``init`` (default ``log πref``):

    >>> sol = px.solve_ipo_empirical(px.paper_dataset("D3"), uniform, [0.1, 1.0])
    >>> sol.status, sol.free, sol.policy.shape
    (1, ((0, 1), (2,)), (2, 3))
    >>> print(np.round(sol.policy, 4))
    [[0.3333 0.3333 0.3333]
     [0.3333 0.3333 0.3333]]
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    pi_ref, gap = context_pi_ref(pi_ref, data)
    t = tau_axes(tau, data)
    heads, tails, size = nodes(data)
    counted = data.datum_weights > 0  # data of weight 0 do not enter Eq. 17
    heads, tails, gap = heads[counted], tails[counted], gap[..., counted]
    weights = data.datum_weights[counted]
    decisive = 1.0 if data.ties is None else ~data.ties[counted]  # a tie asks h = 0 (Eq. 16)
    lap = laplacian(heads, tails, weights, size)
    n_comp, labels = connected_components(lap, directed=False)
    # Right-hand sides BᵀC1 (the 1/(2τ) part) and BᵀC(log-πref gaps), C = diag(weights).
    rhs = np.stack([pull_back(weights * decisive, heads, tails, size),
                    pull_back(weights * gap, heads, tails, size)], 1)
    degree = np.bincount(heads, minlength=size) + np.bincount(tails, minlength=size)
    solved = laplacian_solve(lap, labels, rhs, fixed_weights=True)
    shape = t.shape[: t.ndim - len(data.logits_shape)] + data.logits_shape
    start = _start_logits(init, _base.log(pi_ref), shape, degree)
    with np.errstate(over="ignore", invalid="ignore"):  # τ ≲ 1e-308: see _unless_overflowed
        theta = (solved[:, 0] / (2 * t.reshape(-1, 1)) + solved[:, 1]).reshape(shape)
        logits = _shift_to_mean(theta, start, labels, n_comp)
    logits = _unless_overflowed(logits, np.isfinite(start), lambda: _ipo_empirical_limit(
        solved, start, labels, n_comp, t, data.logits_shape))
    policy = softmax_policy(logits)
    residual = _normal_residual(lap, solved, rhs, degree > 0)
    # Mass can sit on compared actions, on πref's support and wherever init is finite;
    # whether the policy is unique does not depend on init (an init of −∞ on an uncompared
    # action with πref > 0 is one member of the free family, not the only one).
    live = (degree > 0) | (pi_ref.ravel() > 0) | np.isfinite(start).reshape(-1, size).any(0)
    free = free_groups(labels, live, data.n_actions, single=data.contexts is None)
    return make_solution(policy, logits, exists=True, free=free, residual=residual,
                         detail=_ipo_empirical_detail(free))


def _unless_overflowed(logits, finite, log_policy):
    """``logits``, or ``log_policy()`` in the rows (action axis last) that overflowed.

    The IPO logits grow like 1/τ: for τ below ~1e-308 (down to the smallest subnormal) they
    exceed the float range and come out ±∞ or NaN where they should be ``finite``. Such rows
    are not representable as logits; they get the log of the exact policy instead, computed
    in Gibbs form (Eq. 7), which stays exact for every τ > 0 (``−∞`` where it underflows).
    """
    broken = (np.isnan(logits) | np.isposinf(logits) | (np.isneginf(logits) & finite))
    broken = broken.any(-1, keepdims=True)
    return np.where(broken, log_policy(), logits) if broken.any() else logits


def _ipo_empirical_limit(solved, start, labels, n_comp, t, logits_shape):
    """``log softmax(θ(τ))`` for every τ, with ``θ(τ) = slope/τ + offset`` (slope: θ₁/2
    centred per component; offset: θ₂ shifted to ``start``'s component means), as the Gibbs
    policy of ``softmax(offset)`` with scores ``slope`` (exact down to subnormal τ)."""
    slope = (solved[:, 0] - component_mean(solved[:, 0], labels, n_comp)) / 2
    offset = _shift_to_mean(np.broadcast_to(solved[:, 1].reshape(logits_shape), start.shape),
                            start, labels, n_comp)
    return gibbs_log_policy(softmax_policy(offset), slope.reshape(logits_shape), t[..., 0])


def _normal_residual(lap, solved: np.ndarray, rhs: np.ndarray, compared: np.ndarray) -> float:
    """Relative normal-equation residual ``max |L θ_k − b_k| / max |b_k|`` of the two
    τ-independent solves (θ₁ for the 1/(2τ) part, θ₂ for the πref part), on compared nodes:
    finite and comparable for every τ, as ``θ(τ) = θ₁/(2τ) + θ₂``."""
    product = laplacian_product(lap, np.where(compared, solved.T, 0.0), fast=True)
    scale = np.max(np.abs(rhs), axis=0, initial=0.0)
    error = np.max(np.abs(product - rhs.T), axis=1, initial=0.0)
    return float(np.max(error / np.where(scale > 0, scale, np.inf), initial=0.0))


def _start_logits(init, log_ref, shape, degree) -> np.ndarray:
    """Validated starting logits broadcast to ``shape`` (default ``log πref``)."""
    if init is None:
        return np.broadcast_to(log_ref, shape)
    start = _checks.as_float_array(init, "init", allow_inf=True)
    try:
        start = np.broadcast_to(start, shape)
    except ValueError:
        raise ValueError(f"init has shape {start.shape}, must broadcast to {shape}") from None
    flat = start.reshape(-1, degree.size)
    bad = (~np.isfinite(flat) & (degree > 0)) | np.isposinf(flat)
    if bad.any():
        node = int(np.argwhere(bad)[0][1])
        where = np.unravel_index(node, shape[len(shape) - log_ref.ndim:])
        value = flat[np.argwhere(bad)[0][0], node]
        raise ValueError(f"init{list(map(int, where))} = {value}: init must be finite on "
                         "every compared action")
    return start


def _shift_to_mean(theta, start, labels, n_comp) -> np.ndarray:
    """``θ + mean_c(start − θ)`` per component c; ``−∞`` kept on uncompared ``−∞`` starts."""
    flat_theta = theta.reshape(-1, labels.size)
    flat_start = np.broadcast_to(start, theta.shape).reshape(-1, labels.size)
    dead = np.isneginf(flat_start)
    finite_start = np.where(dead, 0.0, flat_start)
    shift = component_mean(finite_start - flat_theta, labels, n_comp)
    return np.where(dead, -np.inf, flat_theta + shift).reshape(theta.shape)


def _ipo_empirical_detail(free: tuple) -> str:
    if not free:
        return "the comparison graph is connected (per context)"
    return (
        f"{len(free)} groups (connected components of the comparison "
        "graph, never-compared actions alone) have free relative mass; returned the "
        "gradient-descent limit from init (each component keeps init's mean logit)"
    )
