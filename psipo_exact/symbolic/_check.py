"""The outcome of a symbolic check: :class:`Check`, the :func:`timed` decorator that
records its wall-clock time, and :func:`format_checks`, the table ``psipo-exact check``
prints."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence


@dataclasses.dataclass(frozen=True)
class Check:
    """Outcome of one symbolic verification.

    Attributes
    ----------
    name : str
        The claim, in words.
    reference : str
        Where the paper states it.
    holds : bool
        True when the derivation reduced the claim to an exact identity.
    detail : str
        What was shown, in words.
    seconds : float
        Wall-clock time of the derivation.

    References
    ----------
    Azar et al., arXiv:2310.12036: each Check's ``reference`` names the statement (e.g.
    "Sec. 5.3.1", "Prop. 3, Sec. 5.2").

    Examples
    --------
    >>> from psipo_exact.symbolic import check_section531
    >>> check = check_section531()
    >>> check.holds, check.reference
    (True, 'Sec. 5.3.1')
    >>> check.name
    'IPO optimum for a deterministic 2-action preference is σ(τ⁻¹/2)'
    """

    name: str
    reference: str
    holds: bool
    detail: str
    seconds: float = 0.0


def timed(check_fn: Callable[..., Check]) -> Callable[..., Check]:
    """Record the wall-clock time of a ``check_*`` function in its ``Check.seconds``.

    Parameters
    ----------
    check_fn : callable
        A function returning a :class:`Check`.

    Returns
    -------
    callable
        ``check_fn`` with the same signature, whose Check carries the seconds it took.
    """

    @functools.wraps(check_fn)
    def wrapper(*args, **kwargs) -> Check:
        start = time.perf_counter()
        check = check_fn(*args, **kwargs)
        return dataclasses.replace(check, seconds=time.perf_counter() - start)

    return wrapper


def format_check(check: Check) -> str:
    """One line for one check, as ``psipo-exact check`` prints it the moment it finishes.

    Parameters
    ----------
    check : Check

    Returns
    -------
    str
        ``"holds  seconds  reference: claim"``.

    Examples
    --------
    >>> format_check(Check("Eq. 17 equals its symmetric form", "Eq. 17 (Sec. 5.2)", True,
    ...                    "", 0.25))
    'yes    0.25 s  Eq. 17 (Sec. 5.2): Eq. 17 equals its symmetric form'

    References
    ----------
    Azar et al., arXiv:2310.12036: the claims verified by :func:`verify_all`.
    """
    return f"{'yes' if check.holds else 'NO':<3} {check.seconds:7.2f} s  {check.reference}: " \
        f"{check.name}"


def format_checks(checks: Sequence[Check]) -> str:
    """Plain-text table of checks: claim, paper reference, holds, seconds.

    Parameters
    ----------
    checks : sequence of Check
        E.g. the output of :func:`psipo_exact.symbolic.verify_all`.

    Returns
    -------
    str
        One header line, a rule, one line per check and a summary line.

    References
    ----------
    Azar et al., arXiv:2310.12036 (the "paper reference" column).

    Examples
    --------
    >>> from psipo_exact.symbolic import Check, format_checks
    >>> print(format_checks([Check("Eq. 17 up to a constant", "Eq. 17, Sec. 5.2", True,
    ...                            "exact", 0.25)]))
    claim                    paper reference   holds  seconds
    -----------------------  ----------------  -----  -------
    Eq. 17 up to a constant  Eq. 17, Sec. 5.2  yes    0.25
    1/1 claims hold (0.2 s)
    """
    header = ("claim", "paper reference", "holds", "seconds")
    rows = [(c.name, c.reference, "yes" if c.holds else "NO", f"{c.seconds:.2f}") for c in checks]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]

    def line(row: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()

    passed = sum(c.holds for c in checks)
    total_seconds = sum(c.seconds for c in checks)
    summary = f"{passed}/{len(checks)} claims hold ({total_seconds:.1f} s)"
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows), summary])
