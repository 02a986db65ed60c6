"""Public hypothesis strategies for property tests of ΨPO code (Azar et al., 2310.12036).

Every strategy draws from well-behaved ranges (no subnormal floats, no NaN or infinity) and
returns arrays that pass :mod:`psipo_exact`'s own validation: probability vectors sum to 1
within a few ulps (far inside the 1e-9 tolerance), preference matrices satisfy
``prefs + prefsᵀ = 1`` exactly with a diagonal of exactly 1/2.

Requires hypothesis (the ``test`` extra); :mod:`psipo_exact` itself does not import this module.

Sizes and shapes may be given as plain values or as strategies, e.g.
``probability_vectors(st.integers(2, 6))``. Leading (batch) axes express contexts, τ grids
and batches of problems, as everywhere in the package.

Examples
--------
>>> from hypothesis import given, settings
>>> from psipo_exact import psipo_policy
>>> from psipo_exact.strategies import preference_problems
>>> @settings(max_examples=20, database=None, derandomize=True)
... @given(preference_problems())
... def test_policy_is_normalised(problem):
...     pi = psipo_policy(problem.prefs, problem.mu, problem.pi_ref, problem.tau)
...     assert abs(pi.sum() - 1) < 1e-12
>>> test_policy_is_normalised()  # runs 20 drawn problems; silent when the property holds
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.strategies import SearchStrategy

from .losses import PAIRWISE, PAIRWISE_ALIASES
from .model import Dataset, bradley_terry_prefs

__all__ = [
    "PreferenceProblem",
    "batch_shapes",
    "bradley_terry_preferences",
    "datasets",
    "intransitive_preferences",
    "pairwise_loss_names",
    "pairwise_loss_params",
    "policies",
    "preference_matrices",
    "preference_problems",
    "probability_vectors",
    "rewards",
    "taus",
]


def _value(draw, x):
    """Draw from ``x`` if it is a strategy, else return it unchanged."""
    return draw(x) if isinstance(x, SearchStrategy) else x


def _shape(draw, batch_shape) -> tuple[int, ...]:
    shape = _value(draw, batch_shape)
    return tuple(int(s) for s in shape)


def _floats(low: float, high: float) -> SearchStrategy:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def batch_shapes(draw, max_dims: int = 2, max_side: int = 3) -> tuple[int, ...]:
    """Leading (batch / context / τ-grid) shapes, including the empty shape ``()``.

    Parameters
    ----------
    max_dims : int, default 2
        Largest number of leading axes.
    max_side : int, default 3
        Largest length of one axis (at least 1).

    Returns
    -------
    SearchStrategy[tuple[int, ...]]

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (contexts x; leading axes).
    MacIver et al. (2019), "Hypothesis: A new approach to property-based testing", JOSS 4(43).

    Examples
    --------
    The simplest shape with two axes, found by :func:`hypothesis.find`:

    >>> from hypothesis import find, settings
    >>> from psipo_exact.strategies import batch_shapes
    >>> find(batch_shapes(), lambda shape: len(shape) == 2, settings=settings(database=None))
    (1, 1)
    """
    ndim = draw(st.integers(0, max_dims))
    return tuple(draw(st.integers(1, max_side)) for _ in range(ndim))


@st.composite
def taus(draw, min_value: float = 1e-3, max_value: float = 1e3) -> float:
    """Regularisation strengths τ, log-uniform on ``[min_value, max_value]``.

    Parameters
    ----------
    min_value, max_value : float
        Positive, finite bounds of τ (``min_value <= max_value``).

    Returns
    -------
    SearchStrategy[float]

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 3 and Eq. 6 (τ ∈ ℝ*₊).
    MacIver et al. (2019), "Hypothesis: A new approach to property-based testing", JOSS 4(43).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from psipo_exact.strategies import taus
    >>> @settings(max_examples=20, database=None, derandomize=True)
    ... @given(taus(0.01, 10.0))
    ... def test_in_range(tau):
    ...     assert 0.01 <= tau <= 10.0
    >>> test_in_range()
    """
    if not (0 < min_value <= max_value < math.inf):
        raise ValueError(
            f"taus needs 0 < min_value <= max_value < inf, got {min_value}, {max_value}"
        )
    exponent = draw(_floats(math.log10(min_value), math.log10(max_value)))
    return float(min(max(10.0**exponent, min_value), max_value))


@st.composite
def probability_vectors(
    draw,
    n_actions=st.integers(2, 5),
    *,
    batch_shape=(),
    full_support: bool = True,
    min_weight: float = 1e-3,
) -> np.ndarray:
    """Probability vectors on the last axis (policies π, µ, πref, context weights ρ).

    Unnormalised weights are drawn from ``[min_weight, 1]`` and divided by their sum, so
    every vector sums to 1 within a few ulps and no entry is smaller than ``min_weight / n``
    (unless zeroed).

    Parameters
    ----------
    n_actions : int or SearchStrategy[int], default integers(2, 5)
        Length of the last axis.
    batch_shape : tuple or SearchStrategy[tuple], default ()
        Leading shape.
    full_support : bool, default True
        If False, some entries may be exactly 0 (each vector keeps at least one positive
        entry).
    min_weight : float, default 1e-3
        Smallest unnormalised weight, in (0, 1].

    Returns
    -------
    SearchStrategy[ndarray]
        Shape ``batch_shape + (n_actions,)``, float64.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (π, µ, πref ∈ ∆_Y, ρ ∈ ∆_X).
    MacIver et al. (2019), "Hypothesis: A new approach to property-based testing", JOSS 4(43).

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import find, given, settings
    >>> from psipo_exact.strategies import probability_vectors
    >>> @settings(max_examples=20, database=None, derandomize=True)
    ... @given(probability_vectors(4, batch_shape=(2,)))
    ... def test_rows_sum_to_one(p):
    ...     assert p.shape == (2, 4) and np.allclose(p.sum(-1), 1.0) and (p > 0).all()
    >>> test_rows_sum_to_one()

    With ``full_support=False`` some entries may be exactly 0:

    >>> p = find(probability_vectors(3, full_support=False), lambda p: (p == 0).any(),
    ...          settings=settings(database=None))
    >>> bool((p == 0).any()), float(p.sum())
    (True, 1.0)
    """
    if not 0 < min_weight <= 1:
        raise ValueError(f"min_weight = {min_weight!r}, must be in (0, 1]")
    n = int(_value(draw, n_actions))
    if n < 1:
        raise ValueError(f"n_actions = {n}, must be >= 1")
    lead = _shape(draw, batch_shape)
    shape = lead + (n,)
    weights = draw(hnp.arrays(np.float64, shape, elements=_floats(min_weight, 1.0)))
    if not full_support:
        keep = draw(hnp.arrays(np.bool_, shape, elements=st.booleans()))
        first = draw(st.integers(0, n - 1))
        keep[..., first] = True  # at least one positive entry per vector
        weights = np.where(keep, weights, 0.0)
    return weights / weights.sum(axis=-1, keepdims=True)


def policies(n_actions=st.integers(2, 5), *, batch_shape=(), full_support: bool = True,
             min_weight: float = 1e-3) -> SearchStrategy:
    """Policies π(·|x) as probability vectors; see :func:`probability_vectors`.

    Parameters
    ----------
    n_actions : int or SearchStrategy[int]
    batch_shape : tuple or SearchStrategy[tuple]
    full_support : bool, default True
    min_weight : float, default 1e-3

    Returns
    -------
    SearchStrategy[ndarray]

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (policies π(·|x)).
    MacIver et al. (2019), "Hypothesis: A new approach to property-based testing", JOSS 4(43).

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> from psipo_exact.strategies import policies
    >>> @settings(max_examples=20, database=None, derandomize=True)
    ... @given(policies(3, batch_shape=(2,)))
    ... def test_policies(pi):
    ...     assert pi.shape == (2, 3) and np.allclose(pi.sum(-1), 1.0)
    >>> test_policies()
    """
    return probability_vectors(
        n_actions, batch_shape=batch_shape, full_support=full_support, min_weight=min_weight
    )


def _complete(upper: np.ndarray) -> np.ndarray:
    """Fill the lower triangle with ``1 − upper`` and the diagonal with 1/2."""
    n = upper.shape[-1]
    tri = np.triu(np.ones((n, n), dtype=bool), k=1)
    prefs = np.where(tri, upper, 1.0 - np.swapaxes(upper, -1, -2))
    idx = np.arange(n)
    prefs[..., idx, idx] = 0.5
    return prefs


@st.composite
def preference_matrices(
    draw, n_actions=st.integers(2, 5), *, batch_shape=(), deterministic: bool | None = False
) -> np.ndarray:
    """General preference matrices ``prefs[..., i, j] = p(y_i ≻ y_j)`` (Sec. 2).

    The upper triangle is drawn freely (intransitive preferences included), the lower one is
    ``1 − upper`` so that ``prefs + prefsᵀ = 1`` holds exactly, and the diagonal is 1/2.

    Parameters
    ----------
    n_actions : int or SearchStrategy[int], default integers(2, 5)
    batch_shape : tuple or SearchStrategy[tuple], default ()
    deterministic : bool or None, default False
        False: entries in [0.01, 0.99]. True: every off-diagonal entry is 0 or 1
        (deterministic preferences, Sec. 4.2). None: a mixture of both.

    Returns
    -------
    SearchStrategy[ndarray]
        Shape ``batch_shape + (n_actions, n_actions)``.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (p*) and Sec. 4.2 (deterministic preferences);
    MacIver et al. (2019), "Hypothesis: A new approach to property-based testing", JOSS 4(43).

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> from psipo_exact.strategies import preference_matrices
    >>> @settings(max_examples=20, database=None, derandomize=True)
    ... @given(preference_matrices(3, deterministic=True))
    ... def test_complementary(prefs):
    ...     assert np.array_equal(prefs + prefs.T, np.ones((3, 3)))
    ...     assert set(prefs[~np.eye(3, dtype=bool)]) <= {0.0, 1.0}
    >>> test_complementary()
    """
    n = int(_value(draw, n_actions))
    lead = _shape(draw, batch_shape)
    shape = lead + (n, n)
    if deterministic is True:
        elements = st.sampled_from([0.0, 1.0])
    elif deterministic is False:
        elements = _floats(0.01, 0.99)
    else:
        elements = st.one_of(st.sampled_from([0.0, 1.0]), _floats(0.0, 1.0))
    upper = draw(hnp.arrays(np.float64, shape, elements=elements))
    return _complete(upper)


def rewards(n_actions=st.integers(2, 5), *, batch_shape=(), scale: float = 5.0) -> SearchStrategy:
    """Finite rewards (Elo scores) ``r(y)`` in ``[-scale, scale]``.

    Parameters
    ----------
    n_actions : int or SearchStrategy[int]
    batch_shape : tuple or SearchStrategy[tuple]
    scale : float, default 5.0
        Largest absolute reward.

    Returns
    -------
    SearchStrategy[ndarray]
        Shape ``batch_shape + (n_actions,)``.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 1 and Eq. 3 (rewards r(x, y)).
    MacIver et al. (2019), "Hypothesis: A new approach to property-based testing", JOSS 4(43).

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> from psipo_exact.strategies import rewards
    >>> @settings(max_examples=20, database=None, derandomize=True)
    ... @given(rewards(4, scale=2.0))
    ... def test_bounded(r):
    ...     assert r.shape == (4,) and np.abs(r).max() <= 2.0
    >>> test_bounded()
    """

    @st.composite
    def _rewards(draw):
        n = int(_value(draw, n_actions))
        lead = _shape(draw, batch_shape)
        values = draw(hnp.arrays(np.float64, lead + (n,), elements=_floats(-scale, scale)))
        return values + 0.0  # turn -0.0 into 0.0

    return _rewards()


@st.composite
def bradley_terry_preferences(
    draw, n_actions=st.integers(2, 5), *, batch_shape=(), scale: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """Bradley–Terry models: ``(rewards, prefs)`` with ``prefs = σ(r_i − r_j)`` (Eq. 1).

    Parameters
    ----------
    n_actions : int or SearchStrategy[int]
    batch_shape : tuple or SearchStrategy[tuple]
    scale : float, default 5.0
        Largest absolute reward. With ``scale`` above about 18, reward gaps beyond 37 round
        ``σ`` to exactly 1 and its complement to 0 (deterministic preferences).

    Returns
    -------
    SearchStrategy[tuple[ndarray, ndarray]]
        ``rewards`` of shape ``batch_shape + (n,)`` and ``prefs`` of shape
        ``batch_shape + (n, n)``, built with :func:`psipo_exact.bradley_terry_prefs`.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 1 and Proposition 1.
    MacIver et al. (2019), "Hypothesis: A new approach to property-based testing", JOSS 4(43).

    Examples
    --------
    Proposition 1 as a property: under Bradley–Terry, Ψ = logit gives
    ``g(y) = r(y) − E_µ[r]``:

    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> from psipo_exact import expected_psi
    >>> from psipo_exact.strategies import bradley_terry_preferences
    >>> @settings(max_examples=20, database=None, derandomize=True)
    ... @given(bradley_terry_preferences(3))
    ... def test_proposition1(model):
    ...     r, prefs = model
    ...     mu = np.ones(3) / 3
    ...     assert np.allclose(expected_psi(prefs, mu, "logit"), r - r.mean())
    >>> test_proposition1()
    """
    r = draw(rewards(n_actions, batch_shape=batch_shape, scale=scale))
    return r, bradley_terry_prefs(r)


@st.composite
def datasets(
    draw,
    n_actions=st.integers(2, 5),
    *,
    min_size: int = 1,
    max_size: int = 12,
    n_contexts=None,
) -> Dataset:
    """Preference datasets ``D = (x_i, y_w,i ≻ y_l,i)`` (Sec. 2) as :class:`Dataset`.

    Parameters
    ----------
    n_actions : int or SearchStrategy[int], default integers(2, 5)
    min_size, max_size : int
        Bounds on the number of comparisons N (``1 <= min_size <= max_size``).
    n_contexts : None, int or SearchStrategy[int], default None
        None: the bandit setting (``contexts=None``). An integer k: contexts drawn from
        ``0 .. k-1`` and ``n_contexts=k`` (some contexts may hold no data).

    Returns
    -------
    SearchStrategy[Dataset]
        Winners differ from losers in every datum; repeated comparisons may occur.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (D = (x_i, y_w,i ≻ y_l,i)).
    MacIver et al. (2019), "Hypothesis: A new approach to property-based testing", JOSS 4(43).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from psipo_exact.strategies import datasets
    >>> @settings(max_examples=20, database=None, derandomize=True)
    ... @given(datasets(3, min_size=4, n_contexts=2))
    ... def test_datasets(data):
    ...     assert len(data) >= 4 and data.logits_shape == (2, 3)
    ...     assert (data.winners != data.losers).all()
    >>> test_datasets()
    """
    n = int(_value(draw, n_actions))
    size = draw(st.integers(min_size, max_size))
    winners = draw(hnp.arrays(np.int64, size, elements=st.integers(0, n - 1)))
    # loser = winner + offset (mod n), offset in 1..n-1: never a self-comparison.
    offsets = draw(hnp.arrays(np.int64, size, elements=st.integers(1, n - 1)))
    losers = (winners + offsets) % n
    k = _value(draw, n_contexts)
    if k is None:
        return Dataset(winners, losers, n)
    k = int(k)
    contexts = draw(hnp.arrays(np.int64, size, elements=st.integers(0, k - 1)))
    return Dataset(winners, losers, n, contexts=contexts, n_contexts=k)


class PreferenceProblem(NamedTuple):
    """A consistent population problem ``(p*, µ, πref, τ)`` of Sec. 2 / Eq. 6.

    ``prefs`` has shape ``batch_shape + (n, n)``, ``mu`` and ``pi_ref`` shape
    ``batch_shape + (n,)``; ``tau`` is a float.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 6 (the ΨPO problem (p*, µ, πref, τ)).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.strategies import PreferenceProblem
    >>> problem = PreferenceProblem(np.array([[0.5, 1.0], [0.0, 0.5]]), np.ones(2) / 2,
    ...                             np.ones(2) / 2, 1.0)
    >>> print(np.round(px.psipo_policy(*problem), 4))  # Sec. 5.3.1: σ(±1/2)
    [0.6225 0.3775]
    """

    prefs: np.ndarray
    mu: np.ndarray
    pi_ref: np.ndarray
    tau: float


@st.composite
def preference_problems(
    draw,
    n_actions=st.integers(2, 5),
    *,
    batch_shape=(),
    deterministic: bool | None = False,
    support: str = "full",
    tau_range: tuple[float, float] = (1e-2, 1e2),
) -> PreferenceProblem:
    """Consistent problems ``(prefs, mu, pi_ref, tau)`` sharing one action count and shape.

    Parameters
    ----------
    n_actions : int or SearchStrategy[int], default integers(2, 5)
    batch_shape : tuple or SearchStrategy[tuple], default ()
        Leading shape shared by ``prefs``, ``mu`` and ``pi_ref`` (e.g. contexts).
    deterministic : bool or None, default False
        Passed to :func:`preference_matrices`.
    support : {"full", "same", "any"}, default "full"
        "full": µ and πref positive everywhere. "same": Supp(µ) = Supp(πref), possibly a
        strict subset of the actions (Theorem 2's condition). "any": independent supports.
    tau_range : (float, float), default (1e-2, 1e2)
        τ is log-uniform on this range.

    Returns
    -------
    SearchStrategy[PreferenceProblem]

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 6, Theorem 2 (``support="same"``) and Appendix A.2;
    MacIver et al. (2019), "Hypothesis: A new approach to property-based testing", JOSS 4(43).

    Examples
    --------
    Theorem 2 as a property: with Supp(µ) = Supp(πref) the Eq. 7 policy zeroes Eq. 13:

    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> from psipo_exact import losses, psipo_policy
    >>> from psipo_exact.strategies import preference_problems
    >>> @settings(max_examples=20, database=None, derandomize=True)
    ... @given(preference_problems(support="same"))
    ... def test_theorem2(p):
    ...     pi = psipo_policy(p.prefs, p.mu, p.pi_ref, p.tau)
    ...     assert losses.ipo_population(pi, p.prefs, p.mu, p.pi_ref, p.tau) < 1e-12
    >>> test_theorem2()
    """
    if support not in ("full", "same", "any"):
        raise ValueError(f"support = {support!r}, must be 'full', 'same' or 'any'")
    n = int(_value(draw, n_actions))
    lead = _shape(draw, batch_shape)
    prefs = draw(preference_matrices(n, batch_shape=lead, deterministic=deterministic))
    full = support == "full"
    mu = draw(probability_vectors(n, batch_shape=lead, full_support=full))
    pi_ref = draw(probability_vectors(n, batch_shape=lead, full_support=True))
    if support == "same":
        pi_ref = np.where(mu > 0, pi_ref, 0.0)
        pi_ref = pi_ref / pi_ref.sum(axis=-1, keepdims=True)
    elif support == "any":
        pi_ref = draw(probability_vectors(n, batch_shape=lead, full_support=False))
    tau = draw(taus(*tau_range))
    return PreferenceProblem(prefs, mu, pi_ref, tau)


#: The kinds of :func:`intransitive_preferences`.
INTRANSITIVE_KINDS = ("cyclic", "skew", "condorcet", "no_condorcet")


def _planted_wins(kind: str, n: int) -> list[tuple[int, int]]:
    """Pairs ``(a, b)`` of positions in a random order where a beats b by a margin."""
    if kind == "skew":
        return [(0, 1), (1, 2), (2, 0)]
    if kind == "no_condorcet":
        return [((i + 1) % n, i) for i in range(n)]
    cycle = [(1, 2), (2, 3), (3, 1)] if n >= 4 else []
    return [(0, j) for j in range(1, n)] + cycle  # "condorcet": the first position wins


@st.composite
def intransitive_preferences(draw, n_actions=st.integers(3, 6), *, kind: str = "any",
                             batch_shape=()) -> np.ndarray:
    """Intransitive preference matrices for preference games (Munos et al., 2312.00886).

    Kinds (``kind="any"`` draws one of them):

    * ``"cyclic"``: generalised rock–paper–scissors, action i beats i+1, …, i+⌊(n−1)/2⌋
      (mod n) with one probability p ∈ [0.55, 1], other pairs ½; for odd n the uniform
      policy is the unique Nash equilibrium.
    * ``"skew"``: random complementary matrix (``prefs − ½`` a random skew-symmetric matrix)
      with a planted majority cycle of three actions, margins in [0.55, 0.99].
    * ``"condorcet"``: a Condorcet winner (beats every other action with probability in
      [0.55, 0.99]), and a majority cycle among three other actions when n ≥ 4; the Nash
      equilibrium of the unregularised game is the winner, pure.
    * ``"no_condorcet"``: a majority cycle through all actions (each action loses to another
      with probability in [0.55, 0.99]), so no Condorcet winner exists.

    Actions are relabelled by a random permutation (except ``"cyclic"``). Entries not
    planted lie in [0.01, 0.99]; ``prefs + prefsᵀ = 1`` exactly, diagonal ½.

    Parameters
    ----------
    n_actions : int or SearchStrategy[int], default integers(3, 6)
        At least 3.
    kind : {"any", "cyclic", "skew", "condorcet", "no_condorcet"}, default "any"
    batch_shape : tuple or SearchStrategy[tuple], default ()

    Returns
    -------
    SearchStrategy[ndarray]
        Shape ``batch_shape + (n_actions, n_actions)``.

    Examples
    --------
    >>> from hypothesis import given
    >>> import numpy as np
    >>> from psipo_exact.strategies import intransitive_preferences
    >>> @given(intransitive_preferences(kind="no_condorcet"))
    ... def test_every_action_loses_to_some_action(prefs):
    ...     assert ((prefs < 0.5).any(axis=-1)).all()
    >>> test_every_action_loses_to_some_action()

    References
    ----------
    Munos et al., arXiv:2312.00886 (preference games beyond Bradley–Terry); Azar
    et al., arXiv:2310.12036, Sec. 2.
    """
    if kind != "any" and kind not in INTRANSITIVE_KINDS:
        raise ValueError(f"kind = {kind!r}, must be 'any' or one of {list(INTRANSITIVE_KINDS)}")
    kind = draw(st.sampled_from(INTRANSITIVE_KINDS)) if kind == "any" else kind
    n = int(_value(draw, n_actions))
    if n < 3:
        raise ValueError(f"n_actions = {n}, must be >= 3 for an intransitive matrix")
    lead = _shape(draw, batch_shape)
    if kind == "cyclic":
        p = draw(_floats(0.55, 1.0))
        ahead = (np.arange(n)[None, :] - np.arange(n)[:, None]) % n  # j − i mod n
        half = (n - 1) // 2
        prefs = np.where((ahead >= 1) & (ahead <= half), p,
                         np.where(ahead >= n - half, 1.0 - p, 0.5))
        return np.broadcast_to(prefs, lead + (n, n)).copy()
    prefs = draw(preference_matrices(n, batch_shape=lead)).reshape(-1, n, n)
    keys = draw(hnp.arrays(np.float64, (prefs.shape[0], n), elements=_floats(0.0, 1.0)))
    order = np.argsort(keys, axis=-1, kind="stable")
    margins = draw(hnp.arrays(np.float64, (prefs.shape[0], n), elements=_floats(0.55, 0.99)))
    rows = np.arange(prefs.shape[0])
    for m, (a, b) in enumerate(_planted_wins(kind, n)):
        prefs[rows, order[:, a], order[:, b]] = margins[:, m % n]
        prefs[rows, order[:, b], order[:, a]] = 1.0 - margins[:, m % n]
    return prefs.reshape(lead + (n, n))


def pairwise_loss_names(*, margin: bool | None = None, convex: bool | None = None,
                        include_aliases: bool = False) -> SearchStrategy:
    """Names of registered pairwise losses (:data:`psipo_exact.losses.PAIRWISE_LOSSES`).

    Parameters
    ----------
    margin : bool, optional
        Only losses of ``h = s_w − s_l`` (True) or of the separate log-ratios (False).
    convex : bool, optional
        Only losses convex in ``h`` (True) or not (False).
    include_aliases : bool, default False
        Also draw TRL's aliases ``dpo`` and ``slic``.

    Returns
    -------
    SearchStrategy[str]

    Examples
    --------
    >>> from hypothesis import given
    >>> from psipo_exact import losses
    >>> from psipo_exact.strategies import pairwise_loss_names, pairwise_loss_params
    >>> @given(pairwise_loss_names(margin=True).flatmap(
    ...     lambda name: st.tuples(st.just(name), pairwise_loss_params(name))))
    ... def test_margin_losses_are_shift_invariant(case):
    ...     name, params = case
    ...     a = losses.pairwise_loss(name, 1.0, 0.5, 0.3, **params)
    ...     b = losses.pairwise_loss(name, 3.0, 2.5, 0.3, **params)
    ...     assert abs(a - b) <= 1e-12 * (1 + abs(a))
    >>> test_margin_losses_are_shift_invariant()

    References
    ----------
    TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """
    names = [name for name, loss in PAIRWISE.items()
             if (margin is None or loss.margin == margin)
             and (convex is None or loss.convex == convex)]
    if include_aliases:
        names += [alias for alias, name in PAIRWISE_ALIASES.items() if name in names]
    return st.sampled_from(names)


@st.composite
def pairwise_loss_params(draw, name: str, *, f_divergence: bool = False) -> dict:
    """Valid parameters (TRL names) for the loss ``name``: a dict for ``**params``.

    ``label_smoothing`` in [0, 0.45] (``cdpo``, ``robust``) or [1e-4, 0.45] (``exo_pair``);
    ``discopop_tau`` log-uniform in [0.02, 2]. With ``f_divergence``, also
    ``f_divergence_type`` and, for the α-divergence, ``f_alpha_divergence_coef`` in
    [−2, 0.9] (where the f-DPO optimum is the f-regularised policy, α < 1, α ≠ 0).

    Parameters
    ----------
    name : str
        A registered loss or alias.
    f_divergence : bool, default False

    Returns
    -------
    SearchStrategy[dict]

    Examples
    --------
    >>> from hypothesis import given
    >>> from psipo_exact.strategies import pairwise_loss_params
    >>> @given(pairwise_loss_params("robust", f_divergence=True))
    ... def test_robust_params_are_valid(params):
    ...     assert 0 <= params["label_smoothing"] < 0.5
    >>> test_robust_params_are_valid()

    References
    ----------
    TRL ``DPOConfig`` (``label_smoothing``, ``discopop_tau``, ``f_divergence_type``,
    ``f_alpha_divergence_coef``).
    """
    loss = PAIRWISE[PAIRWISE_ALIASES.get(name.lower(), name.lower())]
    out = {}
    if "label_smoothing" in loss.params:
        low = 1e-4 if loss.name == "exo_pair" else 0.0
        out["label_smoothing"] = draw(_floats(low, 0.45))
    if "discopop_tau" in loss.params:
        out["discopop_tau"] = float(np.exp(draw(_floats(np.log(0.02), np.log(2.0)))))
    if f_divergence:
        kind = draw(st.sampled_from(["reverse_kl", "forward_kl", "js_divergence",
                                     "alpha_divergence"]))
        out["f_divergence_type"] = kind
        if kind == "alpha_divergence":
            alpha = draw(_floats(-2.0, 0.9))
            out["f_alpha_divergence_coef"] = alpha if abs(alpha) > 1e-3 else 0.5
    return out
