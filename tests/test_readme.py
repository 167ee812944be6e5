"""Every README.md example runs as written and prints what README shows (issue 21 §2).

README's ```console blocks (``$ `` starts a command, a trailing ``\\`` continues it, the lines up
to the next command are its shown output, ``#`` lines are comments) and ```python blocks run in
README order, in a temporary copy of the repository root prepared like ``make tour``
(``docs/tour_data.py``), with ``vidaug`` on PATH and ``../shared`` linked beside the copy. Blocks
that need the MobileNetV2 weights (found by command name, or marked
``<!-- readme-test: needs-weights (why) -->`` on the line before the block) are skipped without
``../shared``; blocks marked ``<!-- readme-test: skip (why) -->`` (minutes of work, the network)
are not run, but every ``vidaug`` command in them must still parse (run with ``--help``) and a
skipped Python block must compile and import its names.

The check: every shown output line appears, in order, in the command's real output (stdout and
stderr) after :func:`normalise`; in Python blocks a ``print(...)  # → TEXT`` comment is the
shown output. Only what legitimately varies is normalised (see :func:`normalise`); an ellipsis
(``...`` / ``…``) elides text inside one line. Numbers that come from the data (scores, counts)
must match exactly. Blocks depend on earlier blocks' outputs: run the whole file.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import REPO, SHARED

README = REPO / "README.md"
WEIGHTS = SHARED / "models/mobilenet_v2/mobilenet_v2_1.0_224_notop.h5"
BIN = Path(sys.executable).parent
#: commands that load the MobileNetV2 weights (or a model trained with them)
WEIGHT_COMMANDS = {"weights", "embed", "search", "dedup", "mine-hard", "curate", "train",
                   "evaluate", "compare", "export", "report"}  # fmt: skip
MARK = re.compile(r"<!--\s*readme-test:\s*(skip|needs-weights)\s*\((.+)\)\s*-->")
ELLIPSIS = re.compile(r"\.\.\.|…")
BORDER = re.compile(r"^[\s┏┓┗┛┳┻┡┩╇└┘┴┌┐┬─━╭╮╰╯├┤┼]*$")
CLOCK = re.compile(r"\b\d+:\d\d:\d\d\b")
SECONDS = re.compile(r"\b\d+(\.\d+)? s\b")
PROGRESS = "━"


@dataclass
class Command:
    text: str
    line: int
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # console | python
    line: int  # 1-based line of the opening fence
    body: list[str]
    mark: tuple[str, str] | None  # ("skip" | "needs-weights", reason)

    @property
    def commands(self) -> list[Command]:
        return parse_console(self.body, self.line + 1) if self.kind == "console" else []

    def needs_weights(self) -> bool:
        if self.mark and self.mark[0] == "needs-weights":
            return True
        return any(vidaug_subcommand(c.text) in WEIGHT_COMMANDS for c in self.commands)

    def ident(self) -> str:
        return f"README.md:{self.line}"


def readme_blocks(text: str) -> list[Block]:
    """The ```console and ```python blocks of README text, each with its marker comment."""
    lines, blocks, i = text.splitlines(), [], 0
    while i < len(lines):
        fence = re.fullmatch(r"```(console|python)\s*", lines[i])
        if not fence:
            i += 1
            continue
        end = lines.index("```", i + 1)
        prev = next((p for p in reversed(lines[:i]) if p.strip()), "")
        m = MARK.search(prev)
        mark = (m.group(1), m.group(2)) if m else None
        blocks.append(Block(fence.group(1), i + 1, lines[i + 1 : end], mark))
        i = end + 1
    return blocks


def parse_console(body: list[str], first_line: int) -> list[Command]:
    """Commands of a console block with their shown output lines."""
    commands: list[Command] = []
    cont = False
    for n, line in enumerate(body, first_line):
        if cont:
            commands[-1].text = commands[-1].text[:-1].rstrip() + " " + line.strip()
        elif line.startswith("$ "):
            commands.append(Command(line[2:].strip(), n))
        elif line.strip() and not line.startswith("#") and commands:
            commands[-1].shown.append(line)
        cont = bool(commands) and commands[-1].text.endswith("\\")
    return commands


def vidaug_subcommand(command: str) -> str | None:
    """``augment`` for ``vidaug augment ...``; None for other commands."""
    argv = shlex.split(command, comments=True)
    return argv[1] if len(argv) > 1 and argv[0] == "vidaug" else None


def normalise(line: str, root: Path | None = None) -> str:
    """One output line as compared: the temporary root's path dropped, durations (``6.2 s``)
    and clocks (``0:00:00``) replaced by ``<time>``, table borders (``┃``, ``│``) read as
    ``|``, whitespace runs collapsed. Everything else (scores, counts, names) stays exact."""
    if root is not None:
        line = line.replace(f"{root}{os.sep}", "").replace(str(root), ".")
    line = CLOCK.sub("<time>", SECONDS.sub("<time> s", line))
    line = line.replace("┃", "|").replace("│", "|")
    return " ".join(line.split())


def shown_lines(lines: list[str]) -> list[str]:
    """Shown output to check: progress bars (timing-dependent) and bare ellipses dropped."""
    out = [normalise(s) for s in lines if PROGRESS not in s]
    return [s for s in out if ELLIPSIS.sub("", s).strip()]


def match_end(shown: str, real: str, start: int = 0) -> int:
    """Where the pieces of ``shown`` around its ellipses, found in order in ``real`` from
    ``start``, end; -1 when they are not all there."""
    pos = start
    for piece in ELLIPSIS.split(shown):
        piece = piece.strip()
        found = real.find(piece, pos)
        if found < 0:
            return -1
        pos = found + len(piece)
    return pos


def missing_lines(shown: list[str], output: str, root: Path | None = None) -> list[str]:
    """Shown lines that do not appear, in order, in ``output``; empty when all do. Several
    shown lines may be one long output line wrapped (each continues where the last ended)."""
    real = [normalise(r, root) for r in output.splitlines() if not BORDER.match(r)]
    missing, line, col = [], 0, 0
    for s in shown_lines(shown):
        for j in range(line, len(real)):
            end = match_end(s, real[j], col if j == line else 0)
            if end >= 0:
                line, col = j, end
                break
        else:
            missing.append(s)
    return missing


def python_shown(body: list[str]) -> list[str]:
    """A Python block's shown output: the ``# → TEXT`` comments of its ``print(...)`` lines."""
    out = []
    for line in body:
        m = re.match(r"\s*print\(.*\)\s+#\s*→\s*(.+)$", line)
        if m:
            out.append(m.group(1))
    return out


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               COLUMNS="200", PYTHONUNBUFFERED="1", VIDAUG_OFFLINE="1")  # fmt: skip
    env.pop("VIDAUG_WEIGHTS", None)
    if WEIGHTS.is_file():
        env["VIDAUG_WEIGHTS"] = str(WEIGHTS)
    return env


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A copy of the repository root after ``make demo`` and ``make tour`` (the README's
    starting point; run with this interpreter's environment), ``../shared`` beside it."""
    base = tmp_path_factory.mktemp("readme")
    root = base / "repo"
    root.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("vidaug", "docs"):
        shutil.copytree(REPO / name, root / name, ignore=junk)
    shutil.copy(REPO / "Makefile", root)
    if SHARED.is_dir():
        (base / "shared").symlink_to(SHARED, target_is_directory=True)
    env = _env(root)
    venv = Path(sys.prefix)
    if shutil.which("make") is None:
        pytest.skip("make is not installed (the README starts from make demo and make tour)")
    for target in ("demo", "tour"):  # -o: the environment is installed, never remade here
        subprocess.run(["make", "-s", "-o", f"{venv}/.installed", target, f"VENV={venv}"],
                       cwd=root, env=env, check=True, capture_output=True, timeout=300)  # fmt: skip
    return root, env


def run_command(cmd: Command, root: Path, env: dict[str, str]) -> str:
    """Run one README command in ``root`` (``export`` updates ``env``); its output."""
    if cmd.text.startswith("export "):
        for word in shlex.split(cmd.text, comments=True)[1:]:
            name, _, value = word.partition("=")
            env[name] = value
        return ""
    proc = subprocess.run(["bash", "-c", cmd.text], cwd=root, env=env, text=True, timeout=600,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    assert proc.returncode == 0, (
        f"README.md:{cmd.line}: `{cmd.text}` exit {proc.returncode}:\n{proc.stdout[-3000:]}"
    )
    return proc.stdout


def check_parses(block: Block) -> None:
    """A block that is not run: its ``vidaug`` commands parse, its Python compiles and imports."""
    for cmd in block.commands:
        argv = shlex.split(cmd.text, comments=True)
        if argv and argv[0] == "vidaug":
            proc = subprocess.run([str(BIN / "vidaug"), *argv[1:], "--help"], text=True,
                                  capture_output=True, timeout=120)  # fmt: skip
            assert proc.returncode == 0, (
                f"README.md:{cmd.line}: `{cmd.text}` does not parse:\n{proc.stdout}{proc.stderr}"
            )
    if block.kind == "python":
        tree = ast.parse("\n".join(block.body), filename=block.ident())
        imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        exec(compile(ast.Module(imports, []), block.ident(), "exec"), {})


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def test_readme_has_examples() -> None:
    kinds = [b.kind for b in BLOCKS]
    assert kinds.count("console") >= 8 and kinds.count("python") >= 3
    assert not [b.ident() for b in BLOCKS if b.kind == "console" and not b.commands]


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mark and b.mark[0] == "skip"],
                         ids=Block.ident)  # fmt: skip
