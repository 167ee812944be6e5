"""vidaug.training: Keras video classifiers, the hard-sample mining hook, metrics, curation.

Importing this package imports Keras / TensorFlow (seconds); ``import vidaug`` does not.
"""

from vidaug.training._callbacks import HardSampleMiningCallback, hook_weights
from vidaug.training._config import TrainConfig
from vidaug.training._cv import CVResult, compare_cv, cross_validate, row_groups
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
    load_classifier,
    member_outputs,
)
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

__all__ = [
    "DEFAULT_EPOCHS",
    "MODEL_KINDS",
    "CVResult",
    "HardSampleMiningCallback",
    "TrainConfig",
    "TrainResult",
    "build_classifier",
    "build_head",
    "build_model",
    "build_seed_classifier",
    "classification_report",
    "compare_cv",
    "cross_validate",
    "evaluate_model",
    "features_fn",
    "hook_weights",
    "init_head",
    "member_outputs",
    "row_groups",
    "format_report",
    "group_kfold",
    "group_split",
    "head_of",
    "load_classifier",
    "load_with_meta",
    "predict_rows",
    "save_classifier",
    "summarize_folds",
    "train_model",
]
