"""π against τ: the exact optimum (or limit) of each loss as a curve, runs as points ± CI."""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..experiments import exact_solution
from . import _style as base


def _exact_policies(data, loss, pi_ref, taus, exact):
    """``(policy over τ, has a finite minimiser)`` from ``exact`` or the library's solvers."""
    if exact is None:
        sol = exact_solution(data, loss, pi_ref, taus, init=np.zeros(data.logits_shape))
        return np.asarray(sol.policy, dtype=float), bool(sol.exists)
    if callable(exact):
        sol = exact(data, loss, pi_ref, taus)
        return np.asarray(sol.policy, dtype=float), bool(getattr(sol, "exists", True))
    value = exact[loss]
    return np.asarray(getattr(value, "policy", value), dtype=float), bool(
        getattr(value, "exists", True))


def _result_dataset(result, dataset):
    if dataset is not None:
        return result.coords["dataset"][result.index("dataset", dataset)]
    names = result.coords["dataset"]
    if len(names) != 1:
        raise ValueError(f"result has datasets {list(names)}: pass dataset=NAME to say which "
                         "one is data")
    return names[0]


def plot_policy_against_tau(data, pi_ref, taus, losses=("dpo", "ipo"), result=None, ax=None, *,
                            dataset=None, exact=None, context=0, level=0.95, legend=True,
                            titles=True):
    """The final policy against τ: each loss's exact curve and, given runs, their means ± CI.

    For each loss, the exact optimum of the empirical loss on ``data`` (or, without a finite
    minimiser, the limit its minimising sequences reach) is drawn as π*(y) against τ, one
    hue per action and the loss's line style; with ``result``, the mean over seeds of the
    last recorded π(y) of each run is drawn at its τ with its two-sided Student-t interval
    (points of different actions are spread by ±4% in τ so their bars do not overlap).

    Parameters
    ----------
    data : Dataset
        The dataset D.
    pi_ref : array_like, shape ``data.logits_shape``
        Reference policy πref.
    taus : array_like
        τ grid (> 0) of the exact curves.
    losses : sequence of str, default ("dpo", "ipo")
        Loss names.
    result : SimulationResult, optional
        Runs on ``data`` (the dataset named ``dataset`` in it), drawn at their own τ.
    ax : matplotlib Axes or sequence of Axes, optional
        One axes (every loss on it) or one per loss; default a new figure, one panel per loss.
    dataset : str, optional
        Name of ``data`` in ``result`` (needed when it has several datasets).
    exact : callable or mapping, optional
        ``exact(data, loss, pi_ref, taus) -> Solution``, or ``loss -> Solution or policies
        (len(taus), n)``; default :func:`psipo_exact.experiments.exact_solution` from θ₀ = 0
        (the simulator's start), which covers the losses that function knows.
    context : int, default 0
        For contextual data, the context to draw.
    level : float, default 0.95
        Confidence level of the intervals.
    legend, titles : bool, default True
        Draw the legend and the panel titles ("DPO · limit" when no finite minimiser exists).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        On an invalid τ grid, a dataset or loss missing from ``result``, or a wrong number
        of axes.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact import plotting
    >>> fig = plotting.plot_policy_against_tau(px.paper_dataset("D3_never_wins"),
    ...                                        np.ones(3) / 3, np.logspace(-2, 1, 31))
    >>> [ax.get_title() for ax in fig.axes]
    ['DPO · limit', 'IPO · optimum']

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (Eq. 4 and 17) and Sec. 4.2.
    """
    grid = _checks.tau(np.atleast_1d(taus), "taus")
    if grid.ndim != 1:
        raise ValueError(f"taus must be one-dimensional, got shape {grid.shape}")
    losses = [losses] if isinstance(losses, str) else list(losses)
    if ax is None:
        fig, axes = base.grid(len(losses), len(losses), panel_height=1.9, sharex=True)
    else:
        axes = base.axes_list(ax, 1 if not np.iterable(ax) else len(losses),
                              "plot_policy_against_tau")
        fig = axes[0].figure
    panels = axes if len(axes) == len(losses) else axes * len(losses)
    actions = data.action_names or tuple(str(i) for i in range(data.n_actions))
    colours = base.action_colours(len(actions))
    cut = (context,) if len(data.logits_shape) == 2 else ()
    runs = _final_runs(result, dataset, level, cut)
    for k, (loss, panel) in enumerate(zip(losses, panels)):
        policy, exists = _exact_policies(data, loss, pi_ref, grid, exact)
        for ai, (action, colour) in enumerate(zip(actions, colours)):
            panel.plot(grid, policy[(slice(None), *cut, ai)], color=colour,
                       gid=f"exact:{loss}:{action}", **base.line_kwargs(k))
        if runs is not None and loss in runs[0].coords["loss"]:
            _draw_runs(panel, runs, loss, k, colours)
        if titles and len(axes) == len(losses):
            panel.set_title(f"{loss.upper()} · {'optimum' if exists else 'limit'}")
        panel.set_xscale("log")
        panel.set_xlabel("τ")
        base.probability_axis(panel, "final π(y)" if panel is panels[0] else None)
        base.styled(panel)
    if legend:
        columns = base.legend_handles(actions, colours, losses, exact=False)
        if result is not None:
            columns.append(base.run_handles(losses))
        title = base.tau_legend_title(level if result is not None else None)
        if ax is None:
            base.figure_legend(fig, columns, title)
        else:
            base.axes_legend(axes[0], columns, title)
    return fig


def _final_runs(result, dataset, level, cut):
    """``(result, mean, half-width)`` of the last record, axes (loss, tau, action), or None."""
    if result is None:
        return None
    di = result.index("dataset", _result_dataset(result, dataset))
    mean, half = result.mean_ci(level)
    pick = (slice(None), di, slice(None), -1, *cut)
    return result, mean[pick], half[pick]


def _draw_runs(ax, runs, loss, position, colours):
    result, mean, half = runs
    li = result.index("loss", loss)
    taus = np.asarray(result.coords["tau"], dtype=float)
    marker = base.loss_style(position)["marker"]
    n = len(colours)
    for ai, (action, colour) in enumerate(zip(result.coords["action"], colours)):
        spread = 1.04 ** (ai - (n - 1) / 2)
        h = half[li, :, ai]
        ax.errorbar(taus * spread, mean[li, :, ai], yerr=h if np.all(np.isfinite(h)) else None,
                    fmt=marker, color=colour, markersize=4, markerfacecolor="white",
                    markeredgewidth=1.1, elinewidth=1.0, capsize=2, linestyle="none",
                    gid=f"runs:{loss}:{action}")


