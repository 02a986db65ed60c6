"""Tests of :mod:`psipo_exact.plotting` on the artists' data: a wrong curve fails a test.

Every plotted line is compared with numbers computed here independently of the plotting
code: the runs' means over seeds from the raw ``probs``, the exact optima from the solvers
and, where one exists, the closed form (IPO on D3_never_wins: π ∝ (e^{1/τ}, e^{1/(2τ)}, 1)).
Style is checked too: distinct hues, text ≥ 9 pt, scales, legend entries.
"""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import psipo_exact as px  # noqa: E402
from psipo_exact import experiments, plotting  # noqa: E402
from psipo_exact.closed_form import softmax_policy  # noqa: E402

U3 = np.full(3, 1 / 3)
TAUS = (0.1, 1.0)


@pytest.fixture(scope="module")
def experiment():
    return experiments.run_sampled_experiment((1, 2), TAUS, 3, steps=300, record_every=30)


@pytest.fixture(autouse=True)
def _close_figures_and_forbid_show(monkeypatch):
    def show(*args, **kwargs):
        raise AssertionError("plotting must never call plt.show()")

    monkeypatch.setattr(plt, "show", show)
    yield
    plt.close("all")


def _by_gid(fig, prefix):
    """Artists (lines, patches, collections) of ``fig`` whose gid starts with ``prefix``."""
    found = {}
    for ax in fig.axes:
        for artist in [*ax.lines, *ax.patches, *ax.collections]:
            gid = artist.get_gid()
            if gid and gid.startswith(prefix):
                found.setdefault(gid, []).append(artist)
    return found


def _texts(fig):
    fig.canvas.draw()
    return [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]


def _legend_labels(fig):
    return [t.get_text() for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
            if leg is not None for t in leg.get_texts()]


def _independent_mean(result, loss, dataset, tau):
    """Mean over seeds straight from ``probs`` (not through ``mean_ci``)."""
    return result.select(loss=loss, dataset=dataset, tau=tau).mean(axis=0)


# ------------------------------------------------------------------ plot_runs


def test_plot_runs_lines_are_the_runs_means_and_the_solver_optima(experiment):
    res = experiment.result
    fig = plotting.plot_runs(res, experiment.exact, datasets="D1")
    assert len(fig.axes) == len(TAUS)
    for ax, tau in zip(fig.axes, TAUS):
        assert ax.get_title() == f"τ = {tau:g}"
        lines = {line.get_gid(): line for line in ax.lines if line.get_gid()}
        for loss in ("dpo", "ipo"):
            mean = _independent_mean(res, loss, "D1", tau)
            solver = (px.solve_dpo_empirical if loss == "dpo" else px.solve_ipo_empirical)(
                px.paper_dataset("D1"), U3, tau).policy
            for ai, action in enumerate("abc"):
                line = lines[f"mean:{loss}:{action}"]
                np.testing.assert_array_equal(line.get_xdata(), res.steps)
                np.testing.assert_allclose(line.get_ydata(), mean[:, ai], rtol=1e-12)
                np.testing.assert_allclose(lines[f"exact:{loss}:{action}"].get_ydata(),
                                           [solver[ai]] * 2, rtol=1e-12, atol=1e-15)
    # DPO on D1 has no finite minimiser: its exact line is the limit (1, 0, 0).
    limit = [fig.axes[0].lines[i].get_ydata()[0] for i, line in enumerate(fig.axes[0].lines)
             if line.get_gid() in ("exact:dpo:a", "exact:dpo:b", "exact:dpo:c")]
    assert limit == [1.0, 0.0, 0.0]


def test_plot_runs_bands_are_student_t_intervals(experiment):
    from scipy import stats

    res = experiment.result
    fig = plotting.plot_runs(res, experiment.exact, datasets="D3_never_wins", taus=1.0)
    band = _by_gid(fig, "band:ipo:b")["band:ipo:b"][0]
    runs = res.select(loss="ipo", dataset="D3_never_wins", tau=1.0)[:, :, 1]
    half = stats.t.ppf(0.975, df=2) * runs.std(axis=0, ddof=1) / np.sqrt(3)
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx((runs.mean(axis=0) + half).max(), rel=1e-12)


