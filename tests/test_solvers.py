"""Tests of psipo_exact.solvers: exact optima of Eq. 2, 4, 5, 13/14 and 17, Theorem 2,
Appendix A.2 and Proposition 4.

References are hand derivations (in the docstrings), dense ``numpy.linalg.lstsq``,
brute-force subset enumeration, ``scipy.optimize`` runs on the package's loss functions and
their analytic gradients (``empirical_loss(..., return_grad=True)``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.sparse.linalg import splu

from psipo_exact import losses
from psipo_exact.closed_form import psipo_policy, rlhf_policy
from psipo_exact.model import Dataset, bradley_terry_prefs, paper_dataset
from psipo_exact.solvers import (
    BradleyTerrySolution,
    Solution,
    fit_bradley_terry,
    solve_dpo_empirical,
    solve_dpo_population,
    solve_ipo_empirical,
    solve_ipo_population,
)
from psipo_exact.solvers import _laplacian as graph_linalg

U3 = np.full(3, 1.0 / 3.0)

# ------------------------------------------------------------------------------ strategies


@st.composite
def datasets(draw, max_actions=6, max_data=14, contexts=False):
    """Random small datasets (duplicates allowed), optionally with 1–3 contexts."""
    n = draw(st.integers(2, max_actions))
    size = draw(st.integers(1, max_data))
    pair = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1])
    pairs = draw(st.lists(pair, min_size=size, max_size=size))
    kwargs = {}
    if contexts:
        n_ctx = draw(st.integers(1, 3))
        kwargs = dict(contexts=draw(st.lists(st.integers(0, n_ctx - 1), min_size=size,
                                             max_size=size)), n_contexts=n_ctx)
    w, l_ = zip(*pairs)
    return Dataset(w, l_, n, **kwargs)


@st.composite
def policies(draw, n, full=True):
    raw = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n)))
    if not full:
        raw = raw * np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        raw[draw(st.integers(0, n - 1))] = 0.5
    return raw / raw.sum()


@st.composite
def preference_matrices(draw, n, low=0.02, high=0.98):
    """Random complementary preference matrices with entries strictly inside (0, 1)."""
    upper = np.array(draw(st.lists(st.floats(low, high), min_size=n * n, max_size=n * n)))
    upper = np.triu(upper.reshape(n, n), 1)
    prefs = upper + np.tril(1.0 - upper.T, -1)
    np.fill_diagonal(prefs, 0.5)
    return prefs


def _lstsq_ipo(data: Dataset, pi_ref, tau, init):
    """Independent reference for Eq. 17: dense least squares + per-component mean shift."""
    n = data.n_actions
    incidence = data.incidence.toarray()
    log_ref = np.log(np.broadcast_to(pi_ref, data.logits_shape)).ravel()
    target = 0.5 / tau + incidence @ log_ref
    theta = np.linalg.lstsq(incidence, target, rcond=None)[0]
    # components by brute force: transitive closure of the comparison graph
    adj = (np.abs(incidence.T) @ np.abs(incidence) > 0) | np.eye(incidence.shape[1], dtype=bool)
    for _ in range(int(np.log2(incidence.shape[1])) + 1):  # repeated squaring
        adj = (adj.astype(float) @ adj.astype(float)) > 0
    start = np.broadcast_to(init, data.logits_shape).ravel()
    shifted = theta + (adj @ (start - theta)) / adj.sum(1)
    return shifted.reshape(data.logits_shape), adj, n


# ------------------------------------------------------------------- IPO, empirical (Eq. 17)


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0, 3.0])
def test_ipo_empirical_d1_hand_derived(tau):
    """D1 = {a≻b, b≻c, a≻c}, uniform πref, c := 1/(2τ). With x = s_a − s_b, y = s_b − s_c,
    Eq. 17 is (x − c)² + (y − c)² + (x + y − c)² (times 1/3). Normal equations:
    (x − c) + (x + y − c) = 0 and (y − c) + (x + y − c) = 0, so x = y and 3x = 2c:
    s_a − s_b = s_b − s_c = 2c/3 = 1/(3τ); π ∝ (e^{2/(3τ)}, e^{1/(3τ)}, 1). Starting from
    log πref the mean logit stays log(1/3)."""
    sol = solve_ipo_empirical(paper_dataset("D1"), U3, tau)
    step = 1.0 / (3.0 * tau)
    expected = np.exp([2 * step, step, 0.0])
    np.testing.assert_allclose(sol.policy, expected / expected.sum(), rtol=1e-12)
    np.testing.assert_allclose(np.diff(sol.logits), [-step, -step], rtol=1e-12)
    assert sol.logits.mean() == pytest.approx(np.log(1 / 3), abs=1e-12)
    assert sol.exists and sol.unique and sol.free == ()
    assert sol.residual < 1e-12


def test_ipo_empirical_paper_datasets_hand_derived():
    """D2 (cycle a≻b≻c≻a): normal equations (x − c) + (x + y + c) = 0 = (y − c) + (x + y + c)
    give x = y = 0: π = πref for every τ. D3_never_wins (a≻b, b≻c, a tree): zero residual,
    s_a − s_b = s_b − s_c = c, π ∝ (e^{1/τ}, e^{1/(2τ)}, 1). D3 as printed (a≻b, b≻a):
    h(a,b) = c and h(b,a) = −h(a,b) = c give h = 0, so π(a)/π(b) = πref(a)/πref(b); c is
    never compared (free) and keeps its init logit log πref(c): π = πref."""
    tau = np.array([0.25, 1.0, 4.0])
    d2 = solve_ipo_empirical(paper_dataset("D2"), U3, tau)
    np.testing.assert_allclose(d2.policy, np.broadcast_to(U3, (3, 3)), atol=1e-14)
    nw = solve_ipo_empirical(paper_dataset("D3_never_wins"), U3, tau)
    c = 0.5 / tau[:, None]
    expected = np.exp(np.hstack([2 * c, c, 0 * c]))
    np.testing.assert_allclose(nw.policy, expected / expected.sum(1, keepdims=True), rtol=1e-12)
    ref = np.array([0.5, 0.3, 0.2])
    d3 = solve_ipo_empirical(paper_dataset("D3"), ref, tau)
    np.testing.assert_allclose(d3.policy, np.broadcast_to(ref, (3, 3)), rtol=1e-12)
    assert not d3.unique and d3.exists and d3.free == ((0, 1), (2,))
    assert "not unique" in d3.message


def test_ipo_empirical_duplicates_count():
    """a≻b twice, b≻a once, uniform πref: 2(h − c)² + (h + c)² is minimised at
    4(h − c) + 2(h + c) = 0, h = c/3 = 1/(6τ)."""
    data = Dataset([0, 0, 1], [1, 1, 0], 2)
    sol = solve_ipo_empirical(data, [0.5, 0.5], 0.5)
    assert sol.logits[0] - sol.logits[1] == pytest.approx(1 / 3, rel=1e-12)


def test_ipo_empirical_init_component_means():
    """Gradient descent keeps each component's mean logit: with D3 and init (1, 2, 7), the
    component {a, b} keeps mean 1.5 and c keeps 7."""
    sol = solve_ipo_empirical(paper_dataset("D3"), U3, 1.0, init=[1.0, 2.0, 7.0])
    np.testing.assert_allclose(sol.logits, [1.5, 1.5, 7.0], atol=1e-14)


@given(datasets(contexts=True), st.floats(0.05, 20.0), st.data())
def test_ipo_empirical_matches_dense_lstsq_and_gradient_vanishes(data, tau, draw):
    pi_ref = draw.draw(policies(data.n_actions))
    init = np.array(draw.draw(st.lists(st.floats(-3, 3), min_size=data.n_actions,
                                       max_size=data.n_actions)))
    sol = solve_ipo_empirical(data, pi_ref, tau, init=init)
    expected, adj, n = _lstsq_ipo(data, pi_ref, tau, init)
    np.testing.assert_allclose(sol.logits, expected, atol=1e-9 * (1 + 1 / tau))
    _, grad = losses.ipo_empirical(sol.logits, data, np.broadcast_to(pi_ref, data.logits_shape),
                              tau, return_grad=True)
    assert np.abs(grad).max() < 1e-10 * (1 + 1 / tau)
    assert sol.residual < 1e-10 * (1 + 1 / tau) * len(data)
    # unique iff every context's actions are one component
    blocks = adj.reshape(data.n_contexts, n, data.n_contexts, n)
    connected = all(blocks[x, :, x, :].all() for x in range(data.n_contexts))
    assert sol.unique == connected and (sol.free == ()) == connected


def test_ipo_empirical_tau_grid_is_one_solve_per_tau():
    data = paper_dataset("D1")
    taus = np.array([0.1, 0.7, 2.0])
    grid = solve_ipo_empirical(data, U3, taus)
    for k, tau in enumerate(taus):
        np.testing.assert_allclose(grid.logits[k], solve_ipo_empirical(data, U3, tau).logits,
                                   rtol=1e-13)


def test_ipo_empirical_contexts_block_diagonal():
    """Contexts are independent problems: context 0 holds D1, context 1 holds D3 with a
    never-compared action; the joint solve equals the two separate ones."""
    d1, d3 = paper_dataset("D1"), paper_dataset("D3")
    joint = Dataset(np.r_[d1.winners, d3.winners], np.r_[d1.losers, d3.losers], 3,
                    contexts=[0, 0, 0, 1, 1])
    ref = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    sol = solve_ipo_empirical(joint, ref, 0.4)
    np.testing.assert_allclose(sol.logits[0], solve_ipo_empirical(d1, ref[0], 0.4).logits)
    np.testing.assert_allclose(sol.logits[1], solve_ipo_empirical(d3, ref[1], 0.4).logits)
    assert sol.free == (((1, 0), (1, 1)), ((1, 2),))
    assert not sol.unique


@pytest.mark.parametrize("force", ["band", "pcg", "lu"])
def test_ipo_empirical_ladder_every_linear_solver_path(monkeypatch, force):
    """A ladder (b = a + 1..3, 30% flipped) has a badly conditioned Laplacian. The direct
    banded path, preconditioned CG (band truncated to width 1) and the sparse-LU fallback
    must all reach the dense least-squares answer."""
    rng = np.random.default_rng(3)
    n, size = 300, 1500
    a = rng.integers(0, n - 3, size)
    b = a + rng.integers(1, 4, size)
    flip = rng.random(size) < 0.3
    data = Dataset(np.where(flip, b, a), np.where(flip, a, b), n)
    if force != "band":
        monkeypatch.setattr(graph_linalg, "_BAND_WORK", 0)
        monkeypatch.setattr(graph_linalg, "_BAND_MIN", 0)
    if force == "lu":
        monkeypatch.setattr(graph_linalg, "_MAX_CG", 2)
    factorised = []
    monkeypatch.setattr(graph_linalg, "splu",
                        lambda m, **kw: factorised.append(m) or splu(m, **kw))
    pi_ref = np.full(n, 1.0 / n)
    sol = solve_ipo_empirical(data, pi_ref, 0.5)
    assert bool(factorised) == (force == "lu")
    expected, _, _ = _lstsq_ipo(data, pi_ref, 0.5, np.log(pi_ref))
    np.testing.assert_allclose(sol.logits, expected, atol=1e-8)
    assert sol.residual < 1e-9


def test_ipo_empirical_random_graph_uses_jacobi_cg():
    """Expander-like graph with many neighbours per node: diagonal-preconditioned CG."""
    rng = np.random.default_rng(4)
    n, size = 200, 6000
    a = rng.integers(0, n, size)
    b = (a + rng.integers(1, n, size)) % n
    data = Dataset(a, b, n)
    pi_ref = rng.dirichlet(np.ones(n))
    lap = graph_linalg.laplacian(a, b, np.ones(size), n)
    _, exact = graph_linalg.band_preconditioner(lap, np.zeros(n, dtype=int))
    assert not exact
    sol = solve_ipo_empirical(data, pi_ref, 2.0)
    expected, _, _ = _lstsq_ipo(data, pi_ref, 2.0, np.log(pi_ref))
    np.testing.assert_allclose(sol.logits, expected, atol=1e-10)
    assert sol.residual < 1e-10


# ------------------------------------------------------------------ IPO, population (Eq. 14)


@given(st.integers(2, 6).flatmap(lambda n: st.tuples(
    preference_matrices(n, 0.0, 1.0), policies(n), policies(n))), st.floats(0.01, 50.0))
def test_ipo_population_equals_eq7_closed_form(problem, tau):
    """Theorem 2: with Supp(µ) = Supp(πref) the unique minimiser is Eq. 7's policy, and the
    loss Eq. 13 is (numerically) zero there."""
    prefs, mu, pi_ref = problem
    sol = solve_ipo_population(prefs, mu, pi_ref, tau)
    np.testing.assert_allclose(sol.policy, psipo_policy(prefs, mu, pi_ref, tau, "identity"),
                               rtol=1e-10, atol=1e-300)
    assert sol.unique and sol.exists and sol.free == ()
    if sol.policy.min() > 1e-300:
        assert losses.ipo_population(sol.policy, prefs, mu, pi_ref, tau) < 1e-18 * (1 + 1 / tau**2)
    assert sol.residual < 1e-12 * (1 + 1 / tau)


def test_ipo_population_broadcasts_over_contexts_and_tau_grid():
    rng = np.random.default_rng(0)
    prefs = np.stack([bradley_terry_prefs(rng.normal(size=4)) for _ in range(2)])
    mu = rng.dirichlet(np.ones(4), size=2)
    pi_ref = rng.dirichlet(np.ones(4), size=2)
    tau = np.array([[0.1], [1.0], [5.0]])  # (3, 1) against contexts (2,)
    sol = solve_ipo_population(prefs, mu, pi_ref, tau)
    assert sol.policy.shape == (3, 2, 4)
    np.testing.assert_allclose(sol.policy, psipo_policy(prefs, mu, pi_ref, tau), rtol=1e-12)


@pytest.mark.parametrize("tau", [0.2, 1.0, 10.0])
def test_ipo_population_appendix_a2_example(tau):
    """App. A.2: πref uniform on {y1, y2, y3}, µ = (1/2, 1/2, 0). The loss is
    2(τ⁻¹(p(y1≻µ) − p(y2≻µ)) − log π(y1)/π(y2))²: every π = (p, q, 1 − p − q) with
    p/q = exp(τ⁻¹(p(y1≻µ) − p(y2≻µ))) is a global minimum. With p(y1≻y2) = 0.8:
    p(y1≻µ) = (0.5 + 0.8)/2 = 0.65, p(y2≻µ) = (0.2 + 0.5)/2 = 0.35, so p/q = e^{0.3/τ}.
    The minimiser closest to log πref keeps s(y3) = log 1/3 and s(y1) + s(y2) = 2 log 1/3."""
    prefs = np.array([[0.5, 0.8, 0.1], [0.2, 0.5, 0.9], [0.9, 0.1, 0.5]])
    mu = np.array([0.5, 0.5, 0.0])
    sol = solve_ipo_population(prefs, mu, U3, tau)
    assert sol.logits[0] - sol.logits[1] == pytest.approx(0.3 / tau, rel=1e-12)
    assert sol.logits[2] == pytest.approx(np.log(1 / 3), rel=1e-14)
    assert sol.logits[0] + sol.logits[1] == pytest.approx(2 * np.log(1 / 3), rel=1e-13)
    assert not sol.unique and sol.exists and sol.free == ((0, 1), (2,))
    assert "App. A.2" in sol.message
    # every member of the family is a global minimum (loss 0), whatever mass y3 gets
    for third in (0.05, 0.5, 0.9):
        p = (1 - third) / (1 + np.exp(-0.3 / tau))
        family = np.array([p, 1 - third - p, third])
        assert losses.ipo_population(family, prefs, mu, U3, tau) < 1e-24


def test_ipo_population_zero_reference_mass_is_not_free():
    """Actions with πref = 0 (and µ = 0) keep probability 0 and are not reported free."""
    prefs = bradley_terry_prefs([0.0, 1.0, 2.0])
    sol = solve_ipo_population(prefs, [0.5, 0.5, 0.0], [0.5, 0.5, 0.0], 1.0)
    assert sol.unique and sol.policy[2] == 0.0 and np.isneginf(sol.logits[2])


# ----------------------------------------------------------------- Bradley–Terry and DPO


def test_bt_and_dpo_hand_derived_two_actions():
    """a≻b twice, b≻a once: the BT likelihood 2 log σ(r) + log σ(−r), r = r_a − r_b, is
    maximal at 2σ(−r) = σ(r), i.e. σ(r) = 2/3, r = log 2. Rewards mean zero: ±log(2)/2.
    DPO (Prop. 4): τ(s_a − s_b) = log 2 with uniform πref, π(a)/π(b) = 2^{1/τ}."""
    data = Dataset([0, 0, 1], [1, 1, 0], 2)
    bt = fit_bradley_terry(data)
    assert isinstance(bt, BradleyTerrySolution)
    np.testing.assert_allclose(bt.rewards, [np.log(2) / 2, -np.log(2) / 2], rtol=1e-14)
    assert bt.exists and bt.unique and bt.residual < 1e-14
    for tau in (0.3, 1.0, 4.0):
        sol = solve_dpo_empirical(data, [0.5, 0.5], tau)
        assert sol.policy[0] / sol.policy[1] == pytest.approx(2 ** (1 / tau), rel=1e-12)
        _, grad = losses.dpo_empirical(sol.logits, data, [0.5, 0.5], tau, return_grad=True)
        assert np.abs(grad).max() < 1e-14


def test_dpo_paper_datasets():
    """D1 and D3_never_wins: a is never beaten, b and c lose to a group they never beat, so
    no finite minimiser exists and π → δ_a for every τ. D2 (cycle) is strongly connected and
    symmetric: r = 0, π = πref. D3 (a≻b, b≻a; c never compared): r_a = r_b, finite but not
    unique: c's mass is free; the representative keeps πref's offsets."""
    ref = np.array([0.2, 0.3, 0.5])
    for name in ("D1", "D3_never_wins"):
        sol = solve_dpo_empirical(paper_dataset(name), ref, np.array([0.1, 1.0, 10.0]))
        np.testing.assert_array_equal(sol.policy, np.broadcast_to([1.0, 0.0, 0.0], (3, 3)))
        assert not sol.exists and sol.unique and sol.free == ()
        assert "no finite minimiser" in sol.message and "b, c" in sol.message
        assert "for every tau" in sol.message
    d2 = solve_dpo_empirical(paper_dataset("D2"), ref, 0.7)
    np.testing.assert_allclose(d2.policy, ref, rtol=1e-14)
    assert d2.exists and d2.unique
    d3 = solve_dpo_empirical(paper_dataset("D3"), ref, 0.7)
    np.testing.assert_allclose(d3.policy, ref, rtol=1e-14)
    assert d3.exists and not d3.unique and d3.free == ((0, 1), (2,))


def test_dpo_limit_two_top_groups_are_free():
    """a≻c and b≻c, never a vs b: {a} and {b} are both top components, c → 0, and the
    split of mass between a and b is undetermined."""
    data = Dataset([0, 1], [2, 2], 3)
    sol = solve_dpo_empirical(data, U3, 1.0)
    assert not sol.exists and not sol.unique and sol.free == ((0,), (1,))
    np.testing.assert_allclose(sol.policy, [0.5, 0.5, 0.0])


def _brute_force_exists(data: Dataset) -> bool:
    """A finite BT MLE exists iff, for every partition of every connected component C into
    nonempty S and C \\ S, some datum has its winner in S and loser in C \\ S and some datum
    the reverse (otherwise shifting S's rewards by t → ±∞ always decreases the loss; and if
    every cut is crossed both ways the loss is coercive modulo constants)."""
    n = data.n_actions
    w, l_ = data.winners, data.losers
    comp = list(range(n))
    for _ in range(n):
        for a, b in zip(w, l_):
            comp[a] = comp[b] = min(comp[a], comp[b])
    for root in set(comp):
        members = [y for y in range(n) if comp[y] == root]
        for k in range(1, len(members)):
            for subset in itertools.combinations(members, k):
                inside = np.isin(w, subset), np.isin(l_, subset)
                if not ((inside[0] & ~inside[1]).any() and (inside[1] & ~inside[0]).any()):
                    return False
    return True


@given(datasets(max_actions=6, max_data=10))
def test_existence_matches_brute_force(data):
    assert fit_bradley_terry(data).exists == _brute_force_exists(data)


def _bt_data_loss(rewards, data, return_grad=False):
    """Eq. 2 on data (sum over data), via the package's empirical DPO loss at τ = 1."""
    uniform = np.full(data.n_actions, 1.0 / data.n_actions)
    out = losses.dpo_empirical(rewards, data, uniform, 1.0, return_grad=return_grad)
    return (len(data) * out[0], len(data) * out[1]) if return_grad else len(data) * out


