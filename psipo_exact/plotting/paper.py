"""The paper's figures, redrawn at one column width from the general plots of this package.

Sec. 5.3.1's τ sweep, Figures 1 and 2 of Sec. 5.4 with the exact optima or limits, and the
figure the paper's claim is about: the final policy against τ, exact curve beside the runs.
"""

from __future__ import annotations

import math

import numpy as np

from ..model import paper_dataset
from . import _style as base
from .runs import plot_runs
from .tau import plot_policy_against_tau


def plot_closed_form_sweep(sweep: dict):
    """π*(y₁) against τ for IPO and RLHF/DPO, two actions with p*(y₁ ≻ y₂) = 1.

    Parameters
    ----------
    sweep : dict
        Output of :func:`psipo_exact.experiments.closed_form_sweep`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from psipo_exact import experiments, plotting
    >>> fig = plotting.plot_closed_form_sweep(experiments.closed_form_sweep())
    >>> fig.axes[0].get_xscale()
    'log'

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.3.1 and Sec. 4.2 (Eq. 7).
    """
    fig = base.new_figure(base.COLUMN_WIDTH, 2.4)
    ax = fig.add_subplot()
    logit = base.line_kwargs(0)
    ipo = base.line_kwargs(1)
    ax.plot(sweep["tau"], sweep["logit_pi_y1"], color=base.OKABE_ITO[0], gid="logit",
            label="RLHF/DPO (Ψ = logit)", **logit)
    ax.plot(sweep["tau"], sweep["ipo_pi_y1"], color=base.OKABE_ITO[1], gid="ipo",
            label="IPO (Ψ = identity)", **ipo)
    ax.axhline(0.5, color="0.5", gid="pi_ref", label="πref(y₁)", **base.EXACT_LINE)
    ax.set_xscale("log")
    ax.set_xlabel("τ")
    ax.set_ylabel("π*(y₁), Eq. 7")
    ax.set_ylim(0.45, 1.05)
    ax.legend(loc="center right", fontsize=base.FONT_SIZE)
    base.styled(ax)
    return fig


def _is_flat_at_reference(experiment, name: str, pi_ref) -> bool:
    """True when every exact answer on ``name`` (each loss and τ) is πref itself."""
    res = experiment.result
    return all(
        np.allclose(base.exact_policy(experiment.exact, name, loss, tau), pi_ref, atol=1e-12)
        for loss in res.coords["loss"] for tau in res.coords["tau"])


def _describe(name: str) -> str:
    """``"D1 = {a≻b, b≻c, a≻c}"``: a paper dataset's name and its data."""
    data = paper_dataset(name)
    pairs = ", ".join(f"{data.action_names[w]}≻{data.action_names[lo]}"
                      for w, lo in zip(data.winners, data.losers))
    return f"{name} = {{{pairs}}}"


def plot_sampled_figure(experiment, figure: int, *, log_steps: bool = True):
    """Figure 1 (D1) or 2 (both readings of D3) of Sec. 5.4, with the exact limits.

    Each dataset of the figure gets one block of panels, one per τ and two to a row
    (:func:`plot_runs`: the mean over seeds of π(y) under each loss with 95% Student-t
    bands, and the exact optimum or limit dotted and marked at the right edge). A dataset
    whose exact answer is πref for every loss and τ (D3 as printed) gets one compact panel
    instead, its final π against τ (:func:`plot_policy_against_tau`) with a note saying so:
    a block of flat panels would show nothing more.

    Parameters
    ----------
    experiment : psipo_exact.experiments.SampledExperiment
    figure : {1, 2}
        Which figure (its datasets are ``experiment.settings["figure_datasets"][figure]``).
    log_steps : bool, default True
        Symmetric-log step axis (linear up to the first record, logarithmic beyond).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If the experiment did not run that figure.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4, Figures 1 and 2.

    Examples
    --------
    A short run of Figure 1 (D1): one panel per τ, the exact lines at DPO's limit (1, 0, 0)
    and at the IPO optimum:

    >>> import matplotlib.pyplot as plt
    >>> from psipo_exact.experiments import run_sampled_experiment
    >>> from psipo_exact.plotting import plot_sampled_figure
    >>> exp = run_sampled_experiment(1, (0.5, 2.0), 2, steps=40, record_every=20)
    >>> fig = plot_sampled_figure(exp, 1)
    >>> type(fig).__name__, len(fig.axes) >= 2
    ('Figure', True)
    >>> plt.close(fig)
    """
    res = experiment.result
    names = experiment.settings["figure_datasets"][figure]
    n_actions = len(res.coords["action"])
    pi_ref = np.full(n_actions, 1.0 / n_actions)
    taus = res.coords["tau"]
    flat = {name: _is_flat_at_reference(experiment, name, pi_ref) for name in names}
    rows = [1.1 if flat[name] else math.ceil(len(taus) / 2) for name in names]
    fig = base.new_figure(base.COLUMN_WIDTH, 1.3 * sum(rows) + 0.35 * len(names) + 1.0)
    blocks = fig.subfigures(len(names), 1, height_ratios=[r + 0.35 for r in rows],
                            squeeze=False).ravel()
    for block, name in zip(blocks, names):
        block.suptitle(_describe(name) + (" (as printed)" if name == "D3" else ""),
                       fontsize=base.FONT_SIZE)
        if flat[name]:
            _flat_panel(base.panels(block, 1, 1)[0], experiment, name, pi_ref)
        else:
            plot_runs(res, experiment.exact, ax=base.panels(block, len(taus), 2),
                      datasets=name, log_steps=log_steps, legend=False)
    colours = base.action_colours(n_actions)
    base.figure_legend(fig, base.legend_handles(res.coords["action"], colours,
                                                res.coords["loss"]),
                       base.runs_legend_title(0.95, True))
    return fig


