"""Mini-batch Adam's stationary noise around a finite optimum (small-lr theory).

Used to explain the Sec. 5.4 runs of Azar et al. (arXiv:2310.12036) that sit beside a finite
optimum of the empirical DPO (Eq. 4) or IPO (Eq. 17) loss but not exactly on it: near the
optimum, Adam on mini-batches is preconditioned SGD with gradient noise, an
Ornstein–Uhlenbeck process whose stationary covariance solves a Lyapunov equation
(:func:`adam_stationary_covariance`); :func:`softmax_moments` carries that covariance of the
logits to the mean shift and spread of ``π = softmax(θ)``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from . import _checks
from .closed_form import softmax_policy
from .losses import reference_gap, resolve_link
from .model import Dataset


def _link_curvature(link, h, tau):
    """``ℓ″(h)`` by a central difference of the link's derivative (no second formula)."""
    step = 1e-5 * np.maximum(1.0, np.abs(h))
    return (link.grad(h + step, tau) - link.grad(h - step, tau)) / (2 * step)


def adam_stationary_covariance(data: Dataset, loss: str, logits, pi_ref, tau, *, lr=0.01,
                               batch_size=9) -> np.ndarray:
    """Covariance of the logits of mini-batch Adam around a finite optimum (small-lr theory).

    Near the optimum θ* the mini-batch gradient is ``H δθ + ξ`` with ``H`` the Hessian of the
    empirical loss (Eq. 4 or 17) and ``ξ`` the multinomial sampling noise, covariance
    ``Σ = (1/B)(Σ_i p_i a_i a_iᵀ − ḡḡᵀ)``, ``a_i = ℓ′(h_i)(e_{w_i} − e_{l_i})``,
    ``p_i = c_i / Σ c`` (``1/N`` without weights).
    Adam's ``√v̂`` settles at the noise level ``σ = √diag Σ``, making it SGD preconditioned
    by ``P = diag(1/σ)`` with step ``lr``; the stationary covariance ``X`` of θ then solves
    the Lyapunov equation ``PH X + X (PH)ᵀ = lr · P Σ P`` (first order in lr). Coordinates
    without noise, and directions the loss does not see (null space of ``H``), do not move.

    Parameters
    ----------
    data : Dataset
        One context.
    loss : str
    logits : array_like, shape (n,)
        The finite optimum θ* (e.g. ``Solution.logits``); ``|θ*| ≤ 1e150``.
    pi_ref : array_like, shape (n,)
    tau : float
        In [1e-150, 1e150], the range of :func:`psipo_exact.simulate`.
    lr : float
        In (0, 1e150].
    batch_size : int

    Returns
    -------
    ndarray, shape (n, n)

    Raises
    ------
    TypeError, ValueError
        On invalid arguments (naming them); ValueError also when the covariance is not
        representable in float64 (an intermediate overflows).

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (the runs it explains), Eq. 4 and Eq. 17.
    Mandt, Hoffman and Blei (2017), "Stochastic gradient descent as approximate Bayesian
    inference", JMLR 18 (SGD as an Ornstein–Uhlenbeck process, its Lyapunov equation);
    Kingma and Ba (2014), arXiv:1412.6980 (Adam).

    Examples
    --------
    Two actions, data {a≻b, a≻b, b≻a}, IPO at τ = 1, B = 1: the optimum has ``h* = 1/6``,
    per-datum gradients ``∓(2/3, 4/3)(e_a − e_b)`` with second moment ``8/9``, Hessian
    ``2(e_a − e_b)(e_a − e_b)ᵀ``. In the direction ``u = (1, −1)/√2`` the Lyapunov equation
    is scalar, ``x = lr · σ / 4`` with ``σ = √(8/9)``, so every entry is ``±lr · σ / 8``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.adam_noise import adam_stationary_covariance
    >>> data = px.Dataset.from_pairs([(0, 1), (0, 1), (1, 0)], 2)
    >>> optimum = px.solve_ipo_empirical(data, [0.5, 0.5], 1.0, init=np.zeros(2)).logits
    >>> print(np.round(optimum, 6))
    [ 0.083333 -0.083333]
    >>> cov = adam_stationary_covariance(data, "ipo", optimum, [0.5, 0.5], 1.0, lr=0.01,
    ...                                  batch_size=1)
    >>> print(np.round(cov, 7), f"{0.01 * np.sqrt(8 / 9) / 8:.7f}")
    [[ 0.0011785 -0.0011785]
     [-0.0011785  0.0011785]] 0.0011785
    """
    link = resolve_link(loss)
    theta = _validated_logits(logits, data)
    _checks.no_ties(data, "the Adam noise model", "it models decisive comparisons only")
    tau = float(_checks.adam_taus(_scalar(tau, "tau"), "tau"))
    lr = _checks.real_in_range(lr, "lr", 0.0, _checks.ADAM_RANGE, closed_low=False,
                               closed_high=True)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    pi_ref = _checks.probability_vector(pi_ref, "pi_ref")
    if pi_ref.shape != theta.shape:
        raise ValueError(f"pi_ref has shape {pi_ref.shape}, must be {theta.shape}")
    gap = reference_gap(data, pi_ref)
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"), \
                warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # scipy: Lyapunov near-singular
            return _covariance(link, data, theta, gap, tau, lr, batch_size)
    except (FloatingPointError, RuntimeWarning, np.linalg.LinAlgError) as exc:
        raise ValueError(f"the stationary covariance is not representable in float64 for "
                         f"these inputs ({exc})") from None


def _scalar(value, name: str):
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")
    return value


