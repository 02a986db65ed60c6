"""Exact minimisers of the losses of Azar et al. (arXiv:2310.12036), or their exact limits.

One module per problem family, one result contract:

* :mod:`.ipo`: IPO, population (Eq. 13/14, O(n)) and empirical (Eq. 17, a Laplacian solve);
* :mod:`.bradley_terry`: Bradley–Terry maximum likelihood (Eq. 2) with existence and limits;
* :mod:`.dpo`: DPO (Eq. 4/5) through Proposition 4;
* :mod:`.nash`: the Nash equilibrium of the (regularised) preference game (Munos et al.);
* :mod:`.pairwise`: the preference-loss family (TRL's ``loss_type``s, GPO's losses) on the
  comparison graph (``_margin``, ``_face``) or with one Lagrange multiplier (``_separable``);
* :mod:`.result`: :class:`Solution`, its status codes and the one table of messages;
* ``_laplacian``, ``_groups``, ``_problem``: graph linear algebra, free-group bookkeeping and
  the problems' inputs as graphs on global nodes.

Every solver returns a :class:`Solution` (``fit_bradley_terry`` a
:class:`BradleyTerrySolution`). Contexts, and the leading axes of population problems, are
independent problems solved together as one block-diagonal problem. Actions with
``πref = 0`` get probability 0 and are never free, except in :func:`solve_ipo_empirical` on a
never-compared action where ``init`` is finite (Eq. 17 does not involve πref there, and that
logit keeps its ``init`` value).

File input for ``psipo-exact solve`` lives in :mod:`psipo_exact.files`.
"""

from .bradley_terry import fit_bradley_terry
from .dpo import solve_dpo_empirical, solve_dpo_population
from .ipo import solve_ipo_empirical, solve_ipo_population
from .nash import solve_nash
from .pairwise import solve_pairwise_empirical, solve_pairwise_population
from .plackett_luce import dpo_rankings_empirical, fit_plackett_luce, solve_dpo_rankings
from .result import STATUS_MESSAGES, BradleyTerrySolution, Solution, TieModelSolution
from .ties import fit_davidson, fit_rao_kupper

__all__ = [
    "BradleyTerrySolution",
    "STATUS_MESSAGES",
    "Solution",
    "TieModelSolution",
    "fit_bradley_terry",
    "dpo_rankings_empirical",
    "fit_plackett_luce",
    "solve_dpo_rankings",
    "fit_davidson",
    "fit_rao_kupper",
    "solve_dpo_empirical",
    "solve_dpo_population",
    "solve_ipo_empirical",
    "solve_ipo_population",
    "solve_nash",
    "solve_pairwise_empirical",
    "solve_pairwise_population",
]
