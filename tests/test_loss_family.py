"""Tests of the preference-loss registry (psipo_exact.losses.pairwise, .f_divergence, .targets).

References: an op-by-op transcription of TRL's ``DPOTrainer`` formulas (trl/trainer/
dpo_trainer.py, v0.29+; written out here from the formulas), mpmath at 50 digits where
floating point cancels, central differences for derivatives, explicit loops for the empirical
and population sums, ``scipy.optimize.minimize_scalar`` for per-pair targets and direct
maximisation for the f-regularised policy.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, logsumexp

import psipo_exact as px
from psipo_exact import losses
from psipo_exact import strategies as pst

RNG = np.random.default_rng(20240601)
TRL_NAMES = ("sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair",
             "sppo_hard", "apo_zero", "apo_down", "discopop")
F_TYPES = [("reverse_kl", 0.5), ("forward_kl", 0.5), ("js_divergence", 0.5),
           ("alpha_divergence", 0.5), ("alpha_divergence", -1.0), ("alpha_divergence", 2.0)]


def _params(name, **extra):
    smoothing = {"robust": 0.1, "cdpo": 0.1, "exo_pair": 1e-3}
    out = {"label_smoothing": smoothing[name]} if name in smoothing else {}
    return {**out, **extra}


def _logsig(x):
    return -np.logaddexp(0.0, -x)


def _trl_score(f, s, coef):
    if f == "reverse_kl":
        return s
    if f == "forward_kl":
        return -np.exp(-s)
    if f == "js_divergence":
        return _logsig(s)
    return np.exp((coef - 1.0) * s) / (coef - 1.0)


def _trl(loss_type, cl, rl, beta, eps=0.0, dtau=0.05, f="reverse_kl", coef=0.5):
    """TRL's per-sequence losses for completions of length one (torch → numpy)."""
    cs, rs = _trl_score(f, cl, coef), _trl_score(f, rl, coef)
    d = cs - rs
    if loss_type == "sigmoid":
        return -_logsig(beta * d)
    if loss_type == "hinge":
        return np.maximum(1 - beta * d, 0.0)
    if loss_type == "ipo":
        return (d - 1 / (2 * beta)) ** 2
    if loss_type == "exo_pair":
        return (expit(beta * d) * (_logsig(beta * d) - np.log1p(-eps))
                + expit(-beta * d) * (_logsig(-beta * d) - np.log(eps)))
    if loss_type == "nca_pair":
        return -_logsig(beta * cs) - 0.5 * _logsig(-beta * cs) - 0.5 * _logsig(-beta * rs)
    if loss_type == "robust":
        return (-(1 - eps) * _logsig(beta * d) + eps * _logsig(-beta * d)) / (1 - 2 * eps)
    if loss_type == "bco_pair":
        return -_logsig(beta * cs) - _logsig(-beta * rs)
    if loss_type == "sppo_hard":
        return (cs - 0.5 / beta) ** 2 + (rs + 0.5 / beta) ** 2
    if loss_type == "apo_zero":
        return (1 - expit(beta * cl)) + expit(beta * rl)
    if loss_type == "apo_down":
        return expit(beta * cl) + (1 - expit(beta * d))
    if loss_type == "discopop":
        x = d * beta
        mod = expit(x / dtau)
        with np.errstate(over="ignore", invalid="ignore"):
            return -_logsig(x) * (1 - mod) + np.exp(-x) * mod
    raise KeyError(loss_type)


# -- the registry ----------------------------------------------------------------------------
def test_registry_names_aliases_and_errors():
    assert set(TRL_NAMES) <= set(losses.PAIRWISE_LOSSES)
    assert {"cdpo", "exponential", "truncated_quadratic", "savage", "squared"} <= set(
        losses.PAIRWISE_LOSSES)
    assert losses.pairwise("dpo") is losses.pairwise("sigmoid")
    assert losses.pairwise("SLiC") is losses.pairwise("hinge")
    with pytest.raises(ValueError,
                       match=r"name = 'kto' is not a registered loss.*'sigmoid'.*'squared'"):
        losses.pairwise("kto")
    with pytest.raises(TypeError, match="name .of a loss. must be a string"):
        losses.pairwise(3)


