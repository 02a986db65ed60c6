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
"""

from .empirical import (
    LINKS,
    Link,
    dpo_empirical,
    empirical_loss,
    ipo_empirical,
    ipo_empirical_symmetric,
    reference_gap,
    resolve_link,
    scatter_to_logits,
)
from .population import (
    bt_reward_population,
    dpo_population,
    ipo_population,
    ipo_sampled_population,
)
from .ties import TIE_MODELS, TieModel, dpo_ties_empirical, resolve_tie_model

__all__ = [
    "LINKS",
    "Link",
    "TIE_MODELS",
    "TieModel",
    "dpo_ties_empirical",
    "resolve_tie_model",
    "bt_reward_population",
    "dpo_empirical",
    "dpo_population",
    "empirical_loss",
    "ipo_empirical",
    "ipo_empirical_symmetric",
    "ipo_population",
    "ipo_sampled_population",
    "reference_gap",
    "resolve_link",
    "scatter_to_logits",
]
