"""One error contract for every command, a quiet terminal, and the newcomer's paper cuts.

Exit codes: 2 for a usage problem (refused before any work), 1 for bad data items (after the
rest was done) or a write the system refused; never an "internal error" or a traceback for a
condition the user caused. Nothing from OpenCV / FFmpeg / TensorFlow / Keras / FAISS reaches
the terminal unasked; error messages are one line of printable text.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import make_clip, write_labelled_clips
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.cli._app import human_size, one_line, plural
from vidaug.datasets import read_clip, sample_clips_dir, write_clip
from vidaug.errors import UsageError, VideoReadError

REPO = Path(__file__).resolve().parents[1]
SAMPLES = sample_clips_dir()
runner = CliRunner()

#: Lines that must never reach a vidaug user's terminal.
NOISE = re.compile(
    r"\[ERROR:|\[WARN:|cap_ffmpeg|codec_id|@ 0x|moov atom|oneDNN|cpu_feature_guard|absl::|"
    r"I0000|W0000|WARNING clustering|Downloading data|https?://|Skipping variable loading|"
    r"Traceback|internal error"
)


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def cli(*args, env: dict | None = None, cwd: Path | None = None, prelude: str = ""):
    """``vidaug ARGS`` in a fresh interpreter (what a user's terminal sees), after ``prelude``;
    ``env`` values of None unset the variable."""
    code = textwrap.dedent(prelude) + (
        "\nimport sys\nsys.argv = ['vidaug', *sys.argv[1:]]\nfrom vidaug.cli import main\nmain()\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCV_", "TF_CPP"))}
    base["PYTHONPATH"] = os.pathsep.join([str(REPO), base.get("PYTHONPATH", "")])
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", code, *[str(a) for a in args]],
        capture_output=True,
        text=True,
        env={k: v for k, v in base.items() if v is not None},  # None: unset
        cwd=cwd,
        timeout=300,
    )


def one_error_line(stderr: str) -> str:
    """The only line on stderr, an ``error:`` line of printable ASCII."""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert lines[0].isascii() and lines[0].isprintable(), repr(lines[0])
    assert not NOISE.search(stderr), stderr
    return lines[0]


@pytest.fixture
def video(tmp_path) -> Path:
    return write_clip(tmp_path / "clip.mp4", make_clip(12, 48, 64), fps=10.0)


# ---- A. exit 2 for usage problems, the same in every command --------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["augment", "{nope}", "{tmp}/out"],
        ["dedup", "{nope}"],
        ["mine-hard", "{nope}"],
        ["curate", "{nope}", "{tmp}/out"],
        ["preview", "{nope}.mp4"],
        ["report", "{nope}.jsonl"],
        ["recipes", "{nope}.yaml"],
    ],
    ids=lambda a: a[0],
)
def test_missing_input_is_exit_2_everywhere(args, tmp_path):
    r = run(*[a.format(nope=tmp_path / "nope", tmp=tmp_path) for a in args])
    assert r.exit_code == 2, r.output
    assert "nope" in one_error_line(r.stderr)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["augment", "{samples}", "{tmp}/out", "--damaged", "bogus"],
        ["dedup", "{samples}", "--keep", "nope"],
        ["embed", "{samples}", "--out", "{tmp}/ix", "--index-type", "hnsw"],
        ["train", "{samples}", "--hook-views", "best"],
    ],
    ids=lambda a: a[0],
)
def test_bad_choice_is_exit_2(args, tmp_path):
    r = run(*[a.format(samples=SAMPLES, tmp=tmp_path) for a in args])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "ix").exists()


@pytest.mark.parametrize("split", ["0.5,0.2", "0.7,0.2,0.2", "zero", "0.7", "0,0.5,0.5", "nan,1"])
def test_curate_bad_split_is_exit_2_before_any_work(split, tmp_path):
    r = run("curate", SAMPLES, tmp_path / "out", "--split", split)
    assert r.exit_code == 2, r.output
    assert "--split" in one_error_line(r.stderr)
    assert not (tmp_path / "out").exists()


def test_curate_split_that_sums_to_one_is_accepted(tmp_path):
    data = write_labelled_clips(tmp_path / "data", per_class=3)
    r = run("curate", data, tmp_path / "out", "--split", "0.5,0.25,0.25")
    assert r.exit_code == 0, r.output


def test_augment_resume_with_overwrite_is_exit_2(tmp_path):
    r = run("augment", SAMPLES, tmp_path / "out", "--resume", "--overwrite")
    assert r.exit_code == 2
    assert "--resume" in one_error_line(r.stderr) and "--overwrite" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("cmd", ["augment", "curate"])
def test_output_that_is_a_file_is_exit_2(cmd, tmp_path):
    out = tmp_path / "out"
    out.write_text("mine")
    r = run(cmd, SAMPLES, out)
    assert r.exit_code == 2
    assert "not a folder" in one_error_line(r.stderr)
    assert out.read_text() == "mine"


@pytest.mark.parametrize(
    "args",
    [
        ["preview", "{video}", "--out", "{dir}"],
        ["preview", "{video}", "--out", "{dir}.png"],
        ["report", "{video}", "--out", "{dir}"],
        ["dedup", "{samples}", "--out", "{dir}"],
        ["dedup", "{samples}", "--report", "{dir}.html"],
        ["mine-hard", "{samples}", "--out", "{dir}"],
    ],
    ids=lambda a: f"{a[0]}-{a[2]}-{a[3].rsplit('.', 1)[-1]}",
)
def test_out_that_is_a_directory_is_exit_2_before_any_work(args, tmp_path, video):
    d = tmp_path / "adir"
    d.mkdir()
    (tmp_path / "adir.png").mkdir()
    (tmp_path / "adir.html").mkdir()
    r = run(*[a.format(video=video, dir=d, samples=SAMPLES) for a in args])
    assert r.exit_code == 2, r.output
    assert "is a directory" in one_error_line(r.stderr)


def test_output_folder_without_write_permission_is_exit_2(tmp_path, video, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    real_access = os.access
    if os.geteuid() == 0:  # root may write anywhere: make the check see what a user would
        monkeypatch.setattr(
            os, "access", lambda p, mode, **kw: Path(p) != ro and real_access(p, mode, **kw)
        )
    try:
        for args in (
            ["preview", video, "-n", 1, "--out", ro / "p.png"],
            ["augment", video, ro / "out"],
            ["dedup", SAMPLES, "--out", ro / "d.jsonl"],
        ):
            r = run(*args)
            assert r.exit_code == 2, r.output
            assert "permission denied" in one_error_line(r.stderr)
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_full_disk_is_one_line_not_an_internal_error(tmp_path, video):
    """ENOSPC while writing: one line, exit 1, nothing left behind."""
    full = "import errno, os\ndef _full(*a): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\nos.fsync = _full\n"
    out = tmp_path / "p.png"
    r = cli("preview", video, "-n", 1, "--out", out, prelude=full)
    assert r.returncode == 1
    assert "no space left on device" in one_error_line(r.stderr)
    assert list(tmp_path.iterdir()) == [video]  # no temporary file left


def test_refused_write_names_the_users_file(tmp_path, video):
    """A write the system refuses mid-way (a folder made read-only meanwhile): exit 1, one line
    naming the file asked for, not vidaug's temporary file."""
    deny = (
        "import errno, os\n"
        "def _deny(a, b, **k): raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), a, None, b)\n"
        "os.replace = _deny\n"
    )
    r = cli("preview", video, "-n", 1, "--out", tmp_path / "p.png", prelude=deny)
    assert r.returncode == 1
    line = one_error_line(r.stderr)
    assert line == f"error: permission denied: {tmp_path / 'p.png'}"


def test_bad_items_are_exit_1_after_the_rest_and_listed_once(tmp_path):
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    shutil.copy(SAMPLES / "fight" / "fi028.mp4", data / "a" / "good.mp4")
    (data / "a" / "junk.mp4").write_bytes(os.urandom(3000))
    r = run("augment", data, tmp_path / "out", "--recipe", "light", "--clip-frames", 8)
    assert r.exit_code == 1
    assert (tmp_path / "out" / "a" / "good__aug0.mp4").is_file()  # the rest was done
    listed = [x for x in r.stderr.splitlines() if "━" not in x]  # not the progress bar
    assert sum("junk.mp4" in x for x in listed) == 1, r.stderr  # listed once, not twice
    assert "1 clip written from 2 sources" in r.stderr


# ---- B. a quiet terminal ----------------------------------------------------------------


def _damaged(d: Path) -> dict[str, Path]:
    src = (SAMPLES / "fight" / "fi066.mp4").read_bytes()
    d.mkdir(parents=True, exist_ok=True)
    files = {
        "random": os.urandom(5000),
        "truncated": src[:1000],  # ends inside 'mdat', 'moov' never comes
        "header": src[:40],  # ftyp + free only
    }
    codec = bytearray(src)  # an intact file whose video codec is unknown: codec_id=0
    i = codec.index(b"stsd") + 16
    codec[i : i + 4] = b"zzzz"
    files["codec"] = bytes(codec)
    files["box"] = src[:32] + struct.pack(">I", 5000) + b"\xd1j\n\x00" + b"\x00" * 100
    out = {}
    for name, data in files.items():
        (d / f"{name}.mp4").write_bytes(data)
        out[name] = d / f"{name}.mp4"
    return out


def test_damaged_mp4_preview_prints_one_clean_line(tmp_path):
    for name, path in _damaged(tmp_path / "bad").items():
        r = cli("preview", path, "--out", tmp_path / "p.png")
        assert r.returncode == 1, (name, r.stderr)
        line = one_error_line(r.stderr)
        assert str(path) in line, name
    assert not (tmp_path / "p.png").exists()


def test_damaged_box_type_is_shown_as_printable_ascii(tmp_path):
    bad = _damaged(tmp_path)["box"]
    with pytest.raises(VideoReadError) as info:
        read_clip(bad)
    msg = str(info.value)
    assert msg.isascii() and msg.isprintable() and "\n" not in msg
    assert r"'\xd1j\x0a\x00' box" in msg


def test_damaged_files_in_a_batch_keep_the_terminal_clean(tmp_path):
    bad = _damaged(tmp_path / "in" / "a")
    shutil.copy(SAMPLES / "fight" / "fi028.mp4", tmp_path / "in" / "a" / "good.mp4")
    r = cli("augment", tmp_path / "in", tmp_path / "out", "--clip-frames", 8, "--workers", 1)
    assert r.returncode == 1
    assert not NOISE.search(r.stderr), r.stderr
    listed = [x for x in r.stderr.splitlines() if "━" not in x]  # not the progress bar
    for line in listed:
        text = line.replace("✗", "")
        assert text.isascii() and text.isprintable(), repr(line)
    for path in bad.values():
        assert sum(path.name in x for x in listed) == 1, r.stderr


def test_faiss_training_is_quiet_and_too_small_ivfpq_is_a_usage_error(capfd):
    from vidaug.mining import EmbeddingIndex

    rng = np.random.default_rng(0)
    fe = rng.normal(size=(48, 16)).astype(np.float32)
    fe /= np.linalg.norm(fe, axis=1, keepdims=True)
    clips = [{"id": f"c{i}.mp4", "path": f"c{i}.mp4", "label": "ab"[i % 2]} for i in range(6)]
    ix = EmbeddingIndex.build(clips, fe, np.repeat(np.arange(6), 8), model_id="t", kind="ivf")
    assert len(ix) == 6
    with pytest.raises(UsageError, match="ivfpq.*needs at least"):
        EmbeddingIndex.build(clips, fe, np.repeat(np.arange(6), 8), model_id="t", kind="ivfpq")
    err = capfd.readouterr().err
    assert "WARNING clustering" not in err and "please provide at least" not in err, err


@pytest.mark.slow
def test_no_weights_never_downloads_and_says_where_to_put_them(tmp_path):
    """VIDAUG_WEIGHTS unset, an empty Keras cache, offline: exit 2, one line naming the URL and
    the file (the only URL allowed on stderr: Keras' own, for this file)."""
    from vidaug.mining import WEIGHTS_URL

    home = tmp_path / "home"
    (home / ".keras" / "models").mkdir(parents=True)
    env = {"HOME": str(home), "VIDAUG_WEIGHTS": None, "KERAS_HOME": None, "VIDAUG_OFFLINE": "1"}
    r = cli("embed", SAMPLES, "--out", tmp_path / "ix", env=env, cwd=tmp_path)
    assert r.returncode == 2
    assert WEIGHTS_URL in r.stderr
    line = one_error_line(r.stderr.replace(WEIGHTS_URL, "URL"))
    assert f"{home}/.keras/models/" in line and "VIDAUG_WEIGHTS" in line
    assert "download" not in r.stdout.lower() and not r.stdout.strip()


@pytest.mark.slow
def test_a_non_model_file_as_a_model_is_one_short_line(tmp_path):
    junk = tmp_path / "notes.jsonl"
    junk.write_text('{"a": 1}\n')
    r = cli("dedup", SAMPLES, "--embedder", junk, cwd=tmp_path)
    assert r.returncode == 1
    line = one_error_line(r.stderr)
    assert "not a loadable Keras model" in line and "File format not supported" in line
    assert "TFSMLayer" not in line and "Keras 3 only supports" not in line  # the reason only


@pytest.mark.slow
def test_train_and_evaluate_are_quiet_and_print_counts_as_integers(tmp_path):
    data = write_labelled_clips(tmp_path / "data", per_class=3, t=6)
    model = tmp_path / "m.keras"
    r = cli("train", data, "--model", "seed", "--hook", "--epochs", 2, "--frames", 2,
            "--out", model, cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert not NOISE.search(r.stderr + r.stdout), r.stderr
    final = " ".join(r.stdout.split())
    for key in ("hard_clips", "label_suspects", "reweighted"):
        assert re.search(rf"{key} \d+(,|$)", final), final  # counts, not 4.000
    r = cli("evaluate", model, data, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" or not NOISE.search(r.stderr), r.stderr


# ---- C. paper cuts -------------------------------------------------------------------------


COMMANDS = ["augment", "embed", "search", "dedup", "mine-hard", "curate", "train", "evaluate",
            "compare", "export", "preview", "report", "recipes", "weights"]  # fmt: skip


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_shows_plain_metavars(cmd):
    r = runner.invoke(app, [cmd, "--help"], terminal_width=120)
    assert r.exit_code == 0
    usage = next(x for x in r.output.splitlines() if "Usage:" in x)
    assert "{" not in usage and "}" not in usage, usage
    assert re.search(rf"vidaug {cmd} \[OPTIONS\]( \[?[A-Z_]+\]?)*\s*$", usage), usage
    assert "<bool>" not in r.output


def test_usage_lines_name_the_arguments():
    r = runner.invoke(app, ["augment", "--help"], terminal_width=120)
    assert "Usage: vidaug augment [OPTIONS] INPUT OUTPUT" in r.output
    r = runner.invoke(app, ["recipes", "--help"], terminal_width=120)
    assert "Usage: vidaug recipes [OPTIONS] [SHOW]" in r.output
    r = runner.invoke(app, ["--help"], terminal_width=120)
    assert "<bool>" not in r.output
    r = run("augment", "x")
    assert r.exit_code == 2 and "Missing argument 'OUTPUT'" in r.output


@pytest.mark.parametrize("cmd", ["search", "mine-hard"])
@pytest.mark.parametrize("flag", ["-k", "--k"])
def test_k_is_accepted_in_both_spellings(cmd, flag, tmp_path):
    args = [tmp_path / "nope", tmp_path / "q.mp4"] if cmd == "search" else [tmp_path / "nope"]
    r = run(cmd, *args, flag, 3)
    assert r.exit_code == 2 and "No such option" not in r.output
    assert "nope" in one_error_line(r.stderr)


def test_no_blank_line_before_an_error(tmp_path):
    r = cli("augment", tmp_path / "nope", tmp_path / "out")
    assert r.returncode == 2 and r.stderr.startswith("error: "), repr(r.stderr)
    r = cli("curate", SAMPLES, tmp_path / "o", "--split", "1,1")
    assert r.returncode == 2 and r.stderr.startswith("error: "), repr(r.stderr)


def test_one_file_is_one_clip_from_one_source(tmp_path):
    r = run("augment", SAMPLES / "fight" / "fi028.mp4", tmp_path / "out", "--clip-frames", 4)
    assert r.exit_code == 0, r.output
    assert "done: 1 clip written from 1 source (" in r.stderr


def test_small_report_size_in_kb(tmp_path, video):
    from vidaug.mining import EmbeddingIndex, find_duplicates
    from vidaug.report import check_results, save_results

    fe = np.eye(4, 8, dtype=np.float32).repeat(2, axis=0)
    clips = [{"id": f"v{i}.mp4", "path": str(video), "label": "a"} for i in range(4)]
    ix = EmbeddingIndex.build(clips, fe, np.repeat(np.arange(4), 2), model_id="t")
    d, _ = save_results(tmp_path / "d.jsonl", check_results(find_duplicates(ix), ix))
    r = cli("report", d, "--no-thumbnails")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"report: \S+d\.html \(\d+\.\d kB\)\n", r.stderr), repr(r.stderr)


def test_formatting_helpers():
    assert [plural(n, "clip") for n in (0, 1, 2)] == ["0 clips", "1 clip", "2 clips"]
    assert plural(1, "copy", "copies") == "1 copy" and plural(3, "copy", "copies") == "3 copies"
    assert human_size(512) == "512 B"
    assert human_size(18_812) == "18.8 kB"
    assert human_size(57_900) == "57.9 kB"
    assert human_size(999_999) == "1.0 MB"
    assert human_size(1_234_567) == "1.2 MB"
    assert one_line("Keras says:\n\n  bad\tthing\x00 'Ñj\n'") == "Keras says: bad thing 'Ñj '"


def test_python_m_vidaug_cli():
    r = subprocess.run(
        [sys.executable, "-m", "vidaug.cli", "--version"], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0 and r.stdout.startswith("vidaug ")


def test_readme_examples_have_their_inputs_and_ignored_outputs(tmp_path):
    """`make tour` (docs/tour_data.py) makes every input the README's examples name, the
    examples write nothing over tracked files, and what they write is ignored by git."""
    from vidaug.datasets import load_boxes, load_rows

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make tour" in readme and "tour:" in (REPO / "Makefile").read_text()
    r = subprocess.run(
        [sys.executable, str(REPO / "docs" / "tour_data.py"), str(tmp_path)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    named = set(re.findall(r"\b(mix/manifest\.csv|clips/manifest\.jsonl|unseen/manifest\.jsonl|"
                           r"tracks\.csv)\b", readme))  # fmt: skip
    assert named == {"mix/manifest.csv", "clips/manifest.jsonl", "unseen/manifest.jsonl",
                     "tracks.csv"}  # fmt: skip
    mix = load_rows(tmp_path / "mix" / "manifest.csv")
    assert len(mix) == 9 and {r.split for r in mix} == {"train", "val"}
    clips = load_rows(tmp_path / "clips" / "manifest.jsonl")
    assert len(clips) == 24 and len({r.extra["group"] for r in clips}) == 6
    assert len(load_rows(tmp_path / "unseen" / "manifest.jsonl")) == 6
    assert len(load_boxes(tmp_path / "tracks.csv")) == 2 * 51
    for row in mix + clips:
        assert Path(row.path).is_file()
    # console examples never write into docs/ (tracked images)
    commands = [x for x in readme.splitlines() if x.startswith("$ vidaug")]
    assert commands and not [c for c in commands if re.search(r"(--out|-o) docs/", c)]
    if shutil.which("git") and (REPO / ".git").exists():
        outs = ["mix/manifest.csv", "clips/x.mp4", "unseen/manifest.jsonl", "tracks.csv",
                "samples.index/index.json", "dups.jsonl", "dups.meta.json", "dups.html",
                "hard.html", "sheet.png", "side.gif", "curated/manifest.jsonl", "motion.keras",
                "motion.keras.json", "plain.keras", "motion.int8.tflite", "fi028.preview.png"]  # fmt: skip
        ignored = subprocess.run(
            ["git", "check-ignore", "--no-index", *outs], cwd=REPO, capture_output=True,
            text=True,
        ).stdout.split()  # fmt: skip
        assert sorted(ignored) == sorted(outs)
