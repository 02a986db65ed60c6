"""The paper's illustrative set-ups (Sec. 4.2, 5.3.1, 5.4) composed from the exact modules.

Sec. 4.2 and 5.3.1: two actions, uniform µ and πref, deterministic preference
``p*(y₁ ≻ y₂) = 1``. The logit-ΨPO (RLHF/DPO) policy of Eq. 7 is deterministic for every τ,
the IPO policy is ``π*(y₁) = σ(τ⁻¹/2)`` and tends to πref as τ → ∞.

Sec. 5.4 (Figures 1 and 2 of Azar et al., arXiv:2310.12036): DPO (Eq. 4) and IPO (Eq. 17)
trained with Adam on mini-batches of D1 and of both readings of D3, set beside the exact
optima or limits of :mod:`psipo_exact.solvers`, with the numbers behind every gap between
them (finite optimum or its absence, mini-batch noise from :mod:`psipo_exact.adam_noise`,
Adam's speed limits) and the analysis of both readings of D3. The markdown and CSV report
of these numbers is :mod:`psipo_exact.report`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from . import _checks
from .adam_noise import adam_stationary_covariance, softmax_moments
from .closed_form import psipo_policy
from .losses import empirical_loss, resolve_link
from .model import Dataset, paper_dataset
from .simulate import SimulationResult, simulate
from .solvers import solve_dpo_empirical, solve_ipo_empirical

#: The τ grid of the closed-form sweep (log-spaced, 1e-2 .. 1e2).
DEFAULT_SWEEP_TAUS = np.logspace(-2, 2, 41)


def two_action_deterministic_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(prefs, mu, pi_ref)`` of Sec. 5.3.1: ``p*(y₁ ≻ y₂) = 1``, uniform µ and πref.

    Returns
    -------
    prefs : ndarray, shape (2, 2)
    mu, pi_ref : ndarray, shape (2,)

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 4.2 and Sec. 5.3.1.

    Examples
    --------
    >>> from psipo_exact.experiments import two_action_deterministic_model
    >>> prefs, mu, pi_ref = two_action_deterministic_model()
    >>> print(prefs, mu, pi_ref)
    [[0.5 1. ]
     [0.  0.5]] [0.5 0.5] [0.5 0.5]
    """
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 7, Sec. 4.2 and Sec. 5.3.1.

    Examples
    --------
    >>> import numpy as np
    >>> from psipo_exact.experiments import closed_form_sweep
    >>> sweep = closed_form_sweep([0.1, 1.0, 10.0])
    >>> print(np.round(sweep["ipo_pi_y1"], 4), np.round(sweep["ipo_sigmoid"], 4))
    [0.9933 0.6225 0.5125] [0.9933 0.6225 0.5125]
    >>> print(sweep["logit_pi_y1"])  # RLHF/DPO: deterministic for every τ (Sec. 4.2)
    [1. 1. 1.]
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
        ``steps``, ``batch_size``, ``lr``, ``b1``, ``b2``, ``eps``, ``seeds``, ``figures`` and
        ``figure_datasets`` (figure number -> names of its datasets).

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4, Figures 1 and 2.

    Examples
    --------
    >>> from psipo_exact.experiments import run_sampled_experiment
    >>> exp = run_sampled_experiment(figures=(1,), taus=(1.0,), seeds=2, steps=200)
    >>> type(exp).__name__, exp.result.probs.shape, len(exp.rows)
    ('SampledExperiment', (2, 1, 1, 2, 201, 3), 2)
    >>> exp.exact[("D1", "dpo", 1.0)].policy.tolist()  # DPO's limit on D1
    [1.0, 0.0, 0.0]
    >>> exp.settings["figure_datasets"]
    {1: ('D1',)}
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

    Parameters
    ----------
    data : Dataset
    loss : {"dpo", "ipo", "ipo_symmetric"}
    pi_ref : array_like
    tau : float or array_like
    init : array_like, optional
        Starting logits of the IPO solver.

    Returns
    -------
    Solution

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4 and Eq. 17; Sec. 5.4.

    Examples
    --------
    The symmetric IPO loss (Eq. 17 plus ``1/(4τ²)``) has Eq. 17's optimum; on D1 at τ = 1
    it is ``softmax(1/3, 0, −1/3)``:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.experiments import exact_solution
    >>> d1, uniform = px.paper_dataset("D1"), np.ones(3) / 3
    >>> sol = exact_solution(d1, "ipo_symmetric", uniform, 1.0)
    >>> print(np.round(sol.policy, 4), np.round(px.softmax_policy([1 / 3, 0, -1 / 3]), 4))
    [0.4484 0.3213 0.2302] [0.4484 0.3213 0.2302]
    >>> exact_solution(d1, "dpo", uniform, 1.0).policy.tolist()
    [1.0, 0.0, 0.0]
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

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (18000 Adam steps, lr 0.01, batches of 9,
    10 seeds, τ ∈ {0.01, 0.1, 0.5, 1, 2, 10}; Figures 1 and 2).

    Examples
    --------
    A short run of Figure 1 (D1) at τ = 1: after 200 steps IPO sits within noise of its
    exact optimum ``softmax(1/3, 0, −1/3)``, while DPO is still on its way to ``(1, 0, 0)``:

    >>> from psipo_exact.experiments import run_sampled_experiment
    >>> exp = run_sampled_experiment(figures=(1,), taus=(1.0,), seeds=2, steps=200)
    >>> for row in exp.rows:
    ...     print(row["loss"], row["exact_exists"], round(row["exact_a"], 4), row["reached"])
    dpo False 1.0 False
    ipo True 0.4484 True
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
                    seeds=seeds, figures=figures,
                    figure_datasets={fig: FIGURE_DATASETS[fig] for fig in figures})
    rows = summarise(result, exact, datasets, pi_ref, settings)
    return SampledExperiment(result=result, exact=exact, rows=rows, settings=settings)


