"""Reading and running the code blocks of the user docs (README.md, docs/*.md). Not a test module:
tests/test_docs.py runs the checks, tests/update_docs.py rewrites the `--help` blocks of docs/commands.md.

The conventions (CONTRIBUTING.md, "Docs that run"):

- ```sh: every line that is neither blank nor a `#` comment is one shell command (a line ending in `\\` goes on
  on the next), run as printed, in order, in the page's scratch directory; each must exit 0.
- ```console: `$ command` lines, each followed by its expected standard output (trailing whitespace ignored; a
  line `...` matches any number of lines). The command must exit 0 unless it sends its stderr to stdout
  (`2>&1`): then the output is what is checked.
- ```python: run as a script in the scratch directory; it must exit 0.
- Any other fence (text, json, js, ...) is not run; ```bash and ```shell are refused (write ```sh or ```text).
- `<!-- docs-test: skip=REASON -->` on the line just before a fence: not run here, listed with its reason.
  `<!-- docs-test: cap-steps=N -->`: ` --steps N` is added to each `wn-train` (or `-m wavenet_edge.train`)
  command of the block (2N to a `--resume` one, so that the resumed run has steps left), and its `--time` budget,
  if any, is dropped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tiny_data import names_like

ROOT = Path(__file__).resolve().parent.parent
SKIP_REASONS = ("gpu", "cluster", "network", "multi-machine", "openvino")
RUN_LANGUAGES = ("sh", "console", "python")
REFUSED_LANGUAGES = ("bash", "shell", "shell-session", "zsh")
COMMAND_TIMEOUT = 180  # seconds for one command or one python block
# Links from the scratch directory to the checkout, for commands that name the checkout's scripts and the JS
# package. `models` is deliberately absent: the shipped models are found by the installed package, as a user's are.
CHECKOUT_LINKS = ("js", "benchmarks", "docs", "examples")

MARKER = re.compile(r"^\s*<!--\s*docs-test:(.*?)-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*$")


def user_docs() -> list[Path]:
    """README.md and every page of docs/ (js/README.md, CHANGELOG.md and CONTRIBUTING.md are not run)."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    body: list[tuple[int, str]]  # (1-based line, text without the fence's indentation)
    skip: str | None = None
    cap_steps: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{rel(self.path)}:{self.line}"


def parse_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a markdown file, with their docs-test markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            marker = MARKER.match(lines[i])
            if marker and not (i + 1 < len(lines) and FENCE.match(lines[i + 1])):
                blocks.append(Block(path, i + 1, "", [], problems=[
                    f"{rel(path)}:{i + 1}: a docs-test marker must be on the line just before a fence"]))
            i += 1
            continue
        indent, fence, lang = opening.groups()
        block = Block(path, i + 1, lang.lower(), [])
        if i > 0 and (marker := MARKER.match(lines[i - 1])):
            _apply_marker(block, marker.group(1))
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence))
                                      and not lines[i].strip().strip(fence[0])):
            text = lines[i]
            block.body.append((i + 1, text[len(indent):] if text.startswith(indent) else text.lstrip()))
            i += 1
        if i == len(lines):
            block.problems.append(f"{block.where}: the fence is never closed")
        if block.lang in REFUSED_LANGUAGES:
            block.problems.append(f"{block.where}: ```{block.lang} is not used in these docs: write ```sh (run by "
                                  "the docs test) or ```text (not run)")
        blocks.append(block)
        i += 1
    return blocks


def _apply_marker(block: Block, options: str) -> None:
    for option in options.split():
        key, _, value = option.partition("=")
        if key == "skip" and value in SKIP_REASONS:
            block.skip = value
        elif key == "cap-steps" and value.isdigit() and int(value) > 0:
            block.cap_steps = int(value)
        else:
            block.problems.append(f"{block.where}: unknown docs-test option {option!r} (skip={'|'.join(SKIP_REASONS)}"
                                  ", or cap-steps=N)")


