"""What the jobs' results say to a person: the summaries ``vidaug`` prints, as lines of rich
markup (every name taken from the data escaped), and the wording rules they share (``plural``,
``human_size``, ``one_line``, ``os_error_line``). Nothing here prints: the CLI decides which
stream a line goes to, and ``--json`` prints the data instead.

Importing this module imports neither TensorFlow nor the other pipelines.
"""

from __future__ import annotations

import errno
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

__all__ = [
    "augment_lines",
    "compare_text",
    "curation_failure_lines",
    "curation_lines",
    "dedup_lines",
    "embed_line",
    "embed_summary",
    "epoch_logger",
    "evaluation_text",
    "export_lines",
    "failure_lines",
    "hard_lines",
    "human_size",
    "interrupted_line",
    "no_regions_note",
    "one_line",
    "os_error_line",
    "plural",
    "preview_lines",
    "recipes_listing",
    "search_tables",
    "skipped_lines",
    "training_announcement",
    "training_line",
    "training_summary",
    "unread_lines",
    "weights_dict",
    "weights_lines",
    "workflow_text",
    "workflows_listing",
]

#: Epoch-log entries of the hard-sample hook that are counts (Keras logs them as floats).
HOOK_COUNTS = ("hard_clips", "label_suspects", "reweighted")

#: The commands that embed or train with MobileNetV2 (and so read its weights file).
WEIGHTS_USERS = "embed, search, dedup, mine-hard, curate, train, evaluate --cv, compare"


def one_line(text: str) -> str:
    """``text`` as one line of printable text: line breaks and runs of blanks become one
    space, other control characters are dropped (a library's multi-line message, bytes of a
    damaged file)."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 clip``, ``2 clips`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def human_size(n: int) -> str:
    """A file size for people: ``512 B``, ``61.2 kB``, ``3.4 MB`` (powers of 1000)."""
    if n < 1000:
        return f"{n} B"
    size = float(n)
    for unit in ("kB", "MB", "GB"):
        size /= 1000
        if size < 999.95 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


_OS_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "not a directory",
}


def os_error_line(e: OSError) -> str:
    """One line for a failed file operation: why, then the file the user named (not vidaug's
    temporary file next to it): ``no space left on device: out/a__aug0.mp4``."""
    from vidaug.datasets import final_path

    reason = _OS_REASONS.get(e.errno or 0) or (e.strerror or type(e).__name__).lower()
    where = e.filename2 if e.filename2 is not None else e.filename
    if where is None:  # e.g. a write() that ran out of space
        return reason
    return f"{reason}: {final_path(os.fsdecode(where))}"


def _wrapped(markup: str) -> Group:
    """``markup`` word-wrapped at the terminal's width even where the lines around it are
    printed unwrapped (``soft_wrap``), as a plain ``print`` would wrap it."""
    text = Text.from_markup(markup, overflow="fold")
    text.no_wrap = False
    return Group(text)


def failure_lines(messages: Iterable[str], mark: str = "[red]✗[/red]") -> list[str]:
    """One indented line per failure message, after ``mark``."""
    return [f"  {mark} {escape(m)}" for m in messages]


def unread_lines(failed: list[tuple[str, str]]) -> list[Any]:
    """The clips a mining command could not read and left out (nothing when none)."""
    if not failed:
        return []
    were = "was" if len(failed) == 1 else "were"
    head = f"[red]{plural(len(failed), 'clip')} could not be read and {were} left out:[/red]"
    return [_wrapped(head), *failure_lines(m for _, m in failed)]


def skipped_lines(failures: dict[str, str]) -> list[str]:
    """The clips ``train`` / ``evaluate`` could not read (nothing when none)."""
    if not failures:
        return []
    head = f"[red]{len(failures)} clips could not be read and were skipped:[/red]"
    return [head, *failure_lines(failures.values(), "[red]skipped[/red]")]


def augment_lines(summary: Any) -> list[str]:
    """``augment``'s summary (an :class:`AugmentSummary`): the counts, its failures and where
    the outputs are."""
    color = "green" if summary.ok else "red"
    warnings = f", [yellow]{plural(len(summary.warnings), 'warning')}[/yellow]"
    done = (
        f"[{color}]done[/{color}]: {plural(summary.written, 'clip')} written from "
        f"{plural(summary.sources, 'source')} (recipe {summary.recipe}, {summary.seconds:.1f} s)"
        + (f", {summary.resumed} kept from the earlier run" if summary.resumed else "")
        + (warnings if summary.warnings else "")
        + (f", [red]{len(summary.failures)} failed[/red]" if summary.failures else "")
    )
    where = f"outputs: {escape(str(summary.output))}  manifest: {escape(str(summary.manifest))}"
    return [done, *failure_lines(msg for _clip, msg in summary.failures), where]


def embed_summary(rep: Any, out: Path) -> dict[str, Any]:
    """What ``embed --json`` prints of an :class:`EmbedReport` saved to ``out``."""
    ix = rep.index
    return {"index": str(out), "clips": len(ix), "frames": ix.n_frames, "embedded": rep.embedded,
            "reused": rep.reused, "failed": len(rep.failures), "model": ix.model_id,
            "dims": ix.dims, "kind": ix.kind}  # fmt: skip


def embed_line(rep: Any, out: Path) -> str:
    """``done: 12 clips (96 frames, 1280-d, flat) in ix; embedded 2, reused 10``."""
    ix, failed = rep.index, len(rep.failures)
    return (
        f"[green]done[/green]: {len(ix)} clips ({ix.n_frames} frames, {ix.dims}-d, {ix.kind}) in "
        f"{escape(str(out))}; embedded {rep.embedded}, reused {rep.reused}"
        + (f", [red]{failed} failed[/red]" if failed else "")
    )


def interrupted_line(kept: int, total: int, out: Path) -> str:
    """What a stopped ``embed`` kept in ``out`` (Ctrl-C, SIGTERM)."""
    return (
        f"[red]interrupted[/red]: kept {kept} of {plural(total, 'clip')} in "
        f"{escape(str(out))} (run the same command again to finish)"
    )


def search_tables(results: list[dict[str, Any]], name: str | None = None) -> list[Table]:
    """``search``'s tables, one per query clip (named ``name`` when the query is one video)."""
    tables = []
    for res in results:
        t = Table(title=f"nearest to {escape(name or res['query'])}", title_justify="left")
        for c in ("rank", "similarity", "label", "clip"):
            t.add_column(c)
        for r in res["hits"]:
            t.add_row(str(r["rank"]), f"{r['similarity']:.4f}", escape(str(r["label"])),
                      escape(r["id"]))  # fmt: skip
        tables.append(t)
    return tables