@pytest.mark.parametrize("name", TRL_NAMES)
@pytest.mark.parametrize("f, coef", F_TYPES)
def test_values_equal_trl_transcription(name, f, coef):
    """Every TRL loss_type, under every f_divergence_type, on random log-ratios."""
    cl, rl = RNG.normal(0, 2, 500), RNG.normal(0, 2, 500)
    for beta in (0.1, 1.0, 7.0):
        eps = _params(name).get("label_smoothing", 0.0)
        ref = _trl(name, cl, rl, beta, eps=eps, f=f, coef=coef)
        ours = losses.pairwise_loss(name, cl, rl, beta, f_divergence_type=f,
                                    f_alpha_divergence_coef=coef, **_params(name))
        ok = np.isfinite(ref) & (np.abs(ref) < 1e100)
        np.testing.assert_allclose(ours[ok], ref[ok], rtol=1e-12, atol=1e-14)


def test_gpo_and_cdpo_formulas():
    """GPO's exponential, truncated quadratic, Savage and squared losses and cdpo (TRL ≤ 0.28's
    sigmoid with label smoothing) by their definitions, in x = τh."""
    h, tau, eps = RNG.normal(0, 3, 200), 0.7, 0.2
    x = tau * h
    expected = {
        "exponential": np.exp(-x), "truncated_quadratic": np.maximum(0, 1 - x) ** 2,
        "savage": 1 / (1 + np.exp(x)) ** 2, "squared": (x - 1) ** 2,
        "cdpo": -(1 - eps) * _logsig(x) - eps * _logsig(-x),
    }
    for name, ref in expected.items():
        prm = {"label_smoothing": eps} if name == "cdpo" else {}
        np.testing.assert_allclose(losses.pairwise_loss(name, h, 0.0, tau, **prm), ref,
                                   rtol=1e-13)


def _mp_loss(name, sw, sl, tau, eps=0.1, dtau=0.05):
    """The margin losses at 50 digits (mpmath), for cancellation-prone regimes."""
    mpmath.mp.dps = 50
    x = mpmath.mpf(tau) * (mpmath.mpf(sw) - mpmath.mpf(sl))
    eps = mpmath.mpf(eps)
    sig = lambda z: 1 / (1 + mpmath.exp(-z))  # noqa: E731
    if name == "exo_pair":
        return sig(x) * (mpmath.log(sig(x)) - mpmath.log(1 - eps)) + sig(-x) * (
            mpmath.log(sig(-x)) - mpmath.log(eps))
    if name == "robust":
        return ((1 - eps) * mpmath.log(1 + mpmath.exp(-x))
                - eps * mpmath.log(1 + mpmath.exp(x))) / (1 - 2 * eps)
    if name == "discopop":
        m = sig(x / mpmath.mpf(dtau))
        return mpmath.log(1 + mpmath.exp(-x)) * (1 - m) + mpmath.exp(-x) * m
    return sig(-x) ** 2  # savage


@pytest.mark.parametrize("name", ["exo_pair", "robust", "discopop", "savage"])
def test_values_against_mpmath(name):
    prm = {"exo_pair": {"label_smoothing": 0.1}, "robust": {"label_smoothing": 0.1},
           "discopop": {}, "savage": {}}[name]
    for h in (-40.0, -3.0, -1e-3, 0.0, 2e-3, 0.5, 7.0, 35.0, 300.0):
        ours = float(losses.pairwise_loss(name, h, 0.0, 1.3, **prm))
        ref = _mp_loss(name, h, 0.0, 1.3)
        assert ours == pytest.approx(float(ref), rel=1e-13, abs=1e-300)


