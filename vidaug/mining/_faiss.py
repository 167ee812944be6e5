"""FAISS kernels of the embedding index: building flat / IVF / IVF-PQ indexes, list-by-list
search with exact re-scoring, and the knobs (nlist, nprobe, PQ shape)."""

from __future__ import annotations

import math
from typing import Any

import faiss
import numpy as np

from vidaug.errors import IndexMismatchError, UsageError
from vidaug.mining._vectors import _CHUNK

_MAX_TRAIN = 100_000
_TRAIN_PER_LIST = 40  # k-means sample: FAISS wants ≥ 39 points a list
_KMEANS_ITER = 10
_BATCH_QUERIES = 4096  # query batches at least this large are searched list by list (IVF)
_MAX_TRAIN_PQ = 20_000  # PQ codebook training is costly; ~80 points per code is plenty


def _nlist(n: int) -> int:
    """``round(2·√n)`` lists, at most ``n // 39`` (FAISS wants ≥ 39 training points a list).

    Half FAISS' usual ``4·√n``: the k-means costs ∝ ``nlist²`` and, for the self-search of
    every vector that duplicate mining does, dominated the run (benchmarks/mining_bench.py).
    """
    return max(1, min(round(2 * math.sqrt(n)), n // 39))


def _pq_shape(d: int, n: int) -> tuple[int, int]:
    """Sub-quantizers (a divisor of ``d``, ≤ 64, ≥ 2 dims each) and bits per code for IVFPQ."""
    m = max([m for m in range(1, min(64, max(1, d // 2)) + 1) if d % m == 0] or [1])
    n = min(n, _MAX_TRAIN_PQ)
    nbits = 8 if n >= 256 * 39 else 6 if n >= 64 * 39 else 4
    return m, nbits


def _resolve_kind(kind: str, n: int, flat_threshold: int) -> str:
    if kind == "auto":
        return "flat" if n <= flat_threshold else "ivf"
    return kind


def _make_faiss(x: np.ndarray, kind: str, *, nprobe: int, seed: int) -> faiss.Index:
    """A trained FAISS inner-product index of ``kind`` holding ``x``."""
    n, d = x.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    else:
        if n == 0:
            raise ValueError(f"cannot train a {kind!r} index on no vectors")
        nlist = _nlist(n)
        if kind == "ivf":
            # 4-bit codes of the vectors themselves (not of residuals), one range for all
            # dimensions: training copies nothing (searches do not read the codes)
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFScalarQuantizer(
                quantizer, d, nlist, faiss.ScalarQuantizer.QT_4bit_uniform,
                faiss.METRIC_INNER_PRODUCT, False,
            )  # fmt: skip
            quantizer.this.disown()
            index.own_fields = True
        else:
            m, nbits = _pq_shape(d, n)
            spec = f"IVF{nlist},PQ{m}x{nbits}"
            index = faiss.index_factory(d, spec, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.seed = seed
        ivf.cp.niter = _KMEANS_ITER
        # FAISS prints "WARNING clustering N points to K centroids: please provide at least
        # ..." on stderr below 39 points a centroid: small indexes are fine, and quiet
        ivf.cp.min_points_per_centroid = 1
        if kind == "ivfpq":
            pq = faiss.downcast_index(ivf).pq
            pq.cp.seed = seed
            pq.cp.min_points_per_centroid = 1
            if n < pq.ksub:
                raise UsageError(
                    f"index kind 'ivfpq' needs at least {pq.ksub} vectors to train its codes, "
                    f"got {n}; use 'flat' or 'ivf' for so few"
                )
        cap = min(_MAX_TRAIN, _TRAIN_PER_LIST * nlist) if kind == "ivf" else _MAX_TRAIN_PQ
        rng = np.random.default_rng(seed)
        train = x if n <= cap else x[np.sort(rng.choice(n, cap, replace=False))]
        index.train(np.ascontiguousarray(train))
        del train
        ivf.nprobe = nprobe
    if kind == "ivf" and n:
        _add_reserved(faiss.extract_index_ivf(index), x)
    else:
        for lo in range(0, n, _CHUNK):  # FAISS encodes block by block as well
            index.add(x[lo : lo + _CHUNK])
    return index


def _add_reserved(ivf: Any, x: np.ndarray) -> None:
    """Add ``x`` to a trained IVF index, each list allocated once at its final size (FAISS
    appends entry by entry, growing its per-list buffers by doubling: up to 2× their bytes)."""
    n = len(x)
    assign = np.empty(n, dtype=np.int64)
    for lo in range(0, n, _CHUNK):
        _, a = ivf.quantizer.search(x[lo : lo + _CHUNK], 1)
        assign[lo : lo + _CHUNK] = a[:, 0]
    counts = np.bincount(assign, minlength=ivf.nlist)
    inv = ivf.invlists
    for lst in np.flatnonzero(counts).tolist():
        old = inv.list_size(lst)
        inv.resize(lst, old + int(counts[lst]))  # reserve ...
        inv.resize(lst, old)  # ... keep the capacity, not the entries
    for lo in range(0, n, _CHUNK):
        xc = np.ascontiguousarray(x[lo : lo + _CHUNK])
        ac = np.ascontiguousarray(assign[lo : lo + _CHUNK])
        ivf.add_core(len(xc), faiss.swig_ptr(xc), None, faiss.swig_ptr(ac))


def _kind_of(index: faiss.Index) -> str:
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return "flat"
    return "ivfpq" if isinstance(faiss.downcast_index(ivf), faiss.IndexIVFPQ) else "ivf"


def _set_nprobe(index: faiss.Index, nprobe: int) -> None:
    try:
        faiss.extract_index_ivf(index).nprobe = nprobe
    except RuntimeError:  # flat: nothing to probe
        pass


def _ivf_of(index: faiss.Index) -> Any:
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def _codes_unused(ivf: Any) -> bool:
    """True for vidaug's ``"ivf"`` layout (scalar-quantised codes): searched list by list from
    the stored float32 embeddings whatever the number of queries."""
    return isinstance(faiss.downcast_index(ivf), faiss.IndexIVFScalarQuantizer)


def _exact_codes(index: faiss.Index) -> bool:
    """True when FAISS' own similarities are exact (flat storage of float32 vectors)."""
    ivf = _ivf_of(index)
    return ivf is None or isinstance(faiss.downcast_index(ivf), faiss.IndexIVFFlat)


def _search_by_list(
    ivf: Any, stored: np.ndarray, q: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """IVF search of many queries, inverted: for each list, every query probing it at once.

    Probes the same ``nprobe`` lists per query as ``index.search`` and scores the list members
    exactly from ``stored`` (row ``i`` = FAISS id ``i``), one BLAS product per list.
    """
    nq, p = len(q), max(1, min(int(ivf.nprobe), int(ivf.nlist)))
    assign = np.empty((nq, p), dtype=np.int32)
    step = 16384
    for lo in range(0, nq, step):
        _, a = ivf.quantizer.search(q[lo : lo + step], p)
        assign[lo : lo + step] = a
    flat = assign.ravel()
    del assign
    order = np.argsort(flat, kind="stable")
    lims = np.searchsorted(flat[order], np.arange(ivf.nlist + 1))
    del flat
    owner = (order // p).astype(np.int64)  # the query of each (query, probe) entry
    del order
    heap = faiss.ResultHeap(nq, k, keep_max=True)
    inv = ivf.invlists
    for lst in np.flatnonzero(np.diff(lims)).tolist():
        a, b = int(lims[lst]), int(lims[lst + 1])
        size = inv.list_size(lst)
        if size == 0:
            continue
        ids = faiss.rev_swig_ptr(inv.get_ids(lst), size).copy()
        qs = owner[a:b]
        sims, pos = faiss.knn(q[qs], stored[ids], min(k, size), faiss.METRIC_INNER_PRODUCT)
        heap.add_result_subset(qs, sims, ids[pos])
    heap.finalize()
    return heap.D, heap.I


def _search(
    index: faiss.Index, stored: np.ndarray, kind: str, query: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    if k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    q = np.asarray(query, dtype=np.float32)
    if q.ndim == 1:
        q = q[None]
    if q.ndim != 2 or q.shape[1] != index.d:
        raise IndexMismatchError(
            f"query has {q.shape[-1] if q.ndim else 0}-dimensional vectors but the index holds "
            f"{index.d}-dimensional embeddings"
        )
    q = np.ascontiguousarray(q)
    ivf = _ivf_of(index)
    if ivf is not None and index.ntotal and (len(q) >= _BATCH_QUERIES or _codes_unused(ivf)):
        sims, ids = _search_by_list(ivf, stored, q, k)
    elif _exact_codes(index):
        sims, ids = index.search(q, k)
    else:  # compressed distances: fetch more, re-rank exactly from the stored embeddings
        kk = min(max(4 * k, k + 16), max(index.ntotal, k))
        _, cand = index.search(q, kk)
        sims = np.full(cand.shape, -np.inf, dtype=np.float32)
        for lo in range(0, len(q), 256):
            c = cand[lo : lo + 256]
            ok = c >= 0
            exact = np.einsum("qd,qkd->qk", q[lo : lo + 256], stored[np.where(ok, c, 0)])
            sims[lo : lo + 256] = np.where(ok, exact, -np.inf)
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        sims = np.take_along_axis(sims, order, axis=1)
        ids = np.take_along_axis(cand, order, axis=1)
        if ids.shape[1] < k:
            pad = k - ids.shape[1]
            sims = np.pad(sims, ((0, 0), (0, pad)), constant_values=-np.inf)
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
    ids = ids.astype(np.int64, copy=False)
    sims = np.where(ids >= 0, sims, -np.inf).astype(np.float32, copy=False)
    return sims, ids
