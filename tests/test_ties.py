"""Tie models (Rao–Kupper, Davidson), DPO and IPO with ties, against independent references:
direct likelihood maximisation with scipy on the closed-form probabilities, numerical
derivatives, and the limits (no ties → Bradley–Terry)."""

from __future__ import annotations

import numpy as np
import pytest
from finite_differences import central_hessian
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import psipo_exact as px
from psipo_exact.adam_noise import adam_stationary_covariance
from psipo_exact.losses import TIE_MODELS


def _probabilities(model, d, tie_parameter):
    """P(win), P(tie) from the textbook formulas (not the code's log forms)."""
    if model == "rao_kupper":
        win = 1 / (1 + tie_parameter * np.exp(-d))
        lose = 1 / (1 + tie_parameter * np.exp(d))
        return win, 1 - win - lose
    z = np.exp(d / 2) + np.exp(-d / 2) + tie_parameter
    return np.exp(d / 2) / z, tie_parameter / z


def _negloglik(params, model, data, fixed=None):
    n = data.n_actions
    r = np.r_[0.0, params[: n - 1]]
    theta = fixed if fixed is not None else (
        1 + np.exp(params[-1]) if model == "rao_kupper" else np.exp(params[-1]))
    win, tie = _probabilities(model, r[data.winners] - r[data.losers], theta)
    p = np.where(data.ties, tie, win)
    return -np.sum(data.datum_weights * np.log(p))


def _random_tie_data(rng, n=4, size=40):
    first = rng.integers(0, n, size)
    second = (first + rng.integers(1, n, size)) % n
    ties = rng.random(size) < 0.3
    return px.Dataset(first, second, n, ties=ties, weights=rng.integers(1, 4, size))