def _check_derivatives(name, prm, f, sw, sl, tau):
    """∂ℓ/∂s and ∂²ℓ/∂s² against central differences of the value and of the gradient."""
    loss = losses.pairwise(name)
    g = np.array(loss.grad(sw, sl, tau, **prm))
    hess = np.array(loss.hessian(sw, sl, tau, **prm))
    step = 1e-5
    if name in ("hinge", "truncated_quadratic"):
        z = tau * (float(_trl_score(f, sw, prm.get("f_alpha_divergence_coef", 0.5)))
                   - float(_trl_score(f, sl, prm.get("f_alpha_divergence_coef", 0.5))))
        if abs(z - 1.0) < 1e-3:
            return
    for k, (dw, dl) in enumerate(((step, 0.0), (0.0, step))):
        fd = (loss.value(sw + dw, sl + dl, tau, **prm) - loss.value(sw - dw, sl - dl, tau, **prm))
        fd = float(fd) / (2 * step)
        assert g[k] == pytest.approx(fd, rel=1e-5, abs=1e-6 * (1 + abs(g).max()))
        up = np.array(loss.grad(sw + dw, sl + dl, tau, **prm))
        down = np.array(loss.grad(sw - dw, sl - dl, tau, **prm))
        fd2 = (up - down) / (2 * step)
        expected = hess[[0, 1]] if k == 0 else hess[[1, 2]]
        np.testing.assert_allclose(expected, fd2, rtol=1e-4, atol=1e-5 * (1 + abs(hess).max()))


@given(name=st.sampled_from(losses.PAIRWISE_LOSSES), data=st.data())
def test_derivatives_match_central_differences(name, data):
    """∂ℓ/∂s and ∂²ℓ/∂s² of every loss (under every f-divergence) against central differences
    of the value and of the gradient; kinks of hinge/truncated_quadratic avoided."""
    f, coef = data.draw(st.sampled_from(F_TYPES))
    prm = data.draw(pst.pairwise_loss_params(name))
    prm.update(f_divergence_type=f, f_alpha_divergence_coef=coef)
    _check_derivatives(name, prm, f, data.draw(st.floats(-3, 3)), data.draw(st.floats(-3, 3)),
                       data.draw(st.floats(0.2, 3.0)))


@pytest.mark.parametrize("name", losses.PAIRWISE_LOSSES)
def test_derivatives_of_every_loss_at_fixed_points(name):
    """The check above for EVERY registered loss (a draw of names may miss some), at fixed
    margins on both sides of 0 and τ ≠ 1 (so that powers of τ are not invisible)."""
    prm = _params(name)
    if name == "discopop":
        prm["discopop_tau"] = 0.3
    for sw, sl, tau in ((0.4, -0.3, 1.7), (-0.9, 0.2, 0.6), (1.3, 1.1, 2.4)):
        _check_derivatives(name, dict(prm), "reverse_kl", sw, sl, tau)
    _check_derivatives(name, dict(prm, f_divergence_type="alpha_divergence",
                                  f_alpha_divergence_coef=-1.0), "alpha_divergence",
                       0.5, -0.4, 1.4)


def test_pairwise_derivatives_at_infinite_log_ratios_are_the_limits():
    """ℓ = −log σ(τ(s_w − s_l)) (sigmoid), τ = 2: ∂ℓ/∂s_w = −τ σ(−τ h) = −∂ℓ/∂s_l → −τ as
    h → −∞ (s_l = +∞ or s_w = −∞) and → 0 as h → +∞; the second derivatives
    τ² σ(h)σ(−h) → 0. Infinite log-ratios are valid input for either argument."""
    tau = 2.0
    for s_w, s_l, d_w in ((0.0, np.inf, -tau), (0.0, -np.inf, 0.0), (-np.inf, 0.0, -tau),
                          (np.inf, 1.0, 0.0)):
        first = losses.pairwise_derivatives("sigmoid", s_w, s_l, tau)
        assert [float(d) for d in first] == [d_w, -d_w]
        second = losses.pairwise_derivatives("sigmoid", s_w, s_l, tau, order=2)
        assert [float(d) for d in second] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("name", losses.PAIRWISE_LOSSES)
