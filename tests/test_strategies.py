"""Tests of psipo_exact.strategies: every strategy yields input the library accepts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import find, given
from hypothesis import strategies as st

import psipo_exact as px
from psipo_exact import strategies as pst
from psipo_exact.model import Dataset, PreferenceModel


def _no_subnormals(arr):
    arr = np.asarray(arr, dtype=float)
    tiny = np.finfo(float).tiny
    return not np.any((arr != 0) & (np.abs(arr) < tiny))


@given(pst.batch_shapes())
def test_batch_shapes(shape):
    assert isinstance(shape, tuple) and len(shape) <= 2
    assert all(isinstance(s, int) and 1 <= s <= 3 for s in shape)


@given(pst.taus(1e-9, 1e9))
def test_taus_in_range_and_accepted(tau):
    assert 1e-9 <= tau <= 1e9 and isinstance(tau, float)
    px.gibbs_policy([0.5, 0.5], [0.0, 1.0], tau)


def test_taus_reach_every_decade():
    """Log-uniform: every decade of the range is reachable, including both ends."""
    for low in (1e-4, 1e-1, 1e2, 1e3):
        assert low <= find(pst.taus(1e-4, 1e4), lambda t, low=low: low <= t < 10 * low) < 10 * low
    assert find(pst.taus(2.0, 2.0), lambda t: True) == 2.0
    with pytest.raises(ValueError, match="0 < min_value <= max_value"):
        find(pst.taus(0.0, 1.0), lambda t: True)
    with pytest.raises(ValueError, match="0 < min_value <= max_value"):
        find(pst.taus(1.0, math.inf), lambda t: True)


@given(pst.probability_vectors(st.integers(1, 6), batch_shape=pst.batch_shapes(),
                               full_support=False))
def test_probability_vectors_are_valid(p):
    assert np.all(p >= 0) and np.all(np.abs(p.sum(-1) - 1) <= 1e-12)
    assert np.all(p.max(-1) > 0)
    assert _no_subnormals(p)
    px.kl_divergence(p, p)  # validated as probability vectors


@given(pst.policies(4, batch_shape=(2, 3)))
def test_full_support_policies(pi):
    assert pi.shape == (2, 3, 4)
    assert np.all(pi >= 1e-3 / 4 / 1.0001)


@given(pst.preference_matrices(st.integers(1, 5), batch_shape=pst.batch_shapes(),
                               deterministic=None))
def test_preference_matrices_are_valid(prefs):
    assert np.all(prefs + np.swapaxes(prefs, -1, -2) == 1.0)
    assert _no_subnormals(prefs)
    n = prefs.shape[-1]
    PreferenceModel(prefs, np.full(n, 1 / n), np.full(n, 1 / n))


@given(pst.preference_matrices(3, deterministic=True))
def test_deterministic_preference_matrices(prefs):
    off = prefs[~np.eye(3, dtype=bool)]
    assert set(off.tolist()) <= {0.0, 1.0}


@given(pst.bradley_terry_preferences(st.integers(2, 5), batch_shape=(2,)))
def test_bradley_terry_preferences(model):
    rewards, prefs = model
    assert prefs.shape == rewards.shape + (rewards.shape[-1],)
    np.testing.assert_allclose(prefs[..., 0, 1],
                               1 / (1 + np.exp(rewards[..., 1] - rewards[..., 0])), rtol=1e-12)


@given(pst.datasets(st.integers(2, 6), n_contexts=st.one_of(st.none(), st.integers(1, 4))))
def test_datasets_are_valid(ds):
    assert isinstance(ds, Dataset)
    assert 1 <= len(ds) <= 12
    assert np.all(ds.winners != ds.losers)
    assert np.all((ds.winners < ds.n_actions) & (ds.losers < ds.n_actions))
    if ds.contexts is not None:
        assert np.all(ds.contexts < ds.n_contexts)


@given(st.data(), st.sampled_from(["full", "same", "any"]))
def test_preference_problems_are_consistent(data, support):
    problem = data.draw(pst.preference_problems(st.integers(2, 5), support=support,
                                                batch_shape=pst.batch_shapes()))
    prefs, mu, pi_ref, tau = problem
    if support == "full":
        assert np.all(mu > 0) and np.all(pi_ref > 0)
    assert prefs.shape[:-1] == mu.shape == pi_ref.shape
    assert 1e-2 <= tau <= 1e2 and math.isfinite(tau)
    PreferenceModel(prefs, mu, pi_ref)


@given(pst.preference_problems(support="same", batch_shape=(2,)))
def test_same_support_problems(problem):
    np.testing.assert_array_equal(problem.mu > 0, problem.pi_ref > 0)
    px.losses.ipo_population(problem.pi_ref, problem.prefs, problem.mu, problem.pi_ref, 1.0)


def test_preference_problems_rejects_unknown_support():
    with pytest.raises(ValueError, match="support = 'some'"):
        find(pst.preference_problems(support="some"), lambda p: True)


@pytest.mark.parametrize("kwargs, match", [
    (dict(min_weight=0.0), r"min_weight = 0\.0, must be in \(0, 1\]"),
    (dict(min_weight=2.0), r"min_weight = 2\.0, must be in \(0, 1\]"),
    (dict(n_actions=0), r"n_actions = 0, must be >= 1"),
])
def test_probability_vectors_reject_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        find(pst.probability_vectors(**kwargs), lambda _: True)
