"""vidaug.training: Keras video classifiers, the hard-sample mining hook, metrics, curation.

Importing this package imports Keras / TensorFlow (seconds); ``import vidaug`` does not.
"""

from vidaug.training._callbacks import HardSampleMiningCallback
from vidaug.training._metrics import (
    classification_report,
    format_report,
    group_kfold,
    group_split,
    summarize_folds,
)
from vidaug.training._models import (
    build_classifier,
    build_seed_classifier,
    head_of,
    load_classifier,
)
from vidaug.training._train import (
    TrainResult,
    build_model,
    evaluate_model,
    load_with_meta,
    predict_rows,
    save_classifier,
    train_model,
)

__all__ = [
    "HardSampleMiningCallback",
    "TrainResult",
    "build_classifier",
    "build_model",
    "build_seed_classifier",
    "classification_report",
    "evaluate_model",
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
