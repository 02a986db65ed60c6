"""Tests of the simulator's two gradient layouts, its loss interface and weighted data.

The references are written here from the definitions, independently of the package: a
per-run loop over steps that evaluates ``s_y = log π(y) − log πref(y)`` on every datum of the
batch, forms ``∂ℓ/∂s_w (e_w − π) + ∂ℓ/∂s_l (e_l − π)`` and scatters it with ``np.add.at``, and
optax's Adam from its source. Gradients are also checked against central differences of the
loss written here.
"""

from __future__ import annotations

import importlib
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from psipo_exact import strategies as pst
from psipo_exact.losses import LINKS
from psipo_exact.model import Dataset, paper_dataset
from psipo_exact.simulate import sample_batches, simulate
from psipo_exact.simulate.pairwise import PairwiseLoss, from_link, resolve_loss

runner = importlib.import_module("psipo_exact.simulate.runner")


@pytest.fixture(autouse=True, scope="module")
def _numpy_layouts():
    """These tests are about the NumPy layouts: the compiled kernel of the ``numba`` extra is
    switched off (tests/test_simulate_compiled.py compares the two)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PSIPO_EXACT_NO_NUMBA", "1")
        yield

# The toy loss of the brief: ℓ = (s_w − 1)² + (s_l + 1)², not a function of s_w − s_l.
TOY = PairwiseLoss("toy", lambda s_w, s_l, tau: 2 * tau * (s_w - 1),
                   lambda s_w, s_l, tau: 2 * tau * (s_l + 1), margin_only=False)


def _toy_value(s_w, s_l, tau):
    return tau * ((s_w - 1) ** 2 + (s_l + 1) ** 2)


def _log_ratio(theta, pi_ref, data):
    """``s`` per (context, action): log softmax(θ) − log πref, θ of shape logits_shape."""
    top = theta.max(axis=-1, keepdims=True)
    log_pi = theta - top - np.log(np.exp(theta - top).sum(axis=-1, keepdims=True))
    s = (log_pi - np.log(pi_ref)).reshape(-1)
    ctx = data.context_index * data.n_actions
    return s[ctx + data.winners], s[ctx + data.losers]


def _toy_minibatch_loss(theta, data, pi_ref, tau, batch):
    s_w, s_l = _log_ratio(theta, pi_ref, data)
    return np.mean(_toy_value(s_w[batch], s_l[batch], tau))


def _reference_gradient(loss, theta, data, pi_ref, tau, batch):
    """``(1/B) Σ_j [∂ℓ/∂s_w (e_w − π) + ∂ℓ/∂s_l (e_l − π)]`` over the batch, per datum."""
    s_w, s_l = _log_ratio(theta, pi_ref, data)
    d_w = loss.d_winner(s_w[batch], s_l[batch], tau) / len(batch)
    d_l = (-d_w if loss.margin_only else loss.d_loser(s_w[batch], s_l[batch], tau) / len(batch))
    n = data.n_actions
    pi = np.exp(theta - theta.max(-1, keepdims=True))
    pi = (pi / pi.sum(-1, keepdims=True)).reshape(-1, n)
    g = np.zeros(theta.size)
    ctx = data.context_index[batch]
    np.add.at(g, ctx * n + data.winners[batch], d_w)
    np.add.at(g, ctx * n + data.losers[batch], d_l)
    for j in range(len(batch)):
        g[ctx[j] * n:(ctx[j] + 1) * n] -= (d_w[j] + d_l[j]) * pi[ctx[j]]
    return g.reshape(theta.shape)


def _reference_run(loss, data, pi_ref, tau, batches, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    theta = np.zeros(data.logits_shape)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    out = [theta]
    for t, batch in enumerate(batches, start=1):
        g = _reference_gradient(loss, theta, data, pi_ref, tau, batch)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * g**2 + b2 * v
        theta = theta + (m * (1 / (1 - b1**t))) / (np.sqrt(v * (1 / (1 - b2**t))) + eps) * -lr
        out.append(theta)
    return np.array(out)


def _random_pi_ref(rng, shape):
    p = rng.random(shape) + 0.2
    return p / p.sum(-1, keepdims=True)


def _recovered_gradient(one_step: np.ndarray) -> np.ndarray:
    """The gradient of step 1 from θ₁ − θ₀ of a run with b1 = b2 = 0, lr = eps = E.

    Then ``Δθ = −E g / (|g| + E)``, so ``g = −Δθ E / (E − |Δθ|)``.
    """
    big = 1e8
    delta = one_step[1] - one_step[0]
    return -delta * big / (big - np.abs(delta))


def test_toy_loss_gradient_equals_finite_differences_with_contexts():
    """The simulator's first-step gradient of ℓ = τ((s_w − 1)² + (s_l + 1)²), where the
    softmax normaliser does not cancel, against central differences of the mini-batch loss
    (step 1e-6: truncation ~1e-12, rounding ~1e-10 on O(1) values)."""
    rng = np.random.default_rng(4)
    data = Dataset([0, 1, 2, 3, 0, 2], [1, 2, 0, 1, 3, 3], 4, contexts=[0, 0, 1, 1, 1, 0])
    pi_ref = _random_pi_ref(rng, data.logits_shape)
    init = rng.normal(size=data.logits_shape)
    batch = np.array([0, 3, 3, 5, 1, 4, 2])
    res = simulate(data, TOY, 0.7, 0, steps=1, batch_size=7, batches=batch[None], init=init,
                   pi_ref=pi_ref, b1=0.0, b2=0.0, lr=1e8, eps=1e8, record_every=1)
    got = _recovered_gradient(res.logits[0, 0, 0, 0])
    eye = np.eye(init.size).reshape((-1,) + init.shape) * 1e-6
    numeric = np.array([(_toy_minibatch_loss(init + e, data, pi_ref, 0.7, batch)
                         - _toy_minibatch_loss(init - e, data, pi_ref, 0.7, batch)) / 2e-6
                        for e in eye]).reshape(init.shape)
    np.testing.assert_allclose(got, numeric, rtol=0, atol=1e-8)
    np.testing.assert_allclose(_reference_gradient(TOY, init, data, pi_ref, 0.7, batch),
                               numeric, rtol=0, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(pst.datasets(st.integers(2, 5), max_size=10), st.floats(0.1, 5.0),
       st.integers(0, 2**31 - 1), st.integers(1, 25), st.integers(1, 12))
def test_toy_loss_runs_match_the_dense_reference(data, tau, seed, steps, batch_size):
    """Trajectories of the separate-log-ratio path against the per-run dense reference."""
    rng = np.random.default_rng(seed)
    pi_ref = _random_pi_ref(rng, data.logits_shape)
    batches = sample_batches(seed, len(data), steps, batch_size)
    ref = _reference_run(TOY, data, pi_ref, tau, batches)
    res = simulate(data, TOY, tau, seed, steps=steps, batch_size=batch_size, record_every=1,
                   pi_ref=pi_ref)
    np.testing.assert_allclose(res.logits[0, 0, 0, 0], ref, rtol=1e-11, atol=1e-11)


def test_margin_loss_through_the_log_ratio_path_agrees_to_rounding():
    """IPO written as a loss on (s_w, s_l) with ``margin_only=False``: the normaliser terms
    cancel in exact arithmetic, so the run equals the margin path to rounding."""
    ipo = LINKS["ipo"].grad
    as_pair = PairwiseLoss("ipo_pair", lambda w, lo, t: ipo(w - lo, t),
                           lambda w, lo, t: -ipo(w - lo, t), margin_only=False)
    data = paper_dataset("D1")
    both = simulate(data, ["ipo", as_pair], [0.5, 2.0], [0, 1], steps=500, record_every=50)
    np.testing.assert_allclose(both.logits[1], both.logits[0], rtol=0, atol=1e-12)


@pytest.fixture
def layout(monkeypatch):
    """Force the dense or the sparse gradient layout."""
    def force(name):
        monkeypatch.setattr(runner, "DENSE_DATA_PER_BATCH", np.inf if name == "dense" else 0.0)
    return force


@settings(max_examples=40, deadline=None)
@given(st.lists(pst.datasets(st.just(4), max_size=12), min_size=1, max_size=3),
       st.lists(pst.taus(1e-2, 1e2), min_size=1, max_size=2, unique=True),
       st.lists(st.integers(0, 10**6), min_size=1, max_size=2, unique=True),
       st.integers(1, 30), st.integers(1, 12), st.booleans())
def test_dense_and_sparse_layouts_give_identical_bits(datasets, taus, seeds, steps,
                                                      batch_size, with_ref):
    """Both layouts add every logit's terms in increasing datum order with the same IEEE
    operations: the same bits for every loss, dataset mix, τ, seed and πref."""
    named = {f"D{k}": d for k, d in enumerate(datasets)}
    if len({d.logits_shape for d in datasets}) > 1:
        return
    pi_ref = _random_pi_ref(np.random.default_rng(steps), datasets[0].logits_shape)
    kwargs = dict(steps=steps, batch_size=batch_size, record_every=3,
                  pi_ref=pi_ref if with_ref else None)
    args = (named, ["dpo", "ipo", "ipo_symmetric"], taus, seeds)
    runner.DENSE_DATA_PER_BATCH, saved = np.inf, runner.DENSE_DATA_PER_BATCH
    try:
        dense = simulate(*args, **kwargs)
        runner.DENSE_DATA_PER_BATCH = 0.0
        sparse = simulate(*args, **kwargs)
    finally:
        runner.DENSE_DATA_PER_BATCH = saved
    np.testing.assert_array_equal(dense.logits, sparse.logits)


def test_automatic_choice_is_dense_for_the_paper_and_sparse_beyond(monkeypatch):
    chosen = []
    for name in ("DenseGradient", "SparseGradient"):
        cls = getattr(runner, name)
        monkeypatch.setattr(runner, name,
                            lambda *a, _cls=cls, _n=name: chosen.append(_n) or _cls(*a))
    simulate(paper_dataset("D1"), "ipo", 1.0, 0, steps=2)
    simulate(Dataset(np.zeros(20, int), np.ones(20, int), 3), "ipo", 1.0, 0, steps=2)
    simulate(paper_dataset("D1"), TOY, 1.0, 0, steps=2)
    assert chosen == ["DenseGradient", "SparseGradient", "SparseGradient"]


def test_sparse_layout_grid_equals_runs_alone_with_a_log_ratio_loss(layout):
    layout("sparse")
    data = {"a": Dataset([0, 1, 2, 0], [1, 2, 0, 2], 3), "b": paper_dataset("D3_never_wins")}
    grid = simulate(data, ["dpo", TOY], [0.3, 3.0], [2, 5], steps=40, record_every=9)
    for i, loss in enumerate(["dpo", TOY]):
        for j, name in enumerate(data):
            for k, tau in enumerate([0.3, 3.0]):
                for m, seed in enumerate([2, 5]):
                    alone = simulate(data[name], loss, tau, seed, steps=40, record_every=9)
                    np.testing.assert_array_equal(grid.logits[i, j, k, m],
                                                  alone.logits[0, 0, 0, 0])


def test_sparse_step_memory_is_independent_of_a_dense_incidence():
    """N = 10⁵ data on n = 2000 actions: a dense N × n incidence would be 1.6 GB; the
    sparse layout holds the logits, Adam's moments and one block of gather indices."""
    rng = np.random.default_rng(0)
    n, size = 2000, 100_000
    a = rng.integers(0, n, size)
    data = Dataset(a, (a + rng.integers(1, n, size)) % n, n)
    tracemalloc.start()
    try:
        simulate(data, ["dpo", "ipo"], [1.0], [0, 1], steps=50, batch_size=16,
                 record_every=50)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, peak


