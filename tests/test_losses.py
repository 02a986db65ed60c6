"""Tests of psipo_exact.losses: Eq. 2, 4, 5, 13, 16, 17, Theorem 2 and Proposition 3.

References are explicit Python loops over the paper's formulas, closed-form constants derived
by hand (see each docstring) or central finite differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp

import psipo_exact as px
from psipo_exact import losses
from psipo_exact import strategies as pst
from psipo_exact.model import Dataset

POPULATION = {
    "dpo_population": losses.dpo_population,
    "ipo_population": losses.ipo_population,
    "ipo_sampled_population": losses.ipo_sampled_population,
}
EMPIRICAL = {
    "dpo": losses.dpo_empirical,
    "ipo": losses.ipo_empirical,
    "ipo_symmetric": losses.ipo_empirical_symmetric,
}


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _loop_population(name, pi, prefs, mu, pi_ref, tau):
    """Eq. 5, 13 and 16 as explicit double sums over Supp(µ) × Supp(µ)."""
    n = mu.size
    against = [sum(prefs[i, j] * mu[j] for j in range(n)) for i in range(n)]
    total = 0.0
    for i in range(n):
        for j in range(n):
            if mu[i] == 0 or mu[j] == 0:
                continue
            h = math.log(pi[i] * pi_ref[j] / (pi[j] * pi_ref[i]))
            if name == "dpo_population":
                term = -prefs[i, j] * _log_sigmoid(tau * h)
            elif name == "ipo_population":
                term = (h - (against[i] - against[j]) / tau) ** 2
            else:  # Eq. 16 with E_I taken by hand: p (h − 1/τ)² + (1 − p) h²
                term = prefs[i, j] * (h - 1 / tau) ** 2 + (1 - prefs[i, j]) * h**2
            total += mu[i] * mu[j] * term
    return total


def _loop_empirical(name, logits, data, pi_ref, tau):
    """Eq. 4, Eq. 17 and the form above Eq. 17 as a loop with an explicit log-softmax."""
    logits = np.atleast_2d(logits)
    pi_ref = np.atleast_2d(pi_ref)
    total = 0.0
    for i in range(len(data)):
        x = 0 if data.contexts is None else data.contexts[i]
        log_pi = logits[x] - logsumexp(logits[x])
        w, lo = data.winners[i], data.losers[i]
        h = (log_pi[w] - log_pi[lo]) - (math.log(pi_ref[x][w]) - math.log(pi_ref[x][lo]))
        if name == "dpo":
            total += -_log_sigmoid(tau * h)
        elif name == "ipo":
            total += (h - 1 / (2 * tau)) ** 2
        else:
            total += 0.5 * ((h - 1 / tau) ** 2 + (-h) ** 2)
    return total / len(data)


# ---------------------------------------------------------------- population losses


@given(pst.preference_problems(st.integers(2, 5), support="same"), st.data())
def test_population_losses_match_explicit_sums(problem, data):
    prefs, mu, pi_ref, tau = problem
    pi = data.draw(pst.policies(mu.size))
    for name, fn in POPULATION.items():
        expected = _loop_population(name, pi, prefs, mu, pi_ref, tau)
        assert fn(pi, prefs, mu, pi_ref, tau) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    rewards = data.draw(pst.rewards(mu.size))
    expected = sum(-mu[i] * mu[j] * prefs[i, j] * _log_sigmoid(rewards[i] - rewards[j])
                   for i in range(mu.size) for j in range(mu.size))
    assert losses.bt_reward_population(rewards, prefs, mu) == pytest.approx(expected, rel=1e-12)


@given(pst.preference_problems(st.integers(2, 5), support="same",
                               deterministic=None), st.data())
def test_eq13_zero_at_eq7_policy_and_positive_elsewhere(problem, data):
    """Theorem 2: with Supp(µ) = Supp(πref), Eq. 13 vanishes at the Eq. 7 IPO policy and only
    there on that support. In logits s, Eq. 13 is E_{µ×µ}[(d(y) − d(y′))²] with
    d = s − log πref − p(·≻µ)/τ (Eq. 14), so moving s by ε·v from the optimum gives exactly
    2ε² Var_µ(v)."""
    prefs, mu, pi_ref, tau = problem
    best = px.psipo_policy(prefs, mu, pi_ref, tau, psi="identity")
    np.testing.assert_array_equal(best > 0, mu > 0)
    at_best = float(losses.ipo_population(best, prefs, mu, pi_ref, tau))
    assert 0.0 <= at_best <= 1e-20 * (1.0 + tau**-2)
    support = mu > 0
    k = int(support.sum())
    if k < 2:  # one action: a single policy has this support
        return
    v = np.zeros(mu.size)
    v[support] = data.draw(st.lists(st.floats(-1, 1, allow_subnormal=False),
                                    min_size=k, max_size=k))
    var = float(mu @ v**2 - (mu @ v) ** 2)
    if var < 1e-6:
        return
    eps = data.draw(st.floats(1e-3, 2.0))
    moved = np.where(support, best * np.exp(eps * v), 0.0)
    moved /= moved.sum()
    value = float(losses.ipo_population(moved, prefs, mu, pi_ref, tau))
    assert value > 0.0
    assert value == pytest.approx(2 * eps**2 * var, rel=1e-6)


def test_eq13_off_support_mass_is_free_app_a2():
    """App. A.2: µ = (1/2, 1/2, 0), πref uniform: every π with π(y1)/π(y2) = exp(τ⁻¹Δ) is a
    global minimiser of Eq. 13, whatever its mass on y3."""
    prefs = np.array([[0.5, 0.8, 0.1], [0.2, 0.5, 0.9], [0.9, 0.1, 0.5]])
    mu = np.array([0.5, 0.5, 0.0])
    pi_ref = np.full(3, 1 / 3)
    tau = 0.7
    delta = (0.5 * 0.5 + 0.5 * 0.8) - (0.5 * 0.2 + 0.5 * 0.5)
    ratio = math.exp(delta / tau)
    for third in (0.0, 0.2, 0.9):
        q = (1 - third) / (1 + ratio)
        pi = np.array([ratio * q, q, third])
        assert losses.ipo_population(pi, prefs, mu, pi_ref, tau) == pytest.approx(0.0, abs=1e-28)
    # L(π) = ½ (τ⁻¹Δ − log π(y1)/π(y2))²: two ordered pairs (y1, y2), (y2, y1) of weight
    # µ(y1)µ(y2) = ¼ each (App. A.2 prints the factor as 2; the conclusion is unaffected).
    pi = np.array([0.5, 0.3, 0.2])
    expected = 2 * 0.25 * (delta / tau - math.log(0.5 / 0.3)) ** 2
    assert losses.ipo_population(pi, prefs, mu, pi_ref, tau) == pytest.approx(expected, rel=1e-12)


@given(pst.preference_problems(st.integers(2, 5), support="same", deterministic=None),
       st.data())
def test_prop_3_eq13_minus_eq16_is_independent_of_pi(problem, data):
    """Prop. 3: Eq. 13 − Eq. 16 does not depend on π. Expanding both squares, the difference
    is τ⁻²(E[(p_y − p_y′)²] − E[I²]) = τ⁻²(2 Var_µ(p(·≻µ)) − 1/2), using E[I] = E[p(y≻y′)]
    = 1/2 by complementarity."""
    prefs, mu, pi_ref, tau = problem
    diffs = []
    for _ in range(2):
        pi = data.draw(pst.policies(mu.size))
        eq13 = float(losses.ipo_population(pi, prefs, mu, pi_ref, tau))
        eq16 = float(losses.ipo_sampled_population(pi, prefs, mu, pi_ref, tau))
        diffs.append((eq13 - eq16, 1.0 + abs(eq13) + abs(eq16)))
    against = prefs @ mu
    constant = (2 * (mu @ against**2 - (mu @ against) ** 2) - 0.5) / tau**2
    scale = max(s for _, s in diffs)
    assert diffs[0][0] == pytest.approx(diffs[1][0], rel=0, abs=1e-11 * scale)
    assert diffs[0][0] == pytest.approx(constant, rel=0, abs=1e-11 * scale)


def test_population_losses_where_pi_vanishes_on_supp_mu():
    """π(y) = 0 on Supp(µ): Eq. 13/16 are +∞; Eq. 5 takes its limiting value, +∞ if y ever
    wins against Supp(µ), finite if it never wins (then it equals the limit ε → 0)."""
    prefs = np.array([[0.5, 0.7, 1.0], [0.3, 0.5, 1.0], [0.0, 0.0, 0.5]])
    mu = np.full(3, 1 / 3)
    pi_ref = np.array([0.2, 0.3, 0.5])
    pi = np.array([0.4, 0.6, 0.0])
    assert losses.ipo_population(pi, prefs, mu, pi_ref, 1.0) == np.inf
    assert losses.ipo_sampled_population(pi, prefs, mu, pi_ref, 1.0) == np.inf
    limit = float(losses.dpo_population(pi, prefs, mu, pi_ref, 1.0))
    assert math.isfinite(limit)
    near = np.array([0.4, 0.6, 0.0]) * (1 - 1e-13) + np.array([0.0, 0.0, 1e-13])
    assert limit == pytest.approx(float(losses.dpo_population(near, prefs, mu, pi_ref, 1.0)),
                                  rel=1e-9)
    # y2 wins sometimes against y0: the DPO loss blows up.
    wins = np.array([[0.5, 0.7, 0.9], [0.3, 0.5, 1.0], [0.1, 0.0, 0.5]])
    assert losses.dpo_population(pi, wins, mu, pi_ref, 1.0) == np.inf


@given(pst.preference_problems(st.integers(2, 4), batch_shape=st.tuples(st.integers(1, 3)),
                               support="same"), st.data())
def test_population_losses_broadcast_over_contexts_and_tau_grid(problem, data):
    """Contexts with ρ and a τ grid of shape (k, 1) equal the per-(τ, context) loop."""
    prefs, mu, pi_ref, tau = problem
    n_ctx, n = mu.shape
    rho = data.draw(pst.probability_vectors(n_ctx))
    pi = data.draw(pst.policies(n, batch_shape=(n_ctx,)))
    rewards = data.draw(pst.rewards(n, batch_shape=(n_ctx,)))
    taus = np.array([tau, 3 * tau])
    for name, fn in POPULATION.items():
        out = fn(pi, prefs, mu, pi_ref, taus[:, None], rho=rho)
        assert out.shape == (2,)
        for k, t in enumerate(taus):
            per = [_loop_population(name, pi[x], prefs[x], mu[x], pi_ref[x], t)
                   for x in range(n_ctx)]
            assert out[k] == pytest.approx(np.dot(rho, per), rel=1e-10, abs=1e-12)
        no_rho = fn(pi, prefs, mu, pi_ref, taus[:, None])
        assert no_rho.shape == (2, n_ctx)
    bt = losses.bt_reward_population(rewards, prefs, mu, rho=rho)
    per = [losses.bt_reward_population(rewards[x], prefs[x], mu[x]) for x in range(n_ctx)]
    assert bt == pytest.approx(np.dot(rho, per), rel=1e-12)


# ----------------------------------------------------------------- empirical losses


def _empirical_case(data, contexts):
    n = data.draw(st.integers(2, 5))
    ds = data.draw(pst.datasets(n, max_size=10, n_contexts=2 if contexts else None))
    logits = data.draw(st.lists(st.floats(-4, 4, allow_subnormal=False),
                                min_size=n * ds.n_contexts, max_size=n * ds.n_contexts))
    logits = np.array(logits).reshape(ds.logits_shape)
    pi_ref = data.draw(pst.policies(n, batch_shape=ds.logits_shape[:-1]))
    tau = data.draw(pst.taus(1e-1, 1e1))
    return ds, logits, pi_ref, tau


@given(st.data(), st.booleans())
def test_empirical_losses_match_explicit_loop(data, contexts):
    """Eq. 4, Eq. 17 and the symmetric form equal a loop with an explicit log-softmax."""
    ds, logits, pi_ref, tau = _empirical_case(data, contexts)
    for name, fn in EMPIRICAL.items():
        expected = _loop_empirical(name, logits, ds, pi_ref, tau)
        assert fn(logits, ds, pi_ref, tau) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@given(st.data(), st.booleans())
def test_eq17_equals_symmetric_form_up_to_quarter_inverse_tau_squared(data, contexts):
    """Sec. 5.2: ½[(h − τ⁻¹)² + h²] = h² − h/τ + 1/(2τ²) and (h − τ⁻¹/2)² = h² − h/τ +
    1/(4τ²), so the symmetric loss minus Eq. 17 is exactly 1/(4τ²) for any π and dataset."""
    ds, logits, pi_ref, tau = _empirical_case(data, contexts)
    sym = float(losses.ipo_empirical_symmetric(logits, ds, pi_ref, tau))
    eq17 = float(losses.ipo_empirical(logits, ds, pi_ref, tau))
    assert sym - eq17 == pytest.approx(1 / (4 * tau**2), rel=1e-9, abs=1e-12 * (1 + sym))


@given(st.data(), st.booleans(), st.sampled_from(sorted(EMPIRICAL)))
def test_empirical_gradients_match_central_differences(data, contexts, name):
    """``return_grad=True`` against central differences (step 1e-5) in every logit."""
    ds, logits, pi_ref, tau = _empirical_case(data, contexts)
    fn = EMPIRICAL[name]
    value, grad = fn(logits, ds, pi_ref, tau, return_grad=True)
    assert grad.shape == logits.shape
    assert value == pytest.approx(float(fn(logits, ds, pi_ref, tau)), rel=1e-15)
    step = 1e-5
    numeric = np.zeros_like(logits)
    for idx in np.ndindex(*logits.shape):
        up, down = logits.copy(), logits.copy()
        up[idx] += step
        down[idx] -= step
        numeric[idx] = (fn(up, ds, pi_ref, tau) - fn(down, ds, pi_ref, tau)) / (2 * step)
    scale = 1.0 + abs(float(value)) + tau**-2
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7 * scale)
    # Softmax invariance: adding a constant per context changes nothing, so the gradient
    # sums to zero over the actions of each context.
    np.testing.assert_allclose(grad.sum(-1), 0.0, atol=1e-12 * scale)


@given(st.data())
def test_empirical_losses_with_contexts_equal_per_context_loop_and_tau_grid(data):
    """A contextual dataset equals the N_x/N-weighted per-context bandit losses; a τ grid
    and a batch of logits broadcast as the loop over them."""
    ds, logits, pi_ref, tau = _empirical_case(data, True)
    taus = np.array([tau, 2 * tau, 0.5 * tau])
    for name, fn in EMPIRICAL.items():
        value, grad = fn(logits, ds, pi_ref, taus, return_grad=True)
        assert value.shape == (3,) and grad.shape == (3,) + logits.shape
        for k, t in enumerate(taus):
            total = 0.0
            grads = np.zeros_like(logits)
            for x in range(ds.n_contexts):
                mask = ds.contexts == x
                if not mask.any():
                    continue
                sub = Dataset(ds.winners[mask], ds.losers[mask], ds.n_actions)
                v, gx = fn(logits[x], sub, pi_ref[x], t, return_grad=True)
                total += mask.mean() * v
                grads[x] = mask.mean() * gx
            assert value[k] == pytest.approx(total, rel=1e-12, abs=1e-14)
            np.testing.assert_allclose(grad[k], grads, rtol=1e-10, atol=1e-13)
        batch = np.stack([logits, logits + 1.0, -logits])
        out = fn(batch, ds, pi_ref, tau)
        assert out.shape == (3,)
        np.testing.assert_allclose(out, [fn(b, ds, pi_ref, tau) for b in batch], rtol=1e-14)


def test_sample_weights_give_minibatch_losses():
    ds = px.paper_dataset("D1")
    theta = np.array([0.3, -0.2, 0.5])
    pi_ref = np.full(3, 1 / 3)
    counts = np.array([2, 0, 7])
    value = losses.ipo_empirical(theta, ds, pi_ref, 0.5, sample_weights=counts / 9)
    repeated = Dataset.from_pairs([(0, 1)] * 2 + [(0, 2)] * 7, 3)
    assert value == pytest.approx(float(losses.ipo_empirical(theta, repeated, pi_ref, 0.5)),
                                  rel=1e-14)


def test_paper_ipo_regression_target():
    """Eq. 17 is zero exactly when every h_π(y_w, y_l) equals τ⁻¹/2 (Sec. 5.2)."""
    ds = Dataset.from_pairs([(0, 1), (1, 2)], 3)
    tau = 0.25
    pi_ref = np.array([0.5, 0.3, 0.2])
    theta = np.log(pi_ref) + np.array([2.0, 0.0, -2.0]) * (0.5 / tau) / 2
    assert losses.ipo_empirical(theta, ds, pi_ref, tau) == pytest.approx(0.0, abs=1e-28)
    assert losses.dpo_empirical(theta, ds, pi_ref, tau) == pytest.approx(
        -_log_sigmoid(tau * 0.5 / tau), rel=1e-14)


# ------------------------------------------------------------------------- bad input

PREFS = np.array([[0.5, 0.7, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]])
MU = np.array([0.2, 0.3, 0.5])
PI = np.array([0.1, 0.6, 0.3])
PI_REF = np.array([0.3, 0.3, 0.4])
DATA = Dataset.from_pairs([(0, 1), (1, 2), (0, 2)], 3)

POP_BAD = [
    ("pi", [0.2, 0.3, 0.4], ValueError, r"pi\[:\] sums to 0\.9"),
    ("pi", [1.1, -0.1, 0.0], ValueError, r"pi\[1\] = -0\.1, must be >= 0"),
    ("pi", [0.5, 0.5], ValueError, r"pi has 2 actions.*expected 3"),
    ("pi", [np.nan, 0.5, 0.5], ValueError, r"pi\[0\] is NaN"),
    ("prefs", [[0.5, 0.9, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]], ValueError,
     r"prefs\[0, 1\] \+ prefs\[1, 0\] = 1\.2.*must equal 1"),
    ("prefs", np.full((3, 2), 0.5), ValueError, r"prefs must have shape"),
    ("mu", [0.2, 0.3, 0.4], ValueError, r"mu\[:\] sums to 0\.9"),
    ("mu", [0.5, 0.5], ValueError, r"mu has 2 actions.*expected 3"),
    ("pi_ref", [0.0, 0.5, 0.5], ValueError, r"pi_ref\[0\] = 0 but mu\[0\] > 0"),
    ("pi_ref", [0.3, 0.3, np.inf], ValueError, r"pi_ref\[2\] = inf, must be finite"),
    ("tau", 0.0, ValueError, r"tau = 0\.0, must be > 0"),
    ("tau", np.nan, ValueError, r"tau is NaN"),
    ("tau", np.inf, ValueError, r"tau = inf, must be finite"),
    ("rho", [0.5, 0.6], ValueError, r"rho\[:\] sums to 1\.1"),
]


@pytest.mark.parametrize("name", sorted(POPULATION))
@pytest.mark.parametrize("arg, value, exc, match", POP_BAD,
                         ids=[f"{a}-{i}" for i, (a, *_) in enumerate(POP_BAD)])
def test_population_bad_input(name, arg, value, exc, match):
    kwargs = dict(pi=PI, prefs=PREFS, mu=MU, pi_ref=PI_REF, tau=0.5)
    if arg == "rho":
        kwargs = {k: (np.stack([v, v]) if k in ("pi", "mu", "pi_ref") else v)
                  for k, v in kwargs.items()}
    kwargs[arg] = value
    with pytest.raises(exc, match=match):
        POPULATION[name](**kwargs)


@pytest.mark.parametrize("arg, value, exc, match", [
    ("rewards", [0.0, np.nan, 1.0], ValueError, r"rewards\[1\] is NaN"),
    ("rewards", [0.0, np.inf, 1.0], ValueError, r"rewards\[1\] = inf, must be finite"),
    ("rewards", [0.0, 1.0], ValueError, r"rewards has 2 actions.*expected 3, as mu"),
    ("prefs", [[0.5, 0.9, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]], ValueError,
     r"prefs\[0, 1\] \+ prefs\[1, 0\]"),
    ("mu", [-0.5, 1.0, 0.5], ValueError, r"mu\[0\] = -0\.5, must be >= 0"),
])
def test_bt_reward_population_bad_input(arg, value, exc, match):
    kwargs = dict(rewards=np.zeros(3), prefs=PREFS, mu=MU)
    kwargs[arg] = value
    with pytest.raises(exc, match=match):
        losses.bt_reward_population(**kwargs)


EMP_BAD = [
    ("logits", np.zeros(4), ValueError, r"logits has shape \(4,\).*trailing axes must be \(3,\)"),
    ("logits", [0.0, np.nan, 0.0], ValueError, r"logits\[1\] is NaN"),
    ("logits", [0.0, np.inf, 0.0], ValueError, r"logits\[1\] = inf, must be finite"),
    ("logits", "zeros", TypeError, r"logits must be a numeric array"),
    ("data", [(0, 1)], TypeError, r"data must be a psipo_exact\.Dataset"),
    ("pi_ref", [0.0, 0.5, 0.5], ValueError, r"pi_ref vanishes on an action of datum 0"),
    ("pi_ref", [0.2, 0.3, 0.4], ValueError, r"pi_ref\[:\] sums to 0\.9"),
    ("pi_ref", [0.5, 0.5], ValueError, r"pi_ref has shape \(2,\).*trailing axes"),
    ("tau", -1.0, ValueError, r"tau = -1\.0, must be > 0"),
    ("tau", np.nan, ValueError, r"tau is NaN"),
    ("tau", np.inf, ValueError, r"tau = inf, must be finite"),
    ("sample_weights", [0.5, 0.5], ValueError, r"sample_weights has 2 entries"),
    ("sample_weights", [0.5, -0.5, 1.0], ValueError, r"sample_weights must be >= 0"),
]


@pytest.mark.parametrize("name", sorted(EMPIRICAL))
@pytest.mark.parametrize("arg, value, exc, match", EMP_BAD,
                         ids=[f"{a}-{i}" for i, (a, *_) in enumerate(EMP_BAD)])
def test_empirical_bad_input(name, arg, value, exc, match):
    kwargs = dict(logits=np.zeros(3), data=DATA, pi_ref=PI_REF, tau=0.5)
    kwargs[arg] = value
    with pytest.raises(exc, match=match):
        EMPIRICAL[name](**kwargs)


def test_empirical_loss_name_and_contextual_shapes():
    with pytest.raises(ValueError, match=r"loss = 'kto', must be one of"):
        losses.empirical_loss("kto", np.zeros(3), DATA, PI_REF, 1.0)
    ctx = Dataset([0, 1], [1, 0], 3, contexts=[0, 1])
    with pytest.raises(ValueError, match=r"logits has shape \(2, 2\).*\(2, 3\)"):
        losses.ipo_empirical(np.zeros((2, 2)), ctx, np.full((2, 3), 1 / 3), 1.0)
    with pytest.raises(ValueError, match=r"logits must have at least 2 axes, got shape \(3,\)"):
        losses.ipo_empirical(np.zeros(3), ctx, np.full((2, 3), 1 / 3), 1.0)
    with pytest.raises(ValueError, match=r"pi_ref vanishes.*datum 1.*context 1"):
        losses.ipo_empirical(np.zeros((2, 3)), ctx, [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], 1.0)


def test_population_loss_ignores_infinite_context_with_zero_weight():
    """π vanishing on Supp(µ) makes Eq. 13 infinite in that context only; with ρ(x) = 0
    there, the context-averaged loss is the other context's value, not NaN."""
    pi = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    mu = np.full(3, 1 / 3)
    for fn in (losses.ipo_population, losses.ipo_sampled_population):
        value = fn(pi, PREFS, mu, mu, 1.0, rho=[0.0, 1.0])
        assert value == pytest.approx(float(fn(pi[1], PREFS, mu, mu, 1.0)), rel=1e-14)
        assert fn(pi, PREFS, mu, mu, 1.0, rho=[0.5, 0.5]) == np.inf


