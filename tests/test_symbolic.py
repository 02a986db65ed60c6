"""Tests for psipo_exact.symbolic: every paper claim holds, every wrong variant is rejected."""

from __future__ import annotations

import pytest
import sympy as sp

from psipo_exact import symbolic

HALF = sp.Rational(1, 2)
THIRD = sp.Rational(1, 3)

#: (paper reference, Check.name) in the order verify_all returns them.
CLAIMS = [
    ("Prop. 3, Sec. 5.2", "Eq. 13 − Eq. 16 is a constant independent of π"),
    ("Prop. 1, Sec. 4.1", "Ψ = logit under Bradley–Terry gives g(y) = r(y) − E_µ[r]"),
    ("Eq. 17, Sec. 5.2", "Symmetric sampled IPO loss = Eq. 17 + constant"),
    ("Thm. 2 / Eq. 15, Sec. 5.1", "Eq. 14 Hessian is PSD, kernel = constants under full support"),
    ("Sec. 5.3.1", "IPO optimum for a deterministic 2-action preference is σ(τ⁻¹/2)"),
    ("App. A.1 (Eq. 7/9)", "L_τ(δ)/τ = −KL(δ‖δ*) + log-partition, so δ* is the argmax"),
    ("App. A.2", "Loss depends on π only via π(y₁)/π(y₂) when Supp(µ) ⊊ Supp(π)"),
    ("Prop. 4, App. B", "DPO loss at π*_r equals the Bradley–Terry loss at r"),
    ("Munos et al. (regularised game); Azar et al. App. A.1",
     "Duality gap of the regularised game = 2τ KL(π‖BR(π))"),
    ("Munos et al. (regularised game); Azar et al. Eq. 7",
     "Two actions: π*(y₁) = σ(logit πref(y₁) + (p − ½)/τ) = offline IPO"),
    ("Munos et al. (preference game)",
     "Symmetric 3-cycle, uniform πref: π* = uniform for every τ (unique at τ = 0)"),
    ("losses.targets; GPO Table 1", "Per-pair targets z*(p) of the margin losses"),
    ("losses.pairwise (convex flags)", "Convex margin losses have f'' >= 0"),
    ("Prop. 4, App. B; Eq. 4, 17; Chowdhury et al. 2024",
     "Equivalences: cdpo, robust, squared/ipo, Eq. 4, Prop. 4 analogue"),
    ("Wang et al. 2023, Table 1; TRL f_divergence_type",
     "TRL's f-divergence scores are f'(e^s) + constant"),
    ("SPPO (arXiv:2405.00675) Eq. 4.7; solvers._separable",
     "sppo_hard: Lambert W root of the stationarity equation"),
]


def _square(q):
    return q**2


def _thurstone(r_y, r_y2):
    """Thurstone–Mosteller preference Φ(r(y) − r(y′)): not Bradley–Terry."""
    return (1 + sp.erf(r_y - r_y2)) / 2


def _linear(r_y, r_y2):
    return HALF + (r_y - r_y2) / 4


@pytest.fixture(scope="module")
def checks():
    return symbolic.verify_all()


def test_verify_all_returns_one_check_per_claim_in_order(checks):
    assert [(c.reference, c.name) for c in checks] == CLAIMS
    assert all(isinstance(c, symbolic.Check) for c in checks)
    assert all(c.seconds > 0 and c.detail for c in checks)


@pytest.mark.parametrize("index", range(len(CLAIMS)), ids=[ref for ref, _ in CLAIMS])
def test_claim_holds(checks, index):
    check = checks[index]
    assert check.holds is True, check.detail


def test_proposition3_reaches_every_n(checks):
    detail = checks[0].detail
    assert "n = 1..4" in detail and "extends it to every n: yes" in detail


def test_check_is_frozen(checks):
    with pytest.raises(AttributeError):
        checks[0].holds = False


