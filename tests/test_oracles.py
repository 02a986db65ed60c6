"""High-precision oracles (mpmath, :mod:`mp_oracles`) for every solver on small problems
across extreme scalings: µ from 1e-300 to 1, τ from 1e-6 to 1e6, rewards up to ±700,
dataset weights from 1e-300 to 1e300 (the class of issue 9's defect 1).
"""

from __future__ import annotations

import mp_oracles as oracle
import mpmath as mp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import psipo_exact as px

ORACLE = settings(max_examples=6, deadline=None, derandomize=True, database=None)
MU_SCALES = [1e-300, 1e-100, 1e-12, 1e-3, 1.0]
BT_MU_SCALES = [1e-100, 1e-12, 1e-3, 1.0]  # µ(y)µ(y′) down to 1e-200 (mpmath cost)
TAUS = [1e-6, 1e-2, 1.0, 1e2, 1e6]


@st.composite
def _scaled_mu(draw, n, scales=MU_SCALES):
    raw = np.array(draw(st.lists(st.sampled_from(scales), min_size=n, max_size=n)))
    return raw / raw.sum()


@st.composite
def _bt_problem(draw):
    """Bradley–Terry preferences of rewards up to ±700 (cross preferences down to e^-1400 and
    rounded to 0/1: then a random interior preference keeps the digraph strongly connected)
    or random interior preferences; µ over 300 orders of magnitude."""
    n = draw(st.integers(3, 4))
    if draw(st.booleans()):
        scale = draw(st.sampled_from([1.0, 40.0, 150.0]))
        rewards = np.array(draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n))) * scale
        upper = np.triu(px.bradley_terry_prefs(rewards), 1)
        upper = np.where((upper > 0) & (upper < 1), upper, 0.3)
    else:
        upper = np.triu(np.array(draw(st.lists(st.floats(0.01, 0.99), min_size=n * n,
                                               max_size=n * n))).reshape(n, n), 1)
    prefs = np.triu(upper, 1) + np.tril(1 - np.triu(upper, 1).T, -1) + 0.5 * np.eye(n)
    return prefs, draw(_scaled_mu(n, BT_MU_SCALES))


def _close(got, want, scale=1.0):
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * scale)


@ORACLE
@given(_bt_problem(), st.sampled_from(TAUS))
def test_population_bradley_terry_and_dpo_against_mpmath(problem, tau):
    prefs, mu = problem
    rewards, residual = oracle.bt_rewards(oracle.population_bt_edges(prefs, mu), len(mu))
    assert residual < 1e-25
    exact = np.array([float(r) for r in rewards])
    fit = px.fit_bradley_terry(prefs, mu)
    assert fit.exists
    _close(fit.rewards, exact, 1 + np.abs(exact).max())
    pi_ref = np.full(len(mu), 1 / len(mu))
    with mp.workdps(60):
        want = [float(p) for p in oracle.gibbs(pi_ref, rewards, tau)]
    np.testing.assert_allclose(px.solve_dpo_population(prefs, mu, pi_ref, tau).policy, want,
                               rtol=1e-9 + 1e-13 * (1 + np.abs(exact).max()) / tau, atol=1e-300)


@ORACLE
@given(st.integers(2, 4).flatmap(lambda n: st.tuples(
    st.lists(st.floats(0, 1), min_size=n * n, max_size=n * n), _scaled_mu(n), _scaled_mu(n))),
    st.sampled_from(TAUS))
def test_population_ipo_against_mpmath(problem, tau):
    """Eq. 7 with Ψ = identity (Theorem 2: Supp(µ) = Supp(πref) here)."""
    raw, mu, pi_ref = problem
    n = len(mu)
    upper = np.triu(np.array(raw).reshape(n, n), 1)
    prefs = upper + np.tril(1 - upper.T, -1) + 0.5 * np.eye(n)
    with mp.workdps(60):
        against = [mp.fsum(mp.mpf(prefs[i, j]) * mp.mpf(mu[j]) for j in range(n))
                   for i in range(n)]
        want = [float(p) for p in oracle.gibbs(pi_ref, against, tau)]
    sol = px.solve_ipo_population(prefs, mu, pi_ref, tau)
    np.testing.assert_allclose(sol.policy, want, rtol=1e-9 * (1 + 1 / tau), atol=1e-300)


@ORACLE
@given(st.sampled_from(["D1", "D2", "D3", "D3_never_wins"]),
       st.lists(st.sampled_from(MU_SCALES), min_size=3, max_size=3), st.sampled_from(TAUS))
def test_empirical_ipo_against_mpmath(name, raw_ref, tau):
    """Eq. 17's least-squares solution closest to log πref (mean kept), πref over 300 orders of
    magnitude; the paper's datasets are connected or have one never-compared action."""
    data = px.paper_dataset(name)
    pi_ref = np.array(raw_ref) / np.sum(raw_ref)
    sol = px.solve_ipo_empirical(data, pi_ref, tau)
    compared = sorted(set(data.winners.tolist()) | set(data.losers.tolist()))
    index = {y: k for k, y in enumerate(compared)}
    with mp.workdps(60):
        theta = oracle.ipo_empirical_logits([index[w] for w in data.winners],
                                            [index[v] for v in data.losers], len(compared),
                                            pi_ref[compared], tau, np.log(pi_ref[compared]))
    np.testing.assert_allclose(sol.logits[compared], [float(t) for t in theta],
                               rtol=1e-12, atol=1e-9 * (1 + 1 / tau))
