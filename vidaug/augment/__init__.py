"""Temporally consistent video augmentation.

Clips are ``(T, H, W, 3)`` uint8 RGB numpy arrays. Every transform samples its random params
once per clip (``sample``) and applies them to every frame (``apply``); transforms that vary over
time do it smoothly and on purpose. Output dtype is always uint8, channels always 3 (RGB);
spatial transforms may change H and W, temporal ones T.

Example:
    >>> from vidaug.augment import Compose, RandomResizedCrop, HorizontalFlip, ColorJitter
    >>> aug = Compose([RandomResizedCrop(size=(112, 112)), HorizontalFlip(), ColorJitter()])
    >>> out = aug(clip, seed=0)                   # same seed → same output
    >>> res = aug.augment(clip, seed=0, boxes=b)  # clip + params record + moved boxes
    >>> again = aug.replay(clip, res.params)      # no randomness
"""

from vidaug._json import to_jsonable  # re-exported: the one JSON encoder lives in vidaug._json
from vidaug.augment._albu import Albu
from vidaug.augment._color import (
    CLAHE,
    ColorJitter,
    Compression,
    GaussianBlur,
    Grayscale,
    Identity,
    LowLight,
    MotionBlur,
    RandomGamma,
    SensorNoise,
)
from vidaug.augment._compose import Compose, OneOf, RandomChoice, SomeOf, Sometimes
from vidaug.augment._core import (
    BOX_COLUMNS,
    Augmented,
    GeometricTransform,
    TemporalTransform,
    Transform,
    check_clip,
    registry,
)
from vidaug.augment._describe import describe_params
from vidaug.augment._privacy import Anonymize
from vidaug.augment._randaugment import RANDAUGMENT_OPS
from vidaug.augment._recipes import (
    PRESETS,
    Recipe,
    RecipeLike,
    as_recipe,
    describe_transforms,
    from_dict,
    load_recipe,
    parse_recipe,
)
from vidaug.augment._spatial import (
    Affine,
    CameraShake,
    CenterCrop,
    HorizontalFlip,
    Perspective,
    RandomCrop,
    RandomResizedCrop,
    Resize,
    VerticalFlip,
    ZoomOverTime,
)
from vidaug.augment._stream import Plan, iter_chunks, plan
from vidaug.augment._temporal import (
    FrameDrop,
    FrameDuplicate,
    FrameStride,
    Reverse,
    Speed,
    TemporalCrop,
    TemporalJitter,
    TemporalWindow,
)

__all__ = [
    "BOX_COLUMNS",
    "CLAHE",
    "PRESETS",
    "RANDAUGMENT_OPS",
    "Affine",
    "Albu",
    "Anonymize",
    "Augmented",
    "CameraShake",
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "Compression",
    "FrameDrop",
    "FrameDuplicate",
    "FrameStride",
    "GaussianBlur",
    "GeometricTransform",
    "Grayscale",
    "HorizontalFlip",
    "Identity",
    "LowLight",
    "MotionBlur",
    "OneOf",
    "Perspective",
    "RandomChoice",
    "RandomCrop",
    "RandomGamma",
    "RandomResizedCrop",
    "Recipe",
    "Resize",
    "Reverse",
    "SensorNoise",
    "SomeOf",
    "Sometimes",
    "Speed",
    "TemporalCrop",
    "TemporalJitter",
    "TemporalWindow",
    "TemporalTransform",
    "Transform",
    "VerticalFlip",
    "ZoomOverTime",
    "check_clip",
    "describe_params",
    "describe_transforms",
    "from_dict",
    "load_recipe",
    "Plan",
    "iter_chunks",
    "plan",
    "as_recipe",
    "RecipeLike",
    "parse_recipe",
    "registry",
    "to_jsonable",
]
