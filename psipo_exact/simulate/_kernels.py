"""The numba kernels of ``simulate/_compiled.py`` (imported only when numba is installed).

Compiled without ``fastmath``: every float operation is the IEEE operation written, in the
order written (no fused multiply-add, no reassociation), as ``_compiled.py`` explains.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Compilation options: no fastmath (so no FMA contraction, no reassociation); IEEE division
#: (``error_model="numpy"``: no zero-division branch, which lets LLVM vectorise the Adam
#: loop; packed and scalar IEEE operations round alike). Cached on disk beside the module.
OPTIONS = dict(cache=True, fastmath=False, nogil=True, error_model="numpy")
_jit = numba.njit(**OPTIONS)


@_jit
def block(theta, mv, datum, weight, start, stop, n_loss, n_tau, win, lose, offsets, gap,
          has_gap, codes, tau, hyper, inv_bc, record_slot, recorded):
    """Steps ``start .. stop − 1`` of every run (the kernel of ``_compiled.CompiledRuns``).

    ``theta`` (R, K) in run order (loss, dataset, tau, seed); ``datum`` and ``weight``
    (L', D', T', S', n, width), primed axes of length 1 where they do not vary: each step's
    terms, data in increasing order with weights ``c_i / B`` (0 for terms that only pad or
    repeat a datum: they add ±0, which changes no sum) The runs of a step are
    independent: looping over runs inside the step loop lets the processor overlap their
    (long, serial) chains of dependent operations.
    """
    n_runs, n_logits = theta.shape
    n_data_sets = offsets.size - 1
    n_seeds = n_runs // (n_loss * n_data_sets * n_tau)
    lead, n_steps, width = datum.shape[:4], datum.shape[4], datum.shape[5]
    datum = datum.reshape(-1, width)        # rows (L', D', T', S', n) flattened
    weight = weight.reshape(-1, width)
    b1, b2, one_b1, one_b2, eps, neg_lr = (hyper[0], hyper[1], hyper[2], hyper[3], hyper[4],
                                           hyper[5])
    g = np.empty(n_logits)
    positive_eps = eps != 0.0
    # per run: loss code, −τ, 0.5/τ, 1/τ, its dataset's first datum, its first terms' row
    code, base, row = (np.empty(n_runs, dtype=np.int64), np.empty(n_runs, dtype=np.int64),
                       np.empty(n_runs, dtype=np.int64))
    neg_tau, half_over, one_over = np.empty(n_runs), np.empty(n_runs), np.empty(n_runs)
    for r in range(n_runs):
        s = r % n_seeds
        t_ = (r // n_seeds) % n_tau
        d = (r // (n_seeds * n_tau)) % n_data_sets
        loss = r // (n_seeds * n_tau * n_data_sets)
        code[r], base[r] = codes[loss], offsets[d]
        neg_tau[r], half_over[r], one_over[r] = -tau[t_], 0.5 / tau[t_], 1.0 / tau[t_]
        at = 0
        for axis, index in enumerate((loss, d, t_, s)):
            at = at * lead[axis] + (index if lead[axis] > 1 else 0)
        row[r] = at * n_steps
    for j in range(stop - start):
        step = start + j
        c1, c2 = inv_bc[0, step], inv_bc[1, step]
        slot = record_slot[step]
        for r in range(n_runs):
            terms = row[r] + j
            g[:] = 0.0
            for i in range(width):
                e = base[r] + datum[terms, i]
                h = theta[r, win[e]] - theta[r, lose[e]]
                if has_gap:
                    h = h - gap[e]
                if code[r] == 0:
                    nt = neg_tau[r]
                    grad = nt * (1.0 / (1.0 + math.exp(-(nt * h))))
                elif code[r] == 1:
                    grad = 2.0 * (h - half_over[r])
                else:
                    grad = (h - one_over[r]) + h
                term = grad * weight[terms, i]
                g[win[e]] += term
                g[lose[e]] += -term
            for k in range(n_logits):
                gk = g[k]
                m = gk * one_b1 + mv[0, r, k] * b1
                v = (gk * gk) * one_b2 + mv[1, r, k] * b2
                mv[0, r, k], mv[1, r, k] = m, v
                den = math.sqrt(v * c2) + eps
                m_hat = m * c1
                if positive_eps or den > 0.0:
                    m_hat = m_hat / den
                else:  # eps = 0 and √v̂ = 0: no step, also where m̂ ≠ 0 (g² underflowed)
                    m_hat = 0.0
                theta[r, k] = theta[r, k] + m_hat * neg_lr
            if slot >= 0:
                for k in range(n_logits):
                    recorded[r, slot, k] = theta[r, k]
