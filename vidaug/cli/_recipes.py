"""``vidaug recipes`` (the augmentation presets and every transform with its arguments) and
``vidaug workflows`` (the named training workflows)."""

from __future__ import annotations

from typing import Annotated

import typer

from vidaug.cli._app import app, cli_errors, emit
from vidaug.cli._options import AsJson


@app.command("recipes")
def recipes(
    show: Annotated[str | None, typer.Argument(
        help="A preset name or recipe file to print as YAML (validated).")] = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """List the built-in presets and every transform with its arguments, or print one recipe."""
    from vidaug.augment import PRESETS, describe_transforms, load_recipe
    from vidaug.pipelines import recipes_listing

    with cli_errors():
        if show is not None:
            r = load_recipe(show)
            return emit(as_json, r.to_dict(), r.to_yaml)
        presets = [load_recipe(p) for p in PRESETS]
    transforms = describe_transforms()
    data = {"presets": [{"name": r.name, "description": r.description} for r in presets],
            "transforms": transforms}  # fmt: skip
    emit(as_json, data, lambda: recipes_listing(presets, transforms), soft_wrap=False)


@app.command("workflows")
def workflows(
    show: Annotated[str | None, typer.Argument(
        help="A workflow to print with every key, as YAML: a name, a name with key=value changes, "
        "a file or key=value words (validated).")] = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """List the named training workflows (`train --workflow NAME`, `compare -a/-b NAME`), or
    print one with every key."""
    from vidaug.pipelines import workflows_listing
    from vidaug.training import TrainConfig, describe_workflows

    with cli_errors():
        named = describe_workflows()
        config = None if show is None else TrainConfig.parse(show)
    if config is None:
        return emit(as_json, named, lambda: workflows_listing(named))
    about = {w["name"]: w["description"] for w in named}.get(config.workflow)
    yaml = (f"# {config.workflow}: {about}\n" if about else "") + config.to_yaml()
    emit(as_json, config.model_dump(mode="json"), lambda: yaml)
