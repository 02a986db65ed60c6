"""Symbolic (sympy) derivations of the identities in Azar et al., "A General Theoretical
Paradigm to Understand Learning from Human Preferences" (arXiv:2310.12036).

Every check is an exact derivation: the two sides are built from symbols for µ, the
preferences, πref, τ and the logits, the paper's constraints are substituted (Σµ = 1,
p(y≻y′) + p(y′≻y) = 1, p(y≻y) = 1/2), and the difference is reduced by
``expand``/``expand_log``/``simplify`` to an exact 0. A wrong statement leaves a non-zero
remainder, and each ``check_*`` function takes parameters that produce such a wrong variant
(the tests feed them as negative controls). :func:`verify_all` runs the paper's statements.

Conventions: actions are 0-based in code and named 1-based in symbols (``mu_1``, ``p_1_2``);
``h_π(y, y′) = s_y − s_y′ + log πref(y′) − log πref(y)`` with logits ``s`` (the normaliser
of π cancels), and ``σ(x) = 1 / (1 + e^(−x))``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections.abc import Callable, Sequence

import sympy as sp

#: The regularisation strength τ > 0.
TAU = sp.Symbol("tau", positive=True)

Expr = sp.Expr
PairTerm = Callable[[int, int], Expr]


@dataclasses.dataclass(frozen=True)
class Check:
    """Outcome of one symbolic verification.

    Attributes
    ----------
    name : str
        The claim, in words.
    reference : str
        Where the paper states it.
    holds : bool
        True when the derivation reduced the claim to an exact identity.
    detail : str
        What was shown, in words.
    seconds : float
        Wall-clock time of the derivation.
    """

    name: str
    reference: str
    holds: bool
    detail: str
    seconds: float = 0.0


def _timed(check_fn: Callable[..., Check]) -> Callable[..., Check]:
    """Record the wall-clock time of a ``check_*`` function in its ``Check.seconds``."""

    @functools.wraps(check_fn)
    def wrapper(*args, **kwargs) -> Check:
        start = time.perf_counter()
        check = check_fn(*args, **kwargs)
        return dataclasses.replace(check, seconds=time.perf_counter() - start)

    return wrapper


def _is_zero(expr: Expr) -> bool:
    """Exact zero test for polynomial (and log-atom) expressions: expand to 0."""
    return sp.expand(expr) == 0


def _simplifies_to_zero(expr: Expr) -> bool:
    """Exact zero test for transcendental expressions: ``simplify`` to 0."""
    return sp.simplify(expr) == 0


# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------


def psi_identity(q: Expr) -> Expr:
    """Ψ(q) = q of the preference probability ``q``: the IPO choice of Eq. 8."""
    return q


def psi_logit(q: Expr) -> Expr:
    """Ψ(q) = log(q / (1 − q)) of ``q``: the RLHF/DPO choice of Proposition 1."""
    return sp.log(q / (1 - q))


def sigmoid(x: Expr) -> Expr:
    """σ(x) = 1 / (1 + e^(−x)), the Bradley–Terry link of Eq. 1."""
    return 1 / (1 + sp.exp(-x))


def action_symbols(prefix: str, n: int, **assumptions) -> list[sp.Symbol]:
    """One symbol per action, ``prefix_1 … prefix_n``.

    Parameters
    ----------
    prefix : str
        Symbol name stem, e.g. ``"s"`` for logits.
    n : int
        Number of actions.
    **assumptions
        sympy assumptions, e.g. ``real=True`` or ``positive=True``.

    Returns
    -------
    list of sympy.Symbol
    """
    return [sp.Symbol(f"{prefix}_{i + 1}", **assumptions) for i in range(n)]


def probability_vector(prefix: str, n: int, sums_to_one: bool = True) -> list[Expr]:
    """A symbolic distribution on ``n`` actions with Σ = 1 substituted (Sec. 2).

    Parameters
    ----------
    prefix : str
        Symbol name stem, e.g. ``"mu"``.
    n : int
        Number of actions.
    sums_to_one : bool
        If True the last entry is ``1 − (sum of the others)``; if False all ``n`` entries
        are free positive symbols (used for negative controls).

    Returns
    -------
    list of sympy.Expr
    """
    free = action_symbols(prefix, n, positive=True)
    if sums_to_one:
        free[-1] = 1 - sum(free[:-1])
    return free


def _free_preference(i: int, j: int) -> Expr:
    """The free symbol ``p_i_j`` = p(y_i ≻ y_j) (1-based in the name)."""
    return sp.Symbol(f"p_{i + 1}_{j + 1}", positive=True)


def preference_matrix(n: int, upper: PairTerm | None = None) -> sp.Matrix:
    """The preference matrix ``P[y, y′] = p(y≻y′)`` with the paper's constraints (Sec. 2).

    Only the entries above the diagonal are free; ``P[y′, y] = 1 − P[y, y′]`` and
    ``P[y, y] = 1/2`` are substituted.

    Parameters
    ----------
    n : int
        Number of actions.
    upper : callable, optional
        ``upper(i, j)`` gives ``p(y_i ≻ y_j)`` for ``i < j`` (e.g. a Bradley–Terry form).
        Default: free symbols ``p_i_j``.

    Returns
    -------
    sympy.Matrix
        Shape ``(n, n)``.
    """
    upper = upper or _free_preference

    def entry(i: int, j: int) -> Expr:
        if i == j:
            return sp.Rational(1, 2)
        return upper(i, j) if i < j else 1 - upper(j, i)

    return sp.Matrix(n, n, entry)


def preference_against(prefs: sp.Matrix, mu: Sequence[Expr]) -> list[Expr]:
    """p(y≻µ) = E_{y′∼µ}[p(y≻y′)] for every action (Sec. 2).

    Parameters
    ----------
    prefs : sympy.Matrix
        Preference matrix, see :func:`preference_matrix`.
    mu : sequence of sympy.Expr
        Behaviour policy µ.

    Returns
    -------
    list of sympy.Expr
    """
    return expected_psi(prefs, mu, psi_identity)


def expected_psi(prefs: sp.Matrix, mu: Sequence[Expr], psi: Callable[[Expr], Expr]) -> list[Expr]:
    """g(y) = E_{y′∼µ}[Ψ(p(y≻y′))] for every action (Sec. 5.1, above Eq. 9).

    Parameters
    ----------
    prefs : sympy.Matrix
        Preference matrix.
    mu : sequence of sympy.Expr
        Behaviour policy µ.
    psi : callable
        Ψ acting on sympy expressions, e.g. :func:`psi_identity` or :func:`psi_logit`.

    Returns
    -------
    list of sympy.Expr
    """
    n = len(mu)
    return [sum(mu[j] * psi(prefs[i, j]) for j in range(n)) for i in range(n)]


def pair_expectation(mu: Sequence[Expr], term: PairTerm) -> Expr:
    """E_{y,y′∼µ}[term(y, y′)] = Σ_{y,y′} µ(y) µ(y′) term(y, y′) (y, y′ i.i.d., Sec. 2).

    Parameters
    ----------
    mu : sequence of sympy.Expr
        Behaviour policy µ.
    term : callable
        ``term(y, y2)`` for action indices.

    Returns
    -------
    sympy.Expr
    """
    n = len(mu)
    return sp.Add(*[mu[y] * mu[y2] * term(y, y2) for y in range(n) for y2 in range(n)])


def log_ratio_gap(log_pi: Sequence[Expr], pi_ref: Sequence[Expr], y: int, y2: int) -> Expr:
    """h_π(y, y′) = log π(y)πref(y′) / (π(y′)πref(y)) (Sec. 5.1, above Eq. 12).

    Parameters
    ----------
    log_pi : sequence of sympy.Expr
        log π up to an additive constant, e.g. logits ``s`` (the constant cancels).
    pi_ref : sequence of sympy.Expr
        Reference policy πref.
    y, y2 : int
        Action indices.

    Returns
    -------
    sympy.Expr
        ``log_pi[y] − log_pi[y2] + log πref(y2) − log πref(y)``.
    """
    return log_pi[y] - log_pi[y2] + sp.log(pi_ref[y2]) - sp.log(pi_ref[y])


def softmax(logits: Sequence[Expr]) -> list[Expr]:
    """π_s(y) = exp(s_y) / Σ_y′ exp(s_y′), the logit parametrisation of Theorem 2's proof.

    Parameters
    ----------
    logits : sequence of sympy.Expr

    Returns
    -------
    list of sympy.Expr
    """
    return gibbs_policy([1] * len(logits), logits, 1)


def gibbs_policy(weights: Sequence[Expr], f: Sequence[Expr], tau: Expr) -> list[Expr]:
    """δ*(s) ∝ η(s) exp(f(s)/τ): Eq. 7/9 and the softmax of Appendix A.1.

    Parameters
    ----------
    weights : sequence of sympy.Expr
        η (πref in Eq. 7/9).
    f : sequence of sympy.Expr
        The function being maximised (g in Eq. 9, r in Eq. 3).
    tau : sympy.Expr
        Temperature τ.

    Returns
    -------
    list of sympy.Expr
    """
    unnormalised = [w * sp.exp(fi / tau) for w, fi in zip(weights, f)]
    total = sp.Add(*unnormalised)
    return [u / total for u in unnormalised]


def kl_divergence(p: Sequence[Expr], q: Sequence[Expr]) -> Expr:
    """KL(p‖q) = Σ p log(p/q) (Sec. 3.1.2).

    Parameters
    ----------
    p, q : sequence of sympy.Expr

    Returns
    -------
    sympy.Expr
    """
    return sp.Add(*[pi * sp.log(pi / qi) for pi, qi in zip(p, q)])


def ipo_population_loss(
    log_pi: Sequence[Expr],
    prefs: sp.Matrix,
    mu: Sequence[Expr],
    pi_ref: Sequence[Expr],
    tau: Expr = TAU,
    psi: Callable[[Expr], Expr] = psi_identity,
) -> Expr:
    """Eq. 13 (Eq. 14 in logits): E_{y,y′∼µ}[(h_π(y,y′) − (g(y) − g(y′))/τ)²].

    With ``psi`` the identity, g(y) = p(y≻µ) as in Eq. 13; another ``psi`` gives the
    root-finding loss of Eq. 12 for that Ψ.

    Parameters
    ----------
    log_pi : sequence of sympy.Expr
        Logits (log π up to a constant).
    prefs : sympy.Matrix
        Preference matrix.
    mu, pi_ref : sequence of sympy.Expr
        Behaviour and reference policies.
    tau : sympy.Expr
        τ.
    psi : callable
        Ψ in g(y) = E_µ[Ψ(p(y≻y′))].

    Returns
    -------
    sympy.Expr
    """
    g = expected_psi(prefs, mu, psi)

    def squared_error(y: int, y2: int) -> Expr:
        return (log_ratio_gap(log_pi, pi_ref, y, y2) - (g[y] - g[y2]) / tau) ** 2

    return pair_expectation(mu, squared_error)


def ipo_sampled_loss(
    log_pi: Sequence[Expr],
    prefs: sp.Matrix,
    mu: Sequence[Expr],
    pi_ref: Sequence[Expr],
    tau: Expr = TAU,
) -> Expr:
    """Eq. 16 with the expectation over I ~ Bernoulli(p(y≻y′)) taken exactly.

    E_{y,y′∼µ}[p(y≻y′)(h − 1/τ)² + (1 − p(y≻y′)) h²] with h = h_π(y, y′). Parameters as
    for :func:`ipo_population_loss` (without ``psi``).
    """

    def bernoulli_mean(y: int, y2: int) -> Expr:
        h = log_ratio_gap(log_pi, pi_ref, y, y2)
        return prefs[y, y2] * (h - 1 / tau) ** 2 + (1 - prefs[y, y2]) * h**2

    return pair_expectation(mu, bernoulli_mean)


def dpo_population_loss(
    log_pi: Sequence[Expr],
    prefs: sp.Matrix,
    mu: Sequence[Expr],
    pi_ref: Sequence[Expr],
    tau: Expr = TAU,
) -> Expr:
    """Eq. 5: −E_{y,y′∼µ}[p(y≻y′) log σ(τ h_π(y, y′))].

    Parameters as for :func:`ipo_population_loss` (without ``psi``).
    """

    def log_likelihood(y: int, y2: int) -> Expr:
        margin = sp.expand(tau * log_ratio_gap(log_pi, pi_ref, y, y2))
        return prefs[y, y2] * sp.log(sigmoid(margin))

    return -pair_expectation(mu, log_likelihood)


def bradley_terry_loss(rewards: Sequence[Expr], prefs: sp.Matrix, mu: Sequence[Expr]) -> Expr:
    """Eq. 2, population form: −E_{y,y′∼µ}[p(y≻y′) log σ(r(y) − r(y′))].

    Parameters
    ----------
    rewards : sequence of sympy.Expr
        r(y).
    prefs : sympy.Matrix
        Preference matrix.
    mu : sequence of sympy.Expr
        Behaviour policy.

    Returns
    -------
    sympy.Expr
    """

    def log_likelihood(y: int, y2: int) -> Expr:
        return prefs[y, y2] * sp.log(sigmoid(rewards[y] - rewards[y2]))

    return -pair_expectation(mu, log_likelihood)


# ---------------------------------------------------------------------------------------
# Proposition 3 (Eq. 13 vs Eq. 16)
# ---------------------------------------------------------------------------------------


def _proposition3_setup(
    n: int, psi: Callable[[Expr], Expr], mu_sums_to_one: bool
) -> tuple[list[sp.Symbol], list[Expr], sp.Matrix, Expr]:
    """Logits, µ, preferences and Eq. 13 − Eq. 16 for ``n`` actions."""
    logits = action_symbols("s", n, real=True)
    pi_ref = action_symbols("piref", n, positive=True)
    mu = probability_vector("mu", n, sums_to_one=mu_sums_to_one)
    prefs = preference_matrix(n)
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
        vanishes &= _is_zero(sp.Add(*homogenised))
    return bool(vanishes), bound


@_timed
def check_proposition3(
    n_max: int = 8,
    psi: Callable[[Expr], Expr] = psi_identity,
    mu_sums_to_one: bool = True,
    constant_n_max: int = 5,
    reduction_n: int | None = 4,
) -> Check:
    """Proposition 3: Eq. 13 and Eq. 16 differ by a constant independent of π.

    For n = 1 … ``n_max`` actions, with symbolic µ, preferences, πref, τ and logits s,
    shows ∂(Eq13 − Eq16)/∂s_k = 0 exactly for every k, so the difference does not depend
    on π; for n ≤ ``constant_n_max`` also that it equals (2 E_µ[p(y≻µ)²] − 1)/τ². With
    ``reduction_n`` it runs :func:`proposition3_reduction` there, which extends the
    result to every number of actions.

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
    """
    failures = []
    for n in range(1, n_max + 1):
        logits, mu, prefs, difference = _proposition3_setup(n, psi, mu_sums_to_one)
        holds_n = all(_is_zero(sp.diff(difference, s_k)) for s_k in logits)
        if holds_n and n <= constant_n_max:
            at_zero = difference.subs({s_k: 0 for s_k in logits})
            holds_n = _is_zero(at_zero - proposition3_constant(prefs, mu))
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


# ---------------------------------------------------------------------------------------
# Proposition 1, Eq. 17, Theorem 2
# ---------------------------------------------------------------------------------------


def bradley_terry(r_y: Expr, r_y2: Expr) -> Expr:
    """Eq. 1: p(y≻y′) = σ(r(y) − r(y′)).

    Parameters
    ----------
    r_y, r_y2 : sympy.Expr
        Rewards of the two actions.

    Returns
    -------
    sympy.Expr
    """
    return sigmoid(r_y - r_y2)


@_timed
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
        ``preference(r_y, r_y2)`` = p(y≻y′); the paper's is :func:`bradley_terry`.

    Returns
    -------
    Check
    """
    r_a, r_b = sp.symbols("r_a r_b", real=True)
    per_pair = _simplifies_to_zero(psi_logit(preference(r_a, r_b)) - (r_a - r_b))
    rewards = action_symbols("r", n, real=True)
    mu = probability_vector("mu", n)
    prefs = preference_matrix(n, lambda i, j: preference(rewards[i], rewards[j]))
    mean_reward = sum(m * r for m, r in zip(mu, rewards))
    g = expected_psi(prefs, mu, psi_logit)
    assembled = all(_simplifies_to_zero(g[y] - (rewards[y] - mean_reward)) for y in range(n))
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


