"""Argument validation shared by every module: the one home for error messages.

Every public function of :mod:`psipo_exact` validates its inputs here before any
mathematics runs, so bad input never reaches numpy as NaN and every message names the
argument, the condition it broke and the offending value or index, e.g.
``prefs[0, 2] + prefs[2, 0] = 1.3, must equal 1``.
"""

from __future__ import annotations

import numbers

import numpy as np

#: Tolerance to which probabilities must be normalised and preferences complementary.
PROB_TOL = 1e-9
#: Adam squares gradients, which grow like 1/τ (IPO), τ (DPO) and the logit gaps: Adam's τ
#: lie in [1/ADAM_RANGE, ADAM_RANGE] and its logits within ±ADAM_RANGE, so that g² is finite.
ADAM_RANGE = 1e150


def _where(bad: np.ndarray) -> tuple[int, ...]:
    """Index of the first True entry of ``bad``."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def _fmt(index: tuple[int, ...]) -> str:
    if not index:  # a 0-d array (scalar argument) has no index to show
        return ""
    return "[" + ", ".join(str(i) for i in index) + "]"


def _asarray(x, name: str, kind: str) -> np.ndarray:
    """``np.asarray(x)``, with strings, None and ragged nested lists named as ``name`` errors."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be {kind}, got {type(x).__name__}")
    try:
        return np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} must be {kind} (rectangular): {exc}") from None


def as_float_array(x, name: str, *, min_ndim: int = 0, allow_inf: bool = False) -> np.ndarray:
    """Convert ``x`` to a float64 array, rejecting non-numeric, NaN and (optionally) ±inf.

    Booleans are not numbers here (``tau=True`` is an error, not 1.0), and no argument may be
    empty: an array without entries (e.g. ``tau=[]``) is an error, as ``simulate`` rejects
    empty ``taus``.

    Raises
    ------
    TypeError
        If ``x`` is not numeric (strings, objects, booleans, complex numbers).
    ValueError
        If ``x`` is empty, has fewer than ``min_ndim`` axes, or contains NaN, or ±inf when
        not allowed.
    """
    arr = _asarray(x, name, "a numeric array")
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        kind = " (booleans are not numbers here)" if arr.dtype == np.bool_ else ""
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}{kind}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} axes, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): give at least one value")
    nan = np.isnan(arr)
    if nan.any():
        raise ValueError(f"{name}{_fmt(_where(nan))} is NaN, must be a number")
    if not allow_inf:
        inf = np.isinf(arr)
        if inf.any():
            i = _where(inf)
            raise ValueError(f"{name}{_fmt(i)} = {arr[i]}, must be finite")
    return arr


def probability_vector(p, name: str) -> np.ndarray:
    """Validate probability vectors on the last axis: non-negative, summing to 1 (±1e-9)."""
    arr = as_float_array(p, name, min_ndim=1)
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one action, got shape {arr.shape}")
    neg = arr < 0
    if neg.any():
        i = _where(neg)
        raise ValueError(f"{name}{_fmt(i)} = {arr[i]}, must be >= 0")
    total = arr.sum(axis=-1)
    off = np.abs(total - 1.0) > PROB_TOL
    if off.any():
        i = _where(off)
        where = "[" + "".join(f"{k}, " for k in i) + ":]"
        raise ValueError(f"{name}{where} sums to {float(total[i])!r}, must sum to 1")
    return arr


def preference_matrix(prefs) -> np.ndarray:
    """Validate ``prefs[..., i, j] = p(y_i ≻ y_j)``: in [0, 1], ``p + pᵀ = 1``, diagonal 1/2."""
    arr = as_float_array(prefs, "prefs", min_ndim=2)
    if arr.shape[-1] != arr.shape[-2] or arr.shape[-1] < 1:
        raise ValueError(f"prefs must have shape (..., n, n), got shape {arr.shape}")
    out = (arr < 0) | (arr > 1)
    if out.any():
        i = _where(out)
        raise ValueError(f"prefs{_fmt(i)} = {arr[i]}, must lie in [0, 1]")
    total = arr + np.swapaxes(arr, -1, -2)
    off = np.abs(total - 1.0) > PROB_TOL
    if off.any():
        *lead, a, b = _where(off)
        i, j = tuple(lead) + (a, b), tuple(lead) + (b, a)
        raise ValueError(
            f"prefs{_fmt(i)} + prefs{_fmt(j)} = {float(total[i])!r}, must equal 1"
        )
    return arr


def tau(value, name: str = "tau", *, allow_zero: bool = False) -> np.ndarray:
    """Validate the regularisation strength τ: finite and > 0 (>= 0 with ``allow_zero``)."""
    arr = as_float_array(value, name)
    bad = arr < 0 if allow_zero else arr <= 0
    if bad.any():
        i = _where(bad) if arr.ndim else ()
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}{_fmt(i) if i else ''} = {arr[i]}, must be {bound}")
    return arr


