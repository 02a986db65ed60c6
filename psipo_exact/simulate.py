"""Vectorised Adam simulator of the sampled experiments of Sec. 5.4 (Azar et al., 2310.12036).

The paper trains softmax policies ``π = softmax(θ)`` on a preference dataset ``D`` with the
empirical DPO loss (Eq. 4) or IPO loss (Eq. 17), using optax's Adam (lr 0.01) on mini-batches
of 9 data drawn uniformly with replacement, for 18000 steps and 10 seeds. :func:`simulate`
runs every (loss, dataset, τ, seed) combination at once: the state of all runs is one array,
and the only Python loop is the one over Adam steps.

Conventions
-----------
* Gradients come from the per-datum links of :data:`psipo_exact.losses.LINKS`: the gradient
  of the mini-batch loss ``(1/B) Σ_{j≤B} ℓ(h_π(y_w,i_j, y_l,i_j))`` is
  ``Σ_i (c_i / B) ℓ′(h_i) (e_{w_i} − e_{l_i})`` with ``c_i`` the number of times datum ``i``
  is in the batch.
* Adam is ``optax.adam(lr, b1, b2, eps)`` (eps_root = 0) operation for operation, in float64:
  ``m ← (1−b1)·g + b1·m``, ``v ← (1−b2)·(g·g) + b2·v``, ``m̂ = m·(1/(1−b1ᵗ))``,
  ``v̂ = v·(1/(1−b2ᵗ))``, ``u = m̂ / (√v̂ + eps)``, ``θ ← θ + u·(−lr)``. The bias corrections
  are multiplications by a reciprocal because that is what optax's jitted
  ``tree_bias_correction`` compiles to on XLA:CPU; with this order the trajectories equal
  eager ``optax.adam`` updates bit for bit (see ``tests/test_simulate.py``).
* Random mini-batches: the run with seed ``s`` on a dataset of ``N`` data uses
  ``rng = numpy.random.default_rng(s)`` and draws its batch indices chunk by chunk,
  ``rng.integers(0, N, size=(min(CHUNK_STEPS, steps − k·CHUNK_STEPS), batch_size))`` for
  chunk ``k = 0, 1, …``; row ``j`` of chunk ``k`` is the batch of step ``k·CHUNK_STEPS + j + 1``.
  The stream therefore depends only on ``(s, N, batch_size)``: every loss and τ sees the same
  batches (common random numbers), a run gives the same numbers alone or in a grid, and a
  shorter run is a prefix of a longer one.

Scope and cost: a step evaluates ``h`` on every datum of every run's dataset (a dense
matmul with the signed incidence), so its cost is proportional to runs × total data; this
suits the paper's small datasets. At a few hundred runs a step is ~20 numpy calls, and
numpy's per-call overhead, not arithmetic, sets the speed (PAPER-GRID-240: ~0.35 s).
Memory: the recorded logits plus at most ``WEIGHT_BYTES`` of batch weights.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from . import _checks
from .closed_form import softmax_policy
from .losses import reference_gap, resolve_link
from .model import Dataset

#: Steps of randomness drawn (and of batch weights held in memory) at a time.
CHUNK_STEPS = 1024

#: Memory budget (bytes) of the per-step batch weights held at a time.
WEIGHT_BYTES = 64 * 2**20

#: Names of the run axes of :attr:`SimulationResult.probs`, before ``record`` and actions.
RUN_AXES = ("loss", "dataset", "tau", "seed")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Recorded trajectories of a grid of Adam runs (Sec. 5.4).

    Attributes
    ----------
    probs : ndarray, shape (loss, dataset, tau, seed, record, *logits_shape)
        Policies ``π = softmax(θ)`` at the recorded steps (softmax over the last axis).
    logits : ndarray, same shape as ``probs``
        The recorded logits θ themselves.
    steps : ndarray of int, shape (record,)
        Number of Adam updates done at each record: 0, k, 2k, … and always the last step.
    coords : dict
        Axis name → labels, in the order given: ``loss``, ``dataset``, ``tau``, ``seed``,
        ``record`` (= ``steps``) and ``action`` (and ``context`` for contextual datasets).
    dims : tuple of str
        Axis names of ``probs``.
    """

    probs: np.ndarray
    logits: np.ndarray
    steps: np.ndarray
    coords: dict
    dims: tuple

    def index(self, axis: str, label) -> int:
        """Position of ``label`` on the axis named ``axis``."""
        if axis not in self.coords:
            raise ValueError(f"axis = {axis!r}, must be one of {list(self.coords)}")
        labels = list(self.coords[axis])
        if label in labels:
            return labels.index(label)
        if isinstance(label, numbers.Real) and not isinstance(label, bool):
            # a float label typed differently (0.1 vs np.logspace's 0.1...): unique near-match
            close = [i for i, known in enumerate(labels) if isinstance(known, float)
                     and np.isclose(known, float(label), rtol=1e-9, atol=0.0)]
            if len(close) == 1:
                return close[0]
        raise ValueError(f"{axis} = {label!r} is not in the result, labels are {labels}")

    def select(self, *, loss, dataset, tau) -> np.ndarray:
        """``probs`` of one (loss, dataset, τ): shape (seed, record, *logits_shape)."""
        return self.probs[
            self.index("loss", loss), self.index("dataset", dataset), self.index("tau", tau)
        ]

    def mean_ci(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Mean over seeds and half-width of its two-sided Student-t confidence interval.

        The interval is ``mean ± t_{(1+level)/2, S−1} · sd / √S`` with ``sd`` the sample
        standard deviation (``ddof=1``) over the ``S`` seeds. One seed says nothing about
        the spread: with ``S = 1`` the half-width is ``inf`` (the limit of
        ``t_{(1+level)/2, ν}`` as ``ν → 0``), never a zero width that would claim certainty.

        Returns
        -------
        mean, half_width : ndarray, shape of ``probs`` without the seed axis
        """
        if not 0 < level < 1:
            raise ValueError(f"level = {level}, must be in (0, 1)")
        axis = self.dims.index("seed")
        n_seeds = self.probs.shape[axis]
        mean = self.probs.mean(axis=axis)
        if n_seeds < 2:
            return mean, np.full_like(mean, np.inf)
        sd = self.probs.std(axis=axis, ddof=1)
        t = stats.t.ppf(0.5 + level / 2, df=n_seeds - 1)
        return mean, t * sd / np.sqrt(n_seeds)


# ------------------------------------------------------------------------------ validation


def _validated_datasets(datasets) -> dict[str, Dataset]:
    if isinstance(datasets, Dataset):
        datasets = {"D": datasets}
    if not isinstance(datasets, Mapping):
        raise TypeError(
            f"datasets must be a Dataset or a mapping name -> Dataset, got "
            f"{type(datasets).__name__}"
        )
    if not datasets:
        raise ValueError("datasets is empty: give at least one Dataset")
    out = {}
    for name, data in datasets.items():
        if not isinstance(data, Dataset):
            raise TypeError(f"datasets[{name!r}] must be a Dataset, got {type(data).__name__}")
        out[str(name)] = data
    shapes = {name: d.logits_shape for name, d in out.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"datasets must share their logits shape (n_contexts, n_actions), "
                         f"got {shapes}")
    return out


def _validated_losses(losses) -> tuple[str, ...]:
    if isinstance(losses, str):
        losses = (losses,)
    if not isinstance(losses, Sequence) or not losses:
        raise TypeError(f"losses must be a non-empty sequence of loss names, got {losses!r}")
    names = []
    for i, name in enumerate(losses):
        try:
            names.append(resolve_link(name).name)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"losses[{i}]: {exc}") from None
    _no_duplicates(names, "losses")
    return tuple(names)


def _no_duplicates(labels, name: str) -> None:
    """Labels of a run axis must be unique: :meth:`SimulationResult.index` looks them up, and
    a repeated seed would count one run twice in the confidence intervals."""
    seen = set()
    for i, label in enumerate(labels):
        if label in seen:
            raise ValueError(f"{name}[{i}] = {label!r} repeats an earlier entry, {name} must "
                             f"be distinct")
        seen.add(label)


def _validated_taus(taus) -> np.ndarray:
    tau = _checks.tau(taus, "taus")
    if tau.ndim > 1:
        raise ValueError(f"taus must be a number or a one-dimensional sequence, got shape "
                         f"{tau.shape}")
    tau = np.atleast_1d(tau)
    if tau.size == 0:
        raise ValueError("taus is empty: give at least one tau")
    _no_duplicates(tau.tolist(), "taus")
    return tau


def _validated_seeds(seeds) -> tuple[int, ...]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = (seeds,)
    try:
        seeds = tuple(seeds)
    except TypeError:
        raise TypeError(f"seeds must be an int or a sequence of ints, got {seeds!r}") from None
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    for i, seed in enumerate(seeds):
        _checks.positive_int(seed, f"seeds[{i}]", minimum=0)
    seeds = tuple(int(s) for s in seeds)
    _no_duplicates(seeds, "seeds")
    return seeds


def _validated_init(init, run_shape, logits_shape) -> np.ndarray:
    shape = run_shape + logits_shape
    if init is None:
        return np.zeros(shape)
    theta = _checks.as_float_array(init, "init")
    try:
        return np.array(np.broadcast_to(theta, shape))
    except ValueError:
        raise ValueError(
            f"init has shape {theta.shape}, must broadcast to (loss, dataset, tau, seed) + "
            f"logits shape = {shape}"
        ) from None


def _validated_batches(batches, run_shape, steps, batch_size, sizes) -> np.ndarray:
    """Integer batch indices, reshaped to (loss, dataset, tau, seed, steps, batch) with 1s."""
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


# ------------------------------------------------------------------------------ mini-batches


def _counts(idx: np.ndarray, n_data: int) -> np.ndarray:
    """How often each datum appears in each batch: ``idx`` (..., B) -> counts (..., N)."""
    rows = np.arange(idx.size // idx.shape[-1]).reshape(idx.shape[:-1] + (1,))
    flat = np.bincount((rows * n_data + idx).ravel(), minlength=rows.size * n_data)
    return flat.reshape(idx.shape[:-1] + (n_data,)).astype(np.float64)


def sample_batches(seed: int, n_data: int, steps: int, batch_size: int) -> np.ndarray:
    """The mini-batch index stream :func:`simulate` uses for one seed (module docstring).

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
    rng = np.random.default_rng(seed)
    return np.concatenate([
        rng.integers(0, n_data, size=(min(CHUNK_STEPS, steps - start), batch_size))
        for start in range(0, steps, CHUNK_STEPS)
    ])


class _Weights:
    """Per-step datum weights ``c_i / B`` of every run, produced chunk by chunk.

    Layout (chunk, loss', tau', seed', M): ``M`` concatenates the data of all datasets (the
    block of dataset ``d`` belongs to the runs on ``d``), primed axes have length 1 when the
    weights do not vary along them (sampled batches vary only with the seed).
    """

    def __init__(self, sizes, seeds, batch_size, batches):
        self.sizes, self.batch_size, self.batches = sizes, batch_size, batches
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        if batches is None:
            self.shape = (1, 1, len(seeds))
            self.rngs = [[np.random.default_rng(s) for s in seeds] for _ in sizes]
        else:
            self.shape = (batches.shape[0], batches.shape[2], batches.shape[3])

    def draw(self, start: int, stop: int) -> None:
        """Draw the batch indices of steps ``start .. stop − 1`` (one stream chunk)."""
        if self.batches is None:
            self.idx = [np.stack([rng.integers(0, n_data, size=(stop - start, self.batch_size))
                                  for rng in self.rngs[d]])        # (seed, n, B)
                        for d, n_data in enumerate(self.sizes)]
        else:
            self.idx = [self.batches[:, d if self.batches.shape[1] > 1 else 0, :, :, start:stop]
                        for d in range(len(self.sizes))]           # (L', T', S', n, B)
        self.start = start

    def chunk(self, start: int, stop: int) -> np.ndarray:
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


# ------------------------------------------------------------------------------ simulator


def record_steps(steps: int, record_every: int) -> np.ndarray:
    """Recorded step numbers: ``0, k, 2k, …`` and always ``steps``."""
    rec = np.arange(0, steps + 1, record_every)
    return rec if rec[-1] == steps else np.append(rec, steps)


def simulate(datasets, losses, taus, seeds, *, steps=18000, batch_size=9, lr=0.01, b1=0.9,
             b2=0.999, eps=1e-8, init=None, record_every=10, batches=None, progress=False,
             pi_ref=None) -> SimulationResult:
    """Train softmax policies with Adam on empirical DPO/IPO losses, all runs at once (Sec. 5.4).

    Every run minimises ``Σ_i (c_i/B) ℓ(h_π(y_w,i, y_l,i))`` over mini-batches (Eq. 4 for
    ``"dpo"``, Eq. 17 for ``"ipo"``; links from :data:`psipo_exact.losses.LINKS`) with
    optax's Adam; see the module docstring for the exact update and random stream.

    Parameters
    ----------
    datasets : Dataset or mapping str -> Dataset
        The datasets D; all must share ``logits_shape``. Sizes may differ.
    losses : str or sequence of str
        Distinct loss names, e.g. ``("dpo", "ipo")``.
    taus : float or 1-D array_like
        Distinct regularisation strengths τ > 0 (finite).
    seeds : int or sequence of int
        Distinct seeds (>= 0) of the mini-batch streams, one run per seed.
    steps : int, default 18000
        Adam updates per run.
    batch_size : int, default 9
        Mini-batch size B (indices uniform on D, with replacement).
    lr, b1, b2, eps : float
        Adam hyper-parameters (optax defaults b1 = 0.9, b2 = 0.999, eps = 1e-8; lr > 0,
        0 <= b1, b2 < 1, eps >= 0).
    init : array_like, optional
        Initial logits θ₀, broadcastable to ``(loss, dataset, tau, seed) + logits_shape``;
        default zeros (π₀ uniform).
    record_every : int, default 10
        Record every this many steps (and always the last).
    batches : array_like of int, optional
        Replay these batch indices instead of sampling: shape ``(..., steps, batch_size)``,
        the leading axes broadcasting over (loss, dataset, tau, seed). ``seeds`` then only
        label the seed axis.
    progress : bool, default False
        Show a tqdm progress bar (``tqdm.auto``; as tqdm does with ``disable=None``, no bar
        is drawn when the output stream is not a terminal, e.g. in logs and CI).
    pi_ref : array_like, optional
        Reference policy πref, shape ``logits_shape``; default uniform.

    Returns
    -------
    SimulationResult

    Raises
    ------
    TypeError, ValueError
        For invalid arguments, naming the argument (checked before any computation).
    """
    data = _validated_datasets(datasets)
    loss_names = _validated_losses(losses)
    tau = _validated_taus(taus)
    seed_list = _validated_seeds(seeds)
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    record_every = _checks.positive_int(record_every, "record_every")
    lr = _checks.real_in_range(lr, "lr", 0.0, np.inf, closed_low=False)
    b1, b2 = _checks.real_in_range(b1, "b1", 0.0, 1.0), _checks.real_in_range(b2, "b2", 0.0, 1.0)
    eps = _checks.real_in_range(eps, "eps", 0.0, np.inf)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")
    logits_shape = next(iter(data.values())).logits_shape
    run_shape = (len(loss_names), len(data), tau.size, len(seed_list))
    sizes = [len(d) for d in data.values()]
    theta = _validated_init(init, run_shape, logits_shape)
    gap = _reference_gaps(data, pi_ref, logits_shape)
    if batches is not None:
        batches = _validated_batches(batches, run_shape, steps, batch_size, sizes)
    weights = _Weights(sizes, seed_list, batch_size, batches)
    adam = _Adam(b1, b2, eps, lr, steps)
    recorded = _run(theta, data, loss_names, tau, gap, weights, adam, steps, record_every,
                    progress)
    return _result(recorded, record_steps(steps, record_every), loss_names, data, tau,
                   seed_list, logits_shape)


def _reference_gaps(data: dict, pi_ref, logits_shape) -> np.ndarray | None:
    """Concatenated ``log πref(y_w) − log πref(y_l)`` of all datasets, or None if all zero."""
    if pi_ref is None:
        return None
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    if pi_ref.shape != logits_shape:
        raise ValueError(f"pi_ref has shape {pi_ref.shape}, must be {logits_shape}")
    gaps = {}
    for name, d in data.items():
        # reference_gap gives NaN, not an error, where πref vanishes on both actions of a datum
        with np.errstate(invalid="ignore"):
            gaps[name] = reference_gap(d, pi_ref)
        bad = ~np.isfinite(gaps[name])
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"pi_ref vanishes on the actions of datum {i} of dataset {name!r} "
                             f"(winner {d.winners[i]}, loser {d.losers[i]}): log pi_ref must "
                             "be finite on every compared action")
    gap = np.concatenate(list(gaps.values()))
    return gap if np.any(gap != 0) else None


