"""Tests of the graph Laplacian solves behind Eq. 17 (IPO) and the Bradley–Terry/DPO Newton
steps (Azar et al., arXiv:2310.12036): exact low-degree elimination, every core solver path,
memory bounds and the memory-budget error.

References are independent of the package: the Moore–Penrose solution of the dense Laplacian
(``numpy.linalg.lstsq``), compared after removing each component's mean, and the residual
``max|L x − b|`` computed from the dense matrix.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from psipo_exact.model import Dataset
from psipo_exact.solvers import _laplacian as graph_linalg
from psipo_exact.solvers import solve_ipo_empirical


def hub_path_block(n: int, seed: int = 0, per_action: float = 6.6) -> Dataset:
    """A hub with n/3 leaves, a path through the next n/3 (joined to the hub and the block),
    a random block on the rest carrying the other comparisons; 30% of pairs flipped."""
    rng = np.random.default_rng(seed)
    third = n // 3
    path, block = np.arange(third, 2 * third), np.arange(2 * third, n)
    extra = int(per_action * n) - 2 * third
    ba = rng.integers(0, block.size, extra)
    bb = (ba + rng.integers(1, block.size, extra)) % block.size
    a = np.concatenate([np.zeros(third - 1, int), [0], path[:-1], [path[-1]], block[ba]])
    b = np.concatenate([np.arange(1, third), [third], path[1:], [block[0]], block[bb]])
    flip = rng.random(a.size) < 0.3
    return Dataset(np.where(flip, b, a), np.where(flip, a, b), n)


def eliminate_always(monkeypatch):
    """Eliminate on any graph (by default only on large ones with many low degrees)."""
    monkeypatch.setattr(graph_linalg, "_ELIMINATE_SHARE", 0.0)
    monkeypatch.setattr(graph_linalg, "_ELIMINATE_MIN_SIZE", 0)


def _dense_reference(lap, rhs, labels):
    """Minimum-norm solution of the dense system, centred per component."""
    x = np.linalg.lstsq(lap.toarray(), rhs, rcond=None)[0]
    return _centred(x, labels)


def _centred(x, labels):
    means = np.stack([np.bincount(labels, col) / np.bincount(labels) for col in x.T], 1)
    return x - means[labels]


def _consistent_rhs(rng, labels, k=2):
    rhs = rng.normal(size=(labels.size, k))
    return _centred(rhs, labels)


def _solve(lap, rhs):
    _, labels = connected_components(lap, directed=False)
    return graph_linalg.laplacian_solve(lap, labels, rhs), labels


@st.composite
def sparse_graphs(draw):
    """Trees, paths, cycles, hubs and dense clumps, with parallel edges and zero weights."""
    n = draw(st.integers(2, 40))
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["tree", "path", "cycle", "clump", "hub"]))
        nodes = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=12, unique=True))
        if kind == "tree":
            pieces += [(nodes[i], nodes[draw(st.integers(0, i - 1))]) for i in range(1, len(nodes))]
        elif kind in ("path", "cycle"):
            pieces += list(zip(nodes[:-1], nodes[1:]))
            if kind == "cycle" and len(nodes) > 2:
                pieces.append((nodes[-1], nodes[0]))
        elif kind == "hub":
            pieces += [(nodes[0], v) for v in nodes[1:]]
        else:
            pieces += [(u, v) for i, u in enumerate(nodes) for v in nodes[i + 1:]]
    heads, tails = np.array(pieces).T
    weights = np.array(draw(st.lists(st.sampled_from([0.0, 0.3, 1.0, 2.5, 40.0]),
                                     min_size=heads.size, max_size=heads.size)))
    return heads, tails, weights, n


@settings(max_examples=150, deadline=None)
@given(sparse_graphs(), st.integers(0, 2**32 - 1))
def test_elimination_solves_every_graph_like_dense_lstsq(graph, seed):
    """With elimination forced on: the solution equals the dense minimum-norm one up to a
    constant per component, and the residual is at rounding level."""
    heads, tails, weights, n = graph
    lap = graph_linalg.laplacian(heads, tails, weights, n)
    lap.data[lap.data == 0] = 0.0          # explicit zeros (weight-0 edges) stay stored
    _, labels = connected_components(lap.multiply(lap != 0), directed=False)
    rhs = _consistent_rhs(np.random.default_rng(seed), labels)
    with pytest.MonkeyPatch.context() as patch:
        eliminate_always(patch)
        x = graph_linalg.laplacian_solve(lap, labels, rhs)
    np.testing.assert_allclose(_centred(x, labels), _dense_reference(lap, rhs, labels),
                               rtol=0, atol=1e-8 * max(1.0, np.abs(rhs).max()))
    assert np.abs(lap @ x - rhs).max() <= 1e-9 * max(1.0, np.abs(rhs).max())


def test_elimination_collapses_trees_and_paths_entirely():
    """A path and a star hanging off a triangle: only the triangle is left (degree ≥ 3 after
    the merge of the series edges), and a tree component disappears whole."""
    heads = np.array([0, 1, 2, 0, 3, 4, 5, 1, 1, 1, 9, 10])
    tails = np.array([1, 2, 0, 3, 4, 5, 2, 6, 7, 8, 10, 11])
    lap = graph_linalg.laplacian(heads, tails, np.ones(heads.size), 12)
    with pytest.MonkeyPatch.context() as patch:
        eliminate_always(patch)
        elimination = graph_linalg.LowDegreeElimination(lap)
    assert elimination.core.size < 4
    assert {9, 10, 11}.isdisjoint(elimination.core.tolist())
    rhs = _consistent_rhs(np.random.default_rng(0), connected_components(lap)[1])
    x, labels = _solve(lap, rhs)
    np.testing.assert_allclose(_centred(x, labels), _dense_reference(lap, rhs, labels),
                               atol=1e-12)


def test_series_edge_merges_with_an_existing_parallel_edge():
    """Eliminating v between a and b adds w_a w_b / (w_a + w_b) to an existing edge (a, b)."""
    heads, tails = np.array([0, 2, 0, 0, 1, 1]), np.array([2, 1, 1, 3, 3, 4])
    weights = np.array([2.0, 3.0, 1.0, 1.0, 1.0, 1.0])
    lap = graph_linalg.laplacian(heads, tails, weights, 5)
    with pytest.MonkeyPatch.context() as patch:
        eliminate_always(patch)
        elimination = graph_linalg.LowDegreeElimination(lap)
    eliminated = [v for v, _ in elimination.steps]
    assert 2 in eliminated and 4 in eliminated
    rhs = _consistent_rhs(np.random.default_rng(1), np.zeros(5, int))
    x, labels = _solve(lap, rhs)
    assert np.abs(lap @ x - rhs).max() < 1e-12


@pytest.mark.parametrize("force", ["elimination", "band", "pcg", "approx", "lu"])
def test_every_solver_path_on_a_hub_path_block_graph(monkeypatch, force):
    """n = 600: each path of the solver reaches the dense least-squares answer of Eq. 17:
    elimination of the leaves and the path then CG on the block (the default), and without
    elimination the direct banded solve (a band wide enough for the hub), Jacobi-CG (which
    stalls on the path, then converges), CG preconditioned by the approximate Cholesky
    factor once Jacobi-CG is cut short, and sparse LU once that fails too. (CG with a
    truncated band is exercised on ladders in test_solvers.py.)"""
    data = hub_path_block(600, seed=2)
    calls = []
    if force == "elimination":
        eliminate_always(monkeypatch)
    else:
        monkeypatch.setattr(graph_linalg, "_ELIMINATE_SHARE", np.inf)
    if force in ("pcg", "lu"):
        monkeypatch.setattr(graph_linalg, "_BAND_MIN", 0)
        monkeypatch.setattr(graph_linalg, "_BAND_WORK", 0)
    if force == "pcg":  # patience enough for CG to cross the path
        monkeypatch.setattr(graph_linalg, "_STALL", 10**4)
        monkeypatch.setattr(graph_linalg, "_MAX_CG", 10**4)
        monkeypatch.setattr(graph_linalg, "_PROBE", 10**4)
    if force == "band":
        monkeypatch.setattr(graph_linalg, "_BAND_MIN", 10**9)
    if force in ("approx", "lu"):
        monkeypatch.setattr(graph_linalg, "_PROBE", 2)
    if force == "lu":  # the approximate Cholesky path fails (returns nothing converged)
        monkeypatch.setattr(graph_linalg, "_approximate_solve",
                            lambda lap, labels, rhs, rtol: (np.zeros_like(rhs),
                                                            np.zeros(rhs.shape[1], bool)))
    for name in ("_bounded_lu", "_pcg", "_refine", "core_solve", "_approximate_solve"):
        original = getattr(graph_linalg, name)
        monkeypatch.setattr(graph_linalg, name,
                            lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a))
    n = data.n_actions
    pi_ref = np.random.default_rng(0).dirichlet(np.ones(n))
    sol = solve_ipo_empirical(data, pi_ref, 0.5)
    lap = graph_linalg.laplacian(np.asarray(data.winners), np.asarray(data.losers),
                                 np.ones(len(data)), n).toarray()
    target = 0.5 / 0.5 + np.log(pi_ref[data.winners] / pi_ref[data.losers])
    rhs = np.bincount(data.winners, target, n) - np.bincount(data.losers, target, n)
    expected = np.linalg.lstsq(lap, rhs, rcond=None)[0]
    expected += np.log(pi_ref).mean() - expected.mean()     # init log πref keeps its mean
    np.testing.assert_allclose(sol.logits, expected, atol=1e-8)
    assert sol.residual <= 1e-9
    assert ("_bounded_lu" in calls) == (force == "lu")
    assert ("_approximate_solve" in calls) == (force in ("approx", "lu"))
    assert ("_pcg" in calls) == (force != "band")
    assert ("_refine" in calls) == (force in ("band", "lu"))


def test_hub_path_block_memory_is_bounded():
    """n = 3000, N ≈ 2·10⁴: solved to residual ≤ 1e-9 within 20 MB of traced memory (the
    unbounded sparse LU this replaces filled in on the block)."""
    data = hub_path_block(3000)
    tracemalloc.start()
    try:
        sol = solve_ipo_empirical(data, np.full(3000, 1 / 3000), 0.5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sol.residual <= 1e-9
    assert peak < 20 * 2**20, peak


def test_lu_fallback_over_budget_raises_a_clear_memory_error(monkeypatch):
    """CG and the approximate Cholesky path forced to fail, and a 1 kB budget: a MemoryError
    naming the work and the budget."""
    monkeypatch.setattr(graph_linalg, "_PROBE", 2)
    monkeypatch.setattr(graph_linalg, "_approximate_solve",
                        lambda lap, labels, rhs, rtol: (np.zeros_like(rhs),
                                                        np.zeros(rhs.shape[1], bool)))
    monkeypatch.setattr(graph_linalg, "_BAND_WORK", 0)
    monkeypatch.setattr(graph_linalg, "_BAND_MIN", 0)
    monkeypatch.setattr(graph_linalg, "MEMORY_BUDGET", 1024)
    data = hub_path_block(300)
    with pytest.raises(MemoryError,
                       match=r"sparse LU of a graph Laplacian on \d+ nodes .* over the memory"):
        solve_ipo_empirical(data, np.full(300, 1 / 300), 0.5)


def test_no_elimination_when_few_low_degree_vertices():
    """A random multigraph without low-degree vertices keeps today's path (whole core)."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 100, 3000)
    b = (a + rng.integers(1, 100, 3000)) % 100
    lap = graph_linalg.laplacian(a, b, np.ones(3000), 100)
    elimination = graph_linalg.LowDegreeElimination(lap)
    assert elimination.core.size == 100 and not elimination.steps


