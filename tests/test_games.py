"""Tests of psipo_exact.games: the preference game, its certificate and the exact dynamics.

References are independent of the code under test: brute-force sums, the closed forms of
Eq. 7 in ``closed_form``, mpmath at 50 digits, finite differences of the package's Eq. 13
(``losses.ipo_population``), a textbook Adam loop, the published bounds (Nash-MD's Theorem 1
as recalled in ``games.nash_md``, Hedge's regret bound, the KL monotonicity of
multiplicative weights in zero-sum games) and hand derivations for the offline-vs-online
statements (README, "Preference games").
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import logit

import psipo_exact as px
from psipo_exact import games, losses
from psipo_exact import strategies as pst
from psipo_exact.games import _online_ipo_gradient, _sampled_gradient

RPS = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]])
HARD_RPS = np.array([[0.5, 1, 0], [0, 0.5, 1], [1, 0, 0.5]])
REF = np.array([0.5, 0.3, 0.2])


def _complete(upper):
    """Preference matrix from its strict upper triangle (lower = 1 − upper, diagonal ½)."""
    prefs = np.triu(upper, 1) + np.tril(1 - np.triu(upper, 1).T, -1)
    np.fill_diagonal(prefs, 0.5)
    return prefs


@st.composite
def game_problems(draw, n=st.integers(2, 5), zeros=False):
    size = draw(n)
    prefs = draw(pst.preference_matrices(size, deterministic=None))
    ref = draw(pst.probability_vectors(size, full_support=not zeros))
    return prefs, ref


# ------------------------------------------------------------------------------ the game


@given(game_problems(), st.data())
def test_preference_game_is_a_symmetric_constant_sum_game(problem, data):
    prefs, _ = problem
    n = len(prefs)
    pi = data.draw(pst.probability_vectors(n))
    pi2 = data.draw(pst.probability_vectors(n))
    brute = sum(pi[i] * prefs[i, j] * pi2[j] for i in range(n) for j in range(n))
    value = px.preference_game(pi, pi2, prefs)
    np.testing.assert_allclose(value, brute, rtol=1e-13)
    np.testing.assert_allclose(value + px.preference_game(pi2, pi, prefs), 1.0, rtol=1e-14)
    np.testing.assert_allclose(px.preference_game(pi, pi, prefs), 0.5, rtol=1e-14)


@given(game_problems(), pst.taus(1e-2, 1e2), st.data())
def test_exploitability_is_twice_the_best_response_gain(problem, tau, data):
    """gap = 2 (max_π′ P_τ(π′≻π) − ½); the maximiser is Eq. 7 with µ = π (psipo_policy), and
    no random π′ does better (regularised_game computes P_τ through kl_divergence)."""
    prefs, ref = problem
    pi = data.draw(pst.probability_vectors(len(ref)))
    br = games.best_response(pi, prefs, ref, tau)
    np.testing.assert_allclose(br, px.psipo_policy(prefs, pi, ref, tau), rtol=1e-12)
    best = games.regularised_game(br, pi, prefs, ref, tau)
    gap = px.exploitability(pi, prefs, ref, tau)
    np.testing.assert_allclose(gap, 2 * (best - 0.5), rtol=1e-8, atol=1e-14)
    other = data.draw(pst.probability_vectors(len(ref)))
    assert games.regularised_game(other, pi, prefs, ref, tau) <= best + 1e-14


def _mp_gap(pi, prefs, ref, tau):
    """2 (τ log Σ πref e^{p(y≻π)/τ} + τ KL(π‖πref) − ½) at 400 digits (the cancellation
    leaves gaps down to 1e-300 resolved)."""
    with mpmath.workdps(400):
        n = len(ref)
        p = [mpmath.mpf(float(x)) for x in pi]
        total = mpmath.fsum(p)
        p = [x / total for x in p]
        t = mpmath.mpf(float(tau))
        score = [mpmath.fsum(mpmath.mpf(float(prefs[i, j])) * p[j] for j in range(n))
                 for i in range(n)]
        log_z = mpmath.log(mpmath.fsum(mpmath.mpf(float(ref[i])) * mpmath.exp(score[i] / t)
                                       for i in range(n)))
        kl = mpmath.fsum(p[i] * mpmath.log(p[i] / mpmath.mpf(float(ref[i])))
                         for i in range(n) if p[i] > 0)
        return float(2 * (t * log_z + t * kl - mpmath.mpf(1) / 2))


@given(game_problems(n=st.integers(2, 4)), pst.taus(1e-3, 1e3), st.floats(1e-7, 1e-2))
@settings(max_examples=40)
def test_exploitability_matches_mpmath_near_the_equilibrium(problem, tau, size):
    """Relative accuracy 1e-6 for gaps far below ε (down to ~1e-200, a perturbed
    equilibrium): the form 2τ KL(π‖BR(π)) has no cancellation, unlike ``2 max P_τ − 1``."""
    prefs, ref = problem
    # dyadic preferences: prefs + prefsᵀ = 1 holds exactly in binary, so the duality gap
    # itself is defined to all digits (otherwise only to ~1e-17)
    prefs = _complete(np.triu(np.round(prefs * 1024) / 1024, 1))
    star = px.solve_nash(prefs, ref, tau).policy
    pi = star * np.exp(size * np.cos(np.arange(len(ref)) * 2.1))
    pi /= pi.sum()
    reference = _mp_gap(pi, prefs, ref, tau)
    np.testing.assert_allclose(px.exploitability(pi, prefs, ref, tau), reference, rtol=1e-6)


def test_exploitability_at_tau_zero_and_off_support():
    assert px.exploitability([1, 0, 0], HARD_RPS, None, 0.0) == 1.0
    np.testing.assert_allclose(px.exploitability(np.ones(3) / 3, HARD_RPS, None, 0.0), 0.0,
                               atol=1e-16)
    # restricted to Supp(πref) = {0, 1}: action 0 beats action 1, nothing beats action 0
    assert px.exploitability([1, 0, 0], HARD_RPS, [0.5, 0.5, 0], 0.0) == 0.0
    assert px.exploitability([0, 0, 1], HARD_RPS, [0.5, 0.5, 0], 0.0) == np.inf
    assert px.exploitability([0, 0, 1], HARD_RPS, [0.5, 0.5, 0], 0.1) == np.inf
    grid = px.exploitability(np.ones(3) / 3, RPS, REF, np.array([0.0, 0.1, 1.0]))
    assert grid.shape == (3,) and np.isfinite(grid).all()


def test_kl_from_logs_agrees_with_kl_divergence_and_handles_underflow():
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(5), 2)
    p[1] = 0.0
    p /= p.sum()
    log_p = np.log(np.where(p > 0, p, 1.0)) + np.where(p > 0, 0.0, -np.inf)
    np.testing.assert_allclose(games.kl_from_logs(log_p, np.log(q)), px.kl_divergence(p, q),
                               rtol=1e-13)
    # q underflows in probability space but not in log space
    log_q = np.array([0.0, -1e4])
    log_p = np.log([0.5, 0.5])
    expected = 0.5 * np.log(0.5) + 0.5 * (np.log(0.5) + 1e4)
    np.testing.assert_allclose(games.kl_from_logs(log_p, log_q), expected, rtol=1e-14)
    assert games.kl_from_logs(np.array([0.0, -np.inf]), np.array([-np.inf, 0.0])) == np.inf


def test_regularised_game_value_at_equilibrium_is_one_half_and_inf_minus_inf_raises():
    star = px.solve_nash(RPS, REF, 0.3).policy
    np.testing.assert_allclose(games.regularised_game(star, star, RPS, REF, 0.3), 0.5)
    with pytest.raises(ValueError, match="inf - inf"):
        games.regularised_game([0, 0, 1], [0, 0, 1], RPS, [0.5, 0.5, 0], 0.1)
    assert games.regularised_game([0, 0, 1], [1, 0, 0], RPS, [0.5, 0.5, 0], 0.1) == -np.inf


# ------------------------------------------------------------------------------ Nash-MD


@given(game_problems(), pst.taus(1e-2, 10.0), st.floats(0.01, 1.0), st.data())
def test_nash_md_step_is_the_mirror_descent_argmax(problem, tau, frac, data):
    """One step equals the plain probability-space formula of Munos et al.'s Nash-MD."""
    prefs, ref = problem
    eta = frac / tau
    pi = data.draw(pst.probability_vectors(len(ref)))
    run = games.nash_md(prefs, ref, tau, eta, 1, init=pi)
    mix = pi ** (1 - eta * tau) * ref ** (eta * tau)
    mix /= mix.sum()
    new = mix * np.exp(eta * (prefs @ mix))
    np.testing.assert_allclose(run.policies[-1], new / new.sum(), rtol=1e-12)


