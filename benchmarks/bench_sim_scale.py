"""SIM-SCALE: the simulator beyond the paper's toy sizes, against JAX ``jit(vmap(scan))``.

Work: n = 1000 actions, N = 10⁵ Bradley–Terry comparisons (random pairs, rewards ~ N(0, 1),
the winner drawn with probability σ(r_w − r_l)), losses {DPO (Eq. 4), IPO (Eq. 17)} ×
τ ∈ {0.1, 0.5, 1, 2} × 4 seeds = 32 runs of 5000 Adam steps (lr 0.01), mini-batches of 64,
uniform πref, θ₀ = 0. Rows:

* ours: :func:`psipo_exact.simulate.simulate` (gathers only each step's batch), best of 2
  after a warm-up, recording only the final logits; its peak traced memory in a separate
  call recording every 10 steps, against the size of those recorded logits (``probs`` is
  computed on access, after the call); with the ``numba`` extra, the compiled kernel and,
  in a second row, the NumPy path (same bits);
* JAX + optax ``jit(vmap(scan))`` (x64) over the 32 runs, gathering each step's batch
  (``theta[winners[idx]] − theta[losers[idx]]``, gradient by autodiff): compile and run
  apart. It replays our batch streams, so the final probabilities are comparable.

Then a per-step scaling table of ours (N = 10³ … 10⁶ at n = 1000; n = 10² … 10⁵ at
N = 10⁵): flat in N; and the former dense layout (every datum each step) where it fits.
"""

from __future__ import annotations

import importlib
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from psipo_exact.simulate import sample_batches, simulate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engines import engine, numpy_path  # noqa: E402
from graphs import bradley_terry_graph  # noqa: E402

N_ACTIONS, N_DATA, STEPS, BATCH, LR = 1000, 100_000, 5000, 64, 0.01
LOSSES, TAUS, SEEDS = ("dpo", "ipo"), (0.1, 0.5, 1.0, 2.0), (0, 1, 2, 3)
N_RUNS = len(LOSSES) * len(TAUS) * len(SEEDS)
runner = importlib.import_module("psipo_exact.simulate.runner")


def _softmax(theta):
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def bench_ours(data):
    args = (data, LOSSES, TAUS, SEEDS)
    simulate(*args, steps=50, batch_size=BATCH, lr=LR, record_every=50)      # warm-up
    best = np.inf
    for _ in range(2):
        start = time.perf_counter()
        res = simulate(*args, steps=STEPS, batch_size=BATCH, lr=LR, record_every=STEPS)
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    recorded = simulate(*args, steps=STEPS, batch_size=BATCH, lr=LR, record_every=10)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    probs = res.probs[:, 0, :, :, -1].reshape(N_RUNS, -1)
    return best, probs, peak, recorded.logits.nbytes


def bench_jax(data, ours):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    opt = optax.adam(LR)
    runs = [(loss, tau, seed) for loss in LOSSES for tau in TAUS for seed in SEEDS]
    streams = {seed: sample_batches(seed, len(data), STEPS, BATCH) for seed in SEEDS}
    idx = jnp.asarray(np.stack([streams[seed] for _, _, seed in runs]).astype(np.int32))
    taus = jnp.asarray([tau for _, tau, _ in runs])
    is_dpo = jnp.asarray([loss == "dpo" for loss, _, _ in runs])
    winners, losers = jnp.asarray(data.winners), jnp.asarray(data.losers)

    def batch_loss(theta, batch, tau, dpo):
        h = theta[winners[batch]] - theta[losers[batch]]   # uniform πref: no offset
        per = jnp.where(dpo, -jax.nn.log_sigmoid(tau * h), (h - 0.5 / tau) ** 2)
        return jnp.mean(per)

    def run_one(batches, tau, dpo):
        def body(carry, batch):
            theta, state = carry
            g = jax.grad(batch_loss)(theta, batch, tau, dpo)
            updates, state = opt.update(g, state, theta)
            return (optax.apply_updates(theta, updates), state), None

        theta0 = jnp.zeros(N_ACTIONS)
        (theta, _), _ = jax.lax.scan(body, (theta0, opt.init(theta0)), batches)
        return theta

    start = time.perf_counter()
    compiled = jax.jit(jax.vmap(run_one)).lower(idx, taus, is_dpo).compile()
    compile_time = time.perf_counter() - start
    best = np.inf
    for _ in range(2):
        start = time.perf_counter()
        theta = compiled(idx, taus, is_dpo).block_until_ready()
        best = min(best, time.perf_counter() - start)
    diff = np.abs(_softmax(np.asarray(theta)) - ours).max()
    return compile_time, best, diff


