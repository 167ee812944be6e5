"""``HardSampleMiningCallback``: re-weights a :class:`ClipDataset` from the model's own view.

Every ``every`` epochs it scores the training clips on un-augmented frames with the current
model (per-clip loss, margin, kNN disagreement in the model's embedding space — or in a mining
index's — via :func:`vidaug.mining.score_hardness`) and changes how often each clip is drawn:

* hard clips (``is_hard``, not label suspects) are drawn up to ``cap`` times as often as an
  average clip, in proportion to ``hard_score``;
* label suspects (``is_label_suspect``: confidently seen as another class — likely label
  noise) are drawn ``suspect_weight`` times as often (0 drops them);
* each class keeps its share of the draws (class balance as in the data).

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

from vidaug.mining import score_hardness

__all__ = ["HardSampleMiningCallback"]


class HardSampleMiningCallback(keras.callbacks.Callback):
    """Oversample hard clips and hold back likely mislabeled ones during ``model.fit``.

    Args:
        dataset: the training :class:`vidaug.datasets.ClipDataset` passed to ``fit``.
        every: score every ``every`` epochs (1 = after each epoch).
        k: neighbours for the kNN evidence.
        cap: the most a hard clip is drawn, relative to an average clip (≥ 1).
        suspect_weight: relative draw rate of label suspects (0 drops them).
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
        self.dataset = dataset
        self.every = every
        self.k = k
        self.cap = cap
        self.suspect_weight = suspect_weight
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
        self.history = []
        self.scores = []
        self.seconds = 0.0

    def _embed_and_predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        model = self.model
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

    def score(self) -> list[dict[str, Any]]:
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

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        t0 = time.perf_counter()
        ds = self.dataset
        rows = self.score()
        pos = {r.rel: i for i, r in enumerate(ds.rows)}
        n = len(ds.rows)
        w = np.ones(n)
        readable = np.zeros(n, dtype=bool)
        hard, suspects = [], []
        for r in rows:
            i = pos[r["id"]]
            readable[i] = True
            if r["is_label_suspect"]:
                w[i] = self.suspect_weight
                suspects.append(r["id"])
            elif r["is_hard"]:
                w[i] = 1.0 + (self.cap - 1.0) * float(r["hard_score"])
                hard.append(r["id"])
        w[~readable] = 0.0
        labels = ds.loader.labels
        for c in np.unique(labels[readable]):  # each class keeps its share of the draws
            m = (labels == c) & readable
            if w[m].sum() > 0:
                w[m] *= m.sum() / w[m].sum()
        old = ds.loader.weights / ds.loader.weights.mean()
        ds.set_weights(w)
        new = w / w.mean()
        changed = int(np.sum(np.abs(new - old) > 1e-6))
        self.seconds += time.perf_counter() - t0
        record = {
            "epoch": epoch + 1,
            "hard_clips": len(hard),
            "label_suspects": len(suspects),
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
