"""The job behind ``vidaug export``: a classifier saved by ``train`` to TFLite, compared with
the Keras model on labelled clips, the file in place only when every step succeeded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from vidaug.datasets import ManifestRow, atomic_path
from vidaug.pipelines._workflows import model_class_names

__all__ = ["export_classifier"]


def export_classifier(
    model: Path,
    out: Path | None = None,
    *,
    int8: bool = False,
    rows: Sequence[ManifestRow] | None = None,
    status: Callable[[str], AbstractContextManager[Any]] = nullcontext,
) -> dict[str, Any]:
    """Export the classifier saved at ``model`` (with its sidecar) to a TFLite file.

    Args:
        model: a ``.keras`` file saved by :func:`train_workflow`.
        out: the TFLite file; default ``model`` with ``.tflite`` (``.int8.tflite`` with
            ``int8``).
        int8: quantize the weights to int8 (``rows`` calibrate it).
        rows: labelled clips to compare the accuracy of the Keras model and the export on.
        status: ``status(message)`` wraps each long step (``converting…``, ``comparing
            accuracy…``), e.g. a spinner.

    Returns:
        :func:`vidaug.training.export_tflite`'s info (sizes), with
        :func:`vidaug.training.compare_tflite`'s (accuracies, agreement, latency) when
        ``rows`` are given, and ``tflite``: the file written. The file appears at its path
        only when all of it succeeded.
    """
    from vidaug.training import compare_tflite, export_tflite, load_with_meta

    net, meta = load_with_meta(model)
    dest = out or model.with_suffix(".int8.tflite" if int8 else ".tflite")
    with atomic_path(dest) as tmp:  # moved onto dest only when nothing below fails
        with status("converting…"):
            info = export_tflite(net, tmp, int8=int8, calibration_rows=rows)
        if rows is not None:
            with status("comparing accuracy…"):
                info.update(compare_tflite(net, tmp, rows, model_class_names(meta, rows)))
    info["tflite"] = str(dest)
    return info
