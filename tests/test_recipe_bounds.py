"""Recipes that must be refused before any work (issue 18 §5): every numeric argument of every
registered transform out of its range, composites nested too deep or too many transforms, and
albumentations transforms a recipe cannot describe. Each is a RecipeError naming the file and
the field path, raised when the recipe is read (and, for the Python API, when a transform is
built), never a RecursionError, a ValueError traceback or a failure on every clip."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest
from conftest import make_clip
from pydantic import ValidationError
from typer.testing import CliRunner

from vidaug.augment import Compose, Identity, load_recipe, parse_recipe, registry
from vidaug.augment._compose import MAX_DEPTH, MAX_TRANSFORMS
from vidaug.cli import app
from vidaug.datasets import write_clip
from vidaug.errors import RecipeError

# -- the table: every numeric argument of every registered transform -------------------------


def _lo_hi(leaf: dict) -> tuple[float | None, bool, float | None, bool]:
    """(low, low is exclusive, high, high is exclusive) of a JSON-schema number."""
    lo = leaf.get("minimum", leaf.get("exclusiveMinimum"))
    hi = leaf.get("maximum", leaf.get("exclusiveMaximum"))
    return lo, "exclusiveMinimum" in leaf, hi, "exclusiveMaximum" in leaf


def _valid(s: dict):
    """A value the schema accepts: each number at a bound, each list with one item."""
    if s.get("type") in ("number", "integer"):
        lo, lo_ex, hi, _ = _lo_hi(s)
        return hi if lo is None or lo_ex else lo
    if "prefixItems" in s:
        return [_valid(x) for x in s["prefixItems"]]
    return [_valid(s["items"])]


def _leaves(s: dict, path: tuple = ()):
    """The numeric leaves of one schema: (path inside the value, leaf schema)."""
    if s.get("type") in ("number", "integer"):
        yield path, s
    for i, item in enumerate(s.get("prefixItems", [])):
        yield from _leaves(item, (*path, i))
    if isinstance(s.get("items"), dict) and "$ref" not in s["items"]:
        yield from _leaves(s["items"], (*path, 0))


def _put(value, path: tuple, x):
    if not path:
        return x
    out = list(value)
    out[path[0]] = _put(out[path[0]], path[1:], x)
    return out


def numeric_arguments() -> list[tuple[str, str, tuple, dict, dict]]:
    """(transform, field, path inside the field, the field's schema member, leaf schema) for
    every numeric argument of every registered transform; a union (``int | [h, w]``) gives
    one row per member."""
    rows = []
    for name, cls in registry().items():
        for field, s in cls.model_json_schema()["properties"].items():
            members = [m for m in s.get("anyOf", [s]) if m.get("type") != "null"]
            for m in members:
                rows.extend((name, field, p, m, leaf) for p, leaf in _leaves(m))
    return rows


def _base(name: str) -> dict:
    """The smallest valid entry of a transform: its children, if it has any."""
    cls = registry()[name]
    props = cls.model_json_schema()["properties"]
    kids = getattr(cls, "child_fields", ())
    return {f: ["Identity"] if props[f].get("type") == "array" else "Identity" for f in kids}


def _outside(leaf: dict) -> list[float]:
    """Values outside the leaf's range: below, above, absurd magnitudes, NaN and infinities."""
    lo, lo_ex, hi, hi_ex = _lo_hi(leaf)
    cands = [-5, -1e12, 1e12, math.nan, math.inf, -math.inf, lo - 1, hi + 1]
    cands += [lo] if lo_ex else []
    cands += [hi] if hi_ex else []

    def inside(x: float) -> bool:
        above = x > lo if lo_ex else x >= lo
        below = x < hi if hi_ex else x <= hi
        return math.isfinite(x) and above and below

    return [x for x in cands if not inside(x)]


ROWS = numeric_arguments()


def test_the_table_covers_every_transform_and_the_known_fields():
    names = {r[0] for r in ROWS}
    assert names == {n for n, c in registry().items() if c.model_json_schema()["properties"]}
    fields = {(r[0], r[1]) for r in ROWS}
    assert {("Resize", "size"), ("TemporalCrop", "length"), ("OneOf", "weights"),
            ("SomeOf", "n"), ("Affine", "period"), ("Sometimes", "p")} <= fields  # fmt: skip


def test_every_numeric_argument_has_a_finite_range():
    """A number without a lower and an upper bound lets ``-5``, ``1e12`` (or ``inf``) through
    to fail, or run forever, on every clip."""
    unbounded = [
        f"{n}.{f}{''.join(f'.{i}' for i in p)}"
        for n, f, p, _, leaf in ROWS
        if None in (_lo_hi(leaf)[0], _lo_hi(leaf)[2])
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    ("name", "field", "path", "member", "leaf"),
    ROWS,
    ids=[f"{r[0]}.{r[1]}{''.join(f'.{i}' for i in r[2])}-{r[3].get('type')}" for r in ROWS],
)
def test_out_of_range_number_is_refused_naming_the_field(name, field, path, member, leaf):
    if None in (_lo_hi(leaf)[0], _lo_hi(leaf)[2]):
        pytest.fail(f"{name}.{field} has no finite range")
    cls = registry()[name]
    want = re.compile(re.escape(f"recipe.yaml: transforms[0].{field}") + r"[.:]")
    objs = {k: [Identity()] if isinstance(v, list) else Identity() for k, v in _base(name).items()}
    for bad in _outside(leaf):
        value = _put(_valid(member), path, bad)
        with pytest.raises(RecipeError) as e:
            parse_recipe([{"name": name, **_base(name), field: value}], source="recipe.yaml")
        assert want.match(str(e.value)), (bad, str(e.value))
        assert "\n" not in str(e.value)
        with pytest.raises(ValidationError):  # the Python API refuses it when built
            cls(**objs, **{field: value})


def test_resize_size_message_names_the_field_path(tmp_path):
    """The issue's example, through a file: a union tag is not part of the path."""
    f = tmp_path / "recipe.yaml"
    f.write_text("transforms: [HorizontalFlip, Grayscale, {name: Resize, size: -5}]")
    with pytest.raises(RecipeError) as e:
        load_recipe(f)
    assert str(e.value).startswith(f"{f}: transforms[2].size: ")
    assert "greater than or equal to 1" in str(e.value)


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("{name: Affine, period: .nan}", "period"),
        ("{name: ColorJitter, temporal: smooth, period: .inf}", "period"),
        ("{name: Grayscale, p: .nan}", "p"),
        ("{name: TemporalCrop, length: 1000000000000}", "length"),
        ("{name: OneOf, transforms: [Grayscale, Identity], weights: [1, .inf]}", "weights.1"),
        ("{name: OneOf, transforms: [Grayscale, Identity], weights: [1, -1]}", "weights.1"),
        ("{name: SomeOf, transforms: [Grayscale], n: 2}", "n"),
        ("{name: SomeOf, transforms: [Grayscale], n: [1, 0]}", "n"),
    ],
)
def test_yaml_nan_inf_and_counts_are_refused(tmp_path, entry, field):
    f = tmp_path / "r.yaml"
    f.write_text(f"transforms: [{entry}]")
    with pytest.raises(RecipeError, match=re.escape(f"{f}: transforms[0].{field}: ")):
        load_recipe(f)


