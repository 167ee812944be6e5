"""``vidaug embed / search / dedup / mine-hard``: the mining commands."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from vidaug import pipelines
from vidaug.cli._app import (
    app,
    check_out_file,
    cli_errors,
    clip_progress,
    emit,
    err_console,
    exit_failed,
    say,
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
    Regions,
    Report,
    SampleFps,
    Weights,
)
from vidaug.cli._weights import require_weights

if TYPE_CHECKING:
    from vidaug.report import Results


def _embedder(model: str, weights: Path | None, layer: str | None, offline: bool = False):
    from vidaug.mining import load_embedder

    # before TensorFlow starts: fetched (with a bar) or exit 2
    weights = require_weights(weights, offline, needed=model == "mobilenet_v2")
    with err_console.status("loading the embedding model…"):
        return load_embedder(model, weights=weights, layer=layer, offline=offline)


def _embed_with_progress(source: Path, model, weights, layer, *, offline: bool = False, **kw):
    from vidaug.datasets import load_rows

    progress, kept = clip_progress("embed"), []
    rows = load_rows(source)  # read once: a missing or empty input fails before the model loads
    emb = _embedder(model, weights, layer, offline)
    try:
        return pipelines.embed_to_index(
            source, emb, on_start=progress.start, rows=rows,
            on_clip=lambda cf: progress.advance(cf.row.rel if cf is not None else "cached"),
            on_interrupt=lambda k, n: kept.append((k, n)), **kw,
        )  # fmt: skip
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: say what was kept; the exit code follows
        progress.stop()
        if kept and kw.get("out") is not None:
            say([pipelines.interrupted_line(*kept[-1], kw["out"])], err=True)
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
    append: Annotated[bool, typer.Option(
        "--append",
        help="Add INPUT's new and changed clips to the index without rebuilding.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an index that holds clips INPUT does not have.")] = False,
    index_type: Annotated[IndexType, typer.Option(
        "--index-type", help="auto: flat, IVF when large.")] = IndexType.auto,
    nprobe: Annotated[int, typer.Option(
        "--nprobe", min=1, help="IVF lists scanned per query.")] = 16,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddress = None,
    actors: Annotated[int, typer.Option(
        "--actors", min=1, help="With --engine ray: model actors.")] = 1,
    gpus: Annotated[float, typer.Option(
        "--gpus", min=0, help="With --engine ray: GPUs per model actor.")] = 0,
    regions: Regions = True,
    as_json: AsJson = False,
) -> None:  # fmt: skip
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
            pipelines.check_engine("ray")  # before the model loads: one line if Ray is missing
        rep = _embed_with_progress(
            input, embedder, weights, layer, offline=offline, out=out, frames=frames,
            fps=sample_fps, batch=model_batch, append=append, overwrite=overwrite,
            kind=index_type.value, nprobe=nprobe, engine=engine.value, ray_address=ray_address,
            actors=actors, regions=regions, gpus=gpus,
        )  # fmt: skip
    emit(as_json, pipelines.embed_summary(rep, out))  # and the summary on stderr, always
    say([pipelines.embed_line(rep, out)], err=True)
    exit_failed(pipelines.failure_lines(m for _, m in rep.failures))


@app.command("search")
def search(
    index_dir: Annotated[Path, typer.Argument(help="An index made by `vidaug embed`.")],
    query: Annotated[Path, typer.Argument(
        help="The query: a video, or a folder / .csv / .jsonl manifest (every clip is a query).")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="How many neighbours.")] = 10,
    embedder: Embedder = "mobilenet_v2",
    weights: Weights = None,
    offline: Offline = False,
    layer: Layer = None,
    frames: Annotated[int | None, typer.Option(
        "--frames", min=1, help="Frames of the query (default: as the index).")] = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Print the clips of an index most similar to each query clip (cosine similarity).

    QUERY is one video (one table; --json: a list of hits) or a folder or manifest whose
    every clip is searched (one table per query clip; --json: a list of {"query", "hits"},
    one per query clip). Query clips that cannot be read are listed, and the exit code is 1.
    """
    from vidaug.cli._report import require_input  # (its commands come after these in --help)
    from vidaug.datasets import load_rows
    from vidaug.mining import EmbeddingIndex

    with cli_errors():
        require_input(index_dir, "index directory")
        require_input(query, "query file or folder")
        ix, rows = EmbeddingIndex.load(index_dir), load_rows(query)
        single = query.is_file() and query.suffix.lower() not in (".csv", ".jsonl")
        emb = _embedder(embedder, weights, layer, offline)
        ix.require_model(emb.model_id, index_dir)
        progress = clip_progress("embed")
        if not single:
            progress.start(len(rows))
        try:
            results, failed = pipelines.search_index(
                ix, rows, emb, k=k, frames=frames, source=None if single else query,
                on_clip=lambda cf: progress.advance(cf.row.rel),
            )  # fmt: skip
        finally:
            progress.stop()
    data = results[0]["hits"] if single else results
    emit(as_json, data, lambda: pipelines.search_tables(results, query.name if single else None),
         soft_wrap=False)  # fmt: skip
    exit_failed(pipelines.unread_lines(failed))


