"""``vidaug curate / train / evaluate / export``: curated data into a Keras video classifier."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from vidaug import pipelines
from vidaug.cli._app import (
    app,
    check_out_dir,
    cli_errors,
    clip_progress,
    emit,
    err_console,
    exit_failed,
    resumable,
)
from vidaug.cli._choices import WORKFLOW_NAMES, HookViews, LabelErrors
from vidaug.cli._options import (
    RECIPE_HELP,
    AsJson,
    ClassifierFile,
    DecodeFps,
    Embedder,
    LabelledClips,
    Offline,
    OutJson,
    Recipe,
    Seed,
    Seeds,
    Weights,
)
from vidaug.cli._weights import require_weights
from vidaug.errors import UsageError

#: TensorFlow started with its noise muted (one name: the tests replace it).
_quiet_tf = pipelines.start_tensorflow


@app.command("curate")
def curate(
    input: Annotated[Path, typer.Argument(help="Labelled clips: a folder or a manifest.")],
    output: Annotated[Path, typer.Argument(
        help="The dataset folder: new or empty (or an earlier curation, with --resume or "
        "--overwrite).")],
    dedup: Annotated[bool, typer.Option("--dedup", help="Drop near-duplicates.")] = False,
    fix_leakage: Annotated[bool, typer.Option(
        "--fix-leakage", help="Keep duplicate groups on one side of splits.")] = False,
    mine_hard: Annotated[bool, typer.Option(
        "--mine-hard", help="Extra augmented copies of hard train clips.")] = False,
    copies: Annotated[int, typer.Option(
        "--copies", min=0, help="Augmented copies of every train clip.")] = 0,
    hard_copies: Annotated[int, typer.Option(
        "--hard-copies", min=0, help="Extra copies of each hard clip.")] = 2,
    recipe: Recipe = "standard",
    split: Annotated[str | None, typer.Option(
        "--split", help="train,val[,test] shares, e.g. 0.7,0.15,0.15 (default: the input's split "
        "column, else 0.7,0.15,0.15). Source groups never straddle splits.")] = None,
    label_errors: Annotated[LabelErrors, typer.Option(
        "--label-errors", help="Find clips whose label is likely wrong (out-of-fold predictions of "
        "the recommended model, duplicates kept together) and keep (list), drop or relabel them. "
        "Trains the model once per fold on cached features.")] = LabelErrors.off,
    label_error_folds: Annotated[int, typer.Option(
        "--label-error-folds", min=2, help="Folds of --label-errors.")] = 5,
    seed: Seed = 0,
    embedder: Embedder = "mobilenet_v2",
    weights: Weights = None,
    offline: Offline = False,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Finish an interrupted curation in OUTPUT.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace the curation in OUTPUT.")] = False,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Build a curated dataset: leakage-free splits, duplicates dropped, wrong labels fixed.

    Writes OUTPUT/<split>/..., OUTPUT/manifest.jsonl and OUTPUT/curation.json (what was
    dropped, moved and added, and why). Only the train split is augmented. Clips that do not
    decode are never copied: they are listed under "failed clips" and the exit code is 1, as
    for train clips whose augmented copies fail ("failed copies").
    """
    check_out_dir(output, "OUTPUT")
    progress = clip_progress("embed")

    def on_step(msg: str) -> None:
        progress.stop()
        err_console.print(f"[bold]{escape(msg)}[/bold]…")

    with cli_errors():
        from vidaug.datasets import load_rows

        fractions = None if split is None else pipelines.split_shares(split, "--split")
        rows = load_rows(input)  # read once: a bad input fails before the model loads
        frame_model = None
        if dedup or fix_leakage or mine_hard or label_errors is not LabelErrors.off:
            needed = embedder == "mobilenet_v2" or label_errors is not LabelErrors.off
            weights = require_weights(weights, offline, needed)
            frame_model = _load_embedder(embedder, weights, offline)
        with resumable(progress, output):
            res = pipelines.curate(
                input, output, dedup=dedup, fix_leakage=fix_leakage, mine_hard=mine_hard,
                copies=copies, hard_copies=hard_copies, recipe=recipe, split=fractions,
                seed=seed, embedder=frame_model, label_errors=label_errors.value,
                label_error_folds=label_error_folds, weights=weights, on_step=on_step,
                on_embed_start=progress.start, resume=resume, overwrite=overwrite, rows=rows,
                on_embed_clip=lambda cf: progress.advance(cf.row.rel if cf is not None else ""),
            )  # fmt: skip
    emit(as_json, res.to_dict(), lambda: pipelines.curation_lines(res, output))
    exit_failed(pipelines.curation_failure_lines(res))


