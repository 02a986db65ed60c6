"""Comparison files and preference-model files for ``psipo-exact solve``.

Reads comparisons (CSV/TSV or JSON, told apart by their content, not their extension) into a
:class:`~psipo_exact.model.Dataset`, or a JSON preference model; solves it with
:mod:`psipo_exact.solvers`; returns a JSON-ready result and writes it as JSON or CSV. Every
malformed input is one error naming the file, the line and the column, e.g.
``data.csv line 4 column 2: missing value 'nan'``; nothing is guessed silently: what was
detected (format, header, columns) is part of the result (``"input"``).

Table formats (a header row names the columns; ``--winner``/``--loser``/``--context`` name
them explicitly). The first row is taken as a header when it names a known column, or when
its two labels occur in no other row; ``--header yes/no`` overrides, and ``"input"`` says
which rule decided:

* ``pairs``: ``winner, loser[, context]`` (headerless: the first 2 or 3 columns), optional
  ``weight`` (or ``count``) and ``tie`` (0/1) columns;
* ``trl``: TRL's ``prompt, chosen, rejected`` (each prompt a context, each distinct response
  an action);
* ``arena``: ``model_a, model_b, winner`` with ``winner`` in {model_a, model_b, tie,
  tie (bothbad)}.

New losses join at one dispatch point: :data:`LOSSES` and ``_solve_problem`` (comparison
data in ``_solve_data``, preference models in ``_solve_model``).

Action labels that are all integers are indices (``0 .. n − 1``, every index below the
largest must occur unless ``--pi-ref`` gives ``n``); otherwise they are names in order of
first appearance (or of a JSON ``"actions"`` list). Contexts are always names.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from . import _checks
from ._tables import Columns, InputError, Table
from .closed_form import psipo_policy
from .losses import PAIRWISE_ALIASES, PAIRWISE_LOSSES
from .model import Dataset, PreferenceModel
from .solvers import (
    BradleyTerrySolution,
    TieModelSolution,
    fit_bradley_terry,
    fit_davidson,
    fit_rao_kupper,
    solve_dpo_empirical,
    solve_dpo_population,
    solve_ipo_empirical,
    solve_ipo_population,
    solve_nash,
    solve_pairwise_empirical,
    solve_pairwise_population,
)
from .statistics import bootstrap_policy

#: Losses that take τ, and fits that do not (``--loss`` choices).
TAU_LOSSES = ("ipo", "dpo", "psipo")
FITS = ("bt", "davidson", "rao_kupper")
#: Preference games on a JSON ``{"prefs", "pi_ref"?}``: τ >= 0 (:func:`solve_nash`).
GAMES = ("nash",)
#: The preference-loss family (:data:`psipo_exact.losses.PAIRWISE_LOSSES` and aliases; the
#: paper's ``ipo``/``dpo`` are solved as the family's ``ipo``/``sigmoid`` when given
#: parameters). τ > 0 required; parameters by TRL name (``params``).
FAMILY = tuple(name for name in (*PAIRWISE_LOSSES, *PAIRWISE_ALIASES) if name not in TAU_LOSSES)
LOSSES = TAU_LOSSES + FITS + GAMES + FAMILY
FORMATS = ("auto", "pairs", "trl", "arena", "json")
#: Known column names of each table format: (winner, loser, context, outcome).
_FORMAT_COLUMNS = {
    "trl": ("chosen", "rejected", "prompt", None),
    "arena": ("model_a", "model_b", None, "winner"),
    "pairs": ("winner", "loser", "context", None),
}
_MISSING = {"", "nan", "na", "n/a", "null", "none"}
_INTEGER = re.compile(r"[+-]?\d+")


def _read_text(path) -> tuple[str, str]:
    """The file's text (UTF-8, a BOM allowed) and its name, with decode errors located."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), path.name
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path.name} line {line}: not UTF-8 text (byte "
                         f"0x{raw[exc.start]:02x} at offset {exc.start})") from None


def _is_json(text: str) -> bool:
    """Content sniffing: JSON starts with ``[`` or ``{`` (after blanks)."""
    return text.lstrip()[:1] in ("[", "{")


def _load_json(text: str, where: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} line {exc.lineno} column {exc.colno}: invalid JSON "
                         f"({exc.msg})") from None


def _csv_table(text: str, name: str) -> Table:
    """Non-blank CSV/TSV rows (delimiter: tab if the first line has one and no comma)."""
    first = text.lstrip().split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    rows, positions = [], []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            if any(cells):
                rows.append(cells)
                positions.append((reader.line_num, "line"))
    except csv.Error as exc:
        raise InputError(f"{name} line {reader.line_num}: malformed CSV ({exc})") from None
    table = Table(name, rows, positions)
    table.detected["delimiter"] = "tab" if delimiter == "\t" else "comma"
    return table


