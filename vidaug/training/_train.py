"""Training and evaluation loops over manifest rows (what ``vidaug train / evaluate`` call)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from vidaug.augment import RecipeLike
from vidaug.datasets import (
    ClipDataset,
    ManifestRow,
    atomic_path,
    atomic_write_text,
    require_classes,
    require_labels,
)
from vidaug.datasets import class_names as row_classes
from vidaug.errors import VidaugError
from vidaug.training._callbacks import HardSampleMiningCallback
from vidaug.training._metrics import classification_report
from vidaug.training._models import (
    _compile,
    build_classifier,
    build_seed_classifier,
    head_of,
    input_spec,
    load_classifier,
    member_outputs,
)

__all__ = [
    "DEFAULT_EPOCHS",
    "FINETUNE_EPOCHS",
    "MODEL_KINDS",
    "TrainResult",
    "build_model",
    "evaluate_model",
    "features_fn",
    "init_head",
    "predict_rows",
    "save_classifier",
    "train_model",
]


@dataclass
class TrainResult:
    """What :func:`train_model` returns.

    Attributes:
        model: the trained full model (clips in, probabilities out).
        class_names: the output classes.
        history: Keras' ``History.history`` (per-epoch metrics, plus the hook's counts).
        hook: the hook's records (one per scoring), empty without the hook.
        failures: clips that could not be read (``rel → message``), skipped.
        seconds: wall time of ``fit``; ``hook_seconds``: of which the hook.
    """

    model: keras.Model
    class_names: list[str]
    history: dict[str, list[float]]
    hook: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    hook_seconds: float = 0.0


#: Model kinds :func:`build_model` makes, and the streams of the frozen-backbone ones.
MODEL_KINDS = ("seed", "mobilenet_v2", "motion")
_STREAMS = {"mobilenet_v2": ("rgb",), "motion": ("diff",)}
#: Default epochs: the seed CNN learns its frames end to end; the frozen-backbone models fit a
#: head on cached features (seconds an epoch), which needs more passes.
DEFAULT_EPOCHS = {"seed": 10, "mobilenet_v2": 40, "motion": 40}
#: Default epochs when the top blocks are fine-tuned too (they learn at a tenth of the rate).
FINETUNE_EPOCHS = 20


def build_model(
    kind: str,
    num_classes: int,
    *,
    frames: int = 8,
    frame_size: int | None = None,
    weights=None,
    seed: int | None = None,
    streams: Sequence[str] | None = None,
    pair_gap: float = 0.133,
    members: int = 1,
    finetune: int = 0,
    learning_rate: float | None = None,
) -> keras.Model:
    """``seed`` (:func:`build_seed_classifier`, 64 px), ``mobilenet_v2`` (frozen
    MobileNetV2 on the frames, 224 px) or ``motion`` (frozen MobileNetV2 on RGB differences of
    frame pairs ``pair_gap`` seconds apart, 224 px); see :func:`build_classifier`.

    With ``seed``, the initial weights are reproducible: Keras' random state is seeded before
    the layers are made, and the head of a frozen-backbone model is initialised from ``seed``
    alone (:func:`init_head`), as cross-validation does.

    Args:
        frame_size: input frames are ``frame_size × frame_size`` (default 64 for ``seed``,
            224 otherwise).
        streams: override the model's streams (``rgb`` / ``diff``; the seed CNN too).
        members: averaged softmax heads (frozen-backbone models).
        finetune: MobileNetV2 blocks trained too (frozen-backbone models; see
            :func:`~vidaug.training.build_classifier`).
        learning_rate: Adam's (default 1e-3; 1e-4 with ``finetune``).
    """
    if kind not in MODEL_KINDS:
        raise VidaugError(f"unknown model {kind!r}: use {', '.join(MODEL_KINDS)} or a .keras file")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if kind == "seed":
        return build_seed_classifier(num_classes, frame_size=frame_size or 64, frames=frames,
                                     streams=tuple(streams or ("rgb",)), pair_gap=pair_gap)  # fmt: skip
    model = build_classifier(
        num_classes, "mobilenet_v2", frames=frames, frame_size=frame_size or 224, weights=weights,
        streams=tuple(streams or _STREAMS[kind]), pair_gap=pair_gap, members=members,
        finetune=finetune, learning_rate=learning_rate or (1e-4 if finetune else 1e-3),
    )  # fmt: skip
    if seed is not None:
        init_head(model.get_layer("head"), seed)
    return model


def init_head(head: keras.Model, seed: int) -> None:
    """Draw new initial weights for every layer of ``head`` from ``seed`` (in place); the
    fine-tuned blocks of a ``finetune`` model go back to their pretrained weights."""
    keras.utils.set_random_seed(seed)
    top_init = getattr(head, "_vidaug_top_init", None)
    if top_init is not None:
        top_init[0].set_weights(top_init[1])
    for layer in head.layers:
        for attr in ("kernel", "bias"):
            var = getattr(layer, attr, None)
            init = getattr(layer, f"{attr}_initializer", None)
            if var is not None and init is not None:
                var.assign(init(var.shape, dtype=var.dtype))


def _check_rows(rows: Sequence[ManifestRow], what: str) -> None:
    if not rows:
        raise VidaugError(f"the {what} split is empty")
    require_labels(rows, f"the {what} split")


def features_fn(model: keras.Model) -> Callable[[np.ndarray], np.ndarray] | None:
    """The frozen backbone of a :func:`build_classifier` model as a numpy function (clips →
    ``(B, frames, dims)`` features), or None for other models."""
    split = head_of(model)
    if split is None:
        return None
    features_model = split[0]

    def feats(x: np.ndarray) -> np.ndarray:
        return np.asarray(features_model.predict_on_batch(x))

    return feats


def train_model(
    model: keras.Model,
    train_rows: Sequence[ManifestRow],
    *,
    val_rows: Sequence[ManifestRow] | None = None,
    class_names: Sequence[str] | None = None,
    epochs: int = 10,
    batch_size: int = 8,
    recipe: RecipeLike | None = None,
    views: int = 4,
    hook: bool = True,
    hook_every: int = 1,
    hook_warmup: int = 0,
    hook_views: str = "random",
    seed: int = 0,
    fps: float | None = None,
    log_path: str | os.PathLike | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    precomputed: np.ndarray | None = None,
    on_embed: Callable[[int, int], None] | None = None,
    verbose: int = 0,
) -> TrainResult:
    """Fit a video classifier on manifest rows.

    A model from :func:`build_classifier` runs its frozen backbone once per clip and view
    and fits its head on the cached features (minutes on a CPU): with a recipe, each clip
    gets ``views`` augmented views embedded once, and every epoch draws one view per clip.
    Other models (the seed CNN) are augmented on the fly, a new view each epoch.

    Steps: the classes (:func:`_train_classes`), what Keras fits (:func:`_fit_plan`), the
    datasets (:func:`_datasets`), the callbacks (:func:`_train_callbacks`), every training
    clip read or embedded before the first epoch (:func:`_load_training_clips`), ``fit``.

    Args:
        model: a compiled classifier (input ``(batch, frames, H, W, 3)``).
        train_rows: labelled training rows.
        val_rows: optional validation rows (metrics get a ``val_`` prefix).
        class_names: class order (default: sorted training labels).
        epochs: epochs.
        batch_size: clips per batch.
        recipe: the augmentation of training clips (or None): a preset name, a YAML path, a
            :class:`~vidaug.augment.Recipe` or a transform (:func:`~vidaug.augment.as_recipe`).
        views: augmented views per clip for frozen-backbone models (with a recipe, ≥ 1).
        hook: add :class:`HardSampleMiningCallback` (every ``hook_every`` epochs, from epoch
            ``hook_warmup + 1`` on; ``hook_views="worst"`` trains on each clip's hardest
            cached view).
        seed: seeds Keras (dropout), the data order, the views drawn and the augmentation.
        fps: decode clips at this rate (less memory); None keeps every frame.
        log_path: the hook's JSONL log.
        callbacks: more Keras callbacks (they run after the hook, so they see its counts).
        precomputed: the train rows' features, ``(views + 1, len(train_rows), …)``, when
            already computed (cross-validation embeds every clip once for all folds).
        on_embed: called ``(done, total)`` after each clip while a frozen backbone embeds
            the training clips (before the first epoch).
        verbose: Keras' verbosity.

    Raises:
        UsageError: the train split has a single class.
        VidaugError: empty split, unlabeled clips; fewer than 2 classes with readable clips
            (every training clip is read or embedded before the first epoch).
    """
    names = _train_classes(train_rows, class_names)
    keras.utils.set_random_seed(seed)
    plan = _fit_plan(model, recipe, views)
    train, val = _datasets(
        model, plan, train_rows, val_rows, names, batch_size=batch_size, recipe=recipe,
        seed=seed, fps=fps, precomputed=precomputed,
    )  # fmt: skip
    miner = None
    if hook:
        miner = HardSampleMiningCallback(
            train, every=hook_every, warmup=hook_warmup, views=hook_views, log_path=log_path,
            scoring_model=plan.head,
        )  # fmt: skip
    cbs = _train_callbacks(plan, miner, callbacks)
    t0 = time.perf_counter()
    _load_training_clips(train, on_embed)
    hist = plan.fit_model.fit(
        train, validation_data=val, epochs=epochs, callbacks=cbs, verbose=verbose
    )
    seconds = time.perf_counter() - t0
    failures = dict(train.failures)
    if val is not None:
        failures.update(val.failures)
    if len(failures) == len(train_rows):
        raise VidaugError("none of the training clips could be read")
    return TrainResult(
        model=model,
        class_names=names,
        history={k: [float(v) for v in vs] for k, vs in hist.history.items()},
        hook=miner.history if miner else [],
        failures=failures,
        seconds=seconds,
        hook_seconds=miner.seconds if miner else 0.0,
    )


def _train_classes(
    train_rows: Sequence[ManifestRow], class_names: Sequence[str] | None
) -> list[str]:
    """The class order (default: the sorted training labels) once the train split is
    usable: not empty, labelled, at least 2 classes.

    Raises:
        UsageError: a single class.
        VidaugError: an empty split or unlabeled clips.
    """
    _check_rows(train_rows, "train")
    present = require_classes(train_rows)
    names = list(class_names) if class_names else present
    return names


@dataclass(frozen=True)
class _FitPlan:
    """What Keras fits: the whole model, or for a frozen-backbone model its head on cached
    features.

    Attributes:
        fit_model: the model ``fit`` runs (the head's members' outputs for a frozen backbone).
        outputs: its outputs (one per head member).
        views: cached augmented views per clip (0: none).
        features: the frozen backbone as a numpy function, or None.
        head: the head (the hook scores with it), or None.
    """

    fit_model: keras.Model
    outputs: int = 1
    views: int = 0
    features: Callable[[np.ndarray], np.ndarray] | None = None
    head: keras.Model | None = None


def _fit_plan(model: keras.Model, recipe: RecipeLike | None, views: int) -> _FitPlan:
    """The :class:`_FitPlan` of ``model``; a frozen backbone's head is compiled here.

    Raises:
        VidaugError: ``views`` < 1 with a recipe for a frozen-backbone model.
    """
    split = head_of(model)
    if split is None:
        return _FitPlan(model)
    head = split[1]
    _compile(head, float(head.optimizer.learning_rate.numpy()) if head.optimizer else 1e-3)
    fit_model = member_outputs(head)
    if recipe is not None and views < 1:
        raise VidaugError("views must be ≥ 1 to train a frozen-backbone model with a recipe")
    return _FitPlan(
        fit_model, outputs=len(fit_model.outputs), views=views if recipe is not None else 0,
        features=features_fn(model), head=head,
    )  # fmt: skip


def _datasets(
    model: keras.Model,
    plan: _FitPlan,
    train_rows: Sequence[ManifestRow],
    val_rows: Sequence[ManifestRow] | None,
    names: list[str],
    *,
    batch_size: int,
    recipe: RecipeLike | None,
    seed: int,
    fps: float | None,
    precomputed: np.ndarray | None,
) -> tuple[ClipDataset, ClipDataset | None]:
    """The training dataset (augmented, shuffled) and the validation one, if any.

    Raises:
        VidaugError: an empty or unlabeled validation split.
    """
    spec = input_spec(model)
    common = dict(frames=spec["frames"], frame_size=spec["frame_size"], fps=fps,
                  pair_gap=spec["pair_gap"], features=plan.features, outputs=plan.outputs,
                  batch_size=batch_size)  # fmt: skip
    train = ClipDataset(train_rows, names, recipe=recipe, seed=seed, views=plan.views,
                        precomputed=precomputed, **common)  # fmt: skip
    val = None
    if val_rows:
        _check_rows(val_rows, "validation")
        val = ClipDataset(val_rows, names, shuffle=False, **common)
    return train, val


def _train_callbacks(
    plan: _FitPlan,
    miner: HardSampleMiningCallback | None,
    callbacks: Sequence[keras.callbacks.Callback],
) -> list[keras.callbacks.Callback]:
    """The member means (several head members), the hook, then the caller's callbacks."""
    cbs: list[keras.callbacks.Callback] = [_MemberMeans()] if plan.outputs > 1 else []
    if miner is not None:
        cbs.append(miner)
    cbs.extend(callbacks)
    return cbs


