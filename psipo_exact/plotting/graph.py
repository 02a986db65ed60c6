"""The comparison graph of a :class:`~psipo_exact.Dataset`, drawn with matplotlib alone.

Nodes are actions; an arrow ``w → l`` says ``w`` beat ``l`` in some datum, with a width
proportional to the total weight of those data. Whether a finite DPO/Bradley–Terry optimum
exists, and which actions the IPO solution leaves free, are read off this graph (Sec. 4.2,
5.4; Zermelo, Ford 1957).
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import FancyArrowPatch

from . import _style as base

#: Line width (points) of the heaviest edge.
MAX_EDGE_WIDTH = 4.0


def circle_layout(n: int) -> np.ndarray:
    """``n`` points on the unit circle, the first at the top, then clockwise.

    Parameters
    ----------
    n : int

    Returns
    -------
    ndarray, shape (n, 2)

    Examples
    --------
    >>> circle_layout(4).round(12) + 0.0
    array([[ 0.,  1.],
           [ 1.,  0.],
           [ 0., -1.],
           [-1.,  0.]])

    References
    ----------
    The comparison graph of a dataset D (Azar et al., arXiv:2310.12036, Sec. 2; Eq. 17).
    """
    angle = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    return np.column_stack([np.cos(angle), np.sin(angle)])


def spring_layout(adjacency, *, iterations: int = 200, seed: int = 0) -> np.ndarray:
    """Force-directed positions (Fruchterman & Reingold, 1991), vectorised over node pairs.

    Every pair of nodes repels with force ``k²/d`` and every edge attracts with ``w·d²/k``
    (``k = 1/√n``, weights ``w`` scaled to at most 1); each step moves a node at most a
    temperature that cools linearly. Starts from :func:`circle_layout` with a small
    deterministic jitter, so the result depends only on ``seed``.

    Parameters
    ----------
    adjacency : array_like, shape (n, n)
        Symmetric non-negative edge weights.
    iterations : int, default 200
    seed : int, default 0

    Returns
    -------
    ndarray, shape (n, 2)
        Positions scaled into [-1, 1]².

    Examples
    --------
    >>> pos = spring_layout([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> bool(np.linalg.norm(pos[0] - pos[2]) > np.linalg.norm(pos[0] - pos[1]))
    True

    References
    ----------
    Fruchterman & Reingold (1991), "Graph drawing by force-directed placement".
    """
    w = np.asarray(adjacency, dtype=float)
    n = w.shape[0]
    if n < 2:
        return np.zeros((n, 2))
    w = w / w.max() if w.max() > 0 else w
    k = 1.0 / np.sqrt(n)
    pos = circle_layout(n) + np.random.default_rng(seed).normal(scale=1e-3, size=(n, 2))
    for temperature in np.linspace(0.1, 1e-3, iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist = np.maximum(np.linalg.norm(delta, axis=-1), 1e-9)
        force = k * k / dist - w * dist * dist / k                  # along delta / dist
        np.fill_diagonal(force, 0.0)
        move = (delta / dist[..., None] * force[..., None]).sum(axis=1)
        length = np.maximum(np.linalg.norm(move, axis=1, keepdims=True), 1e-12)
        pos = pos + move / length * np.minimum(length, temperature)
    pos = pos - pos.mean(axis=0)
    return pos / max(np.abs(pos).max(), 1e-12)


def plot_comparison_graph(data, ax=None, *, layout="circle", context=None, seed=0,
                          node_size=0.13):
    """Draw the comparison graph of ``data``: actions as nodes, "beats" edges as arrows.

    An arrow ``w → l`` has width proportional to the total weight of the data ``w ≻ l``
    (the heaviest :data:`MAX_EDGE_WIDTH` points); opposite arrows between one pair curve
    apart. Actions never compared are isolated nodes.

    Parameters
    ----------
    data : Dataset
    ax : matplotlib Axes, optional
        Default a new square figure of one column width.
    layout : {"circle", "spring"} or array_like of shape (n, 2)
        Node positions: on a circle, force-directed (:func:`spring_layout`), or given.
    context : int, optional
        For contextual data, draw only that context (default: all contexts together).
    seed : int, default 0
        Seed of the spring layout's jitter.
    node_size : float, default 0.13
        Node radius in data units (positions lie in [-1, 1]²).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        On an unknown layout or positions of the wrong shape.

    Examples
    --------
    >>> import psipo_exact as px
    >>> from psipo_exact import plotting
    >>> fig = plotting.plot_comparison_graph(px.paper_dataset("D1"))
    >>> sorted(p.get_gid() for p in fig.axes[0].patches if p.get_gid().startswith("edge"))
    ['edge:a->b', 'edge:a->c', 'edge:b->c']

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (the dataset D) and Sec. 5.4 (D1, D2, D3).
    """
    counts = data.win_counts()
    if counts.ndim == 3:
        counts = counts.sum(axis=0) if context is None else counts[context]
    n = data.n_actions
    names = data.action_names or tuple(str(i) for i in range(n))
    pos = _positions(layout, counts + counts.T, n, seed)
    if ax is None:
        fig = base.new_figure(base.COLUMN_WIDTH, base.COLUMN_WIDTH)
        ax = fig.add_subplot()
    fig = ax.figure
    heaviest = counts.max()
    for w, lo in zip(*np.nonzero(counts)):
        bend = 0.18 if counts[lo, w] > 0 else 0.0
        start, end = _trimmed(pos[w], pos[lo], node_size)
        arrow = FancyArrowPatch(
            start, end, arrowstyle="-|>", mutation_scale=9 + 3 * counts[w, lo] / heaviest,
            connectionstyle=f"arc3,rad={bend}", color=base.NEUTRAL, shrinkA=0, shrinkB=0,
            linewidth=MAX_EDGE_WIDTH * counts[w, lo] / heaviest,
            gid=f"edge:{names[w]}->{names[lo]}")
        ax.add_patch(arrow)
    colours = base.action_colours(n)
    for i, (xy, name) in enumerate(zip(pos, names)):
        ax.add_patch(_node(xy, node_size, colours[i], f"node:{name}"))
        ax.text(*xy, name, ha="center", va="center", fontsize=base.FONT_SIZE, zorder=4)
    ax.set_aspect("equal")
    pad = 1.0 + 2 * node_size
    ax.set_xlim(-pad, pad)
    ax.set_ylim(-pad, pad)
    ax.set_axis_off()
    return fig


def _positions(layout, adjacency, n, seed) -> np.ndarray:
    if isinstance(layout, str):
        if layout == "circle":
            return circle_layout(n)
        if layout == "spring":
            return spring_layout(adjacency, seed=seed)
        raise ValueError(f"layout = {layout!r}, must be 'circle', 'spring' or positions of "
                         f"shape ({n}, 2)")
    pos = np.asarray(layout, dtype=float)
    if pos.shape != (n, 2) or not np.all(np.isfinite(pos)):
        raise ValueError(f"layout has shape {pos.shape}, must be finite positions of shape "
                         f"({n}, 2)")
    return pos


def _node(xy, radius, colour, gid):
    from matplotlib.patches import Circle

    return Circle(xy, radius, facecolor="white", edgecolor=colour, linewidth=2.0, zorder=3,
                  gid=gid)


def _trimmed(a, b, radius):
    """The segment from ``a`` to ``b`` less ``radius`` at both ends (node boundaries)."""
    unit = (b - a) / max(np.linalg.norm(b - a), 1e-12)
    return a + radius * unit, b - radius * unit
