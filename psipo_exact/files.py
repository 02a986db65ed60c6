"""Comparison files and preference-model files for ``psipo-exact solve``.

Reads CSV/JSON comparisons into a :class:`~psipo_exact.model.Dataset` or a JSON preference
model, solves it with :mod:`psipo_exact.solvers` and returns a JSON-ready result. Errors
name the file and the line or item, e.g. ``data.csv line 4: expected 2 or 3 columns, got 1``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from . import _checks
from .losses import PAIRWISE_ALIASES, PAIRWISE_LOSSES
from .model import Dataset
from .solvers import (
    BradleyTerrySolution,
    Solution,
    fit_bradley_terry,
    solve_dpo_empirical,
    solve_dpo_population,
    solve_ipo_empirical,
    solve_ipo_population,
    solve_pairwise_empirical,
    solve_pairwise_population,
)

_LOSSES = ("ipo", "dpo", "bt")


def _label_index(tokens: list, declared, what: str, where: str) -> tuple[np.ndarray, tuple]:
    """Map labels to indices: integers stay indices; names follow ``declared`` (if given),
    else their order of first appearance."""
    if declared is None and all(isinstance(t, int) for t in tokens):
        return np.array(tokens, dtype=np.int64), ()
    names = [str(t) for t in tokens]
    order = list(dict.fromkeys(names)) if declared is None else [str(a) for a in declared]
    if len(set(order)) != len(order):
        raise ValueError(f"{where}: the declared {what}s contain duplicates: {order}")
    lookup = {name: k for k, name in enumerate(order)}
    unknown = [name for name in names if name not in lookup]
    if unknown:
        raise ValueError(f"{where}: unknown {what} {unknown[0]!r}, not among {order}")
    return np.array([lookup[name] for name in names], dtype=np.int64), tuple(order)


def _csv_rows(text: str, where: str) -> list[list]:
    rows = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and [c.lower() for c in cells] in (["winner", "loser"],
                                                         ["winner", "loser", "context"]):
            continue
        if len(cells) not in (2, 3):
            raise ValueError(f"{where} line {number}: expected 2 or 3 columns, got {len(cells)}")
        rows.append([int(c) if c.lstrip("-").isdigit() else c for c in cells])
    if rows and any(isinstance(c, str) for r in rows for c in r[:2]):
        rows = [[str(r[0]), str(r[1])] + r[2:] for r in rows]
    return rows


def _json_rows(items, where: str) -> list[list]:
    if not isinstance(items, list):
        raise ValueError(f"{where}: comparisons must be a JSON list, got {type(items).__name__}")
    rows = []
    for k, item in enumerate(items):
        if isinstance(item, dict):
            if "winner" not in item or "loser" not in item:
                raise ValueError(f"{where} item {k}: an object needs 'winner' and 'loser' keys")
            item = [item["winner"], item["loser"]] + (
                [item["context"]] if "context" in item else [])
        if not isinstance(item, list) or len(item) not in (2, 3):
            raise ValueError(f"{where} item {k}: expected [winner, loser] or "
                             f"[winner, loser, context], got {item!r}")
        if any(isinstance(c, (bool, float, list, dict)) or c is None for c in item):
            raise ValueError(f"{where} item {k}: actions and contexts must be integers or "
                             f"names, got {item!r}")
        rows.append(list(item))
    return rows


def read_comparisons(path, n_actions: int | None = None) -> Dataset:
    """Read a comparison file for ``psipo-exact solve`` into a :class:`Dataset`.

    Formats: CSV rows ``winner,loser[,context]`` (an optional header row ``winner,loser
    [,context]``; blank lines skipped), or JSON: a list of ``[winner, loser(, context)]`` or
    of objects ``{"winner", "loser"(, "context")}``, or an object ``{"comparisons": [...],
    "actions": [names in order]}``. Actions (and contexts) that are all integers are used as
    indices; otherwise they are names, indexed in the order of ``"actions"`` when given,
    else in order of first appearance (row by row, winner before loser).

    Parameters
    ----------
    path : path-like
    n_actions : int, optional
        Size of the action space (e.g. ``len(pi_ref)``); default: the actions seen.

    Returns
    -------
    Dataset
        With ``action_names`` (the names, or ``"0" .. "n-1"`` for integer actions).

    Raises
    ------
    ValueError
        On unreadable/malformed files (with the line or item), no comparisons, an action
        outside ``n_actions`` or not among the declared ``"actions"``.
    """
    path = Path(path)
    where = path.name
    text = path.read_text(encoding="utf-8")
    declared = None
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(text, where)
    else:
        obj = _load_json(text, where)
        if isinstance(obj, dict):
            if "comparisons" not in obj:
                raise ValueError(f"{where}: a JSON object needs a 'comparisons' list")
            declared = obj.get("actions")
            obj = obj["comparisons"]
        rows = _json_rows(obj, where)
    if not rows:
        raise ValueError(f"{where}: no comparisons")
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"{where}: every comparison needs a context, or none does")
    actions, names = _label_index([r[0] for r in rows] + [r[1] for r in rows], declared,
                                  "action", where)
    contexts = None
    if len(rows[0]) == 3:
        contexts, _ = _label_index([r[2] for r in rows], None, "context", where)
    seen = int(actions.max()) + 1 if not names else len(names)
    if n_actions is not None and seen > n_actions:
        raise ValueError(f"{where}: action {_action_label(seen - 1, names)!r} is not in "
                         f"pi_ref, which has {n_actions} actions")
    n = max(seen, 2) if n_actions is None else n_actions
    labels = names + tuple(str(k) for k in range(len(names), n)) if names else tuple(
        str(k) for k in range(n))
    half = len(rows)
    return Dataset(actions[:half], actions[half:], n, contexts=contexts, action_names=labels)


def _action_label(index: int, names: tuple):
    return names[index] if names else index


def _load_json(text: str, where: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where} line {exc.lineno}: invalid JSON ({exc.msg})") from None


def _json_ready(value):
    """Arrays to nested lists with ``−∞`` (zero probability) as ``None``."""
    arr = np.asarray(value, dtype=float)
    return np.where(np.isneginf(arr), None, arr).tolist() if arr.ndim else float(arr)


def solve_file(path, loss: str, tau=None, pi_ref_path=None, params=None) -> dict:
    """Solve the problem in a file for ``psipo-exact solve`` and return a JSON-ready dict.

    Parameters
    ----------
    path : path-like
        A comparison file (see :func:`read_comparisons`) or a JSON preference model
        ``{"prefs": [[...]], "mu": [...], "pi_ref": [...] (optional)}``.
    loss : str
        ``"ipo"`` (Eq. 17/13), ``"dpo"`` (Eq. 4/5), ``"bt"`` (Eq. 2, Bradley–Terry maximum
        likelihood) or any loss of :data:`psipo_exact.losses.PAIRWISE_LOSSES`.
    tau : float, optional
        Required for ``ipo`` and ``dpo``.
    pi_ref_path : path-like, optional
        JSON list (one list per context for contextual data) with πref; default uniform,
        or the model's ``"pi_ref"``.
    params : dict, optional
        Parameters of a loss of the family (TRL names); with them, ``ipo``/``dpo`` are
        solved as the family's ``ipo``/``sigmoid``.

    Returns
    -------
    dict
        ``loss, tau, actions, policy, logits, exists, unique, free, residual, message`` (and
        ``rewards`` for ``bt``); ``free`` groups are lists of action names (``[context,
        name]`` pairs with contexts); ``None`` stands for ``−∞`` in logits and rewards.
        Losses of the family add ``params`` and ``status``.

    Raises
    ------
    ValueError
        On malformed files, unknown actions, empty data, a missing τ or an unknown loss.
    """
    family = _family(loss, params)
    if loss not in _LOSSES and family is None:
        raise ValueError(f"--loss = {loss!r}, must be one of {list(_LOSSES)} or a loss of "
                         f"the family {list(PAIRWISE_LOSSES)}")
    if loss != "bt" and tau is None:
        raise ValueError(f"--tau is required for --loss {loss}")
    pi_ref = None
    if pi_ref_path is not None:
        where = Path(pi_ref_path).name
        pi_ref = _load_json(Path(pi_ref_path).read_text(encoding="utf-8"), where)
        pi_ref = _in_file(where, _checks.probability_vector, pi_ref, "pi_ref")
    path = Path(path)
    model = None
    if path.suffix.lower() != ".csv":
        obj = _load_json(path.read_text(encoding="utf-8"), path.name)
        model = obj if isinstance(obj, dict) and "prefs" in obj else None
    if model is not None:
        sol, names = _solve_model(model, loss, tau, pi_ref, path.name, family)
    else:
        n = None if pi_ref is None else np.shape(pi_ref)[-1]
        data = read_comparisons(path, n)
        names = data.action_names
        pi_ref = np.full(data.n_actions, 1.0 / data.n_actions) if pi_ref is None else pi_ref
        sol = _solve_data(data, loss, tau, pi_ref, family)
    out = _solution_dict(sol, loss, tau, names)
    if family is not None:
        out.update(params=family[1], status=sol.status)
    return out


def _family(loss: str, params) -> tuple[str, dict] | None:
    """``(name, params)`` when the loss of the family solves the problem (not ``bt``, and not
    a paper loss without parameters), else None."""
    if loss == "bt" or (loss in ("ipo", "dpo") and not params) or not isinstance(loss, str):
        return None
    name = PAIRWISE_ALIASES.get(loss.lower(), loss.lower())
    return (name, dict(params or {})) if name in PAIRWISE_LOSSES else None


def _solve_model(model: dict, loss: str, tau, pi_ref, where: str, family=None):
    for key in ("prefs", "mu"):
        if key not in model:
            raise ValueError(f"{where}: a preference model needs {key!r}")
    prefs = _in_file(where, _checks.preference_matrix, model["prefs"])
    mu = _in_file(where, _checks.probability_vector, model["mu"], "mu")
    n = prefs.shape[-1]
    if pi_ref is None:
        pi_ref = _in_file(where, _checks.probability_vector,
                          model.get("pi_ref", np.full(n, 1.0 / n)), "pi_ref")
    actions = model.get("actions", range(n))
    if not isinstance(actions, (list, range)):
        raise ValueError(f"{where}: 'actions' must be a list of names, got "
                         f"{type(actions).__name__}")
    names = tuple(str(a) for a in actions)
    if len(names) != n:
        raise ValueError(f"{where}: 'actions' has {len(names)} names, prefs has {n} actions")
    if family is not None:
        return solve_pairwise_population(family[0], prefs, mu, pi_ref, tau, **family[1]), names
    if loss == "bt":
        return fit_bradley_terry(prefs, mu), names
    solver = solve_ipo_population if loss == "ipo" else solve_dpo_population
    return solver(prefs, mu, pi_ref, tau), names


def _in_file(where: str, check, *args):
    """``check(*args)`` (a :mod:`psipo_exact._checks` validator), its errors prefixed by the
    file name."""
    try:
        return check(*args)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _solve_data(data: Dataset, loss: str, tau, pi_ref, family=None):
    if family is not None:
        return solve_pairwise_empirical(family[0], data, pi_ref, tau, **family[1])
    if loss == "bt":
        return fit_bradley_terry(data)
    solver = solve_ipo_empirical if loss == "ipo" else solve_dpo_empirical
    return solver(data, pi_ref, tau)


def _solution_dict(sol: Solution, loss: str, tau, names: tuple) -> dict:
    def label(entry):
        if isinstance(entry, tuple):
            return [int(i) for i in entry[:-1]] + [names[entry[-1]]]
        return names[entry]

    out = {
        "loss": loss,
        "tau": None if tau is None else _json_ready(tau),
        "actions": list(names),
        "policy": _json_ready(sol.policy),
        "logits": _json_ready(sol.logits),
        "exists": sol.exists,
        "unique": sol.unique,
        "free": [[label(e) for e in group] for group in sol.free],
        "residual": sol.residual,
        "message": sol.message,
    }
    if isinstance(sol, BradleyTerrySolution):
        out["rewards"] = _json_ready(sol.rewards)
    return out
