"""``simulate`` with every loss of the preference-loss family (issue 10).

Three independent checks per registered loss:

* the simulator's full-batch gradient (recovered from one Adam step) equals the exact
  gradient in the logits of :func:`psipo_exact.losses.pairwise_empirical` — a separate code
  path (log-softmax, sparse scatter, ``G − π ΣG``) from the simulator's gathers;
* a short run on replayed mini-batches equals, bit for bit, a plain-NumPy Adam loop written
  here from optax's source, fed only with the registry's per-datum derivatives in the scores
  (:func:`psipo_exact.losses.pairwise_derivatives`): the softmax, the chain rule through the
  normaliser, the scatter and the update are this file's own;
* long full-batch runs of convex losses reach the exact optimum of
  :func:`psipo_exact.solve_pairwise_empirical`.
"""

from __future__ import annotations

import numpy as np
import pytest

import psipo_exact as px
from psipo_exact import losses
from psipo_exact.model import Dataset, paper_dataset
from psipo_exact.simulate import sample_batches, simulate
from psipo_exact.simulate.pairwise import from_registry, resolve_loss

#: Parameters where TRL's defaults are not allowed (exo_pair needs ε > 0) or to exercise
#: the score transforms (which make a margin loss depend on s_w, s_l separately).
PARAMS = {"exo_pair": {"label_smoothing": 0.01}}
CASES = [(name, PARAMS.get(name, {})) for name in losses.PAIRWISE_LOSSES] + [
    ("cdpo", {"label_smoothing": 0.2}),
    ("robust", {"label_smoothing": 0.1}),
    ("discopop", {"discopop_tau": 0.5}),
    ("sigmoid", {"f_divergence_type": "js_divergence"}),
    ("ipo", {"f_divergence_type": "alpha_divergence", "f_alpha_divergence_coef": 0.3}),
    ("bco_pair", {"f_divergence_type": "forward_kl"}),
]
IDS = [name + "".join(f"-{v}" for v in params.values()) for name, params in CASES]


def _spec(name, params):
    return (name, params) if params else name


def _contextual_data(seed: int) -> tuple[Dataset, np.ndarray]:
    """2 contexts × 4 actions, 14 comparisons, a non-uniform πref."""
    rng = np.random.default_rng(seed)
    winners = rng.integers(0, 4, 14)
    losers = (winners + rng.integers(1, 4, 14)) % 4
    data = Dataset(winners, losers, 4, contexts=rng.integers(0, 2, 14))
    pi_ref = rng.random((2, 4)) + 0.3
    return data, pi_ref / pi_ref.sum(-1, keepdims=True)


def _recovered_gradient(trajectory: np.ndarray, big: float) -> np.ndarray:
    """Step 1 with b1 = b2 = 0 and lr = eps = E moves θ by ``−E g/(|g| + E)``."""
    delta = trajectory[1] - trajectory[0]
    return -delta * big / (big - np.abs(delta))


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_full_batch_gradient_is_the_exact_empirical_gradient(name, params):
    data, pi_ref = _contextual_data(1)
    rng = np.random.default_rng(2)
    init = rng.normal(scale=0.5, size=data.logits_shape)
    tau, big = 0.7, 1e8
    full = np.arange(len(data))[None]
    res = simulate(data, [_spec(name, params)], tau, 0, steps=1, batch_size=len(data),
                   batches=full, init=init, pi_ref=pi_ref, b1=0.0, b2=0.0, lr=big, eps=big,
                   record_every=1)
    got = _recovered_gradient(res.logits[0, 0, 0, 0], big)
    _, want = losses.pairwise_empirical(name, init, data, pi_ref, tau, return_grad=True,
                                        **params)
    scale = np.abs(want).max()
    assert scale > 1e-3  # a gradient that vanished would prove nothing
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * scale)


