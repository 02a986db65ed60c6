"""Tests of psipo_exact.simulate: the vectorised Adam simulator of Sec. 5.4 (arXiv:2310.12036).

Reference implementations here are written independently of the package: a plain per-run
Python loop over steps, per-datum gradients written out from Eq. 4 and Eq. 17 in this file
(checked against finite differences of the losses, also written here) and scattered with
``np.add.at``, and Adam written from optax's source (``scale_by_adam`` +
``scale_by_learning_rate``). Only the replayed index stream comes from ``sample_batches``,
which is itself checked against ``numpy.random.default_rng`` below.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy import linalg, stats
from scipy.special import expit

from psipo_exact.model import Dataset, paper_dataset
from psipo_exact.simulate import (
    CHUNK_STEPS,
    SimulationResult,
    record_steps,
    sample_batches,
    simulate,
)
from psipo_exact.solvers import solve_dpo_empirical, solve_ipo_empirical

UNIFORM = np.full(3, 1.0 / 3.0)
TAUS = (0.01, 0.1, 0.5, 1.0, 2.0, 10.0)


# Per-datum losses ℓ(h) and derivatives ℓ′(h) of h = h_π(y_w, y_l), written from the paper.
PAPER_LOSS = {
    "dpo": lambda h, tau: -np.log(expit(tau * h)),                        # Eq. 4
    "ipo": lambda h, tau: (h - 1.0 / (2.0 * tau)) ** 2,                   # Eq. 17
    "ipo_symmetric": lambda h, tau: ((h - 1.0 / tau) ** 2 + h**2) / 2,    # above Eq. 17
}
PAPER_DERIVATIVE = {
    "dpo": lambda h, tau: -tau * expit(-tau * h),       # d/dh −log σ(τh) = −τ σ(−τh)
    "ipo": lambda h, tau: 2.0 * (h - 0.5 / tau),
    "ipo_symmetric": lambda h, tau: (h - 1.0 / tau) + h,
}


def _paper_gradient(loss, theta, data, pi_ref, tau, weights):
    """``Σ_i w_i ℓ′(h_i) (e_{w_i} − e_{l_i})``, ``h_i = θ_w − θ_l − log(πref(w)/πref(l))``."""
    win, lose = data.winners, data.losers
    log_ref = np.log(pi_ref)
    h = (theta[win] - theta[lose]) - (log_ref[win] - log_ref[lose])
    coef = PAPER_DERIVATIVE[loss](h, tau) * weights
    g = np.zeros_like(theta)
    np.add.at(g, win, coef)
    np.add.at(g, lose, -coef)
    return g


@pytest.mark.parametrize("loss", sorted(PAPER_LOSS))
def test_reference_gradient_is_the_derivative_of_the_paper_loss(loss):
    """The test's own gradient against central differences of the test's own loss values
    (step 1e-6: truncation ~1e-12, rounding ~1e-10 relative to O(1) values)."""
    data, pi_ref, tau = paper_dataset("D1"), np.array([0.2, 0.3, 0.5]), 0.7
    weights = np.array([2, 3, 4]) / 9
    theta = np.array([0.3, -0.4, 0.1])

    def value(th):
        log_ref = np.log(pi_ref)
        h = (th[data.winners] - th[data.losers]) - (log_ref[data.winners] - log_ref[data.losers])
        return np.sum(weights * PAPER_LOSS[loss](h, tau))

    eye = np.eye(3) * 1e-6
    numeric = [(value(theta + e) - value(theta - e)) / 2e-6 for e in eye]
    np.testing.assert_allclose(_paper_gradient(loss, theta, data, pi_ref, tau, weights),
                               numeric, rtol=0, atol=1e-8)


def _reference_run(data, loss, tau, batches, *, lr=0.01, b1=0.9, b2=0.999, eps=1e-8,
                   init=None, pi_ref=UNIFORM, division=False):
    """One run, one step at a time: optax.adam as its source computes it.

    ``tree_bias_correction`` is jitted, and XLA:CPU compiles ``m / (1 − b1ᵗ)`` (division by a
    scalar) into ``m * (1 / (1 − b1ᵗ))``; ``division=True`` uses the textbook division
    instead (equal to ~1 ulp per step, not bitwise).
    """
    theta = np.zeros(data.logits_shape) if init is None else np.array(init, dtype=float)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    out = [theta.copy()]
    for t, batch in enumerate(batches, start=1):
        weights = np.bincount(batch, minlength=len(data)) / len(batch)
        g = _paper_gradient(loss, theta, data, np.asarray(pi_ref, dtype=float), tau, weights)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * g**2 + b2 * v
        if division:
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        else:
            m_hat, v_hat = m * (1 / (1 - b1**t)), v * (1 / (1 - b2**t))
        updates = m_hat / (np.sqrt(v_hat + 0.0) + eps)
        theta = theta + updates * (-lr)
        out.append(theta.copy())
    return np.array(out)


# ----------------------------------------------------------------- Adam and sampler exactness





@pytest.mark.parametrize("name", ["D1", "D3", "D3_never_wins", "D2"])
@pytest.mark.parametrize("loss", ["dpo", "ipo", "ipo_symmetric"])
def test_adam_matches_reference_bitwise(name, loss, engine):
    """Replayed batches: every recorded θ equals the per-run reference bit for bit.

    Bitwise (not 1e-15) because every element sees the same IEEE operations in the same
    order; the gradient sums have at most two non-zero terms per action in these datasets,
    so the summation order of matmul versus the sparse product cannot matter.
    """
    data = paper_dataset(name)
    steps, tau = 300, 0.5
    batches = sample_batches(7, len(data), steps, 9)
    ref = _reference_run(data, loss, tau, batches)
    res = simulate(data, [loss], [tau], [7], steps=steps, batches=batches, record_every=1)
    np.testing.assert_array_equal(res.logits[0, 0, 0, 0], ref)
    # and the sampled run with seed 7 replays exactly this stream
    sampled = simulate(data, [loss], [tau], [7], steps=steps, record_every=1)
    np.testing.assert_array_equal(sampled.logits, res.logits)


def test_textbook_division_agrees_to_rounding():
    """Division by 1 − bᵗ instead of the reciprocal product differs only by rounding."""
    data = paper_dataset("D1")
    batches = sample_batches(3, len(data), 200, 9)
    a = _reference_run(data, "dpo", 1.0, batches)
    b = _reference_run(data, "dpo", 1.0, batches, division=True)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)


def test_hyperparameters_and_pi_ref_and_init_reach_the_update(engine):
    data = paper_dataset("D3_never_wins")
    pi_ref = np.array([0.2, 0.3, 0.5])
    init = np.array([0.1, -0.2, 0.3])
    batches = sample_batches(1, len(data), 150, 4)
    kw = dict(lr=0.05, b1=0.5, b2=0.9, eps=1e-6)
    ref = _reference_run(data, "ipo", 2.0, batches, init=init, pi_ref=pi_ref, **kw)
    res = simulate(data, ["ipo"], 2.0, 1, steps=150, batch_size=4, record_every=1,
                   init=init, pi_ref=pi_ref, **kw)
    np.testing.assert_array_equal(res.logits[0, 0, 0, 0], ref)


def test_matches_eager_optax_bitwise_and_jitted_optax_to_rounding(engine):
    """Against optax itself (x64): bitwise with eager ``update``; ~1e-15 under ``jax.jit``,
    where XLA fuses the element-wise chain differently."""
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    data, tau, steps = paper_dataset("D1"), 0.5, 120
    batches = sample_batches(11, len(data), steps, 9)
    res = simulate(data, ["dpo"], [tau], [11], steps=steps, record_every=1)
    ours = res.logits[0, 0, 0, 0]
    opt = optax.adam(0.01)

    def grad(theta, batch):
        w = np.bincount(batch, minlength=len(data)) / len(batch)
        return _paper_gradient("dpo", np.asarray(theta), data, UNIFORM, tau, w)

    def step(params, state, g):
        updates, state = opt.update(g, state, params)
        return optax.apply_updates(params, updates), state

    for jit, check in ((False, np.testing.assert_array_equal),
                       (True, lambda a, b: np.testing.assert_allclose(a, b, rtol=0,
                                                                      atol=1e-13))):
        fn = jax.jit(step) if jit else step
        params = jnp.zeros(3, dtype=jnp.float64)
        state = opt.init(params)
        traj = [np.asarray(params)]
        for batch in batches:
            params, state = fn(params, state, jnp.asarray(grad(params, batch)))
            traj.append(np.asarray(params))
        check(np.array(traj), ours)


def test_sample_batches_stream_is_documented_chunked_generator():
    steps = CHUNK_STEPS + 37
    got = sample_batches(5, 3, steps, 9)
    rng = np.random.default_rng(5)
    want = np.concatenate([rng.integers(0, 3, size=(CHUNK_STEPS, 9)),
                           rng.integers(0, 3, size=(37, 9))])
    np.testing.assert_array_equal(got, want)
    # a shorter run is a prefix of a longer one
    np.testing.assert_array_equal(sample_batches(5, 3, 500, 9), got[:500])


def test_sampler_counts_are_uniform_chi_square():
    """Datum counts over 20000 steps of 9 draws from N = 5: chi-square, fixed seed.

    Each count is Binomial(180000, 1/5) with sd √(180000·0.16) = 170; the Pearson statistic
    has 4 degrees of freedom and must not be in the upper 0.1% tail.
    """
    idx = sample_batches(2023, 5, 20000, 9)
    counts = np.bincount(idx.ravel(), minlength=5)
    expected = idx.size / 5
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert stats.chi2.sf(chi2, df=4) > 1e-3
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(idx.size * 0.2 * 0.8))
    # the per-batch count of one datum is Binomial(9, 1/5)
    per_batch = (idx == 0).sum(axis=1)
    observed = np.bincount(per_batch, minlength=10)
    probs = stats.binom.pmf(np.arange(10), 9, 0.2)
    pooled_obs = np.append(observed[:5], observed[5:].sum())
    pooled_exp = np.append(probs[:5], probs[5:].sum()) * len(per_batch)
    chi2 = np.sum((pooled_obs - pooled_exp) ** 2 / pooled_exp)
    assert stats.chi2.sf(chi2, df=5) > 1e-3


# ------------------------------------------------------------------------ vectorisation


def test_grid_equals_one_run_at_a_time_bitwise(engine):
    datasets = {"D1": paper_dataset("D1"), "D3": paper_dataset("D3"),
                "D3nw": paper_dataset("D3_never_wins")}
    taus, seeds, steps = (0.1, 2.0), (0, 9, 42), 1500   # > CHUNK_STEPS: crosses a chunk
    grid = simulate(datasets, ["dpo", "ipo"], taus, seeds, steps=steps, record_every=100)
    assert grid.probs.shape == (2, 3, 2, 3, len(record_steps(steps, 100)), 3)
    for li, loss in enumerate(["dpo", "ipo"]):
        for di, (name, data) in enumerate(datasets.items()):
            for ti, tau in enumerate(taus):
                for si, seed in enumerate(seeds):
                    one = simulate({name: data}, [loss], tau, seed, steps=steps,
                                   record_every=100)
                    np.testing.assert_array_equal(grid.logits[li, di, ti, si],
                                                  one.logits[0, 0, 0, 0])


def test_replay_broadcasts_over_run_axes(engine):
    data = {"D1": paper_dataset("D1"), "D3nw": paper_dataset("D3_never_wins")}
    steps = 50
    per_seed = np.stack([sample_batches(s, 2, steps, 9) for s in (1, 2)])  # (seed, steps, B)
    res = simulate(data, ["dpo", "ipo"], [0.5, 1.0], [1, 2], steps=steps, batches=per_seed,
                   record_every=steps)
    for si, seed in enumerate((1, 2)):
        for di, (name, d) in enumerate(data.items()):
            one = simulate({name: d}, ["ipo"], 1.0, 0, steps=steps, batches=per_seed[si],
                           record_every=steps)
            np.testing.assert_array_equal(res.logits[1, di, 1, si], one.logits[0, 0, 0, 0])


# ------------------------------------------------------------------- against the exact solvers


def _full_batch(data, steps):
    reps = 9 // len(data) if 9 % len(data) == 0 else 1
    batch = np.tile(np.arange(len(data)), reps)
    return np.broadcast_to(batch, (steps, batch.size)), batch.size


@pytest.mark.parametrize("name", ["D1", "D3_never_wins"])
def test_full_batch_ipo_converges_to_solver_optimum(name):
    """Full-batch replay is gradient-exact Adam on Eq. 17: it reaches the unique optimum of
    ``solve_ipo_empirical`` to 1e-6 within 2000 steps for every τ of the paper's grid.

    Afterwards constant-lr Adam is not a descent method: on D1 (inconsistent equations,
    the per-datum gradients only cancel in sum) it shows isolated spikes of one O(lr) step
    in the logits; we bound them by lr/2 in probability (measured ≤ 1.1e-3).
    """
    data = paper_dataset(name)
    steps = 3000
    batches, size = _full_batch(data, steps)
    res = simulate(data, ["ipo"], TAUS, [0], steps=steps, batch_size=size, batches=batches)
    exact = np.array([solve_ipo_empirical(data, UNIFORM, t).policy for t in TAUS])
    dist = np.abs(res.probs[0, 0, :, 0] - exact[:, None]).max(axis=-1)   # (tau, record)
    at_2000 = dist[:, list(res.steps).index(2000)]
    assert np.all(at_2000 <= 1e-6), at_2000
    assert np.all(dist[:, res.steps >= 2000] <= 0.01 / 2)


def test_minibatch_ipo_consistent_data_has_no_stationary_noise():
    """On D3_never_wins the IPO equations h = 1/(2τ) are consistent (a tree), so every
    per-datum gradient vanishes at the optimum: mini-batch noise vanishes there too and
    most sampled runs end at the optimum to rounding, like full-batch ones.

    Adam is scale-invariant: once v̂ has decayed to the level of the rounding-size
    gradients left at the optimum, m̂/√v̂ is O(1) again and Adam takes one O(lr) step
    (a spike) before relaxing back. Those spikes are bounded by lr/2 in probability.
    """
    data = paper_dataset("D3_never_wins")
    res = simulate(data, ["ipo"], TAUS, range(10), record_every=18000)
    exact = np.array([solve_ipo_empirical(data, UNIFORM, t).policy for t in TAUS])
    dist = np.abs(res.probs[0, 0, :, :, -1] - exact[:, None]).max(axis=-1)
    assert np.mean(dist <= 1e-6) >= 0.8, dist
    assert np.all(dist <= 0.01 / 2), dist


def _stationary_sd_pi(data, tau, lr=0.01, batch_size=9):
    """Adam's stationary spread of π around the IPO optimum (small-lr OU approximation).

    Adam's √v̂ ≈ σ_g (gradient noise sd per coordinate) makes it preconditioned SGD with
    P = diag(1/σ_g); the stationary covariance X of θ solves PH X + X (PH)ᵀ = lr·P Σ_g P
    with H the Hessian of Eq. 17 and Σ_g the multinomial covariance of the mini-batch
    gradient at the optimum; π's covariance is J X Jᵀ with J the softmax Jacobian.
    """
    sol = solve_ipo_empirical(data, UNIFORM, tau)
    inc = data.incidence.toarray()
    n_data = len(data)
    resid = 2.0 * (inc @ sol.logits - 0.5 / tau)          # ℓ′(h_i) of Eq. 17
    p = 1.0 / n_data
    per = inc * resid[:, None]
    cov_g = (p * per.T @ per - np.outer(p * per.sum(0), p * per.sum(0))) / batch_size
    sd_g = np.sqrt(np.diag(cov_g))
    hess = 2.0 / n_data * inc.T @ inc
    basis = np.linalg.svd(np.eye(3) - 1.0 / 3.0)[0][:, :2]   # orthogonal to the null (1,1,1)
    pre = np.diag(1.0 / sd_g)
    a = basis.T @ pre @ hess @ basis
    q = lr * basis.T @ pre @ cov_g @ pre @ basis
    cov_theta = basis @ linalg.solve_continuous_lyapunov(a, q) @ basis.T
    jac = np.diag(sol.policy) - np.outer(sol.policy, sol.policy)
    return sol.policy, np.sqrt(np.diag(jac @ cov_theta @ jac.T))


def test_minibatch_ipo_on_d1_stays_within_adams_stationary_spread():
    """On D1 (a cycle-free but inconsistent triangle) mini-batch noise does not vanish at the
    optimum; every seed's final π is within 5 predicted stationary sd of the optimum and the
    seed spread matches the prediction within a factor 2 (chi-square-ish check)."""
    data = paper_dataset("D1")
    taus = (0.1, 0.5, 2.0, 10.0)
    res = simulate(data, ["ipo"], taus, range(10), record_every=18000)
    for k, tau in enumerate(taus):
        exact, sd = _stationary_sd_pi(data, tau)
        final = res.probs[0, 0, k, :, -1]
        assert np.all(np.abs(final - exact) <= 5 * sd + 1e-12), (tau, final, sd)
        spread = final.std(axis=0, ddof=1)
        assert np.all(spread <= 2 * sd) and np.all(spread >= sd / 3), (tau, spread, sd)


@pytest.mark.parametrize("name", ["D1", "D3_never_wins"])
def test_dpo_moves_towards_the_solver_limit(name):
    """No finite DPO minimiser: the limit is π(a) = 1 (top component {a}); π(a) increases
    (up to mini-batch noise) and the distance to the limit decreases along the run."""
    data = paper_dataset(name)
    limit = solve_dpo_empirical(data, UNIFORM, 1.0)
    assert not limit.exists and limit.policy[0] == 1.0
    res = simulate(data, ["dpo"], [0.1, 1.0, 10.0], range(4), steps=4000, record_every=200)
    pi_a = res.probs[0, 0, :, :, :, 0].mean(axis=1)          # (tau, record)
    assert np.all(np.diff(pi_a, axis=-1) > -1e-3)
    dist = np.abs(res.probs[0, 0] - limit.policy).max(axis=-1).mean(axis=1)
    assert np.all(np.diff(dist, axis=-1) < 1e-3)
    assert np.all(dist[:2, -1] < dist[:2, 0] / 2) and dist[2, -1] < dist[2, 0]


def test_never_compared_action_never_moves_and_a_b_stay_opposite():
    """D3 as printed: θ_c has identically zero gradient (c is in no datum), so θ_c stays at its
    initial value bit for bit; the data (a,b), (b,a) give exactly opposite gradients and
    Adam updates to θ_a and θ_b, so θ_a = −θ_b at every step when it holds at the start
    (rounding is symmetric). Then π(c) = e^{θ_c} / (e^{θ_c} + 2 cosh θ_a) never exceeds its
    value at θ_a = 0."""
    data = paper_dataset("D3")
    init = np.array([0.25, -0.25, -0.7])
    res = simulate(data, ["dpo", "ipo"], [0.01, 1.0], range(3), steps=2000, init=init,
                   record_every=50)
    assert np.all(res.logits[..., 2] == -0.7)
    assert np.all(res.logits[..., 0] == -res.logits[..., 1])
    assert np.all(res.probs[..., 2] <= np.exp(-0.7) / (np.exp(-0.7) + 2) + 1e-15)


def test_eps_zero_gives_no_nan_for_never_compared_action(engine):
    res = simulate(paper_dataset("D3"), ["ipo"], [1.0], [0], steps=20, eps=0.0)
    assert np.all(np.isfinite(res.probs))
    assert np.all(res.logits[..., 2] == 0.0)


# ----------------------------------------------------------------------- result object


def test_result_coords_steps_and_ci():
    res = simulate({"x": paper_dataset("D1")}, ["ipo", "dpo"], [2.0, 0.5], [3, 1], steps=25,
                   record_every=10)
    assert isinstance(res, SimulationResult)
    np.testing.assert_array_equal(res.steps, [0, 10, 20, 25])
    assert res.coords["loss"] == ("ipo", "dpo") and res.coords["tau"] == (2.0, 0.5)
    assert res.coords["seed"] == (3, 1) and res.coords["action"] == ("a", "b", "c")
    assert res.dims == ("loss", "dataset", "tau", "seed", "record", "action")
    np.testing.assert_allclose(res.probs.sum(-1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(res.probs[..., 0, :], 1.0 / 3.0)
    mean, half = res.mean_ci()
    sd = res.probs.std(axis=3, ddof=1)
    np.testing.assert_allclose(half, 12.706204736174707 * sd / np.sqrt(2))  # t_{0.975, 1}
    np.testing.assert_array_equal(mean, res.probs.mean(axis=3))
    assert res.select(loss="dpo", dataset="x", tau=0.5).shape == (2, 4, 3)
    with pytest.raises(ValueError, match="tau"):
        res.select(loss="dpo", dataset="x", tau=3.0)


def test_probs_are_computed_on_first_access_from_the_logits_and_kept():
    """``probs`` is not held by the simulation: computed on first access (a few records at a
    time), equal bit for bit to ``softmax_policy`` of all logits at once, and to a softmax
    written here to rounding; repr and ``mean_ci`` work before and after."""
    from psipo_exact.closed_form import softmax_policy

    res = simulate(paper_dataset("D2"), ["dpo", "ipo"], [0.1, 1.0], [0, 1], steps=40,
                   record_every=3)
    assert "probs" not in vars(res) and "probs and logits of shape" in repr(res)
    probs = res.probs
    assert res.probs is probs and "probs" in vars(res)
    np.testing.assert_array_equal(probs, softmax_policy(res.logits))
    z = np.exp(res.logits - res.logits.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(probs, z / z.sum(axis=-1, keepdims=True), rtol=1e-15, atol=0)
    np.testing.assert_array_equal(res.mean_ci()[0], probs.mean(axis=3))


def test_simulation_peak_memory_is_within_twice_the_recorded_logits():
    """Traced peak of a sparse-layout simulation recording every step (32 MB of logits):
    the recorded logits, Adam's per-run buffers and one block of gather indices, not the
    policies on top (``probs`` is computed on access)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    n, size = 1000, 5000
    win = rng.integers(0, n, size)
    lose = (win + rng.integers(1, n, size)) % n
    data = Dataset(win, lose, n_actions=n)
    simulate(data, ["dpo", "ipo"], [0.5], [0, 1], steps=2, batch_size=64)   # imports
    tracemalloc.start()
    try:
        res = simulate(data, ["dpo", "ipo"], [0.5], [0, 1], steps=1000, batch_size=64,
                       record_every=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.logits.nbytes == 4 * 1001 * n * 8
    assert peak <= 2 * res.logits.nbytes, (peak, res.logits.nbytes)


def test_index_prefers_exact_labels_and_rejects_foreign_ones():
    res = simulate(paper_dataset("D1"), "ipo", [1.0, 1.0 + 1e-7, 0.1], [0], steps=3)
    assert res.index("tau", 1.0 + 1e-7) == 1 and res.index("tau", 1) == 0
    assert res.index("tau", np.logspace(-1, 0, 2)[0] * (1 + 1e-15)) == 2
    for axis, label in (("tau", "x"), ("tau", 1.5), ("loss", "dpo"), ("nope", 0)):
        with pytest.raises(ValueError, match=axis):
            res.index(axis, label)


def test_one_seed_has_an_unbounded_interval_not_a_zero_width_one():
    """t_{0.975, ν} → ∞ as ν → 0: one seed gives no information on the spread."""
    res = simulate(paper_dataset("D1"), ["ipo"], [1.0], [4], steps=20)
    mean, half = res.mean_ci()
    np.testing.assert_array_equal(mean, res.probs[:, :, :, 0])
    assert np.all(np.isposinf(half))
    assert stats.t.ppf(0.975, 1e-3) > 1e100          # the limit the convention follows


def test_contextual_dataset_has_context_axis():
    data = Dataset([0, 1, 2], [1, 2, 0], 3, contexts=[0, 0, 1])
    res = simulate(data, "ipo", 1.0, 0, steps=30, record_every=30)
    assert res.probs.shape == (1, 1, 1, 1, 2, 2, 3)
    assert res.dims[-2:] == ("context", "action")
    np.testing.assert_allclose(res.probs.sum(-1), 1.0, atol=1e-15)


def test_progress_bar_runs(capsys):
    simulate(paper_dataset("D1"), "ipo", 1.0, 0, steps=5, progress=True)


# -------------------------------------------------------------------------- validation


D1 = paper_dataset("D1")


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(steps=0), ValueError, "steps"),
    (dict(steps=2.5), TypeError, "steps"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(record_every=0), ValueError, "record_every"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(b1=1.0), ValueError, "b1"),
    (dict(b2=-0.1), ValueError, "b2"),
    (dict(eps=-1e-9), ValueError, "eps"),
    (dict(progress=1), TypeError, "progress"),
    (dict(init=np.zeros(4)), ValueError, "init"),
    (dict(init=np.zeros((2, 3))), ValueError, "init"),
    (dict(init="0"), TypeError, "init"),
    (dict(batches=np.full((10, 9), -1)), ValueError, "batches index -1"),
    (dict(batches=np.zeros((10, 9), dtype=bool)), TypeError, "batches"),
    (dict(init=[np.nan, 0, 0]), ValueError, "init"),
    (dict(batches=np.zeros((5, 9), dtype=int)), ValueError, "batches"),
    (dict(batches=np.zeros((10, 9))), TypeError, "batches"),
    (dict(batches=np.full((10, 9), 3)), ValueError, "batches"),
    (dict(batches=np.zeros((4, 10, 9), dtype=int)), ValueError, "batches"),
    (dict(pi_ref=[0.5, 0.5, 0.0]), ValueError, "pi_ref"),
    (dict(pi_ref=[0.5, 0.5]), ValueError, "pi_ref"),
    (dict(pi_ref=[1.0, 0.0, 0.0]), ValueError, "pi_ref"),   # datum (b, c): −inf − (−inf)
])
def test_invalid_keyword_arguments(kwargs, exc, match):
    base = dict(steps=10)
    base.update(kwargs)
    with pytest.raises(exc, match=match):
        simulate(D1, ["ipo"], [1.0], [0], **base)


