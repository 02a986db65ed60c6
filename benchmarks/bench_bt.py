"""BT-1000: Bradley–Terry maximum likelihood (Eq. 2) on n = 1000 items, N = 10⁵ comparisons.

``fit_bradley_terry`` (damped Newton, sparse Laplacian Hessian) against ``choix``'s
``ilsr_pairwise`` (iterative Luce spectral ranking) and ``opt_pairwise`` (scipy Newton-CG),
both unregularised (``alpha=0``) with their default tolerances. Answers are compared after
normalising every estimate to mean zero; the table also shows each answer's relative
gradient of the likelihood, max|∇| / max weighted degree, computed by one shared formula.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from psipo_exact import losses
from psipo_exact.model import Dataset
from psipo_exact.solvers import fit_bradley_terry

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graphs import bradley_terry_graph  # noqa: E402

N_ITEMS, N_DATA, SEED = 1000, 100_000, 0


def make_data(seed: int = SEED) -> Dataset:
    """Random pairs with Bradley–Terry outcomes, rewards ~ N(0, 1). With ~200 comparisons per
    item the beats-digraph is strongly connected (checked: ``fit.exists``)."""
    return bradley_terry_graph(N_ITEMS, N_DATA, seed)


def relative_gradient(rewards: np.ndarray, data: Dataset) -> float:
    """max|∂ Eq.2 / ∂r| / max weighted degree, via the package's DPO loss at τ = 1."""
    uniform = np.full(data.n_actions, 1.0 / data.n_actions)
    _, grad = losses.dpo_empirical(rewards, data, uniform, 1.0,
                                   sample_weights=np.ones(len(data)), return_grad=True)
    degree = np.bincount(data.winners, minlength=data.n_actions) + np.bincount(
        data.losers, minlength=data.n_actions)
    return float(np.abs(grad).max() / degree.max())


def _timed(fn, repeat: int = 1):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    import choix

    data = make_data()
    pairs = np.stack([data.winners, data.losers], axis=1)
    fit_bradley_terry(data)  # warm-up (imports, caches)
    ours_time, fit = _timed(lambda: fit_bradley_terry(data), repeat=3)
    assert fit.exists, "the benchmark data must give a strongly connected beats-digraph"
    ours = fit.rewards
    rows = [("psipo_exact.fit_bradley_terry", ours_time, ours)]
    peers = [
        ("choix.ilsr_pairwise(alpha=0)", lambda: choix.ilsr_pairwise(N_ITEMS, pairs, alpha=0.0)),
        ("choix.opt_pairwise(alpha=0)", lambda: choix.opt_pairwise(N_ITEMS, pairs, alpha=0.0)),
    ]
    for name, run in peers:
        seconds, params = _timed(run)
        rows.append((name, seconds, params - params.mean()))
    print(f"BT-1000: n = {N_ITEMS}, N = {N_DATA} comparisons, strongly connected: {fit.exists}")
    print(f"{'method':34} {'time [s]':>9} {'peer/ours':>9} {'max|Δr| vs ours':>16} "
          f"{'rel. gradient':>14}")
    for name, seconds, rewards in rows:
        diff = np.abs(rewards - ours).max()
        print(f"{name:34} {seconds:9.3f} {seconds / ours_time:9.1f} {diff:16.2e} "
              f"{relative_gradient(rewards, data):14.2e}")


if __name__ == "__main__":
    main()
