"""``vidaug weights``: the MobileNetV2 ImageNet weights file the commands use, checked and
fetched; :func:`require_weights` is how a command gets that file (with a download bar)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from vidaug.cli._app import cli_errors, err_console, fail, human_size, out_console
from vidaug.cli._options import AsJson, Offline, Weights

if TYPE_CHECKING:
    from vidaug.mining import WeightsInfo

#: The commands that embed or train with MobileNetV2 (and so read this file).
USERS = "embed, search, dedup, mine-hard, curate, train, evaluate --cv, compare"


class DownloadBar:
    """A :class:`vidaug.mining.DownloadProgress` for the terminal: the announcing line, then a
    rich bar of bytes on stderr."""

    def __init__(self) -> None:
        self.progress: Any = None
        self.task: Any = None

    def start(self, url: str, dest: Path, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        from vidaug.mining import download_line

        err_console.print(escape(download_line(url, dest, total)), soft_wrap=True)
        self.progress = Progress(
            TextColumn("[bold]download"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err_console,
        )
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


def _as_dict(info: WeightsInfo, fetched: bool) -> dict[str, Any]:
    from vidaug.mining import WEIGHTS_URL, keras_cache_file

    return {
        "file": str(info.path),
        "source": info.source,
        "exists": info.exists,
        "fetched": fetched,
        "size": info.size,
        "sha256": info.sha256,
        "md5": info.md5,
        "known": info.known is not None,
        "known_as": info.known.what if info.known else None,
        "loads": info.loads,
        "error": info.error,
        "url": WEIGHTS_URL,
        "keras_cache": str(keras_cache_file()),
    }


def _print_info(info: WeightsInfo, fetched: bool) -> None:
    """The human report on stdout: file, size, digest, known or not, loads or not."""
    where = f"{escape(str(info.path))} [dim]({info.source})[/dim]"
    out_console.print(f"MobileNetV2 ImageNet weights ({USERS}):", soft_wrap=True)
    if not info.exists:
        out_console.print(f"  file    {where}: [red]missing[/red]", soft_wrap=True)
        return
    out_console.print(f"  file    {where}" + (" [green]fetched[/green]" if fetched else ""),
                      soft_wrap=True)  # fmt: skip
    out_console.print(f"  size    {human_size(info.size or 0)} ({info.size} bytes)")
    out_console.print(f"  sha256  {info.sha256}")
    if info.known:
        out_console.print(f"  digest  [green]known[/green]: {escape(info.known.what)}",
                          soft_wrap=True)  # fmt: skip
    else:
        out_console.print("  digest  [yellow]not a known digest[/yellow] (loading it below is "
                          "the check)", soft_wrap=True)  # fmt: skip
    ok = "[green]yes[/green]: MobileNetV2 1.0/224 no-top builds, every weight has its shape"
    out_console.print(f"  loads   {ok if info.loads else '[red]no[/red]'}", soft_wrap=True)


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

    fetched = False
    with cli_errors():
        info = inspect_weights(weights, load=False)
        if not info.exists and fetch:
            require_weights(weights, offline)
            fetched = True
        if info.exists or fetched:
            with err_console.status("loading the weights with Keras…"):
                info = inspect_weights(weights)
    if as_json:
        out_console.print_json(json.dumps(_as_dict(info, fetched)))
    else:
        _print_info(info, fetched)
    if not info.exists:
        fail(f"{info.path}: no MobileNetV2 weights file; {where_to_put()}, or run "
             "`vidaug weights --fetch`", 2)  # fmt: skip
    if not info.loads:
        fail(info.error or f"{info.path}: does not load as MobileNetV2 weights", 2)
