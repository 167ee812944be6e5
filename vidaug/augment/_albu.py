"""Albumentations adapter: any albumentations image transform, one set of params per clip."""

from __future__ import annotations

import inspect
import os
from typing import Any, ClassVar

import numpy as np

from vidaug.augment._core import Transform
from vidaug.errors import RecipeError

__all__ = ["Albu", "albu_from_dict"]

PREFIX = "albumentations."


def _albumentations():
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no version check over the network
    import albumentations

    return albumentations


class Albu(Transform):
    """Apply an albumentations transform to every frame with one set of params.

    Uses albumentations' batch call ``transform(images=clip)``, which samples the params once
    for all images; the seed is drawn from the clip's generator, so runs are reproducible.
    In recipes: ``{"name": "albumentations.CLAHE", "clip_limit": 2.0}``.

    Boxes pass through image-only (pixel) transforms unchanged; albumentations' spatial
    transforms do not take vidaug boxes (use vidaug's own spatial transforms for those).

    Example:
        >>> import albumentations as A
        >>> Albu(A.RGBShift(p=1.0))(clip, seed=0)
    """

    name: ClassVar[str] = "Albu"
    kind: ClassVar[str] = "albumentations"
    chunkable: ClassVar[bool] = False  # albumentations samples per call, not per clip
    transform: Any

    def __init__(self, transform: Any = None, **kwargs: Any) -> None:
        super().__init__(transform=transform, **kwargs)
        A = _albumentations()
        if not isinstance(transform, A.BasicTransform):
            raise TypeError(
                f"Albu needs an albumentations transform, got {type(transform).__name__}"
            )

    def _is_pixel_only(self) -> bool:
        return isinstance(self.transform, _albumentations().ImageOnlyTransform)

    def sample(self, rng, shape):
        return {"seed": int(rng.integers(2**31))}

    def apply(self, clip, params):
        self.transform.set_random_seed(params["seed"])
        out = np.asarray(self.transform(images=clip)["images"])
        if out.dtype != np.uint8:
            out = np.clip(out, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(out)

    def apply_boxes(self, boxes, params, shape):
        if len(boxes) and not self._is_pixel_only():
            raise ValueError(
                f"{PREFIX}{type(self.transform).__name__} moves pixels; boxes only go through "
                "albumentations pixel-level transforms (use vidaug's spatial transforms)"
            )
        return boxes

    def to_dict(self) -> dict[str, Any]:
        d = dict(_albumentations().to_dict(self.transform)["transform"])
        name = d.pop("__class_fullname__")
        accepted = inspect.signature(type(self.transform).__init__).parameters
        return {"name": PREFIX + name, **_plain({k: v for k, v in d.items() if k in accepted})}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Albu) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Albu({self.transform!r})"

    __str__ = __repr__


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def albu_from_dict(name: str, args: dict[str, Any]) -> Albu:
    """Build ``Albu(albumentations.<Name>(**args))``; raise ValueError with a clear message."""
    A = _albumentations()
    cls_name = name[len(PREFIX) :]
    cls = getattr(A, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, A.BasicTransform)):
        raise RecipeError(f"unknown albumentations transform {cls_name!r}")
    return Albu(cls(**args))
