"""The per-datum loss interface of :func:`psipo_exact.simulate.simulate`.

A pairwise loss is ``ℓ(s_w, s_l; τ)`` per datum, with ``s_y = log π(y) − log πref(y)`` the log
ratio of the policy to the reference (Azar et al., arXiv:2310.12036, Eq. 4 and 17 are the
cases ``ℓ = f(s_w − s_l)``). The simulator needs only the two partial derivatives
``∂ℓ/∂s_w`` and ``∂ℓ/∂s_l`` as vectorised functions of ``(s_w, s_l, τ)``, and whether
``ℓ`` depends on the margin ``h = s_w − s_l`` alone (see :class:`PairwiseLoss`). The LINKS
of :mod:`psipo_exact.losses` are margin losses; :func:`from_link` adapts one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..losses import Link, resolve_link


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


def resolve_loss(loss) -> PairwiseLoss:
    """A :class:`PairwiseLoss` from a LINKS name (``"dpo"``, ``"ipo"``, …) or itself.

    Parameters
    ----------
    loss : str or PairwiseLoss

    Returns
    -------
    PairwiseLoss

    Raises
    ------
    TypeError, ValueError
        For anything else or an unknown name (naming ``loss``).

    Examples
    --------
    >>> resolve_loss("DPO").name
    'dpo'

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 and Eq. 17.
    """
    if isinstance(loss, PairwiseLoss):
        return loss
    return from_link(resolve_link(loss))
