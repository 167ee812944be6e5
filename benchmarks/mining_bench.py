"""Near-duplicate search at scale: vidaug's EmbeddingIndex vs blockwise exact numpy (issue 4 §5).

Synthetic clustered unit-norm float32 embeddings with planted near-duplicates (a share of the
vectors get a copy = vector + small noise, renormalised). Each (N, d) runs in its own
subprocess (the script re-runs itself with ``--child``) so peak RSS values do not mix.

    .venv/bin/python benchmarks/mining_bench.py                 # N = 100k and 1M, d = 1280 and 256
    .venv/bin/python benchmarks/mining_bench.py --quick         # N = 20k, prints only
    .venv/bin/python benchmarks/mining_bench.py --sizes 100000  # one size

What is timed (one thread everywhere, see README.md):

* vidaug: ``EmbeddingIndex.build`` of N one-frame clips (``kind="auto"``: IVF above 50k), then
  the self-search ``find_duplicates`` does for candidates, ``index.search_clips(index.clip_emb,
  k + 1)``, at each ``--nprobe``; pairs with cosine ≥ ``--threshold`` are kept.
* numpy: exact ``X[q] @ X.T`` in blocks with ``argpartition`` top-(k + 1) for ``--sample``
  random queries, extrapolated to all N queries (time × N / sample).
"""

from __future__ import annotations

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import _common  # noqa: F401  (pins threads before numpy is imported)
import numpy as np  # noqa: E402
from _common import REPO, OtherLoad, machine_info, md_table  # noqa: E402
from _results import publish  # noqa: E402

TARGET_SPEEDUP, TARGET_RECALL, TARGET_RSS = 20.0, 0.99, 1.5


