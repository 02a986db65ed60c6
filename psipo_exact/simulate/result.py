"""What :func:`psipo_exact.simulate.simulate` returns: :class:`SimulationResult`, the names
of its run axes and the steps it records."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .. import _checks

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
        from scipy import stats  # here, not at module level: it costs ~0.5 s of import time

        t = stats.t.ppf(0.5 + level / 2, df=n_seeds - 1)
        return mean, t * sd / np.sqrt(n_seeds)


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
    """
    steps = _checks.positive_int(steps, "steps")
    record_every = _checks.positive_int(record_every, "record_every")
    rec = np.arange(0, steps + 1, record_every)
    return rec if rec[-1] == steps else np.append(rec, steps)
