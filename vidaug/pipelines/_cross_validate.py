"""Group k-fold cross-validation of training workflows, and their paired comparison.

Every clip is tested once per seed, by a model that never saw its source group (camera and
scene). Frozen-backbone workflows embed every clip (and its augmented views) once for all
folds and seeds; only the head is trained per fold, so a 5-fold × 3-seed run costs one
embedding pass plus seconds per head. Two workflows are compared on the same folds, clip by
clip, with a bootstrap over source groups (clips of one video are not independent).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidaug.datasets import ManifestRow, require_labels
from vidaug.datasets import class_names as row_classes
from vidaug.errors import VidaugError
from vidaug.training import TrainConfig, classification_report, group_kfold

__all__ = ["CVResult", "compare_cv", "cross_validate", "feature_bank", "row_groups"]


def row_groups(rows: Sequence[ManifestRow]) -> list[str]:
    """Each row's source group (``group`` column), or the row itself when it has none."""
    return [str(r.extra.get("group") or r.rel) for r in rows]


@dataclass
class CVResult:
    """What :func:`cross_validate` returns.

    Attributes:
        config: the workflow that ran.
        ids, groups: the clips (rows' ``rel``) and their source groups.
        y: true class index per clip; ``class_names`` the classes.
        probs: ``seed → (n_clips, n_classes)`` test probabilities (NaN where unreadable).
        folds: test positions of each fold.
        seconds: wall time.
    """

    config: TrainConfig
    ids: list[str]
    groups: list[str]
    y: np.ndarray
    class_names: list[str]
    probs: dict[int, np.ndarray] = field(default_factory=dict)
    folds: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0

    def correct(self, seed: int) -> np.ndarray:
        """``(n_clips,)`` 1.0 where seed ``seed`` got the clip right, 0.0 wrong, NaN unread."""
        p = self.probs[seed]
        out = (p.argmax(axis=1) == self.y).astype(np.float64)
        out[np.isnan(p).any(axis=1)] = np.nan
        return out

    def report(self, seed: int) -> dict[str, Any]:
        ok = ~np.isnan(self.probs[seed]).any(axis=1)
        return classification_report(
            self.y[ok], self.probs[seed][ok].argmax(axis=1), self.class_names
        )

    def _model_seed_std(self) -> float:
        if len(self.probs) < 2 or not self.folds:
            return 0.0
        acc = np.array([[np.nanmean(self.correct(s)[te]) for te in self.folds] for s in self.probs])
        return float(np.nanmean(acc.std(axis=0, ddof=1)))

    def summary(self) -> dict[str, Any]:
        """Mean, standard deviation (over seeds) and per-seed values of accuracy, macro F1
        and macro recall; the accuracy of the seeds' averaged probabilities; and
        ``model_seed_std``: how far one model's accuracy on cameras it never saw moves with the
        seed (the standard deviation over seeds of each fold's accuracy, averaged over folds;
        the seeds' std of the whole run averages k models, so it is smaller)."""
        reps = {s: self.report(s) for s in self.probs}
        out: dict[str, Any] = {"config": self.config.describe(), "seeds": list(self.probs)}
        for key in ("accuracy", "macro_f1", "macro_recall"):
            v = np.array([r[key] for r in reps.values()])
            out[key] = {
                "mean": float(v.mean()),
                "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                "per_seed": [round(float(x), 4) for x in v],
            }
        mean_p = np.mean(list(self.probs.values()), axis=0)
        ok = ~np.isnan(mean_p).any(axis=1)
        out["seed_ensemble_accuracy"] = float((mean_p[ok].argmax(1) == self.y[ok]).mean())
        out["model_seed_std"] = self._model_seed_std()
        out["clips"] = len(self.ids)
        out["groups"] = len(set(self.groups))
        out["folds"] = len(self.folds)
        out["seconds"] = round(self.seconds, 1)
        return out


