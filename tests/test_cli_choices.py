"""Fixed CLI choices are usage errors (exit 2) before any work, and match the library (issue 10
§1: `dedup --keep bogus` was an internal error, a bad `--index-type` failed after embedding)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.cli._choices import Damaged, HookViews, IndexType, Keep

runner = CliRunner()


def test_choices_match_the_library():
    from vidaug.mining._dedup import KEEP_POLICIES
    from vidaug.mining._index import KINDS

    assert [k.value for k in Keep] == list(KEEP_POLICIES)
    assert [k.value for k in IndexType] == list(KINDS)
    assert {d.value for d in Damaged} == {"keep", "skip"}
    assert {h.value for h in HookViews} == {"random", "worst"}


@pytest.mark.parametrize(
    "args",
    [
        ["dedup", "{missing}", "--keep", "bogus"],
        ["embed", "{missing}", "--index-type", "hnsw"],
        ["augment", "{missing}", "{out}", "--damaged", "maybe"],
        ["train", "{missing}", "--hook-views", "best"],
    ],
)
def test_bad_choice_is_a_usage_error_before_any_work(tmp_path, args):
    args = [a.format(missing=tmp_path / "nothing", out=tmp_path / "out") for a in args]
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert "Invalid value" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


def _options_by_command() -> dict[str, dict[str, str]]:
    """``{command: {--flag: help}}`` for every command of the typer app."""
    import typer.main

    group = typer.main.get_command(app)
    out = {}
    for name, cmd in group.commands.items():
        out[name] = {
            o: p.help or ""
            for p in cmd.params
            if p.param_type_name == "option"
            for o in p.opts
            if o.startswith("--")
        }
    return out


def test_each_option_name_has_one_meaning():
    """issue 10 §4: ``--model`` meant the frame embedder (embed, search, dedup, curate), the
    classifier to train (train) and a classifier for evidence (mine-hard). Now ``--embedder``,
    ``--model`` and ``--classifier``; an option that several commands share has one help text."""
    opts = _options_by_command()
    assert [c for c, o in opts.items() if "--model" in o] == ["train"]
    assert {c for c, o in opts.items() if "--embedder" in o} == {
        "embed", "search", "dedup", "mine-hard", "curate"
    }  # fmt: skip
    assert [c for c, o in opts.items() if "--classifier" in o] == ["mine-hard"]
    for flag in ("--embedder", "--weights", "--layer", "--json", "--report"):
        helps = {o[flag] for o in opts.values() if flag in o}
        assert len(helps) == 1, (flag, helps)


def test_recipe_help_names_every_preset():
    from vidaug.augment import PRESETS
    from vidaug.cli._options import PRESET_NAMES

    assert PRESET_NAMES == PRESETS
    for cmd in ("augment", "preview", "curate", "train"):
        assert all(p in _options_by_command()[cmd]["--recipe"] for p in PRESETS), cmd


def test_label_error_choices_match_the_library():
    from vidaug.cli._choices import LabelErrors
    from vidaug.pipelines._curate import _ACTIONS

    assert [k.value for k in LabelErrors] == ["off", *_ACTIONS]
