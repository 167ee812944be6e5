"""``vidaug curate / train / evaluate / export``: curated data into a Keras video classifier."""

from __future__ import annotations

import json
import os
from collections import Counter
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
from vidaug.cli._choices import HookViews, LabelErrors
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

#: Epoch-log entries of the hard-sample hook that are counts (Keras logs them as floats).
_HOOK_COUNTS = ("hard_clips", "label_suspects", "reweighted")


def _quiet_tf() -> None:
    """Import TensorFlow and start its runtime with the C-level stderr muted: its absl /
    oneDNN start-up lines are noise to a CLI user."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    from vidaug.datasets import quiet_ffmpeg

    warnings.filterwarnings("ignore", module=r"tensorflow\.lite\..*")
    with quiet_ffmpeg():
        import tensorflow as tf

        tf.constant(1.0) + 1.0  # the runtime's first-op chatter happens here


class _EpochLine:
    """A Keras callback printing one line per epoch on stderr."""

    def __new__(cls, epochs: int):
        import keras

        class EpochLine(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                logs = logs or {}
                parts = [f"epoch {epoch + 1}/{epochs}"]
                for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                    if key in logs:
                        parts.append(f"{key} {logs[key]:.3f}")
                if "hard_clips" in logs:
                    parts.append(
                        f"hook: {int(logs['hard_clips'])} hard, "
                        f"{int(logs['label_suspects'])} suspects"
                    )
                err_console.print("  ".join(parts))

        return EpochLine()


def _split_shares(text: str) -> list[float]:
    """``--split`` as 2 or 3 shares in [0, 1] that add up to 1 (train > 0); else a usage error."""
    from vidaug.errors import UsageError

    try:
        shares = [float(x) for x in text.split(",")]
    except ValueError:
        shares = []
    if len(shares) not in (2, 3) or not all(0 <= x <= 1 for x in shares) or shares[0] <= 0:
        raise UsageError(
            f"--split {text!r}: expected 2 or 3 shares (train, val[, test]) like 0.7,0.15,0.15"
        )
    if abs(sum(shares) - 1) > 1e-6:
        raise UsageError(f"--split {text!r}: the shares add up to {sum(shares):g}, not 1")
    return shares


@app.command("curate")
def curate(
    input: Annotated[Path, typer.Argument(help="Labelled clips: a folder or a manifest.")],
    output: Annotated[
        Path,
        typer.Argument(
            help="The dataset folder: new or empty (or an earlier curation, with --resume or "
            "--overwrite)."
        ),
    ],
    dedup: Annotated[bool, typer.Option("--dedup", help="Drop near-duplicates.")] = False,
    fix_leakage: Annotated[
        bool, typer.Option("--fix-leakage", help="Keep duplicate groups on one side of splits.")
    ] = False,
    mine_hard: Annotated[
        bool, typer.Option("--mine-hard", help="Extra augmented copies of hard train clips.")
    ] = False,
    copies: Annotated[
        int, typer.Option("--copies", min=0, help="Augmented copies of every train clip.")
    ] = 0,
    hard_copies: Annotated[
        int, typer.Option("--hard-copies", min=0, help="Extra copies of each hard clip.")
    ] = 2,
    recipe: Recipe = "standard",
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="train,val[,test] shares, e.g. 0.7,0.15,0.15 (default: the input's split "
            "column, else 0.7,0.15,0.15). Source groups never straddle splits.",
        ),
    ] = None,
    label_errors: Annotated[
        LabelErrors,
        typer.Option(
            "--label-errors",
            help="Find clips whose label is likely wrong (out-of-fold predictions of the "
            "recommended model, duplicates kept together) and keep (list), drop or relabel "
            "them. Trains the model once per fold on cached features.",
        ),
    ] = LabelErrors.off,
    label_error_folds: Annotated[
        int, typer.Option("--label-error-folds", min=2, help="Folds of --label-errors.")
    ] = 5,
    seed: Seed = 0,
    embedder: Embedder = "mobilenet_v2",
    weights: Weights = None,
    offline: Offline = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Finish an interrupted curation in OUTPUT.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the curation in OUTPUT.")
    ] = False,
    as_json: AsJson = False,
) -> None:
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
        from vidaug.pipelines import curate as run

        fractions = None if split is None else _split_shares(split)
        rows = load_rows(input)  # read once: a bad input fails before the model loads
        frame_model = None
        if dedup or fix_leakage or mine_hard or label_errors is not LabelErrors.off:
            needed = embedder == "mobilenet_v2" or label_errors is not LabelErrors.off
            weights = require_weights(weights, offline, needed)
            frame_model = _load_embedder(embedder, weights, offline)
        with resumable(progress, output):
            res = run(
                input, output, dedup=dedup, fix_leakage=fix_leakage, mine_hard=mine_hard,
                copies=copies, hard_copies=hard_copies, recipe=recipe, split=fractions,
                seed=seed, embedder=frame_model, label_errors=label_errors.value,
                label_error_folds=label_error_folds, weights=weights, on_step=on_step,
                on_embed_start=progress.start, resume=resume, overwrite=overwrite, rows=rows,
                on_embed_clip=lambda cf: progress.advance(cf.row.rel if cf is not None else ""),
            )  # fmt: skip
    _show_curation(res, output, as_json)


def _load_embedder(embedder: str, weights: Path | None, offline: bool) -> Any:
    """Start TensorFlow (muted) and load the frame embedding model, with a spinner."""
    _quiet_tf()
    from vidaug.mining import load_embedder

    with err_console.status("loading the embedding model…"):
        return load_embedder(embedder, weights=weights, offline=offline)


def _label_error_line(res: Any, output: Path) -> str:
    """``label errors: 12 found (8 fight → noFight, 4 noFight → fight), dropped; …``."""
    errors = res.label_errors
    flips = Counter(f"{e['given']} → {e['suggested']}" for e in errors)
    how = ", ".join(f"{n} {k}" for k, n in flips.most_common())
    action = errors[0]["action"] if errors else res.options["label_errors"]
    return (
        f"label errors: {len(errors)} found"
        + (f" ({escape(how)}), {action}" if errors else "")
        + f"; gallery: vidaug report {escape(str(output / 'label_errors.jsonl'))}"
    )


def _show_curation(res: Any, output: Path, as_json: bool) -> None:
    """``curate``'s summary (or ``--json``), then its failures under two headings: clips left
    out of the dataset, and clips in it without all their augmented copies (exit 1)."""
    d = res.to_dict()
    if as_json:
        out_console.print_json(json.dumps(d, default=str))
    else:
        for sp, counts in d["counts"].items():
            out_console.print(f"{sp:>6}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        out_console.print(
            f"dropped {plural(len(res.dropped), 'duplicate')}, moved "
            f"{plural(len(res.moved), 'leaking clip')}, added "
            f"{plural(len(res.added), 'augmented copy', 'augmented copies')}; listed "
            f"{plural(len(res.label_suspects), 'label suspect')} and "
            f"{plural(len(res.label_conflicts), 'cross-label duplicate')}; see "
            f"{escape(str(output / 'curation.json'))}",
            soft_wrap=True,
        )
        if res.options.get("label_errors"):
            out_console.print(_label_error_line(res, output), soft_wrap=True)
    headings = (
        (res.failures, f"({len(res.failures)}, left out of the dataset)", "failed clips"),
        (res.copy_failures, f"({plural(len(res.copy_failures), 'clip')} in the dataset "
         "without all their augmented copies)", "failed copies"),
    )  # fmt: skip
    for failures, what, title in headings:
        if failures:
            err_console.print(f"[red]{title}[/red] {what}:")
            for _clip, msg in failures:
                err_console.print(f"  [red]✗[/red] {escape(msg)}", soft_wrap=True)
    if res.failures or res.copy_failures:
        raise typer.Exit(1)


@app.command("train")
def train(
    manifest: Annotated[
        Path, typer.Argument(help="A manifest or folder; the 'train' split (all clips if none).")
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="motion (frozen MobileNetV2 on RGB differences: motion, the recommended "
            "model), mobilenet_v2 (frozen, on the frames), seed (small CNN, 64 px, trained "
            "end to end) or a .keras model to train further.",
        ),
    ] = "motion",
    epochs: Annotated[
        int | None,
        typer.Option("--epochs", "-e", min=1, help="Epochs (default: 10 seed, 40 frozen)."),
    ] = None,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="Clips per batch.")] = 8,
    frames: Annotated[
        int, typer.Option("--frames", min=1, help="Frames (motion: frame pairs) per clip.")
    ] = 8,
    streams: Annotated[
        str | None,
        typer.Option(
            "--streams", help="rgb, diff or rgb,diff (default: diff for motion, rgb otherwise)."
        ),
    ] = None,
    pair_gap: Annotated[
        float, typer.Option("--pair-gap", min=0.001, help="Seconds between paired frames.")
    ] = 0.133,
    members: Annotated[
        int, typer.Option("--members", min=1, help="Frozen models: averaged heads (steadier).")
    ] = 5,
    recipe: Annotated[
        str | None,
        typer.Option(
            "--recipe", "-r", help=f"Augment train clips: {RECIPE_HELP[0].lower()}{RECIPE_HELP[1:]}"
        ),
    ] = None,
    views: Annotated[
        int,
        typer.Option(
            "--views",
            min=1,
            help="Frozen models with --recipe: augmented views per clip, embedded once; each "
            "epoch draws one.",
        ),
    ] = 4,
    tta: Annotated[
        int,
        typer.Option(
            "--tta", min=1, help="Test-time views `vidaug evaluate` averages (needs --recipe)."
        ),
    ] = 1,
    hook: Annotated[
        bool, typer.Option("--hook/--no-hook", help="Hard-sample mining callback.")
    ] = False,
    every: Annotated[int, typer.Option("--every", min=1, help="Hook period in epochs.")] = 1,
    hook_warmup: Annotated[
        int, typer.Option("--hook-warmup", min=0, help="Epochs before the hook acts.")
    ] = 0,
    hook_views: Annotated[
        HookViews,
        typer.Option("--hook-views", help="worst: train on each clip's hardest cached view."),
    ] = HookViews.random,
    seed: Seed = 0,
    decode_fps: DecodeFps = None,
    weights: Weights = None,
    offline: Offline = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the model.")] = Path(
        "model.keras"
    ),
    as_json: AsJson = False,
) -> None:
    """Train a Keras video classifier on the train split (validation on 'val' when present).

    Saves MODEL.keras and MODEL.keras.json (class names, input size, the workflow that ran,
    history, hook log).
    """
    with cli_errors():
        from vidaug.pipelines import build_for_training, plan_training, train_workflow

        plan = plan_training(manifest, model, {
            "streams": streams.split(",") if streams else None, "frames": frames,
            "pair_gap": pair_gap, "members": members, "epochs": epochs, "batch": batch,
            "recipe": recipe, "views": views, "tta": tta, "hook": hook,
            "hook_warmup": hook_warmup, "hook_views": hook_views.value, "fps": decode_fps,
        })  # fmt: skip
        weights = require_weights(weights, offline, plan.needs_weights)
        _quiet_tf()  # after the input and the weights: refused before TensorFlow starts
        with err_console.status("building the model…"):
            net, rec = build_for_training(plan, weights=weights, seed=seed)
        _announce_training(plan, net, rec)
        res, info = train_workflow(plan, net, rec, out=out, seed=seed, hook_every=every,
                                   callbacks=[_EpochLine(plan.config.resolved_epochs)],
                                   on_embed=clip_progress("embed").count)  # fmt: skip
    _show_training(res, info, out, as_json)


def _announce_training(plan: Any, net: Any, rec: Any) -> None:
    """``training motion on 80 clips, validating on 20, 2 classes, 40 epochs, …`` (stderr)."""
    err_console.print(
        f"training {escape(net.name)} on {len(plan.train_rows)} clips"
        + (f", validating on {len(plan.val_rows)}" if plan.val_rows else "")
        + f", {len(plan.names)} classes, {plan.config.resolved_epochs} epochs"
        + (f", recipe {escape(rec.name)}" if rec else "")
        + (", hard-sample hook on" if plan.config.hook else "")
    )


def _show_training(res: Any, info: dict[str, Any], out: Path, as_json: bool) -> None:
    """``train``'s summary (or ``--json``), then the clips it skipped (exit 1)."""
    summary = {"model": str(out), **{k: v for k, v in info.items() if k != "history"}}
    summary["final"] = {k: v[-1] for k, v in res.history.items()}
    if as_json:
        out_console.print_json(json.dumps(summary, default=str))
    else:
        out_console.print(
            f"saved {escape(str(out))} ({res.seconds:.1f} s, hook {res.hook_seconds:.2f} s; "
            f"workflow: {escape(info['workflow'])}); "
            + ", ".join(
                f"{k} {int(v) if k in _HOOK_COUNTS else f'{v:.3f}'}"
                for k, v in summary["final"].items()
                if "member_" not in k
            )
        )
    _exit_if_skipped(res.failures)


