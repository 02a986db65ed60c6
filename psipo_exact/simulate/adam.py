"""optax's Adam, operation for operation, on all runs of :func:`psipo_exact.simulate.simulate`.

The update is ``optax.adam(lr, b1, b2, eps)`` (eps_root = 0) in float64:
``m ← (1−b1)·g + b1·m``, ``v ← (1−b2)·(g·g) + b2·v``, ``m̂ = m·(1/(1−b1ᵗ))``,
``v̂ = v·(1/(1−b2ᵗ))``, ``u = m̂ / (√v̂ + eps)``, ``θ ← θ + u·(−lr)``. The bias corrections
are multiplications by a reciprocal because that is what optax's jitted
``tree_bias_correction`` compiles to on XLA:CPU; with this order the trajectories equal
eager ``optax.adam`` updates bit for bit (see ``tests/test_simulate.py``).

One deliberate deviation, with ``eps = 0`` only: where ``√v̂ = 0`` — every gradient of that
logit so far was exactly 0 (an action no datum compares), or so small that ``(1 − b2)·g²``
underflowed to 0 (|g| ≲ 1e-162) — optax computes ``m̂ / 0``: NaN (0/0) in the first case, ±∞
in the second, and the logit is lost. Here the update is 0 there instead (the limit of
optax's update as eps → 0⁺ in the first case; in the second, exact arithmetic would give
``±lr``: a zero step is the safe choice). With ``eps > 0`` nothing differs.
"""

from __future__ import annotations

import numpy as np


class Adam:
    """optax.adam in place on all runs at once.

    The moments are stacked, ``mv = [m, v]``, so that each of ``m ← (1−b1)·g + b1·m`` and
    ``v ← (1−b2)·(g·g) + b2·v`` takes the same numpy calls for both; every element still
    sees exactly optax's operations in optax's order. The bias-correction reciprocals
    ``1/(1 − b1ᵗ)``, ``1/(1 − b2ᵗ)`` are precomputed for every step.

    Parameters
    ----------
    lr, b1, b2, eps : float
        optax.adam's learning rate, moment decays and denominator offset (validated by the
        caller).
    steps : int
        Number of updates the bias corrections are precomputed for.

    References
    ----------
    Kingma and Ba (2014), "Adam: A method for stochastic optimization", arXiv:1412.6980,
    Algorithm 1; ``optax.adam`` (Babuschkin et al., 2020), the optimiser of Azar et al.,
    arXiv:2310.12036, Sec. 5.4.

    Examples
    --------
    Adam's first update is ``−lr · g / (|g| + eps)``, about ``−lr · sign(g)``, and stays so
    while the gradient is constant (``m̂ = g``, ``v̂ = g²``):

    >>> import numpy as np
    >>> from psipo_exact.simulate.adam import Adam
    >>> theta = np.zeros(2)
    >>> adam = Adam(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, steps=2)
    >>> g2, mv, hat, den = adam.buffers(theta.shape)
    >>> step = adam.stepper(theta, g2, mv, hat, den)
    >>> for t in range(2):
    ...     g2[0] = [3.0, -0.5]
    ...     step(t)
    ...     print(np.round(theta, 8))
    [-0.01  0.01]
    [-0.02  0.02]
    """

    def __init__(self, lr, b1, b2, eps, steps):
        self.b1, self.b2, self.eps, self.neg_lr = b1, b2, eps, -lr
        # C's pow (Python floats), which XLA's pow matches; numpy's SIMD power differs from
        # it by an ulp for some t (e.g. 0.999**6)
        self.inv_bc1 = [1.0 / (1.0 - b1**t) for t in range(1, steps + 1)]
        self.inv_bc2 = [1.0 / (1.0 - b2**t) for t in range(1, steps + 1)]

    def buffers(self, shape):
        """``g2 = [g, g²]`` (fill ``g2[0]`` with the gradient), ``mv``, ``hat`` and ``den``.

        Parameters
        ----------
        shape : tuple of int
            Shape of the parameters θ.

        Returns
        -------
        g2, mv, hat : ndarray, shape (2, *shape)
            Gradient and its square, the moments ``[m, v]`` (zeros), ``[m̂, v̂]``.
        den : ndarray, shape ``shape``
            ``√v̂ + eps``.

        References
        ----------
        Kingma and Ba (2014), arXiv:1412.6980, Algorithm 1 (the moments m, v start at 0).

        Examples
        --------
        >>> from psipo_exact.simulate.adam import Adam
        >>> g2, mv, hat, den = Adam(0.01, 0.9, 0.999, 1e-8, steps=1).buffers((4, 3))
        >>> g2.shape, mv.shape, hat.shape, den.shape, float(abs(mv).max())
        ((2, 4, 3), (2, 4, 3), (2, 4, 3), (4, 3), 0.0)
        """
        stacked = (2,) + tuple(shape)
        return np.empty(stacked), np.zeros(stacked), np.empty(stacked), np.empty(shape)

    def stepper(self, theta, g2, mv, hat, den):
        """``step(t)``: one update of ``theta`` in place from the gradient in ``g2[0]``.

        ``t`` is the 0-based step index. Constants are full arrays or 0-d arrays and every
        call writes into a preallocated buffer: at a few hundred runs numpy's per-call
        overhead, not arithmetic, is the cost of a step.

        Parameters
        ----------
        theta : ndarray
            Parameters, updated in place.
        g2, mv, hat, den : ndarray
            The buffers of :meth:`buffers` for ``theta.shape``.

        Returns
        -------
        callable
            ``step(t)``, returning None.

        References
        ----------
        Kingma and Ba (2014), arXiv:1412.6980, Algorithm 1; ``optax.adam`` (eps_root = 0).

        Examples
        --------
        One step with ``b1 = b2 = 0`` is ``−lr · g / (|g| + eps)``:

        >>> import numpy as np
        >>> from psipo_exact.simulate.adam import Adam
        >>> theta = np.zeros(3)
        >>> adam = Adam(lr=0.5, b1=0.0, b2=0.0, eps=1.0, steps=1)
        >>> g2, mv, hat, den = adam.buffers(theta.shape)
        >>> step = adam.stepper(theta, g2, mv, hat, den)
        >>> g2[0] = [1.0, -3.0, 2.0]
        >>> step(0)
        >>> print(np.round(theta, 6))  # −0.5 · (1/2, −3/4, 2/3)
        [-0.25      0.375    -0.333333]
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
            else:  # eps = 0: a zero step where √v̂ = 0, where optax gives NaN or ±∞ (see doc)
                np.greater(den, 0.0, positive)
                div(m_hat, den, m_hat, where=positive)
                mul(m_hat, positive, m_hat)  # m̂ ≠ 0 where g² underflowed: still no step
            mul(m_hat, neg_lr, m_hat)
            add(theta, m_hat, theta)

        return step
