"""Bradley–Terry maximum likelihood (Eq. 2 of Azar et al., arXiv:2310.12036), exactly.

Damped Newton with the sparse Hessian (a weighted graph Laplacian), in log-weights and with
coarse levels for weakly coupled groups of actions (:mod:`._bt_newton`), so that weights over
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
from ._bt_newton import Edges, bt_newton, bt_start
from ._groups import MESSAGE_PROBLEMS, action_labels, free_groups, lead_description, unflatten_free
from ._laplacian import component_mean, index_dtype
from ._problem import data_edges, model_arguments, population_edges, reference_index
from ._statistics import bt_statistics, population_loglik
from .result import NOT_CONVERGED, BradleyTerrySolution, Solution, make_solution

#: Largest residual (relative node gradient, :mod:`._bt_newton`) reported as converged.
CONVERGED = 1e-8


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
        The largest node gradient relative to that node's total flow (at every coarse
        level of :mod:`._bt_newton`).

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 2. Zermelo (1929), Math. Z. 29; Ford (1957), Amer.
    Math. Monthly 64(8).

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact.solvers.bradley_terry import bt_fit
    >>> fit = bt_fit(np.array([0, 1]), np.array([1, 0]), np.zeros(2), 2)  # a≻b, b≻a
    >>> type(fit).__name__, fit.exists, fit.rewards.tolist()
    ('BTFit', True, [0.0, 0.0])
    """

    rewards: np.ndarray  # (size,), −∞ off the top strongly connected components
    top_label: np.ndarray  # (size,), top SCC label, −1 off the top components
    sinking: np.ndarray  # (size,) bool, nodes whose reward → −∞
    exists: bool
    residual: float


