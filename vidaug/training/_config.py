"""``TrainConfig``: one training workflow as data (what `vidaug train` records and runs, and
what `vidaug compare` cross-validates)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vidaug.errors import VidaugError

__all__ = ["TrainConfig"]


class TrainConfig(BaseModel):
    """A training workflow: the model, its input, the augmentation and the hook.

    Parse one with :meth:`parse` from ``"key=value key=value"`` (e.g. ``"model=motion
    recipe=camera views=4 tta=4"``) or from a YAML file of the same keys.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

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
        return None if v in (None, "", "none", "None") else v

    @property
    def frozen_backbone(self) -> bool:
        return self.model != "seed"

    @property
    def resolved_epochs(self) -> int:
        from vidaug.training._train import DEFAULT_EPOCHS

        return self.epochs or DEFAULT_EPOCHS[self.model]

    def check(self) -> TrainConfig:
        """Raise :class:`VidaugError` for combinations that cannot run."""
        if self.tta > 1 and self.recipe is None:
            raise VidaugError("tta > 1 needs a recipe (the test-time views are augmented)")
        return self

    def model_kwargs(self) -> dict[str, Any]:
        """What :func:`~vidaug.training.build_model` takes from this workflow (besides the
        kind, the classes, the seed and the weights)."""
        return {"frames": self.frames, "streams": self.streams, "pair_gap": self.pair_gap,
                "members": self.members}  # fmt: skip

    def fit_kwargs(self) -> dict[str, Any]:
        """What :func:`~vidaug.training.train_model` takes from this workflow (besides the
        model, the rows, the loaded recipe and the seed)."""
        return {"epochs": self.resolved_epochs, "batch_size": self.batch, "views": self.views,
                "hook": self.hook, "hook_warmup": self.hook_warmup,
                "hook_views": self.hook_views, "fps": self.fps}  # fmt: skip

    def describe(self) -> str:
        """``key=value`` of every setting that differs from the defaults."""
        d = {"model": self.model, **self.model_dump(exclude_defaults=True)}
        return " ".join(
            f"{k}={','.join(v) if isinstance(v, (list, tuple)) else v}" for k, v in d.items()
        )

    @classmethod
    def parse(cls, text: str | os.PathLike | dict[str, Any]) -> TrainConfig:
        """A config from a dict, a YAML file, or ``key=value`` words.

        Raises:
            VidaugError: unknown key or bad value (the message names the field).
        """
        where = "config"
        if isinstance(text, dict):
            data = dict(text)
        else:
            s = str(text).strip()
            p = Path(s)
            if s.endswith((".yaml", ".yml", ".json")):
                if not p.is_file():
                    raise VidaugError(f"{p}: no such config file")
                where = str(p)
                try:
                    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
                except yaml.YAMLError as e:
                    raise VidaugError(f"{p}: not YAML ({e})") from None
                if not isinstance(data, dict):
                    raise VidaugError(f"{p}: expected key: value pairs")
            else:
                data = {}
                for word in s.split():
                    key, eq, value = word.partition("=")
                    if not eq:
                        raise VidaugError(f"config {s!r}: expected key=value, got {word!r}")
                    data[key] = value.split(",") if key == "streams" else value
        try:
            return cls.model_validate(data).check()
        except ValidationError as e:
            err = e.errors()[0]
            field = ".".join(str(x) for x in err["loc"]) or "config"
            raise VidaugError(f"{where}: {field}: {err['msg']}") from None
