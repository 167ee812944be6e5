"""MobileNetV2 weights the Keras way (issue 21 §1): the cache lookup, the fetch (never over the
network here: the opener is replaced), ``--offline`` / ``VIDAUG_OFFLINE``, ``vidaug weights``.

No test reaches the network: a download test serves bytes from a fake ``urlopen``; every other
test makes ``urlopen`` and ``socket.create_connection`` fail loudly if they are called.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, SHARED
from typer.testing import CliRunner

from vidaug.cli import app
from vidaug.mining import (
    KNOWN_WEIGHTS,
    WEIGHTS_URL,
    WeightsNotFoundError,
    ensure_mobilenet_weights,
    fetch_mobilenet_weights,
    inspect_weights,
    keras_cache_file,
    load_embedder,
)
from vidaug.mining import _weights as weights_mod

runner = CliRunner()
SHARED_WEIGHTS = SHARED / "models" / "mobilenet_v2" / "mobilenet_v2_1.0_224_notop.h5"
CACHE_NAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


@pytest.fixture
def keras_home(tmp_path, monkeypatch) -> Path:
    """An empty Keras home (KERAS_HOME), no VIDAUG_WEIGHTS, downloads allowed."""
    home = tmp_path / "kh"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("VIDAUG_WEIGHTS", raising=False)
    monkeypatch.delenv("VIDAUG_OFFLINE", raising=False)
    return home


@pytest.fixture
def no_network(monkeypatch) -> list[str]:
    """Any attempt to open a connection fails the test (and is recorded)."""
    calls: list[str] = []

    def refuse(*args, **kwargs):
        calls.append(str(args[0]) if args else "?")
        raise AssertionError(f"network used: {args[:1]}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return calls


def shared_weights() -> Path:
    if not SHARED_WEIGHTS.is_file():
        pytest.skip("../shared/models/mobilenet_v2 is not present")
    return SHARED_WEIGHTS


def in_cache(keras_home: Path) -> Path:
    """The shared weights file copied into the Keras home under Keras' name."""
    dest = keras_home / "models" / CACHE_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared_weights(), dest)
    return dest


class Served(io.BytesIO):
    """What a fake ``urlopen`` returns: ``data`` with its Content-Length."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def serve(monkeypatch, data: bytes) -> list[tuple[str, float]]:
    """Make ``urlopen`` answer ``data``; returns the (url, timeout) of each call."""
    calls: list[tuple[str, float]] = []

    def fake(url, timeout=None):
        calls.append((url, timeout))
        return Served(data)

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    return calls


class Recorder:
    """A DownloadProgress that remembers what it was told."""

    def __init__(self) -> None:
        self.started: tuple | None = None
        self.got = 0
        self.stopped = False

    def start(self, url, dest, total) -> None:
        self.started = (url, dest, total)

    def advance(self, n) -> None:
        self.got += n

    def stop(self) -> None:
        self.stopped = True


# ---- the Keras cache, offline ----------------------------------------------------------------


def test_url_and_cache_name_are_keras_own():
    """Read from Keras' source (importing it would start TensorFlow)."""
    keras_dir = Path(importlib.util.find_spec("keras").origin).parent
    src = (keras_dir / "src" / "applications" / "mobilenet_v2.py").read_text(encoding="utf-8")
    base = re.search(r'BASE_WEIGHT_PATH = \(\s*"([^"]+)"', src)[1]
    assert WEIGHTS_URL == base + CACHE_NAME
    assert '"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_"' in src and "_no_top.h5" in src


def test_keras_cache_lookup_uses_the_copied_file_without_network(keras_home, no_network):
    dest = in_cache(keras_home)
    assert keras_cache_file() == dest
    assert ensure_mobilenet_weights() == str(dest)
    info = inspect_weights(load=False)
    assert (info.path, info.source, info.exists) == (dest, "Keras cache", True)
    assert info.size == SHARED_WEIGHTS.stat().st_size
    assert info.known is not None and info.known.sha256 == info.sha256
    assert not no_network