@_timed
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
    """
    logits = action_symbols("s", 2, real=True)
    pi_ref = action_symbols("piref", 2, positive=True)
    h_wl = log_ratio_gap(logits, pi_ref, 0, 1)
    h_lw = log_ratio_gap(logits, pi_ref, 1, 0)
    symmetric = ((h_wl - 1 / TAU) ** 2 + h_lw**2) / 2
    difference = symmetric - (h_wl - target_factor / TAU) ** 2
    antisymmetric = _is_zero(h_lw + h_wl)
    flat = all(_is_zero(sp.diff(difference, s)) for s in logits)
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


def _theorem2_holds(n: int, sos_factor: Expr) -> bool:
    """Theorem 2's Hessian facts for ``n`` actions (see :func:`check_theorem2`)."""
    logits = action_symbols("s", n, real=True)
    pi_ref = action_symbols("piref", n, positive=True)
    mu = probability_vector("mu", n)
    hessian = sp.hessian(ipo_population_loss(logits, preference_matrix(n), mu, pi_ref), logits)
    v = sp.Matrix(action_symbols("v", n, real=True))
    quadratic_form = (v.T * hessian * v)[0, 0]
    sum_of_squares = sos_factor * pair_expectation(mu, lambda y, y2: (v[y] - v[y2]) ** 2)
    constants_in_kernel = all(_is_zero(e) for e in hessian * sp.ones(n, 1))
    minor = hessian[1:, 1:].det(method="berkowitz")
    full_rank_minor = _is_zero(minor - 4 ** (n - 1) * sp.Mul(*mu))
    return _is_zero(quadratic_form - sum_of_squares) and constants_in_kernel and full_rank_minor


