"""The package's layout, read from its own source: data flows one way, privacy is kept.

Parses every module of :mod:`psipo_exact` (including imports inside functions) and fails on

* an import cycle between modules,
* an import of another module's underscore (private) name, as ``from m import _x`` or as an
  attribute ``m._x`` of an imported module (private *modules* such as ``_base``, ``_checks``
  or ``solvers._laplacian`` may be imported; their names carry no underscore),
* an import that points up the layers of ``../shared/DESIGN.md`` (README, "Layout"):
  ``_checks/_base → model/psi → closed_form → losses → solvers/simulate → experiments →
  report/plotting → cli``. A new top-level module must be given its layer in :data:`LAYERS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import psipo_exact

ROOT = Path(psipo_exact.__file__).parent
PACKAGE = "psipo_exact"

#: Layer of every top-level module or subpackage: imports may only point to the same or a
#: lower layer (and never form a cycle).
LAYERS = {
    "_checks": 0, "_base": 0, "_io": 0, "_tables": 0,
    "model": 1, "psi": 1, "symbolic": 1,
    "closed_form": 2, "datasets": 2,
    "losses": 3, "strategies": 3,
    "solvers": 4, "simulate": 4, "games": 4, "adam_noise": 4,
    "experiments": 5, "files": 5, "frames": 5, "statistics": 5,
    "report": 6, "plotting": 6, "gallery": 6,
    "cli": 7,
    "__init__": 8,
}


def _module_name(path: Path, root: Path = ROOT.parent) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute module named by a (relative) ``from ... import`` in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """``(imported module, imported name or None, line)`` for every import in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node.level, node.module)
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in MODULES:  # `from pkg import submodule`
                    out.append((sub, None, node.lineno))
                else:
                    out.append((source, alias.name, node.lineno))
    return [(m, name, line) for m, name, line in out if m.split(".")[0] == PACKAGE]


def _edges() -> dict[str, set[str]]:
    return {m: {target for target, _, _ in _imports(m) if target != m} for m in MODULES}


def _layer(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    assert key in LAYERS, f"{module}: give the new module a layer in tests/test_layout.py"
    return LAYERS[key]


def test_every_module_is_parsed():
    assert {"psipo_exact", "psipo_exact.closed_form", "psipo_exact.solvers.result"} <= set(
        MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_imported_from_another_module(module):
    bad = [f"line {line}: from {src} import {name}" for src, name, line in _imports(module)
           if name is not None and name.startswith("_") and not name.startswith("__")]
    assert not bad, f"{module} imports private names: {bad}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_attribute_of_an_imported_module(module):
    """``_checks._where(...)`` and the like: a private name reached through a module."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    aliases = {}
    is_package = MODULES[module].name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node.level, node.module)
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
    bad = [f"line {node.lineno}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
           if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
           and node.value.id in aliases and node.attr.startswith("_")
           and not node.attr.startswith("__")]
    assert not bad, f"{module} reaches private names of other modules: {bad}"


def test_no_import_cycle():
    edges = _edges()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for target in sorted(edges.get(m, ())):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target in edges and target not in state:
                visit(target)
        stack.pop()
        state[m] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    bad = [f"line {line}: {target} (layer {_layer(target)})"
           for target, _, line in _imports(module)
           if target in MODULES and _layer(target) > _layer(module)]
    assert not bad, f"{module} (layer {_layer(module)}) imports upwards: {bad}"


def test_the_detector_finds_a_cycle_and_a_private_import(tmp_path, monkeypatch):
    """The checks above can fail: a planted cycle and a planted private import are found."""
    pkg = tmp_path / PACKAGE
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import _hidden\n")
    (pkg / "b.py").write_text("from . import a\n_hidden = 1\n")
    planted = {_module_name(p, tmp_path): p for p in pkg.rglob("*.py")}
    monkeypatch.setitem(globals(), "MODULES", planted)
    assert ("psipo_exact.b", "_hidden", 1) in _imports("psipo_exact.a")
    with pytest.raises(AssertionError, match="import cycle"):
        test_no_import_cycle()
    with pytest.raises(AssertionError, match="private names"):
        test_no_private_name_is_imported_from_another_module("psipo_exact.a")

