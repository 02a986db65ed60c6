"""Paired comparisons with ties: the Rao–Kupper and Davidson models, and DPO extended to ties.

Both extend Bradley–Terry (Eq. 1) with a tie parameter; ``d = r(y) − r(y′)``:

* Rao & Kupper (1967), ``θ = e^α ≥ 1``: ``P(y ≻ y′) = σ(d − α)``,
  ``P(tie) = 1 − σ(d − α) − σ(−d − α)``, computed as
  ``log P(tie) = log(e^{2α} − 1) − softplus(α − d) − softplus(α + d)``.
* Davidson (1970), ``ν = e^β ≥ 0``: ``P(y ≻ y′) = e^{d/2} / Z``, ``P(tie) = ν / Z`` with
  ``Z = e^{d/2} + e^{−d/2} + ν``.

``α = 0`` (RK) and ``ν = 0`` (Davidson) are Bradley–Terry. Both negative log-likelihoods are
jointly convex in ``(d, α)`` and ``(d, β)``. DPO extended to ties (Chen et al., 2024,
arXiv:2409.17431, "DPO-RK" and "DPO-D") replaces ``d`` by ``τ h_π(y, y′)`` (Eq. 4's
argument), so in ``r = τ(θ − log πref)`` the loss is the tie model's likelihood, as Prop. 4
says for DPO. Each :class:`TieModel` gives per datum the negative log-likelihood and its
first and second derivatives in ``(d, φ)`` (``φ = α`` or ``β``), for wins and for ties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import expit, logsumexp

from .. import _base, _checks
from ..model import Dataset
from ._gaps import check_trailing, datum_gap
from .empirical import reference_gap


@dataclass(frozen=True)
class TieModel:
    """A tie model: per-datum ``−log P`` and derivatives ``(f, f_d, f_φ, f_dd, f_dφ, f_φφ)``.

    ``win(d, φ)`` is for a decisive datum won by the first action, ``tie(d, φ)`` for a tie;
    ``parameter(φ)`` maps ``φ`` to the model's usual tie parameter (θ or ν) and ``start(t)``
    gives ``φ`` from a tie fraction ``t`` at ``d = 0``; ``lower`` bounds ``φ``.

    References
    ----------
    Davidson (1970), JASA 65, 317-328; Rao & Kupper (1967), JASA 62, 194-204; both reduce
    to Bradley–Terry (Azar et al., arXiv:2310.12036, Eq. 1) at ``ν = 0`` / ``θ = 1``.

    Examples
    --------
    Davidson at ``d = log 4`` (strengths 4 : 1) and ``ν = e^0 = 1``: ``Z = 2 + 1/2 + 1``,
    so a win, a loss and a tie have probabilities 2/3.5, 0.5/3.5 and 1/3.5:

    >>> import numpy as np
    >>> from psipo_exact.losses import TIE_MODELS
    >>> davidson = TIE_MODELS["davidson"]
    >>> d, beta = np.log(4.0), 0.0
    >>> nll = [davidson.win(d, beta)[0], davidson.win(-d, beta)[0], davidson.tie(d, beta)[0]]
    >>> print(np.round(np.exp(-np.array(nll)), 4), np.round([2 / 3.5, 0.5 / 3.5, 1 / 3.5], 4))
    [0.5714 0.1429 0.2857] [0.5714 0.1429 0.2857]

    The second entry is ``∂f/∂d`` (here of the tie), as a central difference confirms:

    >>> f = lambda x: davidson.tie(x, beta)[0]
    >>> bool(np.isclose(davidson.tie(d, beta)[1], (f(d + 1e-6) - f(d - 1e-6)) / 2e-6))
    True

    Rao–Kupper with ``θ = 2`` at ``d = 0``: ``P(win) = 1/(1 + θ) = 1/3`` each way, so a tie
    has 1/3 too; ``start(1/3)`` recovers ``α = log 2``:

    >>> rk = TIE_MODELS["rao_kupper"]
    >>> alpha = np.log(2.0)
    >>> print(np.round(np.exp(-np.array([rk.win(0.0, alpha)[0], rk.tie(0.0, alpha)[0]])), 4))
    [0.3333 0.3333]
    >>> round(float(rk.parameter(rk.start(1 / 3))), 6)
    2.0
    """

    name: str
    reference: str
    win: Callable
    tie: Callable
    parameter: Callable
    from_parameter: Callable
    start: Callable
    lower: float


def _rk_win(d, alpha):
    p = expit(alpha - d)  # σ(α − d) = 1 − P(win)
    s = p * (1 - p)
    return _base.softplus(alpha - d), -p, p, s, -s, s


def _rk_tie(d, alpha):
    p, q = expit(alpha - d), expit(alpha + d)
    s1, s2 = p * (1 - p), q * (1 - q)
    with np.errstate(divide="ignore"):
        log_gap = 2 * alpha + np.log(-np.expm1(-2 * alpha))  # log(e^{2α} − 1)
        value = _base.softplus(alpha - d) + _base.softplus(alpha + d) - log_gap
        f_a = p + q - 2 / -np.expm1(-2 * alpha)
        f_aa = s1 + s2 + 1 / np.sinh(alpha) ** 2
    return value, q - p, f_a, s1 + s2, s2 - s1, f_aa


def _lse_terms(z, a_d, a_b, offset_d, offset_b):
    """``f = LSE(z) − offset_d·d − offset_b·β``, ``z`` linear in (d, β) with rows a_d, a_b."""
    q = np.exp(z - logsumexp(z, axis=0))
    mean_d, mean_b = np.tensordot(a_d, q, 1), np.tensordot(a_b, q, 1)
    # Covariances of (a_d, a_b) under q from centred rows: E[a²] − E[a]² would cancel to
    # a negative curvature when q is concentrated (e.g. ν ≫ 1), breaking Newton's Cholesky.
    axes = (-1,) + (1,) * (q.ndim - 1)
    c_d, c_b = a_d.reshape(axes) - mean_d, a_b.reshape(axes) - mean_b
    f_dd, f_db, f_bb = (np.sum(q * x * y, axis=0) for x, y in ((c_d, c_d), (c_d, c_b),
                                                                 (c_b, c_b)))
    return logsumexp(z, axis=0), mean_d - offset_d, mean_b - offset_b, f_dd, f_db, f_bb


def _davidson_win(d, beta):
    # −log P(win) = LSE(d/2, −d/2, β) − d/2 = LSE(0, −d, β − d/2): shifted inside, so that
    # d = +∞ (a certain win) gives 0, not ∞ − ∞ (and ν = 0 keeps its term e^β = 0)
    d, beta = np.broadcast_arrays(d, beta)
    z = np.stack([np.zeros_like(d), -d, beta - np.where(np.isneginf(beta), 0.0, d / 2)])
    return _lse_terms(z, np.array([0.0, -1.0, -0.5]), np.array([0.0, 0.0, 1.0]), 0.0, 0.0)


def _davidson_tie(d, beta):
    # −log P(tie) = LSE(d/2, −d/2, β) − β
    d, beta = np.broadcast_arrays(d, beta)
    z = np.stack([d / 2, -d / 2, beta])
    value, f_d, f_b, f_dd, f_db, f_bb = _lse_terms(
        z, np.array([0.5, -0.5, 0.0]), np.array([0.0, 0.0, 1.0]), 0.0, 1.0)
    return value - beta, f_d, f_b, f_dd, f_db, f_bb


#: The tie models by name.
TIE_MODELS = {
    "rao_kupper": TieModel(
        "rao_kupper", "Rao & Kupper (1967), JASA 62, 194-204", _rk_win, _rk_tie,
        parameter=np.exp, from_parameter=np.log,
        start=lambda t: np.log((1 + t) / (1 - t)), lower=0.0),
    "davidson": TieModel(
        "davidson", "Davidson (1970), JASA 65, 317-328", _davidson_win, _davidson_tie,
        parameter=np.exp, from_parameter=_base.log,
        start=lambda t: np.log(2 * t / (1 - t)), lower=-np.inf),
}


def resolve_tie_model(tie_model) -> TieModel:
    """The :class:`TieModel` named ``"rao_kupper"`` or ``"davidson"``.

    Parameters
    ----------
    tie_model : str
        ``"rao_kupper"`` (also ``"rao-kupper"``) or ``"davidson"``, any case.

    Returns
    -------
    TieModel

    Raises
    ------
    TypeError
        If ``tie_model`` is not a string.
    ValueError
        On an unknown name.

    Examples
    --------
    >>> resolve_tie_model("Rao-Kupper").name
    'rao_kupper'

    References
    ----------
    Rao & Kupper (1967); Davidson (1970).
    """
    if not isinstance(tie_model, str):
        raise TypeError(f"tie_model must be a string, got {type(tie_model).__name__}")
    try:
        return TIE_MODELS[tie_model.lower().replace("-", "_")]
    except KeyError:
        raise ValueError(f"tie_model = {tie_model!r}, must be one of "
                         f"{sorted(TIE_MODELS)}") from None


def tie_parameter_value(model: TieModel, value) -> float:
    """Validate a given tie parameter (θ ≥ 1 for Rao–Kupper, ν ≥ 0 for Davidson) → ``φ``.

    Parameters
    ----------
    model : TieModel
    value : float
        θ or ν.

    Returns
    -------
    float
        ``φ = log θ`` or ``log ν`` (``−∞`` for ν = 0).

    Raises
    ------
    ValueError
        If the value is outside the model's range.

    Examples
    --------
    >>> tie_parameter_value(TIE_MODELS["rao_kupper"], 1.0)
    0.0

    References
    ----------
    Rao & Kupper (1967); Davidson (1970).
    """
    low = 1.0 if model.name == "rao_kupper" else 0.0
    name = "theta" if model.name == "rao_kupper" else "nu"
    value = _checks.real_in_range(value, f"tie_parameter ({name})", low, np.inf)
    return float(model.from_parameter(value))


def tie_loglik_terms(model: TieModel, d, phi, tie) -> np.ndarray:
    """``−log P(datum)`` per datum: ties where ``tie``, else a win of the first action.

    Parameters
    ----------
    model : TieModel
    d : array_like
        Reward differences ``r(first) − r(second)``.
    phi : float
        ``log θ`` or ``log ν``.
    tie : array_like of bool

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> terms = tie_loglik_terms(TIE_MODELS["davidson"], [0.0, 0.0], 0.0, [False, True])
    >>> np.allclose(terms, np.log(3))  # ν = 1, d = 0: win and tie each 1/3
    True

    References
    ----------
    Rao & Kupper (1967); Davidson (1970).
    """
    d = np.asarray(d, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        win = model.win(d, phi)[0]
        draw = model.tie(d, phi)[0]
    return np.where(tie, draw, win)


def dpo_ties_empirical(logits, data: Dataset, pi_ref, tau, tie_model: str,
                       tie_parameter) -> np.ndarray:
    """DPO extended to ties (Chen et al., 2024): ``mean_i −log P_model(datum i)`` at
    ``d_i = τ h_π(y_w,i, y_l,i)``, with the tie model's fixed parameter.

    Parameters
    ----------
    logits : array_like, shape (..., *data.logits_shape)
        Policy logits θ.
    data : Dataset
        Comparisons; ``data.ties`` marks ties.
    pi_ref : array_like
        Reference policy, positive on every compared action.
    tau : float or array_like
        τ > 0, broadcast against the leading axes of ``logits``.
    tie_model : {"rao_kupper", "davidson"}
        DPO-RK or DPO-D.
    tie_parameter : float
        θ ≥ 1 (Rao–Kupper) or ν ≥ 0 (Davidson).

    Returns
    -------
    ndarray, shape (...)
        The weighted mean over the data (weights ``data.weights``).

    Raises
    ------
    ValueError
        On an unknown tie model or an invalid parameter, or the inputs of
        :func:`~psipo_exact.losses.dpo_empirical`; when float overflow makes the loss not
        representable (∞ − ∞).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> data = px.Dataset.from_pairs([("a", "b"), ("a", "b")], ties=[False, True])
    >>> loss = px.losses.dpo_ties_empirical(np.zeros(2), data, [0.5, 0.5], 1.0, "davidson", 1.0)
    >>> bool(np.isclose(loss, np.log(3)))  # P(win) = P(tie) = 1/3 at d = 0, ν = 1
    True

    References
    ----------
    Chen et al., arXiv:2409.17431 (DPO-RK, DPO-D); Azar et al., arXiv:2310.12036, Eq. 4.
    """
    model = resolve_tie_model(tie_model)
    phi = tie_parameter_value(model, tie_parameter)
    gap_ref = reference_gap(data, pi_ref)
    theta = _checks.as_float_array(logits, "logits", min_ndim=len(data.logits_shape))
    check_trailing(theta, data, "logits")
    lead = theta.shape[: theta.ndim - len(data.logits_shape)]
    t, lead = _base.tau_for(tau, lead)
    tie = np.zeros(len(data), bool) if data.ties is None else data.ties
    w = data.datum_weights / data.total_weight
    # Logits near the float maximum or tiny τ overflow to ±∞ (as empirical_loss); ∞ − ∞ raises.
    with np.errstate(over="ignore", invalid="ignore"):
        d = t[..., None] * (datum_gap(theta, data) - gap_ref)
        loss = np.sum(w * np.where(w > 0, tie_loglik_terms(model, d, phi, tie), 0.0), axis=-1)
    return _checks.representable(loss, f"the DPO-{model.name} loss", "the logits or 1/tau "
                                 "are too close to the float maximum")
