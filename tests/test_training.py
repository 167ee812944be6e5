"""vidaug.training and the Keras data pipelines: metrics, splits, ClipDataset, the hook, CLI."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import make_clip, save_tiny_embedder, write_labelled_clips
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.datasets import load_rows, write_clip
from vidaug.mining import DEFAULT_HARDNESS, HardnessResult
from vidaug.training._metrics import (
    classification_report,
    format_report,
    group_kfold,
    group_split,
    summarize_folds,
)

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


# -- metrics and splits (pure numpy) ----------------------------------------------------------


def test_classification_report_by_hand():
    # true:  a a a b b c ; pred: a a b b c c
    rep = classification_report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
    assert rep["accuracy"] == pytest.approx(4 / 6)
    assert rep["per_class"]["a"] == {"precision": 1.0, "recall": pytest.approx(2 / 3),
                                     "f1": pytest.approx(0.8), "support": 3}  # fmt: skip
    assert rep["per_class"]["b"]["precision"] == 0.5 and rep["per_class"]["b"]["recall"] == 0.5
    assert rep["per_class"]["c"]["precision"] == 0.5 and rep["per_class"]["c"]["recall"] == 1.0
    assert rep["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert rep["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    text = format_report(rep)
    assert "accuracy 0.667 on 6 clips" in text and "macro" in text


def test_classification_report_absent_class_is_left_out_of_macro():
    rep = classification_report([0, 0], [0, 1], ["a", "b"])
    assert rep["per_class"]["b"]["support"] == 0
    assert rep["macro_recall"] == pytest.approx(0.5)  # only class a counts


@pytest.mark.parametrize("fractions", [[0.7, 0.15, 0.15], [0.8, 0.2], [0.5, 0.5, 0.0]])
def test_group_split_keeps_groups_whole_and_stratifies(fractions):
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), rng.integers(1, 6, 40))
    labels = np.where(groups % 2 == 0, "x", "y")
    parts = group_split(labels, groups, fractions, seed=3)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(groups)))
    owner = {}
    for p, idx in enumerate(parts):
        for i in idx:
            assert owner.setdefault(groups[i], p) == p  # a group never straddles parts
    n = len(groups)
    for f, idx in zip(fractions, parts, strict=True):
        assert abs(len(idx) - f * n) <= 0.08 * n
        if f > 0:
            assert {labels[i] for i in idx} == {"x", "y"}


def test_group_kfold_and_summary():
    groups = np.repeat(np.arange(12), 3)
    labels = np.where(groups < 6, "a", "b")
    folds = group_kfold(labels, groups, 3)
    assert [len(f) for f in folds] == [12, 12, 12]
    with pytest.raises(ValueError, match="groups"):
        group_kfold(labels[:6], groups[:6], 3)
    s = summarize_folds([{"accuracy": 0.5, "macro_f1": 0.4, "macro_recall": 0.5},
                         {"accuracy": 0.7, "macro_f1": 0.6, "macro_recall": 0.7}])  # fmt: skip
    assert s["accuracy"]["mean"] == pytest.approx(0.6)
    assert s["accuracy"]["std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))


# -- data pipeline ----------------------------------------------------------------------------


@pytest.fixture
def labelled(tmp_path) -> Path:
    root = write_labelled_clips(tmp_path / "data", per_class=3)
    (root / "b" / "broken.mp4").write_bytes(b"not a video")
    return root


@pytest.mark.slow
def test_clip_dataset_batches_seeds_and_bad_clips(labelled):
    from vidaug.augment import load_recipe
    from vidaug.datasets import ClipDataset, clip_tf_dataset

    rec = load_recipe("standard").transform
    ds = ClipDataset(labelled, frames=4, frame_size=(24, 32), batch_size=4, recipe=rec, seed=5)
    assert len(ds) == 2 and ds.class_names == ["a", "b"]
    batches = [ds[b] for b in range(len(ds))]
    x, y = batches[0]
    assert x.shape == (4, 4, 24, 32, 3) and x.dtype == np.float32 and y.shape == (4, 2)
    assert np.all(y.sum(axis=1) == 1)
    # 7 rows: the broken one is skipped and the batch filled with the next clip of the order
    assert sum(len(b[1]) for b in batches) == 7
    assert list(ds.failures) == ["b/broken.mp4"]
    again = ClipDataset(labelled, frames=4, frame_size=(24, 32), batch_size=4, recipe=rec, seed=5)
    np.testing.assert_array_equal(again[0][0], x)  # same seed, same epoch → same batch
    ds.on_epoch_end()
    ds.on_epoch_end()
    assert not np.array_equal(ds[0][0], x)  # new epoch → new order / params
    tf_ds, loader = clip_tf_dataset(labelled, frames=4, frame_size=(24, 32), batch_size=3)
    got = list(tf_ds)
    assert sum(int(b[0].shape[0]) for b in got) == 6 and got[0][0].shape[1:] == (4, 24, 32, 3)
    assert "b/broken.mp4" in loader.failures


@pytest.mark.slow
def test_weighted_sampling_and_sample_weights(labelled):
    from vidaug.datasets import ClipDataset

    ds = ClipDataset(
        labelled, frames=2, frame_size=16, batch_size=7, sample_weight=True, shuffle=False
    )
    w = np.zeros(7)
    w[0] = 1.0
    ds.set_weights(w)
    ds.on_epoch_end()
    x, y, sw = ds[0]
    assert np.all(y[:, 0] == 1) and len(x) == 7  # only clip 0 is drawn
    assert sw.shape == (7,) and np.all(sw > 0)
    with pytest.raises(ValueError):
        ds.set_weights(np.full(7, -1.0))


def test_clip_loader_needs_labels(tmp_path):
    from vidaug.datasets import ClipLoader
    from vidaug.errors import VidaugError

    write_clip(tmp_path / "x.mp4", make_clip(4), fps=5.0)
    with pytest.raises(VidaugError, match="no label"):
        ClipLoader(tmp_path)


# -- models, hook, training -------------------------------------------------------------------


@pytest.mark.slow
def test_train_with_hook_changes_sampling_not_weights(labelled, tmp_path):
    from vidaug.augment import load_recipe
    from vidaug.datasets import ClipDataset
    from vidaug.training import (
        HardSampleMiningCallback,
        build_seed_classifier,
        evaluate_model,
        load_with_meta,
        save_classifier,
        train_model,
    )

    rows = load_rows(labelled)
    model = build_seed_classifier(2, frame_size=24, frames=4)
    log = tmp_path / "hook.jsonl"
    res = train_model(model, rows, epochs=2, batch_size=4, recipe=load_recipe("light").transform,
                      log_path=log, seed=1)  # fmt: skip
    assert len(res.hook) == 2 and "hard_clips" in res.history
    assert list(res.failures) == ["b/broken.mp4"]
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2]
    weights = lines[-1]["weights"]
    assert weights["b/broken.mp4"] == 0.0  # unreadable clips are never drawn again
    assert sum(x["hard_clips"] + x["label_suspects"] for x in lines) > 0
    assert any(len(set(x["weights"].values()) - {0.0}) > 1 for x in lines)  # re-weighted

    # the callback only reads the model
    ds = ClipDataset(rows, frames=4, frame_size=24, batch_size=4)
    cb = HardSampleMiningCallback(ds, every=1, cap=4.0)
    cb.set_model(res.model)
    before = [w.copy() for w in res.model.get_weights()]
    cb.on_train_begin()
    cb.on_epoch_end(0, logs := {})
    assert all(np.array_equal(a, b) for a, b in zip(before, res.model.get_weights(), strict=True))
    assert {"hard_clips", "label_suspects", "reweighted"} <= set(logs)
    assert ds.loader.weights.max() <= 4.0 * ds.loader.weights.mean() * 2
    cb.on_train_begin()  # resets sampling
    assert np.all(ds.loader.weights == 1.0)

    report = evaluate_model(res.model, rows, res.class_names)
    assert report["n"] == 6 and len(report["confusion"]) == 2
    p = save_classifier(res.model, tmp_path / "m.keras", {"class_names": res.class_names})
    again, meta = load_with_meta(p)
    assert meta["class_names"] == ["a", "b"] and meta["frames"] == 4
    assert evaluate_model(again, rows, res.class_names)["accuracy"] == report["accuracy"]


def _scores(ids, fixed):
    """score_hardness-like rows: fixed[id] = (is_hard, hard_score, is_label_suspect)."""
    return [
        {"id": i, "is_hard": fixed.get(i, (False, 0.1, False))[0],
         "hard_score": fixed.get(i, (False, 0.1, False))[1],
         "is_label_suspect": fixed.get(i, (False, 0.1, False))[2],
         "label_suspect_score": 0.9}
        for i in ids
    ]  # fmt: skip


def test_hook_weights_rule():
    """Hard clips up to ``cap``; a suspect is held back only when it is one twice in a row."""
    from vidaug.training import hook_weights

    ids = ["a0", "a1", "a2", "b0", "b1", "b2", "broken"]
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    fixed = {"a0": (True, 1.0, False), "a1": (False, 0.2, True)}
    scores = _scores(ids[:-1], fixed)
    w, hard, suspects, held = hook_weights(scores, ids, labels, cap=3.0, suspect_weight=0.1,
                                           max_suspects=0.5)  # fmt: skip
    assert hard == ["a0"] and suspects == ["a1"] and held == []  # first time: not held back
    assert w[0] == pytest.approx(3.0 * w[2]) and w[1] == pytest.approx(w[2])
    assert w[-1] == 0.0 and w.sum() == pytest.approx(6.0)  # mean 1 over the readable clips
    w, _, _, held = hook_weights(scores, ids, labels, cap=3.0, suspect_weight=0.1,
                                 max_suspects=0.5, previous_suspects={"a1"})  # fmt: skip
    assert held == ["a1"] and w[1] == pytest.approx(0.1 * w[2])


def test_hook_weights_lift_a_collapsed_model():
    """A model that calls every clip of one class wrong: that class gets up to cap× draws."""
    from vidaug.training import hook_weights

    ids = [f"a{i}" for i in range(4)] + [f"b{i}" for i in range(4)]
    labels = np.array([0] * 4 + [1] * 4)
    scores = _scores(ids, {f"b{i}": (True, 1.0, False) for i in range(4)})
    w, *_ = hook_weights(scores, ids, labels, cap=3.0)
    assert w[4:].sum() == pytest.approx(3.0 * w[:4].sum())


def test_hook_weights_cap_suspects_per_class():
    """A model's lean makes many suspects of one class: at most max_suspects are held back."""
    from vidaug.training import hook_weights

    ids = [f"a{i}" for i in range(10)] + ["b0"]
    labels = np.array([0] * 10 + [1])
    scores = _scores(ids, {f"a{i}": (False, 0.5, True) for i in range(5)})
    for r, s in zip(scores[:5], (0.6, 0.9, 0.7, 0.8, 0.5), strict=True):
        r["label_suspect_score"] = s
    _, _, suspects, held = hook_weights(scores, ids, labels, max_suspects=0.1,
                                        previous_suspects=set(suspects := ids[:5]))  # fmt: skip
    assert len(suspects) == 5 and held == ["a1"]  # only the most suspect one


