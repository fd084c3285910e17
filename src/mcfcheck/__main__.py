"""Run mcfcheck: the ``mcfcheck`` command, and ``python -m mcfcheck``."""

from __future__ import annotations

import gc
import sys


def main() -> int:
    """Import the command line with the garbage collector off, then run it and return its exit status.

    Importing makes a few hundred thousand objects and no garbage: the collector's passes
    over them took about 8% of a small file's run (alternating runs). The command line then
    tunes the collector for the run (:func:`mcfcheck.native.tune_process`).
    """
    gc.disable()
    try:
        from mcfcheck.cli import main as command_line
    finally:
        gc.enable()
    return command_line()


if __name__ == "__main__":
    sys.exit(main())
