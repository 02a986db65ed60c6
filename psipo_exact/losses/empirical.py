"""Empirical losses of Azar et al. (arXiv:2310.12036): means over a dataset ``D``.

Eq. 4 (DPO), Eq. 17 (IPO) and the two-term symmetric form just above Eq. 17, as functions of
the policy logits θ with ``π = softmax(θ)``. Each is ``Σ_i w_i ℓ(h_i)`` with
``h_i = h_π(y_w,i, y_l,i)``, so one scalar :class:`Link` ``ℓ`` and its derivative define both
the loss and its exact gradient ``∂/∂θ = Σ_i w_i ℓ′(h_i) (e_{w_i} − e_{l_i})``; the solvers
and the simulator use these links, never a second copy of a formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

from .. import _base, _checks
from ..model import Dataset
from ._gaps import check_trailing, datum_gap
from .pairwise import defined, margin_link, pairwise


@dataclass(frozen=True)
class Link:
    """A per-datum empirical loss ``ℓ(h; τ)`` and its derivative ``ℓ′(h; τ)`` in ``h``.

    ``h`` is the log-ratio gap ``h_π(y_w, y_l)`` of each datum; ``tau`` broadcasts.

    Attributes
    ----------
    name : str
        Key in :data:`LINKS`.
    equation : str
        Where the paper states the loss.
    value, grad : callable
        ``(h, tau) -> ℓ(h; τ)`` and ``(h, tau) -> ℓ′(h; τ)``, elementwise.
    tie_value, tie_grad : callable or None
        The loss of a tie and its derivative (``None``: the loss has no term for a tie
        and rejects data with ties).

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 (DPO: ``ℓ = −log σ(τh)``), Eq. 17 (IPO:
    ``ℓ = (h − τ⁻¹/2)²``) and the symmetric form above Eq. 17.

    Examples
    --------
    The DPO link at ``h = 0`` is ``log 2`` with slope ``−τ/2``; the IPO link vanishes at its
    target ``h = 1/(2τ)``:

    >>> from psipo_exact.losses import LINKS
    >>> dpo, ipo = LINKS["dpo"], LINKS["ipo"]
    >>> print(f"{dpo.value(0.0, 1.0):.4f} {dpo.grad(0.0, 1.0):.4f} {dpo.equation}")
    0.6931 -0.5000 Eq. 4
    >>> print(f"{ipo.value(0.25, 2.0):.4f} {ipo.grad(0.25, 2.0):.4f} {ipo.equation}")
    0.0000 0.0000 Eq. 17
    """

    name: str
    equation: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    tie_value: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    tie_grad: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None


def _ipo_symmetric_value(h, tau):
    return 0.5 * ((h - 1.0 / tau) ** 2 + h**2)  # ½[(h − τ⁻¹)² + h²], above Eq. 17


def _ipo_symmetric_grad(h, tau):
    return (h - 1.0 / tau) + h


def _ipo_tie_value(h, tau):
    return h**2  # Eq. 16 with I = 1/2, both orders, minus its constant 1/(4τ²)


def _ipo_tie_grad(h, tau):
    return 2.0 * h


def _ipo_symmetric_tie_value(h, tau):
    return h**2 + 0.25 / tau**2  # ½[(h − τ⁻¹/2)² + (−h − τ⁻¹/2)²]: Eq. 16 with I = 1/2


#: The empirical losses by name: Eq. 4 (DPO), Eq. 17 (IPO) and the symmetric IPO form.
#: ``dpo`` and ``ipo`` are the registry's ``sigmoid`` and ``ipo`` (:mod:`.pairwise`).
#: A tie is Eq. 16 with ``I = ½`` for both orders: IPO asks ``h = 0`` (no term in DPO).
LINKS: dict[str, Link] = {
    "dpo": Link("dpo", "Eq. 4", *margin_link("sigmoid")),
    "ipo": Link("ipo", "Eq. 17", *margin_link("ipo"), _ipo_tie_value, _ipo_tie_grad),
    "ipo_symmetric": Link("ipo_symmetric", "above Eq. 17", _ipo_symmetric_value,
                          _ipo_symmetric_grad, _ipo_symmetric_tie_value, _ipo_tie_grad),
}


def resolve_link(loss: str) -> Link:
    """The :class:`Link` of an empirical loss name (``"dpo"``, ``"ipo"``, ``"ipo_symmetric"``).

    Parameters
    ----------
    loss : str
        A key of :data:`LINKS`, case-insensitive.

    Returns
    -------
    Link

    Raises
    ------
    TypeError, ValueError
        For a non-string or an unknown name.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4, Eq. 17 and the symmetric form above Eq. 17.

    Examples
    --------
    >>> from psipo_exact.losses import resolve_link
    >>> resolve_link("IPO").equation
    'Eq. 17'
    >>> resolve_link("kto")
    Traceback (most recent call last):
    ...
    ValueError: loss = 'kto', must be one of ['dpo', 'ipo', 'ipo_symmetric']
    """
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a string, got {type(loss).__name__}")
    try:
        return LINKS[loss.lower()]
    except KeyError:
        raise ValueError(f"loss = {loss!r}, must be one of {sorted(LINKS)}") from None


def reference_gap(data: Dataset, pi_ref) -> np.ndarray:
    """``log πref(y_w) − log πref(y_l)`` per datum, shape (..., N).

    Raises
    ------
    ValueError
        If the shape of ``pi_ref`` does not fit the dataset or πref vanishes on an action
        that appears in the data.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 and Eq. 17 (the ``log πref(y_w)/πref(y_l)`` part of
    ``h_π``).

    Examples
    --------
    D1 (a≻b, b≻c, a≻c) with ``πref = (1/2, 1/4, 1/4)``: ``log 2``, ``0``, ``log 2``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.losses import reference_gap
    >>> print(np.round(reference_gap(px.paper_dataset("D1"), [0.5, 0.25, 0.25]), 4))
    [0.6931 0.     0.6931]
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    if data.contexts is not None and pi_ref.shape == (data.n_actions,):  # shared by contexts
        pi_ref = np.broadcast_to(pi_ref, data.logits_shape)
    check_trailing(pi_ref, data, "pi_ref")
    log_ref = _base.log(pi_ref)
    with np.errstate(invalid="ignore"):  # −∞ − (−∞) where πref vanishes on both actions
        gap = datum_gap(log_ref, data)
    if not np.isfinite(gap).all():
        bad = np.argwhere(~np.isfinite(gap))[0]
        i = int(bad[-1])
        raise ValueError(
            f"pi_ref vanishes on an action of datum {i} (winner {data.winners[i]}, loser "
            f"{data.losers[i]}{'' if data.contexts is None else f', context {data.contexts[i]}'}):"
            " log pi_ref must be finite on every compared action"
        )
    return gap


