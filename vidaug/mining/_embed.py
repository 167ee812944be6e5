"""CNN frame embeddings: MobileNetV2 (ImageNet) by default, any Keras image model allowed.

Decoding runs in a thread pool while the model runs on full batches in the calling thread
(OpenCV and TensorFlow both release the GIL), so the model is not starved. Only the sampled
frames are converted and resized (the others are grabbed), in the decode threads. Embeddings are
float32 and L2-normalised; each clip also gets the normalised mean of its frame embeddings.

TensorFlow is imported only when an embedder is loaded.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidaug.datasets import ManifestRow, frame_indices, quiet_ffmpeg, read_clip
from vidaug.errors import VidaugError, VideoReadError
from vidaug.mining._gray import encode_thumbnails
from vidaug.mining._regions import (
    PROBE_FRAMES,
    PROBE_QUERY,
    PROBE_ROWS,
    REGION_FRAMES,
    REGION_GRID,
    content_box,
    region_crops,
    region_frames,
)
from vidaug.mining._relations import region_proposals, verified_windows
from vidaug.mining._store import damaged_clips
from vidaug.mining._vectors import clip_means, l2_normalize
from vidaug.mining._weights import (
    KERAS_CACHE_NAME,
    WeightsNotFoundError,
    ensure_mobilenet_weights,
    file_digests,
    load_mobilenet,
    resolve_mobilenet_weights,
)

__all__ = [
    "KERAS_CACHE_NAME",
    "ClipFrames",
    "Embedded",
    "FrameEmbedder",
    "WeightsNotFoundError",
    "clip_key",
    "MIN_SIDE",
    "embed_rows",
    "assemble_clip_rows",
    "iter_embedded",
    "chroma",
    "embed_windows",
    "verify_regions",
    "load_clip_frames",
    "load_embedder",
    "resolve_mobilenet_weights",
    "split_regions",
    "stack_regions",
]

#: Frames narrower or lower than this many pixels are refused: nothing to embed (and a 1-pixel
#: side has no region windows to cut).
MIN_SIDE = 8


#: The ``preprocess`` choices of :func:`load_embedder` besides ``auto``.
_SCALERS = ("mobilenet", "unit", "raw")


def _file_digest(path: str) -> str:
    return file_digests(path)[0][:12]


def _scaler(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The input scaling ``name``: ``mobilenet`` ([-1, 1], Keras' MobileNetV2
    ``preprocess_input``), ``unit`` ([0, 1]) or ``raw`` (as is)."""
    if name == "mobilenet":
        import keras

        return keras.applications.mobilenet_v2.preprocess_input
    if name == "unit":
        return lambda x: x / 255.0
    return lambda x: x


