"""Rewrite the `--help` blocks of docs/commands.md from the installed commands.

    python tests/update_docs.py            # after adding or changing an option; then review `git diff docs/`
    python tests/update_docs.py --check    # exit 1 if a block is stale (tests/test_docs.py fails then too)

Each ```console step of docs/commands.md whose command is `NAME --help` gets the output that command prints
now (with the venv's bin first on PATH and an 80-column terminal, as tests/test_docs.py runs it).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_check import ROOT, console_steps, environment, parse_blocks, run_shell  # noqa: E402

PAGE = ROOT / "docs" / "commands.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether a block is stale")
    args = parser.parse_args()
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    env, stale = environment(), []
    edits: list[tuple[int, int, list[str]]] = []  # (first line index, end index, new lines), 0-based
    for block in parse_blocks(PAGE):
        if block.lang != "console":
            continue
        steps = console_steps(block)
        closing = block.body[-1][0] if block.body else block.line  # last line of the body (1-based)
        for k, (line, command, expected) in enumerate(steps):
            if not re.fullmatch(r"\S+ --help", command.strip()):
                continue
            result = run_shell(command, ROOT, env)
            if result.returncode != 0:
                print(f"{PAGE.relative_to(ROOT)}:{line}: `{command}` exited with status {result.returncode}:\n"
                      f"{result.stderr}", file=sys.stderr)
                return 1
            new = [text.rstrip() for text in result.stdout.rstrip().splitlines()]
            if [text.rstrip() for text in expected] != new:
                stale.append(command)
            end = steps[k + 1][0] - 1 if k + 1 < len(steps) else closing  # 1-based, inclusive
            edits.append((line, end, new))  # replace lines line+1..end (1-based) = indices line..end-1
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = new
    for command in stale:
        print(f"stale: {command}")
    if args.check:
        return 1 if stale else 0
    if stale:
        PAGE.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"rewrote {len(stale)} block(s) of {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
