"""``vidaug embed / search / dedup / mine-hard``: the mining commands."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from vidaug.cli._app import (
    app,
    check_out_file,
    cli_errors,
    clip_progress,
    err_console,
    out_console,
    plural,
)
from vidaug.cli._choices import Engine, IndexType, Keep
from vidaug.cli._options import (
    AsJson,
    Embedder,
    EngineOpt,
    Frames,
    Layer,
    ModelBatch,
    Offline,
    OutRows,
    RayAddress,
    Report,
    SampleFps,
    Weights,
)
from vidaug.cli._weights import require_weights

if TYPE_CHECKING:
    from vidaug.report import Results

Regions = Annotated[
    bool,
    typer.Option(
        "--regions/--no-regions",
        help="Also look at 9 windows a clip (a cheap probe of each, re-embedded only where "
        "it may show another clip): finds a clip shown inside another (picture-in-picture).",
    ),
]


def _embedder(model: str, weights: Path | None, layer: str | None, offline: bool = False):
    from vidaug.mining import load_embedder

    # before TensorFlow starts: fetched (with a bar) or exit 2
    weights = require_weights(weights, offline, needed=model == "mobilenet_v2")
    with err_console.status("loading the embedding model…"):
        return load_embedder(model, weights=weights, layer=layer, offline=offline)


def _embed_with_progress(
    source: Path, model, weights, layer, *, verb: str = "embed", offline: bool = False, **kw
):
    from vidaug.pipelines import embed_to_index

    progress = clip_progress(verb)

    def on_clip(cf) -> None:
        progress.advance(cf.row.rel if cf is not None else "cached")

    from vidaug.datasets import load_rows

    rows = load_rows(source)  # read once: a missing or empty input fails before the model loads
    emb = _embedder(model, weights, layer, offline)
    kept: list[tuple[int, int]] = []
    try:
        return embed_to_index(source, emb, on_start=progress.start, on_clip=on_clip, rows=rows,
                              on_interrupt=lambda k, n: kept.append((k, n)), **kw)  # fmt: skip
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: say what was kept; the exit code follows
        progress.stop()
        if kept and kw.get("out") is not None:
            k, n = kept[-1]
            err_console.print(
                f"[red]interrupted[/red]: kept {k} of {plural(n, 'clip')} in "
                f"{escape(str(kw['out']))} (run the same command again to finish)",
                soft_wrap=True,
            )
        raise
    finally:
        progress.stop()


def _index_or_embed(source: Path, **embed: Any) -> tuple[Any, list[tuple[str, str]]]:
    """The index at ``source``, or ``source``'s clips embedded now (with a bar), and the clips
    that could not be embedded."""
    from vidaug.mining import EmbeddingIndex, is_index_dir

    if is_index_dir(source):
        return EmbeddingIndex.load(source), []
    rep = _embed_with_progress(source, **embed)
    return rep.index, rep.failures


def _report_failures(failures: list[tuple[str, str]]) -> None:
    for _, msg in failures:
        err_console.print(f"  [red]✗[/red] {escape(msg)}", soft_wrap=True)


@app.command("embed")
def embed(
    input: Annotated[Path, typer.Argument(help="A video, a folder or a .csv/.jsonl manifest.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index directory (created or updated).")],
    embedder: Embedder = "mobilenet_v2",
    weights: Weights = None,
    offline: Offline = False,
    layer: Layer = None,
    frames: Frames = 8,
    sample_fps: SampleFps = None,
    model_batch: ModelBatch = 32,
    append: Annotated[
        bool,
        typer.Option(
            "--append", help="Add INPUT's new and changed clips to the index without rebuilding."
        ),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace an index that holds clips INPUT does not have."),
    ] = False,
    index_type: Annotated[
        IndexType, typer.Option("--index-type", help="auto: flat, IVF when large.")
    ] = IndexType.auto,
    nprobe: Annotated[
        int, typer.Option("--nprobe", min=1, help="IVF lists scanned per query.")
    ] = 16,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddress = None,
    actors: Annotated[
        int, typer.Option("--actors", min=1, help="With --engine ray: model actors.")
    ] = 1,
    gpus: Annotated[
        float, typer.Option("--gpus", min=0, help="With --engine ray: GPUs per model actor.")
    ] = 0,
    regions: Regions = True,
    as_json: AsJson = False,
) -> None:
    """Embed clips with a CNN and save a FAISS index (re-runs embed only new or changed clips).

    An index holding clips that INPUT lacks is refused unless --append (add INPUT to it) or
    --overwrite (replace it); so is a clip id the index holds for another file (ids stay
    unique; exit 2, both paths named). Progress is saved to OUT as it goes: a run that is
    stopped (Ctrl-C: exit 130, SIGTERM: 143) keeps every clip already embedded and says so,
    and running it again embeds only the rest. Clips that cannot be embedded (unreadable, too
    small, NaN embeddings) are listed; the index holds the others and the exit code is 1.
    """
    with cli_errors():
        if append and overwrite:
            from vidaug.errors import UsageError

            raise UsageError("--append adds to the index and --overwrite replaces it: choose one")
        if engine is Engine.ray:
            from vidaug.pipelines import check_engine

            check_engine("ray")  # before the model loads: one line if Ray is missing
        rep = _embed_with_progress(
            input,
            embedder,
            weights,
            layer,
            offline=offline,
            out=out,
            frames=frames,
            fps=sample_fps,
            batch=model_batch,
            append=append,
            overwrite=overwrite,
            kind=index_type.value,
            nprobe=nprobe,
            engine=engine.value,
            ray_address=ray_address,
            actors=actors,
            regions=regions,
            gpus=gpus,
        )
    ix = rep.index
    summary = {
        "index": str(out),
        "clips": len(ix),
        "frames": ix.n_frames,
        "embedded": rep.embedded,
        "reused": rep.reused,
        "failed": len(rep.failures),
        "model": ix.model_id,
        "dims": ix.dims,
        "kind": ix.kind,
    }
    if as_json:
        out_console.print_json(json.dumps(summary))
    err_console.print(
        f"[green]done[/green]: {len(ix)} clips ({ix.n_frames} frames, {ix.dims}-d, {ix.kind}) in "
        f"{escape(str(out))}; embedded {rep.embedded}, reused {rep.reused}"
        + (f", [red]{len(rep.failures)} failed[/red]" if rep.failures else ""),
        soft_wrap=True,
    )
    _report_failures(rep.failures)
    if rep.failures:
        raise typer.Exit(1)


@app.command("search")
def search(
    index_dir: Annotated[Path, typer.Argument(help="An index made by `vidaug embed`.")],
    query: Annotated[
        Path,
        typer.Argument(
            help="The query: a video, or a folder / .csv / .jsonl manifest (every clip is a query)."
        ),
    ],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many neighbours.")] = 10,
    embedder: Embedder = "mobilenet_v2",
    weights: Weights = None,
    offline: Offline = False,
    layer: Layer = None,
    frames: Annotated[
        int | None,
        typer.Option("--frames", min=1, help="Frames of the query (default: as the index)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Print the clips of an index most similar to each query clip (cosine similarity).

    QUERY is one video (one table; --json: a list of hits) or a folder or manifest whose
    every clip is searched (one table per query clip; --json: a list of {"query", "hits"},
    one per query clip). Query clips that cannot be read are listed, and the exit code is 1.
    """
    from vidaug.datasets import load_rows
    from vidaug.errors import UsageError, VidaugError
    from vidaug.mining import EmbeddingIndex, embed_rows
    from vidaug.pipelines import query_sampling

    with cli_errors():
        for path, what in ((index_dir, "index directory"), (query, "query file or folder")):
            if not path.exists():
                raise UsageError(f"{path}: no such {what}")
        ix = EmbeddingIndex.load(index_dir)
        rows = load_rows(query)
        single = query.is_file() and query.suffix.lower() not in (".csv", ".jsonl")
        emb = _embedder(embedder, weights, layer, offline)
        ix.require_model(emb.model_id, index_dir)
        fps = None
        if frames is None:  # sample the query the way the index's clips were sampled
            frames, fps = query_sampling(ix.clips[0].get("sampling") if len(ix) else None)
        progress = clip_progress("embed")
        if not single:
            progress.start(len(rows))
        try:
            q = embed_rows(rows, emb, frames=frames or 8, fps=fps,
                           on_clip=lambda cf: progress.advance(cf.row.rel))  # fmt: skip
        finally:
            progress.stop()
        if not q.clips:
            raise VidaugError(q.failures[0][1] if single else f"{query}: no query clip could be "
                              f"read (e.g. {q.failures[0][1]})")  # fmt: skip
        sims, ids = ix.search_clips(q.clip_emb, min(k, len(ix)))
    results = [
        {
            "query": c["id"],
            "hits": [
                {
                    "rank": r + 1,
                    "id": ix.clips[i]["id"],
                    "label": ix.clips[i].get("label"),
                    "similarity": round(float(s), 4),
                }
                for r, (s, i) in enumerate(zip(sims[j], ids[j], strict=True))
                if i >= 0
            ],
        }
        for j, c in enumerate(q.clips)
    ]
    if as_json:
        out_console.print_json(json.dumps(results[0]["hits"] if single else results))
        _exit_if_failed(q.failures)
        return
    for res in results:
        name = query.name if single else res["query"]
        t = Table(title=f"nearest to {escape(name)}", title_justify="left")
        for c in ("rank", "similarity", "label", "clip"):
            t.add_column(c)
        for r in res["hits"]:
            t.add_row(
                str(r["rank"]), f"{r['similarity']:.4f}", escape(str(r["label"])), escape(r["id"])
            )
        out_console.print(t)
    _exit_if_failed(q.failures)