#: (id, checker, wrong variant) — every checker is fed at least one deliberately wrong claim.
NEGATIVE_CONTROLS = [
    ("prop3: Ψ(q) = q² in Eq. 13", "check_proposition3", {"n_max": 3, "psi": _square}),
    ("prop3: Ψ = logit in Eq. 13", "check_proposition3", {"n_max": 3, "psi": symbolic.psi_logit}),
    ("prop3: Σµ ≠ 1", "check_proposition3", {"n_max": 3, "mu_sums_to_one": False}),
    ("prop3: reduction alone rejects q²", "check_proposition3", {"n_max": 1, "psi": _square}),
    ("prop1: Thurstone preferences", "check_proposition1", {"n": 3, "preference": _thurstone}),
    ("prop1: linear preferences", "check_proposition1", {"n": 3, "preference": _linear}),
    ("eq17: target 1/τ", "check_eq17", {"target_factor": 1}),
    ("eq17: target 0", "check_eq17", {"target_factor": 0}),
    ("thm2: vᵀHv with factor 1", "check_theorem2", {"n_max": 3, "sos_factor": 1}),
    ("thm2: vᵀHv with factor 4", "check_theorem2", {"n_max": 3, "sos_factor": 4}),
    ("5.3.1: π*(y₁) = σ(1/τ)", "check_section531", {"claimed_gap": 1}),
    ("A.1: +KL(δ‖δ*)", "check_appendix_a1", {"n": 3, "kl_sign": 1}),
    ("A.2: µ with full support", "check_appendix_a2", {"mu": (THIRD, THIRD, THIRD)}),
    ("A.2: paper's printed coefficient 2", "check_appendix_a2", {"coefficient": 2}),
    ("prop4: π*_r with 2τ", "check_proposition4", {"n": 3, "tau_scale": 2}),
    ("games: gap without complementary prefs", "check_duality_gap", {"complementary": False}),
    ("games: 2 actions with DPO's logit p", "check_two_action_equilibrium",
     {"gap": lambda p: sp.log(p / (1 - p))}),
    ("games: 2 actions with p instead of p − ½", "check_two_action_equilibrium",
     {"gap": lambda p: p}),
    ("games: 3-cycle, non-uniform πref", "check_three_cycle",
     {"pi_ref": sp.symbols("r1 r2 r3", positive=True)}),
    ("games: asymmetric 3-cycle", "check_three_cycle", {"second": sp.Symbol("q", positive=True)}),
]


@pytest.mark.parametrize(
    "checker, variant", [c[1:] for c in NEGATIVE_CONTROLS], ids=[c[0] for c in NEGATIVE_CONTROLS]
)
def test_negative_control_is_rejected(checker, variant):
    check = getattr(symbolic, checker)(**variant)
    assert check.holds is False, check.detail


def test_negative_controls_cover_every_claim():
    checkers = {
        "check_proposition3",
        "check_proposition1",
        "check_eq17",
        "check_theorem2",
        "check_section531",
        "check_appendix_a1",
        "check_appendix_a2",
        "check_proposition4",
        "check_duality_gap",
        "check_two_action_equilibrium",
        "check_three_cycle",
    }
    assert {checker for _, checker, _ in NEGATIVE_CONTROLS} == checkers


def test_proposition3_reduction_rejects_wrong_psi_and_bounds_actions():
    assert symbolic.proposition3_reduction(4) == (True, 3)
    assert symbolic.proposition3_reduction(4, psi=_square) == (False, 3)


def test_preference_symbols_substitutes_constraints():
    prefs = symbolic.preference_symbols(4)
    assert prefs + prefs.T == sp.ones(4, 4)
    assert all(prefs[i, i] == HALF for i in range(4))
    assert len(prefs.free_symbols) == 6


def test_probability_symbols_sums_to_one():
    assert sp.expand(sum(symbolic.probability_symbols("mu", 5))) == 1
    assert len(symbolic.probability_symbols("mu", 5, sums_to_one=False)[-1].free_symbols) == 1


def test_log_ratio_gap_expr_is_antisymmetric_and_drops_normaliser():
    logits = symbolic.action_symbols("s", 3, real=True)
    pi_ref = symbolic.action_symbols("piref", 3, positive=True)
    shifted = [s + sp.Symbol("c") for s in logits]
    h = symbolic.log_ratio_gap_expr(logits, pi_ref, 0, 2)
    assert sp.expand(h + symbolic.log_ratio_gap_expr(logits, pi_ref, 2, 0)) == 0
    assert sp.expand(h - symbolic.log_ratio_gap_expr(shifted, pi_ref, 0, 2)) == 0


def test_proposition3_constant_two_actions():
    prefs = symbolic.preference_symbols(2)
    p = sp.Symbol("p_1_2", positive=True)
    constant = symbolic.proposition3_constant(prefs, [HALF, HALF])
    # p(y₁≻µ) = 1/4 + p/2, p(y₂≻µ) = 3/4 − p/2
    expected = (
        2 * (HALF * (sp.Rational(1, 4) + p / 2) ** 2 + HALF * (sp.Rational(3, 4) - p / 2) ** 2) - 1
    ) / symbolic.TAU**2
    assert sp.expand(constant - expected) == 0


def test_format_checks_lists_every_claim(checks):
    table = symbolic.format_checks(checks)
    lines = table.splitlines()
    assert lines[0].split() == ["claim", "paper", "reference", "holds", "seconds"]
    for reference, name in CLAIMS:
        assert any(name in line and reference in line and " yes " in line for line in lines)
    assert lines[-1].startswith(f"{len(CLAIMS)}/{len(CLAIMS)} claims hold")


def test_format_checks_marks_failures():
    failing = symbolic.Check("a wrong claim", "Eq. 0", False, "nothing", 0.5)
    table = symbolic.format_checks([failing])
    assert "NO" in table and "0.50" in table and table.splitlines()[-1].startswith("0/1")
