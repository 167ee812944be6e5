"""Composition: Compose, OneOf, SomeOf, Sometimes and the RandAugment-style RandomChoice.

Composites draw from the same ``np.random.Generator`` as their children, in order, so one seed
fixes the whole pipeline. Their params record nests the children's records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from vidaug.augment._core import (
    ApplyStage,
    GeometricTransform,
    Record,
    Stage,
    Transform,
    WarpStage,
    _check_record,
    register,
)
from vidaug.augment._types import IntRange

__all__ = [
    "MAX_DEPTH",
    "MAX_TRANSFORMS",
    "Compose",
    "OneOf",
    "RandomChoice",
    "SomeOf",
    "Sometimes",
    "extent",
]

#: How deep composites may nest. The transforms of a recipe's list (the children of its
#: ``Compose``) are level 1, a composite's children one level below it. The presets use 2; a
#: deeper tree is refused when it is built, before it can cost stack and time on every clip.
MAX_DEPTH = 8
#: How many transforms a pipeline may hold below its root, composites and children all counted
#: (the presets hold under 20). 8 nested levels of 10 children once ran 120 s at 4.1 GB.
MAX_TRANSFORMS = 256
#: Upper bound of a ``OneOf`` weight: weights are relative, and the bound keeps their sum finite.
MAX_WEIGHT = 1e6

_Count = Annotated[int, Field(ge=0, le=MAX_TRANSFORMS)]
_CountRange = IntRange(ge=0, le=MAX_TRANSFORMS)
_Weight = Annotated[float, Field(ge=0.0, le=MAX_WEIGHT, allow_inf_nan=False)]


def extent(t: Transform) -> tuple[int, int]:
    """The nesting below ``t``: ``(levels, count)``, the levels of transforms under it (0 for
    a leaf, 1 for a composite of leaves) and how many transforms there are under it in all."""
    kids = t.children() if isinstance(t, _Composite) else []
    if not kids:
        return 0, 0
    sub = [extent(c) for c in kids]
    return 1 + max(lv for lv, _ in sub), sum(1 + n for _, n in sub)


class _Composite(Transform):
    kind: ClassVar[str] = "composite"
    consistent: ClassVar[bool] = False
    child_fields: ClassVar[tuple[str, ...]] = ("transforms",)

    def children(self) -> list[Transform]:
        """The child transforms (none for composites that draw theirs, like RandomChoice)."""
        out: list[Transform] = []
        for f in self.child_fields:
            v = getattr(self, f)
            out.extend([v] if isinstance(v, Transform) else v)
        return out

    @model_validator(mode="after")
    def _bounded(self) -> _Composite:
        """Refuse trees deeper than :data:`MAX_DEPTH` or larger than :data:`MAX_TRANSFORMS`
        (the children were checked when they were built, so this recursion is bounded)."""
        levels, count = extent(self)
        if levels > MAX_DEPTH:
            raise ValueError(f"composites nest {levels} levels deep; at most {MAX_DEPTH}")
        if count > MAX_TRANSFORMS:
            raise ValueError(f"{count} transforms in one pipeline; at most {MAX_TRANSFORMS}")
        return self

    def is_consistent(self) -> bool:
        """Consistent when every child is (a composite that draws its children from a pool
        says False: it cannot promise it)."""
        kids = self.children()
        return bool(kids) and all(t.is_consistent() for t in kids)

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, **self.model_dump(mode="json", exclude=set(self.child_fields))}
        for f in self.child_fields:
            v = getattr(self, f)
            d[f] = v.to_dict() if isinstance(v, Transform) else [t.to_dict() for t in v]
        return d

    def __repr__(self) -> str:
        return f"{self.name}({self.to_dict()})"

    __str__ = __repr__


def _check_transforms(v: Sequence[Any]) -> list[Transform]:
    out = list(v)
    for i, t in enumerate(out):
        if not isinstance(t, Transform):
            raise ValueError(f"item {i} is {type(t).__name__}, not a vidaug Transform")
    return out


class _ListComposite(_Composite):
    """A composite over a list of children: ``Cls([t1, t2], **options)``."""

    transforms: list[Transform] = Field(default_factory=list)

    def __init__(self, transforms: Sequence[Transform] = (), **kwargs: Any) -> None:
        super().__init__(transforms=list(transforms), **kwargs)

    @field_validator("transforms", mode="before")
    @classmethod
    def _are_transforms(cls, v: Any) -> list[Transform]:
        return _check_transforms(v)


def _plan_sequence(
    children: Sequence[Transform], shape: tuple, rng: np.random.Generator
) -> tuple[list[Record], tuple]:
    """Draw the children's records in order from ``rng`` (shapes only, no pixels)."""
    records = []
    for t in children:
        rec, shape = t._plan(rng, shape)
        records.append(rec)
    return records, shape


