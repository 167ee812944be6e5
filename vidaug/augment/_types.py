"""Annotated pydantic types shared by transform arguments."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

__all__ = ["FloatRange", "IntRange", "Size"]


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


_Side = Annotated[int, Field(ge=1, le=16384)]
#: An output size ``[height, width]`` in pixels.
Size = tuple[_Side, _Side]
