"""Per-clip seeds: a pure function of (seed, clip, copy), so results do not depend on the order
clips are processed in, the worker count or the engine."""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["clip_seed"]


def clip_seed(seed: int, rel: str, copy: int) -> int:
    """The seed of copy ``copy`` of the clip at relative path ``rel`` (a 63-bit int).

    A pure function of its arguments, independent of processing order and worker count.
    """
    if seed < 0:
        raise ValueError("seed must be ≥ 0")
    words = np.frombuffer(hashlib.sha256(rel.encode("utf-8")).digest()[:16], dtype="<u4")
    ss = np.random.SeedSequence([seed, *(int(w) for w in words), copy])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))
