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

from vidaug.datasets._augment_job import clip_seed
from vidaug.datasets._io import read_clip
from vidaug.datasets._manifest import ManifestRow, load_rows, require_labels
from vidaug.errors import VidaugError

__all__ = ["ClipDataset", "ClipLoader", "clip_tf_dataset", "sample_indices"]


def sample_indices(n: int, frames: int) -> np.ndarray:
    """``frames`` indices spread uniformly over ``n`` frames (centres of equal segments)."""
    if n < 1 or frames < 1:
        raise ValueError(f"need n ≥ 1 and frames ≥ 1, got {n}, {frames}")
    return np.minimum(((np.arange(frames) + 0.5) * n / frames).astype(np.int64), n - 1)


def _size(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


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
        size: frame size, an int (square) or ``(height, width)``.
        recipe: a vidaug pipeline (anything with ``.augment(clip, seed=)``, e.g.
            ``load_recipe("light").transform``) applied before sampling; None for none.
        seed: the base seed: the recipe's seed for clip ``rel`` at epoch ``e`` is
            ``clip_seed(seed, rel, e)``, and the epoch order comes from ``(seed, e)``.
        fps: decode at this frame rate (fewer frames to keep in memory); None keeps all.
        cache: keep decoded (resized, un-augmented) clips in memory.

    Raises:
        VidaugError: a row without label, a label not in ``class_names``, or no rows.
    """

    def __init__(
        self,
        rows: Sequence[ManifestRow] | str | os.PathLike,
        class_names: Sequence[str] | None = None,
        *,
        frames: int = 8,
        size: int | tuple[int, int] = 64,
        recipe: Any = None,
        seed: int = 0,
        fps: float | None = None,
        cache: bool = True,
    ) -> None:
        if isinstance(rows, (str, os.PathLike, Path)):
            rows = load_rows(rows)
        self.rows = list(rows)
        if not self.rows:
            raise VidaugError("no clips to load")
        require_labels(self.rows, "training")
        self.class_names = (
            list(class_names) if class_names else sorted({str(r.label) for r in self.rows})
        )
        lookup = {c: i for i, c in enumerate(self.class_names)}
        unknown = sorted({r.label for r in self.rows} - set(lookup))
        if unknown:
            raise VidaugError(f"labels {unknown} are not among the classes {self.class_names}")
        self.labels = np.array([lookup[r.label] for r in self.rows], dtype=np.int64)
        self.frames = int(frames)
        self.size = _size(size)
        self.recipe = recipe
        self.seed = int(seed)
        self.fps = fps
        self.cache = cache
        self.failures: dict[str, str] = {}
        self.weights = np.ones(len(self.rows))
        self._clips: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ids(self) -> list[str]:
        return [r.rel for r in self.rows]

    def load(self, i: int) -> np.ndarray:
        """Clip ``i`` decoded and resized, un-augmented, ``(T, H, W, 3)`` uint8.

        Without a recipe only the ``frames`` sampled frames are kept (and cached): nothing
        else of the clip is ever used, and whole clips at 224 px would fill the memory.

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
            clip = _resize(read_clip(row.path, fps=self.fps).frames, self.size)
        except VidaugError as e:
            self.failures[row.rel] = str(e)
            raise
        except Exception as e:  # noqa: BLE001 - a decoder surprise must not stop an epoch
            self.failures[row.rel] = f"{row.path}: unreadable ({type(e).__name__}: {e})"
            raise VidaugError(self.failures[row.rel]) from None
        if self.recipe is None:
            clip = np.ascontiguousarray(clip[sample_indices(len(clip), self.frames)])
        if self.cache:
            with self._lock:
                self._clips[i] = clip
        return clip

    def sample(self, i: int, epoch: int | None = None) -> np.ndarray:
        """``frames`` frames of clip ``i``, augmented with the ``(epoch, clip)`` seed when a
        recipe is set and ``epoch`` is not None; un-augmented otherwise."""
        clip = self.load(i)
        if self.recipe is None:
            return clip  # already the sampled frames
        if epoch is not None:
            seed = clip_seed(self.seed, self.rows[i].rel, epoch)
            clip = _resize(np.asarray(self.recipe.augment(clip, seed=seed).clip), self.size)
        return clip[sample_indices(len(clip), self.frames)]

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

    Args:
        rows: manifest rows or a path :func:`load_rows` takes.
        class_names: class order (default: sorted labels).
        frames, size, recipe, seed, fps, cache: see :class:`ClipLoader`.
        batch_size: clips per batch.
        shuffle: draw a new order each epoch (weighted sampling always draws).
        features: optional callable mapping a ``(B, T, H, W, 3)`` batch to features, applied
            once per clip to un-augmented frames and cached (for frozen backbones); only
            without a recipe. Batches then carry features instead of frames.
        sample_weight: also yield a per-sample weight (the clip's current weight).
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size`` for Keras.
    """

    def __init__(
        self,
        rows: Sequence[ManifestRow] | str | os.PathLike,
        class_names: Sequence[str] | None = None,
        *,
        frames: int = 8,
        size: int | tuple[int, int] = 64,
        batch_size: int = 8,
        recipe: Any = None,
        seed: int = 0,
        shuffle: bool = True,
        fps: float | None = None,
        cache: bool = True,
        features: Callable[[np.ndarray], np.ndarray] | None = None,
        sample_weight: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if features is not None and recipe is not None:
            raise ValueError("cached features need un-augmented input: pass recipe=None")
        self.loader = ClipLoader(
            rows, class_names, frames=frames, size=size, recipe=recipe, seed=seed, fps=fps,
            cache=cache,
        )  # fmt: skip
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.sample_weight = sample_weight
        self.epoch = 0
        self._features_fn = features
        self._features: np.ndarray | None = None
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

    def set_weights(self, weights: np.ndarray | None) -> None:
        """Change how often each clip is drawn from the next epoch on (see ClipLoader)."""
        self.loader.set_weights(weights)

    def clean_inputs(self, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs of every readable clip, un-augmented (features when cached), and
        their positions."""
        if self._features_fn is not None:
            feats = self._cached_features()
            ok = np.array([i for i in range(len(self.rows)) if self.rows[i].rel not in
                           self.failures], dtype=np.int64)  # fmt: skip
            return feats[ok], ok
        xs, pos = [], []
        for x, idx in self.loader.clean_batches(batch_size):
            xs.append(x.astype(np.float32))
            pos.extend(idx)
        return np.concatenate(xs), np.asarray(pos, dtype=np.int64)

    def _cached_features(self) -> np.ndarray:
        if self._features is None:
            out: np.ndarray | None = None
            for x, idx in self.loader.clean_batches(32):
                f = np.asarray(self._features_fn(x.astype(np.float32)))
                if out is None:
                    out = np.zeros((len(self.rows), *f.shape[1:]), dtype=np.float32)
                out[idx] = f
            self._features = out
            self.loader._clips.clear()  # the frames are not needed once their features are
        return self._features

    # -- the PyDataset protocol ----------------------------------------------------------------
    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, b: int):
        if self._features_fn is not None:
            feats = self._cached_features()
            idx = [
                int(i)
                for i in self._order[b * self.batch_size : (b + 1) * self.batch_size]
                if self.rows[int(i)].rel not in self.failures
            ] or [int(np.flatnonzero([r.rel not in self.failures for r in self.rows])[0])]
            x = feats[idx]
        else:
            epoch = self.epoch if self.loader.recipe is not None else None
            frames, idx = self.loader.gather(
                self._order, b * self.batch_size, self.batch_size, epoch
            )
            x = frames.astype(np.float32)
        y = self.loader.one_hot(idx)
        if self.sample_weight:
            w = self.loader.weights[idx]
            return x, y, (w / max(float(self.loader.weights.mean()), 1e-12)).astype(np.float32)
        return x, y

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self.loader.order(self.epoch, self.shuffle)


def clip_tf_dataset(
    rows: Sequence[ManifestRow] | str | os.PathLike,
    class_names: Sequence[str] | None = None,
    *,
    frames: int = 8,
    size: int | tuple[int, int] = 64,
    batch_size: int = 8,
    recipe: Any = None,
    seed: int = 0,
    shuffle: bool = True,
    fps: float | None = None,
):
    """The same samples as :class:`ClipDataset`, as a ``tf.data.Dataset`` of
    ``(frames, one_hot)`` batches. Each iteration over it is one epoch (epoch 0, 1, …), so
    ``model.fit(ds, epochs=E)`` sees new params each epoch. Unreadable clips are skipped.

    Returns:
        ``(dataset, loader)``: the loader holds ``class_names`` and ``failures``.
    """
    import tensorflow as tf

    loader = ClipLoader(
        rows, class_names, frames=frames, size=size, recipe=recipe, seed=seed, fps=fps
    )
    epochs = iter(range(1 << 62))
    h, w = loader.size

    def gen():
        epoch = next(epochs)
        for i in loader.order(epoch, shuffle):
            try:
                x = loader.sample(int(i), epoch if recipe is not None else None)
            except VidaugError:
                continue
            yield x.astype(np.float32), loader.one_hot([int(i)])[0]

    spec = (
        tf.TensorSpec((frames, h, w, 3), tf.float32),
        tf.TensorSpec((len(loader.class_names),), tf.float32),
    )
    ds = tf.data.Dataset.from_generator(gen, output_signature=spec)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE), loader