def _exit_if_skipped(failures: dict[str, str]) -> None:
    """After the results are out: list the clips that could not be read, exit 1."""
    if failures:
        err_console.print(f"[red]{len(failures)} clips could not be read and were skipped:[/red]")
        for msg in failures.values():
            err_console.print(f"  [red]skipped[/red] {escape(msg)}", soft_wrap=True)
        raise typer.Exit(1)


def _seeds(text: str) -> list[int]:
    """``--seeds`` as integers ≥ 0; else a usage error (exit 2, as for ``--split``)."""
    from vidaug.errors import UsageError

    try:
        seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--seeds {text!r}: expected integers like 0,1,2") from None
    if not seeds or min(seeds) < 0:
        raise UsageError(f"--seeds {text!r}: expected integers ≥ 0 like 0,1,2")
    return seeds


def _cv_text(summary: dict[str, Any]) -> str:
    lines = [f"workflow: {summary['config']}"]
    for key in ("accuracy", "macro_f1", "macro_recall"):
        v = summary[key]
        lines.append(f"  {key}: {v['mean']:.3f} ± {v['std']:.3f}  (seeds: {v['per_seed']})")
    lines.append(
        f"  seeds' averaged probabilities: accuracy {summary['seed_ensemble_accuracy']:.3f}"
    )
    return "\n".join(lines)