def test_keras_home_defaults_to_home(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert keras_cache_file() == tmp_path / ".keras" / "models" / CACHE_NAME


def test_explicit_weights_win_and_a_missing_one_is_named(keras_home, tmp_path, monkeypatch):
    in_cache(keras_home)
    w = tmp_path / "mine.h5"
    w.write_bytes(b"x")
    monkeypatch.setenv("VIDAUG_WEIGHTS", str(w))
    assert ensure_mobilenet_weights() == str(w)
    assert inspect_weights(load=False).source == "VIDAUG_WEIGHTS"
    with pytest.raises(WeightsNotFoundError, match=r"nope\.h5: no such weights file \(--weights\)"):
        ensure_mobilenet_weights(tmp_path / "nope.h5")


@pytest.mark.parametrize("how", ["argument", "env"])
def test_offline_never_opens_a_connection_and_names_url_and_path(keras_home, no_network,
                                                                 monkeypatch, how):  # fmt: skip
    if how == "env":
        monkeypatch.setenv("VIDAUG_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError) as e:
        ensure_mobilenet_weights(offline=True if how == "argument" else None)
    msg = str(e.value)
    assert "offline" in msg and WEIGHTS_URL in msg and str(keras_cache_file()) in msg
    assert not no_network
    # load_embedder decides the same before it imports Keras
    with pytest.raises(WeightsNotFoundError, match="offline"):
        load_embedder("mobilenet_v2", offline=True)


@pytest.mark.parametrize(("value", "offline"), [("1", True), ("true", True), ("YES", True),
                                                ("0", False), ("", False), ("no", False)])  # fmt: skip
def test_vidaug_offline_values(monkeypatch, value, offline):
    monkeypatch.setenv("VIDAUG_OFFLINE", value)
    assert weights_mod.is_offline() is offline
    assert weights_mod.is_offline(False) is False


# ---- the fetch --------------------------------------------------------------------------------


def test_fetch_saves_a_known_file_atomically_with_progress(keras_home, monkeypatch):
    data = shared_weights().read_bytes()
    calls = serve(monkeypatch, data)
    rec = Recorder()
    got = ensure_mobilenet_weights(progress=rec)
    dest = keras_home / "models" / CACHE_NAME
    assert got == str(dest) and dest.read_bytes() == data
    assert calls == [(WEIGHTS_URL, weights_mod.CONNECT_TIMEOUT_S)]
    assert rec.started == (WEIGHTS_URL, dest, len(data)) and rec.got == len(data) and rec.stopped
    assert sorted(p.name for p in dest.parent.iterdir()) == [CACHE_NAME]  # no temporary left
    ensure_mobilenet_weights(progress=rec)  # once: the cached file is used from now on
    assert len(calls) == 1


def test_fetch_announces_one_line_by_default(keras_home, monkeypatch, capsys):
    serve(monkeypatch, shared_weights().read_bytes())
    fetch_mobilenet_weights()
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"downloading MobileNetV2 ImageNet weights (9.4 MB) from {WEIGHTS_URL} to "
        f"{keras_home / 'models' / CACHE_NAME}"
    ]


def test_a_download_that_matches_no_known_digest_is_not_kept(keras_home, monkeypatch):
    serve(monkeypatch, b"<html>captive portal</html>")
    with pytest.raises(WeightsNotFoundError, match="not the known MobileNetV2 weights") as e:
        ensure_mobilenet_weights(progress=Recorder())
    assert "nothing was saved" in str(e.value) and WEIGHTS_URL in str(e.value)
    models = keras_home / "models"
    assert not models.exists() or not list(models.iterdir())


def test_unreachable_server_is_one_error_naming_url_and_path(keras_home, monkeypatch):
    def down(url, timeout=None):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", down)
    with pytest.raises(WeightsNotFoundError, match="could not download") as e:
        ensure_mobilenet_weights(progress=Recorder())
    assert WEIGHTS_URL in str(e.value) and str(keras_cache_file()) in str(e.value)
    assert "Name or service not known" in str(e.value)


def test_a_server_that_never_answers_fails_within_the_deadline(keras_home, monkeypatch):
    """The name lookup is not bounded by socket timeouts: the opening has its own deadline."""

    def hang(url, timeout=None):
        time.sleep(30)

    monkeypatch.setattr(urllib.request, "urlopen", hang)
    started = time.monotonic()
    with pytest.raises(WeightsNotFoundError, match="TimeoutError"):
        fetch_mobilenet_weights(progress=Recorder(), timeout=0.2)
    assert time.monotonic() - started < 2


# ---- the CLI ----------------------------------------------------------------------------------


def test_cli_offline_flag_makes_no_network_call(keras_home, no_network, tmp_path):
    clip_dir = REPO / "vidaug" / "datasets" / "samples"
    for args in (["embed", clip_dir, "--out", tmp_path / "ix", "--offline"],
                 ["dedup", clip_dir, "--offline"], ["weights", "--fetch", "--offline"]):  # fmt: skip
        r = runner.invoke(app, [str(a) for a in args])
        assert r.exit_code == 2, (args, r.output)
        line = r.stderr.strip()
        assert line.startswith("error: ") and "\n" not in line, r.stderr
        assert WEIGHTS_URL in line and str(keras_cache_file()) in line
    assert not no_network


@pytest.mark.parametrize(
    "command",
    [
        ["embed", "{samples}", "--out", "{tmp}/ix"],
        ["train", "{samples}", "--out", "{tmp}/m.keras"],
        ["curate", "{samples}", "{tmp}/cur", "--dedup"],
        ["curate", "{samples}", "{tmp}/cur", "--label-errors", "keep", "--embedder", "x.keras"],
        ["compare", "{samples}"],
    ],
    ids=["embed", "train", "curate", "curate-label-errors", "compare"],
)
def test_cli_without_weights_exits_2_fast_before_tensorflow(tmp_path, command):
    """An empty Keras home, HOME elsewhere, VIDAUG_OFFLINE=1: one line, exit 2, within 3 s."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_HOME", "VIDAUG_WEIGHTS")}
    env.update(HOME=str(home), VIDAUG_OFFLINE="1",
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))  # fmt: skip
    samples = REPO / "vidaug" / "datasets" / "samples"
    code = (
        "import atexit, sys, vidaug.cli\n"
        "atexit.register(lambda: print('tensorflow' in sys.modules))\nvidaug.cli.main()"
    )
    started = time.monotonic()
    args = [a.format(samples=samples, tmp=tmp_path) for a in command]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       env=env, cwd=tmp_path)  # fmt: skip
    elapsed = time.monotonic() - started
    assert r.returncode == 2, r.stderr
    assert elapsed < 3, elapsed
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert WEIGHTS_URL in lines[0]
    assert str(home / ".keras" / "models" / CACHE_NAME) in lines[0]
    assert r.stdout.strip() == "False"  # decided before TensorFlow was imported


def test_weights_command_missing_exits_2_with_the_instructions(keras_home, no_network):
    r = runner.invoke(app, ["weights", "--json"])
    assert r.exit_code == 2
    out = json.loads(r.stdout)
    assert out["exists"] is False and out["source"] == "Keras cache"
    assert out["file"] == str(keras_cache_file()) and out["url"] == WEIGHTS_URL
    assert "vidaug weights --fetch" in r.stderr and WEIGHTS_URL in r.stderr
    assert not no_network


def test_weights_command_fetch_downloads_and_reports(keras_home, monkeypatch):
    data = shared_weights().read_bytes()
    calls = serve(monkeypatch, data)
    monkeypatch.setattr(weights_mod, "load_mobilenet", lambda path: None)  # no TensorFlow here
    r = runner.invoke(app, ["weights", "--fetch", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["fetched"] is True and out["exists"] is True and out["loads"] is True
    assert out["size"] == len(data) and out["known"] is True
    assert (keras_home / "models" / CACHE_NAME).read_bytes() == data
    assert "downloading MobileNetV2 ImageNet weights" in r.stderr and len(calls) == 1
    r = runner.invoke(app, ["weights", "--fetch"])  # already there: nothing downloaded
    assert r.exit_code == 0 and len(calls) == 1
    assert "sha256" in r.stdout and "known" in r.stdout


def test_weights_command_reports_an_unknown_digest(tmp_path, keras_home, no_network,
                                                   monkeypatch):  # fmt: skip
    odd = tmp_path / "odd.h5"
    odd.write_bytes(b"not the official bytes")
    monkeypatch.setattr(weights_mod, "load_mobilenet", lambda path: None)
    r = runner.invoke(app, ["weights", "--weights", str(odd)], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "not a known digest" in r.stdout and "(--weights)" in r.stdout


@pytest.mark.slow
def test_weights_command_loads_the_shared_file_and_refuses_junk(keras_home, tmp_path,
                                                                no_network):  # fmt: skip
    in_cache(keras_home)
    r = runner.invoke(app, ["weights", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["loads"] is True and out["known_as"] == KNOWN_WEIGHTS[1].what
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"junk")
    r = runner.invoke(app, ["weights", "--weights", str(junk), "--json"])
    assert r.exit_code == 2
    assert json.loads(r.stdout)["loads"] is False
    assert "not a MobileNetV2 no-top weights file" in r.stderr
