"""Datasets: reading and writing clips, manifests and the bundled sample clips.

Reading and writing files lives here (I/O at the edges, see docs/ARCHITECTURE.md); transforms
never open files. The Keras pipelines (``ClipDataset``, ``ClipLoader``, ``FramePairs``,
``clip_tf_dataset``) load on first use, so ``import vidaug.datasets`` imports no Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vidaug._lazy import lazy_names
from vidaug.datasets._atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    final_path,
    fsync_path,
    temp_path,
)
from vidaug.datasets._boxes import load_boxes
from vidaug.datasets._guard import check_output_outside_input, output_lock
from vidaug.datasets._io import VIDEO_EXTENSIONS, Clip, is_truncated, quiet_ffmpeg, read_clip
from vidaug.datasets._jobdir import JobDir, copy_verified, inside, remove_temp_files
from vidaug.datasets._manifest import (
    ManifestRow,
    class_names,
    load_rows,
    read_jsonl,
    require_classes,
    require_labels,
    safe_relpath,
    write_jsonl,
)
from vidaug.datasets._quiet import native_stderr_muted
from vidaug.datasets._samples import sample_clips_dir
from vidaug.datasets._sampling import frame_indices
from vidaug.datasets._seeds import clip_seed
from vidaug.datasets._stream import (
    ClipWriter,
    ShortStream,
    VideoInfo,
    VideoSource,
    probe_video,
    write_clip,
)

__all__ = [
    "VIDEO_EXTENSIONS",
    "Clip",
    "ClipWriter",
    "JobDir",
    "ManifestRow",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "class_names",
    "check_output_outside_input",
    "clip_seed",
    "copy_verified",
    "frame_indices",
    "fsync_path",
    "inside",
    "is_truncated",
    "load_boxes",
    "load_rows",
    "native_stderr_muted",
    "output_lock",
    "quiet_ffmpeg",
    "read_clip",
    "read_jsonl",
    "remove_temp_files",
    "require_classes",
    "require_labels",
    "probe_video",
    "safe_relpath",
    "ShortStream",
    "sample_clips_dir",
    "final_path",
    "temp_path",
    "VideoInfo",
    "VideoSource",
    "write_clip",
    "write_jsonl",
    # Keras pipelines, imported on first use (they import Keras):
    "ClipDataset",
    "ClipLoader",
    "FramePairs",
    "clip_tf_dataset",
]

_KERAS = {name: "_keras" for name in ("ClipDataset", "ClipLoader", "FramePairs", "clip_tf_dataset")}

__getattr__, __dir__ = lazy_names("vidaug.datasets", _KERAS)

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from vidaug.datasets._keras import ClipDataset, ClipLoader, FramePairs, clip_tf_dataset
