"""Self-contained HTML reports of mining results (``vidaug report``, ``--report``).

One file: the summary is rendered here (every string through :func:`html.escape`); rows,
groups and base64 JPEG thumbnail strips travel as one JSON block that a small inline script
pages through (50 rows a page), so a report of thousands of clips opens fast. No network, no
external JS or CSS. The script builds the page with ``textContent`` only, never ``innerHTML``
on data, so a label such as ``<script>`` renders as text.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from vidaug.datasets import frame_indices
from vidaug.report._results import Results

__all__ = [
    "PAGE_SIZE",
    "clip_thumbnail",
    "histogram_svg",
    "make_thumbnails",
    "relation_text",
    "render_html",
    "report_data",
    "resolve_clip_paths",
    "script_json",
    "write_report",
]

#: Rows (hard samples) or groups (duplicates) per page.
PAGE_SIZE = 50
#: Neighbours shown per hard sample.
NEIGHBOURS = 5


@functools.cache
def _asset(name: str) -> str:
    """The report's stylesheet or script (package data in ``vidaug/report/assets``)."""
    return resources.files("vidaug.report").joinpath(f"assets/{name}").read_text("utf-8")


# ---------------------------------------------------------------------------------------------
# Thumbnails (I/O)
# ---------------------------------------------------------------------------------------------


def thumbnail_strip(frames: np.ndarray, count: int = 4, height: int = 64) -> np.ndarray:
    """``count`` frames spread over ``frames``, each scaled to ``height``, side by side."""
    import cv2

    t, h, w = frames.shape[:3]
    idx = frame_indices(t, count, spread="ends")
    cw = max(8, round(w * height / h))
    cells = [cv2.resize(frames[i], (cw, height), interpolation=cv2.INTER_AREA) for i in idx]
    gap = np.full((height, 2, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for c in cells:
        parts += [c, gap]
    return np.concatenate(parts[:-1], axis=1)


def clip_thumbnail(
    path: str | os.PathLike, count: int = 4, height: int = 64, quality: int = 72
) -> bytes:
    """A JPEG strip of ``count`` frames spread over the clip at ``path``.

    Raises:
        VideoReadError: the clip cannot be read.
    """
    from vidaug.datasets import read_clip
    from vidaug.report._draw import encode_image

    clip = read_clip(path, size=height, allow_truncated=True)
    return encode_image(thumbnail_strip(clip.frames, count, height), ".jpg", quality)


def make_thumbnails(
    paths: Mapping[str, str | os.PathLike],
    *,
    count: int = 4,
    height: int = 64,
    workers: int | None = None,
    on_clip: Callable[[str, str | None], None] | None = None,
) -> dict[str, str]:
    """Base64 JPEG strips of many clips, decoded in threads (OpenCV releases the GIL).

    Args:
        paths: clip id → video file.
        count: frames per strip.
        height: strip height in pixels.
        workers: decoding threads (default: up to 8).
        on_clip: called ``(clip id, error message or None)`` after each clip.

    Returns:
        clip id → base64 string, for the clips that could be read.
    """
    items = list(paths.items())
    out: dict[str, str] = {}

    def one(item: tuple[str, str | os.PathLike]) -> tuple[str, str | None, str | None]:
        cid, p = item
        try:
            return cid, base64.b64encode(clip_thumbnail(p, count, height)).decode("ascii"), None
        except Exception as e:  # noqa: BLE001 - one bad clip must not stop a report
            return cid, None, f"{cid}: no thumbnail ({e})"

    n = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, n)) as pool:
        for cid, b64, err in pool.map(one, items):
            if b64 is not None:
                out[cid] = b64
            if on_clip is not None:
                on_clip(cid, err)
    return out