def _reference_run(name, params, data, pi_ref, tau, batches, *, lr=0.01, b1=0.9, b2=0.999,
                   eps=1e-8):
    """One run, step by step: per-datum derivatives from the registry, the rest written here.

    Margin losses (``is_margin``) see ``h = (θ_w − θ_l) − (log πref(w) − log πref(l))`` and
    contribute ``ℓ′(h)(e_w − e_l)``; the others see ``s_y = θ_y − log Z − log πref(y)`` and
    contribute ``∂ℓ/∂s_w (e_w − π) + ∂ℓ/∂s_l (e_l − π)``. Each logit's terms are added in
    increasing datum order (winner before loser), the normaliser part last, and Adam is
    optax's ``scale_by_adam`` + ``scale_by_learning_rate`` (bias corrections as reciprocal
    products, as XLA compiles them).
    """
    n_ctx, n = data.n_contexts, data.n_actions
    win = data.context_index * n + data.winners
    lose = data.context_index * n + data.losers
    log_ref = np.log(pi_ref).reshape(-1)
    margin = losses.pairwise(name).is_margin(**params)
    theta = np.zeros(n_ctx * n)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    out = [theta.copy()]
    for t, batch in enumerate(batches, start=1):
        idx, counts = np.unique(batch, return_counts=True)
        w = counts / len(batch)
        if margin:
            h = (theta[win[idx]] - theta[lose[idx]]) - (log_ref[win[idx]] - log_ref[lose[idx]])
            d_w = losses.pairwise_derivatives(name, h, 0.0, tau, **params)[0] * w
            d_l, normaliser = -d_w, 0.0
        else:
            logits = theta.reshape(n_ctx, n)
            top = logits.max(axis=-1, keepdims=True)
            e = np.exp(logits - top)
            total = e.sum(axis=-1, keepdims=True)
            log_z = (top + np.log(total)).reshape(-1)[data.context_index[idx]]
            s_w = theta[win[idx]] - log_z - log_ref[win[idx]]
            s_l = theta[lose[idx]] - log_z - log_ref[lose[idx]]
            d_w, d_l = losses.pairwise_derivatives(name, s_w, s_l, tau, **params)
            d_w, d_l = d_w * w, d_l * w
            mass = np.zeros(n_ctx)
            np.add.at(mass, data.context_index[idx], d_w + d_l)
            normaliser = (mass[:, None] * (e / total)).reshape(-1)
        g = np.zeros_like(theta)
        np.add.at(g, np.stack([win[idx], lose[idx]], -1).ravel(),
                  np.stack([d_w, d_l], -1).ravel())
        g = g - normaliser
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * g**2 + b2 * v
        m_hat, v_hat = m * (1 / (1 - b1**t)), v * (1 / (1 - b2**t))
        theta = theta + m_hat / (np.sqrt(v_hat + 0.0) + eps) * (-lr)
        out.append(theta.copy())
    return np.array(out).reshape((-1,) + data.logits_shape)


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_replayed_run_equals_a_numpy_adam_loop_bitwise(name, params):
    """On D1 (uniform πref: the dense layout for margin losses) and on contextual data with
    a non-uniform πref (the sparse layout), with repeated data in the batches."""
    d1 = paper_dataset("D1")
    data, pi_ref = _contextual_data(3)
    for d, ref, tau, batch_size in ((d1, np.full(3, 1 / 3), 0.5, 9), (data, pi_ref, 2.0, 5)):
        batches = sample_batches(5, len(d), 60, batch_size)
        want = _reference_run(name, params, d, ref, tau, batches)
        res = simulate(d, [_spec(name, params)], tau, 5, steps=60, batch_size=batch_size,
                       record_every=1, pi_ref=None if d is d1 else ref)
        np.testing.assert_array_equal(res.logits[0, 0, 0, 0], want)


def test_registry_sigmoid_and_ipo_are_the_paper_links_bit_for_bit():
    """``sigmoid``/``ipo`` from the registry and ``dpo``/``ipo`` from LINKS: same runs."""
    data = paper_dataset("D3")
    res = simulate(data, ["dpo", "sigmoid", "ipo"], [0.1, 1.0], [0, 1], steps=200)
    np.testing.assert_array_equal(res.logits[0], res.logits[1])
    rerun = simulate(data, [("ipo", {"f_divergence_type": "reverse_kl"})], [0.1, 1.0],
                     [0, 1], steps=200)
    np.testing.assert_array_equal(rerun.logits[0], res.logits[2])


