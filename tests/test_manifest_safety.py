"""Issue 18 §1, §5, §6: manifest values that become paths are names; a manifest that lists one
file twice, is not UTF-8, has a NUL byte or a non-finite number is refused before any work
(exit 2, one line naming file:line); vidaug's own JSON never holds NaN / Infinity."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import make_clip
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_cli_augment import run

from vidaug.augment import to_jsonable
from vidaug.datasets import load_rows, read_jsonl, write_clip, write_jsonl
from vidaug.errors import ManifestError, ManifestWarning, VidaugError


def clips(root: Path, *rels: str) -> Path:
    """Tiny real mp4 files (2 frames) at ``root/<rel>``."""
    for i, rel in enumerate(rels):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        write_clip(p, make_clip(2, 32, 32, seed=i), fps=10.0)
    return root


def files(root: Path) -> dict[str, str]:
    """Every file below ``root``: relative path → sha1 of its bytes."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """tmp/data/{a1,a2,b1,b2,important.txt}: real clips next to the manifests the tests write."""
    root = clips(tmp_path / "data", "a1.mp4", "a2.mp4", "b1.mp4", "b2.mp4", "important.mp4")
    (root / "important.mp4").rename(root / "important.txt")  # a video by its bytes
    return root


def csv_manifest(data: Path, *rows: str, name: str = "m.csv") -> Path:
    body = ["a1.mp4,fight,train", "a2.mp4,fight,val", "b1.mp4,noFight,train", "b2.mp4,noFight,val"]
    m = data / name
    m.write_text("\n".join(["path,label,split", *body, *rows]) + "\n", encoding="utf-8")
    return m


def one_error_line(r, *needles: str) -> None:
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ---------------------------------------------------------------------------------------------
# §1: a manifest value is a name, never a path
# ---------------------------------------------------------------------------------------------


def test_curate_refuses_a_split_that_is_an_absolute_path(data, tmp_path):
    """Issue 18 §1: ``important.txt,fight,/abs/victim`` overwrote /abs/victim/important.txt."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "important.txt").write_text("precious")
    m = csv_manifest(data, f"important.txt,fight,{victim}")
    before = files(tmp_path)
    r = run("curate", m, tmp_path / "out")
    assert r.exit_code == 2, r.output
    one_error_line(r, "m.csv:6: column 'split'", repr(str(victim))[:40], "is not a name")
    assert (victim / "important.txt").read_text() == "precious"
    assert files(tmp_path) == before  # nothing written anywhere (OUTPUT not even created)


def test_curate_refuses_a_split_that_climbs_out(data, tmp_path):
    """Issue 18 §1: split ``../../evil`` wrote OUTPUT/../../evil/clips/fi028.mp4."""
    m = csv_manifest(data, "important.txt,fight,../../evil")
    before = files(tmp_path)
    r = run("curate", m, tmp_path / "a" / "out")
    assert r.exit_code == 2, r.output
    one_error_line(r, "m.csv:6: column 'split': '../../evil' is not a name")
    assert files(tmp_path) == before


def test_augment_refuses_a_label_that_is_a_path_before_any_work(data, tmp_path):
    m = csv_manifest(data, "important.txt,a/b,train")
    r = run("augment", m, tmp_path / "out", "--recipe", "light")
    assert r.exit_code == 2, r.output
    one_error_line(r, "m.csv:6: column 'label': 'a/b' is not a name")
    assert not (tmp_path / "out").exists()


def test_curate_joins_split_and_clip_inside_output_only(data, tmp_path, monkeypatch):
    """Defence in depth: were a split that is not a name to get past load_rows, curate's
    OUTPUT/<split>/<rel> join still refuses it (before: it wrote OUTPUT/../evil/a1.mp4)."""
    import vidaug.pipelines._curate as cur

    rows = [r.__class__(r.path, r.rel, r.label, "../evil" if r.rel == "a1.mp4" else r.split)
            for r in load_rows(csv_manifest(data))]  # fmt: skip
    monkeypatch.setattr(cur, "load_rows", lambda source: rows)
    with pytest.raises(VidaugError, match="would leave the output folder"):
        cur.curate(data, tmp_path / "out")
    assert not (tmp_path / "evil").exists()


BAD_NAMES = ["/abs/x", "..", ".", "a/b", "a\\b", "x\x00y", "tab\there", "a" * 256, "é" * 128]
GOOD_NAMES = ["a" * 255, "..a", "a.b", "yt:1", "café", "train ", "3"]


