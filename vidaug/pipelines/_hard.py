"""Classifier evidence for hard-sample mining: a trained model's probabilities on an index's
clips (training and mining meet here)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from vidaug.datasets import ManifestRow
from vidaug.errors import VidaugError

__all__ = ["classifier_probs"]


def classifier_probs(
    model_path: str | os.PathLike, index: Any
) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """Class probabilities of every clip of ``index`` from a `vidaug train` classifier.

    Returns:
        ``(probs, class_names, failures)``: ``(clips, classes)`` probabilities, uniform for a
        clip that cannot be read (listed in ``failures``: clip → message).

    Raises:
        VidaugError: the model cannot be loaded, or the index has labels the model lacks.
    """
    from vidaug.training import load_with_meta, predict_rows

    net, meta = load_with_meta(model_path)
    labels = sorted({str(c.get("label")) for c in index.clips if c.get("label") is not None})
    names = list(meta.get("class_names") or labels)
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise VidaugError(f"{model_path}: labels {unknown} are not classes of the model {names}")
    rows = [ManifestRow(str(c.get("path") or c["id"]), c["id"], c.get("label"))
            for c in index.clips]  # fmt: skip
    p, pos, failures = predict_rows(net, rows, names)
    probs = np.full((len(rows), len(names)), 1.0 / len(names))
    probs[pos] = p
    return probs, names, failures
