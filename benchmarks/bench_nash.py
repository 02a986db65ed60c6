"""NASH-1000: the regularised Nash equilibrium at n = 1000 actions against first-order peers.

Game: a random preference matrix (upper triangle uniform on [0, 1]), πref Dirichlet(1),
seed 0, for τ ∈ {1, 0.1, 0.01, 0.001}. Ours: ``solve_nash`` (damped Newton with
continuation in τ, to rounding), its certificate (exploitability) printed. Peers, in the
same run: ``games.extragradient`` (Cen et al.'s predictive update, linear convergence to
π*_τ) with the fastest step size of a small grid, run to exploitability ≤ 1e-12 (its step
count is found on a recorded run, then a run of exactly that many steps is timed, without
any recording); and ``games.nash_md`` (Munos et al.), whose constant-η iterates stop O(η)
from π*_τ: the table shows the exploitability it reaches, with its best η, in the time the
extragradient needed. Single-threaded BLAS when run as a script (``OPENBLAS_NUM_THREADS=1``
unless set), for ours and the peers alike.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from psipo_exact import exploitability, games, solve_nash  # noqa: E402

N_ACTIONS, SEED, TARGET = 1000, 0, 1e-12
TAUS = (1.0, 0.1, 0.01, 0.001, 0.0001)
#: Step sizes tried for the peers, as multiples of 1/(τ + 1), capped at 1/τ (ητ ≤ 1).
ETA_FACTORS = (1.0, 2.0, 4.0)
#: Steps between the exploitability checks of the scans.
CHUNK = 500


def make_game(seed: int = SEED):
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.random((N_ACTIONS, N_ACTIONS)), 1)
    prefs = upper + np.tril(1 - upper.T, -1)
    np.fill_diagonal(prefs, 0.5)
    return prefs, rng.dirichlet(np.ones(N_ACTIONS))


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _scan(peer, prefs, ref, tau, eta, max_steps):
    """Steps ``peer`` needs to reach exploitability ≤ TARGET (checked every CHUNK steps and
    within the last chunk), or None."""
    done, start = 0, ref
    while done < max_steps:
        run = peer(prefs, ref, tau, eta, CHUNK, init=start, record_every=1)
        below = np.flatnonzero(run.exploitability <= TARGET)
        if below.size:
            return done + int(run.steps[below[0]])
        done, start = done + CHUNK, run.policies[-1]
    return None


def _extragradient(prefs, ref, tau, max_steps):
    """Fastest η of the grid to exploitability ≤ TARGET: (η, steps, seconds, policy)."""
    best = None
    for factor in ETA_FACTORS:
        eta = min(factor / (tau + 1.0), 1.0 / tau)
        steps = _scan(games.extragradient, prefs, ref, tau, eta, max_steps)
        if steps is None or (best is not None and steps >= best[1]):
            continue
        seconds, run = _timed(lambda: games.extragradient(prefs, ref, tau, eta, steps,
                                                          record_every=steps))
        best = (eta, steps, seconds, run.policies[-1])
    return best


def _nash_md(prefs, ref, tau, seconds_budget):
    """Best exploitability of Nash-MD within a time budget, over the η grid."""
    probe_seconds, _ = _timed(lambda: games.nash_md(prefs, ref, tau, 1.0 / (tau + 1), 20,
                                                    record_every=20))
    steps = max(20, int(20 * seconds_budget / probe_seconds))
    best = (np.inf, None, steps)
    for factor in ETA_FACTORS:
        eta = min(factor / (tau + 1.0), 1.0 / tau)
        run = games.nash_md(prefs, ref, tau, eta, steps, record_every=steps)
        best = min(best, (float(run.exploitability[-1]), eta, steps))
    return best


def main() -> None:
    prefs, ref = make_game()
    solve_nash(prefs[:50, :50], ref[:50] / ref[:50].sum(), 0.1)  # warm-up
    print(f"NASH-1000: n = {N_ACTIONS}, random preferences, pi_ref ~ Dirichlet(1), seed "
          f"{SEED}; peers run to exploitability <= {TARGET:g}; BLAS threads: "
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"{'tau':>6} {'ours [s]':>9} {'ours gap':>9} {'EG eta':>7} {'EG steps':>9} "
          f"{'EG [s]':>8} {'EG/ours':>8} {'max|dpi|':>9}   Nash-MD in the EG time")
    for tau in TAUS:
        ours_time, sol = _timed(lambda: solve_nash(prefs, ref, tau))
        gap = float(exploitability(sol.policy, prefs, ref, tau))
        max_steps = int(100 / tau) + 1000
        eg = _extragradient(prefs, ref, tau, max_steps)
        if eg is None:
            print(f"{tau:6g} {ours_time:9.3f} {gap:9.1e}   extragradient did not reach "
                  f"{TARGET:g} in {max_steps} steps")
            continue
        eta, steps, eg_time, eg_policy = eg
        nmd_gap, nmd_eta, nmd_steps = _nash_md(prefs, ref, tau, eg_time)
        diff = np.abs(eg_policy - sol.policy).max()
        print(f"{tau:6g} {ours_time:9.3f} {gap:9.1e} {eta:7.3g} {steps:9d} {eg_time:8.3f} "
              f"{eg_time / ours_time:8.2f} {diff:9.1e}   gap {nmd_gap:.1e} (eta {nmd_eta:.3g}, "
              f"{nmd_steps} steps)")


if __name__ == "__main__":
    main()
