"""Fuzz harness over the whole public API (issue 9).

Every public callable — the names of ``psipo_exact.__all__`` and of every public submodule
(its ``__all__``, or the public names it defines), the public classmethods of those classes —
is driven by hypothesis through one registry of argument *recipes* keyed by PARAMETER NAME
(``RECIPES["tau"]``, ``RECIPES["mu"]``, …; ``"qualified.name.param"`` overrides one callable).
A public callable is either fuzzed or listed in :data:`EXCLUDED` / :data:`EXCLUDED_MODULES`
with the reason and the tests that cover it instead; a parameter without a recipe fails
:func:`test_every_parameter_has_a_recipe` with the line to add. So a new function is covered
the day it is added.

Properties, per callable:

* valid inputs across the floating-point range (τ from the smallest subnormal to the largest
  float, probabilities down to 1e-300 and exact zeros, preferences in {0, 1} and within
  1e-16 of them, Bradley–Terry rewards up to ±1e308, weights from 1e-300 to 1e300,
  degenerate datasets, contexts, τ grids): a result without NaN (policies finite and
  normalised) and no warning (pytest turns RuntimeWarnings into errors), or one of the
  documented errors of :data:`DOMAIN_ERRORS` (the mathematics is undefined there);
* invalid inputs (NaN, ±inf, wrong shapes and dtypes, booleans, empty arrays, out-of-range
  ids, non-complementary preferences, …), one argument at a time: ``ValueError`` or
  ``TypeError`` whose message names the argument;
* batched calls equal one-at-a-time calls: each batchable argument stacked over a new leading
  axis (a batch of problems, or a τ grid) gives, slice by slice, the single answers.

Profiles: ``make test`` runs a derandomised default (:data:`EXAMPLES` examples per property);
``PSIPO_FUZZ=long`` (``make fuzz``) runs many more, randomised.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import warnings
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import psipo_exact
import psipo_exact.datasets
from psipo_exact.model import Dataset, Rankings

# ------------------------------------------------------------------------------ profiles

PROFILE = os.environ.get("PSIPO_FUZZ", "default")
EXAMPLES = {"default": 25, "long": 500}[PROFILE]
_OPTIONS = dict(deadline=None, derandomize=PROFILE == "default", database=None,
                suppress_health_check=list(HealthCheck),
                phases=[p for p in Phase if p != Phase.shrink or PROFILE == "long"])
FUZZ = settings(max_examples=EXAMPLES, **_OPTIONS)
#: Invalid inputs are rejected before any computation: a few examples per case suffice.
FUZZ_INVALID = settings(max_examples=max(2, EXAMPLES // 4), **_OPTIONS)

# ------------------------------------------------------------------------------ the API

#: Public modules not fuzzed here, and the tests that cover them instead.
EXCLUDED_MODULES = {
    "psipo_exact.cli": "the psipo-exact command (argparse, files): tests/test_cli_*.py",
    "psipo_exact.files": "file formats of the CLI: tests/test_cli_solve.py",
    "psipo_exact.plotting": "matplotlib figures: tests/test_cli_reproduce*.py",
    "psipo_exact.report": "summary.md/csv of computed experiments: tests/test_experiments.py",
    "psipo_exact.experiments": "the paper's set-ups, composed of the fuzzed functions: "
                               "tests/test_experiments.py",
    "psipo_exact.strategies": "hypothesis strategies: tests/test_strategies.py",
    "psipo_exact.symbolic": "sympy checks on symbols, not arrays: tests/test_symbolic.py",
    "psipo_exact.gallery": "Markdown/HTML text of the figure gallery (strings, no numerics): "
                           "tests/test_gallery.py",
}

#: Public callables of fuzzed modules that are not fuzzed, with the reason.
EXCLUDED = {
    "psipo_exact.solvers.result.Solution": "result container built only by make_solution "
                                           "(tests/test_solver_contract.py)",
    "psipo_exact.solvers.result.BradleyTerrySolution": "result container (as Solution)",
    "psipo_exact.solvers.result.make_solution": "builder of Solution for solvers "
                                                "(tests/test_solver_contract.py)",
    "psipo_exact.solvers.result.status_for": "status of a (exists, unique) pair, used by "
                                             "make_solution (tests/test_solver_contract.py)",
    "psipo_exact.solvers.bradley_terry.BTFit": "internal result of bt_fit",
    "psipo_exact.solvers.bradley_terry.bt_fit": "graph-level building block of "
                                                "fit_bradley_terry and the DPO solvers",
    "psipo_exact.solvers.bradley_terry.bt_solution": "builds the Solution of bt_fit",
    "psipo_exact.simulate.result.SimulationResult": "result container built by simulate "
                                                    "(tests/test_simulate.py)",
    "psipo_exact.simulate.adam.Adam": "simulate's Adam engine, equal to optax bit for bit "
                                      "(tests/test_simulate.py)",
    "psipo_exact.simulate.batches.BatchWeights": "simulate's batch-weight engine",
    "psipo_exact.simulate.batches.validated_batches": "simulate's validation of batches= "
                                                      "(fuzzed through simulate)",
    "psipo_exact.losses.empirical.Link": "a record of two functions (the per-datum loss and "
                                         "its derivative), no validation by design",
    "psipo_exact.losses.ties.TieModel": "a record of the functions of one tie model (as "
                                        "Link), built only in TIE_MODELS (tests/test_ties.py)",
    "psipo_exact.losses.ties.tie_loglik_terms": "per-datum building block of "
                                                "dpo_ties_empirical and the tie fits, which are "
                                                "fuzzed (tests/test_ties.py)",
    "psipo_exact.losses.ties.tie_parameter_value": "validation of tie_parameter for a resolved "
                                                   "TieModel, fuzzed through the tie fits and "
                                                   "dpo_ties_empirical",
    "psipo_exact.simulate.pairwise.PairwiseLoss": "a record of per-datum derivative functions "
                                                  "(as Link), no arrays to fuzz "
                                                  "(tests/test_simulate_layouts.py)",
    "psipo_exact.simulate.pairwise.from_link": "wraps a Link record into a PairwiseLoss "
                                               "(tests/test_simulate_layouts.py)",
    "psipo_exact.simulate.batches.BatchStream": "simulate's batch-sampling engine (as "
                                                "BatchWeights), fuzzed through simulate and "
                                                "online_ipo_adam",
    "psipo_exact.solvers.result.TieModelSolution": "result container of the tie fits (as "
                                                   "BradleyTerrySolution; tests/test_ties.py)",
    "psipo_exact.games.GameTrajectory": "result container of the game dynamics "
                                        "(tests/test_games.py)",
    "psipo_exact.statistics.BootstrapResult": "result container of bootstrap_policy "
                                              "(tests/test_statistics.py)",
    "psipo_exact.frames.simulation_frame": "pandas view of a SimulationResult, a result "
                                           "container (tests/test_frames.py)",
    "psipo_exact.frames.simulation_xarray": "xarray view of a SimulationResult "
                                            "(tests/test_frames.py)",
    "psipo_exact.frames.solution_frame": "pandas view of a solver's Solution, a result "
                                         "container (tests/test_frames.py)",
}
EXCLUDED.update({  # the preference-loss family (issue 10): records and graph-level blocks
    f"psipo_exact.losses.{name}": reason for name, reason in {
        "pairwise.Shape": "a record of three functions (a loss shape), no validation by design",
        "pairwise.Term": "a record of one term of a registered loss, built by the registry",
        "pairwise.LossParams": "validated parameters, built by PairwiseLoss.parameters",
        "pairwise.PairwiseLoss": "a registry entry (PAIRWISE); its methods are fuzzed "
                                 "through pairwise_loss, pairwise_derivatives, ...",
        "pairwise.defined": "the overflow guard of the empirical losses (fuzzed through them)",
        "pairwise.margin_link": "adapter of a parameter-free margin loss for LINKS "
                                "(tests/test_loss_family.py)",
        "f_divergence.ScoreTransform": "a record of the functions of one f-divergence, built "
                                       "by score_transform",
        "targets.objective": "building block of pair_objective (validated parameters)",
        "targets.target_margin": "building block of pair_target (validated parameters)",
    }.items()})
EXCLUDED.update({
    "psipo_exact.solvers.bradley_terry.BeatsStructure": "internal result of beats_structure",
    "psipo_exact.solvers.bradley_terry.beats_structure": "graph-level building block of "
                                                         "bt_fit and the margin-loss fits",
})


def _public_modules():
    mods = [psipo_exact]
    for info in pkgutil.walk_packages(psipo_exact.__path__, "psipo_exact."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            mods.append(importlib.import_module(info.name))
    return mods


def _excluded_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in EXCLUDED_MODULES)


def public_callables() -> dict[str, Callable]:
    """Every public callable of the package, by qualified name (re-exports merged)."""
    out = {}
    for mod in _public_modules():
        if _excluded_module(mod.__name__):
            continue
        names = getattr(mod, "__all__", None)
        if names is None:  # ("__mutmut_": the mutants `make mutation` adds to a module)
            names = [n for n, obj in vars(mod).items() if not n.startswith("_")
                     and "__mutmut_" not in n
                     and getattr(obj, "__module__", None) == mod.__name__]
        for name in names:
            obj = getattr(mod, name)
            if not callable(obj) or not getattr(obj, "__module__", "").startswith("psipo_"):
                continue
            out[f"{obj.__module__}.{obj.__qualname__}"] = obj
    for qual, obj in list(out.items()):
        if isinstance(obj, type):
            for attr, raw in vars(obj).items():
                if isinstance(raw, (classmethod, staticmethod)) and not attr.startswith("_"):
                    out[f"{qual}.{attr}"] = getattr(obj, attr)
    return {q: f for q, f in sorted(out.items())
            if q not in EXCLUDED and not _excluded_module(f.__module__)}


CALLABLES = public_callables()

# ------------------------------------------------------------------------------ problems

TINY = [0.0, 5e-324, 1e-300, 2.2250738585072014e-308]
TAUS = [5e-324, 1e-320, 2.2250738585072014e-308, 1e-300, 1e-6, 0.5, 1.0, 1e6, 1e300,
        np.finfo(float).max]


def _float(low=-np.finfo(float).max, high=np.finfo(float).max):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=True)


@st.composite
def _probabilities(draw, shape, zeros=True):
    """Probability vectors with entries down to 1e-300 and exact zeros (sum 1 to an ulp)."""
    pool = st.one_of(st.sampled_from(TINY if zeros else TINY[1:]), st.floats(1e-3, 1.0))
    raw = np.array(draw(st.lists(pool, min_size=int(np.prod(shape)),
                                 max_size=int(np.prod(shape))))).reshape(shape)
    raw[..., 0] = np.where(raw.sum(-1) > 0, raw[..., 0], 1.0)
    return raw / raw.sum(-1, keepdims=True)


@st.composite
def _prefs(draw, lead, n):
    """Complementary preferences with entries in {0, 1}, within 1e-16 of them, or anywhere."""
    pool = st.one_of(st.sampled_from([0.0, 1.0, 5e-324, 1e-300, 1e-16, 1 - 1e-16, 0.5]),
                     st.floats(0.0, 1.0))
    upper = np.array(draw(st.lists(pool, min_size=int(np.prod(lead)) * n * n,
                                   max_size=int(np.prod(lead)) * n * n))).reshape(lead + (n, n))
    upper = np.triu(upper, 1)
    prefs = upper + np.swapaxes(np.triu(1.0 - upper, 1), -1, -2)
    idx = np.arange(n)
    prefs[..., idx, idx] = 0.5
    return prefs


@st.composite
def _dataset(draw, n, contexts):
    """Datasets from one comparison to a dozen, duplicates, never-compared actions, contexts
    (some never used), weights from 1e-300 to 1e300 (some 0)."""
    size = draw(st.integers(1, 12))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(1, n - 1)),
                          min_size=size, max_size=size))
    winners = [w for w, _ in pairs]
    losers = [(w + d) % n for w, d in pairs]
    ctx = None
    if contexts:
        ctx = draw(st.lists(st.integers(0, contexts - 1), min_size=size, max_size=size))
    weights = None
    if draw(st.booleans()):
        pool = st.one_of(st.sampled_from([0.0, 1e-300, 1e300, 1.0]), st.floats(1e-3, 1e3))
        weights = draw(st.lists(pool, min_size=size, max_size=size))
        weights[0] = weights[0] or 1.0
    names = tuple(f"y{k}" for k in range(n)) if draw(st.booleans()) else None
    return Dataset(winners, losers, n, contexts=ctx, n_contexts=contexts, action_names=names,
                   weights=weights)


@dataclass(frozen=True)
class Problem:
    """One consistent set of inputs from which every recipe draws its argument."""

    n: int
    lead: tuple            # leading (batch / context) shape of the population arrays
    prefs: np.ndarray
    mu: np.ndarray
    pi_ref: np.ndarray     # > 0 on Supp(mu) and on every compared action
    pi: np.ndarray
    rewards: np.ndarray    # finite, up to ±1e308
    g: np.ndarray          # may hold ±inf
    tau: Any               # scalar, or an array of the lead shape
    rho: Any               # None, or context weights of lead[-1]
    data: Dataset
    data1: Dataset         # one context
    logits: np.ndarray     # data.logits_shape, finite
    pick: int              # a free choice for recipes with several kinds of valid values
    steps: int             # small, for simulate


@st.composite
def problems(draw, n=None, data=None, lead=None, full_ref=False):
    n = draw(st.integers(2, 4)) if n is None else n
    lead = draw(st.sampled_from([(), (2,)])) if lead is None else lead
    contexts = draw(st.sampled_from([None, 2]))
    data = draw(_dataset(n, contexts)) if data is None else data
    data1 = data if data.contexts is None else Dataset(data.winners, data.losers, n)
    mu = draw(_probabilities(lead + (n,)))
    pi_ref = draw(_probabilities(lead + (n,)))
    compared = np.isin(np.arange(n), np.r_[data.winners, data.losers])
    needed = (mu > 0) | compared | full_ref  # full_ref: covers any µ (batched problems)
    pi_ref = np.where(needed & (pi_ref < 1e-300), 1e-300, pi_ref)
    pi_ref = pi_ref / pi_ref.sum(-1, keepdims=True)
    scale = draw(st.sampled_from([1.0, 30.0, 700.0, 1e300]))
    rewards = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=n * int(np.prod(lead)),
                                     max_size=n * int(np.prod(lead))))).reshape(lead + (n,))
    rewards = rewards * scale
    g = rewards.copy()
    if draw(st.booleans()):
        g.flat[draw(st.integers(0, g.size - 1))] = draw(st.sampled_from([np.inf, -np.inf]))
    tau = draw(st.one_of(st.sampled_from(TAUS), _float(5e-324)))
    if lead and draw(st.booleans()):
        tau = np.array([tau, draw(st.sampled_from(TAUS))])
    rho = draw(_probabilities(lead)) if lead and draw(st.booleans()) else None
    logits = np.array(draw(st.lists(_float(-1e3, 1e3), min_size=int(np.prod(
        data.logits_shape)), max_size=int(np.prod(data.logits_shape))))).reshape(
        data.logits_shape)
    if draw(st.booleans()):
        logits = logits * draw(st.sampled_from([1e-300, 1e10, 1e300]))
    return Problem(n, lead, draw(_prefs(lead, n)), mu, pi_ref,
                   draw(_probabilities(lead + (n,))), rewards, g, tau, rho, data, data1,
                   logits, draw(st.integers(0, 7)), draw(st.integers(1, 25)))


# ------------------------------------------------------------------------------ recipes

USE_DEFAULT = object()  # a recipe value meaning: leave the parameter at its default


@dataclass(frozen=True)
class Recipe:
    """How to fill one parameter.

    ``valid(problem, args)`` returns a valid value (``args``: the arguments already drawn, in
    signature order); ``invalid`` maps a label to ``bad(problem, args)``, a value that must
    be rejected with a message naming the parameter; ``batch``: the parameter takes leading
    axes (stacked in the batched == one-at-a-time property).
    """

    valid: Callable
    invalid: dict = None
    batch: bool = False


DEFAULT = Recipe(lambda p, a: USE_DEFAULT)


def _wrong_n(value):
    return np.concatenate([value, value[..., :1]], -1)


NUMERIC = {  # invalid for every numeric array argument
    "NaN": lambda v: np.full(np.shape(v) or (), np.nan),
    "bool": lambda v: np.ones(np.shape(v) or (), bool),
    "string": lambda v: "1.0",
    "complex": lambda v: np.asarray(v, float) + 1j,
    "None": lambda v: None,
    "ragged": lambda v: [[1.0], [1.0, 2.0]],
    "empty": lambda v: np.zeros((0,) + np.shape(v)[1:]),
}
FINITE = {"+inf": lambda v: np.full(np.shape(v) or (), np.inf),
          "-inf": lambda v: np.full(np.shape(v) or (), -np.inf)}


def _invalid(field, kinds, **extra):
    """Invalid values built from the problem's valid ``field``."""
    out = {k: (lambda p, a, f=f: f(getattr(p, field))) for k, f in kinds.items()}
    out.update(extra)
    return out


