"""What a params record says was applied, as short human-readable strings (previews, logs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["describe_params"]

_COMPOSITES = {"Compose", "Sometimes", "OneOf", "SomeOf", "RandomChoice"}


def _fmt(v: Any) -> str | None:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.3g}"
    if isinstance(v, str):
        return v
    if isinstance(v, Sequence) and v and all(isinstance(x, (int, float)) for x in v):
        if len(v) <= 3:
            return "[" + ", ".join(_fmt(x) or "" for x in v) + "]"
        lo, hi = min(v), max(v)
        if lo == hi:
            return _fmt(lo)
        return f"{_fmt(v[0])}..{_fmt(v[-1])} (range {_fmt(lo)}..{_fmt(hi)})"
    if isinstance(v, Sequence):
        return f"[{len(v)} values]"
    if isinstance(v, Mapping):
        parts = [f"{k}={s}" for k, x in v.items() if (s := _fmt(x)) is not None]
        return "{" + ", ".join(parts) + "}"
    return None


def describe_params(record: Mapping[str, Any] | None) -> list[str]:
    """The transforms a params record says were applied, one short string each.

    Composites (``Compose``, ``Sometimes``, ``OneOf``, ``SomeOf``, ``RandomChoice``) are
    flattened; skipped transforms (params ``None``) are left out; per-frame schedules are shown
    as ``first..last (range lo..hi)``; noise seeds are omitted.

    Args:
        record: ``Augmented.params`` (``{"name": ..., "params": ...}``).

    Returns:
        E.g. ``["HorizontalFlip", "Affine(rotate=-2.63, scale=1.03)"]``.
    """
    if not isinstance(record, Mapping):
        return []
    name, params = record.get("name"), record.get("params")
    if params is None:
        return []
    if name in _COMPOSITES or (isinstance(params, Mapping) and "transforms" in params):
        out: list[str] = []
        for child in params.get("transforms") or []:
            out.extend(describe_params(child))
        return out
    if not isinstance(params, Mapping) or not params:
        return [str(name)]
    parts = []
    for k, v in params.items():
        if "seed" in k:
            continue
        if isinstance(v, (float, np.floating)) and k.startswith(("translate", "shear")) and v == 0:
            continue
        s = _fmt(v)
        if s is not None:
            parts.append(f"{k}={s}")
    return [f"{name}({', '.join(parts)})" if parts else str(name)]
