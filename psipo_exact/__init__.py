"""psipo_exact: exact analysis of ΨPO preference learning (IPO, DPO, RLHF).

After Azar et al., "A General Theoretical Paradigm to Understand Learning from Human
Preferences" (arXiv:2310.12036). See the README for the map from paper results to functions.
"""

from . import datasets, games, losses
from .closed_form import (
    expected_psi,
    gibbs_log_policy,
    gibbs_policy,
    kl_divergence,
    log_ratio_gap,
    preference_against,
    psipo_objective,
    psipo_policy,
    regularised_objective,
    rlhf_objective,
    rlhf_policy,
    softmax_policy,
    total_preference,
)
from .games import exploitability, preference_game
from .losses import f_regularised_policy
from .model import Dataset, PreferenceModel, Rankings, bradley_terry_prefs, paper_dataset
from .psi import resolve_psi
from .simulate import SimulationResult, simulate
from .solvers import (
    BradleyTerrySolution,
    Solution,
    TieModelSolution,
    dpo_rankings_empirical,
    fit_bradley_terry,
    fit_davidson,
    fit_plackett_luce,
    fit_rao_kupper,
    solve_dpo_empirical,
    solve_dpo_population,
    solve_dpo_rankings,
    solve_ipo_empirical,
    solve_ipo_population,
    solve_nash,
    solve_pairwise_empirical,
    solve_pairwise_population,
)

_LAZY = {"verify_all", "Check"}  # psipo_exact.symbolic imports sympy: only on first use


def __getattr__(name):
    if name in _LAZY:
        from . import symbolic

        return getattr(symbolic, name)
    raise AttributeError(f"module 'psipo_exact' has no attribute {name!r}")


__all__ = [
    "BradleyTerrySolution",
    "Check",
    "Dataset",
    "datasets",
    "PreferenceModel",
    "Rankings",
    "bradley_terry_prefs",
    "expected_psi",
    "f_regularised_policy",
    "gibbs_log_policy",
    "gibbs_policy",
    "kl_divergence",
    "log_ratio_gap",
    "losses",
    "paper_dataset",
    "preference_against",
    "psipo_objective",
    "psipo_policy",
    "regularised_objective",
    "resolve_psi",
    "rlhf_objective",
    "rlhf_policy",
    "SimulationResult",
    "simulate",
    "softmax_policy",
    "Solution",
    "fit_bradley_terry",
    "fit_davidson",
    "fit_plackett_luce",
    "solve_dpo_rankings",
    "dpo_rankings_empirical",
    "fit_rao_kupper",
    "TieModelSolution",
    "solve_dpo_empirical",
    "solve_dpo_population",
    "solve_ipo_empirical",
    "solve_ipo_population",
    "solve_pairwise_empirical",
    "solve_pairwise_population",
    "total_preference",
    "verify_all",
    "exploitability",
    "games",
    "preference_game",
    "solve_nash",
]

__version__ = "0.1.0"
