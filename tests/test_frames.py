"""Exports with labels: solutions and simulation results as DataFrames (and xarray)."""

from __future__ import annotations

import numpy as np
import pytest

import psipo_exact as px

pd = pytest.importorskip("pandas")
from psipo_exact.frames import simulation_frame, solution_frame  # noqa: E402


def test_solution_frame_labels_and_values():
    data = px.Dataset.from_pairs([("a", "b", "q1"), ("b", "c", "q1"), ("c", "a", "q2")])
    taus = np.array([0.5, 2.0])
    sol = px.solve_ipo_empirical(data, np.ones(3) / 3, taus)
    frame = solution_frame(sol, data, tau=taus)
    assert frame.columns.tolist() == ["tau", "context", "action", "policy", "logits"]
    row = frame[(frame.tau == 2.0) & (frame.context == "q2") & (frame.action == "c")]
    assert row.policy.item() == sol.policy[1, 1, 2]
    fit = px.fit_bradley_terry(px.datasets.citations(), reference="Biometrika")
    frame = solution_frame(fit, px.datasets.citations())
    assert frame.set_index("action").loc["JASA", "reward"] == fit.rewards[2]
    assert frame.set_index("action").loc["Biometrika", "stderr"] == 0
    with pytest.raises(ValueError, match="do not fit"):
        solution_frame(sol, data)


def test_simulation_frame_and_xarray():
    data = px.Dataset.from_pairs([("a", "b", "q1"), ("b", "a", "q2")])
    result = px.simulate({"D": data}, ["ipo", "dpo"], [0.5, 1.0], [0, 1], steps=3)
    frame = simulation_frame(result)
    assert len(frame) == result.probs.size
    pick = frame[(frame.loss == "dpo") & (frame.tau == 1.0) & (frame.seed == 1)
                 & (frame.step == 3) & (frame.context == "q2") & (frame.action == "a")]
    k = result.index
    assert pick.prob.item() == result.probs[k("loss", "dpo"), 0, k("tau", 1.0), 1, -1, 1, 0]
    xr = pytest.importorskip("xarray")
    from psipo_exact.frames import simulation_xarray

    arr = simulation_xarray(result)
    assert isinstance(arr, xr.Dataset)
    assert float(arr["prob"].sel(loss="dpo", dataset="D", tau=1.0, seed=1, step=3, context="q2",
                                 action="a")) == pick.prob.item()
