"""``vidaug augment``: augmented copies of every clip of a folder, manifest or file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidaug.cli._app import app, check_out_dir, cli_errors, clip_progress, emit, resumable, say
from vidaug.cli._choices import Damaged, Engine
from vidaug.cli._options import AsJson, EngineOpt, RayAddress, Recipe, Seed


@app.command("augment")
def augment(
    input: Annotated[Path, typer.Argument(
        help="A video file, a folder (class subfolders become labels) or a .csv/.jsonl manifest "
        "(path,label[,split]).")],
    output: Annotated[Path, typer.Argument(help="Output folder (created).")],
    recipe: Recipe = "standard",
    copies: Annotated[int, typer.Option(
        "--copies", "-n", min=1, help="Augmented copies per clip.")] = 1,
    seed: Seed = 0,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", min=1, help="Worker processes (default: the usable CPU cores, bounded "
        "by memory; the outputs are the same bytes for any number).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue an interrupted run in OUTPUT.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Redo a run already in OUTPUT from scratch.")] = False,
    clip_frames: Annotated[int | None, typer.Option(
        "--clip-frames", min=1, help="Read at most N frames of each clip.")] = None,
    segment: Annotated[float | None, typer.Option(
        "--segment", min=0.01, help="Cut long inputs into clips of this many seconds (outputs "
        "<stem>__seg<i>__aug<k>.mp4; the manifest gives each clip's start and end in its "
        "source).")] = None,
    damaged: Annotated[Damaged, typer.Option(
        "--damaged", help="Partly decodable (truncated) clips: 'keep' the frames that decode (a "
        "warning) or 'skip' them (a failure).")] = Damaged.keep,
    engine: EngineOpt = Engine.local,
    ray_address: RayAddress = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Write augmented copies OUTPUT/<dir>/<stem>__aug<k>.mp4 and OUTPUT/manifest.jsonl.

    Every random parameter is drawn once per clip (or drifts smoothly where the transform says
    so). Unreadable clips are reported and skipped; the exit code is then 1. A bad recipe or a
    missing input exits 2 before anything is written.
    """
    check_out_dir(output, "OUTPUT")
    from vidaug.pipelines import augment_dataset, augment_lines

    progress = clip_progress("augment")
    with cli_errors(), resumable(progress, output):
        summary = augment_dataset(
            input, output, recipe=recipe, copies=copies, seed=seed, workers=workers,
            resume=resume, overwrite=overwrite, clip_frames=clip_frames, damaged=damaged.value,
            segment=segment, engine=engine.value, ray_address=ray_address,
            on_start=progress.start, on_row=lambda res: progress.advance(res.rel, res.warning),
        )  # fmt: skip
    emit(as_json, summary.to_dict())  # and the summary on stderr, always
    say(augment_lines(summary), err=True)
    if not summary.ok:
        raise typer.Exit(1)