def test_margin_flag_means_shift_invariance(name):
    """``is_margin`` iff ℓ(s_w + c, s_l + c) = ℓ(s_w, s_l) (the softmax normaliser cancels)."""
    sw, sl = RNG.normal(0, 1, 50), RNG.normal(0, 1, 50)
    prm = _params(name)
    loss = losses.pairwise(name)
    shifted = loss.value(sw + 0.7, sl + 0.7, 0.9, **prm)
    invariant = np.allclose(shifted, loss.value(sw, sl, 0.9, **prm), rtol=1e-12, atol=1e-14)
    assert loss.is_margin(**prm) == invariant
    if loss.is_margin(**prm):
        assert not loss.is_margin(**prm, f_divergence_type="js_divergence")
        dw, dl = loss.grad(sw, sl, 0.9, **prm)
        np.testing.assert_array_equal(dw, -dl)
        np.testing.assert_allclose(loss.margin_grad(sw - sl, 0.9, **prm), dw, rtol=1e-12)


@pytest.mark.parametrize("name, params, match", [
    ("robust", {"label_smoothing": 0.5}, r"label_smoothing = 0.5, must be in \[0.0, 0.5\)"),
    ("cdpo", {"label_smoothing": -0.1}, r"label_smoothing = -0.1"),
    ("exo_pair", {}, r"label_smoothing = 0.0, must be in \(0, 0.5\) for exo_pair"),
    ("discopop", {"discopop_tau": 0.0}, r"discopop_tau = 0.0, must be in \(0.0, inf\)"),
    ("sigmoid", {"f_divergence_type": "kl"}, r"f_divergence_type = 'kl', must be one of"),
    ("sigmoid", {"f_divergence_type": "alpha_divergence", "f_alpha_divergence_coef": 0.0},
     r"f_alpha_divergence_coef = 0.0"),
    ("sigmoid", {"f_divergence_type": "alpha_divergence",
                 "f_alpha_divergence_coef": float("nan")}, r"f_alpha_divergence_coef = nan"),
    ("sigmoid", {"label_smoothing": 0.1}, r"unknown parameter 'label_smoothing' for loss "
                                          r"'sigmoid'; its parameters are"),
    ("ipo", {"beta": 0.1}, r"unknown parameter 'beta'"),
])
def test_bad_parameters_name_the_parameter_and_value(name, params, match):
    with pytest.raises(ValueError, match=match):
        losses.pairwise_loss(name, 0.1, 0.0, 1.0, **params)


def test_bad_inputs():
    with pytest.raises(ValueError, match="tau = 0.0, must be > 0"):
        losses.pairwise_loss("sigmoid", 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="chosen_logratio is NaN"):
        losses.pairwise_loss("sigmoid", float("nan"), 0.0, 1.0)
    with pytest.raises(ValueError, match="not representable"):
        losses.pairwise_loss("sigmoid", np.inf, np.inf, 1.0)
    with pytest.raises(ValueError, match="order = 3"):
        losses.pairwise_derivatives("sigmoid", 0.0, 0.0, 1.0, order=3)


# -- empirical and population sums ----------------------------------------------------------
def _loop_empirical(name, logits, data, pi_ref, tau, prm):
    """Σ_i w_i ℓ(s_w,i, s_l,i) with an explicit log-softmax per context."""
    logits = np.atleast_2d(logits)
    ref = np.broadcast_to(pi_ref, logits.shape)
    total = 0.0
    weights = data.datum_weights / data.total_weight
    for i in range(len(data)):
        x = data.context_index[i]
        log_pi = logits[x] - logsumexp(logits[x])
        sw = log_pi[data.winners[i]] - math.log(ref[x][data.winners[i]])
        sl = log_pi[data.losers[i]] - math.log(ref[x][data.losers[i]])
        total += weights[i] * float(losses.pairwise_loss(name, sw, sl, tau, **prm))
    return total