def _load_training_clips(train: ClipDataset, on_embed: Callable[[int, int], None] | None) -> None:
    """Every training clip embedded by the frozen backbone (a cached dataset) or decoded once
    (kept for the first epoch), before Keras' first step, so the unreadable ones are known.

    Raises:
        VidaugError: the readable clips cover fewer than 2 classes (:func:`_check_readable`).
    """
    if train.cached:
        train.view_features(on_embed)
    else:
        _read_all(train)
    _check_readable(train)


def _read_all(ds: ClipDataset) -> None:
    """Decode every clip of ``ds`` once (the loader caches them for the first epoch and records
    the clips that cannot be read)."""
    for i in range(len(ds.rows)):
        try:
            ds.loader.load(i)
        except VidaugError:
            continue


def _check_readable(ds: ClipDataset) -> None:
    """Refuse to train when the readable clips do not cover at least 2 classes.

    Raises:
        VidaugError: one line: how many clips could not be read, and which classes they left
            without any clip (with one of the read errors).
    """
    ok = {str(ds.rows[i].label) for i in ds.readable()}
    if len(ok) >= 2:
        return
    bad = ds.failures
    example = next(iter(bad.values()), "?")
    if not ok:
        raise VidaugError(
            f"none of the {len(ds.rows)} training clips could be read (e.g. {example})"
        )
    lost = sorted(set(row_classes(r for r in ds.rows if r.rel in bad)) - ok)
    raise VidaugError(
        f"training needs readable clips of at least 2 classes: {len(bad)} of {len(ds.rows)} "
        f"clips could not be read, leaving only class {sorted(ok)} (no clip of {lost}; e.g. "
        f"{example})"
    )


