"""MobileNetV2 ImageNet weights the Keras way: where they are, how they are fetched and checked.

The file is, in this order: the ``weights`` argument (``--weights``), the ``VIDAUG_WEIGHTS``
variable, Keras' cache file (``$KERAS_HOME/models/``, by default ``~/.keras/models/``, under
Keras' own file name). When none is on this machine, :func:`ensure_mobilenet_weights` fetches
Keras' file once into that cache (unless offline: ``offline=True`` or ``VIDAUG_OFFLINE=1``),
with a short connect timeout, streamed into a temporary file next to the cache file and renamed
into place only after its digest matched.

What is verified, and how: a file's size and digests are compared with :data:`KNOWN_WEIGHTS`.
Keras pins no hash for this file; the digest vidaug pins for Keras' download is the MD5 that
MIAnalyzer/MIA publishes for its mirror of it (the same project's pins of other Keras files
equal Keras' own ``file_hash`` values, so its mirror is a byte copy); its sha256 is not
published anywhere vidaug could check, so none is invented. The other entry is the conversion
of Google's TFLite MobileNetV2 that ships in ``../shared/models/mobilenet_v2`` (sha256, see its
``PROVENANCE.md``). A download is kept only when it matches a known digest. A file already on
disk that matches none is still used: Keras loads it (:func:`load_mobilenet`), which is a
structural check (the model builds and every weight has the right shape), and ``vidaug
weights`` reports it as "not a known digest".

Nothing here imports TensorFlow except :func:`load_mobilenet`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import sys
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vidaug.datasets import atomic_path
from vidaug.errors import UsageError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "KERAS_CACHE_NAME",
    "KNOWN_WEIGHTS",
    "WEIGHTS_URL",
    "DownloadProgress",
    "KnownWeights",
    "WeightsInfo",
    "WeightsNotFoundError",
    "download_line",
    "ensure_mobilenet_weights",
    "fetch_mobilenet_weights",
    "file_digests",
    "inspect_weights",
    "is_offline",
    "keras_cache_file",
    "load_mobilenet",
    "locate_mobilenet_weights",
    "resolve_mobilenet_weights",
    "where_to_put",
]

#: The file name Keras' ``weights="imagenet"`` looks for (and downloads) in its cache.
KERAS_CACHE_NAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
#: Keras' own URL (``keras.applications.mobilenet_v2.BASE_WEIGHT_PATH`` + the file name).
WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/" + KERAS_CACHE_NAME
)
#: Seconds to reach the server (name lookup, connection, TLS, headers) and the most a transfer
#: may stall: a machine without network fails fast instead of hanging.
CONNECT_TIMEOUT_S = 3.0
#: Values of ``VIDAUG_OFFLINE`` that mean "on" (click's spelling of a true flag).
_TRUE = {"1", "true", "t", "yes", "y", "on"}


class WeightsNotFoundError(UsageError):
    """The MobileNetV2 weights are neither on this machine nor downloadable (offline, no
    network, a download that did not match), or a given file is not MobileNetV2's. The CLI
    exits 2; the message names the URL and the exact file to put them at."""


@dataclass(frozen=True)
class KnownWeights:
    """A weights file vidaug knows by its digest.

    Attributes:
        what: where the file comes from, for people.
        size: its size in bytes.
        sha256: its sha256 (hex), when one is published.
        md5: its MD5 (hex), when that is the published digest.
    """

    what: str
    size: int
    sha256: str | None = None
    md5: str | None = None

    def matches(self, size: int, sha256: str, md5: str) -> bool:
        """Whether a file of ``size`` bytes with these digests is this one."""
        return size == self.size and self.sha256 in (None, sha256) and self.md5 in (None, md5)


#: The files :func:`inspect_weights` and a download recognise (see the module docstring).
KNOWN_WEIGHTS = (
    KnownWeights(
        "Keras' download (MD5 as published by MIAnalyzer/MIA for its mirror of it)",
        9_406_464,
        md5="f1a68526548f7541cda07e19ba6c85f4",
    ),
    KnownWeights(
        "vidaug's conversion of Google's int8 TFLite MobileNetV2 (shared/models/mobilenet_v2)",
        9_407_712,
        sha256="9ba4054a9d4961ccb930460db5ee37cf6c65538f2580b63f9874d0d89571fc3f",
    ),
)
#: Size of Keras' file, announced before its server says it.
_KERAS_SIZE = KNOWN_WEIGHTS[0].size


def is_offline(offline: bool | None = None) -> bool:
    """``offline`` when given, else whether ``VIDAUG_OFFLINE`` is set to a true value
    (``1``, ``true``, ``yes``, ``on``)."""
    if offline is not None:
        return bool(offline)
    return os.environ.get("VIDAUG_OFFLINE", "").strip().lower() in _TRUE


def keras_cache_file() -> Path:
    """Where Keras keeps (and vidaug fetches) the weights: ``$KERAS_HOME/models/<name>``;
    without ``KERAS_HOME``, ``~/.keras`` (``/tmp/.keras`` when home is not writable, as Keras)."""
    home = os.path.expanduser(os.environ.get("KERAS_HOME") or "")
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return Path(home) / "models" / KERAS_CACHE_NAME


def where_to_put() -> str:
    """The instructions every weights error ends with: the URL and the exact file."""
    return (
        f"download {WEIGHTS_URL} and save it as {keras_cache_file()}, "
        "or pass --weights PATH / set VIDAUG_WEIGHTS=PATH"
    )


def locate_mobilenet_weights(weights: str | os.PathLike | None = None) -> tuple[Path, str]:
    """The file the weights are read from and why: ``(path, source)`` with source
    ``--weights``, ``VIDAUG_WEIGHTS`` or ``Keras cache`` (that file may not exist yet).

    Raises:
        WeightsNotFoundError: an explicit path (argument or variable) is not a file.
    """
    for given, what in (
        (weights, "--weights"),
        (os.environ.get("VIDAUG_WEIGHTS"), "VIDAUG_WEIGHTS"),
    ):
        if given:
            p = Path(given).expanduser()
            if not p.is_file():
                raise WeightsNotFoundError(f"{p}: no such weights file ({what}); {where_to_put()}")
            return p, what
    return keras_cache_file(), "Keras cache"


def resolve_mobilenet_weights(weights: str | os.PathLike | None = None) -> str:
    """The weights file on this machine (:func:`locate_mobilenet_weights`), or ``"imagenet"``
    when there is none (:func:`ensure_mobilenet_weights` then fetches it).

    Raises:
        WeightsNotFoundError: an explicit path (argument or variable) does not exist.
    """
    path, _ = locate_mobilenet_weights(weights)
    return str(path) if path.is_file() else "imagenet"


class DownloadProgress(Protocol):
    """What a download reports to: ``start`` once the server answered, ``advance`` per block,
    ``stop`` at the end (also after a failure)."""

    def start(self, url: str, dest: Path, total: int | None) -> None: ...

    def advance(self, n: int) -> None: ...

    def stop(self) -> None: ...


def download_line(url: str, dest: Path, total: int | None) -> str:
    """The one line that announces a download."""
    size = f"{(total or _KERAS_SIZE) / 1e6:.1f} MB"
    return f"downloading MobileNetV2 ImageNet weights ({size}) from {url} to {dest}"


class _AnnounceOnly:
    """The library's default :class:`DownloadProgress`: the announcing line on stderr, no bar
    (the CLI draws one)."""

    def start(self, url: str, dest: Path, total: int | None) -> None:
        print(download_line(url, dest, total), file=sys.stderr, flush=True)

    def advance(self, n: int) -> None:
        pass

    def stop(self) -> None:
        pass


def ensure_mobilenet_weights(
    weights: str | os.PathLike | None = None,
    *,
    offline: bool | None = None,
    progress: DownloadProgress | None = None,
) -> str:
    """The weights file to use, fetched once into Keras' cache when none is on this machine.

    Decided before TensorFlow is imported: a machine without the weights and offline fails at
    once.

    Args:
        weights: a weights file (see :func:`locate_mobilenet_weights`).
        offline: never download (None: ``VIDAUG_OFFLINE``, see :func:`is_offline`).
        progress: receives the download's progress (default: one line on stderr).

    Raises:
        WeightsNotFoundError: an explicit path does not exist; or none is here and downloads
            are off, the server cannot be reached, or the download does not match.
    """
    path, _ = locate_mobilenet_weights(weights)
    if path.is_file():
        return str(path)
    if is_offline(offline):
        raise WeightsNotFoundError(
            "the MobileNetV2 ImageNet weights are not on this machine and downloads are off "
            f"(offline); {where_to_put()}"
        )
    return str(fetch_mobilenet_weights(path, progress=progress))


def fetch_mobilenet_weights(
    dest: str | os.PathLike | None = None,
    *,
    url: str = WEIGHTS_URL,
    progress: DownloadProgress | None = None,
    timeout: float = CONNECT_TIMEOUT_S,
) -> Path:
    """Download Keras' MobileNetV2 no-top ImageNet weights to ``dest`` (default: Keras' cache
    file), checked against :data:`KNOWN_WEIGHTS` before it is renamed into place.

    Returns:
        ``dest``.

    Raises:
        WeightsNotFoundError: the server cannot be reached within ``timeout`` seconds, the
            transfer fails or stalls, the file cannot be written, or its digest is not a
            known one (nothing is left behind).
    """
    dest = Path(dest) if dest is not None else keras_cache_file()
    shown = progress or _AnnounceOnly()
    try:
        with atomic_path(dest) as tmp:
            size, sha256, md5 = _download(url, tmp, dest, shown, timeout)
            if not any(k.matches(size, sha256, md5) for k in KNOWN_WEIGHTS):
                raise WeightsNotFoundError(
                    f"{url}: the download is not the known MobileNetV2 weights file ({size} "
                    f"bytes, sha256 {sha256}, md5 {md5}); nothing was saved; {where_to_put()}"
                )
    except (OSError, http.client.HTTPException) as e:  # no network, a cut transfer, a refused write
        why = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
        raise WeightsNotFoundError(
            f"could not download the MobileNetV2 ImageNet weights to {dest} "
            f"({type(e).__name__}: {why}); {where_to_put()}"
        ) from None
    return dest


def _download(
    url: str, tmp: Path, dest: Path, progress: DownloadProgress, timeout: float
) -> tuple[int, str, str]:
    """Stream ``url`` into ``tmp``; ``(bytes, sha256, md5)`` of what came."""
    h256, hmd5, n = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with _open_with_deadline(url, timeout) as resp:
        length = resp.headers.get("Content-Length") if resp.headers else None
        progress.start(url, dest, int(length) if length and length.isdigit() else None)
        try:
            with open(tmp, "wb") as f:
                while block := resp.read(1 << 16):
                    f.write(block)
                    h256.update(block)
                    hmd5.update(block)
                    n += len(block)
                    progress.advance(len(block))
        finally:
            progress.stop()
    return n, h256.hexdigest(), hmd5.hexdigest()


def _open_with_deadline(url: str, timeout: float) -> Any:
    """``urllib.request.urlopen(url)`` that answers within ``timeout`` seconds or raises
    ``TimeoutError``: the socket timeout does not bound the name lookup, so the whole opening
    runs in a daemon thread (one left hanging cannot keep the process alive)."""
    got: dict[str, Any] = {}

    def run() -> None:
        try:
            got["resp"] = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - https
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            got["error"] = e

    t = threading.Thread(target=run, name="vidaug-weights-connect", daemon=True)
    t.start()
    t.join(timeout + 0.5)
    if "error" in got:
        raise got["error"]
    if "resp" not in got:
        raise TimeoutError(f"no answer within {timeout:g} s")
    return got["resp"]


def file_digests(path: str | os.PathLike) -> tuple[str, str]:
    """``(sha256, md5)`` of a file, hex, read once."""
    h256, hmd5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h256.update(block)
            hmd5.update(block)
    return h256.hexdigest(), hmd5.hexdigest()


def load_mobilenet(path: str | os.PathLike) -> Any:
    """MobileNetV2 1.0/224 no-top, global-average-pooled, with the weights in ``path``
    (imports Keras).

    Raises:
        WeightsNotFoundError: the file is not MobileNetV2 no-top weights (Keras cannot build
            the model from it, or a weight has the wrong shape).
    """
    from vidaug.datasets import quiet_ffmpeg

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_ffmpeg():  # TensorFlow's C++ start-up chatter (absl, oneDNN) goes to fd 2
        import keras
    try:
        # Keras prints notices on stdout; keep stdout for --json output.
        with contextlib.redirect_stdout(sys.stderr):
            return keras.applications.MobileNetV2(
                weights=str(path), include_top=False, pooling="avg", input_shape=(224, 224, 3)
            )
    except Exception as e:  # noqa: BLE001 - a bad or truncated file
        raise WeightsNotFoundError(
            f"could not load MobileNetV2 ImageNet weights: {path} is not a MobileNetV2 no-top "
            f"weights file ({type(e).__name__}); {where_to_put()}"
        ) from None


@dataclass(frozen=True)
class WeightsInfo:
    """What :func:`inspect_weights` found out about a weights file.

    Attributes:
        path: the file the commands use.
        source: ``--weights``, ``VIDAUG_WEIGHTS`` or ``Keras cache``.
        exists: whether it is there.
        size, sha256, md5: of the file (None when it is missing).
        known: the :data:`KNOWN_WEIGHTS` entry it matches, if any.
        loads: whether Keras builds MobileNetV2 from it (None: not tried).
        error: why it does not load.
    """

    path: Path
    source: str
    exists: bool
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    known: KnownWeights | None = None
    loads: bool | None = None
    error: str | None = None


def inspect_weights(weights: str | os.PathLike | None = None, *, load: bool = True) -> WeightsInfo:
    """The weights file the commands use (:func:`locate_mobilenet_weights`), its size, digests,
    the known file it is, and, with ``load``, whether Keras loads it (imports TensorFlow).

    Raises:
        WeightsNotFoundError: an explicit path (argument or variable) is not a file.
    """
    path, source = locate_mobilenet_weights(weights)
    if not path.is_file():
        return WeightsInfo(path, source, False)
    size = path.stat().st_size
    sha256, md5 = file_digests(path)
    known = next((k for k in KNOWN_WEIGHTS if k.matches(size, sha256, md5)), None)
    loads, error = None, None
    if load:
        try:
            load_mobilenet(path)
            loads = True
        except WeightsNotFoundError as e:
            loads, error = False, str(e)
    return WeightsInfo(path, source, True, size, sha256, md5, known, loads, error)
