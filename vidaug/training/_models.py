"""Keras video classifiers: the seed model and a frozen-MobileNetV2 model.

Both take float32 clips ``(batch, frames, H, W, 3)`` in [0, 255] (they rescale themselves) and
end in a softmax. The layer before the output (``embedding``) is the clip embedding that
mining can use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras

from vidaug.errors import VidaugError

__all__ = [
    "BACKBONES",
    "build_classifier",
    "build_seed_classifier",
    "head_of",
    "load_classifier",
]

BACKBONES = ("mobilenet_v2",)


def _compile(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_seed_classifier(num_classes: int, frame_size: int = 64, frames: int = 8) -> keras.Model:
    """The reference model: per frame Conv2D(32, 3×3, relu) → MaxPool 2×2 → Flatten →
    Dense(64, relu), averaged over time, → Dense(num_classes, softmax).

    Compiled with Adam, categorical cross-entropy and accuracy.

    Args:
        num_classes: output classes (≥ 2).
        frame_size: frames are ``frame_size × frame_size``.
        frames: frames per clip.
    """
    if num_classes < 2:
        raise VidaugError(f"a classifier needs at least 2 classes, got {num_classes}")
    inp = keras.Input((frames, frame_size, frame_size, 3), name="clip")
    x = keras.layers.Rescaling(1 / 255.0, name="rescale")(inp)
    x = keras.layers.TimeDistributed(keras.layers.Conv2D(32, 3, activation="relu"), name="conv")(x)
    x = keras.layers.TimeDistributed(keras.layers.MaxPooling2D(2), name="pool")(x)
    x = keras.layers.TimeDistributed(keras.layers.Flatten(), name="flatten")(x)
    x = keras.layers.TimeDistributed(keras.layers.Dense(64, activation="relu"), name="frame_fc")(x)
    x = keras.layers.GlobalAveragePooling1D(name="embedding")(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return _compile(keras.Model(inp, out, name="seed_classifier"))


def build_classifier(
    num_classes: int,
    backbone: str = "mobilenet_v2",
    *,
    frames: int = 8,
    frame_size: int = 224,
    dropout: float = 0.3,
    weights: str | os.PathLike | None = None,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """Frozen MobileNetV2 frame features → mean + max over time → dropout → softmax.

    The model is ``clip → rescale → backbone (TimeDistributed, frozen) → head``; ``head`` is a
    sub-model on ``(frames, 1280)`` features, so training can run the backbone once per clip
    and fit the head on cached features (:func:`head_of`, ``ClipDataset(features=...)``).

    Args:
        num_classes: output classes (≥ 2).
        backbone: ``mobilenet_v2`` (ImageNet weights, found offline as in mining: ``weights``,
            ``VIDAUG_WEIGHTS`` or Keras' cache).
        frames: frames per clip.
        frame_size: input frames are ``frame_size × frame_size``.
        dropout: dropout before the softmax.
        weights: the MobileNetV2 no-top ``.h5`` file.
        learning_rate: Adam's learning rate.

    Raises:
        VidaugError: unknown backbone, fewer than 2 classes.
        WeightsNotFoundError: the weights cannot be found or downloaded.
    """
    from vidaug.mining import load_embedder

    if num_classes < 2:
        raise VidaugError(f"a classifier needs at least 2 classes, got {num_classes}")
    if backbone not in BACKBONES:
        raise VidaugError(f"unknown backbone {backbone!r}: use one of {', '.join(BACKBONES)}")
    net = load_embedder("mobilenet_v2", weights=weights).model  # finds the weights or says where
    if frame_size != 224:  # the no-top weights fit any input size; rebuild at this one
        weights_only = net.get_weights()
        net = keras.applications.MobileNetV2(
            weights=None, include_top=False, pooling="avg", input_shape=(frame_size, frame_size, 3)
        )
        net.set_weights(weights_only)
    net.trainable = False
    dims = int(net.output.shape[-1])

    feat_in = keras.Input((frames, dims), name="features")
    mean = keras.layers.GlobalAveragePooling1D(name="mean")(feat_in)
    mx = keras.layers.GlobalMaxPooling1D(name="max")(feat_in)
    x = keras.layers.Concatenate(name="pooled")([mean, mx])
    x = keras.layers.Dropout(dropout, name="embedding")(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    head = _compile(keras.Model(feat_in, out, name="head"), learning_rate)

    inp = keras.Input((frames, frame_size, frame_size, 3), name="clip")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(inp)
    x = keras.layers.TimeDistributed(net, name="backbone")(x)
    model = keras.Model(inp, head(x), name=f"{backbone}_classifier")
    return _compile(model, learning_rate)


def head_of(model: keras.Model) -> tuple[keras.Model, keras.Model] | None:
    """``(features_model, head)`` of a model made by :func:`build_classifier`, else None.

    ``features_model`` maps clips to ``(frames, dims)`` backbone features.
    """
    names = {layer.name for layer in model.layers}
    if not {"backbone", "head"} <= names:
        return None
    feats = keras.Model(model.input, model.get_layer("backbone").output, name="features")
    return feats, model.get_layer("head")


def load_classifier(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` classifier saved by vidaug (or any Keras video classifier).

    Raises:
        VidaugError: missing file, or not a loadable Keras model.
    """
    p = Path(path)
    if not p.is_file():
        raise VidaugError(f"{p}: no such model file")
    try:
        model = keras.models.load_model(p, compile=False)
    except Exception as e:  # noqa: BLE001 - any broken or foreign file
        raise VidaugError(f"{p}: not a Keras model ({type(e).__name__}: {e})") from None
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 5:
        raise VidaugError(
            f"{p}: expected a video classifier with input (batch, frames, H, W, 3), got "
            f"{[tuple(i.shape) for i in model.inputs]}"
        )
    return _compile(model)


def input_spec(model: keras.Model) -> dict[str, Any]:
    """``frames`` and ``size`` ``(H, W)`` a classifier expects."""
    shape = model.inputs[0].shape
    return {"frames": int(shape[1]), "size": (int(shape[2]), int(shape[3]))}