def _validated_logits(logits, data) -> np.ndarray:
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    if data.contexts is not None:
        raise ValueError(f"data has {data.n_contexts} contexts, must have one (no contexts)")
    theta = _checks.as_float_array(logits, "logits", min_ndim=1)
    if theta.shape != (data.n_actions,):
        raise ValueError(f"logits has shape {theta.shape}, must be ({data.n_actions},)")
    big = np.abs(theta) > _checks.ADAM_RANGE
    if big.any():
        i = int(np.argmax(big))
        raise ValueError(f"logits[{i}] = {theta[i]}, must satisfy |logits| <= 1e150")
    return theta


def _covariance(link, data, theta, gap, tau, lr, batch_size) -> np.ndarray:
    """:func:`adam_stationary_covariance` on validated inputs."""
    inc = data.incidence.toarray()
    h = inc @ theta - gap
    per = inc * link.grad(h, tau)[:, None]
    curved = inc * _link_curvature(link, h, tau)[:, None]
    if data.weights is None:  # p_i = 1/N, a scalar: the same operations as without weights
        p = 1.0 / len(data)
        mean, second, hess = p * per.sum(axis=0), p * per.T @ per, p * inc.T @ curved
    else:
        p = data.datum_weights / data.total_weight
        mean, second, hess = p @ per, (per.T * p) @ per, (inc.T * p) @ curved
    cov = (second - np.outer(mean, mean)) / batch_size
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    noisy = sd > 1e-300
    n = theta.size
    out = np.zeros((n, n))
    if not noisy.any():
        return out
    idx = np.flatnonzero(noisy)
    h_s, cov_s, pre = hess[np.ix_(idx, idx)], cov[np.ix_(idx, idx)], np.diag(1.0 / sd[idx])
    eigval, eigvec = np.linalg.eigh(h_s)
    basis = eigvec[:, eigval > 1e-12 * max(eigval.max(), 1e-300)]
    if basis.shape[1] == 0:
        return out
    a = basis.T @ pre @ h_s @ basis
    q = lr * basis.T @ pre @ cov_s @ pre @ basis
    x = basis @ linalg.solve_continuous_lyapunov(a, q) @ basis.T
    out[np.ix_(idx, idx)] = (x + x.T) / 2
    return out


def softmax_moments(logits, cov) -> tuple[np.ndarray, np.ndarray]:
    """Second-order mean shift and standard deviation of ``π = softmax(θ)`` for θ ~ (θ*, X).

    ``E π ≈ π* + ½ Σ_jk ∂²π/∂θ_j∂θ_k X_jk`` and ``sd π ≈ √diag(J X Jᵀ)``, ``J = diag π − ππᵀ``.

    Parameters
    ----------
    logits : array_like, shape (n,)
        The mean θ* of the logits (finite).
    cov : array_like, shape (n, n)
        Their covariance X (e.g. :func:`adam_stationary_covariance`): finite, symmetric (to
        1e-9 relative), non-negative diagonal.

    Returns
    -------
    shift, sd : ndarray, shape (n,)

    Raises
    ------
    TypeError, ValueError
        On invalid arguments (naming them); ValueError also when the moments are not
        representable in float64.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (softmax policies); the delta method to second
    order (e.g. Casella and Berger, Statistical Inference, 2nd ed., Sec. 5.5.4).

    Examples
    --------
    Two actions: ``π(y₁) = σ(d)``, ``d = θ₁ − θ₂``. With ``X = v [[1, −1], [−1, 1]]``,
    ``Var d = 4v``; at ``d = log 3``, ``σ = 3/4``, ``σ′ = 3/16``,
    ``σ″ = σ′(1 − 2σ) = −3/32``, so the shift is ``½ σ″ · 4v = −0.1875 v`` and the sd
    ``σ′ · 2√v``; with v = 0.01, −0.001875 and 0.0375:

    >>> import numpy as np
    >>> from psipo_exact.adam_noise import softmax_moments
    >>> shift, sd = softmax_moments([np.log(3.0), 0.0], 0.01 * np.array([[1, -1], [-1, 1]]))
    >>> print(np.round(shift, 6), np.round(sd, 6))
    [-0.001875  0.001875] [0.0375 0.0375]
    """
    logits = _checks.as_float_array(logits, "logits", min_ndim=1)
    if logits.ndim != 1:
        raise ValueError(f"logits must have shape (n,), got {logits.shape}")
    cov = _checks.as_float_array(cov, "cov", min_ndim=2)
    n = logits.size
    if cov.shape != (n, n):
        raise ValueError(f"cov has shape {cov.shape}, must be ({n}, {n})")
    if (np.diag(cov) < 0).any() or not np.allclose(cov, cov.T, rtol=1e-9, atol=0):
        raise ValueError("cov must be symmetric with a non-negative diagonal (a covariance)")
    try:
        with np.errstate(over="raise", invalid="raise"):
            return _moments(logits, cov)
    except FloatingPointError as exc:
        raise ValueError(f"the moments are not representable in float64 for this cov "
                         f"({exc})") from None


def _moments(logits, cov):
    pi = softmax_policy(logits)
    n = pi.size
    eye = np.eye(n)
    jac = np.diag(pi) - np.outer(pi, pi)
    # ∂²π_i/∂θ_j∂θ_k = π_i[(δ_ij − π_j)(δ_ik − π_k) − π_j(δ_jk − π_k)]
    d2 = pi[:, None, None] * ((eye - pi)[:, :, None] * (eye - pi)[:, None, :]
                              - pi[None, :, None] * (eye - pi)[None, :, :])
    shift = 0.5 * np.einsum("ijk,jk->i", d2, cov)
    return shift, np.sqrt(np.clip(np.diag(jac @ cov @ jac.T), 0.0, None))
