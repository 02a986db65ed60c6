#!/usr/bin/env python3
"""Independent check of the BradleyTerry2 extraction (numpy and scipy only, no R).

Run from the repository root:

    python3 scripts/verify_bradleyterry2_extract.py

For every fit recorded in tests/data/bradleyterry2_reference.json it rebuilds the data BTm
saw from the CSV files in psipo_exact/datasets/data/, checks the counts and the pair-wise
win totals the JSON records, refits the model by Newton's method on the exact log-likelihood
(reference category fixed at 0) and compares abilities, standard errors, extra coefficients
(home advantage), log-likelihood and deviance with R's. It also replays R's IRLS iterations
(glm.fit's start and stopping rule) to show that the remaining differences in the standard
errors come from where R stops. It prints the largest differences and exits non-zero if any
exceeds its tolerance.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import gammaln, log_expit

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "psipo_exact" / "datasets" / "data"
REFERENCE = ROOT / "tests" / "data" / "bradleyterry2_reference.json"

# R's numbers against the exact maximum (R's glm.fit stops on a relative deviance change
# below 1e-8, so its estimates are not at the exact maximum, and its standard errors come from
# the IRLS weights of the second-to-last iterate) ...
TOL_ABILITY = 1e-6
TOL_SE = 1e-4
TOL_LOGLIK = 1e-6
# ... and against a step-by-step emulation of glm.fit, which should agree to rounding error.
TOL_EMULATED = 1e-10


def read_csv(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def build(fit_name: str, fit: dict, tables: dict) -> dict:
    """Rows as BTm saw them: player1 index i, player2 index j, trials n, successes y of
    player1 (fractional for half-win ties), and the contest covariate of each side."""
    players = fit["data_as_fitted"]["players_in_factor_level_order"]
    idx = {p: k for k, p in enumerate(players)}
    rows = []  # (player1, player2, n, y, covariate1, covariate2)
    if fit_name == "citations":
        wins = {(r["winner"], r["loser"]): int(r["count"]) for r in tables["citations"]}
        for a in range(len(players)):
            for b in range(a + 1, len(players)):
                w1 = wins[(players[a], players[b])]
                w2 = wins[(players[b], players[a])]
                if w1 + w2 > 0:
                    rows.append((players[a], players[b], w1 + w2, w1, 0.0, 0.0))
    elif fit_name.startswith("baseball"):
        home = 1.0 if fit_name == "baseball_home_advantage" else 0.0
        for r in tables["baseball"]:
            hw, aw = int(r["home_wins"]), int(r["away_wins"])
            rows.append((r["home_team"], r["away_team"], hw + aw, hw, home, 0.0))
    elif fit_name.startswith("football_decisive_"):
        season = fit_name.removeprefix("football_decisive_")
        for r in tables["football"]:
            if r["result"] == "0" or (season != "pooled" and r["season"] != season):
                continue
            rows.append((r["home"], r["away"], 1, 1 if r["result"] == "1" else 0, 0.0, 0.0))
    elif fit_name.startswith("icehockey"):
        decisive = fit_name.startswith("icehockey_decisive")
        home_ice = fit_name in ("icehockey_decisive_home_ice", "icehockey_helppage_levelBT")
        for r in tables["icehockey"]:
            if decisive and r["result"] == "0.5":
                continue
            cov2 = float(r["home_ice"]) if home_ice else 0.0
            rows.append((r["visitor"], r["opponent"], 1, float(r["result"]), 0.0, cov2))
    else:
        raise KeyError(fit_name)
    i = np.array([idx[r[0]] for r in rows])
    j = np.array([idx[r[1]] for r in rows])
    n = np.array([r[2] for r in rows], dtype=float)
    y = np.array([r[3] for r in rows], dtype=float)
    x = np.array([r[4] - r[5] for r in rows])
    return {"players": players, "i": i, "j": j, "n": n, "y": y, "x": x,
            "covariate": bool(np.any(x != 0))}


def design(d: dict) -> np.ndarray:
    """Model matrix without the reference player's column (+ covariate column)."""
    k = len(d["players"])
    m = len(d["i"])
    xmat = np.zeros((m, k))
    xmat[np.arange(m), d["i"]] += 1.0
    xmat[np.arange(m), d["j"]] -= 1.0
    xmat = xmat[:, 1:]
    if d["covariate"]:
        xmat = np.column_stack([xmat, d["x"]])
    return xmat


def loglik_terms(eta: np.ndarray, n: np.ndarray, y: np.ndarray) -> np.ndarray:
    return y * log_expit(eta) + (n - y) * log_expit(-eta)


