"""The op pool of :class:`vidaug.augment.RandomChoice` (RandAugment / RandAugment-T for video)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from vidaug.augment._color import CLAHE, ColorJitter, GaussianBlur, Identity, RandomGamma
from vidaug.augment._core import Transform
from vidaug.augment._spatial import Affine

__all__ = ["RANDAUGMENT_OPS", "build_pool"]

_STILL = {"scale": (1.0, 1.0), "translate_x": (0.0, 0.0), "translate_y": (0.0, 0.0)}


def _affine(temporal: str, **kw) -> Affine:
    return Affine(**{**_STILL, "rotate": (0.0, 0.0), **kw}, temporal=temporal)


def _jitter(temporal: str, **kw) -> ColorJitter:
    base = {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.0}
    return ColorJitter(**{**base, **kw}, temporal=temporal)


#: op name → builder(m, temporal), with m = magnitude / 10 in [0, 1].
RANDAUGMENT_OPS: dict[str, Callable[[float, str], Transform]] = {
    "Identity": lambda m, t: Identity(),
    "Rotate": lambda m, t: _affine(t, rotate=(-30 * m, 30 * m)),
    "ShearX": lambda m, t: _affine(t, shear_x=(-17 * m, 17 * m)),
    "ShearY": lambda m, t: _affine(t, shear_y=(-17 * m, 17 * m)),
    "TranslateX": lambda m, t: _affine(t, translate_x=(-0.3 * m, 0.3 * m)),
    "TranslateY": lambda m, t: _affine(t, translate_y=(-0.3 * m, 0.3 * m)),
    "Brightness": lambda m, t: _jitter(t, brightness=0.9 * m),
    "Contrast": lambda m, t: _jitter(t, contrast=0.9 * m),
    "Color": lambda m, t: _jitter(t, saturation=0.9 * m),
    "Hue": lambda m, t: _jitter(t, hue=0.1 * m),
    "Gamma": lambda m, t: RandomGamma(gamma=(1.0 / (1.0 + m), 1.0 + m), temporal=t),
    "Blur": lambda m, t: GaussianBlur(sigma=(0.1, 0.1 + 2.0 * m)),
    "Equalize": lambda m, t: CLAHE(clip_limit=(1.0, 1.0 + 3.0 * m)),
}


@functools.lru_cache(maxsize=64)
def build_pool(
    magnitude: float, temporal: str, ops: tuple[str, ...] | None
) -> tuple[Transform, ...]:
    """The op transforms for one (magnitude, temporal, ops) setting (cached; transforms are
    immutable)."""
    m = magnitude / 10.0
    names = ops if ops is not None else tuple(RANDAUGMENT_OPS)
    return tuple(RANDAUGMENT_OPS[n](m, temporal) for n in names)
