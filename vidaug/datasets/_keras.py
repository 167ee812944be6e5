"""Keras data pipelines over manifest rows: :class:`ClipDataset` and :func:`clip_tf_dataset`.

Both read clips with :func:`read_clip`, resize them to the model's frame size, optionally apply
a vidaug recipe with a fresh reproducible seed per ``(epoch, clip)``, sample ``frames`` frames
spread over the clip, and batch them with one-hot labels. A clip that cannot be read is skipped
and counted (``failures``); it never stops an epoch.

Sampling is weighted: :meth:`ClipLoader.set_weights` changes how often each clip is drawn
(:class:`vidaug.training.HardSampleMiningCallback` uses it to oversample hard clips). With equal
weights an epoch is a permutation of the clips; otherwise ``len(rows)`` draws with replacement,
so the number of steps per epoch never changes.

This module imports Keras; ``vidaug.datasets`` exposes its names lazily.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import keras
import numpy as np

from vidaug.augment import RecipeLike, as_recipe
from vidaug.datasets._io import read_clip
from vidaug.datasets._manifest import ManifestRow, load_rows, require_labels
from vidaug.datasets._manifest import class_names as row_classes
from vidaug.datasets._sampling import frame_indices
from vidaug.datasets._seeds import clip_seed
from vidaug.errors import VidaugError

__all__ = [
    "ClipDataset",
    "ClipLoader",
    "FramePairs",
    "clip_tf_dataset",
    "pair_gap_frames",
    "sample_indices",
    "sample_pairs",
]


def sample_indices(n: int, frames: int) -> np.ndarray:
    """Exactly ``frames`` indices at the centres of equal segments of ``n`` frames (repeated
    when the clip is shorter): :func:`frame_indices` as a model's fixed input needs it."""
    if n < 1 or frames < 1:
        raise ValueError(f"need n ≥ 1 and frames ≥ 1, got {n}, {frames}")
    return frame_indices(n, frames, repeat=True)


def pair_gap_frames(gap_seconds: float, fps: float) -> int:
    """The frames between the two frames of a pair: ``gap_seconds`` at ``fps`` (at least 1),
    so a pair spans the same time whatever the camera's frame rate."""
    return max(1, round(float(gap_seconds) * float(fps)))


def sample_pairs(n: int, frames: int, gap: int) -> np.ndarray:
    """``2 × frames`` indices: ``frames`` pairs ``(t, t + gap)`` spread over ``n`` frames,
    interleaved ``[t0, t0 + gap, t1, t1 + gap, …]`` (what :class:`FramePairs` takes apart).
    A clip shorter than ``gap + 1`` frames pairs each frame with its last one."""
    if gap < 1:
        raise ValueError(f"gap must be ≥ 1, got {gap}")
    first = sample_indices(max(n - gap, 1), frames)
    out = np.empty(2 * frames, dtype=np.int64)
    out[0::2] = first
    out[1::2] = np.minimum(first + gap, n - 1)
    return out


@keras.saving.register_keras_serializable(package="vidaug")
class FramePairs(keras.layers.Layer):
    """Splits interleaved frame pairs ``(batch, 2T, H, W, 3)`` (from :func:`sample_pairs`)
    into one ``(batch, T, H, W, 3)`` tensor per stream, in [0, 255]:

    * ``rgb``: the first frame of each pair (appearance);
    * ``diff``: ``|second − first| × diff_scale``, clipped to 255 (RGB difference, as in
      TSN): what moved, with the static scene, the lighting and most colour cast removed.

    ``gap_seconds`` is not used by the layer itself; it records how far apart the pairs must
    be sampled, so a saved model tells the data pipeline how to feed it.
    """

    def __init__(
        self,
        streams: Sequence[str] = ("diff",),
        gap_seconds: float = 0.133,
        diff_scale: float = 4.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        bad = sorted(set(streams) - {"rgb", "diff"})
        if bad or not streams:
            raise ValueError(f"streams must be a non-empty list of rgb / diff, got {streams}")
        self.streams = tuple(streams)
        self.gap_seconds = float(gap_seconds)
        self.diff_scale = float(diff_scale)

    def call(self, x):
        first, second = x[:, 0::2], x[:, 1::2]
        out = []
        for s in self.streams:
            if s == "rgb":
                out.append(first)
            else:
                diff = keras.ops.abs(second - first) * self.diff_scale
                out.append(keras.ops.clip(diff, 0.0, 255.0))
        return out

    def compute_output_shape(self, input_shape):
        t = None if input_shape[1] is None else input_shape[1] // 2
        return [(input_shape[0], t, *input_shape[2:]) for _ in self.streams]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "streams": list(self.streams),
            "gap_seconds": self.gap_seconds,
            "diff_scale": self.diff_scale,
        }


