"""psipo_exact: exact analysis of ΨPO preference learning (IPO, DPO, RLHF).

After Azar et al., "A General Theoretical Paradigm to Understand Learning from Human
Preferences" (arXiv:2310.12036). See the README for the map from paper results to functions.
"""

from . import losses
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
    total_preference,
)
from .model import Dataset, PreferenceModel, bradley_terry_prefs, paper_dataset
from .psi import resolve_psi

__all__ = [
    "Dataset",
    "PreferenceModel",
    "bradley_terry_prefs",
    "expected_psi",
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
    "total_preference",
]

__version__ = "0.1.0"
