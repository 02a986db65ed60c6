"""One contract over every solver, driven by a registry (as optax's ``alias_test.py``).

Every solver of :mod:`psipo_exact` returns a :class:`~psipo_exact.solvers.Solution` that
keeps the same promises: ``free == ()`` exactly when ``unique``; policies finite,
non-negative and summing to 1, equal to ``softmax(logits)``; a ``status`` from the one table
with a message that starts with its text; read-only arrays; shapes that broadcast over τ and
contexts by the package's one τ rule (τ broadcasts against the leading axes); and a τ grid
that gives, slice by slice, the one-at-a-time answers.

A new solver joins by adding a :class:`Entry` to :data:`SOLVERS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import psipo_exact as px
from psipo_exact import strategies as pst
from psipo_exact.solvers import STATUS_MESSAGES, Solution
from psipo_exact.solvers.result import LIMIT, LIMIT_SET, OPTIMAL_SET, OPTIMUM, status_for


@dataclass(frozen=True)
class Entry:
    """A solver and the kind of problem it takes.

    ``kind`` is ``"population"`` (called as ``solve(prefs, mu, pi_ref, tau)``),
    ``"empirical"`` (``solve(data, pi_ref, tau)``), ``"dataset"`` (``solve(data)``, no τ),
    ``"population_fit"`` (``solve(prefs, mu)``, no τ) or ``"game"`` (``solve(prefs, pi_ref,
    tau)``, τ = 0 allowed: its grid also gets a τ = 0 slice).
    """

    solve: Callable
    kind: str


#: Every solver of the package. The issues that add solvers add them here.
SOLVERS = {
    "solve_ipo_population": Entry(px.solve_ipo_population, "population"),
    "solve_dpo_population": Entry(px.solve_dpo_population, "population"),
    "solve_ipo_empirical": Entry(px.solve_ipo_empirical, "empirical"),
    "solve_dpo_empirical": Entry(px.solve_dpo_empirical, "empirical"),
    "fit_bradley_terry": Entry(px.fit_bradley_terry, "dataset"),
    "fit_bradley_terry (population)": Entry(px.fit_bradley_terry, "population_fit"),
    "fit_rao_kupper": Entry(px.fit_rao_kupper, "dataset"),
    "fit_davidson": Entry(px.fit_davidson, "dataset"),
    "fit_plackett_luce": Entry(px.fit_plackett_luce, "dataset"),
    "solve_dpo_rankings": Entry(px.solve_dpo_rankings, "empirical"),
    "solve_nash": Entry(px.solve_nash, "game"),
}
# The loss family: one entry per code path of solve_pairwise_* (Zermelo limits, coercive
# Newton, de-noised robust, semismooth Newton, LP, non-convex margin, separable Lagrange).
# apo_down and apo_zero at τ > 1 (a per-problem L-BFGS-B fallback, ~1 s a call) are left to
# test_pairwise_solvers.
_FAMILY = {"sigmoid": {}, "exponential": {}, "cdpo": {"label_smoothing": 0.1},
           "squared": {}, "robust": {"label_smoothing": 0.1}, "truncated_quadratic": {},
           "hinge": {}, "exo_pair": {"label_smoothing": 0.01}, "sppo_hard": {},
           "bco_pair": {}}
for _loss, _params in _FAMILY.items():
    SOLVERS[f"solve_pairwise_empirical ({_loss})"] = Entry(
        partial(px.solve_pairwise_empirical, _loss, **_params), "empirical")
    SOLVERS[f"solve_pairwise_population ({_loss})"] = Entry(
        partial(px.solve_pairwise_population, _loss, **_params), "population")


def test_registry_covers_every_public_solver():
    """Every public ``solve_*``/``fit_*`` name of the package is in the registry."""
    public = {name for name in px.__all__ if name.startswith(("solve_", "fit_"))}
    registered = {name.split(" ")[0] for name in SOLVERS}
    assert public <= registered, f"add {sorted(public - registered)} to SOLVERS"


@st.composite
def _problems(draw, kind: str):
    """``(args, lead)``: the arguments before τ and the leading shape of the answer."""
    if kind in ("population", "population_fit"):
        lead = draw(st.sampled_from([(), (2,)]))
        problem = draw(pst.preference_problems(st.integers(2, 4), batch_shape=lead,
                                               deterministic=None, support="same"))
        if kind == "population_fit":
            return (problem.prefs, problem.mu), lead
        return (problem.prefs, problem.mu, problem.pi_ref), lead
    if kind == "game":
        lead = draw(st.sampled_from([(), (2,)]))
        problem = draw(pst.preference_problems(st.integers(2, 4), batch_shape=lead,
                                               deterministic=None, support="same"))
        return (problem.prefs, problem.pi_ref), lead
    contexts = draw(st.sampled_from([None, 2]))
    data = draw(pst.datasets(st.integers(2, 4), max_size=8, n_contexts=contexts))
    if kind == "dataset":
        return (data,), data.logits_shape[:-1]
    pi_ref = draw(pst.probability_vectors(data.n_actions))
    return (data, pi_ref), ()


def _check_contract(sol: Solution, shape: tuple[int, ...]) -> None:
    assert isinstance(sol, Solution)
    assert sol.policy.shape == shape and sol.logits.shape == shape
    assert sol.status in STATUS_MESSAGES
    assert isinstance(sol.message, str) and sol.message.startswith(STATUS_MESSAGES[sol.status])
    assert (sol.free == ()) == sol.unique
    if sol.status in (OPTIMUM, OPTIMAL_SET, LIMIT, LIMIT_SET):
        assert sol.status == status_for(sol.exists, sol.unique)
    assert np.isfinite(sol.policy).all() and (sol.policy >= 0).all()
    np.testing.assert_allclose(sol.policy.sum(-1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(px.softmax_policy(sol.logits), sol.policy, rtol=1e-9, atol=1e-15)
    assert np.isfinite(sol.residual) and sol.residual >= 0
    for value in vars(sol).values():
        if isinstance(value, np.ndarray):
            assert not value.flags.writeable
            with pytest.raises(ValueError):
                value[...] = 0


@pytest.mark.parametrize("name", sorted(SOLVERS))
@given(data=st.data())
def test_contract(name, data):
    entry = SOLVERS[name]
    args, lead = data.draw(_problems(entry.kind))
    n = args[0].n_actions if isinstance(args[0], px.Dataset) else args[0].shape[-1]
    trailing = args[0].logits_shape if isinstance(args[0], px.Dataset) else lead + (n,)
    if entry.kind in ("dataset", "population_fit"):
        _check_contract(entry.solve(*args), trailing)
        return
    tau = data.draw(pst.taus(1e-2, 1e2))
    single = entry.solve(*args, tau)
    _check_contract(single, trailing)
    # A τ grid over the leading axes: taus[:, None, ...] by the package's τ rule.
    taus = np.array([tau, 2 * tau, tau / 3] + ([0.0] if entry.kind == "game" else []))
    grid = entry.solve(*args, taus.reshape((taus.size,) + (1,) * len(lead)))
    _check_contract(grid, (taus.size,) + trailing)
    np.testing.assert_allclose(grid.policy[0], single.policy, rtol=1e-12, atol=1e-300)
    uniques = []
    for k, t in enumerate(taus):
        one = entry.solve(*args, t)
        np.testing.assert_allclose(grid.policy[k], one.policy, rtol=1e-12, atol=1e-300)
        assert (one.exists, one.unique) == (grid.exists, grid.unique) or not lead or t == 0
        uniques.append(one.unique)
    assert grid.unique == all(uniques)  # τ = 0 slices of "game" may be the non-unique ones


def test_status_table_is_the_one_source_of_messages():
    for code, text in STATUS_MESSAGES.items():
        assert isinstance(code, int) and text and text == text.strip()
    with pytest.raises(ValueError, match="status"):
        Solution(np.ones(1), np.zeros(1), True, True, (), 0.0, 99, "made up")


def test_tau_grid_over_contexts_error_says_how():
    """2 problems and 3 τ do not broadcast: the message shows tau[:, None]."""
    prefs = np.full((2, 3, 3), 0.5)
    uniform = np.full(3, 1 / 3)
    with pytest.raises(ValueError, match=r"tau\[:, None\].*\(3, 2\)"):
        px.solve_ipo_population(prefs, uniform, uniform, [0.1, 1.0, 10.0])
    grid = px.solve_ipo_population(prefs, uniform, uniform, np.array([0.1, 1.0, 10.0])[:, None])
    assert grid.policy.shape == (3, 2, 3)


def test_repr_is_concise():
    sol = px.solve_dpo_empirical(px.paper_dataset("D3_never_wins"), np.ones(3) / 3, 1.0)
    text = repr(sol)
    assert len(text.splitlines()) == 2 and "status=2" in text and "shape (3,)" in text
