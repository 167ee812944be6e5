"""``HardSampleMiningCallback``: re-weights a :class:`ClipDataset` from the model's own view.

Every ``every`` epochs it scores the training clips on un-augmented frames with the current
model (per-clip loss, margin, kNN disagreement in the model's embedding space — or in a mining
index's — via :func:`vidaug.mining.score_hardness`) and changes how often each clip is drawn:

* hard clips (``is_hard``, not label suspects) are drawn up to ``cap`` times as often as an
  easy clip, in proportion to ``hard_score``; a class the model gets wrong as a whole (a
  model leaning to one class) so gains draws, at most ``cap`` times its share in the data;
* label suspects (``is_label_suspect``: confidently seen as another class — likely label
  noise) are drawn ``suspect_weight`` times as often (0 drops them), but only once a clip
  was a suspect at two scorings in a row, and at most ``max_suspects`` of a class at once
  (the most suspect ones): a model's passing lean is not label noise;
* with cached augmented views (``ClipDataset(views=K)``) and ``views="worst"``, each clip's
  next epochs use the view the model currently finds hardest (highest loss).

Scoring starts after ``warmup`` epochs (an untrained model's view of the data says little).
:func:`hook_weights` is the re-weighting rule as a pure function.

Hooks used: ``on_train_begin`` (reset: uniform sampling, empty history) and ``on_epoch_end``
(score, re-weight, log). It never changes the model's weights; it only runs inference.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from vidaug.mining import HardnessResult, score_hardness

__all__ = ["HardSampleMiningCallback", "hook_weights"]


def hook_weights(
    scores: list[dict[str, Any]],
    ids: list[str],
    labels: np.ndarray,
    *,
    cap: float = 3.0,
    suspect_weight: float = 0.1,
    max_suspects: float = 0.1,
    previous_suspects: set[str] | frozenset[str] = frozenset(),
) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """The hook's rule: draw weights (mean 1) for the clips ``ids`` from their
    :func:`score_hardness` rows.

    Args:
        scores: rows with ``id``, ``is_hard``, ``hard_score``, ``is_label_suspect`` and
            ``label_suspect_score`` (clips without a row are unreadable: weight 0).
        ids: every clip, in dataset order; ``labels`` their class indices.
        cap: the most a hard clip is drawn relative to an easy one.
        suspect_weight: relative weight of a held-back label suspect.
        max_suspects: the most suspects held back per class, as a share of the class.
        previous_suspects: the suspects of the previous scoring (a clip is held back only
            when it is a suspect again).

    Returns:
        ``(weights, hard, suspects, held_back)``: ``suspects`` are this scoring's label
        suspects, ``held_back`` those that were downweighted.
    """
    pos = {c: i for i, c in enumerate(ids)}
    n = len(ids)
    w = np.zeros(n)
    hard, suspects, candidates = [], [], []
    for r in scores:
        i = pos[r["id"]]
        w[i] = 1.0
        if r["is_label_suspect"]:
            suspects.append(r["id"])
            if r["id"] in previous_suspects:
                candidates.append((float(r.get("label_suspect_score", 1.0)), r["id"]))
        elif r["is_hard"]:
            w[i] = 1.0 + (cap - 1.0) * float(r["hard_score"])
            hard.append(r["id"])
    held_back = []
    per_class: dict[int, int] = {}
    counts = np.bincount(labels[w > 0], minlength=int(labels.max()) + 1) if n else []
    for _score, cid in sorted(candidates, reverse=True):
        c = int(labels[pos[cid]])
        if per_class.get(c, 0) + 1 > max(1, int(max_suspects * counts[c])):
            continue
        per_class[c] = per_class.get(c, 0) + 1
        w[pos[cid]] = suspect_weight
        held_back.append(cid)
    if w.sum() > 0:
        w *= (w > 0).sum() / w.sum()
    return w, hard, suspects, held_back


class HardSampleMiningCallback(keras.callbacks.Callback):
    """Oversample hard clips and hold back likely mislabeled ones during ``model.fit``.

    Args:
        dataset: the training :class:`vidaug.datasets.ClipDataset` passed to ``fit``.
        every: score every ``every`` epochs (1 = after each epoch).
        k: neighbours for the kNN evidence.
        cap: the most a hard clip is drawn, relative to an average clip (≥ 1).
        suspect_weight: relative draw rate of label suspects (0 drops them).
        max_suspects: the most suspects held back per class at once (share of the class).
        warmup: epochs before the first scoring.
        views: ``random`` (a random cached view per clip and epoch) or ``worst`` (the view
            with the highest loss); only with ``ClipDataset(views=K)``.
        scoring_model: the model to score with (default: the model being fit); e.g. the
            averaged head when ``fit`` trains its members on separate outputs.
        index: optional :class:`vidaug.mining.EmbeddingIndex` over the training clips (ids =
            the rows' ``rel``); its clip embeddings replace the model's for the kNN evidence.
        log_path: JSONL file that gets one line per scoring (what changed and why).
        batch_size: clips per inference batch.
        verbose: print one line per scoring.

    After each scoring, ``logs`` (and so ``History``) get ``hard_clips``, ``label_suspects``
    and ``reweighted``; ``self.history`` keeps the full records.
    """

    def __init__(
        self,
        dataset: Any,
        every: int = 1,
        *,
        k: int = 10,
        cap: float = 3.0,
        suspect_weight: float = 0.1,
        max_suspects: float = 0.1,
        warmup: int = 0,
        views: str = "random",
        scoring_model: keras.Model | None = None,
        index: Any = None,
        log_path: str | os.PathLike | None = None,
        batch_size: int = 64,
        verbose: int = 0,
    ) -> None:
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be ≥ 1, got {every}")
        if cap < 1:
            raise ValueError(f"cap must be ≥ 1, got {cap}")
        if not 0 <= suspect_weight <= 1:
            raise ValueError(f"suspect_weight must be in [0, 1], got {suspect_weight}")
        if warmup < 0 or views not in ("random", "worst"):
            raise ValueError(f"warmup must be ≥ 0 and views random or worst, got {warmup}, {views}")
        self.dataset = dataset
        self.every = every
        self.k = k
        self.cap = cap
        self.suspect_weight = suspect_weight
        self.max_suspects = max_suspects
        self.warmup = warmup
        self.views = views
        self.scoring_model = scoring_model
        self.index = index
        self.log_path = Path(log_path) if log_path is not None else None
        self.batch_size = batch_size
        self.verbose = verbose
        self.history: list[dict[str, Any]] = []
        self.scores: list[dict[str, Any]] = []
        self.seconds = 0.0
        self._sub: keras.Model | None = None
        self._sub_of: keras.Model | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.dataset.set_weights(None)
        if hasattr(self.dataset, "set_views"):
            self.dataset.set_views(None)
        self._suspects: set[str] = set()
        self.history = []
        self.scores = []
        self.seconds = 0.0

    def _embed_and_predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model = self.scoring_model or self.model
        if self._sub is None or self._sub_of is not model:  # built once per model
            try:
                emb_layer = model.get_layer("embedding")
            except ValueError:
                emb_layer = model.layers[-2]
            self._sub = keras.Model(model.input, [emb_layer.output, model.output])
            self._sub_of = model
        embs, probs = [], []
        for s in range(0, len(x), self.batch_size):  # compiled steps without predict()'s set-up
            e, p = self._sub.predict_on_batch(x[s : s + self.batch_size])
            embs.append(np.asarray(e))
            probs.append(np.asarray(p))
        return np.concatenate(embs), np.concatenate(probs)

    def score(self) -> HardnessResult:
        """Score the training clips with the current model (also usable outside ``fit``)."""
        ds = self.dataset
        x, pos = ds.clean_inputs(self.batch_size)
        emb, probs = self._embed_and_predict(x)
        ids = [ds.rows[i].rel for i in pos]
        labels = [ds.rows[i].label for i in pos]
        if self.index is not None:
            emb = self.index.clip_emb[[self.index.position(i) for i in ids]]
        return score_hardness(
            emb.reshape(len(emb), -1),
            labels,
            k=min(self.k, max(1, len(ids) - 1)),
            ids=ids,
            probs=probs,
            class_names=ds.class_names,
        )

    def _worst_views(self) -> np.ndarray:
        """Per clip, the cached view with the highest loss under the current model."""
        ds = self.dataset
        feats = ds.view_features()
        model = self.scoring_model or self.model
        y = ds.loader.labels
        losses = np.zeros(feats.shape[:2])
        for v in range(len(feats)):
            p = np.concatenate([np.asarray(model.predict_on_batch(feats[v, s : s + 256]))
                                for s in range(0, feats.shape[1], 256)])  # fmt: skip
            losses[v] = -np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0))
        return losses.argmax(axis=0)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch + 1 <= self.warmup or (epoch + 1 - self.warmup) % self.every:
            return
        t0 = time.perf_counter()
        ds = self.dataset
        rows = self.score().table()
        ids = [r.rel for r in ds.rows]
        n = len(ids)
        w, hard, suspects, held = hook_weights(
            rows, ids, ds.loader.labels, cap=self.cap, suspect_weight=self.suspect_weight,
            max_suspects=self.max_suspects, previous_suspects=self._suspects,
        )  # fmt: skip
        self._suspects = set(suspects)
        old = ds.loader.weights / ds.loader.weights.mean()
        ds.set_weights(w)
        new = w / w.mean()
        changed = int(np.sum(np.abs(new - old) > 1e-6))
        if self.views == "worst" and getattr(ds, "views", 0):
            ds.set_views(self._worst_views())
        self.seconds += time.perf_counter() - t0
        record = {
            "epoch": epoch + 1,
            "hard_clips": len(hard),
            "label_suspects": len(suspects),
            "held_back": held,
            "reweighted": changed,
            "hard": hard,
            "suspects": suspects,
            "weights": {ds.rows[i].rel: round(float(new[i]), 4) for i in range(n)},
            "seconds": round(time.perf_counter() - t0, 3),
        }
        self.history.append(record)
        self.scores = rows
        if logs is not None:
            logs.update(
                hard_clips=float(len(hard)),
                label_suspects=float(len(suspects)),
                reweighted=float(changed),
            )
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")
        if self.verbose:
            print(
                f"hard-sample mining, epoch {epoch + 1}: {len(hard)} hard, "
                f"{len(suspects)} label suspects, {changed} clips re-weighted"
            )
