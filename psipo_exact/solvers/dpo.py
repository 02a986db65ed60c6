"""Exact minimisers of the DPO losses (Eq. 4 and 5 of Azar et al., arXiv:2310.12036).

Proposition 4: in ``r = τ(θ − log πref)`` the DPO loss is the Bradley–Terry likelihood, so
its optimum is ``rlhf_policy(r̂, πref, τ)`` with ``r̂`` the Bradley–Terry fit of
:mod:`.bradley_terry`, whether or not the preferences are Bradley–Terry; without a finite
minimiser the same fit gives the exact limit.
"""

from __future__ import annotations

import numpy as np

from .. import _base, _checks
from ..closed_form import gibbs_log_policy
from ..losses.ties import resolve_tie_model, tie_parameter_value
from ..model import Dataset
from ._groups import lead_description
from ._problem import (
    context_pi_ref,
    data_edges,
    model_arguments,
    population_edges,
    population_inputs,
    tau_axes,
)
from ._ties_mle import tie_edges, tie_fit
from .bradley_terry import BTFit, bt_fit, bt_solution
from .result import Solution


def _dpo_solution(fit: BTFit, rewards, pi_ref, tau_b, lead, n, desc, names) -> Solution:
    """DPO optimum via Prop. 4: ``π = rlhf_policy(r̂, πref, τ)``.

    Computed as its logarithm, ``gibbs_log_policy(πref, r̂, τ)`` (``rlhf_policy`` is its
    exponential), so that ``logits`` stay finite where ``π`` underflows (small τ).
    """
    log_policy = gibbs_log_policy(pi_ref, rewards, tau_b)
    live = np.broadcast_to(pi_ref > 0, lead + (n,)).ravel()
    return bt_solution(fit, lead, n, live, desc, names, np.exp(log_policy), log_policy,
                       limit_note="; DPO drives their probability to 0 for every tau",
                       free_note="the relative mass of the free groups is undetermined "
                       "(reported: the representative whose rewards have mean zero in every "
                       "group)")