@given(name=st.sampled_from(losses.PAIRWISE_LOSSES), data=st.data())
def test_empirical_matches_loop_and_gradient_matches_differences(name, data):
    ctx = data.draw(st.sampled_from([None, 2]))
    ds = data.draw(pst.datasets(st.integers(2, 4), max_size=6, n_contexts=ctx))
    pi_ref = data.draw(pst.probability_vectors(ds.n_actions))
    prm = data.draw(pst.pairwise_loss_params(name))
    tau = data.draw(st.floats(0.3, 3.0))
    logits = np.asarray(data.draw(st.lists(st.floats(-2, 2), min_size=ds.n_contexts
                                           * ds.n_actions, max_size=ds.n_contexts
                                           * ds.n_actions))).reshape(ds.logits_shape)
    value, grad = losses.pairwise_empirical(name, logits, ds, pi_ref, tau, return_grad=True,
                                            **prm)
    assert value == pytest.approx(_loop_empirical(name, logits, ds, pi_ref, tau, prm),
                                  rel=1e-11, abs=1e-13)
    if name in ("hinge", "truncated_quadratic"):
        return  # kinks: central differences may straddle them
    step = 1e-6
    for idx in np.ndindex(*ds.logits_shape):
        e = np.zeros(ds.logits_shape)
        e[idx] = step
        fd = (losses.pairwise_empirical(name, logits + e, ds, pi_ref, tau, **prm)
              - losses.pairwise_empirical(name, logits - e, ds, pi_ref, tau, **prm)) / (2 * step)
        assert grad[idx] == pytest.approx(fd, rel=1e-5, abs=1e-6 * (1 + np.abs(grad).max()))


def test_paper_losses_are_registry_entries_bit_for_bit():
    """Eq. 4 and Eq. 17 through the registry: identical bits to the LINKS the simulator uses
    and to the paper's formulas written out."""
    data = px.paper_dataset("D1")
    logits, ref = RNG.normal(0, 2, (5, 3)), np.array([0.2, 0.3, 0.5])
    taus = np.array([0.01, 0.1, 1.0, 2.0, 10.0])
    for name, paper, fn in (("sigmoid", "dpo", losses.dpo_empirical),
                            ("ipo", "ipo", losses.ipo_empirical)):
        a = losses.pairwise_empirical(name, logits, data, ref, taus, return_grad=True)
        b = fn(logits, data, ref, taus, return_grad=True)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
        h = RNG.normal(0, 3, 100)
        t = 0.3
        link = losses.LINKS[paper]
        if paper == "dpo":
            np.testing.assert_array_equal(link.value(h, t), np.logaddexp(0.0, -t * h))
            np.testing.assert_array_equal(link.grad(h, t), -t * expit(-t * h))
        else:
            np.testing.assert_array_equal(link.value(h, t), (h - 0.5 / t) ** 2)
            np.testing.assert_array_equal(link.grad(h, t), 2.0 * (h - 0.5 / t))


def _loop_population(name, pi, prefs, mu, pi_ref, tau, prm):
    total = 0.0
    for i in range(mu.size):
        for j in range(mu.size):
            if mu[i] * mu[j] * prefs[i, j] == 0:
                continue
            si, sj = math.log(pi[i] / pi_ref[i]), math.log(pi[j] / pi_ref[j])
            total += mu[i] * mu[j] * prefs[i, j] * float(
                losses.pairwise_loss(name, si, sj, tau, **prm))
    return total


@given(name=st.sampled_from(losses.PAIRWISE_LOSSES), data=st.data())
def test_population_matches_double_sum_and_gradient(name, data):
    problem = data.draw(pst.preference_problems(st.integers(2, 4), tau_range=(0.3, 3.0)))
    pi = data.draw(pst.probability_vectors(problem.mu.size))
    prm = data.draw(pst.pairwise_loss_params(name))
    value, grad = losses.pairwise_population(name, pi, problem.prefs, problem.mu,
                                             problem.pi_ref, problem.tau, return_grad=True,
                                             **prm)
    ref = _loop_population(name, pi, problem.prefs, problem.mu, problem.pi_ref, problem.tau,
                           prm)
    assert value == pytest.approx(ref, rel=1e-11, abs=1e-13)
    if name in ("hinge", "truncated_quadratic"):
        return
    theta, step = np.log(pi), 1e-6
    for y in range(pi.size):
        e = np.zeros(pi.size)
        e[y] = step
        fd = (losses.pairwise_population(name, px.softmax_policy(theta + e), problem.prefs,
                                         problem.mu, problem.pi_ref, problem.tau, **prm)
              - losses.pairwise_population(name, px.softmax_policy(theta - e), problem.prefs,
                                           problem.mu, problem.pi_ref, problem.tau, **prm))
        assert grad[y] == pytest.approx(fd / (2 * step), rel=1e-5,
                                        abs=1e-6 * (1 + np.abs(grad).max()))