def _bank_key(cfg: TrainConfig, seed: int = 0) -> tuple:
    """What a feature bank depends on; the views drawn (last) come from ``seed`` when there
    are any (an un-augmented bank is the same for every seed)."""
    views = max(cfg.views if cfg.recipe else 0, cfg.tta - 1)
    return (cfg.model, cfg.streams, cfg.frames, cfg.pair_gap, cfg.recipe, cfg.fps, cfg.finetune,
            seed if views else 0, views)  # fmt: skip


def feature_bank(
    model: Any,
    rows: Sequence[ManifestRow],
    names: Sequence[str],
    config: TrainConfig,
    on_embed: Callable[[int, int], None] | None = None,
    *,
    seed: int = 0,
    plain: tuple[np.ndarray, set[str]] | None = None,
) -> tuple[np.ndarray, set[str]]:
    """The frozen backbone's features of every clip and of its augmented views (drawn with
    ``seed``, as ``train_model`` with that seed draws them), computed once for all folds:
    ``(features (views + 1, clips, ...), rels that failed)``. ``plain``: the un-augmented
    bank of the same clips and model (``views`` 0), reused as view 0."""
    from vidaug.augment import as_recipe
    from vidaug.datasets import ClipDataset
    from vidaug.training import features_fn, input_spec

    n_views = _bank_key(config)[-1]
    spec = input_spec(model)
    recipe = as_recipe(config.recipe) if config.recipe and n_views else None
    ds = ClipDataset(
        rows, names, frames=spec["frames"], frame_size=spec["frame_size"], fps=config.fps,
        pair_gap=spec["pair_gap"], recipe=recipe, seed=seed, features=features_fn(model),
        views=n_views,
    )  # fmt: skip
    feats = ds.view_features(on_embed, plain=None if plain is None else plain[0][0])
    return feats, {r.rel for r in rows if r.rel in ds.failures} | (plain[1] if plain else set())


@contextmanager
def quiet_tf_logger() -> Iterator[None]:
    """Mute TensorFlow's Python logger below ERROR (its "triggered tf.function retracing"
    warnings: every fold predicts on a test set of another size), restoring it after."""
    logger = logging.getLogger("tensorflow")  # what tf.get_logger() returns
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _banks_by_seed(
    model: Any,
    rows: Sequence[ManifestRow],
    names: Sequence[str],
    config: TrainConfig,
    seeds: Sequence[int],
    banks: dict | None,
    say: Callable[[str], None],
    on_embed: Callable[[int, int], None] | None,
) -> Callable[[int], tuple[np.ndarray, set[str]]]:
    """``seed → feature bank`` of a frozen-backbone workflow. Augmented views are drawn with
    the training seed (as ``vidaug train --seed`` draws them), so the seeds' spread includes
    which views were drawn; ``banks`` keeps the un-augmented bank for other workflows of the
    same run (``compare``) and drops a seed's augmented bank once its folds are done, so memory
    holds one seed's views. The clips un-augmented (view 0) are embedded once: by another
    workflow of the run or by the first seed. ``on_embed`` counts every clip of every bank to
    embed."""
    banks = banks if banks is not None else {}
    keys = {s: _bank_key(config, s) for s in seeds}
    plain_cfg = config.model_copy(update={"recipe": None, "views": 1, "tta": 1})
    plain_key = _bank_key(plain_cfg)
    todo = len({k for k in keys.values() if k not in banks})
    done: list[int] = []

    def bank(seed: int) -> tuple[np.ndarray, set[str]]:
        key = keys[seed]
        if key not in banks:
            say(f"embedding {len(rows)} clips × {key[-1] + 1} views"
                + (f" (views of seed {seed})" if key[-1] else ""))  # fmt: skip
            base = len(done) * len(rows)
            count = (lambda d, _t: on_embed(base + d, todo * len(rows))) if on_embed else None
            plain = None
            if key[-1]:  # seed-specific views: only the current seed's in memory
                for k in [k for k in banks if k[:-2] == key[:-2] and k[-1] == key[-1]]:
                    del banks[k]
                plain = banks.get(plain_key)  # view 0, when another workflow embedded it
            banks[key] = feature_bank(model, rows, names, config, count, seed=key[-2],
                                      plain=plain)  # fmt: skip
            if key[-1]:  # its view 0 serves the next seeds (a copy: small)
                feats, failed = banks[key]
                banks.setdefault(plain_key, (feats[:1].copy(), failed))
            done.append(seed)
        return banks[key]

    return bank


