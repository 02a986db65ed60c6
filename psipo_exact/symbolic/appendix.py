"""Symbolic checks of the appendices of Azar et al. (arXiv:2310.12036).

* Appendix A.1 — the regularised objective is −τ KL to the Gibbs policy plus a constant, so
  δ* ∝ η exp(f/τ) is its argmax (Eq. 7/9; :func:`check_appendix_a1`).
* Appendix A.2 — with µ = (½, ½, 0) the IPO loss sees π only through π(y₁)/π(y₂), so its
  minimisers are not unique when Supp(µ) ⊊ Supp(π) (:func:`check_appendix_a2`).
* Appendix B — Proposition 4, key step: the DPO loss (Eq. 5) at π*_r equals the
  Bradley–Terry loss (Eq. 2) at r (:func:`check_proposition4`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from ._check import Check, timed
from .algebra import (
    TAU,
    Expr,
    action_symbols,
    bradley_terry_loss,
    dpo_population_loss,
    gibbs_policy,
    ipo_population_loss,
    is_zero,
    kl_divergence,
    preference_against,
    preference_symbols,
    probability_symbols,
    simplifies_to_zero,
    softmax,
)


@timed
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Appendix A.1 (Eq. 7 and Eq. 9).

    Examples
    --------
    >>> from psipo_exact.symbolic import check_appendix_a1
    >>> check_appendix_a1(n=2).holds, check_appendix_a1(n=2, kl_sign=1).holds
    (True, False)
    """
    delta = probability_symbols("delta", n)
    eta = action_symbols("eta", n, positive=True)
    f = action_symbols("f", n, real=True)
    objective = sum(d * fi for d, fi in zip(delta, f)) - TAU * kl_divergence(delta, eta)
    log_partition = sp.log(sp.Add(*[e * sp.exp(fi / TAU) for e, fi in zip(eta, f)]))
    rhs = kl_sign * kl_divergence(delta, gibbs_policy(eta, f, TAU)) + log_partition
    holds = is_zero(sp.expand_log(objective / TAU - rhs, force=True))
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


@timed
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Appendix A.2 (and Theorem 2's support condition).

    Examples
    --------
    The structure holds; the coefficient printed in the paper, 2, does not (it is ½):

    >>> from psipo_exact.symbolic import check_appendix_a2
    >>> check_appendix_a2().holds, check_appendix_a2(coefficient=2).holds
    (True, False)
    """
    logits = action_symbols("s", 3, real=True)
    uniform = [sp.Rational(1, 3)] * 3
    prefs = preference_symbols(3)
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
        "closed form": is_zero(loss - closed_form),
        "∂L/∂s₃ = 0": is_zero(sp.diff(loss, logits[2])),
        "shift-invariant": is_zero(shifted - loss),
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


@timed
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Appendix B, Proposition 4.

    Examples
    --------
    >>> from psipo_exact.symbolic import check_proposition4
    >>> check_proposition4(n=2).holds, check_proposition4(n=2, tau_scale=2).holds
    (True, False)
    """
    mu = probability_symbols("mu", n)
    prefs = preference_symbols(n)
    pi_ref = action_symbols("piref", n, positive=True)
    rewards = action_symbols("r", n, real=True)
    pi_star = gibbs_policy(pi_ref, rewards, tau_scale * TAU)
    log_pi_star = [sp.expand_log(sp.log(p), force=True) for p in pi_star]
    losses_equal = simplifies_to_zero(
        dpo_population_loss(log_pi_star, prefs, mu, pi_ref) - bradley_terry_loss(rewards, prefs, mu)
    )
    pi_other = probability_symbols("pi", n)
    implied_rewards = [TAU * sp.log(p / q) for p, q in zip(pi_other, pi_ref)]
    recovered = gibbs_policy(pi_ref, implied_rewards, TAU)
    onto = all(simplifies_to_zero(a - b) for a, b in zip(recovered, pi_other))
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
