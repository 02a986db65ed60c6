"""Tests of solve_pairwise_empirical / solve_pairwise_population: the loss family's optima.

Oracles, each independent of the code path it checks: the paper's solvers (DPO through the
Bradley–Terry fit, IPO through the Laplacian), the equivalence theorems written as data or
preference transformations, reward fits by scipy's BFGS, the dual linear program of the hinge
loss, SLSQP projections, the transitive closure of the beats-digraph, subset enumeration for
the robust loss's boundedness, and multi-start L-BFGS-B brute force over the logits (n ≤ 4,
many random datasets).
"""

from __future__ import annotations

import itertools
import zlib
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.optimize import linprog, minimize, minimize_scalar

import psipo_exact as px
from psipo_exact import losses
from psipo_exact import strategies as pst
from psipo_exact.solvers import _face, _least_distance, _margin
from psipo_exact.solvers.result import (
    LIMIT,
    LIMIT_SET,
    NOT_CONVERGED,
    OPTIMAL_SET,
    OPTIMUM,
    STATIONARY,
    UNBOUNDED,
)

CONVEX = ("sigmoid", "cdpo", "robust", "exponential", "squared", "ipo", "truncated_quadratic",
          "hinge")
EXACT_STATUSES = (OPTIMUM, OPTIMAL_SET, LIMIT, LIMIT_SET)


def _moderate(prefs) -> bool:
    """Preferences 0, 1 or within [1e-6, 1 − 1e-6]: the Newton fits stop at a relative
    gradient of ~1e-14, which pins a pair's margin only where its minority weight is larger."""
    return bool(((prefs == 0) | (prefs == 1) | ((prefs >= 1e-6) & (prefs <= 1 - 1e-6))).all())


def _random_dataset(rng, n_max=4, size_max=8):
    n = int(rng.integers(2, n_max + 1))
    size = int(rng.integers(1, size_max + 1))
    w = rng.integers(0, n, size)
    return px.Dataset(w, (w + rng.integers(1, n, size)) % n, n)


def _brute(name, data, pi_ref, tau, prm, rng, starts=12):
    """Best value of the empirical loss over the logits by multi-start L-BFGS-B (θ₀ = 0)."""
    n = data.n_actions

    def fun(x):
        value, grad = losses.pairwise_empirical(name, np.r_[0.0, x], data, pi_ref, tau,
                                                return_grad=True, **prm)
        return float(value), grad[1:]

    best = np.inf
    for x0 in [np.zeros(n - 1)] + [rng.normal(0, 3 / tau, n - 1) for _ in range(starts)]:
        res = minimize(fun, x0, jac=True, method="L-BFGS-B",
                       options={"maxiter": 5000, "gtol": 1e-12, "ftol": 1e-16})
        best = min(best, res.fun)
    return best


def _value_at(name, sol, data, pi_ref, tau, prm):
    """The loss at the solution's logits (−∞ replaced by −700: mass ≈ e^{−700} ≈ 0)."""
    logits = np.where(np.isfinite(sol.logits), sol.logits, -700.0)
    return float(losses.pairwise_empirical(name, logits, data, pi_ref, tau, **prm))


# -- equivalence theorems ---------------------------------------------------------------------
@given(pst.datasets(st.integers(2, 5), max_size=10, n_contexts=st.sampled_from([None, 2])),
       st.data())
def test_sigmoid_is_the_dpo_solver_empirical(data, draw):
    """``sigmoid`` + ``reverse_kl`` = :func:`solve_dpo_empirical` (Prop. 4 through the
    Bradley–Terry fit), limits and free groups included."""
    pi_ref = draw.draw(pst.probability_vectors(data.n_actions))
    taus = np.array([0.1, 1.0, 4.0])
    ours = px.solve_pairwise_empirical("dpo", data, pi_ref, taus)
    ref = px.solve_dpo_empirical(data, pi_ref, taus)
    np.testing.assert_allclose(ours.policy, ref.policy, rtol=1e-9, atol=1e-12)
    assert (ours.exists, ours.unique, ours.free, ours.status) == (
        ref.exists, ref.unique, ref.free, ref.status)


@given(pst.preference_problems(st.integers(2, 5), batch_shape=st.sampled_from([(), (2,)]),
                               deterministic=None, support="same"))
def test_sigmoid_is_the_dpo_solver_population(problem):
    assume(_moderate(problem.prefs))
    args = (problem.prefs, problem.mu, problem.pi_ref, problem.tau)
    ours, ref = px.solve_pairwise_population("sigmoid", *args), px.solve_dpo_population(*args)
    np.testing.assert_allclose(ours.policy, ref.policy, rtol=1e-9, atol=1e-12)
    assert (ours.exists, ours.free) == (ref.exists, ref.free)


@given(pst.datasets(st.integers(2, 5), max_size=10, n_contexts=st.sampled_from([None, 2])),
       st.data())
def test_ipo_and_squared_are_the_ipo_solver(data, draw):
    """TRL's ``ipo`` is Eq. 17 (:func:`solve_ipo_empirical`); ``(τh − 1)² = τ² (h − 1/τ)²`` is
    ``ipo`` at τ/2."""
    pi_ref = draw.draw(pst.probability_vectors(data.n_actions))
    tau = draw.draw(pst.taus(0.05, 20.0))
    ipo = px.solve_pairwise_empirical("ipo", data, pi_ref, tau)
    np.testing.assert_allclose(ipo.policy, px.solve_ipo_empirical(data, pi_ref, tau).policy,
                               rtol=1e-9, atol=1e-13)
    assert ipo.free == px.solve_ipo_empirical(data, pi_ref, tau).free
    squared = px.solve_pairwise_empirical("squared", data, pi_ref, tau)
    np.testing.assert_allclose(squared.policy,
                               px.solve_pairwise_empirical("ipo", data, pi_ref, tau / 2).policy,
                               rtol=1e-9, atol=1e-13)


@given(pst.preference_problems(st.integers(2, 5), deterministic=None))
def test_population_ipo_is_eq7(problem):
    """The TRL-ipo population loss is ½(Eq. 16 − const), so by Prop. 3 its minimiser is
    IPO's Eq. 7 policy (:func:`psipo_policy`, Theorem 2)."""
    sol = px.solve_pairwise_population("ipo", problem.prefs, problem.mu, problem.pi_ref,
                                       problem.tau)
    np.testing.assert_allclose(sol.policy, px.psipo_policy(problem.prefs, problem.mu,
                                                           problem.pi_ref, problem.tau),
                               rtol=1e-9, atol=1e-13)


@given(pst.preference_problems(st.integers(2, 5), deterministic=None, support="same"),
       st.floats(0.01, 0.45))
def test_cdpo_is_dpo_on_smoothed_preferences(problem, eps):
    """``cdpo(ε)`` = DPO on ``(1 − 2ε) p + ε`` (population)."""
    assume(_moderate(problem.prefs))
    sol = px.solve_pairwise_population("cdpo", problem.prefs, problem.mu, problem.pi_ref,
                                       problem.tau, label_smoothing=eps)
    smoothed = (1 - 2 * eps) * problem.prefs + eps
    ref = px.solve_dpo_population(smoothed, problem.mu, problem.pi_ref, problem.tau)
    np.testing.assert_allclose(sol.policy, ref.policy, rtol=1e-9, atol=1e-13)
    assert sol.exists


@given(pst.datasets(st.integers(2, 5), max_size=10), st.floats(0.01, 0.45), st.data())
def test_cdpo_is_dpo_on_the_smoothed_dataset(data, eps, draw):
    """Empirically: each datum counts 1 − ε for its label and ε for the flipped one."""
    pi_ref = draw.draw(pst.probability_vectors(data.n_actions))
    sol = px.solve_pairwise_empirical("cdpo", data, pi_ref, 0.7, label_smoothing=eps)
    smoothed = px.Dataset(np.r_[data.winners, data.losers], np.r_[data.losers, data.winners],
                          data.n_actions, weights=np.r_[np.full(len(data), 1 - eps),
                                                        np.full(len(data), eps)])
    np.testing.assert_allclose(sol.policy, px.solve_dpo_empirical(smoothed, pi_ref, 0.7).policy,
                               rtol=1e-9, atol=1e-13)


@given(pst.preference_problems(st.integers(2, 5), deterministic=None, support="same"),
       st.floats(0.0, 0.45))
def test_robust_is_dpo_on_denoised_preferences(problem, eps):
    """``robust(ε)`` on preferences ``q = ε + (1 − 2ε) p`` (all in [ε, 1 − ε]) equals DPO on
    the de-noised ``(q − ε)/(1 − 2ε) = p``."""
    assume(_moderate(problem.prefs))
    noisy = eps + (1 - 2 * eps) * problem.prefs
    sol = px.solve_pairwise_population("robust", noisy, problem.mu, problem.pi_ref,
                                       problem.tau, label_smoothing=eps)
    ref = px.solve_dpo_population(problem.prefs, problem.mu, problem.pi_ref, problem.tau)
    np.testing.assert_allclose(sol.policy, ref.policy, rtol=1e-8, atol=1e-12)
    assert (sol.exists, sol.free) == (ref.exists, ref.free)


