"""Exact optima of the preference-loss family (:data:`~psipo_exact.losses.PAIRWISE_LOSSES`).

One entry point per problem form, one :class:`~.result.Solution` contract:

* margin losses (``sigmoid``, ``cdpo``, ``robust``, ``exponential``, ``squared``, ``ipo``,
  ``truncated_quadratic``, ``hinge``; and the non-convex ``savage``, ``discopop``,
  ``exo_pair``): a τ-free reward fit on the comparison graph (:mod:`._margin`), then the
  policy ``πref exp(r/τ)`` (``reverse_kl``; Proposition 4's analogue) or the f-regularised
  policy of the fitted rewards (:func:`~psipo_exact.losses.f_regularised_policy`; Wang et
  al. 2023's theorem for TRL's ``f_divergence_type``);
* separable losses of separate log-ratios (``nca_pair``, ``bco_pair``, ``sppo_hard``,
  ``apo_zero``): one Lagrange multiplier per problem (:mod:`._separable`), exact where the
  problem is convex;
* everything else (``apo_down``; separable losses outside their convex case or with a
  non-identity f-divergence; ``apo_zero`` with τ > 1): a stationary point by L-BFGS-B with
  the exact gradient, reported with status ``STATIONARY``.

Statuses: ``OPTIMUM``/``OPTIMAL_SET`` (finite minimisers), ``LIMIT``/``LIMIT_SET`` (the
minimum is approached only as some probabilities → 0), ``UNBOUNDED`` (``robust`` when some
set of actions wins too often; the reported policy is πref), ``STATIONARY``,
``NOT_CONVERGED`` (also ``robust`` bounded below without a minimiser: a set of actions, not a
union of connected components, loses exactly a fraction ε of its comparisons with the rest;
the message names it, the limit policy is not computed).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .. import _base
from ..closed_form import gibbs_log_policy, preference_against, softmax_policy
from ..losses import (
    f_regularised_policy,
    pairwise,
    pairwise_empirical,
    pairwise_population,
)
from ..model import Dataset
from ._groups import free_groups, lead_description, unflatten_free
from ._margin import MarginFit, fit_margin
from ._problem import context_pi_ref, data_edges, population_edges, population_inputs, tau_axes
from ._separable import CONVEX_IN_S, SEPARABLE, fit_separable
from .bradley_terry import BTFit, bt_solution
from .result import NOT_CONVERGED, STATIONARY, UNBOUNDED, Solution, make_solution

#: Gradient max-norm below which the L-BFGS-B fallback reports a stationary point.
STATIONARY_TOL = 1e-8


class _Problem:
    """The data of one call: leading shape, πref, τ and how to evaluate the loss.

    ``evaluate(logits)`` gives the loss and its gradient for all problems at once (logits of
    shape ``out_shape``); ``evaluate_one(k, x)`` for the ``k``-th problem alone (flat index
    over ``out_shape[:-1]``, ``x`` its logits), or None if no datum involves it.
    """

    def __init__(self, lead, n, pi_ref, tau, desc, names, evaluate, evaluate_one):
        self.lead, self.n, self.pi_ref, self.tau = lead, n, pi_ref, tau
        self.desc, self.names = desc, names
        self.evaluate, self.evaluate_one = evaluate, evaluate_one


def _weighted(heads, tails, log_weights, size):
    """Edges with their weights, as the margin fits take them (the graph inputs carry logs);
    an edge whose weight underflows to 0 is dropped, as its product would be."""
    weights = np.exp(log_weights)
    keep = weights > 0
    return heads[keep], tails[keep], weights[keep], size


def solve_pairwise_empirical(name: str, data: Dataset, pi_ref, tau, **params) -> Solution:
    """Exact minimiser (or limit, or optimal set) of a registered loss on a dataset.

    Minimises :func:`~psipo_exact.losses.pairwise_empirical` over the policy (the weighted
    mean over ``data``; contexts are independent problems).

    Parameters
    ----------
    name : str
        A registered loss (:data:`~psipo_exact.losses.PAIRWISE_LOSSES`) or alias.
    data : Dataset
    pi_ref : array_like, shape (n,) or data.logits_shape
        Positive on every compared action.
    tau : float or array_like
        τ > 0 (TRL's ``beta``); an array gives output shape ``tau.shape + logits_shape``.
    **params
        The loss's parameters (TRL names and defaults): ``label_smoothing``,
        ``discopop_tau``, ``f_divergence_type``, ``f_alpha_divergence_coef``.

    Returns
    -------
    Solution
        ``policy``/``logits`` (``−∞`` where the policy vanishes). Margin losses: rewards
        ``r = τ(θ − log πref)`` fitted with the loss, mean zero per group (connected
        component, top strongly connected component, or group of the optimal set); for
        ``hinge``/``truncated_quadratic`` the minimum-norm rewards of the optimal set.
        ``residual``: the solver's stationarity or KKT residual (relative to the largest
        weighted degree for graph fits; the max-norm gradient in the logits otherwise).
        ``status``/``message``: module docstring.

    Raises
    ------
    ValueError
        On an unknown loss or parameter, a parameter out of range, invalid πref or τ, or an
        α-divergence with coefficient > 1 whose optimum puts zero mass on a compared action
        (the f-DPO reparametrisation needs ``f′(0⁺) = −∞`` there).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> sol = px.solve_pairwise_empirical("squared", px.paper_dataset("D1"), np.ones(3) / 3, 1.0)
    >>> sol.status, np.round(np.diff(sol.logits), 6).tolist()  # r_a − r_b = r_b − r_c = 2/3
    (0, [-0.666667, -0.666667])

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4, 17 and Proposition 4; TRL ``DPOTrainer``.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    loss = pairwise(name)
    prm = loss.parameters(**params)
    pi_ref_b, _ = context_pi_ref(pi_ref, data)
    t = tau_axes(tau, data)[..., 0]
    lead, n = data.logits_shape[:-1], data.n_actions
    tau_arr = np.asarray(tau, dtype=float)

    def evaluate(logits):
        return pairwise_empirical(loss.name, logits, data, pi_ref_b, tau_arr, return_grad=True,
                                  **params)

    subsets = {}  # context → its own dataset (built once)

    def evaluate_one(k, x):
        t_index, x_index = divmod(k, data.n_contexts)
        if x_index not in subsets:
            mine = data.context_index == x_index
            subsets[x_index] = Dataset(data.winners[mine], data.losers[mine], n,
                                       weights=data.datum_weights[mine]) if mine.any() else None
        if subsets[x_index] is None:
            return None
        return pairwise_empirical(loss.name, x, subsets[x_index], pi_ref_b.reshape(-1, n)[x_index],
                                  tau_arr.ravel()[t_index], return_grad=True, **params)

    problem = _Problem(lead, n, pi_ref_b, t, lead_description(lead, "context"), data, evaluate,
                       evaluate_one)
    if loss.margin:
        fit = fit_margin(loss, prm, *_weighted(*data_edges(data)))
        return _margin_solution(loss, prm, params, fit, problem)
    counts = data.win_counts() / data.total_weight
    return _score_solution(loss, prm, params, counts.sum(-1), counts.sum(-2), problem)


