"""Tests of psipo_exact.closed_form: Eq. 3, 6, 7, 9, App. A.1 and the Sec. 4.2 / 5.3.1 examples.

Every reference value here is computed by an independent route (math/mpmath/scipy or an
explicit loop), never by calling the function under test a second time.
"""

from __future__ import annotations

import math
import re
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import expit, logsumexp, rel_entr

import psipo_exact as px
from psipo_exact import experiments
from psipo_exact import strategies as pst

# --------------------------------------------------------------------------- helpers


def _uniform(n):
    return np.full(n, 1.0 / n)


def _loop_g(prefs, mu, psi):
    """g(y) of Eq. 9 as an explicit double loop (0·(±inf) = 0 where mu(y') = 0)."""
    n = prefs.shape[-1]
    out = np.zeros(n)
    for i in range(n):
        total = 0.0
        for j in range(n):
            if mu[j] > 0:
                total += mu[j] * psi(prefs[i, j])
        out[i] = total
    return out


# -------------------------------------------------------- Sec. 5.3.1 and Sec. 4.2 examples

TWO_ACTION_PREFS = np.array([[0.5, 1.0], [0.0, 0.5]])  # p*(y1 ≻ y2) = 1
SWEEP_TAUS = np.logspace(-3, 9, 49)


@pytest.mark.parametrize("tau", SWEEP_TAUS)
def test_sec_5_3_1_ipo_policy_is_sigmoid_of_half_inverse_tau(tau):
    """Sec. 5.3.1: p(y1≻µ) = 3/4, p(y2≻µ) = 1/4, so π*(y1) = σ(τ⁻¹/2), π*(y2) = σ(−τ⁻¹/2)."""
    pi = px.psipo_policy(TWO_ACTION_PREFS, [0.5, 0.5], [0.5, 0.5], tau, psi="identity")
    y1 = 1.0 / (1.0 + math.exp(-0.5 / tau))
    y2 = math.exp(-0.5 / tau) / (1.0 + math.exp(-0.5 / tau))  # σ(−x), no cancellation
    assert pi[0] == pytest.approx(y1, rel=1e-13)
    assert pi[1] == pytest.approx(y2, rel=1e-12)
    # Not deterministic for any τ in the grid: IPO keeps mass on the losing action.
    assert pi[1] > 0.0


def test_sec_5_3_1_ipo_tends_to_pi_ref_and_to_greedy():
    """Sec. 5.3.1: π* → πref (uniform) as τ → ∞ and → (1, 0) as τ → 0."""
    big = px.psipo_policy(TWO_ACTION_PREFS, [0.5, 0.5], [0.5, 0.5], 1e8)
    small = px.psipo_policy(TWO_ACTION_PREFS, [0.5, 0.5], [0.5, 0.5], 1e-4)
    np.testing.assert_allclose(big, [0.5, 0.5], rtol=1e-8)
    np.testing.assert_allclose(small, [1.0, 0.0], atol=1e-300)


def test_sec_4_2_logit_policy_is_deterministic_for_every_tau():
    """Sec. 4.2: with p*(y≻y′) = 1 and Ψ = logit, π*(y′) = 0 whatever τ (and IPO is not)."""
    logit = px.psipo_policy(TWO_ACTION_PREFS, [0.5, 0.5], [0.5, 0.5], SWEEP_TAUS, psi="logit")
    ipo = px.psipo_policy(TWO_ACTION_PREFS, [0.5, 0.5], [0.5, 0.5], SWEEP_TAUS, psi="identity")
    assert logit.shape == ipo.shape == (SWEEP_TAUS.size, 2)
    assert np.all(logit[:, 0] == 1.0) and np.all(logit[:, 1] == 0.0)
    # IPO keeps mass on the losing action (π(y1) itself rounds to 1.0 below τ ≈ 0.014).
    assert np.all(ipo[:, 1] > 0.0)
    # IPO's policy depends on τ (increasing mass on y2); the logit one does not.
    assert np.all(np.diff(ipo[:, 1]) > 0)


@given(pst.preference_matrices(st.integers(2, 5), deterministic=True),
       pst.probability_vectors(st.just(5)), pst.taus(1e-6, 1e6))
def test_sec_4_2_deterministic_prefs_make_logit_policy_independent_of_tau(prefs, weights, tau):
    """Sec. 4.2 in general: with p ∈ {0, 1} and Ψ = logit, every g(y) is ±∞ or 0 (self only),
    so the Eq. 7 policy is the same for every τ, and puts no mass where g = −∞."""
    n = prefs.shape[-1]
    mu = weights[:n] / weights[:n].sum()
    pi_ref = _uniform(n)
    try:
        g = px.expected_psi(prefs, mu, "logit")
    except ValueError as exc:  # some y beats one action of Supp(µ) and loses to another
        assert "+inf" in str(exc) and "-inf" in str(exc)
        return
    pis = px.psipo_policy(prefs, mu, pi_ref, np.array([tau, 1e-6, 1.0, 1e6]), psi="logit")
    np.testing.assert_array_equal(pis, np.broadcast_to(pis[0], pis.shape))
    assert np.all(pis[:, np.isneginf(g)] == 0.0)
    if np.isposinf(g).any():
        assert np.all(pis[:, ~np.isposinf(g)] == 0.0)