def solve_dpo_empirical(data: Dataset, pi_ref, tau, *, tie_model=None,
                        tie_parameter=None) -> Solution:
    """Exact minimiser of the empirical DPO loss (Eq. 4), or the limit of its minimisers.

    In ``r = τ(θ − log πref)`` Eq. 4 is the Bradley–Terry likelihood (Prop. 4), so the
    optimum is ``rlhf_policy(fit_bradley_terry(data).rewards, πref, τ)``. Without a finite
    minimiser (some action loses to a group it never beats), ``policy`` is the limit: mass
    only on the top strongly connected components, within each from its own MLE.

    Parameters
    ----------
    data : Dataset
    pi_ref : array_like, shape (n,) or data.logits_shape
        Positive on every compared action.
    tau : float or array_like
        τ > 0; an array gives output shape ``tau.shape + logits_shape``.
    tie_model : {"rao_kupper", "davidson"}, optional
        DPO extended to ties (Chen et al., 2024, arXiv:2409.17431: DPO-RK, DPO-D): the loss
        :func:`~psipo_exact.losses.dpo_ties_empirical`, whose exact optimum is, as Prop. 4,
        ``rlhf_policy(r̂, πref, τ)`` with ``r̂`` the tie model's maximum-likelihood rewards
        (:func:`fit_rao_kupper`, :func:`fit_davidson`). Required when ``data`` has ties:
        plain DPO (Eq. 4) has no term for a tie.
    tie_parameter : float, optional
        The fixed θ (Rao–Kupper) or ν (Davidson) of the loss; default: its maximum-likelihood
        value (the optimum over the parameter too).

    Returns
    -------
    Solution
        ``logits = log policy``. When several top groups share a context (``unique`` False),
        the representative has each group's rewards at mean zero, so a never-compared action
        (or a group of tied actions) keeps its πref mass relative to the others. With a
        finite minimiser this is the gradient-descent limit from ``log πref`` (descent keeps
        each component's mean logit); without one, descent pushes the top logits of each
        component to +∞ and so generally ends at another member of the free family (e.g. a
        never-compared action's mass → 0).
        ``residual``: the Bradley–Terry relative gradient (see :func:`fit_bradley_terry`).

    Raises
    ------
    ValueError
        If ``pi_ref`` does not fit the data or vanishes on a compared action.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4; Proposition 4 (Appendix B); Sec. 5.4 (D1, D3).
    Existence: Zermelo (1929), Math. Z. 29; Ford (1957), Amer. Math. Monthly 64(8).

    Examples
    --------
    D1 (a beats b and c, b beats c): no finite minimiser, and the limit is ``(1, 0, 0)`` for
    every τ (Sec. 5.4: DPO ignores πref):

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> uniform = np.ones(3) / 3
    >>> sol = px.solve_dpo_empirical(px.paper_dataset("D1"), uniform, [0.1, 1.0, 10.0])
    >>> sol.status, sol.exists
    (2, False)
    >>> print(sol.policy)
    [[1. 0. 0.]
     [1. 0. 0.]
     [1. 0. 0.]]

    D3 as printed ({a≻b, b≻a}): a finite but not unique minimiser (c never compared):

    >>> sol = px.solve_dpo_empirical(px.paper_dataset("D3"), uniform, 1.0)
    >>> sol.status, sol.free
    (1, ((0, 1), (2,)))
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    pi_ref, _ = context_pi_ref(pi_ref, data)
    t = tau_axes(tau, data)[..., 0]
    _checks.needs(tie_parameter, "tie_parameter", tie_model, "tie_model")
    if tie_model is None:
        _checks.no_ties(data, "DPO (Eq. 4)", "pass tie_model='rao_kupper' or 'davidson' "
                        "(Chen et al., 2024), use IPO")
        fit = bt_fit(*data_edges(data))
    else:
        model = resolve_tie_model(tie_model)
        phi = None if tie_parameter is None else tie_parameter_value(model, tie_parameter)
        fit = tie_fit(model, *tie_edges(data), phi)[0]
    lead, n = data.logits_shape[:-1], data.n_actions
    rewards = fit.rewards.reshape(data.logits_shape)
    desc = lead_description(lead, "context", data.context_names)
    return _dpo_solution(fit, rewards, pi_ref, t, lead, n, desc, data)


def solve_dpo_population(prefs, mu=None, pi_ref=None, tau=None) -> Solution:
    """Exact minimiser of the population DPO loss (Eq. 5), or the limit of its minimisers.

    Proposition 4: the optimum is ``rlhf_policy(r̂, πref, τ)`` with ``r̂`` the population
    Bradley–Terry fit ``fit_bradley_terry(prefs, mu)``, whether or not ``prefs`` is
    Bradley–Terry. A finite minimiser exists iff, within each connected component of
    ``{µ(y)µ(y′) > 0}``, the digraph ``µ(y)µ(y′)p*(y≻y′) > 0`` is strongly connected; actions
    outside Supp(µ) are not constrained (free, unless πref = 0 there).

    Parameters
    ----------
    prefs, mu, pi_ref, tau
        The population problem, as in :func:`solve_ipo_population` (Supp(µ) ⊆ Supp(πref);
        τ broadcast against the leading axes).

    Returns
    -------
    Solution
        As :func:`solve_dpo_empirical`; ``free`` indexes the broadcast shape of the inputs.

    Raises
    ------
    ValueError
        On invalid inputs or µ > 0 where πref = 0.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 5; Proposition 4 (Appendix B); Sec. 4.2.

    Examples
    --------
    Bradley–Terry preferences with ``r = (log 3, 0)``: the optimum is
    ``rlhf_policy(r, πref, τ) ∝ (3, 1)`` at τ = 1 (Proposition 4):

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> uniform = np.array([0.5, 0.5])
    >>> prefs = px.bradley_terry_prefs([np.log(3.0), 0.0])
    >>> sol = px.solve_dpo_population(prefs, uniform, uniform, 1.0)
    >>> print(sol.status, np.round(sol.policy, 4))
    0 [0.75 0.25]

    Sec. 4.2: with ``p*(y₁ ≻ y₂) = 1`` DPO's limit is ``(1, 0)`` whatever τ:

    >>> deterministic = np.array([[0.5, 1.0], [0.0, 0.5]])
    >>> sol = px.solve_dpo_population(deterministic, uniform, uniform, [1.0, 100.0])
    >>> sol.status, sol.policy.tolist()
    (2, [[1.0, 0.0], [1.0, 0.0]])
    """
    prefs, mu, pi_ref, tau = model_arguments(prefs, mu, pi_ref, tau)
    prefs, mu, pi_ref, lead = population_inputs(prefs, mu, pi_ref)
    n = prefs.shape[-1]
    _base.tau_for(tau, lead)
    fit = bt_fit(*population_edges(prefs, mu, lead))
    rewards = fit.rewards.reshape(lead + (n,))
    ref_b = np.broadcast_to(pi_ref, lead + (n,))
    return _dpo_solution(fit, rewards, ref_b, tau, lead, n, lead_description(lead, "problem"),
                         None)
