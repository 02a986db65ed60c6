"""The non-decreasing maps Ψ : [0, 1] → ℝ ∪ {±∞} of the ΨPO objective (Eq. 6).

``Ψ = identity`` gives IPO (Sec. 5, Eq. 8); ``Ψ = logit``, ``Ψ(q) = log(q / (1 − q))``, gives
RLHF/DPO under Bradley–Terry (Proposition 1), with ``logit(0) = −∞`` and ``logit(1) = +∞``.
Wherever a function takes ``psi=``, it accepts one of the names below or a user callable;
a callable that decreases anywhere on [0, 1] is rejected.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.special import logit as _scipy_logit

PsiLike = str | Callable[[np.ndarray], np.ndarray]

#: Grid on which user callables are checked to be non-decreasing and NaN-free.
_GRID = np.linspace(0.0, 1.0, 2001)


def identity(q: np.ndarray) -> np.ndarray:
    """Ψ(q) = q: the IPO choice (Eq. 8).

    Parameters
    ----------
    q : array_like
        Preference probabilities in [0, 1].

    Returns
    -------
    ndarray
        ``q`` as float64.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5, Eq. 8 (ΨPO with Ψ = identity is IPO).

    Examples
    --------
    >>> from psipo_exact.psi import identity
    >>> print(identity([0.0, 0.25, 1.0]))
    [0.   0.25 1.  ]
    """
    return np.asarray(q, dtype=np.float64)


def logit(q: np.ndarray) -> np.ndarray:
    """Ψ(q) = log(q / (1 − q)): the RLHF/DPO choice (Proposition 1); ±∞ at 1 and 0.

    Parameters
    ----------
    q : array_like
        Preference probabilities in [0, 1].

    Returns
    -------
    ndarray
        Values in ℝ ∪ {±∞}.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 4.1, Proposition 1 (and Sec. 4.2 for Ψ(1) = +∞).

    Examples
    --------
    ``logit(3/4) = log 3``; under Bradley–Terry, ``logit(σ(r − r′)) = r − r′``:

    >>> import numpy as np
    >>> from psipo_exact.psi import logit
    >>> print(f"{logit(0.75):.4f} {np.log(3):.4f}")
    1.0986 1.0986
    >>> print(logit([0.0, 0.5, 1.0]))
    [-inf   0.  inf]
    """
    return _scipy_logit(np.asarray(q, dtype=np.float64))


PSI_BY_NAME: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": identity,
    "ipo": identity,
    "logit": logit,
    "rlhf": logit,
    "dpo": logit,
}


def _vectorised(fn: Callable) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap ``fn`` so it maps float arrays to float arrays of the same shape.

    The wrapper raises ValueError naming ``psi`` when ``fn`` fails or returns non-real values.
    """
    try:
        with np.errstate(all="ignore"):  # e.g. np.log at 0: −∞ is a valid Ψ value
            out = np.asarray(fn(_GRID))
        elementwise = out.shape == _GRID.shape and out.dtype.kind in "biuf"
    except Exception:  # scalar-only callables, e.g. math.log based
        elementwise = False
    raw = fn if elementwise else np.vectorize(lambda q: float(fn(float(q))), otypes=[float])

    def wrapped(q):
        q = np.asarray(q, dtype=np.float64)
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(raw(q))
            if out.dtype.kind not in "biuf":
                raise TypeError(f"it returned dtype {out.dtype}")
            out = out.astype(np.float64)
        except Exception as exc:
            raise ValueError(
                f"psi failed on [0, 1] ({type(exc).__name__}: {exc}); psi must map [0, 1] to "
                "real numbers or ±inf, e.g. return -inf at 0 rather than raise"
            ) from None
        return out

    return wrapped


def resolve_psi(psi: PsiLike) -> Callable[[np.ndarray], np.ndarray]:
    """Turn a name or a callable into a vectorised, validated Ψ.

    Parameters
    ----------
    psi : str or callable
        ``"identity"`` (alias ``"ipo"``), ``"logit"`` (aliases ``"rlhf"``, ``"dpo"``), or a
        callable ``[0, 1] → ℝ ∪ {±∞}``, scalar or vectorised.

    Returns
    -------
    callable
        Maps float arrays in [0, 1] elementwise.

    Raises
    ------
    ValueError
        For an unknown name, or a callable that returns NaN or decreases somewhere on a
        2001-point grid of [0, 1] (Eq. 6 requires Ψ non-decreasing).
    TypeError
        If ``psi`` is neither a string nor callable.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 6 (Ψ : [0, 1] → ℝ non-decreasing), Eq. 8 (identity)
    and Proposition 1 (logit).

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact import resolve_psi
    >>> from psipo_exact.psi import logit
    >>> resolve_psi("dpo") is logit
    True
    >>> psi = resolve_psi(lambda q: q**2)  # any non-decreasing map on [0, 1]
    >>> print(psi(np.array([0.5, 1.0])))
    [0.25 1.  ]
    >>> resolve_psi(lambda q: 1 - q)
    Traceback (most recent call last):
    ...
    ValueError: psi is decreasing on [0, 1]: psi(0) = 1 > psi(0.0005) = 0.9995; Eq. 6 ...
    """
    if isinstance(psi, str):
        try:
            return PSI_BY_NAME[psi.lower()]
        except KeyError:
            raise ValueError(f"psi = {psi!r}, must be one of {sorted(PSI_BY_NAME)} or a callable")
    if not callable(psi):
        raise TypeError(f"psi must be a name or a callable, got {type(psi).__name__}")
    fn = _vectorised(psi)
    with np.errstate(all="ignore"):
        values = fn(_GRID)
    if np.isnan(values).any():
        q = _GRID[np.argmax(np.isnan(values))]
        raise ValueError(f"psi({q:g}) is NaN, psi must map [0, 1] to real numbers or ±inf")
    drops = np.diff(values) < 0
    if drops.any():
        i = int(np.argmax(drops))
        raise ValueError(
            f"psi is decreasing on [0, 1]: psi({_GRID[i]:g}) = {values[i]:g} > "
            f"psi({_GRID[i + 1]:g}) = {values[i + 1]:g}; Eq. 6 requires a non-decreasing psi"
        )
    return fn
