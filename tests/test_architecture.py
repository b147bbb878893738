"""The layout of ``src/neuralwrap`` keeps its promises (docs/ARCHITECTURE.md): no import circles (imports inside
functions included, ``TYPE_CHECKING`` blocks excluded), no folder with more than 12 modules, data flowing one way
(inference never imports training, nothing below the CLI imports it), and a command line that parses without
loading torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import neuralwrap

ROOT = Path(neuralwrap.__file__).parent
MAX_MODULES = 12


def _modules() -> dict[str, Path]:
    out = {}
    for f in ROOT.rglob("*.py"):
        parts = list(f.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every neuralwrap module ``name`` imports, anywhere in the file, except under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text())
    skip = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, *([node.module] if node.module else [])])
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_no_folder_holds_more_than_twelve_modules() -> None:
    counts: dict[str, int] = defaultdict(int)
    for f in ROOT.rglob("*.py"):
        if f.name not in ("__init__.py", "__main__.py"):
            counts[str(f.parent.relative_to(ROOT.parent))] += 1
    assert {k: v for k, v in counts.items() if v > MAX_MODULES} == {}


def test_data_flows_one_way() -> None:
    """inference never imports training, apps, evaluation or the CLI; no library module imports a CLI module."""
    graph = _graph()
    rules = {
        "neuralwrap.sandwich.inference": (
            "neuralwrap.sandwich.training",
            "neuralwrap.sandwich.apps",
            "neuralwrap.sandwich.evaluation",
            "neuralwrap.sandwich.cli",
        ),
        "neuralwrap.sandwich.models": ("neuralwrap.sandwich.inference", "neuralwrap.sandwich.training"),
        "neuralwrap.codecs": ("neuralwrap.proxies", "neuralwrap.sandwich", "neuralwrap.train", "neuralwrap.rerender"),
        "neuralwrap.proxies": ("neuralwrap.sandwich", "neuralwrap.rerender"),
        "neuralwrap.sandwich.config": ("neuralwrap.sandwich.",),
    }
    bad = []
    for mod, deps in graph.items():
        for prefix, banned in rules.items():
            if mod == prefix or mod.startswith(prefix + "."):
                bad += [f"{mod} -> {d}" for d in deps if d.startswith(banned) and not d.startswith(prefix)]
        if ".cli" not in mod:
            bad += [
                f"{mod} -> {d}" for d in deps if d.startswith(("neuralwrap.sandwich.cli", "neuralwrap.rerender.cli"))
            ]
    assert bad == []


def test_command_line_parses_without_torch() -> None:
    """``sandwich --help`` builds every parser without importing torch or a codec library."""
    code = (
        "import sys; from neuralwrap.sandwich.cli.main import build_parser; build_parser(); "
        "print(sorted(m for m in ('torch', 'av', 'pillow_heif', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_defaults_are_the_config_defaults() -> None:
    """The training flags' defaults are the config presets' (one source of truth)."""
    from neuralwrap.sandwich.cli.args import build_parser
    from neuralwrap.sandwich.config import IMAGE_TRAIN, VIDEO_TRAIN, SandwichTrainConfig, VideoTrainConfig

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    train = {a.dest: a.default for a in sub["train"]._actions}
    video = next(a for a in sub["video"]._actions if a.dest == "video_command").choices["train"]
    vtrain = {a.dest: a.default for a in video._actions}
    sw, vt = SandwichTrainConfig(), VideoTrainConfig()
    assert (
        train["steps"],
        train["batch_size"],
        train["lr"],
        train["out"],
        train["ckpt_every"],
        train["grad_clip"],
    ) == (
        IMAGE_TRAIN.steps,
        IMAGE_TRAIN.batch_size,
        IMAGE_TRAIN.lr,
        IMAGE_TRAIN.out_dir,
        IMAGE_TRAIN.ckpt_every,
        IMAGE_TRAIN.grad_clip,
    )
    assert (train["crop"], train["gamma"], train["refit_every"], train["lr_schedule"]) == (
        sw.crop,
        sw.gamma,
        sw.refit_every,
        sw.lr_schedule,
    )
    assert (vtrain["steps"], vtrain["batch_size"], vtrain["lr"], tuple(vtrain["qp_range"]), vtrain["frames"]) == (
        VIDEO_TRAIN.steps,
        VIDEO_TRAIN.batch_size,
        VIDEO_TRAIN.lr,
        vt.qp_range,
        vt.frames,
    )