# -------------------------------------------------------------------------------------------
# data
# -------------------------------------------------------------------------------------------
def make_data(n: int, d: int, dup_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, planted): X (n, d) float32 unit rows; planted (m, 2) rows (source, copy).

    Clusters of ~1000 vectors around random unit centres (within-cluster cosine ≈ 0.35-0.6);
    the last m = dup_frac·n rows are copies of distinct earlier rows plus Gaussian noise of
    relative norm 0.05-0.25 (cosine to the source ≈ 0.97-0.999), renormalised.
    """
    rng = np.random.default_rng(seed)
    m = int(round(dup_frac * n))
    base = n - m
    n_clusters = max(16, base // 1000)
    centres = rng.standard_normal((n_clusters, d), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = rng.uniform(0.8, 1.4, n_clusters).astype(np.float32)
    x = np.empty((n, d), dtype=np.float32)
    step = 4096  # small blocks: the generator's temporaries must not set the RSS peak
    for lo in range(0, base, step):
        hi = min(base, lo + step)
        c = rng.integers(0, n_clusters, hi - lo)
        blk = rng.standard_normal((hi - lo, d), dtype=np.float32)
        blk *= (spread[c] / np.sqrt(d))[:, None]
        blk += centres[c]
        blk /= np.linalg.norm(blk, axis=1, keepdims=True)
        x[lo:hi] = blk
    src = np.sort(rng.choice(base, m, replace=False))
    for lo in range(0, m, step):
        hi = min(m, lo + step)
        sigma = rng.uniform(0.05, 0.25, hi - lo).astype(np.float32)
        blk = rng.standard_normal((hi - lo, d), dtype=np.float32)
        blk *= (sigma / np.sqrt(d))[:, None]
        blk += x[src[lo:hi]]
        blk /= np.linalg.norm(blk, axis=1, keepdims=True)
        x[base + lo : base + hi] = blk
    return x, np.stack([src, np.arange(base, n)], axis=1)


def exact_topk(x: np.ndarray, q: np.ndarray, k: int, db_block: int = 131072, q_block: int = 256):
    """Exact top-k inner products of the rows ``q`` of ``x`` against all of ``x`` (numpy)."""
    sims = np.empty((len(q), k), dtype=np.float32)
    ids = np.empty((len(q), k), dtype=np.int64)
    for a in range(0, len(q), q_block):
        xq = x[q[a : a + q_block]]
        best_s = np.full((len(xq), 0), -np.inf, dtype=np.float32)
        best_i = np.zeros((len(xq), 0), dtype=np.int64)
        for b in range(0, len(x), db_block):
            s = xq @ x[b : b + db_block].T
            kk = min(k, s.shape[1])
            part = np.argpartition(s, s.shape[1] - kk, axis=1)[:, -kk:]
            best_s = np.concatenate([best_s, np.take_along_axis(s, part, axis=1)], axis=1)
            best_i = np.concatenate([best_i, part + b], axis=1)
            if best_s.shape[1] > k:
                keep = np.argpartition(best_s, best_s.shape[1] - k, axis=1)[:, -k:]
                best_s = np.take_along_axis(best_s, keep, axis=1)
                best_i = np.take_along_axis(best_i, keep, axis=1)
        order = np.argsort(-best_s, axis=1, kind="stable")
        sims[a : a + len(xq)] = np.take_along_axis(best_s, order, axis=1)
        ids[a : a + len(xq)] = np.take_along_axis(best_i, order, axis=1)
    return sims, ids


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


# -------------------------------------------------------------------------------------------
# one (N, d) in a fresh process
# -------------------------------------------------------------------------------------------
def child(a: argparse.Namespace) -> dict:
    import faiss

    faiss.omp_set_num_threads(_common.THREADS)
    from vidaug.mining import EmbeddingIndex

    n, d, k = a.n, a.d, a.k
    rss0 = maxrss_bytes()
    t0 = time.perf_counter()
    x, planted = make_data(n, d, a.dup_frac, a.seed)
    t_gen = time.perf_counter() - t0
    rss_data = maxrss_bytes()
    rng = np.random.default_rng(a.seed + 1)
    sample = np.sort(rng.choice(n, min(a.sample, n), replace=False))
    # rows whose search results the recall needs (kept; the rest is dropped per search so
    # the benchmark's bookkeeping does not count in the peak RSS)
    keep = np.unique(np.concatenate([sample, planted.ravel()]))
    out: dict = {"n": n, "d": d, "k": k, "bytes": int(x.nbytes), "gen_s": t_gen, "runs": []}
    with OtherLoad() as load:
        t0 = time.perf_counter()
        index = EmbeddingIndex.build(
            [{"id": str(i)} for i in range(n)], x, np.arange(n), model_id="synthetic", seed=0
        )
        t_build = time.perf_counter() - t0
        ivf = None
        try:
            ivf = faiss.extract_index_ivf(index._clips)
        except RuntimeError:
            pass
        out.update(
            kind=index.clip_kind,
            nlist=int(ivf.nlist) if ivf is not None else None,
            faiss=type(faiss.downcast_index(ivf if ivf is not None else index._clips)).__name__,
            shared=index._clips is index._frames,
            copy=index.clip_emb is not x,
            build_s=t_build,
        )
        results = {}
        for p in a.nprobe:
            index.nprobe = p
            t0 = time.perf_counter()
            sims, ids = index.search_clips(index.clip_emb, k + 1)
            t_search = time.perf_counter() - t0
            results[p] = (sims[keep], ids[keep])
            del sims, ids
            out["runs"].append({"nprobe": p, "search_s": t_search})
            if index.clip_kind == "flat":
                break
    rss_index = maxrss_bytes()
    out.update(
        load=load.describe(f"N={n} d={d} vidaug"),
        rss_start=rss0,
        rss_data=rss_data,
        rss_peak=rss_index,
        faiss_version=faiss.__version__,
    )

    # numpy exact on a random sample (timed), extrapolated to N queries
    exact_topk(x, sample[:8], k + 1)  # warm-up
    with OtherLoad() as load_np:
        t0 = time.perf_counter()
        ex_s, ex_i = exact_topk(x, sample, k + 1)
        t_np = time.perf_counter() - t0
    out.update(
        numpy_sample=len(sample),
        numpy_sample_s=t_np,
        numpy_est_s=t_np * n / len(sample),
        load_numpy=load_np.describe(f"N={n} d={d} numpy"),
    )
    # planted copies: are the pairs within the exact top-k? (untimed check on up to 200)
    chk = planted[rng.choice(len(planted), min(200, len(planted)), replace=False)]
    if len(chk):
        _, pi = exact_topk(x, chk[:, 1], k + 1)
        out["planted_in_exact_topk"] = [int((pi == chk[:, :1]).any(axis=1).sum()), len(chk)]
    pair_cos = np.einsum("ij,ij->i", x[planted[:, 0]], x[planted[:, 1]])
    truth = planted[pair_cos >= a.threshold - 1e-6]
    out["planted"] = int(len(planted))
    out["planted_exact"] = int(len(truth))
    out["planted_cos_min"] = float(pair_cos.min()) if len(pair_cos) else None
    row = np.full(n, -1, dtype=np.int64)  # position of a kept row in the stored results
    row[keep] = np.arange(len(keep))
    for run in out["runs"]:
        sims, ids = results[run["nprobe"]]
        thr = a.threshold - 1e-6
        s0, s1 = row[truth[:, 0]], row[truth[:, 1]]
        fwd = ((ids[s0] == truth[:, 1:2]) & (sims[s0] >= thr)).any(axis=1)
        back = ((ids[s1] == truth[:, :1]) & (sims[s1] >= thr)).any(axis=1)
        run["planted_recall"] = float((fwd | back).mean()) if len(truth) else 1.0
        # sample: all exact pairs ≥ threshold (planted or not), and top-k neighbour recall
        e_ok = (ex_i != sample[:, None]) & (ex_s >= a.threshold - 1e-6)
        v_s, v_i = sims[row[sample]], ids[row[sample]]
        v_ok = (v_i != sample[:, None]) & (v_s >= a.threshold - 1e-6)
        exact_pairs = {(int(q), int(j)) for q, j in zip(*np.nonzero(e_ok), strict=True)}
        exact_pairs = {(int(sample[q]), int(ex_i[q, c])) for q, c in exact_pairs}
        vid_pairs = {
            (int(sample[q]), int(v_i[q, c])) for q, c in zip(*np.nonzero(v_ok), strict=True)
        }
        run["sample_pairs_exact"] = len(exact_pairs)
        run["sample_pair_recall"] = (
            len(exact_pairs & vid_pairs) / len(exact_pairs) if exact_pairs else None
        )
        nb_e = [set(r[r != q]) for r, q in zip(ex_i, sample, strict=True)]
        nb_v = [set(r[r != q]) for r, q in zip(v_i, sample, strict=True)]
        run["sample_knn_recall"] = float(
            np.mean([len(e & v) / max(1, len(e)) for e, v in zip(nb_e, nb_v, strict=True)])
        )
        run["sims_exact"] = bool(
            np.allclose(
                v_s[v_i >= 0],
                np.einsum("qd,qd->q", x[np.repeat(sample, k + 1)], x[v_i.ravel()])[
                    (v_i >= 0).ravel()
                ],
                atol=1e-4,
            )
        )
    return out


# -------------------------------------------------------------------------------------------
# parent: one subprocess per (N, d), table, RESULTS.md
# -------------------------------------------------------------------------------------------
def gb(b: float) -> str:
    return f"{b / 1e9:.2f}"


def fmt_s(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    return f"{s:.1f}" if s < 100 else f"{s:.0f}"


def render(res: list[dict], info: dict, cmd: str, a: argparse.Namespace) -> str:
    rows = []
    for r in res:
        for run in r["runs"]:
            total = r["build_s"] + run["search_s"]
            speed = r["numpy_est_s"] / total
            rec = run["planted_recall"]
            ratio = r["rss_peak"] / r["bytes"]
            ok = speed >= TARGET_SPEEDUP and rec >= TARGET_RECALL and ratio <= TARGET_RSS
            kind = r["kind"] + (f" nlist={r['nlist']}" if r["nlist"] else "")
            spr = run["sample_pair_recall"]
            rows.append(
                [
                    f"{r['n']:,}",
                    r["d"],
                    kind,
                    run["nprobe"] if r["nlist"] else "–",
                    fmt_s(r["build_s"]),
                    fmt_s(run["search_s"]),
                    fmt_s(total),
                    f"{fmt_s(r['numpy_est_s'])} ({r['numpy_sample']} q: {r['numpy_sample_s']:.1f} s)",
                    f"{speed:.1f}× {'PASS' if speed >= TARGET_SPEEDUP else 'FAIL'}",
                    f"{rec:.4f} {'PASS' if rec >= TARGET_RECALL else 'FAIL'}",
                    "–" if spr is None else f"{spr:.3f} ({run['sample_pairs_exact']})",
                    f"{run['sample_knn_recall']:.3f}",
                    f"{gb(r['rss_peak'])} / {gb(r['bytes'])} = {ratio:.2f}× "
                    f"{'PASS' if ratio <= TARGET_RSS else 'FAIL'}",
                    "PASS" if ok else "FAIL",
                ]
            )
    table = md_table(
        [
            "N",
            "d",
            "vidaug index",
            "nprobe",
            "build s",
            "search s",
            "total s",
            "numpy exact, extrapolated s",
            "speed-up (≥ 20×)",
            "planted-pair recall (≥ 0.99)",
            "sample pair recall (pairs)",
            "sample kNN recall@k",
            "peak RSS GB / embeddings GB (≤ 1.5×)",
            "all targets",
        ],
        rows,
    )
    notes = []
    for r in res:
        notes.append(
            f"- N={r['n']:,} d={r['d']}: FAISS {r['faiss']} (frames and clips share one index: "
            f"{r['shared']}; the index copied the input array: {r['copy']}); data generation "
            f"{r['gen_s']:.1f} s (untimed); RSS at start {gb(r['rss_start'])} GB, after the data "
            f"{gb(r['rss_data'])} GB, peak after build + searches {gb(r['rss_peak'])} GB "
            f"(index overhead {(r['rss_peak'] - r['rss_data']) / r['bytes']:.2f}× the embeddings); "
            f"{r['planted']} planted copies, {r['planted_exact']} with exact cosine ≥ "
            f"{a.threshold} (min {r['planted_cos_min']:.4f}); planted copies in the exact top-{a.k + 1} "
            f"of their copy: {r.get('planted_in_exact_topk', ['–', '–'])[0]}/"
            f"{r.get('planted_in_exact_topk', ['–', '–'])[1]}; similarities returned exact: "
            f"{all(x['sims_exact'] for x in r['runs'])}"
        )
        notes.append(f"  - machine load: {r['load']}; {r['load_numpy']}")
    return f"""## Near-duplicate search at scale (issue 4 §5)