def dedup_lines(res: Any, rows: list[dict[str, Any]]) -> list[Any]:
    """``dedup``'s summary of a :class:`DedupResult` and its per-clip ``rows``: counts,
    relations, the first 50 groups and leaks."""
    from vidaug.report import relation_text

    s = res.summary()
    lines: list[Any] = [
        f"{plural(s['clips'], 'clip')}, {plural(s['pairs'], 'duplicate pair')} in "
        f"{plural(s['groups'], 'group')}: {plural(s['duplicates'], 'clip')} would be dropped, "
        f"{s['leaks']} leaking across splits"
    ]
    kinds = {k: v for k, v in s.get("relations", {}).items() if k != "copy_of"}
    extra = [f"{plural(v, 'pair')}: {k.replace('_', ' ')}" for k, v in kinds.items()]
    if s.get("implied"):  # listed because other pairs imply them (copies of one clip)
        extra.insert(0, f"{plural(s['implied'], 'pair')} implied by others")
    if res.related:
        n = len(res.related)
        extra.append(f"{plural(n, 'composite')} not counted as a copy of its background")
    if extra:
        lines.append("  " + "; ".join(extra))
    by_id = {r["id"]: r for r in rows}
    for g in res.groups[:50]:
        lines.append(_wrapped(f"  [bold]keep[/bold] {escape(g[0])}  [dim]drop[/dim] "
                              f"{escape(', '.join(g[1:]))}"))  # fmt: skip
        for cid in g:
            text = relation_text(by_id.get(cid, {}))
            if text and by_id[cid]["relation"] in ("inside", "contains", "overlaps"):
                lines.append(f"    [dim]{escape(cid)}: {escape(text)}[/dim]")
    for p in [p for p in res.pairs if p["is_leak"]][:50]:
        lines.append(_wrapped(f"  [red]leak[/red] {escape(p['a'])} ↔ {escape(p['b'])} "
                              f"({p['score']:.3f})"))  # fmt: skip
    return lines


