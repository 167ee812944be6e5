"""Hard samples, outliers and label suspects from clip embeddings (and optional classifier output).

Without a classifier every score comes from the geometry of the clip embeddings (cosine
similarity of L2-normalised vectors):

* ``knn_disagreement`` — over the clip's ``k`` nearest *other* clips, the similarity-weighted
  share whose label differs (weights ``max(sim, 0)``; unweighted if all weights are 0).
* ``centroid_margin`` — ``cos(own-class centroid) − max cos(other-class centroid)``, the own
  centroid computed without the clip itself (0 when the clip is alone in its class); in
  ``[-2, 2]``, usually ``[-1, 1]``.
* outlier: ``raw = 1 − sim(k-th neighbour)``, robust ``z = (raw − median) / (1.4826·MAD)``
  (mean absolute deviation × 1.2533 when the MAD is 0); ``outlier_score = logistic(z − 3)``,
  so ``is_outlier`` (``z > 3``) ⇔ ``outlier_score > 0.5``.

Scores (all in [0, 1]):

* ``hard_score`` = ``0.5·knn_disagreement + 0.5·clip01((1 − centroid_margin) / 2)``; with a
  classifier it is blended half-and-half with ``(1 − margin) / 2``, where
  ``margin = p(label) − max p(other class)``.
* ``label_suspect_score``: without a classifier, the similarity-weighted share of neighbours
  voting for the single most common *other* label; with one, ``max p(other class)``.
* ``is_label_suspect``: without a classifier ``knn_disagreement ≥ 0.8`` and a weighted majority
  (> 0.5) of neighbours on one other label and ``centroid_margin < 0``; with a classifier
  ``max p(other class) ≥ 0.8``.
* ``is_hard`` = ``hard_score ≥ hard_threshold`` (0.5) **and not** ``is_label_suspect``: a clip
  that confidently looks like another class is more likely mislabelled than hard, and curation
  must not oversample it. Its high ``hard_score`` is kept for ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, ClassVar

import faiss
import numpy as np
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from vidaug.errors import VidaugError
from vidaug.mining._index import EmbeddingIndex
from vidaug.mining._result import CheckResult
from vidaug.mining._vectors import l2_normalize

__all__ = [
    "DEFAULT_HARDNESS",
    "LABEL_SUSPECT_P",
    "OUTLIER_Z",
    "SUSPECT_DISAGREEMENT",
    "HardnessConfig",
    "HardnessResult",
    "score_hardness",
]

#: Robust z-score of ``1 − sim(k-th neighbour)`` above which a clip is an outlier.
OUTLIER_Z = 3.0
#: kNN disagreement at or above which a clip may be a label suspect (no classifier).
SUSPECT_DISAGREEMENT = 0.8
#: Probability of another class at or above which a clip is a label suspect (classifier).
LABEL_SUSPECT_P = 0.8


_Unit = Annotated[float, Field(ge=0, le=1)]


@pydantic_dataclass(frozen=True, config=ConfigDict(allow_inf_nan=False))
class HardnessConfig:
    """The settings of :func:`score_hardness`, recorded whole with its results (validated by
    pydantic: a bad value raises a ``ValueError`` naming the field).

    Attributes:
        k: neighbours per clip.
        hard_threshold: ``hard_score`` at or above which a clip (not a label suspect) is hard.
        suspect_disagreement: kNN disagreement at or above which a clip may be a label suspect
            (no classifier).
        label_suspect_p: probability of another class at or above which a clip is a label
            suspect (classifier).
        outlier_z: robust z-score of ``1 − sim(k-th neighbour)`` above which a clip is an
            outlier.
    """

    k: Annotated[int, Field(ge=1)] = 10
    hard_threshold: _Unit = 0.5
    suspect_disagreement: _Unit = SUSPECT_DISAGREEMENT
    label_suspect_p: _Unit = LABEL_SUSPECT_P
    outlier_z: Annotated[float, Field(gt=0)] = OUTLIER_Z


#: The defaults (calibrated by hand; see the module doc).
DEFAULT_HARDNESS = HardnessConfig()


@dataclass
class HardnessResult(CheckResult):
    """Output of :func:`score_hardness` (the :class:`~vidaug.mining.CheckResult` shape).

    :meth:`table` has one row per clip in the order given: ``id``, ``label``, ``is_hard``,
    ``hard_score``, ``is_outlier``, ``outlier_score``, ``is_label_suspect``,
    ``label_suspect_score``, ``predicted`` (classifier argmax, or the similarity-weighted
    majority label of the neighbours; own label on a tie), ``evidence`` (``neighbours``,
    ``neighbour_labels``, ``similarities``, ``knn_disagreement``, ``centroid_margin``,
    ``outlier_z``; with a classifier also ``loss``, ``margin``, ``misclassified``).
    :meth:`ranked` is the same rows hardest first. :meth:`summary`: ``clips``, ``hard``,
    ``label_suspects``, ``outliers``, ``classes``, ``classifier``, ``config``.

    Attributes:
        config: the :class:`HardnessConfig` that ran (``k`` as asked; at most ``N − 1``
            neighbours are used).
        classifier: whether classifier probabilities took part.
    """

    kind: ClassVar[str] = "hard"
    config: HardnessConfig
    classifier: bool = False
    _rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def ranked(self) -> list[dict[str, Any]]:
        """:meth:`table` sorted by ``hard_score``, highest first (ties by clip order)."""
        rows = self.table()
        return [rows[i] for i in sorted(range(len(rows)), key=lambda i: -rows[i]["hard_score"])]

    def counts(self) -> dict[str, Any]:
        return {
            "hard": sum(r["is_hard"] for r in self._rows),
            "label_suspects": sum(r["is_label_suspect"] for r in self._rows),
            "outliers": sum(r["is_outlier"] for r in self._rows),
            "classes": len({r["label"] for r in self._rows}),
            "classifier": self.classifier,
        }


def _without_self(sims: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` hits of each row that are not the row itself; missing ones ``-1`` / NaN."""
    keep = (ids >= 0) & (ids != np.arange(len(ids))[:, None])
    keep &= np.cumsum(keep, axis=1) <= k
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    valid = np.take_along_axis(keep, order, axis=1)
    ids = np.where(valid, np.take_along_axis(ids, order, axis=1), -1)
    sims = np.where(valid, np.take_along_axis(sims, order, axis=1), np.nan).astype(np.float32)
    return sims, ids