Date: {info["date"]} (UTC). Machine: {info["cpu"]}, {info["cores"]} cores, {info["os"]}. Python {info["python"]}, numpy {info["numpy"]}, FAISS {res[0]["faiss_version"] if res else "?"}. vidaug at commit {info["vidaug"]}.

Command: `{cmd}`. One thread everywhere (FAISS `omp_set_num_threads(1)`, OpenBLAS/OMP = 1); each (N, d) in its own subprocess (peak RSS = `ru_maxrss` of that process, read after the index build and searches, before the numpy part). Data: synthetic clustered unit-norm float32 vectors (clusters of ~1000, within-cluster cosine ≈ 0.35–0.6), {a.dup_frac:.0%} of them planted copies (source + Gaussian noise of relative norm 0.05–0.25, renormalised). The d = 256 rows stand in for PCA-256 embeddings: synthetic 256-d data generated the same way, not a PCA of the 1280-d set. vidaug: `EmbeddingIndex.build(N one-frame clips, kind="auto")` then `index.search_clips(index.clip_emb, k + 1)` with k = {a.k} (what `find_duplicates` does for its clip candidates), pairs kept at cosine ≥ {a.threshold}; build + search = total. numpy: exact `X[q] @ X.T` in blocks (256 queries × 131072 rows) with `argpartition` top-(k + 1) for a random sample of queries, time × N / sample. Speed-up = numpy extrapolated / vidaug total. Planted-pair recall: planted (source, copy) pairs with exact cosine ≥ threshold that vidaug's self-search returns (from either side) with cosine ≥ threshold. Sample pair recall: on the numpy sample, pairs (query, neighbour ≠ query) of the exact top-(k + 1) with cosine ≥ threshold that vidaug also returns. Sample kNN recall@k: share of the exact top-k neighbours (any cosine) vidaug returns, informational.