def resolve_clip_paths(results: Results, clips: str | os.PathLike | None = None) -> dict[str, str]:
    """Clip id → existing video file, for the clips a report shows.

    Paths come from ``clips`` when given (an index directory, or the folder / manifest the
    results were computed from: ids are paths relative to it), else from the results'
    sidecar. Ids whose file is missing are left out (their thumbnail is a placeholder).
    """
    table: dict[str, str] = {}
    for c in results.clips:
        if c.get("path"):
            table[c["id"]] = str(c["path"])
    if clips is not None:
        from vidaug.mining import is_index_dir

        src = Path(clips)
        if is_index_dir(src):
            try:  # only the clip table of the sidecar: no need to load the FAISS files
                meta = json.loads((src / "index.json").read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
                from vidaug.errors import VidaugError

                raise VidaugError(f"{src}: unreadable index.json ({e})") from None
            table.update({c["id"]: c["path"] for c in meta.get("clips", []) if c.get("path")})
        else:
            from vidaug.datasets import load_rows

            table.update({r.rel: str(r.path) for r in load_rows(src)})
    wanted = _shown_ids(results)
    return {i: table[i] for i in wanted if i in table and Path(table[i]).is_file()}


def _shown_ids(results: Results) -> list[str]:
    """Clips that appear in the report: group members (dedup) or every row and neighbour."""
    if results.kind == "dedup":
        groups = results.meta.get("groups") or _groups_from_rows(results.rows)
        seen = dict.fromkeys(i for g in groups for i in g)
        for r in results.rows:
            if r.get("is_leak"):
                seen.setdefault(r["id"])
        return list(seen)
    if results.kind == "label_errors":
        return [r["id"] for r in results.rows if r.get("is_label_error")]
    seen = dict.fromkeys(r["id"] for r in results.rows)
    for r in results.rows:
        for n in ((r.get("evidence") or {}).get("neighbours") or [])[:NEIGHBOURS]:
            seen.setdefault(n)
    return list(seen)


# ---------------------------------------------------------------------------------------------
# The data the page shows (pure)
# ---------------------------------------------------------------------------------------------


def _groups_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    by: dict[int, list[Mapping[str, Any]]] = {}
    for r in rows:
        if r.get("group") is not None:
            by.setdefault(int(r["group"]), []).append(r)
    out = []
    for g in sorted(by):
        members = sorted(by[g], key=lambda r: (not r.get("representative"), r["id"]))
        out.append([m["id"] for m in members])
    return out


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class _ClipRefs:
    """The page's clip table, filled as clips are referenced: calling it with a clip id
    returns the clip's position (id, label, split and thumbnail index, added on first use)."""

    def __init__(self, results: Results, thumbs: Mapping[str, str]) -> None:
        self._info = {c["id"]: c for c in results.clips if isinstance(c, Mapping) and "id" in c}
        self._rows = {r["id"]: r for r in results.rows}
        self._thumbs = thumbs
        self._pos: dict[str, int] = {}
        self.clips: list[dict[str, Any]] = []
        self.thumbs: list[str] = []

    def __call__(self, cid: str, label: Any = None) -> int:
        if cid not in self._pos:
            c = self._info.get(cid, {})
            lab = c.get("label", self._rows.get(cid, {}).get("label", label))
            t = -1
            if cid in self._thumbs:
                t = len(self.thumbs)
                self.thumbs.append(self._thumbs[cid])
            self._pos[cid] = len(self.clips)
            self.clips.append(
                {
                    "id": cid,
                    "label": None if lab is None else str(lab),
                    "split": None if c.get("split") is None else str(c["split"]),
                    "t": t,
                }
            )
        return self._pos[cid]


def report_data(results: Results, thumbs: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON the page's script renders: a clip table (id, label, split, thumbnail index)
    referenced by position from groups (dedup) or ranked rows (hard samples, label errors).

    Args:
        results: rows and metadata.
        thumbs: clip id → base64 JPEG strip.

    Returns:
        ``{"kind", "clips", "thumbs", "labels", "groups" | "rows"}``.
    """
    ref = _ClipRefs(results, thumbs or {})
    data: dict[str, Any] = {"kind": results.kind, "pageSize": PAGE_SIZE}
    if results.kind == "dedup":
        data["groups"] = _dedup_groups(results, ref)
    elif results.kind == "label_errors":
        data["rows"] = _label_error_rows(results.rows, ref)
    else:
        data["rows"] = _hard_rows(results.rows, ref)
    data["clips"] = ref.clips
    data["thumbs"] = ref.thumbs
    data["labels"] = sorted({c["label"] for c in ref.clips if c["label"] is not None})
    return data


def _dedup_groups(results: Results, ref: Callable[..., int]) -> list[dict]:
    """The duplicate groups, kept clip first: each member's strongest pair score within the
    group (else its ``duplicate_score``), leaks, relation and region; each group's best
    score and whether it leaks."""
    rows_by_id = {r["id"]: r for r in results.rows}
    groups = results.meta.get("groups") or _groups_from_rows(results.rows)
    pair_score: dict[tuple[str, str], float] = {}
    for p in results.meta.get("pairs") or []:
        s = _num(p.get("score"))
        if s is not None:
            pair_score[(p["a"], p["b"])] = pair_score[(p["b"], p["a"])] = s
    out_groups = []
    for g in groups:
        members = []
        for j, cid in enumerate(g):
            row = rows_by_id.get(cid, {})
            pairs = [pair_score[(cid, o)] for o in g if (cid, o) in pair_score]
            s = max(pairs) if pairs else _num(row.get("duplicate_score"))
            members.append(
                {
                    "c": ref(cid),
                    "keep": j == 0,
                    "s": None if s is None else round(s, 4),
                    "leak": [ref(x) for x in row.get("leak_with") or []],
                    "rel": relation_text(row),
                    "box": _box(row),
                }
            )
        scores = [m["s"] for m in members if m["s"] is not None]
        out_groups.append(
            {
                "m": members,
                "s": max(scores) if scores else None,
                "leak": any(m["leak"] for m in members),
            }
        )
    return out_groups


def _hard_rows(rows: Sequence[Mapping[str, Any]], ref: Callable[..., int]) -> list[dict]:
    """The hard samples, hardest first (stable: ties keep clip order), with their flags,
    scores and first neighbours."""
    out_rows = []
    for r in sorted(rows, key=lambda r: -(_num(r.get("hard_score")) or 0.0)):
        ev = r.get("evidence") or {}
        nb = ev.get("neighbours") or []
        nl = ev.get("neighbour_labels") or [None] * len(nb)
        ns = ev.get("similarities") or [None] * len(nb)
        out_rows.append(
            {
                "c": ref(r["id"], r.get("label")),
                "s": _num(r.get("hard_score")),
                "p": None if r.get("predicted") is None else str(r["predicted"]),
                "h": bool(r.get("is_hard")),
                "o": bool(r.get("is_outlier")),
                "su": bool(r.get("is_label_suspect")),
                "ss": _num(r.get("label_suspect_score")),
                "os": _num(r.get("outlier_score")),
                "kd": _num(ev.get("knn_disagreement")),
                "cm": _num(ev.get("centroid_margin")),
                "nb": [
                    [ref(str(i), lab), None if s is None else round(float(s), 4)]
                    for i, lab, s in list(zip(nb, nl, ns, strict=False))[:NEIGHBOURS]
                ],
            }
        )
    return out_rows


def _label_error_rows(rows: Sequence[Mapping[str, Any]], ref: Callable[..., int]) -> list[dict]:
    """The gallery of label errors, worst first: given label, suggested one, the score and
    the probabilities behind it."""
    errors = [r for r in rows if r.get("is_label_error")]
    errors.sort(key=lambda r: -(_num(r.get("label_error_score")) or 0.0))
    return [
        {
            "c": ref(r["id"], r.get("label")),
            "s": _num(r.get("label_error_score")),
            "p": None if r.get("suggested") is None else str(r["suggested"]),
            "su": True,
            "pg": _num(r.get("p_given")),
            "ps": _num(r.get("p_suggested")),
            "cf": None if r.get("conflict") is None else str(r["conflict"]),
            "nb": [],
        }
        for r in errors
    ]


def relation_text(row: Mapping[str, Any]) -> str | None:
    """How a duplicate relates to its strongest partner, in words: ``copy of X``, ``shown
    inside X at 50-100 % × 0-50 %``, ``contains X``, ``overlaps X: 3.0-5.8 s of this clip``,
    with the evidence kinds."""
    rel, other = row.get("relation"), row.get("related_to")
    if not rel or not other:
        return None
    text = {"copy_of": f"copy of {other}", "inside": f"shown inside {other}",
            "contains": f"contains {other}", "overlaps": f"overlaps {other}"}.get(
        str(rel), f"{rel} {other}")  # fmt: skip
    box = _box(row)
    if box and rel == "inside":
        text += f" at x {box[0]:.0%}-{box[2]:.0%}, y {box[1]:.0%}-{box[3]:.0%} of its frame"
    elif box:
        text += f" at x {box[0]:.0%}-{box[2]:.0%}, y {box[1]:.0%}-{box[3]:.0%}"
    seg = row.get("segment")
    if rel == "overlaps" and isinstance(seg, Sequence) and len(seg) == 2:
        text += f": {float(seg[0]):.1f}-{float(seg[1]):.1f} s of this clip"
    ev = row.get("evidence")
    if isinstance(ev, Sequence) and not isinstance(ev, str) and ev:
        text += f" ({', '.join(str(e) for e in ev)})"
    return text


def _box(row: Mapping[str, Any]) -> list[float] | None:
    """The region drawn on the outer clip's thumbnails (a ``contains`` row), else None."""
    box = row.get("region")
    if row.get("relation") != "contains" or not isinstance(box, Sequence) or len(box) != 4:
        return None
    vals = [_num(v) for v in box]
    return None if any(v is None for v in vals) else vals  # type: ignore[return-value]


def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` are
    ``\\u``-escaped, so no ``</script>`` or ``<!--`` can appear in it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---------------------------------------------------------------------------------------------
# Summary and histogram (pure)
# ---------------------------------------------------------------------------------------------


def histogram_svg(
    values: Sequence[float],
    *,
    bins: int = 20,
    lo: float = 0.0,
    hi: float = 1.0,
    threshold: float | None = None,
    title: str = "",
    width: int = 320,
    height: int = 110,
) -> str:
    """A small inline SVG histogram of ``values`` in ``[lo, hi]`` (values outside are clipped)."""
    v = np.clip(np.asarray([x for x in values if x is not None], dtype=float), lo, hi)
    counts, _ = np.histogram(v, bins=bins, range=(lo, hi))
    top = max(1, int(counts.max()) if len(counts) else 1)
    pl, pr, pt, pb = 28, 8, 18, 18
    iw, ih = width - pl - pr, height - pt - pb
    bw = iw / bins
    parts = [
        f'<svg class="hist" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{pl}" y="12" class="ht">{html.escape(title)}</text>',
    ]
    for i, c in enumerate(counts.tolist()):
        h = ih * c / top
        parts.append(
            f'<rect x="{pl + i * bw + 0.5:.1f}" y="{pt + ih - h:.1f}" width="{bw - 1:.1f}" '
            f'height="{h:.1f}"><title>{lo + i * (hi - lo) / bins:.2f}–'
            f"{lo + (i + 1) * (hi - lo) / bins:.2f}: {c}</title></rect>"
        )
    parts.append(
        f'<line x1="{pl}" y1="{pt + ih}" x2="{pl + iw}" y2="{pt + ih}" class="ax"/>'
        f'<text x="{pl}" y="{height - 4}" class="tk">{lo:g}</text>'
        f'<text x="{pl + iw / 2}" y="{height - 4}" class="tk" text-anchor="middle">'
        f"{(lo + hi) / 2:g}</text>"
        f'<text x="{pl + iw}" y="{height - 4}" class="tk" text-anchor="end">{hi:g}</text>'
        f'<text x="{pl - 4}" y="{pt + 8}" class="tk" text-anchor="end">{top}</text>'
    )
    if threshold is not None and lo <= threshold <= hi:
        x = pl + iw * (threshold - lo) / (hi - lo)
        parts.append(
            f'<line x1="{x:.1f}" y1="{pt - 4}" x2="{x:.1f}" y2="{pt + ih}" class="th">'
            f"<title>threshold {threshold:g}</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, Mapping):
        return ", ".join(f"{k}={_fmt(x)}" for k, x in v.items())
    return str(v)


def _kv_table(title: str, items: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in items
    )
    return f'<table class="kv"><caption>{html.escape(title)}</caption>{rows}</table>'


def _elapsed(s: Any) -> str | None:
    s = _num(s)
    if s is None:
        return None
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def summary_html(results: Results) -> str:
    """The summary block: counts, settings and a histogram (all strings escaped)."""
    m, rows = results.meta, results.rows
    s = m.get("summary") or {}
    th = m.get("thresholds") or {}
    if results.kind == "dedup":
        n_groups = len(m.get("groups") or _groups_from_rows(rows))
        counts = [
            ("clips", s.get("clips", len(rows))),
            ("duplicate groups", s.get("groups", n_groups)),
            ("duplicate pairs", s.get("pairs")),
            ("clips to drop", s.get("duplicates", sum(bool(r.get("is_duplicate")) for r in rows))),
            ("leaking pairs", s.get("leaks")),
            ("leaking clips", s.get("leaking_clips", sum(bool(r.get("is_leak")) for r in rows))),
            ("candidate pairs checked", s.get("candidates")),
        ]
        rel = s.get("relations") or {}
        counts[3:3] = [
            (f"pairs: {k.replace('_', ' ')}", rel.get(k))
            for k in ("copy_of", "contains", "overlaps")
            if rel.get(k)
        ]
        if s.get("backgrounds"):
            counts.append(("composites set apart from their background", s["backgrounds"]))
        settings = [
            ("clip threshold", th.get("clip_threshold")),
            ("frame threshold", th.get("frame_threshold")),
            ("match fraction", th.get("match_fraction")),
            ("motion threshold", th.get("motion_threshold")),
            ("region threshold", th.get("region_threshold")),
            ("alignment threshold", th.get("align_threshold")),
            ("grayscale threshold", th.get("gray_threshold")),
            ("warped threshold", th.get("warp_threshold")),
            ("keep", th.get("keep")),
        ]
        hist = histogram_svg(
            [_num(r.get("similarity")) for r in rows],
            threshold=_num(th.get("clip_threshold")),
            title="similarity to the nearest clip",
        )
        hist += histogram_svg(
            [_num(r.get("duplicate_score")) for r in rows], title="duplicate score"
        )
    elif results.kind == "label_errors":
        counts = [
            ("clips", s.get("clips", len(rows))),
            (
                "label errors",
                s.get("label_errors", sum(bool(r.get("is_label_error")) for r in rows)),
            ),
            ("in duplicates with two labels", s.get("conflicts")),
        ]
        settings = [(f"threshold {k}", v) for k, v in (s.get("thresholds") or {}).items()]
        settings += [(k, v) for k, v in th.items()]
        hist = histogram_svg(
            [_num(r.get("label_error_score")) for r in rows],
            title="label-error score (1 − p(given))",
        )
    else:
        counts = [
            ("clips", s.get("clips", len(rows))),
            ("hard", s.get("hard", sum(bool(r.get("is_hard")) for r in rows))),
            (
                "label suspects",
                s.get("label_suspects", sum(bool(r.get("is_label_suspect")) for r in rows)),
            ),
            ("outliers", s.get("outliers", sum(bool(r.get("is_outlier")) for r in rows))),
            ("classes", s.get("classes", len({str(r.get("label")) for r in rows}))),
        ]
        settings = [
            ("neighbours (k)" if k == "k" else k.replace("_", " "), v) for k, v in th.items()
        ]
        hist = histogram_svg(
            [_num(r.get("hard_score")) for r in rows],
            threshold=_num(th.get("hard_threshold")),
            title="hardness score",
        )
        hist += histogram_svg(
            [_num(r.get("label_suspect_score")) for r in rows], title="label-suspect score"
        )
    run = [
        ("model", m.get("model")),
        ("index type", m.get("index_kind")),
        ("dims", m.get("dims")),
        ("time taken", _elapsed(m.get("elapsed_s"))),
        ("created", m.get("created")),
        ("vidaug", m.get("vidaug")),
    ]
    settings = [x for x in settings if x[1] is not None]
    return (
        '<section id="summary" class="summary">'
        + _kv_table("counts", counts)
        + _kv_table("run", run)
        + (_kv_table("thresholds", settings) if settings else "")
        + f'<div class="hists">{hist}</div></section>'
    )


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


def _controls(kind: str) -> str:
    common_sort = (
        '<option value="score-desc">score, highest first</option>'
        '<option value="score-asc">score, lowest first</option>'
    )
    if kind == "label_errors":
        sort, extra = common_sort, ""
    elif kind == "dedup":
        sort = common_sort + (
            '<option value="size-desc">largest groups first</option>'
            '<option value="id">group number</option>'
        )
        extra = '<label><input type="checkbox" id="f-leak"> leaks only</label>'
    else:
        sort = common_sort + (
            '<option value="suspect-desc">label-suspect score</option>'
            '<option value="outlier-desc">outlier score</option>'
            '<option value="label">label</option>'
        )
        extra = (
            '<label>flag <select id="f-flag"><option value="">any</option>'
            '<option value="suspect">label suspects</option><option value="hard">hard</option>'
            '<option value="outlier">outliers</option><option value="none">no flag</option>'
            "</select></label>"
        )
    return (
        '<nav class="controls">'
        '<label>label <select id="f-label"><option value="">all</option></select></label>'
        f"{extra}"
        '<label>min score <input type="number" id="f-min" min="0" max="1" step="0.05" '
        'value="0" style="width:64px"></label>'
        f'<label>sort <select id="f-sort">{sort}</select></label>'
        '<input type="search" id="f-q" placeholder="filter by clip id">'
        '<span class="pager"><button id="prev" type="button">&larr; prev</button>'
        '<span id="page-info"></span><button id="next" type="button">next &rarr;</button>'
        "</span></nav>"
    )


def render_html(results: Results, thumbs: Mapping[str, str] | None = None) -> str:
    """The whole report page as a string (see the module doc).

    Args:
        results: rows and metadata from ``vidaug dedup / mine-hard``.
        thumbs: clip id → base64 JPEG strip (clips without one get a placeholder).
    """
    title = {"dedup": "Duplicates and leakage", "label_errors": "Label errors"}.get(
        results.kind, "Hard samples"
    )
    src = results.meta.get("source")
    sub = f"{src} — vidaug {results.kind} report" if src else f"vidaug {results.kind} report"
    data = report_data(results, thumbs)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)} — vidaug</title><style>{_asset('report.css')}</style></head>"
        f'<body data-kind="{html.escape(results.kind)}">'
        f"<header><h1>{html.escape(title)}</h1>"
        f'<div class="sub">{html.escape(sub)}</div></header>'
        f"{summary_html(results)}{_controls(results.kind)}"
        "<main><noscript>This report needs JavaScript to list its rows.</noscript>"
        '<div id="list"></div></main>'
        f'<script id="report-data" type="application/json">{script_json(data)}</script>'
        f"<script>{_asset('report.js')}</script></body></html>\n"
    )


def write_report(
    out: str | os.PathLike,
    results: Results,
    *,
    clips: str | os.PathLike | None = None,
    thumbnails: bool = True,
    thumb_frames: int = 4,
    thumb_height: int = 64,
    on_start: Callable[[int], None] | None = None,
    on_clip: Callable[[str, str | None], None] | None = None,
) -> Path:
    """Render ``results`` (with thumbnails of the clips it shows) to one HTML file, atomically.

    Args:
        out: the ``.html`` file.
        results: from :func:`check_results` or :func:`load_results`.
        clips: where the clips are when the results' own paths are missing or moved (an index
            directory, or the folder / manifest the results were computed from).
        thumbnails: False for a text-only report.
        thumb_frames: frames per thumbnail strip.
        thumb_height: strip height in pixels.
        on_start: called with the number of clips to thumbnail.
        on_clip: called after each thumbnail (clip id, error or None).

    Returns:
        ``out`` as a :class:`~pathlib.Path`.
    """
    from vidaug.datasets import atomic_write_text

    thumbs: dict[str, str] = {}
    if thumbnails:
        paths = resolve_clip_paths(results, clips)
        if on_start is not None:
            on_start(len(paths))
        thumbs = make_thumbnails(paths, count=thumb_frames, height=thumb_height, on_clip=on_clip)
    return atomic_write_text(out, render_html(results, thumbs))
