"""The one result contract of every solver: :class:`Solution`, its status codes and messages.

As ``scipy.optimize.OptimizeResult``, a solver says whether it succeeded and why through an
integer ``status`` with one table of messages (:data:`STATUS_MESSAGES`), and
:func:`make_solution` is the one place where a ``Solution`` and its ``message`` are built:
the table's text for the status, then the solver's details after a colon.

Format of ``Solution.free``: a tuple of groups, each group a tuple of indices into the
problem's array *without* τ axes: plain action integers for a single problem
(``logits_shape == (n,)``), index tuples ``(x, y)`` (``(*lead, y)`` for population
problems) otherwise. Within a group the relative probabilities are determined; the masses
of the groups relative to one another are left undetermined by the loss. Only problems
whose policy is not unique contribute groups, and then all their groups (so ``free == ()``
exactly when ``unique``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import _base

#: A unique finite minimiser (or equilibrium) in every problem.
OPTIMUM = 0
#: A finite minimiser exists, but the minimising policy is not unique: ``free`` says where.
OPTIMAL_SET = 1
#: No finite minimiser; the limit of every minimising sequence is a unique policy.
LIMIT = 2
#: No finite minimiser, and the limit policy is not unique either.
LIMIT_SET = 3
#: The loss is unbounded below (no minimiser, no limit policy).
UNBOUNDED = 4
#: A stationary point of a non-convex loss; global optimality is not certified.
STATIONARY = 5
#: The solver stopped before its tolerance.
NOT_CONVERGED = 6

#: The one table of status messages (``Solution.message`` starts with one of these).
STATUS_MESSAGES = {
    OPTIMUM: "unique minimiser",
    OPTIMAL_SET: "minimiser not unique",
    LIMIT: "no finite minimiser (the limit policy is unique)",
    LIMIT_SET: "no finite minimiser, and the limit policy is not unique",
    UNBOUNDED: "the loss is unbounded below",
    STATIONARY: "stationary point (global optimality not certified)",
    NOT_CONVERGED: "did not converge",
}


@dataclass(frozen=True, eq=False, repr=False)
class Solution:
    """The exact minimiser of a loss, or the exact limit of its minimising sequences.

    Attributes
    ----------
    policy : ndarray, shape (..., n)
        The minimising policy; the limit policy when no finite minimiser exists; one
        representative (documented by each solver) when the policy is not unique.
        Read-only.
    logits : ndarray, shape (..., n)
        Logits of ``policy`` (``−∞`` where it vanishes); for the IPO solvers, the minimiser
        in logit space closest to the starting logits. Read-only.
    exists : bool
        A finite minimiser exists (in every context / leading index).
    unique : bool
        The minimising (or limit) policy is unique (in every context / leading index).
    free : tuple of tuples
        Groups of actions whose relative mass the loss leaves undetermined (module
        docstring). Empty exactly when ``unique``.
    residual : float
        Optimality residual, defined by each solver (normal-equation residual, gradient).
    status : int
        One of the keys of :data:`STATUS_MESSAGES`.
    message : str
        ``STATUS_MESSAGES[status]``, then the solver's details.

    References
    ----------
    Azar et al., arXiv:2310.12036: Theorem 2 (a unique optimum, status 0), Appendix A.2
    (minimisers not unique, status 1), Sec. 4.2 and 5.4 (no finite minimiser, status 2/3).
    The status/message contract follows ``scipy.optimize.OptimizeResult``.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> sol = px.solve_ipo_empirical(px.paper_dataset("D1"), np.ones(3) / 3, 1.0)
    >>> sol.status, sol.unique, sol.free
    (0, True, ())
    >>> sol.policy.flags.writeable
    False
    """

    policy: np.ndarray
    logits: np.ndarray
    exists: bool
    unique: bool
    free: tuple
    residual: float
    status: int
    message: str

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                object.__setattr__(self, f.name, _base.frozen(value))
        if self.status not in STATUS_MESSAGES:
            raise ValueError(f"status = {self.status!r}, must be one of {list(STATUS_MESSAGES)}")

    def __repr__(self) -> str:
        arrays = ", ".join(
            f"{f.name}: shape {getattr(self, f.name).shape}"
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        )
        return (
            f"{type(self).__name__}(status={self.status}, exists={self.exists}, "
            f"unique={self.unique}, free groups={len(self.free)}, "
            f"residual={self.residual:.3g}, {arrays})\n  message: {self.message}"
        )


@dataclass(frozen=True, eq=False, repr=False)
class BradleyTerrySolution(Solution):
    """:class:`Solution` of the Bradley–Terry maximum-likelihood problem (Eq. 2).

    Attributes
    ----------
    rewards : ndarray, shape (..., n)
        Maximum-likelihood rewards, mean zero over each top strongly connected component
        (the whole connected component when a finite MLE exists); ``−∞`` for actions outside
        the top components (their reward diverges to ``−∞`` relative to the top). ``policy``
        is ``softmax(rewards)`` per problem (the Bradley–Terry strengths ``e^r``, normalised)
        and ``logits`` equals ``rewards``. Read-only. With ``reference`` (an action index),
        the rewards of the reference's component are shifted so that its reward is 0.
    stderr : ndarray, shape (..., n)
        Standard errors of ``rewards`` from the observed Fisher information, under the
        identifiability constraint of ``rewards``: mean zero over each component, or the
        reference action at 0 (s.e. 0) in its component, as R's ``BTabilities``. ``∞``
        where the reward diverges to ``−∞``, and in a component whose variances exceed the
        float range (a curvature below the smallest float, e.g. a population fit with
        µ(y)µ(y′) ~ 1e-200); 0 for an action alone in its component.
        For the population fit, per comparison (divide by ``sqrt(N)`` for N comparisons).
    loglik : float
        Log-likelihood of the comparisons at the fit, ``Σ_i c_i log P(datum i)`` (no binomial
        coefficients; R's ``logLik`` minus them). Without a finite maximiser, its supremum.
        For the population fit, the expected log-likelihood of one comparison (−Eq. 2).
    deviance : float
        ``2 (loglik_saturated − loglik)``, the saturated model having one probability per
        compared pair of actions (per context).
    information : scipy.sparse matrix
        Observed Fisher information (negative Hessian of the log-likelihood) over global
        nodes ``k · n + y`` of the estimated rewards.
    reference : int or None
        The reference action of the constraint (``None``: mean zero).

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 2 (and its population form in Proposition 4).
    Existence of a finite maximum-likelihood estimate: Zermelo (1929), Math. Z. 29;
    Ford (1957), Amer. Math. Monthly 64(8).

    Examples
    --------
    Two actions, a≻b twice and b≻a once: ``r_a − r_b = log 2``, rewards ``±(log 2)/2``
    and strengths ``e^r`` normalised to (2/3, 1/3):

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> sol = px.fit_bradley_terry(px.Dataset.from_pairs([(0, 1), (0, 1), (1, 0)], 2))
    >>> type(sol).__name__, sol.status
    ('BradleyTerrySolution', 0)
    >>> print(np.round(sol.rewards, 4), np.round(sol.policy, 4))
    [ 0.3466 -0.3466] [0.6667 0.3333]
    """

    rewards: np.ndarray
    stderr: np.ndarray
    loglik: float
    deviance: float
    information: object
    reference: int | None

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of ``rewards``, shape ``(..., n, n)``, under the constraint of ``stderr``
        (0 between components, ``∞`` on the diagonal of rewards that diverge to ``−∞``).
        Computed on demand: dense per problem.

        Returns
        -------
        ndarray, shape (..., n, n)
            The inverse observed Fisher information on the constrained rewards.

        References
        ----------
        Azar et al., arXiv:2310.12036, Eq. 2 (the likelihood); the Bradley–Terry standard
        errors of Agresti (2002), *Categorical Data Analysis*, 2nd ed., and R's
        ``BTabilities`` (Turner & Firth, 2012, J. Stat. Softw. 48(9)).

        Examples
        --------
        Two actions, ``a ≻ b`` three times and ``b ≻ a`` once (n = 4, p = 3/4): the
        information of ``d = r_a − r_b`` is ``n p (1 − p) = 3/4``, so ``Var(d) = 4/3``. With
        ``a`` as reference that is ``Var(r_b)``; at mean zero ``r_a = d/2 = −r_b``, so the
        covariance is ``(4/3)/4 · [[1, −1], [−1, 1]]``:

        >>> import numpy as np
        >>> import psipo_exact as px
        >>> data = px.Dataset.from_pairs([("a", "b")] * 3 + [("b", "a")])
        >>> print(np.round(px.fit_bradley_terry(data, reference="a").covariance, 4))
        [[0.     0.    ]
         [0.     1.3333]]
        >>> print(np.round(px.fit_bradley_terry(data).covariance, 4))
        [[ 0.3333 -0.3333]
         [-0.3333  0.3333]]
        """
        from ._statistics import dense_covariance

        labels, ref = self._components()
        return dense_covariance(self.information, labels, ref, self.rewards.shape)

    def _components(self):
        from scipy.sparse.csgraph import connected_components

        size = self.rewards.size
        _, labels = connected_components(self.information[:size, :size], directed=False)
        labels = np.where(np.isfinite(self.rewards.ravel()), labels, -1)
        ref = None
        if self.reference is not None:
            ref = (np.arange(size) % self.rewards.shape[-1]) == self.reference
        return labels, ref


def status_for(exists: bool, unique: bool) -> int:
    """The status of a convex problem from whether a finite minimiser exists and is unique.

    Parameters
    ----------
    exists : bool
        A finite minimiser exists.
    unique : bool
        The minimising (or limit) policy is unique.

    Returns
    -------
    int
        :data:`OPTIMUM` (0), :data:`OPTIMAL_SET` (1), :data:`LIMIT` (2) or
        :data:`LIMIT_SET` (3).

    References
    ----------
    Azar et al., arXiv:2310.12036: Theorem 2 (unique), Appendix A.2 (not unique), Sec. 4.2
    (no finite minimiser); the codes mirror ``scipy.optimize.OptimizeResult.status``.

    Examples
    --------
    >>> from psipo_exact.solvers.result import STATUS_MESSAGES, status_for
    >>> [status_for(exists, unique) for exists in (True, False) for unique in (True, False)]
    [0, 1, 2, 3]
    >>> STATUS_MESSAGES[status_for(False, True)]
    'no finite minimiser (the limit policy is unique)'
    """
    if exists:
        return OPTIMUM if unique else OPTIMAL_SET
    return LIMIT if unique else LIMIT_SET


def make_solution(policy, logits, *, exists: bool, free: tuple, residual: float, detail: str,
                  status: int | None = None, kind: type = Solution, **extra) -> Solution:
    """Build a :class:`Solution` (or subclass ``kind``): the one place messages are made.

    ``unique`` is ``not free``; ``status`` defaults to :func:`status_for`; the message is
    ``STATUS_MESSAGES[status]``, then ``": "`` and ``detail`` (when given).

    Parameters
    ----------
    policy, logits : ndarray
        The solution's arrays (frozen by :class:`Solution`).
    exists : bool
        A finite minimiser exists.
    free : tuple of tuples
        Free groups (module docstring); empty exactly when the policy is unique.
    residual : float
        Optimality residual.
    detail : str
        The solver's words after the table's message (empty: none).
    status : int, optional
        Overrides :func:`status_for` (e.g. :data:`NOT_CONVERGED`).
    kind : type, default Solution
        :class:`Solution` or a subclass; ``**extra`` are its additional fields.

    Returns
    -------
    Solution

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 4.2 (the DPO limit ``(1, 0)`` of the example
    below); the one message table follows ``scipy.optimize.OptimizeResult``.

    Examples
    --------
    The DPO limit of Sec. 4.2 (``p*(y₁ ≻ y₂) = 1``): no finite minimiser, a unique limit:

    >>> import numpy as np
    >>> from psipo_exact.solvers.result import make_solution
    >>> sol = make_solution(np.array([1.0, 0.0]), np.array([0.0, -np.inf]), exists=False,
    ...                     free=(), residual=0.0, detail="y2 never wins")
    >>> sol.status, sol.unique
    (2, True)
    >>> sol.message
    'no finite minimiser (the limit policy is unique): y2 never wins'
    """
    unique = not free
    if status is None:
        status = status_for(exists, unique)
    message = STATUS_MESSAGES[status] + (f": {detail}" if detail else "")
    return kind(policy=policy, logits=logits, exists=bool(exists), unique=unique, free=free,
                residual=float(residual), status=status, message=message, **extra)


@dataclass(frozen=True, eq=False, repr=False)
class TieModelSolution(BradleyTerrySolution):
    """:class:`BradleyTerrySolution` of a tie model (Rao–Kupper or Davidson).

    Attributes
    ----------
    tie_model : str
        ``"rao_kupper"`` or ``"davidson"``.
    tie_parameter : float
        θ ≥ 1 (Rao–Kupper) or ν ≥ 0 (Davidson), estimated or as given.
    tie_parameter_stderr : float
        Its standard error (delta method from ``log θ`` / ``log ν``); 0 when it was given,
        or at the boundary (no ties: θ = 1, ν = 0).

    ``information`` is the joint observed information of the rewards and ``log θ`` / ``log ν``
    (one trailing row and column) when the tie parameter was estimated; ``stderr`` and
    ``covariance`` account for its estimation.

    References
    ----------
    Rao & Kupper (1967), JASA 62, 194-204; Davidson (1970), JASA 65, 317-328; Azar et al.,
    arXiv:2310.12036, Eq. 1-2 (the Bradley–Terry model both extend).

    Examples
    --------
    Two actions, ``a ≻ b`` twice, ``b ≻ a`` once and one tie. With two actions Davidson's
    model fits the three frequencies exactly: ``P(a)/P(b) = e^{r_a − r_b} = 2`` and
    ``ν = P(tie)/sqrt(P(a) P(b)) = (1/4)/sqrt(1/8) = 1/sqrt(2)``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> data = px.Dataset.from_pairs([("a", "b")] * 3 + [("b", "a")],
    ...                              ties=[False, False, True, False])
    >>> sol = px.fit_davidson(data, reference="a")
    >>> type(sol).__name__, sol.tie_model, sol.status
    ('TieModelSolution', 'davidson', 0)
    >>> round(sol.tie_parameter, 4)  # 1/sqrt(2)
    0.7071
    >>> bool(np.isclose(sol.rewards[1], -np.log(2)))
    True
    """

    tie_model: str
    tie_parameter: float
    tie_parameter_stderr: float

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of ``rewards``, shape ``(..., n, n)`` (see :class:`BradleyTerrySolution`),
        marginal over the estimated tie parameter.

        Returns
        -------
        ndarray, shape (..., n, n)

        References
        ----------
        Davidson (1970), JASA 65, 317-328; Rao & Kupper (1967), JASA 62, 194-204 (the
        models); the inverse observed information, as for Bradley–Terry (Azar et al.,
        arXiv:2310.12036, Eq. 2).

        Examples
        --------
        The example of :class:`TieModelSolution` (wins 2 and 1, one tie, n = 4): Davidson's
        fit is the saturated trinomial, so ``r_b − r_a = log P̂(b) − log P̂(a)`` has the
        multinomial delta-method variance ``1/2 + 1/1 = 1.5`` (counts 2 and 1). With ν held
        at its estimate, the information of ``d`` is ``n Var(D) = 4 · 11/64`` (``D = ±1/2``
        on a win of a / of b, 0 on a tie, with probabilities 1/2, 1/4, 1/4), so
        ``Var(d) = 16/11``, smaller:

        >>> import numpy as np
        >>> import psipo_exact as px
        >>> data = px.Dataset.from_pairs([("a", "b")] * 3 + [("b", "a")],
        ...                              ties=[False, False, True, False])
        >>> print(np.round(px.fit_davidson(data, reference="a").covariance, 4))
        [[0.  0. ]
         [0.  1.5]]
        >>> fixed = px.fit_davidson(data, 1 / np.sqrt(2), reference="a")
        >>> round(float(fixed.covariance[1, 1]), 4), fixed.tie_parameter_stderr
        (1.4545, 0.0)
        """
        from ._statistics import joint_covariance

        labels, ref = self._components()
        size, n = self.rewards.size, self.rewards.shape[-1]
        live, cov = joint_covariance(self.information, labels, ref,
                                     self.information.shape[0] - size)
        out = np.zeros((size // n, n, n))
        dead = np.flatnonzero(labels < 0)
        out[dead // n, dead % n, dead % n] = np.inf
        m = live.size
        same = (live[:, None] // n) == (live[None, :] // n)
        k, i, j = (np.broadcast_to(live[:, None] // n, (m, m))[same],
                   np.broadcast_to(live[:, None] % n, (m, m))[same],
                   np.broadcast_to(live[None, :] % n, (m, m))[same])
        out[k, i, j] = cov[:m, :m][same]
        return out.reshape(self.rewards.shape + (n,))