{table}

### Notes

{chr(10).join(notes)}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated N")
    ap.add_argument("--dims", default="1280,256", help="comma-separated d")
    ap.add_argument("--quick", action="store_true", help="N = 20000 only; prints only")
    ap.add_argument("--nprobe", default="4,8,16", help="nprobe values (N ≤ 200k)")
    ap.add_argument("--nprobe-large", default="4,16", help="nprobe values for N > 200k")
    ap.add_argument("--k", type=int, default=8, help="neighbours per vector (k + 1 searched)")
    ap.add_argument("--threshold", type=float, default=0.95)
    ap.add_argument("--dup-frac", type=float, default=0.01)
    ap.add_argument("--sample", type=int, default=1000, help="numpy exact: random queries")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="update RESULTS.md even with --quick")
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--d", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        a.nprobe = [int(p) for p in a.nprobe.split(",")]
        print("RESULT " + json.dumps(child(a)), flush=True)
        return 0
    sizes = [20_000] if a.quick else [int(s) for s in a.sizes.split(",")]
    dims = [int(s) for s in a.dims.split(",")]
    res = []
    for n in sizes:
        for d in dims:
            probes = a.nprobe if n <= 200_000 else a.nprobe_large
            cmd = [
                sys.executable, __file__, "--child", "--n", str(n), "--d", str(d),
                "--nprobe", probes, "--k", str(a.k), "--threshold", str(a.threshold),
                "--dup-frac", str(a.dup_frac), "--sample", str(a.sample), "--seed", str(a.seed),
            ]  # fmt: skip
            t0 = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True)
            line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
            if p.returncode or not line:
                sys.stderr.write(p.stdout + p.stderr)
                print(f"N={n} d={d}: child failed (rc {p.returncode})", flush=True)
                continue
            r = json.loads(line[0][7:])
            res.append(r)
            print(
                f"N={n:,} d={d} [{time.perf_counter() - t0:.0f} s]: {r['kind']} nlist={r['nlist']} "
                f"build {r['build_s']:.1f} s, numpy est {r['numpy_est_s']:.0f} s, peak RSS "
                f"{gb(r['rss_peak'])} GB / {gb(r['bytes'])} GB",
                flush=True,
            )
            for run in r["runs"]:
                tot = r["build_s"] + run["search_s"]
                print(
                    f"   nprobe {run['nprobe']}: search {run['search_s']:.1f} s, total {tot:.1f} s, "
                    f"speed-up {r['numpy_est_s'] / tot:.1f}×, planted recall "
                    f"{run['planted_recall']:.4f}, sample pair recall {run['sample_pair_recall']}, "
                    f"kNN recall {run['sample_knn_recall']:.3f}",
                    flush=True,
                )
    argv_s = " ".join(sys.argv[1:] if argv is None else argv)
    cmd_s = ".venv/bin/python benchmarks/mining_bench.py" + (f" {argv_s}" if argv_s else "")
    body = render(res, machine_info(), cmd_s, a)
    publish(a.results, "mining_bench", body, write=bool(res) and (not a.quick or a.write))
    return 0


if __name__ == "__main__":
    sys.exit(main())