def no_regions_note(index: Any) -> list[str]:
    """``dedup`` on an index without region embeddings: what it could not look for."""
    if index.region_emb is not None or len(index) < 2:
        return []
    return ["[dim]note: the index has no region embeddings, so clips shown inside other clips "
            "(picture-in-picture) were not looked for; embed with --regions[/dim]"]  # fmt: skip


def hard_lines(res: Any, rows: list[dict[str, Any]], top: int) -> list[Any]:
    """``mine-hard``'s table of the ``top`` hardest of the ranked ``rows``, then its counts."""
    t = Table(title=f"hardest {min(top, len(rows))} of {len(rows)} clips", title_justify="left")
    for c in ("hard", "label", "seen as", "flags", "clip"):
        t.add_column(c)
    for r in rows[:top]:
        on = (("label-suspect", r["is_label_suspect"]), ("outlier", r["is_outlier"]),
              ("hard", r["is_hard"]))  # fmt: skip
        t.add_row(f"{r['hard_score']:.2f}", escape(str(r["label"])), escape(str(r["predicted"])),
                  " ".join(f for f, flag in on if flag), escape(r["id"]))  # fmt: skip
    s = res.summary()
    return [t, f"{s['hard']} hard, {plural(s['label_suspects'], 'label suspect')}, "
               f"{plural(s['outliers'], 'outlier')}"]  # fmt: skip


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


def curation_lines(res: Any, output: Path) -> list[str]:
    """``curate``'s summary (a :class:`CurationResult` written to ``output``): clips per split
    and class, what was dropped, moved, added and listed, the label errors."""
    counts = res.to_dict()["counts"]
    lines = [f"{sp:>6}: " + ", ".join(f"{k} {v}" for k, v in c.items()) for sp, c in counts.items()]
    lines.append(
        f"dropped {plural(len(res.dropped), 'duplicate')}, moved "
        f"{plural(len(res.moved), 'leaking clip')}, added "
        f"{plural(len(res.added), 'augmented copy', 'augmented copies')}; listed "
        f"{plural(len(res.label_suspects), 'label suspect')} and "
        f"{plural(len(res.label_conflicts), 'cross-label duplicate')}; see "
        f"{escape(str(output / 'curation.json'))}"
    )
    if res.options.get("label_errors"):
        lines.append(_label_error_line(res, output))
    return lines


def curation_failure_lines(res: Any) -> list[str]:
    """``curate``'s failures under two headings: clips left out of the dataset, and clips in
    it without all their augmented copies (nothing when none)."""
    headings = (
        (res.failures, f"({len(res.failures)}, left out of the dataset)", "failed clips"),
        (res.copy_failures, f"({plural(len(res.copy_failures), 'clip')} in the dataset "
         "without all their augmented copies)", "failed copies"),
    )  # fmt: skip
    lines: list[str] = []
    for failures, what, title in headings:
        if failures:
            lines += [f"[red]{title}[/red] {what}:", *failure_lines(m for _clip, m in failures)]
    return lines


