"""One meaning per option, manifest column checks and quiet libraries (issue 21 §3)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from conftest import make_clip
from typer.testing import CliRunner

from vidaug.augment import load_recipe
from vidaug.cli import app
from vidaug.datasets import load_rows, write_clip
from vidaug.errors import ManifestError, ManifestWarning, RecipeError

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _touch(root: Path, *rels: str) -> None:
    for rel in rels:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\x00")


# --- manifests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "wrong", "meant"),
    [("path,lable", "lable", "label"), ("path,label,spilt", "spilt", "split"),
     ("path,label,grp", "grp", "group")],
)  # fmt: skip
def test_misspelt_csv_column_is_refused_naming_it(tmp_path, header, wrong, meant):
    m = tmp_path / "m.csv"
    m.write_text(f"{header}\na.mp4,x" + (",y" if header.count(",") == 2 else "") + "\n")
    with pytest.raises(ManifestError, match=f"column '{wrong}' is unknown; did you mean '{meant}'"):
        load_rows(m)


def test_misspelt_jsonl_column_names_the_line(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text('{"path": "a.mp4", "label": "x"}\n{"path": "b.mp4", "lable": "y"}\n')
    with pytest.raises(ManifestError, match=r"m.jsonl:2: column 'lable' is unknown"):
        load_rows(m)


def test_misspelt_column_exits_2_in_the_cli(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("path,lable\na.mp4,fight\n")
    r = run("augment", m, tmp_path / "out")
    assert r.exit_code == 2
    assert "did you mean 'label'" in r.output


def test_other_columns_are_carried_not_refused(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("path,label,camera,group\na.mp4,fight,cam7,g1\n")
    (row,) = load_rows(m)
    assert row.label == "fight"
    assert row.carried() == {"camera": "cam7", "group": "g1"}


def test_nested_class_folders_warn_once(tmp_path):
    _touch(tmp_path, "cam1/fight/x.mp4", "cam1/fight/y.mp4", "cam2/noFight/z.mp4")
    with pytest.warns(ManifestWarning, match=r"3 clips are in nested folders.*'cam1'") as got:
        rows = load_rows(tmp_path)
    assert [r.label for r in rows] == ["cam1", "cam1", "cam2"]
    assert len([w for w in got if issubclass(w.category, ManifestWarning)]) == 1


def test_class_folders_one_level_deep_do_not_warn(tmp_path, recwarn):
    _touch(tmp_path, "fight/x.mp4", "noFight/y.mp4")
    load_rows(tmp_path)
    assert not [w for w in recwarn if issubclass(w.category, ManifestWarning)]


def test_augment_manifest_carries_extra_columns(tmp_path):
    write_clip(tmp_path / "a.mp4", make_clip(6, 32, 32), fps=10.0)
    m = tmp_path / "m.csv"
    m.write_text("path,label,camera\na.mp4,fight,cam7\n")
    r = run("augment", m, tmp_path / "out", "-r", "light", "--workers", 1)
    assert r.exit_code == 0, r.output
    (entry,) = [json.loads(x) for x in (tmp_path / "out/manifest.jsonl").read_text().splitlines()]
    assert entry["camera"] == "cam7" and entry["label"] == "fight"


# --- recipes -----------------------------------------------------------------------------------


def test_misspelt_preset_suggests_the_preset():
    with pytest.raises(RecipeError, match="did you mean 'standard'"):
        load_recipe("standrad")


# --- one meaning per option --------------------------------------------------------------------


def _help(*cmd: str) -> str:
    r = run(*cmd, "--help")
    assert r.exit_code == 0, r.output
    return r.output


def test_fps_and_batch_have_one_name_per_meaning():
    for cmd in ("embed", "dedup"):
        text = _help(cmd)
        assert "--sample-fps" in text and "--fps " not in text
    assert "--model-batch" in _help("embed")
    for cmd in ("train", "evaluate"):
        text = _help(cmd)
        assert "--decode-fps" in text and "--sample-fps" not in text


def test_copies_compare_report_export_spellings():
    assert "--copies" in _help("preview")
    text = _help("compare")
    assert "--workflow-a" in text and "--workflow-b" in text
    assert "--json" in _help("report")
    assert "--tflite" not in _help("export")


def test_report_json_prints_the_summary(tmp_path):
    from vidaug.report import Results, save_results

    rows = [{"id": "a.mp4", "label": "x", "hard_score": 0.5}]
    res_path = tmp_path / "r.jsonl"
    save_results(
        res_path, Results(kind="hard", rows=rows, meta={"kind": "hard", "summary": {"hard": 1}})
    )
    r = run("report", res_path, "--no-thumbnails", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["rows"] == 1 and data["kind"] == "hard" and data["summary"] == {"hard": 1}
    assert Path(data["report"]).is_file()


# --- quiet library calls -------------------------------------------------------------------------


def test_cross_validate_mutes_tensorflow_warnings_and_restores_the_level():
    from vidaug.pipelines._cross_validate import quiet_tf_logger

    logger = logging.getLogger("tensorflow")
    before = logger.level
    with quiet_tf_logger():
        assert not logger.isEnabledFor(logging.WARNING)
        assert logger.isEnabledFor(logging.ERROR)
    assert logger.level == before
