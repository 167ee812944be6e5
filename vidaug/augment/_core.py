"""Transform base class, registry, params records, boxes and the fused geometric path.

Every transform splits randomness from work (docs/ARCHITECTURE.md)::

    params = t.sample(rng, clip.shape)   # all randomness, once per clip
    out = t.apply(clip, params)          # deterministic, the same params for every frame

A transform that varies over time on purpose draws a smooth per-frame schedule in ``sample``
and ``apply`` reads it frame by frame. Params are plain JSON-serialisable dicts, so a run can
be logged (``vidaug augment`` writes them to its manifest) and replayed with :meth:`Transform.replay`.

Coordinates: geometric transforms describe themselves as 3×3 matrices in *corner*
coordinates (pixel ``i`` covers ``[i, i + 1)``), which compose by plain matrix products and are
the coordinates boxes use. :class:`vidaug.augment.Compose` multiplies the matrices of consecutive
geometric transforms and resamples each frame once (one ``cv2.warpAffine`` / ``warpPerspective``)
instead of once per transform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BOX_COLUMNS",
    "ApplyStage",
    "Augmented",
    "GeometricTransform",
    "IndexStage",
    "Stage",
    "WarpStage",
    "Params",
    "TemporalTransform",
    "Transform",
    "check_clip",
    "registry",
    "register",
]

Params = dict[str, Any]
Record = dict[str, Any]

#: Columns of a boxes array: one row per box, float64.
BOX_COLUMNS = ("frame", "track_id", "x1", "y1", "x2", "y2")

_REGISTRY: dict[str, type[Transform]] = {}

BorderMode = Literal["reflect", "constant", "replicate"]
_CV2_BORDER = {
    "reflect": cv2.BORDER_REFLECT_101,
    "constant": cv2.BORDER_CONSTANT,
    "replicate": cv2.BORDER_REPLICATE,
}
Interpolation = Literal["linear", "nearest", "cubic", "area"]
_CV2_INTERP = {
    "linear": cv2.INTER_LINEAR,
    "nearest": cv2.INTER_NEAREST,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
}


def register(cls: type[Transform]) -> type[Transform]:
    """Class decorator: make a transform available to recipes under its class name."""
    name = cls.__dict__.get("name", cls.__name__)
    cls.name = name
    _REGISTRY[name] = cls
    return cls


def registry() -> dict[str, type[Transform]]:
    """A copy of the registry: transform name → class (albumentations names are resolved lazily)."""
    return dict(sorted(_REGISTRY.items()))


def check_clip(clip: np.ndarray) -> np.ndarray:
    """Validate the clip contract: ``(T, H, W, 3)`` uint8 with ``T, H, W > 0``.

    Raises:
        TypeError: not a uint8 numpy array.
        ValueError: wrong number of dimensions or channels, or an empty clip.
    """
    if not isinstance(clip, np.ndarray):
        raise TypeError(f"clip must be a numpy array, got {type(clip).__name__}")
    if clip.dtype != np.uint8:
        raise TypeError(f"clip must be uint8, got {clip.dtype}")
    if clip.ndim != 4 or clip.shape[-1] != 3:
        raise ValueError(f"clip must have shape (T, H, W, 3), got {clip.shape}")
    if min(clip.shape[:3]) == 0:
        raise ValueError(f"clip is empty: shape {clip.shape}")
    return clip


def _empty_boxes() -> np.ndarray:
    return np.zeros((0, 6), dtype=np.float64)


def _check_boxes(boxes: Any) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return _empty_boxes()
    if arr.ndim != 2 or arr.shape[1] != 6:
        raise ValueError(f"boxes must have shape (N, 6) {BOX_COLUMNS}, got {arr.shape}")
    return arr


@dataclass
class Augmented:
    """The result of :meth:`Transform.augment` / :meth:`Transform.replay`.

    Attributes:
        clip: the augmented clip, ``(T', H', W', 3)`` uint8 RGB.
        params: the record of everything that was sampled; ``replay(clip, params)`` redoes it.
        boxes: the boxes moved with the clip (``(N, 6)`` float64, see ``BOX_COLUMNS``), or
            ``None`` when none were given.
    """

    clip: np.ndarray
    params: Record
    boxes: np.ndarray | None = field(default=None)


class Transform(BaseModel):
    """Base class of every vidaug transform.

    Subclasses declare their arguments as pydantic fields (validated, frozen) and implement
    :meth:`sample` and :meth:`apply`. ``p`` is the probability that the transform runs at all.

    Class attributes:
        kind: ``"spatial"``, ``"photometric"``, ``"temporal"`` or ``"composite"``.
        consistent: True when a clip of identical frames stays identical after the transform
            (one set of params for all frames). False for per-frame noise and for time-varying
            transforms.
    """

    # NaN and ±inf are refused for every float argument (each one also has a finite range)
    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, allow_inf_nan=False
    )

    name: ClassVar[str] = "Transform"
    kind: ClassVar[str] = "photometric"
    consistent: ClassVar[bool] = True
    #: :meth:`apply_chunk` works on any run of frames (False: the transform needs the whole
    #: clip at once, e.g. face tracking across frames; such clips cannot be streamed).
    chunkable: ClassVar[bool] = True
    #: params keys holding one value per frame (time-varying schedules), sliced per chunk.
    frame_params: ClassVar[tuple[str, ...]] = ()

    p: float = Field(1.0, ge=0.0, le=1.0, description="probability of applying the transform")

    def is_consistent(self) -> bool:
        """True when this configured transform keeps identical frames identical."""
        return self.consistent

    # -- the two methods subclasses implement -------------------------------------------------
    def sample(self, rng: np.random.Generator, shape: tuple[int, ...]) -> Params:
        """Draw every random parameter for a clip of ``shape`` ``(T, H, W, C)``."""
        return {}

    def apply(self, clip: np.ndarray, params: Params) -> np.ndarray:
        """Apply with fixed ``params``; deterministic. Must not modify ``clip`` in place."""
        raise NotImplementedError

    def apply_boxes(self, boxes: np.ndarray, params: Params, shape: tuple[int, ...]) -> np.ndarray:
        """Move boxes ``(N, 6)`` the way :meth:`apply` moves pixels (identity by default)."""
        return boxes

    def output_shape(self, params: Params, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape :meth:`apply` returns for a clip of ``shape`` (the same by default)."""
        return tuple(shape)

    def apply_chunk(
        self, chunk: np.ndarray, params: Params, frames: np.ndarray, shape: tuple[int, ...]
    ) -> np.ndarray:
        """Apply to some frames of a clip: ``chunk`` holds the frames ``frames`` (indices into
        a clip of ``shape``); the result equals ``apply(clip, params)[frames]``. This is what
        lets a long recording stream through in bounded memory.

        Raises:
            NotImplementedError: the transform needs the whole clip (:attr:`chunkable`).
        """
        if not self.chunkable:
            raise NotImplementedError(f"{self.name} needs the whole clip at once")
        if self.frame_params:
            params = {
                k: [v[int(i)] for i in frames] if k in self.frame_params and isinstance(v, list)
                else v
                for k, v in params.items()
            }  # fmt: skip
        return self.apply(chunk, params)

    # -- public calling API -------------------------------------------------------------------
    def __call__(
        self,
        clip: np.ndarray,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Augment ``clip`` and return the new clip (see :meth:`augment` for params and boxes)."""
        return self.augment(clip, seed=seed, rng=rng).clip

    def augment(
        self,
        clip: np.ndarray,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        boxes: Any = None,
    ) -> Augmented:
        """Augment a clip and return the clip, the params applied and the moved boxes.

        Args:
            clip: ``(T, H, W, 3)`` uint8 RGB.
            seed: an int seed (same seed → same output). Exclusive with ``rng``.
            rng: a ``np.random.Generator`` to draw from. Neither → fresh OS entropy.
            boxes: optional per-frame boxes, ``(N, 6)``: frame, track_id, x1, y1, x2, y2 in
                pixels. They go through the same params as the pixels.

        Returns:
            An :class:`Augmented` with ``clip``, ``params`` and ``boxes``.
        """
        if seed is not None and rng is not None:
            raise ValueError("pass either seed or rng, not both")
        if rng is None:
            rng = np.random.default_rng(seed)
        clip = check_clip(clip)
        bx = None if boxes is None else _check_boxes(boxes)
        out, bx, record = self._run(clip, bx, rng)
        return Augmented(np.ascontiguousarray(out), record, bx)

    def replay(self, clip: np.ndarray, params: Record, *, boxes: Any = None) -> Augmented:
        """Apply a params record from :meth:`augment` again (no randomness involved)."""
        clip = check_clip(clip)
        bx = None if boxes is None else _check_boxes(boxes)
        out, bx = self._replay(clip, bx, params)
        return Augmented(np.ascontiguousarray(out), params, bx)

    # -- configuration ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain dict ``{"name": ..., **arguments}``; :func:`from_dict` rebuilds the transform."""
        return {"name": self.name, **self.model_dump(mode="json")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.model_dump().items())
        return f"{self.name}({args})"

    __str__ = __repr__

    # -- internals ----------------------------------------------------------------------------
    def _skip(self, rng: np.random.Generator) -> bool:
        return self.p < 1.0 and rng.random() >= self.p

    def _plan(self, rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[Record, tuple]:
        """Draw the params record for a clip of ``shape`` (no pixels needed) and the output
        shape. Composites draw their children in order from the same ``rng``."""
        if self._skip(rng):
            return {"name": self.name, "params": None}, tuple(shape)
        params = self.sample(rng, shape)
        return {"name": self.name, "params": params}, self.output_shape(params, shape)

    def _stages(self, record: Record, shape: tuple[int, ...]) -> tuple[list[Stage], tuple]:
        """The execution plan of a params record: stages and the output shape."""
        _check_record(self, record)
        params = record.get("params")
        if params is None:
            return [], tuple(shape)
        out = self.output_shape(params, shape)
        return [ApplyStage(tuple(shape), out, self, params)], out

    def _run(
        self, clip: np.ndarray, boxes: np.ndarray | None, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None, Record]:
        record, _ = self._plan(rng, clip.shape)
        clip, boxes = self._replay(clip, boxes, record)
        return clip, boxes, record

    def _replay(
        self, clip: np.ndarray, boxes: np.ndarray | None, record: Record
    ) -> tuple[np.ndarray, np.ndarray | None]:
        stages, _ = self._stages(record, clip.shape)
        for st in stages:
            clip = st.run(clip)
            if boxes is not None:
                boxes = st.move_boxes(boxes)
        return clip, boxes


# -------------------------------------------------------------------------------------------
# Stages: a params record as a list of steps, run on a whole clip or chunk by chunk
# -------------------------------------------------------------------------------------------
@dataclass
class Stage:
    """One step of an execution plan (see :meth:`Transform._stages`).

    Attributes:
        shape: the step's input clip shape; ``out_shape`` its output shape.
    """

    shape: tuple
    out_shape: tuple

    #: the step runs frame by frame (False: a temporal index map, see :class:`IndexStage`).
    framewise: ClassVar[bool] = True

    def run(self, clip: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
        """The whole clip (``frames`` None), or a chunk holding the input frames ``frames``."""
        raise NotImplementedError

    def move_boxes(self, boxes: np.ndarray) -> np.ndarray:
        return boxes

    @property
    def chunkable(self) -> bool:
        return True


@dataclass
class ApplyStage(Stage):
    """A transform applied with its params."""

    transform: Transform
    params: Params

    def run(self, clip, frames=None):
        if frames is None:
            return self.transform.apply(clip, self.params)
        return self.transform.apply_chunk(clip, self.params, frames, self.shape)

    def move_boxes(self, boxes):
        return self.transform.apply_boxes(boxes, self.params, self.shape)

    @property
    def chunkable(self) -> bool:
        return self.transform.chunkable


@dataclass
class WarpStage(Stage):
    """Consecutive geometric transforms fused into one warp per frame."""

    matrix: np.ndarray
    out_hw: tuple[int, int]
    interpolation: str
    border: str | None
    fill: int

    def run(self, clip, frames=None):
        m = self.matrix
        if frames is not None and m.ndim == 3:
            m = m[np.asarray(frames, dtype=np.int64)]
        return warp_clip(clip, m, self.out_hw, self.interpolation, self.border, self.fill)

    def move_boxes(self, boxes):
        return transform_boxes(boxes, self.matrix, self.out_hw)


@dataclass
class IndexStage(Stage):
    """A temporal transform: output frame ``j`` is input frame ``index[j]`` (-1: black)."""

    framewise: ClassVar[bool] = False
    transform: Transform
    params: Params
    index: np.ndarray

    def run(self, clip, frames=None):
        if frames is not None:
            raise ValueError("an index stage maps frames; the stream resolves it")
        return self.transform.apply(clip, self.params)

    def move_boxes(self, boxes):
        return self.transform.apply_boxes(boxes, self.params, self.shape)


def _check_record(t: Transform, record: Record) -> None:
    if not isinstance(record, dict) or record.get("name") != t.name:
        got = record.get("name") if isinstance(record, dict) else type(record).__name__
        raise ValueError(f"params record is for {got!r}, not {t.name!r}")


# -------------------------------------------------------------------------------------------
# Geometric transforms: described by matrices, fused by Compose
# -------------------------------------------------------------------------------------------
def translate(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])


def scale(sx: float, sy: float) -> np.ndarray:
    return np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]])