def _sets_winning_too_often(data, eps):
    """Subsets S (of the compared actions) whose comparisons with the rest are won by S
    except for a fraction < ε: ``L_S < ε (L_S + W_S)`` with ``W_S > 0``."""
    n, found = data.n_actions, []
    w = data.datum_weights
    for k in range(1, n):
        for subset in itertools.combinations(range(n), k):
            inside = np.isin(np.arange(n), subset)
            wins = w[inside[data.winners] & ~inside[data.losers]].sum()
            lost = w[~inside[data.winners] & inside[data.losers]].sum()
            if wins > 0 and lost < eps * (lost + wins) - 1e-12:
                found.append(inside)
    return found


@pytest.mark.parametrize("seed", range(6))
def test_robust_unbounded_exactly_when_a_set_wins_too_often(seed):
    """Unboundedness against subset enumeration; when unbounded, the loss decreases without
    bound along ``r + t 1_S`` for a set S found by enumeration."""
    rng = np.random.default_rng(seed)
    for _ in range(25):
        data = _random_dataset(rng, n_max=5, size_max=12)
        eps = float(rng.choice([0.05, 0.2, 0.4]))
        pi_ref = np.full(data.n_actions, 1 / data.n_actions)
        sol = px.solve_pairwise_empirical("robust", data, pi_ref, 1.0, label_smoothing=eps)
        too_often = _sets_winning_too_often(data, eps)
        assert (sol.status == UNBOUNDED) == bool(too_often)
        if too_often:
            direction = too_often[0].astype(float)
            values = [float(losses.pairwise_empirical("robust", t * direction, data, pi_ref,
                                                      1.0, label_smoothing=eps))
                      for t in (10.0, 100.0, 1000.0)]
            # Linear decrease along the ray: 10 times the drop over 10 times the distance.
            assert values[2] < values[1] < values[0]
            assert values[1] - values[2] > 5 * (values[0] - values[1])
        else:
            assert sol.status in EXACT_STATUSES + (NOT_CONVERGED,)


# -- Proposition 4's analogue and existence ----------------------------------------------------
def _reward_fit(name, data, prm):
    """``argmin_r Σ_i w_i f(r_w − r_l)`` by BFGS (f = the margin loss at τ = 1), r₀ = 0."""
    loss = losses.pairwise(name)
    w = data.datum_weights

    def fun(r):
        z = r[data.winners] - r[data.losers]
        g = w * loss.margin_grad(z, 1.0, **prm)
        grad = np.bincount(data.winners, g, data.n_actions) - np.bincount(
            data.losers, g, data.n_actions)
        return float(np.sum(w * loss.margin_value(z, 1.0, **prm))), grad

    res = minimize(fun, np.zeros(data.n_actions), jac=True, method="BFGS",
                   options={"gtol": 1e-12, "maxiter": 10000})
    return res.x


@pytest.mark.parametrize("name", ["cdpo", "exponential", "squared", "ipo", "sigmoid", "robust"])
def test_optimum_is_the_gibbs_policy_of_the_reward_fitted_with_the_same_loss(name):
    """Prop. 4's analogue: the optimum is ``rlhf_policy(r̂, πref, τ)`` with r̂ fitted by the same
    loss (τ = 1 in reward coordinates), on connected data with a finite minimiser."""
    rng = np.random.default_rng(7)
    prm = {"label_smoothing": 0.15} if name in ("cdpo", "robust") else {}
    checked = 0
    for _ in range(60):
        data = _random_dataset(rng, n_max=5, size_max=14)
        pi_ref = rng.dirichlet(np.ones(data.n_actions))
        sol = px.solve_pairwise_empirical(name, data, pi_ref, 0.4, **prm)
        if sol.status != OPTIMUM:
            continue
        rewards = _reward_fit(name, data, prm)
        np.testing.assert_allclose(sol.policy, px.rlhf_policy(rewards, pi_ref, 0.4), rtol=1e-6,
                                   atol=1e-9)
        assert sol.residual <= 1e-10
        checked += 1
    assert checked >= 10


def _closure(adjacency):
    reach = adjacency.copy()
    for k in range(reach.shape[0]):
        reach |= reach[:, [k]] & reach[[k], :]
    return reach


@pytest.mark.parametrize("name, prm", [("sigmoid", {}), ("exponential", {}),
                                       ("robust", {"label_smoothing": 0.0}),
                                       ("cdpo", {"label_smoothing": 0.0})])
def test_limits_follow_the_beats_digraph(name, prm):
    """Losses decreasing to 0 along a ray (Zermelo/Ford): a finite minimiser exists iff every
    action is in a top class (it beats back everything that beats it); the policy is 0
    exactly off the top classes; the gradient on the top classes' own data vanishes."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        data = _random_dataset(rng, n_max=5, size_max=8)
        n = data.n_actions
        pi_ref = rng.dirichlet(np.ones(n))
        sol = px.solve_pairwise_empirical(name, data, pi_ref, 0.8, **prm)
        adjacency = np.zeros((n, n), bool)
        adjacency[data.winners, data.losers] = True
        reach = _closure(adjacency) | np.eye(n, dtype=bool)
        # Top: every action that (transitively) beats i is beaten back by i.
        top = np.array([all(reach[i, j] for j in range(n) if reach[j, i]) for i in range(n)])
        assert sol.exists == bool(top.all())
        assert (sol.policy[~top] == 0).all() and (sol.policy[top] > 0).all()
        inner = top[data.winners] & top[data.losers]
        if inner.any():
            sub = px.Dataset(data.winners[inner], data.losers[inner], n)
            logits = np.where(np.isfinite(sol.logits), sol.logits, 0.0)
            _, grad = losses.pairwise_empirical(name, logits, sub, pi_ref, 0.8,
                                                return_grad=True, **prm)
            assert np.abs(grad).max() < 1e-9


# -- hinge and truncated quadratic: optimal sets and their canonical point ---------------------
def _hinge_dual_value(data):
    """The hinge optimum by its dual: ``max Σ α`` over circulations ``0 ≤ α ≤ w``."""
    n, w = data.n_actions, data.datum_weights
    incidence = np.zeros((n, len(data)))
    incidence[data.winners, np.arange(len(data))] += 1
    incidence[data.losers, np.arange(len(data))] -= 1
    res = linprog(-np.ones(len(data)), A_eq=incidence, b_eq=np.zeros(n),
                  bounds=list(zip(np.zeros(len(data)), w)), method="highs-ipm")
    return -res.fun


def _min_norm_optimum(name, data, value):
    """``min ‖r‖²`` s.t. the reward loss ≤ its optimum (+1e-9), by SLSQP (n ≤ 4). The hinge
    loss is written with slacks ``t ≥ 1 − z, t ≥ 0`` so that every constraint is smooth."""
    n, size, w = data.n_actions, len(data), data.datum_weights
    loss = losses.pairwise(name)

    def margins(x):
        r = x[:n]
        return r[data.winners] - r[data.losers]

    if name == "hinge":
        constraints = [{"type": "ineq", "fun": lambda x: x[n:] - 1 + margins(x)},
                       {"type": "ineq", "fun": lambda x: x[n:]},
                       {"type": "ineq", "fun": lambda x: value + 1e-9 - w @ x[n:]}]
    else:
        constraints = [{"type": "ineq", "fun": lambda x: value + 1e-9 - float(
            np.sum(w * loss.margin_value(margins(x), 1.0)))}]
    best = None
    for x0 in np.random.default_rng(0).normal(0, 2, (6, n + size)):
        x0[n:] = np.maximum(0, 1 - margins(x0)) + 1
        res = minimize(lambda x: x[:n] @ x[:n], x0, method="SLSQP", constraints=constraints,
                       options={"ftol": 1e-14, "maxiter": 2000})
        if res.success and (best is None or res.fun < best.fun):
            best = res
    return best.x[:n]


@pytest.mark.parametrize("name", ["hinge", "truncated_quadratic"])
def test_piecewise_losses_attain_their_minimum_at_the_min_norm_point(name):
    rng = np.random.default_rng(3)
    for _ in range(25):
        data = _random_dataset(rng, n_max=4, size_max=7)
        n = data.n_actions
        sol = px.solve_pairwise_empirical(name, data, np.full(n, 1 / n), 1.0)
        assert sol.exists and sol.status in (OPTIMUM, OPTIMAL_SET)
        rewards = sol.logits - sol.logits.mean()  # uniform πref, τ = 1: r = θ up to a constant
        loss = losses.pairwise(name)
        z = rewards[data.winners] - rewards[data.losers]
        value = float(np.sum(data.datum_weights * loss.margin_value(z, 1.0)))
        if name == "hinge":
            assert value == pytest.approx(_hinge_dual_value(data), abs=1e-9)
        else:
            reference = min(minimize(lambda r: float(np.sum(data.datum_weights * loss
                                     .margin_value(r[data.winners] - r[data.losers], 1.0))),
                                     x0, method="L-BFGS-B", options={"gtol": 1e-12}).fun
                            for x0 in rng.normal(0, 2, (5, n)))
            assert value <= reference + 1e-9
        canonical = _min_norm_optimum(name, data, value)
        np.testing.assert_allclose(rewards, canonical - canonical.mean(), atol=2e-4)


def _random_face(rng):
    """A face ``{z_e = z¹_e (equal), z_e ≥ 1 (above), z_e ≤ 1 (below)}`` through integer rewards
    ``r¹`` (so that many constraints are tight at ``r¹``, exactly), on ≤ 6 nodes."""
    size = int(rng.integers(2, 7))
    rewards = rng.integers(-1, 2, size).astype(float)
    m = int(rng.integers(2, 11))
    heads, tails = rng.integers(0, size, m), rng.integers(0, size, m)
    keep = heads != tails
    heads, tails = heads[keep], tails[keep]
    z = rewards[heads] - rewards[tails]
    twice = (z == 1) & (rng.random(heads.size) < 0.5)  # a pair pinned at z = 1 from both sides
    heads, tails, z = np.r_[heads, heads[twice]], np.r_[tails, tails[twice]], np.r_[z, z[twice]]
    equal = rng.random(heads.size) < 0.3
    above = ~equal & ((z > 1) | (z == 1) & (rng.random(heads.size) < 0.5))
    below = ~equal & ~above & (z <= 1)
    equal |= ~(above | below)  # z > 1 not drawn as `above`: an equality
    return rewards, heads, tails, equal, above, below, size


def _face_lp(heads, tails, equal, above, below, size, rewards):
    """The face as ``A_ub r ≤ b_ub, A_eq r = b_eq``."""
    rows = np.zeros((heads.size, size))
    rows[np.arange(heads.size), heads] += 1
    rows[np.arange(heads.size), tails] -= 1
    z = rows @ rewards
    a_ub = np.vstack([-rows[above], rows[below]])
    b_ub = np.r_[-np.ones(above.sum()), np.ones(below.sum())]
    return dict(A_ub=a_ub if a_ub.size else None, b_ub=b_ub if a_ub.size else None,
                A_eq=rows[equal] if equal.any() else None,
                b_eq=z[equal] if equal.any() else None, bounds=[(None, None)] * size)


def test_face_pinned_classes_are_the_pairs_with_a_determined_difference():
    """A pair of nodes is in one group iff ``r_u − r_v`` takes one value on the whole face:
    max = min of ``r_u − r_v`` by two linear programs (the definition, no graph theory)."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        rewards, heads, tails, equal, above, below, size = _random_face(rng)
        _, face = _face.min_norm_on_face(rewards, heads, tails, equal, above, below, size)
        groups = _face.face_groups(face)
        lp = _face_lp(heads, tails, equal, above, below, size, rewards)
        for u, v in itertools.combinations(range(size), 2):
            c = np.zeros(size)
            c[u], c[v] = 1.0, -1.0
            low, high = linprog(c, **lp, method="highs"), linprog(-c, **lp, method="highs")
            pinned = low.status == 0 and high.status == 0 and -high.fun - low.fun < 1e-9
            assert pinned == (groups[u] == groups[v]), (u, v, groups)


