"""Tests of psipo_exact.solve_nash: the Nash equilibrium of the (regularised) preference game.

References are independent of the solver: Eq. 7 through ``closed_form`` (the fixed point
with µ = π*), the exploitability's own formula, mpmath at 50 digits (Newton on the fixed
point from scratch), brute-force vertex enumeration of the equilibrium polytope at τ = 0,
hand-derived closed forms (2 actions, the 3-cycle, clones) and scipy's SLSQP on the primal
KL-projection problem.
"""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import expit, logit

import psipo_exact as px
from psipo_exact import games
from psipo_exact import strategies as pst
from psipo_exact.closed_form import expected_psi, gibbs_log_policy
from psipo_exact.solvers.result import NOT_CONVERGED, OPTIMAL_SET, OPTIMUM

RPS = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]])


def _random_prefs(rng, n):
    upper = np.triu(rng.random((n, n)), 1)
    prefs = upper + np.tril(1 - upper.T, -1)
    np.fill_diagonal(prefs, 0.5)
    return prefs


@st.composite
def games_with_ref(draw, n=st.integers(2, 6), zeros=True):
    kind = draw(st.sampled_from(["any", "intransitive"]))
    size = draw(n)
    if kind == "intransitive" and size >= 3:
        prefs = draw(pst.intransitive_preferences(size))
    else:
        prefs = draw(pst.preference_matrices(size, deterministic=None))
    ref = draw(pst.probability_vectors(size, full_support=not zeros))
    return prefs, ref


# ------------------------------------------------------------------------------ τ > 0


@given(games_with_ref(), pst.taus(1e-3, 1e3))
def test_equilibrium_is_the_fixed_point_of_eq7_with_mu_pi_star(game, tau):
    """π* = Gibbs(πref, p(·≻π*), τ): Eq. 7 of Azar et al. with µ = π*, through closed_form."""
    prefs, ref = game
    sol = px.solve_nash(prefs, ref, tau)
    assert sol.status == OPTIMUM and sol.unique
    eq7 = gibbs_log_policy(ref, expected_psi(prefs, sol.policy), tau)
    support = ref > 0
    np.testing.assert_allclose(sol.logits[support], eq7[support], rtol=0, atol=1e-10)
    assert (sol.policy[~support] == 0).all() and np.isneginf(sol.logits[~support]).all()
    np.testing.assert_allclose(sol.policy, px.psipo_policy(prefs, sol.policy, ref, tau),
                               rtol=1e-9, atol=1e-300)


@given(games_with_ref(), pst.taus(1e-2, 1e2), st.data())
def test_no_unilateral_deviation_gains_more_than_the_certificate(game, tau, data):
    """``P_τ(π′≻π*) − ½ ≤ gap/2`` for random π′ and every pure action of Supp(πref)."""
    prefs, ref = game
    sol = px.solve_nash(prefs, ref, tau)
    assert sol.residual <= 1e-12
    support = np.flatnonzero(ref > 0)
    deviation = data.draw(pst.probability_vectors(prefs.shape[-1], full_support=False))
    deviation = np.where(ref > 0, deviation, 0.0)
    if deviation.sum() == 0:
        deviation[support[0]] = 1.0
    candidates = [deviation / deviation.sum()] + [np.eye(len(ref))[y] for y in support]
    for other in candidates:
        gain = games.regularised_game(other, sol.policy, prefs, ref, tau) - 0.5
        assert gain <= sol.residual / 2 + 1e-15


