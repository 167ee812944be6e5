"""Confident learning on out-of-fold probabilities (issue 19 §1): flipped labels are found."""

from __future__ import annotations

import numpy as np
import pytest

from vidaug.errors import VidaugError
from vidaug.mining import find_label_errors
from vidaug.mining._label_errors import class_thresholds, confident_labels

CLASSES = ["fight", "noFight", "walk"]


def _noisy(n: int = 300, k: int = 3, flip: float = 0.25, seed: int = 0):
    """Probabilities of a decent model on the *true* classes, labels with ``flip`` of them
    changed to another class: the flipped positions are known."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    logits = rng.normal(0, 1.0, (n, k))
    logits[np.arange(n), true] += 2.5
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    flipped = rng.random(n) < flip
    given = true.copy()
    given[flipped] = (true[flipped] + rng.integers(1, k, flipped.sum())) % k
    return p, [CLASSES[i] for i in given], flipped, true


@pytest.mark.parametrize("flip", [0.1, 0.25, 0.4])
def test_flipped_labels_are_found(flip):
    hits = found_n = flipped_n = right = 0
    for seed in range(3):  # pooled: 30 flips of one draw are too few to judge
        p, given, flipped, true = _noisy(flip=flip, seed=seed)
        res = find_label_errors(p, given, CLASSES)
        found = np.array([r["is_label_error"] for r in res.table()])
        sugg = np.array([CLASSES.index(r["suggested"]) for r in res.table()])
        hits += (found & flipped).sum()
        found_n += found.sum()
        flipped_n += flipped.sum()
        right += (sugg[found & flipped] == true[found & flipped]).sum()
    assert hits / found_n >= 0.8 and hits / flipped_n >= 0.7, (hits / found_n, hits / flipped_n)
    assert right / hits >= 0.85  # a found flip's suggestion is mostly the true class


def test_clean_labels_give_few_errors_and_scores_rank():
    p, given, flipped, _ = _noisy(flip=0.0)
    res = find_label_errors(p, given, CLASSES, ids=[f"c{i}" for i in range(len(given))])
    assert res.summary()["label_errors"] <= 0.1 * len(given)
    errs = res.errors()
    assert [e["label_error_score"] for e in errs] == sorted(
        (e["label_error_score"] for e in errs), reverse=True
    )
    row = res.table()[0]
    assert row["id"] == "c0" and 0 <= row["label_error_score"] <= 1
    assert abs(row["label_error_score"] - (1 - row["p_given"])) < 1e-6


def test_thresholds_are_per_class_self_confidence():
    p = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6]])
    y = np.array([0, 0, 1, 1])
    t = class_thresholds(p, y)
    assert np.allclose(t, [0.8, 0.7])
    # clip 1: p0 = 0.7 < 0.8, p1 = 0.3 < 0.7 → no confident label
    assert confident_labels(p, t).tolist() == [0, -1, 1, -1]


def test_an_obvious_flip_is_an_error_with_the_other_class_suggested():
    p = np.array([[0.95, 0.05]] * 5 + [[0.05, 0.95]] * 5 + [[0.97, 0.03]])
    given = ["a"] * 5 + ["b"] * 6  # the last clip looks like "a" but is labelled "b"
    res = find_label_errors(p, given, ["a", "b"])
    rows = res.table()
    assert [r["is_label_error"] for r in rows] == [False] * 10 + [True]
    assert rows[-1]["suggested"] == "a" and rows[-1]["label_error_score"] == pytest.approx(0.97)


def test_conflicting_duplicates_are_resolved_by_the_probabilities():
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.6, 0.4], [0.55, 0.45]])
    given = ["a", "a", "b", "b", "a"]
    # clips 3 and 4 are one piece of footage under two labels: their mean says "a"
    res = find_label_errors(p, given, ["a", "b"], ids=list("vwxyz"), duplicate_groups=[[3, 4]])
    rows = res.table()
    assert rows[3]["is_label_error"] and rows[3]["suggested"] == "a"
    assert rows[3]["conflict"] == "y" and rows[4]["conflict"] == "y"
    assert not rows[4]["is_label_error"]
    assert res.summary()["conflicts"] == 2
    # the first copy is not trusted because it came first: swap the labels, same answer
    res2 = find_label_errors(p, ["a", "a", "b", "a", "b"], ["a", "b"], duplicate_groups=[[3, 4]])
    assert res2.table()[4]["is_label_error"] and not res2.table()[3]["is_label_error"]


@pytest.mark.parametrize(
    "probs, labels, classes, match",
    [
        (np.ones((2, 2)) / 2, ["a", "a"], ["a"], "at least 2 classes"),
        (np.ones((3, 2)) / 2, ["a", "b"], ["a", "b"], r"\(2, 2\)"),
        (np.ones((2, 2)) / 2, ["a", "c"], ["a", "b"], "not among the classes"),
        (np.array([[np.nan, 1.0], [0.5, 0.5]]), ["a", "b"], ["a", "b"], "finite"),
    ],
)
def test_bad_inputs_say_what_is_wrong(probs, labels, classes, match):
    with pytest.raises(VidaugError, match=match):
        find_label_errors(probs, labels, classes)
