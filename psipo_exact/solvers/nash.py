"""The Nash equilibrium of the preference game, exactly (Munos et al., arXiv:2312.00886).

τ > 0: the regularised game ``P(π≻π′) − τ KL(π‖πref) + τ KL(π′‖πref)`` has one equilibrium
π*_τ, the fixed point of Eq. 7 of Azar et al. (arXiv:2310.12036) with µ = π*:
``π* = softmax(log πref + A π*/τ)`` on Supp(πref), ``A = prefs − ½`` (skew-symmetric; the
constant ½ cancels in the softmax). In the scores ``z = A π/τ`` it is the root of

    F(z) = τ z − A π(z),   π(z) = softmax(log πref + z),

whose Jacobian ``τI − A C`` (``C = diag π − ππᵀ``) is never singular: ``A C`` has the
eigenvalues of the skew-symmetric ``C^{½} A C^{½}``, all imaginary, and ``‖(τI − AC)⁻¹‖`` is
bounded by ``(1 + ‖A‖/(2τ))/τ``. Damped Newton with an Armijo line search on ``‖F‖²``
therefore converges from any start (the level sets of ‖F‖ are bounded), quadratically near
the root. For small τ the iterates follow the path of equilibria from τ = 1 down (a
predictor–corrector continuation in τ, predictor ``dz/dτ = −(τI − AC)⁻¹ z``), so that every
Newton solve starts inside its quadratic region; τ from 1e-6 to 1e6 converges in tens of
iterations. The certificate is the exploitability ``2τ KL(π‖BR(π))`` of the returned policy
(:func:`psipo_exact.games.exploitability`), computed independently of z.

τ = 0: the equilibria of the symmetric zero-sum matrix game on Supp(πref) form the polytope
``E = {π ∈ Δ : A π ≤ 0}`` (the maximal lotteries). One linear programme (HiGHS) gives an
equilibrium and the game value (½); one LP per action that can be a best response maximises
and minimises its mass over E, which certifies uniqueness or shows the support structure.
A unique equilibrium is polished on its support to machine precision. When E is not a point,
the returned equilibrium is the one closest to πref in KL: the τ → 0 limit of π*_τ. Proof:
for every π′ ∈ E and every τ > 0, ``KL(π*_τ‖πref) ≤ KL(π′‖πref)`` (the best-response value
of π*_τ is ½ and is at least ``π′ᵀ prefs π*_τ − τKL(π′‖πref) + τKL(π*_τ‖πref)``, where
``π′ᵀ prefs π*_τ ≥ ½`` since π′ ∈ E), and the limit points of π*_τ lie in E (their
unregularised exploitability is at most ``2τ log(1/min πref)``); KL is strictly convex, so
the limit is the KL-projection of πref onto E. It is computed from the dual
``min_{λ≥0} log Σ_{y∈M} πref(y) e^{(Aλ)_y}`` on the largest support M of E.
"""

from __future__ import annotations

import numpy as np

from .. import _base, _checks
from ..games import exploitability
from ._groups import MESSAGE_PROBLEMS, free_groups, lead_description, unflatten_free
from .result import NOT_CONVERGED, Solution, make_solution

#: Mass differences below this count as one equilibrium (τ = 0).
SET_TOL = 1e-9
_EPS = np.finfo(np.float64).eps


