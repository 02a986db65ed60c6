"""Cold start: what importing the package costs."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_sympy_matplotlib_scipy_stats_optimize_or_numba():
    """Cold start: ``import psipo_exact`` (and the CLI module) leave the heavy optional
    imports to the commands and functions that use them."""
    code = ("import sys, psipo_exact, psipo_exact.cli; "
            "print(sorted(m for m in ('sympy', 'matplotlib', 'scipy.stats', 'scipy.optimize', "
            "'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
