"""The simulator's two engines in the benchmarks: the compiled kernel (``numba`` extra) and
the NumPy path (forced by ``PSIPO_EXACT_NO_NUMBA``); both give the same bits."""

from __future__ import annotations

import importlib
import os
from contextlib import contextmanager

_compiled = importlib.import_module("psipo_exact.simulate._compiled")


def engine() -> str:
    """Which engine ``simulate`` uses now; loads numba if it is installed (so that, warm,
    every grid runs on the kernel, not only those large enough to pay for loading it)."""
    return "numba kernel" if _compiled.kernel() is not None else "NumPy"


@contextmanager
def numpy_path():
    """``simulate`` on its NumPy layouts inside the block."""
    saved = os.environ.get("PSIPO_EXACT_NO_NUMBA")
    os.environ["PSIPO_EXACT_NO_NUMBA"] = "1"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["PSIPO_EXACT_NO_NUMBA"]
        else:
            os.environ["PSIPO_EXACT_NO_NUMBA"] = saved