def real_in_range(value, name: str, low: float, high: float, *, closed_low: bool = True,
                  closed_high: bool = False) -> float:
    """Validate a finite real scalar in the interval from ``low`` to ``high`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok_low = value >= low if closed_low else value > low
    ok_high = value <= high if closed_high else value < high
    if not (np.isfinite(value) and ok_low and ok_high):
        lo, hi = "[" if closed_low else "(", "]" if closed_high else ")"
        raise ValueError(f"{name} = {value}, must be in {lo}{low}, {high}{hi}")
    return value


def support_covered(mu: np.ndarray, pi_ref: np.ndarray) -> None:
    """Check Supp(µ) ⊆ Supp(πref), which the population losses (Eq. 5, 13, 16) need."""
    uncovered = (mu > 0) & (pi_ref == 0)
    if uncovered.any():
        i = list(_where(uncovered))
        raise ValueError(f"pi_ref{i} = 0 but mu{i} > 0: the losses need Supp(mu) ⊆ Supp(pi_ref)")


def n_actions_match(n: int, of: str = "", **arrays: np.ndarray) -> None:
    """Check that every named array has ``n`` entries on its last axis (``n`` being the
    number of actions of the argument named ``of``, which the message names too)."""
    for name, arr in arrays.items():
        if arr.shape[-1] != n:
            source = f", as {of}" if of else ""
            raise ValueError(
                f"{name} has {arr.shape[-1]} actions on its last axis, expected {n}{source} "
                f"(shape {arr.shape})"
            )


def broadcastable(*named: tuple[str, tuple[int, ...]]) -> tuple[int, ...]:
    """Broadcast the leading shapes of named arrays, with a message naming them if impossible."""
    try:
        return np.broadcast_shapes(*(shape for _, shape in named))
    except ValueError:
        desc = ", ".join(f"{name} {shape}" for name, shape in named)
        raise ValueError(f"leading shapes do not broadcast: {desc}") from None


def positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Validate an integer argument ``>= minimum`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} = {value}, must be >= {minimum}")
    return int(value)


def index_array(x, name: str) -> np.ndarray:
    """Validate a one-dimensional array of integer indices."""
    arr = _asarray(x, name, "an array of integers")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.unsignedinteger):
        big = arr > np.iinfo(np.int64).max  # would wrap to a negative int64
        if big.any():
            i = int(np.argmax(big))
            raise ValueError(f"{name}[{i}] = {arr[i]}, must be an index of int64 size")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr))):
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        big = np.abs(arr) >= 2.0**62  # also ±inf; NaN failed the test above
        if big.any():
            i = int(np.argmax(big))
            raise ValueError(f"{name}[{i}] = {arr[i]}, must be an index of int64 size")
    return arr.astype(np.int64, copy=False)


def labels(values, name: str, n: int, n_name: str) -> tuple[str, ...] | None:
    """Validate ``n`` distinct labels (as strings), or ``None``."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of labels, got a single string {values!r}")
    out = tuple(str(a) for a in values)
    if len(out) != n:
        raise ValueError(f"{name} has {len(out)} labels, {n_name} is {n}")
    if len(set(out)) != len(out):
        seen = set()
        dup = next(a for a in out if a in seen or seen.add(a))
        raise ValueError(f"{name} has the label {dup!r} twice: labels must be distinct")
    return out


def bool_array(x, name: str) -> np.ndarray:
    """Validate a one-dimensional array of booleans (0/1 integers are accepted)."""
    arr = _asarray(x, name, "an array of booleans")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype != np.bool_:
        if not (np.issubdtype(arr.dtype, np.number) and np.isin(arr, (0, 1)).all()):
            raise TypeError(f"{name} must hold booleans, got dtype {arr.dtype}")
    return arr.astype(bool)


def no_ties(data, what: str, alternative: str) -> None:
    """Reject a dataset with ties for a loss or solver that has no term for a tie."""
    if data.has_ties:
        count = int(np.count_nonzero(data.ties & (data.datum_weights > 0)))
        first = int(np.argmax(data.ties & (data.datum_weights > 0)))
        raise ValueError(
            f"data has {count} ties (first: datum {first}): {what} has no term for a tie and "
            f"would ignore them; {alternative}, or drop them with data.without_ties()")


def count_matrix(x, name: str) -> np.ndarray:
    """Validate a matrix of counts ``(..., n, n)``: finite, ``>= 0``, with a positive total."""
    arr = as_float_array(x, name, min_ndim=2)
    if arr.ndim > 3 or arr.shape[-1] != arr.shape[-2] or arr.shape[-1] < 2:
        raise ValueError(f"{name} must have shape (n, n) or (n_contexts, n, n) with n >= 2, "
                         f"got shape {arr.shape}")
    neg = arr < 0
    if neg.any():
        i = _where(neg)
        raise ValueError(f"{name}{_fmt(i)} = {arr[i]}, must be >= 0")
    if not arr.sum() > 0:
        raise ValueError(f"{name} sums to 0: a dataset needs at least one comparison")
    return arr


