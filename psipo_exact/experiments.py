"""The paper's illustrative set-ups (Sec. 4.2, 5.3.1, 5.4) composed from the exact modules.

Sec. 4.2 and 5.3.1: two actions, uniform µ and πref, deterministic preference
``p*(y₁ ≻ y₂) = 1``. The logit-ΨPO (RLHF/DPO) policy of Eq. 7 is deterministic for every τ,
the IPO policy is ``π*(y₁) = σ(τ⁻¹/2)`` and tends to πref as τ → ∞.

Sec. 5.4 (Figures 1 and 2 of Azar et al., arXiv:2310.12036): DPO (Eq. 4) and IPO (Eq. 17)
trained with Adam on mini-batches of D1 and of both readings of D3, set beside the exact
optima or limits of :mod:`psipo_exact.solvers`, with the mechanism (finite optimum, its
absence, mini-batch noise, Adam's speed limits) behind every gap between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from . import _checks
from .closed_form import psipo_policy
from .losses import empirical_loss, reference_gap, resolve_link
from .model import Dataset, paper_dataset
from .simulate import SimulationResult, simulate
from .solvers import solve_dpo_empirical, solve_ipo_empirical

#: The τ grid of the closed-form sweep (log-spaced, 1e-2 .. 1e2).
DEFAULT_SWEEP_TAUS = np.logspace(-2, 2, 41)


def two_action_deterministic_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(prefs, mu, pi_ref)`` of Sec. 5.3.1: ``p*(y₁ ≻ y₂) = 1``, uniform µ and πref."""
    prefs = np.array([[0.5, 1.0], [0.0, 0.5]])
    uniform = np.array([0.5, 0.5])
    return prefs, uniform, uniform


def closed_form_sweep(taus=DEFAULT_SWEEP_TAUS) -> dict[str, np.ndarray]:
    """Eq. 7 policies of Sec. 4.2/5.3.1 over a τ grid, for Ψ = identity (IPO) and logit.

    Parameters
    ----------
    taus : array_like
        τ values (> 0).

    Returns
    -------
    dict
        ``tau``; ``ipo_pi_y1``/``ipo_pi_y2`` (Eq. 7 with Ψ = identity);
        ``logit_pi_y1``/``logit_pi_y2`` (Eq. 7 with Ψ = logit, i.e. RLHF/DPO by Prop. 1);
        ``ipo_sigmoid`` = σ(τ⁻¹/2), the paper's closed form of Sec. 5.3.1, computed
        independently for comparison.
    """
    taus = _checks.tau(np.atleast_1d(taus))
    prefs, mu, pi_ref = two_action_deterministic_model()
    ipo = psipo_policy(prefs, mu, pi_ref, taus, psi="identity")
    logit = psipo_policy(prefs, mu, pi_ref, taus, psi="logit")
    return {
        "tau": taus,
        "ipo_pi_y1": ipo[:, 0],
        "ipo_pi_y2": ipo[:, 1],
        "logit_pi_y1": logit[:, 0],
        "logit_pi_y2": logit[:, 1],
        "ipo_sigmoid": 1.0 / (1.0 + np.exp(-0.5 / taus)),
    }


# ------------------------------------------------------------------ Sec. 5.4: sampled runs

#: The τ grid of Figures 1 and 2 (Sec. 5.4).
DEFAULT_TAUS = (0.01, 0.1, 0.5, 1.0, 2.0, 10.0)
#: The datasets of each figure: Fig. 1 is D1; Fig. 2 is D3, in both readings.
FIGURE_DATASETS = {1: ("D1",), 2: ("D3", "D3_never_wins")}
#: The losses compared in Sec. 5.4: DPO (Eq. 4) and IPO (Eq. 17).
PAPER_LOSSES = ("dpo", "ipo")
#: Distance (max abs difference of probabilities) under which a run "reached" its limit.
REACHED_TOL = 1e-2


