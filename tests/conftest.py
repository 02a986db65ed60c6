"""Shared pytest configuration: hypothesis profiles.

The "ci" profile (default) runs every property with at least 100 examples, as the project's
issues require; set HYPOTHESIS_PROFILE=dev for a quicker local loop.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.register_profile("dev", max_examples=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
