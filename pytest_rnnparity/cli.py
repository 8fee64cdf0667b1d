"""``rnnparity`` / ``python -m pytest_rnnparity``: command-line helpers around the plugin.

Each subcommand is a function ``_<name>(args) -> int`` registered in :func:`_parser`.
Nothing here imports tensorflow; subcommands that need it import it themselves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    code: int = args.run(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnparity",
        description="Helpers for pytest-rnnparity spec files.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of the spec format",
        description="Print the JSON Schema (draft 2020-12) of spec files, for editors:"
        " rnnparity schema > spec_schema.json",
    )
    schema.set_defaults(run=_schema)
    return parser


def _schema(args: argparse.Namespace) -> int:
    from pytest_rnnparity.spec import schema_text

    sys.stdout.write(schema_text())
    return 0