# ------------------------------------------------------------------------ weighted data


def test_weighted_stream_has_the_weight_distribution_chi_square():
    """Counts of 60000 draws against the weights (a zero weight is never drawn)."""
    weights = np.array([0.5, 0.0, 3.0, 1.25, 0.25, 2.0])
    idx = sample_batches(17, 6, 6000, 10, weights=weights)
    counts = np.bincount(idx.ravel(), minlength=6)
    assert counts[1] == 0
    p = weights / weights.sum()
    keep = p > 0
    chi2 = np.sum((counts[keep] - idx.size * p[keep]) ** 2 / (idx.size * p[keep]))
    assert stats.chi2.sf(chi2, df=keep.sum() - 1) > 1e-3


def test_weighted_stream_is_inverse_cdf_of_the_documented_uniforms():
    """The documented construction, on the same chunks: first i with u·Σc < C_i."""
    weights = np.array([1.0, 0.0, 2.5, 0.5])
    got = sample_batches(3, 4, 1500, 7, weights=weights)
    rng = np.random.default_rng(3)
    u = np.concatenate([rng.random((1024, 7)), rng.random((476, 7))])
    cum = np.cumsum(weights)
    want = np.array([[np.flatnonzero(x * cum[-1] < cum)[0] for x in row] for row in u])
    np.testing.assert_array_equal(got, want)


