"""score_hardness: label suspects vs hard boundary clips vs outliers, classifier path, errors, contract."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from vidaug.errors import VidaugError
from vidaug.mining import DEFAULT_HARDNESS, EmbeddingIndex, score_hardness

FLIPPED = {"a3", "a11", "a27"}
BOUNDARY = {f"bnd{i}" for i in range(6)}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, list[str], list[str]]:
    """Two well-separated Gaussian classes (A around +e0, B around −e0) in an 8-dim subspace of
    16 dims, 3 class-A clips labelled B, a mixed cluster of 6 clips on the boundary, and one clip
    in the orthogonal subspace (far from everything)."""
    rng = np.random.default_rng(0)

    def blob(n: int, c0: float, spread: float = 1.0) -> np.ndarray:
        x = spread * rng.normal(size=(n, 8))
        x[:, 0] += c0
        return x

    a, b = blob(40, 2.5), blob(40, -2.5)
    bnd = blob(6, 0.0, 0.3)
    bnd[:, 1:] += rng.normal(size=7)
    bnd[:3, 0] -= 0.3
    bnd[3:, 0] += 0.3
    x = np.concatenate([a, b, bnd])
    x = np.concatenate([x, np.zeros((len(x), 8))], axis=1)
    far = np.zeros((1, 16))
    far[0, 8:] = 1.0
    x = np.concatenate([x, far]).astype(np.float32)
    labels = ["A"] * 40 + ["B"] * 40 + ["A"] * 3 + ["B"] * 3 + ["A"]
    for i in (3, 11, 27):
        labels[i] = "B"
    ids = [f"a{i}" for i in range(40)] + [f"b{i}" for i in range(40)]
    ids += [f"bnd{i}" for i in range(6)] + ["far"]
    return x, labels, ids


def by_id(result) -> dict[str, dict]:
    return {r["id"]: r for r in result.table()}


def test_flipped_labels_are_suspects_not_hard(data) -> None:
    x, labels, ids = data
    rows = by_id(score_hardness(x, labels, ids=ids))
    assert {i for i, r in rows.items() if r["is_label_suspect"]} == FLIPPED
    for i in FLIPPED:
        r = rows[i]
        assert r["label"] == "B" and r["predicted"] == "A"
        assert not r["is_hard"] and r["hard_score"] >= 0.9  # high score kept for ranking
        assert r["label_suspect_score"] >= 0.8
        assert r["evidence"]["knn_disagreement"] >= 0.8 and r["evidence"]["centroid_margin"] < 0
        assert set(r["evidence"]["neighbour_labels"]) <= {"A", "B"}


def test_boundary_clips_are_hard_not_suspects(data) -> None:
    x, labels, ids = data
    rows = by_id(score_hardness(x, labels, ids=ids))
    assert not any(rows[i]["is_label_suspect"] for i in BOUNDARY)
    assert sum(rows[i]["is_hard"] for i in BOUNDARY) >= 4
    core = [r for i, r in rows.items() if i not in FLIPPED | BOUNDARY | {"far"}]
    assert not any(r["is_hard"] or r["is_label_suspect"] or r["is_outlier"] for r in core)
    assert min(rows[i]["hard_score"] for i in BOUNDARY) > max(r["hard_score"] for r in core)
    assert {i for i, r in rows.items() if r["is_hard"]} <= BOUNDARY


def test_far_clip_is_the_only_outlier(data) -> None:
    x, labels, ids = data
    rows = by_id(score_hardness(x, labels, ids=ids))
    assert {i for i, r in rows.items() if r["is_outlier"]} == {"far"}
    far = rows["far"]
    assert far["outlier_score"] > 0.5 and far["evidence"]["outlier_z"] > 3
    assert far["outlier_score"] == max(r["outlier_score"] for r in rows.values())
    assert all(r["outlier_score"] < 0.5 for i, r in rows.items() if i != "far")


def test_output_contract(data) -> None:
    x, labels, ids = data
    result = score_hardness(x, labels, ids=ids, k=5)
    rows = result.table()
    assert [r["id"] for r in rows] == ids  # one row per clip, in clip order
    ranked = result.ranked()
    assert sorted(r["id"] for r in ranked) == sorted(ids)
    scores = [r["hard_score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    assert result.summary() == {
        "clips": len(ids),
        "hard": sum(r["is_hard"] for r in rows),
        "label_suspects": sum(r["is_label_suspect"] for r in rows),
        "outliers": sum(r["is_outlier"] for r in rows),
        "classes": 2,
        "classifier": False,
        "config": {**dataclasses.asdict(DEFAULT_HARDNESS), "k": 5},
    }
    keys = [
        "id",
        "label",
        "is_hard",
        "hard_score",
        "is_outlier",
        "outlier_score",
        "is_label_suspect",
        "label_suspect_score",
        "predicted",
        "evidence",
    ]
    for r in rows:
        assert list(r) == keys
        for flag in ("is_hard", "is_outlier", "is_label_suspect"):
            assert type(r[flag]) is bool
        for score in ("hard_score", "outlier_score", "label_suspect_score"):
            assert type(r[score]) is float and 0.0 <= r[score] <= 1.0
        e = r["evidence"]
        assert len(e["neighbours"]) == len(e["neighbour_labels"]) == len(e["similarities"]) == 5
        assert r["id"] not in e["neighbours"]
        assert e["similarities"] == sorted(e["similarities"], reverse=True)
        assert 0.0 <= e["knn_disagreement"] <= 1.0 and math.isfinite(e["centroid_margin"])
        expect = 0.5 * e["knn_disagreement"] + 0.5 * min(max((1 - e["centroid_margin"]) / 2, 0), 1)
        assert r["hard_score"] == pytest.approx(expect)
        assert r["is_hard"] == (r["hard_score"] >= 0.5 and not r["is_label_suspect"])


def test_faiss_index_gives_the_same_answer(data) -> None:
    x, labels, ids = data
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    index = EmbeddingIndex.build([{"id": i} for i in ids], xn, np.arange(len(ids)), model_id="m")
    exact = by_id(score_hardness(xn, labels, ids=ids))
    faiss_rows = by_id(score_hardness(xn, labels, index=index))  # ids from the index
    assert exact.keys() == faiss_rows.keys()
    for i, r in exact.items():
        f = faiss_rows[i]
        if i != "far":  # "far" is equally dissimilar to all: its tied neighbours may reorder
            assert f["evidence"]["neighbours"] == r["evidence"]["neighbours"]
        np.testing.assert_allclose(
            f["evidence"]["similarities"], r["evidence"]["similarities"], atol=1e-5
        )
        assert f["hard_score"] == pytest.approx(r["hard_score"], abs=1e-5)
        assert (f["is_hard"], f["is_outlier"], f["is_label_suspect"]) == (
            r["is_hard"],
            r["is_outlier"],
            r["is_label_suspect"],
        )


def test_classifier_probabilities(data) -> None:
    x, labels, ids = data
    n = len(ids)
    p_a = np.where(np.array(labels) == "A", 0.9, 0.1)
    for i, cid in enumerate(ids):
        if cid in FLIPPED:
            p_a[i] = 0.95  # the classifier sees class A, the label says B
        elif cid in BOUNDARY:
            p_a[i] = 0.55 if labels[i] == "A" else 0.45
    probs = np.stack([1 - p_a, p_a], axis=1)  # columns in the classifier's order: B, A
    knn = by_id(score_hardness(x, labels, ids=ids))
    rows = by_id(score_hardness(x, labels, ids=ids, probs=probs, class_names=["B", "A"]))
    assert len(rows) == n
    assert {i for i, r in rows.items() if r["is_label_suspect"]} == FLIPPED
    for i, r in rows.items():
        j = ids.index(i)
        p_true = p_a[j] if labels[j] == "A" else 1 - p_a[j]
        e = r["evidence"]
        assert e["loss"] == pytest.approx(-math.log(p_true))
        assert e["margin"] == pytest.approx(2 * p_true - 1)
        assert e["misclassified"] == (i in FLIPPED)
        assert r["predicted"] == ("A" if p_a[j] > 0.5 else "B")
        assert r["hard_score"] == pytest.approx(
            0.5 * (1 - e["margin"]) / 2 + 0.5 * knn[i]["hard_score"]
        )
        assert r["label_suspect_score"] == pytest.approx(1 - p_true)
    assert not any(rows[i]["is_hard"] for i in FLIPPED)
    assert sum(rows[i]["is_hard"] for i in BOUNDARY) >= 4
    assert not any(rows[i]["is_label_suspect"] for i in BOUNDARY)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"probs": np.full((87, 3), 1 / 3)}, "3 columns but the labels name 2 classes"),
        ({"probs": np.full((87, 2), 0.5), "class_names": ["A", "C"]}, "label 'B' is not one of"),
        ({"probs": np.full((87, 2), 3.0), "class_names": ["A", "B"]}, "apply softmax"),
        ({"probs": np.full((5, 2), 0.5)}, r"probs must be \(clips=87"),
        ({"probs": np.full((87, 2), 0.5), "class_names": ["A", "A"]}, "name each of the 2"),
    ],
)
def test_bad_probs_are_refused(data, kwargs, match) -> None:
    x, labels, ids = data
    with pytest.raises(VidaugError, match=match):
        score_hardness(x, labels, ids=ids, **kwargs)


def test_missing_labels_are_refused(data) -> None:
    x, labels, ids = data
    labels = list(labels)
    labels[0] = None
    labels[5] = ""
    with pytest.raises(
        VidaugError, match=r"needs labels for every clip: 2 of 87 clips have none \(a0, a5\)"
    ):
        score_hardness(x, labels, ids=ids)


def test_one_class_is_refused(data) -> None:
    x, _, ids = data
    with pytest.raises(VidaugError, match="at least 2 classes: all 87 clips are labelled 'A'"):
        score_hardness(x, ["A"] * len(ids), ids=ids)


def test_tiny_input_and_validation() -> None:
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]], np.float32)
    rows = score_hardness(x, ["a", "b", "a"], k=10).table()  # k is capped at N − 1
    assert sorted(r["id"] for r in rows) == ["0", "1", "2"]
    assert all(len(r["evidence"]["neighbours"]) == 2 for r in rows)
    with pytest.raises(ValueError, match="k must be"):
        score_hardness(x, ["a", "b", "a"], k=0)
    with pytest.raises(ValueError, match="3 embeddings but 2 labels"):
        score_hardness(x, ["a", "b"])


def test_hardness_config_is_used_and_recorded_whole():
    """issue 10 §1/§3: the results recorded ``hard_threshold: 0.5`` whatever was used."""
    import dataclasses

    from vidaug.mining import HardnessConfig
    from vidaug.report import check_results

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(40, 8)).astype(np.float32)
    labels = ["ab"[i % 2] for i in range(40)]
    loose = score_hardness(emb, labels, config=HardnessConfig(k=5, hard_threshold=0.0)).table()
    strict = score_hardness(emb, labels, config=HardnessConfig(k=5, hard_threshold=1.0)).table()
    n_loose = sum(r["is_hard"] for r in loose)
    assert n_loose > sum(r["is_hard"] for r in strict) == 0
    assert n_loose == sum(not r["is_label_suspect"] for r in loose)  # threshold 0: all but suspects
    cfg = HardnessConfig(k=5, hard_threshold=0.7, outlier_z=2.5)
    meta = check_results(score_hardness(emb, labels, config=cfg)).meta
    assert meta["thresholds"] == dataclasses.asdict(cfg)
    assert meta["summary"]["clips"] == 40 and "config" not in meta["summary"]
    over = score_hardness(emb, labels, k=3, config=cfg)  # k overrides the config's k
    assert check_results(over).meta["thresholds"] == dataclasses.asdict(
        dataclasses.replace(cfg, k=3)
    )
    with pytest.raises(ValueError, match="hard_threshold"):
        HardnessConfig(hard_threshold=1.5)