def test_face_canonical_point_is_the_least_norm_point_of_the_face():
    """Against brute force: the least-norm point of a polyhedron is the least-norm point of the
    affine hull of one of its faces, so the least-norm feasible point among the minimum-norm
    solutions of every subset of the inequalities made equalities is the exact answer."""
    rng = np.random.default_rng(12)
    for _ in range(60):
        rewards, heads, tails, equal, above, below, size = _random_face(rng)
        canonical, _ = _face.min_norm_on_face(rewards, heads, tails, equal, above, below, size)
        lp = _face_lp(heads, tails, equal, above, below, size, rewards)
        a_eq = lp["A_eq"] if lp["A_eq"] is not None else np.zeros((0, size))
        b_eq = lp["b_eq"] if lp["b_eq"] is not None else np.zeros(0)
        a_ub, b_ub = (lp["A_ub"], lp["b_ub"]) if lp["A_ub"] is not None else (np.zeros((0, size)),
                                                                                np.zeros(0))
        a_ub, keep = np.unique(a_ub, axis=0, return_index=True)  # rows are ±(e_h − e_t)
        b_ub = np.array([lp["b_ub"][k] for k in keep]) if keep.size else b_ub
        best = None
        for active in itertools.product([False, True], repeat=len(b_ub)):
            active = np.array(active, bool)
            m = np.vstack([a_eq, a_ub[active]])
            b = np.r_[b_eq, b_ub[active]]
            point = np.linalg.pinv(m) @ b if m.size else np.zeros(size)
            if (np.abs(m @ point - b).max(initial=0.0) < 1e-9
                    and (a_ub @ point <= b_ub + 1e-9).all()
                    and (best is None or point @ point < best @ best - 1e-12)):
                best = point
        np.testing.assert_allclose(canonical, best, atol=1e-9)
        assert (a_ub @ canonical <= b_ub + 1e-12).all()
        np.testing.assert_allclose(a_eq @ canonical, b_eq, atol=1e-12)


def test_hinge_on_the_paper_datasets():
    """D1 and D3_never_wins: margins ≥ 1 along the order, minimum-norm rewards (1, 0, −1);
    D2 (a cycle): every z ≤ 1 with Σz = 0 is optimal, the minimum-norm point is r = 0."""
    uniform = np.full(3, 1 / 3)
    for name in ("D1", "D3_never_wins"):
        sol = px.solve_pairwise_empirical("slic", px.paper_dataset(name), uniform, 1.0)
        np.testing.assert_allclose(np.log(sol.policy) - np.log(sol.policy).mean(), [1, 0, -1],
                                   atol=1e-12)
        assert sol.status == OPTIMAL_SET and sol.free == ((0,), (1,), (2,))
    sol = px.solve_pairwise_empirical("hinge", px.paper_dataset("D2"), uniform, 1.0)
    np.testing.assert_allclose(sol.policy, uniform, atol=1e-12)
    assert sol.status == OPTIMAL_SET
    tq = px.solve_pairwise_empirical("truncated_quadratic", px.paper_dataset("D2"), uniform, 1.0)
    assert tq.status == OPTIMUM


# -- losses of separate log-ratios and non-convex losses: brute force -------------------------
@pytest.mark.parametrize("name", ["nca_pair", "bco_pair", "sppo_hard", "apo_zero", "apo_down",
                                  "savage", "exo_pair", "discopop"])
