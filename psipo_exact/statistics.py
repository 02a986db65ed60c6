"""Bootstrap confidence bands for exact optimal policies, vectorised over resamples.

A nonparametric bootstrap resample of a dataset of ``N`` comparisons draws ``N`` comparisons
with replacement, i.e. multinomial counts over the data: a reweighting
(``Dataset.weights``). All ``B`` resamples are solved at once as one dataset whose contexts
are (resample, context) pairs, a block-diagonal problem that every exact solver handles in
one call (Efron & Tibshirani, 1993, *An Introduction to the Bootstrap*, ch. 13, percentile
intervals).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import _base, _checks
from .model import Dataset
from .solvers import solve_dpo_empirical, solve_ipo_empirical

_SOLVERS = {"ipo": solve_ipo_empirical, "dpo": solve_dpo_empirical}


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Bootstrap distribution of an exact optimal policy.

    Attributes
    ----------
    estimate : ndarray, shape ``tau.shape + logits_shape``
        The solver's policy on the data.
    policies : ndarray, shape ``(B,) + tau.shape + logits_shape``
        The policy of every resample.
    lower, upper : ndarray, shape of ``estimate``
        Percentile band at ``level``.
    unique : ndarray of bool, shape (B,)
        Whether each resample's optimal policy is unique (a resample can lose a comparison
        that connected the graph).
    level : float

    References
    ----------
    Efron (1979), Ann. Statist. 7(1), 1-26 (the bootstrap); Efron & Tibshirani (1993),
    ch. 13 (percentile intervals); Azar et al., arXiv:2310.12036, Eq. 17 (the IPO optimum
    of the example).

    Examples
    --------
    ``a ≻ b`` three times and ``b ≻ a`` once, IPO at τ = 1. With two actions, Eq. 17's
    optimum is ``π(a) = σ(p̂ − 1/2)`` for the fraction ``p̂`` of ``a ≻ b``: ``σ(1/4)`` on the
    data, and on every resample ``σ(k/4 − 1/2)`` for its count ``k ∈ {0, …, 4}``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.statistics import bootstrap_policy
    >>> data = px.Dataset.from_pairs([("a", "b")] * 3 + [("b", "a")])
    >>> band = bootstrap_policy(data, [0.5, 0.5], 1.0, n_resamples=50, rng=0)
    >>> band.policies.shape, band.unique.shape, band.level
    ((50, 2), (50,), 0.95)
    >>> round(float(band.estimate[0]), 4), round(float(1 / (1 + np.exp(-0.25))), 4)
    (0.5622, 0.5622)
    >>> k = 4 * (np.log(band.policies[:, 0] / band.policies[:, 1]) + 0.5)
    >>> bool(np.allclose(k, np.round(k))), set(np.round(k).astype(int).tolist()) <= set(range(5))
    (True, True)
    >>> bool(np.all((band.lower <= band.estimate) & (band.estimate <= band.upper)))
    True
    """

    estimate: np.ndarray
    policies: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    unique: np.ndarray
    level: float


def resample_weights(data: Dataset, n_resamples: int, rng) -> np.ndarray:
    """Multinomial counts ``(B, N)``: ``round(total_weight)`` draws with probabilities
    ``weights / total_weight`` (one bootstrap resample per row).

    Parameters
    ----------
    data : Dataset
    n_resamples : int
    rng : numpy.random.Generator or int
        Source of randomness (an int seeds ``numpy.random.default_rng``).

    Returns
    -------
    ndarray, shape (n_resamples, len(data))

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> w = resample_weights(px.paper_dataset("D1"), 2, np.random.default_rng(0))
    >>> w.shape, w.sum(1).tolist()
    ((2, 3), [3.0, 3.0])

    References
    ----------
    Efron & Tibshirani (1993), ch. 6.
    """
    _checks.instance(data, Dataset, "data")
    n_resamples = _checks.positive_int(n_resamples, "n_resamples")
    rng = _checks.generator(rng, "rng")
    p = data.datum_weights / data.total_weight
    draws = max(_checks.draw_count(data.total_weight, "the total weight of data"), 1)
    return rng.multinomial(draws, p, size=n_resamples).astype(float)