def newton_fit(d: dict) -> tuple[np.ndarray, np.ndarray, float, int]:
    xmat = design(d)
    n, y = d["n"], d["y"]
    theta = np.zeros(xmat.shape[1])
    for it in range(1, 101):
        eta = xmat @ theta
        p = np.exp(log_expit(eta))
        grad = xmat.T @ (y - n * p)
        hess = (xmat * (n * p * (1 - p))[:, None]).T @ xmat
        step = np.linalg.solve(hess, grad)
        theta = theta + step
        if np.max(np.abs(step)) < 1e-13:
            break
    else:
        raise RuntimeError("Newton did not converge")
    eta = xmat @ theta
    p = np.exp(log_expit(eta))
    hess = (xmat * (n * p * (1 - p))[:, None]).T @ xmat
    se = np.sqrt(np.diag(np.linalg.inv(hess)))
    return theta, se, float(loglik_terms(eta, n, y).sum()), it


def glm_irls(d: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """R's glm.fit for binomial/logit, step by step: start at mu = (y + 0.5) / (n + 1), stop
    when |dev - dev_old| / (|dev| + 0.1) < 1e-8. Like glm, the standard errors use the IRLS
    weights of the last iteration, i.e. those at the second-to-last iterate. This explains
    the small differences between R's standard errors and those at the exact maximum."""
    xmat = design(d)
    n, y = d["n"], d["y"]
    prop = y / n
    mu = (n * prop + 0.5) / (n + 1)
    eta = np.log(mu / (1 - mu))
    dev_old = deviance(eta, n, y)
    for it in range(1, 26):
        w2 = n * mu * (1 - mu)
        z = eta + (prop - mu) / (mu * (1 - mu))
        sw = np.sqrt(w2)
        coef = np.linalg.lstsq(xmat * sw[:, None], z * sw, rcond=None)[0]
        xtwx = (xmat * w2[:, None]).T @ xmat
        eta = xmat @ coef
        mu = np.exp(log_expit(eta))
        dev = deviance(eta, n, y)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < 1e-8:
            break
        dev_old = dev
    else:
        raise RuntimeError("IRLS did not converge in 25 iterations")
    return coef, np.sqrt(np.diag(np.linalg.inv(xtwx))), it


def deviance(eta: np.ndarray, n: np.ndarray, y: np.ndarray) -> float:
    def xlogx_ratio(a, b):  # a * log(a / b) with 0 log 0 = 0
        out = np.zeros_like(a)
        pos = a > 0
        out[pos] = a[pos] * np.log(a[pos] / b[pos])
        return out

    mu = n * np.exp(log_expit(eta))
    return float(2 * np.sum(xlogx_ratio(y, mu) + xlogx_ratio(n - y, n - mu)))


def strongly_connected(d: dict) -> bool:
    """Plain-model MLE exists iff the 'beats' digraph is strongly connected."""
    k = len(d["players"])
    src = np.concatenate([d["i"][d["y"] > 0], d["j"][d["y"] < d["n"]]])
    dst = np.concatenate([d["j"][d["y"] > 0], d["i"][d["y"] < d["n"]]])
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(k, k))
    return connected_components(graph, directed=True, connection="strong")[0] == 1


def pair_wins(d: dict) -> dict:
    tot = defaultdict(float)
    for a, b, n, y in zip(d["i"], d["j"], d["n"], d["y"]):
        tot[(d["players"][a], d["players"][b])] += y
        tot[(d["players"][b], d["players"][a])] += n - y
    return {key: v for key, v in tot.items() if v > 0}


def check_csvs(tables: dict) -> None:
    cit = tables["citations"]
    assert len(cit) == 12 and all(r["winner"] != r["loser"] for r in cit)
    # the vignette: "Biometrika was cited 498 times by papers in JASA"; the cited journal wins
    assert any(r["winner"] == "Biometrika" and r["loser"] == "JASA" and r["count"] == "498"
               for r in cit)
    assert len(tables["baseball"]) == 42
    fb = tables["football"]
    assert len(fb) == 1900 and {r["result"] for r in fb} == {"-1", "0", "1"}
    ih = tables["icehockey"]
    assert len(ih) == 1083 and {r["result"] for r in ih} == {"0", "0.5", "1"}
    assert {r["home_ice"] for r in ih} == {"0", "1"}
    for r in ih:
        vg, og = int(r["v_goals"]), int(r["o_goals"])
        expected = "1" if vg > og else ("0.5" if vg == og else "0")
        assert r["result"] == expected, r