def _write_rows(path: Path, results: Results) -> None:
    """The per-clip JSONL table and its ``.meta.json`` sidecar (for ``vidaug report``)."""
    from vidaug.report import save_results

    save_results(path, results)
    err_console.print(f"wrote {len(results.rows)} rows to {escape(str(path))}")


def _outputs(out: Path | None, report: Path | None, results: Results) -> None:
    from vidaug.cli._report import write_html_report

    if out is not None:
        _write_rows(out, results)
    if report is not None:
        with cli_errors():
            write_html_report(report, results)


@app.command("dedup")
def dedup(
    input: Annotated[Path, typer.Argument(help="An index directory, or clips to embed first.")],
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", min=0, max=1, help="Clip-embedding cosine for a duplicate."),
    ] = None,
    frame_threshold: Annotated[
        float | None,
        typer.Option("--frame-threshold", min=0, max=1, help="Frame cosine for a match."),
    ] = None,
    match_fraction: Annotated[
        float | None,
        typer.Option(
            "--match-fraction", min=0, max=1, help="Share of matching frames for a duplicate."
        ),
    ] = None,
    keep: Annotated[
        Keep,
        typer.Option(
            "--keep",
            help="Kept clip per group: original (full frame, native rate, best picture), "
            "longest, highest_resolution or first.",
        ),
    ] = Keep.original,
    out: OutRows = None,
    embedder: Embedder = "mobilenet_v2",
    weights: Weights = None,
    offline: Offline = False,
    layer: Layer = None,
    frames: Frames = 8,
    sample_fps: SampleFps = None,
    regions: Regions = True,
    report: Report = None,
    as_json: AsJson = False,
) -> None:
    """Find near-duplicate clips and train/val leakage.

    Catches trimmed, cropped, re-encoded, resized, letterboxed and speed-changed copies, a
    clip shown inside another (picture-in-picture: relation contains) and two cuts that share
    a stretch (relation overlaps, with the seconds in each); duplicates across splits are
    leaks. One row per clip: is_duplicate, duplicate_score, group, nearest, similarity,
    is_leak, relation, related_to, evidence, segment, region.
    """
    from vidaug.cli._report import check_html_path
    from vidaug.mining import find_duplicates
    from vidaug.pipelines import dedup_config
    from vidaug.report import check_results

    check_html_path(report, "--report")
    check_out_file(out, "--out")
    started = time.perf_counter()
    with cli_errors():
        ix, failed = _index_or_embed(input, model=embedder, weights=weights, layer=layer,
                                     frames=frames, fps=sample_fps, regions=regions, offline=offline)  # fmt: skip
        cfg = dedup_config(threshold=threshold, frame_threshold=frame_threshold,
                           match_fraction=match_fraction, keep=keep.value)  # fmt: skip
        res = find_duplicates(ix, cfg)
        if ix.region_emb is None and len(ix) > 1:
            err_console.print(
                "[dim]note: the index has no region embeddings, so clips shown inside other "
                "clips (picture-in-picture) were not looked for; embed with --regions[/dim]",
                soft_wrap=True,
            )
    results = check_results(res, ix, source=input, elapsed_s=time.perf_counter() - started)
    _outputs(out, report, results)
    if as_json:
        out_console.print_json(json.dumps({"summary": res.summary(), "rows": results.rows},
                                          default=str))  # fmt: skip
    else:
        _show_dedup(res, results.rows)
    _exit_if_failed(failed)