def test_pi_ref_vanishing_on_a_compared_action_names_the_dataset_and_the_datum():
    """πref = 0 on an action that a datum compares: the error names the dataset by its key in
    the mapping and the datum by its index, winner and loser."""
    data = Dataset([0, 1], [1, 2], 3)                    # datum 1 compares action 2
    with pytest.raises(ValueError) as info:
        simulate({"mine": data}, "ipo", 1.0, 0, steps=1, pi_ref=[0.5, 0.5, 0.0])
    message = str(info.value)
    assert "'mine'" in message
    assert "datum 1" in message and "winner 1" in message and "loser 2" in message


@pytest.mark.parametrize("args, exc, match", [
    ((D1, ["ppo"], [1.0], [0]), ValueError, r"losses\[0\].*'ppo'"),
    ((D1, ["ipo", 3], [1.0], [0]), TypeError, r"losses\[1\]"),
    ((D1, ["ipo", "ipo"], [1.0], [0]), ValueError, "losses"),
    ((D1, ["ipo", "IPO"], [1.0], [0]), ValueError, "losses"),
    ((D1, [], [1.0], [0]), TypeError, "losses"),
    ((D1, ["ipo"], [0.0], [0]), ValueError, r"taus\[0\] = 0.0"),
    ((D1, ["ipo"], [1.0, -1.0], [0]), ValueError, r"taus\[1\] = -1.0"),
    ((D1, ["ipo"], [1.0, float("nan")], [0]), ValueError, r"taus\[1\] is NaN"),
    ((D1, ["ipo"], [float("inf")], [0]), ValueError, "taus"),
    ((D1, ["ipo"], [], [0]), ValueError, "taus is empty"),
    ((D1, ["ipo"], [[1.0, 2.0]], [0]), ValueError, "taus must be .* one-dimensional"),
    ((D1, ["ipo"], [1.0, 2.0, 1.0], [0]), ValueError, r"taus\[2\] = 1.0 repeats"),
    ((D1, ["ipo"], "1", [0]), TypeError, "taus"),
    ((D1, ["ipo"], [1.0], [-1]), ValueError, "seeds"),
    ((D1, ["ipo"], [1.0], []), ValueError, "seeds"),
    ((D1, ["ipo"], [1.0], [0.5]), TypeError, "seeds"),
    ((D1, ["ipo"], [1.0], [3, 1, 3]), ValueError, r"seeds\[2\] = 3 repeats"),
    ((D1, ["ipo"], [1.0], None), TypeError, "seeds"),
    ((None, ["ipo"], [1.0], [0]), TypeError, "datasets"),
    (([1, 2], ["ipo"], [1.0], [0]), TypeError, "datasets"),
    (({}, ["ipo"], [1.0], [0]), ValueError, "datasets"),
    (({"x": 3}, ["ipo"], [1.0], [0]), TypeError, "datasets"),
    (({"a": D1, "b": Dataset([0], [1], 4)}, ["ipo"], [1.0], [0]), ValueError, "datasets"),
])
def test_invalid_positional_arguments(args, exc, match):
    with pytest.raises(exc, match=match):
        simulate(*args, steps=10)