def _lbfgs(data, start, maxiter=15000):
    return minimize(_bt_data_loss, start, args=(data, True), jac=True, method="L-BFGS-B",
                    options=dict(maxiter=maxiter, ftol=0, gtol=1e-12))


@given(datasets(max_actions=5, max_data=12))
def test_bt_fit_optimal_or_limit_certificate(data):
    """Finite MLE: the gradient of Eq. 2 vanishes and L-BFGS from elsewhere does no better.
    No finite MLE: the infimum is the sum of the strongly connected components' own optima;
    the reported limit direction (top components at their MLE, every lower component
    pushed down by t times its depth in the condensation) drives the loss monotonically to
    it, and no finite point (random or a long L-BFGS run) goes below it."""
    bt = fit_bradley_terry(data)
    uniform = np.full(data.n_actions, 1.0 / data.n_actions)
    if bt.exists:
        _, grad = losses.dpo_empirical(bt.rewards, data, uniform, 1.0, return_grad=True)
        assert np.abs(grad).max() < 1e-11
        best = _lbfgs(data, np.ones(data.n_actions), 2000).fun
        assert _bt_data_loss(bt.rewards, data) <= best + 1e-9
        return
    infimum, path = _limit_path(data, bt)
    values = [_bt_data_loss(path(t), data) for t in (1, 2, 4, 8, 16, 32, 64)]
    assert all(np.diff(values) <= 1e-12)
    assert values[-1] - infimum < 1e-12 + 1e-6 * abs(infimum)
    rng = np.random.default_rng(0)
    for r in rng.normal(scale=3, size=(20, data.n_actions)):
        assert _bt_data_loss(r, data) >= infimum - 1e-12
    lbfgs = _lbfgs(data, np.zeros(data.n_actions))
    assert infimum - 1e-12 <= lbfgs.fun < infimum + 1e-3


