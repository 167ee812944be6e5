"""The training workflows behind ``vidaug train / evaluate / export``: which rows, which
classes, which recipe, what the model's sidecar records.

What can be decided without TensorFlow (the rows, the splits, the classes, the workflow) is
decided by the ``plan_*`` functions, so that a bad input is refused before a model starts;
the rest runs in :func:`train_workflow` and :func:`evaluate_workflow`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidaug.augment import RecipeLike, as_recipe
from vidaug.datasets import ManifestRow, class_names, load_rows, require_classes, require_labels
from vidaug.errors import VidaugError
from vidaug.training import WORKFLOWS, TrainConfig

__all__ = [
    "EvalPlan",
    "TrainPlan",
    "build_for_training",
    "cv_config",
    "evaluate_workflow",
    "model_class_names",
    "plan_evaluation",
    "plan_training",
    "rows_in_split",
    "train_workflow",
]


def rows_in_split(
    rows: Sequence[ManifestRow], split: str, source: str | Path, *, whole_without_splits=False
) -> list[ManifestRow]:
    """The rows of ``split``.

    Args:
        rows: the rows of ``source``.
        split: the split wanted.
        source: the manifest or folder the rows came from (named in the message).
        whole_without_splits: rows without any split column are all taken.

    Raises:
        VidaugError: no row in ``split`` (the message lists the splits there are).
    """
    picked = [r for r in rows if r.split == split]
    if not picked and whole_without_splits and not any(r.split for r in rows):
        picked = list(rows)
    if not picked:
        have = sorted({str(r.split) for r in rows})
        raise VidaugError(f"{source}: no clips in split {split!r} (splits: {', '.join(have)})")
    return picked


def model_class_names(meta: dict[str, Any], rows: Sequence[ManifestRow]) -> list[str]:
    """A saved model's classes (its sidecar's), else :func:`~vidaug.datasets.class_names` of
    ``rows``."""
    return list(meta.get("class_names") or class_names(rows))


@dataclass(frozen=True)
class TrainPlan:
    """A training run as decided before TensorFlow starts.

    Attributes:
        model: a model kind (``config.model``) or a ``.keras`` file to train further.
        config: the workflow (for a ``.keras`` file: its training settings).
        train_rows: the labelled training rows.
        val_rows: the validation rows (may be empty).
        names: the classes (at least 2).
    """

    model: str
    config: TrainConfig
    train_rows: list[ManifestRow]
    val_rows: list[ManifestRow]
    names: list[str]

    @property
    def from_file(self) -> bool:
        """Whether a saved model is trained further."""
        return self.model.endswith(".keras")

    @property
    def needs_weights(self) -> bool:
        """Whether the model is built on the MobileNetV2 weights."""
        return not self.from_file and self.model != "seed"


def plan_training(
    manifest: str | Path,
    workflow: str | os.PathLike | dict[str, Any] | TrainConfig = "recommended",
    overrides: dict[str, Any] | None = None,
) -> TrainPlan:
    """The workflow, rows, splits and classes of a training run (the ``train`` split,
    validation on ``val``; every row when there is no split column).

    Args:
        manifest: a manifest or folder of labelled clips.
        workflow: what :meth:`TrainConfig.parse <vidaug.training.TrainConfig.parse>` reads: a
            named workflow (``vidaug workflows``), with ``key=value`` changes or not, a YAML
            file, ``key=value`` words or a config.
        overrides: :class:`~vidaug.training.TrainConfig` keys that win over the workflow's;
            ``model`` may be a ``.keras`` file to train further (with the workflow's training
            settings).

    Raises:
        VidaugError: an unknown workflow, a bad setting, an empty train split, unlabelled train
            clips.
        UsageError: fewer than 2 classes.
    """
    overrides = dict(overrides or {})
    saved = str(overrides.get("model") or "")
    if saved.endswith(".keras"):  # the architecture is the file's, not the workflow's
        del overrides["model"]
    config = TrainConfig.parse(workflow, overrides)
    rows = load_rows(manifest)
    with_split = any(r.split for r in rows)
    train_rows = [r for r in rows if r.split == "train"] if with_split else rows
    val_rows = [r for r in rows if r.split == "val"] if with_split else []
    if not train_rows:
        raise VidaugError(f"{manifest}: the train split is empty")
    require_labels(train_rows, "training")
    model = saved if saved.endswith(".keras") else config.model
    return TrainPlan(model, config, train_rows, val_rows, require_classes(train_rows))


def build_for_training(plan: TrainPlan, *, weights: Any, seed: int) -> tuple[Any, Any]:
    """The Keras model to train (built, or loaded from ``plan.model``) and the loaded recipe
    (or None)."""
    from vidaug.augment import load_recipe
    from vidaug.training import build_model, load_classifier

    rec = None if plan.config.recipe is None else load_recipe(plan.config.recipe)
    if plan.from_file:
        return load_classifier(plan.model), rec
    config = plan.config
    net = build_model(config.model, len(plan.names), weights=weights, seed=seed,
                      **config.model_kwargs())  # fmt: skip
    return net, rec


def train_workflow(
    plan: TrainPlan,
    net: Any,
    recipe: RecipeLike | None,
    *,
    out: Path,
    seed: int = 0,
    hook_every: int = 1,
    callbacks: Sequence[Any] = (),
    on_embed: Callable[[int, int], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train ``net`` as ``plan`` says and save it with its sidecar.

    Args:
        plan: from :func:`plan_training`.
        net: from :func:`build_for_training`.
        recipe: the training recipe (from :func:`build_for_training`, or any
            :data:`~vidaug.augment.RecipeLike`), or None.
        out: the ``.keras`` file; the hook's log goes next to it (``.hook.jsonl``).
        seed: the training seed.
        hook_every: the hook's period in epochs.
        callbacks: more Keras callbacks.
        on_embed: ``(done, total)`` while a frozen backbone embeds the clips.

    Returns:
        The :class:`~vidaug.training.TrainResult` and the sidecar's ``info``.
    """
    from vidaug.training import save_classifier, train_model

    config = plan.config
    recipe = None if recipe is None else as_recipe(recipe)
    log_path = out.with_name(out.name + ".hook.jsonl") if config.hook else None
    if log_path is not None and log_path.exists():
        log_path.unlink()
    res = train_model(
        net, plan.train_rows, val_rows=plan.val_rows or None, class_names=plan.names,
        recipe=recipe, hook_every=hook_every, seed=seed, log_path=log_path,
        callbacks=list(callbacks), on_embed=on_embed, **config.fit_kwargs(),
    )  # fmt: skip
    info = _sidecar(plan, res, recipe, seed)
    save_classifier(res.model, out, info)
    return res, info