def _probability_recipe(field, valid=None):
    valid = valid or (lambda p, a: getattr(p, field))
    return Recipe(valid, batch=True, invalid=_invalid(
        field, {**NUMERIC, **FINITE},
        negative=lambda p, a: -getattr(p, field),
        unnormalised=lambda p, a: getattr(p, field) * 1.5,
        wrong_n=lambda p, a: _wrong_n(getattr(p, field)),
        scalar=lambda p, a: 1.0))


def _tau_invalid(name):
    return {"NaN": lambda p, a: np.nan, "+inf": lambda p, a: np.inf, "-inf": lambda p, a: -np.inf,
            "zero": lambda p, a: 0.0, "negative": lambda p, a: -1.0, "bool": lambda p, a: True,
            "empty": lambda p, a: [], "string": lambda p, a: "0.5", "None": lambda p, a: None,
            "complex": lambda p, a: 1 + 1j, "bool array": lambda p, a: np.ones(2, bool)}


def _data_invalid():
    return {"pairs": lambda p, a: [(0, 1)], "None": lambda p, a: None,
            "array": lambda p, a: np.zeros((2, 2))}


def _ints(valid, low=None):
    bad = {"bool": lambda p, a: True, "float": lambda p, a: 2.5, "string": lambda p, a: "3",
           "None": lambda p, a: None}
    if low is not None:
        bad["too small"] = lambda p, a: low - 1
    return Recipe(valid, invalid=bad)


