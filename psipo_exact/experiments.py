"""The paper's illustrative set-ups (Sec. 4.2, 5.3.1, 5.4) composed from the exact modules.

Sec. 4.2 and 5.3.1: two actions, uniform µ and πref, deterministic preference
``p*(y₁ ≻ y₂) = 1``. The logit-ΨPO (RLHF/DPO) policy of Eq. 7 is deterministic for every τ,
the IPO policy is ``π*(y₁) = σ(τ⁻¹/2)`` and tends to πref as τ → ∞.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from .closed_form import psipo_policy

#: The τ grid of the closed-form sweep (log-spaced, 1e-2 .. 1e2).
DEFAULT_SWEEP_TAUS = np.logspace(-2, 2, 41)


def two_action_deterministic_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(prefs, mu, pi_ref)`` of Sec. 5.3.1: ``p*(y₁ ≻ y₂) = 1``, uniform µ and πref."""
    prefs = np.array([[0.5, 1.0], [0.0, 0.5]])
    uniform = np.array([0.5, 0.5])
    return prefs, uniform, uniform


def closed_form_sweep(taus=DEFAULT_SWEEP_TAUS) -> dict[str, np.ndarray]:
    """Eq. 7 policies of Sec. 4.2/5.3.1 over a τ grid, for Ψ = identity (IPO) and logit.

    Parameters
    ----------
    taus : array_like
        τ values (> 0).

    Returns
    -------
    dict
        ``tau``; ``ipo_pi_y1``/``ipo_pi_y2`` (Eq. 7 with Ψ = identity);
        ``logit_pi_y1``/``logit_pi_y2`` (Eq. 7 with Ψ = logit, i.e. RLHF/DPO by Prop. 1);
        ``ipo_sigmoid`` = σ(τ⁻¹/2), the paper's closed form of Sec. 5.3.1, computed
        independently for comparison.
    """
    taus = _checks.tau(np.atleast_1d(taus))
    prefs, mu, pi_ref = two_action_deterministic_model()
    ipo = psipo_policy(prefs, mu, pi_ref, taus, psi="identity")
    logit = psipo_policy(prefs, mu, pi_ref, taus, psi="logit")
    return {
        "tau": taus,
        "ipo_pi_y1": ipo[:, 0],
        "ipo_pi_y2": ipo[:, 1],
        "logit_pi_y1": logit[:, 0],
        "logit_pi_y2": logit[:, 1],
        "ipo_sigmoid": 1.0 / (1.0 + np.exp(-0.5 / taus)),
    }
