"""The mini-batch stream of :func:`psipo_exact.simulate.simulate` and its batch weights.

Random mini-batches: the run with seed ``s`` on a dataset of ``N`` data uses
``rng = numpy.random.default_rng(s)`` and draws its batch indices chunk by chunk,
``rng.integers(0, N, size=(min(CHUNK_STEPS, steps − k·CHUNK_STEPS), batch_size))`` for
chunk ``k = 0, 1, …``; row ``j`` of chunk ``k`` is the batch of step ``k·CHUNK_STEPS + j + 1``.
The stream therefore depends only on ``(s, N, batch_size)``: every loss and τ sees the same
batches (common random numbers), a run gives the same numbers alone or in a grid, and a
shorter run is a prefix of a longer one.

A batch enters the gradient through its weights ``c_i / B`` (``c_i`` the number of times
datum ``i`` is in the batch of size ``B``); :class:`BatchWeights` produces them a block of
steps at a time, holding at most ``WEIGHT_BYTES`` of them.
"""

from __future__ import annotations

import numpy as np

from .. import _checks

#: Steps of randomness drawn (and of batch weights held in memory) at a time.
CHUNK_STEPS = 1024

#: Memory budget (bytes) of the per-step batch weights held at a time.
WEIGHT_BYTES = 64 * 2**20


def sample_batches(seed: int, n_data: int, steps: int, batch_size: int) -> np.ndarray:
    """The mini-batch index stream ``simulate`` uses for one seed (module docstring).

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``.
    n_data : int
        Dataset size ``N``; indices are uniform on ``0 .. N−1``, with replacement.
    steps, batch_size : int

    Returns
    -------
    ndarray of int64, shape (steps, batch_size)
    """
    seed = _checks.positive_int(seed, "seed", minimum=0)
    n_data = _checks.positive_int(n_data, "n_data")
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    rng = np.random.default_rng(seed)
    return np.concatenate([
        rng.integers(0, n_data, size=(min(CHUNK_STEPS, steps - start), batch_size))
        for start in range(0, steps, CHUNK_STEPS)
    ])


def _counts(idx: np.ndarray, n_data: int) -> np.ndarray:
    """How often each datum appears in each batch: ``idx`` (..., B) -> counts (..., N)."""
    rows = np.arange(idx.size // idx.shape[-1]).reshape(idx.shape[:-1] + (1,))
    flat = np.bincount((rows * n_data + idx).ravel(), minlength=rows.size * n_data)
    return flat.reshape(idx.shape[:-1] + (n_data,)).astype(np.float64)


class BatchWeights:
    """Per-step datum weights ``c_i / B`` of every run, produced a block of steps at a time.

    Layout (step, loss', tau', seed', M): ``M`` concatenates the data of all datasets (the
    block of dataset ``d`` belongs to the runs on ``d``), primed axes have length 1 when the
    weights do not vary along them (sampled batches vary only with the seed).

    Parameters
    ----------
    sizes : sequence of int
        Number of data of each dataset, in the order of the dataset axis.
    seeds : sequence of int
        Seeds of the sampled streams, in the order of the seed axis.
    batch_size : int
        Mini-batch size B.
    batches : ndarray of int64 or None
        Replayed indices from :func:`validated_batches`, shape
        (loss', dataset', tau', seed', steps, B); None samples each seed's stream.
    """

    def __init__(self, sizes, seeds, batch_size, batches):
        self.sizes, self.batch_size, self.batches = sizes, batch_size, batches
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        if batches is None:
            self.shape = (1, 1, len(seeds))
            self.rngs = [[np.random.default_rng(s) for s in seeds] for _ in sizes]
        else:
            self.shape = (batches.shape[0], batches.shape[2], batches.shape[3])

    def blocks(self, steps: int, values_per_step: int):
        """The weights of steps ``0 .. steps − 1``, one block of steps at a time.

        A block is at most ``WEIGHT_BYTES`` once broadcast to ``values_per_step`` float64
        values a step (but at least one step) and lies inside one stream chunk of
        ``CHUNK_STEPS`` steps, whose indices are drawn when its first block is reached.

        Parameters
        ----------
        steps : int
            Number of steps.
        values_per_step : int
            Size of one step's weights once the caller broadcasts them over all runs.

        Yields
        ------
        start, stop : int
            The block holds steps ``start .. stop − 1`` (0-based).
        weights : ndarray, shape (stop − start, loss', tau', seed', M)
        """
        span = int(np.clip(WEIGHT_BYTES // (8 * values_per_step), 1, CHUNK_STEPS))
        for start in _block_starts(steps, span):
            stop = min(start + span, steps, (start // CHUNK_STEPS + 1) * CHUNK_STEPS)
            if start % CHUNK_STEPS == 0:
                self._draw(start, min(start + CHUNK_STEPS, steps))
            yield start, stop, self._block(start, stop)

    def _draw(self, start: int, stop: int) -> None:
        """Draw the batch indices of steps ``start .. stop − 1`` (one stream chunk)."""
        if self.batches is None:
            self.idx = [np.stack([rng.integers(0, n_data, size=(stop - start, self.batch_size))
                                  for rng in self.rngs[d]])        # (seed, n, B)
                        for d, n_data in enumerate(self.sizes)]
        else:
            self.idx = [self.batches[:, d if self.batches.shape[1] > 1 else 0, :, :, start:stop]
                        for d in range(len(self.sizes))]           # (L', T', S', n, B)
        self.start = start

    def _block(self, start: int, stop: int) -> np.ndarray:
        """Weights of steps ``start .. stop − 1``, inside the last drawn chunk."""
        lo, hi = start - self.start, stop - self.start
        out = np.empty((stop - start,) + self.shape + (int(self.offsets[-1]),))
        for d, n_data in enumerate(self.sizes):
            if self.batches is None:
                counts = _counts(self.idx[d][:, lo:hi], n_data)
                counts = np.moveaxis(counts, 1, 0)[:, None, None]  # (n, 1, 1, S, N)
            else:
                counts = np.moveaxis(_counts(self.idx[d][..., lo:hi, :], n_data), 3, 0)
            out[..., self.offsets[d]:self.offsets[d + 1]] = counts / self.batch_size
        return out


def _block_starts(steps: int, span: int):
    """First steps of the weight blocks: every ``span`` steps, restarting at each stream chunk."""
    for base in range(0, steps, CHUNK_STEPS):
        yield from range(base, min(base + CHUNK_STEPS, steps), span)


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
