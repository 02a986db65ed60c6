"""Symbolic checks of Sec. 5 of Azar et al. (arXiv:2310.12036), IPO.

* Sec. 5.1 — Theorem 2 / Eq. 15: the Hessian of Eq. 14 in the logits is PSD with kernel
  the constants (:func:`check_theorem2`).
* Sec. 5.2 — Proposition 3: Eq. 13 and Eq. 16 differ by a constant independent of π
  (:func:`check_proposition3`, its value :func:`proposition3_constant`, and
  :func:`proposition3_reduction`, which extends it to every number of actions); Eq. 17:
  the symmetric sampled loss is Eq. 17 up to a constant (:func:`check_eq17`).
* Sec. 5.3.1 — the IPO optimum for a deterministic two-action preference is σ(τ⁻¹/2)
  (:func:`check_section531`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import sympy as sp

from ._check import Check, timed
from .algebra import (
    TAU,
    Expr,
    action_symbols,
    gibbs_policy,
    ipo_population_loss,
    ipo_sampled_loss,
    is_zero,
    log_ratio_gap_expr,
    pair_expectation,
    preference_against,
    preference_symbols,
    probability_symbols,
    psi_identity,
    sigmoid,
    simplifies_to_zero,
    softmax,
)

# ---------------------------------------------------------------------------------------
# Sec. 5.1: Theorem 2
# ---------------------------------------------------------------------------------------


def _theorem2_holds(n: int, sos_factor: Expr) -> bool:
    """Theorem 2's Hessian facts for ``n`` actions (see :func:`check_theorem2`)."""
    logits = action_symbols("s", n, real=True)
    pi_ref = action_symbols("piref", n, positive=True)
    mu = probability_symbols("mu", n)
    hessian = sp.hessian(ipo_population_loss(logits, preference_symbols(n), mu, pi_ref), logits)
    v = sp.Matrix(action_symbols("v", n, real=True))
    quadratic_form = (v.T * hessian * v)[0, 0]
    sum_of_squares = sos_factor * pair_expectation(mu, lambda y, y2: (v[y] - v[y2]) ** 2)
    constants_in_kernel = all(is_zero(e) for e in hessian * sp.ones(n, 1))
    minor = hessian[1:, 1:].det(method="berkowitz")
    full_rank_minor = is_zero(minor - 4 ** (n - 1) * sp.Mul(*mu))
    return is_zero(quadratic_form - sum_of_squares) and constants_in_kernel and full_rank_minor


@timed
def check_theorem2(n_max: int = 5, sos_factor: Expr = 2) -> Check:
    """Theorem 2: the Hessian H of Eq. 14 in the logits is PSD with kernel the constants.

    For n = 2 … ``n_max`` with symbolic µ (Σµ = 1), preferences and πref, shows exactly
    (i) vᵀHv = 2 Σ_{y,y′} µ(y)µ(y′)(v_y − v_y′)², i.e. the quadratic part of Eq. 14 is the
    sum of squares of Eq. 15, so H ⪰ 0 for µ ≥ 0; (ii) H·1 = 0; (iii) the principal minor
    of H without the first action is 4^(n−1) Π µ(y), non-zero when µ has full support, so
    rank H = n − 1 and the kernel is exactly span(1) (π unchanged along it).

    Parameters
    ----------
    n_max : int
        Largest number of actions.
    sos_factor : sympy.Expr
        Claimed factor in front of the sum of squares; the correct one is 2.

    Returns
    -------
    Check

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.1, Theorem 2 and Eq. 15.

    Examples
    --------
    >>> from psipo_exact.symbolic import check_theorem2
    >>> check_theorem2(n_max=3).holds, check_theorem2(n_max=3, sos_factor=1).holds
    (True, False)
    """
    failures = [n for n in range(2, n_max + 1) if not _theorem2_holds(n, sos_factor)]
    detail = (
        f"vᵀHv = {sos_factor}·Σ µ(y)µ(y′)(v_y − v_y′)², H·1 = 0 and minor(H) = 4^(n−1)·Πµ, "
        f"n = 2..{n_max}" + (f"; FAILS for n = {failures}" if failures else "")
    )
    return Check(
        "Eq. 14 Hessian is PSD, kernel = constants under full support",
        "Thm. 2 / Eq. 15, Sec. 5.1",
        not failures,
        detail,
    )


