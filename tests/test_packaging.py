"""What pyproject.toml promises matches what the code uses (issue 10 §1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11

ROOT = Path(__file__).resolve().parents[1]


def test_opencv_floor_has_cv2_animation():
    """The GIF / WebP previews use cv2.Animation, which OpenCV has from 4.11 on."""
    uses = any("cv2.Animation" in p.read_text(encoding="utf-8")
               for p in (ROOT / "vidaug").rglob("*.py"))  # fmt: skip
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    spec = next(d for d in deps if d.startswith("opencv-python-headless"))
    floor = tuple(int(x) for x in re.search(r">=\s*([\d.]+)", spec).group(1).split("."))
    assert uses and floor >= (4, 11), spec