@app.command("evaluate")
def evaluate(
    model: ClassifierFile,
    manifest: LabelledClips,
    split: Annotated[
        str | None, typer.Option("--split", help="Evaluate this split (default: test if any).")
    ] = None,
    tta: Annotated[
        int | None,
        typer.Option(
            "--tta",
            min=1,
            help="Average over the clip and N−1 views augmented with the training recipe "
            "(default: as trained).",
        ),
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option(
            "--cv",
            min=2,
            help="k-fold cross-validation: retrain the model's workflow on group k-fold splits "
            "of all clips (a source group never on both sides).",
        ),
    ] = None,
    seeds: Seeds = "0",
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help="Epochs per fold (default: as trained).")
    ] = None,
    decode_fps: DecodeFps = None,
    weights: Weights = None,
    offline: Offline = False,
    out: OutJson = None,
    as_json: AsJson = False,
) -> None:
    """Accuracy, per-class precision / recall / F1, macro F1 and the confusion matrix."""
    with cli_errors():
        from vidaug.datasets import atomic_write_text, load_rows
        from vidaug.pipelines import model_class_names

        seed_list = _seeds(seeds) if cv is not None else []  # before anything starts
        rows = load_rows(manifest)
        _quiet_tf()  # the model itself needs TensorFlow
        from vidaug.training import format_report, load_with_meta

        net, meta = load_with_meta(model)
        names = model_class_names(meta, rows)
        if cv is None:
            from vidaug.pipelines import evaluate_workflow, plan_evaluation

            plan = plan_evaluation(rows, meta, source=manifest, split=split, tta=tta)
            with err_console.status(f"evaluating {len(plan.rows)} clips…"):
                report = evaluate_workflow(net, plan, names, fps=decode_fps)
            text = format_report(report)
        else:
            from vidaug.pipelines import cv_config

            config = cv_config(meta, epochs=epochs, fps=decode_fps, tta=tta)
            weights = require_weights(weights, offline, config.model != "seed")  # --cv retrains
            res = _run_cv(rows, config, cv, seed_list, names, weights)
            report = {"summary": res.summary(), "folds": [f.tolist() for f in res.folds]}
            text = _cv_text(report["summary"]) + f"\n({cv}-fold, groups kept within a fold)"
        if out is not None:
            atomic_write_text(out, json.dumps(report, indent=2, default=str))
    if as_json:
        out_console.print_json(json.dumps(report, default=str))
    else:
        out_console.print(escape(text))
    _exit_if_skipped(report.get("failures") or {})


