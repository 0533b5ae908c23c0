"""What every ``cogd`` command shares: the usage error, the parser, argument types, input and
output checks, printing."""

import argparse
import glob
import os
import sys

import numpy as np

__all__ = ["UsageError", "Parser", "say", "say_error", "one_line", "positive_int",
           "non_negative_int", "fraction", "quality", "user_input", "as_unit", "expand",
           "check_output", "check_folder", "add_common"]


class UsageError(Exception):
    """A problem with the user's input: reported on one line, exit status 2."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` where there is a default worth showing (not None or a flag's)."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError` (one line, exit status 2)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(message)


def say(text):
    """Print one line of the command's report on stdout (flushed at once)."""
    print(text, flush=True)


def say_error(text):
    """Print ``cogd: error: text`` on stderr, on one line."""
    print(f"cogd: error: {text}", file=sys.stderr, flush=True)


def one_line(error):
    """An exception's message on one line (its type's name when it has none)."""
    return " ".join(str(error).split()) or type(error).__name__


# -- argument types (argparse turns their ValueError into a one-line usage error) -----------------
def positive_int(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def non_negative_int(text):
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def fraction(text):
    value = float(text)
    if not 0 < value < 1:
        raise ValueError(text)
    return value


def quality(text):
    value = int(text)
    if not 1 <= value <= 100:
        raise ValueError(text)
    return value


positive_int.__name__ = "integer >= 1"
non_negative_int.__name__ = "integer >= 0"
fraction.__name__ = "fraction in (0, 1)"
quality.__name__ = "integer in [1, 100]"


# -- inputs and outputs --------------------------------------------------------------------------
def user_input(function, *args, **kwargs):
    """Call ``function``; a ValueError or TypeError (bad user input) becomes a UsageError."""
    try:
        return function(*args, **kwargs)
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None


def as_unit(image):
    """The float policy of the whole project (:func:`csc.images.as_float`), in float64."""
    from csc.images import as_float

    return as_float(image, name="image", finite=False).astype(np.float64)


def expand(patterns):
    """Files named by ``patterns``: a file name as it is (even with glob characters), a folder
    as its image files (:data:`restoration.io.IMAGE_SUFFIXES`, sorted, not in sub-folders),
    anything else as a glob pattern."""
    from ..io import IMAGE_SUFFIXES

    paths = []
    for pattern in patterns:
        if os.path.isfile(pattern):
            matches = [pattern]
        elif os.path.isdir(pattern):
            matches = sorted(entry.path for entry in os.scandir(pattern)
                             if entry.is_file() and entry.name.lower().endswith(IMAGE_SUFFIXES))
            if not matches:
                raise UsageError(f"folder {pattern} holds no image file "
                                 f"({', '.join(IMAGE_SUFFIXES)})")
        else:
            matches = sorted(glob.glob(pattern))
        if not matches:
            raise UsageError(f"no file matches {pattern!r}")
        paths.extend(matches)
    return paths


def check_output(path, force, suffixes=None, option="--output"):
    """Refuse, before any computation, an output that could not or should not be written."""
    if suffixes is not None and not path.lower().endswith(suffixes):
        raise UsageError(f"{option} must end with one of {', '.join(suffixes)}, got {path!r}")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path} is a folder; give a file name")
    if os.path.exists(path) and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {folder} is not writable")


def check_folder(path, option):
    """Refuse, before any computation, an output folder that is not one, or that could not be
    created (with its missing parents) where the nearest existing folder above it is."""
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"{option} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: folder {existing} is not writable")


def add_common(sub):
    """The options of every command: ``--force`` and ``--quiet``."""
    sub.add_argument("--force", action="store_true", help="overwrite existing output files")
    sub.add_argument("--quiet", action="store_true", help="no progress bar")