def validate_figures(figures) -> tuple[int, ...]:
    """Figure numbers of Sec. 5.4 (1 and/or 2), deduplicated in the given order.

    Parameters
    ----------
    figures : int or sequence of int

    Returns
    -------
    tuple of int

    Raises
    ------
    ValueError
        For a number other than 1 or 2, or no figure.

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 (Figure 1: D1; Figure 2: D3).

    Examples
    --------
    >>> from psipo_exact.experiments import validate_figures
    >>> validate_figures([2, 1, 2]), validate_figures(1)
    ((2, 1), (1,))
    >>> validate_figures([3])
    Traceback (most recent call last):
    ...
    ValueError: figure = 3, must be one of [1, 2]
    """
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


# ------------------------------------------------------------------ summary


def summarise(result: SimulationResult, exact: dict, datasets: dict, pi_ref, settings: dict,
              tol: float = REACHED_TOL) -> list[dict]:
    """One row per (dataset, loss, τ): final mean policy, 95% CI, exact limit and distance.

    The CI is the two-sided Student-t interval over seeds (t with S − 1 degrees of
    freedom, :meth:`SimulationResult.mean_ci`). ``distance`` is ``max_y |π̄(y) − π*(y)|``.
    For finite optima, ``noise_sd``/``noise_shift`` are Adam's predicted stationary spread
    (of one run) and mean shift of π (:mod:`psipo_exact.adam_noise`); for DPO without a
    finite optimum, ``min_gap`` is the smallest final logit gap ``θ_w − θ_l`` over the data,
    ``gap_rate`` its growth per step over the last 10% of steps, ``grad_over_eps`` the final
    full-batch gradient size over Adam's eps.

    Parameters
    ----------
    result : SimulationResult
    exact : dict
        ``(dataset, loss, tau) -> Solution``.
    datasets : dict
        Name -> Dataset.
    pi_ref : array_like
    settings : dict
        At least ``lr``, ``batch_size`` and ``eps``.
    tol : float, default REACHED_TOL
        Distance under which a run has ``reached`` its exact solution.

    Returns
    -------
    list of dict

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4 ("mean and 95% confidence intervals").

    Examples
    --------
    Re-summarise an experiment with a stricter tolerance:

    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.experiments import run_sampled_experiment, summarise
    >>> exp = run_sampled_experiment(figures=(1,), taus=(1.0,), seeds=2, steps=200)
    >>> [(row["loss"], row["reached"]) for row in exp.rows]  # tol = REACHED_TOL = 0.01
    [('dpo', False), ('ipo', True)]
    >>> rows = summarise(exp.result, exp.exact, {"D1": px.paper_dataset("D1")},
    ...                  np.ones(3) / 3, exp.settings, tol=1e-6)
    >>> [(row["loss"], row["reached"]) for row in rows]
    [('dpo', False), ('ipo', False)]
    """
    mean, half = result.mean_ci()
    actions = result.coords["action"]
    rows = []
    coords = (enumerate(result.coords[axis]) for axis in ("dataset", "loss", "tau"))
    for (di, name), (li, loss), (ti, tau) in itertools.product(*coords):
        sol = exact[(name, loss, tau)]
        final = mean[li, di, ti, -1]
        row = dict(dataset=name, loss=loss, tau=tau)
        for ai, a in enumerate(actions):
            row.update({f"mean_{a}": float(final[ai]), f"ci95_{a}": float(half[li, di, ti, -1, ai]),
                        f"exact_{a}": float(sol.policy[ai])})
        row.update(exact_exists=bool(sol.exists), exact_unique=bool(sol.unique))
        row["distance"] = float(np.max(np.abs(final - sol.policy)))
        row["reached"] = bool(row["distance"] <= tol)
        row.update(_mechanism(result, (li, di, ti), datasets[name], loss, tau, sol, pi_ref,
                              settings))
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
    and each loss, in increasing τ: the exact π(c), the simulated mean and CI, and the checks
    ``exact_excludes`` (π*(c) = 0 for every τ: "ignores πref"), ``exact_increasing``
    (π*(c) increases with τ: "gradually decreases the probability ... with τ" read as τ
    decreases; False with a single τ), the same two for the simulated means, the largest
    drop of π̄(c) below πref(c) and, for finite optima, Adam's predicted noise shift of
    π(c). On D3 it also records whether θ_c stayed exactly at θ₀ and θ_a = −θ_b exactly in
    every run.

    Parameters
    ----------
    experiment : SampledExperiment
        With D3 and/or D3_never_wins among its datasets.
    action : str, default "c"
        The action whose probability is analysed.

    Returns
    -------
    dict
        Reading -> loss -> the numbers and flags above (plus the D3 flags).

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4, Figure 2 and the text around it.

    Examples
    --------
    On D3_never_wins ({a≻b, b≻c}) IPO's equations ``θ_a − θ_b = θ_b − θ_c = 1/(2τ)`` hold
    exactly, so ``π*(c) = e^(−1/(2τ)) / (e^(1/(2τ)) + 1 + e^(−1/(2τ)))``: 4.509e-05 at
    τ = 0.1 and 0.1863 at τ = 1; DPO's limit has ``π(c) = 0`` for every τ:

    >>> import numpy as np
    >>> from psipo_exact.experiments import d3_analysis, run_sampled_experiment
    >>> exp = run_sampled_experiment(figures=(2,), taus=(0.1, 1.0), seeds=2, steps=100)
    >>> info = d3_analysis(exp)["D3_never_wins"]
    >>> print([f"{p:.4g}" for p in info["ipo"]["exact"]], info["ipo"]["exact_increasing"])
    ['4.509e-05', '0.1863'] True
    >>> info["dpo"]["exact"].tolist(), info["dpo"]["exact_excludes"]
    ([0.0, 0.0], True)
    >>> c = np.exp(-1 / (2 * np.array([0.1, 1.0])))
    >>> print([f"{p:.4g}" for p in c / (1 / c + 1 + c)])
    ['4.509e-05', '0.1863']
    """
    res = experiment.result
    ai = res.index("action", action)
    reference = 1.0 / len(res.coords["action"])             # πref(c): uniform πref
    out = {}
    for name in ("D3", "D3_never_wins"):
        if name not in res.coords["dataset"]:
            continue
        di = res.index("dataset", name)
        rows = sorted((r for r in experiment.rows if r["dataset"] == name),
                      key=lambda r: r["tau"])               # "with τ" means in τ order
        info = {}
        for loss in res.coords["loss"]:
            mine = [r for r in rows if r["loss"] == loss]
            several = len(mine) > 1                         # a trend needs two τ at least
            exact = np.array([r[f"exact_{action}"] for r in mine])
            sim = np.array([r[f"mean_{action}"] for r in mine])
            ci = np.array([r[f"ci95_{action}"] for r in mine])
            info[loss] = dict(
                tau=[r["tau"] for r in mine], exact=exact, mean=sim, ci95=ci,
                exact_policy=np.array([[r[f"exact_{a}"] for a in res.coords["action"]]
                                       for r in mine]), pi_ref=reference,
                exists=all(r["exact_exists"] for r in mine),
                unique=all(r["exact_unique"] for r in mine),
                exact_excludes=bool(np.all(exact <= 1e-12)),
                exact_increasing=several and bool(np.all(np.diff(exact) > 0)),
                sim_excludes=bool(np.all(sim <= 1e-3)),
                sim_excluded_taus=[r["tau"] for r in mine if r[f"mean_{action}"] <= 1e-3],
                sim_increasing=several and bool(np.all(np.diff(sim) > -(ci[1:] + ci[:-1]))
                                                and sim[-1] - sim[0] > ci[-1] + ci[0]),
                drop_from_ref=float(np.max(reference - sim)),
                noise_shift=np.array([r["noise_shift"] for r in mine]))
        if name == "D3":
            logits = res.logits[:, di]
            info["theta_c_fixed"] = bool(np.all(logits[..., ai] == logits[..., :1, ai]))
            a, b = res.index("action", "a"), res.index("action", "b")
            info["theta_a_opposite_b"] = bool(np.all(logits[..., a] == -logits[..., b]))
        out[name] = info
    return out
