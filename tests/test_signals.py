"""Real interruptions: ``rgb2depth generate`` and ``rgb2depth train`` as processes, stopped
by SIGINT (Ctrl-C) or SIGKILL (the OOM killer, a pulled plug) part way.

Each test starts the real command line, waits until the run is demonstrably under
way (its temporary folder or its first checkpoint is on disk) and sends the signal;
then it checks what is left on disk and that the next run picks up cleanly.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from rgb2depth.data import io
from rgb2depth.engine.checkpoint import STATE, WEIGHTS, load_checkpoint

pytestmark = pytest.mark.slow

STEPS = 60  # ~30 ms each: the run is still going well after its first checkpoint
CKPT_EVERY = 5
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def start(*argv: str | Path, group: bool = False) -> subprocess.Popen[str]:
    """``python -m rgb2depth ARGV`` with Ctrl-C handled as at a terminal (even when
    the test runner itself was started with SIGINT ignored)."""
    return subprocess.Popen(
        [sys.executable, "-m", "rgb2depth", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        start_new_session=group,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(proc: subprocess.Popen[str], found: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not found():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the process ended (rc {proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} after 30 s")
        time.sleep(0.01)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def owned_tmp(name: str, target: str, pid: int) -> bool:
    """``name`` is a temporary folder that atomic_dir made for ``target`` in process ``pid``."""
    m = re.fullmatch(rf"\.{re.escape(target)}\.(\d+)@([0-9a-f]{{8}})\.[a-z0-9_.]+\.tmp", name)
    return m is not None and int(m.group(1)) == pid and m.group(2) == io._host_tag()


# ---------------------------------------------------------------- generate


def generating(parent: Path, *, workers: int = 1, group: bool = False) -> subprocess.Popen[str]:
    """A long ``generate`` into ``parent/ds``, returned once it has written samples."""
    proc = start(
        "generate", "faces", "--n", "3000", "--size", "64", "--out", parent / "ds",
        "--workers", str(workers), "--quiet", group=group,
    )  # fmt: skip

    def rendering() -> bool:
        return any(any(t.glob("train/rgb/*.png")) for t in parent.glob(".ds.*.tmp"))

    wait_for(proc, rendering, "a temporary folder with samples")
    return proc


@pytest.mark.parametrize("workers", [1, 2])
def test_generate_ctrl_c_leaves_nothing(tmp_path: Path, workers: int) -> None:
    # the whole process group gets the signal, as from a terminal's Ctrl-C
    proc = generating(tmp_path, workers=workers, group=True)
    os.killpg(proc.pid, signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    assert err.strip().splitlines() == ["rgb2depth generate: interrupted"], err
    assert list(tmp_path.iterdir()) == []  # no dataset, no temporary folder


def test_generate_sigint_to_the_main_process_only(tmp_path: Path) -> None:
    proc = generating(tmp_path, workers=2)
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    assert err.strip().splitlines() == ["rgb2depth generate: interrupted"], err
    assert list(tmp_path.iterdir()) == []


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.mark.parametrize("workers", [1, 2])
def test_generate_sigkill_then_next_run_removes_the_leftover(tmp_path: Path, workers: int) -> None:
    from rgb2depth.data.synthetic import generate

    proc = generating(tmp_path, workers=workers)
    pool = children(proc.pid) if workers > 1 else []
    assert len(pool) == workers - (workers == 1)
    proc.kill()
    code, _, err = finish(proc)  # (waits for the workers too: they hold stderr)
    assert code == -signal.SIGKILL
    deadline = time.monotonic() + 5  # the workers died with it (exiting takes a moment) ...
    while any(running(w) for w in pool) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(running(w) for w in pool)
    assert "Traceback" not in err, err  # ... quietly, writing nothing more
    left = [p.name for p in tmp_path.iterdir()]
    assert not (tmp_path / "ds").exists()
    assert len(left) == 1 and owned_tmp(left[0], "ds", proc.pid), left  # the killed run's

    generate("faces", tmp_path / "ds", n=2, size=16, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]


# ---------------------------------------------------------------- train


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Data, a 60-step config checkpointing every 5 steps, and an uninterrupted run of it."""
    from rgb2depth.data.synthetic import generate

    root = tmp_path_factory.mktemp("signals")
    generate("faces", root / "faces", n=16, size=32, seed=0, progress=False)
    config = {
        "data": {"root": str(root / "faces"), "size": [32, 32], "preset": "light_unet"},
        "model": {"name": "light_unet", "kwargs": {"channels": [4, 8, 8, 8, 8]}},
        "method": {"name": "supervised", "loss": "light_unet"},
        "train": {"lr": 1.0e-3, "batch_size": 4, "device": "cpu"},
        "schedule": {"steps": STEPS, "scheduler": "constant", "warmup_steps": 20},
        "log": {
            "out": str(root / "unused"),
            "every": 1,
            "val_every": 0,
            "images": 1,
            "ckpt_every": CKPT_EVERY,
            "keep_checkpoints": 3,
        },
    }
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    reference = root / "reference"
    proc = start("train", path, f"log.out={reference}", "--quiet")
    code, _, err = finish(proc)
    assert code == 0, err
    return {"config": path, "reference": reference}