@given(game_problems(n=st.integers(2, 6)), pst.taus(1e-2, 10.0), st.floats(1e-3, 1.0),
       st.data())
def test_nash_md_theorem1_per_step_bound(problem, tau, frac, data):
    """Theorem 1 (as stated in games.nash_md):
    ``KL(π*‖π_{t+1}) ≤ (1 − ητ) KL(π*‖π_t) + 2η²`` along 30 exact steps."""
    prefs, ref = problem
    eta = frac / tau
    init = data.draw(pst.probability_vectors(len(ref)))
    star = px.solve_nash(prefs, ref, tau).policy
    kl = px.kl_divergence(star, games.nash_md(prefs, ref, tau, eta, 30, init=init).policies)
    assert (kl[1:] <= (1 - eta * tau) * kl[:-1] + 2 * eta**2 + 1e-14).all()


def test_nash_md_horizon_rate_is_faster_than_claimed():
    """η_T = log T/(τT): KL(π*‖π_T) is below the bound ``(1−η_Tτ)^T KL₀ + 2η_T/τ``
    (i.e. O(log T/T)), and the measured decay is ~T^-1.9: the constant-η floor is O(η²)
    in KL, not the O(η/τ) of the bound (see test below)."""
    rng = np.random.default_rng(2)
    prefs = _complete(np.triu(rng.random((5, 5)), 1))
    ref, tau = rng.dirichlet(np.ones(5)), 0.1
    init = np.full(5, 0.02)
    init[0] = 0.92
    horizons = np.array([100, 300, 1000, 3000, 10000])
    etas = np.log(horizons) / (tau * horizons)
    run = games.nash_md(prefs, ref, tau, etas, horizons.max(), init=init, record_every=100)
    star = px.solve_nash(prefs, ref, tau).policy
    kl = px.kl_divergence(star, run.policies)
    at_horizon = kl[np.arange(len(horizons)), np.searchsorted(run.steps, horizons)]
    kl0 = px.kl_divergence(star, init)
    bound = (1 - etas * tau) ** horizons * kl0 + 2 * etas / tau
    assert (at_horizon <= bound).all()
    slope = np.polyfit(np.log(horizons), np.log(at_horizon), 1)[0]
    assert -2.2 < slope < -1.5


