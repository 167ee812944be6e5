"""``vidaug curate / train / evaluate / export``: curated data into a Keras video classifier."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from vidaug.cli._app import app, cli_errors, clip_progress, err_console, out_console

AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
Fps = Annotated[
    float | None,
    typer.Option("--fps", min=0.1, help="Decode clips at this frame rate (less memory)."),
]
Weights = Annotated[
    Path | None,
    typer.Option("--weights", help="MobileNetV2 weights .h5 (offline); or set VIDAUG_WEIGHTS."),
]


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


def _rows_of(manifest: Path, split: str | None):
    from vidaug.datasets import load_rows
    from vidaug.errors import VidaugError

    rows = load_rows(manifest)
    if split is None:
        return rows
    picked = [r for r in rows if r.split == split]
    if not picked:
        have = sorted({str(r.split) for r in rows})
        raise VidaugError(f"{manifest}: no clips in split {split!r} (splits: {', '.join(have)})")
    return picked


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


@app.command("curate")
def curate(
    input: Annotated[Path, typer.Argument(help="Labelled clips: a folder or a manifest.")],
    output: Annotated[Path, typer.Argument(help="New dataset folder (must not exist).")],
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
    recipe: Annotated[
        str, typer.Option("--recipe", "-r", help="Preset or YAML recipe for the copies.")
    ] = "standard",
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="train,val[,test] shares, e.g. 0.7,0.15,0.15 (default: the input's split "
            "column, else 0.7,0.15,0.15). Source groups never straddle splits.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Split and augmentation seed.")] = 0,
    model: Annotated[
        str, typer.Option("--model", help="Embedding model: mobilenet_v2 or a .keras model.")
    ] = "mobilenet_v2",
    weights: Weights = None,
    as_json: AsJson = False,
) -> None:
    """Build a curated dataset: leakage-free splits, duplicates dropped, hard clips oversampled.

    Writes OUTPUT/<split>/..., OUTPUT/manifest.jsonl and OUTPUT/curation.json (what was
    dropped, moved and added, and why). Only the train split is augmented.
    """
    from vidaug.errors import VidaugError

    with cli_errors():
        fractions = None
        if split is not None:
            try:
                fractions = [float(x) for x in split.split(",")]
            except ValueError:
                raise VidaugError(
                    f"--split {split!r}: expected numbers like 0.7,0.15,0.15"
                ) from None
        embedder = None
        if dedup or fix_leakage or mine_hard:
            from vidaug.datasets import load_rows

            load_rows(input)  # a bad input fails before the model loads
            _quiet_tf()
            from vidaug.mining import load_embedder

            with err_console.status("loading the embedding model…"):
                embedder = load_embedder(model, weights=weights)
        from vidaug.training._curate import curate as run

        progress = clip_progress("embed")

        def on_clip(cf) -> None:
            progress.advance(cf.row.rel if cf is not None else "")

        def on_step(msg: str) -> None:
            progress.stop()
            err_console.print(f"[bold]{escape(msg)}[/bold]…")

        try:
            res = run(
                input, output, dedup=dedup, fix_leakage=fix_leakage, mine_hard=mine_hard,
                copies=copies, hard_copies=hard_copies, recipe=recipe, split=fractions,
                seed=seed, embedder=embedder, on_step=on_step, on_embed_start=progress.start,
                on_embed_clip=on_clip,
            )  # fmt: skip
        finally:
            progress.stop()
    d = res.to_dict()
    if as_json:
        out_console.print_json(json.dumps(d, default=str))
    else:
        for sp, counts in d["counts"].items():
            out_console.print(f"{sp:>6}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        out_console.print(
            f"dropped {len(res.dropped)} duplicates, moved {len(res.moved)} leaking clips, "
            f"added {len(res.added)} augmented copies; listed {len(res.label_suspects)} label "
            f"suspects and {len(res.label_conflicts)} cross-label duplicates; see "
            f"{escape(str(output / 'curation.json'))}"
        )
    for _clip, msg in res.failures:
        err_console.print(f"  [red]✗[/red] {escape(msg)}", soft_wrap=True)
    if res.failures:
        raise typer.Exit(1)


@app.command("train")
def train(
    manifest: Annotated[
        Path, typer.Argument(help="A manifest or folder; the 'train' split (all clips if none).")
    ],
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="seed (small CNN, 64 px), mobilenet_v2 or a .keras."),
    ] = "seed",
    epochs: Annotated[int, typer.Option("--epochs", "-e", min=1, help="Epochs.")] = 10,
    batch: Annotated[int, typer.Option("--batch", "-b", min=1, help="Clips per batch.")] = 8,
    frames: Annotated[int, typer.Option("--frames", min=1, help="Frames per clip.")] = 8,
    recipe: Annotated[
        str | None,
        typer.Option("--recipe", "-r", help="Augment train clips on the fly (preset or YAML)."),
    ] = None,
    hook: Annotated[
        bool, typer.Option("--hook/--no-hook", help="Hard-sample mining callback.")
    ] = True,
    every: Annotated[int, typer.Option("--every", min=1, help="Hook period in epochs.")] = 1,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed (init, order, params).")] = 0,
    fps: Fps = None,
    weights: Weights = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to save the model.")] = Path(
        "model.keras"
    ),
    as_json: AsJson = False,
) -> None:
    """Train a Keras video classifier on the train split (validation on 'val' when present).

    Saves MODEL.keras and MODEL.keras.json (class names, input size, history, hook log).
    """
    _quiet_tf()
    with cli_errors():
        from vidaug.datasets import load_rows, require_labels
        from vidaug.errors import VidaugError

        rows = load_rows(manifest)
        with_split = any(r.split for r in rows)
        train_rows = [r for r in rows if r.split == "train"] if with_split else rows
        val_rows = [r for r in rows if r.split == "val"] if with_split else []
        if not train_rows:
            raise VidaugError(f"{manifest}: the train split is empty")
        require_labels(train_rows, "training")
        names = sorted({str(r.label) for r in train_rows})
        rec = None
        if recipe is not None:
            from vidaug.augment import load_recipe

            rec = load_recipe(recipe)
        from vidaug.training import build_model, load_classifier, save_classifier, train_model

        with err_console.status("building the model…"):
            if model.endswith(".keras"):
                net = load_classifier(model)
            else:
                if len(names) < 2:
                    raise VidaugError(
                        f"training needs at least 2 classes, the train split has {names}"
                    )
                net = build_model(model, len(names), frames=frames, weights=weights, seed=seed)
        err_console.print(
            f"training {escape(net.name)} on {len(train_rows)} clips"
            + (f", validating on {len(val_rows)}" if val_rows else "")
            + f", {len(names)} classes, {epochs} epochs"
            + (f", recipe {escape(rec.name)}" if rec else "")
            + (", hard-sample hook on" if hook else "")
        )
        log_path = out.with_name(out.name + ".hook.jsonl") if hook else None
        if log_path is not None and log_path.exists():
            log_path.unlink()
        res = train_model(
            net, train_rows, val_rows=val_rows or None, class_names=names, epochs=epochs,
            batch_size=batch, recipe=rec.transform if rec else None, hook=hook,
            hook_every=every, seed=seed, fps=fps, log_path=log_path,
            callbacks=[_EpochLine(epochs)],
        )  # fmt: skip
        info: dict[str, Any] = {
            "class_names": res.class_names,
            "model": model,
            "epochs": epochs,
            "batch": batch,
            "recipe": rec.name if rec else None,
            "hook": hook,
            "seed": seed,
            "fps": fps,
            "train_clips": len(train_rows),
            "history": res.history,
            "seconds": round(res.seconds, 2),
            "hook_seconds": round(res.hook_seconds, 3),
            "failures": res.failures,
        }
        save_classifier(res.model, out, info)
    summary = {"model": str(out), **{k: v for k, v in info.items() if k != "history"}}
    summary["final"] = {k: v[-1] for k, v in res.history.items()}
    if as_json:
        out_console.print_json(json.dumps(summary, default=str))
    else:
        out_console.print(
            f"saved {escape(str(out))} ({res.seconds:.1f} s, hook {res.hook_seconds:.2f} s); "
            + ", ".join(f"{k} {v:.3f}" for k, v in summary["final"].items())
        )
    for _clip, msg in res.failures.items():
        err_console.print(f"  [red]skipped[/red] {escape(msg)}", soft_wrap=True)


@app.command("evaluate")
def evaluate(
    model: Annotated[Path, typer.Argument(help="A .keras model saved by `vidaug train`.")],
    manifest: Annotated[Path, typer.Argument(help="A manifest or folder of labelled clips.")],
    split: Annotated[
        str | None, typer.Option("--split", help="Evaluate this split (default: test if any).")
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option(
            "--cv",
            min=2,
            help="k-fold cross-validation: retrain the model's architecture k "
            "times on group-stratified folds of all clips.",
        ),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help="Epochs per fold (default: as trained).")
    ] = None,
    fps: Fps = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the metrics as JSON here.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Accuracy, per-class precision / recall / F1, macro F1 and the confusion matrix."""
    _quiet_tf()
    with cli_errors():
        from vidaug.datasets import atomic_write_text, load_rows
        from vidaug.errors import VidaugError
        from vidaug.training import evaluate_model, format_report, load_with_meta

        rows = load_rows(manifest)
        net, meta = load_with_meta(model)
        names = meta.get("class_names") or sorted({str(r.label) for r in rows if r.label})
        if cv is None:
            if split is None and any(r.split == "test" for r in rows):
                split = "test"
            eval_rows = _rows_of(manifest, split) if split else rows
            report = evaluate_model(net, eval_rows, names, fps=fps)
            report["split"] = split
            text = format_report(report)
        else:
            report = _cross_validate(rows, meta, names, cv, epochs, fps)
            text = (
                "\n".join(
                    f"{k}: {v['mean']:.3f} ± {v['std']:.3f}"
                    for k, v in report["summary"].items()
                    if isinstance(v, dict)
                )
                + f"\n({cv}-fold, groups kept within a fold)"
            )
        if not report.get("n", 1) and cv is None:
            raise VidaugError("no clip could be evaluated")
        if out is not None:
            atomic_write_text(out, json.dumps(report, indent=2, default=str))
    if as_json:
        out_console.print_json(json.dumps(report, default=str))
    else:
        out_console.print(escape(text))
    for msg in report.get("failures", {}).values():
        err_console.print(f"  [red]skipped[/red] {escape(msg)}", soft_wrap=True)


