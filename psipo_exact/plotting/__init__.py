"""Figures on matplotlib: any simulation's trajectories, policies against τ, comparison graphs,
losses side by side, convergence and fitted rewards, and the paper's Figures 1 and 2.

Every function returns the :class:`matplotlib.figure.Figure` (and takes ``ax=`` to draw into
axes of your own), so a figure can be adjusted, shown or saved as you like. Nothing here
calls ``plt.show()`` or chooses a backend: in a notebook figures display inline, in a script
``plt.show()`` or ``fig.savefig`` work as usual; only the command line, which writes files
headless, selects the non-interactive Agg backend.

The house style (``plotting/_style.py``): one colour-blind-safe hue per action
(Okabe–Ito), one line style per loss, exact answers dotted with a marker at the right edge and
in the legend, text of 9 pt or more, widths that read at one column (3.4 in).

Where things are:

* :mod:`~psipo_exact.plotting.runs` — :func:`plot_runs` (any ``SimulationResult``).
* :mod:`~psipo_exact.plotting.tau` — :func:`plot_policy_against_tau`.
* :mod:`~psipo_exact.plotting.graph` — :func:`plot_comparison_graph` and its layouts.
* :mod:`~psipo_exact.plotting.generic` — :func:`plot_loss_family`,
  :func:`plot_exploitability`, :func:`plot_rewards` (plain arrays and mappings).
* :mod:`~psipo_exact.plotting.paper` — :func:`plot_closed_form_sweep`,
  :func:`plot_sampled_figure`, :func:`plot_sampled_against_tau`.
"""

from __future__ import annotations

from ._style import COLUMN_WIDTH, OKABE_ITO, PAGE_WIDTH, action_colours, save_figure, write_png
from .generic import plot_exploitability, plot_loss_family, plot_rewards
from .graph import circle_layout, plot_comparison_graph, spring_layout
from .paper import plot_closed_form_sweep, plot_sampled_against_tau, plot_sampled_figure
from .runs import plot_runs
from .tau import plot_policy_against_tau

__all__ = [
    "COLUMN_WIDTH",
    "OKABE_ITO",
    "PAGE_WIDTH",
    "action_colours",
    "circle_layout",
    "plot_closed_form_sweep",
    "plot_comparison_graph",
    "plot_exploitability",
    "plot_loss_family",
    "plot_policy_against_tau",
    "plot_rewards",
    "plot_runs",
    "plot_sampled_against_tau",
    "plot_sampled_figure",
    "save_figure",
    "spring_layout",
    "write_png",
]