def test_unweighted_stream_unchanged_by_the_weights_argument():
    np.testing.assert_array_equal(sample_batches(9, 5, 300, 4, weights=None),
                                  np.random.default_rng(9).integers(0, 5, size=(300, 4)))


def _expanded(data: Dataset) -> tuple[Dataset, np.ndarray]:
    """Each datum repeated by its integer weight; index of each datum's first copy."""
    reps = data.weights.astype(int)
    first = np.concatenate([[0], np.cumsum(reps)[:-1]])
    return Dataset(np.repeat(data.winners, reps), np.repeat(data.losers, reps),
                   data.n_actions), first


@pytest.mark.parametrize("force", ["dense", "sparse"])
def test_integer_weights_step_equals_the_expanded_dataset_bitwise(layout, force):
    """A batch of the weighted dataset and the same batch on the expanded dataset (each
    datum mapped to its first copy) give the same gradient at every step, bit for bit."""
    layout(force)
    data = Dataset([0, 1, 2, 0], [1, 2, 0, 2], 3, weights=[3.0, 1.0, 2.0, 4.0])
    expanded, first = _expanded(data)
    batches = sample_batches(5, len(data), 300, 9, weights=data.weights)
    pi_ref = np.array([0.2, 0.5, 0.3])
    a = simulate(data, ["dpo", "ipo"], [0.5], [5], steps=300, record_every=1, pi_ref=pi_ref)
    b = simulate(expanded, ["dpo", "ipo"], [0.5], [5], steps=300, record_every=1,
                 batches=first[batches], pi_ref=pi_ref)
    np.testing.assert_array_equal(a.logits, b.logits)


