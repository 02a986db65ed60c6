"""Bradley–Terry maximum likelihood (Eq. 2 of Azar et al., arXiv:2310.12036), exactly.

Damped Newton with the sparse Hessian (a weighted graph Laplacian), in log-weights and with
coarse levels for weakly coupled groups of actions (:mod:`._newton`), so that weights over
hundreds of orders of magnitude and preferences within 1e-300 of 0 or 1 are fitted exactly;
each problem and context stops on its own test, independent of the others. A finite maximiser
exists iff the "beats" digraph is strongly connected within every connected component of the
comparison graph (Zermelo; Ford, 1957); otherwise the exact limit of every maximising
sequence is returned: the actions outside the top strongly connected components sink to
``−∞`` and each top component converges to its own maximum-likelihood solution. The DPO
solvers (:mod:`.dpo`) reuse the fit through Proposition 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .. import _base, _checks
from ..closed_form import softmax_policy
from ..model import Dataset
from ._groups import MESSAGE_PROBLEMS, action_labels, free_groups, lead_description, unflatten_free
from ._laplacian import component_mean, index_dtype
from ._newton import Edges, solve, start
from ._problem import data_edges, population_edges
from .result import NOT_CONVERGED, BradleyTerrySolution, Solution, make_solution

#: Largest residual (relative node gradient, :mod:`._newton`) reported as converged.
CONVERGED = 1e-8


@dataclass(frozen=True)
class BTFit:
    """Bradley–Terry MLE over global nodes: rewards, components and diagnostics."""

    rewards: np.ndarray  # (size,), −∞ off the top strongly connected components
    top_label: np.ndarray  # (size,), top SCC label, −1 off the top components
    sinking: np.ndarray  # (size,) bool, nodes whose reward → −∞
    exists: bool
    residual: float


def bt_fit(heads, tails, log_weights, size: int) -> BTFit:
    """Bradley–Terry MLE (Eq. 2) on a weighted beats-digraph ``heads → tails``.

    Weights are given by their logarithms (:mod:`._newton` keeps every scale).

    A finite MLE exists iff every weakly connected component is strongly connected. Else,
    along any minimising sequence, the nodes outside the top strongly connected components
    (those no outside node beats) have rewards → −∞ relative to the top ones, and each top
    component converges to the MLE of its own internal comparisons.
    """
    idx = index_dtype(size)
    beats = sp.csr_matrix((np.ones(heads.size), (heads.astype(idx), tails.astype(idx))),
                          shape=(size, size))
    n_weak, weak = connected_components(beats, directed=True, connection="weak")
    n_strong, strong = connected_components(beats, directed=True, connection="strong")
    across = strong[heads] != strong[tails]
    beaten = np.bincount(strong[tails[across]], minlength=n_strong) > 0
    sinking = beaten[strong]
    inside = ~across & ~sinking[heads]
    # Newton's components: the top components, and every sinking node on its own.
    groups = np.where(sinking, n_strong + np.arange(size), strong)
    edges = Edges(heads[inside], tails[inside], log_weights[inside], np.zeros(inside.sum()))
    rewards, residual = solve(edges, groups, start(edges, groups))
    rewards = rewards - component_mean(rewards, strong, n_strong)
    rewards = np.where(sinking, -np.inf, rewards)
    top = np.where(sinking, -1, strong)
    return BTFit(rewards, top, sinking, n_weak == n_strong, residual)


def bt_solution(fit: BTFit, lead: tuple, n: int, live: np.ndarray, lead_desc, data,
                policy, logits, *, limit_note: str = "", free_note: str = "",
                kind: type = Solution, **extra) -> Solution:
    """The :class:`Solution` of a Bradley–Terry-type fit, with the words for its structure.

    ``live`` marks the global nodes that can carry mass; ``limit_note`` is added when no
    finite minimiser exists, ``free_note`` when the policy is not unique.
    """
    free = unflatten_free(free_groups(fit.top_label, live, n, not lead), lead)
    if fit.exists:
        detail = "the beats-digraph is strongly connected in every component"
    else:
        detail = _sinking_detail(fit, n, lead_desc, data) + limit_note
    if free:
        detail += f"; {free_note}"
    status = None
    if not fit.residual <= CONVERGED:
        status = NOT_CONVERGED
        detail += f"; Newton stopped at a relative node gradient of {fit.residual:.2g}"
    return make_solution(policy, logits, exists=fit.exists, free=free, residual=fit.residual,
                         detail=detail, kind=kind, status=status, **extra)


def _sinking_detail(fit: BTFit, n: int, lead_desc, data: Dataset | None) -> str:
    """Words for the actions whose rewards diverge to −∞, naming a few problems."""
    parts = []
    sinking = fit.sinking.reshape(-1, n)
    problems = np.flatnonzero(sinking.any(1))
    for k in problems[:MESSAGE_PROBLEMS]:  # the message names a few problems, not all
        where = f" in {lead_desc(k)}" if lead_desc(k) else ""
        parts.append(f"{action_labels(data, np.flatnonzero(sinking[k]))}{where}")
    if problems.size > MESSAGE_PROBLEMS:
        parts.append(f"... ({problems.size - MESSAGE_PROBLEMS} more)")
    return (
        "actions " + "; ".join(parts) + " lose to a group they never beat (outside the top "
        "strongly connected components); their rewards diverge to -inf"
    )


def fit_bradley_terry(data, mu=None) -> BradleyTerrySolution:
    """Maximum-likelihood Bradley–Terry rewards (Eq. 2), with existence and limits.

    ``fit_bradley_terry(data)`` fits a :class:`Dataset` (``−Σ_i log σ(r_w,i − r_l,i)``,
    duplicates counted; contexts independent); ``fit_bradley_terry(prefs, mu)`` fits the
    population loss ``−E_{y,y′∼µ}[p*(y≻y′) log σ(r(y) − r(y′))]`` (the loss of Prop. 4),
    broadcasting over leading axes. Solved by damped Newton with the sparse Hessian (a
    weighted graph Laplacian) in log-weights, with coarse levels for weakly coupled groups
    (:mod:`psipo_exact.solvers._newton`): every node's gradient relative to its own flows is
    driven to rounding level, whatever the scale of µ or of the weights.

    Parameters
    ----------
    data : Dataset or array_like, shape (..., n, n)
        The comparisons, or the preference matrix ``prefs`` when ``mu`` is given.
    mu : array_like, shape (..., n), optional
        Behaviour policy of the population fit.

    Returns
    -------
    BradleyTerrySolution
        ``rewards``: mean zero over each top strongly connected component, ``−∞`` outside
        them. ``exists``: every connected component of the comparison graph is strongly
        connected (Zermelo/Ford). ``free``: the top components (never-compared actions are
        their own) when a problem has more than one — their offsets are undetermined.
        ``residual``: the largest node gradient relative to that node's total flow
        ``Σ_e w_e σ(−x_e)`` (at every coarse level too): scale-free, ~1e-14 at convergence.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> cycle = np.array([[.5, 0, 1], [1, .5, 0], [0, 1, .5]])  # 1 ≻ 0 ≻ 2 ≻ 1
    >>> fit = px.fit_bradley_terry(cycle, np.array([1 - 2e-200, 1e-200, 1e-200]))
    >>> fit.exists, np.round(fit.rewards, 2)
    (True, array([   0.  ,  460.52, -460.52]))

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 2 and Prop. 4; Ford (1957) for existence.

    Raises
    ------
    TypeError
        If ``data`` is neither a Dataset nor (with ``mu``) a preference matrix.
    """
    if isinstance(data, Dataset):
        if mu is not None:
            raise TypeError("mu must not be given with a Dataset; use fit_bradley_terry(prefs, mu)")
        fit = bt_fit(*data_edges(data))
        lead, n = data.logits_shape[:-1], data.n_actions
        desc = lead_description(lead, "context")
        names = data
    else:
        if mu is None:
            raise TypeError(
                f"data must be a psipo_exact.Dataset, or prefs with mu; got "
                f"{type(data).__name__} without mu"
            )
        try:
            prefs, mu = _base.validated_prefs_mu(data, mu)
        except (TypeError, ValueError) as exc:  # name the argument as the caller knows it
            raise type(exc)(f"data (prefs, as mu is given): {exc}") from None
        n = prefs.shape[-1]
        lead = _checks.broadcastable(("prefs", prefs.shape[:-2]), ("mu", mu.shape[:-1]))
        fit = bt_fit(*population_edges(prefs, mu, lead))
        desc, names = lead_description(lead, "problem"), None
    rewards = fit.rewards.reshape(lead + (n,))
    return bt_solution(fit, lead, n, np.ones(rewards.size, bool), desc, names,
                       softmax_policy(rewards), rewards, kind=BradleyTerrySolution,
                       free_note="the reward offsets between the free groups are undetermined "
                       "(reported: mean-zero rewards in every group)", rewards=rewards)
