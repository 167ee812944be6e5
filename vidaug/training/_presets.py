"""The named training workflows: ``workflows/<name>.yaml``, shipped with vidaug (read here as
data; :class:`~vidaug.training.TrainConfig` validates them).

Each file holds ``name``, a one-line ``description`` and :class:`TrainConfig` keys; the values
live in the files only (``vidaug workflows`` prints them).
"""

from __future__ import annotations

import difflib
import functools
from importlib import resources
from typing import Any

import yaml

from vidaug.errors import UsageError, VidaugError

__all__ = ["WORKFLOWS", "unknown_workflow", "workflow_file"]

#: The named workflows, in the order ``vidaug workflows`` lists them.
WORKFLOWS = ("recommended", "recommended-no-aug", "plain")


def unknown_workflow(name: str) -> UsageError:
    """The error for a workflow name that is no preset (a usage error, like an unknown recipe
    preset): the presets, and the closest one."""
    close = difflib.get_close_matches(name, WORKFLOWS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UsageError(
        f"{name!r}: no such workflow (workflows: {', '.join(WORKFLOWS)}; or key=value words, "
        f"or a YAML file){hint}"
    )


def workflow_file(name: str) -> dict[str, Any]:
    """The preset ``name`` as written: ``name``, ``description`` and its keys (a new dict).

    Raises:
        UsageError: ``name`` is no preset (the message lists them).
    """
    if name not in WORKFLOWS:
        raise unknown_workflow(name)
    return dict(_read(name))


@functools.cache
def _read(name: str) -> dict[str, Any]:
    source = f"workflows/{name}.yaml"
    data = yaml.safe_load(resources.files("vidaug.training").joinpath(source).read_text("utf-8"))
    if not isinstance(data, dict) or data.get("name") != name:
        raise VidaugError(f"{source}: expected key: value pairs with name: {name}")
    return data
