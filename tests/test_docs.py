"""Documentation that runs: every public object shows a doctest and cites its source.

The public API is (i) every function, class and public method or property defined in a
public module of :mod:`psipo_exact` (no underscore in its dotted path), read from the source
with :mod:`ast` so that modules needing optional packages are checked too, and (ii) every
function and class named in the ``__all__`` of :mod:`psipo_exact` and of its public
subpackages (which adds names defined in private modules, e.g. ``symbolic.Check``).

Each must have a numpydoc ``Examples`` section with at least one ``>>>`` line and a
``References`` section. ``make test`` runs the examples (``pytest --doctest-modules
psipo_exact``, flags in pyproject.toml), so an example that stops being true fails the suite.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import psipo_exact

ROOT = Path(psipo_exact.__file__).parent
PACKAGE = "psipo_exact"

#: Public objects allowed without Examples or References: ``"module.qualname": reason``.
#: Keep it (nearly) empty; every entry needs a reason a reader would accept.
ALLOWED: dict[str, str] = {}

WHAT_TO_ADD = """\
Add to each docstring (numpydoc; see psipo_exact/closed_form.py for models):

    References
    ----------
    Azar et al., arXiv:2310.12036, Eq. N (or Sec./App./Proposition; for things not from
    the paper, what they implement, e.g. Kingma and Ba (2014) for Adam).

    Examples
    --------
    >>> import numpy as np
    >>> import psipo_exact as px
    >>> ...  # a deterministic, fast call whose printed output a reader can check against
    ...      # the paper (print rounded values or np.allclose(...) -> True)

The examples run in `make test` (pytest --doctest-modules psipo_exact). Only where no
meaningful example exists, list the object in ALLOWED (tests/test_docs.py) with the reason."""

_HEADER = re.compile(r"^(\S[^\n]*)\n-{3,}[ \t]*$", re.M)


def _sections(doc: str) -> dict[str, str]:
    """numpydoc sections of a cleaned docstring: header -> body text."""
    heads = list(_HEADER.finditer(doc))
    return {
        m.group(1).strip(): doc[m.end(): heads[i + 1].start() if i + 1 < len(heads) else None]
        for i, m in enumerate(heads)
    }


def missing_parts(doc: str | None) -> list[str]:
    """What a docstring lacks: ``"Examples with >>>"`` and/or ``"References"``."""
    sections = _sections(doc or "")
    missing = []
    examples = sections.get("Examples", "")
    if not any(line.strip().startswith(">>>") for line in examples.splitlines()):
        missing.append("an Examples section with a >>> doctest")
    if not sections.get("References", "").strip():
        missing.append("a References section")
    return missing


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_public(module: str) -> bool:
    return not any(part.startswith("_") for part in module.split(".")[1:])


PUBLIC_MODULES = {
    _module_name(p): p for p in sorted(ROOT.rglob("*.py")) if _is_public(_module_name(p))
}


def _is_overload(node: ast.FunctionDef) -> bool:
    return any(getattr(d, "id", getattr(d, "attr", None)) == "overload"
               for d in node.decorator_list)


def _defined(module: str, path: Path) -> dict[str, tuple[str, str | None]]:
    """``"module.qualname" -> (path:line, docstring)`` for public defs in a module's source."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = {}

    def visit(body, prefix: str) -> None:
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if node.name.startswith("_") or (not isinstance(node, ast.ClassDef)
                                             and _is_overload(node)):
                continue
            where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            out[f"{module}.{prefix}{node.name}"] = (where, ast.get_docstring(node))
            if isinstance(node, ast.ClassDef) and not prefix:
                visit(node.body, f"{node.name}.")

    visit(tree.body, "")
    return out


def _exported() -> dict[str, tuple[str, str | None]]:
    """Functions and classes in the ``__all__`` of the package and its public subpackages."""
    out = {}
    for module, path in PUBLIC_MODULES.items():
        if path.name != "__init__.py":
            continue
        pkg = importlib.import_module(module)
        for name in getattr(pkg, "__all__", ()):
            obj = getattr(pkg, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith(PACKAGE):
                continue  # e.g. symbolic.Expr = sympy.Expr
            key = f"{obj.__module__}.{obj.__qualname__}"
            out[key] = (f"{module}.__all__", inspect.getdoc(obj))
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    member = getattr(member, "fget", getattr(member, "__func__", member))
                    if inspect.isfunction(member):
                        out[f"{key}.{attr}"] = (f"{module}.__all__", inspect.getdoc(member))
    return out


def public_objects() -> dict[str, tuple[str, str | None]]:
    """Every public object: ``"module.qualname" -> (where, docstring)``."""
    found = {}
    for module, path in PUBLIC_MODULES.items():
        found.update(_defined(module, path))
    for key, value in _exported().items():
        found.setdefault(key, value)
    return found


def test_every_public_object_has_a_running_example_and_a_reference():
    problems = []
    for key, (where, doc) in sorted(public_objects().items()):
        missing = missing_parts(doc)
        if missing and key not in ALLOWED:
            problems.append(f"  {key} ({where}): add {' and '.join(missing)}")
    assert not problems, (
        f"{len(problems)} public functions/classes lack documentation that runs:\n"
        + "\n".join(problems) + "\n\n" + WHAT_TO_ADD
    )


def test_allowed_exceptions_are_still_needed_and_explained():
    objects = public_objects()
    for key, reason in ALLOWED.items():
        assert reason.strip(), f"ALLOWED[{key!r}] needs a reason"
        assert key in objects, f"ALLOWED lists {key!r}, which is no longer public: remove it"
        assert missing_parts(objects[key][1]), (
            f"{key} is now documented: remove it from ALLOWED")


def test_the_walk_sees_the_whole_api():
    """Guards the walker itself: it must find the known API, including re-exported names."""
    objects = public_objects()
    assert len(objects) > 100
    for key in ("psipo_exact.closed_form.psipo_policy", "psipo_exact.model.Dataset.from_pairs",
                "psipo_exact.model.Dataset.total_weight", "psipo_exact.symbolic._check.Check",
                "psipo_exact.symbolic.verify_all", "psipo_exact.simulate.result.SimulationResult"
                ".mean_ci", "psipo_exact.strategies.preference_problems", "psipo_exact.cli.main"):
        assert key in objects, key


def test_missing_parts_detects_each_gap():
    complete = ("Summary.\n\nReferences\n----------\nAzar et al., Eq. 7.\n\n"
                "Examples\n--------\n>>> 1\n1\n")
    assert missing_parts(complete) == []
    assert missing_parts(complete.replace(">>> 1\n1\n", "Call it.\n")) == [
        "an Examples section with a >>> doctest"]
    assert missing_parts(complete.replace("References", "Notes")) == ["a References section"]
    assert len(missing_parts(None)) == 2


def test_make_test_runs_the_doctests():
    makefile = (ROOT.parent / "Makefile").read_text(encoding="utf-8")
    assert "--doctest-modules psipo_exact" in makefile
    pyproject = (ROOT.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r"doctest_optionflags = \[[^\]]*\"NUMBER\"", pyproject)