def _json_table(items, name: str) -> Table:
    """A JSON list of ``[w, l(, x)]`` lists or of objects as a :class:`Table`."""
    if not isinstance(items, list):
        raise InputError(f"{name}: comparisons must be a JSON list, got {type(items).__name__}")
    if items and all(isinstance(i, dict) for i in items):
        keys = list(dict.fromkeys(k for item in items for k in item))
        rows = [[_json_cell(item.get(k), name, n) for k in keys] for n, item in enumerate(items)]
        return Table(name, rows, [(n, "item") for n in range(len(items))], header=keys)
    rows = []
    for n, item in enumerate(items):
        if not isinstance(item, list) or len(item) not in (2, 3):
            raise InputError(f"{name} item {n}: expected [winner, loser] or "
                             f"[winner, loser, context], got {item!r}")
        rows.append([_json_cell(c, name, n) for c in item])
    return Table(name, rows, [(n, "item") for n in range(len(items))])


def _json_cell(value, name: str, n: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(f"{name} item {n}: actions and contexts must be integers or names, "
                         f"got {value!r}")
    return str(value)


def _detect_columns(table: Table, fmt: str = "auto", winner=None, loser=None, context=None,
                   header: str = "auto") -> Columns:
    """Find the header row and the roles of the columns; record what was detected."""
    first = [c.lower() for c in table.rows[0]] if table.rows else []
    named = [c for c in (winner, loser, context) if c is not None]
    if table.header is None:
        known = {c for cols in _FORMAT_COLUMNS.values() for c in cols if c} | {
            "weight", "count", "tie"} | {c.lower() for c in named}
        by_name = bool(set(first) & known)
        later = {c for row in table.rows[1:] for c in row[:2]}
        # A first row whose two labels occur nowhere else is a header of unknown names.
        unseen = len(table.rows) > 1 and not set(table.rows[0][:2]) & later
        has_header = {"yes": True, "no": False}.get(header, by_name or unseen)
        if has_header and header == "auto":
            table.detected["header_detected_by"] = (
                "known column names" if by_name else
                "its labels occur in no other row (use --header no if it is data)")
        if named and not has_header:
            raise InputError(f"{table.name}: --winner/--loser/--context name columns, so the "
                             "file needs a header row")
        if has_header:
            table.header = table.rows[0]
            del table.rows[0], table.positions[0]
    names = [c.lower() for c in table.header] if table.header is not None else None
    if names is None:
        return _positional(table, fmt)
    fmt = _format_of(names, fmt, named, table)
    want = _FORMAT_COLUMNS[fmt]
    roles = {"winner": winner or want[0], "loser": loser or want[1],
             "context": context or (want[2] if want[2] in names else None),
             "outcome": want[3]}
    for extra, aliases in (("weight", ("weight", "count")), ("tie", ("tie",))):
        roles[extra] = next((a for a in aliases if a in names), None)
    found = {}
    for role, col in roles.items():
        if col is None:
            continue
        if col.lower() not in names:
            raise InputError(f"{table.name}: no column {col!r} for the {role} (columns: "
                             f"{table.header})")
        found[role] = names.index(col.lower())
    table.detected.update(format=fmt, header=list(table.header),
                          **{role: table.header[j] for role, j in found.items()})
    return Columns(**found)


def _format_of(names, fmt, named, table) -> str:
    if fmt in _FORMAT_COLUMNS:
        return fmt
    for candidate, (first, second, _, outcome) in _FORMAT_COLUMNS.items():
        if first in names and second in names and (outcome is None or outcome in names):
            return candidate
    if named:
        return "pairs"
    raise InputError(f"{table.name}: header {table.header} names no known columns "
                     "(winner/loser, prompt/chosen/rejected, model_a/model_b/winner): name them "
                     "with --winner/--loser[/--context], or use --header no")


def _positional(table: Table, fmt: str) -> Columns:
    if fmt not in ("auto", "pairs", "json"):
        raise InputError(f"{table.name}: --format {fmt} needs a header row")
    widths = {len(r) for r in table.rows}
    for k, row in enumerate(table.rows):
        if len(row) not in (2, 3):
            raise InputError(f"{table.where(k)}: expected 2 or 3 columns, got {len(row)}")
    if len(widths) > 1:
        k = next(k for k, r in enumerate(table.rows) if len(r) != len(table.rows[0]))
        raise InputError(f"{table.where(k)}: every comparison needs a context, or none does")
    table.detected.update(format="pairs", header=None)
    return Columns(0, 1, 2 if widths == {3} else None)


def _table_dataset(table: Table, cols: Columns, n_actions: int | None = None,
                  declared=None) -> Dataset:
    """The :class:`Dataset` of a table, every cell checked with its position."""
    if not table.rows:
        raise InputError(f"{table.name}: no comparisons")
    for k, row in enumerate(table.rows):
        needed = max(j for j in (cols.winner, cols.loser, cols.context, cols.outcome,
                                 cols.weight, cols.tie) if j is not None)
        if len(row) <= needed:
            raise InputError(f"{table.where(k)}: expected {needed + 1} columns, got {len(row)}")
    first, second = _cells(table, cols.winner), _cells(table, cols.loser)
    ties = None
    if cols.outcome is not None:
        ties, swap = _outcomes(table, cols)
        first, second = np.where(swap, second, first), np.where(swap, first, second)
    if cols.tie is not None:
        ties = _flags(table, cols.tie)
    for k, (a, b) in enumerate(zip(first, second)):
        if a == b:
            raise InputError(f"{table.where(k)}: winner = loser = {a!r}: an action cannot be "
                             "compared with itself")
    codes, names = _action_codes(table, cols, list(first) + list(second), n_actions, declared)
    size = len(table.rows)
    contexts = context_names = None
    if cols.context is not None:
        labels = _cells(table, cols.context)
        context_names = list(dict.fromkeys(labels))
        lookup = {c: k for k, c in enumerate(context_names)}
        contexts = np.array([lookup[c] for c in labels])
    weights = None if cols.weight is None else _numbers(table, cols.weight)
    return Dataset(codes[:size], codes[size:], len(names), contexts=contexts,
                   action_names=names, context_names=context_names, weights=weights,
                   ties=ties)


def _cells(table: Table, j: int) -> list[str]:
    out = []
    for k, row in enumerate(table.rows):
        if row[j].lower() in _MISSING:
            raise InputError(f"{table.where(k, j)}: missing value {row[j]!r}")
        out.append(row[j])
    return out


def _outcomes(table: Table, cols: Columns):
    a, b = table.header[cols.winner].lower(), table.header[cols.loser].lower()
    said = [c.lower() for c in _cells(table, cols.outcome)]
    for k, s in enumerate(said):
        if s not in (a, b) and not s.startswith("tie"):
            raise InputError(f"{table.where(k, cols.outcome)}: {table.rows[k][cols.outcome]!r}"
                             f", must be {a!r}, {b!r}, 'tie' or 'tie (bothbad)'")
    return np.array([s.startswith("tie") for s in said]), np.array([s == b for s in said])


def _flags(table: Table, j: int) -> np.ndarray:
    cells = _cells(table, j)
    for k, c in enumerate(cells):
        if c.lower() not in ("0", "1", "true", "false"):
            raise InputError(f"{table.where(k, j)}: {c!r}, must be 0/1 or true/false")
    return np.array([c.lower() in ("1", "true") for c in cells])


def _numbers(table: Table, j: int) -> np.ndarray:
    out = []
    for k, c in enumerate(_cells(table, j)):
        try:
            value = float(c)
        except ValueError:
            value = np.nan
        if not (np.isfinite(value) and value >= 0):
            raise InputError(f"{table.where(k, j)}: {c!r}, must be a finite number >= 0")
        out.append(value)
    return np.array(out)


def _action_codes(table: Table, cols: Columns, labels: list[str], n_actions, declared):
    """Integer ids or names → indices; errors point at the offending cell."""
    size = len(table.rows)

    def where(m):
        return table.where(m % size, cols.winner if m < size else cols.loser)

    integer = [bool(_INTEGER.fullmatch(c)) for c in labels]
    if declared is None and all(integer):
        codes = np.array([int(c) for c in labels])
        if (codes < 0).any():
            m = int(np.argmax(codes < 0))
            raise InputError(f"{where(m)}: action id {codes[m]}, must be >= 0")
        top = int(codes.max())
        if n_actions is not None and top >= n_actions:
            m = int(np.argmax(codes >= n_actions))
            raise InputError(f"{where(m)}: action {codes[m]} is not in pi_ref, which has "
                             f"{n_actions} actions")
        if n_actions is None:
            missing = np.setdiff1d(np.arange(top + 1), codes)
            if missing.size:
                m = int(np.argmax(codes == top))
                raise InputError(f"{where(m)}: action id {top}, but ids {missing.tolist()[:5]}"
                                 " never occur: give --pi-ref with the number of actions, or "
                                 "use names")
        n = max(top + 1, 2) if n_actions is None else n_actions
        return codes, tuple(str(k) for k in range(n))
    if declared is None and any(integer):
        m = integer.index(False) if integer[0] else integer.index(True)
        raise InputError(f"{where(m)}: {labels[m]!r} mixes integer ids and names; use one "
                         "kind throughout")
    names = list(dict.fromkeys(labels)) if declared is None else [str(a) for a in declared]
    if len(set(names)) != len(names):
        raise InputError(f"{table.name}: the declared actions contain duplicates: {names}")
    lookup = {name: k for k, name in enumerate(names)}
    for m, c in enumerate(labels):
        if c not in lookup:
            raise InputError(f"{where(m)}: unknown action {c!r}, not among {names}")
    if n_actions is not None and len(names) > n_actions:
        raise InputError(f"{table.name}: action {names[n_actions]!r} is not in pi_ref, which "
                         f"has {n_actions} actions")
    if n_actions is not None:
        names += [str(k) for k in range(len(names), n_actions)]
    return np.array([lookup[c] for c in labels]), tuple(names)


def read_comparisons(path, n_actions: int | None = None, *, fmt: str = "auto", winner=None,
                     loser=None, context=None, header: str = "auto"):
    """Read a comparison file for ``psipo-exact solve`` into a :class:`Dataset`.

    Parameters
    ----------
    path : path-like
        CSV/TSV or JSON (told apart by content): see the module docstring for the formats;
        JSON is a list of ``[winner, loser(, context)]``, a list of objects with column
        names as keys, or ``{"comparisons": [...], "actions": [names in order]}``.
    n_actions : int, optional
        Size of the action space (e.g. ``len(pi_ref)``); default: the actions seen.
    fmt : {"auto", "pairs", "trl", "arena", "json"}
        Table format (default: from the header).
    winner, loser, context : str, optional
        Column names overriding the format's.
    header : {"auto", "yes", "no"}
        Whether the first CSV row is a header (auto: it names a known column).

    Returns
    -------
    data : Dataset
        With ``action_names`` (``"0" .. "n-1"`` for integer ids) and ``context_names``.
    detected : dict
        What was detected: format, header, the column of each role, delimiter.

    Raises
    ------
    ValueError
        On unreadable or malformed files, naming the file, line (or JSON item) and column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trl.txt"
    >>> _ = path.write_text("prompt,chosen,rejected\\nq1,a,b\\nq2,b,c\\n")
    >>> data, detected = read_comparisons(path)
    >>> detected["format"], data.action_names, data.context_names
    ('trl', ('a', 'b', 'c'), ('q1', 'q2'))

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (the dataset ``D = (x_i, y_w,i ≻ y_l,i)``); the
    table formats of TRL's preference datasets (``prompt, chosen, rejected``) and of Chatbot
    Arena's battles (Chiang et al., 2024, arXiv:2403.04132).
    """
    text, name = _read_text(path)
    declared = None
    if _is_json(text) or fmt == "json":
        obj = _load_json(text, name)
        if isinstance(obj, dict):
            if "comparisons" not in obj:
                raise InputError(f"{name}: a JSON object needs a 'comparisons' list")
            declared = obj.get("actions")
            obj = obj["comparisons"]
        table = _json_table(obj, name)
        table.detected["file"] = "json"
    else:
        table = _csv_table(text, name)
        table.detected["file"] = "csv"
    if not table.rows:
        raise InputError(f"{name}: no comparisons")
    cols = _detect_columns(table, "auto" if fmt == "json" else fmt, winner, loser, context,
                          header)
    return _table_dataset(table, cols, n_actions, declared), table.detected


def _json_ready(value):
    """Arrays to nested lists with ``−∞`` (zero probability) and ``∞`` as ``None``."""
    arr = np.asarray(value, dtype=float)
    return np.where(np.isinf(arr), None, arr).tolist() if arr.ndim else (
        None if np.isinf(arr) else float(arr))


@dataclass(frozen=True)
class _Problem:
    """A file's problem: a dataset or a preference model, with labels and what was read."""

    data: Dataset | None
    model: PreferenceModel | None
    actions: tuple
    contexts: tuple | None
    detected: dict


def _read_problem(path, pi_ref=None, **options) -> _Problem:
    """A comparison file or a JSON preference model (``{"prefs", "mu"[, "pi_ref", "actions"]}``)."""
    text, name = _read_text(path)
    if _is_json(text):
        obj = _load_json(text, name)
        if isinstance(obj, dict) and "prefs" in obj:
            model, actions = _model(obj, pi_ref, name)
            return _Problem(None, model, actions, None, {"file": "json", "format": "model"})
    n = None if pi_ref is None else np.shape(pi_ref)[-1]
    data, detected = read_comparisons(path, n, **options)
    return _Problem(data, None, data.action_names, data.context_names, detected)


def _model(obj: dict, pi_ref, where: str):
    for key in ("prefs", "mu"):
        if key not in obj:
            raise InputError(f"{where}: a preference model needs {key!r}")
    prefs = _in_file(where, _checks.preference_matrix, obj["prefs"])
    mu = _in_file(where, _checks.probability_vector, obj["mu"], "mu")
    n = prefs.shape[-1]
    if pi_ref is None:
        pi_ref = _in_file(where, _checks.probability_vector,
                          obj.get("pi_ref", np.full(n, 1.0 / n)), "pi_ref")
    return _in_file(where, PreferenceModel, prefs, mu, pi_ref), _model_names(obj, n, where)


def _model_names(obj: dict, n: int, where: str) -> tuple:
    """The model's ``"actions"`` names (default ``"0" .. "n-1"``), checked against n."""
    actions = obj.get("actions", range(n))
    if not isinstance(actions, (list, range)):
        raise InputError(f"{where}: 'actions' must be a list of names, got "
                         f"{type(actions).__name__}")
    names = tuple(str(a) for a in actions)
    if len(names) != n:
        raise InputError(f"{where}: 'actions' has {len(names)} names, prefs has {n} actions")
    return names


def _solve_game_file(path, tau, pi_ref) -> dict:
    """``--loss nash``: the (regularised) Nash equilibrium of a JSON preference matrix
    ``{"prefs", "pi_ref" (optional), "actions" (optional)}`` (:func:`solve_nash`, τ >= 0)."""
    text, where = _read_text(path)
    obj = _load_json(text, where)
    if not isinstance(obj, dict) or "prefs" not in obj:
        raise InputError(f"{where}: --loss nash needs a JSON object with 'prefs' "
                         "(and optionally 'pi_ref', 'actions')")
    prefs = _in_file(where, _checks.preference_matrix, obj["prefs"])
    n = prefs.shape[-1]
    if pi_ref is None:
        pi_ref = _in_file(where, _checks.probability_vector,
                          obj.get("pi_ref", np.full(n, 1.0 / n)), "pi_ref")
    if tau is None:
        raise ValueError("--tau is required for --loss nash (tau >= 0; 0 is the unregularised "
                         "game)")
    _checks.tau(tau, "--tau", allow_zero=True)
    sol = solve_nash(prefs, pi_ref, tau)
    problem = _Problem(None, None, _model_names(obj, n, where), None,
                       {"file": "json", "format": "game"})
    return {**_solution_dict(sol, problem, "nash", tau), "exploitability": sol.residual}


def _in_file(where: str, check, *args):
    """``check(*args)``, its errors prefixed by the file name."""
    try:
        return check(*args)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _read_pi_ref(path):
    """πref from a JSON file (a list, or one list per context)."""
    text, where = _read_text(path)
    return _in_file(where, _checks.probability_vector, _load_json(text, where), "pi_ref")


def _solve_data(problem: _Problem, loss: str, tau, pi_ref, options: dict):
    data = problem.data
    if loss == "psipo":
        raise ValueError("--loss psipo (Eq. 7 with --psi) needs a preference model file; on "
                         "comparisons use ipo (Psi = identity) or dpo (Psi = logit under BT)")
    if loss in FITS:
        fit = {"bt": fit_bradley_terry, "davidson": fit_davidson,
               "rao_kupper": fit_rao_kupper}[loss]
        return fit(data, reference=options.get("reference"))
    if pi_ref is None:
        pi_ref = np.full(data.n_actions, 1.0 / data.n_actions)
    if loss == "dpo":
        return solve_dpo_empirical(data, pi_ref, tau, tie_model=options.get("tie_model"))
    return solve_ipo_empirical(data, pi_ref, tau)


def _solve_model(problem: _Problem, loss: str, tau, psi: str):
    model = problem.model
    if loss == "bt":
        return fit_bradley_terry(model)
    if loss in FITS:
        raise ValueError(f"--loss {loss} fits comparisons with ties; a preference model has "
                         "no ties")
    if loss == "psipo":
        return psipo_policy(model.prefs, model.mu, model.pi_ref, tau, psi)
    return (solve_ipo_population if loss == "ipo" else solve_dpo_population)(model, tau)


def _family(loss: str, params) -> tuple[str, dict] | None:
    """``(registry name, params)`` when the loss family solves the problem: a loss of
    :data:`FAMILY`, or ``ipo``/``dpo`` given parameters; else None."""
    if loss in FAMILY or (loss in ("ipo", "dpo") and params):
        return PAIRWISE_ALIASES.get(loss, loss), dict(params or {})
    if params:
        raise ValueError(f"--param applies to the losses of the family ({', '.join(FAMILY)}) "
                         f"and ipo/dpo, not to --loss {loss}")
    return None


def _solve_family(problem: _Problem, family: tuple[str, dict], tau, pi_ref):
    name, params = family
    if problem.model is not None:
        model = problem.model
        return solve_pairwise_population(name, model.prefs, model.mu, model.pi_ref, tau,
                                         **params)
    data = problem.data
    if pi_ref is None:
        pi_ref = np.full(data.n_actions, 1.0 / data.n_actions)
    return solve_pairwise_empirical(name, data, pi_ref, tau, **params)


def _solve_problem(problem: _Problem, loss: str, tau=None, pi_ref=None, *, psi: str = "identity",
                  params=None, **options):
    """The exact solution of a problem read by ``read_problem`` (the dispatch point:
    a new ``--loss`` adds a branch here)."""
    if loss not in LOSSES:
        raise ValueError(f"--loss = {loss!r}, must be one of {list(LOSSES)}")
    family = _family(loss, params)
    if (loss in TAU_LOSSES or family is not None) and tau is None:
        raise ValueError(f"--tau is required for --loss {loss}")
    if loss in FITS and tau is not None:
        raise ValueError(f"--loss {loss} is a maximum-likelihood fit without tau: remove --tau")
    if loss != "psipo" and psi != "identity":
        raise ValueError("--psi applies to --loss psipo only (Eq. 7 on a preference model)")
    if family is not None:
        return _solve_family(problem, family, tau, pi_ref)
    if problem.model is not None:
        return _solve_model(problem, loss, tau, psi)
    return _solve_data(problem, loss, tau, pi_ref, options)


def _solution_dict(sol, problem: _Problem, loss: str, tau) -> dict:
    """A JSON-ready dict of a solution with labels (``None`` stands for ``±∞``)."""
    names = problem.actions
    out = {"loss": loss, "tau": None if tau is None else _json_ready(tau),
           "actions": list(names), "input": problem.detected}
    if problem.contexts is not None:
        out["contexts"] = list(problem.contexts)
    if isinstance(sol, np.ndarray):  # psipo_policy (Eq. 7): a closed form, always unique
        out.update(policy=_json_ready(sol), exists=True, unique=True, free=[],
                   message="closed form (Eq. 7)")
        return out

    def label(entry):
        if isinstance(entry, tuple):
            ctx = problem.contexts
            head = [ctx[entry[0]] if ctx else int(entry[0])] + [int(i) for i in entry[1:-1]]
            return head + [names[entry[-1]]]
        return names[entry]

    out.update(policy=_json_ready(sol.policy), logits=_json_ready(sol.logits),
               exists=sol.exists, unique=sol.unique,
               free=[[label(e) for e in group] for group in sol.free],
               residual=sol.residual, status=sol.status, message=sol.message)
    if isinstance(sol, BradleyTerrySolution):
        out.update(rewards=_json_ready(sol.rewards), stderr=_json_ready(sol.stderr),
                   loglik=_json_ready(sol.loglik), deviance=_json_ready(sol.deviance),
                   reference=None if sol.reference is None else names[sol.reference],
                   policy_meaning="softmax(rewards): Bradley-Terry strengths normalised per "
                   "context, not the optimum of a loss")
    if isinstance(sol, TieModelSolution):
        out.update(tie_model=sol.tie_model, tie_parameter=sol.tie_parameter,
                   tie_parameter_stderr=sol.tie_parameter_stderr)
    return out


def solve_file(path, loss: str, tau=None, pi_ref_path=None, **options) -> dict:
    """Solve the problem in a file for ``psipo-exact solve`` and return a JSON-ready dict.

    Parameters
    ----------
    path : path-like
        A comparison file (see :func:`read_comparisons`) or a JSON preference model
        ``{"prefs": [[...]], "mu": [...], "pi_ref": [...] (optional)}``.
    loss : str
        Eq. 17/13 (IPO), Eq. 4/5 (DPO), Eq. 7 (``"psipo"``: ΨPO closed form with ``psi``;
        preference models only), the maximum-likelihood fits (``"bt"``: Bradley–Terry Eq. 2,
        ``"davidson"``, ``"rao_kupper"``), which take no τ, or any loss of the family
        (:data:`FAMILY`: :data:`psipo_exact.losses.PAIRWISE_LOSSES` and aliases).
    tau : float or sequence of float, optional
        Required for ipo, dpo, psipo and the family; a sequence is a τ grid (leading axis of
        the output).
    pi_ref_path : path-like, optional
        JSON list (one list per context for contextual data) with πref; default uniform,
        or the model's ``"pi_ref"``.
    **options
        ``fmt``, ``winner``, ``loser``, ``context``, ``header`` (reading, see
        :func:`read_comparisons`); ``psi``, ``tie_model``, ``reference``, ``params`` (the
        family's parameters by TRL name; with them ``ipo``/``dpo`` are solved as the
        family's ``ipo``/``sigmoid``) (solving);
        ``bootstrap`` (number of resamples), ``seed``, ``level`` (percentile bands of the
        policy, ``policy_lower``/``policy_upper``).

    Returns
    -------
    dict
        ``loss, tau, actions, (contexts,) input, policy, logits, exists, unique, free,
        residual, status, message``; for the fits also ``rewards, stderr, loglik, deviance,
        reference, policy_meaning`` (and the tie parameter); the family adds ``params``.
        ``None`` stands for ``±∞``.

    Raises
    ------
    ValueError
        On malformed files (file, line, column), unknown actions, empty data, a missing or
        unused τ, or an unknown loss.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 17 and 13 (IPO), Eq. 4 and 5 (DPO), Eq. 2
    (Bradley–Terry); Sec. 5.4 (D1).

    Examples
    --------
    D1 from a file: IPO's optimum at τ = 1 is ``softmax(1/3, 0, −1/3)``; DPO has no finite
    minimiser and its limit is ``(1, 0, 0)``; ``None`` stands for ``−∞``:

    >>> import os, tempfile
    >>> import numpy as np
    >>> from psipo_exact.files import solve_file
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "d1.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("a,b\\nb,c\\na,c\\n")
    >>> out = solve_file(path, "ipo", tau=1.0)
    >>> out["actions"], np.round(out["policy"], 4).tolist(), out["unique"]
    (['a', 'b', 'c'], [0.4484, 0.3213, 0.2302], True)
    >>> out = solve_file(path, "dpo", tau=1.0)
    >>> out["exists"], out["policy"], out["logits"][1:]
    (False, [1.0, 0.0, 0.0], [None, None])
    >>> solve_file(path, "bt")["rewards"]
    [0.0, None, None]
    >>> tmp.cleanup()

    Any header is detected, e.g. TRL's ``chosen,rejected``:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = path.write_text("chosen,rejected\\na,b\\nb,c\\n")
    >>> out = solve_file(path, "ipo", 1.0)
    >>> out["actions"], out["input"]["format"]
    (['a', 'b', 'c'], 'trl')
    """
    reading = {k: options.pop(k) for k in ("fmt", "winner", "loser", "context", "header")
               if k in options}
    resampling = {k: options.pop(k) for k in ("bootstrap", "seed", "level") if k in options}
    pi_ref = None if pi_ref_path is None else _read_pi_ref(pi_ref_path)
    if loss in GAMES:
        return _solve_game_file(path, tau, pi_ref)
    problem = _read_problem(path, pi_ref, **reading)
    sol = _solve_problem(problem, loss, tau, pi_ref, **options)
    out = _solution_dict(sol, problem, loss, tau)
    if _family(loss, options.get("params")) is not None:
        out["params"] = dict(options.get("params") or {})
    if resampling.get("bootstrap"):
        out.update(_bootstrap(problem, loss, tau, pi_ref, options, **resampling))
    return out


def _bootstrap(problem: _Problem, loss: str, tau, pi_ref, options: dict, bootstrap: int,
               seed: int = 0, level: float = 0.95) -> dict:
    """Percentile bands of the policy (:func:`psipo_exact.statistics.bootstrap_policy`)."""
    if problem.data is None or loss not in ("ipo", "dpo"):
        raise ValueError("--bootstrap resamples comparison data for --loss ipo or dpo")
    data = problem.data
    if pi_ref is None:
        pi_ref = np.full(data.n_actions, 1.0 / data.n_actions)
    solver = loss
    if loss == "dpo":
        solver = partial(solve_dpo_empirical, tie_model=options.get("tie_model"))
    # A tie model's estimated parameter is shared across contexts: one solve per resample.
    band = bootstrap_policy(data, pi_ref, tau, solver, n_resamples=bootstrap, level=level,
                            rng=seed, vectorised=options.get("tie_model") is None)
    return {"policy_lower": _json_ready(band.lower), "policy_upper": _json_ready(band.upper),
            "bootstrap": {"resamples": bootstrap, "seed": seed, "level": band.level,
                          "unique_fraction": float(band.unique.mean())}}


def solution_csv(result: dict) -> str:
    """A result of :func:`solve_file` as a long CSV table with labels: one row per
    (τ, context, action) with ``policy`` and, where present, ``logits``, ``rewards``,
    ``stderr`` and bootstrap bounds (empty cells for ``±∞``).

    Parameters
    ----------
    result : dict
        As returned by :func:`solve_file`.

    Returns
    -------
    str
        CSV text with a header row: ``[tau,][context,]action,policy[,logits]...``.

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. 17 (IPO, the example's τ grid) and Eq. 2
    (Bradley–Terry); standard errors from the observed Fisher information (Agresti, 2002,
    *Categorical Data Analysis*, 2nd ed.).

    Examples
    --------
    ``a ≻ b`` three times and ``b ≻ a`` once. Bradley–Terry with ``a`` as reference:
    ``r_b = −log 3``, standard error ``1/sqrt(n p (1 − p)) = sqrt(4/3)`` (n = 4, p = 3/4),
    strengths normalised to (3/4, 1/4):

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ab.csv"
    >>> _ = path.write_text("winner,loser\\na,b\\na,b\\na,b\\nb,a\\n")
    >>> print(solution_csv(solve_file(path, "bt", reference="a")), end="")
    action,policy,logits,rewards,stderr
    a,0.75,0.0,0.0,0.0
    b,0.25,-1.0986,-1.0986,1.1547

    IPO on a τ grid (one row per τ and action): with two actions, Eq. 17's optimum has
    logits differing by ``(p − 1/2)/τ`` (0.5 at τ = 0.5, 0.25 at τ = 1), so
    ``π(a) = σ(1/2) = 0.6225`` and ``σ(1/4) = 0.5622``:

    >>> print(solution_csv(solve_file(path, "ipo", tau=[0.5, 1.0])), end="")
    tau,action,policy,logits
    0.5,a,0.6225,-0.4431
    0.5,b,0.3775,-0.9431
    1.0,a,0.5622,-0.5681
    1.0,b,0.4378,-0.8181
    """
    policy = np.array(result["policy"], dtype=float)
    columns = [k for k in ("policy", "logits", "rewards", "stderr", "policy_lower",
                           "policy_upper") if k in result]
    arrays = {k: np.array(result[k], dtype=float) for k in columns}
    taus = np.atleast_1d(np.array(result["tau"], dtype=float)) if result["tau"] is not None \
        else None
    grid = taus is not None and np.ndim(result["tau"]) > 0
    contexts = result.get("contexts")
    head = (["tau"] if taus is not None else []) + (["context"] if contexts else []) + [
        "action"] + columns
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    for index in np.ndindex(policy.shape[:-1] + (policy.shape[-1],)):
        row = []
        if taus is not None:
            row.append(repr(float(taus[index[0]] if grid else taus[0])))
        rest = index[1:] if grid else index
        if contexts:
            row.append(contexts[rest[0]])
        row.append(result["actions"][index[-1]])
        for k in columns:
            arr = arrays[k]
            value = arr[index[len(index) - arr.ndim:]] if arr.ndim < len(index) else arr[index]
            row.append("" if np.isnan(value) else repr(float(value)))
        writer.writerow(row)
    return buf.getvalue()


def dataset_csv(data: Dataset) -> str:
    """A dataset as CSV text with a header: ``winner,loser[,context][,weight][,tie]``, labels
    (names; integer ids without names), readable back by :func:`read_comparisons`.

    Parameters
    ----------
    data : Dataset

    Returns
    -------
    str

    Examples
    --------
    >>> import psipo_exact as px
    >>> print(dataset_csv(px.paper_dataset("D1")), end="")
    winner,loser
    a,b
    b,c
    a,c

    Weights and ties are columns, and :func:`read_comparisons` reads the text back:

    >>> import tempfile, pathlib
    >>> data = px.Dataset.from_pairs([("a", "b"), ("b", "c")], weights=[2, 1],
    ...                              ties=[False, True])
    >>> print(dataset_csv(data), end="")
    winner,loser,weight,tie
    a,b,2.0,0
    b,c,1.0,1
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "data.csv"
    >>> _ = path.write_text(dataset_csv(data))
    >>> back, _ = read_comparisons(path)
    >>> back.to_pairs(), back.weights.tolist(), back.ties.tolist()
    ([('a', 'b'), ('b', 'c')], [2.0, 1.0], [False, True])

    References
    ----------
    Azar et al., arXiv:2310.12036, Sec. 2 (the dataset ``D = (x_i, y_w,i ≻ y_l,i)``); the
    table formats of TRL's preference datasets (``prompt, chosen, rejected``) and of Chatbot
    Arena's battles (Chiang et al., 2024, arXiv:2403.04132).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = ["winner", "loser"] + (["context"] if data.contexts is not None else [])
    extra = []
    if data.weights is not None:
        head.append("weight")
        extra.append([repr(float(w)) for w in data.weights])
    if data.ties is not None:
        head.append("tie")
        extra.append([str(int(t)) for t in data.ties])
    writer.writerow(head)
    for row, *rest in zip(data.to_pairs(), *extra):
        writer.writerow(list(row) + rest)
    return buf.getvalue()
