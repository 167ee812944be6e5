"""Make the example inputs the README's tours use, from the bundled sample clips (offline).

    python docs/tour_data.py [DEST]        (or: make tour; DEST defaults to the current folder)

Writes, under DEST (every file is made again from scratch, same bytes every run):

* ``mix/`` + ``mix/manifest.csv``: the six sample clips (split ``train``), a ``light`` copy of
  ``fight/fi028`` (``val``: a leak) and of ``noFight/nofi090`` (``train``), and an exact copy
  of ``fight/fi066`` (``val``): what ``vidaug dedup`` and ``vidaug report`` find.
* ``clips/`` + ``clips/manifest.jsonl``: each sample clip and 3 ``camera`` copies of it, with a
  ``group`` column (the source clip), for ``curate``, ``train``, ``compare``.
* ``unseen/`` + ``unseen/manifest.jsonl``: one ``surveillance`` copy of each sample clip, for
  ``evaluate``. A stand-in: they come from the same cameras as ``clips/``; use clips of
  cameras your model never saw to measure it.
* ``tracks.csv``: two box tracks on ``fight/fi028.mp4`` (``frame,track_id,x1,y1,x2,y2``), for
  ``vidaug preview --boxes``.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from pathlib import Path

from vidaug.augment import load_recipe
from vidaug.datasets import (
    atomic_write_text,
    load_rows,
    read_clip,
    sample_clips_dir,
    write_clip,
    write_jsonl,
)


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def _augmented(src: Path, dest: Path, recipe: str, seed: int) -> None:
    clip = read_clip(src)
    write_clip(dest, load_recipe(recipe).transform(clip.frames, seed=seed), clip.fps)


def make_mix(samples: Path, root: Path) -> Path:
    rows = []
    for r in load_rows(samples):
        _copy(Path(r.path), root / r.rel)
        rows.append((r.rel, r.label, "train"))
    extra = [
        ("fight/fi028__aug0.mp4", "fight", "val", "fight/fi028.mp4", "light"),
        ("noFight/nofi090__aug0.mp4", "noFight", "train", "noFight/nofi090.mp4", "light"),
        ("fight/fi066_copy.mp4", "fight", "val", "fight/fi066.mp4", None),
    ]
    for rel, label, split, source, recipe in extra:
        if recipe is None:
            _copy(samples / source, root / rel)
        else:
            _augmented(samples / source, root / rel, recipe, seed=0)
        rows.append((rel, label, split))
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([("path", "label", "split"), *rows])
    return atomic_write_text(root / "manifest.csv", text.getvalue())


def make_copies(samples: Path, root: Path, recipe: str, copies: int, originals: bool) -> Path:
    rows = []
    for r in load_rows(samples):
        group = Path(r.rel).stem
        if originals:
            _copy(Path(r.path), root / r.rel)
            rows.append({"path": r.rel, "label": r.label, "group": group})
        for k in range(copies):
            rel = f"{Path(r.rel).with_suffix('')}__{recipe}{k}.mp4"
            _augmented(Path(r.path), root / rel, recipe, seed=k)
            rows.append({"path": rel, "label": r.label, "group": group})
    return write_jsonl(root / "manifest.jsonl", rows)


def make_tracks(path: Path, frames: int = 51) -> Path:
    lines = ["frame,track_id,x1,y1,x2,y2"]
    for f in range(frames):
        lines.append(f"{f},1,{100 + 2 * f},80,{220 + 2 * f},300")  # walks right
        lines.append(f"{f},2,{330 - f},150,{420 - f},330")  # walks left
    return atomic_write_text(path, "\n".join(lines) + "\n")


def main(dest: Path) -> None:
    samples = sample_clips_dir()
    for name in ("mix", "clips", "unseen"):
        shutil.rmtree(dest / name, ignore_errors=True)
    outputs = [
        make_mix(samples, dest / "mix"),
        make_copies(samples, dest / "clips", "camera", copies=3, originals=True),
        make_copies(samples, dest / "unseen", "surveillance", copies=1, originals=False),
        make_tracks(dest / "tracks.csv"),
    ]
    for p in outputs:
        print(f"wrote {p}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