@quiet_tf_logger()
def cross_validate(
    rows: Sequence[ManifestRow],
    config: TrainConfig,
    *,
    k: int = 5,
    seeds: Sequence[int] = (0, 1, 2),
    class_names: Sequence[str] | None = None,
    weights: Any = None,
    fold_seed: int = 0,
    on_progress: Callable[[str], None] | None = None,
    on_embed: Callable[[int, int], None] | None = None,
    on_fold: Callable[[int, int], None] | None = None,
    _banks: dict | None = None,
) -> CVResult:
    """Group k-fold cross-validation of one workflow.

    Args:
        rows: labelled rows; the ``group`` column (source video) keeps a group in one fold.
        config: the workflow.
        k: folds (every clip is tested once per seed).
        seeds: training seeds (head initialisation, data order, views drawn; the folds stay
            the same for every seed, and for every config with the same ``fold_seed``).
        class_names: class order (default: sorted labels).
        weights: MobileNetV2 weights file.
        fold_seed: seed of the fold assignment.
        on_progress: called with a line per fold.
        on_embed: called ``(done, total)`` after each clip of the embedding pass.
        on_fold: called ``(done, total)`` after each model fitted and tested (``total`` is
            ``k × len(seeds)``), for a progress bar with the time left.

    Raises:
        VidaugError: unlabeled rows, fewer groups than folds, no readable clip.
    """

    from vidaug.augment import as_recipe
    from vidaug.training import build_model, init_head, train_model

    config.check()
    rows = list(rows)
    require_labels(rows, "cross-validation")
    names = list(class_names) if class_names else row_classes(rows)
    lookup = {c: i for i, c in enumerate(names)}
    y = np.array([lookup[str(r.label)] for r in rows])
    groups = row_groups(rows)
    try:
        folds = group_kfold([r.label for r in rows], groups, k, seed=fold_seed)
    except ValueError as e:
        raise VidaugError(f"cross-validation: {e}") from None
    say = on_progress or (lambda _m: None)
    fits = iter(range(1, k * len(seeds) + 1))
    fitted = (lambda: on_fold(next(fits), k * len(seeds))) if on_fold else (lambda: None)
    recipe = as_recipe(config.recipe) if config.recipe else None
    res = CVResult(config, [r.rel for r in rows], groups, y, names, folds=folds)
    t0 = time.perf_counter()
    common = {**config.model_kwargs(), "weights": weights}

    if config.frozen_backbone:
        model = build_model(config.model, len(names), seed=0, **common)
        head = model.get_layer("head")
        bank = _banks_by_seed(model, rows, names, config, seeds, _banks, say, on_embed)
        train_views = config.views if recipe is not None else 0
        for seed in seeds:
            feats, failed = bank(seed)
            probs = np.full((len(rows), len(names)), np.nan)
            for f, te in enumerate(folds):
                tr = np.array([i for i in np.setdiff1d(np.arange(len(rows)), te)
                               if rows[i].rel not in failed], dtype=np.int64)  # fmt: skip
                init_head(head, seed)
                train_model(
                    model, [rows[i] for i in tr], class_names=names, recipe=recipe, seed=seed,
                    precomputed=feats[: train_views + 1][:, tr], **config.fit_kwargs(),
                )  # fmt: skip
                p = np.mean([np.asarray(head.predict_on_batch(feats[v][te]))
                             for v in range(config.tta)], axis=0)  # fmt: skip
                probs[te] = p
                say(f"seed {seed} fold {f + 1}/{len(folds)}: accuracy "
                    f"{float((p.argmax(1) == y[te]).mean()):.3f} on {len(te)} clips")  # fmt: skip
                fitted()
            probs[[i for i, r in enumerate(rows) if r.rel in failed]] = np.nan
            res.probs[seed] = probs
    else:
        _cv_end_to_end(res, rows, config, seeds, recipe, common, say, fitted)
    res.seconds = time.perf_counter() - t0
    return res