def _run_cv(rows, config, k: int, seeds: list[int], names, weights, banks=None):
    from vidaug.pipelines import cross_validate

    labelled = [r for r in rows if r.label is not None]
    progress, fits = clip_progress("embed"), clip_progress("train", "models")
    try:
        return cross_validate(
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
    a: Annotated[
        str,
        typer.Option(
            "--workflow-a",
            "-a",
            help="Workflow A (the baseline): key=value words, e.g. 'model=motion', or a YAML "
            "file. Keys: model streams frames pair_gap members epochs batch recipe views tta "
            "hook hook_warmup hook_views fps.",
        ),
    ] = "model=motion",
    b: Annotated[
        str,
        typer.Option(
            "--workflow-b", "-b", help="Workflow B, e.g. 'model=motion recipe=camera tta=4'."
        ),
    ] = "model=motion recipe=camera views=4 tta=4",
    cv: Annotated[int, typer.Option("--cv", min=2, help="Group folds.")] = 5,
    seeds: Seeds = "0,1,2",
    weights: Weights = None,
    offline: Offline = False,
    out: OutJson = None,
    as_json: AsJson = False,
) -> None:
    """Does workflow B beat workflow A on cameras the model has never seen?

    Cross-validates both on the same group k-fold splits (a source video — the `group`
    column — is never on both sides) and seeds, and reports B − A paired clip by clip, with a
    95 % bootstrap interval over source groups. Frozen-backbone workflows embed each clip once
    for all folds and seeds.
    """
    with cli_errors():
        from vidaug.datasets import atomic_write_text, class_names, load_rows
        from vidaug.pipelines import compare_cv
        from vidaug.training import TrainConfig

        s = _seeds(seeds)  # a bad --seeds is refused before anything starts
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
        res = compare_cv(ra, rb)
        if out is not None:
            atomic_write_text(out, json.dumps(res, indent=2))
    if as_json:
        out_console.print_json(json.dumps(res))
        return
    d = res["diff"]
    out_console.print(escape(
        "A " + _cv_text(res["a"]) + "\nB " + _cv_text(res["b"]) + "\n"
        f"B − A accuracy: {d['mean']:+.3f}, 95 % CI [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] "
        f"(bootstrap over {res['groups']} source groups, {res['clips']} clips, "
        f"{len(s)} seeds); P(B better) {d['p_b_better']:.2f}"
    ))  # fmt: skip


