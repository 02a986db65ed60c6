"""The mini-batch stream of :func:`psipo_exact.simulate.simulate`, as counts or as gathers.

Random mini-batches: the run with seed ``s`` on a dataset of ``N`` data uses
``rng = numpy.random.default_rng(s)`` and draws its batch indices chunk by chunk of
``CHUNK_STEPS`` steps; row ``j`` of chunk ``k`` is the batch of step ``k·CHUNK_STEPS + j + 1``.

* Unweighted data (``Dataset.weights is None``): indices uniform on ``0 .. N−1``,
  ``rng.integers(0, N, size=(min(CHUNK_STEPS, steps − k·CHUNK_STEPS), batch_size))``.
* Weighted data (a datum of weight ``c`` counts as ``c`` comparisons): datum ``i`` with
  probability ``c_i / Σ c``, by inverse CDF: ``u = rng.random(size=…)`` (same chunks) and
  the index is the first ``i`` with ``u · Σ c < C_i``, ``C = cumsum(c)`` (data of weight 0
  are never drawn).

The stream therefore depends only on ``(s, N, batch_size)`` (and the weights): every loss
and τ sees the same batches (common random numbers), a run gives the same numbers alone or
in a grid, and a shorter run is a prefix of a longer one.

A batch enters the gradient as ``Σ_i (c_i / B) ∂ℓ_i`` over its distinct data ``i``, ``c_i``
the number of times datum ``i`` is in the batch of size ``B``. :class:`BatchStream` yields
the indices a block of steps at a time; ``simulate/_gradients.py`` turns them into the dense
weights ``c_i / B`` over all data, or into each batch's distinct data in
increasing order with their weights (the sparse form the gather/scatter step uses).
"""

from __future__ import annotations

import numpy as np

from .. import _checks

#: Steps of randomness drawn at a time.
CHUNK_STEPS = 1024

#: Memory budget (bytes) of the per-step batch weights or gather indices held at a time.
WEIGHT_BYTES = 64 * 2**20


def sample_batches(seed: int, n_data: int, steps: int, batch_size: int,
                   weights=None) -> np.ndarray:
    """The mini-batch index stream ``simulate`` uses for one seed (module docstring).

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``.
    n_data : int
        Dataset size ``N``.
    steps, batch_size : int
    weights : array_like of float, shape (N,), optional
        ``Dataset.weights``: datum ``i`` is drawn with probability ``weights[i] / Σ weights``.
        None: uniform on ``0 .. N−1`` (the unweighted stream, unchanged).

    Returns
    -------
    ndarray of int64, shape (steps, batch_size)
        Indices drawn with replacement.

    Raises
    ------
    TypeError, ValueError
        For an invalid argument (naming it): ``seed`` not an int >= 0, ``n_data``, ``steps``
        or ``batch_size`` not an int >= 1, invalid ``weights``.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (mini-batches of 9 drawn uniformly with
    replacement from D).

    Examples
    --------
    The stream is ``numpy.random.default_rng(seed).integers(0, N, (steps, B))`` drawn in
    chunks of ``CHUNK_STEPS`` rows, so a shorter run is a prefix of a longer one:

    >>> import numpy as np
    >>> from psipo_exact.simulate import sample_batches
    >>> idx = sample_batches(seed=0, n_data=3, steps=5, batch_size=9)
    >>> idx.shape, bool(np.array_equal(idx, np.random.default_rng(0).integers(0, 3, (5, 9))))
    ((5, 9), True)
    >>> bool(np.array_equal(sample_batches(0, 3, 2, 9), idx[:2]))
    True

    With weights, datum ``i`` is drawn in proportion to ``weights[i]`` (never when 0):

    >>> sample_batches(0, 3, 2, 4).shape
    (2, 4)
    >>> sorted(set(sample_batches(0, 3, 50, 4, weights=[1.0, 0.0, 2.0]).ravel().tolist()))
    [0, 2]
    """
    seed = _checks.positive_int(seed, "seed", minimum=0)
    n_data = _checks.positive_int(n_data, "n_data")
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    draw = _sampler(n_data, weights)
    rng = np.random.default_rng(seed)
    return np.concatenate([draw(rng, (min(CHUNK_STEPS, steps - start), batch_size))
                           for start in range(0, steps, CHUNK_STEPS)])


