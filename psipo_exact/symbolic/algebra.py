"""sympy building blocks of the symbolic checks (Azar et al., arXiv:2310.12036).

The paper's objects as sympy expressions: symbols for actions, distributions and preferences
with the constraints of Sec. 2 substituted (Σµ = 1, p(y≻y′) + p(y′≻y) = 1, p(y≻y) = 1/2),
the Ψ maps, p(y≻µ) and g, h_π, the Gibbs policies of Eq. 7/9, KL, and the population losses
of Eq. 2, 5, 13 and 16. They mirror the numerical functions of :mod:`psipo_exact.closed_form`
and :mod:`psipo_exact.losses` (``log_ratio_gap_expr`` takes logits and a pair of actions
where ``closed_form.log_ratio_gap`` takes policies). :func:`is_zero` and
:func:`simplifies_to_zero` are the exact zero tests every check ends with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

#: The regularisation strength τ > 0.
TAU = sp.Symbol("tau", positive=True)

Expr = sp.Expr
PairTerm = Callable[[int, int], Expr]


def is_zero(expr: Expr) -> bool:
    """Exact zero test for polynomial (and log-atom) expressions: expand to 0.

    Parameters
    ----------
    expr : sympy.Expr

    Returns
    -------
    bool
        True when ``sympy.expand(expr)`` is exactly 0.

    References
    ----------
    Azar et al., arXiv:2310.12036, Proposition 3 (Sec. 5.2): its proof expands the cross
    terms of Eq. 13 and Eq. 16 exactly this way.

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic.algebra import is_zero
    >>> a, b = sp.symbols("a b")
    >>> is_zero((a + b) ** 2 - a**2 - 2 * a * b - b**2), is_zero((a + b) ** 2 - a**2 - b**2)
    (True, False)
    """
    return sp.expand(expr) == 0


def simplifies_to_zero(expr: Expr) -> bool:
    """Exact zero test for transcendental expressions: ``simplify`` to 0.

    Slower than :func:`is_zero`; parameters and return value as there.

    References
    ----------
    Azar et al., arXiv:2310.12036, Proposition 1 (``logit(σ(x)) = x``, shown below).

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic.algebra import is_zero, psi_logit, sigmoid, simplifies_to_zero
    >>> x = sp.Symbol("x", real=True)
    >>> simplifies_to_zero(psi_logit(sigmoid(x)) - x), is_zero(psi_logit(sigmoid(x)) - x)
    (True, False)
    """
    return sp.simplify(expr) == 0


def psi_identity(q: Expr) -> Expr:
    """Ψ(q) = q of the preference probability ``q``: the IPO choice of Eq. 8.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 8.

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic import psi_identity
    >>> psi_identity(sp.Symbol("q"))
    q
    """
    return q


def psi_logit(q: Expr) -> Expr:
    """Ψ(q) = log(q / (1 − q)) of ``q``: the RLHF/DPO choice of Proposition 1.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 4.1, Proposition 1.

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic import psi_logit
    >>> psi_logit(sp.Rational(3, 4))
    log(3)
    """
    return sp.log(q / (1 - q))


def sigmoid(x: Expr) -> Expr:
    """σ(x) = 1 / (1 + e^(−x)), the Bradley–Terry link of Eq. 1.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 1.

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic import sigmoid
    >>> sigmoid(sp.log(3)), sigmoid(0)
    (3/4, 1/2)
    """
    return 1 / (1 + sp.exp(-x))


def bradley_terry(r_y: Expr, r_y2: Expr) -> Expr:
    """Eq. 1: p(y≻y′) = σ(r(y) − r(y′)).

    Parameters
    ----------
    r_y, r_y2 : sympy.Expr
        Rewards of the two actions.

    Returns
    -------
    sympy.Expr

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 1; Bradley and Terry (1952).

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic import bradley_terry
    >>> bradley_terry(sp.log(3), 0)
    3/4
    """
    return sigmoid(r_y - r_y2)


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

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (a finite action space; 1-based names y₁ … yₙ).

    Examples
    --------
    >>> from psipo_exact.symbolic import action_symbols
    >>> s = action_symbols("s", 3, real=True)
    >>> s, s[0].is_real
    ([s_1, s_2, s_3], True)
    """
    return [sp.Symbol(f"{prefix}_{i + 1}", **assumptions) for i in range(n)]


