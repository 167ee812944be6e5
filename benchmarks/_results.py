"""Paths and writing a script's own section of RESULTS.md, for the benchmarks that train (no
side effects on import, unlike ``_common``, which pins thread pools)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = Path(os.environ.get("VIDAUG_SHARED", ROOT.parent / "shared"))
WEIGHTS = SHARED / "models" / "mobilenet_v2" / "mobilenet_v2_1.0_224_notop.h5"


def write_marked_section(path: Path, name: str, body: str) -> None:
    """Replace the section between ``<!-- {name}:begin -->`` and ``<!-- {name}:end -->`` of
    ``path`` (or append it), re-reading the file right before an atomic replace: several
    scripts write RESULTS.md."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = f"{begin}\n{body.strip()}\n{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip() + "\n\n" + section
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def publish(path: Path, name: str, body: str, write: bool) -> None:
    """Write ``body`` as section ``name`` of ``path`` when ``write`` (a full run, or ``--write``),
    else print it (a quick run must not overwrite recorded results)."""
    if write:
        write_marked_section(path, name, body)
        print(f"wrote {path}")
    else:
        print(body)
