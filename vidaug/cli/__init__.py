"""The ``vidaug`` command line (typer): thin commands over the library.

Nothing in the library imports this package; importing it does not import TensorFlow.
"""

from vidaug.cli import _augment, _mining, _recipes, _report, _train, _weights  # noqa: F401  (each module registers its commands)
from vidaug.cli._app import app, main

# after the commands that use the weights, so `vidaug --help` lists it among the tools
app.command("weights")(_weights.weights_cmd)

__all__ = ["app", "main"]
