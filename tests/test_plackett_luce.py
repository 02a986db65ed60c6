"""Plackett–Luce maximum likelihood and listwise DPO against independent references: direct
likelihood maximisation (scipy), a brute-force sum over permutations, choix.ilsr_rankings
(optional), Bradley–Terry on pairs, and Proposition 4's analogue for rankings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from finite_differences import central_hessian
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import psipo_exact as px


def _nll(r, rankings, weights=None):
    weights = np.ones(len(rankings)) if weights is None else weights
    total = 0.0
    for w, ranking in zip(weights, rankings):
        for k in range(len(ranking) - 1):
            rest = r[list(ranking[k:])]
            total -= w * (r[ranking[k]] - np.log(np.exp(rest).sum()))
    return total


def _random_rankings(rng, n=4, count=12):
    out = []
    for _ in range(count):
        m = rng.integers(2, n + 1)
        out.append(rng.permutation(n)[:m].tolist())
    return out


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10**6))
def test_mle_matches_scipy_on_random_rankings(seed):
    rng = np.random.default_rng(seed)
    rankings = _random_rankings(rng)
    fit = px.fit_plackett_luce(rankings)
    if not fit.exists:
        return
    best = minimize(lambda x: _nll(np.r_[0.0, x], rankings), np.zeros(3), method="BFGS",
                    options={"gtol": 1e-10})
    np.testing.assert_allclose(fit.rewards - fit.rewards[0], np.r_[0.0, best.x], atol=1e-5)
    assert fit.loglik == pytest.approx(-best.fun, rel=1e-8)


def test_probabilities_sum_to_one_over_permutations():
    """The fitted model is a distribution over the orderings of a set (brute force)."""
    fit = px.fit_plackett_luce(_random_rankings(np.random.default_rng(1)))
    total = sum(np.exp(-_nll(fit.rewards, [list(p)])) for p in itertools.permutations(range(4)))
    assert total == pytest.approx(1.0, rel=1e-12)


def test_pairs_are_bradley_terry():
    data = px.datasets.baseball()
    pl, bt = px.fit_plackett_luce(px.Rankings.from_dataset(data)), px.fit_bradley_terry(data)
    np.testing.assert_allclose(pl.rewards, bt.rewards, atol=1e-10)
    np.testing.assert_allclose(pl.stderr, bt.stderr, rtol=1e-8)
    assert pl.loglik == pytest.approx(bt.loglik, rel=1e-12)


def test_hunter_condition_and_limit():
    """d is ranked last whenever it appears: it sinks; a, b, c keep their restricted MLE."""
    rankings = [["a", "b", "d"], ["b", "c", "d"], ["c", "a"], ["b", "a", "c", "d"]]
    fit = px.fit_plackett_luce(px.Rankings.from_lists(rankings, action_names="abcd"))
    assert not fit.exists and np.isneginf(fit.rewards[3]) and fit.status == 2
    restricted = px.fit_plackett_luce(px.Rankings.from_lists(
        [["a", "b"], ["b", "c"], ["c", "a"], ["b", "a", "c"]], action_names="abc"))
    np.testing.assert_allclose(fit.rewards[:3], restricted.rewards, atol=1e-10)


def test_reference_standard_errors_are_the_inverse_hessian():
    rankings = _random_rankings(np.random.default_rng(5), count=30)
    fit = px.fit_plackett_luce(rankings, reference=0)
    h, x0 = 1e-4, fit.rewards[1:]

    def f(x):
        return _nll(np.r_[0.0, x], rankings)

    hess = central_hessian(f, x0, h)
    np.testing.assert_allclose(fit.stderr[1:], np.sqrt(np.diag(np.linalg.inv(hess))),
                               rtol=1e-4)


@pytest.mark.parametrize("tau", [0.2, 1.0, 4.0])
def test_listwise_dpo_optimum_is_rlhf_policy_of_pl_fit(tau):
    """Prop. 4 for rankings: the minimiser of listwise DPO, found by scipy directly in the
    logits, equals rlhf_policy(fit_plackett_luce(...).rewards, pi_ref, tau)."""
    rankings = _random_rankings(np.random.default_rng(11), count=20)
    pi_ref = np.array([0.4, 0.3, 0.2, 0.1])
    sol = px.solve_dpo_rankings(rankings, pi_ref, tau)
    fit = px.fit_plackett_luce(rankings)
    np.testing.assert_allclose(sol.policy, px.rlhf_policy(fit.rewards, pi_ref, tau),
                               rtol=1e-10)
    best = minimize(lambda th: px.dpo_rankings_empirical(th, rankings, pi_ref, tau),
                    np.log(pi_ref), method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(sol.policy, px.softmax_policy(best.x), atol=1e-6)
    assert px.dpo_rankings_empirical(sol.logits, rankings, pi_ref, tau) <= best.fun + 1e-12


def test_matches_choix_ilsr_rankings():
    choix = pytest.importorskip("choix")
    rankings = _random_rankings(np.random.default_rng(2), n=6, count=60)
    ours = px.fit_plackett_luce(rankings).rewards
    theirs = choix.ilsr_rankings(6, rankings, tol=1e-12)
    np.testing.assert_allclose(ours, theirs - theirs.mean(), atol=1e-7)


def test_invalid_rankings():
    with pytest.raises(ValueError, match=r"\(ranking 1\) lists an action twice"):
        px.fit_plackett_luce([[0, 1], [1, 1, 2]])
    with pytest.raises(ValueError, match="give ranking 0 1 actions"):
        px.fit_plackett_luce([[0], [1, 2]])
    with pytest.raises(TypeError, match="rankings must be"):
        px.fit_plackett_luce(3)
