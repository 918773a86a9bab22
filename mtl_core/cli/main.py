"""The parser (one sub-parser per command, each setting its handler with
``set_defaults(func=...)``) and ``main``: errors print one line starting with ``error:`` on
stderr and exit with status 2; ``--verbose`` adds the traceback of an unexpected error."""
from __future__ import annotations

import argparse
import logging
import sys
import traceback

from ..errors import MTLError
from . import data, lab, report, sales, train
from .options import Parser, UsageError, add_verbose

#: the command groups, in the order ``--help`` lists them
GROUPS = (data, train, lab, sales, report)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m mtl_core", description="MTL Lab: multi-task recommendation models from the command line.")
    add_verbose(p, top=True)
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for group in GROUPS:
        group.add_commands(sub)
    for s in sub.choices.values():
        add_verbose(s)
    return p


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    verbose = False
    try:
        a = parser.parse_args(argv)
        verbose = bool(getattr(a, "verbose", False))
        if not a.command:
            parser.print_help()
            return 2
        return a.func(a)
    except UsageError as exc:
        print(f"error: {exc} (see --help)", file=sys.stderr)
    except MTLError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
    except BrokenPipeError:  # `inspect ... | head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except MemoryError:
        print("error: out of memory; use a smaller file, fewer rows or a smaller batch size", file=sys.stderr)
    except Exception as exc:  # never a traceback for the user, unless asked for
        if verbose:
            traceback.print_exc(file=sys.stderr)
        else:
            logging.getLogger("mtl_core").debug("unexpected error", exc_info=True)
        hint = "" if verbose else " (run with --verbose for the traceback)"
        print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)[:300]}{hint}", file=sys.stderr)
    return 2