def test_against_brute_force_on_small_problems(name):
    """n ≤ 4, 20 random datasets, πref and τ. Exact statuses must attain the brute-force
    minimum (or beat it: brute force may stall near a limit); stationary points must be
    stationary (gradient ≤ 1e-8) and are counted against the brute force."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    prm = {"label_smoothing": 0.05} if name == "exo_pair" else {}
    exact = 0
    for _ in range(20):
        data = _random_dataset(rng)
        pi_ref = rng.dirichlet(np.ones(data.n_actions))
        tau = float(np.exp(rng.uniform(np.log(0.2), np.log(1.0 if name == "apo_zero" else 3.0))))
        sol = px.solve_pairwise_empirical(name, data, pi_ref, tau, **prm)
        ours = _value_at(name, sol, data, pi_ref, tau, prm)
        if sol.status in EXACT_STATUSES and (losses.pairwise(name).margin is False
                                             or sol.status in (OPTIMUM, OPTIMAL_SET)):
            exact += 1
            assert ours <= _brute(name, data, pi_ref, tau, prm, rng, starts=6) + 1e-8 * (
                1 + abs(ours))
        elif sol.status == STATIONARY:
            assert sol.residual <= 1e-8
    if name in ("nca_pair", "bco_pair", "sppo_hard", "apo_zero"):
        assert exact >= 8  # most random problems fall in the exactly solved cases


@pytest.mark.parametrize("name", ["bco_pair", "sppo_hard", "nca_pair"])
def test_separable_population_against_brute_force(name):
    rng = np.random.default_rng(5)
    for _ in range(12):
        n = int(rng.integers(2, 5))
        upper = np.triu(rng.uniform(0, 1, (n, n)), 1)
        prefs = upper + np.tril(1 - upper.T, -1) + 0.5 * np.eye(n)
        mu, pi_ref, tau = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n)), 0.5
        sol = px.solve_pairwise_population(name, prefs, mu, pi_ref, tau)
        ours = float(losses.pairwise_population(name, sol.policy, prefs, mu, pi_ref, tau))

        def fun(x):
            value, grad = losses.pairwise_population(name, px.softmax_policy(np.r_[0.0, x]),
                                                     prefs, mu, pi_ref, tau, return_grad=True)
            return float(value), grad[1:]

        brute = min(minimize(fun, x0, jac=True, method="L-BFGS-B",
                             options={"gtol": 1e-12, "ftol": 1e-16}).fun
                    for x0 in rng.normal(0, 2, (8, n - 1)))
        if sol.status in EXACT_STATUSES:
            assert ours <= brute + 1e-9
        else:
            assert sol.status == STATIONARY and sol.residual <= 1e-8


def test_sppo_hard_matches_lambert_w_closed_form():
    """One action compared against the rest, full data: the Lambert W root by hand."""
    data = px.paper_dataset("D1")
    pi_ref = np.array([0.5, 0.3, 0.2])
    sol = px.solve_pairwise_empirical("sppo_hard", data, pi_ref, 1.0)
    s = np.log(sol.policy / pi_ref)
    wins = np.array([2.0, 1.0, 0.0]) / 3
    lost = np.array([0.0, 1.0, 2.0]) / 3
    # Stationarity 2 W⁺(s − ½) + 2 W⁻(s + ½) + μ πref e^s = 0 with one μ for all actions.
    mu = -(2 * wins * (s - 0.5) + 2 * lost * (s + 0.5)) / sol.policy
    assert np.ptp(mu) <= 1e-12 and mu[0] > 0
    assert sol.status == OPTIMUM


#: (loss, winners, losers, πref, τ) where the per-action minimisers carry mass < 1 and every
#: action is compared: the mass must increase (solvers/_separable.py), non-convex in π.
MASS_INCREASE = [
    ("nca_pair", [1, 1, 1], [2, 2, 0], [0.35, 0.08, 0.57], 2.0),  # optimum: action 0 concave
    ("bco_pair", [1, 0, 1], [0, 1, 2], [0.29, 0.45, 0.26], 2.0),  # all on the convex branch
    ("sppo_hard", [2, 0, 0], [1, 2, 1], [0.01, 0.79, 0.2], 0.25),  # action 2 concave
]


def _grid_minimum(name, data, pi_ref, tau):
    """min of the empirical loss over logits (0, x, y), (x, y) on a grid of step 0.2 in
    [−20, 20]², refined by L-BFGS-B from the best grid point."""
    axis = np.linspace(-20.0, 20.0, 201)
    x, y = np.meshgrid(axis, axis)
    logits = np.stack([np.zeros(x.size), x.ravel(), y.ravel()], -1)
    values = losses.pairwise_empirical(name, logits, data, pi_ref, tau)

    def fun(z):
        value, grad = losses.pairwise_empirical(name, np.r_[0.0, z], data, pi_ref, tau,
                                                return_grad=True)
        return float(value), grad[1:]

    res = minimize(fun, logits[np.argmin(values), 1:], jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-16})
    return min(res.fun, values.min())


@pytest.mark.parametrize("name, winners, losers, pi_ref, tau", MASS_INCREASE)
def test_separable_mass_increase_attains_the_grid_minimum(name, winners, losers, pi_ref, tau):
    """The enumerated branch patterns find the global minimum (a 2-D grid over the logits,
    refined); an appended action with πref = 0, never compared, gets π = 0 and leaves the
    others unchanged."""
    data, pi_ref = px.Dataset(winners, losers, 3), np.array(pi_ref)
    sol = px.solve_pairwise_empirical(name, data, pi_ref, tau)
    assert sol.status == OPTIMUM
    ours = float(losses.pairwise_empirical(name, sol.logits, data, pi_ref, tau))
    assert ours <= _grid_minimum(name, data, pi_ref, tau) + 1e-12 * (1 + abs(ours))
    with_dead = px.solve_pairwise_empirical(name, px.Dataset(winners, losers, 4),
                                            np.r_[pi_ref, 0.0], tau)
    assert with_dead.policy[-1] == 0.0
    np.testing.assert_allclose(with_dead.policy[:-1], sol.policy, rtol=1e-12)


def test_apo_zero_winner_on_the_boundary_gets_probability_zero():
    """τ = 1, πref uniform: A ≻ C with weight 100, B ≻ C with weight 1. The net winners
    maximise Σ d_y σ(s_y), d = W⁺ − W⁻ (concave in π for τ ≤ 1). B's marginal gain per unit
    of mass at π(B) = 0 is d_B σ(−s)²/πref(B) → d_B/πref(B) = 3, below A's at π(A) = 1,
    d_A πref(A)/(1 + πref(A))² = 18.75: the optimum puts no mass on B (no finite log-ratio,
    π(B) = 0 exactly) and all of it on A."""
    data = px.Dataset([0, 1], [2, 2], 3, weights=[100.0, 1.0])
    pi_ref = np.full(3, 1 / 3)
    d = np.array([100.0, 1.0])
    assert d[1] / pi_ref[1] < d[0] * pi_ref[0] / (1 + pi_ref[0]) ** 2
    sol = px.solve_pairwise_empirical("apo_zero", data, pi_ref, 1.0)
    assert sol.status in EXACT_STATUSES and not sol.exists
    assert sol.policy[1] == 0.0 and sol.logits[1] == -np.inf
    assert sol.policy[0] == pytest.approx(1.0, abs=1e-15)


# -- f-divergences ----------------------------------------------------------------------------
@pytest.mark.parametrize("f, coef", [("forward_kl", 0.5), ("js_divergence", 0.5),
                                     ("alpha_divergence", 0.5), ("alpha_divergence", -1.0)])
def test_f_dpo_optimum_is_the_f_regularised_policy_of_the_bradley_terry_fit(f, coef):
    """Wang et al.'s theorem: ``sigmoid`` with an f-divergence is minimised by the
    f-regularised policy of the Bradley–Terry rewards (:func:`fit_bradley_terry`), and that
    policy attains the brute-force minimum of the f-DPO loss."""
    rng = np.random.default_rng(2)
    prm = {"f_divergence_type": f, "f_alpha_divergence_coef": coef}
    for _ in range(10):
        data = _random_dataset(rng, n_max=4, size_max=10)
        pi_ref = rng.dirichlet(np.ones(data.n_actions))
        sol = px.solve_pairwise_empirical("sigmoid", data, pi_ref, 0.5, **prm)
        fit = px.fit_bradley_terry(data)
        expected = px.f_regularised_policy(fit.rewards, pi_ref, 0.5, f,
                                           f_alpha_divergence_coef=coef)
        np.testing.assert_allclose(sol.policy, expected, rtol=1e-8, atol=1e-12)
        if sol.exists:
            ours = _value_at("sigmoid", sol, data, pi_ref, 0.5, prm)
            assert ours <= _brute("sigmoid", data, pi_ref, 0.5, prm, rng, starts=6) + 1e-8


def test_alpha_divergence_above_one_with_a_vanishing_action_raises():
    """r_a − r_b = log 9; with α = 4, τ = 0.05 the f-regularised policy puts 0 on b (its
    mass at λ = r_b alone would be ½ (3 log 9/0.05)^{1/3} > 1), which the f-DPO loss cannot."""
    data = px.Dataset([0, 1], [1, 0], 2, weights=[9.0, 1.0])
    prm = {"f_divergence_type": "alpha_divergence", "f_alpha_divergence_coef": 4.0}
    with pytest.raises(ValueError, match=r"f_alpha_divergence_coef = 4.0 > 1"):
        px.solve_pairwise_empirical("sigmoid", data, [0.5, 0.5], 0.05, **prm)
    sol = px.solve_pairwise_empirical("sigmoid", data, [0.5, 0.5], 5.0, **prm)  # interior
    expected = px.f_regularised_policy([np.log(3), -np.log(3)], [0.5, 0.5], 5.0,
                                       "alpha_divergence", f_alpha_divergence_coef=4.0)
    np.testing.assert_allclose(sol.policy, expected, rtol=1e-10)


# -- shapes, τ grids, bad input ----------------------------------------------------------------
@pytest.mark.parametrize("name", losses.PAIRWISE_LOSSES)
def test_every_loss_solves_d1_and_d3_with_a_tau_grid(name):
    prm = {"label_smoothing": 0.1} if name in ("cdpo", "robust", "exo_pair") else {}
    taus = np.array([0.1, 1.0, 10.0])
    for dataset in ("D1", "D3_never_wins"):
        data = px.paper_dataset(dataset)
        grid = px.solve_pairwise_empirical(name, data, np.ones(3) / 3, taus, **prm)
        assert grid.policy.shape == (3, 3)
        for k, tau in enumerate(taus):
            one = px.solve_pairwise_empirical(name, data, np.ones(3) / 3, tau, **prm)
            np.testing.assert_allclose(grid.policy[k], one.policy, rtol=1e-6, atol=1e-9)


def test_robust_with_contexts_reports_unbounded():
    data = px.Dataset([0, 1, 0], [1, 0, 1], 2, contexts=[0, 0, 1])
    sol = px.solve_pairwise_empirical("robust", data, [0.5, 0.5], 1.0, label_smoothing=0.3)
    assert sol.status == UNBOUNDED and "lose fewer than a fraction" in sol.message
    # the set found by hand: context 1's action 0 (global node 1·2 + 0) wins its only
    # comparison, so it loses 0 < ε of them and the loss -> -inf as its reward grows
    assert "(global indices [2])" in sol.message and "robust loss -> -inf" in sol.message
    np.testing.assert_allclose(sol.policy, 0.5)


def test_solver_bad_input():
    data = px.paper_dataset("D1")
    with pytest.raises(ValueError,
                       match=r"name = 'orpo' is not a registered loss, must be one of \['sigmoid'"):
        px.solve_pairwise_empirical("orpo", data, np.ones(3) / 3, 1.0)
    with pytest.raises(ValueError, match="label_smoothing = 0.7"):
        px.solve_pairwise_population("cdpo", np.full((2, 2), 0.5), [0.5, 0.5], [0.5, 0.5], 1.0,
                                     label_smoothing=0.7)
    with pytest.raises(TypeError, match="data must be a psipo_exact.Dataset"):
        px.solve_pairwise_empirical("sigmoid", [(0, 1)], np.ones(2) / 2, 1.0)
    with pytest.raises(ValueError, match="tau = -1.0"):
        px.solve_pairwise_empirical("hinge", data, np.ones(3) / 3, -1.0)


# -- least-distance programs: the dense (NNLS) and sparse (augmented Lagrangian) methods ------
def _random_least_distance(rng, k_max):
    """``(a, n, i, j, d)`` with constraints ``c_i − c_j ≥ d`` feasible at a random point, many
    tight there, and integer weights ``n``."""
    k = int(rng.integers(2, k_max + 1))
    feasible = rng.integers(-3, 4, k).astype(float)
    m = int(rng.integers(1, 2 * k + 1))
    i, j = rng.integers(0, k, m), rng.integers(0, k, m)
    keep = i != j
    i, j = i[keep], j[keep]
    slack = np.where(rng.random(i.size) < 0.5, 0.0, rng.exponential(1.0, i.size))
    d = feasible[i] - feasible[j] - slack
    return rng.normal(0, 3, k), rng.integers(1, 4, k).astype(float), i, j, d


def _least_distance_brute_force(a, n, i, j, d):
    """Every subset of the constraints made equalities: the weighted least-distance point of
    each affine set (minimum-norm solution in ``x = √n (c − a)``), the best feasible one."""
    root = np.sqrt(n)
    g = np.zeros((i.size, a.size))
    g[np.arange(i.size), i] = 1 / root[i]
    g[np.arange(i.size), j] -= 1 / root[j]
    h = d - (a[i] - a[j])
    best = None
    for active in itertools.product([False, True], repeat=i.size):
        active = np.array(active, bool)
        x = np.linalg.pinv(g[active]) @ h[active] if active.any() else np.zeros(a.size)
        if (np.abs(g[active] @ x - h[active]).max(initial=0) < 1e-9 and (g @ x >= h - 1e-9).all()
                and (best is None or x @ x < best @ best - 1e-12)):
            best = x
    return a + best / root


@pytest.mark.parametrize("method", ["dense_least_distance", "sparse_least_distance"])
def test_least_distance_methods_against_brute_force(method):
    solve = getattr(_least_distance, method)
    rng = np.random.default_rng(21)
    for _ in range(60):
        a, n, i, j, d = _random_least_distance(rng, 5)
        if i.size > 9:
            i, j, d = i[:9], j[:9], d[:9]
        np.testing.assert_allclose(solve(a, n, i, j, d), _least_distance_brute_force(a, n, i, j, d),
                                   atol=1e-9)


def _kkt_residual(c, a, n, i, j, d):
    """Primal violation and the distance of ``N(c − a)`` from the cone of ``Bᵀλ``, λ ≥ 0 on
    the constraints tight at ``c`` (by NNLS; dense, for checking only)."""
    from scipy.optimize import nnls
    slack = c[i] - c[j] - d
    tight = slack <= 1e-9 * (1 + np.abs(d).max())
    b = np.zeros((a.size, tight.sum()))
    b[i[tight], np.arange(tight.sum())] += 1
    b[j[tight], np.arange(tight.sum())] -= 1
    _, dual = nnls(b, n * (c - a)) if tight.any() else (None, np.linalg.norm(n * (c - a)))
    return max(-slack.min(initial=0.0), dual)


def _piecewise_quadratic(t, base, curve, w, q, p):
    """g(t) = base·t + ½ curve t² + Σ w (q − t p)₊², written out."""
    return base * t + 0.5 * curve * t * t + float(np.sum(w * np.maximum(q - t * p, 0.0) ** 2))


def _exact_step_cases():
    rng = np.random.default_rng(41)
    for _ in range(30):
        m = int(rng.integers(1, 7))
        w = rng.choice([0.0, 0.5, 2.0], m)
        q = rng.choice([-1.5, -0.0, 0.0, 0.7, 2.0], m) * rng.uniform(0.5, 2.0, m)
        p = rng.choice([-1.0, 0.0, 1.0, 3.0], m) * rng.uniform(0.5, 2.0, m)
        yield float(rng.normal(0.0, 2.0)), float(rng.choice([0.0, 0.3, 2.0])), w, q, p
    yield 0.0, 0.0, np.ones(3), np.array([1.0, 2.0, 3.0]), np.ones(3)  # flat beyond t = 3
    yield -1.0, 0.0, np.ones(1), np.zeros(1), -np.ones(1)  # g = −t + t²: t* = ½


def test_exact_step_is_the_minimiser_of_the_piecewise_quadratic():
    """exact_step minimises g(t) = base·t + ½ curve t² + Σ w (q − t p)₊² over t ≥ 0:
    compared with bounded Brent on [0, 1000] and the breakpoints q/p, on random problems
    (zero weights, zero directions, q = ±0 with p < 0: active for every t > 0; it was left
    out of the curvature at 0, and g = −t + t² gave t = 0) and on a flat tail (every t ≥ 3
    minimises; it used to warn of 0·∞)."""
    for base, curve, w, q, p in _exact_step_cases():
        g = lambda t: _piecewise_quadratic(t, base, curve, w, q, p)  # noqa: E731
        if curve == 0 and not ((w > 0) & (p < 0)).any() and base < 0:
            continue  # unbounded below
        res = minimize_scalar(g, bounds=(0.0, 1e3), method="bounded",
                              options={"xatol": 1e-12, "maxiter": 2000})
        with np.errstate(divide="ignore", invalid="ignore"):
            breaks = q / p
        candidates = [res.x, 0.0] + [b for b in breaks[np.isfinite(breaks)] if b > 0]
        reference = min(g(t) for t in candidates)
        t = _least_distance.exact_step(base, curve, w, q, p)
        assert t >= 0.0
        assert g(t) <= reference + 1e-12 * (1.0 + abs(reference)), (base, curve, w, q, p, t)


def test_sparse_least_distance_on_larger_programs_is_kkt_and_equals_the_dense_method():
    rng = np.random.default_rng(22)
    for _ in range(12):
        a, n, i, j, d = _random_least_distance(rng, 120)
        sparse = _least_distance.sparse_least_distance(a, n, i, j, d)
        dense = _least_distance.dense_least_distance(a, n, i, j, d)
        assert _kkt_residual(sparse, a, n, i, j, d) < 1e-9
        np.testing.assert_allclose(sparse, dense, atol=1e-9)


def test_least_distance_dispatch_keeps_unconstrained_variables(monkeypatch):
    """Variables in no constraint stay at ``a``; the sparse method takes over above
    ``DENSE_MAX`` and gives the dense answer."""
    rng = np.random.default_rng(23)
    a, n, i, j, d = _random_least_distance(rng, 60)
    a, n = np.r_[a, 7.0, -2.0], np.r_[n, 1.0, 2.0]  # two more, unconstrained
    dense = _least_distance.least_distance(a, n, i, j, d)
    monkeypatch.setattr(_least_distance, "DENSE_MAX", 1)
    sparse = _least_distance.least_distance(a, n, i, j, d)
    np.testing.assert_allclose(sparse, dense, atol=1e-9)
    assert sparse[-2:].tolist() == [7.0, -2.0]


def test_hinge_on_a_large_sparse_graph_takes_the_sparse_least_distance_path():
    """n = 3000 actions, 4500 comparisons: thousands of free groups coupled by constraints,
    beyond the dense method; the canonical point stays on the optimal face (residual)."""
    rng = np.random.default_rng(24)
    n, size = 3000, 4500
    a, b = rng.integers(0, n, size), rng.integers(0, n, size)
    keep = a != b
    rewards = rng.normal(0, 1, n)
    first = rng.random(keep.sum()) < 1 / (1 + np.exp(rewards[b[keep]] - rewards[a[keep]]))
    winners = np.where(first, a[keep], b[keep])
    losers = np.where(first, b[keep], a[keep])
    data = px.Dataset(winners, losers, n)
    sol = px.solve_pairwise_empirical("hinge", data, np.full(n, 1 / n), 1.0)
    assert sol.status == OPTIMAL_SET and sol.residual <= 1e-10
    r = sol.logits - sol.logits.mean()
    value = float(np.sum(np.maximum(0.0, 1 - (r[winners] - r[losers]))))
    assert value == pytest.approx(_hinge_dual_value(data), rel=1e-12, abs=1e-9)


# -- the minimum-norm point of a face (solvers/_face.py) against a generic QP solver ----------
@pytest.mark.parametrize("seed", range(6))
def test_min_norm_on_face_is_the_least_norm_point_of_the_polyhedron(seed):
    """min ‖r‖² over {z_e = z¹_e (E₌), z_e ≥ 1 (E≥), z_e ≤ 1 (E≤)}, z = r_h − r_t, solved by
    SLSQP on r directly (strictly convex: one minimiser), equals min_norm_on_face."""
    import importlib
    face = importlib.import_module("psipo_exact.solvers._face")
    rng = np.random.default_rng(seed)
    size = 6
    pairs = np.array([(a, b) for a in range(size) for b in range(size) if a != b])
    pick = pairs[rng.choice(len(pairs), 8, replace=False)]
    heads, tails = pick[:, 0], pick[:, 1]
    r1 = rng.normal(scale=2.0, size=size)
    z1 = r1[heads] - r1[tails]
    kind = rng.integers(0, 3, heads.size)
    equal = kind == 0
    above = (kind != 0) & (z1 >= 1.0)
    below = (kind != 0) & (z1 < 1.0)
    ours, _ = face.min_norm_on_face(r1, heads, tails, equal, above, below, size)
    cons = [{"type": "eq", "fun": lambda r: (r[heads] - r[tails] - z1)[equal]},
            {"type": "ineq", "fun": lambda r: (r[heads] - r[tails] - 1.0)[above]},
            {"type": "ineq", "fun": lambda r: (1.0 - r[heads] + r[tails])[below]}]
    ref = minimize(lambda r: r @ r, r1, jac=lambda r: 2 * r, method="SLSQP",
                   constraints=[c for c, m in zip(cons, (equal, above, below)) if m.any()],
                   options={"ftol": 1e-15, "maxiter": 1000})
    assert ref.success
    np.testing.assert_allclose(ours, ref.x, atol=1e-6)
    z = ours[heads] - ours[tails]  # and it lies on the face
    np.testing.assert_allclose(z[equal], z1[equal], atol=1e-12)
    assert (z[above] >= 1 - 1e-12).all() and (z[below] <= 1 + 1e-12).all()


def test_apo_zero_is_exact_up_to_tau_one_on_a_tau_grid():
    """apo_zero is solved exactly for τ ≤ 1 (solvers/_separable.py), τ = 1 included: on a τ
    grid (one problem per τ, solved together), every τ ≤ 1 gets an exact status and attains
    the brute-force minimum, and each grid point equals the single-τ solve."""
    rng = np.random.default_rng(11)
    taus = np.array([0.3, 0.7, 1.0])
    for _ in range(3):
        data = _random_dataset(rng)
        pi_ref = rng.dirichlet(np.ones(data.n_actions))
        grid = px.solve_pairwise_empirical("apo_zero", data, pi_ref, taus)
        for k, tau in enumerate(taus):
            one = px.solve_pairwise_empirical("apo_zero", data, pi_ref, float(tau))
            assert one.status in EXACT_STATUSES
            np.testing.assert_allclose(grid.policy[k], one.policy, rtol=1e-12, atol=1e-300)
            ours = _value_at("apo_zero", one, data, pi_ref, float(tau), {})
            assert ours <= _brute("apo_zero", data, pi_ref, float(tau), {}, rng, starts=3) + 1e-8


@pytest.mark.parametrize("name", ["bco_pair", "sppo_hard"])
def test_separable_losses_on_d3_keep_pi_ref(name):
    """D3 = {a ≻ b, b ≻ a}, c never compared. bco_pair and sppo_hard are separable with
    G(s) = ℓ_w(s) + ℓ_l(s) even in s, so s_a = s_b = 0 and the uncompared c takes the rest
    of the mass, 1 − πref(a) − πref(b) = πref(c): the exact optimum is π = πref."""
    rng = np.random.default_rng(4)
    for _ in range(3):
        pi_ref = rng.dirichlet(np.ones(3))
        tau = float(rng.uniform(0.2, 3.0))
        sol = px.solve_pairwise_empirical(name, px.paper_dataset("D3"), pi_ref, tau)
        assert sol.status in EXACT_STATUSES
        np.testing.assert_allclose(sol.policy, pi_ref, rtol=1e-10)


@pytest.mark.parametrize("dataset", ["D1", "D2", "D3"])
def test_exo_pair_has_a_finite_stationary_optimum(dataset):
    """exo_pair (ε > 0) is bounded below and → its bound only at finite margins: on the
    paper's datasets a finite minimiser exists and the empirical gradient vanishes there."""
    data = px.paper_dataset(dataset)
    pi_ref = np.array([0.5, 0.3, 0.2])
    sol = px.solve_pairwise_empirical("exo_pair", data, pi_ref, 0.7, label_smoothing=0.1)
    assert sol.exists and np.isfinite(sol.logits).all()
    _, grad = losses.pairwise_empirical("exo_pair", sol.logits, data, pi_ref, 0.7,
                                        label_smoothing=0.1, return_grad=True)
    assert np.abs(grad).max() < 1e-8


