"""``vidaug preview`` and ``vidaug report``: see augmentations and mining results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from vidaug.cli._app import (
    app,
    check_out_file,
    cli_errors,
    clip_progress,
    emit,
    err_console,
    fail,
    human_size,
    say,
)
from vidaug.cli._options import AsJson, Recipe, Seed

if TYPE_CHECKING:
    from vidaug.report import Results

HTML_SUFFIXES = (".html", ".htm")


def check_html_path(path: Path | None, option: str) -> None:
    """Refuse a report path that is not a writable ``.html`` file (a usage error: exit 2,
    before any work)."""
    check_out_file(path, option, HTML_SUFFIXES)


def require_input(path: Path, what: str) -> None:
    """A missing input file is a usage error (exit 2, as in every command), before any work."""
    if not path.exists():
        fail(f"{path}: no such {what}", 2)


def write_html_report(path: Path, results: Results, *, clips: Path | None = None,
                      thumbnails: bool = True, thumb_frames: int = 4) -> Path:  # fmt: skip
    """:func:`vidaug.report.write_report` with a progress bar over the thumbnails (stderr)."""
    from vidaug.report import write_report

    progress = clip_progress("thumbnails")
    try:
        out = write_report(path, results, clips=clips, thumbnails=thumbnails,
                           thumb_frames=thumb_frames, on_start=progress.start,
                           on_clip=progress.advance)  # fmt: skip
    finally:
        progress.stop()
    size = out.stat().st_size
    err_console.print(f"report: {escape(str(out))} ({human_size(size)})", soft_wrap=True)
    return out


@app.command("preview")
def preview(
    clip: Annotated[Path, typer.Argument(help="A video file (any format OpenCV decodes).")],
    recipe: Recipe = "standard",
    n: Annotated[int, typer.Option(
        "--copies", "-n", min=1, max=32, help="Augmented copies to show.")] = 4,
    seed: Seed = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="FILE.png / .jpg (contact sheet), .gif / .webp (animation) or .mp4 "
        "(video); default <clip>.preview.png here.")] = None,
    boxes: Annotated[Path | None, typer.Option(
        "--boxes", help="Boxes / tracks to draw: .csv / .json / .jsonl rows "
        "frame,track_id,x1,y1,x2,y2.")] = None,
    max_frames: Annotated[int, typer.Option(
        "--max-frames", min=1, help="Preview the first N frames.")] = 64,
    height: Annotated[int | None, typer.Option(
        "--height", min=16,
        help="Frame height in pixels (default 120 sheet, 160 animation).")] = None,
    columns: Annotated[int, typer.Option(
        "--columns", min=1, max=16, help="Frames per row of a contact sheet.")] = 5,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Show what a recipe does to a clip: the original and N augmented copies.

    A PNG contact sheet has a row of frames spread over time per copy, labelled with the
    transforms and params applied; a GIF / WebP / MP4 plays the original and the copies side by
    side, in sync, so flicker and temporal ops are visible. Boxes are drawn moved with the frames.
    """
    from vidaug.pipelines import preview_lines
    from vidaug.report import PREVIEW_SUFFIXES, write_preview

    require_input(clip, "video file")
    if boxes is not None:
        require_input(boxes, "boxes file (--boxes)")
    dest = out if out is not None else Path(f"{clip.stem}.preview.png")
    check_out_file(dest, "--out", PREVIEW_SUFFIXES)
    with cli_errors(), err_console.status("augmenting and drawing…"):
        res = write_preview(clip, dest, recipe=recipe, n=n, seed=seed, boxes=boxes,
                            max_frames=max_frames, height=height, columns=columns)  # fmt: skip
    if as_json:
        return emit(as_json, res.to_dict())
    wrote, copies = preview_lines(res)
    err_console.print(wrote, soft_wrap=True)
    say(copies)


@app.command("report")
def report(
    results: Annotated[Path, typer.Argument(
        help="Results JSONL from `vidaug dedup --out` or `vidaug mine-hard --out`.")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="The HTML file (default: RESULTS with .html).")] = None,
    clips: Annotated[Path | None, typer.Option(
        "--clips", help="Where the clips are, if moved or the results have no .meta.json sidecar: "
        "the index, folder or manifest the results came from.")] = None,
    thumbnails: Annotated[bool, typer.Option(
        "--thumbnails/--no-thumbnails", help="Embed thumbnail strips.")] = True,
    thumb_frames: Annotated[int, typer.Option(
        "--thumb-frames", min=1, max=12, help="Frames per thumbnail strip.")] = 4,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Make one self-contained HTML report from saved dedup, mine-hard or label-error results.

    Summary, score histograms, duplicate groups (kept / dropped, leaks highlighted) or ranked
    hard samples with neighbours; thumbnails embedded; filters, sorting and paging work offline.
    --json prints {"report", "bytes", "kind", "rows", "summary"} on stdout.
    """
    from vidaug.report import load_results

    require_input(results, "results file")
    if clips is not None:
        require_input(clips, "index, folder or manifest (--clips)")
    dest = out if out is not None else results.with_suffix(".html")
    check_html_path(dest, "--out")
    with cli_errors():
        res = load_results(results)
        if not res.clips and clips is None and thumbnails:
            err_console.print(
                "[yellow]warning:[/yellow] no .meta.json sidecar next to the results: give "
                "--clips for thumbnails",
                soft_wrap=True,
            )
        out = write_html_report(dest, res, clips=clips, thumbnails=thumbnails,
                                thumb_frames=thumb_frames)  # fmt: skip
    summary = {"report": str(out), "bytes": out.stat().st_size, "kind": res.kind,
               "rows": len(res.rows), "summary": res.meta.get("summary")}  # fmt: skip
    emit(as_json, summary)
