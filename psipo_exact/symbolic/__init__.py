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

Where things are (every name is also importable from this package):

* :mod:`~psipo_exact.symbolic.algebra` — the sympy building blocks: symbols with the
  constraints of Sec. 2, Ψ maps, p(y≻µ), g, h_π, Gibbs policies, KL, the losses of Eq. 2,
  5, 13 and 16.
* :mod:`~psipo_exact.symbolic.section4` — Proposition 1 (Sec. 4.1): ``check_proposition1``.
* :mod:`~psipo_exact.symbolic.section5` — Theorem 2 (Sec. 5.1): ``check_theorem2``;
  Proposition 3 (Sec. 5.2): ``check_proposition3``, ``proposition3_constant``,
  ``proposition3_reduction``; Eq. 17 (Sec. 5.2): ``check_eq17``; Sec. 5.3.1:
  ``check_section531``.
* :mod:`~psipo_exact.symbolic.appendix` — Appendix A.1: ``check_appendix_a1``; Appendix
  A.2: ``check_appendix_a2``; Proposition 4 (Appendix B): ``check_proposition4``.
* :mod:`~psipo_exact.symbolic.loss_family` — the preference-loss family: per-pair targets
  (``check_pair_targets``), convexity (``check_convexity``), equivalences
  (``check_equivalences``), f-divergence scores (``check_f_divergence_scores``), the Lambert W
  root of ``sppo_hard`` (``check_sppo_lambert``).
* ``Check`` (the outcome of a check) and ``format_checks`` (its table).
"""

from __future__ import annotations

from ._check import Check, format_checks
from .algebra import (
    TAU,
    Expr,
    PairTerm,
    action_symbols,
    bradley_terry,
    bradley_terry_loss,
    dpo_population_loss,
    expected_psi,
    gibbs_policy,
    ipo_population_loss,
    ipo_sampled_loss,
    kl_divergence,
    log_ratio_gap_expr,
    pair_expectation,
    preference_against,
    preference_symbols,
    probability_symbols,
    psi_identity,
    psi_logit,
    sigmoid,
    softmax,
)
from .appendix import check_appendix_a1, check_appendix_a2, check_proposition4
from .loss_family import (
    check_convexity,
    check_equivalences,
    check_f_divergence_scores,
    check_pair_targets,
    check_sppo_lambert,
)
from .section4 import check_proposition1
from .section5 import (
    check_eq17,
    check_proposition3,
    check_section531,
    check_theorem2,
    proposition3_constant,
    proposition3_reduction,
)


def verify_all() -> list[Check]:
    """Run every symbolic check with the paper's statement.

    Covers Proposition 3, Proposition 1, Eq. 17, Theorem 2, Sec. 5.3.1, Appendix A.1,
    Appendix A.2 and Proposition 4 (Appendix B), then the preference-loss family (per-pair
    targets, convexity, equivalences, f-divergence scores, sppo_hard's Lambert W root).

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
        check_pair_targets(),
        check_convexity(),
        check_equivalences(),
        check_f_divergence_scores(),
        check_sppo_lambert(),
    ]


__all__ = [
    "TAU",
    "Check",
    "Expr",
    "PairTerm",
    "action_symbols",
    "bradley_terry",
    "bradley_terry_loss",
    "check_appendix_a1",
    "check_appendix_a2",
    "check_convexity",
    "check_eq17",
    "check_equivalences",
    "check_f_divergence_scores",
    "check_pair_targets",
    "check_proposition1",
    "check_proposition3",
    "check_proposition4",
    "check_section531",
    "check_sppo_lambert",
    "check_theorem2",
    "dpo_population_loss",
    "expected_psi",
    "format_checks",
    "gibbs_policy",
    "ipo_population_loss",
    "ipo_sampled_loss",
    "kl_divergence",
    "log_ratio_gap_expr",
    "pair_expectation",
    "preference_against",
    "preference_symbols",
    "probability_symbols",
    "proposition3_constant",
    "proposition3_reduction",
    "psi_identity",
    "psi_logit",
    "sigmoid",
    "softmax",
    "verify_all",
]
