"""``vidaug weights``: the MobileNetV2 ImageNet weights file the commands use, checked and
fetched; :func:`require_weights` is how a command gets that file (with a download bar)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from vidaug.cli._app import cli_errors, emit, err_console, fail, progress_bar
from vidaug.cli._options import AsJson, Offline, Weights


class DownloadBar:
    """A :class:`vidaug.mining.DownloadProgress` for the terminal: the announcing line, then a
    rich bar of bytes on stderr."""

    def __init__(self) -> None:
        self.progress: Any = None
        self.task: Any = None

    def start(self, url: str, dest: Path, total: int | None) -> None:
        from rich import progress as rp

        from vidaug.mining import download_line

        err_console.print(escape(download_line(url, dest, total)), soft_wrap=True)
        self.progress = progress_bar("download", rp.DownloadColumn(), rp.TransferSpeedColumn(),
                                     rp.TimeRemainingColumn())  # fmt: skip
        self.progress.start()
        self.task = self.progress.add_task("download", total=total)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=n)

    def stop(self) -> None:
        if self.progress is not None and self.progress.live.is_started:
            self.progress.stop()


def require_weights(weights: Path | None, offline: bool, needed: bool = True) -> Path | None:
    """The MobileNetV2 weights file a command will use, decided before TensorFlow starts:
    ``--weights``, ``VIDAUG_WEIGHTS``, Keras' cache, else fetched once into that cache with a
    progress bar (unless ``offline``); ``weights`` unchanged when the command needs none
    (``needed`` False: a seed CNN, another embedder).

    Raises:
        WeightsNotFoundError: none here and offline, no network, or a bad download (exit 2;
            the line names the URL and the cache file).
    """
    if not needed:
        return weights
    from vidaug.mining import ensure_mobilenet_weights

    return Path(ensure_mobilenet_weights(weights, offline=offline, progress=DownloadBar()))


Fetch = Annotated[
    bool,
    typer.Option("--fetch", help="Download Keras' file into Keras' cache when it is missing."),
]


def weights_cmd(
    weights: Weights = None,
    fetch: Fetch = False,
    offline: Offline = False,
    as_json: AsJson = False,
) -> None:
    """Show which MobileNetV2 weights file the commands use, verify it, fetch it.

    The file is --weights, else VIDAUG_WEIGHTS, else Keras' cache ($KERAS_HOME/models/, by
    default ~/.keras/models/, under Keras' file name), which the commands fill from Keras' URL
    on first use unless --offline. Prints its size and sha256, whether that is a known digest,
    and whether Keras builds MobileNetV2 from it. Exit 0 when it is usable, 2 when it is
    missing (the line names the URL and the file to save it as) or does not load.
    """
    from vidaug.mining import inspect_weights, where_to_put
    from vidaug.pipelines import weights_dict, weights_lines

    fetched = False
    with cli_errors():
        info = inspect_weights(weights, load=False)
        if not info.exists and fetch:
            require_weights(weights, offline)
            fetched = True
        if info.exists or fetched:
            with err_console.status("loading the weights with Keras…"):
                info = inspect_weights(weights)
    emit(as_json, weights_dict(info, fetched), lambda: weights_lines(info, fetched))
    if not info.exists:
        fail(f"{info.path}: no MobileNetV2 weights file; {where_to_put()}, or run "
             "`vidaug weights --fetch`", 2)  # fmt: skip
    if not info.loads:
        fail(info.error or f"{info.path}: does not load as MobileNetV2 weights", 2)
