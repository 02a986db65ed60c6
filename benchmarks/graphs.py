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
