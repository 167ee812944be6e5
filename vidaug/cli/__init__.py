"""The ``vidaug`` command line (typer): thin commands over the library.

Nothing in the library imports this package; importing it does not import TensorFlow.
"""

from vidaug.cli import _augment, _mining, _recipes, _report, _train, _weights  # noqa: F401  (each module registers its commands)
from vidaug.cli._app import app, main

__all__ = ["app", "main"]