# -- nesting and size --------------------------------------------------------------------------


def _nested(levels: int, leaf="Grayscale") -> object:
    """A Sometimes chain: the leaf at nesting level ``levels`` of a recipe's list."""
    d = leaf
    for _ in range(levels - 1):
        d = {"name": "Sometimes", "transform": d}
    return d


def test_nesting_up_to_max_depth_is_fine_deeper_is_refused():
    r = parse_recipe([_nested(MAX_DEPTH)])
    assert r.transform(make_clip(2, 16, 16), seed=0).shape == (2, 16, 16, 3)
    loc = "transforms[0]" + ".transform" * MAX_DEPTH
    with pytest.raises(RecipeError, match=re.escape(f"r.yaml: {loc}: ") + "composites nest"):
        parse_recipe([_nested(MAX_DEPTH + 1)], source="r.yaml")


def test_data_nested_10000_deep_is_a_recipe_error_not_recursion_error():
    with pytest.raises(RecipeError, match=f"deeper than {MAX_DEPTH} levels"):
        parse_recipe({"transforms": [_nested(10_000)]})
    deep = {"name": "Compose", "transforms": []}
    for _ in range(10_000):
        deep = {"name": "Compose", "transforms": [deep]}
    with pytest.raises(RecipeError, match=f"deeper than {MAX_DEPTH} levels"):
        parse_recipe([deep])


@pytest.mark.parametrize(
    "text",
    [
        "transforms: " + "[" * 10_000 + "]" * 10_000,
        "transforms: ["
        + "{name: Sometimes, transform: " * 10_000
        + "Grayscale"
        + "}" * 10_000
        + "]",
        "transforms:\n" + "".join("  " * i + "- - \n" for i in range(2_000)),
    ],
    ids=["flow-lists", "flow-mappings", "block-lists"],
)
def test_yaml_nested_10000_deep_is_a_recipe_error(tmp_path, text):
    f = tmp_path / "deep.yaml"
    f.write_text(text)
    with pytest.raises(RecipeError, match=re.escape(f"{f}: line ") + r"\d+: nested deeper"):
        load_recipe(f)


