"""Inputs → manifest rows (vidaug.datasets._manifest)."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import pytest

from vidaug.datasets import ManifestRow, load_rows, read_jsonl, safe_relpath, write_jsonl
from vidaug.errors import ManifestError


def touch(root: Path, *rels: str) -> None:
    """Create small placeholder files (load_rows never opens them)."""
    for rel in rels:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\x00")


def table(rows: list[ManifestRow]) -> list[tuple[str, str | None]]:
    return [(r.rel, r.label) for r in rows]


# ---------------------------------------------------------------------------------------------
# Directories and single files
# ---------------------------------------------------------------------------------------------


def test_directory_with_class_subfolders_gives_labels(tmp_path):
    touch(
        tmp_path,
        "walk/b.mp4",
        "walk/a.AVI",  # extensions compare lowercase
        "run/deep/er/c.mkv",  # the first-level folder is the label
        "root.mov",
        "run/notes.txt",  # not a video
        ".cache/x.mp4",  # hidden folder
        "walk/.partial.mp4.123-0.tmp.mp4",  # hidden file (e.g. an interrupted atomic write)
    )
    rows = load_rows(tmp_path)
    assert table(rows) == [
        ("root.mov", None),
        ("run/deep/er/c.mkv", "run"),
        ("walk/a.AVI", "walk"),
        ("walk/b.mp4", "walk"),
    ]
    for r in rows:
        assert os.path.isabs(r.path) and r.path == str(tmp_path / r.rel)
        assert r.split is None and r.extra == {}


def test_flat_directory_is_unlabeled(tmp_path):
    touch(tmp_path, "b.mp4", "a.webm", "c.flv")
    assert table(load_rows(tmp_path)) == [("a.webm", None), ("b.mp4", None), ("c.flv", None)]


def test_relative_directory_gives_absolute_paths(tmp_path, monkeypatch):
    touch(tmp_path, "data/x/1.mp4")
    monkeypatch.chdir(tmp_path)
    (row,) = load_rows("data")
    assert row.path == str(tmp_path / "data" / "x" / "1.mp4") and row.rel == "x/1.mp4"


def test_single_video_file(tmp_path):
    touch(tmp_path, "some/where/clip.MP4")
    (row,) = load_rows(tmp_path / "some" / "where" / "clip.MP4")
    assert row == ManifestRow(path=str(tmp_path / "some/where/clip.MP4"), rel="clip.MP4")


# ---------------------------------------------------------------------------------------------
# CSV and JSONL manifests
# ---------------------------------------------------------------------------------------------


def test_csv_manifest(tmp_path, monkeypatch):
    touch(tmp_path, "data/clips/a.mp4")
    (tmp_path / "data" / "m.csv").write_text(
        "\ufeffpath,label,split,group\n"  # a BOM (Excel) is tolerated
        "clips/a.mp4,fight,train,g1\n"
        f"{tmp_path}/elsewhere/b.mp4,,val,\n"  # absolute path; empty label → None
        "\n"
        '"clips/with, comma.mp4",noFight,,g2\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # paths resolve against the manifest's folder, not the cwd
    rows = load_rows("data/m.csv")
    assert [(r.rel, r.label, r.split, r.extra) for r in rows] == [
        ("clips/a.mp4", "fight", "train", {"group": "g1"}),
        ("clips/with, comma.mp4", "noFight", None, {"group": "g2"}),
        ("elsewhere/b.mp4", None, "val", {"group": None}),  # not the whole absolute path
    ]
    assert rows[0].path == str(tmp_path / "data" / "clips" / "a.mp4")
    assert rows[2].path == str(tmp_path / "elsewhere" / "b.mp4")


def test_jsonl_manifest_keeps_extra_values(tmp_path):
    lines = [
        {"path": "v/x.mp4", "label": "a", "group": "yt:1", "fps": 29.97, "frames": 60},
        {"path": "v/y.mp4", "label": "", "split": "test", "group": None},
        {"path": "z.mp4", "label": 3},
    ]
    m = tmp_path / "m.jsonl"
    m.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n", encoding="utf-8")
    rows = load_rows(m)
    assert [(r.rel, r.label, r.split) for r in rows] == [
        ("v/x.mp4", "a", None),
        ("v/y.mp4", None, "test"),
        ("z.mp4", "3", None),
    ]
    assert rows[0].extra == {"group": "yt:1", "fps": 29.97, "frames": 60}
    assert rows[1].extra == {"group": None}
    assert rows[0].to_dict() == {
        "path": "v/x.mp4",
        "label": "a",
        "group": "yt:1",
        "fps": 29.97,
        "frames": 60,
    }
    assert rows[1].to_dict() == {"path": "v/y.mp4", "split": "test"}  # None left out


def test_a_listed_file_that_does_not_exist_is_not_an_error_here(tmp_path):
    (tmp_path / "m.csv").write_text("path\nghost.mp4\n")
    (row,) = load_rows(tmp_path / "m.csv")
    assert row.rel == "ghost.mp4" and not Path(row.path).exists()


def test_absolute_paths_get_short_rels(tmp_path):
    """Absolute manifest paths: rel starts at the folder that holds them all (issue 9: curated
    clips landed under train/<the whole absolute path>)."""
    rows = [{"path": str(tmp_path / "mnt" / "data" / c / f"{c}.mp4")} for c in ("cam1", "cam2")]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert [r.rel for r in load_rows(tmp_path / "m.jsonl")] == ["data/cam1/cam1.mp4",
                                                                 "data/cam2/cam2.mp4"]  # fmt: skip


def test_manifest_paths_are_sanitised_for_rel(tmp_path):
    (tmp_path / "m.jsonl").write_text(
        "\n".join(
            json.dumps({"path": p})
            for p in ["../../etc/passwd.mp4", "/abs/x.mp4", "C:\\data\\y.mp4", "./a/./b.mp4"]
        )
    )
    rows = load_rows(tmp_path / "m.jsonl")
    assert [r.rel for r in rows] == ["a/b.mp4", "abs/x.mp4", "data/y.mp4", "etc/passwd.mp4"]
    by_rel = {r.rel: r.path for r in rows}
    assert by_rel["etc/passwd.mp4"] == os.path.abspath(tmp_path / "../../etc/passwd.mp4")
    assert by_rel["abs/x.mp4"] == "/abs/x.mp4"


def test_duplicate_rels_get_a_deterministic_suffix(tmp_path):
    lines = ["path,label", "a/x.mp4,one", "../a/x.mp4,two", "/a/x.mp4,three", "a/y.mp4,four"]
    sha = {p: hashlib.sha1(p.encode()).hexdigest()[:8] for p in ("a/x.mp4", "/a/x.mp4")}
    want = [
        ("a/x.mp4", "two"),  # "../a/x.mp4" sorts first among the three raw paths
        (f"a/x__{sha['/a/x.mp4']}.mp4", "three"),
        (f"a/x__{sha['a/x.mp4']}.mp4", "one"),
        ("a/y.mp4", "four"),
    ]
    want.sort()
    rng = random.Random(0)
    for attempt in range(4):  # the listing order does not matter
        body = lines[1:]
        rng.shuffle(body)
        (tmp_path / f"m{attempt}.csv").write_text("\n".join([lines[0], *body]) + "\n")
        rows = load_rows(tmp_path / f"m{attempt}.csv")
        assert table(rows) == want
        assert len({r.rel for r in rows}) == len(rows)


def test_shared_manifest_jsonl_loads(shared_data, shared_manifest):
    rows = load_rows(shared_data / "manifest.jsonl")
    assert len(rows) == len(shared_manifest)
    assert [r.rel for r in rows] == sorted(m["path"] for m in shared_manifest)
    first = {m["path"]: m for m in shared_manifest}
    for r in rows:
        m = first[r.rel]
        assert r.label == m["label"] and Path(r.path).is_file()
        assert {"group", "sha256", "fps", "frames"} <= set(r.extra)
        assert r.extra["sha256"] == m["sha256"] and r.extra["group"] == m["group"]


def test_shared_labels_csv_loads(shared_data):
    lines = (shared_data / "labels.csv").read_text(encoding="utf-8").splitlines()
    rows = load_rows(shared_data / "labels.csv")
    assert len(rows) == len(lines) - 1
    assert all(r.label and Path(r.path).is_file() for r in rows)


def test_shared_directory_loads(shared_data):
    rows = load_rows(shared_data / "clips" / "fight_surv")
    assert {r.label for r in rows} == {"fight", "noFight"}
    assert all(r.rel.startswith(f"{r.label}/") for r in rows)


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def _write(name: str, text: str):
    def make(d: Path) -> Path:
        (d / name).write_text(text, encoding="utf-8")
        return d / name

    return make


def _empty_dir(d: Path) -> Path:
    (d / "empty").mkdir()
    return d / "empty"


def _dir_without_videos(d: Path) -> Path:
    touch(d, "stuff/readme.txt", "stuff/.hidden/x.mp4")
    return d / "stuff"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nope", "nope: no such file or directory"),
        (_empty_dir, "empty: no video files found"),
        (_dir_without_videos, "stuff: no video files found"),
        (_write("m.csv", "file,label\na.mp4,x\n"), "m.csv: no 'path' column in the header"),
        (_write("m.csv", ""), "m.csv: no 'path' column in the header (columns: none)"),
        (_write("m.csv", "path,label\n"), "m.csv: the manifest has no rows"),
        (_write("m.csv", "path,label\na.mp4,x\n,y\n"), "m.csv:3: empty or invalid 'path'"),
        (_write("m.csv", "path,label\na.mp4,x,extra\n"), "m.csv:2: more fields than"),
        (_write("m.csv", "path\n..\n"), "m.csv:2: 'path' '..' does not name a file"),
        (_write("m.jsonl", '{"path": "a.mp4"}\n{"path": "b.mp4",\n'), "m.jsonl:2: invalid JSON"),
        (_write("m.jsonl", '\n\n["a.mp4"]\n'), "m.jsonl:3: expected a JSON object, got list"),
        (_write("m.jsonl", '{"label": "x"}\n'), "m.jsonl:1: empty or invalid 'path' (missing)"),
        (_write("m.jsonl", '{"path": 5}\n'), "m.jsonl:1: empty or invalid 'path' (5)"),
        (_write("m.jsonl", "\n"), "m.jsonl: the manifest has no rows"),
        (
            _write("list.txt", "a.mp4\n"),
            "list.txt: not a video, directory, .csv or .jsonl manifest",
        ),
    ],
)
def test_manifest_errors_name_file_and_line(tmp_path, make, message):
    source = make(tmp_path)
    with pytest.raises(ManifestError) as info:
        load_rows(source)
    text = str(info.value)
    assert message in text and str(tmp_path) in text and "\n" not in text


# ---------------------------------------------------------------------------------------------
# safe_relpath
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "etc/passwd"),
        ("/abs/x.mp4", "abs/x.mp4"),
        ("C:\\x\\y.mp4", "x/y.mp4"),
        ("c:/x/y.mp4", "x/y.mp4"),
        ("\\\\server\\share\\v.mp4", "server/share/v.mp4"),
        ("a/./b/../c.mp4", "a/b/c.mp4"),
        ("a//b/", "a/b"),
        ("a:b.mp4", "a:b.mp4"),  # a colon inside a name is not a drive
        ("plain.mp4", "plain.mp4"),
        ("..hidden/x.mp4", "..hidden/x.mp4"),
    ],
)
def test_safe_relpath(raw, safe):
    out = safe_relpath(raw)
    assert out == safe
    assert not out.startswith("/") and ".." not in out.split("/") and "\\" not in out


@pytest.mark.parametrize("raw", ["", ".", "..", "/", "../..", "C:\\", "\\\\", "./../."])
def test_safe_relpath_rejects_paths_with_nothing_left(raw):
    with pytest.raises(ManifestError, match="not a usable relative path"):
        safe_relpath(raw)


# ---------------------------------------------------------------------------------------------
# ManifestRow and JSONL helpers
# ---------------------------------------------------------------------------------------------


def test_manifest_row_is_frozen_and_hashable():
    row = ManifestRow("/d/a.mp4", "a.mp4", "x", extra={"group": "g"})
    assert hash(row) == hash(ManifestRow("/d/a.mp4", "a.mp4", "x", extra={"group": "h"}))
    with pytest.raises(AttributeError):
        row.rel = "b.mp4"  # type: ignore[misc]


def test_to_dict_never_lets_extra_override_core_keys():
    row = ManifestRow("/d/a.mp4", "a.mp4", extra={"path": "/evil", "label": "z", "g": 1})
    assert row.to_dict() == {"path": "a.mp4", "g": 1}


def test_write_then_read_jsonl(tmp_path):
    rows = [{"path": "é/a.mp4", "label": "café", "n": 1}, {"z": None, "a": [1, 2]}]
    out = write_jsonl(tmp_path / "sub" / "m.jsonl", rows)
    text = out.read_text(encoding="utf-8")
    assert text == (
        '{"path":"é/a.mp4","label":"café","n":1}\n'  # compact, keys in order, UTF-8
        '{"z":null,"a":[1,2]}\n'
    )
    assert read_jsonl(out) == rows
    assert [p.name for p in out.parent.iterdir()] == ["m.jsonl"]  # no temp file left


def test_write_jsonl_of_nothing_is_an_empty_file(tmp_path):
    assert write_jsonl(tmp_path / "e.jsonl", iter([])).read_bytes() == b""
    assert read_jsonl(tmp_path / "e.jsonl") == []


def test_read_jsonl_missing_file(tmp_path):
    with pytest.raises(ManifestError, match="nope.jsonl: no such file"):
        read_jsonl(tmp_path / "nope.jsonl")


def test_manifest_rows_round_trip_through_jsonl(tmp_path):
    touch(tmp_path, "data/a/1.mp4", "data/b/2.mp4")
    rows = load_rows(tmp_path / "data")
    m = write_jsonl(tmp_path / "data" / "manifest.jsonl", (r.to_dict() for r in rows))
    again = load_rows(m)
    assert [(r.path, r.rel, r.label) for r in again] == [(r.path, r.rel, r.label) for r in rows]


def test_rows_remember_the_path_as_the_input_wrote_it(tmp_path):
    """Reports name clips the way the user wrote them (issue 19: label errors by input path)."""
    (tmp_path / "data" / "fight").mkdir(parents=True)
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / "data" / "fight" / name).write_bytes(b"x")
    absolute = str(tmp_path / "data" / "fight" / "a.mp4")
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps({"path": absolute, "label": "fight"}) + "\n"
                 + json.dumps({"path": "data/fight/b.mp4", "label": "fight"}) + "\n")  # fmt: skip
    got = {r.path: r.given for r in load_rows(m)}
    assert got[absolute] == absolute
    assert got[str(tmp_path / "data/fight/b.mp4")] == "data/fight/b.mp4"
    assert {r.given for r in load_rows(tmp_path / "data")} == {"fight/a.mp4", "fight/b.mp4"}
    assert load_rows(absolute)[0].given == absolute