@dataclass
class FrameEmbedder:
    """A Keras image model that maps RGB frames to L2-normalised vectors.

    Attributes:
        model: the Keras model (frames in, one vector per frame out).
        model_id: identifies model + weights; an index refuses queries from another id.
        input_size: ``(height, width)`` frames are resized to.
        preprocess: turns a float32 RGB batch in [0, 255] into model input.
        spec: the :func:`load_embedder` arguments that rebuild it (how a worker process or a
            Ray actor loads the same model; None for an embedder made by hand).
        make_probe: builds :attr:`probe` on first use (None: no probe stage).
    """

    model: Any
    model_id: str
    input_size: tuple[int, int]
    preprocess: Callable[[np.ndarray], np.ndarray]
    dims: int = 0
    spec: dict[str, Any] | None = None
    make_probe: Callable[[], FrameEmbedder] | None = field(default=None, repr=False)
    _probe: FrameEmbedder | None = field(default=None, init=False, repr=False)

    @property
    def probe(self) -> FrameEmbedder | None:
        """The same model at a smaller input (:data:`~vidaug.mining._regions.PROBE_SIDE`) that
        embeds the probe stage's window crops (:mod:`vidaug.mining._regions`), built when
        first asked for (only a run with regions needs it); None: every region window is
        embedded at ``input_size`` (the stage is skipped)."""
        if self._probe is None and self.make_probe is not None:
            self._probe = self.make_probe()
        return self._probe

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Embed ``(N, h, w, 3)`` uint8 frames already at ``input_size``; returns ``(N, D)``."""
        x = self.preprocess(frames.astype(np.float32))
        y = np.asarray(self.model.predict_on_batch(x), dtype=np.float32).reshape(len(frames), -1)
        return l2_normalize(y)

    def embed_batched(self, frames: np.ndarray, batch: int) -> np.ndarray:
        """Embed ``frames`` in calls of exactly ``batch`` frames, the last one padded with
        copies of its last frame, so every call has the same shape (no retracing)."""
        out = []
        for lo in range(0, len(frames), batch):
            x = frames[lo : lo + batch]
            n = len(x)
            if n < batch:
                x = np.concatenate([x, np.repeat(x[-1:], batch - n, axis=0)])
            out.append(self(x)[:n])
        return np.concatenate(out)


def load_embedder(
    model: str | os.PathLike = "mobilenet_v2",
    *,
    weights: str | os.PathLike | None = None,
    layer: str | None = None,
    preprocess: str = "auto",
    offline: bool | None = None,
) -> FrameEmbedder:
    """Load the frame embedder.

    Args:
        model: ``"mobilenet_v2"`` (ImageNet MobileNetV2 1.0/224, global-average-pooled, 1280-d)
            or the path of a ``.keras`` / ``.h5`` image model, or of a video classifier with
            input ``(batch, frames, H, W, 3)`` such as `vidaug train` saves: a frame is then
            embedded as a clip that holds that frame.
        weights: MobileNetV2 weights file; None: ``VIDAUG_WEIGHTS``, else Keras' cache, else
            Keras' file fetched once into that cache (see
            :func:`~vidaug.mining._weights.ensure_mobilenet_weights`).
        layer: for a user model, the layer whose output is the embedding (default: the
            layer named ``embedding`` of a video classifier, else the penultimate layer, i.e.
            the features before the classifier head).
        preprocess: ``auto`` (MobileNetV2's [-1, 1] for the default model, raw [0, 255] for
            user models), ``mobilenet`` ([-1, 1]), ``unit`` ([0, 1]) or ``raw``.
        offline: never download the MobileNetV2 weights (None: ``VIDAUG_OFFLINE``).

    Raises:
        WeightsNotFoundError: the weights are not on this machine and cannot be fetched
            (offline, no network), or are not MobileNetV2's; decided before TensorFlow is
            imported when they are missing (the message names the URL and the cache file).
        VidaugError: the model file is missing or not an image model.
    """
    if preprocess not in ("auto", *_SCALERS):
        raise VidaugError(f"unknown preprocess {preprocess!r}: use auto, mobilenet, unit or raw")
    if str(model) == "mobilenet_v2":  # the weights are settled before TensorFlow starts
        return _mobilenet_embedder(weights, preprocess, offline)
    path = Path(model)
    if not path.is_file():
        raise VidaugError(f"{path}: no such model file (use 'mobilenet_v2' or a .keras file)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_ffmpeg():  # TensorFlow's C++ start-up chatter (absl, oneDNN) goes to fd 2
        import keras

    from vidaug.datasets import FramePairs  # noqa: F401 - registers it: motion classifiers load

    try:
        with warnings.catch_warnings():  # a saved classifier's optimizer state is not needed
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            net = keras.models.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001
        why = str(e).strip().split(". ")[0].rstrip(".")  # Keras' first sentence: the reason
        raise VidaugError(
            f"{path}: not a loadable Keras model ({type(e).__name__}: {why})"
        ) from None
    if any(type(layer).__name__ == "FramePairs" for layer in net.layers):
        raise VidaugError(
            f"{path}: this classifier sees the motion between paired frames, so it cannot embed "
            "single frames; embed with mobilenet_v2 or a frame classifier (vidaug train "
            "--model mobilenet_v2 or seed)"
        )
    shape = tuple(net.input_shape) if not isinstance(net.input_shape, list) else None
    video = shape is not None and len(shape) == 5 and shape[1] and shape[-1] == 3
    if video:  # a video classifier (e.g. from `vidaug train`): (batch, frames, H, W, 3)
        clip_len, shape = int(shape[1]), (shape[0], *shape[2:])
    if shape is None or len(shape) != 4 or shape[-1] != 3 or not shape[1] or not shape[2]:
        raise VidaugError(
            f"{path}: expected an image model with input (batch, height, width, 3) or a video "
            f"classifier with input (batch, frames, height, width, 3), got {net.input_shape}"
        )
    names = {lay.name for lay in net.layers}
    default = "embedding" if video and "embedding" in names else None
    try:
        if layer or default:
            target = net.get_layer(layer or default)
        else:
            target = net.layers[-2 if len(net.layers) > 1 else -1]
    except ValueError:
        raise VidaugError(f"{path}: no layer named {layer!r}") from None
    emb = keras.Model(net.inputs, target.output)
    if video:
        # A frame's embedding is the clip embedding of that frame held for the whole clip
        # (what a still camera would give); the classifier's own pooling stays untouched.
        frame = keras.Input(tuple(shape[1:]))
        held = keras.layers.Lambda(
            lambda x: keras.ops.repeat(keras.ops.expand_dims(x, 1), clip_len, axis=1)
        )(frame)
        emb = keras.Model(frame, emb(held))
    pre = _scaler("raw" if preprocess == "auto" else preprocess)
    digest = _file_digest(str(path))
    dims = int(np.prod(emb.output_shape[1:]))
    spec = {"model": str(path.resolve()), "weights": None, "layer": layer,
            "preprocess": preprocess}  # fmt: skip
    return FrameEmbedder(
        emb, f"{path.name}:{target.name}:{digest}", (shape[1], shape[2]), pre, dims, spec
    )


def _mobilenet_embedder(
    weights: str | os.PathLike | None, preprocess: str, offline: bool | None
) -> FrameEmbedder:
    """:func:`load_embedder`'s default model, with its probe twin (:func:`_probe_twin`)."""
    w = ensure_mobilenet_weights(weights, offline=offline)
    net = load_mobilenet(w)
    pre = _scaler("mobilenet" if preprocess == "auto" else preprocess)
    spec = {"model": "mobilenet_v2", "weights": w, "layer": None, "preprocess": preprocess}
    model_id = f"mobilenet_v2_1.0_224_avg:{_file_digest(w)}"
    return FrameEmbedder(net, model_id, (224, 224), pre, 1280, spec,
                         make_probe=functools.partial(_probe_twin, net, pre))  # fmt: skip