@pytest.mark.parametrize("model", ["rao_kupper", "davidson"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mle_matches_direct_scipy_maximisation(model, seed):
    data = _random_tie_data(np.random.default_rng(seed))
    fit = (px.fit_rao_kupper if model == "rao_kupper" else px.fit_davidson)(data, reference=0)
    assert fit.status == 0
    best = minimize(_negloglik, np.zeros(data.n_actions), args=(model, data), method="BFGS",
                    options={"gtol": 1e-10})
    np.testing.assert_allclose(fit.rewards[1:], best.x[:-1], atol=1e-5)
    expected = 1 + np.exp(best.x[-1]) if model == "rao_kupper" else np.exp(best.x[-1])
    assert fit.tie_parameter == pytest.approx(expected, rel=1e-5)
    assert fit.loglik == pytest.approx(-best.fun, rel=1e-9)


@pytest.mark.parametrize("model", ["rao_kupper", "davidson"])
@pytest.mark.parametrize("seed", [0, 1])
def test_deviance_is_against_the_saturated_three_outcome_model(model, seed):
    """deviance = 2 (ℓ_saturated − ℓ), ℓ_saturated = Σ_pairs Σ_outcomes n_o log(n_o / n_pair)
    over the outcomes (i wins, j wins, tie) of each compared pair, counted here by a loop."""
    data = _random_tie_data(np.random.default_rng(seed))
    counts = {}
    for w, lo, tie, c in zip(data.winners, data.losers, data.ties, data.datum_weights):
        pair = counts.setdefault((min(w, lo), max(w, lo)), {})
        outcome = "tie" if tie else (w, lo)
        pair[outcome] = pair.get(outcome, 0.0) + c
    saturated = sum(n * np.log(n / sum(pair.values())) for pair in counts.values()
                    for n in pair.values())
    fit = (px.fit_rao_kupper if model == "rao_kupper" else px.fit_davidson)(data)
    assert fit.deviance == pytest.approx(2 * (saturated - fit.loglik), rel=1e-12)


@pytest.mark.parametrize("model", ["rao_kupper", "davidson"])
def test_standard_errors_are_the_inversecentral_hessian(model):
    """Reference constraint: the Hessian of the negative log-likelihood in (r_1.., log φ)."""
    data = _random_tie_data(np.random.default_rng(7))
    fit = (px.fit_rao_kupper if model == "rao_kupper" else px.fit_davidson)(data, reference=0)
    phi = np.log(fit.tie_parameter)
    x0 = np.r_[fit.rewards[1:], phi]

    def f(x):
        theta = np.exp(x[-1])
        return _negloglik(np.r_[x[:-1], 0.0], model, data, fixed=theta)

    cov = np.linalg.inv(central_hessian(f, x0))
    np.testing.assert_allclose(fit.stderr[1:], np.sqrt(np.diag(cov)[:-1]), rtol=1e-4)
    # the whole reward covariance, not only its diagonal; exactly 0 at the reference
    np.testing.assert_allclose(fit.covariance[1:, 1:], cov[:-1, :-1], rtol=1e-4,
                               atol=1e-6 * np.abs(cov).max())
    assert not fit.covariance[0].any() and not fit.covariance[:, 0].any()
    assert fit.tie_parameter_stderr == pytest.approx(np.sqrt(cov[-1, -1]) * fit.tie_parameter,
                                                     rel=1e-4)


@pytest.mark.parametrize("model, theta", [("rao_kupper", 1.7), ("davidson", 0.6)])
def test_fixed_tie_parameter_errors_are_conditional_on_it(model, theta):
    """A given tie parameter is not estimated: the reward covariance is the inverse
    numerical Hessian in r alone (φ held fixed, not the r-block of the joint inverse), and
    the parameter's standard error is 0."""
    data = _random_tie_data(np.random.default_rng(11))
    fit = (px.fit_rao_kupper if model == "rao_kupper" else px.fit_davidson)(
        data, theta, reference=0)
    assert fit.tie_parameter == theta

    def f(x):
        return _negloglik(np.r_[x, 0.0], model, data, fixed=theta)

    cov = np.linalg.inv(central_hessian(f, fit.rewards[1:].copy()))
    np.testing.assert_allclose(fit.covariance[1:, 1:], cov, rtol=1e-4,
                               atol=1e-6 * np.abs(cov).max())
    assert fit.tie_parameter_stderr == 0.0


@pytest.mark.parametrize("name", ["rao_kupper", "davidson"])
def test_per_datum_derivatives_match_finite_differences(name):
    model = TIE_MODELS[name]
    d, phi, h = np.linspace(-3, 3, 7), 0.7, 1e-6
    for fn in (model.win, model.tie):
        f, f_d, f_p, f_dd, f_dp, f_pp = fn(d, phi)
        np.testing.assert_allclose(f_d, (fn(d + h, phi)[0] - fn(d - h, phi)[0]) / (2 * h),
                                   rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(f_p, (fn(d, phi + h)[0] - fn(d, phi - h)[0]) / (2 * h),
                                   rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(f_dd, (fn(d + h, phi)[1] - fn(d - h, phi)[1]) / (2 * h),
                                   rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(f_dp, (fn(d, phi + h)[1] - fn(d, phi - h)[1]) / (2 * h),
                                   rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(f_pp, (fn(d, phi + h)[2] - fn(d, phi - h)[2]) / (2 * h),
                                   rtol=1e-5, atol=1e-8)
    win, tie = _probabilities(name, d, np.exp(phi))
    np.testing.assert_allclose(np.exp(-model.win(d, phi)[0]), win, rtol=1e-12)
    np.testing.assert_allclose(np.exp(-model.tie(d, phi)[0]), tie, rtol=1e-12)


@pytest.mark.parametrize("fit", [px.fit_rao_kupper, px.fit_davidson])
def test_no_ties_is_bradley_terry(fit):
    data = px.datasets.baseball()
    tied = fit(data)
    bt = px.fit_bradley_terry(data)
    np.testing.assert_allclose(tied.rewards, bt.rewards, atol=1e-12)
    assert tied.tie_parameter == (1.0 if fit is px.fit_rao_kupper else 0.0)
    assert tied.loglik == pytest.approx(bt.loglik, rel=1e-12)


def test_all_ties_raises_and_diverging_parameter_is_reported():
    with pytest.raises(ValueError, match="tie parameter is \\+inf"):
        px.fit_davidson(px.Dataset.from_pairs([("a", "b"), ("b", "c")], ties=[True, True]))
    sol = px.fit_rao_kupper(px.Dataset.from_pairs([("a", "b"), ("a", "b")],
                                                  ties=[False, True]))
    assert sol.status == 6 and "diverges" in sol.message
    assert sol.exists is False  # no maximiser: the likelihood increases without bound


@pytest.mark.parametrize("fit", [px.fit_rao_kupper, px.fit_davidson])
def test_win_and_tie_of_one_pair_diverge_towards_the_supremum(fit):
    """a ≻ b and a = b only: P(win)·P(tie) < ¼ for every finite (d, θ) (for Davidson
    e^{d/2} ν / Z² < ¼ by AM–GM, Z > e^{d/2} + ν), approached only as d, θ → ∞; the fit stops
    and reports it (did not converge, no maximiser), its log-likelihood just below log ¼, with
    no floating-point warning (Davidson's Newton steps past the stopping rule divide by 0)."""
    sol = fit(px.Dataset.from_pairs([("a", "b"), ("a", "b")], ties=[False, True]))
    assert sol.status == 6 and "diverges" in sol.message and sol.exists is False
    model = "rao_kupper" if fit is px.fit_rao_kupper else "davidson"
    win, tie = _probabilities(model, sol.rewards[0] - sol.rewards[1], sol.tie_parameter)
    assert sol.loglik == pytest.approx(np.log(win * tie), abs=1e-12)
    assert np.log(0.25) - 1e-4 < sol.loglik <= np.log(0.25) + 1e-14   # (+ rounding)


@pytest.mark.parametrize("fit", [px.fit_rao_kupper, px.fit_davidson])
def test_a_datum_of_weight_zero_is_absent(fit):
    """Weight c counts c comparisons: a lost comparison of weight 0 (b ≻ a) neither closes
    the cycle a → b → a (b still sinks: no maximiser) nor changes the fit of the rest."""
    pairs = [("a", "b"), ("b", "c"), ("c", "b"), ("b", "c"), ("a", "c"), ("c", "a")]
    ties = [False, False, False, True, False, True]
    kept = px.Dataset.from_pairs(pairs, ties=ties)
    with_zero = px.Dataset.from_pairs(pairs + [("b", "a")], ties=ties + [False],
                                      weights=[1.0] * len(pairs) + [0.0])
    expected, got = fit(kept), fit(with_zero)
    assert got.exists == expected.exists
    np.testing.assert_allclose(got.rewards, expected.rewards, rtol=1e-12, atol=1e-12)
    assert got.tie_parameter == pytest.approx(expected.tie_parameter, rel=1e-12)
    lone = fit(px.Dataset.from_pairs([("a", "b"), ("b", "a")], weights=[1.0, 0.0]))
    assert lone.exists is False and lone.rewards[0] == 0 and np.isneginf(lone.rewards[1])


@pytest.mark.parametrize("name", ["rao_kupper", "davidson"])
@pytest.mark.parametrize("parameter", [1.0, 1.5])
def test_tie_loglik_terms_at_certain_outcomes(name, parameter):
    """d = ±∞ (a tiny τ or huge logits overflow): −log P is the limit of the textbook
    probabilities — a certain win costs 0, an impossible win or tie +∞ — with no
    floating-point warning; at finite d it is −log of the textbook formulas."""
    from psipo_exact.losses.ties import tie_loglik_terms

    model = TIE_MODELS[name]
    phi = float(model.from_parameter(parameter))
    d = np.array([np.inf, -np.inf, np.inf, -np.inf, 1.3, 1.3])
    tie = np.array([False, False, True, True, False, True])
    terms = tie_loglik_terms(model, d, phi, tie)
    win, draw = _probabilities(name, 1.3, parameter)
    if name == "rao_kupper" and parameter == 1.0:
        draw = 0.0  # θ = 1: Bradley–Terry, a tie is impossible
    with np.errstate(divide="ignore"):
        expected = -np.log([1.0, 0.0, 0.0, 0.0, win, draw])
    np.testing.assert_allclose(terms, expected, rtol=1e-12)
    # through the loss: h_π(a, b) overflows to +∞, a certain win, as in DPO (Eq. 4)
    won = px.Dataset.from_pairs([("a", "b")])
    assert px.losses.dpo_ties_empirical([1e308, -1e308], won, [0.5, 0.5], 1.0, name,
                                        parameter) == 0.0
    assert px.losses.dpo_empirical([1e308, -1e308], won, [0.5, 0.5], 1.0) == 0.0


def test_existence_follows_the_tie_digraph():
    """a ≻ b, b = c: c and b tie, a is never beaten → b, c sink to −∞ (limit)."""
    data = px.Dataset.from_pairs([("a", "b"), ("b", "c"), ("c", "b"), ("b", "c")],
                                 ties=[False, True, False, False])
    fit = px.fit_davidson(data)
    assert not fit.exists and np.isneginf(fit.rewards[1:]).all() and fit.rewards[0] == 0
    assert np.isinf(fit.stderr[1:]).all()
    closed = px.fit_davidson(px.Dataset.from_pairs(
        [("a", "b"), ("b", "c"), ("c", "b"), ("b", "c"), ("b", "a")],
        ties=[False, True, False, False, True]))
    assert closed.exists and np.isfinite(closed.rewards).all()


@pytest.mark.parametrize("tie_model", ["rao_kupper", "davidson"])
@pytest.mark.parametrize("tau", [0.3, 2.0])
def test_dpo_with_ties_is_the_rlhf_policy_of_the_tie_fit(tie_model, tau):
    """Prop. 4's analogue for DPO-RK / DPO-D (fixed tie parameter), checked against a
    direct minimisation of the loss in the logits."""
    data = _random_tie_data(np.random.default_rng(3))
    pi_ref = np.array([0.1, 0.2, 0.3, 0.4])
    parameter = 1.7 if tie_model == "rao_kupper" else 0.8
    sol = px.solve_dpo_empirical(data, pi_ref, tau, tie_model=tie_model,
                                 tie_parameter=parameter)
    fit = (px.fit_rao_kupper if tie_model == "rao_kupper" else px.fit_davidson)(
        data, parameter)
    np.testing.assert_allclose(sol.policy, px.rlhf_policy(fit.rewards, pi_ref, tau),
                               rtol=1e-10)
    best = minimize(lambda th: px.losses.dpo_ties_empirical(th, data, pi_ref, tau, tie_model,
                                                            parameter),
                    np.log(pi_ref), method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(sol.policy, px.softmax_policy(best.x), atol=1e-6)
    assert px.losses.dpo_ties_empirical(sol.logits, data, pi_ref, tau, tie_model,
                                        parameter) <= best.fun + 1e-12


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.floats(0.05, 5.0))
def test_ipo_with_ties_minimises_eq16_with_half(seed, tau):
    """IPO with ties: the solver's logits make the gradient of the loss (tie term h²) vanish,
    and the loss is Eq. 16's two-term form with I = ½ minus a constant."""
    rng = np.random.default_rng(seed)
    data = _random_tie_data(rng, n=3, size=8)
    pi_ref = rng.dirichlet(np.ones(3))
    sol = px.solve_ipo_empirical(data, pi_ref, tau)
    _, grad = px.losses.ipo_empirical(sol.logits, data, pi_ref, tau, return_grad=True)
    assert np.abs(grad).max() < 1e-9
    theta = rng.normal(size=3)
    gap = (theta[data.winners] - theta[data.losers] - np.log(pi_ref[data.winners])
           + np.log(pi_ref[data.losers]))
    target = np.where(data.ties, 0.5, 1.0) / tau
    eq16 = 0.5 * ((gap - target) ** 2 + (-gap - (1 / tau - target)) ** 2)
    w = data.datum_weights / data.total_weight
    assert px.losses.ipo_empirical_symmetric(theta, data, pi_ref, tau) == pytest.approx(
        np.sum(w * eq16), rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_ipo_loss_with_ties_is_eq17_plus_eq16_with_half(seed):
    """Eq. 17 for the decided data; for a tie, Eq. 16 with I = ½ over both orders minus its
    constant 1/(4τ²), i.e. h² (the constant is kept by the symmetric form's tie term)."""
    rng = np.random.default_rng(seed)
    data = _random_tie_data(rng, n=4, size=10)
    pi_ref = rng.dirichlet(np.ones(4))
    tau = float(rng.uniform(0.2, 3.0))
    theta = rng.normal(size=4)
    h = (theta[data.winners] - theta[data.losers] - np.log(pi_ref[data.winners])
         + np.log(pi_ref[data.losers]))
    eq16_half = 0.5 * ((h - 0.5 / tau) ** 2 + (-h - 0.5 / tau) ** 2)
    w = data.datum_weights / data.total_weight
    ipo = np.where(data.ties, eq16_half - 0.25 / tau**2, (h - 0.5 / tau) ** 2)
    assert px.losses.ipo_empirical(theta, data, pi_ref, tau) == pytest.approx(
        np.sum(w * ipo), rel=1e-12)
    symmetric = np.where(data.ties, eq16_half, 0.5 * ((h - 1 / tau) ** 2 + h**2))
    assert px.losses.ipo_empirical_symmetric(theta, data, pi_ref, tau) == pytest.approx(
        np.sum(w * symmetric), rel=1e-12)


def test_losses_and_solvers_without_a_tie_term_reject_ties():
    data = px.Dataset.from_pairs([("a", "b"), ("b", "a")], ties=[False, True])
    for call in (lambda: px.fit_bradley_terry(data),
                 lambda: px.solve_dpo_empirical(data, [0.5, 0.5], 1.0),
                 lambda: px.losses.dpo_empirical(np.zeros(2), data, [0.5, 0.5], 1.0),
                 lambda: px.simulate(data, ["ipo"], [1.0], 1, steps=2),
                 lambda: adam_stationary_covariance(data, "ipo", np.zeros(2), [0.5, 0.5], 1.0)):
        with pytest.raises(ValueError, match="data has 1 ties"):
            call()
    assert px.fit_bradley_terry(data.without_ties()).exists is False
