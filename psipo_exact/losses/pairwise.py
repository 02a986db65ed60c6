"""The preference-loss family: one registry of per-datum pairwise losses, in TRL's conventions.

Convention (TRL's ``DPOTrainer``, ``trl/trainer/dpo_trainer.py``, completions of length one so
that per-token averaging is the identity): for a datum ``y_w ≻ y_l``,

* ``s_w = log π(y_w)/πref(y_w)`` and ``s_l = log π(y_l)/πref(y_l)`` (TRL's
  ``chosen_logratios``/``rejected_logratios``), ``h = s_w − s_l`` (the paper's ``h_π``; the
  softmax normaliser cancels in ``h``, not in ``s_w``, ``s_l``);
* ``τ`` is TRL's ``beta`` (the paper's τ, Eq. 4 and 17);
* ``u = φ(s)`` is TRL's score for ``f_divergence_type`` (:mod:`.f_divergence`; ``φ(s) = s``
  for the default ``reverse_kl``), and ``g = u_w − u_l`` its margin.

Every loss is a sum of terms ``c · g_k(a u_w + b u_l; τ)`` with ``(a, b)`` one of
``(1, −1)`` (the margin), ``(±1, 0)`` or ``(0, −1)`` (one score alone), each ``g_k`` a scalar
"shape" with exact first and second derivatives; TRL's ``apo_*`` losses read the raw
log-ratios ``s`` instead of ``u`` in some terms. So every value and derivative below comes from
one definition of each formula.

========================  =====================================================
name (alias)              ℓ(s_w, s_l), ``x = τ g``
========================  =====================================================
``sigmoid`` (``dpo``)     ``−log σ(x)`` (Eq. 4)
``hinge`` (``slic``)      ``max(0, 1 − x)``
``ipo``                   ``(g − 1/(2τ))²`` (Eq. 17)
``exo_pair``              ``KL(Bern(σ(x)) ‖ Bern(1 − ε))``
``nca_pair``              ``−log σ(τu_w) − ½ log σ(−τu_w) − ½ log σ(−τu_l)``
``robust``                ``[−(1−ε) log σ(x) + ε log σ(−x)]/(1 − 2ε)``
``bco_pair``              ``−log σ(τu_w) − log σ(−τu_l)``
``sppo_hard``             ``(u_w − 1/(2τ))² + (u_l + 1/(2τ))²``
``apo_zero``              ``1 − σ(τs_w) + σ(τs_l)`` (raw log-ratios)
``apo_down``              ``σ(τs_w) + 1 − σ(x)`` (``s_w`` raw)
``discopop``              ``−log σ(x) (1 − m) + e^{−x} m``, ``m = σ(x/δ)``
``cdpo``                  ``−(1−ε) log σ(x) − ε log σ(−x)``
``exponential``           ``e^{−x}`` (GPO)
``truncated_quadratic``   ``max(0, 1 − x)²`` (GPO)
``savage``                ``σ(−x)²`` (GPO)
``squared``               ``(x − 1)²`` (GPO)
========================  =====================================================

Parameters: ``label_smoothing`` ε ∈ [0, ½) for ``cdpo`` and ``robust``, ε ∈ (0, ½) for
``exo_pair``; ``discopop_tau`` δ > 0 for ``discopop``.
Every loss also takes ``f_divergence_type`` (default ``"reverse_kl"``) and
``f_alpha_divergence_coef`` (default 0.5). Defaults are TRL's: ``label_smoothing = 0``,
``discopop_tau = 0.05``; as in TRL, ``exo_pair`` requires ``label_smoothing > 0`` (the EXO
paper recommends 1e-3). ``cdpo`` is TRL's ``sigmoid`` with label smoothing before v0.29.

Interface for the simulator and solvers (vectorised, numpy broadcasting of ``s_w``, ``s_l``,
``tau``): every :class:`PairwiseLoss` ``L = PAIRWISE[name]`` has ``L.value(s_w, s_l, tau,
**params)``, ``L.grad(...) -> (∂ℓ/∂s_w, ∂ℓ/∂s_l)``, ``L.hessian(...) -> (∂²ℓ/∂s_w²,
∂²ℓ/∂s_w∂s_l, ∂²ℓ/∂s_l²)`` and ``L.is_margin(**params)``: True when ℓ depends on ``(s_w,
s_l)`` only through ``h`` (margin losses under ``reverse_kl``), so that ``∂ℓ/∂s_l =
−∂ℓ/∂s_w = −ℓ′(h)`` and the softmax normaliser's gradient cancels. For margin losses
``L.margin_value(h, tau, **params)`` and ``L.margin_grad`` give ``ℓ(h)`` and ``ℓ′(h)``.
In logits θ (``s_y = θ_y − logsumexp θ − log πref(y)``) the gradient of a sum of per-datum
losses is ``G − π Σ_y G_y`` per context, with ``G`` the scatter of ``∂ℓ/∂s`` onto the actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
from scipy.special import expit

from .. import _base, _checks
from .f_divergence import DEFAULT_ALPHA, ScoreTransform, score_transform


@dataclass(frozen=True)
class LossParams:
    """Validated parameters of a loss, TRL's names, with TRL's defaults filled in.

    Examples
    --------
    >>> from psipo_exact import losses
    >>> p = losses.pairwise("cdpo").parameters(label_smoothing=0.1)
    >>> p.label_smoothing, p.discopop_tau, p.f_divergence_type  # TRL's defaults filled in
    (0.1, 0.05, 'reverse_kl')

    References
    ----------
    TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """

    label_smoothing: float
    discopop_tau: float
    f_divergence_type: str
    f_alpha_divergence_coef: float
    transform: ScoreTransform


@dataclass(frozen=True)
class Shape:
    """A scalar loss shape ``g(x; τ)`` with its first and second derivatives in ``x``.

    Examples
    --------
    The logistic shape of ``sigmoid`` (Eq. 4): ``−log σ(τx)`` and its slope ``−τσ(−τx)``:

    >>> from psipo_exact import losses
    >>> shape = losses.pairwise("sigmoid").margin_shape()
    >>> p = losses.pairwise("sigmoid").parameters()
    >>> round(float(shape.value(0.0, 1.0, p)), 6), float(shape.d1(0.0, 2.0, p))
    (0.693147, -1.0)

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4; Tang et al. 2024, arXiv:2402.05749 (GPO).
    """

    value: Callable
    d1: Callable
    d2: Callable


@dataclass(frozen=True)
class Term:
    """``coef · shape(a u_w + b u_l; τ)``; ``raw`` terms read ``s`` instead of ``u = φ(s)``.

    Examples
    --------
    ``bco_pair`` is two one-score terms, ``−log σ(τu_w)`` and ``−log σ(−τu_l)``:

    >>> from psipo_exact import losses
    >>> [(t.coef, t.a, t.b) for t in losses.pairwise("bco_pair").terms]
    [(1.0, 1, 0), (1.0, 0, -1)]

    References
    ----------
    TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """

    coef: float
    shape: Shape
    a: int
    b: int
    raw: bool = False


def _sig(z):
    return expit(z)


def _full(c, *arrays):
    return np.full(np.broadcast(*arrays).shape, float(c))


# -- shapes: x is the argument, t = τ, p the LossParams ------------------------------------
def _logistic(x, t, p):
    return _base.softplus(-t * x)  # −log σ(τx), Eq. 4


def _logistic_d1(x, t, p):
    return -t * expit(-t * x)


def _logistic_d2(x, t, p):
    return t * t * expit(t * x) * expit(-t * x)


def _cdpo(x, t, p):
    e = p.label_smoothing
    return (1.0 - e) * _base.softplus(-t * x) + e * _base.softplus(t * x)


def _cdpo_d1(x, t, p):
    return t * (p.label_smoothing - expit(-t * x))


def _robust(x, t, p):
    e = p.label_smoothing
    return ((1.0 - e) * _base.softplus(-t * x) - e * _base.softplus(t * x)) / (1.0 - 2.0 * e)


def _robust_d1(x, t, p):
    e = p.label_smoothing
    return -t * (expit(-t * x) + e / (1.0 - 2.0 * e))


def _hinge(x, t, p):
    return np.maximum(0.0, 1.0 - t * x)


def _hinge_d1(x, t, p):
    return -t * (t * x < 1.0)  # the right derivative at the kink


def _hinge_d2(x, t, p):
    return _full(0.0, x, t)


def _ipo(x, t, p):
    return (x - 0.5 / t) ** 2  # (h − τ⁻¹/2)², Eq. 17


def _ipo_d1(x, t, p):
    return 2.0 * (x - 0.5 / t)


def _ipo_d2(x, t, p):
    return _full(2.0, x, t)


def _squared(x, t, p):
    return (t * x - 1.0) ** 2


def _squared_d1(x, t, p):
    return 2.0 * t * (t * x - 1.0)


def _squared_d2(x, t, p):
    return _full(1.0, x, t) * (2.0 * t * t)


def _exponential(x, t, p):
    return np.exp(-t * x)


def _exponential_d1(x, t, p):
    return -t * np.exp(-t * x)


def _exponential_d2(x, t, p):
    return t * t * np.exp(-t * x)


def _truncated(x, t, p):
    return np.maximum(0.0, 1.0 - t * x) ** 2


def _truncated_d1(x, t, p):
    return -2.0 * t * np.maximum(0.0, 1.0 - t * x)


def _truncated_d2(x, t, p):
    return 2.0 * t * t * (t * x < 1.0)


def _savage(x, t, p):
    return expit(-t * x) ** 2


def _savage_d1(x, t, p):
    z = t * x
    return -2.0 * t * expit(z) * expit(-z) ** 2


def _savage_d2(x, t, p):
    z = t * x
    return -2.0 * t * t * expit(z) * expit(-z) ** 2 * (expit(-z) - 2.0 * expit(z))


def _exo(x, t, p):
    z, e = t * x, p.label_smoothing
    return (expit(z) * (-_base.softplus(-z) - np.log1p(-e))
            + expit(-z) * (-_base.softplus(z) - np.log(e)))


def _exo_d1(x, t, p):
    z, e = t * x, p.label_smoothing
    return t * expit(z) * expit(-z) * (z - (np.log1p(-e) - np.log(e)))


def _exo_d2(x, t, p):
    z, e = t * x, p.label_smoothing
    q, qbar = expit(z), expit(-z)
    return t * t * q * qbar * ((qbar - q) * (z - (np.log1p(-e) - np.log(e))) + 1.0)


def _discopop_parts(x, t, p):
    """``z``, ``m̄ = σ(−z/δ)``, ``m m̄``, ``e^{−z} m``, ``e^{−z} m m̄``, ``A = −log σ(z)``, δ."""
    z, d = t * x, p.discopop_tau
    with np.errstate(over="ignore"):
        em = np.exp(-z - _base.softplus(-z / d))
        emm = np.exp(-z - _base.softplus(-z / d) - _base.softplus(z / d))
    return z, expit(-z / d), expit(z / d) * expit(-z / d), em, emm, _base.softplus(-z), d


def _discopop(x, t, p):
    z, mbar, _, em, _, a, _ = _discopop_parts(x, t, p)
    return a * mbar + em  # (1 − m) (−log σ(z)) + m e^{−z}, DiscoPOP Eq. 5


def _discopop_d1(x, t, p):
    z, mbar, mm, em, emm, a, d = _discopop_parts(x, t, p)
    return t * (-expit(-z) * mbar - em + (emm - a * mm) / d)


def _discopop_d2(x, t, p):
    z, mbar, mm, em, emm, a, d = _discopop_parts(x, t, p)
    m = expit(z / d)
    return t * t * (expit(z) * expit(-z) * mbar + 2.0 * expit(-z) * mm / d + em
                    - 2.0 * emm / d + (emm - a * mm) * (mbar - m) / d**2)


def _sigprob(x, t, p):
    return expit(-t * x)  # 1 − σ(τx)


def _sigprob_d1(x, t, p):
    return -t * expit(t * x) * expit(-t * x)


def _sigprob_d2(x, t, p):
    z = t * x
    return t * t * expit(z) * expit(-z) * (expit(z) - expit(-z))


LOGISTIC = Shape(_logistic, _logistic_d1, _logistic_d2)
_SHAPES = {
    "sigmoid": LOGISTIC,
    "cdpo": Shape(_cdpo, _cdpo_d1, _logistic_d2),
    "robust": Shape(_robust, _robust_d1, _logistic_d2),
    "hinge": Shape(_hinge, _hinge_d1, _hinge_d2),
    "ipo": Shape(_ipo, _ipo_d1, _ipo_d2),
    "squared": Shape(_squared, _squared_d1, _squared_d2),
    "exponential": Shape(_exponential, _exponential_d1, _exponential_d2),
    "truncated_quadratic": Shape(_truncated, _truncated_d1, _truncated_d2),
    "savage": Shape(_savage, _savage_d1, _savage_d2),
    "exo_pair": Shape(_exo, _exo_d1, _exo_d2),
    "discopop": Shape(_discopop, _discopop_d1, _discopop_d2),
}
_SIGPROB = Shape(_sigprob, _sigprob_d1, _sigprob_d2)


@dataclass(frozen=True)
class PairwiseLoss:
    """One registered per-datum loss ``ℓ(s_w, s_l; τ)`` (see the module docstring).

    Attributes
    ----------
    name : str
        TRL's ``loss_type`` (or the GPO name).
    formula : str
        The formula in the module's notation.
    reference : str
        Where the loss is defined.
    terms : tuple of Term
    params : tuple of str
        Loss-specific parameters (besides ``f_divergence_type``, ``f_alpha_divergence_coef``).
    convex : bool
        Convex in the margin ``h`` (margin losses under ``reverse_kl``); False otherwise.

    Examples
    --------
    >>> from psipo_exact import losses
    >>> ipo = losses.pairwise("ipo")
    >>> ipo.margin, ipo.convex, ipo.params
    (True, True, ())
    >>> float(ipo.value(1.0, 0.0, 0.5))  # (h − 1/(2τ))² at its target h = 1
    0.0

    References
    ----------
    TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """

    name: str
    formula: str
    reference: str
    terms: tuple
    params: tuple = ()
    convex: bool = False

    @property
    def margin(self) -> bool:
        """ℓ depends on ``(s_w, s_l)`` only through ``h`` under ``reverse_kl``.

        Examples
        --------
        >>> from psipo_exact import losses
        >>> losses.pairwise("hinge").margin, losses.pairwise("nca_pair").margin
        (True, False)

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        return len(self.terms) == 1 and (self.terms[0].a, self.terms[0].b) == (1, -1)

    def parameters(self, **params) -> LossParams:
        """Validate ``params`` (TRL names) and fill in TRL's defaults.

        Raises
        ------
        ValueError
            On an unknown parameter name (the message lists the valid ones) or a value out
            of range (the message names the parameter and the value).

        Examples
        --------
        >>> from psipo_exact import losses
        >>> losses.pairwise("discopop").parameters().discopop_tau  # TRL's default
        0.05
        >>> losses.pairwise("hinge").parameters(beta=1.0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown parameter 'beta' for loss 'hinge'; its parameters are [...]

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        allowed = self.params + ("f_divergence_type", "f_alpha_divergence_coef")
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r} for loss {self.name!r}; its "
                             f"parameters are {list(allowed)}")
        smoothing = params.get("label_smoothing", 0.0)
        if "label_smoothing" in self.params:
            exo = self.name == "exo_pair"
            if exo and smoothing == 0.0:
                raise ValueError("label_smoothing = 0.0, must be in (0, 0.5) for exo_pair "
                                 "(as in TRL; the EXO paper recommends 1e-3)")
            smoothing = _checks.real_in_range(smoothing, "label_smoothing", 0.0, 0.5,
                                              closed_low=not exo)
        discopop_tau = params.get("discopop_tau", 0.05)
        if "discopop_tau" in self.params:
            discopop_tau = _checks.real_in_range(discopop_tau, "discopop_tau", 0.0, np.inf,
                                                 closed_low=False)
        f_type = params.get("f_divergence_type", "reverse_kl")
        coef = params.get("f_alpha_divergence_coef", DEFAULT_ALPHA)
        transform = score_transform(f_type, coef)
        return LossParams(smoothing, discopop_tau, f_type, float(coef), transform)

    def is_margin(self, **params) -> bool:
        """True when ℓ depends only on ``h = s_w − s_l`` with these parameters.

        Examples
        --------
        >>> from psipo_exact import losses
        >>> loss = losses.pairwise("sigmoid")
        >>> loss.is_margin(), loss.is_margin(f_divergence_type="js_divergence")
        (True, False)

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        transform = score_transform(params.get("f_divergence_type", "reverse_kl"),
                                    params.get("f_alpha_divergence_coef", DEFAULT_ALPHA))
        return self.margin and transform.identity

    def _scores(self, s_w, s_l, p: LossParams, order: int):
        """``[(u, u′, u″) for raw, for transformed]`` of each side, as needed."""
        tr = p.transform
        out = {}
        for raw in {term.raw for term in self.terms}:
            if raw or tr.identity:
                one = (s_w, np.ones_like(s_w), np.zeros_like(s_w)), (
                    s_l, np.ones_like(s_l), np.zeros_like(s_l))
            else:
                one = tuple((tr.score(s), tr.d1(s) if order else None,
                             tr.d2(s) if order > 1 else None) for s in (s_w, s_l))
            out[raw] = one
        return out

    def evaluate(self, s_w, s_l, tau, p: LossParams, order: int) -> tuple[np.ndarray, ...]:
        """Value (``order=0``, a 1-tuple), gradient (1) or Hessian (2) in ``(s_w, s_l)``, with
        parameters already validated by :meth:`parameters` (the solvers' fast path).

        Zero coefficients ``a``, ``b`` are skipped (never ``0 · ∞``).

        Examples
        --------
        >>> from psipo_exact import losses
        >>> loss = losses.pairwise("sigmoid")
        >>> [float(d) for d in loss.evaluate(0.0, 0.0, 2.0, loss.parameters(), 1)]
        [-1.0, 1.0]

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        s_w, s_l = np.asarray(s_w, dtype=float), np.asarray(s_l, dtype=float)
        t = np.asarray(tau, dtype=float)
        totals = [0.0] * (order + 1)
        with np.errstate(over="ignore", invalid="ignore"):  # ±∞ scores: their limits
            scores = self._scores(s_w, s_l, p, order)
            for term in self.terms:
                (uw, dw, ddw), (ul, dl, ddl) = scores[term.raw]
                parts = [(term.a, uw, dw, ddw), (term.b, ul, dl, ddl)]
                parts = [(c, u, d, dd) if c else None for c, u, d, dd in parts]
                x = sum(c * u for c, u, _, _ in filter(None, parts))
                if order == 0:
                    totals[0] = totals[0] + term.coef * term.shape.value(x, t, p)
                    continue
                g1 = term.coef * term.shape.d1(x, t, p)
                g2 = term.coef * term.shape.d2(x, t, p) if order == 2 else None
                for k, part in enumerate(parts):
                    if part is None:
                        continue
                    c, _, d, dd = part
                    if order == 1:
                        totals[k] = totals[k] + g1 * c * d
                        continue
                    totals[2 * k] = totals[2 * k] + g2 * (c * d) ** 2 + g1 * c * dd
                if order == 2 and parts[0] and parts[1]:
                    totals[1] = totals[1] + g2 * term.a * term.b * dw * dl
        shape = np.broadcast(s_w, s_l, t).shape
        return tuple(np.broadcast_to(np.asarray(v, dtype=float), shape) for v in totals)

    def value(self, s_w, s_l, tau, **params) -> np.ndarray:
        """``ℓ(s_w, s_l; τ)`` per datum (numpy broadcasting).

        Examples
        --------
        >>> from psipo_exact import losses
        >>> round(float(losses.pairwise("sigmoid").value(0.0, 0.0, 1.0)), 6)  # log 2
        0.693147

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        return self.evaluate(s_w, s_l, tau, self.parameters(**params), 0)[0]

    def grad(self, s_w, s_l, tau, **params) -> tuple[np.ndarray, np.ndarray]:
        """``(∂ℓ/∂s_w, ∂ℓ/∂s_l)`` per datum.

        Examples
        --------
        >>> from psipo_exact import losses
        >>> [float(d) for d in losses.pairwise("bco_pair").grad(0.0, 0.0, 2.0)]  # ∓τ/2
        [-1.0, 1.0]

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        return self.evaluate(s_w, s_l, tau, self.parameters(**params), 1)

    def hessian(self, s_w, s_l, tau, **params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(∂²ℓ/∂s_w², ∂²ℓ/∂s_w∂s_l, ∂²ℓ/∂s_l²)`` per datum.

        Examples
        --------
        >>> from psipo_exact import losses
        >>> [float(d) for d in losses.pairwise("ipo").hessian(0.3, -0.2, 1.0)]  # (2, −2, 2)
        [2.0, -2.0, 2.0]

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        return self.evaluate(s_w, s_l, tau, self.parameters(**params), 2)

    def margin_shape(self) -> Shape:
        """The shape ``ℓ(h)`` of a margin loss (``reverse_kl``).

        Examples
        --------
        >>> from psipo_exact import losses
        >>> losses.pairwise("squared").margin_shape() is losses.pairwise("ipo").margin_shape()
        False

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        if not self.margin:
            raise ValueError(f"loss {self.name!r} is not a margin loss: it depends on s_w and "
                             "s_l separately")
        return self.terms[0].shape

    def margin_value(self, h, tau, **params) -> np.ndarray:
        """``ℓ(h; τ)`` of a margin loss, ``h = s_w − s_l``.

        Examples
        --------
        >>> from psipo_exact import losses
        >>> float(losses.pairwise("squared").margin_value(2.0, 0.5))  # (τh − 1)² = 0
        0.0

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        return self.margin_shape().value(h, tau, self.parameters(**params))

    def margin_grad(self, h, tau, **params) -> np.ndarray:
        """``ℓ′(h; τ)`` of a margin loss.

        Examples
        --------
        >>> from psipo_exact import losses
        >>> float(losses.pairwise("exponential").margin_grad(0.0, 2.0))  # −τ e^{−τh}
        -2.0

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        return self.margin_shape().d1(h, tau, self.parameters(**params))

    def margin_curvature(self, h, tau, **params) -> np.ndarray:
        """``ℓ″(h; τ)`` of a margin loss.

        Examples
        --------
        >>> from psipo_exact import losses
        >>> float(losses.pairwise("ipo").margin_curvature(0.7, 3.0))
        2.0

        References
        ----------
        TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
        """
        return self.margin_shape().d2(h, tau, self.parameters(**params))


