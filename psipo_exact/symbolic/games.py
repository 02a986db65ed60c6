"""Symbolic checks of the preference game (Munos et al., arXiv:2312.00886).

The regularised game ``P(π≻π′) − τKL(π‖πref) + τKL(π′‖πref)`` and its equilibrium, the
fixed point of Eq. 7 of Azar et al. (arXiv:2310.12036) with µ = π*:

* :func:`check_duality_gap` — the duality gap ``2 max_π′ P_τ(π′≻π) − 1`` equals
  ``2τ KL(π‖BR(π))`` with BR the Gibbs best response (uses ``πᵀ prefs π = ½``).
* :func:`check_two_action_equilibrium` — two actions: ``p(y₁≻π) − p(y₂≻π) = p − ½`` for
  every π, so the equilibrium is ``π*(y₁) = σ(logit πref(y₁) + (p − ½)/τ)`` and offline IPO
  with any µ gives the same policy.
* :func:`check_three_cycle` — the symmetric 3-cycle with uniform πref: the uniform policy is
  the fixed point for every τ (and the unique τ = 0 equilibrium when p ≠ ½: ker A = span 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from ._check import Check, timed
from .algebra import (
    TAU,
    Expr,
    gibbs_policy,
    is_zero,
    kl_divergence,
    preference_against,
    preference_symbols,
    probability_symbols,
    simplifies_to_zero,
)


@timed
def check_duality_gap(n: int = 3, complementary: bool = True) -> Check:
    """The duality gap of the regularised game is ``2τ KL(π ‖ BR(π))``.

    With ``Z = Σ πref(y) e^{p(y≻π)/τ}``, ``max_π′ P_τ(π′≻π) = τ log Z + τKL(π‖πref)``
    (App. A.1 of Azar et al.), and ``BR(π) ∝ πref e^{p(·≻π)/τ}``; the claim
    ``2(τ log Z + τKL(π‖πref)) − 1 = 2τ KL(π‖BR(π))`` reduces, after expanding the logs,
    to ``πᵀ prefs π = ½``, which needs Σπ = 1 and ``p(y≻y′) + p(y′≻y) = 1``.

    Parameters
    ----------
    n : int
        Number of actions.
    complementary : bool
        If False the entries below the diagonal are free symbols (a negative control).

    Returns
    -------
    Check

    References
    ----------
    Munos et al., arXiv:2312.00886 (the regularised preference game); Azar et al.,
    arXiv:2310.12036, App. A.1 (the Gibbs maximiser of Eq. 7).

    Examples
    --------
    >>> from psipo_exact.symbolic import check_duality_gap
    >>> check_duality_gap(n=2).holds
    True
    >>> check_duality_gap(n=2, complementary=False).holds  # needs p + pᵀ = 1
    False
    """
    pi = probability_symbols("pi", n)
    ref = probability_symbols("piref", n)
    prefs = preference_symbols(n)
    if not complementary:
        prefs = sp.Matrix(n, n, lambda i, j: prefs[i, j] if i <= j
                          else sp.Symbol(f"q_{i + 1}_{j + 1}", positive=True))
    score = preference_against(prefs, pi)
    partition = sp.Add(*[r * sp.exp(s / TAU) for r, s in zip(ref, score)])
    best = gibbs_policy(ref, score, TAU)
    gap = 2 * (TAU * sp.log(partition) + TAU * kl_divergence(pi, ref)) - 1
    claim = 2 * TAU * kl_divergence(pi, best)
    holds = is_zero(sp.expand_log(gap - claim, force=True))
    detail = (f"n = {n}: 2(τ log Z + τKL(π‖πref)) − 1 − 2τKL(π‖BR(π)) expands to 0 with "
              f"Σπ = 1 and complementary preferences: {holds}")
    return Check("Duality gap of the regularised game = 2τ KL(π‖BR(π))",
                 "Munos et al. (regularised game); Azar et al. App. A.1", holds, detail)


def _half_gap(p: Expr) -> Expr:
    return p - sp.Rational(1, 2)


@timed
def check_two_action_equilibrium(gap: Callable[[Expr], Expr] = _half_gap) -> Check:
    """Two actions: the regularised equilibrium is ``σ(logit πref(y₁) + gap(p)/τ)``,
    ``gap(p) = p − ½``, and offline IPO with any µ gives the same policy.

    Shows ``p(y₁≻π) − p(y₂≻π) = gap(p)`` for a symbolic policy π = (x, 1 − x) (so the
    best response to every π, hence the fixed point, has log-odds
    ``logit πref(y₁) + gap(p)/τ``), that this policy is its own best response (the log-odds
    of the Gibbs best response to it reduce to its own), and that
    ``p(y₁≻µ) − p(y₂≻µ) = gap(p)`` for a symbolic µ too (offline IPO, Eq. 7, is the same
    policy).

    Parameters
    ----------
    gap : callable
        ``gap(p)`` of the claimed closed form; the correct one is ``p − ½`` (DPO's would be
        ``logit p``, a negative control).

    Returns
    -------
    Check

    References
    ----------
    Munos et al., arXiv:2312.00886; Azar et al., arXiv:2310.12036, Eq. 7 with µ = π*.

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic import check_two_action_equilibrium
    >>> check_two_action_equilibrium().holds
    True
    >>> check_two_action_equilibrium(gap=lambda p: sp.log(p / (1 - p))).holds  # DPO's gap
    False
    """
    p, x = sp.symbols("p x", positive=True)
    ref = probability_symbols("piref", 2, sums_to_one=False)  # Gibbs normalises πref
    prefs = preference_symbols(2, lambda i, j: p)
    score = preference_against(prefs, [x, 1 - x])
    independent = is_zero(score[0] - score[1] - gap(p))
    log_odds = sp.log(ref[0]) - sp.log(ref[1]) + gap(p) / TAU
    first = 1 / (1 + sp.exp(-log_odds))
    best = gibbs_policy(ref, preference_against(prefs, [first, 1 - first]), TAU)
    ratio = sp.powsimp(sp.cancel(best[0] / best[1]))
    fixed = is_zero(sp.expand_log(sp.log(ratio), force=True) - log_odds)
    mu = probability_symbols("mu", 2)
    offline = preference_against(prefs, mu)
    ipo_same = is_zero(offline[0] - offline[1] - gap(p))
    detail = (f"p(y1>pi) - p(y2>pi) = gap(p) for every pi: {independent}; "
              f"sigma(logit r + gap(p)/tau) is its own best response: {fixed}; "
              f"offline IPO (any mu) has the same exponent: {ipo_same}")
    return Check("Two actions: π*(y₁) = σ(logit πref(y₁) + (p − ½)/τ) = offline IPO",
                 "Munos et al. (regularised game); Azar et al. Eq. 7",
                 independent and fixed and ipo_same, detail)


@timed
def check_three_cycle(pi_ref: Sequence[Expr] | None = None, second: Expr | None = None) -> Check:
    """The symmetric 3-cycle (1 beats 2, 2 beats 3, 3 beats 1, each with probability p) with
    uniform πref: the uniform policy is the regularised equilibrium for every τ > 0, and for
    p ≠ ½ the unique equilibrium at τ = 0.

    Shows ``p(y≻uniform) = ½`` for every y, that the Gibbs best response to the uniform
    policy is uniform (so it is the fixed point; the regularised game is strictly
    concave–convex, so it is the only one), and that ``A = prefs − ½`` has rank 2 with
    kernel span(1, 1, 1) when p ≠ ½ (so the τ = 0 equilibrium polytope ``{Aπ ≤ 0}`` is the
    single uniform point: an equilibrium π has ``πᵀAπ′ = 0`` against the uniform one, which
    forces ``Aπ = 0``).

    Parameters
    ----------
    pi_ref : sequence of sympy.Expr, optional
        Reference policy (default uniform; a free one is a negative control).
    second : sympy.Expr, optional
        p(y₂≻y₃) (default p, the symmetric cycle; another symbol is a negative control).

    Returns
    -------
    Check

    References
    ----------
    Munos et al., arXiv:2312.00886; Azar et al., arXiv:2310.12036, Eq. 7 with µ = π*.

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic import check_three_cycle
    >>> check_three_cycle().holds
    True
    >>> check_three_cycle(pi_ref=[sp.Rational(1, 2), sp.Rational(1, 4), sp.Rational(1, 4)]).holds
    False
    """
    p = sp.Symbol("p", positive=True)
    beats = {(0, 1): p, (1, 2): p if second is None else second, (0, 2): 1 - p}
    prefs = preference_symbols(3, lambda i, j: beats[(i, j)])
    uniform = [sp.Rational(1, 3)] * 3
    ref = uniform if pi_ref is None else list(pi_ref)
    score = preference_against(prefs, uniform)
    half = all(is_zero(s - sp.Rational(1, 2)) for s in score)
    best = gibbs_policy(ref, score, TAU)
    fixed = all(simplifies_to_zero(b - u) for b, u in zip(best, uniform))
    skew = prefs - sp.Rational(1, 2) * sp.ones(3, 3)
    kernel = skew.subs(p, sp.Rational(1, 2) + sp.Symbol("d", positive=True)).nullspace()
    unique = len(kernel) == 1 and all(
        simplifies_to_zero(c) for c in sp.Matrix(kernel[0]).cross(sp.Matrix([1, 1, 1])))
    detail = (f"p(y > uniform) = 1/2 for all y: {half}; Gibbs(pi_ref, p(.>uniform), tau) = "
              f"uniform: {fixed}; ker(prefs - 1/2) = span(1,1,1) for p = 1/2 + d, d > 0: "
              f"{unique}")
    return Check("Symmetric 3-cycle, uniform πref: π* = uniform for every τ (unique at τ = 0)",
                 "Munos et al. (preference game)", half and fixed and unique, detail)
