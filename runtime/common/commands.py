"""What every wavenet-edge command shares: bad input ends in one line on stderr and exit status 2.

    @click.command(cls=OneLineCommand)
    def main(...): ...

Library code raises WavenetEdgeError (or a subclass); click's own usage errors are shortened to their
message. Neither prints a traceback or a usage block.
"""

from __future__ import annotations

import sys

import click

from .errors import WavenetEdgeError

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERRUPTED", "OneLineCommand", "fail"]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def fail(message: str) -> None:
    """Print one error line and exit with status 2."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


class OneLineCommand(click.Command):
    """A click command whose errors are one line and exit status 2, never a traceback or usage text."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except click.ClickException as err:
            fail(err.format_message())
        except WavenetEdgeError as err:
            fail(str(err))
        except BrokenPipeError:
            sys.exit(0)
        sys.exit(result if isinstance(result, int) else 0)