def solve_pairwise_population(name: str, prefs, mu, pi_ref, tau, **params) -> Solution:
    """Exact minimiser (or limit, or optimal set) of a registered loss in population form.

    Minimises :func:`~psipo_exact.losses.pairwise_population` (pairs from ``µ × µ``
    labelled by p*), broadcasting over leading axes.

    Parameters
    ----------
    name : str
        A registered loss or alias.
    prefs : array_like, shape (..., n, n)
    mu, pi_ref : array_like, shape (..., n)
        Supp(µ) ⊆ Supp(πref).
    tau : float or array_like
        τ > 0, broadcast against the leading axes (a grid: ``taus[:, None, ...]``).
    **params
        The loss's parameters (TRL names).

    Returns
    -------
    Solution
        As :func:`solve_pairwise_empirical`; ``free`` indexes the broadcast shape of the
        inputs. Actions outside Supp(µ) are unconstrained by margin losses (they keep their
        πref mass relative to their group).

    Raises
    ------
    ValueError
        As :func:`solve_pairwise_empirical`, and on invalid preferences or µ.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> prefs = np.array([[0.5, 0.9], [0.1, 0.5]])
    >>> sol = px.solve_pairwise_population("cdpo", prefs, [0.5, 0.5], [0.5, 0.5], 1.0,
    ...                                    label_smoothing=0.25)
    >>> bool(np.isclose(np.log(sol.policy[0] / sol.policy[1]), np.log(0.7 / 0.3)))  # logit 0.7
    True

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 5, 13 and Proposition 4; TRL ``DPOTrainer``.
    """
    loss = pairwise(name)
    prm = loss.parameters(**params)
    prefs, mu, pi_ref, lead = population_inputs(prefs, mu, pi_ref)
    n = prefs.shape[-1]
    t, full = _base.tau_for(tau, lead)
    ref_b = np.broadcast_to(pi_ref, lead + (n,))
    t = np.asarray(t, dtype=float)

    def evaluate(logits):
        return pairwise_population(loss.name, softmax_policy(logits), prefs, mu, pi_ref, t,
                                   return_grad=True, **params)

    def evaluate_one(k, x):
        rows = [np.broadcast_to(a, full + a.shape[a.ndim - tail:]).reshape(
            (-1,) + a.shape[a.ndim - tail:])[k] for a, tail in ((prefs, 2), (mu, 1), (pi_ref, 1))]
        x = np.maximum(x, x.max() - 700.0)  # keep π > 0 (the loss needs log π)
        return pairwise_population(loss.name, softmax_policy(x), *rows,
                                   np.broadcast_to(t, full).ravel()[k], return_grad=True,
                                   **params)

    problem = _Problem(lead, n, ref_b, t, lead_description(lead, "problem"), None, evaluate,
                       evaluate_one)
    if loss.margin:
        return _margin_solution(loss, prm, params, fit_margin(
            loss, prm, *_weighted(*population_edges(prefs, mu, lead))), problem)
    against = np.broadcast_to(preference_against(prefs, mu), lead + (n,))
    mu_b = np.broadcast_to(mu, lead + (n,))
    return _score_solution(loss, prm, params, mu_b * against, mu_b * (1.0 - against), problem)