def test_plot_runs_style_hues_fonts_legend_and_log_steps(experiment):
    fig = plotting.plot_runs(experiment.result, experiment.exact, log_steps=True)
    assert len(fig.axes) == 3 * len(TAUS)
    hues = {to_rgb(line.get_color()) for ax in fig.axes for line in ax.lines
            if (line.get_gid() or "").startswith("mean:dpo:")}
    assert len(hues) == 3                                       # one distinct hue per action
    assert hues == {to_rgb(c) for c in plotting.OKABE_ITO[:3]}  # colour-blind-safe palette
    for ax in fig.axes:
        assert ax.get_xscale() == "log"
        lo, hi = ax.get_ylim()
        assert lo < 0 and hi > 1                       # exact lines at 0 and 1 are not the frame
        styles = {line.get_linestyle() for line in ax.lines
                  if (line.get_gid() or "").startswith("mean:")}
        assert len(styles) == 2                        # one line style per loss
    assert min(t.get_fontsize() for t in _texts(fig)) >= 9
    labels = _legend_labels(fig)
    for entry in ("π(a)", "π(b)", "π(c)", "DPO", "IPO", "DPO exact", "IPO exact"):
        assert entry in labels
    assert "95% CI" in fig.legends[0].get_title().get_text()


def test_plot_runs_on_a_users_own_result_without_exact():
    data = px.Dataset.from_pairs([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2)], n_actions=4)
    res = px.simulate({"mine": data}, ["ipo"], [0.5], range(2), steps=50, record_every=5)
    fig = plotting.plot_runs(res)
    assert len(fig.axes) == 1
    assert not _by_gid(fig, "exact")
    assert "IPO exact" not in _legend_labels(fig)
    assert len(_by_gid(fig, "mean:ipo:")) == 4


def test_plot_runs_into_given_axes_and_errors(experiment):
    fig, ax = plt.subplots()
    out = plotting.plot_runs(experiment.result, experiment.exact, ax=ax, datasets="D1",
                             taus=0.1, losses="ipo")
    assert out is fig and len(_by_gid(fig, "mean:")) == 3
    with pytest.raises(ValueError, match="ax has 1 axes, but plot_runs with 2"):
        plotting.plot_runs(experiment.result, ax=ax, datasets="D1")
    with pytest.raises(ValueError, match="not in the result"):
        plotting.plot_runs(experiment.result, datasets="D9")


def test_plot_runs_one_seed_draws_no_band():
    res = px.simulate({"D1": px.paper_dataset("D1")}, ["dpo"], [1.0], [0], steps=20)
    fig = plotting.plot_runs(res)
    assert not _by_gid(fig, "band") and len(_by_gid(fig, "mean")) == 3


# ------------------------------------------------------------------ π against τ


def test_policy_against_tau_exact_curves_match_closed_form_and_limit():
    grid = np.logspace(-2, 1, 13)
    fig = plotting.plot_policy_against_tau(px.paper_dataset("D3_never_wins"), U3, grid)
    assert [ax.get_title() for ax in fig.axes] == ["DPO · limit", "IPO · optimum"]
    lines = _by_gid(fig, "exact")
    closed = softmax_policy(np.array([1.0, 0.5, 0.0]) / grid[:, None])
    for ai, action in enumerate("abc"):
        ipo = lines[f"exact:ipo:{action}"][0]
        np.testing.assert_array_equal(ipo.get_xdata(), grid)
        np.testing.assert_allclose(ipo.get_ydata(), closed[:, ai], rtol=1e-9, atol=1e-300)
        np.testing.assert_array_equal(lines[f"exact:dpo:{action}"][0].get_ydata(),
                                      np.full(grid.size, [1.0, 0.0, 0.0][ai]))
    assert all(ax.get_xscale() == "log" for ax in fig.axes)
    assert min(t.get_fontsize() for t in _texts(fig)) >= 9