def test_skipped_block_still_parses(block: Block) -> None:
    check_parses(block)


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=Block.ident)
def test_readme_block(block: Block, tour: tuple[Path, dict[str, str]]) -> None:
    root, env = tour
    if block.mark and block.mark[0] == "skip":
        pytest.skip(f"{block.ident()}: {block.mark[1]} (test_skipped_block_still_parses)")
    if block.needs_weights() and not WEIGHTS.is_file():
        pytest.skip(f"{block.ident()} needs the MobileNetV2 weights of ../shared ({WEIGHTS})")
    if block.kind == "python":
        code = "\n".join(block.body)
        proc = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, text=True,
                              timeout=600, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        assert proc.returncode == 0, f"{block.ident()} failed:\n{proc.stdout[-3000:]}"
        missing = missing_lines(python_shown(block.body), proc.stdout, root)
        assert not missing, f"{block.ident()}: not printed: {missing}\n{proc.stdout[-3000:]}"
        return
    for cmd in block.commands:
        out = run_command(cmd, root, env)
        missing = missing_lines(cmd.shown, out, root)
        assert not missing, (
            f"README.md:{cmd.line}: `{cmd.text}` did not print {missing}; it printed:\n{out[-3000:]}"
        )


def test_normaliser_keeps_data_and_drops_timing() -> None:
    shown = ["done: 12 clips written from 6 sources (recipe surveillance, 6.2 s)",
             "augment ━━━━ 6/6 clips 0:00:00 noFight/nofi148.mp4",
             "┃ rank ┃ similarity ┃", "│ 2    │ 0.6664     │", "  ...",
             '{"id":"a","score":0.912…,"group":0,']  # fmt: skip
    real = ("done: 12 clips written from 6 sources (recipe surveillance, 10.3 s)\n"
            "┏━━━━━━┳━━━━━━━━━━━━┓\n┃ rank ┃ similarity ┃\n│ 2 │ 0.6664 │\n"
            '{"id":"a","score":0.91234,"group":0,"x":1}\n')  # fmt: skip
    assert missing_lines(shown, real) == []
    assert missing_lines(["│ 2    │ 0.6665     │"], real) == ["| 2 | 0.6665 |"]
    assert missing_lines(["1 outlier"], "done: 12 clips\n0 outliers\n") == ["1 outlier"]
    # order matters: a shown line must come after the previous one's match
    assert missing_lines(["b", "a"], "a\nb\n") == ["a"]
    assert missing_lines(['{"a":1,', ' "b":2, ...'], '{"a":1, "b":2, "c":3}\n') == []
    assert missing_lines(['"b":2,', '{"a":1,'], '{"a":1, "b":2, "c":3}\n') == ['{"a":1,']


def test_parser_reads_commands_output_and_markers() -> None:
    text = ("x\n<!-- readme-test: skip (4 minutes) -->\n```console\n# a comment\n"
            "$ vidaug compare a \\\n    -a x   # note\nline 1\n\n$ ls\n```\n"
            "```python\nprint(1)  # → 1\n```\n")  # fmt: skip
    console, python = readme_blocks(text)
    assert console.mark == ("skip", "4 minutes") and python.mark is None
    cmds = console.commands
    assert [(c.text, c.shown) for c in cmds] == [("vidaug compare a -a x   # note", ["line 1"]),
                                                 ("ls", [])]  # fmt: skip
    assert console.needs_weights() and python_shown(python.body) == ["1"]


def test_a_skipped_block_with_a_drifted_option_fails() -> None:
    good = Block("console", 1, ["$ vidaug compare a.jsonl --cv 5 --seeds 0,1 \\", "    -a x"], None)
    check_parses(good)
    bad = Block("console", 1, ["$ vidaug compare a.jsonl --folds 5"], None)
    with pytest.raises(AssertionError, match="does not parse"):
        check_parses(bad)
