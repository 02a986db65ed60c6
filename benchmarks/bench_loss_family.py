"""LOSS-FAMILY: every convex loss of the family on BT-1000 data against L-BFGS-B.

Data: ``bench_bt.make_data`` (n = 1000 items, N = 10⁵ Bradley–Terry comparisons, a strongly
connected beats-digraph), uniform πref, τ = 1. A second table uses a *ladder* of the same size
(each comparison between items at most 3 apart, rewards 0.02·index, Bradley–Terry outcomes):
the same number of items and comparisons, but a badly conditioned comparison graph.
Ours: ``solve_pairwise_empirical`` (damped or semismooth Newton with the weighted-Laplacian
Hessian; hinge: the HiGHS linear program). Peer:
``scipy.optimize.minimize(method="L-BFGS-B")`` on the same empirical loss and its exact gradient
(``losses.pairwise_empirical``), from θ = 0, stopping at a relative gradient of 1e-10 (the
issue's target residual) or after 20 000 iterations (2 000 for hinge).

Residual, one formula for both: ``max |∂ Σ_i ℓ_i / ∂θ| / max weighted degree`` (for hinge, whose
gradient is not defined at the optimum, the objective gap to the linear program's optimum,
relative to the objective). The table shows the times, the ratio, both residuals and the
largest difference between the two policies.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bt import _timed, make_data  # noqa: E402

from psipo_exact import losses  # noqa: E402
from psipo_exact.closed_form import softmax_policy  # noqa: E402
from psipo_exact.model import Dataset  # noqa: E402
from psipo_exact.solvers import solve_pairwise_empirical  # noqa: E402

#: The convex losses and their parameters (robust: ε small enough to be bounded here).
CONVEX = [("sigmoid", {}), ("cdpo", {"label_smoothing": 0.1}),
          ("robust", {"label_smoothing": 0.01}), ("exponential", {}), ("squared", {}),
          ("ipo", {}), ("truncated_quadratic", {}), ("hinge", {})]
TAU = 1.0


def make_ladder(seed: int = 0):
    """n = 1000 items, N = 10⁵ comparisons of items at most 3 apart, rewards 0.02·index."""
    rng = np.random.default_rng(seed)
    n, size = 1000, 100_000
    rewards = 0.02 * np.arange(n)
    a = rng.integers(0, n - 3, size)
    b = a + rng.integers(1, 4, size)
    a_wins = rng.random(size) < 1.0 / (1.0 + np.exp(rewards[b] - rewards[a]))
    return Dataset(np.where(a_wins, a, b), np.where(a_wins, b, a), n)


def relative_gradient(name, params, logits, data, pi_ref) -> float:
    """max |∂ Σ_i ℓ_i / ∂θ| over the largest weighted degree."""
    _, grad = losses.pairwise_empirical(name, logits, data, pi_ref, TAU,
                                        sample_weights=np.ones(len(data)), return_grad=True,
                                        **params)
    degree = np.bincount(data.winners, minlength=data.n_actions) + np.bincount(
        data.losers, minlength=data.n_actions)
    return float(np.abs(grad).max() / degree.max())


def _lbfgs(name, params, data, pi_ref):
    degree = np.bincount(data.winners, minlength=data.n_actions) + np.bincount(
        data.losers, minlength=data.n_actions)

    def fun(theta):
        value, grad = losses.pairwise_empirical(name, theta, data, pi_ref, TAU,
                                                return_grad=True, **params)
        return float(value), grad

    gtol = 1e-10 * degree.max() / len(data)  # relative gradient 1e-10 of the sum
    maxiter = 2000 if name == "hinge" else 20000  # hinge is not differentiable at its optimum
    return minimize(fun, np.zeros(data.n_actions), jac=True, method="L-BFGS-B",
                    options={"maxiter": maxiter, "gtol": gtol, "ftol": 0.0})


def table(data) -> None:
    pi_ref = np.full(data.n_actions, 1.0 / data.n_actions)
    header = (f"{'loss':<20} {'ours s':>8} {'L-BFGS-B s':>11} {'ratio':>7} {'ours resid':>11} "
              f"{'peer resid':>11} {'peer iters':>10} {'max |dpi|':>10}  status")
    print(header)
    print("-" * len(header))
    for name, params in CONVEX:
        solve_pairwise_empirical(name, data, pi_ref, TAU, **params)  # warm-up
        ours_time, sol = _timed(lambda: solve_pairwise_empirical(name, data, pi_ref, TAU,
                                                                  **params), repeat=3)
        if sol.status == 4:  # unbounded: nothing to compare
            print(f"{name:<20} {ours_time:8.3f} {'-':>11} {'-':>7}  {sol.message[:60]}")
            continue
        peer_time, res = _timed(lambda: _lbfgs(name, params, data, pi_ref))
        peer_policy = softmax_policy(res.x)
        if name == "hinge":
            best = float(losses.pairwise_empirical(name, sol.logits, data, pi_ref, TAU))
            ours_res = sol.residual
            peer_res = (res.fun - best) / abs(best)
        else:
            ours_res = relative_gradient(name, params, sol.logits, data, pi_ref)
            peer_res = relative_gradient(name, params, res.x, data, pi_ref)
        diff = float(np.abs(peer_policy - sol.policy).max())
        print(f"{name:<20} {ours_time:8.3f} {peer_time:11.2f} {peer_time / ours_time:7.0f} "
              f"{ours_res:11.1e} {peer_res:11.1e} {res.nit:10d} {diff:10.1e}  {sol.status}",
              flush=True)


def main() -> None:
    data = make_data()
    print(f"BT-1000: n = {data.n_actions}, N = {len(data)}, tau = {TAU}, uniform pi_ref")
    table(data)
    ladder = make_ladder()
    print(f"\nLADDER-1000: n = {ladder.n_actions}, N = {len(ladder)}, tau = {TAU}, "
          "uniform pi_ref")
    table(ladder)


if __name__ == "__main__":
    main()
