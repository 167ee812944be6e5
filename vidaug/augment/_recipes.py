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

Everything a recipe can get wrong is refused when it is read, before any clip is touched:
every numeric argument has a finite range (see ``vidaug.augment._types``), composites nest at
most :data:`MAX_DEPTH` (8) levels deep, a recipe holds at most :data:`MAX_TRANSFORMS` (256)
transforms, and ``albumentations.<Name>`` entries that a recipe cannot describe or that need
more than the frames (``Lambda``, boxes, masks) are refused by name.
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
from vidaug.augment._albu import albu_from_dict, first_line
from vidaug.augment._compose import MAX_DEPTH, MAX_TRANSFORMS, Compose, extent
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

PRESETS = ("light", "standard", "strong", "surveillance", "camera", "motion")


def _error(source: str, loc: str, msg: str) -> RecipeError:
    where = f"{source}: " if source else ""
    return RecipeError(f"{where}{loc}: {msg}" if loc else f"{where}{msg}")


def from_dict(d: Any, *, source: str = "", loc: str = "transform") -> Transform:
    """Build a transform from ``{"name": ..., **args}`` (or a bare name string).

    Raises:
        RecipeError: unknown name, invalid argument, composites nested deeper than
            :data:`MAX_DEPTH` or more than :data:`MAX_TRANSFORMS` transforms; the message names
            ``source``, the position (``loc``) and the field.
    """
    return _Builder(source).build(d, loc, 1)