def training(tiny: dict[str, Path], run: Path) -> subprocess.Popen[str]:
    """``train`` into ``run``, returned once its first checkpoint is complete."""
    proc = start("train", tiny["config"], f"log.out={run}", "--quiet")
    wait_for(proc, lambda: any((run / "checkpoints").glob("step_*")), "checkpoint")
    return proc


def check_interrupted_run(run: Path, reference: Path, pid: int) -> None:
    """Only complete checkpoints, no model yet, config.yaml whole, log.csv rows whole."""
    assert not (run / "model").exists()
    saved, expected = (yaml.safe_load((r / "config.yaml").read_text()) for r in (run, reference))
    assert saved["log"].pop("out") == str(run)
    expected["log"].pop("out")
    assert saved == expected
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []
    steps = []
    for entry in (run / "checkpoints").iterdir():
        if entry.name.startswith("."):  # a save cut short: only ever under a temporary name
            assert owned_tmp(entry.name, entry.name.split(".")[1], pid), entry.name
            continue
        assert re.fullmatch(r"step_\d{8}", entry.name), entry.name
        assert sorted(p.name for p in entry.iterdir()) == sorted([STATE, WEIGHTS])
        _, state = load_checkpoint(entry)
        steps.append(state["step"])
        assert entry.name == f"step_{state['step']:08d}"
    assert steps and all(s % CKPT_EVERY == 0 and s < STEPS for s in steps)
    with (run / "log.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step", "phase", "name", "value"]
    assert all(len(r) == 4 and r[0].isdigit() for r in rows[1:]), rows[-3:]


def resume_and_compare(tiny: dict[str, Path], run: Path) -> None:
    code, out, err = finish(start("train", tiny["config"], f"log.out={run}", "--resume", "--quiet"))
    assert code == 0, err
    assert f"trained {STEPS} steps" in out
    got = load_file(run / "model" / "model.safetensors")
    want = load_file(tiny["reference"] / "model" / "model.safetensors")
    assert got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want), "resumed weights differ"
    assert [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")] == []
    with (run / "log.csv").open(newline="", encoding="utf-8") as f:
        losses = [int(r["step"]) for r in csv.DictReader(f) if r["name"] == "loss"]
    assert losses == list(range(1, STEPS + 1))  # each step once


def test_train_sigkill_then_resume_matches_an_uninterrupted_run(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    proc = training(tiny, run)
    proc.kill()
    assert finish(proc)[0] == -signal.SIGKILL
    check_interrupted_run(run, tiny["reference"], proc.pid)
    resume_and_compare(tiny, run)


def test_train_ctrl_c_then_resume_matches_an_uninterrupted_run(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    proc = training(tiny, run)
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    assert code == 130, err
    assert err.strip().splitlines() == ["rgb2depth train: interrupted"], err
    check_interrupted_run(run, tiny["reference"], proc.pid)
    assert [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")] == []
    resume_and_compare(tiny, run)