def main() -> int:
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))
    tables = {name: read_csv(f"{name}.csv")
              for name in ("citations", "baseball", "football", "icehockey")}
    check_csvs(tables)
    print(f"BradleyTerry2 {ref['BradleyTerry2_version']}, R {ref['R_version']}")
    print("d = max |Python - R|. ability, se (incl. the extra coefficient's) and coef: exact MLE")
    print("by Newton vs R; glm: replay of glm.fit vs R (estimates and s.e. together); loglik and")
    print("deviance: at the exact MLE vs R's at its own estimate.")
    header = (f"{'fit':31s} {'N':>5s} {'K':>3s} {'d ability':>9s} {'d se':>9s} {'d coef':>9s} "
              f"{'d loglik':>9s} {'d dev':>9s} {'d glm':>9s}")
    print(header)
    worst = defaultdict(float)
    failures = []
    for name, fit in ref["fits"].items():
        d = build(name, fit, tables)
        daf = fit["data_as_fitted"]
        assert daf["n_rows"] == len(d["i"]), name
        assert daf["n_comparisons"] == d["n"].sum(), name
        assert daf["n_players"] == len(d["players"]), name
        assert fit["reference_category"] == d["players"][0], name
        if "pair_wins" in daf:
            recorded = {(w, lo): c for w, lo, c in daf["pair_wins"]}
            assert recorded == pair_wins(d), name
        if not d["covariate"]:
            assert strongly_connected(d), f"{name}: MLE does not exist"

        theta, se, ll_seq, iters = newton_fit(d)
        k = len(d["players"])
        g_coef, g_se, g_iter = glm_irls(d)
        assert g_iter == fit["convergence"]["iterations"], name
        r_coef = np.array([fit["abilities"][p] for p in d["players"][1:]])
        r_coef_se = np.array([fit["abilities_se"][p] for p in d["players"][1:]])
        if d["covariate"]:
            (extra,) = fit["other_coefficients"].values()
            r_coef = np.append(r_coef, extra["estimate"])
            r_coef_se = np.append(r_coef_se, extra["se"])
        abil = np.concatenate([[0.0], theta[: k - 1]])
        abil_se = np.concatenate([[0.0], se[: k - 1]])
        r_abil = np.array([fit["abilities"][p] for p in d["players"]])
        r_se = np.array([fit["abilities_se"][p] for p in d["players"]])
        diff = {
            "ability": np.max(np.abs(abil - r_abil)),
            "se": np.max(np.abs(abil_se - r_se)),
            "coef": 0.0,
            "glm": max(np.max(np.abs(g_coef - r_coef)), np.max(np.abs(g_se - r_coef_se))),
        }
        if d["covariate"]:
            (cval,) = fit["other_coefficients"].values()
            diff["coef"] = abs(theta[-1] - cval["estimate"])
            diff["se"] = max(diff["se"], abs(se[-1] - cval["se"]))
        else:
            assert fit["other_coefficients"] == {}, name
        eta = design(d) @ theta
        half_win = np.any(d["y"] != np.round(d["y"]))
        if half_win:
            # R's logLik() rounds y = 0.5 to 0 (round half to even); the objective is ll_seq
            diff["loglik"] = max(abs(ll_seq - fit["loglik_half_win_objective"]),
                                 abs(ll_seq - fit["loglik_without_binomial_coefficients"]))
            p = np.exp(log_expit(eta))
            y_round = np.round(d["y"])  # numpy also rounds half to even
            ll_r = float(np.sum(y_round * np.log(p) + (1 - y_round) * np.log1p(-p)))
            diff["loglik"] = max(diff["loglik"], abs(ll_r - fit["loglik"]))
        else:
            const = float(np.sum(gammaln(d["n"] + 1) - gammaln(d["y"] + 1)
                                 - gammaln(d["n"] - d["y"] + 1)))
            diff["loglik"] = max(abs(ll_seq + const - fit["loglik"]),
                                 abs(ll_seq - fit["loglik_without_binomial_coefficients"]),
                                 abs(const - fit["binomial_log_coefficient_constant"]))
        diff["deviance"] = abs(deviance(eta, d["n"], d["y"]) - fit["deviance"])
        print(f"{name:31s} {int(d['n'].sum()):5d} {k:3d} {diff['ability']:9.2e} "
              f"{diff['se']:9.2e} {diff['coef']:9.2e} {diff['loglik']:9.2e} "
              f"{diff['deviance']:9.2e} {diff['glm']:9.2e}")
        for key, val in diff.items():
            worst[key] = max(worst[key], val)
        if diff["ability"] > TOL_ABILITY or diff["coef"] > TOL_ABILITY:
            failures.append(f"{name}: abilities/coefficients differ by {diff['ability']:.3g}")
        if diff["se"] > TOL_SE:
            failures.append(f"{name}: standard errors differ by {diff['se']:.3g}")
        if diff["glm"] > TOL_EMULATED:
            failures.append(f"{name}: glm.fit replay differs from R by {diff['glm']:.3g}")
        if diff["loglik"] > TOL_LOGLIK or diff["deviance"] > TOL_LOGLIK:
            failures.append(f"{name}: log-likelihood/deviance differ by {diff['loglik']:.3g}")
    print("largest differences over all fits: "
          + ", ".join(f"{key} {val:.3g}" for key, val in worst.items()))
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("all fits agree with R within tolerance "
          f"(ability/coef {TOL_ABILITY:g}, se {TOL_SE:g}, loglik/deviance {TOL_LOGLIK:g}, "
          f"glm.fit replay {TOL_EMULATED:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
