"""Symbolic checks of the preference-loss family (:mod:`psipo_exact.losses.pairwise`).

Margin losses are written as functions ``f(z)`` of ``z = τh`` (τ = TRL's ``beta``). Each check
takes parameters that produce a wrong variant (the tests feed them as negative controls):

* :func:`check_pair_targets` — the closed-form per-pair targets ``z*(p)`` make
  ``d/dz [p f(z) + (1 − p) f(−z)]`` vanish (hinge: 0 lies in the subdifferential);
* :func:`check_convexity` — ``f″(z) ≥ 0`` for the losses the registry calls convex, as sympy
  proves the sign of the simplified second derivative;
* :func:`check_equivalences` — ``cdpo(ε)`` = DPO on ``(1 − 2ε)p + ε``; ``robust(ε)`` = DPO on
  ``(p − ε)/(1 − 2ε)``; ``squared(τ) = τ² ipo(τ/2)``; ``sigmoid`` in log-ratios is Eq. 4 with
  the softmax normaliser cancelled; Proposition 4's analogue: every margin loss of
  ``h = (r_w − r_l)/τ`` is τ-free (``ipo`` after the factor τ²);
* :func:`check_f_divergence_scores` — TRL's scores are ``f′(e^s)`` up to a constant;
* :func:`check_sppo_lambert` — the Lambert W root solves ``sppo_hard``'s stationarity.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from ._check import Check, timed
from .algebra import TAU, log_ratio_gap_expr

Z = sp.Symbol("z", real=True)
P = sp.Symbol("p", positive=True)
EPS = sp.Symbol("epsilon", positive=True)


def _sp(x):
    """softplus: log(1 + e^x)."""
    return sp.log(1 + sp.exp(x))


def _sig(x):
    return 1 / (1 + sp.exp(-x))


#: The margin losses as functions of z = τh (ipo at τ = 1: its minimiser in z is τ-free).
SHAPES = {
    "sigmoid": _sp(-Z),
    "cdpo": (1 - EPS) * _sp(-Z) + EPS * _sp(Z),
    "robust": ((1 - EPS) * _sp(-Z) - EPS * _sp(Z)) / (1 - 2 * EPS),
    "exponential": sp.exp(-Z),
    "squared": (Z - 1) ** 2,
    "ipo": (Z - sp.Rational(1, 2)) ** 2,
    "truncated_quadratic": (1 - Z) ** 2,  # its piece on z < 1 (the target lies in (−1, 1))
    "savage": _sig(-Z) ** 2,
    "exo_pair": _sig(Z) * (sp.log(_sig(Z)) - sp.log(1 - EPS))
    + _sig(-Z) * (sp.log(_sig(-Z)) - sp.log(EPS)),
}
#: The registry's closed-form per-pair targets z*(p) (losses.targets).
TARGETS = {
    "sigmoid": sp.log(P / (1 - P)),
    "savage": sp.log(P / (1 - P)),
    "cdpo": sp.log(((1 - 2 * EPS) * P + EPS) / (1 - (1 - 2 * EPS) * P - EPS)),
    "robust": sp.log((P - EPS) / (1 - EPS - P)),
    "exponential": sp.log(P / (1 - P)) / 2,
    "ipo": P - sp.Rational(1, 2),
    "squared": 2 * P - 1,
    "truncated_quadratic": 2 * P - 1,
    "exo_pair": (2 * P - 1) * sp.log((1 - EPS) / EPS),
}


#: First derivatives where sympy needs the closed form (proved in :func:`_derivative_holds`).
DERIVATIVES = {
    "exo_pair": _sig(Z) * _sig(-Z) * (Z - sp.log((1 - EPS) / EPS)),
}


def _derivative_holds(name) -> bool:
    """``f′ = DERIVATIVES[name]``, checked in ``u = e^z`` (rational after expanding logs)."""
    u = sp.Symbol("u", positive=True)
    gap = (sp.diff(SHAPES[name], Z) - DERIVATIVES[name]).subs(Z, sp.log(u))
    return sp.simplify(sp.expand_log(gap, force=True)) == 0


def _pair_slope(name, target):
    """``d/dz [p f(z) + (1 − p) f(−z)]`` at ``z = target``, simplified."""
    f = SHAPES[name]
    first = DERIVATIVES.get(name, sp.diff(f, Z))
    slope = sp.cancel(sp.expand_log((P * first - (1 - P) * first.subs(Z, -Z)).subs(Z, target),
                                    force=True))
    return slope if slope == 0 else sp.simplify(slope)


@timed
def check_pair_targets(targets: dict | None = None) -> Check:
    """Every closed-form target ``z*(p)`` is a stationary point of the pair objective.

    The objectives are convex in ``σ(z)`` or in ``z`` (see :func:`check_convexity`), so
    stationary is minimal. Hinge (``max(0, 1 − z)``): at ``z* = 1`` for ``p ∈ (½, 1)`` the
    one-sided slopes are ``1 − 2p ≤ 0 ≤ 1 − p``, so 0 is a subgradient.

    Parameters
    ----------
    targets : dict, optional
        Replacement targets (name → expression in ``p``, ``epsilon``); the registry's are
        :data:`TARGETS`.

    Returns
    -------
    Check

    Examples
    --------
    >>> from psipo_exact.symbolic import check_pair_targets
    >>> check_pair_targets().holds
    True

    References
    ----------
    Tang et al. 2024, arXiv:2402.05749 (GPO); Azar et al., arXiv:2310.12036, Eq. 13.
    """
    chosen = {**TARGETS, **(targets or {})}
    bad = [name for name in SHAPES if _pair_slope(name, chosen[name]) != 0
           or (name in DERIVATIVES and not _derivative_holds(name))]
    # Hinge, z* = 1 for p ∈ (½, 1), written p = 1 − 1/(2 + v), v > 0: on (−1, 1) both terms of
    # p(1 − z)₊ + (1 − p)(1 + z)₊ are active, on (1, ∞) only the second.
    v = sp.Symbol("v", positive=True)
    left = sp.diff(P * (1 - Z) + (1 - P) * (1 + Z), Z).subs(P, 1 - 1 / (2 + v))
    right = sp.diff((1 - P) * (1 + Z), Z).subs(P, 1 - 1 / (2 + v))
    hinge_ok = bool(sp.simplify(-left).is_nonnegative and sp.simplify(right).is_nonnegative)
    holds = not bad and hinge_ok
    detail = (f"d/dz[p f(z) + (1-p) f(-z)] = 0 at z*(p) for {len(SHAPES) - len(bad)}/"
              f"{len(SHAPES)} losses{' (fails: ' + ', '.join(bad) + ')' if bad else ''}; "
              f"hinge: 0 in [1 - 2p, 1 - p] at z = 1 for p in (1/2, 1): {hinge_ok}")
    return Check("Per-pair targets z*(p) of the margin losses", "losses.targets; GPO Table 1",
                 holds, detail)


#: Losses the registry flags convex in h (margin losses; hinge is piecewise linear).
CONVEX = ("sigmoid", "cdpo", "robust", "exponential", "squared", "ipo", "truncated_quadratic")


@timed
def check_convexity(names: tuple = CONVEX) -> Check:
    """``f″(z) ≥ 0`` for every loss in ``names``, proved by sympy's sign analysis of the
    simplified second derivative (ε ∈ (0, ½) for cdpo/robust: their f″ is σ(z)σ(−z), free of
    ε). The truncated quadratic is checked on its piece ``z < 1`` (0 beyond).

    Parameters
    ----------
    names : tuple of str
        Losses claimed convex; the registry's are :data:`CONVEX`.

    Returns
    -------
    Check

    Examples
    --------
    >>> from psipo_exact.symbolic import check_convexity
    >>> check_convexity().holds
    True

    References
    ----------
    Tang et al. 2024, arXiv:2402.05749 (GPO), convex supervised losses.
    """
    results = {}
    for name in names:
        second = sp.simplify(sp.diff(SHAPES[name], Z, 2))
        results[name] = bool(second.is_nonnegative)
    robust_free = sp.simplify(sp.diff(SHAPES["robust"], Z, 2) - sp.diff(SHAPES["sigmoid"], Z, 2))
    holds = all(results.values()) and robust_free == 0
    failed = [name for name, ok in results.items() if not ok]
    detail = (f"f'' >= 0 proved for {sum(results.values())}/{len(names)} losses"
              f"{' (not: ' + ', '.join(failed) + ')' if failed else ''}; robust'' = "
              f"sigmoid'' = sigma(z) sigma(-z): {robust_free == 0}")
    return Check("Convex margin losses have f'' >= 0", "losses.pairwise (convex flags)", holds,
                 detail)


@timed
def check_equivalences(cdpo_target=None, robust_target=None, ipo_tau_factor=None) -> Check:
    """The family's equivalence theorems, as exact identities.

    * ``p f_cdpo(z) + (1 − p) f_cdpo(−z) = q sp(−z) + (1 − q) sp(z)``, ``q = (1 − 2ε)p + ε``;
    * ``p f_robust(z) + (1 − p) f_robust(−z) = q sp(−z) + (1 − q) sp(z)``,
      ``q = (p − ε)/(1 − 2ε)``;
    * ``(τh − 1)² = τ² (h − 1/(2 τ′))²`` with ``τ′ = τ/2``;
    * ``sigmoid`` of the log-ratios ``s = θ − logsumexp θ − log πref`` is Eq. 4 (the
      normaliser cancels in ``h``);
    * Proposition 4's analogue: each margin loss of ``h = (r_w − r_l)/τ`` has zero τ-derivative
      (``ipo`` after multiplying by τ²).

    Parameters
    ----------
    cdpo_target, robust_target : sympy.Expr, optional
        Replacement smoothed / de-noised preferences (in ``p``, ``epsilon``).
    ipo_tau_factor : sympy.Expr, optional
        Replacement for ½ in τ′ = τ/2.

    Returns
    -------
    Check

    Examples
    --------
    >>> from psipo_exact.symbolic import check_equivalences
    >>> check_equivalences().holds
    True

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4, 17 and Proposition 4 (App. B); Chowdhury et al.
    2024, arXiv:2403.00409.
    """
    q_cdpo = (1 - 2 * EPS) * P + EPS if cdpo_target is None else cdpo_target
    q_robust = (P - EPS) / (1 - 2 * EPS) if robust_target is None else robust_target
    half = sp.Rational(1, 2) if ipo_tau_factor is None else ipo_tau_factor

    def dpo_on(q):
        return q * _sp(-Z) + (1 - q) * _sp(Z)

    def pair(f):
        return P * f + (1 - P) * f.subs(Z, -Z)

    # Identities in z are checked through their z-derivative and value at z = 0 (exact).
    def same(a, b):
        diff = a - b
        return sp.simplify(sp.diff(diff, Z)) == 0 and sp.simplify(diff.subs(Z, 0)) == 0

    cdpo = same(pair(SHAPES["cdpo"]), dpo_on(q_cdpo))
    robust = same(pair(SHAPES["robust"]), dpo_on(q_robust))
    h, r_w, r_l = sp.symbols("h r_w r_l", real=True)
    tau2 = half * TAU
    squared = sp.expand((TAU * h - 1) ** 2 - TAU**2 * (h - 1 / (2 * tau2)) ** 2) == 0
    logits = sp.symbols("theta0 theta1", real=True)
    pi_ref = sp.symbols("piref0 piref1", positive=True)
    lse = sp.log(sp.exp(logits[0]) + sp.exp(logits[1]))
    s_w, s_l = (logits[k] - lse - sp.log(pi_ref[k]) for k in (0, 1))
    eq4 = sp.simplify(sp.expand_log(_sp(-TAU * (s_w - s_l))
                                    - _sp(-TAU * log_ratio_gap_expr(logits, pi_ref, 0, 1)),
                                    force=True)) == 0
    in_rewards = (r_w - r_l) / TAU
    tau_free = []
    for name, f in SHAPES.items():
        loss = f.subs(Z, TAU * in_rewards)
        if name == "ipo":  # (h − 1/(2τ))² = (z − ½)²/τ²: τ²·loss is τ-free
            loss = TAU**2 * (in_rewards - 1 / (2 * TAU)) ** 2
        tau_free.append(sp.simplify(sp.diff(loss, TAU)) == 0)
    holds = cdpo and robust and squared and eq4 and all(tau_free)
    detail = (f"cdpo = DPO on (1-2eps)p+eps: {cdpo}; robust = DPO on (p-eps)/(1-2eps): "
              f"{robust}; (tau h-1)^2 = tau^2 ipo(tau/2): {squared}; sigmoid of log-ratios = "
              f"Eq. 4: {eq4}; margin losses tau-free in rewards: {sum(tau_free)}/{len(tau_free)}")
    return Check("Equivalences: cdpo, robust, squared/ipo, Eq. 4, Prop. 4 analogue",
                 "Prop. 4, App. B; Eq. 4, 17; Chowdhury et al. 2024", holds, detail)


@timed
def check_f_divergence_scores(alpha_convention: str = "trl") -> Check:
    """TRL's scores φ are ``f′(e^s)`` up to an additive constant (``d/ds [φ − f′∘exp] = 0``).

    f: forward KL ``t − 1 − log t``, JS ``t log t − (1 + t) log((1 + t)/2)``, α-divergence
    ``(t^a − a t − (1 − a))/(a(a − 1))`` with symbolic ``a``.

    Parameters
    ----------
    alpha_convention : {"trl", "old"}
        ``"trl"``: TRL ≥ 0.29's score ``e^{(a−1)s}/(a − 1)``; ``"old"``: TRL ≤ 0.28's
        ``−e^{−a s}/a`` with the same coefficient (which is the ≥ 0.29 score at ``1 − a``,
        so it fails except at a = ½).

    Returns
    -------
    Check

    Examples
    --------
    >>> from psipo_exact.symbolic import check_f_divergence_scores
    >>> check_f_divergence_scores().holds
    True

    References
    ----------
    Wang et al. 2023, arXiv:2309.16240, Table 1; TRL ``f_divergence_type``.
    """
    s = sp.Symbol("s", real=True)
    t = sp.Symbol("t", positive=True)
    a = sp.Symbol("a", positive=True)
    generators = {
        "forward_kl": (t - 1 - sp.log(t), -sp.exp(-s)),
        "js_divergence": (t * sp.log(t) - (1 + t) * sp.log((1 + t) / 2), -_sp(-s)),
        "alpha_divergence": ((t**a - a * t - (1 - a)) / (a * (a - 1)),
                             sp.exp((a - 1) * s) / (a - 1) if alpha_convention == "trl"
                             else -sp.exp(-a * s) / a),
    }
    results = {}
    for name, (f, score) in generators.items():
        fprime = sp.diff(f, t).subs(t, sp.exp(s))
        results[name] = sp.simplify(sp.diff(score - fprime, s)) == 0
    holds = all(results.values())
    detail = ", ".join(f"{name}: {ok}" for name, ok in results.items())
    return Check("TRL's f-divergence scores are f'(e^s) + constant",
                 "Wang et al. 2023, Table 1; TRL f_divergence_type", holds, detail)


@timed
def check_sppo_lambert(branch: int = 0) -> Check:
    """``s = m − W(μ πref e^m/(2n))`` solves ``2n(s − m) + μ πref e^s = 0`` (``sppo_hard``'s
    stationarity with one multiplier μ > 0) on the principal branch.

    Parameters
    ----------
    branch : int
        0 (principal, the solver's); −1 is not real for a positive argument.

    Returns
    -------
    Check

    Examples
    --------
    >>> from psipo_exact.symbolic import check_sppo_lambert
    >>> check_sppo_lambert().holds
    True

    References
    ----------
    Wu et al. 2024 (SPPO), arXiv:2405.00675, Eq. 4.7.
    """
    m = sp.Symbol("m", real=True)
    n, mu, ref, w = sp.symbols("n mu piref w", positive=True)
    x = mu * ref * sp.exp(m) / (2 * n)
    # s = m − w with w e^w = x, i.e. e^{−w} = w/x: the residual is then rational in w.
    residual = sp.simplify(2 * n * ((m - w) - m) + mu * ref * sp.exp(m) * (w / x))
    values = {m: sp.Rational(1, 3), n: 2, mu: 3, ref: sp.Rational(1, 5)}
    root = complex(sp.LambertW(x.subs(values), branch).evalf())
    numeric = bool(abs(root.imag) < 1e-15 and abs(root.real * np.exp(root.real)
                                                  - float(x.subs(values))) < 1e-12)
    holds = bool(residual == 0) and numeric
    detail = (f"with w e^w = mu piref e^m/(2n), 2n(s - m) + mu piref e^s = {residual}; branch "
              f"{branch} at a positive argument gives w = {root:.6g} (real, w e^w = x: "
              f"{numeric})")
    return Check("sppo_hard: Lambert W root of the stationarity equation",
                 "SPPO (arXiv:2405.00675) Eq. 4.7; solvers._separable", holds, detail)
