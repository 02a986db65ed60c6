"""The mini-batch gradients of :func:`psipo_exact.simulate.simulate`, in two layouts.

The gradient of the mini-batch loss ``(1/B) Σ_{j≤B} ℓ(s_w,i_j, s_l,i_j)`` of a run is
``Σ_i (c_i / B) [∂ℓ/∂s_w (e_w − π) + ∂ℓ/∂s_l (e_l − π)]`` over the distinct data ``i`` of the
batch (``c_i`` their multiplicities), which for margin losses (Eq. 4, 17) is
``Σ_i (c_i / B) ℓ′(h_i) (e_{w_i} − e_{l_i})``. Both layouts compute every term with the same
IEEE operations and add each logit's terms in increasing datum order, so they give the same
bits, and a run's bits never depend on the other runs in the grid:

* :class:`SparseGradient` (any size): gathers only the batch's data
  (``np.take`` of the winners' and losers' logits) and scatters the ``2B`` terms with one
  ``np.bincount``: O(runs × (B + n)) a step, never an N × n matrix.
* :class:`DenseGradient` (the paper's tiny datasets, margin losses): one matmul with the
  block-diagonal signed incidence evaluates ``h`` on every datum; fewer, larger numpy calls
  when the whole dataset is smaller than a batch.
"""

from __future__ import annotations

import numpy as np


