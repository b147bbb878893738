"""The ``rerender`` command line. Capture, training and rendering land with the rerender issues."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "entry"]


def main(argv: Sequence[str] | None = None) -> int:
    """Print help (the subcommands are not implemented yet); returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="rerender",
        description="Neural rerendering in the wild: capture (SfM + deep framebuffers), train, render, eval. "
        "Not implemented yet in this version: only this help is available.",
    )
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        parser.print_help()
        return 0
    parser.print_usage(sys.stderr)
    print(f"rerender: error: subcommand {args[0]!r} is not implemented yet", file=sys.stderr)
    return 2


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
