"""`vidaug preview`, `vidaug report` and `--report` on dedup / mine-hard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import make_clip, save_tiny_embedder
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.datasets import read_clip, write_clip

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def video(tmp_path) -> Path:
    p = tmp_path / "clip.mp4"
    write_clip(p, make_clip(12, 48, 64), fps=10.0)
    return p


def _one_error_line(r) -> None:
    assert "Traceback" not in r.output
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr


# ---- preview ------------------------------------------------------------------------------


def test_preview_png_sheet_rows(video, tmp_path):
    sizes = {}
    for n in (1, 3):
        out = tmp_path / f"s{n}.png"
        r = run("preview", video, "-n", n, "--seed", "1", "--out", out, "--height", 40)
        assert r.exit_code == 0, r.output
        img = cv2.imread(str(out))
        assert img is not None
        sizes[n] = img.shape
        assert r.stdout.count("seed") == n  # one line per copy: its seed and what was applied
    assert sizes[1][1] == sizes[3][1]  # same width
    assert sizes[3][0] - sizes[1][0] >= 2 * 40  # two more rows of 40 px frames
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]  # atomic: no leftovers


def test_preview_gif_frame_count_and_json(video, tmp_path):
    out = tmp_path / "p.gif"
    r = run("preview", video, "-n", 2, "-r", "light", "--out", out, "--height", 32, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["kind"] == "animation" and info["frames"] == 12 and len(info["copies"]) == 2
    ok, anim = cv2.imreadanimation(str(out))
    assert ok and len(anim.frames) == 12
    assert (anim.frames[0].shape[1], anim.frames[0].shape[0]) == (info["width"], info["height"])


def test_preview_mp4_is_readable(video, tmp_path):
    out = tmp_path / "p.mp4"
    r = run("preview", video, "-n", 3, "--out", out, "--max-frames", 8, "--height", 32)
    assert r.exit_code == 0, r.output
    clip = read_clip(out)
    assert clip.frames.shape[0] == 8 and clip.frames.shape[1] % 2 == 0


def test_preview_draws_boxes(video, tmp_path):
    boxes = tmp_path / "boxes.csv"
    boxes.write_text(
        "frame,track_id,x1,y1,x2,y2\n" + "".join(f"{f},7,10,10,40,30\n" for f in range(12))
    )
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run("preview", video, "-n", 1, "-o", a).exit_code == 0
    r = run("preview", video, "-n", 1, "-o", b, "--boxes", boxes)
    assert r.exit_code == 0, r.output
    assert not np.array_equal(cv2.imread(str(a)), cv2.imread(str(b)))


@pytest.mark.parametrize(
    ("case", "code"),
    [("missing", 2), ("not_video", 1), ("recipe", 2), ("suffix", 2), ("boxes", 1)],
)
def test_preview_bad_input_is_one_line(case, code, video, tmp_path):
    out = tmp_path / "keep.png"
    out.write_bytes(b"old")
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    args = {
        "missing": [tmp_path / "nope.mp4", "-o", out],
        "not_video": [junk, "-o", out],
        "recipe": [video, "-r", "nope", "-o", out],
        "suffix": [video, "-o", tmp_path / "x.bmp"],
        "boxes": [video, "--boxes", junk, "-o", out],
    }[case]
    r = run("preview", *args)
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    if code == 1:
        _one_error_line(r)
    assert out.read_bytes() == b"old"  # nothing half-written over the old file


# ---- report from saved results (no TensorFlow: a hand-made index) ---------------------------


def _saved_results(tmp_path: Path, video: Path) -> tuple[Path, Path]:
    from vidaug.mining import EmbeddingIndex, find_duplicates, score_hardness
    from vidaug.report import check_results, save_results

    rng = np.random.default_rng(0)
    fe = rng.normal(size=(4, 3, 8)).astype(np.float32)
    fe[1] = fe[0]
    fe = fe.reshape(-1, 8)
    fe /= np.linalg.norm(fe, axis=1, keepdims=True)
    clips = [
        {"id": f"v{i}.mp4", "path": str(video), "label": "ab"[i % 2], "split": "train"}
        for i in range(4)
    ]
    clips[1]["split"] = "val"
    ix = EmbeddingIndex.build(clips, fe, np.repeat(np.arange(4), 3), model_id="t")
    d, _ = save_results(tmp_path / "d.jsonl", check_results(find_duplicates(ix), ix))
    rows = score_hardness(ix.clip_emb, [c["label"] for c in ix.clips], k=2, ids=ix.ids)
    h, _ = save_results(tmp_path / "h.jsonl", check_results(rows, ix))
    return d, h


def _data(page: str) -> dict:
    blob = page.split('<script id="report-data" type="application/json">')[1]
    return json.loads(blob.split("</script>")[0])


def test_report_from_saved_results(video, tmp_path):
    d, h = _saved_results(tmp_path, video)
    r = run("report", d)
    assert r.exit_code == 0, r.output
    data = _data((tmp_path / "d.html").read_text())
    assert len(data["groups"]) == 1 and data["groups"][0]["leak"]
    assert all(c["t"] >= 0 for c in data["clips"]) and len(data["thumbs"]) == 2
    r = run("report", h, "--out", tmp_path / "hard.html", "--no-thumbnails")
    assert r.exit_code == 0, r.output
    data = _data((tmp_path / "hard.html").read_text())
    assert len(data["rows"]) == 4 and data["thumbs"] == []


def test_report_without_sidecar_uses_clips(video, tmp_path):
    d, _ = _saved_results(tmp_path, video)
    (tmp_path / "d.meta.json").unlink()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for i in range(2):
        shutil.copy(video, data_dir / f"v{i}.mp4")
    r = run("report", d, "--clips", data_dir, "-o", tmp_path / "r.html")
    assert r.exit_code == 0, r.output
    assert len(_data((tmp_path / "r.html").read_text())["thumbs"]) == 2
    r = run("report", d, "-o", tmp_path / "r2.html")
    assert r.exit_code == 0 and "--clips" in r.stderr  # a warning, then a text-only report


@pytest.mark.parametrize(("case", "code"), [("missing", 2), ("bad", 1), ("suffix", 2)])
def test_report_errors(case, code, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\n')
    args = {
        "missing": [tmp_path / "nope.jsonl"],
        "bad": [bad],
        "suffix": [bad, "--out", tmp_path / "r.txt"],
    }[case]
    r = run("report", *args)
    assert r.exit_code == code and "Traceback" not in r.output
    if code == 1:
        _one_error_line(r)


# ---- --report on the mining commands (tiny Keras embedder) ----------------------------------


@pytest.mark.slow
def test_dedup_and_mine_hard_reports(tmp_path):
    model = save_tiny_embedder(tmp_path / "tiny.keras")
    root = tmp_path / "data"
    for i, rel in enumerate(["a/x.mp4", "a/y.mp4", "b/z.mp4", "b/w.mp4"]):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_clip(root / rel, make_clip(8, 48, 64, seed=10 * i), fps=10.0)
    shutil.copy(root / "a/x.mp4", root / "b/x_copy.mp4")
    out, rep = tmp_path / "d.jsonl", tmp_path / "d.html"
    r = run("dedup", root, "--embedder", model, "--frames", 4, "--out", out, "--report", rep)
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 5  # the table itself is unchanged
    meta = json.loads((tmp_path / "d.meta.json").read_text())
    assert meta["kind"] == "dedup" and meta["groups"] and meta["elapsed_s"] > 0
    assert meta["model"] and meta["index_kind"] == "flat"
    data = _data(rep.read_text())
    assert len(data["groups"]) == 1 and len(data["thumbs"]) == 2
    rep2 = tmp_path / "h.html"
    r = run("mine-hard", root, "--embedder", model, "--frames", 2, "--k", 2, "--report", rep2)
    assert r.exit_code == 0, r.output
    assert len(_data(rep2.read_text())["rows"]) == 5
    r = run("dedup", root, "--report", tmp_path / "x.txt")
    assert r.exit_code == 2 and "Traceback" not in r.output