def batch_counts(idx: np.ndarray, n_data: int, batch_size: int) -> np.ndarray:
    """Dense batch weights ``c_i / B``: ``idx`` (..., B) -> (..., N)."""
    rows = np.arange(idx.size // idx.shape[-1]).reshape(idx.shape[:-1] + (1,))
    flat = np.bincount((rows * n_data + idx).ravel(), minlength=rows.size * n_data)
    return flat.reshape(idx.shape[:-1] + (n_data,)) / batch_size


def distinct_data(idx: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Each batch's distinct data in increasing order, with weights ``c_i / B``.

    Parameters
    ----------
    idx : ndarray of int, shape (..., B)
    batch_size : int

    Returns
    -------
    data : ndarray of int64, shape (..., B)
        The sorted batch.
    weights : ndarray, shape (..., B)
        ``c_i / B`` at the first occurrence of datum ``i`` in ``data``, 0 at repeats: so
        ``Σ_j weights_j f(data_j) = Σ_i (c_i / B) f(i)`` term for term.
    """
    data = np.sort(idx, axis=-1)
    first = np.ones(data.shape, dtype=bool)
    first[..., 1:] = data[..., 1:] != data[..., :-1]
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, first.size))
    weights = np.zeros(data.shape)
    weights.reshape(-1)[starts] = counts / batch_size
    return data, weights



#: Memory budget (bytes) of the sparse layout's per-block gather indices.
GATHER_BYTES = 8 * 2**20


def _terms_in_datum_order(incidence: np.ndarray):
    """``out = coef @ incidence`` adding each column's terms in increasing row order.

    BLAS picks its summation order by matrix shape, so a run's gradient could differ in the
    last bit between a grid and a run alone, and from the sparse layout. Where every action
    is in at most two data each sum has at most two non-zero terms (the incidence is ±1/0,
    products are exact) and every order rounds the same, so BLAS is used; otherwise
    ``einsum``'s own loop adds over data in row order.
    """
    if np.max(np.count_nonzero(incidence, axis=0), initial=0) <= 2:
        return lambda coef, out: np.matmul(coef, incidence, out)
    return lambda coef, out: np.einsum("rm,mk->rk", coef, incidence, out=out)


class DenseGradient:
    """Margin-loss gradients of all runs through the dense block-diagonal incidence.

    State layout (loss, tau, seed | dataset, K): one row per (loss, τ, seed) holding the
    logits of its runs on every dataset, so that one matmul with the block-diagonal
    incidence gives ``h`` for exactly each run's own data.

    Parameters
    ----------
    data : list of Dataset
    losses : list of PairwiseLoss
        All ``margin_only``.
    tau : ndarray, shape (T,)
    gap : ndarray, shape (M,), or None
        ``log πref(w) − log πref(l)`` of the concatenated data.
    n_seeds, batch_size : int
    """

    def __init__(self, data, losses, tau, gap, n_seeds, batch_size):
        blocks = [d.incidence.toarray() for d in data]
        self.K, self.sizes, self.batch_size = blocks[0].shape[1], [len(d) for d in data], batch_size
        incidence = np.zeros((sum(self.sizes), len(blocks) * self.K))
        row = 0
        for d, block in enumerate(blocks):
            incidence[row:row + block.shape[0], d * self.K:(d + 1) * self.K] = block
            row += block.shape[0]
        self.incidence_t = np.ascontiguousarray(incidence.T)
        self.scatter = _terms_in_datum_order(incidence)
        self.n_data, self.n_loss, self.gap = len(data), len(losses), gap
        M = incidence.shape[0]
        self.rows = (len(losses), tau.size, n_seeds)
        self.h = np.empty(self.rows + (M,))
        self.coef = np.empty(self.rows + (M,))
        self.grads = [loss.d_margin for loss in losses]
        # τ as a full contiguous array: broadcasting ufunc loops over an inner axis of a few
        # data cost several times more than flat ones.
        self.tau_b = np.ascontiguousarray(np.broadcast_to(tau.reshape(-1, 1, 1),
                                                          self.rows[1:] + (M,)))
        self.bytes_per_step, self.block_bytes = 8 * self.coef.size, None

    def state(self, theta: np.ndarray) -> np.ndarray:
        """``theta`` (L, D, T, S, K) in this layout, as a 2-D array Adam updates in place."""
        moved = np.moveaxis(theta, 1, 3)
        return np.ascontiguousarray(moved).reshape(-1, self.n_data * self.K)

    def logits(self, state: np.ndarray) -> np.ndarray:
        """The logits (L, D, T, S, K) of ``state`` (a copy)."""
        return np.moveaxis(state.reshape(self.rows + (self.n_data, self.K)), 3, 1).copy()

    def load(self, idx: np.ndarray) -> None:
        """Batch weights ``c_i / B`` of a block of steps, ``idx`` from ``BatchStream``."""
        offsets = np.cumsum([0] + self.sizes)
        w = np.empty((idx.shape[4],) + idx.shape[:1] + idx.shape[2:4] + (offsets[-1],))
        for d, n_data in enumerate(self.sizes):
            counts = batch_counts(idx[:, d if idx.shape[1] > 1 else 0], n_data, self.batch_size)
            w[..., offsets[d]:offsets[d + 1]] = np.moveaxis(counts, 3, 0)
        w = np.ascontiguousarray(np.broadcast_to(w, w.shape[:2] + self.rows[1:] + w.shape[-1:]))
        self.weights = [w[:, i if w.shape[1] > 1 else 0] for i in range(self.n_loss)]

    def gradient(self, state: np.ndarray, j: int, g: np.ndarray) -> None:
        """Write the gradient of step ``j`` of the loaded block into ``g``."""
        np.matmul(state, self.incidence_t, self.h.reshape(state.shape[0], -1))
        if self.gap is not None:
            np.subtract(self.h, self.gap, out=self.h)
        for i, grad in enumerate(self.grads):
            np.multiply(grad(self.h[i], self.tau_b), self.weights[i][j], self.coef[i])
        self.scatter(self.coef.reshape(state.shape[0], -1), g)


class SparseGradient:
    """Gradients of all runs from each step's batch only: gathers and one bincount scatter.

    State layout (loss, dataset, tau, seed | K), one row per run.

    Parameters
    ----------
    data : list of Dataset
    losses : list of PairwiseLoss
    tau : ndarray, shape (T,)
    gap : ndarray, shape (M,), or None
        ``log πref(w) − log πref(l)`` of the concatenated data (margin losses).
    log_ref : ndarray, shape (K,)
        ``log πref`` per logit (losses that are not ``margin_only``).
    n_seeds, batch_size : int
    """

    def __init__(self, data, losses, tau, gap, log_ref, n_seeds, batch_size):
        self.shape = (len(losses), len(data), tau.size, n_seeds)
        self.R, self.B = int(np.prod(self.shape)), batch_size
        self.n_ctx, self.n = data[0].n_contexts, data[0].n_actions
        self.K = self.n_ctx * self.n
        ctx = [d.context_index for d in data]
        self.win_node = np.concatenate([c * self.n + d.winners for c, d in zip(ctx, data)])
        self.lose_node = np.concatenate([c * self.n + d.losers for c, d in zip(ctx, data)])
        self.context = np.concatenate(ctx)
        self.offsets = np.cumsum([0] + [len(d) for d in data])[:-1]
        self.gap, self.log_ref, self.losses = gap, log_ref, losses
        per_loss = self.R // len(losses)
        self.slices = [slice(i * per_loss, (i + 1) * per_loss) for i in range(len(losses))]
        self.margin = all(loss.margin_only for loss in losses)
        self.tau_b = np.ascontiguousarray(np.broadcast_to(
            tau.reshape(1, 1, -1, 1, 1), self.shape + (batch_size,))).reshape(self.R, -1)
        self.run_base = (np.arange(self.R) * self.K).reshape(-1, 1)
        self.theta_w, self.theta_l, self.h = (np.empty((self.R, batch_size)) for _ in range(3))
        self.terms = np.empty((self.R, batch_size, 2))
        # winners' and losers' indices, their weights, gaps (and contexts, log πref), and
        # the temporaries of load(); blocks of a few dozen steps amortise load()'s calls
        self.bytes_per_step = self.R * batch_size * (64 if self.margin else 112)
        self.block_bytes = GATHER_BYTES

    def state(self, theta: np.ndarray) -> np.ndarray:
        """``theta`` (L, D, T, S, K) in this layout, as a 2-D array Adam updates in place."""
        return np.ascontiguousarray(theta).reshape(self.R, self.K)

    def logits(self, state: np.ndarray) -> np.ndarray:
        """The logits (L, D, T, S, K) of ``state`` (a copy)."""
        return state.reshape(self.shape + (self.K,)).copy()

    def load(self, idx: np.ndarray) -> None:
        """Gather indices and weights of a block of steps, ``idx`` from ``BatchStream``."""
        data, weights = distinct_data(idx, self.B)
        n_steps = idx.shape[4]
        full = self.shape[:2] + (self.shape[2], self.shape[3], n_steps, self.B)

        def per_run(x):  # (L', D', T', S', n, B) -> (n, R, B), contiguous
            return np.ascontiguousarray(np.moveaxis(np.broadcast_to(x, full), 4, 0)).reshape(
                n_steps, self.R, self.B)

        datum = per_run(data + self.offsets.reshape(1, -1, 1, 1, 1, 1))
        self.weights = per_run(weights)
        win, lose = self.win_node[datum], self.lose_node[datum]
        self.nodes = np.empty(datum.shape + (2,), dtype=np.intp)    # (n, R, B, 2)
        np.add(win, self.run_base, out=self.nodes[..., 0])
        np.add(lose, self.run_base, out=self.nodes[..., 1])
        self.gaps = None if self.gap is None else self.gap[datum]
        if not self.margin:
            self.s_ref = (self.log_ref[win], self.log_ref[lose])
            self.contexts = self.context[datum] + (np.arange(self.R) * self.n_ctx)[:, None]

    def gradient(self, state: np.ndarray, j: int, g: np.ndarray) -> None:
        """Write the gradient of step ``j`` of the loaded block into ``g``."""
        flat = state.reshape(-1)
        nodes = self.nodes[j]
        np.take(flat, nodes[..., 0], out=self.theta_w)
        np.take(flat, nodes[..., 1], out=self.theta_l)
        np.subtract(self.theta_w, self.theta_l, out=self.h)
        if self.gaps is not None:
            np.subtract(self.h, self.gaps[j], out=self.h)
        w, terms = self.weights[j], self.terms
        normaliser = None
        for loss, rows in zip(self.losses, self.slices):
            if loss.margin_only:
                np.multiply(loss.d_margin(self.h[rows], self.tau_b[rows]), w[rows],
                            terms[rows, :, 0])
                np.negative(terms[rows, :, 0], terms[rows, :, 1])
            else:
                normaliser = self._log_ratio_terms(state, j, rows, loss, normaliser)
        g.reshape(-1)[:] = np.bincount(nodes.reshape(-1), terms.reshape(-1),
                                       minlength=g.size)
        if normaliser is not None:
            g -= normaliser

    def _log_ratio_terms(self, state, j, rows, loss, normaliser):
        """Terms ``w ∂ℓ/∂s_w``, ``w ∂ℓ/∂s_l`` of a loss on ``s_w, s_l`` themselves, and its
        normaliser part ``Σ_i w_i (∂ℓ/∂s_w + ∂ℓ/∂s_l) π`` (added to ``normaliser``)."""
        theta = state[rows].reshape(-1, self.n_ctx, self.n)
        top = theta.max(axis=-1, keepdims=True)
        e = np.exp(theta - top)
        total = e.sum(axis=-1, keepdims=True)
        log_z = (top + np.log(total)).reshape(-1)                 # (runs · contexts,)
        start = rows.start * self.n_ctx
        z = log_z[self.contexts[j, rows] - start]
        s_w = self.theta_w[rows] - z - self.s_ref[0][j, rows]
        s_l = self.theta_l[rows] - z - self.s_ref[1][j, rows]
        tau, w = self.tau_b[rows], self.weights[j, rows]
        d_w = loss.d_winner(s_w, s_l, tau) * w
        d_l = loss.d_loser(s_w, s_l, tau) * w
        self.terms[rows, :, 0], self.terms[rows, :, 1] = d_w, d_l
        mass = np.bincount((self.contexts[j, rows] - start).reshape(-1), (d_w + d_l).reshape(-1),
                           minlength=log_z.size)
        part = (mass.reshape(-1, self.n_ctx, 1) * (e / total)).reshape(-1, self.K)
        if normaliser is None:
            normaliser = np.zeros((self.R, self.K))
        normaliser[rows] += part
        return normaliser
