"""`vidaug augment` / `vidaug recipes` through typer's CliRunner, including every bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_clip
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.datasets import read_clip, write_clip

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """fight/{a,b}.mp4 and noFight/c.mp4: three tiny real mp4 files."""
    root = tmp_path / "data"
    for i, rel in enumerate(["fight/a.mp4", "fight/b.mp4", "noFight/c.mp4"]):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        write_clip(p, make_clip(8, 48, 64, seed=i), fps=10.0)
    return root


def manifest(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]


def test_version():
    r = run("--version")
    assert r.exit_code == 0 and r.stdout.startswith("vidaug ")


def test_augment_writes_clips_and_manifest(dataset, tmp_path):
    out = tmp_path / "out"
    r = run("augment", dataset, out, "--recipe", "light", "--copies", "2", "--seed", "3")
    assert r.exit_code == 0, r.output
    rows = manifest(out)
    assert [(e["source"], e["copy"]) for e in rows] == [
        ("fight/a.mp4", 0),
        ("fight/a.mp4", 1),
        ("fight/b.mp4", 0),
        ("fight/b.mp4", 1),
        ("noFight/c.mp4", 0),
        ("noFight/c.mp4", 1),
    ]
    assert {e["label"] for e in rows} == {"fight", "noFight"}
    for e in rows:
        assert e["path"] == e["source"].replace(".mp4", f"__aug{e['copy']}.mp4")
        assert e["recipe"] == "light" and isinstance(e["seed"], int)
        assert e["params"]["name"] == "Compose"
        clip = read_clip(out / e["path"])
        assert clip.frames.shape == (e["frames"], e["height"], e["width"], 3)
    # the two copies of one clip differ, and the manifest params replay the same seed
    a0, a1 = (read_clip(out / rows[i]["path"]).frames for i in (0, 1))
    assert not np.array_equal(a0, a1)
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]


def test_json_summary(dataset, tmp_path):
    r = run("augment", dataset, tmp_path / "o", "--recipe", "light", "--json")
    assert r.exit_code == 0
    s = json.loads(r.stdout)
    assert s["sources"] == 3 and s["written"] == 3 and s["failed"] == 0


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".vidaug")
    }


def test_same_seed_same_bytes_for_any_worker_count(dataset, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("augment", dataset, a, "--recipe", "surveillance", "--copies", "2").exit_code == 0
    r = run("augment", dataset, b, "--recipe", "surveillance", "--copies", "2", "--workers", "2")
    assert r.exit_code == 0, r.output
    ta, tb = tree_bytes(a), tree_bytes(b)
    assert ta.keys() == tb.keys() and len(ta) == 7
    assert ta == tb
    c = tmp_path / "c"
    assert (
        run(
            "augment", dataset, c, "--recipe", "surveillance", "--copies", "2", "--seed", "1"
        ).exit_code
        == 0
    )
    assert tree_bytes(c)["manifest.jsonl"] != ta["manifest.jsonl"]


def test_bad_clips_are_reported_and_skipped(dataset, tmp_path):
    (dataset / "fight" / "text.mp4").write_text("this is not a video")
    (dataset / "fight" / "empty.mp4").write_bytes(b"")
    out = tmp_path / "out"
    r = run("augment", dataset, out, "--recipe", "light")
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    assert "text.mp4" in r.output and "empty.mp4" in r.output
    assert "2 failed" in r.output
    assert {e["source"] for e in manifest(out)} == {"fight/a.mp4", "fight/b.mp4", "noFight/c.mp4"}


def test_bad_recipe_exits_2_and_writes_nothing(dataset, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("transforms: [{name: Affine, rotate: [0, 500]}]")
    out = tmp_path / "out"
    r = run("augment", dataset, out, "--recipe", bad)
    assert r.exit_code == 2
    assert "bad.yaml: transforms[0].rotate.1" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("what", ["missing", "empty_dir", "txt"])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, what):
    src = tmp_path / "src"
    if what == "empty_dir":
        src.mkdir()
    elif what == "txt":
        src = tmp_path / "list.txt"
        src.write_text("a.mp4\n")
    out = tmp_path / "out"
    r = run("augment", src, out)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and str(src.name) in r.stderr
    assert not out.exists()


def test_existing_output_needs_resume_or_overwrite(dataset, tmp_path):
    out = tmp_path / "out"
    assert run("augment", dataset, out, "--recipe", "light").exit_code == 0
    r = run("augment", dataset, out, "--recipe", "light")
    assert r.exit_code == 2 and "--resume" in r.stderr  # a usage problem (issue 11 §3)
    assert run("augment", dataset, out, "--recipe", "light", "--overwrite").exit_code == 0
    r = run("augment", dataset, out, "--recipe", "light", "--resume", "--seed", "9")
    assert r.exit_code == 2 and "other settings" in r.stderr


def test_resume_after_interruption_gives_the_same_result(dataset, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    args = ["--recipe", "standard", "--copies", "2", "--seed", "5"]
    assert run("augment", dataset, full, *args).exit_code == 0
    assert run("augment", dataset, part, *args).exit_code == 0
    # simulate a crash: one finished line, one torn line, one clip file missing
    lines = (part / "manifest.jsonl").read_text().splitlines()
    (part / "manifest.jsonl").write_text(lines[0] + "\n" + lines[1][:20])
    (part / json.loads(lines[3])["path"]).unlink()
    r = run("augment", dataset, part, *args, "--resume")
    assert r.exit_code == 0, r.output
    assert "kept from the earlier run" in r.stderr
    assert tree_bytes(part) == tree_bytes(full)


def test_manifest_paths_cannot_escape_output(tmp_path):
    outside = tmp_path / "outside.mp4"
    write_clip(outside, make_clip(4), fps=5.0)
    data = tmp_path / "deep" / "set"
    data.mkdir(parents=True)
    (data / "m.jsonl").write_text(json.dumps({"path": "../../outside.mp4", "label": "x"}) + "\n")
    out = tmp_path / "out"
    r = run("augment", data / "m.jsonl", out, "--recipe", "light")
    assert r.exit_code == 0, r.output
    written = [p for p in tmp_path.rglob("*__aug*")]
    assert written and all(out in p.parents for p in written)


def test_recipes_command(tmp_path):
    r = run("recipes")
    assert r.exit_code == 0
    for name in ("light", "standard", "strong", "surveillance", "Affine", "TemporalCrop"):
        assert name in r.stdout
    r = run("recipes", "surveillance")
    assert r.exit_code == 0 and "LowLight" in r.stdout
    r = run("recipes", "--json")
    assert {t["name"] for t in json.loads(r.stdout)["transforms"]} >= {"Compose", "Speed"}
    r = run("recipes", "nope")
    assert r.exit_code == 2 and "no such recipe" in r.stderr


def _corrupt_copy(src: Path, dst: Path) -> None:
    data = bytearray(src.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 2000] = os.urandom(2000)
    dst.write_bytes(bytes(data[: int(len(data) * 0.8)]))


def test_cli_subprocess_no_decoder_noise_no_traceback(tmp_path):
    """The real entry point: decoder log lines never reach the terminal; one line per failure."""
    root = tmp_path / "d"
    root.mkdir()
    write_clip(root / "ok.mp4", make_clip(30, 64, 80), fps=10.0)
    _corrupt_copy(root / "ok.mp4", root / "damaged.mp4")
    (root / "junk.mp4").write_bytes(os.urandom(5000))
    cmd = [
        sys.executable,
        "-c",
        "from vidaug.cli import main; main()",
        "augment",
        str(root),
        str(tmp_path / "out"),
        "--recipe",
        "light",
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    err = p.stderr
    assert p.returncode == 1, err
    assert "Traceback" not in err
    assert "@ 0x" not in err and "moov atom" not in err
    assert "junk.mp4" in err


def test_import_is_light():
    code = (
        "import sys, vidaug, vidaug.cli, vidaug.augment, vidaug.datasets; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'albumentations') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
