"""Negative controls and timings of psipo_exact.symbolic.loss_family (the claims themselves
are in test_symbolic.CLAIMS, run through verify_all)."""

from __future__ import annotations

import pytest
import sympy as sp

from psipo_exact import symbolic
from psipo_exact.symbolic import loss_family as lf

NEGATIVE_CONTROLS = [
    ("targets: exponential's for sigmoid", "check_pair_targets",
     {"targets": {"sigmoid": lf.TARGETS["exponential"]}}),
    ("targets: ipo's for exo_pair", "check_pair_targets",
     {"targets": {"exo_pair": lf.TARGETS["ipo"]}}),
    ("targets: squared's for ipo", "check_pair_targets",
     {"targets": {"ipo": lf.TARGETS["squared"]}}),
    ("convexity: savage", "check_convexity", {"names": ("savage",)}),
    ("convexity: exo_pair", "check_convexity", {"names": ("sigmoid", "exo_pair")}),
    ("equivalence: cdpo on (1-eps)p", "check_equivalences",
     {"cdpo_target": (1 - lf.EPS) * lf.P}),
    ("equivalence: robust on p - eps", "check_equivalences", {"robust_target": lf.P - lf.EPS}),
    ("equivalence: squared(tau) = ipo(tau)", "check_equivalences", {"ipo_tau_factor": 1}),
    ("scores: TRL <= 0.28 alpha convention", "check_f_divergence_scores",
     {"alpha_convention": "old"}),
    ("lambert: branch -1", "check_sppo_lambert", {"branch": -1}),
]


@pytest.mark.parametrize("checker, variant", [c[1:] for c in NEGATIVE_CONTROLS],
                         ids=[c[0] for c in NEGATIVE_CONTROLS])
def test_negative_control_is_rejected(checker, variant):
    check = getattr(symbolic, checker)(**variant)
    assert check.holds is False, check.detail


def test_every_loss_family_check_holds_fast_and_has_a_negative_control():
    checkers = ["check_pair_targets", "check_convexity", "check_equivalences",
                "check_f_divergence_scores", "check_sppo_lambert"]
    for name in checkers:
        getattr(symbolic, name)()  # warm sympy's caches
        check = getattr(symbolic, name)()
        assert check.holds, check.detail
        assert check.seconds < 1.0, (name, check.seconds)
    assert {c[1] for c in NEGATIVE_CONTROLS} == set(checkers)


def test_old_alpha_convention_agrees_at_one_half():
    """TRL ≤ 0.28's coefficient α is ≥ 0.29's 1 − α: the scores agree at ½ only."""
    s = sp.Symbol("s", real=True)
    assert sp.simplify(-sp.exp(-s / 2) / sp.Rational(1, 2)
                       - sp.exp((sp.Rational(1, 2) - 1) * s) / (sp.Rational(1, 2) - 1)) == 0
