"""Classification metrics and group-aware splits (pure numpy; no Keras)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "classification_report",
    "format_report",
    "group_kfold",
    "group_split",
    "summarize_folds",
]


def classification_report(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
) -> dict[str, Any]:
    """Accuracy, per-class precision / recall / F1 / support, macro F1 and the confusion matrix.

    Args:
        y_true: true class indices.
        y_pred: predicted class indices.
        class_names: the name of each class index.

    Returns:
        ``{"n", "accuracy", "macro_precision", "macro_recall", "macro_f1", "per_class":
        {name: {"precision", "recall", "f1", "support"}}, "confusion": [[...]] (rows = true,
        columns = predicted), "class_names"}``. A class never predicted has precision 0; one
        absent from ``y_true`` has recall 0 and is left out of the macro means.
    """
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of one length, got {t.shape}, {p.shape}")
    c = len(class_names)
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros(c), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(c), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(c), where=denom > 0)
    present = support > 0
    return {
        "n": int(len(t)),
        "accuracy": float((t == p).mean()) if len(t) else 0.0,
        "macro_precision": float(precision[present].mean()) if present.any() else 0.0,
        "macro_recall": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion": cm.tolist(),
        "class_names": list(class_names),
    }


def format_report(report: dict[str, Any]) -> str:
    """The report as plain text: a per-class table, the macro means and the confusion matrix."""
    names = report["class_names"]
    w = max(9, *(len(n) for n in names))
    lines = [f"{'class':<{w}}  precision  recall     f1  support"]
    for n in names:
        r = report["per_class"][n]
        lines.append(
            f"{n:<{w}}  {r['precision']:9.3f}  {r['recall']:6.3f}  {r['f1']:5.3f}  {r['support']:7d}"
        )
    lines.append(
        f"{'macro':<{w}}  {report['macro_precision']:9.3f}  {report['macro_recall']:6.3f}  "
        f"{report['macro_f1']:5.3f}  {report['n']:7d}"
    )
    lines.append(f"accuracy {report['accuracy']:.3f} on {report['n']} clips")
    lines.append("confusion (rows = true, columns = predicted):")
    lines.append(" " * (w + 2) + " ".join(f"{n[:8]:>8}" for n in names))
    for n, row in zip(names, report["confusion"], strict=True):
        lines.append(f"{n:<{w}}  " + " ".join(f"{v:8d}" for v in row))
    return "\n".join(lines)


def group_split(
    labels: Sequence[Any], groups: Sequence[Any], fractions: Sequence[float], seed: int = 0
) -> list[np.ndarray]:
    """Split items into parts of the given sizes, every group in one part, class counts
    stratified.

    Groups are taken largest first (ties in random order from ``seed``); each goes to the part
    where it most reduces the gap between the part's class counts and its target
    (``fraction × class total``).

    Args:
        labels: one label per item.
        groups: one group per item (items without a group: pass a unique value each).
        fractions: the parts' shares (normalised; zeros allowed).
        seed: tie-breaking seed.

    Returns:
        One array of item positions per part.

    Raises:
        ValueError: fewer groups than parts with a share > 0, or negative fractions.
    """
    frac = np.asarray(fractions, dtype=np.float64)
    if frac.ndim != 1 or len(frac) < 2 or np.any(frac < 0) or frac.sum() <= 0:
        raise ValueError(f"fractions must be ≥ 2 shares ≥ 0, got {list(fractions)}")
    frac = frac / frac.sum()
    labels = list(labels)
    classes = sorted({str(x) for x in labels})
    cidx = {c: i for i, c in enumerate(classes)}
    members: dict[Any, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    if len(members) < int(np.sum(frac > 0)):
        raise ValueError(f"{len(members)} groups cannot fill {int(np.sum(frac > 0))} parts")
    rng = np.random.default_rng(seed)
    keys = list(members)
    rng.shuffle(keys)
    keys.sort(key=lambda g: -len(members[g]))
    total = np.zeros(len(classes))
    for lab in labels:
        total[cidx[str(lab)]] += 1
    target = frac[:, None] * total[None, :]
    counts = np.zeros_like(target)
    parts: list[list[int]] = [[] for _ in frac]
    empty = [f for f in range(len(frac)) if frac[f] > 0]
    for n_left, g in zip(range(len(keys), 0, -1), keys, strict=True):
        vec = np.zeros(len(classes))
        for i in members[g]:
            vec[cidx[str(labels[i])]] += 1
        if len(empty) >= n_left:  # just enough groups left: give each empty part one
            f = empty[0]
        else:
            cost = [
                np.abs(counts[f] + vec - target[f]).sum() - np.abs(counts[f] - target[f]).sum()
                + 1e-3 * (counts[f].sum() + vec.sum()) / target[f].sum()  # ties: least full
                if frac[f] > 0 else np.inf
                for f in range(len(frac))
            ]  # fmt: skip
            f = int(np.argmin(cost))
        counts[f] += vec
        parts[f].extend(members[g])
        if f in empty:
            empty.remove(f)
    return [np.array(sorted(p), dtype=np.int64) for p in parts]


def group_kfold(
    labels: Sequence[Any], groups: Sequence[Any], k: int, seed: int = 0
) -> list[np.ndarray]:
    """Stratified k-fold over groups (:func:`group_split` into ``k`` equal parts): every
    group lands in one fold; returns the test positions of each fold.

    Raises:
        ValueError: ``k < 2`` or fewer groups than folds.
    """
    if k < 2:
        raise ValueError(f"k must be ≥ 2, got {k}")
    return group_split(labels, groups, [1.0] * k, seed)


def summarize_folds(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation of accuracy, macro F1 and macro recall over folds/runs."""
    out: dict[str, Any] = {"folds": len(reports)}
    for key in ("accuracy", "macro_f1", "macro_recall"):
        v = np.array([r[key] for r in reports], dtype=np.float64)
        out[key] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
    return out
