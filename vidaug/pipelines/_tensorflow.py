"""TensorFlow started quietly, for the jobs that need it (a model to train, load or export)."""

from __future__ import annotations

import os
import warnings

__all__ = ["start_tensorflow"]


def start_tensorflow() -> None:
    """Import TensorFlow and start its runtime with the C-level stderr muted: its absl /
    oneDNN start-up lines (and TFLite's deprecation warnings) are noise to a user of a job."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from vidaug.datasets import quiet_ffmpeg

    warnings.filterwarnings("ignore", module=r"tensorflow\.lite\..*")
    with quiet_ffmpeg():
        import tensorflow as tf

        tf.constant(1.0) + 1.0  # the runtime's first-op chatter happens here