def test_batch_index_checked_per_dataset():
    data = {"D1": paper_dataset("D1"), "D3nw": paper_dataset("D3_never_wins")}
    batches = np.full((10, 9), 2)            # index 2 exists in D1 (N=3) but not D3nw (N=2)
    with pytest.raises(ValueError, match=r"batches index 2 .* \[0, 1\]"):
        simulate(data, ["ipo"], [1.0], [0], steps=10, batches=batches)
    ok = np.stack([np.full((10, 9), 2), np.full((10, 9), 1)])[None, :, None, None]
    simulate(data, ["ipo"], [1.0], [0], steps=10, batches=ok)


def test_weight_memory_budget_does_not_change_results(monkeypatch):
    """Batch weights are built a few steps at a time under a memory budget; the random
    stream is drawn in fixed CHUNK_STEPS chunks regardless, so results are identical."""
    # the package re-exports the function ``simulate``, which shadows the subpackage as an
    # attribute of ``psipo_exact``: ``import psipo_exact.simulate.batches as ...`` fails
    batches_module = importlib.import_module("psipo_exact.simulate.batches")

    data = {"D1": paper_dataset("D1"), "D3nw": paper_dataset("D3_never_wins")}
    args = (data, ["dpo", "ipo"], [0.1, 1.0], [0, 1])
    full = simulate(*args, steps=CHUNK_STEPS + 300, record_every=7)
    monkeypatch.setattr(batches_module, "WEIGHT_BYTES", 8 * 5 * 40 * 37)     # 37 steps at a time
    small = simulate(*args, steps=CHUNK_STEPS + 300, record_every=7)
    np.testing.assert_array_equal(full.logits, small.logits)


