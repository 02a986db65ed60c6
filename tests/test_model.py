"""Tests of psipo_exact.model: PreferenceModel, Bradley–Terry preferences (Eq. 1), Dataset and
the Sec. 5.4 datasets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import psipo_exact as px
from psipo_exact import strategies as pst
from psipo_exact.model import PAPER_DATASET_NAMES, Dataset, PreferenceModel

PREFS = np.array([[0.5, 0.7, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]])
MU = np.array([0.2, 0.3, 0.5])
PI_REF = np.array([0.3, 0.3, 0.4])

# ---------------------------------------------------------------------- PreferenceModel


@given(pst.preference_problems(st.integers(1, 5), batch_shape=pst.batch_shapes(),
                               deterministic=None, support="any"))
def test_preference_model_accepts_valid_problems(problem):
    model = PreferenceModel(problem.prefs, problem.mu, problem.pi_ref)
    assert model.n_actions == problem.mu.shape[-1]
    np.testing.assert_array_equal(model.prefs, problem.prefs)
    with pytest.raises(ValueError):
        model.prefs[..., 0, 0] = 0.3  # stored arrays are read-only
    with pytest.raises(AttributeError):
        model.mu = problem.mu


def test_preference_model_does_not_alias_caller_arrays():
    prefs = PREFS.copy()
    model = PreferenceModel(prefs, MU, PI_REF, rho=None)
    prefs[0, 1] = 0.9
    assert model.prefs[0, 1] == 0.7


def test_preference_model_with_contexts():
    prefs = np.stack([PREFS, PREFS.T])
    model = PreferenceModel(prefs, MU, PI_REF, rho=[0.25, 0.75])
    np.testing.assert_array_equal(model.rho, [0.25, 0.75])
    with pytest.raises(ValueError, match=r"rho has 3 contexts.*context axis"):
        PreferenceModel(prefs, MU, PI_REF, rho=[0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"rho has 2 contexts.*shape \(\)"):
        PreferenceModel(PREFS, MU, PI_REF, rho=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"rho must be one-dimensional"):
        PreferenceModel(prefs, MU, PI_REF, rho=[[0.5, 0.5]])


@pytest.mark.parametrize("arg, value, exc, match", [
    ("prefs", [[0.5, 0.9, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]], ValueError,
     r"prefs\[0, 1\] \+ prefs\[1, 0\] = 1\.2.*must equal 1"),
    ("prefs", [[0.4, 0.7, 0.2], [0.3, 0.5, 0.6], [0.8, 0.4, 0.5]], ValueError,
     r"prefs\[0, 0\] \+ prefs\[0, 0\] = 0\.8.*must equal 1"),
    ("prefs", [[0.5, 1.5], [-0.5, 0.5]], ValueError, r"prefs\[0, 1\] = 1\.5, must lie in"),
    ("prefs", np.full((2, 3), 0.5), ValueError, r"prefs must have shape \(\.\.\., n, n\)"),
    ("prefs", [[0.5, np.nan], [np.nan, 0.5]], ValueError, r"prefs\[0, 1\] is NaN"),
    ("prefs", None, TypeError, r"prefs must be a numeric array"),
    ("mu", [0.2, 0.3, 0.6], ValueError, r"mu\[:\] sums to 1\.1.*must sum to 1"),
    ("mu", [0.6, -0.1, 0.5], ValueError, r"mu\[1\] = -0\.1, must be >= 0"),
    ("mu", [0.5, 0.5], ValueError, r"mu has 2 actions.*expected 3"),
    ("mu", [0.5, 0.5, np.nan], ValueError, r"mu\[2\] is NaN"),
    ("pi_ref", [0.2, 0.3, 0.4], ValueError, r"pi_ref\[:\] sums to 0\.9"),
    ("pi_ref", [1.0, 0.0, 0.0, 0.0], ValueError, r"pi_ref has 4 actions.*expected 3"),
    ("pi_ref", np.full((2, 2, 3), 1 / 3), ValueError, r"pi_ref\[0, 0, :\] sums to"),
    ("mu", np.full((4, 3), 1 / 3), ValueError, r"leading shapes do not broadcast"),
    ("rho", [0.5, 0.4], ValueError, r"rho\[:\] sums to 0\.9"),
])
def test_preference_model_bad_input(arg, value, exc, match):
    kwargs = dict(prefs=PREFS, mu=MU, pi_ref=PI_REF, rho=None)
    if arg == "pi_ref" and np.ndim(value) == 3:
        value = np.array(value)
        value[0, 0, 0] = 0.5
    if arg == "mu" and np.ndim(value) == 2:
        kwargs["pi_ref"] = np.full((3, 3), 1 / 3)
    if arg == "rho":
        kwargs["prefs"] = np.stack([PREFS, PREFS])
    kwargs[arg] = value
    with pytest.raises(exc, match=match):
        PreferenceModel(**kwargs)


# -------------------------------------------------------------- Bradley–Terry (Eq. 1)


@given(pst.rewards(st.integers(1, 6), batch_shape=pst.batch_shapes(), scale=60.0))
def test_bradley_terry_prefs_exact_complementarity(rewards):
    """prefs + prefsᵀ = 1 to the last bit and the diagonal is exactly 1/2, even when σ
    saturates to 0/1 (reward gaps beyond 37)."""
    prefs = px.bradley_terry_prefs(rewards)
    n = rewards.shape[-1]
    assert prefs.shape == rewards.shape + (n,)
    assert np.all(prefs + np.swapaxes(prefs, -1, -2) == 1.0)
    assert np.all(np.diagonal(prefs, axis1=-2, axis2=-1) == 0.5)
    PreferenceModel(prefs, np.full(n, 1 / n), np.full(n, 1 / n))  # passes validation
    for idx in np.ndindex(*rewards.shape[:-1]):
        for i in range(n):
            for j in range(n):
                d = rewards[idx][i] - rewards[idx][j]
                # σ(d) computed without cancellation on either side.
                expected = 1 / (1 + math.exp(-d)) if d >= 0 else math.exp(d) / (1 + math.exp(d))
                got = prefs[idx + (i, j)]
                # Entries below 1/2 are taken as 1 − σ(−d): absolute accuracy ~1 ulp(1/2).
                assert abs(got - expected) <= 2.3e-16 + 1e-15 * expected


def test_bradley_terry_prefs_values_and_errors():
    prefs = px.bradley_terry_prefs([0.0, math.log(3.0)])
    np.testing.assert_allclose(prefs, [[0.5, 0.25], [0.75, 0.5]], rtol=1e-15)
    with pytest.raises(ValueError, match=r"rewards\[1\] = inf, must be finite"):
        px.bradley_terry_prefs([0.0, np.inf])
    with pytest.raises(ValueError, match=r"rewards\[0\] is NaN"):
        px.bradley_terry_prefs([np.nan, 0.0])
    with pytest.raises(ValueError, match=r"rewards must have at least 1 axes"):
        px.bradley_terry_prefs(1.0)
    with pytest.raises(TypeError, match=r"rewards must be a numeric array"):
        px.bradley_terry_prefs(["a", "b"])


# ----------------------------------------------------------------------------- Dataset


def test_dataset_basics_and_from_pairs():
    ds = Dataset.from_pairs([(0, 1), (1, 2), (0, 2), (0, 1)], 3)
    np.testing.assert_array_equal(ds.winners, [0, 1, 0, 0])
    np.testing.assert_array_equal(ds.losers, [1, 2, 2, 1])
    assert len(ds) == 4 and ds.contexts is None and ds.n_contexts == 1
    assert ds.logits_shape == (3,)
    with pytest.raises(ValueError):
        ds.winners[0] = 2
    ctx = Dataset.from_pairs([(0, 1, 1), (1, 0, 0)], 2, n_contexts=3)
    assert ctx.n_contexts == 3 and ctx.logits_shape == (3, 2)
    np.testing.assert_array_equal(ctx.contexts, [1, 0])
    # Integer-valued floats are accepted as indices.
    np.testing.assert_array_equal(Dataset([0.0, 1.0], [1.0, 2.0], 3).winners, [0, 1])


@given(pst.datasets(st.integers(2, 5), n_contexts=st.one_of(st.none(), st.integers(1, 3))))
def test_win_counts_match_loop(ds):
    """win_counts[x, i, j] = #{data with y_i ≻ y_j in context x}; the incidence matrix gives
    θ_w − θ_l per datum."""
    counts = ds.win_counts()
    expected = np.zeros((ds.n_contexts, ds.n_actions, ds.n_actions))
    for i in range(len(ds)):
        x = 0 if ds.contexts is None else ds.contexts[i]
        expected[x, ds.winners[i], ds.losers[i]] += 1
    if ds.contexts is None:
        expected = expected[0]
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum() == len(ds)
    theta = np.arange(ds.n_contexts * ds.n_actions, dtype=float) ** 1.5
    gaps = ds.incidence @ theta
    x = ds.context_index * ds.n_actions
    np.testing.assert_allclose(gaps, theta[x + ds.winners] - theta[x + ds.losers])


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(winners=[], losers=[], n_actions=3), ValueError, r"winners is empty"),
    (dict(winners=[0, 1], losers=[1], n_actions=3), ValueError,
     r"losers has 1 entries, winners has 2: must match"),
    (dict(winners=[0, 3], losers=[1, 0], n_actions=3), ValueError,
     r"winners\[1\] = 3, must be in \[0, 2\]"),
    (dict(winners=[0, 1], losers=[1, -1], n_actions=3), ValueError,
     r"losers\[1\] = -1, must be in \[0, 2\]"),
    (dict(winners=[0, 2], losers=[1, 2], n_actions=3), ValueError,
     r"winners\[1\] = losers\[1\] = 2: an action cannot be compared with itself"),
    (dict(winners=[0.5], losers=[1], n_actions=3), TypeError, r"winners must hold integers"),
    (dict(winners=[[0]], losers=[[1]], n_actions=3), ValueError,
     r"winners must be one-dimensional"),
    (dict(winners="01", losers=[1], n_actions=3), TypeError, r"winners must be an array"),
    (dict(winners=[0], losers=[1], n_actions=1), ValueError, r"n_actions = 1, must be >= 2"),
    (dict(winners=[0], losers=[1], n_actions=2.0), TypeError, r"n_actions must be an integer"),
    (dict(winners=[0], losers=[1], n_actions=True), TypeError, r"n_actions must be an integer"),
    (dict(winners=[0, 1], losers=[1, 0], n_actions=2, contexts=[0]), ValueError,
     r"contexts has 1 entries, winners has 2: must match"),
    (dict(winners=[0, 1], losers=[1, 0], n_actions=2, contexts=[0, -1]), ValueError,
     r"contexts\[1\] = -1, must be >= 0"),
    (dict(winners=[0, 1], losers=[1, 0], n_actions=2, contexts=[0, 2], n_contexts=2),
     ValueError, r"n_contexts = 2, but contexts holds index 2"),
    (dict(winners=[0], losers=[1], n_actions=2, n_contexts=2), ValueError,
     r"n_contexts = 2 given without contexts"),
    (dict(winners=[0], losers=[1], n_actions=2, action_names=("a",)), ValueError,
     r"action_names has 1 labels, n_actions is 2"),
    (dict(winners=[[0], [1, 0]], losers=[1, 0], n_actions=2), ValueError,
     r"winners must be an array of integers \(rectangular\)"),
    (dict(winners=[0.0, 1e30], losers=[1, 0], n_actions=2), ValueError,
     r"winners\[1\] = 1e\+30, must be an index of int64 size"),
    (dict(winners=[0], losers=[np.inf], n_actions=2), ValueError,
     r"losers\[0\] = inf, must be an index of int64 size"),
    (dict(winners=[0], losers=[np.nan], n_actions=2), TypeError,
     r"losers must hold integers, got dtype float64"),
])
def test_dataset_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Dataset(**kwargs)


def test_dataset_from_pairs_bad_input():
    with pytest.raises(ValueError, match=r"pairs is empty"):
        Dataset.from_pairs([], 3)
    with pytest.raises(ValueError, match=r"tuple lengths \[2, 3\]"):
        Dataset.from_pairs([(0, 1), (1, 2, 0)], 3)
    with pytest.raises(ValueError, match=r"winners\[0\] = losers\[0\] = 1"):
        Dataset.from_pairs([(1, 1)], 3)
    for bad in (None, [1, 2]):
        with pytest.raises(TypeError, match=r"pairs must be a sequence of \(winner, loser"):
            Dataset.from_pairs(bad, 3)


# ------------------------------------------------------------------ paper datasets (5.4)


@pytest.mark.parametrize("name, pairs", [
    ("D1", [(0, 1), (1, 2), (0, 2)]),
    ("D2", [(0, 1), (1, 2), (2, 0)]),
    ("D3", [(0, 1), (1, 0)]),
    ("D3_never_wins", [(0, 1), (1, 2)]),
])
def test_paper_dataset_contents(name, pairs):
    """Sec. 5.4 over actions a, b, c = 0, 1, 2: D1 a total order, D2 a cycle, D3 as printed
    ({a≻b, b≻a}) and the reading in which c never wins."""
    ds = px.paper_dataset(name)
    assert list(zip(ds.winners.tolist(), ds.losers.tolist())) == pairs
    assert ds.n_actions == 3 and ds.contexts is None
    assert ds.action_names == ("a", "b", "c")
    assert name in PAPER_DATASET_NAMES


def test_paper_dataset_structure():
    counts = px.paper_dataset("D1").win_counts()
    assert counts[0].sum() == 2 and counts[:, 0].sum() == 0  # a beats all, never loses
    assert px.paper_dataset("D3_never_wins").win_counts()[2].sum() == 0  # c never wins
    assert px.paper_dataset("D3").win_counts()[:, 2].sum() == 0  # c never compared
    d2 = px.paper_dataset("D2").win_counts()
    np.testing.assert_array_equal(d2.sum(0), [1, 1, 1])  # a cycle: each wins and loses once
    np.testing.assert_array_equal(d2.sum(1), [1, 1, 1])
    with pytest.raises(ValueError, match=r"name = 'D4', must be one of"):
        px.paper_dataset("D4")
    with pytest.raises(TypeError, match=r"name must be a string"):
        px.paper_dataset(1)


def test_bradley_terry_prefs_with_rewards_near_float_maximum():
    """r = (1e308, −1e308): the gap overflows to ±∞ and σ gives exactly 1 and 0, silently."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prefs = px.bradley_terry_prefs([1e308, -1e308])
    np.testing.assert_array_equal(prefs, [[0.5, 1.0], [0.0, 0.5]])
