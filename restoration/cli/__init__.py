"""The ``cogd`` command line: a thin wrapper over the Python API.

Only this package prints. Every user error exits with status 2 and a one-line message (``cogd:
error: ...``), before anything is written; outputs are checked (folder, overwrite) before the
computation, written atomically and never overwrite an existing file without ``--force``. The
first line is printed before the long computation starts. ``cogd inpaint`` without an input is a
demo that writes to a cache folder (``$XDG_CACHE_HOME/cogd``, else ``~/.cache/cogd``), so that it
can be run again and never writes into the current folder.

One module per command (:mod:`~restoration.cli.inpaint` for ``inpaint`` and ``reconstruct``,
:mod:`~restoration.cli.learn`, :mod:`~restoration.cli.evaluate`); several inputs of ``inpaint``
or ``reconstruct`` in :mod:`~restoration.cli.batch`; every input, single or one of several,
through :func:`restoration.cli.files.restore_file`; what the commands share in
:mod:`~restoration.cli.common`.
"""

import sys

from . import evaluate, inpaint, learn
from .common import Parser, UsageError, one_line, say_error

__all__ = ["main"]


def build_parser():
    """The ``cogd`` argument parser: one sub-parser per command, each with its ``run``."""
    parser = Parser(
        prog="cogd",
        description="Convolutional sparse coding with ADMM and cogradient descent (CoGD): "
                    "inpaint or sparsely reconstruct images with a convolutional dictionary, "
                    "learn dictionaries, run the fruit/city protocol. `cogd inpaint` alone runs "
                    "a demo. `cogd COMMAND --help` describes each command.")
    parser.add_argument("--version", action="version", version=f"cogd {_version()}",
                        help="the installed version, then exit")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND",
                                     parser_class=Parser)
    inpaint.add_parsers(commands)
    learn.add_parser(commands)
    evaluate.add_parser(commands)
    return parser


def _version():
    """The version of the installed package ``cogd`` (its metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cogd")
    except PackageNotFoundError:
        return "(not installed: no package metadata)"


def main(argv=None):
    """Run the ``cogd`` command; return the exit status.

    0: done (or help printed); 2: a user error, reported on one line, nothing written; 1: an
    operating-system error (disk full, permissions) or out of memory, on one line; 130:
    interrupted.
    """
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help (argparse prints, then exits)
            return stop.code if isinstance(stop.code, int) else 0
        if args.command is None:
            parser.print_help()
            return 0
        return args.run(args)
    except UsageError as error:
        say_error(one_line(error))
        return 2
    except (OSError, MemoryError) as error:
        say_error(f"{type(error).__name__}: {one_line(error)}")
        return 1
    except KeyboardInterrupt:
        print("cogd: interrupted", file=sys.stderr)
        return 130