def _stage_sequence(
    children: Sequence[Transform], shape: tuple, records: Sequence[Record]
) -> tuple[list[Stage], tuple]:
    """The children's stages in order, consecutive geometric transforms fused into one warp
    per frame (the same decisions for sampling and replay, whole clips and chunks)."""
    stages: list[Stage] = []
    run: list[tuple[GeometricTransform, dict, np.ndarray, tuple[int, int], tuple]] = []

    def flush() -> None:
        nonlocal run
        if not run:
            return
        if len(run) == 1 or not any(t.resamples for t, *_ in run):
            for t, params, _, out_hw, sh in run:
                out = (sh[0], int(out_hw[0]), int(out_hw[1]), sh[3])
                stages.append(ApplyStage(sh, out, t, params))
        else:
            m = np.eye(3)
            for _, _, mi, _, _ in run:
                m = mi @ m  # broadcasts (3,3) with per-frame (T,3,3)
            out_hw = run[-1][3]
            border = next((t.border_mode() for t, *_ in run if t.border_mode()), "reflect")
            fill = next((t.fill_value() for t, *_ in run if t.border_mode()), 0)
            interps = {t.interpolation_mode() for t, *_ in run}
            interp = interps.pop() if len(interps) == 1 else "linear"
            sh = run[0][4]
            out = (sh[0], int(out_hw[0]), int(out_hw[1]), sh[3])
            stages.append(WarpStage(sh, out, m, out_hw, interp, border, fill))
        run = []

    for t, rec in zip(children, records, strict=True):
        fusable = isinstance(t, GeometricTransform) and t.interpolation_mode() != "area"
        if fusable:
            run_border = next((r.border_mode() for r, *_ in run if r.border_mode()), None)
            if run_border and t.border_mode() and t.border_mode() != run_border:
                flush()
            _check_record(t, rec)
            params = rec.get("params")
            if params is None:
                continue
            m, out_hw = t.matrices(params, shape)
            run.append((t, params, m, out_hw, tuple(shape)))
            shape = (shape[0], int(out_hw[0]), int(out_hw[1]), shape[3])
            continue
        flush()
        st, shape = t._stages(rec, shape)
        stages.extend(st)
    flush()
    return stages, tuple(shape)


@register
class Compose(_ListComposite):
    """Apply transforms in order. Consecutive geometric transforms are fused into one warp.

    Example:
        >>> aug = Compose([RandomResizedCrop(size=(112, 112)), HorizontalFlip(), ColorJitter()])
        >>> out = aug(clip, seed=0)
    """

    def _plan(self, rng, shape):
        if self._skip(rng):
            return {"name": self.name, "params": None}, tuple(shape)
        recs, shape = _plan_sequence(self.transforms, shape, rng)
        return {"name": self.name, "params": {"transforms": recs}}, shape

    def _stages(self, record, shape):
        _check_record(self, record)
        if record.get("params") is None:
            return [], tuple(shape)
        recs = record["params"]["transforms"]
        if len(recs) != len(self.transforms):
            raise ValueError("params record does not match this Compose (child count differs)")
        return _stage_sequence(self.transforms, shape, recs)


class _Subset(_ListComposite):
    """Shared machinery of composites that pick a subset of their children per clip."""

    def _pick(self, rng: np.random.Generator) -> list[int]:
        raise NotImplementedError

    def _pool(self) -> Sequence[Transform]:
        return self.transforms

    def _plan(self, rng, shape):
        if self._skip(rng):
            return {"name": self.name, "params": None}, tuple(shape)
        idx = self._pick(rng)
        pool = self._pool()
        recs, shape = _plan_sequence([pool[i] for i in idx], shape, rng)
        return {"name": self.name, "params": {"indices": idx, "transforms": recs}}, shape

    def _stages(self, record, shape):
        _check_record(self, record)
        params = record.get("params")
        if params is None:
            return [], tuple(shape)
        pool = self._pool()
        chosen = [pool[i] for i in params["indices"]]
        return _stage_sequence(chosen, shape, params["transforms"])


