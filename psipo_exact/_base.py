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

#: HiGHS (scipy.optimize.linprog) feasibility tolerances of every exact LP: the defaults
#: (1e-7) round away slopes and margins far above the solvers' 1e-9 decisions.
HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


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


def bisect(fun, lo: np.ndarray, hi: np.ndarray, max_iter: int = 2000) -> np.ndarray:
    """Vectorised bisection to full double precision: a root of ``fun`` in ``[lo, hi]``.

    ``fun`` maps an array of points (shape of ``lo``) to values; each entry must be
    increasing in its point and change sign on its bracket (``fun(lo) ≤ 0 ≤ fun(hi)``; an
    entry positive on its whole bracket is returned at ``lo``, negative at ``hi``). Stops when every
    bracket is within 4 ulp of ``max(1, |lo|, |hi|)`` (full precision for roots of size ≥ 1,
    absolute 1e-15 below); returns the bracket midpoints.
    """
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    eps = np.finfo(float).eps
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        width = 4 * eps * np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi)))
        done = (mid <= lo) | (mid >= hi) | (hi - lo <= width)
        if done.all():
            break
        up = fun(mid) < 0
        lo, hi = np.where(up & ~done, mid, lo), np.where(~up & ~done, mid, hi)
    return 0.5 * (lo + hi)


def newton_root(fun, lo: np.ndarray, hi: np.ndarray, max_iter: int = 200) -> np.ndarray:
    """Vectorised safeguarded Newton: a root of an increasing ``fun`` in ``[lo, hi]``.

    ``fun(x)`` returns ``(value, derivative)``. Newton steps that leave the current bracket
    are replaced by bisection, so it converges whenever :func:`bisect` does (same bracket
    rule: an entry without a sign change is returned at the end where ``fun`` is nearer its
    root), quadratically near simple roots. Stops when every step, or value, is within 4 ulp
    of ``max(1, |x|)`` (the rounding floor of functions of unit slope, such as
    ``x + c − log g(x)``) or the bracket has collapsed.
    """
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    eps = np.finfo(float).eps
    # Roots at an end of the bracket, or within 4 ulp of one, are settled before iterating.
    near_lo = lo + 4 * eps * np.maximum(1.0, np.abs(lo))
    near_hi = hi - 4 * eps * np.maximum(1.0, np.abs(hi))
    at_lo = (fun(lo)[0] >= 0) | (fun(np.minimum(near_lo, hi))[0] >= 0)
    at_hi = ~at_lo & ((fun(hi)[0] <= 0) | (fun(np.maximum(near_hi, lo))[0] <= 0))
    lo, hi = np.where(at_hi, hi, lo), np.where(at_lo, lo, hi)
    x = 0.5 * (lo + hi)
    for _ in range(max_iter):
        value, slope = fun(x)
        lo, hi = np.where(value < 0, x, lo), np.where(value > 0, x, hi)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = x - value / slope
        inside = np.isfinite(step) & (step > lo) & (step < hi)
        new = np.where(value == 0, x, np.where(inside, step, 0.5 * (lo + hi)))
        tol = 4 * eps * np.maximum(1.0, np.abs(x))
        at_root = np.abs(value) <= tol  # keep x: the value is at its rounding floor
        done = at_root | (np.abs(new - x) <= tol) | (hi - lo <= tol)
        x = np.where(at_root, x, new)
        if done.all():
            break
    return x