def test_closed_form_sweep_columns_match_paper():
    """The experiment helper reproduces Sec. 5.3.1 and Sec. 4.2 column by column."""
    sweep = experiments.closed_form_sweep(np.array([0.01, 0.1, 1.0, 10.0, 100.0]))
    sigma = np.array([1.0 / (1.0 + math.exp(-0.5 / t)) for t in sweep["tau"]])
    np.testing.assert_allclose(sweep["ipo_pi_y1"], sigma, rtol=1e-13)
    np.testing.assert_allclose(sweep["ipo_sigmoid"], sigma, rtol=1e-13)
    np.testing.assert_allclose(sweep["ipo_pi_y1"] + sweep["ipo_pi_y2"], 1.0, rtol=1e-15)
    assert np.all(sweep["logit_pi_y1"] == 1.0) and np.all(sweep["logit_pi_y2"] == 0.0)


# ------------------------------------------------------------------ Proposition 1 (BT)


@given(pst.bradley_terry_preferences(st.integers(2, 6)), st.data())
def test_prop_1_logit_psipo_equals_rlhf_under_bradley_terry(model, data):
    """Prop. 1: for BT preferences, the Ψ = logit policy of Eq. 7 is the RLHF policy of Eq. 3
    with the BT rewards, for any µ with full support (g = r − E_µ r)."""
    rewards, prefs = model
    n = rewards.shape[-1]
    mu = data.draw(pst.probability_vectors(n))
    pi_ref = data.draw(pst.probability_vectors(n))
    tau = data.draw(pst.taus(1e-2, 1e2))
    psipo = px.psipo_policy(prefs, mu, pi_ref, tau, psi="logit")
    # Independent RLHF reference: π ∝ πref exp(r/τ) via a plain stable softmax.
    z = np.log(pi_ref) + rewards / tau
    rlhf_ref = np.exp(z - logsumexp(z))
    np.testing.assert_allclose(px.rlhf_policy(rewards, pi_ref, tau), rlhf_ref, rtol=1e-12)
    np.testing.assert_allclose(psipo, rlhf_ref, rtol=1e-8, atol=0)


@given(pst.bradley_terry_preferences(st.integers(2, 5)), pst.probability_vectors(5))
def test_prop_1_expected_logit_is_reward_minus_its_mu_mean(model, weights):
    """The step of Prop. 1's proof: E_µ[logit p(y≻y′)] = r(y) − E_µ[r]."""
    rewards, prefs = model
    mu = weights[: rewards.size] / weights[: rewards.size].sum()
    g = px.expected_psi(prefs, mu, "logit")
    np.testing.assert_allclose(g, rewards - rewards @ mu, rtol=0, atol=1e-10)


# ----------------------------------------------------- g of Eq. 9 and preference_against


