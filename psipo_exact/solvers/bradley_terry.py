"""Bradley–Terry maximum likelihood (Eq. 2 of Azar et al., arXiv:2310.12036), exactly.

Damped Newton with the sparse Hessian (a weighted graph Laplacian). A finite maximiser
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
from ..losses import LINKS
from ..model import Dataset
from ._groups import MESSAGE_PROBLEMS, action_labels, free_groups, lead_description, unflatten_free
from ._laplacian import (
    RTOL,
    LaplacianPattern,
    component_mean,
    index_dtype,
    laplacian_solve,
    pull_back,
)
from ._problem import data_edges, model_arguments, population_edges, reference_index
from ._statistics import bt_statistics, population_loglik
from .result import BradleyTerrySolution, Solution, make_solution


@dataclass(frozen=True)
class BTFit:
    """Bradley–Terry MLE over global nodes: rewards, components and diagnostics.

    Attributes
    ----------
    rewards : ndarray, shape (size,)
        Mean zero over each top strongly connected component, ``−∞`` off them.
    top_label : ndarray of int, shape (size,)
        Top component of each node, −1 off the top components.
    sinking : ndarray of bool, shape (size,)
        Nodes whose rewards diverge to ``−∞``.
    exists : bool
        A finite maximum-likelihood estimate exists.
    residual : float
        Max-norm gradient over the largest weighted degree.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 2. Zermelo (1929), Math. Z. 29; Ford (1957), Amer.
    Math. Monthly 64(8).

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact.solvers.bradley_terry import bt_fit
    >>> fit = bt_fit(np.array([0, 1]), np.array([1, 0]), np.ones(2), 2)  # a≻b, b≻a
    >>> type(fit).__name__, fit.exists, fit.rewards.tolist()
    ('BTFit', True, [0.0, 0.0])
    """

    rewards: np.ndarray  # (size,), −∞ off the top strongly connected components
    top_label: np.ndarray  # (size,), top SCC label, −1 off the top components
    sinking: np.ndarray  # (size,) bool, nodes whose reward → −∞
    exists: bool
    residual: float


def _bt_loss_grad(rewards, heads, tails, weights):
    """BT loss ``Σ_e w_e ℓ(r_h − r_t)`` (Eq. 2 with ℓ = −log σ, the DPO link at τ = 1), its
    gradient and the edge curvatures ``w_e ℓ''``; ``LINKS['dpo']`` supplies ℓ and ℓ′."""
    link = LINKS["dpo"]
    gap = rewards[heads] - rewards[tails]
    slope = link.grad(gap, 1.0)  # ℓ′ = −σ(−h), so ℓ'' = σ(h)σ(−h) = −ℓ′(1 + ℓ′)
    value = np.sum(weights * link.value(gap, 1.0))
    grad = pull_back(weights * slope, heads, tails, rewards.size)
    return value, grad, -weights * slope * (1.0 + slope)


def _win_ratio_start(heads, tails, weights, size) -> np.ndarray:
    """Starting rewards ``log((wins + ½) / (losses + ½))`` per node."""
    wins, losses = np.bincount(heads, weights, size), np.bincount(tails, weights, size)
    return np.log((wins + 0.5) / (losses + 0.5))


def _newton_bt(heads, tails, weights, labels, size) -> tuple[np.ndarray, float]:
    """Damped (inexact) Newton on the BT likelihood of strongly connected components.

    ``labels`` are the components of the edges given. Starts from the win ratios, or from
    0 if that has the lower loss. Returns the rewards and the final max-norm gradient
    relative to the largest weighted degree.
    """
    scale = np.max(np.bincount(heads, weights, size) + np.bincount(tails, weights, size),
                   initial=0.0)
    if heads.size == 0:
        return np.zeros(size), 0.0
    start = _win_ratio_start(heads, tails, weights, size)
    state = (start,) + _bt_loss_grad(start, heads, tails, weights)
    if state[1] > weights.sum() * LINKS["dpo"].value(np.zeros(1), 1.0)[0]:  # loss at r = 0
        state = (np.zeros(size),) + _bt_loss_grad(np.zeros(size), heads, tails, weights)
    pattern, stalled = LaplacianPattern(heads, tails, size), 0
    for _ in range(100):
        rewards, value, grad, curvature = state
        norm = np.abs(grad).max()
        if norm <= 1e-14 * scale or stalled > 3:
            break
        # Inexact Newton: solve to a relative accuracy ~ the gradient's (still quadratic).
        rtol = min(1e-2, float(norm / scale) ** 2 + RTOL)
        step = laplacian_solve(pattern.laplacian(curvature), labels, -grad[:, None], rtol)
        trial = _line_search(state, step[:, 0], heads, tails, weights)
        progress = np.abs(trial[2]).max() < 0.5 * norm
        if trial[1] > value and not progress:
            break  # no further progress in floating point
        stalled = 0 if progress else stalled + 1
        state = trial
    return state[0], float(np.abs(state[2]).max() / scale) if scale else 0.0


def _line_search(state, step, heads, tails, weights):
    """Backtracking (Armijo) from a full Newton step, with slack for rounding."""
    rewards, value, grad, _ = state
    slope, alpha = grad @ step, 1.0
    slack = 1e-13 * abs(value)  # rounding of the loss sum near the optimum
    while True:
        trial = rewards + alpha * step
        out = (trial,) + _bt_loss_grad(trial, heads, tails, weights)
        if out[1] <= value + 1e-4 * alpha * slope + slack or alpha < 1e-10:
            return out
        alpha *= 0.5


def bt_fit(heads, tails, weights, size: int) -> BTFit:
    """Bradley–Terry MLE (Eq. 2) on a weighted beats-digraph ``heads → tails``.

    A finite MLE exists iff every weakly connected component is strongly connected. Else,
    along any minimising sequence, the nodes outside the top strongly connected components
    (those no outside node beats) have rewards → −∞ relative to the top ones, and each top
    component converges to the MLE of its own internal comparisons.

    Parameters
    ----------
    heads, tails : ndarray of int, shape (E,)
        Edge ``e`` says node ``heads[e]`` beat node ``tails[e]``.
    weights : ndarray, shape (E,)
        Positive weight (count) of each edge.
    size : int
        Number of nodes.

    Returns
    -------
    BTFit

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 2. Zermelo (1929), Math. Z. 29; Ford (1957), Amer.
    Math. Monthly 64(8) (a finite MLE iff the beats-digraph is strongly connected).

    Examples
    --------
    a≻b twice, b≻a once: ``r_a − r_b = log 2``. On D1 (a≻b, b≻c, a≻c) no finite MLE exists
    and b, c sink to ``−∞``:

    >>> import numpy as np
    >>> from psipo_exact.solvers.bradley_terry import bt_fit
    >>> fit = bt_fit(np.array([0, 0, 1]), np.array([1, 1, 0]), np.ones(3), 2)
    >>> print(fit.exists, f"{fit.rewards[0] - fit.rewards[1]:.6f} {np.log(2):.6f}")
    True 0.693147 0.693147
    >>> fit = bt_fit(np.array([0, 1, 0]), np.array([1, 2, 2]), np.ones(3), 3)
    >>> fit.exists, fit.rewards.tolist(), fit.sinking.tolist()
    (False, [0.0, -inf, -inf], [False, True, True])
    """
    idx = index_dtype(size)
    beats = sp.csr_matrix((weights, (heads.astype(idx), tails.astype(idx))), shape=(size, size))
    n_weak, weak = connected_components(beats, directed=True, connection="weak")
    n_strong, strong = connected_components(beats, directed=True, connection="strong")
    across = strong[heads] != strong[tails]
    beaten = np.bincount(strong[tails[across]], minlength=n_strong) > 0
    sinking = beaten[strong]
    inside = ~across & ~sinking[heads]
    # Newton's components: the top components, and every sinking node on its own.
    labels = np.where(sinking, n_strong + np.arange(size), strong)
    rewards, residual = _newton_bt(heads[inside], tails[inside], weights[inside], labels, size)
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

    Parameters
    ----------
    fit : BTFit
        From :func:`bt_fit`.
    lead : tuple of int
        Leading shape of the problems (``()`` for one problem).
    n : int
        Number of actions.
    live : ndarray of bool
        Global nodes that can carry mass.
    lead_desc : callable
        ``k -> str`` naming problem ``k`` in messages (``""`` for none).
    data : Dataset or None
        For action names in messages.
    policy, logits : ndarray
        The solution's arrays.
    limit_note, free_note : str
        Words added when no finite minimiser exists / the policy is not unique.
    kind : type, default Solution
        The solution class; ``**extra`` are its additional fields.

    Returns
    -------
    Solution

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 2 and Proposition 4 (Appendix B). Zermelo (1929);
    Ford (1957).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.solvers.bradley_terry import bt_fit, bt_solution
    >>> fit = bt_fit(np.array([0, 1, 0]), np.array([1, 2, 2]), np.ones(3), 3)  # D1
    >>> sol = bt_solution(fit, (), 3, np.ones(3, bool), lambda k: "", None,
    ...                   px.softmax_policy(fit.rewards), fit.rewards)
    >>> sol.status, sol.policy.tolist()
    (2, [1.0, 0.0, 0.0])
    >>> sol.message
    'no finite minimiser (the limit policy is unique): actions 1, 2 lose to a group ...'
    """
    free = unflatten_free(free_groups(fit.top_label, live, n, not lead), lead)
    if fit.exists:
        detail = "the beats-digraph is strongly connected in every component"
    else:
        detail = _sinking_detail(fit, n, lead_desc, data) + limit_note
    if free:
        detail += f"; {free_note}"
    return make_solution(policy, logits, exists=fit.exists, free=free, residual=fit.residual,
                         detail=detail, kind=kind, **extra)


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