def _margin(name, formula, reference, params=(), convex=True):
    return PairwiseLoss(name, formula, reference, (Term(1.0, _SHAPES[name], 1, -1),),
                        params, convex)


_TRL = "TRL DPOTrainer loss_type"
_GPO = "GPO, Tang et al. 2024, arXiv:2402.05749"
_SMOOTH = ("label_smoothing",)

#: The registry, in TRL's order of ``loss_type``, then ``discopop``, ``cdpo`` and GPO's.
PAIRWISE: dict[str, PairwiseLoss] = {
    loss.name: loss for loss in (
        _margin("sigmoid", "-log sigmoid(tau h)", f"{_TRL} 'sigmoid'; Eq. 4 of arXiv:2310.12036"),
        _margin("hinge", "max(0, 1 - tau h)", f"{_TRL} 'hinge' (SLiC, arXiv:2305.10425)"),
        _margin("ipo", "(h - 1/(2 tau))^2", f"{_TRL} 'ipo'; Eq. 17 of arXiv:2310.12036"),
        _margin("exo_pair", "KL(Bern(sigmoid(tau h)) || Bern(1 - eps))",
                f"{_TRL} 'exo_pair' (EXO, arXiv:2402.00856, Eq. 16)", _SMOOTH, convex=False),
        PairwiseLoss("nca_pair", "-log s(tau u_w) - log s(-tau u_w)/2 - log s(-tau u_l)/2",
                     f"{_TRL} 'nca_pair' (NCA, arXiv:2402.05369)",
                     (Term(1.0, LOGISTIC, 1, 0), Term(0.5, LOGISTIC, -1, 0),
                      Term(0.5, LOGISTIC, 0, -1))),
        _margin("robust", "(-(1-eps) log s(tau h) + eps log s(-tau h)) / (1 - 2 eps)",
                f"{_TRL} 'robust' (Chowdhury et al. 2024, arXiv:2403.00409)", _SMOOTH),
        PairwiseLoss("bco_pair", "-log s(tau u_w) - log s(-tau u_l)",
                     f"{_TRL} 'bco_pair' (BCO, arXiv:2404.04656)",
                     (Term(1.0, LOGISTIC, 1, 0), Term(1.0, LOGISTIC, 0, -1))),
        PairwiseLoss("sppo_hard", "(u_w - 1/(2 tau))^2 + (u_l + 1/(2 tau))^2",
                     f"{_TRL} 'sppo_hard' (SPPO, arXiv:2405.00675, Eq. 4.7)",
                     (Term(1.0, _SHAPES["ipo"], 1, 0), Term(1.0, _SHAPES["ipo"], 0, -1))),
        PairwiseLoss("apo_zero", "1 - s(tau s_w) + s(tau s_l)",
                     f"{_TRL} 'apo_zero' (APO, arXiv:2408.06266, Eq. 7)",
                     (Term(1.0, _SIGPROB, 1, 0, raw=True), Term(1.0, _SIGPROB, 0, -1, raw=True))),
        PairwiseLoss("apo_down", "s(tau s_w) + 1 - s(tau h)",
                     f"{_TRL} 'apo_down' (APO, arXiv:2408.06266, Eq. 8)",
                     (Term(1.0, _SIGPROB, -1, 0, raw=True), Term(1.0, _SIGPROB, 1, -1))),
        _margin("discopop", "-log s(x)(1 - s(x/d)) + exp(-x) s(x/d), x = tau h",
                f"{_TRL} 'discopop' (DiscoPOP, arXiv:2406.08414, Eq. 5)", ("discopop_tau",),
                convex=False),
        _margin("cdpo", "-(1-eps) log s(tau h) - eps log s(-tau h)",
                "conservative DPO; TRL 'sigmoid' with label_smoothing up to v0.28", _SMOOTH),
        _margin("exponential", "exp(-tau h)", _GPO),
        _margin("truncated_quadratic", "max(0, 1 - tau h)^2", _GPO),
        _margin("savage", "sigmoid(-tau h)^2", _GPO, convex=False),
        _margin("squared", "(tau h - 1)^2", _GPO),
    )
}
#: TRL's aliases: ``dpo`` is ``sigmoid`` (Eq. 4), ``slic`` is ``hinge``.
PAIRWISE_ALIASES = {"dpo": "sigmoid", "slic": "hinge"}
#: The registered names (TRL's where TRL has them; aliases not repeated).
PAIRWISE_LOSSES: tuple[str, ...] = tuple(PAIRWISE)
#: Parameter names any loss accepts (TRL's), and the TRL ``f_divergence_type`` values.
PARAMETER_NAMES = ("label_smoothing", "discopop_tau", "f_divergence_type",
                   "f_alpha_divergence_coef")


