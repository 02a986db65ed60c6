"""Plackett–Luce maximum likelihood and the exact optimum of listwise DPO.

A ranking ``σ`` of a set of actions, best first, has Plackett–Luce probability
``Π_k e^{r(σ_k)} / Σ_{j ≥ k} e^{r(σ_j)}`` (Plackett 1975; Luce 1959). Each stage ``k`` is a
choice of ``σ_k`` from ``{σ_k, …}``; the Hessian of a stage's negative log-likelihood,
``diag(p) − p pᵀ``, is the Laplacian of the complete graph on the stage with edge weights
``p_i p_j``, so Newton's step is a weighted-Laplacian solve (:mod:`._laplacian`).

Existence (Hunter, 2004, *Ann. Statist.* 32, Assumption 1 for Plackett–Luce / Ford 1957):
draw ``σ_k → σ_j`` for every ``j > k`` of every ranking; a finite maximiser exists iff this
digraph is strongly connected within each connected component. Otherwise, as for
Bradley–Terry, the actions outside the top strongly connected components sink to ``−∞`` and
the top ones converge to the maximiser of the rankings restricted to them.

Listwise DPO (Rafailov et al., 2023, arXiv:2305.18290, App. A.3) is the Plackett–Luce
likelihood of ``τ h(y) = τ log π(y)/πref(y)``; in ``r = τ(θ − log πref)`` it is the likelihood
above, so its exact optimum is ``rlhf_policy(r̂, πref, τ)`` with ``r̂`` the Plackett–Luce
maximum-likelihood rewards (Prop. 4 of Azar et al., arXiv:2310.12036, for rankings).
"""

from __future__ import annotations

import numpy as np

from .. import _base, _checks
from ..closed_form import gibbs_log_policy, softmax_policy
from ..model import Dataset, Rankings
from ._plackett_luce_mle import evaluate, pl_fit, stages
from ._problem import reference_index
from ._statistics import shift_to_reference, standard_errors
from .bradley_terry import bt_solution, fit_bradley_terry
from .dpo import solve_dpo_empirical
from .result import BradleyTerrySolution, Solution


def _as_rankings(rankings) -> Rankings:
    """``Rankings`` from a Rankings, a Dataset (pairs) or a sequence of sequences."""
    if isinstance(rankings, Rankings):
        return rankings
    if isinstance(rankings, Dataset):
        return Rankings.from_dataset(rankings)
    if isinstance(rankings, (str, bytes)) or not hasattr(rankings, "__iter__"):
        raise TypeError(f"rankings must be Rankings, a Dataset or a sequence of rankings, got "
                        f"{type(rankings).__name__}")
    return Rankings.from_lists(rankings)


def fit_plackett_luce(rankings, *, reference=None) -> BradleyTerrySolution:
    """Maximum-likelihood Plackett–Luce rewards of rankings, with existence and limits.

    Parameters
    ----------
    rankings : Rankings, Dataset or sequence of sequences
        Rankings of subsets of actions, best first (labels as :meth:`Rankings.from_lists`);
        a Dataset's comparisons are rankings of two, whose Plackett–Luce fit is
        :func:`fit_bradley_terry` (which it returns, contexts included).
    reference : int or str, optional
        As :func:`fit_bradley_terry` (default: rewards mean zero per component).

    Returns
    -------
    BradleyTerrySolution
        ``rewards`` (``−∞`` outside the top strongly connected components), ``stderr``,
        ``covariance`` and ``information`` from the observed Fisher information, ``loglik``
        (the rankings' log-likelihood; without a finite maximiser, that of the rankings
        restricted to the top components), ``deviance = −2 loglik`` (the saturated model of
        individual rankings has likelihood 1).

    Raises
    ------
    TypeError
        If ``rankings`` is of the wrong kind.
    ValueError
        On invalid rankings.

    Examples
    --------
    >>> import psipo_exact as px
    >>> fit = px.fit_plackett_luce([["a", "b", "c"], ["b", "a", "c"], ["c", "a", "b"]])
    >>> fit.exists, [round(float(x), 4) for x in fit.rewards]
    (True, [0.5911, 0.0731, -0.6642])

    References
    ----------
    Plackett (1975), Luce (1959); Hunter (2004), Ann. Statist. 32, 384-406 (existence);
    Azar et al., arXiv:2310.12036, Eq. 2 (pairs).
    """
    if isinstance(rankings, Dataset):  # rankings of two, with contexts: Bradley–Terry
        return fit_bradley_terry(rankings, reference=reference)
    data = _as_rankings(rankings)
    size = n = data.n_actions
    fit, loglik, info = pl_fit(data.items, data.offsets, data.ranking_weights, size)
    ref = reference_index(reference, data, n)
    labels = np.where(fit.sinking, -1, fit.top_label)
    ref_nodes = None if ref is None else np.arange(size) == ref
    rewards = fit.rewards if ref is None else shift_to_reference(fit.rewards, labels, ref_nodes)
    return bt_solution(fit, (), n, np.ones(n, bool), lambda k: "", data,
                       softmax_policy(rewards), rewards, kind=BradleyTerrySolution,
                       free_note="the reward offsets between the free groups are undetermined",
                       rewards=rewards, stderr=standard_errors(info, labels, ref_nodes),
                       loglik=loglik, deviance=-2 * loglik, information=info, reference=ref)


