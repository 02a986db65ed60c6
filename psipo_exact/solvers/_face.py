"""Optimal sets that are polyhedra of difference constraints: their minimum-norm point.

The minimisers of the ``hinge`` and ``truncated_quadratic`` reward fits form a polyhedron
``{r : z_e = z¹_e (e ∈ E₌), z_e ≥ 1 (e ∈ E≥), z_e ≤ 1 (e ∈ E≤)}``, ``z_e = r_h − r_t``,
containing a known minimiser ``r¹``. The equalities make ``r = r¹ + c_k`` on each component
``k`` of ``E₌``; the inequalities between components become ``c_i − c_j ≥ d_ij``, and
``c = 0`` (the point ``r¹``) satisfies them all: ``d_ij ≤ 0``.

*Pinned offsets.* Two components have a determined relative offset iff they lie on a cycle of
constraints of total weight ``Σ d = 0``; since every ``d ≤ 0``, such a cycle consists of
constraints *tight* at ``r¹`` (``d = 0``). So the pinned classes are the strongly connected
components of the digraph of tight constraints (linear time), and every point of the face
shifts all components of a class by one common offset.

*Canonical point.* The reported minimiser is the one of least Euclidean norm: one offset
``c_K`` per pinned class, minimising ``Σ_K n_K (c_K − a_K)²`` (``a_K = −mean_K r¹``) under
the constraints between classes — a least-distance program (:mod:`._least_distance`), solved
when some constraint is violated at ``c = a``. When the optimum is
unique up to a shift per connected component (every class a whole component) no constraint
remains and the canonical point is ``r¹`` centred per component.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._laplacian import graph_components
from ._least_distance import least_distance

#: A constraint ``c_i − c_j ≥ d`` is tight at ``r¹`` when ``d ≥ −TIGHT`` (``z`` within
#: ``TIGHT`` of 1: margins are of order 1 on the face).
TIGHT = 1e-9


@dataclass(frozen=True)
class Face:
    """The equality components (``component`` per node), the difference constraints
    ``c_i − c_j ≥ d`` between distinct components (arrays ``i``, ``j``, ``d``) and the pinned
    class of every component (``pinned``, ``n_pinned`` classes)."""

    component: np.ndarray
    n_components: int
    i: np.ndarray
    j: np.ndarray
    d: np.ndarray
    pinned: np.ndarray
    n_pinned: int


def _tightest(i, j, d, n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constraints between distinct nodes, one per ordered pair (the largest ``d``)."""
    keep = i != j  # constraints inside a node hold at r¹, hence everywhere on the face
    i, j, d = i[keep], j[keep], d[keep]
    if not i.size:
        return i, j, d
    key, inverse = np.unique(i * n + j, return_inverse=True)
    tightest = np.full(key.size, -np.inf)
    np.maximum.at(tightest, inverse, d)
    return key // n, key % n, tightest


def face_of(rewards, heads, tails, equal, above, below, size) -> Face:
    """The :class:`Face` through ``rewards`` (module docstring)."""
    n_comp, comp = graph_components(heads[equal], tails[equal], size)
    z = rewards[heads] - rewards[tails]
    i, j, d = _tightest(np.r_[comp[heads[above]], comp[tails[below]]],
                        np.r_[comp[tails[above]], comp[heads[below]]],
                        np.r_[1.0 - z[above], z[below] - 1.0], n_comp)
    tight = d >= -TIGHT
    n_pinned, pinned = graph_components(i[tight], j[tight], n_comp, strong=True)
    return Face(comp, n_comp, i, j, d, pinned, n_pinned)


def min_norm_on_face(rewards, heads, tails, equal, above, below, size):
    """The minimum-norm point of the face through ``rewards`` (module docstring), and its
    :class:`Face`."""
    face = face_of(rewards, heads, tails, equal, above, below, size)
    node_class = face.pinned[face.component]
    sizes = np.bincount(node_class, minlength=face.n_pinned).astype(float)
    c = -np.bincount(node_class, rewards, face.n_pinned) / sizes
    i, j, d = _tightest(face.pinned[face.i], face.pinned[face.j], face.d, face.n_pinned)
    if i.size and (c[i] - c[j] < d).any():
        c = least_distance(c, sizes, i, j, d)
    return rewards + c[node_class], face


def face_groups(face: Face) -> np.ndarray:
    """Group label of every node: its pinned class (equality components merged where the
    constraints pin their offset)."""
    return face.pinned[face.component]
