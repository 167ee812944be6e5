"""The embedding index never silently loses or corrupts a clip (issue 18 §4, §2 and §6 parts):
unique ids, damaged (NaN / all-zero) embeddings, tiny frames, interrupted runs, SIGTERM's exit
code, a full disk, and the export's work folder.

A stand-in numpy model replaces the CNN (no TensorFlow) except in the one export test."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import make_clip
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.cli._app import Terminated
from vidaug.datasets import write_clip
from vidaug.errors import UsageError, VidaugError
from vidaug.mining import EmbeddingIndex, FrameEmbedder

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


class _Blocks:
    """A stand-in model: a frame's embedding is its mean colour per 2 × 2 block, plus one.

    ``broken`` makes dark frames come out NaN or zero; ``stop_after`` raises ``stop`` at that
    model call (a Ctrl-C or SIGTERM while embedding)."""

    def __init__(self, broken: str | None = None, stop_after: int | None = None,
                 stop: type[BaseException] = KeyboardInterrupt) -> None:  # fmt: skip
        self.broken, self.stop_after, self.stop, self.calls = broken, stop_after, stop, 0

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        if self.stop_after is not None and self.calls > self.stop_after:
            raise self.stop()
        n, h, w, _ = x.shape
        y = x.reshape(n, 2, h // 2, 2, w // 2, 3).mean(axis=(2, 4)).reshape(n, -1) + 1.0
        dark = x.reshape(n, -1).mean(axis=1) < 10
        if self.broken == "nan":
            y[dark] = np.nan
        elif self.broken == "zero":
            y[dark] = 0.0
        return y


def _embedder(**kw) -> FrameEmbedder:
    return FrameEmbedder(_Blocks(**kw), "blocks", (16, 16), lambda x: x, 12)


def _clips(root: Path, names: list[str], seed: int = 0) -> Path:
    for i, rel in enumerate(names):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        write_clip(p, make_clip(6, 48, 64, seed=seed + 10 * i), fps=10.0)
    return root


def _twelve(root: Path) -> Path:
    return _clips(root, [f"{c}/{c}{i}.mp4" for c in "ab" for i in range(6)])


def _use(monkeypatch, **kw) -> FrameEmbedder:
    """The CLI's embedding model becomes the stand-in."""
    emb = _embedder(**kw)
    monkeypatch.setattr("vidaug.cli._mining._embedder", lambda *a, **k: emb)
    return emb


# -- ids stay unique ------------------------------------------------------------------------------


def test_same_id_from_another_folder_is_refused_with_both_paths(tmp_path, monkeypatch):
    from vidaug.pipelines import embed_to_index

    cam_a = _clips(tmp_path / "camA", ["fight/x.mp4", "fight/y.mp4"])
    cam_b = _clips(tmp_path / "camB", ["fight/x.mp4"], seed=500)  # another file, same id
    ix = tmp_path / "ix"
    embed_to_index(cam_a, _embedder(), out=ix, frames=2, regions=False)
    before = (ix / "index.json").read_text()
    for append in (True, False):
        with pytest.raises(UsageError) as err:
            embed_to_index(cam_b, _embedder(), out=ix, frames=2, regions=False, append=append)
        msg = str(err.value)
        assert str(cam_a / "fight/x.mp4") in msg and str(cam_b / "fight/x.mp4") in msg
        assert "'fight/x.mp4'" in msg and "--overwrite" in msg
        assert (ix / "index.json").read_text() == before  # untouched
    _use(monkeypatch)
    r = run("embed", cam_b, "--out", ix, "--frames", 2, "--no-regions", "--append")
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and str(cam_b / "fight/x.mp4") in r.stderr
    assert EmbeddingIndex.load(ix).clips[0]["path"] == str(cam_a / "fight/x.mp4")
    # overwrite replaces the index: asked for
    rep = embed_to_index(cam_b, _embedder(), out=ix, frames=2, regions=False, overwrite=True)
    assert rep.index.ids == ["fight/x.mp4"]
    assert EmbeddingIndex.load(ix).clips[0]["path"] == str(cam_b / "fight/x.mp4")