class _MemberMeans(keras.callbacks.Callback):
    """``loss`` and ``accuracy`` (and their ``val_``) as the mean over the members' own (Keras'
    ``loss`` would be their sum), so logs and History read the same with one member or
    several."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is None:
            return
        for prefix in ("", "val_"):
            for metric in ("loss", "accuracy"):
                vals = [v for k, v in logs.items()
                        if k.startswith(f"{prefix}member_") and k.endswith(f"_{metric}")]  # fmt: skip
                if vals:
                    logs[f"{prefix}{metric}"] = float(np.mean(vals))


def predict_rows(
    model: keras.Model,
    rows: Sequence[ManifestRow],
    class_names: Sequence[str],
    *,
    batch_size: int = 16,
    fps: float | None = None,
    tta: int = 1,
    recipe: RecipeLike | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Probabilities for every readable row: ``(probs, positions, failures)``.

    With ``tta`` > 1 (test-time augmentation), each clip's probabilities are the mean over
    the clip itself and ``tta − 1`` views augmented with ``recipe`` (view ``v`` seeded as in
    training's view ``v``).
    """
    if tta < 1:
        raise VidaugError(f"tta must be ≥ 1, got {tta}")
    if tta > 1 and recipe is None:
        raise VidaugError("test-time augmentation (tta > 1) needs a recipe")
    spec = input_spec(model)
    # each clip is read once here: no cache, so no decoded clip outlives its prediction
    ds = ClipDataset(rows, class_names, frames=spec["frames"], frame_size=spec["frame_size"], fps=fps,
                     pair_gap=spec["pair_gap"], batch_size=batch_size, shuffle=False,
                     recipe=recipe if tta > 1 else None, seed=seed, cache=False)  # fmt: skip
    epochs = [None, *range(1, tta)]
    probs, pos = [], []
    for i in range(len(rows)):
        try:
            views = ds.loader.samples(i, epochs)
        except VidaugError:
            continue
        p = np.asarray(model.predict_on_batch(np.stack(views).astype(np.float32)))
        probs.append(p.mean(axis=0))
        pos.append(i)
    if not pos:
        raise VidaugError("none of the clips could be read")
    return np.stack(probs), np.asarray(pos, dtype=np.int64), dict(ds.failures)