def scatter_to_logits(coef: np.ndarray, data: Dataset) -> np.ndarray:
    """``Σ_i coef_i (e_{w_i} − e_{l_i})``: the pull-back of per-datum derivatives to logits.

    Parameters
    ----------
    coef : ndarray, shape (..., N)
    data : Dataset

    Returns
    -------
    ndarray, shape (..., *data.logits_shape)

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 and Eq. 17 (chain rule through
    ``h_π(y_w, y_l) = θ_w − θ_l − log πref(y_w)/πref(y_l)``).

    Examples
    --------
    Unit coefficients give wins minus losses per action; on D1, (2, 0, −2):

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.losses import scatter_to_logits
    >>> print(scatter_to_logits(np.ones(3), px.paper_dataset("D1")))
    [ 2.  0. -2.]
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    coef = _checks.as_float_array(coef, "coef", min_ndim=1, allow_inf=True)
    if coef.shape[-1] != len(data):
        raise ValueError(f"coef has {coef.shape[-1]} entries on its last axis, "
                         f"the dataset has {len(data)} data")
    lead = coef.shape[:-1]
    flat = coef.reshape(-1, len(data))
    out = np.asarray(data.incidence.T @ flat.T).T
    return out.reshape(lead + data.logits_shape)


def _weights_for(sample_weights, data: Dataset) -> np.ndarray:
    if sample_weights is None:
        return data.datum_weights / data.total_weight
    w = _checks.as_float_array(sample_weights, "sample_weights", min_ndim=1)
    if w.shape[-1] != len(data):
        raise ValueError(f"sample_weights has {w.shape[-1]} entries on its last axis, "
                         f"the dataset has {len(data)} data")
    if (w < 0).any():
        raise ValueError("sample_weights must be >= 0")
    return w


def empirical_loss(loss: str, logits, data: Dataset, pi_ref, tau, *, sample_weights=None,
                   return_grad: bool = False):
    """Empirical loss ``Σ_i w_i ℓ(h_π(y_w,i, y_l,i))`` and optionally its gradient in θ.

    Parameters
    ----------
    loss : {"dpo", "ipo", "ipo_symmetric"}
        Eq. 4, Eq. 17 or the symmetric form above Eq. 17 (see :data:`LINKS`).
    logits : array_like, shape (..., *data.logits_shape)
        Policy logits θ, ``π = softmax(θ)`` on the action axis.
    data : Dataset
    pi_ref : array_like, broadcastable to ``logits``
        Reference policy, positive on every compared action.
    tau : float or array_like
        τ > 0, broadcast against the leading axes of ``logits`` (without the context axis).
    sample_weights : array_like, shape (..., N), optional
        Weights ``w_i`` of the data; default ``c_i / Σ c`` with ``c = data.datum_weights``
        (``1/N``: the mean over D, when the dataset has no weights). Mini-batch losses are
        ``counts / batch_size``.
    return_grad : bool, default False
        Also return ``∂loss/∂θ``, shape of ``logits``.

    Returns
    -------
    loss : ndarray, shape (...)
    grad : ndarray, only if ``return_grad``

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 (DPO), Eq. 17 (IPO) and the two-term form above
    Eq. 17.

    Examples
    --------
    IPO on D1 at θ = 0 (π = πref, so h = 0): every datum costs ``(0 − 1/(2τ))² = 1/4`` at
    τ = 1, and the gradient is ``(1/3) Σ_i 2 (0 − 1/2)(e_w − e_l) = (−2/3, 0, 2/3)``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.losses import empirical_loss
    >>> d1, uniform = px.paper_dataset("D1"), np.ones(3) / 3
    >>> loss, grad = empirical_loss("ipo", np.zeros(3), d1, uniform, 1.0, return_grad=True)
    >>> print(f"{loss:.4f}", np.round(grad, 4))
    0.2500 [-0.6667  0.      0.6667]

    A τ grid adds a leading axis (the τ rule):

    >>> print(np.round(empirical_loss("ipo", np.zeros(3), d1, uniform, [0.5, 1.0]), 4))
    [1.   0.25]
    """
    link = resolve_link(loss)
    return_grad = _checks.flag(return_grad, "return_grad")
    return _margin_empirical(link, logits, data, pi_ref, tau, sample_weights, return_grad)


def _prepared(logits, data: Dataset, pi_ref, tau, sample_weights):
    """Validated ``(θ, reference gaps, τ[..., None], weights)`` of an empirical loss."""
    gap_ref = reference_gap(data, pi_ref)
    theta = _checks.as_float_array(logits, "logits", min_ndim=len(data.logits_shape))
    check_trailing(theta, data, "logits")
    lead = theta.shape[: theta.ndim - len(data.logits_shape)]
    t, lead = _base.tau_for(tau, lead)
    return theta, gap_ref, t[..., None], _weights_for(sample_weights, data)


def _margin_empirical(link: Link, logits, data, pi_ref, tau, sample_weights, return_grad):
    """``Σ_i w_i ℓ(h_i)`` of a margin loss; its gradient is the scatter of ``w ℓ′(h)``."""
    theta, gap_ref, t, w = _prepared(logits, data, pi_ref, tau, sample_weights)
    if link.tie_value is None:
        _checks.no_ties(data, f"the {link.name} loss ({link.equation})",
                        "use dpo_ties_empirical (DPO-RK / DPO-D) or IPO")
    # Logits near the float maximum or tiny τ overflow to ±∞, the correctly rounded values;
    # data of weight 0 contribute 0 even then, and ∞ − ∞ raises in `defined`.
    with np.errstate(over="ignore", invalid="ignore"):
        h = datum_gap(theta, data) - gap_ref
        value = np.sum(w * np.where(w > 0, _per_datum(link, "value", h, t, data), 0.0), -1)
        if not return_grad:
            return defined(value, link.name)
        coef = np.broadcast_to(w * np.where(w > 0, _per_datum(link, "grad", h, t, data), 0.0),
                               value.shape + (len(data),))
        return defined(value, link.name), defined(scatter_to_logits(coef, data), link.name)


def _per_datum(link: Link, what: str, h, t, data: Dataset) -> np.ndarray:
    """``link.value``/``link.grad`` per datum, with the tie loss where ``data.ties``."""
    out = getattr(link, what)(h, t)
    if data.ties is None or getattr(link, f"tie_{what}") is None:  # ties of weight 0 only
        return out
    return np.where(data.ties, getattr(link, f"tie_{what}")(h, t), out)


def _at(values: np.ndarray, data: Dataset, actions: np.ndarray) -> np.ndarray:
    """``values[..., (x_i,) actions_i]`` per datum, shape (..., N)."""
    if data.contexts is None:
        return values[..., actions]
    return values[..., data.contexts, actions]


def _scatter(coef: np.ndarray, data: Dataset, actions: np.ndarray) -> np.ndarray:
    """``Σ_i coef_i e_{(x_i,) actions_i}``, shape (..., *logits_shape)."""
    size = data.n_contexts * data.n_actions
    select = sp.csr_matrix((np.ones(len(data)), (np.arange(len(data)),
                            data.context_index * data.n_actions + actions)),
                           shape=(len(data), size))
    flat = coef.reshape(-1, len(data))
    return np.asarray(select.T @ flat.T).T.reshape(coef.shape[:-1] + data.logits_shape)


def pairwise_empirical(name: str, logits, data: Dataset, pi_ref, tau, *, sample_weights=None,
                       return_grad: bool = False, **params):
    """Empirical loss ``Σ_i w_i ℓ(s_w,i, s_l,i)`` of a registered loss, and its gradient in θ.

    ``s = log softmax(θ) − log πref`` per context. Margin losses under ``reverse_kl`` are
    computed from the logit gaps, exactly as Eq. 4/17 (:func:`empirical_loss`), so ``"sigmoid"``
    is :func:`dpo_empirical` and ``"ipo"`` is :func:`ipo_empirical`, bit for bit. Other losses
    use ``∂/∂θ_y = G_y − π(y) Σ_y′ G_y′`` per context, ``G`` the scatter of ``w ∂ℓ/∂s``.

    Parameters
    ----------
    name : str
        A registered loss (:data:`~psipo_exact.losses.PAIRWISE_LOSSES`) or alias.
    logits : array_like, shape (..., *data.logits_shape)
        Policy logits θ, ``π = softmax(θ)`` on the action axis.
    data : Dataset
    pi_ref : array_like, broadcastable to ``logits``
        Reference policy, positive on every compared action.
    tau : float or array_like
        τ > 0 (TRL's ``beta``), broadcast against the leading axes of ``logits``.
    sample_weights : array_like, shape (..., N), optional
        Weights of the data; default ``c_i / Σ c`` with ``c = data.datum_weights``.
    return_grad : bool, default False
        Also return ``∂loss/∂θ``, shape of ``logits``.
    **params
        The loss's parameters (TRL names; see :func:`~psipo_exact.losses.pairwise_loss`).

    Returns
    -------
    loss : ndarray, shape (...)
    grad : ndarray, only if ``return_grad``

    Raises
    ------
    ValueError
        On an unknown loss or parameter, a parameter out of range, or invalid data, πref,
        logits, τ or weights.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> d1 = px.paper_dataset("D1")
    >>> float(px.losses.pairwise_empirical("bco_pair", np.zeros(3), d1, np.ones(3) / 3, 1.0))
    1.3862943611198906

    References
    ----------
    TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """
    loss = pairwise(name)
    return_grad = _checks.flag(return_grad, "return_grad")
    if loss.is_margin(**params):
        p = loss.parameters(**params)
        shape = loss.margin_shape()
        link = Link(loss.name, "TRL loss_type", lambda h, t: shape.value(h, t, p),
                    lambda h, t: shape.d1(h, t, p))
        return _margin_empirical(link, logits, data, pi_ref, tau, sample_weights, return_grad)
    theta, _, t, w = _prepared(logits, data, pi_ref, tau, sample_weights)
    _checks.no_ties(data, f"the {loss.name} loss", "use dpo_ties_empirical (DPO-RK / DPO-D) "
                    "or IPO")
    ref = _checks.probability_vector(pi_ref, "pi_ref")
    log_pi = theta - logsumexp(theta, axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        s = log_pi - _base.log(ref)  # +∞ only where πref = 0, never on a compared action
        s_w, s_l = _at(s, data, data.winners), _at(s, data, data.losers)
        value = np.sum(w * np.where(w > 0, loss.value(s_w, s_l, t, **params), 0.0), axis=-1)
        if not return_grad:
            return defined(value, loss.name)
        d_w, d_l = loss.grad(s_w, s_l, t, **params)
        full = value.shape + (len(data),)
        g = (_scatter(np.broadcast_to(w * np.where(w > 0, d_w, 0.0), full), data, data.winners)
             + _scatter(np.broadcast_to(w * np.where(w > 0, d_l, 0.0), full), data, data.losers))
        grad = g - np.exp(log_pi) * g.sum(-1, keepdims=True)
    return defined(value, loss.name), defined(grad, loss.name)


def dpo_empirical(logits, data, pi_ref, tau, **kwargs):
    """Empirical DPO loss, Eq. 4: ``E_{(y_w, y_l)∼D}[−log σ(τ h_π(y_w, y_l))]``.

    See :func:`empirical_loss` for parameters (``sample_weights``, ``return_grad``).

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4; Sec. 5.4 (no finite minimiser on D1).

    Examples
    --------
    On D1 the loss keeps decreasing along θ = t·(1, 0, −1), towards 0 (Sec. 5.4: DPO
    drives π to (1, 0, 0)); at t = 1 it is ``(2 log(1 + e⁻¹) + log(1 + e⁻²))/3``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.losses import dpo_empirical
    >>> d1, uniform = px.paper_dataset("D1"), np.ones(3) / 3
    >>> for t in (0.0, 1.0, 10.0):
    ...     print(f"{dpo_empirical(t * np.array([1.0, 0.0, -1.0]), d1, uniform, 1.0):.4g}")
    0.6931
    0.2512
    3.027e-05
    >>> print(f"{(2 * np.log1p(np.exp(-1)) + np.log1p(np.exp(-2))) / 3:.4g}")
    0.2512
    """
    return empirical_loss("dpo", logits, data, pi_ref, tau, **kwargs)


def ipo_empirical(logits, data, pi_ref, tau, **kwargs):
    """Empirical IPO loss, Eq. 17: ``E_{(y_w, y_l)∼D}[(h_π(y_w, y_l) − τ⁻¹/2)²]``.

    A tie is Eq. 16 with ``I(y, y′) = ½`` for both orders: its term is ``h²`` (IPO pulls the
    two log-ratios together), up to the constant ``1/(4τ²)`` that Eq. 17 drops.

    See :func:`empirical_loss` for parameters (``sample_weights``, ``return_grad``).

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 17.

    Examples
    --------
    On D1 with uniform πref, Eq. 17 asks for gaps ``c = 1/(2τ)`` on a→b, b→c, a→c; least
    squares gives ``θ_a − θ_b = θ_b − θ_c = 2c/3``, residuals ``∓c/3`` and the minimum
    ``c²/9``: ``1/36`` at τ = 1, with zero gradient there:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.losses import ipo_empirical
    >>> d1, uniform = px.paper_dataset("D1"), np.ones(3) / 3
    >>> theta = np.array([1.0, 0.0, -1.0]) / 3
    >>> loss, grad = ipo_empirical(theta, d1, uniform, 1.0, return_grad=True)
    >>> print(f"{loss:.6f} {1 / 36:.6f}", np.allclose(grad, 0.0))
    0.027778 0.027778 True
    """
    return empirical_loss("ipo", logits, data, pi_ref, tau, **kwargs)


def ipo_empirical_symmetric(logits, data, pi_ref, tau, **kwargs):
    """Two-term sampled IPO loss above Eq. 17: ``½ E_D[(h − τ⁻¹)² + h²]``, ``h = h_π(y_w, y_l)``.

    Each datum contributes ``(y, y′, I) = (y_w, y_l, 1)`` and ``(y_l, y_w, 0)`` to Eq. 16;
    equals Eq. 17 plus ``1/(4τ²)``. See :func:`empirical_loss` for parameters.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.2, the two-term loss just above Eq. 17.

    Examples
    --------
    The gap to Eq. 17 is ``1/(4τ²)`` at every θ: 1/4 at τ = 1, 1 at τ = 1/2:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.losses import ipo_empirical, ipo_empirical_symmetric
    >>> d1, uniform, taus = px.paper_dataset("D1"), np.ones(3) / 3, np.array([1.0, 0.5])
    >>> theta = np.array([0.3, -1.0, 2.0])
    >>> gap = ipo_empirical_symmetric(theta, d1, uniform, taus) - ipo_empirical(
    ...     theta, d1, uniform, taus)
    >>> print(np.round(gap, 6))
    [0.25 1.  ]
    """
    return empirical_loss("ipo_symmetric", logits, data, pi_ref, tau, **kwargs)