@app.command("export")
def export(
    model: ClassifierFile,
    _tflite: Annotated[
        bool, typer.Option("--tflite", hidden=True, help="Accepted; TFLite is the only format.")
    ] = True,
    int8: Annotated[bool, typer.Option("--int8", help="Quantize the weights to int8.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output file (default: MODEL.tflite).")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="Compare accuracy with the Keras model on these clips."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split of --manifest to compare on.")] = (
        "test"
    ),
    as_json: AsJson = False,
) -> None:
    """Export a classifier for low-latency inference (TFLite), with its size and accuracy.

    The file appears at its path only when everything succeeded (the comparison with
    --manifest too): a failed export leaves nothing there.
    """
    with cli_errors():
        from vidaug.errors import UsageError

        if not model.is_file():
            raise UsageError(f"{model}: no such model file")
        rows = None
        if manifest is not None:
            from vidaug.datasets import load_rows
            from vidaug.pipelines import rows_in_split

            rows = rows_in_split(load_rows(manifest), split, manifest, whole_without_splits=True)
        _quiet_tf()
        from vidaug.datasets import atomic_path
        from vidaug.pipelines import model_class_names
        from vidaug.training import compare_tflite, export_tflite, load_with_meta

        net, meta = load_with_meta(model)
        dest = out or model.with_suffix(".int8.tflite" if int8 else ".tflite")
        with atomic_path(dest) as tmp:  # moved onto dest only when nothing below fails
            with err_console.status("converting…"):
                info = export_tflite(net, tmp, int8=int8, calibration_rows=rows)
            if rows is not None:
                with err_console.status("comparing accuracy…"):
                    info.update(compare_tflite(net, tmp, rows, model_class_names(meta, rows)))
        info["tflite"] = str(dest)
    if as_json:
        out_console.print_json(json.dumps(info, default=str))
        return
    line = f"wrote {escape(str(dest))}: {info['tflite_bytes'] / 1e6:.2f} MB"
    line += f" (Keras model {info['keras_params_bytes'] / 1e6:.2f} MB of float32 weights)"
    out_console.print(line)
    if "keras_accuracy" in info:
        out_console.print(
            f"accuracy on {info['clips']} clips: Keras {info['keras_accuracy']:.3f}, TFLite "
            f"{info['tflite_accuracy']:.3f} (agreement {info['agreement']:.3f}); latency "
            f"{info['tflite_ms_per_clip']:.1f} ms/clip (TFLite) vs "
            f"{info['keras_ms_per_clip']:.1f} ms/clip (Keras)"
        )
