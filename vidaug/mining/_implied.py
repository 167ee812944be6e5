"""Duplicate pairs that other pairs imply (issue 23).

Two copies of one clip are copies of each other, though their own evidence may be weak: a
60 % crop and a rotated copy of the same footage share little that an embedding sees, yet each
is found beside the original. :func:`find_duplicates <vidaug.mining.find_duplicates>` groups
such clips already (connected components); this module lists the pairs inside a group that
the group asserts, so that a user reading pairs (or leaks) sees what the groups act on.

Only two relations carry over, and never a partial overlap (a chain of overlapping windows of
one recording drifts to footage the first clip does not show):

* **copy classes**: clips linked by a chain of direct ``copy_of`` pairs that each cover
  both clips' whole time are copies of each other, where two parts of a chain join only when
  enough direct pairs link them (:data:`SUPPORT`: one false pair between two moments of one
  camera must not join all their copies); each such pair is listed with the weakest
  link of the strongest chain between them (the single-linkage merge score: a maximum
  spanning tree, Kruskal's order) as its ``score``, and ``via``, a clip on that chain;
* **trims**: a ``copy_of`` pair where one clip shows only part of the other's time links the
  two copy classes, every member of one with every member of the other, one step only: two
  trims of one clip may show different moments, so they imply nothing about each other;
* **contains**: a composite that shows clip ``i`` inside it (a direct ``contains`` pair)
  shows every copy of ``i`` (``i``'s copy class) there too; ``via`` is ``i``.

A pair across a link scores the weakest of the link and the class chains it uses.

Pure numpy; the pairs are a function of the direct pairs alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ImpliedPairs", "implied_pairs"]


@dataclass(frozen=True)
class ImpliedPairs:
    """Pairs implied by the direct ones, ``lo[k] < hi[k]``, none of them a direct pair.

    Attributes:
        lo, hi: clip positions.
        relation: ``copy_of`` or ``contains``.
        inner: for ``contains``, the inner clip's position (-1 otherwise).
        via: a clip on the chain of direct pairs that links the two.
        score: the weakest link of that chain (direct pair scores).
        edge: for ``contains``, the direct pair (its position in the inputs) that shows the
            inner clip's copy class inside the outer clip (its window is where); -1
            otherwise.
    """

    lo: np.ndarray
    hi: np.ndarray
    relation: list[str]
    inner: np.ndarray
    via: np.ndarray
    score: np.ndarray
    edge: np.ndarray

    def __len__(self) -> int:
        return len(self.lo)


def implied_pairs(
    n: int,
    lo: np.ndarray,
    hi: np.ndarray,
    score: np.ndarray,
    relation: Sequence[str],
    outer: Sequence[int],
    inner: Sequence[int],
    partial: np.ndarray | None = None,
) -> ImpliedPairs:
    """The pairs that the direct duplicate pairs ``(lo[p], hi[p])`` imply (module docstring).

    Args:
        n: number of clips.
        lo, hi: the direct duplicate pairs (clip positions, ``lo < hi``).
        score: their scores.
        relation: their relations (``copy_of``, ``contains``, ``overlaps``).
        outer, inner: for ``contains`` pairs, the outer and inner clip (-1 otherwise).
        partial: ``copy_of`` pairs where one clip shows only part of the other's time (a
            trim); these link two copy classes, one step, and never two trims of one clip to
            each other (they may show different moments). None: no pair is partial.
    """
    lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
    score = np.asarray(score, np.float64)
    part = np.zeros(len(lo), bool) if partial is None else np.asarray(partial, bool)
    direct = set((lo * n + hi).tolist())
    copy = np.array([r == "copy_of" for r in relation], dtype=bool)
    whole = copy & ~part
    c_lo, c_hi, c_via, c_score, cls = _copy_classes(n, lo[whole], hi[whole], score[whole])
    # the weakest link between any two members of a copy class (a direct copy pair may be
    # stronger than the chain that merged the two)
    link = dict(zip((c_lo * n + c_hi).tolist(), c_score.tolist(), strict=True))
    for a, b, s in zip(lo[whole].tolist(), hi[whole].tolist(), score[whole].tolist(), strict=True):
        link[a * n + b] = max(s, link.get(a * n + b, 0.0))
    keep = ~np.isin(c_lo * n + c_hi, np.fromiter(direct, np.int64, len(direct)))
    found = {"copy_of": (c_lo[keep], c_hi[keep], np.full(keep.sum(), -1), c_via[keep],
                         c_score[keep], np.full(keep.sum(), -1))}  # fmt: skip
    taken = direct | set((c_lo * n + c_hi).tolist())
    members: dict[int, list[int]] = {}
    for i, c in enumerate(cls.tolist()):
        members.setdefault(c, []).append(i)
    trims = [(int(lo[p]), int(hi[p]), p, True) for p in np.flatnonzero(copy & part)]
    shows = [(int(outer[p]), int(inner[p]), p, False)
             for p in range(len(lo)) if outer[p] >= 0 and inner[p] >= 0]  # fmt: skip
    adj = _adjacency(n, lo[copy], hi[copy])
    found["trims"] = _across(n, cls, members, link, taken, score, trims, adj)
    taken |= set((found["trims"][0] * n + found["trims"][1]).tolist())
    found["contains"] = _across(n, cls, members, link, taken, score, shows, adj)
    parts = [found["copy_of"], found["trims"], found["contains"]]
    rel = (["copy_of"] * (len(parts[0][0]) + len(parts[1][0]))
           + ["contains"] * len(parts[2][0]))  # fmt: skip
    lo_, hi_, inner_, via_, score_, edge_ = (
        np.concatenate([q[j] for q in parts]) for j in range(6)
    )
    return ImpliedPairs(
        lo=lo_.astype(np.int64), hi=hi_.astype(np.int64), relation=rel,
        inner=np.where(np.array(rel) == "contains", inner_, -1).astype(np.int64),
        via=via_.astype(np.int64), score=score_.astype(np.float64),
        edge=np.where(np.array(rel) == "contains", edge_, -1).astype(np.int64),
    )  # fmt: skip


#: Two groups of clips merge into one copy class (and a trim links two classes) only when the
#: direct pairs between them are at least this share of the smaller side's clips: one false
#: pair between two moments of one camera, each with its copies, must not make every copy of
#: one a copy of every copy of the other (17 × 17 false pairs from one); a copy found by one
#: pair still joins its source's class (1 of 1).
SUPPORT = 0.5


def _adjacency(n: int, lo: np.ndarray, hi: np.ndarray) -> list[list[int]]:
    adj: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        adj[a].append(b)
        adj[b].append(a)
    return adj


def _supported(side: Sequence[int], other: Sequence[int], adj: list[list[int]]) -> bool:
    """Whether the direct pairs between the clips ``side`` and ``other`` reach
    :data:`SUPPORT` of the smaller one's size."""
    small, big = (side, other) if len(side) <= len(other) else (other, side)
    big_set = set(big)
    links = sum(v in big_set for u in small for v in adj[u])
    return links >= SUPPORT * len(small)


