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

from vidaug.datasets import ManifestRow, atomic_path, atomic_write_text, require_labels
from vidaug.datasets._keras import ClipDataset
from vidaug.errors import VidaugError
from vidaug.training._callbacks import HardSampleMiningCallback
from vidaug.training._metrics import classification_report
from vidaug.training._models import (
    build_classifier,
    build_seed_classifier,
    head_of,
    input_spec,
    load_classifier,
)

__all__ = ["TrainResult", "build_model", "evaluate_model", "save_classifier", "train_model"]


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


def build_model(
    kind: str,
    num_classes: int,
    *,
    frames: int = 8,
    size: int | None = None,
    weights=None,
    seed: int | None = None,
) -> keras.Model:
    """``seed`` (:func:`build_seed_classifier`, 64 px) or ``mobilenet_v2``
    (:func:`build_classifier`, 224 px). With ``seed``, the initial weights are reproducible
    (Keras' random state is seeded before the layers are made)."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if kind == "seed":
        return build_seed_classifier(num_classes, frame_size=size or 64, frames=frames)
    if kind == "mobilenet_v2":
        return build_classifier(
            num_classes, "mobilenet_v2", frames=frames, frame_size=size or 224, weights=weights
        )
    raise VidaugError(f"unknown model {kind!r}: use seed, mobilenet_v2 or a .keras file")


def _check_rows(rows: Sequence[ManifestRow], what: str) -> None:
    if not rows:
        raise VidaugError(f"the {what} split is empty")
    require_labels(rows, f"the {what} split")


def train_model(
    model: keras.Model,
    train_rows: Sequence[ManifestRow],
    *,
    val_rows: Sequence[ManifestRow] | None = None,
    class_names: Sequence[str] | None = None,
    epochs: int = 10,
    batch_size: int = 8,
    recipe: Any = None,
    hook: bool = True,
    hook_every: int = 1,
    seed: int = 0,
    fps: float | None = None,
    log_path: str | os.PathLike | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
) -> TrainResult:
    """Fit a video classifier on manifest rows.

    Without a recipe, a model from :func:`build_classifier` runs its frozen backbone once per
    clip and fits its head on the cached features (minutes on a CPU); with a recipe, frames
    are augmented each epoch and the backbone runs on the fly.

    Args:
        model: a compiled classifier (input ``(batch, frames, H, W, 3)``).
        train_rows: labelled training rows.
        val_rows: optional validation rows (metrics get a ``val_`` prefix).
        class_names: class order (default: sorted training labels).
        epochs: epochs.
        batch_size: clips per batch.
        recipe: vidaug pipeline applied on the fly to training clips (or None).
        hook: add :class:`HardSampleMiningCallback` (every ``hook_every`` epochs).
        seed: seeds Keras (weights init, dropout) and the data order / augmentation.
        fps: decode clips at this rate (less memory); None keeps every frame.
        log_path: the hook's JSONL log.
        callbacks: more Keras callbacks.
        verbose: Keras' verbosity.

    Raises:
        VidaugError: empty split, unlabeled clips, a single class, no readable clip.
    """
    _check_rows(train_rows, "train")
    names = list(class_names) if class_names else sorted({str(r.label) for r in train_rows})
    if len(names) < 2:
        raise VidaugError(f"training needs at least 2 classes, the train split has {names}")
    spec = input_spec(model)
    keras.utils.set_random_seed(seed)
    split = head_of(model) if recipe is None else None
    fit_model = model
    feats: Callable[[np.ndarray], np.ndarray] | None = None
    if split is not None:
        features_model, fit_model = split

        def feats(x: np.ndarray) -> np.ndarray:
            return np.asarray(features_model(x, training=False))

    common = dict(frames=spec["frames"], size=spec["size"], fps=fps, features=feats)
    train = ClipDataset(
        train_rows, names, batch_size=batch_size, recipe=recipe, seed=seed, **common
    )
    val = None
    if val_rows:
        _check_rows(val_rows, "validation")
        val = ClipDataset(val_rows, names, batch_size=batch_size, shuffle=False, **common)
    cbs = list(callbacks)
    miner = None
    if hook:
        miner = HardSampleMiningCallback(train, every=hook_every, log_path=log_path)
        cbs.append(miner)
    t0 = time.perf_counter()
    hist = fit_model.fit(train, validation_data=val, epochs=epochs, callbacks=cbs, verbose=verbose)
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


def predict_rows(
    model: keras.Model,
    rows: Sequence[ManifestRow],
    class_names: Sequence[str],
    *,
    batch_size: int = 16,
    fps: float | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Probabilities for every readable row: ``(probs, positions, failures)``."""
    spec = input_spec(model)
    ds = ClipDataset(rows, class_names, frames=spec["frames"], size=spec["size"], fps=fps,
                     batch_size=batch_size, shuffle=False)  # fmt: skip
    probs, pos = [], []
    for x, idx in ds.loader.clean_batches(batch_size):
        probs.append(np.asarray(model(x.astype(np.float32), training=False)))
        pos.extend(idx)
    if not pos:
        raise VidaugError("none of the clips could be read")
    return np.concatenate(probs), np.asarray(pos, dtype=np.int64), dict(ds.failures)


def evaluate_model(
    model: keras.Model,
    rows: Sequence[ManifestRow],
    class_names: Sequence[str],
    *,
    batch_size: int = 16,
    fps: float | None = None,
) -> dict[str, Any]:
    """:func:`classification_report` of ``model`` on ``rows`` (unreadable clips skipped and
    listed under ``failures``)."""
    _check_rows(rows, "evaluation")
    unknown = sorted({str(r.label) for r in rows} - set(class_names))
    if unknown:
        raise VidaugError(f"labels {unknown} are not classes of the model ({list(class_names)})")
    probs, pos, failures = predict_rows(model, rows, class_names, batch_size=batch_size, fps=fps)
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