def probability_symbols(prefix: str, n: int, sums_to_one: bool = True) -> list[Expr]:
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (policies in the simplex ``∆_Y``).

    Examples
    --------
    >>> from psipo_exact.symbolic import probability_symbols
    >>> probability_symbols("mu", 3)
    [mu_1, mu_2, -mu_1 - mu_2 + 1]
    >>> probability_symbols("mu", 2, sums_to_one=False)
    [mu_1, mu_2]
    """
    free = action_symbols(prefix, n, positive=True)
    if sums_to_one:
        free[-1] = 1 - sum(free[:-1])
    return free


def _free_preference(i: int, j: int) -> Expr:
    """The free symbol ``p_i_j`` = p(y_i ≻ y_j) (1-based in the name)."""
    return sp.Symbol(f"p_{i + 1}_{j + 1}", positive=True)


def preference_symbols(n: int, upper: PairTerm | None = None) -> sp.Matrix:
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (``p*(y ≻ y′) + p*(y′ ≻ y) = 1``).

    Examples
    --------
    >>> from psipo_exact.symbolic import preference_symbols
    >>> preference_symbols(2)
    Matrix([
    [      1/2, p_1_2],
    [1 - p_1_2,   1/2]])
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
        Preference matrix, see :func:`preference_symbols`.
    mu : sequence of sympy.Expr
        Behaviour policy µ.

    Returns
    -------
    list of sympy.Expr

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 and Sec. 5.3.1.

    Examples
    --------
    Sec. 5.3.1: ``p(y₁ ≻ y₂) = 1`` against uniform µ gives (3/4, 1/4):

    >>> import sympy as sp
    >>> from psipo_exact.symbolic import preference_against, preference_symbols
    >>> prefs = preference_symbols(2, lambda i, j: sp.Integer(1))
    >>> preference_against(prefs, [sp.Rational(1, 2)] * 2)
    [3/4, 1/4]
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 9 (g); Proposition 1 (Ψ = logit).

    Examples
    --------
    Proposition 1 with two actions: ``g(y₁) = r₁ − E_µ[r]``:

    >>> import sympy as sp
    >>> from psipo_exact.symbolic import (action_symbols, bradley_terry, expected_psi,
    ...                                   preference_symbols, probability_symbols, psi_logit)
    >>> r, mu = action_symbols("r", 2, real=True), probability_symbols("mu", 2)
    >>> prefs = preference_symbols(2, lambda i, j: bradley_terry(r[i], r[j]))
    >>> g = expected_psi(prefs, mu, psi_logit)
    >>> sp.simplify(g[0] - (r[0] - (mu[0] * r[0] + mu[1] * r[1])))
    0
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 13 and Eq. 16 (``E_{y,y′∼µ}``).

    Examples
    --------
    ``E[(y − y′)²]`` for i.i.d. uniform ``y, y′ ∈ {0, 1}`` is 1/2:

    >>> import sympy as sp
    >>> from psipo_exact.symbolic import pair_expectation
    >>> pair_expectation([sp.Rational(1, 2)] * 2, lambda y, y2: (y - y2) ** 2)
    1/2
    """
    n = len(mu)
    return sp.Add(*[mu[y] * mu[y2] * term(y, y2) for y in range(n) for y2 in range(n)])


