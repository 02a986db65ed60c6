"""Finite-difference references shared by the tests (nothing here imports psipo_exact).

* :func:`central_hessian` — the Hessian of a scalar function by the four-point central
  second difference, the reference for observed-information covariances.
"""

from __future__ import annotations

import numpy as np


def central_hessian(f, x0, h: float = 1e-4) -> np.ndarray:
    """``H_ij ≈ [f(x+e_i+e_j) − f(x+e_i−e_j) − f(x−e_i+e_j) + f(x−e_i−e_j)] / 4h²`` at ``x0``
    (``e_i = h`` times the i-th unit vector); error O(h²)."""
    x0 = np.asarray(x0, dtype=float)
    steps = h * np.eye(x0.size)

    def second(e_i, e_j):
        return (f(x0 + e_i + e_j) - f(x0 + e_i - e_j) - f(x0 - e_i + e_j)
                + f(x0 - e_i - e_j)) / (4 * h * h)

    return np.array([[second(e_i, e_j) for e_j in steps] for e_i in steps])