def _cv_end_to_end(
    res: CVResult,
    rows: list[ManifestRow],
    config: TrainConfig,
    seeds: Sequence[int],
    recipe: Any,
    common: dict[str, Any],
    say: Callable[[str], None],
    fitted: Callable[[], None],
) -> None:
    """:func:`cross_validate` of a model trained end to end (the seed CNN): a new model per
    fold and seed, tested on the fold's clips (``res.probs`` filled in place)."""
    import keras

    from vidaug.training import build_model, predict_rows, train_model

    names = res.class_names
    for seed in seeds:
        probs = np.full((len(rows), len(names)), np.nan)
        for f, te in enumerate(res.folds):
            tr = np.setdiff1d(np.arange(len(rows)), te)
            net = build_model(config.model, len(names), seed=seed, **common)
            train_model(net, [rows[i] for i in tr], class_names=names, recipe=recipe,
                        seed=seed, **config.fit_kwargs())  # fmt: skip
            p, pos, _fail = predict_rows(net, [rows[i] for i in te], names, fps=config.fps,
                                         tta=config.tta, recipe=recipe)  # fmt: skip
            probs[te[pos]] = p
            say(f"seed {seed} fold {f + 1}/{len(res.folds)}: accuracy "
                f"{float((p.argmax(1) == res.y[te[pos]]).mean()):.3f} on {len(pos)} clips")  # fmt: skip
            keras.backend.clear_session(free_memory=True)
            fitted()
        res.probs[seed] = probs


def compare_cv(a: CVResult, b: CVResult, *, n_boot: int = 5000, seed: int = 0) -> dict[str, Any]:
    """Paired comparison of two cross-validations of the same clips and folds: ``b − a``.

    The difference in accuracy is taken clip by clip and seed by seed (same folds, same
    seeds); its 95 % interval comes from a bootstrap that resamples source *groups* with
    replacement (clips of one video share camera and scene, so they are not independent).

    Returns:
        ``{"a", "b", "diff": {"mean", "ci95": [lo, hi], "p_b_better", "per_seed"}, "clips",
        "groups"}``.

    Raises:
        VidaugError: the two results are over different clips or folds.
    """
    if (
        a.ids != b.ids
        or len(a.folds) != len(b.folds)
        or any(not np.array_equal(x, y) for x, y in zip(a.folds, b.folds, strict=True))
    ):
        raise VidaugError("the two cross-validations must cover the same clips and folds")
    seeds = [s for s in a.probs if s in b.probs]
    if not seeds:
        raise VidaugError("the two cross-validations share no seed")
    d = np.stack([b.correct(s) - a.correct(s) for s in seeds])  # (seeds, clips)
    ok = ~np.isnan(d).any(axis=0)
    per_clip = d[:, ok].mean(axis=0)
    groups = np.asarray(a.groups)[ok]
    uniq, gidx = np.unique(groups, return_inverse=True)
    g_sum = np.bincount(gidx, weights=per_clip, minlength=len(uniq))
    g_n = np.bincount(gidx, minlength=len(uniq)).astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(uniq), size=(n_boot, len(uniq)))
    boot = g_sum[draws].sum(axis=1) / g_n[draws].sum(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {
        "a": a.summary(),
        "b": b.summary(),
        "diff": {
            "mean": float(per_clip.mean()),
            "ci95": [float(lo), float(hi)],
            "p_b_better": float((boot > 0).mean()),
            "per_seed": [round(float(x), 4) for x in np.nanmean(d, axis=1)],
        },
        "clips": int(ok.sum()),
        "groups": len(uniq),
    }