# -- margin losses ---------------------------------------------------------------------------
def _margin_solution(loss, prm, params, fit: MarginFit, problem: _Problem) -> Solution:
    lead, n = problem.lead, problem.n
    rewards = fit.rewards.reshape(lead + (n,))
    if fit.status == UNBOUNDED:
        log_policy = np.broadcast_to(gibbs_log_policy(problem.pi_ref, np.zeros_like(rewards),
                                                      problem.tau), _out_shape(problem))
        return make_solution(np.exp(log_policy), log_policy, exists=False, free=(),
                             residual=0.0, detail=fit.detail, status=UNBOUNDED)
    if prm.transform.identity:
        log_policy = gibbs_log_policy(problem.pi_ref, rewards, problem.tau)
        policy = np.exp(log_policy)
    else:
        policy = f_regularised_policy(rewards, problem.pi_ref, problem.tau,
                                      prm.f_divergence_type,
                                      f_alpha_divergence_coef=prm.f_alpha_divergence_coef)
        if prm.f_divergence_type == "alpha_divergence" and prm.f_alpha_divergence_coef > 1:
            _check_interior(policy, rewards, problem.pi_ref, prm)
        log_policy = _base.log(policy)
    live = np.broadcast_to(problem.pi_ref > 0, lead + (n,)).ravel()
    if fit.kind in ("zermelo", "robust_zermelo"):
        bt = BTFit(fit.rewards, fit.groups, fit.sinking, fit.exists, fit.residual)
        note = " (of the de-noised counts, all >= 0)" if fit.kind == "robust_zermelo" else ""
        return bt_solution(bt, lead, n, live, problem.desc, problem.names, policy, log_policy,
                           limit_note=f"{note}; {loss.name} drives their probability to 0 for "
                           "every tau", free_note=_FREE_NOTES["zermelo"])
    free = unflatten_free(free_groups(fit.groups, live, n, not lead), lead)
    detail = fit.detail or _MARGIN_DETAILS[fit.kind]
    if free and fit.kind in _FREE_NOTES:
        detail += f"; {_FREE_NOTES[fit.kind]}"
    elif fit.kind in ("truncated", "hinge"):
        detail += "; here the polyhedron is a single point (per connected component)"
    if fit.sinking.any():
        detail += "; actions outside the top strongly connected components get probability 0"
    return make_solution(policy, log_policy, exists=fit.exists, free=free,
                         residual=fit.residual, detail=detail, status=fit.status)


