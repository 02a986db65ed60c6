"""Shared private numerics: the one declared base layer below every other module.

Only :mod:`psipo_exact._checks` (validation and error messages) sits beside it. Every other
module may import the names defined here; no module imports another module's underscore
(private) names (``tests/test_layout.py`` enforces this).

The τ rule (one rule for every function that takes ``tau``)
-------------------------------------------------------------
``tau`` may be a scalar or an array, and it broadcasts against the *leading* axes of the
problem (every axis but the action axis, and but the ``(n, n)`` axes of ``prefs``), by numpy's
rules. A problem without leading axes (a single policy, or a :class:`~psipo_exact.Dataset`,
whose contexts are part of its trailing ``logits_shape``) therefore gets ``tau.shape`` as its
leading shape: a τ grid. A grid of τ *over* leading axes asks for new axes,
``taus[:, None]`` for one leading axis (output ``(len(taus), *lead)``). :func:`tau_for`
applies this rule and, when shapes do not broadcast, says how to ask for a grid.
"""

from __future__ import annotations

import numpy as np

from . import _checks


def log(x: np.ndarray) -> np.ndarray:
    """Natural log with ``log(0) = −∞`` and no divide warning."""
    with np.errstate(divide="ignore"):
        return np.log(x)


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + e^x) = −log σ(−x)``, overflow-free."""
    return np.logaddexp(0.0, x)


def frozen(arr) -> np.ndarray:
    """A read-only copy of ``arr`` (results and inputs held by frozen dataclasses)."""
    arr = np.array(arr, copy=True)
    arr.setflags(write=False)
    return arr


def tau_for(tau, lead: tuple[int, ...], name: str = "tau", *,
            allow_zero: bool = False) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validate τ and broadcast it against the leading shape ``lead`` of the other inputs.

    Returns
    -------
    tau : ndarray
        The validated τ (its own shape).
    shape : tuple of int
        The broadcast leading shape of the result.

    Raises
    ------
    ValueError
        If τ is not finite and positive (non-negative with ``allow_zero``), or its shape
        does not broadcast against ``lead``; the message says how to ask for a grid of τ
        over the leading axes.
    """
    t = _checks.tau(tau, name, allow_zero=allow_zero)
    try:
        return t, np.broadcast_shapes(lead, t.shape)
    except ValueError:
        hint = "[:, " + ", ".join(["None"] * len(lead)) + "]"
        raise ValueError(
            f"leading shapes do not broadcast: inputs {lead}, {name} {t.shape}; {name} "
            f"broadcasts against the leading axes of the inputs (numpy rules), so for a grid "
            f"of {name} over them pass {name}{hint} (output shape {t.shape + lead})"
        ) from None


def validated_prefs_mu(prefs, mu) -> tuple[np.ndarray, np.ndarray]:
    """Validate a preference matrix and a behaviour policy µ that fit together."""
    prefs = _checks.preference_matrix(prefs)
    mu = _checks.probability_vector(mu, "mu")
    _checks.n_actions_match(prefs.shape[-1], "prefs", mu=mu)
    _checks.broadcastable(("prefs", prefs.shape[:-2]), ("mu", mu.shape[:-1]))
    return prefs, mu


def reduce_contexts(values: np.ndarray, rho) -> np.ndarray:
    """``E_{x∼ρ}[values]`` over the last axis (the context axis) when ``rho`` is given."""
    if rho is None:
        return values
    rho = _checks.probability_vector(rho, "rho")
    if rho.ndim != 1 or values.ndim == 0 or values.shape[-1] != rho.shape[0]:
        raise ValueError(
            f"rho has shape {rho.shape}, but the context axis (last leading axis) of the "
            f"inputs has shape {values.shape[-1:] if values.ndim else ()}"
        )
    # Contexts with ρ(x) = 0 do not count, even where the value is ±∞ (0·∞ = 0).
    values = np.where(rho > 0, values, 0.0)
    if (np.isposinf(values).any(-1) & np.isneginf(values).any(-1)).any():
        raise ValueError(
            "the expectation over rho is undefined (inf - inf): one context with rho > 0 "
            "has value +inf and another -inf"
        )
    return values @ rho
