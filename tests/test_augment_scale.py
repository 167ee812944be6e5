"""Issue 11: long recordings in bounded memory (streaming, --segment, memory limits, default
workers) and no wrong dataset with exit 0 (one run per OUTPUT, --overwrite / --resume cleanup,
OUTPUT outside INPUT, SIGTERM, no orphan workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import make_clip
from test_cli_augment import manifest, run, tree_bytes

from vidaug.datasets import output_lock, read_clip, write_clip
from vidaug.pipelines import augment_dataset


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i, rel in enumerate(["fight/a.mp4", "fight/b.mp4", "noFight/c.mp4"]):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        write_clip(p, make_clip(30, 48, 64, seed=i), fps=10.0)
    return root


@pytest.mark.parametrize("recipe", ["standard", "surveillance", "camera"])
def test_streamed_outputs_equal_in_memory_outputs(data, tmp_path, recipe):
    """The same bytes and manifest whether a clip is decoded whole or streamed in chunks."""
    kw = dict(recipe=recipe, copies=2, seed=4, workers=1)
    whole = augment_dataset(data, tmp_path / "whole", **kw)
    streamed = augment_dataset(data, tmp_path / "streamed", stream_above=0, **kw)
    assert whole.ok and streamed.ok and whole.written == 6
    assert tree_bytes(tmp_path / "whole") == tree_bytes(tmp_path / "streamed")


def test_streaming_never_decodes_the_whole_clip(data, tmp_path, monkeypatch):
    """Above the threshold no clip is decoded whole and no read asks for more than a chunk."""
    import vidaug.datasets._stream as stream
    import vidaug.pipelines._augment as job

    monkeypatch.setattr(job, "read_clip", lambda *a, **k: pytest.fail("decoded whole"))
    monkeypatch.setattr(job, "_CHUNK_BYTES", 5 * 48 * 64 * 3)  # 5 frames a chunk
    sizes = []
    real = stream.VideoSource.read

    def read(self, idx):
        sizes.append(len(idx))
        return real(self, idx)

    monkeypatch.setattr(stream.VideoSource, "read", read)
    s = augment_dataset(data, tmp_path / "o", recipe="light", stream_above=0, workers=1)
    assert s.ok and s.written == 3 and max(sizes) <= 5


def test_huge_padding_streams_instead_of_memory_error(tmp_path):
    """`TemporalCrop length: 100000` died with MemoryError and aborted the batch; now the
    output is planned from the clip's shape and written a chunk at a time."""
    src = write_clip(tmp_path / "in" / "a.mp4", make_clip(6, 16, 16), fps=10.0)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("transforms:\n  - {name: TemporalCrop, length: 3000, pad: loop}\n")
    s = augment_dataset(src.parent, tmp_path / "out", recipe=recipe, stream_above=2**20)
    assert s.ok, s.failures
    assert read_clip(tmp_path / "out" / "a__aug0.mp4").frames.shape[0] == 3000


def test_a_clip_over_the_memory_limit_fails_alone(data, tmp_path):
    """A recipe step that needs the whole clip (Anonymize) on a clip over the limit: one line
    naming the clip and the fix; the other clips are still written."""
    write_clip(data / "fight" / "long.mp4", make_clip(200, 48, 64), fps=10.0)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("transforms:\n  - {name: Anonymize}\n")
    s = augment_dataset(data, tmp_path / "out", recipe=recipe, stream_above=100 * 48 * 64 * 3,
                        memory_limit=100 * 48 * 64 * 3 * 3, workers=1)  # fmt: skip
    assert [c for c, _ in s.failures] == ["fight/long.mp4"]
    assert "--segment" in s.failures[0][1] and "long.mp4" in s.failures[0][1]
    assert s.written == 3


def test_segments_cut_long_inputs(tmp_path):
    src = write_clip(tmp_path / "in" / "rec.mp4", make_clip(25, 32, 48), fps=10.0)
    out = tmp_path / "out"
    r = run("augment", src.parent, out, "--recipe", "light", "--segment", "1", "--copies", "2")
    assert r.exit_code == 0, r.output
    rows = manifest(out)
    assert [(e["segment"], e["copy"]) for e in rows] == [(s, k) for s in range(3) for k in (0, 1)]
    assert [(e["start"], e["end"], e["frames"]) for e in rows[::2]] == [
        (0.0, 1.0, 10), (1.0, 2.0, 10), (2.0, 2.5, 5)
    ]  # fmt: skip
    assert rows[0]["path"] == "rec__seg0000__aug0.mp4"
    assert len({e["seed"] for e in rows}) == 6
    # the same bytes with two workers, and --resume finishes a cut-short run
    r2 = run("augment", src.parent, tmp_path / "o2", "--recipe", "light", "--segment", "1",
             "--copies", "2", "--workers", "2")  # fmt: skip
    assert r2.exit_code == 0 and tree_bytes(out) == tree_bytes(tmp_path / "o2")
    lines = (out / "manifest.jsonl").read_text().splitlines()
    (out / "manifest.jsonl").write_text("\n".join(lines[:3]) + "\n")
    (out / rows[4]["path"]).unlink()
    r = run("augment", src.parent, out, "--recipe", "light", "--segment", "1", "--copies", "2",
            "--resume")  # fmt: skip
    assert r.exit_code == 0 and tree_bytes(out) == tree_bytes(tmp_path / "o2")


