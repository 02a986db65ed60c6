"""What :func:`psipo_exact.simulate.simulate` returns: :class:`SimulationResult`, the names
of its run axes and the steps it records."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .. import _checks
from ..closed_form import softmax_policy

#: Names of the run axes of :attr:`SimulationResult.probs`, before ``record`` and actions.
RUN_AXES = ("loss", "dataset", "tau", "seed")


def _short(labels, head: int = 3) -> str:
    """``(0.01, 0.1, 0.5, ..., 10)``: a coordinate's labels, elided in the middle when long."""
    text = [f"{x:g}" if isinstance(x, float) else repr(x) if isinstance(x, str) else str(x)
            for x in labels]
    if len(text) > 2 * head:
        text = text[:head] + ["..."] + text[-head:]
    return "(" + ", ".join(text) + ("," if len(text) == 1 else "") + ")"


@dataclass(frozen=True, eq=False, repr=False)
class SimulationResult:
    """Recorded trajectories of a grid of Adam runs (Sec. 5.4).

    Attributes
    ----------
    probs : ndarray, shape (loss, dataset, tau, seed, record, *logits_shape)
        Policies ``π = softmax(θ)`` at the recorded steps (softmax over the last axis),
        computed from ``logits`` on first access, a few records at a time, and kept: the
        simulation itself holds only the logits.
    logits : ndarray, same shape as ``probs``
        The recorded logits θ themselves.
    steps : ndarray of int, shape (record,)
        Number of Adam updates done at each record: 0, k, 2k, … and always the last step.
    coords : dict
        Axis name → labels, in the order given: ``loss``, ``dataset``, ``tau``, ``seed``,
        ``record`` (= ``steps``) and ``action`` (and ``context`` for contextual datasets).
    dims : tuple of str
        Axis names of ``probs``.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (learning curves of Figures 1 and 2: means
    over 10 seeds with 95% confidence intervals).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> res = px.simulate({"D1": px.paper_dataset("D1")}, ["dpo", "ipo"], [0.1, 1.0],
    ...                   seeds=[0, 1, 2], steps=200, record_every=100)
    >>> res.dims
    ('loss', 'dataset', 'tau', 'seed', 'record', 'action')
    >>> res.probs.shape, res.steps.tolist()
    ((2, 1, 2, 3, 3, 3), [0, 100, 200])
    >>> res.coords["loss"], res.coords["action"]
    (('dpo', 'ipo'), ('a', 'b', 'c'))
    >>> print(res.probs[..., 0, :].max(), res.probs[..., 0, :].min())  # θ₀ = 0: uniform
    0.3333333333333333 0.3333333333333333
    """

    logits: np.ndarray
    steps: np.ndarray
    coords: dict
    dims: tuple

    @cached_property
    def probs(self) -> np.ndarray:
        """``softmax(logits)`` on the last axis, computed on first access and cached.

        Only the recorded logits are held while simulating; the policies (Eq. 6's softmax
        parametrisation) are derived from them here, with the same bits as
        :func:`psipo_exact.softmax_policy` of each record.

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 5.4 (softmax policies trained by Adam).

        Examples
        --------
        >>> import numpy as np
        >>> import psipo_exact as px
        >>> runs = px.simulate(px.paper_dataset("D1"), "ipo", 0.1, 0, steps=20, record_every=10)
        >>> runs.probs.shape, bool(np.array_equal(runs.probs, px.softmax_policy(runs.logits)))
        ((1, 1, 1, 1, 3, 3), True)
        """
        return _policies(self.logits)

    def __repr__(self) -> str:
        """Shapes and coordinates, in a few lines (as xarray prints a DataArray).

        Examples
        --------
        >>> import psipo_exact as px
        >>> runs = px.simulate(px.paper_dataset("D1"), ["dpo", "ipo"], [0.1, 1.0],
        ...                    range(10), steps=100, record_every=10)
        >>> runs
        <SimulationResult: 40 runs × 100 Adam steps, probs and logits of shape (2, 1, 2, 10, 11, 3)>
        Coordinates:
          loss     ('dpo', 'ipo')
          dataset  ('D',)
          tau      (0.1, 1)
          seed     (0, 1, 2, ..., 7, 8, 9)
          record   (0, 10, 20, ..., 80, 90, 100)
          action   ('a', 'b', 'c')
        """
        runs = int(np.prod(self.logits.shape[:len(RUN_AXES)]))
        steps = int(self.steps[-1]) if len(self.steps) else 0
        lines = [f"<SimulationResult: {runs} runs × {steps} Adam steps, probs and logits of "
                 f"shape {self.logits.shape}>", "Coordinates:"]
        width = max(len(axis) for axis in self.coords)
        lines += [f"  {axis:<{width}}  {_short(labels)}" for axis, labels in self.coords.items()]
        return "\n".join(lines)

    def index(self, axis: str, label) -> int:
        """Position of ``label`` on the axis named ``axis``.

        Parameters
        ----------
        axis : str
            An axis name of :attr:`coords`, e.g. ``"tau"``.
        label
            One of its labels; a real number also matches the one float label within
            relative 1e-9 of it, if exactly one is (``0.1`` finds ``np.logspace``'s 0.1...).

        Returns
        -------
        int

        Raises
        ------
        ValueError
            If the axis or the label is not in the result.

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 5.4 (the τ grid and losses of Figures 1, 2).

        Examples
        --------
        >>> import numpy as np
        >>> import psipo_exact as px
        >>> res = px.simulate(px.paper_dataset("D1"), ["dpo", "ipo"], np.logspace(-1, 1, 3),
        ...                   seeds=[0], steps=10)
        >>> res.index("loss", "ipo"), res.index("tau", 10), res.index("action", "c")
        (1, 2, 2)
        >>> res.index("tau", 0.5)
        Traceback (most recent call last):
        ...
        ValueError: tau = 0.5 is not in the result, labels are [0.1, 1.0, 10.0]
        """
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
        """``probs`` of one (loss, dataset, τ).

        Parameters
        ----------
        loss, dataset, tau
            Labels on those axes (see :meth:`index`).

        Returns
        -------
        ndarray, shape (seed, record, *logits_shape)

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 5.4 (one panel of Figure 1 or 2).

        Examples
        --------
        Full-batch replay (every step sees all of D1) takes IPO to its Eq. 17 optimum
        ``softmax(1/3, 0, −1/3)`` at τ = 1, while DPO heads for its limit ``(1, 0, 0)``:

        >>> import numpy as np
        >>> import psipo_exact as px
        >>> d1 = px.paper_dataset("D1")
        >>> full = np.tile([0, 1, 2], (1000, 1))
        >>> res = px.simulate({"D1": d1}, ["dpo", "ipo"], 1.0, seeds=[0], steps=1000,
        ...                   batch_size=3, batches=full, record_every=500)
        >>> ipo = res.select(loss="ipo", dataset="D1", tau=1.0)
        >>> ipo.shape
        (1, 3, 3)
        >>> print(np.round(ipo[0, -1], 4), np.round(px.softmax_policy([1 / 3, 0, -1 / 3]), 4))
        [0.4484 0.3213 0.2302] [0.4484 0.3213 0.2302]
        >>> print(np.round(res.select(loss="dpo", dataset="D1", tau=1.0)[0, -1], 2))
        [0.97 0.03 0.  ]
        """
        return self.probs[
            self.index("loss", loss), self.index("dataset", dataset), self.index("tau", tau)
        ]

    def mean_ci(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Mean over seeds and half-width of its two-sided Student-t confidence interval.

        The interval is ``mean ± t_{(1+level)/2, S−1} · sd / √S`` with ``sd`` the sample
        standard deviation (``ddof=1``) over the ``S`` seeds. One seed says nothing about
        the spread: with ``S = 1`` the half-width is ``inf`` (the limit of
        ``t_{(1+level)/2, ν}`` as ``ν → 0``), never a zero width that would claim certainty.

        Parameters
        ----------
        level : float, default 0.95
            Confidence level, in (0, 1).

        Returns
        -------
        mean, half_width : ndarray, shape of ``probs`` without the seed axis

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 5.4 ("mean and 95% confidence intervals" over
        10 seeds); Student (1908), Biometrika 6(1) for the t interval.

        Examples
        --------
        With S = 3 seeds the half-width is ``t_{0.975, 2} · sd / √3``, ``t_{0.975, 2} =
        4.3027``:

        >>> import numpy as np
        >>> import psipo_exact as px
        >>> from scipy import stats
        >>> res = px.simulate(px.paper_dataset("D1"), "ipo", 1.0, seeds=[0, 1, 2], steps=50)
        >>> mean, half = res.mean_ci()
        >>> mean.shape
        (1, 1, 1, 6, 3)
        >>> t = stats.t.ppf(0.975, df=2)
        >>> sd = res.probs.std(axis=3, ddof=1)
        >>> print(f"{t:.4f}", bool(np.allclose(half, t * sd / np.sqrt(3))))
        4.3027 True

        One seed gives no interval:

        >>> res = px.simulate(px.paper_dataset("D1"), "ipo", 1.0, seeds=[0], steps=50)
        >>> float(res.mean_ci()[1].max())
        inf
        """
        if not 0 < level < 1:
            raise ValueError(f"level = {level}, must be in (0, 1)")
        axis = self.dims.index("seed")
        n_seeds = self.logits.shape[axis]
        mean = self.probs.mean(axis=axis)
        if n_seeds < 2:
            return mean, np.full_like(mean, np.inf)
        sd = self.probs.std(axis=axis, ddof=1)
        # the Student-t quantile, as scipy.stats.t.ppf computes it (it calls stdtrit), without
        # importing scipy.stats (~0.5 s)
        from scipy.special import stdtrit

        t = stdtrit(n_seeds - 1, 0.5 + level / 2)
        return mean, t * sd / np.sqrt(n_seeds)


def _policies(logits: np.ndarray) -> np.ndarray:
    """``softmax_policy`` a few records at a time: its temporaries stay small, so the peak
    memory is the logits and the policies (the same numbers: the softmax is per row)."""
    probs = np.empty_like(logits)
    flat_logits = logits.reshape((-1,) + logits.shape[5:])
    flat_probs = probs.reshape(flat_logits.shape)
    rows = max(1, 2**22 // (8 * int(np.prod(logits.shape[5:], dtype=int))))  # ~4 MiB
    for start in range(0, flat_logits.shape[0], rows):
        flat_probs[start:start + rows] = softmax_policy(flat_logits[start:start + rows])
    return probs


def record_steps(steps: int, record_every: int) -> np.ndarray:
    """Recorded step numbers: ``0, k, 2k, …`` and always ``steps``.

    Parameters
    ----------
    steps : int
        Number of Adam updates.
    record_every : int
        Recording interval ``k``.

    Returns
    -------
    ndarray of int
        Increasing step numbers, first 0, last ``steps``.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (learning curves over 18000 Adam steps).

    Examples
    --------
    >>> from psipo_exact.simulate import record_steps
    >>> record_steps(25, 10).tolist(), record_steps(30, 10).tolist()
    ([0, 10, 20, 25], [0, 10, 20, 30])
    """
    steps = _checks.positive_int(steps, "steps")
    record_every = _checks.positive_int(record_every, "record_every")
    rec = np.arange(0, steps + 1, record_every)
    return rec if rec[-1] == steps else np.append(rec, steps)
