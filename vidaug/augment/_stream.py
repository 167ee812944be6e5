"""Streaming: run a transform on a clip chunk by chunk, in memory bounded by the chunk.

A long recording does not fit in memory (an hour of 1080p is 670 GB decoded), but nothing in a
vidaug recipe needs the whole clip at once: the params are drawn once per clip from its
*shape* (:func:`plan`), frame-wise steps work on any run of frames
(:meth:`Transform.apply_chunk`), and temporal steps are index maps. :func:`iter_chunks` resolves
the maps backwards for each chunk of output frames, asks ``read`` for just the source frames it
needs, and runs the frame-wise steps forwards. The frames equal ``transform.replay(clip,
record).clip`` exactly, whatever the chunk size (``tests/test_stream.py`` checks every
transform). This module does no file I/O: ``read`` is the caller's (see
``vidaug.datasets.VideoSource``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from vidaug.augment._core import Record, Stage, Transform

__all__ = ["Plan", "iter_chunks", "plan"]


@dataclass
class Plan:
    """The params of one augmented copy and how to compute it.

    Attributes:
        record: the params record (what :meth:`Transform.augment` returns as ``params``).
        stages: the execution steps (:meth:`Transform._stages`).
        in_shape: the source clip's shape ``(T, H, W, 3)``; ``out_shape`` the result's.
    """

    transform: Transform
    record: Record
    stages: list[Stage]
    in_shape: tuple
    out_shape: tuple

    @property
    def streamable(self) -> bool:
        """Whether every step works chunk by chunk (else use the whole-clip path)."""
        return all(st.chunkable for st in self.stages)

    def frame_bytes(self) -> int:
        """Bytes of the largest frame any step handles (to size chunks)."""
        shapes = [self.in_shape, self.out_shape] + [st.out_shape for st in self.stages]
        return max(int(np.prod(s[1:])) for s in shapes)


def plan(
    transform: Transform,
    shape: tuple[int, ...],
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    record: Record | None = None,
) -> Plan:
    """Draw the params for a clip of ``shape`` (or take ``record``) without touching pixels.

    The record equals what ``transform.augment(clip, seed=seed).params`` gives for a clip of
    that shape, so the streamed result equals the in-memory one.
    """
    shape = tuple(int(x) for x in shape)
    if len(shape) != 4 or shape[3] != 3 or min(shape[:3]) < 1:
        raise ValueError(f"shape must be (T, H, W, 3) with T, H, W ≥ 1, got {shape}")
    if record is None:
        if seed is not None and rng is not None:
            raise ValueError("pass either seed or rng, not both")
        record, _ = transform._plan(rng or np.random.default_rng(seed), shape)
    stages, out_shape = transform._stages(record, shape)
    return Plan(transform, record, stages, shape, tuple(out_shape))


def iter_chunks(
    p: Plan, read: Callable[[np.ndarray], np.ndarray], chunk: int = 16
) -> Iterator[np.ndarray]:
    """Yield the augmented clip ``chunk`` output frames at a time.

    Args:
        p: a :func:`plan` whose steps are all chunkable (:attr:`Plan.streamable`).
        read: ``read(indices)`` returns the source frames ``indices`` (``(n, H, W, 3)``
            uint8; indices may repeat and need not be sorted).
        chunk: output frames per chunk (memory is about ``chunk`` frames per step).

    Raises:
        NotImplementedError: a step needs the whole clip.
    """
    if not p.streamable:
        bad = next(st for st in p.stages if not st.chunkable)
        raise NotImplementedError(f"{type(bad).__name__} of {p.transform.name} cannot stream")
    n_out = p.out_shape[0]
    if n_out < 1:
        raise ValueError(f"{p.transform.name} produced an empty clip")
    chunk = max(1, int(chunk))
    for a in range(0, n_out, chunk):
        pos = np.arange(a, min(a + chunk, n_out), dtype=np.int64)
        frames_at: list[np.ndarray] = [pos] * len(p.stages)
        black: list[np.ndarray | None] = [None] * len(p.stages)
        for k in range(len(p.stages) - 1, -1, -1):  # where each output frame comes from
            st = p.stages[k]
            if not st.framewise:
                src = st.index[pos]
                black[k] = src < 0
                pos = np.where(src < 0, 0, src)
            frames_at[k] = pos
        x = np.ascontiguousarray(read(pos))
        for k, st in enumerate(p.stages):
            if st.framewise:
                x = st.run(x, frames_at[k])
            elif black[k] is not None and black[k].any():
                x = x.copy()
                x[black[k]] = 0  # padding frames of a temporal step are black
        yield np.ascontiguousarray(x)
