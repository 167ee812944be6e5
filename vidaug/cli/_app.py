"""The typer app, shared console helpers and the error boundary."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from vidaug._version import __version__
from vidaug.errors import ManifestError, RecipeError, UsageError, VidaugError

app = typer.Typer(
    name="vidaug",
    help="Temporally consistent video augmentation, dataset mining and curation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)

#: Errors that mean "the command was asked for something impossible": exit 2, like usage errors.
USAGE_ERRORS = (ManifestError, RecipeError, UsageError)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one red line on stderr and exit with ``code``."""
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out_console.print(f"vidaug {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Temporally consistent video augmentation, dataset mining and curation."""


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn library errors into one red line: exit 2 for bad input/recipe, 1 otherwise."""
    try:
        yield
    except USAGE_ERRORS as e:
        fail(str(e), 2)
    except VidaugError as e:
        fail(str(e), 1)


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that every command cleans up the same way (temporary
    files removed, workers stopped); the process then exits 143 (128 + SIGTERM)."""

    exit_code = 143


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main() -> None:
    """Console entry point. Anything unexpected becomes one line, not a traceback."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except KeyboardInterrupt as e:  # a command that does not handle it itself
        sys.exit(getattr(e, "exit_code", 130))
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if os.environ.get("VIDAUG_DEBUG"):
            raise
        err_console.print(
            f"[red]internal error:[/red] {type(e).__name__}: {escape(str(e))} "
            "(set VIDAUG_DEBUG=1 for the traceback)",
            soft_wrap=True,
        )
        sys.exit(1)


class ClipProgress:
    """A rich progress bar on stderr counting clips (shared by the long commands).

    ``start(n)`` shows it (nothing for ``n == 0``), ``advance(label)`` counts one clip and shows
    its name, ``say(markup)`` prints a line above the bar, ``stop()`` removes it (idempotent).
    """

    def __init__(self, verb: str) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.verb = verb
        self.task = None
        self.progress = Progress(
            TextColumn(f"[bold]{verb}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("clips"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[last]}", style="dim"),
            console=err_console,
        )

    def start(self, n: int) -> None:
        if n == 0:
            return
        self.progress.start()
        self.task = self.progress.add_task(self.verb, total=n, last="")

    def advance(self, label: str = "") -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1, last=escape(label))

    def count(self, done: int, total: int) -> None:
        """A ``(done, total)`` callback: starts the bar at the first clip, stops it at the
        last (a library pass that reports counts, not names)."""
        if done == 1:
            self.start(total)
        self.advance()
        if done == total:
            self.stop()

    def say(self, markup: str) -> None:
        self.progress.console.print(markup, soft_wrap=True)

    def stop(self) -> None:
        self.progress.stop()


def clip_progress(verb: str) -> ClipProgress:
    """A :class:`ClipProgress` for ``verb``."""
    return ClipProgress(verb)