@given(pst.preference_problems(st.integers(2, 5), batch_shape=st.sampled_from([(), (2,)])),
       st.data())
def test_population_sigmoid_is_eq5_and_ipo_is_eq16(problem, data):
    """``sigmoid`` is Eq. 5 (:func:`dpo_population`); ``2 · ipo = Eq. 16 − 1/(4τ²)``."""
    pi = data.draw(pst.probability_vectors(problem.mu.shape[-1],
                                           batch_shape=problem.mu.shape[:-1]))
    args = (pi, problem.prefs, problem.mu, problem.pi_ref, problem.tau)
    np.testing.assert_allclose(losses.pairwise_population("sigmoid", *args),
                               losses.dpo_population(*args), rtol=1e-13)
    np.testing.assert_allclose(2 * losses.pairwise_population("ipo", *args),
                               losses.ipo_sampled_population(*args) - 0.25 / problem.tau**2,
                               rtol=1e-10, atol=1e-10 / problem.tau**2)


# -- per-pair targets -------------------------------------------------------------------------
MARGIN = ("sigmoid", "cdpo", "robust", "exponential", "ipo", "squared", "truncated_quadratic",
          "hinge", "savage", "exo_pair", "discopop")


@pytest.mark.parametrize("name", MARGIN)
def test_pair_targets_against_one_dimensional_minimiser(name):
    """``z*(p)`` minimises ``p ℓ(z) + (1 − p) ℓ(−z)``: compared with bounded Brent on a
    bracket found by a grid (the objective value, for hinge's flat minimum)."""
    for params in ([{"label_smoothing": 0.05}, {"label_smoothing": 0.3}]
                   if name in ("cdpo", "robust", "exo_pair") else
                   [{"discopop_tau": 0.05}, {"discopop_tau": 1.0}] if name == "discopop"
                   else [{}]):
        eps = params.get("label_smoothing", 0.0)
        for p in (0.02, 0.1, 0.35, 0.5, 0.64, 0.9, 0.999):
            if name == "robust" and not eps <= p <= 1 - eps:
                assert np.isinf(losses.pair_target(name, p, **params))
                continue
            z = float(losses.pair_target(name, p, **params))
            grid = np.linspace(-40, 40, 16001)
            values = losses.pair_objective(name, grid, p, **params)
            k = int(np.argmin(values))
            res = minimize_scalar(lambda v: float(losses.pair_objective(name, v, p, **params)),
                                  bounds=(grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]),
                                  method="bounded", options={"xatol": 1e-12})
            ours = float(losses.pair_objective(name, z, p, **params))
            assert ours <= res.fun + 1e-12 * (1 + abs(res.fun))
            if name not in ("hinge", "discopop") and not (name == "discopop" and p == 0.5):
                assert z == pytest.approx(res.x, abs=1e-5)



def test_discopop_target_at_even_preference_is_the_non_negative_global_minimiser():
    """At p = ½ the pair objective ½ ℓ(z) + ½ ℓ(−z) is even; with the default
    discopop_tau = 0.05 a dense grid puts its minimum away from 0, so the global minimisers
    are ±z* with z* ≠ 0: the documented choice is +z* (bounded Brent around it)."""
    grid = np.linspace(-40.0, 40.0, 16001)
    values = losses.pair_objective("discopop", grid, 0.5)
    np.testing.assert_allclose(values, values[::-1], rtol=1e-14)  # even
    k = int(np.argmin(values))
    assert abs(grid[k]) > 0.1
    ref = minimize_scalar(lambda v: float(losses.pair_objective("discopop", v, 0.5)),
                          bounds=(abs(grid[k]) - 0.01, abs(grid[k]) + 0.01), method="bounded",
                          options={"xatol": 1e-12})
    z = float(losses.pair_target("discopop", 0.5))
    assert z > 0 and z == pytest.approx(ref.x, abs=1e-5)
    assert float(losses.pair_objective("discopop", z, 0.5)) <= ref.fun + 1e-12