# ------------------------------------------------------------- properties on random datasets

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from psipo_exact import strategies as pst  # noqa: E402


@given(pst.datasets(st.integers(2, 5), max_size=8), st.sampled_from(["dpo", "ipo"]),
       pst.taus(1e-2, 1e2), st.integers(0, 2**31 - 1), st.integers(1, 40))
def test_random_dataset_matches_reference_and_untouched_actions_stay(data, loss, tau, seed,
                                                                    steps):
    """Any dataset, loss, τ, seed: the run equals the independent per-run reference (to
    rounding: with several data per action, matmul and ``np.add.at`` may sum in another
    order), and an action that appears in no datum has identically zero gradient, so its
    logit never leaves θ₀ (bitwise)."""
    n = data.n_actions
    pi_ref = np.full(n, 1.0 / n)
    batches = sample_batches(seed, len(data), steps, 9)
    ref = _reference_run(data, loss, tau, batches, pi_ref=pi_ref)
    res = simulate(data, [loss], [tau], [seed], steps=steps, record_every=1, pi_ref=pi_ref)
    ours = res.logits[0, 0, 0, 0]
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    untouched = np.setdiff1d(np.arange(n), np.concatenate([data.winners, data.losers]))
    assert np.all(ours[:, untouched] == 0.0)


@given(st.lists(pst.datasets(st.just(3), max_size=6), min_size=1, max_size=3),
       st.lists(pst.taus(1e-2, 1e2), min_size=1, max_size=3, unique=True),
       st.lists(st.integers(0, 10**6), min_size=1, max_size=3, unique=True),
       st.integers(1, 30))
def test_grid_equals_one_run_at_a_time(datasets, taus, seeds, steps):
    """The vectorised grid (datasets of different sizes, padded) equals each run alone,
    bit for bit, for every (loss, dataset, τ, seed)."""
    named = {f"D{k}": d for k, d in enumerate(datasets)}
    grid = simulate(named, ["dpo", "ipo"], taus, seeds, steps=steps, record_every=7)
    for i, loss in enumerate(["dpo", "ipo"]):
        for j, (name, data) in enumerate(named.items()):
            for k, tau in enumerate(taus):
                for m, seed in enumerate(seeds):
                    alone = simulate(data, [loss], [tau], [seed], steps=steps, record_every=7)
                    np.testing.assert_array_equal(grid.logits[i, j, k, m],
                                                  alone.logits[0, 0, 0, 0])