@pytest.mark.slow
def test_hook_callback_applies_the_rule(labelled):
    """The callback scores, applies hook_weights, logs, and skips the warm-up epochs."""
    import keras

    from vidaug.datasets import ClipDataset
    from vidaug.training import HardSampleMiningCallback

    ds = ClipDataset(labelled, frames=2, frame_size=16)
    ids = [r.rel for r in ds.rows]  # a/a0 a/a1 a/a2 b/b0 b/b1 b/b2 b/broken
    fixed = {"a/a0.mp4": (True, 1.0, False), "a/a1.mp4": (False, 0.2, True)}
    cb = HardSampleMiningCallback(ds, cap=3.0, suspect_weight=0.1, max_suspects=0.5, warmup=1)
    cb.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    cb.score = lambda: HardnessResult(
        config=DEFAULT_HARDNESS, _rows=_scores([i for i in ids if i != "b/broken.mp4"], fixed)
    )
    cb.on_train_begin()
    cb.on_epoch_end(0, logs := {})
    assert logs == {} and not cb.history  # warm-up: nothing scored
    cb.on_epoch_end(1, logs := {})
    w = dict(zip(ids, ds.loader.weights, strict=True))
    assert w["a/a0.mp4"] == pytest.approx(3.0 * w["a/a2.mp4"])  # hard_score 1 → cap
    assert w["b/broken.mp4"] == 0.0
    assert logs == {"hard_clips": 1.0, "label_suspects": 1.0, "reweighted": 7.0}  # all rates moved
    cb.on_epoch_end(2, {})
    w = dict(zip(ids, ds.loader.weights, strict=True))
    assert w["a/a1.mp4"] == pytest.approx(0.1 * w["a/a2.mp4"])  # a suspect twice: held back
    assert cb.history[-1]["held_back"] == ["a/a1.mp4"]
    cb.on_epoch_end(3, {})
    assert cb.history[-1]["reweighted"] == 0  # same scores, nothing changes