def solve_nash(prefs, pi_ref, tau, *, max_iter: int = 200) -> Solution:
    """The Nash equilibrium of the preference game: regularised for τ > 0, by LP for τ = 0.

    For τ > 0 the unique equilibrium of ``P(π≻π′) − τKL(π‖πref) + τKL(π′‖πref)``, i.e. the
    fixed point ``π* ∝ πref exp(p(·≻π*)/τ)`` of Eq. 7 with µ = π* (also online IPO's fixed
    point), by damped Newton with continuation in τ (module docstring), to machine
    precision. For τ = 0 an equilibrium of the game restricted to Supp(πref) by linear
    programming, its value (½) and whether it is unique; when it is not, the equilibrium
    closest to πref in KL, which is the τ → 0 limit of the regularised equilibria. (τ = 0
    solves the game of the exactly complementary ``½ + (prefs − prefsᵀ)/2``: prefs is
    validated complementary only to within 1e-9.)

    Parameters
    ----------
    prefs : array_like, shape (..., n, n)
        ``prefs[..., i, j] = p(y_i ≻ y_j)``, complementary.
    pi_ref : array_like, shape (..., n)
        Reference policy; the equilibrium lives on its support.
    tau : float or array_like
        τ ≥ 0, broadcast against the leading axes (τ rule). Entries may mix 0 and > 0.
    max_iter : int, default 200
        Newton iterations per problem (τ > 0).

    Returns
    -------
    Solution
        ``policy`` (0 off Supp(πref)), ``logits = log policy`` (finite on Supp(πref) even
        where the policy underflows), ``exists`` True, ``unique`` False only for τ = 0
        problems with several equilibria, whose ``free`` lists each action whose mass
        varies over the equilibria as a group of its own; ``residual`` is the largest
        exploitability (duality gap) of the returned policies, the certificate;
        status ``OPTIMUM``, ``OPTIMAL_SET`` or ``NOT_CONVERGED``.

    Raises
    ------
    ValueError
        On non-complementary ``prefs``, invalid ``pi_ref``, negative τ or mismatched shapes.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> rps = np.array([[0.5, 0.9, 0.2], [0.1, 0.5, 0.8], [0.8, 0.2, 0.5]])
    >>> sol = px.solve_nash(rps, np.array([0.6, 0.3, 0.1]), 0.1)
    >>> sol.status, bool(sol.residual < 1e-12)
    (0, True)
    >>> bool(np.allclose(sol.policy, px.games.best_response(sol.policy, rps, [0.6, 0.3, 0.1], 0.1)))
    True
    >>> px.solve_nash(rps, np.ones(3) / 3, 0.0).policy.round(4)
    array([0.3, 0.3, 0.4])

    References
    ----------
    Munos et al., arXiv:2312.00886 (regularised Nash equilibrium); Azar et al.,
    arXiv:2310.12036, Eq. 7; Calandriello et al., arXiv:2403.08635 (online IPO's fixed point).
    """
    prefs = _checks.preference_matrix(prefs)
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    n = prefs.shape[-1]
    _checks.n_actions_match(n, pi_ref=pi_ref)
    lead = _checks.broadcastable(("prefs", prefs.shape[:-2]), ("pi_ref", pi_ref.shape[:-1]))
    t, lead = _base.tau_for(tau, lead, allow_zero=True)
    max_iter = _checks.positive_int(max_iter, "max_iter")
    A = np.broadcast_to(prefs - 0.5, lead + (n, n)).reshape(-1, n, n)
    ref = np.broadcast_to(pi_ref, lead + (n,)).reshape(-1, n)
    t = np.broadcast_to(t, lead).reshape(-1)
    log_pi = np.empty(ref.shape)
    converged = np.ones(t.size, dtype=bool)
    iterations = np.zeros(t.size, dtype=int)
    regular = t > 0
    if regular.any():
        log_pi[regular], converged[regular], iterations[regular] = _regularised_equilibrium(
            A[regular], _base.log(ref[regular]), t[regular], max_iter)
    varying = np.zeros(ref.shape, dtype=bool)
    notes = []
    describe = lead_description(lead, "problem")
    for k in np.flatnonzero(~regular):
        log_pi[k], varying[k], note = _unregularised_equilibrium(A[k], ref[k])
        if len(notes) < MESSAGE_PROBLEMS:
            notes.append(f"{describe(k)}: {note}".lstrip(": "))
    policy = np.exp(log_pi)
    gap = exploitability(policy, A + 0.5, ref, t)
    groups = np.where(varying, np.arange(varying.size).reshape(varying.shape), -1)
    free = unflatten_free(free_groups(groups.ravel(), varying.ravel(), n, not lead), lead)
    detail = _detail(gap, regular, iterations, converged, notes)
    status = None if converged.all() else NOT_CONVERGED
    return make_solution(policy.reshape(lead + (n,)), log_pi.reshape(lead + (n,)), exists=True,
                         free=free, residual=float(np.max(gap, initial=0.0)), detail=detail,
                         status=status)


