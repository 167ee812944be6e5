"""`vidaug embed / search` robustness: changed clips with --append, an index that would shrink,
checkpoints of a killed run, the OUT lock, and every clip of a folder as a search query."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import make_clip, save_tiny_embedder, write_labelled_clips
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.datasets import output_lock, write_clip
from vidaug.errors import UsageError
from vidaug.mining import EmbeddingIndex

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return save_tiny_embedder(tmp_path_factory.mktemp("m") / "tiny.keras", 8, 0)


def _clips(root: Path, names: list[str], seed: int = 0) -> Path:
    for i, rel in enumerate(names):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        write_clip(p, make_clip(10, 48, 64, seed=seed + 10 * i), fps=10.0)
    return root


def _embed(src, ix, tiny, *more):
    r = run("embed", src, "--out", ix, "--embedder", tiny, "--frames", "2", "--json", *more)
    return r, (json.loads(r.stdout) if r.exit_code == 0 else None)


# -- EmbeddingIndex.remove (no TensorFlow) ------------------------------------------------------


@pytest.mark.parametrize("kind", ["flat", "ivf", "ivfpq"])
@pytest.mark.parametrize("frames_per_clip", [1, 3])
def test_remove_keeps_kind_and_searches_like_a_fresh_index(kind, frames_per_clip, tmp_path):
    rng = np.random.default_rng(0)
    n, d = 420, 16
    fe = rng.normal(size=(n * frames_per_clip, d)).astype(np.float32)
    fc = np.repeat(np.arange(n), frames_per_clip)
    clips = [{"id": f"c{i:03d}"} for i in range(n)]
    ix = EmbeddingIndex.build(clips, fe, fc, model_id="m", kind=kind)
    gone = {"c000", "c017", "c200", "c419"}
    ix.remove(gone)
    assert len(ix) == n - len(gone) and ix.kind == kind and ix.clip_kind == kind
    assert not gone & set(ix.ids) and ix.position("c018") == 16
    keep = [i for i in range(n) if f"c{i:03d}" not in gone]
    assert np.bincount(ix.frame_clip).tolist() == [frames_per_clip] * len(ix)
    assert ix.clip_emb.shape == (len(ix), d) and ix.n_frames == len(ix) * frames_per_clip
    # the FAISS indexes hold the kept vectors at their new positions: each clip finds itself
    _, hits = ix.search_clips(ix.clip_emb[:20], 4)
    assert hits[:, 0].tolist() == list(range(20))
    _, rows = ix.search_frames(ix.frame_emb[:20], 4)
    assert rows[:, 0].tolist() == list(range(20))
    assert [ix.clips[i]["id"] for i in range(3)] == [f"c{i:03d}" for i in keep[:3]]
    frames_of = ix.frames_of(ix.position("c018"))
    np.testing.assert_allclose(ix.frame_emb[frames_of], fe[fc == 18] / np.linalg.norm(
        fe[fc == 18], axis=1, keepdims=True), rtol=1e-5)  # fmt: skip
    ix.save(tmp_path / "ix")
    back = EmbeddingIndex.load(tmp_path / "ix")
    assert back.ids == ix.ids and back.kind == kind
    with pytest.raises(KeyError):
        ix.remove(["c000"])


# -- 1. --append with a changed file re-embeds it -----------------------------------------------


@pytest.mark.slow
def test_append_reembeds_a_changed_clip_and_replaces_its_entry(tiny, tmp_path):
    data = _clips(tmp_path / "data", ["fight/a.mp4", "fight/b.mp4", "noFight/c.mp4"])
    ix = tmp_path / "ix"
    r, s = _embed(data, ix, tiny)
    assert r.exit_code == 0 and s["embedded"] == 3, r.output
    # later: fight/a.mp4 rewritten in place (another file at the same path), one new clip
    # (the same id from another folder is refused: tests/test_index_safety.py)
    new = _clips(tmp_path / "data", ["fight/a.mp4", "fight/z.mp4"], seed=500)
    r, s = _embed(new, ix, tiny, "--append")
    assert r.exit_code == 0, r.output
    assert s["embedded"] == 2 and s["clips"] == 4  # a.mp4 replaced, z.mp4 added
    index = EmbeddingIndex.load(ix)
    entry = index.clips[index.position("fight/a.mp4")]
    assert entry["size"] == os.stat(new / "fight/a.mp4").st_size
    assert Path(entry["path"]).resolve() == (new / "fight/a.mp4").resolve()
    r = run("search", ix, new / "fight/a.mp4", "-k", "1", "--embedder", tiny, "--json")
    hit = json.loads(r.stdout)[0]
    assert hit["id"] == "fight/a.mp4" and hit["similarity"] > 0.999
    r, s = _embed(new, ix, tiny, "--append")  # nothing changed since: all reused
    assert s["embedded"] == 0 and s["reused"] == 4 and s["clips"] == 4


# -- 2. another input without --append is refused, --overwrite replaces --------------------------


@pytest.mark.slow
def test_embed_other_input_refuses_to_shrink_the_index(tiny, tmp_path):
    data = _clips(tmp_path / "data", ["fight/a.mp4", "fight/b.mp4", "noFight/c.mp4"])
    other = _clips(tmp_path / "other", ["x/p.mp4", "x/q.mp4"], seed=700)
    ix = tmp_path / "ix"
    assert _embed(data, ix, tiny)[0].exit_code == 0
    before = json.loads((ix / "index.json").read_text())
    r, _ = _embed(other, ix, tiny)
    assert r.exit_code == 2, r.output
    assert "3 clips" in r.stderr and "--append" in r.stderr and "--overwrite" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert json.loads((ix / "index.json").read_text()) == before  # untouched
    r, s = _embed(data, ix, tiny)  # the same input again: incremental, all reused
    assert r.exit_code == 0 and s["reused"] == 3 and s["embedded"] == 0
    r, _ = _embed(other, ix, tiny, "--append", "--overwrite")
    assert r.exit_code == 2 and "choose one" in r.stderr
    r, s = _embed(other, ix, tiny, "--overwrite")
    assert r.exit_code == 0, r.output
    assert s["clips"] == 2 and s["embedded"] == 2
    assert EmbeddingIndex.load(ix).ids == ["x/p.mp4", "x/q.mp4"]


# -- 3. checkpoints: a killed run keeps its clips ------------------------------------------------


class _Crash(Exception):
    pass


def _crash_after(k: int, exc: type[BaseException] = _Crash):
    seen = [0]

    def on_clip(cf) -> None:
        if cf is None:
            return
        seen[0] += 1
        if seen[0] > k:
            raise exc("killed")

    return on_clip


@pytest.mark.slow
@pytest.mark.parametrize("exc", [_Crash, KeyboardInterrupt])
def test_a_killed_embed_keeps_its_checkpoints(tiny, tmp_path, exc):
    from vidaug.mining import load_embedder
    from vidaug.pipelines import embed_to_index

    data = write_labelled_clips(tmp_path / "data", per_class=6)  # 12 clips
    emb = load_embedder(tiny)
    ix = tmp_path / "ix"
    # checkpoints every 2 clips; a KeyboardInterrupt (Ctrl-C) saves what is done even when
    # no checkpoint is due yet
    seconds = 0.0 if exc is _Crash else 3600.0
    with pytest.raises(exc):
        embed_to_index(data, emb, out=ix, frames=2, checkpoint_clips=2,
                       checkpoint_seconds=seconds, on_clip=_crash_after(5, exc))  # fmt: skip
    # passes of 2 clips finished before the 6th clip; a save is also never more than 1/5 of
    # the time, so a quick second pass may not have been saved (a Ctrl-C saves it)
    kept = len(EmbeddingIndex.load(ix))
    assert kept == 4 if exc is KeyboardInterrupt else kept in (2, 4)
    rep = embed_to_index(data, emb, out=ix, frames=2, checkpoint_clips=2)
    assert (rep.embedded, rep.reused, len(rep.index)) == (12 - kept, kept, 12)
    full = embed_to_index(data, emb, frames=2)  # in memory, from scratch: the same index
    assert rep.index.ids == full.index.ids
    np.testing.assert_allclose(rep.index.clip_emb, full.index.clip_emb, atol=1e-5)


# -- 4. OUT is locked for the run ---------------------------------------------------------------


@pytest.mark.slow
def test_embed_refuses_an_index_in_use(tiny, tmp_path):
    data = _clips(tmp_path / "data", ["fight/a.mp4", "noFight/c.mp4"])
    ix = tmp_path / "ix"
    with output_lock(ix):
        r, _ = _embed(data, ix, tiny)
    assert r.exit_code == 2 and "another vidaug run is using" in r.stderr, r.output
    assert not (ix / "index.json").exists()
    r, s = _embed(data, ix, tiny)  # free again
    assert r.exit_code == 0 and s["clips"] == 2, r.output


def test_lock_survives_the_index_swap(tmp_path):
    """The lock file lives in OUT, which each save swaps for a new directory: it is carried
    over (same file), so the run still holds it afterwards."""
    ix = tmp_path / "ix"
    fe = np.eye(4, dtype=np.float32)
    index = EmbeddingIndex.build([{"id": f"c{i}"} for i in range(4)], fe, np.arange(4),
                                 model_id="m")  # fmt: skip
    with output_lock(ix):
        index.save(ix)  # into the (locked, otherwise empty) folder
        index.save(ix)  # and over an existing index
        with pytest.raises(UsageError, match="another vidaug run is using"):
            with output_lock(ix):
                pass
    assert EmbeddingIndex.load(ix).ids == ["c0", "c1", "c2", "c3"]
    with output_lock(ix):  # released at the end of the run
        pass


# -- 7, 8. search: every clip of a folder, missing paths -----------------------------------------


@pytest.mark.slow
def test_search_a_folder_searches_every_clip(tiny, tmp_path):
    data = _clips(tmp_path / "data", ["fight/a.mp4", "fight/b.mp4", "noFight/c.mp4"])
    ix = tmp_path / "ix"
    assert _embed(data, ix, tiny)[0].exit_code == 0
    r = run("search", ix, data, "-k", "2", "--embedder", tiny, "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert [q["query"] for q in res] == ["fight/a.mp4", "fight/b.mp4", "noFight/c.mp4"]
    for q in res:
        assert len(q["hits"]) == 2 and q["hits"][0]["id"] == q["query"]
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path\n{data / 'fight/b.mp4'}\n{data / 'noFight/c.mp4'}\n")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with open(manifest, "a") as f:
        f.write(f"{tmp_path / 'broken.mp4'}\n")
    r = run("search", ix, manifest, "-k", "1", "--embedder", tiny)
    assert r.exit_code == 1, r.output  # results for the readable queries, then exit 1
    assert r.stdout.count("nearest to") == 2 and "broken" in r.stderr


@pytest.mark.slow
def test_search_missing_paths_exit_2(tiny, tmp_path):
    r = run("search", tmp_path / "nope", tmp_path / "q.mp4", "--embedder", tiny)
    assert r.exit_code == 2 and "nope" in r.stderr and "Traceback" not in r.output
    data = _clips(tmp_path / "data", ["fight/a.mp4", "noFight/c.mp4"])
    assert _embed(data, tmp_path / "ix", tiny)[0].exit_code == 0
    r = run("search", tmp_path / "ix", tmp_path / "q.mp4", "--embedder", tiny)
    assert r.exit_code == 2 and "q.mp4" in r.stderr and "Traceback" not in r.output


def test_embed_a_folder_that_is_not_an_index_is_refused(tmp_path):
    """A non-empty folder that is not an index is refused before anything is written."""
    from vidaug.pipelines import embed_to_index

    data = _clips(tmp_path / "data", ["fight/a.mp4"])
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(Exception, match="not a vidaug index"):
        embed_to_index(data, object(), out=busy)  # type: ignore[arg-type]
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]  # no lock file left


# -- regions: on by default, --no-regions skips them, dedup says what it cannot look for -------


@pytest.mark.slow
def test_regions_are_embedded_by_default_and_no_regions_skips_them(tiny, tmp_path):
    from vidaug.mining._regions import REGION_FRAMES, REGION_GRID

    data = _clips(tmp_path / "data", ["fight/a.mp4", "noFight/c.mp4"])
    r, s = _embed(data, tmp_path / "ix", tiny)
    assert r.exit_code == 0, r.output
    ix = EmbeddingIndex.load(tmp_path / "ix")
    assert ix.region_emb.shape == (2, REGION_FRAMES * REGION_GRID**2, ix.dims)
    assert ix.clips[0]["sampling"] == "k2+regions"
    r, s = _embed(data, tmp_path / "ix", tiny, "--no-regions")  # other settings: re-embedded
    assert r.exit_code == 0 and s["embedded"] == 2, r.output
    assert EmbeddingIndex.load(tmp_path / "ix").region_emb is None
    r = run("dedup", tmp_path / "ix")
    assert r.exit_code == 0 and "no region embeddings" in r.stderr, r.output
    r = run("search", tmp_path / "ix", data / "fight/a.mp4", "-k", "1", "--embedder", tiny,
            "--json")  # fmt: skip
    assert r.exit_code == 0 and json.loads(r.stdout)[0]["id"] == "fight/a.mp4", r.output