@pytest.mark.parametrize("name, params, tau", [
    ("cdpo", {"label_smoothing": 0.1}, 1.0),      # convex margin loss, coercive
    ("squared", {}, 0.5),                          # = ipo at τ/2
    ("exponential", {}, 1.0),                      # convex, finite on a strongly connected set
    ("sppo_hard", {}, 1.0),                        # separate log-ratios, convex in s
])
def test_long_full_batch_run_reaches_the_exact_optimum(name, params, tau):
    """Deterministic Adam (full batches replayed) on a convex loss ends at the solver's
    optimum. The noisy cycle (a ≻ b 3:1, b ≻ c 3:1, c ≻ a 1:1) has a finite optimum for
    every loss here."""
    noisy = Dataset.from_pairs([(0, 1)] * 3 + [(1, 0)] + [(1, 2)] * 3 + [(2, 1)]
                               + [(2, 0)] * 2 + [(0, 2)] * 2, 3)
    pi_ref = np.array([0.5, 0.3, 0.2])
    exact = px.solve_pairwise_empirical(name, noisy, pi_ref, tau, **params)
    assert exact.status == 0  # a unique finite optimum
    steps = 6000
    full = np.tile(np.arange(len(noisy)), (steps, 1))
    res = simulate(noisy, [_spec(name, params)], tau, 0, steps=steps, batch_size=len(noisy),
                   batches=full, record_every=steps, pi_ref=pi_ref)
    np.testing.assert_allclose(res.probs[0, 0, 0, 0, -1], exact.policy, rtol=0, atol=1e-5)


def test_loss_names_and_pairs_resolve_with_trl_defaults_and_labels():
    d1 = paper_dataset("D1")
    res = simulate(d1, ("robust", {"label_smoothing": 0.1}), 1.0, 0, steps=5)  # one pair alone
    assert res.coords["loss"] == ("robust(label_smoothing=0.1)",)
    res = simulate(d1, ["slic", "nca_pair", ("cdpo", {})], 1.0, 0, steps=5)
    assert res.coords["loss"] == ("hinge", "nca_pair", "cdpo")
    assert resolve_loss("bco_pair").margin_only is False
    assert resolve_loss("hinge").margin_only is True
    assert resolve_loss(("hinge", {"f_divergence_type": "js_divergence"})).margin_only is False
    # discopop's TRL default δ = 0.05 is the registry's default
    a = from_registry("discopop").d_margin(np.array([0.3]), 1.0)
    b = from_registry("discopop", discopop_tau=0.05).d_margin(np.array([0.3]), 1.0)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("loss, error, match", [
    ("kto", ValueError, r"losses\[0\]: loss = 'kto', must be one of \['dpo', 'ipo', "
                        r"'ipo_symmetric', 'sigmoid', .*'slic'\]"),
    ("exo_pair", ValueError, r"losses\[0\]: label_smoothing = 0.0, must be in \(0, 0.5\)"),
    (("robust", {"label_smoothing": 0.7}), ValueError, r"label_smoothing = 0.7"),
    (("hinge", {"beta": 2.0}), ValueError, r"unknown parameter 'beta'"),
    (("discopop", {"discopop_tau": -1.0}), ValueError, r"discopop_tau = -1.0"),
    (("hinge", {1: 2.0}), TypeError, r"string keys"),
    (3, TypeError, r"losses must be a non-empty sequence"),
    ([3], TypeError, r"losses\[0\]: loss must be a name, a \(name, params\) pair"),
])
def test_bad_loss_names_and_parameters_are_named(loss, error, match):
    with pytest.raises(error, match=match):
        simulate(paper_dataset("D1"), loss, 1.0, 0, steps=2)


def test_alias_and_name_of_the_same_loss_are_duplicates():
    with pytest.raises(ValueError, match=r"losses\[1\] = 'hinge' repeats"):
        simulate(paper_dataset("D1"), ["hinge", "slic"], 1.0, 0, steps=2)


def test_separate_log_ratio_loss_matches_eager_optax():
    """Against optax itself (x64, eager) fed with ``pairwise_empirical``'s gradient: equal to
    rounding (that gradient adds its terms in another order than the simulator)."""
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    data, tau, steps = paper_dataset("D1"), 0.5, 80
    batches = sample_batches(11, len(data), steps, 9)
    ours = simulate(data, ["bco_pair"], [tau], [11], steps=steps, record_every=1).logits
    uniform = np.full(3, 1 / 3)
    opt = optax.adam(0.01)
    params = jnp.zeros(3, dtype=jnp.float64)
    state = opt.init(params)
    traj = [np.asarray(params)]
    for batch in batches:
        w = np.bincount(batch, minlength=len(data)) / len(batch)
        _, g = losses.pairwise_empirical("bco_pair", np.asarray(params), data, uniform, tau,
                                         sample_weights=w, return_grad=True)
        updates, state = opt.update(jnp.asarray(g), state, params)
        params = optax.apply_updates(params, updates)
        traj.append(np.asarray(params))
    np.testing.assert_allclose(np.array(traj), ours[0, 0, 0, 0], rtol=0, atol=1e-13)
