"""Motion-aware training: frame pairs, RGB differences, cached augmented views, averaged
heads, test-time augmentation, workflows as config, and the paired cross-validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_clip, write_labelled_clips
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.errors import VidaugError
from vidaug.pipelines import CVResult, compare_cv
from vidaug.training import TrainConfig

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def labelled(tmp_path):
    """8 tiny clips of two classes that differ in motion: class b moves, class a does not."""
    from vidaug.datasets import write_clip

    root = tmp_path / "data"
    for i in range(4):
        still = np.repeat(make_clip(1, 48, 64, seed=i), 12, axis=0)
        moving = np.stack([np.roll(make_clip(1, 48, 64, seed=10 + i)[0], 4 * t, axis=1)
                           for t in range(12)])  # fmt: skip
        for c, clip in (("a", still), ("b", moving)):
            (root / c).mkdir(parents=True, exist_ok=True)
            write_clip(root / c / f"{c}{i}.mp4", clip, fps=10.0)
    return root


# -- frame pairs (no model) -------------------------------------------------------------------


def test_sample_pairs_interleaves_first_and_second_frames():
    from vidaug.datasets._keras import pair_gap_frames, sample_pairs

    idx = sample_pairs(20, 4, 3)
    assert idx.tolist() == [2, 5, 6, 9, 10, 13, 14, 17]
    assert np.all(idx[1::2] - idx[0::2] == 3)
    assert sample_pairs(2, 3, 4).tolist() == [0, 1, 0, 1, 0, 1]  # short clip: last frame
    assert pair_gap_frames(0.133, 30.0) == 4 and pair_gap_frames(0.133, 10.0) == 1
    assert pair_gap_frames(0.01, 10.0) == 1  # never the same frame twice
    with pytest.raises(ValueError):
        sample_pairs(10, 2, 0)


def test_frame_pairs_layer_computes_rgb_and_difference(tmp_path):
    import keras

    from vidaug.datasets import FramePairs

    x = np.zeros((1, 4, 2, 2, 3), np.float32)
    x[0, 1] = 10.0  # second frame of pair 0 is 10 brighter
    x[0, 2] = 100.0  # first frame of pair 1 is 100, its second 0
    inp = keras.Input((4, 2, 2, 3))
    rgb, diff = FramePairs(("rgb", "diff"), gap_seconds=0.2, diff_scale=4.0)(inp)
    model = keras.Model(inp, [rgb, diff])
    r, d = (np.asarray(t) for t in model(x))
    assert r.shape == d.shape == (1, 2, 2, 2, 3)
    assert np.all(r[0, 0] == 0) and np.all(r[0, 1] == 100)
    assert np.all(d[0, 0] == 40) and np.all(d[0, 1] == 255)  # |100 - 0| × 4 clipped
    model.save(tmp_path / "pairs.keras")
    again = keras.models.load_model(tmp_path / "pairs.keras")
    assert again.layers[1].gap_seconds == 0.2
    assert np.array_equal(np.asarray(again(x)[1]), d)
    with pytest.raises(ValueError, match="streams"):
        FramePairs(("depth",))


@pytest.mark.slow
def test_clip_dataset_embeds_each_view_once_and_draws_one_per_epoch(labelled):
    from vidaug.augment import load_recipe
    from vidaug.datasets import ClipDataset

    calls = []

    def feats(x):  # a stand-in backbone: mean colour of each frame
        calls.append(len(x))
        return x.mean(axis=(2, 3))

    ds = ClipDataset(labelled, frames=2, frame_size=32, recipe=load_recipe("camera").transform,
                     features=feats, views=3, pair_gap=0.2, seed=1, batch_size=4,
                     outputs=2)  # fmt: skip
    bank = ds.view_features()
    assert bank.shape == (4, 8, 4, 3)  # (views + 1, clips, 2 pairs = 4 frames, dims)
    assert sum(calls) == 4 * 8 and not ds.loader._clips  # each view once; no clip kept
    assert not np.allclose(bank[0], bank[1])  # views are augmented, view 0 is not
    x, ys = ds[0]
    assert x.shape == (4, 4, 3) and isinstance(ys, tuple) and len(ys) == 2  # one y per member
    picks = {tuple(ds._views_for(e)) for e in range(4)}
    assert len(picks) > 1  # a new draw of views each epoch
    ds.set_views(np.full(8, 2))
    assert np.all(ds._views_for(7) == 2)
    with pytest.raises(ValueError, match="view choice"):
        ds.set_views(np.full(8, 9))
    with pytest.raises(ValueError, match="recipe"):
        ClipDataset(labelled, features=feats, views=2)
    again = ClipDataset(labelled, frames=2, frame_size=32, recipe=load_recipe("camera").transform,
                        features=feats, views=3, pair_gap=0.2, seed=1)  # fmt: skip
    assert np.array_equal(again.view_features(), bank)  # same seed, same views


# -- workflows as config ----------------------------------------------------------------------


def test_train_config_parse_and_errors(tmp_path):
    c = TrainConfig.parse("model=motion recipe=camera views=3 tta=2 streams=rgb,diff")
    assert (c.model, c.recipe, c.views, c.tta, c.streams) == (
        "motion",
        "camera",
        3,
        2,
        ("rgb", "diff"),
    )
    assert c.describe() == "model=motion streams=rgb,diff recipe=camera views=3 tta=2"
    assert TrainConfig.parse("recipe=none").recipe is None
    assert TrainConfig.parse(c.model_dump()) == c
    f = tmp_path / "wf.yaml"
    f.write_text("model: seed\nepochs: 3\n")
    assert TrainConfig.parse(f).resolved_epochs == 3
    assert TrainConfig.parse("model=seed").resolved_epochs == 10
    with pytest.raises(VidaugError, match="colour"):
        TrainConfig.parse("colour=1")
    with pytest.raises(VidaugError, match="views"):
        TrainConfig.parse("views=0")
    with pytest.raises(VidaugError, match="key=value"):
        TrainConfig.parse("model")
    with pytest.raises(VidaugError, match="tta"):
        TrainConfig.parse("tta=3")
    with pytest.raises(VidaugError, match="no such config"):
        TrainConfig.parse(tmp_path / "missing.yaml")


def _result(correct_by_seed, groups, folds):
    n = len(groups)
    y = np.zeros(n, dtype=np.int64)
    res = CVResult(TrainConfig(), [f"c{i}" for i in range(n)], list(groups), y, ["x", "y"],
                   folds=folds)  # fmt: skip
    for s, correct in correct_by_seed.items():
        p = np.zeros((n, 2))
        p[np.arange(n), np.where(np.asarray(correct), 0, 1)] = 1.0
        res.probs[s] = p
    return res


def test_compare_cv_paired_difference_and_group_bootstrap():
    groups = [g for g in "abcdefghij" for _ in range(4)]  # 10 groups × 4 clips
    folds = [np.arange(0, 20), np.arange(20, 40)]
    rng = np.random.default_rng(0)
    base = rng.random(40) < 0.6
    better = base | (rng.random(40) < 0.5)  # b right wherever a is, and more
    a = _result({0: base, 1: base}, groups, folds)
    b = _result({0: better, 1: better}, groups, folds)
    out = compare_cv(a, b, n_boot=2000)
    gain = better.mean() - base.mean()
    assert out["diff"]["mean"] == pytest.approx(gain)
    lo, hi = out["diff"]["ci95"]
    assert 0 <= lo <= gain <= hi and out["diff"]["p_b_better"] > 0.95
    assert out["groups"] == 10 and out["clips"] == 40
    assert out["a"]["accuracy"]["mean"] == pytest.approx(base.mean())
    same = compare_cv(a, a)
    assert same["diff"]["mean"] == 0 and same["diff"]["ci95"] == [0.0, 0.0]
    other = _result({0: base}, groups, [np.arange(0, 10), np.arange(10, 40)])
    with pytest.raises(VidaugError, match="same clips and folds"):
        compare_cv(a, other)


def test_model_seed_std_is_the_fold_by_fold_spread_over_seeds():
    """Two seeds that swap which fold they get right: the run's accuracy is the same for both
    (std 0 over seeds) but one model's accuracy on a fold moves by 100 points."""
    groups = [g for g in "abcd" for _ in range(5)]
    folds = [np.arange(0, 10), np.arange(10, 20)]
    first = np.arange(20) < 10
    a = _result({0: first, 1: ~first}, groups, folds).summary()
    assert a["accuracy"]["std"] == 0 and a["model_seed_std"] == pytest.approx(np.sqrt(2) / 2 * 1.0)
    same = _result({0: first, 1: first}, groups, folds).summary()
    assert same["model_seed_std"] == 0
    assert _result({0: first}, groups, folds).summary()["model_seed_std"] == 0  # one seed


