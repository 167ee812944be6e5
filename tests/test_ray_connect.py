"""Issue 21 §2: a Ray address that cannot be reached fails with one line that names the
address and Ray's reason (it read ``error: connectionerror``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_clip
from test_cli_augment import run

from vidaug.datasets import write_clip
from vidaug.errors import VidaugError
from vidaug.pipelines import ray_session

ray = pytest.importorskip("ray")

NO_CLUSTER = (
    "Could not find any running Ray instance. Please specify the one to connect to by "
    "setting `--address` flag or `RAY_ADDRESS` environment variable."
)


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ray.init`` fails as Ray does when no cluster answers at the address."""

    def init(address=None, **kw):
        raise ConnectionError(NO_CLUSTER if address == "auto" else "ray client connection timeout")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)


@pytest.mark.parametrize(
    "address, reason",
    [("auto", "Could not find any running Ray instance"),
     ("ray://head:10001", "ray client connection timeout")],
)  # fmt: skip
def test_unreachable_address_names_it_and_why(unreachable, address, reason):
    with pytest.raises(VidaugError) as e, ray_session(address):
        pass
    assert str(e.value) == f"cannot connect to Ray at {address!r}: {reason}"


def test_cli_unreachable_address_is_one_line(unreachable, tmp_path: Path):
    write_clip(tmp_path / "data" / "a" / "x.mp4", make_clip(8, 32, 32), fps=10.0)
    r = run("augment", tmp_path / "data", tmp_path / "o", "--engine", "ray",
            "--ray-address", "auto")  # fmt: skip
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert r.exit_code == 1, r.output
    assert lines == [
        "error: cannot connect to Ray at 'auto': Could not find any running Ray instance"
    ]