def _index_invalid(field):
    def bad(kind):
        def make(p, a):
            v = np.array(getattr(p.data, field))
            return {"out of range": v + p.n, "negative": v - p.n, "float": v + 0.5,
                    "bool": v > 0, "2-D": v[None], "uint64 >= 2**63":
                        np.full(v.shape, 2**63, np.uint64)}[kind]
        return make
    kinds = ["out of range", "negative", "float", "bool", "2-D", "uint64 >= 2**63"]
    return {k: bad(k) for k in kinds}


def _simulate_pi_ref(p, a):
    return None if p.pick % 2 else np.broadcast_to(p.pi_ref.reshape(-1, p.n)[0],
                                                   p.data.logits_shape).copy()


def _bt_data(p, a):
    return p.data if p.pick % 2 else p.prefs


def _step_invalid():
    return {"NaN": lambda p, a: np.nan, "+inf": lambda p, a: np.inf,
            "zero": lambda p, a: 0.0, "negative": lambda p, a: -0.1, "bool": lambda p, a: True,
            "string": lambda p, a: "0.1", "None": lambda p, a: None}


def _unit_invalid(**extra):
    out = {"negative": lambda p, a: -0.1, "above one": lambda p, a: 1.5,
           "NaN": lambda p, a: np.nan, "string": lambda p, a: "0.5"}
    out.update({k: (lambda p, a, v=v: v) for k, v in extra.items()})
    return out


def _log_invalid(field):
    return {"NaN": lambda p, a: np.full(np.shape(getattr(p, field)), np.nan),
            "+inf": lambda p, a: np.full(np.shape(getattr(p, field)), np.inf),
            "bool": lambda p, a: np.ones(np.shape(getattr(p, field)), bool),
            "string": lambda p, a: "0.0",
            "wrong n": lambda p, a: _wrong_n(_log(getattr(p, field)))}


def _log(x):
    with np.errstate(divide="ignore"):
        return np.log(x)


def _tie_mask(p):
    """Every other datum a tie (which half: by ``pick``)."""
    return np.arange(len(p.data)) % 2 == p.pick // 2 % 2


def _with_ties(data, p, moderate=False):
    """``data`` with every other datum a tie. ``moderate``: weights clipped to [1e-3, 1e3]
    for the tie-model fits, whose Newton fails (LinAlgError / NaN step: the grounded
    Laplacian is numerically indefinite) when weights span ~1e300 — an OPEN defect, pinned
    by the strict xfail test_tie_fit_with_weights_spanning_1e300 in
    tests/test_reliability.py; drop ``moderate`` when it is fixed."""
    weights = data.weights
    if moderate and weights is not None:
        weights = np.where(weights > 0, np.clip(weights, 1e-3, 1e3), 0.0)
    return Dataset(data.winners, data.losers, data.n_actions, contexts=data.contexts,
                   n_contexts=data.n_contexts if data.contexts is not None else None,
                   action_names=data.action_names, weights=weights, ties=_tie_mask(p))


def _n_contexts(a):
    if "wins" in a:
        return a["wins"].shape[0] if np.ndim(a["wins"]) == 3 else None
    return a.get("n_contexts") if a.get("contexts") is not None else None


def _wins(p, a):
    """Counts (fractions allowed, 1e-300 to 1e300) with a zero diagonal; contexts on lead."""
    wins = p.prefs * [1.0, 3.0, 1e-300, 1e300][p.pick % 4]
    idx = np.arange(p.n)
    wins[..., idx, idx] = 0.0
    return wins


def _count_ties(wins):
    return (1.0 - np.eye(wins.shape[-1])) * np.ones_like(wins)


def _frame(p, a):
    """A mapping of columns (the pandas-free form of a frame), columns as in the dataset."""
    frame = {"winner": [f"y{w}" for w in p.data.winners],
             "loser": [f"y{w}" for w in p.data.losers]}
    if p.data.contexts is not None:
        frame["context"] = [f"c{x}" for x in p.data.contexts]
    if p.data.weights is not None:
        frame["weight"] = list(p.data.weights)
    if p.pick % 2:
        frame["tie"] = list(_tie_mask(p))
    return frame


def _ranking_lists(p, a):
    """One ranking per datum of ``data1``; with odd ``pick`` the first ranks every compared
    action (best first), so rankings longer than two occur."""
    lists = [[int(w), int(lo)] for w, lo in zip(p.data1.winners, p.data1.losers)]
    if p.pick % 2:
        compared = np.unique(np.r_[p.data1.winners, p.data1.losers]).tolist()
        lists[0] += [y for y in compared if y not in lists[0]]
    return lists


def _bundled_name(p, a):
    return psipo_exact.datasets.names()[p.pick % 4]


def _name_invalid():
    return {"unknown": lambda p, a: "D9", "number": lambda p, a: 1}


#: τ ≥ 0 (τ = 0: the unregularised game) for the game-theoretic functions.
TAU_OR_ZERO = Recipe(lambda p, a: 0.0 if p.pick % 3 == 0 else p.tau, batch=True,
                     invalid={k: v for k, v in _tau_invalid("tau").items() if k != "zero"})
#: η and τ ≤ 1 of a dynamics whose default mixture weight is β = ητ ≤ 1.
MIXTURE_ETA = Recipe(lambda p, a: [0.5, 1e-3, 1.0][p.pick % 3], invalid=_step_invalid())
MIXTURE_TAU = Recipe(lambda p, a: np.minimum(p.tau, 1.0), batch=True,
                     invalid=_tau_invalid("tau"))