def _load_embedder(embedder: str, weights: Path | None, offline: bool) -> Any:
    """Start TensorFlow (muted) and load the frame embedding model, with a spinner."""
    _quiet_tf()
    from vidaug.mining import load_embedder

    with err_console.status("loading the embedding model…"):
        return load_embedder(embedder, weights=weights, offline=offline)


#: What ``--workflow`` (``train``) and ``-a`` / ``-b`` (``compare``) accept.
WORKFLOW_HELP = (
    f"A named workflow ({', '.join(WORKFLOW_NAMES)}: see `vidaug workflows`), optionally "
    "followed by key=value changes ('recommended epochs=20'), a YAML file of the keys "
    "('workflow: recommended' in it starts from that one), or key=value words over the "
    "defaults ('model=seed epochs=3')."
)

#: The end of the help of ``train``'s options that change a key of the workflow.
_FROM_WORKFLOW = " (default: the workflow's)"


@app.command("train")
def train(
    manifest: Annotated[Path, typer.Argument(
        help="A manifest or folder; the 'train' split (all clips if none).")],
    workflow: Annotated[str, typer.Option(
        "--workflow",
        help=f"{WORKFLOW_HELP} The options below change single keys of it.")] = "recommended",
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="motion (frozen MobileNetV2 on RGB differences: motion, the "
        "recommended model), mobilenet_v2 (frozen, on the frames), seed (small CNN, 64 px, trained "
        "end to end) or a .keras model to train further (with the workflow's training)"
        f"{_FROM_WORKFLOW}.")] = None,
    epochs: Annotated[int | None, typer.Option(
        "--epochs", "-e", min=1, help="Epochs (default: 10 seed, 40 frozen).")] = None,
    batch: Annotated[int | None, typer.Option(
        "--batch", "-b", min=1, help="Clips per batch.")] = None,
    frames: Annotated[int | None, typer.Option(
        "--frames", min=1, help="Frames (motion: frame pairs) per clip.")] = None,
    streams: Annotated[str | None, typer.Option(
        "--streams",
        help="rgb, diff or rgb,diff (default: diff for motion, rgb otherwise).")] = None,
    pair_gap: Annotated[float | None, typer.Option(
        "--pair-gap", min=0.001, help="Seconds between paired frames.")] = None,
    members: Annotated[int | None, typer.Option(
        "--members", min=1, help="Frozen models: averaged heads (steadier).")] = None,
    recipe: Annotated[str | None, typer.Option(
        "--recipe", "-r", help=f"Augment train clips: {RECIPE_HELP[0].lower()}{RECIPE_HELP[1:-1]}, "
        f"or none{_FROM_WORKFLOW}.")] = None,
    views: Annotated[int | None, typer.Option(
        "--views", min=1, help="Frozen models with --recipe: augmented views per clip, embedded "
        "once; each epoch draws one.")] = None,
    tta: Annotated[int | None, typer.Option(
        "--tta", min=1,
        help="Test-time views `vidaug evaluate` averages (needs --recipe).")] = None,
    hook: Annotated[bool | None, typer.Option(
        "--hook/--no-hook", help="Hard-sample mining callback.")] = None,
    every: Annotated[int, typer.Option("--every", min=1, help="Hook period in epochs.")] = 1,
    hook_warmup: Annotated[int | None, typer.Option(
        "--hook-warmup", min=0, help="Epochs before the hook acts.")] = None,
    hook_views: Annotated[HookViews | None, typer.Option(
        "--hook-views", help="worst: train on each clip's hardest cached view.")] = None,
    seed: Seed = 0,
    decode_fps: DecodeFps = None,
    weights: Weights = None,
    offline: Offline = False,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Where to save the model.")] = Path("model.keras"),
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Train a Keras video classifier on the train split (validation on 'val' when present).

    Runs a workflow (the recommended one by default; `vidaug workflows` lists them, `vidaug
    workflows NAME` prints every key); an option given changes that key. Saves MODEL.keras
    and MODEL.keras.json (class names, input size, the workflow and its whole config,
    history, hook log).
    """
    with cli_errors():
        given = {"model": model, "streams": streams.split(",") if streams else None,
                 "frames": frames, "pair_gap": pair_gap, "members": members, "epochs": epochs,
                 "batch": batch, "recipe": recipe, "views": views, "tta": tta, "hook": hook,
                 "hook_warmup": hook_warmup, "hook_views": hook_views and hook_views.value,
                 "fps": decode_fps}  # fmt: skip
        changes = {k: v for k, v in given.items() if v is not None}
        plan = pipelines.plan_training(manifest, workflow, changes)
        weights = require_weights(weights, offline, plan.needs_weights)
        _quiet_tf()  # after the input and the weights: refused before TensorFlow starts
        with err_console.status("building the model…"):
            net, rec = pipelines.build_for_training(plan, weights=weights, seed=seed)
        err_console.print(pipelines.training_announcement(plan, net, rec))
        log = pipelines.epoch_logger(plan.config.resolved_epochs, err_console.print)
        res, info = pipelines.train_workflow(plan, net, rec, out=out, seed=seed, hook_every=every,
                                             callbacks=[log],
                                             on_embed=clip_progress("embed").count)  # fmt: skip
    summary = pipelines.training_summary(res, info, out)
    what = pipelines.workflow_text(plan)
    emit(as_json, summary, lambda: [pipelines.training_line(res, summary, what)], soft_wrap=False)
    exit_failed(pipelines.skipped_lines(res.failures))


@app.command("evaluate")
def evaluate(
    model: ClassifierFile,
    manifest: LabelledClips,
    split: Annotated[str | None, typer.Option(
        "--split", help="Evaluate this split (default: test if any).")] = None,
    tta: Annotated[int | None, typer.Option(
        "--tta", min=1, help="Average over the clip and N−1 views augmented with the training "
        "recipe (default: as trained).")] = None,
    cv: Annotated[int | None, typer.Option(
        "--cv", min=2, help="k-fold cross-validation: retrain the model's workflow on group k-fold "
        "splits of all clips (a source group never on both sides).")] = None,
    seeds: Seeds = "0",
    epochs: Annotated[int | None, typer.Option(
        "--epochs", min=1, help="Epochs per fold (default: as trained).")] = None,
    decode_fps: DecodeFps = None,
    weights: Weights = None,
    offline: Offline = False,
    out: OutJson = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Accuracy, per-class precision / recall / F1, macro F1 and the confusion matrix."""
    with cli_errors():
        from vidaug.datasets import atomic_write_text, load_rows

        seed_list = pipelines.seed_list(seeds, "--seeds") if cv is not None else []  # first
        rows = load_rows(manifest)
        _quiet_tf()  # the model itself needs TensorFlow
        from vidaug.training import load_with_meta

        net, meta = load_with_meta(model)
        names = pipelines.model_class_names(meta, rows)
        if cv is None:
            plan = pipelines.plan_evaluation(rows, meta, source=manifest, split=split, tta=tta)
            with err_console.status(f"evaluating {len(plan.rows)} clips…"):
                report = pipelines.evaluate_workflow(net, plan, names, fps=decode_fps)
        else:
            config = pipelines.cv_config(meta, epochs=epochs, fps=decode_fps, tta=tta)
            weights = require_weights(weights, offline, config.model != "seed")  # --cv retrains
            res = _run_cv(rows, config, cv, seed_list, names, weights)
            report = {"summary": res.summary(), "folds": [f.tolist() for f in res.folds]}
        if out is not None:
            atomic_write_text(out, json.dumps(report, indent=2, default=str))
    emit(as_json, report, lambda: [pipelines.evaluation_text(report, cv)], soft_wrap=False)
    exit_failed(pipelines.skipped_lines(report.get("failures") or {}))


