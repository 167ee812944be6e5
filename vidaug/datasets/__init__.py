"""Datasets: reading and writing clips, manifests and the bundled sample clips.

Reading and writing files lives here (STYLE §2: I/O at the edges); transforms never open files.
"""

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
from vidaug.datasets._io import VIDEO_EXTENSIONS, Clip, quiet_ffmpeg, read_clip, write_clip
from vidaug.datasets._jobdir import JobDir, copy_verified, inside, remove_temp_files
from vidaug.datasets._manifest import (
    ManifestRow,
    load_rows,
    read_jsonl,
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
    "check_output_outside_input",
    "clip_seed",
    "copy_verified",
    "frame_indices",
    "fsync_path",
    "inside",
    "load_boxes",
    "load_rows",
    "native_stderr_muted",
    "output_lock",
    "quiet_ffmpeg",
    "read_clip",
    "read_jsonl",
    "remove_temp_files",
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

_KERAS = {"ClipDataset", "ClipLoader", "FramePairs", "clip_tf_dataset"}


def __getattr__(name: str):
    if name in _KERAS:
        from vidaug.datasets import _keras

        return getattr(_keras, name)
    raise AttributeError(f"module 'vidaug.datasets' has no attribute {name!r}")
