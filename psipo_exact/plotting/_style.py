"""The house style of every figure, and the few helpers all figures share.

* Colours: one hue per action from Okabe & Ito's colour-blind-safe palette (eight hues;
  beyond eight actions, evenly spaced samples of the perceptually uniform ``cividis`` map).
* Losses: one line style per loss, by its position in the figure's list of losses. The first
  is a wide translucent solid line and the second a thin dashed line drawn over it, so the
  two stay visible where they coincide (DPO and IPO at small τ).
* Exact answers: thin dotted lines with a marker (its shape is the loss's) just outside the
  right edge of the panel, so that an exact value of 0 or 1 does not merge into the frame;
  the y-range of a probability panel is padded beyond [0, 1] and has no top or right spine.
* Text: 9 pt or more everywhere; widths in inches of one column (3.4) or a full page (7).

Figures are created with :mod:`matplotlib.pyplot` (so they display inline and with
``plt.show()`` as usual) and returned; nothing here shows a figure or selects a backend.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from .._io import atomic_path

#: Width in inches of one column of a two-column paper, and of a full page.
COLUMN_WIDTH, PAGE_WIDTH = 3.4, 7.0
#: The smallest font size of any text in a figure (points).
FONT_SIZE = 9
#: Okabe & Ito's palette (Color Universal Design), most distinct hues first.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
             "#F0E442")
#: Line styles of the losses, by position: (linestyle, linewidth, alpha, exact marker).
LOSS_STYLES = (
    dict(linestyle="-", linewidth=2.6, alpha=0.5, marker="D"),
    dict(linestyle="--", linewidth=1.3, alpha=1.0, marker="o"),
    dict(linestyle=":", linewidth=1.7, alpha=1.0, marker="s"),
    dict(linestyle="-.", linewidth=1.3, alpha=1.0, marker="^"),
    dict(linestyle=(0, (5, 1, 1, 1, 1, 1)), linewidth=1.3, alpha=1.0, marker="v"),
)
#: Exact answers: thin dotted lines (their marker carries the loss).
EXACT_LINE = dict(linestyle=(0, (1, 1.5)), linewidth=1.1)
#: y-range of a probability panel: [0, 1] padded so that lines at 0 and 1 are not the frame.
PROBABILITY_LIMITS = (-0.06, 1.06)
#: Neutral colour of legend entries that stand for a loss or for "exact", not an action.
NEUTRAL = "0.2"

def action_colours(n: int) -> list:
    """``n`` distinct colours, one per action: Okabe–Ito up to 8, ``cividis`` beyond.

    Parameters
    ----------
    n : int
        Number of actions (>= 1).

    Returns
    -------
    list
        Matplotlib colours.

    Examples
    --------
    >>> action_colours(3)
    ['#0072B2', '#D55E00', '#009E73']

    References
    ----------
    Okabe & Ito (2008), "Color Universal Design": the colour-blind-safe palette.
    """
    if n <= len(OKABE_ITO):
        return list(OKABE_ITO[:n])
    return [tuple(c) for c in plt.get_cmap("cividis")(np.linspace(0.0, 0.95, n))]


def loss_style(position: int) -> dict:
    """Line style of the loss at ``position`` in a figure's list of losses (cycling)."""
    return dict(LOSS_STYLES[position % len(LOSS_STYLES)])


def line_kwargs(position: int) -> dict:
    """:func:`loss_style` without the exact marker: keyword arguments of ``Axes.plot``."""
    style = loss_style(position)
    style.pop("marker")
    return style


def new_figure(width: float, height: float) -> plt.Figure:
    """An empty figure in the house style, with constrained layout."""
    # No plt.rc_context here: leaving one resets pyplot's backend state, and figures made
    # afterwards no longer display inline in Jupyter. Sizes are set on the artists instead.
    return plt.figure(figsize=(width, height), layout="constrained")


def panels(parent, n_panels: int, ncols: int, *, sharex=True, sharey=True) -> list[Axes]:
    """``n_panels`` axes on ``parent`` (a figure or subfigure) in rows of ``ncols``."""
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    axes = parent.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=False).ravel()
    for extra in axes[n_panels:]:
        extra.remove()
    return list(axes[:n_panels])


def grid(n_panels: int, ncols: int, *, width: float = COLUMN_WIDTH, panel_height: float = 1.45,
         sharex=True, sharey=True) -> tuple[plt.Figure, list[Axes]]:
    """A new figure with ``n_panels`` axes in rows of ``ncols``, in reading order."""
    nrows = math.ceil(n_panels / max(1, min(ncols, n_panels)))
    fig = new_figure(width, panel_height * nrows + 0.6)
    return fig, panels(fig, n_panels, ncols, sharex=sharex, sharey=sharey)


def styled(ax: Axes) -> Axes:
    """Apply the house style to an axes made elsewhere (fonts ≥ 9 pt, no top/right spine)."""
    ax.tick_params(labelsize=FONT_SIZE)
    ax.spines[["top", "right"]].set_visible(False)
    ax.title.set_fontsize(FONT_SIZE)
    for label in (ax.xaxis.label, ax.yaxis.label):
        label.set_fontsize(max(label.get_fontsize(), FONT_SIZE))
    return ax


def axes_list(ax, count: int, what: str) -> list[Axes]:
    """``ax`` (one Axes or a sequence/array of them) as a list of ``count`` axes.

    Raises
    ------
    ValueError
        If the number of axes given is not ``count``.
    """
    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != count or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(f"ax has {len(axes)} axes, but {what} needs {count}: pass one "
                         "matplotlib Axes per panel, or ax=None for a new figure")
    return axes