def evaluate_model(
    model: keras.Model,
    rows: Sequence[ManifestRow],
    class_names: Sequence[str],
    *,
    batch_size: int = 16,
    fps: float | None = None,
    tta: int = 1,
    recipe: RecipeLike | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """:func:`classification_report` of ``model`` on ``rows`` (unreadable clips skipped and
    listed under ``failures``); ``tta``, ``recipe``, ``seed`` as in :func:`predict_rows`."""
    _check_rows(rows, "evaluation")
    unknown = sorted(set(row_classes(rows)) - set(class_names))
    if unknown:
        raise VidaugError(f"labels {unknown} are not classes of the model ({list(class_names)})")
    probs, pos, failures = predict_rows(model, rows, class_names, batch_size=batch_size,
                                        fps=fps, tta=tta, recipe=recipe, seed=seed)  # fmt: skip
    lookup = {c: i for i, c in enumerate(class_names)}
    y_true = np.array([lookup[str(rows[i].label)] for i in pos])
    report = classification_report(y_true, probs.argmax(axis=1), class_names)
    report["failures"] = failures
    return report


def save_classifier(model: keras.Model, path: str | os.PathLike, info: dict[str, Any]) -> Path:
    """Save ``model`` to ``path`` (``.keras``) atomically, with ``<path>.json`` beside it
    (class names, input spec and ``info``)."""
    p = Path(path)
    if p.suffix != ".keras":
        raise VidaugError(f"{p}: the model file must end in .keras")
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p) as tmp:  # the temporary name keeps the .keras suffix Keras wants
        model.save(tmp)
    meta = {**input_spec(model), **info}
    atomic_write_text(p.with_name(p.name + ".json"), json.dumps(meta, indent=2, default=str))
    return p


def load_with_meta(path: str | os.PathLike) -> tuple[keras.Model, dict[str, Any]]:
    """A classifier and its sidecar (empty dict when there is none)."""
    model = load_classifier(path)
    side = Path(str(path) + ".json")
    meta: dict[str, Any] = {}
    if side.is_file():
        try:
            meta = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise VidaugError(f"{side}: unreadable model sidecar ({e})") from None
    return model, meta
