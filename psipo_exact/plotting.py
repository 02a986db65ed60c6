"""Matplotlib figures for the paper's set-ups.

Importing this module never chooses or switches the matplotlib backend: figures are made
with pyplot (so ``plt.show()`` and inline display work as usual) and returned; only the
command line, which writes files headless, selects the non-interactive Agg backend.
"""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ._io import atomic_path


def write_png(fig, path: str | os.PathLike) -> None:
    """Render ``fig`` as PNG to ``path`` (not atomically) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like

    References
    ----------
    Azar et al., arXiv:2310.12036, Figures 1 and 2 (the figures this package writes).

    Examples
    --------
    >>> import os, tempfile
    >>> import matplotlib.pyplot as plt
    >>> from psipo_exact.plotting import write_png
    >>> fig, ax = plt.subplots()
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "fig.png")
    >>> write_png(fig, path)
    >>> with open(path, "rb") as f:
    ...     f.read(8) == b"\\x89PNG\\r\\n\\x1a\\n", plt.fignum_exists(fig.number)
    (True, False)
    >>> tmp.cleanup()
    """
    try:
        fig.savefig(path, format="png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def save_figure(fig, path: str | os.PathLike) -> None:
    """Save ``fig`` as PNG atomically and close it.

    A failure leaves no file at ``path`` (the PNG is written to a temporary file first).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.3.1 (the figure of the example).

    Examples
    --------
    >>> import os, tempfile
    >>> from psipo_exact.experiments import closed_form_sweep
    >>> from psipo_exact.plotting import plot_closed_form_sweep, save_figure
    >>> tmp = tempfile.TemporaryDirectory()
    >>> save_figure(plot_closed_form_sweep(closed_form_sweep()), os.path.join(tmp.name, "f.png"))
    >>> os.listdir(tmp.name)
    ['f.png']
    >>> tmp.cleanup()
    """
    with atomic_path(path) as tmp:
        write_png(fig, tmp)


def plot_closed_form_sweep(sweep: dict):
    """π*(y₁) against τ for IPO and RLHF/DPO (Sec. 5.3.1; Sec. 4.2 for the logit curve).

    Parameters
    ----------
    sweep : dict
        Output of :func:`psipo_exact.experiments.closed_form_sweep`.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.3.1 (``π*(y₁) = σ(1/(2τ))``) and Sec. 4.2.

    Examples
    --------
    The first curve is IPO's ``σ(1/(2τ))``, the second the logit-ΨPO policy, 1 for every τ:

    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from psipo_exact.experiments import closed_form_sweep
    >>> from psipo_exact.plotting import plot_closed_form_sweep
    >>> fig = plot_closed_form_sweep(closed_form_sweep([0.1, 1.0, 10.0]))
    >>> type(fig).__name__
    'Figure'
    >>> ipo, logit = fig.axes[0].lines[:2]
    >>> print(np.round(ipo.get_ydata(), 4), logit.get_ydata())
    [0.9933 0.6225 0.5125] [1. 1. 1.]
    >>> plt.close(fig)
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogx(sweep["tau"], sweep["ipo_pi_y1"], label="IPO (Ψ = identity), Eq. 7")
    ax.semilogx(sweep["tau"], sweep["logit_pi_y1"], "--", label="RLHF/DPO (Ψ = logit), Eq. 7")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":", label="π_ref(y₁)")
    ax.set_xlabel("τ")
    ax.set_ylabel("π*(y₁)")
    ax.set_ylim(0.45, 1.02)
    ax.set_title("Sec. 5.3.1: p*(y₁ ≻ y₂) = 1, uniform µ and π_ref")
    ax.legend(loc="lower left")
    return fig


#: Colours of (loss, action) curves in the Sec. 5.4 figures.
_LOSS_COLOURS = {"dpo": ("#08306b", "#2171b5", "#6baed6"),
                 "ipo": ("#7f2704", "#d94801", "#fd8d3c")}


def plot_sampled_figure(experiment, figure: int):
    """Figure 1 (D1) or 2 (both readings of D3) of Sec. 5.4, with the exact limits.

    One panel per τ (columns) and dataset (rows): the mean over seeds of each action's
    probability under DPO (Eq. 4) and IPO (Eq. 17) against Adam steps, with 95% Student-t
    bands, and the exact optimum or limit of each loss as a dashed line of the same colour.

    Parameters
    ----------
    experiment : psipo_exact.experiments.SampledExperiment
    figure : {1, 2}

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4, Figures 1 and 2.

    Examples
    --------
    One panel per τ; each panel has a curve and a dashed exact line per (loss, action):

    >>> import matplotlib.pyplot as plt
    >>> from psipo_exact.experiments import run_sampled_experiment
    >>> from psipo_exact.plotting import plot_sampled_figure
    >>> exp = run_sampled_experiment(figures=(1,), taus=(0.1, 1.0), seeds=2, steps=100)
    >>> fig = plot_sampled_figure(exp, 1)
    >>> type(fig).__name__, len(fig.axes), len(fig.axes[0].lines)
    ('Figure', 2, 12)
    >>> plt.close(fig)
    """
    res = experiment.result
    names = experiment.settings["figure_datasets"][figure]
    taus = res.coords["tau"]
    mean, half = res.mean_ci()
    fig, axes = plt.subplots(len(names), len(taus), figsize=(2.9 * len(taus), 2.7 * len(names)),
                             sharex=True, sharey=True, squeeze=False)
    for row, name in enumerate(names):
        di = res.index("dataset", name)
        for col, tau in enumerate(taus):
            _sampled_panel(axes[row, col], experiment, mean, half, di, col)
            axes[row, col].set_title(f"{name}, τ = {tau:g}", fontsize=9)
        axes[row, 0].set_ylabel("π(y)")
    for ax in axes[-1]:
        ax.set_xlabel("Adam step")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8,
               bbox_to_anchor=(0.5, -0.02 - 0.02 * (2 - len(names))))
    s = experiment.settings
    fig.suptitle(f"Sec. 5.4, Figure {figure}: DPO vs IPO, Adam lr {s['lr']}, batch "
                 f"{s['batch_size']}, {s['seeds']} seeds (mean, 95% t-band); dashed: exact",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return fig


def _sampled_panel(ax, experiment, mean, half, di, ti):
    res = experiment.result
    name, tau = res.coords["dataset"][di], res.coords["tau"][ti]
    for li, loss in enumerate(res.coords["loss"]):
        colours = _LOSS_COLOURS.get(loss, ("k", "0.4", "0.7"))
        exact = experiment.exact[(name, loss, tau)].policy
        for ai, action in enumerate(res.coords["action"]):
            colour = colours[ai % len(colours)]
            m, h = mean[li, di, ti, :, ai], half[li, di, ti, :, ai]
            ax.plot(res.steps, m, color=colour, lw=1.3, label=f"{loss.upper()} π({action})")
            if np.all(np.isfinite(h)):  # one seed: no interval to draw
                ax.fill_between(res.steps, m - h, m + h, color=colour, alpha=0.25, lw=0)
            ax.axhline(exact[ai], color=colour, lw=0.9, ls="--")
    ax.set_ylim(-0.03, 1.03)
    ax.xaxis.set_major_locator(MaxNLocator(3))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:g}k" if x else "0"))
    ax.tick_params(labelsize=7)
