"""Recipes: YAML/dict validation with errors that name file, position and field; presets."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_clip

from vidaug.augment import PRESETS, Compose, describe_transforms, from_dict, load_recipe
from vidaug.errors import RecipeError


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_and_run(name):
    r = load_recipe(name)
    assert r.name == name and r.description
    assert isinstance(r.transform, Compose)
    clip = make_clip(12, 48, 64)
    res = r.transform.augment(clip, seed=0)
    assert res.clip.dtype == np.uint8 and res.clip.shape[1:] == clip.shape[1:]
    np.testing.assert_array_equal(r.transform.replay(clip, res.params).clip, res.clip)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_yaml_round_trip(name, tmp_path):
    r = load_recipe(name)
    f = tmp_path / f"{name}.yaml"
    f.write_text(r.to_yaml())
    assert load_recipe(f).transform == r.transform


BAD = [
    (
        "transforms: [{name: Afine}]",
        r"recipe\.yaml: transforms\[0\]\.name: unknown transform 'Afine' \(did you mean 'Affine'\?\)",
    ),
    (
        "transforms: [HorizontalFlip, {name: Affine, rotate: [-10, 200]}]",
        r"transforms\[1\]\.rotate\.1: .*less than or equal to 180",
    ),
    ("transforms: [{name: Affine, rotate: [20, 10]}]", r"transforms\[0\]\.rotate: .*low ≤ high"),
    (
        "transforms: [{name: ColorJitter, brightnes: 0.2}]",
        r"transforms\[0\]\.brightnes: unknown argument for ColorJitter",
    ),
    (
        "transforms: [{name: OneOf, transforms: [Grayscale, {name: GaussianBlur, sigma: nope}]}]",
        r"transforms\[0\]\.transforms\[1\]\.sigma: ",
    ),
    (
        "transforms: [{name: Sometimes, p: 2, transform: Grayscale}]",
        r"transforms\[0\]\.p: .*less than or equal to 1",
    ),
    ("transforms: [{rotate: 3}]", r"transforms\[0\]\.name: missing transform name"),
    ("transforms: []", r"recipe\.yaml: transforms: must be a non-empty list"),
    ("tranforms: [Grayscale]", r"recipe\.yaml: tranforms: unknown recipe key"),
    ("transforms: [Grayscale\n  - bad: [", r"recipe\.yaml: line \d+: invalid YAML"),
    (
        "transforms: [{name: albumentations.NotAThing}]",
        r"transforms\[0\]\.name: unknown albumentations transform 'NotAThing'",
    ),
    ("transforms: [{name: albumentations.CLAHE, clip_limit: -5}]", r"transforms\[0\]\.clip_limit"),
    ("42", r"recipe\.yaml: a recipe is a mapping"),
]


@pytest.mark.parametrize(("text", "pattern"), BAD)
def test_bad_recipes_name_file_position_and_field(text, pattern, tmp_path):
    f = tmp_path / "recipe.yaml"
    f.write_text(text)
    with pytest.raises(RecipeError, match=pattern):
        load_recipe(f)


def test_missing_recipe_names_presets():
    with pytest.raises(RecipeError, match="no such recipe file or preset .*standard"):
        load_recipe("does-not-exist.yaml")


def test_bare_list_and_bare_names(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("- HorizontalFlip\n- {name: albumentations.RGBShift, p: 1.0}\n")
    r = load_recipe(f)
    assert r.name == "mine" and len(r.transform.transforms) == 2
    out = r.transform(make_clip(), seed=1)
    assert out.shape == make_clip().shape


def test_albumentations_adapter_is_consistent_and_deterministic():
    import albumentations as A

    from vidaug.augment import Albu

    t = Albu(A.RandomBrightnessContrast(p=1.0))
    static = np.repeat(make_clip(1)[:1], 5, axis=0)
    out = t(static, seed=3)
    assert all(np.array_equal(out[0], f) for f in out)
    np.testing.assert_array_equal(t(static, seed=3), out)
    assert from_dict(t.to_dict()) == t
    with pytest.raises(TypeError):
        Albu("not a transform")


def test_albumentations_spatial_transform_refuses_boxes():
    import albumentations as A

    from vidaug.augment import Albu

    with pytest.raises(ValueError, match="boxes"):
        Albu(A.HorizontalFlip(p=1.0)).augment(make_clip(), boxes=[[0, 1, 0, 0, 5, 5]])


def test_describe_lists_every_transform_with_args():
    d = {x["name"]: x for x in describe_transforms()}
    assert "Affine" in d and d["Affine"]["kind"] == "spatial"
    args = {a["name"]: a for a in d["Affine"]["args"]}
    assert args["rotate"]["default"] == [-10.0, 10.0]
    assert all(x["summary"] for x in d.values())


def test_from_dict_rejects_non_mapping():
    with pytest.raises(RecipeError, match="expected a mapping"):
        from_dict(3.5)


def test_as_recipe_accepts_one_union(tmp_path):
    """issue 10 §4: ``recipe=`` took five types across the API; one resolver takes them all."""
    from vidaug.augment import HorizontalFlip, Recipe, as_recipe

    light = load_recipe("light")
    path = tmp_path / "mine.yaml"
    path.write_text(light.to_yaml(), encoding="utf-8")
    clip = make_clip(6, 32, 40)
    want = light.transform.augment(clip, seed=3).clip
    for spec in ("light", path, str(path), light, light.transform, light.to_dict(),
                 light.to_dict()["transforms"]):  # fmt: skip
        r = as_recipe(spec)
        assert isinstance(r, Recipe) and isinstance(r.transform, Compose)
        np.testing.assert_array_equal(r.transform.augment(clip, seed=3).clip, want)
    flip = as_recipe(HorizontalFlip(p=1.0))  # a single transform is wrapped in a Compose
    assert flip.name == "HorizontalFlip"
    np.testing.assert_array_equal(flip.transform.augment(clip, seed=0).clip, clip[:, :, ::-1])
    with pytest.raises(TypeError, match="recipe must be a preset name"):
        as_recipe(3)
    with pytest.raises(RecipeError, match="no such recipe file or preset"):
        as_recipe("nope")


def test_every_public_recipe_parameter_takes_the_union():
    """Every public callable with a ``recipe`` parameter annotates it with ``RecipeLike`` (and
    resolves it with ``as_recipe``), so no entry point accepts a narrower set of types."""
    import dataclasses
    import inspect

    import vidaug.datasets
    import vidaug.pipelines
    import vidaug.report
    import vidaug.training

    seen = []
    for mod in (vidaug.datasets, vidaug.pipelines, vidaug.report, vidaug.training):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not callable(obj) or dataclasses.is_dataclass(obj) or hasattr(obj, "model_fields"):
                continue  # records (AugmentJob, TrainConfig) store a recipe as data
            try:
                params = inspect.signature(obj).parameters
            except (TypeError, ValueError):
                continue
            if "recipe" in params:
                ann = str(params["recipe"].annotation)
                assert "RecipeLike" in ann, f"{mod.__name__}.{name}(recipe: {ann})"
                seen.append(name)
    assert {"ClipDataset", "augment_dataset", "curate", "write_preview", "train_model"} <= set(seen)
