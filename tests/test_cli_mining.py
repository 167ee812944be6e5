"""`vidaug embed / search / dedup / mine-hard` with a tiny Keras model (offline, small)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import make_clip, save_tiny_embedder
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.datasets import write_clip

pytestmark = pytest.mark.slow
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("m")
    return [
        save_tiny_embedder(d / "tiny0.keras", 8, 0),
        save_tiny_embedder(d / "tiny1.keras", 16, 1),
    ]


@pytest.fixture
def data(tmp_path) -> Path:
    root = tmp_path / "data"
    for i, rel in enumerate(["fight/a.mp4", "fight/b.mp4", "noFight/c.mp4", "noFight/d.mp4"]):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        write_clip(p, make_clip(10, 48, 64, seed=10 * i), fps=10.0)
    shutil.copy(root / "fight/a.mp4", root / "noFight/a_copy.mp4")  # an exact duplicate
    return root


def test_embed_reuse_append_search(models, data, tmp_path):
    ix = tmp_path / "ix"
    r = run("embed", data, "--out", ix, "--embedder", models[0], "--frames", "4", "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["clips"] == 5 and s["embedded"] == 5 and s["frames"] == 20 and s["dims"] == 48
    meta = json.loads((ix / "index.json").read_text())
    assert meta["model"] == s["model"] and len(meta["clips"]) == 5
    r = run("embed", data, "--out", ix, "--embedder", models[0], "--frames", "4", "--json")
    assert json.loads(r.stdout)["reused"] == 5 and json.loads(r.stdout)["embedded"] == 0
    write_clip(data / "fight/e.mp4", make_clip(10, 48, 64, seed=99), fps=10.0)
    r = run(
        "embed", data, "--out", ix, "--embedder", models[0], "--frames", "4", "--append", "--json"
    )
    assert json.loads(r.stdout)["clips"] == 6 and json.loads(r.stdout)["embedded"] == 1
    r = run("search", ix, data / "fight/b.mp4", "-k", "2", "--embedder", models[0], "--json")
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout)
    assert hits[0]["id"] == "fight/b.mp4" and hits[0]["similarity"] > 0.999


def test_search_with_another_model_is_refused(models, data, tmp_path):
    ix = tmp_path / "ix"
    assert run("embed", data, "--out", ix, "--embedder", models[0], "--frames", "2").exit_code == 0
    r = run("search", ix, data / "fight/a.mp4", "--embedder", models[1])
    assert r.exit_code == 1 and "model" in r.stderr and "Traceback" not in r.output


def test_dedup_finds_the_copy(models, data, tmp_path):
    out = tmp_path / "dups.jsonl"
    r = run("dedup", data, "--embedder", models[0], "--frames", "4", "--out", out)
    assert r.exit_code == 0, r.output
    rows = {json.loads(x)["id"]: json.loads(x) for x in out.read_text().splitlines()}
    assert len(rows) == 5
    assert rows["fight/a.mp4"]["group"] == rows["noFight/a_copy.mp4"]["group"] is not None
    assert sum(r["is_duplicate"] for r in rows.values()) == 1
    assert rows["fight/b.mp4"]["group"] is None


def test_mine_hard_outputs_and_errors(models, data, tmp_path):
    out = tmp_path / "hard.jsonl"
    r = run("mine-hard", data, "--embedder", models[0], "--frames", "2", "--k", "3", "--out", out)
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 5 and all(0.0 <= x["hard_score"] <= 1.0 for x in rows)
    ids = [x["id"] for x in rows]
    assert ids == sorted(ids)  # the file is the table in clip order (a folder: sorted paths)
    r = run("mine-hard", data, "--embedder", models[0], "--frames", "2", "--k", "3", "--json")
    ranked = json.loads(r.stdout)  # what is shown is ranked, hardest first
    assert sorted(x["id"] for x in ranked) == sorted(ids)
    scores = [x["hard_score"] for x in ranked]
    assert scores == sorted(scores, reverse=True)
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(data / "fight/a.mp4", flat / "a.mp4")
    shutil.copy(data / "fight/b.mp4", flat / "b.mp4")
    r = run("mine-hard", flat, "--embedder", models[0], "--frames", "2")
    assert r.exit_code == 1 and "labels" in r.stderr


@pytest.mark.parametrize("cmd", ["dedup", "search", "mine-hard"])
def test_missing_index_or_input(cmd, tmp_path):
    args = {
        "dedup": ["dedup", tmp_path / "nope"],
        "search": ["search", tmp_path / "nope", tmp_path / "q.mp4"],
        "mine-hard": ["mine-hard", tmp_path / "nope"],
    }[cmd]
    r = run(*args)
    assert r.exit_code == 2 and "Traceback" not in r.output and "nope" in r.stderr


@pytest.mark.parametrize("cmd", ["embed", "dedup", "mine-hard"])
def test_empty_input_is_one_clear_line(cmd, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [cmd, empty] + (["--out", tmp_path / "ix"] if cmd == "embed" else [])
    r = run(*args)
    assert r.exit_code == 2 and "no video files" in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "ix").exists()
