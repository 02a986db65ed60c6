"""Per-datum gaps of per-action arrays, shared by the empirical losses (plain and with ties).

The empirical losses of Azar et al. (arXiv:2310.12036, Eq. 4 and 17) see the logits and
``log πref`` only through ``h_π(y_w, y_l) = θ_w − θ_l − (log πref(y_w) − log πref(y_l))``:
these helpers check an array's trailing axes against the dataset and take that difference.
"""

from __future__ import annotations

import numpy as np

from ..model import Dataset


def check_trailing(arr: np.ndarray, data: Dataset, name: str) -> None:
    """Raise ValueError unless the trailing axes of ``arr`` are ``data.logits_shape``."""
    want = data.logits_shape
    got = arr.shape[-len(want):] if arr.ndim >= len(want) else arr.shape
    if got != want:
        raise ValueError(
            f"{name} has shape {arr.shape}, its trailing axes must be {want} "
            f"({'n_actions' if len(want) == 1 else '(n_contexts, n_actions)'} of the dataset)"
        )


def datum_gap(values: np.ndarray, data: Dataset) -> np.ndarray:
    """``values[..., (x_i,) y_w,i] − values[..., (x_i,) y_l,i]`` per datum, shape (..., N)."""
    if data.contexts is None:
        return values[..., data.winners] - values[..., data.losers]
    return values[..., data.contexts, data.winners] - values[..., data.contexts, data.losers]
