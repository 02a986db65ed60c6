"""Tests of psipo_exact.psi: the Ψ maps of Eq. 6 (identity = IPO, logit = RLHF/DPO)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import psipo_exact as px
from psipo_exact import strategies as pst
from psipo_exact.psi import PSI_BY_NAME, identity, logit, resolve_psi


def test_names_resolve():
    for name in ("identity", "ipo", "IPO"):
        assert resolve_psi(name) is identity
    for name in ("logit", "rlhf", "dpo", "DPO"):
        assert resolve_psi(name) is logit
    assert set(PSI_BY_NAME) == {"identity", "ipo", "logit", "rlhf", "dpo"}


def test_logit_values_and_infinities():
    q = np.array([0.0, 0.25, 0.5, 0.9, 1.0])
    with np.errstate(divide="raise", invalid="raise"):
        out = logit(q)
    assert out[0] == -math.inf and out[-1] == math.inf and out[2] == 0.0
    assert out[1] == pytest.approx(math.log(1 / 3), rel=1e-15)
    assert out[3] == pytest.approx(math.log(9.0), rel=1e-14)
    np.testing.assert_array_equal(identity(q), q)
    assert identity(q).dtype == np.float64


@given(st.floats(0, 1, allow_subnormal=False))
def test_logit_is_log_odds(q):
    """Ψ(q) = log(q / (1 − q)) (Prop. 1) and inverts the sigmoid of Eq. 1."""
    value = float(logit(np.array(q)))
    if q in (0.0, 1.0):
        assert value == (-math.inf if q == 0 else math.inf)
    else:
        assert value == pytest.approx(math.log(q) - math.log1p(-q), rel=1e-12, abs=1e-15)
        assert 1 / (1 + math.exp(-value)) == pytest.approx(q, rel=1e-12)


def test_user_callables_scalar_and_vectorised():
    vec = resolve_psi(lambda q: 2 * q + 1)
    np.testing.assert_allclose(vec(np.array([0.0, 0.5, 1.0])), [1.0, 2.0, 3.0])
    scalar = resolve_psi(lambda q: math.sqrt(q))  # math-based: scalar only
    np.testing.assert_allclose(scalar(np.array([[0.25, 1.0]])), [[0.5, 1.0]])
    log_psi = resolve_psi(lambda q: np.log(q))  # −∞ at 0 is allowed
    with np.errstate(divide="ignore"):
        assert log_psi(np.array([0.0]))[0] == -math.inf
    # Used through the library, the −∞ of log(0) needs no errstate from the caller.
    g = px.expected_psi([[0.5, 1.0], [0.0, 0.5]], [0.5, 0.5], lambda q: np.log(q))
    assert g[1] == -math.inf and g[0] == pytest.approx(0.5 * math.log(0.5), rel=1e-15)


@given(pst.preference_problems(st.integers(2, 5)), st.floats(0.1, 10), st.floats(-5, 5))
def test_affine_user_psi_rescales_tau(problem, slope, shift):
    """Ψ(q) = a q + b gives g = a p(·≻µ) + b, so the Eq. 7 policy at τ equals the IPO
    policy at τ / a (the shift b cancels in the normalisation)."""
    prefs, mu, pi_ref, tau = problem
    custom = px.psipo_policy(prefs, mu, pi_ref, tau, psi=lambda q: slope * q + shift)
    ipo = px.psipo_policy(prefs, mu, pi_ref, tau / slope, psi="identity")
    np.testing.assert_allclose(custom, ipo, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("psi, exc, match", [
    (lambda q: 1 - q, ValueError, r"psi is decreasing on \[0, 1\]: psi\(0\) = 1 > psi\(0\.0005\)"),
    (lambda q: np.sin(10 * q), ValueError, r"psi is decreasing on \[0, 1\].*non-decreasing"),
    (lambda q: np.where(q > 0.5, np.nan, q), ValueError, r"psi\(0\.5005\) is NaN"),
    (lambda q: np.log(q - 0.5), ValueError, r"psi\(0\) is NaN"),
    ("sigmoid", ValueError, r"psi = 'sigmoid', must be one of \['dpo', 'identity'"),
    (3.0, TypeError, r"psi must be a name or a callable, got float"),
    (None, TypeError, r"psi must be a name or a callable, got NoneType"),
    (math.log, ValueError, r"psi failed on \[0, 1\] \(ValueError: math domain error\)"),
    (lambda q: q + 1j, ValueError, r"psi failed on \[0, 1\].*complex"),
    (lambda q: "high", ValueError, r"psi failed on \[0, 1\]"),
    (lambda q: None, ValueError, r"psi failed on \[0, 1\]"),
])
def test_resolve_psi_rejects_bad_psi(psi, exc, match):
    with pytest.raises(exc, match=match):
        resolve_psi(psi)


@pytest.mark.parametrize("fn", ["expected_psi", "psipo_policy", "psipo_objective"])
def test_decreasing_psi_rejected_by_every_public_function(fn):
    prefs = np.array([[0.5, 0.7], [0.3, 0.5]])
    mu = np.array([0.5, 0.5])
    args = {"expected_psi": (prefs, mu),
            "psipo_policy": (prefs, mu, mu, 1.0),
            "psipo_objective": (mu, prefs, mu, mu, 1.0)}[fn]
    with pytest.raises(ValueError, match=r"psi is decreasing"):
        getattr(px, fn)(*args, psi=lambda q: -q)


def test_resolved_psi_is_warning_free_and_exceptions_name_psi():
    """The −∞ of np.log at 0 is a valid Ψ value: no RuntimeWarning on resolving or calling;
    a callable that fails only off the check grid still gets a message naming psi."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_psi = resolve_psi(np.log)
        assert log_psi(np.array([0.0]))[0] == -math.inf

    def picky(q):
        if q == 0.3:
            raise ZeroDivisionError("boom")
        return q

    with pytest.raises(ValueError, match=r"psi failed on \[0, 1\] \(ZeroDivisionError: boom\)"):
        px.expected_psi([[0.5, 0.3], [0.7, 0.5]], [0.5, 0.5], picky)