def _sampler(n_data: int, weights=None):
    """``draw(rng, shape)``: indices of ``n_data`` data, uniform or by weight (module docstring).

    Parameters
    ----------
    n_data : int
    weights : array_like, shape (n_data,), optional

    Returns
    -------
    callable
    """
    if weights is None:
        return lambda rng, shape: rng.integers(0, n_data, size=shape)
    cumulative = np.cumsum(_checks.datum_weights(weights, "weights", n_data))
    total = cumulative[-1]
    # u·Σc can round up to Σc: then the last datum of positive weight
    last = int(np.flatnonzero(np.diff(np.concatenate([[0.0], cumulative])) > 0)[-1])

    def draw(rng, shape):
        index = np.searchsorted(cumulative, rng.random(shape) * total, side="right")
        return np.minimum(index, last)

    return draw



class BatchStream:
    """The batch indices of every run, a block of steps at a time.

    Layout of a block: (loss', dataset', tau', seed', steps, B), primed axes of length 1 where
    the indices do not vary along them (sampled batches vary with dataset and seed only).

    Parameters
    ----------
    sizes : sequence of int
        Number of data of each dataset, in the order of the dataset axis.
    weights : sequence of (ndarray or None)
        ``Dataset.weights`` of each dataset.
    seeds : sequence of int
        Seeds of the sampled streams, in the order of the seed axis.
    batch_size : int
        Mini-batch size B.
    batches : ndarray of int64 or None
        Replayed indices from :func:`validated_batches`, shape
        (loss', dataset', tau', seed', steps, B); None samples each seed's stream.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (mini-batch losses, Eq. 4 and Eq. 17 averaged
    over a batch drawn with replacement).

    Examples
    --------
    The indices of a run with seed ``s`` are exactly :func:`sample_batches`'s stream:

    >>> import numpy as np
    >>> from psipo_exact.simulate import sample_batches
    >>> from psipo_exact.simulate.batches import BatchStream
    >>> (start, stop, idx), = BatchStream([3], [None], [0], 2, None).blocks(4, 3)
    >>> start, stop, idx.shape
    (0, 4, (1, 1, 1, 1, 4, 2))
    >>> bool(np.array_equal(idx[0, 0, 0, 0], sample_batches(0, 3, 4, 2)))
    True
    """

    def __init__(self, sizes, weights, seeds, batch_size, batches):
        self.sizes, self.batch_size, self.batches = sizes, batch_size, batches
        if batches is None:
            self.samplers = [_sampler(n, w) for n, w in zip(sizes, weights)]
            self.rngs = [[np.random.default_rng(s) for s in seeds] for _ in sizes]

    def blocks(self, steps: int, bytes_per_step: int, budget: int | None = None):
        """The indices of steps ``0 .. steps − 1``, one block of steps at a time.

        A block needs at most ``budget`` bytes (default ``WEIGHT_BYTES``) at
        ``bytes_per_step`` (but holds at least one step) and lies inside one stream chunk of
        ``CHUNK_STEPS`` steps, whose indices are drawn when its first block is reached.

        Parameters
        ----------
        steps : int
            Number of steps.
        bytes_per_step : int
            Memory the caller derives from one step's indices.
        budget : int, optional
            Bytes a block may take; default ``WEIGHT_BYTES``.

        Yields
        ------
        start, stop : int
            The block holds steps ``start .. stop − 1`` (0-based).
        idx : ndarray of int64, shape (loss', dataset', tau', seed', stop − start, B)

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 5.4 (18000 steps of mini-batches of 9).

        Examples
        --------
        2500 steps come in blocks that never cross a chunk of ``CHUNK_STEPS`` = 1024 steps:

        >>> from psipo_exact.simulate.batches import BatchStream
        >>> stream = BatchStream([3, 2], [None, None], seeds=[0, 1], batch_size=9, batches=None)
        >>> for start, stop, idx in stream.blocks(2500, 10):
        ...     print(start, stop, idx.shape)
        0 1024 (1, 2, 1, 2, 1024, 9)
        1024 2048 (1, 2, 1, 2, 1024, 9)
        2048 2500 (1, 2, 1, 2, 452, 9)
        """
        budget = WEIGHT_BYTES if budget is None else budget
        span = int(np.clip(budget // max(bytes_per_step, 1), 1, CHUNK_STEPS))
        for base in range(0, steps, CHUNK_STEPS):
            end = min(base + CHUNK_STEPS, steps)
            chunk = self._chunk(base, end)
            for start in range(base, end, span):
                stop = min(start + span, end)
                yield start, stop, chunk[..., start - base:stop - base, :]

    def _chunk(self, start: int, stop: int) -> np.ndarray:
        """The indices of steps ``start .. stop − 1`` (one stream chunk)."""
        if self.batches is not None:
            return self.batches[..., start:stop, :]
        shape = (stop - start, self.batch_size)
        idx = np.stack([np.stack([draw(rng, shape) for rng in rngs])
                        for draw, rngs in zip(self.samplers, self.rngs)])   # (D, S, n, B)
        return idx[None, :, None]


def validated_batches(batches, run_shape, steps, batch_size, sizes) -> np.ndarray:
    """Integer batch indices, reshaped to (loss, dataset, tau, seed, steps, batch) with 1s.

    Parameters
    ----------
    batches : array_like of int
        ``simulate``'s ``batches``: shape ``(..., steps, batch_size)``, the leading axes
        broadcasting over the run axes.
    run_shape : tuple of int
        Lengths of the run axes (loss, dataset, tau, seed).
    steps, batch_size : int
        Validated ``steps`` and ``batch_size``.
    sizes : sequence of int
        Number of data of each dataset; an index into dataset ``d`` must be below ``sizes[d]``.

    Returns
    -------
    ndarray of int64, 6-D
        Leading axes of length 1 added where ``batches`` had fewer.

    Raises
    ------
    TypeError, ValueError
        Naming ``batches``.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (the mini-batch indices into D).

    Examples
    --------
    One replayed stream of shape (steps, batch_size) serves every run:

    >>> import numpy as np
    >>> from psipo_exact.simulate.batches import validated_batches
    >>> full = np.tile([0, 1, 2], (4, 1))  # full batches of D1, 4 steps
    >>> validated_batches(full, (2, 1, 3, 1), steps=4, batch_size=3, sizes=[3]).shape
    (1, 1, 1, 1, 4, 3)
    >>> validated_batches(full + 1, (2, 1, 3, 1), steps=4, batch_size=3, sizes=[3])
    Traceback (most recent call last):
    ...
    ValueError: batches index 3 at [0, 0, 0, 0, 2] (run axes squeezed to dataset 0) is out ...
    """
    if isinstance(batches, (str, bytes)):
        raise TypeError(f"batches must be an integer array, got {type(batches).__name__}")
    arr = np.asarray(batches)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"batches must hold integers, got dtype {arr.dtype}")
    if arr.ndim < 2 or arr.shape[-2:] != (steps, batch_size):
        raise ValueError(f"batches has shape {arr.shape}, its last two axes must be "
                         f"(steps, batch_size) = {(steps, batch_size)}")
    lead = arr.shape[:-2]
    if len(lead) > len(run_shape) or any(
        g not in (1, w) for g, w in zip(lead[::-1], run_shape[::-1])
    ):
        raise ValueError(f"batches has leading shape {lead}, must broadcast to the run axes "
                         f"(loss, dataset, tau, seed) = {run_shape}")
    arr = arr.reshape((1,) * (len(run_shape) - len(lead)) + arr.shape).astype(np.int64)
    for d, n_data in enumerate(sizes):
        part = arr[:, d if arr.shape[1] > 1 else 0]
        bad = (part < 0) | (part >= n_data)
        if bad.any():
            i = tuple(int(k) for k in np.argwhere(bad)[0])
            raise ValueError(f"batches index {int(part[i])} at {list(i)} (run axes squeezed "
                             f"to dataset {d}) is out of range, must be in [0, {n_data - 1}]")
    return arr