def test_non_convex_population_batch_equals_one_at_a_time():
    """exo_pair (non-convex) population fits of a batch of µ, solved together, equal the
    single solves, and each is stationary for its own population loss."""
    rng = np.random.default_rng(8)
    prefs = px.bradley_terry_prefs(rng.normal(size=3))
    mu = rng.dirichlet(np.ones(3), size=2)
    pi_ref = rng.dirichlet(np.ones(3))
    batch = px.solve_pairwise_population("exo_pair", prefs, mu, pi_ref, 0.8, label_smoothing=0.1)
    for k in range(2):
        one = px.solve_pairwise_population("exo_pair", prefs, mu[k], pi_ref, 0.8,
                                           label_smoothing=0.1)
        np.testing.assert_allclose(batch.policy[k], one.policy, rtol=1e-8)
        _, grad = losses.pairwise_population("exo_pair", one.policy, prefs, mu[k], pi_ref, 0.8,
                                             label_smoothing=0.1, return_grad=True)
        assert np.abs(grad).max() < 1e-7


def test_truncated_quadratic_on_a_sparse_graph_reaches_its_minimum():
    """Semismooth Newton used to stop after 5 steps on sparse graphs (its gradient did not
    halve while the value still fell) and report the optimal set at a relative residual ~1.
    The optimum value is checked against L-BFGS-B on the same convex C¹ objective, and the
    gradient must vanish."""
    rng = np.random.default_rng(31)
    n, size = 400, 600
    a, b = rng.integers(0, n, size), rng.integers(0, n, size)
    keep = a != b
    data = px.Dataset(a[keep], b[keep], n)
    sol = px.solve_pairwise_empirical("truncated_quadratic", data, np.full(n, 1 / n), 1.0)
    assert sol.status == OPTIMAL_SET and sol.residual <= 1e-10
    loss = losses.pairwise("truncated_quadratic")

    def objective(r):
        z = r[data.winners] - r[data.losers]
        g = -2 * np.maximum(0.0, 1 - z)
        return float(np.sum(np.maximum(0.0, 1 - z) ** 2)), (
            np.bincount(data.winners, g, n) - np.bincount(data.losers, g, n))

    r = sol.logits - sol.logits.mean()
    ours, grad = objective(r)
    assert ours == pytest.approx(float(np.sum(loss.margin_value(
        r[data.winners] - r[data.losers], 1.0))), rel=1e-12)
    assert np.abs(grad).max() <= 1e-9
    reference = minimize(objective, np.zeros(n), jac=True, method="L-BFGS-B",
                         options={"maxiter": 20000, "gtol": 1e-12, "ftol": 0.0})
    assert ours <= reference.fun + 1e-9


