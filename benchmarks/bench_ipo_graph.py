"""IPO-GRAPH: the empirical IPO optimum (Eq. 17) on n = 10⁵ actions, N = 10⁶ comparisons.

τ = 0.5, uniform πref, graphs from ``graphs.py``: *random* (both ends uniform and distinct;
an expander, well conditioned) and *ladder* (a uniform on [0, n − 3), b = a + 1, 2 or 3,
30% of pairs flipped; a long path of small blocks, condition number ~ n²); IPO-GRAPH
*adversarial* (a hub with n/3 leaves, a path of n/3, a random block, N ≈ 6.6·10⁵, 30%
flipped), with the peak traced memory of our solve and, as a peer, our solver with the
low-degree elimination switched off (the solver before it); and *random-large* (n = 10⁶,
N = 10⁷, against lsqr only). ``solve_ipo_empirical``
against ``scipy.sparse.linalg.lsqr`` on the least-squares system ``B θ = 1/(2τ)`` and
``scipy.optimize`` L-BFGS on the loss itself (``ipo_empirical`` with its exact gradient),
both capped (iterations below). Every answer's normal-equation residual ``max|Lθ − b|`` is
computed by one shared formula (half the gradient of the summed loss); answers are compared
after centring (the graphs are connected, so the optimum is unique up to a constant).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.sparse.linalg import lsqr

from psipo_exact import losses
from psipo_exact.model import Dataset
from psipo_exact.solvers import _laplacian as graph_linalg
from psipo_exact.solvers import solve_ipo_empirical

sys.path.insert(0, str(Path(__file__).resolve().parent))
from graphs import adversarial_graph, ladder_graph, random_graph  # noqa: E402

N_ACTIONS, N_DATA, TAU, SEED = 100_000, 1_000_000, 0.5, 0
LSQR_ITERATIONS, LBFGS_ITERATIONS = 2000, 300


def make_graph(kind: str, seed: int = SEED) -> Dataset:
    """The comparison graph of a protocol."""
    if kind == "random":
        return random_graph(N_ACTIONS, N_DATA, seed)
    if kind == "ladder":
        return ladder_graph(N_ACTIONS, N_DATA, seed)
    if kind == "adversarial":
        return adversarial_graph(N_ACTIONS, seed)
    return random_graph(10 * N_ACTIONS, 10 * N_DATA, seed)


def normal_residual(theta: np.ndarray, data: Dataset, pi_ref: np.ndarray) -> float:
    """``max|Lθ − b|``: half the gradient of ``Σ_i (h_i − 1/(2τ))²`` (package formula)."""
    _, grad = losses.ipo_empirical(theta, data, pi_ref, TAU, sample_weights=np.ones(len(data)),
                                   return_grad=True)
    return float(np.abs(grad).max() / 2)


def _ours(data, pi_ref, repeats=3):
    solve_ipo_empirical(data, pi_ref, TAU)  # warm-up
    best, sol = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        sol = solve_ipo_empirical(data, pi_ref, TAU)
        best = min(best, time.perf_counter() - start)
    return best, sol.logits, sol.residual


def _lsqr(data, pi_ref):
    target = np.full(len(data), 0.5 / TAU) + losses.reference_gap(data, pi_ref)
    start = time.perf_counter()
    out = lsqr(data.incidence, target, atol=1e-16, btol=1e-16, iter_lim=LSQR_ITERATIONS)
    return time.perf_counter() - start, out[0], f"{out[2]} iterations, istop={out[1]}"


def _lbfgs(data, pi_ref):
    def loss(theta):
        return losses.ipo_empirical(theta, data, pi_ref, TAU, return_grad=True)

    start = time.perf_counter()
    result = minimize(loss, np.log(pi_ref), jac=True, method="L-BFGS-B",
                      options=dict(maxiter=LBFGS_ITERATIONS, ftol=0.0, gtol=0.0))
    note = f"{result.nit} iterations, {result.message}"
    return time.perf_counter() - start, result.x, note


def _peak_memory(data, pi_ref) -> str:
    tracemalloc.start()
    try:
        solve_ipo_empirical(data, pi_ref, TAU)
        return f"peak traced memory {tracemalloc.get_traced_memory()[1] / 2**20:.0f} MiB"
    finally:
        tracemalloc.stop()


def _without_elimination(data, pi_ref):
    """Our solver with the low-degree elimination off (as before it existed)."""
    saved = graph_linalg._ELIMINATE_SHARE
    graph_linalg._ELIMINATE_SHARE = np.inf
    start = time.perf_counter()
    try:
        sol = solve_ipo_empirical(data, pi_ref, TAU)
        return time.perf_counter() - start, sol.logits, "solved"
    except MemoryError as exc:
        return time.perf_counter() - start, None, f"MemoryError: {exc}"
    finally:
        graph_linalg._ELIMINATE_SHARE = saved


def run(kind: str) -> None:
    data = make_graph(kind)
    n = data.n_actions
    pi_ref = np.full(n, 1.0 / n)
    ours_time, ours, ours_residual = _ours(data, pi_ref, 1 if kind == "random-large" else 3)
    centred = ours - ours.mean()
    note = "one solve" + (f"; {_peak_memory(data, pi_ref)}" if kind == "adversarial" else "")
    rows = [("psipo_exact.solve_ipo_empirical", ours_time, ours, note)]
    if kind == "adversarial":
        rows.append(("ours without low-degree elimination",) + _without_elimination(data, pi_ref))
    rows.append((f"scipy lsqr (iter_lim={LSQR_ITERATIONS})",) + _lsqr(data, pi_ref))
    if kind != "random-large":
        rows.append((f"scipy L-BFGS-B (maxiter={LBFGS_ITERATIONS})",) + _lbfgs(data, pi_ref))
    print(f"\nIPO-GRAPH {kind}: n = {n}, N = {len(data)}, tau = {TAU}, uniform pi_ref; "
          f"logit spread of the optimum {np.ptp(ours):.4g}; reported residual "
          f"{ours_residual:.2e}")
    print(f"{'method':36} {'time [s]':>9} {'peer/ours':>9} {'max|Δθ| vs ours':>16} "
          f"{'max|Lθ−b|':>11}  stopped after")
    for name, seconds, theta, note in rows:
        if theta is None:
            print(f"{name:36} {seconds:9.3f} {seconds / ours_time:9.1f} {'-':>16} {'-':>11}  "
                  f"{note}")
            continue
        diff = np.abs((theta - theta.mean()) - centred).max()
        print(f"{name:36} {seconds:9.3f} {seconds / ours_time:9.1f} {diff:16.2e} "
              f"{normal_residual(theta, data, pi_ref):11.2e}  {note}")


def main(kinds=("random", "ladder", "adversarial", "random-large")) -> None:
    for kind in kinds:
        run(kind)


if __name__ == "__main__":
    main(*[sys.argv[1:]] if sys.argv[1:] else [])
