"""LAPLACIAN-CORES: Laplacian solves on cores that defeat banded Cholesky, Jacobi-CG and LU.

The normal equations of Eq. 17 (IPO) and the Newton steps of the Bradley–Terry/DPO fits of
Azar et al. (arXiv:2310.12036) are solves with weighted graph Laplacians. The cores of
``graphs.py`` at n = 10⁵ (every vertex of degree ≥ 3, so the low-degree elimination leaves
them whole): *hub + ladder* (hub joined to every 1000th vertex of a ladder), *hub + grid*
(hub joined to every 100th vertex of a 316 × 316 grid), *expander + heavy hubs* (4n unit
edges, 10 hubs of weight 10³ on 10% of the vertices each), *spread weights* (4n edges,
weights log-uniform on [10⁻⁶, 10⁶]). Right-hand side: N(0, 1), centred per component.

Rows: ours (``solvers._laplacian.laplacian_solve``: band/Jacobi CG for 150 iterations, then
CG preconditioned by the approximate Cholesky factor inside iterative refinement), with its
peak traced memory in a separate call; ours before that preconditioner (Jacobi-CG until it
stalls, then budgeted sparse LU); ``scipy.sparse.linalg.cg`` with the Jacobi
preconditioner (rtol 1e-12, 3000 iterations at most); and, where ``pyamg`` is installed (the
``bench`` extra), its smoothed-aggregation solver as the CG preconditioner (100 iterations
at most). Residuals are ``max|L x − b| / max|b|``; differences are against ours after
centring per component. BLAS runs single-threaded (``OPENBLAS_NUM_THREADS=1``, set below
before numpy loads): on the shared 2-core machine threaded BLAS turns the dense core's
Cholesky from 0.06 s into seconds.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402
from scipy.sparse.linalg import LinearOperator, cg  # noqa: E402

from psipo_exact.solvers import _laplacian as graph_linalg  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import graphs  # noqa: E402

N = 100_000
CORES = ("hub_ladder_core", "hub_grid_core", "expander_hubs_core", "spread_weights_core")


def _problem(name: str):
    kwargs = {"every": 1000} if name == "hub_ladder_core" else {}
    heads, tails, weights, n = getattr(graphs, name)(N, **kwargs)
    lap = graph_linalg.laplacian(heads, tails, weights, n)
    _, labels = connected_components(lap, directed=False)
    rhs = np.random.default_rng(1).normal(size=(n, 1))
    rhs -= graph_linalg.component_mean(rhs.T, labels, labels.max() + 1).T
    return lap, labels, rhs


def _residual(lap, x, rhs) -> float:
    return float(np.abs(lap @ x - rhs).max() / np.abs(rhs).max())


def _centred(x, labels):
    return x - graph_linalg.component_mean(x.T, labels, labels.max() + 1).T


def _timed(solve):
    start = time.perf_counter()
    try:
        x, note = solve()
    except MemoryError as exc:
        return time.perf_counter() - start, None, f"MemoryError: {str(exc)[:90]}..."
    return time.perf_counter() - start, x, note


def _ours(lap, labels, rhs):
    calls = []
    original = graph_linalg._approximate_solve

    def spy(*args):
        calls.append(1)
        return original(*args)

    graph_linalg._approximate_solve = spy
    try:
        x = graph_linalg.laplacian_solve(lap, labels, rhs)
    finally:
        graph_linalg._approximate_solve = original
    return x, "approximate Cholesky PCG" if calls else "band/Jacobi CG"


def _before(lap, labels, rhs):
    """Jacobi-CG with patience (3000 iterations, gives up after 200 without halving), then
    budgeted sparse LU: the solver before the approximate Cholesky preconditioner."""
    saved = graph_linalg._PROBE, graph_linalg._approximate_solve
    graph_linalg._PROBE = graph_linalg._MAX_CG
    graph_linalg._approximate_solve = lambda lap, labels, rhs, rtol: (
        np.zeros_like(rhs), np.zeros(rhs.shape[1], dtype=bool))
    try:
        return graph_linalg.laplacian_solve(lap, labels, rhs), "Jacobi CG, then LU"
    finally:
        graph_linalg._PROBE, graph_linalg._approximate_solve = saved


def _scipy_cg(lap, labels, rhs):
    diagonal = lap.diagonal()
    diagonal = np.where(diagonal > 0, diagonal, 1.0)          # isolated vertices
    jacobi = LinearOperator(lap.shape, matvec=lambda r: r.ravel() / diagonal)
    iterations = []
    x, info = cg(lap, rhs[:, 0], rtol=1e-12, maxiter=3000, M=jacobi,
                 callback=lambda _: iterations.append(1))
    return x[:, None], f"{len(iterations)} iterations, info {info}"


def _pyamg(lap, labels, rhs):
    import pyamg

    start = time.perf_counter()
    grounded = graph_linalg._grounded(lap, labels).tocsr()
    ml = pyamg.smoothed_aggregation_solver(grounded, symmetry="hermitian")
    setup = time.perf_counter() - start
    iterations = []
    x, info = cg(lap, rhs[:, 0], rtol=1e-12, maxiter=100, M=ml.aspreconditioner(cycle="V"),
                 callback=lambda _: iterations.append(1))
    return x[:, None], (f"setup {setup:.1f} s, operator complexity "
                        f"{ml.operator_complexity():.1f}, {len(iterations)} iterations, "
                        f"info {info}")


def _peak_mib(lap, labels, rhs) -> float:
    tracemalloc.start()
    try:
        graph_linalg.laplacian_solve(lap, labels, rhs)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def run(name: str) -> None:
    lap, labels, rhs = _problem(name)
    ours_time, ours, path = _timed(lambda: _ours(lap, labels, rhs))
    rows = [("ours: laplacian_solve", ours_time, ours,
             f"{path}; peak traced {_peak_mib(lap, labels, rhs):.0f} MiB")]
    rows.append(("ours before (Jacobi CG, then LU)",) + _timed(lambda: _before(lap, labels,
                                                                               rhs)))
    rows.append(("scipy cg, Jacobi (rtol 1e-12)",) + _timed(lambda: _scipy_cg(lap, labels,
                                                                              rhs)))
    try:
        import pyamg  # noqa: F401
    except ImportError:
        rows.append(("pyamg skipped (not installed)", float("nan"), None, "-"))
    else:
        rows.append(("pyamg SA + cg (100 iterations)",) + _timed(lambda: _pyamg(lap, labels,
                                                                                rhs)))
    print(f"\nLAPLACIAN-CORES {name}: n = {lap.shape[0]}, nnz = {lap.nnz}, "
          f"{labels.max() + 1} components")
    print(f"{'method':36} {'time [s]':>9} {'peer/ours':>9} {'max|Δx| vs ours':>16} "
          f"{'residual':>9}  notes")
    reference = _centred(ours, labels)
    for method, seconds, x, note in rows:
        if x is None:
            print(f"{method:36} {seconds:9.3f} {seconds / ours_time:9.1f} {'-':>16} "
                  f"{'-':>9}  {note}")
            continue
        diff = np.abs(_centred(x, labels) - reference).max()
        print(f"{method:36} {seconds:9.3f} {seconds / ours_time:9.1f} {diff:16.2e} "
              f"{_residual(lap, x, rhs):9.1e}  {note}")


def main(cores=CORES) -> None:
    for name in cores:
        run(name)


if __name__ == "__main__":
    main(sys.argv[1:] or CORES)