def _detail(gap, regular, iterations, converged, notes) -> str:
    parts = []
    if regular.any():
        parts.append(
            f"regularised equilibrium pi* = Gibbs(pi_ref, p(.>pi*), tau) (Eq. 7 with mu = pi*) "
            f"by Newton, {int(iterations[regular].max())} iterations at most, exploitability "
            f"{float(np.max(gap[regular])):.2g}")
        if not converged.all():
            parts.append(f"{int((~converged).sum())} problems stopped at max_iter")
    if (~regular).any():
        parts.append(f"tau = 0: equilibria by linear programming (HiGHS), exploitability "
                     f"{float(np.max(gap[~regular])):.2g}")
        parts += notes
    return "; ".join(parts)


# ----------------------------------------------------------------------------- τ > 0


def _residual(z, log_ref, A, level):
    """``F(z) = level·z − A π(z)`` on Supp(πref) (0 off it) and ``log π(z)``."""
    log_pi = log_ref + z
    log_pi = log_pi - np.max(log_pi, -1, keepdims=True)
    log_pi = log_pi - np.log(np.sum(np.exp(log_pi), -1, keepdims=True))
    score = np.matmul(A, np.exp(log_pi)[..., None])[..., 0]
    live = np.isfinite(log_ref)
    return np.where(live, level[:, None] * z - score, 0.0), log_pi, score


def _jacobian(log_pi, score, A, level, live):
    """``level·I − A C`` with ``C = diag π − ππᵀ`` (identity rows off Supp(πref)), O(n²)."""
    pi = np.exp(log_pi)
    n = pi.shape[-1]
    jac = score[:, :, None] * pi[:, None, :]  # (A π) πᵀ
    jac -= A * pi[:, None, :]  # − A diag π
    dead = ~live
    if dead.any():
        jac[dead] = 0.0
    diagonal = jac.reshape(jac.shape[0], -1)[:, :: n + 1]
    diagonal += level[:, None]
    return jac


def _regularised_equilibrium(A, log_ref, tau, max_iter: int):
    """Damped Newton with continuation in τ on ``F(z) = τz − Aπ(z)`` (module docstring).

    Each problem follows its own path of levels ``τ_0 = max(τ, 1) > τ_1 > … = τ``: at every
    level Newton runs until ``‖F‖∞ ≤ 10⁻² τ_k`` (z within 1 %), then an Euler predictor
    moves to the next level, a factor 2–10 lower. A level that takes more than
    :data:`STAGE_LIMIT` iterations is abandoned: the problem returns to the last solved
    level and retries with a smaller factor, so a sharp bend of the path (an action leaving
    the support) costs more levels, never a failure. At τ itself Newton runs to rounding.

    Parameters
    ----------
    A : ndarray, shape (B, n, n)
        ``prefs − ½`` per problem.
    log_ref : ndarray, shape (B, n)
        ``log πref`` (``−∞`` off its support).
    tau : ndarray, shape (B,)
        τ > 0 per problem.
    max_iter : int
        Newton iterations per problem.

    Returns
    -------
    log_pi : ndarray, shape (B, n)
        ``log π*_τ``.
    converged : ndarray of bool, shape (B,)
    iterations : ndarray of int, shape (B,)
    """
    batch, n = log_ref.shape
    path = _Path(A, log_ref, tau)
    iterations = np.zeros(batch, dtype=int)
    done = np.zeros(batch, dtype=bool)
    while True:
        k = np.flatnonzero(~done & (iterations < max_iter))
        if k.size == 0:
            break
        size, old, scale, moved = path.newton_step(k)
        iterations[k] += 1
        final = path.level[k] == tau[k]
        at_rounding = size <= 32 * _EPS * scale
        stalled = (~moved | (size > 0.25 * old)) & (size <= 1e-9 * scale)
        done[k[final & (at_rounding | stalled)]] = True
        solved = ~final & (size <= 1e-2 * path.level[k])
        path.advance(k[solved])
        path.retreat(k[~solved & ~(final & (at_rounding | stalled))])
    return path.log_pi, done, iterations


