"""Dataset mining: CNN frame embeddings, a FAISS index, near-duplicates, leakage, hard samples.

Importing this package does not import TensorFlow; :func:`load_embedder` does, when called.
Checks return one row per clip following the STYLE §6 contract (``is_<check>``,
``<check>_score`` in [0, 1], evidence).
"""

from vidaug.mining._dedup import DEFAULT as DEFAULT_DEDUP
from vidaug.mining._dedup import DedupConfig, DedupResult, find_duplicates
from vidaug.mining._embed import (
    Embedded,
    FrameEmbedder,
    WeightsNotFoundError,
    embed_rows,
    load_embedder,
    resolve_mobilenet_weights,
    sample_frame_indices,
)
from vidaug.mining._hard import score_hardness
from vidaug.mining._index import EmbeddingIndex
from vidaug.mining._pipeline import EmbedReport, embed_to_index, is_index_dir, open_index

__all__ = [
    "DEFAULT_DEDUP",
    "DedupConfig",
    "DedupResult",
    "EmbedReport",
    "Embedded",
    "EmbeddingIndex",
    "FrameEmbedder",
    "WeightsNotFoundError",
    "embed_rows",
    "embed_to_index",
    "find_duplicates",
    "is_index_dir",
    "load_embedder",
    "open_index",
    "resolve_mobilenet_weights",
    "sample_frame_indices",
    "score_hardness",
]
