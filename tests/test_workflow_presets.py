"""Workflows by name (issue 20 §4): the presets in ``vidaug/training/workflows/*.yaml``, a
preset with key=value changes, a file based on a preset, ``vidaug workflows``, ``train
--workflow`` and ``compare -a/-b``, and what the model's sidecar records.

The presets' values live in their YAML files only: these tests read them, never repeat them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO, write_labelled_clips
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.errors import UsageError, VidaugError
from vidaug.pipelines import cv_config, plan_training
from vidaug.training import WORKFLOWS, TrainConfig, describe_workflows

runner = CliRunner()
FOLDER = REPO / "vidaug" / "training" / "workflows"
#: The keys in which the recommended workflow and its no-augmentation baseline may differ.
AUGMENTATION_KEYS = {"recipe", "views", "tta"}


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _default(key: str):
    return TrainConfig.model_fields[key].default


# -- the presets --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", WORKFLOWS)
def test_presets_load(name):
    raw = yaml.safe_load((FOLDER / f"{name}.yaml").read_text(encoding="utf-8"))
    assert raw["name"] == name
    assert raw["description"].strip() and "\n" not in raw["description"]  # one line
    keys = {k: v for k, v in raw.items() if k not in ("name", "description")}
    assert keys and set(keys) <= set(TrainConfig.model_fields) - {"workflow"}
    c = TrainConfig.parse(name)
    assert c.workflow == name
    assert c == TrainConfig.parse(keys).model_copy(update={"workflow": name})  # its keys only
    assert TrainConfig.parse(c.describe()) == c and c.describe().startswith(f"{name} model=")


def test_the_folder_holds_the_presets_and_ships_with_the_package():
    assert sorted(p.stem for p in FOLDER.glob("*.yaml")) == sorted(WORKFLOWS)
    assert not list(FOLDER.glob("*.yml")) and "recommended" in WORKFLOWS
    tomllib = pytest.importorskip("tomllib")
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "workflows/*.yaml" in data["package-data"]["vidaug.training"]


def test_no_aug_is_the_recommended_workflow_without_augmentation():
    """The two stay a fair pair whichever of them is tuned."""
    rec, base = TrainConfig.parse("recommended"), TrainConfig.parse("recommended-no-aug")
    a, b = rec.model_dump(exclude={"workflow"}), base.model_dump(exclude={"workflow"})
    assert {k for k in a if a[k] != b[k]} <= AUGMENTATION_KEYS
    assert rec.recipe is not None and base.recipe is None
    assert (base.views, base.tta) == (_default("views"), _default("tta"))


def test_describe_workflows_lists_every_preset_in_order():
    named = describe_workflows()
    assert [w["name"] for w in named] == list(WORKFLOWS)
    for w in named:
        raw = yaml.safe_load((FOLDER / f"{w['name']}.yaml").read_text(encoding="utf-8"))
        assert w["description"] == raw["description"]
        assert TrainConfig.parse(w["config"]) == TrainConfig.parse(w["name"])
        assert json.loads(json.dumps(w["config"])) == w["config"]  # plain JSON


# -- parse: names, changes, files, words --------------------------------------------------------


def test_a_name_with_changes():
    c = TrainConfig.parse("recommended epochs=20 members=3")
    assert c == TrainConfig.parse("recommended").model_copy(update={"epochs": 20, "members": 3})
    assert c.workflow == "recommended"
    assert TrainConfig.parse("workflow=recommended epochs=20 members=3") == c
    assert TrainConfig.parse({"workflow": "recommended", "epochs": 20, "members": 3}) == c
    assert TrainConfig.parse("recommended", {"epochs": 20, "members": 3}) == c
    assert TrainConfig.parse("recommended epochs=9", {"epochs": 20, "members": 3}) == c  # wins
    assert TrainConfig.parse("recommended recipe=none tta=1").recipe is None
    with pytest.raises(VidaugError, match="tta > 1 needs a recipe"):  # its 4 test-time views
        TrainConfig.parse("recommended recipe=none")
    assert TrainConfig.parse(c) == c and TrainConfig.parse(c, {"epochs": 2}).epochs == 2


def test_bare_words_start_from_the_defaults():
    c = TrainConfig.parse("model=seed epochs=3")
    assert c.workflow is None
    assert c == TrainConfig().model_copy(update={"model": "seed", "epochs": 3})
    assert c.describe() == "model=seed epochs=3"
    assert TrainConfig.parse("") == TrainConfig() and TrainConfig().workflow is None


@pytest.mark.parametrize(
    "text",
    [
        "recommended",
        "plain hook=true hook_views=worst streams=rgb,diff",
        "recommended recipe=none tta=1",  # back to a default the preset changes
        "recommended-no-aug epochs=2 fps=5.0 lr=0.001",
        "model=seed streams=diff recipe=light tta=2",
    ],
)
def test_describe_round_trips(text):
    c = TrainConfig.parse(text)
    assert TrainConfig.parse(c.describe()) == c
    assert TrainConfig.parse(c.model_dump()) == c
    assert TrainConfig.parse(yaml.safe_load(c.to_yaml())) == c


@pytest.mark.parametrize(
    "text, close",
    [("recomended", "recommended"), ("plian epochs=3", "plain"), ("xyz", None)],
)
def test_unknown_name_lists_the_presets(text, close):
    with pytest.raises(UsageError) as e:
        TrainConfig.parse(text)
    msg = str(e.value)
    assert all(name in msg for name in WORKFLOWS) and "\n" not in msg
    assert (f"did you mean {close!r}" in msg) if close else "did you mean" not in msg
    with pytest.raises(UsageError, match="no such workflow"):
        TrainConfig.parse({"workflow": text.split()[0]})


def test_a_file_may_start_from_a_preset(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("description: my notes\nworkflow: plain\nepochs: 3\n")
    assert TrainConfig.parse(f) == TrainConfig.parse("plain epochs=3")
    assert TrainConfig.parse(str(f)).workflow == "plain"
    assert TrainConfig.parse(f"{f} epochs=4 batch=2") == TrainConfig.parse("plain epochs=4 batch=2")
    j = tmp_path / "mine.json"
    j.write_text(json.dumps({"workflow": "recommended", "members": 2}))
    assert TrainConfig.parse(j) == TrainConfig.parse("recommended members=2")
    own = tmp_path / "own.yml"
    own.write_text("model: seed\nepochs: 3\n")
    assert TrainConfig.parse(own) == TrainConfig.parse("model=seed epochs=3")
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflow: recommended\ncolour: 1\n")
    with pytest.raises(VidaugError, match=r"bad.yaml: colour"):
        TrainConfig.parse(bad)
    bad.write_text("workflow: recomended\n")
    with pytest.raises(UsageError, match="did you mean 'recommended'"):
        TrainConfig.parse(bad)
    with pytest.raises(VidaugError, match="no such config file"):
        TrainConfig.parse(f"{tmp_path / 'missing.yaml'} epochs=3")


def test_a_saved_workflow_is_rebuilt_from_its_keys():
    c = TrainConfig.parse("recommended epochs=7")
    meta = {"config": json.loads(json.dumps(c.model_dump()))}  # as the sidecar holds it
    assert cv_config(meta, epochs=None, fps=None, tta=None) == c
    assert cv_config(meta, epochs=2, fps=None, tta=None).epochs == 2
    gone = {"config": {**meta["config"], "workflow": "renamed-since"}}
    old = cv_config(gone, epochs=None, fps=None, tta=None)  # its keys, not a preset's
    assert old.workflow is None and old.model_dump(exclude={"workflow"}) == c.model_dump(
        exclude={"workflow"}
    )


def test_plan_training_takes_a_workflow_and_changes(tmp_path):
    data = write_labelled_clips(tmp_path / "d", per_class=2, t=4)
    plan = plan_training(data, "plain", {"members": 3})
    assert plan.config == TrainConfig.parse("plain members=3")
    assert plan.model == plan.config.model and not plan.from_file
    assert plan_training(data).config == TrainConfig.parse("recommended")
    cont = plan_training(data, "recommended", {"model": "old.keras", "epochs": 1})
    assert cont.from_file and cont.model == "old.keras" and not cont.needs_weights
    assert cont.config == TrainConfig.parse("recommended epochs=1")


# -- the command line ---------------------------------------------------------------------------


def test_cli_names_match_the_library():
    from vidaug.cli._choices import WORKFLOW_NAMES

    assert WORKFLOW_NAMES == WORKFLOWS


def test_vidaug_workflows_lists_one_line_each():
    r = run("workflows")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert len(lines) == len(WORKFLOWS)
    for line, w in zip(lines, describe_workflows(), strict=True):
        assert line.split()[0] == w["name"] and line.endswith(w["description"])
    r = run("workflows", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == describe_workflows()


def test_vidaug_workflows_name_prints_every_key(tmp_path):
    r = run("workflows", "recommended")
    assert r.exit_code == 0, r.output
    about = describe_workflows()[0]["description"]
    assert r.stdout.startswith(f"# recommended: {about}\n")
    keys = yaml.safe_load(r.stdout)
    assert set(keys) == set(TrainConfig.model_fields)  # every key
    saved = tmp_path / "wf.yaml"
    saved.write_text(r.stdout)
    assert TrainConfig.parse(saved) == TrainConfig.parse("recommended")  # a file train reads
    r = run("workflows", "plain epochs=3", "--json")
    assert r.exit_code == 0 and TrainConfig.parse(json.loads(r.stdout)).epochs == 3
    r = run("workflows", "recomended")
    assert r.exit_code == 2 and "did you mean 'recommended'" in r.stderr
    r = runner.invoke(app, ["workflows", "--help"], terminal_width=120)
    assert "Usage: vidaug workflows [OPTIONS] [SHOW]" in r.output


def test_train_and_compare_help_name_the_workflows():
    r = runner.invoke(app, ["train", "--help"], terminal_width=200)
    assert r.exit_code == 0 and "--workflow" in r.output
    assert all(name in r.output for name in WORKFLOWS) and "[default: recommended]" in r.output
    r = runner.invoke(app, ["compare", "--help"], terminal_width=200)
    assert r.exit_code == 0 and "vidaug workflows" in r.output
    assert "[default: recommended-no-aug]" in r.output and "[default: recommended]" in r.output


@pytest.fixture
def planned(monkeypatch):
    """What ``train`` hands to ``plan_training`` (it stops there: no TensorFlow)."""
    import vidaug.pipelines

    seen = []

    def fake(manifest, workflow="recommended", overrides=None):
        seen.append((workflow, overrides))
        raise VidaugError("planned")

    monkeypatch.setattr(vidaug.pipelines, "plan_training", fake)
    return seen


def test_train_options_change_single_keys(tmp_path, planned):
    r = run("train", tmp_path, "--workflow", "plain epochs=3", "--members", 3, "--no-hook",
            "--hook-views", "worst", "--decode-fps", 5, "--recipe", "none")  # fmt: skip
    assert r.exit_code == 1 and "planned" in r.stderr
    assert planned == [("plain epochs=3", {"members": 3, "hook": False, "hook_views": "worst",
                                           "fps": 5.0, "recipe": "none"})]  # fmt: skip
    run("train", tmp_path)
    assert planned[-1] == ("recommended", {})  # no option given: the workflow as it is


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["--workflow", "recomended"], 2, "did you mean 'recommended'"),
        (["--workflow", "recommended tta=3", "--recipe", "none"], 1, "tta > 1 needs a recipe"),
    ],
)
def test_train_refuses_a_bad_workflow_before_any_work(tmp_path, args, code, words):
    data = write_labelled_clips(tmp_path / "d", per_class=2, t=4)
    r = run("train", data, *args, "--out", tmp_path / "m.keras")
    assert r.exit_code == code, r.output
    assert words in r.stderr and not (tmp_path / "m.keras").exists()


def test_compare_refuses_an_unknown_workflow(tmp_path):
    r = run("compare", tmp_path, "-a", "recommended", "-b", "plian")
    assert r.exit_code == 2 and "did you mean 'plain'" in r.stderr


# -- what the model records ---------------------------------------------------------------------


@pytest.mark.slow
def test_sidecar_records_the_workflow_and_its_config(tmp_path):
    data = write_labelled_clips(tmp_path / "d", per_class=3, t=6)
    m = tmp_path / "m.keras"
    r = run("train", data, "--model", "seed", "--epochs", 1, "--frames", 2, "--out", m, "--json")
    assert r.exit_code == 0, r.output
    want = TrainConfig.parse("recommended model=seed epochs=1 frames=2")  # the default workflow
    side = json.loads(Path(f"{m}.json").read_text())
    assert side["workflow"] == "recommended" and "continued" not in side
    assert TrainConfig.parse(side["config"]) == want
    assert side["recipe_spec"] == want.recipe and side["tta"] == want.tta
    s = json.loads(r.stdout)
    assert s["workflow"] == "recommended" and s["config"] == side["config"]
    r = run("evaluate", m, data, "--cv", 2, "--seeds", 0, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["summary"]["config"] == want.describe()
    r = run("train", data, "--workflow", "model=seed frames=2", "--epochs", 1, "--out", m)
    assert r.exit_code == 0, r.output
    assert "workflow: model=seed frames=2 epochs=1" in " ".join(r.stdout.split())
    side = json.loads(Path(f"{m}.json").read_text())
    assert side["workflow"] is None
    assert TrainConfig.parse(side["config"]) == TrainConfig.parse("model=seed frames=2 epochs=1")