def _cross_validate(rows, meta: dict, names: list[str], k: int, epochs, fps) -> dict[str, Any]:
    from vidaug.errors import VidaugError
    from vidaug.training import (
        build_model,
        evaluate_model,
        group_kfold,
        summarize_folds,
        train_model,
    )

    kind = meta.get("model")
    if kind not in ("seed", "mobilenet_v2"):
        raise VidaugError(
            "--cv retrains the model's architecture: it needs a model trained by `vidaug train "
            "--model seed|mobilenet_v2` (its .keras.json sidecar names it)"
        )
    rows = [r for r in rows if r.label is not None]
    groups = [r.extra.get("group", r.rel) for r in rows]
    try:
        folds = group_kfold([r.label for r in rows], groups, k, seed=int(meta.get("seed", 0)))
    except ValueError as e:
        raise VidaugError(str(e)) from None
    reports = []
    for f, test_idx in enumerate(folds):
        test = set(int(i) for i in test_idx)
        tr = [r for i, r in enumerate(rows) if i not in test]
        te = [rows[i] for i in sorted(test)]
        net = build_model(
            kind, len(names), frames=int(meta.get("frames", 8)), seed=int(meta.get("seed", 0))
        )
        err_console.print(f"fold {f + 1}/{k}: train {len(tr)}, test {len(te)}")
        res = train_model(
            net, tr, class_names=names, epochs=epochs or int(meta.get("epochs", 10)),
            batch_size=int(meta.get("batch", 8)), hook=bool(meta.get("hook", False)),
            seed=int(meta.get("seed", 0)), fps=fps,
        )  # fmt: skip
        reports.append(evaluate_model(res.model, te, names, fps=fps))
    return {"folds": reports, "summary": summarize_folds(reports)}


