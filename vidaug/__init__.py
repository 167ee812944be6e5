"""vidaug: temporally consistent video augmentation, dataset mining and curation.

``import vidaug`` is cheap: it imports neither TensorFlow nor albumentations. Use the
subpackages: :mod:`vidaug.augment`, :mod:`vidaug.datasets`, :mod:`vidaug.mining`,
:mod:`vidaug.training`.
"""

from vidaug._version import __version__
from vidaug.errors import (
    IndexMismatchError,
    ManifestError,
    RecipeError,
    VidaugError,
    VideoReadError,
    VideoWriteError,
)

__all__ = [
    "IndexMismatchError",
    "ManifestError",
    "RecipeError",
    "VidaugError",
    "VideoReadError",
    "VideoWriteError",
    "__version__",
]