def epoch_logger(epochs: int, say: Callable[[str], None]) -> Any:
    """A Keras callback that calls ``say`` with one line per epoch: ``epoch 3/40  loss 0.412
    accuracy 0.850 …  hook: 4 hard, 1 suspects``."""
    import keras

    class EpochLine(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            parts = [f"epoch {epoch + 1}/{epochs}"]
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                if key in logs:
                    parts.append(f"{key} {logs[key]:.3f}")
            if "hard_clips" in logs:
                hard, suspects = int(logs["hard_clips"]), int(logs["label_suspects"])
                parts.append(f"hook: {hard} hard, {suspects} suspects")
            say("  ".join(parts))

    return EpochLine()


def workflow_text(plan: Any) -> str:
    """``recommended model=motion recipe=motion`` (``continued m.keras with …``) for a
    :class:`TrainPlan`."""
    text = plan.config.describe()
    return f"continued {plan.model} with {text}" if plan.from_file else text


def training_announcement(plan: Any, net: Any, rec: Any) -> str:
    """``training motion on 80 clips, validating on 20, 2 classes, 40 epochs, …``."""
    return (
        f"training {escape(net.name)}"
        + (f" (workflow {plan.config.workflow})" if plan.config.workflow else "")
        + f" on {len(plan.train_rows)} clips"
        + (f", validating on {len(plan.val_rows)}" if plan.val_rows else "")
        + f", {len(plan.names)} classes, {plan.config.resolved_epochs} epochs"
        + (f", recipe {escape(rec.name)}" if rec else "")
        + (", hard-sample hook on" if plan.config.hook else "")
    )


def training_summary(res: Any, info: dict[str, Any], out: Path) -> dict[str, Any]:
    """What ``train --json`` prints: the model file, its sidecar less the history, and the
    last epoch's logs (``final``)."""
    summary = {"model": str(out), **{k: v for k, v in info.items() if k != "history"}}
    summary["final"] = {k: v[-1] for k, v in res.history.items()}
    return summary


def training_line(res: Any, summary: dict[str, Any], what: str) -> str:
    """``saved model.keras (12.3 s, hook 0.00 s; workflow: …); loss 0.123, accuracy …``."""
    final = ", ".join(
        f"{k} {int(v) if k in HOOK_COUNTS else f'{v:.3f}'}"
        for k, v in summary["final"].items()
        if "member_" not in k
    )
    return (
        f"saved {escape(summary['model'])} ({res.seconds:.1f} s, hook {res.hook_seconds:.2f} s; "
        f"workflow: {escape(what)}); {final}"
    )


def _cv_text(summary: dict[str, Any]) -> str:
    lines = [f"workflow: {summary['config']}"]
    for key in ("accuracy", "macro_f1", "macro_recall"):
        v = summary[key]
        lines.append(f"  {key}: {v['mean']:.3f} ± {v['std']:.3f}  (seeds: {v['per_seed']})")
    lines.append(
        f"  seeds' averaged probabilities: accuracy {summary['seed_ensemble_accuracy']:.3f}"
    )
    return "\n".join(lines)


def evaluation_text(report: dict[str, Any], cv: int | None = None) -> str:
    """``evaluate``'s report: the metrics of one model, or of ``cv``-fold cross-validation
    (``{"summary", "folds"}``)."""
    if cv is None:
        from vidaug.training import format_report

        return escape(format_report(report))
    return escape(_cv_text(report["summary"]) + f"\n({cv}-fold, groups kept within a fold)")


def compare_text(res: dict[str, Any], seeds: int) -> str:
    """``compare``'s report (:func:`compare_cv`'s dict): both workflows, then B − A with its
    interval."""
    d = res["diff"]
    return escape(
        "A " + _cv_text(res["a"]) + "\nB " + _cv_text(res["b"]) + "\n"
        f"B − A accuracy: {d['mean']:+.3f}, 95 % CI [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] "
        f"(bootstrap over {res['groups']} source groups, {res['clips']} clips, "
        f"{seeds} seeds); P(B better) {d['p_b_better']:.2f}"
    )


def export_lines(info: dict[str, Any]) -> list[str]:
    """``export``'s summary: the file and its size, then the accuracy comparison if any."""
    lines = [
        f"wrote {escape(info['tflite'])}: {info['tflite_bytes'] / 1e6:.2f} MB (Keras model "
        f"{info['keras_params_bytes'] / 1e6:.2f} MB of float32 weights)"
    ]
    if "keras_accuracy" in info:
        lines.append(
            f"accuracy on {info['clips']} clips: Keras {info['keras_accuracy']:.3f}, TFLite "
            f"{info['tflite_accuracy']:.3f} (agreement {info['agreement']:.3f}); latency "
            f"{info['tflite_ms_per_clip']:.1f} ms/clip (TFLite) vs "
            f"{info['keras_ms_per_clip']:.1f} ms/clip (Keras)"
        )
    return lines


def preview_lines(res: Any) -> tuple[str, list[str]]:
    """``preview``'s summary of a :class:`PreviewResult`: the file written, and one line per
    copy with the transforms applied."""
    what = "frames" if res.frames > 1 else "image"
    wrote = (
        f"[green]wrote[/green] {escape(str(res.path))}: {res.kind} {res.width}x{res.height}"
        + (f", {res.frames} {what}" if res.frames > 1 else "")
        + f"; {len(res.copies)} copies of {res.source_frames} frames, recipe {escape(res.recipe)}"
    )
    copies = [
        f"  #{k} seed {c['seed']}: {escape(' | '.join(c['applied']) or 'nothing applied')}"
        for k, c in enumerate(res.copies, 1)
    ]
    return wrote, copies


def recipes_listing(presets: list[Any], transforms: list[dict[str, Any]]) -> list[Any]:
    """``vidaug recipes``: a table of the presets, then every transform with its arguments
    (rich renderables, one per line)."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title="Presets (--recipe NAME)", title_justify="left")
    t.add_column("name", style="bold")
    t.add_column("description")
    for r in presets:
        t.add_row(r.name, r.description)
    lines: list[Any] = [t, ""]
    lines.append(
        "[bold]Transforms[/bold] (recipe entries: {name: NAME, arg: value, ...}; any "
        "albumentations image transform as albumentations.<Name>)"
    )
    for d in transforms:
        kind = f"[dim]({d['kind']})[/dim]"
        lines.append(f"\n[bold cyan]{d['name']}[/bold cyan] {kind}  {escape(d['summary'])}")
        for a in d["args"]:
            default = escape(json.dumps(a["default"]))
            hint = f"  [dim]{escape(a['help'])}[/dim]" if a["help"] else ""
            line = f"    {a['name']} = {default}  [cyan]{escape(a['type'])}[/cyan]{hint}"
            lines.append(Text.from_markup(line, overflow="fold"))
    return lines


def workflows_listing(named: list[dict[str, Any]]) -> list[str]:
    """``vidaug workflows``: one line per named workflow, its name and description."""
    width = max(len(w["name"]) for w in named)
    return [f"[bold]{w['name']:<{width}}[/bold]  {escape(w['description'])}" for w in named]


def weights_dict(info: Any, fetched: bool) -> dict[str, Any]:
    """``vidaug weights --json``: a :class:`WeightsInfo` and where Keras keeps its copy."""
    from vidaug.mining import WEIGHTS_URL, keras_cache_file

    return {
        "file": str(info.path),
        "source": info.source,
        "exists": info.exists,
        "fetched": fetched,
        "size": info.size,
        "sha256": info.sha256,
        "md5": info.md5,
        "known": info.known is not None,
        "known_as": info.known.what if info.known else None,
        "loads": info.loads,
        "error": info.error,
        "url": WEIGHTS_URL,
        "keras_cache": str(keras_cache_file()),
    }


def weights_lines(info: Any, fetched: bool) -> list[str]:
    """``vidaug weights``: file, size, digest, known or not, loads or not."""
    where = f"{escape(str(info.path))} [dim]({info.source})[/dim]"
    head = f"MobileNetV2 ImageNet weights ({WEIGHTS_USERS}):"
    if not info.exists:
        return [head, f"  file    {where}: [red]missing[/red]"]
    ok = "[green]yes[/green]: MobileNetV2 1.0/224 no-top builds, every weight has its shape"
    known = "[yellow]not a known digest[/yellow] (loading it below is the check)"
    if info.known:
        known = f"[green]known[/green]: {escape(info.known.what)}"
    return [
        head,
        f"  file    {where}" + (" [green]fetched[/green]" if fetched else ""),
        f"  size    {human_size(info.size or 0)} ({info.size} bytes)",
        f"  sha256  {info.sha256}",
        f"  digest  {known}",
        f"  loads   {ok if info.loads else '[red]no[/red]'}",
    ]
