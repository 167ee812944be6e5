"""The typer app, shared console helpers and the error boundary."""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup

from vidaug import pipelines
from vidaug._version import __version__
from vidaug.errors import ManifestError, RecipeError, UsageError, VidaugError, VidaugWarning
from vidaug.pipelines import human_size, one_line, os_error_line, plural  # noqa: F401 (re-exported)


class _PlainHelp:
    """Help as click always printed it: ``Usage: vidaug augment [OPTIONS] INPUT OUTPUT``
    (typer ≥ 0.2x prints ``{input} {output}``) and flags without a type (``--json``, not
    ``--json <bool>``). Mixed into the app's command and group classes."""

    params: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for p in self.params:
            if isinstance(p, TyperArgument) and p.metavar is None:
                p.metavar = (p.name or "arg").upper()
            elif getattr(p, "is_flag", False) and p.metavar is None:
                p.metavar = ""  # the type column shows the metavar: nothing for a flag

    def get_help_option(self, ctx: Any) -> Any:
        opt = super().get_help_option(ctx)  # type: ignore[misc]
        if opt is not None and opt.metavar is None:
            opt.metavar = ""
        return opt


class _Command(_PlainHelp, TyperCommand):
    def invoke(self, ctx: Any) -> Any:
        """Run the command; SIGTERM (:class:`Terminated`) exits 143 (typer would turn it, like
        every KeyboardInterrupt a command lets through, into 130)."""
        try:
            return super().invoke(ctx)
        except Terminated as e:
            raise typer.Exit(e.exit_code) from e

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for p in self.get_params(ctx):
            if isinstance(p, TyperArgument):
                name = p.metavar + ("..." if p.nargs != 1 else "")
                pieces.append(name if p.required else f"[{name}]")
            else:
                pieces.extend(p.get_usage_pieces(ctx))
        return pieces


class _Group(_PlainHelp, TyperGroup):
    pass


class _Typer(typer.Typer):
    """``typer.Typer`` whose commands are :class:`_Command` s."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or _Command, **kwargs)


app = _Typer(
    name="vidaug",
    help="Temporally consistent video augmentation, dataset mining and curation.",
    cls=_Group,
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
    err_console.print(f"[red]error:[/red] {escape(one_line(message))}", soft_wrap=True)
    raise typer.Exit(code)


def say(lines: Iterable[Any], *, err: bool = False, soft_wrap: bool = True) -> None:
    """Print ``lines`` (rich markup or renderables, e.g. a summary of :mod:`vidaug.pipelines`)
    one after the other on stdout, or on stderr with ``err``."""
    for line in lines:
        (err_console if err else out_console).print(line, soft_wrap=soft_wrap)


def emit(as_json: bool, data: Any, text: Callable[[], Iterable[Any] | str] | None = None,
         *, soft_wrap: bool = True) -> None:  # fmt: skip
    """A command's result on stdout: ``data`` as JSON with ``--json``, else what ``text()``
    renders: lines of rich markup (or renderables), or one ``str`` printed as it is (a YAML
    document). Nothing without ``text``."""
    if as_json:
        out_console.print_json(json.dumps(data, default=str))
    elif text is not None:
        lines = text()
        if isinstance(lines, str):
            typer.echo(lines, nl=False)
        else:
            say(lines, soft_wrap=soft_wrap)


def exit_failed(lines: list[str]) -> None:
    """After the results are out: print the failures' ``lines`` on stderr and exit 1 (nothing
    when there are none)."""
    say(lines, err=True)
    if lines:
        raise typer.Exit(1)


def check_out_file(path: Path | None, option: str, suffixes: tuple[str, ...] = ()) -> None:
    """Refuse, before any work, an output file that cannot be written (exit 2): a directory,
    a wrong suffix, a parent that is a file or a folder without write permission."""
    with cli_errors():
        pipelines.check_output_file(path, option, suffixes)


def check_out_dir(path: Path, what: str) -> None:
    """Refuse, before any work, an output folder that cannot be made or written (exit 2)."""
    with cli_errors():
        pipelines.check_output_dir(path, what)


def _version(value: bool) -> None:
    if value:
        out_console.print(f"vidaug {__version__}")
        raise typer.Exit()


@contextmanager
def show_warnings() -> Iterator[None]:
    """Print vidaug's warnings (:class:`~vidaug.errors.VidaugWarning`, e.g. a manifest that
    lists a file twice) as one yellow ``warning:`` line each on stderr, each text once per
    command (an input is read more than once); other warnings go their usual way."""
    shown: set[str] = set()
    with warnings.catch_warnings():
        usual = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            if not issubclass(category, VidaugWarning):
                usual(message, category, filename, lineno, file, line)
                return
            text = one_line(str(message))
            if text not in shown:
                shown.add(text)
                err_console.print(f"[yellow]warning:[/yellow] {escape(text)}", soft_wrap=True)

        warnings.simplefilter("always", VidaugWarning)
        warnings.showwarning = show
        yield


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:  # fmt: skip
    """Temporally consistent video augmentation, dataset mining and curation."""
    ctx.with_resource(show_warnings())  # for the whole command


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn library errors into one red line: exit 2 for bad input/recipe, 1 otherwise (a
    file the system refused to write or read, such as a full disk, is 1 as well)."""
    try:
        yield
    except USAGE_ERRORS as e:
        fail(str(e), 2)
    except VidaugError as e:
        fail(str(e), 1)
    except OSError as e:
        fail(os_error_line(e), 1)


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
    except OSError as e:  # full disk, read-only folder, … outside a command's cli_errors
        if os.environ.get("VIDAUG_DEBUG"):
            raise
        err_console.print(f"[red]error:[/red] {escape(os_error_line(e))}", soft_wrap=True)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if os.environ.get("VIDAUG_DEBUG"):
            raise
        err_console.print(
            f"[red]internal error:[/red] {type(e).__name__}: {escape(str(e))} "
            "(set VIDAUG_DEBUG=1 for the traceback)",
            soft_wrap=True,
        )
        sys.exit(1)