@pytest.mark.slow
def test_cli_train_evaluate_export(labelled, tmp_path):
    m = tmp_path / "m.keras"
    r = run("train", labelled, "--model", "seed", "--hook", "--epochs", "1", "--frames", "2",
            "--out", m, "--json")  # fmt: skip
    assert r.exit_code == 1, r.output  # results and model first, then exit 1: a clip skipped
    s = json.loads(r.stdout)
    assert s["class_names"] == ["a", "b"] and "accuracy" in s["final"] and m.is_file()
    assert "broken" in r.stderr  # the unreadable clip is reported, not fatal
    out = tmp_path / "metrics.json"
    r = run("evaluate", m, labelled, "--out", out)
    assert r.exit_code == 1, r.output  # the same: metrics of the rest, then exit 1
    assert "accuracy" in r.stdout and "confusion" in r.stdout
    rep = json.loads(out.read_text())
    assert rep["n"] == 6 and set(rep["per_class"]) == {"a", "b"}
    emb = save_tiny_embedder(tmp_path / "emb.keras")
    r = run("mine-hard", labelled, "--embedder", emb, "--classifier", m, "--k", "2", "--json")
    assert r.exit_code == 1 and "broken" in r.stderr  # results for the rest, then exit 1
    rows = json.loads(r.stdout)
    assert len(rows) == 6 and all({"loss", "margin", "misclassified"} <= set(x["evidence"])
                                  for x in rows)  # fmt: skip
    r = run("export", m, "--tflite", "--manifest", labelled, "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["tflite_bytes"] > 0 and info["agreement"] == 1.0
    assert Path(info["tflite"]).is_file()


@pytest.mark.slow
def test_cli_train_bad_input(tmp_path, labelled):
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(labelled / "a" / "a0.mp4", flat / "x.mp4")
    r = run("train", flat, "--epochs", "1")
    assert r.exit_code == 1 and "label" in r.stderr and "Traceback" not in r.output
    one = tmp_path / "one"
    shutil.copytree(labelled / "a", one / "a")
    r = run("train", one, "--epochs", "1")
    assert r.exit_code == 2 and "2 classes" in r.stderr
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"junk")
    r = run("evaluate", bad, labelled)
    assert r.exit_code == 1 and "not a Keras model" in r.stderr
    r = run("evaluate", tmp_path / "missing.keras", labelled)
    assert r.exit_code == 1 and "no such model" in r.stderr
    m = tmp_path / "m.keras"
    assert (
        run(
            "train", labelled, "--model", "seed", "--epochs", "1", "--frames", "2", "--out", m
        ).exit_code
        == 1  # trained and saved; exit 1: the broken clip was skipped
    )
    r = run("evaluate", m, labelled, "--split", "test")
    assert r.exit_code == 1 and "no clips in split 'test'" in r.stderr
    more = tmp_path / "more.keras"  # a continued model records no config it did not build
    assert run("train", labelled, "--model", m, "--epochs", "1", "--out", more).exit_code == 1
    side = json.loads((tmp_path / "more.keras.json").read_text())
    assert "config" not in side and side["continued"] == str(m)
    r = run("evaluate", more, labelled, "--cv", "2")
    assert r.exit_code == 1 and "records the workflow" in r.stderr