@pytest.mark.parametrize("name", ["sigmoid", "exponential", "discopop"])
def test_pair_targets_at_deterministic_preferences_are_infinite(name):
    """At p = 0 the pair objective is ℓ(−z), which keeps decreasing as z → −∞ for these
    losses (no minimiser: z* = −∞); at p = 1 it is ℓ(z), so z* = +∞ (checked on a grid)."""
    z = -np.array([5.0, 10.0, 20.0, 40.0])
    for p, sign in ((0.0, -1.0), (1.0, 1.0)):
        values = losses.pair_objective(name, sign * -z, p)
        assert (np.diff(values) < 0).all(), values
        assert losses.pair_target(name, p) == sign * np.inf

def test_pair_target_closed_forms_and_tau_scaling():
    p = np.array([0.2, 0.5, 0.9])
    np.testing.assert_allclose(losses.pair_target("ipo", p, tau=0.25), (p - 0.5) / 0.25)
    np.testing.assert_allclose(losses.pair_target("exponential", p),
                               0.5 * np.log(p / (1 - p)))
    np.testing.assert_allclose(losses.pair_target("exo_pair", p, label_smoothing=0.1),
                               (2 * p - 1) * np.log(9.0))
    assert losses.pair_target("sigmoid", 1.0) == np.inf
    with pytest.raises(ValueError, match="not a margin loss"):
        losses.pair_target("bco_pair", 0.5)
    with pytest.raises(ValueError, match=r"p = 1.5, must lie in \[0, 1\]"):
        losses.pair_target("sigmoid", 1.5)