@given(pst.preference_problems(st.integers(2, 6), support="any", deterministic=None))
def test_preference_against_and_expected_identity_psi_match_loop(problem):
    """p(y≻µ) = Σ_y′ µ(y′) p(y≻y′) (Sec. 2) and g = p(·≻µ) for Ψ = identity (Eq. 8/9)."""
    loop = _loop_g(problem.prefs, problem.mu, lambda q: q)
    np.testing.assert_allclose(px.preference_against(problem.prefs, problem.mu), loop,
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(px.expected_psi(problem.prefs, problem.mu), loop,
                               rtol=1e-14, atol=1e-15)
    # E_{y∼µ}[p(y≻µ)] = 1/2 by complementarity.
    assert px.total_preference(problem.mu, problem.prefs, problem.mu) == pytest.approx(0.5)


def test_expected_psi_ignores_infinite_terms_where_mu_is_zero():
    """0·(±∞) = 0: Ψ = logit of a {0, 1} entry only matters where µ(y′) > 0."""
    prefs = np.array([[0.5, 1.0, 0.3], [0.0, 0.5, 0.6], [0.7, 0.4, 0.5]])
    mu = np.array([0.5, 0.0, 0.5])
    g = px.expected_psi(prefs, mu, "logit")
    assert not np.isnan(g).any()
    assert g[0] == pytest.approx(0.5 * math.log(0.3 / 0.7), rel=1e-14)
    assert g[1] == -math.inf  # loses for sure to y0 ∈ Supp(µ)
    assert g[2] == pytest.approx(0.5 * math.log(0.7 / 0.3), rel=1e-14)
    pi = px.psipo_policy(prefs, mu, _uniform(3), 0.5, psi="logit")
    assert pi[1] == 0.0 and pi.sum() == pytest.approx(1.0)


def test_expected_psi_plus_and_minus_infinity_meeting_raises_naming_actions():
    """y1 beats y2 and loses to y0 with certainty, µ uniform: g(y1) = ∞ − ∞ is undefined."""
    prefs = np.array([[0.5, 1.0, 1.0], [0.0, 0.5, 1.0], [0.0, 0.0, 0.5]])
    with pytest.raises(ValueError, match=r"g\(y1\).*prefs\[1, 2\].*\+inf.*prefs\[1, 0\].*-inf"):
        px.expected_psi(prefs, _uniform(3), "logit")
    with pytest.raises(ValueError, match=r"g\(y1\)"):
        px.psipo_policy(prefs, _uniform(3), _uniform(3), 1.0, psi="logit")
    # Removing y0 from Supp(µ) removes the clash: g(y0) = g(y1) = +∞, g(y2) = −∞, and the
    # mass goes to y0 and y1 in proportion to πref.
    pi = px.psipo_policy(prefs, [0.0, 0.5, 0.5], [0.2, 0.6, 0.2], 1.0, psi="logit")
    np.testing.assert_allclose(pi, [0.25, 0.75, 0.0], rtol=1e-15, atol=0)


def test_expected_psi_infinite_terms_in_a_batch_are_judged_problem_by_problem():
    """The two tests above on a batch (prefs of shape (2, 3, 3)): per problem, the same
    ±∞ values as unbatched, and a clash in one problem is reported at its index."""
    sure = np.array([[0.5, 1.0, 0.3], [0.0, 0.5, 0.6], [0.7, 0.4, 0.5]])
    clash = np.array([[0.5, 1.0, 1.0], [0.0, 0.5, 1.0], [0.0, 0.0, 0.5]])
    mu = np.array([[0.5, 0.0, 0.5], [0.0, 0.5, 0.5]])
    batch = np.stack([sure, clash])
    g = px.expected_psi(batch, mu, "logit")
    for k in range(2):
        np.testing.assert_array_equal(g[k], px.expected_psi(batch[k], mu[k], "logit"))
    assert g[1].tolist() == [math.inf, math.inf, -math.inf]
    with pytest.raises(ValueError, match=r"g\(y1\) is undefined at index \(1,\)"):
        px.expected_psi(np.stack([sure, clash]), _uniform(3), "logit")


# --------------------------------------------------------------------- Gibbs policies


def test_gibbs_one_hot_limit_at_tiny_tau_splits_ties_by_pi_ref():
    """τ → 0: all mass on argmax g within Supp(πref), ties weighted by πref."""
    pi_ref = np.array([0.1, 0.2, 0.6, 0.1])
    g = np.array([1.0, 3.0, 3.0, 2.0])
    pi = px.gibbs_policy(pi_ref, g, 1e-9)
    np.testing.assert_allclose(pi, [0.0, 0.25, 0.75, 0.0], rtol=1e-14, atol=0)
    # The maximiser outside Supp(πref) gets nothing, even with the largest g.
    pi = px.gibbs_policy([0.5, 0.0, 0.5], [0.0, 1e6, -1.0], 1e-9)
    np.testing.assert_array_equal(pi, [1.0, 0.0, 0.0])


@pytest.mark.parametrize("tau", [1e4, 1e6, 1e9])
def test_gibbs_tends_to_pi_ref_with_first_order_correction(tau):
    """τ → ∞: π = πref (1 + (g − E_πref g)/τ + O(τ⁻²))."""
    pi_ref = np.array([0.1, 0.2, 0.3, 0.4])
    g = np.array([1.0, -2.0, 0.5, 3.0])
    pi = px.gibbs_policy(pi_ref, g, tau)
    np.testing.assert_allclose(pi, pi_ref, rtol=1e-3)
    slope = (pi / pi_ref - 1.0) * tau
    np.testing.assert_allclose(slope, g - g @ pi_ref, atol=30.0 / tau + 1e-15 * tau)


def test_gibbs_zero_mass_where_pi_ref_is_zero_and_infinite_g():
    pi = px.gibbs_policy([0.5, 0.0, 0.5], [0.0, 3.0, 1.0], 0.5)
    assert pi[1] == 0.0
    np.testing.assert_allclose(pi[[0, 2]], expit(np.array([-2.0, 2.0])), rtol=1e-14)
    # g = +∞ on several actions of Supp(πref): all mass there, in proportion to πref.
    pi = px.gibbs_policy([0.1, 0.3, 0.2, 0.4], [np.inf, np.inf, -np.inf, 7.0], 3.0)
    np.testing.assert_allclose(pi, [0.25, 0.75, 0.0, 0.0], rtol=1e-15)
    # g = +∞ outside Supp(πref) is ignored.
    pi = px.gibbs_policy([0.5, 0.5, 0.0], [0.0, 0.0, np.inf], 3.0)
    np.testing.assert_allclose(pi, [0.5, 0.5, 0.0], rtol=1e-15)
    with pytest.raises(ValueError, match="no action has pi_ref > 0 and g > -inf"):
        px.gibbs_policy([0.5, 0.5, 0.0], [-np.inf, -np.inf, 1.0], 1.0)


def _mp_gibbs(pi_ref, g, tau):
    """log π and π of Eq. 7 in 50-digit arithmetic on the exact float inputs."""
    mpmath.mp.dps = 50
    t = mpmath.mpf(float(tau))
    exps = [mpmath.log(mpmath.mpf(float(r))) + mpmath.mpf(float(x)) / t if r > 0 else None
            for r, x in zip(pi_ref, g)]
    top = max(e for e in exps if e is not None)
    log_z = top + mpmath.log(mpmath.fsum(mpmath.exp(e - top) for e in exps if e is not None))
    logs = [None if e is None else e - log_z for e in exps]
    return logs, [mpmath.mpf(0) if lp is None else mpmath.exp(lp) for lp in logs]


def _mp_kl_terms(p, q):
    """Σ [p log(p/q) − p + q] in 50-digit arithmetic on the exact float inputs."""
    mpmath.mp.dps = 50
    total = mpmath.mpf(0)
    for a, b in zip(p, q):
        a, b = mpmath.mpf(float(a)), mpmath.mpf(float(b))
        total += (a * mpmath.log(a / b) if a > 0 else 0) - a + b
    return total


def _assert_gibbs_and_kl_accurate(pi_ref, g, tau):
    """Relative 1e-12 on every probability that is a normal float (> 1e-300); log π to
    relative 1e-12 (absolute 1e-12 when |log π| < 1); KL to relative 1e-12; no warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise"):
            log_pi = px.gibbs_log_policy(pi_ref, g, tau)
            pi = px.gibbs_policy(pi_ref, g, tau)
            kl = float(px.kl_divergence(pi, pi_ref))
    assert not np.isnan(log_pi).any() and not np.isnan(pi).any()
    ref_logs, ref_probs = _mp_gibbs(pi_ref, g, tau)
    for i, (lp, p) in enumerate(zip(ref_logs, ref_probs)):
        if lp is None:
            assert pi[i] == 0.0 and log_pi[i] == -np.inf
            continue
        assert abs(log_pi[i] - lp) <= 1e-12 * max(1.0, abs(float(lp))), (i, log_pi[i], lp)
        if p > mpmath.mpf("1e-300"):
            assert abs(pi[i] - p) <= 1e-12 * p, (i, pi[i], p)
        else:
            assert pi[i] <= 1e-299
    ref_kl = _mp_kl_terms(pi, pi_ref)
    assert abs(kl - ref_kl) <= 1e-12 * ref_kl, (kl, ref_kl)


TAU_GRID = [10.0**k for k in range(-9, 10)]
G_CASES = [
    np.array([1e6, -1e6, 0.0]),
    np.array([1e6, 1e6 - 1.0, 1e6 - 2.5]),
    np.array([-1e6, -1e6 + 1e-3, 3.0]),
    np.array([1.0, 1.0 + 1e-12, 1.0 - 1e-12]),
    np.array([0.0, 0.0, 0.0]),
]


@pytest.mark.parametrize("tau", TAU_GRID)
@pytest.mark.parametrize("case", range(len(G_CASES)))
def test_gibbs_and_kl_match_mpmath_on_extreme_grid(tau, case):
    """τ from 1e-9 to 1e9 and g up to ±1e6 against 50-digit mpmath (≥ 30 correct digits).

    ``kl_divergence`` is documented as Σ[p log(p/q) − p + q]; the reference computes that same
    expression on the same float inputs. The plain Σ p log(p/q) is not used: on floats,
    Σ p = 1 only to ~1e-16, and that normalisation noise enters Σ p log(p/q) at ~1e-16, which
    dwarfs the true KL of ~1e-20 at τ = 1e9; the −p + q terms cancel it exactly.
    """
    _assert_gibbs_and_kl_accurate(np.array([0.2, 0.3, 0.5]), G_CASES[case], tau)


@given(pst.probability_vectors(st.integers(2, 5)), st.data(), pst.taus(1e-9, 1e9))
def test_gibbs_and_kl_match_mpmath_property(pi_ref, data, tau):
    """Random πref, g ∈ [−1e6, 1e6] (with ties and small values), τ log-uniform on [1e-9, 1e9];
    same criteria as the grid test (normal floats > 1e-300 relative 1e-12)."""
    n = pi_ref.size
    elements = st.one_of(
        st.floats(-1e6, 1e6, allow_subnormal=False),
        st.floats(-1.0, 1.0, allow_subnormal=False),
        st.sampled_from([0.0, 1e6, -1e6]),
    )
    g = np.array(data.draw(st.lists(elements, min_size=n, max_size=n)))
    _assert_gibbs_and_kl_accurate(pi_ref, g, tau)


# ------------------------------------------------------------------- KL divergence


@given(pst.probability_vectors(st.integers(2, 6), full_support=False), st.data())
def test_kl_divergence_matches_scipy_rel_entr(p, data):
    q = data.draw(pst.probability_vectors(p.size))
    expected = rel_entr(p, q).sum()
    kl = px.kl_divergence(p, q)
    assert kl >= 0.0
    assert kl == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert px.kl_divergence(q, q) == 0.0


def test_kl_divergence_conventions():
    assert px.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2), rel=1e-15)
    assert px.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert px.kl_divergence([0.0, 1.0], [0.0, 1.0]) == 0.0
    batched = px.kl_divergence([[1.0, 0.0], [0.5, 0.5]], [0.5, 0.5])
    np.testing.assert_allclose(batched, [math.log(2), 0.0], rtol=1e-15, atol=0)


# ------------------------------------------------------ Eq. 6 and App. A.1 (Gibbs optimum)


@given(pst.preference_problems(st.integers(2, 5), deterministic=None), st.data())
def test_gibbs_policy_maximises_psipo_objective(problem, data):
    """Eq. 7 maximises Eq. 6: objective(π*) ≥ objective(π) for random policies π."""
    prefs, mu, pi_ref, tau = problem
    n = mu.size
    best = px.psipo_policy(prefs, mu, pi_ref, tau)
    top = float(px.psipo_objective(best, prefs, mu, pi_ref, tau))
    for full in (True, False):
        other = data.draw(pst.policies(n, full_support=full))
        value = float(px.psipo_objective(other, prefs, mu, pi_ref, tau))
        assert top >= value - 1e-12 * (1.0 + abs(top))
        # The gap is τ KL(π ‖ π*) (App. A.1), strictly positive unless π = π*.
        gap = tau * float(px.kl_divergence(other, best))
        assert top - value == pytest.approx(gap, rel=1e-7, abs=1e-11 * (1 + abs(top)))


@given(pst.probability_vectors(st.integers(2, 6)), st.data())
def test_app_a1_identity(eta, data):
    """App. A.1: L_τ(δ)/τ = −KL(δ ‖ δ*) + log Σ_s η(s) exp(f(s)/τ), δ* the Gibbs policy."""
    n = eta.size
    f = np.array(data.draw(st.lists(st.floats(-10, 10, allow_subnormal=False),
                                    min_size=n, max_size=n)))
    tau = data.draw(pst.taus(1e-2, 1e2))
    delta = data.draw(pst.policies(n, full_support=data.draw(st.booleans())))
    gibbs = px.gibbs_policy(eta, f, tau)
    # KL(δ‖δ*) is finite in exact arithmetic; it is only comparable in floats while no entry
    # of δ* underflows (f/τ spans at most ~700 there).
    assume(gibbs.min() > 1e-300)
    lhs = float(px.regularised_objective(delta, f, eta, tau)) / tau
    log_z = logsumexp(f / tau, b=eta)
    rhs = -float(px.kl_divergence(delta, gibbs)) + log_z
    scale = 1.0 + np.abs(f).max() / tau + abs(log_z)
    assert lhs == pytest.approx(rhs, rel=0, abs=1e-12 * scale)
    # Direct definition of L_τ (Eq. 3 form) by an explicit sum.
    direct = sum(d * (fi - tau * math.log(d / e)) for d, fi, e in zip(delta, f, eta) if d > 0)
    assert lhs * tau == pytest.approx(direct, rel=1e-10, abs=1e-12 * tau * scale)


@given(pst.rewards(st.integers(2, 5)), st.data())
def test_rlhf_policy_maximises_rlhf_objective(rewards, data):
    n = rewards.size
    pi_ref = data.draw(pst.policies(n))
    tau = data.draw(pst.taus(1e-2, 1e2))
    best = px.rlhf_policy(rewards, pi_ref, tau)
    other = data.draw(pst.policies(n, full_support=False))
    top, value = px.rlhf_objective(best, rewards, pi_ref, tau), px.rlhf_objective(
        other, rewards, pi_ref, tau)
    # J(π*) = τ log E_πref exp(r/τ) exactly.
    assert top == pytest.approx(tau * logsumexp(rewards / tau, b=pi_ref), rel=1e-10, abs=1e-12)
    assert top >= value - 1e-12 * (1 + abs(top))


def test_objective_infinite_values():
    """f = +∞ where π > 0 gives +∞; f = −∞ where π = 0 is harmless; ∞ − ∞ raises."""
    ref = _uniform(3)
    assert px.regularised_objective([0.5, 0.5, 0.0], [np.inf, 0.0, 1.0], ref, 1.0) == np.inf
    value = px.regularised_objective([0.5, 0.5, 0.0], [1.0, 3.0, -np.inf], ref, 1.0)
    assert value == pytest.approx(2.0 - math.log(1.5), rel=1e-14)
    undefined = r"the objective is undefined \(inf - inf\): pi puts mass on an action with f"
    with pytest.raises(ValueError, match=undefined + r" = \+inf and on one with f = -inf"):
        px.regularised_objective([0.5, 0.5, 0.0], [np.inf, -np.inf, 0.0], ref, 1.0)
    # +∞ reward against τ KL = +∞ (mass outside Supp(πref)) is ∞ − ∞ as well
    with pytest.raises(ValueError, match=undefined + r".* or outside Supp\(pi_ref\)"):
        px.regularised_objective([0.5, 0.5, 0.0], [np.inf, 0.0, 1.0], [0.0, 0.5, 0.5], 1.0)


# --------------------------------------------------------- broadcasting: contexts and τ


@given(pst.preference_problems(st.integers(2, 4), batch_shape=pst.batch_shapes(1, 3)),
       st.lists(pst.taus(1e-3, 1e3), min_size=1, max_size=4))
def test_psipo_policy_broadcasts_over_contexts_and_tau_grid(problem, tau_list):
    """A τ grid of shape (k, 1...) against contexts equals the per-(τ, context) loop."""
    prefs, mu, pi_ref, _ = problem
    lead = mu.shape[:-1]
    grid = np.array(tau_list).reshape((-1,) + (1,) * len(lead))
    for psi in ("identity", "logit"):
        out = px.psipo_policy(prefs, mu, pi_ref, grid, psi=psi)
        assert out.shape == (len(tau_list),) + mu.shape
        for k, tau in enumerate(tau_list):
            for idx in np.ndindex(*lead):
                single = px.psipo_policy(prefs[idx], mu[idx], pi_ref[idx], tau, psi=psi)
                np.testing.assert_allclose(out[(k,) + idx], single, rtol=1e-15, atol=0)


@given(pst.preference_problems(st.integers(2, 4), batch_shape=st.tuples(st.integers(1, 4))),
       st.data())
def test_objectives_with_contexts_equal_rho_weighted_loop(problem, data):
    """Eq. 3/6 with contexts: E_{x∼ρ} of the per-context objective; τ grids broadcast."""
    prefs, mu, pi_ref, tau = problem
    n_ctx, n = mu.shape
    rho = data.draw(pst.probability_vectors(n_ctx, full_support=False))
    pi = data.draw(pst.policies(n, batch_shape=(n_ctx,)))
    rewards = data.draw(pst.rewards(n, batch_shape=(n_ctx,)))
    taus = np.array([tau, 2 * tau])[:, None]
    psipo = px.psipo_objective(pi, prefs, mu, pi_ref, taus, psi="identity", rho=rho)
    rlhf = px.rlhf_objective(pi, rewards, pi_ref, taus, rho=rho)
    total = px.total_preference(pi, prefs, mu, rho=rho)
    assert psipo.shape == rlhf.shape == (2,)
    for k, t in enumerate((tau, 2 * tau)):
        per_ctx = [px.psipo_objective(pi[x], prefs[x], mu[x], pi_ref[x], t) for x in range(n_ctx)]
        assert psipo[k] == pytest.approx(np.dot(rho, per_ctx), rel=1e-12, abs=1e-12)
        per_ctx = [px.rlhf_objective(pi[x], rewards[x], pi_ref[x], t) for x in range(n_ctx)]
        assert rlhf[k] == pytest.approx(np.dot(rho, per_ctx), rel=1e-12, abs=1e-12)
    # The objective's two parts, computed from scratch: E_π[p(·≻µ)] − τ KL(π ‖ πref).
    against = np.einsum("xij,xj->xi", prefs, mu)
    explicit = [np.sum(pi[x] * against[x]) - tau * np.sum(pi[x] * np.log(pi[x] / pi_ref[x]))
                for x in range(n_ctx)]
    assert psipo[0] == pytest.approx(np.dot(rho, explicit), rel=1e-10, abs=1e-12)
    assert total == pytest.approx(np.dot(rho, (pi * against).sum(-1)), rel=1e-12)


# ------------------------------------------------------------------------ h_π (Sec. 5.1)


@given(pst.policies(st.integers(2, 5)), st.data())
def test_log_ratio_gap_definition(pi, data):
    pi_ref = data.draw(pst.policies(pi.size))
    h = px.log_ratio_gap(pi, pi_ref)
    for i in range(pi.size):
        for j in range(pi.size):
            expected = math.log(pi[i] * pi_ref[j] / (pi[j] * pi_ref[i]))
            assert h[i, j] == pytest.approx(expected, rel=1e-12, abs=1e-13)
    np.testing.assert_array_equal(h, -h.T)


# ---------------------------------------------------------------------------- bad input

GOOD = {
    "prefs": np.array([[0.5, 0.7, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]]),
    "mu": np.array([0.2, 0.3, 0.5]),
    "pi": np.array([0.1, 0.6, 0.3]),
    "pi_ref": np.array([0.3, 0.3, 0.4]),
    "p": np.array([0.1, 0.6, 0.3]),
    "q": np.array([0.3, 0.3, 0.4]),
    "g": np.array([0.1, -2.0, 3.0]),
    "f": np.array([0.1, -2.0, 3.0]),
    "rewards": np.array([0.1, -2.0, 3.0]),
    "tau": 0.5,
    "rho": None,
}

FUNCTIONS = {
    "preference_against": ("prefs", "mu"),
    "expected_psi": ("prefs", "mu", "psi"),
    "gibbs_policy": ("pi_ref", "g", "tau"),
    "gibbs_log_policy": ("pi_ref", "g", "tau"),
    "psipo_policy": ("prefs", "mu", "pi_ref", "tau", "psi"),
    "rlhf_policy": ("rewards", "pi_ref", "tau"),
    "kl_divergence": ("p", "q"),
    "regularised_objective": ("pi", "f", "pi_ref", "tau"),
    "psipo_objective": ("pi", "prefs", "mu", "pi_ref", "tau", "psi"),
    "rlhf_objective": ("pi", "rewards", "pi_ref", "tau"),
    "total_preference": ("pi", "prefs", "mu"),
    "log_ratio_gap": ("pi", "pi_ref"),
}

PROB_NAMES = ("mu", "pi", "pi_ref", "p", "q")


def _mismatch(name):
    """An action-count mismatch names the short argument, or the other one against it."""
    return rf"({re.escape(name)} has 2 actions.*expected 3|\w+ has 3 actions.*expected 2)"


def _corruptions(name):
    """(label, bad value, exception, message regex) for one argument name."""
    e = re.escape(name)
    if name == "prefs":
        return [
            ("not complementary", [[0.5, 0.9, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]],
             ValueError, r"prefs\[0, 1\] \+ prefs\[1, 0\] = 1\.2.*must equal 1"),
            ("above one", [[0.5, 1.3, 0.2], [-0.3, 0.5, 0.6], [0.8, 0.4, 0.5]],
             ValueError, r"prefs\[0, 1\] = 1\.3, must lie in \[0, 1\]"),
            ("not square", np.full((3, 2), 0.5), ValueError, r"prefs must have shape"),
            ("nan", [[0.5, np.nan, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]],
             ValueError, r"prefs\[0, 1\] is NaN"),
            ("vector", [0.5, 0.5, 0.5], ValueError, r"prefs must have at least 2 axes"),
            ("wrong size", np.full((2, 2), 0.5), ValueError, r"has 3 actions.*expected 2"),
        ]
    if name in PROB_NAMES:
        return [
            ("not normalised", [0.2, 0.3, 0.4], ValueError, e + r"\[:\] sums to 0\.9.*sum to 1"),
            ("negative", [1.1, -0.1, 0.0], ValueError, e + r"\[1\] = -0\.1, must be >= 0"),
            ("wrong length", [0.5, 0.5], ValueError, _mismatch(name)),
            ("nan", [0.5, np.nan, 0.5], ValueError, e + r"\[1\] is NaN"),
            ("infinite", [0.5, np.inf, 0.5], ValueError, e + r"\[1\] = inf, must be finite"),
            ("string", "uniform", TypeError, e + r" must be a numeric array"),
            ("scalar", 1.0, ValueError, e + r" must have at least 1 axes"),
        ]
    if name in ("g", "f", "rewards"):
        return [
            ("nan", [0.5, np.nan, 0.5], ValueError, e + r"\[1\] is NaN"),
            ("wrong length", [0.5, 0.5], ValueError, _mismatch(name)),
            ("complex", [1j, 0, 0], TypeError, e + r" must be real"),
        ]
    if name == "tau":
        return [
            ("zero", 0.0, ValueError, r"tau = 0\.0, must be > 0"),
            ("negative", -1.0, ValueError, r"tau = -1\.0, must be > 0"),
            ("nan", np.nan, ValueError, r"tau is NaN"),
            ("infinite", np.inf, ValueError, r"tau = inf, must be finite"),
            ("negative in grid", [1.0, -2.0], ValueError, r"tau\[1\] = -2\.0, must be > 0"),
            ("bad grid shape", np.ones(4), ValueError, r"do not broadcast.*tau \(4,\)"),
        ]
    if name == "psi":
        return [
            ("decreasing", lambda q: 1.0 - q, ValueError, r"psi is decreasing"),
            ("unknown name", "softmax", ValueError, r"psi = 'softmax', must be one of"),
            ("not callable", 3, TypeError, r"psi must be a name or a callable"),
            ("nan", lambda q: np.where(q > 0.5, np.nan, q), ValueError, r"psi\(.*\) is NaN"),
            ("raises", math.log, ValueError, r"psi failed on \[0, 1\].*math domain error"),
            ("complex", lambda q: q + 1j, ValueError, r"psi failed on \[0, 1\]"),
        ]
    raise AssertionError(name)


def _bad_cases():
    for fn_name, args in FUNCTIONS.items():
        for arg in args:
            for label, value, exc, match in _corruptions(arg):
                if label == "bad grid shape" and fn_name not in (
                    "gibbs_policy", "gibbs_log_policy", "psipo_policy", "rlhf_policy"
                ):
                    continue
                yield pytest.param(fn_name, args, arg, value, exc, match,
                                   id=f"{fn_name}-{arg}-{label}")


@pytest.mark.parametrize("fn_name, args, arg, value, exc, match", list(_bad_cases()))
def test_bad_input_raises_naming_argument(fn_name, args, arg, value, exc, match):
    kwargs = {a: GOOD[a] for a in args if a != "psi"}
    if "broadcast" in match:  # a τ grid of 4 against a batch of 2 problems
        kwargs = {a: np.stack([v, v]) if a in PROB_NAMES + ("g", "rewards") else v
                  for a, v in kwargs.items()}
    kwargs[arg] = value
    with pytest.raises(exc, match=match):
        getattr(px, fn_name)(**kwargs)


def test_good_inputs_are_accepted():
    """The baseline arguments of the bad-input table are valid for every function."""
    for fn_name, args in FUNCTIONS.items():
        kwargs = {a: GOOD[a] for a in args if a != "psi"}
        out = np.asarray(getattr(px, fn_name)(**kwargs))
        assert not np.isnan(out).any(), fn_name



def test_mismatched_shapes_name_the_arguments():
    """The error contract (ValueError naming the arguments, never numpy's own broadcast
    error): KL's leading shapes; total preference's action count against prefs."""
    with pytest.raises(ValueError, match=r"do not broadcast: p \(2,\), q \(3,\)"):
        px.kl_divergence(np.full((2, 3), 1 / 3), np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"pi has 3 actions.*expected 2, as prefs"):
        px.total_preference(np.full(3, 1 / 3), np.full((2, 2), 0.5), np.full(2, 1 / 2))

def test_rho_validation():
    args = (GOOD["pi"], GOOD["prefs"], GOOD["mu"], GOOD["pi_ref"], 1.0)
    pi2 = np.stack([GOOD["pi"]] * 2)
    with pytest.raises(ValueError, match=r"rho\[:\] sums to 0\.5"):
        px.psipo_objective(pi2, *args[1:], rho=[0.25, 0.25])
    with pytest.raises(ValueError, match=r"rho has shape \(3,\).*context axis"):
        px.psipo_objective(pi2, *args[1:], rho=[0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"rho\[0\] = -0\.5, must be >= 0"):
        px.total_preference(pi2, GOOD["prefs"], GOOD["mu"], rho=[-0.5, 1.5])


@given(pst.preference_matrices(st.integers(2, 4)), st.data())
def test_shared_prefs_broadcast_against_batched_mu_and_pi_ref(prefs, data):
    """One preference matrix against a batch of (µ, πref): equals the per-row loop."""
    n = prefs.shape[-1]
    mu = data.draw(pst.probability_vectors(n, batch_shape=(3,), full_support=False))
    pi_ref = data.draw(pst.probability_vectors(n, batch_shape=(3,)))
    tau = data.draw(pst.taus())
    g = px.expected_psi(prefs, mu, "logit")
    pi = px.psipo_policy(prefs, mu, pi_ref, tau, psi="identity")
    assert g.shape == pi.shape == (3, n)
    for b in range(3):
        np.testing.assert_allclose(g[b], _loop_g(prefs, mu[b], lambda q: math.log(q / (1 - q))),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(pi[b], px.psipo_policy(prefs, mu[b], pi_ref[b], tau),
                                   rtol=1e-15, atol=0)


def test_context_weights_zero_ignore_infinite_contexts():
    """E_{x∼ρ}: a context with ρ(x) = 0 does not count even if its value is ±∞ (0·∞ = 0, no
    NaN); +∞ in one weighted context and −∞ in another is undefined and raises."""
    pi = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    pi_ref = _uniform(3)
    f = np.array([[-np.inf, 0.0, 0.0], [0.0, 1.0, 0.0]])
    only_second = px.rlhf_objective(pi, f, pi_ref, 1.0, rho=[0.0, 1.0])
    assert only_second == pytest.approx(float(px.rlhf_objective(pi[1], f[1], pi_ref, 1.0)))
    assert px.rlhf_objective(pi, f, pi_ref, 1.0, rho=[0.5, 0.5]) == -np.inf
    clash = np.array([[np.inf, 0.0, 0.0], [-np.inf, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"expectation over rho is undefined"):
        px.rlhf_objective(pi, clash, pi_ref, 1.0, rho=[0.5, 0.5])


@pytest.mark.parametrize("taus, match", [
    ([0.1, 0.0], r"tau\[1\] = 0\.0, must be > 0"),
    ([np.nan], r"tau\[0\] is NaN"),
    ([1.0, np.inf], r"tau\[1\] = inf, must be finite"),
])
def test_closed_form_sweep_bad_taus(taus, match):
    with pytest.raises(ValueError, match=match):
        experiments.closed_form_sweep(taus)


# ------------------------------------------------- extreme τ and g: no overflow, no NaN


@pytest.mark.parametrize("pi_ref, g, tau, expected", [
    # g/τ overflows for both actions at the smallest subnormal τ: the larger g wins.
    ([0.3, 0.7], [1.0, 2.0], 5e-324, [0.0, 1.0]),
    ([0.7, 0.3], [2.0, 1.0], 5e-324, [1.0, 0.0]),
    # Ties in g at subnormal τ split by πref; so do ties at +∞.
    ([0.3, 0.7], [-1.7e308, -1.7e308], 5e-324, [0.3, 0.7]),
    ([0.3, 0.7, 0.0], [np.inf, np.inf, np.inf], 5e-324, [0.3, 0.7, 0.0]),
    ([0.2, 0.3, 0.5], [1.0, 1.0, 0.0], 1e-300, [0.4, 0.6, 0.0]),
    # Off Supp(πref), (g − g(y_k))/τ = +∞ meets log πref = −∞: still zero mass.
    ([0.5, 0.5, 0.0], [-1e300, -1e300, 0.0], 1e-300, [0.5, 0.5, 0.0]),
    # τ at the float maximum: πref exactly.
    ([0.3, 0.7], [1e6, -1e6], 1.7e308, [0.3, 0.7]),
])
def test_gibbs_extreme_tau_gives_exact_limits_without_warnings(pi_ref, g, tau, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pi = px.gibbs_policy(pi_ref, g, tau)
    np.testing.assert_allclose(pi, expected, rtol=1e-15, atol=0)


def test_gibbs_g_near_float_maximum_keeps_the_small_probability():
    """g = ±1e308 at τ = 1e306: g(y0) − g(y1) overflows, the exponents ±100 do not;
    π(y1) = 0.7 e^(−100) / (0.3 e^(100) + 0.7 e^(−100)) ≈ 3.2e-87, not 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_pi = px.gibbs_log_policy([0.3, 0.7], [1e308, -1e308], 1e306)
    mpmath.mp.dps = 50
    e0 = mpmath.log(mpmath.mpf(0.3)) + mpmath.mpf(1e308) / mpmath.mpf(1e306)
    e1 = mpmath.log(mpmath.mpf(0.7)) - mpmath.mpf(1e308) / mpmath.mpf(1e306)
    expected = e1 - mpmath.log(mpmath.exp(e0) + mpmath.exp(e1))
    assert abs(log_pi[1] - expected) <= 1e-12 * abs(expected)
    assert log_pi[0] == pytest.approx(-math.exp(float(e1 - e0)), rel=1e-12)


def test_objective_beyond_float_maximum_is_minus_infinity():
    """τ KL(π ‖ πref) > 1.8e308: the objective is −∞ (correctly rounded), not a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = px.regularised_objective([0.9, 0.1], [0.0, 0.0], [0.1, 0.9], 1.7e308)
    assert value == -np.inf


def test_log_ratio_gap_leading_shapes_must_broadcast():
    with pytest.raises(ValueError, match=r"do not broadcast: pi \(2,\), pi_ref \(3,\)"):
        px.log_ratio_gap(np.full((2, 2), 0.5), np.full((3, 2), 0.5))


@given(pst.probability_vectors(st.integers(1, 4), full_support=False, min_weight=1e-300),
       st.data(), st.one_of(st.floats(5e-324, 1.7e308), st.sampled_from([5e-324, 1.7e308])))
def test_gibbs_is_a_distribution_for_any_tau_and_g(pi_ref, data, tau):
    """Any τ > 0 (subnormal to the float maximum) and g in ℝ ∪ {±∞}: no warning, no NaN,
    sums to 1, zero off Supp(πref) ∩ {g > −∞}, and πref-proportional on {g = +∞} if that
    set meets the support (Sec. 4.2)."""
    n = pi_ref.size
    values = st.one_of(st.floats(allow_nan=False), st.sampled_from([0.0, 1e308, -1e308]))
    g = np.array(data.draw(st.lists(values, min_size=n, max_size=n)))
    support = (pi_ref > 0) & ~np.isneginf(g)
    assume(support.any())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pi = px.gibbs_policy(pi_ref, g, tau)
    assert not np.isnan(pi).any()
    assert abs(pi.sum() - 1.0) <= 1e-12
    assert (pi[~support] == 0).all()
    top = support & np.isposinf(g)
    if top.any():
        np.testing.assert_allclose(pi, np.where(top, pi_ref, 0.0) / pi_ref[top].sum(),
                                   rtol=1e-14, atol=0)


@given(hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-700, 700)))
def test_softmax_policy_is_the_softmax(logits):
    """π_θ = softmax(θ) (Sec. 5.4), against the textbook formula where it does not overflow."""
    z = np.exp(logits - logits.max())
    np.testing.assert_allclose(px.softmax_policy(logits), z / z.sum(), rtol=1e-12, atol=1e-300)


def test_softmax_policy_infinite_logits():
    np.testing.assert_array_equal(px.softmax_policy([0.0, -np.inf, 1.0])[1], 0.0)
    np.testing.assert_array_equal(px.softmax_policy([np.inf, 3.0, np.inf]), [0.5, 0.0, 0.5])
    with pytest.raises(ValueError, match="logits"):
        px.softmax_policy([0.0, np.nan])


def test_gibbs_policy_without_support_is_judged_problem_by_problem():
    # Eq. 7 needs some action with pi_ref > 0 and g > -inf in EACH problem of a batch: the
    # second problem has none, and the error names it (the first alone is fine).
    pi_ref = np.array([[.5, .5], [.5, .5]])
    g = np.array([[0.0, 1.0], [-np.inf, -np.inf]])
    with pytest.raises(ValueError, match=r"vanishes for every action at index \(1,\)"):
        px.gibbs_policy(pi_ref, g, 1.0)
    want = pi_ref[0] * np.exp(g[0])
    np.testing.assert_allclose(px.gibbs_policy(pi_ref[0], g[0], 1.0), want / want.sum())