def test_weighted_draws_have_the_law_of_uniform_draws_on_the_expanded_dataset():
    """Mapped to the expanded dataset (a uniformly chosen copy of each drawn datum), the
    weighted stream is uniform on the expanded data: chi-square on 45000 draws."""
    data = Dataset([0, 1, 2, 0], [1, 2, 0, 2], 3, weights=[3.0, 1.0, 2.0, 4.0])
    expanded, first = _expanded(data)
    idx = sample_batches(8, len(data), 5000, 9, weights=data.weights).ravel()
    copy = np.random.default_rng(1).integers(0, data.weights.astype(int)[idx])
    counts = np.bincount(first[idx] + copy, minlength=len(expanded))
    expected = idx.size / len(expanded)
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert stats.chi2.sf(chi2, df=len(expanded) - 1) > 1e-3


def test_simulate_draws_weighted_data_by_weight():
    data = Dataset([0, 1, 2, 0], [1, 2, 0, 2], 3, weights=[3.0, 0.0, 2.0, 0.5])
    res = simulate(data, "ipo", 1.0, 4, steps=200, record_every=1)
    replay = simulate(data, "ipo", 1.0, 4, steps=200, record_every=1,
                      batches=sample_batches(4, 4, 200, 9, weights=data.weights))
    np.testing.assert_array_equal(res.logits, replay.logits)


@pytest.mark.parametrize("weights, match", [
    ([1.0, -1.0, 1.0], r"weights\[1\] = -1.0"),
    ([0.0, 0.0, 0.0], "weights sum to 0"),
    ([1.0, 1.0], r"weights has shape \(2,\)"),
    ([1.0, np.nan, 1.0], "weights"),
])
def test_sample_batches_rejects_invalid_weights(weights, match):
    with pytest.raises(ValueError, match=match):
        sample_batches(0, 3, 5, 2, weights=weights)


# ------------------------------------------------------------------------ loss interface


def test_from_link_and_resolve_loss():
    for name, link in LINKS.items():
        pair = resolve_loss(name.upper())
        h = np.linspace(-3, 3, 7)
        assert pair.name == name and pair.margin_only
        np.testing.assert_array_equal(pair.d_margin(h, 0.5), link.grad(h, 0.5))
        np.testing.assert_array_equal(pair.d_winner(h + 1.5, np.full(7, 1.5), 0.5),
                                      link.grad((h + 1.5) - 1.5, 0.5))
    assert resolve_loss(TOY) is TOY
    assert from_link(LINKS["dpo"]).d_loser is None


def test_default_margin_derivative_is_d_winner_at_zero_loser():
    pair = PairwiseLoss("m", lambda w, lo, t: t * (w - lo) ** 3)
    np.testing.assert_array_equal(pair.d_margin(np.array([2.0, -1.0]), 2.0), [16.0, -2.0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="", d_winner=abs), "name"),
    (dict(name="x", d_winner=3), "d_winner"),
    (dict(name="x", d_winner=abs, margin_only=1), "margin_only"),
    (dict(name="x", d_winner=abs, margin_only=False), "d_loser"),
])
def test_pairwise_loss_validation(kwargs, match):
    with pytest.raises(TypeError, match=match):
        PairwiseLoss(**kwargs)


def test_simulate_names_a_bad_loss_entry():
    with pytest.raises(TypeError, match=r"losses\[1\]"):
        simulate(paper_dataset("D1"), ["ipo", 3.0], 1.0, 0, steps=2)
    with pytest.raises(ValueError, match="losses"):
        simulate(paper_dataset("D1"), ["ipo", from_link(LINKS["ipo"])], 1.0, 0, steps=2)