# ---------------------------------------------------------------------------------------
# Sec. 5.2: Proposition 3 (Eq. 13 vs Eq. 16) and Eq. 17
# ---------------------------------------------------------------------------------------


def _proposition3_setup(
    n: int, psi: Callable[[Expr], Expr], mu_sums_to_one: bool
) -> tuple[list[sp.Symbol], list[Expr], sp.Matrix, Expr]:
    """Logits, µ, preferences and Eq. 13 − Eq. 16 for ``n`` actions."""
    logits = action_symbols("s", n, real=True)
    pi_ref = action_symbols("piref", n, positive=True)
    mu = probability_symbols("mu", n, sums_to_one=mu_sums_to_one)
    prefs = preference_symbols(n)
    difference = ipo_population_loss(logits, prefs, mu, pi_ref, psi=psi) - ipo_sampled_loss(
        logits, prefs, mu, pi_ref
    )
    return logits, mu, prefs, difference


def proposition3_constant(prefs: sp.Matrix, mu: Sequence[Expr], tau: Expr = TAU) -> Expr:
    """The constant Eq. 13 − Eq. 16 = (2 E_µ[p(y≻µ)²] − 1) / τ² (Proposition 3).

    Parameters
    ----------
    prefs : sympy.Matrix
        Preference matrix.
    mu : sequence of sympy.Expr
        Behaviour policy (Σµ = 1).
    tau : sympy.Expr
        τ.

    Returns
    -------
    sympy.Expr

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.2, Proposition 3 (the constant is implicit in its
    proof).

    Examples
    --------
    Sec. 5.3.1 (``p(y₁ ≻ µ) = 3/4``, ``p(y₂ ≻ µ) = 1/4``, uniform µ):
    ``(2 · (9/16 + 1/16)/2 − 1)/τ² = −3/(8τ²)``:

    >>> import sympy as sp
    >>> from psipo_exact.symbolic import preference_symbols, proposition3_constant
    >>> prefs = preference_symbols(2, lambda i, j: sp.Integer(1))
    >>> proposition3_constant(prefs, [sp.Rational(1, 2)] * 2)
    -3/(8*tau**2)
    """
    p_against = preference_against(prefs, mu)
    return (2 * sum(m * p**2 for m, p in zip(mu, p_against)) - 1) / tau**2


def _action_indices(expr: Expr) -> set[int]:
    """Action indices of the symbols in ``expr`` (from names such as ``p_1_2``)."""
    return {int(i) for sym in expr.free_symbols for i in re.findall(r"_(\d+)", sym.name)}


def proposition3_reduction(n: int, psi: Callable[[Expr], Expr] = psi_identity) -> tuple[bool, int]:
    """Reduce Proposition 3 for every number of actions to the case of ``n`` actions.

    Let D_k = ∂(Eq13 − Eq16)/∂s_k with µ left free (no Σµ = 1), split by total degree in µ
    as D_k = Σ_d D_{k,d}. D_k vanishes on Σµ = 1 iff the homogenised polynomial
    H_k = Σ_d D_{k,d} (Σµ)^(top − d) is identically 0 (scale any µ onto Σµ = 1). If every
    monomial of H_k carries µ(k) and µ(a) for each action a it involves, then setting µ to 0
    outside a set S ∋ k of actions turns H_k for any number of actions into H_k for |S|
    actions (relabelled in order), leaving the monomials inside S untouched. By
    construction each term of D_k involves k and at most two summed actions (y′ and the y″
    inside p(y≻µ)), and homogenising adds at most one; the code measures this bound at
    ``n``. So if H_k ≡ 0 at ``n`` > bound, the coefficient of any monomial of H_k for any
    number of actions equals one at ≤ bound < ``n`` actions, which is 0: Proposition 3
    holds for every number of actions.

    Parameters
    ----------
    n : int
        Number of actions at which H_k is computed.
    psi : callable
        Ψ in Eq. 13's target (the identity in the paper).

    Returns
    -------
    (bool, int)
        Whether H_k ≡ 0 for every k with every monomial carrying µ for its actions and for
        k, and the largest number of actions in a monomial of any H_k.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.2, Proposition 3.

    Examples
    --------
    At 4 actions the derivative vanishes identically and monomials involve at most 3
    actions (< 4), which extends Proposition 3 to every number of actions:

    >>> from psipo_exact.symbolic import proposition3_reduction, psi_logit
    >>> proposition3_reduction(4)
    (True, 3)
    >>> proposition3_reduction(2, psi=psi_logit)[0]
    False
    """
    logits, mu, _, difference = _proposition3_setup(n, psi, mu_sums_to_one=False)
    mu_total = sp.Add(*mu)
    vanishes, bound = True, 0
    for k, s_k in enumerate(logits, start=1):
        poly = sp.Poly(sp.expand(sp.diff(difference, s_k)), *mu)
        top = poly.total_degree()
        homogenised = []
        for monom, coeff in poly.terms():
            mu_actions = {i + 1 for i, e in enumerate(monom) if e}
            vanishes &= k in mu_actions and _action_indices(coeff) <= mu_actions
            bound = max(bound, len(mu_actions) + top - sum(monom))
            mu_power = sp.Mul(*[m**e for m, e in zip(mu, monom)])
            homogenised.append(coeff * mu_power * mu_total ** (top - sum(monom)))
        vanishes &= is_zero(sp.Add(*homogenised))
    return bool(vanishes), bound