@pytest.mark.parametrize("column", ["label", "split", "group"])
@pytest.mark.parametrize("value", BAD_NAMES)
def test_jsonl_values_used_in_paths_must_be_names(tmp_path, column, value):
    m = tmp_path / "m.jsonl"
    rows = [{"path": "ok.mp4", "label": "x"}, {"path": "bad.mp4", "label": "x", column: value}]
    m.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        load_rows(m)
    msg = str(info.value)
    assert msg.startswith(f"{m}:2: column '{column}': ") and "is not a name" in msg
    assert "\n" not in msg and "\x00" not in msg and len(msg) < 400


@pytest.mark.parametrize("column", ["label", "split", "group"])
def test_csv_values_used_in_paths_must_be_names(tmp_path, column):
    m = tmp_path / "m.csv"
    for value in BAD_NAMES:
        quoted = '"' + value.replace('"', '""') + '"'
        m.write_text(f"path,{column}\nok.mp4,x\nbad.mp4,{quoted}\n", encoding="utf-8")
        with pytest.raises(ManifestError, match=rf"m\.csv:3: column '{column}': .* is not a name"):
            load_rows(m)


@pytest.mark.parametrize("column", ["label", "split", "group"])
def test_names_that_are_fine(tmp_path, column):
    m = tmp_path / "m.jsonl"
    m.write_text(
        "".join(
            json.dumps({"path": f"{i}.mp4", column: v}) + "\n" for i, v in enumerate(GOOD_NAMES)
        )
    )
    rows = load_rows(m)
    got = [r.label if column == "label" else r.split if column == "split" else r.extra[column]
           for r in rows]  # fmt: skip
    assert got == GOOD_NAMES


@pytest.mark.parametrize("value", [["a"], {"a": 1}])
def test_a_json_array_or_object_is_not_a_name(tmp_path, value):
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps({"path": "a.mp4", "group": value}) + "\n")
    with pytest.raises(ManifestError, match=r"m\.jsonl:1: column 'group': expected text"):
        load_rows(m)


def test_a_path_with_a_newline_keeps_the_error_on_one_line(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps({"path": "two\nlines.mp4", "label": "../x"}) + "\n")
    with pytest.raises(ManifestError) as info:
        load_rows(m)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# §5: one file listed twice; NUL; not UTF-8
# ---------------------------------------------------------------------------------------------


def test_a_file_listed_twice_with_two_labels_is_refused(data, tmp_path):
    """Issue 18 §5: it gave exit 0 and outputs with made-up sources (``fi028__6be8abc5.mp4``)."""
    m = csv_manifest(data, "./a1.mp4,noFight,train")
    with pytest.raises(ManifestError) as info:
        load_rows(m)
    msg = str(info.value)
    assert msg.startswith(f"{m}:6: './a1.mp4' is the same file as line 2 ('a1.mp4')")
    assert "label" in msg and "'fight'" in msg and "'noFight'" in msg
    r = run("augment", m, tmp_path / "out", "--recipe", "light")
    assert r.exit_code == 2, r.output
    one_error_line(r, "m.csv:6", "line 2")
    assert not (tmp_path / "out").exists()


def test_a_file_listed_twice_in_two_splits_is_refused(data):
    m = csv_manifest(data, f"{data}/b1.mp4,noFight,val")
    with pytest.raises(ManifestError, match=r"m\.csv:6: .* same file as line 4 .* split"):
        load_rows(m)


def test_a_symlink_to_a_listed_file_is_the_same_file(data):
    (data / "link.mp4").symlink_to(data / "a1.mp4")
    m = csv_manifest(data, "link.mp4,noFight,train")
    with pytest.raises(ManifestError, match=r"m\.csv:6: 'link\.mp4' is the same file as line 2"):
        load_rows(m)


def test_a_file_listed_twice_with_one_label_is_kept_once_with_a_warning(data, tmp_path):
    m = csv_manifest(data, "sub/../a1.mp4,fight,train")
    with pytest.warns(ManifestWarning, match=r"m\.csv:6: 'sub/\.\./a1\.mp4' repeats line 2"):
        rows = load_rows(m)
    assert [r.rel for r in rows] == ["a1.mp4", "a2.mp4", "b1.mp4", "b2.mp4"]
    r = run("augment", m, tmp_path / "out", "--recipe", "light")
    assert r.exit_code == 0, r.output
    warned = [x for x in r.stderr.splitlines() if x.startswith("warning:")]
    assert len(warned) == 1 and "m.csv:6" in warned[0] and "repeats line 2" in warned[0]
    sources = [json.loads(x)["source"] for x in (tmp_path / "out" / "manifest.jsonl").open()]
    assert sorted(sources) == ["a1.mp4", "a2.mp4", "b1.mp4", "b2.mp4"]


