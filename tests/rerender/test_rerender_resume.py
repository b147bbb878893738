"""`rerender train` resume: a stage cut by the time budget is not done and the same call continues it (then the
later stages), the budget covers setup and stops within a step, SIGKILL loses at most one wall-clock checkpoint
interval, Ctrl-C prints one line and exits 130, and the help text is complete."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from rerender_helpers import make_work_dir, tiny_config

from neuralwrap.rerender.checkpoint import load_rerenderer, load_scene_bundle
from neuralwrap.rerender.cli import build_parser, main
from neuralwrap.rerender.models.networks import RerenderConfig
from neuralwrap.rerender.training import (
    STAGES,
    RerenderTrainConfig,
    stage_progress,
    train_rerenderer,
)
from neuralwrap.train import list_checkpoints

W, H = 64, 48


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_work_dir(tmp_path_factory.mktemp("rr_resume_work"), 8)


def _cfgs(**kw: object) -> tuple[RerenderConfig, RerenderTrainConfig]:
    cfg = tiny_config(W, H, code_bias=True)
    base: dict[str, object] = {
        "steps_appearance": 4,
        "steps_rerender": 6,
        "steps_finetune": 2,
        "batch_size": 2,
        "holdout": ["photo_007"],
        "log_every": 1,
        "ckpt_every": 100,
        "progress": False,
        "tensorboard": False,
    }
    base.update(kw)
    return cfg, RerenderTrainConfig(**base)  # type: ignore[arg-type]


def test_budget_cut_stage_is_resumed_by_the_same_call(
    work_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock jumps past the budget after stage-2 step 2: stage 2 stops with a checkpoint, is not done, stage 3
    does not start; the same call again resumes stage 2 at step 2, runs stage 3, and ends with the weights of an
    uninterrupted run."""
    cfg, tcfg = _cfgs(max_seconds=600.0)
    ref = train_rerenderer(work_dir, tmp_path / "ref", cfg, tcfg)
    assert ref["complete"]
    skew = {"s": 0.0}
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + skew["s"])

    def budget_spent_at_2(trainer, step: int) -> None:
        if trainer.out_dir.name == STAGES[1] and step == 2:
            skew["s"] = 1e4

    run = tmp_path / "run"
    first = train_rerenderer(work_dir, run, cfg, tcfg, hooks=[budget_spent_at_2])
    assert not first["complete"] and first["stages"][STAGES[1]]["truncated"]
    assert first["stages"][STAGES[1]]["steps"] == 2 and STAGES[2] not in first["stages"]
    assert (run / STAGES[0] / "done.json").is_file() and not (run / STAGES[1] / "done.json").exists()
    assert not (run / STAGES[2]).exists()
    assert stage_progress(run) == {STAGES[0]: 4, STAGES[1]: 2}
    assert load_rerenderer(run).extra["complete"] is False  # an unfinished model is still exported

    skew["s"] = 0.0
    seen: list[tuple[str, int]] = []
    second = train_rerenderer(work_dir, run, cfg, tcfg, hooks=[lambda t, s: seen.append((t.out_dir.name, s))])
    assert second["complete"] and not any(r["truncated"] for r in second["stages"].values())
    assert seen[0] == (STAGES[1], 3) and (STAGES[2], 2) in seen and all(n != STAGES[0] for n, _ in seen)
    assert all((run / s / "done.json").is_file() for s in STAGES)
    a, b = load_rerenderer(tmp_path / "ref"), load_rerenderer(run)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k


def test_budget_includes_setup_and_stops_within_a_step(work_dir: Path, tmp_path: Path) -> None:
    budget = 4.0
    cfg, tcfg = _cfgs(steps_rerender=100_000, steps_finetune=10, max_seconds=budget)
    t0 = time.monotonic()
    out = train_rerenderer(work_dir, tmp_path, cfg, tcfg)
    elapsed = time.monotonic() - t0
    assert elapsed < budget + 10.0, elapsed  # generous: one step + the final checkpoint + export on a busy CPU
    assert not out["complete"]
    cut = [name for name, rec in out["stages"].items() if rec["truncated"]]
    assert cut == [list(out["stages"])[-1]] and not (tmp_path / cut[0] / "done.json").exists()
    assert not (tmp_path / STAGES[2]).exists()  # the stage after the cut one never started
    assert list_checkpoints(tmp_path / cut[0])  # its progress is kept


def _cli_train(work: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "neuralwrap.rerender.cli",
        "train",
        str(work),
        "--out",
        str(out),
        "--steps",
        "2",
        "40",
        "2",
        "--size",
        "48x36",
        "--batch-size",
        "1",
        "--fit-codes",
        "0",
        "--holdout",
        "photo_007",
        "--ckpt-every",
        "1000",
        "--ckpt-minutes",
        "0.01",
    ]


def test_sigkill_after_a_wall_clock_checkpoint_resumes(work_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = _cli_train(work_dir, out)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            steps = [s for s, _ in list_checkpoints(out / STAGES[1])]
            if steps and 0 < steps[-1] < 40:  # a wall-clock checkpoint (the step-based ones come every 1000)
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before a wall-clock checkpoint"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    kept = stage_progress(out)
    assert 0 < kept[STAGES[1]] < 40 and not (out / STAGES[1] / "done.json").exists()
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{STAGES[0]} done 2/2, {STAGES[1]} from step {kept[STAGES[1]]}/40" in again.stdout
    assert f"{STAGES[1]}: 40/40 steps" in again.stdout and f"{STAGES[2]}: 2/2 steps" in again.stdout
    assert json.loads((out / STAGES[1] / "done.json").read_text())["steps"] == 40
    assert load_scene_bundle(out).holdout == ["photo_007.png"]


def test_ctrl_c_prints_one_line_and_exits_130(
    work_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kw: object) -> None:
        (tmp_path / "m" / STAGES[1]).mkdir(parents=True, exist_ok=True)
        (tmp_path / "m" / STAGES[1] / "ckpt_00000003.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr("neuralwrap.rerender.commands.train_rerenderer", interrupted)
    assert main(["train", str(work_dir), "--out", str(tmp_path / "m")]) == 130
    err = capsys.readouterr().err.strip()
    assert err == (
        f"rerender train: interrupted; checkpoint saved in {tmp_path / 'm'} (re-run the same command to resume)"
    )
    monkeypatch.setattr("neuralwrap.rerender.commands.eval_command", interrupted)
    assert main(["eval", str(work_dir), "--model", "x", "--out", str(tmp_path / "e")]) == 130
    assert capsys.readouterr().err.strip() == "rerender: interrupted"


def test_help_is_current_and_complete() -> None:
    parser = build_parser()
    assert "not implemented" not in parser.format_help()
    subs = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict)).choices
    assert set(subs) == {"capture", "train", "render", "eval", "demo", "make-landmark"}
    for name, sub in subs.items():
        text = sub.format_help()
        assert "not implemented" not in text
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
    train_help = " ".join(subs["train"].format_help().split())
    for piece in ("--ckpt-minutes MIN", "(default: 2.0)", "--max-seconds", "--ckpt-every STEPS", "(default: 100)"):
        assert piece in train_help
