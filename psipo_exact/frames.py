"""Tables with labels: datasets, solutions and simulation results to and from pandas.

pandas is an optional dependency (the ``frames`` extra), imported only here and only when a
function runs; the core of psipo_exact needs numpy and scipy alone. Reading a table does not
need pandas at all (:meth:`Dataset.from_frame` accepts any mapping of columns); this module
writes them. Every table carries labels (action names, context names, τ, loss and dataset
names), never bare indices.
"""

from __future__ import annotations

import numpy as np

from .model import Dataset
from .simulate import SimulationResult
from .solvers import BradleyTerrySolution, Solution, TieModelSolution


def _pandas():
    try:
        import pandas
    except ImportError:  # pragma: no cover - exercised only without pandas
        raise ImportError("this needs pandas: pip install 'psipo-exact[frames]'") from None
    return pandas


def dataset_frame(data: Dataset):
    """A dataset as a DataFrame: ``winner, loser`` (labels), and ``context``, ``weight``,
    ``tie`` where the dataset has them.

    Parameters
    ----------
    data : Dataset

    Returns
    -------
    pandas.DataFrame
        Readable back with ``Dataset.from_frame(frame, context="context", weight="weight",
        tie="tie")``.

    Raises
    ------
    TypeError
        If ``data`` is not a Dataset.

    Examples
    --------
    >>> import psipo_exact as px
    >>> from psipo_exact.frames import dataset_frame
    >>> dataset_frame(px.paper_dataset("D1")).values.tolist()
    [['a', 'b'], ['b', 'c'], ['a', 'c']]

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (the dataset D).
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a psipo_exact.Dataset, got {type(data).__name__}")
    columns = dict(zip(("winner", "loser", "context"), zip(*data.to_pairs())))
    if data.weights is not None:
        columns["weight"] = data.weights
    if data.ties is not None:
        columns["tie"] = data.ties
    return _pandas().DataFrame({k: list(v) for k, v in columns.items()})


def solution_frame(solution: Solution, data: Dataset | None = None, *, tau=None,
                   actions=None, contexts=None):
    """A solution as a long DataFrame: one row per (τ, context, action).

    Parameters
    ----------
    solution : Solution
        Any solver's result (``rewards``/``stderr`` columns for the fits).
    data : Dataset, optional
        Supplies ``action_names`` and ``context_names``.
    tau : float or array_like, optional
        The τ of the solve; a grid labels the leading axis.
    actions, contexts : sequence, optional
        Labels overriding ``data``'s.

    Returns
    -------
    pandas.DataFrame
        Columns ``[tau], [context], action, policy, logits[, reward, stderr]``.

    Raises
    ------
    ValueError
        If the labels do not fit the solution's shape.

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> from psipo_exact.frames import solution_frame
    >>> data = px.paper_dataset("D1")
    >>> frame = solution_frame(px.solve_ipo_empirical(data, np.ones(3) / 3, [0.5, 1.0]), data,
    ...                        tau=[0.5, 1.0])
    >>> frame.columns.tolist(), len(frame)
    (['tau', 'action', 'policy', 'logits'], 6)

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 4, 7, 17.
    """
    if not isinstance(solution, Solution):
        raise TypeError(f"solution must be a Solution, got {type(solution).__name__}")
    shape = solution.policy.shape
    n = shape[-1]
    actions = list(actions if actions is not None else (
        data.action_names if data is not None and data.action_names else range(n)))
    contextual = data is not None and data.contexts is not None or contexts is not None
    axes = []
    if tau is not None and np.ndim(tau):
        axes.append(("tau", [float(t) for t in np.ravel(tau)]))
    if contextual:
        labels = contexts if contexts is not None else (
            data.context_names or range(data.n_contexts))
        axes.append(("context", list(labels)))
    axes.append(("action", actions))
    if tuple(len(v) for _, v in axes) != shape:
        raise ValueError(f"labels of shape {tuple(len(v) for _, v in axes)} do not fit the "
                         f"solution's shape {shape}")
    grid = np.meshgrid(*[np.arange(len(v)) for _, v in axes], indexing="ij")
    columns = {name: np.asarray(labels, dtype=object)[g.ravel()]
               for (name, labels), g in zip(axes, grid)}
    if tau is not None and not np.ndim(tau):
        columns = {"tau": np.full(grid[0].size, float(tau)), **columns}
    columns["policy"] = solution.policy.ravel()
    columns["logits"] = solution.logits.ravel()
    if isinstance(solution, BradleyTerrySolution):
        columns["reward"] = solution.rewards.ravel()
        columns["stderr"] = solution.stderr.ravel()
    frame = _pandas().DataFrame(columns)
    if isinstance(solution, TieModelSolution):
        frame.attrs.update(tie_model=solution.tie_model, tie_parameter=solution.tie_parameter)
    return frame


def simulation_frame(result: SimulationResult):
    """A :class:`SimulationResult` as a long DataFrame, one row per recorded probability.

    Parameters
    ----------
    result : SimulationResult

    Returns
    -------
    pandas.DataFrame
        Columns ``loss, dataset, tau, seed, step, [context], action, prob, logit``.

    Raises
    ------
    TypeError
        If ``result`` is not a SimulationResult.

    Examples
    --------
    >>> import psipo_exact as px
    >>> from psipo_exact.frames import simulation_frame
    >>> result = px.simulate(px.paper_dataset("D1"), ["ipo"], [1.0], 1, steps=4,
    ...                      record_every=2)
    >>> frame = simulation_frame(result)
    >>> frame.columns.tolist()[:6], len(frame)
    (['loss', 'dataset', 'tau', 'seed', 'step', 'action'], 9)

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4.
    """
    if not isinstance(result, SimulationResult):
        raise TypeError(f"result must be a SimulationResult, got {type(result).__name__}")
    names = ["step" if d == "record" else d for d in result.dims]
    labels = [result.coords[d] for d in result.dims]
    grid = np.meshgrid(*[np.arange(len(v)) for v in labels], indexing="ij")
    columns = {name: np.asarray(list(v), dtype=object)[g.ravel()]
               for name, v, g in zip(names, labels, grid)}
    columns["prob"] = result.probs.ravel()
    columns["logit"] = result.logits.ravel()
    return _pandas().DataFrame(columns)


def simulation_xarray(result: SimulationResult):
    """A :class:`SimulationResult` as an ``xarray.Dataset`` (``prob``, ``logit``) with labelled
    dimensions (``record`` is named ``step``).

    Parameters
    ----------
    result : SimulationResult

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    ImportError
        If xarray is not installed.

    Examples
    --------
    (Skipped by pytest when xarray, which no extra installs, is absent.)

    >>> import pytest
    >>> _ = pytest.importorskip("xarray")
    >>> import psipo_exact as px
    >>> from psipo_exact.frames import simulation_xarray
    >>> result = px.simulate(px.paper_dataset("D1"), ["ipo"], [1.0], 1, steps=4)
    >>> simulation_xarray(result)["prob"].dims
    ('loss', 'dataset', 'tau', 'seed', 'step', 'action')

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 5.4.
    """
    try:
        import xarray
    except ImportError:
        raise ImportError("this needs xarray: pip install xarray") from None
    dims = tuple("step" if d == "record" else d for d in result.dims)
    coords = {("step" if d == "record" else d): list(result.coords[d]) for d in result.dims}
    return xarray.Dataset({"prob": (dims, result.probs), "logit": (dims, result.logits)},
                          coords=coords)