class _Builder:
    """Builds the transforms of one recipe, counting them as it goes: an entry deeper than
    :data:`MAX_DEPTH` or past :data:`MAX_TRANSFORMS` is refused before anything below it is
    read, so neither deep nor huge (YAML alias) data can exhaust the stack, time or memory."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0

    def _take(self, loc: str, level: int, size: tuple[int, int] = (0, 0)) -> None:
        """Account for a transform at ``level`` with ``size`` (levels, count) below it."""
        self.count += 1 + size[1]
        if level + size[0] > MAX_DEPTH:
            raise _error(self.source, loc, f"composites nest deeper than {MAX_DEPTH} levels")
        if self.count > MAX_TRANSFORMS:
            raise _error(self.source, loc, f"more than {MAX_TRANSFORMS} transforms in one recipe")

    def build(self, d: Any, loc: str, level: int) -> Transform:
        """The transform of entry ``d`` at ``loc``, nested ``level`` deep (1: a recipe's list)."""
        if isinstance(d, Transform):
            self._take(loc, level, extent(d))
            return d
        self._take(loc, level)
        if isinstance(d, str):
            d = {"name": d}
        if not isinstance(d, Mapping):
            raise _error(self.source, loc, f"expected a mapping with a 'name', got {_kind(d)}")
        d = dict(d)
        name = d.pop("name", None)
        if not isinstance(name, str) or not name:
            raise _error(self.source, f"{loc}.name", "missing transform name")
        if name.startswith(ALBU_PREFIX):
            return self._albu(name, d, loc)
        cls = _REGISTRY.get(name)
        if cls is None:
            close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else "; `vidaug recipes` lists them"
            raise _error(self.source, f"{loc}.name", f"unknown transform {name!r}{hint}")
        for f in getattr(cls, "child_fields", ()):
            if f not in d:
                continue
            v = d[f]
            if isinstance(v, list):
                d[f] = [self.build(c, f"{loc}.{f}[{i}]", level + 1) for i, c in enumerate(v)]
            else:
                d[f] = self.build(v, f"{loc}.{f}", level + 1)
        try:
            return cls(**d)
        except ValidationError as e:
            raise _validation_error(self.source, loc, e, name) from None

    def _albu(self, name: str, args: dict[str, Any], loc: str) -> Transform:
        """``albumentations.<Name>``: any failure to build it is a RecipeError, never a
        traceback (albumentations raises several kinds for arguments it refuses)."""
        try:
            return albu_from_dict(name, args)
        except RecipeError as e:
            field = getattr(e, "field", "name")
            raise _error(self.source, f"{loc}.{field}", str(e)) from None
        except Exception as e:  # noqa: BLE001 - a third-party constructor fed user data
            cause = e if isinstance(e, ValidationError) else e.__cause__
            if isinstance(cause, ValidationError):  # albumentations wraps its InitSchema errors
                raise _validation_error(self.source, loc, cause, name) from None
            raise _error(self.source, loc, f"{name}: {first_line(e)}") from None


def _kind(x: Any) -> str:
    return type(x).__name__


def _is_union_tag(part: Any) -> bool:
    """pydantic's tag for a member of a union (``int``, ``tuple[int, int]``, …) in an error's
    location: not a field, so left out of the path a message names."""
    types = {"int", "float", "str", "bool", "list", "tuple", "dict", "none"}
    return isinstance(part, str) and (not part.isidentifier() or part in types)


def _validation_error(source: str, loc: str, e: ValidationError, name: str) -> RecipeError:
    """The most telling pydantic error as ``source: loc.field: message``: for a union, the
    member whose type the value has (a bound it broke) over those it is not."""
    errs = e.errors()
    same = [x for x in errs if x["loc"][:1] == errs[0]["loc"][:1]]
    err = next((x for x in same if not x["type"].endswith("_type")), errs[0])
    field = ".".join(str(p) for p in err["loc"] if not _is_union_tag(p))
    msg = err["msg"].removeprefix("Value error, ")
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
    for key in ("name", "description"):
        if not isinstance(data.get(key) or "", (str, int, float)):
            raise _error(source, key, f"must be text, got {_kind(data[key])}")
    items = data.get("transforms")
    if not isinstance(items, list) or not items:
        raise _error(source, "transforms", "must be a non-empty list of transforms")
    builder = _Builder(source)
    ts = [builder.build(item, f"transforms[{i}]", 1) for i, item in enumerate(items)]
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
        close = difflib.get_close_matches(spec_s, PRESETS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RecipeError(
            f"{spec_s}: no such recipe file or preset (presets: {', '.join(PRESETS)}){hint}"
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


#: How deeply YAML collections may nest in a recipe file: two per level of composites (an
#: entry's mapping and its children's list) plus the top mapping and argument values, with room
#: to spare. Checked on the parser's events before the (recursive) loader builds anything.
_MAX_YAML_DEPTH = 4 * MAX_DEPTH


def _check_yaml_depth(text: str, source: str) -> None:
    """Refuse YAML nested deeper than :data:`_MAX_YAML_DEPTH` (PyYAML's loader recurses once
    per level, so a deep file would otherwise end in a RecursionError)."""
    depth = 0
    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_YAML_DEPTH:
                line = ev.start_mark.line + 1
                raise RecipeError(
                    f"{source}: line {line}: nested deeper than {_MAX_YAML_DEPTH} levels"
                )
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1


def _from_text(text: str, source: str, default_name: str) -> Recipe:
    try:
        _check_yaml_depth(text, source)
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
        props = cls.model_json_schema()["properties"]
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
                    "type": _short_type(props.get(fname, {})),
                    "help": f.description or "",
                }
            )
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        doc = " ".join(doc.split())
        out.append({"name": name, "kind": cls.kind, "summary": doc, "args": args})
    return out


def _short_type(s: dict[str, Any]) -> str:
    """An argument's JSON schema as a short type with its valid range, e.g. ``int in [1, 16]``
    or ``pair of float in (0, 1]`` (what ``vidaug recipes`` shows next to each argument)."""
    if "anyOf" in s:
        return " | ".join(_short_type(m) for m in s["anyOf"])
    if "enum" in s:
        return ", ".join(str(v) for v in s["enum"])
    if "$ref" in s:
        return s["$ref"].rsplit("/", 1)[-1]
    kind = s.get("type")
    if kind in ("number", "integer"):
        lo = s.get("minimum", s.get("exclusiveMinimum"))
        hi = s.get("maximum", s.get("exclusiveMaximum"))
        base = "int" if kind == "integer" else "float"
        if lo is None and hi is None:
            return base
        left = "(" if "exclusiveMinimum" in s or lo is None else "["
        right = ")" if "exclusiveMaximum" in s or hi is None else "]"
        return f"{base} in {left}{_num(lo, '-inf')}, {_num(hi, 'inf')}{right}"
    if kind == "array" and "prefixItems" in s:
        items = [_short_type(x) for x in s["prefixItems"]]
        if len(items) == 2 and items[0] == items[1]:
            return f"pair of {items[0]}"
        return "[" + ", ".join(items) + "]"
    if kind == "array":
        return f"list of {_short_type(s.get('items', {}))}"
    return {"boolean": "bool", "string": "str", "null": "None"}.get(kind, "any")


def _num(x: Any, none: str) -> str:
    if x is None:
        return none
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