def _frame_shape(frame_size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(frame_size, int):
        return (frame_size, frame_size)
    return (int(frame_size[0]), int(frame_size[1]))


def _resize(clip: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if clip.shape[1:3] == hw:
        return clip
    interp = cv2.INTER_AREA if clip.shape[1] > hw[0] else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (hw[1], hw[0]), interpolation=interp) for f in clip])


class ClipLoader:
    """Reads, caches, augments and samples the clips of a list of manifest rows (no Keras).

    Args:
        rows: manifest rows, or anything :func:`load_rows` takes. Every row needs a label.
        class_names: the classes, in output order (default: the sorted labels).
        frames: frames per sample.
        frame_size: the model's input frames: ``(height, width)``, or an int for square frames
            (every frame is resized to exactly this; unlike ``size=`` of :func:`read_clip` and
            :class:`~vidaug.augment.Resize`, where an int is the shorter side).
        recipe: the augmentation applied before sampling: a preset name, a YAML path, a
            :class:`~vidaug.augment.Recipe` or a transform (:func:`~vidaug.augment.as_recipe`);
            None for none.
        seed: the base seed: the recipe's seed for clip ``rel`` at epoch ``e`` is
            ``clip_seed(seed, rel, e)``, and the epoch order comes from ``(seed, e)``.
        fps: decode at this frame rate (fewer frames to keep in memory); None keeps all.
        cache: keep decoded (resized, un-augmented) clips in memory.
        pair_gap: seconds between the two frames of a pair; when set, a sample is ``frames``
            pairs, ``2 × frames`` frames interleaved (:func:`sample_pairs`), for models that
            start with :class:`FramePairs`.

    Raises:
        VidaugError: a row without label, a label not in ``class_names``, or no rows.
    """

    def __init__(
        self,
        rows: Sequence[ManifestRow] | str | os.PathLike,
        class_names: Sequence[str] | None = None,
        *,
        frames: int = 8,
        frame_size: int | tuple[int, int] = 64,
        recipe: RecipeLike | None = None,
        seed: int = 0,
        fps: float | None = None,
        cache: bool = True,
        pair_gap: float | None = None,
    ) -> None:
        if pair_gap is not None and not pair_gap > 0:
            raise ValueError(f"pair_gap must be > 0 seconds, got {pair_gap}")
        if isinstance(rows, (str, os.PathLike, Path)):
            rows = load_rows(rows)
        self.rows = list(rows)
        if not self.rows:
            raise VidaugError("no clips to load")
        require_labels(self.rows, "training")
        self.class_names = list(class_names) if class_names else row_classes(self.rows)
        lookup = {c: i for i, c in enumerate(self.class_names)}
        unknown = sorted({r.label for r in self.rows} - set(lookup))
        if unknown:
            raise VidaugError(f"labels {unknown} are not among the classes {self.class_names}")
        self.labels = np.array([lookup[r.label] for r in self.rows], dtype=np.int64)
        self.frames = int(frames)
        self.frame_size = _frame_shape(frame_size)
        self.recipe = None if recipe is None else as_recipe(recipe).transform
        self.seed = int(seed)
        self.fps = fps
        self.cache = cache
        self.pair_gap = pair_gap
        self.failures: dict[str, str] = {}
        self.weights = np.ones(len(self.rows))
        self._clips: dict[int, np.ndarray] = {}
        self._fps: dict[int, float] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ids(self) -> list[str]:
        return [r.rel for r in self.rows]

    @property
    def frames_per_sample(self) -> int:
        """Frames in one sample: ``frames``, or ``2 × frames`` with pairs."""
        return self.frames * (2 if self.pair_gap else 1)

    def _pick(self, n: int, fps: float) -> np.ndarray:
        if self.pair_gap:
            return sample_pairs(n, self.frames, pair_gap_frames(self.pair_gap, fps))
        return sample_indices(n, self.frames)

    def load(self, i: int) -> np.ndarray:
        """Clip ``i`` decoded and resized, un-augmented, ``(T, H, W, 3)`` uint8.

        Without a recipe only the sampled frames are kept (and cached): nothing else of the
        clip is ever used, and whole clips at 224 px would fill the memory.

        Raises:
            VidaugError: the clip cannot be read (also recorded in ``failures``).
        """
        clip = self._clips.get(i)
        if clip is not None:
            return clip
        row = self.rows[i]
        if row.rel in self.failures:
            raise VidaugError(self.failures[row.rel])
        try:
            decoded = read_clip(row.path, fps=self.fps)
            clip = _resize(decoded.frames, self.frame_size)
        except VidaugError as e:
            self.failures[row.rel] = str(e)
            raise
        except Exception as e:  # noqa: BLE001 - a decoder surprise must not stop an epoch
            self.failures[row.rel] = f"{row.path}: unreadable ({type(e).__name__}: {e})"
            raise VidaugError(self.failures[row.rel]) from None
        self._fps[i] = float(decoded.fps)
        if self.recipe is None:
            clip = np.ascontiguousarray(clip[self._pick(len(clip), decoded.fps)])
        if self.cache:
            with self._lock:
                self._clips[i] = clip
        return clip

    def samples(self, i: int, epochs: Sequence[int | None]) -> list[np.ndarray]:
        """One sample of clip ``i`` per entry of ``epochs`` (the clip is decoded once):
        augmented with the ``(epoch, clip)`` seed when a recipe is set and the entry is not
        None, un-augmented otherwise. Each is ``(frames_per_sample, H, W, 3)`` uint8."""
        clip = self.load(i)
        if self.recipe is None:
            return [clip for _ in epochs]  # already the sampled frames
        fps = self._fps.get(i, 30.0)
        out = []
        for epoch in epochs:
            c = clip
            if epoch is not None:
                seed = clip_seed(self.seed, self.rows[i].rel, epoch)
                c = _resize(np.asarray(self.recipe.augment(clip, seed=seed).clip), self.frame_size)
            out.append(c[self._pick(len(c), fps)])
        return out

    def sample(self, i: int, epoch: int | None = None) -> np.ndarray:
        """``frames`` frames (or pairs) of clip ``i``, augmented with the ``(epoch, clip)``
        seed when a recipe is set and ``epoch`` is not None; un-augmented otherwise."""
        return self.samples(i, [epoch])[0]

    def set_weights(self, weights: np.ndarray | None) -> None:
        """How often each clip is drawn (relative; 0 never). None resets to uniform."""
        if weights is None:
            self.weights = np.ones(len(self.rows))
            return
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(self.rows),) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"weights must be {len(self.rows)} finite values ≥ 0")
        if w.sum() <= 0:
            raise ValueError("at least one clip needs a weight > 0")
        self.weights = w

    def order(self, epoch: int, shuffle: bool = True) -> np.ndarray:
        """The clips of epoch ``epoch``: a permutation, or weighted draws with replacement."""
        n = len(self.rows)
        rng = np.random.default_rng([self.seed, epoch, 0x5EED])
        if np.all(self.weights == self.weights[0]):
            return rng.permutation(n) if shuffle else np.arange(n)
        return rng.choice(n, size=n, replace=True, p=self.weights / self.weights.sum())

    def one_hot(self, idx: Sequence[int]) -> np.ndarray:
        out = np.zeros((len(idx), len(self.class_names)), dtype=np.float32)
        out[np.arange(len(idx)), self.labels[np.asarray(idx, dtype=np.int64)]] = 1.0
        return out

    def gather(
        self, order: np.ndarray, start: int, count: int, epoch: int | None
    ) -> tuple[np.ndarray, list[int]]:
        """Up to ``count`` samples from ``order[start:]``, skipping clips that fail (then
        taking the next ones of the order, wrapping around) so a batch is never empty while
        any clip can be read."""
        want = max(1, min(count, len(order) - start))
        xs, got = [], []
        for j in range(len(order)):
            if len(got) == want:
                break
            i = int(order[(start + j) % len(order)])
            try:
                xs.append(self.sample(i, epoch))
            except VidaugError:
                continue
            got.append(i)
        if not got:
            raise VidaugError(
                f"none of the {len(self.rows)} clips can be read (e.g. "
                f"{next(iter(self.failures.values()), '?')})"
            )
        return np.stack(xs), got

    def clean_batches(self, batch_size: int = 32) -> Iterator[tuple[np.ndarray, list[int]]]:
        """Every readable clip once, un-augmented, in row order: ``(frames, positions)``."""
        good: list[int] = []
        xs: list[np.ndarray] = []
        for i in range(len(self.rows)):
            try:
                xs.append(self.sample(i, None))
            except VidaugError:
                continue
            good.append(i)
            if len(good) == batch_size:
                yield np.stack(xs), good
                xs, good = [], []
        if good:
            yield np.stack(xs), good


