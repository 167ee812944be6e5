"""``vidaug recipes``: list presets and transforms with their arguments."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vidaug.cli._app import app, cli_errors, out_console
from vidaug.cli._options import AsJson


@app.command("recipes")
def recipes(
    show: Annotated[
        str | None,
        typer.Argument(help="A preset name or recipe file to print as YAML (validated)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """List the built-in presets and every transform with its arguments, or print one recipe."""
    from vidaug.augment import PRESETS, describe_transforms, load_recipe

    with cli_errors():
        if show is not None:
            r = load_recipe(show)
            if as_json:
                out_console.print_json(json.dumps(r.to_dict()))
            else:
                typer.echo(r.to_yaml(), nl=False)
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
    out_console.print()
    out_console.print(
        "[bold]Transforms[/bold] (recipe entries: {name: NAME, arg: value, ...}; any "
        "albumentations image transform as albumentations.<Name>)"
    )
    for d in transforms:
        out_console.print(
            f"\n[bold cyan]{d['name']}[/bold cyan] [dim]({d['kind']})[/dim]  {escape(d['summary'])}",
            soft_wrap=False,
        )
        for a in d["args"]:
            default = escape(json.dumps(a["default"]))
            hint = f"  [dim]{escape(a['help'])}[/dim]" if a["help"] else ""
            kind = f"  [cyan]{escape(a['type'])}[/cyan]"
            out_console.print(f"    {a['name']} = {default}{kind}{hint}", overflow="fold")
