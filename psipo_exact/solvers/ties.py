"""Maximum likelihood of the tie models (Rao–Kupper 1967, Davidson 1970), with existence.

The models are in :mod:`psipo_exact.losses.ties`. The rewards and the tie parameter ``φ``
(``α = log θ`` or ``β = log ν``) are fitted jointly by damped Newton: the Hessian in the
rewards is a weighted graph Laplacian (each datum depends on ``d = r_w − r_l`` only), and the
``φ`` row is eliminated by its Schur complement, so each step costs two Laplacian solves.

Existence and limits, as for Bradley–Terry: draw an edge ``w → l`` for every win and edges
both ways for every tie (a tie's probability vanishes when ``|d| → ∞``). The rewards have a
finite maximiser for a fixed ``φ`` iff, within each connected component, this digraph is
strongly connected. Otherwise, along every maximising sequence the comparisons between its
strongly connected components are won with probability → 1 (they all point one way), the
actions outside the top components sink to ``−∞``, and every component is fitted on its own
comparisons with the one shared ``φ`` (the supremum of the likelihood). The tie parameter: with
no tie of positive weight its maximum-likelihood value is the boundary ``α = 0`` / ``ν = 0``
(Bradley–Terry); with no decisive comparison inside a component it is ``+∞``; between the
two, the fit reports when ``φ`` runs off (status "did not converge": ``|φ| > 40``, or the
curvature left in ``φ`` after optimising the rewards is below 1e-6 of its own, i.e. the
likelihood only flattens out), e.g. ``a ≻ b`` and ``a = b`` only, whose supremum ``(½)²`` is
reached only as ``θ → ∞``. This detection is numerical; a complete existence condition for
the joint maximum (rewards and tie parameter) is not derived here.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .. import _checks
from ..losses.ties import resolve_tie_model, tie_parameter_value
from ..model import Dataset
from ._groups import lead_description
from ._laplacian import LaplacianPattern, component_mean, index_dtype, laplacian_solve, pull_back
from ._newton import backtrack
from ._problem import nodes, reference_index
from ._statistics import information, joint_covariance, saturated_loglik, shift_to_reference
from .bradley_terry import BTFit, bt_solution
from .result import NOT_CONVERGED, TieModelSolution

#: |φ| beyond which the tie parameter is reported as diverging.
PHI_LIMIT = 40.0
#: Relative curvature in φ below which the likelihood is taken to flatten out (divergence).
FLAT = 1e-6


def tie_edges(data: Dataset):
    """Coalesced wins ``(heads, tails, weights)`` and ties ``(low, high, weights)`` of ``data``
    over global nodes (data of weight 0 dropped)."""
    heads, tails, size = nodes(data)
    tie = np.zeros(len(data), bool) if data.ties is None else data.ties
    w = data.datum_weights
    out = []
    for keep, a, b in ((~tie & (w > 0), heads, tails),
                       (tie & (w > 0), np.minimum(heads, tails), np.maximum(heads, tails))):
        key, inverse = np.unique(a[keep] * size + b[keep], return_inverse=True)
        out.append((key // size, key % size, np.bincount(inverse.ravel(), w[keep], key.size)))
    return out[0], out[1], size


def _structure(wins, ties, size):
    """SCCs of the digraph (wins one way, ties both ways), the sinking nodes, existence."""
    heads = np.concatenate([wins[0], ties[0], ties[1]])
    tails = np.concatenate([wins[1], ties[1], ties[0]])
    idx = index_dtype(size)
    beats = sp.csr_matrix((np.ones(heads.size), (heads.astype(idx), tails.astype(idx))),
                          shape=(size, size))
    n_weak, _ = connected_components(beats, directed=True, connection="weak")
    n_strong, strong = connected_components(beats, directed=True, connection="strong")
    across = strong[heads] != strong[tails]
    sinking = (np.bincount(strong[tails[across]], minlength=n_strong) > 0)[strong]
    return strong, n_strong, sinking, n_weak == n_strong


def _evaluate(model, r, phi, wins, ties, size):
    """Negative log-likelihood, gradients (r, φ), edge curvatures, ``b = ∂²/∂r∂φ`` and
    ``a = ∂²/∂φ²``."""
    parts = []
    for (h, t, w), fn in ((wins, model.win), (ties, model.tie)):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f = fn(r[h] - r[t], phi)
        parts.append((h, t, w, f))
    value = sum(float(w @ f[0]) for _, _, w, f in parts)
    grad = sum(pull_back(w * f[1], h, t, size) for h, t, w, f in parts)
    g_phi = sum(float(w @ f[2]) for _, _, w, f in parts)
    curvature = np.concatenate([w * f[3] for _, _, w, f in parts])
    cross = sum(pull_back(w * f[4], h, t, size) for h, t, w, f in parts)
    a = sum(float(w @ f[5]) for _, _, w, f in parts)
    return value, grad, g_phi, curvature, cross, a


def _newton(model, wins, ties, size, labels, phi, fixed):
    """Damped Newton on (r, φ) (or r alone when ``fixed``); returns r, φ, residual, ok."""
    heads = np.concatenate([wins[0], ties[0]])
    tails = np.concatenate([wins[1], ties[1]])
    pattern = LaplacianPattern(heads, tails, size)
    total = np.bincount(heads, np.r_[wins[2], ties[2]], size) + np.bincount(
        tails, np.r_[wins[2], ties[2]], size)
    scale = max(float(total.max(initial=0.0)), 1e-300)
    r = np.log((np.bincount(wins[0], wins[2], size) + 0.5) /
               (np.bincount(wins[1], wins[2], size) + 0.5))
    r = r - component_mean(r, labels, int(labels.max(initial=-1)) + 1)
    state = (r, phi) + _evaluate(model, r, phi, wins, ties, size)
    for _ in range(200):
        r, phi, value, grad, g_phi, curvature, cross, a = state
        norm = max(np.abs(grad).max(initial=0.0), 0.0 if fixed else abs(g_phi))
        if norm <= 1e-13 * scale or (not fixed and abs(phi) > PHI_LIMIT):
            break
        lap = pattern.laplacian(curvature)
        if fixed:
            step_r, step_phi = laplacian_solve(lap, labels, -grad[:, None])[:, 0], 0.0
        else:
            x = laplacian_solve(lap, labels, np.stack([-grad, cross], 1))
            step_phi = (-g_phi - cross @ x[:, 0]) / (a - cross @ x[:, 1])
            step_r = x[:, 0] - x[:, 1] * step_phi
        def trial(alpha):
            moved, moved_phi = r + alpha * step_r, phi + alpha * step_phi
            if not (fixed or moved_phi > model.lower):
                return None  # Rao–Kupper: θ > 1 when there are ties
            out = (moved, moved_phi) + _evaluate(model, moved, moved_phi, wins, ties, size)
            return out[2], out

        accepted = backtrack(trial, value, grad @ step_r + g_phi * step_phi)
        if accepted is None:
            break
        state = accepted
    r, phi, _, grad, g_phi, curvature, cross, a = state
    residual = max(np.abs(grad).max(initial=0.0), 0.0 if fixed else abs(g_phi)) / scale
    if fixed:
        return r, phi, residual, True
    # The curvature left in φ once r is optimised (Schur complement): ~0 on a direction
    # along which the likelihood only flattens out (ties becoming certain).
    x = laplacian_solve(pattern.laplacian(curvature), labels, cross[:, None])[:, 0]
    schur = a - cross @ x
    return r, phi, residual, abs(phi) <= PHI_LIMIT and schur > FLAT * a


def tie_fit(model, wins, ties, size, phi=None):
    """Joint maximum likelihood of a tie model over global nodes (module docstring).

    Returns a ``BTFit`` (rewards mean zero per top component, ``−∞`` on sinking nodes), ``φ``,
    whether ``φ`` converged, the edges inside the components and their component labels.
    """
    strong, n_strong, sinking, exists = _structure(wins, ties, size)
    inside = [strong[e[0]] == strong[e[1]] for e in (wins, ties)]
    wins_in = tuple(x[inside[0]] for x in wins)
    ties_in = tuple(x[inside[1]] for x in ties)
    fixed = phi is not None
    if not fixed:
        n_ties, n_wins = ties_in[2].sum(), wins_in[2].sum()
        if n_ties == 0:
            phi, fixed = model.lower, True  # boundary: Bradley–Terry
        elif n_wins == 0:
            raise ValueError(
                "no decisive comparison inside any strongly connected component: the "
                "maximum-likelihood tie parameter is +inf (every comparison a tie)")
        else:
            phi = float(model.start(min(n_ties / (n_ties + n_wins), 0.9)))
    r, phi, residual, converged = _newton(model, wins_in, ties_in, size, strong, phi, fixed)
    r = r - component_mean(r, strong, n_strong)
    fit = BTFit(np.where(sinking, -np.inf, r), np.where(sinking, -1, strong), sinking,
                exists, residual)
    return fit, phi, converged, wins_in, ties_in, strong, r


def _fit_tie_model(name: str, data: Dataset, tie_parameter, reference) -> TieModelSolution:
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    model = resolve_tie_model(name)
    phi = None if tie_parameter is None else tie_parameter_value(model, tie_parameter)
    wins, ties, size = tie_edges(data)
    fit, phi, converged, wins_in, ties_in, strong, r = tie_fit(model, wins, ties, size, phi)
    lead, n = data.logits_shape[:-1], data.n_actions
    ref = reference_index(reference, data, n)
    ref_nodes = None if ref is None else np.arange(size) % n == ref
    value, _, _, curvature, cross, a = _evaluate(model, r, phi, wins_in, ties_in, size)
    heads, tails = np.r_[wins_in[0], ties_in[0]], np.r_[wins_in[1], ties_in[1]]
    info = information(heads, tails, curvature, size)
    labels = np.where(fit.sinking, -1, strong)
    estimated = tie_parameter is None and phi > model.lower and bool(np.isfinite(a))
    if estimated:  # the joint information [[L, b], [bᵀ, a]] of (r, φ)
        info = sp.bmat([[info, sp.csr_matrix(cross[:, None])],
                        [sp.csr_matrix(cross[None, :]), sp.csr_matrix([[a]])]]).tocsr()
    live, cov = joint_covariance(info, labels, ref_nodes, int(estimated))
    diag = np.sqrt(np.clip(np.diagonal(cov), 0.0, None))
    stderr = np.full(size, np.inf)
    stderr[live] = diag[: live.size]
    phi_se = float(diag[-1]) if estimated else 0.0
    rewards = fit.rewards if ref_nodes is None else shift_to_reference(
        fit.rewards, labels, ref_nodes)
    saturated = saturated_loglik(np.r_[wins[0], ties[0]], np.r_[wins[1], ties[1]],
                                 np.r_[wins[2], ties[2]], size)
    rewards = rewards.reshape(lead + (n,))
    theta = float(model.parameter(phi))
    desc = lead_description(lead, "context", data.context_names)
    extra = dict(rewards=rewards, stderr=stderr.reshape(lead + (n,)), loglik=-value,
                 deviance=2 * (saturated + value), information=info, reference=ref,
                 tie_model=model.name, tie_parameter=theta,
                 tie_parameter_stderr=phi_se * theta)
    from ..closed_form import softmax_policy

    sol = bt_solution(fit, lead, n, np.ones(size, bool), desc, data, softmax_policy(rewards),
                      rewards, kind=TieModelSolution,
                      free_note="the reward offsets between the free groups are undetermined",
                      **extra)
    if converged:
        return sol
    from .result import make_solution

    return make_solution(sol.policy, sol.logits, exists=False, free=sol.free,
                         residual=sol.residual, status=NOT_CONVERGED, kind=TieModelSolution,
                         detail="the tie parameter diverges: the likelihood keeps growing (or "
                         "flattens out) as ties become certain", **extra)


def fit_rao_kupper(data: Dataset, tie_parameter=None, *, reference=None) -> TieModelSolution:
    """Maximum-likelihood Rao–Kupper model: rewards and the tie parameter ``θ ≥ 1``.

    ``P(y ≻ y′) = σ(d − log θ)``, ``P(tie) = 1 − σ(d − log θ) − σ(−d − log θ)``,
    ``d = r(y) − r(y′)``; ``θ = 1`` is Bradley–Terry (Eq. 1). Existence and limits: module
    docstring.

    Parameters
    ----------
    data : Dataset
        Comparisons, ties marked by ``data.ties``.
    tie_parameter : float, optional
        A fixed ``θ >= 1``; default: estimated jointly.
    reference : int or str, optional
        As :func:`fit_bradley_terry` (default: rewards mean zero per component).

    Returns
    -------
    TieModelSolution
        As :class:`BradleyTerrySolution`, plus ``tie_model``, ``tie_parameter`` (θ) and
        ``tie_parameter_stderr`` (delta method; 0 when fixed, at the boundary θ = 1 or not
        estimated).

    Raises
    ------
    ValueError
        If every comparison is a tie (θ̂ = +∞), or on an invalid ``tie_parameter``.

    Examples
    --------
    >>> import psipo_exact as px
    >>> data = px.Dataset.from_pairs([("a", "b"), ("b", "a"), ("a", "b")],
    ...                              ties=[False, False, True])
    >>> fit = px.fit_rao_kupper(data)
    >>> round(fit.tie_parameter, 6)  # one tie in three at d = 0: (θ - 1)/(θ + 1) = 1/3
    2.0

    References
    ----------
    Rao & Kupper (1967), JASA 62, 194-204; Azar et al., arXiv:2310.12036, Eq. 1-2.
    """
    return _fit_tie_model("rao_kupper", data, tie_parameter, reference)


def fit_davidson(data: Dataset, tie_parameter=None, *, reference=None) -> TieModelSolution:
    """Maximum-likelihood Davidson model: rewards and the tie parameter ``ν ≥ 0``.

    ``P(y ≻ y′) = e^{r(y)} / Z``, ``P(tie) = ν e^{(r(y) + r(y′))/2} / Z`` with
    ``Z = e^{r(y)} + e^{r(y′)} + ν e^{(r(y) + r(y′))/2}``; ``ν = 0`` is Bradley–Terry.
    Existence and limits: module docstring.

    Parameters
    ----------
    data : Dataset
        Comparisons, ties marked by ``data.ties``.
    tie_parameter : float, optional
        A fixed ``ν >= 0``; default: estimated jointly.
    reference : int or str, optional
        As :func:`fit_bradley_terry`.

    Returns
    -------
    TieModelSolution
        As :func:`fit_rao_kupper`, with ``tie_parameter`` = ν.

    Raises
    ------
    ValueError
        If every comparison is a tie (ν̂ = +∞), or on an invalid ``tie_parameter``.

    Examples
    --------
    >>> import psipo_exact as px
    >>> data = px.Dataset.from_pairs([("a", "b"), ("b", "a"), ("a", "b")],
    ...                              ties=[False, False, True])
    >>> round(px.fit_davidson(data).tie_parameter, 6)  # ν / (2 + ν) = 1/3 at d = 0
    1.0

    References
    ----------
    Davidson (1970), JASA 65, 317-328; Azar et al., arXiv:2310.12036, Eq. 1-2.
    """
    return _fit_tie_model("davidson", data, tie_parameter, reference)


def check_tie_free(data: Dataset, what: str) -> None:
    """Reject ties for a solver without a tie term (names the tie-aware alternatives)."""
    _checks.no_ties(data, what, "pass tie_model='rao_kupper' or 'davidson' (Chen et al., "
                    "2024), use IPO")
