"""The intransitive preference strategies keep their promises (psipo_exact.strategies)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import psipo_exact as px
from psipo_exact import strategies as pst


def _majority_cycle(prefs) -> bool:
    """Is there a cycle in the strict-majority digraph (brute force: transitive closure)?"""
    beats = prefs > 0.5
    reach = beats.copy()
    for k in range(len(prefs)):
        reach |= reach[:, [k]] & reach[[k], :]
    return bool(np.diag(reach).any())


@given(pst.intransitive_preferences(batch_shape=pst.batch_shapes(max_dims=1)))
def test_valid_complementary_matrices(prefs):
    np.testing.assert_array_equal(prefs + np.swapaxes(prefs, -1, -2), 1.0)
    px.PreferenceModel(prefs, np.ones(prefs.shape[-1]) / prefs.shape[-1],
                       np.ones(prefs.shape[-1]) / prefs.shape[-1])


@given(pst.intransitive_preferences(st.integers(3, 6), kind="cyclic"))
def test_cyclic_has_a_cycle_and_uniform_is_an_equilibrium(prefs):
    n = len(prefs)
    assert _majority_cycle(prefs)
    np.testing.assert_allclose((prefs - 0.5) @ np.ones(n) / n, 0.0, atol=1e-15)


@given(pst.intransitive_preferences(st.integers(3, 6), kind="skew"))
def test_skew_has_a_majority_cycle(prefs):
    assert _majority_cycle(prefs)


@given(pst.intransitive_preferences(st.integers(3, 6), kind="condorcet"))
def test_condorcet_has_exactly_one_winner_and_a_cycle_from_four_actions(prefs):
    n = len(prefs)
    winners = np.flatnonzero((prefs > 0.5).sum(-1) == n - 1)
    assert winners.size == 1
    if n >= 4:
        assert _majority_cycle(prefs)


@given(pst.intransitive_preferences(st.integers(3, 6), kind="no_condorcet"))
def test_no_condorcet_winner(prefs):
    assert not ((prefs > 0.5).sum(-1) == len(prefs) - 1).any()
    assert _majority_cycle(prefs)


@given(st.data())
def test_bad_arguments(data):
    with pytest.raises(ValueError, match="kind = 'star'"):
        data.draw(pst.intransitive_preferences(kind="star"))
    with pytest.raises(ValueError, match="n_actions = 2"):
        data.draw(pst.intransitive_preferences(2))