def test_bradley_terry_newton_uses_the_same_solver_on_a_tree(monkeypatch):
    """Bradley–Terry on a tree with wins both ways on every edge (a finite MLE): each edge's
    reward gap is the log of its win ratio, exactly (elimination solves trees directly)."""
    from psipo_exact.solvers import fit_bradley_terry

    eliminate_always(monkeypatch)
    rng = np.random.default_rng(5)
    n = 400
    parent = np.array([rng.integers(0, i) for i in range(1, n)])
    child = np.arange(1, n)
    wins = rng.integers(1, 5, n - 1)
    losses = rng.integers(1, 5, n - 1)
    winners = np.concatenate([np.repeat(child, wins), np.repeat(parent, losses)])
    losers = np.concatenate([np.repeat(parent, wins), np.repeat(child, losses)])
    fit = fit_bradley_terry(Dataset(winners, losers, n))
    gap = fit.rewards[child] - fit.rewards[parent]
    np.testing.assert_allclose(gap, np.log(wins / losses), atol=1e-9)


def test_small_graphs_keep_the_direct_path():
    """Below _ELIMINATE_MIN_SIZE vertices nothing is eliminated (the paper's datasets keep
    their bits), even where every vertex has degree 2."""
    cycle = np.arange(50)
    lap = graph_linalg.laplacian(cycle, (cycle + 1) % 50, np.ones(50), 50)
    assert graph_linalg.LowDegreeElimination(lap).core.size == 50