def _knn_exact(emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest other rows by inner product (exact, ``faiss.knn``): ``(sims, ids)`` best first."""
    x = np.ascontiguousarray(emb, dtype=np.float32)
    sims, ids = faiss.knn(x, x, min(k + 1, len(x)), faiss.METRIC_INNER_PRODUCT)
    return _without_self(sims, ids, k)


def _knn_index(index: EmbeddingIndex, emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest other clips from the FAISS clip index; missing ones are ``-1`` / NaN."""
    return _without_self(*index.search_clips(emb, k + 1), k)


def _check_labels(labels: Sequence[str | None], ids: list[str]) -> list[str]:
    missing = [i for i, lab in enumerate(labels) if lab is None or lab == ""]
    if missing:
        eg = ", ".join(ids[i] for i in missing[:3]) + (", ..." if len(missing) > 3 else "")
        raise VidaugError(
            f"hard-sample mining needs labels for every clip: {len(missing)} of {len(labels)} "
            f"clips have none ({eg}); give labels by class folder or a manifest 'label' column"
        )
    classes = sorted(set(labels))  # type: ignore[arg-type]
    if len(classes) < 2:
        raise VidaugError(
            f"hard-sample mining needs labels for every clip in at least 2 classes: all "
            f"{len(labels)} clips are labelled {classes[0]!r}"
        )
    return classes


def _check_probs(
    probs: np.ndarray, labels: Sequence[str], class_names: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or len(p) != len(labels):
        raise VidaugError(f"probs must be (clips={len(labels)}, classes), got shape {p.shape}")
    if class_names is None:
        class_names = sorted(set(labels))
        if len(class_names) != p.shape[1]:
            raise VidaugError(
                f"probs has {p.shape[1]} columns but the labels name {len(class_names)} classes; "
                f"pass class_names in the classifier's column order"
            )
    names = [str(c) for c in class_names]
    if len(names) != p.shape[1] or len(set(names)) != len(names):
        raise VidaugError(
            f"class_names must name each of the {p.shape[1]} probs columns once, got {len(names)}"
        )
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise VidaugError(f"label {unknown[0]!r} is not one of the classifier's classes {names}")
    sums = p.sum(axis=1)
    if not np.isfinite(p).all() or (p < -1e-6).any() or np.abs(sums - 1).max() > 1e-3:
        raise VidaugError(
            f"probs must be class probabilities (non-negative rows summing to 1), got row sums "
            f"in [{sums.min():.3g}, {sums.max():.3g}]; apply softmax to logits first"
        )
    return np.clip(p, 0.0, 1.0), names


def _centroid_margin(emb: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    e = emb.astype(np.float64)
    sums = np.zeros((n_classes, e.shape[1]))
    np.add.at(sums, y, e)
    counts = np.bincount(y, minlength=n_classes)
    dots = e @ sums.T  # (N, C)
    sq = np.einsum("nd,nd->n", e, e)
    norms = np.linalg.norm(sums, axis=1)
    cos = dots / np.maximum(norms, 1e-12)
    rows = np.arange(len(e))
    own_dot = dots[rows, y]
    own_norm = np.sqrt(np.maximum((norms**2)[y] - 2 * own_dot + sq, 0.0))
    own = np.where(
        (counts[y] > 1) & (own_norm > 1e-9), (own_dot - sq) / np.maximum(own_norm, 1e-12), 0.0
    )
    cos[rows, y] = -np.inf
    return own - cos.max(axis=1)


def _robust_z(raw: np.ndarray) -> np.ndarray:
    med = np.median(raw)
    dev = np.abs(raw - med)
    scale = 1.4826 * np.median(dev)
    if scale < 1e-12:
        scale = 1.2533 * dev.mean()
    if scale < 1e-12:
        return np.zeros_like(raw)
    return (raw - med) / scale


def score_hardness(
    clip_emb: np.ndarray,
    labels: Sequence[str | None],
    *,
    index: EmbeddingIndex | None = None,
    k: int | None = None,
    ids: Sequence[str] | None = None,
    probs: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    hard_threshold: float | None = None,
    config: HardnessConfig | None = None,
) -> HardnessResult:
    """Score every clip for hardness, outlierness and label suspicion (see the module doc).

    Steps: the settings (:func:`_settings`), the inputs checked (:func:`_check_inputs`), the
    neighbours' votes (:func:`_knn_votes`), outliers (:func:`_outliers`), the verdicts from
    the neighbours or the classifier (:func:`_knn_verdict`, :func:`_classifier_verdict`), the
    per-clip table (:func:`_hardness_rows`).

    Args:
        clip_emb: ``(N, D)`` clip embeddings (normalised here).
        labels: the label of each clip; every clip needs one, in at least 2 classes.
        index: the clips' :class:`EmbeddingIndex` (same positions); neighbours come from its
            FAISS clip index. Without it an exact numpy search is used.
        k: neighbours per clip (at most ``N − 1`` are used).
        ids: clip ids (default: the index's ids, else ``"0"``, ``"1"``, …).
        probs: optional ``(N, C)`` classifier probabilities.
        class_names: the class of each ``probs`` column (default: the sorted labels, if their
            number matches ``C``).
        hard_threshold: ``hard_score`` at or above which a clip (not a label suspect) is hard.
        config: all the settings (:class:`HardnessConfig`; default :data:`DEFAULT_HARDNESS`);
            ``k`` and ``hard_threshold``, when given, override it.

    Returns:
        A :class:`HardnessResult`: the per-clip table in clip order, :meth:`~HardnessResult.ranked`
        for the hardest first, the summary and the config that ran.

    Raises:
        VidaugError: a clip without label, fewer than 2 classes, or unusable ``probs``.
        ValueError: inconsistent shapes or ``k < 1``.
    """
    cfg = _settings(config, k, hard_threshold)
    emb, ids = _check_inputs(clip_emb, labels, index, ids)
    classes = _check_labels(labels, ids)
    cls_pos = {c: i for i, c in enumerate(classes)}
    y = np.array([cls_pos[lab] for lab in labels])  # type: ignore[index]
    if probs is not None:
        p, names = _check_probs(probs, labels, class_names)  # type: ignore[arg-type]
    emb = l2_normalize(emb)
    votes = _knn_votes(emb, y, len(classes), min(cfg.k, len(emb) - 1), index)
    margin_c = _centroid_margin(emb, y, len(classes))
    knn_hard = 0.5 * votes.disagreement + 0.5 * np.clip((1 - margin_c) / 2, 0.0, 1.0)
    outliers = _outliers(votes, cfg.outlier_z)
    if probs is None:
        verdict = _knn_verdict(votes, margin_c, knn_hard, classes, cfg)
    else:
        verdict = _classifier_verdict(p, names, labels, knn_hard, cfg)  # type: ignore[arg-type]
    rows = _hardness_rows(ids, labels, votes, margin_c, outliers, verdict, cfg.hard_threshold)
    return HardnessResult(config=cfg, classifier=probs is not None, _rows=rows)


def _settings(
    config: HardnessConfig | None, k: int | None, hard_threshold: float | None
) -> HardnessConfig:
    """The config that runs: ``config`` (or the default) with ``k`` / ``hard_threshold``
    overriding it when given."""
    if k is not None and k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    overrides = {"k": k, "hard_threshold": hard_threshold}
    return replace(
        config or DEFAULT_HARDNESS, **{n: v for n, v in overrides.items() if v is not None}
    )


def _check_inputs(
    clip_emb: np.ndarray,
    labels: Sequence[str | None],
    index: EmbeddingIndex | None,
    ids: Sequence[str] | None,
) -> tuple[np.ndarray, list[str]]:
    """``(embeddings, ids)`` once their shapes agree with the labels, ids and index."""
    emb = np.asarray(clip_emb)
    if emb.ndim != 2:
        raise ValueError(f"clip_emb must be (N, D), got shape {emb.shape}")
    n = len(emb)
    if ids is None:
        ids = index.ids if index is not None else [str(i) for i in range(n)]
    ids = [str(i) for i in ids]
    if len(labels) != n or len(ids) != n:
        raise ValueError(f"{n} embeddings but {len(labels)} labels and {len(ids)} ids")
    if index is not None and (len(index) != n or index.dims != emb.shape[1]):
        raise ValueError(
            f"index holds {len(index)} clips of dim {index.dims}, clip_emb is {emb.shape}"
        )
    return emb, ids


@dataclass(frozen=True, eq=False)
class _Votes:
    """The neighbours of each clip and how they vote (:func:`_knn_votes`).

    Attributes:
        sims, nb, valid: ``(N, k)`` similarities, neighbour positions and which are found.
        disagreement: similarity-weighted share of neighbours with another label.
        top_other_share: weighted share of the single most common other label.
        predicted: the weighted majority class (own class on a tie).
    """

    sims: np.ndarray
    nb: np.ndarray
    valid: np.ndarray
    disagreement: np.ndarray
    top_other_share: np.ndarray
    predicted: np.ndarray


def _knn_votes(
    emb: np.ndarray, y: np.ndarray, n_cls: int, kk: int, index: EmbeddingIndex | None
) -> _Votes:
    """Each clip's ``kk`` nearest other clips and their similarity-weighted class votes
    (weights ``max(sim, 0)``; unweighted if all of a clip's weights are 0)."""
    n = len(emb)
    sims, nb = _knn_index(index, emb, kk) if index is not None else _knn_exact(emb, kk)
    valid = nb >= 0
    w = np.where(valid, np.maximum(np.nan_to_num(sims, nan=0.0), 0.0), 0.0).astype(np.float64)
    unweighted = w.sum(axis=1) <= 0
    w[unweighted] = valid[unweighted]
    nb_y = np.where(valid, y[np.maximum(nb, 0)], -1)
    votes = np.zeros((n, n_cls))
    for j in range(kk):
        np.add.at(votes, (np.arange(n)[valid[:, j]], nb_y[valid[:, j], j]), w[valid[:, j], j])
    total = votes.sum(axis=1)
    safe = np.maximum(total, 1e-12)
    own_votes = votes[np.arange(n), y]
    other = votes.copy()
    other[np.arange(n), y] = -1.0
    return _Votes(
        sims=sims, nb=nb, valid=valid,
        disagreement=np.where(total > 0, 1 - own_votes / safe, 0.0),
        top_other_share=np.where(total > 0, other.max(axis=1).clip(0) / safe, 0.0),
        predicted=np.where(votes.max(axis=1) > own_votes, votes.argmax(axis=1), y),
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class _Outliers:
    """``z``: robust z-score of ``1 − sim(k-th neighbour)``; ``score``: ``outlier_score``;
    ``flag``: ``is_outlier`` (module doc)."""

    z: np.ndarray
    score: np.ndarray
    flag: np.ndarray


def _outliers(votes: _Votes, outlier_z: float) -> _Outliers:
    """How far each clip's ``k``-th neighbour is, against all clips (module doc)."""
    n, sims, valid = len(votes.nb), votes.sims, votes.valid
    last = np.where(valid.any(axis=1), valid.sum(axis=1) - 1, 0)
    kth = np.where(valid.any(axis=1), np.nan_to_num(sims[np.arange(n), last], nan=0.0), 0.0)
    z = _robust_z(1.0 - kth.astype(np.float64))
    outlier_score = 0.5 * (1.0 + np.tanh((z - outlier_z) / 2.0))  # logistic, overflow-free
    return _Outliers(z, outlier_score, z > outlier_z)


@dataclass(frozen=True, eq=False)
class _Verdict:
    """Hardness and label suspicion of each clip, from the neighbours or a classifier.

    Attributes:
        hard: ``hard_score`` before clipping to [0, 1].
        suspect_score, suspect: ``label_suspect_score`` and ``is_label_suspect``.
        predicted: the predicted class name of each clip.
        evidence: the classifier's per-clip evidence (``loss``, ``margin``,
            ``misclassified``); empty without one.
    """

    hard: np.ndarray
    suspect_score: np.ndarray
    suspect: np.ndarray
    predicted: list[str]
    evidence: list[dict[str, Any]] = field(default_factory=list)


def _knn_verdict(
    votes: _Votes,
    margin_c: np.ndarray,
    knn_hard: np.ndarray,
    classes: list[str],
    cfg: HardnessConfig,
) -> _Verdict:
    """Without a classifier: the neighbours' disagreement decides."""
    suspect = (
        (votes.disagreement >= cfg.suspect_disagreement)
        & (votes.top_other_share > 0.5)
        & (margin_c < 0)
    )
    return _Verdict(knn_hard, votes.top_other_share, suspect, [classes[c] for c in votes.predicted])


def _classifier_verdict(
    p: np.ndarray,
    names: list[str],
    labels: Sequence[str],
    knn_hard: np.ndarray,
    cfg: HardnessConfig,
) -> _Verdict:
    """With a classifier: its margin is blended half-and-half with the neighbours'
    hardness; the probability of another class decides suspicion."""
    n = len(p)
    col = {c: i for i, c in enumerate(names)}
    t = np.array([col[lab] for lab in labels])
    p_true = p[np.arange(n), t]
    p_other = p.copy()
    p_other[np.arange(n), t] = -1.0
    p_other_max = p_other.max(axis=1)
    loss = -np.log(np.clip(p_true, 1e-12, 1.0))
    margin_p = p_true - p_other_max
    arg = p.argmax(axis=1)
    evidence = [
        {
            "loss": float(loss[i]),
            "margin": float(margin_p[i]),
            "misclassified": bool(arg[i] != t[i]),
        }
        for i in range(n)
    ]
    return _Verdict(
        hard=0.5 * (1 - margin_p) / 2 + 0.5 * knn_hard,
        suspect_score=np.clip(p_other_max, 0.0, 1.0),
        suspect=p_other_max >= cfg.label_suspect_p,
        predicted=[names[c] for c in arg],
        evidence=evidence,
    )


def _hardness_rows(
    ids: list[str],
    labels: Sequence[str | None],
    votes: _Votes,
    margin_c: np.ndarray,
    outliers: _Outliers,
    verdict: _Verdict,
    hard_threshold: float,
) -> list[dict[str, Any]]:
    """One row per clip (the :class:`HardnessResult` table): ``is_hard`` is ``hard_score ≥
    hard_threshold`` and not a label suspect."""
    hard = np.clip(verdict.hard, 0.0, 1.0)
    is_hard = (hard >= hard_threshold) & ~verdict.suspect
    rows = []
    for i in range(len(ids)):
        nbrs = votes.nb[i][votes.valid[i]]
        evidence: dict[str, Any] = {
            "neighbours": [ids[j] for j in nbrs],
            "neighbour_labels": [labels[j] for j in nbrs],
            "similarities": [float(s) for s in votes.sims[i][votes.valid[i]]],
            "knn_disagreement": float(votes.disagreement[i]),
            "centroid_margin": float(margin_c[i]),
            "outlier_z": float(outliers.z[i]),
        }
        if verdict.evidence:
            evidence.update(verdict.evidence[i])
        rows.append(
            {
                "id": ids[i],
                "label": labels[i],
                "is_hard": bool(is_hard[i]),
                "hard_score": float(hard[i]),
                "is_outlier": bool(outliers.flag[i]),
                "outlier_score": float(outliers.score[i]),
                "is_label_suspect": bool(verdict.suspect[i]),
                "label_suspect_score": float(verdict.suspect_score[i]),
                "predicted": verdict.predicted[i],
                "evidence": evidence,
            }
        )
    return rows