@pytest.mark.parametrize("name", ["nca_pair", "bco_pair", "sppo_hard"])
def test_exact_score_solutions_certify_a_vanishing_gradient(name):
    # The residual of an exact solution is max |∇| of the population loss in the logits at the
    # returned policy, computed here by losses.pairwise_population (a separate code path).
    prefs = np.array([[.5, .7, .2], [.3, .5, .9], [.8, .1, .5]])
    mu, pi_ref = np.array([.5, .3, .2]), np.array([.2, .3, .5])
    sol = px.solve_pairwise_population(name, prefs, mu, pi_ref, 0.7)
    assert sol.status == OPTIMUM and sol.exists
    _, grad = losses.pairwise_population(name, sol.policy, prefs, mu, pi_ref, 0.7,
                                         return_grad=True)
    assert np.abs(grad).max() < 1e-12
    assert sol.residual == pytest.approx(np.abs(grad).max(), abs=1e-13)

def test_denoised_counts_are_zeroed_within_the_documented_tolerance():
    """``denoised_counts``: ``ĉ_ab = ((1 − ε) c_ab − ε c_ba)/(1 − 2ε)``, set to 0 where
    ``|ĉ_ab| ≤ 1e-12 (c_ab + c_ba)`` — the bound included. At ε = 0, ``ĉ_ab = c_ab``, and
    ``c = 1.000000000001e-12`` against ``1`` sits exactly on the bound in floating point."""
    tiny = 1.000000000001e-12
    assert tiny == 1e-12 * (tiny + 1.0)  # the precondition: exactly at the bound
    heads, tails = np.array([0, 1, 2, 3, 4, 5]), np.array([1, 0, 3, 2, 5, 4])
    weights = np.array([tiny, 1.0, 1.0, tiny, 2.0, 3.0])
    for eps in (0.0, 0.2):
        a, b, up, down = _margin.denoised_counts(eps, heads, tails, weights, 6)
        np.testing.assert_array_equal(a, [0, 2, 4])
        np.testing.assert_array_equal(b, [1, 3, 5])
        c_ab, c_ba = weights[[0, 2, 4]], weights[[1, 3, 5]]
        exact_up = ((1 - eps) * c_ab - eps * c_ba) / (1 - 2 * eps)
        exact_down = ((1 - eps) * c_ba - eps * c_ab) / (1 - 2 * eps)
        bound = 1e-12 * (c_ab + c_ba)
        np.testing.assert_array_equal(up, np.where(np.abs(exact_up) <= bound, 0.0, exact_up))
        np.testing.assert_array_equal(down, np.where(np.abs(exact_down) <= bound, 0.0,
                                                     exact_down))
        if eps == 0.0:  # the boundary cases are zeroed: 0 -> 1 and 3 -> 2 are dropped
            assert up[0] == 0.0 and down[1] == 0.0 and up[2] == 2.0 and down[2] == 3.0