@given(st.data())
def test_shared_pi_ref_across_contexts(data):
    """A single πref of shape (n,) is broadcast to every context of a contextual dataset."""
    ds, logits, _, tau = _empirical_case(data, True)
    pi_ref = data.draw(pst.policies(ds.n_actions))
    stacked = np.broadcast_to(pi_ref, ds.logits_shape)
    for fn in EMPIRICAL.values():
        assert fn(logits, ds, pi_ref, tau) == fn(logits, ds, stacked, tau)


# ------------------------------------------- extreme τ and logits: no overflow, no NaN


def _no_warnings(fn, *args, **kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("name", ["ipo_population", "ipo_sampled_population"])
def test_ipo_population_losses_at_tiny_tau(name):
    """Eq. 13/16 scale as 1/τ²: finite and equal to the loop at τ = 1e-60, +∞ (not NaN) at
    τ = 1e-300 and 5e-324, also with exact 0/1 preferences and µ(y) = 0 (0·∞ = 0)."""
    prefs = np.array([[0.5, 1.0, 0.3], [0.0, 0.5, 0.6], [0.7, 0.4, 0.5]])
    mu = np.array([0.5, 0.5, 0.0])
    pi = np.array([0.2, 0.3, 0.5])
    fn = POPULATION[name]
    expected = _loop_population(name, pi, prefs, mu, PI_REF, 1e-60)
    assert _no_warnings(fn, pi, prefs, mu, PI_REF, 1e-60) == pytest.approx(expected, rel=1e-12)
    for tau in (1e-300, 5e-324):
        assert _no_warnings(fn, pi, prefs, mu, PI_REF, tau) == np.inf


def test_bt_reward_population_with_rewards_near_float_maximum():
    """r = (1e308, −1e308): the gaps overflow to ±∞, σ(+∞) = 1 costs nothing and the loser
    never wins (p = 0), so only the diagonal terms µ(y)² · ½ log 2 remain."""
    prefs = np.array([[0.5, 1.0], [0.0, 0.5]])
    value = _no_warnings(losses.bt_reward_population, [1e308, -1e308], prefs, [0.5, 0.5])
    assert value == pytest.approx(0.25 * math.log(2), rel=1e-15)


def test_empirical_losses_with_huge_logits():
    """D1 = {0≻1, 1≻2, 0≻2}, uniform πref, θ = (1e300, −1e300, 0): h = (2e300, −1e300, 1e300).
    DPO: mean softplus(−h) = 1e300/3; IPO: (h − ½)² overflows to +∞ while its gradient
    Σ_i (2/3)(h_i − ½)(e_w − e_l) = (2e300, −2e300, 0) stays finite."""
    theta, uniform = np.array([1e300, -1e300, 0.0]), np.full(3, 1 / 3)
    value = _no_warnings(losses.dpo_empirical, theta, DATA, uniform, 1.0)
    assert value == pytest.approx(1e300 / 3, rel=1e-15)
    for fn in (losses.ipo_empirical, losses.ipo_empirical_symmetric):
        value, grad = _no_warnings(fn, theta, DATA, uniform, 1.0, return_grad=True)
        assert value == np.inf
        np.testing.assert_allclose(grad, [2e300, -2e300, 0.0], rtol=1e-15, atol=0)


def test_empirical_zero_weight_datum_with_infinite_loss_counts_zero():
    """θ = (1e200, 0, 0): datum 0 (0≻1) has (h − ½)² = +∞, but with weight 0 it adds 0,
    not NaN; datum 1 (1≻2, h = 0) alone gives (0 − ½)² = ¼."""
    value = _no_warnings(losses.ipo_empirical, [1e200, 0.0, 0.0], DATA, np.full(3, 1 / 3), 1.0,
                         sample_weights=[0.0, 1.0, 0.0])
    assert value == 0.25


@pytest.mark.parametrize("name", ["ipo", "ipo_symmetric"])
def test_empirical_inf_minus_inf_raises(name):
    with pytest.raises(ValueError, match=rf"the {name} loss or its gradient is not repres"):
        losses.empirical_loss(name, [1e308, -1e308, 0.0], DATA, PI_REF, 1.0, return_grad=True)
    with pytest.raises(ValueError, match=r"not representable.*1/tau"):
        losses.empirical_loss(name, np.zeros(3), DATA, PI_REF, 5e-324, return_grad=True)



def test_population_and_reference_gap_errors_name_the_arguments():
    """The error contract (ValueError/TypeError naming the argument, never numpy's own
    broadcast error): leading shapes of pi and mu that do not broadcast; a non-Dataset."""
    with pytest.raises(ValueError, match=r"do not broadcast: pi \(2,\), pi_ref \(\), mu \(3,\)"):
        losses.ipo_population(np.stack([PI, PI]), PREFS, np.stack([MU] * 3), PI_REF, 0.5)
    with pytest.raises(TypeError, match=r"data must be a psipo_exact\.Dataset, got list"):
        losses.reference_gap([(0, 1)], PI_REF)

def test_scatter_to_logits_bad_input():
    with pytest.raises(ValueError, match=r"coef has 2 entries on its last axis, the dataset"):
        losses.scatter_to_logits(np.zeros(2), DATA)
    with pytest.raises(TypeError, match=r"coef must be a numeric array"):
        losses.scatter_to_logits("ones", DATA)
    with pytest.raises(TypeError, match=r"data must be a psipo_exact\.Dataset"):
        losses.scatter_to_logits(np.zeros(3), None)
    np.testing.assert_array_equal(losses.scatter_to_logits([1.0, 2.0, 4.0], DATA), [5.0, 1.0, -6.0])


@pytest.mark.parametrize("name", ["hinge", "exponential", "robust"])
def test_pairwise_empirical_rejects_ties_naming_the_loss(name):
    # A margin loss has no term for a tie: the error says which loss rejects them.
    data = px.Dataset.from_pairs([(0, 1), (1, 2)], 3, ties=[False, True])
    with pytest.raises(ValueError, match=rf"data has 1 ties .* the {name} loss"):
        px.losses.pairwise_empirical(name, np.zeros(3), data, np.ones(3) / 3, 1.0)