@dataclass(frozen=True, eq=False)
class SampledExperiment:
    """Sec. 5.4 runs beside their exact optima or limits.

    Attributes
    ----------
    result : SimulationResult
        The Adam runs (axes loss, dataset, tau, seed, record, action).
    exact : dict
        ``(dataset, loss, tau) -> Solution`` from :func:`psipo_exact.solvers.solve_ipo_empirical`
        (θ₀ as init) or :func:`psipo_exact.solvers.solve_dpo_empirical`.
    rows : list of dict
        One summary row per (dataset, loss, τ); see :func:`summarise`.
    settings : dict
        ``steps``, ``batch_size``, ``lr``, ``b1``, ``b2``, ``eps``, ``seeds``, ``figures``.
    """

    result: SimulationResult
    exact: dict
    rows: list
    settings: dict


def exact_solution(data: Dataset, loss: str, pi_ref, tau, init=None):
    """Exact optimum (or limit) of an empirical loss: IPO (Eq. 17) or DPO (Eq. 4).

    ``"ipo"`` and ``"ipo_symmetric"`` (Eq. 17 plus a constant) share the minimiser of
    :func:`~psipo_exact.solvers.solve_ipo_empirical`, which returns the one gradient descent
    from ``init`` converges to; ``"dpo"`` uses :func:`~psipo_exact.solvers.solve_dpo_empirical`.
    """
    name = resolve_link(loss).name
    if name == "dpo":
        return solve_dpo_empirical(data, pi_ref, tau)
    return solve_ipo_empirical(data, pi_ref, tau, init=init)


