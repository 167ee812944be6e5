"""The package layers point one way and no package reaches into another's private modules
(issue 10 §2; STYLE §1, §12). Walks every import statement of the package with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "vidaug"

#: A package may import packages of a lower rank (and its own); never one of the same or higher.
RANK = {
    "errors": 0,
    "_version": 0,
    "_lazy": 0,
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