def fit_bradley_terry(data, mu=None, *, reference=None) -> BradleyTerrySolution:
    """Maximum-likelihood Bradley–Terry rewards (Eq. 2), with existence, limits and errors.

    ``fit_bradley_terry(data)`` fits a :class:`Dataset` (``−Σ_i log σ(r_w,i − r_l,i)``,
    duplicates counted; contexts independent); ``fit_bradley_terry(prefs, mu)`` (or a
    :class:`PreferenceModel`) fits the population loss
    ``−E_{y,y′∼µ}[p*(y≻y′) log σ(r(y) − r(y′))]`` (the loss of Prop. 4), broadcasting over
    leading axes. Solved by damped Newton with the sparse Hessian (a weighted graph
    Laplacian), to a relative gradient of about 1e-14. Standard errors come from the observed
    Fisher information (that Laplacian at the optimum).

    Parameters
    ----------
    data : Dataset, PreferenceModel or array_like, shape (..., n, n)
        The comparisons, or the preference matrix ``prefs`` when ``mu`` is given. A dataset
        with ties is rejected (use :func:`fit_davidson`/:func:`fit_rao_kupper`, or
        ``data.without_ties()`` / ``data.ties_as_half_wins()``).
    mu : array_like, shape (..., n), optional
        Behaviour policy of the population fit.
    reference : int or str, optional
        Identifiability constraint: the action (index or name) whose reward is fixed at 0 in
        its component (in every context), as R's ``BTm``; default: mean zero per component.

    Returns
    -------
    BradleyTerrySolution
        ``rewards``: mean zero over each top strongly connected component (or 0 at
        ``reference``), ``−∞`` outside them. ``exists``: every connected component of the
        comparison graph is strongly connected (Zermelo/Ford). ``free``: the top components
        (never-compared actions are their own) when a problem has more than one — their
        offsets are undetermined. ``residual``: max-norm gradient over the largest weighted
        degree. ``stderr``, ``covariance``, ``loglik``, ``deviance``: see
        :class:`BradleyTerrySolution`. ``policy`` = ``softmax(rewards)``: the Bradley–Terry
        strengths normalised to sum to 1 per problem (the probability of each action in a
        Luce choice among all of them), not the policy of any loss.

    Raises
    ------
    TypeError
        If ``data`` is neither a Dataset nor (with ``mu``) a preference matrix.
    ValueError
        On ties in ``data`` or an unknown ``reference``.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 2 (and the population loss of Proposition 4);
    Bradley and Terry (1952). Existence: Zermelo (1929), Math. Z. 29; Ford (1957), Amer.
    Math. Monthly 64(8).

    Examples
    --------
    a≻b twice and b≻a once: the MLE has ``σ(r_a − r_b) = 2/3``, i.e. ``r = ±(log 2)/2``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> sol = px.fit_bradley_terry(px.Dataset.from_pairs([(0, 1), (0, 1), (1, 0)], 2))
    >>> print(sol.exists, np.round(sol.rewards, 4), f"{np.log(2) / 2:.4f}")
    True [ 0.3466 -0.3466] 0.3466

    D1 has no finite MLE (a never loses): b and c diverge to ``−∞``:

    >>> sol = px.fit_bradley_terry(px.paper_dataset("D1"))
    >>> sol.status, sol.rewards.tolist()
    (2, [0.0, -inf, -inf])

    The population fit recovers Bradley–Terry rewards up to their mean:

    >>> prefs = px.bradley_terry_prefs([2.0, 0.5, -1.0])
    >>> print(np.round(px.fit_bradley_terry(prefs, np.ones(3) / 3).rewards, 6))
    [ 1.5  0.  -1.5]

    With R's BTm constraint (a reference action at 0) and standard errors:

    >>> import psipo_exact as px
    >>> fit = px.fit_bradley_terry(px.Dataset.from_pairs([("a", "b"), ("a", "b"),
    ...                                                   ("b", "a")]), reference="b")
    >>> round(float(fit.rewards[0]), 6), round(float(fit.stderr[0]), 6)  # log 2, sqrt(3/2)
    (0.693147, 1.224745)
    """
    data, mu = model_arguments(data, mu)
    if isinstance(data, Dataset):
        if mu is not None:
            raise TypeError("mu must not be given with a Dataset; use fit_bradley_terry(prefs, mu)")
        _checks.no_ties(data, "the Bradley-Terry likelihood (Eq. 2)",
                        "use fit_davidson or fit_rao_kupper")
        edges = data_edges(data)
        lead, n = data.logits_shape[:-1], data.n_actions
        desc = lead_description(lead, "context", data.context_names)
        names = data
    else:
        if mu is None:
            raise TypeError(
                f"data must be a psipo_exact.Dataset, or prefs with mu; got "
                f"{type(data).__name__} without mu"
            )
        prefs, mu = _base.validated_prefs_mu(data, mu)
        n = prefs.shape[-1]
        lead = _checks.broadcastable(("prefs", prefs.shape[:-2]), ("mu", mu.shape[:-1]))
        edges = population_edges(prefs, mu, lead)
        desc, names = lead_description(lead, "problem"), None
    fit = bt_fit(*edges)
    ref = reference_index(reference, names, n)
    ref_nodes = None if ref is None else np.arange(fit.rewards.size) % n == ref
    stats = bt_statistics(fit, *edges, ref_nodes, bt_fit)
    if names is None:
        stats["loglik"] = population_loglik(fit, edges, mu, lead, n)
    rewards = stats.pop("rewards").reshape(lead + (n,))
    stats["stderr"] = stats["stderr"].reshape(lead + (n,))
    return bt_solution(fit, lead, n, np.ones(rewards.size, bool), desc, names,
                       softmax_policy(rewards), rewards, kind=BradleyTerrySolution,
                       free_note="the reward offsets between the free groups are undetermined "
                       "(reported: mean-zero rewards in every group)", rewards=rewards,
                       reference=ref, **stats)

