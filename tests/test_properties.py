"""Property tests (hypothesis): invariants that must hold for any input, not only the examples
the other tests pick (issue 10 §6)."""

from __future__ import annotations

import posixpath

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vidaug.datasets import safe_relpath
from vidaug.datasets._manifest import ManifestError
from vidaug.training._metrics import group_kfold, group_split

_PATH_CHARS = st.sampled_from(list("ab./\\:C ..x_-é"))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(_PATH_CHARS, max_size=40))
def test_safe_relpath_never_escapes(p):
    """Found by hypothesis: ``C:/C:/x`` gave ``C:/x``, a drive path, not its own safe form."""
    try:
        rel = safe_relpath(p)
    except ManifestError:
        return  # nothing usable left: refused, never a path that escapes
    parts = rel.split("/")
    assert rel and not rel.startswith("/") and "\\" not in rel
    assert all(part not in ("", ".", "..") for part in parts)
    root = "/out/root"
    assert posixpath.normpath(posixpath.join(root, rel)).startswith(root + "/")  # stays inside
    assert safe_relpath(rel) == rel  # already safe: unchanged


@st.composite
def _labelled_groups(draw):
    n_groups = draw(st.integers(2, 12))
    sizes = draw(st.lists(st.integers(1, 6), min_size=n_groups, max_size=n_groups))
    labels, groups = [], []
    for g, size in enumerate(sizes):
        for _ in range(size):
            labels.append(draw(st.sampled_from(["a", "b", "c"])))
            groups.append(f"g{g}")
    return labels, groups


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_labelled_groups(), st.integers(0, 5), st.integers(2, 5))
def test_group_splits_keep_groups_whole_and_use_every_clip_once(data, seed, k):
    labels, groups = data
    for parts in (
        group_split(labels, groups, [0.7, 0.15, 0.15][: min(3, len(set(groups)))], seed),
        group_kfold(labels, groups, k, seed) if len(set(groups)) >= k else None,
    ):
        if parts is None:
            continue
        every = np.sort(np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]))
        assert every.tolist() == list(range(len(labels)))  # each clip in exactly one part
        where = {}
        for i, part in enumerate(parts):
            for j in part:
                assert where.setdefault(groups[int(j)], i) == i  # a group never straddles


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(1, 40), st.integers(2, 24), st.integers(1, 8), st.integers(0, 10_000))
def test_flat_index_search_equals_numpy_brute_force(n, d, k, seed):
    from vidaug.mining import EmbeddingIndex

    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 4, size=n)
    frame_clip = np.repeat(np.arange(n), counts)
    fe = rng.normal(size=(len(frame_clip), d)).astype(np.float32)
    fe /= np.linalg.norm(fe, axis=1, keepdims=True)
    clips = [{"id": f"c{i}"} for i in range(n)]
    index = EmbeddingIndex.build(clips, fe, frame_clip, model_id="m", kind="flat")
    q = rng.normal(size=(3, d)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    kk = min(k, n)
    sims, ids = index.search_clips(q, kk)
    exact = q @ index.clip_emb.T
    best = np.sort(exact, axis=1)[:, ::-1][:, :kk]
    np.testing.assert_allclose(sims, best, atol=1e-5)  # the same similarities, best first
    np.testing.assert_allclose(np.take_along_axis(exact, ids, axis=1), sims, atol=1e-5)


def test_frame_indices_one_function_two_spreads():
    """issue 10 §4: one sampling function (model sampling, mining, previews, report strips)."""
    from vidaug.datasets import frame_indices

    assert frame_indices(20, 4).tolist() == [2, 7, 12, 17]  # segment centres
    assert frame_indices(3, 5).tolist() == [0, 1, 2]  # at most n distinct
    assert frame_indices(3, 5, repeat=True).tolist() == [0, 0, 1, 2, 2]  # a model's fixed k
    assert frame_indices(9, 3, spread="ends").tolist() == [0, 4, 8]  # first and last included
    assert frame_indices(9, 1, spread="ends").tolist() == [4]
    assert frame_indices(60, fps=2.0, source_fps=30.0).tolist() == list(range(0, 60, 15))
    assert frame_indices(0, 4).tolist() == []


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(1, 500), st.integers(1, 64), st.sampled_from(["centres", "ends"]))
def test_frame_indices_are_sorted_in_range_and_distinct(n, k, spread):
    from vidaug.datasets import frame_indices

    idx = frame_indices(n, k, spread=spread)
    assert len(idx) == min(n, k) and idx.min() >= 0 and idx.max() < n
    assert np.all(np.diff(idx) > 0)


_GEOMETRIC = [
    {"name": "HorizontalFlip", "p": 1.0},
    {"name": "VerticalFlip", "p": 1.0},
    {"name": "Affine", "rotate": (-15, 15), "scale": (0.8, 1.2), "translate_x": (-0.1, 0.1),
     "translate_y": (-0.1, 0.1), "border": "constant"},
    {"name": "RandomResizedCrop", "scale": (0.6, 1.0)},
    {"name": "CenterCrop", "size": (40, 56)},
    {"name": "Resize", "size": (36, 48)},
]  # fmt: skip


@settings(max_examples=120, deadline=None, derandomize=True)
@given(
    st.sampled_from(range(len(_GEOMETRIC))),
    st.integers(0, 2**31 - 1),
    st.integers(8, 28),
    st.integers(8, 20),
    st.integers(10, 24),
    st.integers(10, 20),
)
def test_boxes_follow_a_painted_rectangle_through_the_warp(which, seed, x1, y1, w, h):
    """issue 10 §6: a box drawn around a white rectangle must still enclose it after any
    geometric transform (the pixels and the box go through the same matrix)."""
    from vidaug.augment import from_dict

    clip = np.zeros((2, 48, 64, 3), np.uint8)
    x2, y2 = min(x1 + w, 60), min(y1 + h, 44)
    clip[:, y1:y2, x1:x2] = 255
    boxes = np.array([[0, 1, x1, y1, x2, y2], [1, 1, x1, y1, x2, y2]], np.float64)
    res = from_dict(_GEOMETRIC[which]).augment(clip, seed=seed, boxes=boxes)
    out, moved = res.clip, res.boxes
    for f in range(2):
        ys, xs = np.nonzero(out[f, ..., 0] > 128)
        if not len(xs):  # the rectangle left the frame
            continue
        row = moved[moved[:, 0] == f]
        assert len(row) == 1, moved
        bx1, by1, bx2, by2 = row[0, 2:]
        tol = 2.0  # interpolation blurs the edges by a pixel or so
        assert bx1 - tol <= xs.min() and xs.max() + 1 <= bx2 + tol
        assert by1 - tol <= ys.min() and ys.max() + 1 <= by2 + tol
        if (
            0 < xs.min()
            and xs.max() < out.shape[2] - 1
            and 0 < ys.min()
            and ys.max() < out.shape[1] - 1
        ):
            # and hugs it (a 15° turn grows the box's sides by at most ~1.5x)
            assert bx2 - bx1 <= 1.6 * (xs.max() + 1 - xs.min()) + 2 * tol
            assert by2 - by1 <= 1.6 * (ys.max() + 1 - ys.min()) + 2 * tol