def test_more_than_max_transforms_is_refused():
    parse_recipe(["Identity"] * MAX_TRANSFORMS)
    with pytest.raises(RecipeError, match=rf"transforms\[{MAX_TRANSFORMS}\]: more than"):
        parse_recipe(["Identity"] * (MAX_TRANSFORMS + 1))


def _alias_bomb(levels: int, width: int) -> str:
    """A small YAML file that means ``width ** levels`` transforms (anchors and aliases)."""
    items = ["&a0 {name: Identity}"]
    for i in range(1, levels + 1):
        kids = ", ".join([f"*a{i - 1}"] * width)
        items.append(f"&a{i} {{name: Compose, transforms: [{kids}]}}")
    return "transforms:\n" + "".join(f"  - {x}\n" for x in items)


def test_eight_levels_of_ten_children_is_refused_at_once(tmp_path):
    """The issue's recipe (8 nested Compose levels × 10 children) ran 120 s at 4.1 GB."""
    f = tmp_path / "bomb.yaml"
    f.write_text(_alias_bomb(8, 10))
    t0 = time.perf_counter()
    with pytest.raises(RecipeError, match=f"more than {MAX_TRANSFORMS} transforms"):
        load_recipe(f)
    assert time.perf_counter() - t0 < 1.0


def test_python_api_refuses_deep_or_huge_composites_when_built():
    c = Identity()
    for _ in range(MAX_DEPTH):
        c = Compose([c])
    assert c(make_clip(2, 8, 8), seed=0).shape == (2, 8, 8, 3)
    with pytest.raises(ValueError, match=f"nest {MAX_DEPTH + 1} levels deep"):
        Compose([c])
    with pytest.raises(ValueError, match=f"at most {MAX_TRANSFORMS}"):
        Compose([Identity()] * (MAX_TRANSFORMS + 1))
    with pytest.raises(RecipeError, match=r"transforms\[0\]: composites nest deeper"):
        parse_recipe([c])  # a built transform inside recipe data counts its own levels


# -- albumentations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "where", "why"),
    [
        ("{name: albumentations.Lambda}", "name", "Python functions"),
        ("{name: albumentations.Lambda, p: 1.0}", "name", "Python functions"),
        ("{name: albumentations.FDA}", "name", "needs fda_metadata"),
        ("{name: albumentations.MaskDropout}", "name", "needs mask"),
        ("{name: albumentations.BBoxSafeRandomCrop}", "name", "needs bboxes"),
        ("{name: albumentations.RandomCrop3D, size: [1, 8, 8]}", "name", "3D volumes"),
        ("{name: albumentations.BasicTransform}", "", "BasicTransform"),
        ("{name: albumentations.Blur, blur_limit: nope}", "blur_limit", "integer"),
        ("{name: albumentations.Blur, bogus: 1}", "bogus", ""),
    ],
)
def test_albumentations_that_cannot_come_from_a_recipe_are_refused(tmp_path, entry, where, why):
    f = tmp_path / "a.yaml"
    f.write_text(f"transforms: [{entry}]")
    loc = f"transforms[0].{where}" if where else "transforms[0]"
    with pytest.raises(RecipeError) as e:
        load_recipe(f)
    msg = str(e.value)
    assert msg.startswith(f"{f}: {loc}: ") and why in msg and "\n" not in msg, msg


def test_albumentations_crop_larger_than_the_probe_is_still_accepted():
    r = parse_recipe([{"name": "albumentations.RandomCrop", "height": 500, "width": 500}])
    assert r.to_dict()["transforms"][0]["height"] == 500


# -- through the CLI ---------------------------------------------------------------------------

BAD_FILES = {
    "resize-negative": "transforms: [{name: Resize, size: -5}]",
    "nan": "transforms: [{name: Affine, period: .nan}]",
    "deep-yaml": "transforms: " + "[" * 10_000 + "]" * 10_000,
    "deep-data": "transforms: ["
    + "{name: Sometimes, transform: " * 12
    + "Grayscale"
    + "}" * 12
    + "]",
    "eight-by-ten": _alias_bomb(8, 10),
    "lambda": "transforms: [{name: albumentations.Lambda}]",
}


@pytest.fixture(scope="module")
def one_clip(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("in")
    write_clip(root / "a" / "x.mp4", make_clip(4, 32, 32), fps=10.0)
    return root


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_cli_augment_refuses_bad_recipe_in_one_line_fast(one_clip, tmp_path, kind):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_FILES[kind])
    out = tmp_path / "out"
    CliRunner().invoke(app, ["recipes", "light"])  # warm imports: time the refusal alone
    t0 = time.perf_counter()
    r = CliRunner().invoke(app, ["augment", str(one_clip), str(out), "--recipe", str(bad)])
    took = time.perf_counter() - t0
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1 and "bad.yaml" in r.stderr
    assert "Traceback" not in r.output
    assert not out.exists()
    assert took < 1.0
