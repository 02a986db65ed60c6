"""Inputs of the solvers as problems on global nodes: validation, πref, τ axes and edges.

Contexts, and the leading axes of population problems, are independent problems solved
together as one block-diagonal problem: node ``k · n + y`` of the global graph is action
``y`` of problem ``k``.
"""

from __future__ import annotations

import numpy as np

from .. import _base, _checks
from ..losses import reference_gap
from ..model import Dataset, PreferenceModel


def population_inputs(prefs, mu, pi_ref):
    prefs, mu = _base.validated_prefs_mu(prefs, mu)
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    _checks.n_actions_match(prefs.shape[-1], "prefs", pi_ref=pi_ref)
    lead = _checks.broadcastable(
        ("prefs", prefs.shape[:-2]), ("mu", mu.shape[:-1]), ("pi_ref", pi_ref.shape[:-1])
    )
    _checks.support_covered(*np.broadcast_arrays(mu, pi_ref))
    return prefs, mu, pi_ref, lead


def context_pi_ref(pi_ref, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Validate πref for ``data``: shape (n,) (shared by all contexts) or ``logits_shape``.

    Returns πref broadcast to ``logits_shape`` and the per-datum gaps
    ``log πref(y_w) − log πref(y_l)`` (:func:`~psipo_exact.losses.reference_gap`, which
    raises if πref vanishes on a compared action).
    """
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    if pi_ref.shape not in {data.logits_shape, (data.n_actions,)}:
        allowed = f"{(data.n_actions,)} (n_actions of the dataset)"
        if data.contexts is not None:
            allowed += f" or {data.logits_shape} (n_contexts, n_actions)"
        raise ValueError(f"pi_ref has shape {pi_ref.shape}, must be {allowed}")
    pi_ref = np.broadcast_to(pi_ref, data.logits_shape)
    return pi_ref, reference_gap(data, pi_ref)


def nodes(data: Dataset) -> tuple[np.ndarray, np.ndarray, int]:
    """Global node indices ``x · n + y`` of winners and losers, and the number of nodes."""
    offset = data.context_index * data.n_actions
    return offset + data.winners, offset + data.losers, data.n_contexts * data.n_actions


def tau_axes(tau, data: Dataset) -> np.ndarray:
    """τ as an array of shape ``tau.shape + (1,) * len(logits_shape)``."""
    t = _checks.tau(tau)
    return t.reshape(t.shape + (1,) * len(data.logits_shape))


def data_edges(data: Dataset):
    """Coalesced beats-edges of ``data`` over global nodes, with the logs of their weights.

    An edge's weight is the total weight of its data. Data of weight 0 are dropped: they
    neither connect nor orient the beats-digraph.
    """
    heads, tails, size = nodes(data)
    counted = data.datum_weights > 0
    key, inverse = np.unique(heads[counted] * size + tails[counted], return_inverse=True)
    weights = np.bincount(inverse.ravel(), data.datum_weights[counted], key.size)
    return key // size, key % size, np.log(weights), size


def population_edges(prefs, mu, lead):
    """Beats-edges ``y → y′`` where ``µ(y) µ(y′) p*(y ≻ y′) > 0``, one block per problem,
    with the log of that weight (computed as a sum of logs: the product may underflow)."""
    n = prefs.shape[-1]
    log_mu = _base.log(mu)
    log_weight = _base.log(prefs) + log_mu[..., :, None] + log_mu[..., None, :]
    log_weight = np.broadcast_to(log_weight, lead + (n, n)).reshape(-1, n, n)
    log_weight = np.where(np.eye(n, dtype=bool), -np.inf, log_weight)
    problem, i, j = np.nonzero(log_weight > -np.inf)
    return problem * n + i, problem * n + j, log_weight[problem, i, j], log_weight.shape[0] * n


def model_arguments(prefs, mu, *rest):
    """Unpack a :class:`PreferenceModel` given in place of ``prefs``: ``solver(model, tau)``
    means ``solver(model.prefs, model.mu, model.pi_ref, tau)`` (``fit_bradley_terry(model)``:
    ``(model.prefs, model.mu)``). Returns ``(prefs, mu, *rest)`` unchanged otherwise."""
    if not isinstance(prefs, PreferenceModel):
        return (prefs, mu, *rest)
    if rest and rest[0] is not None:
        raise TypeError("with a PreferenceModel, call solver(model, tau): pi_ref comes from "
                        "the model")
    if not rest:
        if mu is not None:
            raise TypeError("mu must not be given with a PreferenceModel")
        return prefs.prefs, prefs.mu
    return prefs.prefs, prefs.mu, prefs.pi_ref, mu if rest[1] is None else rest[1]


def reference_index(reference, data: Dataset | None, n: int) -> int | None:
    """The action index of ``reference`` (an index, or a name of ``data.action_names``)."""
    if reference is None:
        return None
    names = data.action_names if data is not None else None
    if isinstance(reference, str):
        if not names or reference not in names:
            raise ValueError(f"reference = {reference!r} is not an action name "
                             f"(actions: {list(names) if names else list(range(n))})")
        return names.index(reference)
    ref = _checks.positive_int(reference, "reference", minimum=0)
    if ref >= n:
        raise ValueError(f"reference = {ref}, must be in [0, {n - 1}]")
    return ref