_MARGIN_DETAILS = {
    "coercive": "strictly convex and coercive in the reward differences: one minimiser per "
                "connected component",
    "truncated": "semismooth Newton; the minimisers form a polyhedron of difference "
                 "constraints (z = z* where z* < 1, z >= 1 elsewhere)",
    "hinge": "linear program (HiGHS); its dual describes the minimisers as a polyhedron of "
             "difference constraints",
    "robust": "Bradley-Terry on the de-noised counts, some of them negative; bounded below",
    "local": "",
}
_FREE_NOTES = {
    "zermelo": "the relative mass of the free groups is undetermined (reported: the "
               "representative whose rewards have mean zero in every group)",
    "coercive": "the offsets between connected components are undetermined (reported: "
                "mean-zero rewards per component)",
    "robust": "the offsets between connected components are undetermined (reported: "
              "mean-zero rewards per component)",
    "truncated": "the masses of the free groups vary within the optimal set (reported: its "
                 "minimum-norm rewards r = tau (theta - log pi_ref))",
    "hinge": "the masses of the free groups vary within the optimal set (reported: its "
             "minimum-norm rewards r = tau (theta - log pi_ref))",
}


def _check_interior(policy, rewards, pi_ref, prm) -> None:
    """An α-divergence with α > 1 has ``f′(0⁺)`` finite: the f-regularised policy may vanish
    on an action with finite reward, where the f-DPO optimum is not that policy."""
    live = (pi_ref > 0) & np.isfinite(rewards)
    if (live & (policy == 0)).any():
        raise ValueError(
            f"f_alpha_divergence_coef = {prm.f_alpha_divergence_coef} > 1: f'(0+) is finite "
            "and the f-regularised policy of the fitted rewards vanishes on a compared "
            "action, so it is not the f-DPO optimum (Wang et al. need f'(0+) = -inf); use a "
            "coefficient < 1")


def _out_shape(problem: _Problem) -> tuple:
    return np.broadcast_shapes(np.shape(problem.tau), problem.lead) + (problem.n,)


# -- losses of separate log-ratios -----------------------------------------------------------
def _score_solution(loss, prm, params, wins, losses, problem: _Problem) -> Solution:
    shape = _out_shape(problem)
    rows = int(np.prod(shape[:-1], dtype=int))
    flat = [np.broadcast_to(a, shape).reshape(rows, problem.n) for a in
            (wins, losses, problem.pi_ref)]
    tau = np.broadcast_to(np.asarray(problem.tau, dtype=float)[..., None],
                          shape[:-1] + (1,)).reshape(rows, 1)
    separable = loss.name in SEPARABLE and (prm.transform.identity or loss.name == "apo_zero")
    if separable and (loss.name in CONVEX_IN_S or loss.name == "apo_zero"):
        fit = fit_separable(loss, params, *flat, tau)
        log_policy = _normalised_log(fit.log_ratio, flat[2]).reshape(shape)
        if fit.exact.all():
            return _exact_score_solution(loss, fit, log_policy, problem, shape)
        return _stationary_solution(loss, problem, log_policy, np.flatnonzero(~fit.exact))
    return _stationary_solution(loss, problem, np.broadcast_to(_base.log(problem.pi_ref),
                                                               shape))


def _normalised_log(log_ratio, pi_ref):
    """``log π`` from ``s = log π/πref`` (rows with no mass at all fall back to πref)."""
    with np.errstate(invalid="ignore"):
        log_pi = np.where(np.isneginf(log_ratio), -np.inf, log_ratio + _base.log(pi_ref))
    log_pi = np.where(np.isneginf(log_pi).all(-1, keepdims=True), _base.log(pi_ref), log_pi)
    return log_pi - logsumexp(log_pi, axis=-1, keepdims=True)


def _exact_score_solution(loss, fit, log_policy, problem, shape) -> Solution:
    n = problem.n
    groups = (fit.groups + (n + 1) * np.arange(fit.groups.shape[0])[:, None]).ravel()
    groups = np.where(fit.groups.ravel() >= 0, groups, -1)
    lead_all = shape[:-1]
    live = np.broadcast_to(problem.pi_ref > 0, shape).ravel()
    free = unflatten_free(free_groups(groups, live, n, not lead_all), lead_all)
    _, grad = problem.evaluate(np.where(np.isneginf(log_policy), -745.0, log_policy))
    residual = float(np.max(np.abs(np.where(np.isneginf(log_policy), 0.0, grad)), initial=0.0))
    exists = not fit.limit.any()
    detail = _SCORE_DETAIL[loss.name]
    if not exists:
        detail += "; the probability of some actions tends to 0 (their log-ratio to -inf)"
    if free:
        detail += "; never-compared (or, for apo_zero, all) actions share the rest of the mass " \
                  "in an undetermined way (reported: in proportion to pi_ref)"
    return make_solution(np.exp(log_policy), log_policy, exists=exists, free=free,
                         residual=residual, detail=detail)


