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
from scipy.special import expit

from .. import _base, _checks
from ..model import Dataset


@dataclass(frozen=True)
class Link:
    """A per-datum empirical loss ``ℓ(h; τ)`` and its derivative ``ℓ′(h; τ)`` in ``h``.

    ``h`` is the log-ratio gap ``h_π(y_w, y_l)`` of each datum; ``tau`` broadcasts.
    """

    name: str
    equation: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]


def _dpo_value(h, tau):
    return _base.softplus(-tau * h)  # −log σ(τ h), Eq. 4


def _dpo_grad(h, tau):
    return -tau * expit(-tau * h)


def _ipo_value(h, tau):
    return (h - 0.5 / tau) ** 2  # (h − τ⁻¹/2)², Eq. 17


def _ipo_grad(h, tau):
    return 2.0 * (h - 0.5 / tau)


def _ipo_symmetric_value(h, tau):
    return 0.5 * ((h - 1.0 / tau) ** 2 + h**2)  # ½[(h − τ⁻¹)² + h²], above Eq. 17


def _ipo_symmetric_grad(h, tau):
    return (h - 1.0 / tau) + h


#: The empirical losses by name: Eq. 4 (DPO), Eq. 17 (IPO) and the symmetric IPO form.
LINKS: dict[str, Link] = {
    "dpo": Link("dpo", "Eq. 4", _dpo_value, _dpo_grad),
    "ipo": Link("ipo", "Eq. 17", _ipo_value, _ipo_grad),
    "ipo_symmetric": Link("ipo_symmetric", "above Eq. 17", _ipo_symmetric_value,
                          _ipo_symmetric_grad),
}


def resolve_link(loss: str) -> Link:
    """The :class:`Link` of an empirical loss name (``"dpo"``, ``"ipo"``, ``"ipo_symmetric"``)."""
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
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    if data.contexts is not None and pi_ref.shape == (data.n_actions,):  # shared by contexts
        pi_ref = np.broadcast_to(pi_ref, data.logits_shape)
    _check_trailing(pi_ref, data, "pi_ref")
    log_ref = _base.log(pi_ref)
    with np.errstate(invalid="ignore"):  # −∞ − (−∞) where πref vanishes on both actions
        gap = _datum_gap(log_ref, data)
    if not np.isfinite(gap).all():
        bad = np.argwhere(~np.isfinite(gap))[0]
        i = int(bad[-1])
        raise ValueError(
            f"pi_ref vanishes on an action of datum {i} (winner {data.winners[i]}, loser "
            f"{data.losers[i]}{'' if data.contexts is None else f', context {data.contexts[i]}'}):"
            " log pi_ref must be finite on every compared action"
        )
    return gap


def _check_trailing(arr: np.ndarray, data: Dataset, name: str) -> None:
    want = data.logits_shape
    got = arr.shape[-len(want):] if arr.ndim >= len(want) else arr.shape
    if got != want:
        raise ValueError(
            f"{name} has shape {arr.shape}, its trailing axes must be {want} "
            f"({'n_actions' if len(want) == 1 else '(n_contexts, n_actions)'} of the dataset)"
        )


def _datum_gap(values: np.ndarray, data: Dataset) -> np.ndarray:
    """``values[..., (x_i,) y_w,i] − values[..., (x_i,) y_l,i]`` per datum, shape (..., N)."""
    if data.contexts is None:
        return values[..., data.winners] - values[..., data.losers]
    return values[..., data.contexts, data.winners] - values[..., data.contexts, data.losers]


def scatter_to_logits(coef: np.ndarray, data: Dataset) -> np.ndarray:
    """``Σ_i coef_i (e_{w_i} − e_{l_i})``: the pull-back of per-datum derivatives to logits.

    Parameters
    ----------
    coef : ndarray, shape (..., N)
    data : Dataset

    Returns
    -------
    ndarray, shape (..., *data.logits_shape)
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
    """
    link = resolve_link(loss)
    return_grad = _checks.flag(return_grad, "return_grad")
    gap_ref = reference_gap(data, pi_ref)
    theta = _checks.as_float_array(logits, "logits", min_ndim=len(data.logits_shape))
    _check_trailing(theta, data, "logits")
    lead = theta.shape[: theta.ndim - len(data.logits_shape)]
    t, lead = _base.tau_for(tau, lead)
    w = _weights_for(sample_weights, data)
    t = t[..., None]
    # Logits near the float maximum or tiny τ overflow to ±∞, the correctly rounded values;
    # data of weight 0 contribute 0 even then, and ∞ − ∞ raises in _defined.
    with np.errstate(over="ignore", invalid="ignore"):
        h = _datum_gap(theta, data) - gap_ref
        value = np.sum(w * np.where(w > 0, link.value(h, t), 0.0), axis=-1)
        if not return_grad:
            return _defined(value, link)
        coef = np.broadcast_to(w * np.where(w > 0, link.grad(h, t), 0.0),
                               value.shape + (len(data),))
        return _defined(value, link), _defined(scatter_to_logits(coef, data), link)


def _defined(x: np.ndarray, link: Link) -> np.ndarray:
    """``x``, or a ValueError if float overflow made it NaN (∞ − ∞)."""
    if np.isnan(x).any():
        raise ValueError(
            f"the {link.name} loss or its gradient is not representable (inf - inf): the "
            "logits or 1/tau are too close to the float maximum"
        )
    return x


def dpo_empirical(logits, data, pi_ref, tau, **kwargs):
    """Empirical DPO loss, Eq. 4: ``E_{(y_w, y_l)∼D}[−log σ(τ h_π(y_w, y_l))]``.

    See :func:`empirical_loss` for parameters (``sample_weights``, ``return_grad``).
    """
    return empirical_loss("dpo", logits, data, pi_ref, tau, **kwargs)


def ipo_empirical(logits, data, pi_ref, tau, **kwargs):
    """Empirical IPO loss, Eq. 17: ``E_{(y_w, y_l)∼D}[(h_π(y_w, y_l) − τ⁻¹/2)²]``.

    See :func:`empirical_loss` for parameters (``sample_weights``, ``return_grad``).
    """
    return empirical_loss("ipo", logits, data, pi_ref, tau, **kwargs)


def ipo_empirical_symmetric(logits, data, pi_ref, tau, **kwargs):
    """Two-term sampled IPO loss above Eq. 17: ``½ E_D[(h − τ⁻¹)² + h²]``, ``h = h_π(y_w, y_l)``.

    Each datum contributes ``(y, y′, I) = (y_w, y_l, 1)`` and ``(y_l, y_w, 0)`` to Eq. 16;
    equals Eq. 17 plus ``1/(4τ²)``. See :func:`empirical_loss` for parameters.
    """
    return empirical_loss("ipo_symmetric", logits, data, pi_ref, tau, **kwargs)