def stacked(data: Dataset, weights: np.ndarray) -> Dataset:
    """One dataset holding every resample: context ``b · n_contexts + x``.

    Parameters
    ----------
    data : Dataset
    weights : ndarray, shape (B, len(data))

    Returns
    -------
    Dataset

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> stacked(px.paper_dataset("D1"), np.ones((2, 3))).logits_shape
    (2, 3)

    References
    ----------
    Efron & Tibshirani (1993), ch. 6.
    """
    _checks.instance(data, Dataset, "data")
    weights = _checks.as_float_array(weights, "weights", min_ndim=2)
    if weights.ndim != 2 or weights.shape[1] != len(data):
        raise ValueError(f"weights has shape {weights.shape}, must be (B, {len(data)}): one "
                         "row of datum weights per resample")
    b, size = weights.shape
    k = data.n_contexts
    contexts = (np.arange(b)[:, None] * k + data.context_index).ravel()
    ties = None if data.ties is None else np.tile(data.ties, b)
    return Dataset(np.tile(data.winners, b), np.tile(data.losers, b), data.n_actions,
                   contexts=contexts, n_contexts=b * k, weights=weights.ravel(), ties=ties)


def _stacked_solve(data: Dataset, weights, pi_ref, tau, solver):
    """Every resample at once: one solve of the stacked dataset."""
    b = weights.shape[0]
    ref = np.broadcast_to(pi_ref, data.logits_shape).reshape(-1, data.n_actions)
    sol = solver(stacked(data, weights), np.tile(ref, (b, 1)), tau)
    t_shape = np.shape(_checks.tau(tau))
    policies = sol.policy.reshape(t_shape + (b,) + data.logits_shape)
    unique = np.ones(b, bool)
    for group in sol.free:
        unique[group[0][0] // data.n_contexts] = False
    return np.moveaxis(policies, len(t_shape), 0), unique


def bootstrap_policy(data: Dataset, pi_ref, tau, solver="ipo", *, n_resamples: int = 200,
                     level: float = 0.95, rng=None, vectorised: bool = True) -> BootstrapResult:
    """Percentile bootstrap band of the exact optimal policy of a loss on ``data``.

    Parameters
    ----------
    data : Dataset
    pi_ref : array_like, shape (n,) or data.logits_shape
    tau : float or array_like
        τ > 0 (a grid adds leading axes, as in the solvers).
    solver : {"ipo", "dpo"} or callable
        ``solver(data, pi_ref, tau) -> Solution``: any exact solver of the loss family;
        keyword arguments via ``functools.partial``.
    n_resamples : int, default 200
    level : float, default 0.95
    rng : numpy.random.Generator or int, optional
        Source of randomness (an int seeds ``numpy.random.default_rng``).
    vectorised : bool, default True
        Solve all resamples as one dataset whose contexts are the resamples. Correct for a
        solver that treats contexts independently (IPO, DPO, Bradley–Terry); a tie model
        whose tie parameter is *estimated* shares it across contexts, so give it a fixed
        parameter or pass ``vectorised=False`` (one solve per resample).

    Returns
    -------
    BootstrapResult

    Raises
    ------
    ValueError
        On an unknown solver name or invalid arguments; when the data's total weight (the
        number of comparisons each resample draws) is not representable as a count
        (above 2⁶², e.g. weights of 1e300).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.statistics import bootstrap_policy
    >>> data = px.Dataset.from_counts(np.array([[0, 30, 20], [10, 0, 25], [5, 15, 0]]))
    >>> band = bootstrap_policy(data, np.ones(3) / 3, 1.0, "ipo", n_resamples=100, rng=0)
    >>> bool(np.all((band.lower <= band.estimate) & (band.estimate <= band.upper)))
    True

    References
    ----------
    Efron & Tibshirani (1993), ch. 13; Azar et al., arXiv:2310.12036, Eq. 4, 17.
    """
    _checks.instance(data, Dataset, "data")
    if isinstance(solver, str):
        if solver not in _SOLVERS:
            raise ValueError(f"solver = {solver!r}, must be one of {sorted(_SOLVERS)} or a "
                             "callable")
        solver = _SOLVERS[solver]
    elif not callable(solver):
        raise TypeError(f"solver must be a name or a callable, got {type(solver).__name__}")
    b = _checks.positive_int(n_resamples, "n_resamples")
    level = _checks.real_in_range(level, "level", 0.0, 1.0, closed_low=False)
    rng = _checks.generator(rng, "rng")
    vectorised = _checks.flag(vectorised, "vectorised")
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    estimate = solver(data, pi_ref, tau).policy
    weights = resample_weights(data, b, rng)
    if vectorised:
        policies, unique = _stacked_solve(data, weights, pi_ref, tau, solver)
    else:
        sols = [solver(replace(data, weights=w), pi_ref, tau) for w in weights]
        policies = np.stack([s.policy for s in sols])
        unique = np.array([s.unique for s in sols])
    tail = (1 - level) / 2
    lower, upper = np.quantile(policies, [tail, 1 - tail], axis=0)
    return BootstrapResult(_base.frozen(estimate), _base.frozen(policies), _base.frozen(lower),
                           _base.frozen(upper), _base.frozen(unique), level)
