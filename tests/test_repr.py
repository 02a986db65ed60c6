"""Concise reprs: a SimulationResult prints its shape and coordinates in a few lines (as
xarray does), however many runs and records it holds; and the doctests of the modules of
figures and pages run here (``make test`` does not collect doctests by itself)."""

from __future__ import annotations

import matplotlib
import numpy as np

import psipo_exact as px

matplotlib.use("Agg")


def test_simulation_result_repr_is_short_and_says_what_it_holds():
    runs = px.simulate({"D1": px.paper_dataset("D1"), "D2": px.paper_dataset("D2")},
                       ["dpo", "ipo"], np.logspace(-2, 1, 12), range(20), steps=300,
                       record_every=1)
    text = repr(runs)
    lines = text.splitlines()
    assert len(lines) == 2 + len(runs.coords) and len(text) < 800
    assert lines[0] == ("<SimulationResult: 960 runs × 300 Adam steps, probs and logits of "
                        "shape (2, 2, 12, 20, 301, 3)>")
    assert "  record   (0, 1, 2, ..., 298, 299, 300)" in lines
    assert "  dataset  ('D1', 'D2')" in lines and "  loss     ('dpo', 'ipo')" in lines
    assert str(runs) == text