@register
class OneOf(_Subset):
    """Apply exactly one child, chosen with probability proportional to ``weights``."""

    transforms: list[Transform] = Field(default_factory=list, min_length=1)
    weights: list[_Weight] | None = Field(None, description="relative weights (default: equal)")

    @model_validator(mode="after")
    def _weights_match(self) -> OneOf:
        if self.weights is not None:
            if len(self.weights) != len(self.transforms):
                raise ValueError("weights must have one entry per transform")
            if sum(self.weights) <= 0:
                raise ValueError("weights must have a positive sum")
        return self

    def _pick(self, rng):
        n = len(self.transforms)
        if self.weights is None:
            return [int(rng.integers(n))]
        w = np.asarray(self.weights, dtype=np.float64)
        return [int(rng.choice(n, p=w / w.sum()))]


@register
class SomeOf(_Subset):
    """Apply ``n`` children chosen at random (no repeats), kept in their listed order.

    ``n`` is an int or an inclusive ``[low, high]`` range drawn per clip.
    """

    transforms: list[Transform] = Field(default_factory=list, min_length=1)
    n: _Count | _CountRange = Field(1, description="how many to apply: int or [low, high]")

    @field_validator("n")
    @classmethod
    def _n_fits(cls, n: int | tuple[int, int], info: ValidationInfo) -> int | tuple[int, int]:
        kids = info.data.get("transforms")
        hi = n if isinstance(n, int) else n[1]
        if kids is not None and hi > len(kids):
            raise ValueError(f"must be at most the number of transforms ({len(kids)})")
        return n

    def _pick(self, rng):
        lo, hi = (self.n, self.n) if isinstance(self.n, int) else self.n
        k = int(rng.integers(lo, hi + 1))
        return sorted(int(i) for i in rng.choice(len(self.transforms), size=k, replace=False))


@register
class Sometimes(_Composite):
    """Apply ``transform`` with probability ``p`` (default 0.5)."""

    child_fields: ClassVar[tuple[str, ...]] = ("transform",)
    transform: Transform
    p: float = Field(0.5, ge=0.0, le=1.0, description="probability of applying the transform")

    def __init__(self, transform: Transform | None = None, p: float = 0.5, **kwargs: Any) -> None:
        super().__init__(transform=transform, p=p, **kwargs)

    @field_validator("transform", mode="before")
    @classmethod
    def _is_transform(cls, v: Any) -> Transform:
        return _check_transforms([v])[0]

    def _plan(self, rng, shape):
        if self._skip(rng):
            return {"name": self.name, "params": None}, tuple(shape)
        recs, shape = _plan_sequence([self.transform], shape, rng)
        return {"name": self.name, "params": {"transforms": recs}}, shape

    def _stages(self, record, shape):
        _check_record(self, record)
        if record.get("params") is None:
            return [], tuple(shape)
        return _stage_sequence([self.transform], shape, record["params"]["transforms"])


@register
class RandomChoice(_Subset):
    """RandAugment for video: apply ``n`` ops drawn (with repeats) from a fixed pool, each at
    strength ``magnitude`` (0–10, the share of each op's maximum).

    With ``temporal="smooth"`` every op's magnitude changes smoothly over the clip between
    random control points (RandAugment-T), instead of staying constant.
    ``ops`` restricts the pool to the named ops (see :data:`RANDAUGMENT_OPS`).
    """

    child_fields: ClassVar[tuple[str, ...]] = ()
    transforms: list[Transform] = Field(default_factory=list, exclude=True)
    n: int = Field(2, ge=1, le=10, description="ops applied per clip")
    magnitude: float = Field(9.0, ge=0.0, le=10.0, description="strength, 0–10")
    temporal: Literal["constant", "smooth"] = "constant"
    ops: list[str] | None = Field(None, description="subset of the op pool (default: all)")

    def __init__(self, **kwargs: Any) -> None:
        super(_ListComposite, self).__init__(**kwargs)

    @field_validator("ops")
    @classmethod
    def _known_ops(cls, v: list[str] | None) -> list[str] | None:
        from vidaug.augment._randaugment import RANDAUGMENT_OPS

        if v is not None:
            unknown = [o for o in v if o not in RANDAUGMENT_OPS]
            if unknown:
                raise ValueError(f"unknown ops {unknown}; known: {sorted(RANDAUGMENT_OPS)}")
            if not v:
                raise ValueError("ops must not be empty")
        return v

    def _pool(self) -> list[Transform]:
        from vidaug.augment._randaugment import build_pool

        return build_pool(
            self.magnitude, self.temporal, None if self.ops is None else tuple(self.ops)
        )

    def _pick(self, rng):
        return [int(i) for i in rng.integers(len(self._pool()), size=self.n)]

    def is_consistent(self) -> bool:
        """Consistent when every op of the pool is (``temporal="constant"``)."""
        return all(t.is_consistent() for t in self._pool())
