"""Optimal sets that are polyhedra of difference constraints: their minimum-norm point.

The minimisers of the ``hinge`` and ``truncated_quadratic`` reward fits form a polyhedron
``{r : z_e = z¹_e (e ∈ E₌), z_e ≥ 1 (e ∈ E≥), z_e ≤ 1 (e ∈ E≤)}``, ``z_e = r_h − r_t``,
containing a known minimiser ``r¹``. The equalities make ``r = r¹ + c_k`` on each component
``k`` of ``E₌``; the inequalities between components become ``c_i − c_j ≥ d_ij``. The
reported (canonical) minimiser is the one of least Euclidean norm, i.e. the minimiser of
``Σ_k n_k (c_k − a_k)²`` (``a_k = −mean_k r¹``) under those constraints, a least-distance
program solved exactly by non-negative least squares (Lawson & Hanson 1974, Ch. 23; finite
active-set algorithm, ``scipy.optimize.nnls``). Two components have a determined offset iff
the difference constraints pin it: ``dist(i, j) + dist(j, i) = 0`` in the constraint graph
(shortest paths with edge weights ``−d_ij``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, csgraph_from_dense, shortest_path

from ._laplacian import index_dtype

#: Largest number of constrained components handled by the dense least-distance program and
#: the dense shortest paths; beyond it the components are reported without their pinning.
MAX_DENSE = 3000


@dataclass(frozen=True)
class Face:
    """The equality components (``component`` per node), and the difference constraints
    ``c_i − c_j ≥ d`` between distinct components (arrays ``i``, ``j``, ``d``)."""

    component: np.ndarray
    n_components: int
    i: np.ndarray
    j: np.ndarray
    d: np.ndarray


def _components(heads, tails, size) -> tuple[int, np.ndarray]:
    idx = index_dtype(size)
    graph = sp.csr_matrix((np.ones(heads.size), (heads.astype(idx), tails.astype(idx))),
                          shape=(size, size))
    return connected_components(graph, directed=False)


def min_norm_on_face(rewards, heads, tails, equal, above, below, size):
    """The minimum-norm point of the face through ``rewards`` (module docstring), and its
    :class:`Face`."""
    n_comp, comp = _components(heads[equal], tails[equal], size)
    z = rewards[heads] - rewards[tails]
    i = np.r_[comp[heads[above]], comp[tails[below]]]
    j = np.r_[comp[tails[above]], comp[heads[below]]]
    d = np.r_[1.0 - z[above], z[below] - 1.0]
    keep = i != j  # constraints inside a component hold at r¹, hence everywhere on the face
    i, j, d = i[keep], j[keep], d[keep]
    if i.size:
        key, inverse = np.unique(i * n_comp + j, return_inverse=True)
        tightest = np.full(key.size, -np.inf)
        np.maximum.at(tightest, inverse, d)
        i, j, d = key // n_comp, key % n_comp, tightest
    sizes = np.bincount(comp, minlength=n_comp).astype(float)
    a = -np.bincount(comp, rewards, n_comp) / sizes
    c = a.copy()
    if i.size and (c[i] - c[j] < d).any():
        c = _least_distance(a, sizes, i, j, d)
    return rewards + c[comp], Face(comp, n_comp, i, j, d)


def _least_distance(a, sizes, i, j, d) -> np.ndarray:
    """``argmin Σ_k n_k (c_k − a_k)²`` s.t. ``c_i − c_j ≥ d`` (Lawson–Hanson LDP via NNLS)."""
    involved, local = np.unique(np.r_[i, j], return_inverse=True)
    li, lj = local[: i.size], local[i.size:]
    k = involved.size
    if k > MAX_DENSE:
        raise ValueError(f"the optimal set has {k} constrained components, more than the "
                         f"dense least-distance program handles ({MAX_DENSE})")
    root = np.sqrt(sizes[involved])
    # x = √n (c − a): constraints x_i/√n_i − x_j/√n_j ≥ d − (a_i − a_j) =: g x ≥ h.
    g = np.zeros((i.size, k))
    g[np.arange(i.size), li] = 1.0 / root[li]
    g[np.arange(i.size), lj] -= 1.0 / root[lj]
    h = d - (a[i] - a[j])
    e = np.vstack([g.T, h[None, :]])
    f = np.zeros(k + 1)
    f[-1] = 1.0
    from scipy.optimize import nnls  # lazy: import psipo_exact stays light
    u, _ = nnls(e, f, maxiter=50 * (i.size + k + 1))
    residual = e @ u - f
    x = -residual[:k] / residual[-1]
    c = a.copy()
    c[involved] = a[involved] + x / root
    return c


def face_groups(face: Face, size: int) -> np.ndarray:
    """Group label of every node: equality components merged where the constraints pin their
    offset (``dist(i, j) + dist(j, i) = 0``)."""
    label = np.arange(face.n_components)
    if face.i.size:
        involved, local = np.unique(np.r_[face.i, face.j], return_inverse=True)
        k = involved.size
        if k <= MAX_DENSE:
            li, lj = local[: face.i.size], local[face.i.size:]
            # c_j − c_i ≤ −d: an edge i → j of weight −d; dist(i, j) = max (c_j − c_i).
            # Each constraint relaxed by `slack` so that rounding cannot create a negative
            # cycle; a pinned pair then has a cycle of length ≤ 2 (k − 1) slacks.
            slack = 1e-9 * (1.0 + np.abs(face.d).max())
            graph = np.full((k, k), np.inf)
            np.minimum.at(graph, (li, lj), -face.d + slack)
            dist = shortest_path(csgraph_from_dense(graph, null_value=np.inf), method="J",
                                 directed=True)
            pinned = (dist + dist.T) <= 2 * k * slack
            _, cls = connected_components(sp.csr_matrix(pinned), directed=False)
            _, first = np.unique(cls, return_index=True)
            label[involved] = involved[first][cls]
    return label[face.component]