def test_nash_md_constant_eta_floor_is_order_eta_squared():
    """Constant η: the last iterate settles O(η) from π* (KL O(η²)), far inside 2η/τ."""
    floors = []
    for eta in (0.4, 0.2, 0.1):
        run = games.nash_md(RPS, REF, 0.5, eta, 6000, record_every=6000)
        star = px.solve_nash(RPS, REF, 0.5).policy
        floors.append(float(px.kl_divergence(star, run.policies[-1])))
        assert floors[-1] <= 2 * eta / 0.5
    ratios = np.array(floors[:-1]) / np.array(floors[1:])
    assert ((ratios > 3.5) & (ratios < 4.5)).all()


@pytest.mark.parametrize("tau", [1e-6, 1e6])
def test_nash_md_log_space_extremes(tau):
    run = games.nash_md(HARD_RPS, [0.7, 0.2, 0.1], tau, 0.5 / tau, 50)
    assert np.isfinite(run.logits).all() and np.isfinite(run.exploitability).all()
    assert not np.isnan(run.policies).any()


# ------------------------------------------------------------------------------ online IPO


@given(game_problems(zeros=True), pst.taus(1e-2, 1e2), st.data())
def test_online_ipo_gradient_is_the_gradient_of_eq13_with_mu_fixed(problem, tau, data):
    """Central differences of ``losses.ipo_population`` (Eq. 13) in the logits, µ = π held."""
    prefs, ref = problem
    pi = data.draw(pst.probability_vectors(len(ref)))
    pi = np.where(ref > 0, pi, 0.0)
    pi /= pi.sum()
    log_pi = np.log(np.where(pi > 0, pi, 1.0)) + np.where(pi > 0, 0.0, -np.inf)
    grad = _online_ipo_gradient(log_pi, log_pi, np.log(np.where(ref > 0, ref, 1.0))
                                + np.where(ref > 0, 0.0, -np.inf), prefs - 0.5, np.array(tau))
    step = 1e-6
    for y in np.flatnonzero(pi > 0):
        plus, minus = log_pi.copy(), log_pi.copy()
        plus[y] += step
        minus[y] -= step
        up = losses.ipo_population(np.exp(plus) / np.exp(plus).sum(), prefs, pi, ref, tau)
        down = losses.ipo_population(np.exp(minus) / np.exp(minus).sum(), prefs, pi, ref, tau)
        scale = max(1.0, 1.0 / tau**2)
        np.testing.assert_allclose(grad[y], (up - down) / (2 * step), rtol=1e-5,
                                   atol=1e-6 * scale)


