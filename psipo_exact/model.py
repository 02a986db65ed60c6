"""Preference models and preference datasets (Sec. 2 and 3.1 of Azar et al., 2310.12036).

A :class:`PreferenceModel` is the population object of the paper: the true preference
``p*(y ≻ y′ | x)``, the behaviour policy ``µ`` that generates the compared pairs, the
reference policy ``πref`` and, optionally, the context distribution ``ρ``.
A :class:`Dataset` is the empirical object ``D = (x_i, y_w,i ≻ y_l,i)_{i=1..N}`` as integer
index arrays. Actions are the integers ``0 .. n_actions - 1``; contexts ``0 .. n_contexts - 1``.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (notation) and Sec. 3.1 (p*, µ, πref, ρ).

    Examples
    --------
    The two-action model of Sec. 5.3.1: ``p*(y₁ ≻ y₂) = 1``, uniform µ and πref.

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> model = px.PreferenceModel([[0.5, 1.0], [0.0, 0.5]], mu=[0.5, 0.5], pi_ref=[0.5, 0.5])
    >>> model.n_actions, model.rho is None, model.prefs.flags.writeable
    (2, True, False)

    Preferences must be complementary, ``p*(y ≻ y′) + p*(y′ ≻ y) = 1``:

    >>> px.PreferenceModel([[0.5, 0.9], [0.0, 0.5]], [0.5, 0.5], [0.5, 0.5])
    Traceback (most recent call last):
    ...
    ValueError: prefs[0, 1] + prefs[1, 0] = 0.9, must equal 1
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
        """Number of actions ``n = |Y|``.

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (the finite action space Y).

        Examples
        --------
        >>> import numpy as np
        >>> import psipo_exact as px
        >>> px.PreferenceModel(px.bradley_terry_prefs(np.zeros(4)), np.ones(4) / 4,
        ...                    np.ones(4) / 4).n_actions
        4
        """
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 1; Bradley and Terry (1952), Biometrika 39(3/4).

    Examples
    --------
    With ``r = (0, log 3)``: ``p(y₂ ≻ y₁) = σ(log 3) = 3 / (3 + 1) = 0.75``.

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> print(np.round(px.bradley_terry_prefs([0.0, np.log(3.0)]), 4))
    [[0.5  0.25]
     [0.75 0.5 ]]

    Leading axes are batches of reward vectors:

    >>> px.bradley_terry_prefs(np.zeros((5, 3))).shape
    (5, 3, 3)
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
    context_names : sequence of str, optional
        Labels of the contexts (``n_contexts`` of them), kept through to every output.
    ties : array_like of bool, shape (N,), optional
        ``ties[i]`` marks datum ``i`` as a tie between ``winners[i]`` and ``losers[i]`` (their
        order then carries no meaning). Only the tie models (:func:`fit_rao_kupper`,
        :func:`fit_davidson`, DPO with ``tie_model=``) and IPO (Eq. 16 with ``I = ½``) use
        ties; every other loss and solver rejects a dataset with ties instead of ignoring them.

    Raises
    ------
    ValueError
        On an empty dataset, length mismatches, out-of-range indices, a datum comparing an
        action with itself, or invalid weights.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 and Sec. 3.1.1 (the dataset
    ``D = (x_i, y_w,i ≻ y_l,i)_{i=1..N}`` of Eq. 2 and Eq. 4).

    Examples
    --------
    D1 of Sec. 5.4, {a≻b, b≻c, a≻c}, with a, b, c = 0, 1, 2:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> d1 = px.Dataset(winners=[0, 1, 0], losers=[1, 2, 2], n_actions=3)
    >>> len(d1), d1.n_contexts, d1.logits_shape
    (3, 1, (3,))

    Two contexts, and a datum that stands for 5 identical comparisons:

    >>> d = px.Dataset([0, 1], [1, 0], 2, contexts=[0, 1], weights=[5.0, 1.0])
    >>> d.logits_shape, d.total_weight
    ((2, 2), 6.0)

    An action cannot be compared with itself:

    >>> px.Dataset([0], [0], 2)
    Traceback (most recent call last):
    ...
    ValueError: winners[0] = losers[0] = 0: an action cannot be compared with itself
    """

    winners: np.ndarray
    losers: np.ndarray
    n_actions: int
    contexts: np.ndarray | None = None
    n_contexts: int | None = None
    action_names: tuple[str, ...] | None = field(default=None)
    weights: np.ndarray | None = None
    context_names: tuple[str, ...] | None = None
    ties: np.ndarray | None = None

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
        names = _checks.labels(self.action_names, "action_names", n, "n_actions")
        object.__setattr__(self, "n_actions", n)
        object.__setattr__(self, "winners", _base.frozen(winners))
        object.__setattr__(self, "losers", _base.frozen(losers))
        object.__setattr__(self, "contexts", None if contexts is None else _base.frozen(contexts))
        object.__setattr__(self, "n_contexts", n_ctx)
        object.__setattr__(self, "action_names", names)
        object.__setattr__(self, "weights", self._validated_weights(winners.size))
        object.__setattr__(self, "context_names", _checks.labels(
            self.context_names, "context_names", n_ctx, "n_contexts"))
        object.__setattr__(self, "ties", self._validated_ties(winners.size))

    def _validated_ties(self, size: int) -> np.ndarray | None:
        if self.ties is None:
            return None
        ties = _checks.bool_array(self.ties, "ties")
        if ties.shape != (size,):
            raise ValueError(f"ties has shape {ties.shape}, must be ({size},): one flag per datum")
        return _base.frozen(ties)

    def _validated_weights(self, size: int) -> np.ndarray | None:
        if self.weights is None:
            return None
        return _base.frozen(_checks.datum_weights(self.weights, "weights", size))

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
    def from_pairs(cls, pairs, n_actions: int | None = None, **kwargs) -> Dataset:
        """Build a dataset from ``(winner, loser)`` or ``(winner, loser, context)`` tuples.

        Labels may be any hashable values. When every action label is an integer they are
        the action indices (and ``n_actions`` defaults to the largest + 1); otherwise they
        are names: indexed in the order of ``action_names`` when given, else in order of first
        appearance (row by row, winner before loser), and stored as ``action_names``.
        Contexts follow the same rule (names become ``context_names``).

        Parameters
        ----------
        pairs : sequence of tuples
            Each entry ``(w, l)`` means ``y_w ≻ y_l``; ``(w, l, x)`` adds its context.
        n_actions : int, optional
            Size of the action space; default: the actions seen.
        **kwargs
            ``n_contexts``, ``action_names``, ``context_names``, ``weights`` and ``ties``,
            passed to :class:`Dataset`.

        Returns
        -------
        Dataset

        Raises
        ------
        TypeError
            If ``pairs`` is not a sequence of tuples.
        ValueError
            On an empty or ragged ``pairs``, a missing label (``None``/NaN), a label not
            among ``action_names``, or an integer index outside ``n_actions``.

        Examples
        --------
        >>> import psipo_exact as px
        >>> d = px.Dataset.from_pairs([(0, 1), (1, 2), (0, 2)], 3)
        >>> d.winners.tolist(), d.losers.tolist()
        ([0, 1, 0], [1, 2, 2])
        >>> px.Dataset.from_pairs([(0, 1, 0), (1, 0, 2)], 2).n_contexts
        3
        >>> data = px.Dataset.from_pairs([("gpt-4", "llama"), ("llama", "mistral"),
        ...                               ("gpt-4", "mistral")])
        >>> data.action_names, data.winners.tolist(), data.n_actions
        (('gpt-4', 'llama', 'mistral'), [0, 1, 0], 3)

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (the dataset D).
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
        return cls.from_labels(cols[0], cols[1], cols[2] if widths == {3} else None,
                               n_actions=n_actions, where=lambda i, j: f"pairs[{i}][{j}]",
                               **kwargs)

    @classmethod
    def from_labels(cls, first, second, contexts=None, *, n_actions: int | None = None,
                    where=None, **kwargs) -> Dataset:
        """Build a dataset from columns of labels: ``first[i] ≻ second[i]`` (in ``contexts[i]``).

        The labelling rule of :meth:`from_pairs`, for columns (``where(i, column)`` names a
        cell in error messages, column 0, 1 or 2).

        Parameters
        ----------
        first, second : sequence of hashable
            Winners and losers (for a tie, ``ties[i]`` True, the two sides).
        contexts : sequence of hashable, optional
        n_actions : int, optional
        where : callable, optional
            ``where(i, column) -> str``, default ``"datum i"``.
        **kwargs
            As :meth:`from_pairs`.

        Returns
        -------
        Dataset

        Raises
        ------
        ValueError
            As :meth:`from_pairs`.

        Examples
        --------
        >>> import psipo_exact as px
        >>> px.Dataset.from_labels(["a", "b"], ["b", "c"], ["x", "x"]).context_names
        ('x',)

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (the dataset D).
        """
        if where is None:
            def where(i, j):
                return f"datum {i}"
        elif not callable(where):
            raise TypeError(f"where must be a callable where(i, column) -> str, got "
                            f"{type(where).__name__}")
        first, second = _checks.label_list(first, "first"), _checks.label_list(second, "second")
        if not first:
            raise ValueError("first is empty: a dataset needs at least one comparison")
        if len(second) != len(first):
            raise ValueError(f"second has {len(second)} labels, first has {len(first)}: must "
                             "match")
        if n_actions is not None:
            n_actions = _checks.positive_int(n_actions, "n_actions", minimum=2)
        size = len(first)
        codes, names = _encode_labels(first + second, kwargs.pop("action_names", None),
                                     lambda k: where(k % size, k // size))
        kwargs["action_names"] = names
        if contexts is not None:
            ctx, ctx_names = _encode_labels(_checks.label_list(contexts, "contexts"),
                                           kwargs.pop("context_names", None),
                                           lambda k: where(k, 2))
            kwargs["context_names"] = ctx_names
            if ctx_names is not None:
                kwargs.setdefault("n_contexts", len(ctx_names))
            contexts = ctx
        if n_actions is None:
            n_actions = len(names) if names else max(int(codes.max(initial=0)) + 1, 2)
        elif names and len(names) < n_actions and len(names) == len(set(map(str, names))):
            kwargs["action_names"] = names + tuple(str(k) for k in range(len(names), n_actions))
        if names and len(names) > n_actions:
            raise ValueError(f"{len(names)} action labels, but n_actions = {n_actions}")
        bad = (codes < 0) | (codes >= n_actions)
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(f"{where(k % size, k // size)} = {codes[k]}: action index out of "
                             f"range, must be in [0, {n_actions - 1}]")
        return cls(codes[:size], codes[size:], n_actions, contexts=contexts, **kwargs)

    @classmethod
    def from_counts(cls, wins, action_names=None, *, ties=None, context_names=None) -> Dataset:
        """Aggregated data: one datum of weight ``wins[i, j]`` per ordered pair that has wins.

        10⁶ battles between 100 models cost O(distinct pairs): every loss, solver and the
        simulator treat a datum of weight ``c`` as ``c`` comparisons (``Dataset.weights``).

        Parameters
        ----------
        wins : array_like, shape (n, n) or (n_contexts, n, n)
            ``wins[(x,) i, j]`` = number of times ``i`` beat ``j`` (in context ``x``); finite,
            ``>= 0``, zero diagonal (an action cannot beat itself). Fractions are allowed.
        action_names : sequence of str, optional
        ties : array_like, same shape as ``wins``, optional
            Symmetric: ``ties[i, j] = ties[j, i]`` = number of ties between ``i`` and ``j``
            (one tie datum per pair ``i < j`` with ties).
        context_names : sequence of str, optional

        Returns
        -------
        Dataset
            Data ordered by (context, winner, loser), then the ties by (context, i, j).

        Raises
        ------
        ValueError
            On negative or non-finite counts, a non-zero diagonal, asymmetric ``ties`` or no
            comparison at all.

        Examples
        --------
        >>> import numpy as np
        >>> import psipo_exact as px
        >>> data = px.Dataset.from_counts(np.array([[0, 3], [1, 0]]), ["a", "b"])
        >>> data.winners.tolist(), data.losers.tolist(), data.weights.tolist()
        ([0, 1], [1, 0], [3.0, 1.0])

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (the dataset D, with multiplicities).
        """
        counts = _checks.count_matrix(wins, "wins")
        tie_counts = None
        if ties is not None:
            tie_counts = _checks.as_float_array(ties, "ties")
            if tie_counts.shape != counts.shape:
                raise ValueError(f"ties has shape {tie_counts.shape}, wins has {counts.shape}")
            if tie_counts.any():  # all zero: no tie datum
                _checks.count_matrix(tie_counts, "ties")
            asym = tie_counts != np.swapaxes(tie_counts, -1, -2)
            if asym.any():
                i = tuple(int(k) for k in np.argwhere(asym)[0])
                raise ValueError(f"ties{list(i)} = {tie_counts[i]} but its transpose entry is "
                                 f"{tie_counts[i[:-2] + (i[-1], i[-2])]}: ties must be symmetric")
        n = counts.shape[-1]
        for name, arr in (("wins", counts), ("ties", tie_counts)):
            diagonal = arr is not None and np.diagonal(arr, 0, -2, -1) != 0
            if np.any(diagonal):
                k = tuple(int(v) for v in np.argwhere(diagonal)[0])
                raise ValueError(f"{name}{list(k[:-1] + (k[-1], k[-1]))} = "
                                 f"{np.diagonal(arr, 0, -2, -1)[k]}: an action cannot be "
                                 "compared with itself (set the diagonal to 0)")
        blocks = counts.reshape(-1, n, n)
        x, win, lose = np.nonzero(blocks > 0)
        weights, flags = [blocks[x, win, lose]], [np.zeros(x.size, bool)]
        if tie_counts is not None:
            tx, ti, tj = np.nonzero(np.triu(tie_counts.reshape(-1, n, n), 1) > 0)
            x, win, lose = (np.concatenate(pair) for pair in ((x, tx), (win, ti), (lose, tj)))
            weights.append(tie_counts.reshape(-1, n, n)[tx, ti, tj])
            flags.append(np.ones(tx.size, bool))
        contextual = counts.ndim == 3
        return cls(win, lose, n, contexts=x if contextual else None,
                   n_contexts=blocks.shape[0] if contextual else None,
                   action_names=action_names, weights=np.concatenate(weights),
                   context_names=context_names,
                   ties=None if tie_counts is None else np.concatenate(flags))

    @classmethod
    def from_frame(cls, frame, winner: str = "winner", loser: str = "loser", context=None, *,
                   outcome: str | None = None, weight: str | None = None,
                   tie: str | None = None, **kwargs) -> Dataset:
        """A dataset from a table with named columns (a pandas DataFrame, or a dict of columns).

        Any object with ``frame[column]`` works; pandas is not needed. Formats:

        * ``winner``/``loser`` columns, e.g. TRL's preference format
          ``from_frame(df, winner="chosen", loser="rejected", context="prompt")``: each prompt
          is a context (``context_names``), each distinct response an action
          (``action_names``; responses are shared across prompts by their text).
        * Battles (Chatbot Arena): ``from_frame(df, winner="model_a", loser="model_b",
          outcome="winner")``: the ``outcome`` column says ``"model_a"`` (the ``winner``
          column's item won), ``"model_b"`` (the ``loser`` column's item won), or ``"tie"`` /
          ``"tie (bothbad)"`` (a tie, ``ties[i]`` True).

        Parameters
        ----------
        frame : DataFrame or mapping of columns
        winner, loser : str
            Column names of the two compared items (the preferred one first).
        context : str, optional
            Column of context labels.
        outcome : str, optional
            Column naming the winner by its column (battle format; see above).
        weight : str, optional
            Column of datum weights (counts).
        tie : str, optional
            Column of tie flags (booleans or 0/1), as an alternative to ``outcome``.
        **kwargs
            ``n_actions``, ``action_names``, ``context_names``, as :meth:`from_pairs`.

        Returns
        -------
        Dataset

        Raises
        ------
        ValueError
            On a missing column, a missing value (``None``/NaN) or an unknown outcome, naming
            the row and the column.

        Examples
        --------
        >>> import psipo_exact as px
        >>> table = {"model_a": ["x", "y", "x"], "model_b": ["y", "z", "z"],
        ...          "winner": ["model_a", "tie", "model_b"]}
        >>> data = px.Dataset.from_frame(table, winner="model_a", loser="model_b",
        ...                              outcome="winner")
        >>> data.winners.tolist(), data.losers.tolist(), data.ties.tolist()
        ([0, 1, 2], [1, 2, 0], [False, True, False])

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (the dataset D).
        """
        _checks.table(frame, "frame")
        names = [winner, loser] + ([context] if context is not None else [])
        roles = ["winner", "loser", "context"]
        cols = [_column(frame, c, role) for c, role in zip(names, roles)]

        def where(i, j):
            return f"row {i}, column {names[j]!r}"

        if weight is not None:
            kwargs["weights"] = _column(frame, weight, "weight")
        if tie is not None:
            kwargs["ties"] = _column(frame, tie, "tie")
        if outcome is not None:
            said = _column(frame, outcome, "outcome")
            tie = np.array([isinstance(v, str) and v.startswith("tie") for v in said])
            swap = np.array([v == loser for v in said])
            wrong = ~(tie | swap | np.array([v == winner for v in said]))
            if wrong.any():
                i = int(np.argmax(wrong))
                raise ValueError(f"row {i}, column {outcome!r} = {said[i]!r}, must be "
                                 f"{winner!r}, {loser!r}, 'tie' or 'tie (bothbad)'")
            first = [b if s else a for a, b, s in zip(cols[0], cols[1], swap)]
            cols[1] = [a if s else b for a, b, s in zip(cols[0], cols[1], swap)]
            cols[0] = first
            kwargs["ties"] = tie
        return cls.from_labels(cols[0], cols[1], cols[2] if context is not None else None,
                               where=where, **kwargs)

    def to_pairs(self, labels: bool = True) -> list[tuple]:
        """The data as ``(winner, loser[, context])`` tuples (names when known, else indices).

        Weights and ties are not part of a pair (see ``weights`` and ``ties``).

        Parameters
        ----------
        labels : bool, default True
            Use ``action_names``/``context_names`` where the dataset has them.

        Returns
        -------
        list of tuple

        Examples
        --------
        >>> import psipo_exact as px
        >>> px.paper_dataset("D1").to_pairs()
        [('a', 'b'), ('b', 'c'), ('a', 'c')]

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (the dataset D).
        """
        def named(codes, names):
            return [names[k] for k in codes] if labels and names else codes.tolist()

        cols = [named(self.winners, self.action_names), named(self.losers, self.action_names)]
        if self.contexts is not None:
            cols.append(named(self.contexts, self.context_names))
        return list(zip(*cols))

    @property
    def has_ties(self) -> bool:
        """Whether some datum of positive weight is a tie.

        Returns
        -------
        bool

        References
        ----------
        Rao & Kupper (1967), JASA 62, 194-204 and Davidson (1970), JASA 65, 317-328 (a tie as
        a third outcome); Azar et al., arXiv:2310.12036, Sec. 2 (D itself has no ties: each
        datum is ``y_w ≻ y_l``).

        Examples
        --------
        A tie of weight 0 is not a comparison, so it does not count:

        >>> import psipo_exact as px
        >>> pairs = [("a", "b"), ("b", "c")]
        >>> px.Dataset.from_pairs(pairs, ties=[False, True]).has_ties
        True
        >>> px.Dataset.from_pairs(pairs, weights=[1, 0], ties=[False, True]).has_ties
        False
        >>> px.datasets.baseball().has_ties, px.datasets.football("2008-9").has_ties
        (False, True)
        """
        return self.ties is not None and bool(np.any(self.ties & (self.datum_weights > 0)))

    def subset(self, keep) -> Dataset:
        """The data where the boolean mask ``keep`` is True, with the same labels and sizes.

        Parameters
        ----------
        keep : array_like of bool, shape (N,)

        Returns
        -------
        Dataset

        Examples
        --------
        >>> import psipo_exact as px
        >>> len(px.paper_dataset("D1").subset([True, False, True]))
        2

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (a sub-dataset of D; the example drops
        ``b ≻ c`` from Sec. 5.4's D1).
        """
        keep = _checks.bool_array(keep, "keep")
        if keep.shape != (len(self),):
            raise ValueError(f"keep has shape {keep.shape}, must be ({len(self)},)")

        def take(arr):
            return None if arr is None else arr[keep]

        return Dataset(self.winners[keep], self.losers[keep], self.n_actions,
                       contexts=take(self.contexts),
                       n_contexts=None if self.contexts is None else self.n_contexts,
                       action_names=self.action_names, weights=take(self.weights),
                       context_names=self.context_names, ties=take(self.ties))

    def without_ties(self) -> Dataset:
        """The decisive data only (ties dropped), as plain Bradley–Terry fits need.

        Returns
        -------
        Dataset

        Examples
        --------
        >>> import psipo_exact as px
        >>> data = px.Dataset.from_pairs([("a", "b"), ("b", "c")], ties=[False, True])
        >>> data.without_ties().to_pairs()
        [('a', 'b')]

        References
        ----------
        Azar et al., arXiv:2310.12036, Eq. 1-2 (Bradley–Terry: each datum ``y_w ≻ y_l``);
        Rao & Kupper (1967), Davidson (1970) for the models that keep the ties.
        """
        return self if self.ties is None else self.subset(~self.ties)

    def ties_as_half_wins(self) -> Dataset:
        """Each tie of weight ``c`` as two data of weight ``c/2``, one each way.

        The "half a win for each side" scoring (R's ``BTm`` with ``result = 0.5``): the
        Bradley–Terry likelihood of these data is the half-win objective, not the likelihood
        of a tie model (:func:`fit_davidson`, :func:`fit_rao_kupper` are).

        Returns
        -------
        Dataset

        Examples
        --------
        >>> import psipo_exact as px
        >>> data = px.Dataset.from_pairs([("a", "b"), ("b", "c")], ties=[False, True])
        >>> data.ties_as_half_wins().weights.tolist()
        [1.0, 0.5, 0.5]

        ``a ≻ b`` once and one tie: ``a`` scores 1.5 wins to ``b``'s 0.5, so the
        Bradley–Terry fit has ``r_a − r_b = log 3``:

        >>> import numpy as np
        >>> half = px.Dataset.from_pairs([("a", "b"), ("a", "b")], ties=[False, True])
        >>> fit = px.fit_bradley_terry(half.ties_as_half_wins(), reference="a")
        >>> bool(np.isclose(-fit.rewards[1], np.log(3)))
        True

        References
        ----------
        Turner & Firth (2012), J. Stat. Softw. 48(9) (BradleyTerry2's ``BTm`` with
        ``result = 0.5``); Azar et al., arXiv:2310.12036, Eq. 2 (the Bradley–Terry likelihood).
        """
        if self.ties is None:
            return self
        tie, w = self.ties, self.datum_weights
        winners = np.concatenate([self.winners[~tie], self.winners[tie], self.losers[tie]])
        losers = np.concatenate([self.losers[~tie], self.losers[tie], self.winners[tie]])
        weights = np.concatenate([w[~tie], w[tie] / 2, w[tie] / 2])
        contexts = None
        if self.contexts is not None:
            c = self.contexts
            contexts = np.concatenate([c[~tie], c[tie], c[tie]])
        return Dataset(winners, losers, self.n_actions, contexts=contexts,
                       n_contexts=None if contexts is None else self.n_contexts,
                       action_names=self.action_names, weights=weights,
                       context_names=self.context_names)

    def __len__(self) -> int:
        return int(self.winners.size)

    @property
    def datum_weights(self) -> np.ndarray:
        """Weight of each datum, shape (N,): ``weights``, or ones when none were given.

        References
        ----------
        Azar et al., arXiv:2310.12036, Eq. 4 and Eq. 17 (the mean over D, each datum
        counted with its multiplicity).

        Examples
        --------
        >>> import psipo_exact as px
        >>> px.paper_dataset("D1").datum_weights.tolist()
        [1.0, 1.0, 1.0]
        >>> px.Dataset([0, 1], [1, 0], 2, weights=[3, 1]).datum_weights.tolist()
        [3.0, 1.0]
        """
        return np.ones(len(self)) if self.weights is None else self.weights

    @property
    def total_weight(self) -> float:
        """``Σ_i c_i``: the number of comparisons the dataset stands for.

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (the size N of D).

        Examples
        --------
        >>> import psipo_exact as px
        >>> px.paper_dataset("D1").total_weight
        3.0
        >>> px.Dataset([0, 1], [1, 0], 2, weights=[3, 1]).total_weight
        4.0
        """
        return float(self.datum_weights.sum())

    @property
    def context_index(self) -> np.ndarray:
        """Context of each datum (zeros in the bandit setting), shape (N,).

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (contexts ``x_i``; Sec. 5.3 drops them: the
        bandit setting).

        Examples
        --------
        >>> import psipo_exact as px
        >>> px.paper_dataset("D1").context_index.tolist()
        [0, 0, 0]
        >>> px.Dataset.from_pairs([(0, 1, 1), (1, 0, 0)], 2).context_index.tolist()
        [1, 0]
        """
        if self.contexts is None:
            return np.zeros(len(self), dtype=np.int64)
        return self.contexts

    @property
    def logits_shape(self) -> tuple[int, ...]:
        """Trailing shape of logits for this dataset: ``(n,)`` or ``(n_contexts, n)``.

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 5.4 (policies ``π_θ = softmax(θ)``, one logit
        vector per context).

        Examples
        --------
        >>> import psipo_exact as px
        >>> px.paper_dataset("D1").logits_shape
        (3,)
        >>> px.Dataset.from_pairs([(0, 1, 1), (1, 0, 0)], 2).logits_shape
        (2, 2)
        """
        if self.contexts is None:
            return (self.n_actions,)
        return (self.n_contexts, self.n_actions)

    @cached_property
    def incidence(self) -> sp.csr_matrix:
        """Signed incidence matrix ``B``, shape (N, n_contexts · n): +1 at the winner, −1 at the
        loser (columns ``x · n + y``), so that ``B @ θ`` gives ``θ_w − θ_l`` per datum.

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 5.2: ``B θ − B log πref`` is the vector of
        ``h_π(y_w,i, y_l,i)`` that Eq. 17 regresses.

        Examples
        --------
        Rows are the data of D1 (a≻b, b≻c, a≻c); ``B @ θ`` is ``θ_w − θ_l``:

        >>> import numpy as np
        >>> import psipo_exact as px
        >>> B = px.paper_dataset("D1").incidence
        >>> print(B.toarray())
        [[ 1. -1.  0.]
         [ 0.  1. -1.]
         [ 1.  0. -1.]]
        >>> print(B @ np.array([3.0, 2.0, 0.0]))
        [1. 2. 3.]
        """
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

        Shape (n, n) without contexts, (n_contexts, n, n) with them. Ties are not wins: they
        are counted by :meth:`tie_counts`.

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 4.2 (the empirical preferences
        ``p̂(y ≻ y′) = counts[y, y′] / (counts[y, y′] + counts[y′, y])``).

        Examples
        --------
        >>> import psipo_exact as px
        >>> print(px.paper_dataset("D1").win_counts())
        [[0. 1. 1.]
         [0. 0. 1.]
         [0. 0. 0.]]
        >>> print(px.paper_dataset("D3").win_counts())
        [[0. 1. 0.]
         [1. 0. 0.]
         [0. 0. 0.]]
        """
        decisive = self.datum_weights if self.ties is None else self.datum_weights * ~self.ties
        return self._pair_counts(self.winners, self.losers, decisive)

    def tie_counts(self) -> np.ndarray:
        """``ties[x, i, j] = ties[x, j, i]`` = total weight of the ties between ``i`` and ``j``.

        Shape as :meth:`win_counts`; zero when the dataset has no ties.

        Returns
        -------
        ndarray, shape (n, n) or (n_contexts, n, n)

        References
        ----------
        Davidson (1970), JASA 65, 317-328 and Rao & Kupper (1967), JASA 62, 194-204: their
        likelihoods see the data only through these counts and :meth:`win_counts` (Azar et
        al., arXiv:2310.12036, Sec. 4.2, for the win counts).

        Examples
        --------
        Two ties between ``a`` and ``b`` (one listed each way) and a win ``a ≻ c``:

        >>> import psipo_exact as px
        >>> data = px.Dataset.from_pairs([("a", "b"), ("b", "a"), ("a", "c")],
        ...                              ties=[True, True, False])
        >>> print(data.tie_counts())
        [[0. 2. 0.]
         [2. 0. 0.]
         [0. 0. 0.]]

        Each tie is counted in both ``[i, j]`` and ``[j, i]``: the 97 draws of the 2008/9
        Premier League season (``data/PROVENANCE.md``) sum to 194:

        >>> float(px.datasets.football("2008-9").tie_counts().sum())
        194.0
        """
        w = np.zeros(len(self)) if self.ties is None else self.datum_weights * self.ties
        return self._pair_counts(self.winners, self.losers, w) + self._pair_counts(
            self.losers, self.winners, w)

    def _pair_counts(self, first, second, weights) -> np.ndarray:
        n = self.n_actions
        flat = (self.context_index * n + first) * n + second
        counts = np.bincount(flat, weights, minlength=self.n_contexts * n * n)
        return counts.reshape(self.logits_shape + (n,))


def _is_missing(value) -> bool:
    """``None``, a float NaN, or a pandas missing value (``pd.NA``, ``NaT``)."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def _encode_labels(values: list, declared, where) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Indices of labels: integers are indices; other labels follow ``declared`` or, without
    it, their order of first appearance. ``where(k)`` names entry ``k`` in errors.

    Returns the indices and the names (``declared`` for integer labels, possibly ``None``).
    """
    for k, v in enumerate(values):
        if _is_missing(v):
            raise ValueError(f"{where(k)} is missing ({v!r}): every label must be given")
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64).reshape(-1), declared
    try:
        order = list(dict.fromkeys(values)) if declared is None else list(declared)
    except TypeError:
        k = next(k for k, v in enumerate(values) if not isinstance(v, Hashable))
        raise TypeError(f"{where(k)} = {values[k]!r}: a label must be hashable") from None
    names = [str(v) for v in order]
    if len(set(names)) != len(names):
        seen: dict[str, object] = {}
        for v, name in zip(order, names):
            if name in seen:
                if declared is not None:
                    raise ValueError(f"the declared labels have {name!r} twice: labels must "
                                     "be distinct")
                raise ValueError(f"the labels {seen[name]!r} and {v!r} both read {name!r}: "
                                 "labels must be distinct as text")
            seen[name] = v
    lookup = {name: k for k, name in enumerate(names)}
    codes = np.empty(len(values), dtype=np.int64)
    for k, v in enumerate(values):
        code = lookup.get(str(v))
        if code is None:
            raise ValueError(f"{where(k)} = {v!r}: unknown label, not among {names}")
        codes[k] = code
    return codes, tuple(names)


def _column(frame, name, role: str) -> list:
    """Column ``name`` (the argument ``role``) of a table as a list, or a ValueError listing
    the columns."""
    try:
        col = frame[name]
    except (KeyError, IndexError, TypeError):
        columns = list(getattr(frame, "columns", None) or getattr(frame, "keys", list)())
        raise ValueError(f"{role} = {name!r}: the table has no such column (columns: "
                         f"{columns})") from None
    return np.asarray(col, dtype=object).reshape(-1).tolist()


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
        With ``action_names == ("a", "b", "c")``.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (D1, D2, D3; Figures 1 and 2).

    Examples
    --------
    >>> import psipo_exact as px
    >>> d1 = px.paper_dataset("D1")
    >>> [(d1.action_names[w], d1.action_names[l]) for w, l in zip(d1.winners, d1.losers)]
    [('a', 'b'), ('b', 'c'), ('a', 'c')]
    >>> px.paper_dataset("D3_never_wins").losers.tolist()
    [1, 2]
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name not in _PAPER_DATASETS:
        raise ValueError(f"name = {name!r}, must be one of {sorted(_PAPER_DATASETS)}")
    return Dataset.from_pairs(_PAPER_DATASETS[name], 3, action_names=("a", "b", "c"))


PAPER_DATASET_NAMES = tuple(_PAPER_DATASETS)


@dataclass(frozen=True, eq=False)
class Rankings:
    """Rankings of subsets of actions, best first: ``items[offsets[k]:offsets[k+1]]`` is ranking
    ``k`` (Plackett–Luce data; a ranking of two actions is one paired comparison).

    Parameters
    ----------
    items : array_like of int, shape (M,)
        The ranked actions of all rankings, concatenated, each ranking best first.
    offsets : array_like of int, shape (K + 1,)
        Start of each ranking in ``items`` (``offsets[0] = 0``, ``offsets[-1] = M``); every
        ranking has at least 2 distinct actions.
    n_actions : int
    action_names : sequence of str, optional
    weights : array_like of float, shape (K,), optional
        How many times each ranking counts.

    Raises
    ------
    ValueError
        On out-of-range actions, a ranking shorter than 2 or with a repeated action.

    Examples
    --------
    >>> import psipo_exact as px
    >>> r = px.Rankings.from_lists([["a", "b", "c"], ["c", "a"]])
    >>> r.items.tolist(), r.offsets.tolist(), r.action_names
    ([0, 1, 2, 2, 0], [0, 3, 5], ('a', 'b', 'c'))

    References
    ----------
    Plackett (1975), J. R. Stat. Soc. C 24(2), 193-202; Luce (1959), *Individual Choice
    Behavior* (the Plackett–Luce model of such rankings); Azar et al.,
    arXiv:2310.12036, Sec. 2 (a ranking of two actions is one datum ``y_w ≻ y_l``).
    """

    items: np.ndarray
    offsets: np.ndarray
    n_actions: int
    action_names: tuple[str, ...] | None = None
    weights: np.ndarray | None = None

    def __post_init__(self):
        n = _checks.positive_int(self.n_actions, "n_actions", minimum=2)
        items = _checks.index_array(self.items, "items")
        offsets = _checks.index_array(self.offsets, "offsets")
        if offsets.size < 2 or offsets[0] != 0 or offsets[-1] != items.size:
            raise ValueError(f"offsets must start at 0 and end at len(items) = {items.size}, "
                             f"got {offsets.tolist()[:5]}...")
        lengths = np.diff(offsets)
        if (lengths < 2).any():
            k = int(np.argmax(lengths < 2))
            raise ValueError(f"offsets[{k}:{k + 2}] = {offsets[k:k + 2].tolist()} give ranking "
                             f"{k} {lengths[k]} actions, must give at least 2")
        bad = (items < 0) | (items >= n)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"items[{i}] = {items[i]}, must be in [0, {n - 1}]")
        ranking = np.repeat(np.arange(lengths.size), lengths)
        key = np.unique(ranking * n + items)
        if key.size != items.size:
            counts = np.bincount(ranking, minlength=lengths.size)
            distinct = np.bincount(key // n, minlength=lengths.size)
            k = int(np.argmax(distinct < counts))
            raise ValueError(f"items[{offsets[k]}:{offsets[k + 1]}] (ranking {k}) lists an "
                             "action twice")
        weights = None
        if self.weights is not None:
            weights = _checks.as_float_array(self.weights, "weights", min_ndim=1)
            if weights.shape != lengths.shape or (weights < 0).any() or not weights.sum() > 0:
                raise ValueError(f"weights must have shape {lengths.shape}, be >= 0 and sum "
                                 "to a positive number")
            weights = _base.frozen(weights)
        object.__setattr__(self, "n_actions", n)
        object.__setattr__(self, "items", _base.frozen(items))
        object.__setattr__(self, "offsets", _base.frozen(offsets))
        object.__setattr__(self, "action_names",
                           _checks.labels(self.action_names, "action_names", n, "n_actions"))
        object.__setattr__(self, "weights", weights)

    @classmethod
    def from_lists(cls, rankings, n_actions: int | None = None, *, action_names=None,
                   weights=None) -> Rankings:
        """Rankings from sequences of labels, best first (labels as :meth:`Dataset.from_pairs`).

        Parameters
        ----------
        rankings : sequence of sequences
        n_actions : int, optional
        action_names : sequence of str, optional
        weights : array_like, optional

        Returns
        -------
        Rankings

        Raises
        ------
        ValueError
            On an empty input or an invalid ranking.

        Examples
        --------
        >>> import psipo_exact as px
        >>> px.Rankings.from_lists([[2, 0, 1]]).n_actions
        3

        References
        ----------
        Plackett (1975), J. R. Stat. Soc. C 24(2), 193-202; Luce (1959), *Individual Choice
        Behavior*.
        """
        lists = [_checks.label_list(r, f"rankings[{k}]")
                 for k, r in enumerate(_checks.label_list(rankings, "rankings"))]
        if not lists:
            raise ValueError("rankings is empty")
        flat = [v for r in lists for v in r]
        starts = np.cumsum([0] + [len(r) for r in lists])
        ranking = np.repeat(np.arange(len(lists)), np.diff(starts))
        codes, names = _encode_labels(
            flat, action_names,
            lambda k: f"rankings[{ranking[k]}][{k - starts[ranking[k]]}]")
        if n_actions is None:
            n_actions = len(names) if names else max(int(codes.max()) + 1, 2)
        try:
            return cls(codes, starts, n_actions, action_names=names, weights=weights)
        except ValueError as exc:  # name the argument the user gave
            raise ValueError(f"rankings: {exc}") from None

    @classmethod
    def from_dataset(cls, data: Dataset) -> Rankings:
        """The comparisons of a dataset without contexts or ties as rankings of two.

        Parameters
        ----------
        data : Dataset

        Returns
        -------
        Rankings

        Raises
        ------
        ValueError
            If the dataset has contexts or ties.

        Examples
        --------
        >>> import psipo_exact as px
        >>> px.Rankings.from_dataset(px.paper_dataset("D1")).items.tolist()
        [0, 1, 1, 2, 0, 2]

        On rankings of two, Plackett–Luce is Bradley–Terry: ``a ≻ b`` twice and ``b ≻ a``
        once give ``r_a − r_b = log 2`` either way:

        >>> import numpy as np
        >>> data = px.Dataset.from_pairs([("a", "b"), ("a", "b"), ("b", "a")])
        >>> pl = px.fit_plackett_luce(px.Rankings.from_dataset(data))
        >>> bool(np.allclose(pl.rewards, px.fit_bradley_terry(data).rewards))
        True
        >>> bool(np.isclose(pl.rewards[0] - pl.rewards[1], np.log(2)))
        True

        References
        ----------
        Azar et al., arXiv:2310.12036, Eq. 1 (Bradley–Terry), the two-action case of
        Plackett (1975), J. R. Stat. Soc. C 24(2), 193-202; Luce (1959), *Individual Choice
        Behavior*.
        """
        _checks.instance(data, Dataset, "data")
        if data.contexts is not None:
            raise ValueError("rankings have no contexts: fit each context on its own")
        _checks.no_ties(data, "a ranking", "use the tie models")
        items = np.stack([data.winners, data.losers], 1).ravel()
        return cls(items, np.arange(0, items.size + 1, 2), data.n_actions,
                   action_names=data.action_names, weights=data.weights)

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def ranking_weights(self) -> np.ndarray:
        """Weight of each ranking (ones when none were given).

        Returns
        -------
        ndarray, shape (len(self),)

        References
        ----------
        Azar et al., arXiv:2310.12036, Sec. 2 (a datum of weight ``c`` counts as ``c``
        data); Plackett (1975), J. R. Stat. Soc. C 24(2), 193-202; Luce (1959), *Individual Choice
        Behavior*.

        Examples
        --------
        >>> import psipo_exact as px
        >>> px.Rankings.from_lists([["a", "b", "c"], ["c", "a"]]).ranking_weights.tolist()
        [1.0, 1.0]
        >>> px.Rankings.from_lists([["a", "b"], ["b", "a"]], weights=[3, 1]).ranking_weights
        array([3., 1.])
        """
        return np.ones(len(self)) if self.weights is None else self.weights
