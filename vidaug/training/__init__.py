# ruff: noqa: F401  (the TYPE_CHECKING imports at the end are for type checkers only)
"""vidaug.training: Keras video classifiers (build, train, evaluate, save and load, TFLite
export), the hard-sample mining hook, the metrics and group splits / folds they are judged
by, and training workflows as data (``TrainConfig``; the named ones, ``WORKFLOWS``, ship as
``workflows/*.yaml``).

The jobs that use them (cross-validation, curation, ``vidaug train`` / ``evaluate``) live in
:mod:`vidaug.pipelines`. Names are imported on first use (:mod:`vidaug._lazy`):
``import vidaug.training`` is instant, and Keras / TensorFlow (seconds) load only with the names
that need them (models, training, the hook), so e.g. curation without a model never starts
TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidaug._lazy import lazy_names

_WHERE = {
    "DEFAULT_EPOCHS": "_train",
    "HardSampleMiningCallback": "_callbacks",
    "MODEL_KINDS": "_train",
    "TrainConfig": "_config",
    "TrainResult": "_train",
    "WORKFLOWS": "_presets",
    "build_classifier": "_models",
    "build_head": "_models",
    "build_model": "_train",
    "build_seed_classifier": "_models",
    "classification_report": "_metrics",
    "compare_tflite": "_export",
    "describe_workflows": "_config",
    "evaluate_model": "_train",
    "export_tflite": "_export",
    "features_fn": "_train",
    "format_report": "_metrics",
    "group_kfold": "_metrics",
    "group_split": "_metrics",
    "head_of": "_models",
    "hook_weights": "_callbacks",
    "init_head": "_train",
    "input_spec": "_models",
    "load_classifier": "_models",
    "load_with_meta": "_train",
    "member_outputs": "_models",
    "predict_rows": "_train",
    "save_classifier": "_train",
    "summarize_folds": "_metrics",
    "train_model": "_train",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_names("vidaug.training", _WHERE)


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from vidaug.training._callbacks import HardSampleMiningCallback, hook_weights
    from vidaug.training._config import TrainConfig, describe_workflows
    from vidaug.training._export import compare_tflite, export_tflite
    from vidaug.training._metrics import (
        classification_report,
        format_report,
        group_kfold,
        group_split,
        summarize_folds,
    )
    from vidaug.training._models import (
        build_classifier,
        build_head,
        build_seed_classifier,
        head_of,
        input_spec,
        load_classifier,
        member_outputs,
    )
    from vidaug.training._presets import WORKFLOWS
    from vidaug.training._train import (
        DEFAULT_EPOCHS,
        MODEL_KINDS,
        TrainResult,
        build_model,
        evaluate_model,
        features_fn,
        init_head,
        load_with_meta,
        predict_rows,
        save_classifier,
        train_model,
    )
