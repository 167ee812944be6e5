"""``TrainConfig``: one training workflow as data (what `vidaug train` records and runs, and
what `vidaug compare` cross-validates), and the named workflows it starts from
(``workflows/*.yaml``: ``recommended``, ``recommended-no-aug``, ``plain``; ``vidaug
workflows`` lists them)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidaug.errors import VidaugError
from vidaug.training._presets import WORKFLOWS, unknown_workflow, workflow_file

__all__ = ["TrainConfig", "describe_workflows"]

#: Words that mean "no value" in ``key=value`` words (``recipe=none``, ``epochs=None``).
_NONE_WORDS = ("", "none", "None", "null")
#: What a workflow file's name ends with.
_FILE_SUFFIXES = (".yaml", ".yml", ".json")
#: Keys of a workflow file that document it and are not settings.
_FILE_NOTES = ("name", "description")


class TrainConfig(BaseModel):
    """A training workflow: the model, its input, the augmentation and the hook.

    Parse one with :meth:`parse` from a named workflow (``"recommended"``), optionally with
    keys changed (``"recommended epochs=20 members=3"``), from a YAML file of the same keys, or
    from ``"key=value key=value"`` words over the defaults (e.g. ``"model=motion
    recipe=camera views=4 tta=4"``). ``workflow`` is the named workflow it started from (None:
    the defaults).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    workflow: str | None = Field(
        None, description=f"the named workflow it started from ({', '.join(WORKFLOWS)})"
    )

    model: Literal["seed", "mobilenet_v2", "motion"] = Field(
        "motion",
        description="seed (small CNN, 64 px), mobilenet_v2 (frozen, frames) or "
        "motion (frozen, RGB differences of frame pairs)",
    )
    streams: tuple[Literal["rgb", "diff"], ...] | None = Field(
        None, description="override the model's streams (rgb, diff or both)"
    )
    frames: int = Field(8, ge=1, le=256, description="frames (or pairs) per clip")
    pair_gap: float = Field(0.133, gt=0, le=5, description="seconds between the frames of a pair")
    members: int = Field(5, ge=1, le=64, description="averaged heads (frozen models)")
    finetune: int = Field(
        0, ge=0, le=3, description="MobileNetV2 blocks trained too (0: frozen; 1-3)"
    )
    lr: float | None = Field(
        None, gt=0, le=1, description="Adam's learning rate (default 1e-3; 1e-4 with finetune)"
    )
    epochs: int | None = Field(None, ge=1, description="epochs (default: by model)")
    batch: int = Field(8, ge=1, description="clips per batch")
    recipe: str | None = Field(None, description="augmentation preset or YAML recipe")
    views: int = Field(4, ge=1, le=64, description="augmented views per clip (frozen models)")
    tta: int = Field(1, ge=1, le=64, description="test-time views averaged (needs a recipe)")
    hook: bool = Field(False, description="hard-sample mining callback")
    hook_warmup: int = Field(0, ge=0, description="epochs before the hook acts")
    hook_views: Literal["random", "worst"] = Field("random", description="view policy")
    fps: float | None = Field(None, gt=0, description="decode at this frame rate")

    @field_validator("recipe")
    @classmethod
    def _none_word(cls, v: str | None) -> str | None:
        return None if v in (None, *_NONE_WORDS) else v

    @field_validator("workflow")
    @classmethod
    def _known_workflow(cls, v: str | None) -> str | None:
        if v is not None and v not in WORKFLOWS:
            raise ValueError(str(unknown_workflow(v)))
        return v

    @property
    def frozen_backbone(self) -> bool:
        return self.model != "seed"

    @property
    def resolved_epochs(self) -> int:
        from vidaug.training._train import DEFAULT_EPOCHS, FINETUNE_EPOCHS

        return self.epochs or (FINETUNE_EPOCHS if self.finetune else DEFAULT_EPOCHS[self.model])

    def check(self) -> TrainConfig:
        """Raise :class:`VidaugError` for combinations that cannot run."""
        if self.tta > 1 and self.recipe is None:
            raise VidaugError("tta > 1 needs a recipe (the test-time views are augmented)")
        if self.finetune and self.model == "seed":
            raise VidaugError("finetune is for the MobileNetV2 models (the seed CNN trains all)")
        if self.finetune and self.streams is not None and len(self.streams) > 1:
            raise VidaugError("finetune works on one stream (rgb or diff), not both")
        return self

    def model_kwargs(self) -> dict[str, Any]:
        """What :func:`~vidaug.training.build_model` takes from this workflow (besides the
        kind, the classes, the seed and the weights)."""
        return {"frames": self.frames, "streams": self.streams, "pair_gap": self.pair_gap,
                "members": self.members, "finetune": self.finetune,
                "learning_rate": self.lr}  # fmt: skip

    def fit_kwargs(self) -> dict[str, Any]:
        """What :func:`~vidaug.training.train_model` takes from this workflow (besides the
        model, the rows, the loaded recipe and the seed)."""
        return {"epochs": self.resolved_epochs, "batch_size": self.batch, "views": self.views,
                "hook": self.hook, "hook_warmup": self.hook_warmup,
                "hook_views": self.hook_views, "fps": self.fps}  # fmt: skip

    def describe(self) -> str:
        """The named workflow (if any), then ``key=value`` of the model and of every setting
        that differs from the defaults or from the named workflow: words :meth:`parse` reads
        back into this config (``recommended model=motion recipe=motion epochs=20``)."""
        base = TrainConfig.parse(self.workflow).model_dump() if self.workflow else {}
        words = [self.workflow] if self.workflow else []
        for k, v in self.model_dump(exclude={"workflow"}).items():
            default = TrainConfig.model_fields[k].default
            if k == "model" or v != default or (base and v != base[k]):
                words.append(f"{k}={','.join(v) if isinstance(v, (list, tuple)) else v}")
        return " ".join(words)

    def to_yaml(self) -> str:
        """Every key as YAML ``key: value`` lines (a file :meth:`parse` reads back)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    @classmethod
    def parse(
        cls,
        text: str | os.PathLike | dict[str, Any] | TrainConfig,
        overrides: dict[str, Any] | None = None,
    ) -> TrainConfig:
        """A workflow from its name, a YAML file, ``key=value`` words or a dict.

        - ``"recommended"``: a named workflow (``vidaug workflows``; ``workflows/*.yaml``);
        - ``"recommended epochs=20 members=3"``: the named workflow with these keys changed;
        - ``"my.yaml"`` (or ``.yml``, ``.json``): its keys; ``workflow: recommended`` in it
          starts from that named workflow; ``"my.yaml epochs=3"`` changes keys of the file;
        - ``"model=seed epochs=3"``: these keys, the rest from the defaults;
        - a dict of keys (``workflow``: the named workflow it starts from) or a config.

        Args:
            text: the workflow.
            overrides: keys that win over ``text``'s (e.g. options given on the command line).

        Raises:
            VidaugError: unknown workflow (the message lists them), unknown key or bad value
                (the message names the field), or a combination that cannot run.
        """
        where, data = _read(text)
        data.update(overrides or {})
        name = data.pop("workflow", None)
        base = {} if name is None else _preset_keys(str(name))
        try:
            return cls.model_validate({**base, **data, "workflow": name}).check()
        except ValidationError as e:
            err = e.errors()[0]
            field = ".".join(str(x) for x in err["loc"]) or "config"
            if err["loc"] and err["loc"][0] in base and err["loc"][0] not in data:
                where = f"workflows/{name}.yaml"
            raise VidaugError(f"{where}: {field}: {err['msg']}") from None


def describe_workflows() -> list[dict[str, Any]]:
    """The named workflows (``vidaug workflows``): ``name``, ``description`` and the whole
    ``config`` of each (JSON types)."""
    return [
        {"name": name, "description": str(workflow_file(name).get("description") or ""),
         "config": TrainConfig.parse(name).model_dump(mode="json")}
        for name in WORKFLOWS
    ]  # fmt: skip


def _preset_keys(name: str) -> dict[str, Any]:
    """The settings of the named workflow ``name`` (its file without name and description)."""
    return {k: v for k, v in workflow_file(name).items() if k not in _FILE_NOTES}


def _read(text: Any) -> tuple[str, dict[str, Any]]:
    """``(where, keys)`` of :meth:`TrainConfig.parse`'s ``text``: a named workflow becomes
    ``{"workflow": name}``, a file its keys, then the ``key=value`` words that follow."""
    if isinstance(text, TrainConfig):
        return "config", text.model_dump()
    if isinstance(text, dict):
        return "config", dict(text)
    s = str(text).strip()
    if isinstance(text, os.PathLike) or (s.endswith(_FILE_SUFFIXES) and Path(s).is_file()):
        return s, _read_file(Path(s))
    first, *rest = s.split() or [""]
    where, data = "config", {}
    if first.endswith(_FILE_SUFFIXES):
        where, data = first, _read_file(Path(first))
    elif first and "=" not in first:
        if first not in WORKFLOWS:
            raise unknown_workflow(first)
        data = {"workflow": first}
    else:
        rest = [first, *rest] if first else rest
    for word in rest:
        key, eq, value = word.partition("=")
        if not eq:
            raise VidaugError(f"config {s!r}: expected key=value, got {word!r}")
        data[key] = _word_value(key, value)
    return where, data


def _word_value(key: str, value: str) -> Any:
    """A ``key=value`` word's value: None for ``none``, a list for ``streams=rgb,diff``."""
    if value in _NONE_WORDS:
        return None
    return value.split(",") if key == "streams" else value


def _read_file(p: Path) -> dict[str, Any]:
    """The keys of a workflow file (YAML or JSON; ``description`` and ``name`` are notes)."""
    if not p.is_file():
        raise VidaugError(f"{p}: no such config file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise VidaugError(f"{p}: not YAML ({e})") from None
    if not isinstance(data, dict):
        raise VidaugError(f"{p}: expected key: value pairs")
    return {k: v for k, v in data.items() if k not in _FILE_NOTES}
