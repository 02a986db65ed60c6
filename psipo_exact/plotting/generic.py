"""Figures from plain arrays and mappings, for any module that computes the numbers.

Losses side by side (policies over τ per loss), convergence to an equilibrium
(exploitability against steps) and fitted rewards with their standard errors. Each takes
arrays, never a library object, so new losses, games and fits plug in directly.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import _checks
from . import _style as base


def _series(values, labels, what: str) -> tuple[list[str], list[np.ndarray]]:
    """``(labels, 1-D arrays)`` from a mapping label → values, or a sequence of values."""
    if isinstance(values, Mapping):
        if labels is not None:
            raise ValueError(f"labels given twice: {what} is a mapping, pass labels=None")
        labels, values = list(values), list(values.values())
    else:
        values = np.asarray(values, dtype=float)
        values = list(values[None] if values.ndim == 1 else values)
    arrays = [np.asarray(v, dtype=float) for v in values]
    labels = [f"{what} {i}" for i in range(len(arrays))] if labels is None else list(labels)
    if len(labels) != len(arrays):
        raise ValueError(f"labels has {len(labels)} entries but {what} has {len(arrays)} "
                         "series")
    return [str(label) for label in labels], arrays


def plot_loss_family(taus, policies, ax=None, *, actions=None, exact=None):
    """Losses side by side: one panel per loss, π(y) against τ, one hue per action.

    Parameters
    ----------
    taus : array_like, shape (T,)
        τ values (> 0), drawn on a log axis.
    policies : mapping str -> array_like, shape (T, n)
        Loss name → its optimal (or limit) policy at each τ.
    ax : sequence of matplotlib Axes, optional
        One per loss; default a new figure with one row of panels.
    actions : sequence of str, optional
        Action names (default ``0 .. n-1``).
    exact : array_like, shape (T, n), optional
        A reference drawn dotted in every panel (e.g. the RLHF policy of Eq. 3).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a policy array is not (T, n) or τ is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact import plotting
    >>> prefs = np.array([[0.5, 0.9], [0.1, 0.5]]); u = np.array([0.5, 0.5])
    >>> taus = np.logspace(-2, 1, 20)
    >>> fig = plotting.plot_loss_family(taus, {
    ...     "ipo": px.psipo_policy(prefs, u, u, taus, psi="identity"),
    ...     "logit": px.psipo_policy(prefs, u, u, taus, psi="logit")})
    >>> [ax.get_title() for ax in fig.axes]
    ['IPO', 'LOGIT']

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 7 (the ΨPO family) and Sec. 5.3.1.
    """
    taus = _checks.tau(np.atleast_1d(taus), "taus")
    names = list(policies)
    if ax is None:
        fig, axes = base.grid(len(names), min(len(names), 3), panel_height=1.8,
                              width=base.COLUMN_WIDTH if len(names) <= 2 else base.PAGE_WIDTH)
    else:
        axes = base.axes_list(ax, len(names), "plot_loss_family")
        fig = axes[0].figure
    colours = None
    for k, (name, panel) in enumerate(zip(names, axes)):
        policy = np.asarray(policies[name], dtype=float)
        if policy.ndim != 2 or policy.shape[0] != taus.size:
            raise ValueError(f"policies[{name!r}] has shape {policy.shape}, must be "
                             f"({taus.size}, n_actions)")
        actions = actions or [str(i) for i in range(policy.shape[1])]
        colours = base.action_colours(policy.shape[1])
        for ai, (action, colour) in enumerate(zip(actions, colours)):
            panel.plot(taus, policy[:, ai], color=colour, gid=f"policy:{name}:{action}",
                       **base.line_kwargs(k))
            if exact is not None:
                panel.plot(taus, np.asarray(exact, dtype=float)[:, ai], color=colour,
                           gid=f"reference:{action}", **base.EXACT_LINE)
        panel.set_xscale("log")
        panel.set_title(name.upper())
        panel.set_xlabel("τ")
        base.probability_axis(panel, "π*(y)" if k == 0 else None)
        base.styled(panel)
    if ax is None and colours is not None:
        base.figure_legend(fig, [[h] for h in base.legend_handles(actions, colours, [],
                                                                  exact=False)[0]])
    return fig


def plot_exploitability(steps, values, labels=None, ax=None, *, log_steps=False,
                        ylabel="exploitability"):
    """Convergence to an equilibrium: one curve per method, log-scaled values.

    Parameters
    ----------
    steps : array_like, shape (T,)
        Iteration numbers shared by every series.
    values : array_like, shape (k, T) or (T,), or mapping label → array (T,)
        Exploitability (duality gap) of each method's iterate; non-positive values (an exact
        equilibrium) cannot be shown on a log axis and are left out of the curve.
    labels : sequence of str, optional
        One per series (not with a mapping).
    ax : matplotlib Axes, optional
    log_steps : bool, default False
        Log-scaled step axis too (steps must then be > 0).
    ylabel : str, default "exploitability"

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a series' length differs from ``steps`` or labels do not match the series.

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact import plotting
    >>> steps = np.arange(1, 101)
    >>> fig = plotting.plot_exploitability(steps, {"Nash-MD": 1 / steps,
    ...                                            "online IPO": 1 / np.sqrt(steps)})
    >>> fig.axes[0].get_yscale()
    'log'

    References
    ----------
    Munos et al., "Nash Learning from Human Feedback", arXiv:2312.00886 (Nash-MD);
    Azar et al., arXiv:2310.12036, Sec. 5 (online IPO).
    """
    steps = np.asarray(steps, dtype=float)
    labels, series = _series(values, labels, "values")
    if ax is None:
        fig = base.new_figure(base.COLUMN_WIDTH, 2.5)
        ax = fig.add_subplot()
    fig = ax.figure
    colours = base.action_colours(len(series))
    for k, (label, y) in enumerate(zip(labels, series)):
        if y.shape != steps.shape:
            raise ValueError(f"series {label!r} has shape {y.shape}, steps has {steps.shape}")
        shown = np.where(y > 0, y, np.nan)
        ax.plot(steps, shown, color=colours[k], label=label, gid=f"series:{label}",
                **base.line_kwargs(k))
    ax.set_yscale("log")
    if log_steps:
        ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=base.FONT_SIZE)
    base.styled(ax)
    return fig


def plot_rewards(names, rewards, stderr=None, ax=None, *, labels=None, z=1.0, sort=True,
                 xlabel="fitted reward"):
    """Fitted rewards (log-strengths) with error bars of ``z`` standard errors.

    Parameters
    ----------
    names : sequence of str, length n
        Item (action, team, model) names.
    rewards : array_like, shape (n,) or (k, n), or mapping label → (n,)
        One or several fits; several are drawn side by side in each row.
    stderr : array_like or mapping, optional
        Standard errors, the same shape as ``rewards`` (NaN or inf: no bar).
    ax : matplotlib Axes, optional
    labels : sequence of str, optional
        One per fit (not with a mapping).
    z : float, default 1.0
        Half-width of the bars in standard errors (1.96 for a 95% normal interval).
    sort : bool, default True
        Order rows by the first fit, largest at the top.
    xlabel : str, default "fitted reward"

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If shapes disagree with ``names``.

    Examples
    --------
    >>> from psipo_exact import plotting
    >>> fig = plotting.plot_rewards(["a", "b", "c"], [0.0, -0.4, 0.9], [0.0, 0.2, 0.3])
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['b', 'a', 'c']

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 1–2 (Bradley–Terry rewards).
    """
    names = [str(n) for n in names]
    labels, fits = _series(rewards, labels, "fit")
    errors = [None] * len(fits)
    if stderr is not None:
        errors = _series(stderr, None, "fit")[1] if isinstance(stderr, Mapping) else \
            _series(stderr, labels, "fit")[1]
    for label, r, e in zip(labels, fits, errors):
        for what, arr in (("rewards", r), ("stderr", e)):
            if arr is not None and arr.shape != (len(names),):
                raise ValueError(f"{what} of {label!r} has shape {arr.shape}, names has "
                                 f"{len(names)} entries")
    order = np.argsort(fits[0], kind="stable") if sort else np.arange(len(names))[::-1]
    if ax is None:
        fig = base.new_figure(base.COLUMN_WIDTH, 0.9 + 0.22 * len(names))
        ax = fig.add_subplot()
    fig = ax.figure
    colours = base.action_colours(len(fits))
    rows = np.arange(len(names), dtype=float)
    for k, (label, r, e) in enumerate(zip(labels, fits, errors)):
        y = rows + (k - (len(fits) - 1) / 2) * 0.5 / len(fits)
        bars = None if e is None else np.where(np.isfinite(e), z * e, 0.0)[order]
        ax.errorbar(r[order], y, xerr=bars, fmt=base.loss_style(k)["marker"],
                    color=colours[k], markersize=4.5, capsize=2, linestyle="none", label=label,
                    gid=f"rewards:{label}")
    ax.set_yticks(rows, [names[i] for i in order])
    ax.set_xlabel(xlabel + (f" ± {z:g} s.e." if stderr is not None else ""))
    if len(fits) > 1:
        ax.legend(fontsize=base.FONT_SIZE)
    base.styled(ax)
    return fig