def test_different_files_with_one_name_are_still_told_apart(tmp_path):
    a, b = tmp_path / "camA" / "x.mp4", tmp_path / "camB" / "x.mp4"
    m = tmp_path / "m.csv"
    m.write_text(f"path,label\n{a},one\n{b},two\n")
    rows = load_rows(m)
    assert len({r.rel for r in rows}) == 2 and {r.label for r in rows} == {"one", "two"}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("m.jsonl", '{"path": "a.mp4"}\n{"path": "b\\u0000.mp4"}\n'),
        ("m.csv", "path\na.mp4\nb\x00.mp4\n"),
    ],
)
def test_a_nul_byte_in_a_path_is_refused(tmp_path, name, text):
    """Issue 18 §5: it became ``internal error: ValueError``."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError, match=rf"{name}:[23]: 'path' 'b\\x00\.mp4' contains a NUL"):
        load_rows(tmp_path / name)
    r = run("augment", tmp_path / name, tmp_path / "out")
    assert r.exit_code == 2, r.output
    one_error_line(r, "contains a NUL byte")


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl"])
def test_a_latin1_manifest_is_refused_naming_the_line(tmp_path, name):
    """Issue 18 §5: it became ``internal error: UnicodeDecodeError``."""
    good = [f"c{i}.mp4,x" if name == "m.csv" else json.dumps({"path": f"c{i}.mp4"})
            for i in range(5000)]  # fmt: skip
    bad = "café.mp4,x" if name == "m.csv" else json.dumps({"path": "café.mp4"}, ensure_ascii=False)
    head = ["path,label"] if name == "m.csv" else []
    text = "\n".join([*head, *good, bad, *good[:3]]) + "\n"
    (tmp_path / name).write_bytes(text.encode("latin-1"))
    line = len(head) + len(good) + 1
    with pytest.raises(ManifestError, match=rf"{name}:{line}: not UTF-8 text"):
        load_rows(tmp_path / name)
    r = run("augment", tmp_path / name, tmp_path / "out")
    assert r.exit_code == 2, r.output
    one_error_line(r, f"{name}:{line}: not UTF-8")


def test_a_utf8_bom_is_still_fine(tmp_path):
    (tmp_path / "m.jsonl").write_bytes(b'\xef\xbb\xbf{"path": "a.mp4", "label": "caf\xc3\xa9"}\n')
    assert [r.label for r in load_rows(tmp_path / "m.jsonl")] == ["café"]


# ---------------------------------------------------------------------------------------------
# §6: strict JSON in, strict JSON out
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999", "-2.5e400"])
def test_a_non_finite_number_in_a_jsonl_manifest_is_refused(tmp_path, token):
    m = tmp_path / "m.jsonl"
    m.write_text('{"path": "a.mp4"}\n\n{"path": "b.mp4", "fps": ' + token + "}\n")
    with pytest.raises(ManifestError, match=rf"m\.jsonl:3: .*{token.lstrip('-')}"):
        load_rows(m)
    with pytest.raises(ManifestError, match=r"m\.jsonl:3: "):
        read_jsonl(m)


def test_a_huge_integer_is_kept_exact_or_refused_never_infinity(tmp_path):
    big = 10**40 + 1
    m = tmp_path / "m.jsonl"
    m.write_text(json.dumps({"path": "a.mp4", "frames": big}) + "\n")
    (row,) = load_rows(m)
    assert row.extra["frames"] == big
    m.write_text('{"path": "a.mp4", "frames": ' + "9" * 5000 + "}\n")
    with pytest.raises(ManifestError, match=r"m\.jsonl:1: "):
        load_rows(m)


def test_a_huge_number_in_a_csv_stays_the_text_it_was(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("path,fps,frames\na.mp4,1e999,123456789012345678901234567890\n")
    (row,) = load_rows(m)
    assert row.extra == {"fps": "1e999", "frames": "123456789012345678901234567890"}
    out = write_jsonl(tmp_path / "o.jsonl", [row.to_dict()])
    assert "Infinity" not in out.read_text() and read_jsonl(out) == [row.to_dict()]


def test_write_jsonl_never_writes_nan_or_infinity(tmp_path):
    rows = [{"a": float("nan"), "b": [float("inf"), np.float32(-np.inf)], "c": np.float64(0.5)}]
    text = write_jsonl(tmp_path / "o.jsonl", rows).read_text()
    assert text == '{"a":null,"b":[null,null],"c":0.5}\n'
    assert read_jsonl(tmp_path / "o.jsonl") == [{"a": None, "b": [None, None], "c": 0.5}]
    assert to_jsonable({"x": np.float32(np.nan), "y": np.float64(-np.inf)}) == {
        "x": None,
        "y": None,
    }


# ---------------------------------------------------------------------------------------------
# property: whatever the values, curate writes nothing outside OUTPUT
# ---------------------------------------------------------------------------------------------

_NASTY = ["..", ".", "../..", "../../evil", "a/../../x", "a/b", "a\\b", "x\x00y", "train",
          "val", "test", "", " ", "C:", "C:\\evil", "ABS", "ABS/deep", "\\..\\x"]  # fmt: skip
_VALUES = st.one_of(
    st.sampled_from(_NASTY),
    st.sampled_from(_NASTY),  # twice: half the odd values are the classic ones
    st.text(alphabet=st.sampled_from(list("./\\ab:C\x00\n é")), max_size=8),
    st.text(max_size=10),
).map(lambda s: "ABS" + s if s.startswith("/") else s)  # absolute: inside the sandbox (below)
_PATHS = st.one_of(
    st.sampled_from(["c.mp4", "sub/c.mp4", "../c.mp4", "./c.mp4", "ABS/c.mp4", "a/../c.mp4"]),
    st.text(alphabet=st.sampled_from(list("./\\ab")), min_size=1, max_size=6).map(
        lambda s: s + ".mp4"
    ),
)


def _abs(value: str, base: Path) -> str:
    """``ABS`` stands for an absolute path inside the sandbox (a user's folder)."""
    return value.replace("ABS", str(base.parents[3] / "abs"))


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), fmt=st.sampled_from(["csv", "jsonl"]))
def test_curate_never_writes_outside_output(tmp_path, data, fmt):
    sandbox = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        _one_curation(data, fmt, sandbox)
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)


