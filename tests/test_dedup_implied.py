"""Pairs that other duplicate pairs imply (issue 23): copy classes, trims, composites."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vidaug.mining._dedup import DedupConfig, find_duplicates
from vidaug.mining._implied import implied_pairs
from vidaug.mining._index import EmbeddingIndex

# direct pairs of 7 clips: 0 ≡ 1 ≡ 2 (a chain of copies), 2 overlaps 3, 4 and 5 are trims of
# 0 (each shows part of 0's time), 6 shows 1 inside it (picture-in-picture)
LO = np.array([0, 1, 2, 0, 0, 1])
HI = np.array([1, 2, 3, 4, 5, 6])
SCORE = np.array([0.9, 0.6, 0.95, 0.8, 0.85, 0.7])
REL = ["copy_of", "copy_of", "overlaps", "copy_of", "copy_of", "contains"]
OUTER = [-1, -1, -1, -1, -1, 6]
INNER = [-1, -1, -1, -1, -1, 1]
PARTIAL = np.array([False, False, False, True, True, False])


@pytest.fixture(scope="module")
def implied() -> dict[tuple[int, int], tuple[str, int, int, float]]:
    imp = implied_pairs(7, LO, HI, SCORE, REL, OUTER, INNER, PARTIAL)
    assert len(imp) == len(set(zip(imp.lo.tolist(), imp.hi.tolist(), strict=True)))
    assert (imp.lo < imp.hi).all()
    return {
        (a, b): (r, i, v, s)
        for a, b, r, i, v, s in zip(
            imp.lo.tolist(), imp.hi.tolist(), imp.relation, imp.inner.tolist(),
            imp.via.tolist(), imp.score.tolist(), strict=True,
        )
    }  # fmt: skip


def test_copies_of_copies_are_copies_scored_by_their_weakest_link(implied) -> None:
    assert implied[(0, 2)] == ("copy_of", -1, 1, 0.6)


def test_no_direct_pair_is_listed_again_and_overlaps_carry_nothing(implied) -> None:
    assert not set(implied) & set(zip(LO.tolist(), HI.tolist(), strict=True))
    assert not [p for p in implied if 3 in p]  # 3 only overlaps 2: nothing carries over


def test_a_trim_is_a_copy_of_the_whole_class_but_two_trims_imply_nothing(implied) -> None:
    assert implied[(1, 4)] == ("copy_of", -1, 0, 0.8)
    assert implied[(2, 4)] == ("copy_of", -1, 0, 0.6)  # the chain 0 ≡ 1 ≡ 2 is weaker
    assert implied[(1, 5)][0] == "copy_of" and implied[(2, 5)][0] == "copy_of"
    assert (4, 5) not in implied  # two trims of 0 may show different moments


def test_a_composite_shows_the_copies_of_its_inset(implied) -> None:
    assert implied[(0, 6)] == ("contains", 0, 1, 0.7)
    assert implied[(2, 6)] == ("contains", 2, 1, 0.6)
    assert (4, 6) not in implied and (5, 6) not in implied  # trims are another class


def test_nothing_implied_without_chains() -> None:
    imp = implied_pairs(3, np.array([0]), np.array([1]), np.array([1.0]), ["copy_of"], [-1], [-1])
    assert len(imp) == 0
    empty = implied_pairs(2, np.zeros(0, int), np.zeros(0, int), np.zeros(0), [], [], [])
    assert len(empty) == 0


def _beside(x: np.ndarray, other: np.ndarray | None, rng, s2: float) -> np.ndarray:
    """Unit frames at cosine 1/sqrt(1 + s2) from ``x``, perpendicular to ``x`` (and to the
    offsets of ``other``), so two such copies meet at cosine 1 / (1 + s2)."""
    g = rng.normal(size=x.shape)
    g -= (g * x).sum(-1, keepdims=True) * x
    if other is not None:
        u = other - x
        u /= np.linalg.norm(u, axis=-1, keepdims=True)
        g -= (g * u).sum(-1, keepdims=True) * u
    g /= np.linalg.norm(g, axis=-1, keepdims=True)
    y = x + np.sqrt(s2) * g
    return (y / np.linalg.norm(y, axis=-1, keepdims=True)).astype(np.float32)


def test_find_duplicates_lists_implied_pairs_and_their_leaks() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 32))
    x = (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)
    a = _beside(x, None, rng, 0.03)  # cos 0.985 to x
    b = _beside(x, a, rng, 0.03)  # cos 0.985 to x, 0.971 to a
    clips = [{"id": "x.mp4"}, {"id": "a.mp4", "split": "train"}, {"id": "b.mp4", "split": "test"}]
    index = EmbeddingIndex.build(
        clips, np.concatenate([x, a, b]), np.repeat(np.arange(3), 8), model_id="test"
    )
    config = DedupConfig(clip_threshold=1.0, frame_threshold=0.98, match_fraction=1.0)
    res = find_duplicates(index, config)
    pairs = {(p["a"], p["b"]): p for p in res.pairs}
    assert set(pairs) == {("x.mp4", "a.mp4"), ("x.mp4", "b.mp4"), ("a.mp4", "b.mp4")}
    ab = pairs[("a.mp4", "b.mp4")]
    assert ab["evidence"] == ["implied"] and ab["via"] == "x.mp4" and ab["is_leak"]
    assert ab["relation"] == "copy_of" and ab["frac_ab"] == 0.0
    assert ab["clip_sim"] < 1.0 and 0.5 <= ab["score"] <= 1.0
    assert all(p["via"] is None for k, p in pairs.items() if k != ("a.mp4", "b.mp4"))
    rows = {r["id"]: r for r in res.table()}
    assert rows["a.mp4"]["leak_with"] == ["b.mp4"] and rows["b.mp4"]["leak_with"] == ["a.mp4"]
    assert res.summary()["implied"] == 1 and res.summary()["leaks"] == 1

    direct = find_duplicates(index, replace(config, implied=False))
    assert [(p["a"], p["b"]) for p in direct.pairs] == [("x.mp4", "a.mp4"), ("x.mp4", "b.mp4")]
    assert direct.groups == res.groups and direct.summary()["leaks"] == 0
    assert not any(r["is_leak"] for r in direct.table())


def test_one_pair_between_two_families_of_copies_joins_nothing() -> None:
    """Two clips of one camera, each with 3 copies found beside it, and one false pair
    between a copy of each: no copy of one becomes a copy of the other (16 false pairs from
    one), while a copy found by a single pair still joins its source's class."""
    fam = lambda base: [(base, base + k) for k in (1, 2, 3)] + [(base + 1, base + 2)]  # noqa: E731
    pairs = fam(0) + fam(4) + [(3, 7), (0, 8)]  # 3 ↔ 7: the false pair; 8: found by 0 alone
    lo = np.array([min(p) for p in pairs])
    hi = np.array([max(p) for p in pairs])
    imp = implied_pairs(9, lo, hi, np.full(len(lo), 0.9), ["copy_of"] * len(lo), [-1] * len(lo),
                        [-1] * len(lo))  # fmt: skip
    got = set(zip(imp.lo.tolist(), imp.hi.tolist(), strict=True))
    assert not [(a, b) for a, b in got if (a < 4) != (b < 4) and 8 not in (a, b)]
    assert {(1, 8), (2, 8), (3, 8)} <= got and (1, 3) in got and (5, 7) in got