class ClipDataset(keras.utils.PyDataset):
    """A ``keras.utils.PyDataset`` of ``(frames, one_hot)`` batches over manifest rows.

    ``x`` is float32 ``(batch, frames, H, W, 3)`` in [0, 255] (models rescale themselves),
    ``y`` one-hot float32 ``(batch, classes)``. Each epoch draws a new order and, with a
    recipe, new augmentation params per clip, reproducibly from ``seed``.

    With ``features`` (a frozen backbone), every clip goes through the backbone once per
    *view* and the batches carry features: view 0 is the clip un-augmented, views 1…``views``
    are augmented with ``recipe`` (view ``v`` uses the seed of epoch ``v``), and each epoch
    draws one view per clip. A strong recipe then costs ``views + 1`` forward passes per clip
    in all, not one per epoch, and no decoded clip is kept once its features are.

    Args:
        rows: manifest rows or a path :func:`load_rows` takes.
        class_names: class order (default: sorted labels).
        frames, frame_size, recipe, seed, fps, cache, pair_gap: see :class:`ClipLoader`.
        batch_size: clips per batch.
        shuffle: draw a new order each epoch (weighted sampling always draws).
        features: optional callable mapping a ``(B, T, H, W, 3)`` batch to features (a frozen
            backbone); batches then carry features instead of frames.
        views: augmented views per clip to embed with ``features`` (needs a recipe; 0 = only
            the un-augmented clip, and then ``recipe`` must be None).
        precomputed: the features of every view and row, ``(views + 1, len(rows), …)``, when
            they were computed already (e.g. once for all folds of a cross-validation).
        outputs: how many outputs the model has (one target per output: ensemble members).
        sample_weight: also yield a per-sample weight (the clip's current weight).
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` for Keras.
    """

    def __init__(
        self,
        rows: Sequence[ManifestRow] | str | os.PathLike,
        class_names: Sequence[str] | None = None,
        *,
        frames: int = 8,
        frame_size: int | tuple[int, int] = 64,
        batch_size: int = 8,
        recipe: RecipeLike | None = None,
        seed: int = 0,
        shuffle: bool = True,
        fps: float | None = None,
        cache: bool = True,
        pair_gap: float | None = None,
        features: Callable[[np.ndarray], np.ndarray] | None = None,
        views: int = 0,
        precomputed: np.ndarray | None = None,
        outputs: int = 1,
        sample_weight: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if views < 0 or outputs < 1:
            raise ValueError(f"views must be ≥ 0 and outputs ≥ 1, got {views}, {outputs}")
        cached = features is not None or precomputed is not None
        if cached and recipe is not None and views == 0:
            raise ValueError(
                "cached features need un-augmented input: pass recipe=None or views ≥ 1"
            )
        if views and (recipe is None or not cached):
            raise ValueError(
                "views are augmented copies embedded once: they need a recipe and features"
            )
        self.loader = ClipLoader(
            rows, class_names, frames=frames, frame_size=frame_size, recipe=recipe, seed=seed, fps=fps,
            cache=cache and not (cached and recipe is not None), pair_gap=pair_gap,
        )  # fmt: skip
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.sample_weight = sample_weight
        self.views = int(views)
        self.outputs = int(outputs)
        self.epoch = 0
        self._features_fn = features
        self._features: np.ndarray | None = None
        if precomputed is not None:
            if precomputed.shape[:2] != (views + 1, len(self.loader.rows)):
                raise ValueError(
                    f"precomputed features must be (views + 1, rows, …) = ({views + 1}, "
                    f"{len(self.loader.rows)}, …), got {precomputed.shape}"
                )
            self._features = precomputed
        self._view_choice: np.ndarray | None = None
        self._order = self.loader.order(0, shuffle)

    # -- what callbacks and users read -------------------------------------------------------
    @property
    def class_names(self) -> list[str]:
        return self.loader.class_names

    @property
    def rows(self) -> list[ManifestRow]:
        return self.loader.rows

    @property
    def failures(self) -> dict[str, str]:
        """Clips that could not be read: ``rel → message``."""
        return self.loader.failures

    @property
    def cached(self) -> bool:
        """True when batches carry backbone features (see ``features``)."""
        return self._features_fn is not None or self._features is not None

    def set_weights(self, weights: np.ndarray | None) -> None:
        """Change how often each clip is drawn from the next epoch on (see ClipLoader)."""
        self.loader.set_weights(weights)

    def set_views(self, choice: np.ndarray | None) -> None:
        """Which view of each clip the next epochs use (``(len(rows),)`` ints in
        ``0…views``); None goes back to a random view per clip and epoch."""
        if choice is not None:
            c = np.asarray(choice, dtype=np.int64)
            if c.shape != (len(self.rows),) or c.min() < 0 or c.max() > self.views:
                raise ValueError(f"view choice must be {len(self.rows)} ints in 0…{self.views}")
            choice = c
        self._view_choice = choice

    def readable(self) -> np.ndarray:
        """Positions of the rows whose clip could be read."""
        return np.array(
            [i for i, r in enumerate(self.rows) if r.rel not in self.failures], dtype=np.int64
        )

    def clean_inputs(self, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs of every readable clip, un-augmented (features when cached), and
        their positions."""
        if self.cached:
            feats = self.view_features()
            ok = self.readable()
            return feats[0][ok], ok
        xs, pos = [], []
        for x, idx in self.loader.clean_batches(batch_size):
            xs.append(x.astype(np.float32))
            pos.extend(idx)
        return np.concatenate(xs), np.asarray(pos, dtype=np.int64)

    def view_features(
        self,
        on_clip: Callable[[int, int], None] | None = None,
        *,
        plain: np.ndarray | None = None,
    ) -> np.ndarray:
        """Backbone features of every view of every row, ``(views + 1, len(rows), …)``
        (computed on first use, calling ``on_clip(done, total)`` after each clip; rows that
        cannot be read are zeros and listed in ``failures``). ``plain``: view 0 (the clips
        un-augmented, ``(len(rows), …)``) when it is known already, e.g. from another
        workflow's features of the same clips: only the augmented views are embedded."""
        if self._features is None:
            if plain is None:
                self._features = self._embed_views(on_clip)
            else:
                aug = self._embed_views(on_clip, first=1)
                self._features = np.concatenate([plain[None].astype(aug.dtype), aug])
        return self._features

    def _embed_views(
        self, on_clip: Callable[[int, int], None] | None = None, first: int = 0
    ) -> np.ndarray:
        out: np.ndarray | None = None
        epochs = [None, *range(1, self.views + 1)][first:]
        xs: list[np.ndarray] = []
        where: list[tuple[int, int]] = []

        def flush() -> None:
            nonlocal out, xs, where
            f = np.asarray(self._features_fn(np.stack(xs).astype(np.float32)))
            if out is None:
                out = np.zeros((len(epochs), len(self.rows), *f.shape[1:]), dtype=np.float32)
            for (v, i), fi in zip(where, f, strict=True):
                out[v, i] = fi
            xs, where = [], []

        for i in range(len(self.rows)):
            try:
                views = self.loader.samples(i, epochs)
            except VidaugError:
                continue
            for v, x in enumerate(views):
                xs.append(x)
                where.append((v, i))
            if len(xs) >= 32:
                flush()
            if on_clip is not None:
                on_clip(i + 1, len(self.rows))
        if xs:
            flush()
        self.loader._clips.clear()  # the frames are not needed once their features are
        if out is None:
            raise VidaugError(
                f"none of the {len(self.rows)} clips can be read (e.g. "
                f"{next(iter(self.failures.values()), '?')})"
            )
        return out

    def _views_for(self, epoch: int) -> np.ndarray:
        if self._view_choice is not None:
            return self._view_choice
        if not self.views:
            return np.zeros(len(self.rows), dtype=np.int64)
        rng = np.random.default_rng([self.loader.seed, epoch, 0x51E3])
        return rng.integers(0, self.views + 1, size=len(self.rows))

    # -- the PyDataset protocol ----------------------------------------------------------------
    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, b: int):
        if self.cached:
            feats = self.view_features()
            bad = self.failures
            idx = [
                int(i)
                for i in self._order[b * self.batch_size : (b + 1) * self.batch_size]
                if self.rows[int(i)].rel not in bad
            ] or [int(self.readable()[0])]
            x = feats[self._views_for(self.epoch)[idx], idx]
        else:
            epoch = self.epoch if self.loader.recipe is not None else None
            frames, idx = self.loader.gather(
                self._order, b * self.batch_size, self.batch_size, epoch
            )
            x = frames.astype(np.float32)
        y = self.loader.one_hot(idx)
        ys = y if self.outputs == 1 else tuple(y for _ in range(self.outputs))
        if self.sample_weight:
            w = self.loader.weights[idx]
            w = (w / max(float(self.loader.weights.mean()), 1e-12)).astype(np.float32)
            return x, ys, (w if self.outputs == 1 else tuple(w for _ in range(self.outputs)))
        return x, ys

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self.loader.order(self.epoch, self.shuffle)


def clip_tf_dataset(
    rows: Sequence[ManifestRow] | str | os.PathLike,
    class_names: Sequence[str] | None = None,
    *,
    frames: int = 8,
    frame_size: int | tuple[int, int] = 64,
    batch_size: int = 8,
    recipe: RecipeLike | None = None,
    seed: int = 0,
    shuffle: bool = True,
    fps: float | None = None,
    pair_gap: float | None = None,
):
    """The same samples as :class:`ClipDataset`, as a ``tf.data.Dataset`` of
    ``(frames, one_hot)`` batches. Each iteration over it is one epoch (epoch 0, 1, …), so
    ``model.fit(ds, epochs=E)`` sees new params each epoch. Unreadable clips are skipped.

    Returns:
        ``(dataset, loader)``: the loader holds ``class_names`` and ``failures``.
    """
    import tensorflow as tf

    loader = ClipLoader(
        rows, class_names, frames=frames, frame_size=frame_size, recipe=recipe, seed=seed, fps=fps,
        pair_gap=pair_gap,
    )  # fmt: skip
    epochs = iter(range(1 << 62))
    h, w = loader.frame_size

    def gen():
        epoch = next(epochs)
        for i in loader.order(epoch, shuffle):
            try:
                x = loader.sample(int(i), epoch if recipe is not None else None)
            except VidaugError:
                continue
            yield x.astype(np.float32), loader.one_hot([int(i)])[0]

    spec = (
        tf.TensorSpec((loader.frames_per_sample, h, w, 3), tf.float32),
        tf.TensorSpec((len(loader.class_names),), tf.float32),
    )
    ds = tf.data.Dataset.from_generator(gen, output_signature=spec)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE), loader