def _one_curation(data, fmt: str, sandbox: Path) -> None:
    base = sandbox / "l1" / "l2" / "l3" / "l4"  # room for `..` to climb into (and be seen)
    src, out = base / "data", base / "out"
    clip_bytes = write_clip(sandbox / "seed.mp4", make_clip(2, 32, 32), fps=10.0).read_bytes()
    (sandbox / "abs").mkdir()
    (sandbox / "abs" / "c0.mp4").write_text("a user's file")
    records = [
        {
            "path": f"c{i}.mp4",
            "label": ("fight", "noFight")[i // 2],
            "split": split,
            "group": f"g{i}",
        }
        for i, split in enumerate(data.draw(st.permutations(["train", "train", "val", "test"])))
    ]
    columns = ["path", "label", "split", "split", "group"]  # curate puts split in its paths
    cells = st.tuples(st.integers(0, 3), st.sampled_from(columns))
    for i, column in data.draw(st.lists(cells, min_size=1, max_size=3)):  # odd values
        value = data.draw(_PATHS if column == "path" else _VALUES)
        records[i][column] = _abs(value, base).replace("c.mp4", f"c{i}.mp4")
    src.mkdir(parents=True)
    m = src / f"m.{fmt}"
    if fmt == "jsonl":
        m.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        q = ['"' + str(v).replace('"', '""') + '"' for r in records for v in r.values()]
        lines = [",".join(q[i * 4 : i * 4 + 4]) for i in range(4)]
        m.write_text("path,label,split,group\n" + "\n".join(lines) + "\n", encoding="utf-8")
    try:
        rows = load_rows(m)
    except ManifestError:
        event("refused by load_rows")
        return  # refused before any work
    for r in rows:  # the clips the manifest names, where the sandbox can hold them
        p = Path(r.path)
        if p.resolve().is_relative_to(sandbox.resolve()) and not p.exists():
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(clip_bytes)
            except OSError:
                pass
    before = files(sandbox)
    try:
        from vidaug.pipelines import curate

        curate(m, out, split=data.draw(st.sampled_from([None, (0.5, 0.5)])))
        event("curated")
    except VidaugError as e:
        event(f"curate refused ({type(e).__name__})")
    after = files(sandbox)
    outside = {k: v for k, v in after.items() if not (sandbox / k).is_relative_to(out)}
    assert outside == before, sorted(set(outside.items()) ^ set(before.items()))