# Corner coordinates → OpenCV's pixel-centre coordinates: x_cv = x - 0.5.
_TO_CV = translate(-0.5, -0.5)
_FROM_CV = translate(0.5, 0.5)


class GeometricTransform(Transform):
    """A spatial transform that is a (possibly per-frame) 3×3 matrix plus an output size.

    Subclasses implement :meth:`matrices`; ``apply`` resamples every frame once with OpenCV.
    Subclasses may override ``apply`` with a faster exact path (slicing for crops and flips);
    :class:`Compose` still fuses them through :meth:`matrices`.

    Class attributes:
        border: the border mode for pixels sampled outside the input, or None when the
            transform never samples outside (crops inside the frame, flips, resizes).
        resamples: False when the transform alone needs no interpolation (crop, flip), so
            fusing it into a run costs nothing but fusing runs of only such transforms gains
            nothing either.
    """

    kind: ClassVar[str] = "spatial"
    resamples: ClassVar[bool] = True

    def border_mode(self) -> str | None:
        return getattr(self, "border", None)

    def fill_value(self) -> int:
        return int(getattr(self, "fill", 0))

    def interpolation_mode(self) -> str:
        return getattr(self, "interpolation", "linear")

    def matrices(
        self, params: Params, shape: tuple[int, ...]
    ) -> tuple[np.ndarray, tuple[int, int]]:
        """Return ``(M, (out_h, out_w))``: ``M`` is ``(3, 3)`` or per-frame ``(T, 3, 3)``,
        mapping input corner coordinates to output corner coordinates."""
        raise NotImplementedError

    def apply(self, clip: np.ndarray, params: Params) -> np.ndarray:
        m, out_hw = self.matrices(params, clip.shape)
        return warp_clip(
            clip, m, out_hw, self.interpolation_mode(), self.border_mode(), self.fill_value()
        )

    def apply_boxes(self, boxes: np.ndarray, params: Params, shape: tuple[int, ...]) -> np.ndarray:
        m, out_hw = self.matrices(params, shape)
        return transform_boxes(boxes, m, out_hw)

    def output_shape(self, params: Params, shape: tuple[int, ...]) -> tuple[int, ...]:
        _, out_hw = self.matrices(params, shape)
        return (shape[0], int(out_hw[0]), int(out_hw[1]), shape[3])

    def apply_chunk(self, chunk, params, frames, shape):
        m, out_hw = self.matrices(params, shape)
        if m.ndim == 2:  # one matrix for the clip: the transform's own (maybe exact) path
            return self.apply(chunk, params)
        m = m[np.asarray(frames, dtype=np.int64)]
        return warp_clip(
            chunk, m, out_hw, self.interpolation_mode(), self.border_mode(), self.fill_value()
        )