def _show_dedup(res: Any, rows: list[dict[str, Any]]) -> None:
    """``dedup``'s summary: counts, relations, the first 50 groups and leaks."""
    from vidaug.report import relation_text

    s = res.summary()
    out_console.print(
        f"{plural(s['clips'], 'clip')}, {plural(s['pairs'], 'duplicate pair')} in "
        f"{plural(s['groups'], 'group')}: {plural(s['duplicates'], 'clip')} would be dropped, "
        f"{s['leaks']} leaking across splits",
        soft_wrap=True,
    )
    kinds = {k: v for k, v in s.get("relations", {}).items() if k != "copy_of"}
    if kinds or res.related:
        extra = [f"{plural(v, 'pair')}: {k.replace('_', ' ')}" for k, v in kinds.items()]
        if res.related:
            n = len(res.related)
            extra.append(f"{plural(n, 'composite')} not counted as a copy of its background")
        out_console.print("  " + "; ".join(extra), soft_wrap=True)
    by_id = {r["id"]: r for r in rows}
    for g in res.groups[:50]:
        out_console.print(
            f"  [bold]keep[/bold] {escape(g[0])}  [dim]drop[/dim] {escape(', '.join(g[1:]))}"
        )
        for cid in g:
            text = relation_text(by_id.get(cid, {}))
            if text and by_id[cid]["relation"] in ("inside", "contains", "overlaps"):
                out_console.print(f"    [dim]{escape(cid)}: {escape(text)}[/dim]", soft_wrap=True)
    for p in [p for p in res.pairs if p["is_leak"]][:50]:
        out_console.print(
            f"  [red]leak[/red] {escape(p['a'])} ↔ {escape(p['b'])} ({p['score']:.3f})"
        )