def _limit_path(data: Dataset, bt):
    """Infimum and limit path built from the strongly connected components' own MLEs."""
    from scipy.sparse.csgraph import connected_components
    n = data.n_actions
    counts = data.win_counts()
    _, scc = connected_components(counts > 0, directed=True, connection="strong")
    inner = np.zeros(n)
    infimum = 0.0
    for comp in np.unique(scc):
        members = np.flatnonzero(scc == comp)
        keep = np.isin(data.winners, members) & np.isin(data.losers, members)
        if len(members) > 1 and keep.any():
            remap = {y: k for k, y in enumerate(members)}
            sub = Dataset([remap[y] for y in data.winners[keep]],
                          [remap[y] for y in data.losers[keep]], len(members))
            inner[members] = fit_bradley_terry(sub).rewards
            infimum += _bt_data_loss(inner[members], sub)
    depth = np.zeros(n)
    for _ in range(n):  # longest path in the condensation, from the top components
        for a, b in zip(data.winners, data.losers):
            if scc[a] != scc[b]:
                depth[scc == scc[b]] = np.maximum(depth[scc == scc[b]], depth[a] + 1)
    top = np.isfinite(bt.rewards)
    assert (top == (depth == 0)).all()
    np.testing.assert_allclose(bt.rewards[top], inner[top], atol=1e-9)
    return infimum, lambda t: inner - t * depth