def _is_affine(m: np.ndarray) -> bool:
    return bool(np.allclose(m[..., 2, :2], 0.0) and np.allclose(m[..., 2, 2], 1.0))


def warp_clip(
    clip: np.ndarray,
    m: np.ndarray,
    out_hw: tuple[int, int],
    interpolation: str = "linear",
    border: str | None = "reflect",
    fill: int = 0,
) -> np.ndarray:
    """Resample every frame of ``clip`` with corner-coordinate matrix ``m`` ((3,3) or (T,3,3))."""
    t = clip.shape[0]
    out_h, out_w = int(out_hw[0]), int(out_hw[1])
    mats = np.broadcast_to(m, (t, 3, 3)) if m.ndim == 3 else None
    interp = _CV2_INTERP.get(interpolation, cv2.INTER_LINEAR)
    if interp == cv2.INTER_AREA:  # warps cannot do area averaging
        interp = cv2.INTER_LINEAR
    border_cv = _CV2_BORDER[border or "reflect"]
    value = (fill, fill, fill)
    out = np.empty((t, out_h, out_w, 3), dtype=np.uint8)
    affine = _is_affine(m)
    for i in range(t):
        mi = _TO_CV @ (m if mats is None else mats[i]) @ _FROM_CV
        if affine:
            cv2.warpAffine(
                clip[i],
                mi[:2],
                (out_w, out_h),
                dst=out[i],
                flags=interp,
                borderMode=border_cv,
                borderValue=value,
            )
        else:
            cv2.warpPerspective(
                clip[i],
                mi,
                (out_w, out_h),
                dst=out[i],
                flags=interp,
                borderMode=border_cv,
                borderValue=value,
            )
    return out