def _exit_if_failed(failed: list[tuple[str, str]]) -> None:
    """After the results are out: list the clips that could not be read, exit 1."""
    if failed:
        err_console.print(
            f"[red]{plural(len(failed), 'clip')} could not be read and "
            f"{'was' if len(failed) == 1 else 'were'} left out:[/red]"
        )
        _report_failures(failed)
        raise typer.Exit(1)


def _classifier_probs(path: Path, ix) -> tuple[Any, list[str]]:
    """:func:`vidaug.pipelines.classifier_probs`, with a spinner and the unscored clips."""
    from vidaug.pipelines import classifier_probs, start_tensorflow

    start_tensorflow()  # its start-up lines muted, before Keras loads the classifier
    with err_console.status("scoring clips with the classifier…"):
        probs, names, failures = classifier_probs(path, ix)
    for msg in failures.values():
        err_console.print(f"  [yellow]no prediction[/yellow] {escape(msg)}", soft_wrap=True)
    return probs, names


@app.command("mine-hard")
def mine_hard(
    input: Annotated[
        Path, typer.Argument(help="Labelled clips: a folder or a manifest, or an index.")
    ],
    index: Annotated[
        Path | None, typer.Option("--index", help="Reuse embeddings from this index directory.")
    ] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Neighbours per clip.")] = 10,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to print.")] = 20,
    out: OutRows = None,
    embedder: Embedder = "mobilenet_v2",
    weights: Weights = None,
    offline: Offline = False,
    frames: Frames = 8,
    classifier: Annotated[
        Path | None,
        typer.Option(
            "--classifier",
            help="A classifier saved by `vidaug train`: adds per-clip loss, margin and "
            "misclassified to the evidence.",
        ),
    ] = None,
    report: Report = None,
    as_json: AsJson = False,
) -> None:
    """Rank hard samples; flag outliers and likely label errors.

    Hardness from kNN label disagreement and centroid margin in embedding space (and, with
    --classifier, the classifier's loss and margin); likely label errors (is_label_suspect) are kept
    apart from hard-but-correct clips.
    """
    from vidaug.cli._report import check_html_path
    from vidaug.mining import is_index_dir, score_hardness
    from vidaug.report import check_results

    check_html_path(report, "--report")
    check_out_file(out, "--out")
    started = time.perf_counter()
    with cli_errors():
        reuse = index is not None and is_index_dir(index)
        ix, failed = _index_or_embed(index if reuse else input, model=embedder,
                                     weights=weights, layer=None, frames=frames, regions=False,
                                     offline=offline)  # fmt: skip
        if reuse and not is_index_dir(input):
            from vidaug.pipelines import require_embedded

            require_embedded(ix, index, input)
        probs, names = (None, None)
        if classifier is not None:
            probs, names = _classifier_probs(classifier, ix)
        res = score_hardness(
            ix.clip_emb, [c.get("label") for c in ix.clips], index=ix, k=k, ids=ix.ids,
            probs=probs, class_names=names,
        )  # fmt: skip
    results = check_results(res, ix, source=input, elapsed_s=time.perf_counter() - started)
    _outputs(out, report, results)
    rows = res.ranked()
    if as_json:
        out_console.print_json(json.dumps(rows, default=str))
    else:
        _show_hard(res, rows, top)
    _exit_if_failed(failed)


def _show_hard(res: Any, rows: list[dict[str, Any]], top: int) -> None:
    """``mine-hard``'s table of the ``top`` hardest clips and its counts."""
    t = Table(title=f"hardest {min(top, len(rows))} of {len(rows)} clips", title_justify="left")
    for c in ("hard", "label", "seen as", "flags", "clip"):
        t.add_column(c)
    for r in rows[:top]:
        flags = " ".join(
            f
            for f, on in (
                ("label-suspect", r["is_label_suspect"]),
                ("outlier", r["is_outlier"]),
                ("hard", r["is_hard"]),
            )
            if on
        )
        t.add_row(
            f"{r['hard_score']:.2f}",
            escape(str(r["label"])),
            escape(str(r["predicted"])),
            flags,
            escape(r["id"]),
        )
    out_console.print(t)
    s = res.summary()
    out_console.print(
        f"{s['hard']} hard, {plural(s['label_suspects'], 'label suspect')}, "
        f"{plural(s['outliers'], 'outlier')}"
    )