def datum_weights(x, name: str, size: int) -> np.ndarray:
    """Validate per-datum weights: shape ``(size,)``, finite, ``>= 0``, positive total."""
    weights = as_float_array(x, name, min_ndim=1)
    if weights.shape != (size,):
        raise ValueError(f"{name} has shape {weights.shape}, must be ({size},): one weight per "
                         "datum")
    negative = weights < 0
    if negative.any():
        i = int(np.argmax(negative))
        raise ValueError(f"{name}[{i}] = {weights[i]}, must be >= 0")
    if not weights.sum() > 0:
        raise ValueError(f"{name} sum to 0: at least one datum must have a positive weight")
    return weights


def memory_budget(needed: int, budget: int, what: str, advice: str) -> None:
    """Refuse work that would take more than ``budget`` bytes, naming it and what to do."""
    if needed > budget:
        raise MemoryError(f"{what} needs about {needed / 2**20:.3g} MiB, over the memory "
                          f"budget of {budget / 2**20:.3g} MiB; {advice}")


def representable(x: np.ndarray, what: str, advice: str, *, finite: bool = False) -> np.ndarray:
    """``x``, or a ValueError if float overflow made it NaN (∞ − ∞), or, with ``finite``, +∞."""
    bad = np.isnan(x) | (np.isposinf(x) if finite else False)
    if bad.any():
        raise ValueError(f"{what} is not representable (float overflow at index "
                         f"{list(_where(bad))}): {advice}")
    return x


def label_list(values, name: str) -> list:
    """A sequence (of labels, or of sequences) as a list; a string or a scalar is rejected."""
    if isinstance(values, (str, bytes)) or isinstance(values, np.ndarray) and values.ndim == 0:
        raise TypeError(f"{name} must be a sequence, got {type(values).__name__} {values!r}")
    try:
        return list(values)
    except TypeError:
        raise TypeError(f"{name} must be a sequence, got {type(values).__name__} "
                        f"{values!r}") from None


def table(frame, name: str) -> None:
    """Validate a table: a DataFrame or a mapping of columns (``keys`` or ``columns``)."""
    if not (hasattr(frame, "__getitem__") and (hasattr(frame, "columns")
                                               or hasattr(frame, "keys"))):
        raise TypeError(f"{name} must be a DataFrame or a mapping of columns, got "
                        f"{type(frame).__name__}")


def instance(value, cls: type, name: str) -> None:
    """Validate that ``value`` is a ``cls`` (e.g. a Dataset), naming the argument."""
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__module__.split('.')[0]}.{cls.__name__}, "
                        f"got {type(value).__name__}")


def generator(value, name: str) -> np.random.Generator:
    """A numpy Generator from ``value``: a Generator, a seed (an integer >= 0) or None."""
    if isinstance(value, np.random.Generator):
        return value
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                              or value < 0):
        raise TypeError(f"{name} must be a numpy.random.Generator, a seed (an integer >= 0) "
                        f"or None, got {type(value).__name__} {value!r}")
    return np.random.default_rng(value)


def needs(value, name: str, other, other_name: str) -> None:
    """Reject ``value`` (not None) given without ``other`` (None), which gives it a meaning."""
    if value is not None and other is None:
        raise ValueError(f"{name} = {value!r} is given without {other_name}: it has no "
                         f"meaning then (pass {other_name} too, or drop {name})")


def log_probabilities(x, name: str) -> np.ndarray:
    """Validate log-probabilities ``(..., n)``: finite or −∞ (zero mass), never NaN or +∞."""
    arr = as_float_array(x, name, min_ndim=1, allow_inf=True)
    bad = np.isposinf(arr)
    if bad.any():
        i = _where(bad)
        raise ValueError(f"{name}{_fmt(i)} = inf, must be a log-probability (finite or -inf)")
    return arr


def draw_count(total: float, name: str) -> int:
    """``round(total)`` as a count of multinomial draws, or a ValueError above 2**62."""
    if not total <= 2.0**62:
        raise ValueError(f"{name} = {total:g} is not representable as a number of draws "
                         "(at most 2**62): rescale the weights to counts")
    return int(round(total))


def flag(value, name: str) -> bool:
    """Validate a boolean flag (numbers and strings are rejected, not read as truth values)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def adam_taus(value, name: str) -> np.ndarray:
    """Validate τ for Adam-based computations: finite, in [1/ADAM_RANGE, ADAM_RANGE]."""
    arr = tau(value, name)
    out = (arr < 1 / ADAM_RANGE) | (arr > ADAM_RANGE)
    if out.any():
        i = _where(out) if arr.ndim else ()
        raise ValueError(f"{name}{_fmt(i)} = {arr[i]}, must be in [1e-150, 1e150]: Adam squares "
                         "the gradient, of order 1/tau (IPO) or tau (DPO), which overflows "
                         "float64 beyond")
    return arr
def choice(value, name: str, options) -> str:
    """Validate a string option: one of ``options`` (the message lists them)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
    if value not in options:
        raise ValueError(f"{name} = {value!r}, must be one of {list(options)}")
    return value


def no_positive_inf(arr: np.ndarray, name: str) -> None:
    """Reject ``+∞`` entries (``−∞`` allowed)."""
    bad = np.isposinf(arr)
    if bad.any():
        raise ValueError(f"{name}{_fmt(_where(bad))} = inf, must be finite or -inf")
