"""The per-datum loss interface of :func:`psipo_exact.simulate.simulate`.

A pairwise loss is ``ℓ(s_w, s_l; τ)`` per datum, with ``s_y = log π(y) − log πref(y)`` the log
ratio of the policy to the reference (Azar et al., arXiv:2310.12036, Eq. 4 and 17 are the
cases ``ℓ = f(s_w − s_l)``). The simulator needs only the two partial derivatives
``∂ℓ/∂s_w`` and ``∂ℓ/∂s_l`` as vectorised functions of ``(s_w, s_l, τ)``, and whether
``ℓ`` depends on the margin ``h = s_w − s_l`` alone (see :class:`PairwiseLoss`). The LINKS
of :mod:`psipo_exact.losses` are margin losses; :func:`from_link` adapts one. Every loss of
the preference-loss family (:data:`psipo_exact.losses.PAIRWISE`, TRL's ``loss_type`` names)
is adapted by :func:`from_registry` from the registry's exact first derivatives in
``(s_w, s_l)``: margin losses (under ``reverse_kl``) as ``margin_only``, the
separate-log-ratio losses (``nca_pair``, ``bco_pair``, ``sppo_hard``, ``apo_zero``,
``apo_down``, and every loss under another ``f_divergence_type``) with both derivatives, so
that the simulator keeps the softmax normaliser's gradient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from ..losses import LINKS, PAIRWISE_ALIASES, PAIRWISE_LOSSES, Link, pairwise, resolve_link


@dataclass(frozen=True)
class PairwiseLoss:
    """Derivatives of a per-datum loss ``ℓ(s_w, s_l; τ)`` for the simulator's gradient.

    With ``π = softmax(θ)`` (per context) and ``s_y = θ_y − log Σ_z e^{θ_z} − log πref(y)``,
    ``∂s_y/∂θ = e_y − π``, so a datum's gradient in the logits is
    ``∂ℓ/∂s_w (e_w − π) + ∂ℓ/∂s_l (e_l − π)``. When ``margin_only`` is True, ℓ depends on
    ``h = s_w − s_l`` only: then ``∂ℓ/∂s_l = −∂ℓ/∂s_w``, the π terms cancel, the gradient is
    ``ℓ′(h)(e_w − e_l)`` and the simulator evaluates ``d_winner(h, 0.0, τ)`` with the margin
    computed as ``(θ_w − θ_l) − (log πref(w) − log πref(l))`` (no normaliser, exact bits of
    Eq. 4 and 17 as :data:`psipo_exact.losses.LINKS` compute them).

    Attributes
    ----------
    name : str
        Label of the loss axis of the result.
    d_winner : callable
        ``(s_w, s_l, tau) -> ∂ℓ/∂s_w``, element-wise on broadcast arrays.
    d_loser : callable or None
        ``(s_w, s_l, tau) -> ∂ℓ/∂s_l``; None (and ignored) when ``margin_only``.
    margin_only : bool
        Whether ℓ depends on ``s_w − s_l`` alone.
    d_margin : callable, optional
        ``(h, tau) -> ℓ′(h)`` for a margin loss, if cheaper than ``d_winner(h, 0.0, tau)``
        (which is the default); it must give the same values.

    Examples
    --------
    >>> toy = PairwiseLoss("toy", lambda w, l, t: 2 * (w - 1), lambda w, l, t: 2 * (l + 1),
    ...                    margin_only=False)
    >>> float(toy.d_winner(np.array(3.0), np.array(0.0), 1.0))
    4.0

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 (DPO) and Eq. 17 (IPO) as margin losses.
    """

    name: str
    d_winner: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    d_loser: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None
    margin_only: bool = True
    d_margin: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string, got {self.name!r}")
        if not callable(self.d_winner):
            raise TypeError(f"d_winner must be callable, got {type(self.d_winner).__name__}")
        if not isinstance(self.margin_only, bool):
            raise TypeError(f"margin_only must be a bool, got {type(self.margin_only).__name__}")
        if not self.margin_only and not callable(self.d_loser):
            raise TypeError(f"d_loser must be callable when margin_only is False, got "
                            f"{type(self.d_loser).__name__}")
        if self.margin_only and self.d_margin is None:
            d_winner = self.d_winner
            object.__setattr__(self, "d_margin", lambda h, tau: d_winner(h, 0.0, tau))


def from_link(link: Link) -> PairwiseLoss:
    """The :class:`PairwiseLoss` of a margin link ``ℓ(h)``: ``∂ℓ/∂s_w = ℓ′(s_w − s_l)``.

    ``d_margin`` is ``link.grad`` itself, so the gradient has the bits of ``link.grad(h, τ)``
    (as ``d_winner(h, 0.0, τ)`` would too: ``h − 0.0 = h`` exactly).

    Parameters
    ----------
    link : psipo_exact.losses.Link

    Returns
    -------
    PairwiseLoss
        ``margin_only`` True.

    Examples
    --------
    >>> from psipo_exact.losses import LINKS
    >>> ipo = from_link(LINKS["ipo"])
    >>> float(ipo.d_winner(np.array(1.5), np.array(0.5), 0.5))  # 2 (h − 1/(2τ)), h = 1
    0.0

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 and Eq. 17.
    """
    grad = link.grad
    return PairwiseLoss(link.name, lambda s_w, s_l, tau: grad(s_w - s_l, tau), d_margin=grad)


def _margin_derivative(d1, p, h, tau):
    return d1(h, tau, p)


def _margin_of_scores(d1, p, s_w, s_l, tau):
    return d1(s_w - s_l, tau, p)


def _score_derivative(loss, p, side, s_w, s_l, tau):
    return loss.evaluate(s_w, s_l, tau, p, 1)[side]


def from_registry(name: str, **params) -> PairwiseLoss:
    """The :class:`PairwiseLoss` of a loss of the preference-loss family.

    The derivatives are the registry's own (:meth:`psipo_exact.losses.PairwiseLoss.grad`,
    one definition per formula): a margin loss (``is_margin(**params)``) becomes
    ``margin_only`` with ``d_margin = ℓ′(h; τ)``; any other loss gets ``∂ℓ/∂s_w`` and
    ``∂ℓ/∂s_l`` of the separate log-ratios, so the simulator adds the softmax normaliser's
    gradient ``−π Σ (∂ℓ/∂s_w + ∂ℓ/∂s_l)``.

    Parameters
    ----------
    name : str
        A registered loss (:data:`psipo_exact.losses.PAIRWISE_LOSSES`) or alias (``dpo``,
        ``slic``), case-insensitive.
    **params
        The loss's parameters by TRL name, with TRL's defaults (``label_smoothing``,
        ``discopop_tau``, ``f_divergence_type``, ``f_alpha_divergence_coef``).

    Returns
    -------
    PairwiseLoss
        Named by the registry's name, followed by the parameters given, e.g.
        ``"cdpo(label_smoothing=0.1)"``.

    Raises
    ------
    TypeError, ValueError
        On an unknown loss or parameter, or a parameter out of range (naming it and its value).

    Examples
    --------
    ``bco_pair`` = −log σ(τ s_w) − log σ(−τ s_l): at ``s_w = s_l = 0`` its derivatives are
    ``∓τ/2``; it is not a margin loss:

    >>> bco = from_registry("bco_pair")
    >>> bco.name, bco.margin_only
    ('bco_pair', False)
    >>> float(bco.d_winner(0.0, 0.0, 2.0)), float(bco.d_loser(0.0, 0.0, 2.0))
    (-1.0, 1.0)
    >>> from_registry("cdpo", label_smoothing=0.1).name
    'cdpo(label_smoothing=0.1)'

    References
    ----------
    TRL ``DPOTrainer`` (``loss_type``); Azar et al., arXiv:2310.12036, Eq. 4 and 17.
    """
    loss = pairwise(name)
    p = loss.parameters(**params)
    label = loss.name + ("(" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"
                         if params else "")
    if loss.is_margin(**params):
        d1 = loss.margin_shape().d1
        return PairwiseLoss(label, partial(_margin_of_scores, d1, p),
                            d_margin=partial(_margin_derivative, d1, p))
    return PairwiseLoss(label, partial(_score_derivative, loss, p, 0),
                        partial(_score_derivative, loss, p, 1), margin_only=False)


def is_loss_spec(loss) -> bool:
    """Whether ``loss`` is one ``(name, params)`` pair (a name and a mapping of parameters).

    Examples
    --------
    >>> from psipo_exact.simulate.pairwise import is_loss_spec
    >>> is_loss_spec(("cdpo", {"label_smoothing": 0.1})), is_loss_spec(("dpo", "ipo"))
    (True, False)

    References
    ----------
    TRL ``DPOTrainer`` (``loss_type`` and its parameters); Azar et al., arXiv:2310.12036,
    Sec. 5.4.
    """
    return (isinstance(loss, tuple) and len(loss) == 2 and isinstance(loss[0], str)
            and isinstance(loss[1], Mapping))


def resolve_loss(loss) -> PairwiseLoss:
    """A :class:`PairwiseLoss` from a loss name, a ``(name, params)`` pair, or itself.

    Names of :data:`psipo_exact.losses.LINKS` (``"dpo"``, ``"ipo"``, ``"ipo_symmetric"``)
    resolve through :func:`from_link` (the exact bits of Eq. 4 and 17); every other name of
    the preference-loss family (:data:`psipo_exact.losses.PAIRWISE_LOSSES`, aliases
    ``slic``) through :func:`from_registry` with TRL's default parameters; a pair
    ``(name, {"label_smoothing": 0.1, ...})`` through :func:`from_registry` with those
    parameters (``("dpo", params)``/``("ipo", params)`` are the family's ``sigmoid``/``ipo``).

    Parameters
    ----------
    loss : str, tuple (str, mapping) or PairwiseLoss

    Returns
    -------
    PairwiseLoss

    Raises
    ------
    TypeError, ValueError
        For anything else, an unknown name (the message lists the valid ones) or an invalid
        parameter (naming it).

    Examples
    --------
    >>> resolve_loss("DPO").name
    'dpo'
    >>> resolve_loss("nca_pair").margin_only
    False
    >>> resolve_loss(("robust", {"label_smoothing": 0.2})).name
    'robust(label_smoothing=0.2)'

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 and Eq. 17; TRL ``DPOTrainer`` (``loss_type``).
    """
    if isinstance(loss, PairwiseLoss):
        return loss
    if is_loss_spec(loss):
        name, params = loss
        if not params:
            return resolve_loss(name)
        if not all(isinstance(key, str) for key in params):
            raise TypeError(f"the parameters of loss {name!r} must be a mapping with string "
                            f"keys (TRL names), got {dict(params)!r}")
        return from_registry(name, **params)
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name, a (name, params) pair or a PairwiseLoss, got "
                        f"{type(loss).__name__} {loss!r}")
    if loss.lower() in LINKS:
        return from_link(resolve_link(loss))
    if loss.lower() in PAIRWISE_LOSSES or loss.lower() in PAIRWISE_ALIASES:
        return from_registry(loss)
    names = list(dict.fromkeys((*LINKS, *PAIRWISE_LOSSES, *PAIRWISE_ALIASES)))
    raise ValueError(f"loss = {loss!r}, must be one of {names}")
