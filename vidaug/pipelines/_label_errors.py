"""Label errors of a labelled dataset from the model that will be trained on it.

:func:`label_error_probs` gives every clip a probability of each class from a model that did
not train on it: the workflow (the recommended one by default) is cross-validated with K
folds in which a clip's duplicates and its source video (``group`` column, when there is one)
stay on its side, so a clip's own copies never vouch for its label. Frozen-backbone workflows
embed every clip once and train only their heads per fold (:func:`cross_validate`).
:func:`find_dataset_label_errors` turns those probabilities into label errors by confident
learning (:func:`vidaug.mining.find_label_errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from vidaug.datasets import ManifestRow, class_names, require_labels
from vidaug.errors import VidaugError

__all__ = ["DEFAULT_LABEL_ERROR_WORKFLOW", "find_dataset_label_errors", "label_error_probs"]

#: The workflow whose out-of-fold probabilities judge the labels: the recommended model without
#: augmentation (one embedding pass per clip; views would cost `views + 1` for folds that only
#: need probabilities, and the judge's precision was measured with this one: RESULTS.md).
DEFAULT_LABEL_ERROR_WORKFLOW = "recommended-no-aug"


def _describe(workflow: Any) -> str:
    return workflow if isinstance(workflow, str) else workflow.describe()


def group_components(
    rows: Sequence[ManifestRow], duplicate_groups: Sequence[Sequence[str]]
) -> np.ndarray:
    """The component of each row in the graph of "same source video" (``group`` column) and
    "duplicates of each other" (``duplicate_groups``, lists of ``rel``): clips that must stay
    on one side of a split or a fold."""
    pos = {r.rel: i for i, r in enumerate(rows)}
    edges: list[tuple[int, int]] = []
    first: dict[Any, int] = {}
    for i, r in enumerate(rows):
        g = r.extra.get("group")
        if g is not None:
            edges.append((i, first.setdefault(g, i)))
    for g in duplicate_groups:
        members = [pos[c] for c in g if c in pos]
        edges.extend((members[0], m) for m in members[1:])
    ab = np.array(edges, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(ab)), (ab[:, 0], ab[:, 1])), shape=(len(rows),) * 2)
    return connected_components(graph, directed=False)[1]


def label_error_probs(
    rows: Sequence[ManifestRow],
    *,
    workflow: Any = DEFAULT_LABEL_ERROR_WORKFLOW,
    folds: int = 5,
    duplicate_groups: Sequence[Sequence[str]] = (),
    seed: int = 0,
    weights: Any = None,
    on_progress: Callable[[str], None] | None = None,
    on_embed: Callable[[int, int], None] | None = None,
    feature_cache: dict | None = None,
    repeats: int = 1,
) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold class probabilities of every row (NaN rows: unreadable clips).

    Args:
        rows: labelled rows (at least 2 classes).
        workflow: a :class:`~vidaug.training.TrainConfig` or its ``key=value`` words.
        folds: K; clips of one source group or duplicate group share a fold.
        duplicate_groups: lists of ``rel`` that show the same footage.
        seed: the seed of the folds and of the heads.
        weights: the MobileNetV2 weights file (None: the Keras cache / ``VIDAUG_WEIGHTS``).
        on_progress, on_embed: progress callbacks of :func:`cross_validate`.
        feature_cache: a dict that keeps the backbone's features of ``rows`` between calls
            (the same rows in the same order).
        repeats: cross-validations averaged, each with other folds and heads (seeds
            ``seed … seed + repeats − 1``).

    Returns:
        ``(probs, class_names)``: ``probs`` is ``(len(rows), classes)``.

    Raises:
        VidaugError: unlabelled rows, one class, fewer groups of clips than folds.
    """
    from vidaug.pipelines._cross_validate import cross_validate
    from vidaug.training import TrainConfig

    rows = list(rows)
    require_labels(rows, "finding label errors")
    classes = class_names(rows)
    if len(classes) < 2:
        raise VidaugError(f"finding label errors needs at least 2 classes, got only {classes}")
    if folds < 2:
        raise VidaugError(f"label-error folds must be ≥ 2, got {folds}")
    groups = [f"cluster{c}" for c in group_components(rows, duplicate_groups)]
    if len(set(groups)) < folds:
        raise VidaugError(
            f"finding label errors with {folds} folds needs at least {folds} clips from different "
            f"sources (source videos and duplicates stay together), got {len(set(groups))} "
            f"from {len(rows)} clips: add clips or lower the folds"
        )
    config = workflow if isinstance(workflow, TrainConfig) else TrainConfig.parse(workflow)
    grouped = [replace(r, extra={**r.extra, "group": g}) for r, g in zip(rows, groups, strict=True)]
    cache = feature_cache if feature_cache is not None else {}
    runs = []
    for rep in range(repeats):  # other folds and heads each time; the features are computed once
        cv = cross_validate(grouped, config, k=folds, seeds=(seed + rep,), class_names=classes,
                            weights=weights, fold_seed=seed + rep, on_progress=on_progress,
                            on_embed=on_embed, _banks=cache)  # fmt: skip
        runs.append(cv.probs[seed + rep])
    return np.mean(runs, axis=0), classes


def find_dataset_label_errors(rows: Sequence[ManifestRow], **options: Any) -> Any:
    """Label errors of ``rows`` (:class:`~vidaug.mining.LabelErrorResult`, ids = ``rel``),
    from out-of-fold probabilities: ``options`` are :func:`label_error_probs`' keyword
    arguments (``workflow``, ``folds``, ``duplicate_groups``, ``seed``, ``weights``, …). Clips
    that could not be read are left out of the result.

    Raises:
        VidaugError: as :func:`label_error_probs`; no clip could be read.
    """
    from vidaug.mining import LabelErrorConfig, find_label_errors

    rows = list(rows)
    probs, classes = label_error_probs(rows, **options)
    ran = {**(label_error_probs.__kwdefaults__ or {}), **options}  # the settings that ran
    folds, workflow, duplicate_groups = ran["folds"], ran["workflow"], ran["duplicate_groups"]
    ok = np.isfinite(probs).all(axis=1)
    if not ok.any():
        raise VidaugError("finding label errors: no clip could be read")
    keep = np.flatnonzero(ok)
    where = {int(i): j for j, i in enumerate(keep)}
    pos = {r.rel: i for i, r in enumerate(rows)}
    dups = [[where[pos[c]] for c in g if c in pos and pos[c] in where] for g in duplicate_groups]
    return find_label_errors(
        probs[keep], [str(rows[i].label) for i in keep], classes,
        ids=[rows[i].rel for i in keep], duplicate_groups=[g for g in dups if len(g) > 1],
        config=LabelErrorConfig(folds=folds, model=_describe(workflow)),
    )  # fmt: skip
