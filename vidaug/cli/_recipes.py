"""``vidaug recipes``: list presets and transforms with their arguments."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from vidaug.cli._app import app, cli_errors, out_console


@app.command("recipes")
def recipes(
    show: Annotated[
        str | None,
        typer.Argument(help="A preset name or recipe file to print as YAML (validated)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the built-in presets and every transform with its arguments, or print one recipe."""
    from vidaug.augment import PRESETS, describe_transforms, load_recipe

    with cli_errors():
        if show is not None:
            r = load_recipe(show)
            if as_json:
                out_console.print_json(json.dumps(r.to_dict()))
            else:
                out_console.print(r.to_yaml(), end="", markup=False)
            return
        presets = [load_recipe(p) for p in PRESETS]
    transforms = describe_transforms()
    if as_json:
        data = {
            "presets": [{"name": r.name, "description": r.description} for r in presets],
            "transforms": transforms,
        }
        out_console.print_json(json.dumps(data, default=str))
        return
    t = Table(title="Presets (--recipe NAME)", title_justify="left")
    t.add_column("name", style="bold")
    t.add_column("description")
    for r in presets:
        t.add_row(r.name, r.description)
    out_console.print(t)
    t = Table(
        title="Transforms (recipe entries: {name: NAME, arg: value}; also albumentations.<Name>)",
        title_justify="left",
        show_lines=False,
    )
    t.add_column("name", style="bold")
    t.add_column("kind")
    t.add_column("arguments (default)")
    t.add_column("what it does")
    for d in transforms:
        args = ", ".join(f"{a['name']}={json.dumps(a['default'])}" for a in d["args"])
        t.add_row(d["name"], d["kind"], args, d["summary"])
    out_console.print(t)
