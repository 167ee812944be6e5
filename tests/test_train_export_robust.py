"""`vidaug train / evaluate / export` robustness: checks before the first epoch, exit 1 after
skipped clips, no file left behind by a failed export, --tflite as the default, exit 2 for a
missing path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import write_labelled_clips
from typer.testing import CliRunner

from vidaug.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def labelled(tmp_path) -> Path:
    root = write_labelled_clips(tmp_path / "data", per_class=3)
    (root / "b" / "broken.mp4").write_bytes(b"not a video")
    return root


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    """A small untrained seed classifier saved like `vidaug train` does (no training: quick)."""
    from vidaug.training import build_seed_classifier, save_classifier

    model = build_seed_classifier(2, frame_size=16, frames=2)
    return save_classifier(model, tmp_path / "m.keras", {"class_names": ["a", "b"]})


# -- 5. train: checks before the first epoch; skipped clips → exit 1 ------------------------------


def test_train_one_class_is_a_usage_error(labelled, tmp_path):
    one = tmp_path / "one"
    shutil.copytree(labelled / "a", one / "a")
    r = run("train", one, "--model", "seed", "--epochs", "1", "--out", tmp_path / "m.keras")
    assert r.exit_code == 2, r.output
    assert "2 classes" in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "m.keras").exists()


@pytest.mark.parametrize("model", ["seed", "mobilenet_v2"])
def test_train_unreadable_class_fails_before_the_first_epoch(tmp_path, model, monkeypatch):
    if model == "mobilenet_v2":
        from conftest import find_weights

        monkeypatch.setenv("VIDAUG_WEIGHTS", str(find_weights()))
    data = write_labelled_clips(tmp_path / "data", per_class=2)
    for p in (data / "b").iterdir():  # every clip of class b is unreadable
        p.write_bytes(b"not a video")
    out = tmp_path / "m.keras"
    r = run("train", data, "--model", model, "--epochs", "3", "--frames", "2", "--members", "1",
            "--out", out)  # fmt: skip
    assert r.exit_code == 1, r.output
    assert "epoch 1/" not in r.stderr  # refused before training, not after
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and "2 of 4 clips could not be read" in err[0] and "['b']" in err[0]
    assert not out.exists()


def test_train_and_evaluate_with_skipped_clips_exit_1_after_results(labelled, tmp_path):
    m = tmp_path / "m.keras"
    r = run("train", labelled, "--model", "seed", "--epochs", "1", "--frames", "2", "--out", m,
            "--json")  # fmt: skip
    assert r.exit_code == 1, r.output
    s = json.loads(r.stdout)  # the results are out (and the model saved) first
    assert s["class_names"] == ["a", "b"] and m.is_file()
    assert "broken" in r.stderr and "1 clips could not be read" in r.stderr
    r = run("evaluate", m, labelled)
    assert r.exit_code == 1, r.output
    assert "accuracy" in r.stdout and "broken" in r.stderr
    clean = tmp_path / "clean"
    shutil.copytree(labelled, clean, ignore=shutil.ignore_patterns("broken.mp4"))
    assert run("evaluate", m, clean).exit_code == 0


# -- 6. export: nothing at the path on failure; --tflite is the default ------------------------


def test_export_defaults_to_tflite(tiny_model, tmp_path):
    r = run("export", tiny_model, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["tflite"] == str(tiny_model.with_suffix(".tflite"))
    assert Path(info["tflite"]).stat().st_size == info["tflite_bytes"] > 0
    out = tmp_path / "x.tflite"
    assert run("export", tiny_model, "--tflite", "--out", out).exit_code == 0  # still accepted
    assert out.is_file()


def test_failed_export_leaves_no_file(tiny_model, tmp_path):
    bad = tmp_path / "bad"
    for c in ("a", "b"):  # the comparison clips cannot be read: the export fails at the end
        (bad / c).mkdir(parents=True)
        (bad / c / "x.mp4").write_bytes(b"not a video")
    out = tmp_path / "out" / "m.tflite"
    r = run("export", tiny_model, "--tflite", "--manifest", bad, "--out", out)
    assert r.exit_code == 1, r.output
    assert "could be read" in r.stderr and "Traceback" not in r.output
    assert not out.exists()
    assert not out.parent.exists() or not list(out.parent.iterdir())  # no temporary file


# -- 8. a missing path is a usage error (exit 2) ------------------------------------------------


def test_export_missing_model_exit_2(tmp_path):
    r = run("export", tmp_path / "nope.keras", "--tflite")
    assert r.exit_code == 2 and "nope.keras" in r.stderr and "Traceback" not in r.output
    r = run("export", tmp_path / "nope.keras", "--tflite", "--manifest", tmp_path / "none")
    assert r.exit_code == 2 and "Traceback" not in r.output
