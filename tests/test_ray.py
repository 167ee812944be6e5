"""Issue 12: the Ray Data engine gives the same results as the local one (augment: the same
bytes and manifest; embed: the same index), survives a killed worker without duplicate rows,
resumes like the local engine, and says how to install Ray when it is missing."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import make_clip, save_tiny_embedder, write_labelled_clips
from test_cli_augment import manifest, run, tree_bytes

from vidaug.datasets import write_clip
from vidaug.pipelines import augment_dataset, embed_to_index

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    """One local Ray instance for the module (vidaug reuses an instance it did not start)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i in range(6):
        write_clip(root / f"c{i % 2}" / f"x{i}.mp4", make_clip(16, 48, 64, seed=i), fps=10.0)
    return root


def test_augment_ray_equals_local(data, tmp_path):
    kw = dict(recipe="standard", copies=2, seed=7)
    a = augment_dataset(data, tmp_path / "w1", workers=1, **kw)
    b = augment_dataset(data, tmp_path / "w2", workers=2, **kw)
    c = augment_dataset(data, tmp_path / "ray", engine="ray", **kw)
    assert a.ok and b.ok and c.ok and c.written == 12
    assert (
        tree_bytes(tmp_path / "w1") == tree_bytes(tmp_path / "w2") == tree_bytes(tmp_path / "ray")
    )


def test_cli_engine_ray_and_resume(data, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    args = ["--recipe", "light", "--copies", "2", "--seed", "3"]
    assert run("augment", data, full, *args).exit_code == 0
    r = run("augment", data, part, *args, "--engine", "ray")
    assert r.exit_code == 0, r.output
    assert tree_bytes(part) == tree_bytes(full)
    lines = (part / "manifest.jsonl").read_text().splitlines()  # a killed run: 4 rows done
    (part / "manifest.jsonl").write_text("\n".join(lines[:4]) + "\n" + lines[4][:10])
    for line in lines[4:]:
        (part / json.loads(line)["path"]).unlink()
    r = run("augment", data, part, *args, "--engine", "ray", "--resume")
    assert r.exit_code == 0, r.output
    assert "kept from the earlier run" in r.stderr
    assert tree_bytes(part) == tree_bytes(full)


def _ray_task_pids() -> list[int]:
    """Ray worker processes running a map task (their title is ``ray::MapBatches(...)``)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("ray::") and "IDLE" not in cmd and "MapBatches" in cmd:
                pids.append(int(d.name))
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_a_killed_worker_is_retried_without_duplicate_rows(tmp_path):
    data = tmp_path / "data"
    for i in range(8):
        write_clip(data / f"c{i}.mp4", make_clip(90, 144, 192, seed=i), fps=10.0)
    result: dict = {}

    def job() -> None:
        result["s"] = augment_dataset(data, tmp_path / "ray", recipe="strong", copies=2, seed=1,
                                      engine="ray")  # fmt: skip

    t = threading.Thread(target=job)
    t.start()
    killed = None
    deadline = time.time() + 60
    while killed is None and time.time() < deadline and t.is_alive():
        pids = _ray_task_pids()
        if pids:
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    t.join(timeout=300)
    assert killed is not None, "no Ray task was seen running"
    s = result["s"]
    assert s.ok and s.written == 16, s.to_dict()
    rows = manifest(tmp_path / "ray")
    keys = [(e["source"], e["copy"]) for e in rows]
    assert len(keys) == len(set(keys)) == 16
    local = augment_dataset(data, tmp_path / "local", recipe="strong", copies=2, seed=1, workers=1)
    assert local.ok and tree_bytes(tmp_path / "ray") == tree_bytes(tmp_path / "local")


@pytest.mark.slow
def test_embed_ray_equals_local(tmp_path):
    from vidaug.mining import load_embedder

    data = write_labelled_clips(tmp_path / "data", per_class=4)
    (data / "a" / "broken.mp4").write_text("not a video")
    emb = load_embedder(save_tiny_embedder(tmp_path / "emb.keras"))
    local = embed_to_index(data, emb, out=tmp_path / "local", frames=4, batch=8)
    remote = embed_to_index(data, emb, out=tmp_path / "ray", frames=4, batch=8, engine="ray")
    a, b = local.index, remote.index
    assert a.ids == b.ids and len(a) == 8
    assert [c["frame_indices"] for c in a.clips] == [c["frame_indices"] for c in b.clips]
    np.testing.assert_array_equal(a.frame_clip, b.frame_clip)
    np.testing.assert_allclose(a.frame_emb, b.frame_emb, atol=1e-5)
    np.testing.assert_allclose(a.clip_emb, b.clip_emb, atol=1e-5)
    assert [c for c, _ in remote.failures] == [c for c, _ in local.failures] == ["a/broken.mp4"]


def test_missing_ray_is_one_line_exit_2(data, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    r = run("augment", data, tmp_path / "o", "--engine", "ray")
    assert r.exit_code == 2 and 'pip install "vidaug-kit[ray]"' in r.stderr
    assert not (tmp_path / "o").exists()
    r = run("embed", data, "--out", tmp_path / "ix", "--engine", "ray")
    assert r.exit_code == 2 and 'pip install "vidaug-kit[ray]"' in r.stderr


@pytest.mark.slow
def test_cli_ray_prints_nothing_of_rays_own(data, tmp_path):
    """Ray's core worker logs (e.g. about Ray Data's actors) never reach the terminal: only
    vidaug's own lines do."""
    import subprocess

    emb = save_tiny_embedder(tmp_path / "emb.keras")
    cli = [sys.executable, "-c", "from vidaug.cli import main; main()"]
    for args in (["augment", str(data), str(tmp_path / "o"), "--engine", "ray"],
                 ["embed", str(data), "--out", str(tmp_path / "ix"), "--engine", "ray",
                  "--embedder", str(emb), "--frames", "2"]):  # fmt: skip
        p = subprocess.run(cli + args, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert lines and all(
            ln.startswith(("augment", "embed", "done", "outputs")) for ln in lines
        ), lines