def per_step_ms(data, steps: int, runs_seeds=SEEDS) -> float:
    simulate(data, LOSSES, TAUS, runs_seeds, steps=2, batch_size=BATCH, record_every=2)
    start = time.perf_counter()
    simulate(data, LOSSES, TAUS, runs_seeds, steps=steps, batch_size=BATCH, record_every=steps)
    return (time.perf_counter() - start) / steps * 1e3


def dense_per_step_ms(data, steps: int) -> float:
    """The former layout (every datum every step), forced; same bits."""
    saved, runner.DENSE_DATA_PER_BATCH = runner.DENSE_DATA_PER_BATCH, np.inf
    try:
        return per_step_ms(data, steps)
    finally:
        runner.DENSE_DATA_PER_BATCH = saved


def scaling_table() -> None:
    print(f"\nper-step cost of simulate, {N_RUNS} runs, batch {BATCH} (ms per Adam step)")
    print("| n | N | ours (sparse layout) | former dense layout |")
    print("|---|---|---|---|")
    for n, size in [(1000, 10**3), (1000, 10**4), (1000, 10**5), (1000, 10**6),
                    (100, 10**5), (10**4, 10**5), (10**5, 10**5)]:
        data = bradley_terry_graph(n, size)
        ours = per_step_ms(data, 400 if n <= 10**4 else 60)
        dense = (f"{dense_per_step_ms(data, 5 if size > 10**3 else 40):.2f}"
                 if n * size <= 10**7 else "- (N × n incidence too large)")
        print(f"| {n} | {size} | {ours:.3f} | {dense} |")


def main() -> None:
    label = engine()
    data = bradley_terry_graph(N_ACTIONS, N_DATA)
    ours_time, ours, peak, recorded = bench_ours(data)
    print(f"SIM-SCALE: n = {N_ACTIONS}, N = {N_DATA}, {N_RUNS} runs x {STEPS} Adam steps, "
          f"batch {BATCH}, lr {LR}")
    print("| method | time (s) | vs ours | per step (ms) | max |dpi| | notes |")
    print("|---|---|---|---|---|---|")
    print(f"| ours: simulate, {label} (best of 2) | {ours_time:.3f} | 1.0x | "
          f"{ours_time / STEPS * 1e3:.3f} | - | peak traced memory {peak / 2**20:.1f} MiB "
          f"recording every 10 steps ({recorded / 2**20:.1f} MiB of recorded logits) |")
    if label != "NumPy":
        with numpy_path():
            numpy_time, numpy_probs, numpy_peak, _ = bench_ours(data)
        print(f"| ours: simulate, NumPy path (best of 2) | {numpy_time:.3f} | "
              f"{numpy_time / ours_time:.2f}x | {numpy_time / STEPS * 1e3:.3f} | "
              f"{np.abs(numpy_probs - ours).max():.0e} | PSIPO_EXACT_NO_NUMBA=1; peak traced "
              f"{numpy_peak / 2**20:.1f} MiB |")
    try:
        compile_time, jax_time, diff = bench_jax(data, ours)
        print(f"| JAX+optax jit(vmap(scan)), run | {jax_time:.3f} | "
              f"{jax_time / ours_time:.2f}x | {jax_time / STEPS * 1e3:.3f} | {diff:.1e} | "
              "best of 2, x64, gathers each step's batch |")
        print(f"| JAX+optax jit(vmap(scan)), compile | {compile_time:.3f} | "
              f"{compile_time / ours_time:.2f}x | - | - | lower + compile, once |")
    except ImportError as exc:  # the bench extra is not installed
        print(f"| JAX+optax skipped ({exc.name} missing) | - | - | - | - | - |")
    scaling_table()


if __name__ == "__main__":
    main()
