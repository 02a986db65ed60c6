"""Backtracking line search shared by the damped Newton fits (tie models, Plackett–Luce)."""

from __future__ import annotations


def backtrack(trial, value: float, slope: float):
    """Armijo backtracking from the full step: ``trial(alpha)`` returns ``(loss, state)`` or
    ``None`` where the step leaves the domain; returns the first acceptable state (with slack
    for the rounding of the loss near the optimum), or ``None`` below ``alpha = 1e-12``."""
    alpha = 1.0
    while alpha > 1e-12:
        out = trial(alpha)
        if out is not None and out[0] <= value + 1e-4 * alpha * slope + 1e-13 * abs(value):
            return out[1]
        alpha *= 0.5
    return None