def _pair_minimiser(f, w_ab, w_ba, lo=0.0, hi=30.0):
    """``argmin_z w_ab f(z) + w_ba f(−z)`` over ``[lo, hi]``: a grid, then Brent around the
    grid minimum; returns the minimiser, the minimum and the least value at least 0.5 away."""
    g = lambda z: float(w_ab * f(np.array(z)) + w_ba * f(np.array(-z)))  # noqa: E731
    grid = np.linspace(lo, hi, 3001)
    vals = np.array([g(z) for z in grid])
    k = int(np.clip(np.argmin(vals), 1, grid.size - 2))
    res = minimize_scalar(g, bracket=(grid[k - 1], grid[k], grid[k + 1]), tol=1e-12)
    return res.x, res.fun, vals[np.abs(grid - res.x) > 0.5].min()


@pytest.mark.parametrize("name", ["savage", "discopop", "exo_pair"])
def test_non_convex_margin_losses_on_one_pair(name):
    """One pair compared 3 : 1: the global optimum is the per-pair minimiser ``z*`` (Brent on
    ``3 f(z) + f(−z)``, strictly below every value 0.5 away: unique), so the solver must report
    a unique optimum with ``τ log(π_a πref_b / (π_b πref_a)) = z*``. One pair compared one way
    only: ``f > 0`` tends to its infimum 0 as ``z → +∞`` (savage, discopop), no finite minimiser;
    the limit puts all mass on the winner, and the residual there is 0."""
    loss = losses.pairwise(name)
    prm = {"label_smoothing": 0.1} if name == "exo_pair" else {}
    f = lambda z: loss.margin_value(z, 1.0, **prm)  # noqa: E731
    pi_ref, tau = np.array([0.4, 0.6]), 0.5
    z_star, best, away = _pair_minimiser(f, 3.0, 1.0, lo=-30.0)
    assert best < away - 1e-6
    data = px.Dataset([0, 1], [1, 0], 2, weights=[3.0, 1.0])
    sol = px.solve_pairwise_empirical(name, data, pi_ref, tau, **prm)
    assert sol.status == OPTIMUM and sol.exists and sol.free == ()
    margin = tau * (np.log(sol.policy[0] / sol.policy[1]) - np.log(pi_ref[0] / pi_ref[1]))
    assert margin == pytest.approx(z_star, abs=1e-6)
    if name == "exo_pair":
        return
    z = np.linspace(-50.0, 50.0, 1001)  # f > 0 with infimum 0 at +∞: not attained
    assert (f(z) > 0).all() and f(np.array(50.0)) < 1e-20
    sol = px.solve_pairwise_empirical(name, px.Dataset([0], [1], 2), pi_ref, tau)
    assert sol.status == LIMIT and not sol.exists
    np.testing.assert_array_equal(sol.policy, [1.0, 0.0])
    assert sol.residual == 0.0


def test_discopop_tied_pair_with_a_sinking_action_has_two_limit_optima():
    """a ≻ b, b ≻ a, a ≻ c, b ≻ c under DiscoPOP: c never wins, so its probability → 0 (Ford's
    condition); the tied pair minimises ``f(z) + f(−z)``, which is even and lower at
    ``±z* ≠ 0`` than at 0 (Brent): two limit policies, so the limit is not unique."""
    loss = losses.pairwise("discopop")
    f = lambda z: loss.margin_value(z, 1.0)  # noqa: E731
    z_star, best, _ = _pair_minimiser(f, 1.0, 1.0)
    assert best < 2 * f(np.array(0.0)) - 1e-6 and z_star > 0.1
    data = px.Dataset([0, 1, 0, 1], [1, 0, 2, 2], 3)
    tau = 2.0
    sol = px.solve_pairwise_empirical("discopop", data, np.ones(3) / 3, tau)
    assert sol.status == LIMIT_SET and not sol.exists and sol.free
    assert sol.policy[2] == 0.0
    margin = tau * np.log(sol.policy[0] / sol.policy[1])
    assert abs(margin) == pytest.approx(z_star, abs=1e-6)


def test_alpha_divergence_above_one_allows_a_sinking_action():
    """α = 1.5 > 1 with an action that never wins (c): its reward is −∞ and its probability 0
    in the limit, which is the f-DPO limit, not a vanishing action with a finite reward. a and
    b are tied (equal rewards), so the f-regularised policy is πref restricted to {a, b}."""
    data = px.Dataset([0, 1, 0, 1], [1, 0, 2, 2], 3)
    pi_ref = np.array([0.2, 0.3, 0.5])
    prm = {"f_divergence_type": "alpha_divergence", "f_alpha_divergence_coef": 1.5}
    sol = px.solve_pairwise_empirical("sigmoid", data, pi_ref, 1.0, **prm)
    assert sol.status == LIMIT
    np.testing.assert_allclose(sol.policy, [0.4, 0.6, 0.0], rtol=1e-10, atol=0.0)


def test_apo_down_on_one_pair_is_the_one_dimensional_minimum():
    """apo_down (not convex: the multi-start L-BFGS-B path) on two actions, where the logits
    have one degree of freedom ``x = θ_a − θ_b``: the reported policy is the global minimum
    of the empirical loss over ``x`` (a grid, then Brent), stationary."""
    data = px.Dataset([0, 1], [1, 0], 2, weights=[3.0, 1.0])
    pi_ref, tau = np.array([0.4, 0.6]), 2.0
    f = lambda x: float(losses.pairwise_empirical("apo_down", np.array([x, 0.0]), data,  # noqa: E731
                                                  pi_ref, tau))
    grid = np.linspace(-20.0, 20.0, 801)
    k = int(np.argmin([f(x) for x in grid]))
    ref = minimize_scalar(f, bracket=(grid[k - 1], grid[k], grid[k + 1]), tol=1e-12)
    sol = px.solve_pairwise_empirical("apo_down", data, pi_ref, tau)
    assert sol.status == STATIONARY and sol.residual <= 1e-8
    assert np.log(sol.policy[0] / sol.policy[1]) == pytest.approx(ref.x, abs=1e-5)
    assert f(np.log(sol.policy[0] / sol.policy[1])) <= ref.fun + 1e-12


def _robust_near_the_edge(x):
    """a beats b (weight 1); a beats c with weight ½ + x and loses with ½ − x; b and c split
    ½ : ½. At ε = ¼, by hand from ĉ = ((1 − ε) c − ε c′)/(1 − 2ε): ĉ_ab = 3/2, ĉ_ba = −½,
    ĉ_ac = ½ + 2x, ĉ_ca = ½ − 2x, ĉ_bc = ĉ_cb = ½. The de-noised losses of {a} are
    ĉ_ba + ĉ_ca = −2x; of {a, c} 0; of every other set > 0. So the robust loss is unbounded
    below iff x > 0 (slope −2x along 1_{a})."""
    return px.Dataset([0, 0, 2, 1, 2], [1, 2, 0, 2, 1], 3,
                      weights=[1.0, 0.5 + x, 0.5 - x, 0.5, 0.5])


def test_robust_unbounded_by_a_small_slope_is_detected():
    """Regression: the recession LP ran with HiGHS's default feasibility tolerances (1e-7),
    which rounded a slope of −2e-8 (relative −6.7e-9, beyond the 1e-9 threshold) to 0: the
    solver reported "bounded below but Newton did not converge"."""
    data, pi_ref = _robust_near_the_edge(1e-8), np.ones(3) / 3
    sol = px.solve_pairwise_empirical("robust", data, pi_ref, 1.0, label_smoothing=0.25)
    assert sol.status == UNBOUNDED and not sol.exists and "global indices [0]" in sol.message
    values = [float(losses.pairwise_empirical("robust", np.array([t, 0.0, 0.0]), data, pi_ref,
                                              1.0, label_smoothing=0.25))
              for t in (1e6, 2e6, 3e6)]
    assert values[2] < values[1] < values[0]  # linear decrease along 1_{a}
    assert values[0] - values[1] == pytest.approx(values[1] - values[2], rel=1e-3)


def test_robust_slope_within_the_tolerance_is_never_reported_as_solved():
    """A slope of −2e-9 (relative −6.7e-10) is within the LP's 1e-9 threshold, and Newton
    cannot reach a gradient below it: the loss is unbounded, so the only honest statuses are
    UNBOUNDED or NOT_CONVERGED — never an optimum or a limit policy."""
    sol = px.solve_pairwise_empirical("robust", _robust_near_the_edge(1e-9), np.ones(3) / 3,
                                      1.0, label_smoothing=0.25)
    assert sol.status in (UNBOUNDED, NOT_CONVERGED) and not sol.exists


