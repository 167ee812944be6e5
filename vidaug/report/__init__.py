"""See it: augmentation previews and self-contained HTML reports of mining results.

* :func:`write_preview` — a PNG contact sheet (original row + augmented rows labelled with the
  transforms and params applied) or a GIF / WebP / MP4 of the original and its copies side by
  side, in sync, with boxes and tracks drawn.
* :func:`write_report` — one HTML file for ``vidaug dedup`` / ``vidaug mine-hard`` results:
  summary, histogram, duplicate groups or ranked hard samples with thumbnail strips, filters,
  paging; no network, every string escaped.
* :func:`save_results` / :func:`load_results` — the results JSONL and its ``.meta.json``
  sidecar, so a report can be made later (``vidaug report``).

Importing this package does not import TensorFlow.
"""

from vidaug.report._html import (
    PAGE_SIZE,
    clip_thumbnail,
    histogram_svg,
    make_thumbnails,
    relation_text,
    render_html,
    report_data,
    resolve_clip_paths,
    script_json,
    write_report,
)
from vidaug.report._preview import (
    PREVIEW_SUFFIXES,
    PreviewResult,
    augment_copies,
    contact_sheet,
    side_by_side,
    write_preview,
)
from vidaug.report._results import (
    Results,
    check_results,
    load_results,
    meta_path,
    save_results,
)

__all__ = [
    "PAGE_SIZE",
    "PREVIEW_SUFFIXES",
    "PreviewResult",
    "Results",
    "augment_copies",
    "clip_thumbnail",
    "check_results",
    "contact_sheet",
    "histogram_svg",
    "load_results",
    "make_thumbnails",
    "meta_path",
    "relation_text",
    "render_html",
    "report_data",
    "resolve_clip_paths",
    "save_results",
    "script_json",
    "side_by_side",
    "write_preview",
    "write_report",
]