def exact_level(ax: Axes, value: float, colour, marker: str, gid: str) -> None:
    """An exact value: a thin dotted line across ``ax`` and a marker outside its right edge."""
    ax.axhline(value, color=colour, gid=gid, **EXACT_LINE)
    ax.plot([1.0], [value], transform=ax.get_yaxis_transform(), marker=marker, ms=4.5,
            color=colour, markerfacecolor="white", markeredgewidth=1.2, clip_on=False,
            linestyle="none", gid=f"{gid}:marker")


def legend_handles(actions: Sequence[str], colours: Sequence, losses: Sequence[str], *,
                   exact: bool = True) -> list[list[Line2D]]:
    """Proxy legend entries in columns: the actions (hues), the losses (line styles) and,
    with ``exact``, the exact answer of each loss (dotted, the loss's marker)."""
    columns = [[Line2D([], [], color=c, linewidth=2.2, label=f"π({a})")
                for a, c in zip(actions, colours)]]
    columns.append([Line2D([], [], color=NEUTRAL, label=loss.upper(), **line_kwargs(k))
                    for k, loss in enumerate(losses)])
    if exact:
        columns.append([Line2D([], [], color=NEUTRAL, marker=loss_style(k)["marker"],
                               markerfacecolor="white", label=f"{loss.upper()} exact",
                               **EXACT_LINE) for k, loss in enumerate(losses)])
    return columns


def figure_legend(fig: plt.Figure, columns: list[list[Line2D]], title: str | None = None):
    """The legend of a multi-panel figure below its panels, one column per list of entries."""
    rows = max(len(column) for column in columns)
    blank = Line2D([], [], linestyle="none", label=" ")
    handles = [h for column in columns for h in column + [blank] * (rows - len(column))]
    return fig.legend(handles=handles, loc="outside lower center", ncols=len(columns),
                      fontsize=FONT_SIZE, title=title, title_fontsize=FONT_SIZE,
                      handlelength=2.4, columnspacing=1.2)


def axes_legend(ax: Axes, columns: list[list[Line2D]], title: str | None = None):
    """The same entries as :func:`figure_legend`, on one axes (its best corner)."""
    return ax.legend(handles=[h for column in columns for h in column], fontsize=FONT_SIZE,
                     title=title, title_fontsize=FONT_SIZE)


def probability_axis(ax: Axes, label: str | None = "probability") -> None:
    """The padded [0, 1] y-range of a probability panel."""
    ax.set_ylim(*PROBABILITY_LIMITS)
    ax.set_yticks([0.0, 0.5, 1.0])
    if label:
        ax.set_ylabel(label)


def write_png(fig, path: str | os.PathLike) -> None:
    """Render ``fig`` as PNG to ``path`` (not atomically) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like

    References
    ----------
    The figures of Azar et al., arXiv:2310.12036, Sec. 5.4 (Figures 1 and 2).

    Examples
    --------
    >>> import os, tempfile
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_png(fig, os.path.join(tmp, "f.png"))
    ...     print(open(os.path.join(tmp, "f.png"), "rb").read(4))
    b'\x89PNG'
    """
    try:
        fig.savefig(path, format="png", dpi=150)
    finally:
        plt.close(fig)


def save_figure(fig, path: str | os.PathLike) -> None:
    """Save ``fig`` as PNG atomically (the file appears complete or not at all) and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like
        Its folder is created if missing.

    References
    ----------
    The figures of Azar et al., arXiv:2310.12036, Sec. 5.4 (Figures 1 and 2).

    Examples
    --------
    >>> import os, tempfile
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_figure(fig, os.path.join(tmp, "f.png"))
    ...     sorted(os.listdir(tmp))
    ['f.png']
    """
    with atomic_path(path) as tmp:
        write_png(fig, tmp)


def exact_policy(exact, dataset, loss, tau):
    """``exact[(dataset, loss, tau)]`` as an array (a Solution's ``policy``), or None.

    τ matches within relative 1e-9, so keys built from the same τ grid typed differently
    (``0.1`` and ``np.float64(0.1)``) are found.
    """
    if exact is None:
        return None
    if not isinstance(exact, Mapping):
        raise TypeError(f"exact must be a mapping (dataset, loss, tau) -> Solution or policy, "
                        f"got {type(exact).__name__}")
    for (d, lo, t), value in exact.items():
        if d == dataset and lo == loss and np.isclose(float(t), float(tau), rtol=1e-9, atol=0):
            return np.asarray(getattr(value, "policy", value), dtype=float)
    return None


def runs_legend_title(level: float, exact: bool) -> str:
    """What the lines of :func:`plot_runs` are."""
    return f"mean over seeds ± {level:.0%} CI" + ("; exact optimum or limit" if exact else "")


def run_handles(losses) -> list[Line2D]:
    """Legend entries of the runs of each loss (its marker with an interval)."""
    return [Line2D([], [], color=NEUTRAL, marker=loss_style(k)["marker"],
                   markerfacecolor="white", linestyle="none", label=f"{loss.upper()} runs")
            for k, loss in enumerate(losses)]


def tau_legend_title(level: float | None) -> str:
    """What the curves and points of :func:`plot_policy_against_tau` are."""
    title = "lines: exact"
    return title if level is None else title + f"; points: final mean ± {level:.0%} CI"