# -- robust: bounded below, yet no minimiser ----------------------------------------------------
_ROBUST_NO_MINIMISER = [
    # _robust_near_the_edge(0): the de-noised losses of {a} are exactly 0
    (px.Dataset([0, 0, 2, 1, 2], [1, 2, 0, 2, 1], 3, weights=[1.0, 0.5, 0.5, 0.5, 0.5]), [0]),
    # {b, c} lose 1 of their 4 comparisons with a (b beats a once, c beats a twice, a beats c
    # once): by hand ĉ_ab = (¾·0 − ¼·1)/½ = −½, ĉ_ac = (¾·1 − ¼·2)/½ = ½; the sum is 0
    (px.Dataset([1, 1, 2, 2, 1, 0, 2, 1, 2], [2, 2, 0, 0, 0, 2, 1, 2, 1], 3), [1, 2]),
]


@pytest.mark.parametrize("tau", [0.3, 2.0])
@pytest.mark.parametrize("data, tight", _ROBUST_NO_MINIMISER)
def test_robust_bounded_without_minimiser_is_not_reported_optimal(data, tight, tau):
    """Regression: with a set S whose de-noised losses to the rest are exactly 0 (S loses a
    fraction ε = ¼ of its comparisons with the rest) the loss is bounded below but strictly
    decreasing along ``r + t 1_S`` for every r, so no minimiser exists; Newton's gradient
    decays like e^{-t} and the solver reported OPTIMUM at logits ~ −60. Checked independently:
    along 1_S the empirical loss decreases, by less and less (bounded below)."""
    pi_ref = np.ones(3) / 3
    sol = px.solve_pairwise_empirical("robust", data, pi_ref, tau, label_smoothing=0.25)
    assert sol.status == NOT_CONVERGED and not sol.exists
    assert f"(global indices {tight})" in sol.message and "exactly a fraction" in sol.message
    direction = np.isin(np.arange(3), tight).astype(float)
    values = [float(losses.pairwise_empirical("robust", t * direction, data, pi_ref, tau,
                                              label_smoothing=0.25))
              for t in np.array([0.0, 1.0, 2.0, 4.0]) / tau]
    drops = -np.diff(values)
    assert (drops > 0).all() and drops[2] < drops[1] < drops[0]  # decreasing, levelling off


def test_robust_population_bounded_without_minimiser_is_not_reported_optimal():
    """The population form of the first regression dataset (µ uniform: every pair weighs the
    same; p(a ≻ b) = 1, p(a ≻ c) = p(b ≻ c) = ½) goes through the same fit."""
    prefs = np.array([[0.5, 1.0, 0.5], [0.0, 0.5, 0.5], [0.5, 0.5, 0.5]])
    sol = px.solve_pairwise_population("robust", prefs, np.ones(3) / 3, np.ones(3) / 3, 1.0,
                                       label_smoothing=0.25)
    assert sol.status == NOT_CONVERGED and not sol.exists
    assert "(global indices [0])" in sol.message


def _robust_exact_verdict(data, eps):
    """``(bounded below, minimiser exists)`` of the robust loss by enumerating every subset S
    in exact rational arithmetic: ``f(S) = Σ_{u∈S, v∉S} ĉ_vu``; bounded iff every f ≥ 0; a
    minimiser iff also f(S) > 0 for every S that is not a union of connected components."""
    n, e = data.n_actions, Fraction(eps).limit_denominator(100)
    c = np.full((n, n), Fraction(0))
    for w, lo, x in zip(data.winners.tolist(), data.losers.tolist(),
                        data.datum_weights.tolist()):
        c[w, lo] += Fraction(x)
    hat = ((1 - e) * c - e * c.T) / (1 - 2 * e)
    component = list(range(n))
    for _ in range(n):  # label propagation: the smallest index of each component
        for u, v in itertools.product(range(n), repeat=2):
            if c[u, v] + c[v, u] > 0:
                component[u] = component[v] = min(component[u], component[v])
    bounded, exists = True, True
    for k in range(1, n):
        for subset in itertools.combinations(range(n), k):
            f = sum(hat[v, u] for u in subset for v in range(n) if v not in subset)
            union = all(x in subset for x in range(n)
                        if component[x] in {component[y] for y in subset})
            bounded &= f >= 0
            exists &= f != 0 or union
    return bounded, bounded and exists


@pytest.mark.parametrize("seed", range(4))
def test_robust_existence_matches_exact_subset_enumeration(seed):
    """The solver's verdict (unbounded; bounded without a minimiser; minimiser) against
    :func:`_robust_exact_verdict` on random datasets (n ≤ 5, weights ½, 1, 3/2) at ε ∈
    {¼, ⅓, ⅕}, where sets losing exactly a fraction ε are frequent."""
    rng = np.random.default_rng(1000 + seed)
    verdicts = set()
    for _ in range(40):
        data = _random_dataset(rng, n_max=5, size_max=12)
        data = px.Dataset(data.winners, data.losers, data.n_actions,
                          weights=rng.choice([0.5, 1.0, 1.5], len(data)))
        eps = float(rng.choice([0.25, 1 / 3, 0.2]))
        n = data.n_actions
        sol = px.solve_pairwise_empirical("robust", data, np.ones(n) / n, 1.0,
                                          label_smoothing=eps)
        bounded, exists = _robust_exact_verdict(data, eps)
        assert (sol.status == UNBOUNDED) == (not bounded)
        assert sol.exists == exists
        if bounded and not exists:
            assert sol.status in (LIMIT, LIMIT_SET, NOT_CONVERGED)
        verdicts.add((bounded, exists))
    assert len(verdicts) == 3  # every verdict occurs


@pytest.mark.parametrize("eps", [0.1, 0.2, 0.25])
def test_robust_optimum_has_a_vanishing_gradient(eps):
    """Every OPTIMUM/OPTIMAL_SET of the robust loss is stationary in the logits (the empirical
    loss's own gradient, an independent code path) at moderate logits."""
    rng = np.random.default_rng(int(eps * 100))
    checked = 0
    for _ in range(60):
        data = _random_dataset(rng, n_max=5, size_max=12)
        n = data.n_actions
        sol = px.solve_pairwise_empirical("robust", data, np.ones(n) / n, 0.5,
                                          label_smoothing=eps)
        if sol.status not in (OPTIMUM, OPTIMAL_SET):
            continue
        _, grad = losses.pairwise_empirical("robust", sol.logits, data, np.ones(n) / n, 0.5,
                                            return_grad=True, label_smoothing=eps)
        assert np.abs(grad).max() <= 1e-9
        assert np.ptp(sol.logits) < 30  # a minimiser, not a point on the way to a limit
        checked += 1
    assert checked >= 5


def test_robust_without_minimiser_names_global_indices_with_contexts():
    """Context 0 is balanced (a minimiser); context 1 is the first regression dataset: the set
    is its action 0, global index ``1·n + 0 = 3``."""
    data = px.Dataset([0, 1, 0, 0, 2, 1, 2], [1, 0, 1, 2, 0, 2, 1], 3,
                      weights=[1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5], contexts=[0, 0, 1, 1, 1, 1, 1])
    sol = px.solve_pairwise_empirical("robust", data, np.ones(3) / 3, 1.0, label_smoothing=0.25)
    assert sol.status == NOT_CONVERGED and not sol.exists
    assert "(global indices [3])" in sol.message


def test_robust_newton_overflow_on_unbounded_data_is_reported_unbounded():
    """Regression: on these unbounded data Newton overflowed to NaN rewards and a NaN
    residual, ``NaN > 1e-10`` skipped the boundedness LP, and the solver raised "g[0] is NaN".
    By hand at ε = ¼ the de-noised losses of {4} (4 beats 2 once and 3 three times, loses to
    3 once) are ĉ_24 + ĉ_34 = −¼ − ¾ < 0."""
    data = px.Dataset([4, 1, 0, 2, 4, 4, 3], [2, 0, 2, 1, 3, 3, 4], 5,
                      weights=[0.5, 0.5, 1.0, 1.5, 1.5, 1.5, 0.5])
    sol = px.solve_pairwise_empirical("robust", data, np.ones(5) / 5, 1.0, label_smoothing=0.25)
    assert sol.status == UNBOUNDED and "(global indices [4])" in sol.message
    assert [4] in [np.flatnonzero(s).tolist() for s in _sets_winning_too_often(data, 0.25)]


def test_alpha_coefficient_is_ignored_by_the_other_divergences():
    # f_alpha_divergence_coef belongs to the alpha divergence (TRL): with the JS divergence
    # at a small tau the f-regularised policy underflows to 0 on a compared action, which an
    # alpha coefficient > 1 would reject (f'(0+) finite), but JS must not.
    data = px.Dataset.from_pairs([(0, 1), (0, 1), (1, 0), (1, 2), (1, 2), (2, 1)], 3)
    ref = np.ones(3) / 3
    plain = px.solve_pairwise_empirical("sigmoid", data, ref, 1e-3,
                                        f_divergence_type="js_divergence")
    assert plain.policy[2] == 0.0
    with_coef = px.solve_pairwise_empirical("sigmoid", data, ref, 1e-3,
                                            f_divergence_type="js_divergence",
                                            f_alpha_divergence_coef=2.0)
    np.testing.assert_array_equal(with_coef.policy, plain.policy)
