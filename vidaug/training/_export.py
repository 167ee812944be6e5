"""TFLite export of a classifier and an accuracy / latency comparison with the Keras model."""

from __future__ import annotations

import itertools
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keras
import numpy as np

from vidaug.datasets import ManifestRow, atomic_write_bytes, quiet_ffmpeg
from vidaug.errors import VidaugError

__all__ = ["compare_tflite", "export_tflite"]

#: The SavedModel a conversion goes through: a hidden folder beside the output file,
#: ``.vidaug-export-<pid>-<n>``.
_WORK = ".vidaug-export-"
_work_counter = itertools.count()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


@contextmanager
def _work_dir(beside: Path) -> Iterator[Path]:
    """A hidden work folder in ``beside``'s folder (not the system temp folder, which may be
    small or elsewhere), removed on success, failure and interruption; those a killed run
    left (its process gone) are removed first."""
    folder = beside.parent
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(_WORK + "*"):
        pid = old.name[len(_WORK) :].split("-")[0]
        if old.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    work = folder / f"{_WORK}{os.getpid()}-{next(_work_counter)}"
    work.mkdir()
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _calibration(model: keras.Model, rows: Sequence[ManifestRow], n: int = 32):
    from vidaug.datasets import ClipLoader
    from vidaug.training._models import input_spec

    spec = input_spec(model)
    loader = ClipLoader(
        list(rows)[:n],
        frames=spec["frames"],
        frame_size=spec["frame_size"],
        pair_gap=spec["pair_gap"],
    )

    def gen():
        for x, _ in loader.clean_batches(1):
            yield [x.astype(np.float32)]

    return gen


def export_tflite(
    model: keras.Model,
    path: str | os.PathLike,
    *,
    int8: bool = False,
    calibration_rows: Sequence[ManifestRow] | None = None,
) -> dict[str, Any]:
    """Convert ``model`` to a TFLite flatbuffer at ``path`` (atomic write).

    The SavedModel the converter reads is written to a hidden folder beside ``path``
    (``.vidaug-export-<pid>-<n>``), removed on success, failure and interruption; one that a
    killed run left behind is removed by the next export to that folder.

    Args:
        model: a Keras classifier.
        path: the ``.tflite`` file.
        int8: quantize: int8 weights and activations calibrated on ``calibration_rows`` when
            given (float input / output kept), else int8 weights only (dynamic range).
        calibration_rows: clips for int8 calibration.

    Returns:
        ``{"tflite": path, "tflite_bytes", "keras_params_bytes", "quantization"}``.

    Raises:
        VidaugError: the converter fails.
        OSError: a file could not be written (a full disk), naming ``path``.
    """
    import tensorflow as tf

    with _work_dir(Path(path)) as work:
        tmp = str(work / "saved_model")
        try:
            model.export(tmp, format="tf_saved_model", verbose=False)
            conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
            quant = "float32"
            if int8:
                conv.optimizations = [tf.lite.Optimize.DEFAULT]
                quant = "int8 weights (dynamic range)"
                if calibration_rows:
                    conv.representative_dataset = _calibration(model, calibration_rows)
                    quant = "int8 weights and activations (calibrated)"
            with quiet_ffmpeg():  # the converter logs its settings on the C-level stderr
                blob = conv.convert()
        except OSError as e:  # a full disk, a folder made read-only: named as the output
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        except Exception as e:  # noqa: BLE001 - converter errors are many and verbose
            raise VidaugError(
                f"TFLite conversion failed: {type(e).__name__}: {str(e)[:300]}"
            ) from None
    atomic_write_bytes(path, blob)
    return {
        "tflite": str(path),
        "tflite_bytes": len(blob),
        "keras_params_bytes": int(model.count_params()) * 4,
        "quantization": quant,
    }


def compare_tflite(
    model: keras.Model,
    tflite_path: str | os.PathLike,
    rows: Sequence[ManifestRow],
    class_names: Sequence[str],
) -> dict[str, Any]:
    """Accuracy of the Keras model and its TFLite export on the same clips, their agreement
    and their single-clip latency (batch 1, this machine)."""
    import tensorflow as tf

    from vidaug.datasets import ClipLoader
    from vidaug.training._models import input_spec

    spec = input_spec(model)
    loader = ClipLoader(
        rows,
        class_names,
        frames=spec["frames"],
        frame_size=spec["frame_size"],
        pair_gap=spec["pair_gap"],
    )
    with quiet_ffmpeg():  # the interpreter announces its CPU delegate on the C-level stderr
        interp = tf.lite.Interpreter(model_path=str(Path(tflite_path)))
        interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    k_pred, t_pred, y, k_ms, t_ms = [], [], [], [], []
    for x, idx in loader.clean_batches(1):
        x = x.astype(np.float32)
        t0 = time.perf_counter()
        kp = np.asarray(model(x, training=False))
        k_ms.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interp.invoke()
        tp = interp.get_tensor(out["index"])
        t_ms.append(time.perf_counter() - t0)
        k_pred.append(int(kp.argmax()))
        t_pred.append(int(np.asarray(tp).argmax()))
        y.append(int(loader.labels[idx[0]]))
    if not y:
        raise VidaugError("none of the comparison clips could be read")
    yk, yt, yy = np.array(k_pred), np.array(t_pred), np.array(y)
    return {
        "clips": len(yy),
        "keras_accuracy": float((yk == yy).mean()),
        "tflite_accuracy": float((yt == yy).mean()),
        "agreement": float((yk == yt).mean()),
        "keras_ms_per_clip": 1000 * float(np.median(k_ms)),
        "tflite_ms_per_clip": 1000 * float(np.median(t_ms)),
    }