@given(pst.preference_matrices(st.integers(2, 5), deterministic=None), st.floats(0.3, 3.0),
       st.data())
@settings(max_examples=30)
def test_online_ipo_converges_to_the_regularised_nash_below_its_step_limit(prefs, tau, data):
    """Online IPO's fixed point is Eq. 7 with µ = π*: it reaches solve_nash's answer."""
    ref = data.draw(pst.probability_vectors(len(prefs), min_weight=0.1))
    star = px.solve_nash(prefs, ref, tau).policy
    eta = 0.5 * min(float(games.online_ipo_step_limit(star, prefs, tau)), 1.0)
    run = games.online_ipo(prefs, ref, tau, eta, 3000, record_every=3000)
    np.testing.assert_allclose(run.policies[-1], star, atol=1e-6)


@pytest.mark.parametrize("tau", [1.0, 0.3, 0.1])
def test_online_ipo_step_limit_separates_convergence_from_cycling(tau):
    star = px.solve_nash(RPS, REF, tau).policy
    limit = float(games.online_ipo_step_limit(star, RPS, tau))
    start = 0.999 * star + 0.001 / 3
    run = games.online_ipo(RPS, REF, tau, [0.8 * limit, 1.25 * limit], 4000, init=start)
    gap = run.exploitability
    assert gap[0, -1] < 1e-3 * gap[0, 0]  # converges
    assert gap[1, -1] > gap[1, 0]  # moves away: cycles or oscillates, does not converge


def test_online_ipo_step_limit_shrinks_like_tau_squared():
    ratios = []
    for tau in (1e-2, 3e-3, 1e-3, 3e-4):
        star = px.solve_nash(RPS, REF, tau).policy
        ratios.append(float(games.online_ipo_step_limit(star, RPS, tau)) / tau**2)
    ratios = np.array(ratios)
    assert np.all(np.abs(ratios[1:] / ratios[:-1] - 1) < 0.3)


def test_ipo_md_fixed_point_is_biased_towards_pi_ref():
    """β > 0: fixed point π = Gibbs(πref, p(·≻µ), τ) with µ ∝ π^{1−β} πref^β, not π*."""
    tau, beta = 0.2, 0.3
    run = games.online_ipo(RPS, REF, tau, 0.02, 20000, beta=beta, record_every=20000)
    pi = run.policies[-1]
    mu = pi ** (1 - beta) * REF**beta
    mu /= mu.sum()
    np.testing.assert_allclose(pi, px.psipo_policy(RPS, mu, REF, tau), atol=1e-10)
    assert px.exploitability(pi, RPS, REF, tau) > 1e-4


# ------------------------------------------------------------------------------ self-play


@given(pst.intransitive_preferences(st.sampled_from([3, 5]), kind="cyclic"),
       pst.probability_vectors(st.just(3)), st.floats(0.01, 1.0))
def test_self_play_last_iterate_drifts_away_from_the_interior_equilibrium(prefs, init, eta):
    """Multiplicative weights in a zero-sum game with an interior equilibrium: KL(π*‖π_t)
    never decreases (Bailey and Piliouras, 2018) — the last iterate cycles outwards."""
    n = len(prefs)
    init = np.resize(init, n)
    init /= init.sum()
    run = games.self_play(prefs, eta, 200, init=init)
    kl = px.kl_divergence(np.ones(n) / n, run.policies)
    assert (np.diff(kl) >= -1e-13).all()
    if prefs[0, 1] > 0.5 and not np.allclose(init, 1 / n):
        assert kl[-1] > kl[0]


@given(game_problems(n=st.integers(2, 6)), st.floats(0.01, 1.0))
def test_self_play_average_iterate_meets_the_hedge_regret_bound(problem, eta):
    """gap(π̄_T) = (2/T)·regret of Hedge ≤ 2 log n/(ηT) + η/4 (Freund and Schapire)."""
    prefs, _ = problem
    n = len(prefs)
    run = games.self_play(prefs, eta, 300)
    rounds = run.steps + 1
    assert (run.average_exploitability <= 2 * np.log(n) / (eta * rounds) + eta / 4 + 1e-12).all()


