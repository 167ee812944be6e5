"""vidaug: temporally consistent video augmentation, dataset mining and curation.

``import vidaug`` is cheap: it imports neither TensorFlow nor albumentations. Use the
subpackages: :mod:`vidaug.augment`, :mod:`vidaug.datasets`, :mod:`vidaug.mining`,
:mod:`vidaug.training`.
"""

from vidaug import errors
from vidaug._version import __version__
from vidaug.errors import *  # noqa: F403 - the error classes, listed in errors.__all__

__all__ = [*errors.__all__, "__version__"]