def test_laplacian_solve_accepts_zero_columns_and_isolated_vertices():
    lap = sp.csr_matrix(graph_linalg.laplacian(np.array([0, 1]), np.array([1, 2]),
                                               np.ones(2), 5))
    rhs = np.zeros((5, 2))
    rhs[:3, 0] = [1.0, 0.0, -1.0]
    x, labels = _solve(lap, rhs)
    np.testing.assert_allclose(lap @ x, rhs, atol=1e-14)
    assert np.all(x[3:] == 0) and np.all(x[:, 1] == 0)



@pytest.mark.parametrize("heads, tails, n", [
    ([0, 1, 2, 0, 3, 4, 5, 1, 1, 1], [1, 2, 0, 3, 4, 5, 2, 6, 7, 8], 9),  # a core is left
    ([0, 1, 1, 3], [1, 2, 3, 4], 5),                                          # a tree: no core
])
def test_laplacian_solve_of_no_columns_is_no_columns(heads, tails, n):
    """``L X = B`` with B of shape (n, 0) has the solution X of shape (n, 0), whether the
    vertices of degree ≤ 2 are eliminated first or not."""
    lap = graph_linalg.laplacian(np.array(heads), np.array(tails), np.ones(len(heads)), n)
    _, labels = connected_components(lap, directed=False)
    for eliminate in (False, True):
        with pytest.MonkeyPatch.context() as patch:
            if eliminate:
                eliminate_always(patch)
                assert graph_linalg.LowDegreeElimination(lap).steps
            x = graph_linalg.laplacian_solve(lap, labels, np.zeros((n, 0)))
        assert x.shape == (n, 0)


