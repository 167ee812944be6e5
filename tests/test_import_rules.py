"""The package layers point one way and no package reaches into another's private modules
(issue 10 §2; docs/ARCHITECTURE.md). Walks every import statement of the package with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "vidaug"

#: A package may import packages of a lower rank (and its own); never one of the same or higher.
RANK = {
    "errors": 0,
    "_version": 0,
    "_lazy": 0,
    "_json": 0,
    "augment": 1,
    "datasets": 2,
    "mining": 3,
    "training": 4,
    "report": 4,
    "pipelines": 5,
    "cli": 6,
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0].removesuffix(".py") if len(rel) > 1 else rel[0].removesuffix(".py")


def test_layers_and_no_cross_package_private_imports():
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        own = _package(path)
        for line, module in _imports(path):
            parts = module.split(".")
            if parts[0] != "vidaug" or len(parts) < 2:
                continue
            target = parts[1]
            where = f"{path.relative_to(ROOT.parent)}:{line} imports {module}"
            if target == own:
                continue
            if own in RANK and target in RANK and RANK[target] >= RANK[own]:
                bad.append(f"{where} (layer {own} may not import {target})")
            if len(parts) > 2 and parts[2].startswith("_"):
                bad.append(f"{where} (private module of another package)")
    assert not bad, "\n".join(bad)


def test_every_package_is_ranked():
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(RANK), packages - set(RANK)


def test_library_errors_name_parameters_not_cli_flags(tmp_path):
    """issue 10 §2: "copies must be ≥ 1", not "--copies must be ≥ 1" (the CLI maps them)."""
    import pytest
    from conftest import write_labelled_clips

    from vidaug.errors import VidaugError
    from vidaug.pipelines import augment_dataset, curate

    data = write_labelled_clips(tmp_path / "d", per_class=2)
    with pytest.raises(VidaugError, match=r"^copies must be ≥ 1$"):
        augment_dataset(data, tmp_path / "o", recipe="light", copies=0)
    with pytest.raises(VidaugError, match=r"^copies and hard_copies must be ≥ 0$"):
        curate(data, tmp_path / "c", copies=-1)


def test_one_json_encoder():
    """issue 10 §4: the index, the results sidecar and the params records share to_jsonable."""
    import json
    from pathlib import Path

    import numpy as np
    import pytest

    from vidaug.augment import to_jsonable

    x = {"a": np.float32(0.5), 1: (np.int64(2), {3, 1}), "p": Path("/x/y"), "n": float("nan"),
         "arr": np.arange(3)}  # fmt: skip
    assert to_jsonable(x) == {"a": 0.5, "1": [2, [1, 3]], "p": "/x/y", "n": None, "arr": [0, 1, 2]}
    json.dumps(to_jsonable(x))
    with pytest.raises(TypeError):
        json.dumps(to_jsonable({"o": object()}))  # unknown types are not guessed
    sources = "".join(p.read_text(encoding="utf-8") for p in ROOT.rglob("*.py"))
    assert "_json_default" not in sources


# ---------------------------------------------------------------------------------------------
# Files, not only packages: no import circle (issue 22 §4)
# ---------------------------------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(test)


def _all_imports(body: list[ast.stmt]):
    """Every import statement, at module level or inside functions and classes (an import in a
    function closes a circle too, the first time it runs), except ``if TYPE_CHECKING`` ones."""
    for node in body:
        if _type_checking_only(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            sub = getattr(node, field, None)
            if isinstance(sub, list):
                yield from _all_imports(sub)


def _import_graph() -> dict[str, dict[str, int]]:
    """``module → {imported vidaug module: line}`` over every file of the package."""
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, dict[str, int]] = {m: {} for m in files}
    for mod, path in files.items():
        for node in _all_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the package of this file
                    pkg = mod.split(".")[: None if path.name == "__init__.py" else -1]
                    pkg = pkg[: len(pkg) - node.level + 1]
                    base = ".".join([*pkg, base] if base else pkg)
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            for t in targets:
                if t in files and t != mod:
                    graph[mod].setdefault(t, node.lineno)
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while (w := stack.pop()) != v:
                comp.append(w)
            if comp:
                found.append(sorted([v, *comp]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_between_files():
    """Layers point one way between files too: no file imports one that (through others)
    imports it back, not even from inside a function."""
    graph = _import_graph()
    assert "vidaug.datasets._io" in graph["vidaug.datasets._stream"]  # the walk sees imports
    lines = []
    for comp in _cycles(graph):
        edges = [f"{a}:{graph[a][b]} -> {b}" for a in comp for b in graph[a] if b in comp]
        lines.append("circle: " + "; ".join(edges))
    assert not lines, "\n".join(lines)


def test_cycle_finder_finds_a_circle():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": 1}, "b": {}}) == []


def test_one_lazy_loading_mechanism():
    """Packages load names lazily through ``vidaug._lazy.lazy_names`` only: no hand-written
    module ``__getattr__``."""
    hand_written = [
        str(p.relative_to(ROOT.parent))
        for p in ROOT.rglob("*.py")
        for node in ast.parse(p.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and node.name in ("__getattr__", "__dir__")
    ]
    assert not hand_written
    import vidaug.datasets as d

    assert {"ClipLoader", "read_clip"} <= set(dir(d))


def test_json_encoder_on_the_bottom_floor():
    """The one JSON encoder is a module of the bottom floor: packages below augment use it
    without importing augment."""
    import vidaug.augment
    from vidaug._json import to_jsonable

    assert vidaug.augment.to_jsonable is to_jsonable
    bad = [
        f"{p.relative_to(ROOT.parent)}:{node.lineno}"
        for p in ROOT.rglob("*.py")
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module == "vidaug.augment"
        and any(a.name == "to_jsonable" for a in node.names)
    ]
    assert not bad


def test_no_unused_private_functions():
    """A private module-level function or class (not registered by a decorator) is used
    somewhere in the package."""
    import re

    sources = {p: p.read_text(encoding="utf-8") for p in ROOT.rglob("*.py")}
    every = "\n".join(sources.values())
    unused = [
        f"{p.relative_to(ROOT.parent)}:{node.lineno} {node.name}"
        for p, text in sources.items()
        for node in ast.parse(text).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
        and node.name.startswith("_")
        and not node.name.startswith("__")
        and not node.decorator_list
        and len(re.findall(rf"\b{re.escape(node.name)}\b", every)) < 2
    ]
    assert not unused


def test_one_truncation_rule():
    """A stream counts as truncated by one rule, with a name: 2 frames or 2% of the container's
    count short (read_clip and the streaming augment path both ask it)."""
    from vidaug.datasets import is_truncated

    assert not is_truncated(98, 100) and is_truncated(97, 100)
    assert not is_truncated(980, 1000) and is_truncated(979, 1000)
    assert not is_truncated(5, 0)  # no count in the container: nothing to compare with
    sources = "".join(p.read_text(encoding="utf-8") for p in ROOT.rglob("*.py"))
    assert "0.02 * claimed" not in sources
