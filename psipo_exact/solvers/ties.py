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

from ..losses.ties import resolve_tie_model, tie_parameter_value
from ..model import Dataset
from ._groups import lead_description
from ._problem import reference_index
from ._statistics import information, joint_covariance, saturated_loglik, shift_to_reference
from ._ties_mle import evaluate, tie_edges, tie_fit
from .bradley_terry import bt_solution
from .result import NOT_CONVERGED, TieModelSolution


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
    value, _, _, curvature, cross, a = evaluate(model, r, phi, wins_in, ties_in, size)
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