@timed
def check_proposition3(
    n_max: int = 4,
    psi: Callable[[Expr], Expr] = psi_identity,
    mu_sums_to_one: bool = True,
    constant_n_max: int = 4,
    reduction_n: int | None = 4,
) -> Check:
    """Proposition 3: Eq. 13 and Eq. 16 differ by a constant independent of π.

    For n = 1 … ``n_max`` actions, with symbolic µ, preferences, πref, τ and logits s,
    shows ∂(Eq13 − Eq16)/∂s_k = 0 exactly for every k, so the difference does not depend
    on π; for n ≤ ``constant_n_max`` also that it equals (2 E_µ[p(y≻µ)²] − 1)/τ². With
    ``reduction_n`` it runs :func:`proposition3_reduction` there, which extends the
    result to every number of actions; so the default expands only up to n = 4 (the
    reduction's bound is 3): expanding n = 5 … 8 as well, as before, took ~8 s and proved
    nothing the reduction does not.

    Parameters
    ----------
    n_max : int
        Largest number of actions for the derivative check.
    psi : callable
        Ψ in Eq. 13's target; the paper's statement is the identity.
    mu_sums_to_one : bool
        Substitute Σµ = 1 (the paper's setting).
    constant_n_max : int
        Largest number of actions for the closed-form constant (its expansion is costly).
    reduction_n : int or None
        Number of actions for the all-n reduction (must exceed its bound, 3); None skips it.

    Returns
    -------
    Check

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.2, Proposition 3 (Eq. 13 vs Eq. 16).

    Examples
    --------
    Small sizes run in a fraction of a second (the default, used by :func:`verify_all`,
    goes to 8 actions plus the all-n reduction). Without Σµ = 1, or with Ψ = logit in
    Eq. 13, the difference depends on π:

    >>> from psipo_exact.symbolic import check_proposition3, psi_logit
    >>> check_proposition3(n_max=3, constant_n_max=3, reduction_n=None).holds
    True
    >>> check_proposition3(n_max=2, mu_sums_to_one=False, reduction_n=None).holds
    False
    >>> check_proposition3(n_max=2, psi=psi_logit, reduction_n=None).holds
    False
    """
    failures = []
    for n in range(1, n_max + 1):
        logits, mu, prefs, difference = _proposition3_setup(n, psi, mu_sums_to_one)
        holds_n = all(is_zero(sp.diff(difference, s_k)) for s_k in logits)
        if holds_n and n <= constant_n_max:
            at_zero = difference.subs({s_k: 0 for s_k in logits})
            holds_n = is_zero(at_zero - proposition3_constant(prefs, mu))
        if not holds_n:
            failures.append(n)
    detail = (
        f"d/ds_k (Eq13 − Eq16) = 0 for k = 1..n, n = 1..{n_max}; Eq13 − Eq16 = "
        f"(2 E_µ[p(y≻µ)²] − 1)/τ², n = 1..{min(n_max, constant_n_max)}: "
        + (f"FAILS for n = {failures}" if failures else "exact")
    )
    holds = not failures
    if reduction_n is not None and mu_sums_to_one:
        reduced, bound = proposition3_reduction(reduction_n, psi)
        general = reduced and bound < reduction_n
        holds = holds and general
        detail += (
            f"; homogenised derivative at n = {reduction_n} ≡ 0: {reduced}, ≤ {bound} actions "
            "per monomial, so restricting µ to those actions extends it to every n: "
            + ("yes" if general else "no")
        )
    return Check(
        "Eq. 13 − Eq. 16 is a constant independent of π", "Prop. 3, Sec. 5.2", holds, detail
    )