def _block_incidence(data: dict) -> np.ndarray:
    """Block-diagonal signed incidence, shape ``(M, D·K)``: dataset ``d``'s data (rows) act on
    the logits of the runs on ``d`` (columns ``d·K .. d·K + K − 1``)."""
    blocks = [d.incidence.toarray() for d in data.values()]
    K = blocks[0].shape[1]
    out = np.zeros((sum(b.shape[0] for b in blocks), len(blocks) * K))
    row = 0
    for d, block in enumerate(blocks):
        out[row:row + block.shape[0], d * K:(d + 1) * K] = block
        row += block.shape[0]
    return out


class _Adam:
    """optax.adam in place on all runs at once.

    The moments are stacked, ``mv = [m, v]``, so that each of ``m ← (1−b1)·g + b1·m`` and
    ``v ← (1−b2)·(g·g) + b2·v`` takes the same numpy calls for both; every element still
    sees exactly optax's operations in optax's order. The bias-correction reciprocals
    ``1/(1 − b1ᵗ)``, ``1/(1 − b2ᵗ)`` are precomputed for every step.
    """

    def __init__(self, b1, b2, eps, lr, steps):
        self.b1, self.b2, self.eps, self.neg_lr = b1, b2, eps, -lr
        # C's pow (Python floats), which XLA's pow matches; numpy's SIMD power differs from
        # it by an ulp for some t (e.g. 0.999**6)
        self.inv_bc1 = [1.0 / (1.0 - b1**t) for t in range(1, steps + 1)]
        self.inv_bc2 = [1.0 / (1.0 - b2**t) for t in range(1, steps + 1)]

    def buffers(self, shape):
        """``g2 = [g, g²]`` (fill ``g2[0]`` with the gradient), ``mv``, ``hat`` and ``den``."""
        stacked = (2,) + tuple(shape)
        return np.empty(stacked), np.zeros(stacked), np.empty(stacked), np.empty(shape)

    def stepper(self, theta, g2, mv, hat, den):
        """``step(t)``: one update of ``theta`` in place from the gradient in ``g2[0]``.

        ``t`` is the 0-based step index. Constants are full arrays or 0-d arrays and every
        call writes into a preallocated buffer: at a few hundred runs numpy's per-call
        overhead, not arithmetic, is the cost of a step.
        """
        mul, add, div, sqrt = np.multiply, np.add, np.divide, np.sqrt
        g, m, v, m_hat, v_hat, g_sq = g2[0], mv[0], mv[1], hat[0], hat[1], g2[1]
        decay = np.empty(g2.shape)
        decay[0], decay[1] = self.b1, self.b2
        one_minus = np.empty(g2.shape)
        one_minus[0], one_minus[1] = 1 - self.b1, 1 - self.b2
        eps, neg_lr = np.full(den.shape, self.eps), np.full(den.shape, self.neg_lr)
        inv_bc1 = [np.array(x) for x in self.inv_bc1]
        inv_bc2 = [np.array(x) for x in self.inv_bc2]
        positive = den > 0 if self.eps == 0 else None

        def step(t: int) -> None:
            mul(g, g, g_sq)
            mul(g2, one_minus, g2)          # (1 − b1) g, (1 − b2) g²
            mul(mv, decay, mv)              # b1 m, b2 v
            add(g2, mv, mv)                 # m, v
            mul(m, inv_bc1[t], m_hat)
            mul(v, inv_bc2[t], v_hat)
            sqrt(v_hat, den)
            add(den, eps, den)              # √v̂ + eps
            if positive is None:
                div(m_hat, den, m_hat)
            else:  # eps = 0: v̂ = 0 only where every gradient so far was 0, so m̂ = 0 is the step
                np.greater(den, 0.0, positive)
                div(m_hat, den, m_hat, where=positive)
            mul(m_hat, neg_lr, m_hat)
            add(theta, m_hat, theta)

        return step


