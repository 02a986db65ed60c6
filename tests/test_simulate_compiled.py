"""The compiled step loop of the ``numba`` extra (``simulate/_compiled.py``) against the NumPy
layouts, bit for bit.

The NumPy layouts are themselves checked bit for bit against per-run references written from
the paper and optax's source (tests/test_simulate.py, tests/test_simulate_layouts.py; the
bitwise tests of tests/test_simulate.py also run on the kernel). Here: the kernel's
elementary functions against scipy's, its machine code free of fused multiply-adds, and
whole grids — random datasets, contexts, πref, weights, replays, both term layouts — equal
to the NumPy path's bits. Without numba everything here but the switch tests is skipped.
"""

from __future__ import annotations

import importlib
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from psipo_exact import strategies as pst
from psipo_exact.model import Dataset, paper_dataset
from psipo_exact.simulate import simulate
from psipo_exact.simulate.pairwise import PairwiseLoss, resolve_loss

compiled = importlib.import_module("psipo_exact.simulate._compiled")
runner = importlib.import_module("psipo_exact.simulate.runner")


def _both(*args, **kwargs):
    """``simulate`` on the NumPy layouts and on the kernel (numba required)."""
    saved = os.environ.get("PSIPO_EXACT_NO_NUMBA")
    try:
        os.environ["PSIPO_EXACT_NO_NUMBA"] = "1"
        reference = simulate(*args, **kwargs)
        os.environ["PSIPO_EXACT_NO_NUMBA"] = ""
        assert compiled.kernel() is not None
        fast = simulate(*args, **kwargs)
    finally:
        if saved is None:
            os.environ.pop("PSIPO_EXACT_NO_NUMBA", None)
        else:
            os.environ["PSIPO_EXACT_NO_NUMBA"] = saved
    return reference, fast


def _random_pi_ref(rng, shape):
    p = rng.uniform(0.2, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


def test_the_switch_forces_the_numpy_path(monkeypatch):
    monkeypatch.setenv("PSIPO_EXACT_NO_NUMBA", "1")
    assert compiled.disabled() and compiled.kernel() is None
    monkeypatch.setenv("PSIPO_EXACT_NO_NUMBA", "0")
    assert not compiled.disabled()


def test_only_links_margin_losses_are_compiled():
    """A loss with a LINKS name but another derivative, or a log-ratio loss, is not
    recognised: it runs on the NumPy layouts."""
    assert compiled.loss_codes([resolve_loss("dpo"), resolve_loss("ipo_symmetric")]).tolist() \
        == [compiled.LOSS_CODES["dpo"], compiled.LOSS_CODES["ipo_symmetric"]]
    impostor = PairwiseLoss("dpo", lambda w, lo, t: 2 * (w - lo))
    assert compiled.loss_codes([resolve_loss("ipo"), impostor]) is None
    toy = PairwiseLoss("toy", lambda w, lo, t: w, lambda w, lo, t: lo, margin_only=False)
    assert compiled.loss_codes([toy]) is None


needs_numba = pytest.mark.skipif(compiled.disabled() or importlib.util.find_spec("numba")
                                 is None, reason="numba (the numba extra) is not installed")


@needs_numba
def test_kernel_expit_is_scipys_bit_for_bit():
    """DPO's ℓ′ uses scipy's expit, ``1 / (1 + exp(−x))`` with the C library's exp; the
    kernel's compiled ``exp`` must round identically, over the whole range of margins."""
    import math

    import numba

    @numba.njit(fastmath=False)
    def kernel_expit(x, out):
        for i in range(x.size):
            out[i] = 1.0 / (1.0 + math.exp(-x[i]))

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(200_000) * scale
                        for scale in (1e-8, 1e-3, 1.0, 30.0, 300.0, 740.0)]
                       + [np.linspace(-760.0, 760.0, 200_001)])
    out = np.empty_like(x)
    kernel_expit(x, out)
    np.testing.assert_array_equal(out.view(np.int64), expit(x).view(np.int64))


@needs_numba
def test_kernel_machine_code_has_no_fused_multiply_add(monkeypatch):
    """No FMA (``vfmadd…``, ``vfmsub…``, ``vfnmadd…``) in the kernel's machine code: LLVM
    contracts ``a·b + c`` only under fast-math flags, which the kernel does not set. (The
    cached kernel cannot be inspected: an uncached copy compiled with the same options
    runs a grid here and is inspected.)"""
    import numba

    kernels = importlib.import_module("psipo_exact.simulate._kernels")
    fresh = numba.njit(**dict(kernels.OPTIONS, cache=False))(kernels.block.py_func)
    monkeypatch.setattr(compiled, "_KERNEL", [fresh])
    monkeypatch.delenv("PSIPO_EXACT_NO_NUMBA", raising=False)
    simulate({"a": paper_dataset("D1"), "b": paper_dataset("D3_never_wins")}, ["dpo", "ipo"],
             [0.5], [0], steps=5, pi_ref=[0.2, 0.3, 0.5])
    asm = "\n".join(fresh.inspect_asm().values())
    assert re.search(r"\bv(?:add|mul|sub|div|sqrt)[sp]d\b", asm)   # IEEE double operations
    assert not re.search(r"\bv?f(?:n)?m(?:add|sub)\w*", asm)