@timed
def check_eq17(target_factor: Expr = sp.Rational(1, 2)) -> Check:
    """Eq. 17: ½[(h(y_w,y_l) − τ⁻¹)² + h(y_l,y_w)²] = (h(y_w,y_l) − c τ⁻¹)² + const, c = ½.

    With h built from logits, shows h(y_l, y_w) = −h(y_w, y_l) and that the derivative of
    the difference with respect to both logits is exactly 0, and reports the constant.

    Parameters
    ----------
    target_factor : sympy.Expr
        c in the regression target c/τ; the paper's is 1/2.

    Returns
    -------
    Check

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.2, Eq. 17.

    Examples
    --------
    >>> from psipo_exact.symbolic import check_eq17
    >>> check = check_eq17()
    >>> check.holds, check.detail.endswith("the difference is 1/(4*tau**2)")
    (True, True)
    >>> check_eq17(target_factor=1).holds
    False
    """
    logits = action_symbols("s", 2, real=True)
    pi_ref = action_symbols("piref", 2, positive=True)
    h_wl = log_ratio_gap_expr(logits, pi_ref, 0, 1)
    h_lw = log_ratio_gap_expr(logits, pi_ref, 1, 0)
    symmetric = ((h_wl - 1 / TAU) ** 2 + h_lw**2) / 2
    difference = symmetric - (h_wl - target_factor / TAU) ** 2
    antisymmetric = is_zero(h_lw + h_wl)
    flat = all(is_zero(sp.diff(difference, s)) for s in logits)
    constant = sp.simplify(difference)
    detail = (
        f"h(y_l,y_w) = −h(y_w,y_l): {antisymmetric}; d/ds_w and d/ds_l of "
        f"½[(h − 1/τ)² + h²] − (h − {target_factor / TAU})² are 0: {flat}; "
        f"the difference is {constant}"
    )
    return Check(
        "Symmetric sampled IPO loss = Eq. 17 + constant",
        "Eq. 17, Sec. 5.2",
        antisymmetric and flat,
        detail,
    )


# ---------------------------------------------------------------------------------------
# Sec. 5.3.1
# ---------------------------------------------------------------------------------------


@timed
def check_section531(claimed_gap: Expr = sp.Rational(1, 2)) -> Check:
    """Sec. 5.3.1: two actions, p(y₁≻y₂) = 1, uniform µ and πref ⇒ π*(y₁) = σ(τ⁻¹/2).

    Derives π* twice: from the Gibbs form Eq. 9 with Ψ = identity, and as the minimiser of
    Eq. 14 (solving ∂L/∂s₁ = 0 with s₂ = 0), and compares both with σ(c/τ).

    Parameters
    ----------
    claimed_gap : sympy.Expr
        c in the claimed π*(y₁) = σ(c/τ); the paper's is 1/2.

    Returns
    -------
    Check

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.3.1 (with Eq. 9 and Eq. 14).

    Examples
    --------
    >>> from psipo_exact.symbolic import check_section531
    >>> check_section531().holds, check_section531(claimed_gap=1).holds
    (True, False)
    """
    prefs = preference_symbols(2, lambda i, j: sp.Integer(1))
    uniform = [sp.Rational(1, 2)] * 2
    claimed = sigmoid(claimed_gap / TAU)
    p_against = preference_against(prefs, uniform)
    from_gibbs = gibbs_policy(uniform, p_against, TAU)[0]
    logits = action_symbols("s", 2, real=True)
    loss = ipo_population_loss(logits, prefs, uniform, uniform).subs(logits[1], 0)
    (s_star,) = sp.solve(sp.diff(loss, logits[0]), logits[0])
    from_loss = softmax([s_star, 0])[0]
    holds = simplifies_to_zero(from_gibbs - claimed) and simplifies_to_zero(from_loss - claimed)
    detail = (
        f"p(y≻µ) = {p_against}; Eq. 9 gives π*(y₁) = {sp.simplify(from_gibbs)}, the Eq. 14 "
        f"minimiser has s₁ − s₂ = {s_star}; both equal σ({claimed_gap / TAU}): {holds}"
    )
    return Check(
        "IPO optimum for a deterministic 2-action preference is σ(τ⁻¹/2)",
        "Sec. 5.3.1",
        holds,
        detail,
    )
