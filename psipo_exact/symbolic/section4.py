"""Symbolic check of Sec. 4 of Azar et al. (arXiv:2310.12036): Proposition 1 (Sec. 4.1).

With Ψ = logit and Bradley–Terry preferences (Eq. 1), the ΨPO objective's
g(y) = E_{y′∼µ}[Ψ(p(y≻y′))] equals r(y) − E_µ[r]: RLHF and DPO are ΨPO with Ψ = logit.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from ._check import Check, timed
from .algebra import (
    Expr,
    action_symbols,
    bradley_terry,
    expected_psi,
    preference_symbols,
    probability_symbols,
    psi_logit,
    simplifies_to_zero,
)


@timed
def check_proposition1(
    n: int = 4, preference: Callable[[Expr, Expr], Expr] = bradley_terry
) -> Check:
    """Proposition 1: with Ψ = logit and Bradley–Terry preferences, g(y) = r(y) − E_µ[r].

    Shows Ψ(p(y≻y′)) = r(y) − r(y′) for symbolic rewards (which gives the claim for any
    number of actions by linearity of E_µ), then assembles E_{y′∼µ}[Ψ(p(y≻y′))] for ``n``
    actions with Σµ = 1 and reduces it to r(y) − Σ µ r.

    Parameters
    ----------
    n : int
        Number of actions in the assembled check.
    preference : callable
        ``preference(r_y, r_y2)`` = p(y≻y′); the paper's is
        :func:`~psipo_exact.symbolic.algebra.bradley_terry`.

    Returns
    -------
    Check

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 4.1, Proposition 1.

    Examples
    --------
    >>> from psipo_exact.symbolic import check_proposition1, sigmoid
    >>> check_proposition1(n=2).holds
    True

    A negative control: preferences ``σ(2(r − r′))`` are not Bradley–Terry in ``r``:

    >>> check_proposition1(n=2, preference=lambda a, b: sigmoid(2 * (a - b))).holds
    False
    """
    r_a, r_b = sp.symbols("r_a r_b", real=True)
    per_pair = simplifies_to_zero(psi_logit(preference(r_a, r_b)) - (r_a - r_b))
    rewards = action_symbols("r", n, real=True)
    mu = probability_symbols("mu", n)
    prefs = preference_symbols(n, lambda i, j: preference(rewards[i], rewards[j]))
    mean_reward = sum(m * r for m, r in zip(mu, rewards))
    g = expected_psi(prefs, mu, psi_logit)
    assembled = all(simplifies_to_zero(g[y] - (rewards[y] - mean_reward)) for y in range(n))
    detail = (
        f"logit(p(y≻y′)) − (r(y) − r(y′)) simplifies to 0 for symbolic r (per pair: {per_pair}); "
        f"E_µ[logit p(y≻y′)] − (r(y) − E_µ[r]) = 0 with Σµ = 1, n = {n} (all y: {assembled})"
    )
    return Check(
        "Ψ = logit under Bradley–Terry gives g(y) = r(y) − E_µ[r]",
        "Prop. 1, Sec. 4.1",
        per_pair and assembled,
        detail,
    )