RECIPES: dict[str, Recipe] = {
    # population problems (Sec. 2)
    "prefs": Recipe(lambda p, a: p.prefs, batch=True, invalid=_invalid("prefs", {
        **NUMERIC, **FINITE}, not_complementary=lambda p, a: np.full_like(p.prefs, 0.7),
        above_one=lambda p, a: p.prefs * 2.0, not_square=lambda p, a: p.prefs[..., :-1],
        vector=lambda p, a: p.mu)),
    "mu": _probability_recipe("mu"),
    "pi_ref": _probability_recipe("pi_ref", lambda p, a: p.pi_ref.reshape(-1, p.n)[0]
                                  if "data" in a or "rankings" in a else p.pi_ref),
    "pi": _probability_recipe("pi"),
    "p": Recipe(lambda p, a: p.pi, batch=True, invalid=_invalid("pi", {**NUMERIC, **FINITE},
                negative=lambda p, a: -p.pi, wrong_n=lambda p, a: _wrong_n(p.pi))),
    "q": Recipe(lambda p, a: p.pi_ref, batch=True, invalid=_invalid("pi_ref", {
        **NUMERIC, **FINITE}, negative=lambda p, a: -p.pi_ref)),
    "rho": Recipe(lambda p, a: p.rho, invalid={
        "NaN": lambda p, a: np.full(2, np.nan), "negative": lambda p, a: np.array([-1.0, 2.0]),
        "bool": lambda p, a: np.ones(2, bool), "unnormalised": lambda p, a: np.ones(3)}),
    "rewards": Recipe(lambda p, a: p.rewards, batch=True, invalid=_invalid(
        "rewards", NUMERIC, wrong_n=lambda p, a: _wrong_n(p.rewards))),
    "g": Recipe(lambda p, a: p.g, batch=True, invalid=_invalid(
        "g", NUMERIC, wrong_n=lambda p, a: _wrong_n(p.g))),
    "f": Recipe(lambda p, a: p.g, batch=True, invalid=_invalid(
        "g", NUMERIC, wrong_n=lambda p, a: _wrong_n(p.g))),
    "tau": Recipe(lambda p, a: p.tau, batch=True, invalid=_tau_invalid("tau")),
    "psi": Recipe(lambda p, a: ["identity", "logit", "ipo", "dpo", np.tanh,
                                lambda q: q**3, "rlhf", "logit"][p.pick],
                  invalid={"unknown": lambda p, a: "sqrt", "number": lambda p, a: 3,
                           "decreasing": lambda p, a: (lambda q: -q)}),
    # datasets (Sec. 2) and empirical losses (Eq. 4, 17)
    "data": Recipe(lambda p, a: p.data, invalid=_data_invalid()),
    "logits": Recipe(lambda p, a: p.logits, batch=True, invalid=_invalid(
        "logits", NUMERIC, wrong_n=lambda p, a: _wrong_n(p.logits))),
    "loss": Recipe(lambda p, a: ["dpo", "ipo", "ipo_symmetric", "DPO"][p.pick % 4],
                   invalid={"unknown": lambda p, a: "kto", "number": lambda p, a: 1}),
    "coef": Recipe(lambda p, a: np.linspace(-1, 1, len(p.data)), batch=True, invalid={
        "NaN": lambda p, a: np.full(len(p.data), np.nan),
        "wrong N": lambda p, a: np.ones(len(p.data) + 1), "string": lambda p, a: "x"}),
    "sample_weights": Recipe(lambda p, a: None if p.pick % 2 else np.ones(len(p.data)),
                             invalid={"negative": lambda p, a: -np.ones(len(p.data)),
                                      "NaN": lambda p, a: np.full(len(p.data), np.nan),
                                      "wrong N": lambda p, a: np.ones(len(p.data) + 1)}),
    "return_grad": Recipe(lambda p, a: bool(p.pick % 2), invalid={
        "number": lambda p, a: 1, "string": lambda p, a: "yes"}),
    "kwargs": DEFAULT,  # the **kwargs of dpo_empirical & co. are empirical_loss's, fuzzed there
    "name": Recipe(lambda p, a: ["D1", "D2", "D3", "D3_never_wins"][p.pick % 4], invalid={
        "unknown": lambda p, a: "D9", "number": lambda p, a: 1}),
    # Dataset(...)
    "winners": Recipe(lambda p, a: p.data.winners, invalid=_index_invalid("winners")),
    "losers": Recipe(lambda p, a: p.data.losers, invalid=_index_invalid("losers")),
    "n_actions": Recipe(lambda p, a: p.n, invalid={  # (None: "infer n" in the later API)
        "bool": lambda p, a: True, "float": lambda p, a: 2.5, "too small": lambda p, a: 1}),
    "contexts": Recipe(lambda p, a: p.data.contexts, invalid={
        k: v for k, v in _index_invalid("context_index").items() if k != "out of range"}),
    "n_contexts": Recipe(lambda p, a: p.data.n_contexts if p.data.contexts is not None
                         else None, invalid={"bool": lambda p, a: True}),
    "action_names": Recipe(lambda p, a: p.data.action_names, invalid={
        "too few": lambda p, a: ("a",)}),
    "weights": Recipe(lambda p, a: p.data.weights, invalid={
        "negative": lambda p, a: -np.ones(len(p.data)),
        "NaN": lambda p, a: np.full(len(p.data), np.nan),
        "zero": lambda p, a: np.zeros(len(p.data)),
        "wrong N": lambda p, a: np.ones(len(p.data) + 1)}),
    "pairs": Recipe(lambda p, a: list(zip(p.data.winners.tolist(), p.data.losers.tolist())),
                    invalid={"empty": lambda p, a: [], "number": lambda p, a: 3,
                             "mixed widths": lambda p, a: [(0, 1), (1, 0, 0)]}),
    # psi maps: elementwise on [0, 1], no validation by design (called after validation)
    "psipo_exact.psi.identity.q": Recipe(lambda p, a: p.prefs, batch=True),
    "psipo_exact.psi.logit.q": Recipe(lambda p, a: p.prefs, batch=True),
    # simulate (Sec. 5.4)
    "datasets": Recipe(lambda p, a: p.data if p.pick % 2 else {"A": p.data, "B": p.data},
                       invalid={"empty": lambda p, a: {}, "list": lambda p, a: [p.data],
                                "not a Dataset": lambda p, a: {"A": 3}}),
    "losses": Recipe(lambda p, a: [("dpo",), ("ipo", "dpo"), "ipo_symmetric"][p.pick % 3],
                     invalid={"empty": lambda p, a: [], "unknown": lambda p, a: ["kto"],
                              "repeated": lambda p, a: ["dpo", "dpo"]}),
    "taus": Recipe(lambda p, a: [1e-150, (0.5, 2.0), 1e150, 1.0][p.pick % 4],
                   invalid={**_tau_invalid("taus"), "tiny": lambda p, a: 1e-300,
                            "repeated": lambda p, a: [1.0, 1.0]}),
    "seeds": Recipe(lambda p, a: [0, (1, 2)][p.pick % 2], invalid={
        "negative": lambda p, a: -1, "bool": lambda p, a: True, "empty": lambda p, a: [],
        "float": lambda p, a: 1.5}),
    "steps": _ints(lambda p, a: p.steps, low=1),
    "batch_size": _ints(lambda p, a: 1 + p.pick, low=1),
    "lr": Recipe(lambda p, a: [0.01, 1e-300, 1e100, 1.0][p.pick % 4], invalid={
        "zero": lambda p, a: 0.0, "bool": lambda p, a: True, "NaN": lambda p, a: np.nan,
        "inf": lambda p, a: np.inf}),
    "b1": Recipe(lambda p, a: [0.9, 0.0, 0.999999][p.pick % 3], invalid={
        "one": lambda p, a: 1.0, "negative": lambda p, a: -0.1, "bool": lambda p, a: False}),
    "b2": Recipe(lambda p, a: [0.999, 0.0, 0.5][p.pick % 3], invalid={
        "one": lambda p, a: 1.0, "NaN": lambda p, a: np.nan}),
    "eps": Recipe(lambda p, a: [1e-8, 0.0, 1e300][p.pick % 3], invalid={
        "negative": lambda p, a: -1e-8, "inf": lambda p, a: np.inf}),
    "record_every": _ints(lambda p, a: 1 + p.pick, low=1),
    "batches": Recipe(lambda p, a: None if p.pick % 2 else np.zeros((a["steps"],
                                                                     a["batch_size"]), int),
                      invalid={"out of range": lambda p, a: np.full((a["steps"],
                               a["batch_size"]), len(p.data)),
                               "wrong shape": lambda p, a: np.zeros((a["steps"] + 1,
                                                                     a["batch_size"]), int),
                               "float": lambda p, a: np.zeros((a["steps"], a["batch_size"]))}),
    "progress": Recipe(lambda p, a: False, invalid={"number": lambda p, a: 1}),
    "psipo_exact.simulate.runner.simulate.pi_ref": Recipe(_simulate_pi_ref, invalid={
        "wrong shape": lambda p, a: np.ones(p.n + 1) / (p.n + 1),
        "NaN": lambda p, a: np.full(p.data.logits_shape, np.nan)}),
    "psipo_exact.simulate.runner.simulate.init": Recipe(
        lambda p, a: None if p.pick % 2 else np.clip(p.logits, -1e100, 1e100), invalid={
            "NaN": lambda p, a: np.full(p.data.logits_shape, np.nan),
            "near the float maximum": lambda p, a: np.full(p.data.logits_shape, 1e308),
            "wrong shape": lambda p, a: np.zeros(p.n + 1)}),
    "psipo_exact.solvers.ipo.solve_ipo_empirical.init": Recipe(
        lambda p, a: None if p.pick % 2 else p.logits, invalid={
            "NaN": lambda p, a: np.full(p.data.logits_shape, np.nan),
            "+inf": lambda p, a: np.full(p.data.logits_shape, np.inf),
            "wrong shape": lambda p, a: np.zeros(p.n + 1)}),
    "seed": _ints(lambda p, a: p.pick, low=0),
    "n_data": _ints(lambda p, a: 1 + p.pick, low=1),
    # fit_bradley_terry(data) or (prefs, mu)
    "psipo_exact.solvers.bradley_terry.fit_bradley_terry.data": Recipe(
        _bt_data, invalid={"None": lambda p, a: None, "pairs": lambda p, a: [(0, 1)]}),
    "psipo_exact.solvers.bradley_terry.fit_bradley_terry.mu": Recipe(
        lambda p, a: None if isinstance(a["data"], Dataset) else p.mu, invalid={
            "NaN": lambda p, a: np.full(p.n, np.nan), "bool": lambda p, a: np.ones(p.n, bool),
            "negative": lambda p, a: -p.mu}),
    # adam_noise: one context, the logits of a finite optimum or any finite logits
    "psipo_exact.adam_noise.adam_stationary_covariance.data": Recipe(
        lambda p, a: p.data1, invalid=_data_invalid()),
    "psipo_exact.adam_noise.adam_stationary_covariance.logits": Recipe(
        lambda p, a: np.clip(p.logits.reshape(-1, p.n)[0], -1e150, 1e150), invalid={
            "NaN": lambda p, a: np.full(p.n, np.nan), "wrong n": lambda p, a: np.zeros(p.n + 1),
            "bool": lambda p, a: np.ones(p.n, bool)}),
    "psipo_exact.adam_noise.adam_stationary_covariance.pi_ref": Recipe(
        lambda p, a: p.pi_ref.reshape(-1, p.n)[0], invalid={
            "NaN": lambda p, a: np.full(p.n, np.nan), "negative": lambda p, a: -np.ones(p.n)}),
    "psipo_exact.adam_noise.adam_stationary_covariance.tau": Recipe(
        lambda p, a: float(np.clip(np.ravel(p.tau)[0], 1e-150, 1e150)),
        invalid={**_tau_invalid("tau"), "tiny": lambda p, a: 1e-300}),
    "psipo_exact.adam_noise.adam_stationary_covariance.lr": Recipe(
        lambda p, a: [0.01, 1e-300, 1e100][p.pick % 3], invalid={
            "zero": lambda p, a: 0.0, "NaN": lambda p, a: np.nan, "bool": lambda p, a: True}),
    "psipo_exact.adam_noise.softmax_moments.logits": Recipe(
        lambda p, a: p.logits.reshape(-1, p.n)[0], invalid={
            "NaN": lambda p, a: np.full(p.n, np.nan), "bool": lambda p, a: np.ones(p.n, bool)}),
    "cov": Recipe(lambda p, a: np.eye(p.n) * [1e-300, 1.0, 1e6][p.pick % 3], invalid={
        "NaN": lambda p, a: np.full((p.n, p.n), np.nan),
        "wrong shape": lambda p, a: np.eye(p.n + 1),
        "not symmetric": lambda p, a: np.triu(np.ones((p.n, p.n))),
        "negative variance": lambda p, a: -np.eye(p.n)}),
    "psipo_exact.model.PreferenceModel.rho": Recipe(lambda p, a: p.rho, invalid={
        "NaN": lambda p, a: np.full(2, np.nan), "2-D": lambda p, a: np.ones((1, 2)) / 2}),
    # games (Munos et al. 2312.00886; Calandriello et al. 2403.08635): a second policy, step
    # sizes, starting policies and mixture weights
    "pi2": _probability_recipe("mu"),
    "eta": Recipe(lambda p, a: [0.1, 1e-300, 1.0, 30.0][p.pick % 4], invalid=_step_invalid()),
    "init": Recipe(  # None is the default start (πref)
        lambda p, a: None if p.pick % 2 else (p.pi + p.pi_ref) / 2, invalid=_invalid(
            "pi", {k: v for k, v in {**NUMERIC, **FINITE}.items() if k != "None"},
            negative=lambda p, a: -p.pi, wrong_n=lambda p, a: _wrong_n(p.pi))),
    "psipo_exact.games.exploitability.tau": TAU_OR_ZERO,
    "psipo_exact.games.exploitability.pi_ref": Recipe(  # None: the whole game, τ = 0 only
        lambda p, a: p.pi_ref, batch=True, invalid={
            k: v for k, v in _probability_recipe("pi_ref").invalid.items() if k != "None"}),
    "psipo_exact.solvers.nash.solve_nash.tau": TAU_OR_ZERO,
    "psipo_exact.games.nash_md.eta": MIXTURE_ETA,
    "psipo_exact.games.nash_md.tau": MIXTURE_TAU,
    "psipo_exact.games.extragradient.eta": MIXTURE_ETA,
    "psipo_exact.games.extragradient.tau": MIXTURE_TAU,
    "psipo_exact.games.online_ipo_adam.batch_size": Recipe(  # None: the expected gradient
        lambda p, a: None if p.pick % 3 == 0 else 1 + p.pick, invalid={
            k: v for k, v in _ints(None, low=1).invalid.items() if k != "None"}),
    "psipo_exact.games.online_ipo_adam.taus": Recipe(
        lambda p, a: [1e-300, (0.5, 2.0), 1e150, 1.0][p.pick % 4],
        invalid=_tau_invalid("taus")),
    "psipo_exact.games.online_ipo_adam.prefs": Recipe(  # one game
        lambda p, a: p.prefs.reshape(-1, p.n, p.n)[0], invalid={
            "NaN": lambda p, a: np.full((p.n, p.n), np.nan),
            "not complementary": lambda p, a: np.full((p.n, p.n), 0.7),
            "batch": lambda p, a: np.stack([a["prefs"]] * 2)}),
    "psipo_exact.games.online_ipo_adam.pi_ref": Recipe(
        lambda p, a: p.pi_ref.reshape(-1, p.n)[0], invalid={
            "NaN": lambda p, a: np.full(p.n, np.nan), "negative": lambda p, a: -np.ones(p.n),
            "wrong n": lambda p, a: np.ones(p.n + 1) / (p.n + 1)}),
    "psipo_exact.games.nash_md.beta": Recipe(lambda p, a: [None, 0.0, 0.5, 1.0][p.pick % 4],
                                             invalid=_unit_invalid()),
    "psipo_exact.games.online_ipo.beta": Recipe(lambda p, a: [0.0, 0.5, 0.999][p.pick % 3],
                                                invalid=_unit_invalid(one=1.0)),
    "psipo_exact.games.online_ipo_adam.init": Recipe(
        lambda p, a: None if p.pick % 2 else p.pi.reshape(-1, p.n)[0], invalid={
            "NaN": lambda p, a: np.full(p.n, np.nan), "negative": lambda p, a: -np.ones(p.n),
            "bool": lambda p, a: np.ones(p.n, bool)}),
    "log_p": Recipe(lambda p, a: _log(p.pi), batch=True, invalid=_log_invalid("pi")),
    "log_q": Recipe(lambda p, a: _log(p.pi_ref), batch=True, invalid=_log_invalid("pi_ref")),
    "max_iter": _ints(lambda p, a: [200, 3, 40][p.pick % 3], low=1),
    # datasets with ties and context names (Dataset.from_counts / from_labels / from_frame)
    "context_names": Recipe(
        lambda p, a: None if p.pick % 2 or _n_contexts(a) is None
        else tuple(f"x{k}" for k in range(_n_contexts(a))),
        invalid={"too many": lambda p, a: ("a", "b", "c"), "string": lambda p, a: "ab",
                 "repeated": lambda p, a: ("a", "a")}),
    "ties": Recipe(lambda p, a: None if p.pick % 2 else _tie_mask(p), invalid={
        "wrong N": lambda p, a: np.zeros(len(p.data) + 1, bool),
        "float": lambda p, a: np.full(len(p.data), 0.5),
        "2-D": lambda p, a: np.zeros((1, len(p.data)), bool)}),
    "wins": Recipe(_wins, invalid={
        "NaN": lambda p, a: np.full((p.n, p.n), np.nan), "negative": lambda p, a: -_wins(p, a),
        "diagonal": lambda p, a: _wins(p, a) + np.eye(p.n), "+inf": lambda p, a: np.full(
            (p.n, p.n), np.inf), "not square": lambda p, a: _wins(p, a)[..., :-1],
        "zero": lambda p, a: np.zeros((p.n, p.n)), "string": lambda p, a: "1",
        "bool": lambda p, a: np.ones((p.n, p.n), bool), "vector": lambda p, a: np.ones(p.n)}),
    "psipo_exact.model.Dataset.from_counts.ties": Recipe(
        lambda p, a: None if p.pick % 2 else _count_ties(a["wins"]), invalid={
            "asymmetric": lambda p, a: np.triu(np.ones_like(a["wins"]), 1),
            "negative": lambda p, a: -_count_ties(a["wins"]),
            "NaN": lambda p, a: np.full_like(a["wins"], np.nan),
            "wrong shape": lambda p, a: np.zeros((p.n + 1, p.n + 1))}),
    "first": Recipe(lambda p, a: [f"y{w}" for w in p.data.winners], invalid={
        "None": lambda p, a: None, "number": lambda p, a: 3, "empty": lambda p, a: [],
        "longer": lambda p, a: [f"y{w}" for w in p.data.winners] + ["y0"]}),
    "second": Recipe(lambda p, a: [f"y{w}" for w in p.data.losers], invalid={
        "None": lambda p, a: None, "number": lambda p, a: 3,
        "shorter": lambda p, a: [f"y{w}" for w in p.data.losers][1:]}),
    "where": Recipe(lambda p, a: None if p.pick % 2 else (lambda i, column: f"row {i}"),
                    invalid={"number": lambda p, a: 3}),
    "psipo_exact.model.Dataset.from_labels.contexts": Recipe(
        lambda p, a: None if p.data.contexts is None else [f"c{x}" for x in p.data.contexts],
        invalid={"wrong N": lambda p, a: ["c0"] * (len(p.data) + 1),
                 "number": lambda p, a: 3}),
    "psipo_exact.model.Dataset.from_labels.n_actions": Recipe(
        lambda p, a: None if p.pick % 2 else p.n,
        invalid={"bool": lambda p, a: True, "float": lambda p, a: 2.5,
                 "too small": lambda p, a: 1}),
    "frame": Recipe(_frame, invalid={"None": lambda p, a: None, "number": lambda p, a: 3}),
    "winner": Recipe(lambda p, a: USE_DEFAULT, invalid={"missing": lambda p, a: "nope",
                                                        "number": lambda p, a: 3}),
    "loser": Recipe(lambda p, a: USE_DEFAULT, invalid={"missing": lambda p, a: "nope",
                                                       "number": lambda p, a: 3}),
    "psipo_exact.model.Dataset.from_frame.context": Recipe(
        lambda p, a: None if "context" not in a["frame"] else "context",
        invalid={"missing": lambda p, a: "nope"}),
    "outcome": Recipe(lambda p, a: None, invalid={"missing": lambda p, a: "nope"}),
    "weight": Recipe(lambda p, a: "weight" if "weight" in a["frame"] else None,
                     invalid={"missing": lambda p, a: "nope"}),
    "tie": Recipe(lambda p, a: "tie" if "tie" in a["frame"] else None,
                  invalid={"missing": lambda p, a: "nope"}),
    # rankings (Plackett–Luce)
    "items": Recipe(lambda p, a: np.ravel(np.c_[p.data1.winners, p.data1.losers]), invalid={
        "out of range": lambda p, a: a["items"] + p.n, "negative": lambda p, a: -1 - a["items"],
        "float": lambda p, a: a["items"] + 0.5, "2-D": lambda p, a: a["items"][None],
        "repeated": lambda p, a: np.zeros_like(a["items"])}),
    "offsets": Recipe(lambda p, a: np.arange(0, len(a["items"]) + 1, 2), invalid={
        "short ranking": lambda p, a: np.r_[0, 1, 2:len(a["items"]) + 1:2],
        "not from 0": lambda p, a: np.arange(0, len(a["items"]) + 1, 2) + 1,
        "float": lambda p, a: np.arange(0, len(a["items"]) + 1, 2) + 0.5}),
    "psipo_exact.model.Rankings.n_actions": Recipe(lambda p, a: p.n, invalid={
        "bool": lambda p, a: True, "float": lambda p, a: 2.5, "too small": lambda p, a: 1}),
    "psipo_exact.model.Rankings.from_lists.rankings": Recipe(_ranking_lists, invalid={
        "empty": lambda p, a: [], "number": lambda p, a: 3,
        "repeated action": lambda p, a: [[0, 0]], "one action": lambda p, a: [[0]]}),
    "rankings": Recipe(lambda p, a: Rankings.from_lists(_ranking_lists(p, a), p.n),
                       invalid={"None": lambda p, a: None, "number": lambda p, a: 3}),
    "psipo_exact.model.Rankings.from_dataset.data": Recipe(lambda p, a: p.data1,
                                                           invalid=_data_invalid()),
    "psipo_exact.solvers.plackett_luce.dpo_rankings_empirical.logits": Recipe(
        lambda p, a: p.logits.reshape(-1, p.n)[0], batch=True, invalid={
            "NaN": lambda p, a: np.full(p.n, np.nan), "wrong n": lambda p, a: np.zeros(p.n + 1),
            "bool": lambda p, a: np.ones(p.n, bool)}),
    "reference": Recipe(lambda p, a: [None, p.pick % p.n][p.pick % 2], invalid={
        "out of range": lambda p, a: p.n, "bool": lambda p, a: True, "float": lambda p, a: 0.5,
        "unknown name": lambda p, a: "no such action"}),
    # tie models (Rao–Kupper, Davidson)
    "tie_model": Recipe(lambda p, a: ["rao_kupper", "davidson"][p.pick % 2], invalid={
        "unknown": lambda p, a: "glenn", "number": lambda p, a: 1}),
    "tie_parameter": Recipe(lambda p, a: [None, 2.0, 1e6][p.pick % 3], invalid={
        "NaN": lambda p, a: np.nan, "negative": lambda p, a: -1.0, "inf": lambda p, a: np.inf,
        "bool": lambda p, a: True, "string": lambda p, a: "2"}),
    "psipo_exact.losses.ties.dpo_ties_empirical.tie_parameter": Recipe(
        lambda p, a: [2.0, 1.5, 1e6][p.pick % 3], invalid={
            "NaN": lambda p, a: np.nan, "negative": lambda p, a: -1.0,
            "None": lambda p, a: None, "bool": lambda p, a: True}),
    "psipo_exact.losses.ties.dpo_ties_empirical.data": Recipe(
        lambda p, a: _with_ties(p.data, p), invalid=_data_invalid()),
    "psipo_exact.solvers.ties.fit_rao_kupper.data": Recipe(
        lambda p, a: _with_ties(p.data, p, moderate=True), invalid=_data_invalid()),
    "psipo_exact.solvers.ties.fit_davidson.data": Recipe(
        lambda p, a: _with_ties(p.data, p, moderate=True), invalid=_data_invalid()),
    "psipo_exact.solvers.dpo.solve_dpo_empirical.data": Recipe(
        lambda p, a: _with_ties(p.data, p, moderate=True) if p.pick % 2 else p.data,
        invalid=_data_invalid()),
    "psipo_exact.solvers.dpo.solve_dpo_empirical.tie_model": Recipe(
        lambda p, a: None if a["data"].ties is None else ["rao_kupper", "davidson"][
            p.pick // 2 % 2], invalid={"unknown": lambda p, a: "glenn",
                                       "number": lambda p, a: 1}),
    "psipo_exact.solvers.dpo.solve_dpo_empirical.tie_parameter": Recipe(
        lambda p, a: None if a.get("tie_model") is None else [None, 2.0][p.pick // 4 % 2],
        invalid={"NaN": lambda p, a: np.nan, "negative": lambda p, a: -1.0}),
    # bootstrap (statistics.py)
    "psipo_exact.statistics.bootstrap_policy.tau": Recipe(  # not batched here: the resample
        lambda p, a: p.tau, invalid=_tau_invalid("tau")),  # axis leads, τ follows it
    "solver": Recipe(lambda p, a: ["ipo", "dpo"][p.pick % 2], invalid={
        "unknown": lambda p, a: "kto", "number": lambda p, a: 1}),
    "n_resamples": _ints(lambda p, a: 2 + p.pick % 4, low=1),
    "level": Recipe(lambda p, a: [0.95, 0.5, 0.999][p.pick % 3], invalid={
        "zero": lambda p, a: 0.0, "one": lambda p, a: 1.0, "NaN": lambda p, a: np.nan,
        "bool": lambda p, a: True, "above one": lambda p, a: 95.0}),
    "rng": Recipe(lambda p, a: p.pick, invalid={  # an int seed: reproducible across calls
        "string": lambda p, a: "seed", "float": lambda p, a: 1.5,
        "negative": lambda p, a: -1}),
    "vectorised": Recipe(lambda p, a: bool(p.pick % 2), invalid={
        "number": lambda p, a: 1, "string": lambda p, a: "yes"}),
    "psipo_exact.statistics.stacked.weights": Recipe(
        lambda p, a: np.ones((1 + p.pick % 3, len(p.data))), invalid={
            "negative": lambda p, a: -np.ones((2, len(p.data))),
            "NaN": lambda p, a: np.full((2, len(p.data)), np.nan),
            "wrong N": lambda p, a: np.ones((2, len(p.data) + 1)),
            "1-D": lambda p, a: np.ones(len(p.data))}),
    "psipo_exact.simulate.batches.sample_batches.weights": Recipe(
        lambda p, a: None if p.pick % 2 else np.linspace(1.0, 2.0, a["n_data"]), invalid={
            "negative": lambda p, a: -np.ones(a["n_data"]),
            "NaN": lambda p, a: np.full(a["n_data"], np.nan),
            "wrong N": lambda p, a: np.ones(a["n_data"] + 1)}),
    # bundled data sets (datasets/)
    "psipo_exact.datasets.read_table.name": Recipe(_bundled_name, invalid=_name_invalid()),
    "psipo_exact.datasets.load.name": Recipe(_bundled_name, invalid=_name_invalid()),
    "options": DEFAULT,  # the **options of load are football's, fuzzed there
    "season": Recipe(lambda p, a: [None, "2008-9", ("2009-10", "2012-13")][p.pick % 3],
                     invalid={"unknown": lambda p, a: "1999-0", "number": lambda p, a: 2009,
                              "empty": lambda p, a: []}),
    "psipo_exact.datasets.football.contexts": Recipe(lambda p, a: bool(p.pick % 2), invalid={
        "number": lambda p, a: 1, "string": lambda p, a: "yes"}),
}

#: Valid inputs whose mathematics is undefined or not representable: the documented errors
#: that a valid-input call may raise (each is in the function's Raises section).
DOMAIN_ERRORS = [
    r"undefined",                # ∞ − ∞: Ψ = logit clash (Sec. 4.2), objectives, h_π
    r"not representable",        # an empirical loss overflows to ∞ − ∞ (|logits| ~ 1e308)
    r"vanishes for every action",  # Gibbs policy with πref·e^{g/τ} = 0 everywhere
    r"h_pi needs pi > 0",        # log_ratio_gap of a policy with zeros
    r"return_grad needs pi > 0 on Supp\(mu\)",  # logits of a vanishing action are −∞
    r"tie parameter is \+inf",   # every comparison of a component a tie: the MLE is at ∞
]


def recipe_for(qual: str, param: str) -> Recipe | None:
    return RECIPES.get(f"{qual}.{param}", RECIPES.get(param))


def _parameters(fn):
    return [p for p in inspect.signature(fn).parameters.values()
            if p.name not in ("self", "cls")]


def _draw_args(qual, fn, problem):
    args, kwargs = {}, {}
    for param in _parameters(fn):
        value = recipe_for(qual, param.name).valid(problem, {**args, **kwargs})
        if value is USE_DEFAULT:
            continue
        if param.kind == param.VAR_KEYWORD:  # **params: the recipe's dict, splatted
            kwargs.update(value)
            continue
        (kwargs if param.kind == param.KEYWORD_ONLY else args)[param.name] = value
    return args, kwargs


def _call(fn, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(**args, **kwargs)


def _arrays(result):
    """The float arrays of a result (arrays, tuples, dataclasses such as Solution)."""
    if isinstance(result, np.ndarray):
        return [result] if result.dtype.kind == "f" else []
    if isinstance(result, (tuple, list)):
        return [a for item in result for a in _arrays(item)]
    if isinstance(result, dict):
        return [a for item in result.values() for a in _arrays(item)]
    if is_dataclass(result) and not isinstance(result, type):
        return [a for f in fields(result) for a in _arrays(getattr(result, f.name))]
    if isinstance(result, float):
        return [np.array(result)]
    return []


def _is_domain_error(exc) -> bool:
    return isinstance(exc, ValueError) and any(re.search(p, str(exc)) for p in DOMAIN_ERRORS)


# ------------------------------------------------------------------------------ tests


def test_the_harness_sees_the_api():
    """The enumeration finds what it must (a broken walk would silently fuzz nothing)."""
    for name in ("psipo_exact.closed_form.gibbs_policy", "psipo_exact.solvers.ipo."
                 "solve_ipo_empirical", "psipo_exact.simulate.runner.simulate",
                 "psipo_exact.model.Dataset.from_pairs", "psipo_exact.losses.population."
                 "dpo_population"):
        assert name in CALLABLES
    for name in psipo_exact.__all__:
        obj = getattr(psipo_exact, name)
        if callable(obj):
            qual = f"{obj.__module__}.{obj.__qualname__}"
            assert (qual in CALLABLES or qual in EXCLUDED
                    or _excluded_module(obj.__module__)), qual
    for qual in EXCLUDED:
        module, _, _ = qual.rpartition(".")
        assert importlib.import_module(module), f"stale EXCLUDED entry {qual}"


def test_every_parameter_has_a_recipe():
    """A public callable with a parameter nobody knows how to fill fails here, saying what
    to add (so a new function is fuzzed the day it is added)."""
    missing = [f"{qual}({param.name})" for qual, fn in CALLABLES.items()
               for param in _parameters(fn) if recipe_for(qual, param.name) is None]
    assert not missing, (
        "public callables with parameters the fuzz harness cannot fill: "
        + ", ".join(missing) + ". Add one line per parameter to RECIPES in tests/test_fuzz.py, "
        "e.g. RECIPES['eta'] = Recipe(lambda p, a: 0.1, invalid={'NaN': lambda p, a: "
        "float('nan')}) (key 'module.function.param' for a meaning specific to one "
        "function), or list the callable in EXCLUDED with the reason and the tests that "
        "cover it.")


@pytest.mark.parametrize("qual", sorted(CALLABLES))
@FUZZ
@given(problem=problems())
def test_valid_inputs(qual, problem):
    """Valid input: no warning, no NaN, policies normalised; or a documented domain error."""
    fn = CALLABLES[qual]
    args, kwargs = _draw_args(qual, fn, problem)
    try:
        result = _call(fn, args, kwargs)
    except Exception as exc:  # noqa: BLE001 - classified below
        assert _is_domain_error(exc), f"{qual} raised on valid input: {exc!r}"
        return
    for arr in _arrays(result):
        assert not np.isnan(arr).any(), f"{qual} returned NaN on valid input"
    policy = getattr(result, "policy", result if qual.endswith("_policy") else None)
    if isinstance(policy, np.ndarray) and not qual.endswith("log_policy"):
        assert np.isfinite(policy).all() and (policy >= 0).all()
        np.testing.assert_allclose(policy.sum(-1), 1.0, rtol=0, atol=1e-12)


#: Invalid values that are invalid only relative to another argument of n actions.
RELATIONAL = {"wrong_n"}
SIZED = {"prefs", "mu", "pi_ref", "pi", "p", "q", "rewards", "g", "f", "logits", "data", "cov"}


def _var_keyword(fn, name: str) -> bool:
    return any(p.name == name and p.kind == p.VAR_KEYWORD for p in _parameters(fn))


def _invalid_cases(qual):
    return [(param.name, label) for param in _parameters(CALLABLES[qual])
            for label in ((recipe_for(qual, param.name) or DEFAULT).invalid or {})]


@pytest.mark.parametrize("qual", sorted(q for q in CALLABLES if _invalid_cases(q)))
@FUZZ_INVALID
@given(problem=problems())
def test_invalid_input_names_the_argument(qual, problem):
    """Each invalid argument, one at a time: ValueError/TypeError whose message names it."""
    fn = CALLABLES[qual]
    args, kwargs = _draw_args(qual, fn, problem)
    try:  # the valid call: a domain error there (undefined maths) would mask the bad value
        _call(fn, args, kwargs)
    except ValueError as exc:
        assume(not _is_domain_error(exc))
    sized = sum(k in SIZED for k in {**args, **kwargs})
    for name, label in _invalid_cases(qual):
        if label in RELATIONAL and sized < 2:
            continue  # no other argument fixes n: a "wrong" n is just another n
        bad = recipe_for(qual, name).invalid[label](problem, {**args, **kwargs})
        trial_args, trial_kwargs = dict(args), dict(kwargs)
        named = name
        if _var_keyword(fn, name):  # **params: a dict of bad keywords, named by its keys
            trial_kwargs.update(bad)
            named = "|".join(map(re.escape, bad))
        else:
            (trial_kwargs if name in kwargs else trial_args)[name] = bad
            named = re.escape(name)
        try:
            _call(fn, trial_args, trial_kwargs)
        except (ValueError, TypeError) as exc:
            assert re.search(rf"(?<![\w-])({named})(?!\w)", str(exc)), (
                f"{qual}({name}={label}) raised {exc!r}, which does not name {name!r}")
        else:
            pytest.fail(f"{qual}({name}={label}) accepted the invalid value {bad!r}")


def _batchable(qual, fn):
    return [p.name for p in _parameters(fn) if (recipe_for(qual, p.name) or DEFAULT).batch]


BATCHED = [q for q, fn in CALLABLES.items() if _batchable(q, fn)]


def _comparable(result):
    """The per-problem arrays of a result (Solution: policy, logits, rewards)."""
    if hasattr(result, "policy"):
        return [a for a in (result.policy, result.logits, getattr(result, "rewards", None))
                if a is not None]
    return _arrays(result)


@pytest.mark.parametrize("qual", sorted(BATCHED))
@FUZZ
@given(data=st.data())
def test_batched_equals_one_at_a_time(qual, data):
    """Each batchable argument stacked over a new leading axis (with the others, one
    problem's): the batched answer, slice by slice, equals the one-at-a-time answers."""
    fn = CALLABLES[qual]
    first = data.draw(problems(full_ref=True))
    second = data.draw(problems(n=first.n, data=first.data, lead=first.lead, full_ref=True))
    args, kwargs = _draw_args(qual, fn, first)
    other, _ = _draw_args(qual, fn, second)
    population = any(k in args for k in ("prefs", "mu", "pi", "g", "rewards", "f", "p", "q"))
    one_ref = "data" in args or "rankings" in args  # πref: one vector (or one per context)
    lead = first.lead if population or ("pi_ref" in args and not one_ref) else ()
    for name in _batchable(qual, fn):
        if name not in args or np.shape(args[name]) != np.shape(other[name]):
            continue
        if name != "tau" and "tau" in args:  # one τ: a τ grid and a batch would interleave
            args["tau"] = np.ravel(args["tau"])[0]
        singles = []
        for value in (args[name], other[name]):
            try:
                singles.append(_comparable(_call(fn, {**args, name: value}, kwargs)))
            except ValueError as exc:
                assert _is_domain_error(exc), f"{qual}: {exc!r}"
                singles = None
                break
        if singles is None:
            continue
        stacked = np.stack([np.asarray(args[name]), np.asarray(other[name])])
        if name == "tau":  # a grid over the leading axes: taus[:, None] (the τ rule)
            stacked = stacked.reshape((2,) + (1,) * (len(lead) - np.ndim(args[name]))
                                      + np.shape(args[name]))
        try:
            batched = _comparable(_call(fn, {**args, name: stacked}, kwargs))
        except ValueError as exc:  # this argument takes no leading axes here
            assert name in str(exc) or "leading shapes" in str(exc), f"{qual}: {exc!r}"
            continue
        for k in range(2):
            for got, want in zip(batched, singles[k]):
                if got.ndim == want.ndim:  # read as another valid shape (e.g. πref per
                    continue               # context of a 2-context dataset): not a batch
                np.testing.assert_allclose(got[k], want, rtol=1e-11, atol=1e-300,
                                           err_msg=f"{qual}: {name} batched, slice {k}")


# ------------------------------------------------------------------------------ issue 10
# The preference-loss family: registered names (aliases, any case), TRL's parameters by name
# (**params: a dict drawn for the drawn loss, splatted), the f-divergences.

from psipo_exact import losses as _losses  # noqa: E402

_FAMILY = (*_losses.PAIRWISE_LOSSES, *_losses.PAIRWISE_ALIASES, "DPO", "Squared")
_F_TYPES = _losses.F_DIVERGENCES


def _family_name(p, a):
    return _FAMILY[(3 * p.pick + p.steps) % len(_FAMILY)]


def _family_params(p, a):
    """Valid TRL parameters for the drawn loss: its own (ε, δ), sometimes an f-divergence."""
    loss = _losses.pairwise(a["name"])
    params = {}
    if "label_smoothing" in loss.params:
        params["label_smoothing"] = [0.1, 1e-300, 0.499, 0.0][p.pick % 4] or (
            0.01 if loss.name == "exo_pair" else 0.0)
    if "discopop_tau" in loss.params:
        params["discopop_tau"] = [0.05, 1e-3, 10.0][p.pick % 3]
    if p.steps % 3 == 0:
        params["f_divergence_type"] = _F_TYPES[p.pick % 4]
        if params["f_divergence_type"] == "alpha_divergence":
            params["f_alpha_divergence_coef"] = [0.5, 0.1, 0.9][p.steps % 3]
    return params


_FAMILY_PARAMS_INVALID = {
    "unknown parameter": lambda p, a: {"beta": 0.1},
    "label_smoothing >= 1/2": lambda p, a: {"label_smoothing": 0.5},
    "label_smoothing NaN": lambda p, a: {"label_smoothing": np.nan},
    "discopop_tau <= 0": lambda p, a: {"discopop_tau": 0.0},
    "f_divergence_type unknown": lambda p, a: {"f_divergence_type": "kl"},
    "f_alpha_divergence_coef bool": lambda p, a: {"f_divergence_type": "alpha_divergence",
                                                  "f_alpha_divergence_coef": True},
}
_NAME = Recipe(_family_name, invalid={"unknown": lambda p, a: "kto",
                                      "number": lambda p, a: 1, "None": lambda p, a: None})
_PARAMS = Recipe(_family_params, invalid=_FAMILY_PARAMS_INVALID)
_FUNCS = ["losses.pairwise.pairwise", "losses.pairwise.pairwise_loss",
          "losses.pairwise.pairwise_derivatives", "losses.empirical.pairwise_empirical",
          "losses.population.pairwise_population", "losses.targets.pair_objective",
          "losses.targets.pair_target", "solvers.pairwise.solve_pairwise_empirical",
          "solvers.pairwise.solve_pairwise_population", "simulate.pairwise.from_registry"]
RECIPES.update({f"psipo_exact.{f}.name": _NAME for f in _FUNCS})
RECIPES.update({f"psipo_exact.{f}.params": _PARAMS for f in _FUNCS})
# OPEN (noted at stops 16 and 17): hinge's optimal set is not a point; its LP is solved jointly
# over the batch's components by HiGHS, whose ~1e-16 rounding of the rewards differs between a
# batch and a single problem, and at τ ~ 1e-300 that rounding divided by τ decides the logits
# (seen at stop 17 with PSIPO_FUZZ=long, τ = 5e-324: −3.4e307 batched vs −5.6e307 single, both
# probability 0) and can decide an exact tie. Until exact ties are recovered from the face's
# structure, hinge in population form is fuzzed at τ ≥ 1e-3 only; every other loss keeps the
# full range.
RECIPES["psipo_exact.solvers.pairwise.solve_pairwise_population.tau"] = Recipe(
    lambda p, a: (np.maximum(p.tau, 1e-3)
                  if str(a.get("name", "")).lower() in ("hinge", "slic") else p.tau),
    batch=True, invalid=_tau_invalid("tau"))
# per-pair targets are defined for margin losses (of h alone): their names, no f-divergence
_MARGIN = [n for n in _losses.PAIRWISE_LOSSES if _losses.pairwise(n).is_margin()]
for _f in ("pair_target", "pair_objective"):
    RECIPES[f"psipo_exact.losses.targets.{_f}.name"] = Recipe(
        lambda p, a: _MARGIN[(3 * p.pick + p.steps) % len(_MARGIN)], invalid=_NAME.invalid)
    RECIPES[f"psipo_exact.losses.targets.{_f}.params"] = Recipe(
        lambda p, a: {k: v for k, v in _family_params(p, a).items()
                      if not k.startswith("f_")}, invalid=_FAMILY_PARAMS_INVALID)
RECIPES.update({
    # per-datum scores s_w, s_l (TRL's chosen/rejected log-ratios): any finite float
    "chosen_logratio": Recipe(lambda p, a: p.logits.reshape(-1)[:2], invalid={
        "NaN": lambda p, a: np.nan, "string": lambda p, a: "0.1",
        "None": lambda p, a: None, "bool": lambda p, a: True}),
    "rejected_logratio": Recipe(lambda p, a: p.logits.reshape(-1)[-2:], invalid={
        "NaN": lambda p, a: np.nan, "string": lambda p, a: "0.1", "None": lambda p, a: None}),
    "order": Recipe(lambda p, a: 1 + p.pick % 2, invalid={
        "three": lambda p, a: 3, "bool": lambda p, a: True, "float": lambda p, a: 1.5}),
    # per-pair targets: p = P(y_w ≻ y_l) in [0, 1], margins z anywhere
    "psipo_exact.losses.targets.pair_target.p": Recipe(
        lambda p, a: p.prefs[..., 0, -1], invalid={
            "NaN": lambda p, a: np.nan, "above one": lambda p, a: 1.5,
            "negative": lambda p, a: -0.1, "string": lambda p, a: "0.5"}),
    "psipo_exact.losses.targets.pair_objective.p": Recipe(
        lambda p, a: p.prefs[..., 0, -1], invalid={
            "NaN": lambda p, a: np.nan, "above one": lambda p, a: 1.5}),
    "z": Recipe(lambda p, a: p.rewards[..., 0], invalid={
        "NaN": lambda p, a: np.nan, "string": lambda p, a: "1"}),
    # f-divergences (Wang et al. 2023; TRL's f_divergence_type)
    "f_divergence": Recipe(lambda p, a: _F_TYPES[p.pick % 4], invalid={
        "unknown": lambda p, a: "kl", "number": lambda p, a: 1}),
    "f_divergence_type": Recipe(lambda p, a: _F_TYPES[p.pick % 4], invalid={
        "unknown": lambda p, a: "kl", "None": lambda p, a: None}),
    "f_alpha_divergence_coef": Recipe(lambda p, a: [0.5, 0.1, 0.9, 1e-3][p.pick % 4], invalid={
        "NaN": lambda p, a: np.nan, "bool": lambda p, a: True, "string": lambda p, a: "0.5"}),
    # simulate: every loss of the family by name or (name, params)
    "psipo_exact.simulate.runner.simulate.losses": Recipe(
        lambda p, a: [("dpo",), ("ipo", "dpo"), "ipo_symmetric", "bco_pair",
                      ("cdpo", {"label_smoothing": 0.1}), ["nca_pair", "hinge"],
                      [("sigmoid", {"f_divergence_type": "js_divergence"}), "sppo_hard"],
                      ("exo_pair", {"label_smoothing": 0.01})][p.pick],
        invalid={"empty": lambda p, a: [], "unknown": lambda p, a: ["kto"],
                 "repeated": lambda p, a: ["dpo", "dpo"],
                 "bad parameter": lambda p, a: [("robust", {"label_smoothing": 0.7})],
                 "unknown parameter": lambda p, a: [("hinge", {"beta": 1.0})]}),
    "psipo_exact.simulate.pairwise.is_loss_spec.loss": Recipe(
        lambda p, a: ["dpo", ("cdpo", {"label_smoothing": 0.1}), 3, ("dpo", "ipo")][p.pick % 4]),
})
