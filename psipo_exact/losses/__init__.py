"""Exact population and empirical losses of Azar et al. (arXiv:2310.12036).

Population losses (expectations over ``y, y′ ∼ µ``, optionally over ``x ∼ ρ``):
Eq. 2 (Bradley–Terry reward loss), Eq. 5 (DPO), Eq. 13 (IPO root-finding loss) and Eq. 16
(the sampled IPO loss, as the exact expectation over the Bernoulli ``I``).

Empirical losses (means over a :class:`~psipo_exact.model.Dataset`, as functions of the
policy logits θ with ``π = softmax(θ)``): Eq. 4 (DPO), Eq. 17 (IPO) and the two-term
symmetric form just above Eq. 17. Each is ``mean_i ℓ(h_i)`` with ``h_i = h_π(y_w,i, y_l,i)``,
so one scalar link ``ℓ`` and its derivative define both the loss and its exact gradient
``∂/∂θ = Σ_i w_i ℓ′(h_i) (e_{w_i} − e_{l_i})``; the solvers and the simulator use these links,
never a second copy of a formula.

The preference-loss family (:mod:`.pairwise`: TRL's ``loss_type``s, GPO's losses, the paper's
DPO and IPO as its ``sigmoid`` and ``ipo``) has one registry, :data:`PAIRWISE`, with per-datum
values and derivatives (:func:`pairwise_loss`, :func:`pairwise_derivatives`), empirical and
population forms (:func:`pairwise_empirical`, :func:`pairwise_population`) and TRL's
f-divergence score transforms (:mod:`.f_divergence`, :func:`f_regularised_policy`).
"""

from .empirical import (
    LINKS,
    Link,
    dpo_empirical,
    empirical_loss,
    ipo_empirical,
    ipo_empirical_symmetric,
    pairwise_empirical,
    reference_gap,
    resolve_link,
    scatter_to_logits,
)
from .f_divergence import (
    F_DIVERGENCES,
    ScoreTransform,
    f_regularised_objective,
    f_regularised_policy,
    score_transform,
)
from .pairwise import (
    PAIRWISE,
    PAIRWISE_ALIASES,
    PAIRWISE_LOSSES,
    PARAMETER_NAMES,
    LossParams,
    PairwiseLoss,
    pairwise,
    pairwise_derivatives,
    pairwise_loss,
)
from .population import (
    bt_reward_population,
    dpo_population,
    ipo_population,
    ipo_sampled_population,
    pairwise_population,
)
from .targets import pair_objective, pair_target
from .ties import TIE_MODELS, TieModel, dpo_ties_empirical, resolve_tie_model

__all__ = [
    "F_DIVERGENCES",
    "LINKS",
    "Link",
    "TIE_MODELS",
    "TieModel",
    "dpo_ties_empirical",
    "resolve_tie_model",
    "LossParams",
    "PAIRWISE",
    "PAIRWISE_ALIASES",
    "PAIRWISE_LOSSES",
    "PARAMETER_NAMES",
    "PairwiseLoss",
    "ScoreTransform",
    "bt_reward_population",
    "dpo_empirical",
    "dpo_population",
    "empirical_loss",
    "ipo_empirical",
    "ipo_empirical_symmetric",
    "ipo_population",
    "ipo_sampled_population",
    "f_regularised_objective",
    "f_regularised_policy",
    "pairwise",
    "pairwise_derivatives",
    "pairwise_empirical",
    "pairwise_loss",
    "pairwise_population",
    "pair_objective",
    "pair_target",
    "reference_gap",
    "resolve_link",
    "scatter_to_logits",
    "score_transform",
]