def _results(res: Any, ix: Any, source: Path, started: float, out: Path | None,
             report: Path | None) -> Results:  # fmt: skip
    """A check's result as the table ``vidaug report`` reads, written where asked: ``out``
    (JSONL and its ``.meta.json`` sidecar), ``report`` (HTML)."""
    from vidaug.cli._report import write_html_report
    from vidaug.report import check_results, save_results

    results = check_results(res, ix, source=source, elapsed_s=time.perf_counter() - started)
    if out is not None:
        save_results(out, results)
        err_console.print(f"wrote {len(results.rows)} rows to {escape(str(out))}")
    if report is not None:
        with cli_errors():
            write_html_report(report, results)
    return results


@app.command("dedup")
def dedup(
    input: Annotated[Path, typer.Argument(help="An index directory, or clips to embed first.")],
    threshold: Annotated[float | None, typer.Option(
        "--threshold", min=0, max=1, help="Clip-embedding cosine for a duplicate.")] = None,
    frame_threshold: Annotated[float | None, typer.Option(
        "--frame-threshold", min=0, max=1, help="Frame cosine for a match.")] = None,
    match_fraction: Annotated[float | None, typer.Option(
        "--match-fraction", min=0, max=1, help="Share of matching frames for a duplicate.")] = None,
    keep: Annotated[Keep, typer.Option(
        "--keep", help="Kept clip per group: original (full frame, native rate, best picture), "
        "longest, highest_resolution or first.")] = Keep.original,
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
) -> None:  # fmt: skip
    """Find near-duplicate clips and train/val leakage.

    Catches trimmed, cropped, re-encoded, resized, letterboxed and speed-changed copies, a
    clip shown inside another (picture-in-picture: relation contains) and two cuts that share
    a stretch (relation overlaps, with the seconds in each); duplicates across splits are
    leaks. One row per clip: is_duplicate, duplicate_score, group, nearest, similarity,
    is_leak, relation, related_to, evidence, segment, region.
    """
    from vidaug.cli._report import check_html_path
    from vidaug.mining import find_duplicates

    check_html_path(report, "--report")
    check_out_file(out, "--out")
    started = time.perf_counter()
    with cli_errors():
        ix, failed = _index_or_embed(input, model=embedder, weights=weights, layer=layer,
                                     frames=frames, fps=sample_fps, regions=regions,
                                     offline=offline)  # fmt: skip
        cfg = pipelines.dedup_config(threshold=threshold, frame_threshold=frame_threshold,
                                     match_fraction=match_fraction, keep=keep.value)  # fmt: skip
        res = find_duplicates(ix, cfg)
        say(pipelines.no_regions_note(ix), err=True)
    results = _results(res, ix, input, started, out, report)
    emit(as_json, {"summary": res.summary(), "rows": results.rows},
         lambda: pipelines.dedup_lines(res, results.rows))  # fmt: skip
    exit_failed(pipelines.unread_lines(failed))


def _classifier_probs(path: Path, ix) -> tuple[Any, list[str]]:
    """:func:`vidaug.pipelines.classifier_probs`, with a spinner and the unscored clips."""
    pipelines.start_tensorflow()  # its start-up lines muted, before Keras loads the classifier
    with err_console.status("scoring clips with the classifier…"):
        probs, names, failures = pipelines.classifier_probs(path, ix)
    say(pipelines.failure_lines(failures.values(), "[yellow]no prediction[/yellow]"), err=True)
    return probs, names


@app.command("mine-hard")
def mine_hard(
    input: Annotated[Path, typer.Argument(
        help="Labelled clips: a folder or a manifest, or an index.")],
    index: Annotated[Path | None, typer.Option(
        "--index", help="Reuse embeddings from this index directory.")] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Neighbours per clip.")] = 10,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to print.")] = 20,
    out: OutRows = None,
    embedder: Embedder = "mobilenet_v2",
    weights: Weights = None,
    offline: Offline = False,
    frames: Frames = 8,
    classifier: Annotated[Path | None, typer.Option(
        "--classifier", help="A classifier saved by `vidaug train`: adds per-clip loss, margin and "
        "misclassified to the evidence.")] = None,
    report: Report = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Rank hard samples; flag outliers and likely label errors.

    Hardness from kNN label disagreement and centroid margin in embedding space (and, with
    --classifier, the classifier's loss and margin); likely label errors (is_label_suspect) are kept
    apart from hard-but-correct clips.
    """
    from vidaug.cli._report import check_html_path
    from vidaug.mining import is_index_dir, score_hardness

    check_html_path(report, "--report")
    check_out_file(out, "--out")
    started = time.perf_counter()
    with cli_errors():
        reuse = index is not None and is_index_dir(index)
        ix, failed = _index_or_embed(index if reuse else input, model=embedder,
                                     weights=weights, layer=None, frames=frames, regions=False,
                                     offline=offline)  # fmt: skip
        if reuse and not is_index_dir(input):
            pipelines.require_embedded(ix, index, input)
        probs, names = (None, None)
        if classifier is not None:
            probs, names = _classifier_probs(classifier, ix)
        res = score_hardness(
            ix.clip_emb, [c.get("label") for c in ix.clips], index=ix, k=k, ids=ix.ids,
            probs=probs, class_names=names,
        )  # fmt: skip
    _results(res, ix, input, started, out, report)
    rows = res.ranked()
    emit(as_json, rows, lambda: pipelines.hard_lines(res, rows, top), soft_wrap=False)
    exit_failed(pipelines.unread_lines(failed))