#: Newton iterations after which a continuation level is abandoned for a smaller step.
STAGE_LIMIT = 12


class _Path:
    """State of the continuation in τ for a batch of problems (see
    :func:`_regularised_equilibrium`)."""

    def __init__(self, A, log_ref, tau):
        batch, n = log_ref.shape
        self.A, self.log_ref, self.tau = A, log_ref, tau
        self.live = np.isfinite(log_ref)
        self.size_A = np.max(np.abs(A), axis=(-2, -1))
        self.z = np.zeros((batch, n))
        self.level = np.maximum(tau, 1.0)  # start where Newton converges at once
        self.factor = np.full(batch, 10.0)
        self.stage_iters = np.zeros(batch, dtype=int)
        self.saved_z, self.saved_level = self.z.copy(), np.full(batch, np.nan)
        self.F, self.log_pi, self.score = _residual(self.z, log_ref, A, self.level)

    def newton_step(self, k):
        """One damped Newton step for problems k: ``‖F‖∞`` after and before, scale, moved."""
        jac = _jacobian(self.log_pi[k], self.score[k], self.A[k], self.level[k], self.live[k])
        direction = np.linalg.solve(jac, -self.F[k][..., None])[..., 0]
        old = np.max(np.abs(self.F[k]), -1)
        z, F, log_pi, score, moved = _line_search(self.z[k], self.F[k], direction,
                                                  self.log_ref[k], self.A[k], self.level[k])
        self.z[k], self.F[k], self.log_pi[k], self.score[k] = z, F, log_pi, score
        self.stage_iters[k] += 1
        # |A π| rounds to about eps·max|A|, whatever the size of A π itself
        scale = np.maximum(self.size_A[k], np.max(np.abs(self.level[k, None] * z), -1))
        return np.max(np.abs(F), -1), old, scale, moved

    def advance(self, k):
        """Problems k solved their level: save it, move to the next with a predictor."""
        if k.size == 0:
            return
        quick, slow = self.stage_iters[k] <= 3, self.stage_iters[k] > 8
        self.factor[k] = np.where(quick, np.minimum(10.0, 2 * self.factor[k]),
                                  np.where(slow, np.maximum(2.0, np.sqrt(self.factor[k])),
                                           self.factor[k]))
        self.saved_z[k], self.saved_level[k] = self.z[k], self.level[k]
        self._predict(k)

    def retreat(self, k):
        """Problems k spent too long on a level: back to the saved level, smaller factor."""
        k = k[(self.stage_iters[k] > STAGE_LIMIT) & np.isfinite(self.saved_level[k])]
        if k.size == 0:
            return
        self.z[k], self.level[k] = self.saved_z[k], self.saved_level[k]
        self.F[k], self.log_pi[k], self.score[k] = _residual(
            self.z[k], self.log_ref[k], self.A[k], self.level[k])
        self.factor[k] = np.maximum(1.05, np.sqrt(self.factor[k]))
        self._predict(k)

    def _predict(self, k):
        """Euler step ``dz/dτ = −(τI − AC)⁻¹ z`` to the next level ``max(τ, level/factor)``."""
        new_level = np.maximum(self.tau[k], self.level[k] / self.factor[k])
        jac = _jacobian(self.log_pi[k], self.score[k], self.A[k], self.level[k], self.live[k])
        rhs = -np.where(self.live[k], self.z[k], 0.0)[..., None]
        slope = np.linalg.solve(jac, rhs)[..., 0]
        self.z[k] = self.z[k] + slope * (new_level - self.level[k])[:, None]
        self.level[k] = new_level
        self.stage_iters[k] = 0
        self.F[k], self.log_pi[k], self.score[k] = _residual(
            self.z[k], self.log_ref[k], self.A[k], self.level[k])