def test_policy_against_tau_points_are_final_means(experiment):
    res = experiment.result
    fig = plotting.plot_policy_against_tau(px.paper_dataset("D1"), U3, np.logspace(-2, 1, 7),
                                           result=res, dataset="D1")
    points = _by_gid(fig, "runs")
    for loss in ("dpo", "ipo"):
        for ai, action in enumerate("abc"):
            line = points[f"runs:{loss}:{action}"][0]
            final = [_independent_mean(res, loss, "D1", t)[-1, ai] for t in TAUS]
            np.testing.assert_allclose(line.get_ydata(), final, rtol=1e-12)
            np.testing.assert_allclose(line.get_xdata(), np.array(TAUS) * 1.04 ** (ai - 1))
    assert {"DPO runs", "IPO runs"} <= set(_legend_labels(fig))


def test_policy_against_tau_needs_the_dataset_name_for_several(experiment):
    with pytest.raises(ValueError, match="pass dataset=NAME"):
        plotting.plot_policy_against_tau(px.paper_dataset("D1"), U3, [1.0],
                                         result=experiment.result)
    with pytest.raises(ValueError, match="taus"):
        plotting.plot_policy_against_tau(px.paper_dataset("D1"), U3, [0.0, 1.0])


def test_policy_against_tau_takes_a_mapping_of_policies_on_one_axes():
    fig, ax = plt.subplots()
    grid = np.array([0.5, 1.0])
    given = np.array([[0.5, 0.3, 0.2], [0.4, 0.35, 0.25]])
    plotting.plot_policy_against_tau(px.paper_dataset("D1"), U3, grid, losses=["mine"],
                                     ax=ax, exact={"mine": given})
    np.testing.assert_array_equal(_by_gid(fig, "exact:mine:b")["exact:mine:b"][0].get_ydata(),
                                  given[:, 1])


# ------------------------------------------------------------------ comparison graph


def test_comparison_graph_edges_and_widths_proportional_to_weights():
    data = px.Dataset.from_pairs([(0, 1), (1, 0), (1, 2), (0, 2)], n_actions=3,
                                 weights=[3.0, 1.0, 2.0, 1.5])
    fig = plotting.plot_comparison_graph(data)
    edges = {gid: artists[0] for gid, artists in _by_gid(fig, "edge:").items()}
    assert set(edges) == {"edge:0->1", "edge:1->0", "edge:1->2", "edge:0->2"}
    widths = {gid: e.get_linewidth() for gid, e in edges.items()}
    assert widths["edge:0->1"] == pytest.approx(4.0)               # the heaviest edge
    assert widths["edge:1->2"] / widths["edge:0->1"] == pytest.approx(2 / 3)
    assert widths["edge:1->0"] / widths["edge:0->2"] == pytest.approx(1 / 1.5)
    assert "rad=0.18" in str(edges["edge:0->1"].get_connectionstyle().__dict__) or \
        edges["edge:0->1"].get_connectionstyle().rad == 0.18          # opposite arrows curve
    assert edges["edge:1->2"].get_connectionstyle().rad == 0.0
    assert len(_by_gid(fig, "node:")) == 3


def test_layouts():
    np.testing.assert_allclose(np.linalg.norm(plotting.circle_layout(7), axis=1), 1.0)
    path = np.diag(np.ones(5), 1) + np.diag(np.ones(5), -1)        # a path of 6 nodes
    pos = plotting.spring_layout(path)
    dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    assert dist[0, 5] == dist.max()                                # the ends are farthest apart
    assert np.abs(pos).max() == pytest.approx(1.0)
    np.testing.assert_array_equal(pos, plotting.spring_layout(path))  # deterministic
    with pytest.raises(ValueError, match="layout"):
        plotting.plot_comparison_graph(px.paper_dataset("D1"), layout="grid")
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        plotting.plot_comparison_graph(px.paper_dataset("D1"), layout=np.zeros((2, 2)))


# ------------------------------------------------------------------ generic figures


def test_loss_family_lines_equal_inputs():
    taus = np.logspace(-1, 1, 5)
    rng = np.random.default_rng(0)
    policies = {name: rng.dirichlet(np.ones(3), size=5) for name in ("ipo", "dpo", "slic")}
    fig = plotting.plot_loss_family(taus, policies, actions=["x", "y", "z"])
    assert [ax.get_title() for ax in fig.axes] == ["IPO", "DPO", "SLIC"]
    for name, policy in policies.items():
        line = _by_gid(fig, f"policy:{name}:y")[f"policy:{name}:y"][0]
        np.testing.assert_array_equal(line.get_ydata(), policy[:, 1])
    with pytest.raises(ValueError, match=r"policies\['bad'\] has shape \(4, 3\)"):
        plotting.plot_loss_family(taus, {"bad": np.ones((4, 3)) / 3})


