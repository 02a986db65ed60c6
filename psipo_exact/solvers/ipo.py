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
from ..closed_form import gibbs_policy, preference_against, softmax_policy
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
        shape of ``prefs``/``mu``/``pi_ref``); ``residual`` is the largest absolute gradient
        of Eq. 14 in the logits.

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
    logits = _base.log(ref_b) + (g - centre) / t_b
    policy = gibbs_policy(ref_b, g, t_b[..., 0])
    # Global group ids: Supp(µ) is one group per problem, other actions are singletons.
    problem = np.arange(ref_b.size // n).reshape(lead + (1,)) * (n + 1)
    groups = problem + np.where(support, n, np.arange(n))
    free = unflatten_free(free_groups(groups.ravel(), (ref_b > 0).ravel(), n, not lead), lead)
    residual = _ipo_population_gradient(logits, ref_b, against, mu_b, t_b)
    if free:
        detail = ("pi_ref puts mass outside Supp(mu), where the loss does not constrain the "
                  "logits (App. A.2); returned the minimiser closest to log pi_ref")
    else:
        detail = "Supp(mu) = Supp(pi_ref) (Theorem 2)"
    return make_solution(policy, logits, exists=True, free=free, residual=residual,
                         detail=detail)


def _ipo_population_gradient(logits, pi_ref, against, mu, t) -> float:
    """``max |∂ Eq.14 / ∂s| = max 4 µ(y) |d(y) − E_µ d|`` on Supp(µ)."""
    support = mu > 0
    d = np.where(support, logits - _base.log(np.where(support, pi_ref, 1.0)) - against / t, 0.0)
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
        ``residual`` is ``max |L θ − b|``, the normal-equation residual of
        ``½ Σ_i (h_i − 1/(2τ))²`` (counts as weights), over every τ.

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
    solved = laplacian_solve(lap, labels, rhs)
    shape = t.shape[: t.ndim - len(data.logits_shape)] + data.logits_shape
    theta = (solved[:, 0] / (2 * t.reshape(-1, 1)) + solved[:, 1]).reshape(shape)
    start = _start_logits(init, _base.log(pi_ref), shape, degree)
    logits = _shift_to_mean(theta, start, labels, n_comp)
    residual = _normal_residual(lap, logits.reshape(-1, size), rhs, t.reshape(-1), degree > 0)
    # Mass can sit on compared actions, on πref's support and wherever init is finite;
    # whether the policy is unique does not depend on init (an init of −∞ on an uncompared
    # action with πref > 0 is one member of the free family, not the only one).
    live = (degree > 0) | (pi_ref.ravel() > 0) | np.isfinite(start).reshape(-1, size).any(0)
    free = free_groups(labels, live, data.n_actions, single=data.contexts is None)
    return make_solution(softmax_policy(logits), logits, exists=True, free=free,
                         residual=residual, detail=_ipo_empirical_detail(free))


def _normal_residual(lap, logits: np.ndarray, rhs: np.ndarray, tau: np.ndarray,
                     compared: np.ndarray) -> float:
    """``max |L θ(τ) − Bᵀ c(τ)|`` over every τ (rows of ``logits``), on compared nodes."""
    target = rhs[:, 0] / (2 * tau[:, None]) + rhs[:, 1]
    product = laplacian_product(lap, np.where(compared, logits, 0.0), fast=True)
    return float(np.max(np.abs(product - target), initial=0.0))


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