def run_sampled_experiment(figures=(1, 2), taus=DEFAULT_TAUS, seeds=10, *, steps=18000,
                           batch_size=9, lr=0.01, b1=0.9, b2=0.999, eps=1e-8,
                           record_every=None, progress=False) -> SampledExperiment:
    """Figures 1 and 2 of Sec. 5.4 with the exact optima or limits beside the runs.

    Runs DPO (Eq. 4) and IPO (Eq. 17) with optax's Adam on mini-batches (one
    :func:`~psipo_exact.simulate.simulate` call for all figures), uniform πref, θ₀ = 0.

    Parameters
    ----------
    figures : sequence of {1, 2}
        Fig. 1 uses D1; Fig. 2 uses D3 as printed and D3_never_wins.
    taus : sequence of float
        τ grid (> 0); default the paper's {0.01, 0.1, 0.5, 1, 2, 10}.
    seeds : int
        Number of seeds (0 .. seeds − 1).
    steps, batch_size, lr, b1, b2, eps
        As in :func:`~psipo_exact.simulate.simulate` (paper: 18000, 9, 0.01, optax defaults).
    record_every : int, optional
        Default: about 300 records per run.
    progress : bool
        tqdm progress bar.

    Returns
    -------
    SampledExperiment
    """
    figures = validate_figures(figures)
    names = [name for fig in figures for name in FIGURE_DATASETS[fig]]
    datasets = {name: paper_dataset(name) for name in dict.fromkeys(names)}
    seeds = _checks.positive_int(seeds, "seeds")
    steps = _checks.positive_int(steps, "steps")
    if record_every is None:
        record_every = max(1, steps // 300)
    result = simulate(datasets, PAPER_LOSSES, taus, range(seeds), steps=steps,
                      batch_size=batch_size, lr=lr, b1=b1, b2=b2, eps=eps,
                      record_every=record_every, progress=progress)
    pi_ref = np.full(3, 1.0 / 3.0)
    exact = {(d, loss, tau): exact_solution(datasets[d], loss, pi_ref, tau,
                                            init=np.zeros(3))
             for d in datasets for loss in PAPER_LOSSES for tau in result.coords["tau"]}
    settings = dict(steps=steps, batch_size=batch_size, lr=lr, b1=b1, b2=b2, eps=eps,
                    seeds=seeds, figures=figures)
    rows = summarise(result, exact, datasets, pi_ref, settings)
    return SampledExperiment(result=result, exact=exact, rows=rows, settings=settings)


def validate_figures(figures) -> tuple[int, ...]:
    """Figure numbers of Sec. 5.4 (1 and/or 2), deduplicated in the given order."""
    if isinstance(figures, (int, np.integer)):
        figures = (figures,)
    out = []
    for fig in figures:
        if isinstance(fig, bool) or not isinstance(fig, (int, np.integer)) or \
                int(fig) not in FIGURE_DATASETS:
            raise ValueError(f"figure = {fig!r}, must be one of {sorted(FIGURE_DATASETS)}")
        out.append(int(fig))
    if not out:
        raise ValueError("figures is empty: give 1 and/or 2")
    return tuple(dict.fromkeys(out))


# ------------------------------------------------------------------ noise and Adam speed


def _link_curvature(link, h, tau):
    """``ℓ″(h)`` by a central difference of the link's derivative (no second formula)."""
    step = 1e-5 * np.maximum(1.0, np.abs(h))
    return (link.grad(h + step, tau) - link.grad(h - step, tau)) / (2 * step)


def adam_stationary_covariance(data: Dataset, loss: str, logits, pi_ref, tau, *, lr=0.01,
                               batch_size=9) -> np.ndarray:
    """Covariance of the logits of mini-batch Adam around a finite optimum (small-lr theory).

    Near the optimum θ* the mini-batch gradient is ``H δθ + ξ`` with ``H`` the Hessian of the
    empirical loss (Eq. 4 or 17) and ``ξ`` the multinomial sampling noise, covariance
    ``Σ = (1/B)(Σ_i p_i a_i a_iᵀ − ḡḡᵀ)``, ``a_i = ℓ′(h_i)(e_{w_i} − e_{l_i})``, ``p_i = 1/N``.
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
        The finite optimum θ* (e.g. ``Solution.logits``).
    pi_ref : array_like, shape (n,)
    tau : float
    lr : float
    batch_size : int

    Returns
    -------
    ndarray, shape (n, n)
    """
    link = resolve_link(loss)
    theta = _checks.as_float_array(logits, "logits", min_ndim=1)
    inc = data.incidence.toarray()
    h = inc @ theta - reference_gap(data, pi_ref)
    p = 1.0 / len(data)
    per = inc * link.grad(h, tau)[:, None]
    mean = p * per.sum(axis=0)
    cov = (p * per.T @ per - np.outer(mean, mean)) / batch_size
    hess = p * inc.T @ (inc * _link_curvature(link, h, tau)[:, None])
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
    """
    theta = np.asarray(logits, dtype=float)
    pi = np.exp(theta - theta.max())
    pi /= pi.sum()
    n = pi.size
    eye = np.eye(n)
    jac = np.diag(pi) - np.outer(pi, pi)
    # ∂²π_i/∂θ_j∂θ_k = π_i[(δ_ij − π_j)(δ_ik − π_k) − π_j(δ_jk − π_k)]
    d2 = pi[:, None, None] * ((eye - pi)[:, :, None] * (eye - pi)[:, None, :]
                              - pi[None, :, None] * (eye - pi)[None, :, :])
    shift = 0.5 * np.einsum("ijk,jk->i", d2, cov)
    return shift, np.sqrt(np.clip(np.diag(jac @ cov @ jac.T), 0.0, None))


# ------------------------------------------------------------------ summary


def summarise(result: SimulationResult, exact: dict, datasets: dict, pi_ref, settings: dict,
              tol: float = REACHED_TOL) -> list[dict]:
    """One row per (dataset, loss, τ): final mean policy, 95% CI, exact limit and distance.

    The CI is the two-sided Student-t interval over seeds (t with S − 1 degrees of
    freedom, :meth:`SimulationResult.mean_ci`). ``distance`` is ``max_y |π̄(y) − π*(y)|``.
    For finite optima, ``noise_sd``/``noise_shift`` are Adam's predicted stationary spread
    and mean shift of π (:func:`adam_stationary_covariance`); for DPO without a finite
    optimum, ``min_gap`` is the smallest final logit gap ``θ_w − θ_l`` over the data,
    ``gap_rate`` its growth per step over the last 10% of steps, ``grad_over_eps`` the final
    full-batch gradient size over Adam's eps.
    """
    mean, half = result.mean_ci()
    actions = result.coords["action"]
    rows = []
    for di, name in enumerate(result.coords["dataset"]):
        for li, loss in enumerate(result.coords["loss"]):
            for ti, tau in enumerate(result.coords["tau"]):
                sol = exact[(name, loss, tau)]
                row = dict(dataset=name, loss=loss, tau=tau)
                for ai, a in enumerate(actions):
                    row[f"mean_{a}"] = float(mean[li, di, ti, -1, ai])
                    row[f"ci95_{a}"] = float(half[li, di, ti, -1, ai])
                    row[f"exact_{a}"] = float(sol.policy[ai])
                row.update(exact_exists=bool(sol.exists), exact_unique=bool(sol.unique))
                final = mean[li, di, ti, -1]
                row["distance"] = float(np.max(np.abs(final - sol.policy)))
                row["reached"] = bool(row["distance"] <= tol)
                row.update(_mechanism(result, (li, di, ti), datasets[name], loss, tau, sol,
                                      pi_ref, settings))
                rows.append(row)
    return rows


def _mechanism(result, index, data, loss, tau, sol, pi_ref, settings) -> dict:
    """Numbers explaining a row: predicted noise for finite optima, Adam speed otherwise."""
    out = dict(noise_sd=np.nan, noise_shift=np.nan, min_gap=np.nan, gap_rate=np.nan,
               grad_over_eps=np.nan)
    logits = result.logits[index]                                  # (seed, record, n)
    if sol.exists:
        cov = adam_stationary_covariance(data, loss, sol.logits, pi_ref, tau,
                                         lr=settings["lr"], batch_size=settings["batch_size"])
        shift, sd = softmax_moments(sol.logits, cov)
        out.update(noise_sd=float(sd.max()), noise_shift=float(np.abs(shift).max()))
        return out
    gaps = logits @ data.incidence.toarray().T                     # (seed, record, N)
    min_gap = gaps.min(axis=-1).mean(axis=0)                       # (record,)
    steps = result.steps
    start = np.searchsorted(steps, 0.9 * steps[-1])
    span = max(steps[-1] - steps[start], 1)
    final = logits[:, -1].mean(axis=0)
    _, g = empirical_loss(loss, final, data, pi_ref, tau, return_grad=True)
    out.update(min_gap=float(min_gap[-1]), gap_rate=float((min_gap[-1] - min_gap[start]) / span),
               grad_over_eps=float(np.abs(g).max() / settings["eps"]))
    return out


# ------------------------------------------------------------------ D3: both readings


def d3_analysis(experiment: SampledExperiment, action: str = "c") -> dict:
    """Which mechanism produces the Figure 2 text, for each reading of D3 (Sec. 5.4).

    For each reading present ("D3" = {a≻b, b≻a} as printed, "D3_never_wins" = {a≻b, b≻c})
    and each loss: the exact π(c) over τ, the simulated mean and CI, and the checks
    ``exact_excludes`` (π*(c) = 0 for every τ: "ignores πref"), ``exact_increasing``
    (π*(c) increases with τ: "gradually decreases the probability ... with τ" read as τ
    decreases), the same two for the simulated means, and, for finite optima, Adam's
    predicted noise shift of π(c). On D3 it also records whether θ_c stayed exactly at θ₀
    and θ_a = −θ_b exactly in every run.
    """
    res = experiment.result
    ai = res.index("action", action)
    out = {}
    for name in ("D3", "D3_never_wins"):
        if name not in res.coords["dataset"]:
            continue
        di = res.index("dataset", name)
        rows = [r for r in experiment.rows if r["dataset"] == name]
        info = {}
        for loss in res.coords["loss"]:
            mine = [r for r in rows if r["loss"] == loss]
            exact = np.array([r[f"exact_{action}"] for r in mine])
            sim = np.array([r[f"mean_{action}"] for r in mine])
            ci = np.array([r[f"ci95_{action}"] for r in mine])
            info[loss] = dict(
                tau=[r["tau"] for r in mine], exact=exact, mean=sim, ci95=ci,
                exists=all(r["exact_exists"] for r in mine),
                unique=all(r["exact_unique"] for r in mine),
                exact_excludes=bool(np.all(exact <= 1e-12)),
                exact_increasing=bool(np.all(np.diff(exact) > 0)),
                sim_excludes=bool(np.all(sim <= 1e-3)),
                sim_excluded_taus=[r["tau"] for r in mine if r[f"mean_{action}"] <= 1e-3],
                sim_increasing=bool(np.all(np.diff(sim) > -(ci[1:] + ci[:-1]))
                                    and sim[-1] - sim[0] > ci[-1] + ci[0]),
                drop_from_ref=float(np.max(1.0 / 3.0 - sim)),
                noise_shift=np.array([r["noise_shift"] for r in mine]))
        if name == "D3":
            logits = res.logits[:, di]
            info["theta_c_fixed"] = bool(np.all(logits[..., ai] == logits[..., :1, ai]))
            info["theta_a_opposite_b"] = bool(np.all(logits[..., 0] == -logits[..., 1]))
        out[name] = info
    return out


def _fmt(x: float) -> str:
    return "n/a" if not np.isfinite(x) else (f"{x:.3g}" if abs(x) < 1e-3 and x else f"{x:.4f}")


def summary_markdown(experiment: SampledExperiment) -> str:
    """``summary.md``: the Sec. 5.4 tables, the runs short of their limit and why, and the
    D3 conclusions, all generated from the computed numbers."""
    s = experiment.settings
    lines = [
        "# Sec. 5.4 sampled experiments beside their exact optima",
        "",
        f"Adam (optax, lr {s['lr']}, b1 {s['b1']}, b2 {s['b2']}, eps {s['eps']}), "
        f"{s['steps']} steps, mini-batches of {s['batch_size']} drawn uniformly with "
        f"replacement, {s['seeds']} seeds, θ₀ = 0, uniform πref. Means over seeds with "
        "two-sided 95% Student-t intervals (S − 1 degrees of freedom). `exact` is the "
        "optimum of `solve_ipo_empirical` (IPO, Eq. 17) or the optimum/limit of "
        "`solve_dpo_empirical` (DPO, Eq. 4); `distance` = max_y |π̄(y) − π*(y)|; "
        f"`reached` means distance ≤ {REACHED_TOL}.",
        "",
    ]
    lines += _summary_table(experiment)
    lines += _not_reached(experiment)
    lines += _d3_section(experiment)
    return "\n".join(lines) + "\n"


def _summary_table(experiment) -> list[str]:
    actions = experiment.result.coords["action"]
    head = ("| dataset | loss | τ | " + " | ".join(f"π̄({a}) ± CI" for a in actions)
            + " | " + " | ".join(f"π*({a})" for a in actions)
            + " | finite optimum | distance | reached |")
    out = [head, "|" + "---|" * (6 + 2 * len(actions))]
    for r in experiment.rows:
        means = " | ".join(f"{r[f'mean_{a}']:.4f} ± {r[f'ci95_{a}']:.4f}" for a in actions)
        exact = " | ".join(f"{r[f'exact_{a}']:.4f}" for a in actions)
        out.append(f"| {r['dataset']} | {r['loss'].upper()} | {r['tau']:g} | {means} | "
                   f"{exact} | {'yes' if r['exact_exists'] else 'no'} | "
                   f"{_fmt(r['distance'])} | {'yes' if r['reached'] else '**no**'} |")
    return out + [""]


def _not_reached(experiment) -> list[str]:
    s = experiment.settings
    lr, steps, b2, eps = s["lr"], s["steps"], s["b2"], s["eps"]
    out = ["## Runs that have not reached their exact limit", ""]
    misses = [r for r in experiment.rows if not r["reached"]]
    if not misses:
        return out + [f"None: every mean policy is within {REACHED_TOL} of its limit.", ""]
    out += [
        "Why, from the losses and from Adam (numbers computed from the runs):",
        "",
        f"* Adam moves each logit by about lr = {lr} per step at most while the gradient "
        f"keeps its sign, so after {steps} steps a logit gap θ_w − θ_l is at most about "
        f"2·lr·T = {2 * lr * steps:g}.",
        "* DPO's per-datum gradient is τσ(−τh) ≈ τe^{−τh}: it shrinks by a factor e each "
        "time the gap h grows by 1/τ. Adam's √v̂ averages g² over about 1/(1 − b2) = "
        f"{1 / (1 - b2):g} steps, so its step stays ≈ lr only while g² shrinks by less than "
        "a factor e per 1/(1 − b2) steps, i.e. while h grows by less than (1 − b2)/(2τ) per "
        "step; faster growth makes √v̂ remember larger past gradients and the step "
        "collapses. The gap can thus grow only at min(2·lr, (1 − b2)/(2τ)) per step and the "
        "excluded actions' probabilities ≈ e^{−gap} decay slowly when τ is large.",
        "",
        "| dataset | loss | τ | distance | finite optimum | smallest gap | gap growth / step "
        "| 2·lr | (1 − b2)/(2τ) | final max|∇|/eps | mechanism |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in misses:
        tau = r["tau"]
        limit = (1 - b2) / (2 * tau)
        if not r["exact_exists"]:
            why = ("no finite minimiser: gaps must diverge; Adam's second-moment memory caps "
                   "their growth" if limit < 2 * lr else
                   "no finite minimiser: gaps must diverge; the lr·T bound caps them")
        elif r["distance"] <= 4 * r["noise_sd"] + r["noise_shift"]:
            why = "mini-batch noise (within Adam's predicted stationary spread)"
        else:
            why = "not converged in the given steps"
        out.append(
            f"| {r['dataset']} | {r['loss'].upper()} | {tau:g} | {_fmt(r['distance'])} | "
            f"{'yes' if r['exact_exists'] else 'no'} | {_fmt(r['min_gap'])} | "
            f"{_fmt(r['gap_rate'])} | {2 * lr:g} | {_fmt(limit)} | "
            f"{_fmt(r['grad_over_eps'])} | {why} |")
    out += ["", f"A ratio |∇|/eps ≫ 1 means eps = {eps:g} plays no part in the slowdown.", ""]
    return out


def _d3_section(experiment) -> list[str]:
    info = d3_analysis(experiment)
    if not info:
        return []
    out = ["## Figure 2: the two readings of D3", "",
           "Text to explain: \"DPO ignores the prior πref completely, no matter how strong we "
           "regularize, whereas IPO gradually decreases the probability of unobserved action "
           "with τ\" (unobserved action: c).", ""]
    for name, d in info.items():
        out.append(f"### {name}" + (" = {a≻b, b≻a} (as printed)" if name == "D3"
                                     else " = {a≻b, b≻c}"))
        out.append("")
        out.append("| loss | τ | π*(c) exact | π̄(c) ± 95% CI | predicted noise shift |")
        out.append("|---|---|---|---|---|")
        for loss in ("dpo", "ipo"):
            if loss not in d:
                continue
            x = d[loss]
            for k, tau in enumerate(x["tau"]):
                out.append(f"| {loss.upper()} | {tau:g} | {x['exact'][k]:.4f} | "
                           f"{x['mean'][k]:.4f} ± {x['ci95'][k]:.4f} | "
                           f"{_fmt(x['noise_shift'][k])} |")
        out += [""] + _d3_conclusions(name, d) + [""]
    return out


def _taus(values) -> str:
    return "{" + ", ".join(f"{t:g}" for t in values) + "}" if values else "no τ"


def _d3_conclusions(name, d) -> list[str]:
    out = []
    dpo, ipo = d.get("dpo"), d.get("ipo")
    if name == "D3":
        out.append(
            f"* Both losses depend on the logits only through h_ab; both are minimised at "
            f"h_ab = 0 and c is in no datum, so θ_c has identically zero gradient. In every "
            f"run θ_c stayed exactly at θ₀: **{d['theta_c_fixed']}**; θ_a = −θ_b exactly: "
            f"**{d['theta_a_opposite_b']}**. Hence π(c) = 1/(1 + 2 cosh θ_a) ≤ 1/3, with "
            "equality at the optimum: the exact optimum from θ₀ = 0 is πref for every τ, for "
            "DPO and IPO alike (θ_c itself is a free direction of both losses).")
        for loss, x in (("DPO", dpo), ("IPO", ipo)):
            if x is None:
                continue
            out.append(
                f"* {loss}: exact π*(c) = 1/3 for every τ; the simulated π̄(c) falls below 1/3 "
                f"by at most {x['drop_from_ref']:.4f}, through mini-batch noise in θ_a alone "
                f"(predicted shift up to {_fmt(np.nanmax(x['noise_shift']))}); π̄(c) ≤ 1e-3 "
                f"at {_taus(x['sim_excluded_taus'])}; π̄(c) increases with τ beyond the CIs: "
                f"**{x['sim_increasing']}**.")
        flat = dpo is not None and ipo is not None and all(
            np.ptp(x["exact"]) < 1e-12 and not x["exact_excludes"] for x in (dpo, ipo))
        if flat:
            stronger = dpo["drop_from_ref"] >= ipo["drop_from_ref"]
            out.append(
                "* Conclusion: on D3 as printed no optimum excludes c or depends on τ. The only "
                "τ-dependence is the noise-induced drop of π̄(c) at small τ (Adam's stationary "
                "spread of θ_a grows like lr/τ for both losses), of at most "
                f"{dpo['drop_from_ref']:.4f} for DPO and {ipo['drop_from_ref']:.4f} for IPO "
                f"(DPO's at least as large: **{stronger}**). Noise therefore yields neither "
                "\"DPO ignores πref\" nor a contrast in which only IPO lowers π(c) with τ: the "
                "printed D3 cannot produce the behaviour the text describes.")
    else:
        for loss, x in (("DPO", dpo), ("IPO", ipo)):
            if x is None:
                continue
            kind = ("limit (no finite minimiser: b and c lose to a, which is never beaten)"
                    if not x["exists"] else "unique optimum π ∝ πref·(e^{1/τ}, e^{1/(2τ)}, 1)")
            out.append(
                f"* {loss}: exact {kind}; π*(c) = 0 for every τ: **{x['exact_excludes']}**; "
                f"π*(c) increasing in τ: **{x['exact_increasing']}**; simulated π̄(c) ≤ 1e-3 "
                f"at {_taus(x['sim_excluded_taus'])}; π̄(c) increasing in τ beyond the CIs: "
                f"**{x['sim_increasing']}**.")
        explained = (dpo is not None and ipo is not None and dpo["exact_excludes"]
                     and ipo["exact_increasing"] and not ipo["exact_excludes"])
        if not explained:
            return out + ["* Conclusion: the exact solutions here do not show the described "
                          "contrast (see the flags above)."]
        out.append(
            "* Conclusion: on D3_never_wins both sentences follow from the exact solutions, "
            "with no help from noise: DPO's limit puts π(c) = 0 (and π(a) = 1) for every τ, "
            "while IPO's optimum keeps π(c) > 0 and raises it towards πref(c) = 1/3 as τ "
            "grows. Where a DPO run is still short of π(c) = 0 after the given steps (large "
            "τ), the table of runs short of their limit gives the Adam mechanism and distance.")
    return out


def summary_columns(rows: list[dict]) -> dict:
    """The summary rows as CSV columns (name -> list of values)."""
    return {key: [r[key] for r in rows] for key in rows[0]}
