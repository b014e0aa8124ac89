"""The package's shape: imports point one way (cli -> jobs/tokenizer/pfnn -> formats -> features -> schemas) and
form no cycle. Read from the source with ``ast``, so a violation fails here before it bites at run time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mtk"

_BELOW_FORMATS = {"mtk.errors", "mtk.schemas", "mtk.io", "mtk.maths", "mtk.features", "mtk.analysis", "mtk.stats",
                  "mtk.render", "mtk.sample", "mtk.mocap"}
#: package -> the mtk packages it may import (itself always allowed), None for anything; see docs/architecture.md.
#: A package missing here fails the test: a new room is placed in the order on purpose, not by default.
ALLOWED: dict[str, set[str] | None] = {
    "mtk.errors": set(),
    "mtk.schemas": set(),
    "mtk.io": {"mtk.errors"},
    "mtk.maths": set(),
    "mtk.features": {"mtk.errors", "mtk.schemas", "mtk.maths"},
    "mtk.analysis": {"mtk.errors", "mtk.schemas", "mtk.maths", "mtk.features"},
    "mtk.stats": {"mtk.errors", "mtk.schemas", "mtk.maths", "mtk.features"},
    "mtk.render": set(),
    "mtk.sample": {"mtk.errors", "mtk.schemas", "mtk.maths", "mtk.features"},
    "mtk.mocap": {"mtk.errors", "mtk.schemas", "mtk.io", "mtk.maths", "mtk.features"},
    "mtk.formats": {"mtk.errors", "mtk.schemas", "mtk.io", "mtk.maths", "mtk.features", "mtk.analysis", "mtk.mocap"},
    "mtk.jobs": _BELOW_FORMATS | {"mtk.formats"},
    "mtk.metrics": _BELOW_FORMATS | {"mtk.formats"},
    "mtk.tokenizer": _BELOW_FORMATS | {"mtk.formats", "mtk.jobs", "mtk.metrics"},
    "mtk.pfnn": _BELOW_FORMATS | {"mtk.formats", "mtk.jobs"},
    "mtk.cli": None,
    "mtk.demo": None,
    "mtk": None,
    "mtk.__main__": None,
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
        package = _package(module)
        assert package in ALLOWED, f"{package} is not in ALLOWED: place it in the import order (docs/architecture.md)"
        allowed = ALLOWED[package]
        if allowed is None:
            continue  # cli, demo and the package root may import anything
        for target in targets:
            if _package(target) != package and _package(target) not in allowed:
                violations.append(f"{module} imports {target}")
    assert violations == []


def test_every_package_is_placed():
    """ALLOWED fails closed: every package under mtk/ has its row (and no row names a package that is gone)."""
    found = {_package(name) for name in graph(top_level_only=True)}
    assert found == set(ALLOWED)


#: packages that ``mtk --help``, ``mtk inspect`` and format detection load (the registry imports every format,
#: and each package's ``formats`` module with what it imports)
LIGHT = ("errors", "schemas", "io", "maths", "features", "analysis", "stats", "render", "sample", "mocap", "formats",
         "cli", "pfnn/formats.py", "pfnn/database.py", "pfnn/schema.py")


def _light_modules():
    for name in LIGHT:
        folder = PACKAGE / name
        yield from folder.rglob("*.py") if folder.is_dir() else [PACKAGE / (name if name.endswith(".py") else f"{name}.py")]


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


def _string_constants(path: Path):
    """(line, text) of every string constant in ``path`` that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def _family_rooms(path: Path) -> bool:
    """schemas/ and features/ say what layouts, skeletons and datasets are; every other module asks them."""
    return "schemas" in path.parts or "features" in path.parts


def _named(words: set[str]):
    """A pattern finding ``words`` as words of a text; a dotted module path (``mtk.features.smpl272``) is not
    a name."""
    import re

    return re.compile(r"(?<![\w.])(" + "|".join(sorted(map(re.escape, words))) + r")(?![\w.])")


