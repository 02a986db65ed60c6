"""Comparison graphs of the benchmark protocols.

* *Bradley–Terry*: random pairs, rewards ~ N(0, 1), outcomes drawn from σ(r_w − r_l)
  (BT-1000, SIM-SCALE);
* *random*: both ends uniform and distinct (an expander, well conditioned);
* *ladder*: a uniform on [0, n − 3), b = a + 1, 2 or 3, 30% of pairs flipped (a long path of
  small blocks, condition number ~ n²);
* *adversarial*: a hub joined to a third of the actions as leaves, a long path through the
  next third (joined to the hub at one end and to the block at the other), and a random
  block on the last third carrying the remaining comparisons (N ≈ 6.6 n in all), 30% of
  pairs flipped: a vertex of huge degree (no banded ordering), a chain of ~n/3 (CG stalls)
  and an expander (fill-in explodes in sparse LU).
"""

from __future__ import annotations

import numpy as np

from psipo_exact.model import Dataset


def bradley_terry_graph(n: int, size: int, seed: int = 0) -> Dataset:
    """Random pairs with Bradley–Terry outcomes under rewards r ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=n)
    a = rng.integers(0, n, size)
    b = (a + rng.integers(1, n, size)) % n
    a_wins = rng.random(size) < 1.0 / (1.0 + np.exp(rewards[b] - rewards[a]))
    return Dataset(np.where(a_wins, a, b), np.where(a_wins, b, a), n)


def random_graph(n: int, size: int, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, size)
    b = (a + rng.integers(1, n, size)) % n
    return Dataset(a, b, n)


def _flipped(a, b, n, rng, share=0.3) -> Dataset:
    flip = rng.random(a.size) < share
    return Dataset(np.where(flip, b, a), np.where(flip, a, b), n)


def ladder_graph(n: int, size: int, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n - 3, size)
    return _flipped(a, a + rng.integers(1, 4, size), n, rng)


def adversarial_graph(n: int, seed: int = 0, per_action: float = 6.6) -> Dataset:
    rng = np.random.default_rng(seed)
    third = n // 3
    leaves = np.arange(1, third)
    path = np.arange(third, 2 * third)
    block = np.arange(2 * third, n)
    n_block = int(per_action * n) - (leaves.size + path.size + 1)
    ba = rng.integers(0, block.size, n_block)
    bb = (ba + rng.integers(1, block.size, n_block)) % block.size
    a = np.concatenate([np.zeros(leaves.size, int), [0], path[:-1], [path[-1]], block[ba]])
    b = np.concatenate([leaves, [path[0]], path[1:], [block[0]], block[bb]])
    return _flipped(a, b, n, rng)


# ------------------------------------------------------------------ adversarial Laplacian cores
# Edge lists (heads, tails, weights, n) of weighted graphs whose every vertex has degree ≥ 3,
# so the low-degree elimination leaves them whole, and that defeat each earlier core solver:
# a hub forbids any banded ordering (bandwidth ≥ degree/2), the ladder and the grid make
# Jacobi-preconditioned CG crawl (condition numbers ~ n² and ~ n), the grid and the
# expanders make sparse LU fill in, and weights over twelve decades ruin the conditioning.


def _hub_edges(hub: int, members: np.ndarray, weight: float):
    return np.full(members.size, hub), members, np.full(members.size, weight)


def hub_ladder_core(n: int, every: int = 100):
    """Vertex 0 a hub joined to every ``every``-th vertex of a ladder (i ~ i+1, i ~ i+2) on
    the other n − 1, unit weights."""
    ladder = np.arange(1, n)
    heads = np.concatenate([ladder[:-1], ladder[:-2]])
    tails = np.concatenate([ladder[1:], ladder[2:]])
    hub = _hub_edges(0, ladder[::every], 1.0)
    return (np.concatenate([heads, hub[0]]), np.concatenate([tails, hub[1]]),
            np.concatenate([np.ones(heads.size), hub[2]]), n)


def hub_grid_core(n: int, every: int = 100):
    """Vertex 0 a hub joined to every ``every``-th vertex of a square 2-D grid on the rest
    (side ⌊√(n − 1)⌋; leftover vertices join the grid's first row), unit weights."""
    side = int(np.sqrt(n - 1))
    cell = np.arange(side * side).reshape(side, side) + 1
    heads = np.concatenate([cell[:, :-1].ravel(), cell[:-1, :].ravel()])
    tails = np.concatenate([cell[:, 1:].ravel(), cell[1:, :].ravel()])
    rest = np.arange(side * side + 1, n)
    heads = np.concatenate([heads, rest, rest, rest])
    tails = np.concatenate([tails, cell[0, rest % side], cell[1, rest % side],
                            cell[0, (rest + 1) % side]])
    hub = _hub_edges(0, np.arange(1, n, every), 1.0)
    return (np.concatenate([heads, hub[0]]), np.concatenate([tails, hub[1]]),
            np.concatenate([np.ones(heads.size), hub[2]]), n)


def expander_hubs_core(n: int, n_hubs: int = 10, share: float = 0.1, heavy: float = 1e3,
                       seed: int = 0):
    """A random graph of 4n unit edges (an expander) and ``n_hubs`` hubs, each joined with
    weight ``heavy`` to a random ``share`` of the vertices."""
    rng = np.random.default_rng(seed)
    a = rng.integers(n_hubs, n, 4 * n)
    b = n_hubs + (a - n_hubs + rng.integers(1, n - n_hubs, a.size)) % (n - n_hubs)
    parts = [(a, b, np.ones(a.size))]
    for hub in range(n_hubs):
        members = rng.choice(np.arange(n_hubs, n), int(share * n), replace=False)
        parts.append(_hub_edges(hub, members, heavy))
    return tuple(np.concatenate(p) for p in zip(*parts)) + (n,)


def spread_weights_core(n: int, low: float = 1e-6, high: float = 1e6, seed: int = 0):
    """A random graph of 4n edges whose weights are log-uniform on [low, high]."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, 4 * n)
    b = (a + rng.integers(1, n, a.size)) % n
    return a, b, np.exp(rng.uniform(np.log(low), np.log(high), a.size)), n
