"""vidaug.report: params descriptions, boxes files, contact sheets, report data and HTML."""

from __future__ import annotations

import html.parser
import json
import re

import numpy as np
import pytest
from conftest import make_clip

from vidaug.augment import Compose, HorizontalFlip, Resize, Sometimes, Speed, describe_params
from vidaug.datasets import load_boxes
from vidaug.errors import VidaugError
from vidaug.mining import DEFAULT_DEDUP, EmbeddingIndex, find_duplicates, score_hardness
from vidaug.report import (
    PAGE_SIZE,
    Results,
    augment_copies,
    check_results,
    contact_sheet,
    histogram_svg,
    load_results,
    meta_path,
    render_html,
    report_data,
    save_results,
    script_json,
    side_by_side,
)

EVIL = "<script>alert(1)</script>"


# ---- what was applied ---------------------------------------------------------------------


def test_describe_params_flattens_and_skips():
    aug = Compose([HorizontalFlip(p=1.0), Sometimes(transform=Speed(rate=(2.0, 2.0)), p=0.0)])
    res = aug.augment(make_clip(), seed=0)
    assert describe_params(res.params) == ["HorizontalFlip"]  # the skipped Speed is left out
    rec = {"name": "Affine", "params": {"rotate": [1.0, 2.0, 3.0, 4.0], "noise_seed": 5}}
    (line,) = describe_params(rec)
    assert line.startswith("Affine(rotate=1..4") and "seed" not in line
    assert describe_params(None) == [] and describe_params({"name": "X", "params": None}) == []