_SCORE_DETAIL = {
    "nca_pair": "convex in the log-ratios with an active normalisation: one Lagrange "
                "multiplier, exact",
    "bco_pair": "convex in the log-ratios with an active normalisation: one Lagrange "
                "multiplier, exact",
    "sppo_hard": "convex in the log-ratios with an active normalisation: one Lagrange "
                 "multiplier, Lambert W roots, exact",
    "apo_zero": "net winners share the mass (concave for tau <= 1: one Lagrange multiplier, "
                "exact); net losers and unopposed actions get 0",
}


def _stationary_solution(loss, problem: _Problem, start, todo=None) -> Solution:
    """One L-BFGS-B run per problem (``todo``: flat problem indices; default all) with the
    exact gradient in the logits, from several starts, the best kept.

    Starts: ``start`` (−∞ replaced by −50), ``log πref``, and ``log πref`` raised by 5 on
    each of the first six actions in turn (mass moved towards one action). Problems outside
    ``todo`` keep ``start``.
    """
    shape = np.shape(start)
    n = shape[-1]
    flat = np.array(np.broadcast_to(start, shape), dtype=float).reshape(-1, n)
    log_ref = np.broadcast_to(np.where(problem.pi_ref > 0, _base.log(problem.pi_ref), -50.0),
                              shape).reshape(-1, n)
    todo = range(flat.shape[0]) if todo is None else todo
    worst = 0.0
    for k in todo:  # independent non-convex problems: one optimisation each
        if problem.evaluate_one(k, log_ref[k]) is None:
            flat[k] = log_ref[k]
            continue
        starts = [np.where(np.isfinite(flat[k]), flat[k], -50.0), log_ref[k]]
        starts += [log_ref[k] + 5.0 * np.eye(n)[j] for j in range(min(n, 6))]
        flat[k], residual = _best_local(lambda x, k=k: problem.evaluate_one(k, x), starts)
        worst = max(worst, residual)
    logits = flat.reshape(shape)
    logits = logits - logsumexp(logits, axis=-1, keepdims=True)  # log π, as the exact paths
    status = STATIONARY if worst <= STATIONARY_TOL else NOT_CONVERGED
    detail = (f"{loss.name} is not convex here; per problem, L-BFGS-B with the exact gradient "
              "from several starts (the exact solution of the convex relaxation where one "
              "exists, log pi_ref, and mass moved to each action), the best kept")
    return make_solution(softmax_policy(logits), logits, exists=True, free=(),
                         residual=worst, detail=detail, status=status)


def _best_local(evaluate, starts) -> tuple[np.ndarray, float]:
    """The best L-BFGS-B end point over ``starts`` and its max-norm gradient.

    Each run minimises the objective divided by ``max(1, |∇|∞)`` at its start (same
    minimisers): with τ near the largest double the raw gradient (~τ) would overflow
    L-BFGS-B's norms and steps into NaN."""

    def fun(x, scale=1.0):
        value, grad = evaluate(x)
        return float(value) / scale, np.asarray(grad, dtype=float) / scale

    best = None
    for x0 in starts:
        from scipy.optimize import minimize  # lazy: import psipo_exact stays light
        x0 = np.asarray(x0, dtype=float)
        value, grad = fun(x0)
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            continue  # L-BFGS-B cannot descend from an infinite value (it wanders ~10⁵ steps)
        scale = max(1.0, float(np.max(np.abs(grad), initial=0.0)))
        res = minimize(fun, x0, args=(scale,), jac=True, method="L-BFGS-B",
                       options={"maxiter": 3000, "maxcor": 30, "ftol": 1e-16, "gtol": 1e-12})
        value = fun(res.x)[0]
        if best is None or value < best[1]:
            best = res.x, value
    if best is None:  # no start with a finite objective: not converged (status), and the
        x0 = np.asarray(starts[0], dtype=float)  # residual is the gradient there, capped
        top = np.max(np.abs(np.nan_to_num(fun(x0)[1], nan=np.inf)), initial=0.0)
        return x0, float(min(top, np.finfo(float).max))
    return best[0], float(np.max(np.abs(fun(best[0])[1]), initial=0.0))