def log_ratio_gap_expr(log_pi: Sequence[Expr], pi_ref: Sequence[Expr], y: int, y2: int) -> Expr:
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.1 (``h_π``, Eq. 12).

    Examples
    --------
    >>> from psipo_exact.symbolic import action_symbols, log_ratio_gap_expr
    >>> s, ref = action_symbols("s", 2), action_symbols("piref", 2, positive=True)
    >>> log_ratio_gap_expr(s, ref, 0, 1)
    s_1 - s_2 - log(piref_1) + log(piref_2)
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.1 (proof of Theorem 2, ``π_s``).

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic import softmax
    >>> softmax([sp.log(3), 0])
    [3/4, 1/4]
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 7, Eq. 9 and Appendix A.1 (δ*).

    Examples
    --------
    Sec. 5.3.1: uniform πref and g = (3/4, 1/4) give ``π*(y₁) = σ(1/(2τ))``:

    >>> import sympy as sp
    >>> from psipo_exact.symbolic import TAU, gibbs_policy, sigmoid
    >>> half, g = sp.Rational(1, 2), [sp.Rational(3, 4), sp.Rational(1, 4)]
    >>> pi = gibbs_policy([half, half], g, TAU)
    >>> sp.simplify(pi[0] - sigmoid(1 / (2 * TAU)))
    0
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 3.1.2.

    Examples
    --------
    >>> import sympy as sp
    >>> from psipo_exact.symbolic import kl_divergence
    >>> kl = kl_divergence([sp.Rational(3, 4), sp.Rational(1, 4)], [sp.Rational(1, 2)] * 2)
    >>> kl, sp.N(kl, 6)
    (-log(2)/4 + 3*log(3/2)/4, 0.130812)
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 12, 13 and 14.

    Examples
    --------
    Sec. 5.3.1: the loss is ``(s₁ − s₂ − 1/(2τ))²/2``, zero at the gap ``1/(2τ)``:

    >>> import sympy as sp
    >>> from psipo_exact.symbolic import (TAU, action_symbols, ipo_population_loss,
    ...                                   preference_symbols)
    >>> s, half = action_symbols("s", 2, real=True), [sp.Rational(1, 2)] * 2
    >>> prefs = preference_symbols(2, lambda i, j: sp.Integer(1))
    >>> loss = ipo_population_loss(s, prefs, half, half)
    >>> sp.expand(loss - (s[0] - s[1] - 1 / (2 * TAU)) ** 2 / 2)
    0
    """
    g = expected_psi(prefs, mu, psi)

    def squared_error(y: int, y2: int) -> Expr:
        return (log_ratio_gap_expr(log_pi, pi_ref, y, y2) - (g[y] - g[y2]) / tau) ** 2

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

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 16; Proposition 3.

    Examples
    --------
    Proposition 3 on Sec. 5.3.1: Eq. 16 − Eq. 13 is the constant ``3/(8τ²)``:

    >>> import sympy as sp
    >>> from psipo_exact.symbolic import (action_symbols, ipo_population_loss,
    ...                                   ipo_sampled_loss, preference_symbols)
    >>> s, half = action_symbols("s", 2, real=True), [sp.Rational(1, 2)] * 2
    >>> prefs = preference_symbols(2, lambda i, j: sp.Integer(1))
    >>> sp.factor(ipo_sampled_loss(s, prefs, half, half) - ipo_population_loss(s, prefs, half,
    ...                                                                         half))
    3/(8*tau**2)
    """

    def bernoulli_mean(y: int, y2: int) -> Expr:
        h = log_ratio_gap_expr(log_pi, pi_ref, y, y2)
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 5.

    Examples
    --------
    At π = πref (equal logits) every term is ``p log 2``; with uniform µ, ``E_µµ[p] = 1/2``:

    >>> import sympy as sp
    >>> from psipo_exact.symbolic import dpo_population_loss, preference_symbols
    >>> half = [sp.Rational(1, 2)] * 2
    >>> sp.simplify(dpo_population_loss([0, 0], preference_symbols(2), half, half))
    log(2)/2
    """

    def log_likelihood(y: int, y2: int) -> Expr:
        margin = sp.expand(tau * log_ratio_gap_expr(log_pi, pi_ref, y, y2))
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 2; Proposition 4 (Appendix B).

    Examples
    --------
    Proposition 4's key step with two actions: the DPO loss at ``π*_r`` (logits ``r/τ``,
    uniform πref) is the Bradley–Terry loss at ``r``:

    >>> import sympy as sp
    >>> from psipo_exact.symbolic import (TAU, action_symbols, bradley_terry_loss,
    ...                                   dpo_population_loss, preference_symbols)
    >>> r, half = action_symbols("r", 2, real=True), [sp.Rational(1, 2)] * 2
    >>> prefs = preference_symbols(2)
    >>> dpo = dpo_population_loss([ri / TAU for ri in r], prefs, half, half)
    >>> sp.simplify(dpo - bradley_terry_loss(r, prefs, half))
    0
    """

    def log_likelihood(y: int, y2: int) -> Expr:
        return prefs[y, y2] * sp.log(sigmoid(rewards[y] - rewards[y2]))

    return -pair_expectation(mu, log_likelihood)