def _reachability(adjacency: np.ndarray) -> np.ndarray:
    """Reflexive–transitive closure of a boolean digraph by repeated squaring (no csgraph)."""
    reach = adjacency | np.eye(len(adjacency), dtype=bool)
    for _ in range(int(np.log2(len(adjacency))) + 2):
        reach = (reach.astype(float) @ reach.astype(float)) > 0
    return reach


def _top_groups(reach: np.ndarray, live: np.ndarray, n: int):
    """Independent limit structure from the reachability matrix of a beats-digraph over
    global nodes ``x·n + y``: node v is *top* iff every node that reaches v is reached back
    by v (v's strongly connected component is never beaten from outside); the free groups
    are, per problem with more than one, the classes of mutual reachability among the live
    top nodes."""
    top = np.all(~reach | reach.T, axis=0)
    groups = []
    for k in range(len(reach) // n):
        nodes = [v for v in range(k * n, (k + 1) * n) if top[v] and live[v]]
        classes = []
        for v in nodes:
            for cls in classes:
                if reach[v, cls[0]] and reach[cls[0], v]:
                    cls.append(v)
                    break
            else:
                classes.append([v])
        if len(classes) > 1:
            groups += [tuple(cls) for cls in classes]
    return top, groups


@given(datasets(max_actions=5, max_data=12, contexts=True), st.floats(0.1, 5.0), st.data())
def test_dpo_empirical_limit_structure_vs_reachability(data, tau, draw):
    """DPO (Eq. 4) against an independent description of its optimum or limit, with
    contexts (one may have a finite optimum and another not) and πref vanishing on some
    never-compared actions. From the transitive closure of the beats-digraph alone: a
    finite minimiser exists iff every node is top; the policy is exactly 0 off the top nodes
    and on πref = 0, positive elsewhere; on the data among top nodes (each top component's
    own comparisons) the gradient of Eq. 4 vanishes, so every top component sits at its own
    optimum (for a finite minimiser: the whole gradient vanishes); ``free`` is the
    mutual-reachability classes of live top nodes in contexts with more than one."""
    n, size = data.n_actions, data.n_contexts * data.n_actions
    heads = data.context_index * n + data.winners
    tails = data.context_index * n + data.losers
    raw = np.array(draw.draw(st.lists(st.floats(0.05, 1.0), min_size=size, max_size=size)))
    dropped = np.array(draw.draw(st.lists(st.booleans(), min_size=size, max_size=size)))
    compared = np.isin(np.arange(size), np.r_[heads, tails])
    raw = np.where(dropped & ~compared, 0.0, raw).reshape(data.n_contexts, n)
    raw[raw.sum(1) == 0, 0] = 1.0
    pi_ref = raw / raw.sum(1, keepdims=True)
    sol = solve_dpo_empirical(data, pi_ref, tau)
    adjacency = np.zeros((size, size), dtype=bool)
    adjacency[heads, tails] = True
    live = pi_ref.ravel() > 0
    top, groups = _top_groups(_reachability(adjacency), live, n)
    assert sol.exists == bool(top.all())
    policy = sol.policy.ravel()
    assert (policy[~(top & live)] == 0).all() and (policy[top & live] > 0).all()
    assert np.isfinite(sol.logits.ravel()[top & live]).all()
    inner = top[heads] & top[tails]
    if inner.any():
        sub = Dataset(data.winners[inner], data.losers[inner], n,
                      contexts=data.context_index[inner], n_contexts=data.n_contexts)
        logits = np.where(np.isfinite(sol.logits), sol.logits, 0.0)  # off-top: not in sub
        _, grad = losses.dpo_empirical(logits, sub, pi_ref, tau, return_grad=True)
        assert np.abs(grad).max() < 1e-10
    expected = sorted(tuple((v // n, v % n) for v in group) for group in groups)
    assert sorted(sol.free) == expected and sol.unique == (not groups)
    if sol.exists:  # −∞ only on never-compared actions with πref = 0: not in the loss
        finite = np.where(np.isfinite(sol.logits), sol.logits, 0.0)
        _, grad = losses.dpo_empirical(finite, data, pi_ref, tau, return_grad=True)
        assert np.abs(grad).max() < 1e-10


@given(st.integers(2, 6).flatmap(lambda n: st.tuples(
    preference_matrices(n, 0.0, 1.0), policies(n, full=False), policies(n, full=False))),
    st.floats(0.05, 20.0))
def test_ipo_population_partial_support_is_closest_minimiser(problem, tau):
    """Eq. 14 with µ (and πref) not of full support, derived directly: with
    Supp(µ) ⊆ Supp(πref), the minimisers are s = log πref + p(·≻µ)/τ + c on Supp(µ) and
    anything off it; the one closest to log πref keeps s = log πref off Supp(µ) and has
    Σ_{Supp(µ)} (s − log πref) = 0. The loss Eq. 13 is zero there; unique iff πref has no
    mass off Supp(µ)."""
    prefs, mu, pi_ref = problem
    pi_ref = np.where(mu > 0, pi_ref + 0.1, pi_ref)
    pi_ref = pi_ref / pi_ref.sum()
    sol = solve_ipo_population(prefs, mu, pi_ref, tau)
    support = mu > 0
    with np.errstate(divide="ignore"):
        log_ref = np.log(pi_ref)
    np.testing.assert_array_equal(sol.logits[~support], log_ref[~support])
    shift = sol.logits[support] - log_ref[support]
    assert abs(shift.sum()) < 1e-12 * support.sum() * (1 + 1 / tau)
    assert np.ptp(shift - (prefs @ mu)[support] / tau) < 1e-12 * (1 + 1 / tau)
    assert losses.ipo_population(sol.policy, prefs, mu, pi_ref, tau) < 1e-20 * (1 + 1 / tau**2)
    off = np.flatnonzero(~support & (pi_ref > 0))
    assert sol.unique == (off.size == 0)
    if off.size:
        assert sol.free == tuple(sorted([tuple(np.flatnonzero(support))]
                                        + [(int(y),) for y in off]))


@pytest.mark.parametrize("seed", range(3))
def test_ipo_population_batch_is_the_closest_minimiser_problem_by_problem(seed):
    """The partial-support property above on a batch of 3 problems (one per context, with
    different supports): each problem's shift sums to zero over ITS Supp(µ), each residual
    certificate vanishes, and the batch equals the problems solved one at a time."""
    rng = np.random.default_rng(seed)
    n = 4
    prefs = np.stack([bradley_terry_prefs(rng.normal(size=n)) for _ in range(3)])
    mu = rng.dirichlet(np.ones(n), size=3) * (rng.random((3, n)) < 0.7)
    mu[:, 0] += 0.5
    mu /= mu.sum(-1, keepdims=True)
    pi_ref = rng.dirichlet(np.ones(n), size=3)
    tau = float(rng.uniform(0.2, 3.0))
    sol = solve_ipo_population(prefs, mu, pi_ref, tau)
    assert sol.residual < 1e-12 * (1 + 1 / tau)
    for k in range(3):
        support = mu[k] > 0
        shift = sol.logits[k] - np.log(pi_ref[k])
        np.testing.assert_allclose(shift[~support], 0.0, atol=1e-12)
        assert abs(shift[support].sum()) < 1e-12 * (1 + 1 / tau)
        np.testing.assert_allclose(shift[support] - shift[support].mean(),
                                   (prefs[k] @ mu[k])[support] / tau
                                   - np.mean((prefs[k] @ mu[k])[support] / tau), atol=1e-12)
        one = solve_ipo_population(prefs[k], mu[k], pi_ref[k], tau)
        np.testing.assert_allclose(sol.policy[k], one.policy, rtol=1e-12)
        np.testing.assert_allclose(sol.logits[k], one.logits, rtol=1e-12, atol=1e-12)


@given(st.integers(2, 5).flatmap(lambda n: st.tuples(
    preference_matrices(n, 0.0, 1.0), policies(n, full=False), policies(n))),
    st.floats(0.1, 5.0), st.booleans())
def test_dpo_population_partial_support_and_deterministic_prefs(problem, tau, rounded):
    """Eq. 5 with µ not of full support and (optionally) preferences in {0, 1}: existence
    and the limit structure from the transitive closure of {µ(y)µ(y′)p(y≻y′) > 0} (actions
    off Supp(µ) are isolated, hence top and free); with a finite minimiser, the central
    finite-difference gradient of Eq. 5 (the package's loss) in the logits of Supp(µ)
    vanishes at the returned policy."""
    prefs, mu, pi_ref = problem
    if rounded:
        upper = np.triu(np.round(prefs), 1)
        prefs = upper + np.tril(1.0 - upper.T, -1)
        np.fill_diagonal(prefs, 0.5)
    n = len(mu)
    sol = solve_dpo_population(prefs, mu, pi_ref, tau)
    # µ(y)µ(y′)p(y≻y′) > 0 factor by factor: the product of positive floats may underflow
    beats = (mu[:, None] > 0) & (mu[None, :] > 0) & (prefs > 0) & ~np.eye(n, dtype=bool)
    top, groups = _top_groups(_reachability(beats), np.ones(n, dtype=bool), n)
    assert sol.exists == bool(top.all())
    # On top actions the policy is positive, though it may round to 0 (prefs ~ 1e-309 give
    # reward gaps ~ 710 and e^(-710/tau) underflows): their logits stay finite.
    assert (sol.policy[~top] == 0).all() and np.isfinite(sol.logits[top]).all()
    assert sol.free == tuple(sorted(groups)) and sol.unique == (not groups)
    support = np.flatnonzero(mu > 0)
    if not sol.exists or support.size < 2 or (sol.policy[support] == 0).any():
        return  # (an underflowed policy makes the float loss +inf: no finite difference)

    def loss(z):
        logits = np.log(sol.policy)
        logits[support] = z
        pi = np.exp(logits - logits.max())
        return float(losses.dpo_population(pi / pi.sum(), prefs, mu, pi_ref, tau))

    z, eps = np.log(sol.policy[support]), 1e-6
    fd = [(loss(z + eps * e) - loss(z - eps * e)) / (2 * eps) for e in np.eye(support.size)]
    assert np.abs(fd).max() < 1e-8


def test_dpo_free_representative_is_the_gradient_descent_limit():
    """a≻b twice, b≻a once, c never compared; πref = (0.5, 0.3, 0.2), τ = 0.5. The BT MLE
    is r_a − r_b = log 2 (see the two-action test), mean zero: r = (log 2/2, −log 2/2, 0),
    so the representative is π ∝ πref · (2^{1/(2τ)}, 2^{−1/(2τ)}, 1) = πref · (2, 1/2, 1).
    Plain gradient descent on Eq. 4 from log πref keeps s_a + s_b and s_c fixed (each
    component's gradient sums to zero), so it converges to the same policy."""
    data = Dataset([0, 0, 1], [1, 1, 0], 3)
    ref = np.array([0.5, 0.3, 0.2])
    sol = solve_dpo_empirical(data, ref, 0.5)
    expected = ref * [2.0, 0.5, 1.0]
    np.testing.assert_allclose(sol.policy, expected / expected.sum(), rtol=1e-13)
    assert sol.exists and not sol.unique and sol.free == ((0, 1), (2,))
    logits = np.log(ref)
    for _ in range(3000):
        logits = logits - 2.0 * losses.dpo_empirical(logits, data, ref, 0.5, return_grad=True)[1]
    descent = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(descent, sol.policy, rtol=1e-10)


def test_dpo_logits_stay_finite_when_the_policy_underflows():
    """a≻b three times, b≻a once: the BT MLE is r_a − r_b = log 3, so at τ = 10⁻³ the
    finite DPO minimiser has s_a − s_b = log(3)/τ ≈ 1098.6 (uniform πref): π(b) underflows
    to 0, but the logits must stay finite and exact."""
    data = Dataset([0, 0, 0, 1], [1, 1, 1, 0], 2)
    sol = solve_dpo_empirical(data, [0.5, 0.5], 1e-3)
    assert sol.exists and sol.unique
    assert sol.logits[0] - sol.logits[1] == pytest.approx(np.log(3) / 1e-3, rel=1e-12)
    _, grad = losses.dpo_empirical(sol.logits, data, [0.5, 0.5], 1e-3, return_grad=True)
    assert np.abs(grad).max() < 1e-14


def test_ipo_empirical_uniqueness_does_not_depend_on_init():
    """D3: c is never compared and πref(c) > 0, so c's mass is free whatever init is; an
    init of −∞ on c only picks the member of the family with π(c) = 0."""
    ref = [0.4, 0.4, 0.2]
    for init in (None, [0.0, 0.0, -np.inf]):
        sol = solve_ipo_empirical(paper_dataset("D3"), ref, 1.0, init=init)
        assert not sol.unique and sol.free == ((0, 1), (2,))
    assert sol.policy[2] == 0.0


def test_bt_population_on_bradley_terry_prefs_recovers_rewards():
    rng = np.random.default_rng(1)
    rewards = rng.normal(size=(3, 5))
    mu = rng.dirichlet(np.ones(5), size=3)
    bt = fit_bradley_terry(bradley_terry_prefs(rewards), mu)
    np.testing.assert_allclose(bt.rewards, rewards - rewards.mean(-1, keepdims=True), atol=1e-12)
    assert bt.exists and bt.unique and bt.residual < 1e-13
    # the log-likelihood of a population fit is minus Eq. 2 (losses.bt_reward_population)
    np.testing.assert_allclose(bt.loglik, -losses.bt_reward_population(
        bt.rewards, bradley_terry_prefs(rewards), mu), rtol=1e-12)


def _dpo_objective(logits, prefs, mu, pi_ref, tau):
    pi = np.exp(logits - logits.max())
    return float(losses.dpo_population(pi / pi.sum(), prefs, mu, pi_ref, tau))


@given(st.integers(2, 5).flatmap(lambda n: st.tuples(
    preference_matrices(n), policies(n), policies(n))), st.floats(0.1, 5.0))
def test_prop4_dpo_optimum_is_rlhf_of_bt_fit(problem, tau):
    """Prop. 4 on non-Bradley–Terry preferences (full-support µ, prefs in (0, 1)): the DPO
    optimum equals rlhf_policy(BT rewards); independently, the finite-difference gradient of
    Eq. 5 vanishes there and BFGS from πref reaches the same policy."""
    prefs, mu, pi_ref = problem
    sol = solve_dpo_population(prefs, mu, pi_ref, tau)
    bt = fit_bradley_terry(prefs, mu)
    np.testing.assert_allclose(sol.policy, rlhf_policy(bt.rewards, pi_ref, tau), rtol=1e-12)
    assert sol.exists and sol.unique
    logits = np.log(sol.policy)
    eps = 1e-6
    fd = [(_dpo_objective(logits + eps * e, prefs, mu, pi_ref, tau)
           - _dpo_objective(logits - eps * e, prefs, mu, pi_ref, tau)) / (2 * eps)
          for e in np.eye(len(mu))]
    assert np.abs(fd).max() < 1e-8
    other = minimize(_dpo_objective, np.log(pi_ref), args=(prefs, mu, pi_ref, tau),
                     method="BFGS", options=dict(gtol=1e-12))
    pi = np.exp(other.x - other.x.max())
    np.testing.assert_allclose(pi / pi.sum(), sol.policy, atol=2e-5)
    assert _dpo_objective(logits, prefs, mu, pi_ref, tau) <= other.fun + 1e-12


@given(st.integers(2, 5).flatmap(lambda n: st.tuples(
    st.lists(st.floats(-3, 3), min_size=n, max_size=n), policies(n), policies(n))),
    st.floats(0.05, 10.0))
def test_prop1_dpo_population_on_bt_prefs_is_logit_psipo(problem, tau):
    """Prop. 1: under Bradley–Terry preferences the DPO optimum is the Ψ = logit policy."""
    rewards, mu, pi_ref = problem
    prefs = bradley_terry_prefs(rewards)
    sol = solve_dpo_population(prefs, mu, pi_ref, tau)
    np.testing.assert_allclose(sol.policy, psipo_policy(prefs, mu, pi_ref, tau, "logit"),
                               rtol=1e-9, atol=1e-300)


def test_dpo_population_deterministic_preference_sec42():
    """Sec. 4.2: two actions, p(y1 ≻ y2) = 1: DPO drives π(y2) → 0 for every τ, which is
    also the Ψ = logit Gibbs limit (g = ±∞)."""
    prefs = np.array([[0.5, 1.0], [0.0, 0.5]])
    for tau in (0.01, 1.0, 100.0):
        sol = solve_dpo_population(prefs, [0.5, 0.5], [0.3, 0.7], tau)
        np.testing.assert_array_equal(sol.policy, [1.0, 0.0])
        np.testing.assert_array_equal(sol.policy, psipo_policy(prefs, [0.5, 0.5], [0.3, 0.7],
                                                               tau, "logit"))
        assert not sol.exists and sol.unique


def test_dpo_population_batch_names_the_problem_whose_action_is_driven_to_zero():
    """A batch of two problems: BT rewards (0, 1) give Gibbs(πref, r, τ) ∝ πref e^{r/τ}
    (Prop. 4 with the exact BT fit); p(y0 ≻ y1) = 1 in problem 1 drives π(y1) to 0
    (Sec. 4.2), and the message says which action, in which problem, and that DPO sends
    its probability to 0 for every τ."""
    prefs = np.stack([bradley_terry_prefs([0.0, 1.0]), np.array([[0.5, 1.0], [0.0, 0.5]])])
    ref, tau = np.array([0.3, 0.7]), 0.5
    sol = solve_dpo_population(prefs, [0.5, 0.5], ref, tau)
    gibbs = ref * np.exp(np.array([0.0, 1.0]) / tau)
    np.testing.assert_allclose(sol.policy, [gibbs / gibbs.sum(), [1.0, 0.0]], rtol=1e-13)
    assert not sol.exists and sol.unique
    assert "actions 1 in problem (1,) lose to a group they never beat" in sol.message
    assert sol.message.endswith("; DPO drives their probability to 0 for every tau")

def test_prop4_cyclic_preferences():
    """A non-transitive (rock–paper–scissors) model with uniform µ: by symmetry the BT fit
    is r = 0, so DPO returns πref, whereas IPO (Eq. 7) also returns πref since p(y≻µ) = 1/2."""
    prefs = np.array([[0.5, 0.9, 0.1], [0.1, 0.5, 0.9], [0.9, 0.1, 0.5]])
    ref = np.array([0.5, 0.3, 0.2])
    sol = solve_dpo_population(prefs, U3, ref, 0.5)
    np.testing.assert_allclose(sol.policy, ref, rtol=1e-13)
    np.testing.assert_allclose(fit_bradley_terry(prefs, U3).rewards, 0, atol=1e-15)


def test_dpo_population_outside_support_is_free():
    prefs = bradley_terry_prefs([0.0, 1.0, 2.0])
    sol = solve_dpo_population(prefs, [0.5, 0.5, 0.0], U3, 1.0)
    assert sol.exists and not sol.unique and sol.free == ((0, 1), (2,))


def test_free_format_with_two_leading_axes():
    """Population problems with leading shape (2, 2): free entries are (i, j, action)."""
    prefs = np.broadcast_to(bradley_terry_prefs([0.0, 1.0, 2.0]), (2, 2, 3, 3))
    mu = np.broadcast_to(U3, (2, 2, 3)).copy()
    mu[1, 0] = [0.5, 0.5, 0.0]
    for solver in (solve_dpo_population, solve_ipo_population):
        sol = solver(prefs, mu, U3, 1.0)
        assert sol.free == (((1, 0, 0), (1, 0, 1)), ((1, 0, 2),)) and not sol.unique


def test_dpo_empirical_contexts_and_tau_grid():
    d1, d2 = paper_dataset("D1"), Dataset([0, 0, 1], [1, 1, 0], 3)
    joint = Dataset(np.r_[d1.winners, d2.winners], np.r_[d1.losers, d2.losers], 3,
                    contexts=[0, 0, 0, 1, 1, 1])
    taus = np.array([0.5, 2.0])
    sol = solve_dpo_empirical(joint, U3, taus)
    assert sol.policy.shape == (2, 2, 3)
    np.testing.assert_array_equal(sol.policy[:, 0], [[1, 0, 0], [1, 0, 0]])
    for k, tau in enumerate(taus):
        np.testing.assert_allclose(sol.policy[k, 1], solve_dpo_empirical(d2, U3, tau).policy)
    assert not sol.exists and not sol.unique and sol.free == (((1, 0), (1, 1)), ((1, 2),))
    assert "context (0,)" in sol.message


def test_newton_converges_on_lopsided_chain():
    """A strongly connected chain where each step is won 50:1 forward, 1:50 back: rewards
    spread ~ 20·log 50 ≈ 78; the gradient still vanishes to 1e-12 relative."""
    n = 21
    fwd = np.repeat(np.arange(n - 1), 50)
    back = np.arange(n - 1)
    data = Dataset(np.r_[fwd, back + 1], np.r_[fwd + 1, back], n)
    bt = fit_bradley_terry(data)
    np.testing.assert_allclose(np.diff(bt.rewards), -np.log(50), rtol=1e-12)
    assert bt.residual < 1e-12


# ------------------------------------------------------------------------------ bad input


def test_bad_inputs_raise_value_errors_naming_the_argument():
    d1 = paper_dataset("D1")
    with pytest.raises(ValueError, match=r"pi_ref has shape \(3,\), must be \(4,\) \(n_"):
        solve_ipo_empirical(Dataset([0, 3], [3, 1], 4), U3, 1.0)  # action 3 beyond pi_ref
    with pytest.raises(ValueError, match="pi_ref vanishes"):
        solve_dpo_empirical(d1, [0.5, 0.5, 0.0], 1.0)
    ctx = Dataset([0, 1], [1, 2], 3, contexts=[0, 1])
    with pytest.raises(ValueError, match="pi_ref has shape"):
        solve_ipo_empirical(ctx, np.full((3, 3), 1 / 3), 1.0)  # 3 contexts given, 2 exist
    with pytest.raises(ValueError, match="tau"):
        solve_ipo_empirical(d1, U3, -1.0)
    with pytest.raises(ValueError, match="init has shape"):
        solve_ipo_empirical(d1, U3, 1.0, init=[0.0, 1.0])
    with pytest.raises(ValueError, match=r"init\[1\] = -inf: init must be finite"):
        solve_ipo_empirical(d1, U3, 1.0, init=[0.0, -np.inf, 1.0])
    with pytest.raises(ValueError, match=r"pi_ref\[2\] = 0 but mu\[2\] > 0"):
        solve_ipo_population(np.full((3, 3), 0.5), U3, [0.5, 0.5, 0.0], 1.0)
    with pytest.raises(ValueError, match="prefs"):
        solve_dpo_population(np.full((3, 3), 0.7), U3, U3, 1.0)
    for solver in (solve_ipo_population, solve_dpo_population):
        with pytest.raises(ValueError, match=r"pi_ref has 4 actions on its last axis, "
                                             r"expected 3, as prefs"):
            solver(np.full((3, 3), 0.5), U3, np.full(4, 0.25), 1.0)
    with pytest.raises(TypeError, match="without mu"):
        fit_bradley_terry(np.full((3, 3), 0.5))
    with pytest.raises(TypeError, match="mu must not be given"):
        fit_bradley_terry(d1, U3)
    with pytest.raises(TypeError, match="Dataset"):
        solve_dpo_empirical([(0, 1)], U3, 1.0)


def test_solution_is_frozen():
    sol = solve_ipo_empirical(paper_dataset("D1"), U3, 1.0)
    assert isinstance(sol, Solution)
    with pytest.raises(AttributeError):
        sol.exists = False



@pytest.mark.parametrize("reference", [0, None])
def test_bt_covariance_is_the_inverse_numerical_hessian(reference):
    """The observed-information covariance of a Bradley–Terry fit against the inverse of the
    Hessian (central differences of the gradient, written out here) of the negative
    log-likelihood Σ w log(1 + e^{−(r_w − r_l)}),
    in the free rewards r_1.. (reference 0: r_0 = 0, its row and column exactly 0), or, with
    no reference, of the rewards of mean zero (Cov = P H_P⁻¹ Pᵀ in a basis of Σ r = 0)."""
    rng = np.random.default_rng(3)
    n = 4
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    data = Dataset.from_pairs(pairs, weights=rng.integers(1, 5, len(pairs)))
    fit = fit_bradley_terry(data, reference=reference)
    w, win, lose = data.datum_weights, data.winners, data.losers

    def grad(x):  # ∇ of Σ w log(1 + e^{−(r_w − r_l)}) in x, r = basis @ x
        r = basis @ x
        coef = -w / (1.0 + np.exp(r[win] - r[lose]))
        return basis.T @ (np.bincount(win, coef, n) - np.bincount(lose, coef, n))

    basis = np.eye(n)[:, 1:] if reference == 0 else np.linalg.qr(
        np.eye(n) - 1.0 / n)[0][:, : n - 1]
    x0 = np.linalg.lstsq(basis, fit.rewards - (0 if reference == 0 else fit.rewards.mean()),
                         rcond=None)[0]
    step = 1e-6 * np.eye(n - 1)
    hess = np.stack([(grad(x0 + e) - grad(x0 - e)) / 2e-6 for e in step])
    expected = basis @ np.linalg.inv(hess) @ basis.T
    np.testing.assert_allclose(fit.covariance, expected, rtol=1e-4, atol=1e-7)
    if reference == 0:
        assert not fit.covariance[0].any() and not fit.covariance[:, 0].any()


def test_dpo_tie_parameter_without_tie_model_names_both():
    """tie_parameter has a meaning only with a tie model: the error names both arguments."""
    data = Dataset([0, 0, 1], [1, 1, 0], 2)
    with pytest.raises(ValueError, match=r"tie_parameter = 0\.5 is given without tie_model"):
        solve_dpo_empirical(data, [0.5, 0.5], 1.0, tie_parameter=0.5)


def test_ipo_normal_residual_is_relative_per_solve():
    # _normal_residual's definition (docstring): max over the two τ-independent solves k of
    # max|L θ_k − b_k| / max|b_k|, on compared nodes; each solve against its OWN scale (a
    # global scale would hide the error of the smaller right-hand side).
    import scipy.sparse as sp

    from psipo_exact.solvers.ipo import _normal_residual
    w = np.array([[0, 2.0, 0], [2.0, 0, 3.0], [0, 3.0, 0]])
    dense = np.diag(w.sum(1)) - w
    exact = np.array([[1.0, 1e6], [-2.0, 3e6], [0.5, -4e6]])
    rhs = dense @ exact
    solved = exact + np.array([[1e-3, 0], [0, 0], [0, 0]])  # error in solve 0 only
    error = np.abs(dense @ solved - rhs).max(0)
    want = max(error[0] / np.abs(rhs[:, 0]).max(), error[1] / np.abs(rhs[:, 1]).max())
    got = _normal_residual(sp.csr_matrix(dense), solved, rhs, np.ones(3, bool))
    assert got == pytest.approx(want, rel=1e-9) and want > 1e-4


def test_bradley_terry_messages_name_actions_and_arguments():
    # The diverging actions are named as the user named them (Dataset.action_names), and a
    # leading-shape clash names both population arguments.
    data = Dataset.from_pairs([(0, 1), (1, 2), (0, 2)], 3, action_names=["good", "mid", "bad"])
    sol = fit_bradley_terry(data)
    assert not sol.exists and "actions mid, bad lose" in sol.message
    with pytest.raises(ValueError, match=r"\bprefs \(2,\), mu \(3,\)"):
        fit_bradley_terry(np.full((2, 3, 3), .5), np.ones((3, 3)) / 3)


@pytest.mark.parametrize("solver", [solve_ipo_population, solve_dpo_population])
def test_population_solvers_take_a_model_and_tau_by_keyword(solver):
    # solver(model, tau=...) is solver(model.prefs, model.mu, model.pi_ref, tau)
    import psipo_exact as px
    model = px.PreferenceModel(np.array([[.5, .7, .2], [.3, .5, .9], [.8, .1, .5]]),
                               np.array([.5, .3, .2]), np.array([.2, .3, .5]))
    by_keyword = solver(model, tau=0.5)
    explicit = solver(model.prefs, model.mu, model.pi_ref, 0.5)
    np.testing.assert_array_equal(by_keyword.policy, explicit.policy)
    np.testing.assert_array_equal(solver(model, 0.5).policy, explicit.policy)


def test_bt_start_log_sums_are_logsumexp_per_node():
    # The Newton start's weighted win/loss totals, log Σ_e w_e per node, against scipy's
    # logsumexp; log-weights 700 apart would overflow a plain sum of exp.
    from scipy.special import logsumexp

    from psipo_exact.solvers._bt_newton import _log_sum
    values = np.array([0.0, np.log(3.0), 700.0, -5.0, 1.0])
    labels = np.array([0, 0, 2, 2, 0])
    got = _log_sum(values, labels, 4)
    want = [logsumexp(values[labels == k]) if (labels == k).any() else -np.inf
            for k in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-15)
