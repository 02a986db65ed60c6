"""A compiled step loop for :func:`psipo_exact.simulate.simulate` (optional: the ``numba`` extra).

One kernel runs every (loss, dataset, τ, seed) run of a margin loss of
:data:`psipo_exact.losses.LINKS` through a block of Adam steps: per run and step, the
batch's distinct data in increasing order with weights ``c_i / B``, the margins
``h_i = (θ_w − θ_l) − (log πref(w) − log πref(l))``, the terms ``ℓ′(h_i) · c_i/B`` added to
``g_w`` and subtracted from ``g_l`` in increasing datum order, and optax's Adam
(:mod:`psipo_exact.simulate.adam`). Each element sees the NumPy layouts' IEEE operations
in their order (``simulate/_gradients.py``), so the results are the same bits:

* ``ℓ′`` is :data:`~psipo_exact.losses.LINKS`' ``grad`` written out: DPO
  ``(−τ) · expit((−τ) · h)`` with ``expit(x) = 1 / (1 + exp(−x))`` (scipy's expit calls
  the C library's ``exp``, as compiled code does; NumPy's own vectorised ``exp`` may differ
  in the last bit, so none is used), IPO ``2 · (h − 0.5/τ)``, symmetric IPO
  ``(h − 1/τ) + h``;
* numba compiles without ``fastmath``, so LLVM neither contracts ``a·b + c`` into a fused
  multiply-add nor reorders sums (``tests/test_simulate_compiled.py`` checks the machine
  code for FMA instructions and the results against the NumPy path bit for bit);
* subnormals are kept (strict IEEE, as the NumPy path and eager optax).

The environment variable ``PSIPO_EXACT_NO_NUMBA`` (any non-empty value but ``0``) forces
the NumPy path; without numba installed it is the only one, with the same numbers.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ._gradients import GATHER_BYTES, batch_counts, distinct_data

#: Element-steps from which loading numba pays in a process that has not imported it (it
#: costs ~0.5 s; the kernel saves ~0.01 µs an element-step: the paper's Figures 1–2, 4·10⁷,
#: stay on NumPy in a cold ``psipo-exact reproduce``).
COMPILE_WORK = 5e7

#: Loss codes of the kernel, by LINKS name.
LOSS_CODES = {"dpo": 0, "ipo": 1, "ipo_symmetric": 2}

_KERNEL = []   # [kernel] once compiled, [None] when numba is absent or disabled


def disabled() -> bool:
    """Whether ``PSIPO_EXACT_NO_NUMBA`` forces the NumPy path."""
    return os.environ.get("PSIPO_EXACT_NO_NUMBA", "") not in ("", "0")


def kernel(work: float | None = None):
    """The compiled block kernel, or None (numba absent, or ``PSIPO_EXACT_NO_NUMBA``).

    With ``work`` (element-steps: runs × steps × (logits + terms per step)) below
    :data:`COMPILE_WORK` and numba not imported yet, None as well: loading numba and the
    cached kernel (~0.5 s) would cost more than it saves (the NumPy path gives the same
    bits)."""
    if disabled():
        return None
    if not _KERNEL and work is not None and work < COMPILE_WORK and "numba" not in sys.modules:
        return None
    if not _KERNEL:
        try:
            from ._kernels import block
        except ImportError:  # numba is not installed
            block = None
        _KERNEL.append(block)
    return _KERNEL[0]


def loss_codes(losses) -> np.ndarray | None:
    """Kernel codes of the losses, or None if one is not a LINKS margin loss."""
    from ..losses import LINKS

    codes = []
    for loss in losses:
        link = LINKS.get(loss.name)
        if link is None or loss.name not in LOSS_CODES or loss.d_margin is not link.grad:
            return None
        codes.append(LOSS_CODES[loss.name])
    return np.array(codes, dtype=np.int64)


class CompiledRuns:
    """All runs of a margin-loss grid through the compiled kernel, block by block.

    Parameters
    ----------
    data : list of Dataset
    codes : ndarray of int64
        :func:`loss_codes` of the losses.
    tau : ndarray, shape (T,)
    gap : ndarray, shape (M,), or None
        ``log πref(w) − log πref(l)`` of the concatenated data.
    adam : Adam
        Hyper-parameters and bias-correction reciprocals.
    run_shape : tuple of int
        (L, D, T, S).
    """

    def __init__(self, data, codes, tau, gap, adam, run_shape, batch_size):
        ctx = [d.context_index for d in data]
        n = data[0].n_actions
        self.win = np.concatenate([c * n + d.winners for c, d in zip(ctx, data)]).astype(np.int64)
        self.lose = np.concatenate([c * n + d.losers for c, d in zip(ctx, data)]).astype(np.int64)
        self.offsets = np.cumsum([0] + [len(d) for d in data]).astype(np.int64)
        self.gap = np.zeros(self.win.size) if gap is None else np.ascontiguousarray(gap)
        self.has_gap, self.codes, self.tau = gap is not None, codes, np.ascontiguousarray(tau)
        self.adam, self.run_shape, self.batch_size = adam, run_shape, batch_size
        sizes = np.diff(self.offsets)
        # tiny datasets: every datum every step (weights c_i/B, 0 when not drawn), else
        # each batch's sorted distinct data (weight 0 at repeats); both as the NumPy layouts
        self.dense = int(sizes.max()) <= batch_size
        self.width = int(sizes.max()) if self.dense else batch_size
        # bytes of one step's terms of all runs, and temporaries (the stream's block budget)
        self.bytes_per_step = 48 * self.width * int(np.prod(run_shape[1:]))

    def terms(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Data and weights of a block's terms, ``idx`` (L', D', T', S', n, B) from
        ``BatchStream``: shape (L', D', T', S', n, width)."""
        if not self.dense:
            datum, weight = distinct_data(idx, self.batch_size)
            return datum, weight
        sizes = np.diff(self.offsets)
        weight = np.zeros(idx.shape[:5] + (self.width,))
        for d, n_data in enumerate(sizes):
            part = idx[:, d if idx.shape[1] > 1 else 0]
            weight[:, d if idx.shape[1] > 1 else 0, ..., :n_data] = batch_counts(
                part, int(n_data), self.batch_size)
            if idx.shape[1] == 1:
                break
        # padding terms (weight 0) repeat a dataset's last datum: ±0 changes no sum
        shared = idx.shape[1] == 1   # replayed indices valid in every dataset
        last = sizes.min(keepdims=True) - 1 if shared else (sizes - 1).reshape(-1, 1, 1, 1)
        datum = np.minimum(np.arange(self.width), last)
        return np.ascontiguousarray(np.broadcast_to(datum[None, ..., None, :], weight.shape)), \
            weight

    def run(self, theta, recorded, record_slot, stream, steps, bar) -> None:
        """Adam steps ``0 .. steps − 1`` on ``theta`` (R, K), in place; after step ``t``
        the logits go to ``recorded[:, record_slot[t]]`` when ``record_slot[t] >= 0``."""
        a = self.adam
        mv = np.zeros((2,) + theta.shape)
        inv_bc = np.array([a.inv_bc1, a.inv_bc2])
        hyper = np.array([a.b1, a.b2, 1 - a.b1, 1 - a.b2, a.eps, a.neg_lr])
        block = kernel()
        for start, stop, idx in stream.blocks(steps, self.bytes_per_step, GATHER_BYTES):
            datum, weight = self.terms(idx)
            block(theta, mv, datum, weight, start, stop, self.run_shape[0], self.run_shape[2],
                  self.win, self.lose, self.offsets, self.gap, self.has_gap, self.codes,
                  self.tau, hyper, inv_bc, record_slot, recorded)
            if bar is not None:
                bar.update(stop - start)
