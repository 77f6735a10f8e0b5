"""The command line: list · inspect · render · trace · train · demo (the front door; may use viz)."""

from __future__ import annotations

import argparse
import os
import sys


class CLIError(Exception):
    """A runtime problem reported as one line on stderr with exit code 1."""


class UsageError(Exception):
    """Bad usage found after parsing (unknown architecture, ...): one line, exit code 2."""


def _console(args):
    """A rich Console that honours --no-color, NO_COLOR and pipes (no colour codes, no redraws)."""
    from rich.console import Console

    no_color = getattr(args, "no_color", False) or "NO_COLOR" in os.environ
    return Console(no_color=no_color, highlight=False, soft_wrap=False)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-color", action="store_true", help="no colour codes in the output")
    p.add_argument("--debug", action="store_true", help="show the traceback on errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-rnn",
        description="Build, draw, trace and train the recurrent nets of the Deep Learning "
                    "book's chapter 10.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (register, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_common(p)
        register(p)
    return parser


# Each command registers its arguments and names the function that runs it (p.set_defaults(run=)).
# The command functions live with the feature they show; see the functions below.


def _register_list(p):
    p.set_defaults(run=cmd_list)


def cmd_list(args) -> int:
    raise CLIError("list: not available yet")


COMMANDS = {
    "list": (_register_list, "the architecture catalog, one line each"),
}


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except UsageError as error:
        if args.debug:
            raise
        parser.print_usage(sys.stderr)
        print(f"tinygrad-rnn: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinygrad-rnn: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the front door turns every failure into one line
        if args.debug:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"tinygrad-rnn: error: {message}", file=sys.stderr)
        return 1
