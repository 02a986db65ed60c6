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
from ._problem import data_edges, population_edges
from .result import BradleyTerrySolution, Solution, make_solution


@dataclass(frozen=True)
class BTFit:
    """Bradley–Terry MLE over global nodes: rewards, components and diagnostics."""

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
    """
    beats = beats_structure(heads, tails, weights, size)
    inside = beats.inside
    rewards, residual = _newton_bt(heads[inside], tails[inside], weights[inside], beats.labels,
                                   size)
    rewards = rewards - component_mean(rewards, beats.strong, beats.n_strong)
    rewards = np.where(beats.sinking, -np.inf, rewards)
    top = np.where(beats.sinking, -1, beats.strong)
    return BTFit(rewards, top, beats.sinking, beats.exists, residual)


@dataclass(frozen=True)
class BeatsStructure:
    """Zermelo/Ford structure of a beats-digraph ``heads → tails`` over global nodes.

    ``strong``: strongly connected component of each node (``n_strong`` of them);
    ``sinking``: nodes beaten from outside their component, i.e. outside the top components;
    ``inside``: edges within a top component; ``labels``: the top components, and every
    sinking node on its own (the components of the problem restricted to ``inside``);
    ``exists``: every weakly connected component is strongly connected.
    """

    strong: np.ndarray
    n_strong: int
    sinking: np.ndarray
    inside: np.ndarray
    labels: np.ndarray
    exists: bool


def beats_structure(heads, tails, weights, size: int) -> BeatsStructure:
    """The :class:`BeatsStructure` of the digraph with an edge ``h → t`` per datum (Ford 1957).

    Any loss ``Σ w f(r_h − r_t)`` with ``f`` decreasing to 0 at ``+∞`` (and ``→ ∞`` at
    ``−∞``) has a finite minimiser iff ``exists``; otherwise the sinking nodes' rewards
    diverge to ``−∞`` and each top component minimises its own ``inside`` edges.
    """
    idx = index_dtype(size)
    beats = sp.csr_matrix((weights, (heads.astype(idx), tails.astype(idx))), shape=(size, size))
    n_weak, _ = connected_components(beats, directed=True, connection="weak")
    n_strong, strong = connected_components(beats, directed=True, connection="strong")
    across = strong[heads] != strong[tails]
    beaten = np.bincount(strong[tails[across]], minlength=n_strong) > 0
    sinking = beaten[strong]
    inside = ~across & ~sinking[heads]
    labels = np.where(sinking, n_strong + np.arange(size), strong)
    return BeatsStructure(strong, n_strong, sinking, inside, labels, n_weak == n_strong)


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


def fit_bradley_terry(data, mu=None) -> BradleyTerrySolution:
    """Maximum-likelihood Bradley–Terry rewards (Eq. 2), with existence and limits.

    ``fit_bradley_terry(data)`` fits a :class:`Dataset` (``−Σ_i log σ(r_w,i − r_l,i)``,
    duplicates counted; contexts independent); ``fit_bradley_terry(prefs, mu)`` fits the
    population loss ``−E_{y,y′∼µ}[p*(y≻y′) log σ(r(y) − r(y′))]`` (the loss of Prop. 4),
    broadcasting over leading axes. Solved by damped Newton with the sparse Hessian (a
    weighted graph Laplacian), to a relative gradient of about 1e-14.

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
        ``residual``: max-norm gradient over the largest weighted degree.

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
        prefs, mu = _base.validated_prefs_mu(data, mu)
        n = prefs.shape[-1]
        lead = _checks.broadcastable(("prefs", prefs.shape[:-2]), ("mu", mu.shape[:-1]))
        fit = bt_fit(*population_edges(prefs, mu, lead))
        desc, names = lead_description(lead, "problem"), None
    rewards = fit.rewards.reshape(lead + (n,))
    return bt_solution(fit, lead, n, np.ones(rewards.size, bool), desc, names,
                       softmax_policy(rewards), rewards, kind=BradleyTerrySolution,
                       free_note="the reward offsets between the free groups are undetermined "
                       "(reported: mean-zero rewards in every group)", rewards=rewards)