@app.command("export")
def export(
    model: Annotated[Path, typer.Argument(help="A .keras model saved by `vidaug train`.")],
    tflite: Annotated[bool, typer.Option("--tflite", help="Export a TFLite model.")] = False,
    int8: Annotated[
        bool, typer.Option("--int8", help="Quantize weights to int8 (with --tflite).")
    ] = False,
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
    """Export a classifier for low-latency inference (TFLite), with its size and accuracy."""
    _quiet_tf()
    if not tflite:
        raise typer.BadParameter("choose a format: --tflite", param_hint="--tflite")
    with cli_errors():
        from vidaug.training import load_with_meta
        from vidaug.training._export import compare_tflite, export_tflite

        net, meta = load_with_meta(model)
        dest = out or model.with_suffix(".int8.tflite" if int8 else ".tflite")
        rows = None
        if manifest is not None:
            from vidaug.datasets import load_rows

            all_rows = load_rows(manifest)
            rows = [r for r in all_rows if r.split == split] or (
                all_rows if not any(r.split for r in all_rows) else None
            )
            if rows is None:
                from vidaug.errors import VidaugError

                raise VidaugError(f"{manifest}: no clips in split {split!r}")
        with err_console.status("converting…"):
            info = export_tflite(net, dest, int8=int8, calibration_rows=rows)
        if rows is not None:
            names = meta.get("class_names") or sorted({str(r.label) for r in rows})
            with err_console.status("comparing accuracy…"):
                info.update(compare_tflite(net, dest, rows, names))
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