def test_exploitability_log_scale_and_equilibrium_values_left_out():
    steps = np.arange(1, 6)
    values = np.array([[1.0, 0.5, 0.25, 0.0, 0.0], [1.0, 0.9, 0.8, 0.7, 0.6]])
    fig = plotting.plot_exploitability(steps, values, labels=["nash-md", "self-play"])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    line = _by_gid(fig, "series:nash-md")["series:nash-md"][0]
    np.testing.assert_array_equal(line.get_ydata()[:3], values[0, :3])
    assert np.isnan(line.get_ydata()[3:]).all()
    assert _legend_labels(fig) == ["nash-md", "self-play"]
    with pytest.raises(ValueError, match="labels has 1 entries"):
        plotting.plot_exploitability(steps, values, labels=["one"])
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_exploitability(steps[:3], values)


def test_rewards_sorted_with_error_bars_of_z_standard_errors():
    names = ["low", "high", "mid"]
    rewards = np.array([-1.0, 2.0, 0.5])
    stderr = np.array([0.1, 0.3, 0.2])
    fig = plotting.plot_rewards(names, rewards, stderr, z=1.96)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["low", "mid", "high"]
    points = _by_gid(fig, "rewards:")
    line = points["rewards:fit 0"][0]
    np.testing.assert_array_equal(line.get_xdata(), [-1.0, 0.5, 2.0])
    bars = next(c for c in ax.collections if c.get_segments())
    spans = [seg[1, 0] - seg[0, 0] for seg in bars.get_segments()]
    np.testing.assert_allclose(spans, 2 * 1.96 * stderr[[0, 2, 1]])
    assert "± 1.96 s.e." in ax.get_xlabel()
    with pytest.raises(ValueError, match="stderr of 'fit 0' has shape"):
        plotting.plot_rewards(names, rewards, stderr[:2])


def test_rewards_several_fits_from_a_mapping():
    fig = plotting.plot_rewards(["a", "b"], {"ours": [0.0, 1.0], "BTm": [0.0, 1.01]})
    assert _legend_labels(fig) == ["ours", "BTm"]


# ------------------------------------------------------------------ the paper's figures


def test_figure2_draws_the_flat_reading_as_one_panel(experiment):
    fig = plotting.plot_sampled_figure(experiment, 2)
    assert fig.get_figwidth() == plotting.COLUMN_WIDTH
    assert len(fig.axes) == 1 + len(TAUS)          # D3 as printed: one panel; D3_never_wins: 2
    flat = fig.axes[0]
    assert flat.get_xscale() == "log" and "πref" in " ".join(t.get_text() for t in flat.texts)
    for line in flat.lines:
        if (line.get_gid() or "").startswith("exact:"):
            np.testing.assert_allclose(line.get_ydata(), 1 / 3, rtol=1e-12)
    assert min(t.get_fontsize() for t in _texts(fig)) >= 9


def test_figure1_one_panel_per_tau_and_the_tau_figure(experiment):
    fig = plotting.plot_sampled_figure(experiment, 1)
    assert len(fig.axes) == len(TAUS) and fig.get_figwidth() == plotting.COLUMN_WIDTH
    fig = plotting.plot_sampled_against_tau(experiment)
    assert len(fig.axes) == 3 * 2
    assert min(t.get_fontsize() for t in _texts(fig)) >= 9


def test_closed_form_sweep_lines():
    sweep = experiments.closed_form_sweep()
    fig = plotting.plot_closed_form_sweep(sweep)
    lines = {line.get_gid(): line for line in fig.axes[0].lines}
    np.testing.assert_allclose(lines["ipo"].get_ydata(), 1 / (1 + np.exp(-0.5 / sweep["tau"])),
                               rtol=1e-12)
    np.testing.assert_array_equal(lines["logit"].get_ydata(), 1.0)


def test_importing_plotting_does_not_switch_the_backend():
    code = ("import matplotlib; matplotlib.use('svg'); import psipo_exact.plotting; "
            "import matplotlib.pyplot as plt; print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "svg"