def test_laplacian_of_a_graph_whose_last_nodes_are_isolated_is_square():
    # Nodes 3 and 4 have no edges (the last CSR rows are empty): the pattern's Laplacian is
    # still size × size and its edge-difference product equals the dense L @ x.
    from psipo_exact.solvers._laplacian import LaplacianPattern, laplacian_product
    heads, tails, w = np.array([0, 1]), np.array([1, 2]), np.array([2.0, 3.0])
    lap = LaplacianPattern(heads, tails, 5).laplacian(w)
    dense = np.zeros((5, 5))
    for h, t, c in zip(heads, tails, w):
        dense[[h, t], [t, h]] -= c
        dense[[h, t], [h, t]] += c
    assert lap.shape == (5, 5)
    np.testing.assert_allclose(lap.toarray(), dense)
    x = np.array([[1.0, -2.0, 0.5, 7.0, -3.0], [0.0, 1.0, 4.0, 2.0, 2.0]])
    np.testing.assert_allclose(laplacian_product(lap, x), x @ dense.T, rtol=1e-14, atol=1e-14)
    # and a CSR matrix without the zero diagonal entries (empty last rows)
    compact = sp.csr_matrix(dense)
    assert compact.indptr[-3] == compact.nnz
    np.testing.assert_allclose(laplacian_product(compact, x), x @ dense.T, rtol=1e-14,
                               atol=1e-14)
