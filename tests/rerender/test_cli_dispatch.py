"""The ``rerender`` CLI parses without torch (``--help`` is instant) and runs every command through its table."""

from __future__ import annotations

import importlib
import subprocess
import sys

from neuralwrap.rerender.cli import COMMANDS, build_parser

_HELP_WITHOUT_TORCH = """
import sys
from neuralwrap.rerender.cli import main
for argv in (["--help"], ["render", "--help"], ["train", "--help"], ["render"]):
    try:
        main(argv)
    except SystemExit:
        pass
heavy = sorted(m for m in ("torch", "numpy", "neuralwrap.rerender.commands") if m in sys.modules)
print("loaded:", heavy)
"""


def test_help_and_argument_errors_import_no_torch() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _HELP_WITHOUT_TORCH], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.strip().endswith("loaded: []"), run.stdout[-500:]
    assert "usage: rerender render" in run.stderr  # the missing-argument error of the last call


def test_every_command_has_a_parser_and_a_function() -> None:
    usage = build_parser().format_usage()  # usage: rerender [-h] {capture,render,eval,demo,train} ...
    assert set(usage[usage.index("{") + 1 : usage.index("}")].split(",")) == set(COMMANDS)
    for spec in COMMANDS.values():
        module, _, function = spec.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), spec