def _is_text(node: ast.AST) -> bool:
    """A string constant, or a tuple/list/set of them."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return bool(node.elts) and all(_is_text(element) for element in node.elts)
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _offenders(words: set[str], attributes: set[str]) -> list[str]:
    """Modules outside schemas/ and features/ whose string constants (docstrings aside) spell one of
    ``words``, or that compare one of ``attributes`` (``x.family == ...``)."""
    pattern = _named(words)
    found = []
    for path in PACKAGE.rglob("*.py"):
        if _family_rooms(path):
            continue
        found += [f"{module_name(path)}:{line} names {name}" for line, text in _string_constants(path)
                  for name in pattern.findall(text)]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            sides = [node.left, *node.comparators] if isinstance(node, ast.Compare) else []
            if any(isinstance(side, ast.Attribute) and side.attr in attributes for side in sides) and \
                    any(_is_text(side) for side in sides):
                found.append(f"{module_name(path)}:{node.lineno} tests {ast.unparse(node)}")
    return found


def test_layouts_are_data_outside_schemas_and_the_family_modules():
    """No layout name in code (docstrings aside) and no test on a layout's 6D convention: behaviour goes
    through mtk.features, names through the layouts."""
    from mtk.features import layouts

    assert _offenders(set(layouts()), {"sixd"}) == []


def _family_words() -> set[str]:
    """Skeleton, feature-family and dataset-family names, less the names of formats (the MotionMillion token
    format shares its dataset's name; a format's name belongs to the format registry)."""
    from mtk.features import dataset_folders, families, layouts, skeletons
    from mtk.formats import registry

    words = {s.name for s in skeletons()} | {f.name for f in families()} | {d.name for d in dataset_folders()}
    words |= {layout.dataset_family for layout in layouts().values()}
    return words - {f.name for f in registry.formats()}


def test_skeletons_and_dataset_families_are_named_only_in_schemas_and_the_family_modules():
    """Skeletons are found with ``skeleton_for_joints``, dataset folders and published stats through the
    families: no other module spells their names (docstrings aside) or compares a family string."""
    words = _family_words()
    assert {"smpl22", "kit21", "pfnn31", "hml", "humanml3d", "kit"} <= words
    assert _offenders(words, {"family", "dataset_family", "skeleton"}) == []


def test_the_name_checks_see_a_name():
    """The checks above would see an offence: a name in a string, not in a dotted path or a longer word."""
    pattern = _named({"kit21", "smpl272"})
    assert pattern.findall("use --skeleton kit21") == ["kit21"]
    assert pattern.findall("mtk.features.smpl272 toolkit21 kit21x") == []
    tree = ast.parse("layout.family == 'hml'\nlayout.sixd in ('rows',)\nskeleton is SMPL22")
    assert [_is_text(node.comparators[0]) for node in ast.walk(tree) if isinstance(node, ast.Compare)] == \
        [True, True, False]


#: the notes beside the repository that nothing in it may cite (this file names them, so it is not scanned)
OUTSIDE = ("shared/specs", "feature_layouts.md", "pfnn_format.md", "motionmillion_tokenizer.md", "ecosystem.md")


def test_the_code_cites_only_the_repository():
    """Docstrings, comments and tests cite the project's own docs (which say in their own words what the code
    relies on), never notes outside the repository: every ``docs/*.md`` or ``README.md`` named exists."""
    import re

    root = PACKAGE.parent
    cited = re.compile(r"(?<![\w/.-])((?:docs/)?[\w-]+\.md)\b")
    offenders = []
    for folder in ("mtk", "tests", "benchmarks", "docs"):
        for path in (root / folder).rglob("*.py"):
            if path == Path(__file__).resolve():
                continue
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.relative_to(root)} cites {outside}" for outside in OUTSIDE if outside in text]
            offenders += [f"{path.relative_to(root)} cites {name}" for name in cited.findall(text)
                          if name.startswith("docs/") and not (root / name).is_file()
                          or not name.startswith("docs/") and name != "report.md" and not (root / name).is_file()
                          and not (root / "docs" / name).is_file()]
    assert offenders == []
