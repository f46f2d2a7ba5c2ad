"""Running a click command in-process and checking its one-line error (no torch). Not a test module.

    assert_error(invoke(cli.info_command, [path]), f"{path}: no such file")
"""

from __future__ import annotations

from click.testing import CliRunner, Result


def invoke(command, args) -> Result:
    return CliRunner().invoke(command, [str(a) for a in args])


def assert_error(result: Result, message: str, code: int = 2) -> None:
    """The command ended with exit status `code` and exactly one line, `Error: message`, on stderr."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.stderr == f"Error: {message}\n"
    assert "Traceback" not in result.output
