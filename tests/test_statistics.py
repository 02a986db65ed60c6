"""Bootstrap bands: the vectorised (stacked) solve equals resample-by-resample solves, the
seed controls the draws, and the band covers the estimate."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import psipo_exact as px
from psipo_exact.statistics import bootstrap_policy, resample_weights


def _data():
    return px.Dataset.from_counts(np.array([[0, 30, 20], [10, 0, 25], [5, 15, 0]]),
                                  ["a", "b", "c"])


@pytest.mark.parametrize("solver", ["ipo", "dpo"])
def test_stacked_resamples_equal_one_by_one_solves(solver):
    data, pi_ref, tau = _data(), np.array([0.5, 0.3, 0.2]), np.array([0.5, 2.0])
    band = bootstrap_policy(data, pi_ref, tau, solver, n_resamples=7, rng=3)
    weights = resample_weights(data, 7, np.random.default_rng(3))
    solve = px.solve_ipo_empirical if solver == "ipo" else px.solve_dpo_empirical
    for b in range(7):
        keep = weights[b] > 0
        one = px.Dataset(data.winners[keep], data.losers[keep], 3, weights=weights[b][keep])
        np.testing.assert_allclose(band.policies[b], solve(one, pi_ref, tau).policy,
                                   rtol=1e-9, atol=1e-12)
    assert band.policies.shape == (7, 2, 3)
    assert weights.sum(1).tolist() == [data.total_weight] * 7


def test_seed_and_callable_solver():
    data, pi_ref = _data(), np.ones(3) / 3
    one = bootstrap_policy(data, pi_ref, 1.0, n_resamples=20, rng=np.random.default_rng(1))
    two = bootstrap_policy(data, pi_ref, 1.0, n_resamples=20, rng=1)
    np.testing.assert_array_equal(one.policies, two.policies)
    custom = bootstrap_policy(data, pi_ref, 1.0,
                              functools.partial(px.solve_dpo_empirical, tie_model=None),
                              n_resamples=20, rng=1)
    dpo = bootstrap_policy(data, pi_ref, 1.0, "dpo", n_resamples=20, rng=1)
    np.testing.assert_array_equal(custom.policies, dpo.policies)
    assert np.all(one.lower <= one.estimate + 1e-12) and np.all(one.estimate <= one.upper + 1e-12)
    with pytest.raises(ValueError, match="solver = 'nope'"):
        bootstrap_policy(data, pi_ref, 1.0, "nope")


def test_tie_model_with_estimated_parameter_needs_one_solve_per_resample():
    """A Davidson fit shares nu across contexts: vectorised=False gives each resample its
    own nu, equal to solving the resamples one by one."""
    data = px.datasets.football("2008-9")
    pi_ref = np.ones(data.n_actions) / data.n_actions
    solver = functools.partial(px.solve_dpo_empirical, tie_model="davidson")
    band = bootstrap_policy(data, pi_ref, 1.0, solver, n_resamples=3, rng=0, vectorised=False)
    weights = resample_weights(data, 3, np.random.default_rng(0))
    for b in range(3):
        one = px.Dataset(data.winners, data.losers, data.n_actions, weights=weights[b],
                         ties=data.ties)
        np.testing.assert_allclose(band.policies[b], solver(one, pi_ref, 1.0).policy,
                                   rtol=1e-12)


def test_loglik_without_a_finite_mle_is_the_supremum_over_components():
    # Top component {0, 1}, sinking component {2, 3} (0 ≻ 2 and 1 ≻ 3 always): no finite MLE.
    # The supremum of the log-likelihood is each component's own two-action MLE (p = wins/n),
    # the comparisons between components contribute log 1 = 0, so it equals the saturated
    # model's and the deviance is 0; the sinking actions' rewards are -inf with infinite
    # standard errors.
    data = px.Dataset.from_pairs([(0, 1), (0, 1), (1, 0), (2, 3), (2, 3), (2, 3), (3, 2),
                                  (0, 2), (1, 3)], 4)
    fit = px.fit_bradley_terry(data)
    want = 2 * np.log(2 / 3) + np.log(1 / 3) + 3 * np.log(3 / 4) + np.log(1 / 4)
    assert not fit.exists
    assert fit.loglik == pytest.approx(want, rel=1e-13)
    assert fit.deviance == pytest.approx(0.0, abs=1e-12)
    assert np.isneginf(fit.rewards[2:]).all() and np.isinf(fit.stderr[2:]).all()
    assert fit.rewards[0] - fit.rewards[1] == pytest.approx(np.log(2.0), rel=1e-13)