def transform_boxes(boxes: np.ndarray, m: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Map boxes through ``m`` (per-frame when ``m`` is (T,3,3)); take the bounding box of the
    moved corners, clip it to the output and drop boxes left with less than 1 px of width or
    height."""
    if len(boxes) == 0:
        return boxes
    out_h, out_w = out_hw
    if m.ndim == 3:
        idx = np.clip(boxes[:, 0].astype(np.int64), 0, m.shape[0] - 1)
        mats = m[idx]
    else:
        mats = np.broadcast_to(m, (len(boxes), 3, 3))
    x1, y1, x2, y2 = boxes[:, 2], boxes[:, 3], boxes[:, 4], boxes[:, 5]
    corners = np.stack(
        [
            np.stack([x1, y1], 1),
            np.stack([x2, y1], 1),
            np.stack([x1, y2], 1),
            np.stack([x2, y2], 1),
        ],
        axis=1,
    )  # (N, 4, 2)
    homo = np.concatenate([corners, np.ones((len(boxes), 4, 1))], axis=2)
    moved = np.einsum("nij,nkj->nki", mats, homo)
    moved = moved[..., :2] / moved[..., 2:3]
    nx1 = np.clip(moved[..., 0].min(1), 0, out_w)
    ny1 = np.clip(moved[..., 1].min(1), 0, out_h)
    nx2 = np.clip(moved[..., 0].max(1), 0, out_w)
    ny2 = np.clip(moved[..., 1].max(1), 0, out_h)
    out = boxes.copy()
    out[:, 2], out[:, 3], out[:, 4], out[:, 5] = nx1, ny1, nx2, ny2
    keep = ((nx2 - nx1) >= 1.0) & ((ny2 - ny1) >= 1.0)
    return out[keep]


# -------------------------------------------------------------------------------------------
# Temporal transforms: described by an index map
# -------------------------------------------------------------------------------------------
class TemporalTransform(Transform):
    """A transform that picks, reorders or repeats frames.

    Subclasses implement :meth:`indices`: the source frame of each output frame, ``-1`` for a
    black padding frame. Pixels are never changed, so boxes simply follow their frames.
    """

    kind: ClassVar[str] = "temporal"

    def indices(self, params: Params, t: int) -> np.ndarray:
        raise NotImplementedError

    def output_shape(self, params: Params, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (len(self.indices(params, shape[0])), *shape[1:])

    def _stages(self, record, shape):
        _check_record(self, record)
        params = record.get("params")
        if params is None:
            return [], tuple(shape)
        idx = np.asarray(self.indices(params, shape[0]), dtype=np.int64)
        out = (len(idx), *shape[1:])
        return [IndexStage(tuple(shape), out, self, params, idx)], out

    def apply(self, clip: np.ndarray, params: Params) -> np.ndarray:
        idx = np.asarray(self.indices(params, clip.shape[0]), dtype=np.int64)
        if len(idx) == 0:
            raise ValueError(f"{self.name} produced an empty clip")
        if (idx >= 0).all():
            return clip[idx]
        out = np.zeros((len(idx),) + clip.shape[1:], dtype=clip.dtype)
        valid = idx >= 0
        out[valid] = clip[idx[valid]]
        return out

    def apply_boxes(self, boxes: np.ndarray, params: Params, shape: tuple[int, ...]) -> np.ndarray:
        if len(boxes) == 0:
            return boxes
        idx = np.asarray(self.indices(params, shape[0]), dtype=np.int64)
        src = boxes[:, 0].astype(np.int64)
        # for each output frame j with source s, copy the boxes of frame s, re-indexed to j
        out_j, box_i = np.nonzero(idx[:, None] == src[None, :])
        moved = boxes[box_i].copy()
        moved[:, 0] = out_j
        return moved