def pairwise(name: str) -> PairwiseLoss:
    """The :class:`PairwiseLoss` registered as ``name`` (aliases ``dpo``, ``slic`` allowed).

    Parameters
    ----------
    name : str
        One of :data:`PAIRWISE_LOSSES` or an alias (case-insensitive).

    Returns
    -------
    PairwiseLoss

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If ``name`` is not registered; the message lists the valid names.

    Examples
    --------
    >>> from psipo_exact import losses
    >>> losses.pairwise("dpo").name, losses.pairwise("slic").is_margin()
    ('sigmoid', True)

    References
    ----------
    TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """
    if not isinstance(name, str):
        raise TypeError(f"name (of a loss) must be a string, got {type(name).__name__} "
                        f"{name!r}")
    key = PAIRWISE_ALIASES.get(name.lower(), name.lower())
    if key not in PAIRWISE:
        raise ValueError(f"name = {name!r} is not a registered loss, must be one of "
                         f"{list(PAIRWISE_LOSSES)} (or an "
                         f"alias: {', '.join(f'{a} = {b}' for a, b in PAIRWISE_ALIASES.items())})")
    return PAIRWISE[key]


def pairwise_loss(name: str, chosen_logratio, rejected_logratio, tau, **params) -> np.ndarray:
    """Per-datum loss ``ℓ(s_w, s_l; τ)`` in TRL's conventions (module docstring's table).

    Parameters
    ----------
    name : str
        A registered loss (:data:`PAIRWISE_LOSSES`) or alias.
    chosen_logratio, rejected_logratio : array_like
        ``s_w = log π(y_w)/πref(y_w)`` and ``s_l`` (TRL's ``chosen_logratios``,
        ``rejected_logratios``); broadcast together with ``tau``.
    tau : float or array_like
        τ > 0 (TRL's ``beta``).
    **params
        ``label_smoothing``, ``discopop_tau``, ``f_divergence_type``,
        ``f_alpha_divergence_coef`` where the loss takes them (TRL's defaults otherwise).

    Returns
    -------
    ndarray
        One value per datum (the broadcast shape).

    Raises
    ------
    ValueError
        On an unknown loss or parameter, a parameter out of range, τ ≤ 0, NaN input, or a
        value that is not representable (``inf − inf`` from overflowing inputs).

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact import losses
    >>> float(losses.pairwise_loss("sigmoid", 0.0, 0.0, 0.1))  # log 2 at h = 0
    0.6931471805599453
    >>> float(losses.pairwise_loss("ipo", 1.0, 0.0, 0.5))  # (h − 1/(2τ))² = 0
    0.0

    References
    ----------
    TRL ``DPOTrainer.dpo_loss``; Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """
    loss = pairwise(name)
    s_w = _checks.as_float_array(chosen_logratio, "chosen_logratio", allow_inf=True)
    s_l = _checks.as_float_array(rejected_logratio, "rejected_logratio", allow_inf=True)
    t = _checks.tau(tau)
    _checks.broadcastable(("chosen_logratio", s_w.shape), ("rejected_logratio", s_l.shape),
                          ("tau", t.shape))
    return defined(loss.value(s_w, s_l, t, **params), loss.name)