def _run_cv(rows, config, k: int, seeds: list[int], names, weights, banks=None):
    labelled = [r for r in rows if r.label is not None]
    progress, fits = clip_progress("embed"), clip_progress("train", "models")
    try:
        return pipelines.cross_validate(
            labelled, config, k=k, seeds=seeds, class_names=names, weights=weights,
            on_progress=lambda m: fits.say(escape(m)), on_embed=progress.count,
            on_fold=fits.count, _banks=banks,
        )  # fmt: skip
    finally:
        progress.stop()
        fits.stop()


@app.command("compare")
def compare(
    manifest: LabelledClips,
    a: Annotated[str, typer.Option(
        "--workflow-a", "-a",
        help=f"Workflow A (the baseline). {WORKFLOW_HELP}")] = "recommended-no-aug",
    b: Annotated[str, typer.Option(
        "--workflow-b", "-b",
        help="Workflow B, in the same forms: 'recommended tta=4'.")] = "recommended",
    cv: Annotated[int, typer.Option("--cv", min=2, help="Group folds.")] = 5,
    seeds: Seeds = "0,1,2",
    weights: Weights = None,
    offline: Offline = False,
    out: OutJson = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Does workflow B beat workflow A on cameras the model has never seen?

    Cross-validates both on the same group k-fold splits (a source video — the `group`
    column — is never on both sides) and seeds, and reports B − A paired clip by clip, with a
    95 % bootstrap interval over source groups. Frozen-backbone workflows embed each clip once
    for all folds and seeds, and its augmented views once per seed (each seed draws its own).
    """
    with cli_errors():
        from vidaug.datasets import atomic_write_text, class_names, load_rows
        from vidaug.training import TrainConfig

        s = pipelines.seed_list(seeds, "--seeds")  # a bad --seeds: refused before anything starts
        ca, cb = TrainConfig.parse(a), TrainConfig.parse(b)
        weights = require_weights(weights, offline, ca.model != "seed" or cb.model != "seed")
        _quiet_tf()  # after the weights: a missing file is refused before TensorFlow starts
        rows = load_rows(manifest)
        names = class_names(rows)
        banks: dict = {}
        err_console.print(f"[bold]A[/bold]: {escape(ca.describe())} ({cv * len(s)} models)")
        ra = _run_cv(rows, ca, cv, s, names, weights, banks)
        err_console.print(f"[bold]B[/bold]: {escape(cb.describe())} ({cv * len(s)} models)")
        rb = _run_cv(rows, cb, cv, s, names, weights, banks)
        res = pipelines.compare_cv(ra, rb)
        if out is not None:
            atomic_write_text(out, json.dumps(res, indent=2))
    emit(as_json, res, lambda: [pipelines.compare_text(res, len(s))], soft_wrap=False)


@app.command("export")
def export(
    model: ClassifierFile,
    _tflite: Annotated[bool, typer.Option(
        "--tflite", hidden=True, help="Accepted; TFLite is the only format.")] = True,
    int8: Annotated[bool, typer.Option("--int8", help="Quantize the weights to int8.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output file (default: MODEL.tflite).")] = None,
    manifest: Annotated[Path | None, typer.Option(
        "--manifest", help="Compare accuracy with the Keras model on these clips.")] = None,
    split: Annotated[str, typer.Option(
        "--split", help="Split of --manifest to compare on.")] = "test",
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Export a classifier for low-latency inference (TFLite), with its size and accuracy.

    The file appears at its path only when everything succeeded (the comparison with
    --manifest too): a failed export leaves nothing there.
    """
    with cli_errors():
        if not model.is_file():
            raise UsageError(f"{model}: no such model file")
        rows = None
        if manifest is not None:
            from vidaug.datasets import load_rows

            rows = load_rows(manifest)
            rows = pipelines.rows_in_split(rows, split, manifest, whole_without_splits=True)
        _quiet_tf()
        info = pipelines.export_classifier(model, out, int8=int8, rows=rows,
                                           status=err_console.status)  # fmt: skip
    emit(as_json, info, lambda: pipelines.export_lines(info), soft_wrap=False)