def dpo_rankings_empirical(logits, rankings, pi_ref, tau) -> np.ndarray:
    """Listwise DPO loss (Rafailov et al., 2023, App. A.3): the mean over rankings of
    ``−Σ_k log softmax_{j ≥ k}(τ h(σ_j))[σ_k]``, ``h(y) = θ(y) − log πref(y)`` (logits θ of
    π up to a constant, which cancels).

    Parameters
    ----------
    logits : array_like, shape (..., n)
    rankings : Rankings, Dataset or sequence of sequences
    pi_ref : array_like, shape (n,)
        Positive on every ranked action.
    tau : float or array_like
        τ > 0, broadcast against the leading axes of ``logits``.

    Returns
    -------
    ndarray, shape (...)
        Weighted mean over the rankings.

    Raises
    ------
    ValueError
        On invalid inputs, or when float overflow makes the loss not representable
        (∞ − ∞).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> loss = px.dpo_rankings_empirical(np.zeros(3), [[0, 1, 2]], np.ones(3) / 3, 1.0)
    >>> bool(np.isclose(loss, np.log(6)))  # uniform: 1/3! for the ranking
    True

    References
    ----------
    Rafailov et al., arXiv:2305.18290, App. A.3; Azar et al., arXiv:2310.12036, Eq. 4.
    """
    data = _as_rankings(rankings)
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    if pi_ref.ndim != 1:
        raise ValueError(f"pi_ref must have shape ({data.n_actions},), got {pi_ref.shape}")
    theta = _checks.as_float_array(logits, "logits", min_ndim=1)
    _checks.n_actions_match(data.n_actions, logits=theta, pi_ref=pi_ref)
    t, lead = _base.tau_for(tau, theta.shape[:-1])
    log_ref = _base.log(pi_ref)
    if not np.isfinite(log_ref[data.items]).all():
        raise ValueError("pi_ref vanishes on a ranked action: log pi_ref must be finite there")
    stage, member, chosen, w = stages(data.items, data.offsets, data.ranking_weights)
    # Logits near the float maximum or tiny τ overflow to ±∞ (as empirical_loss); ∞ − ∞ raises.
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.broadcast_to(t[..., None] * (theta - log_ref), lead + (data.n_actions,))
        flat = r.reshape(-1, data.n_actions)
        out = np.array([evaluate(row, stage, member, chosen, w, data.n_actions)[0]
                        for row in flat])
    return _checks.representable(out.reshape(lead) / data.ranking_weights.sum(),
                                 "the listwise DPO loss", "the logits or 1/tau are too close "
                                 "to the float maximum")


def solve_dpo_rankings(rankings, pi_ref, tau) -> Solution:
    """Exact optimum of listwise DPO: ``rlhf_policy(r̂, πref, τ)``, ``r̂`` the Plackett–Luce
    fit (Prop. 4's analogue; the limit policy when no finite minimiser exists).

    Parameters
    ----------
    rankings : Rankings, Dataset or sequence of sequences
        A Dataset's comparisons are rankings of two: listwise DPO is then DPO (Eq. 4) and
        :func:`solve_dpo_empirical` is returned.
    pi_ref : array_like, shape (n,)
        Positive on every ranked action.
    tau : float or array_like
        τ > 0; an array gives output shape ``tau.shape + (n,)``.

    Returns
    -------
    Solution

    Raises
    ------
    ValueError
        On invalid inputs.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> sol = px.solve_dpo_rankings([["a", "b", "c"], ["b", "a", "c"], ["c", "a", "b"]],
    ...                             np.ones(3) / 3, 1.0)
    >>> bool(np.allclose(sol.policy, px.softmax_policy(
    ...     px.fit_plackett_luce([["a", "b", "c"], ["b", "a", "c"], ["c", "a", "b"]]).rewards)))
    True

    References
    ----------
    Rafailov et al., arXiv:2305.18290, App. A.3; Azar et al., arXiv:2310.12036, Prop. 4.
    """
    if isinstance(rankings, Dataset):  # rankings of two, with contexts: DPO (Eq. 4)
        return solve_dpo_empirical(rankings, pi_ref, tau)
    data = _as_rankings(rankings)
    fit, _, _ = pl_fit(data.items, data.offsets, data.ranking_weights, data.n_actions)
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    _checks.n_actions_match(data.n_actions, pi_ref=pi_ref)
    if pi_ref.ndim != 1:
        raise ValueError(f"pi_ref must have shape ({data.n_actions},), got {pi_ref.shape}")
    if not (pi_ref[data.items] > 0).all():
        raise ValueError("pi_ref vanishes on a ranked action: log pi_ref must be finite there")
    t = _checks.tau(tau)
    log_policy = gibbs_log_policy(pi_ref, fit.rewards, t)  # τ rule: a grid leads
    return bt_solution(fit, (), data.n_actions, pi_ref > 0, lambda k: "", data,
                       np.exp(log_policy), log_policy,
                       limit_note="; listwise DPO drives their probability to 0 for every tau",
                       free_note="the relative mass of the free groups is undetermined")
