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
* :mod:`~psipo_exact.symbolic.games` — preference games (Munos et al., arXiv:2312.00886):
  ``check_duality_gap``, ``check_two_action_equilibrium``, ``check_three_cycle``.
* :mod:`~psipo_exact.symbolic.loss_family` — the preference-loss family: per-pair targets
  (``check_pair_targets``), convexity (``check_convexity``), equivalences
  (``check_equivalences``), f-divergence scores (``check_f_divergence_scores``), the Lambert W
  root of ``sppo_hard`` (``check_sppo_lambert``).
* ``Check`` (the outcome of a check) and ``format_checks`` (its table).
"""

from __future__ import annotations

from ._check import Check, format_check, format_checks
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
from .games import check_duality_gap, check_three_cycle, check_two_action_equilibrium
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

#: Every check of the paper's statements by name, in the order ``verify_all`` runs them
#: (``psipo-exact check --only NAME`` runs one).
CHECKS = {
    "proposition3": check_proposition3,
    "proposition1": check_proposition1,
    "eq17": check_eq17,
    "theorem2": check_theorem2,
    "section531": check_section531,
    "appendix_a1": check_appendix_a1,
    "appendix_a2": check_appendix_a2,
    "proposition4": check_proposition4,
    "duality_gap": check_duality_gap,
    "two_action_equilibrium": check_two_action_equilibrium,
    "three_cycle": check_three_cycle,
    "pair_targets": check_pair_targets,
    "convexity": check_convexity,
    "equivalences": check_equivalences,
    "f_divergence_scores": check_f_divergence_scores,
    "sppo_lambert": check_sppo_lambert,
}


def verify_all() -> list[Check]:
    """Run every symbolic check of :data:`CHECKS` with the paper's statement.

    Covers Proposition 3, Proposition 1, Eq. 17, Theorem 2, Sec. 5.3.1, Appendix A.1,
    Appendix A.2 and Proposition 4 (Appendix B), then the preference-game checks
    (duality gap, two-action equilibrium, symmetric 3-cycle), then the preference-loss family
    (per-pair targets, convexity, equivalences, f-divergence scores, sppo_hard's Lambert W
    root).

    Returns
    -------
    list of Check
        One per claim, in that order.

    References
    ----------
    Azar et al., arXiv:2310.12036: Proposition 1 (Sec. 4.1), Theorem 2 and Eq. 15
    (Sec. 5.1), Proposition 3 and Eq. 17 (Sec. 5.2), Sec. 5.3.1, Appendices A.1, A.2 and
    Proposition 4 (Appendix B).

    Examples
    --------
    The full run takes about 15 s (Proposition 3 at up to 8 actions dominates), so it is
    skipped here; ``psipo-exact check`` prints the same table and ``tests/test_symbolic.py``
    runs it. Each check also runs alone, at smaller sizes, in a fraction of a second
    (see the ``check_*`` functions).

    >>> from psipo_exact import verify_all
    >>> checks = verify_all()  # doctest: +SKIP
    >>> for check in checks:  # doctest: +SKIP
    ...     print(check.holds, check.reference)
    True Prop. 3, Sec. 5.2
    True Prop. 1, Sec. 4.1
    True Eq. 17, Sec. 5.2
    True Thm. 2 / Eq. 15, Sec. 5.1
    True Sec. 5.3.1
    True App. A.1 (Eq. 7/9)
    True App. A.2
    True Prop. 4, App. B
    """
    return [check() for check in CHECKS.values()]


__all__ = [
    "CHECKS",
    "TAU",
    "Check",
    "Expr",
    "PairTerm",
    "action_symbols",
    "bradley_terry",
    "bradley_terry_loss",
    "check_appendix_a1",
    "check_appendix_a2",
    "check_duality_gap",
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
    "check_three_cycle",
    "check_two_action_equilibrium",
    "dpo_population_loss",
    "expected_psi",
    "format_check",
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
