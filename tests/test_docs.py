"""The user docs cannot rot: every shell command, console example and Python block of README.md and docs/*.md
runs as printed (on small made-up data, in a scratch directory, with this venv's bin first on PATH), every
relative link and every repository path in backticks exists, and docs/commands.md shows each command's current
`--help` (`python tests/update_docs.py` rewrites those blocks). One test per page, so a failure names it;
blocks marked `<!-- docs-test: skip=... -->` are listed at the end of the run. The conventions: the docstring
of tests/docs_check.py and CONTRIBUTING.md.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from docs_check import (
    ROOT,
    RUN_LANGUAGES,
    environment,
    link_problems,
    make_scratch,
    parse_blocks,
    path_problems,
    rel,
    run_block,
    sh_commands,
    user_docs,
)

PAGES = user_docs()
LINKED_PAGES = [*PAGES, ROOT / "CONTRIBUTING.md"]
BLOCKS = {page: parse_blocks(page) for page in PAGES}
SKIPPED = [(block, len(sh_commands(block)) if block.lang == "sh" else None)
           for blocks in BLOCKS.values() for block in blocks if block.skip and block.lang in RUN_LANGUAGES]


class _SkippedBlocks:
    """Lists the blocks this machine does not run, with their reasons, at the end of the run."""

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.section("docs blocks not run here (tests/test_docs.py)")
        for block, commands in SKIPPED:
            first = next((text for _, text in block.body if text.strip() and not text.startswith("#")), "")
            terminalreporter.write_line(f"{block.where}  skip={block.skip}  ```{block.lang}"
                                        f"{f'  {commands} command(s)' if commands is not None else ''}: {first}")


@pytest.fixture(scope="module", autouse=True)
def list_skipped_blocks(request):
    if SKIPPED and request.config.pluginmanager.get_plugin("docs-skipped") is None:
        request.config.pluginmanager.register(_SkippedBlocks(), name="docs-skipped")
    yield


def _ids(pages):
    return [rel(page) for page in pages]


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_blocks_are_well_formed(page):
    problems = [problem for block in BLOCKS[page] for problem in block.problems]
    assert not problems, "\n".join(problems)


def _runnable(page):
    return [block for block in BLOCKS[page] if block.lang in RUN_LANGUAGES and not block.skip]


def _run_page(page, directory):
    scratch, env = make_scratch(directory), environment()
    return [failure for block in _runnable(page) for failure in run_block(block, scratch, env)]


@pytest.fixture(scope="module")
def page_failures(request, tmp_path_factory):
    """Runs the selected pages side by side, one per core (each command is one process; the pages do not share
    a directory), so the whole docs test takes about the time of its longest pages, not their sum."""
    selected = [item.callspec.params["page"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_commands_run_as_printed" and hasattr(item, "callspec")]
    pages = [page for page in dict.fromkeys(selected) if _runnable(page)]
    workers = max(1, min(len(pages), os.cpu_count() or 1, 4))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {page: pool.submit(_run_page, page, tmp_path_factory.mktemp("docs") / "scratch") for page in pages}
        return {page: future.result() for page, future in futures.items()}


@pytest.mark.needs_train_extra
@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_commands_run_as_printed(page, page_failures):
    if not _runnable(page):
        pytest.skip(f"{rel(page)} has no block to run")
    failures = page_failures[page]
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("page", LINKED_PAGES, ids=_ids(LINKED_PAGES))
def test_links_and_paths_exist(page):
    problems = link_problems(page) + path_problems(page)
    assert not problems, "\n".join(problems)


def test_readme_is_a_short_guide():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; the rest belongs in docs/"


def test_the_setup_commands_come_first_and_ci_runs_the_second():
    commands = [command for block in BLOCKS[ROOT / "README.md"] if block.lang in ("sh", "console")
                for command in (sh_commands(block) if block.lang == "sh"
                                else [(line, text[2:]) for line, text in block.body if text.startswith("$ ")])]
    first, second = commands[0][1], commands[1][1]
    assert first.startswith("pip install . && wn-generate"), first
    assert second.startswith("pip install torch=="), second
    assert second in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines(), \
        "the README's second set-up command must appear verbatim in .ci/run"
    assert second.endswith("python -m pytest"), second


def test_commands_md_shows_every_commands_help():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]  # no tomllib on Python 3.10
    scripts = re.findall(r"^([\w-]+)\s*=", section, re.MULTILINE)
    page = ROOT / "docs" / "commands.md"
    shown = {text[2:].split()[0] for block in BLOCKS[page] if block.lang == "console"
             for _, text in block.body if re.match(r"^\$ \S+ --help$", text)}
    missing = sorted(set(scripts) - shown)
    assert not missing, f"docs/commands.md has no `$ NAME --help` block for {missing}: python tests/update_docs.py"


HISTORY = re.compile(r"\b(issue|issues) #?\d+|(?<![\w/])#\d{1,4}\b|\bthis session\b|\blast session\b"
                     r"|\bdevelopment log\b", re.IGNORECASE)


@pytest.mark.parametrize("page", [*PAGES, ROOT / "js" / "README.md"], ids=_ids([*PAGES, ROOT / "js" / "README.md"]))
def test_user_docs_tell_no_history(page):
    if not page.exists():
        pytest.skip(f"{rel(page)} does not exist")
    found = [f"{rel(page)}:{number}: {match.group(0)!r}"
             for number, text in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
             for match in HISTORY.finditer(text)]
    assert not found, "history belongs in CHANGELOG.md:\n" + "\n".join(found)
