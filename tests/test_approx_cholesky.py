"""Tests of the randomized approximate Cholesky preconditioner of the Laplacian solves behind
Eq. 17 (IPO) and the Bradley–Terry/DPO Newton steps (Azar et al., arXiv:2310.12036).

Oracles, independent of the package: the exact Schur complement of one vertex (the clique
``w_i w_j / W``) against the average of many sampled eliminations; sparse LU of the
Laplacian with one vertex per component removed (scipy's ``spsolve``), and the dense
minimum-norm solution (``numpy.linalg.lstsq``), compared after centring per component; the
residual ``max|L x − b|`` from the sparse matrix. The adversarial cores of the benchmark
(hub + ladder, hub + grid, expander + heavy hubs, weights over twelve decades) are built
here at n ≈ 2000–3000 and forced through the new path.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

from psipo_exact.model import Dataset
from psipo_exact.solvers import _laplacian as graph_linalg
from psipo_exact.solvers import solve_ipo_empirical

approx = importlib.import_module("psipo_exact.solvers._approx_cholesky")


def _laplacian(heads, tails, weights, n):
    w = sp.coo_matrix((weights, (heads, tails)), shape=(n, n)).tocsr()
    w = w + w.T
    return (sp.diags(np.asarray(w.sum(axis=1)).ravel()) - w).tocsr()


def _components(lap):
    return connected_components(lap.multiply(lap != 0), directed=False)[1]


def _direct(lap, rhs, labels):
    """Sparse LU with the first vertex of every component fixed at 0, then centred."""
    _, first = np.unique(labels, return_index=True)
    keep = np.setdiff1d(np.arange(lap.shape[0]), first)
    x = np.zeros_like(rhs)
    reduced = lap[keep][:, keep].tocsc()
    for k in range(rhs.shape[1]):
        x[keep, k] = spsolve(reduced, rhs[keep, k])
    return _centred(x, labels)


def _centred(x, labels):
    means = np.stack([np.bincount(labels, col) / np.bincount(labels) for col in x.T], 1)
    return x - means[labels]


def _consistent(rng, labels, k=2):
    return _centred(rng.normal(size=(labels.size, k)), labels)


# ------------------------------------------------------------------ the sampled elimination


def test_sampled_clique_is_the_exact_schur_complement_in_expectation():
    """Eliminating the centre of a star with weights w: the sampled edges' weights average,
    over 40 000 draws, to the clique ``w_i w_j / W`` (within 5 standard errors)."""
    w = np.array([0.5, 1.0, 2.0, 3.0, 7.0])
    n = w.size + 1
    lap = _laplacian(np.zeros(w.size, int), np.arange(1, n), w, n)
    graph = approx._adjacency(lap)
    degree = np.diff(graph.indptr)
    draws = 40_000
    total, square = np.zeros((n, n)), np.zeros((n, n))
    for seed in range(draws // 2000):
        factor = approx.ApproximateCholesky.__new__(approx.ApproximateCholesky)
        factor.rounds = []
        # 2000 independent stars at once: the same star repeated on disjoint vertices
        stars = sp.block_diag([graph] * 2000, format="csr")
        chosen = np.arange(2000) * n
        rest = factor._eliminate(stars, np.tile(degree, 2000), chosen,
                                 np.random.default_rng(seed)).tocoo()
        assert np.all(rest.row // n == rest.col // n)       # edges stay within their star
        pair = (rest.row % n) * n + rest.col % n
        total += np.bincount(pair, rest.data, n * n).reshape(n, n)
        square += np.bincount(pair, rest.data ** 2, n * n).reshape(n, n)
    mean = total / draws
    sd = np.sqrt(np.maximum(square / draws - mean ** 2, 0.0))
    exact = np.outer(w, w) / w.sum()
    np.fill_diagonal(exact, 0.0)
    np.testing.assert_array_less(np.abs(mean[1:, 1:] - exact), 5 * sd[1:, 1:] / np.sqrt(draws)
                                 + 1e-12)


def test_each_elimination_adds_a_tree_over_the_neighbours():
    """d − 1 sampled edges joining all d neighbours (connectivity is kept), of positive
    weight; a vertex of degree 2 becomes the exact series edge ``w₁ w₂ / (w₁ + w₂)``."""
    rng = np.random.default_rng(3)
    for d in (2, 3, 6, 11):
        w = rng.uniform(0.1, 5.0, d)
        lap = _laplacian(np.zeros(d, int), np.arange(1, d + 1), w, d + 1)
        graph = approx._adjacency(lap)
        factor = approx.ApproximateCholesky.__new__(approx.ApproximateCholesky)
        factor.rounds = []
        rest = factor._eliminate(graph, np.diff(graph.indptr), np.array([0]), rng)
        sub = rest[1:, 1:]
        assert sub.nnz == 2 * (d - 1) and np.all(sub.data > 0)
        assert connected_components(sub, directed=False)[0] == 1
        if d == 2:
            assert sub[0, 1] == pytest.approx(w[0] * w[1] / w.sum(), rel=1e-15)


def test_preconditioner_is_symmetric_positive_on_consistent_vectors():
    rng = np.random.default_rng(0)
    heads, tails, weights, n = _spread_weights(800, rng)
    lap = _laplacian(heads, tails, weights, n)
    labels = _components(lap)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(approx, "DENSE_CORE", 20)
        factor = approx.ApproximateCholesky(lap)
    assert factor.n_rounds > 3
    a, b = _consistent(rng, labels, 1), _consistent(rng, labels, 1)
    ab, ba = float(a[:, 0] @ factor.solve(b)[:, 0]), float(b[:, 0] @ factor.solve(a)[:, 0])
    assert ab == pytest.approx(ba, rel=1e-10)
    assert float(a[:, 0] @ factor.solve(a)[:, 0]) > 0


def test_degree_two_graphs_are_factored_exactly():
    """On a cycle every elimination is exact (degree ≤ 2): the factor solves L x = b."""
    n = 1500
    cycle = np.arange(n)
    lap = _laplacian(cycle, (cycle + 1) % n, np.linspace(0.5, 3.0, n), n)
    rhs = _consistent(np.random.default_rng(1), np.zeros(n, int))
    x = approx.ApproximateCholesky(lap).solve(rhs)
    assert np.abs(lap @ x - rhs).max() < 1e-10


# ---------------------------------------------------------------------- adversarial cores


def _hub_ladder(n, rng):
    ladder = np.arange(1, n)
    heads = np.concatenate([ladder[:-1], ladder[:-2], np.zeros(ladder[::40].size, int)])
    tails = np.concatenate([ladder[1:], ladder[2:], ladder[::40]])
    return heads, tails, np.ones(heads.size), n


def _hub_grid(n, rng):
    side = int(np.sqrt(n - 1))
    cell = np.arange(side * side).reshape(side, side) + 1
    hub = np.arange(1, side * side + 1, 30)
    heads = np.concatenate([cell[:, :-1].ravel(), cell[:-1, :].ravel(), np.zeros(hub.size, int)])
    tails = np.concatenate([cell[:, 1:].ravel(), cell[1:, :].ravel(), hub])
    return heads, tails, np.ones(heads.size), side * side + 1


def _expander_hubs(n, rng):
    a = rng.integers(5, n, 4 * n)
    b = 5 + (a - 5 + rng.integers(1, n - 5, a.size)) % (n - 5)
    hubs = np.repeat(np.arange(5), n // 10)
    members = np.concatenate([rng.choice(np.arange(5, n), n // 10, replace=False)
                              for _ in range(5)])
    return (np.concatenate([a, hubs]), np.concatenate([b, members]),
            np.concatenate([np.ones(a.size), np.full(hubs.size, 1e3)]), n)


def _spread_weights(n, rng):
    a = rng.integers(0, n, 4 * n)
    b = (a + rng.integers(1, n, a.size)) % n
    return a, b, np.exp(rng.uniform(np.log(1e-6), np.log(1e6), a.size)), n


@pytest.mark.parametrize("make", [_hub_ladder, _hub_grid, _expander_hubs, _spread_weights])
def test_adversarial_cores_go_through_the_new_path_and_match_a_direct_solve(monkeypatch,
                                                                          make):
    """n ≈ 2500, Jacobi-CG cut short after 2 iterations: the approximate Cholesky path
    solves to the residual bound of the solver and agrees with sparse LU."""
    heads, tails, weights, n = make(2500, np.random.default_rng(7))
    lap = _laplacian(heads, tails, weights, n)
    labels = _components(lap)
    rhs = _consistent(np.random.default_rng(8), labels)
    calls = []
    original = graph_linalg._approximate_solve
    monkeypatch.setattr(graph_linalg, "_approximate_solve",
                        lambda *a: calls.append(1) or original(*a))
    monkeypatch.setattr(graph_linalg, "_bounded_lu", lambda *a: pytest.fail("LU fallback"))
    monkeypatch.setattr(graph_linalg, "_PROBE", 2)
    monkeypatch.setattr(graph_linalg, "_ELIMINATE_SHARE", np.inf)  # the whole graph is core
    monkeypatch.setattr(approx, "DENSE_CORE", 50)
    x = graph_linalg.laplacian_solve(lap, labels, rhs)
    assert calls
    residual = np.abs(lap @ x - rhs).max()
    # the rounding bound of L x for this x (weights up to 1e6 make it ~1e-9 there)
    bound = 8 * np.finfo(float).eps * np.abs(lap) @ np.abs(_centred(x, labels))
    assert residual <= max(1e-12, bound.max()), (residual, bound.max())
    reference = _direct(lap, rhs, labels)
    assert residual <= max(1e-12, 10 * np.abs(lap @ reference - rhs).max())   # as sparse LU
    scale = np.abs(reference).max()
    np.testing.assert_allclose(_centred(x, labels), reference, rtol=0,
                               atol=1e-6 * scale if make is _spread_weights else 1e-9 * scale)


@st.composite
def weighted_graphs(draw):
    """Random multigraphs of 30–120 vertices (some isolated, several components) with
    weights from 1e-3 to 1e3 and some of degree ≥ 3."""
    n = draw(st.integers(30, 120))
    m = draw(st.integers(n, 4 * n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, m)
    b = rng.integers(0, n, m)
    keep = a != b
    return a[keep], b[keep], np.exp(rng.uniform(-7, 7, keep.sum())), n, seed


@settings(max_examples=60, deadline=None)
@given(weighted_graphs())
def test_approximate_path_solves_random_graphs_like_dense_lstsq(graph):
    heads, tails, weights, n, seed = graph
    lap = _laplacian(heads, tails, weights, n)
    labels = _components(lap)
    rhs = _consistent(np.random.default_rng(seed), labels)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(approx, "DENSE_CORE", 3)
        x, converged = graph_linalg._approximate_solve(lap, labels, rhs, graph_linalg.RTOL)
    assert converged.all()
    dense = np.linalg.lstsq(lap.toarray(), rhs, rcond=None)[0]
    scale = max(1.0, np.abs(dense).max())
    np.testing.assert_allclose(_centred(x, labels), _centred(dense, labels), rtol=0,
                               atol=1e-7 * scale)


def test_ipo_on_a_weighted_hub_grid_agrees_between_paths(monkeypatch):
    """Eq. 17 on a weighted dataset (hub + grid, comparison weights 1 and 1e-3): the optimum
    through the approximate Cholesky path equals the one through patient Jacobi-CG."""
    heads, tails, _, n = _hub_grid(1700, None)
    weights = np.where(heads == 0, 1e-3, 1.0)
    data = Dataset(heads, tails, n, weights=weights)
    pi_ref = np.full(n, 1.0 / n)
    monkeypatch.setattr(graph_linalg, "_ELIMINATE_SHARE", np.inf)
    monkeypatch.setattr(graph_linalg, "_BAND_MIN", 0)
    monkeypatch.setattr(graph_linalg, "_BAND_WORK", 0)
    monkeypatch.setattr(graph_linalg, "_PROBE", 10**4)
    monkeypatch.setattr(graph_linalg, "_STALL", 10**4)
    monkeypatch.setattr(graph_linalg, "_MAX_CG", 10**4)
    patient = solve_ipo_empirical(data, pi_ref, 0.5)
    monkeypatch.setattr(graph_linalg, "_PROBE", 2)
    fast = solve_ipo_empirical(data, pi_ref, 0.5)
    assert patient.residual <= 1e-9 and fast.residual <= 1e-9
    np.testing.assert_allclose(fast.logits, patient.logits, rtol=0, atol=1e-8)


def test_rounds_stop_only_when_a_round_eliminates_under_the_slow_share(monkeypatch):
    """Four disjoint cliques K₅₀: an independent set holds one vertex per clique, so the first
    round eliminates exactly 4 = 2% of the 200 vertices — not *under* ``_SLOW_ROUND``, so the
    rounds go on (the factor is not the dense core of all 200) — and the factor, after CG,
    solves ``L x = b`` like the dense minimum-norm solution."""
    monkeypatch.setattr(approx, "DENSE_CORE", 3)
    blocks, size = 4, 50
    a, b = np.triu_indices(size, 1)
    heads = np.concatenate([a + k * size for k in range(blocks)])
    tails = np.concatenate([b + k * size for k in range(blocks)])
    n = blocks * size
    lap = _laplacian(heads, tails, np.ones(heads.size), n)
    assert 4 == approx._SLOW_ROUND * n           # the boundary case of the stopping rule
    factor = approx.ApproximateCholesky(lap)
    assert factor.n_rounds > 0 and factor.core.size < n
    first = factor.rounds[0][0]
    np.testing.assert_array_equal(np.sort(first // size), np.arange(blocks))
    labels = _components(lap)
    rhs = _consistent(np.random.default_rng(3), labels)
    x, converged = graph_linalg._approximate_solve(lap, labels, rhs, graph_linalg.RTOL)
    assert converged.all()
    np.testing.assert_allclose(_centred(x, labels), _direct(lap, rhs, labels), rtol=0,
                               atol=1e-12 * np.abs(rhs).max())


def test_approximate_solve_meets_each_columns_own_tolerance(monkeypatch):
    """Right-hand sides of scales 1, 1e-9 and 0 at once: each column's residual reaches
    ``rtol`` times ITS OWN scale (a 1e-9 column is not done at 1e-14 absolute), the zero
    column gives x = 0 (no 0/0), against sparse LU on the same graph."""
    monkeypatch.setattr(approx, "DENSE_CORE", 3)
    rng = np.random.default_rng(11)
    n = 300
    a = rng.integers(0, n, 3 * n)
    b = (a + rng.integers(1, n, a.size)) % n
    lap = _laplacian(a, b, np.exp(rng.uniform(-3, 3, a.size)), n)
    labels = _components(lap)
    rhs = _consistent(rng, labels, k=3) * np.array([1.0, 1e-9, 0.0])
    x, converged = graph_linalg._approximate_solve(lap, labels, rhs, graph_linalg.RTOL)
    assert converged.all()
    assert np.all(x[:, 2] == 0)
    reference = _direct(lap, rhs, labels)
    for k, scale in enumerate((1.0, 1e-9)):
        column = np.abs(rhs[:, k]).max()
        assert np.abs(lap @ x[:, k] - rhs[:, k]).max() <= 1e-12 * column
        np.testing.assert_allclose(_centred(x, labels)[:, k], reference[:, k], rtol=0,
                                   atol=1e-10 * scale * max(1.0, np.abs(reference).max()))