def pairwise_derivatives(name: str, chosen_logratio, rejected_logratio, tau, *, order: int = 1,
                         **params) -> tuple[np.ndarray, ...]:
    """First (``order=1``) or second (``order=2``) derivatives of ``ℓ`` in ``(s_w, s_l)``.

    Parameters
    ----------
    name, chosen_logratio, rejected_logratio, tau, **params
        As for :func:`pairwise_loss`.
    order : {1, 2}

    Returns
    -------
    tuple of ndarray
        ``(∂ℓ/∂s_w, ∂ℓ/∂s_l)`` or ``(∂²ℓ/∂s_w², ∂²ℓ/∂s_w∂s_l, ∂²ℓ/∂s_l²)``. For ``hinge``
        and ``truncated_quadratic`` at the kink ``τh = 1``, the right derivatives.

    Raises
    ------
    ValueError
        As :func:`pairwise_loss`, or ``order`` not 1 or 2.

    Examples
    --------
    >>> from psipo_exact import losses
    >>> [float(d) for d in losses.pairwise_derivatives("sigmoid", 0.0, 0.0, 2.0)]
    [-1.0, 1.0]

    References
    ----------
    TRL ``DPOTrainer.dpo_loss``; Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """
    order = _checks.positive_int(order, "order")
    if order not in (1, 2):
        raise ValueError(f"order = {order!r}, must be 1 or 2")
    loss = pairwise(name)
    s_w = _checks.as_float_array(chosen_logratio, "chosen_logratio", allow_inf=True)
    s_l = _checks.as_float_array(rejected_logratio, "rejected_logratio", allow_inf=True)
    t = _checks.tau(tau)
    method = loss.grad if order == 1 else loss.hessian
    return tuple(defined(d, loss.name) for d in method(s_w, s_l, t, **params))