# ------------------------------------------------------------------------------ extragradient


@pytest.mark.parametrize("tau", [1.0, 0.1, 0.01])
def test_extragradient_converges_linearly_at_least_at_rate_one_minus_eta_tau(tau):
    eta = 1 / (tau + 1)
    run = games.extragradient(RPS, REF, tau, eta, int(40 / (eta * tau)))
    star = px.solve_nash(RPS, REF, tau).policy
    kl = px.kl_divergence(star, run.policies)
    tail = np.flatnonzero(kl > 1e-28)
    tail = tail[len(tail) // 2:]
    rate = np.exp(np.polyfit(tail, np.log(kl[tail]), 1)[0])
    assert rate <= 1 - eta * tau
    assert run.exploitability[-1] < 1e-12


# ------------------------------------------------------------------------------ sampled runs


def test_sampled_gradient_is_unbiased():
    """The mean of the sampled Eq. 17 gradient over pairs from π equals the exact online IPO
    gradient (Eq. 13 with µ = π), within 5 standard errors."""
    rng = np.random.default_rng(0)
    theta = np.log(np.array([[0.5, 0.2, 0.3]]))
    log_ref = np.log(REF)
    tau = np.array([0.7])
    batch, rounds = 4000, 50
    samples = np.stack([_sampled_gradient(theta, log_ref, RPS, tau, rng.random((1, batch, 3)),
                                          batch)[0] for _ in range(rounds)])
    exact = _online_ipo_gradient(theta - np.log(np.exp(theta).sum()), theta, log_ref,
                                 RPS - 0.5, tau)[0]
    error = samples.std(0) / np.sqrt(rounds)
    assert (np.abs(samples.mean(0) - exact) <= 5 * error + 1e-12).all()


def test_adam_on_the_exact_gradient_matches_a_textbook_adam_loop():
    taus = [0.5, 2.0]
    run = games.online_ipo_adam(RPS, REF, taus, [0], steps=300, batch_size=None, lr=0.05,
                                record_every=300)
    for i, tau in enumerate(taus):
        theta, m, v = np.log(REF), np.zeros(3), np.zeros(3)
        for t in range(1, 301):
            log_pi = theta - np.log(np.exp(theta).sum())
            g = _online_ipo_gradient(log_pi, log_pi, np.log(REF), RPS - 0.5, np.array(tau))
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            theta = theta - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        expected = np.exp(theta) / np.exp(theta).sum()
        np.testing.assert_allclose(run.policies[i, 0, -1], expected, rtol=1e-10)


def test_sampled_runs_are_reproducible_per_seed_and_end_near_the_equilibrium():
    both = games.online_ipo_adam(RPS, REF, [1.0], [3, 4], steps=3000, lr=0.02,
                                 record_every=1000)
    alone = games.online_ipo_adam(RPS, REF, [1.0], [4], steps=3000, lr=0.02,
                                  record_every=1000)
    np.testing.assert_array_equal(both.policies[:, 1], alone.policies[:, 0])
    star = px.solve_nash(RPS, REF, 1.0).policy
    assert np.abs(both.policies[0, :, -1] - star).max() < 0.05
    assert both.exploitability.shape == (1, 2, 4)


# ------------------------------------------------------------------------------ trajectories


def test_grid_of_tau_and_eta_and_read_only_arrays():
    taus, etas = np.array([0.5, 1.0])[:, None], np.array([0.1, 0.5, 1.0])[None, :]
    run = games.nash_md(RPS, REF, taus, etas, 20, record_every=5)
    assert run.policies.shape == (2, 3, 5, 3) and run.exploitability.shape == (2, 3, 5)
    assert run.steps.tolist() == [0, 5, 10, 15, 20]
    single = games.nash_md(RPS, REF, 1.0, 0.5, 20, record_every=5)
    np.testing.assert_allclose(run.policies[1, 1], single.policies, rtol=1e-14)
    assert not run.policies.flags.writeable
    assert run.average is None


def test_init_zeros_stay_zero_and_off_support_is_ignored():
    run = games.nash_md(RPS, [0.5, 0.5, 0.0], 0.5, 0.5, 10, init=[0.2, 0.0, 0.8])
    assert (run.policies[:, 1:] == 0).all()  # action 1: init 0; action 2: off Supp(πref)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("call, match", [
    (lambda: games.nash_md(RPS, REF, 0.5, 3.0, 10), r"eta \* tau = 1.5.*must be <= 1"),
    (lambda: games.nash_md(RPS, REF, 0.5, 0.0, 10), "eta = 0.0, must be > 0"),
    (lambda: games.nash_md(RPS, REF, -1.0, 0.1, 10), "tau = -1.0, must be > 0"),
    (lambda: games.nash_md(RPS, REF, 0.5, 0.1, 0), "steps = 0, must be >= 1"),
    (lambda: games.nash_md(RPS, REF, 0.5, 0.1, 5, beta=1.5), r"beta = 1.5, must be in \[0, 1\]"),
    (lambda: games.online_ipo(RPS, REF, 0.5, 0.1, 5, beta=1.0), r"beta = 1.0, must be in \[0, 1\)"),
    (lambda: games.nash_md(RPS, [0, 0, 1], 0.5, 0.1, 5, init=[0.5, 0.5, 0]),
     "init puts no mass on Supp"),
    (lambda: games.self_play([[0.5, 0.9], [0.2, 0.5]], 0.1, 5), r"prefs\[0, 1\] \+ prefs"),
    (lambda: games.extragradient(RPS, [0.5, 0.5], 0.5, 0.1, 5), "pi_ref has 2 actions"),
    (lambda: px.exploitability(REF, RPS, None, 0.5), "pi_ref is None"),
    (lambda: px.exploitability(REF, RPS, REF, -0.5), "tau = -0.5, must be >= 0"),
    (lambda: games.online_ipo_adam(RPS, REF, [1.0], [1, 1]), "distinct"),
    (lambda: games.online_ipo_adam(RPS, REF, [0.0], [1]), r"taus\[0\] = 0.0"),
    (lambda: games.online_ipo_adam(RPS, REF, [1.0], [1], lr=0.0), "lr = 0.0"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------------ offline vs online


@given(st.floats(0.01, 0.99), pst.probability_vectors(st.just(2)),
       pst.probability_vectors(st.just(2)), pst.taus(1e-2, 1e2))
def test_two_actions_offline_ipo_is_nash_for_any_mu_but_dpo_is_not(p, mu, ref, tau):
    """Derived: with 2 actions p(y₁≻µ) − p(y₂≻µ) = p − ½ for every µ, so offline IPO
    (any µ) equals the Nash equilibrium; DPO gives logit p instead of p − ½ (Prop. 4)."""
    prefs = np.array([[0.5, p], [1 - p, 0.5]])
    nash = px.solve_nash(prefs, ref, tau)
    ipo = px.solve_ipo_population(prefs, mu, ref, tau)
    np.testing.assert_allclose(ipo.policy, nash.policy, rtol=1e-12, atol=1e-300)
    dpo = px.solve_dpo_population(prefs, mu, ref, tau)
    gap = dpo.logits[0] - dpo.logits[1] - (np.log(ref[0]) - np.log(ref[1]))
    np.testing.assert_allclose(gap, logit(p) / tau, rtol=1e-9, atol=1e-9)


@given(pst.intransitive_preferences(st.sampled_from([3, 5, 7]), kind="cyclic"),
       pst.taus(1e-3, 1e3))
def test_cycle_with_uniform_ref_offline_ipo_dpo_and_nash_all_coincide(prefs, tau):
    """πref uniform is itself an equilibrium of the odd cycle (A πref = 0): offline IPO
    (µ = πref), DPO and the regularised Nash equilibrium are all πref, for every τ."""
    n = len(prefs)
    uniform = np.ones(n) / n
    for sol in (px.solve_nash(prefs, uniform, tau),
                px.solve_ipo_population(prefs, uniform, uniform, tau),
                px.solve_dpo_population(prefs, uniform, uniform, tau)):
        np.testing.assert_allclose(sol.policy, uniform, rtol=1e-9)


@given(pst.intransitive_preferences(st.integers(3, 5), kind="skew"),
       pst.probability_vectors(st.just(5)))
@settings(max_examples=40)
def test_offline_ipo_and_nash_agree_to_first_order_in_one_over_tau(prefs, ref):
    """Large τ: log π_IPO − log πref = p(·≻πref)/τ + c and log π* − log πref =
    p(·≻π*)/τ + c′ with π* = πref + O(1/τ), so they differ by O(1/τ²) while each moves
    O(1/τ) from πref; offline IPO is *not* Nash at finite τ (exploitability > 0)."""
    n = len(prefs)
    ref = np.resize(ref, n)
    ref /= ref.sum()
    against = (prefs - 0.5) @ ref
    assume(np.ptp(against) > 1e-3)  # else πref is itself the equilibrium (test above)
    diffs, moves = [], []
    for tau in (1e2, 1e3):
        ipo = px.solve_ipo_population(prefs, ref, ref, tau)
        nash = px.solve_nash(prefs, ref, tau)
        centred = lambda x: x - x.mean()  # noqa: E731
        diffs.append(np.abs(centred(ipo.logits - nash.logits)).max())
        moves.append(np.abs(centred(nash.logits - np.log(ref))).max())
    assert diffs[1] <= diffs[0] / 50 + 1e-13  # O(1/τ²): ×100 smaller
    assert moves[1] >= moves[0] / 20  # O(1/τ): ×10 smaller
    ipo = px.solve_ipo_population(prefs, ref, ref, 0.1).policy
    assert px.exploitability(ipo, prefs, ref, 0.1) > 0


def test_condorcet_limits_nash_picks_the_winner_offline_ipo_the_borda_winner():
    """τ → 0 with a Condorcet winner (action 0): the Nash equilibrium concentrates on it;
    offline IPO (µ = πref) on argmax p(y≻πref), here action 1, which loses to action 0;
    DPO on the top Bradley–Terry score of the fit, here action 1 too."""
    prefs = _complete(np.array([[0.0, 0.55, 0.55, 0.55],
                                              [0.0, 0.0, 1.0, 1.0],
                                              [0.0, 0.0, 0.0, 0.5],
                                              [0.0, 0.0, 0.0, 0.0]]))
    ref = np.ones(4) / 4
    tau = 1e-3
    assert px.solve_nash(prefs, ref, tau).policy[0] > 1 - 1e-12
    assert px.solve_nash(prefs, ref, 0.0).policy.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert px.solve_ipo_population(prefs, ref, ref, tau).policy[1] > 1 - 1e-12
    assert px.solve_dpo_population(prefs, ref, ref, tau).policy[1] > 1 - 1e-12


@given(pst.bradley_terry_preferences(st.integers(2, 5), scale=3.0))
def test_bradley_terry_all_three_select_the_top_reward_as_tau_goes_to_zero(model):
    """Under Bradley–Terry (transitive) preferences the Condorcet winner is argmax r, and
    p(y≻πref) is increasing in r(y): Nash, offline IPO and DPO (Prop. 1) agree as τ → 0."""
    rewards, prefs = model
    if np.sort(rewards)[-1] - np.sort(rewards)[-2] < 0.05:
        return  # near-ties: the limit needs τ far below the gap
    top = int(np.argmax(rewards))
    n = len(rewards)
    ref = np.ones(n) / n
    for sol in (px.solve_nash(prefs, ref, 1e-4), px.solve_ipo_population(prefs, ref, ref, 1e-4),
                px.solve_dpo_population(prefs, ref, ref, 1e-4)):
        assert sol.policy[top] > 0.99
    assert px.solve_nash(prefs, ref, 0.0).policy[top] == 1.0


@given(game_problems(zeros=True), pst.taus(1e-6, 1e6), st.floats(1e-3, 1.0), st.data())
@settings(max_examples=50)
def test_dynamics_never_return_nan(problem, tau, frac, data):
    """Every scheme, τ from 1e-6 to 1e6, step sizes up to their limit (ητ ≤ 1) and far above
    online IPO's stability limit: finite or +∞ exploitability, never NaN."""
    prefs, ref = problem
    init = data.draw(pst.probability_vectors(len(ref)))
    eta = frac / tau
    for run in (games.nash_md(prefs, ref, tau, eta, 20, init=init),
                games.extragradient(prefs, ref, tau, eta, 20, init=init),
                games.online_ipo(prefs, ref, tau, [1e-3, 1.0, 1e3], 20, init=init),
                games.self_play(prefs, eta, 20, init=init)):
        assert not np.isnan(run.policies).any() and not np.isnan(run.logits).any()
        assert not np.isnan(run.exploitability).any() and (run.exploitability >= 0).all()
