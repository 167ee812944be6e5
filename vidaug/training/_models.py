"""Keras video classifiers: the seed model and a frozen-MobileNetV2 model.

Both take float32 clips ``(batch, frames, H, W, 3)`` in [0, 255] (they rescale themselves) and
end in a softmax. The layer before the output (``embedding``) is the clip embedding that
mining can use.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import keras

from vidaug.errors import VidaugError

__all__ = [
    "BACKBONES",
    "build_classifier",
    "build_head",
    "build_seed_classifier",
    "FINETUNE_CUTS",
    "head_of",
    "input_spec",
    "load_classifier",
    "member_outputs",
    "split_backbone",
]

BACKBONES = ("mobilenet_v2",)


def _compile(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_seed_classifier(
    num_classes: int,
    frame_size: int = 64,
    frames: int = 8,
    *,
    streams: tuple[str, ...] = ("rgb",),
    pair_gap: float = 0.133,
) -> keras.Model:
    """The reference model: per frame Conv2D(32, 3×3, relu) → MaxPool 2×2 → Flatten →
    Dense(64, relu), averaged over time, → Dense(num_classes, softmax).

    Compiled with Adam, categorical cross-entropy and accuracy.

    Args:
        num_classes: output classes (≥ 2).
        frame_size: frames are ``frame_size × frame_size``.
        frames: frames (or frame pairs) per clip.
        streams: ``("rgb",)`` (the frames), or ``("diff",)`` / ``("rgb", "diff")``: the input
            is then ``frames`` pairs ``pair_gap`` seconds apart and the CNN sees their RGB
            difference (stacked on the channels with the frame for both streams).
        pair_gap: seconds between the frames of a pair.
    """
    from vidaug.datasets import FramePairs

    if num_classes < 2:
        raise VidaugError(f"a classifier needs at least 2 classes, got {num_classes}")
    if not streams or set(streams) - {"rgb", "diff"}:
        raise VidaugError(f"streams must be rgb and / or diff, got {list(streams)}")
    paired = tuple(streams) != ("rgb",)
    inp = keras.Input(((2 if paired else 1) * frames, frame_size, frame_size, 3), name="clip")
    x = inp
    if paired:
        parts = FramePairs(tuple(streams), gap_seconds=pair_gap, name="pairs")(inp)
        x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(axis=-1)(parts)
    x = keras.layers.Rescaling(1 / 255.0, name="rescale")(x)
    x = keras.layers.TimeDistributed(keras.layers.Conv2D(32, 3, activation="relu"), name="conv")(x)
    x = keras.layers.TimeDistributed(keras.layers.MaxPooling2D(2), name="pool")(x)
    x = keras.layers.TimeDistributed(keras.layers.Flatten(), name="flatten")(x)
    x = keras.layers.TimeDistributed(keras.layers.Dense(64, activation="relu"), name="frame_fc")(x)
    x = keras.layers.GlobalAveragePooling1D(name="embedding")(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    name = "seed_classifier" if not paired else f"seed_{'_'.join(streams)}"
    return _compile(keras.Model(inp, out, name=name))


def build_head(
    frames: int,
    dims: int,
    num_classes: int,
    *,
    members: int = 1,
    dropout: float = 0.3,
    learning_rate: float = 1e-3,
    top: keras.Model | None = None,
) -> keras.Model:
    """The classifier head on ``(frames, dims)`` frame features: mean + max over time
    (``embedding``) → per member dropout → softmax, the members' probabilities averaged.

    Members are independent linear classifiers on the same pooled features, trained each on
    its own loss (:func:`member_outputs`); their average is steadier than any one of them.

    With ``top`` (the trainable top blocks of the backbone, :func:`split_backbone`), the head
    takes ``(frames, *top's input)`` feature maps and runs ``top`` on each frame first, so
    training the head fine-tunes those blocks too.
    """
    if top is None:
        feat_in = keras.Input((frames, dims), name="features")
        x = feat_in
    else:
        feat_in = keras.Input((frames, *top.input.shape[1:]), name="features")
        x = keras.layers.TimeDistributed(top, name="top")(feat_in)
    mean = keras.layers.GlobalAveragePooling1D(name="mean")(x)
    mx = keras.layers.GlobalMaxPooling1D(name="max")(x)
    pooled = keras.layers.Concatenate(name="embedding")([mean, mx])
    if members == 1:
        x = keras.layers.Dropout(dropout, name="dropout")(pooled)
        out = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    else:
        outs = []
        for m in range(members):
            x = keras.layers.Dropout(dropout, name=f"dropout_{m}")(pooled)
            outs.append(
                keras.layers.Dense(num_classes, activation="softmax", name=f"member_{m}")(x)
            )
        out = keras.layers.Average(name="probs")(outs)
    head = _compile(keras.Model(feat_in, out, name="head"), learning_rate)
    if top is not None:  # what init_head restores: the pretrained blocks, not new ones
        head._vidaug_top_init = (top, top.get_weights())
    return head


#: MobileNetV2 blocks fine-tuned → the layer whose output is cached (the frozen part ends
#: there). Blocks 14-16 and ``Conv_1`` work on 7 × 7 maps at 224 px: cheap to train on CPU.
FINETUNE_CUTS = {1: "block_15_add", 2: "block_14_add", 3: "block_13_project_BN"}


def split_backbone(net: keras.Model, blocks: int) -> tuple[keras.Model, keras.Model]:
    """``(bottom, top)`` of a MobileNetV2 (pooled): ``bottom`` frozen up to the last ``blocks``
    inverted-residual blocks, ``top`` those blocks + ``Conv_1`` + pooling, trainable except
    its batch normalisation (kept in inference mode: a few hundred clips cannot re-estimate
    ImageNet's statistics).

    Raises:
        VidaugError: ``blocks`` not in :data:`FINETUNE_CUTS`.
    """
    if blocks not in FINETUNE_CUTS:
        raise VidaugError(f"finetune must be one of {sorted(FINETUNE_CUTS)} blocks, got {blocks}")
    cut = net.get_layer(FINETUNE_CUTS[blocks]).output
    bottom = keras.Model(net.input, cut, name="bottom")
    top = keras.Model(cut, net.output, name="top_blocks")
    bottom.trainable = False
    top.trainable = True
    for layer in top.layers:  # one by one: the layers were frozen with the whole net
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    return bottom, top


def member_outputs(head: keras.Model) -> keras.Model:
    """The model :func:`build_head` trains: one output per member (each with its own loss),
    sharing the head's layers; the head itself when it has one member."""
    names = [layer.name for layer in head.layers if layer.name.startswith("member_")]
    if not names:
        return head
    fit = keras.Model(head.input, [head.get_layer(n).output for n in names], name="members")
    fit.compile(
        optimizer=keras.optimizers.Adam(float(head.optimizer.learning_rate.numpy())),
        loss=["categorical_crossentropy"] * len(names),
        metrics=[["accuracy"]] * len(names),
    )
    return fit


def build_classifier(
    num_classes: int,
    backbone: str = "mobilenet_v2",
    *,
    frames: int = 8,
    frame_size: int = 224,
    dropout: float = 0.3,
    weights: str | os.PathLike | None = None,
    learning_rate: float = 1e-3,
    streams: tuple[str, ...] = ("rgb",),
    pair_gap: float = 0.133,
    members: int = 1,
    finetune: int = 0,
) -> keras.Model:
    """Frozen MobileNetV2 frame features → mean + max over time → dropout → softmax.

    The model is ``clip → [pairs] → rescale → backbone (TimeDistributed, frozen) → head``;
    ``head`` is a sub-model on ``(frames, features)`` (:func:`build_head`), so training can
    run the backbone once per clip (and per augmented view) and fit the head on cached
    features (:func:`head_of`, ``ClipDataset(features=...)``).

    With ``streams=("rgb",)`` (the default) the input is ``frames`` frames. A ``diff`` stream
    makes the input ``frames`` pairs of frames ``pair_gap`` seconds apart, interleaved
    (``2 × frames`` frames, :class:`vidaug.datasets.FramePairs`), and the backbone also sees
    their RGB difference: motion, which transfers to new cameras better than the scene's
    appearance. Several streams share the backbone; their features are concatenated.

    Args:
        num_classes: output classes (≥ 2).
        backbone: ``mobilenet_v2`` (ImageNet weights, found as in mining: ``weights``,
            ``VIDAUG_WEIGHTS`` or Keras' cache, else fetched once into that cache unless
            ``VIDAUG_OFFLINE=1``; see :func:`vidaug.mining.ensure_mobilenet_weights`).
        frames: frames (or pairs) per clip.
        frame_size: input frames are ``frame_size × frame_size``.
        dropout: dropout before the softmax.
        weights: the MobileNetV2 no-top ``.h5`` file.
        learning_rate: Adam's learning rate.
        streams: ``rgb`` and / or ``diff``.
        pair_gap: seconds between the frames of a pair (with a ``diff`` stream).
        members: independent softmax heads averaged (:func:`build_head`).
        finetune: train the last 1-3 blocks of MobileNetV2 too (:func:`split_backbone`):
            ``backbone`` is then the frozen part (its 7 × 7 maps are what training caches)
            and ``head`` holds the trainable blocks. One stream only.

    Raises:
        VidaugError: unknown backbone or stream, fewer than 2 classes or members < 1,
            ``finetune`` with two streams.
        WeightsNotFoundError: the weights cannot be found or downloaded (offline, no
            network; the message names the URL and the cache file).
    """
    from vidaug.datasets import FramePairs
    from vidaug.mining import ensure_mobilenet_weights, load_mobilenet

    if num_classes < 2:
        raise VidaugError(f"a classifier needs at least 2 classes, got {num_classes}")
    if backbone not in BACKBONES:
        raise VidaugError(f"unknown backbone {backbone!r}: use one of {', '.join(BACKBONES)}")
    if not streams or set(streams) - {"rgb", "diff"}:
        raise VidaugError(f"streams must be rgb and / or diff, got {list(streams)}")
    if members < 1:
        raise VidaugError(f"members must be ≥ 1, got {members}")
    if not pair_gap > 0:
        raise VidaugError(f"pair_gap must be > 0 seconds, got {pair_gap}")
    net = load_mobilenet(ensure_mobilenet_weights(weights))  # finds the weights or says where
    if frame_size != 224:  # the no-top weights fit any input size; rebuild at this one
        weights_only = net.get_weights()
        net = keras.applications.MobileNetV2(
            weights=None, include_top=False, pooling="avg", input_shape=(frame_size, frame_size, 3)
        )
        net.set_weights(weights_only)
    net.trainable = False
    dims = int(net.output.shape[-1])
    top = None
    if finetune:
        if len(streams) > 1:
            raise VidaugError("finetune works on one stream (rgb or diff), not both")
        net, top = split_backbone(net, finetune)
    head = build_head(
        frames, dims * len(streams), num_classes, members=members, dropout=dropout,
        learning_rate=learning_rate, top=top,
    )  # fmt: skip

    paired = streams != ("rgb",)
    inp = keras.Input(((2 if paired else 1) * frames, frame_size, frame_size, 3), name="clip")
    parts = FramePairs(streams, gap_seconds=pair_gap, name="pairs")(inp) if paired else [inp]
    rescale = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")
    td = keras.layers.TimeDistributed(net, name="backbone")
    feats = [td(rescale(x)) for x in parts]
    x = feats[0] if len(feats) == 1 else keras.layers.Concatenate(name="features")(feats)
    name = f"{backbone}_classifier" if not paired else f"{backbone}_{'_'.join(streams)}"
    model = keras.Model(inp, head(x), name=name)
    return _compile(model, learning_rate)


def head_of(model: keras.Model) -> tuple[keras.Model, keras.Model] | None:
    """``(features_model, head)`` of a model made by :func:`build_classifier`, else None.

    ``features_model`` maps clips to the ``(frames, dims)`` features the head takes.
    """
    names = {layer.name for layer in model.layers}
    if not {"backbone", "head"} <= names:
        return None
    # several streams meet in "features"; one stream's features are the backbone's output
    src = model.get_layer("features" if "features" in names else "backbone")
    feats = keras.Model(model.input, src.output, name="frame_features")
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
        with warnings.catch_warnings():  # the frozen head's optimizer state is not needed
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model = keras.models.load_model(p, compile=False)
    except Exception as e:  # noqa: BLE001 - any broken or foreign file
        why = str(e).strip().split(". ")[0].rstrip(".")  # Keras' first sentence: the reason
        raise VidaugError(f"{p}: not a Keras model ({type(e).__name__}: {why})") from None
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 5:
        raise VidaugError(
            f"{p}: expected a video classifier with input (batch, frames, H, W, 3), got "
            f"{[tuple(i.shape) for i in model.inputs]}"
        )
    return _compile(model)


def input_spec(model: keras.Model) -> dict[str, Any]:
    """``frames`` (per sample: pairs count once), ``frame_size`` ``(H, W)`` and ``pair_gap``
    (seconds, None without pairs) a classifier expects."""
    shape = model.inputs[0].shape
    gap = None
    for layer in model.layers:
        if type(layer).__name__ == "FramePairs":
            gap = float(layer.gap_seconds)
    frames = int(shape[1]) // (2 if gap else 1)
    return {"frames": frames, "frame_size": (int(shape[2]), int(shape[3])), "pair_gap": gap}