# -- f-divergences ----------------------------------------------------------------------------
@pytest.mark.parametrize("f, coef", F_TYPES[1:] + [("alpha_divergence", 1.7)])
def test_score_is_f_prime_up_to_a_constant(f, coef):
    """TRL's score φ(s) = f′(e^s) − const for the f of the module table; φ′, φ″ by differences;
    ``log_ratio`` inverts φ."""
    tr = losses.score_transform(f, coef)
    s = np.linspace(-4, 4, 81)
    t = np.exp(s)
    step = 1e-6
    fprime = (tr.generator(t * (1 + step)) - tr.generator(t * (1 - step))) / (2 * step * t)
    gap = tr.score(s) - fprime
    np.testing.assert_allclose(gap, gap[40], atol=1e-6)
    np.testing.assert_allclose(tr.d1(s), (tr.score(s + step) - tr.score(s - step)) / (2 * step),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(tr.d2(s), (tr.d1(s + step) - tr.d1(s - step)) / (2 * step),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(tr.log_ratio(tr.score(s)), s, atol=1e-12)


def test_alpha_near_one_is_reverse_kl_as_in_trl():
    assert losses.score_transform("alpha_divergence", 1.0 + 5e-7).identity
    assert not losses.score_transform("alpha_divergence", 1.0 + 5e-6).identity


@given(st.integers(2, 5).flatmap(lambda n: st.tuples(
    pst.rewards(n), pst.probability_vectors(n), pst.taus(0.05, 20.0))),
    st.sampled_from(F_TYPES + [("alpha_divergence", 1.5), ("alpha_divergence", 3.0)]))
def test_f_regularised_policy_is_the_kkt_point(args, ftype):
    """Σπ = 1, and ``τ f′(π/πref) + λ = r`` on Supp(π) with one λ; where π = 0 (α > 1 only)
    ``r − λ ≤ τ f′(0⁺)``. For reverse_kl, exactly :func:`rlhf_policy` (Eq. 3)."""
    rewards, pi_ref, tau = args
    f, coef = ftype
    pi = px.f_regularised_policy(rewards, pi_ref, tau, f, f_alpha_divergence_coef=coef)
    assert abs(pi.sum() - 1) < 1e-13 and (pi >= 0).all()
    if f == "reverse_kl":
        np.testing.assert_array_equal(pi, px.rlhf_policy(rewards, pi_ref, tau))
        return
    tr = losses.score_transform(f, coef)
    pos = pi > 1e-300
    lam = rewards[pos] - tau * tr.score(np.log(pi[pos] / pi_ref[pos]))
    assert np.ptp(lam) <= 1e-9 * (1 + np.abs(rewards).max() + tau * np.abs(lam).max())
    if (~pos).any():
        assert tr.range_sign > 0
        assert (rewards[~pos] - lam.mean() <= 1e-9 * (1 + np.abs(rewards).max())).all()


@pytest.mark.parametrize("f, coef", F_TYPES[1:] + [("alpha_divergence", 1.5)])
def test_f_regularised_policy_batch_equals_one_at_a_time(f, coef):
    """Two problems of three actions with a τ per problem (τ rule): each row is the policy
    of its problem solved alone, and sums to 1."""
    rewards = np.array([[0.3, -1.2, 2.0], [1.5, 0.0, -0.4]])
    pi_ref = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    tau = np.array([0.7, 2.5])
    batch = px.f_regularised_policy(rewards, pi_ref, tau, f, f_alpha_divergence_coef=coef)
    assert batch.shape == (2, 3)
    for k in range(2):
        one = px.f_regularised_policy(rewards[k], pi_ref[k], tau[k], f,
                                      f_alpha_divergence_coef=coef)
        np.testing.assert_allclose(batch[k], one, rtol=1e-13, atol=1e-300)
        assert abs(one.sum() - 1) < 1e-13

@pytest.mark.parametrize("f, coef", F_TYPES[1:] + [("alpha_divergence", 1.5)])
def test_f_regularised_policy_maximises_the_objective(f, coef):
    """Against Nelder–Mead on the softmax parametrisation, from several starts."""
    for _ in range(4):
        n = 4
        r, ref, tau = RNG.normal(0, 2, n), RNG.dirichlet(np.ones(n)), 0.6
        pi = px.f_regularised_policy(r, ref, tau, f, f_alpha_divergence_coef=coef)
        best = losses.f_regularised_objective(pi, r, ref, tau, f, f_alpha_divergence_coef=coef)

        def neg(theta):
            return -float(losses.f_regularised_objective(px.softmax_policy(theta), r, ref, tau,
                                                         f, f_alpha_divergence_coef=coef))

        for _ in range(3):
            res = minimize(neg, RNG.normal(0, 1, n), method="Nelder-Mead",
                           options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000})
            assert -res.fun <= best + 1e-10


def test_f_regularised_policy_bad_input():
    with pytest.raises(ValueError, match="f_divergence = 'tv', must be one of"):
        px.f_regularised_policy([0.0, 1.0], [0.5, 0.5], 1.0, "tv")
    with pytest.raises(ValueError, match=r"rewards\[1\] = inf"):
        px.f_regularised_policy([0.0, np.inf], [0.5, 0.5], 1.0, "js_divergence")
    with pytest.raises(ValueError, match="no action has pi_ref > 0"):
        px.f_regularised_policy([-np.inf, 0.0], [1.0, 0.0], 1.0, "forward_kl")
    pi = px.f_regularised_policy([0.0, -np.inf, 1.0], [0.2, 0.5, 0.3], 1.0, "forward_kl")
    assert pi[1] == 0.0 and pi.sum() == pytest.approx(1.0)


def test_f_regularised_policy_defaults_to_the_reverse_kl_gibbs_policy():
    # The default divergence is the reverse KL, whose regularised policy is Eq. 7:
    # π ∝ πref exp(r/τ), written out here.
    rewards, pi_ref, tau = np.array([0.3, -1.2, 2.0]), np.array([.5, .2, .3]), 0.7
    want = pi_ref * np.exp(rewards / tau)
    np.testing.assert_allclose(px.losses.f_regularised_policy(rewards, pi_ref, tau),
                               want / want.sum(), rtol=1e-13)
