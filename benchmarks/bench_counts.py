"""BT-COUNTS: Bradley–Terry on 10⁶ battles between 100 models, aggregated vs expanded.

Battles between uniformly drawn distinct pairs of 100 models with Bradley–Terry outcomes
(rewards ~ N(0, 1)). The same maximum-likelihood problem solved four ways:
``fit_bradley_terry(Dataset.from_counts(wins))`` (≤ 9900 weighted data, one per ordered pair
with wins), ``fit_bradley_terry`` on the expanded dataset (10⁶ data), and choix's
``ilsr_pairwise_dense`` on the win matrix and ``ilsr_pairwise`` on the 10⁶ pairs (both
``alpha=0``, default tolerance). Building the aggregated dataset is timed with its fit.
"""

from __future__ import annotations

import numpy as np
from bench_bt import _timed

from psipo_exact import Dataset, fit_bradley_terry

N_MODELS, N_BATTLES, SEED = 100, 1_000_000, 0


def make_battles(seed: int = SEED):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=N_MODELS)
    a = rng.integers(0, N_MODELS, N_BATTLES)
    b = (a + rng.integers(1, N_MODELS, N_BATTLES)) % N_MODELS
    a_wins = rng.random(N_BATTLES) < 1.0 / (1.0 + np.exp(rewards[b] - rewards[a]))
    return np.where(a_wins, a, b), np.where(a_wins, b, a)


def main() -> None:
    import choix

    winners, losers = make_battles()
    wins = np.zeros((N_MODELS, N_MODELS))
    np.add.at(wins, (winners, losers), 1.0)
    expanded = Dataset(winners, losers, N_MODELS)
    counts = Dataset.from_counts(wins)
    ours_time, fit = _timed(lambda: fit_bradley_terry(Dataset.from_counts(wins)), repeat=3)
    ours = fit.rewards
    rows = [(f"from_counts ({len(counts)} data) + fit", ours_time, ours)]
    pairs = np.stack([winners, losers], 1)
    for name, run in [
        ("fit_bradley_terry, 10^6 data", lambda: fit_bradley_terry(expanded).rewards),
        ("choix.ilsr_pairwise_dense(wins)", lambda: choix.ilsr_pairwise_dense(wins)),
        ("choix.ilsr_pairwise(10^6 pairs)", lambda: choix.ilsr_pairwise(N_MODELS, pairs)),
    ]:
        seconds, params = _timed(run)
        rows.append((name, seconds, params - params.mean()))
    print(f"BT-COUNTS: {N_MODELS} models, {N_BATTLES} battles, {len(counts)} distinct "
          f"ordered pairs; finite MLE: {fit.exists}")
    print(f"{'method':36} {'time [s]':>9} {'peer/ours':>9} {'max|Δr| vs ours':>16}")
    for name, seconds, rewards in rows:
        print(f"{name:36} {seconds:9.3f} {seconds / ours_time:9.1f} "
              f"{np.abs(rewards - ours).max():16.2e}")


if __name__ == "__main__":
    main()
