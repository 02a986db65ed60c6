"""Tests of the Sec. 5.4 part of psipo_exact.experiments (Azar et al., arXiv:2310.12036)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from psipo_exact import experiments, report
from psipo_exact.model import paper_dataset
from psipo_exact.simulate import simulate
from psipo_exact.solvers import solve_dpo_empirical, solve_ipo_empirical

UNIFORM = np.full(3, 1.0 / 3.0)


@pytest.fixture(scope="module")
def paper():
    """The full paper experiment: Figures 1 and 2, 18000 steps, 10 seeds (~1.5 s)."""
    return experiments.run_sampled_experiment()


@pytest.fixture(scope="module")
def small():
    return experiments.run_sampled_experiment((2, 1), (0.5, 2.0), 3, steps=300, record_every=50)


def test_rows_cover_every_dataset_loss_tau(small):
    keys = {(r["dataset"], r["loss"], r["tau"]) for r in small.rows}
    assert keys == {(d, loss, t) for d in ("D3", "D3_never_wins", "D1")
                    for loss in ("dpo", "ipo") for t in (0.5, 2.0)}
    assert small.settings["figures"] == (2, 1)
    assert small.result.coords["dataset"] == ("D3", "D3_never_wins", "D1")


def test_row_numbers_are_t_intervals_and_solver_limits(small):
    res = small.result
    for r in small.rows:
        di, li, ti = (res.index("dataset", r["dataset"]), res.index("loss", r["loss"]),
                      res.index("tau", r["tau"]))
        final = res.probs[li, di, ti, :, -1]                       # (seed, action)
        half = stats.t.ppf(0.975, 2) * final.std(axis=0, ddof=1) / np.sqrt(3)
        np.testing.assert_allclose([r["mean_a"], r["mean_b"], r["mean_c"]], final.mean(0))
        np.testing.assert_allclose([r["ci95_a"], r["ci95_b"], r["ci95_c"]], half)
        data = paper_dataset(r["dataset"])
        sol = (solve_dpo_empirical(data, UNIFORM, r["tau"]) if r["loss"] == "dpo"
               else solve_ipo_empirical(data, UNIFORM, r["tau"], init=np.zeros(3)))
        np.testing.assert_array_equal([r["exact_a"], r["exact_b"], r["exact_c"]], sol.policy)
        assert r["distance"] == pytest.approx(np.abs(final.mean(0) - sol.policy).max())
        assert r["reached"] == (r["distance"] <= experiments.REACHED_TOL)
        assert r["exact_exists"] == sol.exists


def test_exact_solution_dispatch():
    data = paper_dataset("D1")
    a = experiments.exact_solution(data, "ipo_symmetric", UNIFORM, 0.5)
    b = experiments.exact_solution(data, "IPO", UNIFORM, 0.5)
    np.testing.assert_array_equal(a.policy, b.policy)
    assert not experiments.exact_solution(data, "dpo", UNIFORM, 0.5).exists
    with pytest.raises(ValueError, match="loss"):
        experiments.exact_solution(data, "kto", UNIFORM, 0.5)


@pytest.mark.parametrize("bad", [3, 0, (1, 5), (), "1", True])
def test_validate_figures_rejects(bad):
    with pytest.raises(ValueError, match="figure"):
        experiments.validate_figures(bad)


def test_validate_figures_dedupes():
    assert experiments.validate_figures([2, 1, 2]) == (2, 1)
    assert experiments.validate_figures(1) == (1,)


# ------------------------------------------------------------- noise and second-order theory


def test_softmax_moments_match_monte_carlo():
    theta = np.array([0.3, -0.2, 0.1])
    cov = np.array([[0.04, -0.01, 0.0], [-0.01, 0.03, 0.005], [0.0, 0.005, 0.02]])
    shift, sd = experiments.softmax_moments(theta, cov)
    rng = np.random.default_rng(0)
    draws = rng.multivariate_normal(theta, cov, size=400_000)
    pi = np.exp(draws) / np.exp(draws).sum(1, keepdims=True)
    pi0 = np.exp(theta) / np.exp(theta).sum()
    np.testing.assert_allclose(pi.mean(0) - pi0, shift, atol=1.5e-4)
    np.testing.assert_allclose(pi.std(0), sd, rtol=0.05)


def test_stationary_covariance_structure_on_d3():
    """D3 as printed: c has no noise and no curvature, a and b move exactly oppositely."""
    data = paper_dataset("D3")
    for loss in ("dpo", "ipo"):
        cov = experiments.adam_stationary_covariance(data, loss, np.zeros(3), UNIFORM, 0.1)
        assert np.all(cov[2] == 0) and np.all(cov[:, 2] == 0)
        assert cov[0, 0] > 0
        np.testing.assert_allclose([cov[1, 1], cov[0, 1]], [cov[0, 0], -cov[0, 0]], rtol=1e-9)


@pytest.mark.parametrize("loss, factor", [("dpo", 2.0), ("ipo", 8.0)])
@pytest.mark.parametrize("tau", [0.01, 0.1, 1.0, 10.0])
def test_stationary_covariance_closed_form_on_d3(loss, factor, tau):
    """By hand on D3 = {a≻b, b≻a} at θ = 0, in the direction u = (e_a − e_b)/√2: per-draw
    gradient ±ℓ′ (e_a − e_b) with ℓ′ = τ/2 (DPO) or 1/τ (IPO), so noise variance 2ℓ′²/B and
    σ_a = ℓ′/√B; curvature 2ℓ″ with ℓ″ = τ²/4 or 2. The Lyapunov equation in 1-D gives
    X_u = lr·(2ℓ′²/B)/σ_a² / (2·2ℓ″/σ_a) = lr·ℓ′/(√B·ℓ″) and Var θ_a = X_u/2:
    lr/(2τ√B) for DPO, lr/(8τ√B) for IPO. ℓ″ is a central difference in the code: its
    rounding error is ~1e-16·ℓ′/(1e-5·ℓ″) ≤ 2e-9 relative for τ ≥ 0.01, hence rtol 1e-7."""
    lr, batch = 0.01, 9
    cov = experiments.adam_stationary_covariance(paper_dataset("D3"), loss, np.zeros(3),
                                                 UNIFORM, tau, lr=lr, batch_size=batch)
    np.testing.assert_allclose(cov[0, 0], lr / (factor * tau * np.sqrt(batch)), rtol=1e-7)


def test_d3_analysis_orders_by_tau_and_needs_two_taus():
    """Flags about trends "with τ" follow increasing τ whatever order τ was given in; with a
    single τ there is no trend, and the report says so instead of drawing a conclusion."""
    given = experiments.run_sampled_experiment(2, (2.0, 0.5, 1.0), 2, steps=200, record_every=50)
    info = experiments.d3_analysis(given)["D3_never_wins"]["ipo"]
    assert info["tau"] == [0.5, 1.0, 2.0]
    assert np.all(np.diff(info["exact"]) > 0) and info["exact_increasing"]
    one = experiments.run_sampled_experiment(2, (1.0,), 2, steps=50)
    flags = experiments.d3_analysis(one)["D3_never_wins"]
    assert not flags["ipo"]["exact_increasing"] and not flags["ipo"]["sim_increasing"]
    md = report.summary_markdown(one)
    assert "with a single τ the dependence on τ cannot be assessed" in md
    assert "both sentences follow" not in md


def test_d3_conclusions_are_only_written_when_the_flags_support_them(paper):
    info = experiments.d3_analysis(paper)
    text = " ".join(report._d3_conclusions(info["D3"]))
    assert "Hence, from θ₀ = 0" in text and "cannot produce" in text
    broken = dict(info["D3"], theta_c_fixed=False)
    text = " ".join(report._d3_conclusions(broken))
    assert "Hence" not in text and "in θ_a alone" not in text
    dpo_excludes = dict(info["D3"], dpo=dict(info["D3"]["dpo"], sim_excluded_taus=[0.01]))
    assert "cannot produce" not in " ".join(report._d3_conclusions(dpo_excludes))
    nw = info["D3_never_wins"]
    assert "both sentences follow" in " ".join(report._d3_never_wins_conclusions(nw))
    flipped = dict(nw, ipo=dict(nw["ipo"], exact_increasing=False))
    text = " ".join(report._d3_never_wins_conclusions(flipped))
    assert "both sentences follow" not in text and "do not show" in text


def test_predicted_noise_shift_of_pi_c_matches_simulation_on_d3():
    """The drop of π̄(c) below 1/3 on printed D3 is the second-order effect of Adam's
    stationary spread of θ_a: prediction and 10-seed simulation agree within a factor 2."""
    data = paper_dataset("D3")
    res = simulate(data, ["dpo", "ipo"], [0.01, 0.1], range(10), record_every=100)
    late = res.probs[..., res.steps >= 9000, 2].mean(axis=(-1, -2))    # (loss, 1, tau)
    for li, loss in enumerate(("dpo", "ipo")):
        for ti, tau in enumerate((0.01, 0.1)):
            cov = experiments.adam_stationary_covariance(data, loss, np.zeros(3), UNIFORM, tau)
            shift, _ = experiments.softmax_moments(np.zeros(3), cov)
            drop = 1.0 / 3.0 - late[li, 0, ti]
            assert shift[2] < 0
            assert -shift[2] / 2 <= drop <= -shift[2] * 2, (loss, tau, drop, shift[2])


# ------------------------------------------------------------------ the paper's experiment


def test_paper_d3_conclusions(paper):
    info = experiments.d3_analysis(paper)
    d3, nw = info["D3"], info["D3_never_wins"]
    assert d3["theta_c_fixed"] and d3["theta_a_opposite_b"]
    for loss in ("dpo", "ipo"):
        np.testing.assert_allclose(d3[loss]["exact"], 1.0 / 3.0, rtol=1e-12)
        assert not d3[loss]["exact_excludes"] and not d3[loss]["sim_excluded_taus"]
        assert d3[loss]["drop_from_ref"] < 0.05
    assert d3["dpo"]["drop_from_ref"] >= d3["ipo"]["drop_from_ref"]
    assert nw["dpo"]["exact_excludes"] and not nw["dpo"]["exists"]
    assert nw["ipo"]["exact_increasing"] and not nw["ipo"]["exact_excludes"]
    assert nw["ipo"]["sim_increasing"]
    taus = np.array(nw["ipo"]["tau"])
    closed = 1.0 / (1.0 + np.exp(0.5 / taus) + np.exp(1.0 / taus))      # π ∝ (e^{1/τ}, e^{1/2τ}, 1)
    np.testing.assert_allclose(nw["ipo"]["exact"], closed, rtol=1e-12, atol=1e-300)


def test_paper_dpo_large_tau_is_rate_limited_by_adams_second_moment(paper):
    """DPO at τ = 10 has no finite optimum and is not reached in 18000 steps; its smallest
    gap grows at (1 − b2)/(2τ) = 5e-5 per step at the end (Adam's v̂ memory), and eps is
    irrelevant (final gradient ≫ eps)."""
    for name in ("D1", "D3_never_wins"):
        row = next(r for r in paper.rows
                   if (r["dataset"], r["loss"], r["tau"]) == (name, "dpo", 10.0))
        assert not row["reached"] and not row["exact_exists"]
        assert row["gap_rate"] == pytest.approx((1 - 0.999) / (2 * 10.0), rel=0.2)
        assert row["grad_over_eps"] > 5
    small_tau = [r for r in paper.rows if r["loss"] == "dpo" and r["tau"] <= 1.0
                 and r["dataset"] != "D3"]
    assert all(r["reached"] for r in small_tau)


def test_paper_ipo_reaches_its_optimum_within_noise(paper):
    for r in paper.rows:
        if r["loss"] == "ipo" and r["dataset"] != "D3":
            assert r["distance"] <= 4 * r["noise_sd"] + r["noise_shift"] + 1e-3, r


def test_summary_markdown_is_generated_from_rows(paper):
    md = report.summary_markdown(paper)
    assert md.startswith("# Sec. 5.4")
    for r in paper.rows:
        assert f"| {r['dataset']} | {r['loss'].upper()} | {r['tau']:g} |" in md
    assert "Figure 2: the two readings of D3" in md
    assert md.count("* Conclusion:") == 2
    missed = [r for r in paper.rows if not r["reached"]]
    assert "Runs that have not reached their exact limit" in md
    for r in missed:
        assert report._fmt(r["distance"]) in md
    cols = report.summary_columns(paper.rows)
    assert len(cols["dataset"]) == len(paper.rows) == 36


def test_figure1_only_has_no_d3_section():
    exp = experiments.run_sampled_experiment(1, (1.0,), 2, steps=50)
    md = report.summary_markdown(exp)
    assert "readings of D3" not in md and experiments.d3_analysis(exp) == {}
