"""Fine-tuning MobileNetV2's top blocks on cached activations (``finetune=``): the trainable
blocks live in the head, training changes them, every fold / seed starts again from the
pretrained weights, and the saved model predicts what the trained one did."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_clip

from vidaug.errors import VidaugError
from vidaug.training import TrainConfig


def test_finetune_config_refuses_what_cannot_run():
    assert TrainConfig.parse("model=motion finetune=1").resolved_epochs == 20
    assert TrainConfig.parse("model=motion finetune=1 epochs=3").resolved_epochs == 3
    with pytest.raises(VidaugError, match="finetune is for the MobileNetV2"):
        TrainConfig.parse("model=seed finetune=1")
    with pytest.raises(VidaugError, match="one stream"):
        TrainConfig.parse("model=motion finetune=1 streams=rgb,diff")
    with pytest.raises(VidaugError, match="finetune"):
        TrainConfig.parse("model=motion finetune=4")


@pytest.fixture
def moving(tmp_path):
    """6 tiny clips of two classes: still (a) and moving (b)."""
    from vidaug.datasets import ManifestRow, write_clip

    rows = []
    for i in range(3):
        still = np.repeat(make_clip(1, 48, 64, seed=i), 10, axis=0)
        roll = np.stack([np.roll(make_clip(1, 48, 64, seed=10 + i)[0], 5 * t, axis=1)
                         for t in range(10)])  # fmt: skip
        for c, clip in (("a", still), ("b", roll)):
            p = tmp_path / f"{c}{i}.mp4"
            write_clip(p, clip, fps=10.0)
            rows.append(ManifestRow(path=p, rel=p.name, label=c, split="train"))
    return rows


@pytest.mark.slow
def test_finetuned_blocks_train_restore_and_round_trip(moving, mobilenet_weights, tmp_path):
    from vidaug.training import build_model, head_of, load_classifier, train_model
    from vidaug.training._models import split_backbone
    from vidaug.training._train import init_head

    model = build_model("motion", 2, frames=2, weights=mobilenet_weights, seed=0, members=2,
                        finetune=1)  # fmt: skip
    feats, head = head_of(model)
    assert feats.output.shape[-3:] == (7, 7, 160)  # the cached maps: block_15_add's output
    top = head.get_layer("top").layer
    trainable = {w.path.split("/")[0] for w in top.trainable_weights}
    assert trainable == {"block_16_expand", "block_16_depthwise", "block_16_project", "Conv_1"}
    before = [w.copy() for w in top.get_weights()]
    train_model(model, moving, epochs=2, batch_size=2, hook=False, seed=0)
    after = top.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 224, 224, 3)).astype(np.float32)
    p = np.asarray(model.predict_on_batch(x))
    model.save(tmp_path / "ft.keras")
    assert np.allclose(np.asarray(load_classifier(tmp_path / "ft.keras").predict_on_batch(x)), p,
                       atol=1e-5)  # fmt: skip
    init_head(head, 1)  # a new fold: the pretrained blocks again, not the last fold's
    assert all(np.array_equal(a, b) for a, b in zip(before, top.get_weights(), strict=True))
    with pytest.raises(VidaugError, match="finetune must be one of"):
        split_backbone(model.get_layer("backbone").layer, 7)
