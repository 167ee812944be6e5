"""Albumentations adapter: any albumentations image transform, one set of params per clip."""

from __future__ import annotations

import inspect
import os
from typing import Any, ClassVar

import numpy as np

from vidaug.augment._core import Transform
from vidaug.errors import RecipeError

__all__ = ["Albu", "AlbuArgumentError", "albu_from_dict", "first_line"]

PREFIX = "albumentations."


class AlbuArgumentError(RecipeError):
    """An argument the albumentations transform does not take (``field`` names it)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


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
    """Build ``Albu(albumentations.<Name>(**args))`` from a recipe entry.

    Refused here, not on every clip: unknown names, transforms a recipe cannot describe
    (``Lambda`` takes Python functions; some cannot be written back to a recipe) and transforms
    that need inputs other than the frames (boxes, masks, volumes, metadata).

    Raises:
        AlbuArgumentError: an argument the transform does not take.
        RecipeError: one of the above (the message names the transform).
        Exception: whatever albumentations raises for bad arguments (its pydantic
            ``ValidationError`` names the field); the recipe loader reports it.
    """
    A = _albumentations()
    cls_name = name[len(PREFIX) :]
    cls = getattr(A, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, A.BasicTransform)):
        raise RecipeError(f"unknown albumentations transform {cls_name!r}")
    if issubclass(cls, A.Lambda):
        raise RecipeError(f"{name} takes Python functions, which a recipe cannot hold")
    if issubclass(cls, A.Transform3D):
        raise RecipeError(f"{name} transforms 3D volumes, not video frames")
    accepted = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(args) - set(accepted) - {"self"})
    if unknown:  # albumentations only warns, and ignores them
        raise AlbuArgumentError(f"unknown argument for {name}", unknown[0])
    t = Albu(cls(**args))
    extra = list(getattr(t.transform, "targets_as_params", None) or [])
    if extra:
        raise RecipeError(f"{name} needs {', '.join(extra)} besides the frames")
    try:
        t.to_dict()
    except Exception as e:  # noqa: BLE001 - albumentations raises several kinds here
        raise RecipeError(f"{name} cannot be written back to a recipe: {first_line(e)}") from None
    try:
        t.apply(np.zeros((1, 64, 64, 3), dtype=np.uint8), {"seed": 0})
    except KeyError as e:  # it reads an input vidaug does not pass (boxes, masks, ...)
        raise RecipeError(f"{name} needs {e.args[0] if e.args else e} besides the frames") from None
    except Exception:  # noqa: BLE001, S110 - may depend on the clip's size: left to the clips
        pass
    return t


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (its type when it has none)."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
