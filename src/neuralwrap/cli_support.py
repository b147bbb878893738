"""What every neuralwrap command line shares: running a command (library errors and Ctrl-C as one line, warnings as
one line each), SIGTERM unwinding like Ctrl-C so that ``finally`` blocks remove temporary outputs on that exit
too, the ``WxH`` size argument, the help formatter and the command table loader."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from types import FrameType
from typing import Any

from neuralwrap.errors import NeuralwrapError

__all__ = [
    "HelpFormatter",
    "load_command",
    "one_line_warnings",
    "parse_size",
    "raise_interrupt",
    "run_command",
    "terminate_as_interrupt",
]


@contextlib.contextmanager
def one_line_warnings(prefix: str) -> Iterator[None]:
    """Within the block, print each warning as ``PREFIX: warning: MESSAGE`` on stderr (no file/line noise)."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        print(f"{prefix}: warning: {message}", file=sys.stderr)

    saved = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = saved


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """Signal handler that raises :class:`KeyboardInterrupt` (what Ctrl-C does)."""
    raise KeyboardInterrupt


def terminate_as_interrupt() -> None:
    """Make SIGTERM raise :class:`KeyboardInterrupt` in the main thread (call once, from a console entry point)."""
    signal.signal(signal.SIGTERM, raise_interrupt)


def load_command(table: Mapping[str, str], name: str) -> Callable[[argparse.Namespace], int]:
    """The function ``table[name]`` names as ``"module:function"``; its module is imported only now, so a
    command line loads the heavy code of the one command it runs."""
    module, _, function = table[name].partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends ``(default: X)`` to option help, except for flags, ``None`` defaults and help that states its own."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            action.default is None
            or isinstance(action.default, bool)
            or action.default in ([], argparse.SUPPRESS)
            or "default" in text
        ):
            return text
        return super()._get_help_string(action)


def parse_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` → ``(width, height)`` in pixels (an argparse ``type``)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 416x240, got {text!r}") from None
    return w, h


def run_command(
    what: str, command: Callable[[argparse.Namespace], int], args: argparse.Namespace, interrupted: str = "interrupted"
) -> int:
    """Run ``command(args)``; a :class:`NeuralwrapError` becomes ``WHAT: error: …`` on one line (exit code 2),
    Ctrl-C ``WHAT: INTERRUPTED`` (exit code 130), and warnings one line each."""
    try:
        with one_line_warnings(what):
            return int(command(args) or 0)
    except NeuralwrapError as exc:
        print(f"{what}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{what}: {interrupted}", file=sys.stderr)
        return 130