def test_a_moved_folder_keeps_its_embeddings_under_the_new_paths(tmp_path):
    from vidaug.pipelines import embed_to_index

    data = _clips(tmp_path / "camA", ["fight/x.mp4", "fight/y.mp4"])
    ix = tmp_path / "ix"
    embed_to_index(data, _embedder(), out=ix, frames=2, regions=False)
    moved = data.rename(tmp_path / "camC")  # the old paths are gone: not another file
    rep = embed_to_index(moved, _embedder(), out=ix, frames=2, regions=False)
    assert (rep.embedded, rep.reused) == (0, 2)
    paths = [c["path"] for c in EmbeddingIndex.load(ix).clips]
    assert paths == [str(moved / "fight/x.mp4"), str(moved / "fight/y.mp4")]


# -- NaN / all-zero embeddings ------------------------------------------------------------------


def _damage(ix: Path, name: str, how: str) -> None:
    arr = np.load(ix / name)
    arr[1] = np.nan if how == "nan" else 0.0
    with open(ix / name, "wb") as f:
        np.save(f, arr)


def _small_index(ix: Path) -> None:
    rng = np.random.default_rng(0)
    fe = rng.normal(size=(6, 8)).astype(np.float32)
    clips = [{"id": f"c{i}", "label": "ab"[i % 2]} for i in range(3)]
    EmbeddingIndex.build(clips, fe, np.repeat(np.arange(3), 2), model_id="m").save(ix)


@pytest.mark.parametrize("how", ["nan", "zero"])
@pytest.mark.parametrize("name", ["frame_emb.npy", "clip_emb.npy"])
def test_nan_or_zero_rows_are_refused_on_load(tmp_path, name, how):
    ix = tmp_path / "ix"
    _small_index(ix)
    _damage(ix, name, how)
    clip = "c0" if name == "frame_emb.npy" else "c1"  # frame row 1 belongs to clip c0
    want = re.escape(f"{ix}: index damaged: clip '{clip}' has NaN/zero embedding rows")
    with pytest.raises(VidaugError, match=want):
        EmbeddingIndex.load(ix)
    r = run("mine-hard", ix, "-k", 1)
    assert r.exit_code == 1, r.output
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1 and "index damaged" in line and "--overwrite" in line


@pytest.mark.parametrize("how", ["nan", "zero"])
def test_nan_or_zero_embeddings_are_never_written(tmp_path, how):
    fe = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    fe[2] = np.nan if how == "nan" else 0.0
    index = EmbeddingIndex.build([{"id": f"c{i}"} for i in range(4)], fe, np.arange(4),
                                 model_id="m")  # fmt: skip
    with pytest.raises(VidaugError, match="not saved: clip 'c2' has NaN/zero embedding rows"):
        index.save(tmp_path / "ix")
    assert not (tmp_path / "ix").exists()