def _probe_twin(net: Any, pre: Callable[[np.ndarray], np.ndarray]) -> FrameEmbedder:
    """MobileNetV2 (``net``'s weights) at :data:`~vidaug.mining._regions.PROBE_SIDE` pixels: the
    probe stage's model (fully convolutional, so the same weights take the smaller input)."""
    import contextlib
    import sys

    import keras

    from vidaug.mining._regions import PROBE_SIDE

    side = (PROBE_SIDE, PROBE_SIDE)
    with contextlib.redirect_stdout(sys.stderr):  # Keras' notices; stdout stays for --json
        twin = keras.applications.MobileNetV2(
            weights=None, include_top=False, pooling="avg", input_shape=(*side, 3)
        )
    twin.set_weights(net.get_weights())
    return FrameEmbedder(twin, f"probe{PROBE_SIDE}", side, pre, int(twin.output_shape[-1]))


def clip_key(path: str | os.PathLike) -> dict[str, Any]:
    """What identifies a clip file's content cheaply: size and modification time."""
    st = os.stat(path)
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


@dataclass
class ClipFrames:
    """One decoded clip ready for the model (or the reason it could not be read)."""

    row: ManifestRow
    frames: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    probes: np.ndarray | None = None


def load_clip_frames(
    row: ManifestRow,
    size: tuple[int, int],
    k: int | None,
    fps: float | None,
    regions: bool = False,
    probe_size: tuple[int, int] | None = None,
) -> ClipFrames:
    """The sampled frames of a clip, black bars cropped away (:func:`content_box`), resized to
    the model's ``size`` (only they are decoded; see :func:`vidaug.datasets.read_clip`'s
    ``select``): the decode half of :func:`embed_rows`, what a distributed engine runs apart
    from the model.

    With ``regions``, the windows of :func:`~vidaug.mining._regions.region_crops` follow the
    frames in ``frames`` (``info["regions"]`` of them; ``info["frames"]`` frames first); with
    ``probe_size`` too, only the probe stage's images come, in ``probes``, at ``probe_size``:
    the windows of the :data:`~vidaug.mining._regions.PROBE_FRAMES`, then the
    :data:`~vidaug.mining._regions.PROBE_QUERY` frames whole (``info["windows"]`` = [], no
    window verified yet).

    A clip that cannot be used comes back with ``error`` set, never an exception: unreadable,
    frames smaller than :data:`MIN_SIDE` a side (``frame too small: 1x1``), frames OpenCV
    cannot crop or resize."""
    try:
        clip = read_clip(
            row.path, allow_truncated=True,
            select=lambda n, f: frame_indices(n, k, fps=fps, source_fps=f),
        )  # fmt: skip
    except VideoReadError as e:
        return ClipFrames(row, error=str(e))
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the run
        return ClipFrames(row, error=f"{row.path}: unreadable ({type(e).__name__}: {e})")
    H, W = clip.frames.shape[1:3]
    if min(H, W) < MIN_SIDE:
        return ClipFrames(
            row, error=f"{row.path}: frame too small: {W}x{H} (at least {MIN_SIDE} pixels a side)"
        )
    try:
        return _model_frames(row, clip, size, regions, probe_size)
    except Exception as e:  # noqa: BLE001 - OpenCV on an odd frame: this clip fails alone
        why = " ".join(str(e).split())[:200]
        return ClipFrames(row, error=f"{row.path}: frames not usable ({type(e).__name__}: {why})")