def bt_fit(heads, tails, log_weights, size: int) -> BTFit:
    """Bradley–Terry MLE (Eq. 2) on a weighted beats-digraph ``heads → tails``.

    Weights are given by their logarithms (:mod:`._bt_newton` keeps every scale).

    A finite MLE exists iff every weakly connected component is strongly connected. Else,
    along any minimising sequence, the nodes outside the top strongly connected components
    (those no outside node beats) have rewards → −∞ relative to the top ones, and each top
    component converges to the MLE of its own internal comparisons.

    Parameters
    ----------
    heads, tails : ndarray of int, shape (E,)
        Edge ``e`` says node ``heads[e]`` beat node ``tails[e]``.
    log_weights : ndarray, shape (E,)
        Log of the positive weight (count) of each edge (finite: weights below the
        smallest float are kept).
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
    a≻b twice, b≻a once (weights 1, log-weight 0): ``r_a − r_b = log 2``. On D1 (a≻b, b≻c,
    a≻c) no finite MLE exists and b, c sink to ``−∞``:

    >>> import numpy as np
    >>> from psipo_exact.solvers.bradley_terry import bt_fit
    >>> fit = bt_fit(np.array([0, 0, 1]), np.array([1, 1, 0]), np.zeros(3), 2)
    >>> print(fit.exists, f"{fit.rewards[0] - fit.rewards[1]:.6f} {np.log(2):.6f}")
    True 0.693147 0.693147
    >>> fit = bt_fit(np.array([0, 1, 0]), np.array([1, 2, 2]), np.zeros(3), 3)
    >>> fit.exists, fit.rewards.tolist(), fit.sinking.tolist()
    (False, [0.0, -inf, -inf], [False, True, True])
    """
    beats = beats_structure(heads, tails, size)
    inside = beats.inside
    edges = Edges(heads[inside], tails[inside], log_weights[inside], np.zeros(inside.sum()))
    rewards, residual = bt_newton(edges, beats.labels, bt_start(edges, beats.labels))
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

    Examples
    --------
    D1 (a≻b, b≻c, a≻c): three singleton components; b and c sink, only a is on top:

    >>> import numpy as np
    >>> from psipo_exact.solvers.bradley_terry import beats_structure
    >>> s = beats_structure(np.array([0, 1, 0]), np.array([1, 2, 2]), 3)
    >>> s.exists, s.sinking.tolist(), s.inside.tolist()
    (False, [False, True, True], [False, False, False])

    References
    ----------
    Ford (1957), Amer. Math. Monthly 64(8); Azar et al., arXiv:2310.12036, Eq. 2 and Sec. 4.2.
    """

    strong: np.ndarray
    n_strong: int
    sinking: np.ndarray
    inside: np.ndarray
    labels: np.ndarray
    exists: bool


def beats_structure(heads, tails, size: int) -> BeatsStructure:
    """The :class:`BeatsStructure` of the digraph with an edge ``h → t`` per datum (Ford 1957).

    Any loss ``Σ w f(r_h − r_t)`` with ``f`` decreasing to 0 at ``+∞`` (and ``→ ∞`` at
    ``−∞``) and positive weights has a finite minimiser iff ``exists``; otherwise the sinking
    nodes' rewards diverge to ``−∞`` and each top component minimises its own ``inside``
    edges.

    Parameters
    ----------
    heads, tails : ndarray of int, shape (E,)
        Edge ``e`` says node ``heads[e]`` beat node ``tails[e]`` (positive weight).
    size : int
        Number of nodes.

    Returns
    -------
    BeatsStructure

    Examples
    --------
    A 3-cycle is strongly connected: a finite minimiser exists, nothing sinks:

    >>> import numpy as np
    >>> from psipo_exact.solvers.bradley_terry import beats_structure
    >>> s = beats_structure(np.array([0, 1, 2]), np.array([1, 2, 0]), 3)
    >>> s.exists, s.n_strong, s.sinking.tolist()
    (True, 1, [False, False, False])

    References
    ----------
    Zermelo (1929), Math. Z. 29; Ford (1957), Amer. Math. Monthly 64(8); Azar et al.,
    arXiv:2310.12036, Eq. 2.
    """
    idx = index_dtype(size)
    beats = sp.csr_matrix((np.ones(heads.size), (heads.astype(idx), tails.astype(idx))),
                          shape=(size, size))
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
    >>> fit = bt_fit(np.array([0, 1, 0]), np.array([1, 2, 2]), np.zeros(3), 3)  # D1
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


def fit_bradley_terry(data, mu=None, *, reference=None) -> BradleyTerrySolution:
    """Maximum-likelihood Bradley–Terry rewards (Eq. 2), with existence, limits and errors.

    ``fit_bradley_terry(data)`` fits a :class:`Dataset` (``−Σ_i log σ(r_w,i − r_l,i)``,
    duplicates counted; contexts independent); ``fit_bradley_terry(prefs, mu)`` (or a
    :class:`PreferenceModel`) fits the population loss
    ``−E_{y,y′∼µ}[p*(y≻y′) log σ(r(y) − r(y′))]`` (the loss of Prop. 4), broadcasting over
    leading axes. Solved by damped Newton with the sparse Hessian (a weighted graph
    Laplacian) in log-weights, with coarse levels for weakly coupled groups
    (:mod:`psipo_exact.solvers._bt_newton`): every node's gradient relative to its own flows is
    driven to rounding level, whatever the scale of µ or of the weights. Standard errors
    come from the observed Fisher information (that Laplacian at the optimum).

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
        offsets are undetermined. ``residual``: the largest node gradient relative to that
        node's total flow ``Σ_e w_e σ(−x_e)`` (at every coarse level too): scale-free,
        ~1e-14 at convergence; above 1e-8 the status is 6 (did not converge). ``stderr``,
        ``covariance``, ``loglik``, ``deviance``: see :class:`BradleyTerrySolution`.
        ``policy`` = ``softmax(rewards)``: the Bradley–Terry strengths normalised to sum to
        1 per problem (the probability of each action in a Luce choice among all of them),
        not the policy of any loss.

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

    µ over 400 orders of magnitude (a 3-cycle, µ = (1 − 2ε, ε, ε), ε = 1e-200): the exact
    rewards are ``(0, log 1/ε, −log 1/ε)``, though ``µ(1)µ(2)`` underflows float64:

    >>> cycle = np.array([[.5, 0, 1], [1, .5, 0], [0, 1, .5]])  # 1 ≻ 0 ≻ 2 ≻ 1
    >>> fit = px.fit_bradley_terry(cycle, np.array([1 - 2e-200, 1e-200, 1e-200]))
    >>> print(fit.exists, np.round(fit.rewards, 2), f"{np.log(1e200):.2f}")
    True [   0.    460.52 -460.52] 460.52
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
        try:
            prefs, mu = _base.validated_prefs_mu(data, mu)
        except (TypeError, ValueError) as exc:  # name the argument as the caller knows it
            raise type(exc)(f"data (prefs, as mu is given): {exc}") from None
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