def progress_bar(title: str, *columns: Any) -> Any:
    """A rich progress bar on stderr: the bold ``title``, the bar, then ``columns``."""
    from rich.progress import BarColumn, Progress, TextColumn

    return Progress(TextColumn(f"[bold]{title}"), BarColumn(), *columns, console=err_console)


class ClipProgress:
    """A rich progress bar on stderr counting clips (or another ``unit``), with the time left
    (shared by the long commands).

    ``start(n)`` shows it (nothing for ``n == 0``), ``advance(label, warning)`` counts one clip
    and shows its name (a warning, if any, above the bar), ``say(markup)`` prints a line above
    the bar, ``stop()`` removes it (idempotent).
    """

    def __init__(self, verb: str, unit: str = "clips") -> None:
        from rich import progress as rp

        self.verb = verb
        self.task = None
        self.progress = progress_bar(verb, rp.MofNCompleteColumn(), rp.TextColumn(unit),
                                     rp.TimeRemainingColumn(),
                                     rp.TextColumn("{task.fields[last]}", style="dim"))  # fmt: skip

    def start(self, n: int) -> None:
        if n == 0:
            return
        self.progress.start()
        self.task = self.progress.add_task(self.verb, total=n, last="")

    def advance(self, label: str = "", warning: str | None = None) -> None:
        if warning:
            self.say(f"[yellow]warning:[/yellow] {escape(warning)}")
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
        # rich prints an empty line when a bar that never showed is stopped (not a terminal)
        if self.progress.live.is_started:
            self.progress.stop()


clip_progress = ClipProgress  # ``clip_progress(verb, unit)``, the name the commands use


@contextmanager
def resumable(progress: ClipProgress, output: Path) -> Iterator[None]:
    """Run a job that writes OUTPUT with ``progress`` shown: the bar stops however it ends;
    Ctrl-C (or SIGTERM) says the finished clips are kept and how to continue, then exits 130
    (143)."""
    try:
        yield
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (see main)
        progress.stop()
        err_console.print(
            "[red]interrupted[/red]: finished clips are kept; run again with --resume to "
            f"continue ({escape(str(output))})"
        )
        raise typer.Exit(getattr(e, "exit_code", 130)) from None
    finally:
        progress.stop()