# -- curation -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_curate(tmp_path):
    data = write_labelled_clips(tmp_path / "data", per_class=5)
    shutil.copy(data / "a" / "a0.mp4", data / "a" / "a0_copy.mp4")  # an exact duplicate
    emb = save_tiny_embedder(tmp_path / "emb.keras")
    out = tmp_path / "cur"
    r = run("curate", data, out, "--dedup", "--mine-hard", "--copies", "1", "--recipe", "light",
            "--split", "0.6,0.2,0.2", "--embedder", emb, "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    cur = json.loads((out / "curation.json").read_text())
    assert [d["clip"] for d in cur["dropped"]] == ["a/a0_copy.mp4"]
    from vidaug.mining import DEFAULT_DEDUP

    assert cur["options"]["dedup_config"] == dataclasses.asdict(DEFAULT_DEDUP)  # all 7 settings
    originals = [x for x in rows if x["kind"] == "original"]
    assert len(originals) == 10 and {x["split"] for x in originals} == {"train", "val", "test"}
    augmented = [x for x in rows if x["kind"] == "augmented"]
    assert augmented and all(x["split"] == "train" for x in augmented)  # only train augmented
    n_train = sum(x["split"] == "train" for x in originals)
    assert len(augmented) >= n_train  # one copy each, more for hard clips
    assert len(cur["added"]) == len(augmented)
    for x in rows:
        assert (out / x["path"]).is_file()
    # the curated manifest trains directly
    assert {r.split for r in load_rows(out / "manifest.jsonl")} == {"train", "val", "test"}
    r = run("curate", data, out, "--embedder", emb)
    assert r.exit_code == 2 and "not empty" in r.stderr  # a usage problem (issue 11 §3)


def test_cli_curate_bad_input(tmp_path):
    r = run("curate", tmp_path / "nope", tmp_path / "out")
    assert r.exit_code == 2 and "nope" in r.stderr and "Traceback" not in r.output
    data = write_labelled_clips(tmp_path / "data", per_class=2)
    r = run("curate", data, tmp_path / "o2", "--split", "zero")
    assert r.exit_code == 2 and "--split" in r.stderr
    one = tmp_path / "one"
    shutil.copytree(data / "a", one / "a")
    r = run("curate", one, tmp_path / "o3")
    assert r.exit_code == 1 and "one class" in r.stderr


@pytest.mark.slow
def test_same_seed_same_model(labelled):
    """Seeded build + training (with on-the-fly augmentation and the hook) is reproducible."""
    from vidaug.augment import load_recipe
    from vidaug.training import build_model, train_model

    rows = load_rows(labelled)
    weights = []
    for _ in range(2):
        model = build_model("seed", 2, frames=2, frame_size=16, seed=4)
        res = train_model(model, rows, epochs=2, batch_size=4, seed=4,
                          recipe=load_recipe("light").transform)  # fmt: skip
        weights.append(np.concatenate([w.ravel() for w in res.model.get_weights()]))
    np.testing.assert_array_equal(weights[0], weights[1])
    other = build_model("seed", 2, frames=2, frame_size=16, seed=5)
    assert not np.array_equal(np.concatenate([w.ravel() for w in other.get_weights()])[:50],
                              weights[0][:50])  # fmt: skip


@pytest.mark.slow
def test_trained_classifier_is_a_mining_embedder(labelled, tmp_path):
    """`vidaug embed --model CLASSIFIER.keras`: frames embedded through the classifier's
    embedding layer (a frame held for the whole clip)."""
    from vidaug.mining import load_embedder
    from vidaug.training import build_seed_classifier, save_classifier

    model = build_seed_classifier(2, frame_size=24, frames=4)
    p = save_classifier(model, tmp_path / "m.keras", {"class_names": ["a", "b"]})
    emb = load_embedder(p)
    assert emb.dims == 64 and emb.input_size == (24, 24)
    frames = np.random.default_rng(0).integers(0, 256, (3, 24, 24, 3)).astype(np.float32)
    v = emb(frames)
    assert v.shape == (3, 64)
    clip = np.repeat(frames[:1, None], 4, axis=1)  # frame 0 held for the whole clip
    import keras

    ref = keras.Model(model.input, model.get_layer("embedding").output)(clip).numpy()[0]
    np.testing.assert_allclose(v[0], ref / np.linalg.norm(ref), rtol=1e-4, atol=1e-5)
    r = run("embed", labelled, "--out", tmp_path / "ix", "--embedder", p, "--frames", "2", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["dims"] == 64  # exit 1: the broken clip


def test_hard_copies_keep_the_class_balance():
    """issue 9: 46 of 57 hard clips were noFight, and the curated train set went from 68/71 to
    79/117. Extra copies are now shared by class size, hardest clips first."""
    from vidaug.pipelines._curate import _balanced_extra_copies

    scored = [{"id": f"n{i}", "label": "noFight", "hard_score": 1 - i / 100,
               "is_label_suspect": False} for i in range(71)]  # fmt: skip
    scored += [{"id": f"f{i}", "label": "fight", "hard_score": 0.3 - i / 1000,
                "is_label_suspect": i == 0} for i in range(68)]  # fmt: skip
    hard = {f"n{i}": 1.0 for i in range(46)} | {f"f{i}": 0.6 for i in range(1, 12)}
    extra = _balanced_extra_copies(scored, hard, hard_copies=2)
    per_class = {c: sum(n for k, n in extra.items() if k[0] == c[0]) for c in ("noFight", "fight")}
    assert sum(per_class.values()) == 2 * 57
    assert per_class["noFight"] == round(114 * 71 / 139) and per_class["fight"] == round(
        114 * 68 / 139
    )
    assert "f0" not in extra  # a label suspect gets no copy
    assert set(extra) <= set(hard)  # only hard clips, the hardest first
    assert extra["n0"] >= extra["n45"]
    assert _balanced_extra_copies(scored, {}, 2) == {}


def test_curate_without_a_model_does_not_start_tensorflow(tmp_path):
    """issue 10 §1: `vidaug curate` imported TensorFlow (≈ 4.7 s) even with no model to run."""
    import subprocess
    import sys

    data = write_labelled_clips(tmp_path / "data", per_class=3)
    code = (
        "import sys; from typer.testing import CliRunner; from vidaug.cli import app; "
        f"r = CliRunner().invoke(app, ['curate', {str(data)!r}, {str(tmp_path / 'out')!r}, "
        "'--copies', '1', '--recipe', 'light', '--split', '0.5,0.25,0.25']); "
        "print(r.exit_code, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False", "False"], out.stdout + out.stderr