def sh_commands(block: Block) -> list[tuple[int, str]]:
    """(line, command) for each command of a ```sh block, continuation lines joined."""
    commands: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for line, text in block.body:
        if pending is not None:
            pending = (pending[0], pending[1] + "\n" + text)
        elif text.strip() and not text.lstrip().startswith("#"):
            pending = (line, text)
        else:
            continue
        if not pending[1].rstrip().endswith("\\"):
            commands.append(pending)
            pending = None
    if pending is not None:
        commands.append(pending)
    return [(line, cap_steps(command, block.cap_steps)) for line, command in commands]


def console_steps(block: Block) -> list[tuple[int, str, list[str]]]:
    """(line, command, expected output lines) for each `$ ` line of a ```console block."""
    steps: list[tuple[int, str, list[str]]] = []
    for line, text in block.body:
        if text.startswith("$ "):
            steps.append((line, cap_steps(text[2:], block.cap_steps), []))
        elif steps:
            steps[-1][2].append(text)
        elif text.strip():
            block.problems.append(f"{rel(block.path)}:{line}: a console block starts with a `$ command` line")
    return steps


def _comment_start(command: str) -> int:
    """Where a trailing shell comment starts (outside quotes), or len(command)."""
    quote = None
    for i, char in enumerate(command):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or command[i - 1].isspace()):
            return i
    return len(command)


def cap_steps(command: str, steps: int | None) -> str:
    """The command with ` --steps N` added to its wn-train line (2N for a --resume), before any comment."""
    if steps is None or not re.search(r"(^|[\s;&|(])(wn-train|-m wavenet_edge\.train)\s", command):
        return command
    cut = _comment_start(command)
    if "--resume" in command:
        steps *= 2
    head = re.sub(r"\s--time(?:=|\s+)\S+", "", command[:cut])  # a time budget gives way to the cap
    return head.rstrip() + f" --steps {steps}" + (("  " + command[cut:]) if cut < len(command) else "")


def lines_match(expected: list[str], actual: list[str]) -> bool:
    """Line by line, trailing whitespace ignored; an expected line `...` matches any number of lines."""
    expected = _trim([line.rstrip() for line in expected])
    actual = _trim([line.rstrip() for line in actual])
    memo: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        if (i, j) not in memo:
            if i == len(expected):
                memo[i, j] = j == len(actual)
            elif expected[i].strip() == "...":
                memo[i, j] = match(i + 1, j) or (j < len(actual) and match(i, j + 1))
            else:
                memo[i, j] = j < len(actual) and expected[i] == actual[j] and match(i + 1, j + 1)
        return memo[i, j]
    return match(0, 0)


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def environment() -> dict[str, str]:
    """The user's shell: the venv's bin first on PATH (the directory of this Python), an 80-column terminal."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "80"
    env["MPLBACKEND"] = "Agg"
    env.pop("WAVENET_EDGE_DATA_DIR", None)
    return env


def make_scratch(directory: Path) -> Path:
    """The files every page may use: mine.txt, few.txt, data/names.txt, items.csv (all made up)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "mine.txt").write_text("\n".join(names_like(300, seed=11)) + "\n", encoding="utf-8")
    (directory / "few.txt").write_text("emma\nolivia\nzyxw\nnan\nnull\n", encoding="utf-8")
    (directory / "data").mkdir(exist_ok=True)
    (directory / "data" / "names.txt").write_text("\n".join(names_like(2000, seed=12)) + "\n", encoding="utf-8")
    items = names_like(48, seed=13)
    items[3:3] = ["nan"]
    items[20:20] = ["null"]
    (directory / "items.csv").write_text("name\n" + "\n".join(items) + "\n", encoding="utf-8")
    for name in CHECKOUT_LINKS:
        if (ROOT / name).exists():
            (directory / name).symlink_to(ROOT / name)
    return directory


