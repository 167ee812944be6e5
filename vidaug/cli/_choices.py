"""Fixed choices of CLI options as Enums, so typer refuses a bad value as a usage error (exit
2) before any work, and ``--help`` lists the values. Each mirrors a library constant
(a test checks they agree); they are spelled out here so ``vidaug --help`` imports no FAISS."""

from __future__ import annotations

from enum import Enum

__all__ = ["WORKFLOW_NAMES", "Damaged", "Engine", "HookViews", "IndexType", "Keep", "LabelErrors"]

#: ``vidaug.training.WORKFLOWS``, the named training workflows (``--workflow NAME``): a name,
#: a file or ``key=value`` words are accepted, so not an Enum; spelled out so that ``vidaug
#: --help`` reads no workflow file.
WORKFLOW_NAMES = ("recommended", "recommended-no-aug", "plain")


class Keep(str, Enum):
    """``vidaug.mining.KEEP_POLICIES``."""

    original = "original"
    longest = "longest"
    highest_resolution = "highest_resolution"
    first = "first"


class IndexType(str, Enum):
    """``vidaug.mining.KINDS`` of :class:`EmbeddingIndex`."""

    auto = "auto"
    flat = "flat"
    ivf = "ivf"
    ivfpq = "ivfpq"


class Damaged(str, Enum):
    """What ``augment`` does with partly decodable clips."""

    keep = "keep"
    skip = "skip"


class HookViews(str, Enum):
    """``HardSampleMiningCallback(views=...)``."""

    random = "random"
    worst = "worst"


class Engine(str, Enum):
    """``vidaug.pipelines`` engines: this machine's processes, or Ray Data."""

    local = "local"
    ray = "ray"


class LabelErrors(str, Enum):
    """``curate(label_errors=...)``: off, or what to do with each label error found."""

    off = "off"
    keep = "keep"
    drop = "drop"
    relabel = "relabel"
