"""Preference models and preference datasets (Sec. 2 and 3.1 of Azar et al., 2310.12036).

A :class:`PreferenceModel` is the population object of the paper: the true preference
``p*(y ≻ y′ | x)``, the behaviour policy ``µ`` that generates the compared pairs, the
reference policy ``πref`` and, optionally, the context distribution ``ρ``.
A :class:`Dataset` is the empirical object ``D = (x_i, y_w,i ≻ y_l,i)_{i=1..N}`` as integer
index arrays. Actions are the integers ``0 .. n_actions - 1``; contexts ``0 .. n_contexts - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from . import _base, _checks


@dataclass(frozen=True, eq=False)
class PreferenceModel:
    """A population preference problem ``(p*, µ, πref, ρ)`` of Sec. 2.

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
        ``prefs[..., i, j] = p*(y_i ≻ y_j | x)``; entries in [0, 1], ``prefs + prefsᵀ = 1``
        (hence diagonal 1/2), to 1e-9.
    mu : array_like, shape (..., n)
        Behaviour policy µ generating the compared actions (probability vectors).
    pi_ref : array_like, shape (..., n)
        Reference policy πref.
    rho : array_like, shape (n_contexts,), optional
        Context distribution ρ. When given, the last leading axis of ``prefs``, ``mu`` and
        ``pi_ref`` (after broadcasting) is the context axis and must have ``n_contexts``
        entries.

    Raises
    ------
    ValueError
        If any probability is negative, does not sum to one, preferences are not
        complementary, action counts differ or leading shapes do not broadcast.
    """

    prefs: np.ndarray
    mu: np.ndarray
    pi_ref: np.ndarray
    rho: np.ndarray | None = None

    def __post_init__(self):
        prefs = _checks.preference_matrix(self.prefs)
        n = prefs.shape[-1]
        mu = _checks.probability_vector(self.mu, "mu")
        pi_ref = _checks.probability_vector(self.pi_ref, "pi_ref")
        _checks.n_actions_match(n, "prefs", mu=mu, pi_ref=pi_ref)
        lead = _checks.broadcastable(
            ("prefs", prefs.shape[:-2]), ("mu", mu.shape[:-1]), ("pi_ref", pi_ref.shape[:-1])
        )
        rho = None
        if self.rho is not None:
            rho = _checks.probability_vector(self.rho, "rho")
            if rho.ndim != 1:
                raise ValueError(f"rho must be one-dimensional, got shape {rho.shape}")
            if not lead or lead[-1] != rho.shape[0]:
                raise ValueError(
                    f"rho has {rho.shape[0]} contexts but the context axis (last leading "
                    f"axis) of prefs/mu/pi_ref has shape {lead}"
                )
            rho = _base.frozen(rho)
        object.__setattr__(self, "prefs", _base.frozen(prefs))
        object.__setattr__(self, "mu", _base.frozen(mu))
        object.__setattr__(self, "pi_ref", _base.frozen(pi_ref))
        object.__setattr__(self, "rho", rho)

    @property
    def n_actions(self) -> int:
        """Number of actions ``n = |Y|``."""
        return self.prefs.shape[-1]


def bradley_terry_prefs(rewards) -> np.ndarray:
    """Bradley–Terry preferences ``p(y ≻ y′) = σ(r(y) − r(y′))`` (Eq. 1).

    Parameters
    ----------
    rewards : array_like, shape (..., n)
        Finite rewards (Elo scores) ``r(y)``.

    Returns
    -------
    prefs : ndarray, shape (..., n, n)
        ``prefs[..., i, j] = sigmoid(r_i − r_j)``, exactly complementary.
    """
    r = _checks.as_float_array(rewards, "rewards", min_ndim=1)
    with np.errstate(over="ignore"):  # |r| near the float maximum: σ(±∞) = 1 or 0
        diff = r[..., :, None] - r[..., None, :]
    upper = expit(diff)
    # Take the lower triangle as 1 − upper so that prefs + prefsᵀ = 1 holds to the last bit
    # of the larger entry, and the diagonal is exactly 1/2.
    tri = np.triu(np.ones(diff.shape[-2:], dtype=bool), k=1)
    prefs = np.where(tri, upper, 1.0 - np.swapaxes(upper, -1, -2))
    idx = np.arange(r.shape[-1])
    prefs[..., idx, idx] = 0.5
    return prefs


@dataclass(frozen=True, eq=False)
class Dataset:
    """A preference dataset ``D = (x_i, y_w,i ≻ y_l,i)`` (Sec. 2) as index arrays.

    Parameters
    ----------
    winners, losers : array_like of int, shape (N,)
        Indices of the preferred and dispreferred action of each datum, in
        ``0 .. n_actions - 1``. Duplicates are allowed and count as repeated data.
    n_actions : int
        Size of the action space (at least 2).
    contexts : array_like of int, shape (N,), optional
        Context index of each datum, in ``0 .. n_contexts - 1``. ``None`` for the bandit
        setting of the paper's experiments (one context).
    n_contexts : int, optional
        Number of contexts; defaults to ``max(contexts) + 1`` (1 without contexts).
    action_names : sequence of str, optional
        Labels of the actions, for display and file input/output.
    weights : array_like of float, shape (N,), optional
        How many times each datum counts (aggregated data: a datum of weight ``c`` is ``c``
        identical comparisons, so 10⁶ battles between a few models cost O(distinct pairs)).
        Finite and ``>= 0`` with a positive total; ``None`` means 1 each. Every loss takes
        the weighted mean, every solver the weighted problem, and the simulator draws data
        with probability proportional to their weight. Data of weight 0 are ignored (they
        neither connect nor orient the comparison graph).

    Raises
    ------
    ValueError
        On an empty dataset, length mismatches, out-of-range indices, a datum comparing an
        action with itself, or invalid weights.
    """

    winners: np.ndarray
    losers: np.ndarray
    n_actions: int
    contexts: np.ndarray | None = None
    n_contexts: int | None = None
    action_names: tuple[str, ...] | None = field(default=None)
    weights: np.ndarray | None = None

    def __post_init__(self):
        n = _checks.positive_int(self.n_actions, "n_actions", minimum=2)
        winners = _checks.index_array(self.winners, "winners")
        losers = _checks.index_array(self.losers, "losers")
        if winners.size == 0:
            raise ValueError("winners is empty: a dataset needs at least one comparison")
        if losers.shape != winners.shape:
            raise ValueError(
                f"losers has {losers.size} entries, winners has {winners.size}: must match"
            )
        for name, idx in (("winners", winners), ("losers", losers)):
            bad = (idx < 0) | (idx >= n)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"{name}[{i}] = {idx[i]}, must be in [0, {n - 1}]")
        same = winners == losers
        if same.any():
            i = int(np.argmax(same))
            raise ValueError(
                f"winners[{i}] = losers[{i}] = {winners[i]}: an action cannot be compared "
                "with itself"
            )
        contexts, n_ctx = self._validated_contexts(winners.size)
        names = None
        if self.action_names is not None:
            names = tuple(str(a) for a in self.action_names)
            if len(names) != n:
                raise ValueError(f"action_names has {len(names)} labels, n_actions is {n}")
        object.__setattr__(self, "n_actions", n)
        object.__setattr__(self, "winners", _base.frozen(winners))
        object.__setattr__(self, "losers", _base.frozen(losers))
        object.__setattr__(self, "contexts", None if contexts is None else _base.frozen(contexts))
        object.__setattr__(self, "n_contexts", n_ctx)
        object.__setattr__(self, "action_names", names)
        object.__setattr__(self, "weights", self._validated_weights(winners.size))

    def _validated_weights(self, size: int) -> np.ndarray | None:
        if self.weights is None:
            return None
        weights = _checks.as_float_array(self.weights, "weights", min_ndim=1)
        if weights.shape != (size,):
            raise ValueError(f"weights has shape {weights.shape}, must be ({size},): one "
                             "weight per datum")
        negative = weights < 0
        if negative.any():
            i = int(np.argmax(negative))
            raise ValueError(f"weights[{i}] = {weights[i]}, must be >= 0")
        if not weights.sum() > 0:
            raise ValueError("weights sum to 0: at least one datum must have a positive weight")
        return _base.frozen(weights)

    def _validated_contexts(self, size: int) -> tuple[np.ndarray | None, int]:
        if self.contexts is None:
            if self.n_contexts is not None and _checks.positive_int(
                    self.n_contexts, "n_contexts") != 1:
                raise ValueError(f"n_contexts = {self.n_contexts} given without contexts")
            return None, 1
        contexts = _checks.index_array(self.contexts, "contexts")
        if contexts.size != size:
            raise ValueError(
                f"contexts has {contexts.size} entries, winners has {size}: must match"
            )
        neg = contexts < 0
        if neg.any():
            i = int(np.argmax(neg))
            raise ValueError(f"contexts[{i}] = {contexts[i]}, must be >= 0")
        n_ctx = int(contexts.max()) + 1
        if self.n_contexts is not None:
            given = _checks.positive_int(self.n_contexts, "n_contexts")
            if given < n_ctx:
                raise ValueError(f"n_contexts = {given}, but contexts holds index {n_ctx - 1}")
            n_ctx = given
        return contexts, n_ctx

    @classmethod
    def from_pairs(cls, pairs, n_actions: int, **kwargs) -> Dataset:
        """Build a dataset from ``(winner, loser)`` or ``(winner, loser, context)`` tuples.

        Parameters
        ----------
        pairs : sequence of tuples
            Each entry ``(w, l)`` means ``y_w ≻ y_l``; ``(w, l, x)`` adds its context.
        n_actions : int
            Size of the action space.
        **kwargs
            ``n_contexts`` and ``action_names``, passed to :class:`Dataset`.
        """
        try:
            rows = [tuple(p) for p in pairs]
        except TypeError:
            raise TypeError(
                f"pairs must be a sequence of (winner, loser[, context]) tuples, got {pairs!r}"
            ) from None
        if not rows:
            raise ValueError("pairs is empty: a dataset needs at least one comparison")
        widths = {len(r) for r in rows}
        if widths not in ({2}, {3}):
            raise ValueError(
                f"pairs must all be (winner, loser) or all (winner, loser, context), "
                f"got tuple lengths {sorted(widths)}"
            )
        cols = list(zip(*rows))
        contexts = cols[2] if widths == {3} else None
        return cls(cols[0], cols[1], n_actions, contexts=contexts, **kwargs)

    def __len__(self) -> int:
        return int(self.winners.size)

    @property
    def datum_weights(self) -> np.ndarray:
        """Weight of each datum, shape (N,): ``weights``, or ones when none were given."""
        return np.ones(len(self)) if self.weights is None else self.weights

    @property
    def total_weight(self) -> float:
        """``Σ_i c_i``: the number of comparisons the dataset stands for."""
        return float(self.datum_weights.sum())

    @property
    def context_index(self) -> np.ndarray:
        """Context of each datum (zeros in the bandit setting), shape (N,)."""
        if self.contexts is None:
            return np.zeros(len(self), dtype=np.int64)
        return self.contexts

    @property
    def logits_shape(self) -> tuple[int, ...]:
        """Trailing shape of logits for this dataset: ``(n,)`` or ``(n_contexts, n)``."""
        if self.contexts is None:
            return (self.n_actions,)
        return (self.n_contexts, self.n_actions)

    @cached_property
    def incidence(self) -> sp.csr_matrix:
        """Signed incidence matrix ``B``, shape (N, n_contexts · n): +1 at the winner, −1 at the
        loser (columns ``x · n + y``), so that ``B @ θ`` gives ``θ_w − θ_l`` per datum."""
        n_rows = len(self)
        cols = self.context_index * self.n_actions
        data = np.concatenate([np.ones(n_rows), -np.ones(n_rows)])
        rows = np.concatenate([np.arange(n_rows)] * 2)
        idx = np.concatenate([cols + self.winners, cols + self.losers])
        return sp.csr_matrix(
            (data, (rows, idx)), shape=(n_rows, self.n_contexts * self.n_actions)
        )

    def win_counts(self) -> np.ndarray:
        """``counts[x, i, j]`` = total weight of the data with ``y_i ≻ y_j`` in context ``x``.

        Shape (n, n) without contexts, (n_contexts, n, n) with them.
        """
        n = self.n_actions
        flat = (self.context_index * n + self.winners) * n + self.losers
        counts = np.bincount(flat, self.datum_weights, minlength=self.n_contexts * n * n)
        return counts.reshape(self.logits_shape + (n,))


_A, _B, _C = 0, 1, 2
_PAPER_DATASETS = {
    # Sec. 5.4: D1 = {(a, b), (b, c), (a, c)}, a total order.
    "D1": [(_A, _B), (_B, _C), (_A, _C)],
    # Sec. 5.4: D2 = {(a, b), (b, c), (c, a)}, a cycle.
    "D2": [(_A, _B), (_B, _C), (_C, _A)],
    # Sec. 5.4, as printed: D3 = {(a, b), (b, a)}; c is never compared.
    "D3": [(_A, _B), (_B, _A)],
    # The reading of D3 the text describes: c never wins and (a, c) is unobserved.
    "D3_never_wins": [(_A, _B), (_B, _C)],
}


def paper_dataset(name: str) -> Dataset:
    """The datasets of Sec. 5.4 over three actions ``a, b, c`` (indices 0, 1, 2).

    Parameters
    ----------
    name : {"D1", "D2", "D3", "D3_never_wins"}
        ``"D1"`` = {a≻b, b≻c, a≻c} (Fig. 1); ``"D2"`` = {a≻b, b≻c, c≻a};
        ``"D3"`` = {a≻b, b≻a}, exactly as printed in Sec. 5.4 (Fig. 2); ``"D3_never_wins"`` =
        {a≻b, b≻c}, the reading in which c never wins and (a, c) is unobserved, as the
        paper's text around Fig. 2 describes.

    Returns
    -------
    Dataset
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name not in _PAPER_DATASETS:
        raise ValueError(f"name = {name!r}, must be one of {sorted(_PAPER_DATASETS)}")
    return Dataset.from_pairs(_PAPER_DATASETS[name], 3, action_names=("a", "b", "c"))


PAPER_DATASET_NAMES = tuple(_PAPER_DATASETS)