def _probe_images(full: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The probe stage's images of a clip's content frames ``full``, at ``size``: the windows
    of the probe frames, then the query frames whole."""
    crops = region_crops(full, size, among=PROBE_FRAMES)[0]
    at = region_frames(len(full))[list(PROBE_QUERY)]
    whole = [cv2.resize(full[i], (size[1], size[0]), interpolation=cv2.INTER_AREA) for i in at]
    return np.concatenate([crops, np.stack(whole)])


def _model_frames(
    row: ManifestRow,
    clip: Any,
    size: tuple[int, int],
    regions: bool,
    probe_size: tuple[int, int] | None = None,
) -> ClipFrames:
    """The decoded ``clip`` cropped to its content and resized for the model (see
    :func:`load_clip_frames`)."""
    h, w = size
    y0, y1, x0, x1 = content_box(clip.frames)
    full = clip.frames[:, y0:y1, x0:x1]
    frames = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in full])
    probing = regions and probe_size is not None
    probes = _probe_images(full, probe_size) if probing else None  # type: ignore[arg-type]
    crops = region_crops(full, size)[0] if regions and not probing else frames[:0]
    H, W = clip.frames.shape[1:3]
    info = {
        **clip_key(row.path),
        "frames": int(len(frames)),
        "frame_indices": [int(i) for i in clip.indices],
        "source_frames": int(clip.frame_count),
        "height": int(clip.source_size[0]),
        "width": int(clip.source_size[1]),
        "fps": float(clip.fps),
        "border": round(1.0 - (y1 - y0) * (x1 - x0) / (H * W), 4),
        "content_box": [round(y0 / H, 4), round(y1 / H, 4), round(x0 / W, 4), round(x1 / W, 4)],
        "chroma": chroma(full),
        "thumbs": encode_thumbnails(frames),  # from the model's images: anti-aliased, cheap
        "regions": PROBE_ROWS if probing else int(len(crops)),
    }
    if probing:
        info["windows"] = []
    return ClipFrames(row, np.concatenate([frames, crops]) if len(crops) else frames, info,
                      probes=probes)  # fmt: skip


def chroma(frames: np.ndarray) -> float:
    """Mean colourfulness of frames around their own colour cast: the mean of ``|(R − G) − m₁| +
    |(G − B) − m₂|`` with ``m₁``, ``m₂`` the means of ``R − G`` and ``G − B`` over the frames'
    pixels (every 4th row and column). 0 for a grayscale clip, also one its encoder tinted (a
    grayscale copy written as mp4 decodes with ``R − G`` and ``G − B`` a few levels off zero:
    about 5 with the plain ``|R − G| + |G − B|`` of earlier versions, which no threshold told
    from a pale colour clip; 0-0.9 now).
    One of the things that tell an original from its copies
    (:func:`~vidaug.mining.original_key`), and what makes a clip grayscale for the grayscale
    evidence (:mod:`vidaug.mining._gray`)."""
    x = frames[:, ::4, ::4].astype(np.int16)  # every 16th pixel: ~1 ms for 8 frames of 640 px
    rg, gb = x[..., 0] - x[..., 1], x[..., 1] - x[..., 2]
    c = np.abs(rg - rg.mean()).mean() + np.abs(gb - gb.mean()).mean()
    return round(float(c), 2)


def probe_rows(probed: np.ndarray) -> np.ndarray:
    """A clip's ``region_emb`` rows (:data:`~vidaug.mining._regions.PROBE_ROWS`, float32) from
    the probe model's embeddings of :func:`load_clip_frames`' ``probes``: each window's row of
    the probe frames holds its probe, the other frames' rows are zero until the window is
    verified, and the last row is the probe query (the query frames' mean, normalised)."""
    g = REGION_GRID**2
    d = probed.shape[1]
    rows = np.zeros((REGION_FRAMES, g, d), np.float32)
    rows[list(PROBE_FRAMES)] = probed[: len(PROBE_FRAMES) * g].reshape(-1, g, d)
    query = probed[len(PROBE_FRAMES) * g :].mean(axis=0)
    query /= max(float(np.linalg.norm(query)), 1e-12)
    return np.concatenate([rows.reshape(-1, d), query[None]])


def split_regions(clip_rows: np.ndarray, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A clip's embedded rows split into ``(frame rows, region rows)`` (see
    :func:`load_clip_frames`)."""
    n = int(info.get("frames", len(clip_rows)))
    return clip_rows[:n], clip_rows[n:]


@dataclass
class Embedded:
    """Embeddings of a list of clips.

    Attributes:
        clips: one dict per embedded clip: ``id`` (relative path), ``path``, label, split,
            group, size, mtime_ns, frames, frame_indices, source_frames, width, height, fps,
            border (share of the frame in black bars), content_box, chroma, thumbs (gray
            thumbnails, :mod:`vidaug.mining._gray`), regions (see :func:`load_clip_frames`).
        frame_emb: ``(F, D)`` float32 L2-normalised frame embeddings.
        frame_clip: ``(F,)`` int64 clip position of each frame row.
        clip_emb: ``(N, D)`` float32 normalised per-clip mean embeddings.
        failures: ``(clip id, message)`` for clips that could not be read.
        region_emb: ``(N, M, D)`` float16 L2-normalised embeddings of each clip's ``M``
            region windows (:mod:`vidaug.mining._regions`), or None when regions were off.
    """

    clips: list[dict[str, Any]]
    frame_emb: np.ndarray
    frame_clip: np.ndarray
    clip_emb: np.ndarray
    failures: list[tuple[str, str]] = field(default_factory=list)
    region_emb: np.ndarray | None = None


def stack_regions(parts: Sequence[np.ndarray], dims: int) -> np.ndarray | None:
    """Per-clip region rows (each ``(M, D)``) as one ``(N, M, D)`` float16 array, or None when
    a clip has none (regions off)."""
    if not parts or any(len(p) == 0 for p in parts):
        return None
    m = len(parts[0])
    if any(len(p) != m for p in parts):
        raise VidaugError("clips were embedded with different region settings")
    return np.stack(parts).astype(np.float16).reshape(len(parts), m, dims)


def _prefetch(rows: Sequence[Any], load: Callable[[Any], Any], workers: int) -> Iterator[Any]:
    """Decode rows (or other work items) in a thread pool, in order, keeping a bounded number
    in flight."""
    window = max(2, 4 * workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vidaug-decode") as pool:
        futures = [pool.submit(load, r) for r in rows[:window]]
        nxt = len(futures)
        try:
            for i in range(len(rows)):
                res = futures[i].result()
                futures[i] = None  # free the frames
                if nxt < len(rows):
                    futures.append(pool.submit(load, rows[nxt]))
                    nxt += 1
                yield res
        finally:  # stopped early (Ctrl-C): the decodes not started are dropped
            for f in futures:
                if f is not None:
                    f.cancel()


def embed_rows(
    rows: Sequence[ManifestRow],
    embedder: FrameEmbedder,
    *,
    frames: int | None = 8,
    fps: float | None = None,
    batch: int = 32,
    decode_workers: int = 2,
    regions: bool = False,
    on_clip: Callable[[ClipFrames], None] | None = None,
) -> Embedded:
    """Embed the sampled frames of every row.

    Args:
        rows: the clips (manifest rows).
        embedder: from :func:`load_embedder`.
        frames: frames per clip, spread uniformly (ignored when ``fps`` is given).
        fps: sample frames at this rate instead.
        batch: frames per model call (the last batch is padded to keep shapes fixed).
        decode_workers: decoding threads running ahead of the model.
        regions: also embed region windows (picture-in-picture evidence for
            :func:`~vidaug.mining.find_duplicates`): with an embedder that has a ``probe``
            model, the probe stage only (:mod:`vidaug.mining._regions`; the windows it proposes
            are verified by :func:`embed_windows`), else every window (one model pass each).
        on_clip: called for each clip once it is decoded (progress).

    Returns:
        An :class:`Embedded`; unreadable clips, frames smaller than :data:`MIN_SIDE` and
        embeddings that come out NaN or all zero are left out and listed in ``failures``.
    """
    parts = list(iter_embedded(rows, embedder, frames=frames, fps=fps, batch=batch,
                               decode_workers=decode_workers, regions=regions,
                               on_clip=on_clip))  # fmt: skip
    return _concat(parts, embedder.dims)


def iter_embedded(
    rows: Sequence[ManifestRow],
    embedder: FrameEmbedder,
    *,
    frames: int | None = 8,
    fps: float | None = None,
    batch: int = 32,
    decode_workers: int = 2,
    regions: bool = False,
    on_clip: Callable[[ClipFrames], None] | None = None,
) -> Iterator[Embedded]:
    """:func:`embed_rows` as it goes: after each model call, an :class:`Embedded` of the clips
    it finished (every row of theirs embedded) and of the failures since, in row order. A run
    that is stopped (Ctrl-C) has had every finished clip; the arguments are
    :func:`embed_rows`'."""
    if batch < 1:
        raise VidaugError("batch must be ≥ 1")
    probe = embedder.probe if regions else None
    side = probe.input_size if probe is not None else None
    load = lambda r: load_clip_frames(r, embedder.input_size, frames, fps, regions, side)  # noqa: E731
    clips: list[dict[str, Any]] = []  # decoded, not handed out yet
    sizes: list[int] = []  # their rows (frames, then region windows)
    probed: list[np.ndarray] = []  # with a probe model: their region rows, made at decode
    failures: list[tuple[str, str]] = []
    done: list[np.ndarray] = []  # model outputs of their first rows, in order
    pending: list[np.ndarray] = []  # their other rows, waiting for the model

    def step() -> Iterator[Embedded]:
        take = min(batch, len(pending))
        done.append(embedder.embed_batched(np.stack(pending[:take]), batch))
        del pending[:take]
        got = sum(len(x) for x in done)
        n, used = 0, 0
        while n < len(clips) and used + sizes[n] <= got:
            used, n = used + sizes[n], n + 1
        if n == 0:
            return
        out = np.concatenate(done)
        owner = np.repeat(np.arange(n, dtype=np.int64), sizes[:n])
        yield assemble_clip_rows(clips[:n], out[:used], owner, out.shape[1], failures,
                                 regions=probed[:n] if probe is not None else None)  # fmt: skip
        del clips[:n], sizes[:n], failures[:], probed[:n]
        done[:] = [out[used:]] if used < len(out) else []

    for cf in _prefetch(list(rows), load, max(1, decode_workers)):
        if on_clip:
            on_clip(cf)
        if cf.error:
            failures.append((cf.row.rel, cf.error))
            continue
        r = cf.row
        clips.append({"id": r.rel, "path": r.path, "label": r.label, "split": r.split,
                      "group": r.extra.get("group"), **cf.info})  # fmt: skip
        sizes.append(len(cf.frames))
        if probe is not None:  # a few small images: embedded now, in one call of fixed shape
            probed.append(probe_rows(probe(cf.probes)))
        pending.extend(cf.frames)
        while len(pending) >= batch:
            yield from step()
    while pending:
        yield from step()
    if failures:
        d = embedder.dims
        yield Embedded([], np.zeros((0, d), np.float32), np.zeros(0, np.int64),
                       np.zeros((0, d), np.float32), list(failures))  # fmt: skip


def _concat(parts: Sequence[Embedded], dims: int) -> Embedded:
    """The :class:`Embedded` of consecutive parts, in order."""
    full = [p for p in parts if p.clips]
    failures = [f for p in parts for f in p.failures]
    d = full[0].frame_emb.shape[1] if full else dims
    if not full:
        return Embedded([], np.zeros((0, d), np.float32), np.zeros(0, np.int64),
                        np.zeros((0, d), np.float32), failures)  # fmt: skip
    offsets = np.cumsum([0] + [len(p.clips) for p in full[:-1]])
    regions = None
    if all(p.region_emb is not None for p in full):
        regions = np.concatenate([p.region_emb for p in full])  # type: ignore[misc]
    return Embedded(
        [c for p in full for c in p.clips],
        np.concatenate([p.frame_emb for p in full]),
        np.concatenate([p.frame_clip + o for p, o in zip(full, offsets, strict=True)]),
        np.concatenate([p.clip_emb for p in full]),
        failures,
        regions,
    )


def assemble_clip_rows(
    clips: list[dict[str, Any]],
    rows: np.ndarray,
    owner: np.ndarray,
    dims: int,
    failures: list[tuple[str, str]] | None = None,
    *,
    regions: Sequence[np.ndarray] | None = None,
) -> Embedded:
    """The :class:`Embedded` of clips whose model outputs ``rows`` (owner clip ``owner``, each
    clip's rows together: frames, then region windows) came back from the model; ``regions``:
    each clip's region rows made apart (the probe stage, :func:`probe_rows`). A clip whose
    embedding is NaN or all zero (:func:`~vidaug.mining._store.damaged_clips`) is moved to the
    failures."""
    starts = np.searchsorted(owner, np.arange(len(clips) + 1))
    frame_parts, region_parts, fc = [], [], []
    for i, c in enumerate(clips):
        f, r = split_regions(rows[starts[i] : starts[i + 1]], c)
        frame_parts.append(f)
        region_parts.append(r if regions is None else regions[i])
        fc.append(np.full(len(f), i, np.int64))
    fe = np.concatenate(frame_parts) if frame_parts else np.zeros((0, dims), np.float32)
    frame_clip = np.concatenate(fc) if fc else np.zeros(0, np.int64)
    e = Embedded(clips, fe, frame_clip, clip_means(fe, frame_clip, len(clips)),
                 list(failures or []), stack_regions(region_parts, dims))  # fmt: skip
    bad = damaged_clips(e.frame_emb, e.frame_clip, e.clip_emb, e.region_emb)
    return _without(e, bad) if len(bad) else e


def _without(e: Embedded, bad: np.ndarray) -> Embedded:
    """``e`` less the clips at positions ``bad`` (damaged embeddings), which become failures."""
    keep = np.ones(len(e.clips), dtype=bool)
    keep[bad] = False
    rows = keep[e.frame_clip]
    new_pos = np.cumsum(keep) - 1
    lost = [(e.clips[i]["id"], f"{e.clips[i]['path']}: the model's embedding of this clip is "
             "NaN or all zero (a broken model or input); left out") for i in bad]  # fmt: skip
    return Embedded(
        [c for c, k in zip(e.clips, keep, strict=True) if k],
        e.frame_emb[rows],
        new_pos[e.frame_clip[rows]].astype(np.int64),
        e.clip_emb[keep],
        e.failures + lost,
        None if e.region_emb is None else e.region_emb[keep],
    )


def embed_windows(
    clips: Sequence[dict[str, Any]],
    embedder: FrameEmbedder,
    wanted: dict[int, list[int]],
    *,
    decode_workers: int = 2,
) -> tuple[dict[int, np.ndarray], list[tuple[str, str]]]:
    """The verify stage (:mod:`vidaug.mining._regions`): windows ``wanted`` (clip position →
    window indices) of ``clips`` (an index's clip table: ``path``, ``frame_indices``)
    re-embedded at the model's input size from all the region frames, as
    :func:`load_clip_frames` cuts them; the clips are decoded in ``decode_workers`` threads
    while the model runs.

    Returns:
        ``(windows, failures)``: clip position → ``(REGION_FRAMES, len(wanted[c]), D)``
        float32, and ``(clip id, message)`` for clips that could no longer be read (their
        windows stay unverified).
    """
    out: dict[int, np.ndarray] = {}
    failures: list[tuple[str, str]] = []
    images: list[np.ndarray] = []
    owners: list[tuple[int, int]] = []

    def flush() -> None:
        got = embedder.embed_batched(np.concatenate(images), _VERIFY_BATCH)
        at = 0
        for c, k in owners:
            out[c] = got[at : at + REGION_FRAMES * k].reshape(REGION_FRAMES, k, -1)
            at += REGION_FRAMES * k
        images.clear()
        owners.clear()

    def load(item: tuple[int, list[int]]) -> tuple[int, int, np.ndarray | str]:
        c, ws = item
        info = clips[c]
        idx = [int(i) for i in info.get("frame_indices") or []]
        try:
            clip = read_clip(info["path"], allow_truncated=True, select=lambda n, f: idx)
            y0, y1, x0, x1 = content_box(clip.frames)
            full = clip.frames[:, y0:y1, x0:x1]
            return c, len(ws), region_crops(full, embedder.input_size, windows=ws)[0]
        except Exception as e:  # noqa: BLE001 - a file gone or changed: its windows wait
            why = " ".join(str(e).split())[:160]
            return (
                c,
                len(ws),
                f"{info.get('path')}: windows not verified ({type(e).__name__}: {why})",
            )

    for c, k, crops in _prefetch(list(wanted.items()), load, max(1, decode_workers)):
        if isinstance(crops, str):
            failures.append((str(clips[c].get("id")), crops))
            continue
        images.append(crops)
        owners.append((c, k))
        if sum(len(x) for x in images) >= _VERIFY_CHUNK:
            flush()
    if images:
        flush()
    return out, failures


#: Window crops :func:`embed_windows` holds before it runs the model on them (at 224 px, 150 kB
#: each: about 40 MB).
_VERIFY_CHUNK = 256
#: Model batch of the verify stage: two windows' 4 frames. A few windows a run are usual, and a
#: batch padded to the frame pass's 32 would embed up to 31 images for nothing (measured on
#: embed_bench's 24 clips: 36 window images became 64).
_VERIFY_BATCH = 8


def verify_regions(index: Any, embedder: FrameEmbedder) -> tuple[int, list[tuple[str, str]]]:
    """The verify stage on an :class:`~vidaug.mining.EmbeddingIndex` whose clips went through
    the probe stage (:mod:`vidaug.mining._regions`): the windows
    :func:`~vidaug.mining._relations.region_proposals` proposes are embedded at the model's
    input size (:func:`embed_windows`) into ``index.region_emb`` (in place) and listed in
    their clips' ``windows``. Proposals are made once for each pair of clips: a clip the
    proposals have seen is marked ``proposed`` in the clip table (those that could not be read
    again are not), and only pairs with a clip not marked yet are proposed for (a clip added
    later is looked for inside the clips already there, and they inside it). Nothing to do
    for an index without region rows.

    Returns:
        ``(windows verified, failures)``: failures are clips that could not be read again
        (their windows stay unverified).
    """
    if index.region_emb is None or not len(index):
        return 0, []
    verified = verified_windows(index.clips)
    fresh = np.array([not c.get("proposed") for c in index.clips], bool)
    wanted = region_proposals(index.region_emb, index.clip_emb, verified, fresh=fresh)
    got, failures = embed_windows(index.clips, embedder, wanted) if wanted else ({}, [])
    unread = {f for f, _ in failures}
    for i in np.flatnonzero(fresh):
        if index.clips[int(i)].get("id") not in unread:
            index.clips[int(i)]["proposed"] = True
    if not wanted:
        return 0, []
    g = REGION_GRID**2
    region = index.region_emb
    if not region.flags.writeable:  # loaded from disk read-only, or shared: a private copy
        region = index.region_emb = np.array(region)
    for c, rows in got.items():
        ws = wanted[c]
        for j, w in enumerate(ws):
            region[c, w : g * REGION_FRAMES : g] = rows[:, j].astype(region.dtype)
        done = set(index.clips[c].get("windows") or []) | set(ws)
        index.clips[c]["windows"] = sorted(int(w) for w in done)
    return sum(len(wanted[c]) for c in got), failures
