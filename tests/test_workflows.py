"""The jobs behind `vidaug train / evaluate / curate / dedup / augment` (issue 22 §1): one
`class_names(rows)`, inputs read once, one resume/overwrite message, `--seeds` a usage error."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_clip
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.datasets import ManifestRow, class_names, require_classes, write_clip
from vidaug.errors import UsageError
from vidaug.mining import FrameEmbedder
from vidaug.pipelines import augment_dataset, curate, model_class_names, rows_in_split

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _row(rel: str, label: str | None, split: str | None = None) -> ManifestRow:
    return ManifestRow(path=f"/x/{rel}", rel=rel, label=label, split=split)


@pytest.fixture
def data(tmp_path):
    """Two classes of two small clips each, every clip different."""
    root = tmp_path / "data"
    for k, rel in enumerate(["a/1.mp4", "a/2.mp4", "b/3.mp4", "b/4.mp4"]):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_clip(root / rel, make_clip(t=4, h=32, w=32, seed=k), fps=8)
    return root


def test_class_names_leave_unlabelled_rows_out():
    rows = [_row("3", "b"), _row("1", None), _row("2", "a"), _row("4", "b")]
    assert class_names(rows) == ["a", "b"]  # no "None" class
    assert model_class_names({}, rows) == ["a", "b"]
    assert model_class_names({"class_names": ["y", "x"]}, rows) == ["y", "x"]  # the model's own
    with pytest.raises(UsageError, match=r"at least 2 classes, the train split has \['b'\]"):
        require_classes([_row("3", "b"), _row("1", None)])


def test_rows_in_split_names_the_splits():
    rows = [_row("1", "a", "train"), _row("2", "b", "val")]
    assert [r.rel for r in rows_in_split(rows, "val", "m.csv")] == ["2"]
    with pytest.raises(Exception, match=r"m.csv: no clips in split 'test' \(splits: train, val\)"):
        rows_in_split(rows, "test", "m.csv")
    plain = [_row("1", "a"), _row("2", "b")]  # no split column: all of them, when asked
    assert rows_in_split(plain, "test", "m.csv", whole_without_splits=True) == plain


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "{data}", "-a", "model=seed", "--workflow-b", "model=seed", "--seeds", "x"],
        ["evaluate", "{data}/none.keras", "{data}", "--cv", "2", "--seeds", "-1"],
    ],
)
def test_bad_seeds_is_a_usage_error(data, args):
    r = run(*[a.format(data=data) for a in args])
    assert r.exit_code == 2, r.output
    assert "--seeds" in r.stderr and "Traceback" not in r.output


def test_resume_with_overwrite_is_one_message(data, tmp_path):
    with pytest.raises(UsageError) as aug:
        augment_dataset(data, tmp_path / "o1", resume=True, overwrite=True)
    with pytest.raises(UsageError) as cur:
        curate(data, tmp_path / "o2", resume=True, overwrite=True)
    assert str(aug.value) == str(cur.value)
    r = run("augment", data, tmp_path / "o3", "--resume", "--overwrite")
    assert r.exit_code == 2 and r.stderr.strip() == f"error: {aug.value}"


class _Pooled:
    """A numpy stand-in for a Keras image model: pooled pixels (no TensorFlow)."""

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        return x[:, ::4, ::4, :].reshape(len(x), -1) - 127.5


@pytest.fixture
def reads(monkeypatch):
    """Count the reads of an input (every way the CLI and the pipelines reach load_rows) and
    load a TensorFlow-free frame embedder."""
    import vidaug.cli._train
    import vidaug.datasets
    import vidaug.mining
    import vidaug.pipelines._curate
    import vidaug.pipelines._embed

    calls: list[str] = []
    real = vidaug.datasets.load_rows

    def counted(source, *a, **kw):
        calls.append(str(source))
        return real(source, *a, **kw)

    for mod in (vidaug.datasets, vidaug.pipelines._curate, vidaug.pipelines._embed):
        monkeypatch.setattr(mod, "load_rows", counted)
    fake = FrameEmbedder(_Pooled(), "pooled", (32, 32), lambda x: x, dims=192)
    monkeypatch.setattr(vidaug.mining, "load_embedder", lambda *a, **kw: fake)
    monkeypatch.setattr(vidaug.cli._train, "_quiet_tf", lambda: None)
    return calls


@pytest.mark.parametrize("cmd", ["curate", "dedup"])
def test_the_input_is_read_once(data, tmp_path, reads, cmd):
    args = ["--dedup", "--embedder", "pooled.keras"] if cmd == "curate" else []
    out = [tmp_path / "cur"] if cmd == "curate" else ["--embedder", "pooled.keras"]
    r = run(cmd, data, *out, *args, "--json")
    assert r.exit_code == 0, r.output
    assert reads.count(str(data)) == 1