def _line_search(z, F, direction, log_ref, A, level, halvings: int = 40):
    """Armijo backtracking on ``‖F‖²`` per problem; a problem whose merit cannot decrease
    (rounding level) keeps its point (``moved`` False).

    Returns ``z, F, log π, A π`` at the accepted points and ``moved``."""
    merit = np.sum(F * F, -1)
    step = np.ones(z.shape[0])
    moved = np.zeros(z.shape[0], dtype=bool)
    out = [z.copy(), *_residual(z, log_ref, A, level)]
    for _ in range(halvings):
        todo = np.flatnonzero(~moved)
        trial = z[todo] + step[todo, None] * direction[todo]
        values = _residual(trial, log_ref[todo], A[todo], level[todo])
        ok = np.sum(values[0] ** 2, -1) <= (1 - 1e-4 * step[todo]) * merit[todo]
        for target, value in zip(out, (trial, *values)):
            target[todo[ok]] = value[ok]
        moved[todo[ok]] = True
        step[todo[~ok]] *= 0.5
        if moved.all():
            break
    return (*out, moved)


# ----------------------------------------------------------------------------- τ = 0


def _lp(c, A_ub, A_eq, bounds):
    from scipy.optimize import linprog  # ~0.15 s of import: only where a game is solved

    # HiGHS's presolve can judge a degenerate polytope (e.g. a single point where more
    # constraints meet than there are dimensions) infeasible: then retry without it.
    for options in (_base.HIGHS_OPTIONS, dict(_base.HIGHS_OPTIONS, presolve=False)):
        out = linprog(c, A_ub=A_ub, b_ub=np.zeros(A_ub.shape[0]), A_eq=A_eq, b_eq=[1.0],
                      bounds=bounds, method="highs", options=options)
        if out.status == 0:
            return out
    # never reached: E is not empty (minimax theorem)
    raise RuntimeError(  # pragma: no cover
        f"linprog failed on the equilibrium polytope: {out.message}")


def _unregularised_equilibrium(A, pi_ref):
    """One τ = 0 problem: ``(log π, varying actions, note)`` (module docstring)."""
    n = A.shape[0]
    support = np.flatnonzero(pi_ref > 0)
    sub = A[np.ix_(support, support)]
    # E = {π ∈ Δ: A π ≤ 0} is unchanged by a positive factor on A: the LPs, the polish and
    # the KL selection (absolute tolerances) see A scaled to max |A| = 1, and its exactly
    # skew-symmetric part (prefs is complementary only to within the validation tolerance,
    # so prefs − ½ may miss skew-symmetry by rounding: then E can be empty and HiGHS fails).
    sub = (sub - sub.T) / 2
    scale = float(np.max(np.abs(sub)))
    if scale > 0:
        sub = sub / scale
    k = support.size
    # max w s.t. (A π)_j + w <= 0 for every j, π in the simplex: w = value − ½.
    first = _lp(np.r_[np.zeros(k), -1.0], np.c_[sub, np.ones(k)], np.r_[np.ones(k), 0.0][None],
                [(0, None)] * k + [(None, None)])
    value = 0.5 + first.x[-1] * scale
    pi0 = np.clip(first.x[:k], 0.0, None)
    pi0 /= pi0.sum()
    low, high = _mass_ranges(sub, pi0)
    varying_sub = high - low > SET_TOL
    if varying_sub.any():
        pi_sub = _kl_selection(sub, pi_ref[support], high > SET_TOL)
        note = _set_note(support, low, high, varying_sub, value)
    else:
        pi_sub = _polish(sub, pi0)
        note = (f"game value {value:.12g}, unique equilibrium on actions "
                f"{support[pi_sub > 0].tolist()}")
    policy = np.zeros(n)
    policy[support] = pi_sub
    varying = np.zeros(n, dtype=bool)
    varying[support] = varying_sub
    return _base.log(policy), varying, note


