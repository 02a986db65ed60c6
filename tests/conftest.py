"""Shared pytest configuration: hypothesis profiles; the ``engine`` fixture.

The "ci" profile (default) runs every property with at least 100 examples, as the project's
issues require; set HYPOTHESIS_PROFILE=dev for a quicker local loop.
"""

import importlib
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.register_profile("dev", max_examples=20, deadline=None)
# `make mutation` (docs/mutation.md): few examples, but the same ones every run, so that a
# mutant's verdict does not depend on the draw (derandomised, as "ci"); no example database.
settings.register_profile("mutation", settings.get_profile("ci"), max_examples=10, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["numpy", "numba"])
def engine(request, monkeypatch):
    """``simulate`` on its NumPy layouts, or on the compiled kernel of the ``numba`` extra
    (skipped when numba is not installed); both must give the references' bits."""
    if request.param == "numba":
        pytest.importorskip("numba")
        monkeypatch.delenv("PSIPO_EXACT_NO_NUMBA", raising=False)
        assert importlib.import_module("psipo_exact.simulate._compiled").kernel() is not None
    else:
        monkeypatch.setenv("PSIPO_EXACT_NO_NUMBA", "1")
    return request.param