@given(games_with_ref(n=st.integers(2, 4), zeros=False), pst.taus(1e-3, 1e3))
@settings(max_examples=30)
def test_matches_mpmath_newton_at_50_digits(game, tau):
    """Newton on ``τ z = A π(z)`` in mpmath from z = 0, damped; the answer is compared in
    log space to 1e-12 (a path independent of the float solver and its continuation)."""
    prefs, ref = game
    sol = px.solve_nash(prefs, ref, tau)
    with mpmath.workdps(50):
        n = len(ref)
        A = mpmath.matrix([[mpmath.mpf(float(prefs[i, j])) - mpmath.mpf(1) / 2
                            for j in range(n)] for i in range(n)])
        log_ref = [mpmath.log(mpmath.mpf(float(r))) for r in ref]
        t = mpmath.mpf(float(tau))

        def policy(z):
            w = [mpmath.exp(log_ref[i] + z[i]) for i in range(n)]
            total = mpmath.fsum(w)
            return [x / total for x in w]

        def residual(z):
            p = policy(z)
            return [t * z[i] - mpmath.fsum(A[i, j] * p[j] for j in range(n)) for i in range(n)]

        # start from the float answer's scores z = A π / τ, then polish with Newton
        z = mpmath.matrix([mpmath.mpf(float(v)) for v in (prefs - 0.5) @ sol.policy / tau])
        for _ in range(60):
            f = mpmath.matrix(residual(z))
            if mpmath.norm(f) < mpmath.mpf(10) ** -45:
                break
            p = policy(z)
            jac = mpmath.matrix(n, n)
            for i in range(n):
                for j in range(n):
                    cov = (p[j] if i == j else 0) - p[j] * p[i]
                    jac[i, j] = (t if i == j else 0) - mpmath.fsum(
                        A[i, k] * ((p[k] if k == j else 0) - p[k] * p[j]) for k in range(n))
                    del cov
            z = z - mpmath.lu_solve(jac, f)
        p = policy(z)
        reference = np.array([float(mpmath.log(x)) for x in p])
    # logits up to ~1/τ in size: a few ulps of the largest one
    scale = max(1.0, float(np.abs(reference).max()))
    np.testing.assert_allclose(sol.logits, reference, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("tau", [1e-6, 1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6])
@pytest.mark.parametrize("n", [3, 8, 40])
def test_extreme_tau_converges_with_certificate(tau, n):
    """τ from 1e-6 to 1e6: converged, certificate ≤ 1e-12, finite logits on Supp(πref)."""
    rng = np.random.default_rng(n)
    prefs = _random_prefs(rng, n)
    ref = rng.dirichlet(np.ones(n))
    ref[0] = 0.0
    ref /= ref.sum()
    sol = px.solve_nash(prefs, ref, tau)
    assert sol.status == OPTIMUM, sol.message
    assert sol.residual <= 1e-12
    assert np.isfinite(sol.logits[1:]).all() and sol.policy[0] == 0
    assert not np.isnan(sol.policy).any()
    # certificate recomputed through the public function agrees
    assert float(px.exploitability(sol.policy, prefs, ref, tau)) <= 1e-12


def test_pi_ref_zeros_equal_the_restricted_game():
    """The equilibrium lives on Supp(πref): solving the game restricted to it gives the same."""
    rng = np.random.default_rng(3)
    prefs = _random_prefs(rng, 6)
    ref = np.array([0.2, 0.0, 0.3, 0.0, 0.4, 0.1])
    keep = ref > 0
    for tau in (0.01, 1.0):
        full = px.solve_nash(prefs, ref, tau)
        small = px.solve_nash(prefs[np.ix_(keep, keep)], ref[keep], tau)
        np.testing.assert_allclose(full.policy[keep], small.policy, rtol=1e-12)
        assert (full.policy[~keep] == 0).all()


@given(st.floats(0.01, 0.99), st.floats(0.01, 0.99), pst.taus(1e-4, 1e4))
def test_two_actions_closed_form(p, r, tau):
    """Hand derivation: A π = (p − ½)(1 − x, −x) gives ``logit x = logit r + (p − ½)/τ``."""
    prefs = np.array([[0.5, p], [1 - p, 0.5]])
    sol = px.solve_nash(prefs, [r, 1 - r], tau)
    expected = logit(r) + (p - 0.5) / tau
    np.testing.assert_allclose(sol.logits[0] - sol.logits[1], expected, rtol=1e-12, atol=1e-12)


@given(st.floats(0.0, 1.0), pst.taus(1e-6, 1e6))
def test_symmetric_three_cycle_with_uniform_ref_is_uniform_for_every_tau(p, tau):
    """Derived: A·(1/3) = 0 for the symmetric 3-cycle, so uniform is the fixed point."""
    prefs = np.array([[0.5, p, 1 - p], [1 - p, 0.5, p], [p, 1 - p, 0.5]])
    sol = px.solve_nash(prefs, np.full(3, 1 / 3), tau)
    np.testing.assert_allclose(sol.policy, np.full(3, 1 / 3), rtol=1e-14)


def test_grid_of_tau_and_contexts():
    """τ grid over two problems (τ rule), including τ = 0 entries."""
    prefs = np.stack([RPS, RPS.T])
    ref = np.array([0.5, 0.3, 0.2])
    taus = np.array([0.0, 0.1, 10.0])[:, None]
    grid = px.solve_nash(prefs, ref, taus)
    assert grid.policy.shape == (3, 2, 3)
    for i, tau in enumerate(taus[:, 0]):
        for k in range(2):
            one = px.solve_nash(prefs[k], ref, tau)
            np.testing.assert_allclose(grid.policy[i, k], one.policy, rtol=1e-12, atol=1e-300)



def test_two_leading_axes_of_prefs_equal_single_solves():
    """prefs with two leading axes (3 × 2 problems; τ rule with a 0/> 0 mix): every problem
    of the batch is the equilibrium solved alone, and at τ = 0 the 3-cycle's closed form
    ``π ∝ (c, b, a)`` of ``A = [[0, a, −b], [−a, 0, c], [b, −c, 0]]``."""
    rng = np.random.default_rng(7)
    prefs = np.stack([np.stack([RPS, _random_prefs(rng, 3)]), np.stack([RPS.T, RPS]),
                      np.stack([_random_prefs(rng, 3), RPS.T])])
    ref = np.array([0.5, 0.3, 0.2])
    taus = np.array([[0.0, 0.3], [2.0, 0.0], [1.0, 0.05]])
    grid = px.solve_nash(prefs, ref, taus)
    assert grid.policy.shape == (3, 2, 3)
    for i, k in itertools.product(range(3), range(2)):
        one = px.solve_nash(prefs[i, k], ref, taus[i, k])
        np.testing.assert_allclose(grid.policy[i, k], one.policy, rtol=1e-12, atol=1e-300)
    a, b, c = RPS[0, 1] - 0.5, RPS[2, 0] - 0.5, RPS[1, 2] - 0.5
    np.testing.assert_allclose(grid.policy[1, 1], np.array([c, b, a]) / (a + b + c),
                               atol=1e-14)


@pytest.mark.parametrize("y", [0, 1, 2])
def test_tau_zero_reports_the_mass_ranges_of_a_clone_pair(y):
    """RPS's unique equilibrium is (0.3, 0.3, 0.4) (A π = 0 by hand); with action y cloned,
    the equilibria put any split of that mass m on the pair: each of the two ranges over
    [0, m], which the message reports."""
    m = [0.3, 0.3, 0.4][y]
    sol = px.solve_nash(_with_clone(RPS, y), np.full(4, 0.25), 0.0)
    assert sol.status == OPTIMAL_SET
    for action in (y, 3):
        assert f"{action}: [0, {m:.3g}]" in sol.message, sol.message


def test_not_converged_is_reported():
    sol = px.solve_nash(_random_prefs(np.random.default_rng(0), 20), np.ones(20) / 20, 1e-6,
                        max_iter=2)
    assert sol.status == NOT_CONVERGED and "max_iter" in sol.message
    assert np.isfinite(sol.policy).all()


# ------------------------------------------------------------------------------ τ = 0


def _vertices(prefs, ref):
    """Brute force: every basic solution of ``{π ≥ 0, Σπ = 1, Aπ ≤ 0}`` on Supp(πref)."""
    support = np.flatnonzero(ref > 0)
    A = prefs[np.ix_(support, support)] - 0.5
    k = len(support)
    rows = np.vstack([np.eye(k), A])  # active constraints: π_y = 0 or (Aπ)_y = 0
    found = []
    for active in itertools.combinations(range(2 * k), k - 1):
        system = np.vstack([rows[list(active)], np.ones(k)])
        if abs(np.linalg.det(system)) < 1e-12:
            continue
        x = np.linalg.solve(system, np.r_[np.zeros(k - 1), 1.0])
        if (x >= -1e-12).all() and (A @ x <= 1e-12).all():
            full = np.zeros(len(ref))
            full[support] = np.clip(x, 0, None)
            found.append(full)
    return np.array(found)


@given(games_with_ref(n=st.integers(2, 5)))
@settings(max_examples=60)
def test_tau_zero_against_vertex_enumeration(game):
    """The returned π is an equilibrium; ``unique``/``free`` match the brute-force ranges of
    each action's mass over the polytope's vertices; the value is ½."""
    prefs, ref = game
    sol = px.solve_nash(prefs, ref, 0.0)
    vertices = _vertices(prefs, ref)
    low, high = vertices.min(0), vertices.max(0)
    varying = high - low > 1e-7
    assert sol.unique == (not varying.any())
    assert {g[0] for g in sol.free} == set(np.flatnonzero(varying).tolist())
    support = ref > 0
    # an equilibrium of the game on Supp(πref), guaranteeing the value ½
    assert np.max(((prefs - 0.5) @ sol.policy)[support]) <= 1e-12
    assert abs(np.min((sol.policy @ prefs)[support]) - 0.5) <= 1e-12
    assert sol.residual <= 1e-12
    if sol.unique:
        np.testing.assert_allclose(sol.policy, vertices[0], atol=1e-9)
    assert "game value 0.5" in sol.message


@given(pst.intransitive_preferences(st.integers(3, 6), kind="condorcet"))
def test_condorcet_winner_is_the_pure_equilibrium(prefs):
    winner = int(np.flatnonzero((prefs > 0.5).sum(-1) == len(prefs) - 1)[0])
    n = len(prefs)
    sol = px.solve_nash(prefs, np.ones(n) / n, 0.0)
    assert sol.unique and sol.policy[winner] == 1.0
    small = px.solve_nash(prefs, np.ones(n) / n, 1e-4)
    assert small.policy[winner] > 0.999


@given(pst.intransitive_preferences(st.sampled_from([3, 5, 7]), kind="cyclic"))
def test_odd_cycle_unique_uniform_equilibrium(prefs):
    n = len(prefs)
    sol = px.solve_nash(prefs, np.ones(n) / n, 0.0)
    assert sol.unique
    np.testing.assert_allclose(sol.policy, np.ones(n) / n, atol=1e-14)


def _with_clone(prefs, y):
    """Duplicate action y (the copy ties with it and plays exactly like it)."""
    idx = np.r_[np.arange(len(prefs)), y]
    cloned = prefs[np.ix_(idx, idx)].copy()
    cloned[y, -1] = cloned[-1, y] = 0.5
    return cloned


def _kl_projection(prefs, ref):
    """Reference: ``argmin_{π ∈ E} KL(π‖πref)`` over the convex hull of E's brute-force
    vertices, ``π = Vᵀw`` with w in the simplex, by SLSQP with exact gradients."""
    vertices = _vertices(prefs, ref)

    def kl(w):
        p = vertices.T @ w
        live = p > 0
        terms = np.where(live, p * np.log(np.where(live, p, 1.0) / ref), 0.0)
        grad = vertices @ np.where(live, np.log(np.where(live, p, 1.0) / ref) + 1, -700.0)
        return float(terms.sum()), grad

    m = len(vertices)
    cons = [{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(m)}]
    fit = minimize(kl, np.ones(m) / m, jac=True, method="SLSQP", bounds=[(0, 1)] * m,
                   constraints=cons, options={"ftol": 1e-16, "maxiter": 1000})
    return vertices.T @ fit.x


@given(st.integers(0, 2), pst.probability_vectors(4))
def test_tau_zero_selects_the_kl_projection_on_clones(y, ref):
    """Clone an action of RPS: the equilibria spread the clone pair's mass freely; the
    returned one splits it as πref does (the KL-projection), like every π*_τ."""
    prefs = _with_clone(RPS, y)
    sol = px.solve_nash(prefs, ref, 0.0)
    assert sol.status == OPTIMAL_SET
    assert {g[0] for g in sol.free} == {y, 3}
    pair = sol.policy[y] + sol.policy[3]
    np.testing.assert_allclose(pair, [0.3, 0.3, 0.4][y], atol=1e-12)
    np.testing.assert_allclose(sol.policy[y] / sol.policy[3], ref[y] / ref[3], rtol=1e-10)
    np.testing.assert_allclose(sol.policy, _kl_projection(prefs, ref), atol=1e-6)
    for tau in (1.0, 1e-3):
        reg = px.solve_nash(prefs, ref, tau).policy
        np.testing.assert_allclose(reg[y] / reg[3], ref[y] / ref[3], rtol=1e-10)


@st.composite
def _non_unique_games(draw):
    """Random games with a tied block or a clone (equilibria typically not unique)."""
    n = draw(st.integers(3, 5))
    prefs = draw(pst.preference_matrices(n))
    if draw(st.booleans()):
        prefs = _with_clone(prefs, draw(st.integers(0, n - 1)))
    else:
        block = draw(st.integers(2, n))
        prefs[:block, :block] = 0.5
    ref = draw(pst.probability_vectors(prefs.shape[-1]))
    return prefs, ref


@given(_non_unique_games())
@settings(max_examples=40)
def test_regularised_equilibria_never_beat_the_kl_projection_and_converge_to_it(game):
    """Derived (solvers/nash.py docstring): ``KL(π*_τ‖πref) ≤ min_E KL(·‖πref)`` for every
    τ > 0, and π*_τ → the KL-projection as τ → 0 (at rate O(τ) here)."""
    prefs, ref = game
    limit = px.solve_nash(prefs, ref, 0.0)
    kl_limit = float(px.kl_divergence(limit.policy, ref))
    for tau in (10.0, 1.0, 0.1, 1e-2, 1e-3):
        reg = px.solve_nash(prefs, ref, tau).policy
        assert float(px.kl_divergence(reg, ref)) <= kl_limit + 1e-12
    close = px.solve_nash(prefs, ref, 1e-6).policy
    assert np.abs(close - limit.policy).max() <= 1e-4
    np.testing.assert_allclose(limit.policy, _kl_projection(prefs, ref), atol=1e-5)


def test_all_ties_every_policy_is_an_equilibrium_and_pi_ref_is_selected():
    ref = np.array([0.2, 0.3, 0.5])
    sol = px.solve_nash(np.full((3, 3), 0.5), ref, 0.0)
    assert sol.status == OPTIMAL_SET and sol.free == ((0,), (1,), (2,))
    np.testing.assert_allclose(sol.policy, ref, rtol=1e-12)


def test_default_max_iter_is_the_documented_200():
    """The docstring's ``max_iter`` default, 200: at τ = 1e-100 the continuation from τ = 1
    needs more levels than that (a factor ≤ 10 per level), so the cap binds and the default
    call is the explicit ``max_iter=200`` call; the policy is still RPS's unique
    equilibrium (0.3, 0.3, 0.4) (A π = 0 by hand), the τ → 0 limit, to rounding."""
    ref = np.array([0.6, 0.3, 0.1])
    default = px.solve_nash(RPS, ref, 1e-100)
    explicit = px.solve_nash(RPS, ref, 1e-100, max_iter=200)
    assert default.message == explicit.message
    np.testing.assert_array_equal(default.policy, explicit.policy)
    np.testing.assert_allclose(default.policy, [0.3, 0.3, 0.4], atol=1e-14)


# Integer rock–paper–scissors A = prefs − ½ (A π = 0 by hand: π = (3, 3, 4)/10).
_RPS_INT = np.array([[0.0, 4.0, -3.0], [-4.0, 0.0, 3.0], [3.0, -3.0, 0.0]])


@pytest.mark.parametrize("k", [3, 20, 26, 33, 45])
def test_tau_zero_equilibria_do_not_depend_on_the_scale_of_the_game(k):
    """E = {π ∈ Δ: Aπ ≤ 0} is unchanged by a factor 2^-k on A (prefs = ½ + 2^-k A, exact in
    floating point): the unique equilibrium (0.3, 0.3, 0.4) for every k, also for nearly
    indifferent preferences (once: HiGHS failed or saw a polytope for k ≥ 20)."""
    sol = px.solve_nash(0.5 + 2.0 ** -k * _RPS_INT, [0.5, 0.3, 0.2], 0.0)
    assert sol.status == OPTIMUM, sol.message
    np.testing.assert_allclose(sol.policy, [0.3, 0.3, 0.4], atol=1e-15)
    assert sol.residual <= 1e-15 * 2.0 ** -k
    assert "game value 0.5, unique equilibrium on actions [0, 1, 2]" in sol.message


@pytest.mark.parametrize("i, j", [(0, 1), (1, 0), (0, 2)])
@pytest.mark.parametrize("defect", [5e-10, -5e-10, 9e-10])
def test_tau_zero_prefs_complementary_within_the_tolerance(i, j, defect):
    """prefs is validated complementary to 1e-9 only; τ = 0 solves the game of its exactly
    complementary part ½ + (P − Pᵀ)/2, here a 3-cycle whose unique equilibrium solves
    A π = 0, Σ π = 1 (two rows of A suffice): returned to rounding, with the exploitability
    in the given prefs of the order of the defect; never an infeasible LP (once a
    RuntimeError for a defect > 0)."""
    prefs = 0.5 + 2.0 ** -20 * _RPS_INT  # nearly indifferent: the defect is 1e-3 relative
    prefs[i, j] += defect
    sol = px.solve_nash(prefs, np.ones(3) / 3, 0.0)
    part = 0.5 + (prefs - prefs.T) / 2
    exact = np.linalg.solve(np.vstack([(part - 0.5)[:2], np.ones(3)]), [0.0, 0.0, 1.0])
    assert sol.status == OPTIMUM, sol.message
    np.testing.assert_allclose(sol.policy, exact, atol=1e-15)
    assert sol.residual <= 2 * abs(defect)


@pytest.mark.parametrize("delta", [1e-5, 1e-7, 1e-8])
def test_tau_zero_near_clone_that_loses_to_its_original_is_in_no_equilibrium(delta):
    """RPS with a copy 3 of action 2 that loses to 2 by δ: if π(3) > 0 then (Aπ)_3 = 0,
    so (Aπ)_2 = (Aπ)_3 + δ(π_2 + π_3) > 0, no equilibrium; hence the unique equilibrium is
    RPS's (0.3, 0.3, 0.4) with π(3) = 0 (where (Aπ)_3 = −0.4δ < 0), however small δ is
    above the LPs' tolerances; the message names the support {0, 1, 2}. (Once HiGHS
    judged the degenerate polytope infeasible at δ = 1e-7.)"""
    prefs = _with_clone(RPS, 2)
    prefs[2, 3], prefs[3, 2] = 0.5 + delta, 0.5 - delta
    sol = px.solve_nash(prefs, [0.1, 0.2, 0.3, 0.4], 0.0)
    assert sol.status == OPTIMUM and sol.unique, sol.message
    np.testing.assert_allclose(sol.policy, [0.3, 0.3, 0.4, 0.0], atol=1e-15)
    assert sol.policy[3] == 0.0 and sol.residual <= 1e-15
    assert "unique equilibrium on actions [0, 1, 2];" in sol.message + ";"


@pytest.mark.parametrize("ref", [[0.071, 0.041, 0.007, 0.753, 0.128], [0.2] * 5,
                                 [0.05, 0.05, 0.1, 0.3, 0.5]])
def test_tau_zero_splits_a_block_of_three_clones_as_pi_ref(ref):
    """Actions a, b, c with p(a≻b) = 0.45, p(a≻c) = 0.75, p(b≻c) = 0.1: A π = 0 by hand
    gives the unique equilibrium (8, 5, 1)/14. With c played by three clones (2, 3, 4), E
    is every split of the mass 1/14 among them (each ranges over [0, 1/14]); the KL
    projection of πref splits it in proportion to πref (minimise Σ w log(w/πref) on
    Σ w = 1/14), and the message says which equilibrium was returned."""
    base = np.array([[0.5, 0.45, 0.75], [0.55, 0.5, 0.1], [0.25, 0.9, 0.5]])
    prefs = base[np.ix_([0, 1, 2, 2, 2], [0, 1, 2, 2, 2])]
    ref = np.array(ref) / np.sum(ref)
    sol = px.solve_nash(prefs, ref, 0.0)
    block = ref[2:] / ref[2:].sum() / 14
    np.testing.assert_allclose(sol.policy, np.r_[8 / 14, 5 / 14, block], atol=1e-14)
    assert sol.status == OPTIMAL_SET and sol.free == ((2,), (3,), (4,))
    assert "mass ranges 2: [0, 0.0714], 3: [0, 0.0714], 4: [0, 0.0714]" in sol.message
    assert "returned the equilibrium closest to pi_ref in KL, the tau -> 0 limit" in sol.message


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("kwargs, match", [
    (dict(prefs=[[0.5, 0.7], [0.4, 0.5]]), r"prefs\[0, 1\] \+ prefs\[1, 0\]"),
    (dict(tau=-0.1), r"tau = -0.1, must be >= 0"),
    (dict(tau=np.nan), "tau is NaN"),
    (dict(tau=np.inf), "tau = inf, must be finite"),
    (dict(pi_ref=[0.5, 0.6]), r"pi_ref\[:\] sums to"),
    (dict(pi_ref=[1.0, 0.0, 0.0]), "pi_ref has 3 actions"),
    (dict(max_iter=0), "max_iter = 0, must be >= 1"),
])
def test_bad_input_names_the_argument(kwargs, match):
    args = dict(prefs=[[0.5, 0.7], [0.3, 0.5]], pi_ref=[0.5, 0.5], tau=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        px.solve_nash(**args)


def test_deterministic_preferences_do_not_give_nan():
    """p ∈ {0, 1} (rock–paper–scissors exactly) at every τ and τ = 0."""
    rps = np.array([[0.5, 1, 0], [0, 0.5, 1], [1, 0, 0.5]])
    for tau in (0.0, 1e-6, 1.0, 1e6):
        sol = px.solve_nash(rps, [0.7, 0.2, 0.1], tau)
        assert np.isfinite(sol.policy).all() and sol.residual <= 1e-12


def test_two_action_limits_against_sigmoid():
    """As τ → 0 with p > ½ the first action takes all the mass (and τ = 0 says so)."""
    prefs = np.array([[0.5, 0.6], [0.4, 0.5]])
    assert px.solve_nash(prefs, [0.5, 0.5], 0.0).policy.tolist() == [1.0, 0.0]
    small = px.solve_nash(prefs, [0.5, 0.5], 1e-3).policy[0]
    np.testing.assert_allclose(small, expit(0.1 / 1e-3), rtol=1e-14)
