"""The ``sandwich`` command line: train, eval, encode, decode, models, bench, export, export-onnx, calibrate, demo, video.

Every subcommand is reachable through :func:`main` (``main(argv) -> exit code``) so it can be tested
without a subprocess. Library errors become one-line messages and exit code 2.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Sequence

from neuralwrap.cli_support import load_command, run_command, terminate_as_interrupt
from neuralwrap.sandwich.cli.args import build_parser

__all__ = ["COMMANDS", "build_parser", "entry", "main"]

#: command → ``module:function`` that runs it; a command's module (torch, codecs, …) loads only when it runs
COMMANDS: dict[str, str] = {
    "train": "neuralwrap.sandwich.cli.commands:cmd_train",
    "eval": "neuralwrap.sandwich.cli.commands:cmd_eval",
    "encode": "neuralwrap.sandwich.cli.batch:cmd_encode",  # one file: cli/files.py; a folder: a batch
    "decode": "neuralwrap.sandwich.cli.batch:cmd_decode",  # one file: cli/onnx_files.py (torch or onnx)
    "export-onnx": "neuralwrap.sandwich.cli.onnx_files:cmd_export_onnx",
    "models": "neuralwrap.sandwich.cli.models:cmd_models",
    "export": "neuralwrap.sandwich.cli.commands:cmd_export",
    "calibrate": "neuralwrap.sandwich.cli.commands:cmd_calibrate",
    "bench": "neuralwrap.sandwich.cli.commands:cmd_bench",
    "demo": "neuralwrap.sandwich.cli.commands:cmd_demo",
    "video": "neuralwrap.sandwich.cli.batch:cmd_video",  # video encode over a folder of clips: a batch
    "viewer": "neuralwrap.sandwich.cli.viewer:cmd_viewer",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    what = f"sandwich {args.command}" + (f" {args.video_command}" if args.command == "video" else "")
    command = load_command(COMMANDS, args.command)
    return run_command(
        what, command, args, "interrupted (no partial output was left; a training run resumes from its checkpoint)"
    )


def entry() -> None:
    """Console-script entry point: SIGTERM unwinds like Ctrl-C, so temporaries are removed on that exit too."""
    warnings.simplefilter("default")
    terminate_as_interrupt()
    sys.exit(main())


if __name__ == "__main__":
    entry()