def defined(x: np.ndarray, name: str) -> np.ndarray:
    """``x``, or a ValueError if float overflow made it NaN (``inf − inf``).

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact.losses.pairwise import defined
    >>> defined(np.array([1.0, np.inf]), "ipo")
    array([ 1., inf])
    >>> defined(np.array([np.nan]), "ipo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the ipo loss or its gradient is not representable (inf - inf): ...

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 and 17 (their float evaluation).
    """
    if np.isnan(x).any():
        raise ValueError(
            f"the {name} loss or its gradient is not representable (inf - inf): the "
            "log-ratios, logits or 1/tau are too close to the float maximum"
        )
    return x


def margin_link(name: str) -> tuple[Callable, Callable]:
    """``(ℓ(h, τ), ℓ′(h, τ))`` of a parameter-free margin loss, for :data:`~.empirical.LINKS`.

    Examples
    --------
    >>> from psipo_exact.losses.pairwise import margin_link
    >>> value, grad = margin_link("ipo")
    >>> float(value(0.25, 2.0)), float(grad(0.25, 2.0))  # IPO at its target 1/(2τ)
    (0.0, 0.0)

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """
    loss = pairwise(name)
    p = loss.parameters()
    shape = loss.margin_shape()
    return partial(_call, shape.value, p), partial(_call, shape.d1, p)


def _call(fn, p, h, tau):
    return fn(h, tau, p)