def _flat_panel(ax, experiment, name: str, pi_ref) -> None:
    """One panel for a dataset whose exact answer is πref everywhere: final π against τ."""
    res = experiment.result
    plot_policy_against_tau(paper_dataset(name), pi_ref, _fine_grid(res.coords["tau"], 40),
                            res.coords["loss"], res, ax=ax, dataset=name, legend=False)
    ax.set_ylim(0.0, 0.6)
    ax.set_yticks([0.0, 1 / 3, 0.6], ["0", "1/3", "0.6"])
    ax.set_ylabel("final π(y)")
    ax.text(0.02, 0.06, "exact π* = πref at every τ, both losses", transform=ax.transAxes,
            fontsize=base.FONT_SIZE, color=base.NEUTRAL)


def _fine_grid(taus, size: int) -> np.ndarray:
    """A log-spaced τ grid a little wider than ``taus``."""
    taus = np.asarray(taus, dtype=float)
    return np.logspace(np.log10(taus.min()) - 0.3, np.log10(taus.max()) + 0.3, size)


def plot_sampled_against_tau(experiment, *, level: float = 0.95):
    """The final policy against τ for every dataset and loss of a Sec. 5.4 experiment.

    One row per dataset, one panel per loss (:func:`plot_policy_against_tau`): the exact
    optimum or limit as a curve on a fine τ grid, and the mean over seeds of each run's last
    policy at its τ with its Student-t interval — the paper's claim about how π depends on
    τ, set against the exact answer.

    Parameters
    ----------
    experiment : psipo_exact.experiments.SampledExperiment
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (Figures 1 and 2) and Sec. 4.2.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from psipo_exact.experiments import run_sampled_experiment
    >>> from psipo_exact.plotting import plot_sampled_against_tau
    >>> exp = run_sampled_experiment(1, (0.5, 2.0), 2, steps=40, record_every=20)
    >>> fig = plot_sampled_against_tau(exp)
    >>> type(fig).__name__
    'Figure'
    >>> plt.close(fig)
    """
    res = experiment.result
    names = list(res.coords["dataset"])
    losses = list(res.coords["loss"])
    n_actions = len(res.coords["action"])
    pi_ref = np.full(n_actions, 1.0 / n_actions)
    grid = _fine_grid(res.coords["tau"], 61)
    fig = base.new_figure(base.COLUMN_WIDTH, 1.85 * len(names) + 0.9)
    blocks = fig.subfigures(len(names), 1, squeeze=False).ravel()
    for row, (block, name) in enumerate(zip(blocks, names)):
        block.suptitle(_describe(name), fontsize=base.FONT_SIZE)
        panels = base.panels(block, len(losses), len(losses))
        plot_policy_against_tau(paper_dataset(name), pi_ref, grid, losses, res, ax=panels,
                                dataset=name, level=level, legend=False)
    colours = base.action_colours(n_actions)
    columns = base.legend_handles(res.coords["action"], colours, losses, exact=False)
    base.figure_legend(fig, columns + [base.run_handles(losses)], base.tau_legend_title(level))
    return fig
