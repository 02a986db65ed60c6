"""PL-RANKINGS: Plackett–Luce maximum likelihood against ``choix.ilsr_rankings``.

n = 200 items, 20 000 rankings of 5 items drawn from a Plackett–Luce model with rewards
~ N(0, 1). ``fit_plackett_luce`` (damped Newton on the stage Laplacians) against choix's
iterative Luce spectral ranking (``ilsr_rankings``, ``alpha=0``, its default ``tol=1e-8`` and
a tight ``tol=1e-12``). (``choix.opt_rankings``, scipy Newton-CG, took 411 s here for a
gradient of 3e-6 and is left out.)
Answers are compared at mean zero; each answer's relative gradient of the negative
log-likelihood (max|∇| / max number of stages an item is chosen in) is computed by one
formula (``stages`` and ``evaluate`` of :mod:`psipo_exact.solvers._plackett_luce_mle`).
"""

from __future__ import annotations

import numpy as np
from bench_bt import _timed

from psipo_exact import Rankings, fit_plackett_luce
from psipo_exact.solvers._plackett_luce_mle import evaluate, stages

N_ITEMS, N_RANKINGS, LENGTH, SEED = 200, 20_000, 5, 0


def make_rankings(seed: int = SEED) -> np.ndarray:
    """Rankings from Plackett–Luce by the Gumbel trick: sort reward + Gumbel noise."""
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=N_ITEMS)
    subsets = np.argsort(rng.random((N_RANKINGS, N_ITEMS)), axis=1)[:, :LENGTH]
    noisy = rewards[subsets] + rng.gumbel(size=subsets.shape)
    return np.take_along_axis(subsets, np.argsort(-noisy, axis=1), axis=1)


def relative_gradient(rewards, data: Rankings) -> float:
    stage, member, chosen, w = stages(data.items, data.offsets, data.ranking_weights)
    _, grad, _ = evaluate(rewards, stage, member, chosen, w, data.n_actions)
    return float(np.abs(grad).max() / np.bincount(chosen, w).max())


def main() -> None:
    import choix

    rankings = make_rankings()
    data = Rankings(rankings.ravel(), np.arange(0, rankings.size + 1, LENGTH), N_ITEMS)
    as_tuples = [tuple(r) for r in rankings.tolist()]
    fit_plackett_luce(data)  # warm-up
    ours_time, fit = _timed(lambda: fit_plackett_luce(data), repeat=3)
    ours = fit.rewards
    rows = [("psipo_exact.fit_plackett_luce", ours_time, ours)]
    peers = [
        ("choix.ilsr_rankings(tol=1e-8)", lambda: choix.ilsr_rankings(N_ITEMS, as_tuples)),
        ("choix.ilsr_rankings(tol=1e-12)",
         lambda: choix.ilsr_rankings(N_ITEMS, as_tuples, tol=1e-12, max_iter=1000)),
    ]
    for name, run in peers:
        seconds, params = _timed(run)
        rows.append((name, seconds, params - params.mean()))
    print(f"PL-RANKINGS: n = {N_ITEMS}, {N_RANKINGS} rankings of {LENGTH}, "
          f"finite MLE: {fit.exists}")
    print(f"{'method':34} {'time [s]':>9} {'peer/ours':>9} {'max|Δr| vs ours':>16} "
          f"{'rel. gradient':>14}")
    for name, seconds, rewards in rows:
        print(f"{name:34} {seconds:9.3f} {seconds / ours_time:9.1f} "
              f"{np.abs(rewards - ours).max():16.2e} {relative_gradient(rewards, data):14.2e}")


if __name__ == "__main__":
    main()
