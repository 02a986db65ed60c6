"""Weighted (aggregated) datasets: a datum of weight c is c identical comparisons.

Every loss, solver and statistic of a weighted dataset must equal the same computation on
the dataset with each datum repeated ``c`` times (integer weights), and data of weight 0
must be exactly as if absent.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import psipo_exact as px
from psipo_exact import losses
from psipo_exact import strategies as pst
from psipo_exact.adam_noise import adam_stationary_covariance


@st.composite
def _weighted(draw):
    """A dataset with integer weights 0..4 (not all 0) and the same data expanded."""
    data = draw(pst.datasets(st.integers(2, 4), max_size=8, n_contexts=st.sampled_from([None, 2])))
    counts = np.array(draw(st.lists(st.integers(0, 4), min_size=len(data), max_size=len(data))))
    if counts.sum() == 0:
        counts[0] = 1
    weighted = px.Dataset(data.winners, data.losers, data.n_actions, contexts=data.contexts,
                          n_contexts=data.n_contexts, weights=counts)
    rows = np.repeat(np.arange(len(data)), counts)
    contexts = None if data.contexts is None else data.contexts[rows]
    expanded = px.Dataset(data.winners[rows], data.losers[rows], data.n_actions,
                          contexts=contexts, n_contexts=data.n_contexts)
    return weighted, expanded


@given(_weighted(), pst.taus(0.05, 20.0), st.data())
def test_weighted_losses_equal_expanded(pair, tau, draw):
    weighted, expanded = pair
    logits = draw.draw(pst.rewards(weighted.n_actions, batch_shape=weighted.logits_shape[:-1]))
    pi_ref = np.full(weighted.n_actions, 1.0 / weighted.n_actions)
    for loss in ("dpo", "ipo", "ipo_symmetric"):
        a = losses.empirical_loss(loss, logits, weighted, pi_ref, tau, return_grad=True)
        b = losses.empirical_loss(loss, logits, expanded, pi_ref, tau, return_grad=True)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-11, atol=1e-13)
    np.testing.assert_array_equal(weighted.win_counts(), expanded.win_counts())
    assert weighted.total_weight == len(expanded)


@given(_weighted(), pst.taus(0.05, 20.0))
def test_weighted_solvers_equal_expanded(pair, tau):
    weighted, expanded = pair
    pi_ref = np.full(weighted.n_actions, 1.0 / weighted.n_actions)
    for solve in (px.solve_ipo_empirical, px.solve_dpo_empirical):
        a, b = solve(weighted, pi_ref, tau), solve(expanded, pi_ref, tau)
        np.testing.assert_allclose(a.policy, b.policy, rtol=1e-9, atol=1e-12)
        assert (a.exists, a.unique, a.free, a.status) == (b.exists, b.unique, b.free, b.status)
    a, b = px.fit_bradley_terry(weighted), px.fit_bradley_terry(expanded)
    np.testing.assert_allclose(a.rewards, b.rewards, rtol=1e-9, atol=1e-9)
    assert (a.exists, a.free) == (b.exists, b.free)


def test_zero_weight_datum_is_absent():
    """{a ≻ b, b ≻ a (weight 0)}: the b ≻ a datum neither connects nor orients the graph."""
    data = px.Dataset([0, 1], [1, 0], 3, weights=[1.0, 0.0])
    alone = px.Dataset([0], [1], 3)
    for fit in (px.fit_bradley_terry(data), px.fit_bradley_terry(alone)):
        assert not fit.exists
    uniform = np.ones(3) / 3
    np.testing.assert_allclose(px.solve_ipo_empirical(data, uniform, 0.5).policy,
                               px.solve_ipo_empirical(alone, uniform, 0.5).policy, rtol=1e-14)


def test_weighted_adam_noise_equals_expanded():
    weighted = px.Dataset([0, 1, 0], [1, 2, 2], 3, weights=[3, 1, 2])
    expanded = px.Dataset([0, 0, 0, 1, 0, 0], [1, 1, 1, 2, 2, 2], 3)
    uniform = np.ones(3) / 3
    theta = px.solve_ipo_empirical(expanded, uniform, 1.0).logits
    np.testing.assert_allclose(adam_stationary_covariance(weighted, "ipo", theta, uniform, 1.0),
                               adam_stationary_covariance(expanded, "ipo", theta, uniform, 1.0),
                               rtol=1e-10, atol=1e-16)


@pytest.mark.parametrize("weights, match", [
    ([1.0], r"weights has shape \(1,\), must be \(2,\)"),
    ([1.0, -1.0], r"weights\[1\] = -1.0, must be >= 0"),
    ([0.0, 0.0], "weights sum to 0"),
    ([1.0, np.nan], r"weights\[1\] is NaN"),
    ([1.0, np.inf], r"weights\[1\] = inf, must be finite"),
])
def test_invalid_weights_are_named(weights, match):
    with pytest.raises(ValueError, match=match):
        px.Dataset([0, 1], [1, 0], 2, weights=weights)


def test_weights_are_read_only():
    data = px.Dataset([0], [1], 2, weights=[2.5])
    with pytest.raises(ValueError):
        data.weights[0] = 1.0