def test_default_workers_use_the_machine_and_keep_the_bytes(data, tmp_path):
    from vidaug.pipelines import default_workers

    assert 1 <= default_workers() <= (os.cpu_count() or 1)
    assert default_workers(rows=1) == 1
    a = augment_dataset(data, tmp_path / "a", recipe="light", seed=2)  # workers=None: auto
    b = augment_dataset(data, tmp_path / "b", recipe="light", seed=2, workers=1)
    assert a.ok and b.ok and tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_one_run_per_output(data, tmp_path):
    out = tmp_path / "out"
    with output_lock(out):
        for extra in ([], ["--overwrite"], ["--resume"]):
            r = run("augment", data, out, "--recipe", "light", *extra)
            assert r.exit_code == 2 and "another vidaug run is using" in r.stderr, r.output
    assert not (out / "manifest.jsonl").exists()
    assert run("augment", data, out, "--recipe", "light").exit_code == 0  # released


def test_overwrite_removes_the_previous_runs_files(data, tmp_path):
    """48 clips stayed beside a 24-row manifest; loading the folder trained on stale ones."""
    out = tmp_path / "out"
    assert run("augment", data, out, "--recipe", "light", "--copies", "2").exit_code == 0
    assert run("augment", data, out, "--recipe", "light", "--overwrite").exit_code == 0
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.mp4"))
    assert files == sorted(e["path"] for e in manifest(out)) and len(files) == 3


def test_resume_removes_leftover_temp_files(data, tmp_path):
    out = tmp_path / "out"
    assert run("augment", data, out, "--recipe", "light").exit_code == 0
    junk = out / "fight" / ".a__aug0.mp4.4242-0.tmp.mp4"
    junk.write_bytes(b"half a clip")
    assert run("augment", data, out, "--recipe", "light", "--resume").exit_code == 0
    assert not junk.exists()


@pytest.mark.parametrize("where", ["same", "inside"])
def test_output_inside_input_is_refused(data, where):
    out = data if where == "same" else data / "out"
    r = run("augment", data, out, "--recipe", "light")
    assert r.exit_code == 2 and "outside" in r.stderr
    assert not (data / "out").exists() and not (data / "manifest.jsonl").exists()


def test_resume_with_overwrite_is_a_usage_error(data, tmp_path):
    r = run("augment", data, tmp_path / "o", "--resume", "--overwrite")
    assert r.exit_code == 2 and "choose one" in r.stderr


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killing_the_parent_stops_the_workers(tmp_path, sig):
    """SIGTERM: message, exit 143, no temp files. SIGKILL: no worker outlives the parent."""
    data = tmp_path / "data"
    for i in range(8):
        write_clip(data / f"c{i}.mp4", make_clip(200, 96, 128, seed=i), fps=10.0)
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from vidaug.cli import main; main()", "augment", str(data),
           str(out), "--recipe", "strong", "--copies", "3", "--workers", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:  # the two workers
        time.sleep(0.2)
        workers = [c for c in _children(proc.pid) if _alive(c)]
    assert workers, "the workers did not start"
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert proc.returncode == 143, err
        assert "interrupted" in err and "Traceback" not in err
        assert not [p for p in out.rglob(".*.tmp*")]
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert not [w for w in workers if _alive(w)]


def _corrupt(src: Path, dest: Path) -> Path:
    """``src`` with a few hundred random bytes written into the middle of its stream."""
    b = bytearray(src.read_bytes())
    rng = np.random.default_rng(0)
    for off in (len(b) // 3, len(b) // 2, 2 * len(b) // 3):
        b[off : off + 400] = rng.integers(0, 256, 400, dtype=np.uint8).tobytes()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(bytes(b))
    return dest


@pytest.mark.parametrize("stream_above", [None, 0])
def test_mid_stream_corruption_is_warned_about(tmp_path, stream_above):
    """A clip whose frames decode with errors (green blocks) is no longer passed silently."""
    ok = write_clip(tmp_path / "ok.mp4", make_clip(60, 96, 128), fps=10.0)
    data = tmp_path / "data"
    _corrupt(ok, data / "bad.mp4")
    write_clip(data / "good.mp4", make_clip(60, 96, 128, seed=3), fps=10.0)
    assert read_clip(ok).decode_errors == 0
    assert read_clip(data / "bad.mp4").decode_errors > 0
    kw = {} if stream_above is None else {"stream_above": stream_above}
    s = augment_dataset(data, tmp_path / "out", recipe="light", workers=1, **kw)
    assert s.ok and s.written == 2
    assert [c for c, _ in s.warnings] == ["bad.mp4"]
    assert "decoder reported" in s.warnings[0][1]


def test_workers_start_from_a_clean_fork_server(data, tmp_path):
    """Workers fork from a fork server, never from this process: a process that has used
    OpenCV's thread pool (as this test process has) or holds Ray's / TensorFlow's threads would
    hang its forked children."""
    import cv2

    from vidaug.pipelines._workers import pool_context

    cv2.resize(np.zeros((600, 800, 3), np.uint8), (400, 300))  # OpenCV's threads, in use
    expect = "forkserver" if sys.platform.startswith("linux") else "spawn"
    assert pool_context().get_start_method() == expect
    s = augment_dataset(data, tmp_path / "o", recipe="light", workers=2)
    assert s.ok and s.written == 3