def _run(theta, data, loss_names, tau, gap, weights, adam, steps, record_every, progress):
    """The step loop; returns the recorded logits, shape (record, loss, dataset, tau, seed, K).

    Internally a run's logits are laid out (loss, tau, seed | dataset, K): one row per
    (loss, τ, seed) holding the logits of its runs on every dataset, so that one matmul with
    the block-diagonal incidence gives ``h`` for exactly each run's own data.
    """
    n_loss, n_data, n_tau, n_seed = theta.shape[:4]
    K = int(np.prod(theta.shape[4:]))
    incidence = _block_incidence(data)                       # (M, D·K)
    incidence_t = np.ascontiguousarray(incidence.T)
    M = incidence.shape[0]
    rows = (n_loss, n_tau, n_seed)
    state = np.ascontiguousarray(np.moveaxis(theta.reshape(theta.shape[:4] + (K,)), 1, 3))
    flat = state.reshape(-1, n_data * K)
    g2, mv, hat, den = adam.buffers(flat.shape)
    adam_step = adam.stepper(flat, g2, mv, hat, den)
    g = g2[0]
    h = np.empty(rows + (M,))
    coef = np.empty(rows + (M,))
    h_flat, coef_flat = h.reshape(-1, M), coef.reshape(-1, M)
    links = [(resolve_link(name).grad, h[i], coef[i]) for i, name in enumerate(loss_names)]
    # τ and the batch weights as full contiguous arrays: broadcasting ufunc loops over an
    # inner axis of a few data cost several times more than flat ones.
    tau_b = np.ascontiguousarray(np.broadcast_to(tau.reshape(-1, 1, 1), rows[1:] + (M,)))
    rec_steps = record_steps(steps, record_every)
    is_record = np.zeros(steps + 1, dtype=bool)
    is_record[rec_steps] = True
    is_record = is_record[1:].tolist()                      # after 0-based step t
    recorded = np.empty((rec_steps.size,) + state.shape)
    recorded[0] = state
    n_rec = 1
    bar = _progress_bar(steps) if progress else None
    matmul, multiply = np.matmul, np.multiply
    scatter = _order_independent_product(incidence)
    # weights of `span` steps at a time, at most ~WEIGHT_BYTES of memory
    span = int(np.clip(WEIGHT_BYTES // (8 * coef.size), 1, CHUNK_STEPS))
    for start in _chunk_starts(steps, span):
        stop = min(start + span, steps, (start // CHUNK_STEPS + 1) * CHUNK_STEPS)
        if start % CHUNK_STEPS == 0:
            weights.draw(start, min(start + CHUNK_STEPS, steps))
        w_chunk = weights.chunk(start, stop)
        w_chunk = np.ascontiguousarray(
            np.broadcast_to(w_chunk, w_chunk.shape[:2] + rows[1:] + (M,)))
        per_loss = [w_chunk[:, i if w_chunk.shape[1] > 1 else 0] for i in range(len(links))]
        for j in range(stop - start):
            t = start + j
            # forward: h_i = θ_w − θ_l − (log πref(w) − log πref(l)) for every run's data
            matmul(flat, incidence_t, h_flat)
            if gap is not None:
                np.subtract(h, gap, out=h)
            for (grad, h_l, coef_l), w_l in zip(links, per_loss):
                multiply(grad(h_l, tau_b), w_l[j], coef_l)     # (c_i / B) ℓ′(h_i)
            scatter(coef_flat, incidence, g)                   # Σ_i coef_i (e_w − e_l)
            adam_step(t)
            if is_record[t]:
                recorded[n_rec] = state
                n_rec += 1
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()
    return np.moveaxis(recorded, 4, 2)  # (record, loss, dataset, tau, seed, K)


def _order_independent_product(incidence: np.ndarray):
    """``out = coef @ incidence`` whose bits do not depend on how many runs are stacked.

    BLAS picks its summation order by matrix shape, so a run's gradient could differ in the
    last bit between a grid and a run alone. Where every action is in at most two data, each
    sum has at most two non-zero terms (the incidence is ±1/0, products are exact) and every
    order rounds the same, so BLAS is used; otherwise ``einsum``'s own loop sums over data in
    a fixed order (slower, ~5 µs a step at the paper's size).
    """
    if np.max(np.count_nonzero(incidence, axis=0), initial=0) <= 2:
        return lambda coef, inc, out: np.matmul(coef, inc, out)
    return lambda coef, inc, out: np.einsum("rm,mk->rk", coef, inc, out=out)


def _chunk_starts(steps: int, span: int):
    """First steps of the weight chunks: every ``span`` steps, restarting at each stream chunk."""
    for base in range(0, steps, CHUNK_STEPS):
        yield from range(base, min(base + CHUNK_STEPS, steps), span)


def _progress_bar(steps: int):
    from tqdm.auto import tqdm

    # disable=None: no bar when stderr is not a terminal (logs, CI, captured output)
    return tqdm(total=steps, desc="Adam steps", unit="step", disable=None)


def _result(recorded, rec_steps, loss_names, data, tau, seeds, logits_shape):
    # (record, L, D, T, S, K) -> (L, D, T, S, record, *logits_shape)
    recorded = np.ascontiguousarray(recorded)
    logits = np.moveaxis(recorded, 0, 4)
    logits = logits.reshape(logits.shape[:5] + logits_shape)
    first = next(iter(data.values()))
    actions = first.action_names or tuple(range(first.n_actions))
    coords = {"loss": loss_names, "dataset": tuple(data), "tau": tuple(float(t) for t in tau),
              "seed": seeds, "record": tuple(int(s) for s in rec_steps)}
    dims = RUN_AXES + ("record",)
    if len(logits_shape) == 2:
        coords["context"] = tuple(range(logits_shape[0]))
        dims += ("context",)
    coords["action"] = tuple(actions)
    return SimulationResult(probs=softmax_policy(logits), logits=logits, steps=rec_steps,
                            coords=coords, dims=dims + ("action",))
