"""Vectorised Adam simulator of the sampled experiments of Sec. 5.4 (Azar et al., 2310.12036).

The paper trains softmax policies ``π = softmax(θ)`` on a preference dataset ``D`` with the
empirical DPO loss (Eq. 4) or IPO loss (Eq. 17), using optax's Adam (lr 0.01) on mini-batches
of 9 data drawn uniformly with replacement, for 18000 steps and 10 seeds. :func:`simulate`
runs every (loss, dataset, τ, seed) combination at once: the state of all runs is one array,
and the only Python loop is the one over Adam steps.

Where things are (``simulate``, ``SimulationResult``, ``sample_batches``, ``record_steps``,
``CHUNK_STEPS``, ``RUN_AXES`` and ``WEIGHT_BYTES`` are importable from this package):

* :mod:`~psipo_exact.simulate.adam` — optax's Adam operation for operation, so that the
  trajectories equal eager ``optax.adam`` bit for bit.
* :mod:`~psipo_exact.simulate.batches` — the mini-batch index stream of each seed
  (``sample_batches``, ``CHUNK_STEPS``) and the per-step batch weights (``WEIGHT_BYTES``).
* :mod:`~psipo_exact.simulate.runner` — ``simulate``: argument validation and the step
  loop; its docstring documents the loss interface and the treatment of subnormals.
* :mod:`~psipo_exact.simulate.pairwise` — ``PairwiseLoss``: a loss as its derivatives in
  ``s_w, s_l`` (the LINKS of :mod:`psipo_exact.losses` adapted by ``from_link``).
* ``simulate/_gradients.py`` — the mini-batch gradient of every run, gathering
  each step's batch only, or through the dense incidence for the paper's tiny datasets.
* :mod:`~psipo_exact.simulate.result` — ``SimulationResult``, ``RUN_AXES``,
  ``record_steps``.

Scope and cost: a step gathers only the batch's data, so it costs O(runs × (B + n)) whatever
the dataset size N (SIM-SCALE in ``benchmarks/``: n = 1000, N = 10⁵, 32 runs); memory is
O(runs × n) plus the recorded logits and at most ``WEIGHT_BYTES`` of batch indices. For the
paper's datasets (smaller than a batch) a dense product over all data is faster and gives
the same bits. At a few hundred runs a step is ~20 numpy calls, and numpy's per-call
overhead, not arithmetic, sets the speed (PAPER-GRID-240: ~0.35 s).
"""

from __future__ import annotations

from .batches import CHUNK_STEPS, WEIGHT_BYTES, sample_batches
from .pairwise import PairwiseLoss
from .result import RUN_AXES, SimulationResult, record_steps
from .runner import simulate

__all__ = [
    "CHUNK_STEPS",
    "PairwiseLoss",
    "RUN_AXES",
    "WEIGHT_BYTES",
    "SimulationResult",
    "record_steps",
    "sample_batches",
    "simulate",
]