@_timed
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
# Sec. 5.3.1, Appendix A.1, Appendix A.2, Proposition 4
# ---------------------------------------------------------------------------------------


@_timed
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
    """
    prefs = preference_matrix(2, lambda i, j: sp.Integer(1))
    uniform = [sp.Rational(1, 2)] * 2
    claimed = sigmoid(claimed_gap / TAU)
    p_against = preference_against(prefs, uniform)
    from_gibbs = gibbs_policy(uniform, p_against, TAU)[0]
    logits = action_symbols("s", 2, real=True)
    loss = ipo_population_loss(logits, prefs, uniform, uniform).subs(logits[1], 0)
    (s_star,) = sp.solve(sp.diff(loss, logits[0]), logits[0])
    from_loss = softmax([s_star, 0])[0]
    holds = _simplifies_to_zero(from_gibbs - claimed) and _simplifies_to_zero(from_loss - claimed)
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


@_timed
def check_appendix_a1(n: int = 4, kl_sign: int = -1) -> Check:
    """Appendix A.1: L_τ(δ)/τ = −KL(δ‖δ*) + log Σ η exp(f/τ), δ* ∝ η exp(f/τ).

    With L_τ(δ) = Σ δ f − τ KL(δ‖η), symbolic δ (Σδ = 1), η > 0 and f, expands the logs
    and reduces the difference to 0.

    Parameters
    ----------
    n : int
        Size of the finite set S.
    kl_sign : int
        Sign in front of KL(δ‖δ*); the paper's is −1.

    Returns
    -------
    Check
    """
    delta = probability_vector("delta", n)
    eta = action_symbols("eta", n, positive=True)
    f = action_symbols("f", n, real=True)
    objective = sum(d * fi for d, fi in zip(delta, f)) - TAU * kl_divergence(delta, eta)
    log_partition = sp.log(sp.Add(*[e * sp.exp(fi / TAU) for e, fi in zip(eta, f)]))
    rhs = kl_sign * kl_divergence(delta, gibbs_policy(eta, f, TAU)) + log_partition
    holds = _is_zero(sp.expand_log(objective / TAU - rhs, force=True))
    detail = (
        f"expand_log(L_τ(δ)/τ − ({'−' if kl_sign < 0 else '+'}KL(δ‖δ*) + log Σ η e^(f/τ))) "
        f"= 0 with Σδ = 1, |S| = {n}: {holds}"
    )
    return Check(
        "L_τ(δ)/τ = −KL(δ‖δ*) + log-partition, so δ* is the argmax",
        "App. A.1 (Eq. 7/9)",
        holds,
        detail,
    )


@_timed
def check_appendix_a2(
    mu: Sequence[Expr] = (sp.Rational(1, 2), sp.Rational(1, 2), 0),
    coefficient: Expr = sp.Rational(1, 2),
) -> Check:
    """Appendix A.2: with µ = (½, ½, 0), uniform πref, Eq. 13 depends on π only via π(y₁)/π(y₂).

    Shows exactly, for symbolic preferences and logits: Eq. 13 = c(τ⁻¹(p(y₁≻µ) −
    p(y₂≻µ)) − log π(y₁)/π(y₂))² with c = ½; ∂L/∂s₃ = 0; L is invariant under
    (s₁, s₂) ↦ (s₁ + t, s₂ + t); and the Hessian in s has rank 1 < 2, so the minimisers
    form a continuum of policies (non-uniqueness when Supp(π) ⊋ Supp(µ)). The paper prints
    the coefficient as 2; the exact value under Eq. 13 is ½ (µ(y₁)µ(y₂) = ¼ on two ordered
    pairs), which does not affect the conclusion.

    Parameters
    ----------
    mu : sequence of sympy.Expr
        µ on three actions; the paper's is (½, ½, 0).
    coefficient : sympy.Expr
        c in the claimed closed form.

    Returns
    -------
    Check
    """
    logits = action_symbols("s", 3, real=True)
    uniform = [sp.Rational(1, 3)] * 3
    prefs = preference_matrix(3)
    mu = [sp.sympify(m) for m in mu]
    loss = ipo_population_loss(logits, prefs, mu, uniform)
    policy = softmax(logits)
    log_odds = sp.simplify(sp.log(policy[0] / policy[1]))
    p_against = preference_against(prefs, mu)
    closed_form = coefficient * ((p_against[0] - p_against[1]) / TAU - log_odds) ** 2
    shift = sp.Symbol("t", real=True)
    shifted = loss.subs(
        {logits[0]: logits[0] + shift, logits[1]: logits[1] + shift}, simultaneous=True
    )
    facts = {
        "closed form": _is_zero(loss - closed_form),
        "∂L/∂s₃ = 0": _is_zero(sp.diff(loss, logits[2])),
        "shift-invariant": _is_zero(shifted - loss),
        "Hessian rank 1": sp.hessian(loss, logits).rank() == 1,
    }
    detail = f"µ = {tuple(mu)}, log π(y₁)/π(y₂) = {log_odds}, c = {coefficient}: " + ", ".join(
        f"{k}: {v}" for k, v in facts.items()
    )
    return Check(
        "Loss depends on π only via π(y₁)/π(y₂) when Supp(µ) ⊊ Supp(π)",
        "App. A.2",
        all(facts.values()),
        detail,
    )


@_timed
def check_proposition4(n: int = 4, tau_scale: Expr = 1) -> Check:
    """Proposition 4, key step: DPO loss (Eq. 5) at π*_r equals the Bradley–Terry loss at r.

    With π*_r ∝ πref exp(r/τ) (the argmax of Eq. 3), symbolic µ (Σµ = 1), preferences, πref,
    rewards and τ, shows Eq. 5 at π*_r minus the population Eq. 2 at r simplifies to 0,
    and that r′ = τ log(π′/πref) gives π*_{r′} = π′ (the map r ↦ π*_r is onto).

    Parameters
    ----------
    n : int
        Number of actions.
    tau_scale : sympy.Expr
        π*_r ∝ πref exp(r/(tau_scale·τ)); the paper's is 1.

    Returns
    -------
    Check
    """
    mu = probability_vector("mu", n)
    prefs = preference_matrix(n)
    pi_ref = action_symbols("piref", n, positive=True)
    rewards = action_symbols("r", n, real=True)
    pi_star = gibbs_policy(pi_ref, rewards, tau_scale * TAU)
    log_pi_star = [sp.expand_log(sp.log(p), force=True) for p in pi_star]
    losses_equal = _simplifies_to_zero(
        dpo_population_loss(log_pi_star, prefs, mu, pi_ref) - bradley_terry_loss(rewards, prefs, mu)
    )
    pi_other = probability_vector("pi", n)
    implied_rewards = [TAU * sp.log(p / q) for p, q in zip(pi_other, pi_ref)]
    recovered = gibbs_policy(pi_ref, implied_rewards, TAU)
    onto = all(_simplifies_to_zero(a - b) for a, b in zip(recovered, pi_other))
    detail = (
        f"Eq5(π*_r) − Eq2(r) = 0 with π*_r ∝ πref·exp(r/({tau_scale * TAU})), n = {n}: "
        f"{losses_equal}; π*_r′ = π′ for r′ = τ log(π′/πref): {onto}"
    )
    return Check(
        "DPO loss at π*_r equals the Bradley–Terry loss at r",
        "Prop. 4, App. B",
        losses_equal and onto,
        detail,
    )


# ---------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------


def verify_all() -> list[Check]:
    """Run every symbolic check with the paper's statement.

    Covers Proposition 3, Proposition 1, Eq. 17, Theorem 2, Sec. 5.3.1, Appendix A.1,
    Appendix A.2 and Proposition 4 (Appendix B).

    Returns
    -------
    list of Check
        One per claim, in that order.
    """
    return [
        check_proposition3(),
        check_proposition1(),
        check_eq17(),
        check_theorem2(),
        check_section531(),
        check_appendix_a1(),
        check_appendix_a2(),
        check_proposition4(),
    ]


def format_checks(checks: Sequence[Check]) -> str:
    """Plain-text table of checks: claim, paper reference, holds, seconds.

    Parameters
    ----------
    checks : sequence of Check
        E.g. the output of :func:`verify_all`.

    Returns
    -------
    str
        One header line, a rule, one line per check and a summary line.
    """
    header = ("claim", "paper reference", "holds", "seconds")
    rows = [(c.name, c.reference, "yes" if c.holds else "NO", f"{c.seconds:.2f}") for c in checks]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()

    passed = sum(c.holds for c in checks)
    total_seconds = sum(c.seconds for c in checks)
    summary = f"{passed}/{len(checks)} claims hold ({total_seconds:.1f} s)"
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows), summary])
