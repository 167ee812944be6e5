"""Dataset mining: CNN frame embeddings, a FAISS index, near-duplicates, leakage, hard samples.

Importing this package does not import TensorFlow; :func:`load_embedder` does, when called.
Checks return one shape, :class:`CheckResult`: a table with one row per clip in clip order
following the check contract of docs/ARCHITECTURE.md (``is_<check>``, ``<check>_score`` in [0, 1], evidence), a
summary, and the config that ran.
"""

from vidaug.mining._dedup import DEFAULT as DEFAULT_DEDUP
from vidaug.mining._dedup import DedupConfig, DedupResult, find_duplicates
from vidaug.mining._embed import (
    ClipFrames,
    Embedded,
    FrameEmbedder,
    WeightsNotFoundError,
    assemble_clip_rows,
    clip_key,
    embed_rows,
    iter_embedded,
    load_clip_frames,
    load_embedder,
    resolve_mobilenet_weights,
    verify_regions,
)
from vidaug.mining._hard import (
    DEFAULT_HARDNESS,
    LABEL_SUSPECT_P,
    OUTLIER_Z,
    SUSPECT_DISAGREEMENT,
    HardnessConfig,
    HardnessResult,
    score_hardness,
)
from vidaug.mining._index import EmbeddingIndex, is_index_dir
from vidaug.mining._label_errors import LabelErrorConfig, LabelErrorResult, find_label_errors
from vidaug.mining._result import CheckResult
from vidaug.mining._vectors import clip_means, l2_normalize
from vidaug.mining._weights import (
    KNOWN_WEIGHTS,
    WEIGHTS_URL,
    DownloadProgress,
    WeightsInfo,
    download_line,
    ensure_mobilenet_weights,
    fetch_mobilenet_weights,
    inspect_weights,
    keras_cache_file,
    load_mobilenet,
    where_to_put,
)

__all__ = [
    "DEFAULT_HARDNESS",
    "CheckResult",
    "HardnessConfig",
    "HardnessResult",
    "LabelErrorConfig",
    "LabelErrorResult",
    "LABEL_SUSPECT_P",
    "OUTLIER_Z",
    "SUSPECT_DISAGREEMENT",
    "DEFAULT_DEDUP",
    "DedupConfig",
    "ClipFrames",
    "DedupResult",
    "Embedded",
    "EmbeddingIndex",
    "FrameEmbedder",
    "KNOWN_WEIGHTS",
    "WEIGHTS_URL",
    "DownloadProgress",
    "WeightsInfo",
    "WeightsNotFoundError",
    "assemble_clip_rows",
    "clip_key",
    "clip_means",
    "download_line",
    "embed_rows",
    "ensure_mobilenet_weights",
    "fetch_mobilenet_weights",
    "find_duplicates",
    "find_label_errors",
    "inspect_weights",
    "load_mobilenet",
    "is_index_dir",
    "iter_embedded",
    "keras_cache_file",
    "l2_normalize",
    "load_clip_frames",
    "load_embedder",
    "verify_regions",
    "resolve_mobilenet_weights",
    "score_hardness",
    "where_to_put",
]