def _mass_ranges(sub, pi0):
    """``min`` and ``max`` of each π(y) over ``E = {π ∈ Δ: A π ≤ 0}`` (LPs only for the
    actions that are best responses to ``pi0``: the others are in no equilibrium's support)."""
    k = sub.shape[0]
    low, high = np.zeros(k), np.zeros(k)
    tight = np.flatnonzero(sub @ pi0 >= -1e-9)
    bounds = [(0, None)] * k
    eq = np.ones((1, k))
    for y in tight:
        c = np.zeros(k)
        c[y] = 1.0
        low[y] = _lp(c, sub, eq, bounds).fun
        high[y] = -_lp(-c, sub, eq, bounds).fun
    return np.clip(low, 0, 1), np.clip(high, 0, 1)


def _polish(sub, pi0):
    """A unique equilibrium, solved on its support: ``A_SS π_S = 0``, ``Σ π_S = 1``."""
    s = np.flatnonzero(pi0 > SET_TOL)
    system = np.vstack([sub[np.ix_(s, s)], np.ones(s.size)])
    rhs = np.r_[np.zeros(s.size), 1.0]
    x = np.linalg.lstsq(system, rhs, rcond=None)[0]
    polished = np.zeros_like(pi0)
    polished[s] = x
    if (x < 0).any() or np.max(sub @ polished) > max(np.max(sub @ pi0), 0.0):
        return pi0  # degenerate support: keep the LP's answer
    return polished / polished.sum()


def _kl_selection(sub, ref, live, iterations: int = 30):
    """``argmin_{π ∈ E} KL(π‖πref)`` on the largest support ``live`` of E, via its dual
    ``min_{λ≥0} φ(λ) = log Σ_{y∈live} πref(y) e^{(Aλ)_y}`` (gradient ``−Aπ(λ)``), then
    Gauss–Newton on the active constraints for machine precision."""
    rows = sub[live]  # (A λ)_y for y in live
    log_ref = np.log(ref[live])

    def policy(lam):
        x = log_ref + rows @ lam
        top = x.max()
        total = np.sum(np.exp(x - top))
        return np.exp(x - top) / total, top + np.log(total)

    def objective(lam):
        p, value = policy(lam)
        return value, -(sub[:, live] @ p)

    from scipy.optimize import minimize

    k = sub.shape[0]
    fit = minimize(objective, np.zeros(k), jac=True, method="L-BFGS-B", bounds=[(0, None)] * k,
                   options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 5000})
    lam = fit.x
    p, _ = policy(lam)
    for _ in range(iterations):
        slack = sub[:, live] @ p
        active = np.flatnonzero((slack > -1e-7) | (lam > 0))
        if np.max(np.abs(slack[active]), initial=0.0) <= 1e-15:
            break
        cov = np.diag(p) - np.outer(p, p)
        jac = sub[np.ix_(active, live)] @ cov @ rows[:, active]
        step = np.linalg.lstsq(jac, -slack[active], rcond=None)[0]
        lam[active] = np.maximum(lam[active] + step, 0.0)
        p, _ = policy(lam)
    out = np.zeros(k)
    out[live] = p
    return out


def _set_note(support, low, high, varying, value) -> str:
    ranges = ", ".join(f"{int(support[y])}: [{low[y]:.3g}, {high[y]:.3g}]"
                       for y in np.flatnonzero(varying))
    never = [int(support[y]) for y in np.flatnonzero(high <= SET_TOL)]
    return (f"game value {value:.12g}; the equilibria form a polytope (mass ranges {ranges}; "
            f"actions in no equilibrium: {never}); returned the equilibrium closest to pi_ref "
            "in KL, the tau -> 0 limit of the regularised equilibria")
