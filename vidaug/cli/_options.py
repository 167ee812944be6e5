"""Option types shared by several commands: one declaration, one meaning, one help text.

Names that mean one thing across the CLI: ``--embedder`` is the model that embeds frames for
mining (``embed``, ``search``, ``dedup``, ``mine-hard``, ``curate``); ``--model`` is the
classifier that ``train`` trains; ``--classifier`` is a trained classifier whose predictions
``mine-hard`` adds to the evidence. ``--sample-fps`` picks the frames mining embeds (a rate
instead of ``--frames`` a clip); ``--decode-fps`` is the rate ``train`` / ``evaluate`` decode
clips at. ``--model-batch`` is frames per model call (``embed``); ``--batch`` is clips per
training batch (``train``). ``-n/--copies`` is augmented copies (``augment``, ``preview``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidaug.cli._choices import Engine

__all__ = [
    "AsJson",
    "ClassifierFile",
    "DecodeFps",
    "Embedder",
    "EngineOpt",
    "Frames",
    "LabelledClips",
    "Layer",
    "ModelBatch",
    "Offline",
    "OutJson",
    "OutRows",
    "RayAddress",
    "Recipe",
    "Regions",
    "Report",
    "SampleFps",
    "Seed",
    "Seeds",
    "Weights",
]

#: The presets, spelled out here so that ``vidaug --help`` does not import vidaug.augment
#: (tests/test_cli_choices.py checks they match ``vidaug.augment.PRESETS``).
PRESET_NAMES = ("light", "standard", "strong", "surveillance", "camera", "motion")
RECIPE_HELP = f"Preset ({', '.join(PRESET_NAMES)}) or YAML recipe file."

Embedder = Annotated[
    str,
    typer.Option(
        "--embedder",
        help="Frame embedding model: 'mobilenet_v2' (ImageNet, default), a .keras image model "
        "or a classifier saved by `vidaug train` (its embedding layer).",
    ),
]
Weights = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        help="MobileNetV2 no-top weights .h5, or set VIDAUG_WEIGHTS (default: Keras' cache "
        "~/.keras/models/, fetched once when missing; see `vidaug weights`).",
    ),
]
Offline = Annotated[
    bool,
    typer.Option(
        "--offline",
        envvar="VIDAUG_OFFLINE",
        help="Never download the MobileNetV2 weights: without them, exit 2 saying where to put "
        "them.",
    ),
]
Layer = Annotated[
    str | None,
    typer.Option("--layer", help="Embedding layer of a user model (default: penultimate)."),
]
Frames = Annotated[int, typer.Option("--frames", min=1, help="Frames per clip, spread uniformly.")]
ModelBatch = Annotated[int, typer.Option("--model-batch", min=1, help="Frames per model call.")]
SampleFps = Annotated[
    float | None,
    typer.Option(
        "--sample-fps", min=0.01,
        help="Sample frames at this rate instead of --frames a clip (dense enough to align "
        "partial overlaps).",
    ),
]  # fmt: skip
DecodeFps = Annotated[
    float | None,
    typer.Option("--decode-fps", min=0.1, help="Decode clips at this frame rate (less memory)."),
]
Seed = Annotated[int, typer.Option("--seed", min=0, help="Random seed: same seed, same result.")]
Seeds = Annotated[
    str,
    typer.Option(
        "--seeds", help="Training seeds, comma-separated (each clip is tested once per seed)."
    ),
]
OutRows = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write one row per clip (JSONL).")
]
OutJson = Annotated[
    Path | None, typer.Option("--out", "-o", help="Also write the results as JSON here.")
]
ClassifierFile = Annotated[Path, typer.Argument(help="A .keras model saved by `vidaug train`.")]
LabelledClips = Annotated[Path, typer.Argument(help="A manifest or folder of labelled clips.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
Regions = Annotated[
    bool,
    typer.Option(
        "--regions/--no-regions",
        help="Also look at 9 windows a clip (a cheap probe of each, re-embedded only where "
        "it may show another clip): finds a clip shown inside another (picture-in-picture).",
    ),
]
Report = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="Also write a self-contained HTML report (summary, thumbnails, filters) here.",
    ),
]
Recipe = Annotated[str, typer.Option("--recipe", "-r", help=RECIPE_HELP)]
EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="local: processes on this machine; ray: Ray Data tasks on a local Ray instance or "
        'the cluster at --ray-address (pip install "vidaug-kit\\[ray]"). Same results.',
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Ray cluster to join with --engine ray (auto, ray://host:10001); default: start "
        "a local instance.",
    ),
]
