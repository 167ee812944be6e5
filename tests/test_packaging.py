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


def test_license_is_an_spdx_string():
    """A license table makes setuptools ≥ 77 print deprecation blocks at every install."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"
    floor = next(r for r in meta["build-system"]["requires"] if r.startswith("setuptools"))
    assert tuple(int(x) for x in floor.split(">=")[1].split(".")) >= (77,)


def test_python_m_vidaug_runs_the_cli():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "vidaug", "--version"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("vidaug "), done.stderr
