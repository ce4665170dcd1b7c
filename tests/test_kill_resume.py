"""Resume after a real kill, for every registered method (the list comes from the
method registry), and refusal of corrupt checkpoints on ``--resume``.

For each method a tiny run of its ``example`` (tests/test_methods.py's networks) is
trained three times by ``rgb2depth train`` in child processes: once uninterrupted;
once killed with SIGKILL at a step drawn from a seeded RNG after its first
checkpoint (printed, e.g. ``pix2pix: SIGKILL during step 6`` or ``cgan: SIGKILL while
writing the checkpoint of step 4``); then that run is continued with ``--resume``. The
resumed run must end bit-identical to the uninterrupted one on the CPU: every
network's weights, the optimizer states, the counters, the RNG states and the
logged values.
"""

from __future__ import annotations

import csv
import os
import random
import re
import signal
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from safetensors.torch import load_file

import training_procs as procs
from rgb2depth.data import io
from rgb2depth.engine.checkpoint import STATE, WEIGHTS, latest_checkpoint, load_checkpoint
from rgb2depth.methods import METHODS, example_sections

NAMES = sorted(METHODS)
STEPS = 7
CKPT_EVERY = 2
SEED = "rgb2depth kill-resume"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Paired and unpaired synthetic faces at 32x32."""
    from rgb2depth.data.synthetic import generate

    root = tmp_path_factory.mktemp("kill")
    generate("faces", root / "paired", n=16, size=32, seed=0, progress=False)
    generate("faces", root / "unpaired", n=24, size=32, seed=0, unpaired=True, progress=False)
    return {"paired": root / "paired", "unpaired": root / "unpaired"}


def write_config(path: Path, name: str, root: Path) -> Path:
    """The method's example run (its network, options, size) as a config file."""
    config = {
        **example_sections(name, root),
        "train": {"lr": 1.0e-3, "batch_size": 2, "device": "cpu"},
        "schedule": {"steps": STEPS},
        "log": {
            "every": 1,
            "val_every": 0,
            "images": 1,
            "val_max_images": 2,
            "ckpt_every": CKPT_EVERY,
            "keep_checkpoints": 0,
        },
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def kill_point(name: str) -> tuple[int, str]:
    """(steps done, where) at which ``name``'s run is killed, from a seeded RNG: after
    the first checkpoint, either during the next step or while writing a later
    checkpoint (its files written, before the rename)."""
    rng = random.Random(f"{SEED}:{name}")
    if rng.random() < 0.5:  # a checkpoint after the first, before the last step's
        return rng.randrange(2 * CKPT_EVERY, STEPS, CKPT_EVERY), "checkpoint"
    return rng.randint(CKPT_EVERY, STEPS - 1), "step"


def logged_rows(run: Path) -> list[list[str]]:
    """log.csv without the throughput column (the only one that depends on the clock)."""
    with (run / "log.csv").open(newline="", encoding="utf-8") as f:
        return [r for r in csv.reader(f) if r[2] != "steps_per_s"]


def assert_same(a: Any, b: Any, where: str) -> None:
    """Equal structure, bitwise-equal tensors, equal plain values."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_sigkill_then_resume_is_bit_identical(
    name: str, data: dict[str, Path], tmp_path: Path
) -> None:
    done, where = kill_point(name)
    when = (
        f"while writing the checkpoint of step {done}"
        if where == "checkpoint"
        else f"during step {done + 1}"
    )
    print(f"{name}: SIGKILL {when}")  # (pytest shows it with a failure)
    config = write_config(tmp_path / "c.yaml", name, data[METHODS[name].data])
    reference, run = tmp_path / "reference", tmp_path / "run"

    code, out = procs.run(["train", config, f"log.out={reference}", "--quiet"], tmp_path / "a.log")
    assert code == 0, out

    marker = tmp_path / "paused"
    pause = procs.Pause(done, where, marker)
    proc = procs.start(
        ["train", config, f"log.out={run}", "--quiet"], tmp_path / "b.log", pause=pause
    )
    procs.wait_for_marker(proc, marker)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    assert procs.finish(proc) == -signal.SIGKILL

    # what the kill left: complete checkpoints only (and, killed while writing one,
    # that one under its temporary name), no model
    saved = done - CKPT_EVERY if where == "checkpoint" else done - done % CKPT_EVERY
    last = latest_checkpoint(run)
    assert last is not None and last.name == f"step_{saved:08d}", (when, last)
    assert not (run / "model").exists()
    temporary = [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    if where == "checkpoint":
        assert len(temporary) == 1, temporary
        m = re.fullmatch(rf"\.step_{done:08d}\.(\d+)@([0-9a-f]{{8}})\.\w+\.tmp", temporary[0])
        assert m and int(m.group(1)) == proc.pid and m.group(2) == io._host_tag(), temporary
        assert sorted(p.name for p in (run / "checkpoints" / temporary[0]).iterdir()) == [
            STATE,
            WEIGHTS,
        ]
    else:
        assert temporary == []

    code, out = procs.run(
        ["train", config, f"log.out={run}", "--resume", "--quiet"], tmp_path / "c.log"
    )
    assert code == 0, out
    assert f"trained {STEPS} steps" in out

    # bit-identical: every network, optimizer, scheduler, counter and RNG state
    final = f"checkpoints/step_{STEPS:08d}"
    want_w, want_state = load_checkpoint(reference / final)
    got_w, got_state = load_checkpoint(run / final)
    assert_same(want_w, got_w, f"{name} ({when}): weights")
    want_state.pop("metrics"), got_state.pop("metrics")  # (validation: compared below)
    assert_same(want_state, got_state, f"{name} ({when}): state")
    a, b = (load_file(r / "model" / "model.safetensors") for r in (reference, run))
    assert_same(a, b, f"{name} ({when}): model")
    # the log: each step once, with the uninterrupted run's values
    assert logged_rows(run) == logged_rows(reference)
    assert [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------- corrupt checkpoints


@pytest.fixture(scope="module")
def finished(data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 4-step supervised run with checkpoints at steps 2 and 4."""
    root = tmp_path_factory.mktemp("corrupt")
    config = write_config(root / "c.yaml", "supervised", data["paired"])
    run = root / "run"
    code, out = procs.run(
        ["train", config, f"log.out={run}", "schedule.steps=4", "--quiet"], root / "train.log"
    )
    assert code == 0, out
    return run


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x8bgarbage\x00" * 64)


def _flip_a_byte(path: Path) -> None:
    """One byte inside the data, the file otherwise intact (size, header, structure)."""
    raw = bytearray(path.read_bytes())
    raw[-9] ^= 0x5A
    path.write_bytes(bytes(raw))


def _remove(path: Path) -> None:
    path.unlink()


DAMAGE = {
    "truncated": (_truncate, "is corrupt"),
    "garbage": (_garbage, "is corrupt"),
    "flipped-byte": (_flip_a_byte, "is corrupt"),
    "missing": (_remove, "is missing"),
}


@pytest.mark.slow  # (the first starts the forkserver and trains the run: seconds)
@pytest.mark.parametrize("file", [WEIGHTS, STATE])
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_corrupt_checkpoint_refused_on_resume(
    finished: Path, tmp_path: Path, file: str, damage: str
) -> None:
    """``rgb2depth train --resume`` in a process of its own: status 2, one line."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished, run)
    config = run / "config.yaml"
    spoil, says = DAMAGE[damage]
    target = run / "checkpoints" / "step_00000004" / file
    spoil(target)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    code, out = procs.run(["train", config, f"log.out={run}", "--resume"], tmp_path / "log")
    assert code == 2, out
    lines = out.strip().splitlines()  # (stdout and stderr together: nothing but the error)
    assert len(lines) == 1 and "Traceback" not in out, out
    assert lines[0].startswith(f"rgb2depth train: error: {target} {says}"), lines[0]
    assert "delete" in lines[0] and "step_00000002 remains" in lines[0], lines[0]
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing removed


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_checkpoints_are_flushed_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file and the folder are fsynced before the rename, the parent after it."""
    from rgb2depth.engine.checkpoint import save_checkpoint

    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def spy_replace(src: Any, dst: Any) -> None:
        events.append(("rename", str(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    final = save_checkpoint(tmp_path, 3, {"x": torch.arange(4.0)}, {"step": 3}, keep=0)
    renames = [i for i, e in enumerate(events) if e == ("rename", str(final))]
    assert len(renames) == 1
    before = {Path(p).name for kind, p in events[: renames[0]] if kind == "fsync"}
    assert {WEIGHTS, STATE} <= before
    assert any(n.startswith(".step_00000003.") for n in before)  # the temporary folder
    assert ("fsync", str(final.parent)) in events[renames[0] :]
    assert load_checkpoint(final)[1]["step"] == 3
