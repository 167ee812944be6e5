"""Issue 11 §2: `curate` never copies an unreadable clip, lists its failures under a heading,
resumes / overwrites like `augment`, holds one lock per OUTPUT and refuses OUTPUT inside INPUT."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import make_clip, write_labelled_clips
from test_cli_augment import run, tree_bytes

from vidaug.datasets import output_lock, write_clip


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_labelled_clips(tmp_path / "data", per_class=4, t=12)


def test_unreadable_clips_are_never_copied(data, tmp_path):
    """Today text-renamed, empty and truncated files landed in train and test."""
    (data / "a" / "text.mp4").write_text("not a video at all")
    (data / "b" / "empty.mp4").write_bytes(b"")
    full = write_clip(tmp_path / "long.mp4", make_clip(60, 48, 64), fps=10.0).read_bytes()
    (data / "b" / "cut.mp4").write_bytes(full[: len(full) // 2])
    out = tmp_path / "cur"
    r = run("curate", data, out, "--split", "0.5,0.25,0.25")
    assert r.exit_code == 1, r.output
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    sources = {x["source"] for x in rows}
    assert not sources & {"a/text.mp4", "b/empty.mp4", "b/cut.mp4"}
    assert len(sources) == 8
    copied = {p.name for p in out.rglob("*.mp4")}
    assert not copied & {"text.mp4", "empty.mp4", "cut.mp4"}
    err = r.stderr
    assert "failed clips" in err and err.index("failed clips") < err.index("text.mp4")
    for name in ("text.mp4", "empty.mp4", "cut.mp4"):
        assert err.count(name) == 1, name  # listed once each
    cur = json.loads((out / "curation.json").read_text())
    assert sorted(f["clip"] for f in cur["failures"]) == ["a/text.mp4", "b/cut.mp4", "b/empty.mp4"]


def test_resume_finishes_an_interrupted_curation(data, tmp_path):
    args = ["--split", "0.5,0.25,0.25", "--copies", "1", "--recipe", "light", "--seed", "3"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert run("curate", data, full, *args).exit_code == 0
    assert run("curate", data, part, *args).exit_code == 0
    # simulate a crash: a journal of 3 finished lines and a torn one, no report yet
    lines = (part / "manifest.jsonl").read_text().splitlines()
    (part / "manifest.jsonl").write_text("\n".join(lines[:3]) + "\n" + lines[3][:15])
    (part / "curation.json").unlink()
    (part / json.loads(lines[5])["path"]).unlink()
    (part / "train" / ".junk.mp4.99-0.tmp.mp4").write_bytes(b"half")
    r = run("curate", data, part, *args)
    assert r.exit_code == 2 and "--resume" in r.stderr
    r = run("curate", data, part, *args, "--resume")
    assert r.exit_code == 0, r.output
    strip = {k: v for k, v in tree_bytes(part).items() if k != "curation.json"}
    assert strip == {k: v for k, v in tree_bytes(full).items() if k != "curation.json"}
    r = run("curate", data, part, "--split", "0.6,0.2,0.2", "--resume")
    assert r.exit_code == 2 and "other settings" in r.stderr


def test_overwrite_replaces_the_previous_curation(data, tmp_path):
    out = tmp_path / "cur"
    args = ["--split", "0.5,0.25,0.25"]
    assert run("curate", data, out, *args, "--copies", "2", "--recipe", "light").exit_code == 0
    assert run("curate", data, out, *args, "--overwrite").exit_code == 0
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.mp4"))
    assert files == sorted(x["path"] for x in rows) and len(files) == 8  # no stale copies


def test_curate_guards(data, tmp_path):
    r = run("curate", data, data / "cur")
    assert r.exit_code == 2 and "outside" in r.stderr and not (data / "cur").exists()
    out = tmp_path / "cur"
    with output_lock(out):
        r = run("curate", data, out)
        assert r.exit_code == 2 and "another vidaug run is using" in r.stderr
    r = run("curate", data, out, "--resume", "--overwrite")
    assert r.exit_code == 2
    shutil.rmtree(out)
    assert run("curate", data, out, "--split", "0.5,0.25,0.25").exit_code == 0
