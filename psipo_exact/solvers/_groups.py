"""Bookkeeping of free groups and of the words that describe them, for every solver.

A solver works on global nodes (node ``k · n + y`` is action ``y`` of problem ``k``); these
helpers turn labels of nodes into the ``Solution.free`` groups (format in
:mod:`psipo_exact.solvers.result`) and name actions and problems in messages.
"""

from __future__ import annotations

import numpy as np

from ..model import Dataset

#: How many contexts / problems a message names before summarising the rest.
MESSAGE_PROBLEMS = 5


def free_groups(groups: np.ndarray, live: np.ndarray, n: int, single: bool) -> tuple:
    """Partition of the live nodes of every non-unique problem into ``groups``.

    ``groups`` labels every node with a global group id (``-1`` for nodes in no group, e.g.
    actions that get probability 0; a group never spans two problems); ``live`` marks the
    nodes that can carry mass. Problem ``k`` holds nodes ``k·n .. k·n + n − 1``.
    """
    node = np.flatnonzero(live & (groups >= 0))
    _, first, label = np.unique(groups[node], return_index=True, return_inverse=True)
    per_problem = np.bincount(node[first] // n, minlength=live.size // n)
    node, label = node[per_problem[node // n] > 1], label[per_problem[node // n] > 1]
    if node.size == 0:
        return ()
    order = np.argsort(label, kind="stable")
    node, label = node[order], label[order]
    chunks = np.split(node, np.flatnonzero(np.diff(label)) + 1)
    out = []
    for chunk in sorted(chunks, key=lambda c: int(c[0])):
        if single:
            out.append(tuple(int(y) for y in chunk % n))
        else:
            out.append(tuple((int(k), int(y)) for k, y in zip(chunk // n, chunk % n)))
    return tuple(out)


def unflatten_free(free: tuple, lead: tuple[int, ...]) -> tuple:
    """Turn ``(problem, y)`` entries into ``(*lead_index, y)`` for multi-axis leads."""
    if len(lead) <= 1:
        return free
    return tuple(
        tuple(tuple(int(i) for i in np.unravel_index(k, lead)) + (y,) for k, y in group)
        for group in free
    )


def action_labels(data: Dataset | None, actions) -> str:
    label = (lambda y: data.action_names[y]) if data is not None and data.action_names else str
    return ", ".join(label(int(y)) for y in actions)


def lead_description(lead: tuple[int, ...], label: str, names=None):
    """Words for problem ``k``: ``"context 'q1'"`` with names, else ``"context (k,)"``."""
    if not lead:
        return lambda k: ""
    if names:
        return lambda k: f"{label} {names[k]!r}"
    return lambda k: f"{label} {tuple(int(i) for i in np.unravel_index(k, lead))}"