def _copy_classes(
    n: int, lo: np.ndarray, hi: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of two clips linked by a chain of the pairs ``(lo, hi)``, by Kruskal's
    merge in falling score order (two groups merge only when :func:`_supported`):
    ``(lo, hi, via, score, class)``, ``class`` each clip's class root (a clip alone is its
    own class)."""
    parent = np.arange(n)
    members: dict[int, list[int]] = {}
    adj = _adjacency(n, lo, hi)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    out_a, out_b, out_via, out_s = [], [], [], []
    for p in np.argsort(-score, kind="stable").tolist():
        x, y = int(lo[p]), int(hi[p])
        rx, ry = root(x), root(y)
        if rx == ry:
            continue
        left, right = members.get(rx, [rx]), members.get(ry, [ry])
        if not _supported(left, right, adj):
            continue
        left, right = members.pop(rx, [rx]), members.pop(ry, [ry])
        a = np.repeat(np.array(left), len(right))
        b = np.tile(np.array(right), len(left))
        # a clip on the chain a → x → y → b: x, unless a is x (then y)
        out_via.append(np.where(a != x, x, y))
        out_a.append(np.minimum(a, b))
        out_b.append(np.maximum(a, b))
        out_s.append(np.full(len(a), float(score[p])))
        if len(left) < len(right):
            rx, ry, left, right = ry, rx, right, left
        parent[ry] = rx
        members[rx] = left + right
    cls = np.array([root(i) for i in range(n)], dtype=np.int64)
    if not out_a:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, np.zeros(0), cls
    return (np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_via),
            np.concatenate(out_s), cls)  # fmt: skip


def _across(
    n: int,
    cls: np.ndarray,
    members: dict[int, list[int]],
    link: dict[int, float],
    taken: set[int],
    score: np.ndarray,
    edges: Sequence[tuple[int, int, int, bool]],
    adj: list[list[int]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs across direct edges ``(x, y, p, both)``: each member ``b`` of ``y``'s copy class
    with ``x`` (``both``: each member ``a`` of ``x``'s class too, when the direct pairs
    ``adj`` between the two classes are :func:`_supported`), ``b`` not in ``a``'s class
    and the pair not ``taken``: ``(lo, hi, inner b, via, score, edge p)``; ``score`` the
    weakest of the edge and the class links, the strongest edge where several imply a pair."""

    def chain(u: int, v: int) -> float:
        return 1.0 if u == v else link[min(u, v) * n + max(u, v)]

    best: dict[int, tuple[float, int, int, int]] = {}  # code → (score, inner, via, edge)
    for x, y, p, both in edges:
        if both and not _supported(members[int(cls[x])], members[int(cls[y])], adj):
            continue
        for a in members[int(cls[x])] if both else [x]:
            for b in members[int(cls[y])]:
                code = min(a, b) * n + max(a, b)
                if cls[a] == cls[b] or code in taken:
                    continue
                s = min(float(score[p]), chain(a, x), chain(y, b))
                via = x if a != x else y
                if code not in best or s > best[code][0]:
                    best[code] = (s, b, via, p)
    codes = np.array(sorted(best), dtype=np.int64)
    vals = [best[c] for c in codes.tolist()]
    return (codes // max(n, 1), codes % max(n, 1),
            np.array([v[1] for v in vals], dtype=np.int64),
            np.array([v[2] for v in vals], dtype=np.int64),
            np.array([v[0] for v in vals], dtype=np.float64),
            np.array([v[3] for v in vals], dtype=np.int64))  # fmt: skip
