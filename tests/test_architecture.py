"""The package's shape: imports point one way (cli -> jobs/tokenizer -> formats -> toolkit -> schemas) and
form no cycle. Read from the source with ``ast``, so a violation fails here before it bites at run time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mtk"

#: package -> the mtk packages it may import (itself always allowed); see docs/architecture.md
ALLOWED: dict[str, set[str]] = {
    "mtk.errors": set(),
    "mtk.schemas": set(),
    "mtk.io": {"mtk.errors"},
    "mtk.toolkit": {"mtk.errors", "mtk.schemas"},
    "mtk.mocap": {"mtk.errors", "mtk.schemas", "mtk.io", "mtk.toolkit"},
    "mtk.formats": {"mtk.errors", "mtk.schemas", "mtk.io", "mtk.toolkit", "mtk.mocap"},
    "mtk.jobs": {"mtk.errors", "mtk.schemas", "mtk.io", "mtk.toolkit", "mtk.formats", "mtk.mocap"},
    "mtk.tokenizer": {"mtk.errors", "mtk.schemas", "mtk.io", "mtk.toolkit", "mtk.formats", "mtk.mocap", "mtk.jobs"},
    "mtk.pfnn": {"mtk.errors", "mtk.schemas", "mtk.io", "mtk.toolkit", "mtk.formats", "mtk.mocap", "mtk.jobs"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, top_level_only: bool) -> set[str]:
    """The mtk modules ``path`` imports (at module level only, or anywhere in it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: climb level - 1 packages from this one
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # ``from pkg import mod`` imports pkg.mod when that is a module
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return {name for name in found if name == "mtk" or name.startswith("mtk.")}


def graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = {t for t in imported(path, top_level_only) if t in modules and t != name}
        edges[name] = targets
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("top_level_only", [True, False], ids=["module-level", "all-imports"])
def test_no_import_cycles(top_level_only):
    edges = graph(top_level_only)
    # a package's __init__ importing its own modules is how packages work, not a cycle between modules
    edges = {name: {t for t in targets if not name.startswith(t + ".")} for name, targets in edges.items()}
    assert find_cycle(edges) is None


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def test_imports_point_one_way():
    violations = []
    for module, targets in graph(top_level_only=False).items():
        allowed = ALLOWED.get(_package(module))
        if allowed is None:
            continue  # cli, demo and the package root may import anything
        for target in targets:
            if _package(target) != _package(module) and _package(target) not in allowed:
                violations.append(f"{module} imports {target}")
    assert violations == []


#: packages that ``mtk --help``, ``mtk inspect`` and format detection load (the registry imports every format)
LIGHT = ("errors", "schemas", "io", "toolkit", "mocap", "formats", "cli")


def _light_modules():
    for name in LIGHT:
        folder = PACKAGE / name
        yield from folder.rglob("*.py") if folder.is_dir() else [PACKAGE / f"{name}.py"]


def test_heavy_libraries_load_only_inside_functions():
    heavy = {"torch", "zarr", "h5py", "matplotlib", "accelerate", "fsspec"}
    offenders = []
    for path in _light_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{module_name(path)}: {n}" for n in names if n.split(".")[0] in heavy]
    assert offenders == []


def _docstrings(tree: ast.AST) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def test_layouts_are_data_outside_schemas_and_the_family_table():
    """No layout name in code (docstrings aside) and no test on a layout's 6D convention: behaviour goes
    through mtk.toolkit.families, names through mtk.schemas."""
    from mtk.schemas import LAYOUTS

    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "schemas" in path.parts or path.name == "families.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                named = [name for name in LAYOUTS if name in node.value]
                offenders += [f"{module_name(path)}:{node.lineno} names {name}" for name in named]
            if isinstance(node, ast.Compare) and "sixd" in ast.unparse(node):
                offenders.append(f"{module_name(path)}:{node.lineno} tests {ast.unparse(node)}")
    assert offenders == []
