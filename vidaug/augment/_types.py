"""Annotated pydantic types shared by transform arguments.

Every numeric transform argument has a finite lower and upper bound (so NaN, ±inf and absurd
magnitudes are refused when the transform is built, not on every clip); these types and bounds
are the one place those bounds come from.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

__all__ = ["MAX_FRAMES", "MAX_SIDE", "FloatRange", "IntRange", "Period", "Side", "Size"]

#: Upper bound of any frame count or frame period argument: 1,000,000 frames is about 9 hours
#: at 30 fps, longer than any clip vidaug holds as one clip (long recordings are segmented).
MAX_FRAMES = 1_000_000
#: Upper bound of an output side in pixels (16K video).
MAX_SIDE = 16384


def _ordered(v: tuple) -> tuple:
    if v[0] > v[1]:
        raise ValueError(f"range must be [low, high] with low ≤ high, got {list(v)}")
    return v


def FloatRange(ge: float | None = None, le: float | None = None):  # noqa: N802 (type factory)
    """A ``[low, high]`` float range; each end constrained to ``[ge, le]``."""
    item = Annotated[float, Field(ge=ge, le=le, allow_inf_nan=False)]
    return Annotated[tuple[item, item], AfterValidator(_ordered)]


def IntRange(ge: int | None = None, le: int | None = None):  # noqa: N802 (type factory)
    """A ``[low, high]`` inclusive integer range; each end constrained to ``[ge, le]``."""
    item = Annotated[int, Field(ge=ge, le=le)]
    return Annotated[tuple[item, item], AfterValidator(_ordered)]


#: One output side in pixels.
Side = Annotated[int, Field(ge=1, le=MAX_SIDE)]
#: An output size ``[height, width]`` in pixels.
Size = tuple[Side, Side]
#: Frames between the control points of a smooth schedule (see ``smooth_schedule``).
Period = Annotated[float, Field(gt=0, le=MAX_FRAMES, allow_inf_nan=False)]
