"""Recipes: transforms as data (YAML / dicts), validated with pydantic, plus built-in presets.

A recipe file is a mapping with a ``transforms`` list (``name`` and ``description`` optional),
or just the list. Each entry is ``{name: <Transform>, <arg>: <value>, ...}`` or a bare name::

    name: my-recipe
    transforms:
      - name: RandomResizedCrop
        scale: [0.6, 1.0]
      - HorizontalFlip
      - name: OneOf
        transforms:
          - {name: GaussianBlur, sigma: [0.5, 1.5]}
          - {name: albumentations.ISONoise, p: 1.0}

Every error names the source, the position and the field:
``recipe.yaml: transforms[2].rotate.1: Input should be less than or equal to 180``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeAlias

import yaml
from pydantic import ValidationError

from vidaug.augment._albu import PREFIX as ALBU_PREFIX
from vidaug.augment._albu import albu_from_dict
from vidaug.augment._compose import Compose
from vidaug.augment._core import _REGISTRY, Transform
from vidaug.errors import RecipeError

__all__ = [
    "PRESETS",
    "Recipe",
    "RecipeLike",
    "as_recipe",
    "describe_transforms",
    "from_dict",
    "load_recipe",
    "parse_recipe",
]

PRESETS = ("light", "standard", "strong", "surveillance", "camera")


def _error(source: str, loc: str, msg: str) -> RecipeError:
    where = f"{source}: " if source else ""
    return RecipeError(f"{where}{loc}: {msg}" if loc else f"{where}{msg}")


def from_dict(d: Any, *, source: str = "", loc: str = "transform") -> Transform:
    """Build a transform from ``{"name": ..., **args}`` (or a bare name string).

    Raises:
        RecipeError: unknown name or invalid argument; the message names ``source``, the
            position (``loc``) and the field.
    """
    if isinstance(d, str):
        d = {"name": d}
    if isinstance(d, Transform):
        return d
    if not isinstance(d, Mapping):
        raise _error(source, loc, f"expected a mapping with a 'name', got {type(d).__name__}")
    d = dict(d)
    name = d.pop("name", None)
    if not isinstance(name, str) or not name:
        raise _error(source, f"{loc}.name", "missing transform name")
    if name.startswith(ALBU_PREFIX):
        try:
            return albu_from_dict(name, d)
        except RecipeError as e:
            raise _error(source, f"{loc}.name", str(e)) from None
        except (TypeError, ValueError) as e:
            cause = e if isinstance(e, ValidationError) else e.__cause__
            if isinstance(cause, ValidationError):  # albumentations wraps its InitSchema errors
                raise _validation_error(source, loc, cause, name) from None
            raise _error(source, loc, f"{name}: {e}") from None
    cls = _REGISTRY.get(name)
    if cls is None:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else "; `vidaug recipes` lists them"
        raise _error(source, f"{loc}.name", f"unknown transform {name!r}{hint}")
    for f in getattr(cls, "child_fields", ()):
        if f not in d:
            continue
        v = d[f]
        if isinstance(v, list):
            d[f] = [from_dict(c, source=source, loc=f"{loc}.{f}[{i}]") for i, c in enumerate(v)]
        else:
            d[f] = from_dict(v, source=source, loc=f"{loc}.{f}")
    try:
        return cls(**d)
    except ValidationError as e:
        raise _validation_error(source, loc, e, name) from None


def _validation_error(source: str, loc: str, e: ValidationError, name: str) -> RecipeError:
    """The first pydantic error as ``source: loc.field: message``."""
    err = e.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = f"unknown argument for {name}"
    return _error(source, f"{loc}.{field}" if field else loc, msg)


@dataclass(frozen=True)
class Recipe:
    """A named, validated pipeline.

    Attributes:
        name: the preset name or the file's ``name`` (else its stem).
        transform: the pipeline, a :class:`Compose`.
        source: where it came from (``preset:standard`` or a file path).
        description: free text from the file.
    """

    name: str
    transform: Compose
    source: str
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "transforms": self.transform.to_dict()["transforms"],
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, width=100, allow_unicode=True)


def parse_recipe(data: Any, *, source: str = "recipe", default_name: str = "recipe") -> Recipe:
    """Validate already-parsed recipe data (a mapping with ``transforms`` or a list)."""
    if isinstance(data, list):
        data = {"transforms": data}
    if not isinstance(data, Mapping):
        raise _error(source, "", "a recipe is a mapping with a 'transforms' list, or a list")
    unknown = set(data) - {"name", "description", "transforms"}
    if unknown:
        raise _error(
            source, sorted(unknown)[0], "unknown recipe key (use name, description, transforms)"
        )
    items = data.get("transforms")
    if not isinstance(items, list) or not items:
        raise _error(source, "transforms", "must be a non-empty list of transforms")
    ts = [from_dict(item, source=source, loc=f"transforms[{i}]") for i, item in enumerate(items)]
    name = data.get("name") or default_name
    return Recipe(str(name), Compose(ts), source, str(data.get("description") or ""))


def load_recipe(spec: str | Path) -> Recipe:
    """Load a preset by name (``light``, ``standard``, ``strong``, ``surveillance``) or a YAML file.

    Raises:
        RecipeError: no such preset or file, bad YAML, or an invalid transform.
    """
    spec_s = str(spec)
    if spec_s in PRESETS:
        text = (
            resources.files("vidaug.augment").joinpath(f"presets/{spec_s}.yaml").read_text("utf-8")
        )
        return _from_text(text, f"preset:{spec_s}", spec_s)
    path = Path(spec_s)
    if not path.is_file():
        raise RecipeError(
            f"{spec_s}: no such recipe file or preset (presets: {', '.join(PRESETS)})"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RecipeError(f"{spec_s}: cannot read recipe: {e}") from None
    return _from_text(text, spec_s, path.stem)


#: What every ``recipe=`` parameter of vidaug accepts (resolved by :func:`as_recipe`).
RecipeLike: TypeAlias = (
    "str | os.PathLike[str] | Recipe | Transform | Mapping[str, Any] | list[Any]"
)


def as_recipe(recipe: RecipeLike) -> Recipe:
    """The one resolver behind every ``recipe=`` parameter.

    Args:
        recipe: a preset name or a YAML path (:func:`load_recipe`), a :class:`Recipe`, a
            transform (a :class:`Compose` or any single :class:`Transform`, wrapped in one), or
            already-parsed recipe data (a mapping with ``transforms``, or a list;
            :func:`parse_recipe`).

    Raises:
        RecipeError: no such preset or file, or invalid recipe data.
        TypeError: anything else.
    """
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, Transform):
        t = recipe if isinstance(recipe, Compose) else Compose([recipe])
        name = type(recipe).__name__
        return Recipe(name, t, f"transform:{name}")
    if isinstance(recipe, (str, os.PathLike)):
        return load_recipe(recipe)
    if isinstance(recipe, (Mapping, list)):
        return parse_recipe(recipe)
    raise TypeError(
        "recipe must be a preset name, a YAML path, a Recipe, a Transform or recipe data "
        f"(a mapping or list), got {type(recipe).__name__}"
    )


def _from_text(text: str, source: str, default_name: str) -> Recipe:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise RecipeError(f"{source}: {where}invalid YAML ({getattr(e, 'problem', e)})") from None
    return parse_recipe(data, source=source, default_name=default_name)


def describe_transforms() -> list[dict[str, Any]]:
    """Every registered transform with its kind, summary and arguments (for ``vidaug recipes``)."""
    out = []
    for name, cls in sorted(_REGISTRY.items()):
        args = []
        for fname, f in cls.model_fields.items():
            if f.exclude:
                continue
            default = "(required)" if f.is_required() else f.get_default(call_default_factory=True)
            if isinstance(default, tuple):
                default = list(default)
            if isinstance(default, list) and default and isinstance(default[0], Transform):
                default = []
            args.append(
                {
                    "name": fname,
                    "default": default,
                    "type": _short_type(f.annotation),
                    "help": f.description or "",
                }
            )
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        doc = " ".join(doc.split())
        out.append({"name": name, "kind": cls.kind, "summary": doc, "args": args})
    return out


def _short_type(ann: Any) -> str:
    s = str(ann)
    for a, b in (("typing.", ""), ("<class '", ""), ("'>", ""), ("NoneType", "None")):
        s = s.replace(a, b)
    if "Annotated[tuple" in s or s.startswith("Annotated"):
        return "[low, high]"
    if "Literal[" in s:
        return s[s.index("Literal[") + 8 : s.index("]", s.index("Literal["))].replace("'", "")
    return s.replace("vidaug.augment._core.", "")
