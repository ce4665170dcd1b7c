"""The ``rgb2depth`` command: parses arguments and calls the library.

Exit status, the same for every command:

- **0**: done.
- **2**: something the user can fix before running: a bad argument, a missing or
  malformed input file, a config value, an output location that cannot be created
  or written (:class:`~rgb2depth.errors.InputError` or an argparse usage error).
  These are found before any output is written.
- **1**: a failure while running that is not the input's fault: the system refused
  mid-run (disk full, a permission changed), training diverged.
- **130**: interrupted (Ctrl-C).

Every error is one line on stderr (``rgb2depth COMMAND: error: ...``), never a
traceback; stdout carries only results. Advice in a message is given only where it
applies.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rgb2depth import __version__
from rgb2depth.cli import (
    benchmark,
    check,
    convert,
    demo,
    evaluate,
    export,
    generate,
    models,
    predict,
    reconstruct,
    report,
    serve,
    train,
    verify,
)
from rgb2depth.errors import InputError

COMMANDS = (
    demo,
    predict,
    reconstruct,
    evaluate,
    train,
    models,
    generate,
    convert,
    check,
    serve,
    export,
    benchmark,
    report,
    verify,
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and still exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rgb2depth",
        description="Depth from a single photo: generate data, train, evaluate, predict.",
    )
    parser.add_argument("--version", action="version", version=f"rgb2depth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # ``train CONFIG --resume key=value``: overrides may follow options.
        if getattr(args, "overrides", None) is not None and all(
            "=" in e and not e.startswith("-") for e in extra
        ):
            args.overrides = [*args.overrides, *extra]
        else:  # said by the command's own parser: "rgb2depth generate: error: ..."
            command = _subparsers(parser).choices.get(args.command, parser)
            command.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    if hasattr(args, "quiet") and not sys.stderr.isatty():
        args.quiet = True  # progress bars only on a terminal: logs and pipes get plain lines
    try:
        return int(args.run(args) or 0)
    except InputError as e:
        print(f"rgb2depth {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the system refused (disk full, permissions): still one line
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        print(f"rgb2depth {args.command}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"rgb2depth {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
