"""Issue 18 §2, §3, §6 (augment / curate): a clip is put in place and journalled only once it
is verified, a full disk says so and `--resume` redoes what it cut short; OUTPUT carries a run
mark, so `--resume` / `--overwrite` act only on a vidaug run and remove exactly what it wrote."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_clip, write_labelled_clips
from test_cli_augment import manifest, run, tree_bytes

import vidaug.datasets._stream as stream
import vidaug.pipelines._augment as augment_job
import vidaug.pipelines._curate as curate_job
from vidaug.datasets import JobDir, copy_verified, read_clip, write_clip
from vidaug.datasets._quiet import cv2
from vidaug.errors import UsageError, VideoWriteError
from vidaug.pipelines import augment_dataset, curate

_RealWriter = cv2.VideoWriter
LIGHT = ["--recipe", "light"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i, rel in enumerate(["fight/a.mp4", "fight/b.mp4", "noFight/c.mp4"]):
        write_clip(root / rel, make_clip(12, 48, 64, seed=i), fps=10.0)
    return root


def _cut_writer(cut: set[int]):
    """A cv2.VideoWriter whose n-th file (n in ``cut``, counted from 0) loses its second half
    when released, as on a full disk (OpenCV reports nothing)."""
    made = []

    class Cut:
        def __init__(self, path, *args):
            self._w, self._path, self._n = _RealWriter(path, *args), path, len(made)
            made.append(path)

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return self._w.isOpened()

        def write(self, frame):
            self._w.write(frame)

        def release(self):
            self._w.release()
            if self._n in cut:
                size = os.path.getsize(self._path)
                with open(self._path, "r+b") as f:
                    f.truncate(size // 2)

    return Cut


def _listed_files_decode(out: Path) -> None:
    """Every manifest line names a file that decodes to its frame count, and every clip in
    OUTPUT is listed: no unlisted, unplayable or temporary file."""
    rows = manifest(out)
    for e in rows:
        clip = read_clip(out / e["path"])  # decodes to its end
        assert clip.frames.shape[0] == e.get("frames", clip.frame_count), e["path"]
    files = {str(p.relative_to(out)) for p in out.rglob("*.mp4") if not p.name.startswith(".")}
    assert files == {e["path"] for e in rows}
    assert not [p for p in out.rglob(".*.tmp*")]


# -- §2 verified writes ---------------------------------------------------------------------


@pytest.mark.parametrize("full", [True, False])
def test_a_truncated_write_is_never_put_in_place(tmp_path, monkeypatch, full):
    """OpenCV's writer reports no failed write: the file is checked before its rename."""
    monkeypatch.setattr(cv2, "VideoWriter", _cut_writer({0}))
    monkeypatch.setattr(stream, "free_bytes", lambda p: 0 if full else 2**40)
    dest = tmp_path / "x.mp4"
    with pytest.raises(OSError if full else VideoWriteError) as info:
        write_clip(dest, make_clip(12, 48, 64), fps=10.0)
    if full:
        assert info.value.errno == errno.ENOSPC and info.value.filename == str(dest)
    else:
        assert str(dest) in str(info.value) and ".tmp" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_short_copy_is_never_put_in_place(tmp_path, monkeypatch):
    src = write_clip(tmp_path / "src.mp4", make_clip(12, 48, 64), fps=10.0)
    real = shutil.copyfile

    def half(a, b):
        real(a, b)
        os.truncate(b, os.path.getsize(b) // 2)

    monkeypatch.setattr(shutil, "copyfile", half)
    with pytest.raises(VideoWriteError, match="bytes"):
        copy_verified(src, tmp_path / "out" / "dst.mp4")
    assert list((tmp_path / "out").iterdir()) == []


def test_full_disk_stops_augment_and_resume_redoes_the_cut_clip(data, tmp_path, monkeypatch):
    """The 3rd clip written comes out cut short on a full disk: exit 1 naming it, it is
    neither in place nor listed; --resume afterwards gives the clean run's result."""
    args = [*LIGHT, "--copies", "2", "--workers", "1"]
    clean = tmp_path / "clean"
    assert run("augment", data, clean, *args).exit_code == 0
    out = tmp_path / "out"
    with monkeypatch.context() as m:
        m.setattr(cv2, "VideoWriter", _cut_writer({2}))
        m.setattr(stream, "free_bytes", lambda p: 0)
        r = run("augment", data, out, *args)
    assert r.exit_code == 1, r.output
    assert "no space left on device" in r.stderr and "b__aug0.mp4" in r.stderr
    assert ".tmp" not in r.stderr
    assert [e["path"] for e in manifest(out)] == ["fight/a__aug0.mp4", "fight/a__aug1.mp4"]
    _listed_files_decode(out)
    r = run("augment", data, out, *args, "--resume")
    assert r.exit_code == 0, r.output
    assert "2 kept from the earlier run" in r.stderr
    assert tree_bytes(out) == tree_bytes(clean)


def test_resume_rechecks_the_files_it_keeps(data, tmp_path):
    """A listed clip that was cut short afterwards is redone, not 'kept from the earlier run'."""
    clean, out = tmp_path / "clean", tmp_path / "out"
    assert run("augment", data, clean, *LIGHT).exit_code == 0
    assert run("augment", data, out, *LIGHT).exit_code == 0
    f = out / "fight" / "b__aug0.mp4"
    f.write_bytes(f.read_bytes()[:-200])
    r = run("augment", data, out, *LIGHT, "--resume")
    assert r.exit_code == 0 and "2 kept from the earlier run" in r.stderr, r.output
    assert tree_bytes(out) == tree_bytes(clean)


def test_a_journal_write_on_a_full_disk_leaves_no_torn_line(tmp_path, monkeypatch):
    """ENOSPC while journalling: the line is cut off again and the error names the journal."""
    out = tmp_path / "out"
    out.mkdir()
    job = JobDir.open(out, "augment", {"seed": 0})
    staged = write_clip(out / ".a.mp4.1-0.tmp.mp4", make_clip(4, 16, 16), fps=5.0)
    real = os.fsync

    def fsync(fd):  # the manifest line, once the file is in place, finds the disk full
        if os.readlink(f"/proc/self/fd/{fd}").endswith("manifest.jsonl"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with job, pytest.raises(OSError) as info:
        job.commit(staged, {"path": "a.mp4", "frames": 4}, frames=4)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(out / "manifest.jsonl")
    assert (out / "manifest.jsonl").read_text() == ""
    monkeypatch.setattr(os, "fsync", real)
    with JobDir.open(out, "augment", {"seed": 0}, overwrite=True):  # listed: removed
        assert not (out / "a.mp4").exists()


def test_rows_are_journalled_per_copy(data, tmp_path, monkeypatch):
    """`--copies 1000000` wrote 230 clips and no manifest row: rows waited for a source's
    last copy. Now a run stopped after two copies lists those two."""
    real, calls = augment_job.write_clip, []

    def write(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(augment_job, "write_clip", write)
    with pytest.raises(KeyboardInterrupt):
        augment_dataset(data, tmp_path / "out", recipe="light", copies=5, workers=1)
    rows = manifest(tmp_path / "out")
    assert [(e["source"], e["copy"]) for e in rows] == [("fight/a.mp4", 0), ("fight/a.mp4", 1)]
    _listed_files_decode(tmp_path / "out")


def _tmpfs(path: Path, size: str, *extra: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    opts = ",".join([f"size={size}", *extra])
    cmd = ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)]
    return subprocess.run(cmd, capture_output=True).returncode == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tmpfs")
def test_a_real_full_disk(tmp_path):
    """A real 160 kB tmpfs (root only; skipped elsewhere) fills up mid-run."""
    fs = tmp_path / "fs"
    if not _tmpfs(fs, "160k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        data = tmp_path / "data"
        for i in range(3):
            write_clip(data / f"c{i}.mp4", make_clip(30, 96, 128, seed=i), fps=10.0)
        args = [*LIGHT, "--copies", "3", "--workers", "1"]
        assert run("augment", data, tmp_path / "clean", *args).exit_code == 0
        out = fs / "out"
        r = run("augment", data, out, *args)
        assert r.exit_code == 1, r.output
        assert "no space left on device" in r.stderr and "Traceback" not in r.output
        _listed_files_decode(out)
        assert subprocess.run(["mount", "-o", "remount,size=8m", str(fs)]).returncode == 0
        r = run("augment", data, out, *args, "--resume")
        assert r.exit_code == 0, r.output
        assert tree_bytes(out) == tree_bytes(tmp_path / "clean")
    finally:
        subprocess.run(["umount", str(fs)])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tmpfs")
def test_a_read_only_output_names_the_folder_and_the_reason(tmp_path, data):
    ro = tmp_path / "ro"
    if not _tmpfs(ro, "1m", "ro"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        r = run("augment", data, ro / "out")
        assert r.exit_code == 2
        line = " ".join(r.stderr.split())
        assert f"OUTPUT {ro / 'out'}: cannot write in {ro} (read-only file system)" in line
    finally:
        subprocess.run(["umount", str(ro)])


# -- §3 the run mark -----------------------------------------------------------------------


def _users_folder(root: Path) -> dict[str, bytes]:
    """A folder no vidaug run wrote, with its own manifest.jsonl listing its two clips."""
    for name in ("mine1.mp4", "mine2.mp4"):
        write_clip(root / name, make_clip(4, 16, 16), fps=5.0)
    rows = [{"path": "mine1.mp4", "label": "x"}, {"path": "mine2.mp4", "label": "y"}]
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tree_bytes(root)


@pytest.mark.parametrize("cmd", ["augment", "curate"])
@pytest.mark.parametrize("flag", [[], ["--overwrite"], ["--resume"]])
def test_a_folder_vidaug_did_not_write_is_refused(tmp_path, cmd, flag):
    data = write_labelled_clips(tmp_path / "data", per_class=2, t=6)
    out = tmp_path / "users"
    before = _users_folder(out)
    r = run(cmd, data, out, *flag)
    assert r.exit_code == 2, r.output
    assert "no vidaug run wrote it" in r.stderr
    assert tree_bytes(out) == before


def test_overwrite_removes_a_copy_an_interrupted_run_never_listed(data, tmp_path, monkeypatch):
    """SIGTERM after a copy was written, then `--overwrite --copies 1`: no __aug1 is left
    (a later run took it for a source)."""
    out = tmp_path / "out"
    real, calls = augment_job.write_clip, []

    def write(*a, **k):
        calls.append(1)
        got = real(*a, **k)
        if len(calls) == 2:  # copy 1 of a.mp4 is written, not yet listed
            raise KeyboardInterrupt
        return got

    with monkeypatch.context() as m:
        m.setattr(augment_job, "write_clip", write)
        with pytest.raises(KeyboardInterrupt):
            augment_dataset(data, out, recipe="light", copies=2, workers=1)
    r = run("augment", data, out, *LIGHT, "--overwrite", "--copies", "1")
    assert r.exit_code == 0, r.output
    assert not list(out.rglob("*__aug1*"))
    _listed_files_decode(out)


def test_overwrite_removes_a_file_renamed_but_not_journalled(tmp_path, monkeypatch):
    """Killed between the rename and the manifest line: the mark still lists the file."""
    out = tmp_path / "out"
    out.mkdir()
    job = JobDir.open(out, "curate", {"seed": 1})
    staged = write_clip(out / "train" / ".x.mp4.1-0.tmp.mp4", make_clip(4, 16, 16), fps=5.0)
    real = JobDir._append

    def append(self, name, obj):
        if name == "manifest.jsonl":
            raise KeyboardInterrupt
        real(self, name, obj)

    with monkeypatch.context() as m:
        m.setattr(JobDir, "_append", append)
        with job, pytest.raises(KeyboardInterrupt):
            job.commit(staged, {"path": "train/x.mp4"})
    assert (out / "train" / "x.mp4").is_file()
    with JobDir.open(out, "curate", {"seed": 2}, overwrite=True):
        assert not (out / "train").exists()  # the file and the folder it left empty


def test_a_killed_curation_then_overwrite_never_puts_a_clip_on_two_sides(tmp_path, monkeypatch):
    """SIGKILL mid-curation, then `--overwrite` with another seed: a clip copied by the killed run
    but not journalled stayed in train/ while the new split put it in val/."""
    data = write_labelled_clips(tmp_path / "data", per_class=4, t=6)
    out = tmp_path / "cur"
    real, calls = curate_job.augment_row, []

    def aug(*a, **k):
        calls.append(1)
        if len(calls) == 2:  # the 2nd train clip's original is in place, its row not yet
            raise KeyboardInterrupt
        return real(*a, **k)

    kw = dict(split=(0.5, 0.25, 0.25), copies=1, recipe="light")
    with monkeypatch.context() as m:
        m.setattr(curate_job, "augment_row", aug)
        with pytest.raises(KeyboardInterrupt):
            curate(data, out, seed=3, **kw)
    curate(data, out, seed=12, overwrite=True, **kw)  # a3 leaves train for val
    _listed_files_decode(out)
    sides = {}
    for e in manifest(out):
        sides.setdefault(e["source"], set()).add(e["split"])
    assert len(sides) == 8 and all(len(s) == 1 for s in sides.values())


def test_resume_of_a_curation_redoes_a_copy_whose_line_was_torn(tmp_path):
    """A torn journal line of an augmented copy: resume dropped the copy (8 added vs 10)."""
    data = write_labelled_clips(tmp_path / "data", per_class=4, t=6)
    args = ["--split", "0.5,0.25,0.25", "--copies", "2", *LIGHT]
    full, part = tmp_path / "full", tmp_path / "part"
    assert run("curate", data, full, *args).exit_code == 0
    assert run("curate", data, part, *args).exit_code == 0
    lines = (part / "manifest.jsonl").read_text().splitlines()
    first = next(i for i, x in enumerate(lines) if json.loads(x)["kind"] == "augmented")
    (part / "manifest.jsonl").write_text(
        "\n".join(lines[: first + 1]) + "\n" + lines[first + 1][:30]
    )
    (part / "curation.json").unlink()
    r = run("curate", data, part, *args, "--resume")
    assert r.exit_code == 0, r.output
    strip = {k: v for k, v in tree_bytes(part).items() if k != "curation.json"}
    assert strip == {k: v for k, v in tree_bytes(full).items() if k != "curation.json"}
    added = [json.loads((d / "curation.json").read_text())["added"] for d in (part, full)]
    assert added[0] == added[1] and len(added[0]) == 8


def test_a_curation_that_fails_before_writing_leaves_output_reusable(tmp_path):
    """The mark alone does not make OUTPUT 'hold a run': a plain run may use it again."""
    data = write_labelled_clips(tmp_path / "data", per_class=2, t=6)
    for bad in (data / "b").iterdir():
        bad.write_text("not a video")
    out = tmp_path / "cur"
    r = run("curate", data, out, "--split", "0.5,0.5")
    assert r.exit_code == 1 and "fewer than 2 classes" in r.stderr, r.output
    assert [p.name for p in out.iterdir() if not p.name.startswith(".vidaug")] == []
    write_labelled_clips(data, per_class=2, t=6)
    assert run("curate", data, out, "--split", "0.5,0.5").exit_code == 0


def test_a_different_kind_or_other_settings_are_named(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with JobDir.open(out, "augment", {"seed": 0, "copies": 1}) as job:
        job.finish([])
    (out / "user.txt").write_text("x")
    with pytest.raises(UsageError, match=r"other settings \(copies\)"):
        JobDir.open(out, "augment", {"seed": 0, "copies": 2}, resume=True)
    with pytest.raises(UsageError, match="vidaug augment"):
        JobDir.open(out, "curate", {"seed": 0, "copies": 1}, resume=True)
    with JobDir.open(out, "curate", {}, overwrite=True):
        assert (out / "user.txt").read_text() == "x"  # not listed: kept


# -- §6 ------------------------------------------------------------------------------------


def test_curate_resume_accepts_the_input_as_an_absolute_path(tmp_path, monkeypatch):
    data = write_labelled_clips(tmp_path / "data", per_class=3, t=6)
    monkeypatch.chdir(tmp_path)
    args = ["--split", "0.5,0.5"]
    assert run("curate", "data", "cur", *args).exit_code == 0
    r = run("curate", data.resolve(), "cur", *args, "--resume")
    assert r.exit_code == 0, r.output


def test_curate_lists_failed_copies_apart_from_left_out_clips(tmp_path, monkeypatch):
    """'failed clips (11, left out of the dataset)' listed 3 clips it had copied."""
    data = write_labelled_clips(tmp_path / "data", per_class=3, t=6)
    (data / "a" / "junk.mp4").write_text("not a video")
    real = curate_job.augment_row

    def aug(row, job, copies, done=(), emit=None):
        if row.rel == "a/a0.mp4":
            return augment_job.RowResult(row.rel, error=f"{row.path}: copy 0: boom")
        return real(row, job, copies, done, emit=emit)

    monkeypatch.setattr(curate_job, "augment_row", aug)
    out = tmp_path / "cur"
    r = run("curate", data, out, "--split", "1,0", "--copies", "1", *LIGHT)
    assert r.exit_code == 1
    err = " ".join(r.stderr.split())
    assert "failed clips (1, left out of the dataset): ✗" in err and "junk.mp4" in err
    assert "failed copies (1 clip in the dataset without all their augmented copies): ✗" in err
    assert err.index("junk.mp4") < err.index("failed copies") < err.index("boom")
    paths = {e["path"] for e in manifest(out)}
    assert "train/a/a0.mp4" in paths and "train/a/a0__aug0.mp4" not in paths
    cur = json.loads((out / "curation.json").read_text())
    assert [f["clip"] for f in cur["failures"]] == ["a/junk.mp4"]
    assert [f["clip"] for f in cur["copy_failures"]] == ["a/a0.mp4"]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forkserver, /proc")
def test_a_killed_pool_run_leaves_no_noise_and_resume_cleans_its_temp_folder(tmp_path):
    """SIGKILL: no `leaked semaphore` warning on the terminal; multiprocessing's `pymp-*`
    folder is listed in OUTPUT's mark and removed by the next --resume."""
    data = tmp_path / "data"
    for i in range(6):
        write_clip(data / f"c{i}.mp4", make_clip(120, 96, 128, seed=i), fps=10.0)
    out, tmp = tmp_path / "out", tmp_path / "systmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    cli = [sys.executable, "-c", "from vidaug.cli import main; main()", "augment", str(data),
           str(out), "--recipe", "strong", "--copies", "3", "--workers", "2"]  # fmt: skip
    proc = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 60
    while time.time() < deadline and not list(out.rglob("*__aug*.mp4")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert b"leaked" not in err and b"resource_tracker" not in err, err
    scratch = [e["scratch"] for e in map(json.loads, (out / ".vidaug-files").read_text().splitlines())
               if "scratch" in e]  # fmt: skip
    assert scratch and all(Path(s).parent == tmp for s in scratch)
    r = subprocess.run([*cli, "--resume"], capture_output=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert not [p for p in tmp.iterdir() if p.name.startswith("pymp-") and str(p) in scratch]
    _listed_files_decode(out)
