"""Curation that repairs wrong labels (issue 19): out-of-fold label errors, dropped or
relabelled, named by the input's path; then `vidaug train` on the result."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.datasets import ManifestRow, write_clip
from vidaug.errors import VidaugError
from vidaug.pipelines import find_dataset_label_errors

runner = CliRunner()


def _rows(n_per_class: int = 3, groups: bool = False) -> list[ManifestRow]:
    rows = []
    for label in ("a", "b"):
        for i in range(n_per_class):
            extra = {"group": f"{label}{i // 2}"} if groups else {}
            rows.append(ManifestRow(f"/nowhere/{label}{i}.mp4", f"{label}/{i}.mp4", label, None,
                                    extra))  # fmt: skip
    return rows


def test_one_class_is_a_clear_error():
    rows = [r for r in _rows() if r.label == "a"]
    with pytest.raises(VidaugError, match="at least 2 classes"):
        find_dataset_label_errors(rows)


def test_too_few_sources_for_the_folds_is_a_clear_error():
    # 6 clips from 4 source videos: 5 folds cannot keep each source on one side
    with pytest.raises(VidaugError, match=r"with 5 folds needs at least 5 clips from different"):
        find_dataset_label_errors(_rows(groups=True), folds=5)
    # duplicates count as one source too
    with pytest.raises(VidaugError, match="got 4 from 6 clips"):
        find_dataset_label_errors(_rows(), folds=5, duplicate_groups=[["a/0.mp4", "a/1.mp4"],
                                                                     ["b/0.mp4", "b/1.mp4"]])  # fmt: skip


def _scene(seed: int, move: bool, t: int = 24, h: int = 96, w: int = 128) -> np.ndarray:
    """A scene of its own (coloured shapes on a gradient); ``move``: a bright block crosses it
    fast (the motion model tells the classes apart by motion alone)."""
    rng = np.random.default_rng(seed)
    base = np.zeros((h, w, 3), np.uint8)
    base[:] = rng.integers(0, 120, 3)
    for _ in range(6):
        x, y = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(base, (x + 10, y + 10), int(rng.integers(5, 18)), color, -1)
    frames = np.repeat(base[None], t, axis=0).copy()
    if move:
        for i in range(t):
            x = (i * 9) % (w - 24)
            frames[i, 30:60, x : x + 24] = 255
    return frames


@pytest.mark.slow
def test_curate_drops_flipped_labels_and_train_reads_the_result(tmp_path, mobilenet_weights):
    clips = tmp_path / "clips"
    rows, flipped = [], set()
    for i in range(16):
        move = i % 2 == 0
        path = clips / f"c{i:02d}.mp4"
        write_clip(path, _scene(i, move), 12.0)
        label = "fight" if move else "calm"
        if i in (4, 7):  # two wrong labels
            label = "calm" if move else "fight"
            flipped.add(str(path))
        rows.append({"path": str(path), "label": label})  # absolute paths, no group column
    manifest = tmp_path / "dirty.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "OUT"
    r = runner.invoke(app, ["curate", str(manifest), str(out), "--dedup", "--label-errors",
                            "drop", "--split", "1,0,0", "--weights", str(mobilenet_weights)])  # fmt: skip
    assert r.exit_code == 0, r.output
    cur = json.loads((out / "curation.json").read_text())
    named = {e["clip"] for e in cur["label_errors"]}
    assert flipped <= named  # named by the path the manifest wrote
    assert all(
        e["action"] == "dropped" and e["given"] != e["suggested"] for e in cur["label_errors"]
    )
    assert len(named) <= 4  # a few errors, not half the data
    kept = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert not {m["source"] for m in kept} & {e["id"] for e in cur["label_errors"]}
    assert {m["split"] for m in kept} == {"train"}
    assert "label errors: " in r.output and "dropped" in r.output
    table = [json.loads(x) for x in (out / "label_errors.jsonl").read_text().splitlines()]
    assert len(table) == 16 and {"is_label_error", "label_error_score"} <= set(table[0])
    t = runner.invoke(app, ["train", str(out / "manifest.jsonl"), "--epochs", "2", "--members",
                            "1", "--weights", str(mobilenet_weights), "--out",
                            str(tmp_path / "m.keras")])  # fmt: skip
    assert t.exit_code == 0, t.output
    assert (tmp_path / "m.keras").is_file()
