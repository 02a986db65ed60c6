"""Per-pair targets: the margin ``h`` that minimises ``p ℓ(h) + (1 − p) ℓ(−h)`` for each loss.

For a pair of actions compared with preference ``p = p*(y ≻ y′)`` and nothing else, a
margin loss (``reverse_kl``) is minimised at ``h* = z*(p)/τ``; ``z*`` is the "link" of the
loss read as a scoring rule. In closed form (derivations in ``docs/loss_family.md``):

=======================  ===============================================================
loss                     ``z* = τ h*``
=======================  ===============================================================
``sigmoid``, ``savage``  ``logit p``
``cdpo``                 ``logit((1 − 2ε) p + ε)`` (DPO on smoothed preferences)
``robust``               ``logit((p − ε)/(1 − 2ε))`` for ``ε ≤ p ≤ 1 − ε`` (DPO on de-noised
                         preferences); outside, the loss is unbounded below
``exponential``          ``½ logit p``
``ipo``                  ``p − ½``
``squared``,             ``2p − 1``
``truncated_quadratic``
``hinge``                ``sign(2p − 1)`` (at ``p = ½`` every ``z ∈ [−1, 1]``; 0 reported)
``exo_pair``             ``(2p − 1) log((1 − ε)/ε)``
``discopop``             no closed form: the global minimiser of the 1-D problem, by a grid
                         on ``[−60, 60]`` refined by bounded Brent (with the default
                         ``discopop_tau = 0.05`` the problem has two local minima; at
                         ``p = ½`` two global ones, ``±z``; the non-negative one is
                         reported)
=======================  ===============================================================
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit

from .. import _checks
from .pairwise import LossParams, pairwise

#: Grid of the 1-D global search (``discopop``).
_GRID = np.linspace(-60.0, 60.0, 4801)


def _closed_form(name: str, p: np.ndarray, prm: LossParams) -> np.ndarray:
    e = prm.label_smoothing
    with np.errstate(divide="ignore"):
        if name in ("sigmoid", "savage"):
            return logit(p)
        if name == "cdpo":
            return logit((1 - 2 * e) * p + e)
        if name == "robust":
            q = (p - e) / (1 - 2 * e)
            return np.where(q <= 0, -np.inf, np.where(q >= 1, np.inf, logit(np.clip(q, 0, 1))))
        if name == "exponential":
            return 0.5 * logit(p)
        if name == "ipo":
            return p - 0.5
        if name in ("squared", "truncated_quadratic"):
            return 2 * p - 1
        if name == "hinge":
            return np.sign(2 * p - 1)
        if name == "exo_pair":
            return (2 * p - 1) * (np.log1p(-e) - np.log(e))
    raise KeyError(name)


def pair_objective(name: str, z, p, **params) -> np.ndarray:
    """``p ℓ(z) + (1 − p) ℓ(−z)`` at τ = 1: the loss of a pair compared with preference p.

    Parameters
    ----------
    name : str
        A registered margin loss.
    z : array_like
        The margin ``τ h``.
    p : float or array_like
        Preference in [0, 1] (broadcast with ``z``).
    **params
        The loss's parameters.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> from psipo_exact.losses import pair_objective
    >>> float(pair_objective("squared", 0.0, 0.5))
    1.0

    References
    ----------
    Tang et al. 2024, arXiv:2402.05749 (GPO); Azar et al., arXiv:2310.12036, Eq. 5.
    """
    loss = pairwise(name)
    prm = loss.parameters(**params)
    z = _checks.as_float_array(z, "z", allow_inf=True)
    return objective(loss, z, _preference(p), prm)


def objective(loss, z, p, prm: LossParams) -> np.ndarray:
    """:func:`pair_objective` for a resolved loss and validated parameters.

    Examples
    --------
    >>> from psipo_exact import losses
    >>> from psipo_exact.losses.targets import objective
    >>> loss = losses.pairwise("ipo")
    >>> float(objective(loss, 0.5, 1.0, loss.parameters()))  # (z − ½)² at z = ½, p = 1
    0.0

    References
    ----------
    Tang et al. 2024, arXiv:2402.05749 (GPO); Azar et al., arXiv:2310.12036, Eq. 5.
    """
    shape = loss.margin_shape()
    with np.errstate(invalid="ignore", over="ignore"):
        forward = np.where(p > 0, p * shape.value(z, 1.0, prm), 0.0)
        backward = np.where(p < 1, (1 - p) * shape.value(-z, 1.0, prm), 0.0)
    return forward + backward


def _numerical(loss, p: np.ndarray, prm: LossParams) -> np.ndarray:
    """Global minimiser of the pair objective on ``[−60, 60]``, per distinct ``p``."""
    values, inverse = np.unique(p.ravel(), return_inverse=True)
    found = np.empty(values.size)
    for k, q in enumerate(values):  # one 1-D search per distinct preference
        if q in (0.0, 1.0):
            found[k] = np.inf if q == 1.0 else -np.inf
            continue
        grid = objective(loss, _GRID, q, prm)
        best = np.flatnonzero(grid <= grid.min() + 1e-12 * max(1.0, abs(grid.min())))
        i = int(best[-1] if q >= 0.5 else best[0])
        lo, hi = _GRID[max(i - 1, 0)], _GRID[min(i + 1, _GRID.size - 1)]
        from scipy.optimize import minimize_scalar  # lazy: import psipo_exact stays light
        res = minimize_scalar(lambda z: float(objective(loss, z, q, prm)), bounds=(lo, hi),
                              method="bounded", options={"xatol": 1e-13, "maxiter": 500})
        found[k] = res.x
    return found[inverse].reshape(p.shape)


def target_margin(loss, p: np.ndarray, prm: LossParams) -> np.ndarray:
    """``z* = τ h*`` for a resolved margin loss and validated parameters.

    Examples
    --------
    ``exponential``: ``z* = ½ logit(p)``; at p = e²/(1 + e²), ``z* = 1``:

    >>> import numpy as np
    >>> from psipo_exact import losses
    >>> from psipo_exact.losses.targets import target_margin
    >>> loss = losses.pairwise("exponential")
    >>> p = np.exp(2) / (1 + np.exp(2))
    >>> round(float(target_margin(loss, np.array(p), loss.parameters())), 12)
    1.0

    References
    ----------
    Tang et al. 2024, arXiv:2402.05749 (GPO); Azar et al., arXiv:2310.12036, Eq. 13.
    """
    if loss.name == "discopop":
        return _numerical(loss, p, prm)
    return _closed_form(loss.name, p, prm)


def pair_target(name: str, p, tau=1.0, **params) -> np.ndarray:
    """The margin ``h*`` minimising ``p ℓ(h) + (1 − p) ℓ(−h)`` (module docstring's table).

    Parameters
    ----------
    name : str
        A registered margin loss (``reverse_kl``): ``sigmoid``, ``cdpo``, ``robust``,
        ``exponential``, ``ipo``, ``squared``, ``truncated_quadratic``, ``hinge``,
        ``savage``, ``exo_pair``, ``discopop``.
    p : float or array_like
        Preference ``p*(y ≻ y′)`` in [0, 1].
    tau : float or array_like, default 1
        τ > 0; ``h* = z*/τ`` (broadcast with ``p``).
    **params
        The loss's parameters (TRL names).

    Returns
    -------
    ndarray
        ``h*``, ``±∞`` where the minimum is attained only in the limit (or, for ``robust``
        with ``p < ε`` or ``p > 1 − ε``, where the loss is unbounded below: ``±∞`` is then
        the direction of divergence).

    Raises
    ------
    ValueError
        If the loss is not a margin loss, ``p`` is outside [0, 1], τ ≤ 0, or a parameter is
        out of range.

    Examples
    --------
    >>> from psipo_exact.losses import pair_target
    >>> float(pair_target("ipo", 0.8, tau=0.5))  # (p − ½)/τ, Eq. 13 for one pair
    0.6000000000000001
    >>> float(pair_target("cdpo", 1.0, label_smoothing=0.1))  # logit 0.9
    2.1972245773362196

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 13 (IPO's per-pair target); Tang et al. 2024,
    arXiv:2402.05749 (GPO's losses as scoring rules).
    """
    loss = pairwise(name)
    if not loss.is_margin(**params):
        raise ValueError(f"loss {loss.name!r} with these parameters is not a margin loss: "
                         "per-pair targets are defined for losses of h = s_w - s_l")
    prm = loss.parameters(**params)
    p = _preference(p)
    t = _checks.tau(tau)
    with np.errstate(over="ignore"):  # a finite target over a subnormal τ: ±∞, its limit
        return target_margin(loss, p, prm) / t


def _preference(p) -> np.ndarray:
    """Validate a preference ``p`` in [0, 1]."""
    p = _checks.as_float_array(p, "p")
    bad = (p < 0) | (p > 1)
    if bad.any():
        raise ValueError(f"p = {p[bad].ravel()[0]}, must lie in [0, 1]")
    return p