def _sidecar(plan: TrainPlan, res: Any, recipe: Any, seed: int) -> dict[str, Any]:
    """The ``info`` a trained model's ``.keras.json`` records."""
    config = plan.config
    info: dict[str, Any] = {
        "class_names": res.class_names,
        "model": plan.model,
        "workflow": config.workflow,
        "epochs": config.resolved_epochs,
        "batch": config.batch,
        "recipe": recipe.name if recipe else None,
        "recipe_spec": config.recipe,
        "tta": config.tta,
        "hook": config.hook,
        "seed": seed,
        "fps": config.fps,
        "train_clips": len(plan.train_rows),
        "history": res.history,
        "seconds": round(res.seconds, 2),
        "hook_seconds": round(res.hook_seconds, 3),
        "failures": res.failures,
    }
    if plan.from_file:  # its architecture is the file's: the workflow gave the training only
        info["continued"] = plan.model
    else:
        info["config"] = config.model_dump()
    return info


@dataclass(frozen=True)
class EvalPlan:
    """What :func:`evaluate_workflow` evaluates: the rows, their split, the test-time views
    and their recipe."""

    rows: list[ManifestRow]
    split: str | None
    tta: int
    recipe: Any


def plan_evaluation(
    rows: Sequence[ManifestRow],
    meta: dict[str, Any],
    *,
    source: str | Path,
    split: str | None = None,
    tta: int | None = None,
) -> EvalPlan:
    """The rows to evaluate (``split``, default ``test`` when there is one) and the test-time
    views (``tta``, default as trained, with the training recipe).

    Raises:
        VidaugError: no clips in ``split``; views without a training recipe.
    """
    if split is None and any(r.split == "test" for r in rows):
        split = "test"
    picked = rows_in_split(rows, split, source) if split else list(rows)
    n_tta = tta or int(meta.get("tta") or 1)
    rec = None
    if n_tta > 1:
        spec = meta.get("recipe_spec")
        if not spec:
            raise VidaugError("--tta needs a model trained with --recipe (its views)")
        from vidaug.augment import load_recipe

        rec = load_recipe(spec)
    return EvalPlan(picked, split, n_tta, rec)


def evaluate_workflow(
    net: Any, plan: EvalPlan, names: Sequence[str], *, fps: float | None = None
) -> dict[str, Any]:
    """:func:`~vidaug.training.evaluate_model` of ``net`` on ``plan``, with its split and
    views recorded.

    Raises:
        VidaugError: no clip could be evaluated.
    """
    from vidaug.training import evaluate_model

    report = evaluate_model(net, plan.rows, names, fps=fps, tta=plan.tta, recipe=plan.recipe)
    if not report.get("n", 1):
        raise VidaugError("no clip could be evaluated")
    report["split"] = plan.split
    report["tta"] = plan.tta
    return report


def cv_config(
    meta: dict[str, Any], *, epochs: int | None, fps: float | None, tta: int | None
) -> TrainConfig:
    """The workflow a saved model was trained with, for cross-validation (the given
    settings override its own).

    The sidecar's ``config`` records every key, so it is rebuilt as it ran even when the named
    workflow it started from has changed since (or is gone); its name is kept.

    Raises:
        VidaugError: the model has no recorded workflow.
    """
    if "config" not in meta:
        raise VidaugError(
            "--cv retrains the model's workflow: it needs a model trained by "
            "`vidaug train` (its .keras.json sidecar records the workflow)"
        )
    overrides = {"epochs": epochs, "fps": fps, "tta": tta}
    keys = {**meta["config"], **{k: v for k, v in overrides.items() if v}}
    name = keys.pop("workflow", None)
    known = name if name in WORKFLOWS else None  # a name since renamed is not kept
    return TrainConfig.parse(keys).model_copy(update={"workflow": known})
