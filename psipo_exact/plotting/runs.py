"""Trajectories of any :class:`~psipo_exact.simulate.SimulationResult`, exact answers overlaid."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

from . import _style as base


def _labels(result, axis: str, wanted) -> list:
    """The labels of ``axis`` to draw: all of them, or ``wanted`` (one label or a list)."""
    if wanted is None:
        return list(result.coords[axis])
    wanted = [wanted] if isinstance(wanted, (str, int, float)) else list(wanted)
    return [result.coords[axis][result.index(axis, w)] for w in wanted]


def _context_index(result, context) -> tuple:
    """Index selecting one context of a contextual result (``()`` when there is none)."""
    if "context" not in result.coords:
        if context is not None:
            raise ValueError(f"context = {context!r}, but the result has no context axis")
        return ()
    labels = list(result.coords["context"])
    return (result.index("context", labels[0] if context is None else context),)


def _step_axis(ax, steps, log_steps: bool) -> None:
    if log_steps:  # step 0 (θ₀) cannot be shown on a log axis: from the first record on
        first = steps[steps > 0]
        ax.set_xscale("log")
        ax.set_xlim(float(first[0]) if first.size else 1.0, max(float(steps[-1]), 10.0))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(3, integer=True))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda x, _: f"{x / 1000:g}k" if abs(x) >= 1000 else f"{x:g}"))


def plot_runs(result, exact=None, ax=None, *, datasets=None, taus=None, losses=None,
              context=None, level=0.95, log_steps=False, legend=True, ncols=2,
              titles=True):
    """Mean trajectories of a simulation, with their confidence bands and the exact answers.

    One panel per (dataset, τ): for each loss (one line style each) and action (one hue
    each), the mean over seeds of π(y) against Adam steps with its two-sided Student-t band
    (:meth:`~psipo_exact.simulate.SimulationResult.mean_ci`), and, when ``exact`` has it, the
    exact optimum or limit as a dotted line marked at the right edge (Sec. 5.4).

    Parameters
    ----------
    result : SimulationResult
        Any result of :func:`psipo_exact.simulate`.
    exact : mapping, optional
        ``(dataset, loss, tau) -> Solution`` (or a policy array of ``logits_shape``), e.g.
        ``SampledExperiment.exact``; missing keys draw no exact line.
    ax : matplotlib Axes or sequence of Axes, optional
        One axes per panel (datasets major, τ minor); default a new figure.
    datasets, taus, losses : label or list of labels, optional
        What to draw (default: every label of the result).
    context : label, optional
        For contextual results, the context to draw (default the first).
    level : float, default 0.95
        Confidence level of the bands (none with one seed).
    log_steps : bool, default False
        Logarithmic step axis from the first record after step 0, so the early steps are
        not squashed.
    legend : bool, default True
        Draw the legend (below the panels, or on the one axes given).
    ncols : int, default 2
        Panels per row of a new figure (2 reads at one column width).
    titles : bool, default True
        Title each panel with its dataset and τ.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a label is not in the result or ``ax`` does not hold one axes per panel.

    Examples
    --------
    >>> import psipo_exact as px
    >>> from psipo_exact import plotting
    >>> runs = px.simulate({"D1": px.paper_dataset("D1")}, ["dpo", "ipo"], [0.1, 1.0],
    ...                    range(3), steps=200)
    >>> fig = plotting.plot_runs(runs, log_steps=True)
    >>> len(fig.axes)
    2

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (Figures 1 and 2).
    """
    names = _labels(result, "dataset", datasets)
    tau_values = _labels(result, "tau", taus)
    loss_names = _labels(result, "loss", losses)
    panels = [(d, t) for d in names for t in tau_values]
    if ax is None:
        fig, axes = base.grid(len(panels), ncols)
    else:
        axes = base.axes_list(ax, len(panels), f"plot_runs with {len(panels)} (dataset, tau) "
                                                "panels")
        fig = axes[0].figure
    mean, half = result.mean_ci(level)
    cut = _context_index(result, context)
    colours = base.action_colours(len(result.coords["action"]))
    steps = np.asarray(result.steps)
    for panel, (name, tau) in zip(axes, panels):
        index = (result.index("dataset", name), result.index("tau", tau))
        for k, loss in enumerate(loss_names):
            li = result.index("loss", loss)
            at = (li, *index, slice(None), *cut)
            _draw_loss(panel, steps, mean[at], half[at], colours, result.coords["action"], k,
                       loss, base.exact_policy(exact, name, loss, tau), cut)
        base.probability_axis(panel, None)
        _step_axis(panel, steps, log_steps)
        if titles:
            panel.set_title(f"τ = {tau:g}" if len(names) == 1 else f"{name}, τ = {tau:g}")
        base.styled(panel)
    _label_outer(axes, "Adam step", "π(y)")
    if legend:
        columns = base.legend_handles(result.coords["action"], colours, loss_names,
                                      exact=exact is not None)
        title = base.runs_legend_title(level, exact is not None)
        if ax is None:
            base.figure_legend(fig, columns, title)
        else:
            base.axes_legend(axes[0], columns, title)
    return fig


def _draw_loss(ax, steps, mean, half, colours, actions, position, loss, exact, cut):
    """The mean ± CI of each action under one loss, and its exact value."""
    style = base.line_kwargs(position)
    marker = base.loss_style(position)["marker"]
    if exact is not None:
        exact = exact[cut] if cut else exact
    for ai, (action, colour) in enumerate(zip(actions, colours)):
        m, h = mean[:, ai], half[:, ai]
        ax.plot(steps, m, color=colour, gid=f"mean:{loss}:{action}", **style)
        if np.all(np.isfinite(h)):  # one seed: no interval to draw
            ax.fill_between(steps, m - h, m + h, color=colour, alpha=0.18, linewidth=0,
                            gid=f"band:{loss}:{action}")
        if exact is not None:
            base.exact_level(ax, float(exact[ai]), colour, marker, f"exact:{loss}:{action}")


def _label_outer(axes, xlabel: str, ylabel: str) -> None:
    """Axis labels on the outer panels only (left column, bottom of each column)."""
    for panel in axes:
        spec = panel.get_subplotspec()
        if spec is None or spec.is_first_col():
            panel.set_ylabel(ylabel)
        if spec is None or spec.is_last_row() or _nothing_below(panel, axes):
            panel.set_xlabel(xlabel)


def _nothing_below(panel, axes) -> bool:
    """True when no other axes of the list sits below ``panel`` in its column."""
    box = panel.get_position()
    return not any(other is not panel and other.get_position().y1 < box.y0
                   and abs(other.get_position().x0 - box.x0) < 1e-6 for other in axes)
