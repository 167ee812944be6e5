"""``vidaug augment``: augmented copies of every clip of a folder, manifest or file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from vidaug.cli._app import (
    app,
    check_out_dir,
    cli_errors,
    clip_progress,
    err_console,
    out_console,
    plural,
    resumable,
)
from vidaug.cli._choices import Damaged, Engine
from vidaug.cli._options import AsJson, EngineOpt, RayAddress, Recipe, Seed


@app.command("augment")
def augment(
    input: Annotated[
        Path,
        typer.Argument(
            help="A video file, a folder (class subfolders become labels) or a .csv/.jsonl "
            "manifest (path,label[,split])."
        ),
    ],
    output: Annotated[Path, typer.Argument(help="Output folder (created).")],
    recipe: Recipe = "standard",
    copies: Annotated[
        int, typer.Option("--copies", "-n", min=1, help="Augmented copies per clip.")
    ] = 1,
    seed: Seed = 0,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="Worker processes (default: the usable CPU cores, bounded by memory; the "
            "outputs are the same bytes for any number).",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run in OUTPUT.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Redo a run already in OUTPUT from scratch.")
    ] = False,
    clip_frames: Annotated[
        int | None,
        typer.Option("--clip-frames", min=1, help="Read at most N frames of each clip."),
    ] = None,
    segment: Annotated[
        float | None,
        typer.Option(
            "--segment",
            min=0.01,
            help="Cut long inputs into clips of this many seconds (outputs "
            "<stem>__seg<i>__aug<k>.mp4; the manifest gives each clip's start and end in its "
            "source).",
        ),
    ] = None,
    damaged: Annotated[
        Damaged,
        typer.Option(
            "--damaged",
            help="Partly decodable (truncated) clips: 'keep' the frames that decode (a warning) "
            "or 'skip' them (a failure).",
        ),
    ] = Damaged.keep,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddress = None,
    as_json: AsJson = False,
) -> None:
    """Write augmented copies OUTPUT/<dir>/<stem>__aug<k>.mp4 and OUTPUT/manifest.jsonl.

    Every random parameter is drawn once per clip (or drifts smoothly where the transform says
    so). Unreadable clips are reported and skipped; the exit code is then 1. A bad recipe or a
    missing input exits 2 before anything is written.
    """
    check_out_dir(output, "OUTPUT")
    from vidaug.pipelines import augment_dataset

    progress = clip_progress("augment")

    def on_row(res) -> None:  # failures are listed once, under the summary line
        if res.warning:
            progress.say(f"[yellow]warning:[/yellow] {escape(res.warning)}")
        progress.advance(res.rel)

    with cli_errors(), resumable(progress, output):
        summary = augment_dataset(
            input, output, recipe=recipe, copies=copies, seed=seed, workers=workers,
            resume=resume, overwrite=overwrite, clip_frames=clip_frames, damaged=damaged.value,
            segment=segment, engine=engine.value, ray_address=ray_address,
            on_start=progress.start, on_row=on_row,
        )  # fmt: skip
    _show_augment(summary, as_json)


def _show_augment(summary: Any, as_json: bool) -> None:
    """``augment``'s summary (``--json`` on stdout too), its failures, then exit 1 if any."""
    if as_json:
        out_console.print_json(json.dumps(summary.to_dict()))
    color = "green" if summary.ok else "red"
    err_console.print(
        f"[{color}]done[/{color}]: {plural(summary.written, 'clip')} written from "
        f"{plural(summary.sources, 'source')} (recipe {summary.recipe}, {summary.seconds:.1f} s)"
        + (f", {summary.resumed} kept from the earlier run" if summary.resumed else "")
        + (
            f", [yellow]{plural(len(summary.warnings), 'warning')}[/yellow]"
            if summary.warnings
            else ""
        )
        + (f", [red]{len(summary.failures)} failed[/red]" if summary.failures else ""),
        soft_wrap=True,
    )
    for _clip, msg in summary.failures:
        err_console.print(f"  [red]✗[/red] {escape(msg)}", soft_wrap=True, markup=True)
    err_console.print(
        f"outputs: {escape(str(summary.output))}  manifest: {escape(str(summary.manifest))}",
        soft_wrap=True,
    )
    if not summary.ok:
        raise typer.Exit(1)
