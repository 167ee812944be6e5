"""``curate``: a leakage-free, de-duplicated, hard-sample-enriched dataset folder.

Steps, each recorded in ``curation.json`` with its reason:

1. rows from any input (folder, manifest, file); every clip needs a label;
2. with ``dedup`` / ``fix_leakage`` / ``mine_hard`` / ``label_errors``: embed the clips (cached
   index in ``OUTPUT/.vidaug-index``) and find duplicate groups
   (:func:`vidaug.mining.find_duplicates`);
2b. ``label_errors``: the recommended workflow's out-of-fold probabilities (folds keep
   duplicates and source groups together) find clips whose label is likely wrong
   (:func:`vidaug.pipelines.find_dataset_label_errors`, confident learning); each is kept,
   dropped or relabelled, duplicates under two labels resolved by the same probabilities;
3. splits: with ``split`` fractions, a stratified split in which a source group (the manifest's
   ``group`` column) and a duplicate group never straddle two splits; without, the input's
   ``split`` column, and ``fix_leakage`` moves every duplicate group that straddles splits to
   the split of its kept clip;
4. ``dedup`` drops every duplicate but the group's representative (a duplicate with another
   label than the representative is kept and listed under ``label_conflicts``);
5. ``mine_hard`` scores the train clips (:func:`vidaug.mining.score_hardness`); hard clips get
   extra augmented copies (``hard_copies`` per hard clip in all, shared among the classes by
   their size, so the class balance stays), label suspects get none and are listed;
6. originals are copied to ``OUTPUT/<split>/<rel>``, train clips get ``copies`` augmented copies
   (``OUTPUT/train/<dir>/<stem>__aug<k>.mp4``; only the train split is ever augmented);
7. ``OUTPUT/manifest.jsonl`` (one row per clip: path, label, split, source, group, kind,
   hard, ...) and ``OUTPUT/curation.json``.

Each step is one function over a :class:`_State` (the rows still in, their splits, the
duplicate groups), in the order above, driven by a :class:`CurationPlan`.

OUTPUT is a :class:`~vidaug.datasets.JobDir`, as ``augment``'s: marked before step 2, each file
verified, listed, renamed into place and journalled as it is written, so ``resume`` redoes
exactly the files that are missing or damaged and ``overwrite`` removes exactly what an earlier
(maybe killed) curation wrote.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vidaug._json import to_jsonable
from vidaug.augment import RecipeLike, as_recipe
from vidaug.datasets import (
    JobDir,
    ManifestRow,
    atomic_write_text,
    check_output_outside_input,
    copy_verified,
    load_rows,
    output_lock,
    read_clip,
    require_labels,
    temp_path,
)
from vidaug.errors import UsageError, VidaugError, VideoReadError
from vidaug.pipelines._augment import AugmentJob, _inside, augment_row, output_relpath
from vidaug.pipelines._label_errors import DEFAULT_LABEL_ERROR_WORKFLOW, group_components

__all__ = ["CurationPlan", "CurationResult", "curate"]

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.jsonl"
#: The label-error table (``vidaug report`` renders it) and its sidecar, in OUTPUT.
LABEL_ERROR_FILES = ("label_errors.jsonl", "label_errors.meta.json")


@dataclass
class CurationResult:
    """What :func:`curate` did (the content of ``curation.json``).

    ``failures`` are clips left out of the dataset (they do not decode or embed);
    ``copy_failures`` are clips in the dataset whose augmented copies could not all be made.
    """

    output: Path
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    label_suspects: list[dict[str, Any]] = field(default_factory=list)
    label_conflicts: list[dict[str, Any]] = field(default_factory=list)
    label_errors: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    copy_failures: list[tuple[str, str]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "options": self.options,
            "counts": self.counts,
            "dropped": self.dropped,
            "moved": self.moved,
            "added": self.added,
            "label_suspects": self.label_suspects,
            "label_conflicts": self.label_conflicts,
            "label_errors": self.label_errors,
            "failures": [{"clip": c, "error": m} for c, m in self.failures],
            "copy_failures": [{"clip": c, "error": m} for c, m in self.copy_failures],
            "seconds": round(self.seconds, 3),
        }


def _parse_split(split: Sequence[float]) -> list[float]:
    frac = [float(x) for x in split]
    if len(frac) not in (2, 3) or any(x < 0 for x in frac) or sum(frac) <= 0 or frac[0] <= 0:
        raise VidaugError(f"split must be 2 or 3 shares ≥ 0 (train > 0), got {list(split)}")
    return frac


def _unreadable(rows: list[ManifestRow], on_clip: Callable[[Any], None] | None) -> dict[str, str]:
    """``{rel: reason}`` for clips that do not decode to the end (missing, not a video, empty,
    truncated): such a file must never be copied into a curated dataset. Every frame is
    decoded (grabbed) once; only the first is converted."""
    bad = {}
    for r in rows:
        try:
            read_clip(r.path, select=lambda n, fps: [0])
        except VideoReadError as e:
            bad[r.rel] = str(e)
        except Exception as e:  # noqa: BLE001 - a decoder surprise is a bad clip, not a crash
            bad[r.rel] = f"{r.path}: unreadable ({type(e).__name__}: {e})"
        if on_clip is not None:
            on_clip(None)
    return bad


def _balanced_extra_copies(
    scored: list[dict[str, Any]], hard: dict[str, float], hard_copies: int
) -> dict[str, int]:
    """Extra augmented copies per train clip that oversample hard clips *without* changing
    the class balance: the budget (``hard_copies`` × hard clips) is shared among the classes
    in proportion to their size, and each class spends its share on its hard clips, hardest
    first (on its hardest-scored clips when it has none). Label suspects get none."""
    budget = hard_copies * len(hard)
    if not budget:
        return {}
    by_class: dict[str, list[dict[str, Any]]] = {}
    for s in scored:
        by_class.setdefault(str(s["label"]), []).append(s)
    total = sum(len(v) for v in by_class.values())
    extra: dict[str, int] = {}
    for members in by_class.values():
        share = round(budget * len(members) / total)
        ranked = sorted((s for s in members if not s["is_label_suspect"]),
                        key=lambda s: -float(s["hard_score"]))  # fmt: skip
        pool = [s["id"] for s in ranked if s["id"] in hard]
        if not pool:
            pool = [s["id"] for s in ranked[: max(1, -(-share // max(hard_copies, 1)))]]
        for j in range(share if pool else 0):
            extra[pool[j % len(pool)]] = extra.get(pool[j % len(pool)], 0) + 1
    return extra


LabelErrorAction = Literal["off", "keep", "drop", "relabel"]
#: What ``label_errors`` does with each label error found.
_ACTIONS = {"keep": "kept", "drop": "dropped", "relabel": "relabelled"}


@dataclass(frozen=True)
class CurationPlan:
    """What one curation was asked to do (the settings of :func:`curate`, recorded in the
    OUTPUT's mark so that ``resume`` continues only the same curation).

    Attributes:
        dedup, fix_leakage, mine_hard, copies, hard_copies, recipe, split, seed,
        dedup_config, k: as :func:`curate` takes them.
        label_errors: ``off``, or what to do with each label error: ``keep`` (list it),
            ``drop`` (leave the clip out) or ``relabel`` (give it the suggested label).
        label_error_folds: folds of the out-of-fold probabilities that find them.
        workflow: the training workflow whose out-of-fold probabilities judge the labels.
    """

    dedup: bool = False
    fix_leakage: bool = False
    mine_hard: bool = False
    copies: int = 0
    hard_copies: int = 2
    recipe: RecipeLike = "standard"
    split: Sequence[float] | None = None
    seed: int = 0
    dedup_config: Any = None
    k: int = 10
    label_errors: LabelErrorAction = "off"
    label_error_folds: int = 5
    workflow: str = DEFAULT_LABEL_ERROR_WORKFLOW

    @property
    def embeds(self) -> bool:
        """Whether the clips are embedded and grouped into duplicates (step 2)."""
        return self.dedup or self.fix_leakage or self.mine_hard or self.label_errors != "off"

    def check(self) -> None:
        if self.copies < 0 or self.hard_copies < 0:
            raise VidaugError("copies and hard_copies must be ≥ 0")
        if self.label_errors not in ("off", *_ACTIONS):
            raise UsageError(
                f"label_errors must be off, keep, drop or relabel, got {self.label_errors!r}"
            )
        if self.label_error_folds < 2:
            raise UsageError(f"label_error_folds must be ≥ 2, got {self.label_error_folds}")


@dataclass
class _Hooks:
    step: Callable[[str], None]
    embed_start: Callable[[int], None] | None = None
    embed_clip: Callable[[Any], None] | None = None


@dataclass
class _State:
    """What the steps of one curation pass along: the rows still in, their splits, whether
    each is kept, the duplicate groups (lists of ``rel``, representative first)."""

    rows: list[ManifestRow]
    res: CurationResult
    paths: dict[str, str] = field(default_factory=dict)  # every input clip: rel → path
    index: Any = None
    dup_groups: list[list[str]] = field(default_factory=list)
    splits: list[str | None] = field(default_factory=list)
    keep: np.ndarray | None = None
    hard: dict[str, float] = field(default_factory=dict)
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def pos(self) -> dict[str, int]:
        return {r.rel: i for i, r in enumerate(self.rows)}

    def retain(self, rels: Collection[str]) -> None:
        """Keep only the rows in ``rels`` (and their members in the duplicate groups)."""
        self.rows = [r for r in self.rows if r.rel in rels]
        groups = [[c for c in g if c in rels] for g in self.dup_groups]
        self.dup_groups = [g for g in groups if len(g) > 1]


def curate(
    source: str | Path,
    output: str | Path,
    *,
    dedup: bool = False,
    fix_leakage: bool = False,
    mine_hard: bool = False,
    copies: int = 0,
    hard_copies: int = 2,
    recipe: RecipeLike = "standard",
    split: Sequence[float] | None = None,
    seed: int = 0,
    embedder: Any = None,
    dedup_config: Any = None,
    k: int = 10,
    label_errors: LabelErrorAction = "off",
    label_error_folds: int = 5,
    weights: Any = None,
    on_step: Callable[[str], None] | None = None,
    on_embed_start: Callable[[int], None] | None = None,
    on_embed_clip: Callable[[Any], None] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    rows: Sequence[ManifestRow] | None = None,
) -> CurationResult:
    """Build a curated dataset folder (see the module doc).

    Args:
        source: a folder, manifest or video.
        output: the dataset folder to create (empty or absent, or an earlier curation with
            ``resume`` / ``overwrite``).
        dedup: drop near-duplicates, one representative kept per group.
        fix_leakage: keep duplicate groups on one side of the splits.
        mine_hard: give hard train clips extra augmented copies (``hard_copies`` per hard
            clip in all, shared among the classes by their size so the class balance stays).
        copies: augmented copies of every train clip.
        hard_copies: extra copies of each hard clip.
        recipe: the copies' recipe: a preset name, a YAML path, a :class:`~vidaug.augment.Recipe`
            or a transform (:func:`~vidaug.augment.as_recipe`).
        split: ``(train, val[, test])`` shares; None keeps the input's split column (or
            0.7 / 0.15 / 0.15 when it has none).
        seed: the seed of the split, of the label-error folds and of the augmented copies.
        embedder: a :class:`vidaug.mining.FrameEmbedder` (needed for dedup / leakage / hard /
            label errors).
        dedup_config: a :class:`vidaug.mining.DedupConfig` (default: calibrated defaults).
        k: neighbours for hard-sample mining.
        label_errors: ``off`` (default), or find label errors from the out-of-fold
            probabilities of the recommended workflow (folds keep duplicates and source groups
            together) and ``keep`` (list), ``drop`` or ``relabel`` them; written to
            ``OUTPUT/label_errors.jsonl`` and ``curation.json``.
        label_error_folds: folds of those probabilities.
        weights: the MobileNetV2 weights file of the label-error model (None: as
            :func:`~vidaug.mining.resolve_mobilenet_weights` finds them).
        on_step: called with a short description of each step.
        on_embed_start, on_embed_clip: progress hooks of the embedding step (and of the
            readability check, which decodes every clip once).
        resume: finish an interrupted curation in ``output`` made with the same settings and
            input (files still whole are kept, the others redone).
        overwrite: replace a curation in ``output``, deleting exactly the files it listed in
            its mark (also those an interrupted curation wrote).
        rows: ``source``'s rows when the caller has read them already (else read here).

    Unreadable clips (missing, not a video, empty, truncated) are never copied: they are left
    out and listed under ``failures``; a kept train clip whose augmented copies fail is listed
    under ``copy_failures``.

    Raises:
        UsageError: ``output`` is a file, inside the input, held by another run, not empty
            without a vidaug run's mark, or holds a run and neither ``resume`` nor
            ``overwrite`` was given; both given; a bad ``label_errors``.
        OSError: the system refused a write (a full disk: ``ENOSPC`` naming the file).
        VidaugError: bad options, unlabeled clips, one class; too few clips for the
            label-error folds.
        RecipeError: a bad recipe.
    """
    JobDir.check_flags(resume, overwrite)
    plan = CurationPlan(
        dedup=dedup, fix_leakage=fix_leakage, mine_hard=mine_hard, copies=copies,
        hard_copies=hard_copies, recipe=recipe, split=split, seed=seed,
        dedup_config=dedup_config, k=k, label_errors=label_errors,
        label_error_folds=label_error_folds,
    )  # fmt: skip
    plan.check()
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    rows = load_rows(source) if rows is None else list(rows)
    check_output_outside_input(out, source, (r.path for r in rows))
    hooks = _Hooks(on_step or (lambda _msg: None), on_embed_start, on_embed_clip)
    with output_lock(out):
        return _curate_locked(source, out, rows, plan, embedder=embedder, weights=weights,
                              hooks=hooks, resume=resume, overwrite=overwrite)  # fmt: skip


def _curate_locked(
    source: str | Path,
    out: Path,
    rows: list[ManifestRow],
    plan: CurationPlan,
    *,
    embedder: Any,
    weights: Any,
    hooks: _Hooks,
    resume: bool,
    overwrite: bool,
) -> CurationResult:
    """The steps, in order; each one reads and updates the :class:`_State`."""
    t0 = time.perf_counter()
    rec = as_recipe(plan.recipe) if (plan.copies or (plan.mine_hard and plan.hard_copies)) else None
    if not rows:
        raise VidaugError(f"{source}: no clips")
    require_labels(rows, "curation")
    if len({r.label for r in rows}) < 2:
        raise VidaugError(f"{source}: only one class ({rows[0].label}); need at least 2")
    if plan.embeds and embedder is None:
        raise VidaugError(
            "dedup, leakage, hard-sample mining and label errors need an embedding model"
        )
    st = _State(rows, CurationResult(out), paths={r.rel: r.path for r in rows})
    st.res.options = _options(source, plan, rec)
    settings = {**st.res.options, "source": str(Path(source).resolve()),
                "recipe": rec.to_dict() if rec else None, "k": plan.k,
                "dedup_config": repr(plan.dedup_config),
                "embedder": getattr(embedder, "model_id", None)}  # fmt: skip
    jd = JobDir.open(out, "curate", settings, resume=resume, overwrite=overwrite,
                     outputs=(MANIFEST, "curation.json", *LABEL_ERROR_FILES))  # fmt: skip
    _check_readable(st, source, hooks)
    if plan.embeds:
        _embed_and_group(st, plan, (source, rows), out, embedder, hooks)
    if plan.label_errors != "off":
        _label_errors(st, plan, out, weights, hooks)
    _assign_splits(st, plan)
    _drop_duplicates(st, plan)
    if plan.mine_hard:
        _mine_hard(st, plan, hooks)
    hooks.step("writing the dataset")
    assert st.keep is not None
    kept = [(r, st.splits[i]) for i, r in enumerate(st.rows) if st.keep[i]]
    manifest = _write_dataset(jd, kept, rec, plan.copies, st.extra, st.hard, plan.seed, st.res)
    res = st.res
    res.counts = {
        "input": dict(Counter(str(r.label) for r in rows)),
        **{sp: dict(Counter(m["label"] for m in manifest if m["split"] == sp)) for sp in SPLITS},
    }
    res.counts = {k: v for k, v in res.counts.items() if v}
    res.seconds = time.perf_counter() - t0
    text = json.dumps(to_jsonable(res.to_dict()), indent=2, allow_nan=False)  # strict JSON
    atomic_write_text(out / "curation.json", text)
    return res


def _options(source: str | Path, plan: CurationPlan, rec: Any) -> dict[str, Any]:
    """The options recorded in ``curation.json`` (and, with more, in the OUTPUT's mark)."""
    out = {
        "source": str(source), "dedup": plan.dedup, "fix_leakage": plan.fix_leakage,
        "mine_hard": plan.mine_hard, "copies": plan.copies, "hard_copies": plan.hard_copies,
        "recipe": rec.name if rec else None, "split": list(plan.split) if plan.split else None,
        "seed": plan.seed,
    }  # fmt: skip
    if plan.label_errors != "off":
        out.update(label_errors=plan.label_errors, label_error_folds=plan.label_error_folds,
                   label_error_workflow=plan.workflow)  # fmt: skip
    return out


def _check_readable(st: _State, source: str | Path, hooks: _Hooks) -> None:
    """Step 1: never copy a clip that does not decode (it is listed under ``failures``)."""
    hooks.step("checking that every clip decodes")
    if hooks.embed_start:
        hooks.embed_start(len(st.rows))
    bad = _unreadable(st.rows, hooks.embed_clip)
    st.res.failures.extend(bad.items())
    st.retain({r.rel for r in st.rows if r.rel not in bad})
    if len({r.label for r in st.rows}) < 2:
        raise VidaugError(
            f"{source}: fewer than 2 classes with readable clips ({len(bad)} unreadable)"
        )


def _embed_and_group(
    st: _State,
    plan: CurationPlan,
    source: tuple[str | Path, list[ManifestRow]],
    out: Path,
    embedder: Any,
    hooks: _Hooks,
) -> None:
    """Step 2: embed the clips of ``source`` (the input and its rows, as read once; cached in
    ``OUTPUT/.vidaug-index``) and find duplicate groups; a clip that cannot be embedded is
    left out (listed once under ``failures``)."""
    from vidaug.mining import DEFAULT_DEDUP, find_duplicates
    from vidaug.pipelines._embed import embed_to_index

    hooks.step("embedding clips")
    rep = embed_to_index(
        source[0], embedder, rows=source[1], out=out / ".vidaug-index",
        on_start=hooks.embed_start, on_clip=hooks.embed_clip,
        regions=bool(plan.dedup or plan.fix_leakage),
    )  # fmt: skip
    st.index = rep.index
    listed = {c for c, _ in st.res.failures}
    known = listed | {p for rel, p in st.paths.items() if rel in listed}
    st.res.failures.extend(f for f in rep.failures if f[0] not in known)  # each clip once
    dup = find_duplicates(st.index, plan.dedup_config or DEFAULT_DEDUP)
    summary = dup.summary()
    st.res.options["dedup_config"] = summary.pop("config")  # the whole config that ran
    st.res.options["dedup_summary"] = summary
    st.res.options["model"] = st.index.model_id
    failed = {c for c, _ in rep.failures}
    st.dup_groups = [list(g) for g in dup.groups if len(g) > 1]
    st.retain({r.rel for r in st.rows if r.rel not in failed and r.path not in failed})


def _label_errors(st: _State, plan: CurationPlan, out: Path, weights: Any, hooks: _Hooks) -> None:
    """Step 2b: label errors from the out-of-fold probabilities of ``plan.workflow`` (folds keep
    duplicate groups and source groups together); each is kept, dropped or relabelled, and
    listed (``label_errors`` in ``curation.json``, ``OUTPUT/label_errors.jsonl`` with its
    sidecar for ``vidaug report``). Duplicates under two labels are resolved by the same
    probabilities (:func:`vidaug.mining.find_label_errors`)."""
    from vidaug.pipelines._label_errors import find_dataset_label_errors
    from vidaug.report import check_results, save_results

    hooks.step(f"finding label errors ({plan.label_error_folds}-fold out-of-fold predictions)")

    def on_embed(done: int, total: int) -> None:
        if done == 1 and hooks.embed_start:
            hooks.embed_start(total)
        if hooks.embed_clip:
            hooks.embed_clip(None)

    found = find_dataset_label_errors(
        st.rows, workflow=plan.workflow, folds=plan.label_error_folds,
        duplicate_groups=st.dup_groups, seed=plan.seed, weights=weights, on_embed=on_embed,
    )  # fmt: skip
    save_results(out / LABEL_ERROR_FILES[0], check_results(found, st.index))
    summary = found.summary()
    st.res.options["label_error_config"] = summary.pop("config")
    st.res.options["label_error_summary"] = summary
    by_rel = {r.rel: r for r in st.rows}
    action = _ACTIONS[plan.label_errors]
    relabel: dict[str, str] = {}
    for e in found.errors():  # worst first
        row = by_rel[e["id"]]
        st.res.label_errors.append({
            "clip": row.given or row.rel, "id": row.rel, "given": e["label"],
            "suggested": e["suggested"], "score": e["label_error_score"],
            "duplicate_of": e["conflict"] if e["conflict"] != row.rel else None, "action": action,
        })  # fmt: skip
        relabel[row.rel] = e["suggested"]
    if plan.label_errors == "drop":
        st.retain({r.rel for r in st.rows if r.rel not in relabel})
    elif plan.label_errors == "relabel":
        st.rows = [replace(r, label=relabel[r.rel]) if r.rel in relabel else r for r in st.rows]


def _assign_splits(st: _State, plan: CurationPlan) -> None:
    """Step 3: with ``split`` fractions (or no split column), a stratified split in which
    source groups and duplicate groups stay whole; else the input's split column, with
    ``fix_leakage`` moving a duplicate group that straddles splits to its kept clip's split."""
    rows, pos = st.rows, st.pos
    st.splits = [r.split for r in rows]
    if plan.split is not None or not all(s is not None for s in st.splits):
        frac = _parse_split(plan.split or (0.7, 0.15, 0.15))
        # source groups and duplicate groups stay whole: split the connected components
        component = group_components(rows, st.dup_groups)
        from vidaug.training import group_split

        try:
            parts = group_split([r.label for r in rows], component.tolist(), frac, plan.seed)
        except ValueError as e:
            raise VidaugError(
                f"cannot split: {e} (source groups and duplicate groups stay whole; "
                f"{len(st.dup_groups)} duplicate groups found)"
            ) from None
        for name, part in zip(SPLITS, parts, strict=False):
            for i in part:
                st.splits[int(i)] = name
    elif plan.fix_leakage:
        for g in st.dup_groups:
            keep_split = st.splits[pos[g[0]]]
            for c in g[1:]:
                if st.splits[pos[c]] != keep_split:
                    st.res.moved.append({"clip": c, "from": st.splits[pos[c]], "to": keep_split,
                                         "reason": f"duplicate of {g[0]} (in {keep_split})"})  # fmt: skip
                    st.splits[pos[c]] = keep_split


def _drop_duplicates(st: _State, plan: CurationPlan) -> None:
    """Step 4: with ``dedup``, every duplicate but its group's representative is dropped; a
    duplicate under another label than the representative is kept and listed under
    ``label_conflicts`` (``label_errors`` resolves those before this step)."""
    st.keep = np.ones(len(st.rows), dtype=bool)
    if not plan.dedup:
        return
    rows, pos = st.rows, st.pos
    for g in st.dup_groups:
        for c in g[1:]:
            if rows[pos[c]].label != rows[pos[g[0]]].label:
                # the same footage under two labels: a labelling question, not a duplicate
                st.res.label_conflicts.append(
                    {"clip": c, "label": rows[pos[c]].label, "duplicate_of": g[0],
                     "other_label": rows[pos[g[0]]].label}
                )  # fmt: skip
                continue
            st.keep[pos[c]] = False
            st.res.dropped.append({"clip": c, "reason": f"near-duplicate of {g[0]}"})


def _mine_hard(st: _State, plan: CurationPlan, hooks: _Hooks) -> None:
    """Step 5: hard clips among the kept train clips get extra augmented copies (the class
    balance kept); label suspects get none and are listed."""
    from vidaug.mining import HardnessConfig, score_hardness

    rows, pos, keep = st.rows, st.pos, st.keep
    assert keep is not None and st.index is not None
    train_ids = [r.rel for i, r in enumerate(rows) if keep[i] and st.splits[i] == "train"]
    if len({rows[pos[c]].label for c in train_ids}) < 2 or len(train_ids) < 3:
        return
    hooks.step("mining hard clips")
    emb = st.index.clip_emb[[st.index.position(c) for c in train_ids]]
    cfg = HardnessConfig(k=min(plan.k, len(train_ids) - 1))
    result = score_hardness(emb, [rows[pos[c]].label for c in train_ids], ids=train_ids,
                            config=cfg)  # fmt: skip
    summary = result.summary()
    st.res.options["hardness_config"] = summary.pop("config")  # the config that ran
    st.res.options["hardness_summary"] = summary
    scored = result.table()
    for s in scored:
        if s["is_label_suspect"]:
            st.res.label_suspects.append({"clip": s["id"], "label": s["label"],
                "seen_as": s["predicted"], "score": s["label_suspect_score"]})  # fmt: skip
        elif s["is_hard"]:
            st.hard[s["id"]] = float(s["hard_score"])
    st.extra = _balanced_extra_copies(scored, st.hard, plan.hard_copies)
    st.res.options["extra_copies_per_class"] = dict(
        Counter(rows[pos[c]].label for c, n in st.extra.items() for _ in range(n))
    )


def _write_dataset(
    jd: JobDir,
    kept: list[tuple[ManifestRow, str]],
    rec: Any,
    copies: int,
    extra: dict[str, int],
    hard: dict[str, float],
    seed: int,
    res: CurationResult,
) -> list[dict[str, Any]]:
    """Step 6: each ``(row, split)``'s original, then a train clip's augmented copies; every
    file is verified, then committed to ``jd`` (listed, renamed into place, journalled). The
    files an earlier run left intact (``jd.kept``) are not written again. Returns the manifest
    rows in order; ``jd`` writes them whole at the end."""
    job = None
    if rec is not None:
        job = AugmentJob(output=str(jd.root / "train"), recipe=rec.to_dict(), seed=seed, copies=0)
    manifest: list[dict[str, Any]] = []
    with jd:
        for r, sp in kept:
            rel_out = f"{sp}/{r.rel}"
            base = {"label": r.label, "split": sp, "source": r.rel}
            base.update({k: v for k, v in r.carried().items() if k not in base})
            original = jd.kept.get(rel_out)
            if original is None:
                original = {"path": rel_out, **base, "kind": "original", "hard": r.rel in hard}
                dest = _inside(jd.root, rel_out)  # never outside OUTPUT
                jd.commit(copy_verified(r.path, temp_path(dest)), original)
            manifest.append(original)
            n = copies + extra.get(r.rel, 0) if sp == "train" and job is not None else 0
            if n:
                manifest.extend(_train_copies(jd, job, r, base, n, copies, hard, res))
        jd.finish(manifest)
    return manifest


def _train_copies(
    jd: JobDir,
    job: AugmentJob,
    r: ManifestRow,
    base: dict[str, Any],
    n: int,
    copies: int,
    hard: dict[str, float],
    res: CurationResult,
) -> list[dict[str, Any]]:
    """The augmented copies ``0 .. n-1`` of one train clip (``copies`` plain ones, then extra
    ones): those ``jd`` kept, the others written and committed now; each listed in
    ``res.added`` with its reason."""
    paths = {k: f"train/{output_relpath(r.rel, k)}" for k in range(n)}
    rows = {k: jd.kept[p] for k, p in paths.items() if p in jd.kept}

    def emit(e: dict[str, Any], temp: Path) -> None:
        row = {**base, "path": f"train/{e['path']}", "kind": "augmented", "copy": e["copy"],
               "seed": e["seed"], "recipe": e["recipe"], "hard": r.rel in hard,
               "params": e["params"]}  # fmt: skip
        jd.commit(temp, row, frames=e["frames"])
        rows[e["copy"]] = row

    missing = [k for k in range(n) if k not in rows]
    if missing:
        row = ManifestRow(r.path, r.rel, r.label, base["split"], r.extra)
        error = augment_row(row, job, missing, emit=emit).error
        if error:
            res.copy_failures.append((r.rel, error))
    for k in sorted(rows):
        reason = "augmented copy"
        if k >= copies and r.rel in hard:
            reason = f"hard clip (hard_score {hard[r.rel]:.2f}): extra augmented copy"
        elif k >= copies:
            reason = "extra copy keeping the class balance (the hardest of its class)"
        res.added.append({"clip": rows[k]["path"], "source": r.rel, "reason": reason})
    return [rows[k] for k in sorted(rows)]
