"""vidaug's one JSON encoder: what manifests, journals, index sidecars, results and
``curation.json`` write goes through :func:`to_jsonable` first.

It sits on the bottom floor (beside :mod:`vidaug.errors`), so every package may import it
without importing another package.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

__all__ = ["to_jsonable"]


def to_jsonable(x: Any) -> Any:
    """Plain Python (JSON-serialisable) values for numpy scalars / arrays, tuples, sets and
    paths; non-finite floats become None.

    Anything else is returned as is, so ``json.dumps`` names its type instead of a guess.

    Args:
        x: the value (dicts and sequences are converted recursively; dict keys become strings,
            sets sorted lists).

    Returns:
        The converted value.
    """
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(x, key=str)]
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, np.generic):
        return to_jsonable(x.item())  # np.float32(inf) too becomes None
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