def run_shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> list[str]:
    """Run one block; the failures, each naming the file and line."""
    failures: list[str] = []
    if block.lang == "sh":
        for line, command in sh_commands(block):
            result = _run(command, cwd, env)
            if isinstance(result, str):
                failures.append(f"{rel(block.path)}:{line}: `{command}` {result}")
            elif result.returncode != 0:
                failures.append(f"{rel(block.path)}:{line}: `{command}` exited with status {result.returncode}\n"
                                f"  stderr:\n{_tail(result.stderr)}\n  stdout:\n{_tail(result.stdout)}")
    elif block.lang == "console":
        for line, command, expected in console_steps(block):
            result = _run(command, cwd, env)
            if isinstance(result, str):
                failures.append(f"{rel(block.path)}:{line}: `{command}` {result}")
                continue
            shows_errors = "2>&1" in command
            if result.returncode != 0 and not shows_errors:
                failures.append(f"{rel(block.path)}:{line}: `{command}` exited with status {result.returncode}\n"
                                f"  stderr:\n{_tail(result.stderr)}")
            elif not lines_match(expected, result.stdout.splitlines()):
                failures.append(f"{rel(block.path)}:{line}: `{command}` printed other output than the page shows\n"
                                f"  expected:\n{_tail(chr(10).join(expected), 40)}\n"
                                f"  printed:\n{_tail(result.stdout, 40)}")
    elif block.lang == "python":
        code = "\n".join(text for _, text in block.body) + "\n"
        try:
            result = subprocess.run([sys.executable, "-"], input=code, cwd=cwd, env=env, capture_output=True,
                                    text=True, timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            return [f"{block.where}: the python block ran over {COMMAND_TIMEOUT} s"]
        if result.returncode != 0:
            failures.append(f"{block.where}: the python block exited with status {result.returncode}\n"
                            f"{_tail(result.stderr)}")
    return failures


def _run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess | str:
    try:
        return run_shell(command, cwd, env)
    except subprocess.TimeoutExpired:
        return f"ran over {COMMAND_TIMEOUT} s (a training command needs small --steps or a cap-steps marker)"


# Links and paths ---------------------------------------------------------------------------------------------

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)")
HTML_LINK = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
PATH_LIKE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.\-/]*$")
NOT_REPO_DIRS = {"data", "runs"}  # downloads and training outputs: made by the commands, not in the checkout


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """The lines of a markdown file outside fenced blocks."""
    out, fence = [], None
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        opening = FENCE.match(text)
        if fence is None and opening:
            fence = opening.group(2)[0] * len(opening.group(2))
        elif fence is not None and text.strip().startswith(fence) and not text.strip().strip(fence[0]):
            fence = None
        elif fence is None:
            out.append((number, text))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, text in prose_lines(path):
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", text)
        if heading:
            base = slug(heading.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def link_problems(path: Path) -> list[str]:
    """Relative links (and their #anchors) that lead nowhere."""
    problems = []
    for number, text in prose_lines(path):
        plain = CODE_SPAN.sub("", text)
        targets = LINK.findall(plain) + HTML_LINK.findall(plain)
        if reference := REFERENCE.match(plain):
            targets.append(reference.group(1))
        for target in targets:
            if re.match(r"^[a-z][a-z0-9+.\-]*:", target, re.IGNORECASE):
                continue  # https:, mailto:, ...
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            if not resolved.exists():
                problems.append(f"{rel(path)}:{number}: the link `{target}` leads to no file")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                problems.append(f"{rel(path)}:{number}: the link `{target}`: no heading makes #{anchor}")
    return problems


def path_problems(path: Path) -> list[str]:
    """Repository paths written in backticks (`runtime/graphs.py`, `own-data.md`) that do not exist."""
    problems = []
    top_dirs = {entry.name for entry in ROOT.iterdir() if entry.is_dir() and not entry.name.startswith(".")}
    top_dirs |= {".ci"}
    for number, text in prose_lines(path):
        for _, span in CODE_SPAN.findall(text):
            span = span.strip()
            if not PATH_LIKE.match(span) or ".." in span:
                continue
            first = span.split("/", 1)[0]
            if "/" in span:
                if first not in top_dirs or first in NOT_REPO_DIRS:
                    continue
                candidates = [ROOT / span]
            elif span.endswith(".md"):
                candidates = [path.parent / span, ROOT / span]
            else:
                continue
            if not any(candidate.exists() for candidate in candidates):
                problems.append(f"{rel(path)}:{number}: `{span}` names no file or folder of the repository")
    return problems