@needs_numba
def test_paper_grid_is_bitwise_the_numpy_path():
    """Both term layouts of the kernel: every datum (paper datasets, D3_never_wins padded
    with weight 0 beside D1's three) and, with batches smaller than a dataset, the sorted
    distinct data; all three LINKS losses, a non-uniform πref, 2500 steps (three chunks)."""
    data = {name: paper_dataset(name) for name in ("D1", "D3_never_wins", "D2", "D3")}
    for batch_size in (9, 2):
        reference, fast = _both(data, ["dpo", "ipo", "ipo_symmetric"], [0.01, 0.5, 10.0],
                                [0, 7], steps=2500, batch_size=batch_size, record_every=50,
                                pi_ref=[0.5, 0.3, 0.2])
        np.testing.assert_array_equal(fast.logits, reference.logits)


@needs_numba
def test_large_sparse_grid_weights_replays_and_contexts_are_bitwise_the_numpy_path():
    rng = np.random.default_rng(3)
    n, size = 50, 4000
    win = rng.integers(0, n, size)
    lose = (win + rng.integers(1, n, size)) % n
    weights = rng.integers(1, 4, size).astype(float)
    data = {"plain": Dataset(win, lose, n), "weighted": Dataset(win, lose, n, weights=weights)}
    reference, fast = _both(data, ["dpo", "ipo"], [0.1, 2.0], [1, 2], steps=1200,
                            batch_size=64, record_every=7, init=rng.normal(size=n))
    np.testing.assert_array_equal(fast.logits, reference.logits)
    # replayed batches varying along the loss and τ axes, eps = 0, a contextual dataset
    ctx = Dataset([0, 1, 2, 0, 2], [1, 2, 0, 2, 1], 3, contexts=[0, 0, 1, 2, 2])
    batches = rng.integers(0, 5, (2, 1, 3, 1, 300, 4))
    reference, fast = _both(ctx, ["dpo", "ipo"], [0.1, 1.0, 3.0], [0], steps=300, batch_size=4,
                            batches=batches, record_every=1, eps=0.0,
                            pi_ref=_random_pi_ref(rng, (3, 3)))
    np.testing.assert_array_equal(fast.logits, reference.logits)


@needs_numba
@settings(max_examples=60, deadline=None)
@given(st.lists(pst.datasets(st.just(4), max_size=12), min_size=1, max_size=3),
       st.lists(pst.taus(1e-2, 1e2), min_size=1, max_size=2, unique=True),
       st.lists(st.integers(0, 10**6), min_size=1, max_size=2, unique=True),
       st.integers(1, 40), st.integers(1, 12), st.booleans(), st.booleans())
def test_random_grids_are_bitwise_the_numpy_path(datasets, taus, seeds, steps, batch_size,
                                                 with_ref, dense):
    """Random datasets, τ, seeds, batch sizes (the kernel's dense and sorted term layouts)
    and πref, against both NumPy layouts."""
    if len({d.logits_shape for d in datasets}) > 1:
        return
    named = {f"D{k}": d for k, d in enumerate(datasets)}
    pi_ref = _random_pi_ref(np.random.default_rng(steps), datasets[0].logits_shape)
    saved = runner.DENSE_DATA_PER_BATCH
    runner.DENSE_DATA_PER_BATCH = np.inf if dense else 0.0
    try:
        reference, fast = _both(named, ["dpo", "ipo", "ipo_symmetric"], taus, seeds,
                                steps=steps, batch_size=batch_size, record_every=3,
                                pi_ref=pi_ref if with_ref else None)
    finally:
        runner.DENSE_DATA_PER_BATCH = saved
    np.testing.assert_array_equal(fast.logits, reference.logits)


@needs_numba
def test_a_custom_loss_beside_a_link_runs_on_the_numpy_path(monkeypatch):
    monkeypatch.delenv("PSIPO_EXACT_NO_NUMBA", raising=False)
    calls = []
    monkeypatch.setattr(compiled, "CompiledRuns",
                        lambda *a: calls.append(a) or pytest.fail("kernel used"))
    toy = PairwiseLoss("toy", lambda w, lo, t: 2 * (w - 1), lambda w, lo, t: 2 * (lo + 1),
                       margin_only=False)
    res = simulate(paper_dataset("D1"), ["dpo", toy], [1.0], [0], steps=20)
    assert not calls and np.all(np.isfinite(res.logits))


def test_numba_is_loaded_only_where_it_pays():
    """In a fresh process a small grid stays on NumPy without importing numba (loading it
    costs more than the kernel saves); a grid above ``COMPILE_WORK`` loads it when it is
    installed. Same bits either way (tests above)."""
    import subprocess
    import sys

    code = ("import sys, importlib, psipo_exact as px\n"
            "c = importlib.import_module('psipo_exact.simulate._compiled')\n"
            "c.COMPILE_WORK = float(sys.argv[1])\n"
            "px.simulate(px.paper_dataset('D1'), ['dpo', 'ipo'], [1.0], [0, 1], steps=500)\n"
            "print('numba' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "PSIPO_EXACT_NO_NUMBA"}

    def loads(threshold):
        out = subprocess.run([sys.executable, "-c", code, str(threshold)], env=env,
                             capture_output=True, text=True, check=True)
        return out.stdout.strip() == "True"

    assert not loads(5e7)
    assert loads(0.0) == (importlib.util.find_spec("numba") is not None)