@pytest.mark.parametrize("how", ["nan", "zero"])
def test_a_clip_whose_embedding_comes_out_nan_or_zero_fails_alone(tmp_path, how, monkeypatch):
    from vidaug.pipelines import embed_to_index

    data = _clips(tmp_path / "data", ["a/ok1.mp4", "b/ok2.mp4"])
    write_clip(data / "a" / "dark.mp4", np.zeros((6, 48, 64, 3), np.uint8), fps=10.0)
    ix = tmp_path / "ix"
    rep = embed_to_index(data, _embedder(broken=how), out=ix, frames=2)
    assert rep.index.ids == ["a/ok1.mp4", "b/ok2.mp4"]
    assert [c for c, _ in rep.failures] == ["a/dark.mp4"]
    assert "NaN or all zero" in rep.failures[0][1] and "dark.mp4" in rep.failures[0][1]
    assert EmbeddingIndex.load(ix).ids == rep.index.ids  # written, and loads
    # a damaged index is replaced by --overwrite (it cannot be read to reuse anything)
    _damage(ix, "clip_emb.npy", how)
    _use(monkeypatch)
    r = run("embed", data, "--out", ix, "--frames", 2, "--overwrite", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["clips"] == 3


# -- tiny frames fail alone ---------------------------------------------------------------------


def _avi(path: Path, h: int, w: int) -> Path:
    """A clip OpenCV's MJPG writer accepts at any size (vidaug's writer wants even sides)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
    assert out.isOpened()
    for i in range(4):
        out.write(np.full((h, w, 3), 100 + 20 * i, np.uint8))
    out.release()
    return path


def test_tiny_frames_fail_alone_and_the_index_is_written(tmp_path, monkeypatch):
    data = _clips(tmp_path / "data", ["a/ok1.mp4", "b/ok2.mp4"])
    _avi(data / "a" / "dot.avi", 1, 1)
    _avi(data / "a" / "line.avi", 1, 16)
    write_clip(data / "b" / "two.mp4", np.full((4, 2, 2, 3), 90, np.uint8), fps=10.0)
    ix = tmp_path / "ix"
    _use(monkeypatch)
    r = run("embed", data, "--out", ix, "--frames", 2, "--json")  # regions on: the 1x1 crash
    assert r.exit_code == 1, r.output
    assert "internal error" not in r.output and "Assertion" not in r.output
    assert json.loads(r.stdout)["clips"] == 2 and json.loads(r.stdout)["failed"] == 3
    for name, size in (("dot.avi", "1x1"), ("line.avi", "16x1"), ("two.mp4", "2x2")):
        assert re.search(rf"{name}: frame too small: {size}\b", r.stderr), r.stderr
    assert EmbeddingIndex.load(ix).ids == ["a/ok1.mp4", "b/ok2.mp4"]


# -- an interrupted run keeps every finished clip --------------------------------------------


@pytest.mark.parametrize("stop", [KeyboardInterrupt, Terminated])
@pytest.mark.parametrize("done", [1, 11])
def test_an_interrupt_keeps_every_finished_clip(tmp_path, stop, done):
    from vidaug.pipelines import embed_to_index

    data = _twelve(tmp_path / "data")
    ix = tmp_path / "ix"
    said = []
    # one model call a clip (2 frames, batch 2); no checkpoint is due for an hour
    with pytest.raises(stop):
        embed_to_index(data, _embedder(stop_after=done, stop=stop), out=ix, frames=2, batch=2,
                       regions=False, checkpoint_seconds=3600,
                       on_interrupt=lambda k, n: said.append((k, n)))  # fmt: skip
    assert said == [(done, 12)]
    assert len(EmbeddingIndex.load(ix)) == done
    rep = embed_to_index(data, _embedder(), out=ix, frames=2, batch=2, regions=False)
    assert (rep.embedded, rep.reused, len(rep.index)) == (12 - done, done, 12)


def test_an_interrupted_append_keeps_the_index_and_the_finished_clips(tmp_path):
    from vidaug.pipelines import embed_to_index

    first = _clips(tmp_path / "first", ["c/old1.mp4", "c/old2.mp4"], seed=900)
    ix = tmp_path / "ix"
    embed_to_index(first, _embedder(), out=ix, frames=2, batch=2, regions=False)
    data = _twelve(tmp_path / "data")
    said = []
    with pytest.raises(KeyboardInterrupt):
        embed_to_index(data, _embedder(stop_after=5), out=ix, frames=2, batch=2, append=True,
                       regions=False, on_interrupt=lambda k, n: said.append((k, n)))  # fmt: skip
    assert said == [(5, 12)]
    ids = EmbeddingIndex.load(ix).ids
    assert len(ids) == 7 and {"c/old1.mp4", "c/old2.mp4"} <= set(ids)


@pytest.mark.parametrize(("stop", "code"), [(KeyboardInterrupt, 130), (Terminated, 143)])
def test_embed_says_what_it_kept_and_exits_130_or_143(tmp_path, monkeypatch, stop, code):
    data = _twelve(tmp_path / "data")
    ix = tmp_path / "ix"
    _use(monkeypatch, stop_after=11, stop=stop)
    r = run("embed", data, "--out", ix, "--frames", 2, "--model-batch", 2, "--no-regions")
    assert r.exit_code == code, r.output
    want = f"interrupted: kept 11 of 12 clips in {ix} (run the same command again to finish)"
    assert r.stderr.strip().splitlines()[-1] == want, r.stderr  # under the progress bar
    _use(monkeypatch)
    r = run("embed", data, "--out", ix, "--frames", 2, "--model-batch", 2, "--no-regions", "--json")
    s = json.loads(r.stdout)
    assert r.exit_code == 0 and (s["embedded"], s["reused"], s["clips"]) == (1, 11, 12)


def test_sigterm_exits_143_in_dedup_and_export(tmp_path, monkeypatch):
    data = _clips(tmp_path / "data", ["a/x.mp4", "b/y.mp4"])
    _use(monkeypatch, stop_after=0, stop=Terminated)  # SIGTERM at the first model call
    r = run("dedup", data, "--frames", 2, "--no-regions")
    assert r.exit_code == 143, r.output

    def term() -> None:
        raise Terminated()

    model = tmp_path / "m.keras"
    model.write_bytes(b"a model")
    monkeypatch.setattr("vidaug.cli._train._quiet_tf", term)  # SIGTERM while TF starts
    r = run("export", model)
    assert r.exit_code == 143, r.output


_SLOW_MODEL = """
import time, numpy as np
import vidaug.cli._mining as m
from vidaug.mining import FrameEmbedder

class Slow:
    def predict_on_batch(self, x):
        time.sleep(0.25)
        with open({marker!r}, "a") as f:
            f.write("call\\n")
        return x.reshape(len(x), -1, 3).mean(axis=1) + 1.0

m._embedder = lambda *a, **k: FrameEmbedder(Slow(), "slow", (16, 16), lambda x: x, 3)
"""


def test_a_real_sigterm_stops_embed_with_143_and_keeps_finished_clips(tmp_path):
    data = _twelve(tmp_path / "data")
    ix, marker = tmp_path / "ix", tmp_path / "calls.txt"
    code = textwrap.dedent(_SLOW_MODEL.format(marker=str(marker))) + (
        "import sys\nsys.argv = ['vidaug', *sys.argv[1:]]\nfrom vidaug.cli import main\nmain()\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    args = ["embed", data, "--out", ix, "--frames", 2, "--model-batch", 2, "--no-regions"]
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (marker.exists() and len(marker.read_text().splitlines()) >= 3):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    m = re.search(rf"interrupted: kept (\d+) of 12 clips in {re.escape(str(ix))} ", err)
    assert m, err
    kept = int(m.group(1))
    assert 3 <= kept < 12 and len(EmbeddingIndex.load(ix)) == kept


# -- a full disk names the index ---------------------------------------------------------------


class _Full:
    """A file on a full disk: every write fails like the system's (no file name)."""

    def __init__(self, f) -> None:
        self.f = f

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.f.close()


@pytest.mark.parametrize("target", ["frame_emb.npy", "clip_emb.npy", "index.json"])
def test_a_full_disk_names_the_index(tmp_path, monkeypatch, target):
    from vidaug.mining import _store

    real_open = open

    def full_open(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        return _Full(f) if Path(path).name == target and "w" in mode else f

    data = _clips(tmp_path / "data", ["a/x.mp4", "b/y.mp4"])
    ix = tmp_path / "ix"
    monkeypatch.setattr(_store, "open", full_open, raising=False)
    _use(monkeypatch)
    r = run("embed", data, "--out", ix, "--frames", 2)
    assert r.exit_code == 1, r.output
    lines = r.stderr.strip().splitlines()  # the progress bar, then one line
    assert lines[-1] == f"error: no space left on device: {ix}" and len(lines) <= 2, r.stderr
    assert not ix.exists() and [p.name for p in tmp_path.iterdir()] == ["data"]  # no temp left


# -- export: the work folder lives beside the output, never in the system temp folder -------


def _dead_pid() -> int:
    for pid in range(4_194_000, 4_194_300):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            continue
    pytest.skip("no free process id found")


@pytest.mark.slow
def test_export_works_beside_the_output_and_leaves_nothing(tmp_path, monkeypatch):
    import tempfile

    import tensorflow as tf

    from vidaug.training import build_seed_classifier, save_classifier

    model = save_classifier(build_seed_classifier(2, frame_size=16, frames=2),
                            tmp_path / "m.keras", {"class_names": ["a", "b"]})  # fmt: skip
    system_tmp = tmp_path / "systmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    out = tmp_path / "out" / "m.tflite"
    out.parent.mkdir()
    stale = out.parent / f".vidaug-export-{_dead_pid()}-0"  # a killed run's
    (stale / "saved_model").mkdir(parents=True)

    def stopped(*args, **kwargs):  # SIGTERM once the SavedModel is written
        raise Terminated()

    with monkeypatch.context() as m:
        m.setattr(tf.lite.TFLiteConverter, "from_saved_model", stopped)
        r = run("export", model, "--out", out)
    assert r.exit_code == 143, r.output
    assert list(out.parent.iterdir()) == []  # the stale folder and its own are gone
    r = run("export", model, "--out", out)
    assert r.exit_code == 0, r.output
    assert [p.name for p in out.parent.iterdir()] == ["m.tflite"]
    assert not [p for p in system_tmp.iterdir() if "vidaug" in p.name]