# ---- boxes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("b.csv", "frame,track_id,x1,y1,x2,y2\n0,1,1,2,10,20\n1,1,2,3,11,21\n"),
        ("b.csv", "0,1,1,2,10,20\n1,1,2,3,11,21\n"),
        ("b.json", json.dumps([[0, 1, 1, 2, 10, 20], [1, 1, 2, 3, 11, 21]])),
        (
            "b.json",
            json.dumps(
                {
                    "boxes": [
                        dict(zip(["frame", "track_id", "x1", "y1", "x2", "y2"], r, strict=True))
                        for r in ([0, 1, 1, 2, 10, 20], [1, 1, 2, 3, 11, 21])
                    ]
                }
            ),
        ),
        ("b.jsonl", "[0, 1, 1, 2, 10, 20]\n\n[1, 1, 2, 3, 11, 21]\n"),
    ],
)
def test_load_boxes_formats(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    b = load_boxes(p)
    assert b.shape == (2, 6) and b[1].tolist() == [1, 1, 2, 3, 11, 21]


@pytest.mark.parametrize(
    ("name", "text", "msg"),
    [
        ("b.csv", "0,1,1,2,10\n", "6 values"),
        ("b.csv", "0,1,a,2,10,20\n", "numbers"),
        ("b.csv", "0,1,10,2,1,20\n", "x1"),
        ("b.json", "{", "invalid JSON"),
        ("b.txt", "0,1,1,2,10,20", ".csv"),
    ],
)
def test_load_boxes_errors_name_the_place(tmp_path, name, text, msg):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(VidaugError, match=re.escape(msg)):
        load_boxes(p)


# ---- drawing ------------------------------------------------------------------------------


def test_contact_sheet_rows_and_size():
    clip = make_clip(12, 48, 64)
    aug = Compose([Resize(size=(32, 32)), HorizontalFlip()])
    sheets = [
        contact_sheet(clip, augment_copies(clip, aug, n, seed=1), columns=4, height=60)
        for n in (1, 3)
    ]
    assert all(s.dtype == np.uint8 and s.ndim == 3 for s in sheets)
    assert sheets[0].shape[1] == sheets[1].shape[1] == 4 * 80 + 3 * 4 + 16  # cells 80 px wide
    assert sheets[1].shape[0] - sheets[0].shape[0] >= 2 * 60  # two more frame rows


def test_copies_use_their_own_seeds():
    clip = make_clip()
    a = augment_copies(clip, Compose([HorizontalFlip()]), 3, seed=5)
    b = augment_copies(clip, Compose([HorizontalFlip()]), 3, seed=5)
    assert [c.seed for c in a] == [c.seed for c in b] and len({c.seed for c in a}) == 3


def test_side_by_side_holds_shorter_copies_and_draws_boxes():
    clip = make_clip(10, 48, 64)
    copies = augment_copies(clip, Compose([Speed(rate=(2.0, 2.0))]), 2, seed=0)
    boxes = np.array([[f, 3, 5, 5, 30, 30] for f in range(10)], float)
    anim = side_by_side(clip, copies, height=40, boxes=boxes)
    assert anim.shape[0] == 10 and anim.shape[1] % 2 == 0 and anim.shape[2] % 2 == 0
    plain = side_by_side(clip, copies, height=40)
    assert not np.array_equal(anim, plain)  # the boxes show


# ---- report data and HTML ------------------------------------------------------------------


def _index(n_clips: int = 6, copy_of: dict[int, int] | None = None, labels=None, splits=None):
    """An index of random clip embeddings; ``copy_of[i] = j`` makes clip i a copy of j."""
    rng = np.random.default_rng(0)
    copy_of = copy_of or {}
    frames = rng.normal(size=(n_clips, 4, 16)).astype(np.float32)
    for i, j in copy_of.items():
        frames[i] = frames[j] + 1e-4
    clips = [
        {
            "id": f"c{i}.mp4",
            "label": (labels or ["a", "b"])[i % len(labels or ["a", "b"])],
            "split": (splits or {}).get(i, "train"),
            "path": f"/nonexistent/c{i}.mp4",
        }
        for i in range(n_clips)
    ]
    fe = frames.reshape(-1, 16)
    fe /= np.linalg.norm(fe, axis=1, keepdims=True)
    return EmbeddingIndex.build(clips, fe, np.repeat(np.arange(n_clips), 4), model_id="test")


def _parse(page: str):
    class P(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.stack, self.scripts, self.errors = [], [], []

        void = {"meta", "input", "br", "img", "link", "rect", "line"}

        def handle_starttag(self, tag, attrs):
            if tag not in self.void:
                self.stack.append(tag)
            if tag == "script":
                self.scripts.append(dict(attrs))

        def handle_startendtag(self, tag, attrs):
            pass

        def handle_endtag(self, tag):
            if tag in self.void:
                return
            if not self.stack or self.stack[-1] != tag:
                self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            else:
                self.stack.pop()

    p = P()
    p.feed(page)
    p.close()
    return p


def test_dedup_report_data_and_html():
    ix = _index(6, copy_of={3: 0, 5: 1}, splits={3: "val"})
    res = check_results(find_duplicates(ix), ix, source="x.csv", elapsed_s=1.5)
    assert res.meta["groups"] == [["c0.mp4", "c3.mp4"], ["c1.mp4", "c5.mp4"]]
    data = report_data(res)
    assert len(data["groups"]) == 2
    g0 = data["groups"][0]
    assert g0["leak"] and [m["keep"] for m in g0["m"]] == [True, False]
    assert data["clips"][g0["m"][1]["c"]]["split"] == "val" and g0["s"] > 0.99
    assert not data["groups"][1]["leak"]
    page = render_html(res)
    p = _parse(page)
    assert not p.errors and not p.stack, (p.errors, p.stack)
    assert page.startswith("<!DOCTYPE html>") and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    shown = str(DEFAULT_DEDUP.region_threshold)  # the config that ran: the regional threshold
    assert "<svg" in page and "1.5 s" in page and shown in page  # time and threshold shown


def test_labels_and_names_are_escaped():
    ix = _index(4, labels=[EVIL, "b"])
    ix.clips[1]["id"] = "x</script><!--.mp4"
    rows = score_hardness(ix.clip_emb, [c["label"] for c in ix.clips], k=2, ids=ix.ids)
    res = check_results(rows, ix, source=f"data/{EVIL}")
    page = render_html(res, {"c0.mp4": "AAAA"})
    assert EVIL not in page and "</script><!--" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the summary's escaped source
    p = _parse(page)
    assert not p.errors and [s.get("type") for s in p.scripts] == ["application/json", None]
    blob = page.split('<script id="report-data" type="application/json">')[1].split("</script>")[0]
    data = json.loads(blob)
    assert EVIL in data["labels"] and any(c["id"] == "x</script><!--.mp4" for c in data["clips"])
    assert "innerHTML" not in page  # the page builds rows with textContent only


def test_script_json_escapes_closing_tags():
    s = script_json({"a": "</script><!-- & >"})
    assert "<" not in s and ">" not in s and "&" not in s
    assert json.loads(s) == {"a": "</script><!-- & >"}


def test_hard_report_rows_and_neighbours():
    ix = _index(8)
    rows = score_hardness(ix.clip_emb, [c["label"] for c in ix.clips], k=3, ids=ix.ids)
    data = report_data(check_results(rows, ix))
    assert len(data["rows"]) == 8 and data["pageSize"] == PAGE_SIZE
    assert [r["s"] for r in data["rows"]] == sorted((r["s"] for r in data["rows"]), reverse=True)
    assert all(len(r["nb"]) == 3 for r in data["rows"]) and data["labels"] == ["a", "b"]
    assert all(c["t"] == -1 for c in data["clips"])  # no thumbnails given


def test_results_round_trip_with_and_without_sidecar(tmp_path):
    ix = _index(6, copy_of={3: 0})
    res = check_results(find_duplicates(ix), ix, elapsed_s=0.25)
    rows_path, side = save_results(tmp_path / "dups.jsonl", res)
    assert side == meta_path(rows_path) == tmp_path / "dups.meta.json"
    assert len(rows_path.read_text().splitlines()) == 6  # the table is unchanged: one row a clip
    back = load_results(rows_path)
    assert back.kind == "dedup" and back.rows == res.rows
    assert back.meta["groups"] == res.meta["groups"] and back.meta["elapsed_s"] == 0.25
    side.unlink()
    bare = load_results(rows_path)
    assert bare.kind == "dedup" and report_data(bare)["groups"][0]["m"][0]["c"] == 0


@pytest.mark.parametrize(
    ("text", "msg"),
    [("", "no rows"), ('{"id": "a"}\n', "not a `vidaug dedup`"), ("[1]\n", "JSON object")],
)
def test_load_results_rejects_other_files(tmp_path, text, msg):
    p = tmp_path / "r.jsonl"
    p.write_text(text)
    with pytest.raises(VidaugError, match=re.escape(msg)):
        load_results(p)
    with pytest.raises(VidaugError, match="not found"):
        load_results(tmp_path / "nope.jsonl")


def test_sidecar_of_another_kind_is_refused(tmp_path):
    ix = _index(4)
    save_results(tmp_path / "r.jsonl", check_results(find_duplicates(ix), ix))
    hard = score_hardness(ix.clip_emb, [c["label"] for c in ix.clips], k=2, ids=ix.ids)
    hard.to_jsonl(tmp_path / "r.jsonl")  # rows of another kind beside the dedup sidecar
    with pytest.raises(VidaugError, match="another kind"):
        load_results(tmp_path / "r.jsonl")


def test_histogram_svg():
    svg = histogram_svg([0.1, 0.1, 0.9, None, 2.0], bins=10, threshold=0.5, title="<t>")
    assert svg.count("<rect") == 10 and "&lt;t&gt;" in svg and 'class="th"' in svg


def test_report_of_results_without_groups():
    res = Results("dedup", [{"id": "a", "is_duplicate": False, "group": None}], {})
    data = report_data(res)
    assert data["groups"] == [] and "<!DOCTYPE html>" in render_html(res)


def test_label_error_gallery_worst_first_with_given_and_suggested(tmp_path):
    from vidaug.mining import find_label_errors

    p = np.array([[0.95, 0.05]] * 4 + [[0.05, 0.95]] * 4 + [[0.97, 0.03], [0.96, 0.04]])
    given = ["fight"] * 4 + ["noFight"] * 6  # the last two look like fight
    ids = [f"c{i}" for i in range(9)] + [EVIL]
    res = find_label_errors(p, given, ["fight", "noFight"], ids=ids)
    rows_path, _ = save_results(tmp_path / "label_errors.jsonl", check_results(res))
    back = load_results(rows_path)
    assert back.kind == "label_errors"
    data = report_data(back)
    shown = [data["clips"][r["c"]]["id"] for r in data["rows"]]
    assert shown == ["c8", EVIL]  # errors only, worst (highest 1 − p(given)) first
    assert [r["p"] for r in data["rows"]] == ["fight", "fight"]
    page = render_html(back)
    assert "<h1>Label errors</h1>" in page and EVIL not in page.split("report-data")[0]