@pytest.mark.slow
@pytest.mark.parametrize("extra", ["", "streams=diff recipe=light tta=2"])
def test_cross_validate_seed_model_tests_every_clip_once(tmp_path, extra):
    from vidaug.datasets import load_rows
    from vidaug.pipelines import cross_validate

    rows = load_rows(write_labelled_clips(tmp_path / "d", per_class=3))
    cfg = TrainConfig.parse(f"model=seed frames=2 epochs=1 batch=4 {extra}")
    res = cross_validate(rows, cfg, k=2, seeds=[0])
    assert len(res.folds) == 2 and sorted(np.concatenate(res.folds).tolist()) == list(range(6))
    assert not np.isnan(res.probs[0]).any()
    assert 0.0 <= res.summary()["accuracy"]["mean"] <= 1.0


# -- the real model (needs the MobileNetV2 weights) --------------------------------------------


@pytest.mark.slow
def test_cli_motion_workflow_train_evaluate_compare(
    labelled, tmp_path, mobilenet_weights, monkeypatch
):
    monkeypatch.setenv("VIDAUG_WEIGHTS", str(mobilenet_weights))
    m = tmp_path / "motion.keras"
    r = run("train", labelled, "--model", "motion", "--recipe", "camera", "--views", "1",
            "--tta", "2", "--members", "2", "--epochs", "2", "--frames", "2", "--out", m,
            "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["workflow"] == "recommended"  # the default, its keys changed by the options
    want = "recommended model=motion frames=2 members=2 epochs=2 recipe=camera views=1 tta=2"
    assert TrainConfig.parse(s["config"]) == TrainConfig.parse(want)
    assert s["config"]["recipe"] == "camera" and "accuracy" in s["final"]
    assert "epoch 2/2" in r.stderr
    side = json.loads((tmp_path / "motion.keras.json").read_text())
    assert side["pair_gap"] == pytest.approx(0.133) and side["frames"] == 2
    r = run("evaluate", m, labelled, "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["tta"] == 2 and rep["n"] == 8
    r = run("evaluate", m, labelled, "--cv", "2", "--seeds", "0", "--epochs", "1", "--json")
    assert r.exit_code == 0, r.output
    cv = json.loads(r.stdout)["summary"]
    assert cv["clips"] == 8 and cv["folds"] == 2 and "tta=2" in cv["config"]
    from vidaug.mining import load_embedder

    with pytest.raises(VidaugError, match="motion between paired frames"):
        load_embedder(m)  # a clear refusal, not silently constant embeddings
    r = run("compare", labelled, "--cv", "2", "--seeds", "0,1",
            "-a", "model=motion frames=2 epochs=2 members=1",
            "-b", "model=motion frames=2 epochs=2 members=1 recipe=camera views=1 tta=2",
            "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["clips"] == 8 and len(out["diff"]["ci95"]) == 2
    assert out["a"]["config"] == "model=motion frames=2 members=1 epochs=2"
    r = run("compare", labelled, "-a", "model=motion tta=2")
    assert r.exit_code == 1 and "tta > 1 needs a recipe" in r.stderr


def test_cv_feature_banks_draw_views_with_each_training_seed(monkeypatch):
    """Augmented views of a frozen-backbone workflow come from the training seed (as `vidaug
    train --seed` draws them), so the seeds' spread covers which views were drawn; the
    un-augmented bank is shared by every seed, and one seed's views at a time stay in memory."""
    from vidaug.pipelines import _cross_validate as cv

    calls: list[tuple[int, int]] = []

    def fake_bank(model, rows, names, config, on_embed=None, *, seed=0, plain=None):
        for i in range(len(rows)):
            if on_embed:
                on_embed(i + 1, len(rows))
        views = max(config.views if config.recipe else 0, config.tta - 1)
        calls.append((seed, views, plain is not None))
        feats = np.full((views + 1, len(rows), 1), float(seed))
        if plain is not None:
            feats[0] = plain[0][0]
        return feats, set()

    monkeypatch.setattr(cv, "feature_bank", fake_bank)
    rows = list(range(3))
    counts: list[tuple[int, int]] = []

    def bank_of(text, banks):
        return cv._banks_by_seed(None, rows, ["a", "b"], TrainConfig.parse(text), [0, 1, 2],
                                 banks, lambda _m: None, lambda d, t: counts.append((d, t)))  # fmt: skip

    banks: dict = {}
    plain = bank_of("recommended-no-aug", banks)
    assert [float(plain(s)[0].max()) for s in (0, 1, 2)] == [0.0, 0.0, 0.0]
    assert calls == [(0, 0, False)] and counts[-1] == (3, 3)  # embedded once for all seeds
    aug = bank_of("recommended", banks)
    got = [aug(s)[0] for s in (0, 1, 2)]
    assert [float(f[1:].max()) for f in got] == [0.0, 1.0, 2.0]
    assert [float(f[0].max()) for f in got] == [0.0, 0.0, 0.0]  # view 0: the plain bank's
    assert calls[1:] == [(0, 4, True), (1, 4, True), (2, 4, True)]  # view 0 not embedded again
    assert counts[-1] == (9, 9)  # one progress total over the three seeds' banks
    assert len(banks) == 2  # the un-augmented bank + the last seed's views
    calls.clear()
    bank_of("recommended-no-aug", banks)(1)
    assert calls == []  # compare's workflow A and B share the un-augmented bank
    alone: dict = {}
    calls.clear()
    first = bank_of("recommended", alone)
    first(0), first(1)
    assert calls == [(0, 4, False), (1, 4, True)]  # the first seed's view 0 serves the next
